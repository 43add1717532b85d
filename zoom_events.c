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

static volatile sig_atomic_t stopping;  /* SIGTERM/SIGINT/SIGUSR1 seen */

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

/* ---- processes ---- */

static void
on_signal(int sig)
{
	(void)sig;
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
	supervisor_signals(on_signal, NULL);    /* workers ignore SIGHUP */
}

/* The FastCGI accept loop of one worker process. */
static int
run_worker(const struct config *cfg, int listen_fd)
{
	struct worker w;
	FCGX_Request req;
	struct request_io io = { fcgi_param, fcgi_read, fcgi_write, &req };
	int errors = 0;

	request_worker_init(&w, cfg);
	if (FCGX_Init() != 0)
		fatalx("cannot initialise libfcgi");
	install_signals();      /* after FCGX_Init, which installs its own */
	if (FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
		fatalx("cannot initialise the FastCGI request");
	if (ingest_connect(&w.in) == 0)
		log_info("worker ready instance=%s slot=%d db=up", cfg->instance,
		    ingest_slot(&w.in));
	else
		log_warnx("worker ready instance=%s slot=%d db=down (events "
		    "go to the spool %s)", cfg->instance, ingest_slot(&w.in),
		    cfg->spool_dir);
	w.drain_now = true;
	while (!stopping) {
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
		request_handle(&w, &io);
		FCGX_Finish_r(&req);
		if (!stopping)
			request_after(&w);
	}
	FCGX_Free(&req, 1);
	log_info("worker stopping after %lu requests", w.served);
	request_worker_release(&w);
	return 0;
}

/* One request as plain CGI, then exit. */
static int
run_cgi(const struct config *cfg)
{
	struct worker w;
	struct request_io io = { cgi_param, cgi_read, cgi_write, NULL };

	request_worker_init(&w, cfg);
	install_signals();
	request_handle(&w, &io);
	fflush(stdout);
	/* Close stdout so the web server sees the response end before any
	 * spool replay below. */
	fclose(stdout);
	request_after(&w);
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
	    "  -b ADDR       listen on TCP, e.g. 127.0.0.1:9000\n"
	    "  -F N          run N worker processes under a supervisor\n"
	    "  -d            log to stderr (foreground debugging)\n"
	    "  --check-config, check-config\n"
	    "                check configuration, database and schema; "
	    "exit 0 or 1\n"
	    "  --help, --version\n"
	    "\n");
	commands_usage(fp);
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

/* What the command line asks for. */
struct options {
	const char *cfgpath;
	const char *sock_path;
	const char *bind_addr;
	mode_t mode;
	int workers;            /* -F; 0 = one worker, no supervisor */
	bool foreground;
	bool check;
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
	while ((c = getopt_long(argc, argv, "+c:s:b:m:F:dhV", longopts,
	    NULL)) != -1) {
		switch (c) {
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
	fd = listen_socket(o->sock_path, o->bind_addr, o->mode);
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
