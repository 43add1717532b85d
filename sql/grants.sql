-- A least-privilege account for the service.  Edit the password (or use
-- IDENTIFIED VIA unix_socket on MariaDB) and the database name, then run as
-- an administrator:  mariadb < sql/grants.sql
-- The service needs: INSERT and UPDATE (ON DUPLICATE KEY UPDATE) on the
-- events and counters, SELECT to read counters and dead letters, and DELETE
-- on dead letters only (replay-rejected moves rows out).  No DDL, no FILE.
CREATE USER IF NOT EXISTS 'zoom_events'@'localhost' IDENTIFIED BY 'change-me';
GRANT SELECT, INSERT, UPDATE ON zoom_events.zoom_visit_events
    TO 'zoom_events'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON zoom_events.zoom_rejected_events
    TO 'zoom_events'@'localhost';
GRANT SELECT, INSERT, UPDATE ON zoom_events.zoom_stats
    TO 'zoom_events'@'localhost';
