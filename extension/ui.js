// Shared by the extension's pages: localised text (chrome.i18n) for every element that
// names a message, and a message to the service worker that throws on its error.
export const t = (key, subs) => chrome.i18n.getMessage(key, subs) || key;

export function localise(root = document) {
  document.documentElement.lang = chrome.i18n.getUILanguage();
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
}

export async function ask(message) {
  const answer = await chrome.runtime.sendMessage({ target: "background", ...message });
  if (answer && answer.error) throw new Error(answer.error);
  return answer;
}

// A finding in plain words, in the user's language; the engine's evidence stays as it is.
export function findingText(key) {
  const text = chrome.i18n.getMessage(`finding_${key}`);
  return text || t("finding_other");
}

export function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}
