/*
 * ingest_ops.c -- the database work around the delivery path: the health
 * snapshot, dead letters per reason, check-config's checks, counting URL
 * validations, moving dead letters (replay-rejected) and reading the
 * delivery ledger.  Everything here runs under db_mu, the same lock the
 * group commit's leader holds, so a process's threads never share the
 * connection at once.  Knows nothing of FastCGI or HTTP.
 */
#include "ingest.h"
#include "ingest_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "log.h"
#include "signature.h"

void
ingest_count(struct ingest *in, enum stats_outcome o)
{
	struct stats_counts delta;

	pthread_mutex_lock(&in->db_mu);
	if (ingest_connect_locked(in) != 0)
		goto out_unlock;
	stats_for_outcome(o, false, &delta);
	if (stats_add(in->store, &in->shard, &delta) != 0 ||
	    store_commit(in->store) != 0) {
		log_warnx("cannot count %s: %s", stats_outcome_name(o),
		    store_errmsg(in->store));
		ingest_after_failure(in);
		goto out_unlock;
	}
	in->cached_at = 0;
out_unlock:
	pthread_mutex_unlock(&in->db_mu);
}

/* Refresh the cached snapshot from the database (under db_mu). */
static void
refresh_health(struct ingest *in, long long now)
{
	struct health *h = &in->cached;

	memset(h, 0, sizeof(*h));
	if (ingest_connect_locked(in) == 0) {
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
			snprintf(h->db_tls, sizeof(h->db_tls), "%s",
			    store_tls_cipher(in->store));
			h->visits_valid = ingest_open_visits_locked(in,
			    &h->visits_open, &h->visits_overdue) == 0;
		} else {
			log_warnx("cannot read counters: %s",
			    store_errmsg(in->store));
			ingest_after_failure(in);
		}
	}
	h->spool_pending = ingest_pending(in, &h->spool_oldest_ms);
	in->cached_at = now;
}

void
ingest_health(struct ingest *in, struct health *out)
{
	long long now = mono_ms();

	pthread_mutex_lock(&in->db_mu);
	if (in->cached_at == 0 || now - in->cached_at >=
	    in->cfg->stats_cache_ms)
		refresh_health(in, now);
	*out = in->cached;
	out->age_ms = now - in->cached_at;
	pthread_mutex_unlock(&in->db_mu);
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

void
ingest_reasons(struct ingest *in, struct reason_counts *out)
{
	struct reason_counts *rc = &in->reasons;
	long long now = mono_ms();

	pthread_mutex_lock(&in->db_mu);
	if (in->reasons_at != 0 &&
	    now - in->reasons_at < in->cfg->stats_cache_ms)
		goto out_copy;
	memset(rc, 0, sizeof(*rc));
	if (ingest_connect_locked(in) == 0) {
		if (store_rejected_reasons(in->store, add_reason, rc) == 0) {
			rc->valid = true;
		} else {
			log_warnx("cannot count dead letters: %s",
			    store_errmsg(in->store));
			ingest_after_failure(in);
		}
	}
	in->reasons_at = now;
out_copy:
	*out = *rc;
	pthread_mutex_unlock(&in->db_mu);
}

void
ingest_check(struct ingest *in, struct ingest_check *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&in->db_mu);
	if (store_open(in->store) != 0) {
		snprintf(out->error, sizeof(out->error), "%s",
		    store_errmsg(in->store));
		pthread_mutex_unlock(&in->db_mu);
		return;
	}
	out->connected = true;
	snprintf(out->tls, sizeof(out->tls), "%s", store_tls_cipher(in->store));
	if (store_server_info(in->store, out->version, sizeof(out->version),
	    out->wsrep_state, sizeof(out->wsrep_state), out->node,
	    sizeof(out->node)) != 0)
		out->version[0] = '\0';
	out->schema_ok = store_check_schema(in->store, out->error,
	    sizeof(out->error)) == 0;
	pthread_mutex_unlock(&in->db_mu);
}

int
ingest_check_spool(const struct config *cfg, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(cfg->spool_dir, &st) != 0 && errno == ENOENT)
		return 0;
	return spool_check_dir(cfg->spool_dir, err, errlen);
}

/* Move one dead letter if it normalizes now.  1 moved, 0 kept or missing,
 * -1 on a database error. */
static int
replay_rejected_one(struct ingest *in, long long id, char *buf, size_t size,
    struct replay_counts *out)
{
	struct stats_counts delta;
	struct delivery d;
	long long event_id;
	int added, found;

	memset(&d, 0, sizeof(d));
	found = store_rejected_get(in->store, id, buf, size, &d.len,
	    &d.received_ms, d.request_id, sizeof(d.request_id));
	if (found <= 0) {
		store_rollback(in->store);
		if (found == 0)
			out->missing++;
		return found;
	}
	d.body = buf;
	delivery_normalize(&d);
	if (norm_class(d.result) != NORM_CLASS_EVENT) {
		store_rollback(in->store);
		out->kept++;
		return 0;
	}
	/* The PHI settings, as for a delivery that normalized at once. */
	if (config_raw_policy(in->cfg) != RAW_FULL &&
	    ingest_replay_room(in, 2 * d.len + 1) != 0) {
		store_rollback(in->store);
		log_warnx("cannot move dead letter %lld: out of memory", id);
		return -1;
	}
	ingest_protect(in->cfg, &d, in->replay_buf, in->replay_size);
	if (store_insert_event(in->store, &d.ev, &added, &event_id) != 0 ||
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
	    "outcome=%s", id, d.ev.event_name, d.ev.meeting_id,
	    added ? "inserted" : "duplicate");
	return 1;

fail:
	log_warnx("cannot move dead letter %lld: %s", id,
	    store_errmsg(in->store));
	ingest_after_failure(in);
	return -1;
}

/* Every dead letter, 100 ids at a time. */
static int
replay_all_rejected(struct ingest *in, char *buf, size_t size,
    struct replay_counts *out)
{
	long long batch[100], after = 0;
	int n;

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

int
ingest_replay_rejected(struct ingest *in, const long long *ids, int nids,
    char *buf, size_t size, struct replay_counts *out)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&in->db_mu);
	if (ingest_connect_locked(in) != 0) {
		rc = -1;
	} else if (nids == 0) {
		rc = replay_all_rejected(in, buf, size, out);
	} else {
		for (int i = 0; i < nids && rc == 0; i++)
			if (replay_rejected_one(in, ids[i], buf, size, out) < 0)
				rc = -1;
	}
	pthread_mutex_unlock(&in->db_mu);
	return rc;
}

/* ---- the delivery ledger ---- */

static const char ledger_sql[] =
    "SELECT id, CAST(UNIX_TIMESTAMP(received_at) * 1000 AS SIGNED),"
    " request_id, source_label, COALESCE(event_name, ''),"
    " COALESCE(meeting_id, ''), outcome, COALESCE(signature_age_ms, -1),"
    " COALESCE(delivery_lag_ms, -1), COALESCE(event_id, 0),"
    " COALESCE(rejected_id, 0)"
    " FROM zoom_deliveries"
    " WHERE received_at >= FROM_UNIXTIME(? / 1000)"
    " AND received_at < FROM_UNIXTIME(? / 1000)"
    " AND (? IS NULL OR request_id = ?) AND (? IS NULL OR meeting_id = ?)"
    " ORDER BY received_at, id LIMIT ?";

struct ledger_walk {
	struct ledger_entry e;
	int (*fn)(void *arg, const struct ledger_entry *e);
	void *arg;
};

static int
each_ledger_row(void *arg, struct store_col *c, size_t n)
{
	struct ledger_walk *w = arg;

	(void)n;
	w->e.id = c[0].i;
	w->e.received_ms = c[1].is_null ? 0 : c[1].i;
	w->e.sig_age_ms = c[7].i;
	w->e.lag_ms = c[8].i;
	w->e.event_id = c[9].i;
	w->e.rejected_id = c[10].i;
	return w->fn(w->arg, &w->e);
}

int
ingest_ledger(struct ingest *in, const struct ledger_query *q,
    int (*fn)(void *arg, const struct ledger_entry *e), void *arg)
{
	struct ledger_walk w = { .fn = fn, .arg = arg };
	struct store_val p[] = {
		STORE_I(q->since_ms),
		STORE_I(q->until_ms > 0 ? q->until_ms : wall_ms() + 1),
		q->request_id ? STORE_Z(q->request_id) : STORE_NUL,
		q->request_id ? STORE_Z(q->request_id) : STORE_NUL,
		q->meeting_id ? STORE_Z(q->meeting_id) : STORE_NUL,
		q->meeting_id ? STORE_Z(q->meeting_id) : STORE_NUL,
		STORE_I(q->limit > 0 ? q->limit : 1000),
	};
	struct store_col c[11] = {
		[0] = { .type = STORE_INT }, [1] = { .type = STORE_INT },
		[2] = { STORE_STR, 0, w.e.request_id, sizeof(w.e.request_id),
		    0, false },
		[3] = { STORE_STR, 0, w.e.label, sizeof(w.e.label), 0, false },
		[4] = { STORE_STR, 0, w.e.event_name, sizeof(w.e.event_name),
		    0, false },
		[5] = { STORE_STR, 0, w.e.meeting_id, sizeof(w.e.meeting_id),
		    0, false },
		[6] = { STORE_STR, 0, w.e.outcome, sizeof(w.e.outcome), 0,
		    false },
		[7] = { .type = STORE_INT }, [8] = { .type = STORE_INT },
		[9] = { .type = STORE_INT }, [10] = { .type = STORE_INT },
	};

	return ingest_read(in, "the ledger", ledger_sql, p,
	    sizeof(p) / sizeof(p[0]), c, 11, each_ledger_row, &w);
}

int
ingest_read(struct ingest *in, const char *what, const char *sql,
    const struct store_val *p, size_t np, struct store_col *c, size_t nc,
    int (*row)(void *arg, struct store_col *c, size_t n), void *arg)
{
	int rows;

	pthread_mutex_lock(&in->db_mu);
	rows = ingest_connect_locked(in) != 0 ? -1 :
	    store_query(in->store, sql, p, np, c, nc, row, arg);
	if (rows < 0)
		log_warnx("cannot read %s: %s", what, store_errmsg(in->store));
	store_rollback(in->store);
	pthread_mutex_unlock(&in->db_mu);
	return rows;
}
