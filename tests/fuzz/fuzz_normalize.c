/*
 * fuzz_normalize.c -- libFuzzer entry point for normalize_event(): any
 * bytes in, and the invariants of struct zoom_event checked on the way out
 * (cJSON's cjson_read_fuzzer.c is the model).  abort() on a violation, so
 * that libFuzzer and tests/fuzz/replay.c both report it as a crash.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *       tests/fuzz/fuzz_normalize.c normalize.c -lcjson
 */
#include "normalize.h"
#include "tests/unit/norm_oracle.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EXACT_INT_MAX 9007199254740992LL        /* 2^53 */

/* Report which invariant broke, then crash. */
static void
violated(const char *what, enum norm_result r)
{
	fprintf(stderr, "fuzz_normalize: invariant violated: %s (result %s)\n",
	    what, norm_strerror(r));
	abort();
}

/* A NUL within the field's array, and at most max bytes before it. */
static bool
terminated_within(const char *field, size_t size, size_t max)
{
	const char *nul = memchr(field, '\0', size);

	return nul != NULL && (size_t)(nul - field) <= max;
}

/* Printable ASCII without spaces, 1..max characters: the id shape. */
static bool
is_ident(const char *s, size_t max)
{
	size_t len = strlen(s);

	/* Not normalize.c's loop: an oracle written another way. */
	for (const char *c = s; *c != '\0'; c++)
		if (!isgraph((unsigned char)*c))       /* C locale: 0x21-0x7E */
			return false;
	return len >= 1 && len <= max;
}

static size_t
code_points(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

#define FIELD_OK(ev, f, max) \
	terminated_within((ev)->f, sizeof((ev)->f), (max))

static void
check_strings(const struct zoom_event *ev, enum norm_result r)
{
	/* Whatever the result, no string may run off its array. */
	if (!FIELD_OK(ev, meeting_id, ZE_MEETING_ID_MAX) ||
	    !FIELD_OK(ev, visit_uuid, ZE_VISIT_UUID_MAX) ||
	    !FIELD_OK(ev, event_name, ZE_EVENT_NAME_MAX) ||
	    !FIELD_OK(ev, participant_id, ZE_PARTICIPANT_ID_MAX) ||
	    !FIELD_OK(ev, participant_name, ZE_PARTICIPANT_NAME_MAX * 4) ||
	    !FIELD_OK(ev, person_key, ZE_PARTICIPANT_ID_MAX) ||
	    !FIELD_OK(ev, leave_reason, ZE_LEAVE_REASON_MAX * 4) ||
	    !FIELD_OK(ev, account_id, ZE_ACCOUNT_ID_MAX) ||
	    !FIELD_OK(ev, plain_token, ZE_PLAIN_TOKEN_MAX))
		violated("a string is not NUL-terminated within its limit", r);
}

static void
check_event(const struct zoom_event *ev, const uint8_t *data, size_t size)
{
	const enum norm_result r = NORM_OK;
	size_t name_len = strlen(ev->participant_name);

	if (!is_ident(ev->event_name, ZE_EVENT_NAME_MAX) ||
	    (ev->meeting_id[0] != '\0' &&
	    !is_ident(ev->meeting_id, ZE_MEETING_ID_MAX)) ||
	    !is_ident(ev->visit_uuid, ZE_VISIT_UUID_MAX))
		violated("event, meeting id or uuid empty or not an id", r);
	/* Only meeting.* events may come without a meeting id. */
	if (ev->meeting_id[0] == '\0' &&
	    strncmp(ev->event_name, "meeting.", 8) != 0)
		violated("a non-meeting event without a meeting id", r);
	if (ev->participant_id[0] != '\0' &&
	    !is_ident(ev->participant_id, ZE_PARTICIPANT_ID_MAX))
		violated("participant id not an id", r);
	if ((ev->participant_id[0] == '\0') !=
	    (ev->participant_key_source[0] == '\0'))
		violated("participant id without its source, or the reverse",
		    r);
	if (ev->person_key[0] != '\0' &&
	    !is_ident(ev->person_key, ZE_PARTICIPANT_ID_MAX))
		violated("person key not an id", r);
	if (ev->participant_id[0] != '\0' && ev->person_key[0] == '\0')
		violated("a slot without a person", r);
	if (ev->event_time_ms < 0)
		violated("negative event_time_ms", r);
	if (!ev->has_leave_reason && ev->leave_reason[0] != '\0')
		violated("a leave reason without has_leave_reason", r);
	if (!norm_utf8_valid(ev->leave_reason, strlen(ev->leave_reason)))
		violated("leave_reason not valid UTF-8", r);
	/* 2^53 itself is let through here: normalize.c accepts it today,
	 * and test_normalize's normalize_should_reject_event_ts_of_2_pow_53
	 * holds that bug, so the fuzzer can look for others. */
	if (ev->event_ts <= 0 || ev->event_ts > EXACT_INT_MAX)
		violated("event_ts not in (0, 2^53]", r);
	if (!ev->has_participant_name && name_len != 0)
		violated("a name without has_participant_name", r);
	if (!norm_utf8_valid(ev->participant_name, name_len))
		violated("participant_name not valid UTF-8", r);
	if (code_points(ev->participant_name) > ZE_PARTICIPANT_NAME_MAX)
		violated("participant_name longer than 500 code points", r);
	if (ev->has_latency ? ev->latency_ms < 0 : ev->latency_ms != 0)
		violated("latency_ms negative or set without has_latency", r);
	if (ev->plain_token[0] != '\0')
		violated("plain_token set on a meeting event", r);
	/* Only a body of valid UTF-8 without NUL can be an event. */
	if (memchr(data, '\0', size) != NULL ||
	    !norm_utf8_valid((const char *)data, size))
		violated("accepted a body with NUL or bad UTF-8", r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zoom_event ev, again;
	char err[256], err2[256];
	enum norm_result r, r2;

	memset(err, 'x', sizeof(err));
	r = normalize_event((const char *)data, size, &ev, err, sizeof(err));
	if ((unsigned)r >= NORM_RESULT_COUNT)
		violated("result out of range", r);
	if (norm_class(r) != norm_oracle_class(r))
		violated("norm_class inconsistent with the result", r);
	if (strcmp(norm_strerror(r), "unknown") == 0)
		violated("no token for the result", r);
	if (ev.raw != (const char *)data || ev.raw_len != size)
		violated("raw/raw_len do not describe the input", r);
	if (memchr(err, '\0', sizeof(err)) == NULL)
		violated("err not NUL-terminated", r);
	if ((r == NORM_OK || r == NORM_URL_VALIDATION) != (err[0] == '\0'))
		violated("err set on success or empty on failure", r);
	if (size == 0 && r != NORM_ERR_EMPTY)
		violated("empty input not NORM_ERR_EMPTY", r);
	check_strings(&ev, r);

	switch (r) {
	case NORM_OK:
		check_event(&ev, data, size);
		break;
	case NORM_URL_VALIDATION:
		if (strcmp(ev.event_name, "endpoint.url_validation") != 0 ||
		    !is_ident(ev.plain_token, ZE_PLAIN_TOKEN_MAX))
			violated("validation without its event or token", r);
		break;
	case NORM_NOT_MEETING:
		if (!is_ident(ev.event_name, ZE_EVENT_NAME_MAX))
			violated("ignored event without a name", r);
		break;
	default:
		break;
	}

	/* Pure: the same bytes give the same answer. */
	r2 = normalize_event((const char *)data, size, &again, err2,
	    sizeof(err2));
	if (r2 != r || strcmp(err, err2) != 0)
		violated("a second run disagrees", r);
	if (r == NORM_OK && (strcmp(ev.meeting_id, again.meeting_id) != 0 ||
	    strcmp(ev.participant_name, again.participant_name) != 0 ||
	    ev.event_ts != again.event_ts))
		violated("a second run gives other fields", r);
	return 0;
}
