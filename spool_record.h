/*
 * spool_record.h -- the bytes of a spool file: records encoded (format 2),
 * and read back (formats 1 and 2) with pread(), damage skipped.  Internal
 * to the spool: included by spool.c and the spool's tests and fuzzer
 * only.  Knows nothing of directories, locks or the drain protocol.
 */
#ifndef SPOOL_RECORD_H
#define SPOOL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool.h"

#define SPOOL_MAGIC_LEN 8
#define SPOOL_HEADER_LEN 16     /* magic[8] len[4] crc32[4] */

/*
 * Encode recs[0..n) as format-2 records, sealed with key (SPOOL_KEY_LEN
 * bytes) unless it is NULL, into one new buffer of *len bytes that the
 * caller frees.  Request ids and signature headers are cut to their
 * limits.  NULL with errno: EFBIG (a body over ZE_MAX_BODY_BYTES), EINVAL
 * (a NULL body with a length), ENOMEM, EIO (sealing failed).
 */
unsigned char *spool_record_encode(const struct spool_record *recs,
    size_t n, const unsigned char *key, size_t *len);

enum spool_next {
	SPOOL_NEXT_END,         /* no record left */
	SPOOL_NEXT_RECORD,      /* one record */
	SPOOL_NEXT_UNOPENED,    /* a sound sealed record that did not open */
	SPOOL_NEXT_ERROR        /* a read failed: stop, keep the file */
};

/*
 * One spool file being walked.  It is read through a window of bytes,
 * never mapped: a live file may be cut by its appender at any time.
 * spool_reader_init() sets the public fields; set off to resume.
 */
struct spool_reader {
	int fd;                 /* owned: closed by spool_reader_release() */
	size_t size;            /* bytes to read: less once found cut */
	size_t off;             /* where the walk is */
	const unsigned char *key;       /* NULL: sealed records do not open */
	void (*warn)(const char *msg);  /* reports damage; may be NULL */
	const char *name;       /* the file, in reports; outlives the reader */
	bool error;             /* a read failed (sticky) */
	/* Private. */
	unsigned char *buf;     /* the file's [start, start + len) */
	size_t cap, start, len;
	unsigned char *plain;   /* the last opened sealed record */
	size_t plain_cap;
};

void spool_reader_init(struct spool_reader *r, int fd, size_t size,
    const unsigned char *key, void (*warn)(const char *msg),
    const char *name);
/* Close the file and free (and wipe) the buffers. */
void spool_reader_release(struct spool_reader *r);

/*
 * The next record at or after r->off: r->off is left at its start and
 * *next past it.  With check (a drain) the checksum is verified and the
 * record decoded into rec, whose body and strings stay valid until the
 * next call; a sound sealed record that does not open is
 * SPOOL_NEXT_UNOPENED (reported, counted in *torn).  Without check (a
 * count) only the header is read, and rec->received_ms.  Damaged bytes on
 * the way are skipped to the next magic of either format, counted in
 * *torn (one per damaged run) and, with check, reported.
 */
enum spool_next spool_reader_next(struct spool_reader *r,
    struct spool_record *rec, size_t *next, long long *torn, bool check);

/* Is there a sound record (checksum included) at off? */
bool spool_reader_sound_at(struct spool_reader *r, size_t off);

/* The file's fingerprint: the checksum field of its first header (0 for
 * a file shorter than a header). */
uint32_t spool_reader_fingerprint(struct spool_reader *r);

/* The file's bytes [off, off + len), valid until the next call on r; NULL
 * past the end or on a read error. */
const unsigned char *spool_reader_bytes(struct spool_reader *r, size_t off,
    size_t len);

/*
 * Progress through a .draining file, kept in its .off file as
 * "%020zu %08x\n": the offset of the next record and the file's
 * fingerprint (zoom_events 1.0 wrote the digits alone).
 *
 * spool_progress_read() returns where to resume r's file: the offset read
 * from fd when the text is exactly that, the offset is the file's end or
 * the start of a sound record, and the fingerprint, when given, is the
 * file's.  Else 0, with the reason in *why (NULL when the offset was
 * taken, or there was none).  spool_progress_write() is not fsynced:
 * after a crash an older offset only means records offered again (replays
 * are idempotent), and a damaged one a replay from the start.
 */
size_t spool_progress_read(int fd, struct spool_reader *r,
    const char **why);
void spool_progress_write(int fd, size_t off, uint32_t fp);

#endif /* SPOOL_RECORD_H */
