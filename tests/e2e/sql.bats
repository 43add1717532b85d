#!/usr/bin/env bats
# The SQL files on a real MariaDB: schema.sql is idempotent, upgrades a
# 1.0 database to the current schema, and the Ballerina service's table
# migrates with its NULL-participant duplicates collapsed.

load helpers

setup_file() {
    ze_setup_env
}

teardown_file() {
    ze_teardown_env
}

# Every table of the current schema, one per line.
TABLES='zoom_audit
zoom_deliveries
zoom_participant_sessions
zoom_rejected_events
zoom_stats
zoom_visit_events
zoom_visits
zoom_visits_refresh'

tables_of() {
    ze_db_sql "$DBDIR" -N -B -e "SELECT table_name FROM information_schema.tables
        WHERE table_schema = '$1' AND table_type = 'BASE TABLE'" | LC_ALL=C sort
}

# The definition of every table of database $1, for comparison.
definitions_of() {
    local t
    for t in $(tables_of "$1"); do
        ze_db_sql "$DBDIR" -N -B "$1" -e "SHOW CREATE TABLE $t" |
            sed 's/ AUTO_INCREMENT=[0-9]*//'
    done
}

@test "schema.sql runs twice on the same database without error" {
    ze_db_sql "$DBDIR" "$DBNAME" <"$ZE_ROOT/sql/schema.sql"
    ze_db_sql "$DBDIR" "$DBNAME" <"$ZE_ROOT/sql/schema.sql"
    ze_eq "$(tables_of "$DBNAME")" "$TABLES"
    # The migration helpers do not stay behind.
    ze_eq "$(ze_sql "SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = '$DBNAME'")" 0
}

@test "schema.sql upgrades a 1.0 database, twice, to exactly the fresh schema, keeping its rows" {
    db=${DBNAME}_v1
    ze_db_sql "$DBDIR" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ze_db_sql "$DBDIR" "$db" <"$ZE_ROOT/tests/fixtures/schema_v1.sql"
    ze_db_sql "$DBDIR" "$db" -e "INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name, event_ts, participant_id, raw)
        VALUES ('1', 'v1-uuid', 'meeting.participant_joined', 5, 'p1', '{}');
        INSERT INTO zoom_stats (instance, slot, received, inserted) VALUES ('old', 0, 1, 1)"
    ze_db_sql "$DBDIR" "$db" <"$ZE_ROOT/sql/schema.sql"
    ze_db_sql "$DBDIR" "$db" <"$ZE_ROOT/sql/schema.sql"
    ze_eq "$(definitions_of "$db")" "$(definitions_of "$DBNAME")"
    ze_eq "$(ze_db_sql "$DBDIR" -N -B "$db" -e "SELECT participant_id, person_key, is_host, IFNULL(event_time_ms, 'NULL') FROM zoom_visit_events")" \
        "$(printf 'p1\t\t0\tNULL')"
    ZOOM_EVENTS_DB_NAME=$db ze_cgi GET /zoom_events/health
    ze_eq "$(ze_json inserted "$HTTP_BODY")" 1
}

@test "the unique key holds for events without a participant at the SQL level" {
    ze_sql "INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name, event_ts, raw)
        VALUES ('1', 'u', 'meeting.started', 1, '{}')"
    run ze_sql "INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name, event_ts, raw)
        VALUES ('1', 'u', 'meeting.started', 1, '{}')"
    [ "$status" -ne 0 ]
    [[ $output == *"Duplicate entry"* ]]
}

@test "uuids that differ only in case are different visits" {
    ze_sql "INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name, event_ts, raw)
        VALUES ('2', 'aB==', 'meeting.started', 1, '{}'), ('2', 'Ab==', 'meeting.started', 1, '{}')"
    ze_eq "$(ze_count zoom_visit_events "meeting_id = '2'")" 2
}

@test "the Ballerina table migrates: rows copied, NULL-participant duplicates collapsed" {
    db=${DBNAME}_mig
    ze_db_sql "$DBDIR" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4"
    # The seed's table, as its README defines it, with the duplicates its
    # key let in.
    ze_db_sql "$DBDIR" "$db" -e "CREATE TABLE zoom_visit_events (
        id INT AUTO_INCREMENT PRIMARY KEY, meeting_id VARCHAR(255) NOT NULL,
        visit_uuid VARCHAR(255) NOT NULL, event_name VARCHAR(100) NOT NULL,
        event_ts BIGINT NOT NULL, participant_id VARCHAR(255),
        participant_name VARCHAR(500), latency_ms INT,
        interpreter_requested TINYINT(1), raw JSON,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        UNIQUE KEY unique_event (meeting_id, visit_uuid, event_name, event_ts, participant_id));
      INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name, event_ts,
        participant_id, participant_name, latency_ms, raw) VALUES
        ('10', 'v1', 'meeting.started', 100, NULL, NULL, NULL, '{\"a\":1}'),
        ('10', 'v1', 'meeting.started', 100, NULL, NULL, NULL, '{\"a\":1}'),
        ('10', 'v1', 'meeting.participant_joined', 101, 'p1', 'Zoë', 45, '{\"b\":2}'),
        ('10', 'v1', 'meeting.ended', 102, NULL, NULL, NULL, NULL)"
    ze_db_sql "$DBDIR" "$db" -e "RENAME TABLE zoom_visit_events TO zoom_visit_events_ballerina"
    ze_db_sql "$DBDIR" "$db" <"$ZE_ROOT/sql/schema.sql"
    run ze_db_sql "$DBDIR" -N -B "$db" <"$ZE_ROOT/sql/migrate_from_ballerina.sql"
    [ "$status" -eq 0 ]
    ze_eq "$output" "$(printf '4\t3')"
    ze_eq "$(ze_db_sql "$DBDIR" -N -B "$db" -e "SELECT CONCAT('[', participant_id, ']'), IFNULL(participant_name, 'NULL') FROM zoom_visit_events ORDER BY event_ts")" \
        "$(printf '[]\tNULL\n[p1]\tZoë\n[]\tNULL')"
    ZOOM_EVENTS_DB_NAME=$db ze_cgi GET /zoom_events/health
    ze_eq "$(ze_json received "$HTTP_BODY")" 4
    ze_eq "$(ze_json inserted "$HTTP_BODY")" 3
    # Once the old table is dropped (README), the migrated database has the
    # current schema, ledger included.
    ze_db_sql "$DBDIR" "$db" -e "DROP TABLE zoom_visit_events_ballerina"
    ze_eq "$(definitions_of "$db")" "$(definitions_of "$DBNAME")"
}
