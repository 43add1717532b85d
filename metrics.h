/*
 * metrics.h -- per-host request metrics shared by every worker process
 * through a small memory-mapped file, and their Prometheus text rendering.
 * Knows nothing of FastCGI or the database.
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

/*
 * Attach this process to the shared file at path (created if missing):
 * claim a slot for this pid.  When the file cannot be used the metrics
 * stay private to the process, and -1 is returned (the caller warns).
 */
int metrics_open(const char *path);

/* Record one request: its route, HTTP status and duration. */
void metrics_observe(enum metrics_route route, int status, double seconds);
void metrics_count(enum metrics_counter c);

/*
 * Append the host-wide sums, in the Prometheus text format, to
 * buf[*len..size).  Returns 0, or -1 when buf was too small.
 */
int metrics_render(char *buf, size_t size, size_t *len);

/* Live worker processes attached to the file (slots whose pid runs). */
int metrics_workers(void);

#endif /* METRICS_H */
