/*
 * outbuf.c -- the bounded output builder (see outbuf.h).  Pure: libc only.
 */
#include "outbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
outbuf_init(struct outbuf *ob, char *buf, size_t size)
{
	ob->buf = buf;
	ob->size = size;
	ob->len = 0;
	ob->overflow = size == 0;
	if (size > 0)
		buf[0] = '\0';
}

void
outbuf_add(struct outbuf *ob, const char *s, size_t n)
{
	if (ob->overflow)
		return;
	if (n >= ob->size - ob->len) {
		ob->overflow = true;
		return;
	}
	memcpy(ob->buf + ob->len, s, n);
	ob->len += n;
	ob->buf[ob->len] = '\0';
}

void
outbuf_str(struct outbuf *ob, const char *s)
{
	outbuf_add(ob, s, strlen(s));
}

void
outbuf_printf(struct outbuf *ob, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ob->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(ob->buf + ob->len, ob->size - ob->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= ob->size - ob->len) {
		ob->overflow = true;
		ob->buf[ob->len] = '\0';
		return;
	}
	ob->len += (size_t)n;
}

/* s with each character in special written as a backslash escape; control
 * characters as \u00XX when json, dropped otherwise. */
static void
escaped(struct outbuf *ob, const char *s, bool json)
{
	for (; *s != '\0' && !ob->overflow; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			outbuf_add(ob, esc, 2);
		} else if (c == '\n') {
			outbuf_add(ob, "\\n", 2);
		} else if (c < 0x20) {
			if (json)
				outbuf_printf(ob, "\\u%04x", c);
		} else {
			outbuf_add(ob, s, 1);
		}
	}
}

void
outbuf_json_str(struct outbuf *ob, const char *s)
{
	outbuf_add(ob, "\"", 1);
	escaped(ob, s, true);
	outbuf_add(ob, "\"", 1);
}

void
outbuf_label(struct outbuf *ob, const char *s)
{
	outbuf_add(ob, "\"", 1);
	escaped(ob, s, false);
	outbuf_add(ob, "\"", 1);
}

bool
outbuf_ok(const struct outbuf *ob)
{
	return !ob->overflow;
}
