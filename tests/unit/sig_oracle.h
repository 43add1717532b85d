/*
 * sig_oracle.h -- Zoom's signed message, "v0:<timestamp>:<body>", built
 * here independently of signature.c.  Shared by tests/unit/test_signature.c
 * and tests/fuzz/fuzz_signature.c, so that both check signatures against
 * the same expectation.
 */
#ifndef SIG_ORACLE_H
#define SIG_ORACLE_H

#include <stdlib.h>
#include <string.h>

/* A new buffer holding "v0:" ts ":" body[0..len), its length in *msglen.
 * Aborts on out of memory; the caller frees it. */
static inline char *
sig_oracle_message(const char *ts, const char *body, size_t len,
    size_t *msglen)
{
	size_t tlen = strlen(ts);
	char *msg = malloc(4 + tlen + len);

	if (msg == NULL)
		abort();
	memcpy(msg, "v0:", 3);
	memcpy(msg + 3, ts, tlen);
	msg[3 + tlen] = ':';
	if (len > 0)
		memcpy(msg + 4 + tlen, body, len);
	*msglen = 4 + tlen + len;
	return msg;
}

#endif /* SIG_ORACLE_H */
