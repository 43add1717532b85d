#!/usr/bin/env bash
# deploy/run-local.sh -- `make run`: the whole service on this machine.
#
# Starts, under ./var/ only (no system service is touched):
#   * a private MariaDB on ./var/mariadb/mysqld.sock, unless a database is
#     configured (./Config.toml, ZOOM_EVENTS_CONFIG or ZOOM_EVENTS_DB_HOST),
#   * 4 zoom_events workers under spawn-fcgi on ./var/run/fcgi.sock,
#   * nginx with the shipped deploy/nginx files: http://127.0.0.1:8280
#     (the Ballerina service's port) and https://127.0.0.1:8443,
# prints curl examples, shows the request log, and stops everything on
# Ctrl-C.  The webhook secret is generated once into ./var/webhook_secret.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ZE_ROOT=$ROOT
cd "$ROOT"
# shellcheck source=../tests/lib/mariadb.sh
. tests/lib/mariadb.sh
# shellcheck source=../tests/lib/stack.sh
. tests/lib/stack.sh

VAR=$ROOT/var
HTTP_PORT=${ZE_HTTP_PORT:-8280}
HTTPS_PORT=${ZE_HTTPS_PORT:-8443}
WORKERS=${ZE_WORKERS:-4}
mkdir -p "$VAR/run" "$VAR/log" "$VAR/spool"
chmod 700 "$VAR"

for p in "$HTTP_PORT" "$HTTPS_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        echo "port $p is in use; set ZE_HTTP_PORT / ZE_HTTPS_PORT" >&2
        exit 1
    fi
done

if [ ! -s "$VAR/webhook_secret" ]; then
    (umask 077 && openssl rand -hex 16 >"$VAR/webhook_secret")
fi
export ZOOM_EVENTS_WEBHOOK_SECRET_FILE=$VAR/webhook_secret
export ZOOM_EVENTS_SPOOL_DIR=$VAR/spool
export ZOOM_EVENTS_LOG=$VAR/log/zoom_events.log

own_db=""
if [ -f Config.toml ] || [ -n "${ZOOM_EVENTS_CONFIG:-}" ] ||
    [ -n "${ZOOM_EVENTS_DB_HOST:-}" ] || [ -n "${ZOOM_EVENTS_DB_SOCKET:-}" ]; then
    echo "using the configured database"
else
    own_db=1
    echo "starting a private MariaDB in var/mariadb"
    ze_db_start "$VAR/mariadb"
    ze_db_sql "$VAR/mariadb" -e "CREATE DATABASE IF NOT EXISTS zoom_events
        CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ze_db_sql "$VAR/mariadb" zoom_events <sql/schema.sql
    export ZOOM_EVENTS_DB_SOCKET=$VAR/mariadb/mysqld.sock
    export ZOOM_EVENTS_DB_USER=root ZOOM_EVENTS_DB_NAME=zoom_events
fi

stop() {
    trap - INT TERM EXIT
    echo
    echo "stopping"
    [ -n "${tailer:-}" ] && kill "$tailer" 2>/dev/null
    ze_nginx_stop "$VAR/run"
    ze_workers_stop "$VAR/run"
    [ -n "$own_db" ] && ze_db_stop "$VAR/mariadb"
    exit 0
}
trap stop INT TERM EXIT

"$ROOT/zoom_events" --check-config >"$VAR/log/check-config.txt" || {
    cat "$VAR/log/check-config.txt" >&2
    exit 1
}
ze_workers_start "$VAR/run" "$WORKERS"
ze_nginx_start "$VAR/run" "$VAR/run/fcgi.sock" "$HTTPS_PORT" "$HTTP_PORT"

cat <<EOF

zoom_events is running: $WORKERS workers, nginx on http://127.0.0.1:$HTTP_PORT
and https://127.0.0.1:$HTTPS_PORT (self-signed).  Logs: var/log/.

  curl -s http://127.0.0.1:$HTTP_PORT/zoom_events/health

A signed test event (the secret is in var/webhook_secret):

  body='{"event":"meeting.participant_joined","event_ts":1234567890,"payload":{"object":{"id":"123456789","uuid":"abc-def-ghi","participant":{"user_id":"user123","user_name":"Dr. Smith"},"latency_ms":45}}}'
  printf '%s' "\$body" | ZOOM_EVENTS_WEBHOOK_SECRET_FILE=var/webhook_secret ./zoom_events sign > var/headers
  curl -s -H 'Content-Type: application/json' -H @var/headers \\
       --data-binary "\$body" http://127.0.0.1:$HTTP_PORT/zoom_events/events

Ctrl-C stops everything.
EOF
tail -n 0 -F "$VAR/log/zoom_events.log" &
tailer=$!
wait "$tailer"
