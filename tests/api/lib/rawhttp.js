'use strict';
// GET with headers that fetch() does not let a caller set, such as Host.
// Tests use it to check what the server does with a forged Host header.

const http = require('node:http');

// Sends GET `url` with `headers` (names as given) and resolves to
// {status, headers, body}, where body is the parsed JSON when the response is JSON.
function rawGet(url, headers) {
	return new Promise((resolve, reject) => {
		const req = http.request(url, { method: 'GET', headers, timeout: 30000 }, (res) => {
			const chunks = [];
			res.on('data', (chunk) => chunks.push(chunk));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let body = text;
				if (/^application\/json\b/i.test(res.headers['content-type'] || '') && text !== '') {
					body = JSON.parse(text);
				}
				resolve({ status: res.statusCode, headers: res.headers, body, text });
			});
		});
		req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
		req.on('error', reject);
		req.end();
	});
}

module.exports = { rawGet };
