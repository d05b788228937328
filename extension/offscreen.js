// The offscreen document: the WebAssembly module, compiled once. The scanning engine runs
// in a worker (limited.js) that is terminated at the time limit; the pack updater's state
// machine runs here, driven by fetch(), and its state and the installed pack's files are
// kept in chrome.storage by the service worker (offscreen documents cannot reach it).
import { loadEngine } from "./engine.mjs";
import { LimitedEngine } from "./limited.js";

const FETCH_TIMEOUT_MS = 30_000;
const LONGEST_BACKOFF_MS = 60_000;

const toBackground = async (message) => {
  const answer = await chrome.runtime.sendMessage({ target: "background", ...message });
  if (answer && answer.error) throw new Error(answer.error);
  return answer;
};

// Listening starts at once; each message waits until the engine is ready. Content
// scripts ask here directly (`scan-direct`, which the service worker ignores): one hop
// instead of two through the service worker. Content scripts may ask for a scan of their
// own tab and nothing else; everything else is for the extension's own pages.
const host = start();
chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  let answer;
  const fromExtension = sender.id === chrome.runtime.id && (sender.url ?? "").startsWith(chrome.runtime.getURL(""));
  if (message.type === "scan-direct" && sender.tab && !fromExtension) {
    answer = host.then((h) => scanForTab(h, message.page, sender.tab.id));
  } else if (message.target === "offscreen" && fromExtension && HANDLERS[message.type]) {
    answer = host.then((h) => HANDLERS[message.type](h, message));
  } else {
    return false;
  }
  answer.then(sendResponse, (e) => sendResponse({ error: e.message ?? String(e) }));
  return true;
});

function hostOf(url) {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
}

// Whether a verdict shows the full-page warning: at red, or from the user's own score.
function shouldWarn(settings, verdict) {
  if (verdict.allowlisted) return false;
  if (Number.isInteger(settings.warnScore)) return verdict.score >= settings.warnScore;
  return verdict.level === "red";
}

// Scans a tab's page with the user's allowlist, answers the content script with the
// verdict and the bulletins that apply, and tells the service worker (badge, the tab's
// state) without waiting for it.
async function scanForTab(h, page, tabId) {
  const request = { url: page.url, html: page.html, resources: page.resources, allow: h.settings.allow };
  const scanned = await h.engine.scan(request);
  const verdict = JSON.parse(scanned.verdict);
  if (verdict.ok === false) {
    toBackground({ type: "verdict", tabId, url: page.url, error: verdict.error.message }).catch(() => {});
    return { error: verdict.error.message };
  }
  const brands = [...new Set(verdict.findings.map((f) => f.brand).filter(Boolean))];
  const shown = h.updater.bulletins(Date.now(), { url: page.url, brands, locale: h.locale });
  const bulletins = Array.isArray(shown) ? shown : [];
  if (bulletins.length) {
    // Their daily caps count this display.
    toBackground({ type: "offscreen-store", persisted: h.updater.persisted() }).catch(() => {});
  }
  const warn = shouldWarn(h.settings, verdict) && !h.continued.has(hostOf(page.url));
  toBackground({ type: "verdict", tabId, url: page.url, verdict, bulletins, ms: scanned.ms, warned: warn }).catch(() => {});
  return { verdict, warn, bulletins };
}

async function start() {
  const init = await toBackground({ type: "offscreen-init" });
  const bytes = await (await fetch("ferretwatch_wasm.wasm")).arrayBuffer();
  const module = await WebAssembly.compile(bytes);
  const main = await loadEngine(module);
  const created = main.updater.create({
    mirrors: init.config.mirrors,
    install_id: init.installId,
    root: init.config.root,
    persisted: init.persisted,
    interval_secs: init.config.interval_secs,
    deltas: true,
  });
  if (!created.ok) throw new Error(`the updater refused its configuration: ${created.error.message}`);
  const h = {
    updater: main.updater,
    engine: new LimitedEngine(module, init.config.scan_limit_ms ?? 1000),
    pack: null,
    base: init.base ? decodePack(init.base) : { files: {}, patched: {} },
    loaded: null,
    loadError: null,
    locale: init.locale,
    settings: init.settings,
    continued: new Set(init.continued),
    cycle: null,
  };
  if (init.pack) {
    const pack = decodePack(init.pack);
    try {
      h.loaded = (await h.engine.load({ ...pack, now_ms: Date.now() })).pack_version;
      h.pack = pack;
    } catch (e) {
      // The stored pack no longer loads: scan with the built-in rules until the next one.
      h.loadError = e.message;
    }
  }
  return h;
}

const HANDLERS = {
  "scan-for-tab": (h, { page, tabId }) => scanForTab(h, page, tabId),

  async settings(h, { settings }) {
    h.settings = settings;
    return { ok: true };
  },

  async continued(h, { host: continuedHost }) {
    if (continuedHost) h.continued.add(continuedHost);
    return { ok: true };
  },

  async status(h) {
    const status = h.updater.status(Date.now());
    return { ...status, engine_pack: h.loaded, load_error: h.loadError, terminations: h.engine.terminations };
  },

  async update(h, { force }) {
    if (h.cycle) return h.cycle;
    const status = h.updater.status(Date.now());
    if (!force && status.pack_version && status.next_poll_ms > Date.now()) return { result: "not_due" };
    h.cycle = cycle(h).finally(() => {
      h.cycle = null;
    });
    return h.cycle;
  },
};

// One update cycle: the state machine asks, fetch() answers. A new pack must load into a
// fresh engine worker before it is reported installed and kept.
async function cycle(h) {
  const { updater } = h;
  let step = updater.start(Date.now());
  for (;;) {
    if (step.fetch) {
      const wait = step.fetch.not_before_ms - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, LONGEST_BACKOFF_MS)));
      const got = await fetchLimited(step.fetch);
      step = updater.handle(Date.now(), got.status, got.etag, got.retryAfter, got.body);
    } else if (step.read_base) {
      // The delta base's files that this host kept; the updater checks each one's hash.
      const files = {};
      for (const name of step.read_base) if (h.base.files[name]) files[name] = h.base.files[name];
      step = updater.baseRead(Date.now(), files);
    } else if (step.install) {
      const files = {};
      let error = null;
      for (const name of step.install.kept) {
        if (h.pack?.files[name]) files[name] = h.pack.files[name];
        else error = `${name}: kept from the running pack, which lacks it`;
      }
      for (const name of step.install.fetched) files[name] = updater.stagedFile(name);
      const pack = { files, patched: step.install.patched ?? {} };
      let loaded = null;
      if (!error) {
        try {
          loaded = await h.engine.load({ ...pack, now_ms: Date.now() });
        } catch (e) {
          error = e.message;
        }
      }
      const outcome = updater.installed(Date.now(), error);
      if (!error) {
        h.pack = pack;
        h.loaded = loaded.pack_version;
        h.loadError = null;
        // A pack whose filters came whole is the next delta base.
        let base = null;
        if (step.install.base_files?.length) {
          const kept = step.install.base_files.filter((name) => files[name]);
          h.base = { files: Object.fromEntries(kept.map((name) => [name, files[name]])), patched: {} };
          base = encodePack(h.base);
        }
        await toBackground({ type: "offscreen-store", persisted: updater.persisted(), pack: encodePack(pack), base });
        return outcome;
      }
      step = { done: outcome };
    } else {
      break;
    }
  }
  await toBackground({ type: "offscreen-store", persisted: updater.persisted() });
  return step.done;
}

// fetch() for the updater: conditional when it has an ETag, never from the HTTP cache (the
// updater keeps its own), bounded in time, and reading at most `limit + 1` bytes so that an
// endless answer is cut and refused as too long. Status 0 means no answer.
async function fetchLimited({ url, etag, limit }) {
  try {
    const response = await fetch(url, {
      headers: etag ? { "if-none-match": etag } : {},
      cache: "no-store",
      credentials: "omit",
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    const got = {
      status: response.status,
      etag: response.headers.get("etag"),
      retryAfter: Number(response.headers.get("retry-after")) || null,
      body: new Uint8Array(),
    };
    if (response.status === 200) got.body = await readAtMost(response, limit + 1);
    else await response.body?.cancel();
    return got;
  } catch {
    return { status: 0, etag: null, retryAfter: null, body: new Uint8Array() };
  }
}

async function readAtMost(response, most) {
  const reader = response.body.getReader();
  const chunks = [];
  let total = 0;
  while (total < most) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
  }
  if (total >= most) await reader.cancel();
  const body = new Uint8Array(Math.min(total, most));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, body.length - at);
    body.set(part, at);
    at += part.length;
  }
  return body;
}

// chrome.storage keeps JSON: the pack's files travel as base64.
function encodePack(pack) {
  const files = {};
  for (const [name, bytes] of Object.entries(pack.files)) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    files[name] = btoa(text);
  }
  return { files, patched: pack.patched };
}

function decodePack(stored) {
  const files = {};
  for (const [name, text] of Object.entries(stored.files)) files[name] = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return { files, patched: stored.patched ?? {} };
}
