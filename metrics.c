/*
 * metrics.c -- the numbers of every worker on this host, kept in a shared
 * memory-mapped file so that a Prometheus scrape, which lands on any one
 * worker, sees the whole host.  Knows nothing of FastCGI or the database.
 *
 * The file is a header (magic and layout), a label table, an account
 * table and a fixed array of slots.  A process claims the slot of its pid
 * (free, or left by a pid that no longer runs, whose counts it keeps
 * adding to, so that totals never go down) and only ever writes its own
 * slot, with relaxed atomic adds; a scrape sums all slots.  Labels are
 * claimed by name under the file's lock and never change, so workers
 * with different configurations agree on their indices.  The account
 * table only attributes 401s: a seqlock per entry, written under the
 * lock, read without it, and a torn or raced read is a miss.
 *
 * The file is created fully allocated (posix_fallocate) and never mapped
 * otherwise: a shared page that the filesystem cannot back when the disk
 * is full would kill the process with SIGBUS at its next counter.  A file
 * of another layout (an older version) is replaced by rename(), so that
 * the processes still running with it keep their mapping of the old inode.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "ZEMETR03"
#define NSLOTS ZE_METRICS_SLOTS
#define NCODES METRICS_NCODES
#define NBUCKETS METRICS_NBUCKETS
#define NAGE METRICS_NAGE
#define NBATCH METRICS_NBATCH
#define NLABELS METRICS_MAX_LABELS
#define UNKNOWN NLABELS         /* a slot's index for the unattributed */
#define NACCOUNTS 64
#define WORDS(n) (((n) + 1 + 7) / 8)    /* a string of n and its NUL */
#define LABEL_WORDS WORDS(ZE_LABEL_MAX)
#define ACCOUNT_WORDS WORDS(ZE_ACCOUNT_ID_MAX)
#define VALUE_MAX 1e9           /* seconds; keeps conversions defined */

struct label_entry {
	uint32_t used;          /* set (release) once name is written */
	uint64_t name[LABEL_WORDS];     /* NUL-padded */
};

struct account_entry {
	uint32_t seq;           /* odd while being written */
	int32_t label;
	uint64_t id[ACCOUNT_WORDS];     /* NUL-padded */
};

/* One process's numbers. */
struct slot {
	int32_t pid;                            /* owner, 0 = never used */
	uint32_t unused;
	uint64_t requests[ROUTE_COUNT][NCODES];
	uint64_t buckets[ROUTE_COUNT][NBUCKETS]; /* not cumulative */
	uint64_t count[ROUTE_COUNT];
	uint64_t sum_us[ROUTE_COUNT];
	uint64_t counters[MC_COUNT];
	uint64_t sig_age[NAGE], sig_age_count, sig_age_sum_us;
	uint64_t lag[NAGE], lag_count, lag_sum_us;
	uint64_t batch[NBATCH], batch_count, batch_sum;
	int64_t last_delivery_s;
	uint64_t deliveries[NLABELS + 1];       /* [UNKNOWN]: no label */
	uint64_t auth_failures[NLABELS + 1];
	int64_t last_validation_s[NLABELS];
};

struct tables {
	struct label_entry labels[NLABELS];     /* used ones first */
	uint32_t account_next;                  /* the next to give way */
	struct account_entry accounts[NACCOUNTS];
};

struct header {
	char magic[8];
	uint64_t size;                          /* sizeof(struct shared) */
	uint32_t nslots, slot_size, nlabels, naccounts;
};

struct shared {
	struct header h;
	struct tables t;
	struct slot slots[NSLOTS];
};

static struct shared *shm;              /* NULL: private */
static int shm_fd = -1;                 /* its file, for flock */
static struct tables private_tables;
static struct tables *tab = &private_tables;
static struct slot private_slot;
static struct slot *mine = &private_slot;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

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

static void
store_max(int64_t *p, int64_t v)
{
	int64_t old = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (old < v && !__atomic_compare_exchange_n(p, &old, v, true,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static bool
pid_runs(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

/* ------------------------------------------------------ the file */

static void
header_init(struct header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, MAGIC, sizeof(h->magic));
	h->size = sizeof(struct shared);
	h->nslots = NSLOTS;
	h->slot_size = sizeof(struct slot);
	h->nlabels = NLABELS;
	h->naccounts = NACCOUNTS;
}

/* Create base in dfd, fully allocated and stamped, as a temporary file
 * renamed over whatever is there.  The descriptor, or -1 (errno). */
static int
create_file(int dfd, const char *base)
{
	char tmp[NAME_MAX + 1];
	struct header h;
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", base) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void)unlinkat(dfd, tmp, 0);    /* left by a crash */
	fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	header_init(&h);
	/* Allocated before anyone maps it, stamped, then in place. */
	if ((e = posix_fallocate(fd, 0, sizeof(struct shared))) == 0 &&
	    (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    renameat(dfd, tmp, dfd, base) != 0))
		e = errno;
	if (e != 0) {
		close(fd);
		(void)unlinkat(dfd, tmp, 0);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * base in dfd, opened without following a symlink: a regular file of
 * ours with one link, of this layout and fully allocated (one made by an
 * older build may be sparse); created, or replaced when of another
 * layout.  Anything else is refused (EPERM).  Under dfd's flock.
 */
static int
attach_file(int dfd, const char *base)
{
	struct header h, want;
	struct stat st;
	int fd, e;

	fd = openat(dfd, base, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? create_file(dfd, base) : -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || st.st_nlink != 1) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	header_init(&want);
	if (st.st_size != (off_t)sizeof(struct shared) ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(&h, &want, sizeof(h)) != 0) {
		close(fd);
		return create_file(dfd, base);
	}
	if ((e = posix_fallocate(fd, 0, sizeof(struct shared))) != 0) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
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
	char dir[PATH_MAX] = ".";
	const char *base = path, *slash = strrchr(path, '/');
	struct shared *s = MAP_FAILED;
	struct slot *sl = NULL;
	int dfd, fd = -1, e;

	if (slash != NULL) {
		size_t n = slash == path ? 1 : (size_t)(slash - path);

		if (n >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
		base = slash + 1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	/* One process at a time creates or replaces the file. */
	while (flock(dfd, LOCK_EX) != 0)
		if (errno != EINTR)
			goto out_close_dir;
	if ((fd = attach_file(dfd, base)) >= 0) {
		s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
		if (s != MAP_FAILED && (sl = claim(s)) == NULL)
			errno = ENOSPC;
	}
out_close_dir:
	e = errno;
	close(dfd);                     /* drops the lock */
	if (sl == NULL) {
		if (s != MAP_FAILED)
			munmap(s, sizeof(*s));
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	if (shm != NULL) {              /* opened again: let the old go */
		munmap(shm, sizeof(*shm));
		close(shm_fd);
	}
	shm = s;
	shm_fd = fd;
	tab = &s->t;
	mine = sl;
	return 0;
}

/* ------------------------------------------------- counting */

static unsigned
code_index(int status)
{
	unsigned i;

	for (i = 0; i < NCODES - 1; i++)
		if (metrics_codes[i] == status)
			break;
	return i;
}

/* A value in seconds as histograms take it: NaN is none (false),
 * negatives are 0, and the huge are capped. */
static bool
clamp(double *v)
{
	if (isnan(*v))
		return false;
	if (*v < 0)
		*v = 0;
	if (*v > VALUE_MAX)
		*v = VALUE_MAX;
	return true;
}

/* Count v in the first bucket whose bound it does not exceed (none past
 * the last: count - sum of buckets is +Inf), and in count and sum. */
static void
observe(uint64_t *buckets, const double *bounds, unsigned n,
    uint64_t *count, uint64_t *sum, double v, double unit)
{
	unsigned b;

	for (b = 0; b < n && v > bounds[b]; b++)
		;
	if (b < n)
		add(&buckets[b], 1);
	add(count, 1);
	add(sum, (uint64_t)(v * unit));
}

void
metrics_observe(enum metrics_route route, int status, double seconds)
{
	if ((unsigned)route >= ROUTE_COUNT)
		route = ROUTE_OTHER;
	if (!clamp(&seconds))
		seconds = 0;
	add(&mine->requests[route][code_index(status)], 1);
	observe(mine->buckets[route], metrics_bounds, NBUCKETS,
	    &mine->count[route], &mine->sum_us[route], seconds, 1e6);
}

void
metrics_count(enum metrics_counter c)
{
	if ((unsigned)c < MC_COUNT)
		add(&mine->counters[c], 1);
}

/* A label as a slot indexes it: UNKNOWN for anything not a label. */
static unsigned
label_index(int label)
{
	return label >= 0 && label < NLABELS ? (unsigned)label : UNKNOWN;
}

void
metrics_delivery(int label, long long now_s, double sig_age_s,
    double lag_s)
{
	add(&mine->deliveries[label_index(label)], 1);
	store_max(&mine->last_delivery_s, now_s);
	if (clamp(&sig_age_s))
		observe(mine->sig_age, metrics_age_bounds, NAGE,
		    &mine->sig_age_count, &mine->sig_age_sum_us, sig_age_s,
		    1e6);
	if (clamp(&lag_s))
		observe(mine->lag, metrics_age_bounds, NAGE, &mine->lag_count,
		    &mine->lag_sum_us, lag_s, 1e6);
}

void
metrics_auth_failure(int label)
{
	add(&mine->auth_failures[label_index(label)], 1);
}

void
metrics_validation(int label, long long now_s)
{
	if (label_index(label) != UNKNOWN)
		store_max(&mine->last_validation_s[label], now_s);
}

void
metrics_batch(int n)
{
	if (n >= 1)
		observe(mine->batch, metrics_batch_bounds, NBATCH,
		    &mine->batch_count, &mine->batch_sum, n, 1);
}

/* ------------------------------------------------ the tables */

/*
 * Writers of the tables: threads by the mutex, processes by a record lock
 * on the file.  Not flock(): a child forked after metrics_open() shares
 * its parent's open file, and flock() would not keep them apart.
 */
static void
tables_lock(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	pthread_mutex_lock(&table_lock);
	if (shm_fd >= 0)
		while (fcntl(shm_fd, F_SETLKW, &fl) != 0 && errno == EINTR)
			;
}

static void
tables_unlock(void)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	if (shm_fd >= 0)
		(void)fcntl(shm_fd, F_SETLK, &fl);
	pthread_mutex_unlock(&table_lock);
}

/* s (1 to max bytes) NUL-padded into w[0..n); false when it does not
 * fit or is empty. */
static bool
pack(uint64_t *w, size_t n, const char *s, size_t max)
{
	size_t len = s != NULL ? strnlen(s, max + 1) : 0;

	if (len == 0 || len > max)
		return false;
	memset(w, 0, n * sizeof(*w));
	memcpy(w, s, len);
	return true;
}

static bool
words_equal(const uint64_t *shared, const uint64_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (__atomic_load_n(&shared[i], __ATOMIC_RELAXED) != w[i])
			return false;
	return true;
}

static void
words_store(uint64_t *shared, const uint64_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		__atomic_store_n(&shared[i], w[i], __ATOMIC_RELAXED);
}

static bool
label_used(int i)
{
	return __atomic_load_n(&tab->labels[i].used, __ATOMIC_ACQUIRE) != 0;
}

static int
label_find(const uint64_t *w)
{
	for (int i = 0; i < NLABELS && label_used(i); i++)
		if (words_equal(tab->labels[i].name, w, LABEL_WORDS))
			return i;
	return -1;
}

int
metrics_label(const char *name)
{
	uint64_t w[LABEL_WORDS];
	int i;

	/* "unknown" is the bucket of the unattributed already. */
	if (!pack(w, LABEL_WORDS, name, ZE_LABEL_MAX) ||
	    strcmp(name, "unknown") == 0)
		return METRICS_LABEL_UNKNOWN;
	if ((i = label_find(w)) >= 0)
		return i;
	tables_lock();
	if ((i = label_find(w)) < 0) {
		for (i = 0; i < NLABELS && label_used(i); i++)
			;
		if (i < NLABELS) {
			words_store(tab->labels[i].name, w, LABEL_WORDS);
			__atomic_store_n(&tab->labels[i].used, 1,
			    __ATOMIC_RELEASE);
		}
	}
	tables_unlock();
	return i < NLABELS ? i : METRICS_LABEL_UNKNOWN;
}

/* Entry i's label when it holds account w (a consistent read), else
 * METRICS_LABEL_UNKNOWN. */
static int
account_read(int i, const uint64_t *w)
{
	struct account_entry *a = &tab->accounts[i];
	uint32_t seq = __atomic_load_n(&a->seq, __ATOMIC_ACQUIRE);
	bool same;
	int32_t label;

	if (seq & 1)
		return METRICS_LABEL_UNKNOWN;
	same = words_equal(a->id, w, ACCOUNT_WORDS);
	label = __atomic_load_n(&a->label, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (!same || __atomic_load_n(&a->seq, __ATOMIC_RELAXED) != seq ||
	    label_index(label) == UNKNOWN)
		return METRICS_LABEL_UNKNOWN;
	return label;
}

static int
account_find(const uint64_t *w, int *label)
{
	for (int i = 0; i < NACCOUNTS; i++)
		if ((*label = account_read(i, w)) != METRICS_LABEL_UNKNOWN)
			return i;
	return -1;
}

void
metrics_learn_account(const char *account_id, int label)
{
	uint64_t w[ACCOUNT_WORDS];
	struct account_entry *a;
	int i, known;
	uint32_t seq;

	if (label_index(label) == UNKNOWN ||
	    !pack(w, ACCOUNT_WORDS, account_id, ZE_ACCOUNT_ID_MAX) ||
	    (account_find(w, &known) >= 0 && known == label))
		return;
	tables_lock();
	if ((i = account_find(w, &known)) < 0)
		i = (int)(tab->account_next++ % NACCOUNTS);
	a = &tab->accounts[i];
	seq = __atomic_load_n(&a->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&a->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	words_store(a->id, w, ACCOUNT_WORDS);
	__atomic_store_n(&a->label, label, __ATOMIC_RELAXED);
	__atomic_store_n(&a->seq, seq + 2, __ATOMIC_RELEASE);
	tables_unlock();
}

int
metrics_account_label(const char *account_id)
{
	uint64_t w[ACCOUNT_WORDS];
	int label;

	if (!pack(w, ACCOUNT_WORDS, account_id, ZE_ACCOUNT_ID_MAX) ||
	    account_find(w, &label) < 0)
		return METRICS_LABEL_UNKNOWN;
	return label;
}

/* ------------------------------------------------- the snapshot */

/* Live processes attached to the file (slots whose pid runs). */
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

/* Per-label sums of the slots, before they meet the names. */
struct label_sums {
	uint64_t deliveries[NLABELS + 1], auth_failures[NLABELS + 1];
	int64_t last_validation_s[NLABELS];
};

static void
add_hist(uint64_t *to, const uint64_t *from, unsigned n)
{
	for (unsigned b = 0; b < n; b++)
		to[b] += load(&from[b]);
}

static int64_t
max64(int64_t a, const int64_t *b)
{
	int64_t v = __atomic_load_n(b, __ATOMIC_RELAXED);

	return v > a ? v : a;
}

static void
add_slot(struct metrics_snapshot *t, struct label_sums *ls,
    const struct slot *s)
{
	for (unsigned r = 0; r < ROUTE_COUNT; r++) {
		add_hist(t->requests[r], s->requests[r], NCODES);
		add_hist(t->buckets[r], s->buckets[r], NBUCKETS);
		t->count[r] += load(&s->count[r]);
		t->sum_us[r] += load(&s->sum_us[r]);
	}
	add_hist(t->counters, s->counters, MC_COUNT);
	add_hist(t->sig_age, s->sig_age, NAGE);
	t->sig_age_count += load(&s->sig_age_count);
	t->sig_age_sum += (double)load(&s->sig_age_sum_us) / 1e6;
	add_hist(t->lag, s->lag, NAGE);
	t->lag_count += load(&s->lag_count);
	t->lag_sum += (double)load(&s->lag_sum_us) / 1e6;
	add_hist(t->batch, s->batch, NBATCH);
	t->batch_count += load(&s->batch_count);
	t->batch_sum += load(&s->batch_sum);
	t->last_delivery_s = max64(t->last_delivery_s, &s->last_delivery_s);
	add_hist(ls->deliveries, s->deliveries, NLABELS + 1);
	add_hist(ls->auth_failures, s->auth_failures, NLABELS + 1);
	for (unsigned i = 0; i < NLABELS; i++)
		ls->last_validation_s[i] = max64(ls->last_validation_s[i],
		    &s->last_validation_s[i]);
}

/* labels[] in metrics_label()'s order, then "unknown", which also takes
 * the counts of indices no label was ever given. */
static void
fill_labels(struct metrics_snapshot *t, const struct label_sums *ls)
{
	struct metrics_label *u;
	int n = 0;

	while (n < NLABELS && label_used(n)) {
		struct metrics_label *l = &t->labels[n];
		uint64_t w[LABEL_WORDS];

		for (unsigned i = 0; i < LABEL_WORDS; i++)
			w[i] = load(&tab->labels[n].name[i]);
		memcpy(l->name, w, ZE_LABEL_MAX);
		l->name[ZE_LABEL_MAX] = '\0';
		l->deliveries = ls->deliveries[n];
		l->auth_failures = ls->auth_failures[n];
		l->last_validation_s = ls->last_validation_s[n];
		n++;
	}
	u = &t->labels[n];
	snprintf(u->name, sizeof(u->name), "unknown");
	for (int i = n; i <= NLABELS; i++) {
		u->deliveries += ls->deliveries[i];
		u->auth_failures += ls->auth_failures[i];
	}
	t->nlabels = n + 1;
}

void
metrics_snapshot(struct metrics_snapshot *t)
{
	struct label_sums ls;

	memset(t, 0, sizeof(*t));
	memset(&ls, 0, sizeof(ls));
	for (unsigned i = 0; i < (shm ? NSLOTS : 1); i++) {
		const struct slot *s = shm ? &shm->slots[i] : &private_slot;

		if (shm && __atomic_load_n(&s->pid, __ATOMIC_RELAXED) == 0)
			continue;
		add_slot(t, &ls, s);
	}
	fill_labels(t, &ls);
	t->workers = live_workers();
}
