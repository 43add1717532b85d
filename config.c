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

	STR(S_ZOOM, "webhook_secret", "ZOOM_EVENTS_WEBHOOK_SECRET",
	    secret_list, "", true),
	STR(S_ZOOM, "webhook_secret_file", "ZOOM_EVENTS_WEBHOOK_SECRET_FILE",
	    secret_file, "", false),
	{ S_ZOOM, "allow_unsigned", "ZOOM_EVENTS_ALLOW_UNSIGNED", K_BOOL,
	  offsetof(struct config, allow_unsigned), 0, 0, 1, 0, NULL, false },
	INT(S_ZOOM, "signature_max_age_s", "ZOOM_EVENTS_SIGNATURE_MAX_AGE",
	    sig_max_age_s, 0, 86400, ZE_DEFAULT_SIG_MAX_AGE_S),

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

/* Split a comma-separated list of secrets into c->secrets. */
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
		if (c->nsecrets == ZE_MAX_SECRETS)
			return set_err(err, errlen, "%s: more than %d secrets",
			    origin, ZE_MAX_SECRETS);
		if (n > ZE_SECRET_MAX)
			return set_err(err, errlen, "%s: a secret is longer "
			    "than %d characters", origin, ZE_SECRET_MAX);
		memcpy(c->secret_store[c->nsecrets], p, n);
		c->secret_store[c->nsecrets][n] = '\0';
		c->secrets[c->nsecrets] = c->secret_store[c->nsecrets];
		c->nsecrets++;
		p += n;
		p += strcspn(p, ",");
	}
	return 0;
}

static int
load_secrets(struct config *c, char *err, size_t errlen)
{
	char buf[ZE_MAX_SECRETS * (ZE_SECRET_MAX + 2) + 64];
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
	if (strspn(c->instance, ZE_NAME_CHARS) != strlen(c->instance))
		return set_err(err, errlen, "instance: \"%s\" may only hold "
		    "letters, digits, '.', '_' and '-'", c->instance);
	if (c->spool_dir[0] == '\0')
		return set_err(err, errlen, "spool_dir: must not be empty");
	return 0;
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
	for (size_t i = 0; i < dst->nsecrets; i++)
		dst->secrets[i] = dst->secret_store[i];
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
}
