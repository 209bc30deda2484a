/*
 * The schema. Conventions: every row carries workspace_gid, the gid of its
 * organization, and every query filters on it. gids are BIGINT, times are
 * BIGINT microseconds since the Unix epoch, booleans are INTEGER 0 or 1, and
 * secrets are stored only as hex digests. Migrations are append-only: a
 * released migration is never edited, a new one is added.
 */
#include "store/migrations.h"

#include "store/db.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * The change log for the events API and webhooks (see store/events.h).
 * events is append-only; event_targets files each event under every
 * resource it bubbles up to. Old rows are pruned by a job after the
 * retention the readers promise (sync tokens live 24 hours, webhook
 * retries 24 hours).
 */
static const char m7_events[] =
	"CREATE TABLE event_counters ("
	"  workspace_gid BIGINT PRIMARY KEY,"
	"  last_seq BIGINT NOT NULL);"
	"CREATE TABLE events ("
	"  workspace_gid BIGINT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  actor_gid BIGINT,"
	"  resource_type TEXT NOT NULL,"
	"  resource_subtype TEXT,"
	"  resource_gid BIGINT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  parent_type TEXT,"
	"  parent_gid BIGINT,"
	"  change_field TEXT,"
	"  change_action TEXT,"
	"  value_type TEXT,"
	"  value_gid BIGINT,"
	"  PRIMARY KEY (workspace_gid, seq));"
	"CREATE INDEX events_time ON events(created_at);"
	"CREATE TABLE event_targets ("
	"  target_gid BIGINT NOT NULL,"
	"  workspace_gid BIGINT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  PRIMARY KEY (target_gid, workspace_gid, seq));";

/*
 * Audit log streaming and append-only enforcement. `seq` numbers each
 * organization's records in commit order: store_audit_append takes the next
 * value from the organization's audit_counters row, whose row lock is held
 * until commit, so a reader that has seen seq N has seen every record below
 * N as well (gids are time-ordered but concurrent transactions can commit out
 * of gid order). Existing rows are numbered in gid order. The triggers reject
 * every UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) of audit_log; the
 * backfill runs before they exist. resource_email keeps the address of a
 * user resource as it was when the record was written.
 */
#define M11_AUDIT_COMMON \
	"ALTER TABLE audit_log ADD COLUMN seq BIGINT;" \
	"ALTER TABLE audit_log ADD COLUMN resource_email TEXT;" \
	"UPDATE audit_log SET seq = numbered.n FROM (SELECT gid, row_number() OVER" \
	"  (PARTITION BY workspace_gid ORDER BY gid) AS n FROM audit_log) numbered" \
	"  WHERE numbered.gid = audit_log.gid;" \
	"CREATE TABLE audit_counters (" \
	"  workspace_gid BIGINT PRIMARY KEY," \
	"  last_seq BIGINT NOT NULL);" \
	"INSERT INTO audit_counters (workspace_gid, last_seq)" \
	"  SELECT workspace_gid, max(seq) FROM audit_log GROUP BY workspace_gid;" \
	"DROP INDEX audit_log_workspace;" \
	"DROP INDEX audit_log_actor;" \
	"DROP INDEX audit_log_resource;" \
	"CREATE UNIQUE INDEX audit_log_seq ON audit_log(workspace_gid, seq);" \
	"CREATE INDEX audit_log_actor ON audit_log(workspace_gid, actor_gid, seq);" \
	"CREATE INDEX audit_log_resource ON audit_log(workspace_gid, resource_gid, seq);" \
	"CREATE INDEX audit_log_token ON audit_log(workspace_gid, token_gid, seq);" \
	"CREATE INDEX audit_log_event_type ON audit_log(workspace_gid, event_type, seq);"

static const char m11_audit_stream_sqlite[] =
	M11_AUDIT_COMMON
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE is not allowed'); END;";

static const char m11_audit_stream_pgsql[] =
	M11_AUDIT_COMMON
	"ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL;"
	"CREATE FUNCTION audit_log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$"
	"  BEGIN RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP; END $$;"
	"CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log"
	"  FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change();"
	"CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
	"  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();";

/*
 * Status updates on projects (Asana's project_status_update). Deleting a
 * project deletes its status updates through the cascade.
 * status_type: on_track, at_risk, off_track, on_hold, complete or dropped.
 */
static const char m12_status_updates[] =
	"CREATE TABLE status_updates ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL,"
	"  parent_gid BIGINT NOT NULL REFERENCES projects(gid) ON DELETE CASCADE,"
	"  resource_subtype TEXT NOT NULL,"
	"  title TEXT NOT NULL DEFAULT '',"
	"  text TEXT NOT NULL,"
	"  html_text TEXT NOT NULL,"
	"  status_type TEXT NOT NULL,"
	"  created_by BIGINT,"
	"  created_at BIGINT NOT NULL,"
	"  modified_at BIGINT NOT NULL);"
	"CREATE INDEX status_updates_parent ON status_updates(parent_gid, gid);";

/*
 * SCIM provisioning. deprovision_owner_gid is the user who receives the
 * tasks and owned projects of people that SCIM deprovisions (NULL: they are
 * left unassigned and without owner). scim_users and scim_groups keep the
 * SCIM attributes kontor's own rows have no place for; deleted_at hides a
 * user or team from SCIM after a DELETE while kontor keeps the row.
 */
static const char m10_scim[] =
	"ALTER TABLE workspaces ADD COLUMN deprovision_owner_gid BIGINT;"

	"CREATE TABLE scim_users ("
	"  user_gid BIGINT PRIMARY KEY REFERENCES users(gid),"
	"  workspace_gid BIGINT NOT NULL,"
	"  external_id TEXT,"
	"  given_name TEXT,"
	"  family_name TEXT,"
	"  deleted_at BIGINT,"
	"  modified_at BIGINT NOT NULL);"
	"CREATE INDEX scim_users_external_id ON scim_users(workspace_gid, external_id);"

	"CREATE TABLE scim_groups ("
	"  team_gid BIGINT PRIMARY KEY REFERENCES teams(gid),"
	"  workspace_gid BIGINT NOT NULL,"
	"  external_id TEXT,"
	"  deleted_at BIGINT,"
	"  modified_at BIGINT NOT NULL);"
	"CREATE INDEX scim_groups_external_id ON scim_groups(workspace_gid, external_id);";

/*
 * The prune job and readers that look for the oldest kept target find an
 * organization's event_targets rows by seq; the primary key starts with
 * target_gid, so they need this index.
 */
static const char m14_event_targets_seq[] = "CREATE INDEX event_targets_seq ON event_targets(workspace_gid, seq);";

/*
 * Webhooks (jobs/webhooks.h). cursor_seq is the last event seq delivered
 * (or skipped by the filters); it moves only after the target answered 2xx.
 * sealed_secret is the signing secret encrypted with a key derived from the
 * pepper: delivery needs the clear secret to sign each body, so a digest
 * would not do. A delivery worker claims a due webhook (next_attempt_at)
 * with claimed_by and claimed_until, as jobs are claimed. first_failure_at
 * starts the current failure streak; the webhook is disabled when the
 * streak lasts too long. resource_type is the subscribed resource's type.
 */
static const char m8_webhooks[] =
	"CREATE TABLE webhooks ("
	"  gid BIGINT PRIMARY KEY,"
	"  workspace_gid BIGINT NOT NULL REFERENCES workspaces(gid),"
	"  owner_gid BIGINT NOT NULL REFERENCES users(gid),"
	"  resource_gid BIGINT NOT NULL,"
	"  resource_type TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  sealed_secret TEXT NOT NULL,"
	"  filters TEXT NOT NULL DEFAULT '[]',"
	"  active INTEGER NOT NULL DEFAULT 1,"
	"  cursor_seq BIGINT NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  last_success_at BIGINT,"
	"  last_failure_at BIGINT,"
	"  last_failure_content TEXT,"
	"  delivery_retry_count INTEGER NOT NULL DEFAULT 0,"
	"  first_failure_at BIGINT,"
	"  next_attempt_at BIGINT NOT NULL,"
	"  last_sent_at BIGINT NOT NULL,"
	"  claimed_by INTEGER,"
	"  claimed_until BIGINT);"
	"CREATE INDEX webhooks_workspace ON webhooks(workspace_gid, gid);"
	"CREATE INDEX webhooks_resource ON webhooks(workspace_gid, resource_gid, gid);"
	"CREATE INDEX webhooks_due ON webhooks(active, next_attempt_at);";

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

/*
 * The project a system story names (added_to_project, removed_from_project,
 * section_changed), so that its text is shown without the project's and
 * sections' names to readers who cannot see that project. Rows written
 * before this column existed keep NULL and are shown with their stored text.
 */
static const char m18_story_project[] = "ALTER TABLE stories ADD COLUMN project_gid BIGINT;";

/*
 * Closes two ways around migration 11's triggers. On SQLite, INSERT OR
 * REPLACE (and REPLACE) deletes the conflicting row without firing DELETE
 * triggers while recursive_triggers is off, so an insert that reuses an
 * existing gid or (workspace_gid, seq) is rejected before it happens. On
 * PostgreSQL, a superuser's session_replication_role = replica skips
 * ordinary triggers, so these fire in every replication role.
 */
static const char m19_audit_no_overwrite_sqlite[] =
	"CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log"
	"  WHEN EXISTS (SELECT 1 FROM audit_log WHERE gid = NEW.gid)"
	"    OR EXISTS (SELECT 1 FROM audit_log WHERE workspace_gid = NEW.workspace_gid AND seq = NEW.seq)"
	"  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: a record with this gid or seq exists'); END;";

static const char m19_audit_no_overwrite_pgsql[] =
	"ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_change;"
	"ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;";

/*
 * A table rebuild on SQLite: a new table under a changed definition, the
 * rows copied, the old table dropped and the new one renamed, then the old
 * table's indexes and triggers created again. The definition is read from
 * sqlite_master, so a rebuild keeps every column (including any that later
 * migrations add), index and trigger. PostgreSQL keeps its tables.
 */
#define REBUILD_TEMP "kontor_table_rebuild"
#define REBUILD_SQL_MAX 64

/*
 * Turns a table's CREATE TABLE text into the definition of the rebuilt
 * table: the column list and table options that follow the table name.
 * Returns a new string (the caller frees it), or NULL with *status_r
 * DB_OK when the table already has the wanted definition, or DB_ERROR.
 */
typedef char *(*rebuild_definition)(const char *create, int *status_r);

/* Runs `before` TABLE `after` for a table name of a fixed list. Returns a db status. */
static int rebuild_exec(db_conn *c, const char *before, const char *table, const char *after)
{
	char sql[256];
	int n = snprintf(sql, sizeof(sql), "%s%s%s", before, table, after);

	if (n < 0 || (size_t)n >= sizeof(sql))
		return DB_ERROR;
	return db_exec(c, sql);
}

/* Rebuilds one table under the definition `define` makes of its current one. Returns a db status. */
static int rebuild_table(db_conn *c, const char *table, rebuild_definition define)
{
	char *create = NULL, *definition = NULL, *others[REBUILD_SQL_MAX] = { 0 };
	size_t other_count = 0;
	const char *text;
	int status = DB_ERROR;
	db_stmt *s;

	/* The table's definition, as SQLite stores it. */
	s = db_query(c, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, table);
	if (db_step(s) == DB_ROW) {
		text = db_column_text(s, 0);
		create = text != NULL ? strdup(text) : NULL;
	}
	db_stmt_done(s);
	if (create == NULL)
		return DB_ERROR;
	definition = define(create, &status);
	if (definition == NULL) {
		free(create);
		return status;
	}

	/* Its indexes and triggers, which DROP TABLE removes with it. */
	s = db_query(c, "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger')"
			" AND sql IS NOT NULL");
	if (s == NULL)
		goto done;
	db_bind_text(s, 0, table);
	for (;;) {
		status = db_step(s);
		if (status != DB_ROW)
			break;
		text = db_column_text(s, 0);
		if (other_count == REBUILD_SQL_MAX || text == NULL) {
			status = DB_ERROR;
			break;
		}
		others[other_count] = strdup(text);
		if (others[other_count++] == NULL) {
			status = DB_ERROR;
			break;
		}
	}
	db_stmt_done(s);
	if (status != DB_DONE) {
		status = DB_ERROR;
		goto done;
	}

	{
		size_t len = strlen("CREATE TABLE " REBUILD_TEMP " ") + strlen(definition) + 1;
		char *sql = malloc(len);

		if (sql == NULL) {
			status = DB_ERROR;
			goto done;
		}
		snprintf(sql, len, "CREATE TABLE " REBUILD_TEMP " %s", definition);
		status = db_exec(c, sql);
		free(sql);
	}
	if (status == DB_OK)
		status = rebuild_exec(c, "INSERT INTO " REBUILD_TEMP " SELECT * FROM ", table, "");
	if (status == DB_OK)
		status = rebuild_exec(c, "DROP TABLE ", table, "");
	if (status == DB_OK)
		status = rebuild_exec(c, "ALTER TABLE " REBUILD_TEMP " RENAME TO ", table, "");
	for (size_t i = 0; i < other_count && status == DB_OK; i++)
		status = db_exec(c, others[i]);

done:
	for (size_t i = 0; i < other_count; i++)
		free(others[i]);
	free(definition);
	free(create);
	return status;
}

/* Rebuilds every table of `tables` (NULL-terminated). Returns a db status. */
static int rebuild_tables(db_conn *c, const char *const *tables, rebuild_definition define)
{
	for (const char *const *table = tables; *table != NULL; table++) {
		int status = rebuild_table(c, *table, define);

		if (status != DB_OK)
			return status;
	}
	return DB_OK;
}

/*
 * On SQLite, `gid BIGINT PRIMARY KEY` is a unique index beside the table's
 * own rowid, so every lookup by gid descends two B-trees. Only
 * `INTEGER PRIMARY KEY` makes the gid the rowid itself. m16 rebuilds the
 * tables the API reads by gid on every request under that definition.
 */
static const char *const m16_tables[] = {
	"workspaces", "users", "projects", "sections", "tags", "tokens", "tasks", NULL,
};

#define M16_OLD_KEY "gid BIGINT PRIMARY KEY"
#define M16_NEW_KEY "gid INTEGER PRIMARY KEY"

static char *m16_definition(const char *create, int *status_r)
{
	const char *key = strstr(create, M16_OLD_KEY), *open = strchr(create, '(');
	size_t len;
	char *definition;

	/* Already a rowid alias, or defined some other way: the table stays as it is. */
	*status_r = DB_OK;
	if (key == NULL)
		return NULL;
	*status_r = DB_ERROR;
	if (open == NULL || open > key)
		return NULL;
	len = strlen(open) + strlen(M16_NEW_KEY) + 1;
	definition = malloc(len);
	if (definition != NULL)
		snprintf(definition, len, "%.*s%s%s", (int)(key - open), open, M16_NEW_KEY, key + strlen(M16_OLD_KEY));
	return definition;
}

static int m16_rowid_gids(db_conn *c)
{
	return rebuild_tables(c, m16_tables, m16_definition);
}

/*
 * A task's followers, tags and projects are read with every task, by
 * task_gid. In an ordinary SQLite table each such read finds the key in
 * the primary-key index and then the row in the table: two B-trees per
 * row. m20 clusters these tables on their primary key (WITHOUT ROWID), so
 * each row is found in one, which takes about a twentieth of the
 * instructions of GET /tasks/{gid}. PostgreSQL stores tables apart from
 * indexes and keeps its own.
 */
static const char *const m20_tables[] = { "task_followers", "task_tags", "task_projects", NULL };

static char *m20_definition(const char *create, int *status_r)
{
	const char *open = strchr(create, '(');
	const char *close = strrchr(create, ')');
	size_t len;
	char *definition;

	*status_r = DB_OK;
	if (strstr(create, "WITHOUT ROWID") != NULL)
		return NULL;
	*status_r = DB_ERROR;
	if (open == NULL || close == NULL || close < open)
		return NULL;
	len = (size_t)(close - open) + 1 + strlen(" WITHOUT ROWID") + 1;
	definition = malloc(len);
	if (definition != NULL)
		snprintf(definition, len, "%.*s WITHOUT ROWID", (int)(close - open) + 1, open);
	return definition;
}

static int m20_clustered_links(db_conn *c)
{
	return rebuild_tables(c, m20_tables, m20_definition);
}

const struct db_sqlite_rebuild db_sqlite_rebuilds[] = {
	{ 16, m16_rowid_gids },
	{ 20, m20_clustered_links },
};

const int db_sqlite_rebuild_count = sizeof(db_sqlite_rebuilds) / sizeof(db_sqlite_rebuilds[0]);

const struct db_migration db_migrations[] = {
	{ 1, "core", m1_core, NULL, NULL },
	{ 2, "service_accounts", m2_service_accounts, NULL, NULL },
	{ 3, "photos", NULL, m3_photos_sqlite, m3_photos_pgsql },
	{ 4, "login_failures", m4_login_failures, NULL, NULL },
	{ 5, "node_leases", m5_node_leases, NULL, NULL },
	{ 6, "task_order", m6_task_order, NULL, NULL },
	{ 7, "events", m7_events, NULL, NULL },
	{ 8, "webhooks", m8_webhooks, NULL, NULL },
	{ 9, "organization_exports", NULL, m9_exports_sqlite, m9_exports_pgsql },
	{ 10, "scim", m10_scim, NULL, NULL },
	{ 11, "audit_stream", NULL, m11_audit_stream_sqlite, m11_audit_stream_pgsql },
	{ 12, "status_updates", m12_status_updates, NULL, NULL },
	{ 14, "event_targets_seq", m14_event_targets_seq, NULL, NULL },
	/* SQLite runs m16_rowid_gids in place of this text (db_sqlite_rebuilds); PostgreSQL has nothing to do. */
	{ 16, "rowid_gids", "SELECT 1", NULL, NULL },
	{ 18, "story_project", m18_story_project, NULL, NULL },
	{ 19, "audit_no_overwrite", NULL, m19_audit_no_overwrite_sqlite, m19_audit_no_overwrite_pgsql },
	/* SQLite runs m20_clustered_links in place of this text; PostgreSQL has nothing to do. */
	{ 20, "clustered_links", "SELECT 1", NULL, NULL },
};

const int db_migration_count = sizeof(db_migrations) / sizeof(db_migrations[0]);
