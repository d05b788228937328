#!/usr/bin/env bash
# Tests the runbook's §6.3 profiling scripts in real Chromium, with short runs: each of
# scripts/memory-profile.sh, scripts/detect-memory-leaks.sh and scripts/cpu-profile.sh
# exits 0 and writes its report on the extension as built, and exits 1 when what it checks
# is wrong: a memory budget of 1 MB, a real leak injected into the offscreen document
# (FERRETWATCH_INJECT_LEAK_KB), an idle CPU budget of 0. Bad flags exit 2. Takes about 5
# minutes on 2 cores.
#
#   ./scripts/test-profiles.sh
#
# WASM_TARGET_DIR (default target/wasm) keeps the WebAssembly build; FERRETWATCH_BIN skips
# building the ferretwatch binary.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1-}" in
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    "") ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
# shellcheck source=scripts/lib/chromium.sh
source scripts/lib/chromium.sh
chromium_installed
if [[ -z "${FERRETWATCH_BIN:-}" ]]; then
    cargo build --quiet -p ferretwatch-cli
    FERRETWATCH_BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/debug/ferretwatch"
fi
export FERRETWATCH_BIN
work="$(mktemp -d -t ferretwatch-test-profiles.XXXXXX)"
trap 'rm -rf "$work"' EXIT
unset FERRETWATCH_EXTENSION FERRETWATCH_PROFILE_DIR FERRETWATCH_MEMORY_BUDGET_MB FERRETWATCH_TAB_BUDGET_MB \
    FERRETWATCH_IDLE_CPU_BUDGET FERRETWATCH_LEAK_PAGES FERRETWATCH_INJECT_LEAK_KB FERRETWATCH_TABS FERRETWATCH_PAGE_INTERVAL_MS

passed=0
fail() { echo "FAILED: $*" >&2; exit 1; }
ok() { passed=$((passed + 1)); echo "   ok: $*"; }

# run NAME EXPECTED-STATUS [ENV=VALUE ...] -- SCRIPT ARGS...: runs it with its own report
# directory ($work/NAME), its output in $work/NAME.log, and checks the exit status.
run() {
    local name="$1" expected="$2" status=0
    shift 2
    local env=()
    while [[ "$1" != "--" ]]; do env+=("$1"); shift; done
    shift
    echo "== $name: ${env[*]} $*"
    env FERRETWATCH_PROFILE_DIR="$work/$name" "${env[@]}" "$@" >"$work/$name.log" 2>&1 || status=$?
    if [[ "$status" != "$expected" ]]; then
        tail -30 "$work/$name.log" >&2
        fail "$name exited $status, expected $expected"
    fi
    ok "$name exits $expected"
}

# check NAME PYTHON-EXPRESSION: the expression holds for `r`, the run's one report of its kind.
check() {
    local name="$1" kind="$2" expression="$3" what="$4"
    python3 - "$work/$name" "$kind" "$expression" <<'PY' || { tail -30 "$work/$name.log" >&2; fail "$name: $what"; }
import glob, json, sys
directory, kind, expression = sys.argv[1:]
reports = glob.glob(f"{directory}/{kind}-*.json")
assert len(reports) == 1, f"{len(reports)} reports in {directory}"
r = json.load(open(reports[0]))
assert eval(expression, {"r": r, "glob": glob, "directory": directory}), expression
PY
    ok "$name: $what"
}

echo "== bad usage exits 2"
for args in "scripts/memory-profile.sh --browser firefox --duration 20" "scripts/memory-profile.sh --browser chrome" \
    "scripts/detect-memory-leaks.sh --threshold 5XB" "scripts/cpu-profile.sh --sample-rate fast --duration 20" \
    "scripts/cpu-profile.sh --duration 20 --extra 1"; do
    status=0
    # shellcheck disable=SC2086
    $args >/dev/null 2>&1 || status=$?
    [[ "$status" == 2 ]] || fail "$args exited $status, expected 2"
done
ok "an unsupported browser, a missing duration, a bad size, a bad rate and an unknown flag exit 2"
for script in memory-profile detect-memory-leaks cpu-profile; do
    "scripts/$script.sh" --help | grep -q -- "FERRETWATCH_PROFILE_DIR" || fail "$script.sh --help does not document its environment"
done
ok "--help documents the flags and the environment"

# The first run builds the extension itself (a throwaway root, scripts/build-extension.sh).
run memory 0 -- scripts/memory-profile.sh --browser chrome --duration 20
check memory memory 'r["checks"]["total"]["ok"] and r["checks"]["per_tab"]["ok"] and r["verdicts"] >= 5 and len(r["per_tab"]["pages"]) == 6 and r["extension_peak_bytes"] > 10 * 2**20' \
    "the report has the extension's total, the per-tab cost of 6 pages, and verdicts"

# The rest reuse one build.
"$FERRETWATCH_BIN" keys generate --out "$work/key" >/dev/null 2>&1
"$FERRETWATCH_BIN" root create --key "$work/key.pub" --threshold 1 --expires 2099-01-01T00:00:00Z --out "$work/root.json" >/dev/null
"$FERRETWATCH_BIN" root sign "$work/root.json" --key "$work/key.key" >/dev/null
bash scripts/build-extension.sh --root "$work/root.json" --mirror http://127.0.0.1:9/v1 --report-url http://127.0.0.1:9 \
    --out "$work/package" >/dev/null
export FERRETWATCH_EXTENSION="$work/package/extension"

run memory-budget 1 FERRETWATCH_MEMORY_BUDGET_MB=1 -- scripts/memory-profile.sh --browser chrome --duration 10
check memory-budget memory 'not r["checks"]["total"]["ok"]' "a budget of 1 MB is reported exceeded"

run leaks 0 FERRETWATCH_LEAK_PAGES=120 -- scripts/detect-memory-leaks.sh --threshold 50MB
check leaks leaks 'r["ok"] and r["pages"] == 120 and r["warmup_pages"] == 12 and r["verdicts"] >= 100 and "offscreen" in r["js_heaps"]["end"] and any(k.startswith("worker") for k in r["js_heaps"]["end"])' \
    "120 pages, a warm-up of 12, GC in the service worker, offscreen document and engine worker"

run leaks-injected 1 FERRETWATCH_LEAK_PAGES=120 FERRETWATCH_INJECT_LEAK_KB=512 -- scripts/detect-memory-leaks.sh --threshold 20MB
check leaks-injected leaks 'not r["ok"] and r["growth_bytes"] > 40 * 2**20' "a leak of 512 KB a page (54 MB) is found above 20 MB"

run cpu 0 -- scripts/cpu-profile.sh --sample-rate 100Hz --duration 20
check cpu cpu 'r["ok"] and r["sampling_interval_us"] == 10000 and r["busy"]["pages"] >= 5 and len(r["top_functions"]["top"]) > 0 and len(glob.glob(directory + "/cpu-*-offscreen.cpuprofile")) == 1 and len(glob.glob(directory + "/cpu-*-worker-*.cpuprofile")) >= 1' \
    "the offscreen document and the engine worker are profiled at 100 Hz, and idle CPU is measured"
python3 - "$work/cpu" <<'PY' || fail "the .cpuprofile files are not CPU profiles"
import glob, json, sys
for path in glob.glob(f"{sys.argv[1]}/*.cpuprofile"):
    profile = json.load(open(path))
    assert profile["nodes"] and profile["samples"] and profile["endTime"] > profile["startTime"], path
PY
ok "the .cpuprofile files hold samples"

run cpu-budget 1 FERRETWATCH_IDLE_CPU_BUDGET=0 -- scripts/cpu-profile.sh --sample-rate 1kHz --duration 10
check cpu-budget cpu 'not r["ok"] and r["sampling_interval_us"] == 1000' "an idle budget of 0% is reported exceeded"

echo "ok: $passed checks of the profiling scripts"
