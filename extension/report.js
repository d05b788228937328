// The report and false-positive flows: the page shows the exact request body that will be
// sent (rebuilt whenever the reason changes), and sends that body unchanged.
import { ask, localise, t } from "./ui.js";

localise();
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const tabId = Number(params.get("tab"));
const kind = params.get("kind") === "false-positive" ? "false-positive" : "report";
const mistake = kind === "false-positive";
$("title").textContent = t(mistake ? "reportTitleMistake" : "reportTitle");
$("preview-label").textContent = `POST /v1/${mistake ? "false-positive" : "report"}`;
if (mistake) {
  // A mistake is reported as "other", with the user's words.
  $("reason").value = "other";
  $("reason").disabled = true;
  $("reason-text-label").textContent = t("reportMistakeText");
}
let draft = null;

async function refresh() {
  try {
    draft = await ask({ type: "report-draft", tabId, kind, reason: $("reason").value, reasonText: $("reason-text").value });
    $("preview").textContent = JSON.stringify(draft.body, null, 2);
    $("send").disabled = false;
  } catch (e) {
    draft = null;
    $("preview").textContent = "";
    $("send").disabled = true;
    $("result").className = "error";
    $("result").textContent = e.message;
  }
}

$("reason").addEventListener("change", refresh);
$("reason-text").addEventListener("input", refresh);
$("cancel").addEventListener("click", () => window.close());
$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!draft) return;
  $("send").disabled = true;
  try {
    const sent = await ask({ type: "report-send", kind: draft.kind, body: draft.body });
    if (sent.ok) {
      $("result").className = "ok";
      $("result").textContent =
        sent.accepted.status === "queued" ? t("reportQueued") : t("reportSent", [String(sent.accepted.report_count)]);
      $("form").hidden = true;
    } else {
      $("result").className = "error";
      $("result").textContent = t("reportFailed", [sent.reason]);
      $("send").disabled = false;
    }
  } catch (e) {
    $("result").className = "error";
    $("result").textContent = t("reportFailed", [e.message]);
    $("send").disabled = false;
  }
});

await refresh();
