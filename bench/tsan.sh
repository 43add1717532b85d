#!/usr/bin/env bash
# bench/tsan.sh -- the request threads and the group commit under
# ThreadSanitizer: BENCH_WORKERS workers of build/tsan/zoom_events (make
# bench-tsan-build: clang -fsanitize=thread) with their default threads
# and batch_max, driven through nginx at c=64 with the mix of leak.sh
# (events, health and metrics GETs, wrong signatures, dead letters), a
# spool phase with the database killed and its replay.  Every report
# ThreadSanitizer writes is kept in bench/out/tsan-reports.txt.
#
#   bench/tsan.sh [--out FILE]          (default bench/out/tsan.md)
#
# Knobs: BENCH_TSAN_EVENTS (20000), BENCH_TSAN_CONC (64), BENCH_WORKERS
# (4).  The libraries (libmariadb, libfcgi, OpenSSL, cJSON) are not
# instrumented: a race inside one of them is only seen where it touches
# our code.
set -u

. "$(dirname "$0")/lib.sh"

bench_out_arg tsan.sh "$ZE_ROOT/bench/out/tsan.md" "$@"

EVENTS=${BENCH_TSAN_EVENTS:-20000}
CONC=${BENCH_TSAN_CONC:-64}
W=$BENCH_WORKERS
SEQ=300000
TSAN_BIN=$ZE_ROOT/build/tsan/zoom_events

[ -x "$TSAN_BIN" ] || bench_die "$TSAN_BIN missing: make bench-tsan-build"
bench_stack_up

export TSAN_OPTIONS="log_path=$BW/tsan:halt_on_error=0:second_deadlock_stack=1:history_size=4"
bench_log "TSan: $W workers, c=$CONC, $EVENTS events and the mix"
bench_workers_start tsan "$W"
: >"$ZOOM_EVENTS_LOG"
bench_send event "$EVENTS"
bench_send health $((EVENTS / 25 + 1))
bench_send metrics $((EVENTS / 125 + 1))
bench_send badsig $((EVENTS / 50 + 1))
bench_send ignored $((EVENTS / 50 + 1))
ROWS=$(bench_sql "SELECT COUNT(*) FROM zoom_visit_events")
# The spool: the database killed, deliveries spooled, then replayed.
bench_spool_cycle $((EVENTS / 10))
BATCH=$(bench_batch_metrics)
ze_workers_stop "$BW"
unset TSAN_OPTIONS
stopped=$(grep -c 'worker stopping after' "$ZOOM_EVENTS_LOG")
reports=$(cat "$BW"/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer')
mkdir -p "$ZE_ROOT/bench/out"
cat "$BW"/tsan.* >"$ZE_ROOT/bench/out/tsan-reports.txt" 2>/dev/null
{
    echo "## ThreadSanitizer: request threads and group commit"
    echo
    echo "\`bench/tsan.sh\`, $STARTED. $W workers of \`build/tsan/zoom_events\` (clang -fsanitize=thread, -O1) with"
    echo "their default \`threads\` and \`batch_max\`, through nginx at c=$CONC: $EVENTS signed events, health GETs (1 per"
    echo "25), metrics GETs (1 per 125), wrong signatures (401, 1 per 50), dead letters (1 per 50); then the database"
    echo "killed for $((EVENTS / 10)) events (spool) and restarted (replay).  $SENT_OK requests answered 2xx, $SENT_BAD"
    echo "answered 401 as they should, $UNEXPECTED unexpected answers; $ROWS rows stored before the spool phase, $SPOOLED"
    echo "records spooled, $REPLAYED rows replayed; $stopped of $W workers exited cleanly on SIGTERM."
    echo "Commit batches over the whole check (count, sum, cumulative buckets): \`$BATCH\`."
    echo
    if [ "$reports" = 0 ]; then
        echo "- **No ThreadSanitizer report.**"
    else
        echo "- **$reports ThreadSanitizer report(s)** (all in \`bench/out/tsan-reports.txt\`); the distinct first frames:"
        echo
        echo '```'
        awk '/^WARNING: ThreadSanitizer/ { w = $0; getline; getline; print w " | " $0 }' "$BW"/tsan.* |
            sed 's/(zoom_events+0x[0-9a-f]*)//' | sort | uniq -c | sort -rn | head -20
        echo '```'
    fi
    echo "- The libraries are not instrumented (libmariadb, libfcgi, OpenSSL, cJSON): a race inside one of them shows only"
    echo "  where it touches the service's code."
} >"$OUT"
bench_log "wrote $OUT"
cat "$OUT"
