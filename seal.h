/*
 * seal.h -- authenticated encryption of buffers (AES-256-GCM) and the
 * format of a key file, with OpenSSL's libcrypto.  Pure functions on
 * caller buffers: no files, no clock; the only outside input is the
 * random nonce.
 */
#ifndef SEAL_H
#define SEAL_H

#include <stddef.h>

#define SEAL_KEY_LEN 32         /* AES-256 */
#define SEAL_NONCE_LEN 12       /* random, per sealed buffer */
#define SEAL_TAG_LEN 16
/* A sealed buffer is nonce, ciphertext (as long as the plaintext), tag. */
#define SEAL_OVERHEAD (SEAL_NONCE_LEN + SEAL_TAG_LEN)

/* The shortest passphrase a key file may hold (see seal_key_parse()). */
#define SEAL_PASSPHRASE_MIN 16
/* A key file longer than this is a mistake (the wrong file). */
#define SEAL_KEY_FILE_MAX 4096

/*
 * Seal in[0..len) with key, binding aad[0..aadlen) (authenticated, not
 * encrypted, not stored): out[0..len + SEAL_OVERHEAD) receives a fresh
 * random nonce, the ciphertext and the tag.  out must not overlap in.
 * aad may be NULL when aadlen is 0.  0, or -1 when libcrypto fails (no
 * randomness); out is then undefined.
 */
int seal_close(const unsigned char key[SEAL_KEY_LEN], const void *aad,
    size_t aadlen, const void *in, size_t len, unsigned char *out);

/*
 * Open what seal_close() made: in[0..len) is nonce, ciphertext and tag;
 * out[0..len - SEAL_OVERHEAD) receives the plaintext.  0, or -1 when in
 * is shorter than SEAL_OVERHEAD or does not verify with key and aad (the
 * wrong key, other additional data, any changed byte); out then holds
 * nothing of value and must not be used.  out must not overlap in.
 */
int seal_open(const unsigned char key[SEAL_KEY_LEN], const void *aad,
    size_t aadlen, const unsigned char *in, size_t len, void *out);

/*
 * The key a key file's content text[0..len) stands for.  Exactly 64 hex
 * digits (either case), optionally followed by "\n" or "\r\n", are the 32
 * key bytes.  Anything else is a passphrase: the content less one
 * trailing "\n" or "\r\n" (an editor's newline must not change the key),
 * at least SEAL_PASSPHRASE_MIN bytes, and the key is its SHA-256.  0, or
 * -1 with the reason in err (too short, too long, libcrypto failed).
 */
int seal_key_parse(const char *text, size_t len,
    unsigned char key[SEAL_KEY_LEN], char *err, size_t errlen);

#endif /* SEAL_H */
