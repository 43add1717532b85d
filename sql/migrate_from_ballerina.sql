-- Move the rows of the Ballerina service's zoom_visit_events into the
-- zoom_events schema.  Three steps, on the service's database, with the
-- service stopped:
--
--   mariadb DB -e 'RENAME TABLE zoom_visit_events TO zoom_visit_events_ballerina'
--   mariadb DB < sql/schema.sql
--   mariadb DB < sql/migrate_from_ballerina.sql
--
-- A NULL participant_id becomes '' ("no participant"), so the duplicates
-- the old key let in (meeting.started/ended delivered twice) collapse into
-- one row: the oldest is kept.  The session is strict: an id that is not
-- ASCII stops the copy with an error instead of being mangled; nothing is
-- committed then, and the old table is untouched either way.  Drop
-- zoom_visit_events_ballerina once the counts below look right.

SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';
START TRANSACTION;
INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name, event_ts,
    participant_id, participant_name, latency_ms, interpreter_requested, raw,
    created_at)
SELECT meeting_id, visit_uuid, event_name, event_ts,
    IFNULL(participant_id, ''), participant_name, latency_ms,
    interpreter_requested, IFNULL(raw, '{}'), created_at
FROM zoom_visit_events_ballerina
ORDER BY id
ON DUPLICATE KEY UPDATE id = zoom_visit_events.id;
-- The counters start from what the old table holds.
DELETE FROM zoom_stats WHERE instance = 'migrated';
INSERT INTO zoom_stats (instance, slot, received, inserted)
SELECT 'migrated', 0, COUNT(*), (SELECT COUNT(*) FROM zoom_visit_events)
FROM zoom_visit_events_ballerina;
COMMIT;

SELECT (SELECT COUNT(*) FROM zoom_visit_events_ballerina) AS old_rows,
       (SELECT COUNT(*) FROM zoom_visit_events) AS new_rows;
