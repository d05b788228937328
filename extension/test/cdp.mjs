// A small client of the Chrome DevTools protocol for the end-to-end test and the profiling
// scripts: it starts Debian's Chromium headless with the unpacked extension loaded, every
// host name resolved to a local server, and talks to it over the protocol's WebSocket
// (Node's, behind --experimental-websocket). No browser automation library is needed.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function chromiumPath() {
  // The binary itself rather than Debian's wrapper script, so that the process started is
  // the browser and its process group holds all of Chromium's processes.
  for (const path of [process.env.CHROMIUM, "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (path && existsSync(path)) return path;
  }
  throw new Error("Chromium is missing (Debian: apt-get install chromium)");
}

// Starts Chromium. `extension`: the unpacked extension's directory (or null, for a
// baseline without it); `env`: added to the environment (LANGUAGE picks the UI
// language on Linux); `resolveTo`: "127.0.0.1:PORT" that every host name maps to
// (127.0.0.1 itself excepted, where the FerretWatch server listens).
export async function launch({ extension, resolveTo, args = [], env = {} }) {
  const profile = mkdtempSync(join(tmpdir(), "ferretwatch-chromium-"));
  const flags = [
    "--headless=new",
    "--no-sandbox",
    `--user-data-dir=${profile}`,
    "--remote-debugging-port=0",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--metrics-recording-only",
    "--window-size=1280,900",
    "--ignore-certificate-errors",
    "--disable-features=DisableLoadExtensionCommandLineSwitch,HttpsUpgrades",
    ...(resolveTo ? [`--host-resolver-rules=MAP * ${resolveTo}, EXCLUDE 127.0.0.1`] : []),
    ...(extension ? [`--load-extension=${extension}`, `--disable-extensions-except=${extension}`] : []),
    ...args,
    "about:blank",
  ];
  const child = spawn(chromiumPath(), flags, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
    detached: true, // its own process group, killed whole by close()
  });
  const killAll = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  // However this process ends, its Chromium ends with it.
  process.once("exit", killAll);
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const portFile = join(profile, "DevToolsActivePort");
  for (let i = 0; i < 300 && !existsSync(portFile); i++) await sleep(100);
  if (!existsSync(portFile)) {
    killAll();
    throw new Error(`Chromium did not start:\n${stderr}`);
  }
  await sleep(100);
  const [port, path] = readFileSync(portFile, "utf8").trim().split("\n");
  const browser = await Connection.open(`ws://127.0.0.1:${port}${path}`);
  browser.process = child;
  browser.profile = profile;
  browser.close = async () => {
    try {
      await browser.send("Browser.close");
    } catch {}
    await Promise.race([new Promise((resolve) => child.once("exit", resolve)), sleep(5000)]);
    killAll();
    rmSync(profile, { recursive: true, force: true });
  };
  return browser;
}

export class Connection {
  static open(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new Connection(ws));
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.next = 1;
    this.pending = new Map();
    this.listeners = [];
    ws.onmessage = ({ data }) => {
      const message = JSON.parse(data);
      if (message.id && this.pending.has(message.id)) {
        const { resolve, reject, method } = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      } else if (message.method) {
        for (const listener of this.listeners) listener(message);
      }
    };
  }

  // Sends a command; its answer, or an error when Chromium refuses it or has not answered
  // within `timeoutMs` (a hung command fails loudly instead of leaving the test waiting).
  send(method, params = {}, sessionId, timeoutMs = 120_000) {
    const id = this.next++;
    const message = { id, method, params, ...(sessionId ? { sessionId } : {}) };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (done) => (value) => {
        clearTimeout(timer);
        done(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject), method });
      this.ws.send(JSON.stringify(message));
    });
  }

  on(listener) {
    this.listeners.push(listener);
  }

  off(listener) {
    const at = this.listeners.indexOf(listener);
    if (at !== -1) this.listeners.splice(at, 1);
  }

  // Waits for an event `method` (of `sessionId`, when given) that `test` accepts.
  waitFor(method, sessionId, test = () => true, timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${method}`)), timeoutMs);
      const listener = (message) => {
        if (message.method === method && (!sessionId || message.sessionId === sessionId) && test(message.params)) {
          clearTimeout(timer);
          this.listeners.splice(this.listeners.indexOf(listener), 1);
          resolve(message.params);
        }
      };
      this.listeners.push(listener);
    });
  }

  // A session on a target (flattened: commands carry its sessionId).
  async attach(targetId) {
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    return new Session(this, sessionId, targetId);
  }

  async targets() {
    return (await this.send("Target.getTargets")).targetInfos;
  }

  // The extension's service worker, once its module has run (its `ferretwatch` global set).
  async extensionWorker(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const worker = (await this.targets()).find((t) => t.type === "service_worker" && t.url.startsWith("chrome-extension://"));
      if (worker) {
        const session = await this.attach(worker.targetId);
        session.extensionId = new URL(worker.url).host;
        await until("the service worker's module has run", () =>
          session.evaluate("typeof globalThis.ferretwatch === 'object'").catch(() => false), Math.max(1000, deadline - Date.now()));
        return session;
      }
      await sleep(200);
    }
    throw new Error("the extension's service worker did not start");
  }

  // Opens a page target and returns its session, with Page and Runtime enabled.
  async newPage(url = "about:blank") {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const page = await this.attach(targetId);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    if (url !== "about:blank") await page.navigate(url);
    return page;
  }
}

export class Session {
  constructor(connection, sessionId, targetId) {
    this.connection = connection;
    this.sessionId = sessionId;
    this.targetId = targetId;
  }

  send(method, params = {}) {
    return this.connection.send(method, params, this.sessionId);
  }

  // Evaluates `expression` (awaiting a promise) and returns its value; throws its exception.
  async evaluate(expression, timeoutMs = 60_000) {
    const result = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
      timeout: timeoutMs,
    });
    if (result.exceptionDetails) {
      const detail = result.exceptionDetails.exception?.description ?? result.exceptionDetails.text;
      throw new Error(`evaluation failed: ${detail}`);
    }
    return result.result.value;
  }

  async navigate(url, timeoutMs = 30_000) {
    const loaded = this.connection.waitFor("Page.loadEventFired", this.sessionId, () => true, timeoutMs);
    const { errorText } = await this.send("Page.navigate", { url });
    if (errorText) throw new Error(`navigation to ${url} failed: ${errorText}`);
    await loaded;
  }

  // A PNG of the page, or of `clip` ({x, y, width, height, scale}) beyond the viewport.
  async screenshot(clip) {
    const { data } = await this.send("Page.captureScreenshot", { format: "png", ...(clip ? { clip, captureBeyondViewport: true } : {}) });
    return Buffer.from(data, "base64");
  }

  async close() {
    await this.connection.send("Target.closeTarget", { targetId: this.targetId });
  }
}

export async function until(what, probe, timeoutMs = 30_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await sleep(everyMs);
  }
  throw new Error(`timed out: ${what} (last: ${JSON.stringify(last)})`);
}

export { sleep };
