/*
 * ingest_visits.c -- the visit facts in the database: "zoom_events visits
 * refresh" reads the events of the visits touched since the last refresh,
 * computes each visit whole with visits.c, and replaces its rows in
 * zoom_visits and zoom_participant_sessions; the report and the
 * watchdog's gauge read them.  Nothing here runs on the delivery path: an
 * event delivery never waits for, or fails because of, the visit layer.
 */
#include "ingest.h"
#include "ingest_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "visits.h"

/* The event rows of a chunk of visits, ordered by visit_uuid. */
struct rows {
	struct visit_event *ev;
	char **uuid;            /* each row's visit_uuid */
	size_t n, cap;
	bool failed;            /* out of memory */
};

static void
rows_clear(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->uuid[i]);
		free((char *)(uintptr_t)r->ev[i].event_name);
		free((char *)(uintptr_t)r->ev[i].meeting_id);
		free((char *)(uintptr_t)r->ev[i].participant_id);
		free((char *)(uintptr_t)r->ev[i].person_key);
		free((char *)(uintptr_t)r->ev[i].leave_reason);
	}
	r->n = 0;
	r->failed = false;
}

static void
rows_free(struct rows *r)
{
	rows_clear(r);
	free(r->ev);
	free(r->uuid);
	memset(r, 0, sizeof(*r));
}

static char *
dup_or_fail(struct rows *r, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		r->failed = true;
	return d;
}

/* The columns of an event row, as read_rows() binds them. */
enum { C_UUID, C_TS, C_TIME, C_NAME, C_MEETING, C_PID, C_PERSON, C_HOST,
	C_REASON, C_LATENCY, C_INTERP, NCOLS };

static int
keep_row(void *arg, struct store_col *c, size_t n)
{
	struct rows *r = arg;
	struct visit_event *e;

	(void)n;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct visit_event *ev = realloc(r->ev, cap * sizeof(*ev));
		char **u = ev ? realloc(r->uuid, cap * sizeof(*u)) : NULL;

		if (ev != NULL)
			r->ev = ev;
		if (u == NULL) {
			r->failed = true;
			return 1;
		}
		r->uuid = u;
		r->cap = cap;
	}
	e = &r->ev[r->n];
	memset(e, 0, sizeof(*e));
	r->uuid[r->n] = dup_or_fail(r, c[C_UUID].buf);
	e->event_ts = c[C_TS].i;
	e->event_time_ms = c[C_TIME].is_null ? 0 : c[C_TIME].i;
	e->event_name = dup_or_fail(r, c[C_NAME].buf);
	e->meeting_id = dup_or_fail(r, c[C_MEETING].buf);
	e->participant_id = dup_or_fail(r, c[C_PID].buf);
	e->person_key = dup_or_fail(r, c[C_PERSON].buf);
	e->is_host = c[C_HOST].i != 0;
	e->leave_reason = c[C_REASON].is_null ? NULL :
	    dup_or_fail(r, c[C_REASON].buf);
	e->has_latency = !c[C_LATENCY].is_null;
	e->latency_ms = e->has_latency ? (int)c[C_LATENCY].i : 0;
	e->interpreter_requested = !c[C_INTERP].is_null && c[C_INTERP].i != 0;
	r->n++;
	return r->failed;
}

#define EVENT_COLS "SELECT visit_uuid, event_ts, event_time_ms, event_name," \
	" meeting_id, participant_id, person_key, is_host, leave_reason," \
	" latency_ms, interpreter_requested FROM zoom_visit_events"
static const char one_visit_sql[] = EVENT_COLS " WHERE visit_uuid = ?";
static const char visit_range_sql[] = EVENT_COLS
    " WHERE visit_uuid BETWEEN ? AND ? ORDER BY visit_uuid";

/* Append the rows of visit uuid (or, with last, of every visit from uuid to
 * last) to r.  0 or -1. */
static int
read_rows(struct ingest *in, const char *uuid, const char *last,
    struct rows *r)
{
	char buf[NCOLS][ZE_LEAVE_REASON_MAX * 4 + 1];
	struct store_col c[NCOLS];
	struct store_val p[2] = { STORE_Z(uuid), STORE_Z(last ? last : "") };

	memset(c, 0, sizeof(c));
	for (int i = 0; i < NCOLS; i++) {
		c[i].type = (i == C_TS || i == C_TIME || i == C_HOST ||
		    i == C_LATENCY || i == C_INTERP) ? STORE_INT : STORE_STR;
		c[i].buf = buf[i];
		c[i].size = sizeof(buf[i]);
	}
	if (store_query(in->store, last ? visit_range_sql : one_visit_sql, p,
	    last ? 2 : 1, c, NCOLS, keep_row, r) < 0)
		return -1;
	return r->failed ? -1 : 0;
}

/* ---- writing a chunk of visits ---- */

static struct store_rows visit_rows = {
	"INSERT INTO zoom_visits (visit_uuid, meeting_id, started_ms, ended_ms,"
	" status, duration_s, participants, host_first_join_ms,"
	" first_patient_join_ms, patient_wait_for_host_s, waiting_room_wait_s,"
	" face_to_face_s, rejoins, drops, interpreter_requested,"
	" max_latency_ms, events, last_event_ms) VALUES ",
	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 18, { NULL }
};

static struct store_rows session_rows = {
	"INSERT INTO zoom_participant_sessions (visit_uuid, session_no,"
	" meeting_id, participant_key, participant_id, is_host, joined_ms,"
	" left_ms, duration_s, left_inferred, leave_reason, connection_lost)"
	" VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 12, { NULL }
};

static const char delete_visit_sql[] =
    "DELETE FROM zoom_visits WHERE visit_uuid = ?";
static const char delete_sessions_sql[] =
    "DELETE FROM zoom_participant_sessions WHERE visit_uuid = ?";
static const char delete_visit_range_sql[] =
    "DELETE FROM zoom_visits WHERE visit_uuid BETWEEN ? AND ?";
static const char delete_sessions_range_sql[] =
    "DELETE FROM zoom_participant_sessions WHERE visit_uuid BETWEEN ? AND ?";

static struct store_val
nullable(long long v)
{
	return v == VISITS_NULL ? STORE_NUL : STORE_I(v);
}

/* One computed visit, ready to write. */
struct computed {
	const char *uuid;
	struct visit_facts f;
	long long last_event_ms;
};

static void
visit_values(const struct computed *v, struct store_val *p)
{
	const struct visit_facts *f = &v->f;

	p[0] = STORE_Z(v->uuid);
	p[1] = STORE_Z(f->meeting_id);
	p[2] = nullable(f->started_ms);
	p[3] = nullable(f->ended_ms);
	p[4] = STORE_Z(visits_status_name(f->status));
	p[5] = nullable(f->duration_s);
	p[6] = STORE_I(f->participants);
	p[7] = nullable(f->host_first_join_ms);
	p[8] = nullable(f->first_patient_join_ms);
	p[9] = nullable(f->patient_wait_for_host_s);
	p[10] = nullable(f->waiting_room_wait_s);
	p[11] = STORE_I(f->face_to_face_s);
	p[12] = STORE_I(f->rejoins);
	p[13] = STORE_I(f->drops);
	p[14] = STORE_I(f->interpreter_requested);
	p[15] = nullable(f->max_latency_ms);
	p[16] = STORE_I(f->events);
	p[17] = nullable(v->last_event_ms);
}

static void
session_values(const struct computed *v, size_t i, struct store_val *p)
{
	const struct visit_session *s = &v->f.sessions[i];

	p[0] = STORE_Z(v->uuid);
	p[1] = STORE_I((long long)i + 1);
	p[2] = STORE_Z(v->f.meeting_id);
	p[3] = STORE_Z(s->person_key);
	p[4] = STORE_Z(s->slot);
	p[5] = STORE_I(s->is_host);
	p[6] = STORE_I(s->joined_ms);
	p[7] = nullable(s->left_ms);
	p[8] = nullable(s->duration_s);
	p[9] = STORE_I(s->left_inferred);
	p[10] = s->leave_reason != NULL ? STORE_Z(s->leave_reason) : STORE_NUL;
	p[11] = STORE_I(s->connection_lost);
}

/* Delete the old rows of the chunk's visits: one range when the chunk is
 * every visit from first to last (a full refresh), else one by one. */
static int
delete_old(struct ingest *in, const struct computed *v, size_t n, bool dense)
{
	if (dense) {
		struct store_val p[2] = { STORE_Z(v[0].uuid),
			STORE_Z(v[n - 1].uuid) };

		return store_exec(in->store, delete_sessions_range_sql, p, 2,
		    NULL) != 0 || store_exec(in->store, delete_visit_range_sql,
		    p, 2, NULL) != 0 ? -1 : 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_val p = STORE_Z(v[i].uuid);

		if (store_exec(in->store, delete_sessions_sql, &p, 1,
		    NULL) != 0 || store_exec(in->store, delete_visit_sql, &p, 1,
		    NULL) != 0)
			return -1;
	}
	return 0;
}

/* Replace the chunk's rows in one transaction.  0 or -1. */
static int
write_chunk(struct ingest *in, const struct computed *v, size_t n, bool dense,
    long long *nsessions)
{
	struct store_val *vp = calloc(n * visit_rows.ncols, sizeof(*vp));
	struct store_val *sp = NULL;
	size_t ns = 0, k = 0;
	int rc = -1;

	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		ns += v[i].f.nsessions;
	if (vp == NULL || (ns > 0 && (sp = calloc(ns * session_rows.ncols,
	    sizeof(*sp))) == NULL))
		goto out_free;
	/* A visit whose events are all gone (purged) only loses its rows. */
	for (size_t i = 0; i < n; i++) {
		if (v[i].f.events == 0)
			continue;
		visit_values(&v[i], &vp[m++ * visit_rows.ncols]);
		for (size_t j = 0; j < v[i].f.nsessions; j++, k++)
			session_values(&v[i], j, &sp[k * session_rows.ncols]);
	}
	if (delete_old(in, v, n, dense) != 0 ||
	    (m > 0 && store_insert_rows(in->store, &visit_rows, vp, m) != 0) ||
	    (ns > 0 && store_insert_rows(in->store, &session_rows, sp,
	    ns) != 0) || store_commit(in->store) != 0) {
		ingest_after_failure(in);
		goto out_free;
	}
	*nsessions += (long long)ns;
	rc = 0;
out_free:
	free(vp);
	free(sp);
	return rc;
}

/* ---- one chunk: read, compute, write ---- */

/* The latest own time of rows ev[0..n) (VISITS_NULL when none). */
static long long
last_event(const struct visit_event *ev, size_t n)
{
	long long last = VISITS_NULL;

	for (size_t i = 0; i < n; i++) {
		long long t = ev[i].event_time_ms > 0 ? ev[i].event_time_ms :
		    ev[i].event_ts;

		if (t > last)
			last = t;
	}
	return last;
}

/* Compute every visit of uuids[0..n) from the rows in r (ordered by
 * visit_uuid) into v.  0, or -1 when out of memory. */
static int
compute_chunk(struct ingest *in, char **uuids, size_t n, struct rows *r,
    long long now, struct computed *v)
{
	long long quiet = (long long)in->cfg->visit_quiet_s * 1000;
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		size_t start;

		/* Rows of visits born since the list was read are skipped. */
		while (j < r->n && strcmp(r->uuid[j], uuids[i]) < 0)
			j++;
		start = j;
		while (j < r->n && strcmp(r->uuid[j], uuids[i]) == 0)
			j++;
		v[i].uuid = uuids[i];
		v[i].last_event_ms = last_event(&r->ev[start], j - start);
		if (visits_compute(&r->ev[start], j - start, now, quiet,
		    &v[i].f) != 0) {
			for (size_t k = 0; k < i; k++)
				visit_facts_release(&v[k].f);
			return -1;
		}
	}
	return 0;
}

static int
refresh_chunk(struct ingest *in, char **uuids, size_t n, bool dense,
    long long now, struct visits_refresh_result *out)
{
	struct computed v[ZE_VISITS_CHUNK];
	struct rows r = { 0 };
	int rc = -1;

	if (dense) {
		if (read_rows(in, uuids[0], uuids[n - 1], &r) != 0)
			goto out_rows;
	} else {
		for (size_t i = 0; i < n; i++)
			if (read_rows(in, uuids[i], NULL, &r) != 0)
				goto out_rows;
	}
	store_rollback(in->store);
	if (compute_chunk(in, uuids, n, &r, now, v) != 0)
		goto out_rows;
	/* One retry: a Galera certification conflict with another host's
	 * refresh of the same visits is not an error. */
	rc = write_chunk(in, v, n, dense, &out->sessions);
	if (rc != 0 && ingest_connect_locked(in) == 0)
		rc = write_chunk(in, v, n, dense, &out->sessions);
	if (rc != 0)
		log_warnx("cannot write visits: %s", store_errmsg(in->store));
	out->visits += (long long)n;
	out->events += (long long)r.n;
	for (size_t i = 0; i < n; i++)
		visit_facts_release(&v[i].f);
out_rows:
	if (rc != 0 && r.failed)
		log_warnx("visits refresh: out of memory");
	rows_free(&r);
	return rc;
}

/* ---- which visits ---- */

struct uuid_list {
	char **s;
	size_t n, cap;
	bool failed;
};

static int
add_uuid(void *arg, struct store_col *c, size_t n)
{
	struct uuid_list *l = arg;

	(void)n;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char **s = realloc(l->s, cap * sizeof(*s));

		if (s == NULL) {
			l->failed = true;
			return 1;
		}
		l->s = s;
		l->cap = cap;
	}
	if ((l->s[l->n] = strdup(c[0].buf)) == NULL) {
		l->failed = true;
		return 1;
	}
	l->n++;
	return 0;
}

static void
uuids_free(struct uuid_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
	memset(l, 0, sizeof(*l));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop repeats. */
static void
uuids_unique(struct uuid_list *l)
{
	size_t k = 0;

	qsort(l->s, l->n, sizeof(*l->s), cmp_str);
	for (size_t i = 0; i < l->n; i++) {
		if (k > 0 && strcmp(l->s[k - 1], l->s[i]) == 0)
			free(l->s[i]);
		else
			l->s[k++] = l->s[i];
	}
	l->n = k;
}

static int
query_uuids(struct ingest *in, const char *sql, const struct store_val *p,
    size_t np, struct uuid_list *l)
{
	char buf[ZE_VISIT_UUID_MAX + 1];
	struct store_col c = { STORE_STR, 0, buf, sizeof(buf), 0, false };

	if (store_query(in->store, sql, p, np, &c, 1, add_uuid, l) < 0 ||
	    l->failed)
		return -1;
	return 0;
}

static const char touched_sql[] =
    "SELECT DISTINCT visit_uuid FROM zoom_visit_events"
    " WHERE created_at >= FROM_UNIXTIME(?)";
static const char quiet_sql[] =
    "SELECT visit_uuid FROM zoom_visits WHERE status = 'open'"
    " AND last_event_ms < ?";
static const char page_sql[] =
    "SELECT DISTINCT visit_uuid FROM zoom_visit_events WHERE visit_uuid > ?"
    " ORDER BY visit_uuid LIMIT ?";

/* Every visit, page by page (each page one dense chunk). */
static int
refresh_all(struct ingest *in, long long now, struct visits_refresh_result *out)
{
	char after[ZE_VISIT_UUID_MAX + 1] = "";
	struct uuid_list l = { 0 };
	int rc = 0;

	do {
		struct store_val p[2] = { STORE_Z(after),
			STORE_I(ZE_VISITS_CHUNK) };

		uuids_free(&l);
		if (query_uuids(in, page_sql, p, 2, &l) != 0) {
			rc = -1;
			break;
		}
		if (l.n == 0)
			break;
		snprintf(after, sizeof(after), "%s", l.s[l.n - 1]);
		rc = refresh_chunk(in, l.s, l.n, true, now, out);
	} while (rc == 0 && l.n == ZE_VISITS_CHUNK);
	uuids_free(&l);
	return rc;
}

/* The visits with events stored since from_s (DB clock), and the open
 * ones quiet for too long, chunk by chunk. */
static int
refresh_touched(struct ingest *in, long long from_s, long long now,
    struct visits_refresh_result *out)
{
	struct store_val since = STORE_I(from_s);
	struct store_val quiet = STORE_I(now - (long long)in->cfg->visit_quiet_s *
	    1000);
	struct uuid_list l = { 0 };
	int rc = 0;

	if (query_uuids(in, touched_sql, &since, 1, &l) != 0 ||
	    query_uuids(in, quiet_sql, &quiet, 1, &l) != 0) {
		uuids_free(&l);
		return -1;
	}
	store_rollback(in->store);
	uuids_unique(&l);
	for (size_t i = 0; i < l.n && rc == 0; i += ZE_VISITS_CHUNK)
		rc = refresh_chunk(in, l.s + i, l.n - i < ZE_VISITS_CHUNK ?
		    l.n - i : ZE_VISITS_CHUNK, false, now, out);
	uuids_free(&l);
	return rc;
}

/* ---- the refresh ---- */

static const char state_sql[] =
    "SELECT UNIX_TIMESTAMP(NOW()), (SELECT UNIX_TIMESTAMP(scanned_from)"
    " FROM zoom_visits_refresh WHERE name = 'visits')";
static const char save_sql[] =
    "INSERT INTO zoom_visits_refresh (name, scanned_from, finished_at, visits)"
    " VALUES ('visits', FROM_UNIXTIME(?), NOW(3), ?) ON DUPLICATE KEY UPDATE"
    " scanned_from = FROM_UNIXTIME(?), finished_at = NOW(3), visits = ?";

int
ingest_visits_refresh(struct ingest *in, bool full,
    struct visits_refresh_result *out)
{
	struct store_col c[2] = { { .type = STORE_INT }, { .type = STORE_INT } };
	long long now = wall_ms(), db_now;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&in->db_mu);
	if (ingest_connect_locked(in) != 0 ||
	    store_query(in->store, state_sql, NULL, 0, c, 2, NULL, NULL) != 1)
		goto out_unlock;
	store_rollback(in->store);
	db_now = c[0].i;
	out->full = full || c[1].is_null;
	rc = out->full ? refresh_all(in, now, out) :
	    refresh_touched(in, c[1].i, now, out);
	if (rc == 0) {
		/* Next time, look again a little before this scan began. */
		struct store_val p[4] = { STORE_I(db_now - ZE_VISITS_RESCAN_S),
			STORE_I(out->visits), STORE_I(db_now - ZE_VISITS_RESCAN_S),
			STORE_I(out->visits) };

		if (store_exec(in->store, save_sql, p, 4, NULL) != 0 ||
		    store_commit(in->store) != 0)
			rc = -1;
	}
out_unlock:
	if (rc != 0) {
		log_warnx("visits refresh failed: %s", store_errmsg(in->store));
		ingest_after_failure(in);
	}
	pthread_mutex_unlock(&in->db_mu);
	return rc;
}

/* ---- reading visits ---- */

static const char report_sql[] =
    "SELECT visit_uuid, meeting_id, status, started_ms, ended_ms, duration_s,"
    " participants, host_first_join_ms, first_patient_join_ms,"
    " patient_wait_for_host_s, waiting_room_wait_s, face_to_face_s, rejoins,"
    " drops, interpreter_requested, max_latency_ms, events FROM zoom_visits"
    " WHERE started_ms >= ? AND started_ms < ?"
    " AND (? = 0 OR (status = 'open' AND started_ms < ?))"
    " ORDER BY started_ms, visit_uuid LIMIT ?";

struct visit_walk {
	struct visit_row v;
	int (*fn)(void *arg, const struct visit_row *v);
	void *arg;
};

static int
each_visit(void *arg, struct store_col *c, size_t n)
{
	struct visit_walk *w = arg;
	long long *num[] = { &w->v.started_ms, &w->v.ended_ms,
		&w->v.duration_s, &w->v.participants, &w->v.host_first_join_ms,
		&w->v.first_patient_join_ms, &w->v.patient_wait_for_host_s,
		&w->v.waiting_room_wait_s, &w->v.face_to_face_s, &w->v.rejoins,
		&w->v.drops, &w->v.interpreter_requested, &w->v.max_latency_ms,
		&w->v.events };

	for (size_t i = 3; i < n; i++)
		*num[i - 3] = c[i].is_null ? VISIT_NULL : c[i].i;
	return w->fn(w->arg, &w->v);
}

int
ingest_visits(struct ingest *in, const struct visit_query *q,
    int (*fn)(void *arg, const struct visit_row *v), void *arg)
{
	struct visit_walk w = { .fn = fn, .arg = arg };
	long long now = wall_ms();
	struct store_val p[] = {
		STORE_I(q->since_ms > 0 ? q->since_ms : VISIT_NULL + 1),
		STORE_I(q->until_ms > 0 ? q->until_ms : 0x7fffffffffffffffLL),
		STORE_I(q->open_longer_than_ms > 0),
		STORE_I(now - q->open_longer_than_ms),
		STORE_I(q->limit > 0 ? q->limit : 0x7fffffffffffffffLL),
	};
	struct store_col c[17];

	memset(c, 0, sizeof(c));
	c[0] = (struct store_col){ STORE_STR, 0, w.v.visit_uuid,
		sizeof(w.v.visit_uuid), 0, false };
	c[1] = (struct store_col){ STORE_STR, 0, w.v.meeting_id,
		sizeof(w.v.meeting_id), 0, false };
	c[2] = (struct store_col){ STORE_STR, 0, w.v.status,
		sizeof(w.v.status), 0, false };
	for (int i = 3; i < 17; i++)
		c[i].type = STORE_INT;
	return ingest_read(in, "visits", report_sql, p,
	    sizeof(p) / sizeof(p[0]), c, 17, each_visit, &w);
}

static const char open_sql[] =
    "SELECT COUNT(*), COALESCE(SUM(started_ms < ?), 0) FROM zoom_visits"
    " WHERE status = 'open'";

int
ingest_open_visits_locked(struct ingest *in, long long *open,
    long long *overdue)
{
	struct store_val p = STORE_I(wall_ms() -
	    (long long)in->cfg->visit_open_alert_s * 1000);
	struct store_col c[2] = { { .type = STORE_INT }, { .type = STORE_INT } };
	int rc = -1;

	if (store_query(in->store, open_sql, &p, 1, c, 2, NULL, NULL) == 1) {
		*open = c[0].i;
		*overdue = c[1].i;
		rc = 0;
	}
	store_rollback(in->store);
	return rc;
}
