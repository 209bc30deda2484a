#!/usr/bin/env node
'use strict';
// A rule triggered by an action: when a task is added to a project without
// an assignee, assign it to the project's owner and say so in a comment.
//
// The script is its own webhook receiver. It listens for HTTP, registers a
// webhook on the project (answering kontor's X-Hook-Secret handshake only
// while that request is waiting), checks X-Hook-Signature on every delivery,
// confirms through the API that a task is in the project, and acts through
// the official `asana` client. On SIGINT or SIGTERM it deletes the webhook and exits.
//
// Environment:
//   KONTOR_URL     kontor's base URL, such as https://kontor.example.com
//   KONTOR_TOKEN   a service-account token (permission full)
//   PROJECT_GID    the project to watch
//   LISTEN         HOST:PORT to receive deliveries on (default 127.0.0.1:8090)
//   TARGET_URL     the URL kontor posts to (default http://LISTEN/receive);
//                  set it when a proxy or tunnel stands in front of LISTEN

const crypto = require('node:crypto');
const http = require('node:http');
const Asana = require('asana');
const { UsageError, parseOptions } = require('../lib/kontor');

const USAGE = `usage: assign-new-tasks.js [--help]

Watches PROJECT_GID through a webhook and assigns each new task without an
assignee to the project's owner. Settings come from the environment:
  KONTOR_URL     kontor's base URL (required)
  KONTOR_TOKEN   a service-account token with full (required)
  PROJECT_GID    the project to watch (required)
  LISTEN         HOST:PORT to receive deliveries on (default 127.0.0.1:8090)
  TARGET_URL     the URL kontor posts to (default http://LISTEN/receive)
`;

try {
	parseOptions(USAGE, {});
} catch (err) {
	if (!(err instanceof UsageError)) {
		throw err;
	}
	process.stderr.write(`error: ${err.message}\n\n${USAGE}`);
	process.exit(2);
}

function required(name) {
	const value = process.env[name];
	if (!value) {
		console.error(`assign-new-tasks: ${name} is not set; see the README for the variables`);
		process.exit(2);
	}
	return value;
}

const baseUrl = required('KONTOR_URL').replace(/\/+$/, '');
const token = required('KONTOR_TOKEN');
const projectGid = required('PROJECT_GID');
const listen = process.env.LISTEN || '127.0.0.1:8090';
const [listenHost, listenPort] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
const targetUrl = process.env.TARGET_URL || `http://${listen}/receive`;

const client = new Asana.ApiClient();
client.basePath = baseUrl + '/api/1.0';
client.authentications.token.accessToken = token;
const tasks = new Asana.TasksApi(client);
const projects = new Asana.ProjectsApi(client);
const stories = new Asana.StoriesApi(client);
const webhooks = new Asana.WebhooksApi(client);

let secret = null; // from the handshake; kontor signs every delivery with it
let handshakeOpen = false; // true only while our own createWebhook request is waiting for kontor
let handshakes = 0; // handshakes received while it was open; more than one means someone else sent one
let webhookGid = null;
const handled = new Set(); // deliveries are at least once: act on each task once

// True when `signature` is the hex HMAC-SHA256 of `raw` under the secret. Never throws: a header that
// is not 64 hex digits fails before the comparison, so both buffers always hold 32 bytes.
function signatureValid(raw, signature) {
	if (!secret || typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) {
		return false;
	}
	const expected = crypto.createHmac('sha256', secret).update(raw).digest();
	return crypto.timingSafeEqual(Buffer.from(signature, 'hex'), expected);
}

// Assigns one new task to the project owner when it has no assignee.
async function handleNewTask(taskGid) {
	if (handled.has(taskGid)) {
		return;
	}
	handled.add(taskGid);
	// Act on what kontor says now, not on the event: the task must really be in the watched project.
	const task = (await tasks.getTask(taskGid, { opt_fields: 'name,assignee,projects' })).data;
	if (!(task.projects || []).some((p) => p.gid === projectGid)) {
		console.log(`task ${taskGid} ignored: it is not in project ${projectGid}`);
		return;
	}
	if (task.assignee) {
		return;
	}
	const owner = (await projects.getProject(projectGid, { opt_fields: 'name,owner,owner.name' })).data.owner;
	if (!owner) {
		console.log(`task ${taskGid} left unassigned: the project has no owner`);
		return;
	}
	await tasks.updateTask({ data: { assignee: owner.gid } }, taskGid, {});
	await stories.createStoryForTask({
		data: { text: `Assigned to ${owner.name}, the project owner, because the task had no assignee.` },
	}, taskGid, {});
	console.log(`assigned task ${taskGid} to ${owner.gid}`);
}

function handleEvents(events) {
	for (const event of events) {
		const isNewTask = event.action === 'added' && event.resource && event.resource.resource_type === 'task' &&
			event.parent && event.parent.resource_type === 'project' && event.parent.gid === projectGid;
		if (isNewTask) {
			handleNewTask(event.resource.gid).catch((err) => {
				handled.delete(event.resource.gid); // a later delivery of the same event may try again
				console.error(`task ${event.resource.gid}: ${err.status || ''} ${err.message}`);
			});
		}
	}
}

const server = http.createServer((req, res) => {
	const chunks = [];
	let size = 0;
	req.on('data', (chunk) => {
		size += chunk.length;
		if (size > 1 << 20) {
			req.destroy(); // deliveries are far smaller; refuse anything huge
			return;
		}
		chunks.push(chunk);
	});
	req.on('end', () => {
		if (req.method !== 'POST') {
			res.writeHead(405).end();
			return;
		}
		const handshake = req.headers['x-hook-secret'];
		if (handshake !== undefined) {
			// kontor sends the handshake during our createWebhook request and never again, so a
			// handshake at any other time is someone trying to replace the secret.
			if (!handshakeOpen) {
				res.writeHead(403).end('no webhook is being created');
				return;
			}
			handshakes++;
			secret = handshake;
			res.writeHead(200, { 'X-Hook-Secret': handshake }).end();
			return;
		}
		const raw = Buffer.concat(chunks);
		if (!signatureValid(raw, req.headers['x-hook-signature'])) {
			res.writeHead(401).end('invalid X-Hook-Signature');
			return;
		}
		// Answer first: kontor waits at most a few seconds and retries otherwise.
		res.writeHead(200).end();
		let body;
		try {
			body = JSON.parse(raw.toString('utf8'));
		} catch {
			return;
		}
		handleEvents(Array.isArray(body.events) ? body.events : []);
	});
});

async function shutdown(code = 0) {
	server.close();
	if (webhookGid) {
		try {
			await webhooks.deleteWebhook(webhookGid);
			console.log(`deleted webhook ${webhookGid}`);
		} catch (err) {
			console.error(`cannot delete webhook ${webhookGid}: ${err.status || ''} ${err.message}`);
		}
	}
	process.exit(code);
}

server.listen(listenPort, listenHost, async () => {
	try {
		handshakeOpen = true;
		const created = await webhooks.createWebhook({
			data: { resource: projectGid, target: targetUrl, filters: [{ resource_type: 'task', action: 'added' }] },
		}, {});
		handshakeOpen = false;
		webhookGid = created.data.gid;
		if (handshakes !== 1) {
			// Another client sent a handshake while ours was open: the secret may be theirs.
			console.error(`${handshakes} handshakes arrived while creating the webhook; the secret cannot be trusted`);
			await shutdown(1);
			return;
		}
		console.log(`ready: webhook ${webhookGid} watches project ${projectGid}`);
	} catch (err) {
		handshakeOpen = false;
		const detail = err.response && err.response.body ? JSON.stringify(err.response.body) : err.message;
		console.error(`cannot create the webhook: ${err.status || ''} ${detail}`);
		process.exit(1);
	}
});
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
