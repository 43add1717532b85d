/*
 * report.c -- render health and metrics from snapshots (see report.h).
 * Knows the shapes of the answers, nothing of where the numbers come from.
 */
#include "report.h"

#include <string.h>

bool
report_db_ok(const struct health *h)
{
	return h->db_up && (h->wsrep_state[0] == '\0' ||
	    strcmp(h->wsrep_state, "Synced") == 0);
}

void
report_health(struct outbuf *ob, const struct report *r)
{
	const struct health *h = r->health;

	outbuf_printf(ob, "{\"status\":\"ok\",\"db\":\"%s\"",
	    h->counters_valid ? "up" : "down");
	for (size_t i = 0; i < STATS_NFIELDS; i++) {
		if (h->counters_valid)
			outbuf_printf(ob, ",\"%s\":%lld", stats_fields[i].name,
			    stats_get(&h->counts, &stats_fields[i]));
		else
			outbuf_printf(ob, ",\"%s\":null", stats_fields[i].name);
	}
	if (h->spool_pending >= 0)
		outbuf_printf(ob, ",\"spool_pending\":%lld", h->spool_pending);
	else
		outbuf_str(ob, ",\"spool_pending\":null");
	outbuf_str(ob, ",\"db_node\":");
	outbuf_json_str(ob, h->db_node);
	outbuf_str(ob, ",\"wsrep_state\":");
	outbuf_json_str(ob, h->wsrep_state);
	outbuf_printf(ob, ",\"worker\":%ld,\"cache_age_ms\":%lld,\"version\":",
	    r->worker, h->age_ms);
	outbuf_json_str(ob, r->version);
	outbuf_str(ob, "}");
}

/* "# HELP name help\n# TYPE name type\n" */
static void
family(struct outbuf *ob, const char *name, const char *type,
    const char *help)
{
	outbuf_printf(ob, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* Counters from zoom_stats (all hosts), as Prometheus counters. */
static void
db_counters(struct outbuf *ob, const struct health *h)
{
	for (size_t i = 0; i < STATS_NFIELDS; i++) {
		const struct stats_field *f = &stats_fields[i];

		outbuf_printf(ob, "# HELP zoom_events_%s_total %s, all hosts "
		    "(zoom_stats).\n# TYPE zoom_events_%s_total counter\n"
		    "zoom_events_%s_total %lld\n", f->name, f->help, f->name,
		    f->name, stats_get(&h->counts, f));
	}
}

static void
dead_letters(struct outbuf *ob, const struct reason_counts *rc)
{
	family(ob, "zoom_events_dead_letters", "gauge",
	    "Rows kept in zoom_rejected_events, by reason.");
	for (int i = 0; i < rc->n; i++) {
		outbuf_str(ob, "zoom_events_dead_letters{reason=");
		outbuf_label(ob, rc->reason[i]);
		outbuf_printf(ob, "} %lld\n", rc->count[i]);
	}
}

static void
host_requests(struct outbuf *ob, const struct metrics_snapshot *m)
{
	family(ob, "zoom_events_requests_total", "counter", "HTTP requests "
	    "answered by this host's workers, by route and status.");
	for (unsigned r = 0; r < ROUTE_COUNT; r++) {
		for (unsigned c = 0; c < METRICS_NCODES; c++) {
			if (m->requests[r][c] == 0)
				continue;
			outbuf_printf(ob, "zoom_events_requests_total{route=\"%s\","
			    "code=\"", metrics_route_names[r]);
			if (metrics_codes[c] != 0)
				outbuf_printf(ob, "%d", metrics_codes[c]);
			else
				outbuf_str(ob, "other");
			outbuf_printf(ob, "\"} %llu\n",
			    (unsigned long long)m->requests[r][c]);
		}
	}
}

static void
host_durations(struct outbuf *ob, const struct metrics_snapshot *m)
{
	family(ob, "zoom_events_request_duration_seconds", "histogram",
	    "Time from the request's arrival to its answer, this host's "
	    "workers.");
	for (unsigned r = 0; r < ROUTE_COUNT; r++) {
		const char *route = metrics_route_names[r];
		uint64_t cum = 0;

		if (m->count[r] == 0)
			continue;
		for (unsigned b = 0; b < METRICS_NBUCKETS; b++) {
			cum += m->buckets[r][b];
			outbuf_printf(ob, "zoom_events_request_duration_seconds_"
			    "bucket{route=\"%s\",le=\"%g\"} %llu\n", route,
			    metrics_bounds[b], (unsigned long long)cum);
		}
		outbuf_printf(ob, "zoom_events_request_duration_seconds_bucket"
		    "{route=\"%s\",le=\"+Inf\"} %llu\n"
		    "zoom_events_request_duration_seconds_sum{route=\"%s\"} "
		    "%.6f\nzoom_events_request_duration_seconds_count"
		    "{route=\"%s\"} %llu\n", route,
		    (unsigned long long)m->count[r], route,
		    (double)m->sum_us[r] / 1e6, route,
		    (unsigned long long)m->count[r]);
	}
}

static void
host_counters(struct outbuf *ob, const struct metrics_snapshot *m)
{
	static const struct {
		const char *name, *help;
	} counters[MC_COUNT] = {
		[MC_SPOOLED] = { "zoom_events_spooled_total", "Deliveries "
		    "appended to this host's spool (database unavailable)." },
		[MC_SPOOL_FAILED] = { "zoom_events_spool_failures_total",
		    "Deliveries neither stored nor spooled (answered 503)." },
		[MC_DB_CONNECTS] = { "zoom_events_db_connects_total",
		    "Database connections opened by this host's workers." },
		[MC_DB_FAILURES] = { "zoom_events_db_failures_total",
		    "Failed database transactions (before the retry)." },
	};

	for (unsigned c = 0; c < MC_COUNT; c++) {
		family(ob, counters[c].name, "counter", counters[c].help);
		outbuf_printf(ob, "%s %llu\n", counters[c].name,
		    (unsigned long long)m->counters[c]);
	}
	family(ob, "zoom_events_workers", "gauge", "Worker processes on this "
	    "host that share these metrics.");
	outbuf_printf(ob, "zoom_events_workers %d\n", m->workers);
}

void
report_metrics(struct outbuf *ob, const struct report *r)
{
	const struct health *h = r->health;

	family(ob, "zoom_events_build_info", "gauge", "Version of the "
	    "service.");
	outbuf_str(ob, "zoom_events_build_info{version=");
	outbuf_label(ob, r->version);
	outbuf_str(ob, "} 1\n");
	family(ob, "zoom_events_db_up", "gauge", "Whether this worker reached "
	    "its database for this scrape.");
	outbuf_printf(ob, "zoom_events_db_up %d\n", h->db_up);
	family(ob, "zoom_events_db_synced", "gauge", "1 unless the database is "
	    "a Galera node that is not Synced.");
	outbuf_printf(ob, "zoom_events_db_synced %d\n", report_db_ok(h));
	if (h->spool_pending >= 0) {
		family(ob, "zoom_events_spool_pending", "gauge", "Deliveries "
		    "waiting in this host's spool.");
		outbuf_printf(ob, "zoom_events_spool_pending %lld\n",
		    h->spool_pending);
	}
	if (h->counters_valid)
		db_counters(ob, h);
	if (r->reasons != NULL && r->reasons->valid)
		dead_letters(ob, r->reasons);
	if (r->host != NULL) {
		host_requests(ob, r->host);
		host_durations(ob, r->host);
		host_counters(ob, r->host);
	}
}
