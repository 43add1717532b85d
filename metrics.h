/*
 * metrics.h -- per-host metrics shared by every worker process through a
 * small memory-mapped file: request counts and durations, host-local
 * counters, deliveries and signature failures per secret label, delivery
 * timestamps and histograms.  This module keeps the numbers; report.c
 * renders them.  Knows nothing of FastCGI or the database.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "zoom_limits.h"

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

/* Signature age and delivery lag bounds, in seconds: Zoom's retries come
 * about 5, 25 and 85 minutes after the first attempt. */
#define METRICS_NAGE 10
static const double metrics_age_bounds[METRICS_NAGE] = { 1, 5, 30, 60, 300,
	600, 1800, 3600, 5400, 7200 };

/* Events per database commit (group commit). */
#define METRICS_NBATCH 8
static const double metrics_batch_bounds[METRICS_NBATCH] = { 1, 2, 4, 8, 16,
	32, 64, 128 };

static const char *const metrics_route_names[ROUTE_COUNT] = { "events",
	"health", "metrics", "other" };

/* Labels a host's file can name: every secret's, plus "unknown". */
#define METRICS_MAX_LABELS (2 * ZE_MAX_SECRETS)
/* The label index of deliveries and failures no label can be found for. */
#define METRICS_LABEL_UNKNOWN (-1)

/* One label's numbers, summed over the host's processes. */
struct metrics_label {
	char name[ZE_LABEL_MAX + 1];    /* "unknown" for the unattributed */
	uint64_t deliveries;            /* signature verified */
	uint64_t auth_failures;         /* 401s attributed to it */
	int64_t last_validation_s;      /* Unix s of the last URL validation
					 * answered with its secret; 0 never */
};

/* The host-wide sums, as report.c renders them. */
struct metrics_snapshot {
	uint64_t requests[ROUTE_COUNT][METRICS_NCODES];
	uint64_t buckets[ROUTE_COUNT][METRICS_NBUCKETS]; /* not cumulative */
	uint64_t count[ROUTE_COUNT];
	uint64_t sum_us[ROUTE_COUNT];
	uint64_t counters[MC_COUNT];
	/* Histograms: per-bucket counts (not cumulative), count and sum. */
	uint64_t sig_age[METRICS_NAGE], sig_age_count;
	double sig_age_sum;
	uint64_t lag[METRICS_NAGE], lag_count;
	double lag_sum;
	uint64_t batch[METRICS_NBATCH], batch_count, batch_sum;
	int64_t last_delivery_s;        /* Unix s; 0 = never */
	/* labels[i] for each index i metrics_label() gave out, then
	 * labels[nlabels - 1], "unknown": METRICS_LABEL_UNKNOWN's counts
	 * (and those of any index no label was given). */
	int nlabels;
	struct metrics_label labels[METRICS_MAX_LABELS + 1];
	int workers;                    /* live processes attached */
};

/*
 * Attach this process to the shared file at path, opened in the
 * directory without following symlinks and created fully allocated
 * (posix_fallocate): a shared page the filesystem cannot back would kill
 * the process with SIGBUS on a full disk.  A file of another layout
 * (an older version) is replaced.  Claims a slot for this pid.  When the
 * file cannot be used the metrics stay private to the process, and -1 is
 * returned (the caller warns).
 */
int metrics_open(const char *path);

/* Record one request: its route, HTTP status and duration. */
void metrics_observe(enum metrics_route route, int status, double seconds);
void metrics_count(enum metrics_counter c);

/*
 * The index of a secret label in the host's label table, adding it when
 * new (labels are shared by name, so workers with different
 * configurations agree).  METRICS_LABEL_UNKNOWN when the table is full,
 * and for "", a name over ZE_LABEL_MAX and "unknown" itself.  Call at
 * start-up, not per request.
 */
int metrics_label(const char *name);

/* A delivery whose signature verified with label's secret: counts it,
 * stamps the last delivery time (now_s) and records the signature age
 * and the delivery lag (seconds; negative values count as 0; a value
 * passed as NAN, such as an unknown lag, is not recorded). */
void metrics_delivery(int label, long long now_s, double sig_age_s,
    double lag_s);

/* A 401, attributed to label (METRICS_LABEL_UNKNOWN when it cannot be). */
void metrics_auth_failure(int label);

/* A URL validation answered with label's secret at now_s. */
void metrics_validation(int label, long long now_s);

/* One database commit of n events. */
void metrics_batch(int n);

/*
 * Remember which label verified deliveries of a Zoom account, so that a
 * later 401 carrying the same payload.account_id can be attributed to it
 * (a secret rotated on one side only).  A small host-wide table (64
 * entries); the oldest entry gives way.  Cheap when nothing changes: only
 * a new account or a new label for it takes the file's lock.
 */
void metrics_learn_account(const char *account_id, int label);

/* The label learned for account_id, or METRICS_LABEL_UNKNOWN. */
int metrics_account_label(const char *account_id);

/* Sum every live or past process's slot (or ours alone when private). */
void metrics_snapshot(struct metrics_snapshot *out);

#endif /* METRICS_H */
