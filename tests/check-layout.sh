#!/bin/sh
# check-layout.sh -- the module rules of HACKING.md, checked on the
# production sources (the top-level *.c and *.h):
#
#   * each foreign library has one owner: <fcgiapp.h> only in zoom_events.c,
#     <mysql.h> and its siblings only in store.c, OpenSSL only in
#     signature.c, cJSON only in normalize.c;
#   * store.h and spool.h only in ingest.c, apart from the modules that own
#     a table's SQL and run it through store (OWNS_SQL below); commands.c
#     and zoom_events.c reach the database and the spool through ingest.h;
#   * no file over MAX_FILE lines, no function over MAX_FUNC lines.
#
# Prints each breach and exits 1; prints "layout: ok" otherwise.
set -u
cd "$(dirname "$0")/.." || exit 2

MAX_FILE=${MAX_FILE:-800}
MAX_FUNC=${MAX_FUNC:-80}
OWNS_SQL="stats.c"
status=0

breach() {
	echo "layout: $*"
	status=1
}

# only HEADER-REGEX FILE...: the header may be included by these files only.
only() {
	pattern=$1
	shift
	for f in *.c *.h; do
		grep -qE "^#include [<\"]($pattern)[>\"]" "$f" || continue
		ok=0
		for allowed in "$@"; do
			[ "$f" = "$allowed" ] && ok=1
		done
		[ "$ok" = 1 ] || breach "$f includes $(grep -oE "^#include [<\"]($pattern)[>\"]" "$f" | head -n 1 | sed 's/#include //'), which only $* may"
	done
}

only 'fcgiapp\.h|fcgi_stdio\.h|fcgios\.h' zoom_events.c
only 'mysql\.h|errmsg\.h|mysqld_error\.h|mariadb_[a-z_]*\.h' store.c
only 'openssl/[a-z_]*\.h' signature.c seal.c
only 'cjson/cJSON\.h|cJSON\.h' normalize.c
# shellcheck disable=SC2086
only 'store\.h' store.c ingest.c ingest_ops.c ingest_visits.c ingest_purge.c ingest_int.h $OWNS_SQL
only 'spool\.h' spool.c spool_record.h ingest.c ingest_int.h
only 'spool_record\.h' spool.c spool_record.c

for f in *.c *.h; do
	n=$(wc -l <"$f")
	[ "$n" -le "$MAX_FILE" ] || breach "$f has $n lines (at most $MAX_FILE)"
done

# A function body starts with a line "{" and ends with a line "}" (the
# house style); the line before names it.
awk -v max="$MAX_FUNC" '
	/^[a-zA-Z_][a-zA-Z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
	/^\{/ { start = FNR }
	/^\}/ {
		if (start && FNR - start + 1 > max)
			printf "layout: %s: %s() has %d lines (at most %d)\n",
			    FILENAME, name, FNR - start + 1, max
		start = 0
	}' ./*.c >"${TMPDIR:-/tmp}/layout.$$"
if [ -s "${TMPDIR:-/tmp}/layout.$$" ]; then
	cat "${TMPDIR:-/tmp}/layout.$$"
	status=1
fi
rm -f "${TMPDIR:-/tmp}/layout.$$"

[ "$status" = 0 ] && echo "layout: ok"
exit "$status"
