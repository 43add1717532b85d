#!/usr/bin/env bash
# bench/visits_scale.sh -- issue 13's scale check: the visit facts over a
# million stored events.
#
#   bench/visits_scale.sh [--visits N] [--out FILE]
#
# Starts a private MariaDB (the benchmark's durable settings, buffer pool
# 256M), loads sql/schema.sql, and generates N visits (default 100000) of
# 10 events each straight into zoom_visit_events with SQL (the columns the
# service's normalize_event() fills; a small raw body).  Each visit is a
# telehealth visit with a waiting room, a host, a patient who drops once
# and rejoins, and an end:
#
#   meeting.started, host joined, patient in the waiting room, admitted,
#   patient joined, patient left ("connection lost"), patient joined,
#   patient left, host left, meeting.ended
#
# and visits start one minute apart (100000 visits: about 69 days); each
# row's created_at is two seconds after its event, as if delivered live,
# so that the minutely refresh finds only what is new.  It
# then measures, each the median of 5 runs where it is repeatable:
#
#   build    zoom_events visits refresh --full (every visit computed)
#   report   zoom_events report visits --no-refresh over all of it (CSV)
#   refresh  zoom_events report visits with its refresh, nothing new
#   touch1   one late event stored, then zoom_events visits refresh
#   row1     one visit's row: SELECT ... FROM zoom_visits WHERE visit_uuid
#            (server time from the slow log's Query_time, no client)
#   events1  one visit's events as the refresh reads them
#
# and prints the plans (EXPLAIN) of the report's, the refresh's and the
# one-visit statements, and the indexes of the three tables.  Checks that
# every visit came out as generated (status, face_to_face_s, drops,
# rejoins, waits), so a wrong build cannot pass as a fast one.
set -u

. "$(dirname "$0")/lib.sh"

VISITS=100000
OUT=""
while [ $# -gt 0 ]; do
    case $1 in
    --visits) VISITS=$2; shift ;;
    --out) OUT=$2; shift ;;
    *) echo "usage: bench/visits_scale.sh [--visits N] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done
case $VISITS in
'' | *[!0-9]*) bench_die "--visits takes a number" ;;
esac
[ -x "$BENCH_SERVICE" ] || bench_die "$BENCH_SERVICE missing: run make"

bench_setup_dir
bench_db_start
bench_db_create
REPORT=$BW/report.txt
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# ---- the events ----
T0=1764547200000       # 2025-12-01 00:00 UTC, in ms
bench_log "generating $VISITS visits ($((VISITS * 10)) events)"
bench_sql "CREATE TABLE ze_tpl (k INT PRIMARY KEY, name VARCHAR(100),
    who CHAR(1), off_s INT, reason VARCHAR(64));
  INSERT INTO ze_tpl VALUES
    (0, 'meeting.started', '', 0, NULL),
    (1, 'meeting.participant_joined', 'h', 30, NULL),
    (2, 'meeting.participant_joined_waiting_room', 'w', 60, NULL),
    (3, 'meeting.participant_admitted', 'w', 120, NULL),
    (4, 'meeting.participant_joined', 'p', 121, NULL),
    (5, 'meeting.participant_left', 'p', 600,
        'left the meeting because of network connection error'),
    (6, 'meeting.participant_joined', 'q', 630, NULL),
    (7, 'meeting.participant_left', 'q', 1800, 'left the meeting'),
    (8, 'meeting.participant_left', 'h', 1810, 'left the meeting'),
    (9, 'meeting.ended', '', 1820, NULL)" || bench_die "template"
t=$(date +%s%N)
chunk=10000
for ((lo = 0; lo < VISITS; lo += chunk)); do
    hi=$((lo + chunk - 1))
    [ $hi -lt "$VISITS" ] || hi=$((VISITS - 1))
    # participant_id is the session (a rejoin gets a new user_id); the
    # person_key stays the person's.
    bench_sql "INSERT INTO zoom_visit_events (meeting_id, visit_uuid,
        event_name, event_ts, event_time_ms, participant_id,
        participant_key_source, person_key, is_host, leave_reason,
        latency_ms, interpreter_requested, raw, created_at)
      SELECT CONCAT('8', LPAD(s.seq, 10, '0')),
        CONCAT('v', LPAD(s.seq, 9, '0'), '==') AS u,
        t.name, $T0 + s.seq * 60000 + t.off_s * 1000,
        $T0 + s.seq * 60000 + t.off_s * 1000,
        CASE t.who WHEN '' THEN '' WHEN 'h' THEN CONCAT('host', s.seq)
          WHEN 'q' THEN CONCAT('pat2-', s.seq) ELSE CONCAT('pat1-', s.seq) END,
        IF(t.who = '', '', 'user_id'),
        CASE t.who WHEN '' THEN '' WHEN 'h' THEN CONCAT('H', s.seq)
          ELSE CONCAT('P', s.seq) END,
        IF(t.who = 'h', 1, 0), t.reason, NULL, NULL,
        CONCAT('{\"event\":\"', t.name, '\"}'),
        FROM_UNIXTIME(($T0 + s.seq * 60000 + t.off_s * 1000) / 1000 + 2)
      FROM seq_${lo}_to_${hi} s CROSS JOIN ze_tpl t" ||
        bench_die "generating visits $lo-$hi"
done
gen_ms=$(ms_since "$t")
rows=$(bench_sql "SELECT COUNT(*) FROM zoom_visit_events")
bench_sql "ANALYZE TABLE zoom_visit_events" >/dev/null
size=$(bench_sql "SELECT ROUND((data_length + index_length) / 1048576)
    FROM information_schema.tables WHERE table_schema = DATABASE()
    AND table_name = 'zoom_visit_events'")

: >"$REPORT"
say "## Visit facts at scale (bench/visits_scale.sh --visits $VISITS)"
say ""
say "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg);"
say "MariaDB $(bench_sql 'SELECT VERSION()'), $BENCH_DB_OPTS."
say "zoom_visit_events: $rows rows, $size MiB with indexes (generated in $((gen_ms / 1000)) s)."
say ""

ZE=$BENCH_SERVICE
# build: every visit from scratch.
t=$(date +%s%N)
"$ZE" visits refresh --full >"$BW/build.out" 2>&1 || {
    cat "$BW/build.out" >&2
    bench_die "visits refresh --full failed"
}
build_ms=$(ms_since "$t")
visits=$(bench_sql "SELECT COUNT(*) FROM zoom_visits")
sessions=$(bench_sql "SELECT COUNT(*) FROM zoom_participant_sessions")

# Every visit as generated: host first, patient waited 60 s in the
# waiting room and for nobody (the host was there), one drop, one rejoin,
# face to face 479 s + 1170 s (121-600, 630-1800), ended at 1820 s.
bad=$(bench_sql "SELECT COUNT(*) FROM zoom_visits WHERE NOT (
    status = 'ended' AND duration_s = 1820 AND participants = 1
    AND patient_wait_for_host_s = 0 AND waiting_room_wait_s = 60
    AND face_to_face_s = 1649 AND drops = 1 AND rejoins = 1
    AND events = 10)")
if [ "$visits" != "$VISITS" ] || [ "$bad" != 0 ]; then
    bench_sql "SELECT * FROM zoom_visits LIMIT 2" >&2
    bench_die "visits: $visits rows, $bad not as generated"
fi

# report: the whole period, no refresh, CSV to a file.
since=$(date -u -d "@$((T0 / 1000))" +%Y-%m-%d)
until=$(date -u -d "@$((T0 / 1000 + VISITS * 60 + 86400))" +%Y-%m-%d)
report_ms=() refresh_ms=() touch_ms=()
for i in 1 2 3 4 5; do
    t=$(date +%s%N)
    "$ZE" report visits --since "$since" --until "$until" --no-refresh \
        --format csv >"$BW/report.csv" 2>"$BW/report.err" ||
        bench_die "report visits: $(cat "$BW/report.err")"
    report_ms+=("$(ms_since "$t")")
    t=$(date +%s%N)
    "$ZE" report visits --since "$since" --until "$until" \
        --format csv >/dev/null 2>"$BW/report.err" ||
        bench_die "report visits: $(cat "$BW/report.err")"
    refresh_ms+=("$(ms_since "$t")")
    # One late event (a duplicate-free late leave of a third person) in
    # visit i*N/6, then the minutely refresh.
    v=$((i * VISITS / 6))
    bench_sql "INSERT INTO zoom_visit_events (meeting_id, visit_uuid,
        event_name, event_ts, participant_id, person_key, raw)
      VALUES (CONCAT('8', LPAD($v, 10, '0')),
        CONCAT('v', LPAD($v, 9, '0'), '=='), 'meeting.participant_joined',
        $T0 + $v * 60000 + 700000, 'late$i', 'L$i', '{}')"
    t=$(date +%s%N)
    "$ZE" visits refresh >"$BW/touch.out" 2>&1 ||
        bench_die "visits refresh: $(cat "$BW/touch.out")"
    touch_ms+=("$(ms_since "$t")")
done
lines=$(($(wc -l <"$BW/report.csv") - 1))
[ "$lines" = "$VISITS" ] || bench_die "report: $lines rows, expected $VISITS"
late=$(bench_sql "SELECT COUNT(*) FROM zoom_visits WHERE participants = 2")
[ "$late" = 5 ] || bench_die "late events: $late visits with 2 participants, expected 5"

# One visit, timed in the server (the slow log records every statement with
# long_query_time 0, Query_time in seconds to the microsecond).
SLOW=$BW/slow.log
U1=$(printf 'v%09d==' $((VISITS / 2)))
bench_sql "SET GLOBAL slow_query_log_file = '$SLOW', GLOBAL long_query_time = 0,
    GLOBAL slow_query_log = 1"
for i in 1 2 3 4 5; do
    ze_db_sql "$BW/db" -N -B "$BENCH_DB_NAME" -e "
        SELECT * FROM zoom_visits WHERE visit_uuid = '$U1';
        SELECT visit_uuid, event_ts, event_time_ms, event_name, meeting_id,
          participant_id, person_key, is_host, leave_reason, latency_ms,
          interpreter_requested FROM zoom_visit_events WHERE visit_uuid = '$U1';
        SELECT * FROM zoom_participant_sessions WHERE visit_uuid = '$U1'" >/dev/null
done
bench_sql "SET GLOBAL slow_query_log = 0"
qtime() {   # the median server time, ms, of statements matching $1
    awk -v pat="$1" '/^# Query_time:/ { q = $3 } $0 ~ pat { print q * 1000 }' "$SLOW" |
        median
}
row1=$(qtime "FROM zoom_visits WHERE visit_uuid")
ev1=$(qtime "FROM zoom_visit_events WHERE visit_uuid")
ses1=$(qtime "FROM zoom_participant_sessions WHERE")

med_report=$(printf '%s\n' "${report_ms[@]}" | median)
med_refresh=$(printf '%s\n' "${refresh_ms[@]}" | median)
med_touch=$(printf '%s\n' "${touch_ms[@]}" | median)
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 < t + 0) ? "met" : "NOT met" }'; }
say "| what | time (median of 5) | target |"
say "|---|---:|---|"
say "| build: \`visits refresh --full\`, $visits visits, $sessions sessions | $((build_ms / 1000)).$(printf '%03d' $((build_ms % 1000))) s (once) | - |"
say "| \`report visits --no-refresh\`, all $VISITS visits as CSV | $med_report ms (${report_ms[*]}) | < 10 s: $(verdict "$med_report" 10000) |"
say "| \`report visits\` with its refresh (nothing new) | $med_refresh ms (${refresh_ms[*]}) | < 10 s: $(verdict "$med_refresh" 10000) |"
say "| one late event, then \`visits refresh\` (minutely timer) | $med_touch ms (${touch_ms[*]}) | - |"
say "| one visit's row, \`zoom_visits\` by \`visit_uuid\` (server) | $row1 ms | < 10 ms: $(verdict "$row1" 10) |"
say "| one visit's events, as the refresh reads them (server) | $ev1 ms | - |"
say "| one visit's sessions (server) | $ses1 ms | - |"
say ""
say "Times of the commands are wall clock of the whole process (connect, query, output)."
say ""
say "### Plans"
explain() {
    say ""
    say "$1"
    say '```'
    bench_sql "EXPLAIN $2" | tee -a "$REPORT"
    say '```'
}
explain "The report (\`report visits\`, one period):" \
    "SELECT visit_uuid, meeting_id, status, started_ms, ended_ms, duration_s,
     participants, host_first_join_ms, first_patient_join_ms,
     patient_wait_for_host_s, waiting_room_wait_s, face_to_face_s, rejoins,
     drops, interpreter_requested, max_latency_ms, events FROM zoom_visits
     WHERE started_ms >= $T0 AND started_ms < $((T0 + VISITS * 60000))
     AND (0 = 0 OR (status = 'open' AND started_ms < 0))
     ORDER BY started_ms, visit_uuid LIMIT 1000000"
explain "The watchdog (\`--open-longer-than\`):" \
    "SELECT COUNT(*), COALESCE(SUM(started_ms < 0), 0) FROM zoom_visits WHERE status = 'open'"
explain "One visit's row:" "SELECT * FROM zoom_visits WHERE visit_uuid = '$U1'"
explain "One visit's events (refresh):" \
    "SELECT event_ts FROM zoom_visit_events WHERE visit_uuid = '$U1'"
explain "A refresh chunk (64 visits by range):" \
    "SELECT event_ts FROM zoom_visit_events WHERE visit_uuid BETWEEN '$U1' AND 'v000051000=='
     ORDER BY visit_uuid"
explain "The visits touched since the last refresh:" \
    "SELECT DISTINCT visit_uuid FROM zoom_visit_events WHERE created_at >= NOW() - INTERVAL 3 MINUTE"
say ""
say "### Indexes"
say '```'
for tb in zoom_visit_events zoom_visits zoom_participant_sessions; do
    bench_sql "SELECT table_name, index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index)
        FROM information_schema.statistics WHERE table_schema = DATABASE()
        AND table_name = '$tb' GROUP BY table_name, index_name" | tee -a "$REPORT"
done
say '```'
if [ -n "$OUT" ]; then
    mkdir -p "$(dirname "$OUT")" && cp "$REPORT" "$OUT"
    bench_log "wrote $OUT"
fi
