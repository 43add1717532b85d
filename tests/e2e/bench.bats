#!/usr/bin/env bats
# tests/e2e/bench.bats -- the benchmark's smoke mode (bench/run.sh --smoke,
# issue 5) keeps working: it brings up its own stack, runs every line once
# for about a second, and writes a RESULTS-style table with every line and
# ratio.  No timing assertions: a one-second run on a shared machine means
# nothing.  It does assert that no line failed its own check (the rows
# that a run was answered 2xx for are in the database or the spool).

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    local t
    for t in wrk nginx spawn-fcgi mariadbd mariadb-install-db curl; do
        command -v "$t" >/dev/null || skip "$t is not installed (tests/deps.sh)"
    done
    make -C "$ZE_ROOT" -s bench-build >&2
}

@test "bench smoke run completes and reports every line and ratio" {
    local out=$BATS_FILE_TMPDIR/RESULTS.md line
    export BENCH_SERVICE=${ZE_BIN:-$ZE_ROOT/zoom_events}
    export BENCH_TMPDIR=$BATS_FILE_TMPDIR
    if [ -n "${ZE_ASAN:-}" ]; then
        export ASAN_OPTIONS="log_path=$BATS_FILE_TMPDIR/asan:detect_leaks=1"
        export UBSAN_OPTIONS="log_path=$BATS_FILE_TMPDIR/ubsan:print_stacktrace=1:halt_on_error=1"
    fi
    run -0 timeout 150 "$ZE_ROOT/bench/run.sh" --smoke --out "$out"
    [ -s "$out" ]
    for line in "| nginx-static | 8 |" "| fcgi-noop | 8 |" \
        "| fcgi-noop GET (health baseline) | 8 |" "| db-direct | 8 |" \
        "| db-direct, 4 connections | 8 |" "| zoom_events | 8 |" \
        "| zoom_events, DB down (spool) | 8 |" "| zoom_events GET /health | 8 |" \
        "| zoom_events, 8 workers | 8 |" "| db-direct, 8 connections | 8 |" \
        "| zoom_events / db-direct (same c) |" "| spool (DB down) / DB path |" \
        "| health / fcgi-noop GET |" "| zoom_events / fcgi-noop |" \
        "| zoom_events p99 (ms) |" "## Database round trips" \
        "innodb_flush_log_at_trx_commit=1" "**Machine:**" "**Versions:**" \
        "| zoom_events today (1 thread, batch_max 1) | 8 |" \
        "## Batch size vs rows/s" "## Commit batches seen under load" \
        "| db-direct, no ledger INSERT | 8 |" \
        "| zoom_events, ledger table BLACKHOLE | 8 |" \
        "| zoom_events, no visit indexes | 8 |" \
        "| ledger cost, service: " "| visit layer cost: "; do
        grep -qF -- "$line" "$out" || { echo "missing from $out: $line"; cat "$out"; false; }
    done
    # Every database line checked its rows; none failed.
    run ! grep -F "FAIL" "$out"
    # Nothing left running: the script stops what it started.
    run ! pgrep -f "$BATS_FILE_TMPDIR/zoom-bench"
    for f in "$BATS_FILE_TMPDIR"/asan.* "$BATS_FILE_TMPDIR"/ubsan.*; do
        [ -e "$f" ] || continue
        cat "$f"
        false
    done
}
