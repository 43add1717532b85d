/*
 * tabular.h -- rows of named columns printed as an aligned table, CSV
 * (RFC 4180, a header line then rows) or JSON (an array of objects keyed
 * by the column names), for the commands that list things (deliveries,
 * report visits, audit).  Knows nothing of where the rows come from.
 */
#ifndef TABULAR_H
#define TABULAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum tab_format { TAB_TABLE, TAB_CSV, TAB_JSON };

/* A column: its name and whether its values are numbers (unquoted in
 * JSON).  A NULL value prints as "" (table, CSV) or null (JSON). */
struct tab_col {
	const char *name;
	bool numeric;
};

struct tab {
	enum tab_format format;
	FILE *fp;
	const struct tab_col *cols;
	size_t ncols;
	size_t rows;
	/* TAB_TABLE buffers the rows to size the columns. */
	char **cells;           /* rows * ncols copies, NULL = SQL NULL */
	size_t cap;
	bool failed;            /* out of memory: tab_end() returns -1 */
};

/* "table", "csv" or "json" into *f.  0, or -1 when unknown. */
int tab_parse_format(const char *s, enum tab_format *f);

void tab_begin(struct tab *t, enum tab_format format, FILE *fp,
    const struct tab_col *cols, size_t ncols);

/* One row: vals[0..ncols), each NULL or a NUL-terminated string. */
void tab_row(struct tab *t, const char *const *vals);

/* Finish the output (the table is printed here) and free the rows.
 * 0, or -1 when a row could not be kept or written. */
int tab_end(struct tab *t);

#endif /* TABULAR_H */
