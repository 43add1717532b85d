# tests/lib/stack.sh -- start and stop the service's real neighbours in a
# directory: spawn-fcgi workers, nginx and lighttpd running the shipped
# configuration files (deploy/), templated only for ports and paths.
# Source it from bash after tests/lib/mariadb.sh.
#
#   ze_free_port [TAKEN...]           print a free loopback TCP port
#   ze_workers_start DIR N [ARGS]     spawn-fcgi N workers on DIR/fcgi.sock
#   ze_workers_pids DIR               their pids, one per line
#   ze_workers_stop DIR               SIGTERM them and wait
#   ze_nginx_start DIR SOCK HTTPS HTTP  nginx with deploy/nginx/*.conf
#   ze_nginx_stop DIR
#   ze_lighttpd_start DIR SOCK PORT   lighttpd with deploy/lighttpd/*.conf
#   ze_lighttpd_stop DIR

ZE_BIN=${ZE_BIN:-$ZE_ROOT/zoom_events}

ze_free_port() {
    local p hex
    while :; do
        # Below the kernel's ephemeral range (32768+), so that no outgoing
        # connection can hold it between this check and the bind.
        p=$((10000 + RANDOM % 22000))
        # Ports given as arguments are taken already.
        case " $* " in *" $p "*) continue ;; esac
        hex=$(printf ':%04X' "$p")
        # Any local socket on it, in any state (listening, TIME_WAIT...).
        if ! awk '{print $2}' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
            grep -q "$hex\$"; then
            echo "$p"
            return 0
        fi
    done
}

# Wait until a Unix socket or TCP port accepts connections.
ze_wait_socket() {
    local target=$1 i
    for i in $(seq 1 100); do
        case $target in
        /*) [ -S "$target" ] && return 0 ;;
        *) (exec 3<>"/dev/tcp/127.0.0.1/$target") 2>/dev/null && return 0 ;;
        esac
        sleep 0.05
    done
    echo "nothing listens on $target" >&2
    return 1
}

ze_workers_start() {
    local dir=$1 n=$2
    shift 2
    mkdir -p "$dir"
    rm -f "$dir/fcgi.sock" "$dir/workers.pid"
    spawn-fcgi -s "$dir/fcgi.sock" -F "$n" -P "$dir/workers.pid" \
        -- "$ZE_BIN" "$@" >/dev/null || return 1
    ze_wait_socket "$dir/fcgi.sock"
}

ze_workers_pids() {
    cat "$1/workers.pid" 2>/dev/null
}

ze_workers_stop() {
    local dir=$1 pid
    # All at once (each finishes its request), then wait for each.
    for pid in $(ze_workers_pids "$dir"); do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $(ze_workers_pids "$dir"); do
        ze_stop_pid "$pid" TERM 5
    done
    rm -f "$dir/workers.pid"
}

# A self-signed certificate for the HTTPS listener.
ze_make_cert() {
    local dir=$1
    [ -f "$dir/cert.pem" ] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
}

ze_nginx_start() {
    local dir=$1 sock=$2 https=$3 http=$4 user=""
    mkdir -p "$dir/nginx/tmp" "$dir/nginx/snippets"
    ze_make_cert "$dir/nginx" || return 1
    # The shipped files, with only ports and paths replaced.
    sed -e "s#/run/zoom-events/fcgi.sock#$sock#" \
        -e "s#listen 443 ssl;#listen 127.0.0.1:$https ssl;#" \
        -e "s#listen 127.0.0.1:8280;#listen 127.0.0.1:$http;#" \
        -e "s#/etc/ssl/certs/zoom-events.pem#$dir/nginx/cert.pem#" \
        -e "s#/etc/ssl/private/zoom-events.key#$dir/nginx/key.pem#" \
        -e "s#/etc/nginx/snippets/#$dir/nginx/snippets/#" \
        "$ZE_ROOT/deploy/nginx/zoom_events.conf" >"$dir/nginx/zoom_events.conf"
    cp "$ZE_ROOT/deploy/nginx/zoom_events_locations.conf" "$dir/nginx/snippets/"
    # The stock fastcgi_params, unchanged (nginx resolves the relative
    # include against the directory of nginx.conf).
    cp /etc/nginx/fastcgi_params "$dir/nginx/"
    [ "$(id -u)" = 0 ] && user="user root;"
    cat >"$dir/nginx/nginx.conf" <<EOF
$user
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log $dir/nginx/access.log;
    client_body_temp_path $dir/nginx/tmp/body;
    fastcgi_temp_path $dir/nginx/tmp/fastcgi;
    proxy_temp_path $dir/nginx/tmp/proxy;
    uwsgi_temp_path $dir/nginx/tmp/uwsgi;
    scgi_temp_path $dir/nginx/tmp/scgi;
    include /etc/nginx/mime.types;
    include $dir/nginx/zoom_events.conf;
}
EOF
    nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" \
        2>>"$dir/nginx/error.log" || { cat "$dir/nginx/error.log" >&2; return 1; }
    ze_wait_socket "$http"
}

ze_nginx_stop() {
    ze_stop_pid "$(cat "$1/nginx/nginx.pid" 2>/dev/null)" QUIT 5
}

ze_lighttpd_start() {
    local dir=$1 sock=$2 port=$3
    mkdir -p "$dir/lighttpd/htdocs"
    sed -e "s#/run/zoom-events/fcgi.sock#$sock#" \
        "$ZE_ROOT/deploy/lighttpd/zoom_events.conf" >"$dir/lighttpd/zoom_events.conf"
    cat >"$dir/lighttpd/lighttpd.conf" <<EOF
server.document-root = "$dir/lighttpd/htdocs"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$dir/lighttpd/error.log"
server.pid-file = "$dir/lighttpd/lighttpd.pid"
include "$dir/lighttpd/zoom_events.conf"
EOF
    lighttpd -f "$dir/lighttpd/lighttpd.conf" || return 1
    ze_wait_socket "$port"
}

ze_lighttpd_stop() {
    ze_stop_pid "$(cat "$1/lighttpd/lighttpd.pid" 2>/dev/null)" TERM 5
}
