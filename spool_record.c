/*
 * spool_record.c -- the record format of spool files: encoding, and a
 * pread() walk that skips damage.  Knows nothing of directories, locks or
 * the drain protocol (spool.c); seal.c does the cryptography.
 *
 * A record is a 16-byte header and a payload (integers little-endian):
 *
 *   magic[8]  len[4] (of the payload)  crc32[4]
 *   "ZESPOOL2" (crc32 of magic, len and payload):
 *       flags[1] (bit 0: sealed)  received_ms[8]  then the inner
 *       part, plain, or sealed: nonce[12] AES-256-GCM(inner) tag[16], with
 *       magic, len, flags and received_ms as additional data:
 *       idlen[1] request_id  tslen[1] sig_ts  siglen[1] signature
 *       [namelen[2] name, with flag bit 1]
 *       bodylen[4] body                     (bodylen must be the rest)
 *   "ZESPOOL1" (zoom_events 1.0; read, never written; crc32 of payload):
 *       received_ms[8]  idlen[2] request_id  body
 *
 * received_ms stays in the clear, authenticated but not secret, so that a
 * count finds the oldest record without the key.  A length is bounded by
 * the build's ZE_MAX_BODY_BYTES, never by the configured max_body_bytes:
 * lowering that must not make stored records look torn.
 *
 * The checksum finds torn and damaged records; the reader then looks for
 * the next magic of either format.  A record whose checksum is sound is
 * trusted for its length: when its contents do not parse, or it is sealed
 * and does not open (no key, another key, forged), only it is skipped.
 * With a key, plain records (written before a key was set) still read:
 * that is the upgrade path.  Sealing keeps the contents from whoever reads
 * the disk; the replay verifies the Zoom signature headers again against
 * records planted by whoever can write it.
 */
#include "spool_record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "seal.h"

#define MAGIC_LEN SPOOL_MAGIC_LEN
#define HEADER_LEN SPOOL_HEADER_LEN
#define V1_FIXED 10             /* received_ms idlen[2] */
#define V2_FIXED 9              /* flags received_ms */
#define INNER_FIXED 7           /* idlen tslen siglen bodylen[4] */
#define FLAG_SEALED 0x01
#define FLAG_NAME 0x02          /* the inner part holds a name */
#define AAD_LEN (12 + V2_FIXED) /* magic len, flags received_ms */
#define INNER_MAX (INNER_FIXED + ZE_REQUEST_ID_MAX + ZE_SIG_TS_MAX + \
	ZE_SIGNATURE_MAX + 2 + SPOOL_NAME_MAX + (size_t)ZE_MAX_BODY_BYTES)
#define V1_MAX (V1_FIXED + ZE_REQUEST_ID_MAX + (size_t)ZE_MAX_BODY_BYTES)
#define V2_MAX (V2_FIXED + SEAL_OVERHEAD + INNER_MAX)
/* Bytes per pread when walking; tests shrink it (more than a magic). */
#ifndef SPOOL_READ_CHUNK
#define SPOOL_READ_CHUNK (64 * 1024)
#endif
#define CHUNK ((size_t)SPOOL_READ_CHUNK)

_Static_assert(ZE_REQUEST_ID_MAX <= 255 && ZE_SIG_TS_MAX <= 255 &&
    ZE_SIGNATURE_MAX <= 255, "string lengths are one byte");
_Static_assert(V2_MAX <= UINT32_MAX, "a record length is four bytes");
_Static_assert(SPOOL_KEY_LEN == SEAL_KEY_LEN, "one key size");
_Static_assert(SPOOL_NAME_MAX <= 0xFFFF, "a name length is two bytes");
_Static_assert(SPOOL_READ_CHUNK > SPOOL_MAGIC_LEN, "a window holds a magic");

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The checksum of the record at h: format 1 covers the payload, format 2
 * magic and length too (so that no record reads as the other format). */
static uint32_t
record_crc(int fmt, const unsigned char *h, size_t plen)
{
	uLong c = crc32(0L, Z_NULL, 0);

	if (fmt == 2)
		c = crc32(c, h, 12);
	return (uint32_t)crc32(c, h + HEADER_LEN, (uInt)plen);
}

/* ------------------------------------------------------- encoding */

/* Bytes of r's inner part; 0 when it cannot be stored (errno). */
static size_t
inner_size(const struct spool_record *r)
{
	if (r->len > ZE_MAX_BODY_BYTES || (r->body == NULL && r->len > 0) ||
	    (r->name != NULL && (r->name_len > SPOOL_NAME_MAX ||
	    memchr(r->name, '\0', r->name_len) != NULL))) {
		errno = r->len > ZE_MAX_BODY_BYTES ? EFBIG : EINVAL;
		return 0;
	}
	return INNER_FIXED + strnlen(r->request_id, ZE_REQUEST_ID_MAX) +
	    strnlen(r->sig_ts, ZE_SIG_TS_MAX) +
	    strnlen(r->signature, ZE_SIGNATURE_MAX) +
	    (r->name != NULL ? 2 + r->name_len : 0) + r->len;
}

static unsigned char *
put_str(unsigned char *q, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	*q++ = (unsigned char)n;
	memcpy(q, s, n);
	return q + n;
}

/* Encode r (inner part ilen bytes) at out; with a key, scratch holds ilen
 * bytes.  The record's size, or 0 when sealing failed. */
static size_t
encode_one(const struct spool_record *r, size_t ilen, const unsigned char
    *key, unsigned char *out, unsigned char *scratch)
{
	size_t plen = V2_FIXED + (key != NULL ? SEAL_OVERHEAD : 0) + ilen;
	unsigned char *p = out + HEADER_LEN;
	unsigned char *q = key != NULL ? scratch : p + V2_FIXED;

	memcpy(out, "ZESPOOL2", MAGIC_LEN);
	put_le(out + 8, plen, 4);
	p[0] = (unsigned char)((key != NULL ? FLAG_SEALED : 0) |
	    (r->name != NULL ? FLAG_NAME : 0));
	put_le(p + 1, (uint64_t)r->received_ms, 8);
	q = put_str(q, r->request_id, ZE_REQUEST_ID_MAX);
	q = put_str(q, r->sig_ts, ZE_SIG_TS_MAX);
	q = put_str(q, r->signature, ZE_SIGNATURE_MAX);
	if (r->name != NULL) {
		put_le(q, r->name_len, 2);
		if (r->name_len > 0)
			memcpy(q + 2, r->name, r->name_len);
		q += 2 + r->name_len;
	}
	put_le(q, r->len, 4);
	if (r->len > 0)
		memcpy(q + 4, r->body, r->len);
	if (key != NULL) {
		unsigned char aad[AAD_LEN];

		memcpy(aad, out, 12);
		memcpy(aad + 12, p, V2_FIXED);
		if (seal_close(key, aad, sizeof(aad), scratch, ilen,
		    p + V2_FIXED) != 0) {
			errno = EIO;
			return 0;
		}
	}
	put_le(out + 12, record_crc(2, out, plen), 4);
	return HEADER_LEN + plen;
}

unsigned char *
spool_record_encode(const struct spool_record *recs, size_t n,
    const unsigned char *key, size_t *len)
{
	size_t total = 0, scratch = 0, k = 1;
	unsigned char *buf;
	int e;

	for (size_t i = 0; i < n; i++) {
		size_t ilen = inner_size(&recs[i]);

		if (ilen == 0)
			return NULL;
		if (ilen > scratch)
			scratch = ilen;
		ilen += HEADER_LEN + V2_FIXED + SEAL_OVERHEAD;
		if (ilen > SIZE_MAX / 4 - total) {
			errno = EFBIG;
			return NULL;
		}
		total += ilen;
	}
	/* The records, then (sealing) room for one inner part in clear. */
	if ((buf = malloc(total + (key != NULL ? scratch : 0) + 1)) == NULL)
		return NULL;
	*len = 0;
	for (size_t i = 0; i < n && k != 0; i++) {
		k = encode_one(&recs[i], inner_size(&recs[i]), key, buf + *len,
		    buf + total);
		*len += k;
	}
	e = errno;
	if (key != NULL)
		explicit_bzero(buf + total, scratch);
	if (k == 0) {
		free(buf);
		buf = NULL;
	}
	errno = e;
	return buf;
}

/* --------------------------------------------------------- reading */

__attribute__((format(printf, 2, 3)))
static void
warnf(const struct spool_reader *r, const char *fmt, ...)
{
	char msg[512];
	int n;
	va_list ap;

	if (r->warn == NULL)
		return;
	n = snprintf(msg, sizeof(msg), "spool %s: ", r->name);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	r->warn(msg);
}

void
spool_reader_init(struct spool_reader *r, int fd, size_t size,
    const unsigned char *key, void (*warn)(const char *msg),
    const char *name)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->size = size;
	r->key = key;
	r->warn = warn;
	r->name = name;
}

void
spool_reader_release(struct spool_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	if (r->plain != NULL)
		explicit_bzero(r->plain, r->plain_cap);
	free(r->plain);
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* The file's bytes [off, off + need), or NULL past its end (the file may
 * have been cut meanwhile: size shrinks) or on error (r->error). */
static const unsigned char *
rd_at(struct spool_reader *r, size_t off, size_t need)
{
	size_t want, got = 0;

	if (r->error || off > r->size || need > r->size - off)
		return NULL;
	if (off >= r->start && off - r->start <= r->len &&
	    need <= r->len - (off - r->start))
		return r->buf + (off - r->start);
	want = need > CHUNK ? need : CHUNK;
	if (want > r->size - off)
		want = r->size - off;
	if (want > r->cap) {
		unsigned char *p = realloc(r->buf, want);

		if (p == NULL) {
			r->error = true;
			return NULL;
		}
		r->buf = p;
		r->cap = want;
	}
	r->start = off;
	while (got < want) {
		ssize_t k = pread(r->fd, r->buf + got, want - got,
		    (off_t)(off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r->error = true;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	r->len = got;
	if (!r->error && got < want)
		r->size = off + got;    /* cut meanwhile */
	return !r->error && got >= need ? r->buf : NULL;
}

const unsigned char *
spool_reader_bytes(struct spool_reader *r, size_t off, size_t len)
{
	return rd_at(r, off, len);
}

/* The offset of the next magic of either format at or after from, or
 * r->size. */
static size_t
find_magic(struct spool_reader *r, size_t from)
{
	size_t pos = from;

	while (pos <= r->size && r->size - pos >= MAGIC_LEN) {
		size_t w = r->size - pos < CHUNK ? r->size - pos : CHUNK;
		const unsigned char *p = rd_at(r, pos, w), *m;

		if (p == NULL) {
			if (r->error)
				break;
			continue;       /* cut meanwhile: size is less */
		}
		for (m = p; (m = memmem(m, w - (size_t)(m - p), "ZESPOOL",
		    MAGIC_LEN - 1)) != NULL; m++) {
			if ((size_t)(m - p) + MAGIC_LEN > w)
				break;
			if (m[7] == '1' || m[7] == '2')
				return pos + (size_t)(m - p);
		}
		if (pos + w == r->size)
			break;
		pos += w - (MAGIC_LEN - 1);
	}
	return r->size;
}

/* The format of a plausible header with room payload bytes after it, its
 * payload length in *plen; 0 when it is none. */
static int
header_format(const unsigned char *h, size_t room, size_t *plen)
{
	size_t len = (size_t)get_le(h + 8, 4);
	int fmt = 0;

	if (memcmp(h, "ZESPOOL", MAGIC_LEN - 1) == 0)
		fmt = h[7] == '1' ? 1 : h[7] == '2' ? 2 : 0;
	if ((fmt == 1 && (len < V1_FIXED || len > V1_MAX)) ||
	    (fmt == 2 && (len < V2_FIXED + INNER_FIXED || len > V2_MAX)) ||
	    len > room)
		return 0;
	*plen = len;
	return fmt;
}

/* Take one length-prefixed string (at most max bytes, no NUL) into dst. */
static bool
take_str(const unsigned char **q, const unsigned char *end, size_t max,
    char *dst)
{
	size_t n = **q;

	if (n > max || (size_t)(end - *q) < 1 + n ||
	    memchr(*q + 1, '\0', n) != NULL)
		return false;
	memcpy(dst, *q + 1, n);
	dst[n] = '\0';
	*q += 1 + n;
	return true;
}

/* The name of a record with FLAG_NAME: two-byte length, no NUL. */
static bool
take_name(const unsigned char **q, const unsigned char *end,
    struct spool_record *out)
{
	size_t n;

	if (end - *q < 2 || (n = (size_t)get_le(*q, 2)) > SPOOL_NAME_MAX ||
	    (size_t)(end - *q) < 2 + n || memchr(*q + 2, '\0', n) != NULL)
		return false;
	out->name = (const char *)*q + 2;
	out->name_len = n;
	*q += 2 + n;
	return true;
}

enum { DEC_OK, DEC_BAD, DEC_UNOPENED };

/* Open the sealed inner part *in of the record at rec into r->plain. */
static int
unseal(struct spool_reader *r, const unsigned char *rec,
    const unsigned char **in, size_t *len)
{
	unsigned char aad[AAD_LEN];

	if (*len < SEAL_OVERHEAD + INNER_FIXED)
		return DEC_BAD;
	if (r->key == NULL)
		return DEC_UNOPENED;
	if (*len > r->plain_cap) {
		unsigned char *p = malloc(*len);

		if (p == NULL)
			return DEC_UNOPENED;
		if (r->plain != NULL)
			explicit_bzero(r->plain, r->plain_cap);
		free(r->plain);
		r->plain = p;
		r->plain_cap = *len;
	}
	memcpy(aad, rec, 12);
	memcpy(aad + 12, rec + HEADER_LEN, V2_FIXED);
	if (seal_open(r->key, aad, sizeof(aad), *in, *len, r->plain) != 0)
		return DEC_UNOPENED;
	*in = r->plain;
	*len -= SEAL_OVERHEAD;
	return DEC_OK;
}

/* Decode the sound record at rec (payload plen bytes) into out. */
static int
decode(struct spool_reader *r, int fmt, const unsigned char *rec,
    size_t plen, struct spool_record *out)
{
	const unsigned char *p = rec + HEADER_LEN, *q, *end;
	size_t n;
	int d;

	memset(out, 0, sizeof(*out));
	if (fmt == 1) {
		n = (size_t)get_le(p + 8, 2);
		if (n > ZE_REQUEST_ID_MAX || V1_FIXED + n > plen ||
		    memchr(p + V1_FIXED, '\0', n) != NULL)
			return DEC_BAD;
		out->received_ms = (long long)get_le(p, 8);
		memcpy(out->request_id, p + V1_FIXED, n);
		out->legacy = true;
		out->body = (const char *)p + V1_FIXED + n;
		out->len = plen - V1_FIXED - n;
		return DEC_OK;
	}
	if (p[0] & ~(FLAG_SEALED | FLAG_NAME))
		return DEC_BAD;         /* a flag of a later version */
	out->received_ms = (long long)get_le(p + 1, 8);
	q = p + V2_FIXED;
	n = plen - V2_FIXED;
	if ((p[0] & FLAG_SEALED) && (d = unseal(r, rec, &q, &n)) != DEC_OK)
		return d;
	end = q + n;
	if (!take_str(&q, end, ZE_REQUEST_ID_MAX, out->request_id) ||
	    !take_str(&q, end, ZE_SIG_TS_MAX, out->sig_ts) ||
	    !take_str(&q, end, ZE_SIGNATURE_MAX, out->signature) ||
	    ((p[0] & FLAG_NAME) && !take_name(&q, end, out)) ||
	    end - q < 4 || get_le(q, 4) != (uint64_t)(end - q - 4) ||
	    get_le(q, 4) > ZE_MAX_BODY_BYTES)
		return DEC_BAD;
	out->body = (const char *)q + 4;
	out->len = (size_t)(end - q - 4);
	return DEC_OK;
}

bool
spool_reader_sound_at(struct spool_reader *r, size_t off)
{
	const unsigned char *h = rd_at(r, off, HEADER_LEN);
	size_t plen;

	int fmt;

	if (h == NULL || (fmt = header_format(h, r->size - off - HEADER_LEN,
	    &plen)) == 0 || (h = rd_at(r, off, HEADER_LEN + plen)) == NULL)
		return false;
	return record_crc(fmt, h, plen) == get_le(h + 12, 4);
}

uint32_t
spool_reader_fingerprint(struct spool_reader *r)
{
	const unsigned char *h = rd_at(r, 0, HEADER_LEN);

	return h != NULL ? (uint32_t)get_le(h + 12, 4) : 0;
}

/* The sound record at start: decoded into rec (check) or only its
 * received_ms; SPOOL_NEXT_RECORD, or -1 to resync, or -2 to skip it. */
static int
take(struct spool_reader *r, size_t start, struct spool_record *rec,
    size_t *next, long long *torn, bool check)
{
	const unsigned char *h = rd_at(r, start, HEADER_LEN);
	size_t plen = 0;
	int fmt, d;

	if (h == NULL || (fmt = header_format(h, r->size - start - HEADER_LEN,
	    &plen)) == 0 || (h = rd_at(r, start, HEADER_LEN +
	    (check ? plen : V2_FIXED))) == NULL ||
	    (check && record_crc(fmt, h, plen) != get_le(h + 12, 4)))
		return -1;
	*next = start + HEADER_LEN + plen;
	if (!check) {
		rec->received_ms = (long long)get_le(h + HEADER_LEN +
		    (fmt == 2), 8);
		return SPOOL_NEXT_RECORD;
	}
	if ((d = decode(r, fmt, h, plen, rec)) == DEC_OK)
		return SPOOL_NEXT_RECORD;
	(*torn)++;
	if (d == DEC_UNOPENED) {
		warnf(r, "damaged record at offset %zu: sealed, and it does "
		    "not open with %s", start, r->key ? "the spool key" :
		    "no key");
		return SPOOL_NEXT_UNOPENED;
	}
	warnf(r, "damaged record at offset %zu skipped (sound checksum, "
	    "malformed contents)", start);
	return -2;
}

enum spool_next
spool_reader_next(struct spool_reader *r, struct spool_record *rec,
    size_t *next, long long *torn, bool check)
{
	bool damaged = false;

	while (!r->error && r->size >= HEADER_LEN &&
	    r->off <= r->size - HEADER_LEN) {
		size_t start = r->off;
		int k = take(r, start, rec, next, torn, check);

		if (k >= 0)
			return (enum spool_next)k;
		if (k == -2) {
			r->off = *next;
			damaged = false;
			continue;
		}
		if (r->error)
			break;
		if (!damaged) {
			damaged = true;
			(*torn)++;
			if (check)
				warnf(r, "damaged record at offset %zu "
				    "skipped", start);
		}
		r->off = find_magic(r, start + 1);
	}
	if (r->error)
		return SPOOL_NEXT_ERROR;
	if (r->off < r->size) {
		(*torn)++;
		if (check)
			warnf(r, "%zu damaged bytes at the end skipped",
			    r->size - r->off);
		r->off = r->size;
	}
	return SPOOL_NEXT_END;
}

/* ------------------------------------------------------ progress */

#define PROGRESS_LEN 30         /* "%020zu %08x\n" */

void
spool_progress_write(int fd, size_t off, uint32_t fp)
{
	char buf[PROGRESS_LEN + 1];

	snprintf(buf, sizeof(buf), "%020zu %08x\n", off, (unsigned)fp);
	if (pwrite(fd, buf, PROGRESS_LEN, 0) != PROGRESS_LEN)
		return;
}

/* Parse "DIGITS[ 8HEX][\n]" strictly (no sign, space or overflow); the
 * fingerprint is absent in zoom_events 1.0's "%020zu". */
static bool
parse_offset(const char *s, size_t *off, uint32_t *fp, bool *has_fp)
{
	size_t v = 0;
	const char *p;
	char *end;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (v > (SIZE_MAX - (size_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (size_t)(*p - '0');
	}
	if (p == s)
		return false;
	*has_fp = *p == ' ';
	*fp = 0;
	if (*has_fp) {
		if (strspn(p + 1, "0123456789abcdef") != 8)
			return false;
		*fp = (uint32_t)strtoul(p + 1, &end, 16);
		p = end;
	}
	if (*p == '\n')
		p++;
	*off = v;
	return *p == '\0';
}

size_t
spool_progress_read(int fd, struct spool_reader *r, const char **why)
{
	char text[64];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	uint32_t fp;
	size_t off;
	bool has_fp;

	*why = NULL;
	if (n <= 0)
		return 0;       /* nothing replayed yet */
	text[n] = '\0';
	if (!parse_offset(text, &off, &fp, &has_fp))
		*why = "is not an offset";
	else if (off > r->size)
		*why = "is past the end of the file";
	else if (has_fp && fp != spool_reader_fingerprint(r))
		*why = "belongs to another file";
	else if (off > 0 && off < r->size && !spool_reader_sound_at(r, off))
		*why = "is not at a record";
	else
		return off;
	return 0;
}
