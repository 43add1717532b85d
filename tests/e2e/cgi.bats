#!/usr/bin/env bats
# The binary on its own: plain CGI requests (no web server at all), the
# command line, and the commands operators use.

load helpers

setup_file() {
    ze_setup_env
}

teardown_file() {
    ze_teardown_env
}

teardown() {
    ze_check_clean
}

@test "CGI: health with PATH_INFO answers 200 and db up" {
    ze_cgi GET /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json db "$HTTP_BODY")" up
}

@test "CGI: a signed event is stored" {
    body=$(ze_event meeting.participant_joined 9001 cgi-uuid 1700000001000 u-cgi "Cgi Person")
    read -r ts sig < <(ze_sign "$body")
    ze_cgi POST /zoom_events/events "$body" HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" \
        HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$HTTP_BODY" '{"status":"accepted"}'
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'cgi-uuid'")" 1
}

@test "CGI: routes on REQUEST_URI when neither PATH_INFO nor SCRIPT_NAME is set" {
    ze_cgi GET "" "" REQUEST_URI='/zoom_events/health?x=1'
    ze_eq "$HTTP_STATUS" 200
}

@test "CGI: unknown path 404, wrong method 405 with Allow" {
    ze_cgi GET /zoom_events/other
    ze_eq "$HTTP_STATUS" 404
    ze_eq "$HTTP_BODY" '{"error":"no such resource"}'
    ze_cgi DELETE /zoom_events/health
    ze_eq "$HTTP_STATUS" 405
    [[ $HTTP_HEADERS == *"allow: get, head"* ]]
}

@test "--help and --version exit 0; an unknown option exits 2" {
    run "$ZE_BIN" --help
    [ "$status" -eq 0 ]
    [[ $output == *"usage: zoom_events"* ]]
    run "$ZE_BIN" --version
    [ "$status" -eq 0 ]
    [[ $output =~ ^zoom_events\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
    run "$ZE_BIN" --bogus
    [ "$status" -eq 2 ]
}

@test "--check-config connects, finds the tables and masks secrets" {
    run "$ZE_BIN" --check-config
    [ "$status" -eq 0 ]
    [[ $output == *"schema: zoom_visit_events, zoom_rejected_events, zoom_stats present"* ]]
    [[ $output == *"webhook_secret = (set, hidden)"* ]]
    [[ $output != *"$ZE_SECRET"* ]]
    [[ ${lines[-1]} == ok ]]
}

@test "--check-config fails, naming the table, on a database without the schema" {
    ze_db_sql "$DBDIR" -e "CREATE DATABASE IF NOT EXISTS ze_empty"
    ZOOM_EVENTS_DB_NAME=ze_empty run "$ZE_BIN" --check-config
    [ "$status" -eq 1 ]
    [[ $output == *"table zoom_visit_events is missing"* ]]
}

@test "--check-config fails when the database is unreachable" {
    ZOOM_EVENTS_DB_SOCKET=$ZT/nothing.sock run "$ZE_BIN" check-config
    [ "$status" -eq 1 ]
    [[ $output == *"cannot connect"* ]]
}

@test "a bad setting stops start-up with a message naming it" {
    ZOOM_EVENTS_DB_PORT=70000 run "$ZE_BIN" -d -s "$ZT/bad.sock"
    [ "$status" -eq 1 ]
    [[ $output == *"ZOOM_EVENTS_DB_PORT"*"from 1 to 65535"* ]]
    ZOOM_EVENTS_MAX_BODY=12 run "$ZE_BIN" -d -s "$ZT/bad.sock"
    [ "$status" -eq 1 ]
    [[ $output == *"ZOOM_EVENTS_MAX_BODY"* ]]
    ZOOM_EVENTS_LOG_LEVEL=loud run "$ZE_BIN" -d -s "$ZT/bad.sock"
    [ "$status" -eq 1 ]
    [[ $output == *"ZOOM_EVENTS_LOG_LEVEL"* ]]
}

@test "sign prints headers that openssl agrees with" {
    body='{"event":"meeting.started","payload":{}}'
    run sh -c "printf '%s' '$body' | '$ZE_BIN' sign -t 1700000000"
    [ "$status" -eq 0 ]
    ze_eq "${lines[0]}" "x-zm-request-timestamp: 1700000000"
    ze_eq "${lines[1]}" "x-zm-signature: v0=$(printf 'v0:1700000000:%s' "$body" | ze_hmac "$ZE_SECRET")"
}

@test "validate-token prints the encryptedToken openssl computes" {
    run "$ZE_BIN" validate-token qgg8vlvZRS6UYooatFL8Aw
    [ "$status" -eq 0 ]
    ze_eq "$output" "$(printf '%s' qgg8vlvZRS6UYooatFL8Aw | ze_hmac "$ZE_SECRET")"
}

@test "SIGTERM stops an idle worker with exit 0 within a second" {
    "$ZE_BIN" -s "$ZT/idle.sock" 3>&- &
    pid=$!
    ze_wait_socket "$ZT/idle.sock"
    start=$(date +%s%N)
    kill -TERM "$pid"
    wait "$pid"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    ze_eq "$rc" 0
    [ "$ms" -lt 1000 ]
}

@test "-F runs a supervised pool that replaces a killed worker and stops on SIGTERM" {
    "$ZE_BIN" -s "$ZT/pool.sock" -F 2 3>&- &
    sup=$!
    ze_wait_socket "$ZT/pool.sock"
    sleep 0.3
    kids=$(pgrep -P "$sup" | sort)
    ze_eq "$(echo "$kids" | wc -l)" 2
    victim=$(echo "$kids" | head -1)
    kill -KILL "$victim"
    for i in $(seq 1 50); do
        now=$(pgrep -P "$sup" | sort)
        [ "$(echo "$now" | wc -l)" -eq 2 ] && [[ $now != *"$victim"* ]] && break
        sleep 0.1
    done
    [[ $now != *"$victim"* ]]
    ze_eq "$(echo "$now" | wc -l)" 2
    ze_fcgi "$ZT/pool.sock" GET /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    kill -TERM "$sup"
    wait "$sup"
    ze_eq "$?" 0
    for k in $now; do ze_refute ze_alive "$k"; done
}

@test "-F: SIGHUP re-reads the configuration file and replaces the workers" {
    unset ZOOM_EVENTS_WEBHOOK_SECRET ZOOM_EVENTS_CONFIG
    printf '[zoom]\nwebhook_secret = "first-secret"\n' >"$ZT/hup.toml"
    "$ZE_BIN" -c "$ZT/hup.toml" -s "$ZT/hup.sock" -F 2 3>&- &
    sup=$!
    ze_wait_socket "$ZT/hup.sock"
    body=$(ze_event meeting.started 9101 hup-uuid 1700000001100)
    read -r ts sig < <(ze_sign "$body" "" first-secret)
    ze_fcgi "$ZT/hup.sock" POST /zoom_events/events "$body" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    printf '[zoom]\nwebhook_secret = "second-secret"\n' >"$ZT/hup.toml"
    old=$(pgrep -P "$sup" | sort)
    kill -HUP "$sup"
    for i in $(seq 1 50); do
        now=$(pgrep -P "$sup" | sort)
        [ "$(echo "$now" | wc -l)" -eq 2 ] && [ -z "$(comm -12 <(echo "$old") <(echo "$now"))" ] && break
        sleep 0.1
    done
    ze_eq "$(comm -12 <(echo "$old") <(echo "$now"))" ""
    ze_fcgi "$ZT/hup.sock" POST /zoom_events/events "$body" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 401
    read -r ts sig < <(ze_sign "$body" "" second-secret)
    ze_fcgi "$ZT/hup.sock" POST /zoom_events/events "$body" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    kill -TERM "$sup"
    wait "$sup"
}

@test "SIGUSR1 (libfcgi's graceful stop) ends a worker, and a supervisor with its workers" {
    "$ZE_BIN" -s "$ZT/usr1.sock" 3>&- &
    pid=$!
    ze_wait_socket "$ZT/usr1.sock"
    kill -USR1 "$pid"
    wait "$pid"
    ze_eq "$?" 0
    "$ZE_BIN" -s "$ZT/usr1f.sock" -F 2 3>&- &
    sup=$!
    ze_wait_socket "$ZT/usr1f.sock"
    sleep 0.3
    kids=$(pgrep -P "$sup")
    kill -USR1 "$sup"
    wait "$sup"
    ze_eq "$?" 0
    for k in $kids; do ze_refute ze_alive "$k"; done
}
