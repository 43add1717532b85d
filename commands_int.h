/*
 * commands_int.h -- what commands.c and commands_report.c share: the
 * commands of the second, and helpers.  Nothing else includes it.
 */
#ifndef COMMANDS_INT_H
#define COMMANDS_INT_H

#include "commands.h"
#include "ingest.h"

/* "90s", "5m", "2h", "1d" (or plain seconds) into milliseconds.  0, or -1
 * when s is not a duration. */
int cmd_parse_duration(const char *s, long long *ms);

/* Who runs command, for the audit trail (the effective user, the host). */
struct audit_who cmd_whoami(const char *command);

int cmd_deliveries(const struct config *cfg, int argc, char **argv);
int cmd_visits(const struct config *cfg, int argc, char **argv);
int cmd_report(const struct config *cfg, int argc, char **argv);
int cmd_purge(const struct config *cfg, int argc, char **argv);
int cmd_audit(const struct config *cfg, int argc, char **argv);

#endif /* COMMANDS_INT_H */
