#!/usr/bin/env bats
# GET /zoom_events/metrics: Prometheus text that promtool accepts, summed
# over every worker of the host, and kept off the public listener.

load helpers

setup_file() {
    ze_setup_env private
    ze_start_nginx_stack 3
}

teardown_file() {
    ze_teardown_env
}

teardown() {
    ze_check_clean
}

metric() {
    printf '%s\n' "$HTTP_BODY" | awk -v m="$1" '$1 == m {print $2}'
}

@test "metrics parse with promtool check metrics" {
    ze_http GET "$BASE/zoom_events/metrics"
    ze_eq "$HTTP_STATUS" 200
    [[ $HTTP_HEADERS == *"content-type: text/plain; version=0.0.4"* ]]
    printf '%s\n' "$HTTP_BODY" >"$ZT/metrics.txt"
    run promtool check metrics <"$ZT/metrics.txt"
    [ "$status" -eq 0 ]
    ze_eq "$(metric zoom_events_db_up)" 1
    ze_eq "$(metric zoom_events_workers)" 3
}

@test "request counts are summed over all workers of the host" {
    ze_http GET "$BASE/zoom_events/metrics"
    before=$(metric 'zoom_events_requests_total{route="events",code="202"}')
    before=${before:-0}
    for i in $(seq 1 12); do
        ze_post "$BASE/zoom_events/events" "$(ze_event meeting.started 3001 met-uuid-$i 170000002000$i)"
        ze_eq "$HTTP_STATUS" 202
    done
    ze_http GET "$BASE/zoom_events/metrics"
    ze_eq "$(metric 'zoom_events_requests_total{route="events",code="202"}')" $((before + 12))
    [ "$(metric 'zoom_events_request_duration_seconds_count{route="events"}')" -ge 12 ]
    ze_eq "$(metric zoom_events_inserted_total)" "$(ze_count)"
}

@test "401s and dead letters show up by reason" {
    ZE_SIG=v0=bad ze_post "$BASE/zoom_events/events" '{}'
    ze_eq "$HTTP_STATUS" 401
    ze_post "$BASE/zoom_events/events" '{"event":"user.updated","event_ts":1,"payload":{"object":{"id":"x"}}}'
    ze_eq "$HTTP_STATUS" 202
    ze_http GET "$BASE/zoom_events/metrics"
    [ "$(metric zoom_events_rejected_auth_total)" -ge 1 ]
    [ "$(metric 'zoom_events_requests_total{route="events",code="401"}')" -ge 1 ]
    ze_eq "$(metric 'zoom_events_dead_letters{reason="not_meeting_event"}')" \
        "$(ze_count zoom_rejected_events "reason = 'not_meeting_event'")"
}

@test "metrics are not served on the public HTTPS listener" {
    ze_http GET "https://127.0.0.1:$HTTPS_PORT/zoom_events/metrics"
    ze_eq "$HTTP_STATUS" 404
}

@test "with the database down, metrics still answer: db_up 0 and the spool count" {
    ze_db_kill "$DBDIR"
    ze_http GET "$BASE/zoom_events/metrics"
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(metric zoom_events_db_up)" 0
    ze_eq "$(metric zoom_events_spool_pending)" 0
    ze_db_start "$DBDIR" "$DB_PORT"
}
