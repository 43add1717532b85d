#!/usr/bin/env bats
# Logs are not lost under spawn-fcgi, which points its children's stdout
# and stderr at /dev/null: with log = auto the workers then use syslog.

load helpers

setup_file() {
    ze_setup_env
}

teardown_file() {
    stop_syslog
    ze_teardown_env
}

stop_syslog() {
    if [ -f "$ZT/socat.pid" ]; then
        kill "$(cat "$ZT/socat.pid")" 2>/dev/null
        rm -f "$ZT/socat.pid"
    fi
    if [ -f "$ZT/made-dev-log" ]; then
        rm -f /dev/log "$ZT/made-dev-log"
    fi
}

teardown() {
    ze_check_clean
}

@test "under spawn-fcgi with log = auto, request lines go to syslog" {
    [ "$(id -u)" = 0 ] || skip "needs root to provide /dev/log"
    [ -e /dev/log ] && skip "this machine has a syslog daemon; not replacing it"
    # A stand-in syslog daemon: a datagram socket at /dev/log.  (Closing
    # fd 3: bats waits for every process that holds it.)
    socat -u UNIX-RECV:/dev/log,mode=666 "OPEN:$ZT/syslog.txt,creat,append" \
        </dev/null >/dev/null 2>&1 3>&- &
    echo $! >"$ZT/socat.pid"
    touch "$ZT/made-dev-log"
    ze_wait_socket /dev/log
    unset ZOOM_EVENTS_LOG
    ze_workers_start "$ZT" 1
    ze_fcgi "$ZT/fcgi.sock" GET /zoom_events/health "" HTTP_X_ZM_REQUEST_ID=syslog-probe-1
    ze_eq "$HTTP_STATUS" 200
    for i in $(seq 1 50); do
        grep -q "req=syslog-probe-1" "$ZT/syslog.txt" 2>/dev/null && break
        sleep 0.1
    done
    grep "req=syslog-probe-1" "$ZT/syslog.txt" | grep -q "zoom_events\[[0-9]*\]: level=info .*route=health status=200"
    grep -q "worker ready" "$ZT/syslog.txt"
    ze_workers_stop "$ZT"
    stop_syslog
}

@test "log = stderr and log = FILE write one logfmt line per request" {
    ZOOM_EVENTS_LOG=stderr run env REQUEST_METHOD=GET PATH_INFO=/zoom_events/health \
        HTTP_X_ZM_REQUEST_ID=stderr-probe "$ZE_BIN"
    [[ $output == *"level=info pid="*"req=stderr-probe method=GET route=health status=200"*"duration_ms="* ]]
    ZOOM_EVENTS_LOG=$ZT/file.log run env REQUEST_METHOD=GET PATH_INFO=/zoom_events/health \
        HTTP_X_ZM_REQUEST_ID=file-probe "$ZE_BIN"
    ze_eq "$(grep -c 'req=file-probe' "$ZT/file.log")" 1
}

@test "log_level=warn drops the per-request info lines; debug adds detail" {
    ZOOM_EVENTS_LOG_LEVEL=warn ZOOM_EVENTS_LOG=$ZT/warn.log \
        env REQUEST_METHOD=GET PATH_INFO=/zoom_events/health "$ZE_BIN" >/dev/null
    ze_refute grep -q "route=health" "$ZT/warn.log"
    ZOOM_EVENTS_LOG_LEVEL=debug ZOOM_EVENTS_LOG=$ZT/debug.log \
        env REQUEST_METHOD=GET PATH_INFO=/zoom_events/health "$ZE_BIN" >/dev/null
    grep -q "level=debug" "$ZT/debug.log"
}
