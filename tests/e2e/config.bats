#!/usr/bin/env bats
# Configuration as operators write it: the Ballerina service's Config.toml
# unchanged in form, the [db] alias, environment overrides, permissions
# warnings, and the least-privilege account from sql/grants.sql.

load helpers

setup_file() {
    ze_setup_env private
    # A password account reached over TCP, like the seed's set-up.
    ze_db_sql "$DBDIR" -e "CREATE USER 'seed'@'127.0.0.1' IDENTIFIED BY 's3cr3t \"pw\"';
        GRANT ALL ON \`$DBNAME\`.* TO 'seed'@'127.0.0.1'"
}

teardown_file() {
    ze_teardown_env
}

teardown() {
    ze_check_clean
}

# Config.toml in the seed's exact form.
seed_config() {
    cat >"$1" <<TOML
[healthcare_integration.healthcare_integration.db]
host = "127.0.0.1"
port = $DB_PORT
user = "seed"
password = "s3cr3t \\"pw\\""
database = "$DBNAME"
TOML
    chmod 600 "$1"
}

no_db_env() {
    unset ZOOM_EVENTS_DB_SOCKET ZOOM_EVENTS_DB_USER ZOOM_EVENTS_DB_NAME ZOOM_EVENTS_CONFIG
}

@test "the seed's Config.toml works as is, with -c" {
    seed_config "$ZT/Config.toml"
    no_db_env
    run "$ZE_BIN" -c "$ZT/Config.toml" --check-config
    [ "$status" -eq 0 ]
    [[ $output == *"[db] host = \"127.0.0.1\""* ]]
    [[ $output == *"[db] user = \"seed\""* ]]
    [[ $output == *"password = (set, hidden)"* ]]
    [[ $output != *"s3cr3t"* ]]
}

@test "the seed's Config.toml found through ZOOM_EVENTS_CONFIG serves events" {
    seed_config "$ZT/Config.toml"
    no_db_env
    body=$(ze_event meeting.started 8001 cfg-uuid 1700000003000)
    read -r ts sig < <(ze_sign "$body")
    ZOOM_EVENTS_CONFIG=$ZT/Config.toml ze_cgi POST /zoom_events/events "$body" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'cfg-uuid'")" 1
}

@test "./Config.toml in the working directory is the default" {
    mkdir -p "$ZT/cwd"
    seed_config "$ZT/cwd/Config.toml"
    no_db_env
    cd "$ZT/cwd"
    run "$ZE_BIN" --check-config
    [ "$status" -eq 0 ]
    [[ $output == *"config file: Config.toml"* ]]
}

@test "the [db] table, # comments and single quotes are accepted" {
    cat >"$ZT/db.toml" <<TOML
# zoom_events
[db]
host = '127.0.0.1'   # loopback
port = $DB_PORT
user = "seed"
password = 's3cr3t "pw"'
database = "$DBNAME"

[zoom]
signature_max_age_s = 120

[zoom_events]
log_level = "debug"
TOML
    chmod 600 "$ZT/db.toml"
    no_db_env
    run "$ZE_BIN" -c "$ZT/db.toml" --check-config
    [ "$status" -eq 0 ]
    [[ $output == *"signature_max_age_s = 120"* ]]
    [[ $output == *"log_level = \"debug\""* ]]
}

@test "environment variables override the file" {
    seed_config "$ZT/Config.toml"
    sed -i 's/^password = .*/password = "wrong"/' "$ZT/Config.toml"
    no_db_env
    run "$ZE_BIN" -c "$ZT/Config.toml" --check-config
    [ "$status" -eq 1 ]
    ZOOM_EVENTS_DB_PASSWORD='s3cr3t "pw"' run "$ZE_BIN" -c "$ZT/Config.toml" --check-config
    [ "$status" -eq 0 ]
}

@test "an unknown key is an error naming the file, line and key" {
    seed_config "$ZT/Config.toml"
    echo 'pasword = "typo"' >>"$ZT/Config.toml"
    no_db_env
    run "$ZE_BIN" -c "$ZT/Config.toml" --check-config
    [ "$status" -eq 1 ]
    [[ $output == *"Config.toml line 7: [healthcare_integration.healthcare_integration.db] pasword: unknown key"* ]]
}

@test "a missing explicit config file is an error" {
    run "$ZE_BIN" -c "$ZT/absent.toml" --check-config
    [ "$status" -eq 1 ]
    [[ $output == *"cannot open $ZT/absent.toml"* ]]
}

@test "a password in a world-readable file is warned about at start" {
    seed_config "$ZT/Config.toml"
    chmod 644 "$ZT/Config.toml"
    no_db_env
    run "$ZE_BIN" -c "$ZT/Config.toml" --check-config
    [[ $output == *"readable by everyone (mode 0644): chmod 600 it"* ]]
}

@test "the least-privilege account of sql/grants.sql can do everything the service does" {
    sed -e "s/zoom_events\\./$DBNAME./g" -e "s/'localhost'/'127.0.0.1'/g" \
        -e "s/change-me/lp-pass/" "$ZE_ROOT/sql/grants.sql" | ze_db_sql "$DBDIR"
    export ZOOM_EVENTS_DB_HOST=127.0.0.1 ZOOM_EVENTS_DB_PORT=$DB_PORT
    export ZOOM_EVENTS_DB_USER=zoom_events ZOOM_EVENTS_DB_PASSWORD=lp-pass
    unset ZOOM_EVENTS_DB_SOCKET
    run "$ZE_BIN" --check-config
    [ "$status" -eq 0 ]
    body=$(ze_event meeting.participant_joined 8002 lp-uuid 1700000003001 u-lp)
    read -r ts sig < <(ze_sign "$body")
    for i in 1 2; do
        ze_cgi POST /zoom_events/events "$body" HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" \
            HTTP_X_ZM_SIGNATURE="$sig"
        ze_eq "$HTTP_STATUS" 202
    done
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'lp-uuid'")" 1
    bad='{"event":"meeting.started","event_ts":1.5,"payload":{"object":{"id":"8003","uuid":"lp-bad"}}}'
    read -r ts sig < <(ze_sign "$bad")
    ze_cgi POST /zoom_events/events "$bad" HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" \
        HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    ze_cgi GET /zoom_events/health
    ze_eq "$(ze_json db "$HTTP_BODY")" up
    run "$ZE_BIN" replay-rejected
    [ "$status" -eq 0 ]
    # The account cannot change the schema.
    run ze_db_sql "$DBDIR" -uzoom_events -plp-pass -h127.0.0.1 -P"$DB_PORT" \
        --protocol=tcp "$DBNAME" -e "DROP TABLE zoom_stats"
    [ "$status" -ne 0 ]
    [[ $output == *"DROP command denied"* ]]
}
