#!/usr/bin/env bash
# bench/galera.sh -- issue 16 on the 3-node Galera topology: events/s
# through the cluster's nginx front with the path before group commit
# (ZOOM_EVENTS_THREADS=1 ZOOM_EVENTS_BATCH_MAX=1, "today") and with the
# defaults (request threads, group commit), in the same run, rounds
# interleaved, medians.
#
#   bench/galera.sh [--out FILE]        (default bench/out/galera.md)
#
# Brings the cluster up with deploy/cluster/cluster.sh in a private state
# directory (needs root and galera-4, like make test-cluster), measures
# the way tests/cluster/cluster.bats does (its sign_events.pl and
# events.lua: wrk -t2 -c12 for 8 s, distinct pre-signed events, through
# the front), and takes the cluster down again.  cluster.sh gives the pools
# only its own ZOOM_EVENTS_* settings, so the two paths are two wrappers
# around the binary (ZE_BIN) that set the two variables; each round
# restarts the pools with one, then the other.  Every run checks that the
# events it was answered 202 for are stored.
#
# Knobs: BENCH_GALERA_RUNS (3), BENCH_GALERA_SECS (8), BENCH_GALERA_CONC
# ("12 64": 12 is cluster.bats's), BENCH_GALERA_PATHS ("today:3 default:3
# default:1": path and workers per pool; cluster.sh's default is 3 workers
# per pool, and group commit batches only the requests that meet in one
# worker), ZE_CLUSTER_PORT (26300), ZE_CLUSTER_KEEP (0: remove the state
# directory).
set -u

. "$(dirname "$0")/lib.sh"

bench_out_arg galera.sh "$ZE_ROOT/bench/out/galera.md" "$@"

RUNS=${BENCH_GALERA_RUNS:-3}
SECS=${BENCH_GALERA_SECS:-8}
CONC=${BENCH_GALERA_CONC:-12 64}
PATHS=${BENCH_GALERA_PATHS:-today:3 default:3 default:1}
CL=$ZE_ROOT/deploy/cluster/cluster.sh
TL=$ZE_ROOT/tests/cluster
BIN=$(cd "$(dirname "$BENCH_SERVICE")" && pwd)/$(basename "$BENCH_SERVICE")

[ "$(id -u)" = 0 ] || bench_die "needs root (the Galera nodes run as mysql)"
[ -f /usr/lib/galera/libgalera_smm.so ] || bench_die "no galera-4: apt-get install galera-4"
for t in wrk perl mariadbd; do
    command -v "$t" >/dev/null || bench_die "$t not found: run tests/deps.sh"
done
[ -x "$BIN" ] || bench_die "$BIN missing: run make"

GD=$(mktemp -d /var/tmp/zoom-galera-bench.XXXXXX)
chmod 711 "$GD"
export ZE_CLUSTER_DIR=$GD/cluster
export ZE_CLUSTER_PORT=${ZE_CLUSTER_PORT:-26300}
unset ZE_CLUSTER_INSTANCES ZE_CLUSTER_STATS_SLOTS ZE_CLUSTER_POOL_NODES ZE_CLUSTER_POOLS ZE_CLUSTER_WORKERS
galera_cleanup() {
    local rc=$?
    trap - EXIT
    "$CL" down >/dev/null 2>&1 3>&-
    if [ "${ZE_CLUSTER_KEEP:-0}" = 1 ]; then bench_log "kept $GD"; else rm -rf "$GD"; fi
    exit "$rc"
}
trap galera_cleanup EXIT
trap 'exit 130' INT TERM

# The two paths: wrappers that set the variables and exec the binary.
printf '#!/bin/sh\nZOOM_EVENTS_THREADS=1 ZOOM_EVENTS_BATCH_MAX=1 exec %s "$@"\n' "$BIN" >"$GD/zoom_today"
printf '#!/bin/sh\nexec %s "$@"\n' "$BIN" >"$GD/zoom_default"
chmod 755 "$GD/zoom_today" "$GD/zoom_default"

STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
bench_log "cluster up in $ZE_CLUSTER_DIR (port base $ZE_CLUSTER_PORT)"
ZE_BIN=$GD/zoom_today "$CL" up >"$GD/env" 2>"$GD/up.log" 3>&- ||
    { tail -20 "$GD/up.log" >&2; bench_die "cluster did not come up"; }
set -a
# shellcheck disable=SC1091
. "$GD/env"
set +a
SECRET=$(cat "$ZE_SECRET_FILE")
bench_log "cluster up in $(($(date +%s) - T0)) s"

# pools PATH WORKERS: restart the three pools on that path.
pools() {
    local p
    for p in 1 2 3; do "$CL" stop-pool "$p" >/dev/null 2>&1 3>&-; done
    for p in 1 2 3; do
        ZE_BIN=$GD/zoom_$1 ZE_CLUSTER_WORKERS=$2 "$CL" start-pool "$p" >/dev/null 2>>"$GD/up.log" 3>&- ||
            bench_die "pool $p did not start"
    done
}

# The commit batch histograms of the three pools, summed: "COUNT SUM ..."
batch_all() {
    local p u tc=0 ts=0 line
    for p in 1 2 3; do
        u=ZE_POOL${p}_URL
        line=$(FCGI_PORT=${!u##*:} bench_batch_metrics)
        read -r c s _ <<<"$line"
        [ "$c" = - ] && continue
        tc=$((tc + c)); ts=$(awk -v a="$ts" -v b="$s" 'BEGIN { print a + b }')
    done
    echo "$tc $ts"
}

RES=$GD/galera.tsv
: >"$RES"
seq=0
for r in $(seq 1 "$RUNS"); do
    for pw in $PATHS; do
        path=${pw%%:*}w${pw#*:}
        pools "${pw%%:*}" "${pw#*:}"
        # A short warm-up: connections, statements.
        perl "$TL/sign_events.pl" "$SECRET" "warm$r$path" 3000 >"$GD/warm.events"
        wrk -t2 -c12 -d2s -s "$TL/events.lua" "$ZE_FRONT/zoom_events/events" -- \
            "$GD/warm.events" 2 >/dev/null 2>&1 3>&-
        for c in $CONC; do
            seq=$((seq + 1))
            pre=g${seq}x
            perl "$TL/sign_events.pl" "$SECRET" "$pre" $((SECS * 10000)) >"$GD/run.events"
            b0=$(batch_all)
            out=$(wrk -t2 -c"$c" -d"${SECS}s" -s "$TL/events.lua" "$ZE_FRONT/zoom_events/events" -- \
                "$GD/run.events" 2 3>&- 2>/dev/null | tail -1)
            sleep 1
            b1=$(batch_all)
            per_s=$(echo "$out" | awk '{print $10}')
            acked=$(echo "$out" | awk '{print $4}')
            other=$(echo "$out" | awk '{print $6}')
            p50=$(echo "$out" | awk '{print $12}')
            p99=$(echo "$out" | awk '{print $14}')
            stored=$("$CL" sql 1 -N -B zoom_events -e \
                "SELECT COUNT(*) FROM zoom_visit_events WHERE visit_uuid LIKE '$pre-%'" 2>/dev/null 3>&-)
            mean=$(echo "$b0 $b1" | awk '{ if ($3 - $1 > 0) printf "%.2f", ($4 - $2) / ($3 - $1); else print "-" }')
            check=ok
            [ "${stored:-0}" -ge "${acked:-1}" ] || check=FAIL
            [[ $out == events* ]] || check=FAIL
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$path" "$c" "$r" "${per_s:-0}" \
                "${p50:--}" "${p99:--}" "${acked:-0}" "${stored:-0}" "$mean" "$check/$other" >>"$RES"
            bench_log "$(tail -1 "$RES")"
        done
    done
done
ELAPSED=$(($(date +%s) - T0))
mkdir -p "$ZE_ROOT/bench/out"
cp "$RES" "$ZE_ROOT/bench/out/galera.tsv"

med() {
    awk -F'\t' -v p="$1" -v c="$2" -v f="$3" '$1 == p && $2 == c { a[++n] = $f + 0 }
        END { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
              if (n == 0) print "n/a"; else if (n % 2) print a[(n + 1) / 2]; else print (a[n / 2] + a[n / 2 + 1]) / 2 }' "$RES"
}
runs_of() { awk -F'\t' -v p="$1" -v c="$2" '$1 == p && $2 == c { s = s (s == "" ? "" : ", ") $4 } END { print s }' "$RES"; }
{
    echo "## Galera: 3 nodes through the front, today's path vs group commit"
    echo
    echo "\`bench/galera.sh\`, $STARTED, $ELAPSED s; load average at the start $LOAD_BEFORE.  deploy/cluster/cluster.sh: 3 Galera"
    echo "nodes, 3 pools (pool P -> node P) of N workers, the nginx front; tests/cluster's \`sign_events.pl\` and \`events.lua\`"
    echo "(wrk -t2, ${SECS} s, distinct pre-signed events); median of $RUNS rounds, the two paths interleaved in each round"
    echo "(pools restarted between them).  today = \`ZOOM_EVENTS_THREADS=1 ZOOM_EVENTS_BATCH_MAX=1\`; group commit = the defaults"
    echo "(8 request threads per worker, batch_max 64).  x today divides by the first line of the same c."
    echo
    echo "| path | c | events/s (median) | p50 ms | p99 ms | mean commit batch | events/s of each run | x today |"
    echo "|---|---:|---:|---:|---:|---:|---|---:|"
    for c in $CONC; do
        t=$(med "$(echo "$PATHS" | awk '{ split($1, a, ":"); print a[1] "w" a[2] }')" "$c" 4)
        for pw in $PATHS; do
            path=${pw%%:*}w${pw#*:}
            v=$(med "$path" "$c" 4)
            printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' \
                "$([ "${pw%%:*}" = today ] && echo "today (1 thread, batch_max 1)" || echo "group commit (defaults)"), ${pw#*:} workers/pool" \
                "$c" "$v" "$(med "$path" "$c" 5)" "$(med "$path" "$c" 6)" "$(med "$path" "$c" 9)" \
                "$(runs_of "$path" "$c")" "$(awk -v a="$v" -v b="$t" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
        done
    done
    echo
    echo "Target (issue 16): group commit >= 2 x today's events/s through the front (c=12 is cluster.bats's measure)."
    echo "Every run checked that the events answered 202 are stored on node 1: $(awk -F'\t' '$10 !~ /^ok/' "$RES" | wc -l) run(s) failed the check."
} >"$OUT"
bench_log "wrote $OUT"
cat "$OUT"
