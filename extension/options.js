// Settings: the sites the user trusts, the score from which the full-page warning shows,
// and the (off by default) aggregate statistics.
import { ask, el, localise, t } from "./ui.js";

localise();
const $ = (id) => document.getElementById(id);

function render(settings) {
  const list = $("allow");
  list.replaceChildren();
  if (!settings.allow.length) list.append(el("li", {}, t("optionsAllowlistEmpty")));
  for (const domain of settings.allow) {
    const item = el("li", {}, `${domain} `);
    const remove = el("button", { type: "button", "aria-label": t("optionsAllowlistRemove", [domain]) }, "×");
    remove.addEventListener("click", async () => render(await ask({ type: "settings-set", change: { untrust: domain } })));
    item.append(remove);
    list.append(item);
  }
  $("warn-score").value = settings.warnScore ?? "";
  $("telemetry").checked = settings.telemetry;
}

$("allow-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    render(await ask({ type: "settings-set", change: { trust: $("domain").value } }));
    $("domain").value = "";
    $("allow-result").textContent = t("optionsSaved");
    $("allow-result").className = "ok";
  } catch {
    $("allow-result").textContent = t("optionsBadDomain");
    $("allow-result").className = "error";
  }
});

$("settings-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("warn-score").value.trim();
  const warnScore = text === "" ? null : Number(text);
  if (warnScore !== null && !(Number.isInteger(warnScore) && warnScore >= 1 && warnScore <= 100)) {
    $("settings-result").textContent = t("optionsInvalid");
    $("settings-result").className = "error";
    $("warn-score").setAttribute("aria-invalid", "true");
    return;
  }
  $("warn-score").removeAttribute("aria-invalid");
  render(await ask({ type: "settings-set", change: { warnScore, telemetry: $("telemetry").checked } }));
  $("settings-result").textContent = t("optionsSaved");
  $("settings-result").className = "ok";
});

render(await ask({ type: "settings-get" }));
