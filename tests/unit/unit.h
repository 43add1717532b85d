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

/* Two C strings equal (NULL only equals NULL). */
static inline int
unit_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static inline int
unit_check_str(const char *got, const char *want, const char *expr,
    const char *file, int line)
{
	return unit_okf(unit_streq(got, want), expr, file, line,
	    "got \"%s\", want \"%s\"", got ? got : "(null)",
	    want ? want : "(null)");
}

static inline int
unit_check_int(long long got, long long want, const char *expr,
    const char *file, int line)
{
	return unit_okf(got == want, expr, file, line, "got %lld, want %lld",
	    got, want);
}

static inline int
unit_check_contains(const char *haystack, const char *needle,
    const char *expr, const char *file, int line)
{
	return unit_okf(haystack != NULL && strstr(haystack, needle) != NULL,
	    expr, file, line, "got \"%s\", want it to contain \"%s\"",
	    haystack ? haystack : "(null)", needle);
}

/* These print both sides on failure; like CHECK, each is one test and
 * evaluates to 1 when it passed. */
#define CHECK_STR(got, want) \
	unit_check_str((got), (want), #got " == " #want, __FILE__, __LINE__)
#define CHECK_INT(got, want)                                              \
	unit_check_int((long long)(got), (long long)(want),               \
	    #got " == " #want, __FILE__, __LINE__)
#define CHECK_CONTAINS(haystack, needle)                                  \
	unit_check_contains((haystack), (needle),                         \
	    #haystack " contains " #needle, __FILE__, __LINE__)

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
