/*
 * spool.c -- append-only spool files with per-record checksums, and their
 * replay.  Knows nothing of FastCGI, JSON or the database.
 *
 * Layout: each process appends to its own file, DIR/INSTANCE-PID.spool.
 * A record is
 *
 *     magic[8] "ZESPOOL1"   len[4] (LE)   crc32(payload)[4] (LE)
 *     payload: received_ms[8] (LE)  idlen[2] (LE)  request id  body
 *
 * An append takes the file's flock, checks that the path still names the
 * open file (a drainer may have renamed it), writes the record with one
 * writev on an O_APPEND descriptor, and fdatasyncs before returning; a
 * failed or short write is cut off again with ftruncate.
 *
 * A drainer takes DIR/.drain.lock, then for each *.spool file takes its
 * flock (waiting out an append in progress), renames it to *.draining and
 * lets go: from then on only the drainer reads it, and appenders open a
 * fresh file.  Progress through a .draining file is kept in a .off file, so
 * a drain stopped by a database fault or a crash resumes where it stopped.
 * A record whose magic, length or checksum is wrong (torn by a crash or a
 * power loss) is reported and skipped: the reader searches for the next
 * magic and goes on.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "clock.h"

#define MAGIC "ZESPOOL1"
#define MAGIC_LEN 8
#define HEADER_LEN 16
#define PAYLOAD_FIXED 10        /* received_ms + idlen */

/*
 * Paths are the directory plus one name, so every buffer is PATH_MAX: a
 * directory with a path too long for its files is refused at spool_new()
 * (every append fails), and every later join is checked anyway.
 */
struct spool {
	char dir[PATH_MAX];
	char path[PATH_MAX];    /* this process's file */
	int fd;                 /* open on path, or -1 */
	size_t max_record;      /* largest sane payload */
	void (*warn)(const char *msg);
};

__attribute__((format(printf, 2, 3)))
static void
warnf(const struct spool *sp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (sp->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sp->warn(msg);
}

/* snprintf into a PATH_MAX buffer; -1 (ENAMETOOLONG) when it was cut. */
__attribute__((format(printf, 2, 3)))
static int
path_fmt(char path[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		path[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

struct spool *
spool_new(const char *dir, const char *instance, size_t max_body,
    void (*warn)(const char *msg))
{
	struct spool *sp = calloc(1, sizeof(*sp));

	if (sp == NULL)
		abort();
	/* On overflow both stay "": every open fails, every append is -1. */
	if (path_fmt(sp->dir, "%s", dir) != 0 ||
	    path_fmt(sp->path, "%s/%s-%ld.spool", dir, instance,
	    (long)getpid()) != 0)
		sp->dir[0] = sp->path[0] = '\0';
	sp->fd = -1;
	sp->max_record = PAYLOAD_FIXED + ZE_REQUEST_ID_MAX + max_body;
	sp->warn = warn;
	return sp;
}

void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp);
}

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

/* Make the directory entry of a new file durable too. */
static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Open (creating) this process's file, and the directory if missing. */
static int
open_file(struct spool *sp)
{
	int fd;

	if (sp->path[0] == '\0') {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(sp->dir, 0700) != 0 && errno != EEXIST)
		return -1;
	fd = open(sp->path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (sync_dir(sp->dir) != 0) {
			close(fd);
			return -1;
		}
	} else if (errno == EEXIST) {
		fd = open(sp->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	sp->fd = fd;
	return 0;
}

/* Lock our file, reopening it if a drainer renamed it away meanwhile.
 * Sets *size to the file's size under the lock. */
static int
lock_current(struct spool *sp, off_t *size)
{
	struct stat a, b;

	for (int tries = 0; tries < 16; tries++) {
		if (sp->fd < 0 && open_file(sp) != 0)
			return -1;
		if (flock(sp->fd, LOCK_EX) != 0)
			return -1;
		if (fstat(sp->fd, &a) == 0 && stat(sp->path, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			*size = a.st_size;
			return 0;
		}
		close(sp->fd);          /* also drops the lock */
		sp->fd = -1;
	}
	errno = EAGAIN;
	return -1;
}

int
spool_append(struct spool *sp, long long received_ms, const char *request_id,
    const char *body, size_t len)
{
	unsigned char head[HEADER_LEN], fixed[PAYLOAD_FIXED];
	size_t idlen = strnlen(request_id, ZE_REQUEST_ID_MAX);
	size_t plen = PAYLOAD_FIXED + idlen + len;
	struct iovec iov[4];
	off_t size;
	uLong crc;
	ssize_t n;
	int saved;

	if (plen > sp->max_record) {
		errno = EFBIG;
		return -1;
	}
	put_le(fixed, (uint64_t)received_ms, 8);
	put_le(fixed + 8, idlen, 2);
	crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, fixed, PAYLOAD_FIXED);
	crc = crc32(crc, (const Bytef *)request_id, (uInt)idlen);
	crc = crc32(crc, (const Bytef *)body, (uInt)len);
	memcpy(head, MAGIC, MAGIC_LEN);
	put_le(head + 8, plen, 4);
	put_le(head + 12, crc, 4);

	iov[0] = (struct iovec){ head, HEADER_LEN };
	iov[1] = (struct iovec){ fixed, PAYLOAD_FIXED };
	iov[2] = (struct iovec){ (void *)(uintptr_t)request_id, idlen };
	iov[3] = (struct iovec){ (void *)(uintptr_t)body, len };

	if (lock_current(sp, &size) != 0)
		return -1;
	n = writev(sp->fd, iov, 4);
	if (n != (ssize_t)(HEADER_LEN + plen)) {
		saved = n < 0 ? errno : ENOSPC;
		/* Leave no partial record behind (the drainer would skip it,
		 * but a clean file is better). */
		if (ftruncate(sp->fd, size) != 0)
			warnf(sp, "cannot cut a short write off %s", sp->path);
		errno = saved;
		goto out_unlock;
	}
	if (fdatasync(sp->fd) != 0)
		goto out_unlock;
	flock(sp->fd, LOCK_UN);
	return 0;

out_unlock:
	saved = errno;
	flock(sp->fd, LOCK_UN);
	errno = saved;
	return -1;
}

/* A mapped spool file being read. */
struct reader {
	const unsigned char *base;
	size_t size;
	size_t off;
};

/*
 * The next sane record at or after r->off, into rec; its end in *next.
 * Damaged bytes on the way are counted in *torn (one per damaged run).
 * Returns 1 for a record, 0 at the end.  With check 0 (counting only)
 * checksums are not verified.
 */
static int
next_record(const struct spool *sp, struct reader *r, struct spool_record *rec,
    size_t *next, long long *torn, int check, const char *name)
{
	int damaged = 0;

	while (r->off + HEADER_LEN <= r->size) {
		const unsigned char *h = r->base + r->off;
		size_t plen = (size_t)get_le(h + 8, 4);
		const unsigned char *p = h + HEADER_LEN;
		size_t idlen;
		const void *m;

		if (memcmp(h, MAGIC, MAGIC_LEN) != 0)
			goto resync;
		if (plen < PAYLOAD_FIXED || plen > sp->max_record ||
		    plen > r->size - r->off - HEADER_LEN)
			goto resync;
		idlen = (size_t)get_le(p + 8, 2);
		if (idlen > ZE_REQUEST_ID_MAX || PAYLOAD_FIXED + idlen > plen)
			goto resync;
		if (check && crc32(crc32(0L, Z_NULL, 0), p, (uInt)plen) !=
		    get_le(h + 12, 4))
			goto resync;
		rec->received_ms = (long long)get_le(p, 8);
		memcpy(rec->request_id, p + PAYLOAD_FIXED, idlen);
		rec->request_id[idlen] = '\0';
		rec->body = (const char *)p + PAYLOAD_FIXED + idlen;
		rec->len = plen - PAYLOAD_FIXED - idlen;
		*next = r->off + HEADER_LEN + plen;
		return 1;
resync:
		if (!damaged) {
			damaged = 1;
			(*torn)++;
			if (check)
				warnf(sp, "spool %s: damaged record at offset "
				    "%zu skipped", name, r->off);
		}
		m = memmem(r->base + r->off + 1, r->size - r->off - 1, MAGIC,
		    MAGIC_LEN);
		r->off = m ? (size_t)((const unsigned char *)m - r->base)
		    : r->size;
	}
	if (r->off < r->size) {
		(*torn)++;
		if (check)
			warnf(sp, "spool %s: %zu damaged bytes at the end "
			    "skipped", name, r->size - r->off);
		r->off = r->size;
	}
	return 0;
}

/* Map a whole file read-only.  0 (size 0: base NULL) or -1. */
static int
map_file(int fd, struct reader *r)
{
	struct stat st;

	r->base = NULL;
	r->size = 0;
	r->off = 0;
	if (fstat(fd, &st) != 0)
		return -1;
	if (st.st_size == 0)
		return 0;
	r->base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
	    0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		return -1;
	}
	r->size = (size_t)st.st_size;
	return 0;
}

static void
unmap(struct reader *r)
{
	if (r->base != NULL)
		munmap((void *)(uintptr_t)r->base, r->size);
	r->base = NULL;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Offset saved for a .draining file, 0 when none. */
static size_t
read_offset(const char *offpath)
{
	char buf[32] = "";
	int fd = open(offpath, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (size_t)strtoull(buf, NULL, 10);
}

/* Progress is not fsynced: after a crash, losing it only means records
 * are offered again, and replays are idempotent. */
static void
write_offset(int fd, size_t off)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%020zu", off);

	if (pwrite(fd, buf, (size_t)n, 0) != n)
		return;
}

/*
 * Replay one .draining file from its saved offset.  Returns 1 when the
 * file is finished (and removed), 0 when stopped early, -1 on I/O error.
 */
static int
drain_file(struct spool *sp, const char *path, spool_fn fn, void *arg,
    int *left, long long deadline, struct spool_drain_result *res)
{
	char offpath[PATH_MAX];
	struct spool_record rec;
	struct reader r;
	size_t next;
	int fd, offfd, done = 0;

	if (path_fmt(offpath, "%s.off", path) != 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 1 : -1;
	if (map_file(fd, &r) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	if ((offfd = open(offpath, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		unmap(&r);
		return -1;
	}
	r.off = read_offset(offpath);
	for (;;) {
		if (*left <= 0 || mono_ms() > deadline)
			break;
		if (!next_record(sp, &r, &rec, &next, &res->torn, 1, path)) {
			done = 1;
			break;
		}
		if (fn(arg, &rec) != 0) {
			res->stopped = 1;
			break;
		}
		res->replayed++;
		(*left)--;
		r.off = next;
		write_offset(offfd, r.off);
	}
	close(offfd);
	unmap(&r);
	if (!done)
		return 0;
	if (unlink(path) != 0 || unlink(offpath) != 0)
		return -1;
	return 1;
}

/* Move a live *.spool file aside for draining, waiting out an append. */
static int
claim(const char *path, char *draining, size_t len)
{
	static unsigned seq;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return -1;
	}
	/* A fresh empty file is one an appender has just created and is
	 * about to write: moving it would only make the appender start over.
	 * An old empty one was left by a crash and is cleaned up. */
	if (fstat(fd, &st) != 0 ||
	    (st.st_size == 0 && st.st_mtime > time(NULL) - 10)) {
		close(fd);
		return 1;
	}
	if (snprintf(draining, len, "%s.%ld.%u.draining", path,
	    (long)getpid(), seq++) >= (int)len) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	rc = rename(path, draining);
	close(fd);
	return rc == 0 ? 0 : (errno == ENOENT ? 1 : -1);
}

/* Call each(sp, name) for every directory entry with the suffix. */
static int
for_each(struct spool *sp, const char *suffix,
    int (*each)(struct spool *sp, const char *path, void *ctx), void *ctx)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(sp->dir);
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !has_suffix(de->d_name, suffix))
			continue;
		if (path_fmt(path, "%s/%s", sp->dir, de->d_name) != 0)
			continue;       /* cannot be ours: names are short */
		rc = each(sp, path, ctx);
	}
	closedir(d);
	return rc;
}

struct drain_ctx {
	spool_fn fn;
	void *arg;
	int left;
	long long deadline;
	struct spool_drain_result *res;
	int error;
};

static int
drain_one(struct spool *sp, const char *path, void *ctx)
{
	struct drain_ctx *c = ctx;
	int rc = drain_file(sp, path, c->fn, c->arg, &c->left, c->deadline,
	    c->res);

	if (rc < 0) {
		warnf(sp, "spool %s: %s", path, strerror(errno));
		c->error = 1;
		return 1;
	}
	/* Stop the directory walk once the drain stopped early. */
	return rc == 0;
}

static int
claim_one(struct spool *sp, const char *path, void *ctx)
{
	char draining[PATH_MAX];
	int rc = claim(path, draining, sizeof(draining));

	if (rc < 0) {
		warnf(sp, "cannot claim spool %s: %s", path, strerror(errno));
		return 0;       /* try the others */
	}
	if (rc == 0 && strcmp(path, sp->path) == 0 &&
	    sp->fd >= 0) {
		close(sp->fd);  /* our own: reopen a fresh one next time */
		sp->fd = -1;
	}
	return drain_one(sp, draining, ctx);
}

int
spool_drain(struct spool *sp, spool_fn fn, void *arg, int max_records,
    int budget_ms, struct spool_drain_result *res)
{
	char lockpath[PATH_MAX];
	struct drain_ctx c = { fn, arg, max_records, mono_ms() + budget_ms, res,
		0 };
	int lockfd;

	memset(res, 0, sizeof(*res));
	if (path_fmt(lockpath, "%s/.drain.lock", sp->dir) != 0)
		return -1;
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0)
		return errno == ENOENT ? 0 : -1;
	if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		close(lockfd);
		res->busy = 1;
		return 0;
	}
	/* Leftovers of an earlier, interrupted drain go first. */
	for_each(sp, ".draining", drain_one, &c);
	if (!res->stopped && !c.error && c.left > 0)
		for_each(sp, ".spool", claim_one, &c);
	close(lockfd);          /* drops the lock */
	return c.error ? -1 : 0;
}

struct count_ctx {
	long long n;
	int error;
};

static int
count_one(struct spool *sp, const char *path, void *ctx)
{
	struct count_ctx *c = ctx;
	struct spool_record rec;
	struct reader r;
	long long torn = 0;
	size_t next;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;       /* drained meanwhile */
	if (map_file(fd, &r) != 0) {
		close(fd);
		c->error = 1;
		return 1;
	}
	close(fd);
	if (has_suffix(path, ".draining")) {
		char offpath[PATH_MAX];

		if (path_fmt(offpath, "%s.off", path) == 0)
			r.off = read_offset(offpath);
	}
	while (next_record(sp, &r, &rec, &next, &torn, 0, path)) {
		c->n++;
		r.off = next;
	}
	unmap(&r);
	return 0;
}

long long
spool_pending(struct spool *sp)
{
	struct count_ctx c = { 0, 0 };

	if (for_each(sp, ".spool", count_one, &c) != 0 ||
	    for_each(sp, ".draining", count_one, &c) != 0 || c.error)
		return -1;
	return c.n;
}

static int
any_file(struct spool *sp, const char *path, void *ctx)
{
	struct stat st;

	(void)sp;
	if (stat(path, &st) == 0 && st.st_size > 0) {
		*(int *)ctx = 1;
		return 1;
	}
	return 0;
}

int
spool_has_pending(struct spool *sp)
{
	int found = 0;

	for_each(sp, ".spool", any_file, &found);
	if (!found)
		for_each(sp, ".draining", any_file, &found);
	return found;
}
