# shellcheck shell=bash
# Sourced by scripts/security-scan.sh and scripts/check-dependencies.sh: where the RustSec
# advisory database is, fetched with git when needed.

# advisory_db: prints the database's directory. FERRETWATCH_ADVISORY_DB when set (a local
# copy, used as it is); otherwise a clone of FERRETWATCH_ADVISORY_DB_URL (default
# https://github.com/rustsec/advisory-db) kept in
# ${XDG_CACHE_HOME:-$HOME/.cache}/ferretwatch/advisory-db: cloned the first time, pulled
# after. When the pull fails, the copy there is used and a WARN line says so (the scan
# then reports its age). Returns 2, having said why on stderr, when there is none.
advisory_db() {
    if [[ -n "${FERRETWATCH_ADVISORY_DB:-}" ]]; then
        if [[ ! -d "$FERRETWATCH_ADVISORY_DB/crates" ]]; then
            echo "FERRETWATCH_ADVISORY_DB=$FERRETWATCH_ADVISORY_DB is not an advisory database (no crates/ in it)" >&2
            return 2
        fi
        echo "$FERRETWATCH_ADVISORY_DB"
        return 0
    fi
    local url="${FERRETWATCH_ADVISORY_DB_URL:-https://github.com/rustsec/advisory-db}"
    local dir="${XDG_CACHE_HOME:-$HOME/.cache}/ferretwatch/advisory-db"
    if ! command -v git >/dev/null; then
        echo "git is needed to fetch the advisory database (apt-get install git), or set FERRETWATCH_ADVISORY_DB to a local copy" >&2
        return 2
    fi
    local err
    if [[ -d "$dir/.git" ]]; then
        if ! err="$(timeout 300 git -C "$dir" fetch --quiet --depth 1 "$url" HEAD 2>&1 \
            && git -C "$dir" reset --quiet --hard FETCH_HEAD 2>&1)"; then
            echo "WARN advisory database: could not update $dir from $url ($(echo "$err" | tr '\n' ' ' | cut -c1-200)); using the copy there"
        fi
    else
        mkdir -p "$(dirname "$dir")"
        rm -rf "$dir.partial"
        if ! err="$(timeout 300 git clone --quiet --depth 1 "$url" "$dir.partial" 2>&1)"; then
            rm -rf "$dir.partial"
            echo "no advisory database: cloning $url failed ($(echo "$err" | tr '\n' ' ' | cut -c1-200)) and there is no copy in $dir; set FERRETWATCH_ADVISORY_DB to a local copy" >&2
            return 2
        fi
        mv "$dir.partial" "$dir"
    fi
    echo "$dir"
}

# advisory_exceptions FILE: the accepted advisories of FILE (FERRETWATCH_ADVISORY_EXCEPTIONS,
# default deploy/security/advisory-exceptions.tsv; tab-separated ID, REVIEW-BY date,
# reason) as `--ignore ID` arguments, one per line, for those not past their review date.
# A lapsed one is said on a WARN line (on stderr) and counts again.
advisory_exceptions() {
    local file="$1" today id until reason
    [[ -f "$file" ]] || return 0
    today="$(date -u +%Y-%m-%d)"
    while IFS=$'\t' read -r id until reason; do
        [[ -z "$id" || "$id" == \#* ]] && continue
        if [[ ! "$until" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
            echo "WARN advisory exception $id in $file: review date \"$until\" is not YYYY-MM-DD; not applied" >&2
        elif [[ "$today" > "$until" ]]; then
            echo "WARN advisory exception $id lapsed on $until: review it ($reason)" >&2
        else
            echo "note advisory exception $id until $until: $reason" >&2
            printf -- '--ignore\n%s\n' "$id"
        fi
    done <"$file"
}

# security_exec SUBCOMMAND ROOT [FLAG]...: `ferretwatch security SUBCOMMAND` in place of the
# shell, on the advisory database (a WARN line from its fetch printed first), ROOT's
# Cargo.lock (or FERRETWATCH_LOCKFILE), the accepted exceptions and the given flags.
# Exits 2 when there is no database.
security_exec() {
    local command="$1" root="$2" db ignores
    shift 2
    db="$(advisory_db)" || exit 2
    mapfile -t ignores < <(advisory_exceptions "${FERRETWATCH_ADVISORY_EXCEPTIONS:-$root/deploy/security/advisory-exceptions.tsv}")
    # A WARN line from the fetch comes first, the directory last.
    [[ "$db" == *$'\n'* ]] && { printf '%s\n' "${db%$'\n'*}"; db="${db##*$'\n'}"; }
    exec "${FERRETWATCH_BIN:-ferretwatch}" security "$command" --advisory-db "$db" \
        --lockfile "${FERRETWATCH_LOCKFILE:-$root/Cargo.lock}" \
        --max-db-age-days "${FERRETWATCH_ADVISORY_MAX_AGE_DAYS:-7}" "$@" ${ignores[@]+"${ignores[@]}"}
}

# usage SCRIPT: its leading comment, the usage text.
usage() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$1"
}
