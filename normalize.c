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
	[NORM_ERR_EMPTY] = { "empty_body", NORM_CLASS_BAD_JSON },
	[NORM_ERR_UTF8] = { "invalid_utf8", NORM_CLASS_BAD_JSON },
	[NORM_ERR_JSON] = { "invalid_json", NORM_CLASS_BAD_JSON },
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
	[NORM_ERR_PLAIN_TOKEN] = { "bad_plain_token", NORM_CLASS_REJECTED },
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

static enum norm_result
parse_validation(struct norm *n, const cJSON *payload)
{
	const cJSON *tok = member(payload, "plainToken");

	if (!cJSON_IsString(tok) || !is_ident(tok->valuestring,
	    ZE_PLAIN_TOKEN_MAX))
		return fail(n, NORM_ERR_PLAIN_TOKEN, "payload.plainToken must "
		    "be a string of 1 to %d printable characters",
		    ZE_PLAIN_TOKEN_MAX);
	strcpy(n->ev->plain_token, tok->valuestring);
	return NORM_URL_VALIDATION;
}

static enum norm_result
parse_participant(struct norm *n, const cJSON *object)
{
	struct zoom_event *ev = n->ev;
	const cJSON *p = member(object, "participant");
	const cJSON *name;
	int r;

	if (p == NULL)
		return NORM_OK;
	if (!cJSON_IsObject(p))
		return fail(n, NORM_ERR_PARTICIPANT,
		    "payload.object.participant must be an object");

	r = copy_id(member(p, "user_id"), ev->participant_id,
	    ZE_PARTICIPANT_ID_MAX);
	if (r == 0)
		r = copy_id(member(p, "id"), ev->participant_id,
		    ZE_PARTICIPANT_ID_MAX);
	if (r < 0)
		return fail(n, NORM_ERR_PARTICIPANT_ID, "participant.user_id "
		    "and participant.id must be strings of at most %d "
		    "printable ASCII characters", ZE_PARTICIPANT_ID_MAX);

	name = member(p, "user_name");
	if (name != NULL) {
		if (!cJSON_IsString(name))
			return fail(n, NORM_ERR_PARTICIPANT_NAME,
			    "participant.user_name must be a string");
		if (utf8_chars(name->valuestring) > ZE_PARTICIPANT_NAME_MAX ||
		    strlen(name->valuestring) >= sizeof(ev->participant_name))
			return fail(n, NORM_ERR_PARTICIPANT_NAME,
			    "participant.user_name is longer than %d "
			    "characters", ZE_PARTICIPANT_NAME_MAX);
		strcpy(ev->participant_name, name->valuestring);
		ev->has_participant_name = true;
	}
	return NORM_OK;
}

static enum norm_result
parse_meeting(struct norm *n, const cJSON *root, const cJSON *object)
{
	struct zoom_event *ev = n->ev;
	const cJSON *item;
	long long v;
	enum norm_result r;

	if (copy_id(member(object, "id"), ev->meeting_id,
	    ZE_MEETING_ID_MAX) <= 0)
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

	if ((r = parse_participant(n, object)) != NORM_OK)
		return r;

	item = member(object, "latency_ms");
	if (item == NULL && cJSON_IsObject(member(object, "participant")))
		item = member(member(object, "participant"), "latency_ms");
	if (item != NULL) {
		if (!exact_uint(item, INT32_MAX, &v))
			return fail(n, NORM_ERR_LATENCY, "latency_ms must be an "
			    "integer from 0 to %d", INT32_MAX);
		ev->latency_ms = (int)v;
		ev->has_latency = true;
	}

	item = member(object, "interpreter_requested");
	if (item != NULL && !cJSON_IsBool(item))
		return fail(n, NORM_ERR_INTERPRETER,
		    "payload.object.interpreter_requested must be a boolean");
	ev->interpreter_requested = cJSON_IsTrue(item) ||
	    strcmp(ev->event_name, "meeting.interpreter_requested") == 0;
	return NORM_OK;
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

	object = cJSON_IsObject(payload) ? member(payload, "object") : NULL;
	if (!cJSON_IsObject(object) || member(object, "id") == NULL ||
	    member(object, "uuid") == NULL)
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
