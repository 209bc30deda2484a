'use strict';
// A webhook receiver on 127.0.0.1 for tests: answers kontor's X-Hook-Secret
// handshake, records every delivery with its raw body, and can be switched
// to fail (HTTP 500), hang past kontor's timeout, or refuse the handshake.

const crypto = require('node:crypto');
const http = require('node:http');

// Start a receiver. Returns {url, deliveries, secret, handshakes, mode, verify(d), events(), close()}.
// Set `mode` to 'ok', 'fail' (500), 'hang' (no answer), 'no-echo' (handshake
// answered 200 without the header), 'wrong-echo' (handshake answered with
// another X-Hook-Secret) or 'reject' (handshake answered 403).
async function startReceiver() {
	const receiver = {
		url: null,
		mode: 'ok',
		secret: null, // the X-Hook-Secret of the last handshake
		handshakes: 0,
		handshakeHeaders: null, // the request headers of the last handshake
		deliveries: [], // {signature, raw, body, at, mode} of every delivery, whatever the reply
		hung: [], // responses held open in 'hang' mode, ended on close()
	};

	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (chunk) => chunks.push(chunk));
		req.on('end', () => {
			const raw = Buffer.concat(chunks).toString('utf8');
			const secret = req.headers['x-hook-secret'];
			if (secret !== undefined) {
				receiver.handshakes++;
				receiver.handshakeHeaders = req.headers;
				if (receiver.mode === 'hang') {
					receiver.hung.push(res);
				} else if (receiver.mode === 'reject') {
					res.writeHead(403).end('no thanks');
				} else if (receiver.mode === 'no-echo') {
					res.writeHead(200).end();
				} else if (receiver.mode === 'wrong-echo') {
					res.writeHead(200, { 'X-Hook-Secret': 'f'.repeat(64) }).end();
				} else {
					receiver.secret = secret;
					res.writeHead(204, { 'X-Hook-Secret': secret }).end();
				}
				return;
			}
			let body = null;
			try {
				body = JSON.parse(raw);
			} catch {
				body = null;
			}
			receiver.deliveries.push({ signature: req.headers['x-hook-signature'], raw, body, at: Date.now(), mode: receiver.mode });
			if (receiver.mode === 'fail') {
				res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver is down for maintenance');
			} else if (receiver.mode === 'hang') {
				receiver.hung.push(res);
			} else {
				res.writeHead(200).end();
			}
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	receiver.url = `http://127.0.0.1:${server.address().port}/hook`;

	// True when the delivery's X-Hook-Signature is the HMAC-SHA256 of its raw body under the secret.
	receiver.verify = (delivery, secret = receiver.secret) => {
		if (!delivery.signature || !secret) {
			return false;
		}
		const expected = crypto.createHmac('sha256', secret).update(delivery.raw).digest('hex');
		return delivery.signature.length === expected.length &&
			crypto.timingSafeEqual(Buffer.from(delivery.signature), Buffer.from(expected));
	};

	// Every event of every recorded delivery, in arrival order.
	receiver.events = () => receiver.deliveries.flatMap((d) => (d.body && Array.isArray(d.body.events) ? d.body.events : []));

	receiver.close = () => {
		for (const res of receiver.hung) {
			res.destroy();
		}
		server.closeAllConnections();
		return new Promise((resolve) => server.close(resolve));
	};
	return receiver;
}

// Poll `check` every 50 ms until it returns a truthy value or `ms` pass; returns the value or throws `message`.
async function waitFor(check, ms, message) {
	const deadline = Date.now() + ms;
	for (;;) {
		const value = await check();
		if (value) {
			return value;
		}
		if (Date.now() > deadline) {
			throw new Error(`timed out after ${ms} ms: ${typeof message === 'function' ? message() : message}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

module.exports = { startReceiver, waitFor };
