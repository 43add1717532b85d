/*
 * test_metrics.c -- the host-wide metrics file: processes adding up, dead
 * slots reused without totals going down, labels shared by name, account
 * learning, histograms, and the file itself (symlinks refused, an old
 * layout replaced, allocation failures leaving the metrics private).
 * Links metrics.o only.
 *
 * The module keeps its state in statics, so each test measures what it
 * adds (snapshots before and after), and tests that need a process of
 * their own fork one.
 */
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/unit.h"

/* ------------------------------------------------------------ helpers */

static void
make_dir(char *out, size_t size)
{
	const char *t = getenv("TMPDIR");

	snprintf(out, size, "%s/test_metrics.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(out) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

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
			if (unlink(path) != 0)
				rm_dir(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

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

/* Run fn in a child process; its exit status (fn's return), or -1 when
 * it died. */
static int
in_child(int (*fn)(const char *path, int arg), const char *path, int arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		abort();
	if (pid == 0)
		_exit(fn(path, arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static unsigned
code_index(int status)
{
	unsigned i;

	for (i = 0; i < METRICS_NCODES - 1; i++)
		if (metrics_codes[i] == status)
			break;
	return i;
}

/* The snapshot's label named name, or NULL. */
static const struct metrics_label *
find_label(const struct metrics_snapshot *m, const char *name)
{
	for (int i = 0; i < m->nlabels; i++)
		if (strcmp(m->labels[i].name, name) == 0)
			return &m->labels[i];
	return NULL;
}

/* ------------------------------------------------ child bodies */

/* Attach and add n requests, n spooled and a delivery; 0 when all went
 * well. */
static int
add_some(const char *path, int n)
{
	if (metrics_open(path) != 0)
		return 1;
	for (int i = 0; i < n; i++) {
		metrics_observe(ROUTE_EVENTS, 200, 0.003);
		metrics_count(MC_SPOOLED);
	}
	metrics_delivery(metrics_label("alpha"), 1700000000 + n, 2, 1);
	metrics_batch(n);
	return 0;
}

/* Attach and stay until stdin (a pipe) closes. */
static int
stay(const char *path, int fd)
{
	char c;

	if (metrics_open(path) != 0)
		return 1;
	metrics_count(MC_DB_CONNECTS);
	while (read(fd, &c, 1) > 0)
		;
	return 0;
}

/* Labels in the order of the arg-th list; 0 when each got its index. */
static int
name_labels(const char *path, int which)
{
	static const char *const lists[][3] = { { "alpha", "beta", NULL },
		{ "beta", "gamma", "alpha" } };
	static const int want[][3] = { { 0, 1, -1 }, { 1, 2, 0 } };

	if (metrics_open(path) != 0)
		return 1;
	for (int i = 0; i < 3 && lists[which][i] != NULL; i++) {
		int l = metrics_label(lists[which][i]);

		if (l != want[which][i])
			return 2;
		metrics_delivery(l, 1700000000, 1, 1);
	}
	if (which == 1) {
		metrics_validation(metrics_label("gamma"), 1700000100);
		metrics_auth_failure(METRICS_LABEL_UNKNOWN);
		metrics_learn_account("acct-from-child", metrics_label("beta"));
	} else {
		metrics_validation(metrics_label("alpha"), 1700000050);
	}
	return 0;
}

/* Attach under a file size limit smaller than the file: -1 (EFBIG),
 * nothing left behind, and the metrics still count, privately. */
static int
open_too_big(const char *path, int limit)
{
	struct rlimit rl = { (rlim_t)limit, (rlim_t)limit };
	struct metrics_snapshot m;

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		return 10;
	errno = 0;
	if (metrics_open(path) != -1)
		return 11;
	if (errno != EFBIG)
		return 12;
	metrics_observe(ROUTE_HEALTH, 200, 0.01);
	metrics_snapshot(&m);
	if (m.requests[ROUTE_HEALTH][code_index(200)] != 1 || m.workers != 1)
		return 13;
	return 0;
}

/* -------------------------------------------------------------- tests */

static void
metrics_should_add_up_processes_sharing_the_file(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct metrics_snapshot m;
	int pipefd[2];
	pid_t pids[3];
	int status;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/metrics.shm", dir);
	CHECK_INT(in_child(add_some, path, 5), 0);
	CHECK_INT(in_child(add_some, path, 7), 0);
	CHECK(metrics_open(path) == 0);
	metrics_snapshot(&m);
	CHECK_INT(m.requests[ROUTE_EVENTS][code_index(200)], 12);
	CHECK_INT(m.count[ROUTE_EVENTS], 12);
	CHECK_INT(m.sum_us[ROUTE_EVENTS], 12 * 3000);
	CHECK_INT(m.counters[MC_SPOOLED], 12);
	CHECK_INT(m.last_delivery_s, 1700000007);
	CHECK_INT(m.batch_count, 2);
	CHECK_INT(m.batch_sum, 12);
	if (CHECK(find_label(&m, "alpha") != NULL))
		CHECK_INT(find_label(&m, "alpha")->deliveries, 2);
	/* Only this process runs now. */
	CHECK_INT(m.workers, 1);

	/* Three more, alive while we look. */
	CHECK(pipe(pipefd) == 0);
	for (int k = 0; k < 3; k++) {
		if ((pids[k] = fork()) == 0) {
			close(pipefd[1]);
			_exit(stay(path, pipefd[0]));
		}
	}
	close(pipefd[0]);
	for (int tries = 0; tries < 200; tries++) {
		metrics_snapshot(&m);
		if (m.counters[MC_DB_CONNECTS] == 3)
			break;
		usleep(10000);
	}
	CHECK_INT(m.counters[MC_DB_CONNECTS], 3);
	CHECK_INT(m.workers, 4);
	close(pipefd[1]);
	for (int k = 0; k < 3; k++)
		CHECK(waitpid(pids[k], &status, 0) == pids[k] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0);
	metrics_snapshot(&m);
	CHECK_INT(m.workers, 1);
	CHECK_INT(m.counters[MC_DB_CONNECTS], 3);
	CHECK_INT(m.counters[MC_SPOOLED], 12);
	rm_dir(dir);
}

/* Every slot used by a process that has exited: a newcomer takes one
 * over, and keeps its counts. */
static void
metrics_should_reuse_a_dead_slot_without_losing_counts(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct metrics_snapshot m;
	int failed = 0;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/metrics.shm", dir);
	for (int i = 0; i < ZE_METRICS_SLOTS; i++)
		if (in_child(add_some, path, 1) != 0)
			failed++;
	CHECK_INT(failed, 0);
	/* One more than there are slots. */
	CHECK_INT(in_child(add_some, path, 1), 0);
	CHECK(metrics_open(path) == 0);
	metrics_snapshot(&m);
	CHECK_INT(m.counters[MC_SPOOLED], ZE_METRICS_SLOTS + 1);
	CHECK_INT(m.requests[ROUTE_EVENTS][code_index(200)],
	    ZE_METRICS_SLOTS + 1);
	CHECK_INT(m.workers, 1);
	metrics_count(MC_SPOOLED);
	metrics_snapshot(&m);
	CHECK_INT(m.counters[MC_SPOOLED], ZE_METRICS_SLOTS + 2);
	rm_dir(dir);
}

static void
metrics_should_share_labels_by_name(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], name[16];
	struct metrics_snapshot m;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/metrics.shm", dir);
	CHECK_INT(in_child(name_labels, path, 0), 0);
	CHECK_INT(in_child(name_labels, path, 1), 0);
	CHECK(metrics_open(path) == 0);
	CHECK_INT(metrics_label("gamma"), 2);
	CHECK_INT(metrics_label("alpha"), 0);
	metrics_snapshot(&m);
	if (CHECK_INT(m.nlabels, 4)) {
		CHECK_STR(m.labels[0].name, "alpha");
		CHECK_STR(m.labels[1].name, "beta");
		CHECK_STR(m.labels[2].name, "gamma");
		CHECK_STR(m.labels[3].name, "unknown");
		CHECK_INT(m.labels[0].deliveries, 2);
		CHECK_INT(m.labels[1].deliveries, 2);
		CHECK_INT(m.labels[2].deliveries, 1);
		CHECK_INT(m.labels[3].auth_failures, 1);
		CHECK_INT(m.labels[2].last_validation_s, 1700000100);
		CHECK_INT(m.labels[0].last_validation_s, 1700000050);
		CHECK_INT(m.labels[1].last_validation_s, 0);
	}
	CHECK_INT(metrics_account_label("acct-from-child"), 1);

	/* Not labels: empty, too long, NULL, the unknown bucket's name. */
	CHECK_INT(metrics_label(""), METRICS_LABEL_UNKNOWN);
	CHECK_INT(metrics_label(NULL), METRICS_LABEL_UNKNOWN);
	CHECK_INT(metrics_label("unknown"), METRICS_LABEL_UNKNOWN);
	{
		char longname[ZE_LABEL_MAX + 2];

		memset(longname, 'l', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		CHECK_INT(metrics_label(longname), METRICS_LABEL_UNKNOWN);
		longname[ZE_LABEL_MAX] = '\0';
		CHECK_INT(metrics_label(longname), 3);
	}
	/* A full table: the rest count as unknown. */
	for (int i = 4; i < METRICS_MAX_LABELS; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		CHECK_INT(metrics_label(name), i);
	}
	CHECK_INT(metrics_label("one-too-many"), METRICS_LABEL_UNKNOWN);
	CHECK_INT(metrics_label("l7"), 7);
	metrics_auth_failure(metrics_label("one-too-many"));
	metrics_auth_failure(METRICS_MAX_LABELS + 3);
	metrics_delivery(-7, 1, 0, 0);
	metrics_snapshot(&m);
	CHECK_INT(m.nlabels, METRICS_MAX_LABELS + 1);
	CHECK_STR(m.labels[m.nlabels - 1].name, "unknown");
	CHECK_INT(m.labels[m.nlabels - 1].auth_failures, 3);
	CHECK_INT(m.labels[m.nlabels - 1].deliveries, 1);
	rm_dir(dir);
}

static void
metrics_should_not_follow_a_symlink(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], target[PATH_MAX + 16];
	char buf[16] = "";
	struct stat st;
	int fd;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/metrics.shm", dir);
	snprintf(target, sizeof(target), "%s/precious", dir);
	CHECK(write_file(target, "precious", 8) == 0);
	CHECK(symlink(target, path) == 0);
	CHECK_INT(in_child(add_some, path, 1), 1);
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	fd = open(target, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 8);
	CHECK_STR(buf, "precious");
	if (fd >= 0)
		close(fd);
	CHECK(unlink(path) == 0);

	/* A second name, and a FIFO (refused without blocking). */
	CHECK(link(target, path) == 0);
	CHECK_INT(in_child(add_some, path, 1), 1);
	CHECK(unlink(path) == 0);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK_INT(in_child(add_some, path, 1), 1);
	rm_dir(dir);
}

/* An older version's file is replaced, not reused, and the processes
 * still mapping it keep their inode. */
static void
metrics_should_replace_a_file_of_another_layout(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], old[4096];
	struct stat before, after, kept;
	const char *map;
	int fd;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/metrics.shm", dir);
	memset(old, 'o', sizeof(old));
	memcpy(old, "ZEMETR02", 8);
	CHECK(write_file(path, old, sizeof(old)) == 0);
	fd = open(path, O_RDONLY);
	map = fd >= 0 ? mmap(NULL, sizeof(old), PROT_READ, MAP_SHARED, fd,
	    0) : MAP_FAILED;
	CHECK(map != MAP_FAILED);
	CHECK(stat(path, &before) == 0);
	CHECK_INT(in_child(add_some, path, 2), 0);
	CHECK(stat(path, &after) == 0);
	CHECK(after.st_ino != before.st_ino);
	CHECK(after.st_size > (off_t)sizeof(old));
	/* Fully allocated: no page the disk cannot back. */
	CHECK((long long)after.st_blocks * 512 >= (long long)after.st_size);
	CHECK_INT(after.st_mode & 0777, 0600);
	if (map != MAP_FAILED) {
		CHECK(memcmp(map, old, sizeof(old)) == 0);
		munmap((void *)(uintptr_t)map, sizeof(old));
	}
	CHECK(fd >= 0 && fstat(fd, &kept) == 0 && kept.st_ino ==
	    before.st_ino && kept.st_size == (off_t)sizeof(old));
	if (fd >= 0)
		close(fd);
	/* The new one is used as it is by the next process. */
	CHECK_INT(in_child(add_some, path, 3), 0);
	CHECK(stat(path, &before) == 0 && before.st_ino == after.st_ino);

	/* The right size with the wrong magic, and an empty file. */
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "ZEMETR99", 8, 0) == 8);
	if (fd >= 0)
		close(fd);
	CHECK_INT(in_child(add_some, path, 1), 0);
	CHECK(stat(path, &after) == 0 && after.st_ino != before.st_ino);
	CHECK(write_file(path, "", 0) == 0);
	CHECK_INT(in_child(add_some, path, 1), 0);
	CHECK(stat(path, &after) == 0 && after.st_size > 0);
	rm_dir(dir);
}

static void
metrics_should_fill_histogram_buckets(void)
{
	static const double ages[] = { 0.5, 1, 1.5, 7200, 7201, -3, NAN };
	struct metrics_snapshot a, b;
	int l = metrics_label("histo");

	metrics_snapshot(&a);
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++)
		metrics_delivery(l, 1900000000, ages[i], i == 0 ? 30 : NAN);
	metrics_batch(1);
	metrics_batch(3);
	metrics_batch(128);
	metrics_batch(129);
	metrics_batch(0);
	metrics_batch(-1);
	metrics_observe(ROUTE_METRICS, 200, 0.0005);
	metrics_observe(ROUTE_METRICS, 204, 3.0);
	metrics_observe(ROUTE_METRICS, 503, -1);
	metrics_observe(ROUTE_METRICS, 200, NAN);
	metrics_observe((enum metrics_route)42, 404, 0.02);
	metrics_snapshot(&b);

	CHECK_INT(b.sig_age[0] - a.sig_age[0], 3);    /* 0.5, 1, -3 */
	CHECK_INT(b.sig_age[1] - a.sig_age[1], 1);    /* 1.5 */
	CHECK_INT(b.sig_age[9] - a.sig_age[9], 1);    /* 7200 */
	for (int i = 2; i < 9; i++)
		CHECK_INT(b.sig_age[i] - a.sig_age[i], 0);
	CHECK_INT(b.sig_age_count - a.sig_age_count, 6);   /* 7201: +Inf */
	CHECK(fabs(b.sig_age_sum - a.sig_age_sum - 14404.0) < 1e-3);
	CHECK_INT(b.lag[2] - a.lag[2], 1);
	CHECK_INT(b.lag_count - a.lag_count, 1);
	CHECK(fabs(b.lag_sum - a.lag_sum - 30.0) < 1e-3);
	CHECK_INT(b.last_delivery_s, 1900000000);
	if (CHECK(find_label(&b, "histo") != NULL))
		CHECK_INT(find_label(&b, "histo")->deliveries -
		    (find_label(&a, "histo") ? find_label(&a,
		    "histo")->deliveries : 0), 7);
	CHECK_INT(b.batch[0] - a.batch[0], 1);
	CHECK_INT(b.batch[2] - a.batch[2], 1);
	CHECK_INT(b.batch[7] - a.batch[7], 1);
	CHECK_INT(b.batch_count - a.batch_count, 4);
	CHECK_INT(b.batch_sum - a.batch_sum, 1 + 3 + 128 + 129);
	CHECK_INT(b.buckets[ROUTE_METRICS][0] - a.buckets[ROUTE_METRICS][0],
	    3);
	CHECK_INT(b.count[ROUTE_METRICS] - a.count[ROUTE_METRICS], 4);
	CHECK_INT(b.sum_us[ROUTE_METRICS] - a.sum_us[ROUTE_METRICS],
	    500 + 3000000);
	CHECK_INT(b.requests[ROUTE_METRICS][code_index(0)] -
	    a.requests[ROUTE_METRICS][code_index(0)], 1);
	CHECK_INT(b.requests[ROUTE_OTHER][code_index(404)] -
	    a.requests[ROUTE_OTHER][code_index(404)], 1);
	/* Time never goes back. */
	metrics_delivery(l, 1800000000, 1, 1);
	metrics_snapshot(&b);
	CHECK_INT(b.last_delivery_s, 1900000000);
}

static void
metrics_should_learn_which_label_an_account_uses(void)
{
	char id[ZE_ACCOUNT_ID_MAX + 2];
	int alpha = metrics_label("alpha"), beta = metrics_label("beta");

	CHECK(alpha >= 0 && beta >= 0 && alpha != beta);
	CHECK_INT(metrics_account_label("acct-1"), METRICS_LABEL_UNKNOWN);
	metrics_learn_account("acct-1", alpha);
	CHECK_INT(metrics_account_label("acct-1"), alpha);
	metrics_learn_account("acct-1", beta);          /* rotated */
	CHECK_INT(metrics_account_label("acct-1"), beta);
	CHECK_INT(metrics_account_label("acct-2"), METRICS_LABEL_UNKNOWN);
	CHECK_INT(metrics_account_label(""), METRICS_LABEL_UNKNOWN);
	CHECK_INT(metrics_account_label(NULL), METRICS_LABEL_UNKNOWN);
	/* Not learned: no label, or an id too long. */
	metrics_learn_account("acct-3", METRICS_LABEL_UNKNOWN);
	CHECK_INT(metrics_account_label("acct-3"), METRICS_LABEL_UNKNOWN);
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	metrics_learn_account(id, alpha);
	CHECK_INT(metrics_account_label(id), METRICS_LABEL_UNKNOWN);
	id[ZE_ACCOUNT_ID_MAX] = '\0';
	metrics_learn_account(id, alpha);
	CHECK_INT(metrics_account_label(id), alpha);
	/* A prefix is another account. */
	CHECK_INT(metrics_account_label("acct"), METRICS_LABEL_UNKNOWN);

	/* The table is small: the oldest entries give way. */
	for (int i = 0; i < 64; i++) {
		snprintf(id, sizeof(id), "fill-%d", i);
		metrics_learn_account(id, alpha);
	}
	CHECK_INT(metrics_account_label("acct-1"), METRICS_LABEL_UNKNOWN);
	CHECK_INT(metrics_account_label("fill-0"), alpha);
	CHECK_INT(metrics_account_label("fill-63"), alpha);
}

/* posix_fallocate() failing (the file size limit here, a full disk
 * alike): -1, no file left behind, and metrics kept privately. */
static void
metrics_should_stay_private_when_the_file_cannot_be_allocated(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], sub[PATH_MAX + 16];
	struct stat st;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/metrics.shm", dir);
	CHECK_INT(in_child(open_too_big, path, 65536), 0);
	CHECK(stat(path, &st) != 0 && errno == ENOENT);
	snprintf(sub, sizeof(sub), "%s/metrics.shm.tmp", dir);
	CHECK(stat(sub, &st) != 0 && errno == ENOENT);

	/* A full disk for real, where we may mount a small tmpfs. */
	snprintf(sub, sizeof(sub), "%s/small", dir);
	if (geteuid() == 0 && mkdir(sub, 0700) == 0 &&
	    mount("tmpfs", sub, "tmpfs", 0, "size=64k,mode=0700") == 0) {
		snprintf(path, sizeof(path), "%s/metrics.shm", sub);
		CHECK_INT(in_child(add_some, path, 1), 1);
		CHECK(stat(path, &st) != 0 && errno == ENOENT);
		CHECK(umount(sub) == 0);
	} else {
		fprintf(stderr, "note: tmpfs full-disk case skipped (needs "
		    "root)\n");
	}
	rm_dir(dir);
}

/*
 * Children forked after metrics_open() share their parent's open file:
 * the label table's lock must keep them apart all the same.  In each of
 * a few fresh files, four children released at once name eight labels
 * each; all 32 end up in the table, once each.  (A race: likely, not
 * certain, to catch a missing lock or a flock() the children share.)
 */
static void
metrics_should_share_the_label_table_with_forked_children(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], name[32];
	struct metrics_snapshot m;
	bool seen[METRICS_MAX_LABELS];
	pid_t pids[4];
	int status, bad = 0, go[2];

	make_dir(dir, sizeof(dir));
	for (int file = 0; file < 20 && bad == 0; file++) {
		snprintf(path, sizeof(path), "%s/metrics-%d.shm", dir, file);
		CHECK(metrics_open(path) == 0);
		CHECK(pipe(go) == 0);
		for (int k = 0; k < 4; k++) {
			if ((pids[k] = fork()) != 0)
				continue;
			close(go[1]);
			if (read(go[0], name, 1) != 0)
				_exit(2);
			for (int i = 0; i < 8; i++) {
				snprintf(name, sizeof(name), "c%d-%d", k, i);
				if (metrics_label(name) < 0)
					_exit(1);
			}
			_exit(0);
		}
		close(go[0]);
		close(go[1]);           /* go */
		for (int k = 0; k < 4; k++)
			CHECK(waitpid(pids[k], &status, 0) == pids[k] &&
			    WIFEXITED(status) && WEXITSTATUS(status) == 0);
		metrics_snapshot(&m);
		CHECK_INT(m.nlabels, METRICS_MAX_LABELS + 1);
		memset(seen, 0, sizeof(seen));
		for (int k = 0; k < 4; k++)
			for (int i = 0; i < 8; i++) {
				int l;

				snprintf(name, sizeof(name), "c%d-%d", k, i);
				l = metrics_label(name);
				if (l < 0 || seen[l] ||
				    strcmp(m.labels[l].name, name) != 0)
					bad++;
				else
					seen[l] = true;
			}
	}
	CHECK_INT(bad, 0);
	rm_dir(dir);
}

int
main(void)
{
	/* Private first: nothing attached yet. */
	RUN(metrics_should_fill_histogram_buckets);
	RUN(metrics_should_learn_which_label_an_account_uses);
	RUN(metrics_should_not_follow_a_symlink);
	RUN(metrics_should_replace_a_file_of_another_layout);
	RUN(metrics_should_stay_private_when_the_file_cannot_be_allocated);
	RUN(metrics_should_add_up_processes_sharing_the_file);
	RUN(metrics_should_share_labels_by_name);
	RUN(metrics_should_reuse_a_dead_slot_without_losing_counts);
	/* Again, attached to a shared file now. */
	RUN(metrics_should_fill_histogram_buckets);
	RUN(metrics_should_learn_which_label_an_account_uses);
	/* Last: it fills a label table. */
	RUN(metrics_should_share_the_label_table_with_forked_children);
	return unit_report("test_metrics");
}
