'use strict';
// The official `asana` npm client works against kontor with only its base URL changed.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer } = require('./lib/server');
const { Asana, asanaClient, allPages } = require('./lib/asana');

let server;
let client;

before(async () => {
	server = await startServer({ org: 'Client Org' });
	client = asanaClient(server, server.adminToken);
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('client getUser me', async () => {
	const result = await new Asana.UsersApi(client).getUser('me', {});
	assert.equal(typeof result.data.gid, 'string');
	assert.equal(result.data.email, server.adminEmail);
});

test('client getWorkspaces lists the org', async () => {
	const workspaces = await allPages(new Asana.WorkspacesApi(client).getWorkspaces({ limit: 10 }));
	const gids = workspaces.map((w) => w.gid);
	assert.deepEqual(gids, [server.orgGid]);
	assert.equal(workspaces[0].name, 'Client Org');
});

test('client rejects a bad token with 401', async () => {
	const bad = asanaClient(server, 'not-a-token');
	await assert.rejects(new Asana.UsersApi(bad).getUser('me', {}), (err) => {
		assert.equal(err.status, 401);
		assert.equal(typeof err.response.body.errors[0].message, 'string');
		return true;
	});
});

// One realistic script through the official client: team, project, sections,
// task CRUD with a section, a comment, a tag, and paging with nextPage().
test('client drives teams, projects, sections, tasks and stories', async () => {
	const teams = new Asana.TeamsApi(client);
	const projects = new Asana.ProjectsApi(client);
	const sections = new Asana.SectionsApi(client);
	const tasks = new Asana.TasksApi(client);
	const stories = new Asana.StoriesApi(client);
	const tags = new Asana.TagsApi(client);

	const team = await teams.createTeam({ data: { name: 'Client Team', organization: server.orgGid } }, {});
	assert.equal(team.data.name, 'Client Team');
	const listedTeams = await allPages(teams.getTeamsForWorkspace(server.orgGid, { limit: 5 }));
	assert.ok(listedTeams.some((t) => t.gid === team.data.gid));

	const project = await projects.createProject(
		{ data: { name: 'Client Project', workspace: server.orgGid, team: team.data.gid } },
		{},
	);
	const projectGid = project.data.gid;
	const renamed = await projects.updateProject({ data: { name: 'Client Project 2' } }, projectGid, {});
	assert.equal(renamed.data.name, 'Client Project 2');
	const fetched = await projects.getProject(projectGid, { opt_fields: 'name,team.name,owner.email' });
	assert.equal(fetched.data.team.name, 'Client Team');
	assert.equal(fetched.data.owner.email, server.adminEmail);

	const doing = await sections.createSectionForProject(projectGid, { body: { data: { name: 'Doing' } } });
	assert.equal(doing.data.name, 'Doing');
	const sectionList = await allPages(sections.getSectionsForProject(projectGid, { limit: 10 }));
	assert.ok(sectionList.some((s) => s.gid === doing.data.gid));

	const created = await tasks.createTask(
		{
			data: {
				name: 'Write the report',
				notes: 'Due Friday',
				workspace: server.orgGid,
				memberships: [{ project: projectGid, section: doing.data.gid }],
				assignee: 'me',
				due_on: '2027-01-15',
			},
		},
		{},
	);
	const taskGid = created.data.gid;
	assert.equal(created.data.assignee.gid.length > 0, true);
	assert.equal(created.data.memberships[0].section.gid, doing.data.gid);

	const updated = await tasks.updateTask({ data: { completed: true } }, taskGid, {});
	assert.equal(updated.data.completed, true);
	const read = await tasks.getTask(taskGid, { opt_fields: 'name,completed,due_on,memberships.section.name' });
	assert.equal(read.data.due_on, '2027-01-15');
	assert.equal(read.data.memberships[0].section.name, 'Doing');

	const comment = await stories.createStoryForTask({ data: { text: 'Looks good.' } }, taskGid, {});
	assert.equal(comment.data.resource_subtype, 'comment_added');
	const storyList = await allPages(stories.getStoriesForTask(taskGid, { limit: 50 }));
	assert.ok(storyList.some((s) => s.gid === comment.data.gid));
	assert.ok(storyList.some((s) => s.resource_subtype === 'marked_complete'), 'completion left no system story');

	const tag = await tags.createTag({ data: { name: 'client', workspace: server.orgGid } }, {});
	await tasks.addTagForTask({ data: { tag: tag.data.gid } }, taskGid);
	const taskTags = await allPages(tags.getTagsForTask(taskGid, { limit: 10 }));
	assert.deepEqual(taskTags.map((t) => t.gid), [tag.data.gid]);

	// 25 more tasks, then page through all 26 with the client's collection helper.
	for (let i = 0; i < 25; i++) {
		await tasks.createTask({ data: { name: `Item ${i}`, projects: [projectGid] } }, {});
	}
	const paged = await allPages(tasks.getTasksForProject(projectGid, { limit: 10 }));
	assert.equal(paged.length, 26);
	assert.equal(new Set(paged.map((t) => t.gid)).size, 26);

	await tasks.deleteTask(taskGid);
	await assert.rejects(tasks.getTask(taskGid, {}), (err) => err.status === 404);
});
