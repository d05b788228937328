#!/usr/bin/env bash
# Builds the labelled URL lists for `ferretwatch pack test --urls` from public sources in
# the package registries, reproducibly (pinned versions, sorted output).
#
#   bench/eval-sets.sh [OUT_DIR]      default: target/eval
#
# Then, for example:
#   ferretwatch pack test dist tests/corpus --urls target/eval/measure/lookalikes.tsv \
#       --urls target/eval/measure/popular.tsv --urls target/eval/measure/resembling.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/eval}
src="$out/sources"
mkdir -p "$src"

DNSTWIST=20250130
MISP=1.7.0
ETH=1.2.0

venv="$out/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet "dnstwist==$DNSTWIST" "idna" >/dev/null

if [ ! -d "$src/misp" ]; then
    tmp=$(mktemp -d)
    "$venv/bin/pip" download --quiet --no-deps "pymispwarninglists==$MISP" -d "$tmp"
    python3 - "$tmp"/pymispwarninglists-*.whl "$src/misp" <<'EOF'
import sys, zipfile, os
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "pymispwarninglists/data/misp-warninglists/lists/"
with zipfile.ZipFile(wheel) as z:
    for name in ("tranco10k", "cisco_top20k", "bank-website"):
        data = z.read(prefix + name + "/list.json")
        os.makedirs(os.path.join(dest, name), exist_ok=True)
        open(os.path.join(dest, name, "list.json"), "wb").write(data)
EOF
    rm -rf "$tmp"
fi

if [ ! -f "$src/eth-phishing-detect/config.json" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "eth-phishing-detect@$ETH" >/dev/null && tar xzf eth-phishing-detect-*.tgz)
    mkdir -p "$src/eth-phishing-detect"
    cp "$tmp/package/src/config.json" "$src/eth-phishing-detect/config.json"
    rm -rf "$tmp"
fi

if [ ! -f "$src/words" ]; then
    if [ ! -f /usr/share/dict/american-english ]; then
        sudo_=""
        [ "$(id -u)" -ne 0 ] && sudo_=sudo
        $sudo_ apt-get install -y -qq wamerican >/dev/null
    fi
    cp /usr/share/dict/american-english "$src/words"
fi

"$venv/bin/python" bench/eval_sets.py crates/detect/data/brands.json "$src" "$out"

# The popular-domain guard: with --guard, rewrite crates/detect/data/popular_domains.json
# from the tuning popularity list (needs a built `ferretwatch`).
if [ "${2:-}" = "--guard" ]; then
    "$venv/bin/pip" install --quiet "tldextract==5.1.3" >/dev/null
    bin=${FERRETWATCH:-target/debug/ferretwatch}
    "$bin" rules default | python3 -c 'import json,sys; r=json.load(sys.stdin); r["allowlists"]["popular_domains"]=[]; print(json.dumps(r))' > "$out/unguarded.json"
    cut -f3 "$out/tune/popular.tsv" | "$bin" scan --batch - --rules "$out/unguarded.json" > "$out/popular-scan.jsonl"
    "$venv/bin/python" bench/popular_guard.py "$out/tune/popular.tsv" "$out/popular-scan.jsonl" crates/detect/data/popular_domains.json
fi
