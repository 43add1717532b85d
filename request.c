/*
 * request.c -- one request: the checks (method, type, length, body,
 * signature), routing, the handlers of the three routes, the mapping of
 * every outcome to an HTTP status, and the request's log line.  Reads and
 * writes through struct request_io, so it knows nothing of FastCGI.
 */
#include "request.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "normalize.h"
#include "outbuf.h"
#include "report.h"
#include "signature.h"
#include "stats.h"

#ifndef ZE_VERSION
#define ZE_VERSION "1.0.0"
#endif

/* Per-request state; one teardown is not needed: nothing is allocated. */
struct request {
	struct worker *w;
	const struct request_io *io;
	const char *method;
	char request_id[ZE_REQUEST_ID_MAX + 1];
	long long started;      /* monotonic ms */
	struct timespec t0;     /* for the logged duration */
	const char *route;      /* for the log line */
	enum metrics_route mroute;
	int status;
	const char *outcome;    /* what happened, for log and header */
	char error[ZE_DETAIL_MAX + 1]; /* the error message, if any */
	char event[ZE_EVENT_NAME_MAX + 1];      /* "" when unknown */
	char meeting_id[ZE_MEETING_ID_MAX + 1];
	size_t bytes;
	bool head;
};

static const char *
param(const struct request_io *io, const char *name)
{
	const char *v = io->param(io->ctx, name);

	return v != NULL ? v : "";
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/*
 * Send a response.  headers is "" or extra lines, each ending "\r\n".  The
 * body is JSON; HEAD gets the headers only.
 */
static void
send_response(struct request *rq, int status, const char *type,
    const char *headers, const char *body)
{
	char buf[512];
	struct outbuf head;

	rq->status = status;
	outbuf_init(&head, buf, sizeof(buf));
	outbuf_printf(&head, "Status: %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n%s", status,
	    reason_phrase(status), type, strlen(body), headers);
	if (rq->outcome != NULL)
		outbuf_printf(&head, "X-Zoom-Events-Outcome: %s\r\n",
		    rq->outcome);
	outbuf_str(&head, "\r\n");
	if (!outbuf_ok(&head))
		return;
	if (rq->io->write(rq->io->ctx, head.buf, head.len) != 0 ||
	    (!rq->head && rq->io->write(rq->io->ctx, body, strlen(body)) != 0))
		log_debug("client went away before the response was sent");
}

static void
respond(struct request *rq, int status, const char *headers, const char *body)
{
	send_response(rq, status, "application/json", headers, body);
}

/* {"error":"<msg>"} with status. */
static void
respond_error(struct request *rq, int status, const char *headers,
    const char *msg)
{
	char buf[ZE_DETAIL_MAX * 6 + 16];
	struct outbuf body;

	snprintf(rq->error, sizeof(rq->error), "%s", msg);
	outbuf_init(&body, buf, sizeof(buf));
	outbuf_str(&body, "{\"error\":");
	outbuf_json_str(&body, rq->error);
	outbuf_str(&body, "}");
	respond(rq, status, headers, outbuf_ok(&body) ? body.buf :
	    "{\"error\":\"internal error\"}");
}

/* The request id Zoom sent (x-zm-request-id), reduced to safe
 * characters, or a local one. */
static void
set_request_id(struct request *rq)
{
	const char *v = param(rq->io, "HTTP_X_ZM_REQUEST_ID");
	size_t n = 0;

	for (; *v != '\0' && n < ZE_REQUEST_ID_MAX; v++)
		if (strchr(ZE_ID_CHARS, *v) != NULL)
			rq->request_id[n++] = *v;
	rq->request_id[n] = '\0';
	if (n == 0)
		snprintf(rq->request_id, sizeof(rq->request_id), "local-%ld-%lu",
		    (long)getpid(), rq->w->served);
}

/* ---- POST /zoom_events/events ---- */

/* Content-Length: 411 when absent, 400 when not a number, 413 when too
 * big.  Returns the length, or -1 after answering. */
static long long
check_length(struct request *rq)
{
	const char *cl = param(rq->io, "CONTENT_LENGTH");
	char *end;
	unsigned long long n;

	if (cl[0] == '\0') {
		respond_error(rq, 411, "", "Content-Length is required");
		return -1;
	}
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno != 0 || *end != '\0' || strspn(cl, "0123456789") !=
	    strlen(cl)) {
		if (errno == ERANGE && strspn(cl, "0123456789") == strlen(cl)) {
			respond_error(rq, 413, "", "body too large");
			return -1;
		}
		respond_error(rq, 400, "", "Content-Length is not a number");
		return -1;
	}
	if (n > (unsigned long long)rq->w->cfg->max_body_bytes) {
		respond_error(rq, 413, "", "body too large");
		return -1;
	}
	return (long long)n;
}

static bool
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	return strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Check x-zm-signature.  Returns true when the request may go on. */
static bool
check_signature(struct request *rq, const char *body, size_t len)
{
	const struct config *cfg = rq->w->cfg;
	enum sig_result r;

	if (cfg->nsecrets == 0 && cfg->allow_unsigned)
		return true;
	r = sig_verify(cfg->secrets, cfg->nsecrets,
	    param(rq->io, "HTTP_X_ZM_REQUEST_TIMESTAMP"),
	    param(rq->io, "HTTP_X_ZM_SIGNATURE"), body, len,
	    (long long)time(NULL), cfg->sig_max_age_s);
	if (r == SIG_OK)
		return true;
	rq->outcome = "auth_failed";
	ingest_count(&rq->w->in, OUTCOME_AUTH_FAILED);
	respond_error(rq, r == SIG_INTERNAL ? 500 : 401, "",
	    sig_strerror(r));
	return false;
}

/* endpoint.url_validation: answer with the token signed by the first
 * secret (the current one during a rotation). */
static void
answer_validation(struct request *rq, const struct zoom_event *ev)
{
	const struct config *cfg = rq->w->cfg;
	char hex[SIG_HEX_LEN + 1], buf[ZE_PLAIN_TOKEN_MAX * 6 + 160];
	struct outbuf body;

	rq->outcome = "url_validation";
	if (cfg->nsecrets == 0) {
		respond_error(rq, 400, "", "URL validation needs a webhook "
		    "secret, and none is configured");
		return;
	}
	if (sig_hmac_hex(cfg->secrets[0], ev->plain_token,
	    strlen(ev->plain_token), hex) != 0) {
		respond_error(rq, 500, "", "cannot compute the token");
		return;
	}
	outbuf_init(&body, buf, sizeof(buf));
	outbuf_str(&body, "{\"plainToken\":");
	outbuf_json_str(&body, ev->plain_token);
	outbuf_printf(&body, ",\"encryptedToken\":\"%s\"}", hex);
	ingest_count(&rq->w->in, OUTCOME_URL_VALIDATION);
	respond(rq, 200, "", body.buf);
}

/*
 * The request checks, cheapest first: method, type, length (before any
 * read), body, signature.  Fills d and returns true when the delivery may
 * go on; otherwise it has been answered.
 */
static bool
accept_delivery(struct request *rq, struct delivery *d)
{
	struct worker *w = rq->w;
	long long len;

	if (strcmp(rq->method, "POST") != 0) {
		respond_error(rq, 405, "Allow: POST\r\n", "use POST");
		return false;
	}
	if (!is_json_type(param(rq->io, "CONTENT_TYPE"))) {
		respond_error(rq, 415, "", "Content-Type must be "
		    "application/json");
		return false;
	}
	if ((len = check_length(rq)) < 0)
		return false;
	rq->bytes = (size_t)len;
	if (rq->io->read(rq->io->ctx, w->body, (size_t)len) != (size_t)len) {
		respond_error(rq, 400, "", "body shorter than Content-Length");
		return false;
	}
	w->body[len] = '\0';
	if (!check_signature(rq, w->body, (size_t)len))
		return false;
	memset(d, 0, sizeof(*d));
	d->body = w->body;
	d->len = (size_t)len;
	memcpy(d->request_id, rq->request_id, sizeof(d->request_id));
	d->received_ms = wall_ms();
	d->started_ms = rq->started;
	delivery_normalize(d);
	memcpy(rq->event, d->ev.event_name, sizeof(rq->event));
	memcpy(rq->meeting_id, d->ev.meeting_id, sizeof(rq->meeting_id));
	return true;
}

static void
handle_events(struct request *rq)
{
	struct worker *w = rq->w;
	struct ingest_result res;
	struct delivery d;

	if (!accept_delivery(rq, &d))
		return;
	switch (norm_class(d.result)) {
	case NORM_CLASS_VALIDATION:
		answer_validation(rq, &d.ev);
		return;
	case NORM_CLASS_BAD_JSON:
		/* A signed delivery that is not JSON is still Zoom's: keep it
		 * as a dead letter, but tell the sender it was wrong. */
		rq->outcome = norm_strerror(d.result);
		if (w->cfg->nsecrets > 0)
			ingest_store(&w->in, &d, &res);
		respond_error(rq, 400, "", d.err);
		return;
	case NORM_CLASS_EVENT:
	case NORM_CLASS_IGNORED:
	case NORM_CLASS_REJECTED:
		break;
	}
	ingest_store(&w->in, &d, &res);
	switch (res.fate) {
	case FATE_STORED:
		rq->outcome = stats_outcome_name(res.outcome);
		if (res.outcome == OUTCOME_IGNORED ||
		    res.outcome == OUTCOME_REJECTED)
			snprintf(rq->error, sizeof(rq->error), "%s", d.err);
		break;
	case FATE_SPOOLED:
		rq->outcome = "spooled";
		w->drain_now = false;   /* the database is down */
		break;
	case FATE_LOST:
		rq->outcome = "unavailable";
		respond_error(rq, 503, "Retry-After: 60\r\n", "cannot store "
		    "the event now; retry later");
		return;
	}
	respond(rq, 202, "", "{\"status\":\"accepted\"}");
}

/* ---- GET /zoom_events/health and /zoom_events/metrics ---- */

static bool
is_read_method(struct request *rq)
{
	if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0)
		return true;
	respond_error(rq, 405, "Allow: GET, HEAD\r\n", "use GET");
	return false;
}

static void
handle_health(struct request *rq)
{
	struct report r = { .version = ZE_VERSION, .worker = (long)getpid() };
	char buf[2048];
	struct outbuf body;
	bool strict = strstr(param(rq->io, "QUERY_STRING"), "strict=1") != NULL;

	if (!is_read_method(rq))
		return;
	r.health = ingest_health(&rq->w->in);
	/* Replay at once only when the snapshot saw something to replay: a
	 * look at the spool directory on every check costs ~10 system calls
	 * (the once-a-second check after any request still runs). */
	rq->w->drain_now = r.health->db_up && r.health->spool_pending != 0;
	outbuf_init(&body, buf, sizeof(buf));
	report_health(&body, &r);
	rq->outcome = r.health->db_up ? "db_up" : "db_down";
	if (!outbuf_ok(&body)) {
		respond_error(rq, 500, "", "health too large");
		return;
	}
	/* ?strict=1 is for load balancers: 503 unless this worker's
	 * database node can take writes. */
	respond(rq, strict && !report_db_ok(r.health) ? 503 : 200, "",
	    body.buf);
}

static void
handle_metrics(struct request *rq)
{
	static char buf[65536];
	struct metrics_snapshot host;
	struct report r = { .version = ZE_VERSION, .worker = (long)getpid(),
		.host = &host };
	struct outbuf body;

	if (!is_read_method(rq))
		return;
	r.health = ingest_health(&rq->w->in);
	rq->w->drain_now = r.health->db_up;
	r.reasons = ingest_reasons(&rq->w->in);
	metrics_snapshot(&host);
	outbuf_init(&body, buf, sizeof(buf));
	report_metrics(&body, &r);
	if (!outbuf_ok(&body)) {
		respond_error(rq, 500, "", "metrics too large");
		return;
	}
	rq->outcome = r.health->db_up ? "db_up" : "db_down";
	send_response(rq, 200, "text/plain; version=0.0.4; charset=utf-8", "",
	    body.buf);
}

/* ---- dispatch ---- */

/*
 * The path to route on.  PATH_INFO when a server splits it off (lighttpd,
 * CGI); else nginx's DOCUMENT_URI or SCRIPT_NAME (stock fastcgi_params
 * set no PATH_INFO); else REQUEST_URI without its query.
 */
static const char *
route_of(const struct request_io *io, char *buf, size_t size)
{
	const char *pi = param(io, "PATH_INFO");
	const char *sn = param(io, "SCRIPT_NAME");
	const char *du = param(io, "DOCUMENT_URI");
	const char *ru = param(io, "REQUEST_URI");

	if (pi[0] != '\0') {
		/* lighttpd mapping a prefix splits the path in two. */
		if (strncmp(pi, "/zoom_events/", 13) == 0)
			return pi;
		snprintf(buf, size, "%s%s", sn, pi);
		return buf;
	}
	if (du[0] != '\0')
		return du;
	if (sn[0] != '\0')
		return sn;
	snprintf(buf, size, "%.*s", (int)strcspn(ru, "?"), ru);
	return buf;
}

/* Count the request in the metrics and log its one line. */
static void
finish_request(const struct request *rq)
{
	struct logline l;
	struct timespec t1;
	enum log_level lvl = rq->status >= 500 ? LOG_LVL_WARN : LOG_LVL_INFO;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - rq->t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - rq->t0.tv_nsec) / 1e6;
	metrics_observe(rq->mroute, rq->status, ms / 1e3);
	if (!log_enabled(lvl))
		return;
	logline_init(&l);
	logline_str(&l, "req", rq->request_id);
	logline_str(&l, "method", rq->method);
	logline_str(&l, "route", rq->route);
	logline_int(&l, "status", rq->status);
	if (rq->outcome != NULL)
		logline_str(&l, "outcome", rq->outcome);
	if (rq->event[0] != '\0')
		logline_str(&l, "event", rq->event);
	if (rq->meeting_id[0] != '\0')
		logline_str(&l, "meeting_id", rq->meeting_id);
	if (rq->error[0] != '\0')
		logline_str(&l, "error", rq->error);
	logline_int(&l, "bytes", (long long)rq->bytes);
	logline_ms(&l, "duration_ms", ms);
	logline_emit(&l, lvl);
}

static const struct route {
	const char *path;
	const char *name;               /* for the log line */
	enum metrics_route metric;
	void (*handler)(struct request *rq);
} routes[] = {
	{ "/zoom_events/events", "events", ROUTE_EVENTS, handle_events },
	{ "/zoom_events/health", "health", ROUTE_HEALTH, handle_health },
	{ "/zoom_events/metrics", "metrics", ROUTE_METRICS, handle_metrics },
	{ NULL, "unknown", ROUTE_OTHER, NULL },
};

void
request_handle(struct worker *w, const struct request_io *io)
{
	struct request rq = { .w = w, .io = io };
	const struct route *r;
	char buf[1024];
	const char *path;

	clock_gettime(CLOCK_MONOTONIC, &rq.t0);
	rq.started = mono_ms();
	rq.method = param(io, "REQUEST_METHOD");
	rq.head = strcmp(rq.method, "HEAD") == 0;
	set_request_id(&rq);
	path = route_of(io, buf, sizeof(buf));
	for (r = routes; r->path != NULL && strcmp(path, r->path) != 0; r++)
		;
	rq.route = r->name;
	rq.mroute = r->metric;
	if (r->handler != NULL)
		r->handler(&rq);
	else
		respond_error(&rq, 404, "", "no such resource");
	w->served++;
	finish_request(&rq);
}

void
request_after(struct worker *w)
{
	long long now = mono_ms();

	if (!w->drain_now && now < w->next_drain)
		return;
	w->drain_now = false;
	w->next_drain = now + 1000;
	ingest_drain(&w->in, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS);
}

/* The shared metrics file lives in the spool directory, the one place a
 * hardened unit may write. */
static void
open_metrics(const struct config *cfg)
{
	char path[PATH_MAX + 16];

	if (mkdir(cfg->spool_dir, 0700) != 0 && errno != EEXIST) {
		log_warn("cannot create %s; metrics are per worker",
		    cfg->spool_dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/metrics.shm", cfg->spool_dir);
	if (metrics_open(path) != 0)
		log_warn("cannot share metrics through %s; metrics are per "
		    "worker", path);
}

void
request_worker_init(struct worker *w, const struct config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->body = malloc((size_t)cfg->max_body_bytes + 1);
	if (w->body == NULL)
		fatalx("out of memory");
	ingest_init(&w->in, cfg);
	open_metrics(cfg);
}

void
request_worker_release(struct worker *w)
{
	ingest_release(&w->in);
	free(w->body);
	w->body = NULL;
}

