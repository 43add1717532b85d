/*
 * outbuf.h -- a bounded output builder with a sticky overflow flag, for
 * every response body and rendered report.  Writes never go past the
 * buffer; once something did not fit, the builder stays failed and the
 * caller checks outbuf_ok() once at the end (SQLite's JsonString).
 * Knows nothing of FastCGI, JSON schemas or the database.
 */
#ifndef OUTBUF_H
#define OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct outbuf {
	char *buf;              /* the caller's memory, NUL-terminated */
	size_t size;            /* bytes at buf, > 0 */
	size_t len;             /* bytes written, < size */
	bool overflow;          /* something did not fit */
};

/* Start writing into buf[0..size); size must be at least 1. */
void outbuf_init(struct outbuf *ob, char *buf, size_t size);

void outbuf_add(struct outbuf *ob, const char *s, size_t n);
void outbuf_str(struct outbuf *ob, const char *s);
void outbuf_printf(struct outbuf *ob, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* s as a JSON string, with its quotes: ", \ and control characters
 * escaped.  s must be valid UTF-8 (everything we render is). */
void outbuf_json_str(struct outbuf *ob, const char *s);

/* s as a Prometheus label value (quotes, \, newline escaped). */
void outbuf_label(struct outbuf *ob, const char *s);

/* True when everything written so far fit. */
bool outbuf_ok(const struct outbuf *ob);

#endif /* OUTBUF_H */
