// The service worker: it owns chrome.storage, sets each tab's badge, and routes messages
// between the content scripts, the extension's pages and the offscreen document, which
// holds the WebAssembly engine (in a worker it can terminate at the time limit) and the
// pack updater. It keeps no state of its own: Chrome may stop it whenever it is idle.
//
// chrome.storage.local:   installId (spreads polls; never sent), updater (the updater's state),
//                         base (the delta base's files, base64), pack ({files: {name: base64},
//                         patched}), settings ({allow, warnScore, telemetry}), install
//                         ({token, expires_at})
// chrome.storage.session: tab:ID (the last verdict of that tab), continued (hosts the
//                         user chose to continue to in this session)

const OFFSCREEN_URL = "offscreen.html";
const UPDATE_ALARM = "ferretwatch-update";
const BADGES = {
  green: { text: "✓", color: "#137333", title: "levelGreen" },
  yellow: { text: "!", color: "#b06000", title: "levelYellow" },
  red: { text: "!!", color: "#c5221f", title: "levelRed" },
};
const DEFAULT_SETTINGS = { allow: [], warnScore: null, telemetry: false };

let configPromise;
function getConfig() {
  configPromise ??= fetch(chrome.runtime.getURL("config.json")).then((r) => r.json());
  return configPromise;
}

// The settings, read once per service-worker lifetime and again whenever they change.
// (The offscreen document gets a copy: it decides whether a page warns.)
let settingsPromise = null;
function getSettings() {
  settingsPromise ??= chrome.storage.local.get("settings").then(({ settings }) => ({ ...DEFAULT_SETTINGS, ...settings }));
  return settingsPromise;
}
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && changes.settings) settingsPromise = null;
});

// --- the offscreen document -------------------------------------------------------------

let creating = null;
async function ensureOffscreen() {
  if (await chrome.offscreen.hasDocument()) return;
  creating ??= chrome.offscreen
    .createDocument({
      url: OFFSCREEN_URL,
      reasons: ["WORKERS"],
      justification: "Runs the detection engine in a worker that is stopped when a scan takes too long.",
    })
    .catch((e) => {
      // Another call created it first.
      if (!String(e).includes("single offscreen")) throw e;
    })
    .finally(() => {
      creating = null;
    });
  await creating;
}

// Asks the offscreen document, creating it first when there is none (checked once per
// service-worker lifetime, and again when a message finds nobody listening).
let offscreenKnown = false;
async function toOffscreen(message) {
  if (!offscreenKnown) {
    await ensureOffscreen();
    offscreenKnown = true;
  }
  let answer;
  try {
    answer = await chrome.runtime.sendMessage({ target: "offscreen", ...message });
  } catch (e) {
    offscreenKnown = false;
    if (!String(e.message).includes("Receiving end does not exist")) throw e;
    await ensureOffscreen();
    offscreenKnown = true;
    answer = await chrome.runtime.sendMessage({ target: "offscreen", ...message });
  }
  if (answer && answer.error) throw new Error(answer.error);
  return answer;
}

// What the offscreen document asks for when it starts, and what it asks to keep.
async function offscreenInit() {
  const [config, stored, settings, { continued = [] }] = await Promise.all([
    getConfig(),
    chrome.storage.local.get(["updater", "pack", "base", "installId"]),
    getSettings(),
    chrome.storage.session.get("continued"),
  ]);
  // A random id that only spreads this install's polls over the interval; never sent.
  let installId = stored.installId;
  if (!installId) {
    installId = crypto.randomUUID();
    await chrome.storage.local.set({ installId });
  }
  return {
    config,
    installId,
    persisted: stored.updater ?? null,
    pack: stored.pack ?? null,
    base: stored.base ?? null,
    settings,
    continued,
    locale: chrome.i18n.getUILanguage(),
  };
}

async function offscreenStore({ persisted, pack, base }) {
  // One write: a new pack, its delta base and the state that names them are kept together
  // or not at all.
  const items = { updater: persisted };
  if (pack) items.pack = pack;
  if (base) items.base = base;
  await chrome.storage.local.set(items);
  return { ok: true };
}

// --- verdicts and badges ----------------------------------------------------------------

function hostOf(url) {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
}

async function setBadge(tabId, level) {
  const badge = BADGES[level];
  if (!badge) {
    await chrome.action.setBadgeText({ tabId, text: "" });
    return;
  }
  await Promise.all([
    chrome.action.setBadgeText({ tabId, text: badge.text }),
    chrome.action.setBadgeBackgroundColor({ tabId, color: badge.color }),
    chrome.action.setBadgeTextColor?.({ tabId, color: "#ffffff" }),
    chrome.action.setTitle({ tabId, title: chrome.i18n.getMessage("badgeTitle", [chrome.i18n.getMessage(badge.title)]) }),
  ]);
}

// A page's verdict, as the offscreen document reports it: the badge and the tab's state.
// (Content scripts ask the offscreen document directly; this worker is not on that path.)
const timings = new Map();

async function onVerdict({ tabId, url, verdict, bulletins, ms, warned, error }) {
  if (error) {
    await Promise.all([setBadge(tabId, null), chrome.storage.session.remove(`tab:${tabId}`)]);
    return { ok: true };
  }
  const state = { url, verdict, bulletins, scan_ms: ms, warned };
  const timing = timings.get(tabId);
  if (timing && timing.url === url) state.total_ms = timing.ms;
  timings.delete(tabId);
  await Promise.all([chrome.storage.session.set({ [`tab:${tabId}`]: state }), setBadge(tabId, verdict.level)]);
  return { ok: true };
}

// How long the content script waited for its verdict; it may arrive before the verdict.
async function onTiming(ms, url, tab) {
  const key = `tab:${tab.id}`;
  const { [key]: state } = await chrome.storage.session.get(key);
  if (state && state.url === url) await chrome.storage.session.set({ [key]: { ...state, total_ms: ms } });
  else timings.set(tab.id, { url, ms });
  return { ok: true };
}

async function onContinue(url) {
  const { continued = [] } = await chrome.storage.session.get("continued");
  const host = hostOf(url);
  if (host && !continued.includes(host)) await chrome.storage.session.set({ continued: [...continued, host] });
  await toOffscreen({ type: "continued", host });
  return { ok: true };
}

chrome.tabs.onUpdated.addListener((tabId, change) => {
  if (change.status === "loading") {
    chrome.storage.session.remove(`tab:${tabId}`);
    chrome.action.setBadgeText({ tabId, text: "" }).catch(() => {});
  }
});
chrome.tabs.onRemoved.addListener((tabId) => chrome.storage.session.remove(`tab:${tabId}`));

// --- reports ------------------------------------------------------------------------------

const REASONS = ["phishing_login", "payment_fraud", "malware_download", "brand_impersonation", "data_exfiltration", "other"];

function isoSeconds(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// Exactly the body that will be sent (the report page shows it, then sends it unchanged).
async function reportDraft({ tabId, kind, reason, reasonText }) {
  const key = `tab:${tabId}`;
  const { [key]: state } = await chrome.storage.session.get(key);
  if (!state) throw new Error(chrome.i18n.getMessage("reportNoPage"));
  const status = await toOffscreen({ type: "status" });
  const body = {
    url: state.url,
    reason: REASONS.includes(reason) ? reason : kind === "false-positive" ? "other" : "phishing_login",
    timestamp: isoSeconds(new Date()),
    extension_version: chrome.runtime.getManifest().version,
    pack_version: status.pack_version ?? "",
    score: state.verdict.score,
    findings: state.verdict.findings.slice(0, 10).map((f) => ({ key: f.key, evidence: f.evidence.slice(0, 500) })),
  };
  if (body.reason === "other") body.reason_text = (reasonText ?? "").slice(0, 200);
  return { kind, body };
}

async function installToken(config, renew) {
  const { install } = await chrome.storage.local.get("install");
  if (!renew && install && install.expires_at * 1000 > Date.now() + 60_000) return install.token;
  const response = await fetch(`${config.report_url}/v1/install`, { method: "POST" });
  if (response.status !== 201) throw new Error(await problem(response));
  const issued = await response.json();
  await chrome.storage.local.set({ install: { token: issued.install_token, expires_at: issued.expires_at } });
  return issued.install_token;
}

async function problem(response) {
  try {
    const body = await response.json();
    return body.message ?? body.error?.message ?? `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function sendReport({ kind, body }) {
  const config = await getConfig();
  const path = kind === "false-positive" ? "/v1/false-positive" : "/v1/report";
  for (const renew of [false, true]) {
    const token = await installToken(config, renew);
    const response = await fetch(`${config.report_url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-install-token": token },
      body: JSON.stringify(body),
    });
    // 202: the service runs degraded and queued the report on disk; it is stored later.
    if (response.status === 201 || response.status === 202) return { ok: true, accepted: await response.json() };
    if (response.status !== 401 || renew) return { ok: false, status: response.status, reason: await problem(response) };
  }
}

// --- settings -------------------------------------------------------------------------------

// A domain the user typed, as the engine compares it (lower case, punycode), or null.
function cleanDomain(text) {
  const domain = String(text).trim().toLowerCase().replace(/^\*\./, "").replace(/\.$/, "");
  if (!domain || /[/:?#@\s]/.test(domain)) return null;
  try {
    const host = new URL(`https://${domain}/`).hostname;
    return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(host) ? host : null;
  } catch {
    return null;
  }
}

async function saveSettings(change) {
  const settings = await getSettings();
  const next = { ...settings };
  if ("warnScore" in change) {
    const value = change.warnScore;
    if (value !== null && !(Number.isInteger(value) && value >= 1 && value <= 100)) throw new Error("bad warnScore");
    next.warnScore = value;
  }
  if ("telemetry" in change) next.telemetry = change.telemetry === true;
  if ("trust" in change) {
    const domain = cleanDomain(change.trust);
    if (!domain) throw new Error("bad domain");
    if (!next.allow.includes(domain)) next.allow = [...next.allow, domain].sort();
  }
  if ("untrust" in change) next.allow = next.allow.filter((d) => d !== change.untrust);
  await chrome.storage.local.set({ settings: next });
  settingsPromise = Promise.resolve(next);
  await toOffscreen({ type: "settings", settings: next });
  return next;
}

// --- updates --------------------------------------------------------------------------------

async function updateNow(force = true) {
  return toOffscreen({ type: "update", force });
}

async function scheduleUpdates() {
  const config = await getConfig();
  // The alarm only wakes the updater; the updater decides when a cycle is due.
  const minutes = Math.max(1, Math.min(60, Math.round((config.interval_secs ?? 3600) / 60 / 4)));
  await chrome.alarms.create(UPDATE_ALARM, { delayInMinutes: 0.1, periodInMinutes: minutes });
}

chrome.runtime.onInstalled.addListener(() => scheduleUpdates());
chrome.runtime.onStartup.addListener(() => scheduleUpdates());
chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === UPDATE_ALARM) updateNow(false).catch((e) => console.warn("update:", e.message));
});

// --- messages -------------------------------------------------------------------------------

// What content scripts may ask. They run in web pages' processes, so they get nothing
// else: no settings, no reports, no updater. Their tab is the sender's, never a parameter.
const PAGE_HANDLERS = {
  // A content script whose direct request found no offscreen document: create it, and
  // have it scan for that tab.
  scan: (m, sender) => toOffscreen({ type: "scan-for-tab", page: m.page, tabId: sender.tab.id }),
  timing: (m, sender) => onTiming(m.ms, m.url, sender.tab),
  continue: (_m, sender) => onContinue(sender.url),
  "open-report": (m, sender) => openReport(sender.tab.id, m.kind),
};

// What the extension's own pages (popup, report, settings, the offscreen document) may ask.
const EXTENSION_HANDLERS = {
  verdict: (m) => onVerdict(m),
  "open-report": (m) => openReport(m.tabId, m.kind),
  "tab-state": async (m) => {
    const key = `tab:${m.tabId}`;
    const [stored, settings, status] = await Promise.all([
      chrome.storage.session.get(key),
      getSettings(),
      toOffscreen({ type: "status" }),
    ]);
    return { state: stored[key] ?? null, settings, status };
  },
  "report-draft": (m) => reportDraft(m),
  "report-send": (m) => sendReport(m),
  "settings-get": () => getSettings(),
  "settings-set": (m) => saveSettings(m.change),
  "update-now": () => updateNow(true),
  status: () => toOffscreen({ type: "status" }),
  "offscreen-init": () => offscreenInit(),
  "offscreen-store": (m) => offscreenStore(m),
};

function openReport(tabId, kind) {
  const which = kind === "false-positive" ? "false-positive" : "report";
  return chrome.tabs.create({ url: `report.html?tab=${Number(tabId)}&kind=${which}` }).then(() => ({ ok: true }));
}

// A sender is one of the extension's pages when its URL is inside the extension.
const fromExtension = (sender) => sender.id === chrome.runtime.id && (sender.url ?? "").startsWith(chrome.runtime.getURL(""));

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (message.target && message.target !== "background") return false;
  const handler = fromExtension(sender)
    ? EXTENSION_HANDLERS[message.type]
    : sender.tab?.id !== undefined ? PAGE_HANDLERS[message.type] : undefined;
  if (!handler) return false;
  Promise.resolve()
    .then(() => handler(message, sender))
    .then(sendResponse, (e) => sendResponse({ error: e.message ?? String(e) }));
  return true;
});

// For the end-to-end tests and the profiling scripts, which drive the worker through the
// DevTools protocol: the same functions the popup's buttons call.
globalThis.ferretwatch = {
  updateNow,
  status: () => toOffscreen({ type: "status" }),
  getSettings,
  saveSettings,
};
