/*
 * unit.h -- the whole unit test "framework": checks that count and print,
 * and a report that turns failures into a non-zero exit (the idea of
 * redis's testhelp.h).  Header-only; every function is static inline so
 * that a test file using only some of them still builds with -Werror.
 *
 * A test file writes one static void function per behaviour, named for it
 * (normalize_should_reject_float_event_ts), runs each with RUN(fn) and ends
 * main() with `return unit_report("test_normalize");`.  Each CHECK counts as
 * one test.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int unit_passed;
static int unit_failed;
static const char *unit_current = "(no test)";   /* the RUN() in progress */

static inline int
unit_ok(int ok, const char *expr, const char *file, int line)
{
	if (ok) {
		unit_passed++;
		return 1;
	}
	unit_failed++;
	fprintf(stderr, "FAIL %s:%d: %s: %s\n", file, line, unit_current,
	    expr);
	return 0;
}

/* The same with a printf-style detail after the expression. */
__attribute__((format(printf, 5, 6)))
static inline int
unit_okf(int ok, const char *expr, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		unit_passed++;
		return 1;
	}
	unit_failed++;
	fprintf(stderr, "FAIL %s:%d: %s: %s (", file, line, unit_current,
	    expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(")\n", stderr);
	return 0;
}

/* CHECK(cond): one test; evaluates to 1 when it passed. */
#define CHECK(cond) unit_ok((cond) != 0, #cond, __FILE__, __LINE__)

/* CHECKF(cond, fmt, ...): the same, with a detail printed on failure. */
#define CHECKF(cond, ...)                                                 \
	unit_okf((cond) != 0, #cond, __FILE__, __LINE__, __VA_ARGS__)

/* Two C strings equal (NULL only equals NULL); prints both on failure. */
static inline int
unit_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

#define CHECK_STR(got, want)                                              \
	do {                                                              \
		const char *unit_g_ = (got), *unit_w_ = (want);           \
		unit_okf(unit_streq(unit_g_, unit_w_), #got " == " #want, \
		    __FILE__, __LINE__, "got \"%s\", want \"%s\"",          \
		    unit_g_ ? unit_g_ : "(null)",                           \
		    unit_w_ ? unit_w_ : "(null)");                          \
	} while (0)

#define CHECK_INT(got, want)                                              \
	do {                                                              \
		long long unit_g_ = (long long)(got);                     \
		long long unit_w_ = (long long)(want);                    \
		unit_okf(unit_g_ == unit_w_, #got " == " #want, __FILE__, \
		    __LINE__, "got %lld, want %lld", unit_g_, unit_w_);     \
	} while (0)

/* True when haystack contains needle (for error messages). */
static inline int
unit_contains(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

#define CHECK_CONTAINS(haystack, needle)                                  \
	do {                                                              \
		const char *unit_h_ = (haystack), *unit_n_ = (needle);    \
		unit_okf(unit_contains(unit_h_, unit_n_),                 \
		    #haystack " contains " #needle, __FILE__, __LINE__,     \
		    "got \"%s\", want it to contain \"%s\"",                \
		    unit_h_ ? unit_h_ : "(null)", unit_n_);                 \
	} while (0)

/* Run one behaviour, naming it in any failure it reports. */
#define RUN(fn)                                                           \
	do {                                                              \
		unit_current = #fn;                                       \
		fn();                                                     \
		unit_current = "(no test)";                               \
	} while (0)

/* Print "unit NAME: N passed, M failed"; 0 when nothing failed, else 1. */
static inline int
unit_report(const char *name)
{
	printf("unit %s: %d passed, %d failed\n", name, unit_passed,
	    unit_failed);
	fflush(stdout);
	return unit_failed == 0 && unit_passed > 0 ? 0 : 1;
}

#endif /* UNIT_H */
