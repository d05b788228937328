#!/usr/bin/env bash
# The alerting configuration, checked and tested offline with the tools of Debian's
# `prometheus` and `prometheus-alertmanager` packages (installed when missing; their
# services are not started by this script):
# - `promtool check config deploy/prometheus/prometheus.yml` (and the rule files it names);
# - `promtool test rules deploy/prometheus/tests/*.yml`: every alert fires on series that
#   should fire it and stays quiet on series that should not;
# - every alert of the rules has a test that expects it to fire and one that expects it
#   quiet, and carries a `priority` of P1–P4 and a matching `severity`;
# - `amtool check-config deploy/alertmanager/alertmanager.yml`, and each priority routed
#   to its receiver.
# Exits 1 when any of it fails.
#
#   ./scripts/alert-rules-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "== installing ${missing[*]} (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet 'pyyaml==6.*'

echo "== promtool check config"
(cd deploy/prometheus && promtool check config prometheus.yml)
echo "== promtool test rules"
promtool test rules deploy/prometheus/tests/*.yml

echo "== every alert: labelled, and tested firing and quiet"
python3 - <<'PY'
import glob, sys, yaml

severity = {"P1": "critical", "P2": "high", "P3": "medium", "P4": "low"}
alerts = {}
for path in glob.glob("deploy/prometheus/rules/*.yml"):
    for group in yaml.safe_load(open(path))["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                alerts[rule["alert"]] = rule
fires, quiet = set(), set()
for path in glob.glob("deploy/prometheus/tests/*.yml"):
    for test in yaml.safe_load(open(path))["tests"]:
        for case in test.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
problems = []
for name, rule in sorted(alerts.items()):
    labels = rule.get("labels", {})
    if labels.get("priority") not in severity:
        problems.append(f"{name}: priority {labels.get('priority')!r} is not P1–P4")
    elif labels.get("severity") != severity[labels["priority"]]:
        problems.append(f"{name}: severity {labels.get('severity')!r} does not match {labels['priority']}")
    if name not in fires:
        problems.append(f"{name}: no test expects it to fire")
    if name not in quiet:
        problems.append(f"{name}: no test expects it to stay quiet (exp_alerts: [])")
for name in sorted((fires | quiet) - set(alerts)):
    problems.append(f"{name}: tested but no such alert")
for p in problems:
    print("FAIL", p)
print(f"{len(alerts)} alerts, {len(problems)} problems")
sys.exit(1 if problems else 0)
PY

echo "== amtool check-config"
amtool check-config deploy/alertmanager/alertmanager.yml
echo "== routing by priority"
for pair in P1:p1-oncall P2:p2-oncall P3:p3-team P4:p4-digest; do
    amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml \
        --verify.receivers="${pair#*:}" priority="${pair%%:*}" alertname=Test service=reports 2>/dev/null >/dev/null \
        || { echo "FAIL: ${pair%%:*} is not routed to ${pair#*:}"; exit 1; }
    echo "   ok: ${pair%%:*} → ${pair#*:}"
done
echo "== the alerting configuration is valid and every alert is tested"
