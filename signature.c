/*
 * signature.c -- verify Zoom's x-zm-signature and compute the URL
 * validation token.  Owns the OpenSSL headers.  Knows nothing of FastCGI, JSON or
 * the database; the caller passes the clock.
 *
 * Zoom signs "v0:" + x-zm-request-timestamp + ":" + body with HMAC-SHA256
 * keyed by the app's secret token, and sends "v0=" + lowercase hex.  The
 * body is used exactly as received: re-serializing the JSON (as Zoom's own
 * Node sample does) changes the bytes and breaks valid signatures.
 */
#include "signature.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define MAC_LEN 32      /* SHA-256 */

static const char *const tokens[SIG_RESULT_COUNT] = {
	[SIG_OK] = "ok",
	[SIG_NO_SECRET] = "no_secret_configured",
	[SIG_NO_SIGNATURE] = "missing_signature",
	[SIG_BAD_SIGNATURE] = "malformed_signature",
	[SIG_NO_TIMESTAMP] = "missing_timestamp",
	[SIG_BAD_TIMESTAMP] = "malformed_timestamp",
	[SIG_EXPIRED] = "timestamp_outside_window",
	[SIG_MISMATCH] = "signature_mismatch",
	[SIG_INTERNAL] = "crypto_failure",
};

const char *
sig_strerror(enum sig_result r)
{
	if ((unsigned)r >= SIG_RESULT_COUNT)
		return "unknown";
	return tokens[r];
}

/* The EVP_MAC, fetched once per process (fetching is the expensive part),
 * by whichever request thread needs it first. */
static EVP_MAC *hmac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_fetch(void)
{
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* HMAC-SHA256 over the concatenation of parts, into mac[MAC_LEN]. */
static int
hmac_parts(const char *secret, const void *const *parts,
    const size_t *lens, size_t nparts, unsigned char mac[MAC_LEN])
{
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int ok;

	if (pthread_once(&hmac_once, hmac_fetch) != 0 || hmac == NULL)
		return -1;
	if ((ctx = EVP_MAC_CTX_new(hmac)) == NULL)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret),
	    params);
	for (size_t i = 0; ok && i < nparts; i++)
		ok = EVP_MAC_update(ctx, parts[i], lens[i]);
	ok = ok && EVP_MAC_final(ctx, mac, &outl, MAC_LEN) && outl == MAC_LEN;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -1;
}

static void
to_hex(const unsigned char *mac, char hex[SIG_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < MAC_LEN; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 0xF];
	}
	hex[SIG_HEX_LEN] = '\0';
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The message's three parts: "v0:<ts>:" and the body. */
static int
signed_mac(const char *secret, const char *ts, const char *body, size_t len,
    unsigned char mac[MAC_LEN])
{
	const void *parts[] = { "v0:", ts, ":", body };
	size_t lens[] = { 3, strlen(ts), 1, len };

	return hmac_parts(secret, parts, lens, 4, mac);
}

int
sig_hmac_hex(const char *secret, const void *msg, size_t len,
    char hex[SIG_HEX_LEN + 1])
{
	unsigned char mac[MAC_LEN];
	const void *parts[] = { msg };

	if (hmac_parts(secret, parts, &len, 1, mac) != 0)
		return -1;
	to_hex(mac, hex);
	return 0;
}

int
sig_sign(const char *secret, long long ts, const char *body, size_t len,
    char out[SIG_HEX_LEN + 4])
{
	unsigned char mac[MAC_LEN];
	char tsbuf[32];

	snprintf(tsbuf, sizeof(tsbuf), "%lld", ts);
	if (signed_mac(secret, tsbuf, body, len, mac) != 0)
		return -1;
	memcpy(out, "v0=", 3);
	to_hex(mac, out + 3);
	return 0;
}

/* Unix seconds: 1 to 19 decimal digits, nothing else. */
static int
parse_ts(const char *s, long long *out)
{
	char *end;
	size_t n = strlen(s);

	if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* "v0=" and 64 hex digits (either case) into want.  0 or -1. */
static int
parse_signature(const char *sig_header, unsigned char want[MAC_LEN])
{
	if (strncmp(sig_header, "v0=", 3) != 0 ||
	    strlen(sig_header) != 3 + SIG_HEX_LEN)
		return -1;
	for (size_t i = 0; i < MAC_LEN; i++) {
		int hi = hexval((unsigned char)sig_header[3 + 2 * i]);
		int lo = hexval((unsigned char)sig_header[4 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -1;
		want[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static bool
in_window(const struct sig_window *w, long long ts)
{
	if (w == NULL)
		return true;
	if (w->max_past_s > 0 && w->now > ts && w->now - ts > w->max_past_s)
		return false;
	if (w->max_future_s > 0 && ts > w->now &&
	    ts - w->now > w->max_future_s)
		return false;
	return true;
}

enum sig_result
sig_verify(const char *const *secrets, size_t nsecrets, const char *ts_header,
    const char *sig_header, const char *body, size_t len,
    const struct sig_window *w, size_t *matched, long long *ts_out)
{
	unsigned char want[MAC_LEN], got[MAC_LEN];
	long long ts;
	size_t first = nsecrets;

	if (nsecrets == 0)
		return SIG_NO_SECRET;
	if (sig_header == NULL || sig_header[0] == '\0')
		return SIG_NO_SIGNATURE;
	if (parse_signature(sig_header, want) != 0)
		return SIG_BAD_SIGNATURE;
	if (ts_header == NULL || ts_header[0] == '\0')
		return SIG_NO_TIMESTAMP;
	if (parse_ts(ts_header, &ts) != 0)
		return SIG_BAD_TIMESTAMP;
	if (ts_out != NULL)
		*ts_out = ts;
	if (!in_window(w, ts))
		return SIG_EXPIRED;
	for (size_t i = 0; i < nsecrets; i++) {
		if (signed_mac(secrets[i], ts_header, body, len, got) != 0)
			return SIG_INTERNAL;
		if (CRYPTO_memcmp(want, got, MAC_LEN) == 0 && first == nsecrets)
			first = i;
	}
	if (first == nsecrets)
		return SIG_MISMATCH;
	if (matched != NULL)
		*matched = first;
	return SIG_OK;
}

int
sig_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != 32)
		return -1;
	return 0;
}
