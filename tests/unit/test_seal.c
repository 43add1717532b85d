/*
 * test_seal.c -- seal_close() and seal_open(): known answers (the GCM
 * specification's AES-256 test cases), round trips, and every way a
 * sealed buffer must fail to open; seal_key_parse() on key files.  Links
 * seal.o and -lcrypto.
 */
#include "seal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

/* Hex into bytes; the count. */
static size_t
unhex(const char *hex, unsigned char *out)
{
	size_t n = 0;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		unsigned v;

		if (sscanf(hex, "%2x", &v) != 1)
			abort();
		out[n++] = (unsigned char)v;
	}
	return n;
}

/*
 * McGrew and Viega, "The Galois/Counter Mode of Operation", test cases
 * 13, 14 and 16 (AES-256, 96-bit IV), as nonce || ciphertext || tag.
 */
static const struct {
	const char *key, *iv, *plain, *aad, *cipher, *tag;
} kat[] = {
	{ "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "", "", "",
	  "530f8afbc74536b9a963b4f1c4cb738b" },
	{ "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "00000000000000000000000000000000", "",
	  "cea7403d4d606b6e074ec5d3baf39d18",
	  "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void
seal_should_open_the_specification_vectors(void)
{
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		unsigned char key[SEAL_KEY_LEN], sealed[256], plain[128];
		unsigned char want[128], aad[64], out[128];
		size_t n = 0, plen, alen;

		CHECK_INT(unhex(kat[i].key, key), SEAL_KEY_LEN);
		n += unhex(kat[i].iv, sealed);
		n += unhex(kat[i].cipher, sealed + n);
		n += unhex(kat[i].tag, sealed + n);
		plen = unhex(kat[i].plain, want);
		alen = unhex(kat[i].aad, aad);
		CHECK_INT(n, plen + SEAL_OVERHEAD);
		CHECKF(seal_open(key, aad, alen, sealed, n, plain) == 0,
		    "vector %zu", i);
		CHECK(memcmp(plain, want, plen) == 0);
		/* seal_close() draws its own nonce, so its side of the
		 * vector is shown by opening what it sealed. */
		CHECK(seal_close(key, aad, alen, want, plen, out) == 0);
		CHECK(seal_open(key, aad, alen, out, plen + SEAL_OVERHEAD,
		    plain) == 0);
		CHECK(memcmp(plain, want, plen) == 0);
		/* One bit anywhere, and it does not open. */
		for (size_t b = 0; b < n; b++) {
			sealed[b] ^= 0x80;
			if (!CHECKF(seal_open(key, aad, alen, sealed, n,
			    plain) == -1, "vector %zu, byte %zu", i, b))
				break;
			sealed[b] ^= 0x80;
		}
	}
}

static void
seal_should_round_trip_and_refuse_what_does_not_verify(void)
{
	unsigned char key[SEAL_KEY_LEN], other[SEAL_KEY_LEN];
	unsigned char a[1000 + SEAL_OVERHEAD], b[1000 + SEAL_OVERHEAD];
	char msg[1000], out[1000];
	const char aad[] = "header";

	memset(key, 7, sizeof(key));
	memcpy(other, key, sizeof(key));
	other[31] ^= 1;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)(i * 31);
	CHECK(seal_close(key, aad, 6, msg, sizeof(msg), a) == 0);
	CHECK(seal_close(key, aad, 6, msg, sizeof(msg), b) == 0);
	/* Fresh nonces: the same message seals differently. */
	CHECK(memcmp(a, b, SEAL_NONCE_LEN) != 0);
	CHECK(memcmp(a + SEAL_NONCE_LEN, b + SEAL_NONCE_LEN, sizeof(msg)) !=
	    0);
	CHECK(memmem(a, sizeof(a), msg + 100, 16) == NULL);
	memset(out, 0, sizeof(out));
	CHECK(seal_open(key, aad, 6, a, sizeof(a), out) == 0);
	CHECK(memcmp(out, msg, sizeof(msg)) == 0);

	/* The wrong key, other data, data missing, a cut or longer buffer:
	 * -1, and nothing of the plaintext handed out. */
	memset(out, 0, sizeof(out));
	CHECK(seal_open(other, aad, 6, a, sizeof(a), out) == -1);
	CHECK(memmem(out, sizeof(out), msg + 100, 16) == NULL);
	CHECK(seal_open(key, "headeR", 6, a, sizeof(a), out) == -1);
	CHECK(seal_open(key, aad, 5, a, sizeof(a), out) == -1);
	CHECK(seal_open(key, NULL, 0, a, sizeof(a), out) == -1);
	CHECK(seal_open(key, aad, 6, a, sizeof(a) - 1, out) == -1);
	CHECK(seal_open(key, aad, 6, a, SEAL_OVERHEAD - 1, out) == -1);
	CHECK(seal_open(key, aad, 6, a, 0, out) == -1);

	/* Empty plaintext and no additional data. */
	CHECK(seal_close(key, NULL, 0, "", 0, a) == 0);
	CHECK(seal_open(key, NULL, 0, a, SEAL_OVERHEAD, out) == 0);
	CHECK(seal_open(key, aad, 1, a, SEAL_OVERHEAD, out) == -1);
}

static void
seal_should_read_hex_keys_and_hash_passphrases(void)
{
	static const char hex[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
	/* SHA-256 of FIPS 180-2's second message. */
	static const char pass[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char pass_sha[] =
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
	unsigned char key[SEAL_KEY_LEN], want[SEAL_KEY_LEN];
	unsigned char again[SEAL_KEY_LEN];
	char buf[SEAL_KEY_FILE_MAX + 2], err[128];

	for (int i = 0; i < SEAL_KEY_LEN; i++)
		want[i] = (unsigned char)i;
	CHECK(seal_key_parse(hex, 64, key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, want, sizeof(key)) == 0);
	snprintf(buf, sizeof(buf), "%s\n", hex);
	CHECK(seal_key_parse(buf, 65, key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, want, sizeof(key)) == 0);
	snprintf(buf, sizeof(buf), "%s\r\n", hex);
	CHECK(seal_key_parse(buf, 66, key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, want, sizeof(key)) == 0);

	/* A passphrase: its SHA-256, with or without the newline. */
	unhex(pass_sha, want);
	CHECK(seal_key_parse(pass, strlen(pass), key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, want, sizeof(key)) == 0);
	snprintf(buf, sizeof(buf), "%s\n", pass);
	CHECK(seal_key_parse(buf, strlen(buf), key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, want, sizeof(key)) == 0);

	/* 64 characters that are not all hex are a passphrase too; so are
	 * 63 hex digits, or 64 and a space. */
	snprintf(buf, sizeof(buf), "%s", hex);
	buf[10] = 'g';
	CHECK(seal_key_parse(buf, 64, key, err, sizeof(err)) == 0);
	CHECK(seal_key_parse(hex, 63, again, err, sizeof(err)) == 0);
	CHECK(memcmp(key, again, sizeof(key)) != 0);
	snprintf(buf, sizeof(buf), "%s ", hex);
	CHECK(seal_key_parse(buf, 65, key, err, sizeof(err)) == 0);
	unhex(hex, want);
	CHECK(memcmp(key, want, sizeof(key)) != 0);

	/* Too short, empty, too long. */
	CHECK(seal_key_parse("0123456789abcde", 15, key, err, sizeof(err)) ==
	    -1);
	CHECK_CONTAINS(err, "at least 16 bytes");
	CHECK(seal_key_parse("0123456789abcde\n", 16, key, err,
	    sizeof(err)) == -1);
	CHECK(seal_key_parse("", 0, key, err, sizeof(err)) == -1);
	CHECK(seal_key_parse("\n", 1, key, err, sizeof(err)) == -1);
	CHECK(seal_key_parse("0123456789abcdef", 16, key, err,
	    sizeof(err)) == 0);
	memset(buf, 'k', sizeof(buf));
	CHECK(seal_key_parse(buf, SEAL_KEY_FILE_MAX, key, err, sizeof(err)) ==
	    0);
	CHECK(seal_key_parse(buf, SEAL_KEY_FILE_MAX + 1, key, err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "longer than");
}

int
main(void)
{
	RUN(seal_should_open_the_specification_vectors);
	RUN(seal_should_round_trip_and_refuse_what_does_not_verify);
	RUN(seal_should_read_hex_keys_and_hash_passphrases);
	return unit_report("test_seal");
}
