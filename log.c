/*
 * log.c -- logfmt lines to stderr, syslog or a file.
 *
 * Lines look like
 *   ts=2026-11-24T16:20:00.123Z level=info pid=42 msg="worker ready"
 * (syslog gets the same without ts, which syslog adds).  Each line is one
 * write(2) on an O_APPEND descriptor, so the lines of several workers
 * sharing a file or a journald stream do not interleave.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_LVL_INFO;
static int use_syslog;
static int log_fd = STDERR_FILENO;
static long log_pid;            /* 0 until log_init() */

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int
log_level_parse(const char *s)
{
	if (strcasecmp(s, "debug") == 0)
		return LOG_LVL_DEBUG;
	if (strcasecmp(s, "info") == 0)
		return LOG_LVL_INFO;
	if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	if (strcasecmp(s, "error") == 0)
		return LOG_LVL_ERROR;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < LOG_LVL_DEBUG || level > LOG_LVL_ERROR)
		return "unknown";
	return level_names[level];
}

/* True when fd is closed or /dev/null, where lines would be lost. */
static int
fd_is_void(int fd)
{
	struct stat st, null;

	if (fstat(fd, &st) != 0)
		return 1;
	if (!S_ISCHR(st.st_mode) || stat("/dev/null", &null) != 0)
		return 0;
	return st.st_rdev == null.st_rdev;
}

int
log_init(const char *target, enum log_level level, const char *ident)
{
	int fd;

	min_level = level;
	log_pid = (long)getpid();
	if (strcmp(target, "stderr") == 0)
		return 0;
	if (strcmp(target, "syslog") == 0 ||
	    (strcmp(target, "auto") == 0 && fd_is_void(STDERR_FILENO))) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		use_syslog = 1;
		return 0;
	}
	if (strcmp(target, "auto") == 0)
		return 0;
	fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	log_fd = fd;
	return 0;
}

void
log_after_fork(void)
{
	log_pid = (long)getpid();
}

int
log_enabled(enum log_level level)
{
	return level >= min_level;
}

void
logline_init(struct logline *l)
{
	l->len = 0;
	l->buf[0] = '\0';
}

static void
put(struct logline *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len;

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

/* Append val, quoted and escaped when it holds spaces, quotes, '=' or
 * control bytes; control bytes become \xNN so a line stays one line. */
static void
put_value(struct logline *l, const char *val)
{
	const unsigned char *p;
	int quote = val[0] == '\0';
	char esc[5];

	for (p = (const unsigned char *)val; *p != '\0'; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    *p == 0x7F)
			quote = 1;
	if (!quote) {
		put(l, val, strlen(val));
		return;
	}
	put(l, "\"", 1);
	for (p = (const unsigned char *)val; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(l, esc, 2);
		} else if (*p < ' ' || *p == 0x7F) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			put(l, esc, 4);
		} else {
			put(l, (const char *)p, 1);
		}
	}
	put(l, "\"", 1);
}

void
logline_str(struct logline *l, const char *key, const char *val)
{
	if (l->len > 0)
		put(l, " ", 1);
	put(l, key, strlen(key));
	put(l, "=", 1);
	put_value(l, val != NULL ? val : "");
}

void
logline_int(struct logline *l, const char *key, long long val)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", val);
	logline_str(l, key, num);
}

void
logline_ms(struct logline *l, const char *key, double ms)
{
	char num[32];

	snprintf(num, sizeof(num), "%.3f", ms);
	logline_str(l, key, num);
}

void
logline_emit(struct logline *l, enum log_level level)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
	char line[sizeof(l->buf) + 96];
	struct timespec ts;
	struct tm tm;
	int n;

	if (!log_enabled(level))
		return;
	if (use_syslog) {
		syslog(prio[level], "level=%s %s", level_names[level], l->buf);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s pid=%ld %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level],
	    log_pid != 0 ? log_pid : (long)getpid(), l->buf);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* A lost log line is not worth failing a request for. */
	if (write(log_fd, line, (size_t)n) < 0)
		return;
}

__attribute__((format(printf, 3, 0)))
static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	struct logline l;
	char msg[768];
	int saved = errno;

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t n = strlen(msg);

		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	logline_init(&l);
	logline_str(&l, "msg", msg);
	logline_emit(&l, level);
	errno = saved;
}

/* Each entry point: format, log at level, then do "then" (exit for the
 * fatal ones). */
#define LOG_FN(name, level, with_errno, then)   \
	void                                    \
	name(const char *fmt, ...)              \
	{                                       \
		va_list ap;                     \
		va_start(ap, fmt);              \
		vlog(level, with_errno, fmt, ap); \
		va_end(ap);                     \
		then;                           \
	}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0, (void)0)
LOG_FN(log_info, LOG_LVL_INFO, 0, (void)0)
LOG_FN(log_warnx, LOG_LVL_WARN, 0, (void)0)
LOG_FN(log_warn, LOG_LVL_WARN, 1, (void)0)
LOG_FN(log_errorx, LOG_LVL_ERROR, 0, (void)0)
LOG_FN(fatalx, LOG_LVL_ERROR, 0, exit(1))
LOG_FN(fatal, LOG_LVL_ERROR, 1, exit(1))
