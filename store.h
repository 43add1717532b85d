/*
 * store.h -- the worker's one MariaDB/MySQL connection, its prepared
 * statements and its transactions.  Owns <mysql.h>; callers see struct
 * store as an opaque handle.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "normalize.h"

struct store;

/* A parameter of store_exec()/store_query(). */
enum store_type { STORE_NULL, STORE_INT, STORE_STR };

struct store_val {
	enum store_type type;
	long long i;            /* STORE_INT */
	const char *s;          /* STORE_STR: not NUL-terminated */
	size_t len;
};

#define STORE_I(v) ((struct store_val){ STORE_INT, (v), NULL, 0 })
#define STORE_S(p, n) ((struct store_val){ STORE_STR, 0, (p), (n) })
#define STORE_Z(p) STORE_S((p), strlen(p))
#define STORE_NUL ((struct store_val){ STORE_NULL, 0, NULL, 0 })

/* A result column of store_query(): an integer, or a string copied into
 * the caller's buf (cut at size - 1, always NUL-terminated). */
struct store_col {
	enum store_type type;   /* STORE_INT or STORE_STR */
	long long i;
	char *buf;
	size_t size;
	size_t len;             /* full length, even when cut */
	bool is_null;
};

/*
 * A handle with no connection yet.  db must outlive the handle.  Never
 * returns NULL (aborts on out of memory at start-up).
 */
struct store *store_new(const struct db_config *db, int timeout_s);
void store_free(struct store *st);

/* Connect and set up the session (utf8mb4, strict mode, UTC, explicit
 * transactions).  0, or -1 with store_errmsg() set. */
int store_open(struct store *st);
/* The TLS cipher of the connection, "" when it is not encrypted (or not
 * open). */
const char *store_tls_cipher(const struct store *st);

/* Drop the connection (and its prepared statements). */
void store_close(struct store *st);
bool store_is_open(const struct store *st);

/* The last error: text (never NULL) and MySQL error number (0 = none). */
const char *store_errmsg(const struct store *st);
unsigned store_errno(const struct store *st);

/*
 * True when the last error was the data's fault (a value the schema
 * refuses), so that retrying the same data can never succeed.  Every other
 * error (connection, deadlock, lock wait, missing table, read-only node)
 * is worth a retry later.
 */
bool store_err_is_data(const struct store *st);
/* True when the last error means the connection must be reopened. */
bool store_err_is_connection(const struct store *st);

/*
 * Run sql with params as a statement prepared once per connection (the
 * cache is keyed by the sql pointer, so pass string literals).  Sets
 * *affected when not NULL.  0 or -1.
 */
int store_exec(struct store *st, const char *sql,
    const struct store_val *params, size_t nparams, long long *affected);

/*
 * Run a SELECT the same way.  For each row, fill out[0..nout) and call
 * row(arg, out, nout) when row is not NULL (a non-zero return stops).
 * Returns the number of rows seen, or -1.  With row NULL, out holds the
 * first row (all is_null when there was none).
 */
int store_query(struct store *st, const char *sql,
    const struct store_val *params, size_t nparams, struct store_col *out,
    size_t nout, int (*row)(void *arg, struct store_col *out, size_t nout),
    void *arg);

/* End the current transaction.  0 or -1. */
int store_commit(struct store *st);
void store_rollback(struct store *st);

/*
 * Insert a normalized event into zoom_visit_events, within the current
 * transaction.  *added is 1 for a new row, 0 for a duplicate of the unique
 * key; *id is the row's id either way.  0 or -1.
 */
int store_insert_event(struct store *st, const struct zoom_event *ev,
    int *added, long long *id);

/* A dead letter: the raw body of an authentic delivery that could not be
 * normalized, with why.  body_sha256 (32 bytes) de-duplicates it. */
struct dead_letter {
	const char *reason;             /* norm_strerror() token */
	const char *detail;             /* the error message */
	const char *event_name;         /* "" when unknown */
	const char *request_id;         /* x-zm-request-id or "" */
	long long received_ms;          /* Unix milliseconds */
	const unsigned char *body_sha256;
	const char *raw;
	size_t raw_len;
};

/* Insert a dead letter within the current transaction.  *added and *id
 * as above. */
int store_insert_rejected(struct store *st, const struct dead_letter *dl,
    int *added, long long *id);

/* One row of the delivery ledger (zoom_deliveries). */
struct ledger_row {
	long long received_ms;          /* Unix ms */
	const char *request_id;
	const char *label;              /* the verifying secret's, "" none */
	const char *event_name;         /* NULL or "": unknown */
	const char *meeting_id;         /* NULL or "": none */
	const char *outcome;            /* inserted, duplicate, ignored,
					 * rejected or replayed */
	long long sig_age_ms;
	bool has_sig_age;
	long long lag_ms;
	bool has_lag;
	long long event_id;             /* 0 = none */
	long long rejected_id;          /* 0 = none */
	long long event_ts;             /* 0 = none */
};

/* Rows per multi-row INSERT statement at most (more go in further
 * statements). */
#define STORE_ROWS_CHUNK 32

/*
 * A multi-row insert: "INSERT INTO t (a, b) VALUES " and the row tuple
 * "(?, ?)" with its ncols placeholders.  sql caches the statement text per
 * row count; initialise it to { NULL } and keep the struct for the
 * process (a static).
 */
struct store_rows {
	const char *head;
	const char *tuple;
	size_t ncols;
	char *sql[STORE_ROWS_CHUNK + 1];
};

/* Insert nrows rows (vals holds nrows * r->ncols values, row by row)
 * within the current transaction.  0 or -1. */
int store_insert_rows(struct store *st, struct store_rows *r,
    const struct store_val *vals, size_t nrows);

/* Insert rows[0..n) into the ledger within the current transaction, in
 * as few statements as the chunk size allows.  0 or -1. */
int store_insert_ledger(struct store *st, const struct ledger_row *rows,
    size_t n);

/* Up to n dead-letter ids greater than after_id, ascending, into ids.
 * Returns how many, or -1. */
int store_rejected_ids(struct store *st, long long after_id, long long *ids,
    int n);

/* One dead letter's raw body (into buf, at most size bytes), receive time
 * and request id.  1 when found, 0 when not, -1 on error or when the body
 * does not fit. */
int store_rejected_get(struct store *st, long long id, char *buf,
    size_t size, size_t *len, long long *received_ms, char *request_id,
    size_t idsize);

/* Delete one dead letter within the current transaction.  0 or -1. */
int store_rejected_delete(struct store *st, long long id);

/* Dead letters currently kept, per reason: fn(arg, reason, count) for
 * each.  Ends the read.  0 or -1. */
int store_rejected_reasons(struct store *st,
    void (*fn)(void *arg, const char *reason, long long n), void *arg);

/* Check that every table the service needs exists; fills err with the
 * first missing one.  0 or -1. */
int store_check_schema(struct store *st, char *err, size_t errlen);

/* Server version and, on Galera, the node's state ("Synced") and name. */
int store_server_info(struct store *st, char *version, size_t vlen,
    char *wsrep_state, size_t slen, char *node, size_t nlen);

#endif /* STORE_H */
