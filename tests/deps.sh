#!/bin/sh
# Install the Debian packages that building, running and testing
# zoom_events need.  As root: apt-get installs what is missing (services
# are not started: a policy-rc.d denies it for the duration).  Otherwise:
# print the exact command to run.
set -eu

PKGS="build-essential pkg-config libfcgi-dev libfcgi-bin libcjson-dev
libmariadb-dev libinih-dev libssl-dev zlib1g-dev openssl curl
mariadb-server mariadb-client spawn-fcgi nginx-light lighttpd
bats clang libclang-rt-14-dev cppcheck wrk galera-4 rsync iproute2
prometheus systemd dpkg-dev debhelper fakeroot man-db groff-base
valgrind procps psmisc socat adduser perl
linux-perf strace python3 prometheus-alertmanager"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "zoom_events needs these Debian packages:$missing" >&2
    echo "run:  sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi

echo "installing:$missing" >&2
# Keep the packaged mariadb, nginx and lighttpd services from starting:
# the tests and `make run` start their own on private ports.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
