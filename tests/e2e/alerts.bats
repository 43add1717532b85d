#!/usr/bin/env bats
# Alerts end to end: Debian's Prometheus scrapes the real service through
# nginx's loopback listener and evaluates the shipped rules
# (deploy/prometheus/zoom_events.rules.yml) while the tests make each
# alert's cause happen for real: the database stopped (DatabaseDown,
# SpoolBacklog), 401s (SignatureFailures), a dead letter (DeadLetters), a
# delivery two hours late and an open visit after `visits refresh`
# (DeliveryLagHigh, OpenVisits), a URL validation left to age
# (ValidationOverdue), no deliveries (NoDeliveries), the workers stopped
# (WorkersDown).  Each alert fires and resolves.  (GaleraNotSynced needs a
# cluster: tests/prometheus/rules_test.yml only.)  Then: the Grafana
# dashboard and the rules use only metrics the service exports; the
# shipped Prometheus and Alertmanager files check, and the rules' unit
# tests pass.
#
# The rules are loaded as shipped but for their durations and some
# thresholds, shortened by sed (prom_rules): every `for:` becomes 3s, every
# range [Nm] becomes [10s] and every `offset Nm` `offset 10s`; the spool
# age threshold of 600 s becomes 5 s, the 1800 s without deliveries 20 s,
# the 80 hours without a URL validation 15 s.

load helpers

PROM_SHIPPED=$ZE_ROOT/deploy/prometheus

setup_file() {
    ze_setup_env private
    # Reconnect soon after the database comes back.
    export ZOOM_EVENTS_DB_RETRY_MS=200
    # Two labelled secrets: ze_post signs with ZE_SECRET, label "clinic";
    # "north" never verifies anything.
    export ZOOM_EVENTS_WEBHOOK_SECRET="clinic:$ZE_SECRET,north:north-secret-7d2e41"
    # A visit open for an hour is overdue (ZoomEventsOpenVisits).
    export ZOOM_EVENTS_VISIT_OPEN_ALERT=3600
    ze_start_nginx_stack 2
    prom_start
}

teardown_file() {
    prom_stop
    ze_teardown_env
}

teardown() {
    if ! ze_alive "$(ze_db_pid "$DBDIR")"; then
        ze_db_start "$DBDIR" "$DB_PORT"
    fi
    if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "$PROM_DIR/prometheus.log" ]; then
        echo "--- last lines of prometheus.log:" >&2
        tail -n 5 "$PROM_DIR/prometheus.log" >&2
    fi
    ze_check_clean
}

# ---- Prometheus ----

# The shipped rules with short durations (see the header).
prom_rules() {
    sed -e 's/^\( *for: \).*/\13s/' \
        -e 's/\[[0-9]*m\]/[10s]/g' \
        -e 's/offset [0-9]*m/offset 10s/g' \
        -e 's/oldest_age_seconds > 600/oldest_age_seconds > 5/' \
        -e 's/) > 1800$/) > 20/' \
        -e 's/> 80 \* 3600$/> 15/' \
        "$PROM_SHIPPED/zoom_events.rules.yml"
}

# Prometheus on a private port with a temporary database, scraping the
# loopback listener every second, evaluating every second.
prom_start() {
    local i
    export PROM_DIR=$ZT/prometheus PROM_PORT
    PROM_PORT=$(ze_free_port "$HTTPS_PORT" "$HTTP_PORT" "$DB_PORT")
    mkdir -p "$PROM_DIR/data"
    prom_rules >"$PROM_DIR/zoom_events.rules.yml"
    # Every shortening took (a changed rule must change prom_rules too).
    local short
    for short in 'for: 3s' '[10s]' 'offset 10s' 'oldest_age_seconds > 5' \
        ') > 20' '> 15'; do
        grep -qF -- "$short" "$PROM_DIR/zoom_events.rules.yml" || {
            echo "prom_rules: nothing became '$short'" >&2
            return 1
        }
    done
    if grep -v '^ *#' "$PROM_DIR/zoom_events.rules.yml" |
        grep -E 'for: [0-9]+[mh]|\[[0-9]+[mh]\]|offset [0-9]+[mh]|> (600|1800|80 \* 3600)$' >&2; then
        echo "prom_rules: the lines above were not shortened" >&2
        return 1
    fi
    cat >"$PROM_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [zoom_events.rules.yml]
scrape_configs:
  - job_name: zoom_events
    metrics_path: /zoom_events/metrics
    static_configs:
      - targets: ["127.0.0.1:$HTTP_PORT"]
EOF
    promtool check config "$PROM_DIR/prometheus.yml" >&2 || return 1
    (
        prometheus --config.file="$PROM_DIR/prometheus.yml" \
            --storage.tsdb.path="$PROM_DIR/data" \
            --web.listen-address="127.0.0.1:$PROM_PORT" \
            </dev/null >"$PROM_DIR/prometheus.log" 2>&1 3>&- &
        echo $! >"$PROM_DIR/pid"
    )
    for i in $(seq 1 150); do
        if curl -fsS "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    echo "prometheus did not start:" >&2
    tail -n 20 "$PROM_DIR/prometheus.log" >&2
    return 1
}

prom_stop() {
    [ -n "${PROM_DIR:-}" ] || return 0
    ze_stop_pid "$(cat "$PROM_DIR/pid" 2>/dev/null)" TERM 10
}

# The values of an instant query, one per line.  (promtool, not curl and
# a JSON parser: quick enough to poll every second.)
prom_query() {
    local out
    out=$(promtool query instant "http://127.0.0.1:$PROM_PORT" "$1") || return 1
    printf '%s\n' "$out" | sed -n 's/.* => \([^ ]*\) @\[.*/\1/p'
}

# "ALERTNAME STATE LABEL=VALUE..." for each active (pending or firing)
# alert, its other labels sorted: Prometheus' ALERTS series.
prom_alerts() {
    local out
    out=$(promtool query instant "http://127.0.0.1:$PROM_PORT" ALERTS) || return 1
    printf '%s\n' "$out" | awk '
        !/^ALERTS\{/ { next }
        {
            sub(/^ALERTS\{/, ""); sub(/\} => .*/, "")
            n = split($0, kv, /", /)
            name = state = rest = ""
            for (i = 1; i <= n; i++) {
                k = kv[i]; sub(/=.*/, "", k)
                v = kv[i]; sub(/^[^=]*="/, "", v); sub(/"$/, "", v)
                if (k == "alertname") name = v
                else if (k == "alertstate") state = v
                else rest = rest " " k "=" v
            }
            print name, state rest
        }'
}

# firing ALERTNAME [LABEL=VALUE...]: an alert of that name, with those
# labels, fires.
firing() {
    local name=$1 a line want ok
    shift
    a=$(prom_alerts) || return 1
    while IFS= read -r line; do
        [[ $line == "$name firing"* ]] || continue
        ok=1
        for want in "$@"; do
            [[ " $line " == *" $want "* ]] || ok=""
        done
        [ -n "$ok" ] && return 0
    done <<<"$a"
    return 1
}

# Neither pending nor firing (a failed query is not "inactive").
inactive() {
    local a
    a=$(prom_alerts) || return 1
    ! grep -q "^$1 " <<<"$a"
}

# The value of an instant query with one result.
query_is() {
    [ "$(prom_query "$1")" = "$2" ]
}

db_up_is() {
    [ "$(prom_query zoom_events_db_up)" = "$1" ]
}

# wait_until SECONDS CMD...: run CMD every second until it succeeds.
wait_until() {
    local secs=$1 i
    shift
    for i in $(seq 1 "$secs"); do
        "$@" && return 0
        sleep 1
    done
    echo "not within ${secs} s: $*; active alerts:" >&2
    prom_alerts >&2 || true
    return 1
}

# ---- tests ----

@test "database stopped: DatabaseDown and SpoolBacklog fire; restarted: both resolve" {
    # Prometheus scrapes the service through nginx; all is well.
    wait_until 30 db_up_is 1
    inactive ZoomEventsDatabaseDown
    inactive ZoomEventsSpoolBacklog
    ze_db_kill "$DBDIR"
    for i in 1 2 3; do
        ze_post "$BASE/zoom_events/events" "$(ze_event meeting.started 9001 alert-uuid-$i)"
        ze_eq "$HTTP_STATUS" 202
        [[ $HTTP_HEADERS == *"x-zoom-events-outcome: spooled"* ]]
    done
    start=$SECONDS
    wait_until 60 firing ZoomEventsDatabaseDown
    wait_until 60 firing ZoomEventsSpoolBacklog
    fired=$((SECONDS - start))
    ze_db_start "$DBDIR" "$DB_PORT"
    start=$SECONDS
    wait_until 60 inactive ZoomEventsDatabaseDown
    wait_until 60 inactive ZoomEventsSpoolBacklog
    echo "# both firing after ${fired} s, resolved $((SECONDS - start)) s after the restart" >&3
    # Prometheus' scrapes replayed the spool.
    ze_eq "$(ze_count zoom_visit_events "visit_uuid LIKE 'alert-uuid-%'")" 3
}

@test "401s: a known account's pages for its label; a burst from unknown senders makes a ticket; both resolve" {
    wait_until 30 db_up_is 1
    # acc1's deliveries verify with "clinic" (the host learns it) ...
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.started 9002 sig-uuid-1)"
    ze_eq "$HTTP_STATUS" 202
    inactive ZoomEventsSignatureFailures
    # ... then one fails: a secret rotated on one side only.
    ZE_SIG=v0=0000 ze_post "$BASE/zoom_events/events" \
        "$(ze_event meeting.started 9002 sig-uuid-2)"
    ze_eq "$HTTP_STATUS" 401
    wait_until 30 firing ZoomEventsSignatureFailures severity=page label=clinic
    ze_refute firing ZoomEventsSignatureFailures severity=ticket
    # More than 10 from senders with no known account (label "unknown"),
    # at once: one curl, one connection.
    printf '%s' '{"event":"probe"}' >"$ZT/probe.body"
    args=()
    for i in $(seq 1 15); do
        args+=(-o /dev/null "$BASE/zoom_events/events")
    done
    codes=$(curl -sS --max-time 30 -w '%{http_code}\n' -X POST \
        -H 'Content-Type: application/json' \
        -H "x-zm-request-timestamp: $(date +%s)" -H 'x-zm-signature: v0=0000' \
        --data-binary "@$ZT/probe.body" "${args[@]}")
    ze_eq "$(grep -cx 401 <<<"$codes")" 15
    wait_until 30 firing ZoomEventsSignatureFailures severity=ticket
    ze_refute firing ZoomEventsSignatureFailures label=unknown
    ze_eq "$(prom_query 'sum(zoom_events_signature_failures_total{label="unknown"})')" \
        "$(prom_query 'sum(zoom_events_rejected_auth_total) - sum(zoom_events_signature_failures_total{label!="unknown"})')"
    wait_until 60 inactive ZoomEventsSignatureFailures
}

@test "a dead letter: DeadLetters fires for its reason and resolves" {
    wait_until 30 db_up_is 1
    ze_post "$BASE/zoom_events/events" \
        '{"event":"user.created","event_ts":1700000000000,"payload":{"account_id":"acc1","object":{"id":"u1"}}}'
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: ignored"* ]]
    wait_until 30 firing ZoomEventsDeadLetters reason=not_meeting_event
    wait_until 60 inactive ZoomEventsDeadLetters
}

@test "a delivery 2 hours late fires DeliveryLagHigh; its visit, open past visit_open_alert, fires OpenVisits once visits refresh ran; both resolve" {
    wait_until 30 db_up_is 1
    ts=$(( ($(date +%s) - 7000) * 1000 ))
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.started 9100 late-uuid-1 "$ts")"
    ze_eq "$HTTP_STATUS" 202
    [[ $HTTP_HEADERS == *"x-zoom-events-outcome: inserted"* ]]
    wait_until 30 firing ZoomEventsDeliveryLagHigh
    # The visit gauges count zoom_visits, which only `visits refresh`
    # (zoom-events-visits.timer) updates.
    wait_until 10 query_is 'zoom_events_visits_open_overdue' 0
    inactive ZoomEventsOpenVisits
    run "$ZE_BIN" visits refresh
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
    wait_until 30 query_is 'zoom_events_visits_open_overdue' 1
    wait_until 30 firing ZoomEventsOpenVisits
    # The meeting ends: no longer open after the next refresh.
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.ended 9100 late-uuid-1)"
    ze_eq "$HTTP_STATUS" 202
    run "$ZE_BIN" visits refresh
    [ "$status" -eq 0 ]
    ze_eq "$(ze_sql "SELECT status FROM zoom_visits WHERE visit_uuid = 'late-uuid-1'")" ended
    wait_until 30 inactive ZoomEventsOpenVisits
    wait_until 60 inactive ZoomEventsDeliveryLagHigh
}

@test "a URL validation left to age fires ValidationOverdue for its label only; the next one clears it" {
    wait_until 30 db_up_is 1
    validation='{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}'
    ze_post "$BASE/zoom_events/events" "$validation"
    ze_eq "$HTTP_STATUS" 200
    wait_until 10 inactive ZoomEventsValidationOverdue
    # "north" never answered one: no series, no alert.
    ze_eq "$(prom_query 'count(zoom_events_last_url_validation_timestamp_seconds{label="north"})')" ""
    wait_until 40 firing ZoomEventsValidationOverdue label=clinic
    ze_eq "$(prom_alerts | grep -c '^ZoomEventsValidationOverdue ')" 1
    ze_post "$BASE/zoom_events/events" "$validation"
    ze_eq "$HTTP_STATUS" 200
    wait_until 10 inactive ZoomEventsValidationOverdue
}

@test "no delivery for longer than the threshold fires NoDeliveries; a delivery clears it" {
    wait_until 30 db_up_is 1
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.started 9003 quiet-uuid-1)"
    ze_eq "$HTTP_STATUS" 202
    wait_until 15 inactive ZoomEventsNoDeliveries
    wait_until 60 firing ZoomEventsNoDeliveries
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.started 9003 quiet-uuid-2)"
    ze_eq "$HTTP_STATUS" 202
    wait_until 15 inactive ZoomEventsNoDeliveries
}

@test "workers stopped: WorkersDown fires; started again: it resolves" {
    wait_until 30 db_up_is 1
    inactive ZoomEventsWorkersDown
    ze_workers_stop "$ZT"
    wait_until 30 firing ZoomEventsWorkersDown
    ze_workers_start "$ZT" 2
    wait_until 30 inactive ZoomEventsWorkersDown
    wait_until 30 query_is 'zoom_events_workers' 2
}

# Every family the dashboard and the rules use must have samples in the
# real output: first make the conditional ones appear (a URL validation
# for last_url_validation, a dead letter, visits refresh, the database
# up for the database families and visits gauges).
@test "the dashboard and the rules use only metrics that /metrics exports" {
    validation='{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}'
    ze_post "$BASE/zoom_events/events" "$validation"
    ze_eq "$HTTP_STATUS" 200
    ze_post "$BASE/zoom_events/events" "$(ze_event meeting.started 9004 names-uuid-1)"
    ze_eq "$HTTP_STATUS" 202
    ze_post "$BASE/zoom_events/events" \
        '{"event":"user.updated","event_ts":1700000000000,"payload":{"account_id":"acc1","object":{"id":"u2"}}}'
    ze_eq "$HTTP_STATUS" 202
    ZE_SIG=v0=0000 ze_post "$BASE/zoom_events/events" '{"event":"probe"}'
    ze_eq "$HTTP_STATUS" 401
    run "$ZE_BIN" visits refresh
    [ "$status" -eq 0 ]
    for i in $(seq 1 20); do
        ze_http GET "$BASE/zoom_events/metrics"
        [[ $HTTP_BODY == *$'\nzoom_events_db_up 1\n'* ]] && break
        sleep 0.5
    done
    ze_eq "$HTTP_STATUS" 200
    # The families that have samples (histograms by their base name).
    printf '%s\n' "$HTTP_BODY" | awk '
        /^# TYPE / { type[$3] = $4; next }
        /^#/ || !NF { next }
        {
            f = $1; sub(/\{.*/, "", f)
            if (!(f in type)) {
                b = f; sub(/_(bucket|sum|count)$/, "", b)
                if (type[b] == "histogram") f = b
            }
            print f
        }' | sort -u >"$ZT/metric_names.txt"
    # Those that appear only under conditions are there.
    for f in zoom_events_last_url_validation_timestamp_seconds \
        zoom_events_dead_letters zoom_events_visits_open \
        zoom_events_visits_open_overdue zoom_events_spool_pending \
        zoom_events_spool_oldest_age_seconds zoom_events_received_total; do
        grep -qx "$f" "$ZT/metric_names.txt" || { echo "no samples of $f" >&2; false; }
    done
    run "$ZE_ROOT/tests/prometheus/check_dashboard.sh" "$ZT/metric_names.txt"
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
    # The names list kept for trying check_dashboard.sh by hand is current.
    run diff <(grep -v '^#' "$ZE_ROOT/tests/prometheus/metric_names.txt" | sort) \
        "$ZT/metric_names.txt"
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
}

@test "the shipped Prometheus and Alertmanager files check and the rules' unit tests pass" {
    run promtool check config "$PROM_SHIPPED/prometheus.yml"
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
    run promtool test rules "$ZE_ROOT/tests/prometheus/rules_test.yml" \
        "$ZE_ROOT/tests/prometheus/rules_test_hourly.yml"
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
    run promtool check rules "$PROM_SHIPPED/zoom_events.rules.yml"
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
    # amtool: Debian's prometheus-alertmanager (tests/deps.sh).
    run amtool check-config "$PROM_SHIPPED/alertmanager.yml"
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
}
