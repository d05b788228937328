#!/usr/bin/env bash
# The Kubernetes manifests (deploy/kubernetes), validated offline: no cluster is needed.
# - every built-in object against the Kubernetes 1.37 schemas that PyPI's
#   kubernetes-validate ships, strictly (an unknown field is an error);
# - the Argo Rollouts objects (Rollout, AnalysisTemplate) against the schemas of npm's
#   @kubernetes-models/argo-rollouts, generated from Argo Rollouts' own types, with
#   unknown fields refused too; the Rollout's pod template also as a Kubernetes PodTemplate;
# - what no schema says: the canary steps are 10 %, analysis, 50 %, analysis, 100 %; the
#   analysis queries parse as PromQL (`promtool check rules`, Debian's prometheus package,
#   installed when missing), name metrics the server exports (crates/server) and check the 5xx
#   rate (threshold argument, default 0.01) and the p99 latency of the canary's pods;
#   every container is hardened (runAsNonRoot, readOnlyRootFilesystem, no privilege
#   escalation, capabilities drop ALL, seccomp RuntimeDefault); probes on /health and
#   /ready; the Services, the PodDisruptionBudget and a NetworkPolicy select the pods, and
#   a default-deny policy exists; no Secret values are committed; kustomization.yaml lists
#   every manifest.
# kubernetes-validate is installed with pip when missing, and the npm package (pinned by
# scripts/lib/kubernetes/package-lock.json) into $FERRETWATCH_CACHE_DIR/kubernetes-validate
# (default ${XDG_CACHE_HOME:-~/.cache}/ferretwatch), outside the repository.
# Exits 0 when all is valid, 1 with one line per problem, 2 on a usage error.
#
#   ./scripts/validate-kubernetes.sh [--manifests DIR]   (default: deploy/kubernetes)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

manifests="$root/deploy/kubernetes"
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        --manifests)
            [[ $# -ge 2 ]] || { echo "--manifests needs a directory (see --help)" >&2; exit 2; }
            manifests="$2"
            shift 2
            ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -d "$manifests" ]] || { echo "--manifests $manifests: not a directory" >&2; exit 2; }
manifests="$(cd "$manifests" && pwd)"

cache="${FERRETWATCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ferretwatch}/kubernetes-validate"
mkdir -p "$cache"
lib="$root/scripts/lib/kubernetes"

# One installer at a time (tests run this script in parallel).
exec 9>"$cache/.lock"
flock 9

if ! python3 -c 'import kubernetes_validate, yaml; assert kubernetes_validate.__version__.startswith("1.37.")' 2>/dev/null; then
    echo "== installing kubernetes-validate 1.37 (pip)" >&2
    python3 -m pip install --quiet 'kubernetes-validate==1.37.*' >&2
fi

missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v promtool >/dev/null || missing+=(prometheus)
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "== installing ${missing[*]} (Debian)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

# npm ci writes node_modules/.package-lock.json last: it marks a finished install of the
# lock file copied beside it.
if ! cmp -s "$lib/package-lock.json" "$cache/package-lock.json" \
    || [[ ! -f "$cache/node_modules/.package-lock.json" ]] \
    || [[ ! -d "$cache/node_modules/@kubernetes-models/argo-rollouts/_schemas" ]]; then
    echo "== installing @kubernetes-models/argo-rollouts (npm ci in $cache)" >&2
    cp "$lib/package.json" "$lib/package-lock.json" "$cache/"
    (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
flock -u 9

exec python3 -B "$lib/check.py" --manifests "$manifests" \
    --metrics-source "$root/crates/server/src" --node-modules "$cache/node_modules"
