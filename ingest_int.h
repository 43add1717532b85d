/*
 * ingest_int.h -- the inside of struct ingest, shared by ingest.c (the
 * delivery path) and ingest_ops.c (health, checks and the commands'
 * database work).  Nothing else includes it.
 *
 * Threads: the connection (store) and everything cached from it are used
 * only under db_mu.  Deliveries reach the database through the group
 * commit queue (gc_*): the first thread to find no leader commits every
 * delivery queued at that moment, then hands over.
 */
#ifndef INGEST_INT_H
#define INGEST_INT_H

#include <pthread.h>

#include "ingest.h"
#include "spool.h"
#include "store.h"

struct gc_item;

struct ingest {
	const struct config *cfg;
	struct store *store;            /* under db_mu */
	struct spool *spool;            /* thread-safe on its own */
	struct stats_shard shard;
	pthread_mutex_t db_mu;
	long long db_retry_at;          /* monotonic ms: skip connects before */
	struct health cached;           /* under db_mu */
	long long cached_at;            /* monotonic ms, 0 = never */
	struct reason_counts reasons;   /* under db_mu */
	long long reasons_at;
	char *replay_buf;               /* the drain's redaction buffer */
	size_t replay_size;
	/* Group commit: the queue, and whether a leader is committing. */
	pthread_mutex_t gc_mu;
	pthread_cond_t gc_cv;
	struct gc_item *gc_head, *gc_tail;
	bool gc_leader;
};

/* Connect unless within the back-off; the caller holds db_mu. */
int ingest_connect_locked(struct ingest *in);

/* After a failed statement: roll back, and drop a connection that cannot
 * go on.  The caller holds db_mu. */
void ingest_after_failure(struct ingest *in);

/* The redaction buffer (replay_buf) of the drain and of replay-rejected,
 * grown to at least need bytes: a body stored under a larger
 * max_body_bytes than today's must redact whole, not to nothing.  While
 * replay_buf is NULL, replay_size is the least to allocate; after, its
 * size.  0, or -1 out of memory. */
int ingest_replay_room(struct ingest *in, size_t need);

/*
 * A read for a command: under db_mu, connected, store_query() with row()
 * per row, then the read transaction ended.  Logs "cannot read <what>" on
 * failure.  The number of rows, or -1.
 */
int ingest_read(struct ingest *in, const char *what, const char *sql,
    const struct store_val *p, size_t np, struct store_col *c, size_t nc,
    int (*row)(void *arg, struct store_col *c, size_t n), void *arg);

/* Visits open now, and those of them that started more than
 * visit_open_alert_s ago (the watchdog's gauge); the caller holds db_mu
 * and is connected.  0 or -1. */
int ingest_open_visits_locked(struct ingest *in, long long *open,
    long long *overdue);

#endif /* INGEST_INT_H */
