/*
 * spool.h -- a local, fsynced, append-only spool of raw deliveries, for
 * when the database cannot take them, and its replay.  Knows nothing of
 * FastCGI, JSON or the database.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stddef.h>

#include "zoom_limits.h"

struct spool;

/* One spooled delivery.  body points into the spool file's mapping and
 * is valid only during the callback. */
struct spool_record {
	long long received_ms;          /* Unix milliseconds */
	char request_id[ZE_REQUEST_ID_MAX + 1];
	const char *body;
	size_t len;
};

/*
 * A spool in dir for this process.  Nothing is touched until the first
 * append or drain, so a broken directory shows up as failed appends (and
 * 503s) rather than a worker that will not start.  warn() receives the
 * one-line reports of torn records and I/O failures; it may be NULL.
 * max_body bounds a record; larger length fields are corruption.
 */
struct spool *spool_new(const char *dir, const char *instance,
    size_t max_body, void (*warn)(const char *msg));
void spool_free(struct spool *sp);

/*
 * Append one delivery and fsync it.  Returns 0 only once the record is on
 * stable storage; -1 (errno set) when it is not, and then no partial record
 * stays in the file.  Safe with many processes appending to the same
 * directory.
 */
int spool_append(struct spool *sp, long long received_ms,
    const char *request_id, const char *body, size_t len);

/*
 * Called for each record by spool_drain(): return 0 once the record is
 * stored (or dead-lettered) in the database, -1 to stop the drain and keep
 * the record for later.
 */
typedef int (*spool_fn)(void *arg, const struct spool_record *r);

struct spool_drain_result {
	int busy;               /* another process holds the drain lock */
	long long replayed;     /* records fn() accepted */
	long long torn;         /* damaged records skipped */
	int stopped;            /* fn() failed: records remain */
};

/*
 * Replay up to max_records records, for at most budget_ms, through fn, one
 * drainer at a time across processes (a lock file).  A record is never
 * removed before fn() accepts it; one accepted just before a crash may be
 * offered again, so fn must be idempotent.  0, or -1 on an I/O error.
 */
int spool_drain(struct spool *sp, spool_fn fn, void *arg, int max_records,
    int budget_ms, struct spool_drain_result *res);

/* Records waiting in the spool (a header walk, no checksums), or -1. */
long long spool_pending(struct spool *sp);

/* True when the spool directory holds anything to drain (cheap). */
int spool_has_pending(struct spool *sp);

#endif /* SPOOL_H */
