#!/usr/bin/env bats
# Issue 11, Zoom's delivery contract: the retry-safe signature window,
# several accounts (labelled secrets) on one endpoint, URL validation with
# the right secret and never for a token that is not Zoom's, every event
# of the catalog keyed, and the delivery ledger.  Through the shipped
# nginx set-up into a private MariaDB; signatures made with openssl.

load helpers

SECRET_A=clinic-a-secret-7Qp2
SECRET_B=clinic-b-secret-Kx9d

setup_file() {
    ze_setup_env private
    export ZOOM_EVENTS_WEBHOOK_SECRET="clinic_a:$SECRET_A,clinic_b:$SECRET_B,$ZE_SECRET"
    ze_start_nginx_stack 3
}

teardown_file() {
    ze_teardown_env
}

teardown() {
    ze_check_clean
}

metric() {
    ze_http GET "$BASE/zoom_events/metrics"
    printf '%s\n' "$HTTP_BODY" | awk -v m="$1" '$1 == m {print $2}'
}

# post_signed BODY TS SECRET [REQUEST-ID]
post_signed() {
    local body=$1 ts=$2 secret=$3 sig
    read -r _ sig < <(ze_sign "$body" "$ts" "$secret")
    ZE_TS=$ts ZE_SIG=$sig ZE_REQID=${4:-acc-$RANDOM$RANDOM} \
        ze_post "$BASE/zoom_events/events" "$body"
}

com_commit() {
    ze_sql "SHOW GLOBAL STATUS LIKE 'Com_commit'" | awk '{print $2}'
}

@test "a delivery signed 90 minutes ago is stored: Zoom's retries keep their timestamp" {
    body=$(ze_event meeting.started 7101 late-uuid 1700000007101)
    post_signed "$body" $(( $(date +%s) - 90 * 60 )) "$ZE_SECRET" late-req-1
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'late-uuid'")" 1
    # Its age is what the histogram saw.
    sum=$(metric zoom_events_signature_age_seconds_sum)
    [ "${sum%.*}" -ge 5390 ]
}

@test "signed 3 hours ago or 10 minutes ahead is 401, and stores nothing" {
    body=$(ze_event meeting.started 7102 stale-uuid 1700000007102)
    post_signed "$body" $(( $(date +%s) - 3 * 3600 )) "$ZE_SECRET"
    ze_eq "$HTTP_STATUS" 401
    ze_eq "$HTTP_BODY" '{"error":"timestamp_outside_window"}'
    post_signed "$body" $(( $(date +%s) + 10 * 60 )) "$ZE_SECRET"
    ze_eq "$HTTP_STATUS" 401
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'stale-uuid'")" 0
}

@test "a 401 writes nothing to the database: Com_commit is unchanged" {
    body=$(ze_event meeting.started 7103 unauth-uuid 1700000007103)
    before=$(com_commit)
    for i in 1 2 3 4 5; do
        post_signed "$body" "$(date +%s)" wrong-secret
        ze_eq "$HTTP_STATUS" 401
    done
    ze_eq "$(com_commit)" "$before"
    ze_eq "$(ze_count zoom_deliveries "event_name IS NOT NULL AND meeting_id = '7103'")" 0
}

@test "URL validation answers with the secret that verified it (the second of two labels)" {
    v='{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}'
    post_signed "$v" "$(date +%s)" "$SECRET_B"
    ze_eq "$HTTP_STATUS" 200
    want=$(printf '%s' qgg8vlvZRS6UYooatFL8Aw | ze_hmac "$SECRET_B")
    ze_eq "$HTTP_BODY" "{\"plainToken\":\"qgg8vlvZRS6UYooatFL8Aw\",\"encryptedToken\":\"$want\"}"
    post_signed "$v" "$(date +%s)" "$SECRET_A"
    want=$(printf '%s' qgg8vlvZRS6UYooatFL8Aw | ze_hmac "$SECRET_A")
    [[ $HTTP_BODY == *"\"encryptedToken\":\"$want\""* ]]
    # The validation is stamped for its label.
    ze_http GET "$BASE/zoom_events/metrics"
    [[ $HTTP_BODY == *'zoom_events_last_url_validation_timestamp_seconds{label="clinic_b"} '* ]]
}

@test "a plainToken that is too long or holds a colon is 400 and never signed" {
    long=$(printf 'a%.0s' $(seq 1 129))
    for tok in "$long" "v0:1700000000:forged" "abc+/="; do
        v="{\"payload\":{\"plainToken\":\"$tok\"},\"event_ts\":1654503849680,\"event\":\"endpoint.url_validation\"}"
        post_signed "$v" "$(date +%s)" "$SECRET_A"
        ze_eq "$HTTP_STATUS" 400
        [[ $HTTP_BODY == *'"error":"payload.plainToken must be'* ]]
        [[ $HTTP_BODY != *encryptedToken* ]]
    done
}

@test "deliveries are counted per label; a 401 from a known account counts for its label" {
    acct='"account_id":"AcctClinicA"'
    ok=$(ze_event meeting.started 7104 label-uuid 1700000007104)
    ok=${ok/\"account_id\":\"acc1\"/$acct}
    before=$(metric 'zoom_events_deliveries_total{label="clinic_a"}')
    post_signed "$ok" "$(date +%s)" "$SECRET_A"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(metric 'zoom_events_deliveries_total{label="clinic_a"}')" $((before + 1))
    ze_eq "$(ze_sql "SELECT source_label FROM zoom_deliveries WHERE meeting_id = '7104'")" clinic_a
    # The secret was rotated on Zoom's side only: the same account, 401.
    f0=$(metric 'zoom_events_signature_failures_total{label="clinic_a"}')
    bad=$(ze_event meeting.started 7104 label-uuid 1700000007105)
    bad=${bad/\"account_id\":\"acc1\"/$acct}
    post_signed "$bad" "$(date +%s)" rotated-on-zoom-only
    ze_eq "$HTTP_STATUS" 401
    ze_eq "$(metric 'zoom_events_signature_failures_total{label="clinic_a"}')" $((f0 + 1))
    ze_health
    [[ $HTTP_BODY == *'"clinic_a":{"deliveries":'* ]]
}

# file | meeting_id | participant_id | source | person_key | is_host | event_time_ms
CATALOG='meeting_started.json|85746065432||||0|1741705203000
meeting_ended.json|85746065432||||0|1741707069000
meeting_participant_joined.json|85746065432|16779264|user_id|PtUsr7Xq2LmN8bVc4KdWaQ|0|1741705361000
meeting_participant_joined_host.json|85746065432|16778240|user_id|HostUser0001abcdEFGH|1|1741705204000
meeting_participant_joined_no_object_id.json||16779264|user_id|PtUsr7Xq2LmN8bVc4KdWaQ|0|1741705361000
meeting_participant_joined_withheld.json|85746065432|16781312|user_id|C4D5E6F7-0819-4A2B-8C3D-4E5F60718293|0|1741705459000
meeting_participant_joined_guest.json|85746065432|16782336|user_id|5E6F7081-92A3-4B4C-9D5E-6F708192A3B4|0|1741705502000
meeting_participant_joined_rejoin.json|85746065432|16780288|user_id|PtUsr7Xq2LmN8bVc4KdWaQ|0|1741706006000
meeting_participant_left.json|85746065432|16780288|user_id|PtUsr7Xq2LmN8bVc4KdWaQ|0|1741706677000
meeting_participant_left_disconnected.json|85746065432|16779264|user_id|PtUsr7Xq2LmN8bVc4KdWaQ|0|1741705978000
meeting_participant_joined_waiting_room.json|85746065432|16779264|user_id|PtUsr7Xq2LmN8bVc4KdWaQ|0|1741705272000
meeting_participant_admitted.json|85746065432|16779264|user_id|PtUsr7Xq2LmN8bVc4KdWaQ|0|1741705360000
meeting_participant_jbh_waiting.json|85746065432|PtUsr7Xq2LmN8bVc4KdWaQ|id|PtUsr7Xq2LmN8bVc4KdWaQ|0|
meeting_participant_jbh_joined.json|85746065432|PtUsr7Xq2LmN8bVc4KdWaQ|id|PtUsr7Xq2LmN8bVc4KdWaQ|0|
meeting_participant_jbh_waiting_left.json|85746065432|PtUsr7Xq2LmN8bVc4KdWaQ|id|PtUsr7Xq2LmN8bVc4KdWaQ|0|
meeting_device_tested.json|85746065432|16779264|user_id|16779264|0|
meeting_participant_feedback.json|85746065432|PtUsr7Xq2LmN8bVc4KdWaQ|participant_user_id|PtUsr7Xq2LmN8bVc4KdWaQ|0|
meeting_participant_qos_summary.json|85746065432|16780288|participant_id|PtUsr7Xq2LmN8bVc4KdWaQ|0|'

@test "every event of Zoom's catalog is stored with its participant key, none dead-lettered" {
    dead0=$(ze_count zoom_rejected_events)
    while IFS='|' read -r file mid pid src person host etime; do
        body=$(cat "$ZE_ROOT/tests/fixtures/catalog/$file")
        post_signed "$body" "$(date +%s)" "$ZE_SECRET" "cat-$file"
        ze_eq "$HTTP_STATUS" 202
        ev=$(sed -n 's/.*"event": *"\([^"]*\)".*/\1/p' <<<"$body" | head -n 1)
        ts=$(sed -n 's/.*"event_ts": *\([0-9]*\).*/\1/p' <<<"$body" | head -n 1)
        row=$(ze_sql "SELECT meeting_id, participant_id, participant_key_source, person_key, is_host, IFNULL(event_time_ms, '')
            FROM zoom_visit_events WHERE event_name = '$ev' AND event_ts = $ts AND meeting_id = '$mid'")
        ze_eq "$row" "$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$mid" "$pid" "$src" "$person" "$host" "$etime")"
    done <<<"$CATALOG"
    ze_eq "$(ze_count zoom_rejected_events)" "$dead0"
    # QSS: the worst average latency of its streams (64, 61 and 71 ms).
    ze_eq "$(ze_sql "SELECT latency_ms FROM zoom_visit_events WHERE event_name = 'meeting.participant_qos_summary'")" 71
    ze_eq "$(ze_sql "SELECT leave_reason FROM zoom_visit_events WHERE event_ts = 1741705980033")" \
        "got disconnected from the meeting. Reason : Client Close."
}

@test "the ledger takes x-zm-trackingid when x-zm-request-id is absent (older senders)" {
    local body ts sig
    body=$(ze_event meeting.started 7107 tracking-uuid 1700000007108)
    read -r ts sig < <(ze_sign "$body")
    ze_http POST "$BASE/zoom_events/events" "$body" -H "Content-Type: application/json" \
        -H "x-zm-request-timestamp: $ts" -H "x-zm-signature: $sig" \
        -H "x-zm-trackingid: tracking-req-1"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_sql "SELECT outcome FROM zoom_deliveries WHERE request_id = 'tracking-req-1'")" inserted
}

@test "the ledger has a row for inserted, duplicate and dead-lettered deliveries" {
    body=$(ze_event meeting.started 7106 ledger-uuid 1700000007106)
    post_signed "$body" "$(date +%s)" "$ZE_SECRET" ledger-req-1
    post_signed "$body" "$(date +%s)" "$ZE_SECRET" ledger-req-2
    post_signed '{"event":"user.created","event_ts":1700000007107,"payload":{"object":{"id":"u1"}}}' \
        "$(date +%s)" "$SECRET_B" ledger-req-3
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_sql "SELECT request_id, outcome, event_id IS NOT NULL, rejected_id IS NOT NULL
        FROM zoom_deliveries WHERE request_id LIKE 'ledger-req-%' ORDER BY id")" \
        "$(printf 'ledger-req-1\tinserted\t1\t0\nledger-req-2\tduplicate\t1\t0\nledger-req-3\tignored\t0\t1')"
    # The duplicate points at the row the first one inserted.
    ze_eq "$(ze_sql "SELECT COUNT(DISTINCT event_id) FROM zoom_deliveries WHERE request_id IN ('ledger-req-1', 'ledger-req-2')")" 1
    ze_eq "$(ze_sql "SELECT source_label FROM zoom_deliveries WHERE request_id = 'ledger-req-3'")" clinic_b
    ze_eq "$(ze_sql "SELECT delivery_lag_ms > 0 AND signature_age_ms >= 0 FROM zoom_deliveries WHERE request_id = 'ledger-req-1'")" 1
}

@test "zoom_events deliveries answers: did Zoom send it, and what did we reply?" {
    run "$ZE_BIN" deliveries --since 1h --request-id ledger-req-2
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == received_at* ]]
    [[ ${lines[1]} == *ledger-req-2*meeting.started*7106*duplicate* ]]
    ze_eq "${#lines[@]}" 2
    run "$ZE_BIN" deliveries --since 1h --meeting 7106 --format csv
    [ "$status" -eq 0 ]
    ze_eq "${#lines[@]}" 3
    [[ ${lines[0]} == "received_at,request_id,source_label,event_name,meeting_id,outcome,"* ]]
    run "$ZE_BIN" deliveries --since 1h --request-id ledger-req-3 --format json
    [ "$status" -eq 0 ]
    [[ $output == *'"outcome":"ignored"'* ]]
    [[ $output == *'"event_id":null'* ]]
    run "$ZE_BIN" deliveries --since yesterday-ish
    [ "$status" -eq 2 ]
}

@test "a spooled delivery gets its ledger row when it is replayed" {
    body=$(ze_event meeting.started 7108 spooled-uuid 1700000007108)
    ze_db_kill "$DBDIR"
    post_signed "$body" "$(date +%s)" "$SECRET_A" spool-req-1
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
    ze_db_start "$DBDIR" "$DB_PORT"
    run "$ZE_BIN" drain
    [ "$status" -eq 0 ]
    ze_eq "$(ze_sql "SELECT outcome, source_label, event_id IS NOT NULL, signature_age_ms IS NOT NULL FROM zoom_deliveries WHERE request_id = 'spool-req-1'")" \
        "$(printf 'replayed\tclinic_a\t1\t1')"
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'spooled-uuid'")" 1
}
