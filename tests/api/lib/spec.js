'use strict';
// Validates kontor's responses against Asana's OpenAPI 3.0 spec (asana_oas.yaml).
//
// The spec is parsed once per process (3 MB of YAML, about a second) and each
// response schema is compiled with Ajv on first use. The spec's schemas are
// converted before compiling:
//
// - `nullable: true` becomes a union with null, as OpenAPI 3.0 defines it.
//   Asana also writes nullability inside an allOf branch
//   (`allOf: [{$ref: UserCompact}, {nullable: true}]`), which under strict
//   3.0 rules admits no null, yet Asana's API returns null there (`assignee`
//   of an unassigned task). Such a branch makes the whole allOf nullable.
// - Annotations Ajv does not need (description, example, readOnly,
//   writeOnly, deprecated, x-*) are dropped.
// - The spec marks almost nothing required, so these are added to catch
//   missing fields: `data` in every 2xx envelope, `errors` in every error
//   body and `message` in each error, and `gid` in every resource object
//   (a schema with both `gid` and `resource_type` properties). The gid rule
//   is this harness's own: clients need the gid to refer to an object, so
//   kontor must return it whatever opt_fields selects.
//
// Properties the spec does not list are allowed, because the spec forbids
// them almost nowhere.

const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
// KONTOR_ASANA_SPEC points at the file; by default it sits beside the checkout.
const specPath = process.env.KONTOR_ASANA_SPEC
	? path.resolve(process.env.KONTOR_ASANA_SPEC)
	: path.resolve(repoRoot, '..', 'shared', 'asana', 'asana_oas.yaml');

// Ajv resolves `$ref`s of response schemas against this id, under which the
// converted components are registered.
const COMPONENTS_ID = 'asana_oas.json';
const ANNOTATIONS = new Set(['description', 'example', 'readOnly', 'writeOnly', 'deprecated', 'nullable']);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];

let loaded; // undefined: not tried yet; null: spec file absent
const validators = new Map(); // 'GET /tasks/{task_gid} 200' -> compiled Ajv function

// Parse the spec and set up Ajv, once. Returns null when the file is absent.
function loadSpec() {
	if (loaded !== undefined) {
		return loaded;
	}
	if (!fs.existsSync(specPath)) {
		console.log(`asana_oas.yaml not found at ${specPath}: skipping spec validation`);
		loaded = null;
		return loaded;
	}

	const doc = YAML.parse(fs.readFileSync(specPath, 'utf8'));
	const ajv = new Ajv({ allErrors: true, strict: false });
	addFormats(ajv);

	const schemas = {};
	for (const [name, schema] of Object.entries(doc.components.schemas)) {
		schemas[name] = convertSchema(schema);
	}
	schemas.ErrorResponse = requireProperties(schemas.ErrorResponse, ['errors']);
	schemas.Error = requireProperties(schemas.Error, ['message']);
	// The spec gives email_domains items `format: uri` but its own example is "asana.com", and Asana
	// returns bare domain names: check them as plain strings.
	delete schemas.WorkspaceResponse.allOf[1].properties.email_domains.items.format;
	ajv.addSchema({ $id: COMPONENTS_ID, components: { schemas } });

	loaded = { doc, ajv, templates: compileTemplates(Object.keys(doc.paths)) };
	return loaded;
}

// Return a copy of an OpenAPI schema in the JSON Schema form described at the top of this file.
function convertSchema(schema) {
	if (typeof schema !== 'object' || schema === null) {
		return schema; // `additionalProperties: true` and the like
	}

	const out = {};
	for (const [key, value] of Object.entries(schema)) {
		if (ANNOTATIONS.has(key) || key.startsWith('x-')) {
			continue;
		}
		if (key === '$ref') {
			out.$ref = value.replace(/^#/, COMPONENTS_ID + '#');
		} else if (key === 'properties') {
			out.properties = {};
			for (const [name, property] of Object.entries(value)) {
				out.properties[name] = convertSchema(property);
			}
		} else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
			out[key] = value.map(convertSchema);
		} else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
			out[key] = convertSchema(value);
		} else {
			out[key] = value;
		}
	}

	if (out.properties && out.properties.gid && out.properties.resource_type) {
		out.required = [...new Set([...(out.required || []), 'gid'])];
	}

	const nullableBranch = Array.isArray(schema.allOf) && schema.allOf.some((s) => s && s.nullable === true);
	if (schema.nullable === true || nullableBranch) {
		return allowNull(out);
	}
	return out;
}

// Widen a converted schema so that it also accepts null.
function allowNull(schema) {
	const simple = typeof schema.type === 'string' && !schema.$ref && !schema.allOf && !schema.anyOf && !schema.oneOf;
	if (simple) {
		const widened = { ...schema, type: [schema.type, 'null'] };
		if (Array.isArray(schema.enum) && !schema.enum.includes(null)) {
			widened.enum = [...schema.enum, null];
		}
		return widened;
	}
	return { anyOf: [{ type: 'null' }, schema] };
}

function requireProperties(schema, names) {
	return { ...schema, required: [...new Set([...(schema.required || []), ...names])] };
}

// Turn each path template into a regular expression. Templates with more
// literal segments come first, so `/users/me/...`-style literals would win
// over `{user_gid}` if the spec had both.
function compileTemplates(templates) {
	return templates
		.map((template) => {
			const segments = template.split('/');
			const pattern = segments.map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : escapeRegExp(s))).join('/');
			const literals = segments.filter((s) => s && !s.startsWith('{')).length;
			return { template, regexp: new RegExp('^' + pattern + '$'), literals };
		})
		.sort((a, b) => b.literals - a.literals);
}

function escapeRegExp(text) {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Map a template or a concrete request path (with or without /api/1.0 and a
// query string) to the spec's path template, or null.
function findTemplate(spec, requestPath) {
	let p = requestPath.split('?')[0].replace(/^\/api\/1\.0(?=\/)/, '');
	if (p.length > 1) {
		p = p.replace(/\/$/, '');
	}
	if (spec.doc.paths[p]) {
		return p;
	}
	const match = spec.templates.find((t) => t.regexp.test(p));
	return match ? match.template : null;
}

// Follow a `$ref` to components/responses, which the spec uses for error responses.
function resolveResponse(doc, response) {
	let r = response;
	while (r && r.$ref) {
		const name = r.$ref.replace('#/components/responses/', '');
		r = doc.components.responses[name];
	}
	return r;
}

// Find and compile the schema for one response. Returns {validate} or {error}.
function responseValidator(spec, method, template, status) {
	const key = `${method} ${template} ${status}`;
	if (validators.has(key)) {
		return validators.get(key);
	}

	const operation = spec.doc.paths[template][method.toLowerCase()];
	if (!operation) {
		const methods = HTTP_METHODS.filter((m) => spec.doc.paths[template][m]).map((m) => m.toUpperCase());
		return { error: `the spec has no ${method} ${template} (it has ${methods.join(', ')})` };
	}

	const responses = operation.responses || {};
	let response = responses[String(status)] || responses.default;
	if (!response && status >= 400) {
		// The spec lists 409, 413 and 429 for no operation, but kontor sends
		// them, with the same error body as every other error.
		response = { content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } } };
	}
	if (!response) {
		return { error: `the spec documents ${Object.keys(responses).join(', ')} for ${method} ${template}, not ${status}` };
	}

	response = resolveResponse(spec.doc, response);
	const content = response.content && response.content['application/json'];
	if (!content || !content.schema) {
		return { error: `the spec has no JSON body for ${status} of ${method} ${template}` };
	}

	let schema = convertSchema(content.schema);
	if (status < 300 && schema.properties && schema.properties.data) {
		schema = requireProperties(schema, ['data']);
	}
	const entry = { validate: spec.ajv.compile(schema) };
	validators.set(key, entry);
	return entry;
}

// Validate one response body against the spec. `pathTemplate` may be a spec
// template (`/tasks/{task_gid}`) or a concrete path (`/tasks/123?opt_fields=name`).
// Returns {ok, errors: [string]}, or {ok: true, skipped: true} without the spec file.
function validateResponse(method, pathTemplate, status, body) {
	const spec = loadSpec();
	if (!spec) {
		return { ok: true, skipped: true, errors: [] };
	}

	const upper = method.toUpperCase();
	const template = findTemplate(spec, pathTemplate);
	if (!template) {
		return { ok: false, errors: [`no path in the spec matches ${pathTemplate}`] };
	}

	const entry = responseValidator(spec, upper, template, Number(status));
	if (entry.error) {
		return { ok: false, errors: [entry.error] };
	}
	if (entry.validate(body)) {
		return { ok: true, errors: [] };
	}
	return { ok: false, errors: formatErrors(entry.validate.errors) };
}

// Turn Ajv errors into one line each. A value that fails a null union also
// yields "must be null" and "must match a schema in anyOf". Those two lines
// are dropped when a more specific error names the same value or a part of it.
function formatErrors(ajvErrors) {
	const isUnionNoise = (e) => e.keyword === 'anyOf' || (e.keyword === 'type' && e.params.type === 'null');
	const specific = ajvErrors.filter((e) => !isUnionNoise(e));
	const reported = ajvErrors.filter((e) => {
		if (!isUnionNoise(e)) {
			return true;
		}
		const p = e.instancePath;
		return !specific.some((o) => o.instancePath === p || o.instancePath.startsWith(p + '/'));
	});

	const lines = reported.map((e) => {
		const where = e.instancePath || '(body)';
		const detail = e.params && e.params.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : '';
		return `${where} ${e.message}${detail}`;
	});
	return [...new Set(lines)];
}

// Assert that a response from api() (`{status, body}`) matches the spec.
function assertMatchesSpec(method, requestPath, res) {
	const result = validateResponse(method, requestPath, res.status, res.body);
	if (result.ok) {
		return;
	}
	const body = JSON.stringify(res.body, null, 2);
	const bodyExcerpt = body && body.length > 2000 ? body.slice(0, 2000) + '\n…' : body;
	assert.fail(
		`${method.toUpperCase()} ${requestPath} → ${res.status} does not match asana_oas.yaml:\n` +
			result.errors.map((e) => '  ' + e).join('\n') +
			`\nbody: ${bodyExcerpt}`,
	);
}

module.exports = { validateResponse, assertMatchesSpec, specPath };
