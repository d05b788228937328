// The content script: it collects what the engine needs from the page (its URL, its HTML
// up to a bound, the resources it loaded, its favicon) and hands them to the extension's
// own service worker, which scans them on this device. Nothing of the page is sent
// anywhere else. At the warning level it shows a warning over the page that says why and
// lets the user go back or continue: it never blocks or cancels a navigation.
(() => {
  if (window.top !== window || globalThis.__ferretwatch) return;
  globalThis.__ferretwatch = true;

  const MAX_HTML_CHARS = 1024 * 1024;
  const MAX_RESOURCES = 300;
  const t = (key, subs) => chrome.i18n.getMessage(key, subs) || key;

  function kindOf(initiator) {
    switch (initiator) {
      case "img":
      case "image":
        return "image";
      case "css":
      case "link":
        return "css";
      case "script":
        return "script";
      case "iframe":
      case "frame":
        return "frame";
      default:
        return "other";
    }
  }

  function collect() {
    const root = document.documentElement;
    let html = root ? root.outerHTML : "";
    if (html.length > MAX_HTML_CHARS) html = html.slice(0, MAX_HTML_CHARS);
    const resources = performance
      .getEntriesByType("resource")
      .filter((e) => /^https?:/.test(e.name))
      .slice(0, MAX_RESOURCES)
      .map((e) => ({ kind: kindOf(e.initiatorType), url: e.name }));
    const icon = document.querySelector('link[rel~="icon"][href]');
    if (icon && /^https?:/.test(icon.href)) resources.push({ kind: "image", url: icon.href });
    return { url: location.href, html, resources };
  }

  async function check() {
    const started = performance.now();
    const page = collect();
    let answer;
    try {
      // Straight to the engine's document; through the service worker (which starts the
      // engine) when there is none yet.
      answer = await chrome.runtime.sendMessage({ type: "scan-direct", page }).catch(() => undefined);
      answer ??= await chrome.runtime.sendMessage({ type: "scan", page });
    } catch {
      return; // the extension was reloaded or updated: this page keeps its old script
    }
    if (!answer || answer.error) return;
    chrome.runtime.sendMessage({ type: "timing", url: page.url, ms: performance.now() - started }).catch(() => {});
    if (answer.warn) showWarning(answer.verdict);
    if (answer.bulletins?.length) showBulletins(answer.bulletins);
  }

  // --- the warning --------------------------------------------------------------------------

  const STYLE = `
    :host { all: initial; }
    .backdrop { position: fixed; inset: 0; z-index: 2147483647; background: rgba(60, 0, 0, 0.92);
      display: flex; align-items: center; justify-content: center; font: 16px/1.5 system-ui, sans-serif; }
    .dialog { background: #fff; color: #202124; max-width: 40rem; width: calc(100% - 2rem); border-radius: 12px;
      border-top: 10px solid #c5221f; padding: 1.5rem 2rem; box-shadow: 0 8px 40px rgba(0,0,0,.5); max-height: 90vh; overflow: auto; }
    h1 { font-size: 1.5rem; margin: 0 0 .5rem; color: #a50e0e; }
    ul { padding-left: 1.2rem; } li { margin: .4rem 0; } .evidence { color: #5f6368; font-size: .9rem; display: block; }
    .score { font-weight: 600; }
    .actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.25rem; }
    button { font: inherit; border-radius: 8px; padding: .6rem 1.1rem; cursor: pointer; border: 2px solid #a50e0e; }
    .primary { background: #a50e0e; color: #fff; } .secondary { background: #fff; color: #a50e0e; }
    .link { border: none; background: none; color: #1a0dab; text-decoration: underline; padding: .6rem 0; }
    button:focus-visible { outline: 3px solid #174ea6; outline-offset: 2px; }
    .banner { position: fixed; top: 0; left: 0; right: 0; z-index: 2147483646; background: #fef7e0; color: #202124;
      border-bottom: 3px solid #b06000; padding: .75rem 1rem; font: 15px/1.5 system-ui, sans-serif; display: flex; gap: 1rem; }
    .banner.critical { background: #fce8e6; border-color: #c5221f; }
    .banner div { flex: 1; } .banner a { color: #1a0dab; margin-right: .75rem; }
  `;

  function element(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function mount(id) {
    document.getElementById(id)?.remove();
    const hostElement = element("ferretwatch-ui", { id });
    const shadow = hostElement.attachShadow({ mode: "closed" });
    shadow.append(element("style", {}, STYLE));
    document.documentElement.append(hostElement);
    return { hostElement, shadow };
  }

  function showWarning(verdict) {
    const { hostElement, shadow } = mount("ferretwatch-warning");
    const backdrop = element("div", { class: "backdrop" });
    const dialog = element("div", {
      class: "dialog",
      role: "alertdialog",
      "aria-modal": "true",
      "aria-labelledby": "fw-title",
      "aria-describedby": "fw-intro fw-reasons",
    });
    dialog.append(element("h1", { id: "fw-title" }, t("warnHeading")));
    dialog.append(element("p", { id: "fw-intro" }, t("warnIntro")));
    const list = element("ul", { id: "fw-reasons" });
    const top = [...verdict.findings].sort((a, b) => b.contribution - a.contribution).slice(0, 4);
    for (const finding of top) {
      const item = element("li", {}, t(`finding_${finding.key}`) === `finding_${finding.key}` ? t("finding_other") : t(`finding_${finding.key}`));
      item.append(element("span", { class: "evidence" }, finding.evidence));
      list.append(item);
    }
    dialog.append(list);
    dialog.append(element("p", { class: "score" }, t("warnScore", [String(verdict.score)])));
    const actions = element("div", { class: "actions" });
    const back = element("button", { class: "primary", type: "button" }, t("warnBack"));
    const go = element("button", { class: "secondary", type: "button" }, t("warnContinue"));
    const mistake = element("button", { class: "link", type: "button" }, t("warnMistake"));
    actions.append(back, go, mistake);
    dialog.append(actions);
    backdrop.append(dialog);
    shadow.append(backdrop);

    // The page behind is inert while the warning shows (keyboard and screen readers stay in
    // the dialog); it keeps loading, and nothing is blocked.
    const body = document.body;
    const wasInert = body?.inert;
    if (body) body.inert = true;
    const close = () => {
      if (body) body.inert = wasInert ?? false;
      hostElement.remove();
    };
    back.addEventListener("click", () => {
      if (history.length > 1) history.back();
      else location.replace("about:blank");
    });
    go.addEventListener("click", () => {
      chrome.runtime.sendMessage({ type: "continue", url: location.href }).catch(() => {});
      close();
    });
    mistake.addEventListener("click", () => {
      chrome.runtime.sendMessage({ type: "open-report", kind: "false-positive" }).catch(() => {});
    });
    const buttons = [back, go, mistake];
    dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Tab") return;
      const at = buttons.indexOf(shadow.activeElement);
      const next = (at + (event.shiftKey ? buttons.length - 1 : 1)) % buttons.length;
      buttons[at === -1 ? 0 : next].focus();
      event.preventDefault();
    });
    back.focus();
  }

  function showBulletins(bulletins) {
    const { hostElement, shadow } = mount("ferretwatch-bulletin");
    const bulletin = bulletins[0];
    const banner = element("div", {
      class: `banner ${bulletin.severity === "critical" ? "critical" : ""}`,
      role: "region",
      "aria-label": t("bulletinHeading"),
    });
    const text = element("div");
    text.append(element("strong", {}, `${t("bulletinHeading")}: `), document.createTextNode(bulletin.advisory_text));
    const links = (bulletin.safe_links ?? []).filter((link) => link.startsWith("https://"));
    if (links.length) {
      const line = element("p", {}, `${t("bulletinSafeLinks")} `);
      for (const link of links) line.append(element("a", { href: link, rel: "noopener noreferrer" }, new URL(link).hostname));
      text.append(line);
    }
    const dismiss = element("button", { class: "secondary", type: "button" }, t("bulletinDismiss"));
    dismiss.addEventListener("click", () => hostElement.remove());
    banner.append(text, dismiss);
    shadow.append(banner);
  }

  check();
})();
