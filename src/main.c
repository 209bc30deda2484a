/*
 * kontor's command line: init, serve, demo, user add, user set-password,
 * token create, division add, org set-plan, org set-deprovision-owner,
 * org set-email-domains, export and restore. Every option also reads an
 * environment variable (KONTOR_DB, KONTOR_LISTEN, ...); `kontor COMMAND
 * --help` lists them.
 */
#include "api/api.h"
#include "api/app.h"
#include "auth/principal.h"
#include "auth/token.h"
#include "http/http.h"
#include "http/proxy.h"
#include "http/ratelimit.h"
#include "http/static.h"
#include "jobs/event_prune.h"
#include "jobs/export_job.h"
#include "jobs/jobs.h"
#include "jobs/node_lease.h"
#include "jobs/webhook_send.h"
#include "jobs/webhooks.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/demo.h"
#include "store/export.h"
#include "store/org.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DB "kontor.db"
#define DEFAULT_LISTEN "127.0.0.1:8080"
#define GENERATED_PASSWORD_CHARS 20

/* Every option of every command; each command reads the ones it lists in its help. */
struct options {
	const char *db;
	const char *listen;
	const char *org;
	const char *org_name;
	const char *plan;
	const char *email;
	const char *name;
	const char *role;
	const char *size;
	const char *pepper_file;
	const char *division;
	const char *web_dir;
	const char *public_url;
	const char *output;
	const char *input;
	const char *domains;
	int trust_proxy;
	struct proxy_trust trusted_proxies;
	int trusted_proxies_from_command_line; /* the first --trusted-proxy replaces KONTOR_TRUSTED_PROXIES */
	int allow_private_webhook_targets;
	int threads;
	int pool;
	int rate_per_minute;
	int reads_in_flight;
	int writes_in_flight;
	int connections_per_ip;
	int node_id;
	int event_retention_days;
	uint64_t seed;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int signo)
{
	(void)signo;
	stop_requested = 1;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *value = getenv(name);

	return value && *value ? value : fallback;
}

/* Parses a bounded integer option; exits with a message naming the option on bad input. */
static long parse_number(const char *option, const char *text, long min, long max)
{
	char *end = NULL;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
		fprintf(stderr, "kontor: --%s: expected an integer from %ld to %ld, got \"%s\"\n", option, min, max,
			text);
		exit(2);
	}
	return value;
}

/* Adds a --trusted-proxy list; exits with a message naming the bad entry and where it came from. */
static void add_trusted_proxies(struct proxy_trust *trust, const char *source, const char *list)
{
	char err[512];

	if (proxy_trust_add_list(trust, list, err, sizeof(err)) != 0) {
		fprintf(stderr, "kontor: %s: %s\n", source, err);
		exit(2);
	}
}

/* Checks a --public-url value before anything starts; exits with a message on bad input. */
static const char *checked_public_url(const char *url)
{
	char err[512];

	if (url != NULL && api_public_url_check(url, err, sizeof(err)) != 0) {
		fprintf(stderr, "kontor: %s\n", err);
		exit(2);
	}
	return url;
}

static void options_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->db = env_or("KONTOR_DB", NULL);
	o->listen = env_or("KONTOR_LISTEN", DEFAULT_LISTEN);
	o->org = env_or("KONTOR_ORG", NULL);
	o->org_name = env_or("KONTOR_ORG_NAME", NULL);
	o->plan = env_or("KONTOR_PLAN", "enterprise_plus");
	o->email = env_or("KONTOR_EMAIL", NULL);
	o->name = env_or("KONTOR_NAME", NULL);
	o->role = env_or("KONTOR_ROLE", "member");
	o->size = env_or("KONTOR_DEMO_SIZE", "small");
	o->pepper_file = env_or("KONTOR_PEPPER_FILE", NULL);
	o->division = env_or("KONTOR_DIVISION", NULL);
	o->web_dir = env_or("KONTOR_WEB_DIR", NULL);
	o->public_url = checked_public_url(env_or("KONTOR_PUBLIC_URL", NULL));
	o->output = env_or("KONTOR_EXPORT_OUTPUT", NULL);
	o->input = env_or("KONTOR_RESTORE_INPUT", NULL);
	o->domains = env_or("KONTOR_EMAIL_DOMAINS", NULL);
	o->trust_proxy = (int)parse_number("trust-proxy", env_or("KONTOR_TRUST_PROXY", "0"), 0, 1);
	o->allow_private_webhook_targets = (int)parse_number("allow-private-webhook-targets",
							     env_or("KONTOR_ALLOW_PRIVATE_WEBHOOK_TARGETS", "0"), 0, 1);
	/* Unless given, serve() picks the count for the database driver and the cores. */
	if (env_or("KONTOR_THREADS", NULL) != NULL)
		o->threads = (int)parse_number("threads", env_or("KONTOR_THREADS", NULL), 1, 256);
	o->pool = (int)parse_number("pool", env_or("KONTOR_DB_POOL", "16"), 1, 512);
	o->rate_per_minute = (int)parse_number("rate-limit", env_or("KONTOR_RATE_LIMIT", "1500"), 1, 10000000);
	o->reads_in_flight = (int)parse_number("max-reads", env_or("KONTOR_MAX_READS_IN_FLIGHT", "50"), 1, 100000);
	o->writes_in_flight = (int)parse_number("max-writes", env_or("KONTOR_MAX_WRITES_IN_FLIGHT", "15"), 1, 100000);
	o->connections_per_ip =
		(int)parse_number("max-connections-per-ip", env_or("KONTOR_MAX_CONNECTIONS_PER_IP", "256"), 0, 100000);
	o->node_id = (int)parse_number("node-id", env_or("KONTOR_NODE_ID", "-1"), NODE_ID_AUTO, GID_NODE_MAX);
	o->seed = (uint64_t)parse_number("seed", env_or("KONTOR_DEMO_SEED", "20261204"), 0, 0x7fffffffL);
	o->event_retention_days = (int)parse_number("event-retention-days", env_or("KONTOR_EVENT_RETENTION_DAYS", "7"),
						    EVENT_RETENTION_DAYS_MIN, EVENT_RETENTION_DAYS_MAX);
}

enum option_id {
	OPT_DB = 1000, OPT_LISTEN, OPT_ORG, OPT_PLAN, OPT_ADMIN_EMAIL, OPT_EMAIL, OPT_NAME, OPT_ROLE, OPT_SIZE,
	OPT_PEPPER, OPT_THREADS, OPT_POOL, OPT_RATE, OPT_READS, OPT_WRITES, OPT_NODE, OPT_SEED, OPT_DIVISION, OPT_WEB_DIR,
	OPT_PER_IP, OPT_PUBLIC_URL, OPT_TRUST_PROXY, OPT_TRUSTED_PROXY, OPT_EVENT_RETENTION,
	OPT_ALLOW_PRIVATE_WEBHOOK_TARGETS, OPT_OUTPUT, OPT_INPUT, OPT_DOMAINS,
	OPT_HELP,
};

static const struct option long_options[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "org", required_argument, NULL, OPT_ORG },
	{ "plan", required_argument, NULL, OPT_PLAN },
	{ "admin-email", required_argument, NULL, OPT_ADMIN_EMAIL },
	{ "email", required_argument, NULL, OPT_EMAIL },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "pepper-file", required_argument, NULL, OPT_PEPPER },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "pool", required_argument, NULL, OPT_POOL },
	{ "rate-limit", required_argument, NULL, OPT_RATE },
	{ "max-reads", required_argument, NULL, OPT_READS },
	{ "max-writes", required_argument, NULL, OPT_WRITES },
	{ "max-connections-per-ip", required_argument, NULL, OPT_PER_IP },
	{ "node-id", required_argument, NULL, OPT_NODE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "division", required_argument, NULL, OPT_DIVISION },
	{ "web-dir", required_argument, NULL, OPT_WEB_DIR },
	{ "public-url", required_argument, NULL, OPT_PUBLIC_URL },
	{ "trust-proxy", no_argument, NULL, OPT_TRUST_PROXY },
	{ "trusted-proxy", required_argument, NULL, OPT_TRUSTED_PROXY },
	{ "event-retention-days", required_argument, NULL, OPT_EVENT_RETENTION },
	{ "allow-private-webhook-targets", no_argument, NULL, OPT_ALLOW_PRIVATE_WEBHOOK_TARGETS },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "input", required_argument, NULL, OPT_INPUT },
	{ "domains", required_argument, NULL, OPT_DOMAINS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char common_help[] =
	"  --db DB              SQLite file or postgresql:// URI (KONTOR_DB; default " DEFAULT_DB ")\n"
	"  --pepper-file FILE   key file for token hashes (KONTOR_PEPPER_FILE; default DB.pepper next to\n"
	"                       a SQLite file; required with PostgreSQL)\n";

/* argv[0], so that hints name the binary the way the user started it (build/kontor, kontor ...). */
static const char *program_name = "kontor";

static const char *usage_text =
	"usage: kontor COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  init          create an organization and its first super admin\n"
	"  serve         serve the API\n"
	"  demo          create the demo organization if the database is empty, then serve it\n"
	"  user add      add a person to an organization\n"
	"  user set-password  set a person's password for the admin console\n"
	"  token create  create a personal access token and print it\n"
	"  division add  add a division to an organization\n"
	"  org set-plan  change an organization's plan\n"
	"  org set-deprovision-owner  set who receives the work of people SCIM deprovisions\n"
	"  org set-email-domains  set the e-mail domains of an organization\n"
	"  export        write an organization to a gzip-compressed JSON file\n"
	"  restore       load an export file into an empty database\n"
	"  migrate       bring the database schema up to date, then exit\n"
	"\n"
	"Run `kontor COMMAND --help` for the options of a command.\n";

static void print_help(const char *command, const char *specific)
{
	printf("usage: kontor %s [OPTIONS]\n\n%s%s", command, specific, common_help);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o, const char *command, const char *help)
{
	int id;

	optind = 1;
	while ((id = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (id) {
		case OPT_DB: o->db = optarg; break;
		case OPT_LISTEN: o->listen = optarg; break;
		case OPT_ORG: o->org = optarg; o->org_name = optarg; break;
		case OPT_PLAN: o->plan = optarg; break;
		case OPT_ADMIN_EMAIL: o->email = optarg; break;
		case OPT_EMAIL: o->email = optarg; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_ROLE: o->role = optarg; break;
		case OPT_SIZE: o->size = optarg; break;
		case OPT_PEPPER: o->pepper_file = optarg; break;
		case OPT_THREADS: o->threads = (int)parse_number("threads", optarg, 1, 256); break;
		case OPT_POOL: o->pool = (int)parse_number("pool", optarg, 1, 512); break;
		case OPT_RATE: o->rate_per_minute = (int)parse_number("rate-limit", optarg, 1, 10000000); break;
		case OPT_READS: o->reads_in_flight = (int)parse_number("max-reads", optarg, 1, 100000); break;
		case OPT_WRITES: o->writes_in_flight = (int)parse_number("max-writes", optarg, 1, 100000); break;
		case OPT_PER_IP:
			o->connections_per_ip = (int)parse_number("max-connections-per-ip", optarg, 0, 100000);
			break;
		case OPT_NODE: o->node_id = (int)parse_number("node-id", optarg, 0, GID_NODE_MAX); break;
		case OPT_SEED: o->seed = (uint64_t)parse_number("seed", optarg, 0, 0x7fffffffL); break;
		case OPT_DIVISION: o->division = optarg; break;
		case OPT_WEB_DIR: o->web_dir = optarg; break;
		case OPT_PUBLIC_URL: o->public_url = checked_public_url(optarg); break;
		case OPT_TRUST_PROXY: o->trust_proxy = 1; break;
		case OPT_TRUSTED_PROXY:
			o->trusted_proxies_from_command_line = 1;
			add_trusted_proxies(&o->trusted_proxies, "--trusted-proxy", optarg);
			break;
		case OPT_EVENT_RETENTION:
			o->event_retention_days = (int)parse_number("event-retention-days", optarg, EVENT_RETENTION_DAYS_MIN,
								    EVENT_RETENTION_DAYS_MAX);
			break;
		case OPT_ALLOW_PRIVATE_WEBHOOK_TARGETS: o->allow_private_webhook_targets = 1; break;
		case OPT_OUTPUT: o->output = optarg; break;
		case OPT_INPUT: o->input = optarg; break;
		case OPT_DOMAINS: o->domains = optarg; break;
		case OPT_HELP: print_help(command, help); break;
		default:
			fprintf(stderr, "kontor %s: see `kontor %s --help`\n", command, command);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kontor %s: unexpected argument \"%s\"; see `kontor %s --help`\n", command, argv[optind],
			command);
		exit(2);
	}
	/* Read only now, because a --trusted-proxy on the command line replaces the variable, even a malformed one. */
	if (!o->trusted_proxies_from_command_line && env_or("KONTOR_TRUSTED_PROXIES", NULL) != NULL)
		add_trusted_proxies(&o->trusted_proxies, "KONTOR_TRUSTED_PROXIES", env_or("KONTOR_TRUSTED_PROXIES", NULL));
	if (o->db == NULL)
		o->db = DEFAULT_DB;
}

static void die(const char *command, const char *message)
{
	fprintf(stderr, "kontor %s: %s\n", command, message);
	exit(1);
}

/* Rolls back the open transaction first, so the exit handlers' writes do not wait for its lock. */
static void die_rollback(db_conn *c, const char *command, const char *message)
{
	db_rollback(c);
	die(command, message);
}

/* Loads the token pepper; creates it beside a SQLite file when missing and `create` is set. */
static void load_pepper(const struct options *o, const char *command, int create, unsigned char *pepper)
{
	char path[4096], err[512];
	struct stat info;

	if (o->pepper_file != NULL) {
		snprintf(path, sizeof(path), "%s", o->pepper_file);
	} else if (db_driver_for(o->db) == &db_sqlite_driver) {
		snprintf(path, sizeof(path), "%s.pepper", o->db);
	} else {
		die(command, "--pepper-file (or KONTOR_PEPPER_FILE) is required with PostgreSQL: every node must use "
			     "the same key file, kept outside the database");
	}
	if (token_pepper_load(path, create, pepper, err, sizeof(err)) != 0)
		die(command, err);
	if (stat(path, &info) == 0 && (info.st_mode & 077) != 0)
		log_warn("main", "the pepper file is readable by other users; restrict it with chmod 600", "path", path,
			 NULL);
}


/* The node-id lease of this process, held from open_db() to close_db(). */
static struct node_lease *node_lease;

/*
 * Connections of the lease renewal thread and the job worker, apart from the
 * request pool, so that requests holding every pooled connection can never
 * keep the lease from being renewed.
 */
static db *background_db;

static void release_node_lease(void)
{
	node_lease_stop(&node_lease);
}

/*
 * Opens the database and claims a node id, so that gids minted by this
 * process never collide with those of another process on the same database.
 * Only serve and demo take --node-id: one-shot commands run in a node's
 * environment would otherwise ask for the id that node holds.
 */
static db *open_db(const struct options *o, const char *command, int pool)
{
	int requested = strcmp(command, "serve") == 0 || strcmp(command, "demo") == 0 ? o->node_id : NODE_ID_AUTO;
	char err[1024];
	db *d = NULL;

	if (db_open(o->db, pool, &d, err, sizeof(err)) != DB_OK)
		die(command, err);
	/* Three connections: the lease renewal thread, the job worker and the webhook worker. */
	if (db_open(o->db, 3, &background_db, err, sizeof(err)) != DB_OK)
		die(command, err);
	node_lease = node_lease_start(background_db, requested, err, sizeof(err));
	if (node_lease == NULL)
		die(command, err);
	/* die() exits with the database open: release the id then too. */
	atexit(release_node_lease);
	return d;
}

static void close_db(db **d)
{
	node_lease_stop(&node_lease);
	db_close(&background_db);
	db_close(d);
}

static db_conn *acquire(db *d, const char *command)
{
	db_conn *c = db_acquire(d, 10000);

	if (c == NULL)
		die(command, "cannot get a database connection");
	return c;
}

static void check_status(db_conn *c, int status, const char *command, const char *what)
{
	char message[1200];

	if (status == DB_OK || status == DB_DONE || status == DB_ROW)
		return;
	snprintf(message, sizeof(message), "%s failed: %s", what,
		 status == DB_CONSTRAINT ? "it conflicts with existing data (is the e-mail address already used?)"
					 : db_conn_errmsg(c));
	if (db_in_transaction(c))
		die_rollback(c, command, message);
	die(command, message);
}

/*
 * Checks that `pepper` is the key this database's tokens were hashed with,
 * by a fingerprint kept in the settings table (stored on first use). A wrong
 * pepper file would otherwise start a server that rejects every token.
 */
static void check_pepper(db *d, const unsigned char *pepper, const char *command)
{
	static const char label[] = "kontor pepper fingerprint";
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char fingerprint[sizeof(mac) * 2 + 1];
	db_conn *c = acquire(d, command);
	db_stmt *s;
	int status, matches = 0;

	crypto_auth_hmacsha256(mac, (const unsigned char *)label, sizeof(label) - 1, pepper);
	sodium_bin2hex(fingerprint, sizeof(fingerprint), mac, sizeof(mac));
	s = db_query(c, "INSERT INTO settings (key, value) VALUES ('pepper_fingerprint', ?) ON CONFLICT (key) DO NOTHING");
	if (s == NULL)
		die(command, db_conn_errmsg(c));
	db_bind_text(s, 0, fingerprint);
	check_status(c, db_run(s), command, "storing the pepper fingerprint");
	s = db_query(c, "SELECT value FROM settings WHERE key = 'pepper_fingerprint'");
	if (s == NULL)
		die(command, db_conn_errmsg(c));
	status = db_step(s);
	if (status == DB_ROW && db_column_text(s, 0) != NULL)
		matches = sodium_memcmp(db_column_text(s, 0), fingerprint, sizeof(fingerprint) - 1) == 0 &&
			  strlen(db_column_text(s, 0)) == sizeof(fingerprint) - 1;
	db_stmt_done(s);
	check_status(c, status, command, "reading the pepper fingerprint");
	db_release(d, c);
	if (!matches)
		die(command, "the pepper file does not belong to this database: every token would be rejected. Use "
			     "the pepper file that was created with the database (--pepper-file or KONTOR_PEPPER_FILE)");
}

static void generate_password(char *out, size_t chars)
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

	for (size_t i = 0; i < chars; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[chars] = '\0';
}

/* Hashes a password with Argon2id (libsodium's interactive limits). Returns 0 or -1. */
static int hash_password(const char *password, char *out)
{
	return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				 crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

/* The super admin's password: KONTOR_ADMIN_PASSWORD, else a generated one (then *generated_r is set). */
static void admin_password(char *password, size_t len, int *generated_r)
{
	const char *given = getenv("KONTOR_ADMIN_PASSWORD");

	*generated_r = given == NULL || *given == '\0';
	if (*generated_r)
		generate_password(password, GENERATED_PASSWORD_CHARS);
	else
		snprintf(password, len, "%s", given);
}

/*
 * Audits a change made on the command line. The actor is the operator at
 * the server, which Asana's audit log calls an external administrator.
 * Fills in the actor and the method of `event` and appends it.
 */
static int audit_cli(db_conn *c, struct audit_event *event)
{
	event->actor_type = "external_administrator";
	event->actor_name = "kontor command line";
	event->auth_method = "command_line";
	return store_audit_append(c, event);
}

/*
 * Audits a change to one user of the organization, named as the API's
 * records name it: the user's name and e-mail address, and the subtype
 * service_account for a service account. Borrows `details`. Returns a db
 * status.
 */
static int audit_cli_user(db_conn *c, int64_t org_gid, const char *event_type, const char *category,
			  int64_t user_gid, json_t *details)
{
	char name[1025] = "", email[320] = "";
	struct audit_event event;
	int is_person = 1;
	db_stmt *s;
	int status;

	s = db_query(c, "SELECT name, email, kind FROM users WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, user_gid);
	db_bind_int64(s, 1, org_gid);
	status = db_step(s);
	if (status == DB_ROW) {
		snprintf(name, sizeof(name), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
		snprintf(email, sizeof(email), "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
		is_person = db_column_text(s, 2) == NULL || strcmp(db_column_text(s, 2), "person") == 0;
	}
	db_stmt_done(s);
	if (status != DB_ROW)
		return status == DB_DONE ? DB_ERROR : status;

	memset(&event, 0, sizeof(event));
	event.workspace_gid = org_gid;
	event.event_type = event_type;
	event.event_category = category;
	event.resource_type = "user";
	event.resource_subtype = is_person ? NULL : "service_account";
	event.resource_gid = user_gid;
	event.resource_name = name;
	event.resource_email = email;
	event.details = details;
	return audit_cli(c, &event);
}

/* Audits a change to the organization's settings, named by the organization's name. Borrows `details`. */
static int audit_cli_org(db_conn *c, int64_t org_gid, const char *event_type, json_t *details)
{
	char name[1025] = "";
	struct audit_event event;
	db_stmt *s;
	int status;

	s = db_query(c, "SELECT name FROM workspaces WHERE gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, org_gid);
	status = db_step(s);
	if (status == DB_ROW)
		snprintf(name, sizeof(name), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
	db_stmt_done(s);
	if (status != DB_ROW)
		return status == DB_DONE ? DB_ERROR : status;

	memset(&event, 0, sizeof(event));
	event.workspace_gid = org_gid;
	event.event_type = event_type;
	event.event_category = "admin_settings";
	event.resource_type = "workspace";
	event.resource_gid = org_gid;
	event.resource_name = name;
	event.details = details;
	return audit_cli(c, &event);
}

/* Audits a user created on the command line, with the role the user was given. */
static int audit_cli_user_added(db_conn *c, int64_t org_gid, int64_t user_gid, const char *role)
{
	json_t *details = json_pack("{s:s}", "role", role);
	int status;

	if (details == NULL)
		return DB_ERROR;
	status = audit_cli_user(c, org_gid, "user_invited", "user_access", user_gid, details);
	json_decref(details);
	return status;
}

static int cmd_init(int argc, char **argv)
{
	static const char help[] = "  --org NAME           organization name (KONTOR_ORG_NAME)\n"
				   "  --plan PLAN          personal, starter, advanced, enterprise, enterprise_plus or\n"
				   "                       legacy_enterprise (KONTOR_PLAN; default enterprise_plus)\n"
				   "  --admin-email EMAIL  the first super admin (KONTOR_EMAIL)\n"
				   "  --name NAME          the super admin's name (default: the e-mail's local part)\n"
				   "The organization's e-mail domains start as the domain of --admin-email; change them\n"
				   "with `kontor org set-email-domains`.\n"
				   "The password comes from KONTOR_ADMIN_PASSWORD, else one is generated and printed.\n"
				   "The last line of output is the organization gid.\n";
	struct options o;
	unsigned char pepper[APP_KEY_BYTES];
	char password[256], hash[crypto_pwhash_STRBYTES], name[256], gid_text[GID_STRING_MAX];
	char domains[STORE_EMAIL_DOMAINS_BYTES], err[512], message[640];
	int64_t org_gid, user_gid;
	int generated, status;
	db_conn *c;
	db *d;

	options_defaults(&o);
	parse_options(argc, argv, &o, "init", help);
	if (o.org_name == NULL || o.email == NULL)
		die("init", "--org NAME and --admin-email EMAIL are required");
	if (!store_plan_valid(o.plan))
		die("init", "--plan: expected personal, starter, advanced, enterprise, enterprise_plus or "
			    "legacy_enterprise");
	if (strchr(o.email, '@') == NULL)
		die("init", "--admin-email: not an e-mail address");
	/* Unknown addresses of this domain then reach the organization's audit log when a sign-in fails. */
	if (store_email_domains_normalize(strrchr(o.email, '@') + 1, domains, sizeof(domains), err, sizeof(err)) != 0) {
		snprintf(message, sizeof(message), "--admin-email: the domain %s", err);
		die("init", message);
	}
	load_pepper(&o, "init", 1, pepper);

	admin_password(password, sizeof(password), &generated);
	if (hash_password(password, hash) != 0)
		die("init", "password hashing failed: out of memory");
	if (o.name)
		snprintf(name, sizeof(name), "%s", o.name);
	else
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(o.email, "@"), o.email);

	d = open_db(&o, "init", 1);
	check_pepper(d, pepper, "init");
	sodium_memzero(pepper, sizeof(pepper));
	c = acquire(d, "init");
	check_status(c, db_begin_write(c), "init", "begin");
	check_status(c, store_org_create(c, o.org_name, o.plan, domains, &org_gid), "init", "creating the organization");
	status = store_user_create(c, org_gid, o.email, name, "super_admin", hash, &user_gid);
	check_status(c, status, "init", "creating the super admin");
	check_status(c, audit_cli_user_added(c, org_gid, user_gid, "super_admin"), "init", "writing the audit record");
	check_status(c, db_commit(c), "init", "commit");
	db_release(d, c);
	close_db(&d);

	printf("Organization \"%s\" created on plan %s, with the e-mail domain %s.\n", o.org_name, o.plan, domains);
	printf("Super admin: %s (gid %s)\n", o.email, gid_format(user_gid, gid_text));
	if (generated)
		printf("Password: %s\n", password);
	sodium_memzero(password, sizeof(password));
	printf("%s\n", gid_format(org_gid, gid_text));
	return 0;
}

static int cmd_user(int argc, char **argv)
{
	static const char add_help[] = "  --org GID            the organization (KONTOR_ORG)\n"
				       "  --email EMAIL        the person's e-mail address\n"
				       "  --name NAME          the person's name\n"
				       "  --role ROLE          super_admin, admin, member or guest (default member)\n"
				       "The last line of output is the user gid.\n";
	static const char password_help[] = "  --email EMAIL        the person whose password to set\n"
					    "The password is read from KONTOR_PASSWORD, else from the first line of standard input.\n";
	struct options o;
	char gid_text[GID_STRING_MAX];
	int64_t org_gid, user_gid, found_org;
	db_conn *c;
	db *d;

	if (argc < 2 || (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "set-password") != 0))
		die("user", "expected `user add` or `user set-password`");
	options_defaults(&o);
	if (strcmp(argv[1], "set-password") == 0) {
		char password[1024], hash[crypto_pwhash_STRBYTES];
		const char *given = getenv("KONTOR_PASSWORD");
		db_stmt *s;

		parse_options(argc - 1, argv + 1, &o, "user set-password", password_help);
		if (o.email == NULL)
			die("user set-password", "--email is required");
		if (given) {
			snprintf(password, sizeof(password), "%s", given);
		} else if (fgets(password, sizeof(password), stdin) == NULL) {
			die("user set-password", "no password on standard input");
		}
		password[strcspn(password, "\r\n")] = '\0';
		if (strlen(password) < 12)
			die("user set-password", "the password must be at least 12 characters long");
		if (hash_password(password, hash) != 0)
			die("user set-password", "password hashing failed: out of memory");
		sodium_memzero(password, sizeof(password));
		d = open_db(&o, "user set-password", 1);
		c = acquire(d, "user set-password");
		if (store_user_find_by_email(c, o.email, &user_gid, &found_org) != DB_ROW)
			die("user set-password", "no user with that e-mail address");
		check_status(c, db_begin_write(c), "user set-password", "begin");
		s = db_query(c, "UPDATE users SET password_hash = ?, modified_at = ? WHERE gid = ? AND kind = 'person'");
		if (s == NULL)
			die("user set-password", db_conn_errmsg(c));
		db_bind_text(s, 0, hash);
		db_bind_int64(s, 1, time_now_us());
		db_bind_int64(s, 2, user_gid);
		check_status(c, db_run(s), "user set-password", "updating the password");
		if (db_changes(s) == 0)
			die_rollback(c, "user set-password", "that e-mail address belongs to a service account: service "
							      "accounts have no password and can never sign in");
		check_status(c, audit_cli_user(c, found_org, "user_password_changed", "user_access", user_gid, NULL),
			     "user set-password", "writing the audit record");
		check_status(c, db_commit(c), "user set-password", "commit");
		db_release(d, c);
		close_db(&d);
		printf("Password set for %s.\n", o.email);
		return 0;
	}

	parse_options(argc - 1, argv + 1, &o, "user add", add_help);
	if (o.org == NULL || o.email == NULL || o.name == NULL)
		die("user add", "--org GID, --email EMAIL and --name NAME are required");
	if (gid_parse(o.org, &org_gid) != 0)
		die("user add", "--org: not a gid");
	if (role_from_name(o.role) < 0)
		die("user add", "--role: expected super_admin, admin, member or guest");
	if (strchr(o.email, '@') == NULL)
		die("user add", "--email: not an e-mail address");
	d = open_db(&o, "user add", 1);
	c = acquire(d, "user add");
	{
		db_stmt *s = db_query(c, "SELECT 1 FROM workspaces WHERE gid = ?");
		int status;

		if (s == NULL)
			die("user add", db_conn_errmsg(c));
		db_bind_int64(s, 0, org_gid);
		status = db_step(s);
		db_stmt_done(s);
		if (status != DB_ROW)
			die("user add", "--org: no such organization");
	}
	check_status(c, db_begin_write(c), "user add", "begin");
	check_status(c, store_user_create(c, org_gid, o.email, o.name, o.role, NULL, &user_gid), "user add",
		     "creating the user");
	check_status(c, audit_cli_user_added(c, org_gid, user_gid, o.role), "user add", "writing the audit record");
	check_status(c, db_commit(c), "user add", "commit");
	db_release(d, c);
	close_db(&d);
	printf("%s\n", gid_format(user_gid, gid_text));
	return 0;
}

static int cmd_token(int argc, char **argv)
{
	static const char help[] = "  --email EMAIL        the person the token acts as\n"
				   "  --name LABEL         a label shown in token lists\n"
				   "Prints only the new personal access token. It is not stored in clear and cannot be\n"
				   "shown again.\n";
	struct options o;
	unsigned char pepper[APP_KEY_BYTES];
	char token[TOKEN_MAX], gid_text[GID_STRING_MAX];
	int64_t user_gid, org_gid, token_gid = 0;
	json_t *details;
	int status;
	db_conn *c;
	db *d;

	if (argc < 2 || strcmp(argv[1], "create") != 0)
		die("token", "expected `token create`");
	options_defaults(&o);
	o.name = NULL;
	parse_options(argc - 1, argv + 1, &o, "token create", help);
	if (o.email == NULL)
		die("token create", "--email is required");
	load_pepper(&o, "token create", 0, pepper);
	d = open_db(&o, "token create", 1);
	check_pepper(d, pepper, "token create");
	c = acquire(d, "token create");
	if (store_user_find_by_email(c, o.email, &user_gid, &org_gid) != DB_ROW)
		die("token create", "no user with that e-mail address");
	check_status(c, db_begin_write(c), "token create", "begin");
	{
		db_stmt *s = db_query(c, "SELECT is_active FROM workspace_memberships WHERE workspace_gid = ? AND user_gid = ?");

		if (s == NULL)
			die_rollback(c, "token create", db_conn_errmsg(c));
		db_bind_int64(s, 0, org_gid);
		db_bind_int64(s, 1, user_gid);
		status = db_step(s);
		if (status == DB_ROW && db_column_int64(s, 0) != 1)
			status = DB_DONE;
		db_stmt_done(s);
		/* Authentication rejects an inactive member's tokens, so a token made now would only get 401. */
		if (status == DB_DONE)
			die_rollback(c, "token create", "that person is deactivated in their organization (removed or "
							"deprovisioned); reactivate them before creating a token");
		check_status(c, status == DB_ROW ? DB_OK : status, "token create", "reading the membership");
	}
	check_status(c, store_token_create_personal(c, pepper, user_gid, org_gid, o.name, token, &token_gid),
		     "token create", "storing the token");
	details = json_pack("{s:o, s:s}", "token_gid", json_string(gid_format(token_gid, gid_text)), "token_name",
			    o.name ? o.name : "");
	status = audit_cli_user(c, org_gid, "personal_access_token_created", "access_control", user_gid, details);
	json_decref(details);
	check_status(c, status, "token create", "writing the audit record");
	check_status(c, db_commit(c), "token create", "commit");
	sodium_memzero(pepper, sizeof(pepper));
	db_release(d, c);
	close_db(&d);
	printf("%s\n", token);
	sodium_memzero(token, sizeof(token));
	return 0;
}

static int cmd_division(int argc, char **argv)
{
	static const char help[] = "  --org GID            the organization\n"
				   "  --name NAME          the division's name\n"
				   "  --plan PLAN          the division's plan\n"
				   "  --email EMAIL        optional: a user of the organization who becomes division admin\n"
				   "The last line of output is the division gid.\n";
	struct options o;
	char gid_text[GID_STRING_MAX];
	int64_t org_gid, division_gid, user_gid = 0, user_org = 0;
	db_stmt *s;
	db_conn *c;
	db *d;

	if (argc < 2 || strcmp(argv[1], "add") != 0)
		die("division", "expected `division add`");
	options_defaults(&o);
	o.plan = "enterprise";
	parse_options(argc - 1, argv + 1, &o, "division add", help);
	if (o.org == NULL || o.name == NULL)
		die("division add", "--org GID and --name NAME are required");
	if (gid_parse(o.org, &org_gid) != 0)
		die("division add", "--org: not a gid");
	if (!store_plan_valid(o.plan))
		die("division add", "--plan: not a known plan");
	d = open_db(&o, "division add", 1);
	c = acquire(d, "division add");
	if (o.email != NULL && (store_user_find_by_email(c, o.email, &user_gid, &user_org) != DB_ROW || user_org != org_gid))
		die("division add", "--email: no user with that e-mail address in the organization");
	check_status(c, db_begin_write(c), "division add", "begin");
	s = db_query(c, "INSERT INTO divisions (gid, workspace_gid, name, plan, created_at) VALUES (?, ?, ?, ?, ?)");
	if (s == NULL)
		die("division add", db_conn_errmsg(c));
	division_gid = gid_next();
	db_bind_int64(s, 0, division_gid);
	db_bind_int64(s, 1, org_gid);
	db_bind_text(s, 2, o.name);
	db_bind_text(s, 3, o.plan);
	db_bind_int64(s, 4, time_now_us());
	check_status(c, db_run(s), "division add", "creating the division (does the organization exist?)");
	if (user_gid != 0) {
		s = db_query(c, "INSERT INTO division_admins (workspace_gid, division_gid, user_gid) VALUES (?, ?, ?)");
		if (s == NULL)
			die("division add", db_conn_errmsg(c));
		db_bind_int64(s, 0, org_gid);
		db_bind_int64(s, 1, division_gid);
		db_bind_int64(s, 2, user_gid);
		check_status(c, db_run(s), "division add", "adding the division admin");
	}
	check_status(c, db_commit(c), "division add", "commit");
	db_release(d, c);
	close_db(&d);
	printf("%s\n", gid_format(division_gid, gid_text));
	return 0;
}

/*
 * Changes an organization's plan. Service-account tokens follow at once:
 * they get 402 while the plan has no service accounts and work again after
 * a move back, because authentication reads the plan on every request.
 */
static int cmd_org_set_plan(int argc, char **argv)
{
	static const char help[] = "  --org GID            the organization\n"
				   "  --plan PLAN          personal, starter, advanced, enterprise, enterprise_plus or\n"
				   "                       legacy_enterprise\n";
	struct options o;
	int64_t org_gid;
	db_stmt *s;
	db_conn *c;
	db *d;
	int status;
	char old_plan[32] = "";
	json_t *details;

	options_defaults(&o);
	o.plan = NULL;
	parse_options(argc - 1, argv + 1, &o, "org set-plan", help);
	if (o.org == NULL || o.plan == NULL)
		die("org set-plan", "--org GID and --plan PLAN are required");
	if (gid_parse(o.org, &org_gid) != 0)
		die("org set-plan", "--org: not a gid");
	if (!store_plan_valid(o.plan))
		die("org set-plan", "--plan: expected personal, starter, advanced, enterprise, enterprise_plus or "
				    "legacy_enterprise");
	d = open_db(&o, "org set-plan", 1);
	c = acquire(d, "org set-plan");
	check_status(c, db_begin_write(c), "org set-plan", "begin");
	s = db_query(c, "SELECT plan FROM workspaces WHERE gid = ?");
	if (s == NULL)
		die("org set-plan", db_conn_errmsg(c));
	db_bind_int64(s, 0, org_gid);
	status = db_step(s);
	if (status == DB_ROW)
		snprintf(old_plan, sizeof(old_plan), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
	db_stmt_done(s);
	if (status == DB_DONE)
		die_rollback(c, "org set-plan", "--org: no such organization");
	check_status(c, status, "org set-plan", "reading the plan");
	/* The plan is unchanged, so nothing is written and no audit record is appended. */
	if (strcmp(old_plan, o.plan) == 0) {
		db_rollback(c);
		db_release(d, c);
		close_db(&d);
		printf("Organization %s is already on plan %s.\n", o.org, o.plan);
		return 0;
	}
	s = db_query(c, "UPDATE workspaces SET plan = ? WHERE gid = ?");
	if (s == NULL)
		die("org set-plan", db_conn_errmsg(c));
	db_bind_text(s, 0, o.plan);
	db_bind_int64(s, 1, org_gid);
	status = db_run(s);
	check_status(c, status, "org set-plan", "updating the plan");
	details = json_pack("{s:s, s:s}", "old_plan", old_plan, "new_plan", o.plan);
	status = audit_cli_org(c, org_gid, "workspace_plan_changed", details);
	json_decref(details);
	check_status(c, status, "org set-plan", "writing the audit record");
	check_status(c, db_commit(c), "org set-plan", "commit");
	db_release(d, c);
	close_db(&d);
	printf("Organization %s is now on plan %s.\n", o.org, o.plan);
	return 0;
}

/*
 * Sets who receives the tasks and owned projects of people that SCIM
 * deprovisions: an active member of the organization who is a person and
 * not a guest, or nobody with --email none. Super admins set the same through
 * PUT /api/1.0/admin/scim_settings.
 */
static int cmd_org_set_deprovision_owner(int argc, char **argv)
{
	static const char command[] = "org set-deprovision-owner";
	static const char help[] = "  --org GID            the organization (KONTOR_ORG)\n"
				   "  --email EMAIL        the new owner's e-mail address, or none to clear the setting\n"
				   "                       (KONTOR_EMAIL)\n"
				   "Without an owner, deprovisioned people's tasks become unassigned and their projects\n"
				   "have no owner.\n";
	struct options o;
	int64_t org_gid, owner_gid = 0, owner_org = 0, old_owner = 0;
	char owner_email[256] = "";
	int is_person = 0;
	db_stmt *s;
	db_conn *c;
	db *d;
	int status;
	json_t *details;

	options_defaults(&o);
	o.org = env_or("KONTOR_ORG", NULL);
	o.email = env_or("KONTOR_EMAIL", NULL);
	parse_options(argc, argv, &o, command, help);
	if (o.org == NULL || o.email == NULL)
		die(command, "--org GID and --email EMAIL (or none) are required");
	if (gid_parse(o.org, &org_gid) != 0)
		die(command, "--org: not a gid");
	d = open_db(&o, command, 1);
	c = acquire(d, command);
	check_status(c, db_begin_write(c), command, "begin");

	s = db_query(c, "SELECT COALESCE(deprovision_owner_gid, 0) FROM workspaces WHERE gid = ?");
	if (s == NULL)
		die_rollback(c, command, db_conn_errmsg(c));
	db_bind_int64(s, 0, org_gid);
	status = db_step(s);
	if (status == DB_ROW)
		old_owner = db_column_int64(s, 0);
	db_stmt_done(s);
	if (status == DB_DONE)
		die_rollback(c, command, "--org: no such organization");
	check_status(c, status, command, "reading the organization");

	if (strcmp(o.email, "none") != 0) {
		status = store_user_find_by_email(c, o.email, &owner_gid, &owner_org);
		if (status == DB_DONE || (status == DB_ROW && owner_org != org_gid))
			die_rollback(c, command, "--email: no user of this organization has that address");
		check_status(c, status == DB_ROW ? DB_OK : status, command, "finding the user");
		s = db_query(c, "SELECT u.kind, u.email FROM workspace_memberships m JOIN users u ON u.gid = m.user_gid"
				" WHERE m.workspace_gid = ? AND m.user_gid = ? AND m.is_active = 1 AND m.role <> 'guest'");
		if (s == NULL)
			die_rollback(c, command, db_conn_errmsg(c));
		db_bind_int64(s, 0, org_gid);
		db_bind_int64(s, 1, owner_gid);
		status = db_step(s);
		if (status == DB_ROW) {
			is_person = db_column_text(s, 0) != NULL && strcmp(db_column_text(s, 0), "person") == 0;
			snprintf(owner_email, sizeof(owner_email), "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
		}
		db_stmt_done(s);
		if (status == DB_DONE)
			die_rollback(c, command, "--email: the user is deactivated or a guest; pick an active member");
		check_status(c, status == DB_ROW ? DB_OK : status, command, "reading the membership");
		if (!is_person)
			die_rollback(c, command, "--email: that address belongs to a service account; the work of "
						 "deprovisioned people goes to a person, so pick an active member");
	}

	s = db_query(c, "UPDATE workspaces SET deprovision_owner_gid = ? WHERE gid = ?");
	if (s == NULL)
		die_rollback(c, command, db_conn_errmsg(c));
	db_bind_gid(s, 0, owner_gid);
	db_bind_int64(s, 1, org_gid);
	check_status(c, db_run(s), command, "updating the organization");
	if (owner_gid != old_owner) {
		char old_text[GID_STRING_MAX], new_text[GID_STRING_MAX];

		details = json_object();
		json_object_set_new(details, "old_deprovision_owner_gid",
				    old_owner ? json_string(gid_format(old_owner, old_text)) : json_null());
		json_object_set_new(details, "new_deprovision_owner_gid",
				    owner_gid ? json_string(gid_format(owner_gid, new_text)) : json_null());
		status = audit_cli_org(c, org_gid, "workspace_deprovision_owner_changed", details);
		json_decref(details);
		check_status(c, status, command, "writing the audit record");
	}
	check_status(c, db_commit(c), command, "commit");
	db_release(d, c);
	close_db(&d);
	if (owner_gid != 0)
		printf("Deprovisioned people's tasks and projects in organization %s now go to %s.\n", o.org, owner_email);
	else
		printf("Organization %s has no deprovision owner: deprovisioned people's tasks become unassigned.\n",
		       o.org);
	return 0;
}

/* The stored email_domains text ("a.se,b.se") as a JSON array, skipping blanks. */
static json_t *email_domains_json(const char *stored)
{
	json_t *array = json_array();
	const char *p = stored;

	while (*p != '\0') {
		size_t entry = strcspn(p, ","), start = 0, end = entry;

		while (start < end && (p[start] == ' ' || p[start] == '\t'))
			start++;
		while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		if (end > start)
			json_array_append_new(array, json_stringn(p + start, end - start));
		p += entry;
		if (*p == ',')
			p++;
	}
	return array;
}

/*
 * Sets the organization's e-mail domains, which the API shows as the
 * workspace's email_domains (read-only there, as in Asana). A failed
 * sign-in with an unknown address of one of them is recorded in the
 * organization's audit log. A change writes workspace_email_domains_changed.
 */
static int cmd_org_set_email_domains(int argc, char **argv)
{
	static const char command[] = "org set-email-domains";
	static const char help[] = "  --org GID            the organization (KONTOR_ORG)\n"
				   "  --domains LIST       comma-separated domain names such as example.se,example.com,\n"
				   "                       or none to clear the list (KONTOR_EMAIL_DOMAINS)\n"
				   "A failed sign-in with an unknown address of one of these domains is recorded in the\n"
				   "organization's audit log.\n";
	char domains[STORE_EMAIL_DOMAINS_BYTES], old_domains[STORE_EMAIL_DOMAINS_BYTES] = "", err[512],
		message[640];
	struct options o;
	int64_t org_gid;
	json_t *details;
	db_stmt *s;
	db_conn *c;
	db *d;
	int status;

	options_defaults(&o);
	parse_options(argc, argv, &o, command, help);
	if (o.org == NULL || o.domains == NULL)
		die(command, "--org GID and --domains LIST (or none) are required");
	if (gid_parse(o.org, &org_gid) != 0)
		die(command, "--org: not a gid");
	if (strcmp(o.domains, "none") == 0) {
		domains[0] = '\0';
	} else if (store_email_domains_normalize(o.domains, domains, sizeof(domains), err, sizeof(err)) != 0) {
		snprintf(message, sizeof(message), "--domains: %s", err);
		die(command, message);
	}

	d = open_db(&o, command, 1);
	c = acquire(d, command);
	check_status(c, db_begin_write(c), command, "begin");
	s = db_query(c, "SELECT email_domains FROM workspaces WHERE gid = ?");
	if (s == NULL)
		die_rollback(c, command, db_conn_errmsg(c));
	db_bind_int64(s, 0, org_gid);
	status = db_step(s);
	if (status == DB_ROW)
		snprintf(old_domains, sizeof(old_domains), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
	db_stmt_done(s);
	if (status == DB_DONE)
		die_rollback(c, command, "--org: no such organization");
	check_status(c, status == DB_ROW ? DB_OK : status, command, "reading the organization");

	if (strcmp(old_domains, domains) != 0) {
		s = db_query(c, "UPDATE workspaces SET email_domains = ? WHERE gid = ?");
		if (s == NULL)
			die_rollback(c, command, db_conn_errmsg(c));
		db_bind_text(s, 0, domains);
		db_bind_int64(s, 1, org_gid);
		check_status(c, db_run(s), command, "updating the organization");
		details = json_object();
		json_object_set_new(details, "old_email_domains", email_domains_json(old_domains));
		json_object_set_new(details, "new_email_domains", email_domains_json(domains));
		status = audit_cli_org(c, org_gid, "workspace_email_domains_changed", details);
		json_decref(details);
		check_status(c, status, command, "writing the audit record");
	}
	check_status(c, db_commit(c), command, "commit");
	db_release(d, c);
	close_db(&d);
	if (domains[0] != '\0')
		printf("Organization %s has the e-mail domains %s.\n", o.org, domains);
	else
		printf("Organization %s has no e-mail domains.\n", o.org);
	return 0;
}

static int cmd_org(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "set-plan") == 0)
		return cmd_org_set_plan(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "set-deprovision-owner") == 0)
		return cmd_org_set_deprovision_owner(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "set-email-domains") == 0)
		return cmd_org_set_email_domains(argc - 1, argv + 1);
	die("org", "expected `org set-plan`, `org set-deprovision-owner` or `org set-email-domains`");
	return 2;
}

/* Parses "HOST:PORT", "[V6]:PORT" or ":PORT". */
static void parse_listen(const char *text, char *host, size_t host_len, int *port_r)
{
	const char *colon = strrchr(text, ':');
	size_t len;

	if (colon == NULL)
		die("serve", "--listen: expected HOST:PORT, such as 127.0.0.1:8080");
	*port_r = (int)parse_number("listen port", colon + 1, 0, 65535);
	len = (size_t)(colon - text);
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
	}
	if (len == 0) {
		snprintf(host, host_len, "0.0.0.0");
		return;
	}
	if (len >= host_len)
		die("serve", "--listen: host too long");
	memcpy(host, text, len);
	host[len] = '\0';
}

/*
 * The worker threads when --threads is not given. SQLite work runs on the
 * CPU inside the process, so one thread per core (at least 2) keeps the
 * cores busy; more threads add context switches and lock waits that show in
 * the tail latency (a load test with 64 connections on 2 cores: p99 about
 * 3.3 ms with 2 threads against 9 to 12 ms with 4, at about 10 % less
 * throughput). The price is that one slow request holds a larger share of
 * the workers. PostgreSQL requests wait on the network, so four threads per
 * core (at least 8) keep the cores busy, up to the connection pool, since a
 * thread without a connection only waits.
 */
static int default_threads(const db *d, int pool)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	long threads;

	if (cores < 1)
		cores = 1;
	if (db_get_driver(d) == &db_sqlite_driver) {
		threads = cores < 2 ? 2 : cores;
	} else {
		threads = 4 * cores < 8 ? 8 : 4 * cores;
		if (threads > pool)
			threads = pool;
	}
	return (int)(threads > 256 ? 256 : threads);
}

static int serve(const struct options *o, db *d, const char *command, const char *after_start_message)
{
	/*
	 * NOTE: the in-flight caps only protect other callers when they are below
	 * the thread count: with the defaults (50 reads, 1 or 4 threads per core)
	 * one busy token can occupy every worker thread and slow everyone else down.
	 */
	struct ratelimit_config limits = { o->rate_per_minute, o->reads_in_flight, o->writes_in_flight };
	struct http_server_config config;
	http_server *server = NULL;
	struct webhook_worker *webhook_worker;
	struct webhook_config webhooks;
	struct jobs *jobs;
	struct app app;
	char host[256], err[512], url[320], web_dir[4096];
	int port;

	memset(&app, 0, sizeof(app));
	app.db = d;
	app.db_timeout_ms = 5000;
	if (http_static_root(o->web_dir, web_dir, sizeof(web_dir)) != 0)
		log_warn("main", "admin console directory not found; /admin/ returns 404 until it exists", "web_dir",
			 web_dir, NULL);
	app.web_dir = web_dir;
	app.public_url = o->public_url;
	app.trust_proxy = o->trust_proxy;
	app.has_trusted_proxies = o->trusted_proxies.count > 0;
	for (int i = 0; i < o->trusted_proxies.count; i++) {
		if (proxy_range_is_everything(&o->trusted_proxies.ranges[i]))
			log_warn("main", "--trusted-proxy trusts every address, so any client can choose the address "
					 "recorded for it with X-Forwarded-For; list only the proxies' own addresses",
				 NULL);
	}
	if (webhook_config_load(&webhooks, err, sizeof(err)) != 0)
		die(command, err);
	webhooks.allow_private = webhooks.allow_private || o->allow_private_webhook_targets;
	app.webhooks = &webhooks;
	/* libcurl's global state is set up before any thread can send. */
	if (webhook_send_global_init() != 0)
		die(command, "cannot initialise libcurl");
	load_pepper(o, command, 0, app.pepper);
	check_pepper(d, app.pepper, command);
	if (app_load_page_key(&app, err, sizeof(err)) != 0)
		die(command, err);
	app.limits = ratelimit_new(&limits);
	if (app.limits == NULL)
		die(command, "out of memory");

	parse_listen(o->listen, host, sizeof(host), &port);
	memset(&config, 0, sizeof(config));
	config.host = host;
	config.port = port;
	config.threads = o->threads ? o->threads : default_threads(d, o->pool);
	/* The only deferred steps are webhook handshakes, so each one in flight gets its own helper. */
	config.helper_threads = WEBHOOK_HANDSHAKES_MAX;
	config.helper_queue_max = WEBHOOK_HANDSHAKES_MAX;
	config.connection_limit = 1024;
	config.per_ip_connection_limit = o->connections_per_ip;
	config.trusted_proxies = &o->trusted_proxies;
	config.connection_timeout_s = 30;
	config.body_limit = app_body_limit;
	config.handler = app_handle;
	config.app = &app;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (http_server_start(&config, &server) != 0)
		die(command, "cannot start the HTTP server (see the log line above)");
	jobs_event_prune_set_retention_days(o->event_retention_days);
	/* Exports write their data through the request pool: the background pool has no connection to spare. */
	if (export_jobs_register(d) != 0)
		die(command, "cannot register the export jobs");
	jobs = jobs_start(background_db, err, sizeof(err));
	if (jobs == NULL)
		die(command, err);
	webhook_worker = webhook_worker_start(background_db, app.pepper, &webhooks, err, sizeof(err));
	if (webhook_worker == NULL)
		die(command, err);
	if (webhooks.allow_private)
		log_warn("main", "webhook targets on private and loopback addresses are allowed; use this only for tests "
				 "or closed networks", NULL);
	snprintf(url, sizeof(url), strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host,
		 http_server_port(server));
	log_info("main", "serving", "url", url, "database", db_get_driver(d)->name, "node_id", LOG_INT(gid_get_node()),
		 "threads", LOG_INT(config.threads), "reads_in_flight_per_token", LOG_INT(limits.reads_in_flight),
		 "writes_in_flight_per_token", LOG_INT(limits.writes_in_flight), "trusted_proxy_ranges",
		 LOG_INT(o->trusted_proxies.count), NULL);
	if (after_start_message) {
		printf("kontor is serving %s\n%s", url, after_start_message);
		fflush(stdout);
	}

	while (!stop_requested)
		pause();

	log_info("main", "stopping", NULL);
	http_server_stop(&server);
	webhook_worker_stop(&webhook_worker);
	jobs_stop(&jobs);
	webhook_send_global_cleanup();
	ratelimit_free(&app.limits);
	sodium_memzero(app.pepper, sizeof(app.pepper));
	log_info("main", "stopped", NULL);
	return 0;
}

static const char serve_help[] =
	"  --listen HOST:PORT   address to serve on (KONTOR_LISTEN; default " DEFAULT_LISTEN ")\n"
	"  --threads N          worker threads (KONTOR_THREADS; default 1 per core and at least 2\n"
	"                       on SQLite, 4 per core and at least 8 on PostgreSQL, at most --pool);\n"
	"                       raise it when requests are slow\n"
	"  --pool N             database connections (KONTOR_DB_POOL; default 16)\n"
	"  --rate-limit N       requests per minute per token (KONTOR_RATE_LIMIT; default 1500)\n"
	"  --max-reads N        reads in flight per token (KONTOR_MAX_READS_IN_FLIGHT; default 50)\n"
	"  --max-writes N       writes in flight per token (KONTOR_MAX_WRITES_IN_FLIGHT; default 15)\n"
	"  --max-connections-per-ip N  open connections from one TCP peer address (the proxy's when\n"
	"                       there is one), 0 for no limit\n"
	"                       (KONTOR_MAX_CONNECTIONS_PER_IP; default 256)\n"
	"  --node-id N          0..1023, the id in this node's gids (KONTOR_NODE_ID; default: the lowest\n"
	"                       id no running node holds). A node refuses to start with an id another\n"
	"                       running node holds.\n"
	"  --web-dir DIR        the admin console's files (KONTOR_WEB_DIR; default: ../web/admin beside\n"
	"                       the directory of the kontor binary)\n"
	"  --public-url URL     base of the absolute URLs in responses (next_page.uri, photos,\n"
	"                       permalink_url), such as https://kontor.example.com (KONTOR_PUBLIC_URL;\n"
	"                       default: the request's Host header when it is a valid HOST[:PORT])\n"
	"  --trust-proxy        use X-Forwarded-Proto from the reverse proxy in front; set it only when\n"
	"                       every request comes through that proxy (KONTOR_TRUST_PROXY=1); with\n"
	"                       --trusted-proxy, only from the peers it lists\n"
	"  --trusted-proxy CIDR[,CIDR...]  reverse proxies whose X-Forwarded-For names the client,\n"
	"                       as IPv4 or IPv6 addresses or CIDR ranges; repeatable\n"
	"                       (KONTOR_TRUSTED_PROXIES; default none: the TCP peer is the client)\n"
	"  --event-retention-days N  days the change log behind the events API and webhooks is\n"
	"                       kept, 7 to 3650 (KONTOR_EVENT_RETENTION_DAYS; default 7)\n"
	"  --allow-private-webhook-targets  let webhooks deliver to loopback, private and link-local\n"
	"                       addresses; for tests and closed networks only\n"
	"                       (KONTOR_ALLOW_PRIVATE_WEBHOOK_TARGETS=1)\n";

static int cmd_serve(int argc, char **argv)
{
	struct options o;
	db *d;
	int result;

	options_defaults(&o);
	parse_options(argc, argv, &o, "serve", serve_help);
	d = open_db(&o, "serve", o.pool);
	result = serve(&o, d, "serve", NULL);
	close_db(&d);
	return result;
}

static int cmd_demo(int argc, char **argv)
{
	static const char help[] = "  --size small|large   demo size (KONTOR_DEMO_SIZE; default small)\n"
				   "  --seed N             generator seed (KONTOR_DEMO_SEED)\n"
				   "  --listen HOST:PORT   address to serve on (KONTOR_LISTEN; default " DEFAULT_LISTEN ")\n"
				   "  --web-dir DIR        the admin console's files (KONTOR_WEB_DIR)\n"
				   "Creates the demo organization \"Exempel AB\" when the database is empty, prints the\n"
				   "URL, the super admin's e-mail and password and a token, then serves.\n";
	struct options o;
	unsigned char pepper[APP_KEY_BYTES];
	char message[1024] = "", err[512];
	db_stmt *s;
	db_conn *c;
	db *d;
	int status, empty;

	options_defaults(&o);
	parse_options(argc, argv, &o, "demo", help);
	if (strcmp(o.size, "small") != 0 && strcmp(o.size, "large") != 0)
		die("demo", "--size: expected small or large");
	d = open_db(&o, "demo", o.pool);
	c = acquire(d, "demo");
	s = db_query(c, "SELECT count(*) FROM workspaces");
	if (s == NULL)
		die("demo", db_conn_errmsg(c));
	status = db_step(s);
	empty = status == DB_ROW && db_column_int64(s, 0) == 0;
	db_stmt_done(s);
	db_release(d, c);

	if (empty) {
		struct demo_result result;
		char password[256], hash[crypto_pwhash_STRBYTES], token[TOKEN_MAX];
		int generated;

		load_pepper(&o, "demo", 1, pepper);
		fprintf(stderr, "kontor demo: creating the %s demo organization...\n", o.size);
		if (store_demo_create(d, o.size, o.seed, &result, err, sizeof(err)) != DB_OK)
			die("demo", err);
		admin_password(password, sizeof(password), &generated);
		if (hash_password(password, hash) != 0)
			die("demo", "password hashing failed: out of memory");
		c = acquire(d, "demo");
		s = db_query(c, "UPDATE users SET password_hash = ? WHERE gid = ?");
		if (s == NULL)
			die("demo", db_conn_errmsg(c));
		db_bind_text(s, 0, hash);
		db_bind_int64(s, 1, result.super_admin_gid);
		check_status(c, db_run(s), "demo", "setting the password");
		check_status(c, store_token_create_personal(c, pepper, result.super_admin_gid, result.org_gid, "demo",
							    token, NULL),
			     "demo", "creating the token");
		db_release(d, c);
		snprintf(message, sizeof(message),
			 "Demo organization: Exempel AB (%lld people, %lld projects, %lld tasks)\n"
			 "Super admin: %s\nPassword: %s\nToken: %s\n"
			 "Try: curl -H \"Authorization: Bearer %s\" http://%s/api/1.0/users/me\n",
			 (long long)result.users, (long long)result.projects, (long long)result.tasks,
			 result.super_admin_email, password, token, token, o.listen);
		sodium_memzero(password, sizeof(password));
		sodium_memzero(token, sizeof(token));
		sodium_memzero(pepper, sizeof(pepper));
	} else {
		snprintf(message, sizeof(message),
			 "The database already holds an organization; serving it unchanged. Create a token with\n"
			 "  %s token create --db %s --email EMAIL\n"
			 "and set a password with\n"
			 "  %s user set-password --db %s --email EMAIL\n",
			 program_name, o.db, program_name, o.db);
	}
	status = serve(&o, d, "demo", message);
	close_db(&d);
	return status;
}

/* Writes compressed export bytes to the output file. */
static int file_sink(void *ctx, const unsigned char *data, size_t len, char *err, size_t errlen)
{
	if (fwrite(data, 1, len, (FILE *)ctx) != len) {
		snprintf(err, errlen, "writing the output file failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static const char export_help[] =
	"  --org GID            the organization to export (KONTOR_ORG)\n"
	"  --output FILE        the file to write, such as backup.json.gz (KONTOR_EXPORT_OUTPUT)\n"
	"Writes the organization as gzip-compressed JSON in the kontor-export format, version 1\n"
	"(docs/export-format.md), from one consistent snapshot. The file is written to FILE.partial\n"
	"and renamed to FILE once complete. Passwords, tokens and sessions are left out.\n";

static int cmd_export(int argc, char **argv)
{
	struct options o;
	struct export_stats stats;
	char err[1024], partial[4096];
	int64_t org_gid;
	enum export_result result;
	FILE *out;
	db_conn *c;
	db *d;

	options_defaults(&o);
	parse_options(argc, argv, &o, "export", export_help);
	if (o.org == NULL || o.output == NULL)
		die("export", "--org GID and --output FILE are required");
	if (gid_parse(o.org, &org_gid) != 0)
		die("export", "--org: not a gid; pass the organization's gid, such as 1204710252385912");
	if ((size_t)snprintf(partial, sizeof(partial), "%s.partial", o.output) >= sizeof(partial))
		die("export", "--output: the path is too long");
	/* SQLite would create a missing file and migrate it, so an export from a mistyped path would seem to work. */
	if (db_driver_for(o.db) == &db_sqlite_driver && access(o.db, F_OK) != 0) {
		snprintf(err, sizeof(err), "--db: database %.800s not found: %s; pass the path of an existing database",
			 o.db, strerror(errno));
		die("export", err);
	}
	out = fopen(partial, "wb");
	if (out == NULL) {
		snprintf(err, sizeof(err), "cannot create %.800s: %s", partial, strerror(errno));
		die("export", err);
	}
	d = open_db(&o, "export", 1);
	c = acquire(d, "export");
	result = store_export_write(c, org_gid, file_sink, out, NULL, NULL, &stats, err, sizeof(err));
	db_release(d, c);
	close_db(&d);
	if (fclose(out) != 0 && result == EXPORT_OK) {
		snprintf(err, sizeof(err), "writing %.800s failed: %s", partial, strerror(errno));
		result = EXPORT_FAILED;
	}
	if (result == EXPORT_OK && rename(partial, o.output) != 0) {
		snprintf(err, sizeof(err), "cannot rename %.400s to %.400s: %s", partial, o.output, strerror(errno));
		result = EXPORT_FAILED;
	}
	if (result != EXPORT_OK) {
		remove(partial);
		die("export", err);
	}
	fprintf(stderr, "kontor export: wrote %lld rows, %lld bytes to %s\n", (long long)stats.rows,
		(long long)stats.bytes, o.output);
	return 0;
}

static const char restore_help[] =
	"  --input FILE         a kontor-export file, gzip-compressed or plain JSON (KONTOR_RESTORE_INPUT);\n"
	"                       a regular file or a pipe such as /dev/stdin\n"
	"Loads the organization into DB, which must be empty: it refuses a database that already\n"
	"contains an organization or users. Everything is loaded in one transaction. The file has\n"
	"no passwords or tokens: afterwards set passwords with `kontor user set-password` and\n"
	"create tokens with `kontor token create`. The last line of output is the organization gid.\n";

/*
 * Opens the export file for `kontor restore` and checks that it can be
 * read, before the command creates or migrates the target database, so a
 * wrong --input leaves nothing behind. Accepts a regular file or a pipe
 * (`--input /dev/stdin`, a shell's process substitution). Returns the
 * descriptor, or exits with a message.
 */
static int open_restore_input(const char *path)
{
	char err[1024];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, sizeof(err), "cannot read %.800s: %s; %s", path, strerror(errno),
			 errno == EACCES ? "give this user read permission on the file"
					 : "check the path given to --input");
		die("restore", err);
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, sizeof(err), "cannot read %.800s: %s", path, strerror(errno));
		die("restore", err);
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, sizeof(err), "cannot read %.800s: it is a directory; --input takes an export file such as "
					   "backup.json.gz",
			 path);
		die("restore", err);
	}
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		snprintf(err, sizeof(err), "cannot read %.800s: it is not a regular file or a pipe; --input takes an "
					   "export file such as backup.json.gz",
			 path);
		die("restore", err);
	}
	return fd;
}

static int cmd_restore(int argc, char **argv)
{
	struct options o;
	unsigned char pepper[APP_KEY_BYTES];
	char err[1024], gid_text[GID_STRING_MAX];
	int64_t org_gid = 0, rows = 0;
	int input;
	db_conn *c;
	db *d;

	options_defaults(&o);
	parse_options(argc, argv, &o, "restore", restore_help);
	if (o.input == NULL)
		die("restore", "--input FILE is required");
	input = open_restore_input(o.input);
	d = open_db(&o, "restore", 1);
	/* The restored database needs its own key file for the tokens created afterwards, as after init. */
	load_pepper(&o, "restore", 1, pepper);
	check_pepper(d, pepper, "restore");
	sodium_memzero(pepper, sizeof(pepper));
	c = acquire(d, "restore");
	if (store_export_restore(c, input, &org_gid, &rows, err, sizeof(err)) != 0) {
		db_release(d, c);
		die("restore", err);
	}
	db_release(d, c);
	close_db(&d);
	log_info("main", "organization restored", "organization_gid", LOG_INT(org_gid), "rows", LOG_INT(rows), NULL);
	fprintf(stderr, "kontor restore: restored %lld rows. People have no passwords or tokens yet: use\n"
			"`kontor user set-password` and `kontor token create`.\n",
		(long long)rows);
	printf("%s\n", gid_format(org_gid, gid_text));
	return 0;
}

static const char migrate_help[] =
	"Applies the schema migrations that this version of kontor brings, then exits. Every\n"
	"other command does the same when it opens the database; this one lets an operator\n"
	"choose when an upgrade's pause happens (rebuilding the tables of a large SQLite file\n"
	"takes seconds to minutes) and lets benchmarks keep it out of their timings.\n";

static int cmd_migrate(int argc, char **argv)
{
	struct options o;
	db *d;

	options_defaults(&o);
	parse_options(argc, argv, &o, "migrate", migrate_help);
	d = open_db(&o, "migrate", 1);
	close_db(&d);
	fputs("kontor migrate: the database schema is up to date\n", stderr);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 0 && argv[0] != NULL && argv[0][0] != '\0')
		program_name = argv[0];
	if (sodium_init() < 0) {
		fprintf(stderr, "kontor: libsodium failed to initialise\n");
		return 1;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "demo") == 0)
		return cmd_demo(argc - 1, argv + 1);
	if (strcmp(argv[1], "user") == 0)
		return cmd_user(argc - 1, argv + 1);
	if (strcmp(argv[1], "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	if (strcmp(argv[1], "division") == 0)
		return cmd_division(argc - 1, argv + 1);
	if (strcmp(argv[1], "org") == 0)
		return cmd_org(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "restore") == 0)
		return cmd_restore(argc - 1, argv + 1);
	if (strcmp(argv[1], "migrate") == 0)
		return cmd_migrate(argc - 1, argv + 1);
	fprintf(stderr, "kontor: unknown command \"%s\"\n\n%s", argv[1], usage_text);
	return 2;
}
