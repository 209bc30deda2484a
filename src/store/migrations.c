/*
 * The schema. Conventions: every row carries workspace_gid, the gid of its
 * organization, and every query filters on it. gids are BIGINT, times are
 * BIGINT microseconds since the Unix epoch, booleans are INTEGER 0 or 1, and
 * secrets are stored only as hex digests. Migrations are append-only: a
 * released migration is never edited, a new one is added.
 */
#include "store/migrations.h"

#include <stddef.h>

static const char m1_core[] =
	"CREATE TABLE settings ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);"

	"CREATE TABLE workspaces ("
	"  gid BIGINT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  is_organization INTEGER NOT NULL DEFAULT 1,"
	"  plan TEXT NOT NULL,"
	"  email_domains TEXT NOT NULL DEFAULT '',"
	"  created_at BIGINT NOT NULL);"

	"CREATE TABLE divisions ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"
	"  name TEXT NOT NULL,"
	"  plan TEXT NOT NULL,"
	"  created_at BIGINT NOT NULL);"
	"CREATE INDEX divisions_workspace ON divisions(workspace_gid, gid);"

	/* A user belongs to exactly one organization; e-mail is unique server-wide. */
	"CREATE TABLE users ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"
	"  email TEXT NOT NULL,"
	"  email_lower TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  kind TEXT NOT NULL DEFAULT 'person',"
	"  password_hash TEXT,"
	"  photo_key TEXT,"
	"  created_at BIGINT NOT NULL,"
	"  modified_at BIGINT NOT NULL);"
	"CREATE UNIQUE INDEX users_email ON users(email_lower);"
	"CREATE INDEX users_workspace ON users(workspace_gid, gid);"

	/* role: super_admin, admin, member or guest. */
	"CREATE TABLE workspace_memberships ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  role TEXT NOT NULL,"
	"  is_active INTEGER NOT NULL DEFAULT 1,"
	"  created_at BIGINT NOT NULL);"
	"CREATE UNIQUE INDEX workspace_memberships_user ON workspace_memberships(workspace_gid, user_gid);"

	"CREATE TABLE division_admins ("
	"  workspace_gid BIGINT NOT NULL,"
	"  division_gid BIGINT NOT NULL REFERENCES divisions(gid),"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  PRIMARY KEY (division_gid, user_gid));"
	"CREATE INDEX division_admins_user ON division_admins(workspace_gid, user_gid);"

	/* visibility: secret, request_to_join or public (Asana's team visibility). */
	"CREATE TABLE teams ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"
	"  division_gid BIGINT REFERENCES divisions(gid),"
	"  name TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  html_description TEXT NOT NULL DEFAULT '',"
	"  visibility TEXT NOT NULL DEFAULT 'request_to_join',"
	"  created_at BIGINT NOT NULL,"
	"  modified_at BIGINT NOT NULL);"
	"CREATE INDEX teams_workspace ON teams(workspace_gid, gid);"

	"CREATE TABLE team_memberships ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL,"
	"  team_gid BIGINT NOT NULL REFERENCES teams(gid),"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  is_admin INTEGER NOT NULL DEFAULT 0,"
	"  is_guest INTEGER NOT NULL DEFAULT 0,"
	"  created_at BIGINT NOT NULL);"
	"CREATE UNIQUE INDEX team_memberships_pair ON team_memberships(team_gid, user_gid);"
	"CREATE INDEX team_memberships_user ON team_memberships(workspace_gid, user_gid);"

	/* privacy_setting: public_to_workspace, private_to_team or private. */
	"CREATE TABLE projects ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"
	"  team_gid BIGINT REFERENCES teams(gid),"
	"  name TEXT NOT NULL,"
	"  notes TEXT NOT NULL DEFAULT '',"
	"  html_notes TEXT NOT NULL DEFAULT '',"
	"  color TEXT,"
	"  default_view TEXT NOT NULL DEFAULT 'list',"
	"  archived INTEGER NOT NULL DEFAULT 0,"
	"  completed INTEGER NOT NULL DEFAULT 0,"
	"  completed_at BIGINT,"
	"  privacy_setting TEXT NOT NULL DEFAULT 'public_to_workspace',"
	"  owner_gid BIGINT REFERENCES users(gid),"
	"  created_by BIGINT,"
	"  due_on TEXT,"
	"  start_on TEXT,"
	"  created_at BIGINT NOT NULL,"
	"  modified_at BIGINT NOT NULL);"
	"CREATE INDEX projects_workspace ON projects(workspace_gid, gid);"
	"CREATE INDEX projects_team ON projects(team_gid, gid);"

	/* access_level: admin, editor, commenter or viewer. */
	"CREATE TABLE project_memberships ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL,"
	"  project_gid BIGINT NOT NULL REFERENCES projects(gid),"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  access_level TEXT NOT NULL DEFAULT 'editor',"
	"  created_at BIGINT NOT NULL);"
	"CREATE UNIQUE INDEX project_memberships_pair ON project_memberships(project_gid, user_gid);"
	"CREATE INDEX project_memberships_user ON project_memberships(workspace_gid, user_gid);"

	"CREATE TABLE project_followers ("
	"  workspace_gid BIGINT NOT NULL,"
	"  project_gid BIGINT NOT NULL REFERENCES projects(gid),"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  PRIMARY KEY (project_gid, user_gid));"

	/* position orders sections within their project. */
	"CREATE TABLE sections ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL,"
	"  project_gid BIGINT NOT NULL REFERENCES projects(gid),"
	"  name TEXT NOT NULL,"
	"  position BIGINT NOT NULL,"
	"  created_at BIGINT NOT NULL);"
	"CREATE INDEX sections_project ON sections(project_gid, position, gid);"

	"CREATE TABLE tasks ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"
	"  name TEXT NOT NULL DEFAULT '',"
	"  notes TEXT NOT NULL DEFAULT '',"
	"  html_notes TEXT NOT NULL DEFAULT '',"
	"  resource_subtype TEXT NOT NULL DEFAULT 'default_task',"
	"  assignee_gid BIGINT REFERENCES users(gid),"
	"  assignee_status TEXT NOT NULL DEFAULT 'inbox',"
	"  assigned_by BIGINT,"
	"  completed INTEGER NOT NULL DEFAULT 0,"
	"  completed_at BIGINT,"
	"  completed_by BIGINT,"
	"  approval_status TEXT,"
	"  due_on TEXT,"
	"  due_at BIGINT,"
	"  start_on TEXT,"
	"  start_at BIGINT,"
	"  parent_gid BIGINT REFERENCES tasks(gid),"
	"  position BIGINT NOT NULL DEFAULT 0,"
	"  created_by BIGINT,"
	"  created_at BIGINT NOT NULL,"
	"  modified_at BIGINT NOT NULL);"
	"CREATE INDEX tasks_workspace ON tasks(workspace_gid, gid);"
	"CREATE INDEX tasks_assignee ON tasks(assignee_gid, gid);"
	"CREATE INDEX tasks_parent ON tasks(parent_gid, position, gid);"
	"CREATE INDEX tasks_modified ON tasks(workspace_gid, modified_at);"

	/* A task's place in each project it belongs to, and its section there. */
	"CREATE TABLE task_projects ("
	"  workspace_gid BIGINT NOT NULL,"
	"  task_gid BIGINT NOT NULL REFERENCES tasks(gid),"
	"  project_gid BIGINT NOT NULL REFERENCES projects(gid),"
	"  section_gid BIGINT REFERENCES sections(gid),"
	"  position BIGINT NOT NULL,"
	"  PRIMARY KEY (task_gid, project_gid));"
	"CREATE INDEX task_projects_project ON task_projects(project_gid, task_gid);"
	"CREATE INDEX task_projects_section ON task_projects(section_gid, task_gid);"

	"CREATE TABLE task_followers ("
	"  workspace_gid BIGINT NOT NULL,"
	"  task_gid BIGINT NOT NULL REFERENCES tasks(gid),"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  PRIMARY KEY (task_gid, user_gid));"
	"CREATE INDEX task_followers_user ON task_followers(user_gid, task_gid);"

	"CREATE TABLE tags ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"
	"  name TEXT NOT NULL,"
	"  color TEXT,"
	"  notes TEXT NOT NULL DEFAULT '',"
	"  created_by BIGINT,"
	"  created_at BIGINT NOT NULL);"
	"CREATE INDEX tags_workspace ON tags(workspace_gid, gid);"

	"CREATE TABLE task_tags ("
	"  workspace_gid BIGINT NOT NULL,"
	"  task_gid BIGINT NOT NULL REFERENCES tasks(gid),"
	"  tag_gid BIGINT NOT NULL REFERENCES tags(gid),"
	"  PRIMARY KEY (task_gid, tag_gid));"
	"CREATE INDEX task_tags_tag ON task_tags(tag_gid, task_gid);"

	/* type: comment or system; resource_subtype as Asana names it. */
	"CREATE TABLE stories ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL,"
	"  task_gid BIGINT NOT NULL REFERENCES tasks(gid),"
	"  type TEXT NOT NULL,"
	"  resource_subtype TEXT NOT NULL,"
	"  text TEXT NOT NULL DEFAULT '',"
	"  html_text TEXT,"
	"  is_pinned INTEGER NOT NULL DEFAULT 0,"
	"  is_edited INTEGER NOT NULL DEFAULT 0,"
	"  created_by BIGINT,"
	"  created_at BIGINT NOT NULL);"
	"CREATE INDEX stories_task ON stories(task_gid, gid);"

	/*
	 * Personal access tokens and, later, service-account tokens. hash is the
	 * hex keyed digest of the secret, never the secret itself.
	 */
	"CREATE TABLE tokens ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL,"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  kind TEXT NOT NULL,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  hash TEXT NOT NULL,"
	"  created_by BIGINT,"
	"  created_at BIGINT NOT NULL,"
	"  expires_at BIGINT,"
	"  last_used_at BIGINT,"
	"  last_used_ip TEXT,"
	"  revoked_at BIGINT);"
	"CREATE INDEX tokens_user ON tokens(user_gid, gid);";

/*
 * Service accounts and what comes with them: scopes, idempotent token
 * rotation, the audit log, admin-console sessions, and the job queue that
 * background workers on any node claim from.
 */
static const char m2_service_accounts[] =
	/* scopes: "full", or a comma-separated subset of read, scim, exports, audit_logs. */
	"CREATE TABLE service_accounts ("
	"  user_gid BIGINT PRIMARY KEY REFERENCES users(gid),"
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"
	"  scopes TEXT NOT NULL,"
	"  created_by BIGINT,"
	"  created_at BIGINT NOT NULL,"
	"  modified_at BIGINT NOT NULL);"
	"CREATE INDEX service_accounts_workspace ON service_accounts(workspace_gid, user_gid);"

	"ALTER TABLE tokens ADD COLUMN revoked_by BIGINT;"

	/*
	 * A retried token rotation returns the token minted by the first try:
	 * it is kept here encrypted (never in clear) until expires_at.
	 */
	"CREATE TABLE idempotency_keys ("
	"  workspace_gid BIGINT NOT NULL,"
	"  principal_gid BIGINT NOT NULL,"
	"  idempotency_key TEXT NOT NULL,"
	"  route TEXT NOT NULL,"
	"  request_hash TEXT NOT NULL,"
	"  token_gid BIGINT,"
	"  sealed_response TEXT NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  expires_at BIGINT NOT NULL,"
	"  PRIMARY KEY (principal_gid, idempotency_key));"
	"CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);"

	/* Append-only: nothing updates or deletes rows of this table. */
	"CREATE TABLE audit_log ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  event_type TEXT NOT NULL,"
	"  event_category TEXT NOT NULL,"
	"  actor_type TEXT NOT NULL,"
	"  actor_gid BIGINT,"
	"  actor_name TEXT,"
	"  actor_email TEXT,"
	"  resource_type TEXT,"
	"  resource_subtype TEXT,"
	"  resource_gid BIGINT,"
	"  resource_name TEXT,"
	"  details TEXT NOT NULL DEFAULT '{}',"
	"  auth_method TEXT,"
	"  client_ip TEXT,"
	"  user_agent TEXT,"
	"  token_gid BIGINT);"
	"CREATE INDEX audit_log_workspace ON audit_log(workspace_gid, gid);"
	"CREATE INDEX audit_log_actor ON audit_log(workspace_gid, actor_gid, gid);"
	"CREATE INDEX audit_log_resource ON audit_log(workspace_gid, resource_gid, gid);"

	/* Admin-console sessions; hash is the keyed digest of the cookie's secret. */
	"CREATE TABLE sessions ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL,"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  hash TEXT NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  expires_at BIGINT NOT NULL,"
	"  last_seen_at BIGINT NOT NULL,"
	"  client_ip TEXT,"
	"  user_agent TEXT,"
	"  revoked_at BIGINT);"
	"CREATE INDEX sessions_user ON sessions(user_gid, gid);"

	/*
	 * Background jobs. A node claims a due job by setting claimed_by and
	 * claimed_until in one statement; a claim that ran out is taken over.
	 * state: pending, running, finished or failed.
	 */
	"CREATE TABLE jobs ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  payload TEXT NOT NULL DEFAULT '{}',"
	"  run_at BIGINT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  claimed_by INTEGER,"
	"  claimed_until BIGINT,"
	"  last_error TEXT,"
	"  created_at BIGINT NOT NULL,"
	"  finished_at BIGINT);"
	"CREATE INDEX jobs_due ON jobs(state, run_at);";

/* Profile photos as PNG bytes, one row per size; BLOB and BYTEA differ by engine. */
static const char m3_photos_sqlite[] =
	"CREATE TABLE photos ("
	"  photo_key TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  workspace_gid BIGINT NOT NULL,"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  png BLOB NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  PRIMARY KEY (photo_key, size));"
	"CREATE INDEX photos_user ON photos(user_gid);";

static const char m3_photos_pgsql[] =
	"CREATE TABLE photos ("
	"  photo_key TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  workspace_gid BIGINT NOT NULL,"
	"  user_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  png BYTEA NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  PRIMARY KEY (photo_key, size));"
	"CREATE INDEX photos_user ON photos(user_gid);";

/*
 * Failed admin-console sign-ins, counted per e-mail address and per client
 * IP over a sliding window to throttle password guessing on every node that
 * shares the database. Rows are not bound to an organization because an
 * e-mail address that was tried may belong to none; rows older than the
 * window are deleted as new failures arrive.
 */
static const char m4_login_failures[] =
	"CREATE TABLE login_failures ("
	"  gid BIGINT PRIMARY KEY,"
	"  email_lower TEXT NOT NULL,"
	"  client_ip TEXT NOT NULL,"
	"  created_at BIGINT NOT NULL);"
	"CREATE INDEX login_failures_email ON login_failures(email_lower, created_at);"
	"CREATE INDEX login_failures_ip ON login_failures(client_ip, created_at);"
	"CREATE INDEX login_failures_time ON login_failures(created_at);";

/*
 * Node-id leases: which process may mint gids with which node id. A row is
 * live until expires_at and renewed by its holder. It is server-wide state
 * of the kontor processes, not organization data, so it has no workspace_gid.
 */
static const char m5_node_leases[] =
	"CREATE TABLE node_leases ("
	"  node_id INTEGER PRIMARY KEY,"
	"  holder TEXT NOT NULL,"
	"  expires_at BIGINT NOT NULL);";

/* Project and section task lists page in (section, position, task) order. */
static const char m6_task_order[] =
	"CREATE INDEX task_projects_order ON task_projects(project_gid, section_gid, position, task_gid);"
	"CREATE INDEX task_projects_section_order ON task_projects(section_gid, position, task_gid);";

/*
 * Organization exports: one row per requested export, and the produced
 * gzip file in chunks of EXPORT_CHUNK_BYTES, so that any node sharing the
 * database can serve the download. state: pending, started, finished or
 * error, as the API shows it. data_expires_at: when the chunks are deleted.
 */
#define M9_EXPORTS(blob_type)                                                                            \
	"CREATE TABLE organization_exports ("                                                            \
	"  gid BIGINT PRIMARY KEY,"                                                                      \
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"                                    \
	"  state TEXT NOT NULL,"                                                                         \
	"  requested_by BIGINT,"                                                                         \
	"  job_gid BIGINT,"                                                                              \
	"  row_count BIGINT NOT NULL DEFAULT 0,"                                                         \
	"  size_bytes BIGINT NOT NULL DEFAULT 0,"                                                        \
	"  chunk_count INTEGER NOT NULL DEFAULT 0,"                                                      \
	"  error TEXT,"                                                                                  \
	"  created_at BIGINT NOT NULL,"                                                                  \
	"  started_at BIGINT,"                                                                           \
	"  finished_at BIGINT,"                                                                          \
	"  data_expires_at BIGINT,"                                                                      \
	"  data_deleted INTEGER NOT NULL DEFAULT 0);"                                                    \
	"CREATE INDEX organization_exports_workspace ON organization_exports(workspace_gid, gid);"       \
	"CREATE TABLE organization_export_chunks ("                                                      \
	"  export_gid BIGINT NOT NULL REFERENCES organization_exports(gid),"                             \
	"  seq INTEGER NOT NULL,"                                                                        \
	"  workspace_gid BIGINT NOT NULL,"                                                               \
	"  data " blob_type " NOT NULL,"                                                                 \
	"  PRIMARY KEY (export_gid, seq));"

static const char m9_exports_sqlite[] = M9_EXPORTS("BLOB");
static const char m9_exports_pgsql[] = M9_EXPORTS("BYTEA");

const struct db_migration db_migrations[] = {
	{ 1, "core", m1_core, NULL, NULL },
	{ 2, "service_accounts", m2_service_accounts, NULL, NULL },
	{ 3, "photos", NULL, m3_photos_sqlite, m3_photos_pgsql },
	{ 4, "login_failures", m4_login_failures, NULL, NULL },
	{ 5, "node_leases", m5_node_leases, NULL, NULL },
	{ 6, "task_order", m6_task_order, NULL, NULL },
	{ 9, "organization_exports", NULL, m9_exports_sqlite, m9_exports_pgsql },
};

const int db_migration_count = sizeof(db_migrations) / sizeof(db_migrations[0]);
