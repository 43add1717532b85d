/*
 * config.c -- read Config.toml (libinih) and ZOOM_EVENTS_* variables into
 * struct config, validating every value against its bounds.
 *
 * Config.toml is TOML, and libinih reads the subset the seed uses:
 * [a.b.c] tables and key = value lines.  This file adds what TOML needs on
 * top: "double" and 'single' quoted strings (with the basic escapes), and
 * '#' comments after a value.  Knows nothing of FastCGI or the database.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "log.h"
#include "seal.h"

enum kind { K_STR, K_INT, K_BOOL, K_LEVEL };

enum section { S_DB, S_ZOOM, S_SERVICE, S_OTHER };

/*
 * Every setting: where it lives in the file, its environment variable, its
 * type and bounds.  The README and deploy/zoom_events.toml.example list
 * the same table for people.
 */
struct key {
	enum section section;
	const char *name;
	const char *env;
	enum kind kind;
	size_t off;
	size_t size;            /* K_STR: buffer size */
	long min, max, def;     /* K_INT, K_BOOL, K_LEVEL */
	const char *sdef;       /* K_STR default */
	bool secret;            /* masked by config_dump */
};

#define STR(sec, name, env, field, def, secret)                          \
	{ sec, name, env, K_STR, offsetof(struct config, field),          \
	  sizeof(((struct config *)0)->field), 0, 0, 0, def, secret }
#define INT(sec, name, env, field, min, max, def)                        \
	{ sec, name, env, K_INT, offsetof(struct config, field), 0, min,  \
	  max, def, NULL, false }

static const struct key keys[] = {
	STR(S_DB, "host", "ZOOM_EVENTS_DB_HOST", db.host, "localhost", false),
	INT(S_DB, "port", "ZOOM_EVENTS_DB_PORT", db.port, 1, 65535, 3306),
	STR(S_DB, "user", "ZOOM_EVENTS_DB_USER", db.user, "zoom_events",
	    false),
	STR(S_DB, "password", "ZOOM_EVENTS_DB_PASSWORD", db.password, "",
	    true),
	STR(S_DB, "database", "ZOOM_EVENTS_DB_NAME", db.database,
	    "zoom_events", false),
	STR(S_DB, "socket", "ZOOM_EVENTS_DB_SOCKET", db.socket, "", false),
	STR(S_DB, "ssl_mode", "ZOOM_EVENTS_DB_SSL_MODE", db.ssl_mode, "", false),
	STR(S_DB, "ssl_ca", "ZOOM_EVENTS_DB_SSL_CA", db.ssl_ca, "", false),
	STR(S_DB, "ssl_cert", "ZOOM_EVENTS_DB_SSL_CERT", db.ssl_cert, "", false),
	STR(S_DB, "ssl_key", "ZOOM_EVENTS_DB_SSL_KEY", db.ssl_key, "", false),

	STR(S_ZOOM, "webhook_secret", "ZOOM_EVENTS_WEBHOOK_SECRET",
	    secret_list, "", true),
	STR(S_ZOOM, "webhook_secret_file", "ZOOM_EVENTS_WEBHOOK_SECRET_FILE",
	    secret_file, "", false),
	{ S_ZOOM, "allow_unsigned", "ZOOM_EVENTS_ALLOW_UNSIGNED", K_BOOL,
	  offsetof(struct config, allow_unsigned), 0, 0, 1, 0, NULL, false },
	INT(S_ZOOM, "signature_max_age_s", "ZOOM_EVENTS_SIGNATURE_MAX_AGE",
	    sig_max_age_s, 0, 86400, ZE_DEFAULT_SIG_MAX_AGE_S),
	INT(S_ZOOM, "signature_max_future_s", "ZOOM_EVENTS_SIGNATURE_MAX_FUTURE",
	    sig_max_future_s, 0, 86400, ZE_DEFAULT_SIG_MAX_FUTURE_S),

	INT(S_SERVICE, "max_body_bytes", "ZOOM_EVENTS_MAX_BODY",
	    max_body_bytes, ZE_MIN_BODY_BYTES, ZE_MAX_BODY_BYTES,
	    ZE_DEFAULT_MAX_BODY_BYTES),
	STR(S_SERVICE, "spool_dir", "ZOOM_EVENTS_SPOOL_DIR", spool_dir,
	    "/var/spool/zoom_events", false),
	STR(S_SERVICE, "instance", "ZOOM_EVENTS_INSTANCE", instance, "",
	    false),
	STR(S_SERVICE, "log", "ZOOM_EVENTS_LOG", log_target, "auto", false),
	{ S_SERVICE, "log_level", "ZOOM_EVENTS_LOG_LEVEL", K_LEVEL,
	  offsetof(struct config, log_level), 0, 0, 0, LOG_LVL_INFO, NULL,
	  false },
	INT(S_SERVICE, "db_timeout_s", "ZOOM_EVENTS_DB_TIMEOUT", db_timeout_s,
	    1, 30, ZE_DEFAULT_DB_TIMEOUT_S),
	INT(S_SERVICE, "db_retry_ms", "ZOOM_EVENTS_DB_RETRY_MS", db_retry_ms,
	    0, 60000, ZE_DEFAULT_DB_RETRY_MS),
	INT(S_SERVICE, "stats_cache_ms", "ZOOM_EVENTS_STATS_CACHE_MS",
	    stats_cache_ms, 0, 60000, ZE_DEFAULT_STATS_CACHE_MS),
	INT(S_SERVICE, "stats_slots", "ZOOM_EVENTS_STATS_SLOTS", stats_slots,
	    1, 1024, ZE_DEFAULT_STATS_SLOTS),
	INT(S_SERVICE, "batch_max", "ZOOM_EVENTS_BATCH_MAX", batch_max, 1,
	    ZE_MAX_BATCH, ZE_DEFAULT_BATCH_MAX),
	INT(S_SERVICE, "threads", "ZOOM_EVENTS_THREADS", threads, 1,
	    ZE_MAX_THREADS, ZE_DEFAULT_THREADS),
	STR(S_SERVICE, "store_raw", "ZOOM_EVENTS_STORE_RAW", store_raw, "full",
	    false),
	STR(S_SERVICE, "participant_name", "ZOOM_EVENTS_PARTICIPANT_NAME",
	    participant_name, "keep", false),
	STR(S_SERVICE, "pseudonym_key_file", "ZOOM_EVENTS_PSEUDONYM_KEY_FILE",
	    pseudonym_key_file, "", false),
	STR(S_SERVICE, "spool_key_file", "ZOOM_EVENTS_SPOOL_KEY_FILE",
	    spool_key_file, "", false),
	INT(S_SERVICE, "retention_days", "ZOOM_EVENTS_RETENTION_DAYS",
	    retention_days, 0, 36500, 0),
	/* One key a line (name and variable): the deploy tests read them. */
	INT(S_SERVICE, "rejected_retention_days", "ZOOM_EVENTS_REJECTED_RETENTION_DAYS",
	    rejected_retention_days, 0, 36500, 0),
	INT(S_SERVICE, "ledger_retention_days", "ZOOM_EVENTS_LEDGER_RETENTION_DAYS",
	    ledger_retention_days, 0, 36500, 0),
	INT(S_SERVICE, "visit_quiet_s", "ZOOM_EVENTS_VISIT_QUIET", visit_quiet_s,
	    60, 7 * 86400, ZE_DEFAULT_VISIT_QUIET_S),
	INT(S_SERVICE, "visit_open_alert_s", "ZOOM_EVENTS_VISIT_OPEN_ALERT",
	    visit_open_alert_s, 60, 30 * 86400, ZE_DEFAULT_VISIT_OPEN_ALERT_S),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const section_names[] = { "db", "zoom", "zoom_events" };

/* Parser state for the ini handler. */
struct parse {
	struct config *c;
	char *err;
	size_t errlen;
	int failed;
	int lineno;             /* counted by reader() */
	int overlong;
	FILE *fp;
};

__attribute__((format(printf, 3, 4)))
static int
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 2, 3)))
static void
add_warning(struct config *c, const char *fmt, ...)
{
	char msg[sizeof(c->warnings[0])];
	va_list ap;

	if (c->nwarnings >= CONFIG_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(c->warnings[c->nwarnings++], msg, sizeof(msg));
}

static enum section
section_of(const char *s)
{
	if (strcmp(s, "healthcare_integration.healthcare_integration.db") == 0
	    || strcmp(s, "db") == 0)
		return S_DB;
	if (strcmp(s, "zoom") == 0)
		return S_ZOOM;
	if (strcmp(s, "zoom_events") == 0)
		return S_SERVICE;
	return S_OTHER;
}

/*
 * TOML value text to a plain string in out[0..size): quotes removed with
 * their escapes, a trailing '# comment' dropped.  Returns 0, or -1 with a
 * reason.
 */
static int
unquote(const char *v, char *out, size_t size, const char **why)
{
	size_t n = 0;
	char q = v[0];

	if (q == '"' || q == '\'') {
		const char *p;

		for (p = v + 1; *p != q; p++) {
			char ch = *p;

			if (*p == '\0') {
				*why = "has no closing quote";
				return -1;
			}
			if (q == '"' && *p == '\\') {
				p++;
				switch (*p) {
				case '"': ch = '"'; break;
				case '\\': ch = '\\'; break;
				case 't': ch = '\t'; break;
				case 'n': ch = '\n'; break;
				default:
					*why = "has an unsupported escape";
					return -1;
				}
			}
			if (n + 1 >= size) {
				*why = "is too long";
				return -1;
			}
			out[n++] = ch;
		}
		p++;
		p += strspn(p, " \t");
		if (*p != '\0' && *p != '#') {
			*why = "has text after its closing quote";
			return -1;
		}
		out[n] = '\0';
		return 0;
	}
	n = strcspn(v, "#");
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= size) {
		*why = "is too long";
		return -1;
	}
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Store the plain string s into k's field.  origin names the source for
 * messages ("Config.toml [db] port" or "ZOOM_EVENTS_DB_PORT"). */
static int
apply(struct config *c, const struct key *k, const char *s,
    const char *origin, char *err, size_t errlen)
{
	char *field = (char *)c + k->off;
	char *end;
	long v;
	int lvl;

	switch (k->kind) {
	case K_STR:
		if (strlen(s) >= k->size)
			return set_err(err, errlen, "%s: longer than %zu "
			    "characters", origin, k->size - 1);
		strcpy(field, s);
		return 0;
	case K_INT:
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0' || v < k->min ||
		    v > k->max)
			return set_err(err, errlen, "%s: \"%s\" is not an "
			    "integer from %ld to %ld", origin, s, k->min,
			    k->max);
		*(int *)(void *)field = (int)v;
		return 0;
	case K_BOOL:
		if (parse_bool(s, (bool *)(void *)field) != 0)
			return set_err(err, errlen, "%s: \"%s\" is not true "
			    "or false", origin, s);
		return 0;
	case K_LEVEL:
		if ((lvl = log_level_parse(s)) < 0)
			return set_err(err, errlen, "%s: \"%s\" is not one of "
			    "debug, info, warn, error", origin, s);
		*(int *)(void *)field = lvl;
		return 0;
	}
	return -1;
}

static const struct key *
find_key(enum section sec, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].section == sec && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	enum section sec = section_of(section);
	const struct key *k;
	char plain[PATH_MAX], origin[300];
	const char *why;

	if (p->failed)
		return 1;
	/* Tables of other programs (the Ballerina runtime's) are skipped. */
	if (sec == S_OTHER)
		return 1;
	snprintf(origin, sizeof(origin), "%.120s line %d: [%.64s] %.40s", p->c->path,
	    p->lineno, section, name);
	if ((k = find_key(sec, name)) == NULL) {
		set_err(p->err, p->errlen, "%s: unknown key", origin);
		p->failed = 1;
		return 1;
	}
	if (unquote(value, plain, sizeof(plain), &why) != 0) {
		set_err(p->err, p->errlen, "%s: the value %s", origin, why);
		p->failed = 1;
		return 1;
	}
	if (apply(p->c, k, plain, origin, p->err, p->errlen) != 0)
		p->failed = 1;
	return 1;
}

/* fgets for inih that notices lines longer than inih's buffer, which it
 * would otherwise split silently into two lines. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t n;

	if (fgets(str, num, p->fp) == NULL)
		return NULL;
	n = strlen(str);
	if (n > 0 && str[n - 1] != '\n' && !feof(p->fp))
		p->overlong = 1;
	p->lineno++;
	return str;
}

static int
read_file(struct config *c, char *err, size_t errlen)
{
	struct parse p = { c, err, errlen, 0, 0, 0, NULL };
	struct stat st;
	int rc;

	if ((p.fp = fopen(c->path, "r")) == NULL)
		return set_err(err, errlen, "cannot open %s: %s", c->path,
		    strerror(errno));
	/*
	 * TOML, not INI: an indented line is a key of its own, not more of
	 * the previous value, and ';' is a character like any other (unquote()
	 * handles '#' comments).  Debian's libinih makes these run-time
	 * settings.
	 */
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;
	rc = ini_parse_stream(reader, &p, handler, &p);
	if (fstat(fileno(p.fp), &st) == 0 && (st.st_mode & S_IROTH) &&
	    (c->db.password[0] != '\0' || c->secret_list[0] != '\0'))
		add_warning(c, "%.150s holds a password or secret and is readable "
		    "by everyone (mode %04o): chmod 600 it", c->path,
		    (unsigned)(st.st_mode & 07777));
	fclose(p.fp);
	if (p.failed)
		return -1;
	if (p.overlong)
		return set_err(err, errlen, "%s: a line is longer than this "
		    "build of libinih reads", c->path);
	if (rc != 0)
		return set_err(err, errlen, "%s line %d: not a key = value "
		    "line or [table] header", c->path, rc);
	return 0;
}

static int
read_env(struct config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *v = keys[i].env ? getenv(keys[i].env) : NULL;

		if (v == NULL)
			continue;
		if (apply(c, &keys[i], v, keys[i].env, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* A label: 1 to ZE_LABEL_MAX of [A-Za-z0-9_-]. */
static bool
is_label(const char *s, size_t n)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_-";

	if (n == 0 || n > ZE_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strchr(chars, s[i]) == NULL || s[i] == '\0')
			return false;
	return true;
}

/* One item, "label:secret" or "secret" (label "default"), p[0..n). */
static int
add_secret(struct config *c, const char *p, size_t n, const char *origin,
    char *err, size_t errlen)
{
	const char *colon = memchr(p, ':', n);
	const char *label = "default";
	size_t llen = 7;

	if (c->nsecrets == ZE_MAX_SECRETS)
		return set_err(err, errlen, "%s: more than %d secrets", origin,
		    ZE_MAX_SECRETS);
	if (colon != NULL) {
		label = p;
		llen = (size_t)(colon - p);
		if (!is_label(label, llen))
			return set_err(err, errlen, "%s: a label must be 1 to %d "
			    "of A-Z a-z 0-9 _ - (a secret holding ':' must be "
			    "written LABEL:SECRET)", origin, ZE_LABEL_MAX);
		/* The metrics' bucket for 401s of no known account. */
		if (llen == 7 && memcmp(label, "unknown", 7) == 0)
			return set_err(err, errlen, "%s: the label \"unknown\" "
			    "is reserved", origin);
		n -= llen + 1;
		p = colon + 1;
	}
	if (n == 0)
		return set_err(err, errlen, "%s: an empty secret", origin);
	if (n > ZE_SECRET_MAX)
		return set_err(err, errlen, "%s: a secret is longer than %d "
		    "characters", origin, ZE_SECRET_MAX);
	memcpy(c->secret_store[c->nsecrets], p, n);
	c->secret_store[c->nsecrets][n] = '\0';
	memcpy(c->label_store[c->nsecrets], label, llen);
	c->label_store[c->nsecrets][llen] = '\0';
	c->secrets[c->nsecrets] = c->secret_store[c->nsecrets];
	c->labels[c->nsecrets] = c->label_store[c->nsecrets];
	c->nsecrets++;
	return 0;
}

/* Split a comma-separated list of [label:]secret items into c->secrets and
 * c->labels. */
static int
split_secrets(struct config *c, const char *list, const char *origin,
    char *err, size_t errlen)
{
	const char *p = list;

	c->nsecrets = 0;
	while (*p != '\0') {
		size_t n;

		p += strspn(p, " \t\r\n,");
		n = strcspn(p, ",");
		while (n > 0 && strchr(" \t\r\n", p[n - 1]) != NULL)
			n--;
		if (n == 0)
			break;
		if (add_secret(c, p, n, origin, err, errlen) != 0)
			return -1;
		p += n;
		p += strcspn(p, ",");
	}
	return 0;
}

static int
load_secrets(struct config *c, char *err, size_t errlen)
{
	char buf[sizeof(c->secret_list) + 64];
	struct stat st;
	FILE *fp;
	size_t n;

	if (c->secret_list[0] != '\0' || c->secret_file[0] == '\0')
		return split_secrets(c, c->secret_list, "webhook_secret", err,
		    errlen);
	if ((fp = fopen(c->secret_file, "r")) == NULL)
		return set_err(err, errlen, "webhook_secret_file: cannot open "
		    "%s: %s", c->secret_file, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & S_IROTH))
		add_warning(c, "webhook secret file %.150s is readable by everyone "
		    "(mode %04o): chmod 600 it", c->secret_file,
		    (unsigned)(st.st_mode & 07777));
	fclose(fp);
	if (n == sizeof(buf) - 1)
		return set_err(err, errlen, "webhook_secret_file: %s is too "
		    "large", c->secret_file);
	if (split_secrets(c, buf, c->secret_file, err, errlen) != 0)
		return -1;
	if (c->nsecrets == 0)
		return set_err(err, errlen, "webhook_secret_file: %s holds no "
		    "secret", c->secret_file);
	return 0;
}

/* Instance names key the counter rows: keep them short and plain. */
static void
default_instance(struct config *c)
{
	char host[256] = "";

	if (c->instance[0] != '\0')
		return;
	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
		strcpy(host, "localhost");
	snprintf(c->instance, sizeof(c->instance), "%.64s", host);
	for (char *p = c->instance; *p != '\0'; p++)
		if (strchr(ZE_NAME_CHARS, *p) == NULL)
			*p = '_';
	if (!isalnum((unsigned char)c->instance[0]))
		c->instance[0] = 'h';
}

static const char *const raw_policies[] = { "full", "redacted", "none" };
static const char *const name_policies[] = { "keep", "pseudonymise",
	"drop" };

/* The index of s in names[0..n), or -1. */
static int
index_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

enum raw_policy
config_raw_policy(const struct config *c)
{
	int i = index_of(raw_policies, 3, c->store_raw);

	return i < 0 ? RAW_FULL : (enum raw_policy)i;
}

enum name_policy
config_name_policy(const struct config *c)
{
	int i = index_of(name_policies, 3, c->participant_name);

	return i < 0 ? NAME_KEEP : (enum name_policy)i;
}

/* A small key file into buf (NUL-terminated), warning when others can
 * read it.  Returns its length, or -1 with the reason in err. */
static long
read_key_file(struct config *c, const char *key, const char *path, char *buf,
    size_t size, char *err, size_t errlen)
{
	struct stat st;
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return set_err(err, errlen, "%s: cannot open %s: %s", key, path,
		    strerror(errno));
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
		add_warning(c, "%s %.150s is readable by others (mode %04o): "
		    "chmod 600 it", key, path, (unsigned)(st.st_mode & 07777));
	fclose(fp);
	if (n == size - 1)
		return set_err(err, errlen, "%s: %s is too large", key, path);
	return (long)n;
}

/* store_raw, participant_name and the key files they need. */
static int
load_phi(struct config *c, char *err, size_t errlen)
{
	static char text[SEAL_KEY_FILE_MAX + 2];
	long n;

	if (index_of(raw_policies, 3, c->store_raw) < 0)
		return set_err(err, errlen, "store_raw: \"%s\" is not one of "
		    "full, redacted, none", c->store_raw);
	if (index_of(name_policies, 3, c->participant_name) < 0)
		return set_err(err, errlen, "participant_name: \"%s\" is not "
		    "one of keep, pseudonymise, drop", c->participant_name);
	if (config_name_policy(c) == NAME_PSEUDONYMISE) {
		if (c->pseudonym_key_file[0] == '\0')
			return set_err(err, errlen, "participant_name = "
			    "pseudonymise needs pseudonym_key_file");
		n = read_key_file(c, "pseudonym_key_file",
		    c->pseudonym_key_file, c->pseudonym_key,
		    sizeof(c->pseudonym_key), err, errlen);
		while (n > 0 && strchr("\r\n", c->pseudonym_key[n - 1]))
			c->pseudonym_key[--n] = '\0';
		if (n < 16)
			return n < 0 ? -1 : set_err(err, errlen,
			    "pseudonym_key_file: %s holds fewer than 16 "
			    "bytes", c->pseudonym_key_file);
	}
	if (c->spool_key_file[0] == '\0')
		return 0;
	if ((n = read_key_file(c, "spool_key_file", c->spool_key_file, text,
	    sizeof(text), err, errlen)) < 0)
		return -1;
	if (seal_key_parse(text, (size_t)n, c->spool_key, err, errlen) != 0)
		return -1;
	memset(text, 0, sizeof(text));
	c->has_spool_key = true;
	return 0;
}

static const char *const ssl_modes[] = { "disabled", "preferred",
	"required", "verify_ca", "verify_identity" };

enum ssl_mode
config_ssl_mode(const struct db_config *db)
{
	for (size_t i = 0; i < sizeof(ssl_modes) / sizeof(ssl_modes[0]); i++)
		if (strcmp(db->ssl_mode, ssl_modes[i]) == 0)
			return (enum ssl_mode)i;
	if (db->socket[0] != '\0' || strcmp(db->host, "localhost") == 0 ||
	    strncmp(db->host, "127.", 4) == 0 || strcmp(db->host, "::1") == 0)
		return SSL_MODE_PREFER;
	return SSL_MODE_REQUIRE;
}

/* ssl_mode is one of the names (or empty), and the verify modes have a CA
 * to verify with. */
static int
check_ssl(const struct db_config *db, char *err, size_t errlen)
{
	bool known = db->ssl_mode[0] == '\0';

	for (size_t i = 0; i < sizeof(ssl_modes) / sizeof(ssl_modes[0]); i++)
		known = known || strcmp(db->ssl_mode, ssl_modes[i]) == 0;
	if (!known)
		return set_err(err, errlen, "ssl_mode: \"%s\" is not one of "
		    "disabled, preferred, required, verify_ca, verify_identity",
		    db->ssl_mode);
	if (config_ssl_mode(db) >= SSL_MODE_VERIFY_CA && db->ssl_ca[0] == '\0')
		return set_err(err, errlen, "ssl_mode %s needs ssl_ca, the "
		    "certificate authority that signed the server's "
		    "certificate", db->ssl_mode);
	if ((db->ssl_cert[0] == '\0') != (db->ssl_key[0] == '\0'))
		return set_err(err, errlen, "ssl_cert and ssl_key go together");
	return 0;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	bool required = true;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		char *field = (char *)c + k->off;

		if (k->kind == K_STR)
			snprintf(field, k->size, "%s", k->sdef);
		else if (k->kind == K_BOOL)
			*(bool *)(void *)field = k->def != 0;
		else
			*(int *)(void *)field = (int)k->def;
	}

	if (path == NULL)
		path = getenv("ZOOM_EVENTS_CONFIG");
	if (path == NULL) {
		path = "Config.toml";
		required = access(path, F_OK) == 0;
	}
	if (required) {
		if (strlen(path) >= sizeof(c->path))
			return set_err(err, errlen, "config path too long");
		strcpy(c->path, path);
		if (read_file(c, err, errlen) != 0)
			return -1;
	}
	if (read_env(c, err, errlen) != 0)
		return -1;
	if (load_secrets(c, err, errlen) != 0)
		return -1;
	default_instance(c);
	/* A leading dot would make the instance's spool files dot files,
	 * which the spool's directory walk skips: never drained. */
	if (strspn(c->instance, ZE_NAME_CHARS) != strlen(c->instance) ||
	    !isalnum((unsigned char)c->instance[0]))
		return set_err(err, errlen, "instance: \"%s\" may only hold "
		    "letters, digits, '.', '_' and '-', and must start with a "
		    "letter or digit", c->instance);
	if (c->spool_dir[0] == '\0')
		return set_err(err, errlen, "spool_dir: must not be empty");
	if (load_phi(c, err, errlen) != 0)
		return -1;
	return check_ssl(&c->db, err, errlen);
}

int
config_check_serving(const struct config *c, char *err, size_t errlen)
{
	if (c->nsecrets == 0 && !c->allow_unsigned)
		return set_err(err, errlen, "no webhook secret configured: set "
		    "ZOOM_EVENTS_WEBHOOK_SECRET or [zoom] webhook_secret_file "
		    "(or, for local testing only, allow_unsigned = true)");
	return 0;
}

void
config_copy(struct config *dst, const struct config *src)
{
	*dst = *src;
	for (size_t i = 0; i < dst->nsecrets; i++) {
		dst->secrets[i] = dst->secret_store[i];
		dst->labels[i] = dst->label_store[i];
	}
}

void
config_dump(const struct config *c, void (*out)(const char *line))
{
	char line[PATH_MAX + 128];

	snprintf(line, sizeof(line), "config file: %s",
	    c->path[0] ? c->path : "(none: defaults and environment)");
	out(line);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *field = (const char *)c + k->off;

		if (k->kind == K_STR && k->secret)
			snprintf(line, sizeof(line), "[%s] %s = %s",
			    section_names[k->section], k->name,
			    field[0] ? "(set, hidden)" : "(empty)");
		else if (k->kind == K_STR)
			snprintf(line, sizeof(line), "[%s] %s = \"%s\"",
			    section_names[k->section], k->name, field);
		else if (k->kind == K_BOOL)
			snprintf(line, sizeof(line), "[%s] %s = %s",
			    section_names[k->section], k->name,
			    *(const bool *)(const void *)field ? "true"
			    : "false");
		else if (k->kind == K_LEVEL)
			snprintf(line, sizeof(line), "[%s] %s = \"%s\"",
			    section_names[k->section], k->name,
			    log_level_name(*(const int *)(const void *)field));
		else
			snprintf(line, sizeof(line), "[%s] %s = %d",
			    section_names[k->section], k->name,
			    *(const int *)(const void *)field);
		out(line);
	}
	snprintf(line, sizeof(line), "webhook secrets configured: %zu",
	    c->nsecrets);
	out(line);
	for (size_t i = 0; i < c->nsecrets; i++) {
		snprintf(line, sizeof(line), "webhook secret %zu: label %s",
		    i + 1, c->labels[i]);
		out(line);
	}
}
