/*
 * spool.c -- the spool directory: fsynced appends, one drainer at a time,
 * progress that survives crashes, and what waits.  Knows nothing of
 * FastCGI, JSON or the database; spool_record.c knows the bytes of the
 * files, seal.c the cryptography.
 *
 * Each process appends to its own file, DIR/INSTANCE-PID.spool, under the
 * struct's mutex (threads share its descriptor) and the file's flock
 * (processes), after checking that the path still names the open file (a
 * drainer may have renamed it); a failed append is cut off again.  A
 * drainer takes DIR/.drain.lock, then for each *.spool file takes its
 * flock (waiting out an append), renames it to NAME.INODE-RANDOM.draining
 * (unique across processes and reboots) and lets go: only the drainer
 * reads it from then on, with pread() (a mapping would SIGBUS when a file
 * is cut).  Progress is kept in NAME...draining.off; a finished file loses
 * its .off first, then itself.  A sealed record that does not open is
 * copied to NAME...draining.unopened, a spool file that replays once
 * renamed to *.spool under the right key.  Everything in DIR is opened
 * with openat(O_NOFOLLOW) and must be a regular file of ours with one link.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "spool_record.h"

struct spool {
	char dir[PATH_MAX];             /* "" when too long: all fails */
	char name[NAME_MAX + 1];        /* this process's file, in dir */
	pthread_mutex_t lock;           /* the fields below */
	int dirfd;                      /* dir, checked, or -1 */
	bool dir_warned;                /* its failure was reported */
	int fd;                         /* name, open for appends, or -1 */
	pid_t fd_pid;                   /* who opened fd (fork shares it) */
	bool sealed;
	unsigned char key[SPOOL_KEY_LEN];
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

/* snprintf into a file name; -1 (ENAMETOOLONG) when it was cut. */
__attribute__((format(printf, 2, 3)))
static int
name_fmt(char name[NAME_MAX + 1], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(name, NAME_MAX + 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n > NAME_MAX) {
		name[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

/* ---------------------------------------------------- the directory */

/* Why st is no spool directory, or NULL. */
static const char *
dir_unfit(const struct stat *st)
{
	if (!S_ISDIR(st->st_mode))
		return "not a directory";
	if (st->st_uid != geteuid())
		return "not owned by this user";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others";
	return NULL;
}

/* Make a new directory's entry durable in its parent. */
static void
sync_parent(const char *dir)
{
	char copy[PATH_MAX];
	int fd;

	snprintf(copy, sizeof(copy), "%s", dir);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >=
	    0) {
		(void)fsync(fd);
		close(fd);
	}
}

/*
 * Open dir as a spool directory, never through a symlink; with create, a
 * missing one is made (0700).  The descriptor, or -1 with errno (EPERM:
 * unfit) and the reason in err.
 */
static int
dir_open(const char *dir, bool create, char *err, size_t errlen)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	const char *why;
	struct stat st;
	int fd, e;

	if (dir[0] == '\0') {
		snprintf(err, errlen, "spool directory: path too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(dir, flags);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(dir, 0700) == 0)
			sync_parent(dir);
		else if (errno != EEXIST)
			goto fail;
		fd = open(dir, flags);
	}
	if (fd >= 0 && fstat(fd, &st) == 0) {
		if ((why = dir_unfit(&st)) == NULL)
			return fd;
		close(fd);
		snprintf(err, errlen, "spool directory %s is %s", dir, why);
		errno = EPERM;
		return -1;
	}
	if (fd >= 0)
		close(fd);
fail:
	e = errno;
	if (e == ELOOP || (e == ENOTDIR && lstat(dir, &st) == 0 &&
	    S_ISLNK(st.st_mode))) {
		snprintf(err, errlen, "spool directory %s is a symlink", dir);
		e = EPERM;
	} else {
		snprintf(err, errlen, "spool directory %s: %s", dir,
		    strerror(e));
	}
	errno = e;
	return -1;
}

int
spool_check_dir(const char *dir, char *err, size_t errlen)
{
	int fd = dir_open(dir, true, err, errlen);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/*
 * Make sp->dirfd an open, checked descriptor of sp->dir: reopened when
 * the path names another inode now (a replaced directory) or it became
 * unfit.  Under sp->lock.  1 when reopened, 0 when unchanged, -1 (errno;
 * reported once, unless it is missing and create is false).
 */
static int
dir_check_locked(struct spool *sp, bool create)
{
	char err[PATH_MAX + 64];
	struct stat a, b;
	int fd;

	if (sp->dirfd >= 0) {
		if (lstat(sp->dir, &a) == 0 && fstat(sp->dirfd, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
		    dir_unfit(&b) == NULL)
			return 0;
		close(sp->dirfd);
		sp->dirfd = -1;
	}
	if ((fd = dir_open(sp->dir, create, err, sizeof(err))) < 0) {
		if ((errno != ENOENT || create) && !sp->dir_warned) {
			sp->dir_warned = true;
			warnf(sp, "%s", err);
		}
		return -1;
	}
	sp->dir_warned = false;
	sp->dirfd = fd;
	return 1;
}

/* A checked descriptor of the directory for the caller to close; -1. */
static int
dir_dup(struct spool *sp)
{
	int fd = -1, e = 0;

	pthread_mutex_lock(&sp->lock);
	if (dir_check_locked(sp, false) < 0 ||
	    (fd = fcntl(sp->dirfd, F_DUPFD_CLOEXEC, 0)) < 0)
		e = errno;
	pthread_mutex_unlock(&sp->lock);
	errno = e;
	return fd;
}

/*
 * openat() an entry of the spool directory without following a symlink
 * or blocking on a FIFO, and check that it is a regular file of ours with
 * one link: anything else was planted and is refused (EPERM; warned
 * unless quiet).  The descriptor, its stat in *st when not NULL, or -1.
 */
static int
open_entry(const struct spool *sp, int dfd, const char *name, int flags,
    struct stat *st, bool quiet)
{
	struct stat tmp;
	int fd;

	if (st == NULL)
		st = &tmp;
	fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC, 0600);
	if (fd < 0 && errno != ELOOP && errno != ENXIO)
		return -1;
	if (fd >= 0 && fstat(fd, st) != 0) {
		close(fd);
		return -1;
	}
	if (fd < 0 || !S_ISREG(st->st_mode) || st->st_uid != geteuid() ||
	    st->st_nlink != 1) {
		if (fd >= 0)
			close(fd);
		if (!quiet)
			warnf(sp, "spool %s/%s is not a regular file of ours "
			    "with one link: refused", sp->dir, name);
		errno = EPERM;
		return -1;
	}
	return fd;
}

struct spool *
spool_new(const char *dir, const char *instance, const unsigned char *key,
    void (*warn)(const char *msg))
{
	struct spool *sp = calloc(1, sizeof(*sp));
	int n;

	if (sp == NULL || pthread_mutex_init(&sp->lock, NULL) != 0)
		abort();
	/* On overflow dir or name stays "": every open fails. */
	n = snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(sp->dir))
		sp->dir[0] = '\0';
	(void)name_fmt(sp->name, "%s-%ld.spool", instance, (long)getpid());
	sp->dirfd = sp->fd = -1;
	if (key != NULL) {
		memcpy(sp->key, key, SPOOL_KEY_LEN);
		sp->sealed = true;
	}
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
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	explicit_bzero(sp->key, sizeof(sp->key));
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

/* ------------------------------------------------------- appending */

/* Open (creating) this process's file.  Under sp->lock. */
static int
open_file(struct spool *sp)
{
	int fd;

	if (sp->name[0] == '\0') {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open_entry(sp, sp->dirfd, sp->name, O_WRONLY | O_APPEND |
	    O_CREAT | O_EXCL, NULL, false);
	if (fd >= 0 && fsync(sp->dirfd) != 0) {  /* a new name: make it last */
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (fd < 0 && errno == EEXIST)
		fd = open_entry(sp, sp->dirfd, sp->name, O_WRONLY | O_APPEND,
		    NULL, false);
	if (fd < 0)
		return -1;
	sp->fd = fd;
	sp->fd_pid = getpid();
	return 0;
}

/* Lock our file, reopening it if a drainer renamed it away meanwhile.
 * Sets *size to the file's size under the lock.  Under sp->lock. */
static int
lock_current(struct spool *sp, off_t *size)
{
	struct stat a, b;
	int rc;

	if ((rc = dir_check_locked(sp, true)) < 0)
		return -1;
	/* A new directory, or a descriptor inherited over fork(): flock
	 * would not keep our parent out of it. */
	if (sp->fd >= 0 && (rc == 1 || sp->fd_pid != getpid())) {
		close(sp->fd);
		sp->fd = -1;
	}
	for (int tries = 0; tries < 16; tries++) {
		if (sp->fd < 0 && open_file(sp) != 0)
			return -1;
		while ((rc = flock(sp->fd, LOCK_EX)) != 0 && errno == EINTR)
			;
		if (rc != 0)
			return -1;
		if (fstat(sp->fd, &a) == 0 && fstatat(sp->dirfd, sp->name,
		    &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev && a.st_nlink == 1) {
			*size = a.st_size;
			return 0;
		}
		close(sp->fd);          /* also drops the lock */
		sp->fd = -1;
	}
	errno = EAGAIN;
	return -1;
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write buf and make it durable, or leave the file as it was.  Under
 * sp->lock. */
static int
append_locked(struct spool *sp, const unsigned char *buf, size_t len)
{
	off_t size;

	if (lock_current(sp, &size) != 0)
		return -1;
	if (write_all(sp->fd, buf, len) != 0 || fdatasync(sp->fd) != 0) {
		int e = errno;

		/* No partial record, and no record that may not be durable:
		 * the caller answers 503 and Zoom sends it again. */
		if (ftruncate(sp->fd, size) != 0)
			warnf(sp, "spool %s/%s: cannot cut a failed append "
			    "off: %s", sp->dir, sp->name, strerror(errno));
		flock(sp->fd, LOCK_UN);
		errno = e;
		return -1;
	}
	flock(sp->fd, LOCK_UN);
	return 0;
}

int
spool_append(struct spool *sp, const struct spool_record *recs, size_t n)
{
	unsigned char *buf;
	size_t len;
	int rc, e;

	if (n == 0)
		return 0;
	if ((buf = spool_record_encode(recs, n, sp->sealed ? sp->key : NULL,
	    &len)) == NULL)
		return -1;
	pthread_mutex_lock(&sp->lock);
	rc = append_locked(sp, buf, len);
	e = errno;
	pthread_mutex_unlock(&sp->lock);
	free(buf);
	errno = e;
	return rc;
}

/* ------------------------------------------------------- draining */

struct drain_ctx {
	spool_fn fn;
	void *arg;
	int left;
	long long deadline;
	struct spool_drain_result *res;
	bool error;
};

/* Copy the sound record at r->off..next that did not open to
 * NAME.unopened (created on first use), durably.  0 or -1. */
static int
keep_unopened(const struct spool *sp, int dfd, const char *name,
    struct spool_reader *r, size_t next)
{
	char qname[NAME_MAX + 1];
	const unsigned char *p;
	int fd, rc = -1;

	if (name_fmt(qname, "%s.unopened", name) != 0 ||
	    (p = spool_reader_bytes(r, r->off, next - r->off)) == NULL)
		return -1;
	fd = open_entry(sp, dfd, qname, O_WRONLY | O_APPEND | O_CREAT, NULL,
	    false);
	if (fd < 0)
		return -1;
	if (write_all(fd, p, next - r->off) == 0 && fdatasync(fd) == 0 &&
	    fsync(dfd) == 0)
		rc = 0;
	close(fd);
	if (rc == 0)
		warnf(sp, "spool %s: record kept in %s (rename it to *.spool "
		    "to replay it under the right key)", name, qname);
	return rc;
}

/*
 * Replay one .draining file from its saved offset; fresh: just claimed,
 * so no progress of it can exist.  1 when it is finished and removed, 0
 * when stopped early, -1 on an I/O error or a refused entry.
 */
static int
drain_file(const struct spool *sp, int dfd, const char *name, bool fresh,
    struct drain_ctx *c)
{
	char offname[NAME_MAX + 1];
	struct spool_reader r;
	struct spool_record rec;
	struct stat st;
	enum spool_next k = SPOOL_NEXT_ERROR;
	const char *why;
	size_t next, saved;
	uint32_t fp;
	int rc = -1, fd, offfd, e;

	if (name_fmt(offname, "%s.off", name) != 0)
		return -1;
	if ((fd = open_entry(sp, dfd, name, O_RDONLY, &st, false)) < 0)
		return errno == ENOENT ? 1 : -1;
	spool_reader_init(&r, fd, (size_t)st.st_size, sp->sealed ? sp->key :
	    NULL, sp->warn, name);
	offfd = open_entry(sp, dfd, offname, O_RDWR | O_CREAT, NULL, false);
	if (offfd < 0 || (fresh && ftruncate(offfd, 0) != 0))
		goto out_close;
	r.off = saved = spool_progress_read(offfd, &r, &why);
	if (why != NULL)
		warnf(sp, "spool %s: saved offset %s, replaying the file from "
		    "its start", name, why);
	fp = spool_reader_fingerprint(&r);
	for (;;) {
		k = spool_reader_next(&r, &rec, &next, &c->res->torn, true);
		if (k == SPOOL_NEXT_END || k == SPOOL_NEXT_ERROR)
			break;
		if (k == SPOOL_NEXT_UNOPENED) {
			if (keep_unopened(sp, dfd, name, &r, next) != 0)
				break;
			r.off = next;
			continue;
		}
		if (c->left <= 0 || mono_ms() > c->deadline) {
			rc = 0;
			break;
		}
		if (c->fn(c->arg, &rec) != 0) {
			c->res->stopped = 1;
			rc = 0;
			break;
		}
		c->res->replayed++;
		c->left--;
		spool_progress_write(offfd, saved = r.off = next, fp);
	}
	if (k != SPOOL_NEXT_END) {
		/* Resume at the record that was not taken, past any
		 * damage before it. */
		e = errno;
		if (k != SPOOL_NEXT_ERROR && r.off != saved)
			spool_progress_write(offfd, r.off, fp);
		errno = e;
		goto out_close;
	}
	if (unlinkat(dfd, offname, 0) == 0 && unlinkat(dfd, name, 0) == 0)
		rc = 1;
out_close:
	e = errno;
	if (offfd >= 0)
		close(offfd);
	spool_reader_release(&r);
	errno = e;
	return rc;
}

/* Move a live *.spool file aside for draining, waiting out an append.
 * 1 when there is nothing to claim, 0 with the new name, -1. */
static int
claim(const struct spool *sp, int dfd, const char *name,
    char draining[NAME_MAX + 1])
{
	struct stat st;
	uint64_t rnd;
	int fd, rc;

	if ((fd = open_entry(sp, dfd, name, O_RDONLY, NULL, false)) < 0)
		return errno == ENOENT ? 1 : -1;
	while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
		;
	/* A fresh empty file is one an appender has just created and is
	 * about to write: moving it would only make the appender start over.
	 * An old empty one was left by a crash and is cleaned up. */
	if (rc != 0 || fstat(fd, &st) != 0 || st.st_nlink != 1 ||
	    (st.st_size == 0 && st.st_mtime > time(NULL) - 10)) {
		close(fd);
		return rc != 0 ? -1 : 1;
	}
	/* Unique across processes and reboots: the inode is unique among
	 * live files, the random part once the inode is reused. */
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (uint64_t)wall_ms() ^ (uint64_t)getpid() << 42;
	rc = name_fmt(draining, "%s.%llu-%016llx.draining", name,
	    (unsigned long long)st.st_ino, (unsigned long long)rnd);
	if (rc == 0)
		rc = renameat(dfd, name, dfd, draining);
	close(fd);
	return rc == 0 ? 0 : (errno == ENOENT ? 1 : -1);
}

/* Call each() for every entry of dfd whose name has the suffix (not dot
 * files); stop when it returns non-zero.  0, or -1 on a readdir error. */
static int
for_each(struct spool *sp, int dfd, const char *suffix,
    int (*each)(struct spool *sp, int dfd, const char *name, void *ctx),
    void *ctx)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && has_suffix(de->d_name, suffix) &&
		    each(sp, dfd, de->d_name, ctx) != 0)
			break;
	closedir(d);
	return 0;
}

static int
drain_one(struct spool *sp, int dfd, const char *name, void *ctx)
{
	struct drain_ctx *c = ctx;
	int rc = drain_file(sp, dfd, name, false, c);

	if (rc < 0) {
		if (errno != EPERM)
			warnf(sp, "spool %s: %s", name, strerror(errno));
		c->error = true;
	}
	/* Go on while there is time and room; a refused or unreadable
	 * file must not hold up the others. */
	return c->res->stopped || c->left <= 0 || mono_ms() > c->deadline;
}

static int
claim_one(struct spool *sp, int dfd, const char *name, void *ctx)
{
	char draining[NAME_MAX + 1];
	int rc = claim(sp, dfd, name, draining);

	if (rc < 0) {
		if (errno != EPERM)
			warnf(sp, "cannot claim spool %s: %s", name,
			    strerror(errno));
		((struct drain_ctx *)ctx)->error = true;
		return 0;
	}
	if (rc == 0 && strcmp(name, sp->name) == 0) {
		pthread_mutex_lock(&sp->lock);
		if (sp->fd >= 0) {
			close(sp->fd);  /* ours: a fresh one next time */
			sp->fd = -1;
		}
		pthread_mutex_unlock(&sp->lock);
	}
	return rc == 0 ? drain_one(sp, dfd, draining, ctx) : 0;
}

/* Remove the progress of a .draining file that is gone. */
static int
drop_orphan(struct spool *sp, int dfd, const char *name, void *ctx)
{
	char data[NAME_MAX + 1];
	struct stat st;

	(void)sp;
	(void)ctx;
	if (has_suffix(name, ".draining.off") && strlen(name) < sizeof(data) &&
	    snprintf(data, strlen(name) - 3, "%s", name) > 0 &&
	    fstatat(dfd, data, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
	    errno == ENOENT)
		(void)unlinkat(dfd, name, 0);
	return 0;
}

int
spool_drain(struct spool *sp, spool_fn fn, void *arg, int max_records,
    int budget_ms, struct spool_drain_result *res)
{
	struct drain_ctx c = { fn, arg, max_records, mono_ms() + budget_ms,
		res, false };
	int dfd, lockfd, rc = -1;

	memset(res, 0, sizeof(*res));
	if ((dfd = dir_dup(sp)) < 0)
		return errno == ENOENT ? 0 : -1;
	lockfd = open_entry(sp, dfd, ".drain.lock", O_RDWR | O_CREAT, NULL,
	    false);
	if (lockfd < 0)
		goto out_close_dir;
	if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		res->busy = errno == EWOULDBLOCK;
		rc = res->busy ? 0 : -1;
		goto out_close_lock;
	}
	(void)for_each(sp, dfd, ".off", drop_orphan, NULL);
	/* Leftovers of an earlier, interrupted drain go first. */
	if (for_each(sp, dfd, ".draining", drain_one, &c) != 0)
		c.error = true;
	if (!res->stopped && c.left > 0 && mono_ms() <= c.deadline &&
	    for_each(sp, dfd, ".spool", claim_one, &c) != 0)
		c.error = true;
	rc = c.error ? -1 : 0;
out_close_lock:
	close(lockfd);          /* drops the lock */
out_close_dir:
	close(dfd);
	return rc;
}

/* --------------------------------------------------------- status */

struct status_ctx {
	struct spool_status *st;
	bool error;
};

static int
count_one(struct spool *sp, int dfd, const char *name, void *ctx)
{
	char offname[NAME_MAX + 1];
	struct status_ctx *c = ctx;
	struct spool_reader r;
	struct spool_record rec;
	long long torn = 0;
	const char *why;
	struct stat st;
	size_t next;
	int fd, offfd;

	if ((fd = open_entry(sp, dfd, name, O_RDONLY, &st, true)) < 0) {
		if (errno != ENOENT)    /* else drained meanwhile */
			c->error = true;
		return 0;
	}
	spool_reader_init(&r, fd, (size_t)st.st_size, NULL, NULL, name);
	if (has_suffix(name, ".draining") &&
	    name_fmt(offname, "%s.off", name) == 0 &&
	    (offfd = open_entry(sp, dfd, offname, O_RDONLY, NULL, true)) >= 0) {
		r.off = spool_progress_read(offfd, &r, &why);
		close(offfd);
	}
	while (spool_reader_next(&r, &rec, &next, &torn, false) ==
	    SPOOL_NEXT_RECORD) {
		if (c->st->pending++ == 0 || rec.received_ms <
		    c->st->oldest_ms)
			c->st->oldest_ms = rec.received_ms;
		r.off = next;
	}
	if (r.error)
		c->error = true;
	spool_reader_release(&r);
	return 0;
}

int
spool_status(struct spool *sp, struct spool_status *st)
{
	struct status_ctx c;
	int dfd;

	memset(st, 0, sizeof(*st));
	c.st = st;
	c.error = false;
	if ((dfd = dir_dup(sp)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (for_each(sp, dfd, ".spool", count_one, &c) != 0 ||
	    for_each(sp, dfd, ".draining", count_one, &c) != 0)
		c.error = true;
	close(dfd);
	return c.error ? -1 : 0;
}

static int
any_file(struct spool *sp, int dfd, const char *name, void *ctx)
{
	struct stat st;

	(void)sp;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size > 0) {
		*(bool *)ctx = true;
		return 1;
	}
	return 0;
}

bool
spool_has_pending(struct spool *sp)
{
	bool found = false;
	int dfd = dir_dup(sp);

	if (dfd < 0)
		return false;
	(void)for_each(sp, dfd, ".spool", any_file, &found);
	if (!found)
		(void)for_each(sp, dfd, ".draining", any_file, &found);
	close(dfd);
	return found;
}
