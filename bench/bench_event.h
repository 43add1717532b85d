/*
 * bench/bench_event.h -- the benchmark's synthetic Zoom meeting events.
 *
 * Realistic (shaped like Zoom's meeting.* webhooks, about 600 bytes on
 * average) and all distinct: the uuid encodes (run, seq) and event_ts is
 * base_ms + seq, so every delivery is a real insert, never a duplicate.
 * Shared by gen_requests.c (signed HTTP requests for wrk) and db_direct.c
 * (the same rows straight into the database), so both insert the same
 * kind of row.  Header-only, no I/O.
 */
#ifndef BENCH_EVENT_H
#define BENCH_EVENT_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

static const char bench_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A Zoom-style 24-character base64 uuid, unique for (run, seq). */
static void
bench_uuid(char out[25], unsigned run, unsigned long long seq)
{
	unsigned long long v = ((unsigned long long)(run & 0xffffu) << 44) ^
	    (seq & 0xfffffffffffull);
	unsigned long long h = v * 0x9e3779b97f4a7c15ull;

	/* 11 digits carry v exactly (66 bits >= 60); 11 more look random. */
	for (int i = 0; i < 11; i++, v >>= 6)
		out[i] = bench_b64[v & 63];
	for (int i = 11; i < 22; i++, h >>= 5)
		out[i] = bench_b64[(h ^ (h >> 29)) & 63];
	out[22] = '=';
	out[23] = '=';
	out[24] = '\0';
}

/* An ISO time string for Unix milliseconds (UTC). */
static void
bench_iso(char out[32], long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

static const char *const bench_names[] = {
	"Dr. Amelia Okonkwo-Hernandez", "Jonas Lindqvist", "Priya Raghunathan",
	"Mei-Ling Chen", "Carlos Eduardo Silva", "Fatima Al-Zahra",
	"Interpreter (Spanish) - Lucia Moreno", "Patient Room 412",
};

/*
 * Event number seq of run `run` into buf (NUL-terminated); returns its
 * length, or 0 when size is too small.  One in twenty is meeting.started,
 * one in twenty meeting.ended, the rest participant joins and leaves.
 */
static size_t
bench_event(char *buf, size_t size, unsigned run, unsigned long long seq,
    long long base_ms)
{
	static const char account[] = "D8cJuqWVQ623CI4Q8yQK0Q";
	static const char host[] = "z8yCZ7RtS1yXqJ3hJk2vMg";
	char uuid[25], when[32], start[32], puid[25];
	unsigned long long meeting = 81234500000ull + seq % 997;
	long long ts = base_ms + (long long)seq;
	unsigned kind = (unsigned)(seq % 20);
	const char *name = bench_names[seq % 8];
	int n;

	bench_uuid(uuid, run, seq);
	bench_uuid(puid, run ^ 0x5a5au, seq);
	bench_iso(when, ts);
	bench_iso(start, ts - 600000);
	if (kind == 0 || kind == 1) {
		n = snprintf(buf, size,
		    "{\"event\":\"meeting.%s\",\"event_ts\":%lld,"
		    "\"payload\":{\"account_id\":\"%s\",\"object\":{"
		    "\"uuid\":\"%s\",\"id\":\"%llu\",\"host_id\":\"%s\","
		    "\"topic\":\"Telehealth visit %llu - follow-up consultation"
		    "\",\"type\":2,\"start_time\":\"%s\",%s%s%s"
		    "\"duration\":30,\"timezone\":\"America/Chicago\","
		    "\"settings\":{\"join_before_host\":false,"
		    "\"waiting_room\":true,\"language_interpretation\":"
		    "{\"enable\":true}}}}}",
		    kind == 0 ? "started" : "ended", ts, account, uuid, meeting,
		    host, meeting, start, kind == 1 ? "\"end_time\":\"" : "",
		    kind == 1 ? when : "", kind == 1 ? "\"," : "");
	} else {
		int joined = kind < 11;

		n = snprintf(buf, size,
		    "{\"event\":\"meeting.participant_%s\",\"event_ts\":%lld,"
		    "\"payload\":{\"account_id\":\"%s\",\"object\":{"
		    "\"uuid\":\"%s\",\"id\":\"%llu\",\"host_id\":\"%s\","
		    "\"topic\":\"Telehealth visit %llu\",\"type\":2,"
		    "\"start_time\":\"%s\",\"timezone\":\"America/Chicago\","
		    "\"duration\":30,\"participant\":{\"user_id\":\"%llu\","
		    "\"user_name\":\"%s\",\"id\":\"%s\","
		    "\"participant_uuid\":\"%s\",\"%s_time\":\"%s\","
		    "\"email\":\"p%llu@clinic.example.org\","
		    "\"registrant_id\":\"\",\"phone_number\":\"\"%s},"
		    "\"latency_ms\":%u}}}",
		    joined ? "joined" : "left", ts, account, uuid, meeting,
		    host, meeting, start, 16778240ull + seq % 5000, name, puid,
		    puid, joined ? "join" : "leave", when, seq % 5000,
		    joined ? "" : ",\"leave_reason\":\"left the meeting."
		    " Reason : left the meeting\"", (unsigned)(20 + seq % 180));
	}
	if (n < 0 || (size_t)n >= size)
		return 0;
	return (size_t)n;
}

#endif /* BENCH_EVENT_H */
