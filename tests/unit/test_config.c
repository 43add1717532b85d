/*
 * test_config.c -- config_load() over temporary Config.toml files (mkstemp
 * under $TMPDIR) and ZOOM_EVENTS_* variables.  Every case starts from an
 * environment with no ZOOM_EVENTS_* variable at all.  Links config.o,
 * log.o and -linih only.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tests/unit/unit.h"

extern char **environ;

#define SEED_TOML \
	"[healthcare_integration.healthcare_integration.db]\n" \
	"host = \"localhost\"\n" \
	"port = 3306\n" \
	"user = \"your_db_user\"\n" \
	"password = \"your_db_password\"\n" \
	"database = \"blueriver\"\n"

static struct config cfg;               /* large: keep it off the stack */
static char err[512];

/* Files to remove at the end. */
static char *made[256];
static size_t nmade;

static const char *
tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && t[0] != '\0' ? t : "/tmp";
}

/* A new temporary file holding text, with the given mode.  The path is
 * removed at exit. */
static const char *
write_file(const char *text, mode_t mode)
{
	char path[PATH_MAX];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/test_config.XXXXXX", tmpdir());
	if ((fd = mkstemp(path)) < 0) {
		perror("mkstemp");
		abort();
	}
	if (write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
		perror(path);
		abort();
	}
	close(fd);
	if (nmade == sizeof(made) / sizeof(made[0]))
		abort();
	if ((made[nmade] = strdup(path)) == NULL)
		abort();
	return made[nmade++];
}

/* Unset every ZOOM_EVENTS_* variable, including ones added after this
 * test was written. */
static void
clear_env(void)
{
	char name[256];
	int again = 1;

	while (again) {
		again = 0;
		for (char **e = environ; e != NULL && *e != NULL; e++) {
			const char *eq = strchr(*e, '=');
			size_t n = eq ? (size_t)(eq - *e) : strlen(*e);

			if (strncmp(*e, "ZOOM_EVENTS_", 12) != 0 ||
			    n >= sizeof(name))
				continue;
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			again = 1;      /* environ changed under us */
			break;
		}
	}
}

/* config_load(path), from a clean environment unless keep_env. */
static int
load(const char *path)
{
	memset(err, 0, sizeof(err));
	return config_load(&cfg, path, err, sizeof(err));
}

/* Load text as a 0600 file; 0 or -1. */
static int
load_text(const char *text)
{
	clear_env();
	return load(write_file(text, 0600));
}

#define CHECK_LOADS(text)                                                 \
	CHECKF(load_text(text) == 0, "config_load failed: %s", err)

static void
check_defaults_except_db(void)
{
	CHECK_STR(cfg.db.socket, "");
	CHECK_STR(cfg.secret_list, "");
	CHECK_STR(cfg.secret_file, "");
	CHECK_INT(cfg.nsecrets, 0);
	CHECK(!cfg.allow_unsigned);
	CHECK_INT(cfg.sig_max_age_s, ZE_DEFAULT_SIG_MAX_AGE_S);
	CHECK_INT(cfg.sig_max_future_s, ZE_DEFAULT_SIG_MAX_FUTURE_S);
	CHECK_INT(cfg.max_body_bytes, ZE_DEFAULT_MAX_BODY_BYTES);
	CHECK_STR(cfg.spool_dir, "/var/spool/zoom_events");
	CHECK_STR(cfg.log_target, "auto");
	CHECK_INT(cfg.log_level, LOG_LVL_INFO);
	CHECK_INT(cfg.db_timeout_s, ZE_DEFAULT_DB_TIMEOUT_S);
	CHECK_INT(cfg.db_retry_ms, ZE_DEFAULT_DB_RETRY_MS);
	CHECK_INT(cfg.stats_cache_ms, ZE_DEFAULT_STATS_CACHE_MS);
	CHECK_INT(cfg.stats_slots, ZE_DEFAULT_STATS_SLOTS);
	/* The instance defaults to the host name, made safe. */
	CHECK(cfg.instance[0] != '\0');
	CHECK_INT(strspn(cfg.instance, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-"), strlen(cfg.instance));
	CHECK_INT(cfg.nwarnings, 0);
}

/* ----------------------------------------------------------- the file */

static void
config_should_read_the_seed_file(void)
{
	const char *path;

	clear_env();
	path = write_file(SEED_TOML, 0600);
	if (!CHECKF(load(path) == 0, "%s", err))
		return;
	CHECK_STR(cfg.path, path);
	CHECK_STR(cfg.db.host, "localhost");
	CHECK_INT(cfg.db.port, 3306);
	CHECK_STR(cfg.db.user, "your_db_user");
	CHECK_STR(cfg.db.password, "your_db_password");
	CHECK_STR(cfg.db.database, "blueriver");
	check_defaults_except_db();
}

static void
config_should_use_defaults_for_an_empty_file(void)
{
	if (!CHECK_LOADS(""))
		return;
	CHECK_STR(cfg.db.host, "localhost");
	CHECK_INT(cfg.db.port, 3306);
	CHECK_STR(cfg.db.user, "zoom_events");
	CHECK_STR(cfg.db.password, "");
	CHECK_STR(cfg.db.database, "zoom_events");
	check_defaults_except_db();
}

static void
config_should_accept_db_alias(void)
{
	if (!CHECK_LOADS("[db]\nhost = \"db.internal\"\nport = 3307\n"
	    "user = \"svc\"\npassword = \"pw\"\ndatabase = \"visits\"\n"
	    "socket = \"/run/mysqld/mysqld.sock\"\n"))
		return;
	CHECK_STR(cfg.db.host, "db.internal");
	CHECK_INT(cfg.db.port, 3307);
	CHECK_STR(cfg.db.user, "svc");
	CHECK_STR(cfg.db.password, "pw");
	CHECK_STR(cfg.db.database, "visits");
	CHECK_STR(cfg.db.socket, "/run/mysqld/mysqld.sock");
}

static void
config_should_drop_hash_comments_after_values(void)
{
	if (!CHECK_LOADS("# Config.toml for zoom_events\n"
	    "[db]   # the database\n"
	    "host = \"db.internal\" # primary\n"
	    "port = 3307 # the replica\n"
	    "user = svc#no space before the comment\n"
	    "password = \"p#ss\" # a hash inside quotes stays\n"
	    "database = 'vis#its'\t# single quotes too\n"
	    "   # an indented comment line\n"))
		return;
	CHECK_STR(cfg.db.host, "db.internal");
	CHECK_INT(cfg.db.port, 3307);
	CHECK_STR(cfg.db.user, "svc");
	CHECK_STR(cfg.db.password, "p#ss");
	CHECK_STR(cfg.db.database, "vis#its");
}

/* TOML literal strings: no escapes at all. */
static void
config_should_take_single_quoted_strings_literally(void)
{
	if (!CHECK_LOADS("[db]\npassword = 'C:\\temp\\new \"quoted\"'\n"
	    "user = ''\n"))
		return;
	CHECK_STR(cfg.db.password, "C:\\temp\\new \"quoted\"");
	CHECK_STR(cfg.db.user, "");
}

static void
config_should_unescape_double_quoted_strings(void)
{
	if (!CHECK_LOADS("[db]\npassword = \"a\\\"b\\\\c\\td\\ne\"\n"
	    "user = \"\"\n"))
		return;
	CHECK_STR(cfg.db.password, "a\"b\\c\td\ne");
	CHECK_STR(cfg.db.user, "");
}

static void
config_should_reject_bad_quoting(void)
{
	static const struct {
		const char *line;
		const char *why;
	} t[] = {
		{ "password = \"abc\n", "no closing quote" },
		{ "password = 'abc\n", "no closing quote" },
		{ "password = \"a\\x41\"\n", "unsupported escape" },
		{ "password = \"a\\u0041\"\n", "unsupported escape" },
		{ "password = \"abc\\\"\n", "no closing quote" },
		{ "password = \"abc\" def\n", "text after its closing quote" },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "[db]\n%s", t[i].line);
		if (CHECKF(load_text(text) == -1, "accepted %s", t[i].line)) {
			CHECK_CONTAINS(err, t[i].why);
			CHECK_CONTAINS(err, "password");
			CHECK_CONTAINS(err, "line 2");
		}
	}
}

static void
config_should_reject_unknown_key_in_known_section(void)
{
	if (!CHECK(load_text("[db]\nhost = \"h\"\nhostname = \"x\"\n") == -1))
		return;
	CHECK_CONTAINS(err, "hostname");
	CHECK_CONTAINS(err, "unknown key");
	CHECK_CONTAINS(err, "line 3");
	/* A [zoom] key in [db] is unknown there. */
	CHECK(load_text("[db]\nwebhook_secret = \"s\"\n") == -1);
	CHECK_CONTAINS(err, "webhook_secret");
	/* Keys are case-sensitive, as in TOML. */
	CHECK(load_text("[db]\nHost = \"h\"\n") == -1);
	CHECK_CONTAINS(err, "Host");
	CHECK(load_text("[zoom_events]\nspool = \"/x\"\n") == -1);
	CHECK_CONTAINS(err, "spool");
}

static void
config_should_ignore_unknown_sections(void)
{
	if (!CHECK_LOADS("[ballerina.observe]\nmetricsEnabled = true\n"
	    "provider = \"prometheus\"\n"
	    "[healthcare_integration]\nport = 8280\n"
	    "[healthcare_integration.healthcare_integration.db]\n"
	    "host = \"h2\"\n"
	    "[ballerina.http]\nhost = \"ignored\"\n"))
		return;
	CHECK_STR(cfg.db.host, "h2");
	CHECK_INT(cfg.db.port, 3306);
}

static void
config_should_reject_port_out_of_range_naming_the_key(void)
{
	static const char *const bad[] = { "0", "65536", "70000", "-1",
		"abc", "3306x", "", "99999999999999999999", "3306.0" };
	char text[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[db]\nport = %s\n", bad[i]);
		if (CHECKF(load_text(text) == -1, "port = %s accepted",
		    bad[i])) {
			CHECK_CONTAINS(err, "port");
			CHECK_CONTAINS(err, bad[i]);
		}
	}
	CHECK_LOADS("[db]\nport = 1\n");
	CHECK_INT(cfg.db.port, 1);
	CHECK_LOADS("[db]\nport = 65535\n");
	CHECK_INT(cfg.db.port, 65535);
	/* A quoted number is a number once unquoted. */
	CHECK_LOADS("[db]\nport = \"3310\"\n");
	CHECK_INT(cfg.db.port, 3310);
}

static void
config_should_bound_every_service_integer(void)
{
	static const struct {
		const char *key;
		const char *ok;
		const char *bad;
	} t[] = {
		{ "max_body_bytes", "1024", "1023" },
		{ "max_body_bytes", "16777215", "16777216" },
		{ "db_timeout_s", "30", "0" },
		{ "db_retry_ms", "0", "60001" },
		{ "stats_cache_ms", "60000", "-1" },
		{ "stats_slots", "1024", "1025" },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "[zoom_events]\n%s = %s\n",
		    t[i].key, t[i].ok);
		CHECKF(load_text(text) == 0, "%s", err);
		snprintf(text, sizeof(text), "[zoom_events]\n%s = %s\n",
		    t[i].key, t[i].bad);
		if (CHECKF(load_text(text) == -1, "%s = %s accepted",
		    t[i].key, t[i].bad))
			CHECK_CONTAINS(err, t[i].key);
	}
	CHECK_LOADS("[zoom]\nsignature_max_age_s = 0\n");
	CHECK_INT(cfg.sig_max_age_s, 0);
	CHECK(load_text("[zoom]\nsignature_max_age_s = 86401\n") == -1);
	CHECK_CONTAINS(err, "signature_max_age_s");
}

static void
config_should_read_service_settings(void)
{
	if (!CHECK_LOADS("[zoom_events]\nmax_body_bytes = 65536\n"
	    "spool_dir = \"/srv/spool\"\ninstance = \"web-1.a_b\"\n"
	    "log = \"/var/log/zoom_events.log\"\nlog_level = \"debug\"\n"
	    "db_timeout_s = 2\ndb_retry_ms = 250\nstats_cache_ms = 0\n"
	    "stats_slots = 8\n"))
		return;
	CHECK_INT(cfg.max_body_bytes, 65536);
	CHECK_STR(cfg.spool_dir, "/srv/spool");
	CHECK_STR(cfg.instance, "web-1.a_b");
	CHECK_STR(cfg.log_target, "/var/log/zoom_events.log");
	CHECK_INT(cfg.log_level, LOG_LVL_DEBUG);
	CHECK_INT(cfg.db_timeout_s, 2);
	CHECK_INT(cfg.db_retry_ms, 250);
	CHECK_INT(cfg.stats_cache_ms, 0);
	CHECK_INT(cfg.stats_slots, 8);
}

static void
config_should_reject_bad_instance_and_empty_spool_dir(void)
{
	CHECK(load_text("[zoom_events]\ninstance = \"my host\"\n") == -1);
	CHECK_CONTAINS(err, "instance");
	CHECK(load_text("[zoom_events]\ninstance = \"a/b\"\n") == -1);
	CHECK_CONTAINS(err, "instance");
	CHECK(load_text("[zoom_events]\nspool_dir = \"\"\n") == -1);
	CHECK_CONTAINS(err, "spool_dir");
}

static void
config_should_parse_allow_unsigned(void)
{
	static const struct {
		const char *v;
		bool want;
	} t[] = {
		{ "true", true }, { "false", false }, { "TRUE", true },
		{ "yes", true }, { "no", false }, { "on", true },
		{ "off", false }, { "1", true }, { "0", false },
		{ "\"true\"", true },
	};
	char text[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "[zoom]\nallow_unsigned = %s\n",
		    t[i].v);
		if (CHECKF(load_text(text) == 0, "%s: %s", t[i].v, err))
			CHECKF(cfg.allow_unsigned == t[i].want, "%s", t[i].v);
	}
	CHECK(load_text("[zoom]\nallow_unsigned = maybe\n") == -1);
	CHECK_CONTAINS(err, "allow_unsigned");
	CHECK(load_text("[zoom]\nallow_unsigned = 2\n") == -1);
	CHECK(load_text("[zoom]\nallow_unsigned = \n") == -1);
	clear_env();
	setenv("ZOOM_EVENTS_ALLOW_UNSIGNED", "yes", 1);
	CHECK(load(write_file("", 0600)) == 0);
	CHECK(cfg.allow_unsigned);
	setenv("ZOOM_EVENTS_ALLOW_UNSIGNED", "perhaps", 1);
	CHECK(load(write_file("", 0600)) == -1);
	CHECK_CONTAINS(err, "ZOOM_EVENTS_ALLOW_UNSIGNED");
	clear_env();
}

static void
config_should_parse_log_level_names(void)
{
	static const struct {
		const char *v;
		int want;
	} t[] = {
		{ "debug", LOG_LVL_DEBUG }, { "info", LOG_LVL_INFO },
		{ "warn", LOG_LVL_WARN }, { "warning", LOG_LVL_WARN },
		{ "error", LOG_LVL_ERROR }, { "\"WARN\"", LOG_LVL_WARN },
		{ "'Debug'", LOG_LVL_DEBUG },
	};
	char text[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "[zoom_events]\nlog_level = %s\n",
		    t[i].v);
		if (CHECKF(load_text(text) == 0, "%s: %s", t[i].v, err))
			CHECK_INT(cfg.log_level, t[i].want);
	}
	CHECK(load_text("[zoom_events]\nlog_level = verbose\n") == -1);
	CHECK_CONTAINS(err, "log_level");
	CHECK(load_text("[zoom_events]\nlog_level = 3\n") == -1);
	clear_env();
	setenv("ZOOM_EVENTS_LOG_LEVEL", "error", 1);
	CHECK(load(write_file("[zoom_events]\nlog_level = debug\n", 0600))
	    == 0);
	CHECK_INT(cfg.log_level, LOG_LVL_ERROR);
	clear_env();
}

static void
config_should_reject_values_longer_than_their_field(void)
{
	char text[256], big[300];

	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* database is a 64-character MariaDB identifier. */
	snprintf(text, sizeof(text), "[db]\ndatabase = \"%.64s\"\n", big);
	if (CHECKF(load_text(text) == 0, "%s", err))
		CHECK_INT(strlen(cfg.db.database), 64);
	snprintf(text, sizeof(text), "[db]\ndatabase = \"%.65s\"\n", big);
	if (CHECK(load_text(text) == -1)) {
		CHECK_CONTAINS(err, "database");
		CHECK_CONTAINS(err, "longer than 64");
	}
	/* From the environment, where lines have no length limit. */
	clear_env();
	big[255] = '\0';
	setenv("ZOOM_EVENTS_DB_HOST", big, 1);
	if (CHECKF(load(write_file("", 0600)) == 0, "%s", err))
		CHECK_INT(strlen(cfg.db.host), 255);
	big[255] = 'd';
	setenv("ZOOM_EVENTS_DB_HOST", big, 1);
	if (CHECK(load(write_file("", 0600)) == -1))
		CHECK_CONTAINS(err, "ZOOM_EVENTS_DB_HOST");
	clear_env();
}

static void
config_should_reject_a_config_path_longer_than_path_max(void)
{
	char *path = malloc(PATH_MAX + 10);

	if (path == NULL)
		abort();
	memset(path, 'p', PATH_MAX + 9);
	path[0] = '/';
	path[PATH_MAX + 9] = '\0';
	clear_env();
	CHECK(load(path) == -1);
	CHECK(err[0] != '\0');
	free(path);
}

/* ------------------------------------------------------- environment */

static void
config_should_let_environment_beat_the_file(void)
{
	const char *path;

	clear_env();
	path = write_file(SEED_TOML "[zoom_events]\nspool_dir = \"/a\"\n",
	    0600);
	setenv("ZOOM_EVENTS_DB_HOST", "env-host", 1);
	setenv("ZOOM_EVENTS_DB_PORT", "3310", 1);
	setenv("ZOOM_EVENTS_DB_USER", "env-user", 1);
	setenv("ZOOM_EVENTS_DB_PASSWORD", "env-password", 1);
	setenv("ZOOM_EVENTS_DB_NAME", "env_db", 1);
	setenv("ZOOM_EVENTS_DB_SOCKET", "/run/env.sock", 1);
	setenv("ZOOM_EVENTS_SPOOL_DIR", "/env/spool", 1);
	setenv("ZOOM_EVENTS_MAX_BODY", "2048", 1);
	setenv("ZOOM_EVENTS_SIGNATURE_MAX_AGE", "60", 1);
	setenv("ZOOM_EVENTS_INSTANCE", "env-instance", 1);
	setenv("ZOOM_EVENTS_LOG", "stderr", 1);
	setenv("ZOOM_EVENTS_DB_TIMEOUT", "3", 1);
	setenv("ZOOM_EVENTS_DB_RETRY_MS", "100", 1);
	setenv("ZOOM_EVENTS_STATS_CACHE_MS", "5000", 1);
	setenv("ZOOM_EVENTS_STATS_SLOTS", "16", 1);
	if (CHECKF(load(path) == 0, "%s", err)) {
		CHECK_STR(cfg.db.host, "env-host");
		CHECK_INT(cfg.db.port, 3310);
		CHECK_STR(cfg.db.user, "env-user");
		CHECK_STR(cfg.db.password, "env-password");
		CHECK_STR(cfg.db.database, "env_db");
		CHECK_STR(cfg.db.socket, "/run/env.sock");
		CHECK_STR(cfg.spool_dir, "/env/spool");
		CHECK_INT(cfg.max_body_bytes, 2048);
		CHECK_INT(cfg.sig_max_age_s, 60);
		CHECK_STR(cfg.instance, "env-instance");
		CHECK_STR(cfg.log_target, "stderr");
		CHECK_INT(cfg.db_timeout_s, 3);
		CHECK_INT(cfg.db_retry_ms, 100);
		CHECK_INT(cfg.stats_cache_ms, 5000);
		CHECK_INT(cfg.stats_slots, 16);
	}
	/* An empty variable still overrides (to the empty string). */
	clear_env();
	setenv("ZOOM_EVENTS_DB_PASSWORD", "", 1);
	if (CHECKF(load(path) == 0, "%s", err))
		CHECK_STR(cfg.db.password, "");
	clear_env();
}

static void
config_should_reject_bad_environment_values_naming_the_variable(void)
{
	const char *path;

	clear_env();
	path = write_file(SEED_TOML, 0600);
	setenv("ZOOM_EVENTS_DB_PORT", "abc", 1);
	if (CHECK(load(path) == -1))
		CHECK_CONTAINS(err, "ZOOM_EVENTS_DB_PORT");
	clear_env();
	setenv("ZOOM_EVENTS_DB_PORT", "65536", 1);
	if (CHECK(load(path) == -1))
		CHECK_CONTAINS(err, "ZOOM_EVENTS_DB_PORT");
	clear_env();
	setenv("ZOOM_EVENTS_MAX_BODY", "1", 1);
	if (CHECK(load(path) == -1))
		CHECK_CONTAINS(err, "ZOOM_EVENTS_MAX_BODY");
	clear_env();
}

static void
config_should_read_the_file_named_by_zoom_events_config(void)
{
	const char *path;

	clear_env();
	path = write_file("[db]\nhost = \"from-env-path\"\n", 0600);
	setenv("ZOOM_EVENTS_CONFIG", path, 1);
	if (CHECKF(load(NULL) == 0, "%s", err)) {
		CHECK_STR(cfg.path, path);
		CHECK_STR(cfg.db.host, "from-env-path");
	}
	/* An explicit path beats the variable. */
	if (CHECKF(load(write_file("[db]\nhost = \"explicit\"\n", 0600)) == 0,
	    "%s", err))
		CHECK_STR(cfg.db.host, "explicit");
	clear_env();
}

static void
config_should_fail_on_missing_explicit_file(void)
{
	char path[PATH_MAX];

	clear_env();
	snprintf(path, sizeof(path), "%s/test_config.no-such-file.toml",
	    tmpdir());
	if (CHECK(load(path) == -1))
		CHECK_CONTAINS(err, path);
	setenv("ZOOM_EVENTS_CONFIG", path, 1);
	if (CHECK(load(NULL) == -1))
		CHECK_CONTAINS(err, path);
	setenv("ZOOM_EVENTS_CONFIG", "", 1);
	CHECK(load(NULL) == -1);
	clear_env();
}

/* Without -c or ZOOM_EVENTS_CONFIG, ./Config.toml is optional. */
static void
config_should_use_config_toml_in_cwd_only_when_present(void)
{
	char cwd[PATH_MAX], dir[PATH_MAX], file[PATH_MAX + 16];
	FILE *fp;

	clear_env();
	snprintf(dir, sizeof(dir), "%s/test_config.d.XXXXXX", tmpdir());
	if (getcwd(cwd, sizeof(cwd)) == NULL || mkdtemp(dir) == NULL ||
	    chdir(dir) != 0) {
		CHECKF(0, "cannot enter %s: %s", dir, strerror(errno));
		return;
	}
	if (CHECKF(load(NULL) == 0, "%s", err)) {
		CHECK_STR(cfg.path, "");
		CHECK_STR(cfg.db.host, "localhost");
	}
	snprintf(file, sizeof(file), "%s/Config.toml", dir);
	if ((fp = fopen(file, "w")) != NULL) {
		fputs(SEED_TOML, fp);
		fclose(fp);
		chmod(file, 0600);
	}
	if (CHECKF(load(NULL) == 0, "%s", err)) {
		CHECK_STR(cfg.path, "Config.toml");
		CHECK_STR(cfg.db.database, "blueriver");
	}
	unlink(file);
	CHECK(chdir(cwd) == 0);
	rmdir(dir);
}

/* ------------------------------------------------------------ secrets */

static void
config_should_split_and_trim_the_secret_list(void)
{
	if (!CHECK_LOADS("[zoom]\nwebhook_secret = \" new-secret , "
	    "old-secret,\\tthird \"\n"))
		return;
	if (!CHECK_INT(cfg.nsecrets, 3))
		return;
	CHECK_STR(cfg.secrets[0], "new-secret");
	CHECK_STR(cfg.secrets[1], "old-secret");
	CHECK_STR(cfg.secrets[2], "third");
}

static void
config_should_skip_empty_items_in_the_secret_list(void)
{
	if (!CHECK_LOADS("[zoom]\nwebhook_secret = \",a,, ,b,\"\n"))
		return;
	if (CHECK_INT(cfg.nsecrets, 2)) {
		CHECK_STR(cfg.secrets[0], "a");
		CHECK_STR(cfg.secrets[1], "b");
	}
	/* Spaces inside a secret are part of it. */
	if (CHECK_LOADS("[zoom]\nwebhook_secret = 'pass phrase'\n") &&
	    CHECK_INT(cfg.nsecrets, 1))
		CHECK_STR(cfg.secrets[0], "pass phrase");
}

static void
config_should_accept_exactly_the_maximum_number_of_secrets(void)
{
	char list[512] = "", text[1024], last[32];

	for (int i = 0; i < ZE_MAX_SECRETS; i++) {
		size_t n = strlen(list);

		snprintf(list + n, sizeof(list) - n, "%ssecret%d",
		    i ? "," : "", i);
	}
	snprintf(text, sizeof(text), "[zoom]\nwebhook_secret = \"%s\"\n",
	    list);
	if (CHECK_LOADS(text) && CHECK_INT(cfg.nsecrets, ZE_MAX_SECRETS)) {
		snprintf(last, sizeof(last), "secret%d", ZE_MAX_SECRETS - 1);
		CHECK_STR(cfg.secrets[0], "secret0");
		CHECK_STR(cfg.secrets[ZE_MAX_SECRETS - 1], last);
	}
	/* One more is an error, from the file and from the environment. */
	snprintf(text, sizeof(text), "[zoom]\nwebhook_secret = \"%s,one-more"
	    "\"\n", list);
	if (CHECK(load_text(text) == -1))
		CHECK_CONTAINS(err, "more than");
	clear_env();
	snprintf(text, sizeof(text), "%s,one-more", list);
	setenv("ZOOM_EVENTS_WEBHOOK_SECRET", text, 1);
	CHECK(load(write_file("", 0600)) == -1);
	clear_env();
}

static void
config_should_reject_a_secret_longer_than_the_limit(void)
{
	char text[ZE_SECRET_MAX + 64];

	clear_env();
	memset(text, 's', ZE_SECRET_MAX + 1);
	text[ZE_SECRET_MAX + 1] = '\0';
	setenv("ZOOM_EVENTS_WEBHOOK_SECRET", text, 1);
	if (CHECK(load(write_file("", 0600)) == -1))
		CHECK_CONTAINS(err, "longer");
	text[ZE_SECRET_MAX] = '\0';
	setenv("ZOOM_EVENTS_WEBHOOK_SECRET", text, 1);
	if (CHECKF(load(write_file("", 0600)) == 0, "%s", err) &&
	    CHECK_INT(cfg.nsecrets, 1))
		CHECK_INT(strlen(cfg.secrets[0]), ZE_SECRET_MAX);
	clear_env();
}

static void
config_should_let_environment_secret_beat_the_file(void)
{
	clear_env();
	setenv("ZOOM_EVENTS_WEBHOOK_SECRET", "env-a,env-b", 1);
	if (CHECKF(load(write_file("[zoom]\nwebhook_secret = \"file\"\n",
	    0600)) == 0, "%s", err) && CHECK_INT(cfg.nsecrets, 2)) {
		CHECK_STR(cfg.secrets[0], "env-a");
		CHECK_STR(cfg.secrets[1], "env-b");
	}
	clear_env();
}

static void
config_should_read_the_webhook_secret_file(void)
{
	const char *secret_file;
	char text[PATH_MAX + 64];

	secret_file = write_file("  first-secret\nsecond-secret , third\n",
	    0600);
	snprintf(text, sizeof(text), "[zoom]\nwebhook_secret_file = \"%s\"\n",
	    secret_file);
	if (!CHECK_LOADS(text))
		return;
	CHECK_STR(cfg.secret_file, secret_file);
	/* Newlines do not separate secrets; commas do. */
	if (CHECK_INT(cfg.nsecrets, 2)) {
		CHECK_STR(cfg.secrets[0], "first-secret\nsecond-secret");
		CHECK_STR(cfg.secrets[1], "third");
	}
	CHECK_INT(cfg.nwarnings, 0);

	/* The usual shape: one secret and a newline. */
	secret_file = write_file("hs8KJX2pQ0yWm3V4nT7bLA\n", 0600);
	clear_env();
	setenv("ZOOM_EVENTS_WEBHOOK_SECRET_FILE", secret_file, 1);
	if (CHECKF(load(write_file("", 0600)) == 0, "%s", err) &&
	    CHECK_INT(cfg.nsecrets, 1))
		CHECK_STR(cfg.secrets[0], "hs8KJX2pQ0yWm3V4nT7bLA");
	clear_env();
}

static void
config_should_reject_empty_or_missing_secret_file(void)
{
	char text[PATH_MAX + 64];

	snprintf(text, sizeof(text), "[zoom]\nwebhook_secret_file = \"%s\"\n",
	    write_file(" \n\n", 0600));
	if (CHECK(load_text(text) == -1))
		CHECK_CONTAINS(err, "no secret");
	snprintf(text, sizeof(text), "[zoom]\nwebhook_secret_file = \"%s/"
	    "test_config.no-such-secret\"\n", tmpdir());
	if (CHECK(load_text(text) == -1))
		CHECK_CONTAINS(err, "webhook_secret_file");
}

static void
config_should_reject_a_secret_file_too_large_to_hold_secrets(void)
{
	char text[PATH_MAX + 64], big[16384];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text), "[zoom]\nwebhook_secret_file = \"%s\"\n",
	    write_file(big, 0600));
	if (CHECK(load_text(text) == -1))
		CHECK_CONTAINS(err, "too large");
}

/* A secret in the config wins over a secret file (documented here). */
static void
config_should_prefer_secret_list_over_secret_file(void)
{
	char text[PATH_MAX + 128];

	snprintf(text, sizeof(text), "[zoom]\nwebhook_secret = \"inline\"\n"
	    "webhook_secret_file = \"%s\"\n", write_file("from-file\n", 0600));
	if (CHECK_LOADS(text) && CHECK_INT(cfg.nsecrets, 1))
		CHECK_STR(cfg.secrets[0], "inline");
}

static void
config_should_warn_when_secret_file_is_world_readable(void)
{
	char text[PATH_MAX + 64];
	const char *secret_file = write_file("s3cret\n", 0644);

	snprintf(text, sizeof(text), "[zoom]\nwebhook_secret_file = \"%s\"\n",
	    secret_file);
	if (CHECK_LOADS(text) && CHECK_INT(cfg.nwarnings, 1)) {
		CHECK_CONTAINS(cfg.warnings[0], secret_file);
		CHECK_CONTAINS(cfg.warnings[0], "chmod 600");
	}
}

/* ----------------------------------------------------------- warnings */

static void
config_should_warn_when_file_with_password_is_world_readable(void)
{
	const char *path;

	clear_env();
	path = write_file(SEED_TOML, 0644);
	if (CHECKF(load(path) == 0, "%s", err) &&
	    CHECK_INT(cfg.nwarnings, 1)) {
		CHECK_CONTAINS(cfg.warnings[0], path);
		CHECK_CONTAINS(cfg.warnings[0], "0644");
		CHECK_CONTAINS(cfg.warnings[0], "chmod 600");
		/* The warning never repeats the password itself. */
		CHECK(strstr(cfg.warnings[0], "your_db_password") == NULL);
	}
	/* Group-readable only: fine. */
	path = write_file(SEED_TOML, 0640);
	if (CHECKF(load(path) == 0, "%s", err))
		CHECK_INT(cfg.nwarnings, 0);
	/* World-readable but nothing secret in it: fine too. */
	path = write_file("[db]\nhost = \"h\"\n", 0644);
	if (CHECKF(load(path) == 0, "%s", err))
		CHECK_INT(cfg.nwarnings, 0);
	/* A webhook secret counts as much as a password. */
	path = write_file("[zoom]\nwebhook_secret = \"s\"\n", 0604);
	if (CHECKF(load(path) == 0, "%s", err))
		CHECK_INT(cfg.nwarnings, 1);
}

/* ------------------------------------------------------- file syntax */

static void
config_should_reject_over_long_line(void)
{
	char text[1024];
	char big[400];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text), "[db]\n# %s\nhost = \"h\"\n", big);
	if (CHECK(load_text(text) == -1))
		CHECK_CONTAINS(err, "longer");
	snprintf(text, sizeof(text), "[db]\npassword = \"%s\"\n", big);
	CHECK(load_text(text) == -1);
	/* The longest line that fits is fine. */
	snprintf(text, sizeof(text), "[db]\npassword = \"%.150s\"\n", big);
	CHECKF(load_text(text) == 0, "%s", err);
}

static void
config_should_reject_lines_that_are_not_key_value(void)
{
	if (CHECK(load_text("[db]\nhost = \"h\"\njust some words\n") == -1))
		CHECK_CONTAINS(err, "line 3");
	CHECK(load_text("[db\nhost = \"h\"\n") == -1);
}

/* TOML allows indentation; libinih's default "multi-line values" would
 * take an indented key = value line as more of the previous value. */
static void
config_should_read_indented_keys(void)
{
	if (!CHECK_LOADS("[db]\n  host = \"db.internal\"\n  port = 3307\n"
	    "  user = \"svc\"\n"))
		return;
	CHECK_STR(cfg.db.host, "db.internal");
	CHECK_INT(cfg.db.port, 3307);
	CHECK_STR(cfg.db.user, "svc");
}

/* ';' is not a comment in TOML; libinih's default inline comments would
 * cut "abc ;def" to "abc. */
static void
config_should_keep_semicolons_inside_quoted_values(void)
{
	if (CHECK_LOADS("[db]\npassword = \"pa ;ss\"\n"))
		CHECK_STR(cfg.db.password, "pa ;ss");
	if (CHECK_LOADS("[db]\npassword = \"pa;ss\"\n"))
		CHECK_STR(cfg.db.password, "pa;ss");
}

/* --------------------------------------------------------------- dump */

static char dumped[64][PATH_MAX + 128];
static int ndumped;

static void
collect(const char *line)
{
	if (ndumped < 64)
		snprintf(dumped[ndumped++], sizeof(dumped[0]), "%s", line);
}

static void
config_dump_should_mask_password_and_secrets(void)
{
	bool saw_password = false, saw_secret = false;

	if (!CHECK_LOADS(SEED_TOML "[zoom]\nwebhook_secret = \"hs8KJX2pQ0yW,"
	    "older-one\"\n"))
		return;
	ndumped = 0;
	config_dump(&cfg, collect);
	CHECK(ndumped > 10);
	for (int i = 0; i < ndumped; i++) {
		CHECK(strstr(dumped[i], "your_db_password") == NULL);
		CHECK(strstr(dumped[i], "hs8KJX2pQ0yW") == NULL);
		CHECK(strstr(dumped[i], "older-one") == NULL);
		if (strstr(dumped[i], "password") != NULL)
			saw_password = strstr(dumped[i], "hidden") != NULL;
		if (strstr(dumped[i], "webhook_secret =") != NULL)
			saw_secret = strstr(dumped[i], "hidden") != NULL;
	}
	CHECK(saw_password);
	CHECK(saw_secret);
	CHECK_CONTAINS(dumped[ndumped - 1], "2");
}


/* ------------------------------------------------- accounts (issue 11) */

static void
config_should_default_the_window_to_zoom_retries(void)
{
	/* Zoom's last retry comes about 85 minutes after the first try. */
	CHECK(ZE_DEFAULT_SIG_MAX_AGE_S >= 90 * 60);
	CHECK(ZE_DEFAULT_SIG_MAX_AGE_S <= 3 * 3600);
	CHECK(ZE_DEFAULT_SIG_MAX_FUTURE_S <= 10 * 60);
	clear_env();
	setenv("ZOOM_EVENTS_SIGNATURE_MAX_FUTURE", "120", 1);
	if (CHECK(load(write_file("", 0600)) == 0))
		CHECK_INT(cfg.sig_max_future_s, 120);
	clear_env();
}

static void
config_should_read_labelled_secrets(void)
{
	clear_env();
	if (CHECK_LOADS("[zoom]\nwebhook_secret = \"clinic_a:SECRET_A, "
	    "clinic-b:SECRET_B,plain\"\n") && CHECK_INT(cfg.nsecrets, 3)) {
		CHECK_STR(cfg.labels[0], "clinic_a");
		CHECK_STR(cfg.secrets[0], "SECRET_A");
		CHECK_STR(cfg.labels[1], "clinic-b");
		CHECK_STR(cfg.secrets[1], "SECRET_B");
		CHECK_STR(cfg.labels[2], "default");
		CHECK_STR(cfg.secrets[2], "plain");
	}
	/* The same label twice is one account mid-rotation. */
	if (CHECK_LOADS("[zoom]\nwebhook_secret = \"a:new,a:old\"\n") &&
	    CHECK_INT(cfg.nsecrets, 2))
		CHECK_STR(cfg.labels[1], "a");
	/* A secret holding ':' is written with its label. */
	if (CHECK_LOADS("[zoom]\nwebhook_secret = \"default:x:y\"\n") &&
	    CHECK_INT(cfg.nsecrets, 1)) {
		CHECK_STR(cfg.labels[0], "default");
		CHECK_STR(cfg.secrets[0], "x:y");
	}
}

static void
config_should_reject_bad_labels(void)
{
	static const char *const bad[] = {
		"[zoom]\nwebhook_secret = \":nolabel\"\n",
		"[zoom]\nwebhook_secret = \"sp ace:s\"\n",
		"[zoom]\nwebhook_secret = \"dot.ted:s\"\n",
		"[zoom]\nwebhook_secret = \"a:\"\n",
		"[zoom]\nwebhook_secret = \"a23456789012345678901234567890123:s\"\n",
	};

	clear_env();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECKF(load_text(bad[i]) == -1, "accepted %s", bad[i]);
	/* 32 characters is the longest label. */
	CHECK_LOADS("[zoom]\nwebhook_secret = "
	    "\"a2345678901234567890123456789012:s\"\n");
}

static void
config_should_hold_sixteen_labelled_secrets_in_a_file(void)
{
	char list[2048] = "", text[PATH_MAX + 64];
	struct config copy;

	CHECK(ZE_MAX_SECRETS >= 16);
	for (int i = 0; i < 16; i++) {
		size_t n = strlen(list);

		snprintf(list + n, sizeof(list) - n, "%scampus%d:"
		    "Zm9vYmFyYmF6cXV4c2VjcmV0%d\n", i ? "," : "", i, i);
	}
	clear_env();
	snprintf(text, sizeof(text), "[zoom]\nwebhook_secret_file = \"%s\"\n",
	    write_file(list, 0600));
	if (!CHECK_LOADS(text) || !CHECK_INT(cfg.nsecrets, 16))
		return;
	CHECK_STR(cfg.labels[15], "campus15");
	CHECK_STR(cfg.secrets[15], "Zm9vYmFyYmF6cXV4c2VjcmV015");
	/* A copy's pointers point into the copy. */
	config_copy(&copy, &cfg);
	CHECK(copy.labels[15] == copy.label_store[15]);
	CHECK(copy.secrets[15] == copy.secret_store[15]);
	CHECK_STR(copy.labels[15], "campus15");
}

int
main(void)
{
	int rc;

	RUN(config_should_read_the_seed_file);
	RUN(config_should_default_the_window_to_zoom_retries);
	RUN(config_should_read_labelled_secrets);
	RUN(config_should_reject_bad_labels);
	RUN(config_should_hold_sixteen_labelled_secrets_in_a_file);
	RUN(config_should_use_defaults_for_an_empty_file);
	RUN(config_should_accept_db_alias);
	RUN(config_should_drop_hash_comments_after_values);
	RUN(config_should_take_single_quoted_strings_literally);
	RUN(config_should_unescape_double_quoted_strings);
	RUN(config_should_reject_bad_quoting);
	RUN(config_should_reject_unknown_key_in_known_section);
	RUN(config_should_ignore_unknown_sections);
	RUN(config_should_reject_port_out_of_range_naming_the_key);
	RUN(config_should_bound_every_service_integer);
	RUN(config_should_read_service_settings);
	RUN(config_should_reject_bad_instance_and_empty_spool_dir);
	RUN(config_should_parse_allow_unsigned);
	RUN(config_should_parse_log_level_names);
	RUN(config_should_reject_values_longer_than_their_field);
	RUN(config_should_reject_a_config_path_longer_than_path_max);
	RUN(config_should_let_environment_beat_the_file);
	RUN(config_should_reject_bad_environment_values_naming_the_variable);
	RUN(config_should_read_the_file_named_by_zoom_events_config);
	RUN(config_should_fail_on_missing_explicit_file);
	RUN(config_should_use_config_toml_in_cwd_only_when_present);
	RUN(config_should_split_and_trim_the_secret_list);
	RUN(config_should_skip_empty_items_in_the_secret_list);
	RUN(config_should_accept_exactly_the_maximum_number_of_secrets);
	RUN(config_should_reject_a_secret_longer_than_the_limit);
	RUN(config_should_let_environment_secret_beat_the_file);
	RUN(config_should_read_the_webhook_secret_file);
	RUN(config_should_reject_empty_or_missing_secret_file);
	RUN(config_should_reject_a_secret_file_too_large_to_hold_secrets);
	RUN(config_should_prefer_secret_list_over_secret_file);
	RUN(config_should_warn_when_secret_file_is_world_readable);
	RUN(config_should_warn_when_file_with_password_is_world_readable);
	RUN(config_should_reject_over_long_line);
	RUN(config_should_reject_lines_that_are_not_key_value);
	RUN(config_should_read_indented_keys);
	RUN(config_should_keep_semicolons_inside_quoted_values);
	RUN(config_dump_should_mask_password_and_secrets);
	rc = unit_report("test_config");
	for (size_t i = 0; i < nmade; i++) {
		unlink(made[i]);
		free(made[i]);
	}
	clear_env();
	return rc;
}
