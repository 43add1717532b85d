#!/usr/bin/env bash
# tests/run.sh -- run the suite and end with "N passed, N failed".
#
#   tests/run.sh [all|unit|e2e|cluster|fuzz|lint]...   (default: all)
#
# all = build (release and ASan+UBSan), unit tests on both builds, the fuzz
# corpus replayed under ASan, every bats suite against the release binary
# and again against the ASan binary, the Galera cluster failover tests
# (tests/cluster, as root), libFuzzer runs (FUZZ_SECS each, default 60),
# and lint.  One MariaDB server is shared by the suites that
# do not need their own (each gets its own database); suites that kill the
# database start a private one.
#
# Environment: FUZZ_SECS, ZE_E2E (a glob of suites, default *.bats),
# ZE_SKIP_ASAN_E2E=1 to run the e2e suites on the release build only.
set -u

cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
export ZE_ROOT=$ROOT

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()

pass() { PASSED=$((PASSED + ${2:-1})); }
fail() { FAILED=$((FAILED + ${2:-1})); FAILURES+=("$1"); }

# Run a command as one test.
step() {
    local name=$1
    shift
    echo "=== $name"
    if "$@"; then
        pass "$name"
        echo "--- ok: $name"
    else
        fail "$name"
        echo "--- FAILED: $name"
    fi
}

# Run a unit test binary and add its own counts.
unit_bin() {
    local bin=$1 out p f
    echo "=== $bin"
    out=$("$bin" 2>&1)
    local rc=$?
    printf '%s\n' "$out" | tail -40
    p=$(printf '%s\n' "$out" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
    if [ -z "$p" ]; then
        fail "$bin (no report, exit $rc)"
        return
    fi
    pass "$bin" "$p"
    if [ "$f" != 0 ] || [ "$rc" != 0 ]; then
        fail "$bin" "$((f > 0 ? f : 1))"
    fi
}

# Run bats suites and add their TAP counts.
bats_suites() {
    local label=$1 line plan=0 seen=0
    shift
    echo "=== bats ($label): $*"
    while IFS= read -r line; do
        case $line in
        "__bats_rc=124") fail "$label: bats timed out"; continue ;;
        "__bats_rc="*) continue ;;
        esac
        printf '%s\n' "$line"
        case $line in
        1..*) plan=$((plan + ${line#1..})) ;;
        "ok "*"# skip"*) SKIPPED=$((SKIPPED + 1)); seen=$((seen + 1)) ;;
        "ok "*) pass "$line"; seen=$((seen + 1)) ;;
        "not ok "*) fail "$label: $line"; seen=$((seen + 1)) ;;
        esac
    done < <(
        # A run that hangs (a process keeping bats waiting) is cut off.
        timeout --kill-after=30 "${ZE_BATS_TIMEOUT:-1800}" bats --tap "$@" 2>&1
        echo "__bats_rc=$?"
    )
    # Tests that never ran (bats stopped early) count as failed.
    if [ "$seen" -lt "$plan" ]; then
        fail "$label: $((plan - seen)) tests did not run" $((plan - seen))
    fi
}

build() {
    make -s all && make -s unit-build && make -s SANITIZE=1 all unit-build
}

run_unit() {
    local b
    for b in build/release/test_* build/asan/test_*; do
        [ -x "$b" ] && unit_bin "$b"
    done
    step "fuzz corpus replay (ASan+UBSan)" make -s SANITIZE=1 replay
}

E2E_DB=""
start_shared_db() {
    # shellcheck source=lib/mariadb.sh
    . "$ROOT/tests/lib/mariadb.sh"
    E2E_DB=$(mktemp -d "${TMPDIR:-/tmp}/ze-test-db.XXXXXX")
    ze_db_start "$E2E_DB" || return 1
    export ZE_TEST_DB_DIR=$E2E_DB
}

stop_shared_db() {
    [ -n "$E2E_DB" ] || return 0
    ze_db_stop "$E2E_DB"
    rm -rf "$E2E_DB"
}

run_e2e() {
    local suites=()
    # shellcheck disable=SC2206
    suites=(tests/e2e/${ZE_E2E:-*.bats})
    if ! start_shared_db; then
        fail "start the test MariaDB"
        return
    fi
    ZE_BIN=$ROOT/zoom_events bats_suites release "${suites[@]}"
    if [ "${ZE_SKIP_ASAN_E2E:-0}" != 1 ]; then
        ZE_BIN=$ROOT/build/asan/zoom_events ZE_ASAN=1 \
            bats_suites asan "${suites[@]}"
    fi
    stop_shared_db
}

# The Galera topology (deploy/cluster): 3 nodes, 3 pools, nginx; needs
# root, since the nodes run as the mysql user.
run_cluster() {
    if [ "$(id -u)" != 0 ]; then
        echo "=== cluster tests skipped: they need root"
        SKIPPED=$((SKIPPED + 1))
        return
    fi
    ZE_BIN=$ROOT/zoom_events bats_suites cluster tests/cluster/cluster.bats
}

run_fuzz() {
    step "libFuzzer (${FUZZ_SECS:-60} s per target)" \
        make -s fuzz FUZZ_SECS="${FUZZ_SECS:-60}"
}

# The shipped Prometheus, Alertmanager and Grafana files (issue 15); the
# alerts firing against the real service are tests/e2e/alerts.bats.
run_alert_checks() {
    step "promtool check config" promtool check config deploy/prometheus/prometheus.yml
    step "promtool check rules" promtool check rules deploy/prometheus/zoom_events.rules.yml
    step "promtool test rules (every alert, both ways)" promtool test rules \
        tests/prometheus/rules_test.yml tests/prometheus/rules_test_hourly.yml
    step "dashboard: valid JSON, only exported metrics" \
        tests/prometheus/check_dashboard.sh tests/prometheus/metric_names.txt
    step "amtool check-config" amtool check-config deploy/prometheus/alertmanager.yml
}

run_lint() {
    run_alert_checks
    step "module layout (include rules, sizes)" tests/check-layout.sh
    step "cppcheck" make -s lint
    step "clang -Wall -Wextra -Werror" make -s clang-check
}

trap stop_shared_db EXIT

if ! tests/deps.sh; then
    echo "0 passed, 1 failed"
    exit 1
fi

what=("$@")
[ ${#what[@]} -eq 0 ] && what=(all)
for w in "${what[@]}"; do
    case $w in
    all)
        step "build (release and ASan+UBSan)" build || true
        run_unit
        run_e2e
        run_cluster
        run_fuzz
        run_lint
        ;;
    cluster) step build build; run_cluster ;;
    unit) step build build; run_unit ;;
    e2e) step build build; run_e2e ;;
    fuzz) run_fuzz ;;
    lint) run_lint ;;
    *) echo "unknown: $w" >&2; exit 2 ;;
    esac
done

echo
if [ ${#FAILURES[@]} -gt 0 ]; then
    echo "failures:"
    printf '  %s\n' "${FAILURES[@]}"
fi
[ "$SKIPPED" -gt 0 ] && echo "($SKIPPED skipped)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
