// The popup: this tab's verdict with its findings in plain words, the report and
// false-positive flows, trusting a site, and how fresh the rules are.
import { ask, el, findingText, localise, t } from "./ui.js";

localise();
const $ = (id) => document.getElementById(id);
// The active tab's verdict (`?tab=ID` names another: screenshots and tests open the popup as a page).
const named = Number(new URLSearchParams(location.search).get("tab"));
const [tab] = named ? [{ id: named }] : await chrome.tabs.query({ active: true, currentWindow: true });
const tabId = tab?.id;

async function render() {
  const { state, settings, status } = await ask({ type: "tab-state", tabId });
  const verdict = state?.verdict;
  const level = verdict?.level ?? "none";
  $("level").className = `level ${level}`;
  $("level").textContent = verdict
    ? `${t({ green: "levelGreen", yellow: "levelYellow", red: "levelRed" }[level])} (${verdict.score}/100)`
    : t("levelNone");
  $("partial").hidden = !verdict?.partial;
  $("allowlisted").hidden = !verdict?.allowlisted;
  const list = $("findings");
  list.replaceChildren();
  const findings = [...(verdict?.findings ?? [])].sort((a, b) => b.contribution - a.contribution);
  for (const finding of findings) {
    const item = el("li", {}, findingText(finding.key));
    item.append(el("span", { class: "evidence" }, finding.evidence));
    list.append(item);
  }
  $("findings-section").hidden = !verdict;
  if (verdict && !verdict.findings.length) list.append(el("li", {}, t("popupNoFindings")));
  const bulletins = $("bulletins");
  bulletins.replaceChildren();
  for (const b of state?.bulletins ?? []) {
    bulletins.append(el("h2", {}, t("bulletinHeading")), el("p", {}, b.advisory_text));
  }
  bulletins.hidden = !state?.bulletins?.length;

  $("report").disabled = !verdict;
  $("mistake").disabled = !verdict;
  let host = "";
  try {
    host = new URL(state?.url ?? "").hostname;
  } catch {}
  const trusted = settings.allow.find((d) => host === d || host.endsWith(`.${d}`));
  $("trust").textContent = t(trusted ? "popupUntrust" : "popupTrust");
  $("trust").disabled = !host;
  $("trust").onclick = async () => {
    await ask({ type: "settings-set", change: trusted ? { untrust: trusted } : { trust: host } });
    await chrome.tabs.reload(tabId);
    window.close();
  };

  $("pack").textContent = status.pack_version ? t("popupPack", [status.pack_version]) : t("popupNoPack");
  $("stale").hidden = !status.stale;
  const when = status.since_success_secs == null ? t("popupNever") : new Date(Date.now() - status.since_success_secs * 1000).toLocaleString();
  $("stale").textContent = t("popupStale", [when]);
}

$("report").onclick = () => ask({ type: "open-report", tabId, kind: "report" }).then(() => window.close());
$("mistake").onclick = () => ask({ type: "open-report", tabId, kind: "false-positive" }).then(() => window.close());
$("settings").onclick = () => chrome.runtime.openOptionsPage();
$("check").onclick = async () => {
  $("check-result").textContent = t("popupChecking");
  try {
    const outcome = await ask({ type: "update-now" });
    $("check-result").textContent =
      outcome.result === "updated" ? t("popupUpdated", [outcome.pack_version]) :
      outcome.result === "failed" ? t("popupUpdateFailed", [outcome.reason ?? outcome.code]) : t("popupUnchanged");
  } catch (e) {
    $("check-result").textContent = t("popupUpdateFailed", [e.message]);
  }
  await render();
};

await render();
