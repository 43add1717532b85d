/*
 * zoom_limits.h -- every size and time limit of zoom_events, each with its
 * reason.  Each one can be overridden at build time (-DZE_...=N) so that the
 * tests can shrink it, the way sqliteLimit.h does.
 */
#ifndef ZOOM_LIMITS_H
#define ZOOM_LIMITS_H

/*
 * Largest request body accepted by default (max_body_bytes).  Zoom's meeting
 * webhooks are a few kilobytes; 256 KiB leaves room for the largest
 * participant lists while keeping the one per-worker body buffer small.
 * The nginx snippet's client_max_body_size must match.
 */
#ifndef ZE_DEFAULT_MAX_BODY_BYTES
#define ZE_DEFAULT_MAX_BODY_BYTES (256 * 1024)
#endif

/* Hard bounds for max_body_bytes: below 1 KiB no real event fits; 16 MiB is
 * the MEDIUMBLOB limit of the dead-letter table. */
#ifndef ZE_MIN_BODY_BYTES
#define ZE_MIN_BODY_BYTES 1024
#endif
#ifndef ZE_MAX_BODY_BYTES
#define ZE_MAX_BODY_BYTES (16 * 1024 * 1024 - 1)
#endif

/*
 * Column widths of zoom_visit_events (sql/schema.sql), in characters.  An
 * over-long value is rejected, never truncated.  The id columns are ASCII,
 * the name is utf8mb4; the +1 in the buffers is for the NUL and, for the
 * name, the buffer holds the worst case of 4 bytes per character.
 */
#define ZE_MEETING_ID_MAX 255
#define ZE_VISIT_UUID_MAX 255
#define ZE_EVENT_NAME_MAX 100
#define ZE_PARTICIPANT_ID_MAX 255
#define ZE_PARTICIPANT_NAME_MAX 500 /* characters, up to 4 bytes each */
#define ZE_LEAVE_REASON_MAX 255     /* characters, up to 4 bytes each */

/*
 * Dead letters (zoom_rejected_events): the reason is a norm_strerror()
 * token in VARCHAR(64), the detail a one-line explanation in VARCHAR(255);
 * the request id is Zoom's x-zm-request-id, reduced to ZE_ID_CHARS, in
 * VARCHAR(128).  Longer details are cut (they are diagnostics, not data).
 */
#define ZE_REASON_MAX 64
#define ZE_DETAIL_MAX 255
#define ZE_REQUEST_ID_MAX 128

/*
 * Characters of names that end up in file names, counter rows and log
 * lines: the instance name (which must also start with a letter or digit,
 * so that no spool file is a dot file) and, with ':', request ids.
 */
#define ZE_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789._-"
#define ZE_ID_CHARS ZE_NAME_CHARS ":"

/* Zoom's plainToken is 22 base64url characters.  Anything longer than
 * this, or with another character, is refused and never signed: a
 * handler that signs any string is an HMAC oracle. */
#define ZE_PLAIN_TOKEN_MAX 128

/*
 * Secrets: a Zoom secret token is 22 characters.  Several Zoom accounts
 * (one per campus or sub-account) may post to one endpoint, each with its
 * own secret and each possibly mid-rotation, so the list holds 16.  Each
 * carries a label ([A-Za-z0-9_-], "default" when none is given).
 */
#define ZE_SECRET_MAX 256
#define ZE_MAX_SECRETS 16
#define ZE_LABEL_MAX 32

/* The signature headers as a spool record keeps them: Unix seconds (at
 * most 19 digits) and "v0=" + 64 hex digits. */
#define ZE_SIG_TS_MAX 19
#define ZE_SIGNATURE_MAX 67

/* Zoom's account ids, learned from verified deliveries so that a later
 * 401 from the same account can be attributed to its label. */
#define ZE_ACCOUNT_ID_MAX 64

/*
 * Signature replay window (signature_max_age_s, signature_max_future_s).
 * Zoom retries a delivery after a 5xx or timeout about 5, 25 and 85
 * minutes later, and does not say whether a retry carries a fresh
 * x-zm-request-timestamp.  If it keeps the original one, a window of
 * minutes turns every retry into a 401, which Zoom never retries: the
 * event is lost for good.  So the past bound covers the whole schedule
 * plus clock skew (2 hours); a replayed capture is then at worst a counted
 * duplicate, since the business key dedupes it.  The future bound stays
 * small: nothing legitimate is signed in the future.
 */
#define ZE_DEFAULT_SIG_MAX_AGE_S 7200
#define ZE_DEFAULT_SIG_MAX_FUTURE_S 300

/*
 * Database timeouts.  Zoom gives up on a delivery after 3 s, so a connect,
 * read or write must fail fast enough to leave time for one retry on a
 * fresh connection and a spool append.
 */
#define ZE_DEFAULT_DB_TIMEOUT_S 1
/* Only retry a failed transaction when it failed within this much of the
 * request's time (a dead connection, a deadlock or a Galera certification
 * failure); otherwise go straight to the spool.  Less than the default
 * db_timeout_s: an attempt that timed out met a stalled server (a Galera
 * view change stalls every node for up to evs.suspect_timeout), and a
 * second wait would push the answer past nginx's and Zoom's limits. */
#define ZE_RETRY_BUDGET_MS 500
/* After a failed connect, let requests skip the database for this long and
 * spool directly, instead of paying the connect timeout on each. */
#define ZE_DEFAULT_DB_RETRY_MS 500

/* Health counters are cached per worker for this long (stats_cache_ms) so
 * that monitoring cannot hammer the database. */
#define ZE_DEFAULT_STATS_CACHE_MS 1000

/* The counters table is sharded: a worker updates the row (instance, pid %
 * slots), so concurrent workers rarely touch the same row. */
#define ZE_DEFAULT_STATS_SLOTS 64
#define ZE_INSTANCE_MAX 64

/*
 * Worker processes: -F takes 1 to ZE_MAX_WORKERS.  The host-wide metrics
 * file has a slot per live process, so it holds twice that: room for the
 * commands, CGI requests and a second pool (spawn-fcgi) on the same spool
 * directory, and for the slots of dead workers until their pids are seen
 * gone.
 */
#define ZE_MAX_WORKERS 256
#define ZE_METRICS_SLOTS (2 * ZE_MAX_WORKERS)

/*
 * Group commit: a worker process's threads commit the deliveries in flight
 * together, up to batch_max per transaction (1 = one transaction per
 * event, the 1.0 behaviour).  ZE_MAX_BATCH bounds the setting and sizes
 * the leader's arrays.
 */
#define ZE_MAX_BATCH 128
#define ZE_DEFAULT_BATCH_MAX 64

/* Request threads per worker process (threads): each serves one request
 * at a time, and their deliveries meet in the group commit. */
#define ZE_MAX_THREADS 64
#define ZE_DEFAULT_THREADS 8

/*
 * Visits (zoom_visits): Zoom sometimes never sends meeting.ended, so a
 * visit whose latest event is older than visit_quiet_s is ended by
 * inference.  A telehealth visit can run an hour without a join or leave,
 * so the default is hours, not minutes.  Open visits that started more
 * than visit_open_alert_s ago are counted for the watchdog's alert.
 */
#define ZE_DEFAULT_VISIT_QUIET_S (3 * 3600)
#define ZE_DEFAULT_VISIT_OPEN_ALERT_S (4 * 3600)
/* A refresh looks again at events stored this long before its previous
 * start: a transaction may commit after the scan that could not see it. */
#define ZE_VISITS_RESCAN_S 120
/* Visits per refresh transaction: small write-sets (Galera). */
#define ZE_VISITS_CHUNK 64

/* A drain pass replays at most this many spool records and stops after
 * this long, so a worker returns to accept() quickly. */
#define ZE_DRAIN_BATCH 500
#define ZE_DRAIN_BUDGET_MS 2000

#endif /* ZOOM_LIMITS_H */
