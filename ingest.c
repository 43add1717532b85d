/*
 * ingest.c -- one authentic delivery to durable storage, and back out of
 * the spool.  Knows nothing of FastCGI or HTTP.
 *
 * The promise behind every 2xx: the delivery is either committed in the
 * database (the event or dead letter together with its counters, in one
 * transaction) or appended and fsynced to the local spool.  When neither
 * works the caller answers 503 and Zoom retries.
 */
#include "ingest.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "signature.h"

long long
ingest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ingest_init(struct ingest *in, const struct config *cfg,
    void (*spool_warn)(const char *msg))
{
	memset(in, 0, sizeof(*in));
	in->cfg = cfg;
	in->store = store_new(&cfg->db, cfg->db_timeout_s);
	in->spool = spool_new(cfg->spool_dir, cfg->instance,
	    (size_t)cfg->max_body_bytes, spool_warn);
	in->shard.instance = cfg->instance;
	in->shard.slot = (int)(getpid() % cfg->stats_slots);
}

void
ingest_release(struct ingest *in)
{
	store_free(in->store);
	spool_free(in->spool);
	in->store = NULL;
	in->spool = NULL;
}

int
ingest_connect(struct ingest *in)
{
	long long now;

	if (store_is_open(in->store))
		return 0;
	now = ingest_now_ms();
	if (now < in->db_retry_at)
		return -1;
	if (store_open(in->store) != 0) {
		in->db_retry_at = now + in->cfg->db_retry_ms;
		log_warnx("cannot connect to the database: %s",
		    store_errmsg(in->store));
		return -1;
	}
	metrics_count(MC_DB_CONNECTS);
	log_debug("connected to the database");
	return 0;
}

/* After a failed statement: drop a connection that cannot go on. */
static void
after_failure(struct ingest *in)
{
	store_rollback(in->store);
	if (store_err_is_connection(in->store))
		store_close(in->store);
}

/*
 * One transaction: the event (or its dead letter) and its counters.
 * dead forces a dead letter, with the database's refusal as the reason.
 * Returns 0 once committed.
 */
static int
transaction(struct ingest *in, enum norm_result r, const struct zoom_event *ev,
    const char *err, const char *request_id, long long received_ms,
    bool replay, bool dead, enum stats_outcome *outcome)
{
	enum norm_class class = norm_class(r);
	struct stats_counts delta;
	int added;

	if (class == NORM_CLASS_EVENT && !dead) {
		if (store_insert_event(in->store, ev, &added) != 0)
			goto fail;
		*outcome = added ? OUTCOME_INSERTED : OUTCOME_DUPLICATE;
	} else {
		unsigned char sha[32];
		struct dead_letter dl = {
			.reason = dead ? "db_refused" : norm_strerror(r),
			.detail = dead ? store_errmsg(in->store) : err,
			.event_name = ev->event_name,
			.request_id = request_id,
			.received_ms = received_ms,
			.body_sha256 = sha,
			.raw = ev->raw,
			.raw_len = ev->raw_len,
		};
		char detail[256];

		snprintf(detail, sizeof(detail), "%s", dl.detail);
		dl.detail = detail;
		if (sig_sha256(ev->raw, ev->raw_len, sha) != 0) {
			log_errorx("cannot hash a dead letter");
			return -1;
		}
		if (store_insert_rejected(in->store, &dl, &added) != 0)
			goto fail;
		if (!added)
			*outcome = OUTCOME_DUPLICATE;
		else if (class == NORM_CLASS_IGNORED)
			*outcome = OUTCOME_IGNORED;
		else
			*outcome = OUTCOME_REJECTED;
	}
	stats_for_outcome(*outcome, replay, &delta);
	if (stats_add(in->store, &in->shard, &delta) != 0 ||
	    store_commit(in->store) != 0)
		goto fail;
	return 0;

fail:
	after_failure(in);
	return -1;
}

void
ingest_store(struct ingest *in, enum norm_result r,
    const struct zoom_event *ev, const char *err, const char *request_id,
    long long received_ms, bool replay, long long started_ms,
    struct ingest_result *res)
{
	bool dead = false;

	memset(res, 0, sizeof(*res));
	for (int tries = 0; tries < 3; tries++) {
		if (res->attempts > 0 &&
		    ingest_now_ms() - started_ms > ZE_RETRY_BUDGET_MS)
			break;
		if (ingest_connect(in) != 0) {
			snprintf(res->error, sizeof(res->error), "%s",
			    store_errmsg(in->store));
			break;
		}
		res->attempts++;
		if (transaction(in, r, ev, err, request_id, received_ms,
		    replay, dead, &res->outcome) == 0) {
			res->fate = FATE_STORED;
			in->cached_at = 0;
			return;
		}
		snprintf(res->error, sizeof(res->error), "%s",
		    store_errmsg(in->store));
		metrics_count(MC_DB_FAILURES);
		if (store_err_is_data(in->store) && !dead &&
		    norm_class(r) == NORM_CLASS_EVENT) {
			/* The server refuses this event's values: retrying
			 * cannot help, so keep it as a dead letter. */
			log_warnx("database refused event=%s meeting_id=%s: %s",
			    ev->event_name, ev->meeting_id, res->error);
			dead = true;
			continue;
		}
		if (store_err_is_data(in->store)) {
			log_errorx("database refused a dead letter: %s",
			    res->error);
			res->fate = FATE_LOST;
			return;
		}
		log_warnx("transaction failed (attempt %d): %s",
		    res->attempts, res->error);
		if (res->attempts >= 2)
			break;
	}
	if (replay) {
		res->fate = FATE_LOST;
		return;
	}
	if (spool_append(in->spool, received_ms, request_id, ev->raw,
	    ev->raw_len) == 0) {
		metrics_count(MC_SPOOLED);
		res->fate = FATE_SPOOLED;
		return;
	}
	log_warn("cannot spool a delivery (request_id=%s)", request_id);
	metrics_count(MC_SPOOL_FAILED);
	res->fate = FATE_LOST;
}

void
ingest_count(struct ingest *in, enum stats_outcome o)
{
	struct stats_counts delta;

	if (ingest_connect(in) != 0)
		return;
	stats_for_outcome(o, false, &delta);
	if (stats_add(in->store, &in->shard, &delta) != 0 ||
	    store_commit(in->store) != 0) {
		log_warnx("cannot count %s: %s", stats_outcome_name(o),
		    store_errmsg(in->store));
		after_failure(in);
		return;
	}
	in->cached_at = 0;
}

/* spool_fn: store one spooled record; 0 once it is in the database. */
static int
replay_one(void *arg, const struct spool_record *rec)
{
	struct ingest *in = arg;
	struct ingest_result res;
	struct zoom_event ev;
	char err[256];
	enum norm_result r = normalize_event(rec->body, rec->len, &ev, err,
	    sizeof(err));

	ingest_store(in, r, &ev, err, rec->request_id, rec->received_ms, true,
	    ingest_now_ms(), &res);
	if (res.fate != FATE_STORED)
		return -1;
	log_debug("replayed request_id=%s outcome=%s", rec->request_id,
	    stats_outcome_name(res.outcome));
	return 0;
}

long long
ingest_drain(struct ingest *in, int max_records, int budget_ms)
{
	struct spool_drain_result res;

	if (!spool_has_pending(in->spool))
		return 0;
	if (ingest_connect(in) != 0)
		return -1;
	if (spool_drain(in->spool, replay_one, in, max_records, budget_ms,
	    &res) != 0)
		log_warnx("spool drain hit an I/O error");
	if (res.replayed > 0 || res.torn > 0)
		log_info("spool drained replayed=%lld torn=%lld stopped=%d",
		    res.replayed, res.torn, res.stopped);
	if (res.replayed > 0)
		in->cached_at = 0;
	return res.stopped ? -1 : res.replayed;
}

const struct health *
ingest_health(struct ingest *in)
{
	struct health *h = &in->cached;
	long long now = ingest_now_ms();

	if (in->cached_at != 0 && now - in->cached_at < in->cfg->stats_cache_ms) {
		h->age_ms = now - in->cached_at;
		return h;
	}
	memset(h, 0, sizeof(*h));
	if (ingest_connect(in) == 0) {
		/*
		 * The node's name and state first: a Galera node outside the
		 * Primary component (or still joining) answers SHOW but
		 * refuses the counters' SELECT with 1047, and health must
		 * still say which node it is and why it is not usable.
		 */
		if (store_server_info(in->store, h->db_version,
		    sizeof(h->db_version), h->wsrep_state,
		    sizeof(h->wsrep_state), h->db_node,
		    sizeof(h->db_node)) == 0 &&
		    stats_read(in->store, &h->counts) == 0) {
			h->db_up = true;
			h->counters_valid = true;
		} else {
			log_warnx("cannot read counters: %s",
			    store_errmsg(in->store));
			after_failure(in);
		}
	}
	h->spool_pending = spool_pending(in->spool);
	in->cached_at = now;
	return h;
}

static void
add_reason(void *arg, const char *reason, long long n)
{
	struct reason_counts *rc = arg;

	if (rc->n >= INGEST_MAX_REASONS)
		return;
	snprintf(rc->reason[rc->n], sizeof(rc->reason[0]), "%s", reason);
	rc->count[rc->n++] = n;
}

const struct reason_counts *
ingest_reasons(struct ingest *in)
{
	struct reason_counts *rc = &in->reasons;
	long long now = ingest_now_ms();

	if (in->reasons_at != 0 &&
	    now - in->reasons_at < in->cfg->stats_cache_ms)
		return rc;
	memset(rc, 0, sizeof(*rc));
	if (ingest_connect(in) == 0) {
		if (store_rejected_reasons(in->store, add_reason, rc) == 0) {
			rc->valid = true;
		} else {
			log_warnx("cannot count dead letters: %s",
			    store_errmsg(in->store));
			after_failure(in);
		}
	}
	in->reasons_at = now;
	return rc;
}

/* Move one dead letter if it normalizes now.  1 moved, 0 kept or missing,
 * -1 on a database error. */
static int
replay_rejected_one(struct ingest *in, long long id, char *buf, size_t size,
    struct replay_counts *out)
{
	struct stats_counts delta;
	struct zoom_event ev;
	char err[256], reqid[ZE_REQUEST_ID_MAX + 1];
	long long received_ms;
	size_t len;
	int added, found;
	enum norm_result r;

	found = store_rejected_get(in->store, id, buf, size, &len,
	    &received_ms, reqid, sizeof(reqid));
	if (found <= 0) {
		store_rollback(in->store);
		if (found == 0)
			out->missing++;
		return found;
	}
	r = normalize_event(buf, len, &ev, err, sizeof(err));
	if (norm_class(r) != NORM_CLASS_EVENT) {
		store_rollback(in->store);
		out->kept++;
		return 0;
	}
	if (store_insert_event(in->store, &ev, &added) != 0 ||
	    store_rejected_delete(in->store, id) != 0)
		goto fail;
	stats_for_outcome(added ? OUTCOME_INSERTED : OUTCOME_DUPLICATE, false,
	    &delta);
	delta.received = 0;     /* counted when it first arrived */
	if (stats_add(in->store, &in->shard, &delta) != 0 ||
	    store_commit(in->store) != 0)
		goto fail;
	out->moved++;
	log_info("dead letter moved id=%lld event=%s meeting_id=%s "
	    "outcome=%s", id, ev.event_name, ev.meeting_id,
	    added ? "inserted" : "duplicate");
	return 1;

fail:
	log_warnx("cannot move dead letter %lld: %s", id,
	    store_errmsg(in->store));
	after_failure(in);
	return -1;
}

int
ingest_replay_rejected(struct ingest *in, const long long *ids, int nids,
    char *buf, size_t size, struct replay_counts *out)
{
	long long batch[100], after = 0;
	int n;

	memset(out, 0, sizeof(*out));
	if (ingest_connect(in) != 0)
		return -1;
	for (int i = 0; i < nids; i++)
		if (replay_rejected_one(in, ids[i], buf, size, out) < 0)
			return -1;
	if (nids > 0)
		return 0;
	do {
		n = store_rejected_ids(in->store, after, batch, 100);
		store_rollback(in->store);
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			if (replay_rejected_one(in, batch[i], buf, size,
			    out) < 0)
				return -1;
			after = batch[i];
		}
	} while (n == 100);
	return 0;
}
