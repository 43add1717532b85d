#!/usr/bin/env bash
# bench/roundtrips.sh -- experiment behind a proposed change: what would
# fewer database round trips per event buy?
#
#   bench/roundtrips.sh [--out FILE]     (default bench/out/roundtrips.md)
#
# db_direct (the service's own store/stats/normalize code) in three modes,
# on the benchmark's durable private MariaDB:
#   txn             the service today: INSERT event, upsert counter, COMMIT
#                   (3 round trips, one transaction)
#   txn-lite        the same, with a counter statement that carries its
#                   constant deltas in the SQL (2 parameters instead of 18)
#   trigger-commit  an AFTER INSERT trigger bumps the counter from session
#                   variables; INSERT, COMMIT (2 round trips)
#   trigger         the same with autocommit: the INSERT alone (1 round trip,
#                   still one transaction and one redo flush)
# at BENCH_WORKERS connections (the service's DB concurrency) and at 64.
# Knobs: BENCH_SECS (10), BENCH_RUNS (3), BENCH_RT_CONC ("$BENCH_WORKERS 64").
set -u

. "$(dirname "$0")/lib.sh"

OUT=$ZE_ROOT/bench/out/roundtrips.md
[ "${1:-}" = --out ] && OUT=$2
mkdir -p "$(dirname "$OUT")"
SECS=${BENCH_SECS:-10}
RUNS=${BENCH_RUNS:-3}
CONC=${BENCH_RT_CONC:-$BENCH_WORKERS 64}

bench_check_tools
bench_setup_dir
bench_db_start
bench_db_create
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')

TRIGGER="CREATE TRIGGER zoom_visit_events_count AFTER INSERT ON zoom_visit_events
FOR EACH ROW INSERT INTO zoom_stats (instance, slot, received, inserted)
VALUES (@ze_instance, @ze_slot, 1, 1)
ON DUPLICATE KEY UPDATE received = received + 1, inserted = inserted + 1"

RES=$BW/rt.tsv
: >"$RES"
seq=0
for r in $(seq 1 "$RUNS"); do
    for c in $CONC; do
        for m in txn txn-lite trigger-commit trigger; do
            seq=$((seq + 1))
            bench_truncate
            bench_sql "DROP TRIGGER IF EXISTS zoom_visit_events_count"
            case $m in trigger*) bench_sql "$TRIGGER" ;; esac
            bench_db_status >"$BW/s0"
            dpid=$(bench_db_pid)
            d0=$(bench_cpu_pids "$dpid")
            "$BENCH_BIN/db_direct" -c "$c" -d "$SECS" -r "$seq" -m "$m" >"$BW/out" 2>"$BW/err" ||
                { cat "$BW/err" >&2; bench_die "db_direct -m $m failed"; }
            d1=$(bench_cpu_pids "$dpid")
            bench_db_status >"$BW/s1"
            rows=$(bench_sql "SELECT COUNT(*) FROM zoom_visit_events")
            counted=$(bench_sql "SELECT COALESCE(SUM(inserted), 0) FROM zoom_stats")
            q=$(awk 'FNR == NR { if ($1 == "Questions") b = $2; next }
                $1 == "Questions" { print $2 - b }' "$BW/s0" "$BW/s1")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$c" "$r" \
                "$(bench_kv "$BW/out" rps)" "$(bench_kv "$BW/out" p50_us)" \
                "$(bench_kv "$BW/out" p99_us)" \
                "$(awk -v q="$q" -v n="$rows" 'BEGIN { printf "%.2f", q / n }')" \
                "$(awk -v d=$((d1 - d0)) -v hz="$CLK_TCK" -v n="$rows" 'BEGIN { printf "%.0f", d / hz / n * 1e6 }')" \
                "$(awk -v ms="$(bench_kv "$BW/out" cpu_ms)" -v n="$rows" 'BEGIN { printf "%.0f", ms / 1000 / n * 1e6 }')" \
                "$([ "$rows" = "$counted" ] && [ "$rows" = "$(bench_kv "$BW/out" requests)" ] && echo ok || echo FAIL)" >>"$RES"
            bench_log "$(tail -1 "$RES")"
        done
    done
done
bench_sql "DROP TRIGGER IF EXISTS zoom_visit_events_count"

{
    echo "## Experiment: fewer database round trips per event"
    echo
    echo "\`bench/roundtrips.sh\`, $STARTED; median of $RUNS runs of ${SECS} s; db_direct with the service's store.c, stats.c and"
    echo "normalize.c; durable settings as above. \`txn-lite\` is today's transaction with a counter statement that"
    echo "has its constant deltas in the SQL (2 bound parameters instead of 18); the \`trigger\` modes move the counter"
    echo "into an AFTER INSERT trigger. Rows and counters are checked equal in every run."
    echo
    echo "| mode | round trips | connections | req/s | p50 ms | p99 ms | statements / event | mariadbd CPU µs / event | client CPU µs / event | check |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for c in $CONC; do
        for m in txn txn-lite trigger-commit trigger; do
            awk -F'\t' -v m="$m" -v c="$c" '
            function med(f,   i, j, t, n, a) {
                n = 0
                for (i = 1; i <= cnt; i++) a[++n] = v[i, f] + 0
                for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            $1 == m && $2 == c { cnt++; for (f = 4; f <= 9; f++) v[cnt, f] = $f; if ($10 != "ok") bad = 1 }
            END {
                rt = (m ~ /^txn/) ? 3 : (m == "trigger" ? 1 : 2)
                printf "| %s | %d | %s | %.0f | %.2f | %.2f | %.2f | %.0f | %.0f | %s |\n", m, rt, c,
                    med(4), med(5) / 1000, med(6) / 1000, med(7), med(8), med(9), bad ? "FAIL" : "ok"
            }' "$RES"
        done
    done
} >"$OUT"
cp "$RES" "$(dirname "$OUT")/roundtrips.tsv"
bench_log "wrote $OUT"
cat "$OUT"
