/*
 * zoom_events.c -- main: options, configuration, the FastCGI accept loop
 * (or one CGI request), request checks, routing, and the mapping of every
 * outcome to an HTTP status.  The only file that sees FastCGI.
 *
 * Modes, one binary:
 *   FastCGI   fd 0 is a listening socket (spawn-fcgi), or -s PATH / -b ADDR
 *             (our own socket), or systemd socket activation (fd 3);
 *             -F N forks N workers under a supervising parent.
 *   CGI       anything else: the request is in the environment and stdin.
 *   Commands  sign, validate-token, drain, replay-rejected, check-config.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "config.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "normalize.h"
#include "signature.h"
#include "stats.h"

#ifndef ZE_VERSION
#define ZE_VERSION "1.0.0"
#endif


extern char **environ;

static volatile sig_atomic_t stopping;  /* SIGTERM/SIGINT seen */
static volatile sig_atomic_t reloading; /* SIGHUP seen (supervisor) */

/* One worker's state, set up once, reused by every request. */
struct worker {
	const struct config *cfg;
	struct ingest in;
	char *body;             /* max_body_bytes + 1, allocated once */
	long long next_drain;   /* monotonic ms of the next drain check */
	bool drain_now;         /* check the spool after this request */
	unsigned long served;
};

/* Where a request comes from and goes to: FastCGI streams, or stdio. */
struct io {
	FCGX_Stream *in;        /* NULL in CGI mode */
	FCGX_Stream *out;
	char **envp;
};

/* Per-request state; one teardown is not needed: nothing is allocated. */
struct request {
	struct worker *w;
	const struct io *io;
	const char *method;
	char request_id[ZE_REQUEST_ID_MAX + 1];
	long long started;      /* monotonic ms */
	struct timespec t0;     /* for the logged duration */
	const char *route;      /* for the log line */
	enum metrics_route mroute;
	int status;
	const char *outcome;    /* what happened, for log and header */
	char error[256];        /* the error message, if any */
	char event[ZE_EVENT_NAME_MAX + 1];      /* "" when unknown */
	char meeting_id[ZE_MEETING_ID_MAX + 1];
	size_t bytes;
	bool head;
};

static const char *
param(const struct io *io, const char *name)
{
	const char *v = FCGX_GetParam(name, io->envp);

	return v != NULL ? v : "";
}

static int
io_write(const struct io *io, const char *buf, size_t len)
{
	if (io->out != NULL)
		return FCGX_PutStr(buf, (int)len, io->out) == (int)len ? 0 : -1;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

/* Read exactly len bytes; returns how many arrived. */
static size_t
io_read(const struct io *io, char *buf, size_t len)
{
	size_t got = 0;

	if (io->in != NULL) {
		while (got < len) {
			int n = FCGX_GetStr(buf + got, (int)(len - got),
			    io->in);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
		return got;
	}
	while (got < len) {
		size_t n = fread(buf + got, 1, len - got, stdin);

		if (n == 0)
			break;
		got += n;
	}
	return got;
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

/* Append s to buf as a JSON string body (no quotes): ", \ and control
 * characters escaped.  Returns the new length (cut at size - 1). */
static size_t
json_escape(char *buf, size_t len, size_t size, const char *s)
{
	for (; *s != '\0' && len + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[len++] = '\\';
			buf[len++] = (char)c;
		} else if (c < 0x20) {
			len += (size_t)snprintf(buf + len, size - len,
			    "\\u%04x", c);
		} else {
			buf[len++] = (char)c;
		}
	}
	buf[len] = '\0';
	return len;
}

/*
 * Send a response.  headers is "" or extra lines, each ending "\r\n".  The
 * body is JSON; HEAD gets the headers only.
 */
static void
send_response(struct request *rq, int status, const char *type,
    const char *headers, const char *body)
{
	char head[512];
	int n;

	rq->status = status;
	n = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s%s%s%s\r\n",
	    status, reason_phrase(status), type, strlen(body), headers,
	    rq->outcome ? "X-Zoom-Events-Outcome: " : "",
	    rq->outcome ? rq->outcome : "", rq->outcome ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	if (io_write(rq->io, head, (size_t)n) != 0 ||
	    (!rq->head && io_write(rq->io, body, strlen(body)) != 0))
		log_debug("client went away before the response was sent");
}

static void
respond(struct request *rq, int status, const char *headers, const char *body)
{
	send_response(rq, status, "application/json", headers, body);
}

static void
respond_typed(struct request *rq, int status, const char *type,
    const char *body)
{
	send_response(rq, status, type, "", body);
}

/* {"error":"<msg>"} with status. */
static void
respond_error(struct request *rq, int status, const char *headers,
    const char *msg)
{
	char body[512];
	size_t n;

	snprintf(rq->error, sizeof(rq->error), "%s", msg);
	n = (size_t)snprintf(body, sizeof(body), "{\"error\":\"");
	n = json_escape(body, n, sizeof(body) - 3, msg);
	memcpy(body + n, "\"}", 3);
	respond(rq, status, headers, body);
}

/* The request id Zoom sent (x-zm-request-id), reduced to safe
 * characters, or a local one. */
static void
set_request_id(struct request *rq)
{
	const char *v = param(rq->io, "HTTP_X_ZM_REQUEST_ID");
	size_t n = 0;

	for (; *v != '\0' && n < ZE_REQUEST_ID_MAX; v++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_.:", *v) != NULL)
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
	char hex[SIG_HEX_LEN + 1], body[ZE_PLAIN_TOKEN_MAX * 2 + 160];
	size_t n;

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
	n = (size_t)snprintf(body, sizeof(body), "{\"plainToken\":\"");
	n = json_escape(body, n, sizeof(body), ev->plain_token);
	snprintf(body + n, sizeof(body) - n, "\",\"encryptedToken\":\"%s\"}",
	    hex);
	ingest_count(&rq->w->in, OUTCOME_URL_VALIDATION);
	respond(rq, 200, "", body);
}

static void
handle_events(struct request *rq)
{
	struct worker *w = rq->w;
	struct ingest_result res;
	struct zoom_event ev;
	char err[256];
	long long len;
	enum norm_result r;
	bool signed_by_zoom = w->cfg->nsecrets > 0;
	struct timespec now;

	if (strcmp(rq->method, "POST") != 0) {
		respond_error(rq, 405, "Allow: POST\r\n", "use POST");
		return;
	}
	if (!is_json_type(param(rq->io, "CONTENT_TYPE"))) {
		respond_error(rq, 415, "", "Content-Type must be "
		    "application/json");
		return;
	}
	if ((len = check_length(rq)) < 0)
		return;
	rq->bytes = (size_t)len;
	if (io_read(rq->io, w->body, (size_t)len) != (size_t)len) {
		respond_error(rq, 400, "", "body shorter than Content-Length");
		return;
	}
	w->body[len] = '\0';
	if (!check_signature(rq, w->body, (size_t)len))
		return;

	clock_gettime(CLOCK_REALTIME, &now);
	r = normalize_event(w->body, (size_t)len, &ev, err, sizeof(err));
	memcpy(rq->event, ev.event_name, sizeof(rq->event));
	memcpy(rq->meeting_id, ev.meeting_id, sizeof(rq->meeting_id));
	switch (norm_class(r)) {
	case NORM_CLASS_VALIDATION:
		answer_validation(rq, &ev);
		return;
	case NORM_CLASS_BAD_JSON:
		/* A signed delivery that is not JSON is still Zoom's: keep it
		 * as a dead letter, but tell the sender it was wrong. */
		rq->outcome = norm_strerror(r);
		if (signed_by_zoom)
			ingest_store(&w->in, r, &ev, err, rq->request_id,
			    (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000,
			    false, rq->started, &res);
		respond_error(rq, 400, "", err);
		return;
	case NORM_CLASS_EVENT:
	case NORM_CLASS_IGNORED:
	case NORM_CLASS_REJECTED:
		break;
	}
	ingest_store(&w->in, r, &ev, err, rq->request_id,
	    (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000, false,
	    rq->started, &res);
	switch (res.fate) {
	case FATE_STORED:
		rq->outcome = stats_outcome_name(res.outcome);
		if (res.outcome == OUTCOME_IGNORED ||
		    res.outcome == OUTCOME_REJECTED)
			snprintf(rq->error, sizeof(rq->error), "%s", err);
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

/* ---- GET /zoom_events/health ---- */

static void
handle_health(struct request *rq)
{
	const struct health *h;
	char body[1024];
	const char *qs = param(rq->io, "QUERY_STRING");
	bool strict = strstr(qs, "strict=1") != NULL;
	bool ok;
	size_t n;

	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
		respond_error(rq, 405, "Allow: GET, HEAD\r\n", "use GET");
		return;
	}
	h = ingest_health(&rq->w->in);
	/* Replay at once only when the snapshot saw something to replay: a
	 * look at the spool directory on every check costs ~10 system calls
	 * (the once-a-second check after any request still runs). */
	rq->w->drain_now = h->db_up && h->spool_pending != 0;
	if (h->counters_valid)
		n = (size_t)snprintf(body, sizeof(body), "{\"status\":\"ok\","
		    "\"db\":\"up\",\"received\":%lld,\"inserted\":%lld,"
		    "\"duplicates\":%lld,\"ignored\":%lld,\"rejected\":%lld,"
		    "\"rejected_auth\":%lld,\"url_validations\":%lld,"
		    "\"replayed\":%lld", h->counts.received,
		    h->counts.inserted, h->counts.duplicates, h->counts.ignored,
		    h->counts.rejected, h->counts.rejected_auth,
		    h->counts.url_validations, h->counts.replayed);
	else
		n = (size_t)snprintf(body, sizeof(body), "{\"status\":\"ok\","
		    "\"db\":\"down\",\"received\":null,\"inserted\":null,"
		    "\"duplicates\":null,\"ignored\":null,\"rejected\":null,"
		    "\"rejected_auth\":null,\"url_validations\":null,"
		    "\"replayed\":null");
	if (h->spool_pending >= 0)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
		    ",\"spool_pending\":%lld", h->spool_pending);
	else
		n += (size_t)snprintf(body + n, sizeof(body) - n,
		    ",\"spool_pending\":null");
	n += (size_t)snprintf(body + n, sizeof(body) - n, ",\"db_node\":\"");
	n = json_escape(body, n, sizeof(body) - 200, h->db_node);
	n += (size_t)snprintf(body + n, sizeof(body) - n,
	    "\",\"wsrep_state\":\"");
	n = json_escape(body, n, sizeof(body) - 150, h->wsrep_state);
	snprintf(body + n, sizeof(body) - n, "\",\"worker\":%ld,"
	    "\"cache_age_ms\":%lld,\"version\":\"%s\"}", (long)getpid(),
	    h->age_ms, ZE_VERSION);
	/* ?strict=1 is for load balancers: 503 unless this worker's
	 * database node can take writes. */
	ok = h->db_up && (h->wsrep_state[0] == '\0' ||
	    strcmp(h->wsrep_state, "Synced") == 0);
	rq->outcome = h->db_up ? "db_up" : "db_down";
	respond(rq, strict && !ok ? 503 : 200, "", body);
}

/* ---- GET /zoom_events/metrics ---- */

/* Counters from zoom_stats (all hosts), as Prometheus counters. */
static void
render_db_counters(char *buf, size_t size, size_t *n, const struct health *h)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} rows[] = {
		{ "received", "Deliveries stored: events and dead letters",
		  offsetof(struct stats_counts, received) },
		{ "inserted", "Rows added to zoom_visit_events",
		  offsetof(struct stats_counts, inserted) },
		{ "duplicates", "Deliveries already stored (Zoom retries)",
		  offsetof(struct stats_counts, duplicates) },
		{ "ignored", "Non-meeting events kept as dead letters",
		  offsetof(struct stats_counts, ignored) },
		{ "rejected", "Malformed events kept as dead letters",
		  offsetof(struct stats_counts, rejected) },
		{ "rejected_auth", "Requests refused for their signature (401)",
		  offsetof(struct stats_counts, rejected_auth) },
		{ "url_validations", "Zoom endpoint validations answered",
		  offsetof(struct stats_counts, url_validations) },
		{ "replayed", "Deliveries stored from a spool",
		  offsetof(struct stats_counts, replayed) },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const long long *v = (const long long *)(const void *)
		    ((const char *)&h->counts + rows[i].off);
		int k = snprintf(buf + *n, size - *n, "# HELP zoom_events_%s_total "
		    "%s, all hosts (zoom_stats).\n# TYPE zoom_events_%s_total "
		    "counter\nzoom_events_%s_total %lld\n", rows[i].name,
		    rows[i].help, rows[i].name, rows[i].name, *v);

		if (k > 0 && (size_t)k < size - *n)
			*n += (size_t)k;
	}
}

static void
handle_metrics(struct request *rq)
{
	static char body[32768];
	const struct health *h;
	const struct reason_counts *rc;
	size_t n = 0;
	int k;

	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
		respond_error(rq, 405, "Allow: GET, HEAD\r\n", "use GET");
		return;
	}
	h = ingest_health(&rq->w->in);
	rq->w->drain_now = h->db_up;
	k = snprintf(body, sizeof(body), "# HELP zoom_events_build_info "
	    "Version of the service.\n# TYPE zoom_events_build_info gauge\n"
	    "zoom_events_build_info{version=\"%s\"} 1\n"
	    "# HELP zoom_events_db_up Whether this worker reached its "
	    "database for this scrape.\n# TYPE zoom_events_db_up gauge\n"
	    "zoom_events_db_up %d\n"
	    "# HELP zoom_events_db_synced 1 unless the database is a Galera "
	    "node that is not Synced.\n# TYPE zoom_events_db_synced gauge\n"
	    "zoom_events_db_synced %d\n", ZE_VERSION, h->db_up,
	    h->db_up && (h->wsrep_state[0] == '\0' ||
	    strcmp(h->wsrep_state, "Synced") == 0));
	n = k > 0 ? (size_t)k : 0;
	if (h->spool_pending >= 0)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
		    "# HELP zoom_events_spool_pending Deliveries waiting in "
		    "this host's spool.\n# TYPE zoom_events_spool_pending "
		    "gauge\nzoom_events_spool_pending %lld\n",
		    h->spool_pending);
	if (h->counters_valid)
		render_db_counters(body, sizeof(body), &n, h);
	rc = ingest_reasons(&rq->w->in);
	if (rc->valid) {
		n += (size_t)snprintf(body + n, sizeof(body) - n,
		    "# HELP zoom_events_dead_letters Rows kept in "
		    "zoom_rejected_events, by reason.\n"
		    "# TYPE zoom_events_dead_letters gauge\n");
		for (int i = 0; i < rc->n && n < sizeof(body); i++)
			n += (size_t)snprintf(body + n, sizeof(body) - n,
			    "zoom_events_dead_letters{reason=\"%s\"} %lld\n",
			    rc->reason[i], rc->count[i]);
	}
	if (n >= sizeof(body) || metrics_render(body, sizeof(body), &n) != 0) {
		respond_error(rq, 500, "", "metrics too large");
		return;
	}
	rq->outcome = h->db_up ? "db_up" : "db_down";
	respond_typed(rq, 200, "text/plain; version=0.0.4; charset=utf-8",
	    body);
}

/* ---- dispatch ---- */

/*
 * The path to route on.  PATH_INFO when a server splits it off (lighttpd,
 * CGI); else nginx's DOCUMENT_URI or SCRIPT_NAME (stock fastcgi_params
 * set no PATH_INFO); else REQUEST_URI without its query.
 */
static const char *
route_of(const struct io *io, char *buf, size_t size)
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

static void
handle(struct worker *w, const struct io *io)
{
	struct request rq = { .w = w, .io = io };
	const struct route *r;
	char buf[1024];
	const char *path;

	clock_gettime(CLOCK_MONOTONIC, &rq.t0);
	rq.started = ingest_now_ms();
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

/* After the response has gone: replay the spool if it is due. */
static void
after_request(struct worker *w)
{
	long long now = ingest_now_ms();

	if (!w->drain_now && now < w->next_drain)
		return;
	w->drain_now = false;
	w->next_drain = now + 1000;
	ingest_drain(&w->in, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS);
}

/* ---- processes ---- */

static void
on_signal(int sig)
{
	if (sig == SIGHUP) {
		reloading = 1;
		return;
	}
	stopping = 1;
	FCGX_ShutdownPending();
}

/*
 * SIGTERM, SIGINT and SIGUSR1 (libfcgi's and Apache mod_fastcgi's "finish
 * and exit") stop the accept loop: no SA_RESTART, so a worker idle in
 * accept() returns at once, and a request in progress finishes first.
 * Installed after FCGX_Init(), which sets up handlers of its own.
 */
static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void
spool_warn(const char *msg)
{
	log_warnx("%s", msg);
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

static void
worker_init(struct worker *w, const struct config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->body = malloc((size_t)cfg->max_body_bytes + 1);
	if (w->body == NULL)
		fatalx("out of memory");
	ingest_init(&w->in, cfg, spool_warn);
	open_metrics(cfg);
}

static void
worker_release(struct worker *w)
{
	ingest_release(&w->in);
	free(w->body);
	w->body = NULL;
}

/* The FastCGI accept loop of one worker process. */
static int
run_worker(const struct config *cfg, int listen_fd)
{
	struct worker w;
	FCGX_Request req;
	int errors = 0;

	worker_init(&w, cfg);
	if (FCGX_Init() != 0)
		fatalx("cannot initialise libfcgi");
	install_signals();      /* after FCGX_Init, which installs its own */
	if (FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
		fatalx("cannot initialise the FastCGI request");
	if (ingest_connect(&w.in) == 0)
		log_info("worker ready instance=%s slot=%d db=up", cfg->instance,
		    w.in.shard.slot);
	else
		log_warnx("worker ready instance=%s slot=%d db=down (events "
		    "go to the spool %s)", cfg->instance, w.in.shard.slot,
		    cfg->spool_dir);
	w.drain_now = true;
	while (!stopping) {
		struct io io;

		if (FCGX_Accept_r(&req) < 0) {
			if (stopping)
				break;
			if (errno == EINTR)
				continue;
			log_warn("accept failed");
			if (++errors > 100)
				fatalx("accept keeps failing: giving up");
			usleep(100 * 1000);
			continue;
		}
		errors = 0;
		io.in = req.in;
		io.out = req.out;
		io.envp = req.envp;
		handle(&w, &io);
		FCGX_Finish_r(&req);
		if (!stopping)
			after_request(&w);
	}
	FCGX_Free(&req, 1);
	log_info("worker stopping after %lu requests", w.served);
	worker_release(&w);
	return 0;
}

/* One request as plain CGI, then exit. */
static int
run_cgi(const struct config *cfg)
{
	struct worker w;
	struct io io = { NULL, NULL, environ };

	worker_init(&w, cfg);
	install_signals();
	handle(&w, &io);
	fflush(stdout);
	/* Close stdout so the web server sees the response end before any
	 * spool replay below. */
	fclose(stdout);
	after_request(&w);
	worker_release(&w);
	return 0;
}

/*
 * -F N: fork N workers on listen_fd and keep them running: a worker that
 * dies is replaced (after a pause if it dies right after starting).
 * SIGTERM/SIGINT are passed on and waited for; SIGHUP replaces every
 * worker with one forked from a re-read configuration.
 */
static int
run_supervisor(struct config *cfg, const char *cfgpath, int listen_fd, int n)
{
	pid_t *pids = calloc((size_t)n, sizeof(pid_t));
	long long *born = calloc((size_t)n, sizeof(long long));
	if (pids == NULL || born == NULL)
		fatalx("out of memory");
	install_signals();
	log_info("supervisor starting %d workers", n);

	while (!stopping) {
		pid_t pid;
		int status;

		for (int i = 0; i < n && !stopping; i++) {
			if (pids[i] > 0)
				continue;
			if (born[i] != 0 && ingest_now_ms() - born[i] < 1000)
				sleep(1);       /* crashing at start: slow down */
			if ((pid = fork()) < 0) {
				log_warn("cannot fork a worker");
				sleep(1);
				continue;
			}
			if (pid == 0) {
				free(pids);
				free(born);
				log_after_fork();
				_exit(run_worker(cfg, listen_fd));
			}
			pids[i] = pid;
			born[i] = ingest_now_ms();
		}
		pid = waitpid(-1, &status, 0);
		if (reloading) {
			char err[512];
			struct config fresh;

			reloading = 0;
			if (config_load(&fresh, cfgpath, err, sizeof(err)) != 0) {
				log_warnx("reload failed, keeping the old "
				    "configuration: %s", err);
			} else {
				config_copy(cfg, &fresh);
				for (int i = 0; i < n; i++)
					if (pids[i] > 0)
						kill(pids[i], SIGTERM);
				log_info("configuration reloaded; replacing "
				    "workers");
			}
		}
		if (pid <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			if (!stopping && (!WIFEXITED(status) ||
			    WEXITSTATUS(status) != 0))
				log_warnx("worker %ld ended (%s %d); "
				    "replacing it", (long)pid,
				    WIFSIGNALED(status) ? "signal" : "exit",
				    WIFSIGNALED(status) ? WTERMSIG(status)
				    : WEXITSTATUS(status));
			else
				born[i] = 0;
		}
	}
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	log_info("supervisor stopped");
	free(pids);
	free(born);
	return 0;
}

/* ---- commands ---- */

static void
print_line(const char *line)
{
	printf("%s\n", line);
}

static int
cmd_check_config(const struct config *cfg)
{
	struct store *st = store_new(&cfg->db, cfg->db_timeout_s);
	char err[512], version[64], wsrep[32], node[64];
	int rc = 0;

	config_dump(cfg, print_line);
	for (int i = 0; i < cfg->nwarnings; i++)
		printf("warning: %s\n", cfg->warnings[i]);
	if (cfg->nsecrets == 0 && !cfg->allow_unsigned) {
		printf("error: no webhook secret configured\n");
		rc = 1;
	}
	if (store_open(st) != 0) {
		printf("database: cannot connect: %s\n", store_errmsg(st));
		store_free(st);
		return 1;
	}
	if (store_server_info(st, version, sizeof(version), wsrep,
	    sizeof(wsrep), node, sizeof(node)) == 0)
		printf("database: connected to %s (%s%s%s)\n", version, node,
		    wsrep[0] ? ", wsrep " : "", wsrep);
	if (store_check_schema(st, err, sizeof(err)) != 0) {
		printf("schema: %s\n", err);
		rc = 1;
	} else {
		printf("schema: zoom_visit_events, zoom_rejected_events, "
		    "zoom_stats present\n");
	}
	store_free(st);
	if (access(cfg->spool_dir, W_OK) != 0)
		printf("spool: %s is not writable yet (%s); it is created on "
		    "first use\n", cfg->spool_dir, strerror(errno));
	else
		printf("spool: %s writable\n", cfg->spool_dir);
	printf("%s\n", rc == 0 ? "ok" : "failed");
	return rc;
}

static int
cmd_sign(const struct config *cfg, int argc, char **argv)
{
	char sig[SIG_HEX_LEN + 4];
	long long ts = (long long)time(NULL);
	char *body;
	size_t len;
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c != 't')
			return 2;
		ts = strtoll(optarg, NULL, 10);
	}
	if (cfg->nsecrets == 0) {
		fprintf(stderr, "zoom_events: sign: no webhook secret "
		    "configured\n");
		return 1;
	}
	if ((body = malloc((size_t)cfg->max_body_bytes + 1)) == NULL)
		return 1;
	len = fread(body, 1, (size_t)cfg->max_body_bytes + 1, stdin);
	if (len > (size_t)cfg->max_body_bytes) {
		fprintf(stderr, "zoom_events: sign: body larger than "
		    "max_body_bytes\n");
		free(body);
		return 1;
	}
	if (sig_sign(cfg->secrets[0], ts, body, len, sig) != 0) {
		free(body);
		return 1;
	}
	printf("x-zm-request-timestamp: %lld\nx-zm-signature: %s\n", ts, sig);
	free(body);
	return 0;
}

static int
cmd_validate_token(const struct config *cfg, int argc, char **argv)
{
	char hex[SIG_HEX_LEN + 1];

	if (argc != 2) {
		fprintf(stderr, "usage: zoom_events validate-token "
		    "PLAINTOKEN\n");
		return 2;
	}
	if (cfg->nsecrets == 0) {
		fprintf(stderr, "zoom_events: validate-token: no webhook "
		    "secret configured\n");
		return 1;
	}
	if (sig_hmac_hex(cfg->secrets[0], argv[1], strlen(argv[1]), hex) != 0)
		return 1;
	printf("%s\n", hex);
	return 0;
}

static int
cmd_drain(const struct config *cfg)
{
	struct ingest in;
	long long n, total = 0, pending;

	ingest_init(&in, cfg, spool_warn);
	while ((n = ingest_drain(&in, ZE_DRAIN_BATCH, ZE_DRAIN_BUDGET_MS)) > 0)
		total += n;
	pending = spool_pending(in.spool);
	printf("replayed %lld, pending %lld\n", total, pending);
	ingest_release(&in);
	return n < 0 || pending != 0 ? 1 : 0;
}

static int
cmd_replay_rejected(const struct config *cfg, int argc, char **argv)
{
	struct replay_counts rc;
	struct ingest in;
	long long *ids = calloc((size_t)argc + 1, sizeof(long long));
	char *buf = malloc((size_t)cfg->max_body_bytes + 1);
	int n = 0, status;

	if (ids == NULL || buf == NULL)
		fatalx("out of memory");
	for (int i = 1; i < argc; i++) {
		char *end;

		ids[n++] = strtoll(argv[i], &end, 10);
		if (*end != '\0' || ids[n - 1] <= 0) {
			fprintf(stderr, "zoom_events: replay-rejected: \"%s\" "
			    "is not an id\n", argv[i]);
			free(ids);
			free(buf);
			return 2;
		}
	}
	ingest_init(&in, cfg, spool_warn);
	status = ingest_replay_rejected(&in, ids, n, buf,
	    (size_t)cfg->max_body_bytes + 1, &rc) == 0 ? 0 : 1;
	printf("moved %lld, kept %lld, missing %lld\n", rc.moved, rc.kept,
	    rc.missing);
	ingest_release(&in);
	free(ids);
	free(buf);
	return status;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: zoom_events [-d] [-c CONFIG] [-s PATH [-m MODE] | -b ADDR] "
	    "[-F N]\n"
	    "       zoom_events [-c CONFIG] COMMAND [ARGS]\n"
	    "\n"
	    "Receive Zoom webhooks over FastCGI (or CGI) and store them in "
	    "MariaDB/MySQL.\n"
	    "\n"
	    "  -c PATH       configuration file (default $ZOOM_EVENTS_CONFIG "
	    "or ./Config.toml)\n"
	    "  -s PATH       listen on a Unix socket (default: fd 0 from "
	    "spawn-fcgi)\n"
	    "  -m MODE       permissions of the -s socket (default 0660)\n"
	    "  -b ADDR       listen on TCP, e.g. 127.0.0.1:9000\n"
	    "  -F N          run N worker processes under a supervisor\n"
	    "  -d            log to stderr (foreground debugging)\n"
	    "  --check-config, check-config\n"
	    "                check configuration, database and schema; "
	    "exit 0 or 1\n"
	    "  --help, --version\n"
	    "\n"
	    "commands:\n"
	    "  sign [-t TS] < BODY        print x-zm-* headers for a body\n"
	    "  validate-token PLAINTOKEN  print Zoom's expected "
	    "encryptedToken\n"
	    "  drain                      replay the spool into the "
	    "database\n"
	    "  replay-rejected [ID...]    move dead letters that now "
	    "normalize\n"
	    "  check-config               as --check-config\n");
}

/* The listening socket: systemd's (fd 3), ours (-s/-b), or fd 0. */
static int
listen_socket(const char *sock_path, const char *bind_addr, mode_t mode)
{
	const char *lp = getenv("LISTEN_PID"), *lf = getenv("LISTEN_FDS");
	int fd;

	/* systemd socket activation passes the socket as fd 3; it wins over
	 * -s/-b, so one unit's command line serves with or without the
	 * .socket unit. */
	if (lp != NULL && lf != NULL && strtol(lp, NULL, 10) == getpid() &&
	    strtol(lf, NULL, 10) >= 1) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		return 3;
	}
	if (sock_path != NULL) {
		struct stat st;

		/* Remove a stale socket file (never any other file). */
		if (lstat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(sock_path);
		if ((fd = FCGX_OpenSocket(sock_path, 128)) < 0)
			fatal("cannot listen on %s", sock_path);
		if (chmod(sock_path, mode) != 0)
			fatal("cannot chmod %s", sock_path);
		return fd;
	}
	if (bind_addr != NULL) {
		if ((fd = FCGX_OpenSocket(bind_addr, 128)) < 0)
			fatal("cannot listen on %s", bind_addr);
		return fd;
	}
	return 0;
}

static bool
fd0_is_listener(void)
{
	int listening = 0;
	socklen_t len = sizeof(listening);

	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	    &len) == 0 && listening;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check-config", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	static struct config cfg;
	const char *cfgpath = NULL, *sock_path = NULL, *bind_addr = NULL;
	const char *cmd = NULL;
	char err[512];
	bool foreground = false, check = false;
	mode_t mode = 0660;
	int c, workers = 0, fd;

	while ((c = getopt_long(argc, argv, "+c:s:b:m:F:dhV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'c': cfgpath = optarg; break;
		case 's': sock_path = optarg; break;
		case 'b': bind_addr = optarg; break;
		case 'm': mode = (mode_t)strtol(optarg, NULL, 8); break;
		case 'F':
			workers = atoi(optarg);
			if (workers < 1 || workers > 256) {
				fprintf(stderr, "zoom_events: -F takes 1 to "
				    "256\n");
				return 2;
			}
			break;
		case 'd': foreground = true; break;
		case 'C': check = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("zoom_events %s\n", ZE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0)
		cmd = argv[0];
	if (cmd != NULL && strcmp(cmd, "check-config") == 0)
		check = true;

	if (config_load(&cfg, cfgpath, err, sizeof(err)) != 0) {
		fprintf(stderr, "zoom_events: configuration: %s\n", err);
		return 1;
	}
	if (log_init(foreground ? "stderr" : cfg.log_target,
	    (enum log_level)cfg.log_level, "zoom_events") != 0) {
		fprintf(stderr, "zoom_events: cannot open log %s: %s\n",
		    cfg.log_target, strerror(errno));
		return 1;
	}

	if (check)
		return cmd_check_config(&cfg);
	if (cmd != NULL) {
		if (strcmp(cmd, "sign") == 0)
			return cmd_sign(&cfg, argc, argv);
		if (strcmp(cmd, "validate-token") == 0)
			return cmd_validate_token(&cfg, argc, argv);
		if (strcmp(cmd, "drain") == 0)
			return cmd_drain(&cfg);
		if (strcmp(cmd, "replay-rejected") == 0)
			return cmd_replay_rejected(&cfg, argc, argv);
		fprintf(stderr, "zoom_events: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}

	for (int i = 0; i < cfg.nwarnings; i++)
		log_warnx("%s", cfg.warnings[i]);
	if (cfg.nsecrets == 0 && !cfg.allow_unsigned)
		fatalx("no webhook secret configured: set "
		    "ZOOM_EVENTS_WEBHOOK_SECRET or [zoom] webhook_secret_file "
		    "(or, for local testing only, allow_unsigned = true)");
	if (cfg.nsecrets == 0)
		log_warnx("SIGNATURE CHECKS ARE OFF (allow_unsigned): anyone "
		    "who can reach this endpoint can write events; for local "
		    "testing only");

	if (sock_path == NULL && bind_addr == NULL && workers == 0 &&
	    getenv("LISTEN_FDS") == NULL && !fd0_is_listener())
		return run_cgi(&cfg);
	fd = listen_socket(sock_path, bind_addr, mode);
	if (workers > 0)
		return run_supervisor(&cfg, cfgpath, fd, workers);
	return run_worker(&cfg, fd);
}
