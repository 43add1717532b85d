/*
 * seal.c -- AES-256-GCM over caller buffers, and key files.  Owns the
 * OpenSSL headers it needs (with signature.c).  Knows nothing of spool
 * files, FastCGI or the database.
 *
 * GCM with a random 96-bit nonce per sealed buffer: a nonce must never
 * repeat under one key, and 2^32 buffers under one key keep the chance of
 * a repeat below 2^-32 (NIST SP 800-38D 8.3), far above what a spool
 * sees.  The nonce comes from RAND_bytes (the kernel's getrandom() behind
 * OpenSSL's DRBG, reseeded after fork()).
 */
#include "seal.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* A GCM context for key and nonce, encrypting or decrypting; NULL. */
static EVP_CIPHER_CTX *
gcm_start(const unsigned char *key, const unsigned char *nonce, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx == NULL)
		return NULL;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Feed aad, then in[0..len) to out; 1 when libcrypto agreed. */
static int
gcm_update(EVP_CIPHER_CTX *ctx, const void *aad, size_t aadlen,
    const unsigned char *in, size_t len, unsigned char *out)
{
	int n;

	if (aadlen > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad,
	    (int)aadlen) != 1)
		return 0;
	if (len > 0 && (EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    (size_t)n != len))
		return 0;
	return 1;
}

int
seal_close(const unsigned char key[SEAL_KEY_LEN], const void *aad,
    size_t aadlen, const void *in, size_t len, unsigned char *out)
{
	unsigned char *ct = out + SEAL_NONCE_LEN;
	EVP_CIPHER_CTX *ctx;
	int n, ok;

	if (len > INT_MAX || aadlen > INT_MAX)
		return -1;
	if (RAND_bytes(out, SEAL_NONCE_LEN) != 1 ||
	    (ctx = gcm_start(key, out, 1)) == NULL)
		return -1;
	ok = gcm_update(ctx, aad, aadlen, in, len, ct) &&
	    EVP_CipherFinal_ex(ctx, ct + len, &n) == 1 && n == 0 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
	    ct + len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
seal_open(const unsigned char key[SEAL_KEY_LEN], const void *aad,
    size_t aadlen, const unsigned char *in, size_t len, void *out)
{
	unsigned char tag[SEAL_TAG_LEN];
	EVP_CIPHER_CTX *ctx;
	size_t clen;
	int n, ok;

	if (len < SEAL_OVERHEAD || len - SEAL_OVERHEAD > INT_MAX ||
	    aadlen > INT_MAX)
		return -1;
	clen = len - SEAL_OVERHEAD;
	memcpy(tag, in + SEAL_NONCE_LEN + clen, SEAL_TAG_LEN);
	if ((ctx = gcm_start(key, in, 0)) == NULL)
		return -1;
	ok = gcm_update(ctx, aad, aadlen, in + SEAL_NONCE_LEN, clen, out) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	    tag) == 1 &&
	    EVP_CipherFinal_ex(ctx, (unsigned char *)out + clen, &n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		/* Never hand out plaintext that did not verify. */
		if (clen > 0)
			OPENSSL_cleanse(out, clen);
		return -1;
	}
	return 0;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 2 * SEAL_KEY_LEN hex digits at s into key; 0, or -1 when s is not. */
static int
parse_hex_key(const char *s, unsigned char key[SEAL_KEY_LEN])
{
	for (size_t i = 0; i < SEAL_KEY_LEN; i++) {
		int hi = hex_value((unsigned char)s[2 * i]);
		int lo = hex_value((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
seal_key_parse(const char *text, size_t len,
    unsigned char key[SEAL_KEY_LEN], char *err, size_t errlen)
{
	size_t n = len;

	if (len > SEAL_KEY_FILE_MAX) {
		snprintf(err, errlen, "key file is longer than %d bytes",
		    SEAL_KEY_FILE_MAX);
		return -1;
	}
	if (n > 0 && text[n - 1] == '\n' && --n > 0 && text[n - 1] == '\r')
		n--;
	if (n == 2 * SEAL_KEY_LEN && parse_hex_key(text, key) == 0)
		return 0;
	if (n < SEAL_PASSPHRASE_MIN) {
		snprintf(err, errlen, "key file holds neither %d hex digits "
		    "nor a passphrase of at least %d bytes", 2 * SEAL_KEY_LEN,
		    SEAL_PASSPHRASE_MIN);
		return -1;
	}
	if (EVP_Digest(text, n, key, NULL, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "cannot hash the passphrase");
		return -1;
	}
	return 0;
}
