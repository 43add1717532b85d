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

/* 401s of every label, this host. */
static uint64_t
auth_failures(const struct metrics_snapshot *m)
{
	uint64_t n = 0;

	for (int i = 0; i < m->nlabels; i++)
		n += m->labels[i].auth_failures;
	return n;
}

/* The host's share of health: 401s (never in the database) and, per
 * secret label, deliveries and 401s. */
static void
health_host(struct outbuf *ob, const struct metrics_snapshot *m)
{
	outbuf_printf(ob, ",\"rejected_auth\":%llu,\"labels\":{",
	    (unsigned long long)auth_failures(m));
	for (int i = 0; i < m->nlabels; i++) {
		outbuf_str(ob, i ? "," : "");
		outbuf_json_str(ob, m->labels[i].name);
		outbuf_printf(ob, ":{\"deliveries\":%llu,\"auth_failures\":"
		    "%llu}", (unsigned long long)m->labels[i].deliveries,
		    (unsigned long long)m->labels[i].auth_failures);
	}
	outbuf_str(ob, "}");
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
	if (r->host != NULL)
		health_host(ob, r->host);
	if (h->spool_pending >= 0)
		outbuf_printf(ob, ",\"spool_pending\":%lld", h->spool_pending);
	else
		outbuf_str(ob, ",\"spool_pending\":null");
	outbuf_str(ob, ",\"db_node\":");
	outbuf_json_str(ob, h->db_node);
	outbuf_str(ob, ",\"wsrep_state\":");
	outbuf_json_str(ob, h->wsrep_state);
	outbuf_str(ob, ",\"db_tls\":");
	outbuf_json_str(ob, h->db_tls);
	outbuf_printf(ob, ",\"worker\":%ld,\"cache_age_ms\":%lld,\"version\":",
	    r->worker, h->age_ms);
	outbuf_json_str(ob, r->version);
	outbuf_str(ob, "}");
}

void
report_health_public(struct outbuf *ob, const struct report *r)
{
	outbuf_printf(ob, "{\"status\":\"ok\",\"db\":\"%s\"}",
	    r->health->counters_valid ? "up" : "down");
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

/* A histogram from per-bucket counts (not cumulative). */
static void
histogram(struct outbuf *ob, const char *name, const char *help,
    const double *bounds, const uint64_t *buckets, size_t nb, uint64_t count,
    double sum)
{
	uint64_t cum = 0;

	family(ob, name, "histogram", help);
	for (size_t b = 0; b < nb; b++) {
		cum += buckets[b];
		outbuf_printf(ob, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[b],
		    (unsigned long long)cum);
	}
	outbuf_printf(ob, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.3f\n"
	    "%s_count %llu\n", name, (unsigned long long)count, name, sum,
	    name, (unsigned long long)count);
}

/* Per label: deliveries, 401s, URL validations. */
static void
host_labels(struct outbuf *ob, const struct metrics_snapshot *m)
{
	static const char *const fams[] = { "zoom_events_deliveries_total",
		"zoom_events_signature_failures_total" };
	static const char *const helps[] = { "Deliveries whose signature "
		"verified, by the label of the secret that verified them, this "
		"host.", "Requests refused for their signature (401), by the "
		"label their account's deliveries had (unknown: none), this "
		"host." };

	for (int f = 0; f < 2; f++) {
		family(ob, fams[f], "counter", helps[f]);
		for (int i = 0; i < m->nlabels; i++) {
			outbuf_printf(ob, "%s{label=", fams[f]);
			outbuf_label(ob, m->labels[i].name);
			outbuf_printf(ob, "} %llu\n", (unsigned long long)(f == 0
			    ? m->labels[i].deliveries
			    : m->labels[i].auth_failures));
		}
	}
	family(ob, "zoom_events_rejected_auth_total", "counter", "Requests "
	    "refused for their signature (401), this host.");
	outbuf_printf(ob, "zoom_events_rejected_auth_total %llu\n",
	    (unsigned long long)auth_failures(m));
	family(ob, "zoom_events_last_url_validation_timestamp_seconds",
	    "gauge", "Unix time of the last URL validation answered with the "
	    "label's secret, this host.");
	for (int i = 0; i < m->nlabels; i++) {
		if (m->labels[i].last_validation_s <= 0)
			continue;
		outbuf_str(ob, "zoom_events_last_url_validation_timestamp_"
		    "seconds{label=");
		outbuf_label(ob, m->labels[i].name);
		outbuf_printf(ob, "} %lld\n",
		    (long long)m->labels[i].last_validation_s);
	}
}

/* Deliveries: when the last came, and how old their signatures and events
 * were. */
static void
host_deliveries(struct outbuf *ob, const struct metrics_snapshot *m)
{
	family(ob, "zoom_events_last_delivery_timestamp_seconds", "gauge",
	    "Unix time of the last accepted delivery, this host (0: none).");
	outbuf_printf(ob, "zoom_events_last_delivery_timestamp_seconds %lld\n",
	    (long long)m->last_delivery_s);
	histogram(ob, "zoom_events_signature_age_seconds", "Now minus "
	    "x-zm-request-timestamp of verified deliveries, this host.",
	    metrics_age_bounds, m->sig_age, METRICS_NAGE, m->sig_age_count,
	    m->sig_age_sum);
	histogram(ob, "zoom_events_delivery_lag_seconds", "Now minus event_ts "
	    "of deliveries, this host.", metrics_age_bounds, m->lag,
	    METRICS_NAGE, m->lag_count, m->lag_sum);
	histogram(ob, "zoom_events_commit_batch_size", "Deliveries per "
	    "database commit (group commit), this host.",
	    metrics_batch_bounds, m->batch, METRICS_NBATCH, m->batch_count,
	    (double)m->batch_sum);
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
	family(ob, "zoom_events_db_synced", "gauge", "1 when this worker's "
	    "database is up and, on Galera, Synced.");
	outbuf_printf(ob, "zoom_events_db_synced %d\n", report_db_ok(h));
	if (h->spool_pending >= 0) {
		family(ob, "zoom_events_spool_pending", "gauge", "Deliveries "
		    "waiting in this host's spool.");
		outbuf_printf(ob, "zoom_events_spool_pending %lld\n",
		    h->spool_pending);
		family(ob, "zoom_events_spool_oldest_age_seconds", "gauge",
		    "Age of the oldest delivery waiting in this host's spool "
		    "(0: none).");
		outbuf_printf(ob, "zoom_events_spool_oldest_age_seconds %lld\n",
		    h->spool_oldest_ms > 0 && r->now_ms > h->spool_oldest_ms ?
		    (r->now_ms - h->spool_oldest_ms) / 1000 : 0);
	}
	if (h->counters_valid)
		db_counters(ob, h);
	if (h->visits_valid) {
		family(ob, "zoom_events_visits_open", "gauge", "Visits open "
		    "now (zoom_visits, as of the last visits refresh).");
		outbuf_printf(ob, "zoom_events_visits_open %lld\n",
		    h->visits_open);
		family(ob, "zoom_events_visits_open_overdue", "gauge", "Open "
		    "visits that started more than visit_open_alert_s ago.");
		outbuf_printf(ob, "zoom_events_visits_open_overdue %lld\n",
		    h->visits_overdue);
	}
	if (r->reasons != NULL && r->reasons->valid)
		dead_letters(ob, r->reasons);
	if (r->host != NULL) {
		host_requests(ob, r->host);
		host_durations(ob, r->host);
		host_counters(ob, r->host);
		host_labels(ob, r->host);
		host_deliveries(ob, r->host);
	}
}
