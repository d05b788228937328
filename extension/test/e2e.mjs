// The extension end to end in Debian's Chromium (headless, the unpacked extension loaded),
// with the corpus pages served at their own URLs and a real `ferretwatch serve` on
// loopback as the pack origin and the report service. Each check throws on failure.
//
//   node --experimental-websocket extension/test/e2e.mjs FERRETWATCH_BIN WORK_DIR [SCREENSHOT_DIR]
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { startCorpusServer } from "./corpus-server.mjs";
import { launch, sleep, until } from "./cdp.mjs";

const [bin, workArg, shotsArg] = process.argv.slice(2);
const repo = resolve(new URL("../..", import.meta.url).pathname);
const work = resolve(workArg);
const shots = shotsArg ? resolve(shotsArg) : null;
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const fw = (...args) => execFileSync(bin, args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] }).toString();
let passed = 0;
const ok = (what) => {
  passed++;
  console.log(`   ok: ${what}`);
};
function check(condition, what, detail) {
  if (!condition) throw new Error(`FAILED: ${what}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
  ok(what);
}

// --- the publisher side: two publishers, a root, feeds, packs at an origin ----------------
for (const who of ["alice", "bob"]) fw("keys", "generate", "--out", join(work, who));
const year = new Date(Date.now() + 365 * 86400e3).toISOString().replace(/\.\d{3}Z$/, "Z");
const root = join(work, "root.json");
fw("root", "create", "--key", join(work, "alice.pub"), "--key", join(work, "bob.pub"), "--threshold", "2", "--expires", year, "--out", root);
for (const who of ["alice", "bob"]) fw("root", "sign", root, "--key", join(work, `${who}.key`));
// A URLhaus dump (the real CSV format) of 5,000 listed URLs, and the next day's: ten gone,
// ten new. Large enough that a delta is smaller than the filters it replaces.
const fixture = readFileSync(join(repo, "tests/fixtures/feeds/urlhaus.csv"), "utf8").split("\n");
const header = fixture.filter((line) => line.startsWith("#")).join("\n");
const listed = (n) => `http://bad-host-${n}.example/payload.exe`;
function urlhaus(name, from, to) {
  const rows = [];
  for (let n = from; n < to; n++) {
    rows.push(`"${3600000 + n}","2026-12-01 10:00:00","${listed(n)}","online","2026-12-01 10:00:00","malware_download","exe","https://urlhaus.abuse.ch/url/${3600000 + n}/","e2e"`);
  }
  writeFileSync(join(work, `${name}.csv`), `${header}\n${rows.join("\n")}\n`);
  fw("intel", "fetch", "--source", "urlhaus", "--from", join(work, `${name}.csv`), "--out", join(work, name));
}
urlhaus("intel", 0, 5000);
urlhaus("intel-next", 10, 5010);
const origin = join(work, "origin");
function deploy(version, feeds = "intel", deltaFrom = null) {
  const dist = join(work, `dist-${version}`);
  fw("pack", "build", "--version", version, "--feeds", join(work, feeds), "--out", dist);
  if (deltaFrom) {
    fw("pack", "delta", "--from", join(work, `dist-${deltaFrom}`), "--base-feeds", join(work, "intel"), "--to", dist, "--feeds", join(work, feeds));
  }
  for (const who of ["alice", "bob"]) fw("pack", "sign", dist, "--key", join(work, `${who}.key`), "--root", root);
  fw("pack", "deploy", dist, "--to", `file://${origin}`, "--root", root);
}
const d = new Date();
const hour = `${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, "0")}.${String(d.getUTCDate()).padStart(2, "0")}.${String(d.getUTCHours()).padStart(2, "0")}`;
deploy(hour);
cpSync(origin, join(work, "origin-first"), { recursive: true });

// --- the server ---------------------------------------------------------------------------
const port = await new Promise((done) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => done(port));
  });
});
const serverUrl = `http://127.0.0.1:${port}`;
let server = null;
async function startServer() {
  server = spawn(bin, ["serve", "--db", `sqlite://${join(work, "fw.db")}`], {
    env: {
      ...process.env,
      FERRETWATCH_LISTEN: `127.0.0.1:${port}`,
      FERRETWATCH_METRICS_LISTEN: "127.0.0.1:0",
      FERRETWATCH_ORIGIN: `file://${origin}`,
      FERRETWATCH_DATA_DIR: join(work, "data"),
      FERRETWATCH_SERVER_REVALIDATE_MS: "0",
      FERRETWATCH_LOG: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await until("the server answers", async () => {
    try {
      return (await fetch(`${serverUrl}/v1/timestamp.json`)).status === 200;
    } catch {
      return false;
    }
  });
}
// However this test ends, its server ends with it.
process.once("exit", () => server?.kill("SIGKILL"));
async function stopServer() {
  if (!server) return;
  const exited = new Promise((done) => server.once("exit", done));
  server.kill("SIGTERM");
  await exited;
  server = null;
}
await startServer();

// --- the extension, built by the one command ----------------------------------------------
execFileSync("bash", ["scripts/build-extension.sh", "--root", root, "--mirror", `${serverUrl}/v1`, "--report-url", serverUrl,
  "--out", join(work, "package")], { cwd: repo, stdio: "inherit" });
const extension = join(work, "package", "extension");

const corpus = await startCorpusServer(join(repo, "tests/corpus"));
const browser = await launch({ extension, resolveTo: `127.0.0.1:${corpus.port}` });
const cleanup = async () => {
  await browser.close();
  corpus.close();
  await stopServer();
};
try {
  const sw = await browser.extensionWorker();
  const call = (expression) => sw.evaluate(expression);
  const status = () => call("ferretwatch.status()");
  const update = () => call("ferretwatch.updateNow()");

  // The first cycle installs the pack the origin serves.
  await until("the first pack is installed", async () => {
    const outcome = await update();
    return outcome.result !== "failed" && (await status()).pack_version === hour;
  }, 60_000, 500);
  const first = await status();
  check(first.engine_pack === hour && !first.stale, "the first cycle installs the origin's pack and the engine loads it", first);

  // Pages: the verdict the content script got, found by the page's URL.
  const page = await browser.newPage();
  async function visit(url) {
    await page.navigate(url);
    const key = await until(`a verdict for ${url}`, () =>
      call(`chrome.storage.session.get(null).then((all) => Object.keys(all).find((k) => k.startsWith("tab:") && all[k].url === ${JSON.stringify(url)} && all[k].total_ms !== undefined) ?? null)`));
    const state = await call(`chrome.storage.session.get(${JSON.stringify(key)}).then((s) => s[${JSON.stringify(key)}])`);
    const tabId = Number(key.slice(4));
    const badge = await call(`chrome.action.getBadgeText({ tabId: ${tabId} })`);
    return { state, tabId, badge };
  }
  // The text the extension shows in the page (in its closed shadow roots, which the
  // protocol pierces): the warning, or with `id` the bulletin banner.
  async function overlayText(id = "ferretwatch-warning") {
    const { root } = await page.send("DOM.getDocument", { depth: -1, pierce: true });
    const texts = [];
    const walk = (node, inside) => {
      const here = inside || (node.nodeName === "FERRETWATCH-UI" && node.attributes?.includes(id));
      if (here && node.nodeType === 3) texts.push(node.nodeValue);
      for (const child of [...(node.children ?? []), ...(node.shadowRoots ?? [])]) walk(child, here);
    };
    walk(root, false);
    return texts.join(" ");
  }
  const messages = JSON.parse(readFileSync(join(extension, "_locales/en/messages.json"), "utf8"));
  const phishing = corpus.pages.find((p) => p.file === "phishing/001-paypal-signin-php-gate.html");
  const benign = corpus.pages.find((p) => p.file === "benign/001-paypal-own-signin.html");

  const red = await visit(phishing.url);
  check(red.state.verdict.level === "red" && red.badge === "!!", "a phishing page from the corpus turns the badge red", { level: red.state.verdict.level, badge: red.badge });
  check(red.state.verdict.pack_version === hour, "it was scanned with the installed pack", red.state.verdict.pack_version);
  const warning = await overlayText();
  const firstFinding = messages[`finding_${[...red.state.verdict.findings].sort((a, b) => b.contribution - a.contribution)[0].key}`].message;
  check(warning.includes(messages.warnHeading.message) && warning.includes(firstFinding) && warning.includes(messages.warnContinue.message),
    "the warning shows over the page, says why, and offers to continue", warning.slice(0, 300));
  check(await page.evaluate("document.body.inert === true && document.querySelector('form') !== null"), "the page behind stays loaded (inert while the warning shows)");
  // What a screen reader and the keyboard get: an alert dialog named by its heading, the
  // safe choice focused, Tab moving to the next button.
  const axNodes = async () => (await page.send("Accessibility.getFullAXTree")).nodes;
  const named = (nodes, role) => nodes.filter((n) => n.role?.value === role).map((n) => ({ name: n.name?.value, focused: n.properties?.some((p) => p.name === "focused" && p.value.value) }));
  const ax = await axNodes();
  const dialogs = named(ax, "alertdialog");
  const buttons = named(ax, "button");
  check(dialogs.length === 1 && dialogs[0].name === messages.warnHeading.message &&
    buttons.find((b) => b.name === messages.warnBack.message)?.focused && buttons.some((b) => b.name === messages.warnContinue.message),
    "the warning is an alert dialog named by its heading, with the safe choice focused", { dialogs, buttons });
  await page.send("Input.dispatchKeyEvent", { type: "keyDown", key: "Tab", code: "Tab", windowsVirtualKeyCode: 9 });
  await page.send("Input.dispatchKeyEvent", { type: "keyUp", key: "Tab", code: "Tab", windowsVirtualKeyCode: 9 });
  const afterTab = named(await axNodes(), "button");
  check(afterTab.find((b) => b.name === messages.warnContinue.message)?.focused, "Tab moves the focus to the next choice", afterTab);
  if (shots) writeFileSync(join(shots, "extension-warning.png"), await page.screenshot());
  // The popup for the red tab (opened as a page, for the screenshot).
  const popup = await browser.newPage(`chrome-extension://${sw.extensionId}/popup.html?tab=${red.tabId}`);
  const popupText = await until("the popup renders", () => popup.evaluate(`document.getElementById("level").classList.contains("red") ? document.body.innerText : null`));
  check(popupText.includes(messages.levelRed.message) && popupText.includes(firstFinding), "the popup names the level and the findings in plain words", popupText.slice(0, 200));
  if (shots) {
    const height = await popup.evaluate("document.documentElement.scrollHeight");
    writeFileSync(join(shots, "extension-popup.png"), await popup.screenshot({ x: 0, y: 0, width: 400, height, scale: 1 }));
  }
  await popup.close();

  // A report: the page shows the exact body, and the server stores it.
  const count = (kind) => Number(execFileSync("sqlite3", [join(work, "fw.db"), `select count(*) from reports where kind = '${kind}'`]).toString().trim());
  const report = await browser.newPage(`chrome-extension://${sw.extensionId}/report.html?tab=${red.tabId}&kind=report`);
  const shown = JSON.parse(await until("the report preview", () => report.evaluate(`document.getElementById("preview").textContent || null`)));
  check(shown.url === phishing.url && shown.score === red.state.verdict.score && !("html" in shown) && shown.pack_version === hour,
    "the report page shows what will be sent: the URL, score, findings and pack, no page content", Object.keys(shown));
  if (shots) {
    const height = await report.evaluate("document.documentElement.scrollHeight");
    writeFileSync(join(shots, "extension-report.png"), await report.screenshot({ x: 0, y: 0, width: 800, height, scale: 1 }));
  }
  await report.evaluate(`document.getElementById("send").click()`);
  const sent = await until("the report is answered", () => report.evaluate(`document.getElementById("result").className ? document.getElementById("result").textContent : null`));
  check(sent.includes("1") && count("report") === 1, "the report reaches the server and is stored", sent);
  const stored = execFileSync("sqlite3", [join(work, "fw.db"), "select url, pack_version, score from reports where kind = 'report'"]).toString().trim();
  check(stored.endsWith(`|${hour}|${shown.score}`) && stored.includes("account-resolution-center.info"), "what was stored is what was shown", stored);
  await report.close();

  // Continue: the warning goes, the page is usable, and it does not come back on reload.
  // The focus is still on "Continue": Enter there lets the user through.
  for (const type of ["keyDown", "keyUp"]) {
    await page.send("Input.dispatchKeyEvent", { type, key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, ...(type === "keyDown" ? { text: "\r" } : {}) });
  }
  await until("the warning is gone", async () => (await overlayText()) === "" && (await page.evaluate("document.body.inert === false")));
  ok("Enter on \"Continue\" removes the warning and gives the page back");
  const phishingHost = new URL(phishing.url).hostname;
  await until("the choice is remembered", () => call(`chrome.storage.session.get("continued").then((c) => (c.continued ?? []).includes(${JSON.stringify(phishingHost)}))`));
  const again = await visit(phishing.url);
  check(again.state.verdict.level === "red" && again.state.warned === false && (await overlayText()) === "",
    "after the user continues, the page stays red but the warning does not return in this session");

  const green = await visit(benign.url);
  check(green.state.verdict.level === "green" && green.badge === "✓" && (await overlayText()) === "", "a benign login page stays green, without a warning", { level: green.state.verdict.level, badge: green.badge });

  // A false positive from the benign tab.
  const mistake = await browser.newPage(`chrome-extension://${sw.extensionId}/report.html?tab=${green.tabId}&kind=false-positive`);
  await until("the false-positive preview", () => mistake.evaluate(`document.getElementById("preview").textContent || null`));
  await mistake.evaluate(`(() => { const t = document.getElementById("reason-text"); t.value = "my bank's real login"; t.dispatchEvent(new Event("input")); })()`);
  await until("the preview carries the user's words", () => mistake.evaluate(`document.getElementById("preview").textContent.includes("my bank") || null`));
  await mistake.evaluate(`document.getElementById("send").click()`);
  await until("the false positive is answered", () => mistake.evaluate(`document.getElementById("result").className === "ok" || null`));
  check(count("false_positive") === 1, "a false-positive report reaches the server and is stored");
  await mistake.close();

  // The user's threshold and allowlist: a yellow page warns once the user asks to be
  // warned from its score, and not at all once the user trusts the site.
  const caution = corpus.pages.find((p) => p.file === "phishing/049-steam-gift-card-wheel.html");
  const yellow = await visit(caution.url);
  check(yellow.state.verdict.level === "yellow" && yellow.badge === "!" && yellow.state.warned === false && (await overlayText()) === "",
    "a yellow page gets a yellow badge and no full-page warning by default", { badge: yellow.badge, verdict: yellow.state.verdict });
  await call(`ferretwatch.saveSettings({ warnScore: ${yellow.state.verdict.score} })`);
  const lowered = await visit(caution.url);
  check(lowered.state.warned === true && (await overlayText()).includes(messages.warnHeading.message), "with the threshold lowered to its score, the yellow page warns");
  await call(`ferretwatch.saveSettings({ trust: "steam-summer-giveaway.xyz" })`);
  const trusted = await visit(caution.url);
  check(trusted.state.verdict.allowlisted === true && trusted.state.warned === false && trusted.badge === "✓" && (await overlayText()) === "",
    "a site the user trusts is not warned about", trusted.state.verdict);
  await call(`ferretwatch.saveSettings({ untrust: "steam-summer-giveaway.xyz", warnScore: null })`);

  // A new pack at the origin is picked up.
  deploy(`${hour}.1`);
  const next = await update();
  check(next.result === "updated" && (await status()).engine_pack === `${hour}.1`, "a new pack published at the origin is picked up", next);
  const afterUpdate = await visit(phishing.url);
  check(afterUpdate.state.verdict.pack_version === `${hour}.1`, "pages are scanned with the new pack");

  // A bulletin signed by both publishers is fetched, verified and shown where it applies.
  const advisory = "A PayPal account-verification campaign is active: PayPal never asks you to confirm your account through a link.";
  fw("bulletin", "create", "--severity", "high", "--message", advisory, "--etld1", "account-resolution-center.info", "--brands", "PayPal",
    "--safe-link", "https://www.paypal.com/", "--frequency-cap", "5", "--id", "paypal-verify-campaign",
    "--key", join(work, "alice.key"), "--key", join(work, "bob.key"), "--root", root, "--out", join(work, "bulletins"), "--to", `file://${origin}`);
  const withBulletin = await update();
  check(withBulletin.result !== "failed", "a cycle after a bulletin was published succeeds", withBulletin);
  const inScope = await visit(phishing.url);
  const banner = await overlayText("ferretwatch-bulletin");
  check(inScope.state.bulletins.length === 1 && banner.includes(advisory) && banner.includes("www.paypal.com"),
    "the bulletin shows as a banner on a page in its scope, with its safe link", { bulletins: inScope.state.bulletins.length, banner });
  const outOfScope = await visit(caution.url);
  check(outOfScope.state.bulletins.length === 0 && (await overlayText("ferretwatch-bulletin")) === "", "and not on a page outside its scope");

  // The next day's intel comes as a delta from the filters the client kept as its base
  // (those of the last pack it took without a delta):
  // the delta is applied, and a URL listed only since then is red.
  const fresh = listed(5005);
  const beforeDelta = await visit(fresh);
  check(!beforeDelta.state.verdict.findings.some((f) => f.key === "reputation_hit"), "a URL not yet listed is not a reputation hit", beforeDelta.state.verdict);
  deploy(`${hour}.2`, "intel-next", `${hour}.1`);
  const deltaUpdate = await update();
  const { pack: installedPack } = await call(`chrome.storage.local.get("pack")`);
  check(deltaUpdate.result === "updated" && Object.keys(installedPack.patched).length > 0 && (await status()).engine_pack === `${hour}.2`,
    "a new pack's filters are taken as a delta from the kept base, and the patched filters load", { deltaUpdate, patched: installedPack.patched });
  const afterDelta = await visit(fresh);
  check(afterDelta.state.verdict.level === "red" && afterDelta.state.verdict.findings.some((f) => f.key === "reputation_hit"),
    "a URL listed in the delta is red", afterDelta.state.verdict.findings.map((f) => f.key));

  // A tampered pack is refused, and the last good one keeps working.
  const good = join(work, "origin-good");
  cpSync(origin, good, { recursive: true });
  deploy(`${hour}.3`);
  for (const name of readdirSync(origin).filter((n) => /rules\..*\.json$/.test(n))) {
    const path = join(origin, name);
    const bytes = readFileSync(path);
    bytes[10] ^= 0x20;
    writeFileSync(path, bytes);
  }
  const tampered = await update();
  const afterTamper = await status();
  check(tampered.result === "failed" && tampered.code === "tampered" && afterTamper.pack_version === `${hour}.2` && afterTamper.engine_pack === `${hour}.2`,
    "a tampered pack is refused and the last good one stays installed", { tampered, afterTamper });
  const stillRed = await visit(phishing.url);
  check(stillRed.state.verdict.level === "red" && stillRed.state.verdict.pack_version === `${hour}.2`, "detection keeps working with the last good pack");

  // A rolled-back origin (older signed metadata) is refused.
  rmSync(origin, { recursive: true, force: true });
  cpSync(join(work, "origin-first"), origin, { recursive: true });
  const rolledBack = await update();
  const afterRollback = await status();
  check(rolledBack.result === "failed" && afterRollback.pack_version === `${hour}.2`, "a rolled-back origin is refused", rolledBack);
  rmSync(origin, { recursive: true, force: true });
  cpSync(good, origin, { recursive: true });

  // The server down for a while costs nothing but staleness.
  await stopServer();
  const down = await update();
  const whileDown = await status();
  const downRed = await visit(phishing.url);
  check(down.result === "failed" && whileDown.engine_pack === `${hour}.2` && downRed.state.verdict.level === "red",
    "with the server down an update fails, and detection goes on with the installed pack", { down, whileDown });
  await startServer();
  const back = await update();
  check(back.result !== "failed" && (await status()).last_error === null, "once the server is back, the next cycle succeeds", back);

  // Another language: Chromium in German shows the warning in German.
  const german = JSON.parse(readFileSync(join(extension, "_locales/de/messages.json"), "utf8"));
  const de = await launch({ extension, resolveTo: `127.0.0.1:${corpus.port}`, args: ["--lang=de"], env: { LANGUAGE: "de", LANG: "de_DE.UTF-8" } });
  try {
    await de.extensionWorker();
    const dePage = await de.newPage();
    await dePage.navigate(phishing.url);
    const { root: deRoot } = await until("the German warning", async () => {
      const doc = await dePage.send("DOM.getDocument", { depth: -1, pierce: true });
      return JSON.stringify(doc).includes(german.warnHeading.message) ? doc : null;
    });
    check(JSON.stringify(deRoot).includes(german.warnBack.message), "with the browser in German, the warning is in German");
  } finally {
    await de.close();
  }

  console.log(`ok: ${passed} checks of the extension in Chromium`);
} finally {
  await cleanup();
}
