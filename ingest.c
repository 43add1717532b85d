/*
 * ingest.c -- one authentic delivery to durable storage, and back out of
 * the spool.  Knows nothing of FastCGI or HTTP.
 *
 * The promise behind every 2xx: the delivery is either committed in the
 * database (the event or dead letter, its ledger row and its counters, in
 * one transaction) or appended and fsynced to the local spool.  When
 * neither works the caller answers 503 and Zoom retries.
 *
 * Group commit: a process's threads share its one connection.  A thread
 * with a delivery queues it; the first to find no leader becomes the
 * leader, takes everything queued (up to batch_max), commits it in one
 * transaction and wakes the others, as InnoDB's own group commit does.  A
 * lone delivery commits at once: no thread ever waits for company.  Each
 * delivery keeps its own outcome (inserted, duplicate, dead letter), and
 * one row the database refuses cannot fail its neighbours: it is turned
 * into a dead letter and the batch runs again.
 */
#include "ingest.h"
#include "ingest_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "signature.h"

void
delivery_normalize(struct delivery *d)
{
	d->result = normalize_event(d->body, d->len, &d->ev, d->err,
	    sizeof(d->err));
	d->stored = d->body;
	d->stored_len = d->len;
}

/* The pseudonym of a name: "pn:" and the first 32 hex digits of its
 * HMAC-SHA256 keyed with pseudonym_key.  Withheld ("") stays "". */
static void
pseudonymise(const struct config *cfg, struct zoom_event *ev)
{
	char hex[SIG_HEX_LEN + 1];

	if (ev->participant_name[0] == '\0')
		return;
	if (sig_hmac_hex(cfg->pseudonym_key, ev->participant_name,
	    strlen(ev->participant_name), hex) != 0) {
		/* Never keep the name because the pseudonym failed. */
		ev->has_participant_name = false;
		ev->participant_name[0] = '\0';
		return;
	}
	snprintf(ev->participant_name, sizeof(ev->participant_name),
	    "pn:%.32s", hex);
}

void
ingest_protect(const struct config *cfg, struct delivery *d, char *buf,
    size_t size)
{
	enum raw_policy raw = config_raw_policy(cfg);

	switch (config_name_policy(cfg)) {
	case NAME_KEEP:
		break;
	case NAME_PSEUDONYMISE:
		if (!d->name_protected)
			pseudonymise(cfg, &d->ev);
		break;
	case NAME_DROP:
		d->ev.has_participant_name = false;
		d->ev.participant_name[0] = '\0';
		break;
	}
	if (raw == RAW_FULL)
		return;
	/* A body that is not JSON cannot be redacted: nothing of it is
	 * kept (its SHA-256 still dedupes the dead letter). */
	if (normalize_redact(d->body, d->len, buf, size, &d->stored_len) == 0) {
		d->stored = buf;
	} else {
		d->stored = "";
		d->stored_len = 0;
	}
	d->ev.raw = raw == RAW_REDACTED ? d->stored : "";
	d->ev.raw_len = raw == RAW_REDACTED ? d->stored_len : 0;
}

/* The spool's one-line reports (torn records, I/O failures). */
static void
spool_warn(const char *msg)
{
	log_warnx("%s", msg);
}

struct ingest *
ingest_new(const struct config *cfg)
{
	struct ingest *in = calloc(1, sizeof(*in));

	if (in == NULL)
		fatalx("out of memory");
	in->cfg = cfg;
	in->store = store_new(&cfg->db, cfg->db_timeout_s);
	in->spool = spool_new(cfg->spool_dir, cfg->instance,
	    cfg->has_spool_key ? cfg->spool_key : NULL, spool_warn);
	in->shard.instance = cfg->instance;
	in->shard.slot = (int)(getpid() % cfg->stats_slots);
	in->replay_size = 2 * (size_t)cfg->max_body_bytes + 1;
	pthread_mutex_init(&in->db_mu, NULL);
	pthread_mutex_init(&in->gc_mu, NULL);
	pthread_cond_init(&in->gc_cv, NULL);
	return in;
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	store_free(in->store);
	spool_free(in->spool);
	free(in->replay_buf);
	pthread_mutex_destroy(&in->db_mu);
	pthread_mutex_destroy(&in->gc_mu);
	pthread_cond_destroy(&in->gc_cv);
	free(in);
}

int
ingest_slot(const struct ingest *in)
{
	return in->shard.slot;
}

int
ingest_connect_locked(struct ingest *in)
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

int
ingest_connect(struct ingest *in)
{
	int rc;

	pthread_mutex_lock(&in->db_mu);
	rc = ingest_connect_locked(in);
	pthread_mutex_unlock(&in->db_mu);
	return rc;
}

void
ingest_after_failure(struct ingest *in)
{
	store_rollback(in->store);
	if (store_err_is_connection(in->store))
		store_close(in->store);
}

/* ---- one batch, one transaction ---- */

/* How a delivery is kept; each refusal of the database moves it one step
 * further down, until it is stored or given up (answered 503). */
enum keep_as {
	KEEP_NORMALIZED,        /* as normalize classed it */
	KEEP_DB_REFUSED,        /* the event's values were refused: a dead
				 * letter saying why */
	KEEP_MINIMAL,           /* even that was refused: a dead letter with
				 * nothing but the body */
	KEEP_NOTHING            /* give up */
};

struct gc_item {
	const struct delivery *d;
	struct ingest_result *res;
	enum keep_as how;
	bool decided;           /* res->fate is final */
	bool done;              /* the owner may return (under gc_mu) */
	long long event_id, rejected_id;
	struct gc_item *next;
};

/* A detail the database will take: printable ASCII, cut to the column. */
static void
safe_detail(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src != '\0' && n + 1 < size; src++)
		dst[n++] = (*src >= 0x20 && *src < 0x7F) ? *src : '?';
	dst[n] = '\0';
}

static int
insert_dead_letter(struct ingest *in, struct gc_item *it, int *added)
{
	const struct delivery *d = it->d;
	unsigned char sha[32];
	char detail[ZE_DETAIL_MAX + 1];
	struct dead_letter dl = {
		.reason = d->force_reason != NULL ? d->force_reason
		    : norm_strerror(d->result),
		.detail = detail,
		.event_name = d->ev.event_name,
		.request_id = d->request_id,
		.received_ms = d->received_ms,
		.body_sha256 = sha,
		.raw = d->stored,
		.raw_len = d->stored_len,
	};

	safe_detail(detail, sizeof(detail), d->err);
	if (it->how == KEEP_DB_REFUSED) {
		dl.reason = "db_refused";
		safe_detail(detail, sizeof(detail), store_errmsg(in->store));
	} else if (it->how == KEEP_MINIMAL) {
		dl.reason = "db_refused";
		dl.event_name = "";
		dl.detail = "";
	}
	if (sig_sha256(d->body, d->len, sha) != 0) {
		log_errorx("cannot hash a dead letter");
		return -1;
	}
	return store_insert_rejected(in->store, &dl, added, &it->rejected_id);
}

/* The row of one delivery; its outcome into it->res. */
static int
insert_one(struct ingest *in, struct gc_item *it)
{
	const struct delivery *d = it->d;
	enum norm_class class = norm_class(d->result);
	int added;

	it->event_id = it->rejected_id = 0;
	if (it->how == KEEP_NORMALIZED && d->force_reason == NULL &&
	    class == NORM_CLASS_EVENT) {
		if (store_insert_event(in->store, &d->ev, &added,
		    &it->event_id) != 0)
			return -1;
		it->res->outcome = added ? OUTCOME_INSERTED : OUTCOME_DUPLICATE;
		return 0;
	}
	if (insert_dead_letter(in, it, &added) != 0)
		return -1;
	if (!added)
		it->res->outcome = OUTCOME_DUPLICATE;
	else if (class == NORM_CLASS_IGNORED && it->how == KEEP_NORMALIZED &&
	    d->force_reason == NULL)
		it->res->outcome = OUTCOME_IGNORED;
	else
		it->res->outcome = OUTCOME_REJECTED;
	return 0;
}

/* The ledger's row for a stored delivery. */
static void
ledger_row_of(const struct gc_item *it, struct ledger_row *r)
{
	const struct delivery *d = it->d;

	memset(r, 0, sizeof(*r));
	r->received_ms = d->received_ms;
	r->request_id = d->request_id;
	r->label = d->label != NULL ? d->label : "";
	r->event_name = d->ev.event_name;
	r->meeting_id = d->ev.meeting_id;
	r->outcome = d->replay ? "replayed" :
	    stats_outcome_name(it->res->outcome);
	r->sig_age_ms = d->sig_age_ms;
	r->has_sig_age = d->has_sig_age;
	r->event_ts = d->ev.event_ts;
	r->has_lag = d->ev.event_ts > 0;
	r->lag_ms = d->received_ms - d->ev.event_ts;
	r->event_id = it->event_id;
	r->rejected_id = it->rejected_id;
}

/*
 * One transaction for items[0..n): each delivery's row, the ledger rows
 * and one counter update.  0 once committed; -1 otherwise, with the index
 * of the item whose row failed in *failed (-1 when the failure was not
 * one item's).
 */
static int
transaction(struct ingest *in, struct gc_item **items, size_t n, int *failed)
{
	struct ledger_row rows[ZE_MAX_BATCH];
	struct stats_counts sum, delta;

	memset(&sum, 0, sizeof(sum));
	*failed = -1;
	for (size_t i = 0; i < n; i++) {
		if (insert_one(in, items[i]) != 0) {
			*failed = (int)i;
			goto fail;
		}
		stats_for_outcome(items[i]->res->outcome, items[i]->d->replay,
		    &delta);
		stats_sum(&sum, &delta);
		ledger_row_of(items[i], &rows[i]);
	}
	if (store_insert_ledger(in->store, rows, n) != 0 ||
	    stats_add(in->store, &in->shard, &sum) != 0 ||
	    store_commit(in->store) != 0)
		goto fail;
	return 0;

fail:
	ingest_after_failure(in);
	return -1;
}

/* The items not decided yet, into out; how many. */
static size_t
undecided(struct gc_item **items, size_t n, struct gc_item **out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!items[i]->decided)
			out[k++] = items[i];
	return k;
}

static void
decide(struct gc_item *it, enum ingest_fate fate, int attempts,
    const char *error)
{
	it->res->fate = fate;
	it->res->attempts = attempts;
	if (error != NULL)
		snprintf(it->res->error, sizeof(it->res->error), "%s", error);
	it->decided = true;
}

/* The database refused items[i]'s values: keep it one step down. */
static void
refused(struct ingest *in, struct gc_item *it, int attempts)
{
	const struct delivery *d = it->d;

	if (it->how == KEEP_NORMALIZED && norm_class(d->result) ==
	    NORM_CLASS_EVENT && d->force_reason == NULL)
		it->how = KEEP_DB_REFUSED;
	else if (it->how < KEEP_MINIMAL)
		it->how = KEEP_MINIMAL;
	else
		it->how = KEEP_NOTHING;
	log_warnx("database refused event=%s meeting_id=%s request_id=%s "
	    "(kept as %s): %s", d->ev.event_name, d->ev.meeting_id,
	    d->request_id, it->how == KEEP_NOTHING ? "nothing" :
	    "dead letter", store_errmsg(in->store));
	if (it->how == KEEP_NOTHING)
		decide(it, FATE_LOST, attempts, store_errmsg(in->store));
}

/*
 * Commit items[0..n) (the caller holds db_mu): retried while the oldest
 * delivery's budget lasts and at most twice for faults of the database;
 * items the database refuses move down their keep_as steps.  Returns how
 * many are still undecided (they go to the spool).
 */
static size_t
try_database(struct ingest *in, struct gc_item **items, size_t n)
{
	struct gc_item *left[ZE_MAX_BATCH];
	long long started = items[0]->d->started_ms;
	int attempts = 0, failed;
	size_t k;

	for (size_t i = 1; i < n; i++)
		if (items[i]->d->started_ms < started)
			started = items[i]->d->started_ms;
	while ((k = undecided(items, n, left)) > 0) {
		if (attempts > 0 && mono_ms() - started > ZE_RETRY_BUDGET_MS)
			break;
		if (ingest_connect_locked(in) != 0)
			break;
		attempts++;
		if (transaction(in, left, k, &failed) == 0) {
			for (size_t i = 0; i < k; i++)
				decide(left[i], FATE_STORED, attempts, NULL);
			metrics_batch((int)k);
			in->cached_at = 0;
			return 0;
		}
		metrics_count(MC_DB_FAILURES);
		if (store_err_is_data(in->store) && failed >= 0) {
			refused(in, left[failed], attempts);
			attempts--;     /* not a fault of the database */
			continue;
		}
		log_warnx("transaction of %zu failed (attempt %d): %s", k,
		    attempts, store_errmsg(in->store));
		if (attempts >= 2)
			break;
	}
	for (size_t i = 0; i < k; i++)
		snprintf(left[i]->res->error, sizeof(left[i]->res->error),
		    "%s", store_errmsg(in->store));
	return k;
}

/*
 * The spool's own seal of a record whose body is not the one Zoom signed
 * (store_raw redacted or none): "zh=" and the HMAC-SHA256, keyed with the
 * secret that verified the delivery, of
 * "zs1:<received_ms>:<request_id>:<name bytes, or - without>:", the name
 * and the body as spooled.  The replay checks it as it checks Zoom's
 * signature, so that a record planted in the spool is not stored.
 */
static int
spool_mac(const char *secret, const struct spool_record *r,
    char out[ZE_SIGNATURE_MAX + 1])
{
	char head[ZE_REQUEST_ID_MAX + 64], hex[SIG_HEX_LEN + 1], nl[24] = "-";
	size_t name_len = r->name != NULL ? r->name_len : 0;
	char *msg;
	int hn, rc;

	if (r->name != NULL)
		snprintf(nl, sizeof(nl), "%zu", r->name_len);
	hn = snprintf(head, sizeof(head), "zs1:%lld:%s:%s:", r->received_ms,
	    r->request_id, nl);
	if (hn < 0 || (size_t)hn >= sizeof(head) ||
	    (msg = malloc((size_t)hn + name_len + r->len + 1)) == NULL)
		return -1;
	memcpy(msg, head, (size_t)hn);
	if (name_len > 0)
		memcpy(msg + hn, r->name, name_len);
	if (r->len > 0)
		memcpy(msg + hn + name_len, r->body, r->len);
	rc = sig_hmac_hex(secret, msg, (size_t)hn + name_len + r->len, hex);
	free(msg);
	if (rc == 0)
		snprintf(out, ZE_SIGNATURE_MAX + 1, "zh=%s", hex);
	return rc;
}

/* The spool record of a delivery: what is stored of it, with Zoom's
 * signature headers when that is the body Zoom signed, else our seal. */
static void
spool_record_of(const struct ingest *in, const struct delivery *d,
    struct spool_record *r)
{
	memset(r, 0, sizeof(*r));
	r->received_ms = d->received_ms;
	snprintf(r->request_id, sizeof(r->request_id), "%s", d->request_id);
	r->body = d->stored;
	r->len = d->stored_len;
	if (d->stored == d->body) {
		snprintf(r->sig_ts, sizeof(r->sig_ts), "%s", d->sig_ts);
		snprintf(r->signature, sizeof(r->signature), "%s",
		    d->signature);
		return;
	}
	/* Redacted: the name no longer in the body travels beside it. */
	if (d->ev.has_participant_name) {
		r->name = d->ev.participant_name;
		r->name_len = strlen(d->ev.participant_name);
	}
	if (d->secret >= 0 && spool_mac(in->cfg->secrets[d->secret], r,
	    r->signature) != 0)
		r->signature[0] = '\0';
}

/* What the database did not take: fresh deliveries to the spool, with one
 * fsync for all of them; replays stay where they are (the spool). */
static void
to_spool(struct ingest *in, struct gc_item **items, size_t n)
{
	struct spool_record recs[ZE_MAX_BATCH];
	struct gc_item *fresh[ZE_MAX_BATCH];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (items[i]->decided)
			continue;
		if (items[i]->d->replay) {
			decide(items[i], FATE_LOST, items[i]->res->attempts,
			    NULL);
			continue;
		}
		spool_record_of(in, items[i]->d, &recs[k]);
		fresh[k++] = items[i];
	}
	if (k == 0)
		return;
	if (spool_append(in->spool, recs, k) == 0) {
		for (size_t i = 0; i < k; i++) {
			metrics_count(MC_SPOOLED);
			decide(fresh[i], FATE_SPOOLED, fresh[i]->res->attempts,
			    NULL);
		}
		return;
	}
	log_warn("cannot spool %zu deliveries (first request_id=%s)", k,
	    fresh[0]->d->request_id);
	for (size_t i = 0; i < k; i++) {
		metrics_count(MC_SPOOL_FAILED);
		decide(fresh[i], FATE_LOST, fresh[i]->res->attempts, NULL);
	}
}

static void
commit_batch(struct ingest *in, struct gc_item **items, size_t n)
{
	pthread_mutex_lock(&in->db_mu);
	if (try_database(in, items, n) > 0)
		to_spool(in, items, n);
	pthread_mutex_unlock(&in->db_mu);
}

/* ---- the group commit queue ---- */

/* Up to max queued items into batch, oldest first; how many. */
static size_t
take(struct ingest *in, struct gc_item **batch, size_t max)
{
	size_t n = 0;

	while (in->gc_head != NULL && n < max) {
		batch[n++] = in->gc_head;
		in->gc_head = in->gc_head->next;
	}
	if (in->gc_head == NULL)
		in->gc_tail = NULL;
	return n;
}

void
ingest_store(struct ingest *in, const struct delivery *d,
    struct ingest_result *res)
{
	struct gc_item me = { .d = d, .res = res };
	size_t max = (size_t)in->cfg->batch_max;

	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&in->gc_mu);
	/* The queue holds our item, on our stack, until a leader has marked
	 * it done: we only return after that. */
	if (in->gc_tail != NULL)
		in->gc_tail->next = &me;
	else
		in->gc_head = &me;      /* cppcheck-suppress autoVariables */
	in->gc_tail = &me;              /* cppcheck-suppress autoVariables */
	while (!me.done) {
		struct gc_item *batch[ZE_MAX_BATCH];
		size_t n;

		if (in->gc_leader) {
			pthread_cond_wait(&in->gc_cv, &in->gc_mu);
			continue;
		}
		in->gc_leader = true;
		n = take(in, batch, max);
		pthread_mutex_unlock(&in->gc_mu);
		/* Our own item is still queued (a leader marks its items done
		 * before letting go), so n >= 1. */
		if (n > 0)
			commit_batch(in, batch, n);
		pthread_mutex_lock(&in->gc_mu);
		for (size_t i = 0; i < n; i++)
			batch[i]->done = true;
		in->gc_leader = false;
		pthread_cond_broadcast(&in->gc_cv);
	}
	pthread_mutex_unlock(&in->gc_mu);
}

/* ---- the spool's replay ---- */

/* Two hex strings equal, in time that does not depend on where they
 * differ. */
static bool
same_hex(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t n = strlen(a);

	if (n != strlen(b))
		return false;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* Does the record carry our seal, made with one of the secrets?  Every
 * secret is tried. */
static bool
spool_mac_matches(const struct config *cfg, const struct spool_record *rec,
    size_t *matched)
{
	char want[ZE_SIGNATURE_MAX + 1];
	bool found = false;

	for (size_t i = 0; i < cfg->nsecrets; i++) {
		if (spool_mac(cfg->secrets[i], rec, want) != 0)
			continue;
		if (same_hex(want, rec->signature) && !found) {
			*matched = i;
			found = true;
		}
	}
	return found;
}

/*
 * Verify a spooled record again, with no time window: a record planted in
 * the spool does not carry Zoom's signature.  Records of zoom_events 1.0
 * (legacy, no headers kept) and those of a service running without a
 * secret (allow_unsigned) are taken as they are.
 */
static void
verify_record(const struct ingest *in, const struct spool_record *rec,
    struct delivery *d)
{
	const struct config *cfg = in->cfg;
	size_t matched = 0;
	long long ts;

	d->label = "";
	if (cfg->nsecrets == 0 && cfg->allow_unsigned)
		return;
	if (rec->legacy) {
		/* zoom_events 1.0 kept no signature: nothing vouches for the
		 * record, and anyone who can write the spool can write this
		 * format.  Kept as a dead letter: replay-rejected ID moves
		 * the ones a 1.0 spool really held. */
	} else if (strncmp(rec->signature, "zh=", 3) == 0) {
		if (spool_mac_matches(cfg, rec, &matched)) {
			d->label = cfg->labels[matched];
			return;
		}
	} else if (sig_verify(cfg->secrets, cfg->nsecrets, rec->sig_ts,
	    rec->signature, rec->body, rec->len, NULL, &matched, &ts) ==
	    SIG_OK) {
		d->label = cfg->labels[matched];
		d->sig_age_ms = d->received_ms - ts * 1000;
		d->has_sig_age = true;
		return;
	}
	d->force_reason = "spool_unverified";
	log_warnx("spooled request_id=%s does not verify: kept as a dead "
	    "letter", rec->request_id);
}

/* ingest_int.h */
int
ingest_replay_room(struct ingest *in, size_t need)
{
	char *p;

	if (in->replay_buf != NULL && in->replay_size >= need)
		return 0;
	if (need < in->replay_size)
		need = in->replay_size;
	if ((p = realloc(in->replay_buf, need)) == NULL)
		return -1;
	in->replay_buf = p;
	in->replay_size = need;
	return 0;
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
		.secret = -1,
	};

	snprintf(d.request_id, sizeof(d.request_id), "%s", rec->request_id);
	snprintf(d.sig_ts, sizeof(d.sig_ts), "%s", rec->sig_ts);
	snprintf(d.signature, sizeof(d.signature), "%s", rec->signature);
	delivery_normalize(&d);
	verify_record(in, rec, &d);
	if (rec->name != NULL && rec->name_len < sizeof(d.ev.participant_name)) {
		memcpy(d.ev.participant_name, rec->name, rec->name_len);
		d.ev.participant_name[rec->name_len] = '\0';
		d.ev.has_participant_name = true;
		d.name_protected = true;
	}
	if (config_raw_policy(in->cfg) != RAW_FULL &&
	    ingest_replay_room(in, 2 * rec->len + 1) != 0)
		return -1;
	ingest_protect(in->cfg, &d, in->replay_buf, in->replay_size);
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
	return res.stopped ? -1 : res.replayed;
}

long long
ingest_pending(struct ingest *in, long long *oldest_ms)
{
	struct spool_status st;

	if (spool_status(in->spool, &st) != 0) {
		if (oldest_ms != NULL)
			*oldest_ms = 0;
		return -1;
	}
	if (oldest_ms != NULL)
		*oldest_ms = st.oldest_ms;
	return st.pending;
}
