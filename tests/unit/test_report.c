/*
 * test_report.c -- the health JSON and the Prometheus text rendered by
 * report.c from hand-made snapshots, and the bounded builder under them
 * (outbuf.c).  Links report.o and outbuf.o only.
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

static char buf[65536];

/* A database-up snapshot with every counter set to a distinct value. */
static struct health
health_up(void)
{
	struct health h;

	memset(&h, 0, sizeof(h));
	h.db_up = true;
	h.counters_valid = true;
	for (size_t i = 0; i < STATS_NFIELDS; i++)
		*(long long *)(void *)((char *)&h.counts +
		    stats_fields[i].offset) = 1000 + (long long)i;
	h.spool_pending = 3;
	snprintf(h.db_node, sizeof(h.db_node), "node\"1");
	snprintf(h.db_version, sizeof(h.db_version), "10.11.6-MariaDB");
	h.age_ms = 42;
	return h;
}

static const char *
render_health(const struct health *h)
{
	struct report r = { .health = h, .version = "9.9.9", .worker = 77 };
	struct outbuf ob;

	outbuf_init(&ob, buf, sizeof(buf));
	report_health(&ob, &r);
	return outbuf_ok(&ob) ? buf : "(overflow)";
}

static void
health_should_list_every_counter_when_the_db_is_up(void)
{
	struct health h = health_up();
	const char *out = render_health(&h);
	char want[128];

	CHECK(strncmp(out, "{\"status\":\"ok\",\"db\":\"up\",", 24) == 0);
	for (size_t i = 0; i < STATS_NFIELDS; i++) {
		snprintf(want, sizeof(want), "\"%s\":%lld,",
		    stats_fields[i].name, 1000 + (long long)i);
		CHECK_CONTAINS(out, want);
	}
	CHECK_CONTAINS(out, "\"spool_pending\":3,");
	CHECK_CONTAINS(out, "\"db_node\":\"node\\\"1\"");
	CHECK_CONTAINS(out, "\"worker\":77,\"cache_age_ms\":42,"
	    "\"version\":\"9.9.9\"}");
}

static void
health_should_keep_the_seed_fields_first(void)
{
	struct health h = health_up();

	/* The Ballerina service's users read these two. */
	CHECK(strncmp(render_health(&h), "{\"status\":\"ok\",\"db\":\"up\","
	    "\"received\":1000,\"inserted\":1001,", 52) == 0);
}

static void
health_should_show_nulls_when_the_db_is_down(void)
{
	struct health h;
	const char *out;
	char want[128];

	memset(&h, 0, sizeof(h));
	h.spool_pending = -1;
	out = render_health(&h);
	CHECK(strncmp(out, "{\"status\":\"ok\",\"db\":\"down\",", 26) == 0);
	for (size_t i = 0; i < STATS_NFIELDS; i++) {
		snprintf(want, sizeof(want), "\"%s\":null,",
		    stats_fields[i].name);
		CHECK_CONTAINS(out, want);
	}
	CHECK_CONTAINS(out, "\"spool_pending\":null,");
	CHECK_CONTAINS(out, "\"wsrep_state\":\"\"");
}

static void
db_ok_should_need_up_and_synced(void)
{
	struct health h = health_up();

	CHECK(report_db_ok(&h));
	snprintf(h.wsrep_state, sizeof(h.wsrep_state), "Synced");
	CHECK(report_db_ok(&h));
	snprintf(h.wsrep_state, sizeof(h.wsrep_state), "Donor/Desynced");
	CHECK(!report_db_ok(&h));
	h.wsrep_state[0] = '\0';
	h.db_up = false;
	CHECK(!report_db_ok(&h));
}

static const char *
render_metrics(const struct health *h, const struct reason_counts *rc,
    const struct metrics_snapshot *m, size_t size)
{
	struct report r = { .health = h, .reasons = rc, .host = m,
		.version = "9.9.9", .worker = 77 };
	struct outbuf ob;

	outbuf_init(&ob, buf, size);
	report_metrics(&ob, &r);
	return outbuf_ok(&ob) ? buf : NULL;
}

static void
metrics_should_list_every_counter_with_help_and_type(void)
{
	struct health h = health_up();
	struct metrics_snapshot m;
	const char *out;
	char want[256];

	memset(&m, 0, sizeof(m));
	out = render_metrics(&h, NULL, &m, sizeof(buf));
	if (!CHECK(out != NULL))
		return;
	for (size_t i = 0; i < STATS_NFIELDS; i++) {
		const char *n = stats_fields[i].name;

		snprintf(want, sizeof(want), "# HELP zoom_events_%s_total %s, "
		    "all hosts (zoom_stats).\n# TYPE zoom_events_%s_total "
		    "counter\nzoom_events_%s_total %lld\n", n,
		    stats_fields[i].help, n, n, 1000 + (long long)i);
		CHECK_CONTAINS(out, want);
	}
	CHECK_CONTAINS(out, "zoom_events_build_info{version=\"9.9.9\"} 1\n");
	CHECK_CONTAINS(out, "zoom_events_db_up 1\n");
	CHECK_CONTAINS(out, "zoom_events_db_synced 1\n");
	CHECK_CONTAINS(out, "zoom_events_spool_pending 3\n");
}

static void
metrics_should_leave_out_db_counters_when_the_db_is_down(void)
{
	struct health h;
	const char *out;

	memset(&h, 0, sizeof(h));
	h.spool_pending = -1;
	out = render_metrics(&h, NULL, NULL, sizeof(buf));
	if (!CHECK(out != NULL))
		return;
	CHECK_CONTAINS(out, "zoom_events_db_up 0\n");
	CHECK_CONTAINS(out, "zoom_events_db_synced 0\n");
	CHECK(strstr(out, "_total") == NULL);
	CHECK(strstr(out, "zoom_events_spool_pending") == NULL);
}

static void
metrics_should_escape_dead_letter_reasons(void)
{
	struct health h = health_up();
	struct reason_counts rc = { .n = 2, .valid = true };
	const char *out;

	snprintf(rc.reason[0], sizeof(rc.reason[0]), "bad_event_ts");
	rc.count[0] = 5;
	snprintf(rc.reason[1], sizeof(rc.reason[1]), "we\"ird\\");
	rc.count[1] = 1;
	out = render_metrics(&h, &rc, NULL, sizeof(buf));
	if (!CHECK(out != NULL))
		return;
	CHECK_CONTAINS(out, "zoom_events_dead_letters{reason=\"bad_event_ts\"} "
	    "5\n");
	CHECK_CONTAINS(out, "zoom_events_dead_letters{reason=\"we\\\"ird\\\\\"} "
	    "1\n");
}

static void
metrics_should_render_cumulative_histograms(void)
{
	struct health h = health_up();
	struct metrics_snapshot m;
	const char *out;

	memset(&m, 0, sizeof(m));
	m.buckets[ROUTE_EVENTS][0] = 2;
	m.buckets[ROUTE_EVENTS][3] = 5;
	m.count[ROUTE_EVENTS] = 8;     /* one slower than every bound */
	m.sum_us[ROUTE_EVENTS] = 1500000;
	m.requests[ROUTE_EVENTS][1] = 8;        /* 202 */
	m.requests[ROUTE_OTHER][METRICS_NCODES - 1] = 1;
	m.counters[MC_SPOOLED] = 4;
	m.workers = 3;
	out = render_metrics(&h, NULL, &m, sizeof(buf));
	if (!CHECK(out != NULL))
		return;
	CHECK_CONTAINS(out, "zoom_events_request_duration_seconds_bucket"
	    "{route=\"events\",le=\"0.0005\"} 2\n");
	CHECK_CONTAINS(out, "zoom_events_request_duration_seconds_bucket"
	    "{route=\"events\",le=\"0.005\"} 7\n");
	CHECK_CONTAINS(out, "zoom_events_request_duration_seconds_bucket"
	    "{route=\"events\",le=\"2.5\"} 7\n");
	CHECK_CONTAINS(out, "zoom_events_request_duration_seconds_bucket"
	    "{route=\"events\",le=\"+Inf\"} 8\n");
	CHECK_CONTAINS(out, "zoom_events_request_duration_seconds_sum"
	    "{route=\"events\"} 1.500000\n");
	CHECK(strstr(out, "route=\"health\",le=") == NULL);
	CHECK_CONTAINS(out, "zoom_events_requests_total{route=\"events\","
	    "code=\"202\"} 8\n");
	CHECK_CONTAINS(out, "zoom_events_requests_total{route=\"other\","
	    "code=\"other\"} 1\n");
	CHECK_CONTAINS(out, "zoom_events_spooled_total 4\n");
	CHECK_CONTAINS(out, "zoom_events_workers 3\n");
}

static void
metrics_should_report_overflow_instead_of_cutting(void)
{
	struct health h = health_up();

	CHECK(render_metrics(&h, NULL, NULL, 200) == NULL);
	CHECK(render_metrics(&h, NULL, NULL, sizeof(buf)) != NULL);
}

/* A host snapshot with two labels and the unknown bucket. */
static struct metrics_snapshot
host_with_labels(void)
{
	struct metrics_snapshot m;

	memset(&m, 0, sizeof(m));
	m.nlabels = 3;
	snprintf(m.labels[0].name, sizeof(m.labels[0].name), "clinic_a");
	m.labels[0].deliveries = 7;
	m.labels[0].auth_failures = 1;
	m.labels[0].last_validation_s = 1700000000;
	snprintf(m.labels[1].name, sizeof(m.labels[1].name), "clinic_b");
	m.labels[1].deliveries = 3;
	snprintf(m.labels[2].name, sizeof(m.labels[2].name), "unknown");
	m.labels[2].auth_failures = 4;
	m.last_delivery_s = 1700000100;
	m.sig_age[0] = 2;
	m.sig_age[6] = 1;               /* <= 1800 s */
	m.sig_age_count = 3;
	m.sig_age_sum = 1500.5;
	m.batch[2] = 5;                 /* <= 4 */
	m.batch_count = 5;
	m.batch_sum = 17;
	m.workers = 2;
	return m;
}

static void
health_should_count_401s_per_host_and_label(void)
{
	struct health h = health_up();
	struct metrics_snapshot m = host_with_labels();
	struct report r = { .health = &h, .host = &m, .version = "9",
		.worker = 1 };
	struct outbuf ob;

	outbuf_init(&ob, buf, sizeof(buf));
	report_health(&ob, &r);
	CHECK(outbuf_ok(&ob));
	/* The total once, top level, so that old readers find it. */
	CHECK_CONTAINS(buf, ",\"rejected_auth\":5,\"labels\":{");
	CHECK(strstr(strstr(buf, "\"rejected_auth\"") + 1,
	    "\"rejected_auth\"") == NULL);
	CHECK_CONTAINS(buf, "\"clinic_a\":{\"deliveries\":7,"
	    "\"auth_failures\":1}");
	CHECK_CONTAINS(buf, "\"unknown\":{\"deliveries\":0,"
	    "\"auth_failures\":4}}");
}

static void
public_health_should_say_status_only(void)
{
	struct health h = health_up();
	struct metrics_snapshot m = host_with_labels();
	struct report r = { .health = &h, .host = &m, .version = "9",
		.worker = 1 };
	struct outbuf ob;

	outbuf_init(&ob, buf, sizeof(buf));
	report_health_public(&ob, &r);
	CHECK_STR(buf, "{\"status\":\"ok\",\"db\":\"up\"}");
	h.counters_valid = false;
	outbuf_init(&ob, buf, sizeof(buf));
	report_health_public(&ob, &r);
	CHECK_STR(buf, "{\"status\":\"ok\",\"db\":\"down\"}");
}

static void
metrics_should_render_labels_deliveries_and_visits(void)
{
	struct health h = health_up();
	struct metrics_snapshot m = host_with_labels();
	struct report r = { .health = &h, .host = &m, .version = "9",
		.worker = 1, .now_ms = 1700000600000LL };
	struct outbuf ob;

	h.spool_oldest_ms = 1700000000000LL;
	h.visits_valid = true;
	h.visits_open = 4;
	h.visits_overdue = 1;
	outbuf_init(&ob, buf, sizeof(buf));
	report_metrics(&ob, &r);
	CHECK(outbuf_ok(&ob));
	CHECK_CONTAINS(buf, "zoom_events_deliveries_total{label=\"clinic_a\"} "
	    "7\n");
	CHECK_CONTAINS(buf, "zoom_events_deliveries_total{label=\"clinic_b\"} "
	    "3\n");
	CHECK_CONTAINS(buf, "zoom_events_signature_failures_total{label="
	    "\"unknown\"} 4\n");
	CHECK_CONTAINS(buf, "zoom_events_rejected_auth_total 5\n");
	CHECK_CONTAINS(buf, "zoom_events_last_url_validation_timestamp_seconds"
	    "{label=\"clinic_a\"} 1700000000\n");
	/* Only labels that had a validation. */
	CHECK(strstr(buf, "validation_timestamp_seconds{label=\"clinic_b\"}")
	    == NULL);
	CHECK_CONTAINS(buf, "zoom_events_last_delivery_timestamp_seconds "
	    "1700000100\n");
	CHECK_CONTAINS(buf, "zoom_events_signature_age_seconds_bucket"
	    "{le=\"1\"} 2\n");
	CHECK_CONTAINS(buf, "zoom_events_signature_age_seconds_bucket"
	    "{le=\"1800\"} 3\n");
	CHECK_CONTAINS(buf, "zoom_events_signature_age_seconds_bucket"
	    "{le=\"+Inf\"} 3\n");
	CHECK_CONTAINS(buf, "zoom_events_signature_age_seconds_sum 1500.500\n");
	CHECK_CONTAINS(buf, "zoom_events_delivery_lag_seconds_count 0\n");
	CHECK_CONTAINS(buf, "zoom_events_commit_batch_size_bucket{le=\"2\"} "
	    "0\n");
	CHECK_CONTAINS(buf, "zoom_events_commit_batch_size_bucket{le=\"4\"} "
	    "5\n");
	CHECK_CONTAINS(buf, "zoom_events_commit_batch_size_sum 17.000\n");
	CHECK_CONTAINS(buf, "zoom_events_spool_oldest_age_seconds 600\n");
	CHECK_CONTAINS(buf, "zoom_events_visits_open 4\n");
	CHECK_CONTAINS(buf, "zoom_events_visits_open_overdue 1\n");
	/* Every family has its HELP and TYPE. */
	for (const char *p = buf; (p = strstr(p, "\n# TYPE ")) != NULL; p++) {
		char name[128];

		if (sscanf(p, "\n# TYPE %127s", name) != 1)
			break;
		CHECKF(strstr(buf, name) < p, "no HELP before TYPE of %s", name);
	}
}

static void
outbuf_should_stay_failed_after_an_overflow(void)
{
	char small[8];
	struct outbuf ob;

	outbuf_init(&ob, small, sizeof(small));
	outbuf_str(&ob, "1234567");
	CHECK(outbuf_ok(&ob));
	CHECK_STR(small, "1234567");
	outbuf_str(&ob, "8");
	CHECK(!outbuf_ok(&ob));
	CHECK_STR(small, "1234567");
	outbuf_init(&ob, small, sizeof(small));
	outbuf_printf(&ob, "%s", "123456789");
	CHECK(!outbuf_ok(&ob));
	outbuf_str(&ob, "x");
	CHECK(!outbuf_ok(&ob));
	CHECK(strlen(small) < sizeof(small));
}

static void
outbuf_should_escape_json_strings(void)
{
	struct outbuf ob;

	outbuf_init(&ob, buf, sizeof(buf));
	outbuf_json_str(&ob, "a\"b\\c\nd\x01é");
	CHECK(outbuf_ok(&ob));
	CHECK_STR(buf, "\"a\\\"b\\\\c\\nd\\u0001é\"");
	outbuf_init(&ob, buf, sizeof(buf));
	outbuf_label(&ob, "x\"\n\\\x02");
	CHECK_STR(buf, "\"x\\\"\\n\\\\\"");
}

int
main(void)
{
	RUN(health_should_list_every_counter_when_the_db_is_up);
	RUN(health_should_keep_the_seed_fields_first);
	RUN(health_should_show_nulls_when_the_db_is_down);
	RUN(db_ok_should_need_up_and_synced);
	RUN(metrics_should_list_every_counter_with_help_and_type);
	RUN(metrics_should_leave_out_db_counters_when_the_db_is_down);
	RUN(metrics_should_escape_dead_letter_reasons);
	RUN(metrics_should_render_cumulative_histograms);
	RUN(metrics_should_report_overflow_instead_of_cutting);
	RUN(health_should_count_401s_per_host_and_label);
	RUN(public_health_should_say_status_only);
	RUN(metrics_should_render_labels_deliveries_and_visits);
	RUN(outbuf_should_stay_failed_after_an_overflow);
	RUN(outbuf_should_escape_json_strings);
	return unit_report("test_report");
}
