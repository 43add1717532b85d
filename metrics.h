/*
 * metrics.h -- per-host request metrics shared by every worker process
 * through a small memory-mapped file.  This module keeps the numbers;
 * report.c renders them.  Knows nothing of FastCGI or the database.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metrics_route {
	ROUTE_EVENTS,
	ROUTE_HEALTH,
	ROUTE_METRICS,
	ROUTE_OTHER,
	ROUTE_COUNT
};

/* Host-local events that the database cannot count (it may be down). */
enum metrics_counter {
	MC_SPOOLED,             /* deliveries appended to the spool */
	MC_SPOOL_FAILED,        /* appends that failed (answered 503) */
	MC_DB_CONNECTS,         /* connections opened */
	MC_DB_FAILURES,         /* failed transactions (before any retry) */
	MC_COUNT
};

/* The status codes the service answers; the last, 0, is "other".
 * Defined here (static) so that report.c's tests need not link this
 * module. */
#define METRICS_NCODES 12
static const int metrics_codes[METRICS_NCODES] = { 200, 202, 400, 401, 404,
	405, 411, 413, 415, 500, 503, 0 };

/* Request duration histogram upper bounds, in seconds; Zoom's limit is
 * 3 s. */
#define METRICS_NBUCKETS 12
static const double metrics_bounds[METRICS_NBUCKETS] = { 0.0005, 0.001,
	0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };

static const char *const metrics_route_names[ROUTE_COUNT] = { "events",
	"health", "metrics", "other" };

/* The host-wide sums, as report.c renders them. */
struct metrics_snapshot {
	uint64_t requests[ROUTE_COUNT][METRICS_NCODES];
	uint64_t buckets[ROUTE_COUNT][METRICS_NBUCKETS]; /* not cumulative */
	uint64_t count[ROUTE_COUNT];
	uint64_t sum_us[ROUTE_COUNT];
	uint64_t counters[MC_COUNT];
	int workers;            /* live processes attached */
};

/*
 * Attach this process to the shared file at path (created if missing):
 * claim a slot for this pid.  When the file cannot be used the metrics
 * stay private to the process, and -1 is returned (the caller warns).
 */
int metrics_open(const char *path);

/* Record one request: its route, HTTP status and duration. */
void metrics_observe(enum metrics_route route, int status, double seconds);
void metrics_count(enum metrics_counter c);

/* Sum every live or past process's slot (or ours alone when private). */
void metrics_snapshot(struct metrics_snapshot *out);

#endif /* METRICS_H */
