/*
 * commands.c -- the command-line commands (see commands.h), one function
 * each, listed in one table.  Output goes to stdout for people and
 * scripts; diagnostics go to stderr.
 */
#include "commands.h"
#include "commands_int.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ingest.h"
#include "log.h"
#include "normalize.h"
#include "signature.h"
#include "tabular.h"

static void
print_line(const char *line)
{
	printf("%s\n", line);
}

/* The body for sign: stdin, up to max_body_bytes.  NULL after a message. */
static char *
read_body(const struct config *cfg, const char *cmd, size_t *len)
{
	char *body = malloc((size_t)cfg->max_body_bytes + 1);

	if (body == NULL)
		fatalx("out of memory");
	*len = fread(body, 1, (size_t)cfg->max_body_bytes + 1, stdin);
	if (*len > (size_t)cfg->max_body_bytes) {
		fprintf(stderr, "zoom_events: %s: body larger than "
		    "max_body_bytes\n", cmd);
		free(body);
		return NULL;
	}
	return body;
}

static bool
has_secret(const struct config *cfg, const char *cmd)
{
	if (cfg->nsecrets > 0)
		return true;
	fprintf(stderr, "zoom_events: %s: no webhook secret configured\n",
	    cmd);
	return false;
}

static int
cmd_check_config(const struct config *cfg, int argc, char **argv)
{
	struct ingest *in;
	struct ingest_check chk;
	char err[512];
	int rc = 0;

	(void)argc;
	(void)argv;
	config_dump(cfg, print_line);
	for (int i = 0; i < cfg->nwarnings; i++)
		printf("warning: %s\n", cfg->warnings[i]);
	if (config_check_serving(cfg, err, sizeof(err)) != 0) {
		printf("error: no webhook secret configured\n");
		rc = 1;
	}
	in = ingest_new(cfg);
	ingest_check(in, &chk);
	ingest_free(in);
	if (!chk.connected) {
		printf("database: cannot connect: %s\n", chk.error);
		return 1;
	}
	if (chk.version[0] != '\0')
		printf("database: connected to %s (%s%s%s)\n", chk.version,
		    chk.node, chk.wsrep_state[0] ? ", wsrep " : "",
		    chk.wsrep_state);
	printf("database: TLS %s\n", chk.tls[0] ? chk.tls :
	    "off (not encrypted)");
	if (!chk.schema_ok) {
		printf("schema: %s\n", chk.error);
		rc = 1;
	} else {
		printf("schema: zoom_visit_events, zoom_rejected_events, "
		    "zoom_stats present\n");
	}
	if (ingest_check_spool(cfg, err, sizeof(err)) != 0) {
		printf("spool: %s\n", err);
		rc = 1;
	} else if (access(cfg->spool_dir, W_OK) != 0) {
		printf("spool: %s is not writable yet (%s); it is created on "
		    "first use\n", cfg->spool_dir, strerror(errno));
	} else {
		printf("spool: %s writable\n", cfg->spool_dir);
	}
	printf("%s\n", rc == 0 ? "ok" : "failed");
	return rc;
}

static int
cmd_sign(const struct config *cfg, int argc, char **argv)
{
	char sig[SIG_HEX_LEN + 4];
	long long ts = (long long)time(NULL);
	char *body;
	size_t len;
	int c, rc;

	optind = 1;
	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c != 't')
			return 2;
		ts = strtoll(optarg, NULL, 10);
	}
	if (!has_secret(cfg, "sign") ||
	    (body = read_body(cfg, "sign", &len)) == NULL)
		return 1;
	rc = sig_sign(cfg->secrets[0], ts, body, len, sig) == 0 ? 0 : 1;
	if (rc == 0)
		printf("x-zm-request-timestamp: %lld\nx-zm-signature: %s\n",
		    ts, sig);
	free(body);
	return rc;
}

static int
cmd_validate_token(const struct config *cfg, int argc, char **argv)
{
	char hex[SIG_HEX_LEN + 1];

	if (argc != 2) {
		fprintf(stderr, "usage: zoom_events validate-token "
		    "PLAINTOKEN\n");
		return 2;
	}
	if (!has_secret(cfg, "validate-token"))
		return 1;
	if (sig_hmac_hex(cfg->secrets[0], argv[1], strlen(argv[1]), hex) != 0)
		return 1;
	printf("%s\n", hex);
	return 0;
}

/* Who runs this command, for the audit trail. */
struct audit_who
cmd_whoami(const char *command)
{
	static char host[256];
	const struct passwd *pw = getpwuid(geteuid());
	struct audit_who who = { command, pw != NULL ? pw->pw_name : "?",
		host };

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "?");
	return who;
}

static int
cmd_drain(const struct config *cfg, int argc, char **argv)
{
	struct ingest *in;
	long long n, total = 0, pending;

	(void)argc;
	(void)argv;
	in = ingest_new(cfg);
	while ((n = ingest_drain(in, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS)) > 0)
		total += n;
	pending = ingest_pending(in, NULL);
	printf("replayed %lld, pending %lld\n", total, pending);
	if (total > 0) {
		struct audit_who who = cmd_whoami("drain");
		char detail[PATH_MAX + 64];

		snprintf(detail, sizeof(detail), "spool %s into the database",
		    cfg->spool_dir);
		ingest_audit(in, &who, detail, total);
	}
	ingest_free(in);
	return n < 0 || pending != 0 ? 1 : 0;
}

/* argv[1..argc) as positive ids into ids; -1 after a message. */
static int
parse_ids(int argc, char **argv, long long *ids)
{
	for (int i = 1; i < argc; i++) {
		char *end;

		errno = 0;
		ids[i - 1] = strtoll(argv[i], &end, 10);
		if (errno != 0 || end == argv[i] || *end != '\0' ||
		    ids[i - 1] <= 0) {
			fprintf(stderr, "zoom_events: replay-rejected: \"%s\" "
			    "is not an id\n", argv[i]);
			return -1;
		}
	}
	return 0;
}

static int
cmd_replay_rejected(const struct config *cfg, int argc, char **argv)
{
	struct replay_counts rc;
	struct ingest *in;
	long long *ids = calloc((size_t)argc + 1, sizeof(long long));
	char *buf = malloc((size_t)cfg->max_body_bytes + 1);
	int status;

	if (ids == NULL || buf == NULL)
		fatalx("out of memory");
	if (parse_ids(argc, argv, ids) != 0) {
		free(ids);
		free(buf);
		return 2;
	}
	in = ingest_new(cfg);
	status = ingest_replay_rejected(in, ids, argc - 1, buf,
	    (size_t)cfg->max_body_bytes + 1, &rc) == 0 ? 0 : 1;
	printf("moved %lld, kept %lld, missing %lld\n", rc.moved, rc.kept,
	    rc.missing);
	if (rc.moved > 0) {
		struct audit_who who = cmd_whoami("replay-rejected");
		char detail[128];

		snprintf(detail, sizeof(detail), "zoom_rejected_events -> "
		    "zoom_visit_events (%s)", argc > 1 ? "the ids given" :
		    "all");
		ingest_audit(in, &who, detail, rc.moved);
	}
	ingest_free(in);
	free(ids);
	free(buf);
	return status;
}

static const struct command {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(const struct config *cfg, int argc, char **argv);
} commands[] = {
	{ "sign", "[-t TS] < BODY", "print x-zm-* headers for a body",
	  cmd_sign },
	{ "validate-token", "PLAINTOKEN", "print Zoom's expected "
	  "encryptedToken", cmd_validate_token },
	{ "drain", "", "replay the spool into the database", cmd_drain },
	{ "replay-rejected", "[ID...]", "move dead letters that now "
	  "normalize", cmd_replay_rejected },
	{ "deliveries", "[--since T] [--until T] [--request-id ID] "
	  "[--meeting ID] [--format F]", "the delivery ledger: what Zoom sent "
	  "and what we replied", cmd_deliveries },
	{ "visits", "refresh [--full]", "recompute the visit facts of the "
	  "visits touched since the last refresh", cmd_visits },
	{ "report", "visits [--since T] [--until T] [--open-longer-than D] "
	  "[--format F]", "the visit facts (after a refresh)", cmd_report },
	{ "purge", "[--dry-run] [--older-than DAYS]", "delete what is older "
	  "than the retention, in small batches", cmd_purge },
	{ "audit", "[--since T] [--format F]", "who moved or deleted stored "
	  "data, and when", cmd_audit },
	{ "check-config", "", "as --check-config", cmd_check_config },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *
find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

bool
commands_exists(const char *name)
{
	return find(name) != NULL;
}

int
commands_run(const struct config *cfg, int argc, char **argv)
{
	const struct command *c = find(argv[0]);

	return c != NULL ? c->run(cfg, argc, argv) : 2;
}

void
commands_usage(FILE *fp)
{
	fprintf(fp, "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char head[160];

		snprintf(head, sizeof(head), "%s %s", commands[i].name,
		    commands[i].args);
		if (strlen(head) > 26)
			fprintf(fp, "  %s\n  %-26s %s\n", head, "",
			    commands[i].help);
		else
			fprintf(fp, "  %-26s %s\n", head, commands[i].help);
	}
}
