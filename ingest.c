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
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "signature.h"
#include "spool.h"
#include "store.h"

void
delivery_normalize(struct delivery *d)
{
	d->result = normalize_event(d->body, d->len, &d->ev, d->err,
	    sizeof(d->err));
}

/* The spool's one-line reports (torn records, I/O failures). */
static void
spool_warn(const char *msg)
{
	log_warnx("%s", msg);
}

void
ingest_init(struct ingest *in, const struct config *cfg)
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
ingest_slot(const struct ingest *in)
{
	return in->shard.slot;
}

int
ingest_connect(struct ingest *in)
{
	long long now;

	if (store_is_open(in->store))
		return 0;
	now = mono_ms();
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

/* How transaction() keeps a delivery. */
enum keep_as {
	KEEP_NORMALIZED,        /* as normalize classed it */
	KEEP_DEAD_LETTER        /* the database refused the event's values */
};

/* The dead letter of d, its reason and detail decided by how. */
static int
insert_dead_letter(struct ingest *in, const struct delivery *d,
    enum keep_as how, int *added)
{
	unsigned char sha[32];
	char detail[ZE_DETAIL_MAX + 1];
	struct dead_letter dl = {
		.reason = how == KEEP_DEAD_LETTER ? "db_refused"
		    : norm_strerror(d->result),
		.detail = detail,
		.event_name = d->ev.event_name,
		.request_id = d->request_id,
		.received_ms = d->received_ms,
		.body_sha256 = sha,
		.raw = d->body,
		.raw_len = d->len,
	};

	snprintf(detail, sizeof(detail), "%s", how == KEEP_DEAD_LETTER ?
	    store_errmsg(in->store) : d->err);
	if (sig_sha256(d->body, d->len, sha) != 0) {
		log_errorx("cannot hash a dead letter");
		return -1;
	}
	return store_insert_rejected(in->store, &dl, added);
}

/*
 * One transaction: the event (or its dead letter) and its counters.
 * Returns 0 once committed, with the outcome in *outcome.
 */
static int
transaction(struct ingest *in, const struct delivery *d, enum keep_as how,
    enum stats_outcome *outcome)
{
	enum norm_class class = norm_class(d->result);
	struct stats_counts delta;
	int added;

	if (class == NORM_CLASS_EVENT && how == KEEP_NORMALIZED) {
		if (store_insert_event(in->store, &d->ev, &added) != 0)
			goto fail;
		*outcome = added ? OUTCOME_INSERTED : OUTCOME_DUPLICATE;
	} else {
		if (insert_dead_letter(in, d, how, &added) != 0)
			goto fail;
		if (!added)
			*outcome = OUTCOME_DUPLICATE;
		else if (class == NORM_CLASS_IGNORED)
			*outcome = OUTCOME_IGNORED;
		else
			*outcome = OUTCOME_REJECTED;
	}
	stats_for_outcome(*outcome, d->replay, &delta);
	if (stats_add(in->store, &in->shard, &delta) != 0 ||
	    store_commit(in->store) != 0)
		goto fail;
	return 0;

fail:
	after_failure(in);
	return -1;
}

/* Try the database: 0 once stored, -1 when the delivery must go to the
 * spool (or be answered 503). */
static int
try_database(struct ingest *in, const struct delivery *d,
    struct ingest_result *res)
{
	enum keep_as how = KEEP_NORMALIZED;

	for (int tries = 0; tries < 3; tries++) {
		if (res->attempts > 0 &&
		    mono_ms() - d->started_ms > ZE_RETRY_BUDGET_MS)
			return -1;
		if (ingest_connect(in) != 0) {
			snprintf(res->error, sizeof(res->error), "%s",
			    store_errmsg(in->store));
			return -1;
		}
		res->attempts++;
		if (transaction(in, d, how, &res->outcome) == 0) {
			res->fate = FATE_STORED;
			in->cached_at = 0;
			return 0;
		}
		snprintf(res->error, sizeof(res->error), "%s",
		    store_errmsg(in->store));
		metrics_count(MC_DB_FAILURES);
		if (store_err_is_data(in->store) && how == KEEP_NORMALIZED &&
		    norm_class(d->result) == NORM_CLASS_EVENT) {
			/* The server refuses this event's values: retrying
			 * cannot help, so keep it as a dead letter. */
			log_warnx("database refused event=%s meeting_id=%s: %s",
			    d->ev.event_name, d->ev.meeting_id, res->error);
			how = KEEP_DEAD_LETTER;
			continue;
		}
		if (store_err_is_data(in->store)) {
			log_errorx("database refused a dead letter: %s",
			    res->error);
			return -1;
		}
		log_warnx("transaction failed (attempt %d): %s",
		    res->attempts, res->error);
		if (res->attempts >= 2)
			return -1;
	}
	return -1;
}

void
ingest_store(struct ingest *in, const struct delivery *d,
    struct ingest_result *res)
{
	memset(res, 0, sizeof(*res));
	if (try_database(in, d, res) == 0)
		return;
	res->fate = FATE_LOST;
	if (d->replay)
		return;
	if (spool_append(in->spool, d->received_ms, d->request_id, d->body,
	    d->len) == 0) {
		metrics_count(MC_SPOOLED);
		res->fate = FATE_SPOOLED;
		return;
	}
	log_warn("cannot spool a delivery (request_id=%s)", d->request_id);
	metrics_count(MC_SPOOL_FAILED);
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
	struct delivery d = {
		.body = rec->body,
		.len = rec->len,
		.received_ms = rec->received_ms,
		.started_ms = mono_ms(),
		.replay = true,
	};

	snprintf(d.request_id, sizeof(d.request_id), "%s", rec->request_id);
	delivery_normalize(&d);
	ingest_store(in, &d, &res);
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

long long
ingest_pending(struct ingest *in)
{
	return spool_pending(in->spool);
}

const struct health *
ingest_health(struct ingest *in)
{
	struct health *h = &in->cached;
	long long now = mono_ms();

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
	long long now = mono_ms();

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

void
ingest_check(struct ingest *in, struct ingest_check *out)
{
	memset(out, 0, sizeof(*out));
	if (store_open(in->store) != 0) {
		snprintf(out->error, sizeof(out->error), "%s",
		    store_errmsg(in->store));
		return;
	}
	out->connected = true;
	if (store_server_info(in->store, out->version, sizeof(out->version),
	    out->wsrep_state, sizeof(out->wsrep_state), out->node,
	    sizeof(out->node)) != 0)
		out->version[0] = '\0';
	out->schema_ok = store_check_schema(in->store, out->error,
	    sizeof(out->error)) == 0;
}

/* Move one dead letter if it normalizes now.  1 moved, 0 kept or missing,
 * -1 on a database error. */
static int
replay_rejected_one(struct ingest *in, long long id, char *buf, size_t size,
    struct replay_counts *out)
{
	struct stats_counts delta;
	struct zoom_event ev;
	char err[ZE_DETAIL_MAX + 1], reqid[ZE_REQUEST_ID_MAX + 1];
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
