/*
 * request.c -- one request: the checks (method, type, length, body,
 * signature), routing, the handlers of the three routes, the mapping of
 * every outcome to an HTTP status, and the request's log line.  Reads and
 * writes through struct request_io, so it knows nothing of FastCGI.
 */
#include "request.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
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
	struct worker_thread *t;
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
	unsigned long seq;      /* this process's request number */
	int secret;             /* the secret that verified, -1 none */
	long long sig_ts;       /* x-zm-request-timestamp, 0 none */
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

/* The request id Zoom sent (x-zm-request-id, or x-zm-trackingid from
 * older senders), reduced to safe characters, or a local one. */
static void
set_request_id(struct request *rq)
{
	const char *v = param(rq->io, "HTTP_X_ZM_REQUEST_ID");
	size_t n = 0;

	if (*v == '\0')
		v = param(rq->io, "HTTP_X_ZM_TRACKINGID");

	for (; *v != '\0' && n < ZE_REQUEST_ID_MAX; v++)
		if (strchr(ZE_ID_CHARS, *v) != NULL)
			rq->request_id[n++] = *v;
	rq->request_id[n] = '\0';
	if (n == 0)
		snprintf(rq->request_id, sizeof(rq->request_id), "local-%ld-%lu",
		    (long)getpid(), rq->seq);
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

/* A 401 is counted for the label of the Zoom account it claims to come
 * from (payload.account_id, learned from earlier verified deliveries), so
 * that a secret rotated on one side only shows up under its label.  The
 * body is parsed only for that, never trusted. */
static void
count_auth_failure(const char *body, size_t len)
{
	struct zoom_event ev;

	normalize_event(body, len, &ev, NULL, 0);
	metrics_auth_failure(ev.account_id[0] != '\0' ?
	    metrics_account_label(ev.account_id) : METRICS_LABEL_UNKNOWN);
}

/*
 * Check x-zm-signature.  Returns true when the request may go on, with
 * the verifying secret in rq->secret.  A refusal writes nothing to the
 * database: an unauthenticated request must not cost a commit.
 */
static bool
check_signature(struct request *rq, const char *body, size_t len)
{
	const struct config *cfg = rq->w->cfg;
	const struct sig_window win = { (long long)time(NULL),
		cfg->sig_max_age_s, cfg->sig_max_future_s };
	size_t matched = 0;
	enum sig_result r;

	rq->secret = -1;
	if (cfg->nsecrets == 0 && cfg->allow_unsigned)
		return true;
	r = sig_verify(cfg->secrets, cfg->nsecrets,
	    param(rq->io, "HTTP_X_ZM_REQUEST_TIMESTAMP"),
	    param(rq->io, "HTTP_X_ZM_SIGNATURE"), body, len, &win, &matched,
	    &rq->sig_ts);
	if (r == SIG_OK) {
		rq->secret = (int)matched;
		return true;
	}
	rq->outcome = "auth_failed";
	count_auth_failure(body, len);
	respond_error(rq, r == SIG_INTERNAL ? 500 : 401, "",
	    sig_strerror(r));
	return false;
}

/* endpoint.url_validation: answer with the token signed by the secret
 * that verified the request, so that each account (label) revalidates
 * with its own secret, whatever its place in the list. */
static void
answer_validation(struct request *rq, const struct zoom_event *ev)
{
	const struct config *cfg = rq->w->cfg;
	char hex[SIG_HEX_LEN + 1], buf[ZE_PLAIN_TOKEN_MAX * 6 + 160];
	struct outbuf body;

	rq->outcome = "url_validation";
	if (cfg->nsecrets == 0 || rq->secret < 0) {
		respond_error(rq, 400, "", "URL validation needs a webhook "
		    "secret, and none is configured");
		return;
	}
	if (sig_hmac_hex(cfg->secrets[rq->secret], ev->plain_token,
	    strlen(ev->plain_token), hex) != 0) {
		respond_error(rq, 500, "", "cannot compute the token");
		return;
	}
	outbuf_init(&body, buf, sizeof(buf));
	outbuf_str(&body, "{\"plainToken\":");
	outbuf_json_str(&body, ev->plain_token);
	outbuf_printf(&body, ",\"encryptedToken\":\"%s\"}", hex);
	metrics_validation(rq->w->label_index[rq->secret], (long long)time(NULL));
	ingest_count(rq->w->in, OUTCOME_URL_VALIDATION);
	respond(rq, 200, "", body.buf);
}

/* The signature's facts into d, and the delivery into the host metrics:
 * its label, signature age and delivery lag. */
static void
note_delivery(struct request *rq, struct delivery *d)
{
	const struct config *cfg = rq->w->cfg;
	double lag = NAN;
	int label = METRICS_LABEL_UNKNOWN;

	snprintf(d->sig_ts, sizeof(d->sig_ts), "%s",
	    param(rq->io, "HTTP_X_ZM_REQUEST_TIMESTAMP"));
	snprintf(d->signature, sizeof(d->signature), "%s",
	    param(rq->io, "HTTP_X_ZM_SIGNATURE"));
	d->label = "";
	if (rq->secret >= 0) {
		d->label = cfg->labels[rq->secret];
		label = rq->w->label_index[rq->secret];
		d->sig_age_ms = d->received_ms - rq->sig_ts * 1000;
		d->has_sig_age = true;
		if (d->ev.account_id[0] != '\0')
			metrics_learn_account(d->ev.account_id, label);
	}
	if (d->ev.event_ts > 0)
		lag = (double)(d->received_ms - d->ev.event_ts) / 1e3;
	metrics_delivery(label, d->received_ms / 1000, d->has_sig_age ?
	    (double)d->sig_age_ms / 1e3 : NAN, lag);
}

/*
 * The request checks, cheapest first: method, type, length (before any
 * read), body, signature.  Fills d and returns true when the delivery may
 * go on; otherwise it has been answered.
 */
static bool
accept_delivery(struct request *rq, struct delivery *d)
{
	struct worker_thread *t = rq->t;
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
	if (rq->io->read(rq->io->ctx, t->body, (size_t)len) != (size_t)len) {
		respond_error(rq, 400, "", "body shorter than Content-Length");
		return false;
	}
	t->body[len] = '\0';
	if (!check_signature(rq, t->body, (size_t)len))
		return false;
	memset(d, 0, sizeof(*d));
	d->body = t->body;
	d->len = (size_t)len;
	memcpy(d->request_id, rq->request_id, sizeof(d->request_id));
	d->received_ms = wall_ms();
	d->started_ms = rq->started;
	d->secret = rq->secret;
	delivery_normalize(d);
	if (norm_class(d->result) != NORM_CLASS_VALIDATION) {
		note_delivery(rq, d);
		ingest_protect(rq->w->cfg, d, t->redacted, t->redacted_size);
	}
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
	case NORM_CLASS_BAD_REQUEST:
		/* A signed delivery that is not JSON is still Zoom's: keep it
		 * as a dead letter, but tell the sender it was wrong.  A
		 * plainToken that must not be signed ends here too. */
		rq->outcome = norm_strerror(d.result);
		if (w->cfg->nsecrets > 0)
			ingest_store(w->in, &d, &res);
		respond_error(rq, 400, "", d.err);
		return;
	case NORM_CLASS_EVENT:
	case NORM_CLASS_IGNORED:
	case NORM_CLASS_REJECTED:
		break;
	}
	ingest_store(w->in, &d, &res);
	switch (res.fate) {
	case FATE_STORED:
		rq->outcome = stats_outcome_name(res.outcome);
		if (res.outcome == OUTCOME_IGNORED ||
		    res.outcome == OUTCOME_REJECTED)
			snprintf(rq->error, sizeof(rq->error), "%s", d.err);
		break;
	case FATE_SPOOLED:
		rq->outcome = "spooled";
		/* The database is down: no replay after this one. */
		__atomic_store_n(&w->drain_now, 0, __ATOMIC_RELAXED);
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

/*
 * Is this request from the public side?  The shipped nginx set-up says so
 * (fastcgi_param ZOOM_EVENTS_PUBLIC 1 on the HTTPS server); and any peer
 * that is not on this host is public whatever the web server says.  The
 * public side gets health's status only, and no metrics: host names,
 * Galera state, pids, version and counters stay on the loopback listener.
 */
static bool
is_public(const struct request *rq)
{
	const char *addr = param(rq->io, "REMOTE_ADDR");

	if (strcmp(param(rq->io, "ZOOM_EVENTS_PUBLIC"), "1") == 0)
		return true;
	return addr[0] != '\0' && strncmp(addr, "127.", 4) != 0 &&
	    strcmp(addr, "::1") != 0 && strncmp(addr, "::ffff:127.", 11) != 0 &&
	    strncmp(addr, "unix:", 5) != 0;
}

/*
 * Only the labels of this worker's configuration, and "unknown": a label
 * retired from the configuration keeps its numbers in the host's file,
 * but its series must not stay in the metrics (an alert on it could never
 * clear).
 */
static void
configured_labels(const struct config *cfg, struct metrics_snapshot *m)
{
	int k = 0;

	for (int i = 0; i < m->nlabels; i++) {
		bool keep = strcmp(m->labels[i].name, "unknown") == 0;

		for (size_t j = 0; j < cfg->nsecrets && !keep; j++)
			keep = strcmp(m->labels[i].name, cfg->labels[j]) == 0;
		if (keep)
			m->labels[k++] = m->labels[i];
	}
	m->nlabels = k;
}

static void
handle_health(struct request *rq)
{
	struct metrics_snapshot host;
	struct health h;
	struct report r = { .version = ZE_VERSION, .worker = (long)getpid(),
		.health = &h, .host = &host, .now_ms = wall_ms() };
	char buf[8192];
	struct outbuf body;
	bool strict = strstr(param(rq->io, "QUERY_STRING"), "strict=1") != NULL;

	if (!is_read_method(rq))
		return;
	ingest_health(rq->w->in, &h);
	metrics_snapshot(&host);
	configured_labels(rq->w->cfg, &host);
	/* Replay at once only when the snapshot saw something to replay: a
	 * look at the spool directory on every check costs ~10 system calls
	 * (the once-a-second check after any request still runs). */
	__atomic_store_n(&rq->w->drain_now, h.db_up && h.spool_pending != 0,
	    __ATOMIC_RELAXED);
	outbuf_init(&body, buf, sizeof(buf));
	if (is_public(rq))
		report_health_public(&body, &r);
	else
		report_health(&body, &r);
	rq->outcome = h.db_up ? "db_up" : "db_down";
	if (!outbuf_ok(&body)) {
		respond_error(rq, 500, "", "health too large");
		return;
	}
	/* ?strict=1 is for load balancers: 503 unless this worker's
	 * database node can take writes. */
	respond(rq, strict && !report_db_ok(&h) ? 503 : 200, "", body.buf);
}

static void
handle_metrics(struct request *rq)
{
	static __thread char buf[131072];
	struct metrics_snapshot host;
	struct reason_counts reasons;
	struct health h;
	struct report r = { .version = ZE_VERSION, .worker = (long)getpid(),
		.health = &h, .host = &host, .reasons = &reasons,
		.now_ms = wall_ms() };
	struct outbuf body;

	if (!is_read_method(rq))
		return;
	if (is_public(rq)) {
		respond_error(rq, 404, "", "no such resource");
		return;
	}
	ingest_health(rq->w->in, &h);
	__atomic_store_n(&rq->w->drain_now, h.db_up, __ATOMIC_RELAXED);
	ingest_reasons(rq->w->in, &reasons);
	metrics_snapshot(&host);
	configured_labels(rq->w->cfg, &host);
	outbuf_init(&body, buf, sizeof(buf));
	report_metrics(&body, &r);
	if (!outbuf_ok(&body)) {
		respond_error(rq, 500, "", "metrics too large");
		return;
	}
	rq->outcome = h.db_up ? "db_up" : "db_down";
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
request_handle(struct worker_thread *t, const struct request_io *io)
{
	struct request rq = { .w = t->w, .t = t, .io = io, .secret = -1 };
	const struct route *r;
	char buf[1024];
	const char *path;

	clock_gettime(CLOCK_MONOTONIC, &rq.t0);
	rq.started = mono_ms();
	rq.seq = __atomic_fetch_add(&t->w->served, 1, __ATOMIC_RELAXED);
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
	finish_request(&rq);
}

/* One thread at a time per process looks at the spool; the others go back
 * to their requests. */
void
request_after(struct worker_thread *t)
{
	struct worker *w = t->w;
	long long now = mono_ms();
	int idle = 0;

	if (!__atomic_load_n(&w->drain_now, __ATOMIC_RELAXED) &&
	    now < __atomic_load_n(&w->next_drain, __ATOMIC_RELAXED))
		return;
	if (!__atomic_compare_exchange_n(&w->draining, &idle, 1, false,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&w->drain_now, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&w->next_drain, now + 1000, __ATOMIC_RELAXED);
	ingest_drain(w->in, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS);
	__atomic_store_n(&w->draining, 0, __ATOMIC_RELEASE);
}

/* The shared metrics file lives in the spool directory, the one place a
 * hardened unit may write. */
static void
open_metrics(const struct config *cfg)
{
	char path[PATH_MAX];

	if (mkdir(cfg->spool_dir, 0700) != 0 && errno != EEXIST) {
		log_warn("cannot create %s; metrics are per worker",
		    cfg->spool_dir);
		return;
	}
	if (snprintf(path, sizeof(path), "%s/metrics.shm", cfg->spool_dir) >=
	    (int)sizeof(path) || metrics_open(path) != 0)
		log_warn("cannot share metrics through %s/metrics.shm; metrics "
		    "are per worker", cfg->spool_dir);
}

void
request_worker_init(struct worker *w, const struct config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->in = ingest_new(cfg);
	w->drain_now = 1;
	open_metrics(cfg);
	/* Labels are registered at start, so that every configured label
	 * shows up in the metrics (at 0) before its first delivery. */
	for (size_t i = 0; i < cfg->nsecrets; i++)
		w->label_index[i] = metrics_label(cfg->labels[i]);
}

void
request_worker_release(struct worker *w)
{
	ingest_free(w->in);
	w->in = NULL;
}

void
request_thread_init(struct worker_thread *t, struct worker *w)
{
	memset(t, 0, sizeof(*t));
	t->w = w;
	t->body = malloc((size_t)w->cfg->max_body_bytes + 1);
	/* Redacting re-serialises the body; room for it to grow. */
	if (config_raw_policy(w->cfg) != RAW_FULL) {
		t->redacted_size = 2 * (size_t)w->cfg->max_body_bytes + 1;
		t->redacted = malloc(t->redacted_size);
	}
	if (t->body == NULL || (t->redacted_size > 0 && t->redacted == NULL))
		fatalx("out of memory");
}

void
request_thread_release(struct worker_thread *t)
{
	free(t->body);
	free(t->redacted);
	t->body = t->redacted = NULL;
}
