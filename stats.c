/*
 * stats.c -- what the counters mean and how they are kept.
 *
 * The counters live in zoom_stats, one row per (instance, slot): a worker
 * adds to its own shard's row in the same transaction as the event it
 * counts, so "inserted" can never disagree with zoom_visit_events, and
 * workers (or Galera nodes) do not fight over one hot row.  Readers sum the
 * rows.  Knows nothing of FastCGI; runs its SQL through store.
 */
#include "stats.h"

#include <string.h>

static const char *const outcome_names[OUTCOME_COUNT] = {
	[OUTCOME_INSERTED] = "inserted",
	[OUTCOME_DUPLICATE] = "duplicate",
	[OUTCOME_IGNORED] = "ignored",
	[OUTCOME_REJECTED] = "rejected",
	[OUTCOME_AUTH_FAILED] = "auth_failed",
	[OUTCOME_URL_VALIDATION] = "url_validation",
};

const char *
stats_outcome_name(enum stats_outcome o)
{
	return (unsigned)o < OUTCOME_COUNT ? outcome_names[o] : "unknown";
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
	case OUTCOME_AUTH_FAILED:
		d->rejected_auth = 1;
		return;         /* not "received": nothing was accepted */
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
 * deprecates and MariaDB still needs.
 */
static const char add_sql[] =
    "INSERT INTO zoom_stats (instance, slot, received, inserted, duplicates,"
    " ignored, rejected, rejected_auth, url_validations, replayed)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE"
    " received = received + ?, inserted = inserted + ?,"
    " duplicates = duplicates + ?, ignored = ignored + ?,"
    " rejected = rejected + ?, rejected_auth = rejected_auth + ?,"
    " url_validations = url_validations + ?, replayed = replayed + ?";

int
stats_add(struct store *st, const struct stats_shard *shard,
    const struct stats_counts *d)
{
	const long long v[] = { d->received, d->inserted, d->duplicates,
		d->ignored, d->rejected, d->rejected_auth, d->url_validations,
		d->replayed };
	enum { N = sizeof(v) / sizeof(v[0]) };
	struct store_val p[2 + 2 * N];

	p[0] = STORE_Z(shard->instance);
	p[1] = STORE_I(shard->slot);
	for (size_t i = 0; i < N; i++)
		p[2 + i] = p[2 + N + i] = STORE_I(v[i]);
	return store_exec(st, add_sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

static const char read_sql[] =
    "SELECT COALESCE(SUM(received), 0), COALESCE(SUM(inserted), 0),"
    " COALESCE(SUM(duplicates), 0), COALESCE(SUM(ignored), 0),"
    " COALESCE(SUM(rejected), 0), COALESCE(SUM(rejected_auth), 0),"
    " COALESCE(SUM(url_validations), 0), COALESCE(SUM(replayed), 0)"
    " FROM zoom_stats";

int
stats_read(struct store *st, struct stats_counts *t)
{
	long long *dst[] = { &t->received, &t->inserted, &t->duplicates,
		&t->ignored, &t->rejected, &t->rejected_auth,
		&t->url_validations, &t->replayed };
	enum { N = sizeof(dst) / sizeof(dst[0]) };
	struct store_col c[N];

	memset(c, 0, sizeof(c));
	for (size_t i = 0; i < N; i++)
		c[i].type = STORE_INT;
	if (store_query(st, read_sql, NULL, 0, c, N, NULL, NULL) < 0)
		return -1;
	for (size_t i = 0; i < N; i++)
		*dst[i] = c[i].is_null ? 0 : c[i].i;
	/* End the read so the next one sees newer commits. */
	return store_commit(st);
}
