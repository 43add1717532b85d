#!/usr/bin/env bats
# Zoom's webhook protocol through the shipped nginx set-up: URL
# validation, x-zm-signature over the raw body, the replay window, secret
# rotation and the secure default.  Expected values come from openssl.

load helpers

setup_file() {
    ze_setup_env
    ze_start_nginx_stack 3
}

teardown_file() {
    ze_workers_stop "$ZT/rot"
    ze_teardown_env
}

teardown() {
    ze_check_clean
}

VALIDATION='{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}'

auth_failures() {
    ze_health
    ze_json rejected_auth
}

# Post body with the given headers only (no defaults); sets HTTP_*.
post_raw() {
    local body=$1
    shift
    ze_http POST "$BASE/zoom_events/events" "$body" \
        -H "Content-Type: application/json" "$@"
}

@test "URL validation is answered with the token openssl computes" {
    ze_post "$BASE/zoom_events/events" "$VALIDATION"
    ze_eq "$HTTP_STATUS" 200
    want=$(printf '%s' qgg8vlvZRS6UYooatFL8Aw | ze_hmac "$ZE_SECRET")
    ze_eq "$HTTP_BODY" "{\"plainToken\":\"qgg8vlvZRS6UYooatFL8Aw\",\"encryptedToken\":\"$want\"}"
    [[ $HTTP_HEADERS == *"content-type: application/json"* ]]
}

@test "unsigned URL validation is refused: the endpoint is no HMAC oracle" {
    post_raw "$VALIDATION"
    ze_eq "$HTTP_STATUS" 401
    [[ $HTTP_BODY != *encryptedToken* ]]
    ZE_SIG=v0=$(printf 'ab%.0s' $(seq 1 32)) ze_post "$BASE/zoom_events/events" "$VALIDATION"
    ze_eq "$HTTP_STATUS" 401
    [[ $HTTP_BODY != *encryptedToken* ]]
}

@test "a signed event is stored" {
    body=$(ze_event meeting.started 6001 signed-uuid 1700000004000)
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'signed-uuid'")" 1
}

@test "the signature covers the raw bytes: odd whitespace and key order verify" {
    body=$'{ "payload" :{"object":{  "uuid":"ws-uuid","id" : "6002"}},\n\t"event_ts":1700000004001 ,"event":"meeting.started" }\r\n'
    ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'ws-uuid'")" 1
}

# Each failure: 401, nothing stored, rejected_auth + 1, reason in the body.
expect_401() {
    local reason=$1 uuid=$2 before
    before=$(auth_failures)
    ze_eq "$HTTP_STATUS" 401
    ze_eq "$HTTP_BODY" "{\"error\":\"$reason\"}"
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = '$uuid'")" 0
}

@test "a missing signature header is 401" {
    body=$(ze_event meeting.started 6003 f1-uuid)
    n0=$(auth_failures)
    post_raw "$body" -H "x-zm-request-timestamp: $(date +%s)"
    expect_401 missing_signature f1-uuid
    ze_eq "$(auth_failures)" $((n0 + 1))
}

@test "a missing timestamp header is 401" {
    body=$(ze_event meeting.started 6004 f2-uuid)
    read -r ts sig < <(ze_sign "$body")
    n0=$(auth_failures)
    post_raw "$body" -H "x-zm-signature: $sig"
    expect_401 missing_timestamp f2-uuid
    ze_eq "$(auth_failures)" $((n0 + 1))
}

@test "malformed signatures are 401: no v0=, short, long, non-hex" {
    body=$(ze_event meeting.started 6005 f3-uuid)
    read -r ts sig < <(ze_sign "$body")
    n0=$(auth_failures)
    for bad in "${sig#v0=}" "${sig%?}" "${sig}0" "v1=${sig#v0=}" "${sig%??}zz"; do
        ZE_SIG=$bad ze_post "$BASE/zoom_events/events" "$body"
        expect_401 malformed_signature f3-uuid
    done
    ze_eq "$(auth_failures)" $((n0 + 5))
}

@test "a signature made with another secret is 401" {
    body=$(ze_event meeting.started 6006 f4-uuid)
    read -r ts sig < <(ze_sign "$body" "" other-secret)
    ZE_TS=$ts ZE_SIG=$sig ze_post "$BASE/zoom_events/events" "$body"
    expect_401 signature_mismatch f4-uuid
}

@test "a tampered body is 401" {
    body=$(ze_event meeting.started 6007 f5-uuid 1700000004002)
    read -r ts sig < <(ze_sign "$body")
    tampered=${body/1700000004002/1700000004003}
    ZE_TS=$ts ZE_SIG=$sig ze_post "$BASE/zoom_events/events" "$tampered"
    expect_401 signature_mismatch f5-uuid
}

@test "a non-numeric timestamp is 401" {
    body=$(ze_event meeting.started 6008 f6-uuid)
    for ts in abc 17e8 -1700000000 1700000000.5 99999999999999999999; do
        read -r _ sig < <(ze_sign "$body" "$ts")
        ZE_TS=$ts ZE_SIG=$sig ze_post "$BASE/zoom_events/events" "$body"
        expect_401 malformed_timestamp f6-uuid
    done
}

@test "a timestamp outside the window (2 h back, 5 min ahead) is 401 both ways; inside it passes" {
    body=$(ze_event meeting.started 6009 f7-uuid)
    now=$(date +%s)
    for ts in $((now - 7300)) $((now + 400)); do
        read -r _ sig < <(ze_sign "$body" "$ts")
        ZE_TS=$ts ZE_SIG=$sig ze_post "$BASE/zoom_events/events" "$body"
        expect_401 timestamp_outside_window f7-uuid
    done
    read -r _ sig < <(ze_sign "$body" $((now - 200)))
    ZE_TS=$((now - 200)) ZE_SIG=$sig ze_post "$BASE/zoom_events/events" "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'f7-uuid'")" 1
}

@test "the signature is checked before the body is parsed" {
    deep=$(printf '%*s' 200000 '' | tr ' ' '[')
    post_raw "$deep"
    ze_eq "$HTTP_STATUS" 401
    post_raw '{"not json'
    ze_eq "$HTTP_STATUS" 401
}

@test "health needs no signature" {
    ze_http GET "$BASE/zoom_events/health"
    ze_eq "$HTTP_STATUS" 200
}

@test "during a rotation any listed secret verifies; validation answers with the first" {
    ZOOM_EVENTS_WEBHOOK_SECRET="new-secret-2, $ZE_SECRET" ze_workers_start "$ZT/rot" 2
    body=$(ze_event meeting.started 6010 rot-uuid 1700000004010)
    read -r ts sig < <(ze_sign "$body")
    ze_fcgi "$ZT/rot/fcgi.sock" POST /zoom_events/events "$body" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    body2=$(ze_event meeting.started 6010 rot-uuid 1700000004011)
    read -r ts sig < <(ze_sign "$body2" "" new-secret-2)
    ze_fcgi "$ZT/rot/fcgi.sock" POST /zoom_events/events "$body2" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'rot-uuid'")" 2
    read -r ts sig < <(ze_sign "$VALIDATION" "" new-secret-2)
    ze_fcgi "$ZT/rot/fcgi.sock" POST /zoom_events/events "$VALIDATION" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 200
    want=$(printf '%s' qgg8vlvZRS6UYooatFL8Aw | ze_hmac new-secret-2)
    [[ $HTTP_BODY == *"\"encryptedToken\":\"$want\""* ]]
}

@test "secure by default: with no secret the service refuses to start" {
    unset ZOOM_EVENTS_WEBHOOK_SECRET
    run "$ZE_BIN" -d -s "$ZT/nosecret.sock"
    [ "$status" -eq 1 ]
    [[ $output == *"no webhook secret configured"* ]]
    run spawn-fcgi -s "$ZT/nosecret.sock" -n -- "$ZE_BIN"
    [ "$status" -ne 0 ]
}

@test "allow_unsigned accepts unsigned events and warns loudly at start" {
    unset ZOOM_EVENTS_WEBHOOK_SECRET
    export ZOOM_EVENTS_ALLOW_UNSIGNED=1 ZOOM_EVENTS_LOG=$ZT/unsigned.log
    body=$(ze_event meeting.started 6011 unsigned-uuid 1700000004012)
    ze_cgi POST /zoom_events/events "$body"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'unsigned-uuid'")" 1
    grep -q "level=warn.*SIGNATURE CHECKS ARE OFF" "$ZT/unsigned.log"
    ze_cgi POST /zoom_events/events "$VALIDATION"
    ze_eq "$HTTP_STATUS" 400
}

@test "logs hold neither the secret, a signature, nor a token" {
    ze_refute grep -F -e "$ZE_SECRET" -e new-secret-2 -e qgg8vlvZRS6UYooatFL8Aw "$ZT/zoom_events.log"
    ze_refute grep -E "v0=[0-9a-f]{16}" "$ZT/zoom_events.log"
    grep -q "x-zm\|error=signature_mismatch" "$ZT/zoom_events.log"
}
