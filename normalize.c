/*
 * normalize.c -- raw Zoom webhook bytes in, struct zoom_event out.
 *
 * Knows JSON (through cJSON) and Zoom's field names; knows nothing of
 * FastCGI, the database or the clock.  The cJSON tree lives and dies inside
 * normalize_event(), so no heap memory crosses this module's boundary.
 */
#include "normalize.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/*
 * The largest integer a double holds exactly.  cJSON keeps numbers as
 * doubles, so this is the widest range in which an integer is known to be
 * the one Zoom sent; a millisecond timestamp stays below it for another
 * 285,000 years.
 */
#define EXACT_INT_MAX 9007199254740991.0       /* 2^53 - 1 */

static const struct {
	const char *token;
	enum norm_class class;
} results[NORM_RESULT_COUNT] = {
	[NORM_OK] = { "ok", NORM_CLASS_EVENT },
	[NORM_URL_VALIDATION] = { "url_validation", NORM_CLASS_VALIDATION },
	[NORM_NOT_MEETING] = { "not_meeting_event", NORM_CLASS_IGNORED },
	[NORM_ERR_EMPTY] = { "empty_body", NORM_CLASS_BAD_REQUEST },
	[NORM_ERR_UTF8] = { "invalid_utf8", NORM_CLASS_BAD_REQUEST },
	[NORM_ERR_JSON] = { "invalid_json", NORM_CLASS_BAD_REQUEST },
	[NORM_ERR_NOT_OBJECT] = { "not_an_object", NORM_CLASS_REJECTED },
	[NORM_ERR_EVENT] = { "bad_event", NORM_CLASS_REJECTED },
	[NORM_ERR_EVENT_TS] = { "bad_event_ts", NORM_CLASS_REJECTED },
	[NORM_ERR_MEETING_ID] = { "bad_meeting_id", NORM_CLASS_REJECTED },
	[NORM_ERR_UUID] = { "bad_uuid", NORM_CLASS_REJECTED },
	[NORM_ERR_PARTICIPANT] = { "bad_participant", NORM_CLASS_REJECTED },
	[NORM_ERR_PARTICIPANT_ID] = { "bad_participant_id",
		NORM_CLASS_REJECTED },
	[NORM_ERR_PARTICIPANT_NAME] = { "bad_participant_name",
		NORM_CLASS_REJECTED },
	[NORM_ERR_LATENCY] = { "bad_latency_ms", NORM_CLASS_REJECTED },
	[NORM_ERR_INTERPRETER] = { "bad_interpreter_requested",
		NORM_CLASS_REJECTED },
	[NORM_ERR_PLAIN_TOKEN] = { "bad_plain_token", NORM_CLASS_BAD_REQUEST },
	[NORM_ERR_LEAVE_REASON] = { "bad_leave_reason", NORM_CLASS_REJECTED },
};

const char *
norm_strerror(enum norm_result r)
{
	if ((unsigned)r >= NORM_RESULT_COUNT)
		return "unknown";
	return results[r].token;
}

enum norm_class
norm_class(enum norm_result r)
{
	if ((unsigned)r >= NORM_RESULT_COUNT)
		return NORM_CLASS_REJECTED;
	return results[r].class;
}

/* Parse state: the error buffer travels with the result. */
struct norm {
	struct zoom_event *ev;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static enum norm_result
fail(struct norm *n, enum norm_result r, const char *fmt, ...)
{
	if (n->err != NULL && n->errlen > 0) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(n->err, n->errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

bool
norm_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end;

	if (len == 0)
		return true;    /* s may be NULL */
	end = p + len;

	while (p < end) {
		unsigned char c = *p;
		size_t n;
		unsigned char lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			if (c == 0xE0)
				lo = 0xA0;      /* overlong */
			else if (c == 0xED)
				hi = 0x9F;      /* UTF-16 surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			if (c == 0xF0)
				lo = 0x90;      /* overlong */
			else if (c == 0xF4)
				hi = 0x8F;      /* past U+10FFFF */
		} else {
			return false;
		}
		if ((size_t)(end - p) <= n)
			return false;
		if (p[1] < lo || p[1] > hi)
			return false;
		for (size_t i = 2; i <= n; i++)
			if (p[i] < 0x80 || p[i] > 0xBF)
				return false;
		p += n + 1;
	}
	return true;
}

/* Characters (code points) in a valid UTF-8 string. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * True when a JSON string in the body holds the escape \u0000.  cJSON
 * decodes it into a NUL byte, which would silently cut the C string short,
 * so such bodies are refused instead.  Backslashes only occur inside JSON
 * strings, so a plain scan of escape pairs is enough.
 */
static bool
has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len &&
		    memcmp(s + i + 2, "0000", 4) == 0)
			return true;
		i++;    /* skip the escaped character */
	}
	return false;
}

/* An identifier: printable ASCII without spaces, 1..max characters. */
static bool
is_ident(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E)
			return false;
	return i > 0 && i <= max;
}

/* An exact non-negative integer within [0, max]. */
static bool
exact_uint(const cJSON *item, double max, long long *out)
{
	double v;

	if (!cJSON_IsNumber(item))
		return false;
	v = item->valuedouble;
	/* The range check comes first: the cast is only defined in range. */
	if (!isfinite(v) || v < 0 || v > max || v != (double)(long long)v)
		return false;
	*out = (long long)v;
	return true;
}

static const cJSON *
member(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	/* A JSON null is the same as an absent member. */
	return cJSON_IsNull(item) ? NULL : item;
}

/*
 * Copy an identifier that Zoom sends as a string or, in some events, as a
 * number, into dst[0..max].  Returns 1 when copied, 0 when absent or the
 * empty string, -1 when invalid.
 */
static int
copy_id(const cJSON *item, char *dst, size_t max)
{
	long long v;

	if (item == NULL)
		return 0;
	if (cJSON_IsString(item)) {
		if (item->valuestring[0] == '\0')
			return 0;
		if (!is_ident(item->valuestring, max))
			return -1;
		strcpy(dst, item->valuestring); /* length checked above */
		return 1;
	}
	if (exact_uint(item, EXACT_INT_MAX, &v)) {
		snprintf(dst, max + 1, "%lld", v);
		return 1;
	}
	return -1;
}

/*
 * Zoom's plainToken: base64url characters only, at most
 * ZE_PLAIN_TOKEN_MAX.  Anything else is refused, never signed: signing an
 * arbitrary string ("v0:<ts>:<forged body>") would make the endpoint an
 * HMAC oracle for forged deliveries.
 */
static enum norm_result
parse_validation(struct norm *n, const cJSON *payload)
{
	static const char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const cJSON *tok = member(payload, "plainToken");
	size_t len;

	if (!cJSON_IsString(tok) || (len = strlen(tok->valuestring)) == 0 ||
	    len > ZE_PLAIN_TOKEN_MAX ||
	    strspn(tok->valuestring, base64url) != len)
		return fail(n, NORM_ERR_PLAIN_TOKEN, "payload.plainToken must "
		    "be 1 to %d base64url characters", ZE_PLAIN_TOKEN_MAX);
	strcpy(n->ev->plain_token, tok->valuestring);
	return NORM_URL_VALIDATION;
}

/*
 * Who a participant event is about.  The slot (participant_id, part of
 * the unique key) is the in-meeting session id when Zoom sends one, and
 * otherwise the first stable id; the person (person_key) is the stable id
 * first, so that a rejoin with a new user_id is the same person.  Names
 * and emails are never keys: HIPAA accounts withhold them.  An empty
 * string or null counts as absent (guests get "" ids).
 */
static const char *const slot_fields[] = { "user_id", "participant_id",
	"participant_user_id", "id", "participant_uuid" };
static const char *const person_fields[] = { "id", "participant_user_id",
	"customer_key", "registrant_id", "participant_uuid", "user_id",
	"participant_id" };
/* Ids that Zoom generates, checked strictly; the others (customer_key
 * and registrant_id, which apps provide) are skipped when unusable. */
#define STRICT_SLOT_FIELDS 5

static enum norm_result
parse_keys(struct norm *n, const cJSON *p)
{
	struct zoom_event *ev = n->ev;

	ev->participant_key_source = "";
	for (size_t i = 0; i < sizeof(slot_fields) / sizeof(slot_fields[0]);
	    i++) {
		int r = copy_id(member(p, slot_fields[i]), ev->participant_id,
		    ZE_PARTICIPANT_ID_MAX);
		if (r < 0 && i < STRICT_SLOT_FIELDS)
			return fail(n, NORM_ERR_PARTICIPANT_ID, "participant.%s "
			    "must be a string of at most %d printable ASCII "
			    "characters or a non-negative integer",
			    slot_fields[i], ZE_PARTICIPANT_ID_MAX);
		if (r > 0) {
			ev->participant_key_source = slot_fields[i];
			break;
		}
	}
	for (size_t i = 0; i < sizeof(person_fields) / sizeof(person_fields[0]);
	    i++)
		if (copy_id(member(p, person_fields[i]), ev->person_key,
		    ZE_PARTICIPANT_ID_MAX) > 0)
			break;
	return NORM_OK;
}

/* A UTF-8 text field of at most max characters into dst (sized for 4 bytes
 * per character).  1 copied, 0 absent, -1 not a string or too long. */
static int
copy_text(const cJSON *item, char *dst, size_t size, size_t max)
{
	if (item == NULL)
		return 0;
	if (!cJSON_IsString(item) || utf8_chars(item->valuestring) > max ||
	    strlen(item->valuestring) >= size)
		return -1;
	strcpy(dst, item->valuestring);
	return 1;
}

static enum norm_result
parse_participant(struct norm *n, const cJSON *object)
{
	struct zoom_event *ev = n->ev;
	const cJSON *p = member(object, "participant");
	const cJSON *host = member(object, "host_id");
	enum norm_result r;
	int c;

	/* meeting.device_tested names its person in test_result. */
	if (p == NULL)
		p = member(object, "test_result");
	if (p == NULL)
		return NORM_OK;
	if (!cJSON_IsObject(p))
		return fail(n, NORM_ERR_PARTICIPANT,
		    "payload.object.participant must be an object");
	if ((r = parse_keys(n, p)) != NORM_OK)
		return r;
	ev->is_host = cJSON_IsString(host) && host->valuestring[0] != '\0' &&
	    cJSON_IsString(member(p, "id")) &&
	    strcmp(member(p, "id")->valuestring, host->valuestring) == 0;

	c = copy_text(member(p, "user_name"), ev->participant_name,
	    sizeof(ev->participant_name), ZE_PARTICIPANT_NAME_MAX);
	if (c < 0)
		return fail(n, NORM_ERR_PARTICIPANT_NAME, "participant.user_name "
		    "must be a string of at most %d characters",
		    ZE_PARTICIPANT_NAME_MAX);
	ev->has_participant_name = c > 0;
	c = copy_text(member(p, "leave_reason"), ev->leave_reason,
	    sizeof(ev->leave_reason), ZE_LEAVE_REASON_MAX);
	if (c < 0)
		return fail(n, NORM_ERR_LEAVE_REASON, "participant.leave_reason "
		    "must be a string of at most %d characters",
		    ZE_LEAVE_REASON_MAX);
	ev->has_leave_reason = c > 0;
	return NORM_OK;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* n decimal digits at s into *v. */
static bool
digits(const char *s, int n, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

int
norm_iso8601_ms(const char *s, long long *ms)
{
	unsigned y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0;
	int sign = 0;
	const char *p = s + 19;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &sec))
		return -1;
	if (*p == '.') {
		int nd = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, nd++)
			if (nd < 3)
				frac = frac * 10 + (unsigned)(*p - '0');
		if (nd == 0)
			return -1;
		for (; nd < 3; nd++)
			frac *= 10;
	}
	if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !digits(p + 4, 2, &om) || p[6] != '\0' || oh > 23 || om > 59)
			return -1;
	} else if ((*p != 'Z' && *p != 'z') || p[1] != '\0') {
		return -1;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (long long)(oh * 3600 + om * 60)) * 1000) + frac;
	return 0;
}

/* The event's own time: the participant's join_time, leave_time or
 * date_time, else the meeting's start_time (meeting.started) or end_time
 * (meeting.ended).  Zoom's other participant events carry the meeting's
 * start_time too, which is not theirs.  An unreadable time is absent: the
 * event still counts, ordered by event_ts. */
static void
parse_event_time(struct zoom_event *ev, const cJSON *object)
{
	static const char *const own[] = { "join_time", "leave_time",
		"date_time" };
	const cJSON *p = member(object, "participant");
	const cJSON *t = NULL;

	for (size_t i = 0; t == NULL && cJSON_IsObject(p) && i < 3; i++)
		t = member(p, own[i]);
	if (t == NULL && strcmp(ev->event_name, "meeting.started") == 0)
		t = member(object, "start_time");
	if (t == NULL && strcmp(ev->event_name, "meeting.ended") == 0)
		t = member(object, "end_time");
	if (!cJSON_IsString(t) ||
	    norm_iso8601_ms(t->valuestring, &ev->event_time_ms) != 0)
		ev->event_time_ms = 0;
}

/* Zoom's QSS summaries carry latency as strings with units ("64 ms") in
 * participant.qos[].details.avg_latency: the worst average, in ms. */
static bool
qss_latency(const cJSON *object, long long *out)
{
	const cJSON *p = member(object, "participant"), *q, *e;
	bool found = false;

	*out = 0;
	q = cJSON_IsObject(p) ? member(p, "qos") : NULL;
	if (!cJSON_IsArray(q))
		return false;
	cJSON_ArrayForEach(e, q) {
		const cJSON *d = member(e, "details");
		const cJSON *l = cJSON_IsObject(d) ? member(d, "avg_latency")
		    : NULL;
		char *end;
		long v;

		if (!cJSON_IsString(l))
			continue;
		v = strtol(l->valuestring, &end, 10);
		if (end == l->valuestring || v < 0 || v > INT32_MAX ||
		    (*end != '\0' && strcmp(end, " ms") != 0 &&
		    strcmp(end, "ms") != 0))
			continue;
		if (v > *out)
			*out = v;
		found = true;
	}
	return found;
}

/* latency_ms: the seed's payload.object.latency_ms, else the
 * participant's, else a QSS summary's worst average. */
static enum norm_result
parse_latency(struct norm *n, const cJSON *object)
{
	struct zoom_event *ev = n->ev;
	const cJSON *item = member(object, "latency_ms");
	long long v;

	if (item == NULL && cJSON_IsObject(member(object, "participant")))
		item = member(member(object, "participant"), "latency_ms");
	if (item != NULL) {
		if (!exact_uint(item, INT32_MAX, &v))
			return fail(n, NORM_ERR_LATENCY, "latency_ms must be an "
			    "integer from 0 to %d", INT32_MAX);
	} else if (!qss_latency(object, &v)) {
		return NORM_OK;
	}
	ev->latency_ms = (int)v;
	ev->has_latency = true;
	return NORM_OK;
}

static enum norm_result
parse_meeting(struct norm *n, const cJSON *root, const cJSON *object)
{
	struct zoom_event *ev = n->ev;
	const cJSON *item;
	long long v;
	enum norm_result r;

	/* A meeting event without object.id (Zoom's type makes it optional
	 * for participant_joined) is kept with an empty meeting_id: its uuid
	 * names the visit, and reports take the id from its other events. */
	item = member(object, "id");
	if (copy_id(item, ev->meeting_id, ZE_MEETING_ID_MAX) < 0 ||
	    (item != NULL && ev->meeting_id[0] == '\0'))
		return fail(n, NORM_ERR_MEETING_ID, "payload.object.id must be "
		    "a non-empty string of at most %d printable ASCII "
		    "characters or a non-negative integer", ZE_MEETING_ID_MAX);

	item = member(object, "uuid");
	if (!cJSON_IsString(item) || !is_ident(item->valuestring,
	    ZE_VISIT_UUID_MAX))
		return fail(n, NORM_ERR_UUID, "payload.object.uuid must be a "
		    "non-empty string of at most %d printable ASCII characters",
		    ZE_VISIT_UUID_MAX);
	strcpy(ev->visit_uuid, item->valuestring);

	if (!exact_uint(member(root, "event_ts"), EXACT_INT_MAX, &v) || v == 0)
		return fail(n, NORM_ERR_EVENT_TS, "event_ts must be a positive "
		    "integer number of milliseconds below 2^53");
	ev->event_ts = v;

	if ((r = parse_participant(n, object)) != NORM_OK ||
	    (r = parse_latency(n, object)) != NORM_OK)
		return r;
	parse_event_time(ev, object);

	item = member(object, "interpreter_requested");
	if (item != NULL && !cJSON_IsBool(item))
		return fail(n, NORM_ERR_INTERPRETER,
		    "payload.object.interpreter_requested must be a boolean");
	ev->interpreter_requested = cJSON_IsTrue(item) ||
	    strcmp(ev->event_name, "meeting.interpreter_requested") == 0;
	return NORM_OK;
}

/* A meeting event: payload.object with an id and a uuid, or, for meeting.*
 * events, a uuid alone. */
static bool
is_meeting(const char *event_name, const cJSON *object)
{
	if (!cJSON_IsObject(object) || member(object, "uuid") == NULL)
		return false;
	return member(object, "id") != NULL ||
	    strncmp(event_name, "meeting.", 8) == 0;
}

static enum norm_result
parse_root(struct norm *n, const cJSON *root)
{
	struct zoom_event *ev = n->ev;
	const cJSON *event, *payload, *object;

	if (!cJSON_IsObject(root))
		return fail(n, NORM_ERR_NOT_OBJECT,
		    "the body must be a JSON object");

	event = member(root, "event");
	if (!cJSON_IsString(event) || !is_ident(event->valuestring,
	    ZE_EVENT_NAME_MAX))
		return fail(n, NORM_ERR_EVENT, "event must be a non-empty "
		    "string of at most %d printable ASCII characters",
		    ZE_EVENT_NAME_MAX);
	strcpy(ev->event_name, event->valuestring);

	payload = member(root, "payload");
	if (strcmp(ev->event_name, "endpoint.url_validation") == 0) {
		if (!cJSON_IsObject(payload))
			return fail(n, NORM_ERR_PLAIN_TOKEN,
			    "payload must be an object");
		return parse_validation(n, payload);
	}
	if (cJSON_IsObject(payload))
		copy_id(member(payload, "account_id"), ev->account_id,
		    ZE_ACCOUNT_ID_MAX);

	object = cJSON_IsObject(payload) ? member(payload, "object") : NULL;
	if (!is_meeting(ev->event_name, object))
		return fail(n, NORM_NOT_MEETING, "not a meeting event: no "
		    "payload.object.id or payload.object.uuid");
	return parse_meeting(n, root, object);
}

enum norm_result
normalize_event(const char *body, size_t len, struct zoom_event *ev,
    char *err, size_t errlen)
{
	/* cppcheck-suppress ctuuninitvar ; only the pointer is stored, and
	 * *ev is cleared below before anything reads it */
	struct norm n = { ev, err, errlen };
	const char *end = NULL;
	cJSON *root;
	enum norm_result r;

	memset(ev, 0, sizeof(*ev));
	ev->participant_key_source = "";
	ev->raw = body;
	ev->raw_len = len;
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	if (len == 0)
		return fail(&n, NORM_ERR_EMPTY, "the body is empty");
	if (!norm_utf8_valid(body, len))
		return fail(&n, NORM_ERR_UTF8, "the body is not valid UTF-8");
	if (memchr(body, '\0', len) != NULL || has_nul_escape(body, len))
		return fail(&n, NORM_ERR_JSON, "the body holds a NUL character");

	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root == NULL)
		return fail(&n, NORM_ERR_JSON, "the body is not valid JSON "
		    "(or nests deeper than %d levels)", CJSON_NESTING_LIMIT);
	/* cJSON stops after the first value; anything but whitespace after
	 * it means the body was not one JSON document. */
	for (; end < body + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\n' &&
		    *end != '\r') {
			cJSON_Delete(root);
			return fail(&n, NORM_ERR_JSON, "the body holds data "
			    "after its JSON value");
		}
	}
	r = parse_root(&n, root);
	cJSON_Delete(root);
	return r;
}

/* ---- redaction (store_raw = redacted) ---- */

/*
 * What names a person, or may: Zoom's user names and emails (also under
 * HIPAA they are sometimes sent), phone numbers, the participant's IP
 * addresses and location, and free text a scheduler types (a visit's
 * topic and agenda often carry the patient's name).  Ids stay: they are
 * what the service keys on, and they are not names.
 */
const char *const norm_redacted_keys[] = {
	"user_name", "display_name", "first_name", "last_name", "name",
	"email", "user_email", "host_email", "registrant_email",
	"phone_number", "phone", "public_ip", "private_ip", "ip_address",
	"location", "topic", "agenda", "comments",
	NULL
};

static bool
is_redacted(const char *key)
{
	for (size_t i = 0; norm_redacted_keys[i] != NULL; i++)
		if (strcmp(key, norm_redacted_keys[i]) == 0)
			return true;
	return false;
}

/* Remove the redacted members of item and, depth first, of its
 * children.  cJSON's own nesting limit bounds the recursion. */
static void
redact(cJSON *item)
{
	cJSON *c = item->child;

	while (c != NULL) {
		cJSON *next = c->next;

		if (cJSON_IsObject(item) && c->string != NULL &&
		    is_redacted(c->string))
			cJSON_Delete(cJSON_DetachItemViaPointer(item, c));
		else if (cJSON_IsObject(c) || cJSON_IsArray(c))
			redact(c);
		c = next;
	}
}

int
normalize_redact(const char *body, size_t len, char *out, size_t size,
    size_t *outlen)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	int rc = -1;

	if (root == NULL)
		return -1;
	redact(root);
	if (size <= INT32_MAX &&
	    cJSON_PrintPreallocated(root, out, (int)size, false)) {
		*outlen = strlen(out);
		rc = 0;
	}
	cJSON_Delete(root);
	return rc;
}
