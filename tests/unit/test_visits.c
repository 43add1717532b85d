/*
 * test_visits.c -- visits_compute() on small visits written out below,
 * one per behaviour of Zoom's stream (waiting rooms, drops and rejoins,
 * late and repeated leaves, missing meeting.started or meeting.ended),
 * then the property that row order and repeated rows never change the
 * facts.  Links visits.o only.
 */
#include "visits.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

/* ---------------------------------------------------------- building rows */

#define T0 1700000000000LL              /* 2023-11-14T22:13:20Z */
#define S(s) ((s) * 1000LL)             /* seconds, as ms */
#define AT(ms) (T0 + (ms))              /* ms into the visit, as Unix ms */
#define NUL VISITS_NULL
#define QUIET_MS S(6 * 3600)            /* visits_compute()'s quiet_ms */
#define MID "85012345678"

#define LEFT_OK "left the meeting. Reason : left the meeting"
#define LOST "left the meeting. Reason : Network connection error"

/* A row whose own time is ms into the visit, delivered 1.5 s later. */
#define ROW(ms, name, slot, person, host, reason)                         \
	{ .event_ts = AT(ms) + 1500, .event_time_ms = AT(ms),             \
	  .event_name = "meeting." name, .meeting_id = MID,               \
	  .participant_id = (slot), .person_key = (person),               \
	  .is_host = (host), .leave_reason = (reason) }

#define STARTED(ms) ROW(ms, "started", "", "", false, NULL)
#define ENDED(ms) ROW(ms, "ended", "", "", false, NULL)
#define JOIN(ms, slot, person)                                            \
	ROW(ms, "participant_joined", slot, person, false, NULL)
#define LEFT(ms, slot, person, reason)                                    \
	ROW(ms, "participant_left", slot, person, false, reason)
#define HJOIN(ms, slot) ROW(ms, "participant_joined", slot, "HOST", true, NULL)
#define HLEFT(ms, slot)                                                   \
	ROW(ms, "participant_left", slot, "HOST", true, LEFT_OK)
#define WAITING(ms, slot, person)                                         \
	ROW(ms, "participant_joined_waiting_room", slot, person, false, NULL)
#define ADMITTED(ms, slot, person)                                        \
	ROW(ms, "participant_admitted", slot, person, false, NULL)
#define JBH_WAITING(ms, slot, person)                                     \
	ROW(ms, "participant_jbh_waiting", slot, person, false, NULL)
#define JBH_JOINED(ms, slot, person)                                      \
	ROW(ms, "participant_jbh_joined", slot, person, false, NULL)
/* A QoS summary: no time of its own, so delivered at ms. */
#define QOS(ms, slot, person, latency)                                    \
	{ .event_ts = AT(ms), .event_name = "meeting.participant_qos",    \
	  .meeting_id = MID, .participant_id = (slot),                    \
	  .person_key = (person), .latency_ms = (latency),                \
	  .has_latency = true }

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- visits */

/* Host in first, the patient joins, both leave, the meeting ends. */
static const struct visit_event normal_visit[] = {
	STARTED(0),
	HJOIN(S(10), "u-host"),
	JOIN(S(40), "u-pat", "PAT"),
	LEFT(S(640), "u-pat", "PAT", LEFT_OK),
	HLEFT(S(650), "u-host"),
	ENDED(S(655)),
};

/* The patient joins first and waits 120.999 s for the host. */
static const struct visit_event patient_waits[] = {
	STARTED(0),
	JOIN(S(5), "u-pat", "PAT"),
	HJOIN(S(125) + 999, "u-host"),
	LEFT(S(425), "u-pat", "PAT", LEFT_OK),
	HLEFT(S(430), "u-host"),
	ENDED(S(431)),
};

/* The patient waits in the waiting room (slot u-wait), the host joins and
 * admits them, and they come in with a new user_id (u-pat). */
static const struct visit_event waiting_room[] = {
	STARTED(0),
	WAITING(S(60), "u-wait", "PAT"),
	HJOIN(S(100), "u-host"),
	ADMITTED(S(150), "u-wait", "PAT"),
	JOIN(S(152), "u-pat", "PAT"),
	LEFT(S(752), "u-pat", "PAT", LEFT_OK),
	HLEFT(S(760), "u-host"),
	ENDED(S(761)),
};

/* Join before host: the patient waits from 0 until the host arrives;
 * no meeting.started. */
static const struct visit_event jbh[] = {
	JBH_WAITING(0, "u-jbh", "PAT"),
	HJOIN(S(300), "u-host"),
	JBH_JOINED(S(300), "u-jbh", "PAT"),
	JOIN(S(301), "u-pat", "PAT"),
	LEFT(S(601), "u-pat", "PAT", LEFT_OK),
	HLEFT(S(602), "u-host"),
	ENDED(S(602)),
};

/*
 * The patient's network fails; they rejoin at 200 s with a new user_id,
 * and Zoom's participant_left for the old slot, stamped 230 s, arrives
 * after the new join.  Rows in arrival order.
 */
static const struct visit_event drop_rejoin[] = {
	STARTED(0),
	HJOIN(S(10), "u-host"),
	JOIN(S(20), "u-pat-1", "PAT"),
	JOIN(S(200), "u-pat-2", "PAT"),
	LEFT(S(230), "u-pat-1", "PAT", LOST),
	LEFT(S(800), "u-pat-2", "PAT", LEFT_OK),
	HLEFT(S(810), "u-host"),
	ENDED(S(811)),
};

/* The patient's join arrives twice and their leave three times (a
 * redelivery, and a second leave stamped a second later). */
static const struct visit_event repeated_rows[] = {
	STARTED(0),
	HJOIN(S(10), "u-host"),
	JOIN(S(40), "u-pat", "PAT"),
	JOIN(S(45), "u-pat", "PAT"),
	LEFT(S(640), "u-pat", "PAT", LEFT_OK),
	LEFT(S(640), "u-pat", "PAT", LEFT_OK),
	LEFT(S(641), "u-pat", "PAT", "left the meeting"),
	HLEFT(S(650), "u-host"),
	ENDED(S(655)),
};

/* An instant meeting: no meeting.started; the patient's join is first. */
static const struct visit_event no_started[] = {
	JOIN(S(3), "u-pat", "PAT"),
	HJOIN(S(20), "u-host"),
	LEFT(S(320), "u-pat", "PAT", LEFT_OK),
	HLEFT(S(330), "u-host"),
	ENDED(S(331)),
};

/* meeting.ended never comes; the host never leaves. */
static const struct visit_event no_ended[] = {
	STARTED(0),
	HJOIN(S(10), "u-host"),
	JOIN(S(40), "u-pat", "PAT"),
	LEFT(S(640), "u-pat", "PAT", LEFT_OK),
};

/* meeting.ended comes, but no participant_left for anyone. */
static const struct visit_event no_leaves[] = {
	STARTED(0),
	HJOIN(S(10), "u-host"),
	JOIN(S(40), "u-pat", "PAT"),
	ENDED(S(700)),
};

/* Names withheld and ids missing: person keys fall back. */
static const struct visit_event withheld[] = {
	STARTED(0),
	ROW(S(10), "participant_joined", "u-host", "", true, NULL),
	JOIN(S(40), "u-anon", ""),
	LEFT(S(100), "u-anon", "", LEFT_OK),
	JOIN(S(50), "u-late-key", ""),
	LEFT(S(300), "u-late-key", "PAT-2", LEFT_OK),
	WAITING(S(30), "", "PAT-3"),
	JOIN(S(60), "", "PAT-3"),
	LEFT(S(90), "", "PAT-3", LEFT_OK),
	ROW(S(400), "participant_left", "u-host", "", true, LEFT_OK),
	ENDED(S(401)),
};

/* An interpreter request, a row without a time of its own. */
static const struct visit_event interpreter[] = {
	STARTED(0),
	HJOIN(S(10), "u-host"),
	JOIN(S(40), "u-pat", "PAT"),
	{ .event_ts = AT(S(50)), .event_name = "meeting.interpreter_requested",
	  .meeting_id = MID, .participant_id = "u-pat", .person_key = "PAT",
	  .interpreter_requested = true },
	LEFT(S(640), "u-pat", "PAT", LEFT_OK),
	HLEFT(S(650), "u-host"),
	ENDED(S(655)),
};

/* QoS summaries with latency; one without (its latency_ms is noise). */
static const struct visit_event latency[] = {
	STARTED(0),
	HJOIN(S(10), "u-host"),
	JOIN(S(40), "u-pat", "PAT"),
	QOS(S(100), "u-pat", "PAT", 120),
	QOS(S(200), "u-pat", "PAT", 340),
	QOS(S(300), "u-host", "HOST", 90),
	{ .event_ts = AT(S(310)), .event_name = "meeting.participant_qos",
	  .meeting_id = MID, .participant_id = "u-pat", .person_key = "PAT",
	  .latency_ms = 9999, .has_latency = false },
	LEFT(S(640), "u-pat", "PAT", LEFT_OK),
	HLEFT(S(650), "u-host"),
	ENDED(S(655)),
};

/* The host on two devices, two patients coming and going. */
static const struct visit_event overlaps[] = {
	STARTED(0),
	HJOIN(0, "u-host-1"),
	JOIN(S(60), "u-pat", "PAT"),
	HJOIN(S(50), "u-host-2"),
	HLEFT(S(100), "u-host-1"),
	JOIN(S(120), "u-fam", "FAMILY"),
	LEFT(S(130), "u-pat", "PAT", LEFT_OK),
	HLEFT(S(150), "u-host-2"),
	LEFT(S(200), "u-fam", "FAMILY", LEFT_OK),
	ENDED(S(200)),
};

/* A join and a leave of one slot in the same millisecond, leave first;
 * an orphan leave whose join was never stored. */
static const struct visit_event same_ms[] = {
	STARTED(0),
	HJOIN(S(1), "u-host"),
	LEFT(S(100), "u-blip", "BLIP", LOST),
	JOIN(S(100), "u-blip", "BLIP"),
	LEFT(S(150), "u-ghost", "GHOST", LEFT_OK),
	HLEFT(S(160), "u-host"),
	ENDED(S(170)),
};

/* The host flag only on some rows: on the first slot's leave, and not at
 * all on the host's rejoin from a second slot. */
static const struct visit_event host_flag[] = {
	STARTED(0),
	JOIN(S(10), "u-host-1", "HOST"),
	JOIN(S(20), "u-pat", "PAT"),
	ROW(S(30), "participant_left", "u-host-1", "HOST", true, LOST),
	JOIN(S(35), "u-host-2", "HOST"),
	LEFT(S(300), "u-pat", "PAT", LEFT_OK),
	LEFT(S(310), "u-host-2", "HOST", LEFT_OK),
	ENDED(S(311)),
};

/* --------------------------------------------------------- expectations */

struct want {
	long long started_ms;
	long long ended_ms;
	enum visit_status status;
	long long duration_s;
	long long participants;
	long long host_first_join_ms;
	long long first_patient_join_ms;
	long long patient_wait_for_host_s;
	long long waiting_room_wait_s;
	long long face_to_face_s;
	long long rejoins;
	long long drops;
	bool interpreter_requested;
	long long max_latency_ms;
	long long events;
	size_t nsessions;
};

struct want_session {
	const char *person_key;
	bool is_host;
	long long joined_ms;
	long long left_ms;
	long long duration_s;
	bool left_inferred;
	const char *leave_reason;
	bool connection_lost;
};

/* visits_compute() must succeed; the caller releases the facts. */
static struct visit_facts
facts_of(const struct visit_event *rows, size_t n, long long now_ms)
{
	struct visit_facts f;

	CHECK_INT(visits_compute(rows, n, now_ms, QUIET_MS, &f), 0);
	return f;
}

/* "Now" for a visit that ended long ago: status must not matter. */
#define LATER AT(S(365 * 86400))
#define FACTS(rows) facts_of((rows), NROWS(rows), LATER)

static void
check_facts(const struct visit_facts *f, const struct want *w)
{
	CHECK_STR(f->meeting_id, MID);
	CHECK_INT(f->started_ms, w->started_ms);
	CHECK_INT(f->ended_ms, w->ended_ms);
	CHECK_STR(visits_status_name(f->status), visits_status_name(w->status));
	CHECK_INT(f->duration_s, w->duration_s);
	CHECK_INT(f->participants, w->participants);
	CHECK_INT(f->host_first_join_ms, w->host_first_join_ms);
	CHECK_INT(f->first_patient_join_ms, w->first_patient_join_ms);
	CHECK_INT(f->patient_wait_for_host_s, w->patient_wait_for_host_s);
	CHECK_INT(f->waiting_room_wait_s, w->waiting_room_wait_s);
	CHECK_INT(f->face_to_face_s, w->face_to_face_s);
	CHECK_INT(f->rejoins, w->rejoins);
	CHECK_INT(f->drops, w->drops);
	CHECK_INT(f->interpreter_requested, w->interpreter_requested);
	CHECK_INT(f->max_latency_ms, w->max_latency_ms);
	CHECK_INT(f->events, w->events);
	CHECK_INT(f->nsessions, w->nsessions);
}

/* The sessions, in output order, against w[0..n). */
static void
check_sessions(const struct visit_facts *f, const struct want_session *w,
    size_t n)
{
	if (!CHECK_INT(f->nsessions, n))
		return;
	for (size_t i = 0; i < n; i++) {
		const struct visit_session *s = &f->sessions[i];

		CHECKF(unit_streq(s->person_key, w[i].person_key),
		    "session %zu: person %s, want %s", i, s->person_key,
		    w[i].person_key);
		CHECKF(s->is_host == w[i].is_host, "session %zu", i);
		CHECKF(s->joined_ms == w[i].joined_ms, "session %zu: "
		    "joined %lld, want %lld", i, s->joined_ms, w[i].joined_ms);
		CHECKF(s->left_ms == w[i].left_ms, "session %zu: left %lld, "
		    "want %lld", i, s->left_ms, w[i].left_ms);
		CHECKF(s->duration_s == w[i].duration_s, "session %zu: "
		    "duration %lld, want %lld", i, s->duration_s,
		    w[i].duration_s);
		CHECKF(s->left_inferred == w[i].left_inferred,
		    "session %zu", i);
		CHECKF(unit_streq(s->leave_reason, w[i].leave_reason),
		    "session %zu: reason %s", i,
		    s->leave_reason ? s->leave_reason : "(null)");
		CHECKF(s->connection_lost == w[i].connection_lost,
		    "session %zu", i);
	}
}

/* ------------------------------------------------------- the scenarios */

static void
visits_should_describe_a_normal_visit(void)
{
	struct visit_facts f = FACTS(normal_visit);

	check_facts(&f, &(struct want){
	    .started_ms = AT(0), .ended_ms = AT(S(655)),
	    .status = VISIT_ENDED, .duration_s = 655, .participants = 1,
	    .host_first_join_ms = AT(S(10)),
	    .first_patient_join_ms = AT(S(40)),
	    .patient_wait_for_host_s = 0, .waiting_room_wait_s = NUL,
	    .face_to_face_s = 600, .max_latency_ms = NUL, .events = 6,
	    .nsessions = 2 });
	check_sessions(&f, (const struct want_session[]){
	    { "HOST", true, AT(S(10)), AT(S(650)), 640, false, LEFT_OK,
	      false },
	    { "PAT", false, AT(S(40)), AT(S(640)), 600, false, LEFT_OK,
	      false } }, 2);
	visit_facts_release(&f);
}

static void
visits_should_time_a_patient_waiting_for_the_host(void)
{
	struct visit_facts f = FACTS(patient_waits);

	/* 120.999 s is 120 whole seconds. */
	CHECK_INT(f.patient_wait_for_host_s, 120);
	CHECK_INT(f.host_first_join_ms, AT(S(125) + 999));
	CHECK_INT(f.first_patient_join_ms, AT(S(5)));
	CHECK_INT(f.face_to_face_s, 299);
	CHECK_INT(f.waiting_room_wait_s, NUL);
	visit_facts_release(&f);
}

static void
visits_should_give_zero_wait_when_the_host_was_first(void)
{
	struct visit_facts f = FACTS(normal_visit);

	CHECK_INT(f.patient_wait_for_host_s, 0);
	visit_facts_release(&f);
}

static void
visits_should_match_waiting_room_to_join_by_person(void)
{
	struct visit_facts f = FACTS(waiting_room);

	check_facts(&f, &(struct want){
	    .started_ms = AT(0), .ended_ms = AT(S(761)),
	    .status = VISIT_ENDED, .duration_s = 761, .participants = 1,
	    .host_first_join_ms = AT(S(100)),
	    .first_patient_join_ms = AT(S(152)),
	    .patient_wait_for_host_s = 40, .waiting_room_wait_s = 90,
	    .face_to_face_s = 600, .max_latency_ms = NUL, .events = 8,
	    .nsessions = 2 });
	/* The waiting-room slot has no join: it makes no session. */
	check_sessions(&f, (const struct want_session[]){
	    { "HOST", true, AT(S(100)), AT(S(760)), 660, false, LEFT_OK,
	      false },
	    { "PAT", false, AT(S(152)), AT(S(752)), 600, false, LEFT_OK,
	      false } }, 2);
	visit_facts_release(&f);
}

static void
visits_should_count_join_before_host_wait_as_arrival(void)
{
	struct visit_facts f = FACTS(jbh);

	CHECK_INT(f.started_ms, AT(S(300)));
	CHECK_INT(f.patient_wait_for_host_s, 300);
	CHECK_INT(f.waiting_room_wait_s, NUL);
	CHECK_INT(f.first_patient_join_ms, AT(S(301)));
	CHECK_INT(f.participants, 1);
	CHECK_INT(f.nsessions, 2);
	visit_facts_release(&f);
}

static void
visits_should_count_a_drop_when_a_late_left_follows_the_rejoin(void)
{
	struct visit_facts f = FACTS(drop_rejoin);

	check_facts(&f, &(struct want){
	    .started_ms = AT(0), .ended_ms = AT(S(811)),
	    .status = VISIT_ENDED, .duration_s = 811, .participants = 1,
	    .host_first_join_ms = AT(S(10)),
	    .first_patient_join_ms = AT(S(20)),
	    .patient_wait_for_host_s = 0, .waiting_room_wait_s = NUL,
	    .face_to_face_s = 780, .rejoins = 1, .drops = 1,
	    .max_latency_ms = NUL, .events = 8, .nsessions = 3 });
	check_sessions(&f, (const struct want_session[]){
	    { "HOST", true, AT(S(10)), AT(S(810)), 800, false, LEFT_OK,
	      false },
	    { "PAT", false, AT(S(20)), AT(S(230)), 210, false, LOST, true },
	    { "PAT", false, AT(S(200)), AT(S(800)), 600, false, LEFT_OK,
	      false } }, 3);
	visit_facts_release(&f);
}

static void
visits_should_not_count_a_drop_without_a_rejoin(void)
{
	static const struct visit_event rows[] = {
		HJOIN(S(10), "u-host"),
		JOIN(S(20), "u-pat", "PAT"),
		LEFT(S(300), "u-pat", "PAT", LOST),
		HLEFT(S(310), "u-host"),
		ENDED(S(311)),
	};
	struct visit_facts f = FACTS(rows);

	CHECK_INT(f.drops, 0);
	CHECK_INT(f.rejoins, 0);
	if (CHECK_INT(f.nsessions, 2))
		CHECK(f.sessions[1].connection_lost);
	visit_facts_release(&f);
}

static void
visits_should_ignore_repeated_joins_and_leaves(void)
{
	struct visit_facts f = FACTS(repeated_rows);

	/* The same facts as the normal visit, but from 9 rows. */
	check_facts(&f, &(struct want){
	    .started_ms = AT(0), .ended_ms = AT(S(655)),
	    .status = VISIT_ENDED, .duration_s = 655, .participants = 1,
	    .host_first_join_ms = AT(S(10)),
	    .first_patient_join_ms = AT(S(40)),
	    .patient_wait_for_host_s = 0, .waiting_room_wait_s = NUL,
	    .face_to_face_s = 600, .max_latency_ms = NUL, .events = 8,
	    .nsessions = 2 });
	check_sessions(&f, (const struct want_session[]){
	    { "HOST", true, AT(S(10)), AT(S(650)), 640, false, LEFT_OK,
	      false },
	    { "PAT", false, AT(S(40)), AT(S(640)), 600, false, LEFT_OK,
	      false } }, 2);
	visit_facts_release(&f);
}

static void
visits_should_give_the_same_facts_for_a_reversed_visit(void)
{
	struct visit_event rev[NROWS(drop_rejoin)];
	struct visit_facts f = FACTS(drop_rejoin), r;

	for (size_t i = 0; i < NROWS(rev); i++)
		rev[i] = drop_rejoin[NROWS(rev) - 1 - i];
	r = FACTS(rev);
	CHECK_INT(r.drops, 1);
	CHECK_INT(r.face_to_face_s, f.face_to_face_s);
	CHECK_INT(r.nsessions, 3);
	for (size_t i = 0; i < r.nsessions && i < f.nsessions; i++) {
		CHECK_INT(r.sessions[i].joined_ms, f.sessions[i].joined_ms);
		CHECK_INT(r.sessions[i].left_ms, f.sessions[i].left_ms);
		CHECK_STR(r.sessions[i].leave_reason,
		    f.sessions[i].leave_reason);
	}
	visit_facts_release(&f);
	visit_facts_release(&r);
}

static void
visits_should_start_at_the_first_join_without_meeting_started(void)
{
	struct visit_facts f = FACTS(no_started);

	CHECK_INT(f.started_ms, AT(S(3)));
	CHECK_INT(f.duration_s, 328);
	CHECK_INT(f.patient_wait_for_host_s, 17);
	visit_facts_release(&f);
}

static void
visits_should_start_at_meeting_started_even_after_a_join(void)
{
	static const struct visit_event rows[] = {
		HJOIN(S(1), "u-host"),
		STARTED(S(2)),
		STARTED(S(5)),          /* a second start, later: ignored */
		HLEFT(S(60), "u-host"),
		ENDED(S(61)),
		ENDED(S(70)),           /* the latest end counts */
	};
	struct visit_facts f = FACTS(rows);

	CHECK_INT(f.started_ms, AT(S(2)));
	CHECK_INT(f.ended_ms, AT(S(70)));
	CHECK_INT(f.duration_s, 68);
	visit_facts_release(&f);
}

static void
visits_should_keep_a_visit_without_meeting_ended_open_while_recent(void)
{
	/* Exactly quiet_ms after the last row is still open. */
	struct visit_facts f = facts_of(no_ended, NROWS(no_ended),
	    AT(S(640)) + QUIET_MS);

	check_facts(&f, &(struct want){
	    .started_ms = AT(0), .ended_ms = NUL, .status = VISIT_OPEN,
	    .duration_s = NUL, .participants = 1,
	    .host_first_join_ms = AT(S(10)),
	    .first_patient_join_ms = AT(S(40)),
	    .patient_wait_for_host_s = 0, .waiting_room_wait_s = NUL,
	    .face_to_face_s = 600, .max_latency_ms = NUL, .events = 4,
	    .nsessions = 2 });
	check_sessions(&f, (const struct want_session[]){
	    { "HOST", true, AT(S(10)), NUL, NUL, false, NULL, false },
	    { "PAT", false, AT(S(40)), AT(S(640)), 600, false, LEFT_OK,
	      false } }, 2);
	visit_facts_release(&f);
}

static void
visits_should_infer_the_end_of_a_quiet_visit(void)
{
	struct visit_facts f = facts_of(no_ended, NROWS(no_ended),
	    AT(S(640)) + QUIET_MS + 1);

	CHECK_STR(visits_status_name(f.status), "ended_inferred");
	CHECK_INT(f.ended_ms, AT(S(640)));
	CHECK_INT(f.duration_s, 640);
	check_sessions(&f, (const struct want_session[]){
	    { "HOST", true, AT(S(10)), AT(S(640)), 630, true, NULL, false },
	    { "PAT", false, AT(S(40)), AT(S(640)), 600, false, LEFT_OK,
	      false } }, 2);
	visit_facts_release(&f);
}

static void
visits_should_not_infer_an_end_before_a_session_still_open(void)
{
	static const struct visit_event rows[] = {
		HJOIN(0, "u-host"),
		JOIN(S(10), "u-pat", "PAT"),
		LEFT(S(100), "u-pat", "PAT", LEFT_OK),
		JOIN(S(200), "u-fam", "FAMILY"),
		QOS(S(300), "u-fam", "FAMILY", 50),
	};
	struct visit_facts f = FACTS(rows);

	CHECK_INT(f.status, VISIT_ENDED_INFERRED);
	CHECK_INT(f.ended_ms, AT(S(200)));
	if (CHECK_INT(f.nsessions, 3)) {
		CHECK_INT(f.sessions[0].left_ms, AT(S(200)));
		CHECK_INT(f.sessions[2].left_ms, AT(S(200)));
		CHECK_INT(f.sessions[2].duration_s, 0);
		CHECK(f.sessions[2].left_inferred);
	}
	visit_facts_release(&f);
}

static void
visits_should_end_a_silent_visit_at_its_last_row(void)
{
	static const struct visit_event rows[] = {
		STARTED(0),
		QOS(S(50), "", "", 10),
	};
	struct visit_facts f = FACTS(rows);

	CHECK_INT(f.status, VISIT_ENDED_INFERRED);
	CHECK_INT(f.ended_ms, AT(S(50)));
	CHECK_INT(f.duration_s, 50);
	CHECK_INT(f.nsessions, 0);
	CHECK_INT(f.host_first_join_ms, NUL);
	CHECK_INT(f.patient_wait_for_host_s, NUL);
	visit_facts_release(&f);
}

static void
visits_should_close_open_sessions_at_meeting_ended(void)
{
	struct visit_facts f = FACTS(no_leaves);

	CHECK_INT(f.status, VISIT_ENDED);
	CHECK_INT(f.face_to_face_s, 660);
	check_sessions(&f, (const struct want_session[]){
	    { "HOST", true, AT(S(10)), AT(S(700)), 690, true, NULL, false },
	    { "PAT", false, AT(S(40)), AT(S(700)), 660, true, NULL,
	      false } }, 2);
	visit_facts_release(&f);
}

static void
visits_should_fall_back_to_the_slot_when_names_are_withheld(void)
{
	struct visit_facts f = FACTS(withheld);

	/* u-anon has no key at all; u-late-key's leave names PAT-2; PAT-3
	 * has no slot, so its key is its slot too. */
	check_sessions(&f, (const struct want_session[]){
	    { "u-host", true, AT(S(10)), AT(S(400)), 390, false, LEFT_OK,
	      false },
	    { "u-anon", false, AT(S(40)), AT(S(100)), 60, false, LEFT_OK,
	      false },
	    { "PAT-2", false, AT(S(50)), AT(S(300)), 250, false, LEFT_OK,
	      false },
	    { "PAT-3", false, AT(S(60)), AT(S(90)), 30, false, LEFT_OK,
	      false } }, 4);
	CHECK_INT(f.participants, 3);
	CHECK_INT(f.rejoins, 0);
	/* PAT-3 arrived first, in the waiting room, never admitted. */
	CHECK_INT(f.patient_wait_for_host_s, 0);
	CHECK_INT(f.waiting_room_wait_s, NUL);
	CHECK_INT(f.first_patient_join_ms, AT(S(40)));
	visit_facts_release(&f);
}

static void
visits_should_note_an_interpreter_request(void)
{
	struct visit_facts f = FACTS(interpreter), g = FACTS(normal_visit);

	CHECK(f.interpreter_requested);
	CHECK(!g.interpreter_requested);
	CHECK_INT(f.events, 7);
	CHECK_INT(f.ended_ms, g.ended_ms);
	visit_facts_release(&f);
	visit_facts_release(&g);
}

static void
visits_should_keep_the_highest_qss_latency(void)
{
	struct visit_facts f = FACTS(latency), g = FACTS(normal_visit);

	CHECK_INT(f.max_latency_ms, 340);
	CHECK_INT(g.max_latency_ms, NUL);
	CHECK_INT(f.face_to_face_s, 600);
	visit_facts_release(&f);
	visit_facts_release(&g);
}

static void
visits_should_count_face_to_face_once_across_overlaps(void)
{
	struct visit_facts f = FACTS(overlaps);

	/* Host 0..150 (two devices), patients 60..130 and 120..200. */
	CHECK_INT(f.face_to_face_s, 90);
	CHECK_INT(f.participants, 2);
	CHECK_INT(f.rejoins, 1);        /* the host's second device */
	CHECK_INT(f.drops, 0);
	visit_facts_release(&f);
}

static void
visits_should_order_join_before_leave_in_one_millisecond(void)
{
	struct visit_facts f = FACTS(same_ms);

	/* BLIP: a zero-length session; GHOST's leave has no join. */
	check_sessions(&f, (const struct want_session[]){
	    { "HOST", true, AT(S(1)), AT(S(160)), 159, false, LEFT_OK,
	      false },
	    { "BLIP", false, AT(S(100)), AT(S(100)), 0, false, LOST,
	      true } }, 2);
	CHECK_INT(f.participants, 1);
	CHECK_INT(f.face_to_face_s, 0);
	visit_facts_release(&f);
}

static void
visits_should_make_every_session_of_the_host_person_the_hosts(void)
{
	struct visit_facts f = FACTS(host_flag);

	if (CHECK_INT(f.nsessions, 3)) {
		CHECK(f.sessions[0].is_host);   /* flag on its leave only */
		CHECK(!f.sessions[1].is_host);
		CHECK(f.sessions[2].is_host);   /* no flag, same person */
	}
	CHECK_INT(f.participants, 1);
	CHECK_INT(f.rejoins, 1);
	CHECK_INT(f.drops, 1);
	CHECK_INT(f.host_first_join_ms, AT(S(10)));
	CHECK_INT(f.face_to_face_s, 275);
	visit_facts_release(&f);
}

static void
visits_should_take_the_first_nonempty_meeting_id(void)
{
	struct visit_event rows[] = {
		JOIN(0, "u-pat", "PAT"),
		STARTED(S(1)),
		ENDED(S(2)),
	};
	struct visit_facts f;

	rows[0].meeting_id = "";        /* a join without object.id */
	rows[2].meeting_id = "85099999999";
	f = FACTS(rows);
	CHECK_STR(f.meeting_id, MID);
	visit_facts_release(&f);
	rows[1].meeting_id = rows[2].meeting_id = "";
	f = FACTS(rows);
	CHECK_STR(f.meeting_id, "");
	visit_facts_release(&f);
}

static void
visits_should_use_event_ts_when_the_row_has_no_time(void)
{
	struct visit_event rows[] = {
		JOIN(S(10), "u-pat", "PAT"),
		LEFT(S(20), "u-pat", "PAT", LEFT_OK),
	};
	struct visit_facts f;

	rows[1].event_time_ms = 0;
	f = FACTS(rows);
	if (CHECK_INT(f.nsessions, 1))
		CHECK_INT(f.sessions[0].left_ms, AT(S(20)) + 1500);
	visit_facts_release(&f);
}

static void
visits_should_count_identical_rows_once(void)
{
	static const struct visit_event rows[] = {
		STARTED(0), STARTED(0), STARTED(0),
	};
	struct visit_facts f = FACTS(rows);

	CHECK_INT(f.events, 1);
	visit_facts_release(&f);
}

static void
visits_should_give_an_empty_open_visit_for_no_rows(void)
{
	struct visit_facts f;

	CHECK_INT(visits_compute(NULL, 0, LATER, QUIET_MS, &f), 0);
	CHECK_INT(f.status, VISIT_OPEN);
	CHECK_INT(f.started_ms, NUL);
	CHECK_INT(f.events, 0);
	CHECK(f.sessions == NULL);
	CHECK_STR(f.meeting_id, "");
	visit_facts_release(&f);
	visit_facts_release(&f);        /* twice is harmless */
	CHECK(f.sessions == NULL);
}

static void
visits_should_return_sessions_by_join_time_then_slot(void)
{
	struct visit_facts f = FACTS(overlaps);

	for (size_t i = 1; i < f.nsessions; i++) {
		const struct visit_session *a = &f.sessions[i - 1],
		    *b = &f.sessions[i];

		CHECKF(a->joined_ms < b->joined_ms ||
		    (a->joined_ms == b->joined_ms &&
		    strcmp(a->slot, b->slot) < 0), "sessions %zu, %zu",
		    i - 1, i);
	}
	CHECK_INT(f.nsessions, 4);
	visit_facts_release(&f);
}

/* ------------------------------------------------- connection loss */

static void
visits_connection_lost_should_follow_its_wording_table(void)
{
	static const struct {
		const char *reason;
		bool lost;
	} t[] = {
		{ LOST, true },
		{ "NETWORK CONNECTION ERROR", true },
		{ "left the meeting. Reason : network disconnected", true },
		{ "Reason : Connection lost", true },
		{ "lost connection to the server", true },
		{ "Reason : Connection error", true },
		{ "connection failed", true },
		{ "Connection Timed Out", true },
		{ "connection timeout", true },
		{ "connection dropped", true },
		{ "Reason : unstable connection", true },
		{ "got disconnected from the meeting. Reason : Client Close.",
		  true },
		{ LEFT_OK, false },
		{ "left the meeting", false },
		{ "Host ended the meeting", false },
		{ "left the meeting. Reason : Host ended the meeting", false },
		{ "removed by host", false },
		{ "left the meeting. Reason : removed by host", false },
		{ "Unknown reason", false },
		{ "Reason : Join meeting from another device", false },
		{ "connection", false },
		{ "netwo", false },
		{ "", false },
		{ NULL, false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECKF(visits_connection_lost(t[i].reason) == t[i].lost,
		    "\"%s\" should be %s", t[i].reason ? t[i].reason : "(null)",
		    t[i].lost ? "lost" : "not lost");
}

static void
visits_status_name_should_match_the_column_values(void)
{
	CHECK_STR(visits_status_name(VISIT_OPEN), "open");
	CHECK_STR(visits_status_name(VISIT_ENDED), "ended");
	CHECK_STR(visits_status_name(VISIT_ENDED_INFERRED), "ended_inferred");
}

/* --------------------------------------------------- order property */

static bool
same_int(long long x, long long y, const char *what, char *why, size_t len)
{
	if (x == y)
		return true;
	snprintf(why, len, "%s %lld != %lld", what, x, y);
	return false;
}

static bool
same_str(const char *x, const char *y, const char *what, char *why,
    size_t len)
{
	if (unit_streq(x, y))
		return true;
	snprintf(why, len, "%s \"%s\" != \"%s\"", what, x ? x : "(null)",
	    y ? y : "(null)");
	return false;
}

#define INT(f) same_int((long long)a->f, (long long)b->f, #f, why, len)
#define STR(f) same_str(a->f, b->f, #f, why, len)

static bool
sessions_equal(const struct visit_session *a, const struct visit_session *b,
    char *why, size_t len)
{
	return STR(person_key) && STR(slot) && INT(is_host) &&
	    INT(joined_ms) && INT(left_ms) && INT(duration_s) &&
	    INT(left_inferred) && STR(leave_reason) && INT(connection_lost);
}

/*
 * true when two facts are equal field for field and session for session;
 * else false, with the first difference in why.
 */
static bool
facts_equal(const struct visit_facts *a, const struct visit_facts *b,
    char *why, size_t len)
{
	char what[200];

	if (!(STR(meeting_id) && INT(started_ms) && INT(ended_ms) &&
	    INT(status) && INT(duration_s) && INT(participants) &&
	    INT(host_first_join_ms) && INT(first_patient_join_ms) &&
	    INT(patient_wait_for_host_s) && INT(waiting_room_wait_s) &&
	    INT(face_to_face_s) && INT(rejoins) && INT(drops) &&
	    INT(interpreter_requested) && INT(max_latency_ms) &&
	    INT(events) && INT(nsessions)))
		return false;
	for (size_t i = 0; i < a->nsessions; i++) {
		if (sessions_equal(&a->sessions[i], &b->sessions[i], what,
		    sizeof(what)))
			continue;
		snprintf(why, len, "sessions[%zu].%s", i, what);
		return false;
	}
	why[0] = '\0';
	return true;
}

#undef INT
#undef STR

/* The property test would pass vacuously if facts_equal() saw nothing. */
static void
facts_equal_should_notice_every_field(void)
{
	struct visit_facts a = FACTS(drop_rejoin), b;
	struct visit_session ss[3];
	char why[256];

	CHECKF(facts_equal(&a, &a, why, sizeof(why)), "%s", why);
	if (!CHECK_INT(a.nsessions, 3))
		return;
#define MUTATED(change)                                                   \
	do {                                                              \
		b = a;                                                    \
		memcpy(ss, a.sessions, sizeof(ss));                       \
		b.sessions = ss;                                          \
		change;                                                   \
		CHECKF(!facts_equal(&a, &b, why, sizeof(why)), #change);  \
	} while (0)
	MUTATED(b.meeting_id = "85000000000");
	MUTATED(b.started_ms++);
	MUTATED(b.ended_ms = NUL);
	MUTATED(b.status = VISIT_ENDED_INFERRED);
	MUTATED(b.duration_s++);
	MUTATED(b.participants++);
	MUTATED(b.host_first_join_ms++);
	MUTATED(b.first_patient_join_ms++);
	MUTATED(b.patient_wait_for_host_s++);
	MUTATED(b.waiting_room_wait_s++);
	MUTATED(b.face_to_face_s++);
	MUTATED(b.rejoins++);
	MUTATED(b.drops++);
	MUTATED(b.interpreter_requested = true);
	MUTATED(b.max_latency_ms = 1);
	MUTATED(b.events++);
	MUTATED(b.nsessions--);
	MUTATED(ss[2].person_key = "PAT-2");
	MUTATED(ss[2].slot = "u-pat-3");
	MUTATED(ss[2].is_host = true);
	MUTATED(ss[2].joined_ms++);
	MUTATED(ss[2].left_ms++);
	MUTATED(ss[2].duration_s++);
	MUTATED(ss[2].left_inferred = true);
	MUTATED(ss[2].leave_reason = NULL);
	MUTATED(ss[2].connection_lost = true);
#undef MUTATED
	visit_facts_release(&a);
}

/* Every visit above, with the "now" that gives its status. */
struct scenario {
	const char *name;
	const struct visit_event *rows;
	size_t n;
	long long now_ms;
};

#define SCENARIO(rows, now) { #rows, rows, NROWS(rows), now }

static const struct scenario scenarios[] = {
	SCENARIO(normal_visit, LATER),
	SCENARIO(patient_waits, LATER),
	SCENARIO(waiting_room, LATER),
	SCENARIO(jbh, LATER),
	SCENARIO(drop_rejoin, LATER),
	SCENARIO(repeated_rows, LATER),
	SCENARIO(no_started, LATER),
	SCENARIO(no_ended, AT(S(700))),
	SCENARIO(no_ended, LATER),
	SCENARIO(no_leaves, LATER),
	SCENARIO(withheld, LATER),
	SCENARIO(interpreter, LATER),
	SCENARIO(latency, AT(S(310))),
	SCENARIO(latency, LATER),
	SCENARIO(overlaps, LATER),
	SCENARIO(same_ms, LATER),
	SCENARIO(host_flag, LATER),
};

#define ROUNDS 20

/* xorshift64, seeded: the same permutations on every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t
rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
shuffle(struct visit_event *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next() % i);
		struct visit_event tmp = v[i - 1];

		v[i - 1] = v[j];
		v[j] = tmp;
	}
}

/* One check: rows[0..n), in whatever order, give the facts want. */
static void
check_same_facts(const struct scenario *sc, const struct visit_event *rows,
    size_t n, const struct visit_facts *want, const char *variant,
    int round)
{
	struct visit_facts got;
	char why[256];

	if (!CHECKF(visits_compute(rows, n, sc->now_ms, QUIET_MS, &got) == 0,
	    "%s", sc->name))
		return;
	CHECKF(facts_equal(want, &got, why, sizeof(why)), "%s, %s %d: %s",
	    sc->name, variant, round, why);
	visit_facts_release(&got);
}

/*
 * Each visit shuffled ROUNDS times; then shuffled with some rows (all of
 * them in round 0) stored twice; then with redeliveries: copies of rows
 * that carry their own time, delivered later (each a new event_ts, so a
 * new row), which must change nothing but the count of rows.
 */
static void
visits_should_not_depend_on_row_order_or_repeats(void)
{
	for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]);
	    k++) {
		const struct scenario *sc = &scenarios[k];
		struct visit_facts want = facts_of(sc->rows, sc->n, sc->now_ms);
		struct visit_facts redelivered;
		struct visit_event *buf = calloc(2 * sc->n, sizeof(*buf));
		size_t m;

		if (buf == NULL)
			abort();
		for (int round = 0; round < ROUNDS; round++) {
			memcpy(buf, sc->rows, sc->n * sizeof(*buf));
			shuffle(buf, sc->n);
			check_same_facts(sc, buf, sc->n, &want, "shuffle",
			    round);
		}
		for (int round = 0; round < ROUNDS; round++) {
			memcpy(buf, sc->rows, sc->n * sizeof(*buf));
			for (size_t i = m = sc->n; i-- > 0; )
				if (round == 0 || rng_next() % 2 == 0)
					buf[m++] = sc->rows[i];
			shuffle(buf, m);
			check_same_facts(sc, buf, m, &want, "repeats", round);
		}
		for (int round = 0; round < ROUNDS; round++) {
			memcpy(buf, sc->rows, sc->n * sizeof(*buf));
			for (size_t i = m = sc->n; i-- > 0; ) {
				if (sc->rows[i].event_time_ms == 0 ||
				    rng_next() % 2 != 0)
					continue;
				buf[m] = sc->rows[i];
				buf[m++].event_ts += S(60) + (long long)i;
			}
			redelivered = want;     /* shares want's sessions */
			redelivered.events += (long long)(m - sc->n);
			shuffle(buf, m);
			check_same_facts(sc, buf, m, &redelivered,
			    "redeliveries", round);
		}
		free(buf);
		visit_facts_release(&want);
	}
}

int
main(void)
{
	RUN(visits_should_describe_a_normal_visit);
	RUN(visits_should_time_a_patient_waiting_for_the_host);
	RUN(visits_should_give_zero_wait_when_the_host_was_first);
	RUN(visits_should_match_waiting_room_to_join_by_person);
	RUN(visits_should_count_join_before_host_wait_as_arrival);
	RUN(visits_should_count_a_drop_when_a_late_left_follows_the_rejoin);
	RUN(visits_should_not_count_a_drop_without_a_rejoin);
	RUN(visits_should_ignore_repeated_joins_and_leaves);
	RUN(visits_should_give_the_same_facts_for_a_reversed_visit);
	RUN(visits_should_start_at_the_first_join_without_meeting_started);
	RUN(visits_should_start_at_meeting_started_even_after_a_join);
	RUN(visits_should_keep_a_visit_without_meeting_ended_open_while_recent);
	RUN(visits_should_infer_the_end_of_a_quiet_visit);
	RUN(visits_should_not_infer_an_end_before_a_session_still_open);
	RUN(visits_should_end_a_silent_visit_at_its_last_row);
	RUN(visits_should_close_open_sessions_at_meeting_ended);
	RUN(visits_should_fall_back_to_the_slot_when_names_are_withheld);
	RUN(visits_should_note_an_interpreter_request);
	RUN(visits_should_keep_the_highest_qss_latency);
	RUN(visits_should_count_face_to_face_once_across_overlaps);
	RUN(visits_should_order_join_before_leave_in_one_millisecond);
	RUN(visits_should_make_every_session_of_the_host_person_the_hosts);
	RUN(visits_should_take_the_first_nonempty_meeting_id);
	RUN(visits_should_use_event_ts_when_the_row_has_no_time);
	RUN(visits_should_count_identical_rows_once);
	RUN(visits_should_give_an_empty_open_visit_for_no_rows);
	RUN(visits_should_return_sessions_by_join_time_then_slot);
	RUN(visits_connection_lost_should_follow_its_wording_table);
	RUN(visits_status_name_should_match_the_column_values);
	RUN(facts_equal_should_notice_every_field);
	RUN(visits_should_not_depend_on_row_order_or_repeats);
	return unit_report("test_visits");
}
