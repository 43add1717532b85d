/*
 * signature.h -- Zoom's webhook signature (x-zm-signature) and URL
 * validation token, with OpenSSL's libcrypto.  No I/O, no clock: the
 * caller passes "now".
 */
#ifndef SIGNATURE_H
#define SIGNATURE_H

#include <stddef.h>

/* Lowercase hex of an HMAC-SHA256, plus the NUL. */
#define SIG_HEX_LEN 64

enum sig_result {
	SIG_OK = 0,
	SIG_NO_SECRET,          /* no secret configured: cannot verify */
	SIG_NO_SIGNATURE,       /* x-zm-signature missing or empty */
	SIG_BAD_SIGNATURE,      /* not "v0=" and 64 hex digits */
	SIG_NO_TIMESTAMP,       /* x-zm-request-timestamp missing or empty */
	SIG_BAD_TIMESTAMP,      /* not a decimal number of seconds */
	SIG_EXPIRED,            /* outside the replay window */
	SIG_MISMATCH,           /* no configured secret produces it */
	SIG_INTERNAL,           /* libcrypto failed */
	SIG_RESULT_COUNT
};

/* The replay window: how far x-zm-request-timestamp may be from now. */
struct sig_window {
	long long now;          /* Unix seconds */
	long long max_past_s;   /* at most this old; 0 = no bound */
	long long max_future_s; /* at most this far ahead; 0 = no bound */
};

/*
 * Check a delivery: sig_header must be "v0=<hex>", the HMAC-SHA256 keyed
 * with one of secrets[0..nsecrets) of "v0:<ts_header>:<body>", computed over
 * the body bytes exactly as received, and ts_header (Unix seconds) within
 * the window (w NULL: no window).  Header arguments may be NULL.  Every
 * secret is tried, whatever matches, so that the time taken does not tell
 * which one did.  On SIG_OK, *matched (when not NULL) is the index of the
 * first secret that verified; *ts (when not NULL) is the parsed timestamp
 * whenever it could be read.
 */
enum sig_result sig_verify(const char *const *secrets, size_t nsecrets,
    const char *ts_header, const char *sig_header,
    const char *body, size_t len, const struct sig_window *w,
    size_t *matched, long long *ts);

/* A short stable token for a result ("bad_signature"). */
const char *sig_strerror(enum sig_result r);

/*
 * hex = lowercase hex HMAC-SHA256(secret, msg[0..len)), NUL-terminated.
 * Returns 0, or -1 when libcrypto fails.  This is Zoom's encryptedToken
 * when msg is the plainToken.
 */
int sig_hmac_hex(const char *secret, const void *msg, size_t len,
    char hex[SIG_HEX_LEN + 1]);

/*
 * The x-zm-signature value for body at timestamp ts, signed with secret:
 * "v0=<hex>", NUL-terminated in out (at least SIG_HEX_LEN + 4 bytes).
 * Returns 0 or -1.  Used by "zoom_events sign" and the tests.
 */
int sig_sign(const char *secret, long long ts, const char *body, size_t len,
    char out[SIG_HEX_LEN + 4]);

/* out = SHA-256 of data[0..len) (32 bytes): dead letters are keyed by it.
 * Returns 0 or -1. */
int sig_sha256(const void *data, size_t len, unsigned char out[32]);

#endif /* SIGNATURE_H */
