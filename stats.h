/*
 * stats.h -- the shared counters: which outcome bumps what, and the
 * zoom_stats table that every worker on every host adds to.
 */
#ifndef STATS_H
#define STATS_H

#include <stdbool.h>

#include "store.h"

/* What happened to one delivery; each bumps its own counters. */
enum stats_outcome {
	OUTCOME_INSERTED,       /* a new row in zoom_visit_events */
	OUTCOME_DUPLICATE,      /* the unique key already had it */
	OUTCOME_IGNORED,        /* not a meeting event: kept as dead letter */
	OUTCOME_REJECTED,       /* a malformed event: kept as dead letter */
	OUTCOME_AUTH_FAILED,    /* 401: bad or missing signature */
	OUTCOME_URL_VALIDATION, /* Zoom's endpoint check, answered */
	OUTCOME_COUNT
};

/* The counters, in zoom_stats column order. */
struct stats_counts {
	long long received;     /* deliveries with a JSON body stored */
	long long inserted;     /* rows added to zoom_visit_events */
	long long duplicates;
	long long ignored;
	long long rejected;
	long long rejected_auth;
	long long url_validations;
	long long replayed;     /* of the above, stored from the spool */
};

/* A worker's place in zoom_stats: its rows never collide with another
 * host's, and rarely with another worker's on the same host. */
struct stats_shard {
	const char *instance;
	int slot;
};

/* Counters one outcome adds; replayed marks a spool replay. */
void stats_for_outcome(enum stats_outcome o, bool replayed,
    struct stats_counts *delta);

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
