/*
 * test_signature.c -- sig_verify(), sig_sign(), sig_hmac_hex() and
 * sig_sha256() against digests computed independently at test time by the
 * openssl command line tool (never digests our own code produced).  Links
 * signature.o and -lcrypto only; needs `openssl` in PATH.
 */
#include "signature.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/sig_oracle.h"
#include "tests/unit/unit.h"

#define B(s) s, sizeof(s) - 1

#define SECRET "hs8KJX2pQ0yWm3V4nT7bLA"         /* Zoom-shaped: 22 chars */
#define OLD_SECRET "old-secret-being-rotated"
#define NOW 1700000000LL
#define NOW_S "1700000000"
#define WINDOW 300LL

static const char seed_body[] =
    "{\"event\":\"meeting.participant_joined\",\"event_ts\":1234567890,"
    "\"payload\":{\"object\":{\"id\":\"123456789\",\"uuid\":\"abc-def-ghi\","
    "\"participant\":{\"user_id\":\"user123\",\"user_name\":\"Dr. Smith\"},"
    "\"latency_ms\":45}}}";

static const char *const secrets[] = { SECRET };

/* ------------------------------------------------------- openssl helpers */

/* 'text' for sh, with embedded single quotes spliced in. */
static void
shell_quote(const char *s, char *out, size_t size)
{
	size_t n = 0;

	if (n < size - 1)
		out[n++] = '\'';
	for (; *s != '\0' && n + 5 < size; s++) {
		if (*s == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *s;
		}
	}
	if (n < size - 1)
		out[n++] = '\'';
	out[n] = '\0';
}

/*
 * Run `openssl dgst -sha256 [-hmac KEY]` on data[0..len) (through a
 * temporary file, so any byte, NUL included, goes in) and put the digest's
 * lowercase hex in hex.  key NULL: a plain SHA-256.  Returns 0 or -1.
 */
static int
openssl_hex(const char *key, const void *data, size_t len,
    char hex[SIG_HEX_LEN + 1])
{
	const char *tmpdir = getenv("TMPDIR");
	char path[512], qkey[1024] = "", cmd[2048], line[512];
	char *tok, *save = NULL, *last = NULL;
	FILE *fp;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/test_signature.XXXXXX",
	    tmpdir && tmpdir[0] ? tmpdir : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		return -1;
	if (len > 0 && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	if (key != NULL) {
		char q[600];

		shell_quote(key, q, sizeof(q));
		snprintf(qkey, sizeof(qkey), "-hmac %s", q);
	}
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 %s < '%s'", qkey,
	    path);
	if ((fp = popen(cmd, "r")) == NULL) {
		unlink(path);
		return -1;
	}
	line[0] = '\0';
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	rc = pclose(fp);
	unlink(path);
	if (rc != 0)
		return -1;
	/* "HMAC-SHA2-256(stdin)= <hex>" or "SHA2-256(stdin)= <hex>": the
	 * digest is the last word, whatever the version calls it. */
	for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save))
		last = tok;
	if (last == NULL || strlen(last) != SIG_HEX_LEN ||
	    strspn(last, "0123456789abcdef") != SIG_HEX_LEN)
		return -1;
	memcpy(hex, last, SIG_HEX_LEN + 1);
	return 0;
}

/*
 * Zoom's header for body at ts signed with key, computed by openssl over
 * "v0:<ts>:<body>": "v0=<hex>" in out.  A failure of openssl itself fails
 * the check that calls this.
 */
static int
zoom_sig(const char *key, const char *ts, const char *body, size_t len,
    char out[SIG_HEX_LEN + 4])
{
	size_t mlen;
	char *msg = sig_oracle_message(ts, body, len, &mlen);
	char hex[SIG_HEX_LEN + 1];
	int rc;

	rc = openssl_hex(key, msg, mlen, hex);
	free(msg);
	if (!CHECKF(rc == 0, "openssl dgst failed for key %s", key)) {
		strcpy(out, "v0=");
		memset(out + 3, '0', SIG_HEX_LEN);
		out[SIG_HEX_LEN + 3] = '\0';
		return -1;
	}
	snprintf(out, SIG_HEX_LEN + 4, "v0=%s", hex);
	return 0;
}

/* Check one sig_verify() call against the result wanted, reporting the
 * caller's line. */
static void
verify_at(const char *file, int line, enum sig_result want,
    const char *const *list, size_t n, const char *ts, const char *sig,
    const char *body, size_t len, long long now, long long max_age)
{
	struct sig_window w = { now, max_age, max_age };
	enum sig_result r = sig_verify(list, n, ts, sig, body, len, &w, NULL,
	    NULL);

	unit_okf(r == want, "sig_verify() == want", file, line,
	    "got %s, want %s", sig_strerror(r), sig_strerror(want));
}

#define VERIFY(...) verify_at(__FILE__, __LINE__, __VA_ARGS__)

/* ------------------------------------------------------------- verify */

static void
sig_verify_should_accept_openssl_signature(void)
{
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, B(seed_body), NOW, WINDOW);
}

static void
sig_verify_should_accept_uppercase_hex(void)
{
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	/* signature.c's hexval() takes A-F too: Zoom sends lowercase, but
	 * the header's case carries no meaning. */
	for (char *p = sig + 3; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, B(seed_body), NOW, WINDOW);
	for (char *p = sig + 3; *p != '\0'; p += 2)
		*p = (char)tolower((unsigned char)*p);
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, B(seed_body), NOW, WINDOW);
}

static void
sig_verify_should_accept_any_secret_of_a_rotation_list(void)
{
	static const char *const two[] = { OLD_SECRET, SECRET };
	static const char *const four[] = { "a1", "b2", "c3", SECRET };
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	VERIFY(SIG_OK, two, 2, NOW_S, sig, B(seed_body), NOW, WINDOW);
	VERIFY(SIG_OK, four, 4, NOW_S, sig, B(seed_body), NOW, WINDOW);
	/* Only the list given counts. */
	VERIFY(SIG_MISMATCH, two, 1, NOW_S, sig, B(seed_body), NOW, WINDOW);
	VERIFY(SIG_MISMATCH, four, 3, NOW_S, sig, B(seed_body), NOW,
	    WINDOW);
	zoom_sig(OLD_SECRET, NOW_S, B(seed_body), sig);
	VERIFY(SIG_OK, two, 2, NOW_S, sig, B(seed_body), NOW, WINDOW);
}

static void
sig_verify_should_need_a_secret(void)
{
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	VERIFY(SIG_NO_SECRET, secrets, 0, NOW_S, sig, B(seed_body), NOW,
	    WINDOW);
	VERIFY(SIG_NO_SECRET, NULL, 0, NULL, NULL, NULL, 0, NOW, WINDOW);
}

static void
sig_verify_should_reject_missing_or_empty_signature(void)
{
	VERIFY(SIG_NO_SIGNATURE, secrets, 1, NOW_S, NULL, B(seed_body), NOW,
	    WINDOW);
	VERIFY(SIG_NO_SIGNATURE, secrets, 1, NOW_S, "", B(seed_body), NOW,
	    WINDOW);
}

static void
sig_verify_should_reject_malformed_signature(void)
{
	char sig[SIG_HEX_LEN + 4], bad[SIG_HEX_LEN + 16];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	/* The hex alone, without "v0=". */
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, sig + 3, B(seed_body),
	    NOW, WINDOW);
	snprintf(bad, sizeof(bad), "v1=%s", sig + 3);
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, bad, B(seed_body), NOW,
	    WINDOW);
	snprintf(bad, sizeof(bad), "V0=%s", sig + 3);
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, bad, B(seed_body), NOW,
	    WINDOW);
	snprintf(bad, sizeof(bad), "sha256=%s", sig + 3);
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, bad, B(seed_body), NOW,
	    WINDOW);
	snprintf(bad, sizeof(bad), " %s", sig);
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, bad, B(seed_body), NOW,
	    WINDOW);
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, "v0=", B(seed_body),
	    NOW, WINDOW);
}

static void
sig_verify_should_reject_signature_of_wrong_length(void)
{
	char sig[SIG_HEX_LEN + 4], bad[SIG_HEX_LEN + 16];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	snprintf(bad, sizeof(bad), "%.*s", SIG_HEX_LEN + 2, sig);  /* 63 */
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, bad, B(seed_body), NOW,
	    WINDOW);
	snprintf(bad, sizeof(bad), "%s0", sig);                    /* 65 */
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, bad, B(seed_body), NOW,
	    WINDOW);
	snprintf(bad, sizeof(bad), "%s\n", sig);
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, bad, B(seed_body), NOW,
	    WINDOW);
	snprintf(bad, sizeof(bad), "%.*s", 3 + 32, sig);   /* a SHA-128? */
	VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, bad, B(seed_body), NOW,
	    WINDOW);
}

static void
sig_verify_should_reject_non_hex_signature(void)
{
	static const char notes[] = "gG-z :x";
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	for (size_t i = 0; i < sizeof(notes) - 1; i++) {
		char bad[SIG_HEX_LEN + 4];

		/* At the first, a middle and the last digit. */
		for (size_t at = 3; at < 3 + SIG_HEX_LEN; at += 31) {
			memcpy(bad, sig, sizeof(bad));
			bad[at] = notes[i];
			VERIFY(SIG_BAD_SIGNATURE, secrets, 1, NOW_S, bad,
			    B(seed_body), NOW, WINDOW);
		}
	}
}

static void
sig_verify_should_reject_wrong_secret(void)
{
	static const char *const wrong[] = { "not-the-secret" };
	static const char *const prefix[] = { "hs8KJX2pQ0yWm3V4nT7bL" };
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	VERIFY(SIG_MISMATCH, wrong, 1, NOW_S, sig, B(seed_body), NOW, WINDOW);
	/* A secret one character short is a different key. */
	VERIFY(SIG_MISMATCH, prefix, 1, NOW_S, sig, B(seed_body), NOW,
	    WINDOW);
}

static void
sig_verify_should_reject_tampered_body(void)
{
	char sig[SIG_HEX_LEN + 4];
	char body[sizeof(seed_body)];
	size_t len = sizeof(seed_body) - 1;

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	/* One byte changed, anywhere. */
	for (size_t at = 0; at < len; at += 17) {
		memcpy(body, seed_body, sizeof(body));
		body[at] ^= 0x01;
		VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig, body, len, NOW,
		    WINDOW);
	}
	/* "45" -> "46": still valid JSON, different latency. */
	memcpy(body, seed_body, sizeof(body));
	strstr(body, ":45}")[2] = '6';
	VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig, body, len, NOW, WINDOW);
	/* One byte short, one byte more. */
	VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig, seed_body, len - 1, NOW,
	    WINDOW);
	VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig, "{}", 0, NOW, WINDOW);
}

/* Re-serializing the JSON (as Zoom's Node sample does) breaks it. */
static void
sig_verify_should_reject_reformatted_body(void)
{
	static const char spaced[] =
	    "{\"event\": \"meeting.participant_joined\", \"event_ts\": "
	    "1234567890, \"payload\": {\"object\": {\"id\": \"123456789\", "
	    "\"uuid\": \"abc-def-ghi\", \"participant\": {\"user_id\": "
	    "\"user123\", \"user_name\": \"Dr. Smith\"}, \"latency_ms\": 45}}}";
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig, B(spaced), NOW, WINDOW);
}

static void
sig_verify_should_reject_missing_or_empty_timestamp(void)
{
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	VERIFY(SIG_NO_TIMESTAMP, secrets, 1, NULL, sig, B(seed_body), NOW,
	    WINDOW);
	VERIFY(SIG_NO_TIMESTAMP, secrets, 1, "", sig, B(seed_body), NOW,
	    WINDOW);
}

static void
sig_verify_should_reject_malformed_timestamp(void)
{
	static const char *const bad[] = {
		"abc", "-1", "-1700000000", "+1700000000", " 1700000000",
		"1700000000 ", "1700000000\n", "1.7e9", "1700000000.5",
		"0x6553f100", "17000000000000000000",   /* 20 digits */
		"99999999999999999999",                 /* 20 digits */
		"9999999999999999999",                  /* > LLONG_MAX */
		"1700000000abc",
	};
	char sig[SIG_HEX_LEN + 4];

	static char name[128];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "sig_verify_should_reject_"
		    "malformed_timestamp \"%s\"", bad[i]);
		unit_current = name;
		VERIFY(SIG_BAD_TIMESTAMP, secrets, 1, bad[i], sig,
		    B(seed_body), NOW, WINDOW);
		/* Even with the window off, it is not a number. */
		VERIFY(SIG_BAD_TIMESTAMP, secrets, 1, bad[i], sig,
		    B(seed_body), NOW, 0);
	}
}

/* The largest 19-digit value still parses; only the window rejects it. */
static void
sig_verify_should_accept_19_digit_timestamp_without_window(void)
{
	static const char ts[] = "9223372036854775807";
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, ts, B(seed_body), sig);
	VERIFY(SIG_EXPIRED, secrets, 1, ts, sig, B(seed_body), NOW, WINDOW);
	VERIFY(SIG_OK, secrets, 1, ts, sig, B(seed_body), NOW, 0);
}

static void
sig_verify_should_enforce_window_both_ways(void)
{
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	/* Our clock ahead of Zoom's: an old delivery. */
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, B(seed_body), NOW + WINDOW,
	    WINDOW);
	VERIFY(SIG_EXPIRED, secrets, 1, NOW_S, sig, B(seed_body),
	    NOW + WINDOW + 1, WINDOW);
	VERIFY(SIG_EXPIRED, secrets, 1, NOW_S, sig, B(seed_body),
	    NOW + 86400, WINDOW);
	/* Our clock behind: a delivery from the future. */
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, B(seed_body), NOW - WINDOW,
	    WINDOW);
	VERIFY(SIG_EXPIRED, secrets, 1, NOW_S, sig, B(seed_body),
	    NOW - WINDOW - 1, WINDOW);
	VERIFY(SIG_EXPIRED, secrets, 1, NOW_S, sig, B(seed_body), 0, WINDOW);
}

/* Issue 11: separate past and future bounds, Zoom's retry schedule. */
static void
sig_verify_should_bound_past_and_future_separately(void)
{
	const struct sig_window w = { NOW, 7200, 300 };
	char sig[SIG_HEX_LEN + 4], ts[32];
	static const struct {
		long long offset;       /* of the timestamp from now, s */
		enum sig_result want;
	} cases[] = {
		{ 0, SIG_OK },
		{ -5 * 60, SIG_OK },            /* Zoom's first retry */
		{ -85 * 60, SIG_OK },           /* its last */
		{ -90 * 60, SIG_OK },
		{ -7200, SIG_OK },
		{ -7201, SIG_EXPIRED },
		{ -3 * 3600, SIG_EXPIRED },
		{ 300, SIG_OK },
		{ 301, SIG_EXPIRED },
		{ 10 * 60, SIG_EXPIRED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long got_ts = 0;
		enum sig_result r;

		snprintf(ts, sizeof(ts), "%lld", NOW + cases[i].offset);
		zoom_sig(SECRET, ts, B(seed_body), sig);
		r = sig_verify(secrets, 1, ts, sig, B(seed_body), &w, NULL,
		    &got_ts);
		CHECKF(r == cases[i].want, "offset %lld: got %s",
		    cases[i].offset, sig_strerror(r));
		CHECK_INT(got_ts, NOW + cases[i].offset);
	}
}

/* Issue 11: the index of the secret that verified, for its label. */
static void
sig_verify_should_name_the_secret_that_verified(void)
{
	static const char *const list[] = { "clinic-a-secret",
		"clinic-b-secret", "clinic-b-old" };
	const struct sig_window w = { NOW, WINDOW, WINDOW };
	char sig[SIG_HEX_LEN + 4];
	size_t matched;

	for (size_t i = 0; i < 3; i++) {
		matched = 99;
		zoom_sig(list[i], NOW_S, B(seed_body), sig);
		CHECK(sig_verify(list, 3, NOW_S, sig, B(seed_body), &w,
		    &matched, NULL) == SIG_OK);
		CHECK_INT(matched, i);
	}
	matched = 99;
	zoom_sig("nobody", NOW_S, B(seed_body), sig);
	CHECK(sig_verify(list, 3, NOW_S, sig, B(seed_body), &w, &matched,
	    NULL) == SIG_MISMATCH);
	CHECK_INT(matched, 99);
}

/* The age check comes before the MAC: an expired header is expired even
 * when its signature is garbage-but-well-formed. */
static void
sig_verify_should_report_expiry_before_mismatch(void)
{
	char sig[SIG_HEX_LEN + 4];

	zoom_sig("some-other-key", NOW_S, B(seed_body), sig);
	VERIFY(SIG_EXPIRED, secrets, 1, NOW_S, sig, B(seed_body), NOW + 301,
	    WINDOW);
	VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig, B(seed_body), NOW,
	    WINDOW);
}

static void
sig_verify_should_skip_age_check_when_window_is_zero(void)
{
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, B(seed_body),
	    NOW + 10LL * 365 * 86400, 0);
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, B(seed_body), 0, 0);
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, B(seed_body), NOW, -1);
}

/* A timestamp in milliseconds is a date far in the future. */
static void
sig_verify_should_reject_millisecond_timestamp(void)
{
	static const char ts[] = "1700000000000";
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, ts, B(seed_body), sig);
	VERIFY(SIG_EXPIRED, secrets, 1, ts, sig, B(seed_body), NOW, WINDOW);
}

/* The header's text is what is signed, not the number it denotes. */
static void
sig_verify_should_sign_the_timestamp_text(void)
{
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(SECRET, "0" NOW_S, B(seed_body), sig);
	VERIFY(SIG_OK, secrets, 1, "0" NOW_S, sig, B(seed_body), NOW,
	    WINDOW);
	VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig, B(seed_body), NOW,
	    WINDOW);
	zoom_sig(SECRET, NOW_S, B(seed_body), sig);
	VERIFY(SIG_MISMATCH, secrets, 1, "1700000001", sig, B(seed_body),
	    NOW, WINDOW);
}

/* Bodies exactly as received: odd whitespace, key order, UTF-8, NULs. */
static void
sig_verify_should_cover_raw_body_bytes(void)
{
	static const struct {
		const char *what;
		const char *body;
		size_t len;
	} t[] = {
		{ "unusual whitespace",
		  B("{ \"event\" :\t\"meeting.started\" ,\r\n  \"event_ts\""
		  ":1 }\r\n\n") },
		{ "keys in another order",
		  B("{\"payload\":{\"object\":{\"uuid\":\"abc-def-ghi\","
		  "\"id\":\"123456789\"}},\"event_ts\":1234567890,\"event\":"
		  "\"meeting.started\"}") },
		{ "raw UTF-8",
		  B("{\"user_name\":\"\xE7\x8E\x8B\xE5\xB0\x8F\xE6\x98\x8E "
		  "\xD8\xAF. \xD8\xA3\xD8\xAD\xD9\x85\xD8\xAF "
		  "\xF0\x9F\x91\xA9\xE2\x80\x8D\xE2\x9A\x95\xEF\xB8\x8F\"}") },
		{ "escaped UTF-8",
		  B("{\"user_name\":\"\\u738b\\ud83e\\ude7a\"}") },
		{ "NUL bytes", B("{\"a\":\"x\0y\"}\0\0trailer") },
		{ "only a NUL", B("\0") },
		{ "empty", B("") },
		{ "invalid UTF-8", B("\xC0\xAF\xFF\xFE") },
	};
	char sig[SIG_HEX_LEN + 4];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unit_current = t[i].what;
		zoom_sig(SECRET, NOW_S, t[i].body, t[i].len, sig);
		VERIFY(SIG_OK, secrets, 1, NOW_S, sig, t[i].body, t[i].len,
		    NOW, WINDOW);
		if (t[i].len > 0)
			VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig,
			    t[i].body, t[i].len - 1, NOW, WINDOW);
	}
	/* Bytes after a NUL count: "x\0y" and "x\0z" differ. */
	unit_current = "sig_verify_should_cover_raw_body_bytes";
	zoom_sig(SECRET, NOW_S, B("x\0y"), sig);
	VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig, B("x\0z"), NOW, WINDOW);
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, B("x\0y"), NOW, WINDOW);
}

/* The largest body the service takes by default (256 KiB). */
static void
sig_verify_should_accept_large_body(void)
{
	size_t len = 256 * 1024;
	char *body = malloc(len);
	char sig[SIG_HEX_LEN + 4];

	if (body == NULL)
		abort();
	for (size_t i = 0; i < len; i++)
		body[i] = (char)(i * 131 + 7);
	zoom_sig(SECRET, NOW_S, body, len, sig);
	VERIFY(SIG_OK, secrets, 1, NOW_S, sig, body, len, NOW, WINDOW);
	body[len / 2] ^= 0x40;
	VERIFY(SIG_MISMATCH, secrets, 1, NOW_S, sig, body, len, NOW, WINDOW);
	free(body);
}

/* Secrets are C strings of any bytes but NUL; quotes and spaces too. */
static void
sig_verify_should_accept_secrets_with_odd_characters(void)
{
	static const char *const odd[] = { "it's a \"secret\" $HOME `x`" };
	char sig[SIG_HEX_LEN + 4];

	zoom_sig(odd[0], NOW_S, B(seed_body), sig);
	VERIFY(SIG_OK, odd, 1, NOW_S, sig, B(seed_body), NOW, WINDOW);
}

/* ------------------------------------------------ sign, hmac, sha256 */

static void
sig_sign_should_give_v0_and_64_lowercase_hex_as_openssl(void)
{
	char out[SIG_HEX_LEN + 8], want[SIG_HEX_LEN + 4];

	memset(out, 'x', sizeof(out));
	CHECK(sig_sign(SECRET, NOW, B(seed_body), out) == 0);
	CHECK_INT(strlen(out), 3 + SIG_HEX_LEN);
	CHECK(strncmp(out, "v0=", 3) == 0);
	CHECK_INT(strspn(out + 3, "0123456789abcdef"), SIG_HEX_LEN);
	if (zoom_sig(SECRET, NOW_S, B(seed_body), want) == 0)
		CHECK_STR(out, want);
	VERIFY(SIG_OK, secrets, 1, NOW_S, out, B(seed_body), NOW, WINDOW);

	/* A body with NULs, and an empty one. */
	CHECK(sig_sign(SECRET, 42, B("a\0b"), out) == 0);
	if (zoom_sig(SECRET, "42", B("a\0b"), want) == 0)
		CHECK_STR(out, want);
	CHECK(sig_sign(SECRET, 42, "", 0, out) == 0);
	if (zoom_sig(SECRET, "42", "", 0, want) == 0)
		CHECK_STR(out, want);
}

/* Zoom's URL validation: encryptedToken = hex HMAC of the plainToken. */
static void
sig_hmac_hex_should_match_openssl_for_plain_token(void)
{
	static const char *const tokens[] = {
		"qgg8vlvZRS6UYooatFL8Aw", "x", "",
		"a token with spaces and \xC3\xA9",
	};
	char hex[SIG_HEX_LEN + 1], want[SIG_HEX_LEN + 1];

	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		size_t len = strlen(tokens[i]);

		memset(hex, 'x', sizeof(hex));
		CHECK(sig_hmac_hex(SECRET, tokens[i], len, hex) == 0);
		CHECK_INT(strlen(hex), SIG_HEX_LEN);
		CHECK_INT(strspn(hex, "0123456789abcdef"), SIG_HEX_LEN);
		if (CHECK(openssl_hex(SECRET, tokens[i], len, want) == 0))
			CHECK_STR(hex, want);
	}
	/* Bytes after a NUL are part of the message. */
	CHECK(sig_hmac_hex(SECRET, "a\0b", 3, hex) == 0);
	if (CHECK(openssl_hex(SECRET, "a\0b", 3, want) == 0))
		CHECK_STR(hex, want);
}

static void
hex_of(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
sig_sha256_should_match_openssl(void)
{
	static const struct {
		const char *data;
		size_t len;
	} t[] = {
		{ B("") },
		{ B("abc") },
		{ B("{\"event\":\"meeting.started\"}") },
		{ B("with\0nul\0bytes") },
	};
	unsigned char d[32];
	char hex[SIG_HEX_LEN + 1], want[SIG_HEX_LEN + 1];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK(sig_sha256(t[i].data, t[i].len, d) == 0);
		hex_of(d, sizeof(d), hex);
		if (CHECK(openssl_hex(NULL, t[i].data, t[i].len, want) == 0))
			CHECK_STR(hex, want);
	}
	/* The well-known digest of "abc" (FIPS 180-2), as an anchor for
	 * the openssl parsing itself. */
	CHECK(sig_sha256("abc", 3, d) == 0);
	hex_of(d, sizeof(d), hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
}

static void
sig_strerror_should_name_every_result(void)
{
	static const struct {
		enum sig_result r;
		const char *token;
	} t[] = {
		{ SIG_OK, "ok" },
		{ SIG_NO_SECRET, "no_secret_configured" },
		{ SIG_NO_SIGNATURE, "missing_signature" },
		{ SIG_BAD_SIGNATURE, "malformed_signature" },
		{ SIG_NO_TIMESTAMP, "missing_timestamp" },
		{ SIG_BAD_TIMESTAMP, "malformed_timestamp" },
		{ SIG_EXPIRED, "timestamp_outside_window" },
		{ SIG_MISMATCH, "signature_mismatch" },
		{ SIG_INTERNAL, "crypto_failure" },
	};

	CHECK_INT(sizeof(t) / sizeof(t[0]), SIG_RESULT_COUNT);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_STR(sig_strerror(t[i].r), t[i].token);
	CHECK_STR(sig_strerror(SIG_RESULT_COUNT), "unknown");
	CHECK_STR(sig_strerror((enum sig_result)-1), "unknown");
}

int
main(void)
{
	RUN(sig_verify_should_accept_openssl_signature);
	RUN(sig_verify_should_accept_uppercase_hex);
	RUN(sig_verify_should_accept_any_secret_of_a_rotation_list);
	RUN(sig_verify_should_need_a_secret);
	RUN(sig_verify_should_reject_missing_or_empty_signature);
	RUN(sig_verify_should_reject_malformed_signature);
	RUN(sig_verify_should_reject_signature_of_wrong_length);
	RUN(sig_verify_should_reject_non_hex_signature);
	RUN(sig_verify_should_reject_wrong_secret);
	RUN(sig_verify_should_reject_tampered_body);
	RUN(sig_verify_should_reject_reformatted_body);
	RUN(sig_verify_should_reject_missing_or_empty_timestamp);
	RUN(sig_verify_should_reject_malformed_timestamp);
	RUN(sig_verify_should_accept_19_digit_timestamp_without_window);
	RUN(sig_verify_should_enforce_window_both_ways);
	RUN(sig_verify_should_bound_past_and_future_separately);
	RUN(sig_verify_should_name_the_secret_that_verified);
	RUN(sig_verify_should_report_expiry_before_mismatch);
	RUN(sig_verify_should_skip_age_check_when_window_is_zero);
	RUN(sig_verify_should_reject_millisecond_timestamp);
	RUN(sig_verify_should_sign_the_timestamp_text);
	RUN(sig_verify_should_cover_raw_body_bytes);
	RUN(sig_verify_should_accept_large_body);
	RUN(sig_verify_should_accept_secrets_with_odd_characters);
	RUN(sig_sign_should_give_v0_and_64_lowercase_hex_as_openssl);
	RUN(sig_hmac_hex_should_match_openssl_for_plain_token);
	RUN(sig_sha256_should_match_openssl);
	RUN(sig_strerror_should_name_every_result);
	return unit_report("test_signature");
}
