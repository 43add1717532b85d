/*
 * log.h -- one sink (stderr, syslog or a file) for logfmt lines, with
 * levels.  Nothing else in zoom_events writes diagnostics.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/*
 * Choose the sink: "stderr", "syslog", "auto" (stderr unless it is closed
 * or /dev/null, as under spawn-fcgi, then syslog) or a file path opened
 * for appending.  ident names the program in syslog.  Returns 0, or -1 when
 * the file cannot be opened (the sink stays stderr).
 */
int log_init(const char *target, enum log_level level, const char *ident);

/* A forked child calls this once: lines carry the pid, which is looked up
 * once rather than with a system call per line. */
void log_after_fork(void);

/* Parse "debug", "info", "warn"/"warning", "error".  -1 when unknown. */
int log_level_parse(const char *s);

/* The name of a level ("info"). */
const char *log_level_name(int level);

/* True when lines at this level are written (skip building them if not). */
int log_enabled(enum log_level level);

/* Free-form messages: level=... msg="<escaped text>". */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Startup only: log at error level and exit(1). */
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * A logfmt line under construction: key=value pairs, values quoted and
 * escaped when needed, silently cut at the buffer's end.
 */
struct logline {
	char buf[1024];
	size_t len;
};

void logline_init(struct logline *l);
void logline_str(struct logline *l, const char *key, const char *val);
void logline_int(struct logline *l, const char *key, long long val);
void logline_ms(struct logline *l, const char *key, double ms);
/* Write the line at level with the time, level and pid in front. */
void logline_emit(struct logline *l, enum log_level level);

#endif /* LOG_H */
