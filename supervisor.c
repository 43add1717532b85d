/*
 * supervisor.c -- the -F N parent (see supervisor.h).  It never accepts a
 * request itself; it forks, waits and forwards signals.
 */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static volatile sig_atomic_t stopping;  /* SIGTERM, SIGINT or SIGUSR1 */
static volatile sig_atomic_t reloading; /* SIGHUP */

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reloading = 1;
	else
		stopping = 1;
}

void
supervisor_signals(void (*on_stop)(int), void (*on_hup)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_hup != NULL ? on_hup : SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

struct pool {
	int n;
	pid_t *pids;            /* 0 = slot empty */
	long long *born;        /* mono_ms of the fork; 0 = exited cleanly */
};

/* Fork a worker into every empty slot. */
static void
fill(struct pool *p, const struct config *cfg, supervisor_worker_fn worker,
    void *arg)
{
	for (int i = 0; i < p->n && !stopping; i++) {
		pid_t pid;

		if (p->pids[i] > 0)
			continue;
		if (p->born[i] != 0 && mono_ms() - p->born[i] < 1000)
			sleep(1);       /* crashing at start: slow down */
		if ((pid = fork()) < 0) {
			log_warn("cannot fork a worker");
			sleep(1);
			continue;
		}
		if (pid == 0) {
			free(p->pids);
			free(p->born);
			log_after_fork();
			_exit(worker(cfg, arg));
		}
		p->pids[i] = pid;
		p->born[i] = mono_ms();
	}
}

static void
signal_all(const struct pool *p, int sig)
{
	for (int i = 0; i < p->n; i++)
		if (p->pids[i] > 0)
			kill(p->pids[i], sig);
}

/* SIGHUP: load the configuration again; on success replace the workers. */
static void
reload(struct pool *p, struct config *cfg, const char *cfgpath)
{
	char err[512];
	struct config fresh;

	reloading = 0;
	if (config_load(&fresh, cfgpath, err, sizeof(err)) != 0 ||
	    config_check_serving(&fresh, err, sizeof(err)) != 0) {
		log_warnx("reload refused, keeping the old configuration: %s",
		    err);
		return;
	}
	config_copy(cfg, &fresh);
	signal_all(p, SIGTERM);
	log_info("configuration reloaded; replacing workers");
}

/* Forget a worker that ended; log it unless it was asked to stop. */
static void
reaped(struct pool *p, pid_t pid, int status)
{
	for (int i = 0; i < p->n; i++) {
		if (p->pids[i] != pid)
			continue;
		p->pids[i] = 0;
		if (!stopping && (!WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0))
			log_warnx("worker %ld ended (%s %d); replacing it",
			    (long)pid, WIFSIGNALED(status) ? "signal" : "exit",
			    WIFSIGNALED(status) ? WTERMSIG(status)
			    : WEXITSTATUS(status));
		else
			p->born[i] = 0;
	}
}

int
supervisor_run(struct config *cfg, const char *cfgpath, int n,
    supervisor_worker_fn worker, void *arg)
{
	struct pool p = { n, calloc((size_t)n, sizeof(pid_t)),
		calloc((size_t)n, sizeof(long long)) };

	if (p.pids == NULL || p.born == NULL)
		fatalx("out of memory");
	/* No SA_RESTART: waitpid() returns at once to act on a signal. */
	supervisor_signals(on_signal, on_signal);
	log_info("supervisor starting %d workers", n);
	while (!stopping) {
		int status;
		pid_t pid;

		fill(&p, cfg, worker, arg);
		pid = waitpid(-1, &status, 0);
		if (reloading)
			reload(&p, cfg, cfgpath);
		if (pid > 0)
			reaped(&p, pid, status);
	}
	signal_all(&p, SIGTERM);
	for (int i = 0; i < n; i++)
		if (p.pids[i] > 0)
			waitpid(p.pids[i], NULL, 0);
	log_info("supervisor stopped");
	free(p.pids);
	free(p.born);
	return 0;
}
