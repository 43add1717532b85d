/*
 * stats.h -- the shared counters: which outcome bumps what, and the
 * zoom_stats table that every worker on every host adds to.
 *
 * STATS_COUNTERS is the one list of counters.  The struct, the SQL of
 * stats.c, the health JSON and the Prometheus text are all generated from
 * it, so adding a counter is one line here plus a column in sql/ (a
 * migration: ALTER TABLE zoom_stats ADD COLUMN name BIGINT UNSIGNED NOT
 * NULL DEFAULT 0).  (zoom_stats.rejected_auth is no longer written: a 401
 * must not write to the database, so 401s are counted per host in
 * metrics.c.)
 */
#ifndef STATS_H
#define STATS_H

#include <stdbool.h>
#include <stddef.h>

struct store;

/* X(column and JSON name, Prometheus help text), in zoom_stats order. */
#define STATS_COUNTERS(X)                                                 \
	X(received, "Deliveries stored: events and dead letters")         \
	X(inserted, "Rows added to zoom_visit_events")                    \
	X(duplicates, "Deliveries already stored (Zoom retries)")         \
	X(ignored, "Non-meeting events kept as dead letters")             \
	X(rejected, "Malformed events kept as dead letters")              \
	X(url_validations, "Zoom endpoint validations answered")          \
	X(replayed, "Deliveries stored from a spool")

/* What happened to one delivery; each bumps its own counters. */
enum stats_outcome {
	OUTCOME_INSERTED,       /* a new row in zoom_visit_events */
	OUTCOME_DUPLICATE,      /* the unique key already had it */
	OUTCOME_IGNORED,        /* not a meeting event: kept as dead letter */
	OUTCOME_REJECTED,       /* a malformed event: kept as dead letter */
	OUTCOME_URL_VALIDATION, /* Zoom's endpoint check, answered */
	OUTCOME_COUNT
};

/* The counters, one long long per STATS_COUNTERS row. */
struct stats_counts {
#define STATS_FIELD(name, help) long long name;
	STATS_COUNTERS(STATS_FIELD)
#undef STATS_FIELD
};

/* The list as data, for renderers: name, help and where in the struct.
 * Defined here (static) so that pure modules need not link stats.o. */
struct stats_field {
	const char *name;
	const char *help;
	size_t offset;
};

#define STATS_FIELD_ROW(name, help)                                       \
	{ #name, help, offsetof(struct stats_counts, name) },
static const struct stats_field stats_fields[] = {
	STATS_COUNTERS(STATS_FIELD_ROW)
};
#undef STATS_FIELD_ROW
#define STATS_NFIELDS (sizeof(stats_fields) / sizeof(stats_fields[0]))

/* The value of field f in c. */
static inline long long
stats_get(const struct stats_counts *c, const struct stats_field *f)
{
	return *(const long long *)(const void *)((const char *)c + f->offset);
}

/* A worker's place in zoom_stats: its rows never collide with another
 * host's, and rarely with another worker's on the same host. */
struct stats_shard {
	const char *instance;
	int slot;
};

/* Counters one outcome adds; replayed marks a spool replay. */
void stats_for_outcome(enum stats_outcome o, bool replayed,
    struct stats_counts *delta);

/* a += b, field by field. */
void stats_sum(struct stats_counts *a, const struct stats_counts *b);

/* Add delta to the shard's row within the current transaction (the same
 * one as the event it counts).  0 or -1 (see store_errmsg()). */
int stats_add(struct store *st, const struct stats_shard *shard,
    const struct stats_counts *delta);

/* The sums over every row: what every worker reports.  Ends the read
 * transaction.  0 or -1. */
int stats_read(struct store *st, struct stats_counts *total);

/* A short name for an outcome ("inserted"), for logs and headers. */
const char *stats_outcome_name(enum stats_outcome o);

#endif /* STATS_H */
