/*
 * spool.h -- a local, fsynced, append-only spool of raw deliveries, for
 * when the database cannot take them, and its replay.  Knows nothing of
 * FastCGI, JSON or the database.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "zoom_limits.h"

struct spool;

/* Bytes of a spool encryption key (AES-256-GCM). */
#define SPOOL_KEY_LEN 32

/*
 * One delivery as the spool keeps it.  On append the caller fills every
 * field; in a drain callback body points into the spool's memory and is
 * valid only during the call.  The signature headers are kept so that the
 * replay can verify the record again (a record planted in the spool does
 * not carry a valid signature); a record written by zoom_events 1.0
 * (format 1) has none and is marked legacy.  A redacted body (store_raw
 * redacted or none) travels with the participant name already protected,
 * so that the replay stores what the direct insert would have.
 */
struct spool_record {
	long long received_ms;                  /* Unix milliseconds */
	char request_id[ZE_REQUEST_ID_MAX + 1];
	char sig_ts[ZE_SIG_TS_MAX + 1];         /* x-zm-request-timestamp, "" */
	char signature[ZE_SIGNATURE_MAX + 1];   /* x-zm-signature, "" */
	bool legacy;                            /* format 1: no headers kept */
	const char *body;
	size_t len;
	/* The participant name as the database will store it (kept, or a
	 * pseudonym), when body is a redacted copy that no longer holds it;
	 * NULL when there is none.  At most SPOOL_NAME_MAX bytes, no NUL. */
	const char *name;
	size_t name_len;
};

#define SPOOL_NAME_MAX (ZE_PARTICIPANT_NAME_MAX * 4)

/*
 * Is dir fit to hold a spool?  It must be a real directory (not a
 * symlink), owned by the effective user, without group or other write
 * permission.  A missing directory is created (0700; its parent must
 * exist) and passes.  0, or -1 with errno (EPERM when unfit) and the
 * reason in err.  spool_append(), spool_drain() and spool_status() make
 * the same check themselves (and again when the path comes to name
 * another directory), and everything they open in it must be a regular
 * file of ours with one link, never a symlink: anything else is refused.
 */
int spool_check_dir(const char *dir, char *err, size_t errlen);

/*
 * A spool in dir for this process.  Nothing is touched until the first
 * append or drain, so a broken directory shows up as failed appends (and
 * 503s) rather than a worker that will not start.  key, when not NULL,
 * holds SPOOL_KEY_LEN bytes (copied): records are then sealed with
 * AES-256-GCM, and sealed records that do not open with it are damaged:
 * skipped and reported, and copied aside into a *.unopened file (a spool
 * file: renamed to *.spool, it replays under the right key).  Plain
 * records, written before a key was set, still replay with one.  warn()
 * receives one-line reports of damaged records, refused files and I/O
 * failures (from any thread that calls in); it may be NULL.  Never
 * returns NULL (aborts on out of memory at start-up).
 */
struct spool *spool_new(const char *dir, const char *instance,
    const unsigned char *key, void (*warn)(const char *msg));
void spool_free(struct spool *sp);

/*
 * Append n records with one write and one fdatasync.  Returns 0 only once
 * every record is on stable storage; -1 (errno set) when they are not, and
 * then none of them stays in the file (ENOSPC on a full disk).  Safe with
 * many processes and threads appending to the same directory.  A record
 * whose body is larger than ZE_MAX_BODY_BYTES is refused (EFBIG), and with
 * it the batch, before anything is written; request ids and signature
 * headers are cut to their limits.  n == 0 is a no-op.
 */
int spool_append(struct spool *sp, const struct spool_record *recs, size_t n);

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
 * offered again, so fn must be idempotent.  0 (also when dir does not
 * exist), or -1 on an I/O error, a refused file (reported; the other files
 * are drained) or a directory that fails spool_check_dir().
 */
int spool_drain(struct spool *sp, spool_fn fn, void *arg, int max_records,
    int budget_ms, struct spool_drain_result *res);

/* What waits in the spool (a header walk, no checksums; a record being
 * appended meanwhile may or may not count). */
struct spool_status {
	long long pending;      /* records */
	long long oldest_ms;    /* received_ms of the oldest, 0 when none */
};

/* Fill *st; 0 (nothing when dir does not exist), or -1 when the spool
 * cannot be read or holds a file it refuses. */
int spool_status(struct spool *sp, struct spool_status *st);

/* True when the spool directory holds anything to drain (cheap). */
bool spool_has_pending(struct spool *sp);

#endif /* SPOOL_H */
