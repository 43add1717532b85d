-- A least-privilege account for the service.  Edit the password (or use
-- IDENTIFIED VIA unix_socket on MariaDB) and the database name, then run as
-- an administrator:  mariadb < sql/grants.sql
-- The service needs: INSERT and UPDATE (ON DUPLICATE KEY UPDATE) on the
-- events and counters, SELECT to read counters and dead letters, DELETE on
-- dead letters (replay-rejected moves rows out), on the rows "zoom_events
-- purge" removes and on the visit facts it recomputes.  The audit trail is
-- append-only: INSERT and SELECT, no UPDATE, no DELETE.  No DDL, no FILE.
CREATE USER IF NOT EXISTS 'zoom_events'@'localhost' IDENTIFIED BY 'change-me';
GRANT SELECT, INSERT, UPDATE, DELETE ON zoom_events.zoom_visit_events
    TO 'zoom_events'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON zoom_events.zoom_rejected_events
    TO 'zoom_events'@'localhost';
GRANT SELECT, INSERT, UPDATE ON zoom_events.zoom_stats
    TO 'zoom_events'@'localhost';
GRANT SELECT, INSERT, DELETE ON zoom_events.zoom_deliveries
    TO 'zoom_events'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON zoom_events.zoom_visits
    TO 'zoom_events'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON zoom_events.zoom_participant_sessions
    TO 'zoom_events'@'localhost';
GRANT SELECT, INSERT, UPDATE ON zoom_events.zoom_visits_refresh
    TO 'zoom_events'@'localhost';
GRANT SELECT, INSERT ON zoom_events.zoom_audit
    TO 'zoom_events'@'localhost';
