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

struct ingest;

/*
 * One delivery on its way in.  The caller fills the first block, then
 * calls delivery_normalize().  body is the caller's buffer and must
 * outlive the struct (ev.raw points into it).
 */
struct delivery {
	const char *body;               /* the raw bytes Zoom signed */
	size_t len;
	char request_id[ZE_REQUEST_ID_MAX + 1]; /* x-zm-request-id or local */
	long long received_ms;          /* wall clock, Unix ms */
	long long started_ms;           /* monotonic: the retry budget */
	bool replay;                    /* from the spool, not from Zoom */
	const char *label;              /* the verifying secret's, "" none */
	char sig_ts[ZE_SIG_TS_MAX + 1]; /* the signature headers as received, */
	char signature[ZE_SIGNATURE_MAX + 1]; /* kept with a spooled copy */
	long long sig_age_ms;           /* received - x-zm-request-timestamp */
	bool has_sig_age;
	int secret;                     /* index of the verifying secret, -1 */
	const char *stored;             /* what is kept of the body (events'
					 * raw, dead letters, spool): the body,
					 * or redacted; see ingest_protect() */
	size_t stored_len;
	bool name_protected;            /* ev's name is as stored already (a
					 * redacted spool record's) */
	const char *force_reason;       /* keep as dead letter with this
					 * reason (NULL: as normalize says) */
	enum norm_result result;        /* set by delivery_normalize() */
	struct zoom_event ev;
	char err[ZE_DETAIL_MAX + 1];     /* normalize's explanation */
};

/* Normalize d->body into d->result, d->ev and d->err; what is stored is
 * the body itself until ingest_protect() says otherwise. */
void delivery_normalize(struct delivery *d);

/*
 * Apply the PHI settings to a normalized delivery (README "PHI and
 * HIPAA"): store_raw decides what is kept of the body (d->stored: the
 * body, or the body redacted into buf[0..size), size at least twice
 * max_body_bytes; and the events' raw column: that, or nothing), and
 * participant_name whether the name is kept, replaced by a keyed
 * pseudonym (the same person gets the same token across visits) or
 * dropped.  Nothing else changes: ids, keys and dedupe stay as they were.
 */
void ingest_protect(const struct config *cfg, struct delivery *d, char *buf,
    size_t size);

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
	long long spool_oldest_ms;      /* received_ms of the oldest, 0 none */
	bool visits_valid;              /* the two below were read */
	long long visits_open;          /* zoom_visits with status open */
	long long visits_overdue;       /* of them, started more than
					 * visit_open_alert_s ago */
	char db_version[64];
	char db_node[64];               /* wsrep_node_name or hostname */
	char wsrep_state[32];           /* "" when not Galera */
	char db_tls[64];                /* the TLS cipher, "" when plain */
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
	char tls[64];                   /* the TLS cipher, "" when plain */
	bool schema_ok;
};

/*
 * A process's path to the database and the spool: one connection (the
 * design's one per worker process), shared by the process's threads
 * through a group commit (see ingest_store()).  cfg must outlive it.
 * Never returns NULL (aborts on out of memory at start-up); nothing is
 * connected yet.
 */
struct ingest *ingest_new(const struct config *cfg);
void ingest_free(struct ingest *in);

/* Connect now unless within the retry back-off.  0 when connected. */
int ingest_connect(struct ingest *in);

/* This process's counter row (for the start-up log line). */
int ingest_slot(const struct ingest *in);

/*
 * Store one normalized delivery: a meeting event into zoom_visit_events,
 * anything else into zoom_rejected_events, with its ledger row and its
 * counters, all in one transaction.  Safe from several threads: the
 * deliveries in flight commit together (group commit); a lone one commits
 * at once.  On a database fault the transaction is retried (on a fresh
 * connection) while less than ZE_RETRY_BUDGET_MS has passed since
 * d->started_ms; then, unless d is a replay, d is appended to the spool.
 */
void ingest_store(struct ingest *in, const struct delivery *d,
    struct ingest_result *res);

/* Count an outcome that stores no event (URL validation); best effort,
 * skipped while the database is down. */
void ingest_count(struct ingest *in, enum stats_outcome o);

/*
 * Replay the spool into the database when it is reachable and there is
 * something to replay.  Every record's signature is verified again (no
 * time window); one that does not verify becomes a dead letter.  Returns
 * the number of records replayed, or -1 when the database is down.
 */
long long ingest_drain(struct ingest *in, int max_records, int budget_ms);

/* Records waiting in this host's spool (-1 when it cannot be read) and
 * the oldest one's received_ms (0 when none). */
long long ingest_pending(struct ingest *in, long long *oldest_ms);

/* The health snapshot, refreshed when older than stats_cache_ms. */
void ingest_health(struct ingest *in, struct health *out);

/* Dead letters per reason, refreshed like the health snapshot. */
void ingest_reasons(struct ingest *in, struct reason_counts *out);

/* Connect, identify the server and check the schema, for check-config. */
void ingest_check(struct ingest *in, struct ingest_check *out);

/* Is the spool directory fit to hold the spool (a real directory of
 * ours, not writable by group or others)?  A missing one passes (it is
 * created on first use) and is not created here.  0, or -1 with the
 * reason, naming the directory, in err. */
int ingest_check_spool(const struct config *cfg, char *err, size_t errlen);

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

/* A delivery ledger query ("zoom_events deliveries"). */
struct ledger_query {
	long long since_ms;             /* received at or after (Unix ms) */
	long long until_ms;             /* before; 0 = now */
	const char *request_id;         /* NULL: any */
	const char *meeting_id;         /* NULL: any */
	int limit;                      /* rows at most */
};

/* One ledger row as the query returns it. */
struct ledger_entry {
	long long id;
	long long received_ms;
	char request_id[ZE_REQUEST_ID_MAX + 1];
	char label[ZE_LABEL_MAX + 1];
	char event_name[ZE_EVENT_NAME_MAX + 1];
	char meeting_id[ZE_MEETING_ID_MAX + 1];
	char outcome[17];
	long long sig_age_ms;           /* -1 = NULL */
	long long lag_ms;               /* -1 = NULL */
	long long event_id;             /* 0 = NULL */
	long long rejected_id;          /* 0 = NULL */
};

/* Call fn for each ledger row matching q, oldest first (a non-zero return
 * stops).  The number of rows, or -1 when the database fails. */
int ingest_ledger(struct ingest *in, const struct ledger_query *q,
    int (*fn)(void *arg, const struct ledger_entry *e), void *arg);

/* ---- retention and the audit trail (ingest_purge.c) ---- */

/* Who runs a command, for the audit trail. */
struct audit_who {
	const char *command;            /* "purge", "drain", ... */
	const char *os_user;
	const char *os_host;
};

/* Add a row to zoom_audit: who did what, to which range, how many rows.
 * 0 or -1. */
int ingest_audit(struct ingest *in, const struct audit_who *who,
    const char *detail, long long rows);

/* What one table's purge found or removed. */
struct purge_result {
	const char *table;
	long long rows;                 /* removed, or found on a dry run */
	long long first_id, last_id;    /* the id range looked at */
	long long cutoff_ms;            /* rows older than this */
	bool skipped;                   /* no retention set for it */
};

#define PURGE_TABLES 4  /* events, dead letters, ledger, visits */

/*
 * Delete what is older than the retention (older_than_days > 0 overrides
 * every table's setting; a table with none set is skipped): events by
 * created_at, dead letters and ledger rows by received_at, and the visit
 * facts of visits whose every event is older.  In batches of primary key
 * range, one short transaction each, so that no lock is held long, Galera
 * write-sets stay small, ingest goes on, and two hosts may run it at
 * once.  With dry_run, only count.  Counters are not touched.  Each table
 * that lost rows gets an audit row.  0, or -1 when the database fails.
 */
int ingest_purge(struct ingest *in, const struct audit_who *who,
    int older_than_days, bool dry_run, struct purge_result out[PURGE_TABLES]);

/* One audit row as "zoom_events audit" lists it. */
struct audit_entry {
	long long id;
	long long at_ms;
	char command[65];
	char os_user[65];
	char os_host[256];
	char db_user[256];
	char detail[1025];
	long long rows;
};

/* Call fn for each audit row at or after since_ms, oldest first.  The
 * number of rows, or -1 when the database fails. */
int ingest_audit_list(struct ingest *in, long long since_ms, int limit,
    int (*fn)(void *arg, const struct audit_entry *e), void *arg);

/* ---- visit facts (ingest_visits.c) ---- */

struct visits_refresh_result {
	bool full;              /* every visit, not only the touched ones */
	long long visits;       /* visits recomputed */
	long long sessions;     /* session rows written */
	long long events;       /* event rows read */
};

/*
 * Recompute zoom_visits and zoom_participant_sessions for the visits that
 * got events since the last refresh (or every visit when full, or when no
 * refresh ever ran), and for open visits that have been quiet longer than
 * visit_quiet_s (they become ended_inferred).  Times are the events' own;
 * now is the wall clock.  0, or -1 when the database fails.
 */
int ingest_visits_refresh(struct ingest *in, bool full,
    struct visits_refresh_result *out);

/* A visit report query. */
struct visit_query {
	long long since_ms;             /* started at or after; 0 = any */
	long long until_ms;             /* started before; 0 = any */
	long long open_longer_than_ms;  /* > 0: only visits still open that
					 * started more than this long ago */
	int limit;                      /* 0 = no limit */
};

/* One zoom_visits row; a NULL column is VISIT_NULL. */
#define VISIT_NULL (-1LL - 0x7fffffffffffffffLL)
struct visit_row {
	char visit_uuid[ZE_VISIT_UUID_MAX + 1];
	char meeting_id[ZE_MEETING_ID_MAX + 1];
	char status[17];
	long long started_ms, ended_ms, duration_s, participants;
	long long host_first_join_ms, first_patient_join_ms;
	long long patient_wait_for_host_s, waiting_room_wait_s;
	long long face_to_face_s, rejoins, drops, interpreter_requested;
	long long max_latency_ms, events;
};

/* Call fn for each visit matching q, by started_ms.  The number of rows,
 * or -1 when the database fails. */
int ingest_visits(struct ingest *in, const struct visit_query *q,
    int (*fn)(void *arg, const struct visit_row *v), void *arg);

#endif /* INGEST_H */
