/*
 * normalize.h -- turn the raw bytes of a Zoom webhook body into a plain
 * struct zoom_event.  Pure: cJSON and libc only, no I/O, no globals.
 */
#ifndef NORMALIZE_H
#define NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "zoom_limits.h"

/*
 * Outcome of normalize_event().  The order matters only to
 * norm_class(); keep NORM_RESULT_COUNT last.
 */
enum norm_result {
	NORM_OK = 0,            /* a meeting event, every field valid */
	NORM_URL_VALIDATION,    /* endpoint.url_validation, plain_token set */
	NORM_NOT_MEETING,       /* valid, but no payload.object.id or uuid */
	/* The body is not acceptable JSON at all (answered 400). */
	NORM_ERR_EMPTY,
	NORM_ERR_UTF8,
	NORM_ERR_JSON,
	/* Valid JSON, but not a well-formed event (dead-lettered). */
	NORM_ERR_NOT_OBJECT,
	NORM_ERR_EVENT,
	NORM_ERR_EVENT_TS,
	NORM_ERR_MEETING_ID,
	NORM_ERR_UUID,
	NORM_ERR_PARTICIPANT,
	NORM_ERR_PARTICIPANT_ID,
	NORM_ERR_PARTICIPANT_NAME,
	NORM_ERR_LATENCY,
	NORM_ERR_INTERPRETER,
	NORM_ERR_PLAIN_TOKEN,
	NORM_ERR_LEAVE_REASON,
	NORM_RESULT_COUNT
};

/* What the caller should do with a result; see norm_class(). */
enum norm_class {
	NORM_CLASS_EVENT,       /* store in zoom_visit_events */
	NORM_CLASS_VALIDATION,  /* answer Zoom's URL validation */
	NORM_CLASS_IGNORED,     /* keep as dead letter, count as ignored */
	NORM_CLASS_REJECTED,    /* keep as dead letter, count as rejected */
	NORM_CLASS_BAD_REQUEST  /* 400: not JSON, or a URL validation whose
				 * plainToken must not be signed */
};

/*
 * A normalized event.  Every string is NUL-terminated and within its
 * column's limit; an over-long value is an error, never truncated.  The
 * struct owns no heap memory: raw points into the caller's buffer, which
 * must outlive it.
 */
struct zoom_event {
	char meeting_id[ZE_MEETING_ID_MAX + 1];       /* decimal, string, or ""
						       * (a join without id) */
	char visit_uuid[ZE_VISIT_UUID_MAX + 1];       /* base64, case matters */
	char event_name[ZE_EVENT_NAME_MAX + 1];       /* also set on most errors */
	long long event_ts;                           /* milliseconds */
	long long event_time_ms;                      /* the event's own time
						       * (join_time, ...); 0 =
						       * absent */
	char participant_id[ZE_PARTICIPANT_ID_MAX + 1]; /* the session slot,
							 * "" = none */
	const char *participant_key_source;           /* the field it came
						       * from, "" = none */
	char person_key[ZE_PARTICIPANT_ID_MAX + 1];   /* the person, "" = none */
	bool is_host;                                 /* participant.id ==
						       * object.host_id */
	char participant_name[ZE_PARTICIPANT_NAME_MAX * 4 + 1]; /* UTF-8 */
	bool has_participant_name;                    /* false = SQL NULL */
	char leave_reason[ZE_LEAVE_REASON_MAX * 4 + 1]; /* UTF-8 */
	bool has_leave_reason;                        /* false = SQL NULL */
	int latency_ms;
	bool has_latency;                             /* false = SQL NULL */
	bool interpreter_requested;                   /* false = SQL NULL */
	char account_id[ZE_ACCOUNT_ID_MAX + 1];       /* payload.account_id */
	char plain_token[ZE_PLAIN_TOKEN_MAX + 1];     /* URL validation only */
	const char *raw;                              /* the body, not a copy */
	size_t raw_len;
};

/*
 * Parse and validate body[0..len).  The body need not be NUL-terminated.
 * Fills *ev (zeroed first) and, on an error, a one-line explanation in
 * err (which may be NULL).  Returns the outcome.
 */
enum norm_result normalize_event(const char *body, size_t len,
    struct zoom_event *ev, char *err, size_t errlen);

/* A short stable token for a result ("bad_event_ts"), for the dead-letter
 * reason column and metric labels. */
const char *norm_strerror(enum norm_result r);

/* What to do with a result. */
enum norm_class norm_class(enum norm_result r);

/*
 * The body without what identifies a person beyond the ids normalization
 * keys on: every member, at any depth, named in norm_redacted_keys (names,
 * emails, phone numbers, IP addresses, the meeting topic), re-serialised
 * compactly with cJSON into out[0..size).  *outlen is its length.  0, or
 * -1 when the body is not JSON or the result does not fit (the caller
 * then stores nothing of it).
 */
int normalize_redact(const char *body, size_t len, char *out, size_t size,
    size_t *outlen);

/* The member names normalize_redact() removes, NULL-terminated. */
extern const char *const norm_redacted_keys[];

/*
 * An ISO 8601 UTC time as Zoom writes it ("2025-03-11T15:02:41Z", also
 * with fractional seconds or a +hh:mm offset) to Unix milliseconds.  0, or
 * -1 when s is not one.
 */
int norm_iso8601_ms(const char *s, long long *ms);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF).  Exposed for the tests. */
bool norm_utf8_valid(const char *s, size_t len);

#endif /* NORMALIZE_H */
