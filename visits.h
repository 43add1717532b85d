/*
 * visits.h -- turn the stored events of one visit (one meeting instance,
 * one visit_uuid) into its facts: the sessions of each person and the
 * visit's summary, the rows of zoom_participant_sessions and zoom_visits.
 * Pure: libc only, no I/O, no clock, no database.  The exact meaning of
 * every output is written out in the README's analytics section.
 */
#ifndef VISITS_H
#define VISITS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * The value of an output that is SQL NULL (an unknown time or duration).
 * Every time is Unix milliseconds and every duration whole seconds, both
 * far from this value.
 */
#define VISITS_NULL LLONG_MIN

/*
 * One stored row of zoom_visit_events, as the caller read it.  The order
 * of the rows does not matter, nor do rows that repeat another one field
 * for field.  No string may be NULL except leave_reason.
 */
struct visit_event {
	long long event_ts;             /* delivery time, Unix ms */
	long long event_time_ms;        /* the event's own time; 0 = absent */
	const char *event_name;         /* "meeting.participant_joined", ... */
	const char *meeting_id;         /* may be "" */
	const char *participant_id;     /* the session slot; "" = none */
	const char *person_key;         /* the person; "" = none */
	bool is_host;
	const char *leave_reason;       /* NULL = none */
	int latency_ms;                 /* meaningful when has_latency */
	bool has_latency;
	bool interpreter_requested;
};

/*
 * One stay of one person in the meeting: a join and the leave that ended
 * it.  The strings point into the caller's visit_event rows, which must
 * outlive the facts.
 */
struct visit_session {
	const char *person_key;         /* never "" (falls back to the slot) */
	const char *slot;               /* participant_id, else person_key */
	bool is_host;
	long long joined_ms;
	long long left_ms;              /* VISITS_NULL while open */
	long long duration_s;           /* VISITS_NULL while open */
	bool left_inferred;             /* closed by the visit's end */
	const char *leave_reason;       /* NULL when left_inferred or open */
	bool connection_lost;           /* leave_reason names a lost link */
};

enum visit_status {
	VISIT_OPEN,                     /* may still be going on */
	VISIT_ENDED,                    /* meeting.ended was stored */
	VISIT_ENDED_INFERRED            /* no meeting.ended, quiet too long */
};

/*
 * The facts of one visit.  Fields that can be SQL NULL say so and hold
 * VISITS_NULL then.  sessions is heap memory owned by the struct and
 * freed by visit_facts_release(); like meeting_id, the sessions' strings
 * point into the caller's rows.
 */
struct visit_facts {
	const char *meeting_id;         /* "" when no row had one */
	long long started_ms;           /* VISITS_NULL only when no rows */
	long long ended_ms;             /* VISITS_NULL while open */
	enum visit_status status;
	long long duration_s;           /* VISITS_NULL while open */
	long long participants;         /* distinct non-host persons */
	long long host_first_join_ms;   /* VISITS_NULL: the host never joined */
	long long first_patient_join_ms; /* VISITS_NULL: no non-host joined */
	long long patient_wait_for_host_s; /* may be VISITS_NULL */
	long long waiting_room_wait_s;  /* may be VISITS_NULL */
	long long face_to_face_s;
	long long rejoins;
	long long drops;
	bool interpreter_requested;
	long long max_latency_ms;       /* VISITS_NULL: no row had latency */
	long long events;               /* distinct rows */
	struct visit_session *sessions; /* by joined_ms, then slot */
	size_t nsessions;
};

/*
 * Compute the facts of the visit whose rows are ev[0..n).  now_ms is the
 * current time and quiet_ms how long a visit without meeting.ended may
 * stay silent before it counts as ended; both only decide open versus
 * ended_inferred.  The result depends only on the content of the rows,
 * not on their order.  Fills *out and returns 0; the caller then owns
 * out->sessions and frees it with visit_facts_release().  Returns -1 when
 * out of memory, with *out left empty (owning nothing).  Zero rows give
 * an open visit with every time NULL.
 */
int visits_compute(const struct visit_event *ev, size_t n, long long now_ms,
    long long quiet_ms, struct visit_facts *out);

/* Free what *facts owns and empty it.  Safe to call twice. */
void visit_facts_release(struct visit_facts *facts);

/*
 * True when a participant_left's leave_reason says the participant's
 * connection was lost (a case-insensitive match against a list of
 * wordings in visits.c), rather than a choice to leave, the host ending
 * the meeting or a removal.  False for NULL.
 */
bool visits_connection_lost(const char *leave_reason);

/* The status as stored in zoom_visits.status: "open", "ended",
 * "ended_inferred". */
const char *visits_status_name(enum visit_status status);

#endif /* VISITS_H */
