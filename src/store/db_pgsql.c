/*
 * PostgreSQL driver behind the storage seam (db.h), built on libpq. It
 * rewrites the shared dialect's `?` placeholders to `$n`, runs each statement
 * as a named server-side prepared statement (k1, k2, ... per connection) with
 * parameters sent as text, or as binary for blobs, and reads whole results
 * into client memory. Reading everything lets a caller interleave statements
 * on one connection while it walks a result, as SQLite allows. Errors are
 * sorted by SQLSTATE into the db_status codes, and the message kept on the
 * connection never contains the password of the connection URI. This is the
 * only file that includes libpq-fe.h.
 */
#include "store/db.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

/* Applied to every session unless KONTOR_PG_STATEMENT_TIMEOUT_MS overrides it. */
#define PG_STATEMENT_TIMEOUT_MS 5000
/*
 * Seconds libpq waits to connect, unless the URI sets its own connect_timeout.
 * Short, because a request waits for it while the database is down; libpq
 * treats values below 2 as 2.
 */
#define PG_CONNECT_TIMEOUT_S "2"
/*
 * TCP keepalive probes start after 10 s idle and repeat every 5 s, and 3
 * lost probes end the connection. Sent data unacknowledged for 10 s ends it
 * too. These bound how long a call waits on a database host that vanished
 * without closing its connections, because statement_timeout is enforced by
 * the server and cannot help there.
 */
#define PG_KEEPALIVES_IDLE_S "10"
#define PG_KEEPALIVES_INTERVAL_S "5"
#define PG_KEEPALIVES_COUNT "3"
#define PG_TCP_USER_TIMEOUT_MS "10000"
/* The protocol counts parameters in 16 bits. */
#define PG_MAX_PARAMS 65535
#define PG_ERRMSG_MAX 512

/* Type OIDs fixed by PostgreSQL's built-in catalog (pg_type.dat). */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17

struct pg_stmt;

struct pg_conn {
	PGconn *pg;
	unsigned next_name;     /* suffix of the next statement name */
	struct pg_stmt *stmts;  /* live statements, detached on disconnect */
	int broken;             /* the server ended it, or a pipeline could not end: replace it */
	unsigned *stale;        /* statements to DEALLOCATE once no transaction is open */
	size_t nstale, stale_cap;
	char err[PG_ERRMSG_MAX];
};

/* One bound parameter: numbers are formatted into `num`, text and blobs copied to `heap`. */
struct pg_param {
	char *heap;
	char num[32];
};

struct pg_stmt {
	struct pg_conn *conn;   /* NULL once the connection is gone */
	struct pg_stmt *prev, *next;
	char *sql;              /* the text sent to the server, with $n placeholders */
	char name[16];          /* server-side name; empty when run through PQexec */
	int nparams;
	struct pg_param *params;
	const char **values;    /* NULL entries bind SQL NULL */
	int *lengths;
	int *formats;           /* 0 text, 1 binary */
	PGresult *res;
	int lost;               /* preparing failed because the connection was lost */
	int executed;
	int row;                /* current row; -1 before the first */
	int64_t changes;
	unsigned char **blobs;  /* decoded bytea of the current row, per column */
	size_t *blob_lens;
	int nblobs;
};

/* ---- errors ------------------------------------------------------------ */

/* Copies `msg` to `out` as one line, because libpq splits messages over lines and tabs. */
static void one_line(char *out, size_t outlen, const char *msg)
{
	size_t n = 0;
	int space = 0;

	for (const char *p = msg; *p && n + 1 < outlen; p++) {
		if (isspace((unsigned char)*p)) {
			space = 1;
			continue;
		}
		if (space && n > 0 && n + 2 < outlen)
			out[n++] = ' ';
		space = 0;
		out[n++] = *p;
	}
	out[n] = '\0';
}

static void set_err(struct pg_conn *c, const char *msg)
{
	one_line(c->err, sizeof(c->err), msg);
}

/*
 * Logs a server notice or warning. libpq's default prints it to stderr,
 * outside the JSON log. Notices below WARNING are already suppressed by
 * client_min_messages.
 */
static void log_notice(void *arg, const PGresult *res)
{
	struct pg_conn *c = arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	char line[PG_ERRMSG_MAX];

	one_line(line, sizeof(line), PQresultErrorMessage(res));
	/*
	 * libpq passes an error that arrives outside a query here, such as the
	 * FATAL message of a server shutting down: the connection is finished,
	 * even before its end of stream has been read.
	 */
	if (severity != NULL && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0)) {
		c->broken = 1;
		log_warn("store", "PostgreSQL closed the connection", "error", line, NULL);
		return;
	}
	log_warn("store", "PostgreSQL notice", "notice", line, NULL);
}

/*
 * Sorts a failed call into a db_status and keeps its message. The message is
 * the primary one with its SQLSTATE. The DETAIL field is left out because it
 * quotes row values, such as the e-mail address of a duplicate key.
 */
static int fail(struct pg_conn *c, const PGresult *res)
{
	const char *state = NULL;
	const char *primary = NULL;
	char buf[PG_ERRMSG_MAX];

	if (res) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	}
	if (primary && state) {
		snprintf(buf, sizeof(buf), "%s (SQLSTATE %s)", primary, state);
		set_err(c, buf);
	} else if (res && *PQresultErrorMessage(res)) {
		set_err(c, PQresultErrorMessage(res));
	} else {
		set_err(c, PQerrorMessage(c->pg));
	}

	if (PQstatus(c->pg) == CONNECTION_BAD)
		return DB_UNAVAILABLE;
	if (!state || strlen(state) != 5)
		return DB_ERROR;
	if (strncmp(state, "23", 2) == 0)
		return DB_CONSTRAINT;
	/* Connection exceptions, insufficient resources (too many connections, disk full). */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0)
		return DB_UNAVAILABLE;
	/* Shutdown, crash shutdown, still starting up, statement timeout. */
	if (strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0 || strcmp(state, "57014") == 0)
		return DB_UNAVAILABLE;
	/*
	 * Serialization failure, deadlock and lock timeout are contention that a
	 * retry can clear, like SQLite's busy timeout running out.
	 */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return DB_UNAVAILABLE;
	return DB_ERROR;
}

static int fail_msg(struct pg_conn *c, int status, const char *msg)
{
	set_err(c, msg);
	return status;
}

/* Nonzero when the `len` bytes at `text` occur inside one of the secrets. */
static int in_secret(const char *text, size_t len, const char *const *secrets, int nsecrets)
{
	for (int i = 0; i < nsecrets; i++)
		if (len > 0 && secrets[i] && memmem(secrets[i], strlen(secrets[i]), text, len))
			return 1;
	return 0;
}

/*
 * Copies `msg` to `out` as one line, replacing every occurrence of each
 * secret. libpq quotes parts of a malformed URI in its messages, the password
 * among them. When a password is not percent-encoded, libpq can split it
 * and quote only a piece, so a quoted value that occurs inside a secret is
 * replaced as well.
 */
static void redact(char *out, size_t outlen, const char *msg, const char *const *secrets, int nsecrets)
{
	static const char mask[] = "[redacted]";
	size_t n = 0;
	const char *p = msg;

	if (outlen == 0)
		return;
	while (*p && n + 1 < outlen) {
		size_t skip = 0;

		for (int i = 0; i < nsecrets; i++) {
			size_t len = secrets[i] ? strlen(secrets[i]) : 0;

			if (len > 0 && strncmp(p, secrets[i], len) == 0) {
				skip = len;
				break;
			}
		}
		if (skip == 0 && *p == '"') {
			const char *close = strchr(p + 1, '"');

			if (close && in_secret(p + 1, (size_t)(close - p - 1), secrets, nsecrets)) {
				out[n++] = '"';
				p++;
				skip = (size_t)(close - p);
			}
		}
		if (skip == 0) {
			out[n++] = isspace((unsigned char)*p) ? ' ' : *p;
			p++;
			continue;
		}
		for (size_t k = 0; mask[k] && n + 1 < outlen; k++)
			out[n++] = mask[k];
		p += skip;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/*
 * The two functions below return a malloc'd copy of the password as written
 * in a URI, still percent-encoded, or NULL when there is none. They work on
 * URIs that libpq cannot parse, because those are the ones whose error
 * message quotes them.
 */

/* Finds the password of `scheme://user:password@host`. */
static char *userinfo_password(const char *uri)
{
	const char *auth = strstr(uri, "://");
	const char *at = NULL, *colon, *end;

	if (!auth)
		return NULL;
	auth += 3;
	/* The path is not a boundary, because a password may contain a raw `/`. */
	end = auth + strcspn(auth, "?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return NULL;
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (!colon || colon + 1 == at)
		return NULL;
	return strndup(colon + 1, (size_t)(at - colon - 1));
}

/* Finds the value of a `password=` query field. */
static char *query_password(const char *uri)
{
	const char *q = strchr(uri, '?');
	size_t len;

	while (q) {
		q++;
		if (strncmp(q, "password=", 9) == 0)
			break;
		q = strchr(q, '&');
	}
	if (!q)
		return NULL;
	q += 9;
	len = strcspn(q, "&#");
	return len > 0 ? strndup(q, len) : NULL;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* ---- connections ------------------------------------------------------- */

static int statement_timeout_ms(int *ms_r, char *err, size_t errlen)
{
	const char *env = getenv("KONTOR_PG_STATEMENT_TIMEOUT_MS");
	char *end = NULL;
	long v;

	*ms_r = PG_STATEMENT_TIMEOUT_MS;
	if (!env || !*env)
		return DB_OK;
	errno = 0;
	v = strtol(env, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX) {
		snprintf(err, errlen,
			 "invalid KONTOR_PG_STATEMENT_TIMEOUT_MS \"%.32s\": expected milliseconds from 0 (no limit) to %d",
			 env, INT_MAX);
		return DB_ERROR;
	}
	*ms_r = (int)v;
	return DB_OK;
}

/* Frees the parsed options after wiping their values, since one of them is the password. */
static void free_options(PQconninfoOption *opts)
{
	if (!opts)
		return;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val)
			explicit_bzero(o->val, strlen(o->val));
	PQconninfoFree(opts);
}

static int pg_connect(const char *location, void **native_r, char *err, size_t errlen)
{
	/* The defaults come before dbname so that the URI can override them. */
	const char *keys[] = { "connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
			       "tcp_user_timeout", "client_encoding", "fallback_application_name", "dbname", NULL };
	const char *vals[] = { PG_CONNECT_TIMEOUT_S, PG_KEEPALIVES_IDLE_S, PG_KEEPALIVES_INTERVAL_S,
			       PG_KEEPALIVES_COUNT, PG_TCP_USER_TIMEOUT_MS, "UTF8", "kontor", location, NULL };
	char *secrets[3] = { NULL, NULL, NULL };
	PQconninfoOption *opts = NULL;
	char *parse_err = NULL;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	char setup[160];
	int timeout_ms;
	int result;

	*native_r = NULL;
	result = statement_timeout_ms(&timeout_ms, err, errlen);
	if (result != DB_OK)
		return result;

	/* Collect every form of the password first, so that no message below can leak it. */
	secrets[0] = userinfo_password(location);
	secrets[1] = query_password(location);
	opts = PQconninfoParse(location, &parse_err);
	if (!opts) {
		redact(err, errlen, parse_err ? parse_err : "out of memory",
		       (const char *const *)secrets, 3);
		result = DB_ERROR;
		goto out;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val)
			secrets[2] = strdup(o->val);

	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		result = DB_ERROR;
		goto out;
	}
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg) {
		snprintf(err, errlen, "out of memory");
		result = DB_ERROR;
		goto out;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		redact(err, errlen, PQerrorMessage(c->pg), (const char *const *)secrets, 3);
		set_err(c, err);
		snprintf(err, errlen, "%s", c->err);
		result = DB_UNAVAILABLE;
		goto out;
	}
	PQsetNoticeReceiver(c->pg, log_notice, c);

	/*
	 * Session settings go through SET rather than the `options` startup
	 * parameter, which connection poolers such as PgBouncer reject. Times
	 * are stored as integers, so UTC only matters for SQL that formats them.
	 */
	snprintf(setup, sizeof(setup),
		 "SET statement_timeout = %d; SET client_min_messages = warning; SET TimeZone = 'UTC'",
		 timeout_ms);
	res = PQexec(c->pg, setup);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		result = fail(c, res);
		snprintf(err, errlen, "%s", c->err);
		goto out;
	}
	*native_r = c;
	c = NULL;
	result = DB_OK;
out:
	PQclear(res);
	if (c) {
		PQfinish(c->pg);
		free(c);
	}
	free_options(opts);
	PQfreemem(parse_err);
	for (int i = 0; i < 3; i++)
		wipe_free(secrets[i]);
	return result;
}

static void pg_disconnect(void *native)
{
	struct pg_conn *c = native;

	if (!c)
		return;
	/* A statement finalized after this must not reach the freed connection. */
	for (struct pg_stmt *s = c->stmts; s; s = s->next)
		s->conn = NULL;
	PQfinish(c->pg);
	free(c->stale);
	free(c);
}

/*
 * Drops prepared statements that were finalized while a transaction was open.
 * Running DEALLOCATE inside a transaction would abort it if it failed, and an
 * already aborted transaction rejects it. Its own failures are ignored because
 * a leftover prepared statement only costs server memory until disconnect.
 */
static void flush_stale(struct pg_conn *c)
{
	char sql[32];

	if (c->nstale == 0 || PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		return;
	for (size_t i = 0; i < c->nstale; i++) {
		snprintf(sql, sizeof(sql), "DEALLOCATE k%u", c->stale[i]);
		PQclear(PQexec(c->pg, sql));
	}
	c->nstale = 0;
}

/* Nonzero when `sql` is exactly ROLLBACK, ignoring case, blanks and a final `;`. */
static int is_plain_rollback(const char *sql)
{
	while (isspace((unsigned char)*sql))
		sql++;
	if (strncasecmp(sql, "ROLLBACK", 8) != 0)
		return 0;
	sql += 8;
	while (isspace((unsigned char)*sql) || *sql == ';')
		sql++;
	return *sql == '\0';
}

/* Nonzero when `sql` is a COMMIT or END, ignoring case and leading blanks. */
static int is_commit(const char *sql)
{
	while (isspace((unsigned char)*sql))
		sql++;
	if (strncasecmp(sql, "COMMIT", 6) == 0)
		return !isalnum((unsigned char)sql[6]) && sql[6] != '_';
	if (strncasecmp(sql, "END", 3) == 0)
		return !isalnum((unsigned char)sql[3]) && sql[3] != '_';
	return 0;
}

/*
 * Checks a finished result. A COMMIT of a transaction in which a statement
 * failed succeeds in PostgreSQL with the tag ROLLBACK, and must be reported
 * as a failure, or the caller would take rolled-back writes as durable.
 */
static int check(struct pg_conn *c, const PGresult *res, const char *sql)
{
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
		return fail(c, res);
	if (is_commit(sql) && strcmp(PQcmdStatus((PGresult *)res), "ROLLBACK") == 0)
		return fail_msg(c, DB_ERROR,
				"COMMIT rolled the transaction back because a statement in it had failed");
	return DB_OK;
}

static int pg_exec(void *native, const char *sql)
{
	struct pg_conn *c = native;
	PGresult *res;
	int result;

	/*
	 * A failed COMMIT has already ended the transaction, and the ROLLBACK that
	 * callers send next would only draw a "no transaction in progress" warning.
	 */
	if (is_plain_rollback(sql) && PQstatus(c->pg) == CONNECTION_OK &&
	    PQtransactionStatus(c->pg) == PQTRANS_IDLE)
		return DB_OK;
	flush_stale(c);
	res = PQexec(c->pg, sql);
	result = check(c, res, sql);
	PQclear(res);
	return result;
}

static const char *pg_errmsg(void *native)
{
	struct pg_conn *c = native;

	return c ? c->err : "no connection";
}

/*
 * An idle connection has nothing to read, so input on one means the server
 * sent something unasked: usually the FATAL message and end of stream of a
 * shutdown or restart, else a notice. Reading it sets CONNECTION_BAD when the
 * stream has ended, and PQisBusy parses what was read. This catches a
 * connection the server closed before a request fails on it.
 */
static int pg_is_broken(void *native)
{
	struct pg_conn *c = native;
	struct pollfd pfd;

	if (!c || !c->pg || c->broken || PQstatus(c->pg) != CONNECTION_OK)
		return 1;
	pfd.fd = PQsocket(c->pg);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0)
		return 1;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (!PQconsumeInput(c->pg))
		return 1;
	(void)PQisBusy(c->pg);
	return c->broken || PQstatus(c->pg) != CONNECTION_OK;
}

/* ---- statements -------------------------------------------------------- */

/* Appends the decimal digits of n. */
static char *put_number(char *out, int n)
{
	char digits[12];
	int len = snprintf(digits, sizeof(digits), "%d", n);

	memcpy(out, digits, (size_t)len);
	return out + len;
}

/*
 * Rewrites `?` and SQLite's `?NNN` to `$n`, leaving string literals, quoted
 * identifiers and comments alone. A bare `?` takes the number after the
 * largest one so far, as in SQLite. Sets *multi_r when a second command
 * follows a `;`, since such text cannot be prepared. Block comments nest in
 * PostgreSQL. Dollar-quoted strings and E'' escapes are not recognised: SQLite
 * has neither, so the shared dialect does not use them.
 */
static int translate(struct pg_conn *c, const char *sql, char **out_r, int *nparams_r, int *multi_r)
{
	enum { CODE, SQUOTE, DQUOTE, LINE_COMMENT, BLOCK_COMMENT } state = CODE;
	size_t len = strlen(sql);
	size_t marks = 0;
	int depth = 0, max = 0, after_semicolon = 0;
	char *out, *o;

	for (size_t i = 0; i < len; i++)
		if (sql[i] == '?')
			marks++;
	/* `?` becomes at most `$65535`. */
	out = malloc(len + marks * 5 + 1);
	if (!out)
		return fail_msg(c, DB_ERROR, "out of memory");
	o = out;
	*multi_r = 0;

	for (const char *p = sql; *p;) {
		switch (state) {
		case CODE:
			/* Anything but blanks and comments after a `;` starts a second command. */
			if (after_semicolon && !isspace((unsigned char)*p) &&
			    !(p[0] == '-' && p[1] == '-') && !(p[0] == '/' && p[1] == '*'))
				*multi_r = 1;
			if (p[0] == '-' && p[1] == '-') {
				state = LINE_COMMENT;
			} else if (p[0] == '/' && p[1] == '*') {
				state = BLOCK_COMMENT;
				depth = 1;
				*o++ = *p++;
			} else if (*p == '\'') {
				state = SQUOTE;
			} else if (*p == '"') {
				state = DQUOTE;
			} else if (*p == ';') {
				after_semicolon = 1;
			}
			if (*p != '?') {
				*o++ = *p++;
				break;
			}
			{
				int n;

				p++;
				if (isdigit((unsigned char)*p)) {
					char *end;
					long v;

					errno = 0;
					v = strtol(p, &end, 10);
					if (errno != 0 || v < 1 || v > PG_MAX_PARAMS) {
						free(out);
						return fail_msg(c, DB_ERROR, "invalid parameter number after ? (expected 1 to 65535)");
					}
					n = (int)v;
					p = end;
				} else {
					n = max + 1;
				}
				if (n > PG_MAX_PARAMS) {
					free(out);
					return fail_msg(c, DB_ERROR, "too many parameters (maximum 65535)");
				}
				if (n > max)
					max = n;
				*o++ = '$';
				o = put_number(o, n);
			}
			break;
		case SQUOTE:
		case DQUOTE:
			/* A doubled quote closes and reopens the literal, so escaped quotes need no special case. */
			if ((state == SQUOTE && *p == '\'') || (state == DQUOTE && *p == '"'))
				state = CODE;
			*o++ = *p++;
			break;
		case LINE_COMMENT:
			if (*p == '\n')
				state = CODE;
			*o++ = *p++;
			break;
		case BLOCK_COMMENT:
			if (p[0] == '/' && p[1] == '*') {
				depth++;
				*o++ = *p++;
			} else if (p[0] == '*' && p[1] == '/') {
				depth--;
				*o++ = *p++;
				if (depth == 0)
					state = CODE;
			}
			*o++ = *p++;
			break;
		}
	}
	*o = '\0';
	*out_r = out;
	*nparams_r = max;
	return DB_OK;
}

static void free_params(struct pg_stmt *s)
{
	for (int i = 0; i < s->nparams; i++)
		free(s->params[i].heap);
	free(s->params);
	free(s->values);
	free(s->lengths);
	free(s->formats);
}

static void free_blobs(struct pg_stmt *s)
{
	for (int i = 0; i < s->nblobs; i++) {
		PQfreemem(s->blobs[i]);
		s->blobs[i] = NULL;
	}
}

static void clear_blob_cache(struct pg_stmt *s)
{
	free_blobs(s);
	free(s->blobs);
	free(s->blob_lens);
	s->blobs = NULL;
	s->blob_lens = NULL;
	s->nblobs = 0;
}

static void clear_result(struct pg_stmt *s)
{
	clear_blob_cache(s);
	PQclear(s->res);
	s->res = NULL;
	s->executed = 0;
	s->row = -1;
}

static void free_stmt(struct pg_stmt *s)
{
	clear_result(s);
	free_params(s);
	free(s->sql);
	free(s);
}

static int pg_prepare(void *native, const char *sql, void **stmt_r)
{
	struct pg_conn *c = native;
	struct pg_stmt *s;
	PGresult *res;
	int multi = 0;
	int result;

	*stmt_r = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return fail_msg(c, DB_ERROR, "out of memory");
	s->conn = c;
	s->row = -1;
	result = translate(c, sql, &s->sql, &s->nparams, &multi);
	if (result != DB_OK) {
		free(s);
		return result;
	}
	if (s->nparams > 0) {
		size_t n = (size_t)s->nparams;

		s->params = calloc(n, sizeof(*s->params));
		s->values = calloc(n, sizeof(*s->values));
		s->lengths = calloc(n, sizeof(*s->lengths));
		s->formats = calloc(n, sizeof(*s->formats));
		if (!s->params || !s->values || !s->lengths || !s->formats) {
			free_stmt(s);
			return fail_msg(c, DB_ERROR, "out of memory");
		}
	}

	/*
	 * Several commands cannot form one prepared statement, so parameterless
	 * scripts (migrations) run through PQexec on every step. Everything else
	 * is prepared now, so that a bad statement fails here as it does in SQLite.
	 */
	if (!(multi && s->nparams == 0)) {
		flush_stale(c);
		c->next_name++;
		snprintf(s->name, sizeof(s->name), "k%u", c->next_name);
		res = PQprepare(c->pg, s->name, s->sql, s->nparams, NULL);
		result = check(c, res, "");
		PQclear(res);
		/*
		 * A lost connection is reported by the first step instead. Callers
		 * treat a failed prepare as a bug in the SQL (500), but check every
		 * step's status, which then says DB_UNAVAILABLE (503).
		 */
		if (result != DB_OK && PQstatus(c->pg) == CONNECTION_BAD) {
			s->lost = 1;
			result = DB_OK;
		}
		if (result != DB_OK) {
			free_stmt(s);
			return result;
		}
	}

	s->next = c->stmts;
	if (c->stmts)
		c->stmts->prev = s;
	c->stmts = s;
	*stmt_r = s;
	return DB_OK;
}

static void pg_finalize(void *stmt)
{
	struct pg_stmt *s = stmt;
	struct pg_conn *c;

	if (!s)
		return;
	c = s->conn;
	if (c) {
		if (s->prev)
			s->prev->next = s->next;
		else
			c->stmts = s->next;
		if (s->next)
			s->next->prev = s->prev;
	}
	if (c && s->name[0] && PQstatus(c->pg) == CONNECTION_OK) {
		if (c->nstale == c->stale_cap) {
			size_t cap = c->stale_cap ? c->stale_cap * 2 : 8;
			unsigned *grown = realloc(c->stale, cap * sizeof(*grown));

			/* Without room the name stays allocated on the server until disconnect. */
			if (grown) {
				c->stale = grown;
				c->stale_cap = cap;
			}
		}
		if (c->nstale < c->stale_cap)
			c->stale[c->nstale++] = (unsigned)strtoul(s->name + 1, NULL, 10);
		flush_stale(c);
	}
	free_stmt(s);
}

/* Returns the parameter slot for `index`, freeing what it held, or NULL when out of range. */
static struct pg_param *slot(struct pg_stmt *s, int index)
{
	struct pg_param *p;

	if (index < 0 || index >= s->nparams) {
		if (s->conn)
			fail_msg(s->conn, DB_ERROR, "parameter index out of range");
		return NULL;
	}
	p = &s->params[index];
	free(p->heap);
	p->heap = NULL;
	s->values[index] = NULL;
	s->lengths[index] = 0;
	s->formats[index] = 0;
	return p;
}

static int pg_bind_int64(void *stmt, int index, int64_t value)
{
	struct pg_stmt *s = stmt;
	struct pg_param *p = slot(s, index);

	if (!p)
		return DB_ERROR;
	snprintf(p->num, sizeof(p->num), "%" PRId64, value);
	s->values[index] = p->num;
	return DB_OK;
}

static int pg_bind_double(void *stmt, int index, double value)
{
	struct pg_stmt *s = stmt;
	struct pg_param *p = slot(s, index);

	if (!p)
		return DB_ERROR;
	/* 17 significant digits read back as the same double. PostgreSQL's float8 input also accepts nan and inf. */
	snprintf(p->num, sizeof(p->num), "%.17g", value);
	s->values[index] = p->num;
	return DB_OK;
}

static int pg_bind_text(void *stmt, int index, const char *text, size_t len)
{
	struct pg_stmt *s = stmt;
	struct pg_param *p;

	if (!text)
		return slot(s, index) ? DB_OK : DB_ERROR;
	/* Text parameters travel NUL-terminated, and PostgreSQL text cannot contain NUL at all. */
	if (memchr(text, '\0', len)) {
		if (s->conn)
			fail_msg(s->conn, DB_ERROR, "text parameter contains a NUL byte");
		return DB_ERROR;
	}
	p = slot(s, index);
	if (!p)
		return DB_ERROR;
	p->heap = malloc(len + 1);
	if (!p->heap)
		return s->conn ? fail_msg(s->conn, DB_ERROR, "out of memory") : DB_ERROR;
	memcpy(p->heap, text, len);
	p->heap[len] = '\0';
	s->values[index] = p->heap;
	return DB_OK;
}

static int pg_bind_blob(void *stmt, int index, const void *data, size_t len)
{
	struct pg_stmt *s = stmt;
	struct pg_param *p;

	if (len > INT_MAX || (!data && len > 0)) {
		if (s->conn)
			fail_msg(s->conn, DB_ERROR, "invalid blob parameter");
		return DB_ERROR;
	}
	p = slot(s, index);
	if (!p)
		return DB_ERROR;
	if (len > 0) {
		p->heap = malloc(len);
		if (!p->heap)
			return s->conn ? fail_msg(s->conn, DB_ERROR, "out of memory") : DB_ERROR;
		memcpy(p->heap, data, len);
	}
	/* An empty blob still needs a non-NULL value, or it would bind NULL. */
	s->values[index] = p->heap ? p->heap : p->num;
	s->lengths[index] = (int)len;
	s->formats[index] = 1;
	return DB_OK;
}

static int pg_bind_null(void *stmt, int index)
{
	struct pg_stmt *s = stmt;

	return slot(s, index) ? DB_OK : DB_ERROR;
}

/* Nonzero when the command tag names a statement whose count db.h calls changes. */
static int changes_rows(const char *tag)
{
	return strncmp(tag, "INSERT ", 7) == 0 || strncmp(tag, "UPDATE ", 7) == 0 ||
	       strncmp(tag, "DELETE ", 7) == 0 || strncmp(tag, "MERGE ", 6) == 0;
}

/* Makes `res`, a successful result, the statement's result, positioned before its first row. */
static void take_result(struct pg_stmt *s, PGresult *res)
{
	s->changes = 0;
	s->res = res;
	s->executed = 1;
	s->row = -1;
	if (changes_rows(PQcmdStatus(res))) {
		const char *n = PQcmdTuples(res);
		char *end;
		long long v;

		errno = 0;
		v = strtoll(n, &end, 10);
		if (errno == 0 && end != n && *end == '\0')
			s->changes = v;
	}
}

static int execute(struct pg_stmt *s)
{
	struct pg_conn *c = s->conn;
	PGresult *res;
	int result;

	flush_stale(c);
	/* Text results throughout: bytea then arrives as \x hex, decoded by column_blob. */
	if (s->name[0])
		res = PQexecPrepared(c->pg, s->name, s->nparams, s->values, s->lengths, s->formats, 0);
	else
		res = PQexec(c->pg, s->sql);
	result = check(c, res, s->sql);
	if (result != DB_OK) {
		PQclear(res);
		return result;
	}
	take_result(s, res);
	return DB_OK;
}

/*
 * Reads what is left of a pipeline up to its sync point and leaves pipeline
 * mode. A connection that cannot leave it counts as broken, so that the
 * pool replaces it.
 */
static void pipeline_finish(struct pg_conn *c, int queries)
{
	/* Each query gives a result and a NULL, and the sync point one result, so more reads mean a stuck pipeline. */
	for (int reads = 0; reads <= 2 * queries + 2; reads++) {
		PGresult *res;
		ExecStatusType st;

		if (PQexitPipelineMode(c->pg) == 1)
			return;
		res = PQgetResult(c->pg);
		if (res == NULL) {
			if (PQstatus(c->pg) != CONNECTION_OK)
				break;
			continue; /* the end of one query's results */
		}
		st = PQresultStatus(res);
		PQclear(res);
		if (st == PGRES_FATAL_ERROR && PQstatus(c->pg) != CONNECTION_OK)
			break;
	}
	c->broken = 1;
	set_err(c, "the connection to the database was lost during a pipeline");
}

/*
 * Sends the statements in one pipeline with a single sync point, so their
 * results come back in one round trip. Each successful result becomes its
 * statement's result. After a failure PostgreSQL skips the rest of the
 * pipeline, and every statement without a result then runs again on its
 * first step, which reports its own failure.
 */
static void pg_execute_batch(void *native, void **stmts, int n)
{
	struct pg_conn *c = native;
	int sent = 0, failed = 0;

	for (int i = 0; i < n; i++) {
		struct pg_stmt *s = stmts[i];

		/* Unprepared scripts, lost statements and a statement that already ran go the usual way. */
		if (s->conn != c || !s->name[0] || s->lost || s->executed)
			return;
	}
	/*
	 * Outside a transaction the pipeline runs as one implicit transaction,
	 * and a statement that fails in it runs again alone on its first step,
	 * reporting its own error. Inside one, that error would abort the
	 * transaction and the rerun would report only that, so it is left alone.
	 */
	if (PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		return;
	flush_stale(c);
	if (PQenterPipelineMode(c->pg) != 1)
		return;
	for (; sent < n; sent++) {
		struct pg_stmt *s = stmts[sent];

		if (PQsendQueryPrepared(c->pg, s->name, s->nparams, s->values, s->lengths, s->formats, 0) != 1)
			break;
	}
	if (PQpipelineSync(c->pg) != 1) {
		/* Without a sync point the pipeline cannot end, so the connection is replaced. */
		c->broken = 1;
		set_err(c, "could not send a pipeline to the database");
		PQexitPipelineMode(c->pg);
		return;
	}
	for (int i = 0; i < sent; i++) {
		struct pg_stmt *s = stmts[i];
		PGresult *res = PQgetResult(c->pg);
		PGresult *end;

		if (res == NULL)
			break;
		/* Each query's results end with a NULL, unless a lost connection ends them early. */
		end = PQgetResult(c->pg);
		if (end != NULL) {
			PQclear(end);
			PQclear(res);
			break;
		}
		if (!failed && check(c, res, s->sql) == DB_OK) {
			take_result(s, res);
			continue;
		}
		failed = 1;
		PQclear(res);
	}
	pipeline_finish(c, sent);
}

static int pg_step(void *stmt)
{
	struct pg_stmt *s = stmt;
	int ntuples;

	if (!s->conn)
		return DB_UNAVAILABLE;
	if (s->lost || s->conn->broken)
		return fail_msg(s->conn, DB_UNAVAILABLE, "the connection to the database was lost");
	if (!s->executed) {
		int result = execute(s);

		if (result != DB_OK)
			return result;
	}
	free_blobs(s);
	ntuples = PQresultStatus(s->res) == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
	/* Stepping past the end keeps returning DB_DONE until reset. */
	if (s->row + 1 < ntuples) {
		s->row++;
		return DB_ROW;
	}
	s->row = ntuples;
	return DB_DONE;
}

/* Clears the result and every binding, so an unbound parameter is NULL as on SQLite. */
static int pg_reset(void *stmt)
{
	struct pg_stmt *s = stmt;

	clear_result(s);
	for (int i = 0; i < s->nparams; i++) {
		free(s->params[i].heap);
		s->params[i].heap = NULL;
		s->values[i] = NULL;
		s->lengths[i] = 0;
		s->formats[i] = 0;
	}
	return DB_OK;
}

/* ---- columns ----------------------------------------------------------- */

/* Nonzero when the current row has a column `index`. */
static int valid(const struct pg_stmt *s, int index)
{
	return s->res && s->row >= 0 && s->row < PQntuples(s->res) && index >= 0 &&
	       index < PQnfields(s->res);
}

static int pg_column_count(void *stmt)
{
	struct pg_stmt *s = stmt;

	/* NOTE: the count is known only after the first step, unlike SQLite's. */
	return s->res ? PQnfields(s->res) : 0;
}

static int pg_column_is_null(void *stmt, int index)
{
	struct pg_stmt *s = stmt;

	return !valid(s, index) || PQgetisnull(s->res, s->row, index);
}

static const char *pg_column_text(void *stmt, int index)
{
	struct pg_stmt *s = stmt;

	if (pg_column_is_null(s, index))
		return NULL;
	return PQgetvalue(s->res, s->row, index);
}

/*
 * Converts a cell as SQLite converts text: whole integers exactly, numeric
 * text such as sum()'s "12.0" by truncation, booleans (EXISTS) as 1 or 0,
 * and anything else as 0. Out-of-range values also give 0.
 */
static int64_t pg_column_int64(void *stmt, int index)
{
	struct pg_stmt *s = stmt;
	const char *text = pg_column_text(s, index);
	char *end;
	long long v;
	double d;

	if (!text)
		return 0;
	if (PQftype(s->res, index) == PG_OID_BOOL)
		return text[0] == 't';
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno == 0 && end != text && *end == '\0')
		return v;
	errno = 0;
	d = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(d) ||
	    d < -9223372036854775808.0 || d >= 9223372036854775808.0)
		return 0;
	return (int64_t)d;
}

static double pg_column_double(void *stmt, int index)
{
	struct pg_stmt *s = stmt;
	const char *text = pg_column_text(s, index);
	char *end;
	double d;

	if (!text)
		return 0.0;
	if (PQftype(s->res, index) == PG_OID_BOOL)
		return text[0] == 't' ? 1.0 : 0.0;
	d = strtod(text, &end);
	return end == text ? 0.0 : d;
}

/* Decodes bytea columns from their \x hex text. Other columns return their text bytes. */
static const void *pg_column_blob(void *stmt, int index, size_t *len_r)
{
	struct pg_stmt *s = stmt;
	*len_r = 0;
	if (pg_column_is_null(s, index))
		return NULL;
	if (PQftype(s->res, index) != PG_OID_BYTEA) {
		*len_r = (size_t)PQgetlength(s->res, s->row, index);
		return PQgetvalue(s->res, s->row, index);
	}

	if (!s->blobs) {
		size_t n = (size_t)PQnfields(s->res);

		s->blobs = calloc(n, sizeof(*s->blobs));
		s->blob_lens = calloc(n, sizeof(*s->blob_lens));
		if (!s->blobs || !s->blob_lens) {
			clear_blob_cache(s);
			return NULL;
		}
		s->nblobs = (int)n;
	}
	/* Decoded once per row and column, so the pointer stays valid until the next step. */
	if (!s->blobs[index]) {
		const char *hex = PQgetvalue(s->res, s->row, index);

		s->blobs[index] = PQunescapeBytea((const unsigned char *)hex, &s->blob_lens[index]);
		if (!s->blobs[index])
			return NULL;
	}
	*len_r = s->blob_lens[index];
	return s->blobs[index];
}

static int64_t pg_changes(void *stmt)
{
	struct pg_stmt *s = stmt;

	return s->changes;
}

const struct db_driver db_pgsql_driver = {
	.name = "postgresql",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.bind_int64 = pg_bind_int64,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.reset = pg_reset,
	.finalize = pg_finalize,
	.column_count = pg_column_count,
	.column_is_null = pg_column_is_null,
	.column_int64 = pg_column_int64,
	.column_double = pg_column_double,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.changes = pg_changes,
	.errmsg = pg_errmsg,
	.is_broken = pg_is_broken,
	.begin_write_sql = "BEGIN",
	.execute_batch = pg_execute_batch,
};
