/*
 * clock.h -- the two clocks of zoom_events, in milliseconds.
 *
 * mono_ms() measures durations and deadlines (the retry budget, caches,
 * drain budgets): it never jumps.  wall_ms() stamps what leaves the
 * process (received_at, spool records, ledger rows) and compares with
 * Zoom's own clock (event_ts, x-zm-request-timestamp).
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <time.h>

static inline long long
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic milliseconds: the clock of every deadline. */
static inline long long
mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* Unix time in milliseconds. */
static inline long long
wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

#endif /* CLOCK_H */
