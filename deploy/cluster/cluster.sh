#!/usr/bin/env bash
# deploy/cluster/cluster.sh -- the multi-host topology on one machine:
# a 3-node MariaDB Galera cluster, one zoom_events worker pool per node and
# one nginx in front.  See deploy/CLUSTER.md.
#
#   cluster.sh up                 start whatever is not running (first run:
#                                 bootstrap node 1, join 2 and 3 by SST,
#                                 apply sql/schema.sql once)
#   cluster.sh down               stop nginx, the pools and the nodes
#   cluster.sh clean              down, then remove the state directory
#   cluster.sh status             nodes (wsrep state, rows), pools, nginx
#   cluster.sh env                the endpoints as shell variables
#   cluster.sh kill-node N        SIGKILL node N (no clean shutdown)
#   cluster.sh stop-node N        SIGTERM node N and wait
#   cluster.sh start-node N [--sst]  restart node N and wait until Synced
#                                 (IST from the others' gcache, or a full
#                                 rsync SST into an emptied datadir)
#   cluster.sh wait-synced N      wait until node N is Synced
#   cluster.sh kill-pool P        SIGKILL every worker of pool P
#   cluster.sh stop-pool P | start-pool P
#   cluster.sh sql N [ARGS...]    the mariadb client as root on node N
#   cluster.sh single-up | single-down
#                                 a standalone (non-Galera) MariaDB with one
#                                 pool behind its own nginx, to compare
#                                 throughput on the same machine
#
# Everything lives under the state directory ($ZE_CLUSTER_DIR, default
# ./var/cluster of the repository).  Ports are $ZE_CLUSTER_PORT + offset
# (default 24300):
#   +1            nginx front: upstream of every pool
#   +1+P          nginx, pool P only (a load balancer's per-host check)
#   +10N+0..3     node N: client, gmcast.listen_addr, ist.recv_addr,
#                 wsrep_sst_receive_address
#   +90, +91      single-up: its MariaDB and its nginx
# Other knobs: ZE_CLUSTER_POOLS (3), ZE_CLUSTER_WORKERS (workers per pool,
# 3), ZE_CLUSTER_POOL_NODES (node of each pool, default "1 2 3"),
# ZE_CLUSTER_INSTANCES (ZOOM_EVENTS_INSTANCE of each pool, default
# "pool1 pool2 ..."), ZE_CLUSTER_STATS_SLOTS, ZE_CLUSTER_TIMEOUT (seconds
# any one wait may take, 120), ZE_CLUSTER_PROVIDER_OPTIONS (appended to
# wsrep_provider_options, e.g. "evs.suspect_timeout=PT2S"), ZE_BIN (the
# zoom_events binary, default ./zoom_events).
#
# Nodes run as the mysql user (when started by root) in datadirs it owns:
# started as root, the rsync SST receiver would drop privileges and then
# could not write the datadir.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../..

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export ZE_ROOT=$ROOT
# shellcheck source=tests/lib/mariadb.sh
. "$ROOT/tests/lib/mariadb.sh"
# shellcheck source=tests/lib/stack.sh
. "$ROOT/tests/lib/stack.sh"

S=${ZE_CLUSTER_DIR:-$ROOT/var/cluster}
case $S in /*) ;; *) S=$(pwd)/$S ;; esac
BASE=${ZE_CLUSTER_PORT:-24300}
NODES=3
POOLS=${ZE_CLUSTER_POOLS:-3}
WORKERS=${ZE_CLUSTER_WORKERS:-3}
read -r -a POOL_NODES <<<"${ZE_CLUSTER_POOL_NODES:-1 2 3 1 2 3 1 2}"
read -r -a INSTANCES <<<"${ZE_CLUSTER_INSTANCES:-pool1 pool2 pool3 pool4 pool5 pool6 pool7 pool8}"
TIMEOUT=${ZE_CLUSTER_TIMEOUT:-120}
DBNAME=zoom_events
GALERA=${ZE_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}

if [ "$POOLS" -lt 1 ] || [ "$POOLS" -gt 8 ]; then
    echo "ZE_CLUSTER_POOLS must be 1 to 8" >&2
    exit 2
fi

# Who owns and runs the nodes.
if [ "$(id -u)" = 0 ]; then
    DBUSER=mysql
else
    DBUSER=$(id -un)
fi

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

node_dir() { echo "$S/node$1"; }
node_port() { echo $((BASE + 10 * $1)); }
gcomm_port() { echo $((BASE + 10 * $1 + 1)); }
ist_port() { echo $((BASE + 10 * $1 + 2)); }
sst_port() { echo $((BASE + 10 * $1 + 3)); }
front_port() { echo $((BASE + 1)); }
pool_port() { echo $((BASE + 1 + $1)); }
pool_dir() { echo "$S/pool$1"; }
pool_node() { echo "${POOL_NODES[$(($1 - 1))]}"; }
pool_instance() { echo "${INSTANCES[$(($1 - 1))]}"; }

# Seconds since an epoch, for bounded waits.
now_s() { date +%s; }

sql_node() {
    local n=$1
    shift
    mariadb --no-defaults --socket="$(node_dir "$n")/mysqld.sock" -uroot \
        --connect-timeout=2 "$@"
}

# One global status value of node N ("" when it does not answer).
node_status() {
    sql_node "$1" -N -B -e "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null |
        cut -f2 || true
}

node_pid() {
    local d
    d=$(node_dir "$1")
    cat "$d/mysqld.launch" 2>/dev/null || true
}

node_alive() {
    local pid
    pid=$(node_pid "$1")
    [ -n "$pid" ] && ze_alive "$pid"
}

# The state dir must be reachable by the mysql user: let it through (x,
# not r) the directories above it that are ours, from the top down.
let_dbuser_in() {
    local d=$1 path="" part
    [ "$DBUSER" = "$(id -un)" ] && return 0
    IFS=/ read -r -a parts <<<"${d#/}"
    for part in "${parts[@]}"; do
        path=$path/$part
        runuser -u "$DBUSER" -- test -x "$path" 2>/dev/null && continue
        case $path in
        "$ROOT" | "$ROOT"/* | "$S" | "$S"/*)
            log "chmod o+x $path (so that $DBUSER can reach its datadir)"
            chmod o+x "$path" ;;
        *) die "$DBUSER cannot reach $path: choose another ZE_CLUSTER_DIR" ;;
        esac
    done
}

gcomm_address() {
    local n addr=""
    for n in $(seq 1 "$NODES"); do
        addr="$addr${addr:+,}127.0.0.1:$(gcomm_port "$n")"
    done
    echo "gcomm://$addr"
}

# The server options every node shares; the wsrep ones are what Galera
# needs (deploy/CLUSTER.md explains each).
node_args() {
    local n=$1 d
    d=$(node_dir "$n")
    NODE_ARGS=(
        --no-defaults --datadir="$d/data" --socket="$d/mysqld.sock"
        --port="$(node_port "$n")" --bind-address=127.0.0.1
        --pid-file="$d/mysqld.pid" --log-error="$d/error.log"
        --user="$DBUSER" --skip-name-resolve
        --innodb-buffer-pool-size=64M --innodb-log-file-size=48M
        --max-connections=300
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
        --default-storage-engine=InnoDB
        --binlog-format=ROW --innodb-autoinc-lock-mode=2
        --wsrep-on=ON --wsrep-provider="$GALERA"
        --wsrep-cluster-name=zoom_events
        --wsrep-cluster-address="$(gcomm_address)"
        --wsrep-node-name="node$n" --wsrep-node-address=127.0.0.1
        --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$(gcomm_port "$n");ist.recv_addr=127.0.0.1:$(ist_port "$n");gcache.size=128M${ZE_CLUSTER_PROVIDER_OPTIONS:+;$ZE_CLUSTER_PROVIDER_OPTIONS}"
        --wsrep-sst-method=rsync
        --wsrep-sst-receive-address="127.0.0.1:$(sst_port "$n")"
        --wsrep-slave-threads=2
    )
}

# Wait until node N answers and is Synced.
wait_synced() {
    local n=$1 end state=""
    end=$(($(now_s) + TIMEOUT))
    while [ "$(now_s)" -lt "$end" ]; do
        state=$(node_status "$n" wsrep_local_state_comment)
        [ "$state" = Synced ] && [ "$(node_status "$n" wsrep_ready)" = ON ] &&
            return 0
        if ! node_alive "$n"; then
            log "node $n died; the end of its error log:"
            tail -25 "$(node_dir "$n")/error.log" >&2
            return 1
        fi
        sleep 0.2
    done
    log "node $n not Synced after ${TIMEOUT}s (state \"$state\")"
    tail -25 "$(node_dir "$n")/error.log" >&2
    return 1
}

# Start node N; bootstrap=1 starts a new cluster from it.
node_start() {
    local n=$1 bootstrap=${2:-0} d extra=()
    d=$(node_dir "$n")
    if node_alive "$n"; then
        return 0
    fi
    mkdir -p "$d/data"
    chown "$DBUSER:" "$d" "$d/data"
    chmod 750 "$d"
    let_dbuser_in "$d"
    if [ "$bootstrap" = 1 ]; then
        if [ ! -d "$d/data/mysql" ]; then
            log "initialising node $n"
            mariadb-install-db --no-defaults --datadir="$d/data" \
                --user="$DBUSER" --auth-root-authentication-method=normal \
                --skip-test-db >"$d/install.log" 2>&1 ||
                { cat "$d/install.log" >&2; return 1; }
        fi
        # This is a test rig: whichever node stopped last, node 1 starts
        # the new cluster.  (In production pick the node with the
        # highest seqno in grastate.dat.)
        if [ -f "$d/data/grastate.dat" ]; then
            sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' \
                "$d/data/grastate.dat"
        fi
        extra=(--wsrep-new-cluster)
    fi
    node_args "$n"
    if [ -f "$d/data/grastate.dat" ] &&
        grep -q '^seqno: *-1' "$d/data/grastate.dat"; then
        # Killed, not shut down: grastate.dat has no position.  Without
        # one a joiner asks for a full SST, and a bootstrap starts a new
        # history (so every other node would need an SST).  Read the
        # position from InnoDB (what galera_recovery does under systemd)
        # so that an IST from a donor's gcache is enough.
        local pos
        rm -f "$d/recover.log"
        mariadbd "${NODE_ARGS[@]}" --wsrep-recover \
            --log-error="$d/recover.log" </dev/null >/dev/null 2>&1 3>&- || true
        pos=$(sed -n 's/.*WSREP: Recovered position: *\([^ ]*\).*/\1/p' \
            "$d/recover.log" 2>/dev/null | tail -1)
        if [ -n "$pos" ]; then
            log "node $n: recovered position $pos"
            extra+=(--wsrep-start-position="$pos")
        else
            log "node $n: no position recovered; it will take an SST"
        fi
    fi
    rm -f "$d/mysqld.pid"
    # In a subshell, so that no shell holds it as a job; fd 3 closed so
    # that bats does not wait for it.
    (
        mariadbd "${NODE_ARGS[@]}" "${extra[@]}" </dev/null >/dev/null 2>&1 3>&- &
        echo $! >"$d/mysqld.launch"
    )
    log "node $n starting (pid $(node_pid "$n"), port $(node_port "$n")${extra:+, ${extra[*]}})"
    wait_synced "$n"
}

node_stop() {
    local n=$1 pid end
    pid=$(node_pid "$n")
    [ -n "$pid" ] && ze_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    end=$(($(now_s) + TIMEOUT))
    while ze_alive "$pid" && [ "$(now_s)" -lt "$end" ]; do
        sleep 0.1
    done
    if ze_alive "$pid"; then
        log "node $n did not stop in ${TIMEOUT}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

node_kill() {
    ze_stop_pid "$(node_pid "$1")" KILL 5
}

# Are other nodes running (so that node N joins rather than bootstraps)?
others_running() {
    local n=$1 m
    for m in $(seq 1 "$NODES"); do
        [ "$m" != "$n" ] && node_alive "$m" && return 0
    done
    return 1
}

cmd_start_node() {
    local n=$1 mode=${2:-}
    node_alive "$n" && { log "node $n is running"; return 0; }
    if [ "$mode" = --sst ]; then
        # An empty datadir: the node must take a full state transfer.
        log "node $n: emptying its datadir to force an SST"
        find "$(node_dir "$n")/data" -mindepth 1 -delete
    fi
    if others_running "$n"; then
        node_start "$n" 0
    else
        node_start "$n" 1
    fi
}

# The schema once, through node 1; DDL replicates to every node (TOI).
apply_schema() {
    local pw
    pw=$(cat "$S/db_password")
    if [ -n "$(sql_node 1 -N -B -e "SHOW DATABASES LIKE '$DBNAME'")" ]; then
        return 0
    fi
    log "applying sql/schema.sql and sql/grants.sql through node 1"
    sql_node 1 -e "CREATE DATABASE $DBNAME
        CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    sql_node 1 "$DBNAME" <"$ROOT/sql/schema.sql"
    # sql/grants.sql, for the pools' TCP connections from 127.0.0.1.
    sed -e "s/'zoom_events'@'localhost'/'zoom_events'@'127.0.0.1'/" \
        -e "s/IDENTIFIED BY 'change-me'/IDENTIFIED BY '$pw'/" \
        "$ROOT/sql/grants.sql" | sql_node 1
    # The monitoring grants the health check needs are none: SHOW STATUS
    # and SHOW VARIABLES need no privilege.
}

# ---- worker pools ----

pool_env() {
    local p=$1 d
    d=$(pool_dir "$p")
    POOL_ENV=(
        ZOOM_EVENTS_CONFIG=/dev/null
        ZOOM_EVENTS_DB_HOST=127.0.0.1
        ZOOM_EVENTS_DB_PORT="$(node_port "$(pool_node "$p")")"
        ZOOM_EVENTS_DB_USER=zoom_events
        ZOOM_EVENTS_DB_PASSWORD="$(cat "$S/db_password")"
        ZOOM_EVENTS_DB_NAME="$DBNAME"
        ZOOM_EVENTS_WEBHOOK_SECRET_FILE="$S/webhook_secret"
        ZOOM_EVENTS_SPOOL_DIR="$d/spool"
        ZOOM_EVENTS_INSTANCE="$(pool_instance "$p")"
        ZOOM_EVENTS_LOG="$d/zoom_events.log"
        ZOOM_EVENTS_STATS_CACHE_MS="${ZE_CLUSTER_STATS_CACHE_MS:-0}"
        ZOOM_EVENTS_DB_RETRY_MS="${ZE_CLUSTER_DB_RETRY_MS:-200}"
    )
    if [ -n "${ZE_CLUSTER_STATS_SLOTS:-}" ]; then
        POOL_ENV+=(ZOOM_EVENTS_STATS_SLOTS="$ZE_CLUSTER_STATS_SLOTS")
    fi
}

pool_alive() {
    local pid
    for pid in $(ze_workers_pids "$(pool_dir "$1")"); do
        ze_alive "$pid" && return 0
    done
    return 1
}

pool_start() {
    local p=$1 d
    d=$(pool_dir "$p")
    pool_alive "$p" && return 0
    mkdir -p "$d/spool"
    pool_env "$p"
    # shellcheck disable=SC2030
    (
        for v in $(env | sed -n 's/^\(ZOOM_EVENTS_[A-Z_]*\)=.*/\1/p'); do
            unset "$v"
        done
        export "${POOL_ENV[@]}"
        ze_workers_start "$d" "$WORKERS" 3>&-
    ) || die "pool $p did not start"
    log "pool $p: $WORKERS workers on $d/fcgi.sock -> node $(pool_node "$p") as $(pool_instance "$p")"
}

pool_stop() {
    ze_workers_stop "$(pool_dir "$1")"
}

pool_kill() {
    local p=$1 pid
    for pid in $(ze_workers_pids "$(pool_dir "$p")"); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in $(ze_workers_pids "$(pool_dir "$p")"); do
        ze_stop_pid "$pid" KILL 5
    done
    rm -f "$(pool_dir "$p")/workers.pid"
}

# ---- nginx ----

# nginx_conf DIR FRONT_PORT "SOCK..." [PER_POOL_BASE]: a configuration
# with the shipped locations snippet (deploy/nginx) behind one front port
# whose upstream holds every pool socket.
nginx_write_conf() {
    local dir=$1 front=$2 socks=$3 perpool=${4:-} user="" i sock
    mkdir -p "$dir/tmp"
    cp /etc/nginx/fastcgi_params "$dir/"
    cp "$ROOT/deploy/nginx/zoom_events_locations.conf" "$dir/locations.conf"
    [ "$(id -u)" = 0 ] && user="user root;"
    {
        cat <<EOF
# Generated by deploy/cluster/cluster.sh: do not edit.
$user
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 2048; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/tmp/body;
    fastcgi_temp_path $dir/tmp/fastcgi;
    proxy_temp_path $dir/tmp/proxy;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include /etc/nginx/mime.types;

    # The shipped rate limit is 50 events/s per source address; every
    # test client here is 127.0.0.1, so the rig allows far more.
    limit_req_zone \$binary_remote_addr zone=zoom_events:10m rate=100000r/s;
    limit_req_status 503;

    # One server per pool.  A pool that does not accept (killed, or
    # restarting) fails the connect: nginx tries the next pool
    # (fastcgi_next_upstream error timeout, in the snippet) and leaves the
    # failed one alone for fail_timeout.
    upstream zoom_events_workers {
EOF
        for sock in $socks; do
            echo "        server unix:$sock max_fails=1 fail_timeout=5s;"
        done
        cat <<EOF
    }

    server {
        listen 127.0.0.1:$front;
        server_name front;
        set \$zoom_events_public 0;
        include $dir/locations.conf;
    }
EOF
        if [ -n "$perpool" ]; then
            i=0
            for sock in $socks; do
                i=$((i + 1))
                sed "s/zoom_events_workers/zoom_events_pool$i/" \
                    "$dir/locations.conf" >"$dir/locations_pool$i.conf"
                cat <<EOF

    # Pool $i alone, as a load balancer's health check of one host sees it.
    upstream zoom_events_pool$i {
        server unix:$sock;
    }
    server {
        listen 127.0.0.1:$((perpool + i));
        server_name pool$i;
        set \$zoom_events_public 0;
        include $dir/locations_pool$i.conf;
    }
EOF
            done
        fi
        echo "}"
    } >"$dir/nginx.conf"
}

nginx_start() {
    local dir=$1 port=$2
    if [ -f "$dir/nginx.pid" ] && ze_alive "$(cat "$dir/nginx.pid")"; then
        nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s reload
        return 0
    fi
    if ! nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        2>"$dir/start.log" 3>&-; then
        cat "$dir/start.log" "$dir/error.log" >&2
        return 1
    fi
    ze_wait_socket "$port"
}

nginx_stop() {
    ze_stop_pid "$(cat "$1/nginx.pid" 2>/dev/null)" QUIT 5
}

front_start() {
    local socks="" p
    for p in $(seq 1 "$POOLS"); do
        socks="$socks $(pool_dir "$p")/fcgi.sock"
    done
    nginx_write_conf "$S/nginx" "$(front_port)" "$socks" "$(front_port)"
    nginx_start "$S/nginx" "$(front_port)"
    log "nginx: http://127.0.0.1:$(front_port) (pools: $(pool_port 1)..$(pool_port "$POOLS"))"
}

# ---- commands ----

check_ports() {
    local p n
    for n in $(seq 1 "$NODES"); do
        node_alive "$n" && continue
        for p in $(node_port "$n") $(gcomm_port "$n") $(ist_port "$n") $(sst_port "$n"); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
                die "port $p (node $n) is in use: set ZE_CLUSTER_PORT"
            fi
        done
    done
}

# The webhook secret and the service's database password, made once.
make_secrets() {
    mkdir -p "$S"
    chmod 755 "$S"
    if [ ! -s "$S/webhook_secret" ]; then
        (umask 077 && openssl rand -hex 16 >"$S/webhook_secret")
    fi
    if [ ! -s "$S/db_password" ]; then
        (umask 077 && openssl rand -hex 12 >"$S/db_password")
    fi
}

cmd_up() {
    local n p
    [ -x "$ZE_BIN" ] || die "$ZE_BIN is missing: run make first"
    [ -f "$GALERA" ] || die "no Galera provider at $GALERA (apt-get install galera-4)"
    check_ports
    make_secrets
    for n in $(seq 1 "$NODES"); do
        if others_running "$n"; then
            node_start "$n" 0
        else
            node_start "$n" 1
        fi
    done
    apply_schema
    for p in $(seq 1 "$POOLS"); do
        pool_start "$p"
    done
    front_start
    cmd_env
}

cmd_down() {
    local n p
    nginx_stop "$S/nginx"
    for p in $(seq 1 8); do
        [ -d "$(pool_dir "$p")" ] && pool_stop "$p"
    done
    # The last node down is the one safe to bootstrap from.
    for n in $(seq "$NODES" -1 1); do
        node_stop "$n"
    done
    cmd_single_down
    log "down"
}

cmd_env() {
    local n p
    echo "ZE_CLUSTER_DIR=$S"
    echo "ZE_FRONT=http://127.0.0.1:$(front_port)"
    echo "ZE_SECRET_FILE=$S/webhook_secret"
    for p in $(seq 1 "$POOLS"); do
        echo "ZE_POOL${p}_URL=http://127.0.0.1:$(pool_port "$p")"
        echo "ZE_POOL${p}_NODE=$(pool_node "$p")"
    done
    for n in $(seq 1 "$NODES"); do
        echo "ZE_NODE${n}_SOCK=$(node_dir "$n")/mysqld.sock"
        echo "ZE_NODE${n}_PORT=$(node_port "$n")"
    done
    echo "ZE_SINGLE_URL=http://127.0.0.1:$((BASE + 91))"
}

cmd_status() {
    local n p st rows pid rc=0
    for n in $(seq 1 "$NODES"); do
        if node_alive "$n"; then
            st=$(node_status "$n" wsrep_local_state_comment)
            rows=$(sql_node "$n" -N -B -e "SELECT COUNT(*) FROM $DBNAME.zoom_visit_events" 2>/dev/null || echo "?")
            printf 'node%s  pid %-7s port %s  %-14s cluster_size %s  status %s  rows %s\n' \
                "$n" "$(node_pid "$n")" "$(node_port "$n")" "${st:-?}" \
                "$(node_status "$n" wsrep_cluster_size)" \
                "$(node_status "$n" wsrep_cluster_status)" "$rows"
        else
            printf 'node%s  down\n' "$n"
            rc=1
        fi
    done
    for p in $(seq 1 "$POOLS"); do
        if pool_alive "$p"; then
            printf 'pool%s  workers %s -> node%s  health %s\n' "$p" \
                "$(ze_workers_pids "$(pool_dir "$p")" | tr '\n' ' ')" \
                "$(pool_node "$p")" \
                "$(curl -s --max-time 3 "http://127.0.0.1:$(pool_port "$p")/zoom_events/health?strict=1" || echo '?')"
        else
            printf 'pool%s  down\n' "$p"
            rc=1
        fi
    done
    pid=$(cat "$S/nginx/nginx.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && ze_alive "$pid"; then
        echo "nginx  pid $pid  http://127.0.0.1:$(front_port)"
    else
        echo "nginx  down"
        rc=1
    fi
    return "$rc"
}

# ---- a single node, for comparison ----

SINGLE=$S/single

cmd_single_up() {
    local workers=$((POOLS * WORKERS)) d=$S/single pw
    mkdir -p "$d"
    pw=$(cat "$S/db_password")
    # The nodes' settings without wsrep, and the same TCP account.
    ZE_DB_OPTS="--innodb-log-file-size=48M --max-connections=300
        --default-storage-engine=InnoDB --binlog-format=ROW
        --innodb-autoinc-lock-mode=2" ze_db_start "$d/db" $((BASE + 90)) 3>&- ||
        die "the single node did not start"
    ze_db_sql "$d/db" -e "CREATE DATABASE IF NOT EXISTS $DBNAME
        CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ze_db_sql "$d/db" "$DBNAME" <"$ROOT/sql/schema.sql"
    sed -e "s/'zoom_events'@'localhost'/'zoom_events'@'127.0.0.1'/" \
        -e "s/IDENTIFIED BY 'change-me'/IDENTIFIED BY '$pw'/" \
        "$ROOT/sql/grants.sql" | ze_db_sql "$d/db"
    mkdir -p "$d/pool/spool"
    (
        for v in $(env | sed -n 's/^\(ZOOM_EVENTS_[A-Z_]*\)=.*/\1/p'); do
            unset "$v"
        done
        export ZOOM_EVENTS_CONFIG=/dev/null ZOOM_EVENTS_DB_HOST=127.0.0.1 \
            ZOOM_EVENTS_DB_PORT=$((BASE + 90)) ZOOM_EVENTS_DB_USER=zoom_events \
            ZOOM_EVENTS_DB_PASSWORD="$pw" ZOOM_EVENTS_DB_NAME=$DBNAME \
            ZOOM_EVENTS_WEBHOOK_SECRET_FILE="$S/webhook_secret" \
            ZOOM_EVENTS_SPOOL_DIR="$d/pool/spool" ZOOM_EVENTS_INSTANCE=single \
            ZOOM_EVENTS_LOG="$d/pool/zoom_events.log" \
            ZOOM_EVENTS_STATS_CACHE_MS="${ZE_CLUSTER_STATS_CACHE_MS:-0}"
        ze_workers_start "$d/pool" "$workers" 3>&-
    ) || die "the single node's pool did not start"
    nginx_write_conf "$d/nginx" $((BASE + 91)) "$d/pool/fcgi.sock"
    nginx_start "$d/nginx" $((BASE + 91))
    log "single node: $workers workers, http://127.0.0.1:$((BASE + 91))"
}

cmd_single_down() {
    [ -d "$SINGLE" ] || return 0
    nginx_stop "$SINGLE/nginx"
    ze_workers_stop "$SINGLE/pool"
    ze_db_stop "$SINGLE/db"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up) cmd_up ;;
down) cmd_down ;;
clean)
    cmd_down
    rm -rf "$S"
    log "removed $S" ;;
status) cmd_status ;;
env) cmd_env ;;
kill-node) node_kill "${1:?node}"; log "node $1 killed (SIGKILL)" ;;
stop-node) node_stop "${1:?node}" ;;
start-node) cmd_start_node "${1:?node}" "${2:-}" ;;
wait-synced) wait_synced "${1:?node}" ;;
kill-pool) pool_kill "${1:?pool}"; log "pool $1 killed (SIGKILL)" ;;
stop-pool) pool_stop "${1:?pool}" ;;
start-pool) pool_start "${1:?pool}" ;;
sql) n=${1:?node}; shift; sql_node "$n" "$@" ;;
single-up) make_secrets; cmd_single_up ;;
single-down) cmd_single_down ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2 ;;
esac
