#!/usr/bin/env bats
# Issue 14, protected health information through its whole life: TLS to
# MariaDB (verify_identity with a test-made CA, refusals that say why, the
# spool while the certificate is wrong, required against a server without
# TLS, the default by host), encryption at rest (no plaintext name in the
# InnoDB files of an encrypted server, or in a sealed spool), minimisation
# (store_raw redacted/none, participant_name pseudonymise/drop, and a
# strictest set-up that leaves no PHI string anywhere the service writes),
# retention (purge, in batches, under load, twice at once) and the audit
# trail (append-only for the service's account).
#
# Everything runs against real MariaDB servers of this file (tests/lib/
# phi.sh): the file's own server speaks TLS with a certificate for
# localhost/127.0.0.1; a server with a certificate for another host name, a
# server without TLS and an encrypted server start in the background in
# setup_file and serve the tests that need them.  Requests go through
# nginx and spawn-fcgi workers, the binary as CGI, or its commands.

load helpers
. "$ZE_ROOT/tests/lib/phi.sh"

# The distinctive strings of PHI that the tests look for on disk.
NAME="Zyxwv Qutsrp"

setup_file() {
    ze_setup_env private
    export CERTS=$ZT/certs PHI_PW=phi-Pw-7c41e
    export PLAIN_PORT OTHER_PORT ENC_PORT
    PLAIN_PORT=$(ze_free_port "$DB_PORT")
    OTHER_PORT=$(ze_free_port "$DB_PORT" "$PLAIN_PORT")
    ENC_PORT=$(ze_free_port "$DB_PORT" "$PLAIN_PORT" "$OTHER_PORT")
    # The encrypted server has an installation of its own (its system
    # tables encrypted too).  It, and the two servers below, start in the
    # background while the first tests run; srv waits for them.
    srv_background enc ze_db_start_encrypted "$ZT/srv-enc" "$ENC_PORT"
    ze_make_db_certs "$CERTS" >/dev/null
    # The file's server again, now with TLS (same data directory and
    # port), and two copies of its data directory (with $DBNAME and the
    # schema): a server without TLS, and one whose certificate names
    # another host.
    ze_db_stop "$DBDIR"
    local s
    for s in plain other; do
        mkdir -p "$ZT/srv-$s/tmp"
        cp -a "$DBDIR/data" "$ZT/srv-$s/data"
    done
    srv_background plain start_plain
    srv_background other start_other
    ze_db_start_tls "$DBDIR" "$DB_PORT" "$CERTS"
    # A password account for TCP that the server refuses without TLS.
    ze_db_sql "$DBDIR" -e "CREATE USER 'phi'@'127.0.0.1' IDENTIFIED BY '$PHI_PW' REQUIRE SSL;
        GRANT ALL ON \`$DBNAME\`.* TO 'phi'@'127.0.0.1'"
    export ZOOM_EVENTS_DB_RETRY_MS=200
    ze_start_nginx_stack 2
}

start_plain() {
    TMPDIR=$ZT/srv-plain/tmp ze_db_start "$ZT/srv-plain" "$PLAIN_PORT"
}

start_other() {
    ze_make_db_certs "$ZT/certs-other" db.zoom-events.test >/dev/null &&
        TMPDIR=$ZT/srv-other/tmp ze_db_start_tls "$ZT/srv-other" "$OTHER_PORT" "$ZT/certs-other"
}

# srv_background NAME COMMAND...: start server NAME (in $ZT/srv-NAME) with
# COMMAND in the background; then give it $DBNAME with the schema (unless
# it has it) and the TCP account phi, and mark it ready.
srv_background() {
    local dir=$ZT/srv-$1
    shift
    mkdir -p "$dir"
    (
        "$@" || exit 1
        if [ ! -d "$dir/data/$DBNAME" ]; then
            ze_db_create "$dir" "$DBNAME" || exit 1
        fi
        ze_db_sql "$dir" -e "CREATE USER 'phi'@'127.0.0.1' IDENTIFIED BY '$PHI_PW';
            GRANT ALL ON \`$DBNAME\`.* TO 'phi'@'127.0.0.1'" || exit 1
        touch "$dir/ready"
    ) </dev/null >"$dir.log" 2>&1 3>&- &
    echo $! >"$dir.job"
}

teardown_file() {
    local d i
    ze_teardown_env
    for d in "$ZT"/srv-*/; do
        d=${d%/}
        # A server still starting is waited for, then stopped.
        for i in $(seq 1 600); do
            ze_alive "$(cat "$d.job" 2>/dev/null)" || break
            sleep 0.1
        done
        ze_db_stop "$d"
    done
    return 0
}

teardown() {
    # The file's server up again for the next test, whatever this one did.
    if ! ze_alive "$(ze_db_pid "$DBDIR")"; then
        db_restart
    fi
    ze_check_clean
}

# ---- helpers ----

db_restart() {
    ze_db_start_tls "$DBDIR" "$DB_PORT" "$CERTS" 3>&-
}

# srv plain|other|enc: the file's other servers (setup_file), as SRV (its
# directory) and SRV_PORT: without TLS; TLS with a certificate for
# db.zoom-events.test from $ZT/certs-other/ca.pem; data-at-rest encryption.
srv() {
    local i
    SRV=$ZT/srv-$1
    case $1 in
    plain) SRV_PORT=$PLAIN_PORT ;;
    other) SRV_PORT=$OTHER_PORT ;;
    enc) SRV_PORT=$ENC_PORT ;;
    esac
    for i in $(seq 1 1200); do
        [ -e "$SRV/ready" ] && return 0
        sleep 0.1
    done
    echo "server $1 did not start:" >&2
    cat "$SRV.log" >&2
    return 1
}

# The settings that reach a server over TCP as phi (no socket), into the
# array TCP: tcp_env PORT [VAR=VALUE...].
tcp_env() {
    local port=$1
    shift
    TCP=(ZOOM_EVENTS_DB_SOCKET= ZOOM_EVENTS_DB_HOST=127.0.0.1
        "ZOOM_EVENTS_DB_PORT=$port" ZOOM_EVENTS_DB_USER=phi
        "ZOOM_EVENTS_DB_PASSWORD=$PHI_PW" "$@")
}

# The file's server over TCP with verify_identity and CA (default: the
# right one).
tls_env() {
    tcp_env "$DB_PORT" ZOOM_EVENTS_DB_SSL_MODE=verify_identity \
        "ZOOM_EVENTS_DB_SSL_CA=${1:-$CERTS/ca.pem}"
}

# workers_with VAR=VALUE...: replace the pool behind nginx by 2 workers
# with these settings on top of the file's.
workers_with() {
    ze_workers_stop "$ZT"
    (
        for kv in "$@"; do
            export "${kv?}"
        done
        ze_workers_start "$ZT" 2
    ) 3>&-
}

# The default pool: the file's server over its socket as root.
workers_default() {
    workers_with
}

# Milliseconds now, without a process (this machine forks slowly).
now_ms() {
    printf -v "$1" '%s' $(( ${EPOCHREALTIME/./} / 1000 ))
}

iso() {
    TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T' $(($1 / 1000))
}

# post BODY: ze_post's request (signed now, or with ZE_SIG) with three
# processes instead of ten; sets HTTP_STATUS, HTTP_HEADERS (lowercase),
# HTTP_BODY and OUTCOME (x-zoom-events-outcome).
post() {
    local body=$1 ts sig out
    printf -v ts '%(%s)T' -1
    sig=$(printf 'v0:%s:%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$ZE_SECRET" -r)
    out=$(curl -sS --max-time 10 -D - -o "$ZT/resp.body" -w '\n%{http_code}' \
        -H 'Content-Type: application/json' -H "x-zm-request-timestamp: $ts" \
        -H "x-zm-signature: ${ZE_SIG:-v0=${sig%% *}}" \
        -H "x-zm-request-id: phi-$RANDOM$RANDOM" --data-binary "$body" \
        "$BASE/zoom_events/events")
    HTTP_STATUS=${out##*$'\n'}
    HTTP_HEADERS=${out%$'\n'*}
    HTTP_HEADERS=${HTTP_HEADERS,,}
    HTTP_HEADERS=${HTTP_HEADERS//$'\r'/}
    HTTP_BODY=""
    IFS= read -r -d '' HTTP_BODY <"$ZT/resp.body" || true
    OUTCOME=""
    if [[ $HTTP_HEADERS =~ x-zoom-events-outcome:\ ([a-z_]+) ]]; then
        OUTCOME=${BASH_REMATCH[1]}
    fi
}

# post_expect BODY OUTCOME: posted through nginx, answered 202 with it.
post_expect() {
    post "$1"
    ze_eq "$HTTP_STATUS $OUTCOME" "202 $2"
}

# health: the loopback health JSON into HTTP_BODY; field NAME prints a
# flat field of it.
health() {
    HTTP_BODY=$(curl -sS --max-time 10 "$BASE/zoom_events/health")
}
field() {
    local v=""
    if [[ $HTTP_BODY =~ \"$1\":(\"[^\"]*\"|[^,\}]*) ]]; then
        v=${BASH_REMATCH[1]}
        v=${v//\"/}
    fi
    printf '%s' "$v"
}

# cgi_post BODY [VAR=VALUE...]: a signed delivery to the binary as CGI.
cgi_post() {
    local body=$1 ts sig
    shift
    read -r ts sig < <(ze_sign "$body")
    ze_cgi POST /zoom_events/events "$body" HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" \
        HTTP_X_ZM_SIGNATURE="$sig" HTTP_X_ZM_REQUEST_ID="cgi-$RANDOM$RANDOM" "$@"
}

# Where the service's log ends now, and what was written after that.
log_mark() {
    stat -c %s "$ZT/zoom_events.log" 2>/dev/null || echo 0
}
log_since() {
    tail -c +$(($1 + 1)) "$ZT/zoom_events.log"
}

# Health checks (each may drain the spool) until spool_pending is 0.
drain_by_health() {
    local i
    for i in $(seq 1 100); do
        health
        if [ "$(field db)" = up ] && [ "$(field spool_pending)" = 0 ]; then
            return 0
        fi
        sleep 0.2
    done
    echo "spool not drained: $HTTP_BODY" >&2
    return 1
}

# pevent EVENT MEETING UUID TS USER_ID NAME [EMAIL PHONE IP TOPIC]: a
# participant event carrying PHI where Zoom puts it.
pevent() {
    local event=$1 mid=$2 uuid=$3 ts=$4 uid=$5 name=$6 email=${7:-} phone=${8:-}
    local ip=${9:-} topic=${10:-Visit} when=join_time
    [ "$event" = meeting.participant_left ] && when=leave_time
    printf '{"event":"%s","event_ts":%s,"payload":{"account_id":"acc1","object":{"id":"%s","uuid":"%s","host_id":"h1","topic":"%s","participant":{"user_id":"%s","id":"person-%s","user_name":"%s","email":"%s","phone_number":"%s","public_ip":"%s","%s":"%s"}}}}' \
        "$event" "$ts" "$mid" "$uuid" "$topic" "$uid" "$uid" "$name" "$email" \
        "$phone" "$ip" "$when" "$(iso "$ts")"
}

# mevent EVENT MEETING UUID TS [TOPIC]: a meeting event without a
# participant.
mevent() {
    local event=$1 mid=$2 uuid=$3 ts=$4 topic=${5:-Visit} when=start_time
    [ "$event" = meeting.ended ] && when=end_time
    printf '{"event":"%s","event_ts":%s,"payload":{"account_id":"acc1","object":{"id":"%s","uuid":"%s","host_id":"h1","topic":"%s","%s":"%s"}}}' \
        "$event" "$ts" "$mid" "$uuid" "$topic" "$when" "$(iso "$ts")"
}

# burst PREFIX N OUT: N distinct signed events (uuid PREFIX-i) posted back
# to back by one curl, signed by one openssl; "PREFIX-i http_code" per
# request is appended to OUT.
burst() {
    local prefix=$1 n=$2 out=$3 dir=$ZT/burst-$1 ts i hex f
    mkdir -p "$dir"
    printf -v ts '%(%s)T' -1
    for ((i = 1; i <= n; i++)); do
        printf '{"event":"meeting.participant_joined","event_ts":%s,"payload":{"object":{"id":"14040","uuid":"%s-%s","participant":{"user_id":"u-%s"}}}}' \
            "$((ts * 1000 + i))" "$prefix" "$i" "$i" >"$dir/$i.json"
        printf 'v0:%s:%s' "$ts" "$(<"$dir/$i.json")" >"$dir/$i.msg"
    done
    openssl dgst -sha256 -hmac "$ZE_SECRET" -r "$dir"/*.msg >"$dir/sigs"
    : >"$dir/curl.cfg"
    while read -r hex f; do
        i=${f##*/}
        i=${i%.msg}
        [ -s "$dir/curl.cfg" ] && echo next >>"$dir/curl.cfg"
        printf '%s\n' "url = \"$BASE/zoom_events/events\"" \
            'header = "Content-Type: application/json"' \
            "header = \"x-zm-request-timestamp: $ts\"" \
            "header = \"x-zm-signature: v0=$hex\"" \
            "header = \"x-zm-request-id: $prefix-$i\"" \
            "data-binary = \"@$dir/$i.json\"" 'output = "/dev/null"' \
            "write-out = \"$prefix-$i %{http_code}\\n\"" >>"$dir/curl.cfg"
    done <"$dir/sigs"
    curl -s --max-time 60 -K "$dir/curl.cfg" >>"$out"
}

# Write dirty InnoDB pages to their files and wait for the checkpoint, so
# that what was committed is in the .ibd files and not only in memory.
checkpoint() {
    local dir=$1 i d
    ze_db_sql "$dir" "$DBNAME" -e "FLUSH TABLES zoom_visit_events,
        zoom_rejected_events, zoom_deliveries FOR EXPORT; UNLOCK TABLES;
        SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0.001;
        SET GLOBAL innodb_max_dirty_pages_pct = 0"
    for i in $(seq 1 150); do
        d=$(ze_db_sql "$dir" -N -B -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | cut -f2)
        [ "$d" = 0 ] && return 0
        sleep 0.1
    done
    echo "dirty pages left: $d" >&2
    return 1
}

# The files of a server that hold table data and logs: the tablespaces
# of $DBNAME, the system tablespace, redo and undo logs, the temporary
# tablespace, binary logs, the Aria log, temporary files.
db_files() {
    ls -d "$1/data/$DBNAME"/*.ibd "$1"/data/ib* "$1"/data/undo* \
        "$1"/data/binlog.0* "$1"/data/aria_log.* "$1"/tmp/* 2>/dev/null
}

# Every file under a server's directories that holds STRING (one grep for
# all, so that no file is left out).
files_with() {
    LC_ALL=C grep -rlF -e "$2" "$1/data" "$1/tmp" || true
}

# A dump of the file's database as an operator would take it (blobs as
# escaped text, not hex, so that a plaintext in them shows).
dump_db() {
    mariadb-dump --no-defaults --socket="$DBDIR/mysqld.sock" -uroot \
        --single-transaction --skip-extended-insert "$DBNAME" >"$1"
}

key_file() {
    (umask 077 && openssl rand -hex 32 >"$1")
}

# ---- 1. TLS to the database ----

@test "TLS: verify_identity with the test CA: health has db up and a cipher, check-config prints it" {
    tls_env
    run env "${TCP[@]}" "$ZE_BIN" check-config
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    cipher=$(sed -n 's/^database: TLS //p' <<<"$output")
    [[ $cipher =~ ^[A-Z0-9_-]+$ ]] || { echo "database line: $cipher"; false; }
    [[ $output == *'[db] ssl_mode = "verify_identity"'* ]]
    [[ $output == *"[db] password = (set, hidden)"* ]]
    [[ $output != *"$PHI_PW"* ]]
    workers_with "${TCP[@]}"
    health
    ze_eq "$(field db)" up
    ze_eq "$(field db_tls)" "$cipher"
    now_ms t
    post_expect "$(ze_event meeting.started 14001 tls-ok-uuid "$t")" inserted
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'tls-ok-uuid'")" 1
    # The account is REQUIRE SSL: the server itself refuses it in plain
    # text, so the service's connection above was TLS on both ends.
    run mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$DB_PORT" -uphi \
        -p"$PHI_PW" --skip-ssl "$DBNAME" -e "SELECT 1"
    [ "$status" -ne 0 ]
    [[ $output == *"Access denied for user 'phi'@'127.0.0.1'"* ]]
}

@test "TLS: a wrong CA: db down, the log says why, events spooled (202); the right CA drains them exactly once" {
    tls_env "$CERTS/other-ca.pem"
    mark=$(log_mark)
    workers_with "${TCP[@]}" ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-ca"
    health
    ze_eq "$(field db) $(field db_tls)" "down "
    now_ms t
    for i in 1 2 3; do
        post_expect "$(ze_event meeting.participant_joined 14002 tls-ca-$i $((t + i)) u-$i "$NAME")" spooled
    done
    log_since "$mark" | grep -q 'level=warn .*msg="cannot connect to the database: TLS/SSL error: self-signed certificate in certificate chain"'
    run env "${TCP[@]}" "$ZE_BIN" check-config
    [ "$status" -eq 1 ]
    [[ $output == *"database: cannot connect: TLS/SSL error: self-signed certificate in certificate chain"* ]]
    ze_eq "$(ze_count zoom_visit_events "visit_uuid LIKE 'tls-ca-%'")" 0
    # The operator fixes ssl_ca: nothing was lost, nothing is doubled.
    tls_env
    workers_with "${TCP[@]}" ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-ca"
    drain_by_health
    [[ $(field db_tls) =~ ^[A-Z0-9_-]+$ ]]
    ze_eq "$(ze_sql "SELECT COUNT(*), COUNT(DISTINCT visit_uuid) FROM zoom_visit_events WHERE visit_uuid LIKE 'tls-ca-%'")" "$(printf '3\t3')"
    ze_eq "$(ze_count zoom_deliveries "meeting_id = '14002' AND outcome = 'replayed'")" 3
    run env "${TCP[@]}" ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-ca" "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    ze_eq "$output" "replayed 0, pending 0"
    ze_eq "$(ze_count zoom_visit_events "visit_uuid LIKE 'tls-ca-%'")" 3
}

@test "TLS: a certificate for another host name: verify_identity refuses and says why; the spooled event is kept" {
    srv other
    tcp_env "$SRV_PORT" ZOOM_EVENTS_DB_SSL_MODE=verify_identity \
        ZOOM_EVENTS_DB_SSL_CA="$ZT/certs-other/ca.pem" ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-host"
    run env "${TCP[@]}" "$ZE_BIN" check-config
    [ "$status" -eq 1 ]
    [[ $output == *"database: cannot connect: TLS/SSL error: Validation of SSL server certificate failed"* ]]
    mark=$(log_mark)
    ze_cgi GET /zoom_events/health "" "${TCP[@]}"
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(field db)" down
    log_since "$mark" | grep -q 'msg="cannot connect to the database: TLS/SSL error: Validation of SSL server certificate failed"'
    now_ms t
    cgi_post "$(ze_event meeting.started 14003 tls-host-uuid "$t")" "${TCP[@]}"
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
    # The same CA with verify_ca (the chain only) connects: it is the
    # name that was refused, not the chain.
    run env "${TCP[@]}" ZOOM_EVENTS_DB_SSL_MODE=verify_ca "$ZE_BIN" check-config
    [ "$status" -eq 0 ]
    [[ $output == *"database: TLS "[A-Z]* ]]
    ze_eq "$(ze_db_sql "$SRV" -N -B "$DBNAME" -e "SELECT COUNT(*) FROM zoom_visit_events")" 0
    # Nothing lost: the spool drains into the right server.
    tls_env
    run env "${TCP[@]}" ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-host" "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    ze_eq "$output" "replayed 1, pending 0"
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'tls-host-uuid'")" 1
}

@test "TLS: required or verify_ca against a server without TLS is refused; preferred connects in plain text" {
    srv plain
    tcp_env "$SRV_PORT" ZOOM_EVENTS_DB_SSL_CA="$CERTS/ca.pem" ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-plain"
    for mode in required verify_ca; do
        run env "${TCP[@]}" ZOOM_EVENTS_DB_SSL_MODE=$mode "$ZE_BIN" check-config
        [ "$status" -eq 1 ]
        [[ $output == *"database: cannot connect: TLS is required (ssl_mode), but the server did not negotiate it"* ]]
    done
    run env "${TCP[@]}" ZOOM_EVENTS_DB_SSL_MODE=verify_identity "$ZE_BIN" check-config
    [ "$status" -eq 1 ]
    [[ $output == *"database: cannot connect: TLS/SSL error: SSL is required, but the server does not support it"* ]]
    # The service itself: health down with the reason, the event spooled,
    # nothing written to the plain-text server.
    mark=$(log_mark)
    ze_cgi GET /zoom_events/health "" "${TCP[@]}" ZOOM_EVENTS_DB_SSL_MODE=required
    ze_eq "$(field db)" down
    log_since "$mark" | grep -q 'msg="cannot connect to the database: TLS is required (ssl_mode), but the server did not negotiate it"'
    now_ms t
    cgi_post "$(ze_event meeting.started 14004 tls-plain-uuid "$t")" "${TCP[@]}" ZOOM_EVENTS_DB_SSL_MODE=required
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
    ze_eq "$(ze_db_sql "$SRV" -N -B "$DBNAME" -e "SELECT COUNT(*) FROM zoom_visit_events")" 0
    run env "${TCP[@]}" ZOOM_EVENTS_DB_SSL_MODE=preferred "$ZE_BIN" check-config
    [ "$status" -eq 0 ]
    [[ $output == *"database: TLS off (not encrypted)"* ]]
}

@test "TLS: by default a host that is not local requires TLS; a loopback address prefers it" {
    # 2130706433 is 127.0.0.1 written as one number: the resolver takes
    # it, but it is not a local name to the service, so the default is
    # required.
    tcp_env "$PLAIN_PORT" ZOOM_EVENTS_DB_HOST=2130706433
    run env "${TCP[@]}" "$ZE_BIN" check-config
    [ "$status" -eq 1 ]
    [[ $output == *'[db] ssl_mode = ""'* ]]
    [[ $output == *"database: cannot connect: TLS is required (ssl_mode), but the server did not negotiate it"* ]]
    tcp_env "$DB_PORT" ZOOM_EVENTS_DB_HOST=2130706433
    run env "${TCP[@]}" "$ZE_BIN" check-config
    [ "$status" -eq 0 ]
    [[ $output == *"database: TLS "[A-Z]* ]]
    # 127.0.0.1 is local: TLS when the server has it, plain text when not.
    tcp_env "$PLAIN_PORT"
    run env "${TCP[@]}" "$ZE_BIN" check-config
    [ "$status" -eq 0 ]
    [[ $output == *"database: TLS off (not encrypted)"* ]]
    tcp_env "$DB_PORT"
    run env "${TCP[@]}" "$ZE_BIN" check-config
    [ "$status" -eq 0 ]
    [[ $output == *"database: TLS "[A-Z]* ]]
}

# ---- 2. Encryption at rest ----

# at_rest DIR TAG: post events and a dead letter naming $NAME through the
# service (CGI) into the server in DIR, check SELECT sees the name, and
# force it to disk.
at_rest() {
    local dir=$1 tag=$2 i t
    now_ms t
    for i in 1 2; do
        cgi_post "$(ze_event meeting.participant_joined 14010 "rest-$tag-$i" $((t + i)) "u-$i" "$NAME")" \
            ZOOM_EVENTS_DB_SOCKET="$dir/mysqld.sock" ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-rest"
        [[ $HTTP_HEADERS == *"x-zoom-events-outcome: inserted"* ]]
    done
    cgi_post "{\"event\":\"meeting.participant_joined\",\"event_ts\":\"1\",\"payload\":{\"object\":{\"id\":\"14010\",\"uuid\":\"rest-$tag-dl\",\"participant\":{\"user_name\":\"$NAME\"}}}}" \
        ZOOM_EVENTS_DB_SOCKET="$dir/mysqld.sock" ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-rest"
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: rejected"* ]]
    ze_eq "$(ze_db_sql "$dir" -N -B "$DBNAME" -e "SELECT
        (SELECT COUNT(*) FROM zoom_visit_events WHERE participant_name = '$NAME'),
        (SELECT COUNT(*) FROM zoom_rejected_events WHERE raw LIKE '%$NAME%')")" "$(printf '2\t1')"
    checkpoint "$dir"
}

@test "at rest: a name stored through the service is in no file of an encrypted server (and is in a plain server's)" {
    srv enc
    at_rest "$SRV" enc
    [ -s "$SRV/data/$DBNAME/zoom_visit_events.ibd" ]
    [ -s "$SRV/data/$DBNAME/zoom_rejected_events.ibd" ]
    [ -s "$SRV/data/ib_logfile0" ]
    [ "$(db_files "$SRV" | wc -l)" -ge 10 ]
    # shellcheck disable=SC2046
    ze_eq "$(ze_file_has "$NAME" $(db_files "$SRV"))" 0
    ze_eq "$(files_with "$SRV" "$NAME")" ""
    # The same checks on a server without encryption find it: they can
    # fail.
    srv plain
    at_rest "$SRV" plain
    ze_eq "$(ze_file_has "$NAME" "$SRV/data/$DBNAME/zoom_visit_events.ibd" \
        "$SRV/data/$DBNAME/zoom_rejected_events.ibd")" 2
    # shellcheck disable=SC2046
    [ "$(ze_file_has "$NAME" $(db_files "$SRV"))" -ge 2 ]
    [[ $(files_with "$SRV" "$NAME") == *zoom_visit_events.ibd* ]]
}

@test "at rest: with spool_key_file the spool holds no plaintext name while the DB is down; the drain stores the events" {
    key_file "$ZT/spool.key"
    workers_with ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-sealed" ZOOM_EVENTS_SPOOL_KEY_FILE="$ZT/spool.key"
    email=zyxwv.qutsrp@example.org
    ze_db_kill "$DBDIR"
    now_ms t
    for i in 1 2 3; do
        post_expect "$(pevent meeting.participant_joined 14011 sealed-$i $((t + i)) u-$i "$NAME" "$email")" spooled
    done
    health
    ze_eq "$(field spool_pending)" 3
    [ -n "$(find "$ZT/spool-sealed" -name '*.spool' -size +0)" ]
    # shellcheck disable=SC2046
    ze_eq "$(ze_file_has "$NAME" $(find "$ZT/spool-sealed" -type f))" 0
    # shellcheck disable=SC2046
    ze_eq "$(ze_file_has "$email" $(find "$ZT/spool-sealed" -type f))" 0
    # Without a key the same delivery is in the spool in clear: the check
    # can fail.
    cgi_post "$(pevent meeting.participant_joined 14011 unsealed-1 "$t" u-9 "$NAME" "$email")" \
        ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-clear"
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
    # shellcheck disable=SC2046
    [ "$(ze_file_has "$NAME" $(find "$ZT/spool-clear" -type f))" -ge 1 ]
    db_restart
    drain_by_health
    ze_eq "$(ze_count zoom_visit_events "visit_uuid LIKE 'sealed-%' AND participant_name = '$NAME'")" 3
    run env ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-clear" "$ZE_BIN" drain
    [ "$status" -eq 0 ]
}

# ---- 3. Minimisation ----

# Every member name normalize.c documents as redacted.
redacted_keys() {
    sed -n '/norm_redacted_keys\[\] = {/,/NULL/p' "$ZE_ROOT/normalize.c" |
        grep -o '"[a-z_]*"' | tr -d '"'
}

@test "store_raw=redacted: the stored raw has no names, emails, phones, IPs or topic, and keeps ids and event fields" {
    workers_with ZOOM_EVENTS_STORE_RAW=redacted
    now_ms ts
    body='{"event":"meeting.participant_joined","event_ts":'$ts',"payload":{"account_id":"acc1","object":{"id":"14020","uuid":"red-uuid-1","host_id":"host-red","host_email":"host.zyxwv@example.org","topic":"Therapy for Zyxwv Qutsrp","agenda":"Zyxwv agenda","participant":{"user_id":"16778240","id":"person-red","participant_uuid":"pu-red","user_name":"Zyxwv Qutsrp","email":"zyxwv.qutsrp@example.org","phone_number":"+1-555-0100-4242","public_ip":"198.51.100.23","private_ip":"10.20.30.40","location":"Springfield (Zyxwv)","join_time":"2026-01-02T03:04:05Z","registrant":{"first_name":"Zyxwv","last_name":"Qutsrp","comments":"Zyxwv notes"}},"registrants":[{"display_name":"Zyxwv Q","user_email":"zq@example.org","registrant_email":"zq2@example.org","phone":"5550100","ip_address":"203.0.113.5","name":"Zyxwv"}]}}}'
    want='{"event":"meeting.participant_joined","event_ts":'$ts',"payload":{"account_id":"acc1","object":{"id":"14020","uuid":"red-uuid-1","host_id":"host-red","participant":{"user_id":"16778240","id":"person-red","participant_uuid":"pu-red","join_time":"2026-01-02T03:04:05Z","registrant":{}},"registrants":[{}]}}}'
    keys=$(redacted_keys)
    [ "$(wc -l <<<"$keys")" -ge 18 ]
    # The body carries every documented key (a new one needs a value here).
    for k in $keys; do
        [[ $body == *"\"$k\":"* ]] || { echo "the test body lacks $k"; false; }
    done
    post_expect "$body" inserted
    raw=$(ze_sql "SELECT raw FROM zoom_visit_events WHERE visit_uuid = 'red-uuid-1'")
    ze_eq "$raw" "$want"
    for k in $keys; do
        [[ $raw != *"\"$k\""* ]] || { echo "raw keeps $k"; false; }
    done
    for s in Zyxwv Qutsrp example.org 555-0100 '"5550100"' 198.51.100.23 10.20.30.40 203.0.113.5 Springfield Therapy; do
        [[ $raw != *"$s"* ]] || { echo "raw keeps $s"; false; }
    done
    # The columns are what normalization read (the name column follows
    # participant_name, which is keep here).
    ze_eq "$(ze_sql "SELECT meeting_id, participant_id, person_key, event_time_ms IS NOT NULL, participant_name FROM zoom_visit_events WHERE visit_uuid = 'red-uuid-1'")" \
        "$(printf '14020\t16778240\tperson-red\t1\t%s' "$NAME")"
    # A retry is a duplicate.
    post_expect "$body" duplicate
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'red-uuid-1'")" 1
    # A dead letter is redacted the same way.
    dl='{"event":"user.updated","event_ts":'$ts',"payload":{"account_id":"acc1","object":{"id":"red-user-1","email":"zyxwv.qutsrp@example.org","first_name":"Zyxwv","phone_number":"5550100"}}}'
    dl_want='{"event":"user.updated","event_ts":'$ts',"payload":{"account_id":"acc1","object":{"id":"red-user-1"}}}'
    post_expect "$dl" ignored
    ze_eq "$(ze_sql "SELECT CAST(raw AS CHAR) FROM zoom_rejected_events WHERE raw LIKE '%red-user-1%'")" "$dl_want"
}

@test "participant_name=pseudonymise: one person, one pn: token across visits; another person, another; the name nowhere" {
    printf 'pseudonym-key-%s\n' "$(openssl rand -hex 16)" >"$ZT/pn.key"
    chmod 600 "$ZT/pn.key"
    key=$(head -n 1 "$ZT/pn.key")
    workers_with ZOOM_EVENTS_PARTICIPANT_NAME=pseudonymise \
        ZOOM_EVENTS_PSEUDONYM_KEY_FILE="$ZT/pn.key" ZOOM_EVENTS_STORE_RAW=redacted
    alice="Pqowi Eurtyal" bob="Lakjs Hdgfzbo"
    now_ms t
    post_expect "$(pevent meeting.participant_joined 14021 pn-visit-1 "$t" u-a1 "$alice")" inserted
    post_expect "$(pevent meeting.participant_joined 14021 pn-visit-1 $((t + 1)) u-b1 "$bob")" inserted
    a2=$(pevent meeting.participant_joined 14022 pn-visit-2 $((t + 2)) u-a2 "$alice")
    post_expect "$a2" inserted
    post_expect "$a2" duplicate
    tokens=$(ze_sql "SELECT participant_name FROM zoom_visit_events WHERE visit_uuid LIKE 'pn-visit-%' ORDER BY event_ts")
    read -r -d '' a1 b1 a2 <<<"$tokens" || true
    [[ $a1 =~ ^pn:[0-9a-f]{32}$ ]] || { echo "token: $a1"; false; }
    ze_eq "$a2" "$a1"
    [[ $b1 =~ ^pn:[0-9a-f]{32}$ ]]
    [ "$b1" != "$a1" ]
    # The token is the first 32 hex digits of HMAC-SHA256(key, name).
    ze_eq "$a1" "pn:$(printf '%s' "$alice" | ze_hmac "$key" | cut -c1-32)"
    dump_db "$ZT/pn.sql"
    ze_eq "$(ze_file_has "pn-visit-1" "$ZT/pn.sql")" 1
    ze_eq "$(ze_file_has "$alice" "$ZT/pn.sql" "$ZT/zoom_events.log")" 0
    ze_eq "$(ze_file_has "$bob" "$ZT/pn.sql" "$ZT/zoom_events.log")" 0
}

# Regression (found by these tests): a delivery answered from the spool was
# spooled as its redacted body, which has no user_name any more, so the
# replay stored participant_name NULL where the direct insert stored the
# pn: token.  The spool record now carries the protected name beside the
# redacted body (spool_record.h, flag bit 1), under the spool's own seal,
# and the replay does not pseudonymise it twice.
@test "participant_name=pseudonymise: a delivery that went through the spool gets the same pn: token" {
    printf 'pseudonym-key-%s\n' "$(openssl rand -hex 16)" >"$ZT/pn2.key"
    chmod 600 "$ZT/pn2.key"
    workers_with ZOOM_EVENTS_PARTICIPANT_NAME=pseudonymise \
        ZOOM_EVENTS_PSEUDONYM_KEY_FILE="$ZT/pn2.key" ZOOM_EVENTS_STORE_RAW=redacted \
        ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-pn"
    carol="Mzxnc Bvqwer"
    now_ms t
    post_expect "$(pevent meeting.participant_joined 14023 pn-visit-3 "$t" u-c1 "$carol")" inserted
    ze_db_kill "$DBDIR"
    post_expect "$(pevent meeting.participant_joined 14024 pn-visit-4 $((t + 1)) u-c2 "$carol")" spooled
    db_restart
    drain_by_health
    direct=$(ze_sql "SELECT participant_name FROM zoom_visit_events WHERE visit_uuid = 'pn-visit-3'")
    spooled=$(ze_sql "SELECT IFNULL(participant_name, 'NULL') FROM zoom_visit_events WHERE visit_uuid = 'pn-visit-4'")
    [[ $direct =~ ^pn:[0-9a-f]{32}$ ]]
    ze_eq "$spooled" "$direct"
}

@test "participant_name=drop: the name column is NULL; dedupe still works" {
    workers_with ZOOM_EVENTS_PARTICIPANT_NAME=drop
    now_ms t
    body=$(pevent meeting.participant_joined 14025 drop-uuid "$t" u-d1 "Droppy Namesake")
    post_expect "$body" inserted
    post_expect "$body" duplicate
    ze_eq "$(ze_sql "SELECT COUNT(*), SUM(participant_name IS NULL), MAX(participant_id) FROM zoom_visit_events WHERE visit_uuid = 'drop-uuid'")" \
        "$(printf '1\t1\tu-d1')"
}

@test "strictest (store_raw=none, participant_name=drop, spool key): no PHI string in the database, the spool or the log" {
    key_file "$ZT/strict.key"
    workers_with ZOOM_EVENTS_STORE_RAW=none ZOOM_EVENTS_PARTICIPANT_NAME=drop \
        ZOOM_EVENTS_SPOOL_KEY_FILE="$ZT/strict.key" ZOOM_EVENTS_SPOOL_DIR="$ZT/spool-strict"
    N="Strictly Privatename" E=strictly.private@example.net P=+1-555-0147-9921
    IP=192.0.2.199 T="Strict Topic Oncology"
    now_ms t
    ev() { # ev EVENT UUID OFFSET_S [USER]
        if [ -n "${4:-}" ]; then
            pevent "$1" 14030 "$2" $((t + $3 * 1000)) "$4" "$N" "$E" "$P" "$IP" "$T"
        else
            mevent "$1" 14030 "$2" $((t + $3 * 1000)) "$T"
        fi
    }
    post_expect "$(ev meeting.started strict-1 0)" inserted
    joined=$(ev meeting.participant_joined strict-1 10 u-s1)
    post_expect "$joined" inserted
    post_expect "$joined" duplicate
    # Dead letters: a meeting event that does not normalize, a
    # non-meeting event, and a signed body that is not JSON (400).
    bad=$(ev meeting.participant_joined strict-dl 5 u-s9)
    post_expect "${bad/\"event_ts\":$((t + 5000))/\"event_ts\":\"$((t + 5000))\"}" rejected
    post_expect "{\"event\":\"user.updated\",\"event_ts\":$t,\"payload\":{\"object\":{\"id\":\"strict-user\",\"email\":\"$E\",\"first_name\":\"$N\",\"phone_number\":\"$P\"}}}" ignored
    post "{\"event\":\"meeting.started\",\"payload\":{\"topic\":\"$T\",\"user_name\":\"$N\""
    ze_eq "$HTTP_STATUS" 400
    # Not Zoom's: 401, and nothing of it kept.
    ZE_SIG=v0=0000000000000000000000000000000000000000000000000000000000000000 \
        post "$(ev meeting.participant_joined strict-401 20 u-s8)"
    ze_eq "$HTTP_STATUS" 401
    # The database down: answered from the (sealed) spool.
    ze_db_kill "$DBDIR"
    post_expect "$(ev meeting.participant_joined strict-1 30 u-s2)" spooled
    post_expect "$(ev meeting.participant_left strict-1 60 u-s2)" spooled
    left=$(ev meeting.participant_left strict-1 90 u-s1)
    post_expect "$left" spooled
    [ -n "$(find "$ZT/spool-strict" -name '*.spool' -size +0)" ]
    for s in "$N" "$E" "$P" "$IP" "$T"; do
        # shellcheck disable=SC2046
        ze_eq "$(ze_file_has "$s" $(find "$ZT/spool-strict" -type f))" 0
    done
    db_restart
    drain_by_health
    post_expect "$(ev meeting.ended strict-1 120)" inserted
    # A retry of a replayed delivery is a duplicate.
    post_expect "$left" duplicate
    ze_eq "$(ze_sql "SELECT COUNT(*), SUM(raw = ''), SUM(participant_name IS NULL) FROM zoom_visit_events WHERE visit_uuid = 'strict-1'")" \
        "$(printf '6\t6\t6')"
    ze_eq "$(ze_count zoom_visit_events "visit_uuid IN ('strict-401', 'strict-dl')")" 0
    # The visit facts work from what is kept.
    run "$ZE_BIN" visits refresh
    [ "$status" -eq 0 ]
    ze_eq "$(ze_sql "SELECT status, participants FROM zoom_visits WHERE visit_uuid = 'strict-1'")" "$(printf 'ended\t2')"
    run "$ZE_BIN" report visits --format csv --since 1h --no-refresh
    [ "$status" -eq 0 ]
    [[ $output == *"strict-1,14030,ended,"* ]]
    # Everything the service wrote.
    dump_db "$ZT/strict.sql"
    ze_eq "$(ze_file_has strict-1 "$ZT/strict.sql")" 1
    ze_eq "$(ze_file_has strict-user "$ZT/strict.sql")" 1
    for s in "$N" "$E" "$P" "$IP" "$T"; do
        # shellcheck disable=SC2046
        ze_eq "$(ze_file_has "$s" "$ZT/strict.sql" $(find "$ZT/spool-strict" -type f) "$ZT/zoom_events.log")" 0
    done
}

# ---- 4. Purge ----

# seed_old TAG N: N old rows (400 days) in each purged table, and a new
# row after every fifth old one in the same id range, so that a batch
# holds both.
seed_old() {
    local tag=$1 n=$2 m
    m=$((n + n / 5))
    ze_sql "INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name, event_ts, raw, created_at)
        SELECT 'purge-$tag', CONCAT('purge-$tag-', seq), 'meeting.started', 1600000000000 + seq, '{}',
            IF(seq % 6 = 0, NOW(), NOW() - INTERVAL 400 DAY)
        FROM seq_1_to_$m;
      INSERT INTO zoom_rejected_events (received_at, reason, event_name, request_id, body_sha256, raw)
        SELECT IF(seq % 6 = 0, NOW(3), NOW(3) - INTERVAL 400 DAY), 'not_meeting_event', 'user.created',
            CONCAT('purge-$tag-', seq), UNHEX(SHA2(CONCAT('purge-$tag-', seq), 256)), '{}'
        FROM seq_1_to_$m;
      INSERT INTO zoom_deliveries (received_at, request_id, event_name, meeting_id, outcome)
        SELECT IF(seq % 6 = 0, NOW(3), NOW(3) - INTERVAL 400 DAY), CONCAT('purge-$tag-', seq),
            'meeting.started', 'purge-$tag', 'inserted'
        FROM seq_1_to_$m"
}

# A visit that a 30-day purge takes: its latest event is older, and none
# of its events was stored since (they go first).
VISIT_GOES="v.last_event_ms < (UNIX_TIMESTAMP() - 30 * 86400) * 1000 AND NOT EXISTS
    (SELECT 1 FROM zoom_visit_events e WHERE e.visit_uuid = v.visit_uuid
     AND e.created_at >= NOW() - INTERVAL 30 DAY)"

# Rows of the purged tables older / newer than 30 days: events, dead
# letters, ledger; visits that go / stay.
ages() {
    ze_sql "SELECT
        (SELECT COUNT(*) FROM zoom_visit_events WHERE created_at < NOW() - INTERVAL 30 DAY),
        (SELECT COUNT(*) FROM zoom_visit_events WHERE created_at >= NOW() - INTERVAL 30 DAY),
        (SELECT COUNT(*) FROM zoom_rejected_events WHERE received_at < NOW() - INTERVAL 30 DAY),
        (SELECT COUNT(*) FROM zoom_rejected_events WHERE received_at >= NOW() - INTERVAL 30 DAY),
        (SELECT COUNT(*) FROM zoom_deliveries WHERE received_at < NOW() - INTERVAL 30 DAY),
        (SELECT COUNT(*) FROM zoom_deliveries WHERE received_at >= NOW() - INTERVAL 30 DAY),
        (SELECT COUNT(*) FROM zoom_visits v WHERE $VISIT_GOES),
        (SELECT COUNT(*) FROM zoom_visits v WHERE NOT ($VISIT_GOES))"
}

stats_sums() {
    ze_sql "SELECT COALESCE(SUM(received), 0), COALESCE(SUM(inserted), 0),
        COALESCE(SUM(duplicates), 0), COALESCE(SUM(ignored), 0),
        COALESCE(SUM(rejected), 0), COALESCE(SUM(replayed), 0) FROM zoom_stats"
}

# old_visits TAG N: N visits whose events (started, joined, left, ended)
# happened and were stored 400 days ago, and their facts.
old_visits() {
    local tag=$1 n=$2
    ze_sql "SET @t = (UNIX_TIMESTAMP() - 400 * 86400) * 1000;
      INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name, event_ts, event_time_ms,
            participant_id, participant_key_source, person_key, raw, created_at)
        SELECT 'oldv-$tag', CONCAT('oldv-$tag-', seq), e.name, @t + e.off, @t + e.off, e.pid,
            IF(e.pid = '', '', 'user_id'), e.pid, '{}', NOW() - INTERVAL 400 DAY
        FROM seq_1_to_$n, (SELECT 'meeting.started' name, 0 off, '' pid
            UNION ALL SELECT 'meeting.participant_joined', 60000, 'p1'
            UNION ALL SELECT 'meeting.participant_left', 600000, 'p1'
            UNION ALL SELECT 'meeting.ended', 660000, '') e"
    run "$ZE_BIN" visits refresh --full
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    ze_eq "$(ze_count zoom_visits "visit_uuid LIKE 'oldv-$tag-%'")" "$n"
    ze_eq "$(ze_count zoom_participant_sessions "visit_uuid LIKE 'oldv-$tag-%'")" "$n"
}

@test "purge --dry-run counts what the retention settings would delete, and deletes nothing" {
    old_visits dry 5
    seed_old dry 1500
    before=$(ages)
    read -r ev_old _ dl_old _ led_old _ v_old _ <<<"$before"
    [ "$ev_old" -ge 1520 ] && [ "$dl_old" -ge 1500 ] && [ "$led_old" -ge 1500 ] && [ "$v_old" -ge 5 ]
    run "$ZE_BIN" purge --dry-run
    [ "$status" -eq 0 ]
    ze_eq "$output" "$(printf '%s: kept (no retention set)\n' zoom_visit_events zoom_rejected_events zoom_deliveries zoom_visits)"
    run env ZOOM_EVENTS_RETENTION_DAYS=30 ZOOM_EVENTS_REJECTED_RETENTION_DAYS=30 \
        ZOOM_EVENTS_LEDGER_RETENTION_DAYS=30 "$ZE_BIN" purge --dry-run
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "zoom_visit_events: would delete $ev_old rows older than "* ]]
    [[ ${lines[1]} == "zoom_rejected_events: would delete $dl_old rows older than "* ]]
    [[ ${lines[2]} == "zoom_deliveries: would delete $led_old rows older than "* ]]
    [[ ${lines[3]} == "zoom_visits: would delete $v_old rows older than "* ]]
    # Only the events have a retention: the others are kept.
    run env ZOOM_EVENTS_RETENTION_DAYS=30 "$ZE_BIN" purge --dry-run
    [ "$status" -eq 0 ]
    ze_eq "${lines[1]}" "zoom_rejected_events: kept (no retention set)"
    ze_eq "$(ages)" "$before"
    ze_eq "$(ze_count zoom_audit "command = 'purge'")" 0
}

@test "purge deletes the old rows in batches while events arrive; newer rows, visits and counters untouched; audited" {
    old_visits live 10
    seed_old live 2500
    read -r ev_old ev_new dl_old dl_new led_old led_new v_old v_new <<<"$(ages)"
    [ "$ev_old" -gt 2500 ] && [ "$dl_old" -ge 2500 ] && [ "$led_old" -ge 2500 ] && [ "$v_old" -ge 10 ]
    read -r rec0 ins0 dup0 ign0 rej0 rpl0 <<<"$(stats_sums)"
    workers_default
    deletes0=$(ze_sql "SHOW GLOBAL STATUS LIKE 'Com_delete'" | cut -f2)
    : >"$ZT/purge-load"
    burst live-load 150 "$ZT/purge-load" 3>&- &
    load=$!
    # The purge starts once the load has begun.
    for i in $(seq 1 200); do
        grep -q 'req=live-load-.*status=202' "$ZT/zoom_events.log" && break
        sleep 0.05
    done
    p0=${EPOCHREALTIME/./}
    run "$ZE_BIN" purge --older-than 30
    p1=${EPOCHREALTIME/./}
    wait "$load"
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    ze_eq "${lines[0]%% older than *}" "zoom_visit_events: deleted $ev_old rows"
    ze_eq "${lines[1]%% older than *}" "zoom_rejected_events: deleted $dl_old rows"
    ze_eq "${lines[2]%% older than *}" "zoom_deliveries: deleted $led_old rows"
    ze_eq "${lines[3]%% older than *}" "zoom_visits: deleted $v_old rows"
    # Every event of the load was accepted and is stored once.
    ze_eq "$(wc -l <"$ZT/purge-load") $(awk '$2 == 202' "$ZT/purge-load" | wc -l)" "150 150"
    drain_by_health
    ze_eq "$(ze_sql "SELECT COUNT(*), COUNT(DISTINCT visit_uuid) FROM zoom_visit_events WHERE visit_uuid LIKE 'live-load-%'")" "$(printf '150\t150')"
    # The load ran during the purge: deliveries were received between its
    # start and its end.
    during=$(ze_sql "SELECT COUNT(*) FROM zoom_deliveries WHERE request_id LIKE 'live-load-%'
        AND received_at BETWEEN CONVERT_TZ(FROM_UNIXTIME($p0 / 1000000), @@session.time_zone, '+00:00')
        AND CONVERT_TZ(FROM_UNIXTIME($p1 / 1000000), @@session.time_zone, '+00:00')")
    [ "$during" -gt 0 ] || { echo "no delivery during the purge ($(( (p1 - p0) / 1000 )) ms)"; false; }
    # Batches: at least one DELETE per 1000 ids in each table.
    deletes=$(( $(ze_sql "SHOW GLOBAL STATUS LIKE 'Com_delete'" | cut -f2) - deletes0 ))
    [ "$deletes" -ge 9 ] || { echo "DELETE statements: $deletes"; false; }
    # Old rows gone, every newer row still there (and the load's 150
    # events and their ledger rows added).
    ze_eq "$(ages)" "$(printf '0\t%s\t0\t%s\t0\t%s\t0\t%s' $((ev_new + 150)) "$dl_new" $((led_new + 150)) "$v_new")"
    ze_eq "$(ze_count zoom_participant_sessions "visit_uuid LIKE 'oldv-live-%'")" 0
    ze_eq "$(ze_count zoom_visit_events "meeting_id = 'purge-live'")" $(((2500 + 500) / 6))
    # The counters count deliveries ever received: never decremented.
    read -r rec1 ins1 dup1 ign1 rej1 rpl1 <<<"$(stats_sums)"
    ze_eq "$rec1 $ins1 $dup1 $ign1 $rej1" "$((rec0 + 150)) $((ins0 + 150)) $dup0 $ign0 $rej0"
    [ "$rpl1" -ge "$rpl0" ]
    # One audit row per table purged, with its count.
    ze_eq "$(ze_sql "SELECT detail, rows_affected FROM zoom_audit WHERE command = 'purge' ORDER BY id" | sed 's/: rows older than .*\t/ /')" \
        "$(printf 'zoom_visit_events %s\nzoom_rejected_events %s\nzoom_deliveries %s\nzoom_visits %s' "$ev_old" "$dl_old" "$led_old" "$v_old")"
}

@test "purge keeps a visit of old events stored recently (a backfill) as long as its events stay" {
    old_visits back 3
    # Stored today: a backfill or a late replay of events 400 days old.
    ze_sql "UPDATE zoom_visit_events SET created_at = NOW() WHERE visit_uuid LIKE 'oldv-back-%'"
    run "$ZE_BIN" purge --older-than 30
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    ze_eq "$(ze_count zoom_visit_events "visit_uuid LIKE 'oldv-back-%'")" 12
    ze_eq "$(ze_count zoom_visits "visit_uuid LIKE 'oldv-back-%'")" 3
    ze_eq "$(ze_count zoom_participant_sessions "visit_uuid LIKE 'oldv-back-%'")" 3
    # Once the events are old enough to go, the visit goes with them.
    ze_sql "UPDATE zoom_visit_events SET created_at = NOW() - INTERVAL 400 DAY WHERE visit_uuid LIKE 'oldv-back-%'"
    run "$ZE_BIN" purge --older-than 30 --dry-run
    [ "$status" -eq 0 ]
    [[ ${lines[3]} == "zoom_visits: would delete 3 rows older than "* ]] || { echo "$output"; false; }
    run "$ZE_BIN" purge --older-than 30
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    ze_eq "$(ze_count zoom_visit_events "visit_uuid LIKE 'oldv-back-%'")" 0
    ze_eq "$(ze_count zoom_visits "visit_uuid LIKE 'oldv-back-%'")" 0
    ze_eq "$(ze_count zoom_participant_sessions "visit_uuid LIKE 'oldv-back-%'")" 0
}

@test "two purges at once both succeed, and each old row is deleted once" {
    seed_old twice 3000
    read -r ev_old _ dl_old _ led_old _ <<<"$(ages)"
    "$ZE_BIN" purge --older-than 30 >"$ZT/purge1.out" 2>&1 3>&- &
    p1=$!
    "$ZE_BIN" purge --older-than 30 >"$ZT/purge2.out" 2>&1 3>&- &
    p2=$!
    rc1=0 rc2=0
    wait "$p1" || rc1=$?
    wait "$p2" || rc2=$?
    cat "$ZT/purge1.out" "$ZT/purge2.out"
    ze_eq "$rc1 $rc2" "0 0"
    sum() {
        sed -n "s/^$1: deleted \([0-9]*\) rows.*/\1/p" "$ZT/purge1.out" "$ZT/purge2.out" |
            awk '{s += $1} END {print s + 0}'
    }
    ze_eq "$(sum zoom_visit_events) $(sum zoom_rejected_events) $(sum zoom_deliveries)" \
        "$ev_old $dl_old $led_old"
    read -r ev_left _ dl_left _ led_left _ <<<"$(ages)"
    ze_eq "$ev_left $dl_left $led_left" "0 0 0"
    ze_eq "$(ze_count zoom_visit_events "meeting_id = 'purge-twice'")" $(((3000 + 600) / 6))
}

# ---- 5. Audit ----

@test "audit lists migrate, purge, replay-rejected and drain, as table, csv and json" {
    a0=$(ze_sql "SELECT MAX(id) FROM zoom_audit")
    ze_eq "$(ze_count zoom_audit "command = 'migrate' AND detail = 'sql/schema.sql applied (schema 2)'")" 1
    # A purge that deletes something.
    seed_old audit 12
    run "$ZE_BIN" purge --older-than 30
    [ "$status" -eq 0 ]
    # A dead letter that normalizes now (as after a fix), moved.
    b='{"event":"meeting.started","event_ts":1700000014050,"payload":{"object":{"id":"14050","uuid":"audit-rr-uuid"}}}'
    ze_sql "INSERT INTO zoom_rejected_events (received_at, reason, detail, event_name, request_id, body_sha256, raw)
        VALUES (NOW(3), 'bad_event_ts', 'crafted', 'meeting.started', 'audit-rr', UNHEX(SHA2('$b', 256)), '$b')"
    id=$(ze_sql "SELECT id FROM zoom_rejected_events WHERE request_id = 'audit-rr'")
    run "$ZE_BIN" replay-rejected "$id"
    [ "$status" -eq 0 ]
    ze_eq "$output" "moved 1, kept 0, missing 0"
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'audit-rr-uuid'")" 1
    # Two deliveries spooled while the database is down, drained by hand.
    workers_default
    ze_db_kill "$DBDIR"
    now_ms t
    post_expect "$(ze_event meeting.started 14051 audit-drain-1 "$t")" spooled
    post_expect "$(ze_event meeting.started 14051 audit-drain-2 "$t")" spooled
    db_restart
    run "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    ze_eq "$output" "replayed 2, pending 0"
    me=$(id -un)
    ze_eq "$(ze_sql "SELECT command, rows_affected, os_user, db_user FROM zoom_audit WHERE id > $a0 AND command IN ('replay-rejected', 'drain') ORDER BY id")" \
        "$(printf 'replay-rejected\t1\t%s\troot@localhost\ndrain\t2\t%s\troot@localhost' "$me" "$me")"
    ze_eq "$(ze_sql "SELECT detail FROM zoom_audit WHERE id > $a0 AND command = 'drain'")" "spool $ZT/spool into the database"
    run "$ZE_BIN" audit
    [ "$status" -eq 0 ]
    for c in migrate purge replay-rejected drain; do
        grep -q " $c " <<<"$output" || { echo "no $c in: $output"; false; }
    done
    run "$ZE_BIN" audit --format csv
    [ "$status" -eq 0 ]
    csv=$(tr -d '\r' <<<"$output")
    ze_eq "$(head -n 1 <<<"$csv")" "at,command,os_user,os_host,db_user,detail,rows"
    grep -q "^[0-9T:.-]*Z,drain,$me,[^,]*,root@localhost,spool $ZT/spool into the database,2\$" <<<"$csv"
    grep -q "^[0-9T:.-]*Z,replay-rejected,$me,[^,]*,root@localhost,zoom_rejected_events -> zoom_visit_events (the ids given),1\$" <<<"$csv"
    grep -q "^[0-9T:.-]*Z,migrate,,[^,]*,root@localhost,sql/schema.sql applied (schema 2),0\$" <<<"$csv"
    run "$ZE_BIN" audit --format json
    [ "$status" -eq 0 ]
    [[ $output == \[*\] ]]
    for c in migrate purge replay-rejected drain; do
        [[ $output == *"\"command\":\"$c\""* ]] || { echo "no $c in json"; false; }
    done
    [[ $output == *'"detail":"zoom_visit_events: rows older than '* ]]
}

@test "the least-privilege account of sql/grants.sql may add and read audit rows, never change or delete them" {
    sed -e "s/zoom_events\\./$DBNAME./g" -e "s/change-me/lp-audit-pw/" \
        "$ZE_ROOT/sql/grants.sql" | ze_db_sql "$DBDIR"
    lp() {
        mariadb --no-defaults --socket="$DBDIR/mysqld.sock" -uzoom_events \
            -plp-audit-pw -N -B "$DBNAME" -e "$1" 2>&1
    }
    run lp "INSERT INTO zoom_audit (at, command, detail) VALUES (NOW(3), 'lp-test', 'by the service account')"
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    run lp "SELECT COUNT(*) FROM zoom_audit WHERE command = 'lp-test'"
    [ "$status" -eq 0 ]
    ze_eq "$output" 1
    run lp "UPDATE zoom_audit SET detail = 'rewritten' WHERE command = 'lp-test'"
    [ "$status" -ne 0 ]
    [[ $output == *"ERROR 1142 "*"UPDATE command denied to user 'zoom_events'@'localhost' for table"*"zoom_audit"* ]]
    run lp "DELETE FROM zoom_audit"
    [ "$status" -ne 0 ]
    [[ $output == *"ERROR 1142 "*"DELETE command denied to user 'zoom_events'@'localhost' for table"*"zoom_audit"* ]]
    ze_eq "$(ze_count zoom_audit "command = 'lp-test' AND detail = 'by the service account'")" 1
    # The service under that account purges (by the retention settings)
    # and writes its audit rows.
    seed_old lp 10
    run env ZOOM_EVENTS_DB_USER=zoom_events ZOOM_EVENTS_DB_PASSWORD=lp-audit-pw \
        ZOOM_EVENTS_RETENTION_DAYS=30 ZOOM_EVENTS_REJECTED_RETENTION_DAYS=60 \
        ZOOM_EVENTS_LEDGER_RETENTION_DAYS=90 "$ZE_BIN" purge
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    [[ ${lines[0]} == "zoom_visit_events: deleted 10 rows older than "* ]]
    [[ ${lines[1]} == "zoom_rejected_events: deleted 10 rows older than "* ]]
    [[ ${lines[2]} == "zoom_deliveries: deleted 10 rows older than "* ]]
    read -r ev_old ev_new dl_old dl_new led_old led_new _ <<<"$(ages)"
    ze_eq "$ev_old $dl_old $led_old" "0 0 0"
    ze_eq "$(ze_count zoom_visit_events "meeting_id = 'purge-lp'")" 2
    ze_eq "$(ze_sql "SELECT db_user FROM zoom_audit WHERE command = 'purge' ORDER BY id DESC LIMIT 1")" "zoom_events@localhost"
    run env ZOOM_EVENTS_DB_USER=zoom_events ZOOM_EVENTS_DB_PASSWORD=lp-audit-pw "$ZE_BIN" audit --format csv
    [ "$status" -eq 0 ]
    [[ $output == *",lp-test,"* ]]
}

# Regression (found by these tests): replay-rejected inserted the moved
# dead letter without the PHI settings (ingest_protect()), storing the real
# name under participant_name=drop and the body under store_raw=none.
@test "replay-rejected applies participant_name and store_raw to the events it moves" {
    body='{"event":"meeting.participant_joined","event_ts":1700000014060,"payload":{"object":{"id":"14060","uuid":"rr-phi-uuid","participant":{"user_id":"u-rr","user_name":"Rrphi Namesake"}}}}'
    ze_sql "INSERT INTO zoom_rejected_events (received_at, reason, detail, event_name, request_id, body_sha256, raw)
        VALUES (NOW(3), 'bad_event_ts', 'crafted', 'meeting.participant_joined', 'rr-phi', UNHEX(SHA2('$body', 256)), '$body')"
    id=$(ze_sql "SELECT id FROM zoom_rejected_events WHERE request_id = 'rr-phi'")
    run env ZOOM_EVENTS_PARTICIPANT_NAME=drop ZOOM_EVENTS_STORE_RAW=none "$ZE_BIN" replay-rejected "$id"
    [ "$status" -eq 0 ]
    ze_eq "$output" "moved 1, kept 0, missing 0"
    ze_eq "$(ze_sql "SELECT IFNULL(participant_name, 'NULL'), raw FROM zoom_visit_events WHERE visit_uuid = 'rr-phi-uuid'")" \
        "$(printf 'NULL\t')"
}
