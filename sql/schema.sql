-- zoom_events schema.  Creates every table the service needs on an empty
-- database; safe to run again (every statement is IF NOT EXISTS).
-- Runs unchanged on MariaDB 10.11 and MySQL 8.0: no MySQL-only collation,
-- no MariaDB-only syntax.  Apply with:  mariadb zoom_events < sql/schema.sql
--
-- Differences from the Ballerina service's table, and why:
--  * participant_id is NOT NULL DEFAULT '' ('' = "no participant"): a NULL in
--    a unique key never equals another NULL, so the seed's key let
--    meeting.started/ended events in twice.
--  * The id columns are ASCII with a binary collation: Zoom's uuids are
--    base64, where "aB" and "Ab" are different visits, and the five-column
--    key must fit InnoDB's 3072-byte limit (in utf8mb4 it would not).
--  * raw is LONGTEXT, not JSON: MySQL 8's JSON type re-serializes documents,
--    and raw must hold the exact bytes Zoom signed.  JSON_EXTRACT() works on
--    it in both servers.
--  * id is BIGINT: an INT runs out after 2^31 events.

CREATE TABLE IF NOT EXISTS zoom_visit_events (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    meeting_id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    visit_uuid VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    event_name VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    event_ts BIGINT NOT NULL,
    participant_id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '',
    participant_name VARCHAR(500) CHARACTER SET utf8mb4
        COLLATE utf8mb4_unicode_ci NULL,
    latency_ms INT NULL,
    interpreter_requested TINYINT(1) NULL,
    raw LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE KEY unique_event (meeting_id, visit_uuid, event_name, event_ts,
        participant_id),
    KEY idx_meeting_ts (meeting_id, event_ts),
    KEY idx_event_ts (event_ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Dead letters: authentic deliveries that could not be normalized (or are
-- not meeting events), kept with their reason so that nothing Zoom sent is
-- dropped.  "zoom_events replay-rejected" moves rows that now normalize.
CREATE TABLE IF NOT EXISTS zoom_rejected_events (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    received_at DATETIME(3) NOT NULL,
    reason VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    detail VARCHAR(255) NOT NULL DEFAULT '',
    event_name VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NULL,
    request_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '',
    body_sha256 BINARY(32) NOT NULL,
    raw MEDIUMBLOB NOT NULL,
    UNIQUE KEY uniq_body (body_sha256),
    KEY idx_reason (reason, received_at),
    KEY idx_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Counters, sharded: each worker adds to the row (instance, slot) in the
-- same transaction as the event it counts; readers sum all rows.  One hot
-- row would serialize every worker (and conflict across Galera nodes).
CREATE TABLE IF NOT EXISTS zoom_stats (
    instance VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    slot SMALLINT UNSIGNED NOT NULL,
    received BIGINT UNSIGNED NOT NULL DEFAULT 0,
    inserted BIGINT UNSIGNED NOT NULL DEFAULT 0,
    duplicates BIGINT UNSIGNED NOT NULL DEFAULT 0,
    ignored BIGINT UNSIGNED NOT NULL DEFAULT 0,
    rejected BIGINT UNSIGNED NOT NULL DEFAULT 0,
    rejected_auth BIGINT UNSIGNED NOT NULL DEFAULT 0,
    url_validations BIGINT UNSIGNED NOT NULL DEFAULT 0,
    replayed BIGINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (instance, slot)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- ---------------------------------------------------------------------
-- Migration 2 (zoom_events 1.1): the delivery contract, visit facts and
-- PHI handling.  Each step below is idempotent: it checks
-- information_schema first, so this file brings a 1.0 database (or the
-- Ballerina service's table after sql/migrate_from_ballerina.sql) to the
-- current schema, and does nothing the second time.  Run it as an
-- administrator (ALTER, CREATE ROUTINE); the service's own account has no
-- DDL rights (sql/grants.sql).

DROP PROCEDURE IF EXISTS ze_add_column;
DROP PROCEDURE IF EXISTS ze_add_index;
DELIMITER ;;
CREATE PROCEDURE ze_add_column(IN t VARCHAR(64), IN c VARCHAR(64),
    IN definition TEXT)
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
            WHERE table_schema = DATABASE() AND table_name = t
            AND column_name = c) THEN
        SET @ze_ddl = CONCAT('ALTER TABLE ', t, ' ADD COLUMN ', c, ' ',
            definition);
        PREPARE ze_stmt FROM @ze_ddl;
        EXECUTE ze_stmt;
        DEALLOCATE PREPARE ze_stmt;
    END IF;
END;;
CREATE PROCEDURE ze_add_index(IN t VARCHAR(64), IN i VARCHAR(64),
    IN definition TEXT)
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.statistics
            WHERE table_schema = DATABASE() AND table_name = t
            AND index_name = i) THEN
        SET @ze_ddl = CONCAT('ALTER TABLE ', t, ' ADD KEY ', i, ' ',
            definition);
        PREPARE ze_stmt FROM @ze_ddl;
        EXECUTE ze_stmt;
        DEALLOCATE PREPARE ze_stmt;
    END IF;
END;;
DELIMITER ;

-- Who and when, as normalize.c reads them (README "Normalization"):
-- event_time_ms is the event's own time (join_time, leave_time,
-- date_time, start_time, end_time), NULL when Zoom sent none;
-- participant_key_source names the field participant_id came from;
-- person_key is the person across rejoins; is_host is 1 when the
-- participant is the meeting's host.
CALL ze_add_column('zoom_visit_events', 'event_time_ms',
    'BIGINT NULL AFTER event_ts');
CALL ze_add_column('zoom_visit_events', 'participant_key_source',
    'VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '''' AFTER participant_id');
CALL ze_add_column('zoom_visit_events', 'person_key',
    'VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '''' AFTER participant_key_source');
CALL ze_add_column('zoom_visit_events', 'is_host',
    'TINYINT(1) NOT NULL DEFAULT 0 AFTER person_key');
CALL ze_add_column('zoom_visit_events', 'leave_reason',
    'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL AFTER participant_name');
-- A visit's events by uuid (joins without object.id have meeting_id ''),
-- and the events stored since a time, for "zoom_events visits refresh".
CALL ze_add_index('zoom_visit_events', 'idx_visit', '(visit_uuid, event_ts)');
CALL ze_add_index('zoom_visit_events', 'idx_created', '(created_at)');

-- The delivery ledger: one row per accepted delivery (events, duplicates,
-- dead letters, spool replays), written in the same transaction as what
-- it records.  Never a row for a 401: an unauthenticated request writes
-- nothing.  "zoom_events deliveries" reads it; "zoom_events purge" keeps
-- it to ledger_retention_days by received_at.
CREATE TABLE IF NOT EXISTS zoom_deliveries (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    received_at DATETIME(3) NOT NULL,
    request_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '',
    source_label VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '',
    event_name VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NULL,
    meeting_id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL,
    outcome VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    signature_age_ms BIGINT NULL,
    delivery_lag_ms BIGINT NULL,
    event_id BIGINT UNSIGNED NULL,
    rejected_id BIGINT UNSIGNED NULL,
    event_ts BIGINT NULL,
    KEY idx_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Visit facts (README "Analytics"): one row per visit and one per session
-- of a person in it, computed by "zoom_events visits refresh" (and by
-- "zoom_events report visits" before it reports) from the events, in C
-- (visits.c).  A visit is recomputed whole whenever it has new events, so
-- late, duplicated and out-of-order deliveries give the same rows as a
-- clean stream.  Times are Unix milliseconds, durations whole seconds.
CREATE TABLE IF NOT EXISTS zoom_visits (
    visit_uuid VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL PRIMARY KEY,
    meeting_id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '',
    started_ms BIGINT NULL,
    ended_ms BIGINT NULL,
    status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    duration_s BIGINT NULL,
    participants INT NOT NULL DEFAULT 0,
    host_first_join_ms BIGINT NULL,
    first_patient_join_ms BIGINT NULL,
    patient_wait_for_host_s BIGINT NULL,
    waiting_room_wait_s BIGINT NULL,
    face_to_face_s BIGINT NOT NULL DEFAULT 0,
    rejoins INT NOT NULL DEFAULT 0,
    drops INT NOT NULL DEFAULT 0,
    interpreter_requested TINYINT(1) NOT NULL DEFAULT 0,
    max_latency_ms INT NULL,
    events INT NOT NULL DEFAULT 0,
    last_event_ms BIGINT NULL,
    KEY idx_started (started_ms),
    KEY idx_status (status, started_ms),
    KEY idx_meeting (meeting_id, started_ms)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

CREATE TABLE IF NOT EXISTS zoom_participant_sessions (
    visit_uuid VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    session_no INT NOT NULL,
    meeting_id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '',
    participant_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL,
    participant_id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '',
    is_host TINYINT(1) NOT NULL DEFAULT 0,
    joined_ms BIGINT NOT NULL,
    left_ms BIGINT NULL,
    duration_s BIGINT NULL,
    left_inferred TINYINT(1) NOT NULL DEFAULT 0,
    leave_reason VARCHAR(255) CHARACTER SET utf8mb4
        COLLATE utf8mb4_unicode_ci NULL,
    connection_lost TINYINT(1) NOT NULL DEFAULT 0,
    PRIMARY KEY (visit_uuid, session_no),
    KEY idx_participant (participant_key, joined_ms)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Where the last refresh got to: it looks again at events stored since a
-- little before its previous start (a transaction may commit after the
-- scan that did not yet see it).  One row, written once per refresh.
CREATE TABLE IF NOT EXISTS zoom_visits_refresh (
    name VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
        PRIMARY KEY,
    scanned_from TIMESTAMP NULL,
    finished_at DATETIME(3) NULL,
    visits BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- The audit trail: every command that moves or deletes stored data
-- (purge, replay-rejected, drain, and this file) adds a row.  The service's
-- account may add and read rows but not change or delete them
-- (sql/grants.sql).  "zoom_events audit" lists them.
CREATE TABLE IF NOT EXISTS zoom_audit (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at DATETIME(3) NOT NULL,
    command VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    os_user VARCHAR(64) NOT NULL DEFAULT '',
    os_host VARCHAR(255) NOT NULL DEFAULT '',
    db_user VARCHAR(255) NOT NULL DEFAULT '',
    detail VARCHAR(1024) NOT NULL DEFAULT '',
    rows_affected BIGINT NOT NULL DEFAULT 0,
    KEY idx_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

DROP PROCEDURE ze_add_column;
DROP PROCEDURE ze_add_index;

INSERT INTO zoom_audit (at, command, os_user, os_host, db_user, detail)
VALUES (NOW(3), 'migrate', '', @@hostname, CURRENT_USER(),
    'sql/schema.sql applied (schema 2)');
