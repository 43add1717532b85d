/*
 * supervisor.h -- -F N: a parent process that keeps N workers running on
 * one listening socket, passes SIGTERM on, and re-reads the configuration
 * on SIGHUP.  Knows nothing of FastCGI: the worker is a callback.
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

#include "config.h"

/* Runs in each forked child; its return value is the child's exit code. */
typedef int (*supervisor_worker_fn)(const struct config *cfg, void *arg);

/*
 * Fork n workers and keep them running until SIGTERM, SIGINT or SIGUSR1,
 * then stop them and wait.  SIGHUP re-reads the configuration from
 * cfgpath into *cfg (kept unchanged when it fails to load or fails
 * config_check_serving()) and replaces every worker.  Returns 0.
 */
int supervisor_run(struct config *cfg, const char *cfgpath, int n,
    supervisor_worker_fn worker, void *arg);

/*
 * Handle SIGTERM, SIGINT and SIGUSR1 ("finish and exit") with on_stop and
 * SIGHUP with on_hup (ignored when NULL), all without SA_RESTART so that a
 * blocking accept() or waitpid() returns at once; ignore SIGPIPE.
 */
void supervisor_signals(void (*on_stop)(int), void (*on_hup)(int));

#endif /* SUPERVISOR_H */
