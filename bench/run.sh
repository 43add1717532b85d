#!/usr/bin/env bash
# bench/run.sh -- the load benchmark of issue 5: the service and the
# ceilings of its parts, measured side by side in one run on one machine.
#
#   bench/run.sh [--smoke] [--out FILE] [--lines LIST] [--no-extras] [--keep]
#   bench/run.sh --assemble          rebuild RESULTS.md from bench/out/*.md
#   bench/run.sh --report [--smoke]  render the last run's saved results again
#
# Lines (each: requests/s, p50/p99 latency, errors, per-worker RSS, CPU by
# component, database round trips, and a check that rows landed):
#   static   nginx answering 202 itself to the same POST (HTTP ceiling)
#   noop     nginx -> N spawn-fcgi workers of bench/fcgi_noop (FastCGI
#            ceiling)
#   db       bench/db_direct: the service's own DB work per event (store.c,
#            stats.c, normalize.c; same statements, same transaction) from
#            C processes with one connection each, at the same concurrency
#            as the HTTP lines (database ceiling)
#   dbw      the same with N processes: the service's DB concurrency
#   zoom     zoom_events end to end (nginx -> N workers -> MariaDB)
#   spool    the same with the database killed (local spool, same disk)
#   health   GET /zoom_events/health on zoom_events
#   hnoop    the same GET on fcgi_noop
#   scale    zoom_events and db_direct with BENCH_EXTRA_WORKERS workers /
#            connections ("8 16"): is the gap the number of connections?
#
# Every run is bounded in time (wrk -d, db_direct -d) and only targets
# loopback.  Knobs (environment): BENCH_WORKERS (4), BENCH_CONC ("8 64"),
# BENCH_RUNS (3), BENCH_SECS (10), BENCH_WRK_THREADS (1), BENCH_DB_OPTS,
# BENCH_TMPDIR (/var/tmp), BENCH_MAX_REQS (600000), BENCH_KEEP (0),
# BENCH_EXTRA_WORKERS ("8 16"), BENCH_QUIET_PCT (25), BENCH_QUIET_WAIT (60),
# BENCH_ROUNDTRIPS (1: also run bench/roundtrips.sh), BENCH_DB_MODE (txn).
#
# Requests are distinct signed meeting events (bench/gen_requests.c with
# the service's sig_sign()), regenerated for every run so that their
# timestamps are fresh (the service refuses signatures older than 300 s)
# and every event is a new row.  The median of BENCH_RUNS runs is
# reported; runs of different lines are interleaved round by round so that
# a burst of other load on a shared machine does not hit one line only.
set -u

. "$(dirname "$0")/lib.sh"

SMOKE=0
EXTRAS=1
ASSEMBLE=0
REPORT=0
OUT=""
LINES="static noop hnoop db dbw zoom health spool scale"
while [ $# -gt 0 ]; do
    case $1 in
    --smoke) SMOKE=1 ;;
    --out) OUT=$2; shift ;;
    --lines) LINES=$(echo "$2" | tr ',' ' '); shift ;;
    --no-extras) EXTRAS=0 ;;
    --keep) export BENCH_KEEP=1 ;;
    --assemble) ASSEMBLE=1 ;;
    --report) REPORT=1 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bench/run.sh [--smoke] [--out FILE] [--lines LIST] [--no-extras] [--keep]" >&2
       exit 2 ;;
    esac
    shift
done

FRAG=$ZE_ROOT/bench/out
# A run with --out keeps its pieces next to it (the tests' temp dir), so
# that it never replaces the pieces of bench/RESULTS.md.
if [ -n "$OUT" ]; then
    mkdir -p "$(dirname "$OUT")" || exit 1
    FRAG=$(cd "$(dirname "$OUT")" && pwd)
fi
mkdir -p "$FRAG"
if [ "$SMOKE" = 1 ]; then
    SECS=${BENCH_SECS:-1}
    RUNS=${BENCH_RUNS:-1}
    CONC=${BENCH_CONC:-8}
    POOL=2000
    MIN_REQS=1000
    EXTRA_W=${BENCH_EXTRA_WORKERS:-8}
    EXTRAS=0
    OUT=${OUT:-$FRAG/RESULTS-smoke.md}
    MAIN_FRAG=$FRAG/main-smoke.md
    SFX=-smoke
else
    SECS=${BENCH_SECS:-10}
    RUNS=${BENCH_RUNS:-3}
    CONC=${BENCH_CONC:-8 64}
    POOL=20000
    MIN_REQS=5000
    EXTRA_W=${BENCH_EXTRA_WORKERS:-8 16}
    OUT=${OUT:-$ZE_ROOT/bench/RESULTS.md}
    MAIN_FRAG=$FRAG/main.md
    SFX=""
fi
MAX_REQS=${BENCH_MAX_REQS:-600000}
# db_direct must do what the service does per event: txn (INSERT, counter
# upsert, COMMIT) today; trigger-commit if the counter moves into a trigger.
DB_MODE=${BENCH_DB_MODE:-txn}
W=$BENCH_WORKERS

assemble() {
    {
        cat "$MAIN_FRAG"
        if [ "$SMOKE" = 0 ]; then
            for f in leak profile roundtrips; do
                [ -f "$FRAG/$f.md" ] && { echo; cat "$FRAG/$f.md"; }
            done
        fi
    } >"$OUT"
    bench_log "wrote $OUT"
}

# ---- the report ----

# render_report: bench/out/{results,machine,db_settings,meta}[-smoke] ->
# $MAIN_FRAG.  Runs after the measurements, or alone (--report) to render
# a saved run again.
render_report() {
local TSV=$FRAG/results$SFX.tsv MED

# Medians per (line, c): one row per pair, in a fixed line order.
MED=$(mktemp)
awk -F'\t' -v OFS='\t' 'NR > 1 {
    k = $1 SUBSEP $2
    if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
    n[k]++
    for (f = 4; f <= 33; f++) v[k, f, n[k]] = $f
    runs[k] = runs[k] (runs[k] == "" ? "" : ", ") sprintf("%.0f", $4)
    if ($17 != "ok" && $17 != "-") bad[k] = 1
    err[k] += $8 + $9
    rep[k] += $10
    warn[k] += $29
    qw[k] += $33
    if ($11 > rssmax[k]) rssmax[k] = $11
}
function med(k, f,    i, j, m, a, t) {
    m = 0
    for (i = 1; i <= n[k]; i++) {
        if (v[k, f, i] == "-" || v[k, f, i] == "") return "-"
        if (v[k, f, i] ~ /\//) return v[k, f, int((n[k] + 1) / 2)]
        a[++m] = v[k, f, i] + 0
    }
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
    for (i = 1; i <= nk; i++) {
        k = keys[i]; split(k, p, SUBSEP)
        print p[1], p[2], n[k], med(k, 4), med(k, 5), med(k, 7), err[k], rep[k], rssmax[k],
            (k in bad ? "FAIL" : "ok"), med(k, 18), med(k, 19), med(k, 20), med(k, 21),
            med(k, 22), med(k, 23), med(k, 24), med(k, 25), med(k, 26), med(k, 27), runs[k],
            warn[k], med(k, 13), med(k, 30), med(k, 31), med(k, 32), qw[k]
    }
}' "$TSV" >"$MED"
# Columns of MED: 1 line 2 c 3 runs 4 rps 5 p50 6 p99 7 errors 8 repeated
# 9 rss 10 check 11 busy 12 db 13 workers 14 nginx 15 client 16 other
# 17 q/ev 18 exec/ev 19 commit/ev 20 fsync/ev 21 rps of each run
# 22 warnings 23 rows (median) 24 insert_us 25 stats_us 26 commit_us
# 27 seconds spent waiting for quiet before its runs

mget() { awk -F'\t' -v l="$1" -v c="$2" -v f="$3" '$1 == l && $2 == c { print $f }' "$MED"; }

name_of() {
    case $1 in
    static) echo "nginx-static" ;;
    noop) echo "fcgi-noop" ;;
    hnoop) echo "fcgi-noop GET (health baseline)" ;;
    db) echo "db-direct" ;;
    dbw) echo "db-direct, $W connections" ;;
    zoom) echo "zoom_events" ;;
    spool) echo "zoom_events, DB down (spool)" ;;
    health) echo "zoom_events GET /health" ;;
    zoom-w*) echo "zoom_events, ${1#zoom-w} workers" ;;
    db-w*) echo "db-direct, ${1#db-w} connections" ;;
    esac
}

# ratio LINE_A LINE_B C [DECIMALS]: medians' req/s, A / B.
ratio() {
    local a b
    a=$(mget "$1" "$3" 4); b=$(mget "$2" "$3" 4)
    awk -v a="${a:-0}" -v b="${b:-0}" -v d="${4:-2}" \
        'BEGIN { if (a > 0 && b > 0) printf("%." d "f", a / b); else print "n/a" }'
}

verdict() {
    # verdict VALUE OP TARGET
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (v == "n/a" || v == "") { print "n/a"; exit }
        ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 < t + 0)
        print ok ? "met" : "**not met**" }'
}

# shellcheck disable=SC1090
. <(sed 's/^\([a-z_]*\)=\(.*\)$/M_\1="\2"/' "$FRAG/machine$SFX")
{
    echo "# zoom_events benchmark"
    echo
    if [ "$SMOKE" = 1 ]; then
        echo "**Smoke run** (\`bench/run.sh --smoke\`): ${SECS} s per line, one run; the numbers mean nothing."
        echo
    fi
    echo "Generated by \`make bench\` (\`bench/run.sh\`) on $STARTED in $((ELAPSED / 60)) min $((ELAPSED % 60)) s."
    echo "Every line is the median of $RUNS run(s) of ${SECS} s, all lines measured in the same run, interleaved round by round."
    echo
    echo "**Machine:** $M_cores cores, $M_cpu, $M_mem, Linux $M_kernel, disk $M_disk."
    echo "The machine may be shared with other work (on the reference machine it often is): the \`other\` CPU"
    echo "column below is the load during each run that was not ours; read the numbers with it. Before each run the"
    echo "script waited up to ${QUIET_WAIT} s for that load to fall below ${QUIET_PCT}% of a core ($(awk -F'\t' 'NR > 1 { t += $33 } END { print t + 0 }' "$TSV") s of waiting in all)."
    echo
    echo "**Versions:** MariaDB $M_mariadbd; nginx $M_nginx; wrk $M_wrk; $M_gcc; $M_spawn_fcgi; libfcgi $M_libfcgi; libmariadb $M_libmariadb; $M_service."
    echo
    echo "**Settings:** $W spawn-fcgi workers; wrk $BENCH_WRK_THREADS thread(s), \`--latency\`, keep-alive, loopback; concurrency $CONC;"
    echo "nginx with the shipped FastCGI locations minus \`limit_req\` (\`bench/nginx.conf\`), access log on;"
    echo "service log level info to a file; \`stats_cache_ms\` 1000 (default); spool on the same disk as the database."
    echo "MariaDB (private, unix socket) started with \`$BENCH_DB_OPTS\`; as running:"
    echo
    echo '```'
    cat "$FRAG/db_settings$SFX"
    echo '```'
    echo
    echo "Requests: distinct signed meeting events (\`bench/gen_requests.c\`, signed with the service's \`sig_sign()\`),"
    echo "about 620 bytes of JSON (5% meeting.started, 5% meeting.ended, 45% participant_joined, 45% participant_left),"
    echo "every uuid and event_ts different, regenerated for every run (signature window 300 s); the nginx-static and"
    echo "fcgi-noop lines replay a pool of $POOL of them.  db-direct runs the service's own \`normalize_event()\`,"
    echo "\`store_insert_event()\`, \`stats_add()\`, \`store_commit()\` (ingest.c \`transaction()\`) from C processes, one connection each."
    echo
    echo "## Results"
    echo
    echo "| line | c | req/s | p50 ms | p99 ms | errors | max RSS/worker | CPU % of a core: total (db / workers / nginx / client / other) | rows landed | req/s of each run |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|---|---|"
    for c in $CONC; do
        for l in static noop hnoop db dbw zoom spool health $(for n in $EXTRA_W; do echo db-w$n zoom-w$n; done); do
            [ -n "$(mget $l "$c" 1)" ] || continue
            awk -F'\t' -v l="$l" -v c="$c" -v name="$(name_of $l)" '$1 == l && $2 == c {
                rows = ($10 == "ok" && (l ~ /^zoom/ || l == "spool" || l ~ /^db/)) ? \
                    "ok (" $23 (l == "spool" ? " records" : " rows") ")" : \
                    ($10 == "ok" ? "-" : "**FAIL**")
                if ($8 > 0 && (l ~ /^zoom/ || l == "spool")) rows = rows " (**" $8 " repeated**)"
                printf "| %s | %s | %.0f | %.2f | %.2f | %d%s | %.1f MiB | %s (%s / %s / %s / %s / %s) | %s | %s |\n",
                    name, c, $4, $5 / 1000, $6 / 1000, $7, ($22 > 0 ? ", " $22 " log warnings" : ""),
                    $9 / 1024, $11, $12, $13, $14, $15, $16, rows, $21 }' "$MED"
        done
    done
    echo
    echo "errors = non-2xx answers + socket errors (connect, read, write, timeout) over all runs."
    echo "RSS = largest VmRSS of one worker (nginx worker for nginx-static, client process for db-direct) at the end of a run."
    echo "rows landed: per run, \`COUNT(*)\` of zoom_visit_events equals the 202s the service logged with outcome=inserted"
    echo "and the \`inserted\` counter in zoom_stats, and lies between wrk's 2xx count and that plus the requests still in"
    echo "flight when wrk stopped (it does not wait for them); for the spool line the same with the records in the spool"
    echo "files; for db-direct \`COUNT(*)\` equals the client's inserts.  Tables are truncated before every run."
    echo
    echo "## Ratios against the targets"
    echo
    echo "| ratio | $(for c in $CONC; do printf 'c=%s | ' "$c"; done)target |"
    echo "|---|$(for c in $CONC; do printf -- '---:|'; done)---|"
    row() {
        local label=$1 a=$2 b=$3 op=$4 t=$5 out c v
        out="| $label |"
        for c in $CONC; do
            v=$(ratio "$a" "$b" "$c")
            if [ -n "$op" ]; then
                # The verdict on the exact ratio, not the rounded one.
                out="$out $v ($(verdict "$(ratio "$a" "$b" "$c" 6)" "$op" "$t")) |"
            else
                out="$out $v |"
            fi
        done
        if [ -n "$op" ]; then echo "$out $op $t |"; else echo "$out (information) |"; fi
    }
    row "zoom_events / db-direct (same c)" zoom db ">=" 0.8
    row "zoom_events / db-direct with $W connections (the service's DB concurrency)" zoom dbw "" ""
    row "zoom_events / fcgi-noop" zoom noop "" ""
    row "fcgi-noop / nginx-static" noop static "" ""
    row "spool (DB down) / DB path" spool zoom ">=" 1.5
    row "health / fcgi-noop GET" health hnoop ">=" 0.5
    out="| zoom_events p99 (ms) |"
    for c in $CONC; do
        v=$(awk -v v="$(mget zoom "$c" 6)" 'BEGIN { if (v == "") print "n/a"; else printf "%.1f", v / 1000 }')
        if [ "$c" = 64 ]; then out="$out $v ($(verdict "$v" "<" 25)) |"; else out="$out $v |"; fi
    done
    echo "$out < 25 at c=64 |"
    out="| errors (zoom_events, spool, health) |"
    for c in $CONC; do
        v=0
        for l in zoom spool health; do
            e=$(mget $l "$c" 7); v=$((v + ${e:-0}))
        done
        out="$out $v ($( [ "$v" = 0 ] && echo met || echo '**not met**')) |"
    done
    echo "$out 0 |"
    out="| largest worker RSS, MiB |"
    for c in $CONC; do
        v=0
        for l in zoom spool health; do
            e=$(mget $l "$c" 9); [ "${e:-0}" -gt "$v" ] && v=$e
        done
        v=$(awk -v v="$v" 'BEGIN { printf "%.1f", v / 1024 }')
        out="$out $v ($(verdict "$v" "<" 8.001)) |"
    done
    echo "$out <= 8 (after 100k: see the leak check) |"
    echo
    if [ -n "$(awk -F'\t' '$1 ~ /^zoom-w/' "$MED")" ]; then
        echo "## Scaling with the number of workers (database connections)"
        echo
        echo "The service holds one connection per worker, so at any c it runs at most that many transactions at"
        echo "once; db-direct with the same number of connections is the fair database ceiling for it."
        echo
        echo "| workers = connections | c | zoom_events req/s | p99 ms | db-direct req/s, same connections | ratio |"
        echo "|---:|---:|---:|---:|---:|---:|"
        for c in $CONC; do
            for n in $W $EXTRA_W; do
                if [ "$n" = "$W" ]; then zl=zoom; dl=dbw; else zl=zoom-w$n; dl=db-w$n; fi
                [ -n "$(mget $zl "$c" 1)" ] || continue
                printf '| %s | %s | %.0f | %.1f | %s | %s |\n' "$n" "$c" "$(mget $zl "$c" 4)" \
                    "$(awk -v v="$(mget $zl "$c" 6)" 'BEGIN { print v / 1000 }')" \
                    "$(awk -v v="$(mget $dl "$c" 4)" 'BEGIN { if (v == "") print "n/a"; else printf "%.0f", v }')" \
                    "$(ratio $zl $dl "$c")"
            done
        done
        echo
    fi
    echo "## CPU per request (where the machine's time goes)"
    echo
    echo "CPU time per request in µs, by component (the run's CPU share divided by its req/s; medians). client is"
    echo "wrk, or db_direct's own processes; other is load on the machine that was not ours (µs of it per request)."
    echo
    echo "| line | c | mariadbd | workers | nginx | client | ours, total | other | machine busy (% of $M_cores cores) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for c in $CONC; do
        for l in static noop db dbw zoom spool $(for n in $EXTRA_W; do echo db-w$n zoom-w$n; done); do
            [ -n "$(mget $l "$c" 1)" ] || continue
            awk -F'\t' -v l="$l" -v c="$c" -v name="$(name_of $l)" -v nc="$M_cores" '
            function us(p) { return (p == "-" || $4 <= 0) ? "-" : sprintf("%.0f", p * 1e4 / $4) }
            $1 == l && $2 == c {
                ours = $12 + $13 + $14 + $15
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %.0f |\n", name, c, us($12), us($13),
                    us($14), us($15), us(ours), us($16 < 0 ? 0 : $16), $11 / nc }' "$MED"
        done
    done
    echo
    echo
    echo "## What limits zoom_events here"
    echo
    echo "Two upper bounds for the service with W workers, from the lines above (same run, medians):"
    echo
    echo "- **serial**: a worker holds a request through the FastCGI hop and then the database transaction, one after"
    echo "  the other, so W workers can do at most 1 / (1/X(db-direct, W connections) + 1/X(fcgi-noop)) req/s;"
    echo "- **CPU**: the $M_cores cores must pay at least db-direct's CPU per event (server and client, W connections) plus"
    echo "  fcgi-noop's CPU per request (nginx, worker, wrk): cores / (that sum)."
    echo "- **Little's law**: with c requests always in flight the mean latency is c / X, so p99 < 25 ms at c=64 needs"
    echo "  X well above 64 / 0.025 = 2560 req/s (p99 is typically 1.5 to 2 x the mean here)."
    echo
    echo "| c | workers W | zoom_events req/s | serial bound | CPU bound | db-direct (same c) | serial bound / db-direct | CPU bound / db-direct | measured / db-direct | measured CPU µs / event vs the two ceilings' sum | c / X = mean latency ms | machine busy % |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
    for c in $CONC; do
        for n in $W $EXTRA_W; do
            if [ "$n" = "$W" ]; then zl=zoom; dl=dbw; else zl=zoom-w$n; dl=db-w$n; fi
            awk -F'\t' -v c="$c" -v n="$n" -v nc="$M_cores" -v zl="$zl" -v dl="$dl" '
            $2 != c { next }
            $1 == "db" { xdb = $4 }
            $1 == dl { xw = $4; cw = ($12 + $15) * 1e4 / $4 }
            $1 == "noop" { xn = $4; cn = ($13 + $14 + $15) * 1e4 / $4 }
            $1 == zl { xz = $4; busy = $11 / nc; cz = ($12 + $13 + $14 + $15) * 1e4 / $4 }
            END {
                if (xw > 0 && xn > 0 && xdb > 0 && xz > 0) {
                    ser = 1 / (1 / xw + 1 / xn); cpu = nc * 1e6 / (cw + cn)
                    printf "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f | %.0f vs %.0f | %.1f | %.0f |\n", c, n, xz,
                        ser, cpu, xdb, ser / xdb, cpu / xdb, xz / xdb, cz, cw + cn, 1000 * c / xz, busy
                }
            }' "$MED"
        done
    done
    echo
    echo "When the serial bound is the lower one, more workers (more concurrent transactions) raise throughput until"
    echo "the CPU bound is reached (see the scaling table); when the machine is near 100% busy, CPU is the limit."
    echo "Both bounds count only what the ceilings themselves cost: a service that cost nothing would still be held"
    echo "to them. A bound below 0.8 x db-direct means the target cannot be met with this worker count (serial) or"
    echo "on this machine with the load generator and nginx on the same cores (CPU)."
    echo
    echo "## Database round trips"
    echo
    echo "Deltas of \`SHOW GLOBAL STATUS\` over each run divided by the rows inserted (health: by requests); medians."
    echo "The INSERT / counter / COMMIT column is db_direct's mean time for each of the three round trips of one event."
    echo "Questions counts every statement a client sent (prepared executes included); Com_commit the COMMITs;"
    echo "redo log writes / fsyncs are InnoDB's \`Innodb_log_writes\` / (\`Innodb_os_log_fsyncs\` +"
    echo "\`Innodb_data_fsyncs\`) per event: below 1 means group commit let concurrent commits share one write and flush."
    echo
    echo "| line | c | statements (Questions) / event | prepared executes / event | COMMITs / event | redo log writes / fsyncs per event | INSERT / counter / COMMIT, µs each |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for c in $CONC; do
        for l in db dbw zoom health $(for n in $EXTRA_W; do echo db-w$n zoom-w$n; done); do
            [ -n "$(mget $l "$c" 1)" ] || continue
            awk -F'\t' -v l="$l" -v c="$c" -v name="$(name_of $l)" '$1 == l && $2 == c {
                printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, c, $17, $18, $19, $20,
                    ($24 == "-" ? "-" : sprintf("%.0f / %.0f / %.0f", $24, $25, $26)) }' "$MED"
        done
    done
    echo
    echo "Raw per-run data: \`bench/out/results.tsv\`.  Re-run: \`make bench\` (or \`bench/run.sh\`; \`--help\` for the knobs)."
} >"$MAIN_FRAG"

rm -f "$MED"
}

if [ "$ASSEMBLE" = 1 ]; then
    [ -f "$MAIN_FRAG" ] || bench_die "no $MAIN_FRAG: run bench/run.sh first"
    assemble
    exit 0
fi
if [ "$REPORT" = 1 ]; then
    [ -f "$FRAG/meta$SFX.env" ] || bench_die "no $FRAG/meta$SFX.env: run bench/run.sh first"
    # shellcheck disable=SC1090
    . "$FRAG/meta$SFX.env"
    render_report
    assemble
    exit 0
fi

has_line() { case " $LINES " in *" $1 "*) return 0 ;; esac; return 1; }

bench_check_tools
bench_setup_dir
TSV=$BW/results.tsv
printf 'line\tc\trun\trps\tp50_us\tp90_us\tp99_us\tnon2xx\tsockerr\trepeated\trss_max_kb\trss_kb\trows\tlogged\twrk2xx\tinflight\tcheck\tbusy\tdb\tworkers\tnginx\tclient\tother\tq_ev\texec_ev\tcommit_ev\tfsync_ev\trequests\twarnings\tinsert_us\tstats_us\tcommit_us\tquiet_wait_s\n' >"$TSV"
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
T0=$(date +%s)

bench_log "work dir $BW; lines: $LINES; c: $CONC; $RUNS x ${SECS}s; $W workers"
bench_db_start
bench_db_create
bench_db_settings >"$BW/db_settings"
bench_machine >"$BW/machine"
bench_nginx_start

# Pools for the lines that never touch the database (the signature is not
# checked there, so one pool can serve the whole run).
bench_gen "$BW/pool_post" "$POOL" 60000
bench_gen "$BW/pool_get" 16 60001 GET
RUNSEQ=0

# ---- one run ----

# On a shared machine, wait (at most QUIET_WAIT s) until the load that is
# not ours is below QUIET_PCT % of one core, measured over 1 s while our
# stack is idle; the run's "other" CPU column shows what remained.
QUIET_PCT=${BENCH_QUIET_PCT:-25}
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}
[ "$SMOKE" = 1 ] && QUIET_WAIT=0
QUIET_WAITED=0
wait_quiet() {
    local t0 a b busy
    QUIET_WAITED=0
    [ "$QUIET_WAIT" -gt 0 ] || return 0
    t0=$(date +%s)
    while :; do
        a=$(bench_cpu_machine); sleep 1; b=$(bench_cpu_machine)
        busy=$(echo "$a $b" | awk -v n="$(nproc)" '{ t = $4 - $2; if (t > 0) printf "%d", 100 * n * ($3 - $1) / t; else print 0 }')
        QUIET_WAITED=$(( $(date +%s) - t0 ))
        [ "$busy" -le "$QUIET_PCT" ] && return 0
        [ "$QUIET_WAITED" -ge "$QUIET_WAIT" ] && return 0
        sleep 1
    done
}

# Largest median-so-far helper: max rps of a line at c in the TSV.
max_rps() {
    awk -F'\t' -v l="$1" -v c="$2" '$1 == l && $2 == c && $4 > m { m = $4 }
        END { printf "%d\n", m }' "$TSV"
}

# How many distinct requests a database-writing run needs: twice the best
# rate seen for it (or 1.5 x the FastCGI ceiling), never fewer than
# MIN_REQS.  Repeats would show as "repeated" and fail the row check.
reqs_for() {
    local line=$1 c=$2 prev noop n
    prev=$(max_rps "$line" "$c")
    noop=$(max_rps noop "$c")
    if [ "$prev" -gt 0 ]; then
        n=$((prev * SECS * 2))
    elif [ "$noop" -gt 0 ]; then
        n=$((noop * SECS * 3 / 2))
    else
        n=$((4000 * SECS))
    fi
    [ "$n" -lt "$MIN_REQS" ] && n=$MIN_REQS
    [ "$n" -gt "$MAX_REQS" ] && n=$MAX_REQS
    echo "$n"
}

status_delta() {
    # status_delta BEFORE AFTER NAME: after - before
    awk -v k="$3" 'FNR == NR { if ($1 == k) b = $2; next }
        $1 == k { a = $2 } END { print a - b }' "$1" "$2"
}

per() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "-" }'; }

# Wait until the service's log stops growing (requests in flight at wrk's
# stop finish), at most ~3 s.
settle() {
    local a b i
    a=$(wc -l <"$ZOOM_EVENTS_LOG" 2>/dev/null || echo 0)
    for i in $(seq 1 30); do
        sleep 0.1
        b=$(wc -l <"$ZOOM_EVENTS_LOG" 2>/dev/null || echo 0)
        [ "$a" = "$b" ] && [ "$i" -ge 3 ] && return 0
        a=$b
    done
}

run_line() {
    local line=$1 c=$2 r=$3 tag raw prefix port path n
    local worker_pids nginx_pids db_pid m0 m1 cw0 cw1 cn0 cn1 cd0 cd1
    local rps p50 p90 p99 non2xx sockerr repeated requests rss rows=- logged=- wrk2xx=- inflight=- check=- warnings=0
    local st0=$BW/status0 st1=$BW/status1 dbup=1 client_ms q=- ex=- cm=- fs=- rows_div
    tag=$line-c$c-r$r
    raw=$BW/raw/$tag
    RUNSEQ=$((RUNSEQ + 1))
    case $line in
    static) port=$STATIC_PORT; path=/zoom_events/events; prefix=$BW/pool_post ;;
    noop) port=$FCGI_PORT; path=/zoom_events/events; prefix=$BW/pool_post ;;
    hnoop|health) port=$FCGI_PORT; path=/zoom_events/health; prefix=$BW/pool_get ;;
    zoom|zoom-w*|spool)
        port=$FCGI_PORT; path=/zoom_events/events; prefix=$BW/req
        n=$(reqs_for "$line" "$c")
        bench_gen "$prefix" "$n" "$RUNSEQ"
        ;;
    db|dbw|db-w*) ;;
    esac
    [ "$line" = spool ] && dbup=0
    if [ "$dbup" = 1 ]; then
        bench_truncate
    else
        find "$BW/spool" -maxdepth 1 \( -name '*.spool' -o -name '*.draining' \
            -o -name '*.off' \) -delete
    fi
    : >"$ZOOM_EVENTS_LOG"
    worker_pids=$(ze_workers_pids "$BW" | tr '\n' ' ')
    nginx_pids=$(bench_nginx_pids | tr '\n' ' ')
    db_pid=""
    [ "$dbup" = 1 ] && db_pid=$(bench_db_pid)
    wait_quiet
    [ "$dbup" = 1 ] && bench_db_status >"$st0"
    m0=$(bench_cpu_machine)
    cd0=$(bench_cpu_pids $db_pid)
    cw0=$(bench_cpu_pids $worker_pids)
    cn0=$(bench_cpu_pids $nginx_pids)
    case $line in
    db|dbw|db-w*)
        local procs=$c
        [ "$line" = dbw ] && procs=$W
        case $line in db-w*) procs=${line#db-w} ;; esac
        "$BENCH_BIN/db_direct" -c "$procs" -d "$SECS" -r "$RUNSEQ" -m "$DB_MODE" \
            >"$raw" 2>"$raw.err"
        ;;
    *)
        bench_wrk "$port" "$path" "$c" "$SECS" "$prefix" "$raw"
        ;;
    esac
    m1=$(bench_cpu_machine)
    cd1=$(bench_cpu_pids $db_pid)
    cw1=$(bench_cpu_pids $worker_pids)
    cn1=$(bench_cpu_pids $nginx_pids)
    case $line in
    zoom|zoom-w*|spool|health) settle ;;
    esac

    rps=$(bench_kv "$raw" rps)
    if [ -z "$rps" ]; then
        bench_log "$tag: no result"; cat "$raw" "$raw.err" 2>/dev/null | tail -5 >&2
        rps=0
    fi
    p50=$(bench_kv "$raw" p50_us); p90=$(bench_kv "$raw" p90_us); p99=$(bench_kv "$raw" p99_us)
    requests=$(bench_kv "$raw" requests)
    case $line in
    db|dbw|db-w*)
        non2xx=0
        sockerr=$(bench_kv "$raw" errors)
        repeated=0
        p90=-
        client_ms=$(bench_kv "$raw" cpu_ms)
        rss="$(bench_kv "$raw" rss_max_kb) $(bench_kv "$raw" rss_kb)"
        ;;
    *)
        non2xx=$(bench_kv "$raw" status)
        sockerr=$(( $(bench_kv "$raw" connect) + $(bench_kv "$raw" read) + \
            $(bench_kv "$raw" write) + $(bench_kv "$raw" timeout) ))
        repeated=$(bench_kv "$raw" repeated)
        client_ms=$(bench_kv "$raw" wrk_cpu_ms)
        case $line in
        static) rss=$(bench_rss $(pgrep -P "$(cat "$BW/nginx/nginx.pid")")) ;;
        *) rss=$(bench_rss $worker_pids) ;;
        esac
        ;;
    esac
    [ -n "$p50" ] || p50=0
    [ -n "$p99" ] || p99=0
    [ -n "$requests" ] || requests=0

    # Did the rows land?
    case $line in
    zoom|zoom-w*)
        rows=$(bench_sql "SELECT COUNT(*) FROM zoom_visit_events")
        local counted
        counted=$(bench_sql "SELECT COALESCE(SUM(inserted), 0) FROM zoom_stats")
        logged=$(grep -c 'status=202 .*outcome=inserted' "$ZOOM_EVENTS_LOG")
        wrk2xx=$((requests - non2xx))
        inflight=$(( $(bench_kv "$raw" sent) - requests ))
        if [ "$rows" = "$logged" ] && [ "$rows" = "$counted" ] && \
            [ "$wrk2xx" -le "$rows" ] && [ "$rows" -le $((wrk2xx + inflight)) ] && \
            [ "$repeated" = 0 ]; then
            check=ok
        else
            check="FAIL(stats=$counted)"
        fi
        ;;
    spool)
        rows=$(cat "$BW"/spool/*.spool 2>/dev/null | grep -a -o -E 'ZESPOOL[12]' | wc -l)
        logged=$(grep -c 'status=202 .*outcome=spooled' "$ZOOM_EVENTS_LOG")
        wrk2xx=$((requests - non2xx))
        inflight=$(( $(bench_kv "$raw" sent) - requests ))
        if [ "$rows" = "$logged" ] && [ "$wrk2xx" -le "$rows" ] && \
            [ "$rows" -le $((wrk2xx + inflight)) ] && [ "$repeated" = 0 ]; then
            check=ok
        else
            check=FAIL
        fi
        ;;
    db|dbw|db-w*)
        rows=$(bench_sql "SELECT COUNT(*) FROM zoom_visit_events")
        logged=$(bench_kv "$raw" inserted)
        wrk2xx=$requests
        inflight=0
        if [ "$rows" = "$logged" ] && [ "$rows" = "$requests" ]; then check=ok; else check=FAIL; fi
        ;;
    esac
    case $line in
    zoom|zoom-w*|spool|health) warnings=$(grep -c -E 'level=(warn|error)' "$ZOOM_EVENTS_LOG") ;;
    esac

    # Database round trips per event (per request for health).
    if [ "$dbup" = 1 ] && [ "$line" != static ] && [ "$line" != noop ] && [ "$line" != hnoop ]; then
        bench_db_status >"$st1"
        rows_div=$requests
        case $line in zoom|zoom-w*|db|dbw|db-w*) rows_div=$rows ;; esac
        q=$(per "$(status_delta "$st0" "$st1" Questions)" "$rows_div")
        ex=$(per "$(status_delta "$st0" "$st1" Com_stmt_execute)" "$rows_div")
        cm=$(per "$(status_delta "$st0" "$st1" Com_commit)" "$rows_div")
        fs=$(per "$(status_delta "$st0" "$st1" Innodb_log_writes)" "$rows_div")
        fs="$fs/$(per $(( $(status_delta "$st0" "$st1" Innodb_os_log_fsyncs) + \
            $(status_delta "$st0" "$st1" Innodb_data_fsyncs) )) "$rows_div")"
        cp "$st0" "$raw.status0"; cp "$st1" "$raw.status1"
    fi

    # CPU, in % of one core over the run.
    local busy tot core db_c w_c n_c cl_c other
    read -r b0 t0 <<<"$m0"
    read -r b1 t1 <<<"$m1"
    tot=$((t1 - t0))
    core=$(awk -v t="$tot" -v n="$(nproc)" 'BEGIN { print t / n }')
    busy=$(pct $((b1 - b0)) "$core")
    db_c=$(pct $((cd1 - cd0)) "$core")
    w_c=$(pct $((cw1 - cw0)) "$core")
    n_c=$(pct $((cn1 - cn0)) "$core")
    cl_c=$(awk -v ms="${client_ms:-0}" -v hz="$CLK_TCK" -v c="$core" \
        'BEGIN { if (c > 0) printf "%.0f", 100 * ms * hz / 1000 / c; else print "-" }')
    other=$(awk -v a="$busy" -v b="$db_c" -v c="$w_c" -v d="$n_c" -v e="$cl_c" \
        'BEGIN { printf "%.0f", a - b - c - d - e }')

    local ins=- sta=- com=-
    case $line in
    db|dbw|db-w*)
        ins=$(bench_kv "$raw" insert_us); sta=$(bench_kv "$raw" stats_us)
        com=$(bench_kv "$raw" commit_us)
        ;;
    esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$line" "$c" "$r" "$rps" "$p50" "$p90" "$p99" "$non2xx" "$sockerr" "$repeated" \
        ${rss% *} "${rss#* }" "$rows" "$logged" "$wrk2xx" "$inflight" "$check" \
        "$busy" "$db_c" "$w_c" "$n_c" "$cl_c" "$other" "$q" "$ex" "$cm" "$fs" "$requests" \
        "$warnings" "${ins:--}" "${sta:--}" "${com:--}" "$QUIET_WAITED" >>"$TSV"
    bench_log "$(printf '%-6s c=%-3s run %s: %8.0f req/s  p50 %6.2f ms  p99 %7.2f ms  errors %s/%s  rows %s %s  cpu %s%% (db %s, workers %s, nginx %s, client %s, other %s)' \
        "$line" "$c" "$r" "$rps" "$(awk -v v="$p50" 'BEGIN{print v/1000}')" \
        "$(awk -v v="$p99" 'BEGIN{print v/1000}')" "$non2xx" "$sockerr" "$rows" "$check" \
        "$busy" "$db_c" "$w_c" "$n_c" "$cl_c" "$other")"
}

# A short unmeasured run so that connections, statements and caches are
# warm before the first measured one.
warm_up() {
    local kind=$1
    case $kind in
    zoom)
        bench_gen "$BW/warm" 3000 $((RUNSEQ + 50000))
        bench_wrk "$FCGI_PORT" /zoom_events/events 8 1 "$BW/warm" "$BW/raw/warm.out"
        bench_truncate
        ;;
    noop)
        bench_wrk "$FCGI_PORT" /zoom_events/events 8 1 "$BW/pool_post" "$BW/raw/warm.out"
        ;;
    esac
}

# ---- rounds ----

# Each round measures, for each c, the ceilings right next to the service
# (minutes apart at most), then the spool lines with the database killed.
db_is_up=1
for r in $(seq 1 "$RUNS"); do
    bench_log "round $r of $RUNS"
    if [ "$db_is_up" = 0 ]; then
        find "$BW/spool" -maxdepth 1 \( -name '*.spool' -o -name '*.draining' \
            -o -name '*.off' \) -delete
        bench_db_start
        db_is_up=1
    fi
    for c in $CONC; do
        if has_line static || has_line noop || has_line hnoop; then
            bench_workers_start noop "$W"
            warm_up noop
            for l in static noop hnoop; do
                has_line $l && run_line $l "$c" "$r"
            done
        fi
        ze_workers_stop "$BW"
        for l in db dbw; do
            has_line $l && run_line $l "$c" "$r"
        done
        if has_line zoom || has_line health; then
            bench_workers_start zoom "$W"
            warm_up zoom
            for l in zoom health; do
                has_line $l && run_line $l "$c" "$r"
            done
        fi
        if has_line scale; then
            for n in $EXTRA_W; do
                ze_workers_stop "$BW"
                run_line "db-w$n" "$c" "$r"
                bench_workers_start zoom "$n"
                warm_up zoom
                run_line "zoom-w$n" "$c" "$r"
            done
        fi
    done
    if has_line spool; then
        bench_workers_start zoom "$W"
        warm_up zoom
        ze_db_kill "$BW/db"
        db_is_up=0
        for c in $CONC; do
            run_line spool "$c" "$r"
        done
    fi
    ze_workers_stop "$BW"
done
ELAPSED=$(( $(date +%s) - T0 ))
cp "$TSV" "$FRAG/results$SFX.tsv"

# Keep what the report needs next to the results, so that --report can
# render this run again.
cp "$BW/machine" "$FRAG/machine$SFX"
cp "$BW/db_settings" "$FRAG/db_settings$SFX"
declare -p SMOKE SECS RUNS STARTED ELAPSED W CONC EXTRA_W POOL BENCH_WRK_THREADS \
    BENCH_DB_OPTS QUIET_WAIT QUIET_PCT >"$FRAG/meta$SFX.env"
render_report

if [ "$EXTRAS" = 1 ]; then
    bench_log "leak and RSS check (bench/leak.sh)"
    "$BENCH_SRC/leak.sh" --out "$FRAG/leak.md" || bench_log "leak.sh failed"
    bench_log "profile (bench/profile.sh)"
    "$BENCH_SRC/profile.sh" --out "$FRAG/profile.md" || bench_log "profile.sh failed"
    if [ "${BENCH_ROUNDTRIPS:-1}" = 1 ]; then
        bench_log "round-trip experiment (bench/roundtrips.sh)"
        "$BENCH_SRC/roundtrips.sh" --out "$FRAG/roundtrips.md" || bench_log "roundtrips.sh failed"
    fi
fi
assemble
cat "$OUT"
