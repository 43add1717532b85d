/*
 * visits.c -- the facts of one visit from its stored event rows: who was
 * in the meeting from when to when, and the visit's summary.
 *
 * Pure: libc only.  Knows Zoom's meeting event names and how its webhooks
 * arrive (late, twice, out of order, sometimes never); knows nothing of
 * the database, JSON, FastCGI or the clock (now_ms is an argument).
 *
 * Every decision walks the rows in one canonical order that depends only
 * on their content: the event's time, then a fixed rank per kind of
 * event, then every other field.  Rows equal field for field are dropped
 * first.  So any arrival order, with any repeats, gives the same facts.
 */
#include "visits.h"

#include <stdlib.h>
#include <string.h>

/*
 * The kinds of event the facts use, in the order they sort among rows of
 * the same millisecond: the meeting starts before anyone is in it; a
 * person waits, is admitted, then joins; a join sorts before a leave, so
 * that a join and a leave of one slot in the same millisecond make a
 * zero-length session rather than an orphan leave and a session that
 * never closes; the meeting ends last.
 */
enum kind {
	K_STARTED,
	K_JBH_WAITING,
	K_JBH_JOINED,
	K_WAITING_ROOM,
	K_ADMITTED,
	K_JOINED,
	K_LEFT,
	K_OTHER,                        /* QoS, sharing, interpreter, ... */
	K_ENDED
};

static const struct {
	const char *name;
	enum kind kind;
} kinds[] = {
	{ "meeting.started", K_STARTED },
	{ "meeting.participant_jbh_waiting", K_JBH_WAITING },
	{ "meeting.participant_jbh_joined", K_JBH_JOINED },
	{ "meeting.participant_joined_waiting_room", K_WAITING_ROOM },
	{ "meeting.participant_admitted", K_ADMITTED },
	{ "meeting.participant_joined", K_JOINED },
	{ "meeting.participant_left", K_LEFT },
	{ "meeting.ended", K_ENDED },
};

/*
 * Wordings of a participant_left's leave_reason that mean the link was
 * lost rather than closed on purpose, lowercase, matched anywhere in the
 * reason.  Zoom's text varies ("left the meeting. Reason : Network
 * connection error"); "left the meeting", "Host ended the meeting",
 * "removed by host" and "Unknown reason" match none of these.  Zoom's own
 * list of reasons has "$name got disconnected from the meeting." for a
 * lost client, seen in webhooks as "got disconnected from the meeting.
 * Reason : Client Close."
 */
static const char *const lost_wordings[] = {
	"network",                      /* "Network connection error" */
	"disconnected",                 /* "got disconnected from the meeting" */
	"connection lost",
	"lost connection",
	"connection error",
	"connection failed",
	"connection timed out",
	"connection timeout",
	"connection dropped",
	"unstable connection",
};

/* A row with its time and kind worked out once. */
struct item {
	const struct visit_event *e;
	long long t;                    /* event_time_ms, else event_ts */
	enum kind kind;
};

/* Everything one visits_compute() call builds; freed by work_release(). */
struct work {
	struct item *items;             /* distinct rows, canonical order */
	size_t n;
	struct visit_session *ss;       /* sessions, room for every join */
	size_t ns;
	const char **hosts;             /* distinct host persons */
	size_t nhosts;
	long long last_ms;              /* latest row time */
	long long last_left_ms;         /* latest participant_left, or NULL */
	long long ended_ms;             /* latest meeting.ended, or NULL */
};

/* ------------------------------------------------------------ helpers */

static const char *
str(const char *s)
{
	return s != NULL ? s : "";
}

/* The session slot of a row: participant_id, else person_key. */
static const char *
slot_of(const struct visit_event *e)
{
	return *str(e->participant_id) != '\0' ? e->participant_id :
	    str(e->person_key);
}

/* The person of a row: person_key, else participant_id. */
static const char *
person_of(const struct visit_event *e)
{
	return *str(e->person_key) != '\0' ? e->person_key :
	    str(e->participant_id);
}

static enum kind
kind_of(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(name, kinds[i].name) == 0)
			return kinds[i].kind;
	return K_OTHER;
}

static int
cmp_ll(long long a, long long b)
{
	return (a > b) - (a < b);
}

/* strcmp() with NULL before every string. */
static int
cmp_nullable(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* Whole seconds from a to b, floored; 0 when b is not after a. */
static long long
seconds(long long a, long long b)
{
	return b > a ? (b - a) / 1000 : 0;
}

/* ASCII-only case folding: the result must not depend on the locale. */
static bool
contains_nocase(const char *hay, const char *lower_needle)
{
	size_t len = strlen(lower_needle);

	for (; *hay != '\0'; hay++) {
		size_t i;

		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)hay[i];

			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (c != (unsigned char)lower_needle[i])
				break;  /* also stops at hay's NUL */
		}
		if (i == len)
			return true;
	}
	return false;
}

bool
visits_connection_lost(const char *leave_reason)
{
	if (leave_reason == NULL)
		return false;
	for (size_t i = 0; i < sizeof(lost_wordings) / sizeof(lost_wordings[0]);
	    i++)
		if (contains_nocase(leave_reason, lost_wordings[i]))
			return true;
	return false;
}

const char *
visits_status_name(enum visit_status status)
{
	switch (status) {
	case VISIT_OPEN:
		return "open";
	case VISIT_ENDED:
		return "ended";
	case VISIT_ENDED_INFERRED:
		return "ended_inferred";
	}
	return "unknown";
}

/* -------------------------------------------------- canonical order */

/*
 * The canonical order of rows: time, kind, then every field, so that only
 * rows equal in content compare equal.  latency_ms counts only when
 * has_latency is set.
 */
static int
cmp_items(const struct item *a, const struct item *b)
{
	const struct visit_event *x = a->e, *y = b->e;
	int c;

	if ((c = cmp_ll(a->t, b->t)) != 0 ||
	    (c = cmp_ll(a->kind, b->kind)) != 0 ||
	    (c = strcmp(str(x->participant_id), str(y->participant_id))) != 0 ||
	    (c = strcmp(str(x->person_key), str(y->person_key))) != 0 ||
	    (c = strcmp(str(x->event_name), str(y->event_name))) != 0 ||
	    (c = cmp_ll(x->event_ts, y->event_ts)) != 0 ||
	    (c = cmp_ll(x->event_time_ms, y->event_time_ms)) != 0 ||
	    (c = strcmp(str(x->meeting_id), str(y->meeting_id))) != 0 ||
	    (c = cmp_nullable(x->leave_reason, y->leave_reason)) != 0 ||
	    (c = cmp_ll(x->is_host, y->is_host)) != 0 ||
	    (c = cmp_ll(x->interpreter_requested,
	    y->interpreter_requested)) != 0 ||
	    (c = cmp_ll(x->has_latency, y->has_latency)) != 0)
		return c;
	return x->has_latency ? cmp_ll(x->latency_ms, y->latency_ms) : 0;
}

static int
qsort_items(const void *a, const void *b)
{
	return cmp_items(a, b);
}

/* Slot first, then the canonical order: each slot's rows in a run. */
static int
qsort_items_by_slot(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c;

	if ((c = strcmp(slot_of(x->e), slot_of(y->e))) != 0)
		return c;
	return cmp_items(x, y);
}

/* Sessions in output order: joined_ms, then slot (unique together). */
static int
qsort_sessions(const void *a, const void *b)
{
	const struct visit_session *x = a, *y = b;
	int c;

	if ((c = cmp_ll(x->joined_ms, y->joined_ms)) != 0 ||
	    (c = strcmp(x->slot, y->slot)) != 0)
		return c;
	return strcmp(x->person_key, y->person_key);
}

/* Session pointers by person, then output order: each person in a run. */
static int
qsort_sessions_by_person(const void *a, const void *b)
{
	const struct visit_session *const *x = a, *const *y = b;
	int c;

	if ((c = strcmp((*x)->person_key, (*y)->person_key)) != 0)
		return c;
	return qsort_sessions(*x, *y);
}

/* ------------------------------------------------------------- steps */

/*
 * Copy ev[0..n) into w->items in canonical order, without repeats, and
 * note the latest times the later steps need.  -1 when out of memory.
 */
static int
load_rows(struct work *w, const struct visit_event *ev, size_t n)
{
	size_t i, kept = 0;

	if ((w->items = calloc(n, sizeof(*w->items))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		w->items[i].e = &ev[i];
		w->items[i].t = ev[i].event_time_ms != 0 ? ev[i].event_time_ms :
		    ev[i].event_ts;
		w->items[i].kind = kind_of(str(ev[i].event_name));
	}
	qsort(w->items, n, sizeof(*w->items), qsort_items);
	for (i = 0; i < n; i++)
		if (kept == 0 || cmp_items(&w->items[kept - 1],
		    &w->items[i]) != 0)
			w->items[kept++] = w->items[i];
	w->n = kept;

	w->last_ms = w->items[kept - 1].t;
	w->last_left_ms = w->ended_ms = VISITS_NULL;
	for (i = 0; i < kept; i++) {
		if (w->items[i].kind == K_LEFT)
			w->last_left_ms = w->items[i].t;
		else if (w->items[i].kind == K_ENDED)
			w->ended_ms = w->items[i].t;
	}
	return 0;
}

/* The facts that are plain folds over the rows. */
static void
summarize_rows(const struct work *w, struct visit_facts *out)
{
	long long first_start = VISITS_NULL, first_join = VISITS_NULL;

	for (size_t i = 0; i < w->n; i++) {
		const struct item *it = &w->items[i];
		const struct visit_event *e = it->e;

		if (*out->meeting_id == '\0')
			out->meeting_id = str(e->meeting_id);
		if (e->interpreter_requested)
			out->interpreter_requested = true;
		if (e->has_latency && (out->max_latency_ms == VISITS_NULL ||
		    e->latency_ms > out->max_latency_ms))
			out->max_latency_ms = e->latency_ms;
		if (it->kind == K_STARTED && first_start == VISITS_NULL)
			first_start = it->t;
		if (it->kind == K_JOINED && first_join == VISITS_NULL)
			first_join = it->t;
	}
	out->events = (long long)w->n;
	if (first_start != VISITS_NULL)
		out->started_ms = first_start;
	else if (first_join != VISITS_NULL)
		out->started_ms = first_join;
	else
		out->started_ms = w->items[0].t;
}

/*
 * The sessions of one slot from its joins and leaves, rows[0..n) in
 * canonical order.  A join opens a session unless one is open (then it is
 * a repeat); a leave closes the open one; a leave with none open repeats
 * the last leave or lost its join, and is ignored.  Appends to w->ss.
 */
static void
walk_slot(struct work *w, const struct item *rows, size_t n)
{
	const char *slot = slot_of(rows[0].e);
	size_t first = w->ns;
	bool host = false, open = false;
	struct visit_session *s;

	for (size_t i = 0; i < n; i++) {
		const struct visit_event *e = rows[i].e;

		host = host || e->is_host;
		if (rows[i].kind == K_JOINED && !open) {
			s = &w->ss[w->ns++];
			s->person_key = str(e->person_key);
			s->slot = slot;
			s->joined_ms = rows[i].t;
			s->left_ms = s->duration_s = VISITS_NULL;
			open = true;
		} else if (rows[i].kind == K_LEFT && open) {
			s = &w->ss[w->ns - 1];
			s->left_ms = rows[i].t;
			s->duration_s = seconds(s->joined_ms, s->left_ms);
			s->leave_reason = e->leave_reason;
			s->connection_lost =
			    visits_connection_lost(e->leave_reason);
			if (*s->person_key == '\0')
				s->person_key = str(e->person_key);
			open = false;
		}
	}
	for (s = w->ss + first; s < w->ss + w->ns; s++) {
		if (*s->person_key == '\0')
			s->person_key = slot;
		s->is_host = host;
	}
}

/* Every slot's sessions into w->ss.  -1 when out of memory. */
static int
build_sessions(struct work *w)
{
	struct item *rows;
	size_t nrows = 0, i, j;

	/* At most one session per join: w->ss never grows. */
	if ((w->ss = calloc(w->n, sizeof(*w->ss))) == NULL)
		return -1;
	if ((rows = calloc(w->n, sizeof(*rows))) == NULL)
		return -1;
	for (i = 0; i < w->n; i++)
		if ((w->items[i].kind == K_JOINED ||
		    w->items[i].kind == K_LEFT) &&
		    *slot_of(w->items[i].e) != '\0')
			rows[nrows++] = w->items[i];
	qsort(rows, nrows, sizeof(*rows), qsort_items_by_slot);
	for (i = 0; i < nrows; i = j) {
		for (j = i + 1; j < nrows &&
		    strcmp(slot_of(rows[i].e), slot_of(rows[j].e)) == 0; j++)
			;
		walk_slot(w, rows + i, j - i);
	}
	free(rows);
	return 0;
}

static bool
is_host_person(const struct work *w, const char *person)
{
	for (size_t i = 0; i < w->nhosts; i++)
		if (strcmp(w->hosts[i], person) == 0)
			return true;
	return false;
}

static void
add_host(struct work *w, const char *person)
{
	if (*person != '\0' && !is_host_person(w, person))
		w->hosts[w->nhosts++] = person;
}

/*
 * A person is the host when any of their rows says so, or any row of a
 * slot one of their sessions used; then all their sessions are the
 * host's.  -1 when out of memory.
 */
static int
find_hosts(struct work *w)
{
	size_t i;

	if ((w->hosts = calloc(w->n + w->ns, sizeof(*w->hosts))) == NULL)
		return -1;
	for (i = 0; i < w->n; i++)
		if (w->items[i].e->is_host)
			add_host(w, person_of(w->items[i].e));
	for (i = 0; i < w->ns; i++)
		if (w->ss[i].is_host)
			add_host(w, w->ss[i].person_key);
	for (i = 0; i < w->ns; i++)
		w->ss[i].is_host = is_host_person(w, w->ss[i].person_key);
	return 0;
}

/*
 * Status, end and duration of the visit, and the end of the sessions
 * still open when the visit has ended.  An ended_inferred visit ends at
 * its last leave (else its last row), but never before a session still
 * open began.
 */
static void
decide_end(struct work *w, struct visit_facts *out, long long now_ms,
    long long quiet_ms)
{
	long long end;
	size_t i;

	if (w->ended_ms != VISITS_NULL) {
		out->status = VISIT_ENDED;
		end = w->ended_ms;
	} else if (now_ms - w->last_ms > quiet_ms) {
		out->status = VISIT_ENDED_INFERRED;
		end = w->last_left_ms != VISITS_NULL ? w->last_left_ms :
		    w->last_ms;
		for (i = 0; i < w->ns; i++)
			if (w->ss[i].left_ms == VISITS_NULL &&
			    w->ss[i].joined_ms > end)
				end = w->ss[i].joined_ms;
	} else {
		out->status = VISIT_OPEN;
		return;
	}
	out->ended_ms = end;
	out->duration_s = seconds(out->started_ms, end);
	for (i = 0; i < w->ns; i++) {
		struct visit_session *s = &w->ss[i];

		if (s->left_ms != VISITS_NULL)
			continue;
		/* Only after meeting.ended can a join be later than end. */
		s->left_ms = end > s->joined_ms ? end : s->joined_ms;
		s->duration_s = seconds(s->joined_ms, s->left_ms);
		s->left_inferred = true;
	}
}

/*
 * participants, rejoins and drops: per person, over their sessions in
 * order.  A session that lost its connection counts as a drop when the
 * same person has a session after it.  -1 when out of memory.
 */
static int
count_people(const struct work *w, struct visit_facts *out)
{
	const struct visit_session **by;
	size_t i, j, k;

	if ((by = calloc(w->ns + 1, sizeof(*by))) == NULL)
		return -1;
	for (i = 0; i < w->ns; i++)
		by[i] = &w->ss[i];
	qsort(by, w->ns, sizeof(*by), qsort_sessions_by_person);
	for (i = 0; i < w->ns; i = j) {
		for (j = i + 1; j < w->ns &&
		    strcmp(by[i]->person_key, by[j]->person_key) == 0; j++)
			;
		if (!by[i]->is_host)
			out->participants++;
		out->rejoins += (long long)(j - i - 1);
		for (k = i; k + 1 < j; k++)
			if (by[k]->connection_lost)
				out->drops++;
	}
	free(by);
	return 0;
}

/* Keep (t, person) in (*when, *who) if it is earlier, ties by person. */
static void
keep_earliest(long long t, const char *person, long long *when,
    const char **who)
{
	if (*who == NULL || t < *when ||
	    (t == *when && strcmp(person, *who) < 0)) {
		*when = t;
		*who = person;
	}
}

/*
 * The first non-host person to arrive, by their join, waiting-room entry
 * or join-before-host wait, and when.  *who is NULL when there is none.
 */
static void
first_patient(const struct work *w, const char **who, long long *when)
{
	size_t i;

	*who = NULL;
	*when = VISITS_NULL;
	for (i = 0; i < w->ns; i++)
		if (!w->ss[i].is_host)
			keep_earliest(w->ss[i].joined_ms, w->ss[i].person_key,
			    when, who);
	for (i = 0; i < w->n; i++) {
		const struct item *it = &w->items[i];
		const char *person = person_of(it->e);

		if (it->kind != K_WAITING_ROOM && it->kind != K_JBH_WAITING)
			continue;
		if (*person != '\0' && !is_host_person(w, person))
			keep_earliest(it->t, person, when, who);
	}
}

/*
 * How long the first patient spent in the waiting room: from their first
 * entry to their first admission at or after it.  VISITS_NULL when either
 * is missing.
 */
static long long
waiting_room_wait(const struct work *w, const char *who)
{
	long long entered = VISITS_NULL;

	for (size_t i = 0; i < w->n; i++) {
		const struct item *it = &w->items[i];

		if (strcmp(person_of(it->e), who) != 0)
			continue;
		if (it->kind == K_WAITING_ROOM && entered == VISITS_NULL)
			entered = it->t;
		else if (it->kind == K_ADMITTED && entered != VISITS_NULL)
			return seconds(entered, it->t);
	}
	return VISITS_NULL;
}

/* The host's and the patients' first joins, and the waits. */
static void
patient_facts(const struct work *w, struct visit_facts *out)
{
	const char *who;
	long long arrived;

	for (size_t i = 0; i < w->ns; i++) {
		const struct visit_session *s = &w->ss[i];
		long long *first = s->is_host ? &out->host_first_join_ms :
		    &out->first_patient_join_ms;

		if (*first == VISITS_NULL || s->joined_ms < *first)
			*first = s->joined_ms;
	}
	first_patient(w, &who, &arrived);
	if (who == NULL)
		return;
	if (out->host_first_join_ms != VISITS_NULL)
		out->patient_wait_for_host_s = seconds(arrived,
		    out->host_first_join_ms);
	out->waiting_room_wait_s = waiting_room_wait(w, who);
}

/* One end of a session for the sweep: +1 at its join, -1 at its end. */
struct edge {
	long long t;
	int host;
	int other;
};

static int
qsort_edges(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	return cmp_ll(x->t, y->t);
}

/*
 * Time during which at least one host session and one non-host session
 * were open at once, a sweep over the sessions' ends.  A session still
 * open (open visit) counts up to the latest row.  -1 when out of memory.
 */
static int
face_to_face(const struct work *w, struct visit_facts *out)
{
	struct edge *edges;
	size_t ne = 0, i;
	long long total = 0;
	int host = 0, other = 0;

	if ((edges = calloc(2 * w->ns + 1, sizeof(*edges))) == NULL)
		return -1;
	for (i = 0; i < w->ns; i++) {
		const struct visit_session *s = &w->ss[i];
		long long end = s->left_ms != VISITS_NULL ? s->left_ms :
		    w->last_ms;
		int h = s->is_host ? 1 : 0;

		if (end <= s->joined_ms)
			continue;
		edges[ne++] = (struct edge){ s->joined_ms, h, 1 - h };
		edges[ne++] = (struct edge){ end, -h, h - 1 };
	}
	/* Order among equal times does not matter: they add 0 ms. */
	qsort(edges, ne, sizeof(*edges), qsort_edges);
	for (i = 0; i < ne; i++) {
		if (i > 0 && host > 0 && other > 0)
			total += edges[i].t - edges[i - 1].t;
		host += edges[i].host;
		other += edges[i].other;
	}
	free(edges);
	out->face_to_face_s = total / 1000;
	return 0;
}

/* ------------------------------------------------------------- API */

static void
facts_init(struct visit_facts *out)
{
	memset(out, 0, sizeof(*out));
	out->meeting_id = "";
	out->status = VISIT_OPEN;
	out->started_ms = out->ended_ms = out->duration_s = VISITS_NULL;
	out->host_first_join_ms = out->first_patient_join_ms = VISITS_NULL;
	out->patient_wait_for_host_s = out->waiting_room_wait_s = VISITS_NULL;
	out->max_latency_ms = VISITS_NULL;
}

static void
work_release(struct work *w)
{
	free(w->items);
	free(w->ss);
	free(w->hosts);
	memset(w, 0, sizeof(*w));
}

int
visits_compute(const struct visit_event *ev, size_t n, long long now_ms,
    long long quiet_ms, struct visit_facts *out)
{
	struct work w;
	int rc = -1;

	facts_init(out);
	if (n == 0)
		return 0;
	memset(&w, 0, sizeof(w));
	if (load_rows(&w, ev, n) == -1)
		goto out_release_work;
	summarize_rows(&w, out);
	if (build_sessions(&w) == -1 || find_hosts(&w) == -1)
		goto out_release_work;
	decide_end(&w, out, now_ms, quiet_ms);
	qsort(w.ss, w.ns, sizeof(*w.ss), qsort_sessions);
	if (count_people(&w, out) == -1)
		goto out_release_work;
	patient_facts(&w, out);
	if (face_to_face(&w, out) == -1)
		goto out_release_work;
	out->sessions = w.ss;
	out->nsessions = w.ns;
	w.ss = NULL;
	rc = 0;
out_release_work:
	work_release(&w);
	if (rc == -1)
		facts_init(out);
	return rc;
}

void
visit_facts_release(struct visit_facts *facts)
{
	free(facts->sessions);
	facts_init(facts);
}
