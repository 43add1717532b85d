/*
 * fuzz_signature.c -- libFuzzer entry point for sig_verify().  The input
 * is split at its first two newlines into the x-zm-request-timestamp
 * header, the x-zm-signature header and the body:
 *
 *     1700000000\nv0=<64 hex>\n{"event":...}
 *
 * (fewer newlines: the missing headers are NULL).  Checked on every input:
 * the result is in range; a SIG_OK really is "v0=" + the HMAC of one
 * configured secret over "v0:<ts>:<body>"; sig_sign()'s header for the body
 * verifies, and stops verifying when one body byte changes.  abort() on a
 * violation.
 */
#include "signature.h"
#include "tests/unit/sig_oracle.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed, so that seeds in tests/fuzz/corpus/signature/ can carry valid
 * signatures (made with `openssl dgst -sha256 -hmac`). */
#define FUZZ_NOW 1700000000LL
#define FUZZ_NOW_S "1700000000"
#define FUZZ_WINDOW 300LL

static const char *const secrets[] = {
	"fuzz-secret-old", "hs8KJX2pQ0yWm3V4nT7bLA",
};
#define NSECRETS (sizeof(secrets) / sizeof(secrets[0]))

static void
violated(const char *what, enum sig_result r)
{
	fprintf(stderr, "fuzz_signature: invariant violated: %s (result %s)\n",
	    what, sig_strerror(r));
	abort();
}

/* A NUL-terminated copy of p[0..n), or NULL when p is NULL. */
static char *
dup_n(const uint8_t *p, size_t n)
{
	char *s;

	if (p == NULL)
		return NULL;
	if ((s = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* True when sig is "v0=" and the hex (any case) of the HMAC of secret
 * over "v0:<ts>:<body>", computed here through sig_hmac_hex(). */
static bool
signed_by(const char *secret, const char *ts, const char *sig,
    const char *body, size_t len)
{
	size_t mlen;
	char *msg = sig_oracle_message(ts, body, len, &mlen);
	char hex[SIG_HEX_LEN + 1];
	bool ok;

	if (sig_hmac_hex(secret, msg, mlen, hex) != 0)
		abort();
	free(msg);
	ok = strncmp(sig, "v0=", 3) == 0 && strlen(sig) == 3 + SIG_HEX_LEN &&
	    strcasecmp(sig + 3, hex) == 0;
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl1, *nl2 = NULL, *body;
	char *ts = NULL, *sig = NULL, *copy;
	char out[SIG_HEX_LEN + 4];
	const struct sig_window window = { FUZZ_NOW, FUZZ_WINDOW, FUZZ_WINDOW };
	size_t len, matched = NSECRETS;
	enum sig_result r;
	bool any = false;

	nl1 = memchr(data, '\n', size);
	if (nl1 != NULL)
		nl2 = memchr(nl1 + 1, '\n', size - (size_t)(nl1 + 1 - data));
	if (nl1 == NULL) {
		body = data;
	} else if (nl2 == NULL) {
		ts = dup_n(data, (size_t)(nl1 - data));
		body = nl1 + 1;
	} else {
		ts = dup_n(data, (size_t)(nl1 - data));
		sig = dup_n(nl1 + 1, (size_t)(nl2 - nl1 - 1));
		body = nl2 + 1;
	}
	len = size - (size_t)(body - data);
	/* The body in its own allocation, so ASan sees any read past it. */
	copy = dup_n(body, len);

	r = sig_verify(secrets, NSECRETS, ts, sig, copy, len, &window,
	    &matched, NULL);
	if ((unsigned)r >= SIG_RESULT_COUNT || r == SIG_NO_SECRET ||
	    r == SIG_INTERNAL)
		violated("result out of range or impossible", r);
	if (strcmp(sig_strerror(r), "unknown") == 0)
		violated("no token for the result", r);
	if (r == SIG_OK) {
		for (size_t i = 0; i < NSECRETS; i++)
			any = any || signed_by(secrets[i], ts, sig, copy, len);
		if (!any)
			violated("accepted a signature no secret made", r);
		/* The secret named as the match made it, and none before. */
		if (matched >= NSECRETS ||
		    !signed_by(secrets[matched], ts, sig, copy, len))
			violated("matched names a secret that did not sign", r);
		for (size_t i = 0; i < matched; i++)
			if (signed_by(secrets[i], ts, sig, copy, len))
				violated("matched is not the first match", r);
	}
	/* No secret, no verification, whatever the rest. */
	if (sig_verify(secrets, 0, ts, sig, copy, len, &window, NULL,
	    NULL) != SIG_NO_SECRET)
		violated("verified without a secret", r);

	/* Round trip: our own header for this body verifies ... */
	if (sig_sign(secrets[1], FUZZ_NOW, copy, len, out) != 0)
		abort();
	if (strlen(out) != 3 + SIG_HEX_LEN || strncmp(out, "v0=", 3) != 0 ||
	    strspn(out + 3, "0123456789abcdef") != SIG_HEX_LEN)
		violated("sig_sign output not v0= and 64 lowercase hex", r);
	r = sig_verify(secrets, NSECRETS, FUZZ_NOW_S, out, copy, len,
	    &window, &matched, NULL);
	if (r != SIG_OK || matched != 1)
		violated("sig_sign's header does not verify", r);
	/* ... and stops verifying when one byte of the body changes. */
	if (len > 0) {
		size_t at = (size_t)data[0] % len;

		copy[at] ^= 0x20;
		r = sig_verify(secrets, NSECRETS, FUZZ_NOW_S, out, copy, len,
		    &window, NULL, NULL);
		if (r != SIG_MISMATCH)
			violated("a changed body still verifies", r);
	}
	free(copy);
	free(ts);
	free(sig);
	return 0;
}
