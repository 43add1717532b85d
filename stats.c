/*
 * stats.c -- what the counters mean and how they are kept.
 *
 * The counters live in zoom_stats, one row per (instance, slot): a worker
 * adds to its own shard's row in the same transaction as the event it
 * counts, so "inserted" can never disagree with zoom_visit_events, and
 * workers (or Galera nodes) do not fight over one hot row.  Readers sum the
 * rows.  Every statement below is generated from STATS_COUNTERS.  Knows
 * nothing of FastCGI; runs its SQL through store.
 */
#include "stats.h"

#include <string.h>

#include "store.h"

#define NFIELDS STATS_NFIELDS

static const char *const outcome_names[OUTCOME_COUNT] = {
	[OUTCOME_INSERTED] = "inserted",
	[OUTCOME_DUPLICATE] = "duplicate",
	[OUTCOME_IGNORED] = "ignored",
	[OUTCOME_REJECTED] = "rejected",
	[OUTCOME_URL_VALIDATION] = "url_validation",
};

const char *
stats_outcome_name(enum stats_outcome o)
{
	return (unsigned)o < OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

static long long *
slot_of(struct stats_counts *c, size_t i)
{
	return (long long *)(void *)((char *)c + stats_fields[i].offset);
}

void
stats_sum(struct stats_counts *a, const struct stats_counts *b)
{
	for (size_t i = 0; i < NFIELDS; i++)
		*slot_of(a, i) += stats_get(b, &stats_fields[i]);
}

void
stats_for_outcome(enum stats_outcome o, bool replayed,
    struct stats_counts *d)
{
	memset(d, 0, sizeof(*d));
	switch (o) {
	case OUTCOME_INSERTED:
		d->inserted = 1;
		break;
	case OUTCOME_DUPLICATE:
		d->duplicates = 1;
		break;
	case OUTCOME_IGNORED:
		d->ignored = 1;
		break;
	case OUTCOME_REJECTED:
		d->rejected = 1;
		break;
	case OUTCOME_URL_VALIDATION:
		d->url_validations = 1;
		return;         /* a handshake, not an event */
	case OUTCOME_COUNT:
		return;
	}
	d->received = 1;
	d->replayed = replayed;
}

/*
 * One statement whether or not the shard's row exists yet.  The deltas are
 * bound twice rather than read back with VALUES(), which MySQL 8.0.20
 * deprecates and MariaDB still needs.  "slot = slot" absorbs the list's
 * leading comma.
 */
#define COL(name, help) ", " #name
#define QMARK(name, help) ", ?"
#define ADD(name, help) ", " #name " = " #name " + ?"
static const char add_sql[] =
    "INSERT INTO zoom_stats (instance, slot" STATS_COUNTERS(COL) ")"
    " VALUES (?, ?" STATS_COUNTERS(QMARK) ")"
    " ON DUPLICATE KEY UPDATE slot = slot" STATS_COUNTERS(ADD);

#define SUM(name, help) ", COALESCE(SUM(" #name "), 0)"
static const char read_sql[] =
    "SELECT COUNT(*)" STATS_COUNTERS(SUM) " FROM zoom_stats";

int
stats_add(struct store *st, const struct stats_shard *shard,
    const struct stats_counts *d)
{
	struct store_val p[2 + 2 * NFIELDS];

	p[0] = STORE_Z(shard->instance);
	p[1] = STORE_I(shard->slot);
	for (size_t i = 0; i < NFIELDS; i++)
		p[2 + i] = p[2 + NFIELDS + i] =
		    STORE_I(stats_get(d, &stats_fields[i]));
	return store_exec(st, add_sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

int
stats_read(struct store *st, struct stats_counts *t)
{
	struct store_col c[1 + NFIELDS];

	memset(c, 0, sizeof(c));
	for (size_t i = 0; i < 1 + NFIELDS; i++)
		c[i].type = STORE_INT;
	if (store_query(st, read_sql, NULL, 0, c, 1 + NFIELDS, NULL,
	    NULL) < 0)
		return -1;
	for (size_t i = 0; i < NFIELDS; i++)
		*slot_of(t, i) = c[1 + i].is_null ? 0 : c[1 + i].i;
	/* End the read so the next one sees newer commits. */
	return store_commit(st);
}
