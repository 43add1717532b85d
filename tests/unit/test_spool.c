/*
 * test_spool.c -- spool_append(), spool_drain(), spool_status() and
 * spool_check_dir() in temporary directories under $TMPDIR: order and
 * content of replays, resumable drains, damaged records, renames under an
 * appender, broken and hostile directories, progress files, zoom_events
 * 1.0's record format, sealed records, batches, and processes and threads
 * appending at once.  Links spool.o spool_record.o seal.o -lz -lcrypto.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "tests/unit/unit.h"

#define MAX_SEEN 1024

/* Bytes of a format-2 plain record: header 16, flags and received_ms 9,
 * the four lengths 7, then the strings and the body. */
#define V2_LEN(id, ts, sig, body) (16 + 9 + 7 + (id) + (ts) + (sig) + (body))

/* Two keys (32 bytes, no NUL). */
static const unsigned char key_a[SPOOL_KEY_LEN] =
    "0123456789abcdef0123456789abcdef";
static const unsigned char key_b[SPOOL_KEY_LEN] =
    "fedcba9876543210fedcba9876543210";

/* ------------------------------------------------------------ helpers */

static int warnings;
static char last_warning[512];
static char all_warnings[8192];

static void
on_warn(const char *msg)
{
	size_t n = strlen(all_warnings);

	warnings++;
	snprintf(last_warning, sizeof(last_warning), "%s", msg);
	snprintf(all_warnings + n, sizeof(all_warnings) - n, "%s\n", msg);
}

static void
warnings_reset(void)
{
	warnings = 0;
	last_warning[0] = all_warnings[0] = '\0';
}

/* What a drain handed to the callback, in order. */
struct seen {
	int n;
	char *body[MAX_SEEN];
	size_t len[MAX_SEEN];
	char id[MAX_SEEN][ZE_REQUEST_ID_MAX + 1];
	char ts[MAX_SEEN][ZE_SIG_TS_MAX + 1];
	char sig[MAX_SEEN][ZE_SIGNATURE_MAX + 1];
	bool legacy[MAX_SEEN];
	long long ms[MAX_SEEN];
	char *name[MAX_SEEN];   /* NULL: the record has none */
	int fail_at;            /* refuse the call with this index, or -1 */
	int calls;
	useconds_t delay_us;    /* sleep in each call */
};

static void
seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->fail_at = -1;
}

static void
seen_release(struct seen *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->body[i]);
		free(s->name[i]);
	}
	seen_init(s);
}

static int
record(void *arg, const struct spool_record *r)
{
	struct seen *s = arg;

	if (s->delay_us > 0)
		usleep(s->delay_us);
	if (s->calls++ == s->fail_at)
		return -1;
	if (s->n == MAX_SEEN)
		abort();
	if ((s->body[s->n] = malloc(r->len + 1)) == NULL)
		abort();
	if (r->len > 0)
		memcpy(s->body[s->n], r->body, r->len);
	s->body[s->n][r->len] = '\0';
	s->len[s->n] = r->len;
	snprintf(s->id[s->n], sizeof(s->id[0]), "%s", r->request_id);
	snprintf(s->ts[s->n], sizeof(s->ts[0]), "%s", r->sig_ts);
	snprintf(s->sig[s->n], sizeof(s->sig[0]), "%s", r->signature);
	s->legacy[s->n] = r->legacy;
	s->ms[s->n] = r->received_ms;
	s->name[s->n] = NULL;
	if (r->name != NULL &&
	    (s->name[s->n] = strndup(r->name, r->name_len)) == NULL)
		abort();
	s->n++;
	return 0;
}

/* A fresh directory (0700, as mkdtemp makes it); removed with rm_dir(). */
static void
make_dir(char *out, size_t size)
{
	const char *t = getenv("TMPDIR");

	snprintf(out, size, "%s/test_spool.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(out) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

/* Remove dir and whatever is in it (and its subdirectories). */
static void
rm_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	chmod(dir, 0700);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path) != 0 && (errno == EISDIR ||
			    errno == EPERM))
				rm_dir(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* How many entries of dir end with suffix; the last one's path in out. */
static int
count_files(const char *dir, const char *suffix, char *out, size_t size)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t m = strlen(suffix);
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > m && strcmp(de->d_name + l - m, suffix) == 0) {
			n++;
			if (out != NULL)
				snprintf(out, size, "%s/%s", dir, de->d_name);
		}
	}
	closedir(d);
	return n;
}

static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Write len bytes to path (created or truncated, 0600); 0 or -1. */
static int
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int rc;

	if (fd < 0)
		return -1;
	rc = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return rc;
}

/* Up to cap bytes of path into buf; the count, or -1. */
static ssize_t
read_file(const char *path, void *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap);
	close(fd);
	return n;
}

/* One record through spool_append(), without signature headers. */
static int
app(struct spool *sp, long long ms, const char *id, const char *body,
    size_t len)
{
	struct spool_record r = { .received_ms = ms, .body = body,
		.len = len };

	snprintf(r.request_id, sizeof(r.request_id), "%s", id);
	return spool_append(sp, &r, 1);
}

/* What waits, as the old spool_pending() said it: records, or -1. */
static long long
pending(struct spool *sp)
{
	struct spool_status st;

	return spool_status(sp, &st) == 0 ? st.pending : -1;
}

/* Append "<prefix>-<i>" for i in [from, to), with matching ids and times. */
static int
append_range(struct spool *sp, const char *prefix, int from, int to)
{
	char body[64], id[32];
	int failed = 0;

	for (int i = from; i < to; i++) {
		snprintf(body, sizeof(body), "%s-%03d", prefix, i);
		snprintf(id, sizeof(id), "req-%d", i);
		if (app(sp, 1700000000000LL + i, id, body,
		    strlen(body)) != 0)
			failed++;
	}
	return failed;
}

/* The bodies seen are exactly prefix-from .. prefix-(to-1), in order. */
static void
check_range(const struct seen *s, int at, const char *prefix, int from,
    int to)
{
	char want[64];

	for (int i = from; i < to; i++, at++) {
		snprintf(want, sizeof(want), "%s-%03d", prefix, i);
		if (!CHECKF(at < s->n, "record %s never replayed", want))
			return;
		CHECK_STR(s->body[at], want);
	}
}

static int
drain(struct spool *sp, struct seen *s, int max, int budget_ms,
    struct spool_drain_result *res)
{
	return spool_drain(sp, record, s, max, budget_ms, res);
}

static void
put_le(unsigned char *p, unsigned long long v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static unsigned long
get_le32(const unsigned char *p)
{
	return (unsigned long)p[0] | (unsigned long)p[1] << 8 |
	    (unsigned long)p[2] << 16 | (unsigned long)p[3] << 24;
}

/* A zoom_events 1.0 record, byte by byte as 1.0 wrote it, at out; its
 * length (V1_LEN). */
static size_t
v1_record(unsigned char *out, long long ms, const char *id,
    const char *body, size_t len)
{
	size_t idlen = strlen(id), plen = 10 + idlen + len;

	memcpy(out, "ZESPOOL1", 8);
	put_le(out + 8, plen, 4);
	put_le(out + 16, (unsigned long long)ms, 8);
	put_le(out + 24, idlen, 2);
	memcpy(out + 26, id, idlen);
	memcpy(out + 26 + idlen, body, len);
	put_le(out + 12, crc32(crc32(0L, Z_NULL, 0), out + 16, (uInt)plen),
	    4);
	return 16 + plen;
}

/* Recompute the checksum of the record at rec (after a deliberate
 * change, so that only the change is seen): format 2 covers magic and
 * length too. */
static void
fix_crc(unsigned char *rec)
{
	unsigned long plen = get_le32(rec + 8);
	uLong c = crc32(0L, Z_NULL, 0);

	if (rec[7] == '2')
		c = crc32(c, rec, 12);
	put_le(rec + 12, crc32(c, rec + 16, (uInt)plen), 4);
}

/* The only *.spool file of dir into path (records appended by a spool
 * in dir), renamed to name (a .draining name, say); 0 or -1. */
static int
rename_spool(const char *dir, const char *name, char *path, size_t size)
{
	char from[PATH_MAX];

	if (count_files(dir, ".spool", from, sizeof(from)) != 1)
		return -1;
	snprintf(path, size, "%s/%s", dir, name);
	return rename(from, path);
}

/* -------------------------------------------------------------- tests */
static void
spool_should_replay_records_in_order_with_exact_content(void)
{
	static const char binary[] = "{\"a\":\"x\0y\"}\n\r\xFF\x00";
	char dir[PATH_MAX], big[5000];
	char long_id[ZE_REQUEST_ID_MAX + 40];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	memset(long_id, 'r', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';

	CHECK_INT(pending(sp), 0);
	CHECK(!spool_has_pending(sp));
	CHECK(app(sp, 1700000000123LL, "req-a", "first", 5) == 0);
	CHECK(app(sp, 0, "", "", 0) == 0);
	CHECK(app(sp, 42, "req-c", binary, sizeof(binary) - 1) == 0);
	CHECK(app(sp, 1700000000999LL, long_id, big, sizeof(big)) ==
	    0);
	CHECK(app(sp, 7, "req-e", "last", 4) == 0);
	CHECK_INT(pending(sp), 5);
	CHECK(spool_has_pending(sp));

	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 5);
	CHECK_INT(res.torn, 0);
	CHECK_INT(res.stopped, 0);
	CHECK_INT(res.busy, 0);
	if (CHECK_INT(s.n, 5)) {
		CHECK_STR(s.body[0], "first");
		CHECK_STR(s.id[0], "req-a");
		CHECK_INT(s.ms[0], 1700000000123LL);
		CHECK_INT(s.len[1], 0);
		CHECK_STR(s.id[1], "");
		CHECK_INT(s.ms[1], 0);
		CHECK_INT(s.len[2], sizeof(binary) - 1);
		CHECK(memcmp(s.body[2], binary, sizeof(binary) - 1) == 0);
		CHECK_STR(s.id[2], "req-c");
		CHECK_INT(s.len[3], sizeof(big));
		CHECK(memcmp(s.body[3], big, sizeof(big)) == 0);
		/* Request ids are cut to ZE_REQUEST_ID_MAX. */
		CHECK_INT(strlen(s.id[3]), ZE_REQUEST_ID_MAX);
		CHECK(strncmp(s.id[3], long_id, ZE_REQUEST_ID_MAX) == 0);
		CHECK_STR(s.body[4], "last");
		CHECK_INT(s.ms[4], 7);
	}
	CHECK_INT(pending(sp), 0);
	CHECK(!spool_has_pending(sp));
	CHECK_INT(count_files(dir, ".draining", NULL, 0), 0);
	CHECK_INT(count_files(dir, ".off", NULL, 0), 0);

	/* Nothing is offered twice. */
	seen_release(&s);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK_INT(s.n, 0);
	CHECK_INT(warnings, 0);

	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

static void
spool_should_make_the_file_private(void)
{
	char dir[PATH_MAX], file[PATH_MAX];
	struct spool *sp;
	struct stat st;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	CHECK(append_range(sp, "r", 0, 1) == 0);
	if (CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1) &&
	    CHECK(stat(file, &st) == 0))
		CHECK_INT(st.st_mode & 0777, 0600);
	/* Named for the instance and the pid. */
	{
		char want[64];

		snprintf(want, sizeof(want), "/web1-%ld.spool",
		    (long)getpid());
		CHECK_CONTAINS(file, want);
	}
	spool_free(sp);
	rm_dir(dir);
}

static void
spool_should_stop_at_max_records_and_resume(void)
{
	char dir[PATH_MAX];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	CHECK(append_range(sp, "r", 0, 7) == 0);

	CHECK(drain(sp, &s, 3, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 3);
	CHECK_INT(res.stopped, 0);
	CHECK_INT(pending(sp), 4);
	/* Progress is kept beside the claimed file. */
	CHECK_INT(count_files(dir, ".draining", NULL, 0), 1);
	CHECK_INT(count_files(dir, ".off", NULL, 0), 1);

	CHECK(drain(sp, &s, 3, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 3);
	CHECK_INT(pending(sp), 1);

	/* Appends meanwhile go to a new file, drained after the old one. */
	CHECK(append_range(sp, "r", 7, 9) == 0);
	CHECK_INT(pending(sp), 3);

	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 3);
	CHECK_INT(res.torn, 0);
	CHECK_INT(s.n, 9);
	check_range(&s, 0, "r", 0, 9);
	CHECK_INT(pending(sp), 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(count_files(dir, ".draining", NULL, 0), 0);
	CHECK_INT(count_files(dir, ".off", NULL, 0), 0);
	CHECK_INT(s.n, 9);

	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

static void
spool_should_stop_when_the_time_budget_is_spent(void)
{
	char dir[PATH_MAX];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	int first;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	CHECK(append_range(sp, "r", 0, 20) == 0);

	/* 20 ms a record, 50 ms of budget: a few, not all. */
	s.delay_us = 20000;
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, 50, &res) == 0);
	first = s.n;
	CHECKF(first >= 1 && first <= 5, "replayed %d", first);
	CHECK_INT(res.replayed, first);
	CHECK_INT(res.stopped, 0);
	CHECK_INT(pending(sp), 20 - first);

	s.delay_us = 0;
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 20 - first);
	check_range(&s, 0, "r", 0, 20);
	CHECK_INT(s.n, 20);

	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

static void
spool_should_keep_the_record_the_callback_refused(void)
{
	char dir[PATH_MAX];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	CHECK(append_range(sp, "r", 0, 5) == 0);

	s.fail_at = 2;                  /* the database goes away */
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 2);
	CHECK_INT(res.stopped, 1);
	CHECK_INT(s.n, 2);
	CHECK_INT(pending(sp), 3);
	CHECK(spool_has_pending(sp));

	/* It comes back: the refused record is offered first. */
	s.fail_at = -1;
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 3);
	CHECK_INT(res.stopped, 0);
	CHECK_INT(s.n, 5);
	check_range(&s, 0, "r", 0, 5);
	CHECK_INT(pending(sp), 0);

	/* A refusal of the very first record keeps everything. */
	seen_release(&s);
	CHECK(append_range(sp, "q", 0, 2) == 0);
	s.fail_at = 0;
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK_INT(res.stopped, 1);
	CHECK_INT(pending(sp), 2);
	s.fail_at = -1;
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	check_range(&s, 0, "q", 0, 2);

	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

static void
spool_should_skip_a_torn_record_at_the_tail(void)
{
	char dir[PATH_MAX], file[PATH_MAX];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	long long size;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	warnings = 0;
	CHECK(append_range(sp, "r", 0, 5) == 0);
	if (!CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1))
		goto out;
	/* A crash in the middle of the last write. */
	size = file_size(file);
	CHECK(truncate(file, size - 3) == 0);
	CHECK_INT(pending(sp), 4);

	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 4);
	CHECK_INT(res.torn, 1);
	CHECK_INT(res.stopped, 0);
	CHECK_INT(s.n, 4);
	check_range(&s, 0, "r", 0, 4);
	CHECK(warnings >= 1);
	CHECK_CONTAINS(last_warning, "damaged");
	CHECK_INT(pending(sp), 0);
	CHECK(!spool_has_pending(sp));
out:
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/* A crash that leaves only part of the last header, and a file that a
 * later writer appends to after a torn record. */
static void
spool_should_resync_after_a_torn_record(void)
{
	char dir[PATH_MAX], file[PATH_MAX];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	long long size;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	CHECK(append_range(sp, "r", 0, 3) == 0);
	if (!CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1))
		goto out;
	size = file_size(file);
	/* The last record has a 5-byte id and body: keep 5 of its header. */
	CHECK(truncate(file, size - V2_LEN(5, 0, 0, 5) + 5) == 0);
	CHECK(append_range(sp, "r", 3, 5) == 0);
	CHECK_INT(pending(sp), 4);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.torn, 1);
	CHECK_INT(res.replayed, 4);
	if (CHECK_INT(s.n, 4)) {
		check_range(&s, 0, "r", 0, 2);
		check_range(&s, 2, "r", 3, 5);
	}

	/* Only a partial header at the very end. */
	seen_release(&s);
	CHECK(append_range(sp, "t", 0, 2) == 0);
	if (!CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1))
		goto out;
	size = file_size(file);
	CHECK(truncate(file, size - V2_LEN(5, 0, 0, 5) + 5) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.torn, 1);
	CHECK_INT(res.replayed, 1);
	if (CHECK_INT(s.n, 1))
		CHECK_STR(s.body[0], "t-000");
out:
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/* Leftovers of crashes: an empty spool file (created, never written), an
 * empty claimed file, and an offset file pointing past its file's end. */
static void
spool_should_clean_up_empty_and_finished_leftovers(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	int fd;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	snprintf(path, sizeof(path), "%s/web9-1.spool", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && close(fd) == 0);
	/* Left by a crash a minute ago (a fresh empty file is skipped: its
	 * appender is about to write it). */
	{
		struct timespec old[2] = { { time(NULL) - 60, 0 },
			{ time(NULL) - 60, 0 } };

		CHECK(utimensat(AT_FDCWD, path, old, 0) == 0);
	}
	snprintf(path, sizeof(path), "%s/web9-2.spool.1.0.draining", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && close(fd) == 0);
	CHECK_INT(pending(sp), 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK_INT(res.torn, 0);
	CHECK_INT(count_files(dir, ".spool", NULL, 0), 0);
	CHECK_INT(count_files(dir, ".draining", NULL, 0), 0);

	/* A claimed file whose records were all replayed: it goes at once
	 * (a leftover whose .off is at its end is in
	 * spool_should_replay_everything_after_a_corrupt_off). */
	CHECK(append_range(sp, "r", 0, 2) == 0);
	CHECK(drain(sp, &s, 2, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 2);
	CHECK_INT(pending(sp), 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(count_files(dir, ".draining", NULL, 0), 0);
	CHECK_INT(count_files(dir, ".off", NULL, 0), 0);
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/*
 * Damage the middle one of three records in some way; the other two must
 * replay and the damage count as one torn record.  The records are
 * written by the spool (format 2) or, with v1, by hand as zoom_events 1.0
 * did; at_from_body counts back from the middle record's body (0 is its
 * first byte).
 */
static void
check_middle_damage(bool v1, const char *how, long at_from_body, int delta)
{
	char dir[PATH_MAX], file[PATH_MAX + 16];
	unsigned char buf[4096];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	unsigned char *mid;
	ssize_t n;
	int fd;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	if (v1) {
		size_t len = v1_record(buf, 1, "id-0", "first-record", 12);

		len += v1_record(buf + len, 2, "id-1", "middle-record", 13);
		len += v1_record(buf + len, 3, "id-2", "third-record", 12);
		snprintf(file, sizeof(file), "%s/web0-1.spool", dir);
		CHECK(write_file(file, buf, len) == 0);
	} else {
		CHECK(app(sp, 1, "id-0", "first-record", 12) == 0);
		CHECK(app(sp, 2, "id-1", "middle-record", 13) == 0);
		CHECK(app(sp, 3, "id-2", "third-record", 12) == 0);
	}
	if (!CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1))
		goto out;
	fd = open(file, O_RDWR);
	n = fd >= 0 ? pread(fd, buf, sizeof(buf), 0) : -1;
	mid = n > 0 ? memmem(buf, (size_t)n, "middle-record", 13) : NULL;
	if (!CHECKF(mid != NULL, "%s: no middle record in %s", how, file)) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	mid -= at_from_body;
	*mid = (unsigned char)(*mid + delta);
	CHECK(pwrite(fd, mid, 1, mid - buf) == 1);
	close(fd);

	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECKF(res.replayed == 2, "%s: replayed %lld", how, res.replayed);
	CHECKF(res.torn == 1, "%s: torn %lld", how, res.torn);
	if (CHECKF(s.n == 2, "%s: %d records", how, s.n)) {
		CHECK_STR(s.body[0], "first-record");
		CHECK_STR(s.id[0], "id-0");
		CHECK_STR(s.body[1], "third-record");
		CHECK_STR(s.id[1], "id-2");
		CHECK_INT(s.ms[1], 3);
		CHECK(s.legacy[1] == v1);
	}
	CHECK_INT(pending(sp), 0);
out:
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

static void
spool_should_skip_a_corrupted_record_in_the_middle(void)
{
	/* Format 1, before the body: id (4), idlen[2], received_ms[8],
	 * crc[4], len[4], magic[8]. */
	check_middle_damage(true, "v1: a flipped body byte", 0, 1);
	check_middle_damage(true, "v1: a flipped last body byte", -12, 1);
	check_middle_damage(true, "v1: a flipped request id byte", 2, 1);
	check_middle_damage(true, "v1: a flipped received_ms byte", 4 + 10,
	    1);
	check_middle_damage(true, "v1: a damaged magic", 4 + 26, 1);
	check_middle_damage(true, "v1: a damaged checksum", 4 + 10 + 1, 1);
	check_middle_damage(true, "v1: a length one too long", 4 + 10 + 8, 1);
	check_middle_damage(true, "v1: a length one too short", 4 + 10 + 8,
	    -1);
	check_middle_damage(true, "v1: a huge length", 4 + 10 + 5, 0x70);
	check_middle_damage(true, "v1: an id length past the limit",
	    4 + 2 - 1, 0x70);
	check_middle_damage(true, "v1: an id length past the record", 4 + 2,
	    0x40);
	/* Format 2, before the body: bodylen[4], siglen, tslen, id (4),
	 * idlen, received_ms[8], flags, crc[4], len[4], magic[8]. */
	check_middle_damage(false, "a flipped body byte", 0, 1);
	check_middle_damage(false, "a flipped last body byte", -12, 1);
	check_middle_damage(false, "a flipped body length", 4, 1);
	check_middle_damage(false, "a flipped signature length", 5, 1);
	check_middle_damage(false, "a flipped timestamp length", 6, 1);
	check_middle_damage(false, "a flipped request id byte", 8, 1);
	check_middle_damage(false, "an id length past the record", 11, 0x40);
	check_middle_damage(false, "a flipped received_ms byte", 12, 1);
	check_middle_damage(false, "the sealed flag set", 20, 1);
	check_middle_damage(false, "an unknown flag set", 20, 0x10);
	check_middle_damage(false, "a damaged checksum", 21, 1);
	check_middle_damage(false, "a length one too long", 28, 1);
	check_middle_damage(false, "a length one too short", 28, -1);
	check_middle_damage(false, "a huge length", 25, 0x70);
	check_middle_damage(false, "a damaged magic", 29, 1);
	/* The checksum covers the magic: no record reads as the other
	 * format. */
	check_middle_damage(false, "format 1's magic", 29, -1);
}

/* An appender whose file a drainer renamed away must start a new file,
 * never write into the one being drained. */
static void
spool_should_append_to_a_fresh_file_after_the_drainer_renamed_it(void)
{
	char dir[PATH_MAX], draining[PATH_MAX];
	struct spool_drain_result res;
	struct spool *writer, *drainer;
	struct seen s;
	long long before;

	make_dir(dir, sizeof(dir));
	writer = spool_new(dir, "web1", NULL, on_warn);
	/* A second handle, as another worker's drain would be. */
	drainer = spool_new(dir, "web2", NULL, on_warn);
	seen_init(&s);

	CHECK(append_range(writer, "a", 0, 3) == 0);      /* fd now open */
	s.fail_at = 1;          /* claim the file, replay one, stop */
	CHECK(drain(drainer, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) ==
	    0);
	CHECK_INT(res.replayed, 1);
	CHECK_INT(count_files(dir, ".spool", NULL, 0), 0);
	if (!CHECK_INT(count_files(dir, ".draining", draining,
	    sizeof(draining)), 1))
		goto out;
	before = file_size(draining);

	/* The writer still holds a descriptor on the renamed file. */
	CHECK(append_range(writer, "a", 3, 5) == 0);
	CHECK_INT(file_size(draining), before);
	CHECK_INT(count_files(dir, ".spool", NULL, 0), 1);
	CHECK_INT(pending(drainer), 4);

	s.fail_at = -1;
	CHECK(drain(drainer, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) ==
	    0);
	CHECK_INT(res.replayed, 4);
	CHECK_INT(s.n, 5);
	check_range(&s, 0, "a", 0, 5);

	/* Once more, after a complete drain removed the file. */
	CHECK(append_range(writer, "a", 5, 6) == 0);
	CHECK_INT(count_files(dir, ".spool", NULL, 0), 1);
	CHECK(drain(drainer, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) ==
	    0);
	CHECK_INT(s.n, 6);
	check_range(&s, 0, "a", 0, 6);

	/* And when the writer drains its own file. */
	CHECK(append_range(writer, "a", 6, 7) == 0);
	CHECK(drain(writer, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) ==
	    0);
	CHECK(append_range(writer, "a", 7, 8) == 0);
	CHECK_INT(pending(writer), 1);
	CHECK(drain(writer, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) ==
	    0);
	CHECK_INT(s.n, 8);
	check_range(&s, 0, "a", 0, 8);
out:
	seen_release(&s);
	spool_free(writer);
	spool_free(drainer);
	rm_dir(dir);
}

static void
spool_should_create_a_missing_directory(void)
{
	char dir[PATH_MAX], sub[PATH_MAX + 16];
	struct spool_drain_result res;
	struct spool *sp;
	struct stat st;
	struct seen s;

	make_dir(dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/spool", dir);
	sp = spool_new(sub, "web1", NULL, on_warn);
	seen_init(&s);
	/* Nothing is touched before the first append or drain. */
	CHECK(stat(sub, &st) != 0);
	CHECK_INT(pending(sp), 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK(append_range(sp, "r", 0, 1) == 0);
	if (CHECK(stat(sub, &st) == 0))
		CHECK_INT(st.st_mode & 0777, 0700);
	CHECK_INT(pending(sp), 1);
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

static void
spool_should_fail_append_when_the_directory_cannot_be_made(void)
{
	char dir[PATH_MAX], bad[PATH_MAX + 32], file[PATH_MAX + 16];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	int fd;

	make_dir(dir, sizeof(dir));
	seen_init(&s);

	/* The parent does not exist. */
	snprintf(bad, sizeof(bad), "%s/no/such/parent", dir);
	sp = spool_new(bad, "web1", NULL, on_warn);
	errno = 0;
	CHECK(app(sp, 1, "id", "body", 4) == -1);
	CHECK_INT(errno, ENOENT);
	CHECK(app(sp, 1, "id", "body", 4) == -1);
	CHECK_INT(pending(sp), 0);
	CHECK(!spool_has_pending(sp));
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	spool_free(sp);

	/* The "directory" is a file. */
	snprintf(file, sizeof(file), "%s/plain-file", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	sp = spool_new(file, "web1", NULL, on_warn);
	CHECK(app(sp, 1, "id", "body", 4) == -1);
	spool_free(sp);
	snprintf(bad, sizeof(bad), "%s/sub", file);
	sp = spool_new(bad, "web1", NULL, on_warn);
	errno = 0;
	CHECK(app(sp, 1, "id", "body", 4) == -1);
	CHECK_INT(errno, ENOTDIR);
	spool_free(sp);

	/* Not writable (root ignores modes, so only as another user). */
	if (geteuid() != 0) {
		snprintf(bad, sizeof(bad), "%s/ro", dir);
		if (CHECK(mkdir(bad, 0500) == 0)) {
			sp = spool_new(bad, "web1", NULL, on_warn);
			CHECK(app(sp, 1, "id", "body", 4) == -1);
			CHECK_INT(errno, EACCES);
			spool_free(sp);
			chmod(bad, 0700);
		}
	}
	rm_dir(dir);
}

/*
 * A body is bounded by the build's ZE_MAX_BODY_BYTES, never by the
 * configured max_body_bytes: records written under a larger setting must
 * still read back, whole, after it was lowered and the service restarted
 * (a fresh handle).
 */
static void
spool_should_refuse_a_body_larger_than_the_build_maximum(void)
{
	char dir[PATH_MAX], id[ZE_REQUEST_ID_MAX + 1];
	size_t sizes[] = { ZE_DEFAULT_MAX_BODY_BYTES + 1, 1024 * 1024,
		ZE_MAX_BODY_BYTES };
	struct spool_drain_result res;
	struct spool *sp, *later;
	struct seen s;
	char *body = malloc((size_t)ZE_MAX_BODY_BYTES + 1);

	if (body == NULL)
		abort();
	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	warnings_reset();
	for (size_t i = 0; i < (size_t)ZE_MAX_BODY_BYTES + 1; i++)
		body[i] = (char)('a' + i % 23);
	/* A full-length request id and a ZE_MAX_BODY_BYTES body fit; one
	 * more body byte does not. */
	memset(id, 'i', ZE_REQUEST_ID_MAX);
	id[ZE_REQUEST_ID_MAX] = '\0';
	CHECK(app(sp, 1, "", body, 100) == 0);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		CHECK(app(sp, 2 + (long long)k, id, body, sizes[k]) == 0);
	errno = 0;
	CHECK(app(sp, 1, id, body, (size_t)ZE_MAX_BODY_BYTES + 1) == -1);
	CHECK_INT(errno, EFBIG);
	spool_free(sp);

	later = spool_new(dir, "web1", NULL, on_warn);
	CHECK(drain(later, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.torn, 0);
	CHECK_INT(warnings, 0);
	if (CHECK_INT(s.n, 4)) {
		CHECK_INT(s.len[0], 100);
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			CHECK_INT(s.len[k + 1], sizes[k]);
			CHECK(memcmp(s.body[k + 1], body, sizes[k]) == 0);
			CHECK_STR(s.id[k + 1], id);
		}
	}
	seen_release(&s);
	spool_free(later);
	free(body);
	rm_dir(dir);
}

static void
spool_should_report_busy_while_another_drain_holds_the_lock(void)
{
	char dir[PATH_MAX], lock[PATH_MAX + 16];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	int fd;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	CHECK(append_range(sp, "r", 0, 2) == 0);
	snprintf(lock, sizeof(lock), "%s/.drain.lock", dir);
	fd = open(lock, O_RDWR | O_CREAT, 0600);
	if (CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0)) {
		CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS,
		    &res) == 0);
		CHECK_INT(res.busy, 1);
		CHECK_INT(res.replayed, 0);
		CHECK_INT(s.n, 0);
		close(fd);
	}
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.busy, 0);
	CHECK_INT(res.replayed, 2);
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/*
 * Each of nchild processes appends per records "c<k>-<i>" through shared
 * (NULL: its own spool, made after the fork), exiting with the number of
 * appends that failed.  With drain_meanwhile this process drains through
 * its own handle while they write, as another worker would.  Afterwards
 * every acknowledged record must have been replayed exactly once, in its
 * writer's order; returns the number of failed appends.
 */
static int
check_concurrent_appenders(struct spool *shared, const char *dir,
    int nchild, int per, bool drain_meanwhile)
{
	struct spool_drain_result res;
	struct spool *drainer;
	struct seen *s = calloc(1, sizeof(*s));
	pid_t pids[8];
	int last[8], count[8], failed[8];
	int running, status, bad = 0, drain_errors = 0, failures = 0;
	long long torn = 0;

	if (s == NULL || nchild > 8 || nchild * per > MAX_SEEN)
		abort();
	seen_init(s);
	drainer = spool_new(dir, "drainer", NULL, on_warn);
	for (int k = 0; k < nchild; k++) {
		last[k] = -1;
		count[k] = 0;
		failed[k] = 0;
		if ((pids[k] = fork()) < 0) {
			perror("fork");
			abort();
		}
		if (pids[k] == 0) {
			struct spool *sp = shared ? shared :
			    spool_new(dir, "w", NULL, NULL);
			char prefix[16];

			snprintf(prefix, sizeof(prefix), "c%d", k);
			_exit(append_range(sp, prefix, 0, per));
		}
	}
	running = nchild;
	while (running > 0) {
		if (drain_meanwhile) {
			if (drain(drainer, s, 50, ZE_DRAIN_BUDGET_MS,
			    &res) != 0)
				drain_errors++;
			torn += res.torn;
			usleep(1000);
		} else {
			usleep(10000);
		}
		for (int k = 0; k < nchild; k++) {
			if (pids[k] == 0 ||
			    waitpid(pids[k], &status, WNOHANG) != pids[k])
				continue;
			if (CHECKF(WIFEXITED(status), "writer %d died", k))
				failed[k] = WEXITSTATUS(status);
			failures += failed[k];
			pids[k] = 0;
			running--;
		}
	}
	do {
		if (drain(drainer, s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS,
		    &res) != 0)
			drain_errors++;
		torn += res.torn;
	} while (res.replayed > 0);

	CHECK_INT(drain_errors, 0);
	CHECK_INT(torn, 0);
	CHECK_INT(s->n, nchild * per - failures);
	CHECK_INT(pending(drainer), 0);
	CHECK_INT(count_files(dir, ".spool", NULL, 0) +
	    count_files(dir, ".draining", NULL, 0), 0);
	/* Each writer's records once each, in its order (a failed append
	 * leaves a gap, nothing else). */
	for (int i = 0; i < s->n; i++) {
		int k, seq;

		if (sscanf(s->body[i], "c%d-%d", &k, &seq) != 2 || k < 0 ||
		    k >= nchild || seq <= last[k] || seq >= per) {
			if (bad++ < 5)
				CHECKF(0, "record %d is \"%s\"", i,
				    s->body[i]);
			continue;
		}
		last[k] = seq;
		count[k]++;
	}
	CHECK_INT(bad, 0);
	for (int k = 0; k < nchild; k++)
		CHECKF(count[k] == per - failed[k], "writer %d: %d of %d "
		    "acknowledged records replayed", k, count[k],
		    per - failed[k]);
	seen_release(s);
	free(s);
	spool_free(drainer);
	return failures;
}

static void
spool_should_lose_nothing_with_two_processes_appending(void)
{
	char dir[PATH_MAX];

	make_dir(dir, sizeof(dir));
	CHECK_INT(check_concurrent_appenders(NULL, dir, 2, 200, false), 0);
	rm_dir(dir);
}

/* The same with a spool made before fork(), so that both writers append
 * to one file (one path, separate descriptors). */
static void
spool_should_lose_nothing_with_two_processes_sharing_a_file(void)
{
	char dir[PATH_MAX];
	struct spool *sp;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "shared", NULL, NULL);
	CHECK_INT(check_concurrent_appenders(sp, dir, 2, 200, false), 0);
	spool_free(sp);
	rm_dir(dir);
}

/*
 * Appending while another process drains: every append that succeeded is
 * replayed exactly once and in order.  An append may fail (EAGAIN after
 * lock_current()'s sixteen tries, when a drainer keeps renaming the file
 * under it); the caller then answers 503, so that is reported here but not
 * counted as a loss.
 */
static void
spool_should_replay_every_acknowledged_record_while_draining(void)
{
	char dir[PATH_MAX];
	struct spool *sp;
	int failures;

	make_dir(dir, sizeof(dir));
	failures = check_concurrent_appenders(NULL, dir, 2, 200, true);
	rm_dir(dir);
	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "shared", NULL, NULL);
	failures += check_concurrent_appenders(sp, dir, 2, 200, true);
	spool_free(sp);
	rm_dir(dir);
	if (failures > 0)
		fprintf(stderr, "note: %d of 800 appends failed while a drain "
		    "ran (not lost: the caller answers 503)\n", failures);
}


/*
 * A record whose checksum is sound but whose contents do not parse (a
 * writer's bug, or a forgery that fixed the checksum): only it is skipped,
 * and the walk goes on at its end.
 */
static void
check_malformed(const char *how, long at_from_body, int delta)
{
	char dir[PATH_MAX], file[PATH_MAX];
	unsigned char buf[4096], *mid;
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	ssize_t n;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	seen_init(&s);
	warnings_reset();
	CHECK(app(sp, 1, "id-0", "first-record", 12) == 0);
	CHECK(app(sp, 2, "id-1", "middle-record", 13) == 0);
	CHECK(app(sp, 3, "id-2", "third-record", 12) == 0);
	if (!CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1))
		goto out;
	n = read_file(file, buf, sizeof(buf));
	mid = n > 0 ? memmem(buf, (size_t)n, "middle-record", 13) : NULL;
	if (!CHECKF(mid != NULL, "%s: no middle record", how))
		goto out;
	mid[-at_from_body] = (unsigned char)(mid[-at_from_body] + delta);
	fix_crc(mid - V2_LEN(4, 0, 0, 0));
	CHECK(write_file(file, buf, (size_t)n) == 0);

	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECKF(res.replayed == 2, "%s: replayed %lld", how, res.replayed);
	CHECKF(res.torn == 1, "%s: torn %lld", how, res.torn);
	if (CHECKF(s.n == 2, "%s: %d records", how, s.n)) {
		CHECK_STR(s.body[0], "first-record");
		CHECK_STR(s.body[1], "third-record");
	}
	CHECK_CONTAINS(all_warnings, "malformed");
	CHECK_INT(count_files(dir, ".unopened", NULL, 0), 0);
out:
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

static void
spool_should_skip_a_sound_record_with_malformed_contents(void)
{
	check_malformed("a body length one too long", 4, 1);
	check_malformed("a body length one too short", 4, -1);
	check_malformed("a signature length of 1", 5, 1);
	check_malformed("a timestamp length of 1", 6, 1);
	check_malformed("a NUL in the request id", 8, -'-');
	check_malformed("an id length past the record", 11, 0x40);
	check_malformed("an id length past the limit", 11, 200);
	check_malformed("an unknown flag", 20, 0x10);
	check_malformed("the sealed flag on a short plain record", 20, 1);
}

/* Records of zoom_events 1.0 (format 1) in a spool left by an upgrade:
 * a live file and a claimed one with 1.0's progress file. */
static void
spool_should_replay_format_1_records_as_legacy(void)
{
	static const char binary[] = "{\"a\":\"x\0y\"}\xFF";
	char dir[PATH_MAX], path[PATH_MAX + 64], off[32];
	unsigned char buf[4096];
	struct spool_drain_result res;
	struct spool_status st;
	struct spool *sp;
	struct seen s;
	size_t len = 0, first;

	make_dir(dir, sizeof(dir));
	seen_init(&s);
	warnings_reset();
	first = v1_record(buf, 1700000000001LL, "old-0", "{\"n\":0}", 7);
	len = first;
	len += v1_record(buf + len, 1700000000002LL, "old-1", "{\"n\":1}", 7);
	len += v1_record(buf + len, 1700000000003LL, "old-2", "{\"n\":2}", 7);
	snprintf(path, sizeof(path), "%s/web0-5.spool.5.0.draining", dir);
	CHECK(write_file(path, buf, len) == 0);
	/* 1.0's progress: 20 digits, no fingerprint; old-0 was replayed. */
	snprintf(off, sizeof(off), "%020zu", first);
	snprintf(path, sizeof(path), "%s/web0-5.spool.5.0.draining.off", dir);
	CHECK(write_file(path, off, strlen(off)) == 0);
	len = v1_record(buf, 1700000000000LL, "old-3", binary,
	    sizeof(binary) - 1);
	len += v1_record(buf + len, 0, "", "", 0);
	snprintf(path, sizeof(path), "%s/web0-77.spool", dir);
	CHECK(write_file(path, buf, len) == 0);

	/* The new version, with a key: plain and old records still read. */
	sp = spool_new(dir, "web1", key_a, on_warn);
	CHECK(app(sp, 1700000000009LL, "new-0", "{\"n\":9}", 7) == 0);
	CHECK(spool_status(sp, &st) == 0);
	CHECK_INT(st.pending, 5);
	CHECK_INT(st.oldest_ms, 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 5);
	CHECK_INT(res.torn, 0);
	CHECK_INT(warnings, 0);
	if (CHECK_INT(s.n, 5)) {
		/* The leftover goes first, from its saved offset. */
		CHECK_STR(s.id[0], "old-1");
		CHECK_STR(s.body[0], "{\"n\":1}");
		CHECK_INT(s.ms[0], 1700000000002LL);
		CHECK_STR(s.id[1], "old-2");
		for (int i = 0; i < 5; i++) {
			bool old = strncmp(s.id[i], "new", 3) != 0;

			CHECK(s.legacy[i] == old);
			CHECK_STR(s.ts[i], "");
			CHECK_STR(s.sig[i], "");
		}
		for (int i = 2; i < 5; i++) {
			if (strcmp(s.id[i], "old-3") == 0) {
				CHECK_INT(s.len[i], sizeof(binary) - 1);
				CHECK(memcmp(s.body[i], binary,
				    sizeof(binary) - 1) == 0);
				CHECK_INT(s.ms[i], 1700000000000LL);
			} else if (strcmp(s.id[i], "") == 0) {
				CHECK_INT(s.len[i], 0);
				CHECK_INT(s.ms[i], 0);
			} else {
				CHECK_STR(s.id[i], "new-0");
				CHECK_STR(s.body[i], "{\"n\":9}");
			}
		}
	}
	CHECK_INT(pending(sp), 0);
	CHECK_INT(count_files(dir, ".draining", NULL, 0) +
	    count_files(dir, ".off", NULL, 0) +
	    count_files(dir, ".spool", NULL, 0), 0);
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/* The signature headers come back as they went in, at full length too,
 * plain and sealed. */
static void
spool_should_round_trip_the_signature_headers(void)
{
	char dir[PATH_MAX];
	struct spool_record r[3];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;

	memset(r, 0, sizeof(r));
	snprintf(r[0].request_id, sizeof(r[0].request_id), "req-0");
	snprintf(r[0].sig_ts, sizeof(r[0].sig_ts), "1700000000");
	snprintf(r[0].signature, sizeof(r[0].signature), "v0=%064d", 7);
	r[0].body = "{}";
	r[0].len = 2;
	memset(r[1].sig_ts, '9', ZE_SIG_TS_MAX);
	memset(r[1].signature, 'f', ZE_SIGNATURE_MAX);
	memset(r[1].request_id, 'r', ZE_REQUEST_ID_MAX);
	r[1].body = "x";
	r[1].len = 1;
	r[2].received_ms = 5;
	/* A redacted body's name beside it: empty, the longest, UTF-8. */
	static char longest[SPOOL_NAME_MAX];
	memset(longest, 'n', sizeof(longest));
	r[0].name = "Ann \xc3\x96z";
	r[0].name_len = 7;
	r[1].name = longest;
	r[1].name_len = sizeof(longest);
	for (int k = 0; k < 2; k++) {
		make_dir(dir, sizeof(dir));
		seen_init(&s);
		sp = spool_new(dir, "web1", k ? key_a : NULL, on_warn);
		CHECK(spool_append(sp, r, 3) == 0);
		CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS,
		    &res) == 0);
		CHECK_INT(res.torn, 0);
		if (CHECK_INT(s.n, 3)) {
			for (int i = 0; i < 3; i++) {
				CHECK_STR(s.id[i], r[i].request_id);
				CHECK_STR(s.ts[i], r[i].sig_ts);
				CHECK_STR(s.sig[i], r[i].signature);
				CHECK(!s.legacy[i]);
				CHECK_INT(s.len[i], r[i].len);
			}
			CHECK_INT(strlen(s.sig[1]), ZE_SIGNATURE_MAX);
			CHECK_INT(strlen(s.ts[1]), ZE_SIG_TS_MAX);
			CHECK_INT(s.ms[2], 5);
			CHECK(s.name[0] != NULL &&
			    strcmp(s.name[0], "Ann \xc3\x96z") == 0);
			CHECK(s.name[1] != NULL &&
			    strlen(s.name[1]) == SPOOL_NAME_MAX);
			CHECK(s.name[2] == NULL);
		}
		seen_release(&s);
		spool_free(sp);
		rm_dir(dir);
	}
	/* A name too long or with a NUL is refused whole, nothing written. */
	static char too_long[SPOOL_NAME_MAX + 1];
	struct spool_status st;
	memset(too_long, 'n', sizeof(too_long));
	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	r[0].name = too_long;
	r[0].name_len = sizeof(too_long);
	errno = 0;
	CHECK(spool_append(sp, r, 1) == -1);
	CHECK_INT(errno, EINVAL);
	r[0].name = "a\0b";
	r[0].name_len = 3;
	errno = 0;
	CHECK(spool_append(sp, r, 1) == -1);
	CHECK_INT(errno, EINVAL);
	CHECK(spool_status(sp, &st) == 0);
	CHECK_INT(st.pending, 0);
	spool_free(sp);
	rm_dir(dir);
}

/* With a key, nothing of a record but its time is readable on disk, and a
 * handle with the key reads it back; plain records written before the key
 * was set still replay. */
static void
spool_should_seal_records_and_open_them_with_the_key(void)
{
	char dir[PATH_MAX], file[PATH_MAX];
	unsigned char buf[8192];
	struct spool_drain_result res;
	struct spool_record r = { .received_ms = 1700000000123LL,
		.body = "{\"secret-body\":1}", .len = 17 };
	struct spool_status st;
	struct spool *sp, *plain, *reader;
	struct seen s;
	ssize_t n;

	make_dir(dir, sizeof(dir));
	seen_init(&s);
	warnings_reset();
	snprintf(r.request_id, sizeof(r.request_id), "req-secret");
	snprintf(r.sig_ts, sizeof(r.sig_ts), "1700000000");
	snprintf(r.signature, sizeof(r.signature), "v0=secretsig");
	sp = spool_new(dir, "web1", key_a, on_warn);
	CHECK(spool_append(sp, &r, 1) == 0);
	CHECK(spool_append(sp, &r, 1) == 0);
	if (CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1)) {
		n = read_file(file, buf, sizeof(buf));
		CHECK(n > 0);
		CHECK(memmem(buf, (size_t)n, "secret", 6) == NULL);
		CHECK(memmem(buf, (size_t)n, "1700000000", 10) == NULL);
		/* Two records of the same content differ (fresh nonces). */
		CHECK(n > 0 && n % 2 == 0 && memcmp(buf + 16, buf + n / 2 + 16,
		    (size_t)n / 2 - 16) != 0);
	}
	CHECK(spool_status(sp, &st) == 0);
	CHECK_INT(st.pending, 2);
	CHECK_INT(st.oldest_ms, 1700000000123LL);

	plain = spool_new(dir, "web0", NULL, on_warn);
	CHECK(app(plain, 1, "req-plain", "plain", 5) == 0);
	reader = spool_new(dir, "web2", key_a, on_warn);
	CHECK(drain(reader, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) ==
	    0);
	CHECK_INT(res.replayed, 3);
	CHECK_INT(res.torn, 0);
	CHECK_INT(warnings, 0);
	CHECK_INT(s.n, 3);
	for (int i = 0; i < s.n; i++) {
		if (strcmp(s.id[i], "req-plain") == 0) {
			CHECK_STR(s.body[i], "plain");
			continue;
		}
		CHECK_STR(s.id[i], "req-secret");
		CHECK_STR(s.body[i], "{\"secret-body\":1}");
		CHECK_STR(s.ts[i], "1700000000");
		CHECK_STR(s.sig[i], "v0=secretsig");
		CHECK_INT(s.ms[i], 1700000000123LL);
		CHECK(!s.legacy[i]);
	}
	seen_release(&s);
	spool_free(sp);
	spool_free(plain);
	spool_free(reader);
	rm_dir(dir);
}

/* Damage a sealed record's byte at at_from_end (counted back from its
 * end; 1 is the tag's last byte) or at from its start, and fix the
 * checksum: only the key can tell, and the record is kept aside. */
static void
check_forged(const char *how, long at, long at_from_end)
{
	char dir[PATH_MAX], file[PATH_MAX];
	unsigned char buf[8192], *rec;
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	size_t reclen;
	ssize_t n;

	make_dir(dir, sizeof(dir));
	seen_init(&s);
	warnings_reset();
	sp = spool_new(dir, "web1", key_a, on_warn);
	CHECK(append_range(sp, "s", 0, 3) == 0);
	if (!CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1))
		goto out;
	n = read_file(file, buf, sizeof(buf));
	reclen = (size_t)n / 3;
	rec = buf + reclen;
	if (at_from_end > 0)
		rec[reclen - (size_t)at_from_end] ^= 0x01;
	else
		rec[at] ^= 0x01;
	fix_crc(rec);
	CHECK(write_file(file, buf, (size_t)n) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECKF(res.replayed == 2 && res.torn == 1, "%s: replayed %lld, torn "
	    "%lld", how, res.replayed, res.torn);
	if (CHECK_INT(s.n, 2)) {
		CHECK_STR(s.body[0], "s-000");
		CHECK_STR(s.body[1], "s-002");
	}
	CHECK_CONTAINS(all_warnings, "does not open");
	CHECK_INT(count_files(dir, ".unopened", NULL, 0), 1);
out:
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/*
 * Sealed records that do not open (another key, no key, forged) are
 * damaged: counted, reported, never replayed, and kept in a .unopened
 * file that replays once renamed to *.spool under the right key.
 */
static void
spool_should_skip_and_keep_records_sealed_with_another_key(void)
{
	char dir[PATH_MAX], path[PATH_MAX], to[PATH_MAX + 16];
	struct spool_drain_result res;
	struct spool *writer, *plain, *other, *nokey, *right;
	struct seen s;

	make_dir(dir, sizeof(dir));
	seen_init(&s);
	warnings_reset();
	writer = spool_new(dir, "web1", key_a, on_warn);
	plain = spool_new(dir, "web0", NULL, on_warn);
	other = spool_new(dir, "web2", key_b, on_warn);
	nokey = spool_new(dir, "web3", NULL, on_warn);
	right = spool_new(dir, "web4", key_a, on_warn);
	CHECK(append_range(writer, "s", 0, 3) == 0);
	CHECK(app(plain, 1, "p", "plain", 5) == 0);
	CHECK(drain(other, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 1);
	CHECK_INT(res.torn, 3);
	if (CHECK_INT(s.n, 1))
		CHECK_STR(s.body[0], "plain");
	CHECK_CONTAINS(last_warning, "kept in");
	CHECK_CONTAINS(all_warnings, "damaged record");
	CHECK_CONTAINS(all_warnings, "does not open with the spool key");
	CHECK_INT(count_files(dir, ".spool", NULL, 0) +
	    count_files(dir, ".draining", NULL, 0), 0);
	CHECK_INT(pending(other), 0);
	CHECK_INT(count_files(dir, ".unopened", NULL, 0), 1);

	/* Without a key at all. */
	CHECK(append_range(writer, "s", 3, 5) == 0);
	CHECK(drain(nokey, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK_INT(res.torn, 2);
	CHECK_CONTAINS(all_warnings, "does not open with no key");
	CHECK_INT(count_files(dir, ".unopened", NULL, 0), 2);

	/* The way back: each kept file, renamed to *.spool, replays under
	 * the right key. */
	while (count_files(dir, ".unopened", path, sizeof(path)) > 0) {
		snprintf(to, sizeof(to), "%s.spool", path);
		CHECK(rename(path, to) == 0);
	}
	seen_release(&s);
	CHECK(drain(right, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 5);
	CHECK_INT(res.torn, 0);
	CHECK_INT(s.n, 5);
	CHECK_INT(count_files(dir, ".unopened", NULL, 0), 0);
	seen_release(&s);
	spool_free(writer);
	spool_free(plain);
	spool_free(other);
	spool_free(nokey);
	spool_free(right);
	rm_dir(dir);

	check_forged("a changed tag byte", 0, 1);
	check_forged("a changed ciphertext byte", 0, 17);
	check_forged("a changed nonce byte", 16 + 9, 0);
	/* received_ms is in the clear but authenticated. */
	check_forged("a changed received_ms", 16 + 1, 0);
}

/* A batch is one write: all of it is acknowledged, or none of it stays. */
static void
spool_should_append_a_batch_all_or_nothing(void)
{
	char dir[PATH_MAX], file[PATH_MAX], bodies[5][16];
	struct spool_record r[5];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	long long size;
	pid_t pid;
	int status = -1;

	make_dir(dir, sizeof(dir));
	seen_init(&s);
	sp = spool_new(dir, "web1", NULL, on_warn);
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 5; i++) {
		snprintf(bodies[i], sizeof(bodies[i]), "b-%03d", i);
		snprintf(r[i].request_id, sizeof(r[i].request_id), "req-%d", i);
		r[i].body = bodies[i];
		r[i].len = strlen(bodies[i]);
	}
	CHECK(spool_append(sp, r, 0) == 0);
	CHECK_INT(count_files(dir, ".spool", NULL, 0), 0);
	CHECK(spool_append(sp, r, 5) == 0);
	CHECK_INT(pending(sp), 5);
	if (!CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1))
		goto out;
	size = file_size(file);
	CHECK_INT(size, 5 * V2_LEN(5, 0, 0, 5));

	/* A record that cannot be stored fails the batch before any
	 * write. */
	r[1].len = (size_t)ZE_MAX_BODY_BYTES + 1;
	errno = 0;
	CHECK(spool_append(sp, r, 5) == -1);
	CHECK_INT(errno, EFBIG);
	r[1].len = 5;
	r[2].body = NULL;
	errno = 0;
	CHECK(spool_append(sp, r, 5) == -1);
	CHECK_INT(errno, EINVAL);
	r[2].body = bodies[2];
	CHECK_INT(file_size(file), size);

	/* A write cut short (the file size limit here; a full disk
	 * alike): the part that was written is cut off again. */
	if ((pid = fork()) == 0) {
		struct rlimit rl = { (rlim_t)size + 50, (rlim_t)size + 50 };
		int rc;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		rc = spool_append(sp, r, 5);
		_exit(rc == -1 && errno == EFBIG ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(file_size(file), size);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.torn, 0);
	CHECK_INT(s.n, 5);
	check_range(&s, 0, "b", 0, 5);
out:
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/* A full disk: appends fail with ENOSPC, leave nothing partial, and
 * every acknowledged record replays.  Needs root for a small tmpfs. */
static void
spool_should_fail_cleanly_on_a_full_disk(void)
{
	char dir[PATH_MAX], sub[PATH_MAX + 8], file[PATH_MAX];
	char body[1500];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	int ok = 0, rc = 0, e = 0;

	make_dir(dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/small", dir);
	if (geteuid() != 0 || mkdir(sub, 0700) != 0 ||
	    mount("tmpfs", sub, "tmpfs", 0, "size=64k,mode=0700") != 0) {
		fprintf(stderr, "note: full-disk test skipped (needs root "
		    "and tmpfs)\n");
		rm_dir(dir);
		return;
	}
	seen_init(&s);
	sp = spool_new(sub, "web1", NULL, on_warn);
	memset(body, 'f', sizeof(body));
	for (int i = 0; i < 200 && rc == 0; i++) {
		if ((rc = app(sp, i, "req", body, sizeof(body))) == 0)
			ok++;
		else
			e = errno;
	}
	CHECK_INT(rc, -1);
	CHECK_INT(e, ENOSPC);
	CHECK(ok > 10);
	if (CHECK_INT(count_files(sub, ".spool", file, sizeof(file)), 1))
		CHECK_INT(file_size(file), ok * V2_LEN(3, 0, 0,
		    (long long)sizeof(body)));
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, ok);
	CHECK_INT(res.torn, 0);
	seen_release(&s);
	spool_free(sp);
	CHECK(umount(sub) == 0);
	rm_dir(dir);
}

struct appender {
	struct spool *sp;
	int k, per, failed;
};

/* Append "t<k>-<i>" for i < per, in batches of 1 to 3. */
static void *
append_thread(void *arg)
{
	struct appender *a = arg;
	struct spool_record r[3];
	char bodies[3][32];
	int i = 0;

	memset(r, 0, sizeof(r));
	while (i < a->per) {
		int n = 1 + (a->k + i) % 3;

		if (n > a->per - i)
			n = a->per - i;
		for (int j = 0; j < n; j++) {
			snprintf(bodies[j], sizeof(bodies[j]), "t%d-%03d",
			    a->k, i + j);
			r[j].body = bodies[j];
			r[j].len = strlen(bodies[j]);
		}
		if (spool_append(a->sp, r, (size_t)n) != 0)
			a->failed += n;
		i += n;
	}
	return NULL;
}

/* Threads of one process append through one handle while another
 * drains: every record once, in each thread's order. */
static void
spool_should_lose_nothing_with_threads_appending(void)
{
	enum { NTHREADS = 4, PER = 200 };
	char dir[PATH_MAX];
	struct appender a[NTHREADS];
	pthread_t tid[NTHREADS];
	struct spool_drain_result res;
	struct spool *sp, *drainer;
	struct seen *s = calloc(1, sizeof(*s));
	int last[NTHREADS], count[NTHREADS], failed = 0, bad = 0;
	long long torn = 0;

	if (s == NULL)
		abort();
	make_dir(dir, sizeof(dir));
	seen_init(s);
	sp = spool_new(dir, "web1", key_a, on_warn);
	drainer = spool_new(dir, "web2", key_a, on_warn);
	for (int k = 0; k < NTHREADS; k++) {
		a[k] = (struct appender){ sp, k, PER, 0 };
		last[k] = -1;
		count[k] = 0;
		if (pthread_create(&tid[k], NULL, append_thread, &a[k]) != 0)
			abort();
	}
	for (int i = 0; i < 20; i++) {
		CHECK(drain(drainer, s, 25, ZE_DRAIN_BUDGET_MS, &res) == 0);
		torn += res.torn;
		usleep(2000);
	}
	for (int k = 0; k < NTHREADS; k++) {
		pthread_join(tid[k], NULL);
		failed += a[k].failed;
	}
	do {
		CHECK(drain(drainer, s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS,
		    &res) == 0);
		torn += res.torn;
	} while (res.replayed > 0);
	CHECK_INT(failed, 0);
	CHECK_INT(torn, 0);
	CHECK_INT(s->n, NTHREADS * PER);
	for (int i = 0; i < s->n; i++) {
		int k, seq;

		if (sscanf(s->body[i], "t%d-%d", &k, &seq) != 2 || k < 0 ||
		    k >= NTHREADS || seq <= last[k]) {
			if (bad++ < 5)
				CHECKF(0, "record %d is \"%s\"", i,
				    s->body[i]);
			continue;
		}
		last[k] = seq;
		count[k]++;
	}
	CHECK_INT(bad, 0);
	for (int k = 0; k < NTHREADS; k++)
		CHECK_INT(count[k], PER);
	seen_release(s);
	free(s);
	spool_free(sp);
	spool_free(drainer);
	rm_dir(dir);
}

/*
 * spool_status() reads live files that their appender may cut at any
 * moment (a failed append's ftruncate): it must never fault (a mapping
 * would SIGBUS).  A child appends and cuts for a while; this process
 * counts meanwhile.
 */
static void
spool_status_should_survive_files_cut_meanwhile(void)
{
	char dir[PATH_MAX];
	struct spool_status st;
	struct spool *sp;
	int status = -1, rounds = 0, w;
	pid_t pid;

	make_dir(dir, sizeof(dir));
	if ((pid = fork()) == 0) {
		struct spool *c = spool_new(dir, "cut", NULL, NULL);
		char path[PATH_MAX + 64], body[3000];

		memset(body, 'c', sizeof(body));
		snprintf(path, sizeof(path), "%s/cut-%ld.spool", dir,
		    (long)getpid());
		for (int i = 0; i < 300; i++) {
			for (int j = 0; j < 4; j++)
				(void)app(c, i, "cut", body,
				    100 + (size_t)(i * 37 + j * 11) % 2900);
			if (truncate(path, i % 7 == 0 ? 0 :
			    file_size(path) / (2 + i % 3)) != 0)
				_exit(1);
		}
		_exit(0);
	}
	sp = spool_new(dir, "web1", NULL, on_warn);
	while ((w = waitpid(pid, &status, WNOHANG)) == 0) {
		(void)spool_status(sp, &st);
		(void)spool_has_pending(sp);
		rounds++;
	}
	CHECK(w == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(rounds > 0);
	spool_free(sp);
	rm_dir(dir);
}

/* spool_status() counts what waits, and the oldest record, from a
 * drain's saved progress on. */
static void
spool_status_should_report_the_oldest_record(void)
{
	char dir[PATH_MAX];
	long long ms[] = { 500, 300, 400, 600 };
	struct spool_drain_result res;
	struct spool_status st;
	struct spool *sp, *other;
	struct seen s;

	make_dir(dir, sizeof(dir));
	seen_init(&s);
	sp = spool_new(dir, "web1", NULL, on_warn);
	CHECK(spool_status(sp, &st) == 0);
	CHECK_INT(st.pending, 0);
	CHECK_INT(st.oldest_ms, 0);
	for (int i = 0; i < 4; i++)
		CHECK(app(sp, ms[i], "r", "x", 1) == 0);
	CHECK(spool_status(sp, &st) == 0);
	CHECK_INT(st.pending, 4);
	CHECK_INT(st.oldest_ms, 300);
	CHECK(drain(sp, &s, 2, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK(spool_status(sp, &st) == 0);
	CHECK_INT(st.pending, 2);
	CHECK_INT(st.oldest_ms, 400);
	/* Another process's sealed file: its time is in the clear. */
	other = spool_new(dir, "web2", key_b, on_warn);
	CHECK(app(other, 100, "r", "y", 1) == 0);
	CHECK(spool_status(sp, &st) == 0);
	CHECK_INT(st.pending, 3);
	CHECK_INT(st.oldest_ms, 100);
	seen_release(&s);
	spool_free(sp);
	spool_free(other);
	rm_dir(dir);
}

static bool
is_symlink(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* The content of path is exactly want. */
static void
check_content(const char *path, const char *want)
{
	char buf[256];
	ssize_t n = read_file(path, buf, sizeof(buf) - 1);

	if (CHECKF(n >= 0, "%s unreadable", path)) {
		buf[n] = '\0';
		CHECK_STR(buf, want);
	}
}

/*
 * Nothing planted in the spool directory is followed: a symlink as our
 * own spool file, as another spool file, as a claimed file, as its
 * progress file or as the drain lock; a hard link; a FIFO.  Each is
 * refused (and reported), and its target neither read nor written.
 */
static void
spool_should_not_follow_planted_links(void)
{
	char dir[PATH_MAX], out[PATH_MAX], target[PATH_MAX + 16];
	char lnk[PATH_MAX + 64], path[PATH_MAX + 64], off[PATH_MAX + 80];
	unsigned char buf[512];
	struct spool_drain_result res;
	struct spool_status st;
	struct spool *sp;
	struct seen s;
	size_t len;

	make_dir(dir, sizeof(dir));
	make_dir(out, sizeof(out));
	seen_init(&s);
	warnings_reset();
	sp = spool_new(dir, "web1", NULL, on_warn);

	/* Our own file's name. */
	snprintf(target, sizeof(target), "%s/precious", out);
	CHECK(write_file(target, "precious", 8) == 0);
	snprintf(lnk, sizeof(lnk), "%s/web1-%ld.spool", dir, (long)getpid());
	CHECK(symlink(target, lnk) == 0);
	errno = 0;
	CHECK(app(sp, 1, "id", "body", 4) == -1);
	CHECK_INT(errno, EPERM);
	CHECK_CONTAINS(last_warning, "refused");
	check_content(target, "precious");
	CHECK(unlink(lnk) == 0);

	/* Another spool file, and a claimed one, pointing at records. */
	len = v1_record(buf, 1, "planted", "{}", 2);
	snprintf(target, sizeof(target), "%s/records", out);
	CHECK(write_file(target, buf, len) == 0);
	snprintf(lnk, sizeof(lnk), "%s/evil.spool", dir);
	CHECK(symlink(target, lnk) == 0);
	snprintf(path, sizeof(path), "%s/evil.spool.1-0.draining", dir);
	CHECK(symlink(target, path) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == -1);
	CHECK_INT(res.replayed, 0);
	CHECK_INT(s.n, 0);
	CHECK(spool_status(sp, &st) == -1);
	CHECK(is_symlink(lnk) && is_symlink(path));
	CHECK_INT(file_size(target), (long long)len);
	CHECK(unlink(lnk) == 0 && unlink(path) == 0);

	/* A claimed file whose progress file is a symlink. */
	snprintf(path, sizeof(path), "%s/y.spool.1-0.draining", dir);
	CHECK(write_file(path, buf, len) == 0);
	snprintf(target, sizeof(target), "%s/offset", out);
	CHECK(write_file(target, "untouched", 9) == 0);
	snprintf(off, sizeof(off), "%s.off", path);
	CHECK(symlink(target, off) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == -1);
	CHECK_INT(s.n, 0);
	check_content(target, "untouched");
	CHECK(unlink(off) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(s.n, 1);

	/* The drain lock, dangling and not. */
	snprintf(lnk, sizeof(lnk), "%s/.drain.lock", dir);
	(void)unlink(lnk);
	snprintf(target, sizeof(target), "%s/lock", out);
	CHECK(symlink(target, lnk) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == -1);
	CHECK(access(target, F_OK) != 0);
	CHECK(write_file(target, "lock", 4) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == -1);
	check_content(target, "lock");
	CHECK(unlink(lnk) == 0);

	/* A second name for our file. */
	CHECK(app(sp, 1, "id", "body", 4) == 0);
	snprintf(path, sizeof(path), "%s/web1-%ld.spool", dir, (long)getpid());
	snprintf(lnk, sizeof(lnk), "%s/hardlink", dir);
	CHECK(link(path, lnk) == 0);
	errno = 0;
	CHECK(app(sp, 2, "id", "body", 4) == -1);
	CHECK_INT(errno, EPERM);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == -1);
	CHECK_INT(file_size(path), V2_LEN(2, 0, 0, 4));
	CHECK(unlink(lnk) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 1);

	/* A FIFO: refused without blocking. */
	snprintf(path, sizeof(path), "%s/pipe.spool", dir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == -1);
	CHECK(spool_status(sp, &st) == -1);
	CHECK(unlink(path) == 0);
	CHECK(spool_status(sp, &st) == 0);

	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
	rm_dir(out);
}

/* spool_check_dir(): a real directory of ours that nobody else writes;
 * a missing one is made.  The spool itself refuses an unfit one. */
static void
spool_check_dir_should_refuse_unfit_directories(void)
{
	char base[PATH_MAX], dir[PATH_MAX + 16], err[PATH_MAX + 128];
	struct spool_drain_result res;
	struct spool_status st;
	struct spool *sp;
	struct stat sb;
	struct seen s;

	make_dir(base, sizeof(base));
	seen_init(&s);
	warnings_reset();
	snprintf(dir, sizeof(dir), "%s/new", base);
	CHECK(spool_check_dir(dir, err, sizeof(err)) == 0);
	if (CHECK(lstat(dir, &sb) == 0))
		CHECK_INT(sb.st_mode & 07777, 0700);
	CHECK(spool_check_dir(dir, err, sizeof(err)) == 0);
	CHECK(chmod(dir, 0755) == 0);
	CHECK(spool_check_dir(dir, err, sizeof(err)) == 0);

	sp = spool_new(dir, "web1", NULL, on_warn);
	CHECK(app(sp, 1, "id", "body", 4) == 0);
	CHECK(chmod(dir, 0777) == 0);
	CHECK(spool_check_dir(dir, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "writable by group or others");
	errno = 0;
	CHECK(app(sp, 2, "id", "body", 4) == -1);
	CHECK_INT(errno, EPERM);
	CHECK_CONTAINS(last_warning, "writable by group or others");
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == -1);
	CHECK_INT(s.n, 0);
	CHECK(spool_status(sp, &st) == -1);
	CHECK(!spool_has_pending(sp));
	CHECK(chmod(dir, 0730) == 0);
	CHECK(spool_check_dir(dir, err, sizeof(err)) == -1);
	/* Fixed: the spool recovers by itself. */
	CHECK(chmod(dir, 0700) == 0);
	CHECK(app(sp, 3, "id", "body", 4) == 0);
	CHECK_INT(pending(sp), 2);
	spool_free(sp);

	/* A symlink to a good directory. */
	snprintf(err, sizeof(err), "%s/link", base);
	CHECK(symlink(dir, err) == 0);
	snprintf(dir, sizeof(dir), "%s/link", base);
	CHECK(spool_check_dir(dir, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "symlink");
	sp = spool_new(dir, "web1", NULL, on_warn);
	errno = 0;
	CHECK(app(sp, 2, "id", "body", 4) == -1);
	CHECK_INT(errno, EPERM);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == -1);
	spool_free(sp);

	/* A file. */
	snprintf(dir, sizeof(dir), "%s/file", base);
	CHECK(write_file(dir, "x", 1) == 0);
	CHECK(spool_check_dir(dir, err, sizeof(err)) == -1);

	/* Another user's (only root can make one). */
	snprintf(dir, sizeof(dir), "%s/foreign", base);
	if (geteuid() == 0 && CHECK(mkdir(dir, 0700) == 0) &&
	    CHECK(chown(dir, 65534, 65534) == 0)) {
		CHECK(spool_check_dir(dir, err, sizeof(err)) == -1);
		CHECK_CONTAINS(err, "not owned by this user");
		sp = spool_new(dir, "web1", NULL, on_warn);
		CHECK(app(sp, 2, "id", "body", 4) == -1);
		CHECK_INT(count_files(dir, ".spool", NULL, 0), 0);
		spool_free(sp);
	} else if (geteuid() != 0) {
		fprintf(stderr, "note: foreign-owner case skipped (needs "
		    "root)\n");
	}
	seen_release(&s);
	rm_dir(base);
}

/* A directory replaced under a running spool: appends go to the new one
 * (the drainers' directory), not on into the old inode. */
static void
spool_should_follow_a_replaced_directory(void)
{
	char base[PATH_MAX], dir[PATH_MAX + 16], old[PATH_MAX + 16];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;

	make_dir(base, sizeof(base));
	seen_init(&s);
	snprintf(dir, sizeof(dir), "%s/spool", base);
	snprintf(old, sizeof(old), "%s/spool.old", base);
	sp = spool_new(dir, "web1", NULL, on_warn);
	CHECK(append_range(sp, "a", 0, 1) == 0);
	CHECK(rename(dir, old) == 0);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(append_range(sp, "b", 0, 2) == 0);
	CHECK_INT(count_files(dir, ".spool", NULL, 0), 1);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(s.n, 2);
	check_range(&s, 0, "b", 0, 2);
	CHECK_INT(count_files(old, ".spool", NULL, 0), 1);
	seen_release(&s);
	spool_free(sp);
	rm_dir(base);
}

/* Claimed names differ every time, even for one spool file name whose
 * inode number comes back: NAME.INODE-RANDOM.draining. */
static void
spool_should_give_each_claim_a_unique_name(void)
{
	char dir[PATH_MAX], names[4][PATH_MAX], prefix[64];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;

	make_dir(dir, sizeof(dir));
	seen_init(&s);
	sp = spool_new(dir, "web1", NULL, on_warn);
	snprintf(prefix, sizeof(prefix), "/web1-%ld.spool.", (long)getpid());
	for (int i = 0; i < 4; i++) {
		unsigned long long ino;
		char hex[17], *p;
		struct stat st;

		CHECK(append_range(sp, "u", i, i + 1) == 0);
		s.fail_at = s.calls;    /* claim, replay nothing */
		CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS,
		    &res) == 0);
		if (!CHECK_INT(count_files(dir, ".draining", names[i],
		    sizeof(names[i])), 1))
			break;
		CHECK_CONTAINS(names[i], prefix);
		p = strstr(names[i], prefix);
		if (p != NULL && CHECK(sscanf(p + strlen(prefix),
		    "%llu-%16[0-9a-f].draining", &ino, hex) == 2) &&
		    CHECK(stat(names[i], &st) == 0))
			CHECK_INT(ino, st.st_ino);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(names[i], names[j]) != 0);
		s.fail_at = -1;
		CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS,
		    &res) == 0);
	}
	CHECK_INT(s.n, 4);
	check_range(&s, 0, "u", 0, 4);
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/*
 * A progress file that outlived its data file must not skip records of a
 * later file: neither one named as zoom_events 1.0 named claims
 * (NAME.PID.SEQ, the same again after a reboot), nor one with the very
 * same name as the later file (its fingerprint tells them apart).
 */
static void
spool_should_not_apply_a_stale_off_to_a_later_file(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], text[64];
	const char *name = "z.spool.1-0000000000000001.draining";
	unsigned char head[16];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	unsigned long fp;

	make_dir(dir, sizeof(dir));
	seen_init(&s);
	warnings_reset();
	sp = spool_new(dir, "web1", NULL, on_warn);
	for (int seq = 0; seq < 4; seq++) {
		snprintf(path, sizeof(path), "%s/web1-%ld.spool.%ld.%d."
		    "draining.off", dir, (long)getpid(), (long)getpid(), seq);
		CHECK(write_file(path, "00000000000000000042", 20) == 0);
	}
	CHECK(append_range(sp, "r", 0, 3) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(s.n, 3);
	check_range(&s, 0, "r", 0, 3);
	CHECK_INT(count_files(dir, ".off", NULL, 0), 0);

	/* An earlier file A under the very name, drained... */
	seen_release(&s);
	CHECK(append_range(sp, "a", 0, 3) == 0);
	CHECK(rename_spool(dir, name, path, sizeof(path)) == 0);
	CHECK(read_file(path, head, sizeof(head)) == (ssize_t)sizeof(head));
	fp = get_le32(head + 12);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	/* ...and a later one B of the same name, with A's progress after
	 * its first record (records of the same size). */
	CHECK(append_range(sp, "b", 0, 3) == 0);
	CHECK(rename_spool(dir, name, path, sizeof(path)) == 0);
	snprintf(text, sizeof(text), "%020d %08lx\n", V2_LEN(5, 0, 0, 5), fp);
	snprintf(path, sizeof(path), "%s/%s.off", dir, name);
	CHECK(write_file(path, text, strlen(text)) == 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	if (CHECK_INT(s.n, 6))
		check_range(&s, 3, "b", 0, 3);
	CHECK_CONTAINS(all_warnings, "belongs to another file");
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/* A claimed file of three records r-000..r-002 with text as its progress;
 * how many records a drain replays, from which; a warning unless quiet. */
static void
check_off(const char *how, const char *text, int want_from, bool warn)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	const char *name = "c.spool.1-0000000000000002.draining";
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;

	make_dir(dir, sizeof(dir));
	seen_init(&s);
	warnings_reset();
	sp = spool_new(dir, "web1", NULL, on_warn);
	CHECK(append_range(sp, "r", 0, 3) == 0);
	CHECK(rename_spool(dir, name, path, sizeof(path)) == 0);
	snprintf(path, sizeof(path), "%s/%s.off", dir, name);
	CHECK(write_file(path, text, strlen(text)) == 0);
	CHECKF(pending(sp) == 3 - want_from, "%s: pending %lld", how,
	    pending(sp));
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECKF(s.n == 3 - want_from, "%s: %d replayed", how, s.n);
	check_range(&s, 0, "r", want_from, 3);
	CHECK_INT(res.torn, 0);
	CHECKF((strstr(all_warnings, "saved offset") != NULL) == warn,
	    "%s: warnings \"%s\"", how, all_warnings);
	CHECK_INT(count_files(dir, ".draining", NULL, 0) +
	    count_files(dir, ".off", NULL, 0), 0);
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/* A corrupt or foreign progress file never sends the reader outside the
 * file nor past a record: the file is replayed from its start. */
static void
spool_should_replay_everything_after_a_corrupt_off(void)
{
	static const char *const bad[] = { "18446744073709551615",
		"18446744073709551616", "99999999999999999999999", "-1",
		"+42", " 42", "42 ", "42x", "abc", "\n", "0x2a", "42\n\n",
		"42 zzzzzzzz", "42 0000000", "42 000000000", "20", "43", "41",
		"127", "4242" };
	char text[64], dir[PATH_MAX], file[PATH_MAX];
	unsigned long fp = 0;
	struct spool *sp;
	unsigned char head[16];
	int rec = V2_LEN(5, 0, 0, 5);

	/* This build's fingerprint of such a file (the same records). */
	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", NULL, on_warn);
	CHECK(append_range(sp, "r", 0, 3) == 0);
	if (CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1) &&
	    CHECK(read_file(file, head, 16) == 16))
		fp = get_le32(head + 12);
	spool_free(sp);
	rm_dir(dir);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_off(bad[i], bad[i], 0, true);
	snprintf(text, sizeof(text), "%020d %08lx\n", rec, fp ^ 1);
	check_off("another file's fingerprint", text, 0, true);
	snprintf(text, sizeof(text), "%020d %08lX\n", rec, fp | 0xa0);
	check_off("an uppercase fingerprint", text, 0, true);
	snprintf(text, sizeof(text), "%d %08lx\n", 3 * rec + 1, fp);
	check_off("one past the end", text, 0, true);
	/* Sound ones are taken, of course. */
	check_off("empty", "", 0, false);
	snprintf(text, sizeof(text), "%020d", rec);
	check_off("1.0's, at a record", text, 1, false);
	snprintf(text, sizeof(text), "%020d %08lx\n", 2 * rec, fp);
	check_off("ours, at a record", text, 2, false);
	snprintf(text, sizeof(text), "%d %08lx", 3 * rec, fp);
	check_off("ours, at the end", text, 3, false);
	snprintf(text, sizeof(text), "%d", 0);
	check_off("zero", text, 0, false);
}

int
main(void)
{
	RUN(spool_should_replay_records_in_order_with_exact_content);
	RUN(spool_should_make_the_file_private);
	RUN(spool_should_stop_at_max_records_and_resume);
	RUN(spool_should_stop_when_the_time_budget_is_spent);
	RUN(spool_should_keep_the_record_the_callback_refused);
	RUN(spool_should_skip_a_torn_record_at_the_tail);
	RUN(spool_should_resync_after_a_torn_record);
	RUN(spool_should_clean_up_empty_and_finished_leftovers);
	RUN(spool_should_skip_a_corrupted_record_in_the_middle);
	RUN(spool_should_skip_a_sound_record_with_malformed_contents);
	RUN(spool_should_append_to_a_fresh_file_after_the_drainer_renamed_it);
	RUN(spool_should_create_a_missing_directory);
	RUN(spool_should_fail_append_when_the_directory_cannot_be_made);
	RUN(spool_should_refuse_a_body_larger_than_the_build_maximum);
	RUN(spool_should_report_busy_while_another_drain_holds_the_lock);
	RUN(spool_should_replay_format_1_records_as_legacy);
	RUN(spool_should_round_trip_the_signature_headers);
	RUN(spool_should_seal_records_and_open_them_with_the_key);
	RUN(spool_should_skip_and_keep_records_sealed_with_another_key);
	RUN(spool_should_append_a_batch_all_or_nothing);
	RUN(spool_should_fail_cleanly_on_a_full_disk);
	RUN(spool_status_should_report_the_oldest_record);
	RUN(spool_status_should_survive_files_cut_meanwhile);
	RUN(spool_should_not_follow_planted_links);
	RUN(spool_check_dir_should_refuse_unfit_directories);
	RUN(spool_should_follow_a_replaced_directory);
	RUN(spool_should_give_each_claim_a_unique_name);
	RUN(spool_should_not_apply_a_stale_off_to_a_later_file);
	RUN(spool_should_replay_everything_after_a_corrupt_off);
	RUN(spool_should_lose_nothing_with_two_processes_appending);
	RUN(spool_should_lose_nothing_with_two_processes_sharing_a_file);
	RUN(spool_should_replay_every_acknowledged_record_while_draining);
	RUN(spool_should_lose_nothing_with_threads_appending);
	return unit_report("test_spool");
}
