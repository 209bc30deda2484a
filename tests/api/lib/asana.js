'use strict';
// The official Asana client (npm `asana` 3.x), pointed at a test server.
//
// What asana 3.2.0 does, read from node_modules/asana/src:
// - `new Asana.ApiClient()` creates an independent client, with its own
//   basePath, token, default headers and superagent agent. `ApiClient.instance`
//   is only the shared default that API classes use when constructed without
//   a client, so tests create one client per server and token and pass it to
//   each API class: `new Asana.UsersApi(client)`.
// - `client.basePath` is the URL prefix of every call, without a trailing
//   slash (default https://app.asana.com/api/1.0).
// - `client.authentications.token.accessToken` is sent as
//   `Authorization: Bearer <token>`.
// - Calls resolve to the response body as parsed JSON (`{data: ...}`), not to
//   model objects. A non-2xx status rejects with superagent's error, which has
//   `status` and `response.body`.
// - With `client.RETURN_COLLECTION` true (the default), list calls
//   (getWorkspaces, getTasks, ...) resolve to a Collection with `data` (this
//   page), `_response` (the whole body, next_page included) and `nextPage()`.
//   nextPage() resolves to the next Collection, or to `{data: null}` when
//   next_page is absent or null or the page is empty. It needs a `limit` in
//   the first call, and it writes `offset` into the opts object passed to
//   that call. There is no async iterator.

const Asana = require('asana');

// Create an ApiClient for `server.base` (or a base URL) that sends `token`.
function asanaClient(serverOrBase, token) {
	const client = new Asana.ApiClient();
	client.basePath = typeof serverOrBase === 'string' ? serverOrBase : serverOrBase.base;
	client.authentications.token.accessToken = token;
	client.timeout = 30000; // milliseconds; the library's default is 60000
	return client;
}

// Fetch every page of a list call, e.g.
// `allPages(new Asana.WorkspacesApi(client).getWorkspaces({limit: 10}))`.
async function allPages(firstPage) {
	const items = [];
	let page = await firstPage;
	while (page.data) {
		items.push(...page.data);
		page = await page.nextPage();
	}
	return items;
}

module.exports = { Asana, asanaClient, allPages };
