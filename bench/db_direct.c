/*
 * bench/db_direct.c -- the database ceiling: the service's own database
 * work for each event, with no HTTP and no FastCGI in front.
 *
 *   db_direct -c PROCS -d SECONDS [-r RUN]
 *             [-m txn|txn-lite|trigger|trigger-commit]
 *
 * Forks PROCS processes, each with its own connection (like the service's
 * workers), configured exactly as the service (config_load(): the same
 * ZOOM_EVENTS_* environment, timeouts and stats shard).  For SECONDS, each
 * one stores distinct bench_event()s with what ingest.c's transaction()
 * does for a meeting event: normalize_event(), store_insert_event(),
 * stats_for_outcome() + stats_add() on its shard, store_commit() -- the
 * same prepared statements in the same one transaction.
 *
 * -m txn-lite is the same transaction with the counter statement that
 * stats.c could prepare for the common outcome (see add_inserted_sql).
 * -m trigger and -m trigger-commit are an experiment for a proposed change
 * (bench/roundtrips.sh): the counter is bumped by an AFTER INSERT trigger
 * on zoom_visit_events, which the script creates, from session variables
 * @ze_instance and @ze_slot, so that an event is the INSERT alone (with
 * autocommit: one round trip) or the INSERT and a COMMIT (two), instead of
 * the service's three.
 *
 * Prints one line for bench/run.sh:
 *   BENCH requests=N duration_us=N rps=X p50_us=N p99_us=N errors=N
 *         inserted=N rss_max_kb=N cpu_ms=N insert_us=X stats_us=X
 *         commit_us=X rss_kb=a,b,..
 * Latency is one transaction (what a worker waits for the database);
 * insert_us, stats_us and commit_us are the mean time of its three round
 * trips (the event INSERT, the counter upsert, the COMMIT with its redo
 * log flush).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "normalize.h"
#include "stats.h"
#include "store.h"
#include "bench_event.h"

#define MAX_PROCS 512

enum mode { MODE_TXN, MODE_TXN_LITE, MODE_TRIGGER, MODE_TRIGGER_COMMIT };

/* -m txn-lite: the proposed stats.c statement for an inserted event, with
 * the constant deltas in the SQL instead of 16 bound zeros and ones. */
static const char add_inserted_sql[] =
    "INSERT INTO zoom_stats (instance, slot, received, inserted)"
    " VALUES (?, ?, 1, 1) ON DUPLICATE KEY UPDATE"
    " received = received + 1, inserted = inserted + 1";

static const char set_shard_sql[] = "SET @ze_instance = ?, @ze_slot = ?";
static const char autocommit_sql[] = "SET autocommit = 1";
#define MAX_SAMPLES (1 << 20)   /* latencies kept per process */

/* What each child reports back, in a shared mapping. */
struct child_result {
	long long requests;
	long long errors;
	long long inserted;
	double t_insert, t_stats, t_commit;     /* seconds, summed */
	long rss_kb;
	int ready;
	char error[200];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
vm_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

static int
cmp_u32(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/*
 * One process: connect, wait for the common start, then transactions
 * until end.  Latencies (microseconds) go to lat[0..), at most
 * MAX_SAMPLES.
 */
static void
child(const struct config *cfg, enum mode mode, int idx, int procs,
    unsigned run, long long base_ms, double start, double end,
    struct child_result *res, unsigned *lat)
{
	struct store *st = store_new(&cfg->db, cfg->db_timeout_s);
	struct stats_shard shard = { cfg->instance,
		(int)(getpid() % cfg->stats_slots) };
	static char body[8192];
	char err[256];

	if (store_open(st) != 0) {
		snprintf(res->error, sizeof(res->error), "connect: %s",
		    store_errmsg(st));
		res->ready = -1;
		store_free(st);
		return;
	}
	if (mode == MODE_TRIGGER || mode == MODE_TRIGGER_COMMIT) {
		struct store_val p[] = { STORE_Z(shard.instance),
			STORE_I(shard.slot) };

		if (store_exec(st, set_shard_sql, p, 2, NULL) != 0 ||
		    (mode == MODE_TRIGGER && store_exec(st, autocommit_sql,
		    NULL, 0, NULL) != 0)) {
			snprintf(res->error, sizeof(res->error), "set-up: %s",
			    store_errmsg(st));
			res->ready = -1;
			store_free(st);
			return;
		}
	}
	res->ready = 1;
	while (now_s() < start)
		usleep(1000);
	for (unsigned long long seq = (unsigned long long)idx;; seq +=
	    (unsigned long long)procs) {
		struct stats_counts delta;
		struct zoom_event ev;
		double t0, t1;
		size_t len;
		int added;
		long long id;

		double ta, tb, tc;

		t0 = now_s();
		if (t0 >= end)
			break;
		len = bench_event(body, sizeof(body), run, seq, base_ms);
		if (normalize_event(body, len, &ev, err, sizeof(err)) !=
		    NORM_OK) {
			snprintf(res->error, sizeof(res->error), "normalize: %.150s",
			    err);
			res->errors++;
			break;
		}
		ta = now_s();
		if (store_insert_event(st, &ev, &added, &id) != 0)
			goto fail;
		stats_for_outcome(added ? OUTCOME_INSERTED : OUTCOME_DUPLICATE,
		    false, &delta);
		tb = now_s();
		if (mode == MODE_TXN && stats_add(st, &shard, &delta) != 0)
			goto fail;
		if (mode == MODE_TXN_LITE) {
			struct store_val p[] = { STORE_Z(shard.instance),
				STORE_I(shard.slot) };

			if (!added) {
				snprintf(res->error, sizeof(res->error),
				    "txn-lite expects no duplicates");
				goto fail;
			}
			if (store_exec(st, add_inserted_sql, p, 2, NULL) != 0)
				goto fail;
		}
		tc = now_s();
		if (mode != MODE_TRIGGER && store_commit(st) != 0)
			goto fail;
		t1 = now_s();
		res->t_insert += tb - ta;
		res->t_stats += tc - tb;
		res->t_commit += t1 - tc;
		if (res->requests < MAX_SAMPLES)
			lat[res->requests] = (unsigned)((t1 - t0) * 1e6);
		res->requests++;
		res->inserted += added;
		continue;
fail:
		/* As ingest.c's after_failure(): roll back, reconnect if the
		 * connection is gone. */
		res->errors++;
		snprintf(res->error, sizeof(res->error), "%s", store_errmsg(st));
		store_rollback(st);
		if (store_err_is_connection(st) && store_open(st) != 0)
			usleep(10000);
	}
	res->rss_kb = vm_rss_kb();
	store_free(st);
}

static void
usage(void)
{
	fprintf(stderr, "usage: db_direct -c PROCS -d SECONDS [-r RUN] "
	    "[-m txn|txn-lite|trigger|trigger-commit]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	struct child_result *res;
	unsigned *lat, *all;
	double secs = 10, start, end;
	long long base_ms, total = 0, errors = 0, inserted = 0, n = 0;
	double t_ins = 0, t_sta = 0, t_com = 0;
	long rss_max = 0;
	int procs = 4, c, failed = 0;
	unsigned run = 1;
	enum mode mode = MODE_TXN;
	pid_t pids[MAX_PROCS];
	struct timespec wall;
	struct rusage ru;
	char err[512];
	size_t lat_bytes;

	while ((c = getopt(argc, argv, "c:d:r:m:")) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "txn") == 0)
				mode = MODE_TXN;
			else if (strcmp(optarg, "txn-lite") == 0)
				mode = MODE_TXN_LITE;
			else if (strcmp(optarg, "trigger") == 0)
				mode = MODE_TRIGGER;
			else if (strcmp(optarg, "trigger-commit") == 0)
				mode = MODE_TRIGGER_COMMIT;
			else
				usage();
			break;
		case 'c': procs = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'r': run = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (procs < 1 || procs > MAX_PROCS || secs <= 0)
		usage();
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "db_direct: configuration: %s\n", err);
		return 1;
	}
	res = mmap(NULL, sizeof(*res) * (size_t)procs, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	lat_bytes = sizeof(unsigned) * (size_t)MAX_SAMPLES * (size_t)procs;
	lat = mmap(NULL, lat_bytes, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED || lat == MAP_FAILED) {
		perror("db_direct: mmap");
		return 1;
	}
	memset(res, 0, sizeof(*res) * (size_t)procs);
	clock_gettime(CLOCK_REALTIME, &wall);
	base_ms = (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
	/* Everyone connects first; the clock starts when all are ready. */
	start = now_s() + 1.0 + procs * 0.01;
	end = start + secs;
	for (int i = 0; i < procs; i++) {
		if ((pids[i] = fork()) < 0) {
			perror("db_direct: fork");
			return 1;
		}
		if (pids[i] == 0) {
			child(&cfg, mode, i, procs, run, base_ms, start, end,
			    &res[i], lat + (size_t)i * MAX_SAMPLES);
			_exit(0);
		}
	}
	for (int i = 0; i < procs; i++) {
		int status;

		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	}
	for (int i = 0; i < procs; i++)
		n += res[i].requests < MAX_SAMPLES ? res[i].requests
		    : MAX_SAMPLES;
	if ((all = malloc(sizeof(unsigned) * (size_t)(n + 1))) == NULL)
		return 1;
	n = 0;
	for (int i = 0; i < procs; i++) {
		long long k = res[i].requests < MAX_SAMPLES ? res[i].requests
		    : MAX_SAMPLES;

		if (res[i].ready < 0 || res[i].error[0] != '\0')
			fprintf(stderr, "db_direct: process %d: %s\n", i,
			    res[i].error);
		memcpy(all + n, lat + (size_t)i * MAX_SAMPLES,
		    sizeof(unsigned) * (size_t)k);
		n += k;
		total += res[i].requests;
		errors += res[i].errors + (res[i].ready < 0);
		inserted += res[i].inserted;
		t_ins += res[i].t_insert;
		t_sta += res[i].t_stats;
		t_com += res[i].t_commit;
		if (res[i].rss_kb > rss_max)
			rss_max = res[i].rss_kb;
	}
	qsort(all, (size_t)n, sizeof(unsigned), cmp_u32);
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("BENCH requests=%lld duration_us=%.0f rps=%.1f p50_us=%u "
	    "p99_us=%u errors=%lld inserted=%lld rss_max_kb=%ld cpu_ms=%ld "
	    "insert_us=%.0f stats_us=%.0f commit_us=%.0f rss_kb=", total,
	    secs * 1e6, (double)total / secs,
	    n ? all[(size_t)(n * 50 / 100)] : 0,
	    n ? all[(size_t)(n * 99 / 100)] : 0, errors + failed, inserted,
	    rss_max, (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000,
	    total ? t_ins / (double)total * 1e6 : 0,
	    total ? t_sta / (double)total * 1e6 : 0,
	    total ? t_com / (double)total * 1e6 : 0);
	for (int i = 0; i < procs; i++)
		printf("%s%ld", i ? "," : "", res[i].rss_kb);
	printf("\n");
	free(all);
	return errors + failed > 0 ? 1 : 0;
}
