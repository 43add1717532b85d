/*
 * ingest.h -- the path of one authentic delivery to durable storage:
 * normalized event or dead letter, counters in the same transaction, one
 * retry on a fresh connection, then the local spool.  Also the spool's
 * replay, the health snapshot and the checks of check-config.  The only
 * caller of store and spool.  Knows nothing of FastCGI or HTTP.
 */
#ifndef INGEST_H
#define INGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "normalize.h"
#include "stats.h"
#include "zoom_limits.h"

struct store;
struct spool;

/*
 * One delivery on its way in.  The caller fills body, len, request_id,
 * received_ms, started_ms and replay, then calls delivery_normalize().
 * body is the caller's buffer and must outlive the struct (ev.raw points
 * into it).
 */
struct delivery {
	const char *body;               /* the raw bytes Zoom signed */
	size_t len;
	char request_id[ZE_REQUEST_ID_MAX + 1]; /* x-zm-request-id or local */
	long long received_ms;          /* wall clock, Unix ms */
	long long started_ms;           /* monotonic: the retry budget */
	bool replay;                    /* from the spool, not from Zoom */
	enum norm_result result;        /* set by delivery_normalize() */
	struct zoom_event ev;
	char err[ZE_DETAIL_MAX + 1];     /* normalize's explanation */
};

/* Normalize d->body into d->result, d->ev and d->err. */
void delivery_normalize(struct delivery *d);

/* Where a delivery ended up. */
enum ingest_fate {
	FATE_STORED,            /* committed in the database */
	FATE_SPOOLED,           /* fsynced to the local spool */
	FATE_LOST               /* neither: the caller must answer 5xx */
};

struct ingest_result {
	enum ingest_fate fate;
	enum stats_outcome outcome;     /* when stored */
	int attempts;                   /* database transactions tried */
	char error[ZE_DETAIL_MAX + 1];  /* the database error, if any */
};

/* What health and metrics show; see ingest_health(). */
struct health {
	bool db_up;
	bool counters_valid;
	struct stats_counts counts;
	long long spool_pending;        /* -1 when the spool cannot be read */
	char db_version[64];
	char db_node[64];               /* wsrep_node_name or hostname */
	char wsrep_state[32];           /* "" when not Galera */
	long long age_ms;               /* how old the cached part is */
};

/* Dead letters kept, per reason (for metrics). */
#define INGEST_MAX_REASONS 32
struct reason_counts {
	int n;
	char reason[INGEST_MAX_REASONS][ZE_REASON_MAX + 1];
	long long count[INGEST_MAX_REASONS];
	bool valid;
};

/* What check-config reports about the database. */
struct ingest_check {
	bool connected;
	char error[512];                /* why not connected, or schema */
	char version[64];
	char wsrep_state[32];
	char node[64];
	bool schema_ok;
};

struct ingest {
	const struct config *cfg;
	struct store *store;
	struct spool *spool;
	struct stats_shard shard;
	long long db_retry_at;          /* monotonic ms: skip connects before */
	struct health cached;
	long long cached_at;            /* monotonic ms, 0 = never */
	struct reason_counts reasons;
	long long reasons_at;           /* monotonic ms, 0 = never */
};

/* Set up for this process: no connection yet (see ingest_connect()). */
void ingest_init(struct ingest *in, const struct config *cfg);
void ingest_release(struct ingest *in);

/* Connect now unless within the retry back-off.  0 when connected. */
int ingest_connect(struct ingest *in);

/* This process's counter row (for the start-up log line). */
int ingest_slot(const struct ingest *in);

/*
 * Store one normalized delivery: a meeting event into zoom_visit_events,
 * anything else into zoom_rejected_events, with its counters.  On a
 * database fault, retry once on a fresh connection while less than
 * ZE_RETRY_BUDGET_MS has passed since d->started_ms; then, unless d is a
 * replay, append it to the spool.
 */
void ingest_store(struct ingest *in, const struct delivery *d,
    struct ingest_result *res);

/* Count an outcome that stores no event (401, URL validation); best
 * effort, skipped while the database is down. */
void ingest_count(struct ingest *in, enum stats_outcome o);

/*
 * Replay the spool into the database when it is reachable and there is
 * something to replay.  Returns the number of records replayed, or -1 when
 * the database is down.
 */
long long ingest_drain(struct ingest *in, int max_records, int budget_ms);

/* Records waiting in this host's spool, or -1 when it cannot be read. */
long long ingest_pending(struct ingest *in);

/* The health snapshot, refreshed when older than stats_cache_ms. */
const struct health *ingest_health(struct ingest *in);

/* Dead letters per reason, refreshed like the health snapshot. */
const struct reason_counts *ingest_reasons(struct ingest *in);

/* Connect, identify the server and check the schema, for check-config. */
void ingest_check(struct ingest *in, struct ingest_check *out);

struct replay_counts {
	long long moved;        /* now in zoom_visit_events (or duplicates) */
	long long kept;         /* still not normalizable */
	long long missing;      /* no such id */
};

/*
 * Re-run normalization on dead letters (ids[0..nids), or every one when
 * nids is 0), moving those that now pass into zoom_visit_events in one
 * transaction each.  buf (size bytes) holds one body at a time.  0, or -1
 * when the database fails.
 */
int ingest_replay_rejected(struct ingest *in, const long long *ids,
    int nids, char *buf, size_t size, struct replay_counts *out);

#endif /* INGEST_H */
