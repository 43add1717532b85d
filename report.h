/*
 * report.h -- the health JSON and the Prometheus text, rendered from
 * snapshots into a bounded buffer.  Pure: no I/O, no clock, no database;
 * tests/unit/test_report.c checks every shape.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>

#include "ingest.h"
#include "metrics.h"
#include "outbuf.h"

/* What one health or metrics answer shows, gathered by the caller. */
struct report {
	const struct health *health;
	const struct reason_counts *reasons;    /* metrics only; may be NULL */
	const struct metrics_snapshot *host;    /* metrics only; may be NULL */
	const char *version;
	long worker;                            /* the answering pid */
	long long now_ms;                       /* wall clock, for ages */
};

/* True when this worker's database can take writes: up and, on Galera,
 * Synced.  What health?strict=1 and zoom_events_db_synced report. */
bool report_db_ok(const struct health *h);

/* The health JSON object: status, db, every counter (null while the
 * database is down), the host's 401s and deliveries per label (when
 * r->host is set), spool, node, worker, cache age and version. */
void report_health(struct outbuf *ob, const struct report *r);

/* The public side's health: {"status":"ok","db":"up"|"down"} and nothing
 * else. */
void report_health_public(struct outbuf *ob, const struct report *r);

/* The Prometheus text exposition (format 0.0.4). */
void report_metrics(struct outbuf *ob, const struct report *r);

#endif /* REPORT_H */
