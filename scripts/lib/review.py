"""Shared by the runbook's weekly and monthly reviews (scripts/performance-review.sh,
analyze-feedback.sh, capacity-planning.sh, business-metrics.sh; docs/reviews.md).

Each review prints one line per check, in the daily health check's style:
    ok   NAME: what was measured (target …)
    FAIL NAME: what was measured, and why it misses
    n/a  NAME: why there is nothing to judge (a source absent, no data): never a pass
    info NAME: a figure without a target
and exits 0 when nothing failed, 1 when something did, 2 when a source it needs does not
answer (Prometheus, the database through `ferretwatch`) or on bad usage.
"""

import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# The services of the runbook's §2.1 service levels, as the HTTP metrics label them.
SERVICES = ("packs", "reports", "admin")
SERVICE_RE = "packs|reports|admin"
# The scrape job the alert rules name (deploy/prometheus/prometheus.yml).
JOB = 'job="ferretwatch"'


class SourceDown(Exception):
    """A source the review needs does not answer: exit 2."""


# --- durations and figures -------------------------------------------------------------

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(text):
    """A Prometheus duration (`7d`, `2m`, `1h30m`, `90s`) in seconds; ValueError if not one."""
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration such as 7d, 30m or 90s")
    total = sum(int(n) * UNITS[u] for n, u in parts)
    if total <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return total


def prom(secs):
    """Seconds as a PromQL duration, in the largest unit that divides it (`7d`, `90s`)."""
    ms = max(1, round(secs * 1000))
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def env_range(default):
    """FERRETWATCH_REVIEW_RANGE (default `default`), in seconds; exits 2 when malformed."""
    text = os.environ.get("FERRETWATCH_REVIEW_RANGE") or default
    try:
        return seconds(text), text
    except ValueError as e:
        usage_error(f"FERRETWATCH_REVIEW_RANGE: {e}")


def env_number(name, default, parse=float):
    """A numeric setting from the environment; exits 2 when malformed."""
    text = os.environ.get(name)
    if text in (None, ""):
        return default
    try:
        value = parse(text)
    except ValueError as e:
        usage_error(f"{name}={text!r}: {e}")
    if isinstance(value, float) and not math.isfinite(value):
        usage_error(f"{name}={text!r} is not a finite number")
    return value


SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
              "g": 1024**3, "gb": 1024**3, "gib": 1024**3, "t": 1024**4, "tb": 1024**4, "tib": 1024**4}


def size(text):
    """`10G`, `64K`, `512MB`, `1048576` (powers of 1024) in bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in SIZE_UNITS:
        raise ValueError("a size such as 10G, 512M or 65536")
    return int(float(m.group(1)) * SIZE_UNITS[m.group(2).lower()])


def usage_error(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def pct(x, digits=2):
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def bytes_text(n):
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def secs_text(s):
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "—"
    if s == math.inf:
        return "above 10 s (the histogram's last bucket)"
    if s == 0:
        return "0 s"
    if s < 1:
        return f"{s * 1000:.1f} ms"
    if s < 120:
        return f"{s:.2f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def change(now, before):
    """`+12%` from before to now; `new` from nothing; `—` when unknown."""
    if now is None or before is None:
        return "—"
    if before == 0:
        return "no change" if now == 0 else "new"
    return f"{(now - before) / before * 100:+.0f}%"


def utc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# --- the verdict lines -----------------------------------------------------------------

class Review:
    """Prints the lines as they come and keeps the exit status."""

    def __init__(self):
        self.failed = 0
        self.counts = {"ok": 0, "FAIL": 0, "n/a": 0, "info": 0}

    def line(self, verdict, name, detail):
        self.counts[verdict] += 1
        print(f"{verdict:4} {name}: {detail}", flush=True)

    def ok(self, name, detail):
        self.line("ok", name, detail)

    def fail(self, name, detail):
        self.failed = 1
        self.line("FAIL", name, detail)

    def judge(self, good, name, detail):
        (self.ok if good else self.fail)(name, detail)

    def na(self, name, why):
        self.line("n/a", name, why)

    def info(self, name, detail):
        self.line("info", name, detail)

    def finish(self):
        c = self.counts
        print(f"== {c['ok']} ok, {c['FAIL']} FAIL, {c['n/a']} n/a, {c['info']} info")
        return self.failed


def run(body):
    """Runs a review's body: its exit status, or 2 when a source does not answer."""
    try:
        status = body()
    except SourceDown as e:
        print(f"ERROR {e}", flush=True)
        print("== a source did not answer: the review is incomplete (exit 2)")
        sys.exit(2)
    sys.exit(status)


# --- Prometheus ------------------------------------------------------------------------

class Prometheus:
    """Prometheus's HTTP query API, every query at one evaluation time (`at`)."""

    def __init__(self, url, at=None):
        self.url = url.rstrip("/")
        self.at = at if at is not None else time.time()

    def _get(self, path, params):
        url = f"{self.url}{path}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as e:
            try:
                body = json.load(e)
            except ValueError:
                raise SourceDown(f"Prometheus at {self.url} answered HTTP {e.code}") from None
        except (OSError, ValueError) as e:
            raise SourceDown(f"Prometheus at {self.url} does not answer: {e}") from None
        if body.get("status") != "success":
            raise SourceDown(f"Prometheus at {self.url} refused a query: {body.get('error')} ({params.get('query')})")
        return body["data"]

    def query(self, expr):
        """[(labels, value)] of an instant query; NaN and ±Inf come back as floats."""
        data = self._get("/api/v1/query", {"query": expr, "time": f"{self.at:.3f}"})
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def by(self, expr, label):
        """{label value: value} of an instant query."""
        return {labels.get(label, ""): value for labels, value in self.query(expr)}

    def one(self, expr):
        """The value of a query with at most one series (None when empty)."""
        result = self.query(expr)
        return result[0][1] if result else None

    def series(self, expr, start, end, step):
        """{labels as a tuple: [(t, value)]} of a range query."""
        data = self._get("/api/v1/query_range",
                         {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.3f}"})
        return {tuple(sorted(r["metric"].items())): [(float(t), float(v)) for t, v in r["values"]]
                for r in data["result"]}


def prometheus_from_env(required):
    """FERRETWATCH_PROMETHEUS_URL; without it, None (or exit 2 when `required`)."""
    url = os.environ.get("FERRETWATCH_PROMETHEUS_URL", "")
    if not url and required:
        usage_error("FERRETWATCH_PROMETHEUS_URL is not set: the Prometheus that scrapes the service "
                    "(for example http://127.0.0.1:9091)")
    return Prometheus(url) if url else None


def finite(x):
    return x is not None and math.isfinite(x)


# --- ferretwatch -----------------------------------------------------------------------

def ferretwatch(*args, ok=(0,), source="the database"):
    """Runs `ferretwatch ARGS… [--config $FERRETWATCH_CONFIG] --format json`: (status, JSON).

    A status outside `ok`, or output that is not JSON, means the source did not answer.
    """
    binary = os.environ.get("FERRETWATCH_BIN") or "ferretwatch"
    config = ["--config", os.environ["FERRETWATCH_CONFIG"]] if os.environ.get("FERRETWATCH_CONFIG") else []
    command = [binary, *args, *config]
    if "--output-format" not in args:
        command += ["--format", "json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SourceDown(f"{source}: `{' '.join(command[:3])} …` could not run: {e}") from None
    if done.returncode not in ok:
        lines = [l.strip() for l in done.stderr.splitlines() if l.strip()] or ["no message"]
        message = next((l for l in lines if "error" in l.lower()), lines[-1])
        raise SourceDown(f"{source}: `ferretwatch {' '.join(args[:2])}` exited {done.returncode}: {message}")
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        raise SourceDown(f"{source}: `ferretwatch {' '.join(args[:2])}` printed no JSON") from None


# --- trends ----------------------------------------------------------------------------

def fit(ys, xs=None):
    """Least squares over (x, y) (x 0, 1, … by default): (slope per unit of x, the line's
    value at the last x)."""
    xs = list(range(len(ys))) if xs is None else list(xs)
    n = len(ys)
    if n == 0:
        return 0.0, 0.0
    if n == 1 or max(xs) == min(xs):
        return 0.0, sum(ys) / n
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return slope, my + slope * (xs[-1] - mx)


def days_until(current, budget, rate, growth):
    """When a quantity at `current`, rising by `rate` a day now and `rate` itself changing
    by `growth` a day (rises never negative), reaches `budget`: days from now, 0 when it is
    there already, None when never."""
    room = budget - current
    if room <= 0:
        return 0.0
    if growth == 0:
        return room / rate if rate > 0 else None
    if growth < 0:
        stop = max(0.0, -rate / growth)  # the day the rise stops
        if rate <= 0 or rate * stop + growth * stop * stop / 2 < room:
            return None
    elif rate < 0:
        # No rise until day -rate/growth, then a rise growing by `growth` a day.
        start = -rate / growth
        return start + math.sqrt(2 * room / growth)
    # (growth / 2) t² + rate t - room = 0, the smaller positive root.
    a, b, c = growth / 2, rate, -room
    disc = b * b - 4 * a * c
    if disc < 0:
        return None
    roots = sorted(r for r in ((-b - math.sqrt(disc)) / (2 * a), (-b + math.sqrt(disc)) / (2 * a)) if r >= 0)
    return roots[0] if roots else None
