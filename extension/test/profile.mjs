// Profiling the extension in Debian's Chromium: the shared code of
// scripts/memory-profile.sh, scripts/detect-memory-leaks.sh, scripts/cpu-profile.sh and
// bench/extension.sh. It loads the unpacked extension into headless Chromium (cdp.mjs),
// serves the corpus pages at their own URLs (corpus-server.mjs), browses them in a few tabs,
// and measures the extension from the outside: memory and CPU time of its processes from
// /proc, garbage collection and CPU profiles over the DevTools protocol.
//
//   node --experimental-websocket --no-warnings extension/test/profile.mjs MODE [OPTIONS]
//
//   memory --duration SECS       browse for SECS; the extension's memory and the per-tab cost
//   leaks --threshold BYTES      browse FERRETWATCH_LEAK_PAGES pages; growth after warm-up
//   cpu --rate HZ --duration SECS  a CPU profile while browsing, then idle CPU
//   bench --passes N --idle SECS  detection time per page, memory, per-tab cost, idle CPU
//
// What is measured (docs/runbook.md, "6.3 Performance profiling"):
// - The extension's processes: the renderer processes whose command line carries
//   --extension-process (Chromium puts the service worker, the offscreen document and its
//   engine worker there). The trace's process names ("Extension Renderer") are read as
//   well, at the start and at the end, and must agree.
// - Memory: private memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup), which
//   counts what the process alone holds and not the pages it shares with other Chromium
//   processes.
// - Per-tab cost: the private memory of the renderer hosting a page (found through the
//   tab's trace, TracingStartedInBrowser) with the extension, minus the same page's in a
//   Chromium without it, both after a garbage collection in the page.
// - CPU: utime + stime of /proc/PID/stat of the extension's processes over a window, as a
//   percent of one core.
//
// Environment: FERRETWATCH_EXTENSION (an unpacked extension; else one is built with a
// throwaway root and an unreachable mirror, so it scans with its built-in rules),
// FERRETWATCH_BIN (the ferretwatch binary for that root; else cargo builds it),
// FERRETWATCH_PROFILE_DIR (reports; default ./profiles), FERRETWATCH_TABS (default 3),
// FERRETWATCH_PAGE_INTERVAL_MS (one page per this many ms while browsing; default 1500),
// FERRETWATCH_MEMORY_BUDGET_MB (80), FERRETWATCH_TAB_BUDGET_MB (15),
// FERRETWATCH_IDLE_CPU_BUDGET (percent of a core, 1), FERRETWATCH_LEAK_PAGES (1000),
// FERRETWATCH_WORK (a directory for the build and for the pids of the Chromiums started,
// which the calling script kills if this process dies).
//
// Exit status: 0 within the budgets, 1 a budget exceeded, 2 bad usage, 3 the measurement
// itself failed (Chromium did not start, the extension did not answer, ...).
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { launch, Session, sleep } from "./cdp.mjs";
import { startCorpusServer } from "./corpus-server.mjs";

const repo = resolve(new URL("../..", import.meta.url).pathname);
const MB = 1024 * 1024;

class UsageError extends Error {}
class BudgetExceeded extends Error {}

// --- settings -----------------------------------------------------------------------------

function envNumber(name, fallback, { min = 0, integer = false } = {}) {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${name}=${text}: expected ${integer ? "a whole number" : "a number"} ≥ ${min}`);
  }
  return value;
}

function settings() {
  return {
    tabs: envNumber("FERRETWATCH_TABS", 3, { min: 1, integer: true }),
    // One page per this many ms at most; by default 1500 (memory, cpu) or 0 (leaks, bench).
    intervalMs: envNumber("FERRETWATCH_PAGE_INTERVAL_MS", null, { min: 0 }),
    memoryBudgetMb: envNumber("FERRETWATCH_MEMORY_BUDGET_MB", 80, { min: 0 }),
    tabBudgetMb: envNumber("FERRETWATCH_TAB_BUDGET_MB", 15, { min: 0 }),
    idleCpuBudget: envNumber("FERRETWATCH_IDLE_CPU_BUDGET", 1, { min: 0 }),
    leakPages: envNumber("FERRETWATCH_LEAK_PAGES", 1000, { min: 10, integer: true }),
    // For the test of the leak check: a real leak, this many KB kept alive in the offscreen
    // document for each page after the warm-up.
    injectLeakKb: envNumber("FERRETWATCH_INJECT_LEAK_KB", 0, { min: 0, integer: true }),
    profileDir: resolve(process.env.FERRETWATCH_PROFILE_DIR || "profiles"),
    work: process.env.FERRETWATCH_WORK ? resolve(process.env.FERRETWATCH_WORK) : null,
  };
}

// "50MB", "512KB", "1GB", "1.5 MiB", "4096" (bytes) -> bytes. KB/MB/GB are powers of 1024.
export function parseSize(text) {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$/i.exec(String(text));
  if (!match) throw new UsageError(`not a size: ${text} (e.g. 50MB, 512KB, 1GB)`);
  const unit = (match[2] ?? "b").toLowerCase()[0];
  return Math.round(Number(match[1]) * { b: 1, k: 1024, m: MB, g: 1024 * MB }[unit]);
}

// "100Hz", "1kHz", "250" -> samples per second.
export function parseRate(text) {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(k?hz)?\s*$/i.exec(String(text));
  if (!match) throw new UsageError(`not a sampling rate: ${text} (e.g. 100Hz)`);
  const rate = Number(match[1]) * (match[2]?.toLowerCase() === "khz" ? 1000 : 1);
  if (rate < 1 || rate > 100_000) throw new UsageError(`the sampling rate must be between 1Hz and 100kHz: ${text}`);
  return rate;
}

// --- processes (from /proc) --------------------------------------------------------------

function readOr(path, fallback = null) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

// A process's command line as words. Chromium rewrites its children's: one string with the
// arguments separated by spaces.
function cmdline(pid) {
  return (readOr(`/proc/${pid}/cmdline`) ?? "").split(/[\0 ]/);
}

// Every process below `root` (Chromium's zygotes fork the renderers).
function descendants(root) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOr(`/proc/${name}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const found = [];
  const stack = [root];
  while (stack.length) {
    for (const child of children.get(stack.pop()) ?? []) {
      found.push(child);
      stack.push(child);
    }
  }
  return found;
}

// Private memory of a process in bytes (null once it is gone).
export function privateBytes(pid) {
  const text = readOr(`/proc/${pid}/smaps_rollup`);
  if (!text) return null;
  let kb = 0;
  for (const line of text.split("\n")) {
    const match = /^Private_(?:Clean|Dirty):\s+(\d+) kB/.exec(line);
    if (match) kb += Number(match[1]);
  }
  return kb * 1024;
}

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

// CPU time (user + system) of a process in seconds (null once it is gone).
export function cpuSeconds(pid) {
  const stat = readOr(`/proc/${pid}/stat`);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const mb = (bytes) => (bytes === null || bytes === undefined ? "—" : `${(bytes / MB).toFixed(1)} MB`);

// --- the browser ------------------------------------------------------------------------

// A Chromium (with the extension, or without it for a baseline) over the corpus server.
export class Browser {
  static async start({ extension, corpus, work }) {
    const browser = await launch({ extension, resolveTo: `127.0.0.1:${corpus.port}` });
    // The calling script kills these if this process dies without closing them.
    if (work) appendFileSync(join(work, "chromium.pids"), `${browser.process.pid} ${browser.profile}\n`);
    const self = new Browser(browser, corpus);
    running.add(self);
    if (extension) {
      self.sw = await withTimeout(browser.extensionWorker(), 60_000, "the extension's service worker");
      self.extensionId = self.sw.extensionId;
    }
    return self;
  }

  constructor(browser, corpus) {
    this.connection = browser;
    this.corpus = corpus;
    this.sw = null;
    this.offscreen = null;
    this.workers = new Map(); // sessionId -> Session (the engine workers of the offscreen document)
    this.onWorker = null;
    this.tabs = [];
    browser.on((message) => {
      if (message.method === "Target.attachedToTarget" && this.offscreen && message.sessionId === this.offscreen.sessionId) {
        const info = message.params.targetInfo;
        if (info.type !== "worker") return;
        const session = new Session(this.connection, message.params.sessionId, info.targetId);
        session.url = info.url;
        this.workers.set(session.sessionId, session);
        this.onWorker?.(session);
      } else if (message.method === "Target.detachedFromTarget") {
        this.workers.delete(message.params.sessionId);
        if (this.offscreen && message.params.sessionId === this.offscreen.sessionId) this.offscreen = null;
      } else if (message.method === "Page.javascriptDialogOpening") {
        // A corpus page's alert() or confirm() would hold its load event.
        this.connection.send("Page.handleJavaScriptDialog", { accept: true }, message.sessionId).catch(() => {});
      }
    });
  }

  get pid() {
    return this.connection.process.pid;
  }

  async close() {
    running.delete(this);
    await this.connection.close();
  }

  renderers() {
    return descendants(this.pid).filter((pid) => cmdline(pid).includes("--type=renderer"));
  }

  // The extension's processes: renderers started with --extension-process.
  extensionPids() {
    return this.renderers().filter((pid) => cmdline(pid).includes("--extension-process"));
  }

  // The same, as the trace names them: {pid: name} of every Chromium process.
  async processNames() {
    const names = {};
    const events = [];
    const listener = (m) => {
      if (m.method === "Tracing.dataCollected" && !m.sessionId) events.push(...m.params.value);
    };
    const { listeners } = this.connection;
    listeners.push(listener);
    try {
      const done = this.connection.waitFor("Tracing.tracingComplete", undefined, () => true, 30_000);
      await this.connection.send("Tracing.start", {
        traceConfig: { includedCategories: ["__metadata", "disabled-by-default-devtools.timeline"], excludedCategories: ["*"] },
        transferMode: "ReportEvents",
      });
      await sleep(200);
      await this.connection.send("Tracing.end");
      await done;
    } finally {
      listeners.splice(listeners.indexOf(listener), 1);
    }
    for (const e of events) if (e.name === "process_name") names[e.pid] = e.args.name;
    return names;
  }

  // Checks that the two ways of finding the extension's processes agree.
  async identifyExtension() {
    const byFlag = this.extensionPids().sort();
    const names = await this.processNames();
    const byTrace = Object.entries(names)
      .filter(([, name]) => name === "Extension Renderer")
      .map(([pid]) => Number(pid))
      .sort();
    const agree = byFlag.length > 0 && JSON.stringify(byFlag) === JSON.stringify(byTrace);
    if (!agree) {
      throw new Error(`the extension's processes: --extension-process gives ${JSON.stringify(byFlag)}, the trace's "Extension Renderer" ${JSON.stringify(byTrace)}`);
    }
    return byFlag;
  }

  // The extension's private memory: {total, processes: {pid: bytes}}.
  extensionMemory() {
    const processes = {};
    let total = 0;
    for (const pid of this.extensionPids()) {
      const bytes = privateBytes(pid);
      if (bytes === null) continue;
      processes[pid] = bytes;
      total += bytes;
    }
    return { total, processes };
  }

  extensionCpu() {
    let total = 0;
    for (const pid of this.extensionPids()) total += cpuSeconds(pid) ?? 0;
    return total;
  }

  // Sessions on the offscreen document and (auto-attached) its engine workers.
  async attachExtension() {
    if (this.offscreen) return;
    const target = (await this.connection.targets()).find(
      (t) => t.type === "background_page" && t.url === `chrome-extension://${this.extensionId}/offscreen.html`,
    );
    if (!target) return;
    this.offscreen = await this.connection.attach(target.targetId);
    this.offscreen.url = target.url;
    await this.offscreen.send("Target.setAutoAttach", {
      autoAttach: true,
      waitForDebuggerOnStart: false,
      flatten: true,
      filter: [{ type: "worker", exclude: false }, { exclude: true }],
    });
  }

  // The extension's JavaScript contexts: its service worker, offscreen document and workers.
  async extensionSessions() {
    await this.attachExtension();
    const sessions = [{ kind: "service_worker", session: this.sw }];
    if (this.offscreen) sessions.push({ kind: "offscreen", session: this.offscreen });
    let n = 0;
    for (const worker of this.workers.values()) sessions.push({ kind: `worker-${++n}`, session: worker });
    return sessions;
  }

  // A full garbage collection in each of the extension's contexts (twice, so that what the
  // first one finalised is collected too). Returns their JS heaps in use, in bytes.
  async collectExtensionGarbage() {
    const heaps = {};
    for (const { kind, session } of await this.extensionSessions()) {
      try {
        await withTimeout(session.send("HeapProfiler.collectGarbage"), 30_000, `garbage collection in the ${kind}`);
        await withTimeout(session.send("HeapProfiler.collectGarbage"), 30_000, `garbage collection in the ${kind}`);
        heaps[kind] = (await session.send("Runtime.getHeapUsage")).usedSize;
      } catch (e) {
        heaps[kind] = `failed: ${e.message}`;
      }
    }
    await sleep(1000);
    return heaps;
  }

  async openTabs(count) {
    for (let i = 0; i < count; i++) this.tabs.push(await this.connection.newPage());
    return this.tabs;
  }

  // The renderer process hosting the page of a tab, from the tab's trace.
  async tabPid(page) {
    const events = [];
    const listener = (m) => {
      if (m.method === "Tracing.dataCollected" && m.sessionId === page.sessionId) events.push(...m.params.value);
    };
    const { listeners } = this.connection;
    listeners.push(listener);
    try {
      const done = this.connection.waitFor("Tracing.tracingComplete", page.sessionId, () => true, 30_000);
      await page.send("Tracing.start", {
        traceConfig: { includedCategories: ["disabled-by-default-devtools.timeline"], excludedCategories: ["*"] },
        transferMode: "ReportEvents",
      });
      await page.send("Tracing.end");
      await done;
    } finally {
      listeners.splice(listeners.indexOf(listener), 1);
    }
    const started = events.find((e) => e.name === "TracingStartedInBrowser");
    const main = started?.args?.data?.frames?.find((f) => !f.parent);
    if (!main?.processId) throw new Error("the tab's trace names no process for its page");
    return main.processId;
  }

  // The verdict the extension stored for this visit ({key, url, total_ms, scan_ms, level}),
  // or null after `timeoutMs`: the entry for `url`, or, once the tab's key is known, a new
  // entry of the tab for another address than its last (the page went elsewhere before the
  // content script ran). It waits on chrome.storage.session.onChanged in the service worker
  // rather than polling, so that waiting costs the extension nothing.
  async verdict(url, { tabKey = null, lastUrl = null, timeoutMs = VERDICT_TIMEOUT_MS } = {}) {
    const wait = (url, tabKey, lastUrl, timeoutMs) =>
      new Promise((resolve) => {
        const pick = (key, v) =>
          key.startsWith("tab:") && v && v.total_ms !== undefined && (v.url === url || (key === tabKey && v.url !== lastUrl))
            ? { key, url: v.url, total_ms: v.total_ms, scan_ms: v.scan_ms, level: v.verdict.level }
            : null;
        let done = false;
        const finish = (result) => {
          if (done) return;
          done = true;
          chrome.storage.session.onChanged.removeListener(listener);
          clearTimeout(timer);
          resolve(result);
        };
        const listener = (changes) => {
          for (const [key, change] of Object.entries(changes)) {
            const found = pick(key, change.newValue);
            if (found) return finish(found);
          }
        };
        chrome.storage.session.onChanged.addListener(listener);
        const timer = setTimeout(() => finish(null), timeoutMs);
        chrome.storage.session.get(null).then((all) => {
          for (const [key, v] of Object.entries(all)) {
            const found = pick(key, v);
            if (found) return finish(found);
          }
        });
      });
    const args = [url, tabKey, lastUrl, timeoutMs].map((a) => JSON.stringify(a)).join(", ");
    return withTimeout(this.sw.evaluate(`(${wait})(${args})`), timeoutMs + 20_000, `the verdict for ${url}`);
  }

  // Loads `page` in `tab`; with the extension, waits for its verdict. Returns
  // {url, load_ms, step_ms, verdict | null, error?}. A page that does not finish loading
  // (one that loops on alert() in its load handler) is an error, and its tab is replaced.
  async visit(tab, page) {
    const started = Date.now();
    const result = { url: page.url, verdict: null };
    try {
      await withTimeout(tab.navigate(page.url, LOAD_TIMEOUT_MS), LOAD_TIMEOUT_MS + 5000, `loading ${page.url}`);
    } catch (e) {
      result.error = e.message;
      result.step_ms = Date.now() - started;
      return result;
    }
    result.load_ms = Date.now() - started;
    if (this.sw) {
      result.verdict = await this.verdict(page.url, { tabKey: tab.verdictKey, lastUrl: tab.lastUrl });
      if (result.verdict) {
        tab.verdictKey = result.verdict.key;
        tab.lastUrl = result.verdict.url;
        // Scanned at another address: the page replaced itself before the content script ran.
        if (result.verdict.url !== page.url) result.scanned_url = result.verdict.url;
      }
    }
    result.step_ms = Date.now() - started;
    return result;
  }

  // A fresh tab in place of one whose page hangs.
  async replaceTab(tab) {
    await withTimeout(tab.close(), 10_000, "closing a tab").catch(() => {});
    const fresh = await this.connection.newPage();
    const at = this.tabs.indexOf(tab);
    if (at >= 0) this.tabs[at] = fresh;
    return fresh;
  }
}

const LOAD_TIMEOUT_MS = 15_000;
const VERDICT_TIMEOUT_MS = 10_000;
const running = new Set();

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// --- browsing -----------------------------------------------------------------------------

// Visits the corpus pages in order, round robin over the browser's tabs, one page at a
// time and at most one per `intervalMs`, until `until()` says stop. Calls `each(result, n)`.
async function browse(browser, { intervalMs, until, each = () => {}, startAt = 0 }) {
  const pages = browser.corpus.pages;
  let n = 0;
  const results = [];
  while (!until(n)) {
    const started = Date.now();
    const tab = browser.tabs[n % browser.tabs.length];
    const result = await browser.visit(tab, pages[(startAt + n) % pages.length]);
    if (result.error) await browser.replaceTab(tab);
    results.push(result);
    n++;
    await each(result, n);
    const rest = intervalMs - (Date.now() - started);
    if (rest > 0 && !until(n)) await sleep(rest);
  }
  const failed = results.filter((r) => r.error).length;
  if (results.length >= 20 && failed > results.length / 10) {
    throw new Error(`${failed} of ${results.length} pages did not load: ${results.find((r) => r.error).error}`);
  }
  return results;
}

// Pages for the per-tab figure: spread over the corpus, phishing and benign, on distinct
// hosts (each in a renderer process of its own).
function probePages(pages, count = 6) {
  const chosen = [];
  const hosts = new Set();
  const stride = Math.floor(pages.length / count);
  for (let i = 0; i < count; i++) {
    // The page at i * stride, or the next one on a host not chosen yet.
    for (let j = i * stride; j < pages.length; j++) {
      const host = new URL(pages[j].url).hostname;
      if (hosts.has(host)) continue;
      hosts.add(host);
      chosen.push(pages[j]);
      break;
    }
  }
  return chosen;
}

// Opens each probe page in a tab of its own, waits for the extension's verdict (when it is
// loaded) and a settling time, collects the page's garbage and reads its renderer's private
// memory. Returns [{url, pid, bytes, level}].
async function probeTabs(browser, pages) {
  const out = [];
  for (const page of pages) {
    const tab = await browser.connection.newPage();
    const visited = await browser.visit(tab, page);
    out.push({ url: page.url, tab, level: visited.verdict?.level ?? null, error: visited.error });
  }
  await sleep(2000);
  for (const entry of out) {
    await entry.tab.send("HeapProfiler.collectGarbage").catch(() => {});
    await entry.tab.send("HeapProfiler.collectGarbage").catch(() => {});
  }
  await sleep(1000);
  const pids = new Set();
  for (const entry of out) {
    entry.pid = await browser.tabPid(entry.tab);
    // Two tabs in one process would be counted twice.
    if (pids.has(entry.pid)) throw new Error(`two probe pages share renderer ${entry.pid}`);
    pids.add(entry.pid);
    entry.bytes = privateBytes(entry.pid);
  }
  return out.map(({ tab, ...rest }) => rest);
}

// The per-tab cost: the probe pages with the extension (in `browser`, where the probe tabs
// stay open), then, in finish(), once that browser is closed, in a fresh Chromium without it.
async function perTabCost(browser, corpus, work) {
  const pages = probePages(corpus.pages);
  const withExtension = await probeTabs(browser, pages);
  return {
    async finish() {
      const baseline = await Browser.start({ extension: null, corpus, work });
      let without;
      try {
        without = await probeTabs(baseline, pages);
      } finally {
        await baseline.close();
      }
      const rows = withExtension.map((w, i) => ({
        url: w.url,
        level: w.level,
        with_bytes: w.bytes,
        without_bytes: without[i].bytes,
        cost_bytes: w.bytes - without[i].bytes,
      }));
      const costs = rows.map((r) => r.cost_bytes);
      return { pages: rows, median_bytes: percentile(costs, 50), max_bytes: Math.max(...costs) };
    },
  };
}

// --- statistics and output --------------------------------------------------------------

export function percentile(values, p) {
  const sorted = values.filter((v) => typeof v === "number").sort((a, b) => a - b);
  if (!sorted.length) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

function markdown(rows) {
  const line = (r) => `| ${r.join(" | ")} |`;
  return [line(rows[0]), line(rows[0].map(() => "---")), ...rows.slice(1).map(line)].join("\n");
}

function stamp() {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

function writeReport(dir, name, report) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`report: ${path}`);
  return path;
}

function chromiumVersion() {
  try {
    return execFileSync(process.env.CHROMIUM || "/usr/bin/chromium", ["--version"], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return "unknown";
  }
}

// The commit the extension's sources come from, "+changes" when they differ from it (only
// meaningful when the extension was built from this checkout).
function sourceCommit() {
  try {
    const commit = execFileSync("git", ["-C", repo, "rev-parse", "--short", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const changed = execFileSync("git", ["-C", repo, "status", "--porcelain", "--", "extension", "crates/wasm"], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .split("\n")
      .filter((l) => l && !l.includes("extension/test/"));
    return changed.length ? `${commit}+changes` : commit;
  } catch {
    return "unknown";
  }
}

function machine() {
  return { cores: Number(execFileSync("nproc").toString().trim()), load: readOr("/proc/loadavg", "").trim() };
}

const status = (ok) => (ok ? "ok" : "EXCEEDED");

// --- the extension to load ------------------------------------------------------------------

function ferretwatchBinary(log) {
  if (process.env.FERRETWATCH_BIN) return process.env.FERRETWATCH_BIN;
  log("== cargo build -p ferretwatch-cli (for a throwaway root)");
  execFileSync("cargo", ["build", "--quiet", "-p", "ferretwatch-cli"], { cwd: repo, stdio: ["ignore", 2, 2] });
  const meta = JSON.parse(execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: repo }).toString());
  return join(meta.target_directory, "debug", "ferretwatch");
}

// FERRETWATCH_EXTENSION, or a package built by scripts/build-extension.sh with a throwaway
// root and a mirror nobody answers at (the extension then scans with its built-in rules).
function extensionDir(work) {
  const given = process.env.FERRETWATCH_EXTENSION;
  if (given) {
    if (!existsSync(join(given, "manifest.json"))) throw new UsageError(`FERRETWATCH_EXTENSION=${given}: no manifest.json there`);
    return resolve(given);
  }
  const log = (line) => console.error(line);
  const bin = ferretwatchBinary(log);
  const dir = join(work, "build");
  mkdirSync(dir, { recursive: true });
  const fw = (...args) => execFileSync(bin, args, { cwd: repo, stdio: ["ignore", "ignore", 2] });
  fw("keys", "generate", "--out", join(dir, "publisher"));
  fw("root", "create", "--key", join(dir, "publisher.pub"), "--threshold", "1", "--expires",
    new Date(Date.now() + 365 * 86400e3).toISOString().replace(/\.\d{3}Z$/, "Z"), "--out", join(dir, "root.json"));
  fw("root", "sign", join(dir, "root.json"), "--key", join(dir, "publisher.key"));
  log("== scripts/build-extension.sh (a throwaway root, an unreachable mirror: the built-in rules)");
  execFileSync("bash", ["scripts/build-extension.sh", "--root", join(dir, "root.json"), "--mirror", "http://127.0.0.1:9/v1",
    "--report-url", "http://127.0.0.1:9", "--out", join(dir, "package")], { cwd: repo, stdio: ["ignore", 2, 2] });
  return join(dir, "package", "extension");
}

// --- the modes ------------------------------------------------------------------------------

async function memoryMode(ctx, { duration }) {
  const { cfg, corpus } = ctx;
  const browser = await ctx.start();
  const pids = await browser.identifyExtension();
  await browser.openTabs(cfg.tabs);
  const samples = [];
  const t0 = Date.now();
  const sample = (pages) => {
    const memory = browser.extensionMemory();
    samples.push({ t_s: (Date.now() - t0) / 1000, pages, total_bytes: memory.total, processes: memory.processes });
  };
  let pages = 0;
  sample(0);
  const every = Math.max(2000, (duration * 1000) / 30);
  const sampler = setInterval(() => sample(pages), every);
  let results;
  try {
    results = await browse(browser, {
      intervalMs: cfg.intervalMs ?? 1500,
      until: () => Date.now() - t0 >= duration * 1000,
      each: (_, n) => {
        pages = n;
      },
    });
  } finally {
    clearInterval(sampler);
  }
  sample(pages);
  const end = samples.at(-1).total_bytes;
  const peak = Math.max(...samples.map((s) => s.total_bytes));
  const heaps = await browser.collectExtensionGarbage();
  const afterGc = browser.extensionMemory().total;
  const stillPids = await browser.identifyExtension();
  const tabs = await perTabCost(browser, corpus, cfg.work);
  await browser.close();
  const perTab = await tabs.finish();

  const verdicts = results.filter((r) => r.verdict).length;
  const budgetTotal = cfg.memoryBudgetMb * MB;
  const budgetTab = cfg.tabBudgetMb * MB;
  const checks = {
    total: { figure_bytes: peak, budget_bytes: budgetTotal, ok: peak <= budgetTotal },
    per_tab: { figure_bytes: perTab.max_bytes, budget_bytes: budgetTab, ok: perTab.max_bytes <= budgetTab },
  };
  console.log(`\nFerretWatch memory profile: ${chromiumVersion()}, ${duration} s, ${cfg.tabs} tabs, ${results.length} pages (${verdicts} verdicts)`);
  console.log(`extension processes (--extension-process, confirmed by the trace): ${pids.join(", ")}${JSON.stringify(pids) === JSON.stringify(stillPids) ? "" : ` -> ${stillPids.join(", ")}`}\n`);
  console.log(table([
    ["what", "figure", "budget", "status"],
    [`extension total, peak of ${samples.length} samples`, mb(peak), `${cfg.memoryBudgetMb} MB`, status(checks.total.ok)],
    ["extension total, at the end", mb(end), "", ""],
    ["extension total, after a forced GC", mb(afterGc), "", ""],
    [`per tab, largest of ${perTab.pages.length} pages`, mb(perTab.max_bytes), `${cfg.tabBudgetMb} MB`, status(checks.per_tab.ok)],
    ["per tab, median", mb(perTab.median_bytes), "", ""],
  ]));
  console.log("\nper-tab cost: renderer private memory of the page with the extension minus without it");
  console.log(table([
    ["page", "verdict", "with", "without", "cost"],
    ...perTab.pages.map((p) => [p.url.slice(0, 70), p.level ?? "—", mb(p.with_bytes), mb(p.without_bytes), mb(p.cost_bytes)]),
  ]));
  writeReport(cfg.profileDir, `memory-${ctx.stamp}.json`, {
    kind: "memory",
    chromium: chromiumVersion(),
    machine: machine(),
    duration_s: duration,
    tabs: cfg.tabs,
    page_interval_ms: cfg.intervalMs ?? 1500,
    pages_visited: results.length,
    verdicts,
    definitions: {
      extension_total: "sum of Private_Clean + Private_Dirty (/proc/PID/smaps_rollup) of the renderer processes started with --extension-process (also named 'Extension Renderer' in the trace); the budget applies to the peak sample",
      per_tab: "private memory of the renderer hosting a probe page with the extension minus the same page's without it, both after a GC in the page; the budget applies to the largest",
    },
    extension_pids: pids,
    extension_peak_bytes: peak,
    extension_end_bytes: end,
    extension_after_gc_bytes: afterGc,
    extension_js_heaps_after_gc: heaps,
    per_tab: perTab,
    samples,
    checks,
  });
  if (!checks.total.ok || !checks.per_tab.ok) throw new BudgetExceeded("over the memory budget");
}

async function leaksMode(ctx, { threshold }) {
  const { cfg } = ctx;
  const total = cfg.leakPages;
  const warmup = Math.ceil(total / 10);
  const browser = await ctx.start();
  const pids = await browser.identifyExtension();
  await browser.openTabs(cfg.tabs);
  const trend = [];
  const intervalMs = cfg.intervalMs ?? 0;
  const t0 = Date.now();
  const every = Math.max(10, Math.round(total / 20));
  const inject = async () => {
    await browser.attachExtension();
    await browser.offscreen.evaluate(`((globalThis.__ferretwatchInjectedLeak ??= []).push(new Uint8Array(${cfg.injectLeakKb * 1024}).fill(1)), 0)`);
  };
  const each = async (_, n) => {
    if (cfg.injectLeakKb && n > warmup) await inject();
    if (n % every === 0) trend.push({ pages: n, t_s: (Date.now() - t0) / 1000, total_bytes: browser.extensionMemory().total });
    if (n % 100 === 0) console.log(`   ${n} pages, extension ${mb(browser.extensionMemory().total)}`);
  };
  console.log(`== ${total} pages in ${cfg.tabs} tabs; warm-up ${warmup} pages`);
  if (cfg.injectLeakKb) console.log(`   injecting a leak of ${cfg.injectLeakKb} KB per page after the warm-up (FERRETWATCH_INJECT_LEAK_KB)`);
  const first = await browse(browser, { intervalMs, until: (n) => n >= warmup, each });
  const heapsWarm = await browser.collectExtensionGarbage();
  const warm = browser.extensionMemory();
  console.log(`   after the warm-up and a forced GC: ${mb(warm.total)}`);
  const rest = await browse(browser, {
    intervalMs,
    startAt: warmup,
    until: (n) => warmup + n >= total,
    each: (r, n) => each(r, warmup + n),
  });
  const heapsEnd = await browser.collectExtensionGarbage();
  const end = browser.extensionMemory();
  await browser.identifyExtension();
  await browser.close();
  const results = [...first, ...rest];
  const verdicts = results.filter((r) => r.verdict).length;
  const growth = end.total - warm.total;
  const ok = growth <= threshold;
  console.log(`\nFerretWatch leak check: ${chromiumVersion()}, ${results.length} pages (${verdicts} verdicts) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  console.log(table([
    ["what", "figure"],
    [`extension after ${warmup} pages (warm-up), forced GC`, mb(warm.total)],
    [`extension after ${results.length} pages, forced GC`, mb(end.total)],
    ["growth", `${mb(growth)} (threshold ${mb(threshold)}): ${ok ? "ok" : "EXCEEDED"}`],
  ]));
  writeReport(cfg.profileDir, `leaks-${ctx.stamp}.json`, {
    kind: "leaks",
    chromium: chromiumVersion(),
    machine: machine(),
    pages: results.length,
    warmup_pages: warmup,
    verdicts,
    tabs: cfg.tabs,
    extension_pids: pids,
    definition: "extension private memory (Private_Clean + Private_Dirty of the --extension-process renderers) after a forced GC in the service worker, the offscreen document and the engine worker: at the end minus after the warm-up",
    warm_bytes: warm.total,
    end_bytes: end.total,
    growth_bytes: growth,
    threshold_bytes: threshold,
    js_heaps: { warm: heapsWarm, end: heapsEnd },
    injected_leak_kb_per_page: cfg.injectLeakKb,
    trend,
    ok,
  });
  if (!ok) throw new BudgetExceeded(`the extension grew by ${mb(growth)}, more than ${mb(threshold)}`);
}

// Self time per function over CPU profiles: {total_ms, top: [{name, self_ms}]}, largest
// first, idle left out. A native function (no script: the chrome.* API bindings, whose
// names in the profile are not reliable, or postMessage) is named with its JS caller; code
// evaluated over the protocol (this script's verdict waiting) is marked as such.
export function topFunctions(profiles, count = 15) {
  const self = new Map();
  let total = 0;
  const where = (f) => (f.url ? ` ${f.url.replace(/^chrome-extension:\/\/[^/]+\//, "")}:${f.lineNumber + 1}` : "");
  for (const { kind, profile } of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
    const deltas = profile.timeDeltas ?? [];
    for (let i = 0; i < profile.samples.length; i++) {
      const node = byId.get(profile.samples[i]);
      // A sample stands for the time until the next one.
      const us = deltas[i + 1] ?? 0;
      const f = node.callFrame;
      if (f.functionName === "(idle)") continue;
      let name = `${f.functionName || "(anonymous)"}${where(f)}`;
      if (!f.url && f.scriptId !== "0") {
        // Code evaluated over the protocol: this script's own (waiting for verdicts).
        name = `${f.functionName || "(anonymous)"} (evaluated by the profiling script)`;
      } else if (!f.url && !f.functionName.startsWith("(")) {
        let up = parent.get(node.id);
        while (up !== undefined && !byId.get(up).callFrame.url) up = parent.get(up);
        const caller = up === undefined ? null : byId.get(up).callFrame;
        name = `${f.functionName || "(anonymous)"} (native)${caller ? ` < ${caller.functionName || "(anonymous)"}${where(caller)}` : ""}`;
      }
      name += ` [${kind}]`;
      self.set(name, (self.get(name) ?? 0) + us);
      total += us;
    }
  }
  return {
    total_ms: total / 1000,
    top: [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count).map(([name, us]) => ({ name, self_ms: us / 1000 })),
  };
}

async function cpuMode(ctx, { rate, duration }) {
  const { cfg } = ctx;
  const busySecs = Math.floor(duration / 2);
  const settleSecs = 2;
  const idleSecs = duration - busySecs - settleSecs;
  if (idleSecs < 3) throw new UsageError("--duration must be at least 10 seconds");
  const intervalUs = Math.round(1e6 / rate);
  const browser = await ctx.start();
  const pids = await browser.identifyExtension();
  await browser.openTabs(cfg.tabs);
  // The offscreen document exists once the first page has been scanned.
  await browser.visit(browser.tabs[0], ctx.corpus.pages[0]);
  const profiled = [];
  const startProfiler = async (kind, session) => {
    if (profiled.some((p) => p.session.sessionId === session.sessionId)) return;
    profiled.push({ kind, session });
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: intervalUs });
    await session.send("Profiler.start");
  };
  let workers = 0;
  for (const { kind, session } of await browser.extensionSessions()) {
    await startProfiler(kind.startsWith("worker") ? `worker-${++workers}` : kind, session);
  }
  // An engine worker ended at the time limit is replaced by a new one: profiled as well.
  browser.onWorker = (session) => {
    startProfiler(`worker-${++workers}`, session).catch(() => {});
  };
  if (!profiled.some((p) => p.kind === "offscreen") || workers === 0) throw new Error("no offscreen document or engine worker to profile");

  const cpu0 = browser.extensionCpu();
  const t0 = Date.now();
  const results = await browse(browser, { intervalMs: cfg.intervalMs ?? 1500, until: () => Date.now() - t0 >= busySecs * 1000, startAt: 1 });
  const busyWall = (Date.now() - t0) / 1000;
  const busyCpu = browser.extensionCpu() - cpu0;
  browser.onWorker = null;
  const profiles = [];
  for (const { kind, session } of profiled) {
    try {
      const { profile } = await session.send("Profiler.stop");
      await session.send("Profiler.disable");
      profiles.push({ kind, profile });
    } catch (e) {
      // A worker ended by the time limit takes its profile with it.
      console.log(`   no profile from the ${kind}: ${e.message}`);
    }
  }
  const files = [];
  mkdirSync(cfg.profileDir, { recursive: true });
  for (const { kind, profile } of profiles) {
    const path = join(cfg.profileDir, `cpu-${ctx.stamp}-${kind}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    files.push(path);
  }
  // Idle: the tabs stay open, nothing navigates, and the debugger leaves the extension.
  for (const { session } of profiled) await browser.connection.send("Target.detachFromTarget", { sessionId: session.sessionId }).catch(() => {});
  await sleep(settleSecs * 1000);
  const idlePids = browser.extensionPids();
  const cpu1 = browser.extensionCpu();
  const t1 = Date.now();
  await sleep(idleSecs * 1000);
  const idleWall = (Date.now() - t1) / 1000;
  const idleCpu = browser.extensionCpu() - cpu1;
  const endPids = browser.extensionPids();
  await browser.close();
  if (JSON.stringify(idlePids) !== JSON.stringify(endPids)) throw new Error("the extension's processes changed during the idle window");

  const busyPercent = (100 * busyCpu) / busyWall;
  const idlePercent = (100 * idleCpu) / idleWall;
  const ok = idlePercent < cfg.idleCpuBudget;
  const top = topFunctions(profiles);
  console.log(`\nFerretWatch CPU profile: ${chromiumVersion()}, ${rate} Hz (every ${intervalUs} µs), ${results.length + 1} pages in ${busySecs} s, then ${idleSecs} s idle`);
  console.log(`extension processes: ${pids.join(", ")}\n`);
  console.log(table([
    ["what", "CPU (% of one core)", "budget", "status"],
    [`browsing, ${busyWall.toFixed(1)} s`, `${busyPercent.toFixed(2)}% (${busyCpu.toFixed(2)} s)`, "", ""],
    [`idle, ${idleWall.toFixed(1)} s, ${cfg.tabs} tabs open`, `${idlePercent.toFixed(2)}% (${idleCpu.toFixed(2)} s)`, `< ${cfg.idleCpuBudget}%`, status(ok)],
  ]));
  console.log(`\ntop functions by self time while browsing (${top.total_ms.toFixed(0)} ms sampled, idle left out):`);
  console.log(table([["self ms", "%", "function [context]"],
    ...top.top.map((f) => [f.self_ms.toFixed(1), ((100 * f.self_ms) / (top.total_ms || 1)).toFixed(1), f.name])]));
  for (const file of files) console.log(`profile: ${file}`);
  writeReport(cfg.profileDir, `cpu-${ctx.stamp}.json`, {
    kind: "cpu",
    chromium: chromiumVersion(),
    machine: machine(),
    sample_rate_hz: rate,
    sampling_interval_us: intervalUs,
    tabs: cfg.tabs,
    extension_pids: pids,
    definition: "utime + stime (/proc/PID/stat) of the --extension-process renderers over the window, as a percent of one core",
    busy: { seconds: busyWall, pages: results.length + 1, cpu_s: busyCpu, percent: busyPercent },
    idle: { seconds: idleWall, cpu_s: idleCpu, percent: idlePercent, budget_percent: cfg.idleCpuBudget },
    profiles: files,
    top_functions: top,
    ok,
  });
  if (!ok) throw new BudgetExceeded(`idle CPU ${idlePercent.toFixed(2)}% is not under ${cfg.idleCpuBudget}%`);
}

async function benchMode(ctx, { passes, idle }) {
  const { cfg, corpus } = ctx;
  const browser = await ctx.start();
  const pids = await browser.identifyExtension();
  await browser.openTabs(cfg.tabs);
  const count = passes * corpus.pages.length;
  const t0 = Date.now();
  console.error(`== ${passes} passes over the ${corpus.pages.length} corpus pages in ${cfg.tabs} tabs`);
  const results = await browse(browser, {
    intervalMs: cfg.intervalMs ?? 0,
    until: (n) => n >= count,
    each: (_, n) => {
      if (n % corpus.pages.length === 0) console.error(`   pass ${n / corpus.pages.length} done`);
    },
  });
  const sessionSecs = (Date.now() - t0) / 1000;
  const memoryEnd = browser.extensionMemory().total;
  const heaps = await browser.collectExtensionGarbage();
  const memoryGc = browser.extensionMemory().total;
  const tabs = await perTabCost(browser, corpus, cfg.work);
  // Idle: the session's tabs and the probe tabs stay open; nothing navigates.
  await sleep(2000);
  const cpu0 = browser.extensionCpu();
  const t1 = Date.now();
  await sleep(idle * 1000);
  const idleWall = (Date.now() - t1) / 1000;
  const idlePercent = (100 * (browser.extensionCpu() - cpu0)) / idleWall;
  await browser.identifyExtension();
  await browser.close();
  const perTab = await tabs.finish();

  const per = (list, field) => list.map((r) => r.verdict?.[field]).filter((v) => typeof v === "number");
  const stats = (values) => ({ n: values.length, median: percentile(values, 50), p95: percentile(values, 95), max: values.length ? Math.max(...values) : null });
  const total = stats(per(results, "total_ms"));
  const scan = stats(per(results, "scan_ms"));
  const warm = stats(per(results.slice(corpus.pages.length), "total_ms"));
  const missing = results.filter((r) => !r.verdict).map((r) => ({ url: r.url, error: r.error ?? "no verdict" }));
  const elsewhere = results.filter((r) => r.scanned_url).map((r) => ({ url: r.url, scanned_url: r.scanned_url }));
  const f = (v) => (v === null ? "—" : v.toFixed(1));
  const rows = [
    ["what", "median", "p95", "max", "target", "status"],
    [`detection per page, total_ms (${total.n} pages)`, `${f(total.median)} ms`, `${f(total.p95)} ms`, `${f(total.max)} ms`, "p95 ≤ 50 ms", status(total.p95 !== null && total.p95 <= 50)],
    [`of which the engine, scan_ms`, `${f(scan.median)} ms`, `${f(scan.p95)} ms`, `${f(scan.max)} ms`, "", ""],
    ...(passes > 1 ? [[`detection, passes 2–${passes} (warm)`, `${f(warm.median)} ms`, `${f(warm.p95)} ms`, `${f(warm.max)} ms`, "", ""]] : []),
    ["extension memory after the session", mb(memoryEnd), "", "", "≤ 80 MB", status(memoryEnd <= 80 * MB)],
    ["extension memory after a forced GC", mb(memoryGc), "", "", "", ""],
    [`per tab (${perTab.pages.length} pages)`, mb(perTab.median_bytes), "", mb(perTab.max_bytes), "≤ 15 MB", status(perTab.max_bytes <= 15 * MB)],
    [`idle CPU (${idleWall.toFixed(0)} s, ${cfg.tabs + perTab.pages.length} tabs)`, `${idlePercent.toFixed(2)}%`, "", "", "< 1%", status(idlePercent < 1)],
  ];
  console.log(`\nFerretWatch in ${chromiumVersion()}: ${results.length} page visits in ${sessionSecs.toFixed(0)} s; ${missing.length} without a verdict, ${elsewhere.length} scanned at the address they replaced themselves with; ${machine().cores} cores, load ${machine().load}\n`);
  console.log(markdown(rows));
  writeReport(cfg.profileDir, `bench-${ctx.stamp}.json`, {
    kind: "bench",
    extension: process.env.FERRETWATCH_EXTENSION ? resolve(process.env.FERRETWATCH_EXTENSION) : `built from ${sourceCommit()}`,
    chromium: chromiumVersion(),
    machine: machine(),
    passes,
    tabs: cfg.tabs,
    extension_pids: pids,
    session_s: sessionSecs,
    total_ms: total,
    scan_ms: scan,
    warm_total_ms: warm,
    without_verdict: missing,
    scanned_elsewhere: elsewhere,
    extension_end_bytes: memoryEnd,
    extension_after_gc_bytes: memoryGc,
    extension_js_heaps_after_gc: heaps,
    per_tab: perTab,
    idle: { seconds: idleWall, percent: idlePercent },
    pages: results.map((r) => ({
      url: r.url,
      total_ms: r.verdict?.total_ms ?? null,
      scan_ms: r.verdict?.scan_ms ?? null,
      level: r.verdict?.level ?? null,
      scanned_url: r.scanned_url,
      load_ms: r.load_ms ?? null,
      step_ms: r.step_ms,
      error: r.error,
    })),
  });
}

// --- main -----------------------------------------------------------------------------------

function options(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) throw new UsageError(`bad arguments: ${argv.join(" ")}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

function wholeNumber(text, what, min) {
  if (!/^\d+$/.test(String(text)) || Number(text) < min) throw new UsageError(`${what} takes a whole number ≥ ${min}: ${text}`);
  return Number(text);
}

async function main() {
  const [mode, ...rest] = process.argv.slice(2);
  const opts = options(rest);
  const cfg = settings();
  let run;
  switch (mode) {
    case "memory":
      run = (ctx) => memoryMode(ctx, { duration: wholeNumber(opts.duration, "--duration", 5) });
      break;
    case "leaks":
      run = (ctx) => leaksMode(ctx, { threshold: parseSize(opts.threshold) });
      break;
    case "cpu":
      run = (ctx) => cpuMode(ctx, { rate: parseRate(opts.rate), duration: wholeNumber(opts.duration, "--duration", 10) });
      break;
    case "bench":
      run = (ctx) => benchMode(ctx, { passes: wholeNumber(opts.passes ?? 3, "--passes", 1), idle: wholeNumber(opts.idle ?? 60, "--idle", 5) });
      break;
    default:
      throw new UsageError(`unknown mode: ${mode} (memory, leaks, cpu, bench)`);
  }
  // Checked before anything starts.
  if (mode === "leaks") parseSize(opts.threshold);
  if (mode === "cpu") parseRate(opts.rate);
  const ownWork = !cfg.work;
  const work = cfg.work ?? mkdtempSync(join(tmpdir(), "ferretwatch-profile-"));
  const corpus = await startCorpusServer(join(repo, "tests/corpus"));
  // Keeps the event loop alive while a protocol answer is awaited.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    const extension = extensionDir(work);
    const ctx = { cfg, corpus, stamp: stamp(), start: () => Browser.start({ extension, corpus, work: cfg.work }) };
    await run(ctx);
  } finally {
    clearInterval(keepAlive);
    for (const browser of [...running]) await browser.close().catch(() => {});
    corpus.close();
    if (ownWork) rmSync(work, { recursive: true, force: true });
  }
}

async function shutdown(signal) {
  for (const browser of [...running]) await browser.close().catch(() => {});
  process.exit(signal === "SIGINT" ? 130 : 143);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  main().then(
    () => process.exit(0),
    (e) => {
      if (e instanceof BudgetExceeded) {
        console.error(`FAILED: ${e.message}`);
        process.exit(1);
      }
      if (e instanceof UsageError) {
        console.error(e.message);
        process.exit(2);
      }
      console.error(`the measurement failed: ${e.stack ?? e}`);
      process.exit(3);
    },
  );
}
