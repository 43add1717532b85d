/*
 * bench/gen_requests.c -- pre-generate the signed HTTP requests that
 * bench/wrk.lua replays (wrk's Lua cannot compute an HMAC).
 *
 *   gen_requests -n COUNT -T FILES -o PREFIX [-r RUN] [-b BASE_MS]
 *                [-t TS] [-m POST|GET] [-u PATH] [-k event|badsig|ignored]
 *
 * Writes PREFIX.0 .. PREFIX.(FILES-1), one per wrk thread; request i goes
 * to file i % FILES.  Each record is "<length>\n" and the raw HTTP/1.1
 * request.  POSTs carry bench_event(RUN, i) signed with the secret in
 * $ZOOM_EVENTS_WEBHOOK_SECRET (never argv) at timestamp TS (default now),
 * so a file must be used within the service's 300 s window: bench/run.sh
 * regenerates one per run.  GETs (health) carry no body.  -k badsig signs
 * with the wrong secret (401s) and -k ignored sends a signed user.created
 * (kept as a dead letter): the error paths, for the leak check.
 * Links signature.o from the service's build: the same sig_sign() the
 * service's "sign" command uses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "signature.h"
#include "bench_event.h"

static void
usage(void)
{
	fprintf(stderr, "usage: gen_requests -n COUNT -T FILES -o PREFIX "
	    "[-r RUN] [-b BASE_MS] [-t TS] [-m POST|GET] [-u PATH] "
	    "[-k event|badsig|ignored]\n");
	exit(2);
}

static long long
num(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	const char *prefix = NULL, *method = "POST", *path = NULL;
	const char *kind = "event";
	const char *secret = getenv("ZOOM_EVENTS_WEBHOOK_SECRET");
	long long count = 0, files = 1, run = 1, base_ms = -1, ts = -1;
	static char body[8192], req[16384];
	char sig[SIG_HEX_LEN + 4], name[4096];
	FILE **fp;
	struct timeval tv;
	int c;

	while ((c = getopt(argc, argv, "n:T:o:r:b:t:m:u:k:")) != -1) {
		switch (c) {
		case 'n': count = num(optarg); break;
		case 'T': files = num(optarg); break;
		case 'o': prefix = optarg; break;
		case 'r': run = num(optarg); break;
		case 'b': base_ms = num(optarg); break;
		case 't': ts = num(optarg); break;
		case 'm': method = optarg; break;
		case 'u': path = optarg; break;
		case 'k': kind = optarg; break;
		default: usage();
		}
	}
	if (prefix == NULL || count < 1 || files < 1 || files > 256 ||
	    (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0) ||
	    (strcmp(kind, "event") != 0 && strcmp(kind, "badsig") != 0 &&
	    strcmp(kind, "ignored") != 0))
		usage();
	if (path == NULL)
		path = strcmp(method, "POST") == 0 ? "/zoom_events/events"
		    : "/zoom_events/health";
	if (strcmp(method, "POST") == 0 && (secret == NULL || *secret == '\0')) {
		fprintf(stderr, "gen_requests: set ZOOM_EVENTS_WEBHOOK_SECRET\n");
		return 1;
	}
	gettimeofday(&tv, NULL);
	if (ts < 0)
		ts = (long long)tv.tv_sec;
	if (base_ms < 0)
		base_ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;

	if ((fp = calloc((size_t)files, sizeof(*fp))) == NULL)
		return 1;
	for (long long f = 0; f < files; f++) {
		snprintf(name, sizeof(name), "%s.%lld", prefix, f);
		if ((fp[f] = fopen(name, "w")) == NULL) {
			perror(name);
			return 1;
		}
	}
	for (long long i = 0; i < count; i++) {
		int n;

		if (strcmp(method, "GET") == 0) {
			n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
			    "Host: 127.0.0.1\r\nUser-Agent: zoom-bench\r\n\r\n",
			    path);
		} else {
			size_t len;
			int k;

			if (strcmp(kind, "ignored") == 0) {
				k = snprintf(body, sizeof(body), "{\"event\":"
				    "\"user.created\",\"event_ts\":%lld,"
				    "\"payload\":{\"account_id\":\"acc-%lld\","
				    "\"object\":{\"email\":\"u%lld@example.org\"}}}",
				    base_ms + i, run, i);
				len = k > 0 ? (size_t)k : 0;
			} else {
				len = bench_event(body, sizeof(body),
				    (unsigned)run, (unsigned long long)i, base_ms);
			}
			if (len == 0 || sig_sign(strcmp(kind, "badsig") == 0 ?
			    "not-the-secret" : secret, ts, body, len, sig) != 0) {
				fprintf(stderr, "gen_requests: cannot build "
				    "request %lld\n", i);
				return 1;
			}
			n = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\n"
			    "Host: 127.0.0.1\r\nUser-Agent: Zoom Marketplace/1.0a"
			    "\r\nContent-Type: application/json; charset=utf-8\r\n"
			    "x-zm-request-timestamp: %lld\r\n"
			    "x-zm-signature: %s\r\n"
			    "x-zm-request-id: bench-%lld-%lld\r\n"
			    "x-zm-trackingid: v=2.0;clid=aw1;rid=%lld\r\n"
			    "Content-Length: %zu\r\n\r\n%s",
			    path, ts, sig, run, i, i, len, body);
		}
		if (n < 0 || (size_t)n >= sizeof(req))
			return 1;
		if (fprintf(fp[i % files], "%d\n", n) < 0 ||
		    fwrite(req, 1, (size_t)n, fp[i % files]) != (size_t)n) {
			perror(prefix);
			return 1;
		}
	}
	for (long long f = 0; f < files; f++)
		if (fclose(fp[f]) != 0) {
			perror(prefix);
			return 1;
		}
	free(fp);
	return 0;
}
