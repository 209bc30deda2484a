#!/usr/bin/env node
'use strict';
// A rule triggered by an action: when a task is added to a project without
// an assignee, assign it to the project's owner and say so in a comment.
//
// The script is its own webhook receiver. It listens for HTTP, registers a
// webhook on the project (answering kontor's X-Hook-Secret handshake), checks
// X-Hook-Signature on every delivery, and acts through the official `asana`
// client. On SIGINT or SIGTERM it deletes the webhook and exits.
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
let webhookGid = null;
const handled = new Set(); // deliveries are at least once: act on each task once

function signatureValid(raw, signature) {
	if (!secret || typeof signature !== 'string') {
		return false;
	}
	const expected = crypto.createHmac('sha256', secret).update(raw).digest('hex');
	return signature.length === expected.length && crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

// Assigns one new task to the project owner when it has no assignee.
async function handleNewTask(taskGid) {
	if (handled.has(taskGid)) {
		return;
	}
	handled.add(taskGid);
	const task = (await tasks.getTask(taskGid, { opt_fields: 'name,assignee' })).data;
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

async function shutdown() {
	server.close();
	if (webhookGid) {
		try {
			await webhooks.deleteWebhook(webhookGid);
			console.log(`deleted webhook ${webhookGid}`);
		} catch (err) {
			console.error(`cannot delete webhook ${webhookGid}: ${err.status || ''} ${err.message}`);
		}
	}
	process.exit(0);
}

server.listen(listenPort, listenHost, async () => {
	try {
		const created = await webhooks.createWebhook({
			data: { resource: projectGid, target: targetUrl, filters: [{ resource_type: 'task', action: 'added' }] },
		}, {});
		webhookGid = created.data.gid;
		console.log(`ready: webhook ${webhookGid} watches project ${projectGid}`);
	} catch (err) {
		const detail = err.response && err.response.body ? JSON.stringify(err.response.body) : err.message;
		console.error(`cannot create the webhook: ${err.status || ''} ${detail}`);
		process.exit(1);
	}
});
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
