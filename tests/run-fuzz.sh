#!/bin/sh
# run-fuzz.sh SECS -- run each built fuzzer for SECS seconds on a copy of
# its committed corpus (tests/fuzz/corpus/NAME/, plus tests/fixtures/*.json
# for the normalizer), so that the run never grows the corpus in the tree.  Prints "fuzz NAME: ok (N runs)" per fuzzer; on a
# crash, prints where the crashing input was kept and exits non-zero.
#
# Crashing inputs are kept in build/fuzz/artifacts/; minimise one with
#   build/fuzz/fuzz_normalize -minimize_crash=1 -runs=10000 CRASH-FILE
# then add it to tests/fuzz/corpus/ and give it a named unit test (STYLE.md 14).
set -u

secs=${1:-60}
case $secs in
''|*[!0-9]*) echo "usage: $0 SECS" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
artifacts=$top/build/fuzz/artifacts
mkdir -p "$artifacts" || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/run-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

status=0

# fuzz NAME SEEDS [libFuzzer options...]: SEEDS is a shell glob of extra
# seed files ("" for none).
fuzz() {
	name=$1
	seeds=$2
	shift 2
	bin=build/fuzz/$name
	corpus=tests/fuzz/corpus/${name#fuzz_}
	if [ ! -x "$bin" ]; then
		echo "fuzz $name: FAILED, $bin is not built (make fuzz-build)"
		status=1
		return
	fi
	mkdir -p "$work/$name/corpus" "$work/$name/crashes"
	if [ -d "$corpus" ]; then
		cp -p "$corpus"/* "$work/$name/corpus/" 2>/dev/null
	fi
	# shellcheck disable=SC2086
	[ -n "$seeds" ] && cp -p $seeds "$work/$name/corpus/" 2>/dev/null
	log=$work/$name/log
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/$name/crashes/" \
		"$@" "$work/$name/corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
		tail -n 1)
	crashes=$(find "$work/$name/crashes" -type f | sort)
	if [ "$rc" -eq 0 ] && [ -z "$crashes" ]; then
		echo "fuzz $name: ok (${runs:-?} runs)"
		return
	fi
	status=1
	if [ -z "$crashes" ]; then
		echo "fuzz $name: FAILED (exit $rc, no crash file); log tail:"
		tail -n 30 "$log" | sed 's/^/  /'
		return
	fi
	for f in $crashes; do
		kept=$artifacts/$name-$(basename "$f")
		cp "$f" "$kept"
		echo "fuzz $name: FAILED, crash file $kept"
	done
	cp "$log" "$artifacts/$name.log"
	echo "  log: $artifacts/$name.log"
	grep -E 'ERROR: |invariant violated|runtime error|SUMMARY' "$log" |
		head -n 5 | sed 's/^/  /'
}

fuzz fuzz_normalize "tests/fixtures/*.json tests/fixtures/catalog/*.json" -dict=tests/fuzz/zoom.dict \
	-max_len=262144
fuzz fuzz_signature "" -max_len=8192
fuzz fuzz_spool "" -max_len=65536

exit $status
