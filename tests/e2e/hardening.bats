#!/usr/bin/env bats
# Issue 12: the spool and the public surface, hardened.  Spool records that
# outlive a lowered max_body_bytes, stale and corrupt progress (.off)
# files, a full disk, symlinks and loose permissions in the spool
# directory, replayed records that do not verify, dead letters the
# database refuses, instance names, a SIGHUP without a secret, the public
# health answer, and FastCGI over TCP.
#
# A private MariaDB that the tests kill.  "The database down" is a killed
# server where the restart is part of the story, else a socket nobody
# listens on (no_db), which is the same to the service and 1.5 s faster.
# Requests go through the binary as CGI (its exit status checked: a crash
# never passes as an answer), cgi-fcgi against the service's own sockets,
# and nginx with the shipped configuration.  Spool files are read and
# written here with perl, after spool_record.c's layout, never with the
# code under test.

load helpers

setup_file() {
    ze_setup_env private
    export ZOOM_EVENTS_DB_RETRY_MS=0
}

teardown_file() {
    ze_teardown_env
}

teardown() {
    local pid
    for pid in $(cat "$ZT/own.pids" 2>/dev/null); do
        ze_stop_pid "$pid" TERM 5
    done
    rm -f "$ZT/own.pids"
    if [ -f "$ZT/mounted" ]; then
        umount "$(cat "$ZT/mounted")" 2>/dev/null || umount -l "$(cat "$ZT/mounted")"
        rm -f "$ZT/mounted"
    fi
    if ! ze_alive "$(ze_db_pid "$DBDIR")"; then
        ze_db_start "$DBDIR" "$DB_PORT"
    fi
    drop_checks
    ze_check_clean
}

# ---- helpers ----

# Environment for "the database is down": a socket nobody listens on.
no_db() {
    echo "ZOOM_EVENTS_DB_SOCKET=$ZT/no-db.sock"
}

db_restart() {
    ze_db_start "$DBDIR" "$DB_PORT"
}

# run_cgi METHOD PATH [BODY [VAR=VALUE...]]: the binary as plain CGI, like
# ze_cgi, and its exit status in CGI_RC (128+N after signal N).  Sets
# HTTP_STATUS, HTTP_HEADERS, HTTP_BODY.
run_cgi() {
    local method=$1 path=$2 body=${3-}
    shift 2
    [ $# -gt 0 ] && shift
    printf '%s' "$body" >"$ZT/req.body"
    CGI_RC=0
    env REQUEST_METHOD="$method" PATH_INFO="$path" \
        CONTENT_TYPE=application/json \
        CONTENT_LENGTH="$(wc -c <"$ZT/req.body")" "$@" \
        "$ZE_BIN" <"$ZT/req.body" >"$ZT/resp.cgi" || CGI_RC=$?
    HTTP_STATUS=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$ZT/resp.cgi")
    HTTP_HEADERS=$(sed '/^\r*$/q' "$ZT/resp.cgi" | tr 'A-Z' 'a-z' | tr -d '\r')
    HTTP_BODY=$(sed '1,/^\r*$/d' "$ZT/resp.cgi")
}

# post_cgi BODY [VAR=VALUE...]: a delivery signed now with $SECRET (default
# ZE_SECRET), as CGI; fails unless the process exited 0.
post_cgi() {
    local body=$1 ts sig
    shift
    read -r ts sig < <(ze_sign "$body" "" "${SECRET:-$ZE_SECRET}")
    run_cgi POST /zoom_events/events "$body" HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" \
        HTTP_X_ZM_SIGNATURE="$sig" "$@"
    if [ "$CGI_RC" != 0 ]; then
        echo "CGI exited $CGI_RC; answer: $(cat "$ZT/resp.cgi")" >&2
        return 1
    fi
}

# health_cgi [VAR=VALUE...]: GET health as CGI from loopback.
health_cgi() {
    run_cgi GET /zoom_events/health "" REMOTE_ADDR=127.0.0.1 "$@"
    ze_eq "$CGI_RC" 0
}

# spool_events DIR PREFIX N: N distinct meeting events PREFIX-1..N posted
# with the database down into spool DIR, each answered 202 from the spool
# (one file per CGI process).
spool_events() {
    local dir=$1 prefix=$2 n=$3 i
    for i in $(seq 1 "$n"); do
        post_cgi "$(ze_event meeting.participant_joined 4200 "$prefix-$i" \
            "$((1700000200000 + i))" "u-$i")" ZOOM_EVENTS_SPOOL_DIR="$dir" \
            HTTP_X_ZM_REQUEST_ID="$prefix-$i" "$(no_db)"
        ze_eq "$HTTP_STATUS" 202
        [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
    done
}

# rec_starts FILE: the offset of each record of a spool file, one a line
# (a header is magic[8] len[4] crc32[4], little-endian, then len bytes).
rec_starts() {
    perl -e 'open my $f, "<:raw", $ARGV[0] or die "$ARGV[0]: $!"; local $/;
        my $d = <$f>; my $o = 0;
        while ($o + 16 <= length $d) {
            print "$o\n"; $o += 16 + unpack("V", substr($d, $o + 8, 4));
        }' "$1"
}

# fingerprint FILE: the checksum field of its first header, as a .off
# file names the file it belongs to ("%08x").
fingerprint() {
    perl -e 'open my $f, "<:raw", $ARGV[0] or die; read $f, my $h, 16;
        printf "%08x\n", unpack("V", substr($h, 12, 4))' "$1"
}

# progress FILE OFFSET FP: write a .off file as the spool does.
progress() {
    printf '%020d %s\n' "$2" "$3" >"$1"
}

# stored PREFIX: how many events PREFIX-* are rows.
stored() {
    ze_count zoom_visit_events "visit_uuid LIKE '$1-%'"
}

# track PID: stopped by teardown.
track() {
    echo "$1" >>"$ZT/own.pids"
}

# start_worker NAME [VAR=VALUE...]: one FastCGI worker process on
# $ZT/NAME.sock with extra environment; its pid in WORKER.
start_worker() {
    local name=$1
    shift
    rm -f "$ZT/$name.sock"
    env "$@" "$ZE_BIN" -s "$ZT/$name.sock" 3>&- &
    WORKER=$!
    track "$WORKER"
    ze_wait_socket "$ZT/$name.sock"
}

# post_fcgi SOCK UUID SECRET: a signed event through cgi-fcgi; HTTP_STATUS.
post_fcgi() {
    local body ts sig
    body=$(ze_event meeting.started 5000 "$2" "$((1700001000000 + RANDOM))")
    read -r ts sig < <(ze_sign "$body" "" "$3")
    ze_fcgi "$1" POST /zoom_events/events "$body" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
}

sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# ---- 1. max_body_bytes lowered ----

# A 200 KB delivery to DIR with the database down, under the default
# max_body_bytes (262144); BIG holds its body.
spool_big() {
    local uuid=$1 dir=$2 pad
    shift 2
    pad=$(head -c 200000 /dev/zero | tr '\0' p)
    BIG='{"event":"meeting.started","event_ts":1700000100001,"payload":{"account_id":"acc1","object":{"id":"4101","uuid":"'$uuid'","topic":"Visit of J. Doe","pad":"'$pad'"}}}'
    post_cgi "$BIG" ZOOM_EVENTS_SPOOL_DIR="$dir" ZOOM_EVENTS_MAX_BODY=262144 "$@"
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
}

@test "a 200 KB record spooled under max_body_bytes=262144 is counted and drained after it is lowered to 2048" {
    export ZOOM_EVENTS_SPOOL_DIR=$ZT/spool1
    ze_db_kill "$DBDIR"
    spool_big big-1 "$ZOOM_EVENTS_SPOOL_DIR"

    # Run again with the smaller limit, the database still down.
    export ZOOM_EVENTS_MAX_BODY=2048
    post_cgi "$BIG"
    ze_eq "$HTTP_STATUS" 413
    health_cgi
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json db)" down
    ze_eq "$(ze_json spool_pending)" 1
    start_worker w1
    ze_fcgi "$ZT/w1.sock" GET /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json spool_pending)" 1
    kill -TERM "$WORKER"
    wait "$WORKER"

    db_restart
    run env ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    [[ $output == *"replayed 1, pending 0"* ]]
    [[ $output != *damaged* ]]
    ze_eq "$(ze_sql "SELECT LENGTH(raw), SHA2(raw, 256) FROM zoom_visit_events WHERE visit_uuid = 'big-1'")" \
        "$(printf '%s\t%s' "${#BIG}" "$(printf '%s' "$BIG" | sha256sum | cut -d' ' -f1)")"
    health_cgi
    ze_eq "$(ze_json db)" up
    ze_eq "$(ze_json spool_pending)" 0
}

@test "store_raw=redacted: a 200 KB record drained under max_body_bytes=2048 keeps its redacted raw body" {
    # Regression test; the bug was: the drain redacts into a buffer sized from max_body_bytes (ingest.c replay_one): raw stored empty.
    # The spool holds the redacted body under the service's own seal (zh=);
    # the drain redacts it again, into a buffer sized from max_body_bytes.
    export ZOOM_EVENTS_SPOOL_DIR=$ZT/spool1r ZOOM_EVENTS_STORE_RAW=redacted
    ze_db_kill "$DBDIR"
    spool_big big-2 "$ZOOM_EVENTS_SPOOL_DIR"
    kept=${BIG/\"topic\":\"Visit of J. Doe\",/}
    db_restart
    ZOOM_EVENTS_MAX_BODY=2048 run env ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    [[ $output == *"replayed 1, pending 0"* ]]
    ze_eq "$(ze_sql "SELECT LENGTH(raw), SHA2(raw, 256) FROM zoom_visit_events WHERE visit_uuid = 'big-2'")" \
        "$(printf '%s\t%s' "${#kept}" "$(printf '%s' "$kept" | sha256sum | cut -d' ' -f1)")"
}

# ---- 2. stale progress ----

@test "a stale .off next to another .draining file does not skip its records" {
    sp=$ZT/spool2
    spool_events "$ZT/stage2a" stale-a 3
    spool_events "$ZT/stage2b" stale-b 3
    spool_events "$ZT/stage2c" stale-c 3
    mkdir -m 700 "$sp"
    # File A, drained earlier: its progress, at its third record.
    cat "$ZT"/stage2a/*.spool >"$ZT/a.spool"
    fp_a=$(fingerprint "$ZT/a.spool")
    # B and C left as .draining files under names a claim makes, each
    # next to a leftover .off: A's (offset moved onto a record of B: the
    # worst case), and the one the issue quotes.
    b=$sp/h-101.spool.4242-00000000000000b1.draining
    c=$sp/h-102.spool.4243-00000000000000c1.draining
    cat "$ZT"/stage2b/*.spool >"$b"
    cat "$ZT"/stage2c/*.spool >"$c"
    off_b=$(rec_starts "$b" | sed -n 3p)
    [ -n "$off_b" ] && [ "$off_b" -gt 0 ]
    progress "$b.off" "$off_b" "$fp_a"
    printf '00000000000000000300 deadbeef\n' >"$c.off"
    # And the progress of a file that is gone.
    printf '00000000000000000100 0badf00d\n' >"$sp/h-103.spool.1-0000000000000001.draining.off"
    chmod 600 "$sp"/*

    health_cgi ZOOM_EVENTS_SPOOL_DIR="$sp" "$(no_db)"
    ze_eq "$(ze_json spool_pending)" 6
    run env ZOOM_EVENTS_SPOOL_DIR="$sp" ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    [[ $output == *"replayed 6, pending 0"* ]]
    [[ $output == *"saved offset belongs to another file, replaying the file from its start"* ]]
    ze_eq "$(stored stale-b)" 3
    ze_eq "$(stored stale-c)" 3
    ze_eq "$(ls -A "$sp" | grep -v '^metrics.shm$' | grep -v '^.drain.lock$' || true)" ""
}

# ---- 3. corrupt progress ----

@test "a corrupt .off (past any end, garbage, mid-record) keeps health at 200 and the drain replays everything" {
    sp=$ZT/spool3
    mkdir -m 700 "$sp"
    n=0
    for kind in max garbage mid overflow negative; do
        spool_events "$ZT/stage3-$kind" "corrupt-$kind" 2
        f=$sp/h-3.spool.$RANDOM-00000000000000$((10 + n)).draining
        cat "$ZT"/stage3-$kind/*.spool >"$f"
        fp=$(fingerprint "$f")
        case $kind in
        max) printf '18446744073709551615 %s\n' "$fp" >"$f.off" ;;
        garbage) head -c 30 /dev/urandom >"$f.off" ;;
        mid) progress "$f.off" "$(($(rec_starts "$f" | sed -n 2p) + 7))" "$fp" ;;
        overflow) printf '99999999999999999999999999 %s\n' "$fp" >"$f.off" ;;
        negative) printf -- '-0000000000000000100 %s\n' "$fp" >"$f.off" ;;
        esac
        n=$((n + 2))
    done
    chmod 600 "$sp"/*

    # A FastCGI worker (the database down) counts them all and lives on.
    start_worker w3 ZOOM_EVENTS_SPOOL_DIR="$sp" "$(no_db)"
    for i in 1 2 3; do
        ze_fcgi "$ZT/w3.sock" GET /zoom_events/health
        ze_eq "$HTTP_STATUS" 200
        ze_eq "$(ze_json spool_pending)" "$n"
    done
    ze_alive "$WORKER"
    health_cgi ZOOM_EVENTS_SPOOL_DIR="$sp" "$(no_db)"
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json spool_pending)" "$n"
    kill -TERM "$WORKER"
    wait "$WORKER"

    run env ZOOM_EVENTS_SPOOL_DIR="$sp" ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    [[ $output == *"replayed $n, pending 0"* ]]
    [[ $output == *"saved offset is past the end of the file"* ]]
    [[ $output == *"saved offset is not an offset"* ]]
    [[ $output == *"saved offset is not at a record"* ]]
    for kind in max garbage mid overflow negative; do
        ze_eq "$(stored "corrupt-$kind")" 2
    done
}

# ---- 4. disk full ----

@test "disk full (a 512 KB tmpfs), database down: 202 while records fit, 503 after, every 202 drained" {
    [ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
    mnt=$ZT/full
    mkdir -p "$mnt"
    mount -t tmpfs -o size=512k,mode=0700 tmpfs "$mnt" ||
        skip "cannot mount a tmpfs here"
    echo "$mnt" >"$ZT/mounted"
    export ZOOM_EVENTS_SPOOL_DIR=$mnt/spool
    # 120 distinct ~5 KB events and their signatures, made in one process
    # (perl's HMAC, not the code under test): one fork per delivery below.
    req=$ZT/full.req
    mkdir -p "$req"
    ts=$(date +%s)
    perl -MDigest::SHA=hmac_sha256_hex -e '
        my ($dir, $secret, $ts) = @ARGV; my $pad = "f" x 5000;
        for my $i (1 .. 120) {
            my $b = sprintf(q({"event":"meeting.participant_joined","event_ts":%d,) .
                q("payload":{"object":{"id":"4400","uuid":"full-%d",) .
                q("participant":{"user_id":"u%d"},"pad":"%s"}}}),
                1700000400000 + $i, $i, $i, $pad);
            open my $f, ">", "$dir/body.$i" or die; print $f $b; close $f;
            printf "%d %d v0=%s\n", $i, length $b, hmac_sha256_hex("v0:$ts:$b", $secret);
        }' "$req" "$ZE_SECRET" "$ts" >"$req/list"
    ze_db_kill "$DBDIR"
    # Each delivery as CGI: its answer's status and the process's exit
    # status (128+N after a signal).
    : >"$ZT/full.codes"
    while read -r i len sig; do
        rc=0
        REQUEST_METHOD=POST PATH_INFO=/zoom_events/events \
            CONTENT_TYPE=application/json CONTENT_LENGTH=$len \
            HTTP_X_ZM_REQUEST_TIMESTAMP=$ts HTTP_X_ZM_SIGNATURE=$sig \
            "$ZE_BIN" <"$req/body.$i" >"$req/resp.$i" || rc=$?
        read -r _ code _ <"$req/resp.$i" || code=none
        echo "full-$i $code $rc" >>"$ZT/full.codes"
    done <"$req/list"
    ze_eq "$(awk '$3 != 0' "$ZT/full.codes")" ""
    codes=$(awk '{printf "%s ", $2}' "$ZT/full.codes")
    n202=$(awk '$2 == 202' "$ZT/full.codes" | wc -l)
    echo "# answers: $(awk '{print $2}' "$ZT/full.codes" | uniq -c | tr -s ' \n' ' ')" >&3
    # Only 202 and 503; every 202 before the first 503; both happened.
    [[ $codes =~ ^(202\ )+(503\ )+$ ]]
    [ "$n202" -ge 20 ]
    grep -q "cannot spool 1 deliveries.*No space left on device" "$ZT/zoom_events.log"
    health_cgi
    ze_eq "$(ze_json spool_pending)" "$n202"

    # The database back, the disk still full: the drain takes them all.
    db_restart
    run env ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    [[ $output == *"replayed $n202, pending 0"* ]]
    [[ $output != *damaged* ]]
    ze_eq "$(stored full)" "$n202"
    ze_eq "$(ze_sql "SELECT visit_uuid FROM zoom_visit_events WHERE visit_uuid LIKE 'full-%'" | sort)" \
        "$(awk '$2 == 202 {print $1}' "$ZT/full.codes" | sort)"
}

# ---- 5. symlinks ----

@test "symlinks planted in the spool directory are never followed, and the service keeps working" {
    sp=$ZT/spool5
    mkdir -m 700 "$sp" "$ZT/outside"
    printf 'precious, not a spool file\n' >"$ZT/outside/victim"
    before=$(sha "$ZT/outside/victim")
    spool_events "$ZT/stage5" sym-real 1
    real=$sp/h-5.spool.1-0000000000000005.draining
    cat "$ZT"/stage5/*.spool >"$real"
    chmod 600 "$real"
    ln -s "$ZT/outside/victim" "$sp/metrics.shm"
    ln -s "$ZT/outside/victim" "$sp/planted.spool"
    ln -s "$ZT/outside/victim" "$sp/planted.spool.7-0000000000000007.draining"
    ln -s "$ZT/outside/victim" "$real.off"
    ln -s "$ZT/outside/created" "$sp/dangling.spool.8-0000000000000008.draining.off"
    touch "$sp/dangling.spool.8-0000000000000008.draining"
    ln -s "$ZT/outside/victim" "$sp/.drain.lock"
    export ZOOM_EVENTS_SPOOL_DIR=$sp

    # The database down: a delivery is spooled in a file of its own (the
    # symlinks are refused, not followed); health answers.
    post_cgi "$(ze_event meeting.started 4500 sym-1 1700000500001)" "$(no_db)"
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
    health_cgi "$(no_db)"
    ze_eq "$HTTP_STATUS" 200
    # A process whose own spool file name is a planted symlink answers 503.
    body=$(ze_event meeting.started 4500 sym-2 1700000500002)
    read -r ts sig < <(ze_sign "$body")
    printf '%s' "$body" >"$ZT/req.body"
    rc=0
    env REQUEST_METHOD=POST PATH_INFO=/zoom_events/events CONTENT_TYPE=application/json \
        CONTENT_LENGTH=${#body} HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig" \
        ZOOM_EVENTS_INSTANCE=own "$(no_db)" sh -c 'ln -s "$1" "$2/own-$$.spool" && exec "$3"' \
        sh "$ZT/outside/victim" "$sp" "$ZE_BIN" <"$ZT/req.body" >"$ZT/resp.cgi" || rc=$?
    ze_eq "$rc" 0
    ze_eq "$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$ZT/resp.cgi")" 503
    ze_eq "$(sha "$ZT/outside/victim")" "$before"

    # A FastCGI worker with the database up serves, whatever is planted.
    start_worker w5 ZOOM_EVENTS_SPOOL_DIR="$sp"
    body=$(ze_event meeting.started 4500 sym-3 1700000500003)
    read -r ts sig < <(ze_sign "$body")
    ze_fcgi "$ZT/w5.sock" POST /zoom_events/events "$body" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    ze_fcgi "$ZT/w5.sock" GET /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json db)" up
    ze_fcgi "$ZT/w5.sock" GET /zoom_events/metrics
    ze_eq "$HTTP_STATUS" 200
    ze_alive "$WORKER"
    ze_eq "$(stored sym)" 1
    # (Stopped, so that the drains below are the only ones.)
    kill -TERM "$WORKER"
    wait "$WORKER"

    # The drain lock is a symlink: no drain, and the victim untouched.
    run env ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 1 ]
    [[ $output == *"spool $sp/.drain.lock is not a regular file of ours with one link: refused"* ]]
    # Without it, everything sound drains; the planted entries stay refused.
    rm "$sp/.drain.lock"
    run env ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 1 ]
    [[ $output == *"spool $sp/planted.spool is not a regular file of ours"* ]]
    [[ $output == *"spool $real.off is not a regular file of ours"* ]]
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'sym-1'")" 1
    ze_eq "$(sha "$ZT/outside/victim")" "$before"
    [ ! -e "$ZT/outside/created" ]
    [ -L "$sp/metrics.shm" ] && [ -L "$sp/planted.spool" ] && [ -L "$real.off" ]
    ze_eq "$(ls -A "$ZT/outside")" victim

    # The spool directory itself a symlink (to a fit directory): refused.
    mkdir -m 700 "$ZT/outside/spooldir"
    ln -s "$ZT/outside/spooldir" "$ZT/spool5link"
    export ZOOM_EVENTS_SPOOL_DIR=$ZT/spool5link
    post_cgi "$(ze_event meeting.started 4500 sym-4 1700000500004)" "$(no_db)"
    ze_eq "$HTTP_STATUS" 503
    run env ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 1 ]
    [[ $output == *"spool directory $ZT/spool5link is a symlink"* ]]
    ze_eq "$(find "$ZT/outside/spooldir" -name '*.spool' | wc -l)" 0
}

# ---- 6. permissions ----

@test "a group- or world-writable spool directory is refused (503, drain fails naming it) until chmod 700" {
    sp=$ZT/spool6
    export ZOOM_EVENTS_SPOOL_DIR=$sp
    mkdir "$sp"
    for mode in 777 770 1777; do
        chmod "$mode" "$sp"
        post_cgi "$(ze_event meeting.started 4600 perm-$mode 1700000600001)" "$(no_db)"
        ze_eq "$HTTP_STATUS" 503
        ze_eq "$HTTP_BODY" '{"error":"cannot store the event now; retry later"}'
        run env ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
        [ "$status" -eq 1 ]
        [[ $output == *"spool directory $sp is writable by group or others"* ]]
    done
    ze_eq "$(ls -A "$sp" | grep -c spool || true)" 0
    # A long-running worker checks again at every use, both ways.
    chmod 700 "$sp"
    start_worker w6 ZOOM_EVENTS_SPOOL_DIR="$sp" "$(no_db)"
    post_fcgi "$ZT/w6.sock" perm-w1 "$ZE_SECRET"
    ze_eq "$HTTP_STATUS" 202
    chmod 777 "$sp"
    post_fcgi "$ZT/w6.sock" perm-w2 "$ZE_SECRET"
    ze_eq "$HTTP_STATUS" 503
    chmod 700 "$sp"
    post_fcgi "$ZT/w6.sock" perm-w3 "$ZE_SECRET"
    ze_eq "$HTTP_STATUS" 202
    ze_alive "$WORKER"
    kill -TERM "$WORKER"
    wait "$WORKER"
    post_cgi "$(ze_event meeting.started 4600 perm-ok 1700000600002)" "$(no_db)"
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
    run env ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    [[ $output == *"replayed 3, pending 0"* ]]
    ze_eq "$(stored perm)" 3
}

@test "check-config fails, naming the directory, when the spool directory is writable by others" {
    # Regression test; the bug was: check-config tests access(W_OK) only, not spool_check_dir() (commands.c cmd_check_config).
    sp=$ZT/spool6c
    mkdir -m 700 "$sp"
    ZOOM_EVENTS_SPOOL_DIR=$sp run "$ZE_BIN" check-config
    [ "$status" -eq 0 ]
    chmod 777 "$sp"
    ZOOM_EVENTS_SPOOL_DIR=$sp run "$ZE_BIN" check-config
    [ "$status" -eq 1 ]
    [[ $output == *"$sp"*"writable by group or others"* ]]
    [[ ${lines[-1]} == failed ]]
}

# ---- 7. replay verification ----

@test "a replayed record that does not verify is a dead letter (spool_unverified), never an event" {
    sp=$ZT/spool7
    export ZOOM_EVENTS_SPOOL_DIR=$sp
    # Spooled while both secrets were configured.
    both="a:secret-A-7f3,b:secret-B-91c"
    for who in A B T; do
        case $who in
        A) secret=secret-A-7f3 ;;
        *) secret=secret-B-91c ;;
        esac
        body=$(ze_event meeting.participant_joined 4700 "unv-$who" "$((1700000700000 + RANDOM))" "u-$who")
        SECRET=$secret post_cgi "$body" ZOOM_EVENTS_WEBHOOK_SECRET="$both" \
            HTTP_X_ZM_REQUEST_ID="unv-$who" "$(no_db)"
        ze_eq "$HTTP_STATUS" 202
        [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
        [ "$who" != A ] || body_A=$body
    done
    # T (signed with B) is tampered with on disk: another visit, same
    # length, and the checksum fixed (crc32 of magic, len and payload).
    f=$(grep -l unv-T "$sp"/*.spool)
    perl -MCompress::Zlib -e 'open my $f, "+<:raw", $ARGV[0] or die; local $/;
        my $d = <$f>; $d =~ s/"unv-T"/"unv-X"/ or die "no uuid";
        my $len = unpack("V", substr($d, 8, 4));
        substr($d, 12, 4) = pack("V", crc32(substr($d, 0, 12) . substr($d, 16, $len)));
        seek $f, 0, 0; print $f $d; close $f or die' "$f"
    # The drain runs with secret B only: A's record no longer verifies.
    run env ZOOM_EVENTS_WEBHOOK_SECRET=b:secret-B-91c ZOOM_EVENTS_LOG=stderr "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    [[ $output == *"replayed 3, pending 0"* ]]
    [[ $output == *"spooled request_id=unv-A does not verify: kept as a dead letter"* ]]
    [[ $output == *"spooled request_id=unv-T does not verify: kept as a dead letter"* ]]
    [[ $output != *damaged* ]]
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'unv-B'")" 1
    ze_eq "$(ze_count zoom_visit_events "visit_uuid IN ('unv-A', 'unv-T', 'unv-X')")" 0
    ze_eq "$(ze_sql "SELECT reason, request_id, CAST(raw AS CHAR) = '$body_A' FROM zoom_rejected_events WHERE request_id = 'unv-A'")" \
        "$(printf 'spool_unverified\tunv-A\t1')"
    ze_eq "$(ze_sql "SELECT reason, raw LIKE '%unv-X%' FROM zoom_rejected_events WHERE request_id = 'unv-T'")" \
        "$(printf 'spool_unverified\t1')"
}

@test "a record planted in zoom_events 1.0's format (no signature kept) is a dead letter, never an event" {
    # Regression test; the bug was: verify_record() takes format-1 records as they are (ingest.c): anyone who can write the spool plants events.
    sp=$ZT/spool7l
    mkdir -m 700 "$sp"
    # magic "ZESPOOL1", len, crc32(payload); payload: received_ms[8]
    # idlen[2] request_id body.
    perl -MCompress::Zlib -e '
        my $body = q({"event":"meeting.started","event_ts":1700000700999,"payload":{"object":{"id":"4702","uuid":"unv-L"}}});
        my $rid = "unv-L";
        my $p = pack("Q<", 1700000700999) . pack("v", length $rid) . $rid . $body;
        print "ZESPOOL1", pack("V", length $p), pack("V", crc32($p)), $p;' >"$sp/h-1.spool"
    chmod 600 "$sp/h-1.spool"
    ZOOM_EVENTS_SPOOL_DIR=$sp run "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    [[ $output == *"replayed 1, pending 0"* ]]
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'unv-L'")" 0
    ze_eq "$(ze_sql "SELECT reason FROM zoom_rejected_events WHERE request_id = 'unv-L'")" spool_unverified
}

@test "replay-rejected does not turn a spool_unverified dead letter into an event" {
    # Regression test; the bug was: replay-rejected without ids moves every dead letter that normalizes, spool_unverified ones too (store.c rejected_ids_sql).
    sp=$ZT/spool7r
    export ZOOM_EVENTS_SPOOL_DIR=$sp
    body=$(ze_event meeting.participant_joined 4701 unv-R 1700000700777 u-R)
    SECRET=secret-R-old post_cgi "$body" ZOOM_EVENTS_WEBHOOK_SECRET=secret-R-old \
        HTTP_X_ZM_REQUEST_ID=unv-R "$(no_db)"
    ze_eq "$HTTP_STATUS" 202
    run "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    id=$(ze_sql "SELECT id FROM zoom_rejected_events WHERE request_id = 'unv-R' AND reason = 'spool_unverified'")
    [ -n "$id" ]
    # The routine "move every dead letter that normalizes now".
    run "$ZE_BIN" replay-rejected
    [ "$status" -eq 0 ]
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'unv-R'")" 0
    ze_eq "$(ze_count zoom_rejected_events "id = $id AND reason = 'spool_unverified'")" 1
}

# ---- 8. dead letters the database refuses ----

# The CHECK constraints of the test below, gone (also after a failure).
drop_checks() {
    ze_sql "ALTER TABLE zoom_rejected_events DROP CONSTRAINT IF EXISTS ze_t8_no_bad_ts, DROP CONSTRAINT IF EXISTS ze_t8_no_refused;
        ALTER TABLE zoom_visit_events DROP CONSTRAINT IF EXISTS ze_t8_no_666"
}

@test "a dead letter the database refuses is kept as db_refused or answered 5xx, never a 202 with nothing stored" {
    # Scoped to this test's deliveries (request ids refused-N).
    ze_sql "ALTER TABLE zoom_rejected_events ADD CONSTRAINT ze_t8_no_bad_ts CHECK (reason <> 'bad_event_ts' OR request_id NOT LIKE 'refused-%')"
    ze_sql "ALTER TABLE zoom_visit_events ADD CONSTRAINT ze_t8_no_666 CHECK (meeting_id <> '4866')"
    # A malformed event (event_ts a string): its dead letter is refused,
    # so it is kept as a bare db_refused dead letter (a 5xx would keep the
    # promise too; this service keeps it).
    bad='{"event":"meeting.started","event_ts":"soon","payload":{"object":{"id":"4800","uuid":"refused-1"}}}'
    post_cgi "$bad" HTTP_X_ZM_REQUEST_ID=refused-1
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: rejected"* ]]
    ze_eq "$(ze_sql "SELECT reason, request_id, CAST(raw AS CHAR) = '$bad' FROM zoom_rejected_events WHERE raw LIKE '%refused-1%'")" \
        "$(printf 'db_refused\trefused-1\t1')"
    # A meeting event whose values the database refuses: a dead letter
    # saying why.
    ev=$(ze_event meeting.started 4866 refused-2 1700000800002)
    post_cgi "$ev" HTTP_X_ZM_REQUEST_ID=refused-2
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: rejected"* ]]
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'refused-2'")" 0
    ze_eq "$(ze_sql "SELECT reason, event_name, detail LIKE '%ze_t8_no_666%', CAST(raw AS CHAR) = '$ev' FROM zoom_rejected_events WHERE raw LIKE '%refused-2%'")" \
        "$(printf 'db_refused\tmeeting.started\t1\t1')"
    # Both refused: nothing durable, so 503.
    ze_sql "ALTER TABLE zoom_rejected_events ADD CONSTRAINT ze_t8_no_refused CHECK (reason <> 'db_refused' OR request_id <> 'refused-3')"
    ev=$(ze_event meeting.started 4866 refused-3 1700000800003)
    post_cgi "$ev" HTTP_X_ZM_REQUEST_ID=refused-3
    ze_eq "$HTTP_STATUS" 503
    ze_eq "$(ze_count zoom_rejected_events "raw LIKE '%refused-3%'")" 0
    drop_checks
    # Zoom's retry then lands it.
    post_cgi "$ev"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'refused-3'")" 1
}

# ---- 9. instance names ----

@test "an instance name that does not start with a letter or digit is refused at start and by check-config" {
    for bad in .hidden -dash _under ..; do
        ZOOM_EVENTS_INSTANCE=$bad run timeout 10 "$ZE_BIN" -d -s "$ZT/inst.sock"
        [ "$status" -eq 1 ]
        [[ $output == *"instance: \"$bad\" may only hold letters, digits, '.', '_' and '-', and must start with a letter or digit"* ]]
        ZOOM_EVENTS_INSTANCE=$bad run "$ZE_BIN" check-config
        [ "$status" -eq 1 ]
        [[ $output == *"instance: \"$bad\""*"must start with a letter or digit"* ]]
        ZOOM_EVENTS_INSTANCE=$bad run "$ZE_BIN" --check-config
        [ "$status" -eq 1 ]
    done
    [ ! -e "$ZT/inst.sock" ]
    # In the configuration file too.
    printf '[zoom_events]\ninstance = ".hidden"\n' >"$ZT/inst.toml"
    ZOOM_EVENTS_CONFIG=$ZT/inst.toml run "$ZE_BIN" check-config
    [ "$status" -eq 1 ]
    [[ $output == *'instance: ".hidden"'* ]]
    # As CGI: no answer at all (the web server answers 5xx).
    run_cgi GET /zoom_events/health "" ZOOM_EVENTS_INSTANCE=.hidden
    ze_eq "$CGI_RC" 1
    ze_eq "$HTTP_STATUS" ""
    ZOOM_EVENTS_INSTANCE=web-1.a_b run "$ZE_BIN" check-config
    [ "$status" -eq 0 ]
}

# ---- 10. SIGHUP without a secret ----

# wait_log PATTERN: until the service's log has a line matching it.
wait_log() {
    local i
    for i in $(seq 1 100); do
        grep -q -- "$1" "$ZT/zoom_events.log" && return 0
        sleep 0.05
    done
    echo "no log line: $1" >&2
    return 1
}

@test "SIGHUP without a secret: the reload is refused with its reason, and the old secret keeps serving" {
    unset ZOOM_EVENTS_WEBHOOK_SECRET ZOOM_EVENTS_CONFIG
    cfg=$ZT/hup.toml
    sock=$ZT/hup.sock
    printf '[zoom]\nwebhook_secret = "old-secret-10"\n' >"$cfg"
    chmod 600 "$cfg"
    "$ZE_BIN" -c "$cfg" -s "$sock" -F 2 3>&- &
    sup=$!
    track "$sup"
    ze_wait_socket "$sock"
    post_fcgi "$sock" hup-1 old-secret-10
    ze_eq "$HTTP_STATUS" 202
    sleep 0.3
    kids=$(pgrep -P "$sup" | sort)
    ze_eq "$(echo "$kids" | wc -l)" 2

    # The secret removed from the file: the reload is refused.
    printf '[zoom]\n# the secret went away\n' >"$cfg"
    kill -HUP "$sup"
    wait_log "pid=$sup .*reload refused, keeping the old configuration: no webhook secret configured"
    sleep 0.3
    ze_eq "$(pgrep -P "$sup" | sort)" "$kids"
    for i in 1 2 3 4; do
        post_fcgi "$sock" "hup-2-$i" old-secret-10
        ze_eq "$HTTP_STATUS" 202
    done
    # A worker that dies now is replaced under the old configuration.
    kill -KILL "$(echo "$kids" | head -1)"
    for i in $(seq 1 50); do
        now=$(pgrep -P "$sup" | sort)
        [ "$(echo "$now" | wc -l)" -eq 2 ] && [ "$now" != "$kids" ] && break
        sleep 0.1
    done
    [ "$now" != "$kids" ]
    for i in 1 2 3 4; do
        post_fcgi "$sock" "hup-3-$i" old-secret-10
        ze_eq "$HTTP_STATUS" 202
    done

    # A secret file: a reload takes it; then it is deleted: refused too.
    printf 'file-secret-10\n' >"$ZT/hup.secret"
    chmod 600 "$ZT/hup.secret"
    printf '[zoom]\nwebhook_secret_file = "%s"\n' "$ZT/hup.secret" >"$cfg"
    kill -HUP "$sup"
    wait_log "pid=$sup .*configuration reloaded; replacing workers"
    for i in $(seq 1 50); do
        post_fcgi "$sock" hup-4 file-secret-10
        [ "$HTTP_STATUS" = 202 ] && break
        sleep 0.1
    done
    ze_eq "$HTTP_STATUS" 202
    sleep 0.5
    kids=$(pgrep -P "$sup" | sort)
    rm "$ZT/hup.secret"
    kill -HUP "$sup"
    wait_log "pid=$sup .*reload refused, keeping the old configuration: webhook_secret_file: cannot open $ZT/hup.secret"
    sleep 0.3
    ze_eq "$(pgrep -P "$sup" | sort)" "$kids"
    for i in 1 2 3 4; do
        post_fcgi "$sock" "hup-5-$i" file-secret-10
        ze_eq "$HTTP_STATUS" 202
    done
    post_fcgi "$sock" hup-6 old-secret-10
    ze_eq "$HTTP_STATUS" 401
    kill -TERM "$sup"
    wait "$sup"
    ze_eq "$(ze_count zoom_visit_events "visit_uuid LIKE 'hup-%'")" 14
}

# ---- 11. the public health answer ----

@test "public health (nginx HTTPS, or a non-loopback peer) is exactly status and db; metrics 404 there" {
    ze_start_nginx_stack 2
    public='{"status":"ok","db":"up"}'
    ze_http GET "https://127.0.0.1:$HTTPS_PORT/zoom_events/health"
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$HTTP_BODY" "$public"
    ze_http GET "https://127.0.0.1:$HTTPS_PORT/zoom_events/health?strict=1"
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$HTTP_BODY" "$public"
    ze_http GET "https://127.0.0.1:$HTTPS_PORT/zoom_events/metrics"
    ze_eq "$HTTP_STATUS" 404
    ze_eq "$HTTP_BODY" '{"error":"no such resource"}'
    # The loopback listener has the details.
    ze_http GET "$BASE/zoom_events/health"
    ze_eq "$HTTP_STATUS" 200
    for f in received inserted spool_pending db_node worker version; do
        [[ $HTTP_BODY == *"\"$f\":"* ]]
    done
    ze_http GET "$BASE/zoom_events/metrics"
    ze_eq "$HTTP_STATUS" 200
    [[ $HTTP_BODY == *"zoom_events_received_total"* ]]
    for pid in $(ze_workers_pids "$ZT"); do ze_alive "$pid"; done
    ze_nginx_stop "$ZT"
    ze_workers_stop "$ZT"

    # CGI: the peer's address decides, whatever the web server says.
    for addr in 203.0.113.7 2001:db8::7 ::ffff:203.0.113.7 10.1.2.3; do
        run_cgi GET /zoom_events/health "" REMOTE_ADDR="$addr"
        ze_eq "$CGI_RC" 0
        ze_eq "$HTTP_STATUS" 200
        ze_eq "$HTTP_BODY" "$public"
        run_cgi GET /zoom_events/metrics "" REMOTE_ADDR="$addr"
        ze_eq "$HTTP_STATUS" 404
        ze_eq "$HTTP_BODY" '{"error":"no such resource"}'
    done
    run_cgi GET /zoom_events/health "" REMOTE_ADDR=127.0.0.1 ZOOM_EVENTS_PUBLIC=1
    ze_eq "$HTTP_BODY" "$public"
    run_cgi GET /zoom_events/health "" REMOTE_ADDR=203.0.113.7 "$(no_db)"
    ze_eq "$HTTP_BODY" '{"status":"ok","db":"down"}'
    for addr in 127.0.0.1 ::1 ::ffff:127.0.0.1; do
        run_cgi GET /zoom_events/health "" REMOTE_ADDR="$addr"
        [[ $HTTP_BODY == *'"db_node":'* ]]
        run_cgi GET /zoom_events/metrics "" REMOTE_ADDR="$addr"
        ze_eq "$HTTP_STATUS" 200
    done
}

# ---- 12. FastCGI over TCP ----

@test "FastCGI on TCP beyond loopback: refused without FCGI_WEB_SERVER_ADDRS or -A; the list is enforced" {
    port=$(ze_free_port)
    for addr in "0.0.0.0:$port" ":$port"; do
        run env -u FCGI_WEB_SERVER_ADDRS timeout 10 "$ZE_BIN" -d -b "$addr"
        [ "$status" -eq 1 ]
        [[ $output == *"-b $addr listens beyond loopback and FCGI_WEB_SERVER_ADDRS is not set"* ]]
        FCGI_WEB_SERVER_ADDRS= run timeout 10 "$ZE_BIN" -d -b "$addr" -F 2
        [ "$status" -eq 1 ]
    done
    # Nothing listens.
    ze_refute bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null

    # With the web server's address listed: it serves that peer.
    FCGI_WEB_SERVER_ADDRS=127.0.0.1 "$ZE_BIN" -b "0.0.0.0:$port" 3>&- &
    pid=$!
    track "$pid"
    ze_wait_socket "$port"
    ze_fcgi "127.0.0.1:$port" GET /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    post_fcgi "127.0.0.1:$port" tcp-1 "$ZE_SECRET"
    ze_eq "$HTTP_STATUS" 202
    kill -TERM "$pid"
    wait "$pid"

    # A peer not in the list gets no answer; the worker lives on.
    FCGI_WEB_SERVER_ADDRS=192.0.2.10,192.0.2.11 "$ZE_BIN" -b "0.0.0.0:$port" 3>&- &
    pid=$!
    track "$pid"
    ze_wait_socket "$port"
    ze_fcgi "127.0.0.1:$port" GET /zoom_events/health || true
    ze_eq "$HTTP_STATUS" ""
    ze_alive "$pid"
    kill -TERM "$pid"
    wait "$pid"

    # -A: any peer, with a warning.
    "$ZE_BIN" -A -b "0.0.0.0:$port" 3>&- &
    pid=$!
    track "$pid"
    ze_wait_socket "$port"
    ze_fcgi "127.0.0.1:$port" GET /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    grep -q "FastCGI on 0.0.0.0:$port accepts any peer (-A)" "$ZT/zoom_events.log"
    kill -TERM "$pid"
    wait "$pid"
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'tcp-1'")" 1
}
