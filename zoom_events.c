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
 *   Commands  see commands.c.
 *
 * Health and metrics are rendered by report.c, the supervisor of -F lives
 * in supervisor.c, and everything that touches the database or the spool
 * goes through ingest.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "commands.h"
#include "config.h"
#include "ingest.h"
#include "log.h"
#include "request.h"
#include "supervisor.h"

#ifndef ZE_VERSION
#define ZE_VERSION "1.0.0"
#endif

/* SIGTERM, SIGINT or SIGUSR1 seen: read and set with atomics, since the
 * request threads read it. */
static int stopping;

static bool
is_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_SEQ_CST) != 0;
}

/* CGI: a stop signal lets the one request finish. */
static void
on_stop(int sig)
{
	(void)sig;
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
}

/* ---- the transport: FastCGI streams, or stdio for CGI ---- */

static const char *
fcgi_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((const FCGX_Request *)ctx)->envp);
}

static size_t
fcgi_read(void *ctx, char *buf, size_t len)
{
	FCGX_Stream *in = ((FCGX_Request *)ctx)->in;
	size_t got = 0;

	while (got < len) {
		int n = FCGX_GetStr(buf + got, (int)(len - got), in);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static int
fcgi_write(void *ctx, const char *buf, size_t len)
{
	FCGX_Stream *out = ((FCGX_Request *)ctx)->out;

	return FCGX_PutStr(buf, (int)len, out) == (int)len ? 0 : -1;
}

static const char *
cgi_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static size_t
cgi_read(void *ctx, char *buf, size_t len)
{
	size_t got = 0;

	(void)ctx;
	while (got < len) {
		size_t n = fread(buf + got, 1, len - got, stdin);

		if (n == 0)
			break;
		got += n;
	}
	return got;
}

static int
cgi_write(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

/* ---- a worker process: N request threads on one listening socket ---- */

/*
 * The threads of libfcgi's own threaded example: each has its FCGX_Request
 * and takes turns in accept() under one mutex (accept() of several threads
 * on a socket is not serialised on every platform).  The main thread only
 * waits for signals.  To stop, it sets stopping and interrupts the thread
 * that waits in accept() (SIGUSR2, no SA_RESTART, FCGI_FAIL_ACCEPT_ON_INTR);
 * a thread serving a request is never interrupted: it finishes, answers,
 * and then sees stopping.
 */
struct serve_thread {
	pthread_t tid;
	struct worker_thread t;
	FCGX_Request req;
	int in_accept;          /* atomic: waiting in accept() */
	int finished;           /* atomic: the thread has returned */
};

static pthread_mutex_t accept_mu = PTHREAD_MUTEX_INITIALIZER;

static void
on_wake(int sig)
{
	(void)sig;              /* only interrupts accept() */
}

static void *
serve_requests(void *arg)
{
	struct serve_thread *st = arg;
	struct request_io io = { fcgi_param, fcgi_read, fcgi_write, &st->req };
	int errors = 0;

	while (!is_stopping()) {
		int rc;

		pthread_mutex_lock(&accept_mu);
		__atomic_store_n(&st->in_accept, 1, __ATOMIC_SEQ_CST);
		rc = is_stopping() ? -1 : FCGX_Accept_r(&st->req);
		__atomic_store_n(&st->in_accept, 0, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&accept_mu);
		if (rc < 0) {
			if (is_stopping())
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
		request_handle(&st->t, &io);
		FCGX_Finish_r(&st->req);
		if (!is_stopping())
			request_after(&st->t);
	}
	FCGX_Finish_r(&st->req);
	__atomic_store_n(&st->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* The signals the main thread waits for; every thread blocks them. */
static void
stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
}

/* Wait for a stop signal, then wake the threads until all have returned. */
static void
wait_and_stop(struct serve_thread *th, int n)
{
	sigset_t set;
	int sig, left;

	stop_signals(&set);
	while (sigwait(&set, &sig) != 0)
		;
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	FCGX_ShutdownPending();
	do {
		left = 0;
		for (int i = 0; i < n; i++) {
			if (__atomic_load_n(&th[i].finished, __ATOMIC_SEQ_CST))
				continue;
			left++;
			if (__atomic_load_n(&th[i].in_accept, __ATOMIC_SEQ_CST))
				pthread_kill(th[i].tid, SIGUSR2);
		}
		if (left > 0)
			usleep(20 * 1000);
	} while (left > 0);
	for (int i = 0; i < n; i++)
		pthread_join(th[i].tid, NULL);
}

static void
start_threads(struct worker *w, struct serve_thread *th, int n, int listen_fd)
{
	for (int i = 0; i < n; i++) {
		request_thread_init(&th[i].t, w);
		if (FCGX_InitRequest(&th[i].req, listen_fd,
		    FCGI_FAIL_ACCEPT_ON_INTR) != 0)
			fatalx("cannot initialise a FastCGI request");
		if (pthread_create(&th[i].tid, NULL, serve_requests, &th[i]) != 0)
			fatalx("cannot start a request thread");
	}
}

/*
 * Signals: the stop signals are blocked in every thread and taken by
 * sigwait() in the main one; SIGUSR2 (the wake-up) is handled without
 * SA_RESTART; SIGHUP (the supervisor's) and SIGPIPE are ignored.
 * Installed after FCGX_Init(), which sets up handlers of its own.
 */
static void
worker_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	supervisor_signals(SIG_DFL, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* One worker process: its threads serve until a stop signal. */
static int
run_worker(const struct config *cfg, int listen_fd)
{
	struct serve_thread *th = calloc((size_t)cfg->threads, sizeof(*th));
	struct worker w;

	if (th == NULL)
		fatalx("out of memory");
	request_worker_init(&w, cfg);
	if (FCGX_Init() != 0)
		fatalx("cannot initialise libfcgi");
	worker_signals();
	if (ingest_connect(w.in) == 0)
		log_info("worker ready instance=%s slot=%d threads=%d db=up",
		    cfg->instance, ingest_slot(w.in), cfg->threads);
	else
		log_warnx("worker ready instance=%s slot=%d threads=%d db=down "
		    "(events go to the spool %s)", cfg->instance,
		    ingest_slot(w.in), cfg->threads, cfg->spool_dir);
	start_threads(&w, th, cfg->threads, listen_fd);
	wait_and_stop(th, cfg->threads);
	log_info("worker stopping after %lu requests", w.served);
	for (int i = 0; i < cfg->threads; i++) {
		FCGX_Free(&th[i].req, 1);
		request_thread_release(&th[i].t);
	}
	free(th);
	request_worker_release(&w);
	return 0;
}

/* One request as plain CGI, then exit. */
static int
run_cgi(const struct config *cfg)
{
	struct worker w;
	struct worker_thread t;
	struct request_io io = { cgi_param, cgi_read, cgi_write, NULL };

	request_worker_init(&w, cfg);
	request_thread_init(&t, &w);
	supervisor_signals(on_stop, NULL);
	request_handle(&t, &io);
	fflush(stdout);
	/* Close stdout so the web server sees the response end before any
	 * spool replay below. */
	fclose(stdout);
	request_after(&t);
	request_thread_release(&t);
	request_worker_release(&w);
	return 0;
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
	    "  -b ADDR       listen on TCP, e.g. 127.0.0.1:9000 (beyond "
	    "loopback:\n"
	    "                FCGI_WEB_SERVER_ADDRS must list the web servers)\n"
	    "  -A            with -b, accept any peer without that list\n"
	    "  -F N          run N worker processes under a supervisor\n"
	    "  -d            log to stderr (foreground debugging)\n"
	    "  --check-config, check-config\n"
	    "                check configuration, database and schema; "
	    "exit 0 or 1\n"
	    "  --help, --version\n"
	    "\n");
	commands_usage(fp);
}

/*
 * FastCGI over TCP trusts whoever connects: it can post any event.
 * libfcgi accepts only the web servers listed in FCGI_WEB_SERVER_ADDRS
 * (comma-separated IPv4 addresses) when that is set.  Listening beyond
 * loopback without that list is refused, unless -A (any peer) says the
 * network is guarded some other way.
 */
static void
check_peers(const char *bind_addr, bool any_peer)
{
	const char *allow = getenv("FCGI_WEB_SERVER_ADDRS");

	if (strncmp(bind_addr, "127.", 4) == 0 ||
	    strncmp(bind_addr, "localhost:", 10) == 0 ||
	    strncmp(bind_addr, "[::1]:", 6) == 0)
		return;
	if (allow != NULL && allow[0] != '\0') {
		log_info("FastCGI on %s accepts only %s", bind_addr, allow);
		return;
	}
	if (!any_peer)
		fatalx("-b %s listens beyond loopback and FCGI_WEB_SERVER_ADDRS "
		    "is not set: any host could post events; set it to the web "
		    "servers' addresses (or give -A to accept any peer)",
		    bind_addr);
	log_warnx("FastCGI on %s accepts any peer (-A)", bind_addr);
}

/* The listening socket: systemd's (fd 3), ours (-s/-b), or fd 0. */
static int
listen_socket(const char *sock_path, const char *bind_addr, bool any_peer,
    mode_t mode)
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
		check_peers(bind_addr, any_peer);
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

/* What the command line asks for. */
struct options {
	const char *cfgpath;
	const char *sock_path;
	const char *bind_addr;
	mode_t mode;
	int workers;            /* -F; 0 = one worker, no supervisor */
	bool foreground;
	bool check;
	bool any_peer;          /* -A: -b beyond loopback without a list */
};

/* Parse options; returns argv's index of the command (argc when none), or
 * -1 with *status set when main() should return at once. */
static int
parse_options(int argc, char **argv, struct options *o, int *status)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check-config", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*status = 0;
	while ((c = getopt_long(argc, argv, "+c:s:b:m:F:dhVA", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'A': o->any_peer = true; break;
		case 'c': o->cfgpath = optarg; break;
		case 's': o->sock_path = optarg; break;
		case 'b': o->bind_addr = optarg; break;
		case 'm': o->mode = (mode_t)strtol(optarg, NULL, 8); break;
		case 'F':
			o->workers = atoi(optarg);
			if (o->workers < 1 || o->workers > ZE_MAX_WORKERS) {
				fprintf(stderr, "zoom_events: -F takes 1 to "
				    "%d\n", ZE_MAX_WORKERS);
				*status = 2;
				return -1;
			}
			break;
		case 'd': o->foreground = true; break;
		case 'C': o->check = true; break;
		case 'h': usage(stdout); return -1;
		case 'V': printf("zoom_events %s\n", ZE_VERSION); return -1;
		default: usage(stderr); *status = 2; return -1;
		}
	}
	return optind;
}

static int
supervised_worker(const struct config *cfg, void *arg)
{
	return run_worker(cfg, *(const int *)arg);
}

/* Serve requests: CGI, one FastCGI worker, or a supervised pool. */
static int
serve(struct config *cfg, const struct options *o)
{
	char err[512];
	int fd;

	for (int i = 0; i < cfg->nwarnings; i++)
		log_warnx("%s", cfg->warnings[i]);
	if (config_check_serving(cfg, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (cfg->nsecrets == 0)
		log_warnx("SIGNATURE CHECKS ARE OFF (allow_unsigned): anyone "
		    "who can reach this endpoint can write events; for local "
		    "testing only");
	if (o->sock_path == NULL && o->bind_addr == NULL && o->workers == 0 &&
	    getenv("LISTEN_FDS") == NULL && !fd0_is_listener())
		return run_cgi(cfg);
	fd = listen_socket(o->sock_path, o->bind_addr, o->any_peer, o->mode);
	if (o->workers > 0)
		return supervisor_run(cfg, o->cfgpath, o->workers,
		    supervised_worker, &fd);
	return run_worker(cfg, fd);
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	struct options o = { .mode = 0660 };
	char err[512];
	int first, status;

	if ((first = parse_options(argc, argv, &o, &status)) < 0)
		return status;
	argc -= first;
	argv += first;
	if (argc > 0 && strcmp(argv[0], "check-config") == 0)
		o.check = true;
	if (config_load(&cfg, o.cfgpath, err, sizeof(err)) != 0) {
		fprintf(stderr, "zoom_events: configuration: %s\n", err);
		return 1;
	}
	if (log_init(o.foreground ? "stderr" : cfg.log_target,
	    (enum log_level)cfg.log_level, "zoom_events") != 0) {
		fprintf(stderr, "zoom_events: cannot open log %s: %s\n",
		    cfg.log_target, strerror(errno));
		return 1;
	}
	if (o.check) {
		static char check_name[] = "check-config";
		char *check_argv[] = { check_name, NULL };

		return commands_run(&cfg, 1, check_argv);
	}
	if (argc > 0) {
		if (commands_exists(argv[0]))
			return commands_run(&cfg, argc, argv);
		fprintf(stderr, "zoom_events: unknown command \"%s\"\n",
		    argv[0]);
		usage(stderr);
		return 2;
	}
	return serve(&cfg, &o);
}
