#!/usr/bin/env bash
# The deployment of deploy/ on one machine, without systemd: N `ferretwatch serve`
# instances started with the command line and environment of
# deploy/systemd/ferretwatch@.service, sharing one PostgreSQL database and one Redis,
# behind nginx configured by deploy/nginx/ferretwatch.conf (when N > 1). For tests,
# benchmarks and trying the deployment out; it runs until it gets SIGTERM or SIGINT.
#
#   deploy/local-cluster.sh --instances N --db postgres://… --dir DIR [--redis own|none|URL] [--proxy]
#
# --redis own (the default) starts a redis-server of its own on a free port (its pid in
# DIR/redis.pid, so a test can stop it); --redis none keeps the limits in each instance. Once everything answers, DIR/base holds the URL
# to send requests to (nginx; with one instance, the instance itself unless --proxy),
# and DIR/instances one "PORT PID METRICS_PORT" line per instance.
# Environment: FERRETWATCH_BIN (the binary; default target/release/ferretwatch), and any
# FERRETWATCH_* setting, passed to every instance (FERRETWATCH_INSTALL_SECRET is generated
# when unset: the instances must share it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

instances=3 db="" dir="" redis=own proxy=auto
while [ $# -gt 0 ]; do
    case "$1" in
        --instances) instances="$2"; shift 2 ;;
        --db) db="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        --redis) redis="$2"; shift 2 ;;
        --proxy) proxy=yes; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "local-cluster.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$db" ] && [ -n "$dir" ] || { echo "local-cluster.sh: --db and --dir are required" >&2; exit 2; }
bin="${FERRETWATCH_BIN:-$here/../target/release/ferretwatch}"
[ -x "$bin" ] || { echo "local-cluster.sh: no binary at $bin (cargo build --release, or set FERRETWATCH_BIN)" >&2; exit 2; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
rm -f "$dir/base" "$dir/instances"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
stop() {
    trap - TERM INT EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' TERM INT

# Redis.
if [ "$redis" = own ]; then
    command -v redis-server >/dev/null || { echo "local-cluster.sh: install redis-server" >&2; exit 2; }
    redis_port="$(free_port)"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --pidfile "$dir/redis.pid" --daemonize yes --logfile "$dir/redis.log" >/dev/null
    for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis_url="redis://127.0.0.1:$redis_port"
    echo "$redis_port" >"$dir/redis.port"
elif [ "$redis" = none ]; then
    redis_url=""
else
    redis_url="$redis"
fi

# The shared settings: deploy/ferretwatch.toml with this run's database, origin and Redis.
sed -e "s|^data_dir = .*|data_dir = \"$dir/data\"|" \
    -e "s|^db = .*|db = \"$db\"|" \
    -e "s|^origin = .*|origin = \"$dir/origin\"|" \
    -e "s|^dev_bootstrap = .*|dev_bootstrap = true|" \
    -e "s|^redis = .*|redis = \"$redis_url\"|" \
    "$here/ferretwatch.toml" >"$dir/ferretwatch.toml"
[ -n "$redis_url" ] || sed -i -e '/^redis = /d' "$dir/ferretwatch.toml"
if [ "$proxy" = auto ]; then
    if [ "$instances" -eq 1 ]; then proxy=no; else proxy=yes; fi
fi
if [ "$proxy" = no ]; then
    # One instance reached directly: no proxy, so the client address is the peer's.
    sed -i -e 's|^trust_forwarded_for = .*|trust_forwarded_for = false|' "$dir/ferretwatch.toml"
fi
export FERRETWATCH_INSTALL_SECRET="${FERRETWATCH_INSTALL_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"

# The unit's command line and environment, for an instance on port $1.
unit="$here/systemd/ferretwatch@.service"
start_instance() {
    local port="$1" metrics exec_start env_line
    metrics="$(free_port)"
    exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
    exec_start="${exec_start//%i/$port}"
    exec_start="${exec_start//\/usr\/local\/bin\/ferretwatch/$bin}"
    exec_start="${exec_start//\/etc\/ferretwatch\/ferretwatch.toml/$dir/ferretwatch.toml}"
    mkdir -p "$dir/i$port"
    (
        cd "$dir/i$port"
        while IFS= read -r env_line; do export "${env_line//%i/$port}"; done < <(sed -n 's/^Environment=//p' "$unit")
        # The unit's metrics port (1 + the port) fits only below 5536: pick a free one here.
        export FERRETWATCH_METRICS_LISTEN="127.0.0.1:$metrics"
        # shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
        exec $exec_start
    ) >"$dir/i$port/log" 2>&1 &
    pids+=("$!")
    echo "$port $! $metrics" >>"$dir/instances"
}
wait_ready() {
    for _ in $(seq 1 300); do curl -sf -o /dev/null "$1/ready" && return 0; sleep 0.1; done
    echo "local-cluster.sh: $1 did not become ready" >&2
    return 1
}

ports=()
for i in $(seq 1 "$instances"); do
    port="$(free_port)"
    ports+=("$port")
    start_instance "$port"
    # The first instance deploys the development pack to the shared origin; the others
    # start once it is there.
    [ "$i" -eq 1 ] && wait_ready "http://127.0.0.1:$port"
done
for port in "${ports[@]}"; do wait_ready "http://127.0.0.1:$port"; done

if [ "$proxy" = no ]; then
    echo "http://127.0.0.1:${ports[0]}" >"$dir/base"
else
    command -v nginx >/dev/null || { echo "local-cluster.sh: install nginx" >&2; exit 2; }
    nginx_port="$(free_port)"
    mkdir -p "$dir/nginx/tmp"
    upstreams=""
    for port in "${ports[@]}"; do upstreams+="    server 127.0.0.1:$port max_fails=1 fail_timeout=2s;\n"; done
    # deploy/nginx/ferretwatch.conf with this run's ports.
    awk -v ups="$upstreams" '
        /^ *server 127\.0\.0\.1:808[0-9]/ { if (!done) { printf "%s", ups; done = 1 } next }
        { print }' "$here/nginx/ferretwatch.conf" \
        | sed -e "s|listen 80;|listen 127.0.0.1:$nginx_port;|" \
            -e "s|/var/log/nginx/ferretwatch-upstream.log|$dir/nginx/upstream.log|" >"$dir/nginx/ferretwatch.conf"
    cat >"$dir/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/tmp/body;
    proxy_temp_path $dir/nginx/tmp/proxy;
    fastcgi_temp_path $dir/nginx/tmp/fastcgi;
    uwsgi_temp_path $dir/nginx/tmp/uwsgi;
    scgi_temp_path $dir/nginx/tmp/scgi;
    include $dir/nginx/ferretwatch.conf;
}
NGINX
    nginx -t -q -p "$dir/nginx" -c "$dir/nginx/nginx.conf"
    nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" &
    pids+=("$!")
    wait_ready "http://127.0.0.1:$nginx_port"
    echo "http://127.0.0.1:$nginx_port" >"$dir/base"
fi
echo "ready: $(cat "$dir/base") ($instances instance(s), Redis ${redis_url:-none})"

# Run until told to stop, or until every instance is gone.
while :; do
    sleep 1 &
    wait $! || true
done
