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
