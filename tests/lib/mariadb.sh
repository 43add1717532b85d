# tests/lib/mariadb.sh -- a private MariaDB server in a directory, for the
# tests, `make run` and the benchmark.  Source it from bash.
#
#   ze_db_start DIR [PORT]   initialise DIR/data if needed and start mariadbd
#                            on DIR/mysqld.sock (and 127.0.0.1:PORT if given)
#   ze_db_stop DIR           stop it (SIGTERM, then wait)
#   ze_db_kill DIR           SIGKILL it (fault tests)
#   ze_db_sql DIR [ARGS...]  run the mariadb client as root on its socket
#   ze_db_create DIR NAME    create database NAME with sql/schema.sql
#
# Extra server options can be passed in ZE_DB_OPTS (e.g. durability
# settings for the benchmark).  Nothing outside DIR is touched.

ZE_ROOT=${ZE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# True while pid runs (a zombie, killed but not yet reaped, does not).
ze_alive() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}

# ze_stop_pid PID SIGNAL [SECONDS]: send SIGNAL, wait up to SECONDS (5)
# for the process to end, then SIGKILL it.
ze_stop_pid() {
    local pid=$1 sig=$2 secs=${3:-5} i
    [ -n "$pid" ] || return 0
    kill "-$sig" "$pid" 2>/dev/null || return 0
    for i in $(seq 1 $((secs * 20))); do
        ze_alive "$pid" || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

ze_db_sql() {
    local dir=$1
    shift
    mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot "$@"
}

ze_db_start() {
    local dir=$1 port=${2:-0} user
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    user=$(id -un)
    # A private tmpdir: installs running at once share /tmp otherwise, and
    # their temporary tables collide.
    mkdir -p "$dir/tmp"
    if [ ! -d "$dir/data/mysql" ]; then
        mariadb-install-db --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" \
            --user="$user" --auth-root-authentication-method=normal \
            --skip-test-db >"$dir/install.log" 2>&1 || {
            cat "$dir/install.log" >&2
            return 1
        }
    fi
    local net=(--skip-networking)
    if [ "$port" != 0 ]; then
        net=(--port="$port" --bind-address=127.0.0.1)
    fi
    # In a subshell, so that no shell holds it as a job (and reports its
    # death when a test kills it).
    # shellcheck disable=SC2086
    (
        mariadbd --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" \
            --socket="$dir/mysqld.sock" \
            "${net[@]}" --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
            --user="$user" --skip-name-resolve --innodb-buffer-pool-size=64M \
            --max-connections=500 --character-set-server=utf8mb4 \
            --collation-server=utf8mb4_unicode_ci ${ZE_DB_OPTS:-} \
            </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/mysqld.launch"
    )
    local i
    for i in $(seq 1 300); do
        if mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot \
            ping >/dev/null 2>&1; then
            return 0
        fi
        if ! ze_alive "$(cat "$dir/mysqld.launch")"; then
            break
        fi
        sleep 0.1
    done
    echo "mariadbd in $dir did not start:" >&2
    tail -20 "$dir/error.log" >&2
    return 1
}

ze_db_pid() {
    cat "$1/mysqld.pid" 2>/dev/null || cat "$1/mysqld.launch" 2>/dev/null
}

ze_db_stop() {
    ze_stop_pid "$(ze_db_pid "$1")" TERM 30
}

ze_db_kill() {
    ze_stop_pid "$(ze_db_pid "$1")" KILL 5
    rm -f "$1/mysqld.pid"
}

ze_db_create() {
    local dir=$1 name=$2
    ze_db_sql "$dir" -e "DROP DATABASE IF EXISTS \`$name\`;
        CREATE DATABASE \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" &&
        ze_db_sql "$dir" "$name" <"$ZE_ROOT/sql/schema.sql"
}
