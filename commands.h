/*
 * commands.h -- the command-line commands of zoom_events (sign,
 * validate-token, drain, replay-rejected, check-config, ...).  They reach
 * the database and the spool only through ingest.  Knows nothing of
 * FastCGI.
 */
#ifndef COMMANDS_H
#define COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

/* True when name is a command (argv[0] of commands_run()). */
bool commands_exists(const char *name);

/*
 * Run the command argv[0] with its arguments, printing to stdout.  Returns
 * its exit status: 0 ok, 1 failed, 2 bad usage.
 */
int commands_run(const struct config *cfg, int argc, char **argv);

/* The "commands:" part of the usage text. */
void commands_usage(FILE *fp);

#endif /* COMMANDS_H */
