/*
 * tabular.c -- table, CSV and JSON output of rows (see tabular.h).
 */
#include "tabular.h"

#include <stdlib.h>
#include <string.h>

int
tab_parse_format(const char *s, enum tab_format *f)
{
	if (strcmp(s, "table") == 0)
		*f = TAB_TABLE;
	else if (strcmp(s, "csv") == 0)
		*f = TAB_CSV;
	else if (strcmp(s, "json") == 0)
		*f = TAB_JSON;
	else
		return -1;
	return 0;
}

static void
csv_cell(FILE *fp, const char *v)
{
	if (v == NULL)
		return;
	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, fp);
		return;
	}
	fputc('"', fp);
	for (; *v != '\0'; v++) {
		if (*v == '"')
			fputc('"', fp);
		fputc(*v, fp);
	}
	fputc('"', fp);
}

static void
json_string(FILE *fp, const char *v)
{
	fputc('"', fp);
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

void
tab_begin(struct tab *t, enum tab_format format, FILE *fp,
    const struct tab_col *cols, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->format = format;
	t->fp = fp;
	t->cols = cols;
	t->ncols = ncols;
	if (format == TAB_CSV) {
		for (size_t i = 0; i < ncols; i++) {
			if (i > 0)
				fputc(',', fp);
			csv_cell(fp, cols[i].name);
		}
		fputs("\r\n", fp);
	} else if (format == TAB_JSON) {
		fputc('[', fp);
	}
}

/* Keep a row for the table. */
static void
keep(struct tab *t, const char *const *vals)
{
	if (t->failed)
		return;
	if ((t->rows + 1) * t->ncols > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64 * t->ncols;
		char **c = realloc(t->cells, cap * sizeof(*c));

		if (c == NULL) {
			t->failed = true;
			return;
		}
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char **cell = &t->cells[t->rows * t->ncols + i];

		*cell = vals[i] != NULL ? strdup(vals[i]) : NULL;
		if (vals[i] != NULL && *cell == NULL)
			t->failed = true;
	}
	t->rows++;
}

void
tab_row(struct tab *t, const char *const *vals)
{
	switch (t->format) {
	case TAB_TABLE:
		keep(t, vals);
		return;
	case TAB_CSV:
		for (size_t i = 0; i < t->ncols; i++) {
			if (i > 0)
				fputc(',', t->fp);
			csv_cell(t->fp, vals[i]);
		}
		fputs("\r\n", t->fp);
		break;
	case TAB_JSON:
		fputs(t->rows > 0 ? ",\n{" : "\n{", t->fp);
		for (size_t i = 0; i < t->ncols; i++) {
			if (i > 0)
				fputc(',', t->fp);
			json_string(t->fp, t->cols[i].name);
			fputc(':', t->fp);
			if (vals[i] == NULL)
				fputs("null", t->fp);
			else if (t->cols[i].numeric)
				fputs(vals[i], t->fp);
			else
				json_string(t->fp, vals[i]);
		}
		fputc('}', t->fp);
		break;
	}
	t->rows++;
}

/* The aligned table: a header, a rule, the rows; numbers right-aligned. */
static void
print_table(struct tab *t)
{
	size_t *w = calloc(t->ncols, sizeof(*w));

	if (w == NULL) {
		t->failed = true;
		return;
	}
	for (size_t i = 0; i < t->ncols; i++)
		w[i] = strlen(t->cols[i].name);
	for (size_t r = 0; r < t->rows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			const char *v = t->cells[r * t->ncols + i];

			if (v != NULL && strlen(v) > w[i])
				w[i] = strlen(v);
		}
	for (size_t i = 0; i < t->ncols; i++)
		fprintf(t->fp, "%s%-*s", i ? "  " : "", (int)w[i],
		    t->cols[i].name);
	fputc('\n', t->fp);
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *v = t->cells[r * t->ncols + i];

			fprintf(t->fp, "%s%*s", i ? "  " : "",
			    t->cols[i].numeric ? (int)w[i] : -(int)w[i],
			    v != NULL ? v : "");
		}
		fputc('\n', t->fp);
	}
	free(w);
}

int
tab_end(struct tab *t)
{
	if (t->format == TAB_TABLE && !t->failed)
		print_table(t);
	else if (t->format == TAB_JSON)
		fputs(t->rows > 0 ? "\n]\n" : "]\n", t->fp);
	for (size_t i = 0; i < t->rows * t->ncols && t->cells != NULL; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	if (fflush(t->fp) != 0 || ferror(t->fp))
		t->failed = true;
	return t->failed ? -1 : 0;
}
