#!/usr/bin/env bash
# bench/run.sh -- the load benchmark of issues 5 and 16: the service and
# the ceilings of its parts, measured side by side in one run on one
# machine.
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
#   hnoop    GET /zoom_events/health on fcgi_noop
#   db       bench/db_direct -m txn: the service's per-event transaction
#            (event INSERT, ledger INSERT, counter upsert, COMMIT: store.c,
#            stats.c, normalize.c, the same statements) from C processes
#            with one connection each, as many as the HTTP line's c
#   dbw      the same with N connections, the service's connections
#   ac       db_direct -m autocommit: one event INSERT per autocommit
#            transaction, no ledger, no counter, c connections
#   acw      the same with N connections
#   batch    db_direct -m batch -b B (B events + B ledger rows + one
#            counter upsert + one COMMIT) for B in BENCH_BATCH_SIZES at
#            BENCH_BATCH_CONNS connections, and BENCH_BATCH_EXTRA
#            ("B:connections" pairs): the batch size vs rows/s experiment
#   zoom1    zoom_events with ZOOM_EVENTS_THREADS=1 ZOOM_EVENTS_BATCH_MAX=1:
#            one request and one transaction per event at a time in each
#            worker, the path before group commit ("today's")
#   zoom     zoom_events with its defaults (threads, group commit)
#   health   GET /zoom_events/health on zoom_events
#   spool    zoom_events (defaults) with the database killed (local spool)
#   lat      zoom1 and zoom at c=1 (p50 without concurrency)
#   scale    zoom_events and db_direct txn with BENCH_EXTRA_WORKERS workers
#            / connections
#   cost     what the delivery ledger and the visit layer cost (issues 11
#            and 13): dbnl, db-direct txn without the ledger INSERT
#            (db_direct -L, c connections); zoomnl, zoom_events (defaults)
#            with zoom_deliveries switched to ENGINE=BLACKHOLE (the ledger
#            statement still runs, its rows and index are not kept);
#            zoomnv, zoom_events with the visit layer's indexes on
#            zoom_visit_events (idx_visit, idx_created) dropped.  The
#            tables are put back after each.
#   tuned    zoom_events with BENCH_TUNED_ENV added to its environment
#            ("ZOOM_EVENTS_THREADS=32"), not in the default lines: e.g.
#            --lines zoom1,zoom,tuned to try a setting against the others
# zoom1, zoom and spool read the histogram zoom_events_commit_batch_size
# from GET /zoom_events/metrics before and after each run: the mean batch
# and how many commits of each size.
#
# Every run is bounded in time (wrk -d, db_direct -d) and only targets
# loopback.  Knobs (environment): BENCH_WORKERS (4), BENCH_CONC ("8 64"),
# BENCH_RUNS (3), BENCH_SECS (10), BENCH_WRK_THREADS (1), BENCH_DB_OPTS,
# BENCH_TMPDIR (/var/tmp), BENCH_MAX_REQS (600000), BENCH_KEEP (0),
# BENCH_EXTRA_WORKERS ("2 8"), BENCH_BATCH_SIZES ("4 16 64"),
# BENCH_BATCH_CONNS (8), BENCH_BATCH_EXTRA ("16:2"), BENCH_QUIET_PCT (25),
# BENCH_QUIET_WAIT (20 s per run), BENCH_QUIET_TOTAL (300 s per bench).
#
# Requests are distinct signed meeting events (bench/gen_requests.c with
# the service's sig_sign()), regenerated for every run so that their
# timestamps are fresh (the service refuses signatures older than 300 s)
# and every event is a new row.  The median of BENCH_RUNS runs is
# reported; runs of different lines are interleaved round by round so that
# a burst of other load on a shared machine does not hit one line only.
#
# --smoke (make bench-smoke, tests/e2e/bench.bats under `timeout 150` on
# CI's 2 cores): one run of 1 s per line, c=8, no warm-up, one batch line,
# no c=1 line and no autocommit line at N connections.
set -u

. "$(dirname "$0")/lib.sh"

SMOKE=0
EXTRAS=1
ASSEMBLE=0
REPORT=0
OUT=""
LINES=""
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
    BATCH_SIZES=${BENCH_BATCH_SIZES:-16}
    BATCH_EXTRA=${BENCH_BATCH_EXTRA:-}
    LINES=${LINES:-static noop hnoop db dbw ac batch zoom1 zoom health spool scale cost}
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
    EXTRA_W=${BENCH_EXTRA_WORKERS:-2 8}
    BATCH_SIZES=${BENCH_BATCH_SIZES:-4 16 64}
    BATCH_EXTRA=${BENCH_BATCH_EXTRA:-16:2}
    LINES=${LINES:-static noop hnoop db dbw ac acw batch zoom1 zoom health spool lat scale cost}
    OUT=${OUT:-$ZE_ROOT/bench/RESULTS.md}
    MAIN_FRAG=$FRAG/main.md
    SFX=""
fi
BATCH_CONNS=${BENCH_BATCH_CONNS:-8}
TUNED_ENV=${BENCH_TUNED_ENV:-ZOOM_EVENTS_THREADS=32}
MAX_REQS=${BENCH_MAX_REQS:-600000}
W=$BENCH_WORKERS

assemble() {
    {
        cat "$MAIN_FRAG"
        if [ "$SMOKE" = 0 ]; then
            for f in leak tsan profile galera; do
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
local -A M=()

# Medians per (line, c): one row per pair, in a fixed line order.
MED=$(mktemp)
awk -F'\t' -v OFS='\t' 'NR > 1 {
    k = $1 SUBSEP $2
    if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
    n[k]++
    for (f = 4; f <= 36; f++) v[k, f, n[k]] = $f
    runs[k] = runs[k] (runs[k] == "" ? "" : ", ") sprintf("%.0f", $4)
    if ($17 != "ok" && $17 != "-") bad[k] = 1
    err[k] += $8 + $9
    rep[k] += $10
    warn[k] += $29
    qw[k] += $33
    if ($11 > rssmax[k]) rssmax[k] = $11
    # The commit batch histograms of all runs, summed.
    nh = split($35, hs, "/")
    for (i = 1; i <= nh; i++) if (split(hs[i], q, ":") == 2) {
        if (!((k, q[1]) in hist)) order[k] = order[k] " " q[1]
        hist[k, q[1]] += q[2]
    }
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
function histo(k,    i, nb, b, h, s, t) {
    nb = split(order[k], b, " ")
    # Ascending bucket bounds ("+Inf" last).
    for (i = 2; i <= nb; i++) { t = b[i]; for (j = i - 1; j >= 1 && (b[j] == "+Inf" || (t != "+Inf" && b[j] + 0 > t + 0)); j--) b[j + 1] = b[j]; b[j + 1] = t }
    h = ""
    for (i = 1; i <= nb; i++) h = h (h == "" ? "" : ", ") "<=" b[i] ": " hist[k, b[i]]
    return h == "" ? "-" : h
}
END {
    for (i = 1; i <= nk; i++) {
        k = keys[i]; split(k, p, SUBSEP)
        print p[1], p[2], n[k], med(k, 4), med(k, 5), med(k, 7), err[k], rep[k], rssmax[k],
            (k in bad ? "FAIL" : "ok"), med(k, 18), med(k, 19), med(k, 20), med(k, 21),
            med(k, 22), med(k, 23), med(k, 24), med(k, 25), med(k, 26), med(k, 27), runs[k],
            warn[k], med(k, 13), med(k, 30), med(k, 31), med(k, 32), qw[k], med(k, 34),
            histo(k), med(k, 36)
    }
}' "$TSV" >"$MED"
# Columns of MED: 1 line 2 c 3 runs 4 rps 5 p50 6 p99 7 errors 8 repeated
# 9 rss 10 check 11 busy 12 db 13 workers 14 nginx 15 client 16 other
# 17 q/ev 18 exec/ev 19 commit/ev 20 fsync/ev 21 rps of each run
# 22 warnings 23 rows (median) 24 insert_us 25 stats_us 26 commit_us
# 27 seconds spent waiting for quiet before its runs 28 mean commit batch
# 29 commit batch histogram (all runs) 30 ledger rows (median)

# The medians in memory: M[line|c|column] (no process per look-up).
local l c i f
while IFS=$'\t' read -r -a f; do
    for i in "${!f[@]}"; do M["${f[0]}|${f[1]}|$((i + 1))"]=${f[$i]}; done
done <"$MED"
mget() { printf '%s\n' "${M[$1|$2|$3]:-}"; }

name_of() {
    case $1 in
    static) echo "nginx-static" ;;
    noop) echo "fcgi-noop" ;;
    hnoop) echo "fcgi-noop GET (health baseline)" ;;
    db) echo "db-direct" ;;
    dbw) echo "db-direct, $W connections" ;;
    ac) echo "db-direct autocommit" ;;
    acw) echo "db-direct autocommit, $W connections" ;;
    b*) echo "db-direct batch of ${1#b}" ;;
    zoom1) echo "zoom_events today (1 thread, batch_max 1)" ;;
    zoom) echo "zoom_events" ;;
    zoomt) echo "zoom_events, $TUNED_ENV" ;;
    zoomnl) echo "zoom_events, ledger table BLACKHOLE" ;;
    zoomnv) echo "zoom_events, no visit indexes" ;;
    dbnl) echo "db-direct, no ledger INSERT" ;;
    spool) echo "zoom_events, DB down (spool)" ;;
    health) echo "zoom_events GET /health" ;;
    zoom-w*) echo "zoom_events, ${1#zoom-w} workers" ;;
    db-w*) echo "db-direct, ${1#db-w} connections" ;;
    esac
}

# ratio LINE_A C_A LINE_B C_B [DECIMALS]: medians' req/s, A / B.
ratio() {
    awk -v a="$(mget "$1" "$2" 4)" -v b="$(mget "$3" "$4" 4)" -v d="${5:-2}" \
        'BEGIN { if (a > 0 && b > 0) printf("%." d "f", a / b); else print "n/a" }'
}

verdict() {
    # verdict VALUE OP TARGET
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (v == "n/a" || v == "") { print "n/a"; exit }
        ok = (op == ">=") ? (v + 0 >= t + 0) : (op == "<=") ? (v + 0 <= t + 0) : (v + 0 < t + 0)
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
    [ -n "${LOAD_BEFORE:-}" ] && echo "Load average when the run started: $LOAD_BEFORE."
    echo
    echo "**Versions:** MariaDB $M_mariadbd; nginx $M_nginx; wrk $M_wrk; $M_gcc; $M_spawn_fcgi; libfcgi $M_libfcgi; libmariadb $M_libmariadb; $M_service."
    echo
    echo "**Settings:** $W spawn-fcgi workers (one database connection each); zoom_events with its defaults"
    echo "(\`threads\` 8 request threads per worker, \`batch_max\` 64: group commit) and, for the \"today\" line,"
    echo "\`ZOOM_EVENTS_THREADS=1 ZOOM_EVENTS_BATCH_MAX=1\` (one request, one transaction per event at a time: the path"
    echo "before group commit); wrk $BENCH_WRK_THREADS thread(s), \`--latency\`, keep-alive, loopback; concurrency $CONC;"
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
    echo "fcgi-noop lines replay a pool of $POOL of them.  db-direct (\`bench/db_direct.c\`) runs the service's own"
    echo "\`normalize_event()\`, \`store_insert_event()\`, \`store_insert_ledger()\`, \`stats_add()\` and \`store_commit()\`"
    echo "from C processes, one connection each: \`txn\` is ingest.c's transaction for one delivery (event INSERT, its"
    echo "ledger row, the counter upsert, COMMIT), \`batch of B\` the same for B deliveries at once (B event INSERTs, the"
    echo "ledger rows in multi-row INSERTs, one counter upsert, one COMMIT: what the group commit leader sends),"
    echo "\`autocommit\` one event INSERT per autocommit transaction and nothing else."
    echo
    echo "## Results"
    echo
    echo "| line | c | req/s | p50 ms | p99 ms | errors | max RSS/worker | CPU % of a core: total (db / workers / nginx / client / other) | rows landed | mean commit batch | req/s of each run |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|---|---:|---|"
    for c in 1 $CONC; do
        for l in static noop hnoop db dbnl dbw ac acw zoom1 zoom zoomt zoomnl zoomnv spool health $(for n in $EXTRA_W; do echo db-w$n zoom-w$n; done); do
            [ -n "$(mget $l "$c" 1)" ] || continue
            awk -F'\t' -v l="$l" -v c="$c" -v name="$(name_of $l)" '$1 == l && $2 == c {
                rows = ($10 == "ok" && (l ~ /^zoom/ || l == "spool" || l ~ /^(db|ac)/)) ? \
                    "ok (" $23 (l == "spool" ? " records" : " rows") ")" : \
                    ($10 == "ok" ? "-" : "**FAIL**")
                if ($8 > 0 && (l ~ /^zoom/ || l == "spool")) rows = rows " (**" $8 " repeated**)"
                printf "| %s | %s | %.0f | %.2f | %.2f | %d%s | %.1f MiB | %s (%s / %s / %s / %s / %s) | %s | %s | %s |\n",
                    name, c, $4, $5 / 1000, $6 / 1000, $7, ($22 > 0 ? ", " $22 " log warnings" : ""),
                    $9 / 1024, $11, $12, $13, $14, $15, $16, rows, $28, $21 }' "$MED"
        done
    done
    echo
    echo "errors = non-2xx answers + socket errors (connect, read, write, timeout) over all runs."
    echo "RSS = largest VmRSS of one worker (nginx worker for nginx-static, client process for db-direct) at the end of a run."
    echo "rows landed: per run, \`COUNT(*)\` of zoom_visit_events equals the 202s the service logged with outcome=inserted,"
    echo "the \`inserted\` counter in zoom_stats and the ledger's rows (zoom_deliveries), and lies between wrk's 2xx count"
    echo "and that plus the requests still in flight when wrk stopped (it does not wait for them); for the spool line the"
    echo "same with the records in the spool files; for db-direct \`COUNT(*)\` equals the client's inserts (and, but for"
    echo "autocommit, the ledger rows and the counter).  Tables are truncated before every run.  mean commit batch: deliveries"
    echo "per database commit over the run, from the service's \`zoom_events_commit_batch_size\` histogram."
    echo
    if [ -n "$(awk -F'\t' '$1 ~ /^b[0-9]/' "$MED")" ]; then
        echo "## Batch size vs rows/s (db-direct, the ceiling lines of group commit)"
        echo
        echo "The service's statements from C, no HTTP: rows per second by what one COMMIT carries.  A batch of B is B"
        echo "event INSERTs + the B ledger rows + 1 counter upsert + 1 COMMIT, what a group commit of B deliveries sends."
        echo
        echo "| statements per commit | connections | rows/s | p50 ms (per transaction) | p99 ms | statements / row | COMMITs / row | x autocommit (same connections) | x txn (same connections) | mariadbd CPU µs / row | client CPU µs / row |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        xrow() {
            local l=$1 c=$2 label=$3
            [ -n "$(mget "$l" "$c" 1)" ] || return 0
            awk -F'\t' -v l="$l" -v c="$c" -v label="$label" -v ac="$(mget ac "$c" 4)" -v tx="$(mget db "$c" 4)" '
            function us(p) { return (p == "-" || $4 <= 0) ? "-" : sprintf("%.0f", p * 1e4 / $4) }
            function x(b) { return (b > 0) ? sprintf("%.2f", $4 / b) : "n/a" }
            $1 == l && $2 == c {
                printf "| %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s | %s |\n", label, c, $4, $5 / 1000,
                    $6 / 1000, $17, $19, x(ac), x(tx), us($12), us($15) }' "$MED"
        }
        for c in $BATCH_CONNS; do
            xrow ac "$c" "1 event INSERT (autocommit)"
            xrow db "$c" "event + ledger + counter + COMMIT (txn, per event)"
            for b in $BATCH_SIZES; do
                xrow "b$b" "$c" "$b events + ledger ($b rows) + 1 counter + 1 COMMIT"
            done
        done
        for p in $BATCH_EXTRA; do
            xrow "b${p%%:*}" "${p#*:}" "${p%%:*} events + ledger (${p%%:*} rows) + 1 counter + 1 COMMIT"
        done
        echo
        echo "statements / row are \`Questions\` (each prepared execute and COMMIT counts one) per row inserted; a ledger"
        echo "INSERT carries up to 32 rows (store.c \`STORE_ROWS_CHUNK\`).  The x columns divide by the autocommit and txn"
        echo "lines with the same number of connections (n/a when that line did not run at that number)."
        echo
    fi
    echo "## Commit batches seen under load"
    echo
    echo "From the service's \`zoom_events_commit_batch_size\` histogram (GET /zoom_events/metrics, this host's workers), the"
    echo "difference over each run, summed over the runs: commits by deliveries per commit (bucket upper bounds)."
    echo
    echo "| line | c | mean deliveries per commit | commits per batch size (all runs) |"
    echo "|---|---:|---:|---|"
    for c in 1 $CONC; do
        for l in zoom1 zoom zoomt zoomnl zoomnv $(for n in $EXTRA_W; do echo zoom-w$n; done); do
            [ -n "$(mget $l "$c" 1)" ] || continue
            printf '| %s | %s | %s | %s |\n' "$(name_of $l)" "$c" "$(mget $l "$c" 28)" "$(mget $l "$c" 29)"
        done
    done
    echo
    echo "## Ratios against the targets"
    echo
    echo "Issue 16's targets, each against lines of this same run (medians); c=1 is only the p50 line."
    echo
    echo "| ratio | $(for c in $CONC; do printf 'c=%s | ' "$c"; done)target |"
    echo "|---|$(for c in $CONC; do printf -- '---:|'; done)---|"
    row() {
        local label=$1 a=$2 b=$3 op=$4 t=$5 bc=${6:-} out c v
        out="| $label |"
        for c in $CONC; do
            v=$(ratio "$a" "$c" "$b" "${bc:-$c}")
            if [ -n "$op" ]; then
                # The verdict on the exact ratio, not the rounded one.
                out="$out $v ($(verdict "$(ratio "$a" "$c" "$b" "${bc:-$c}" 6)" "$op" "$t")) |"
            else
                out="$out $v |"
            fi
        done
        if [ -n "$op" ]; then echo "$out $op $t |"; else echo "$out (information) |"; fi
    }
    row "zoom_events / today's zoom_events (1 thread, batch_max 1)" zoom zoom1 ">=" 2.0
    row "zoom_events / db-direct, $W connections (the service's: txn per event)" zoom dbw ">=" 1.0
    row "zoom_events / db-direct (same c)" zoom db ">=" 1.0
    row "zoom_events / db-direct autocommit, $W connections" zoom acw ">=" 0.8
    row "zoom_events / db-direct autocommit, c connections" zoom ac ">=" 0.8
    row "spool (DB down) / DB path" spool zoom ">=" 1.0
    row "ledger cost, database: db-direct txn / the same without the ledger INSERT" db dbnl ">=" 0.9
    row "ledger cost, service: zoom_events / zoom_events with the ledger table BLACKHOLE" zoom zoomnl ">=" 0.9
    row "visit layer cost: zoom_events / zoom_events without idx_visit, idx_created" zoom zoomnv ">=" 0.9
    row "today's zoom_events / db-direct txn, $W connections" zoom1 dbw "" ""
    row "zoom_events / fcgi-noop" zoom noop "" ""
    row "fcgi-noop / nginx-static" noop static "" ""
    row "health / fcgi-noop GET" health hnoop ">=" 0.5
    out="| zoom_events p99 (ms) |"
    for c in $CONC; do
        v=$(awk -v v="$(mget zoom "$c" 6)" 'BEGIN { if (v == "") print "n/a"; else printf "%.1f", v / 1000 }')
        if [ "$c" = 64 ]; then out="$out $v ($(verdict "$v" "<" 25)) |"; else out="$out $v |"; fi
    done
    echo "$out < 25 at c=64 |"
    local p50z p50t
    p50z=$(mget zoom 1 5); p50t=$(mget zoom1 1 5)
    v=$(awk -v a="$p50z" -v b="$p50t" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }')
    out="| p50 at c=1: zoom_events / today (ms: $(awk -v a="$p50z" -v b="$p50t" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%.2f / %.2f", a / 1000, b / 1000 }')) |"
    for c in $CONC; do out="$out $v ($(verdict "$v" "<=" 1.05)) |"; done
    echo "$out <= 1.05 (no worse than today, 5% noise margin) |"
    out="| errors (zoom_events, today, spool, health) |"
    for c in $CONC; do
        v=0
        for l in zoom zoom1 spool health; do
            e=$(mget $l "$c" 7); v=$((v + ${e:-0}))
        done
        out="$out $v ($( [ "$v" = 0 ] && echo met || echo '**not met**')) |"
    done
    echo "$out 0 |"
    out="| largest worker RSS, MiB |"
    for c in $CONC; do
        v=0
        for l in zoom zoom1 spool health; do
            e=$(mget $l "$c" 9); [ "${e:-0}" -gt "$v" ] && v=$e
        done
        v=$(awk -v v="$v" 'BEGIN { printf "%.1f", v / 1024 }')
        out="$out $v ($(verdict "$v" "<" 16)) |"
    done
    echo "$out < 16 (after 100k: see the leak check) |"
    echo
    if [ -n "$(awk -F'\t' '$1 ~ /^zoom-w/' "$MED")" ]; then
        echo "## Scaling with the number of workers (database connections)"
        echo
        echo "The service holds one connection per worker; group commit puts the deliveries of a worker's threads into"
        echo "one transaction on it.  db-direct txn with the same number of connections is the per-event ceiling."
        echo
        echo "| workers = connections | c | zoom_events req/s | p99 ms | mean commit batch | db-direct txn req/s, same connections | ratio |"
        echo "|---:|---:|---:|---:|---:|---:|---:|"
        for c in $CONC; do
            for n in $W $EXTRA_W; do
                if [ "$n" = "$W" ]; then zl=zoom; dl=dbw; else zl=zoom-w$n; dl=db-w$n; fi
                [ -n "$(mget $zl "$c" 1)" ] || continue
                printf '| %s | %s | %.0f | %.1f | %s | %s | %s |\n' "$n" "$c" "$(mget $zl "$c" 4)" \
                    "$(awk -v v="$(mget $zl "$c" 6)" 'BEGIN { print v / 1000 }')" "$(mget $zl "$c" 28)" \
                    "$(awk -v v="$(mget $dl "$c" 4)" 'BEGIN { if (v == "") print "n/a"; else printf "%.0f", v }')" \
                    "$(ratio $zl "$c" $dl "$c")"
            done
        done
        echo
    fi
    echo "## CPU per request (where the machine's time goes)"
    echo
    echo "CPU time per request (per row for db-direct) in µs, by component (the run's CPU share divided by its req/s;"
    echo "medians). client is wrk, or db_direct's own processes; other is load on the machine that was not ours."
    echo
    echo "| line | c | mariadbd | workers | nginx | client | ours, total | other | machine busy (% of $M_cores cores) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for c in 1 $CONC; do
        for l in static noop db dbnl dbw ac acw zoom1 zoom zoomt zoomnl zoomnv spool $(for n in $EXTRA_W; do echo db-w$n zoom-w$n; done); do
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
    echo "## What limits zoom_events here"
    echo
    echo "All of it runs on $M_cores cores: mariadbd, nginx, the workers and wrk.  With c requests always in flight the"
    echo "mean latency is c / X (Little's law), and X cannot exceed what the cores can pay for: cores / (CPU µs per"
    echo "request of everything on the path).  The table shows the service's CPU per request by process, the HTTP +"
    echo "FastCGI path alone (fcgi-noop: nginx, a worker that reads the body, wrk), and the rate the cores could pay for"
    echo "at the service's measured CPU per request if nothing else ran (the \`other\` column is what did)."
    echo
    echo "| c | zoom_events req/s | machine busy % | CPU µs / request: zoom_events (db / workers / nginx / wrk) | fcgi-noop CPU µs / request | CPU bound, req/s (cores / our µs) | target 1.0 x db-direct txn, $W conns | mean latency c / X, ms |"
    echo "|---:|---:|---:|---|---:|---:|---:|---:|"
    for c in $CONC; do
        awk -F'\t' -v c="$c" -v nc="$M_cores" -v xdbw="$(mget dbw "$c" 4)" '
        $2 != c { next }
        $1 == "noop" { cn = ($13 + $14 + $15) * 1e4 / $4 }
        $1 == "zoom" { xz = $4; busy = $11 / nc; cz = ($12 + $13 + $14 + $15) * 1e4 / $4
            split($12 " " $13 " " $14 " " $15, p, " ")
            for (i = 1; i <= 4; i++) part[i] = sprintf("%.0f", p[i] * 1e4 / $4) }
        END {
            if (xz > 0)
                printf "| %s | %.0f | %.0f | %.0f (%s / %s / %s / %s) | %s | %.0f | %s | %.1f |\n", c, xz, busy, cz,
                    part[1], part[2], part[3], part[4], (cn > 0 ? sprintf("%.0f", cn) : "n/a"),
                    nc * 1e6 / cz, (xdbw > 0 ? sprintf("%.0f", xdbw) : "n/a"), 1000 * c / xz
        }' "$MED"
    done
    echo
    echo "When the machine is near 100% busy, CPU is the bound: the service cannot go faster than cores / (its CPU per"
    echo "request) however it batches, and that CPU includes nginx's and wrk's share, which fcgi-noop shows alone."
    echo "\`bench/profile.sh\` (below, when run) splits the CPU per process and function."
    echo
    echo "## Database round trips"
    echo
    echo "Deltas of \`SHOW GLOBAL STATUS\` over each run divided by the rows inserted (health: by requests); medians."
    echo "The INSERT / ledger + counter / COMMIT column is db_direct's mean time per row for each part of its transaction."
    echo "Questions counts every statement a client sent (prepared executes included); Com_commit the COMMITs;"
    echo "redo log writes / fsyncs are InnoDB's \`Innodb_log_writes\` / (\`Innodb_os_log_fsyncs\` +"
    echo "\`Innodb_data_fsyncs\`) per event: below 1 means commits shared one write and flush.  An autocommit"
    echo "transaction is not counted in Com_commit."
    echo
    echo "| line | c | statements (Questions) / event | prepared executes / event | COMMITs / event | redo log writes / fsyncs per event | INSERT / ledger + counter / COMMIT, µs per row |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for c in 1 2 $CONC; do
        for l in db dbnl dbw ac acw $(for b in $BATCH_SIZES; do echo b$b; done) zoom1 zoom zoomt zoomnl zoomnv health $(for n in $EXTRA_W; do echo db-w$n zoom-w$n; done); do
            [ -n "$(mget $l "$c" 1)" ] || continue
            awk -F'\t' -v l="$l" -v c="$c" -v name="$(name_of $l)" '$1 == l && $2 == c {
                printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, c, $17, $18, $19, $20,
                    ($24 == "-" ? "-" : sprintf("%.0f / %.0f / %.0f", $24, $25, $26)) }' "$MED"
        done
    done | awk '!seen[$0]++'
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
printf 'line\tc\trun\trps\tp50_us\tp90_us\tp99_us\tnon2xx\tsockerr\trepeated\trss_max_kb\trss_kb\trows\tlogged\twrk2xx\tinflight\tcheck\tbusy\tdb\tworkers\tnginx\tclient\tother\tq_ev\texec_ev\tcommit_ev\tfsync_ev\trequests\twarnings\tinsert_us\tstats_us\tcommit_us\tquiet_wait_s\tbatch_mean\tbatch_hist\tledger\n' >"$TSV"
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

bench_log "work dir $BW; lines: $LINES; c: $CONC; $RUNS x ${SECS}s; $W workers; load $LOAD_BEFORE"
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

# On a shared machine, wait (at most QUIET_WAIT s per run, QUIET_TOTAL s
# per bench) until the load that is not ours is below QUIET_PCT % of one
# core, measured over 1 s while our stack is idle; the run's "other" CPU
# column shows what remained.
QUIET_PCT=${BENCH_QUIET_PCT:-25}
QUIET_WAIT=${BENCH_QUIET_WAIT:-20}
QUIET_TOTAL=${BENCH_QUIET_TOTAL:-300}
[ "$SMOKE" = 1 ] && QUIET_WAIT=0
QUIET_WAITED=0
QUIET_SPENT=0
wait_quiet() {
    local t0 a b busy
    QUIET_WAITED=0
    [ "$QUIET_WAIT" -gt 0 ] && [ "$QUIET_SPENT" -lt "$QUIET_TOTAL" ] || return 0
    t0=$(date +%s)
    while :; do
        a=$(bench_cpu_machine); sleep 1; b=$(bench_cpu_machine)
        busy=$(echo "$a $b" | awk -v n="$(nproc)" '{ t = $4 - $2; if (t > 0) printf "%d", 100 * n * ($3 - $1) / t; else print 0 }')
        QUIET_WAITED=$(( $(date +%s) - t0 ))
        [ "$busy" -le "$QUIET_PCT" ] && break
        [ "$QUIET_WAITED" -ge "$QUIET_WAIT" ] && break
        sleep 1
    done
    QUIET_SPENT=$((QUIET_SPENT + QUIET_WAITED))
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
    [ "$noop" -gt 0 ] || noop=$(max_rps noop 8)
    if [ "$prev" -gt 0 ]; then
        n=$((prev * SECS * 2))
    elif [ "$noop" -gt 0 ]; then
        n=$((noop * SECS * 3 / 2))
    else
        n=$((5000 * SECS))
    fi
    [ "$n" -lt "$MIN_REQS" ] && n=$MIN_REQS
    [ "$n" -gt "$MAX_REQS" ] && n=$MAX_REQS
    echo "$n"
}

# The database's status counters over a run: "q ex cm fs" per divisor.
status_per() {
    awk -v n="$3" 'function per(a) { return n > 0 ? sprintf("%.2f", a / n) : "-" }
        FNR == NR { b[$1] = $2; next } { a[$1] = $2 }
        END {
            printf "%s %s %s %s/%s\n", per(a["Questions"] - b["Questions"]),
                per(a["Com_stmt_execute"] - b["Com_stmt_execute"]), per(a["Com_commit"] - b["Com_commit"]),
                per(a["Innodb_log_writes"] - b["Innodb_log_writes"]),
                per(a["Innodb_os_log_fsyncs"] - b["Innodb_os_log_fsyncs"] + a["Innodb_data_fsyncs"] - b["Innodb_data_fsyncs"])
        }' "$1" "$2"
}

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
    local bm0="- -" bm1="- -" bmean=- bhist=- ledger=- dbargs=""
    tag=$line-c$c-r$r
    raw=$BW/raw/$tag
    RUNSEQ=$((RUNSEQ + 1))
    case $line in
    static) port=$STATIC_PORT; path=/zoom_events/events; prefix=$BW/pool_post ;;
    noop) port=$FCGI_PORT; path=/zoom_events/events; prefix=$BW/pool_post ;;
    hnoop|health) port=$FCGI_PORT; path=/zoom_events/health; prefix=$BW/pool_get ;;
    zoom*|spool)
        port=$FCGI_PORT; path=/zoom_events/events; prefix=$BW/req
        n=$(reqs_for "$line" "$c")
        bench_gen "$prefix" "$n" "$RUNSEQ"
        ;;
    db|db-w*) dbargs="-c $c -m txn" ;;
    dbnl) dbargs="-c $c -m txn -L" ;;
    dbw) dbargs="-c $W -m txn" ;;
    ac) dbargs="-c $c -m autocommit" ;;
    acw) dbargs="-c $W -m autocommit" ;;
    b*) dbargs="-c $c -m batch -b ${line#b}" ;;
    esac
    case $line in db-w*) dbargs="-c ${line#db-w} -m txn" ;; esac
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
    case $line in zoom*) bm0=$(bench_batch_metrics) ;; esac
    m0=$(bench_cpu_machine)
    cd0=$(bench_cpu_pids $db_pid)
    cw0=$(bench_cpu_pids $worker_pids)
    cn0=$(bench_cpu_pids $nginx_pids)
    if [ -n "$dbargs" ]; then
        # shellcheck disable=SC2086
        "$BENCH_BIN/db_direct" $dbargs -d "$SECS" -r "$RUNSEQ" >"$raw" 2>"$raw.err"
    else
        bench_wrk "$port" "$path" "$c" "$SECS" "$prefix" "$raw"
    fi
    m1=$(bench_cpu_machine)
    cd1=$(bench_cpu_pids $db_pid)
    cw1=$(bench_cpu_pids $worker_pids)
    cn1=$(bench_cpu_pids $nginx_pids)
    case $line in
    zoom*|spool|health) settle ;;
    esac
    case $line in
    zoom*)
        bm1=$(bench_batch_metrics)
        read -r bmean bhist <<<"$(bench_batch_delta "$bm0" "$bm1")"
        ;;
    esac

    local KV_rps="" KV_p50_us="" KV_p90_us="" KV_p99_us="" KV_requests="" KV_status=0 KV_connect=0
    local KV_read=0 KV_write=0 KV_timeout=0 KV_repeated=0 KV_wrk_cpu_ms=0 KV_errors=0 KV_cpu_ms=0
    local KV_rss_max_kb=0 KV_rss_kb=- KV_sent=0 KV_inserted=0 KV_ledger=0 KV_insert_us=- KV_stats_us=- KV_commit_us=-
    eval "$(bench_kv_all "$raw")"
    rps=$KV_rps
    if [ -z "$rps" ]; then
        bench_log "$tag: no result"; cat "$raw" "$raw.err" 2>/dev/null | tail -5 >&2
        rps=0
    fi
    p50=$KV_p50_us; p90=$KV_p90_us; p99=$KV_p99_us
    requests=$KV_requests
    if [ -n "$dbargs" ]; then
        non2xx=0
        sockerr=$KV_errors
        repeated=0
        p90=-
        client_ms=$KV_cpu_ms
        rss="$KV_rss_max_kb $KV_rss_kb"
    else
        non2xx=$KV_status
        sockerr=$((KV_connect + KV_read + KV_write + KV_timeout))
        repeated=$KV_repeated
        client_ms=$KV_wrk_cpu_ms
        case $line in
        static) rss=$(bench_rss $(pgrep -P "$(cat "$BW/nginx/nginx.pid")")) ;;
        *) rss=$(bench_rss $worker_pids) ;;
        esac
    fi
    [ -n "$p50" ] || p50=0
    [ -n "$p99" ] || p99=0
    [ -n "$requests" ] || requests=0

    # Did the rows land?
    local counted
    case $line in
    zoom*)
        read -r rows counted ledger <<<"$(bench_sql "SELECT (SELECT COUNT(*) FROM zoom_visit_events),
            (SELECT COALESCE(SUM(inserted), 0) FROM zoom_stats), (SELECT COUNT(*) FROM zoom_deliveries)")"
        logged=$(grep -c 'status=202 .*outcome=inserted' "$ZOOM_EVENTS_LOG")
        wrk2xx=$((requests - non2xx))
        inflight=$((KV_sent - requests))
        want_ledger=$rows
        [ "$line" = zoomnl ] && want_ledger=0
        if [ "$rows" = "$logged" ] && [ "$rows" = "$counted" ] && [ "$ledger" = "$want_ledger" ] && \
            [ "$wrk2xx" -le "$rows" ] && [ "$rows" -le $((wrk2xx + inflight)) ] && \
            [ "$repeated" = 0 ]; then
            check=ok
        else
            check="FAIL(stats=$counted,ledger=$ledger)"
        fi
        ;;
    spool)
        rows=$(cat "$BW"/spool/*.spool 2>/dev/null | grep -a -o -E 'ZESPOOL[12]' | wc -l)
        logged=$(grep -c 'status=202 .*outcome=spooled' "$ZOOM_EVENTS_LOG")
        wrk2xx=$((requests - non2xx))
        inflight=$((KV_sent - requests))
        if [ "$rows" = "$logged" ] && [ "$wrk2xx" -le "$rows" ] && \
            [ "$rows" -le $((wrk2xx + inflight)) ] && [ "$repeated" = 0 ]; then
            check=ok
        else
            check=FAIL
        fi
        ;;
    *)
        if [ -n "$dbargs" ]; then
            read -r rows counted ledger <<<"$(bench_sql "SELECT (SELECT COUNT(*) FROM zoom_visit_events),
                (SELECT COALESCE(SUM(inserted), 0) FROM zoom_stats), (SELECT COUNT(*) FROM zoom_deliveries)")"
            logged=$KV_inserted
            wrk2xx=$requests
            inflight=0
            check=FAIL
            if [ "$rows" = "$logged" ] && [ "$rows" = "$requests" ]; then
                case $line in
                ac|acw) [ "$ledger" = 0 ] && [ "$counted" = 0 ] && check=ok ;;
                dbnl) [ "$ledger" = 0 ] && [ "$counted" = "$rows" ] && check=ok ;;
                *) [ "$ledger" = "$rows" ] && [ "$counted" = "$rows" ] && check=ok ;;
                esac
            fi
        fi
        ;;
    esac
    case $line in
    zoom*|spool|health) warnings=$(grep -c -E 'level=(warn|error)' "$ZOOM_EVENTS_LOG") ;;
    esac

    # Database round trips per event (per request for health).
    if [ "$dbup" = 1 ] && [ "$line" != static ] && [ "$line" != noop ] && [ "$line" != hnoop ]; then
        bench_db_status >"$st1"
        rows_div=$requests
        case $line in health) ;; *) rows_div=$rows ;; esac
        read -r q ex cm fs <<<"$(status_per "$st0" "$st1" "$rows_div")"
        cp "$st0" "$raw.status0"; cp "$st1" "$raw.status1"
    fi

    # CPU, in % of one core over the run.
    local busy db_c w_c n_c cl_c other b0 t0 b1 t1
    read -r b0 t0 <<<"$m0"
    read -r b1 t1 <<<"$m1"
    read -r busy db_c w_c n_c cl_c other <<<"$(awk -v tot=$((t1 - t0)) -v n="$(nproc)" \
        -v b=$((b1 - b0)) -v d=$((cd1 - cd0)) -v w=$((cw1 - cw0)) -v g=$((cn1 - cn0)) \
        -v ms="${client_ms:-0}" -v hz="$CLK_TCK" 'BEGIN {
            core = tot / n
            if (core <= 0) { print "- - - - - -"; exit }
            busy = 100 * b / core; db = 100 * d / core; wk = 100 * w / core; ng = 100 * g / core
            cl = 100 * ms * hz / 1000 / core
            printf "%.0f %.0f %.0f %.0f %.0f %.0f\n", busy, db, wk, ng, cl, busy - db - wk - ng - cl }')"

    local ins=- sta=- com=-
    if [ -n "$dbargs" ]; then
        ins=$KV_insert_us; sta=$KV_stats_us; com=$KV_commit_us
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$line" "$c" "$r" "$rps" "$p50" "$p90" "$p99" "$non2xx" "$sockerr" "$repeated" \
        ${rss% *} "${rss#* }" "$rows" "$logged" "$wrk2xx" "$inflight" "$check" \
        "$busy" "$db_c" "$w_c" "$n_c" "$cl_c" "$other" "$q" "$ex" "$cm" "$fs" "$requests" \
        "$warnings" "${ins:--}" "${sta:--}" "${com:--}" "$QUIET_WAITED" "$bmean" "$bhist" "$ledger" >>"$TSV"
    bench_log "$(printf '%-6s c=%-3s run %s: %8.0f req/s  p50 %6.2f ms  p99 %7.2f ms  errors %s/%s  rows %s %s  batch %s  cpu %s%% (db %s, workers %s, nginx %s, client %s, other %s)' \
        "$line" "$c" "$r" "$rps" "$(awk -v v="$p50" 'BEGIN{print v/1000}')" \
        "$(awk -v v="$p99" 'BEGIN{print v/1000}')" "$non2xx" "$sockerr" "$rows" "$check" "$bmean" \
        "$busy" "$db_c" "$w_c" "$n_c" "$cl_c" "$other")"
}

# A short unmeasured run so that connections, statements and caches are
# warm before the first measured one (not in smoke mode: a second there
# means nothing anyway).
warm_up() {
    local kind=$1
    [ "$SMOKE" = 1 ] && return 0
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

# zoom_events workers, today's path (1 thread, batch_max 1) or defaults.
start_zoom() {
    local kind=$1 n=$2
    if [ "$kind" = today ]; then
        ZOOM_EVENTS_THREADS=1 ZOOM_EVENTS_BATCH_MAX=1 bench_workers_start zoom "$n"
    elif [ "$kind" = tuned ]; then
        # shellcheck disable=SC2086
        (export $TUNED_ENV; bench_workers_start zoom "$n") || exit 1
    else
        bench_workers_start zoom "$n"
    fi
    warm_up zoom
}

# The schema changes of the cost lines, and back (workers stopped: their
# prepared statements are made again on the next start).
cost_schema() {
    case $1 in
    ledger-off)
        bench_sql "INSTALL SONAME 'ha_blackhole'" 2>/dev/null
        bench_sql "ALTER TABLE zoom_deliveries ENGINE=BLACKHOLE" || {
            bench_log "no BLACKHOLE engine: line zoomnl skipped"; return 1; }
        ;;
    ledger-on) bench_sql "ALTER TABLE zoom_deliveries ENGINE=InnoDB" ;;
    visit-off) bench_sql "ALTER TABLE zoom_visit_events DROP KEY idx_visit, DROP KEY idx_created" ;;
    visit-on) bench_sql "ALTER TABLE zoom_visit_events ADD KEY idx_visit (visit_uuid, event_ts),
        ADD KEY idx_created (created_at)" ;;
    esac
}

# ---- rounds ----

# Each round measures the ceilings right next to the service (minutes
# apart at most), then the spool lines with the database killed.
LATC=""
has_line lat && LATC=1
db_is_up=1
for r in $(seq 1 "$RUNS"); do
    bench_log "round $r of $RUNS"
    if [ "$db_is_up" = 0 ]; then
        find "$BW/spool" -maxdepth 1 \( -name '*.spool' -o -name '*.draining' \
            -o -name '*.off' \) -delete
        bench_db_start
        db_is_up=1
    fi
    if has_line static || has_line noop || has_line hnoop; then
        bench_workers_start noop "$W"
        warm_up noop
        for c in $CONC; do
            for l in static noop hnoop; do
                has_line $l && run_line $l "$c" "$r"
            done
        done
    fi
    ze_workers_stop "$BW"
    for c in $CONC; do
        for l in db dbw ac acw; do
            has_line $l && run_line $l "$c" "$r"
        done
    done
    if has_line batch; then
        for b in $BATCH_SIZES; do
            for c in $BATCH_CONNS; do run_line "b$b" "$c" "$r"; done
        done
        for p in $BATCH_EXTRA; do
            run_line "b${p%%:*}" "${p#*:}" "$r"
        done
    fi
    if has_line zoom1; then
        start_zoom today "$W"
        for c in $LATC $CONC; do run_line zoom1 "$c" "$r"; done
    fi
    if has_line zoom || has_line health; then
        start_zoom default "$W"
        for c in $LATC $CONC; do
            has_line zoom && run_line zoom "$c" "$r"
        done
        for c in $CONC; do
            has_line health && run_line health "$c" "$r"
        done
    fi
    if has_line cost; then
        ze_workers_stop "$BW"
        for c in $CONC; do run_line dbnl "$c" "$r"; done
        if cost_schema ledger-off; then
            start_zoom default "$W"
            for c in $CONC; do run_line zoomnl "$c" "$r"; done
            ze_workers_stop "$BW"
            cost_schema ledger-on
        fi
        cost_schema visit-off
        start_zoom default "$W"
        for c in $CONC; do run_line zoomnv "$c" "$r"; done
        ze_workers_stop "$BW"
        cost_schema visit-on
    fi
    if has_line tuned; then
        start_zoom tuned "$W"
        for c in $LATC $CONC; do run_line zoomt "$c" "$r"; done
    fi
    if has_line scale; then
        for n in $EXTRA_W; do
            ze_workers_stop "$BW"
            for c in $CONC; do run_line "db-w$n" "$c" "$r"; done
            start_zoom default "$n"
            for c in $CONC; do run_line "zoom-w$n" "$c" "$r"; done
        done
    fi
    if has_line spool; then
        start_zoom default "$W"
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
    BENCH_DB_OPTS QUIET_WAIT QUIET_PCT BATCH_SIZES BATCH_CONNS BATCH_EXTRA LOAD_BEFORE TUNED_ENV >"$FRAG/meta$SFX.env"
render_report

if [ "$EXTRAS" = 1 ]; then
    bench_log "leak and RSS check (bench/leak.sh)"
    "$BENCH_SRC/leak.sh" --out "$FRAG/leak.md" || bench_log "leak.sh failed"
    if [ -x "$ZE_ROOT/build/tsan/zoom_events" ]; then
        bench_log "ThreadSanitizer check (bench/tsan.sh)"
        "$BENCH_SRC/tsan.sh" --out "$FRAG/tsan.md" || bench_log "tsan.sh failed"
    fi
    bench_log "profile (bench/profile.sh)"
    "$BENCH_SRC/profile.sh" --out "$FRAG/profile.md" || bench_log "profile.sh failed"
fi
assemble
cat "$OUT"
