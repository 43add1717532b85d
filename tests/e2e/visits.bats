#!/usr/bin/env bats
# Issue 13, visit facts: each scenario is a realistic stream of Zoom events
# for one visit, posted signed through the shipped nginx set-up, then
# "zoom_events visits refresh"; the rows of zoom_visits and
# zoom_participant_sessions are compared with what the README's
# definitions give.  Every scenario is posted again in reverse order and in
# three random orders (fixed seeds) into visits of its own, and must give
# identical rows.  Times are relative to T0 (an hour ago), so that "open"
# and "ended_inferred" depend only on the quiet setting.  The last test
# runs a full refresh over 200,000 events while deliveries arrive: the
# visit layer must not hold them up (Zoom waits 3 s).

load helpers

setup_file() {
    ze_setup_env
    ze_start_nginx_stack 3
    export T0=$(( ($(date +%s) - 3600) * 1000 ))
}

teardown_file() {
    ze_teardown_env
}

teardown() {
    ze_check_clean
}

MID=9001
HOST=HostUser0001abcdEFGH

iso() {
    date -u -d "@$(( $1 / 1000 ))" +%Y-%m-%dT%H:%M:%SZ
}

# ev UUID KIND|OFFSET_S|SLOT|PERSON|REASON|DELAY_MS: one event as JSON.
# The person is participant.id (the host's equals object.host_id); a
# PERSON starting with "ck:" withholds every id, name and email and
# leaves only customer_key (HIPAA accounts).  REASON is the leave reason,
# or the latency of a QSS summary.  DELAY_MS is how long after the event
# Zoom stamped event_ts (default 700): a redelivery has another.
ev() {
    local uuid=$1 kind off slot person reason delay t ts name p="" obj=""
    IFS='|' read -r kind off slot person reason delay <<<"$2"
    t=$(( T0 + off * 1000 ))
    ts=$(( t + ${delay:-700} ))
    case $kind in
    started) name=meeting.started; obj="\"start_time\":\"$(iso $t)\"" ;;
    ended) name=meeting.ended; obj="\"end_time\":\"$(iso $t)\"" ;;
    joined) name=meeting.participant_joined; p="\"join_time\":\"$(iso $t)\"" ;;
    left) name=meeting.participant_left
        p="\"leave_time\":\"$(iso $t)\",\"leave_reason\":\"$reason\"" ;;
    wr) name=meeting.participant_joined_waiting_room; p="\"date_time\":\"$(iso $t)\"" ;;
    admitted) name=meeting.participant_admitted; p="\"date_time\":\"$(iso $t)\"" ;;
    interp) name=meeting.interpreter_requested ;;
    qos) name=meeting.participant_qos_summary
        p="\"qos\":[{\"type\":\"audio_input\",\"details\":{\"avg_latency\":\"$reason ms\"}}]" ;;
    *) echo "unknown kind $kind" >&2; return 1 ;;
    esac
    if [ -n "$slot" ]; then
        case $person in
        ck:*) p="\"user_id\":\"$slot\",\"id\":\"\",\"user_name\":\"\",\"email\":\"\",\"participant_uuid\":\"uuid-$slot\",\"customer_key\":\"${person#ck:}\"${p:+,$p}" ;;
        *) p="\"user_id\":\"$slot\",\"id\":\"$person\",\"user_name\":\"Name $person\"${p:+,$p}" ;;
        esac
    fi
    obj="\"id\":\"${MEETING:-$MID}\",\"uuid\":\"$uuid\",\"host_id\":\"$HOST\"${obj:+,$obj}"
    [ -n "$p" ] && obj="$obj,\"participant\":{$p}"
    printf '{"event":"%s","event_ts":%s,"payload":{"account_id":"acc1","object":{%s}}}' \
        "$name" "$ts" "$obj"
}

# post_stream UUID ORDER < LINES: post each line's event (ORDER: asis,
# reverse, or a shuffle seed); every post must be answered 202.
post_stream() {
    local uuid=$1 order=$2 stream line body
    stream=$(grep -v '^$')
    case $order in
    asis) ;;
    reverse) stream=$(tac <<<"$stream") ;;
    *) stream=$(shuf --random-source=<(yes "$order") <<<"$stream") ;;
    esac
    while IFS= read -r line; do
        body=$(ev "$uuid" "$line")
        ze_post "$BASE/zoom_events/events" "$body"
        ze_eq "$HTTP_STATUS" 202
    done <<<"$stream"
}

refresh() {
    run "$ZE_BIN" visits refresh
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

# The visit's row, times relative to T0, as "column=value ...".
visit_row() {
    ze_sql "SELECT CONCAT_WS(' ', CONCAT('meeting_id=', meeting_id),
        CONCAT('status=', status),
        CONCAT('started=', IFNULL(started_ms - $T0, 'NULL')),
        CONCAT('ended=', IFNULL(ended_ms - $T0, 'NULL')),
        CONCAT('duration_s=', IFNULL(duration_s, 'NULL')),
        CONCAT('participants=', participants),
        CONCAT('host_first_join=', IFNULL(host_first_join_ms - $T0, 'NULL')),
        CONCAT('first_patient_join=', IFNULL(first_patient_join_ms - $T0, 'NULL')),
        CONCAT('wait_for_host_s=', IFNULL(patient_wait_for_host_s, 'NULL')),
        CONCAT('waiting_room_s=', IFNULL(waiting_room_wait_s, 'NULL')),
        CONCAT('face_to_face_s=', face_to_face_s),
        CONCAT('rejoins=', rejoins), CONCAT('drops=', drops),
        CONCAT('interpreter=', interpreter_requested),
        CONCAT('max_latency_ms=', IFNULL(max_latency_ms, 'NULL')),
        CONCAT('events=', events))
        FROM zoom_visits WHERE visit_uuid = '$1'"
}

# Its sessions, one line each: person host joined left duration_s
# left_inferred connection_lost (times relative to T0).
session_rows() {
    ze_sql "SELECT CONCAT_WS(' ', participant_key, is_host, joined_ms - $T0,
        IFNULL(left_ms - $T0, 'NULL'), IFNULL(duration_s, 'NULL'),
        left_inferred, connection_lost)
        FROM zoom_participant_sessions WHERE visit_uuid = '$1' ORDER BY session_no"
}

# scenario NAME WANT_VISIT WANT_SESSIONS < LINES: the stream as is, then in
# reverse and three random orders: the same rows every time.  (Not
# "lines": bats' run sets that.)
scenario() {
    local name=$1 want_visit=$2 want_sessions=$3 stream order
    stream=$(cat)
    post_stream "$name" asis <<<"$stream"
    refresh
    ze_eq "$(visit_row "$name")" "$want_visit"
    ze_eq "$(session_rows "$name")" "$want_sessions"
    for order in reverse 11 22 33; do
        post_stream "$name-$order" "$order" <<<"$stream"
    done
    refresh
    for order in reverse 11 22 33; do
        ze_eq "$(visit_row "$name-$order")" "$want_visit"
        ze_eq "$(session_rows "$name-$order")" "$want_sessions"
    done
}

LEFT='left the meeting. Reason : left the meeting'
ENDED='left the meeting. Reason : Host ended the meeting.'
LOST='got disconnected from the meeting. Reason : Network connection error.'

@test "a normal visit" {
    scenario s-normal \
        "meeting_id=9001 status=ended started=0 ended=1900000 duration_s=1900 participants=1 host_first_join=10000 first_patient_join=60000 wait_for_host_s=0 waiting_room_s=NULL face_to_face_s=1800 rejoins=0 drops=0 interpreter=0 max_latency_ms=NULL events=6" \
        "$HOST 1 10000 1900000 1890 0 0
PAT1 0 60000 1860000 1800 0 0" <<LINES
started|0
joined|10|100|$HOST
joined|60|200|PAT1
left|1860|200|PAT1|$LEFT
left|1900|100|$HOST|$ENDED
ended|1900
LINES
}

@test "the patient waits for the host" {
    scenario s-wait \
        "meeting_id=9001 status=ended started=0 ended=1250000 duration_s=1250 participants=1 host_first_join=330000 first_patient_join=30000 wait_for_host_s=300 waiting_room_s=NULL face_to_face_s=870 rejoins=0 drops=0 interpreter=0 max_latency_ms=NULL events=6" \
        "PAT1 0 30000 1200000 1170 0 0
$HOST 1 330000 1250000 920 0 0" <<LINES
started|0
joined|30|200|PAT1
joined|330|100|$HOST
left|1200|200|PAT1|$LEFT
left|1250|100|$HOST|$ENDED
ended|1250
LINES
}

@test "the host joins first" {
    scenario s-hostfirst \
        "meeting_id=9001 status=ended started=0 ended=905000 duration_s=905 participants=1 host_first_join=2000 first_patient_join=122000 wait_for_host_s=0 waiting_room_s=NULL face_to_face_s=778 rejoins=0 drops=0 interpreter=0 max_latency_ms=NULL events=6" \
        "$HOST 1 2000 905000 903 0 0
PAT1 0 122000 900000 778 0 0" <<LINES
started|0
joined|2|100|$HOST
joined|122|200|PAT1
left|900|200|PAT1|$LEFT
left|905|100|$HOST|$ENDED
ended|905
LINES
}

@test "waiting room, then admitted (user_id changes on admission)" {
    scenario s-waitroom \
        "meeting_id=9001 status=ended started=0 ended=1010000 duration_s=1010 participants=1 host_first_join=5000 first_patient_join=141000 wait_for_host_s=0 waiting_room_s=120 face_to_face_s=859 rejoins=0 drops=0 interpreter=0 max_latency_ms=NULL events=8" \
        "$HOST 1 5000 1010000 1005 0 0
PAT1 0 141000 1000000 859 0 0" <<LINES
started|0
joined|5|100|$HOST
wr|20|300|PAT1
admitted|140|300|PAT1
joined|141|301|PAT1
left|1000|301|PAT1|$LEFT
left|1010|100|$HOST|$ENDED
ended|1010
LINES
}

@test "drop and rejoin with a new user_id; the old slot's left arrives after the new join" {
    scenario s-drop \
        "meeting_id=9001 status=ended started=0 ended=1600000 duration_s=1600 participants=1 host_first_join=10000 first_patient_join=60000 wait_for_host_s=0 waiting_room_s=NULL face_to_face_s=1390 rejoins=1 drops=1 interpreter=0 max_latency_ms=NULL events=8" \
        "$HOST 1 10000 1600000 1590 0 0
PAT1 0 60000 650000 590 0 1
PAT1 0 700000 1500000 800 0 0" <<LINES
started|0
joined|10|100|$HOST
joined|60|200|PAT1
joined|700|201|PAT1
left|650|200|PAT1|$LOST
left|1500|201|PAT1|$LEFT
left|1600|100|$HOST|$ENDED
ended|1600
LINES
}

@test "a duplicated left: the same delivery twice, and a redelivery with its own event_ts" {
    scenario s-dupleft \
        "meeting_id=9001 status=ended started=0 ended=950000 duration_s=950 participants=1 host_first_join=10000 first_patient_join=60000 wait_for_host_s=0 waiting_room_s=NULL face_to_face_s=840 rejoins=0 drops=0 interpreter=0 max_latency_ms=NULL events=7" \
        "$HOST 1 10000 950000 940 0 0
PAT1 0 60000 900000 840 0 0" <<LINES
started|0
joined|10|100|$HOST
joined|60|200|PAT1
left|900|200|PAT1|$LEFT
left|900|200|PAT1|$LEFT
left|900|200|PAT1|$LEFT|95000
left|950|100|$HOST|$ENDED
ended|950
LINES
}

@test "no meeting.started: the visit starts at the first join" {
    scenario s-nostart \
        "meeting_id=9001 status=ended started=15000 ended=620000 duration_s=605 participants=1 host_first_join=15000 first_patient_join=40000 wait_for_host_s=0 waiting_room_s=NULL face_to_face_s=560 rejoins=0 drops=0 interpreter=0 max_latency_ms=NULL events=5" \
        "$HOST 1 15000 620000 605 0 0
PAT1 0 40000 600000 560 0 0" <<LINES
joined|15|100|$HOST
joined|40|200|PAT1
left|600|200|PAT1|$LEFT
left|620|100|$HOST|$ENDED
ended|620
LINES
}

@test "no meeting.ended: open, then ended_inferred once quiet long enough" {
    scenario s-noend \
        "meeting_id=9001 status=open started=0 ended=NULL duration_s=NULL participants=1 host_first_join=10000 first_patient_join=60000 wait_for_host_s=0 waiting_room_s=NULL face_to_face_s=1440 rejoins=0 drops=0 interpreter=0 max_latency_ms=NULL events=4" \
        "$HOST 1 10000 NULL NULL 0 0
PAT1 0 60000 1500000 1440 0 0" <<LINES
started|0
joined|10|100|$HOST
joined|60|200|PAT1
left|1500|200|PAT1|$LEFT
LINES
    # The watchdog lists it: open for longer than 30 minutes.
    run "$ZE_BIN" report visits --open-longer-than 30m --format csv --no-refresh
    [ "$status" -eq 0 ]
    [[ $output == *"s-noend,9001,open,"* ]]
    run "$ZE_BIN" report visits --open-longer-than 2h --format csv --no-refresh
    [[ $output != *"s-noend,"* ]]
    # Quiet for 35 minutes; with a 30-minute quiet setting it has ended.
    ZOOM_EVENTS_VISIT_QUIET=1800 run "$ZE_BIN" visits refresh
    [ "$status" -eq 0 ]
    ze_eq "$(visit_row s-noend)" \
        "meeting_id=9001 status=ended_inferred started=0 ended=1500000 duration_s=1500 participants=1 host_first_join=10000 first_patient_join=60000 wait_for_host_s=0 waiting_room_s=NULL face_to_face_s=1440 rejoins=0 drops=0 interpreter=0 max_latency_ms=NULL events=4"
    ze_eq "$(session_rows s-noend)" "$HOST 1 10000 1500000 1490 1 0
PAT1 0 60000 1500000 1440 0 0"
    # A late meeting.ended corrects it.
    post_stream s-noend asis <<<"ended|1600"
    refresh
    [[ $(visit_row s-noend) == *"status=ended started=0 ended=1600000 duration_s=1600 "* ]]
}

@test "names and ids withheld: people keyed by customer_key, a rejoin still recognised" {
    scenario s-withheld \
        "meeting_id=9001 status=ended started=0 ended=1000000 duration_s=1000 participants=1 host_first_join=10000 first_patient_join=50000 wait_for_host_s=0 waiting_room_s=NULL face_to_face_s=840 rejoins=1 drops=1 interpreter=0 max_latency_ms=NULL events=8" \
        "$HOST 1 10000 1000000 990 0 0
pt-017 0 50000 300000 250 0 1
pt-017 0 310000 900000 590 0 0" <<LINES
started|0
joined|10|100|$HOST
joined|50|500|ck:pt-017
left|300|500|ck:pt-017|$LOST
joined|310|501|ck:pt-017
left|900|501|ck:pt-017|$LEFT
left|1000|100|$HOST|$ENDED
ended|1000
LINES
    # No name was stored: Zoom sent none.
    ze_eq "$(ze_sql "SELECT COUNT(*) FROM zoom_visit_events WHERE visit_uuid = 's-withheld' AND person_key = 'pt-017' AND participant_name <> ''")" 0
}

@test "an interpreter request and QSS latency" {
    scenario s-interp \
        "meeting_id=9001 status=ended started=0 ended=800000 duration_s=800 participants=1 host_first_join=10000 first_patient_join=20000 wait_for_host_s=0 waiting_room_s=NULL face_to_face_s=770 rejoins=0 drops=0 interpreter=1 max_latency_ms=210 events=8" \
        "$HOST 1 10000 800000 790 0 0
PAT1 0 20000 790000 770 0 0" <<LINES
started|0
joined|10|100|$HOST
joined|20|200|PAT1
interp|300
qos|790|200|PAT1|210
left|790|200|PAT1|$LEFT
left|800|100|$HOST|$ENDED
ended|800
LINES
}

@test "two visits of one recurring meeting id are two rows" {
    MEETING=4242 post_stream s-rec-a asis <<LINES
started|0
joined|10|100|$HOST
joined|20|200|PAT1
left|300|200|PAT1|$LEFT
ended|400
LINES
    MEETING=4242 post_stream s-rec-b asis <<LINES
started|3000
joined|3010|100|$HOST
joined|3020|210|PAT2
joined|3030|220|PAT3
ended|3600
LINES
    refresh
    ze_eq "$(ze_sql "SELECT visit_uuid, participants, started_ms - $T0, duration_s FROM zoom_visits WHERE meeting_id = '4242' ORDER BY started_ms")" \
        "$(printf 's-rec-a\t1\t0\t400\ns-rec-b\t2\t3000000\t600')"
}

@test "a join without object.id is filled in from the visit's other events" {
    post_stream s-noid asis <<LINES
started|0
joined|10|100|$HOST
ended|100
LINES
    body=$(ev s-noid "joined|20|200|PAT1")
    body=${body/\"id\":\"9001\",/}
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 's-noid' AND meeting_id = ''")" 1
    refresh
    ze_eq "$(ze_sql "SELECT meeting_id, participants FROM zoom_visits WHERE visit_uuid = 's-noid'")" "$(printf '9001\t1')"
    ze_eq "$(ze_sql "SELECT DISTINCT meeting_id FROM zoom_participant_sessions WHERE visit_uuid = 's-noid'")" 9001
}

@test "report visits prints table, csv and json, with ISO 8601 UTC times" {
    run "$ZE_BIN" report visits --format json --no-refresh --since "$(iso $T0 | cut -c1-10)"
    [ "$status" -eq 0 ]
    [[ $output == \[* ]]
    [[ $output == *'"visit_uuid":"s-normal","meeting_id":"9001","status":"ended","started_at":"'"$(iso $T0 | sed 's/Z$//')"'.000Z"'* ]]
    [[ $output == *'"duration_s":1900,'* ]]
    [[ $output == *'"waiting_room_wait_s":null,'* ]]
    printf '%s' "$output" | python3 -m json.tool >/dev/null
    run "$ZE_BIN" report visits --format csv --no-refresh
    [ "$status" -eq 0 ]
    ze_eq "${lines[0]%$'\r'}" "visit_uuid,meeting_id,status,started_at,ended_at,duration_s,participants,host_first_join_at,first_patient_join_at,patient_wait_for_host_s,waiting_room_wait_s,face_to_face_s,rejoins,drops,interpreter_requested,max_latency_ms,events"
    run "$ZE_BIN" report visits --no-refresh
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "visit_uuid "* ]]
    run "$ZE_BIN" report visits --format xml
    [ "$status" -eq 2 ]
    run "$ZE_BIN" report visits --open-longer-than soon
    [ "$status" -eq 2 ]
}

@test "the open-visits gauges count the watchdog's visits" {
    # A visit still going on (its events are recent).
    post_stream s-gauge asis <<LINES
started|3500
joined|3510|100|$HOST
LINES
    refresh
    ze_http GET "$BASE/zoom_events/metrics"
    open=$(printf '%s\n' "$HTTP_BODY" | awk '$1 == "zoom_events_visits_open" {print $2}')
    [ "$open" -ge 1 ]
    ze_eq "$(ze_sql "SELECT COUNT(*) FROM zoom_visits WHERE status = 'open'")" "$open"
}

@test "a full refresh of 200,000 events does not hold up deliveries" {
    local i start ms pid slow=0 during=0
    # 20,000 visits of 10 events each, straight into the table (the
    # refresh reads the columns; the bodies do not matter to it).
    ze_sql "INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name,
        event_ts, event_time_ms, participant_id, person_key, raw)
        SELECT 'bulk', CONCAT('bulk-', LPAD(seq DIV 10, 6, '0')),
            IF(seq MOD 2 = 0, 'meeting.participant_joined', 'meeting.participant_left'),
            $T0 + seq, $T0 + seq, CONCAT('p', seq MOD 10 DIV 2),
            CONCAT('p', seq MOD 10 DIV 2), '{}'
        FROM seq_0_to_199999"
    "$ZE_BIN" visits refresh --full >"$ZT/refresh.out" 2>&1 &
    pid=$!
    # Deliveries while it runs: each answered 202 well inside Zoom's 3 s.
    for i in $(seq 1 40); do
        start=$(date +%s%N)
        ze_post "$BASE/zoom_events/events" "$(ev s-during-refresh "joined|$i|slot$i|p$i")"
        ms=$(( ($(date +%s%N) - start) / 1000000 ))
        ze_eq "$HTTP_STATUS" 202
        [ "$ms" -lt 3000 ] || slow=$((slow + 1))
        kill -0 "$pid" 2>/dev/null && during=$((during + 1))
    done
    wait "$pid" || { cat "$ZT/refresh.out"; false; }
    echo "deliveries while the refresh ran: $during of 40" >&3
    [ "$during" -gt 0 ]
    ze_eq "$slow" 0
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 's-during-refresh'")" 40
    ze_eq "$(ze_sql "SELECT COUNT(*) FROM zoom_visits WHERE visit_uuid LIKE 'bulk-%'")" 20000
    ze_sql "DELETE FROM zoom_participant_sessions WHERE visit_uuid LIKE 'bulk-%';
        DELETE FROM zoom_visits WHERE visit_uuid LIKE 'bulk-%';
        DELETE FROM zoom_visit_events WHERE visit_uuid LIKE 'bulk-%'"
}
