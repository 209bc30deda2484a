-- The rows `kontor export` writes, for `sqlite3 -json` to read in the export
-- benchmark (bench/run.sh): the same tables, columns, organization and order
-- as the sections in src/store/export.c. @org is the organization's gid.
-- Keep the two lists in step when a section changes.
SELECT gid, name, is_organization, plan, email_domains, created_at, deprovision_owner_gid FROM workspaces WHERE gid = @org;
SELECT gid, name, plan, created_at FROM divisions WHERE workspace_gid = @org ORDER BY gid;
SELECT gid, email, name, kind, photo_key, created_at, modified_at FROM users WHERE workspace_gid = @org ORDER BY gid;
SELECT user_gid, scopes, created_by, created_at, modified_at FROM service_accounts WHERE workspace_gid = @org ORDER BY user_gid;
SELECT user_gid, external_id, given_name, family_name, deleted_at, modified_at FROM scim_users WHERE workspace_gid = @org ORDER BY user_gid;
SELECT gid, user_gid, role, is_active, created_at FROM workspace_memberships WHERE workspace_gid = @org ORDER BY gid;
SELECT division_gid, user_gid FROM division_admins WHERE workspace_gid = @org ORDER BY division_gid, user_gid;
SELECT photo_key, size, user_gid, png, created_at FROM photos WHERE workspace_gid = @org ORDER BY photo_key, size;
SELECT gid, division_gid, name, description, html_description, visibility, created_at, modified_at FROM teams WHERE workspace_gid = @org ORDER BY gid;
SELECT gid, team_gid, user_gid, is_admin, is_guest, created_at FROM team_memberships WHERE workspace_gid = @org ORDER BY gid;
SELECT team_gid, external_id, deleted_at, modified_at FROM scim_groups WHERE workspace_gid = @org ORDER BY team_gid;
SELECT gid, team_gid, name, notes, html_notes, color, default_view, archived, completed, completed_at, privacy_setting, owner_gid, created_by, due_on, start_on, created_at, modified_at FROM projects WHERE workspace_gid = @org ORDER BY gid;
SELECT gid, project_gid, user_gid, access_level, created_at FROM project_memberships WHERE workspace_gid = @org ORDER BY gid;
SELECT project_gid, user_gid FROM project_followers WHERE workspace_gid = @org ORDER BY project_gid, user_gid;
SELECT gid, parent_gid, resource_subtype, title, text, html_text, status_type, created_by, created_at, modified_at FROM status_updates WHERE workspace_gid = @org ORDER BY gid;
SELECT gid, project_gid, name, position, created_at FROM sections WHERE workspace_gid = @org ORDER BY gid;
SELECT gid, name, color, notes, created_by, created_at FROM tags WHERE workspace_gid = @org ORDER BY gid;
SELECT gid, name, notes, html_notes, resource_subtype, assignee_gid, assignee_status, assigned_by, completed, completed_at, completed_by, approval_status, due_on, due_at, start_on, start_at, parent_gid, position, created_by, created_at, modified_at FROM tasks WHERE workspace_gid = @org ORDER BY gid;
SELECT task_gid, project_gid, section_gid, position FROM task_projects WHERE workspace_gid = @org ORDER BY task_gid, project_gid;
SELECT task_gid, user_gid FROM task_followers WHERE workspace_gid = @org ORDER BY task_gid, user_gid;
SELECT task_gid, tag_gid FROM task_tags WHERE workspace_gid = @org ORDER BY task_gid, tag_gid;
SELECT gid, task_gid, type, resource_subtype, text, html_text, is_pinned, is_edited, created_by, created_at FROM stories WHERE workspace_gid = @org ORDER BY gid;
SELECT seq, gid, created_at, event_type, event_category, actor_type, actor_gid, actor_name, actor_email, resource_type, resource_subtype, resource_gid, resource_name, resource_email, details, auth_method, client_ip, user_agent, token_gid FROM audit_log WHERE workspace_gid = @org ORDER BY seq;
