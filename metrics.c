/*
 * metrics.c -- request counts and durations of every worker on this host,
 * kept in a shared memory-mapped file so that a Prometheus scrape, which
 * lands on any one worker, sees the whole host.  Knows nothing of FastCGI
 * or the database.
 *
 * The file holds a fixed array of slots.  A worker claims the slot of its
 * pid (free, or left by a pid that no longer runs, whose counts it keeps
 * adding to, so that totals never go down) and only ever writes its own
 * slot, with relaxed atomic adds; a scrape sums all slots.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoom_limits.h"

#define MAGIC "ZEMETR02"
#define NSLOTS ZE_METRICS_SLOTS
#define NCODES METRICS_NCODES
#define NBUCKETS METRICS_NBUCKETS

struct slot {
	int32_t pid;                            /* owner, 0 = never used */
	uint32_t unused;
	uint64_t requests[ROUTE_COUNT][NCODES];
	uint64_t buckets[ROUTE_COUNT][NBUCKETS]; /* not cumulative */
	uint64_t count[ROUTE_COUNT];
	uint64_t sum_us[ROUTE_COUNT];
	uint64_t counters[MC_COUNT];
};

struct shared {
	char magic[8];
	uint32_t nslots;
	uint32_t slot_size;
	struct slot slots[NSLOTS];
};

static struct shared *shm;      /* NULL: private */
static struct slot private_slot;
static struct slot *mine = &private_slot;

static void
add(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static int
pid_runs(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

/* Claim a slot for our pid: its own, a free one, or a dead owner's. */
static struct slot *
claim(struct shared *s)
{
	int32_t pid = (int32_t)getpid();

	for (unsigned i = 0; i < NSLOTS; i++) {
		struct slot *sl = &s->slots[((unsigned)pid + i) % NSLOTS];
		int32_t owner = __atomic_load_n(&sl->pid, __ATOMIC_ACQUIRE);

		if (owner == pid)
			return sl;
		if (owner != 0 && pid_runs(owner))
			continue;
		if (__atomic_compare_exchange_n(&sl->pid, &owner, pid, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return sl;
	}
	return NULL;
}

int
metrics_open(const char *path)
{
	struct shared *s;
	struct stat st;
	struct slot *sl;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	/* The first process to get here sizes and stamps the file. */
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0)
		goto fail;
	if (st.st_size == 0 && (ftruncate(fd, sizeof(*s)) != 0 ||
	    pwrite(fd, MAGIC, 8, 0) != 8))
		goto fail;
	if (fstat(fd, &st) != 0 || st.st_size != (off_t)sizeof(*s))
		goto fail;
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		goto fail;
	if (memcmp(s->magic, MAGIC, 8) != 0) {
		munmap(s, sizeof(*s));
		goto fail;
	}
	s->nslots = NSLOTS;
	s->slot_size = sizeof(struct slot);
	flock(fd, LOCK_UN);
	close(fd);
	if ((sl = claim(s)) == NULL) {
		munmap(s, sizeof(*s));
		errno = ENOSPC;
		return -1;
	}
	shm = s;
	mine = sl;
	return 0;

fail:
	close(fd);
	return -1;
}

static unsigned
code_index(int status)
{
	unsigned i;

	for (i = 0; i < NCODES - 1; i++)
		if (metrics_codes[i] == status)
			break;
	return i;
}

void
metrics_observe(enum metrics_route route, int status, double seconds)
{
	unsigned b;

	if ((unsigned)route >= ROUTE_COUNT)
		route = ROUTE_OTHER;
	add(&mine->requests[route][code_index(status)], 1);
	for (b = 0; b < NBUCKETS && seconds > metrics_bounds[b]; b++)
		;
	if (b < NBUCKETS)
		add(&mine->buckets[route][b], 1);
	add(&mine->count[route], 1);
	add(&mine->sum_us[route], (uint64_t)(seconds * 1e6));
}

void
metrics_count(enum metrics_counter c)
{
	if ((unsigned)c < MC_COUNT)
		add(&mine->counters[c], 1);
}

/* Live worker processes attached to the file (slots whose pid runs). */
static int
live_workers(void)
{
	int n = 0;

	if (shm == NULL)
		return 1;
	for (unsigned i = 0; i < NSLOTS; i++)
		if (pid_runs(__atomic_load_n(&shm->slots[i].pid,
		    __ATOMIC_RELAXED)))
			n++;
	return n;
}

void
metrics_snapshot(struct metrics_snapshot *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < (shm ? NSLOTS : 1); i++) {
		const struct slot *s = shm ? &shm->slots[i] : &private_slot;

		if (shm && __atomic_load_n(&s->pid, __ATOMIC_RELAXED) == 0)
			continue;
		for (unsigned r = 0; r < ROUTE_COUNT; r++) {
			for (unsigned c = 0; c < NCODES; c++)
				t->requests[r][c] += load(&s->requests[r][c]);
			for (unsigned b = 0; b < NBUCKETS; b++)
				t->buckets[r][b] += load(&s->buckets[r][b]);
			t->count[r] += load(&s->count[r]);
			t->sum_us[r] += load(&s->sum_us[r]);
		}
		for (unsigned c = 0; c < MC_COUNT; c++)
			t->counters[c] += load(&s->counters[c]);
	}
	t->workers = live_workers();
}
