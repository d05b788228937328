"""The data side of the staged rollouts (scripts/lib/release.sh, docs/releases.md): the
environment file, the state file, the deployment log, the nginx upstream block and the
load balancer's access log. Called by release.sh as `python3 release.py COMMAND ARGS…`;
exit 2 with a message on bad input.

Commands:
  env FILE                       the environment file as shell assignments (env_KEY=…)
  state DIR                      the state file of DIR as shell assignments (state_KEY=…)
  state-write DIR KEY=VALUE…     merges the pairs into the state, writes it atomically
  log DIR ACTION KEY=VALUE…      appends one JSON line to DIR/deployments.log
  upstream CONF PORT:WEIGHT…     rewrites the server lines of CONF's `upstream ferretwatch`
  stats LOG SINCE PORT…          attempts, 5xx attempts, their rate
                                 and p95 latency (ms) of the attempts nginx made to one of
                                 the PORTs in the lines of the access LOG at or after SINCE
                                 (epoch seconds); exit 1 when LOG cannot be read or has
                                 lines but none in the expected format
"""

import datetime
import json
import os
import re
import shlex
import sys
import tomllib

# The keys an environment file may hold, with their defaults (None: required by the
# commands that use it; checked in release.sh).
ENV_KEYS = {
    "db": "",
    "backup_destination": "",
    "releases_dir": None,
    "candidate": "",
    "state_dir": None,
    "settings": None,
    "env_file": "",
    "process_manager": "systemd",
    "slots_dir": "/opt/ferretwatch/slots",
    "blue_ports": None,
    "blue_metrics_ports": [],
    "green_ports": None,
    "green_metrics_ports": [],
    "nginx_conf": None,
    "nginx_test": "nginx -t -q",
    "nginx_reload": "systemctl reload nginx",
    "access_log": None,
    "public_url": "http://127.0.0.1",
    "root": "/etc/ferretwatch/root.json",
    "error_rate_threshold": 0.01,
    "latency_p95_ms": 500,
    "observe_seconds": 300,
    "ready_timeout_seconds": 60,
    "stop_timeout_seconds": 40,
    "drain_seconds": 2,
    "post_check_window_seconds": 300,
    "min_free_disk_mb": 1024,
    "min_requests": 20,
}
STATE_KEYS = ("stable", "stable_set", "candidate", "candidate_set", "percentage", "previous", "step_started")


def die(message):
    print(f"release: {message}", file=sys.stderr)
    sys.exit(2)


def shell(prefix, values):
    for key, value in values.items():
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif value is None:
            value = ""
        print(f"{prefix}{key}={shlex.quote(str(value))}")


def env(path):
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        die(f"{path}: {e}")
    unknown = sorted(set(data) - set(ENV_KEYS))
    if unknown:
        die(f"{path}: unknown keys {', '.join(unknown)}")
    values = {k: data.get(k, d) for k, d in ENV_KEYS.items()}
    for key in ("blue_ports", "green_ports", "blue_metrics_ports", "green_metrics_ports"):
        ports = values[key]
        if ports is None:
            continue
        if not isinstance(ports, list) or not all(isinstance(p, int) and 0 < p < 65536 for p in ports):
            die(f"{path}: {key} must be a list of ports")
    if values["blue_ports"] is not None and values["green_ports"] is not None:
        if len(values["blue_ports"]) != len(values["green_ports"]) or not values["blue_ports"]:
            die(f"{path}: blue_ports and green_ports must be non-empty and of the same length")
        if set(values["blue_ports"]) & set(values["green_ports"]):
            die(f"{path}: blue_ports and green_ports overlap")
    if values["process_manager"] not in ("systemd", "local"):
        die(f"{path}: process_manager must be \"systemd\" or \"local\"")
    for key in ("error_rate_threshold", "latency_p95_ms", "observe_seconds", "ready_timeout_seconds",
                "stop_timeout_seconds", "drain_seconds", "post_check_window_seconds", "min_free_disk_mb",
                "min_requests"):
        if not isinstance(values[key], (int, float)) or isinstance(values[key], bool) or values[key] < 0:
            die(f"{path}: {key} must be a non-negative number")
    shell("env_", values)


def read_state(directory):
    try:
        with open(os.path.join(directory, "state.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"history": []}
    except (OSError, ValueError) as e:
        die(f"{directory}/state.json: {e}")


def write_json_atomically(path, value):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def pairs(args):
    out = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            die(f"expected KEY=VALUE, got {arg!r}")
        out[key] = value
    return out


def state(directory):
    current = read_state(directory)
    shell("state_", {k: current.get(k, "") for k in STATE_KEYS})


def state_write(directory, args):
    os.makedirs(directory, exist_ok=True)
    current = read_state(directory)
    updates = pairs(args)
    event = {k[len("event_"):]: v for k, v in updates.items() if k.startswith("event_")}
    for key, value in updates.items():
        if key.startswith("event_"):
            continue
        if key not in STATE_KEYS:
            die(f"unknown state key {key}")
        current[key] = value
    current["updated_at"] = now()
    if event:
        event["time"] = current["updated_at"]
        current.setdefault("history", []).append(event)
    write_json_atomically(os.path.join(directory, "state.json"), current)


def log(directory, action, args):
    os.makedirs(directory, exist_ok=True)
    entry = {"time": now(), "action": action}
    entry.update(pairs(args))
    with open(os.path.join(directory, "deployments.log"), "a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def upstream(conf, args):
    servers = []
    for arg in args:
        port, sep, weight = arg.partition(":")
        if not (sep and port.isdigit() and weight.isdigit()):
            die(f"expected PORT:WEIGHT, got {arg!r}")
        if int(weight) > 0:
            servers.append(f"    server 127.0.0.1:{port} weight={weight} max_fails=1 fail_timeout=2s;\n")
    if not servers:
        die("the upstream needs at least one server with a weight above 0")
    try:
        with open(conf) as f:
            lines = f.readlines()
    except OSError as e:
        die(f"{conf}: {e}")
    out, inside, placed, found = [], False, False, False
    for line in lines:
        if re.match(r"^\s*upstream\s+ferretwatch\s*\{", line):
            inside, found = True, True
        elif inside and re.match(r"^\s*\}", line):
            if not placed:
                out.extend(servers)
                placed = True
            inside = False
        elif inside and re.match(r"^\s*server\s", line):
            if not placed:
                out.extend(servers)
                placed = True
            continue
        out.append(line)
    if not found:
        die(f"{conf} has no `upstream ferretwatch {{` block")
    with open(f"{conf}.previous", "w") as f:
        f.writelines(lines)
    tmp = f"{conf}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.writelines(out)
    os.chmod(tmp, os.stat(conf).st_mode & 0o777)
    os.replace(tmp, conf)


def attempts(field):
    """The per-attempt values of an upstream variable: nginx separates the attempts of one
    upstream group with ", " and the groups (after an internal redirect) with " : "."""
    return [v.strip() for group in field.strip('"').split(" : ") for v in group.split(",")]


def stats(path, since, ports):
    """Every attempt nginx made to one of PORTS counts against that port: a request nginx
    retried on another slot (`"A, B"`, `"502, 200"`) is an error of A and an answer of B."""
    since = float(since)
    wanted = {f"127.0.0.1:{p}" for p in ports}
    latencies, requests, errors, lines, malformed = [], 0, 0, 0, 0
    try:
        with open(path, errors="replace") as f:
            content = f.readlines()
    except OSError as e:
        print(f"release: cannot read the access log {path}: {e.strerror}", file=sys.stderr)
        sys.exit(1)
    for line in content:
        if not line.strip():
            continue
        lines += 1
        # $msec $status "$upstream_addr" "$upstream_status" "$upstream_response_time"
        fields = re.findall(r'"[^"]*"|\S+', line)
        try:
            if len(fields) < 5 or not fields[2].startswith('"'):
                raise ValueError
            msec = float(fields[0])
        except ValueError:
            malformed += 1
            continue
        if msec < since:
            continue
        addrs, statuses, times = attempts(fields[2]), attempts(fields[3]), attempts(fields[4])
        for i, addr in enumerate(addrs):
            if addr not in wanted:
                continue
            requests += 1
            # nginx records a refused or cut connection to a slot as 502 or 504.
            if i < len(statuses) and statuses[i].startswith("5"):
                errors += 1
            try:
                latencies.append(float(times[i]) * 1000)
            except (IndexError, ValueError):
                pass
    if lines and malformed == lines:
        print(f"release: {path} has no line in the ferretwatch_upstream format", file=sys.stderr)
        sys.exit(1)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] if latencies else 0.0
    rate = errors / requests if requests else 0.0
    print(f"{requests} {errors} {rate:.4f} {p95:.1f}")


def main(argv):
    if len(argv) < 2:
        die("usage: release.py COMMAND ARGS…")
    command, args = argv[1], argv[2:]
    if command == "env" and len(args) == 1:
        env(args[0])
    elif command == "state" and len(args) == 1:
        state(args[0])
    elif command == "state-write" and args:
        state_write(args[0], args[1:])
    elif command == "log" and len(args) >= 2:
        log(args[0], args[1], args[2:])
    elif command == "upstream" and args:
        upstream(args[0], args[1:])
    elif command == "stats" and len(args) >= 2:
        stats(args[0], args[1], args[2:])
    else:
        die(f"bad usage: {' '.join(argv[1:])}")


if __name__ == "__main__":
    main(sys.argv)
