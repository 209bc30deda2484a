#!/usr/bin/env node
'use strict';
// Makes the members of each team named in a mapping file exactly the people
// the file lists for it: adds the missing ones and removes the others.
// Teams the file does not name are left alone. See README.md beside this file.

const fs = require('node:fs');
const {
	UsageError,
	CheckError,
	call,
	connect,
	allPages,
	organizationGid,
	parseOptions,
	main,
	isEmail,
} = require('../lib/kontor');

const USAGE = `usage: sync-teams.js --mapping FILE [--dry-run]

  --mapping FILE   JSON object from team name to the e-mail addresses of its
                   members: {"Ekonomi": ["anna@example.com", ...], ...}
  --dry-run        print the plan and change nothing

Environment: KONTOR_URL, KONTOR_TOKEN (a service account with full access),
KONTOR_WORKSPACE (optional).
`;

// Returns the keys of the top-level object of `text`, which JSON.parse has
// already accepted, in order and with repeats: JSON.parse keeps only the last
// value of a repeated key, so a repeat would otherwise go unseen.
function topLevelKeys(text) {
	const keys = [];
	let depth = 0;
	for (let i = 0; i < text.length; i++) {
		const ch = text[i];
		if (ch === '{' || ch === '[') {
			depth++;
		} else if (ch === '}' || ch === ']') {
			depth--;
		} else if (ch === '"') {
			let end = i + 1;
			while (text[end] !== '"') {
				end += text[end] === '\\' ? 2 : 1;
			}
			const literal = text.slice(i, end + 1);
			i = end;
			if (depth === 1 && /^\s*:/.test(text.slice(end + 1, end + 64))) {
				keys.push(JSON.parse(literal));
			}
		}
	}
	return keys;
}

// Reads the mapping into a Map from team name to a Set of lower-case e-mail addresses.
function readMapping(file) {
	let document;
	let text;
	try {
		text = fs.readFileSync(file, 'utf8');
		document = JSON.parse(text);
	} catch (err) {
		if (err instanceof SyntaxError) {
			throw new CheckError(`${file}: invalid JSON: ${err.message}`);
		}
		throw new UsageError(`failed to read ${file}: ${err.code || err.message}`);
	}
	if (document === null || typeof document !== 'object' || Array.isArray(document)) {
		throw new CheckError(`${file}: expected a JSON object from team name to a list of e-mail addresses`);
	}

	const seen = new Set();
	for (const key of topLevelKeys(text)) {
		if (seen.has(key)) {
			throw new CheckError(`${file}: team "${key}" is listed twice; merge its lists into one entry`);
		}
		seen.add(key);
	}

	const mapping = new Map();
	for (const [team, emails] of Object.entries(document)) {
		if (!Array.isArray(emails)) {
			throw new CheckError(`${file}: "${team}" must map to a list of e-mail addresses`);
		}
		const members = new Set();
		for (const email of emails) {
			if (typeof email !== 'string' || !isEmail(email.trim())) {
				throw new CheckError(`${file}: "${team}": ${JSON.stringify(email)} is not an e-mail address`);
			}
			members.add(email.trim().toLowerCase());
		}
		mapping.set(team, members);
	}
	return mapping;
}

async function run() {
	const options = parseOptions(USAGE, {
		mapping: { type: 'string' },
		'dry-run': { type: 'boolean' },
	});
	if (!options.mapping) {
		throw new UsageError('--mapping is required');
	}
	const dryRun = Boolean(options['dry-run']);
	const mapping = readMapping(options.mapping);

	const asana = connect();
	const workspace = await organizationGid(asana);

	// Teams by name; a name that two teams share cannot be mapped safely.
	const teams = await allPages(`GET /workspaces/${workspace}/teams`, (opts) =>
		new asana.TeamsApi().getTeamsForWorkspace(workspace, opts), { opt_fields: 'name' });
	const teamsByName = new Map();
	for (const team of teams) {
		teamsByName.set(team.name, [...(teamsByName.get(team.name) || []), team]);
	}

	// Active people by e-mail address.
	const memberships = await allPages(`GET /workspaces/${workspace}/workspace_memberships`, (opts) =>
		new asana.WorkspaceMembershipsApi().getWorkspaceMembershipsForWorkspace(workspace, opts), {
		opt_fields: 'user.email,is_active',
	});
	const people = new Map();
	for (const m of memberships) {
		if (m.is_active && m.user && m.user.email) {
			people.set(m.user.email.toLowerCase(), m.user.gid);
		}
	}

	// Every name and address is checked before anything changes.
	const problems = [];
	for (const [name, emails] of mapping) {
		const matches = teamsByName.get(name) || [];
		if (matches.length === 0) {
			problems.push(`no team is named "${name}"; create it first or fix the name`);
		} else if (matches.length > 1) {
			problems.push(`${matches.length} teams are named "${name}"; rename one so the name is unique`);
		}
		for (const email of emails) {
			if (!people.has(email)) {
				problems.push(`"${name}": ${email} is not an active member of the organization; add the person first`);
			}
		}
	}
	if (problems.length) {
		throw new CheckError(problems.join('\nerror: ') + '\nnothing changed');
	}

	// Plan: the difference between each team's members and its list.
	const plan = [];
	for (const [name, emails] of mapping) {
		const team = teamsByName.get(name)[0];
		const current = await allPages(`GET /teams/${team.gid}/users`, (opts) =>
			new asana.UsersApi().getUsersForTeam(team.gid, opts), { opt_fields: 'email' });
		const currentEmails = new Set(current.map((u) => u.email.toLowerCase()));
		for (const email of emails) {
			if (!currentEmails.has(email)) {
				plan.push({ action: 'add', team, email, user: people.get(email) });
			}
		}
		for (const user of current) {
			if (!emails.has(user.email.toLowerCase())) {
				plan.push({ action: 'remove', team, email: user.email.toLowerCase(), user: user.gid });
			}
		}
	}

	const prefix = dryRun ? 'would ' : '';
	for (const step of plan) {
		console.log(`${prefix}${step.action} ${step.email} ${step.action === 'add' ? 'to' : 'from'} ${step.team.name}`);
	}
	const added = plan.filter((s) => s.action === 'add').length;
	const removed = plan.length - added;
	if (dryRun) {
		console.log(`dry run: ${added} to add, ${removed} to remove in ${mapping.size} teams; nothing changed`);
		return 0;
	}

	const teamsApi = new asana.TeamsApi();
	for (const step of plan) {
		if (step.action === 'add') {
			await call(`POST /teams/${step.team.gid}/addUser ${step.email}`, () =>
				teamsApi.addUserForTeam({ data: { user: step.user } }, step.team.gid, {}));
		} else {
			await call(`POST /teams/${step.team.gid}/removeUser ${step.email}`, () =>
				teamsApi.removeUserForTeam({ data: { user: step.user } }, step.team.gid));
		}
	}
	console.log(`done: ${added} added, ${removed} removed in ${mapping.size} teams`);
	return 0;
}

main(USAGE, run);
