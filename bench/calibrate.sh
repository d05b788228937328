#!/usr/bin/env bash
# The curves behind the lookalike weights: recall and false positives on the TUNING sets
# (bench/eval-sets.sh) for several (high, medium) weight pairs, with and without the
# popular-domain guard. Prints a Markdown table. Needs a built `ferretwatch`.
#
#   bench/calibrate.sh [SPLIT]     default: tune
set -euo pipefail
cd "$(dirname "$0")/.."
split=${1:-tune}
bin=${FERRETWATCH:-target/debug/ferretwatch}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/feeds"
"$bin" rules default > "$work/default.json"
echo "| high | medium | guard | phishing at yellow+ | lowest class | popular at yellow+ | popular at red | resembling at yellow+ | resembling at red |"
echo "|-----:|-------:|:-----:|-----:|-----:|-----:|-----:|-----:|-----:|"
for guard in yes no; do
    for pair in 40:25 50:40 60:40 60:45 60:50 60:55 60:60; do
        high=${pair%:*}
        medium=${pair#*:}
        python3 - "$work/default.json" "$work/rules.json" "$high" "$medium" "$guard" <<'PY'
import json, sys
src, dst, high, medium, guard = sys.argv[1:]
r = json.load(open(src))
r["weights"]["idn_homograph_high"] = int(high)
r["weights"]["idn_homograph_medium"] = int(medium)
r["caps"]["lookalike"] = max(int(high), int(medium))
if guard == "no":
    r["allowlists"]["popular_domains"] = []
json.dump(r, open(dst, "w"))
PY
        rm -rf "$work/dist"
        "$bin" pack build --version 2026.01.01.00 --rules "$work/rules.json" --feeds "$work/feeds" --out "$work/dist" >/dev/null
        "$bin" pack test "$work/dist" tests/corpus --format json \
            --urls "target/eval/$split/lookalikes.tsv" --urls "target/eval/$split/popular.tsv" \
            --urls "target/eval/$split/resembling.tsv" > "$work/report.json" || true
        python3 - "$work/report.json" "$high" "$medium" "$guard" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))["report"]["urls"]
high, medium, guard = sys.argv[2:]
p = report["phishing_total"]
lowest = min(report["phishing"].items(), key=lambda kv: kv[1]["warned_rate"])
pop = report["benign"].get("popular", {"warned_rate": 0, "red_rate": 0})
res = {"total": 0, "yellow": 0, "red": 0}
for cls, c in report["benign"].items():
    if cls != "popular":
        for k in res:
            res[k] += c[k]
pct = lambda x: f"{100 * x:.2f}%"
print(f"| {high} | {medium} | {guard} | {pct(p['warned_rate'])} | {lowest[0]} {pct(lowest[1]['warned_rate'])} | "
      f"{pct(pop['warned_rate'])} | {pct(pop['red_rate'])} | {pct((res['yellow'] + res['red']) / res['total'])} | {pct(res['red'] / res['total'])} |")
PY
    done
done
