/*
 * test_spool.c -- spool_append(), spool_drain() and spool_pending() in
 * temporary directories under $TMPDIR: order and content of replays,
 * resumable drains, damaged records, renames under an appender, broken
 * directories and two processes appending at once.  Links spool.o and -lz.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/unit.h"

#define MAX_BODY (256 * 1024)
#define MAX_SEEN 1024

/* ------------------------------------------------------------ helpers */

static int warnings;
static char last_warning[512];

static void
on_warn(const char *msg)
{
	warnings++;
	snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

/* What a drain handed to the callback, in order. */
struct seen {
	int n;
	char *body[MAX_SEEN];
	size_t len[MAX_SEEN];
	char id[MAX_SEEN][ZE_REQUEST_ID_MAX + 1];
	long long ms[MAX_SEEN];
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
	for (int i = 0; i < s->n; i++)
		free(s->body[i]);
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
	s->ms[s->n] = r->received_ms;
	s->n++;
	return 0;
}

/* A fresh directory; removed with rm_dir(). */
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

/* Remove dir and whatever is in it (and one level of subdirectories). */
static void
rm_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d != NULL) {
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

/* Append "<prefix>-<i>" for i in [from, to), with matching ids and times. */
static int
append_range(struct spool *sp, const char *prefix, int from, int to)
{
	char body[64], id[32];
	int failed = 0;

	for (int i = from; i < to; i++) {
		snprintf(body, sizeof(body), "%s-%03d", prefix, i);
		snprintf(id, sizeof(id), "req-%d", i);
		if (spool_append(sp, 1700000000000LL + i, id, body,
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
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
	seen_init(&s);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	memset(long_id, 'r', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';

	CHECK_INT(spool_pending(sp), 0);
	CHECK(!spool_has_pending(sp));
	CHECK(spool_append(sp, 1700000000123LL, "req-a", "first", 5) == 0);
	CHECK(spool_append(sp, 0, "", "", 0) == 0);
	CHECK(spool_append(sp, 42, "req-c", binary, sizeof(binary) - 1) == 0);
	CHECK(spool_append(sp, 1700000000999LL, long_id, big, sizeof(big)) ==
	    0);
	CHECK(spool_append(sp, 7, "req-e", "last", 4) == 0);
	CHECK_INT(spool_pending(sp), 5);
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
	CHECK_INT(spool_pending(sp), 0);
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
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
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
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
	seen_init(&s);
	CHECK(append_range(sp, "r", 0, 7) == 0);

	CHECK(drain(sp, &s, 3, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 3);
	CHECK_INT(res.stopped, 0);
	CHECK_INT(spool_pending(sp), 4);
	/* Progress is kept beside the claimed file. */
	CHECK_INT(count_files(dir, ".draining", NULL, 0), 1);
	CHECK_INT(count_files(dir, ".off", NULL, 0), 1);

	CHECK(drain(sp, &s, 3, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 3);
	CHECK_INT(spool_pending(sp), 1);

	/* Appends meanwhile go to a new file, drained after the old one. */
	CHECK(append_range(sp, "r", 7, 9) == 0);
	CHECK_INT(spool_pending(sp), 3);

	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 3);
	CHECK_INT(res.torn, 0);
	CHECK_INT(s.n, 9);
	check_range(&s, 0, "r", 0, 9);
	CHECK_INT(spool_pending(sp), 0);
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
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
	seen_init(&s);
	CHECK(append_range(sp, "r", 0, 20) == 0);

	/* 20 ms a record, 50 ms of budget: a few, not all. */
	s.delay_us = 20000;
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, 50, &res) == 0);
	first = s.n;
	CHECKF(first >= 1 && first <= 5, "replayed %d", first);
	CHECK_INT(res.replayed, first);
	CHECK_INT(res.stopped, 0);
	CHECK_INT(spool_pending(sp), 20 - first);

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
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
	seen_init(&s);
	CHECK(append_range(sp, "r", 0, 5) == 0);

	s.fail_at = 2;                  /* the database goes away */
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 2);
	CHECK_INT(res.stopped, 1);
	CHECK_INT(s.n, 2);
	CHECK_INT(spool_pending(sp), 3);
	CHECK(spool_has_pending(sp));

	/* It comes back: the refused record is offered first. */
	s.fail_at = -1;
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 3);
	CHECK_INT(res.stopped, 0);
	CHECK_INT(s.n, 5);
	check_range(&s, 0, "r", 0, 5);
	CHECK_INT(spool_pending(sp), 0);

	/* A refusal of the very first record keeps everything. */
	seen_release(&s);
	CHECK(append_range(sp, "q", 0, 2) == 0);
	s.fail_at = 0;
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK_INT(res.stopped, 1);
	CHECK_INT(spool_pending(sp), 2);
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
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
	seen_init(&s);
	warnings = 0;
	CHECK(append_range(sp, "r", 0, 5) == 0);
	if (!CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1))
		goto out;
	/* A crash in the middle of the last write. */
	size = file_size(file);
	CHECK(truncate(file, size - 3) == 0);
	CHECK_INT(spool_pending(sp), 4);

	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 4);
	CHECK_INT(res.torn, 1);
	CHECK_INT(res.stopped, 0);
	CHECK_INT(s.n, 4);
	check_range(&s, 0, "r", 0, 4);
	CHECK(warnings >= 1);
	CHECK_CONTAINS(last_warning, "damaged");
	CHECK_INT(spool_pending(sp), 0);
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
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
	seen_init(&s);
	CHECK(append_range(sp, "r", 0, 3) == 0);
	if (!CHECK_INT(count_files(dir, ".spool", file, sizeof(file)), 1))
		goto out;
	size = file_size(file);
	/* The last record is 16 + 10 + 5 + 5 bytes: keep 5 of its header. */
	CHECK(truncate(file, size - 36 + 5) == 0);
	CHECK(append_range(sp, "r", 3, 5) == 0);
	CHECK_INT(spool_pending(sp), 4);
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
	CHECK(truncate(file, size - 36 + 5) == 0);
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
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
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
	CHECK_INT(spool_pending(sp), 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK_INT(res.torn, 0);
	CHECK_INT(count_files(dir, ".spool", NULL, 0), 0);
	CHECK_INT(count_files(dir, ".draining", NULL, 0), 0);

	/* A claimed file whose records were all replayed before a crash
	 * removed it: the offset is at its end. */
	CHECK(append_range(sp, "r", 0, 2) == 0);
	CHECK(drain(sp, &s, 2, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 2);
	CHECK_INT(spool_pending(sp), 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(count_files(dir, ".draining", NULL, 0), 0);
	CHECK_INT(count_files(dir, ".off", NULL, 0), 0);
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

/* Damage the middle one of three records in some way; the other two
 * must replay and the damage count as one torn record. */
static void
check_middle_damage(const char *how, long at_from_body, int delta)
{
	char dir[PATH_MAX], file[PATH_MAX], buf[4096];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;
	char *mid;
	ssize_t n;
	int fd;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
	seen_init(&s);
	CHECK(spool_append(sp, 1, "id-0", "first-record", 12) == 0);
	CHECK(spool_append(sp, 2, "id-1", "middle-record", 13) == 0);
	CHECK(spool_append(sp, 3, "id-2", "third-record", 12) == 0);
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
	/* at_from_body counts back from the body: 0 is its first byte,
	 * 26 + 4 the magic (header 16, fixed 10, id 4). */
	mid -= at_from_body;
	*mid = (char)(*mid + delta);
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
	}
	CHECK_INT(spool_pending(sp), 0);
out:
	seen_release(&s);
	spool_free(sp);
	rm_dir(dir);
}

static void
spool_should_skip_a_corrupted_record_in_the_middle(void)
{
	check_middle_damage("a flipped body byte", 0, 1);
	check_middle_damage("a flipped last body byte", -12, 1);
	check_middle_damage("a flipped request id byte", 2, 1);
	check_middle_damage("a flipped received_ms byte", 4 + 10, 1);
	check_middle_damage("a damaged magic", 4 + 26, 1);
	check_middle_damage("a damaged checksum", 4 + 10 + 1, 1);
	check_middle_damage("a length one too long", 4 + 10 + 8, 1);
	check_middle_damage("a length one too short", 4 + 10 + 8, -1);
	check_middle_damage("a huge length", 4 + 10 + 5, 0x70);
	check_middle_damage("an id length past the limit", 4 + 2 - 1, 0x70);
	check_middle_damage("an id length past the record", 4 + 2, 0x40);
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
	writer = spool_new(dir, "web1", MAX_BODY, on_warn);
	/* A second handle, as another worker's drain would be. */
	drainer = spool_new(dir, "web2", MAX_BODY, on_warn);
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
	CHECK_INT(spool_pending(drainer), 4);

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
	CHECK_INT(spool_pending(writer), 1);
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
	sp = spool_new(sub, "web1", MAX_BODY, on_warn);
	seen_init(&s);
	/* Nothing is touched before the first append or drain. */
	CHECK(stat(sub, &st) != 0);
	CHECK_INT(spool_pending(sp), 0);
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.replayed, 0);
	CHECK(append_range(sp, "r", 0, 1) == 0);
	if (CHECK(stat(sub, &st) == 0))
		CHECK_INT(st.st_mode & 0777, 0700);
	CHECK_INT(spool_pending(sp), 1);
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
	sp = spool_new(bad, "web1", MAX_BODY, on_warn);
	errno = 0;
	CHECK(spool_append(sp, 1, "id", "body", 4) == -1);
	CHECK_INT(errno, ENOENT);
	CHECK(spool_append(sp, 1, "id", "body", 4) == -1);
	CHECK_INT(spool_pending(sp), 0);
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
	sp = spool_new(file, "web1", MAX_BODY, on_warn);
	CHECK(spool_append(sp, 1, "id", "body", 4) == -1);
	spool_free(sp);
	snprintf(bad, sizeof(bad), "%s/sub", file);
	sp = spool_new(bad, "web1", MAX_BODY, on_warn);
	errno = 0;
	CHECK(spool_append(sp, 1, "id", "body", 4) == -1);
	CHECK_INT(errno, ENOTDIR);
	spool_free(sp);

	/* Not writable (root ignores modes, so only as another user). */
	if (geteuid() != 0) {
		snprintf(bad, sizeof(bad), "%s/ro", dir);
		if (CHECK(mkdir(bad, 0500) == 0)) {
			sp = spool_new(bad, "web1", MAX_BODY, on_warn);
			CHECK(spool_append(sp, 1, "id", "body", 4) == -1);
			CHECK_INT(errno, EACCES);
			spool_free(sp);
			chmod(bad, 0700);
		}
	}
	rm_dir(dir);
}

static void
spool_should_refuse_a_record_larger_than_max_body(void)
{
	char dir[PATH_MAX], body[101];
	struct spool_drain_result res;
	struct spool *sp;
	struct seen s;

	make_dir(dir, sizeof(dir));
	sp = spool_new(dir, "web1", 100, on_warn);
	seen_init(&s);
	memset(body, 'b', sizeof(body));
	/* A full-length request id and a max_body body fit; one more body
	 * byte does not. */
	CHECK(spool_append(sp, 1, "", body, 100) == 0);
	{
		char id[ZE_REQUEST_ID_MAX + 1];

		memset(id, 'i', ZE_REQUEST_ID_MAX);
		id[ZE_REQUEST_ID_MAX] = '\0';
		CHECK(spool_append(sp, 1, id, body, 100) == 0);
		errno = 0;
		CHECK(spool_append(sp, 1, id, body, 101) == -1);
		CHECK_INT(errno, EFBIG);
	}
	CHECK(drain(sp, &s, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS, &res) == 0);
	CHECK_INT(res.torn, 0);
	seen_release(&s);
	spool_free(sp);
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
	sp = spool_new(dir, "web1", MAX_BODY, on_warn);
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
	drainer = spool_new(dir, "drainer", MAX_BODY, on_warn);
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
			    spool_new(dir, "w", MAX_BODY, NULL);
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
	CHECK_INT(spool_pending(drainer), 0);
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
	sp = spool_new(dir, "shared", MAX_BODY, NULL);
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
	sp = spool_new(dir, "shared", MAX_BODY, NULL);
	failures += check_concurrent_appenders(sp, dir, 2, 200, true);
	spool_free(sp);
	rm_dir(dir);
	if (failures > 0)
		fprintf(stderr, "note: %d of 800 appends failed while a drain "
		    "ran (not lost: the caller answers 503)\n", failures);
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
	RUN(spool_should_append_to_a_fresh_file_after_the_drainer_renamed_it);
	RUN(spool_should_create_a_missing_directory);
	RUN(spool_should_fail_append_when_the_directory_cannot_be_made);
	RUN(spool_should_refuse_a_record_larger_than_max_body);
	RUN(spool_should_report_busy_while_another_drain_holds_the_lock);
	RUN(spool_should_lose_nothing_with_two_processes_appending);
	RUN(spool_should_lose_nothing_with_two_processes_sharing_a_file);
	RUN(spool_should_replay_every_acknowledged_record_while_draining);
	return unit_report("test_spool");
}
