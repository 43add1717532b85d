#!/usr/bin/env bats
# Packaging and deployment, tested as shipped: the systemd units
# (systemd-analyze verify and security), `make install` into a DESTDIR,
# the man page and the example configuration (both against config.c's key
# table and the binary's own defaults and bounds), and the Debian package:
# built by `make deb`, inspected with dpkg-deb, unpacked into a scratch
# root and run from there through the unit's own ExecStart.
#
# With CI=true (a throwaway machine, as root) the package is also installed
# for real with dpkg -i, configured in the two documented steps, run as the
# zoom-events user through the installed unit's ExecStart (there is no
# systemd PID 1 here), and purged; teardown_file undoes whatever is left.

load helpers

setup_file() {
    # The real install connects over TCP as the zoom-events user, which
    # cannot reach a socket under the test's private temporary directory.
    if [ "${CI:-}" = true ]; then
        ze_setup_env private
    else
        ze_setup_env
    fi
    export DEB_VERSION DEB_ARCH UPSTREAM_VERSION
    DEB_VERSION=$(dpkg-parsechangelog -l "$ZE_ROOT/debian/changelog" -S Version)
    DEB_ARCH=$(dpkg --print-architecture)
    UPSTREAM_VERSION=$(sed -n 's/^VERSION *:= *//p' "$ZE_ROOT/Makefile")
    export DEB=$ZE_ROOT/build/zoom-events_${DEB_VERSION}_$DEB_ARCH.deb
    export UNITS="zoom-events.service zoom-events.socket zoom-events-drain.service zoom-events-drain.timer
        zoom-events-visits.service zoom-events-visits.timer zoom-events-purge.service zoom-events-purge.timer"
}

teardown_file() {
    ze_ci_cleanup
    ze_teardown_env
}

teardown() {
    ze_stop_unit
    ze_check_clean
}

need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || skip "$c is not installed (tests/deps.sh)"
    done
}

# The settings of config.c's key table, "name ENV" a line.
config_keys() {
    sed -n 's/.*S_[A-Z]*, "\([a-z_]*\)", "\(ZOOM_EVENTS_[A-Z_]*\)".*/\1 \2/p' \
        "$ZE_ROOT/config.c"
}

# The man page as text, one paragraph a line as far as possible.
man_text() {
    groff -man -Tascii -P-cbou -rLL=250n "$ZE_ROOT/zoom_events.8" 2>/dev/null
}

# The binary without any ZOOM_EVENTS_* of the test environment.
bare() {
    (
        for v in $(compgen -e | grep '^ZOOM_EVENTS_'); do unset "$v"; done
        "$@"
    )
}

# ---- running a unit's ExecStart by hand ----

# The values of KEY= in a unit file, one a line.
unit_values() {
    sed -n "s/^$2=//p" "$1"
}

# ze_start_unit UNIT USER LOG: run the service's ExecStart as systemd
# would, less the sandbox: ExecStartPre (as root, without its prefix),
# Environment= and EnvironmentFile=, "$$" unescaped, as USER ("" = as the
# current user) with output to LOG.  Sets UNIT_PID to the zoom_events
# supervisor.
# The environment systemd gives a unit's commands: its Environment= and
# EnvironmentFile= settings (read as root), into the array UNIT_ENV.
unit_env() {
    local unit=$1 line ef
    UNIT_ENV=(PATH=/usr/sbin:/usr/bin:/sbin:/bin)
    while IFS= read -r line; do
        UNIT_ENV+=("$line")
    done < <(unit_values "$unit" Environment)
    ef=$(unit_values "$unit" EnvironmentFile)
    ef=${ef#-}
    if [ -f "$ef" ]; then
        while IFS= read -r line; do
            case $line in '' | '#'*) ;; *) UNIT_ENV+=("$line") ;; esac
        done <"$ef"
    fi
}

ze_start_unit() {
    local unit=$1 user=$2 log=$3 cmd pre
    while IFS= read -r pre; do
        pre=${pre#[+!-]}
        pre=${pre#[+!-]}
        if [ -n "$user" ] || [ "$(id -u)" = 0 ]; then
            sh -c "$pre" || return 1
        fi
    done < <(unit_values "$unit" ExecStartPre)
    unit_env "$unit"
    cmd=$(unit_values "$unit" ExecStart | sed 's/\$\$/$/g')
    if [ -n "$user" ]; then
        runuser -u "$user" -- env -i "${UNIT_ENV[@]}" sh -c "exec $cmd" \
            </dev/null >"$log" 2>&1 3>&- &
        echo $! >"$ZT/unit.runuser"
        UNIT_PID=""
        for _ in $(seq 1 100); do
            UNIT_PID=$(pgrep -P "$(cat "$ZT/unit.runuser")" | head -1)
            [ -n "$UNIT_PID" ] && break
            sleep 0.05
        done
    else
        env -i "${UNIT_ENV[@]}" sh -c "exec $cmd" </dev/null >"$log" 2>&1 3>&- &
        UNIT_PID=$!
    fi
    [ -n "$UNIT_PID" ] || return 1
    echo "$UNIT_PID" >"$ZT/unit.pid"
}

# Stop what ze_start_unit started: SIGTERM, as systemd's KillMode=mixed.
ze_stop_unit() {
    local pid
    [ -f "$ZT/unit.pid" ] || return 0
    pid=$(cat "$ZT/unit.pid")
    rm -f "$ZT/unit.pid"
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        ze_alive "$pid" || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# One FastCGI request as USER (for the socket permissions); sets
# HTTP_STATUS and HTTP_BODY like ze_fcgi.
fcgi_as() {
    local user=$1 sock=$2 path=$3 out
    out=$(runuser -u "$user" -- env -i REQUEST_METHOD=GET SCRIPT_NAME="$path" \
        DOCUMENT_URI="$path" REQUEST_URI="$path" cgi-fcgi -bind -connect "$sock" \
        </dev/null 2>&1) || return 1
    HTTP_STATUS=$(printf '%s\n' "$out" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
    # shellcheck disable=SC2034 # read by ze_json
    HTTP_BODY=$(printf '%s\n' "$out" | sed '1,/^\r*$/d')
}

# Set KEY to VALUE in a [TABLE] of a Config.toml made from the example,
# by uncommenting its "#key = default" line there: the operator's edit.
toml_set() {
    local file=$1 table=$2 key=$3 value=$4
    sed -i "/^\[$table\]/,/^\[/ s|^#$key = .*|$key = $value|" "$file"
    grep -q "^$key = $value\$" "$file"
}

# ---- the units ----

@test "the unit files pass systemd-analyze verify, Documentation= included" {
    need systemd-analyze
    mkdir -p "$ZT/units" "$ZT/man/man8"
    cp "$ZE_ROOT/zoom_events.8" "$ZT/man/man8/"
    # verify checks that every command exists: point them at this build.
    for u in $UNITS; do
        sed "s#/usr/sbin/zoom_events#$ZE_BIN#g" "$ZE_ROOT/deploy/systemd/$u" >"$ZT/units/$u"
    done
    cd "$ZT/units"
    # shellcheck disable=SC2086
    run env MANPATH="$ZT/man" systemd-analyze verify $UNITS
    echo "$output"
    [ "$status" -eq 0 ]
    ze_eq "$output" ""
}

@test "every service runs as zoom-events, hardened alike (systemd-analyze security)" {
    need systemd-analyze
    local dir=$ZE_ROOT/deploy/systemd
    for u in zoom-events.service zoom-events-drain.service zoom-events-visits.service \
        zoom-events-purge.service; do
        run systemd-analyze security --offline=yes --no-pager "$dir/$u"
        [ "$status" -eq 0 ]
        level=$(printf '%s\n' "$output" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
        echo "$u: exposure $level"
        # 0 is a perfect sandbox, 10 none; "OK" is below 2.0 or so.
        awk -v l="$level" 'BEGIN { exit !(l != "" && l <= 2.0) }'
        for want in User=zoom-events Group=zoom-events NoNewPrivileges=yes \
            ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
            ReadWritePaths=/var/spool/zoom_events CapabilityBoundingSet= \
            UMask=0027 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
            SystemCallFilter=@system-service SystemCallArchitectures=native \
            MemoryDenyWriteExecute=yes \
            Environment=ZOOM_EVENTS_CONFIG=/etc/zoom_events/Config.toml \
            Environment=ZOOM_EVENTS_SPOOL_DIR=/var/spool/zoom_events \
            EnvironmentFile=-/etc/zoom_events/zoom-events.env; do
            grep -qxF "$want" "$dir/$u" || { echo "$u lacks $want"; return 1; }
        done
    done
    # One hardening block, the same in all.
    for u in zoom-events-drain.service zoom-events-visits.service zoom-events-purge.service; do
        diff <(sed -n '/^# Hardening/,/^$/p' "$dir/zoom-events.service" | sed '1d;/^$/d') \
            <(sed -n '/^# Hardening/,/^$/p' "$dir/$u" | sed '1d;/^$/d')
    done
}

@test "service, socket unit, nginx and lighttpd agree on the socket; reload is SIGHUP" {
    local s=$ZE_ROOT/deploy/systemd/zoom-events.service sock=/run/zoom-events/fcgi.sock
    ze_eq "$(unit_values "$s" ExecStart)" "/usr/sbin/zoom_events -F 4 -s $sock -m 0666"
    ze_eq "$(unit_values "$s" RuntimeDirectory)" zoom-events
    ze_eq "$(unit_values "$s" ExecReload)" '/bin/kill -HUP $MAINPID'
    ze_eq "$(unit_values "$s" Restart)" on-failure
    ze_eq "$(unit_values "$s" KillSignal)" SIGTERM
    ze_eq "$(unit_values "$ZE_ROOT/deploy/systemd/zoom-events.socket" ListenStream)" "$sock"
    grep -q "server unix:$sock;" "$ZE_ROOT/deploy/nginx/zoom_events.conf"
    grep -q "\"socket\" => \"$sock\"" "$ZE_ROOT/deploy/lighttpd/zoom_events.conf"
    ze_eq "$(unit_values "$ZE_ROOT/deploy/systemd/zoom-events-drain.service" ExecStart)" \
        "/usr/sbin/zoom_events drain"
    ze_eq "$(unit_values "$ZE_ROOT/deploy/systemd/zoom-events-drain.timer" OnCalendar)" minutely
    ze_eq "$(unit_values "$ZE_ROOT/deploy/systemd/zoom-events-visits.service" ExecStart)" \
        "/usr/sbin/zoom_events visits refresh"
    ze_eq "$(unit_values "$ZE_ROOT/deploy/systemd/zoom-events-visits.timer" OnCalendar)" minutely
    ze_eq "$(unit_values "$ZE_ROOT/deploy/systemd/zoom-events-purge.service" ExecStart)" \
        "/usr/sbin/zoom_events purge"
}

@test "socket activation: the service's ExecStart serves on the socket systemd passes" {
    need systemd-socket-activate
    local cmd envs=() v
    # The shipped command line; without LISTEN_FDS it would try to create
    # /run/zoom-events/fcgi.sock and fail, so an answer proves the branch.
    cmd=$(unit_values "$ZE_ROOT/deploy/systemd/zoom-events.service" ExecStart |
        sed -e 's/\$\$/$/g' -e "s#/usr/sbin/zoom_events#$ZE_BIN#g")
    for v in $(compgen -e | grep -E '^(ZOOM_EVENTS_|[A-Z]+SAN_OPTIONS$|PATH$)'); do
        envs+=(-E "$v")
    done
    # Like systemd, it passes the socket as fd 3 with LISTEN_PID and
    # LISTEN_FDS, and execs the command at the first connection.
    systemd-socket-activate -l "$ZT/activated.sock" "${envs[@]}" sh -c "exec $cmd" \
        </dev/null >"$ZT/activated.log" 2>&1 3>&- &
    echo $! >"$ZT/unit.pid"
    ze_wait_socket "$ZT/activated.sock"
    ze_fcgi "$ZT/activated.sock" GET /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json db)" up
    sup=$(cat "$ZT/unit.pid")
    ze_eq "$(pgrep -P "$sup" | wc -l)" 4
    grep -q 'supervisor starting 4 workers' "$ZT/zoom_events.log"
    kill -TERM "$sup"
    wait "$sup"
    rm -f "$ZT/unit.pid"
}

# ---- make install ----

@test "make install puts every file in its FHS place with its mode; uninstall removes them" {
    local d=$ZT/dest
    run make -s -C "$ZE_ROOT" install DESTDIR="$d" PREFIX=/usr
    echo "$output"
    [ "$status" -eq 0 ]
    (cd "$d" && find . -mindepth 1 ! -type d -printf '%m %p\n' | sort -k2) >"$ZT/installed"
    grep -v '^$' <<EOF | sort -k2 >"$ZT/expected"
600 ./etc/zoom_events/Config.toml.example
600 ./etc/zoom_events/zoom-events.env.example
644 ./usr/lib/systemd/system/zoom-events-drain.service
644 ./usr/lib/systemd/system/zoom-events-drain.timer
644 ./usr/lib/systemd/system/zoom-events-purge.service
644 ./usr/lib/systemd/system/zoom-events-purge.timer
644 ./usr/lib/systemd/system/zoom-events-visits.service
644 ./usr/lib/systemd/system/zoom-events-visits.timer
644 ./usr/lib/systemd/system/zoom-events.service
644 ./usr/lib/systemd/system/zoom-events.socket
755 ./usr/sbin/zoom_events
644 ./usr/share/man/man8/zoom_events.8.gz
$(cd "$ZE_ROOT" && for f in sql/*.sql; do echo "644 ./usr/share/zoom_events/$f"; done)
$(cd "$ZE_ROOT" && for f in deploy/*.md; do [ -e "$f" ] && echo "644 ./usr/share/zoom_events/$f"; done)
644 ./usr/share/zoom_events/deploy/lighttpd/zoom_events.conf
644 ./usr/share/zoom_events/deploy/nginx/zoom_events.conf
644 ./usr/share/zoom_events/deploy/nginx/zoom_events_locations.conf
644 ./usr/share/zoom_events/deploy/systemd/zoom-events-drain.service
644 ./usr/share/zoom_events/deploy/systemd/zoom-events-drain.timer
644 ./usr/share/zoom_events/deploy/systemd/zoom-events-purge.service
644 ./usr/share/zoom_events/deploy/systemd/zoom-events-purge.timer
644 ./usr/share/zoom_events/deploy/systemd/zoom-events-visits.service
644 ./usr/share/zoom_events/deploy/systemd/zoom-events-visits.timer
644 ./usr/share/zoom_events/deploy/systemd/zoom-events.service
644 ./usr/share/zoom_events/deploy/systemd/zoom-events.socket
644 ./usr/share/zoom_events/deploy/zoom-events.env.example
644 ./usr/share/zoom_events/deploy/zoom_events.toml.example
EOF
    diff "$ZT/expected" "$ZT/installed"
    ze_eq "$(stat -c %a "$d/etc/zoom_events")" 750
    cmp "$d/usr/sbin/zoom_events" "$ZE_ROOT/zoom_events"
    cmp "$d/etc/zoom_events/Config.toml.example" "$ZE_ROOT/deploy/zoom_events.toml.example"
    # gzip -n: no name, no time stamp (bytes 4-7), so rebuilds are identical.
    ze_eq "$(od -An -tx1 -j4 -N4 "$d/usr/share/man/man8/zoom_events.8.gz" | tr -d ' ')" 00000000
    cmp <(gzip -dc "$d/usr/share/man/man8/zoom_events.8.gz") "$ZE_ROOT/zoom_events.8"
    # With PREFIX=/usr the units are the shipped files.
    for u in $UNITS; do
        cmp "$d/usr/lib/systemd/system/$u" "$ZE_ROOT/deploy/systemd/$u"
    done

    run make -s -C "$ZE_ROOT" uninstall DESTDIR="$d" PREFIX=/usr
    [ "$status" -eq 0 ]
    ze_eq "$(find "$d" ! -type d)" ""
}

@test "make install with another PREFIX and SYSCONFDIR rewrites the units' paths" {
    local d=$ZT/dest2
    run make -s -C "$ZE_ROOT" install DESTDIR="$d" PREFIX=/opt/ze SYSCONFDIR=/opt/ze/etc \
        SYSTEMDUNITDIR=/opt/ze/units
    [ "$status" -eq 0 ]
    [ -x "$d/opt/ze/sbin/zoom_events" ]
    [ -f "$d/opt/ze/share/man/man8/zoom_events.8.gz" ]
    [ -f "$d/opt/ze/share/zoom_events/sql/schema.sql" ]
    ze_eq "$(stat -c %a "$d/opt/ze/etc/zoom_events/Config.toml.example")" 600
    ze_eq "$(unit_values "$d/opt/ze/units/zoom-events-drain.service" ExecStart)" \
        "/opt/ze/sbin/zoom_events drain"
    ze_eq "$(unit_values "$d/opt/ze/units/zoom-events.service" Environment | head -1)" \
        "ZOOM_EVENTS_CONFIG=/opt/ze/etc/zoom_events/Config.toml"
    ze_refute grep -E '(^|[^a-z])/(usr/sbin|etc)/zoom_events' "$d"/opt/ze/units/*
}

# ---- the man page and the example configuration ----

@test "the man page renders without warnings" {
    need groff
    run groff -man -Tutf8 -ww -z "$ZE_ROOT/zoom_events.8"
    ze_eq "$output" ""
    [ "$status" -eq 0 ]
    if command -v mandoc >/dev/null; then
        run mandoc -Tlint -Wwarning "$ZE_ROOT/zoom_events.8"
        ze_eq "$output" ""
    fi
    need man
    # man-db's own run (tbl, preprocessors, 80 columns): nothing on stderr.
    MANWIDTH=80 man --warnings -l "$ZE_ROOT/zoom_events.8" >"$ZT/man.out" 2>"$ZT/man.err"
    ze_eq "$(cat "$ZT/man.err")" ""
    grep -qE 'zoom_events +- +receive Zoom webhooks' "$ZT/man.out"
}

@test "the man page names every option, command, route, status and setting" {
    need groff
    man_text >"$ZT/man.txt"
    # Options: the getopt string of main().
    opts=$(sed -n 's/.*getopt_long(argc, argv, "+\([^"]*\)".*/\1/p' "$ZE_ROOT/zoom_events.c" | tr -d ':+')
    [ -n "$opts" ]
    for o in $(echo "$opts" | fold -w1); do
        grep -qE "^       -$o\b|^       --[a-z-]+, -$o\b|^       -$o, " "$ZT/man.txt" ||
            { echo "option -$o missing"; return 1; }
    done
    # Commands: those --help lists.
    cmds=$("$ZE_BIN" --help | sed -n '/^commands:/,$ s/^  \([a-z-]*\) .*/\1/p')
    [ -n "$cmds" ]
    for c in $cmds; do
        grep -q "^       $c\b" "$ZT/man.txt" || { echo "command $c missing"; return 1; }
    done
    # Routes and every status the service answers with.
    routes=$(grep -o '"/zoom_events/[a-z]*"' "$ZE_ROOT/request.c" | tr -d '"' | sort -u)
    [ -n "$routes" ]
    for r in $routes; do
        grep -q "$r" "$ZT/man.txt" || { echo "route $r missing"; return 1; }
    done
    statuses=$(grep 'respond' "$ZE_ROOT/request.c" | grep -oE '\b[1-5][0-9]{2}\b' | sort -u)
    [ -n "$statuses" ]
    for s in $statuses; do
        grep -qE "^       $s\b" "$ZT/man.txt" || { echo "status $s missing"; return 1; }
    done
    # Every setting, as "key (ENV)".
    n=0
    while read -r key env; do
        grep -qF "$key ($env)" "$ZT/man.txt" || { echo "setting $key ($env) missing"; return 1; }
        n=$((n + 1))
    done < <(config_keys)
    # The key table's format is what config_keys reads: no key escaped it.
    ze_eq "$n" "$(grep -cE '^[[:space:]]*(STR\(S_|INT\(S_|\{ S_)' "$ZE_ROOT/config.c")"
    for sig in SIGTERM SIGINT SIGHUP SIGUSR1; do
        grep -q "^       .*$sig" "$ZT/man.txt" || { echo "signal $sig missing"; return 1; }
    done
    for sec in MODES OPTIONS COMMANDS CONFIGURATION ENVIRONMENT "HTTP INTERFACE" \
        SIGNALS "EXIT STATUS" FILES EXAMPLES; do
        grep -qx "$sec" "$ZT/man.txt" || { echo "section $sec missing"; return 1; }
    done
}

@test "the example config documents each setting with the binary's own default and bounds" {
    local ex=$ZE_ROOT/deploy/zoom_events.toml.example
    cd "$ZT"
    man_text >"$ZT/man.txt"
    bare "$ZE_BIN" -c /dev/null check-config >"$ZT/defaults" 2>/dev/null || true
    while read -r key env; do
        grep -q "^#$key = " "$ex" || { echo "no #$key line"; return 1; }
        grep -q "^#   env $env, default " "$ex" || { echo "no env $env line"; return 1; }
        # A value that is no number makes the binary name the bounds of
        # integer settings; the example and the man page must give them.
        # (It must not be a usable path either: log would create it.)
        run bare env "$env=/nonexistent/x" "$ZE_BIN" -c /dev/null check-config
        if [[ $output == *"is not an integer from "* ]]; then
            bounds=$(printf '%s\n' "$output" | sed -n 's/.*is not an integer from \([-0-9]*\) to \([0-9]*\).*/\1 to \2/p')
            def=$(sed -n "s/^\[[a-z_]*\] $key = //p" "$ZT/defaults")
            [ -n "$def" ]
            grep -qx "#   env $env, default $def, from $bounds" "$ex" ||
                { echo "$env: want default $def, from $bounds"; return 1; }
            grep -A3 -F "$key ($env)" "$ZT/man.txt" | grep -qi "$bounds" ||
                { echo "man: $key lacks $bounds"; return 1; }
            grep -A3 -F "$key ($env)" "$ZT/man.txt" | grep -qi "default $def\b" ||
                { echo "man: $key lacks default $def"; return 1; }
        fi
    done < <(config_keys)
}

@test "the example config, every line uncommented, is read back as exactly the defaults" {
    sed 's/^#\([a-z_]* = \)/\1/' "$ZE_ROOT/deploy/zoom_events.toml.example" >"$ZT/all.toml"
    # Each of the 19-odd settings is now live.
    ze_eq "$(grep -cE '^[a-z_]+ = ' "$ZT/all.toml")" "$(config_keys | wc -l)"
    bare "$ZE_BIN" -c /dev/null check-config 2>/dev/null | grep '^\[' | sort >"$ZT/defaults"
    run bare "$ZE_BIN" -c "$ZT/all.toml" check-config
    [[ $output != *"configuration:"* ]]
    [[ ${lines[0]} == "config file: $ZT/all.toml" ]]
    printf '%s\n' "$output" | grep '^\[' | sort >"$ZT/example"
    [ -s "$ZT/defaults" ]
    diff "$ZT/defaults" "$ZT/example"
}

@test "the environment example is a valid EnvironmentFile the binary accepts" {
    local ex=$ZE_ROOT/deploy/zoom-events.env.example
    # Only KEY=value lines and comments; no "export", no spaces.
    ze_eq "$(grep -vE '^(#.*|[A-Z_]+=[^ ]*|)$' "$ex")" ""
    grep -q '^ZOOM_EVENTS_WEBHOOK_SECRET=' "$ex"
    # shellcheck disable=SC2046
    run bare env $(grep -v '^#' "$ex") "$ZE_BIN" -c /dev/null validate-token abc
    [ "$status" -eq 0 ]
    [[ $output =~ ^[0-9a-f]{64}$ ]]
    # Rotation: a comma list, the first one answers validation.
    run bare env ZOOM_EVENTS_WEBHOOK_SECRET=new,old "$ZE_BIN" -c /dev/null validate-token abc
    ze_eq "$output" "$(printf abc | ze_hmac new)"
}

# ---- the Debian package ----

@test "make deb builds the package without touching the work tree" {
    need dpkg-buildpackage dh
    ze_eq "$DEB_VERSION" "$UPSTREAM_VERSION-1"
    # What a package build run in the tree would leave (other untracked
    # files may come and go while a developer works).
    untracked() {
        git -C "$ZE_ROOT" status --porcelain --untracked-files=all 2>/dev/null |
            sed -n 's/^?? //p' | grep -E '^debian/|^[^/]+\.(deb|changes|buildinfo)$' | sort
    }
    untracked >"$ZT/untracked.before"
    ls "$ZE_ROOT"/.. >"$ZT/parent.before"
    ls -d "$ZE_ROOT"/debian/{zoom-events,files,.debhelper} 2>/dev/null >"$ZT/staged.before" || true
    rm -f "$DEB"
    run make -s -C "$ZE_ROOT" deb
    [ "$status" -eq 0 ] || { printf '%s\n' "$output" | tail -30; return 1; }
    [ -f "$DEB" ]
    # dpkg-buildpackage cleans (make clean), stages the package in debian/
    # and writes to ..: all of it in the copy under build/deb/, none of it
    # in the work tree or its parent.
    [ -d "$ZE_ROOT/build/deb/src/debian/zoom-events/usr/sbin" ]
    ls -d "$ZE_ROOT"/debian/{zoom-events,files,.debhelper} 2>/dev/null |
        diff "$ZT/staged.before" -
    untracked | diff "$ZT/untracked.before" -
    ls "$ZE_ROOT"/.. | diff "$ZT/parent.before" -
}

@test "dpkg-deb shows the package's metadata, files and modes" {
    [ -f "$DEB" ] || skip "no package (make deb failed)"
    run dpkg-deb -f "$DEB" Package Version Architecture Recommends Suggests
    ze_eq "$output" "Package: zoom-events
Version: $DEB_VERSION
Architecture: $DEB_ARCH
Recommends: nginx | lighttpd
Suggests: mariadb-server, spawn-fcgi"
    depends=$(dpkg-deb -f "$DEB" Depends)
    for lib in libfcgi0ldbl libcjson1 libmariadb3 libinih1 libssl3 zlib1g adduser; do
        [[ $depends == *"$lib"* ]] || { echo "Depends lacks $lib: $depends"; return 1; }
    done
    dpkg-deb -I "$DEB" | grep -qw postinst
    dpkg-deb -I "$DEB" | grep -qw postrm
    ze_eq "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)" \
        "/etc/zoom_events/Config.toml.example
/etc/zoom_events/zoom-events.env.example"
    dpkg-deb -c "$DEB" | awk '{ print $1, $2, $6 }' >"$ZT/contents"
    for want in \
        "drwxr-x--- root/root ./etc/zoom_events/" \
        "-rw------- root/root ./etc/zoom_events/Config.toml.example" \
        "-rw------- root/root ./etc/zoom_events/zoom-events.env.example" \
        "-rwxr-xr-x root/root ./usr/sbin/zoom_events" \
        "-rw-r--r-- root/root ./usr/share/man/man8/zoom_events.8.gz" \
        "-rw-r--r-- root/root ./usr/share/zoom_events/sql/schema.sql" \
        "-rw-r--r-- root/root ./usr/share/zoom_events/sql/grants.sql" \
        "-rw-r--r-- root/root ./usr/share/zoom_events/deploy/nginx/zoom_events.conf" \
        "-rw-r--r-- root/root ./usr/share/zoom_events/deploy/nginx/zoom_events_locations.conf" \
        "-rw-r--r-- root/root ./usr/share/zoom_events/deploy/lighttpd/zoom_events.conf" \
        "-rw-r--r-- root/root ./usr/share/doc/zoom-events/copyright" \
        "-rw-r--r-- root/root ./lib/systemd/system/zoom-events.service" \
        "-rw-r--r-- root/root ./lib/systemd/system/zoom-events.socket" \
        "-rw-r--r-- root/root ./lib/systemd/system/zoom-events-drain.service" \
        "-rw-r--r-- root/root ./lib/systemd/system/zoom-events-drain.timer"; do
        grep -qxF -- "$want" "$ZT/contents" || { echo "missing: $want"; cat "$ZT/contents"; return 1; }
    done
    # Nothing a local build leaves: no /usr/local, no test files.
    ze_refute grep -E '/usr/local|tests/|\.o$' "$ZT/contents"
}

@test "the package unpacks into a scratch root whose binary serves health through the unit's ExecStart" {
    [ -f "$DEB" ] || skip "no package (make deb failed)"
    local root=$ZT/root run=$ZT/run
    dpkg -x "$DEB" "$root"
    run "$root/usr/sbin/zoom_events" --version
    ze_eq "$output" "zoom_events $UPSTREAM_VERSION"
    ldd "$root/usr/sbin/zoom_events" >"$ZT/ldd"
    ze_refute grep 'not found' "$ZT/ldd"
    # The package's unit, pointed at the scratch root and a private run
    # directory and spool; the two configuration steps done there.
    mkdir -p "$run" "$ZT/pkgspool"
    sed -e "s#/usr/sbin/zoom_events#$root/usr/sbin/zoom_events#g" \
        -e "s#/etc/zoom_events#$root/etc/zoom_events#g" \
        -e "s#/run/zoom-events#$run#g" \
        -e "s#/var/spool/zoom_events#$ZT/pkgspool#g" \
        "$root/lib/systemd/system/zoom-events.service" >"$ZT/zoom-events.service"
    cp "$root/etc/zoom_events/Config.toml.example" "$root/etc/zoom_events/Config.toml"
    cfg=$root/etc/zoom_events/Config.toml
    db=healthcare_integration.healthcare_integration.db
    toml_set "$cfg" "$db" socket "\"$DBDIR/mysqld.sock\""
    toml_set "$cfg" "$db" user '"root"'
    toml_set "$cfg" "$db" database "\"$DBNAME\""
    echo "ZOOM_EVENTS_WEBHOOK_SECRET=$ZE_SECRET" >"$root/etc/zoom_events/zoom-events.env"
    ze_start_unit "$ZT/zoom-events.service" "" "$ZT/unit.log"
    ze_wait_socket "$run/fcgi.sock"
    ze_eq "$(stat -c %a "$run/fcgi.sock")" 666
    ze_fcgi "$run/fcgi.sock" GET /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json db)" up
    body=$(ze_event meeting.participant_joined 7001 pkg-uuid "" u-pkg "Pkg Person")
    read -r ts sig < <(ze_sign "$body")
    ze_fcgi "$run/fcgi.sock" POST /zoom_events/events "$body" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'pkg-uuid'")" 1
    # Four workers under the supervisor; SIGTERM stops them all, exit 0.
    sleep 0.2
    ze_eq "$(pgrep -P "$UNIT_PID" | wc -l)" 4
    grep -q 'supervisor starting 4 workers' "$ZT/unit.log"
    grep -q 'route=events status=202' "$ZT/unit.log"
    kids=$(pgrep -P "$UNIT_PID")
    kill -TERM "$UNIT_PID"
    wait "$UNIT_PID"
    rm -f "$ZT/unit.pid"
    for k in $kids; do ze_refute ze_alive "$k"; done
}

# ---- a real install (CI=true only) ----

ze_ci_cleanup() {
    [ -f "$ZT/ci.installed" ] || return 0
    ze_stop_unit
    if dpkg-query -W -f='${Status}' zoom-events 2>/dev/null | grep -q installed; then
        dpkg --purge zoom-events >/dev/null 2>&1 || true
    fi
    if [ -f "$ZT/ci.user-created" ] && getent passwd zoom-events >/dev/null; then
        userdel zoom-events 2>/dev/null || true
        getent group zoom-events >/dev/null && groupdel zoom-events 2>/dev/null
    fi
    rm -rf /run/zoom-events
    ze_db_sql "$DBDIR" -e "DROP USER IF EXISTS 'zoom_events'@'127.0.0.1'" 2>/dev/null || true
    rm -f "$ZT/ci.installed"
}

@test "CI: dpkg -i, the two configuration steps, the unit's ExecStart as zoom-events, dpkg --purge" {
    [ "${CI:-}" = true ] || skip "installs into this machine: only with CI=true"
    [ "$(id -u)" = 0 ] || skip "needs root"
    [ -f "$DEB" ] || skip "no package (make deb failed)"
    need runuser cgi-fcgi
    if dpkg-query -W -f='${Status}' zoom-events 2>/dev/null | grep -q installed ||
        [ -e /etc/zoom_events ] || [ -e /run/zoom-events ]; then
        skip "zoom-events is already installed or configured here: not touching it"
    fi
    getent passwd zoom-events >/dev/null || touch "$ZT/ci.user-created"
    touch "$ZT/ci.installed"

    run dpkg -i "$DEB"
    echo "$output"
    [ "$status" -eq 0 ]
    # What postinst made.
    run getent passwd zoom-events
    IFS=: read -r _ _ uid gid _ _ shell <<<"$output"
    [ "$uid" -lt 1000 ]
    ze_eq "$shell" /usr/sbin/nologin
    ze_eq "$(getent group zoom-events | cut -d: -f3)" "$gid"
    ze_eq "$(stat -c '%U:%G %a' /var/spool/zoom_events)" "zoom-events:zoom-events 750"
    ze_eq "$(stat -c '%U:%G %a' /etc/zoom_events)" "root:zoom-events 750"
    ze_eq "$(stat -c '%U:%G %a' /etc/zoom_events/Config.toml)" "root:zoom-events 640"
    ze_eq "$(stat -c '%a' /etc/zoom_events/Config.toml.example)" 600
    cmp /etc/zoom_events/Config.toml /etc/zoom_events/Config.toml.example
    ze_eq "$(man -w zoom_events)" /usr/share/man/man8/zoom_events.8.gz
    # Installed, not enabled: nothing starts before it is configured.
    [ ! -e /etc/systemd/system/multi-user.target.wants/zoom-events.service ]
    [ ! -e /etc/systemd/system/timers.target.wants/zoom-events-drain.timer ]

    # A database account from the shipped grants.sql (TCP: host 127.0.0.1).
    pw=pw-$RANDOM$RANDOM
    sed -e "s/'localhost'/'127.0.0.1'/g" -e "s/change-me/$pw/" \
        -e "s/ zoom_events\./ \`$DBNAME\`./g" /usr/share/zoom_events/sql/grants.sql |
        ze_db_sql "$DBDIR"

    # Step 1: the secret.  Step 2: the database settings.
    install -m 0600 /dev/null /etc/zoom_events/zoom-events.env
    echo "ZOOM_EVENTS_WEBHOOK_SECRET=$ZE_SECRET" >/etc/zoom_events/zoom-events.env
    cfg=/etc/zoom_events/Config.toml
    db=healthcare_integration.healthcare_integration.db
    toml_set "$cfg" "$db" host '"127.0.0.1"'
    toml_set "$cfg" "$db" port "$DB_PORT"
    toml_set "$cfg" "$db" password "\"$pw\""
    toml_set "$cfg" "$db" database "\"$DBNAME\""

    # check-config as the service would run it.
    unit_env /lib/systemd/system/zoom-events.service
    run runuser -u zoom-events -- env -i "${UNIT_ENV[@]}" /usr/sbin/zoom_events check-config
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output != *"warning"* ]]
    # The man page's CGI example, word for word.
    # shellcheck disable=SC2046
    run bare runuser -u zoom-events -- env \
        $(grep -v '^#' /etc/zoom_events/zoom-events.env) \
        REQUEST_METHOD=GET PATH_INFO=/zoom_events/health \
        zoom_events -c /etc/zoom_events/Config.toml
    echo "$output"
    [[ $output == *"Status: 200 OK"* ]]
    [[ $output == *'"db":"up"'* ]]

    # The installed unit, as systemd would start it (RuntimeDirectory=).
    install -d -o zoom-events -g zoom-events -m 0750 /run/zoom-events
    ze_start_unit /lib/systemd/system/zoom-events.service zoom-events "$ZT/ci-unit.log"
    ze_wait_socket /run/zoom-events/fcgi.sock
    ze_eq "$(stat -c '%U:%G %a' /run/zoom-events)" "zoom-events:www-data 750"
    ze_eq "$(ps -o user= -p "$UNIT_PID")" zoom-events
    # The web server's user reaches the socket; another user does not.
    fcgi_as www-data /run/zoom-events/fcgi.sock /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    ze_eq "$(ze_json db)" up
    ze_refute fcgi_as nobody /run/zoom-events/fcgi.sock /zoom_events/health
    body=$(ze_event meeting.started 7002 ci-uuid)
    read -r ts sig < <(ze_sign "$body")
    ze_fcgi /run/zoom-events/fcgi.sock POST /zoom_events/events "$body" \
        HTTP_X_ZM_REQUEST_TIMESTAMP="$ts" HTTP_X_ZM_SIGNATURE="$sig"
    ze_eq "$HTTP_STATUS" 202
    ze_eq "$(ze_count zoom_visit_events "visit_uuid = 'ci-uuid'")" 1
    # systemctl reload: SIGHUP re-reads the configuration.
    kill -HUP "$UNIT_PID"
    for _ in $(seq 1 50); do
        grep -q 'configuration reloaded' "$ZT/ci-unit.log" && break
        sleep 0.1
    done
    grep -q 'configuration reloaded' "$ZT/ci-unit.log"
    fcgi_as www-data /run/zoom-events/fcgi.sock /zoom_events/health
    ze_eq "$HTTP_STATUS" 200
    # The drain unit's command, as zoom-events.
    unit_env /lib/systemd/system/zoom-events-drain.service
    # shellcheck disable=SC2046 # the command line, split as systemd does
    run runuser -u zoom-events -- env -i "${UNIT_ENV[@]}" \
        $(unit_values /lib/systemd/system/zoom-events-drain.service ExecStart)
    [ "$status" -eq 0 ]
    [[ $output == *"pending 0"* ]]
    ze_stop_unit
    ze_refute ze_alive "$UNIT_PID"

    run dpkg --purge zoom-events
    echo "$output"
    [ "$status" -eq 0 ]
    [ ! -e /usr/sbin/zoom_events ]
    [ ! -e /etc/zoom_events ]
    [ ! -e /var/spool/zoom_events ]
    [ ! -e /run/zoom-events ]
    [ ! -e /lib/systemd/system/zoom-events.service ]
    ze_ci_cleanup
    if [ -f "$ZT/ci.user-created" ]; then
        ze_refute getent passwd zoom-events
    fi
}
