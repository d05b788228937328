#!/usr/bin/env bash
# Runbook 5.1 monthly "Capacity planning review": ./scripts/capacity-planning.sh
#
#   -h, --help  this text (the review takes no flags)
#
# Over the last 30 days (FERRETWATCH_REVIEW_RANGE), one line each:
#   - reports: received per day (the database, `ferretwatch reports stats`), with the
#     linear trend fitted to the 30 days;
#   - the database's size (PostgreSQL's pg_database_size, SQLite's file) against a budget
#     (FERRETWATCH_DB_BUDGET, default 10G), growing by the reports' trend at the bytes one
#     report takes now (the size over the reports the log holds);
#   - the disk of the data directory (FERRETWATCH_DISK_PATH for another one, such as
#     PostgreSQL's): its free space down to a reserve (FERRETWATCH_DISK_RESERVE, a percent
#     of the disk or a size, default 5%), filled by the database's growth when the database
#     is on it (SQLite, or FERRETWATCH_DISK_PATH given);
#   - with FERRETWATCH_PROMETHEUS_URL, traffic: requests per second per service (packs,
#     reports, admin) per day with their trend, and the peak request rate (over
#     FERRETWATCH_REVIEW_RATE_WINDOW, default 5m) against the deployment's capacity
#     (FERRETWATCH_CAPACITY_RPS; default 5,830 requests/s per instance scraped, the reports
#     one instance accepted on PostgreSQL in docs/benchmarks.md, the heaviest request),
#     rising with the traffic's trend.
# Each budget's line gives the date it runs out at the trend. Exit 0 when none runs out
# within FERRETWATCH_CAPACITY_HORIZON_DAYS (default 90) days; 1 when one does (or already
# has); 2 on bad usage or when the database or Prometheus does not answer.
# FERRETWATCH_REVIEW_RANGE (a Prometheus duration, default 30d) is read as 30 days: a
# shorter one (for tests) shrinks the day to a thirtieth of it, and the review says so.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration file, passed as --config),
# FERRETWATCH_DB, FERRETWATCH_DATA_DIR (read as the server reads them), FERRETWATCH_BIN
# (default: ferretwatch on PATH), FERRETWATCH_PROMETHEUS_URL, and the settings above.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
case "${1:-}" in
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    "") ;;
    *) echo "capacity-planning: unknown argument: $1 (it takes none; see --help)" >&2; exit 2 ;;
esac

REVIEW_LIB="$here/lib" exec python3 -B - <<'PY'
import os, sys, time
sys.path.insert(0, os.environ["REVIEW_LIB"])
from review import (JOB, SERVICE_RE, SERVICES, Review, bytes_text, days_until, env_number, env_range, ferretwatch,
                    fit, prom, prometheus_from_env, run, seconds, size, usage_error, utc)

# docs/benchmarks.md, "Server": reports accepted by one instance on PostgreSQL (median).
INSTANCE_RPS = 5830
period, period_text = env_range("30d")
day = max(1, round(period / 30))
horizon = env_number("FERRETWATCH_CAPACITY_HORIZON_DAYS", 90)
try:
    window = seconds(os.environ.get("FERRETWATCH_REVIEW_RATE_WINDOW") or "5m")
    db_budget = size(os.environ.get("FERRETWATCH_DB_BUDGET") or "10G")
    reserve_text = os.environ.get("FERRETWATCH_DISK_RESERVE") or "5%"
    reserve_share = float(reserve_text[:-1]) / 100 if reserve_text.endswith("%") else None
    reserve_size = None if reserve_share is not None else size(reserve_text)
except ValueError as e:
    usage_error(f"a setting: {e}")
capacity_set = env_number("FERRETWATCH_CAPACITY_RPS", None)
p = prometheus_from_env(required=False)
now = int(time.time())


def when(days):
    """A projection in words, with its date."""
    if days is None:
        return "does not run out at this trend"
    if days == 0:
        return "has run out already"
    date = utc(now + days * day)
    count = "under a day" if days < 1 else f"{days:.0f} day{'s' if round(days) != 1 else ''}"
    return f"runs out in {count} ({date[:10] if day == 86400 else date})"


def judge(review, name, days, detail):
    within = days is not None and days <= horizon
    horizon_note = f" — within the {horizon:g}-day horizon" if within and days > 0 else ""
    review.judge(not within, name, f"{detail}; {when(days)}{horizon_note}")


def body():
    review = Review()
    print(f"== capacity planning: the last {period_text}, projected {horizon:g} days ahead")
    if day != 86400:
        print(f"   note: FERRETWATCH_REVIEW_RANGE={period_text} is read as 30 days: a day here is {day} s")

    since = now - 30 * day
    stats = ferretwatch("reports", "stats", "--since", str(since), "--until", str(now),
                        "--bucket-secs", str(day), "--top", "0")[1]
    per_day = [b["reports"] + b["false_positives"] for b in stats["buckets"]]
    slope, level = fit(per_day)
    review.info("reports per day",
                f"{sum(per_day) / len(per_day):.1f} on average over {len(per_day)} days, {level:.1f} today by the "
                f"trend, changing by {slope:+.2f} a day ({sum(per_day)} in all)")

    db = stats["database"]
    per_report = db["bytes"] / db["reports"] if db["reports"] else 0.0
    rate, growth = level * per_report, slope * per_report
    pace = (f"{bytes_text(per_report)} per report, {bytes_text(rate)} a day now" if db["reports"]
            else "no report in the log yet: no growth to project")
    days = days_until(db["bytes"], db_budget, rate, growth)
    judge(review, f"database size ({db['backend']})", days,
          f"{bytes_text(db['bytes'])} of a {bytes_text(db_budget)} budget; {pace}")

    path = os.environ.get("FERRETWATCH_DISK_PATH") or db["data_dir"]
    probe = path
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    fs = os.statvfs(probe)
    free, total = fs.f_bavail * fs.f_frsize, fs.f_blocks * fs.f_frsize
    reserve = reserve_size if reserve_share is None else int(total * reserve_share)
    holds_db = db["backend"] == "sqlite" or bool(os.environ.get("FERRETWATCH_DISK_PATH"))
    detail = f"{bytes_text(free)} free of {bytes_text(total)} at {probe}, reserve {bytes_text(reserve)}"
    if holds_db:
        days = days_until(0, free - reserve, rate, growth)
        detail += "; filled by the database's growth"
    else:
        days = 0 if free <= reserve else None
        detail += ("; the database (PostgreSQL) is not on this disk: set FERRETWATCH_DISK_PATH to the disk "
                   "that holds its data to project it")
    judge(review, "disk", days, detail)

    if p is None:
        review.na("traffic and request capacity", "FERRETWATCH_PROMETHEUS_URL is not set")
        return review.finish()
    D, R, W = prom(day), prom(period), prom(window)
    start = now - 29 * day

    def trend(expr):
        points = next(iter(p.series(expr, start, now, day).values()), [])
        xs = [(t - start) / day for t, _ in points]
        ys = [v / day for _, v in points]
        return points, fit(ys, xs), (sum(ys) / len(ys) if ys else 0.0)

    served = p.series(f'sum by (service) (increase(ferretwatch_http_requests_total{{service=~"{SERVICE_RE}"}}[{D}]))',
                      start, now, day)
    for service in SERVICES:
        points = next((v for k, v in served.items() if dict(k).get("service") == service), [])
        if not points:
            review.na(f"{service} traffic", f"no requests in the last {period_text}")
            continue
        ys = [v / day for _, v in points]
        s, lv = fit(ys, [(t - start) / day for t, _ in points])
        review.info(f"{service} traffic", f"{sum(ys) / len(ys):.2f} requests/s on average over {len(ys)} days, "
                                          f"{lv:.2f} today by the trend, changing by {s:+.3f} a day")
    points, (s, lv), mean = trend("sum(increase(ferretwatch_http_requests_total[%s]))" % D)
    peak = p.one(f"max_over_time(sum(rate(ferretwatch_http_requests_total[{W}]))[{R}:{W}])")
    instances = p.one(f"count(up{{{JOB}}})") or 0
    if not points or peak is None:
        review.na("request capacity", f"no requests in the last {period_text}")
        return review.finish()
    if capacity_set is not None:
        capacity, source = capacity_set, "FERRETWATCH_CAPACITY_RPS"
    else:
        capacity = INSTANCE_RPS * max(1, instances)
        source = f"{max(1, int(instances))} instance(s) × {INSTANCE_RPS}/s (docs/benchmarks.md)"
    days = days_until(peak, capacity, s, 0)
    judge(review, "request capacity", days,
          f"peak {peak:.1f} requests/s (rate over {W}; mean {mean:.2f}/s, changing by {s:+.3f}/s a day) "
          f"of {capacity:g}/s ({source})")
    return review.finish()


run(body)
PY
