#!/usr/bin/env bats
# The service as deployed: the shipped nginx configuration (stock
# fastcgi_params, no PATH_INFO) in front of three spawn-fcgi workers, on a
# real MariaDB.  Rows, counters and status codes are checked for real.

load helpers

setup_file() {
    ze_setup_env
    ze_start_nginx_stack 3
}

teardown_file() {
    ze_teardown_env
}

teardown() {
    ze_check_clean
}

# hex of a string's bytes, as MariaDB's HEX() prints it
hex() {
    printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F'
}

@test "health answers 200 with db up and numeric counters" {
    ze_health
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json status)" ok
    ze_eq "$(ze_json db)" up
    [[ $(ze_json received) =~ ^[0-9]+$ ]]
    [[ $(ze_json inserted) =~ ^[0-9]+$ ]]
    [[ $HTTP_HEADERS == *"content-type: application/json"* ]]
}

@test "health answers over the shipped HTTPS listener" {
    ze_http GET "https://127.0.0.1:$HTTPS_PORT/zoom_events/health"
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json db)" up
}

@test "HEAD on health sends headers only" {
    ze_http HEAD "$BASE/zoom_events/health"
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$HTTP_BODY" ""
}

@test "the seed's example payload lands as one normalized row with the exact raw bytes" {
    body='{"event":"meeting.participant_joined","event_ts":1234567890,"payload":{"object":{"id":"123456789","uuid":"abc-def-ghi","participant":{"user_id":"user123","user_name":"Dr. Smith"},"latency_ms":45}}}'
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$HTTP_BODY" '{"status":"accepted"}'
    row=$(ze_sql "SELECT meeting_id, visit_uuid, event_name, event_ts,
        participant_id, participant_name, latency_ms,
        IFNULL(interpreter_requested, 'NULL') FROM zoom_visit_events
        WHERE visit_uuid = 'abc-def-ghi'")
    ze_eq "$row" "$(printf '123456789\tabc-def-ghi\tmeeting.participant_joined\t1234567890\tuser123\tDr. Smith\t45\tNULL')"
    ze_eq "$(ze_sql "SELECT HEX(raw) FROM zoom_visit_events WHERE visit_uuid = 'abc-def-ghi'")" "$(hex "$body")"
}

@test "a repeated participant event is stored once and counted as a duplicate" {
    ze_health
    r0=$(ze_json received) i0=$(ze_json inserted) d0=$(ze_json duplicates)
    body=$(ze_event meeting.participant_joined 555 dup-uuid-1 1700000000001 u-1 "Ann")
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: inserted"* ]]
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: duplicate"* ]]
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'dup-uuid-1'")" 1
    ze_health
    ze_eq "$(ze_json received)" $((r0 + 2))
    ze_eq "$(ze_json inserted)" $((i0 + 1))
    ze_eq "$(ze_json duplicates)" $((d0 + 1))
}

@test "a repeated event without a participant is stored once (no NULL in the unique key)" {
    body=$(ze_event meeting.started 556 dup-uuid-2 1700000000002)
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'dup-uuid-2'")" 1
    ze_eq "$(ze_sql "SELECT CONCAT('[', participant_id, ']') FROM zoom_visit_events WHERE visit_uuid = 'dup-uuid-2'")" "[]"
}

@test "a numeric payload.object.id is stored as its decimal digits" {
    body='{"event":"meeting.ended","event_ts":1700000000003,"payload":{"object":{"id":85712345678,"uuid":"num-id-uuid","duration":30}}}'
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_sql "SELECT meeting_id FROM zoom_visit_events WHERE visit_uuid = 'num-id-uuid'")" 85712345678
}

@test "participant_left without user_name stores a NULL name" {
    body='{"event":"meeting.participant_left","event_ts":1700000000004,"payload":{"object":{"id":"557","uuid":"left-uuid","participant":{"id":"p-77","leave_time":"2026-11-24T10:00:00Z"}}}}'
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_sql "SELECT participant_id, IFNULL(participant_name, 'NULL') FROM zoom_visit_events WHERE visit_uuid = 'left-uuid'")" "$(printf 'p-77\tNULL')"
}

@test "names in any script and emoji are stored intact (utf8mb4)" {
    name='李小龙 محمد José 👩‍⚕️'
    body=$(ze_event meeting.participant_joined 558 utf8-uuid 1700000000005 u-utf8 "$name")
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_sql "SELECT HEX(participant_name) FROM zoom_visit_events WHERE visit_uuid = 'utf8-uuid'")" "$(hex "$name")"
}

@test "base64 uuids keep / + = and their case" {
    u1='4444AAAiAAAAAiAiAiiAii/+=='
    u2='4444aaaiAAAAAiAiAiiAii/+=='
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.started 559 "$u1" 1700000000006)"
    ze_eq "$HTTP_STATUS" 202
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.started 559 "$u2" 1700000000006)"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_sql "SELECT visit_uuid FROM zoom_visit_events WHERE meeting_id = '559' ORDER BY id")" "$(printf '%s\n%s' "$u1" "$u2")"
}

@test "interpreter requests are flagged 1, other events NULL" {
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.interpreter_requested 560 interp-uuid 1700000000007 u-9)"
    ze_eq "$HTTP_STATUS" 202
    body='{"event":"meeting.participant_joined","event_ts":1700000000008,"payload":{"object":{"id":"560","uuid":"interp-uuid","interpreter_requested":true,"participant":{"user_id":"u-10"}}}}'
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.participant_joined 560 interp-uuid 1700000000009 u-11)"
    ze_eq "$(ze_sql "SELECT IFNULL(interpreter_requested, 'NULL') FROM zoom_visit_events WHERE visit_uuid = 'interp-uuid' ORDER BY event_ts")" "$(printf '1\n1\nNULL')"
}

@test "a non-meeting event is acknowledged, kept as a dead letter and counted as ignored" {
    ze_health
    g0=$(ze_json ignored)
    body='{"event":"user.created","event_ts":1700000000010,"payload":{"account_id":"a","object":{"id":"user-1","email":"someone@example.org"}}}'
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "meeting_id = 'user-1'")" 0
    ze_eq "$(ze_sql "SELECT reason, event_name FROM zoom_rejected_events WHERE raw = '$body'")" "$(printf 'not_meeting_event\tuser.created')"
    ze_health
    ze_eq "$(ze_json ignored)" $((g0 + 1))
}

@test "every worker reports the same counters" {
    declare -A seen
    values=""
    for i in $(seq 1 40); do
        ze_health
        seen[$(ze_json worker)]=1
        values="$values$(ze_json received)/$(ze_json inserted) "
    done
    [ "${#seen[@]}" -ge 2 ]
    ze_eq "$(echo "$values" | tr ' ' '\n' | sed '/^$/d' | sort -u | wc -l)" 1
}

@test "GET on events is 405 with Allow: POST" {
    ze_http GET "$BASE/zoom_events/events"
    ze_eq "$HTTP_STATUS" 405
    [[ $HTTP_HEADERS == *"allow: post"* ]]
    [[ $HTTP_BODY == '{"error":'* ]]
}

@test "POST on health is 405 with Allow: GET, HEAD" {
    ze_http POST "$BASE/zoom_events/health" '{}' -H 'Content-Type: application/json'
    ze_eq "$HTTP_STATUS" 405
    [[ $HTTP_HEADERS == *"allow: get, head"* ]]
}

@test "unknown paths are 404 with a JSON body, from nginx and from the service" {
    ze_http GET "$BASE/zoom_events/nope"
    ze_eq "$HTTP_STATUS" 404
    ze_eq "$HTTP_BODY" '{"error":"no such resource"}'
    ze_fcgi "$ZT/fcgi.sock" GET /zoom_events/nope
    ze_eq "$HTTP_STATUS" 404
    ze_eq "$HTTP_BODY" '{"error":"no such resource"}'
}

@test "a body that is not application/json is 415" {
    body=$(ze_event meeting.started 561 ct-uuid)
    ZE_CT=text/plain ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 415
    ZE_CT='application/json; charset=utf-8' ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'ct-uuid'")" 1
}

@test "a chunked body is de-chunked by nginx and stored" {
    body=$(ze_event meeting.started 562 chunk-uuid)
    ze_post "$BASE/zoom_events/events" "$body" -H 'Transfer-Encoding: chunked'
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'chunk-uuid'")" 1
}

@test "a body over client_max_body_size is 413 from nginx, with a JSON body" {
    big=$(head -c 300000 /dev/zero | tr '\0' 'a')
    ze_post "$BASE/zoom_events/events" "{\"event\":\"$big\"}"
    ze_eq "$HTTP_STATUS" 413
    ze_eq "$HTTP_BODY" '{"error":"body too large"}'
}

@test "a Content-Length over max_body_bytes is 413 before any read" {
    ze_fcgi "$ZT/fcgi.sock" POST /zoom_events/events "" CONTENT_LENGTH=99999999
    ze_eq "$HTTP_STATUS" 413
    ze_fcgi "$ZT/fcgi.sock" POST /zoom_events/events "" CONTENT_LENGTH=99999999999999999999999
    ze_eq "$HTTP_STATUS" 413
}

@test "a Content-Length longer than the body is 400" {
    ze_fcgi "$ZT/fcgi.sock" POST /zoom_events/events '{"a":1}' CONTENT_LENGTH=100
    ze_eq "$HTTP_STATUS" 400
    [[ $HTTP_BODY == *"shorter than Content-Length"* ]]
}

@test "a malformed Content-Length is 400 and an absent one 411" {
    ze_fcgi "$ZT/fcgi.sock" POST /zoom_events/events '{"a":1}' CONTENT_LENGTH=12abc
    ze_eq "$HTTP_STATUS" 400
    ze_fcgi "$ZT/fcgi.sock" POST /zoom_events/events '{"a":1}' CONTENT_LENGTH=
    ze_eq "$HTTP_STATUS" 411
}

@test "an empty body is 400" {
    ze_post "$BASE/zoom_events/events" ""
    ze_eq "$HTTP_STATUS" 400
    ze_eq "$HTTP_BODY" '{"error":"the body is empty"}'
}

@test "invalid JSON is 400 and stores no event" {
    n0=$(ze_count)
    ze_post "$BASE/zoom_events/events" '{"event":"meeting.started","event_ts":1700000000011,"payload":{"object":{"id":"1","uuid":"trunc-uuid"'
    ze_eq "$HTTP_STATUS" 400
    [[ $HTTP_BODY == *"not valid JSON"* ]]
    ze_eq "$(ze_count)" "$n0"
}

@test "200k-deep nesting is 400 and the worker survives" {
    deep=$(printf '%*s' 200000 '' | tr ' ' '[')
    ze_post "$BASE/zoom_events/events" "$deep"
    ze_eq "$HTTP_STATUS" 400
    ze_health
    ze_eq "$HTTP_STATUS" 200
}

@test "huge numbers are refused as event_ts, never wrapped" {
    for ts in 1e400 99999999999999999999 1700000000000.5 '"1700000000000"' -5; do
        body="{\"event\":\"meeting.started\",\"event_ts\":$ts,\"payload\":{\"object\":{\"id\":\"563\",\"uuid\":\"huge-uuid\"}}}"
        ze_post "$BASE/zoom_events/events" "$body"
        ze_eq "$HTTP_STATUS" 202
    done
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'huge-uuid'")" 0
    ze_eq "$(ze_count zoom_rejected_events "reason = 'bad_event_ts'")" 5
}

@test "SQL-looking strings are stored verbatim" {
    name="Robert'); DROP TABLE zoom_visit_events;-- \\\" %s \\\\"
    body=$(ze_event meeting.participant_joined 564 sql-uuid 1700000000012 "u'1--" "$name")
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_sql "SELECT HEX(participant_id) FROM zoom_visit_events WHERE visit_uuid = 'sql-uuid'")" "$(hex "u'1--")"
    ze_eq "$(ze_sql "SELECT HEX(raw) FROM zoom_visit_events WHERE visit_uuid = 'sql-uuid'")" "$(hex "$body")"
    ze_count >/dev/null
}

@test "an over-long participant name is refused, never truncated" {
    name=$(printf 'é%.0s' $(seq 1 501))
    body=$(ze_event meeting.participant_joined 565 long-uuid 1700000000013 u-long "$name")
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'long-uuid'")" 0
    ze_eq "$(ze_count zoom_rejected_events "reason = 'bad_participant_name'")" 1
    name=$(printf 'é%.0s' $(seq 1 500))
    body=$(ze_event meeting.participant_joined 565 long-uuid 1700000000014 u-long "$name")
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$(ze_sql "SELECT CHAR_LENGTH(participant_name) FROM zoom_visit_events WHERE visit_uuid = 'long-uuid'")" 500
}

@test "each request is logged on one line with its fields and no participant name" {
    body=$(ze_event meeting.participant_joined 566 log-uuid 1700000000015 u-log "Secret Patientname")
    ZE_REQID=log-req-42 ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    line=$(grep 'req=log-req-42' "$ZT/zoom_events.log")
    [[ $line == *"level=info"* ]]
    [[ $line == *"route=events"* ]]
    [[ $line == *"status=202"* ]]
    [[ $line == *"event=meeting.participant_joined"* ]]
    [[ $line == *"meeting_id=566"* ]]
    [[ $line == *"duration_ms="* ]]
    ze_refute grep -q "Patientname" "$ZT/zoom_events.log"
}
