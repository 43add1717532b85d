/*
 * store.c -- persist normalized events and dead letters in MariaDB or
 * MySQL through one persistent connection.  Knows nothing of FastCGI or
 * HTTP; does not log (callers read store_errmsg()).
 *
 * Every statement is prepared once per connection and cached by its SQL
 * text's address; no SQL text is ever built from input.  The session runs
 * with autocommit off, so each unit of work ends with store_commit() or
 * store_rollback(), and in strict mode, so that the server refuses a value
 * rather than truncating it.
 */
#include "store.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#define STMT_CACHE 64
/* Bound parameters of one statement: a multi-row insert binds up to
 * STORE_ROWS_CHUNK rows of up to 20 columns. */
#define MAX_PARAMS (STORE_ROWS_CHUNK * 20)
#define LEDGER_COLS 11
/* Result columns of one query. */
#define MAX_COLS 32

struct stmt_slot {
	const char *sql;        /* the key: the caller's string literal */
	MYSQL_STMT *stmt;
};

struct store {
	const struct db_config *db;
	unsigned int timeout_s;
	MYSQL *my;              /* NULL when closed */
	struct stmt_slot cache[STMT_CACHE];
	MYSQL_BIND bind[MAX_PARAMS];    /* scratch for execute() */
	unsigned long lens[MAX_PARAMS];
	char errmsg[512];
	unsigned err;
};

/*
 * The session every connection gets.  Strict mode refuses over-long or
 * invalid values instead of storing a truncated copy; UTC makes
 * created_at and received_at read the same from every client; a one second
 * lock wait keeps a stuck lock from eating Zoom's 3 s.
 */
static const char session_sql[] =
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,"
    "NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO',"
    " time_zone = '+00:00', innodb_lock_wait_timeout = 1";

static void
set_err(struct store *st, unsigned err, const char *msg)
{
	st->err = err;
	snprintf(st->errmsg, sizeof(st->errmsg), "%s", msg);
}

static void
err_from_conn(struct store *st)
{
	set_err(st, mysql_errno(st->my), mysql_error(st->my));
}

static void
err_from_stmt(struct store *st, MYSQL_STMT *stmt)
{
	set_err(st, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
}

struct store *
store_new(const struct db_config *db, int timeout_s)
{
	struct store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		abort();
	st->db = db;
	st->timeout_s = (unsigned int)timeout_s;
	set_err(st, 0, "not connected");
	return st;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	store_close(st);
	free(st);
}

void
store_close(struct store *st)
{
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (st->cache[i].stmt != NULL)
			mysql_stmt_close(st->cache[i].stmt);
		st->cache[i].stmt = NULL;
		st->cache[i].sql = NULL;
	}
	if (st->my != NULL)
		mysql_close(st->my);
	st->my = NULL;
}

bool
store_is_open(const struct store *st)
{
	return st->my != NULL;
}

const char *
store_errmsg(const struct store *st)
{
	return st->errmsg;
}

unsigned
store_errno(const struct store *st)
{
	return st->err;
}

/*
 * TLS, from the configured ssl_mode (config_ssl_mode()).  MariaDB
 * Connector/C 3.3 has no single "mode" option: ENFORCE asks for TLS, a CA
 * verifies the certificate chain, VERIFY_SERVER_CERT adds the host name
 * (and is the only setting that makes the library refuse a server
 * without TLS; see store_open() for the others).  Both are set explicitly
 * either way, because Connector/C 3.4 verifies by default.  MySQL's own
 * client library has MYSQL_OPT_SSL_MODE instead.  A local server
 * (preferred, the default there) gets no TLS options at all: a socket
 * needs none.
 */
static void
set_tls(struct store *st, enum ssl_mode mode)
{
	const struct db_config *db = st->db;
#ifdef LIBMARIADB
	my_bool on = mode >= SSL_MODE_REQUIRE || (mode == SSL_MODE_PREFER &&
	    db->socket[0] == '\0' && strcmp(db->host, "localhost") != 0);
	my_bool verify = mode == SSL_MODE_VERIFY_IDENTITY;

	mysql_options(st->my, MYSQL_OPT_SSL_ENFORCE, &on);
	mysql_options(st->my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
	if (!on)
		return;
#else
	static const unsigned int modes[] = { SSL_MODE_DISABLED,
		SSL_MODE_PREFERRED, SSL_MODE_REQUIRED, SSL_MODE_VERIFY_CA,
		SSL_MODE_VERIFY_IDENTITY };
	unsigned int m = modes[mode];

	mysql_options(st->my, MYSQL_OPT_SSL_MODE, &m);
#endif
	if (db->ssl_ca[0] != '\0' && mode >= SSL_MODE_VERIFY_CA)
		mysql_options(st->my, MYSQL_OPT_SSL_CA, db->ssl_ca);
	if (db->ssl_cert[0] != '\0') {
		mysql_options(st->my, MYSQL_OPT_SSL_CERT, db->ssl_cert);
		mysql_options(st->my, MYSQL_OPT_SSL_KEY, db->ssl_key);
	}
}

int
store_open(struct store *st)
{
	const struct db_config *db = st->db;
	enum ssl_mode mode = config_ssl_mode(db);
	unsigned int t = st->timeout_s, no = 0;
	const char *host = db->host;

	store_close(st);
	if ((st->my = mysql_init(NULL)) == NULL) {
		set_err(st, CR_OUT_OF_MEMORY, "mysql_init failed");
		return -1;
	}
	mysql_options(st->my, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	mysql_options(st->my, MYSQL_OPT_READ_TIMEOUT, &t);
	mysql_options(st->my, MYSQL_OPT_WRITE_TIMEOUT, &t);
	mysql_options(st->my, MYSQL_OPT_LOCAL_INFILE, &no);
	mysql_options(st->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	set_tls(st, mode);
	/* A socket path means "connect through it", whatever host says:
	 * the client library only uses the socket for localhost. */
	if (db->socket[0] != '\0')
		host = "localhost";
	if (mysql_real_connect(st->my, host, db->user, db->password,
	    db->database, (unsigned int)db->port,
	    db->socket[0] != '\0' ? db->socket : NULL, 0) == NULL)
		goto fail;
	/* Connector/C 3.3 falls back to plain text when the server offers
	 * no TLS, unless VERIFY_SERVER_CERT is set: refuse that here.  (An
	 * attacker in the path could still strip TLS before this check:
	 * only verify_identity stops that.) */
	if (mode >= SSL_MODE_REQUIRE && mysql_get_ssl_cipher(st->my) == NULL) {
		set_err(st, CR_SSL_CONNECTION_ERROR, "TLS is required "
		    "(ssl_mode), but the server did not negotiate it");
		goto fail_close;
	}
	if (mysql_query(st->my, session_sql) != 0 ||
	    mysql_autocommit(st->my, 0) != 0)
		goto fail;
	set_err(st, 0, "");
	return 0;

fail:
	err_from_conn(st);
fail_close:
	mysql_close(st->my);
	st->my = NULL;
	return -1;
}

const char *
store_tls_cipher(const struct store *st)
{
	const char *c = st->my != NULL ? mysql_get_ssl_cipher(st->my) : NULL;

	return c != NULL ? c : "";
}

bool
store_err_is_data(const struct store *st)
{
	switch (st->err) {
	case ER_BAD_NULL_ERROR:                 /* 1048 */
	case ER_WARN_DATA_OUT_OF_RANGE:         /* 1264 */
	case WARN_DATA_TRUNCATED:               /* 1265 */
	case ER_TRUNCATED_WRONG_VALUE:          /* 1292 */
	case ER_INVALID_CHARACTER_STRING:       /* 1300 */
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: /* 1366 */
	case ER_DATA_TOO_LONG:                  /* 1406 */
	case 3140:      /* MySQL: invalid JSON text */
	case 3819:      /* MySQL: check constraint violated */
	case 4025:      /* MariaDB: CONSTRAINT failed */
		return true;
	default:
		return false;
	}
}

bool
store_err_is_connection(const struct store *st)
{
	if (st->err >= CR_MIN_ERROR && st->err <= CR_MAX_ERROR)
		return true;
	switch (st->err) {
	case ER_CON_COUNT_ERROR:        /* 1040 */
	case ER_UNKNOWN_COM_ERROR:      /* 1047: Galera node not ready */
	case ER_SERVER_SHUTDOWN:        /* 1053 */
	case ER_ABORTING_CONNECTION:    /* 1152 */
	case ER_NEW_ABORTING_CONNECTION: /* 1184 */
	case ER_CONNECTION_KILLED:      /* 1927 */
	case 4031:      /* MySQL: disconnected by the server (idle) */
		return true;
	default:
		return st->my == NULL;
	}
}

/* The cached statement for sql, prepared on first use. */
static MYSQL_STMT *
get_stmt(struct store *st, const char *sql)
{
	MYSQL_STMT *stmt;
	size_t i;

	if (st->my == NULL) {
		set_err(st, CR_SERVER_GONE_ERROR, "not connected");
		return NULL;
	}
	for (i = 0; i < STMT_CACHE && st->cache[i].sql != NULL; i++)
		if (st->cache[i].sql == sql)
			return st->cache[i].stmt;
	assert(i < STMT_CACHE);         /* more statements than we have */
	if ((stmt = mysql_stmt_init(st->my)) == NULL) {
		err_from_conn(st);
		return NULL;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		err_from_stmt(st, stmt);
		mysql_stmt_close(stmt);
		return NULL;
	}
	st->cache[i].sql = sql;
	st->cache[i].stmt = stmt;
	return stmt;
}

/* Bind params and execute.  The bound buffers only need to live until
 * mysql_stmt_execute() returns. */
static int
execute(struct store *st, MYSQL_STMT *stmt, const struct store_val *params,
    size_t n)
{
	MYSQL_BIND *bind = st->bind;
	unsigned long *lens = st->lens;

	assert(n <= MAX_PARAMS && n == mysql_stmt_param_count(stmt));
	memset(bind, 0, n * sizeof(bind[0]));
	for (size_t i = 0; i < n; i++) {
		switch (params[i].type) {
		case STORE_NULL:
			bind[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case STORE_INT:
			bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[i].buffer = (void *)(uintptr_t)&params[i].i;
			break;
		case STORE_STR:
			lens[i] = (unsigned long)params[i].len;
			bind[i].buffer_type = MYSQL_TYPE_STRING;
			bind[i].buffer = (void *)(uintptr_t)params[i].s;
			bind[i].buffer_length = lens[i];
			bind[i].length = &lens[i];
			break;
		}
	}
	if ((n > 0 && mysql_stmt_bind_param(stmt, bind) != 0) ||
	    mysql_stmt_execute(stmt) != 0) {
		err_from_stmt(st, stmt);
		return -1;
	}
	return 0;
}

int
store_exec(struct store *st, const char *sql, const struct store_val *params,
    size_t nparams, long long *affected)
{
	MYSQL_STMT *stmt = get_stmt(st, sql);

	if (stmt == NULL || execute(st, stmt, params, nparams) != 0)
		return -1;
	if (affected != NULL)
		*affected = (long long)mysql_stmt_affected_rows(stmt);
	return 0;
}

int
store_query(struct store *st, const char *sql, const struct store_val *params,
    size_t nparams, struct store_col *out, size_t nout,
    int (*row)(void *arg, struct store_col *out, size_t nout), void *arg)
{
	MYSQL_STMT *stmt = get_stmt(st, sql);
	MYSQL_BIND bind[MAX_COLS];
	unsigned long lens[MAX_COLS];
	my_bool nulls[MAX_COLS];
	int rows = 0, rc;

	assert(nout <= MAX_COLS);
	for (size_t i = 0; i < nout; i++)
		out[i].is_null = true;
	if (stmt == NULL || execute(st, stmt, params, nparams) != 0)
		return -1;
	assert(nout == mysql_stmt_field_count(stmt));
	memset(bind, 0, sizeof(bind));
	for (size_t i = 0; i < nout; i++) {
		bind[i].is_null = &nulls[i];
		bind[i].length = &lens[i];
		if (out[i].type == STORE_INT) {
			bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[i].buffer = &out[i].i;
		} else {
			assert(out[i].size > 0);
			bind[i].buffer_type = MYSQL_TYPE_STRING;
			bind[i].buffer = out[i].buf;
			bind[i].buffer_length = out[i].size - 1;
		}
	}
	/* Buffer the whole result, so that row() may run statements. */
	if (mysql_stmt_bind_result(stmt, bind) != 0 ||
	    mysql_stmt_store_result(stmt) != 0) {
		err_from_stmt(st, stmt);
		mysql_stmt_free_result(stmt);
		return -1;
	}
	while ((rc = mysql_stmt_fetch(stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		for (size_t i = 0; i < nout; i++) {
			out[i].is_null = nulls[i] != 0;
			out[i].len = lens[i];
			if (out[i].type == STORE_STR) {
				size_t n = nulls[i] ? 0 : lens[i];

				out[i].buf[n < out[i].size ? n
				    : out[i].size - 1] = '\0';
			}
		}
		rows++;
		if (row == NULL || row(arg, out, nout) != 0)
			break;
	}
	if (rc == 1) {
		err_from_stmt(st, stmt);
		rows = -1;
	}
	mysql_stmt_free_result(stmt);
	return rows;
}

int
store_commit(struct store *st)
{
	if (st->my == NULL) {
		set_err(st, CR_SERVER_GONE_ERROR, "not connected");
		return -1;
	}
	if (mysql_commit(st->my) != 0) {
		err_from_conn(st);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *st)
{
	/* A failed rollback leaves nothing to undo: the server rolls the
	 * transaction back when the connection goes. */
	if (st->my != NULL && mysql_rollback(st->my) != 0)
		store_close(st);
}

/*
 * "id = LAST_INSERT_ID(id)" changes nothing (a duplicate reports 0
 * affected rows without CLIENT_FOUND_ROWS) and makes the existing row's id
 * the statement's insert id, so that the ledger can point at it.
 */
static const char insert_event_sql[] =
    "INSERT INTO zoom_visit_events (meeting_id, visit_uuid, event_name,"
    " event_ts, event_time_ms, participant_id, participant_key_source,"
    " person_key, is_host, participant_name, leave_reason, latency_ms,"
    " interpreter_requested, raw)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)";

/* The insert id of sql's statement after an execute. */
static long long
insert_id(struct store *st, const char *sql)
{
	MYSQL_STMT *stmt = get_stmt(st, sql);

	return stmt != NULL ? (long long)mysql_stmt_insert_id(stmt) : 0;
}

int
store_insert_event(struct store *st, const struct zoom_event *ev, int *added,
    long long *id)
{
	struct store_val p[] = {
		STORE_Z(ev->meeting_id),
		STORE_Z(ev->visit_uuid),
		STORE_Z(ev->event_name),
		STORE_I(ev->event_ts),
		ev->event_time_ms > 0 ? STORE_I(ev->event_time_ms) : STORE_NUL,
		STORE_Z(ev->participant_id),
		STORE_Z(ev->participant_key_source),
		STORE_Z(ev->person_key),
		STORE_I(ev->is_host),
		ev->has_participant_name ? STORE_Z(ev->participant_name)
		    : STORE_NUL,
		ev->has_leave_reason ? STORE_Z(ev->leave_reason) : STORE_NUL,
		ev->has_latency ? STORE_I(ev->latency_ms) : STORE_NUL,
		ev->interpreter_requested ? STORE_I(1) : STORE_NUL,
		STORE_S(ev->raw, ev->raw_len),
	};
	long long n;

	if (store_exec(st, insert_event_sql, p, sizeof(p) / sizeof(p[0]),
	    &n) != 0)
		return -1;
	*added = n == 1;
	*id = insert_id(st, insert_event_sql);
	return 0;
}

static const char insert_rejected_sql[] =
    "INSERT INTO zoom_rejected_events (received_at, reason, detail,"
    " event_name, request_id, body_sha256, raw)"
    " VALUES (FROM_UNIXTIME(? / 1000), ?, ?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)";

int
store_insert_rejected(struct store *st, const struct dead_letter *dl,
    int *added, long long *id)
{
	struct store_val p[] = {
		STORE_I(dl->received_ms),
		STORE_Z(dl->reason),
		STORE_S(dl->detail, strnlen(dl->detail, ZE_DETAIL_MAX)),
		dl->event_name[0] ? STORE_Z(dl->event_name) : STORE_NUL,
		STORE_S(dl->request_id, strnlen(dl->request_id,
		    ZE_REQUEST_ID_MAX)),
		STORE_S((const char *)dl->body_sha256, 32),
		STORE_S(dl->raw, dl->raw_len),
	};
	long long n;

	if (store_exec(st, insert_rejected_sql, p, sizeof(p) / sizeof(p[0]),
	    &n) != 0)
		return -1;
	*added = n == 1;
	*id = insert_id(st, insert_rejected_sql);
	return 0;
}

/*
 * Multi-row inserts: one statement per power-of-two row count up to
 * STORE_ROWS_CHUNK, built once per process from the table's head and row
 * tuple and kept (the statement cache is keyed by the text's address).
 * Only placeholders are generated; no value ever enters the text.
 */
static const char *
rows_sql(struct store_rows *r, size_t rows)
{
	size_t len;
	char *p, *sql;

	assert(rows >= 1 && rows <= STORE_ROWS_CHUNK);
	if (r->sql[rows] != NULL)
		return r->sql[rows];
	len = strlen(r->head) + rows * (strlen(r->tuple) + 2) + 1;
	if ((sql = malloc(len)) == NULL)
		abort();
	p = sql + snprintf(sql, len, "%s", r->head);
	for (size_t i = 0; i < rows; i++)
		p += snprintf(p, len - (size_t)(p - sql), "%s%s", i ? ", " : "",
		    r->tuple);
	r->sql[rows] = sql;
	return sql;
}

int
store_insert_rows(struct store *st, struct store_rows *r,
    const struct store_val *vals, size_t nrows)
{
	size_t chunk = STORE_ROWS_CHUNK;

	assert(r->ncols * STORE_ROWS_CHUNK <= MAX_PARAMS);
	while (nrows > 0) {
		while (chunk > nrows)
			chunk /= 2;
		if (store_exec(st, rows_sql(r, chunk), vals, chunk * r->ncols,
		    NULL) != 0)
			return -1;
		vals += chunk * r->ncols;
		nrows -= chunk;
	}
	return 0;
}

static struct store_rows ledger_rows = {
	"INSERT INTO zoom_deliveries (received_at, request_id, source_label,"
	" event_name, meeting_id, outcome, signature_age_ms, delivery_lag_ms,"
	" event_id, rejected_id, event_ts) VALUES ",
	"(FROM_UNIXTIME(? / 1000), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	LEDGER_COLS, { NULL }
};

static struct store_val
opt_str(const char *s)
{
	return s != NULL && s[0] != '\0' ? STORE_Z(s) : STORE_NUL;
}

static struct store_val
opt_int(long long v, bool has)
{
	return has ? STORE_I(v) : STORE_NUL;
}

int
store_insert_ledger(struct store *st, const struct ledger_row *rows,
    size_t n)
{
	struct store_val *p = calloc(n * LEDGER_COLS, sizeof(*p));
	int rc;

	if (p == NULL) {
		set_err(st, CR_OUT_OF_MEMORY, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ledger_row *r = &rows[i];
		struct store_val *v = &p[i * LEDGER_COLS];

		v[0] = STORE_I(r->received_ms);
		v[1] = STORE_S(r->request_id, strnlen(r->request_id,
		    ZE_REQUEST_ID_MAX));
		v[2] = STORE_S(r->label, strnlen(r->label, ZE_LABEL_MAX));
		v[3] = opt_str(r->event_name);
		v[4] = opt_str(r->meeting_id);
		v[5] = STORE_Z(r->outcome);
		v[6] = opt_int(r->sig_age_ms, r->has_sig_age);
		v[7] = opt_int(r->lag_ms, r->has_lag);
		v[8] = opt_int(r->event_id, r->event_id > 0);
		v[9] = opt_int(r->rejected_id, r->rejected_id > 0);
		v[10] = opt_int(r->event_ts, r->event_ts > 0);
	}
	rc = store_insert_rows(st, &ledger_rows, p, n);
	free(p);
	return rc;
}

static const char rejected_ids_sql[] =
    "SELECT id FROM zoom_rejected_events WHERE id > ?"
    " AND reason <> 'spool_unverified' ORDER BY id LIMIT ?";

struct id_list {
	long long *ids;
	int n, max;
};

static int
collect_id(void *arg, struct store_col *out, size_t nout)
{
	struct id_list *l = arg;

	(void)nout;
	if (l->n < l->max)
		l->ids[l->n++] = out[0].i;
	return 0;
}

int
store_rejected_ids(struct store *st, long long after_id, long long *ids, int n)
{
	struct store_val p[] = { STORE_I(after_id), STORE_I(n) };
	struct store_col c = { .type = STORE_INT };
	struct id_list l = { ids, 0, n };

	if (store_query(st, rejected_ids_sql, p, 2, &c, 1, collect_id, &l) < 0)
		return -1;
	return l.n;
}

static const char rejected_get_sql[] =
    "SELECT raw, CAST(UNIX_TIMESTAMP(received_at) * 1000 AS SIGNED),"
    " request_id FROM zoom_rejected_events WHERE id = ?";

int
store_rejected_get(struct store *st, long long id, char *buf, size_t size,
    size_t *len, long long *received_ms, char *request_id, size_t idsize)
{
	struct store_val p = STORE_I(id);
	struct store_col c[3] = {
		{ .type = STORE_STR, .buf = buf, .size = size },
		{ .type = STORE_INT },
		{ .type = STORE_STR, .buf = request_id, .size = idsize },
	};
	int rows = store_query(st, rejected_get_sql, &p, 1, c, 3, NULL, NULL);

	if (rows <= 0)
		return rows;
	if (c[0].len >= size) {
		set_err(st, 0, "dead letter larger than the body buffer");
		return -1;
	}
	*len = c[0].len;
	*received_ms = c[1].is_null ? 0 : c[1].i;
	return 1;
}

static const char rejected_delete_sql[] =
    "DELETE FROM zoom_rejected_events WHERE id = ?";

int
store_rejected_delete(struct store *st, long long id)
{
	struct store_val p = STORE_I(id);

	return store_exec(st, rejected_delete_sql, &p, 1, NULL);
}

static const char reasons_sql[] =
    "SELECT reason, COUNT(*) FROM zoom_rejected_events GROUP BY reason";

struct reasons_cb {
	void (*fn)(void *arg, const char *reason, long long n);
	void *arg;
};

static int
each_reason(void *arg, struct store_col *out, size_t nout)
{
	struct reasons_cb *cb = arg;

	(void)nout;
	cb->fn(cb->arg, out[0].buf, out[1].i);
	return 0;
}

int
store_rejected_reasons(struct store *st,
    void (*fn)(void *arg, const char *reason, long long n), void *arg)
{
	char reason[ZE_REASON_MAX + 1];
	struct store_col c[2] = {
		{ .type = STORE_STR, .buf = reason, .size = sizeof(reason) },
		{ .type = STORE_INT },
	};
	struct reasons_cb cb = { fn, arg };

	if (store_query(st, reasons_sql, NULL, 0, c, 2, each_reason, &cb) < 0)
		return -1;
	return store_commit(st);
}

static const char table_exists_sql[] =
    "SELECT COUNT(*) FROM information_schema.tables"
    " WHERE table_schema = DATABASE() AND table_name = ?";

int
store_check_schema(struct store *st, char *err, size_t errlen)
{
	static const char *const tables[] = { "zoom_visit_events",
		"zoom_rejected_events", "zoom_stats" };
	struct store_col c = { .type = STORE_INT };

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		struct store_val p = STORE_Z(tables[i]);

		if (store_query(st, table_exists_sql, &p, 1, &c, 1, NULL,
		    NULL) < 0) {
			snprintf(err, errlen, "%s", store_errmsg(st));
			return -1;
		}
		if (c.is_null || c.i != 1) {
			snprintf(err, errlen, "table %s is missing: apply "
			    "sql/schema.sql", tables[i]);
			store_rollback(st);
			return -1;
		}
	}
	store_rollback(st);
	return 0;
}

/* The value of one row of "SHOW ... LIKE" into buf; "" when absent. */
static int
show_value(struct store *st, const char *sql, char *buf, size_t len)
{
	MYSQL_RES *res;
	MYSQL_ROW r;

	buf[0] = '\0';
	if (mysql_query(st->my, sql) != 0) {
		err_from_conn(st);
		return -1;
	}
	if ((res = mysql_store_result(st->my)) == NULL) {
		err_from_conn(st);
		return -1;
	}
	if ((r = mysql_fetch_row(res)) != NULL && r[1] != NULL)
		snprintf(buf, len, "%s", r[1]);
	mysql_free_result(res);
	return 0;
}

int
store_server_info(struct store *st, char *version, size_t vlen,
    char *wsrep_state, size_t slen, char *node, size_t nlen)
{
	if (st->my == NULL) {
		set_err(st, CR_SERVER_GONE_ERROR, "not connected");
		return -1;
	}
	snprintf(version, vlen, "%s", mysql_get_server_info(st->my));
	if (show_value(st, "SHOW GLOBAL STATUS LIKE "
	    "'wsrep_local_state_comment'", wsrep_state, slen) != 0 ||
	    show_value(st, "SHOW VARIABLES LIKE 'wsrep_node_name'", node,
	    nlen) != 0 ||
	    (node[0] == '\0' && show_value(st, "SHOW VARIABLES LIKE "
	    "'hostname'", node, nlen) != 0))
		return -1;
	store_rollback(st);
	return 0;
}
