#!/usr/bin/env bats
# tests/cluster/cluster.bats -- issue 7: the multi-host topology of
# deploy/cluster/cluster.sh (3 MariaDB Galera nodes, 3 zoom_events pools,
# nginx in front) under real faults: a node SIGKILLed and brought back (IST,
# then SST), a pool SIGKILLed, the same delivery to two pools at once, a
# node desynced or cut off (non-Primary).  Also measures throughput (the
# cluster next to a single node) and certification conflicts (one shared
# counter row next to per-pool rows).  `make test-cluster` runs it; the
# figures go to $ZE_CLUSTER_DIR/figures.txt and to the TAP output.
#
# Its own state dir and ports, so that it can run next to `make
# cluster-up`: ZE_CLUSTER_DIR (default a new directory under /var/tmp,
# which the mysql user can reach wherever the checkout is), ZE_CLUSTER_PORT
# (default 25300).  The state (logs, datadirs, about 800 MB) is removed
# after the run unless ZE_KEEP_CLUSTER=1; the figures are also copied to
# var/cluster-test-figures.txt.

setup_file() {
    ZE_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    export ZE_ROOT
    export ZE_CLUSTER_MADE=""
    if [ -z "${ZE_CLUSTER_DIR:-}" ]; then
        ZE_CLUSTER_DIR=$(mktemp -d /var/tmp/zoom-cluster-test.XXXXXX)
        chmod 711 "$ZE_CLUSTER_DIR"
        ZE_CLUSTER_MADE=1
    fi
    export ZE_CLUSTER_DIR
    export ZE_CLUSTER_PORT=${ZE_CLUSTER_PORT:-25300}
    export CL=$ZE_ROOT/deploy/cluster/cluster.sh
    export LOAD=$ZE_ROOT/tests/e2e/load.sh
    export T0
    T0=$(date +%s)
    # Pools and the single node must not inherit a developer's settings.
    unset ZE_CLUSTER_INSTANCES ZE_CLUSTER_STATS_SLOTS ZE_CLUSTER_POOL_NODES
    "$CL" clean >/dev/null 2>&1 3>&- || true
    if ! "$CL" up >"$BATS_FILE_TMPDIR/env" 2>"$BATS_FILE_TMPDIR/up.log" 3>&-; then
        cat "$BATS_FILE_TMPDIR/up.log" >&2
        "$CL" down >/dev/null 2>&1 3>&-
        return 1
    fi
    set -a
    # shellcheck disable=SC1091
    . "$BATS_FILE_TMPDIR/env"
    set +a
    export SECRET FIG=$ZE_CLUSTER_DIR/figures.txt
    SECRET=$(cat "$ZE_SECRET_FILE")
    {
        echo "zoom_events cluster figures, $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "machine: $(nproc) cores, $(mariadbd --version | awk '{print $3}'), galera $(dpkg-query -W -f='${Version}' galera-4 2>/dev/null)"
        echo "topology: 3 Galera nodes, 3 pools x ${ZE_CLUSTER_WORKERS:-3} workers (pool P -> node P), nginx front"
        echo "cluster up in $(($(date +%s) - T0)) s"
    } >"$FIG"
}

teardown_file() {
    [ -n "${CL:-}" ] || return 0
    "$CL" down >/dev/null 2>&1 3>&-
    if [ -n "${FIG:-}" ] && [ -f "$FIG" ]; then
        echo "suite: $(($(date +%s) - T0)) s including set-up and tear-down" >>"$FIG"
        sed 's/^/# /' "$FIG" >&3
        mkdir -p "$ZE_ROOT/var" && cp "$FIG" "$ZE_ROOT/var/cluster-test-figures.txt"
    fi
    if [ -n "${ZE_CLUSTER_MADE:-}" ] && [ "${ZE_KEEP_CLUSTER:-0}" != 1 ]; then
        rm -rf "$ZE_CLUSTER_DIR"
    fi
}

teardown() {
    if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
        echo "--- cluster status after the failure:" >&2
        "$CL" status >&2 3>&- || true
    fi
}

# ---- helpers ----

fig() { echo "$*" >>"$FIG"; echo "# $*" >&3; }

# nsql N QUERY: on node N, reading everything committed anywhere first.
nsql() {
    local n=$1 sock
    shift
    sock=ZE_NODE${n}_SOCK
    mariadb --no-defaults --socket="${!sock}" -uroot --connect-timeout=3 \
        -N -B zoom_events -e "SET SESSION wsrep_sync_wait = 1; $*"
}

# nstatus N VAR: one wsrep status value of node N.
nstatus() {
    local sock=ZE_NODE${1}_SOCK
    mariadb --no-defaults --socket="${!sock}" -uroot --connect-timeout=3 -N -B \
        -e "SHOW GLOBAL STATUS LIKE '$2'" | cut -f2
}

# wait_size N SIZE: until node N sees a cluster of SIZE nodes (the others
# have evicted a killed one: until then every write in the cluster waits).
wait_size() {
    local i
    for i in $(seq 1 300); do
        [ "$(nstatus "$1" wsrep_cluster_size)" = "$2" ] && return 0
        sleep 0.1
    done
    echo "node $1: cluster size $(nstatus "$1" wsrep_cluster_size), not $2" >&2
    return 1
}

# spooled PREFIX: how many of the load's deliveries were answered from a
# pool's spool (load.sh sends the uuid as x-zm-request-id).
spooled() {
    cat "$ZE_CLUSTER_DIR"/pool*/zoom_events.log | grep "req=$1-" | grep -c 'outcome=spooled' || true
}

# Certification failures and brute-force aborts, summed over the nodes.
conflicts() {
    local n c=0 b=0
    for n in 1 2 3; do
        c=$((c + $(nstatus "$n" wsrep_local_cert_failures)))
        b=$((b + $(nstatus "$n" wsrep_local_bf_aborts)))
    done
    echo "$c $b"
}

# pool_health P [QUERY]: GET pool P's health; sets CODE and BODY.
pool_health() {
    local url=ZE_POOL${1}_URL
    BODY=$(curl -s --max-time 5 -o - -w '\n%{http_code}' \
        "${!url}/zoom_events/health${2:+?$2}")
    CODE=${BODY##*$'\n'}
    BODY=${BODY%$'\n'*}
}

# wait_health P CODE: poll pool P's strict health until it answers CODE
# (a worker waits db_retry_ms before it reconnects).
wait_health() {
    local i
    for i in $(seq 1 100); do
        pool_health "$1" strict=1
        [ "$CODE" = "$2" ] && return 0
        sleep 0.1
    done
    echo "pool $1: health $CODE, not $2: $BODY" >&2
    return 1
}

# The value of a flat JSON field of BODY.
jfield() {
    printf '%s' "$BODY" | sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" | tr -d '"'
}

# Health checks on every pool (each replays its spool) until no pool has
# anything spooled.
drain_all() {
    local p i pending
    for i in $(seq 1 150); do
        pending=0
        for p in 1 2 3; do
            pool_health "$p"
            if [ "$(jfield db)" != up ] || [ "$(jfield spool_pending)" != 0 ]; then
                pending=1
            fi
        done
        [ "$pending" = 0 ] && return 0
        sleep 0.2
    done
    echo "spools not drained: $BODY" >&2
    return 1
}

# sign BODY: sets TS and SIG as Zoom computes them (openssl, not the code
# under test).
sign() {
    TS=$(date +%s)
    SIG=v0=$(printf 'v0:%s:%s' "$TS" "$1" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
}

# post URL BODY: one signed delivery; sets CODE and OUTCOME.
post() {
    local out
    sign "$2"
    out=$(curl -s --max-time 10 -o /dev/null \
        -w '%{http_code} %header{x-zoom-events-outcome}' \
        -H 'Content-Type: application/json' -H "x-zm-request-timestamp: $TS" \
        -H "x-zm-signature: $SIG" --data-binary "$2" "$1/zoom_events/events")
    CODE=${out%% *}
    OUTCOME=${out#* }
}

# Every node Synced, with an empty receive queue.
wait_quiet() {
    local n i ok
    for i in $(seq 1 150); do
        ok=1
        for n in 1 2 3; do
            [ "$(nstatus "$n" wsrep_local_state_comment)" = Synced ] &&
                [ "$(nstatus "$n" wsrep_local_recv_queue)" = 0 ] || ok=0
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.2
    done
    echo "cluster not quiet" >&2
    return 1
}

# check_load FILE PREFIX LABEL [EXTRA]: every uuid acknowledged (2xx) in a
# load.sh output file is stored exactly once on every node.  Writes the
# label's figures: sent, acknowledged, stored, and the other statuses.
check_load() {
    local file=$1 prefix=$2 label=$3 extra=${4:-} n acked stored dups missing others
    acked=$(awk '$2 ~ /^2/ {print $1}' "$file" | sort -u)
    others=$(awk '$2 !~ /^2/ {print $2}' "$file" | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')
    for n in 1 2 3; do
        stored=$(nsql "$n" "SELECT visit_uuid FROM zoom_visit_events WHERE visit_uuid LIKE '$prefix-%'" | sort)
        dups=$(nsql "$n" "SELECT COUNT(*) - COUNT(DISTINCT visit_uuid) FROM zoom_visit_events WHERE visit_uuid LIKE '$prefix-%'")
        missing=$(comm -23 <(echo "$acked") <(echo "$stored") | sed '/^$/d')
        if [ "$n" = 1 ]; then
            fig "$label: sent $(wc -l <"$file") acknowledged $(echo "$acked" | sed '/^$/d' | wc -l) stored $(echo "$stored" | sed '/^$/d' | wc -l) (not acknowledged: ${others:-none})${extra:+; $extra}"
        fi
        if [ -n "$missing" ]; then
            echo "node $n: acknowledged but not stored:" >&2
            echo "$missing" | head >&2
            return 1
        fi
        if [ "$dups" != 0 ]; then
            echo "node $n: $dups duplicate rows" >&2
            return 1
        fi
    done
}

# Counters agree with the rows, and every node holds the same rows and
# counters.
check_counters() {
    local n sums prev="" rows
    for n in 1 2 3; do
        sums=$(nsql "$n" "SELECT SUM(received), SUM(inserted), SUM(duplicates), SUM(ignored), SUM(rejected), SUM(replayed) FROM zoom_stats")
        rows=$(nsql "$n" "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, meeting_id, visit_uuid, event_name, event_ts, participant_id))) FROM zoom_visit_events")
        read -r rec ins dup ign rej _ <<<"$sums"
        if [ "$ins" != "${rows%%$'\t'*}" ]; then
            echo "node $n: inserted $ins but $rows rows" >&2
            return 1
        fi
        if [ "$rec" != $((ins + dup + ign + rej)) ]; then
            echo "node $n: received $rec != $ins + $dup + $ign + $rej" >&2
            return 1
        fi
        if [ -n "$prev" ] && [ "$prev" != "$sums $rows" ]; then
            echo "node $n differs: $sums $rows, node 1: $prev" >&2
            return 1
        fi
        prev="$sums $rows"
    done
    COUNTERS=$prev
}

# wrk for SECS seconds at URL with pre-signed events PREFIX-1...; sets
# WRK (its summary line) and fields PER_S, ACKED.
run_wrk() {
    local url=$1 prefix=$2 secs=$3 file=$BATS_FILE_TMPDIR/$2.events
    perl "$BATS_TEST_DIRNAME/sign_events.pl" "$SECRET" "$prefix" 60000 >"$file"
    WRK=$(wrk -t2 -c12 -d"${secs}s" -s "$BATS_TEST_DIRNAME/events.lua" \
        "$url/zoom_events/events" -- "$file" 2 3>&- | tail -1)
    PER_S=$(echo "$WRK" | awk '{print $10}')
    ACKED=$(echo "$WRK" | awk '{print $4}')
    [[ $WRK == events* ]]
}

# stored_ge PREFIX N: at least N rows (a run stopped by wrk's clock may
# have stored a few it did not see answered).
stored_ge() {
    local got
    got=$(nsql 1 "SELECT COUNT(*) FROM zoom_visit_events WHERE visit_uuid LIKE '$1-%'")
    STORED=$got
    if [ "$got" -lt "$2" ]; then
        echo "$1: $2 acknowledged, only $got stored" >&2
        return 1
    fi
}

# ---- tests ----

@test "topology: 3 Synced nodes, each pool on its own node, health strict 200" {
    for n in 1 2 3; do
        [ "$(nstatus "$n" wsrep_local_state_comment)" = Synced ]
        [ "$(nstatus "$n" wsrep_cluster_size)" = 3 ]
    done
    for p in 1 2 3; do
        pool_health "$p" strict=1
        [ "$CODE" = 200 ]
        [ "$(jfield db_node)" = "node$p" ]
        [ "$(jfield wsrep_state)" = Synced ]
    done
}

@test "throughput: the cluster through nginx next to a single node, same machine and run" {
    "$CL" single-up >/dev/null 2>&1 3>&-
    run_wrk "$ZE_SINGLE_URL" tps 8
    single=$PER_S
    stored_single=$(mariadb --no-defaults --socket="$ZE_CLUSTER_DIR/single/db/mysqld.sock" -uroot -N -B zoom_events -e "SELECT COUNT(*) FROM zoom_visit_events WHERE visit_uuid LIKE 'tps-%'")
    fig "throughput (wrk -t2 -c12, 8 s, distinct pre-signed events, through nginx):"
    fig "  single MariaDB (no Galera), 1 pool x 9 workers: $single events/s ($WRK; stored $stored_single)"
    [ "$stored_single" -ge "$ACKED" ]
    "$CL" single-down >/dev/null 2>&1 3>&-
    run_wrk "$ZE_FRONT" tpc 8
    stored_ge tpc "$ACKED"
    fig "  Galera, 3 nodes, 3 pools x 3 workers, front:  $PER_S events/s ($WRK; stored $STORED)"
    run_wrk "$ZE_POOL1_URL" tp1 8
    stored_ge tp1 "$ACKED"
    fig "  Galera, every write through pool 1 / node 1:  $PER_S events/s ($WRK; stored $STORED)"
    [ "$ACKED" -gt 0 ]
    drain_all
    check_counters
}

@test "the same delivery to two pools (two nodes) at once, 150 times: one row each" {
    read -r c0 b0 < <(conflicts)
    before=$(nsql 1 "SELECT SUM(inserted), SUM(duplicates) FROM zoom_stats")
    r0=$(cat "$ZE_CLUSTER_DIR"/pool[12]/zoom_events.log | grep -c 'attempt 1): Deadlock' || true)
    : >"$BATS_FILE_TMPDIR/twice"
    for i in $(seq 1 150); do
        body=$(printf '{"event":"meeting.participant_joined","event_ts":%s,"payload":{"object":{"id":"77%s","uuid":"twice-%s","participant":{"user_id":"u-%s"}}}}' \
            "$((1700000100000 + i))" "$i" "$i" "$i")
        sign "$body"
        # Both requests leave together (curl --parallel-immediate).
        curl -s -Z --parallel-immediate --max-time 10 -o /dev/null -o /dev/null \
            -w "twice-$i %{http_code} %header{x-zoom-events-outcome}\n" \
            -H 'Content-Type: application/json' -H "x-zm-request-timestamp: $TS" \
            -H "x-zm-signature: $SIG" --data-binary "$body" \
            "$ZE_POOL1_URL/zoom_events/events" "$ZE_POOL2_URL/zoom_events/events" \
            >>"$BATS_FILE_TMPDIR/twice"
    done
    drain_all
    read -r c1 b1 < <(conflicts)
    outcomes=$(awk '{print $3}' "$BATS_FILE_TMPDIR/twice" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')
    r1=$(cat "$ZE_CLUSTER_DIR"/pool[12]/zoom_events.log | grep -c 'attempt 1): Deadlock' || true)
    fig "same delivery to pools 1 and 2 at once: 150 pairs, 300 posts, answers: ${outcomes%, }; cert failures +$((c1 - c0)), bf aborts +$((b1 - b0)), deadlock errors retried $((r1 - r0))"
    [ "$(awk '$2 != 202' "$BATS_FILE_TMPDIR/twice" | wc -l)" = 0 ]
    for n in 1 2 3; do
        [ "$(nsql "$n" "SELECT COUNT(*), COUNT(DISTINCT visit_uuid) FROM zoom_visit_events WHERE visit_uuid LIKE 'twice-%'")" = "150	150" ]
    done
    # One of each pair was counted inserted, the other duplicate.
    after=$(nsql 1 "SELECT SUM(inserted), SUM(duplicates) FROM zoom_stats")
    [ "$(( ${after%%$'\t'*} - ${before%%$'\t'*} ))" = 150 ]
    [ "$(( ${after##*$'\t'} - ${before##*$'\t'} ))" = 150 ]
    check_counters
}

@test "a worker pool SIGKILLed under load: nginx fails over, every delivery answered 2xx and stored" {
    f=$BATS_FILE_TMPDIR/poolkill
    : >"$f"
    nlog=$(cat "$ZE_CLUSTER_DIR/nginx/error.log" 2>/dev/null | wc -l)
    "$LOAD" "$ZE_FRONT/zoom_events/events" "$SECRET" pk 600 6 "$f" 3>&- &
    load=$!
    sleep 1.5
    "$CL" kill-pool 2 3>&- 2>/dev/null
    wait "$load"
    "$CL" start-pool 2 3>&- 2>/dev/null
    drain_all
    wait_quiet
    check_load "$f" pk "pool 2 SIGKILLed (3 workers) under load" \
        "answered from the spool $(spooled pk)"
    # A delivery whose worker died under it is retried by nginx on the next
    # pool (fastcgi_next_upstream ... non_idempotent): none is answered
    # anything but 2xx, and every one of the 600 was answered.
    answered=$(awk '{print $1}' "$f" | sort -u | wc -l)
    not2xx=$(awk '$2 !~ /^2/' "$f")
    if [ "$answered" != 600 ] || [ -n "$not2xx" ]; then
        echo "$answered of 600 answered; not 2xx:" >&2
        echo "$not2xx" | head >&2
        tail -n +"$((nlog + 1))" "$ZE_CLUSTER_DIR/nginx/error.log" | tail -5 >&2
        return 1
    fi
    # The failover did happen: nginx logged the dead pool's failures
    # (connections refused, or cut under a request) and went on.
    failed=$(tail -n +"$((nlog + 1))" "$ZE_CLUSTER_DIR/nginx/error.log" |
        grep -c -E 'prematurely closed|Connection refused|Connection reset' || true)
    fig "  nginx error log: $failed upstream failures retried on another pool"
    [ "$failed" -gt 0 ]
    check_counters
}

@test "a Galera node SIGKILLed under load, then back by IST: every acknowledged event once on every node" {
    f=$BATS_FILE_TMPDIR/nodekill
    : >"$f"
    ist0=$(grep -c 'IST received' "$ZE_CLUSTER_DIR/node3/error.log" || true)
    sst0=$(grep -c 'rsync SST completed on joiner' "$ZE_CLUSTER_DIR/node3/error.log" || true)
    "$LOAD" "$ZE_FRONT/zoom_events/events" "$SECRET" nk 900 6 "$f" 3>&- &
    load=$!
    sleep 1.5
    "$CL" kill-node 3 3>&- 2>/dev/null
    t_kill=$(date +%s%N)
    wait_size 1 2
    gone_ms=$((($(date +%s%N) - t_kill) / 1000000))
    pool_health 3 strict=1
    [ "$CODE" = 503 ]
    sleep 1
    t_start=$(date +%s%N)
    "$CL" start-node 3 3>&- 2>"$BATS_FILE_TMPDIR/start3.log"
    back_ms=$((($(date +%s%N) - t_start) / 1000000))
    grep -q 'recovered position' "$BATS_FILE_TMPDIR/start3.log"
    wait "$load"
    drain_all
    wait_quiet
    # It came back by IST, not by a full SST.
    [ "$(grep -c 'IST received' "$ZE_CLUSTER_DIR/node3/error.log")" -gt "$ist0" ]
    [ "$(grep -c 'rsync SST completed on joiner' "$ZE_CLUSTER_DIR/node3/error.log" || true)" = "$sst0" ]
    check_load "$f" nk "node 3 SIGKILLed under load, back by IST" \
        "answered from the spool $(spooled nk); evicted ${gone_ms} ms after the kill, Synced ${back_ms} ms after its restart"
    [ "$(nsql 3 "SELECT COUNT(*) FROM zoom_visit_events")" = "$(nsql 1 "SELECT COUNT(*) FROM zoom_visit_events")" ]
    check_counters
}

@test "a Galera node SIGKILLed under load, then back by SST into an empty datadir" {
    f=$BATS_FILE_TMPDIR/nodesst
    : >"$f"
    sst0=$(grep -c 'rsync SST completed on joiner' "$ZE_CLUSTER_DIR/node2/error.log" || true)
    "$LOAD" "$ZE_FRONT/zoom_events/events" "$SECRET" ns 700 6 "$f" 3>&- &
    load=$!
    sleep 1.5
    "$CL" kill-node 2 3>&- 2>/dev/null
    t_kill=$(date +%s%N)
    wait_size 1 2
    gone_ms=$((($(date +%s%N) - t_kill) / 1000000))
    t_start=$(date +%s%N)
    "$CL" start-node 2 --sst 3>&- 2>/dev/null
    back_ms=$((($(date +%s%N) - t_start) / 1000000))
    wait "$load"
    drain_all
    wait_quiet
    [ "$(grep -c 'rsync SST completed on joiner' "$ZE_CLUSTER_DIR/node2/error.log")" -gt "$sst0" ]
    check_load "$f" ns "node 2 SIGKILLed under load, back by rsync SST" \
        "answered from the spool $(spooled ns); evicted ${gone_ms} ms after the kill, Synced ${back_ms} ms after its restart"
    check_counters
}

@test "health: a pool whose node is down answers strict 503, then 200 once the node is back" {
    "$CL" kill-node 3 3>&- 2>/dev/null
    pool_health 3 strict=1
    [ "$CODE" = 503 ]
    [ "$(jfield db)" = down ]
    pool_health 3
    [ "$CODE" = 200 ]
    # The front still answers: the other pools are fine.
    post "$ZE_FRONT" '{"event":"meeting.started","event_ts":1700000200001,"payload":{"object":{"id":"880","uuid":"hdown-1"}}}'
    [ "$CODE" = 202 ]
    "$CL" start-node 3 3>&- 2>/dev/null
    wait_health 3 200
    [ "$(jfield wsrep_state)" = Synced ]
    [ "$(jfield db_node)" = node3 ]
}

@test "health: a desynced node (Donor/Desynced) gives strict 503 and says so" {
    nsql 2 "SET GLOBAL wsrep_desync = ON"
    pool_health 2 strict=1
    nsql 2 "SET GLOBAL wsrep_desync = OFF"
    echo "$BODY"
    [ "$CODE" = 503 ]
    [ "$(jfield wsrep_state)" = Donor/Desynced ]
    [ "$(jfield db)" = up ]
    [ "$(jfield db_node)" = node2 ]
    "$CL" wait-synced 2 3>&- 2>/dev/null
    wait_health 2 200
}

@test "a node cut off from the others (non-Primary): strict 503, events spooled, stored once it rejoins" {
    nsql 1 "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'" || true
    for i in $(seq 1 150); do
        [ "$(nstatus 1 wsrep_cluster_status)" = non-Primary ] && break
        sleep 0.2
    done
    [ "$(nstatus 1 wsrep_cluster_status)" = non-Primary ]
    state=$(nstatus 1 wsrep_local_state_comment)
    pool_health 1 strict=1
    echo "$BODY" >"$BATS_FILE_TMPDIR/nonprimary.health"
    echo "$state" >"$BATS_FILE_TMPDIR/nonprimary.state"
    code=$CODE
    # The other two nodes still form the Primary component.
    [ "$(nstatus 2 wsrep_cluster_status)" = Primary ]
    [ "$(nstatus 2 wsrep_cluster_size)" = 2 ]
    body='{"event":"meeting.started","event_ts":1700000300001,"payload":{"object":{"id":"881","uuid":"nonprimary-1"}}}'
    post "$ZE_POOL1_URL" "$body"
    post_code=$CODE post_outcome=$OUTCOME
    post "$ZE_POOL2_URL" "$body"
    nsql 1 "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'" ||
        mariadb --no-defaults --socket="$ZE_NODE1_SOCK" -uroot \
            -e "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'"
    "$CL" wait-synced 1 3>&- 2>/dev/null
    drain_all
    fig "node 1 non-Primary (gmcast.isolate): node state $state; pool 1 health strict $code: $(cat "$BATS_FILE_TMPDIR/nonprimary.health")"
    [ "$code" = 503 ]
    [ "$post_code" = 202 ]
    [ "$post_outcome" = spooled ]
    for n in 1 2 3; do
        [ "$(nsql "$n" "SELECT COUNT(*) FROM zoom_visit_events WHERE visit_uuid = 'nonprimary-1'")" = 1 ]
    done
    check_counters
}

@test "health of a non-Primary node names its wsrep state (not just db down)" {
    BODY=$(cat "$BATS_FILE_TMPDIR/nonprimary.health")
    echo "health was: $BODY"
    echo "node state was: $(cat "$BATS_FILE_TMPDIR/nonprimary.state")"
    [ "$(jfield db_node)" = node1 ]
    [ -n "$(jfield wsrep_state)" ]
    [ "$(jfield wsrep_state)" != Synced ]
}

@test "conflicts: one counter row shared by every pool next to a row per pool" {
    for mode in shared distinct; do
        for p in 1 2 3; do "$CL" stop-pool "$p" 3>&- 2>/dev/null; done
        for p in 1 2 3; do
            if [ "$mode" = shared ]; then
                ZE_CLUSTER_INSTANCES="shared shared shared" ZE_CLUSTER_STATS_SLOTS=1 \
                    "$CL" start-pool "$p" 3>&- 2>/dev/null
            else
                "$CL" start-pool "$p" 3>&- 2>/dev/null
            fi
        done
        read -r c0 b0 < <(conflicts)
        sp0=$(cat "$ZE_CLUSTER_DIR"/pool*/zoom_events.log | grep -c 'outcome=spooled' || true)
        run_wrk "$ZE_FRONT" "cf$mode" 8
        read -r c1 b1 < <(conflicts)
        sp1=$(cat "$ZE_CLUSTER_DIR"/pool*/zoom_events.log | grep -c 'outcome=spooled' || true)
        drain_all
        stored_ge "cf$mode" "$ACKED"
        if [ "$mode" = shared ]; then
            label="one row (instance \"shared\", stats_slots 1) for all pools"
            shared_cf=$((c1 - c0))
        else
            label="a row per pool instance and worker slot (the default)"
            distinct_cf=$((c1 - c0))
        fi
        fig "counters, $label: $PER_S events/s, wsrep_local_cert_failures +$((c1 - c0)), wsrep_local_bf_aborts +$((b1 - b0)), answered from the spool $((sp1 - sp0)) of $ACKED (stored $STORED)"
    done
    check_counters
    fig "final counters on every node (received inserted duplicates ignored rejected replayed rows checksum): $COUNTERS"
    [ "$distinct_cf" -lt "$shared_cf" ]
}
