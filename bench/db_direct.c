/*
 * bench/db_direct.c -- the database ceiling: the service's own database
 * work for each event, with no HTTP and no FastCGI in front.
 *
 *   db_direct -c PROCS -d SECONDS [-r RUN] [-m txn|autocommit|batch]
 *             [-b N] [-L]
 *
 * Forks PROCS processes, each with its own connection (like the service's
 * workers), configured exactly as the service (config_load(): the same
 * ZOOM_EVENTS_* environment, timeouts and stats shard).  For SECONDS, each
 * one stores distinct bench_event()s, normalized with normalize_event(),
 * through the service's own prepared statements (store.c, stats.c):
 *
 *   -m txn         what ingest.c's transaction() does for one delivery
 *                  (batch_max = 1, the 1.0 path): store_insert_event(),
 *                  store_insert_ledger() of its one row, stats_add() of
 *                  its counters on the process's shard, store_commit().
 *   -m batch -b N  the same for N deliveries in one transaction, as the
 *                  group commit leader does: N store_insert_event()s, the
 *                  N ledger rows in multi-row INSERTs (store.c's chunks of
 *                  STORE_ROWS_CHUNK), one stats_add() of their sum, one
 *                  store_commit().  -b 1 is -m txn.
 *   -m autocommit  one store_insert_event() per autocommit transaction,
 *                  nothing else: no ledger row, no counter (the plainest
 *                  durable insert of the same row).
 *   -L             txn or batch without the ledger INSERT: what the
 *                  delivery ledger costs the database (issue 11).
 *
 * Prints one line for bench/run.sh:
 *   BENCH requests=N duration_us=N rps=X p50_us=N p99_us=N errors=N
 *         inserted=N ledger=N commits=N rss_max_kb=N cpu_ms=N insert_us=X
 *         stats_us=X commit_us=X rss_kb=a,b,..
 * requests and rps count events (rows), not transactions; a transaction
 * begun before the end is finished and counted, and duration_us runs to
 * the end of the last one.  Latency is one
 * transaction (what a delivery waits for the database: with -b N, the N
 * events of a batch wait together).  insert_us, stats_us and commit_us
 * are the mean time per event of the event INSERTs, of the ledger INSERT
 * and counter upsert together, and of the COMMIT with its redo log flush.
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
#include "zoom_limits.h"
#include "bench_event.h"

#define MAX_PROCS 512

enum mode { MODE_TXN, MODE_AUTOCOMMIT, MODE_BATCH };

/* -L: no ledger row (the rest of the transaction unchanged). */
static bool no_ledger;

static const char autocommit_sql[] = "SET autocommit = 1";
#define MAX_SAMPLES (1 << 20)   /* latencies kept per process */

/* What each child reports back, in a shared mapping. */
struct child_result {
	long long requests;     /* events stored (committed) */
	long long commits;
	long long errors;
	long long inserted;
	long long ledger;
	long long samples;      /* latencies kept in lat[] */
	double t_insert, t_stats, t_commit;     /* seconds, summed */
	double finished;        /* when its last transaction ended */
	long rss_kb;
	int ready;
	char error[200];
};

/* The common start, written by the parent once every child is ready. */
struct start_gate {
	volatile double start, end;
	volatile int go;
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

/* One event of the batch being built: its row, its ledger row. */
struct bench_item {
	char body[8192];
	char request_id[ZE_REQUEST_ID_MAX + 1];
	struct zoom_event ev;
	long long event_id;
	int added;
};

/* The ledger row ingest.c's ledger_row_of() makes for a delivery of a
 * normalized, freshly inserted event. */
static void
ledger_row(const struct bench_item *it, long long received_ms,
    struct ledger_row *r)
{
	memset(r, 0, sizeof(*r));
	r->received_ms = received_ms;
	r->request_id = it->request_id;
	r->label = "";
	r->event_name = it->ev.event_name;
	r->meeting_id = it->ev.meeting_id;
	r->outcome = stats_outcome_name(it->added ? OUTCOME_INSERTED
	    : OUTCOME_DUPLICATE);
	r->sig_age_ms = 5;
	r->has_sig_age = true;
	r->event_ts = it->ev.event_ts;
	r->has_lag = it->ev.event_ts > 0;
	r->lag_ms = received_ms - it->ev.event_ts;
	r->event_id = it->event_id;
}

static long long
wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One transaction of n events (n = 1 for txn and autocommit), numbered
 * from seq by steps of procs.  0, or -1 with res->error set (rolled back).
 */
static int
one_transaction(struct store *st, const struct stats_shard *shard,
    enum mode mode, struct bench_item *items, size_t n, unsigned run,
    unsigned long long seq, int procs, long long base_ms,
    struct child_result *res)
{
	struct ledger_row rows[ZE_MAX_BATCH];
	struct stats_counts sum, delta;
	long long received_ms = wall_now_ms();
	double ta, tb, tc, td;
	char err[256];

	memset(&sum, 0, sizeof(sum));
	for (size_t i = 0; i < n; i++) {
		struct bench_item *it = &items[i];
		unsigned long long s = seq + i * (unsigned long long)procs;
		size_t len = bench_event(it->body, sizeof(it->body), run, s,
		    base_ms);

		if (normalize_event(it->body, len, &it->ev, err, sizeof(err))
		    != NORM_OK) {
			snprintf(res->error, sizeof(res->error),
			    "normalize: %.150s", err);
			return -1;
		}
		snprintf(it->request_id, sizeof(it->request_id),
		    "dbdirect-%u-%llu", run, s);
	}
	ta = now_s();
	for (size_t i = 0; i < n; i++) {
		if (store_insert_event(st, &items[i].ev, &items[i].added,
		    &items[i].event_id) != 0)
			goto fail;
		stats_for_outcome(items[i].added ? OUTCOME_INSERTED
		    : OUTCOME_DUPLICATE, false, &delta);
		stats_sum(&sum, &delta);
		ledger_row(&items[i], received_ms, &rows[i]);
	}
	tb = now_s();
	if (mode != MODE_AUTOCOMMIT &&
	    ((!no_ledger && store_insert_ledger(st, rows, n) != 0) ||
	    stats_add(st, shard, &sum) != 0))
		goto fail;
	tc = now_s();
	if (mode != MODE_AUTOCOMMIT && store_commit(st) != 0)
		goto fail;
	td = now_s();
	res->t_insert += tb - ta;
	res->t_stats += tc - tb;
	res->t_commit += td - tc;
	for (size_t i = 0; i < n; i++)
		res->inserted += items[i].added;
	if (mode != MODE_AUTOCOMMIT && !no_ledger)
		res->ledger += (long long)n;
	res->commits++;
	return 0;

fail:
	/* As ingest.c's ingest_after_failure(): roll back, reconnect if the
	 * connection is gone. */
	snprintf(res->error, sizeof(res->error), "%s", store_errmsg(st));
	store_rollback(st);
	if (store_err_is_connection(st))
		store_close(st);
	return -1;
}

/*
 * One process: connect, tell the parent, wait for the common start, then
 * transactions of batch events until the end.  Latencies (microseconds,
 * one per event) go to lat[0..), at most MAX_SAMPLES.
 */
static void
child(const struct config *cfg, enum mode mode, size_t batch, int idx,
    int procs, unsigned run, long long base_ms, struct start_gate *gate,
    struct child_result *res, unsigned *lat)
{
	struct store *st = store_new(&cfg->db, cfg->db_timeout_s);
	struct stats_shard shard = { cfg->instance,
		(int)(getpid() % cfg->stats_slots) };
	static struct bench_item items[ZE_MAX_BATCH];
	unsigned long long seq = (unsigned long long)idx;

	if (store_open(st) != 0 || (mode == MODE_AUTOCOMMIT &&
	    store_exec(st, autocommit_sql, NULL, 0, NULL) != 0)) {
		snprintf(res->error, sizeof(res->error), "connect: %s",
		    store_errmsg(st));
		res->ready = -1;
		store_free(st);
		return;
	}
	__atomic_store_n(&res->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&gate->go, __ATOMIC_ACQUIRE))
		usleep(500);
	while (now_s() < gate->start)
		usleep(200);
	for (;;) {
		double t0 = now_s(), t1;

		if (t0 >= gate->end)
			break;
		if (one_transaction(st, &shard, mode, items, batch, run, seq,
		    procs, base_ms, res) != 0) {
			res->errors++;
			if (strncmp(res->error, "normalize:", 10) == 0)
				break;
			if (!store_is_open(st) && store_open(st) != 0)
				usleep(10000);
			if (mode == MODE_AUTOCOMMIT && store_is_open(st))
				(void)store_exec(st, autocommit_sql, NULL, 0,
				    NULL);
			continue;
		}
		t1 = now_s();
		for (size_t i = 0; i < batch; i++)
			if (res->samples < MAX_SAMPLES)
				lat[res->samples++] =
				    (unsigned)((t1 - t0) * 1e6);
		res->requests += (long long)batch;
		res->finished = t1;
		seq += batch * (unsigned long long)procs;
	}
	res->rss_kb = vm_rss_kb();
	store_free(st);
}

static void
usage(void)
{
	fprintf(stderr, "usage: db_direct -c PROCS -d SECONDS [-r RUN] "
	    "[-m txn|autocommit|batch] [-b N] [-L]\n");
	exit(2);
}

/* Sum the children's results and print the BENCH line. */
static void
report(const struct child_result *res, int procs, const unsigned *lat,
    double start, double secs, int failed)
{
	long long total = 0, errors = 0, inserted = 0, ledger = 0,
	    commits = 0, n = 0;
	double t_ins = 0, t_sta = 0, t_com = 0;
	long rss_max = 0;
	struct rusage ru;
	unsigned *all;

	for (int i = 0; i < procs; i++)
		n += res[i].samples;
	if ((all = malloc(sizeof(unsigned) * (size_t)(n + 1))) == NULL)
		exit(1);
	n = 0;
	for (int i = 0; i < procs; i++) {
		if (res[i].ready < 0 || res[i].error[0] != '\0')
			fprintf(stderr, "db_direct: process %d: %s\n", i,
			    res[i].error);
		memcpy(all + n, lat + (size_t)i * MAX_SAMPLES,
		    sizeof(unsigned) * (size_t)res[i].samples);
		n += res[i].samples;
		total += res[i].requests;
		commits += res[i].commits;
		errors += res[i].errors + (res[i].ready < 0);
		inserted += res[i].inserted;
		ledger += res[i].ledger;
		t_ins += res[i].t_insert;
		t_sta += res[i].t_stats;
		t_com += res[i].t_commit;
		if (res[i].rss_kb > rss_max)
			rss_max = res[i].rss_kb;
	}
	/* A transaction begun before the end is finished and counted, so the
	 * run lasted until the last one ended (it matters for big batches). */
	for (int i = 0; i < procs; i++)
		if (res[i].finished - start > secs)
			secs = res[i].finished - start;
	qsort(all, (size_t)n, sizeof(unsigned), cmp_u32);
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("BENCH requests=%lld duration_us=%.0f rps=%.1f p50_us=%u "
	    "p99_us=%u errors=%lld inserted=%lld ledger=%lld commits=%lld "
	    "rss_max_kb=%ld cpu_ms=%ld insert_us=%.0f stats_us=%.0f "
	    "commit_us=%.0f rss_kb=", total, secs * 1e6,
	    (double)total / secs, n ? all[(size_t)(n * 50 / 100)] : 0,
	    n ? all[(size_t)(n * 99 / 100)] : 0, errors + failed, inserted,
	    ledger, commits, rss_max,
	    (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000,
	    total ? t_ins / (double)total * 1e6 : 0,
	    total ? t_sta / (double)total * 1e6 : 0,
	    total ? t_com / (double)total * 1e6 : 0);
	for (int i = 0; i < procs; i++)
		printf("%s%ld", i ? "," : "", res[i].rss_kb);
	printf("\n");
	free(all);
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	struct child_result *res;
	struct start_gate *gate;
	unsigned *lat;
	double secs = 10, give_up;
	long long base_ms;
	int procs = 4, c, failed = 0, errors = 0, batch = 0;
	unsigned run = 1;
	enum mode mode = MODE_TXN;
	pid_t pids[MAX_PROCS];
	char err[512];
	size_t lat_bytes;

	while ((c = getopt(argc, argv, "c:d:r:m:b:L")) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "txn") == 0)
				mode = MODE_TXN;
			else if (strcmp(optarg, "autocommit") == 0)
				mode = MODE_AUTOCOMMIT;
			else if (strcmp(optarg, "batch") == 0)
				mode = MODE_BATCH;
			else
				usage();
			break;
		case 'b': batch = atoi(optarg); break;
		case 'L': no_ledger = true; break;
		case 'c': procs = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'r': run = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (mode != MODE_BATCH && batch > 1)
		usage();
	if (batch < 1)
		batch = 1;
	if (procs < 1 || procs > MAX_PROCS || secs <= 0 ||
	    batch > ZE_MAX_BATCH)
		usage();
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "db_direct: configuration: %s\n", err);
		return 1;
	}
	res = mmap(NULL, sizeof(*res) * (size_t)procs, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	gate = mmap(NULL, sizeof(*gate), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	lat_bytes = sizeof(unsigned) * (size_t)MAX_SAMPLES * (size_t)procs;
	lat = mmap(NULL, lat_bytes, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED || gate == MAP_FAILED || lat == MAP_FAILED) {
		perror("db_direct: mmap");
		return 1;
	}
	memset(res, 0, sizeof(*res) * (size_t)procs);
	memset(gate, 0, sizeof(*gate));
	base_ms = wall_now_ms();
	for (int i = 0; i < procs; i++) {
		if ((pids[i] = fork()) < 0) {
			perror("db_direct: fork");
			return 1;
		}
		if (pids[i] == 0) {
			child(&cfg, mode, (size_t)batch, i, procs, run, base_ms,
			    gate, &res[i], lat + (size_t)i * MAX_SAMPLES);
			_exit(0);
		}
	}
	/* The clock starts once every child has connected (or failed), or
	 * after 10 s at most. */
	give_up = now_s() + 10;
	for (int i = 0; i < procs; i++)
		while (__atomic_load_n(&res[i].ready, __ATOMIC_ACQUIRE) == 0 &&
		    now_s() < give_up)
			usleep(1000);
	gate->start = now_s() + 0.05;
	gate->end = gate->start + secs;
	__atomic_store_n(&gate->go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < procs; i++) {
		int status;

		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	}
	report(res, procs, lat, gate->start, secs, failed);
	for (int i = 0; i < procs; i++)
		errors += res[i].errors != 0 || res[i].ready < 0;
	return errors + failed > 0 ? 1 : 0;
}
