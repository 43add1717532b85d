#!/usr/bin/env bats
# The SQL files on a real MariaDB: schema.sql is idempotent, and the
# Ballerina service's table migrates with its NULL-participant duplicates
# collapsed.

load helpers

setup_file() {
    ze_setup_env
}

teardown_file() {
    ze_teardown_env
}

@test "schema.sql runs twice on the same database without error" {
    ze_db_sql "$DBDIR" "$DBNAME" <"$ZE_ROOT/sql/schema.sql"
    ze_db_sql "$DBDIR" "$DBNAME" <"$ZE_ROOT/sql/schema.sql"
    ze_eq "$(ze_sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '$DBNAME'")" 3
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
}
