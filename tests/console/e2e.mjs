// The admin console end to end in Debian's Chromium (headless): a real `ferretwatch serve`
// on loopback with a one-minute idle timeout, the first admin invited with
// `ferretwatch admin invite`, and each person in a browser context of their own. Every
// check prints one line (`ok` or `FAIL`); the process exits 1 when any failed.
//
//   node --experimental-websocket tests/console/e2e.mjs FERRETWATCH_BIN WORK_DIR [SCREENSHOT_DIR]
//
// The console has no script of its own and a CSP without any: the test types with
// Input.insertText and clicks with mouse events; Runtime.evaluate (which the page's CSP
// does not govern) only reads the page and moves the focus.
import { createServer } from "node:http";
import { mkdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { launch, sleep } from "../../extension/test/cdp.mjs";
import { CheckFailed, Checks, Tab, base32, enrol, expect, invited as invitedAt, signIn as signInAt, startServer, totp } from "./lib.mjs";

const [binArg, workArg, shotsArg] = process.argv.slice(2);
if (!binArg || !workArg) {
  console.error("usage: e2e.mjs FERRETWATCH_BIN WORK_DIR [SCREENSHOT_DIR]");
  process.exit(2);
}
const bin = resolve(binArg);
const work = resolve(workArg);
const shots = shotsArg ? resolve(shotsArg) : null;
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
if (shots) mkdirSync(shots, { recursive: true });
// --- checks: one line each; a failure is reported and the run goes on ----------------------
const checks = new Checks();
const results = checks.results;
const elapsed = () => checks.elapsed();
const check = (id, title, body) => checks.check(id, title, body);

// --- the server ------------------------------------------------------------------------------
const server = await startServer(bin, work, ["idle_timeout_minutes = 1"]);
const consoleUrl = server.url;
const { fw, sql } = server;

// The hostile site: a page that posts a form to the console, and one that frames it. It is
// served on another port; visited as 127.0.0.1 it is same-site (SameSite ignores ports) but
// cross-origin, visited as localhost it is cross-site.
const hostile = createServer((req, res) => {
  const pages = {
    "/csrf": `<!doctype html><title>Win a prize</title>
<form method="post" action="${consoleUrl}/admin/accounts/invite">
<input name="role" value="admin"><input name="email" value="mallory@evil.example">
</form><script>document.forms[0].submit()</script>`,
    "/frame": `<!doctype html><title>Framed</title><h1>Framed console</h1>
<iframe id="console" src="${consoleUrl}/admin" width="900" height="600"></iframe>`,
  };
  const body = pages[new URL(req.url, "http://x").pathname];
  res.writeHead(body ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
  res.end(body ?? "not found");
});
await new Promise((done) => hostile.listen(0, "127.0.0.1", done));
const hostilePort = hostile.address().port;

let browser = null;
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  hostile.close();
  if (browser) await browser.close();
  await server.stop();
}
// However this test ends, its server (startServer sees to it) and its browser end with it.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => cleanup().finally(() => process.exit(130)));
}

// --- browser tabs (tests/console/lib.mjs), and a workaround for a console bug ------------------
// Set when the console's own forms were refused because of its `Referrer-Policy:
// no-referrer` (Chromium then sends `Origin: null`, which the CSRF guard refuses): from
// then on every tab is served console pages with `same-origin` instead (the fix), so that
// the other checks still say something.
let sameOriginReferrer = false;
const tabs = [];
Tab.onOpen = async (tab) => {
  if (sameOriginReferrer) await rewriteReferrerPolicy(tab);
  tabs.push(tab);
};

async function workAroundReferrerPolicy() {
  sameOriginReferrer = true;
  for (const tab of tabs) await rewriteReferrerPolicy(tab);
}

// Serves `tab` the console's pages with `Referrer-Policy: same-origin` (header and <meta>)
// instead of `no-referrer`; nothing else changes.
async function rewriteReferrerPolicy(tab) {
  if (tab.rewriting) return;
  tab.rewriting = true;
  browser.on(async (message) => {
    if (message.sessionId !== tab.session.sessionId || message.method !== "Fetch.requestPaused") return;
    const { requestId, responseStatusCode: status, responseHeaders } = message.params;
    try {
      if (status === undefined || (status >= 300 && status < 400)) {
        await tab.session.send("Fetch.continueRequest", { requestId });
        return;
      }
      const { body, base64Encoded } = await tab.session.send("Fetch.getResponseBody", { requestId });
      const html = Buffer.from(body, base64Encoded ? "base64" : "utf8")
        .toString("utf8")
        .replace('<meta name="referrer" content="no-referrer">', '<meta name="referrer" content="same-origin">');
      const headers = responseHeaders.filter((h) => !["content-encoding", "content-length", "referrer-policy"].includes(h.name.toLowerCase()));
      headers.push({ name: "Referrer-Policy", value: "same-origin" });
      await tab.session.send("Fetch.fulfillRequest", { requestId, responseCode: status, responseHeaders: headers, body: Buffer.from(html).toString("base64") });
    } catch {} // the tab moved on
  });
  await tab.session.send("Fetch.enable", { patterns: [{ urlPattern: `${consoleUrl}/admin*`, resourceType: "Document", requestStage: "Response" }] });
}

// --- the flows (enrol and sign in: tests/console/lib.mjs) -------------------------------------
const signIn = (tab, ...rest) => signInAt(tab, consoleUrl, ...rest);
const invited = (stdout) => invitedAt(stdout, consoleUrl);

const PASSWORD = { admin: "plum tree harbour 42", idle: "seven quiet lanterns", viewer: "copper kettle river 7" };

let failedSetup = null;
try {
  // 0. The TOTP function against RFC 6238 appendix B (SHA-1; the secret is ASCII).
  await check("0", "TOTP helper matches RFC 6238's SHA-1 vectors", () => {
    const seed = Buffer.from("12345678901234567890");
    expect(totp(seed, 59, 8) === "94287082", "T=59, 8 digits", totp(seed, 59, 8));
    expect(totp(seed, 59) === "287082", "T=59, 6 digits", totp(seed, 59));
    expect(totp(seed, 1111111109, 8) === "07081804", "T=1111111109", totp(seed, 1111111109, 8));
    expect(totp(seed, 20000000000, 8) === "65353130", "T=20000000000", totp(seed, 20000000000, 8));
    expect(base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").equals(seed), "base32 decoding");
    return "T=59: 94287082 / 287082";
  });

  // The one wait loop: until the server says it is ready (database and a pack).
  await server.ready();
  const adminLink = invited(fw("admin", "invite", "--role", "admin"));
  const idleLink = invited(fw("admin", "invite", "--role", "viewer", "--email", "idle@example.org"));
  browser = await launch({ extension: null });
  Tab.browser = browser;
  Tab.shots = shots;
  const version = (await browser.send("Browser.getVersion")).product;
  console.log(`== console at ${consoleUrl}, hostile pages at :${hostilePort}, ${version}, ready after ${elapsed()}`);
  const pack = (await (await fetch(`${consoleUrl}/ready`)).json()).pack_version;

  // 1. Enrolment of the first admin in the browser.
  const admin = await Tab.context();
  let adminAuth = null;
  let refusedOwnForm = null; // the refusal, when it is the Referrer-Policy bug
  const enrolAdmin = async () => {
    const { authenticator, done, codes, error } = await enrol(admin, adminLink, "admin@example.org", PASSWORD.admin, true);
    if (done.status === 403 && done.request.origin === "null" && done.headers["referrer-policy"] === "no-referrer") {
      refusedOwnForm = done;
    }
    expect(done.status === 200, "the enrolment form is accepted", {
      status: done.status,
      title: await admin.text("h1"),
      error,
      "sent Origin": done.request.origin,
      "the enrolment page's Referrer-Policy": done.headers["referrer-policy"],
    });
    expect(codes.length === 10, "ten recovery codes are shown", codes);
    expect(codes.every((c) => /^[a-z2-9]{5}-[a-z2-9]{5}$/.test(c)) && new Set(codes).size === 10, "the codes look like codes", codes);
    expect(sql("SELECT role FROM admin_accounts WHERE email = 'admin@example.org'") === "admin", "the account is an admin");
    adminAuth = authenticator;
    return "e.g. " + codes[0];
  };
  const title1 = "enrolment by invitation: TOTP key read, code computed, account created, 10 recovery codes";
  if (!(await check("1", title1, enrolAdmin)) && refusedOwnForm) {
    console.log(
      "== console bug: its own form was refused: Referrer-Policy no-referrer makes Chromium send `Origin: null` with " +
        "every form post, and the CSRF guard refuses Origin null. From here on the test serves console pages to " +
        "Chromium with Referrer-Policy same-origin (the suggested fix) so that the other checks run.",
    );
    await workAroundReferrerPolicy();
    await check("1w", `${title1}, with Referrer-Policy same-origin`, enrolAdmin);
  }

  // 5 starts now: a viewer signs in and leaves the tab alone for the idle timeout while the
  // other checks run.
  const idle = await Tab.context();
  let idleSince = null;
  let idleProblem = null;
  try {
    const { authenticator, codes, error } = await enrol(idle, idleLink, "idle@example.org", PASSWORD.idle, false);
    expect(codes.length === 10, "the idle viewer enrols", error);
    const { landed } = await signIn(idle, "idle@example.org", PASSWORD.idle, authenticator, false);
    expect(landed.status === 200 && new URL(landed.url).pathname === "/admin", "the idle viewer signs in", landed);
    idleSince = Date.now();
  } catch (e) {
    idleProblem = e.message;
  }

  // 2. Sign-in with password and TOTP.
  let adminSince = null;
  let dashboard = null;
  await check("2", "sign-in: password, then the next step's TOTP code, lands on the dashboard", async () => {
    expect(adminAuth, "check 1 enrolled the admin");
    const { landed } = await signIn(admin, "admin@example.org", PASSWORD.admin, adminAuth, true);
    expect(landed.status === 200 && new URL(landed.url).pathname === "/admin", "lands on /admin", landed);
    adminSince = Date.now();
    dashboard = landed;
    const main = await admin.text();
    expect(main.includes("Service health"), "the dashboard shows Service health", main);
    expect(pack && main.includes(pack), "the dashboard shows the served pack version", { pack, main });
    await admin.screenshot("dashboard");
    return `pack ${pack}`;
  });

  // 6. Keyboard and labels on the sign-in page, in a fresh context.
  await check("6", "keyboard: Tab reaches email, password, Continue in order; textboxes are named Email and Password", async () => {
    const tab = await Tab.context();
    await tab.goto(`${consoleUrl}/admin/login`);
    const focused = () =>
      tab.evaluate(`(() => { const e = document.activeElement; return !e || e === document.body ? "(out of the page)" : (e.id ? "#" + e.id : e.tagName.toLowerCase() + ":" + e.textContent.trim()); })()`);
    // The page opens with the focus in the email field (autofocus); Tab goes round the page.
    const order = [await focused()];
    for (let i = 0; i < 6; i++) {
      await tab.key("Tab", "Tab", 9);
      order.push(await focused());
    }
    expect(order.slice(0, 3).join(" ") === "#email #password button:Continue", "email, then password, then Continue", order);
    const wrapped = order.indexOf("#email", 1);
    expect(wrapped > 3 && order.slice(3, wrapped).filter((s) => s !== "(out of the page)").join() === "a:Skip to content", "round the page: only the skip link before email", order);
    const { nodes } = await tab.session.send("Accessibility.getFullAXTree");
    const boxes = nodes
      .filter((n) => !n.ignored && ["textbox", "searchbox"].includes(n.role?.value))
      .map((n) => ({ name: n.name?.value, from: n.name?.sources?.find((s) => s.value)?.type }));
    const names = boxes.map((b) => b.name);
    expect(names.includes("Email") && names.includes("Password"), "textboxes named Email and Password", boxes);
    expect(boxes.every((b) => b.from === "relatedElement"), "the names come from <label for>", boxes);
    await tab.session.close();
    return order.slice(0, wrapped + 1).join(" → ");
  });

  // 3. A viewer, invited from the Users & roles page, is refused the admin-only page.
  let forbidden = null;
  await check("3", "a viewer invited from Users & roles is refused /admin/accounts with 403", async () => {
    expect(adminSince, "check 2 signed the admin in");
    const page = await admin.goto(`${consoleUrl}/admin/accounts`);
    expect(page.status === 200, "the admin opens Users & roles", page);
    await admin.evaluate(`document.getElementById("invite-role").value = "viewer", true`);
    await admin.fill("#invite-email", "viewer@example.org");
    const made = await admin.submit('form[action="/admin/accounts/invite"] button[type="submit"]');
    expect(made.status === 200, "the invitation is created", made);
    const link = await admin.evaluate(`document.getElementById("invitation-url")?.textContent.trim() ?? null`);
    expect(link?.startsWith(`${consoleUrl}/admin/enrol?code=fwin_`), "#invitation-url holds the link", link);
    await admin.screenshot("users");
    const viewer = await Tab.context();
    const { authenticator, codes, error } = await enrol(viewer, link, "viewer@example.org", PASSWORD.viewer, false);
    expect(codes.length === 10, "the viewer enrols", error);
    const { landed } = await signIn(viewer, "viewer@example.org", PASSWORD.viewer, authenticator, false);
    expect(landed.status === 200 && new URL(landed.url).pathname === "/admin", "the viewer signs in", landed);
    forbidden = await viewer.goto(`${consoleUrl}/admin/accounts`);
    const text = await viewer.text();
    expect(forbidden.status === 403, "HTTP 403 for /admin/accounts", forbidden);
    expect(text.includes("Your role, viewer, may not manage accounts."), "the page says why", text);
    const nav = await viewer.text("nav");
    expect(!nav.includes("Users & roles"), "the viewer's navigation has no Users & roles", nav);
    await viewer.screenshot("forbidden");
    await viewer.session.close();
    return `status ${forbidden.status}: "${text.split("\n").find((l) => l.includes("Your role"))}"`;
  });

  // 4. CSRF: a hostile page posts an invitation form to the console in the admin's browser.
  await check("4", "CSRF: a hostile page's auto-submitted invite form is refused with 403 and creates nothing", async () => {
    expect(adminSince, "check 2 signed the admin in");
    const invitations = () => Number(sql("SELECT count(*) FROM admin_invitations"));
    const auditedInvites = async () => {
      await admin.goto(`${consoleUrl}/admin/audit?action=account.invited`);
      return admin.evaluate(`document.querySelectorAll("main tbody tr").length`);
    };
    const before = { rows: invitations(), audited: await auditedInvites() };
    expect(before.rows >= 3 && before.audited === before.rows, "the invitations so far are counted", before);
    const notes = [];
    for (const [host, kind] of [["127.0.0.1", "same-site, cross-origin"], ["localhost", "cross-site"]]) {
      const from = admin.events.length;
      const target = `${consoleUrl}/admin/accounts/invite`;
      const refused = await admin.navigation(
        async () => {
          const { errorText } = await admin.session.send("Page.navigate", { url: `http://${host}:${hostilePort}/csrf` });
          if (errorText) throw new CheckFailed(`the hostile page did not open: ${errorText}`);
        },
        `the console's answer to the ${kind} form`,
        (url) => url === target,
      );
      expect(refused.url === target && refused.status === 403, `${kind}: 403`, refused);
      expect((await admin.text("h1")) === "Form expired", `${kind}: the refusal page`, await admin.text());
      const post = admin.events
        .slice(from)
        .find((m) => m.method === "Network.requestWillBeSent" && m.params.request.url === target && m.params.request.method === "POST");
      const extra = post && admin.events.slice(from).find((m) => m.method === "Network.requestWillBeSentExtraInfo" && m.params.requestId === post.params.requestId);
      const cookie = extra?.params.associatedCookies?.find((c) => c.cookie.name === "__Host-fw_session");
      const sent = cookie && cookie.blockedReasons.length === 0;
      const origin = extra?.params.headers?.Origin ?? extra?.params.headers?.origin ?? post?.params.request.headers.Origin;
      if (host === "localhost") expect(cookie && !sent && cookie.blockedReasons.some((r) => /SameSiteStrict$/.test(r)), "cross-site: SameSite=Strict withheld the session cookie", cookie);
      notes.push(`${kind}: Origin ${origin}, session cookie ${sent ? "sent" : `withheld (${cookie?.blockedReasons.join(",")})`}`);
    }
    const after = { rows: invitations(), audited: await auditedInvites() };
    expect(after.rows === before.rows && after.audited === before.audited, "no invitation and no account.invited entry were added", { before, after });
    return notes.join("; ") + `; invitations ${after.rows} before and after`;
  });

  // 7. Headers the browser saw, and framing refused.
  await check("7", "headers: CSP frame-ancestors 'none' on the dashboard; a hostile page cannot frame /admin", async () => {
    expect(dashboard, "check 2 loaded the dashboard");
    const csp = dashboard.headers["content-security-policy"] ?? "";
    expect(csp.includes("frame-ancestors 'none'"), "content-security-policy has frame-ancestors 'none'", dashboard.headers);
    expect(!/script-src|'unsafe/.test(csp) && csp.includes("default-src 'none'"), "the CSP allows no script", csp);
    expect(dashboard.headers["x-frame-options"] === "DENY", "x-frame-options: DENY", dashboard.headers);
    const from = admin.events.length;
    const page = await admin.goto(`http://127.0.0.1:${hostilePort}/frame`);
    expect(page.status === 200, "the hostile page opens", page);
    const frameResponse = await admin.wait(
      (m) => m.method === "Network.responseReceived" && m.params.type === "Document" && m.params.frameId !== admin.mainFrame && m.params.response.url === `${consoleUrl}/admin`,
      from,
      "the framed console's response",
    );
    const refusal = await admin.wait(
      (m) => m.method === "Log.entryAdded" && /frame-ancestors/.test(m.params.entry.text),
      from,
      "Chromium's frame-ancestors error",
      10_000,
    );
    const { frameTree } = await admin.session.send("Page.getFrameTree");
    const child = frameTree.childFrames?.[0]?.frame;
    expect(child && !child.url.startsWith(consoleUrl), "the frame holds no console document", child);
    const status = frameResponse.params.response.status;
    return `framed /admin answered ${status}, frame left at ${child.url}; "${refusal.params.entry.text.slice(0, 120)}…"`;
  });

  // The remaining screenshots for the documentation.
  if (shots && adminSince) {
    await admin.goto(`${consoleUrl}/admin/settings`);
    await admin.screenshot("settings");
    await admin.goto(`${consoleUrl}/admin/audit`);
    await admin.screenshot("audit");
  }

  // 5. Expiry after the idle timeout, while an active session stays.
  // The idle timeout is measured from the session's last-seen time, which the server
  // records at most once a minute (TOUCH_GRANULARITY_MS): it is never later than the last
  // request, so a session ends at most idle_timeout_minutes after its last request (maybe
  // up to a minute earlier) and 65 s without a request are enough. (Were the server to
  // allow the granularity on top of the timeout instead, 125 s would be needed.)
  const IDLE_WAIT_MS = 65_000;
  await check("5", `idle timeout: after ${IDLE_WAIT_MS / 1000} s without a request, /admin redirects to /admin/login`, async () => {
    expect(idleSince, "the idle viewer signed in at the start", idleProblem);
    const due = idleSince + IDLE_WAIT_MS;
    // The admin keeps working meanwhile (a request at least every 30 s), for 5b.
    for (const at of [due - 40_000, due - 15_000]) {
      if (at > Date.now()) await sleep(at - Date.now());
      if (adminSince) await admin.goto(`${consoleUrl}/admin`);
    }
    if (due > Date.now()) await sleep(due - Date.now());
    const page = await idle.goto(`${consoleUrl}/admin`);
    expect(new URL(page.url).pathname === "/admin/login" && page.status === 200, "ends on the sign-in page", page);
    expect(page.redirects.some((r) => new URL(r.url).pathname === "/admin" && r.status === 303), "by a redirect from /admin", page.redirects);
    const flash = await idle.text(".flash");
    return `idle ${((Date.now() - idleSince) / 1000).toFixed(0)} s; ${page.redirects.map((r) => `${new URL(r.url).pathname} ${r.status}`).join(" → ")} → /admin/login${flash ? `, "${flash}"` : ", no notice that the session ended"}`;
  });
  await check("5b", "an active session outlives the idle timeout (requests every < 30 s, signed in > 60 s ago)", async () => {
    expect(adminSince, "check 2 signed the admin in");
    const at = adminSince + 65_000;
    if (at > Date.now()) {
      await sleep(Math.min(25_000, at - Date.now() - 1_000));
      await admin.goto(`${consoleUrl}/admin`);
      if (at > Date.now()) await sleep(at - Date.now());
    }
    const page = await admin.goto(`${consoleUrl}/admin`);
    expect(page.status === 200 && new URL(page.url).pathname === "/admin", `still signed in ${((Date.now() - adminSince) / 1000).toFixed(0)} s after sign-in`, { status: page.status, url: page.url, redirects: page.redirects });
    return `${((Date.now() - adminSince) / 1000).toFixed(0)} s after sign-in`;
  });
} catch (e) {
  failedSetup = e;
  console.log(`FAIL setup: ${e.stack}`);
} finally {
  await cleanup();
}
const failed = results.filter((r) => !r.ok);
if (failed.length || failedSetup) {
  const log = server.logText();
  if (log) console.log(`== the server's log:\n${log.slice(-4000)}`);
}
console.log(
  `== ${results.length - failed.length} of ${results.length} checks passed${failed.length ? `; failed: ${failed.map((r) => r.id).join(", ")}` : ""}, in ${elapsed()}` +
    (shots ? `; screenshots in ${shots}` : ""),
);
process.exit(failed.length || failedSetup ? 1 : 0);
