// What the console's end-to-end tests share: one line per check, TOTP codes (RFC 6238), a
// `ferretwatch serve` on loopback, a browser tab per person (each in a browser context of
// its own, driven over CDP: typed with Input.insertText, clicked with mouse events, read
// with Runtime.evaluate), and the enrolment and sign-in flows.
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { sleep, until } from "../../extension/test/cdp.mjs";

// --- checks: one line each; a failure is reported and the run goes on ----------------------
export class CheckFailed extends Error {}
export function expect(condition, what, detail) {
  if (!condition) throw new CheckFailed(`${what}${detail === undefined ? "" : `: ${JSON.stringify(detail).slice(0, 600)}`}`);
}
export class Checks {
  constructor() {
    this.started = Date.now();
    this.results = [];
  }
  elapsed() {
    return `${((Date.now() - this.started) / 1000).toFixed(1)} s`;
  }
  async check(id, title, body) {
    const from = Date.now();
    try {
      const note = await body();
      this.results.push({ id, ok: true, ms: Date.now() - from });
      console.log(`ok   ${id}: ${title}${note ? ` (${note})` : ""} [${this.elapsed()}]`);
      return true;
    } catch (e) {
      this.results.push({ id, ok: false, ms: Date.now() - from });
      console.log(`FAIL ${id}: ${title}: ${e instanceof CheckFailed ? e.message : e.stack}`);
      return false;
    }
  }
  get failed() {
    return this.results.filter((r) => !r.ok);
  }
}

// --- TOTP (RFC 6238: HMAC-SHA1, 30-second steps) --------------------------------------------
export function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.toUpperCase().replace(/[\s=]/g, "")) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
export function hotp(key, counter, digits = 6) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits).padStart(digits, "0");
}
export const totp = (key, unixSeconds, digits = 6) => hotp(key, Math.floor(unixSeconds / 30), digits);
const stepNow = () => Math.floor(Date.now() / 1000 / 30);

// An account's authenticator: each code the server accepted is spent (it takes a step once,
// and accepts one step either side of now), so the next sign-in uses a later step.
export class Authenticator {
  constructor(base32Key) {
    this.key = base32(base32Key);
    this.last = -Infinity;
  }
  // The code of the current step (what the app shows now).
  current() {
    this.last = stepNow();
    return hotp(this.key, this.last);
  }
  // The code of the first step after the last one used, not before now; when that step is
  // more than one ahead, waits until the server will take it.
  async next() {
    const step = Math.max(this.last + 1, stepNow());
    const wait = (step - 1) * 30_000 - Date.now() + 500;
    if (wait > 0) await sleep(wait);
    this.last = step;
    return hotp(this.key, step);
  }
}

// --- the server ------------------------------------------------------------------------------
export const freePort = () =>
  new Promise((done) => {
    const probe = createNetServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });

// Starts `ferretwatch serve` on loopback with a config in `work` (`consoleLines`: more lines
// of its [console] table); `ready()` waits until it answers /ready; `stop()` ends it. Its log
// level is `warn`, or FERRETWATCH_E2E_LOG (e.g. `debug`: every SQL statement, with timings).
export async function startServer(bin, work, consoleLines = []) {
  const port = await freePort();
  const metricsPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = join(work, "data");
  const config = join(work, "ferretwatch.toml");
  mkdirSync(work, { recursive: true });
  writeFileSync(
    config,
    [
      `listen = "127.0.0.1:${port}"`,
      `metrics_listen = "127.0.0.1:${metricsPort}"`,
      `data_dir = ${JSON.stringify(dataDir)}`,
      `log = "${process.env.FERRETWATCH_E2E_LOG ?? "warn"}"`,
      "",
      "[console]",
      `public_url = "${url}"`,
      ...consoleLines,
      "",
    ].join("\n"),
  );
  const log = join(work, "server.log");
  const logFd = openSync(log, "a");
  const child = spawn(bin, ["serve", "--config", config], { stdio: ["ignore", logFd, logFd] });
  let exit = null;
  child.once("exit", (code, signal) => (exit = signal ?? code));
  // However this process ends, the server ends with it.
  process.once("exit", () => child.kill("SIGKILL"));
  return {
    url,
    port,
    config,
    dataDir,
    log,
    // `ferretwatch ARGS --config CONFIG`: its standard output.
    fw: (...args) => execFileSync(bin, [...args, "--config", config], { stdio: ["ignore", "pipe", "pipe"] }).toString(),
    sql: (query) => execFileSync("sqlite3", [join(dataDir, "ferretwatch.db"), query]).toString().trim(),
    ready: () =>
      until(
        "the server is ready",
        async () => {
          if (exit !== null) throw new Error(`the server exited (${exit}):\n${readFileSync(log, "utf8")}`);
          try {
            return (await fetch(`${url}/ready`)).status === 200;
          } catch {
            return false;
          }
        },
        60_000,
        200,
      ),
    async stop() {
      if (exit !== null) return;
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (exit === null) child.kill("SIGKILL");
    },
    // The server's log without the development keys' banner.
    logText: () => readFileSync(log, "utf8").split("\n").filter((l) => !l.includes("DEVELOPMENT KEYS")).join("\n").trim(),
  };
}

// --- a browser tab in a browser context of its own --------------------------------------------
export class Tab {
  // Set once: the browser (from cdp.mjs `launch`), the screenshots' directory (or null) and
  // the prefix of their file names.
  static browser = null;
  static shots = null;
  static shotPrefix = "console-";
  // Called with every tab opened (after its domains are enabled).
  static onOpen = async () => {};

  // A page in `contextId` (a fresh cookie jar), 1280×900, recording its events.
  static async open(contextId) {
    const browser = Tab.browser;
    const { targetId } = await browser.send("Target.createTarget", { url: "about:blank", browserContextId: contextId });
    const session = await browser.attach(targetId);
    const tab = new Tab(session);
    tab.contextId = contextId;
    for (const domain of ["Page", "Runtime", "Network", "Log"]) await session.send(`${domain}.enable`);
    await session.send("Emulation.setDeviceMetricsOverride", { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
    tab.mainFrame = (await session.send("Page.getFrameTree")).frameTree.frame.id;
    await Tab.onOpen(tab);
    return tab;
  }

  static async context() {
    const { browserContextId } = await Tab.browser.send("Target.createBrowserContext", { disposeOnDetach: true });
    return Tab.open(browserContextId);
  }

  // Another tab in this tab's browser context (the same cookies).
  sibling() {
    return Tab.open(this.contextId);
  }

  // Makes this the context's foreground tab (a background tab's input is slowed down).
  front() {
    return this.session.send("Page.bringToFront");
  }

  constructor(session) {
    this.session = session;
    this.events = [];
    this.waiters = [];
    Tab.browser.on((message) => {
      if (message.sessionId !== session.sessionId) return;
      this.events.push(message);
      this.waiters = this.waiters.filter((w) => !w(message));
    });
  }

  // The first event from index `from` on that `test` accepts.
  wait(test, from, what, timeoutMs = 30_000) {
    const seen = this.events.slice(from).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new CheckFailed(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push((message) => {
        if (!test(message)) return false;
        clearTimeout(timer);
        resolve(message);
        return true;
      });
    });
  }

  // The top-level documents received since `from`: the last one, and the redirects on the way.
  document(from) {
    const events = this.events.slice(from);
    const responses = events.filter(
      (m) => m.method === "Network.responseReceived" && m.params.type === "Document" && m.params.frameId === this.mainFrame,
    );
    const last = responses.at(-1);
    if (!last) throw new CheckFailed("no document was received");
    const redirects = events
      .filter((m) => m.method === "Network.requestWillBeSent" && m.params.redirectResponse && m.params.frameId === this.mainFrame)
      .map((m) => ({ url: m.params.redirectResponse.url, status: m.params.redirectResponse.status, to: m.params.request.url }));
    const lower = (h) => Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const headers = lower(last.params.response.headers);
    // The request as sent (with the headers Chromium adds, like Origin and Cookie).
    const sent = events.findLast((m) => m.method === "Network.requestWillBeSentExtraInfo" && m.params.requestId === last.params.requestId);
    const request = lower(sent?.params.headers);
    const { url, status } = last.params.response;
    return { url, status, headers, redirects, request, requestId: last.params.requestId };
  }

  // Runs `act` (which starts a top-level navigation) and waits for the page it leads to;
  // `untilUrl` names the document to wait for when other documents load on the way.
  async navigation(act, what, untilUrl, timeoutMs = 30_000) {
    const from = this.events.length;
    await act();
    let loadedFrom = from;
    if (untilUrl) {
      const response = await this.wait(
        (m) => m.method === "Network.responseReceived" && m.params.type === "Document" && m.params.frameId === this.mainFrame && untilUrl(m.params.response.url),
        from,
        what,
        timeoutMs,
      );
      loadedFrom = this.events.indexOf(response);
    }
    await this.wait((m) => m.method === "Page.loadEventFired", loadedFrom, `${what} to load`, timeoutMs);
    return this.document(from);
  }

  goto(url) {
    return this.navigation(async () => {
      const { errorText } = await this.session.send("Page.navigate", { url });
      if (errorText) throw new CheckFailed(`navigation to ${url} failed: ${errorText}`);
    }, url);
  }

  evaluate(expression) {
    return this.session.evaluate(expression);
  }

  text(selector = "main") {
    return this.evaluate(`document.querySelector(${JSON.stringify(selector)})?.innerText ?? null`);
  }

  has(selector) {
    return this.evaluate(`document.querySelector(${JSON.stringify(selector)}) !== null`);
  }

  path() {
    return this.evaluate("location.pathname + location.search");
  }

  // Types into a field as a person would (the field focused, then text inserted).
  async fill(selector, text) {
    const found = await this.evaluate(`(() => {
      const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return false;
      e.focus();
      e.select();
      return document.activeElement === e;
    })()`);
    expect(found, `the field ${selector} is on ${await this.path()} and takes the focus`);
    await this.session.send("Input.insertText", { text });
    const value = await this.evaluate(`document.querySelector(${JSON.stringify(selector)}).value`);
    expect(value === text, `typing into ${selector}`, { typed: text, value });
  }

  // Picks an option of a <select> by its value, with the keyboard-free equivalent a person
  // gets from the list (the page has no script to notice the difference).
  async choose(selector, value) {
    const ok = await this.evaluate(`(() => {
      const e = document.querySelector(${JSON.stringify(selector)});
      if (!e || ![...e.options].some((o) => o.value === ${JSON.stringify(value)})) return false;
      e.value = ${JSON.stringify(value)};
      return true;
    })()`);
    expect(ok, `${selector} on ${await this.path()} offers ${value}`, await this.evaluate(`[...(document.querySelector(${JSON.stringify(selector)})?.options ?? [])].map((o) => o.value)`));
  }

  // Clicks the middle of an element with the mouse.
  async click(selector) {
    const box = await this.evaluate(`(() => {
      const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return null;
      e.scrollIntoView({ block: "center" });
      const r = e.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    })()`);
    expect(box, `${selector} is on ${await this.path()}`);
    const mouse = { x: box.x, y: box.y, button: "left", clickCount: 1 };
    await this.session.send("Input.dispatchMouseEvent", { type: "mouseMoved", x: box.x, y: box.y });
    await this.session.send("Input.dispatchMouseEvent", { type: "mousePressed", ...mouse });
    await this.session.send("Input.dispatchMouseEvent", { type: "mouseReleased", ...mouse });
  }

  submit(buttonSelector, timeoutMs = 30_000) {
    return this.navigation(() => this.click(buttonSelector), `the response to ${buttonSelector}`, null, timeoutMs);
  }

  async key(key, code, keyCode, modifiers = 0) {
    await this.session.send("Input.dispatchKeyEvent", { type: "rawKeyDown", key, code, windowsVirtualKeyCode: keyCode, modifiers });
    await this.session.send("Input.dispatchKeyEvent", { type: "keyUp", key, code, windowsVirtualKeyCode: keyCode, modifiers });
  }

  // The browser context's cookies for `url`, as a Cookie header.
  async cookieHeader(url) {
    const { cookies } = await this.session.send("Network.getCookies", { urls: [url] });
    return cookies.map((c) => `${c.name}=${c.value}`).join("; ");
  }

  async screenshot(name) {
    if (!Tab.shots) return;
    writeFileSync(join(Tab.shots, `${Tab.shotPrefix}${name}.png`), await this.session.screenshot());
  }
}

// --- the flows -----------------------------------------------------------------------------
// Opens an invitation link, types the account's details and the current code, submits.
export async function enrol(tab, url, email, password, screenshot) {
  const page = await tab.goto(url);
  expect(page.status === 200, "the invitation page opens", page);
  const key = await tab.evaluate(`document.getElementById("totp-secret")?.textContent.trim() ?? null`);
  expect(/^[A-Z2-7]{16,}=*$/.test(key ?? ""), "#totp-secret holds a base32 key", key);
  const authenticator = new Authenticator(key);
  await tab.fill("#email", email);
  await tab.fill("#password", password);
  if (screenshot) await tab.screenshot("enrol");
  await tab.fill("#totp", authenticator.current());
  const done = await tab.submit('form[action="/admin/enrol"] button[type="submit"]');
  const codes = await tab.evaluate(`[...document.querySelectorAll("#recovery-codes code")].map((c) => c.textContent)`);
  return { authenticator, done, codes: codes ?? [], error: await tab.text(".error") };
}

// Signs in at `consoleUrl`: email and password, then the next code on the second page.
export async function signIn(tab, consoleUrl, email, password, authenticator, screenshots) {
  const login = await tab.goto(`${consoleUrl}/admin/login`);
  expect(login.status === 200, "the sign-in page opens", login);
  await tab.fill("#email", email);
  await tab.fill("#password", password);
  if (screenshots) await tab.screenshot("login");
  const second = await tab.submit('form[action="/admin/login"] button[type="submit"]');
  expect(new URL(second.url).pathname === "/admin/login/totp", "the password leads to the code page", { ...second, error: await tab.text(".error") });
  if (screenshots) await tab.screenshot("totp");
  await tab.fill("#code", await authenticator.next());
  const landed = await tab.submit('form[action="/admin/login/totp"] button[type="submit"]');
  return { second, landed };
}

// The enrolment link `ferretwatch admin invite` printed (its last line).
export function invited(stdout, consoleUrl) {
  const url = stdout.trim().split("\n").at(-1);
  expect(url.startsWith(`${consoleUrl}/admin/enrol?code=fwin_`), "`admin invite` prints the enrolment link", stdout);
  return url;
}
