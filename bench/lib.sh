# shellcheck shell=bash
# bench/lib.sh -- the benchmark's stack and measuring helpers, shared by
# bench/run.sh, bench/leak.sh and bench/profile.sh.  Source it from bash.
#
# Everything lives in one temporary directory ($BW): a private MariaDB
# (durable settings), spawn-fcgi workers (the service, or the no-op
# responder) on $BW/fcgi.sock, and nginx on two loopback ports: one with
# the shipped FastCGI locations (minus limit_req), one answering 202
# itself.  bench_cleanup stops exactly the processes started here.

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZE_ROOT=${ZE_ROOT:-$(cd "$BENCH_SRC/.." && pwd)}
export ZE_ROOT
# shellcheck source=../tests/lib/mariadb.sh
. "$ZE_ROOT/tests/lib/mariadb.sh"
# shellcheck source=../tests/lib/stack.sh
. "$ZE_ROOT/tests/lib/stack.sh"

BENCH_BIN=${BENCH_BIN:-$ZE_ROOT/build/release/bench}
BENCH_SERVICE=${BENCH_SERVICE:-$ZE_ROOT/zoom_events}
BENCH_WORKERS=${BENCH_WORKERS:-4}
BENCH_WRK_THREADS=${BENCH_WRK_THREADS:-1}
# Durable: every commit is flushed to the redo log (group commit still
# shares one fsync among concurrent commits); no binary log, so
# sync_binlog has nothing to sync (recorded anyway).  The buffer pool only
# has to hold one run's rows.
BENCH_DB_OPTS=${BENCH_DB_OPTS:---innodb-flush-log-at-trx-commit=1 --sync-binlog=1 --skip-log-bin --innodb-doublewrite=1 --innodb-buffer-pool-size=256M}
BENCH_DB_NAME=zoom_bench
BENCH_SECRET=${BENCH_SECRET:-bench-secret-$RANDOM$RANDOM}
CLK_TCK=$(getconf CLK_TCK)
export CLK_TCK

bench_log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

# Tools and binaries, with the command that provides each.
# bench_out_arg NAME DEFAULT ARGS...: the scripts' one option, --out FILE;
# sets OUT (DEFAULT when absent) and creates its directory.
bench_out_arg() {
    local name=$1
    OUT=$2
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
        --out) OUT=$2; shift ;;
        *) echo "usage: bench/$name [--out FILE]" >&2; exit 2 ;;
        esac
        shift
    done
    mkdir -p "$(dirname "$OUT")"
}

bench_check_tools() {
    local t
    for t in wrk nginx spawn-fcgi mariadbd mariadb-install-db curl "$@"; do
        command -v "$t" >/dev/null || bench_die "$t not found: run tests/deps.sh"
    done
    for t in gen_requests fcgi_noop db_direct; do
        [ -x "$BENCH_BIN/$t" ] || bench_die "$BENCH_BIN/$t missing: run make bench-build"
    done
    [ -x "$BENCH_SERVICE" ] || bench_die "$BENCH_SERVICE missing: run make"
}

# The work directory, removed on exit unless BENCH_KEEP=1.  Same disk as
# the database's data: the spool's fsyncs are measured on the same device.
bench_setup_dir() {
    BW=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/zoom-bench.XXXXXX")
    export BW
    mkdir -p "$BW/raw" "$BW/spool"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    # The service's environment: only what is set here.
    local v
    for v in $(env | sed -n 's/^\(ZOOM_EVENTS_[A-Z_]*\)=.*/\1/p'); do
        unset "$v"
    done
    export ZOOM_EVENTS_CONFIG=/dev/null
    export ZOOM_EVENTS_DB_SOCKET=$BW/db/mysqld.sock
    export ZOOM_EVENTS_DB_USER=root
    export ZOOM_EVENTS_DB_NAME=$BENCH_DB_NAME
    export ZOOM_EVENTS_WEBHOOK_SECRET=$BENCH_SECRET
    export ZOOM_EVENTS_SPOOL_DIR=$BW/spool
    export ZOOM_EVENTS_LOG=$BW/zoom_events.log
    export ZOOM_EVENTS_INSTANCE=bench
}

bench_cleanup() {
    local rc=$?
    trap - EXIT
    [ -n "${BW:-}" ] || exit "$rc"
    ze_nginx_stop "$BW" 2>/dev/null
    ze_workers_stop "$BW" 2>/dev/null
    ze_db_stop "$BW/db" 2>/dev/null
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        bench_log "kept $BW"
    else
        rm -rf "$BW"
    fi
    exit "$rc"
}

# ---- the stack ----

bench_db_start() {
    ZE_DB_OPTS="$BENCH_DB_OPTS" ze_db_start "$BW/db" || bench_die "mariadbd did not start"
}

bench_db_create() {
    ze_db_create "$BW/db" "$BENCH_DB_NAME" || bench_die "cannot create the database"
}

bench_sql() {
    ze_db_sql "$BW/db" -N -B "$BENCH_DB_NAME" -e "$1"
}

bench_truncate() {
    bench_sql "TRUNCATE TABLE zoom_visit_events; TRUNCATE TABLE zoom_stats;
        TRUNCATE TABLE zoom_rejected_events; TRUNCATE TABLE zoom_deliveries"
}

# The server settings that decide durability and speed, as "name=value".
bench_db_settings() {
    ze_db_sql "$BW/db" -N -B -e "SHOW GLOBAL VARIABLES WHERE Variable_name IN
        ('version', 'innodb_flush_log_at_trx_commit', 'sync_binlog', 'log_bin',
         'innodb_doublewrite', 'innodb_flush_method', 'innodb_buffer_pool_size',
         'innodb_log_file_size', 'innodb_io_capacity', 'max_connections',
         'thread_handling', 'innodb_flush_log_at_timeout',
         'innodb_log_file_buffering')" |
        awk -F'\t' '{printf "%s=%s\n", $1, $2}'
}

# Global status counters of interest, as "name value" lines.
bench_db_status() {
    ze_db_sql "$BW/db" -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN
        ('Questions', 'Com_stmt_execute', 'Com_stmt_prepare', 'Com_commit',
         'Com_rollback', 'Com_insert', 'Com_select', 'Com_set_option',
         'Com_show_status', 'Com_show_variables', 'Connections',
         'Innodb_os_log_fsyncs', 'Innodb_data_fsyncs', 'Innodb_log_writes')" 2>/dev/null
}

# Workers of KIND (zoom, noop, asan, tsan) on $BW/fcgi.sock; extra args go
# before the binary (a wrapper such as valgrind).
bench_workers_start() {
    local kind=$1 n=$2 bin
    shift 2
    case $kind in
    zoom) bin=$BENCH_SERVICE ;;
    asan) bin=$ZE_ROOT/build/asan/zoom_events ;;
    tsan) bin=$ZE_ROOT/build/tsan/zoom_events ;;
    noop) bin=$BENCH_BIN/fcgi_noop ;;
    *) bench_die "unknown worker kind $kind" ;;
    esac
    ze_workers_stop "$BW"
    if [ $# -gt 0 ]; then
        ZE_BIN=$1 ze_workers_start "$BW" "$n" "${@:2}" "$bin" || bench_die "workers did not start"
    else
        ZE_BIN=$bin ze_workers_start "$BW" "$n" || bench_die "workers did not start"
    fi
}

# nginx: $FCGI_PORT passes /zoom_events/{events,health} to the workers
# with the shipped locations file (limit_req removed: 50 r/s per client
# would make this a benchmark of the rate limit); $STATIC_PORT answers
# every request with 202 itself.
bench_nginx_start() {
    local d=$BW/nginx user=""
    mkdir -p "$d/tmp"
    FCGI_PORT=$(ze_free_port)
    STATIC_PORT=$(ze_free_port "$FCGI_PORT")
    export FCGI_PORT STATIC_PORT
    sed -e '/limit_req/d' "$ZE_ROOT/deploy/nginx/zoom_events_locations.conf" \
        >"$d/locations.conf"
    cp /etc/nginx/fastcgi_params "$d/"
    [ "$(id -u)" = 0 ] && user="user root;"
    sed -e "s#@DIR@#$d#g" -e "s#@SOCK@#$BW/fcgi.sock#g" -e "s#@USER@#$user#" \
        -e "s#@FCGI_PORT@#$FCGI_PORT#g" -e "s#@STATIC_PORT@#$STATIC_PORT#g" \
        "$BENCH_SRC/nginx.conf" >"$d/nginx.conf"
    nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" 2>>"$d/error.log" ||
        { cat "$d/error.log" >&2; bench_die "nginx did not start"; }
    ze_wait_socket "$FCGI_PORT" && ze_wait_socket "$STATIC_PORT" ||
        bench_die "nginx does not listen"
}

bench_nginx_pids() {
    local m
    m=$(cat "$BW/nginx/nginx.pid" 2>/dev/null) || return 0
    echo "$m"
    pgrep -P "$m"
}

# ---- load ----

# bench_gen PREFIX COUNT RUN [POST|GET [event|badsig|ignored [PATH]]]:
# signed requests for wrk (PREFIX.i).
bench_gen() {
    local prefix=$1 count=$2 run=$3 method=${4:-POST} kind=${5:-event} path=${6:-}
    rm -f "$prefix".*
    "$BENCH_BIN/gen_requests" -n "$count" -T "$BENCH_WRK_THREADS" -o "$prefix" \
        -r "$run" -m "$method" -k "$kind" ${path:+-u "$path"} ||
        bench_die "gen_requests failed"
}

# bench_wrk PORT PATH CONC SECS PREFIX OUT [STOP_AFTER]: one bounded wrk
# run; its output, and the CPU it used ("wrk_cpu_ms=N"), go to OUT.
bench_wrk() {
    local port=$1 path=$2 conc=$3 secs=$4 prefix=$5 out=$6 stop=${7:-}
    local threads=$BENCH_WRK_THREADS
    [ "$threads" -le "$conc" ] || threads=$conc
    rm -f "$prefix".stopped.*
    (
        wrk -t "$threads" -c "$conc" -d "${secs}s" --timeout 5s --latency \
            -s "$BENCH_SRC/wrk.lua" "http://127.0.0.1:$port$path" -- "$prefix" \
            ${stop:+"$stop" "$threads"} >"$out" 2>&1
        # The CPU wrk used: this subshell's children's times (no pipe:
        # a forked "times" would see no children).
        times >"$out.times"
    )
    awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/);
        printf "wrk_cpu_ms=%d\n", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 }' \
        "$out.times" >>"$out"
    rm -f "$out.times"
}

# Every "key=value" of the BENCH line (and wrk_cpu_ms) of a file as
# shell assignments "KV_key=value", for eval: one process instead of one
# per key (forks are what a loaded machine makes slow).
bench_kv_all() {
    awk '/^BENCH / || /^wrk_cpu_ms=/ {
        for (i = 1; i <= NF; i++) {
            if (split($i, a, "=") != 2 || a[1] !~ /^[a-z0-9_]+$/) continue
            if (a[2] !~ /^[0-9.,]*$/) continue
            printf "KV_%s=%s\n", a[1], a[2]
        }
    }' "$1"
}

# The commit batch histogram of /zoom_events/metrics (this host's
# workers): "COUNT SUM le:cumulative ...", or "- -" without an answer.
bench_batch_metrics() {
    curl -s --max-time 5 "http://127.0.0.1:$FCGI_PORT/zoom_events/metrics" |
        awk '/^zoom_events_commit_batch_size_bucket/ {
                match($0, /le="[^"]*"/); b = b " " substr($0, RSTART + 4, RLENGTH - 5) ":" $NF }
            /^zoom_events_commit_batch_size_sum/ { s = $NF }
            /^zoom_events_commit_batch_size_count/ { c = $NF }
            END { if (c == "") print "- -"; else print c, s b }'
}

# The difference of two bench_batch_metrics: "MEAN HIST", HIST being
# "size:commits/..." for the non-empty buckets (size = the bucket's upper
# bound), or "- -".
bench_batch_delta() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        na = split(a, x, " "); nb = split(b, y, " ")
        if (x[1] == "-" || y[1] == "-" || y[1] - x[1] <= 0) { print "- -"; exit }
        mean = (y[2] - x[2]) / (y[1] - x[1]); prev = 0; h = ""
        for (i = 3; i <= nb; i++) {
            split(y[i], q, ":"); split(x[i], p, ":")
            d = q[2] - p[2]
            if (d - prev > 0) h = h (h == "" ? "" : "/") q[1] ":" d - prev
            prev = d
        }
        printf "%.2f %s\n", mean, (h == "" ? "-" : h)
    }'
}

# The stack of leak.sh, tsan.sh and profile.sh: tools checked, a work
# directory, the private MariaDB with the schema, nginx; STARTED is the
# time for the report, and the counters of bench_send start at 0.
bench_stack_up() {
    bench_check_tools
    bench_setup_dir
    bench_db_start
    bench_db_create
    bench_nginx_start
    STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
    SENT_OK=0
    SENT_BAD=0
    UNEXPECTED=0
}

# bench_send KIND COUNT [CONC]: COUNT requests of KIND (event, badsig,
# ignored, health, metrics), count-bounded (at most BENCH_SEND_MAXSECS,
# 600 s), through nginx at CONC (default $CONC).  Adds to SENT_OK,
# SENT_BAD (401s, as a wrong signature must get) and UNEXPECTED (any
# other answer, socket errors); SEQ numbers the generated batches.  Used
# by leak.sh and tsan.sh.
bench_send() {
    local kind=$1 n=$2 c=${3:-$CONC} method=POST path=/zoom_events/events gk=$1 raw
    local got non2xx sock t=$BENCH_WRK_THREADS
    case $kind in
    health) method=GET; path=/zoom_events/health; gk=event ;;
    metrics) method=GET; path=/zoom_events/metrics; gk=event ;;
    esac
    SEQ=$((SEQ + 1))
    raw=$BW/raw/send-$SEQ-$kind
    bench_gen "$BW/send" $((n + c + 100)) "$SEQ" "$method" "$gk" "$path"
    bench_wrk "$FCGI_PORT" "$path" "$c" "${BENCH_SEND_MAXSECS:-600}" "$BW/send" "$raw" \
        $(((n + t - 1) / t))
    got=$(bench_kv "$raw" requests)
    non2xx=$(bench_kv "$raw" status)
    sock=$(( $(bench_kv "$raw" connect) + $(bench_kv "$raw" read) + \
        $(bench_kv "$raw" write) + $(bench_kv "$raw" timeout) ))
    if [ "$kind" = badsig ]; then
        SENT_BAD=$((SENT_BAD + got))
        # Every one must be a 401 (a status error for wrk).
        [ "$non2xx" = "$got" ] || UNEXPECTED=$((UNEXPECTED + got - non2xx))
    else
        SENT_OK=$((SENT_OK + got))
        UNEXPECTED=$((UNEXPECTED + non2xx))
    fi
    UNEXPECTED=$((UNEXPECTED + sock))
}

# The spool_pending of GET /zoom_events/health.
bench_spool_pending() {
    curl -s --max-time 5 "http://127.0.0.1:$FCGI_PORT/zoom_events/health" |
        sed -n 's/.*"spool_pending":\([0-9]*\).*/\1/p'
}

# bench_spool_cycle N [CONC]: the database down for N events (spooled), then
# back and drained.  Sets SPOOLED (records in the spool files), REPLAYED
# (rows added by the drain) and SPOOL_NOTE (both, in words).  leak.sh and
# tsan.sh.
bench_spool_cycle() {
    local n=$1 c=${2:-$CONC} before after spooled
    before=$(bench_sql "SELECT COUNT(*) FROM zoom_visit_events")
    ze_db_kill "$BW/db"
    bench_send event "$n" "$c"
    spooled=$(cat "$BW"/spool/*.spool 2>/dev/null | grep -a -o -E 'ZESPOOL[12]' | wc -l)
    bench_db_start
    # Any request (here: health) lets a worker drain; each pass replays 500
    # records, so keep asking until the spool is empty (at most ~2 min).
    for _ in $(seq 1 240); do
        [ "$(bench_spool_pending)" = 0 ] && break
        sleep 0.5
    done
    after=$(bench_sql "SELECT COUNT(*) FROM zoom_visit_events")
    SPOOLED=$spooled
    REPLAYED=$((after - before))
    SPOOL_NOTE="$spooled events spooled with the database killed, $((after - before)) rows replayed after restart, spool_pending $(bench_spool_pending)"
}

# "key=value" from the BENCH line of a file.
bench_kv() {
    awk -v k="$2" '/^BENCH / || /^wrk_cpu_ms=/ {
        for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) v = a[2] }
    } END { print (v == "" ? "" : v) }' "$1"
}

# ---- measuring ----

# Busy and total jiffies of the whole machine.
bench_cpu_machine() {
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i;
        print t - $5 - $6, t }' /proc/stat
}

# utime + stime (jiffies) summed over pids (dead ones count 0).
bench_cpu_pids() {
    local p s t=0
    for p in "$@"; do
        { read -r s <"/proc/$p/stat"; } 2>/dev/null || continue
        s=${s##*) }
        # Fields after "comm)": state is 1, utime 12, stime 13.
        set -- $s
        t=$((t + ${12} + ${13}))
    done
    echo "$t"
}

# Max and list of VmRSS (KiB) of pids: "MAX a,b,c".
bench_rss() {
    local p r max=0 list=""
    for p in "$@"; do
        r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
        [ -n "$r" ] || continue
        [ "$r" -gt "$max" ] && max=$r
        list="$list${list:+,}$r"
    done
    echo "$max ${list:--}"
}

bench_db_pid() {
    ze_db_pid "$BW/db"
}

# Machine facts for the report.
bench_machine() {
    local model cores
    model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    cores=$(nproc)
    echo "cores=$cores"
    echo "cpu=$model"
    echo "mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "disk=$(df -PT "$BW" | awk 'NR == 2 { print $1 " (" $2 ")" }')"
    echo "mariadbd=$(mariadbd --version | sed 's/^mariadbd *Ver *//')"
    echo "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: nginx.//')"
    echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{ print $2 }')"
    echo "gcc=$(gcc --version | head -1)"
    echo "spawn_fcgi=$(spawn-fcgi -v 2>&1 | head -1)"
    echo "libfcgi=$(dpkg-query -W -f='${Version}' libfcgi-bin 2>/dev/null || echo '?')"
    echo "libmariadb=$(dpkg-query -W -f='${Version}' libmariadb3 2>/dev/null || echo '?')"
    echo "service=$("$BENCH_SERVICE" --version 2>/dev/null) ($(git -C "$ZE_ROOT" describe --always --dirty 2>/dev/null || echo 'no git'))"
}
