/*
 * ingest_purge.c -- retention: "zoom_events purge" deletes what is older
 * than the configured retention, in small primary-key batches; and the
 * audit trail every data-moving command writes to.  Knows nothing of
 * FastCGI or HTTP.
 */
#include "ingest.h"
#include "ingest_int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

/* Ids per delete: a short transaction and a small Galera write-set. */
#define PURGE_BATCH 1000

/* ---- the audit trail ---- */

static const char audit_sql[] =
    "INSERT INTO zoom_audit (at, command, os_user, os_host, db_user, detail,"
    " rows_affected) VALUES (NOW(3), ?, ?, ?, CURRENT_USER(), ?, ?)";

static int
audit_locked(struct ingest *in, const struct audit_who *who,
    const char *detail, long long rows)
{
	struct store_val p[] = { STORE_Z(who->command), STORE_Z(who->os_user),
		STORE_Z(who->os_host), STORE_Z(detail), STORE_I(rows) };

	if (store_exec(in->store, audit_sql, p, 5, NULL) != 0 ||
	    store_commit(in->store) != 0) {
		log_warnx("cannot write the audit trail: %s",
		    store_errmsg(in->store));
		ingest_after_failure(in);
		return -1;
	}
	return 0;
}

int
ingest_audit(struct ingest *in, const struct audit_who *who,
    const char *detail, long long rows)
{
	int rc = -1;

	pthread_mutex_lock(&in->db_mu);
	if (ingest_connect_locked(in) == 0)
		rc = audit_locked(in, who, detail, rows);
	pthread_mutex_unlock(&in->db_mu);
	return rc;
}

/* ---- one table ---- */

/*
 * A table that purges by id range: its name, the column that says how old
 * a row is (compared with FROM_UNIXTIME(cutoff)), and the statements.
 * The SQL is written out per table: no text is built from names at run
 * time.
 */
struct purge_table {
	const char *name;
	const char *range_sql;  /* MIN(id), MAX(id) of the old rows */
	const char *count_sql;  /* COUNT(*) of the old rows */
	const char *delete_sql; /* the old rows with id in [?, ?) */
};

#define PURGE_SQL(t, col) {                                                \
	t,                                                                 \
	"SELECT MIN(id), MAX(id) FROM " t " WHERE " col                    \
	    " < FROM_UNIXTIME(? / 1000)",                                  \
	"SELECT COUNT(*) FROM " t " WHERE " col " < FROM_UNIXTIME(? / 1000)", \
	"DELETE FROM " t " WHERE id >= ? AND id < ? AND " col              \
	    " < FROM_UNIXTIME(? / 1000)" }

static const struct purge_table tables[3] = {
	PURGE_SQL("zoom_visit_events", "created_at"),
	PURGE_SQL("zoom_rejected_events", "received_at"),
	PURGE_SQL("zoom_deliveries", "received_at"),
};

/* Two integers of a one-row query into a and b (0 for NULL).  0 or -1. */
static int
query2(struct ingest *in, const char *sql, const struct store_val *p,
    size_t np, long long *a, long long *b)
{
	struct store_col c[2] = { { .type = STORE_INT }, { .type = STORE_INT } };
	int rows = store_query(in->store, sql, p, np, c, b ? 2 : 1, NULL, NULL);

	store_rollback(in->store);
	if (rows < 0)
		return -1;
	*a = c[0].is_null ? 0 : c[0].i;
	if (b != NULL)
		*b = c[1].is_null ? 0 : c[1].i;
	return 0;
}

/* Delete ids [lo, hi) of t older than cutoff, retrying once (a Galera
 * conflict with another host's purge).  The rows deleted, or -1. */
static long long
delete_batch(struct ingest *in, const struct purge_table *t, long long lo,
    long long hi, long long cutoff)
{
	struct store_val p[3] = { STORE_I(lo), STORE_I(hi), STORE_I(cutoff) };
	long long n;

	for (int tries = 0; tries < 2; tries++) {
		if (ingest_connect_locked(in) == 0 &&
		    store_exec(in->store, t->delete_sql, p, 3, &n) == 0 &&
		    store_commit(in->store) == 0)
			return n;
		log_warnx("purge of %s ids %lld-%lld failed: %s", t->name, lo,
		    hi - 1, store_errmsg(in->store));
		ingest_after_failure(in);
	}
	return -1;
}

static int
purge_table(struct ingest *in, const struct purge_table *t, bool dry_run,
    struct purge_result *r)
{
	struct store_val cut = STORE_I(r->cutoff_ms);

	if (query2(in, t->range_sql, &cut, 1, &r->first_id, &r->last_id) != 0)
		return -1;
	if (dry_run)
		return query2(in, t->count_sql, &cut, 1, &r->rows, NULL);
	if (r->last_id == 0)
		return 0;
	for (long long lo = r->first_id; lo <= r->last_id; lo += PURGE_BATCH) {
		long long n = delete_batch(in, t, lo, lo + PURGE_BATCH >
		    r->last_id + 1 ? r->last_id + 1 : lo + PURGE_BATCH,
		    r->cutoff_ms);

		if (n < 0)
			return -1;
		r->rows += n;
	}
	return 0;
}

/* ---- the visit facts follow their events ---- */

/* A visit goes when its latest event is older than the cutoff and none of
 * its events stays (stored since the cutoff: a backfill of old events
 * keeps its visit as long as the events themselves). */
#define VISIT_OLD " last_event_ms < ? AND NOT EXISTS (SELECT 1 FROM" \
	" zoom_visit_events e WHERE e.visit_uuid = zoom_visits.visit_uuid" \
	" AND e.created_at >= FROM_UNIXTIME(? / 1000))"
static const char visits_page_sql[] =
    "SELECT visit_uuid FROM zoom_visits WHERE visit_uuid > ? AND"
    VISIT_OLD " ORDER BY visit_uuid LIMIT 500";
static const char visits_count_sql[] =
    "SELECT COUNT(*) FROM zoom_visits WHERE" VISIT_OLD;
static const char sessions_delete_sql[] =
    "DELETE FROM zoom_participant_sessions WHERE visit_uuid BETWEEN ? AND ?"
    " AND visit_uuid IN (SELECT visit_uuid FROM zoom_visits"
    " WHERE visit_uuid BETWEEN ? AND ? AND" VISIT_OLD ")";
static const char visits_delete_sql[] =
    "DELETE FROM zoom_visits WHERE visit_uuid BETWEEN ? AND ? AND" VISIT_OLD;

struct page {
	char first[ZE_VISIT_UUID_MAX + 1], last[ZE_VISIT_UUID_MAX + 1];
	int n;
};

static int
page_row(void *arg, struct store_col *c, size_t n)
{
	struct page *pg = arg;

	(void)n;
	if (pg->n++ == 0)
		snprintf(pg->first, sizeof(pg->first), "%s", c[0].buf);
	snprintf(pg->last, sizeof(pg->last), "%s", c[0].buf);
	return 0;
}

/* The visits that go (VISIT_OLD), a page of visit_uuid range at a
 * time. */
static int
purge_visits(struct ingest *in, bool dry_run, struct purge_result *r)
{
	char after[ZE_VISIT_UUID_MAX + 1] = "", buf[ZE_VISIT_UUID_MAX + 1];
	struct store_col c = { STORE_STR, 0, buf, sizeof(buf), 0, false };
	struct store_val cut = STORE_I(r->cutoff_ms);
	struct page pg;

	if (dry_run) {
		struct store_val cut2[2] = { cut, cut };

		return query2(in, visits_count_sql, cut2, 2, &r->rows, NULL);
	}
	do {
		struct store_val p[3] = { STORE_Z(after), cut, cut };
		long long n;

		memset(&pg, 0, sizeof(pg));
		if (store_query(in->store, visits_page_sql, p, 3, &c, 1,
		    page_row, &pg) < 0)
			return -1;
		if (pg.n == 0)
			break;
		{
			struct store_val sp[6] = { STORE_Z(pg.first),
				STORE_Z(pg.last), STORE_Z(pg.first),
				STORE_Z(pg.last), cut, cut };
			struct store_val vp[4] = { STORE_Z(pg.first),
				STORE_Z(pg.last), cut, cut };

			if (store_exec(in->store, sessions_delete_sql, sp, 6,
			    NULL) != 0 || store_exec(in->store,
			    visits_delete_sql, vp, 4, &n) != 0 ||
			    store_commit(in->store) != 0)
				return -1;
		}
		r->rows += n;
		snprintf(after, sizeof(after), "%s", pg.last);
	} while (pg.n == 500);
	return 0;
}

/* ---- the purge ---- */

/* The audit detail of one table's purge. */
static void
audit_purge(struct ingest *in, const struct audit_who *who,
    const struct purge_result *r)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "%s: rows older than %lld ms "
	    "(Unix), ids %lld-%lld", r->table, r->cutoff_ms, r->first_id,
	    r->last_id);
	audit_locked(in, who, detail, r->rows);
}

int
ingest_purge(struct ingest *in, const struct audit_who *who,
    int older_than_days, bool dry_run, struct purge_result out[PURGE_TABLES])
{
	const struct config *cfg = in->cfg;
	const int days[PURGE_TABLES] = { cfg->retention_days,
		cfg->rejected_retention_days, cfg->ledger_retention_days,
		cfg->retention_days };
	long long now = wall_ms();
	int rc = 0;

	memset(out, 0, PURGE_TABLES * sizeof(*out));
	pthread_mutex_lock(&in->db_mu);
	if (ingest_connect_locked(in) != 0) {
		pthread_mutex_unlock(&in->db_mu);
		return -1;
	}
	for (int i = 0; i < PURGE_TABLES && rc == 0; i++) {
		int d = older_than_days > 0 ? older_than_days : days[i];

		out[i].table = i < 3 ? tables[i].name : "zoom_visits";
		out[i].skipped = d <= 0;
		if (out[i].skipped)
			continue;
		out[i].cutoff_ms = now - (long long)d * 86400000LL;
		rc = i < 3 ? purge_table(in, &tables[i], dry_run, &out[i]) :
		    purge_visits(in, dry_run, &out[i]);
		if (rc == 0 && !dry_run && out[i].rows > 0)
			audit_purge(in, who, &out[i]);
	}
	if (rc != 0) {
		log_warnx("purge failed: %s", store_errmsg(in->store));
		ingest_after_failure(in);
	}
	pthread_mutex_unlock(&in->db_mu);
	return rc;
}

/* ---- reading the audit trail ---- */

static const char audit_list_sql[] =
    "SELECT id, CAST(UNIX_TIMESTAMP(at) * 1000 AS SIGNED), command, os_user,"
    " os_host, db_user, detail, rows_affected FROM zoom_audit"
    " WHERE at >= FROM_UNIXTIME(? / 1000) ORDER BY at, id LIMIT ?";

struct audit_walk {
	struct audit_entry e;
	int (*fn)(void *arg, const struct audit_entry *e);
	void *arg;
};

static int
each_audit(void *arg, struct store_col *c, size_t n)
{
	struct audit_walk *w = arg;

	(void)n;
	w->e.id = c[0].i;
	w->e.at_ms = c[1].is_null ? 0 : c[1].i;
	w->e.rows = c[7].i;
	return w->fn(w->arg, &w->e);
}

int
ingest_audit_list(struct ingest *in, long long since_ms, int limit,
    int (*fn)(void *arg, const struct audit_entry *e), void *arg)
{
	struct audit_walk w = { .fn = fn, .arg = arg };
	struct store_val p[2] = { STORE_I(since_ms),
		STORE_I(limit > 0 ? limit : 1000) };
	struct store_col c[8] = {
		[0] = { .type = STORE_INT }, [1] = { .type = STORE_INT },
		[2] = { STORE_STR, 0, w.e.command, sizeof(w.e.command), 0,
		    false },
		[3] = { STORE_STR, 0, w.e.os_user, sizeof(w.e.os_user), 0,
		    false },
		[4] = { STORE_STR, 0, w.e.os_host, sizeof(w.e.os_host), 0,
		    false },
		[5] = { STORE_STR, 0, w.e.db_user, sizeof(w.e.db_user), 0,
		    false },
		[6] = { STORE_STR, 0, w.e.detail, sizeof(w.e.detail), 0, false },
		[7] = { .type = STORE_INT },
	};

	return ingest_read(in, "the audit trail", audit_list_sql, p, 2, c, 8,
	    each_audit, &w);
}
