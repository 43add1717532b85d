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
	char ssl_mode[24];              /* disabled, preferred, required,
					 * verify_ca, verify_identity; "" =
					 * by host (see config_ssl_mode()) */
	char ssl_ca[PATH_MAX];
	char ssl_cert[PATH_MAX];
	char ssl_key[PATH_MAX];
};

/* TLS to the database, weakest first. */
enum ssl_mode {
	SSL_MODE_OFF,                   /* disabled */
	SSL_MODE_PREFER,                /* preferred */
	SSL_MODE_REQUIRE,               /* required */
	SSL_MODE_VERIFY_CA,             /* verify_ca */
	SSL_MODE_VERIFY_IDENTITY        /* verify_identity */
};

struct config {
	char path[PATH_MAX];            /* the file read, "" if none */
	struct db_config db;

	/* [zoom] */
	/* [label:]secret,[label:]secret,... */
	char secret_list[ZE_MAX_SECRETS * (ZE_LABEL_MAX + ZE_SECRET_MAX + 2)];
	char secret_file[PATH_MAX];
	const char *secrets[ZE_MAX_SECRETS]; /* into secret_store */
	const char *labels[ZE_MAX_SECRETS];  /* into label_store: secrets[i]'s */
	size_t nsecrets;
	char secret_store[ZE_MAX_SECRETS][ZE_SECRET_MAX + 1];
	char label_store[ZE_MAX_SECRETS][ZE_LABEL_MAX + 1];
	bool allow_unsigned;
	int sig_max_age_s;              /* past bound; 0 = none */
	int sig_max_future_s;           /* future bound; 0 = none */

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
	int batch_max;                  /* deliveries per transaction */
	/* PHI: what is kept (README "PHI and HIPAA"). */
	char store_raw[16];             /* full, redacted or none */
	char participant_name[16];      /* keep, pseudonymise or drop */
	char pseudonym_key_file[PATH_MAX];
	char pseudonym_key[ZE_SECRET_MAX + 1]; /* the file's content */
	char spool_key_file[PATH_MAX];
	unsigned char spool_key[32];    /* from spool_key_file */
	bool has_spool_key;
	int retention_days;             /* events; 0 = keep */
	int rejected_retention_days;    /* dead letters; 0 = keep */
	int ledger_retention_days;      /* ledger rows; 0 = keep */
	int visit_quiet_s;              /* no meeting.ended: ended after this */
	int visit_open_alert_s;         /* open visits older than this count
					 * as overdue (metrics) */
	int threads;                    /* request threads per process */

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

/* Copy a configuration: secrets[] and labels[] point into the struct
 * itself, so a plain assignment would leave them pointing into the
 * source. */
void config_copy(struct config *dst, const struct config *src);

/* store_raw and participant_name, as read. */
enum raw_policy { RAW_FULL, RAW_REDACTED, RAW_NONE };
enum name_policy { NAME_KEEP, NAME_PSEUDONYMISE, NAME_DROP };
enum raw_policy config_raw_policy(const struct config *c);
enum name_policy config_name_policy(const struct config *c);

/*
 * The TLS mode for db: its ssl_mode, or by default required when the
 * server is reached over the network (no socket, and a host that is not
 * localhost or a loopback address) and preferred otherwise.
 */
enum ssl_mode config_ssl_mode(const struct db_config *db);

/* Print every setting, secrets and passwords masked, one per line. */
void config_dump(const struct config *c, void (*out)(const char *line));

#endif /* CONFIG_H */
