/*
 * commands_report.c -- the commands that list what is stored: the
 * delivery ledger (deliveries), the visit facts (visits refresh, report
 * visits), retention (purge) and the audit trail (audit), with their time
 * arguments and table, CSV or JSON output.  Through ingest only.
 */
#include "commands_int.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "ingest.h"
#include "normalize.h"
#include "tabular.h"

/* ---- time arguments ---- */

/* "90s", "5m", "2h", "1d" (or plain seconds) into milliseconds.  0, or -1
 * when s is not a duration. */
int
cmd_parse_duration(const char *s, long long *ms)
{
	static const struct {
		char unit;
		long long ms;
	} units[] = { { 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 },
		{ 'd', 86400000 } };
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || v < 0 || v > 36500LL * 86400)
		return -1;
	if (*end == '\0') {
		*ms = v * 1000;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (end[0] == units[i].unit && end[1] == '\0') {
			*ms = v * units[i].ms;
			return 0;
		}
	return -1;
}

/*
 * A point in time for --since and --until: ISO 8601 UTC
 * ("2026-12-01T08:00:00Z"), a date ("2026-12-01", midnight UTC), "@" and
 * Unix seconds, or a duration ago ("2h").  0, or -1 with a message.
 */
static int
parse_when(const char *cmd, const char *opt, const char *s, long long *ms)
{
	char buf[32];
	long long d;

	if (s[0] == '@' && cmd_parse_duration(s + 1, &d) == 0 &&
	    strspn(s + 1, "0123456789") == strlen(s + 1)) {
		*ms = d;
		return 0;
	}
	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		s = buf;
	}
	if (norm_iso8601_ms(s, ms) == 0)
		return 0;
	if (cmd_parse_duration(s, &d) == 0) {
		*ms = wall_ms() - d;
		return 0;
	}
	fprintf(stderr, "zoom_events: %s: %s \"%s\" is not a time (ISO 8601, "
	    "YYYY-MM-DD, @SECONDS, or a duration ago like 2h)\n", cmd, opt, s);
	return -1;
}

/* An ISO 8601 UTC rendering of Unix milliseconds ("" for none). */
static void
iso_ms(long long ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL ||
	    (n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* ---- deliveries ---- */

static const struct tab_col ledger_cols[] = {
	{ "received_at", false }, { "request_id", false },
	{ "source_label", false }, { "event_name", false },
	{ "meeting_id", false }, { "outcome", false },
	{ "signature_age_ms", true }, { "delivery_lag_ms", true },
	{ "event_id", true }, { "rejected_id", true },
};

static int
print_ledger_row(void *arg, const struct ledger_entry *e)
{
	char at[32], age[24], lag[24], ev[24], rej[24];
	const char *v[10];

	iso_ms(e->received_ms, at);
	snprintf(age, sizeof(age), "%lld", e->sig_age_ms);
	snprintf(lag, sizeof(lag), "%lld", e->lag_ms);
	snprintf(ev, sizeof(ev), "%lld", e->event_id);
	snprintf(rej, sizeof(rej), "%lld", e->rejected_id);
	v[0] = at;
	v[1] = e->request_id;
	v[2] = e->label;
	v[3] = e->event_name[0] ? e->event_name : NULL;
	v[4] = e->meeting_id[0] ? e->meeting_id : NULL;
	v[5] = e->outcome;
	v[6] = e->sig_age_ms >= 0 ? age : NULL;
	v[7] = e->lag_ms != -1 ? lag : NULL;
	v[8] = e->event_id > 0 ? ev : NULL;
	v[9] = e->rejected_id > 0 ? rej : NULL;
	tab_row(arg, v);
	return 0;
}

/* The options of the listing commands; each takes those in its mask. */
enum { OPT_SINCE = 1, OPT_UNTIL = 2, OPT_FORMAT = 4, OPT_LIMIT = 8,
	OPT_REQUEST_ID = 16, OPT_MEETING = 32, OPT_OPEN = 64, OPT_NO_REFRESH = 128 };

struct list_opts {
	long long since_ms, until_ms;
	enum tab_format format;
	const char *request_id, *meeting_id;
	int limit;
	long long open_longer_than_ms;
	bool no_refresh;
};

/* One option's value into o.  0, or -1 after a message. */
static int
take_option(const char *cmd, int c, const char *arg, struct list_opts *o)
{
	switch (c) {
	case OPT_SINCE:
	case OPT_UNTIL:
		return parse_when(cmd, c == OPT_SINCE ? "--since" : "--until",
		    arg, c == OPT_SINCE ? &o->since_ms : &o->until_ms);
	case OPT_REQUEST_ID: o->request_id = arg; return 0;
	case OPT_MEETING: o->meeting_id = arg; return 0;
	case OPT_LIMIT: o->limit = atoi(arg); return 0;
	case OPT_NO_REFRESH: o->no_refresh = true; return 0;
	case OPT_FORMAT:
		if (tab_parse_format(arg, &o->format) == 0)
			return 0;
		fprintf(stderr, "zoom_events: %s: --format is table, csv or "
		    "json\n", cmd);
		return -1;
	case OPT_OPEN:
		if (cmd_parse_duration(arg, &o->open_longer_than_ms) == 0 &&
		    o->open_longer_than_ms > 0)
			return 0;
		fprintf(stderr, "zoom_events: %s: --open-longer-than takes a "
		    "duration: 90s, 5m, 2h, 1d\n", cmd);
		return -1;
	default:
		return -1;
	}
}

/* argv[1..argc) as the options in mask, into o.  0, or -1. */
static int
parse_list_opts(const char *cmd, int argc, char **argv, int mask,
    struct list_opts *o)
{
	static const struct option all[] = {
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "request-id", required_argument, NULL, OPT_REQUEST_ID },
		{ "meeting", required_argument, NULL, OPT_MEETING },
		{ "open-longer-than", required_argument, NULL, OPT_OPEN },
		{ "no-refresh", no_argument, NULL, OPT_NO_REFRESH },
	};
	struct option opts[sizeof(all) / sizeof(all[0]) + 1];
	size_t n = 0;
	int c;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (mask & all[i].val)
			opts[n++] = all[i];
	memset(&opts[n], 0, sizeof(opts[n]));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c == '?' || take_option(cmd, c, optarg, o) != 0)
			return -1;
	if (optind != argc) {
		fprintf(stderr, "zoom_events: %s: unexpected \"%s\"\n", cmd,
		    argv[optind]);
		return -1;
	}
	return 0;
}

int
cmd_deliveries(const struct config *cfg, int argc, char **argv)
{
	struct list_opts o = { .since_ms = wall_ms() - 86400000LL,
		.limit = 1000 };
	struct ledger_query q;
	struct ingest *in;
	struct tab t;
	int rows;

	if (parse_list_opts("deliveries", argc, argv, OPT_SINCE | OPT_UNTIL |
	    OPT_FORMAT | OPT_LIMIT | OPT_REQUEST_ID | OPT_MEETING, &o) != 0)
		return 2;
	q = (struct ledger_query){ o.since_ms, o.until_ms, o.request_id,
		o.meeting_id, o.limit };
	in = ingest_new(cfg);
	tab_begin(&t, o.format, stdout, ledger_cols,
	    sizeof(ledger_cols) / sizeof(ledger_cols[0]));
	rows = ingest_ledger(in, &q, print_ledger_row, &t);
	ingest_free(in);
	if (tab_end(&t) != 0 || rows < 0)
		return 1;
	return 0;
}

/* ---- visits ---- */

int
cmd_visits(const struct config *cfg, int argc, char **argv)
{
	struct visits_refresh_result r;
	struct ingest *in;
	bool full = false;
	int rc;

	if (argc == 3)
		full = strcmp(argv[2], "--full") == 0;
	if (argc < 2 || strcmp(argv[1], "refresh") != 0 || argc > 3 ||
	    (argc == 3 && !full)) {
		fprintf(stderr, "usage: zoom_events visits refresh [--full]\n");
		return 2;
	}
	in = ingest_new(cfg);
	rc = ingest_visits_refresh(in, full, &r);
	ingest_free(in);
	if (rc != 0)
		return 1;
	printf("refreshed %lld visits (%s), %lld sessions, from %lld events\n",
	    r.visits, r.full ? "all" : "touched", r.sessions, r.events);
	return 0;
}

static const struct tab_col visit_cols[] = {
	{ "visit_uuid", false }, { "meeting_id", false }, { "status", false },
	{ "started_at", false }, { "ended_at", false },
	{ "duration_s", true }, { "participants", true },
	{ "host_first_join_at", false }, { "first_patient_join_at", false },
	{ "patient_wait_for_host_s", true }, { "waiting_room_wait_s", true },
	{ "face_to_face_s", true }, { "rejoins", true }, { "drops", true },
	{ "interpreter_requested", true }, { "max_latency_ms", true },
	{ "events", true },
};
#define NVISIT_COLS (sizeof(visit_cols) / sizeof(visit_cols[0]))

static int
print_visit(void *arg, const struct visit_row *v)
{
	const long long times[] = { v->started_ms, v->ended_ms,
		v->host_first_join_ms, v->first_patient_join_ms };
	const long long nums[] = { v->duration_s, v->participants,
		v->patient_wait_for_host_s, v->waiting_room_wait_s,
		v->face_to_face_s, v->rejoins, v->drops,
		v->interpreter_requested, v->max_latency_ms, v->events };
	static const int time_at[] = { 3, 4, 7, 8 };
	static const int num_at[] = { 5, 6, 9, 10, 11, 12, 13, 14, 15, 16 };
	char tbuf[4][32], nbuf[10][24];
	const char *vals[NVISIT_COLS];

	vals[0] = v->visit_uuid;
	vals[1] = v->meeting_id;
	vals[2] = v->status;
	for (int i = 0; i < 4; i++) {
		iso_ms(times[i], tbuf[i]);
		vals[time_at[i]] = times[i] == VISIT_NULL ? NULL : tbuf[i];
	}
	for (int i = 0; i < 10; i++) {
		snprintf(nbuf[i], sizeof(nbuf[i]), "%lld", nums[i]);
		vals[num_at[i]] = nums[i] == VISIT_NULL ? NULL : nbuf[i];
	}
	tab_row(arg, vals);
	return 0;
}

int
cmd_report(const struct config *cfg, int argc, char **argv)
{
	struct list_opts o = { .format = TAB_TABLE };
	struct visit_query q;
	struct visits_refresh_result r;
	struct ingest *in;
	struct tab t;
	int rows;

	if (argc < 2 || strcmp(argv[1], "visits") != 0 ||
	    parse_list_opts("report", argc - 1, argv + 1, OPT_SINCE |
	    OPT_UNTIL | OPT_FORMAT | OPT_LIMIT | OPT_OPEN | OPT_NO_REFRESH,
	    &o) != 0) {
		fprintf(stderr, "usage: zoom_events report visits [--since T] "
		    "[--until T] [--open-longer-than DURATION] [--format "
		    "table|csv|json] [--no-refresh]\n");
		return 2;
	}
	q = (struct visit_query){ o.since_ms, o.until_ms,
		o.open_longer_than_ms, o.limit };
	in = ingest_new(cfg);
	/* The report is current: the visits touched since the last refresh
	 * are computed first. */
	if (!o.no_refresh && ingest_visits_refresh(in, false, &r) != 0) {
		ingest_free(in);
		return 1;
	}
	tab_begin(&t, o.format, stdout, visit_cols, NVISIT_COLS);
	rows = ingest_visits(in, &q, print_visit, &t);
	ingest_free(in);
	return tab_end(&t) != 0 || rows < 0 ? 1 : 0;
}

/* ---- purge ---- */

int
cmd_purge(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "older-than", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct purge_result r[PURGE_TABLES];
	struct audit_who who = cmd_whoami("purge");
	struct ingest *in;
	bool dry_run = false;
	int days = 0, c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n') {
			dry_run = true;
		} else if (c == 'o' && (days = atoi(optarg)) > 0 &&
		    strspn(optarg, "0123456789") == strlen(optarg)) {
			continue;
		} else {
			fprintf(stderr, "usage: zoom_events purge [--dry-run] "
			    "[--older-than DAYS]\n");
			return 2;
		}
	}
	in = ingest_new(cfg);
	rc = ingest_purge(in, &who, days, dry_run, r);
	ingest_free(in);
	for (int i = 0; i < PURGE_TABLES; i++) {
		char cut[32];

		if (r[i].table == NULL)
			continue;
		if (r[i].skipped) {
			printf("%s: kept (no retention set)\n", r[i].table);
			continue;
		}
		iso_ms(r[i].cutoff_ms, cut);
		printf("%s: %s %lld rows older than %s\n", r[i].table,
		    dry_run ? "would delete" : "deleted", r[i].rows, cut);
	}
	return rc == 0 ? 0 : 1;
}

/* ---- audit ---- */

static const struct tab_col audit_cols[] = {
	{ "at", false }, { "command", false }, { "os_user", false },
	{ "os_host", false }, { "db_user", false }, { "detail", false },
	{ "rows", true },
};

static int
print_audit(void *arg, const struct audit_entry *e)
{
	char at[32], rows[24];
	const char *v[7] = { at, e->command, e->os_user, e->os_host,
		e->db_user, e->detail, rows };

	iso_ms(e->at_ms, at);
	snprintf(rows, sizeof(rows), "%lld", e->rows);
	tab_row(arg, v);
	return 0;
}

int
cmd_audit(const struct config *cfg, int argc, char **argv)
{
	struct list_opts o = { .since_ms = 1, .limit = 1000 };
	struct ingest *in;
	struct tab t;
	int rows;

	if (parse_list_opts("audit", argc, argv, OPT_SINCE | OPT_FORMAT |
	    OPT_LIMIT, &o) != 0)
		return 2;
	in = ingest_new(cfg);
	tab_begin(&t, o.format, stdout, audit_cols,
	    sizeof(audit_cols) / sizeof(audit_cols[0]));
	rows = ingest_audit_list(in, o.since_ms, o.limit, print_audit, &t);
	ingest_free(in);
	return tab_end(&t) != 0 || rows < 0 ? 1 : 0;
}
