#!/usr/bin/env bash
# bench/leak.sh -- memory under sustained load: per-worker RSS after 100k
# requests with the workers' default request threads and group commit
# (target: every worker below 16 MiB, flat after 100k), then the same
# traffic mix against the ASan+UBSan build (LeakSanitizer at worker exit)
# and one worker under valgrind memcheck.
#
#   bench/leak.sh [--out FILE]        (default bench/out/leak.md)
#
# The mix, per block: BLOCK signed distinct events, health and metrics
# GETs, 401s (wrong signature) and dead letters (user.created), then a
# spool phase (database killed), its replay once the database is back,
# all through nginx and spawn-fcgi like bench/run.sh.  Every wrk run is
# count-bounded (wrk.lua STOP_AFTER) and time-bounded (-d).
#
# Knobs: BENCH_LEAK_EVENTS (100000), BENCH_LEAK_BLOCKS (4), BENCH_LEAK_CONC
# (64, so that every worker's threads are busy), BENCH_LEAK_FLAT_KB (256:
# growth after block 1 that still counts as flat), BENCH_ASAN_EVENTS (20000), BENCH_VALGRIND_EVENTS (2000),
# BENCH_WORKERS (4).  Needs build/asan/zoom_events (make SANITIZE=1) for
# the ASan part and valgrind for the memcheck part; skips them otherwise.
set -u

. "$(dirname "$0")/lib.sh"

bench_out_arg leak.sh "$ZE_ROOT/bench/out/leak.md" "$@"

EVENTS=${BENCH_LEAK_EVENTS:-100000}
BLOCKS=${BENCH_LEAK_BLOCKS:-4}
CONC=${BENCH_LEAK_CONC:-64}
FLAT_KB=${BENCH_LEAK_FLAT_KB:-256}
ASAN_EVENTS=${BENCH_ASAN_EVENTS:-20000}
VG_EVENTS=${BENCH_VALGRIND_EVENTS:-2000}
BENCH_SEND_MAXSECS=${BENCH_LEAK_MAXSECS:-600}
W=$BENCH_WORKERS
SEQ=100000

bench_stack_up

# "v1,v2,.." VmRSS or VmHWM (KiB) of the workers.
worker_mem() {
    local p v list=""
    for p in $(ze_workers_pids "$BW"); do
        v=$(awk -v k="$1:" '$1 == k { print $2 }' "/proc/$p/status" 2>/dev/null)
        list="$list${list:+, }${v:-?}"
    done
    echo "$list"
}
max_of() { echo "$1" | tr ', ' '\n\n' | awk '$1 + 0 > m { m = $1 + 0 } END { print m + 0 }'; }

block() {
    local n=$1
    bench_send event "$n"
    bench_send health $((n / 25 + 1))
    bench_send metrics $((n / 125 + 1))
    bench_send badsig $((n / 50 + 1))
    bench_send ignored $((n / 50 + 1))
}

# ---- 1. RSS after 100k requests (release build) ----

bench_log "RSS: $EVENTS events in $BLOCKS blocks, $W workers, c=$CONC"
bench_workers_start zoom "$W"
ROWS=$BW/rss_rows
: >"$ROWS"
bench_send event 2000
printf '| warm-up | %d | %s | %s | %s |\n' "$SENT_OK" "$(worker_mem VmRSS)" "$(worker_mem RssAnon)" "$(worker_mem VmHWM)" >>"$ROWS"
FIRST=$(max_of "$(worker_mem VmRSS)")
for b in $(seq 1 "$BLOCKS"); do
    block $((EVENTS / BLOCKS))
    printf '| after block %d | %d | %s | %s | %s |\n' "$b" "$SENT_OK" "$(worker_mem VmRSS)" "$(worker_mem RssAnon)" "$(worker_mem VmHWM)" >>"$ROWS"
    [ "$b" = 1 ] && AFTER1=$(max_of "$(worker_mem VmRSS)")
    bench_log "block $b: $SENT_OK requests answered 2xx so far; RSS $(worker_mem VmRSS) KiB"
done
LAST=$(max_of "$(worker_mem VmRSS)")
ROWS_DB=$(bench_sql "SELECT COUNT(*) FROM zoom_visit_events")
bench_spool_cycle 5000
printf '| after spool + replay | %d | %s | %s | %s |\n' "$SENT_OK" "$(worker_mem VmRSS)" "$(worker_mem RssAnon)" "$(worker_mem VmHWM)" >>"$ROWS"
AFTER_SPOOL=$(max_of "$(worker_mem VmRSS)")
REL_SPOOL_NOTE=$SPOOL_NOTE
REL_UNEXPECTED=$UNEXPECTED
REL_OK=$SENT_OK
REL_BAD=$SENT_BAD
ze_workers_stop "$BW"

# ---- 2. ASan + UBSan build ----

ASAN_RESULT="skipped: build/asan/zoom_events missing (make SANITIZE=1 all)"
if [ -x "$ZE_ROOT/build/asan/zoom_events" ]; then
    bench_log "ASan: $ASAN_EVENTS events and the same mix"
    bench_truncate
    export ASAN_OPTIONS="log_path=$BW/asan:detect_leaks=1"
    export UBSAN_OPTIONS="log_path=$BW/ubsan:print_stacktrace=1:halt_on_error=1"
    export LSAN_OPTIONS="suppressions=$ZE_ROOT/tests/lsan.supp:print_suppressions=0"
    SENT_OK=0; SENT_BAD=0; UNEXPECTED=0
    : >"$ZOOM_EVENTS_LOG"
    bench_workers_start asan "$W"
    block "$ASAN_EVENTS"
    bench_spool_cycle 1000
    A_RSS=$(worker_mem VmRSS)
    ze_workers_stop "$BW"
    unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
    stopped=$(grep -c 'worker stopping after' "$ZOOM_EVENTS_LOG")
    reports=$(ls "$BW"/asan.* "$BW"/ubsan.* 2>/dev/null | wc -l)
    if [ "$reports" = 0 ] && [ "$stopped" = "$W" ]; then
        ASAN_RESULT="**no leak and no sanitizer report**: $SENT_OK requests answered 2xx + $SENT_BAD 401s ($UNEXPECTED unexpected answers); $SPOOL_NOTE; all $W workers exited cleanly on SIGTERM, so LeakSanitizer ran at each exit. RSS under ASan before exit: $A_RSS KiB (ASan's shadow memory and quarantine, not comparable)."
    else
        ASAN_RESULT="**$reports sanitizer report(s)**, $stopped of $W workers exited cleanly; first lines:"$'\n\n```\n'"$(cat "$BW"/asan.* "$BW"/ubsan.* 2>/dev/null | head -40)"$'\n```'
        mkdir -p "$ZE_ROOT/bench/out"
        cat "$BW"/asan.* "$BW"/ubsan.* >"$ZE_ROOT/bench/out/leak-sanitizer.txt" 2>/dev/null
    fi
fi

# ---- 3. valgrind memcheck, one worker ----

VG_RESULT="skipped: valgrind not installed"
if command -v valgrind >/dev/null; then
    bench_log "valgrind: $VG_EVENTS events on one worker"
    bench_truncate
    SENT_OK=0; SENT_BAD=0; UNEXPECTED=0
    ze_workers_stop "$BW"
    rm -f "$BW/fcgi.sock"
    spawn-fcgi -s "$BW/fcgi.sock" -F 1 -P "$BW/workers.pid" -- \
        "$(command -v valgrind)" --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect --num-callers=24 \
        --log-file="$BW/valgrind.%p" "$BENCH_SERVICE" >/dev/null ||
        bench_log "spawn-fcgi could not start valgrind"
    for _ in $(seq 1 120); do
        ze_alive "$(ze_workers_pids "$BW")" || break
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
            "http://127.0.0.1:$FCGI_PORT/zoom_events/health")" = 200 ] && break
        sleep 0.5
    done
    vgpid=$(ze_workers_pids "$BW")
    bench_send event "$VG_EVENTS" 2
    bench_send health 100 2
    bench_send metrics 20 2
    bench_send badsig 100 2
    bench_send ignored 100 2
    bench_spool_cycle 200 2
    kill -TERM "$vgpid" 2>/dev/null
    for _ in $(seq 1 240); do
        ze_alive "$vgpid" || break
        sleep 0.5
    done
    rm -f "$BW/workers.pid"
    vg=$(cat "$BW"/valgrind.* 2>/dev/null)
    pick() { printf '%s\n' "$vg" | sed -n "s/.*$1: *\([0-9,]* bytes in [0-9,]* blocks\).*/\1/p" | tail -1; }
    errs=$(printf '%s\n' "$vg" | sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' | tail -1)
    # memcheck omits a "lost" line when nothing was lost.
    vdef=$(pick 'definitely lost'); vind=$(pick 'indirectly lost')
    vpos=$(pick 'possibly lost'); vreach=$(pick 'still reachable')
    VG_RESULT="$SENT_OK requests answered 2xx + $SENT_BAD 401s on one worker under memcheck ($UNEXPECTED unexpected answers); $SPOOL_NOTE. At exit: definitely lost ${vdef:-0 bytes}, indirectly lost ${vind:-0 bytes}, possibly lost ${vpos:-0 bytes}, still reachable ${vreach:-0 bytes}; ERROR SUMMARY: ${errs:-?} errors."
    [ -n "$vg" ] || VG_RESULT="valgrind left no log (worker did not exit?)"
    cp "$BW"/valgrind.* "$ZE_ROOT/bench/out/" 2>/dev/null
fi

# ---- report ----

verdict=met
[ "$LAST" -lt 16384 ] || verdict="**not met**"
GROWTH=$((LAST - ${AFTER1:-$LAST}))
flat=met
[ "$GROWTH" -le "$FLAT_KB" ] || flat="**not met**"
{
    echo "## Memory: RSS after 100k requests, leaks"
    echo
    echo "\`bench/leak.sh\`, $STARTED. $W workers (release build, default \`threads\` and \`batch_max\`), c=$CONC, through nginx; per block: distinct signed"
    echo "events, then health GETs (1 per 25 events), metrics GETs (1 per 125), wrong signatures (401, 1 per 50) and"
    echo "dead letters (user.created, 1 per 50). $REL_OK requests answered 2xx, $REL_BAD answered 401 as they should,"
    echo "$REL_UNEXPECTED unexpected answers; $ROWS_DB rows stored."
    echo
    echo "| checkpoint | 2xx answers so far | VmRSS of each worker (KiB) | of which RssAnon (heap, stacks) | VmHWM (peak) |"
    echo "|---|---:|---|---|---|"
    cat "$ROWS"
    echo
    echo "- RssAnon is the worker's own memory (a leak grows it); the rest of VmRSS is shared libraries and mapped files: the"
    echo "  spool drain maps a whole spool file, which the VmHWM after the spool phase shows."
    echo "- Largest worker RSS: first (after the warm-up) $FIRST KiB, after block 1 ${AFTER1:-?} KiB, last (after $REL_OK requests) $LAST KiB ($(awk -v v="$LAST" 'BEGIN { printf "%.1f", v / 1024 }') MiB; target < 16 MiB: $verdict)."
    echo "- Growth of the largest worker from the end of block 1 to the end: $GROWTH KiB (flat: at most $FLAT_KB KiB: $flat); warm-up to end: $((LAST - FIRST)) KiB; after the spool phase: $AFTER_SPOOL KiB."
    echo "- Spool phase: $REL_SPOOL_NOTE."
    echo "- ASan+UBSan build (\`build/asan/zoom_events\`, detect_leaks=1, $ASAN_EVENTS events and the same mix, spool and replay): $ASAN_RESULT"
    echo "- valgrind memcheck (\`--leak-check=full\`): $VG_RESULT"
} >"$OUT"
bench_log "wrote $OUT"
cat "$OUT"
