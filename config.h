/*
 * config.h -- the configuration, read once at start-up from the seed's
 * Config.toml (with libinih) and ZOOM_EVENTS_* environment variables.
 * Request code only ever sees a const struct config.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "zoom_limits.h"

#define CONFIG_MAX_WARNINGS 4

struct db_config {
	char host[256];
	int port;
	char user[128];
	char password[256];
	char database[65];
	char socket[PATH_MAX];          /* "" = let host/port decide */
};

struct config {
	char path[PATH_MAX];            /* the file read, "" if none */
	struct db_config db;

	/* [zoom] */
	char secret_list[ZE_MAX_SECRETS * (ZE_SECRET_MAX + 1)]; /* a,b,c */
	char secret_file[PATH_MAX];
	const char *secrets[ZE_MAX_SECRETS]; /* into secret_store */
	size_t nsecrets;
	char secret_store[ZE_MAX_SECRETS][ZE_SECRET_MAX + 1];
	bool allow_unsigned;
	int sig_max_age_s;              /* 0 = no replay window */

	/* [zoom_events] */
	int max_body_bytes;
	char spool_dir[PATH_MAX];
	char instance[ZE_INSTANCE_MAX + 1];
	char log_target[PATH_MAX];      /* auto, stderr, syslog or a path */
	int log_level;                  /* enum log_level */
	int db_timeout_s;
	int db_retry_ms;
	int stats_cache_ms;
	int stats_slots;

	/* Said once the log is open (file permissions and the like). */
	char warnings[CONFIG_MAX_WARNINGS][256];
	int nwarnings;
};

/*
 * Fill *c from defaults, then the file at path (NULL: $ZOOM_EVENTS_CONFIG,
 * else ./Config.toml when it exists), then the environment.  Returns 0, or
 * -1 with a message naming the key or file in err.
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/*
 * Can a service with this configuration serve Zoom at all?  -1, with why
 * in err, when it would refuse every delivery (no secret and unsigned
 * posts not allowed): the service will not start with it, and a reload
 * keeps the old configuration instead.
 */
int config_check_serving(const struct config *c, char *err, size_t errlen);

/* Copy a configuration: secrets[] point into the struct itself, so a
 * plain assignment would leave them pointing into the source. */
void config_copy(struct config *dst, const struct config *src);

/* Print every setting, secrets and passwords masked, one per line. */
void config_dump(const struct config *c, void (*out)(const char *line));

#endif /* CONFIG_H */
