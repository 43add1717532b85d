# tests/e2e/helpers.bash -- shared by every .bats file.
#
# Each file is one scenario family.  setup_file gets a real MariaDB (the
# run's shared server when tests/run.sh started one, else a private one),
# a database of its own with sql/schema.sql, and the service's environment.
# Requests go through real nginx/lighttpd/spawn-fcgi, cgi-fcgi, or the
# binary as plain CGI.  Signatures are computed here with openssl, never
# with the code under test.

ZE_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
export ZE_ROOT
# shellcheck source=../lib/mariadb.sh
. "$ZE_ROOT/tests/lib/mariadb.sh"
# shellcheck source=../lib/stack.sh
. "$ZE_ROOT/tests/lib/stack.sh"

ZE_SECRET=${ZE_SECRET:-e2e-secret-5f1c9a}

# ---- set-up and tear-down ----

# ze_setup_env [private]: "private" starts a server of this file's own,
# also on a loopback TCP port (DB_PORT), for suites that kill or
# reconfigure it.
ze_setup_env() {
    export ZT=$BATS_FILE_TMPDIR
    if [ -n "${ZE_TEST_DB_DIR:-}" ] && [ "${1:-}" != private ]; then
        export DBDIR=$ZE_TEST_DB_DIR
        export ZE_OWN_DB=""
    else
        export DBDIR=$ZT/db DB_PORT ZE_OWN_DB=1
        DB_PORT=$(ze_free_port)
        ze_db_start "$DBDIR" "$DB_PORT"
    fi
    DBNAME=ze_$(basename "$BATS_TEST_FILENAME" .bats | tr -c 'a-z0-9_\n' _)
    export DBNAME
    ze_db_create "$DBDIR" "$DBNAME"
    # Start from a clean environment: only what the tests set.
    local v
    for v in $(env | sed -n 's/^\(ZOOM_EVENTS_[A-Z_]*\)=.*/\1/p'); do
        unset "$v"
    done
    export ZOOM_EVENTS_DB_SOCKET=$DBDIR/mysqld.sock
    export ZOOM_EVENTS_DB_USER=root
    export ZOOM_EVENTS_DB_NAME=$DBNAME
    export ZOOM_EVENTS_WEBHOOK_SECRET=$ZE_SECRET
    export ZOOM_EVENTS_SPOOL_DIR=$ZT/spool
    export ZOOM_EVENTS_LOG=$ZT/zoom_events.log
    export ZOOM_EVENTS_STATS_CACHE_MS=0
    export ZOOM_EVENTS_CONFIG=/dev/null
    # Sanitizer reports of the workers (whose stderr spawn-fcgi discards)
    # go to files that ze_check_clean looks for.
    export ASAN_OPTIONS="log_path=$ZT/asan:detect_leaks=1"
    export UBSAN_OPTIONS="log_path=$ZT/ubsan:print_stacktrace=1:halt_on_error=1"
    export LSAN_OPTIONS="suppressions=$ZE_ROOT/tests/lsan.supp:print_suppressions=0"
}

ze_teardown_env() {
    [ -n "${ZT:-}" ] || return 0
    ze_nginx_stop "$ZT"
    ze_lighttpd_stop "$ZT"
    ze_workers_stop "$ZT"
    if [ -n "${ZE_OWN_DB:-}" ]; then
        ze_db_stop "$DBDIR"
    fi
}

# nginx (HTTPS and loopback HTTP) in front of N spawn-fcgi workers.
ze_start_nginx_stack() {
    local n=${1:-3}
    ze_workers_start "$ZT" "$n"
    export HTTPS_PORT HTTP_PORT
    HTTPS_PORT=$(ze_free_port)
    HTTP_PORT=$(ze_free_port "$HTTPS_PORT")
    ze_nginx_start "$ZT" "$ZT/fcgi.sock" "$HTTPS_PORT" "$HTTP_PORT"
    export BASE=http://127.0.0.1:$HTTP_PORT
}

# After a failed test, show the end of the service's log (bats prints a
# failing test's output only).
ze_dump_on_failure() {
    if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "$ZT/zoom_events.log" ]; then
        echo "--- last lines of zoom_events.log:" >&2
        tail -n 15 "$ZT/zoom_events.log" >&2
    fi
}

# Fail when a worker died or a sanitizer reported anything.  A crash must
# never pass as a rejection.
ze_check_clean() {
    local pid f
    ze_dump_on_failure
    for pid in $(ze_workers_pids "$ZT"); do
        if ! ze_alive "$pid"; then
            echo "worker $pid died" >&2
            return 1
        fi
    done
    for f in "$ZT"/asan.* "$ZT"/ubsan.*; do
        [ -e "$f" ] || continue
        echo "sanitizer report $f:" >&2
        cat "$f" >&2
        return 1
    done
    if grep -E "AddressSanitizer|runtime error|LeakSanitizer" \
        "$ZT/zoom_events.log" 2>/dev/null; then
        return 1
    fi
}

# ---- the database ----

ze_sql() {
    ze_db_sql "$DBDIR" -N -B "$DBNAME" -e "$1"
}

ze_count() {
    ze_sql "SELECT COUNT(*) FROM ${1:-zoom_visit_events}${2:+ WHERE $2}"
}

# ---- payloads and signatures ----

# A Zoom meeting event as JSON.  Participant fields are left out when
# empty; ts defaults to a fresh millisecond value.
ze_event() {
    local event=$1 id=$2 uuid=$3 ts=${4:-} pid=${5:-} pname=${6:-} p=""
    [ -n "$ts" ] || ts=$(date +%s%N | cut -c1-13)
    if [ -n "$pid" ] || [ -n "$pname" ]; then
        p=',"participant":{'
        [ -n "$pid" ] && p="$p\"user_id\":\"$pid\""
        [ -n "$pid" ] && [ -n "$pname" ] && p="$p,"
        [ -n "$pname" ] && p="$p\"user_name\":\"$pname\""
        p="$p}"
    fi
    printf '{"event":"%s","event_ts":%s,"payload":{"account_id":"acc1","object":{"id":"%s","uuid":"%s","host_id":"h1","topic":"Visit"%s}}}' \
        "$event" "$ts" "$id" "$uuid" "$p"
}

# HMAC-SHA256 hex of stdin with the key, by openssl.
ze_hmac() {
    openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1
}

# Print "TIMESTAMP SIGNATURE" for body (arg 1) at ts (arg 2, default now)
# with secret (arg 3, default ZE_SECRET).
ze_sign() {
    local body=$1 ts=${2:-$(date +%s)} secret=${3:-$ZE_SECRET}
    printf '%s %s\n' "$ts" "v0=$(printf 'v0:%s:%s' "$ts" "$body" | ze_hmac "$secret")"
}

# ---- HTTP ----

# ze_http METHOD URL [BODY [CURL-ARGS...]]: sets HTTP_STATUS, HTTP_BODY,
# HTTP_HEADERS (lowercase names).
ze_http() {
    local method=$1 url=$2 body=${3-} has_body=${3+1} args=()
    shift 2
    [ $# -gt 0 ] && shift
    if [ "$method" = HEAD ]; then
        args=(-I)
    else
        args=(-X "$method")
    fi
    if [ -n "$has_body" ]; then
        printf '%s' "$body" >"$ZT/req.body"
        args+=(--data-binary "@$ZT/req.body")
    fi
    HTTP_STATUS=$(curl -ksS --max-time 10 -o "$ZT/resp.body" \
        -D "$ZT/resp.headers" -w '%{http_code}' "${args[@]}" "$@" "$url")
    if [ "$method" = HEAD ]; then
        # curl -I writes the headers as the output: what follows them
        # would be a body.
        HTTP_BODY=$(sed '1,/^\r*$/d' "$ZT/resp.body")
    else
        HTTP_BODY=$(cat "$ZT/resp.body")
    fi
    HTTP_HEADERS=$(tr 'A-Z' 'a-z' <"$ZT/resp.headers" | tr -d '\r')
}

# POST a body signed now (or as told by ZE_TS / ZE_SIG overrides).
ze_post() {
    local url=$1 body=$2 ts sig
    shift 2
    read -r ts sig < <(ze_sign "$body")
    ze_http POST "$url" "$body" \
        -H "Content-Type: ${ZE_CT:-application/json}" \
        -H "x-zm-request-timestamp: ${ZE_TS:-$ts}" \
        -H "x-zm-signature: ${ZE_SIG:-$sig}" \
        -H "x-zm-request-id: ${ZE_REQID:-test-$RANDOM}" "$@"
}

# The value of a JSON field in HTTP_BODY (flat numbers/strings/null only).
ze_json() {
    printf '%s' "${2:-$HTTP_BODY}" |
        sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" | tr -d '"'
}

ze_health() {
    ze_http GET "$BASE/zoom_events/health"
}

# ---- FastCGI and CGI without a web server ----

# ze_fcgi SOCK METHOD PATH [BODY [VAR=VALUE...]]: one request through
# cgi-fcgi, with nginx's stock parameters (no PATH_INFO).  Sets
# HTTP_STATUS and HTTP_BODY.
ze_fcgi() {
    local sock=$1 method=$2 path=$3 body=${4-} out
    shift 3
    [ $# -gt 0 ] && shift
    printf '%s' "$body" >"$ZT/req.body"
    out=$(env -i REQUEST_METHOD="$method" SCRIPT_NAME="$path" \
        DOCUMENT_URI="$path" REQUEST_URI="$path" \
        CONTENT_TYPE=application/json \
        CONTENT_LENGTH="$(wc -c <"$ZT/req.body")" "$@" \
        cgi-fcgi -bind -connect "$sock" <"$ZT/req.body")
    HTTP_STATUS=$(printf '%s\n' "$out" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
    HTTP_BODY=$(printf '%s\n' "$out" | sed '1,/^\r*$/d')
}

# ze_cgi METHOD PATH_INFO [BODY [VAR=VALUE...]]: the binary as plain CGI.
ze_cgi() {
    local method=$1 path=$2 body=${3-} out
    shift 2
    [ $# -gt 0 ] && shift
    printf '%s' "$body" >"$ZT/req.body"
    out=$(env REQUEST_METHOD="$method" PATH_INFO="$path" \
        CONTENT_TYPE=application/json \
        CONTENT_LENGTH="$(wc -c <"$ZT/req.body")" "$@" \
        "$ZE_BIN" <"$ZT/req.body")
    HTTP_STATUS=$(printf '%s\n' "$out" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
    HTTP_HEADERS=$(printf '%s\n' "$out" | sed '/^\r*$/q' | tr 'A-Z' 'a-z' | tr -d '\r')
    HTTP_BODY=$(printf '%s\n' "$out" | sed '1,/^\r*$/d')
}

# ze_refute CMD...: fail when CMD succeeds.  (A bare "! CMD" never fails a
# bats test: errexit ignores negated commands.)
ze_refute() {
    if "$@"; then
        echo "unexpectedly succeeded: $*" >&2
        return 1
    fi
}

# Assert helpers that print what they compared on failure.
ze_eq() {
    if [ "$1" != "$2" ]; then
        printf 'expected: %s\n  actual: %s\n' "$2" "$1" >&2
        return 1
    fi
}
