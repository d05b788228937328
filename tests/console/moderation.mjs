// Moderation end to end in Debian's Chromium (headless): a report sent through the API
// becomes a served rule. A Reviewer verifies it in the console, reproduces the page in the
// server's sandboxed browser and proposes "block this URL"; the server stages and tests the
// pack; two Publishers sign the request offline with `ferretwatch pack sign-request` (the
// development keys) and paste the answers; the second signature deploys, and `ferretwatch
// scan --pack` against the origin then finds the page red. The wrong roles are refused on
// the way (403 pages, forms absent), as are a Publisher signing twice and a key of another
// Publisher's account. Every check prints one line (`ok` or `FAIL`); exits 1 when any failed.
//
//   node --experimental-websocket tests/console/moderation.mjs FERRETWATCH_BIN WORK_DIR [SCREENSHOT_DIR]
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "../../extension/test/cdp.mjs";
import { Checks, CheckFailed, Tab, enrol, expect, invited, signIn, startServer } from "./lib.mjs";

const [binArg, workArg, shotsArg] = process.argv.slice(2);
if (!binArg || !workArg) {
  console.error("usage: moderation.mjs FERRETWATCH_BIN WORK_DIR [SCREENSHOT_DIR]");
  process.exit(2);
}
const bin = resolve(binArg);
const work = resolve(workArg);
const shots = shotsArg ? resolve(shotsArg) : null;
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
if (shots) mkdirSync(shots, { recursive: true });
const corpus = fileURLToPath(new URL("../corpus", import.meta.url));
const checks = new Checks();
const check = checks.check.bind(checks);

// --- the server, and the reported site on another loopback port -----------------------------
const server = await startServer(bin, join(work, "server"), [
  `test_corpus = ${JSON.stringify(corpus)}`,
  "reproduce_allow_loopback = true",
]);
const consoleUrl = server.url;
const keys = join(server.dataDir, "dev-keys");
const ROOT = join(keys, "root.json");

const LOGIN = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to Example Bank</title></head>
<body style="font-family: sans-serif; background: #eef3f8"><h1>Example Bank</h1>
<p>Your account has been limited. Verify your identity within 24 hours.</p>
<form action="https://collect.example/p.php" method="post">
<label>Email <input type="email" name="email"></label>
<label>Password <input type="password" name="password"></label>
<button>Sign in</button></form></body></html>`;
const site = createServer((req, res) => {
  if (new URL(req.url, "http://x").pathname === "/login") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(LOGIN);
  } else {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  }
});
await new Promise((done) => site.listen(0, "127.0.0.1", done));
const PHISH = `http://127.0.0.1:${site.address().port}/login`;
const REASON = "<script>alert(1)</script> kit";

let browser = null;
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  site.close();
  site.closeAllConnections?.();
  if (browser) await browser.close();
  await server.stop();
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => cleanup().finally(() => process.exit(130)));
}

// `ferretwatch scan` of the reported URL with the pack the origin serves: its exit status.
function scan() {
  const run = spawnSync(bin, ["scan", "--url", PHISH, "--pack", `${consoleUrl}/v1/`, "--root", ROOT], { encoding: "utf8", timeout: 60_000 });
  return { status: run.status, out: `${run.stdout}${run.stderr}`.trim() };
}

// Whether the origin serves metadata of two packs (snapshot.json pinning a targets.json
// version other than the one served): a description when it does, else null.
async function originMix() {
  try {
    const get = async (name) => (await (await fetch(`${consoleUrl}/v1/${name}`)).json()).signed;
    const [snapshot, targets] = await Promise.all([get("snapshot.json"), get("targets.json")]);
    const pinned = snapshot?.meta?.["targets.json"]?.version;
    return pinned === targets?.version ? null : `snapshot.json pinning targets.json version ${pinned} with targets.json version ${targets?.version} (pack ${targets?.custom?.pack_version})`;
  } catch (e) {
    return `unreadable metadata (${e.message})`;
  }
}

// `ferretwatch pack sign-request` of the proposal's signing request, as `tab`'s account
// downloads it, with development key `n`: the one-line answer.
async function answer(tab, id, n) {
  const href = await tab.evaluate(`document.getElementById("request-link")?.getAttribute("href") ?? null`);
  expect(href === `/admin/rules/${id}/request.json`, "#request-link offers the signing request", href);
  const response = await fetch(`${consoleUrl}${href}`, { headers: { cookie: await tab.cookieHeader(consoleUrl) }, redirect: "manual" });
  const body = await response.text();
  expect(response.status === 200, `the signing request downloads with the browser's cookies`, { status: response.status, body: body.slice(0, 300) });
  const disposition = response.headers.get("content-disposition") ?? "";
  expect(disposition.startsWith("attachment") && disposition.includes(`proposal-${id}.request.json`), "it is an attachment", disposition);
  const file = join(work, `proposal-${id}.request.${n}.json`);
  writeFileSync(file, body);
  const run = spawnSync(bin, ["pack", "sign-request", file, "--key", join(keys, `dev-publisher-${n}.key`), "--root", ROOT], { encoding: "utf8" });
  expect(run.status === 0, `pack sign-request with key ${n}`, { status: run.status, stderr: run.stderr });
  const line = run.stdout.trim();
  expect(line.length > 0 && !line.includes("\n"), "sign-request prints one line", run.stdout);
  return line;
}

// Pastes `line` into the signing form and submits it.
async function paste(tab, id, line) {
  await tab.fill("#response", line);
  const from = Date.now();
  const page = await tab.submit(`form[action="/admin/rules/${id}/sign"] button[type="submit"]`, 120_000);
  return { ...page, ms: Date.now() - from };
}

// The page's status and a short text, for messages.
const seen = async (tab, page) => ({ status: page.status, url: page.url, h1: await tab.text("h1"), error: await tab.text(".error") });

const PASSWORD = "plum tree harbour 42";
const people = {
  reviewer: { role: "reviewer", email: "reviewer@example.org" },
  alice: { role: "publisher", email: "alice@example.org" },
  bob: { role: "publisher", email: "bob@example.org" },
  viewer: { role: "viewer", email: "viewer@example.org" },
};

let failedSetup = null;
try {
  await server.ready();
  browser = await launch({ extension: null });
  Tab.browser = browser;
  Tab.shots = shots;
  const version = (await browser.send("Browser.getVersion")).product;
  console.log(`== console at ${consoleUrl}, reported site ${PHISH}, ${version}, ready after ${checks.elapsed()}`);

  // 1. The report, through the API as the extension sends it.
  let reporterPack = null;
  await check("1", "a report arrives through the API (install token, then POST /v1/report → 201)", async () => {
    const targets = await (await fetch(`${consoleUrl}/v1/targets.json`)).json();
    reporterPack = targets?.signed?.custom?.pack_version;
    expect(reporterPack, "targets.json names the served pack version", targets?.signed?.custom);
    const install = await fetch(`${consoleUrl}/v1/install`, { method: "POST" });
    expect(install.status === 201, "POST /v1/install → 201", install.status);
    const { install_token: token } = await install.json();
    const body = {
      url: PHISH,
      reason: "other",
      reason_text: REASON,
      timestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      extension_version: "1.4.2",
      pack_version: reporterPack,
      score: 87,
      findings: [{ key: "password_form_offsite", evidence: '<form action="https://collect.example/p.php">' }],
    };
    const sent = await fetch(`${consoleUrl}/v1/report`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-install-token": token },
      body: JSON.stringify(body),
    });
    expect(sent.status === 201, "POST /v1/report → 201", { status: sent.status, body: await sent.text() });
    return `pack ${reporterPack}`;
  });

  // 2. The accounts: invited on the command line, each enrolled in a browser context of its own.
  const tabs = {};
  const auth = {};
  await check("2", "a Reviewer, two Publishers and a Viewer invited with `admin invite` and enrolled in their own contexts", async () => {
    for (const [name, p] of Object.entries(people)) {
      const link = invited(server.fw("admin", "invite", "--role", p.role, "--email", p.email), consoleUrl);
      tabs[name] = await Tab.context();
      const { authenticator, codes, error } = await enrol(tabs[name], link, p.email, PASSWORD, false);
      expect(codes.length === 10, `${name} enrols`, error);
      auth[name] = authenticator;
    }
    const roles = server.sql("SELECT email || ':' || role FROM admin_accounts ORDER BY email").split("\n");
    return roles.join(", ");
  });

  // 3. Everyone signs in at once (each waits for the next TOTP step, so this takes ≤ 30 s).
  await check("3", "all four sign in with password and their next TOTP code", async () => {
    expect(Object.keys(auth).length === 4, "check 2 enrolled everyone");
    const landed = await Promise.all(
      Object.entries(people).map(async ([name, p]) => {
        const { landed } = await signIn(tabs[name], consoleUrl, p.email, PASSWORD, auth[name], false);
        return [name, landed];
      }),
    );
    for (const [name, page] of landed) expect(page.status === 200 && new URL(page.url).pathname === "/admin", `${name} lands on /admin`, page);
  });
  const { reviewer, alice, bob, viewer } = tabs;

  // 4. The Reviewer's inbox and the report page, where the reporter's text is only text.
  let hash = null;
  let reportUrl = null;
  await check("4", "Reviewer: the inbox lists the URL; its page shows the `<script>` reason as text, not run", async () => {
    const inbox = await reviewer.goto(`${consoleUrl}/admin/reports`);
    expect(inbox.status === 200, "the inbox opens", await seen(reviewer, inbox));
    const href = await reviewer.evaluate(
      `[...document.querySelectorAll('main a[href^="/admin/reports/"]')].find((a) => a.textContent.trim() === ${JSON.stringify(PHISH)})?.getAttribute("href") ?? null`,
    );
    expect(href, "a link named by the URL", await reviewer.text());
    hash = href.split("/").at(-1);
    expect(/^[0-9a-f]{64}$/.test(hash), "the link ends in the URL hash", href);
    reportUrl = `${consoleUrl}${href}`;
    const from = reviewer.events.length;
    const page = await reviewer.navigation(() => reviewer.click(`main a[href="${href}"]`), "the report page");
    expect(page.status === 200 && page.url === reportUrl, "the report page opens by its link", await seen(reviewer, page));
    const main = await reviewer.text();
    expect(main.includes(`other: ${REASON}`), "the reason is shown as typed", main);
    expect(await reviewer.evaluate(`document.querySelectorAll("script").length === 0`), "no <script> element on the page");
    const dialogs = reviewer.events.slice(from).filter((m) => m.method === "Page.javascriptDialogOpening");
    expect(dialogs.length === 0, "no alert opened", dialogs);
    expect(main.includes(`pack ${reporterPack}`), "the reporter's pack version is listed", main);
    for (const form of ["decide", "reproduce"]) expect(await reviewer.has(`form[action="/admin/reports/${hash}/${form}"]`), `the ${form} form is offered`);
    expect(!(await reviewer.has('form[action="/admin/rules"]')), "no proposal form before a decision");
    return hash.slice(0, 12) + "…";
  });

  // 5. The decision.
  await check("5", "Reviewer: Decision \"verified\" → the report page shows state verified and offers a rule proposal", async () => {
    expect(hash, "check 4 found the report");
    await reviewer.choose("#state", "verified");
    await reviewer.fill("#note", "credential phishing kit");
    const page = await reviewer.submit(`form[action="/admin/reports/${hash}/decide"] button[type="submit"]`);
    expect(page.status === 200 && page.url === reportUrl, "back on the report page", await seen(reviewer, page));
    const state = await reviewer.evaluate(`[...document.querySelectorAll("main th")].find((th) => th.textContent === "State")?.nextElementSibling.textContent ?? null`);
    expect(state?.startsWith("verified (by reviewer@example.org"), "State: verified, by the Reviewer", state);
    expect(await reviewer.has('form[action="/admin/rules"]'), "the \"Turn into a rule proposal\" form is offered", await reviewer.text());
    return state;
  });

  // 6. The reproduction in the server's sandboxed browser.
  let reproduction = null;
  await check("6", "Reviewer: Reproduce → chain, final URL, a screenshot that loads, the DOM hash, the reporter's pack version", async () => {
    expect(hash, "check 4 found the report");
    const page = await reviewer.submit(`form[action="/admin/reports/${hash}/reproduce"] button[type="submit"]`, 120_000);
    expect(page.status === 200 && new URL(page.url).pathname.startsWith("/admin/reproductions/"), "the reproduction page", await seen(reviewer, page));
    reproduction = page.url;
    expect(page.redirects.some((r) => r.status === 303), "reached by a 303 after the POST", page.redirects);
    const shown = await reviewer.evaluate(`(() => {
      const row = (name) => [...document.querySelectorAll("main th")].find((th) => th.textContent === name)?.nextElementSibling.textContent.trim() ?? null;
      const img = document.querySelector('main img[src$="/screenshot.png"]');
      return {
        chain: [...document.querySelectorAll("tr.hop")].map((tr) => [...tr.cells].map((c) => c.textContent.trim())),
        final: row("Final URL"),
        error: row("Error"),
        timedOut: row("Timed out"),
        dom: document.getElementById("dom-sha256")?.textContent.trim() ?? null,
        img: img && { complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, src: img.getAttribute("src") },
        versions: [...document.querySelectorAll(".pack-version")].map((s) => s.textContent),
        reason: document.getElementById("reporter-reason")?.textContent ?? null,
        scripts: document.querySelectorAll("script").length,
        refused: [...new Set([...document.querySelectorAll('section[aria-labelledby="refused-heading"] tbody tr')].map((tr) => tr.cells[0].textContent.trim()))],
      };
    })()`);
    expect(shown.chain.some(([status, url]) => status === "200" && url === PHISH), "the chain ends 200 at the URL", shown);
    expect(shown.final === PHISH, "the final URL", shown);
    expect(/^[0-9a-f]{64}$/.test(shown.dom ?? ""), "#dom-sha256 holds a SHA-256", shown);
    expect(shown.img && shown.img.complete && shown.img.naturalWidth > 0, "the screenshot <img> loaded", shown.img);
    expect(shown.versions.includes(reporterPack), "the reporter's pack version is named", shown.versions);
    expect(shown.reason?.endsWith(REASON) && shown.scripts === 0, "the reporter's reason is shown as text", shown);
    await reviewer.screenshot("reproduction");
    return `${shown.chain.map((h) => h.join(" ")).join(" → ")}; screenshot ${shown.img.naturalWidth}×${shown.img.naturalHeight}; dom ${shown.dom.slice(0, 12)}…; packs ${shown.versions.join(", ")}; refused: ${shown.refused.join(", ") || "none"}`;
  });

  // 7. The proposal, staged and tested by the server.
  let id = null;
  let proposalUrl = null;
  let reviewerNoSignForm = null;
  await check("7", "Reviewer: back on the report, \"block this URL\" → /admin/rules/N: pack validate: no problems, pack test: passed", async () => {
    expect(hash, "check 4 found the report");
    if (reproduction) {
      const back = await reviewer.navigation(() => reviewer.click(`main a[href="/admin/reports/${hash}"]`), "the report page");
      expect(back.status === 200 && back.url === reportUrl, "the reproduction links back to the report", await seen(reviewer, back));
    } else {
      await reviewer.goto(reportUrl);
    }
    await reviewer.choose("#propose-kind", "block_url");
    await reviewer.fill("#propose-note", "verified kit, reproduced");
    const page = await reviewer.submit('form[action="/admin/rules"] button[type="submit"]', 180_000);
    const path = new URL(page.url).pathname;
    expect(page.status === 200 && /^\/admin\/rules\/\d+$/.test(path), "lands on /admin/rules/N", await seen(reviewer, page));
    id = path.split("/").at(-1);
    proposalUrl = page.url;
    const main = await reviewer.text();
    expect(main.includes("pack validate: no problems"), "pack validate: no problems", main);
    expect(main.includes("pack test: passed"), "pack test: passed", main);
    expect((await reviewer.text("#proposal-state")) === "proposed", "state proposed", await reviewer.text("#proposal-state"));
    // The block list keeps a URL without its scheme.
    const subject = await reviewer.text("#proposal-subject");
    expect(subject === PHISH || subject === PHISH.replace(/^http:\/\//, ""), "the subject is the URL", subject);
    // While it is open, the Reviewer (no Publish permission) is offered neither form.
    reviewerNoSignForm = !(await reviewer.has(`form[action="/admin/rules/${id}/sign"]`)) && !(await reviewer.has(`form[action="/admin/rules/${id}/reject"]`));
    return `proposal ${id} of ${subject}, version ${await reviewer.text("#proposal-version")}`;
  });

  // 8. Before any signature, the served pack does not find the page red.
  await check("8", "`ferretwatch scan --pack <origin>/v1/` of the URL before the deploy: not red (exit ≠ 20)", async () => {
    const { status, out } = scan();
    expect(status !== null && status !== 20 && status < 40, "a verdict below red", { status, out });
    return `exit ${status}`;
  });

  // 9. Publisher alice approves with the first signature. A second tab of hers keeps the form
  // open, for check 10.
  let aliceLate = null;
  await check("9", "Publisher alice: downloads the signing request, signs it with dev key 1 offline, pastes it → approved", async () => {
    expect(id, "check 7 made a proposal");
    const page = await alice.goto(proposalUrl);
    expect(page.status === 200, "alice opens the proposal", await seen(alice, page));
    expect((await alice.text(`form[action="/admin/rules/${id}/sign"] button`)) === "Approve and sign", "the button says Approve and sign");
    aliceLate = await alice.sibling();
    await aliceLate.goto(proposalUrl);
    await alice.front();
    const line = await answer(alice, id, 1);
    const done = await paste(alice, id, line);
    expect(done.status === 200 && done.url === proposalUrl, "back on the proposal", await seen(alice, done));
    const state = await alice.text("#proposal-state");
    expect(state === "approved", "state approved", { state, main: await alice.text() });
    const signatures = await alice.evaluate(`[...document.querySelectorAll("main section tbody tr")].map((tr) => tr.cells[1]?.textContent)`);
    expect(signatures.includes("alice@example.org"), "the signature is alice's", signatures);
    expect(!(await alice.has(`form[action="/admin/rules/${id}/sign"]`)), "her page no longer offers the form");
    return `answer ${line.length} bytes; signed in ${done.ms} ms`;
  });

  // 10. alice again, from the tab she left open, with the second key.
  await check("10", "alice signs a second time (dev key 2, from a tab left open) → 400 \"already signed\", still approved", async () => {
    expect(aliceLate, "check 9 opened alice's second tab");
    await aliceLate.front();
    const line = await answer(aliceLate, id, 2);
    const refused = await paste(aliceLate, id, line);
    const main = await aliceLate.text();
    expect(refused.status === 400, "HTTP 400", await seen(aliceLate, refused));
    expect(/already signed/.test(main), "the page says she already signed", main);
    await aliceLate.session.close();
    await alice.front();
    await alice.goto(proposalUrl);
    expect((await alice.text("#proposal-state")) === "approved", "still approved");
    return main.split("\n").find((l) => /already signed/.test(l));
  });

  // 11. bob with alice's key.
  await check("11", "Publisher bob signs with dev key 1 (alice's) → 400 \"another publisher's account\"", async () => {
    expect(id, "check 7 made a proposal");
    const page = await bob.goto(proposalUrl);
    expect(page.status === 200 && (await bob.text("#proposal-state")) === "approved", "bob sees it approved", await seen(bob, page));
    expect((await bob.text(`form[action="/admin/rules/${id}/sign"] button`)) === "Sign and deploy", "the button says Sign and deploy");
    const refused = await paste(bob, id, await answer(bob, id, 1));
    const main = await bob.text();
    expect(refused.status === 400, "HTTP 400", await seen(bob, refused));
    expect(main.includes("another publisher's account"), "the page names the reason", main);
    return main.split("\n").find((l) => l.includes("another publisher"));
  });

  // 12. bob with his own key deploys.
  let deployed = null;
  let afterDeploy = null; // what this instance served right after the deploy
  await check("12", "bob signs with dev key 2 → deployed, the outcome names the new version", async () => {
    expect(id, "check 7 made a proposal");
    await bob.goto(proposalUrl);
    const done = await paste(bob, id, await answer(bob, id, 2));
    expect(done.status === 200 && done.url === proposalUrl, "back on the proposal", await seen(bob, done));
    const state = await bob.text("#proposal-state");
    let outcome = await bob.text("#proposal-outcome");
    const mixed = await originMix();
    deployed = await bob.text("#proposal-version");
    expect(state === "deployed", "state deployed", { state, outcome, main: await bob.text() });
    expect(deployed && deployed !== reporterPack, "a new version", { deployed, reporterPack });
    expect(outcome?.includes(deployed), "the outcome names it", { outcome, deployed });
    await bob.screenshot("proposal");
    outcome += `; signed and deployed in ${done.ms} ms`;
    const pack = await bob.evaluate(`[...document.querySelectorAll("main th")].find((th) => th.textContent === "Pack")?.nextElementSibling.textContent ?? null`);
    afterDeploy = { page: pack?.match(/the origin serves (\S+)/)?.[1] ?? pack, mixed };
    return outcome;
  });

  // 13. The deploying instance serves the new pack at once (it forgets its cached metadata):
  // no window in which its cache mixes the old targets.json with the new snapshot.json.
  await check("13", "at once after the deploy: the proposal page, /admin/rules (#served-version) and /ready name the new version; the origin's metadata is one pack", async () => {
    expect(deployed && afterDeploy, "check 12 deployed");
    expect(afterDeploy.page === deployed, "the deployed proposal's page says the origin serves it", { ...afterDeploy, deployed });
    expect(afterDeploy.mixed === null, "snapshot.json and targets.json of one pack", afterDeploy.mixed);
    const page = await bob.goto(`${consoleUrl}/admin/rules`);
    const served = await bob.text("#served-version");
    expect(page.status === 200 && served === deployed, "#served-version", { status: page.status, served, deployed });
    const ready = await (await fetch(`${consoleUrl}/ready`)).json();
    expect(ready.pack_version === deployed, "/ready's pack_version", ready);
    return `served ${served}`;
  });

  // 14. The served pack now finds the page red.
  await check("14", "`ferretwatch scan --pack <origin>/v1/` of the URL after the deploy: red (exit 20)", async () => {
    expect(deployed, "check 12 deployed");
    const { status, out } = scan();
    expect(status === 20, "exit 20", { status, out });
    return `exit ${status}`;
  });

  // 15–17. The wrong roles.
  await check("15", "Viewer: 403 on the inbox, the report, the reproduction, /admin/rules and the proposal", async () => {
    const paths = ["/admin/reports", hash && `/admin/reports/${hash}`, reproduction && new URL(reproduction).pathname, "/admin/rules", id && `/admin/rules/${id}`];
    expect(paths.every(Boolean), "the earlier checks made a report, a reproduction and a proposal", paths);
    const got = [];
    for (const path of paths) {
      const page = await viewer.goto(`${consoleUrl}${path}`);
      got.push(`${path.replace(/[0-9a-f]{64}/, "HASH")} ${page.status}`);
      expect(page.status === 403, `${path}: 403`, await seen(viewer, page));
      expect(!(await viewer.has("main form[method=post]")), `${path}: no form on the refusal`);
    }
    const nav = await viewer.text("nav");
    return `${got.join(", ")}; "${(await viewer.text()).split("\n").find((l) => l.includes("Your role")) ?? ""}"; nav: ${nav.replace(/\s+/g, " ")}`;
  });
  await check("16", "Publisher: 403 on the report and the reproduction (no triage); no proposal form on /admin/rules", async () => {
    expect(hash && reproduction, "checks 4 and 6 made a report and a reproduction");
    const got = [];
    for (const path of [`/admin/reports/${hash}`, new URL(reproduction).pathname, "/admin/reports"]) {
      const page = await alice.goto(`${consoleUrl}${path}`);
      got.push(`${path.replace(/[0-9a-f]{64}/, "HASH")} ${page.status}`);
      expect(page.status === 403, `${path}: 403`, await seen(alice, page));
      expect(!(await alice.has(`form[action^="/admin/reports/"]`)), `${path}: no decide/reproduce form`);
    }
    const rules = await alice.goto(`${consoleUrl}/admin/rules`);
    expect(rules.status === 200, "alice opens /admin/rules", await seen(alice, rules));
    expect(!(await alice.has('form[action="/admin/rules"]')), "no proposal form for a Publisher", await alice.text());
    expect(await alice.has('form[action="/admin/rules/rollback"]'), "the rollback form is hers");
    return got.join(", ");
  });
  await check("17", "Reviewer: no signing or reject form on the open proposal; no rollback form on /admin/rules", async () => {
    // Seen in check 7, while the proposal was open (so absent for the role, not the state).
    expect(reviewerNoSignForm === true, "no sign or reject form on the proposed proposal", reviewerNoSignForm);
    const rules = await reviewer.goto(`${consoleUrl}/admin/rules`);
    expect(rules.status === 200, "the Reviewer opens /admin/rules", await seen(reviewer, rules));
    expect(await reviewer.has('form[action="/admin/rules"]'), "the proposal form is the Reviewer's");
    expect(!(await reviewer.has('form[action="/admin/rules/rollback"]')), "no rollback form for a Reviewer");
  });
} catch (e) {
  failedSetup = e;
  console.log(`FAIL setup: ${e instanceof CheckFailed ? e.message : e.stack}`);
} finally {
  await cleanup();
}
const failed = checks.failed;
if (failed.length || failedSetup) {
  const log = server.logText();
  if (log) console.log(`== the server's log:\n${log.slice(-4000)}`);
}
const total = checks.results.length;
console.log(
  `== ${total - failed.length} of ${total} checks passed${failed.length ? `; failed: ${failed.map((r) => r.id).join(", ")}` : ""}, in ${checks.elapsed()}` +
    (shots ? `; screenshots in ${shots}` : ""),
);
process.exit(failed.length || failedSetup ? 1 : 0);
