/*
 * test_normalize.c -- normalize_event() against the fixtures in
 * tests/fixtures/ (realistic Zoom bodies, expected fields in the table
 * below, not in the files) and against inline bodies for every rejection
 * path.  Links normalize.o and -lcjson only.  Run from the repository root.
 */
#include "normalize.h"
#include "tests/unit/norm_oracle.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

#define FIXTURES "tests/fixtures/"

/* Every result some case produced; each must show up at least once. */
static bool seen[NORM_RESULT_COUNT];

/* A string literal and its length without the NUL: bodies may hold NULs. */
#define B(s) s, sizeof(s) - 1

/* ---------------------------------------------------------------- helpers */

__attribute__((format(printf, 1, 2)))
static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		abort();
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* unit repeated n times, as a new string. */
static char *
repeat(const char *unit, size_t n)
{
	size_t ulen = strlen(unit);
	char *s = malloc(ulen * n + 1);

	if (s == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ulen, unit, ulen);
	s[ulen * n] = '\0';
	return s;
}

/* The whole of a fixture file; *len its size.  NULL when unreadable. */
static char *
read_fixture(const char *name, size_t *len)
{
	char path[256];
	FILE *fp;
	char *buf;
	long size;

	snprintf(path, sizeof(path), FIXTURES "%s", name);
	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return NULL;
	}
	/* Exactly size bytes, no NUL: normalize must not read past len. */
	if ((buf = malloc(size > 0 ? (size_t)size : 1)) == NULL)
		abort();
	if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	*len = (size_t)size;
	return buf;
}

/*
 * Normalize body[0..len) into *ev (filled with junk first, to prove it is
 * reset), and check what holds for every result: the result itself, raw
 * and raw_len, the class, and that err is set exactly on non-success.
 */
static enum norm_result
run(const char *body, size_t len, struct zoom_event *ev,
    enum norm_result want)
{
	char err[512];
	enum norm_result r;

	memset(ev, 0x5A, sizeof(*ev));
	memset(err, 'x', sizeof(err));
	r = normalize_event(body, len, ev, err, sizeof(err));
	if ((unsigned)r < NORM_RESULT_COUNT)
		seen[r] = true;
	CHECKF(r == want, "got %s, want %s: %s", norm_strerror(r),
	    norm_strerror(want), err);
	CHECK(ev->raw == body);
	CHECK_INT(ev->raw_len, len);
	CHECK(norm_class(r) == norm_oracle_class(r));
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (r == NORM_OK || r == NORM_URL_VALIDATION)
		CHECK_STR(err, "");
	else
		CHECKF(err[0] != '\0', "no explanation for %s",
		    norm_strerror(r));
	return r;
}

/* ------------------------------------------------------ fixture-driven */

struct fixture {
	const char *test;               /* the behaviour, for failures */
	const char *file;               /* under tests/fixtures/ */
	enum norm_result result;
	const char *event_name;
	const char *meeting_id;
	const char *visit_uuid;
	long long event_ts;
	const char *participant_id;
	const char *participant_name;   /* NULL: has_participant_name false */
	bool has_latency;
	int latency_ms;
	bool interpreter_requested;
	const char *plain_token;
};

static const struct fixture fixtures[] = {
	{ "normalize_should_accept_the_seed_example",
	  "seed_participant_joined.json", NORM_OK,
	  "meeting.participant_joined", "123456789", "abc-def-ghi",
	  1234567890, "user123", "Dr. Smith", true, 45, false, "" },
	{ "normalize_should_accept_meeting_started_without_participant",
	  "meeting_started.json", NORM_OK, "meeting.started", "1234567890",
	  "4444AAAiAAAAAiAiAiiAii==", 1626230691572LL, "", NULL, false, 0,
	  false, "" },
	{ "normalize_should_print_a_numeric_meeting_id_in_decimal",
	  "meeting_ended_numeric_id.json", NORM_OK, "meeting.ended",
	  "85746065432", "/ajE1h8GRqGx3+AkzhE8Qw==", 1626230801572LL, "",
	  NULL, false, 0, false, "" },
	{ "normalize_should_keep_cjk_names_and_prefer_user_id",
	  "participant_joined_cjk.json", NORM_OK,
	  "meeting.participant_joined", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626230691572LL, "16778240",
	  "\xE7\x8E\x8B\xE5\xB0\x8F\xE6\x98\x8E" /* 王小明 */, false, 0,
	  false, "" },
	{ "normalize_should_keep_arabic_names",
	  "participant_joined_arabic.json", NORM_OK,
	  "meeting.participant_joined", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626230692000LL, "16778241",
	  "د. أحمد الحسن", false, 0, false, "" },
	{ "normalize_should_decode_escaped_surrogate_pairs_in_names",
	  "participant_joined_emoji_escaped.json", NORM_OK,
	  "meeting.participant_joined", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626230693000LL, "16778242",
	  "Nurse Kim \xF0\x9F\xA9\xBA \xC3\xA9\xE4\xB8\xAD", false, 0, false,
	  "" },
	{ "normalize_should_keep_raw_emoji_sequences_in_names",
	  "participant_joined_emoji_raw.json", NORM_OK,
	  "meeting.participant_joined", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626230694000LL, "16778243",
	  "Dr. Smith 👩‍⚕️🇯🇵", false, 0, false, "" },
	{ "normalize_should_read_latency_at_participant_level",
	  "participant_left_with_name.json", NORM_OK,
	  "meeting.participant_left", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626234291572LL, "16778240",
	  "Jill Chill", true, 120, false, "" },
	{ "normalize_should_fall_back_to_participant_id_without_name",
	  "participant_left_no_name.json", NORM_OK,
	  "meeting.participant_left", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626234292572LL,
	  "iFxeBPYun6SAiWUzBcEkX", NULL, false, 0, false, "" },
	{ "normalize_should_treat_null_name_and_latency_as_absent",
	  "participant_left_null_name_numeric_user.json", NORM_OK,
	  "meeting.participant_left", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626234293572LL, "16778240", NULL,
	  false, 0, false, "" },
	{ "normalize_should_unescape_slashes_in_base64_uuids",
	  "uuid_escaped_slashes.json", NORM_OK, "meeting.started",
	  "987654321", "//Zm9vYmFy+Yg==", 1626230691573LL, "", NULL, false, 0,
	  false, "" },
	{ "normalize_should_set_interpreter_requested_when_true",
	  "interpreter_requested_true.json", NORM_OK,
	  "meeting.participant_joined", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626230695000LL, "16778244",
	  "María José Núñez", true, 0, true, "" },
	{ "normalize_should_clear_interpreter_requested_when_false",
	  "interpreter_requested_false.json", NORM_OK,
	  "meeting.participant_joined", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626230696000LL, "16778245",
	  "Ola Nordmann", true, 2147483647, false, "" },
	{ "normalize_should_set_interpreter_for_interpreter_event",
	  "interpreter_requested_event.json", NORM_OK,
	  "meeting.interpreter_requested", "85746065432",
	  "ajE1h8GRqGx3+AkzhE8Qw/==", 1626230697000LL, "16778246",
	  "Patient 7", false, 0, true, "" },
	{ "normalize_should_prefer_object_latency_over_participant_latency",
	  "latency_both_levels.json", NORM_OK, "meeting.participant_joined",
	  "85746065432", "ajE1h8GRqGx3+AkzhE8Qw/==", 1626230698000LL,
	  "16778247", "Both Levels", true, 30, false, "" },
	{ "normalize_should_answer_url_validation",
	  "url_validation.json", NORM_URL_VALIDATION,
	  "endpoint.url_validation", "", "", 0, "", NULL, false, 0, false,
	  "qgg8vlvZRS6UYooatFL8Aw" },
	{ "normalize_should_ignore_user_created",
	  "user_created.json", NORM_NOT_MEETING, "user.created", "", "", 0,
	  "", NULL, false, 0, false, "" },
	{ "normalize_should_store_recording_completed_as_a_meeting_event",
	  "recording_completed.json", NORM_OK, "recording.completed",
	  "1234567890", "4444AAAiAAAAAiAiAiiAii==", 1626230700000LL, "",
	  NULL, false, 0, false, "" },
	{ "normalize_should_allow_trailing_whitespace_and_crlf",
	  "trailing_whitespace_crlf.json", NORM_OK, "meeting.started",
	  "1234567890", "4444AAAiAAAAAiAiAiiAii==", 1626230701000LL, "", NULL,
	  false, 0, false, "" },
};

static void
check_fields(const struct zoom_event *ev, const struct fixture *f)
{
	CHECK_STR(ev->event_name, f->event_name);
	CHECK_STR(ev->meeting_id, f->meeting_id);
	CHECK_STR(ev->visit_uuid, f->visit_uuid);
	CHECK_INT(ev->event_ts, f->event_ts);
	CHECK_STR(ev->participant_id, f->participant_id);
	CHECK_INT(ev->has_participant_name, f->participant_name != NULL);
	CHECK_STR(ev->participant_name,
	    f->participant_name ? f->participant_name : "");
	CHECK_INT(ev->has_latency, f->has_latency);
	CHECK_INT(ev->latency_ms, f->latency_ms);
	CHECK_INT(ev->interpreter_requested, f->interpreter_requested);
	CHECK_STR(ev->plain_token, f->plain_token);
}

static void
normalize_fixtures_should_match_their_table(void)
{
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture *f = &fixtures[i];
		struct zoom_event ev;
		size_t len = 0;
		char *body;

		unit_current = f->test;
		body = read_fixture(f->file, &len);
		if (!CHECKF(body != NULL, "cannot read " FIXTURES "%s (run "
		    "from the repository root)", f->file))
			continue;
		if (run(body, len, &ev, f->result) == f->result)
			check_fields(&ev, f);
		free(body);
	}
}

/*
 * Zoom's meeting-event catalog (issue 11), one fixture per event in the
 * shape of Zoom's documentation and its generated types (sources in
 * tests/fixtures/catalog/NOTES.md): who each event is about, and when.
 */
struct catalog_case {
	const char *test;
	const char *file;               /* under tests/fixtures/ */
	const char *event_name;
	const char *meeting_id;
	const char *visit_uuid;
	long long event_ts;
	long long event_time_ms;        /* 0 = absent */
	const char *participant_id;     /* the slot */
	const char *participant_key_source;
	const char *person_key;
	int is_host;
	int latency_ms;                 /* -1 = absent */
	const char *leave_reason;       /* NULL = absent */
};

static const struct catalog_case catalog[] = {
	{ "normalize_should_key_meeting_device_tested", "catalog/meeting_device_tested.json",
	  "meeting.device_tested", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705307066LL, 0LL,
	  "16779264", "user_id", "16779264", 0, -1, NULL },
	{ "normalize_should_key_meeting_ended", "catalog/meeting_ended.json",
	  "meeting.ended", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741707069287LL, 1741707069000LL,
	  "", "", "", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_admitted", "catalog/meeting_participant_admitted.json",
	  "meeting.participant_admitted", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705360418LL, 1741705360000LL,
	  "16779264", "user_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_feedback", "catalog/meeting_participant_feedback.json",
	  "meeting.participant_feedback", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741706692311LL, 0LL,
	  "PtUsr7Xq2LmN8bVc4KdWaQ", "participant_user_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_jbh_joined", "catalog/meeting_participant_jbh_joined.json",
	  "meeting.participant_jbh_joined", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705198148LL, 0LL,
	  "PtUsr7Xq2LmN8bVc4KdWaQ", "id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_jbh_waiting", "catalog/meeting_participant_jbh_waiting.json",
	  "meeting.participant_jbh_waiting", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705061412LL, 0LL,
	  "PtUsr7Xq2LmN8bVc4KdWaQ", "id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_jbh_waiting_left", "catalog/meeting_participant_jbh_waiting_left.json",
	  "meeting.participant_jbh_waiting_left", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705195207LL, 0LL,
	  "PtUsr7Xq2LmN8bVc4KdWaQ", "id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_joined", "catalog/meeting_participant_joined.json",
	  "meeting.participant_joined", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705362874LL, 1741705361000LL,
	  "16779264", "user_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_joined_guest", "catalog/meeting_participant_joined_guest.json",
	  "meeting.participant_joined", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705504210LL, 1741705502000LL,
	  "16782336", "user_id", "5E6F7081-92A3-4B4C-9D5E-6F708192A3B4", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_joined_host", "catalog/meeting_participant_joined_host.json",
	  "meeting.participant_joined", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705206746LL, 1741705204000LL,
	  "16778240", "user_id", "HostUser0001abcdEFGH", 1, -1, NULL },
	{ "normalize_should_key_meeting_participant_joined_no_object_id", "catalog/meeting_participant_joined_no_object_id.json",
	  "meeting.participant_joined", "", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705362874LL, 1741705361000LL,
	  "16779264", "user_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_joined_rejoin", "catalog/meeting_participant_joined_rejoin.json",
	  "meeting.participant_joined", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741706007508LL, 1741706006000LL,
	  "16780288", "user_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_joined_waiting_room", "catalog/meeting_participant_joined_waiting_room.json",
	  "meeting.participant_joined_waiting_room", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705272733LL, 1741705272000LL,
	  "16779264", "user_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_joined_withheld", "catalog/meeting_participant_joined_withheld.json",
	  "meeting.participant_joined", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705459955LL, 1741705459000LL,
	  "16781312", "user_id", "C4D5E6F7-0819-4A2B-8C3D-4E5F60718293", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_joined_withheld_keys_absent", "catalog/meeting_participant_joined_withheld_keys_absent.json",
	  "meeting.participant_joined", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705459955LL, 1741705459000LL,
	  "16781312", "user_id", "C4D5E6F7-0819-4A2B-8C3D-4E5F60718293", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_left", "catalog/meeting_participant_left.json",
	  "meeting.participant_left", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741706678402LL, 1741706677000LL,
	  "16780288", "user_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, "left the meeting. Reason : left the meeting" },
	{ "normalize_should_key_meeting_participant_left_disconnected", "catalog/meeting_participant_left_disconnected.json",
	  "meeting.participant_left", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705980033LL, 1741705978000LL,
	  "16779264", "user_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, "got disconnected from the meeting. Reason : Client Close." },
	{ "normalize_should_key_meeting_participant_left_host_ended", "catalog/meeting_participant_left_host_ended.json",
	  "meeting.participant_left", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741707071391LL, 1741707069000LL,
	  "16778240", "user_id", "HostUser0001abcdEFGH", 1, -1, "left the meeting. Reason : Host ended the meeting." },
	{ "normalize_should_key_meeting_participant_left_waiting_room", "catalog/meeting_participant_left_waiting_room.json",
	  "meeting.participant_left_waiting_room", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705360521LL, 1741705360000LL,
	  "16779264", "user_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_put_in_waiting_room", "catalog/meeting_participant_put_in_waiting_room.json",
	  "meeting.participant_put_in_waiting_room", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705695390LL, 1741705695000LL,
	  "16782336", "user_id", "5E6F7081-92A3-4B4C-9D5E-6F708192A3B4", 0, -1, NULL },
	{ "normalize_should_key_meeting_participant_qos_summary", "catalog/meeting_participant_qos_summary.json",
	  "meeting.participant_qos_summary", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741706680118LL, 0LL,
	  "16780288", "participant_id", "PtUsr7Xq2LmN8bVc4KdWaQ", 0, 71, NULL },
	{ "normalize_should_key_meeting_started", "catalog/meeting_started.json",
	  "meeting.started", "85746065432", "ajE1h8GRqGx3+AkzhE8Qw==", 1741705203612LL, 1741705203000LL,
	  "", "", "", 0, -1, NULL },
};

static void
normalize_catalog_should_key_every_event(void)
{
	for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++) {
		const struct catalog_case *c = &catalog[i];
		struct zoom_event ev;
		size_t len = 0;
		char *body;

		unit_current = c->test;
		body = read_fixture(c->file, &len);
		if (!CHECKF(body != NULL, "cannot read " FIXTURES "%s", c->file))
			continue;
		if (run(body, len, &ev, NORM_OK) == NORM_OK) {
			CHECK_STR(ev.event_name, c->event_name);
			CHECK_STR(ev.meeting_id, c->meeting_id);
			CHECK_STR(ev.visit_uuid, c->visit_uuid);
			CHECK_INT(ev.event_ts, c->event_ts);
			CHECK_INT(ev.event_time_ms, c->event_time_ms);
			CHECK_STR(ev.participant_id, c->participant_id);
			CHECK_STR(ev.participant_key_source,
			    c->participant_key_source);
			CHECK_STR(ev.person_key, c->person_key);
			CHECK_INT(ev.is_host, c->is_host);
			CHECK_INT(ev.has_latency, c->latency_ms >= 0);
			if (c->latency_ms >= 0)
				CHECK_INT(ev.latency_ms, c->latency_ms);
			CHECK_INT(ev.has_leave_reason, c->leave_reason != NULL);
			CHECK_STR(ev.leave_reason,
			    c->leave_reason ? c->leave_reason : "");
			CHECK_STR(ev.account_id, "AcctTelehealth01");
		}
		free(body);
	}
	unit_current = "(no test)";
}

static void
normalize_catalog_url_validation_should_answer(void)
{
	struct zoom_event ev;
	size_t len = 0;
	char *body = read_fixture("catalog/endpoint_url_validation.json",
	    &len);

	if (!CHECK(body != NULL))
		return;
	if (run(body, len, &ev, NORM_URL_VALIDATION) == NORM_URL_VALIDATION)
		CHECK_INT(strlen(ev.plain_token), 22);
	free(body);
}

static void
norm_iso8601_should_read_zoom_times(void)
{
	static const struct {
		const char *s;
		int rc;
		long long ms;
	} cases[] = {
		{ "2025-03-11T15:02:41Z", 0, 1741705361000LL },
		{ "1970-01-01T00:00:00Z", 0, 0 },
		{ "2000-02-29T23:59:59Z", 0, 951868799000LL },
		{ "2025-03-11T15:02:41.5Z", 0, 1741705361500LL },
		{ "2025-03-11T15:02:41.123456Z", 0, 1741705361123LL },
		{ "2025-03-11T17:02:41+02:00", 0, 1741705361000LL },
		{ "2025-03-11T10:02:41-05:00", 0, 1741705361000LL },
		{ "2025-03-11 15:02:41Z", 0, 1741705361000LL },
		{ "2025-03-11T15:02:41", -1, 0 },
		{ "2025-03-11T15:02:41ZZ", -1, 0 },
		{ "2025-13-11T15:02:41Z", -1, 0 },
		{ "2025-03-11T24:02:41Z", -1, 0 },
		{ "2025-03-11T15:02:41.Z", -1, 0 },
		{ "1969-12-31T23:59:59Z", -1, 0 },
		{ "2025-3-11T15:02:41Z", -1, 0 },
		{ "", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long ms = -7;
		int rc = norm_iso8601_ms(cases[i].s, &ms);

		CHECKF(rc == cases[i].rc, "%s", cases[i].s);
		if (rc == 0 && cases[i].rc == 0)
			CHECKF(ms == cases[i].ms, "%s: got %lld", cases[i].s,
			    ms);
	}
}

/* ------------------------------------------------------- inline bodies */

#define EV "meeting.participant_joined"
#define TS "1626230691572"
#define IDS "\"id\":\"85746065432\",\"uuid\":\"ajE1h8GRqGx3+AkzhE8Qw/==\""
/* A meeting event whose payload.object holds IDS plus obj. */
#define MEETING_TS(ts, obj) \
	"{\"event\":\"" EV "\",\"event_ts\":" ts \
	",\"payload\":{\"object\":{" obj "}}}"
#define MEETING(obj) MEETING_TS(TS, IDS "," obj)
#define PARTICIPANT(p) MEETING("\"participant\":{" p "}")
#define VALIDATION(payload) \
	"{\"event\":\"endpoint.url_validation\",\"event_ts\":1654503849680" \
	payload "}"

struct inline_case {
	const char *test;
	const char *body;
	size_t len;
	enum norm_result result;
	const char *event_name;         /* NULL: "" */
};

static const struct inline_case cases[] = {
	/* NORM_ERR_EMPTY */
	{ "normalize_should_reject_empty_body", B(""), NORM_ERR_EMPTY,
	  NULL },

	/* NORM_ERR_UTF8 */
	{ "normalize_should_reject_lone_continuation_byte",
	  B("{\"event\":\"\x80\"}"), NORM_ERR_UTF8, NULL },
	{ "normalize_should_reject_overlong_two_byte_slash",
	  B("{\"event\":\"\xC0\xAF\"}"), NORM_ERR_UTF8, NULL },
	{ "normalize_should_reject_overlong_nul",
	  B("{\"event\":\"\xC0\x80\"}"), NORM_ERR_UTF8, NULL },
	{ "normalize_should_reject_overlong_three_byte",
	  B("{\"event\":\"\xE0\x80\xAF\"}"), NORM_ERR_UTF8, NULL },
	{ "normalize_should_reject_overlong_four_byte",
	  B("{\"event\":\"\xF0\x80\x80\xAF\"}"), NORM_ERR_UTF8, NULL },
	{ "normalize_should_reject_utf8_encoded_high_surrogate",
	  B(PARTICIPANT("\"user_name\":\"\xED\xA0\x80\"")), NORM_ERR_UTF8,
	  NULL },
	{ "normalize_should_reject_utf8_encoded_low_surrogate",
	  B(PARTICIPANT("\"user_name\":\"\xED\xBF\xBF\"")), NORM_ERR_UTF8,
	  NULL },
	{ "normalize_should_reject_code_point_past_u10ffff",
	  B(PARTICIPANT("\"user_name\":\"\xF4\x90\x80\x80\"")),
	  NORM_ERR_UTF8, NULL },
	{ "normalize_should_reject_byte_ff",
	  B("{\"event\":\"\xFF\"}"), NORM_ERR_UTF8, NULL },
	{ "normalize_should_reject_sequence_cut_by_end_of_body",
	  B("{\"event\":\"\xE4\xB8"), NORM_ERR_UTF8, NULL },
	{ "normalize_should_reject_bad_continuation",
	  B("{\"event\":\"\xC3\x28\"}"), NORM_ERR_UTF8, NULL },
	{ "normalize_should_reject_latin1_name",
	  B(PARTICIPANT("\"user_name\":\"Mar\xED" "a\"")), NORM_ERR_UTF8,
	  NULL },

	/* NORM_ERR_JSON */
	{ "normalize_should_reject_raw_nul_byte",
	  B("{\"event\":\"a\0b\"}"), NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_nul_byte_after_the_value",
	  B(MEETING("\"latency_ms\":1") "\0"), NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_u0000_escape_in_name",
	  B(PARTICIPANT("\"user_name\":\"Dr.\\u0000Smith\"")), NORM_ERR_JSON,
	  NULL },
	{ "normalize_should_reject_u0000_escape_in_ignored_field",
	  B(MEETING("\"topic\":\"\\u0000\"")), NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_u0000_escape_after_escaped_backslash",
	  B(PARTICIPANT("\"user_name\":\"a\\\\\\u0000b\"")), NORM_ERR_JSON,
	  NULL },
	{ "normalize_should_reject_lone_high_surrogate_escape",
	  B(PARTICIPANT("\"user_name\":\"\\ud800\"")), NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_lone_low_surrogate_escape",
	  B(PARTICIPANT("\"user_name\":\"\\udc00x\"")), NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_unclosed_object", B("{"), NORM_ERR_JSON,
	  NULL },
	{ "normalize_should_reject_missing_value", B("{\"event\":}"),
	  NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_single_quotes", B("{'event':'x'}"),
	  NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_trailing_comma",
	  B("{\"event\":\"meeting.started\",}"), NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_nan", B("{\"event_ts\":NaN}"),
	  NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_unterminated_string",
	  B("{\"event\":\"meeting.started"), NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_body_ending_in_backslash",
	  B("{\"event\":\"meeting.started\\"), NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_whitespace_only", B(" \r\n\t"),
	  NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_trailing_garbage",
	  B(MEETING("\"latency_ms\":1") "x"), NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_two_json_documents",
	  B(MEETING("\"latency_ms\":1") "\n" MEETING("\"latency_ms\":2")),
	  NORM_ERR_JSON, NULL },
	{ "normalize_should_reject_trailing_comment",
	  B(MEETING("\"latency_ms\":1") " // zoom"), NORM_ERR_JSON, NULL },

	/* NORM_ERR_NOT_OBJECT */
	{ "normalize_should_reject_array_body", B("[]"),
	  NORM_ERR_NOT_OBJECT, NULL },
	{ "normalize_should_reject_array_of_events",
	  B("[" MEETING("\"latency_ms\":1") "]"), NORM_ERR_NOT_OBJECT, NULL },
	{ "normalize_should_reject_string_body", B("\"meeting.started\""),
	  NORM_ERR_NOT_OBJECT, NULL },
	{ "normalize_should_reject_number_body", B("42"),
	  NORM_ERR_NOT_OBJECT, NULL },
	{ "normalize_should_reject_null_body", B("null"),
	  NORM_ERR_NOT_OBJECT, NULL },
	{ "normalize_should_reject_true_body", B(" true "),
	  NORM_ERR_NOT_OBJECT, NULL },

	/* NORM_ERR_EVENT */
	{ "normalize_should_reject_empty_object", B("{}"), NORM_ERR_EVENT,
	  NULL },
	{ "normalize_should_reject_missing_event",
	  B("{\"event_ts\":1,\"payload\":{\"object\":{" IDS "}}}"),
	  NORM_ERR_EVENT, NULL },
	{ "normalize_should_reject_null_event", B("{\"event\":null}"),
	  NORM_ERR_EVENT, NULL },
	{ "normalize_should_reject_numeric_event", B("{\"event\":42}"),
	  NORM_ERR_EVENT, NULL },
	{ "normalize_should_reject_empty_event", B("{\"event\":\"\"}"),
	  NORM_ERR_EVENT, NULL },
	{ "normalize_should_reject_event_with_space",
	  B("{\"event\":\"meeting started\"}"), NORM_ERR_EVENT, NULL },
	{ "normalize_should_reject_event_with_non_ascii",
	  B("{\"event\":\"meeting.d\xC3\xA9marr\xC3\xA9\"}"), NORM_ERR_EVENT,
	  NULL },
	{ "normalize_should_reject_object_event",
	  B("{\"event\":{\"name\":\"meeting.started\"}}"), NORM_ERR_EVENT,
	  NULL },
	{ "normalize_should_match_event_key_case_sensitively",
	  B("{\"Event\":\"meeting.started\"}"), NORM_ERR_EVENT, NULL },

	/* NORM_NOT_MEETING */
	{ "normalize_should_ignore_event_without_payload",
	  B("{\"event\":\"account.updated\",\"event_ts\":1}"),
	  NORM_NOT_MEETING, "account.updated" },
	{ "normalize_should_ignore_event_with_string_payload",
	  B("{\"event\":\"" EV "\",\"event_ts\":1,\"payload\":\"x\"}"),
	  NORM_NOT_MEETING, EV },
	{ "normalize_should_ignore_event_with_array_object",
	  B("{\"event\":\"" EV "\",\"event_ts\":1,\"payload\":{\"object\":"
	  "[]}}"), NORM_NOT_MEETING, EV },
	{ "normalize_should_ignore_meeting_without_uuid",
	  B(MEETING_TS(TS, "\"id\":\"85746065432\"")), NORM_NOT_MEETING, EV },
	/* Issue 11: a meeting.* event without object.id is kept with its
	 * uuid (Zoom's type makes the id optional for participant_joined);
	 * other events still need both. */
	{ "normalize_should_accept_meeting_event_without_id",
	  B(MEETING_TS(TS, "\"uuid\":\"abc\"")), NORM_OK, EV },
	{ "normalize_should_accept_meeting_event_with_null_id",
	  B(MEETING_TS(TS, "\"id\":null,\"uuid\":\"abc\"")),
	  NORM_OK, EV },
	{ "normalize_should_ignore_other_event_without_id",
	  B("{\"event\":\"recording.completed\",\"event_ts\":" TS
	  ",\"payload\":{\"object\":{\"uuid\":\"abc\"}}}"),
	  NORM_NOT_MEETING, "recording.completed" },

	/* NORM_ERR_EVENT_TS */
	{ "normalize_should_reject_missing_event_ts",
	  B("{\"event\":\"" EV "\",\"payload\":{\"object\":{" IDS "}}}"),
	  NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_null_event_ts",
	  B(MEETING_TS("null", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_float_event_ts",
	  B(MEETING_TS("1626230691572.5", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_string_event_ts",
	  B(MEETING_TS("\"1626230691572\"", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_negative_event_ts",
	  B(MEETING_TS("-1626230691572", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_minus_one_event_ts",
	  B(MEETING_TS("-1", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_zero_event_ts",
	  B(MEETING_TS("0", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_negative_zero_event_ts",
	  B(MEETING_TS("-0", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_event_ts_of_2_pow_53",
	  B(MEETING_TS("9007199254740992", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_event_ts_of_2_pow_53_plus_1",
	  B(MEETING_TS("9007199254740993", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_event_ts_of_2_pow_63",
	  B(MEETING_TS("9223372036854775808", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_event_ts_1e400",
	  B(MEETING_TS("1e400", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_event_ts_minus_1e400",
	  B(MEETING_TS("-1e400", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_boolean_event_ts",
	  B(MEETING_TS("true", IDS)), NORM_ERR_EVENT_TS, EV },
	{ "normalize_should_reject_array_event_ts",
	  B(MEETING_TS("[1626230691572]", IDS)), NORM_ERR_EVENT_TS, EV },

	/* NORM_ERR_MEETING_ID */
	{ "normalize_should_reject_empty_meeting_id",
	  B(MEETING_TS(TS, "\"id\":\"\",\"uuid\":\"abc\"")),
	  NORM_ERR_MEETING_ID, EV },
	{ "normalize_should_reject_non_ascii_meeting_id",
	  B(MEETING_TS(TS, "\"id\":\"\xE4\xBC\x9A\xE8\xAE\xAE\",\"uuid\":"
	  "\"abc\"")), NORM_ERR_MEETING_ID, EV },
	{ "normalize_should_reject_meeting_id_with_space",
	  B(MEETING_TS(TS, "\"id\":\"857 460\",\"uuid\":\"abc\"")),
	  NORM_ERR_MEETING_ID, EV },
	{ "normalize_should_reject_meeting_id_with_escaped_tab",
	  B(MEETING_TS(TS, "\"id\":\"857\\t460\",\"uuid\":\"abc\"")),
	  NORM_ERR_MEETING_ID, EV },
	{ "normalize_should_reject_float_meeting_id",
	  B(MEETING_TS(TS, "\"id\":85746065432.5,\"uuid\":\"abc\"")),
	  NORM_ERR_MEETING_ID, EV },
	{ "normalize_should_reject_negative_meeting_id",
	  B(MEETING_TS(TS, "\"id\":-85746065432,\"uuid\":\"abc\"")),
	  NORM_ERR_MEETING_ID, EV },
	{ "normalize_should_reject_meeting_id_beyond_2_pow_53",
	  B(MEETING_TS(TS, "\"id\":9007199254740993,\"uuid\":\"abc\"")),
	  NORM_ERR_MEETING_ID, EV },
	{ "normalize_should_reject_boolean_meeting_id",
	  B(MEETING_TS(TS, "\"id\":true,\"uuid\":\"abc\"")),
	  NORM_ERR_MEETING_ID, EV },
	{ "normalize_should_reject_object_meeting_id",
	  B(MEETING_TS(TS, "\"id\":{},\"uuid\":\"abc\"")),
	  NORM_ERR_MEETING_ID, EV },

	/* NORM_ERR_UUID */
	{ "normalize_should_reject_empty_uuid",
	  B(MEETING_TS(TS, "\"id\":\"1\",\"uuid\":\"\"")), NORM_ERR_UUID, EV },
	{ "normalize_should_reject_uuid_with_space",
	  B(MEETING_TS(TS, "\"id\":\"1\",\"uuid\":\"4444AAAi AAAA==\"")),
	  NORM_ERR_UUID, EV },
	{ "normalize_should_reject_numeric_uuid",
	  B(MEETING_TS(TS, "\"id\":\"1\",\"uuid\":123")), NORM_ERR_UUID, EV },
	{ "normalize_should_reject_boolean_uuid",
	  B(MEETING_TS(TS, "\"id\":\"1\",\"uuid\":false")), NORM_ERR_UUID,
	  EV },
	{ "normalize_should_reject_non_ascii_uuid",
	  B(MEETING_TS(TS, "\"id\":\"1\",\"uuid\":\"\xC3\xA9t\xC3\xA9\"")),
	  NORM_ERR_UUID, EV },

	/* NORM_ERR_PARTICIPANT */
	{ "normalize_should_reject_string_participant",
	  B(MEETING("\"participant\":\"Dr. Smith\"")), NORM_ERR_PARTICIPANT,
	  EV },
	{ "normalize_should_reject_array_participant",
	  B(MEETING("\"participant\":[{\"user_id\":\"u\"}]")),
	  NORM_ERR_PARTICIPANT, EV },
	{ "normalize_should_reject_numeric_participant",
	  B(MEETING("\"participant\":7")), NORM_ERR_PARTICIPANT, EV },

	/* NORM_ERR_PARTICIPANT_ID */
	{ "normalize_should_reject_boolean_user_id",
	  B(PARTICIPANT("\"user_id\":true")), NORM_ERR_PARTICIPANT_ID, EV },
	{ "normalize_should_reject_object_user_id",
	  B(PARTICIPANT("\"user_id\":{}")), NORM_ERR_PARTICIPANT_ID, EV },
	{ "normalize_should_reject_float_user_id",
	  B(PARTICIPANT("\"user_id\":16778240.5")), NORM_ERR_PARTICIPANT_ID,
	  EV },
	{ "normalize_should_reject_negative_user_id",
	  B(PARTICIPANT("\"user_id\":-16778240")), NORM_ERR_PARTICIPANT_ID,
	  EV },
	{ "normalize_should_reject_user_id_with_space",
	  B(PARTICIPANT("\"user_id\":\"user 123\"")), NORM_ERR_PARTICIPANT_ID,
	  EV },
	{ "normalize_should_reject_bad_fallback_participant_id",
	  B(PARTICIPANT("\"user_id\":\"\",\"id\":[1]")),
	  NORM_ERR_PARTICIPANT_ID, EV },
	{ "normalize_should_reject_bad_participant_id_without_user_id",
	  B(PARTICIPANT("\"id\":\"has space\"")), NORM_ERR_PARTICIPANT_ID,
	  EV },

	/* NORM_ERR_PARTICIPANT_NAME */
	{ "normalize_should_reject_numeric_user_name",
	  B(PARTICIPANT("\"user_id\":\"u1\",\"user_name\":42")),
	  NORM_ERR_PARTICIPANT_NAME, EV },
	{ "normalize_should_reject_boolean_user_name",
	  B(PARTICIPANT("\"user_id\":\"u1\",\"user_name\":false")),
	  NORM_ERR_PARTICIPANT_NAME, EV },
	{ "normalize_should_reject_object_user_name",
	  B(PARTICIPANT("\"user_id\":\"u1\",\"user_name\":{\"first\":\"a\"}")),
	  NORM_ERR_PARTICIPANT_NAME, EV },

	/* NORM_ERR_LATENCY */
	{ "normalize_should_reject_negative_latency",
	  B(MEETING("\"latency_ms\":-1")), NORM_ERR_LATENCY, EV },
	{ "normalize_should_reject_float_latency",
	  B(MEETING("\"latency_ms\":45.5")), NORM_ERR_LATENCY, EV },
	{ "normalize_should_reject_latency_past_int32",
	  B(MEETING("\"latency_ms\":2147483648")), NORM_ERR_LATENCY, EV },
	{ "normalize_should_reject_latency_1e400",
	  B(MEETING("\"latency_ms\":1e400")), NORM_ERR_LATENCY, EV },
	{ "normalize_should_reject_string_latency",
	  B(MEETING("\"latency_ms\":\"45\"")), NORM_ERR_LATENCY, EV },
	{ "normalize_should_reject_boolean_latency",
	  B(MEETING("\"latency_ms\":true")), NORM_ERR_LATENCY, EV },
	{ "normalize_should_reject_bad_latency_at_participant_level",
	  B(PARTICIPANT("\"user_id\":\"u1\",\"latency_ms\":-5")),
	  NORM_ERR_LATENCY, EV },

	/* NORM_ERR_INTERPRETER */
	{ "normalize_should_reject_string_interpreter_requested",
	  B(MEETING("\"interpreter_requested\":\"true\"")),
	  NORM_ERR_INTERPRETER, EV },
	{ "normalize_should_reject_numeric_interpreter_requested",
	  B(MEETING("\"interpreter_requested\":1")), NORM_ERR_INTERPRETER,
	  EV },
	{ "normalize_should_reject_zero_interpreter_requested",
	  B(MEETING("\"interpreter_requested\":0")), NORM_ERR_INTERPRETER,
	  EV },
	{ "normalize_should_reject_object_interpreter_requested",
	  B(MEETING("\"interpreter_requested\":{}")), NORM_ERR_INTERPRETER,
	  EV },

	/* NORM_ERR_PLAIN_TOKEN */
	{ "normalize_should_reject_validation_without_payload",
	  B(VALIDATION("")), NORM_ERR_PLAIN_TOKEN, "endpoint.url_validation" },
	{ "normalize_should_reject_validation_with_array_payload",
	  B(VALIDATION(",\"payload\":[]")), NORM_ERR_PLAIN_TOKEN,
	  "endpoint.url_validation" },
	{ "normalize_should_reject_missing_plain_token",
	  B(VALIDATION(",\"payload\":{}")), NORM_ERR_PLAIN_TOKEN,
	  "endpoint.url_validation" },
	{ "normalize_should_reject_null_plain_token",
	  B(VALIDATION(",\"payload\":{\"plainToken\":null}")),
	  NORM_ERR_PLAIN_TOKEN, "endpoint.url_validation" },
	{ "normalize_should_reject_empty_plain_token",
	  B(VALIDATION(",\"payload\":{\"plainToken\":\"\"}")),
	  NORM_ERR_PLAIN_TOKEN, "endpoint.url_validation" },
	{ "normalize_should_reject_numeric_plain_token",
	  B(VALIDATION(",\"payload\":{\"plainToken\":12345}")),
	  NORM_ERR_PLAIN_TOKEN, "endpoint.url_validation" },
	{ "normalize_should_reject_plain_token_with_space",
	  B(VALIDATION(",\"payload\":{\"plainToken\":\"qgg8 vlvZ\"}")),
	  NORM_ERR_PLAIN_TOKEN, "endpoint.url_validation" },
	{ "normalize_should_reject_plain_token_case_mismatch",
	  B(VALIDATION(",\"payload\":{\"plaintoken\":\"qgg8vlvZ\"}")),
	  NORM_ERR_PLAIN_TOKEN, "endpoint.url_validation" },
	/* Issue 11: the signing-oracle attack, and anything not base64url. */
	{ "normalize_should_reject_plain_token_with_colon",
	  B(VALIDATION(",\"payload\":{\"plainToken\":\"v0:1700000000:x\"}")),
	  NORM_ERR_PLAIN_TOKEN, "endpoint.url_validation" },
	{ "normalize_should_reject_plain_token_with_plus_or_slash",
	  B(VALIDATION(",\"payload\":{\"plainToken\":\"ab+c/d==\"}")),
	  NORM_ERR_PLAIN_TOKEN, "endpoint.url_validation" },

	/* NORM_ERR_LEAVE_REASON */
	{ "normalize_should_reject_numeric_leave_reason",
	  B(PARTICIPANT("\"user_id\":\"u1\",\"leave_reason\":5")),
	  NORM_ERR_LEAVE_REASON, EV },
};

static void
normalize_inline_cases_should_give_their_result(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct inline_case *c = &cases[i];
		struct zoom_event ev;

		unit_current = c->test;
		run(c->body, c->len, &ev, c->result);
		CHECK_STR(ev.event_name, c->event_name ? c->event_name : "");
	}
}

/* ------------------------------------------------- individual behaviours */

static void
normalize_should_treat_null_body_with_zero_length_as_empty(void)
{
	struct zoom_event ev;

	run(NULL, 0, &ev, NORM_ERR_EMPTY);
}

/* len, not the NUL, ends the body: bytes past it are never looked at. */
static void
normalize_should_read_only_len_bytes(void)
{
	static const char body[] = MEETING("\"latency_ms\":7") "garbage";
	struct zoom_event ev;

	if (run(body, sizeof(body) - 1 - strlen("garbage"), &ev, NORM_OK) ==
	    NORM_OK)
		CHECK_INT(ev.latency_ms, 7);
	/* One byte short of the closing brace is not JSON. */
	run(body, sizeof(body) - 2 - strlen("garbage"), &ev, NORM_ERR_JSON);
}

static void
normalize_should_reject_200k_deep_array_nesting(void)
{
	size_t depth = 200000;
	char *body = malloc(2 * depth);
	struct zoom_event ev;

	if (body == NULL)
		abort();
	memset(body, '[', depth);
	memset(body + depth, ']', depth);
	run(body, 2 * depth, &ev, NORM_ERR_JSON);
	free(body);
}

static void
normalize_should_reject_200k_deep_object_nesting(void)
{
	char *open = repeat("{\"a\":", 200000);
	char *close = repeat("}", 200000);
	char *body = xasprintf("{\"event\":\"" EV "\",\"x\":%s1%s}", open,
	    close);
	struct zoom_event ev;

	run(body, strlen(body), &ev, NORM_ERR_JSON);
	free(open);
	free(close);
	free(body);
}

static void
normalize_should_accept_moderate_nesting_in_ignored_fields(void)
{
	char *open = repeat("[", 500);
	char *close = repeat("]", 500);
	char *body = xasprintf(MEETING("\"extra\":%s1%s"), open, close);
	struct zoom_event ev;

	run(body, strlen(body), &ev, NORM_OK);
	free(open);
	free(close);
	free(body);
}

static void
normalize_should_accept_largest_exact_event_ts(void)
{
	static const char body[] = MEETING_TS("9007199254740991", IDS);
	struct zoom_event ev;

	if (run(B(body), &ev, NORM_OK) == NORM_OK)
		CHECK_INT(ev.event_ts, 9007199254740991LL);
}

/* An exponent form is still the integer it denotes. */
static void
normalize_should_accept_integral_event_ts_in_exponent_form(void)
{
	static const char body[] = MEETING_TS("1.626230691572e12", IDS);
	struct zoom_event ev;

	if (run(B(body), &ev, NORM_OK) == NORM_OK)
		CHECK_INT(ev.event_ts, 1626230691572LL);
}

static void
normalize_should_accept_meeting_id_of_255_characters(void)
{
	char *id = repeat("7", 255);
	char *body = xasprintf(MEETING_TS(TS, "\"id\":\"%s\",\"uuid\":\"u\""),
	    id);
	struct zoom_event ev;

	if (run(body, strlen(body), &ev, NORM_OK) == NORM_OK)
		CHECK_STR(ev.meeting_id, id);
	free(id);
	free(body);
}

static void
normalize_should_reject_meeting_id_of_256_characters(void)
{
	char *id = repeat("7", 256);
	char *body = xasprintf(MEETING_TS(TS, "\"id\":\"%s\",\"uuid\":\"u\""),
	    id);
	struct zoom_event ev;

	run(body, strlen(body), &ev, NORM_ERR_MEETING_ID);
	free(id);
	free(body);
}

static void
normalize_should_accept_uuid_of_255_characters(void)
{
	char *uuid = repeat("A/+=", 63);
	char *u255 = xasprintf("%sabc", uuid);
	char *body = xasprintf(MEETING_TS(TS, "\"id\":\"1\",\"uuid\":\"%s\""),
	    u255);
	struct zoom_event ev;

	if (run(body, strlen(body), &ev, NORM_OK) == NORM_OK)
		CHECK_STR(ev.visit_uuid, u255);
	free(uuid);
	free(u255);
	free(body);
}

static void
normalize_should_reject_uuid_of_256_characters(void)
{
	char *uuid = repeat("A/+=", 64);
	char *body = xasprintf(MEETING_TS(TS, "\"id\":\"1\",\"uuid\":\"%s\""),
	    uuid);
	struct zoom_event ev;

	run(body, strlen(body), &ev, NORM_ERR_UUID);
	free(uuid);
	free(body);
}

static void
normalize_should_reject_event_of_101_characters(void)
{
	char *name = repeat("e", 101);
	char *body = xasprintf("{\"event\":\"%s\"}", name);
	struct zoom_event ev;

	run(body, strlen(body), &ev, NORM_ERR_EVENT);
	free(name);
	free(body);
}

static void
normalize_should_accept_event_of_100_characters(void)
{
	char *name = repeat("e", 100);
	char *body = xasprintf("{\"event\":\"%s\",\"event_ts\":1}", name);
	struct zoom_event ev;

	if (run(body, strlen(body), &ev, NORM_NOT_MEETING) ==
	    NORM_NOT_MEETING)
		CHECK_STR(ev.event_name, name);
	free(name);
	free(body);
}

static void
normalize_should_reject_participant_id_of_256_characters(void)
{
	char *id = repeat("p", 256);
	char *body = xasprintf(PARTICIPANT("\"user_id\":\"%s\""), id);
	struct zoom_event ev;

	run(body, strlen(body), &ev, NORM_ERR_PARTICIPANT_ID);
	free(id);
	free(body);
}

static void
normalize_should_accept_participant_id_of_255_characters(void)
{
	char *id = repeat("p", 255);
	char *body = xasprintf(PARTICIPANT("\"user_id\":\"%s\""), id);
	struct zoom_event ev;

	if (run(body, strlen(body), &ev, NORM_OK) == NORM_OK)
		CHECK_STR(ev.participant_id, id);
	free(id);
	free(body);
}

/* A user_name of n copies of one character (given as UTF-8). */
static void
check_name(const char *ch, size_t n, enum norm_result want)
{
	char *name = repeat(ch, n);
	char *body = xasprintf(PARTICIPANT("\"user_id\":\"u1\","
	    "\"user_name\":\"%s\""), name);
	struct zoom_event ev;

	if (run(body, strlen(body), &ev, want) == NORM_OK) {
		CHECK(ev.has_participant_name);
		CHECK_STR(ev.participant_name, name);
	}
	free(name);
	free(body);
}

static void
normalize_should_accept_500_ascii_characters_of_name(void)
{
	check_name("a", 500, NORM_OK);
}

static void
normalize_should_reject_501_ascii_characters_of_name(void)
{
	check_name("a", 501, NORM_ERR_PARTICIPANT_NAME);
}

static void
normalize_should_accept_500_two_byte_characters_of_name(void)
{
	check_name("\xC3\xA9", 500, NORM_OK);
}

static void
normalize_should_reject_501_two_byte_characters_of_name(void)
{
	check_name("\xC3\xA9", 501, NORM_ERR_PARTICIPANT_NAME);
}

static void
normalize_should_accept_500_cjk_characters_of_name(void)
{
	check_name("\xE7\x8E\x8B", 500, NORM_OK);
}

static void
normalize_should_reject_501_cjk_characters_of_name(void)
{
	check_name("\xE7\x8E\x8B", 501, NORM_ERR_PARTICIPANT_NAME);
}

/* The worst case: 500 four-byte characters fill the buffer exactly. */
static void
normalize_should_accept_500_emoji_of_name(void)
{
	check_name("\xF0\x9F\x98\x80", 500, NORM_OK);
}

static void
normalize_should_reject_501_emoji_of_name(void)
{
	check_name("\xF0\x9F\x98\x80", 501, NORM_ERR_PARTICIPANT_NAME);
}

/* 500 characters written as \u escapes are still 500 characters. */
static void
normalize_should_count_escaped_characters_after_decoding(void)
{
	char *name = repeat("\\ud83d\\ude00", 500);
	char *want = repeat("\xF0\x9F\x98\x80", 500);
	char *body = xasprintf(PARTICIPANT("\"user_name\":\"%s\""), name);
	struct zoom_event ev;

	if (run(body, strlen(body), &ev, NORM_OK) == NORM_OK)
		CHECK_STR(ev.participant_name, want);
	free(name);
	free(want);
	free(body);
	name = repeat("\\u00e9", 501);
	body = xasprintf(PARTICIPANT("\"user_name\":\"%s\""), name);
	run(body, strlen(body), &ev, NORM_ERR_PARTICIPANT_NAME);
	free(name);
	free(body);
}

static void
normalize_should_keep_empty_name_as_present(void)
{
	static const char body[] = PARTICIPANT("\"user_id\":\"u1\","
	    "\"user_name\":\"\"");
	struct zoom_event ev;

	if (run(B(body), &ev, NORM_OK) == NORM_OK) {
		CHECK(ev.has_participant_name);
		CHECK_STR(ev.participant_name, "");
	}
}

/* "a\\u0000b" in JSON is a backslash and the text u0000, not a NUL. */
static void
normalize_should_accept_escaped_backslash_before_u0000_text(void)
{
	static const char body[] = PARTICIPANT("\"user_id\":\"u1\","
	    "\"user_name\":\"a\\\\u0000b\"");
	struct zoom_event ev;

	if (run(B(body), &ev, NORM_OK) == NORM_OK)
		CHECK_STR(ev.participant_name, "a\\u0000b");
}

static void
normalize_should_accept_participant_without_ids(void)
{
	static const char body[] = PARTICIPANT("\"user_name\":\"Guest\"");
	struct zoom_event ev;

	if (run(B(body), &ev, NORM_OK) == NORM_OK) {
		CHECK_STR(ev.participant_id, "");
		CHECK_STR(ev.participant_name, "Guest");
	}
}

static void
normalize_should_accept_empty_participant_object(void)
{
	static const char body[] = PARTICIPANT("");
	struct zoom_event ev;

	if (run(B(body), &ev, NORM_OK) == NORM_OK) {
		CHECK_STR(ev.participant_id, "");
		CHECK(!ev.has_participant_name);
		CHECK(!ev.has_latency);
	}
}

static void
normalize_should_treat_null_participant_as_absent(void)
{
	static const char body[] = MEETING("\"participant\":null");
	struct zoom_event ev;

	if (run(B(body), &ev, NORM_OK) == NORM_OK)
		CHECK_STR(ev.participant_id, "");
}

static void
normalize_should_fall_back_to_participant_latency_when_object_null(void)
{
	static const char body[] = MEETING("\"latency_ms\":null,"
	    "\"participant\":{\"user_id\":\"u1\",\"latency_ms\":7}");
	struct zoom_event ev;

	if (run(B(body), &ev, NORM_OK) == NORM_OK) {
		CHECK(ev.has_latency);
		CHECK_INT(ev.latency_ms, 7);
	}
}

static void
normalize_should_treat_null_interpreter_requested_as_absent(void)
{
	static const char body[] = MEETING("\"interpreter_requested\":null");
	struct zoom_event ev;

	if (run(B(body), &ev, NORM_OK) == NORM_OK)
		CHECK(!ev.interpreter_requested);
}

static void
normalize_should_accept_plain_token_of_128_characters(void)
{
	char *tok = repeat("t", 128);
	char *body = xasprintf(VALIDATION(",\"payload\":{\"plainToken\":"
	    "\"%s\"}"), tok);
	struct zoom_event ev;

	if (run(body, strlen(body), &ev, NORM_URL_VALIDATION) ==
	    NORM_URL_VALIDATION)
		CHECK_STR(ev.plain_token, tok);
	free(tok);
	free(body);
}

static void
normalize_should_reject_plain_token_of_129_characters(void)
{
	char *tok = repeat("t", 129);
	char *body = xasprintf(VALIDATION(",\"payload\":{\"plainToken\":"
	    "\"%s\"}"), tok);
	struct zoom_event ev;

	run(body, strlen(body), &ev, NORM_ERR_PLAIN_TOKEN);
	free(tok);
	free(body);
}

/* The explanation goes into whatever room the caller gives, if any. */
static void
normalize_should_cut_error_text_to_errlen_and_allow_null(void)
{
	static const char body[] = MEETING_TS("-1", IDS);
	struct zoom_event ev;
	char err[8];

	memset(err, 'x', sizeof(err));
	CHECK(normalize_event(B(body), &ev, err, sizeof(err)) ==
	    NORM_ERR_EVENT_TS);
	CHECK_INT(strlen(err), sizeof(err) - 1);
	CHECK(normalize_event(B(body), &ev, NULL, 0) == NORM_ERR_EVENT_TS);
	memset(err, 'x', sizeof(err));
	CHECK(normalize_event(B(body), &ev, err, 0) == NORM_ERR_EVENT_TS);
	CHECK(err[0] == 'x');
}

/* Each result's token and class, written out again here. */
static void
norm_strerror_and_class_should_match_every_result(void)
{
	static const struct {
		enum norm_result r;
		const char *token;
		enum norm_class class;
	} want[] = {
		{ NORM_OK, "ok", NORM_CLASS_EVENT },
		{ NORM_URL_VALIDATION, "url_validation",
		  NORM_CLASS_VALIDATION },
		{ NORM_NOT_MEETING, "not_meeting_event", NORM_CLASS_IGNORED },
		{ NORM_ERR_EMPTY, "empty_body", NORM_CLASS_BAD_REQUEST },
		{ NORM_ERR_UTF8, "invalid_utf8", NORM_CLASS_BAD_REQUEST },
		{ NORM_ERR_JSON, "invalid_json", NORM_CLASS_BAD_REQUEST },
		{ NORM_ERR_NOT_OBJECT, "not_an_object", NORM_CLASS_REJECTED },
		{ NORM_ERR_EVENT, "bad_event", NORM_CLASS_REJECTED },
		{ NORM_ERR_EVENT_TS, "bad_event_ts", NORM_CLASS_REJECTED },
		{ NORM_ERR_MEETING_ID, "bad_meeting_id", NORM_CLASS_REJECTED },
		{ NORM_ERR_UUID, "bad_uuid", NORM_CLASS_REJECTED },
		{ NORM_ERR_PARTICIPANT, "bad_participant",
		  NORM_CLASS_REJECTED },
		{ NORM_ERR_PARTICIPANT_ID, "bad_participant_id",
		  NORM_CLASS_REJECTED },
		{ NORM_ERR_PARTICIPANT_NAME, "bad_participant_name",
		  NORM_CLASS_REJECTED },
		{ NORM_ERR_LATENCY, "bad_latency_ms", NORM_CLASS_REJECTED },
		{ NORM_ERR_INTERPRETER, "bad_interpreter_requested",
		  NORM_CLASS_REJECTED },
		{ NORM_ERR_PLAIN_TOKEN, "bad_plain_token",
		  NORM_CLASS_BAD_REQUEST },
		{ NORM_ERR_LEAVE_REASON, "bad_leave_reason",
		  NORM_CLASS_REJECTED },
	};
	size_t n = sizeof(want) / sizeof(want[0]);

	CHECK_INT(n, NORM_RESULT_COUNT);
	for (size_t i = 0; i < n; i++) {
		CHECK_STR(norm_strerror(want[i].r), want[i].token);
		CHECKF(norm_class(want[i].r) == want[i].class, "%s",
		    want[i].token);
		/* Tokens are distinct: they label metrics. */
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(want[i].token, want[j].token) != 0);
	}
	CHECK_STR(norm_strerror(NORM_RESULT_COUNT), "unknown");
	CHECK_STR(norm_strerror((enum norm_result)-1), "unknown");
	CHECK(norm_class(NORM_RESULT_COUNT) == NORM_CLASS_REJECTED);
	CHECK(norm_class((enum norm_result)-1) == NORM_CLASS_REJECTED);
}

static void
norm_utf8_valid_should_follow_rfc3629(void)
{
	static const struct {
		const char *what;
		const char *s;
		size_t len;
		bool valid;
	} t[] = {
		{ "empty", B(""), true },
		{ "ascii", B("Dr. Smith"), true },
		{ "nul is a valid character", B("a\0b"), true },
		{ "two-byte e-acute", B("\xC3\xA9"), true },
		{ "three-byte euro", B("\xE2\x82\xAC"), true },
		{ "four-byte emoji", B("\xF0\x9F\x98\x80"), true },
		{ "U+0080 lowest two-byte", B("\xC2\x80"), true },
		{ "U+07FF highest two-byte", B("\xDF\xBF"), true },
		{ "U+0800 lowest three-byte", B("\xE0\xA0\x80"), true },
		{ "U+D7FF before surrogates", B("\xED\x9F\xBF"), true },
		{ "U+E000 after surrogates", B("\xEE\x80\x80"), true },
		{ "U+FFFF", B("\xEF\xBF\xBF"), true },
		{ "U+10000 lowest four-byte", B("\xF0\x90\x80\x80"), true },
		{ "U+10FFFF highest", B("\xF4\x8F\xBF\xBF"), true },
		{ "U+110000 past the end", B("\xF4\x90\x80\x80"), false },
		{ "F5 lead byte", B("\xF5\x80\x80\x80"), false },
		{ "overlong nul C0 80", B("\xC0\x80"), false },
		{ "overlong C1 BF", B("\xC1\xBF"), false },
		{ "overlong E0 80 80", B("\xE0\x80\x80"), false },
		{ "overlong E0 9F BF", B("\xE0\x9F\xBF"), false },
		{ "overlong F0 80 80 80", B("\xF0\x80\x80\x80"), false },
		{ "overlong F0 8F BF BF", B("\xF0\x8F\xBF\xBF"), false },
		{ "high surrogate D800", B("\xED\xA0\x80"), false },
		{ "low surrogate DFFF", B("\xED\xBF\xBF"), false },
		{ "surrogate pair as CESU-8",
		  B("\xED\xA0\xBD\xED\xB8\x80"), false },
		{ "lone continuation", B("\x80"), false },
		{ "continuation after ascii", B("a\xBF"), false },
		{ "FE", B("\xFE"), false },
		{ "FF", B("\xFF"), false },
		{ "truncated two-byte", B("\xC3"), false },
		{ "truncated three-byte", B("\xE2\x82"), false },
		{ "truncated four-byte", B("\xF0\x9F\x98"), false },
		{ "ascii in continuation", B("\xC3\x28"), false },
		{ "ascii in third byte", B("\xE2\x82\x28"), false },
		{ "ascii in fourth byte", B("\xF0\x9F\x98\x28"), false },
		{ "lead byte in continuation", B("\xE2\xC3\xA9"), false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECKF(norm_utf8_valid(t[i].s, t[i].len) == t[i].valid,
		    "%s", t[i].what);

	/* len bounds the check both ways. */
	CHECK(!norm_utf8_valid("\xC3\xA9", 1));
	CHECK(norm_utf8_valid("abc\xFF", 3));
}

/* Every enum value must come out of some case above. */
static void
normalize_cases_should_produce_every_result(void)
{
	for (int r = 0; r < NORM_RESULT_COUNT; r++)
		CHECKF(seen[r], "no case produced %s",
		    norm_strerror((enum norm_result)r));
}

int
main(void)
{
	RUN(normalize_fixtures_should_match_their_table);
	RUN(normalize_catalog_should_key_every_event);
	RUN(normalize_catalog_url_validation_should_answer);
	RUN(norm_iso8601_should_read_zoom_times);
	RUN(normalize_inline_cases_should_give_their_result);
	RUN(normalize_should_treat_null_body_with_zero_length_as_empty);
	RUN(normalize_should_read_only_len_bytes);
	RUN(normalize_should_reject_200k_deep_array_nesting);
	RUN(normalize_should_reject_200k_deep_object_nesting);
	RUN(normalize_should_accept_moderate_nesting_in_ignored_fields);
	RUN(normalize_should_accept_largest_exact_event_ts);
	RUN(normalize_should_accept_integral_event_ts_in_exponent_form);
	RUN(normalize_should_accept_meeting_id_of_255_characters);
	RUN(normalize_should_reject_meeting_id_of_256_characters);
	RUN(normalize_should_accept_uuid_of_255_characters);
	RUN(normalize_should_reject_uuid_of_256_characters);
	RUN(normalize_should_reject_event_of_101_characters);
	RUN(normalize_should_accept_event_of_100_characters);
	RUN(normalize_should_reject_participant_id_of_256_characters);
	RUN(normalize_should_accept_participant_id_of_255_characters);
	RUN(normalize_should_accept_500_ascii_characters_of_name);
	RUN(normalize_should_reject_501_ascii_characters_of_name);
	RUN(normalize_should_accept_500_two_byte_characters_of_name);
	RUN(normalize_should_reject_501_two_byte_characters_of_name);
	RUN(normalize_should_accept_500_cjk_characters_of_name);
	RUN(normalize_should_reject_501_cjk_characters_of_name);
	RUN(normalize_should_accept_500_emoji_of_name);
	RUN(normalize_should_reject_501_emoji_of_name);
	RUN(normalize_should_count_escaped_characters_after_decoding);
	RUN(normalize_should_keep_empty_name_as_present);
	RUN(normalize_should_accept_escaped_backslash_before_u0000_text);
	RUN(normalize_should_accept_participant_without_ids);
	RUN(normalize_should_accept_empty_participant_object);
	RUN(normalize_should_treat_null_participant_as_absent);
	RUN(normalize_should_fall_back_to_participant_latency_when_object_null);
	RUN(normalize_should_treat_null_interpreter_requested_as_absent);
	RUN(normalize_should_accept_plain_token_of_128_characters);
	RUN(normalize_should_reject_plain_token_of_129_characters);
	RUN(normalize_should_cut_error_text_to_errlen_and_allow_null);
	RUN(norm_strerror_and_class_should_match_every_result);
	RUN(norm_utf8_valid_should_follow_rfc3629);
	RUN(normalize_cases_should_produce_every_result);
	return unit_report("test_normalize");
}
