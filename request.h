/*
 * request.h -- handle one request (see request.c) for a worker.  The
 * caller, zoom_events.c, owns the transport: it hands each request over
 * as a struct request_io for FastCGI or CGI.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ingest.h"

/* Where a request comes from and goes to. */
struct request_io {
	/* A request parameter (CGI variable), or NULL when absent. */
	const char *(*param)(void *ctx, const char *name);
	/* Read up to len body bytes, as many as arrive; returns the count. */
	size_t (*read)(void *ctx, char *buf, size_t len);
	/* Write all of buf; 0, or -1 when the client went away. */
	int (*write)(void *ctx, const char *buf, size_t len);
	void *ctx;
};

/*
 * A worker process's state, set up once and shared by its request
 * threads.  The ingest path is thread-safe (group commit); the rest is
 * read-only after request_worker_init() or changed with atomics.
 */
struct worker {
	const struct config *cfg;
	struct ingest *in;
	int label_index[ZE_MAX_SECRETS]; /* each secret's metrics label */
	long long next_drain;   /* monotonic ms of the next drain check */
	int drain_now;          /* check the spool after this request */
	int draining;           /* a thread is replaying the spool */
	unsigned long served;
};

/* One request thread's own: the body buffer, reused by its requests. */
struct worker_thread {
	struct worker *w;
	char *body;             /* max_body_bytes + 1, allocated once */
	char *redacted;         /* store_raw redacted or none: the body
				 * as stored */
	size_t redacted_size;
};

/* Set up w for cfg (which must outlive it): the ingest path (no
 * connection yet) and the host's shared metrics. */
void request_worker_init(struct worker *w, const struct config *cfg);
void request_worker_release(struct worker *w);

/* A thread's state for w (its body buffer). */
void request_thread_init(struct worker_thread *t, struct worker *w);
void request_thread_release(struct worker_thread *t);

/* Answer one request completely, count it and log its line. */
void request_handle(struct worker_thread *t, const struct request_io *io);

/* After the response has gone: replay the spool when it is due. */
void request_after(struct worker_thread *t);

#endif /* REQUEST_H */
