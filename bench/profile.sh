#!/usr/bin/env bash
# bench/profile.sh -- where the time goes under load.
#
#   bench/profile.sh [--out FILE]          (default bench/out/profile.md)
#
# 1. perf, system-wide, while wrk drives zoom_events at c=64: the CPU
#    share of each process (workers, mariadbd, nginx, wrk, everything else
#    on the machine) and the hottest functions inside the workers.  Uses
#    the cpu-clock software event: hardware counters are often missing in
#    VMs (`perf stat -e instructions true` says <not supported> here).
# 2. strace -c on one worker for a fixed number of requests: system calls
#    per request, for events (DB up), events with the DB down (spool),
#    health, and bench/fcgi_noop for comparison.
# 3. callgrind on one worker for a fixed number of events: instructions
#    per request, by function (inclusive).
#
# Knobs: BENCH_PROF_SECS (10), BENCH_PROF_CONC (64), BENCH_STRACE_REQS
# (2000), BENCH_CALLGRIND_REQS (2000), BENCH_WORKERS (4).
set -u

. "$(dirname "$0")/lib.sh"

bench_out_arg profile.sh "$ZE_ROOT/bench/out/profile.md" "$@"

SECS=${BENCH_PROF_SECS:-10}
CONC=${BENCH_PROF_CONC:-64}
SREQS=${BENCH_STRACE_REQS:-2000}
CREQS=${BENCH_CALLGRIND_REQS:-2000}
W=$BENCH_WORKERS
T=$BENCH_WRK_THREADS
SEQ=200000

bench_stack_up
FR=$BW/fragment.md
: >"$FR"
say() { printf '%s\n' "$*" >>"$FR"; }

# Count-bounded requests of KIND (event, health) with c connections.
send() {
    local kind=$1 n=$2 c=$3 method=POST path=/zoom_events/events
    [ "$kind" = health ] && { method=GET; path=/zoom_events/health; }
    SEQ=$((SEQ + 1))
    bench_gen "$BW/pr" $((n + c + 100)) "$SEQ" "$method" event "$path"
    bench_wrk "$FCGI_PORT" "$path" "$c" 300 "$BW/pr" "$BW/raw/send-$SEQ" $(((n + T - 1) / T))
}

# ---- 1. perf ----

say "## Profile"
say
say "\`bench/profile.sh\`, $STARTED, same machine."
say
if perf record -e cpu-clock -o "$BW/perf.test" -- true >/dev/null 2>&1; then
    bench_log "perf: c=$CONC for ${SECS}s"
    bench_workers_start zoom "$W"
    bench_gen "$BW/load" $((SECS * 8000)) $((SEQ + 1))
    bench_wrk "$FCGI_PORT" /zoom_events/events 8 1 "$BW/load" "$BW/raw/warm"
    bench_gen "$BW/load" $((SECS * 8000)) $((SEQ + 2))
    bench_truncate
    bench_wrk "$FCGI_PORT" /zoom_events/events "$CONC" "$SECS" "$BW/load" "$BW/raw/perf-wrk" &
    wrkpid=$!
    sleep 1
    wpids=$(ze_workers_pids "$BW" | paste -sd, -)
    dpid=$(bench_db_pid)
    npids=$(bench_nginx_pids | paste -sd, -)
    # System-wide for the shares; our processes only for their functions
    # (perf report's --pid filter is unreliable with --sort dso here).
    perf record -e cpu-clock -F 999 -p "$wpids,$dpid" -o "$BW/perf-ours.data" \
        -- sleep $((SECS - 2)) >"$BW/perf-ours.log" 2>&1 &
    perf record -e cpu-clock -F 999 -a -o "$BW/perf.data" -- sleep $((SECS - 2)) \
        >"$BW/perf.log" 2>&1
    wait "$wrkpid"
    wait
    # mariadbd's and the workers' threads (perf reports thread ids; each
    # worker runs its request threads).
    dtids=$(ls "/proc/$dpid/task" | paste -sd, -)
    wtids=$(for p in ${wpids//,/ }; do ls "/proc/$p/task"; done | paste -sd, -)
    ze_workers_stop "$BW"
    say "### CPU by process under load (perf, cpu-clock, all CPUs, zoom_events at c=$CONC, $W workers)"
    say
    say "zoom_events did $(bench_kv "$BW/raw/perf-wrk" rps) req/s during this run (p99 $(awk -v v="$(bench_kv "$BW/raw/perf-wrk" p99_us)" 'BEGIN { printf "%.1f", v / 1000 }') ms)."
    say "Share of all samples on both CPUs, by process (ours by pid; \`other\` is load that was not ours):"
    say
    say "| process | % of both CPUs |"
    say "|---|---:|"
    perf report -i "$BW/perf.data" --no-children --sort pid --stdio 2>/dev/null |
        awk -v w=",$wtids," -v nw="$W" -v d=",$dtids," -v n=",$npids," '
        $1 ~ /%$/ {
            p = $1; sub(/%/, "", p); split($2, a, ":"); pid = a[1]; comm = a[2]
            if (index(w, "," pid ",")) g = "zoom_events workers (" nw ")"
            else if (index(d, "," pid ",")) g = "mariadbd"
            else if (index(n, "," pid ",")) g = "nginx"
            else if (comm == "wrk") g = "wrk"
            else if (pid == 0) g = "idle"
            else { g = "other"; if (p + 0 >= 1) top[comm " (pid " pid ")"] += p }
            sum[g] += p
        }
        END {
            for (g in sum) {
                extra = ""
                if (g == "other") for (t in top) extra = extra (extra == "" ? ": " : ", ") t " " sprintf("%.0f%%", top[t])
                printf "| %s%s | %.1f |\n", g, extra, sum[g]
            }
        }' | sort -t'|' -k3 -gr >>"$FR"
    say
    say "Hottest functions in our zoom_events workers (flat, % of the workers' samples):"
    say
    say '```'
    perf report -i "$BW/perf-ours.data" --no-children --comms zoom_events --sort dso,sym \
        --percentage relative --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -30 >>"$FR"
    say '```'
    say
    say "The workers' samples by library:"
    say
    say '```'
    # Summed from the full dso,sym listing (--sort dso alone drops some
    # objects in this perf version).
    perf report -i "$BW/perf-ours.data" --no-children --comms zoom_events --sort dso,sym \
        --percentage relative --stdio 2>/dev/null | awk '$1 ~ /%$/ {
            p = $1; sub(/%/, "", p); d[$2] += p }
        END { for (k in d) printf "%8.2f%%  %s\n", d[k], k }' | sort -gr | head -12 >>"$FR"
    say '```'
    say
    say "Hottest functions in mariadbd (flat, % of its samples):"
    say
    say '```'
    perf report -i "$BW/perf-ours.data" --no-children --comms mariadbd --sort dso,sym \
        --percentage relative --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15 >>"$FR"
    say '```'
    say
else
    say "perf cannot sample here (perf record -e cpu-clock failed); skipped."
    say
fi

# ---- 2. strace -c ----

# strace_one LABEL KIND N [noop|spool]: one worker, N requests, syscalls.
strace_one() {
    local label=$1 kind=$2 n=$3 mode=${4:-} pid served
    if [ "$mode" = noop ]; then
        bench_workers_start noop 1
    else
        bench_workers_start zoom 1
    fi
    pid=$(ze_workers_pids "$BW")
    send "$kind" 200 4     # warm: connection, statements, caches
    [ "$mode" = spool ] && ze_db_kill "$BW/db"
    : >"$ZOOM_EVENTS_LOG"
    strace -c -f -p "$pid" -o "$BW/strace.$label" 2>/dev/null &
    local spid=$!
    sleep 1
    send "$kind" "$n" 4
    sleep 0.5
    kill -INT "$spid"
    wait "$spid" 2>/dev/null
    if [ "$mode" = noop ]; then
        served=$(bench_kv "$(ls -t "$BW"/raw/send-* | head -1)" requests)
    else
        served=$(grep -c "pid=$pid " "$ZOOM_EVENTS_LOG")
    fi
    ze_workers_stop "$BW"
    [ "$mode" = spool ] && bench_db_start
    echo "$served" >"$BW/strace.$label.n"
}

if command -v strace >/dev/null; then
    bench_log "strace: $SREQS requests per case on one worker"
    strace_one events event "$SREQS"
    strace_one spool event "$SREQS" spool
    strace_one health health "$SREQS"
    strace_one noop event "$SREQS" noop
    say "### System calls per request (strace -c -f on one worker, $SREQS requests, c=4)"
    say
    say "| syscall | events (DB up) | events (DB down: spool) | health | fcgi_noop |"
    say "|---|---:|---:|---:|---:|"
    awk '
    FNR == 1 { f++; n[f] = 0 }
    FILENAME ~ /\.n$/ { reqs[f] = $1; next }
    $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
        c[$NF, f] = $4; names[$NF] = 1
    }
    END {
        # files come as pairs: strace.X then strace.X.n
        for (name in names) {
            line = "| " name " |"; any = 0
            for (k = 1; k <= 4; k++) {
                d = 2 * k - 1; r = reqs[2 * k]
                v = (c[name, d] != "" && r > 0) ? sprintf("%.2f", c[name, d] / r) : "-"
                if (v != "-" && v + 0 >= 0.01) any = 1
                line = line " " v " |"
            }
            if (any) print line
        }
    }' "$BW/strace.events" "$BW/strace.events.n" "$BW/strace.spool" "$BW/strace.spool.n" \
        "$BW/strace.health" "$BW/strace.health.n" "$BW/strace.noop" "$BW/strace.noop.n" |
        sort -t'|' -k3 -gr >>"$FR"
    tot() { awk '$NF == "total" { print $4 }' "$BW/strace.$1"; }
    line="| **total** |"
    for l in events spool health noop; do
        line="$line $(awk -v a="$(tot $l)" -v b="$(cat "$BW/strace.$l.n")" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }') |"
    done
    say "$line"
    say
    say "Requests counted: events $(cat "$BW/strace.events.n"), spool $(cat "$BW/strace.spool.n"), health $(cat "$BW/strace.health.n"), noop $(cat "$BW/strace.noop.n") (the service's log lines of that worker; wrk's count for fcgi_noop)."
    say
    cp "$BW"/strace.* "$ZE_ROOT/bench/out/" 2>/dev/null
fi

# ---- 3. callgrind ----

if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
    bench_log "callgrind: $CREQS events on one worker"
    bench_truncate
    ze_workers_stop "$BW"
    rm -f "$BW/fcgi.sock"
    spawn-fcgi -s "$BW/fcgi.sock" -F 1 -P "$BW/workers.pid" -- \
        "$(command -v valgrind)" --tool=callgrind --callgrind-out-file="$BW/callgrind.out" \
        "$BENCH_SERVICE" >/dev/null || bench_log "spawn-fcgi could not start callgrind"
    cgpid=$(ze_workers_pids "$BW")
    for _ in $(seq 1 120); do
        ze_alive "$cgpid" || break
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
            "http://127.0.0.1:$FCGI_PORT/zoom_events/health")" = 200 ] && break
        sleep 0.5
    done
    : >"$ZOOM_EVENTS_LOG"
    send event "$CREQS" 2
    served=$(grep -c 'route=events status=202' "$ZOOM_EVENTS_LOG")
    kill -TERM "$cgpid" 2>/dev/null
    for _ in $(seq 1 240); do
        ze_alive "$cgpid" || break
        sleep 0.5
    done
    rm -f "$BW/workers.pid"
    if [ -s "$BW/callgrind.out" ]; then
        callgrind_annotate --inclusive=yes "$BW/callgrind.out" >"$BW/cg.incl" 2>/dev/null
        callgrind_annotate "$BW/callgrind.out" >"$BW/cg.excl" 2>/dev/null
        cp "$BW/callgrind.out" "$ZE_ROOT/bench/out/callgrind.out"
        total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$BW/cg.excl")
        say "### Instructions per request (callgrind, one worker, $served events, c=2)"
        say
        say "Whole process: $total instructions, $(awk -v t="$total" -v n="$served" 'BEGIN { if (n > 0) printf "%.0f", t / n }') per event (start-up included)."
        say "valgrind runs OpenSSL's generic SHA-256 code, not the SHA extensions the CPU has, so sig_verify"
        say "counts more here than it costs natively (about 2 µs per event measured outside valgrind)."
        say "Inclusive cost of the request path, per event:"
        say
        say "| function | instructions / event | % of the process |"
        say "|---|---:|---:|"
        for f in handle handle_events FCGX_Accept_r io_read check_signature sig_verify \
            normalize_event cJSON_ParseWithLength ingest_store store_insert_event stats_add \
            store_commit mysql_stmt_execute mysql_commit send_response FCGX_Finish_r \
            finish_request logline_emit metrics_observe after_request ingest_drain \
            spool_has_pending set_request_id route_of; do
            # The largest entry: a function can also appear as a cycle
            # or recursion entry with a small count.
            awk -v f="$f" -v n="$served" -v t="$total" '
                $0 ~ ":" f " " || $0 ~ ":" f "$" {
                    v = $1; gsub(",", "", v); if (v + 0 > m) m = v + 0 }
                END { if (m > 0 && n > 0 && t > 0)
                    printf "| %s | %.0f | %.1f |\n", f, m / n, 100 * m / t }' "$BW/cg.incl" >>"$FR"
        done
        say
        say "Top exclusive costs:"
        say
        say '```'
        awk '/^-+$/ { d++ } d >= 3 && NF > 0 && $1 ~ /[0-9]/ { print }' "$BW/cg.excl" | head -25 >>"$FR"
        say '```'
        say
    else
        say "callgrind left no output; skipped."
        say
    fi
fi

cp "$FR" "$OUT"
bench_log "wrote $OUT"
cat "$OUT"
