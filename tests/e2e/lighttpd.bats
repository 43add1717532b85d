#!/usr/bin/env bats
# The service behind lighttpd's mod_fastcgi, with the shipped
# deploy/lighttpd/zoom_events.conf, and three spawn-fcgi workers.

load helpers

setup_file() {
    ze_setup_env
    ze_workers_start "$ZT" 3
    export LT_PORT
    LT_PORT=$(ze_free_port)
    ze_lighttpd_start "$ZT" "$ZT/fcgi.sock" "$LT_PORT"
    export BASE=http://127.0.0.1:$LT_PORT
}

teardown_file() {
    ze_teardown_env
}

teardown() {
    ze_check_clean
}

@test "lighttpd: health answers 200 with db up" {
    ze_health
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json db)" up
}

@test "lighttpd: a signed event is stored once, a repeat is a duplicate" {
    body=$(ze_event meeting.participant_left 7001 lt-uuid 1700000002000 u-lt)
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: inserted"* ]]
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: duplicate"* ]]
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'lt-uuid'")" 1
}

@test "lighttpd: unknown path 404, wrong method 405, wrong type 415" {
    ze_http GET "$BASE/zoom_events/unknown"
    ze_eq "$HTTP_STATUS" 404
    ze_eq "$HTTP_BODY" '{"error":"no such resource"}'
    ze_http GET "$BASE/zoom_events/events"
    ze_eq "$HTTP_STATUS" 405
    [[ $HTTP_HEADERS == *"allow: post"* ]]
    ZE_CT=text/plain ze_post "$BASE/zoom_events/events" '{}'
    ze_eq "$HTTP_STATUS" 415
}

@test "lighttpd: a bad signature is 401 and stores nothing" {
    body=$(ze_event meeting.started 7002 lt-bad-uuid 1700000002001)
    ZE_SIG=v0=$(printf '0%.0s' $(seq 1 64)) ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 401
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'lt-bad-uuid'")" 0
}

@test "lighttpd: invalid JSON is 400 with a JSON error body" {
    ze_post "$BASE/zoom_events/events" '{"event":'
    ze_eq "$HTTP_STATUS" 400
    [[ $HTTP_BODY == '{"error":"'* ]]
}
