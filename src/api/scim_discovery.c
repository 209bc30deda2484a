/*
 * SCIM discovery (RFC 7644 section 4, RFC 7643 sections 5 to 7):
 * ServiceProviderConfig, ResourceTypes and Schemas under /api/1.0/scim.
 * Identity providers read them to learn which attributes and features
 * kontor supports. The User schema lists every attribute a request may
 * send: those kontor stores, and those it accepts and drops (marked
 * writeOnly and returned never, because kontor never returns them).
 */
#include "api/scim.h"

#include <stdio.h>
#include <string.h>

/* ---------- discovery (RFC 7644 section 4) ---------- */

/* GET /scim/ServiceProviderConfig */
static int scim_service_provider_config(api_ctx *ctx)
{
	json_t *config;
	char location[API_BASE_URL_MAX + 128];

	config = json_pack("{s:[s], s:{s:b}, s:{s:b, s:i, s:i}, s:{s:b, s:i}, s:{s:b}, s:{s:b}, s:{s:b}, "
			   "s:[{s:s, s:s, s:s, s:b}]}",
			   "schemas", "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
			   "patch", "supported", 1,
			   "bulk", "supported", 0, "maxOperations", 0, "maxPayloadSize", 0,
			   "filter", "supported", 1, "maxResults", SCIM_COUNT_MAX,
			   "changePassword", "supported", 0,
			   "sort", "supported", 0,
			   "etag", "supported", 1,
			   "authenticationSchemes", "type", "oauthbearertoken", "name", "Bearer token",
			   "description", "The token of a kontor service account with the scim or full permission, sent as "
					  "Authorization: Bearer <token>.",
			   "primary", 1);
	json_object_set_new(config, "meta", json_pack("{s:s, s:s}", "resourceType", "ServiceProviderConfig",
						      "location",
						      scim_location(ctx, "ServiceProviderConfig", 0, location,
								    sizeof(location))));
	return scim_reply(ctx, 200, config);
}

static json_t *resource_type_new(api_ctx *ctx, const char *name, const char *endpoint, const char *schema)
{
	char location[API_BASE_URL_MAX + 128], path[64];
	json_t *type;

	snprintf(path, sizeof(path), "ResourceTypes/%s", name);
	type = json_pack("{s:[s], s:s, s:s, s:s, s:s, s:s}", "schemas",
			 "urn:ietf:params:scim:schemas:core:2.0:ResourceType", "id", name, "name", name, "endpoint",
			 endpoint, "description", strcmp(name, "User") == 0 ? "A person of the organization" : "A team",
			 "schema", schema);
	if (strcmp(name, "User") == 0)
		json_object_set_new(type, "schemaExtensions",
				    json_pack("[{s:s, s:b}]", "schema", SCIM_SCHEMA_ENTERPRISE_USER, "required", 0));
	json_object_set_new(type, "meta", json_pack("{s:s, s:s}", "resourceType", "ResourceType", "location",
						    scim_location(ctx, path, 0, location, sizeof(location))));
	return type;
}

/* GET /scim/ResourceTypes */
static int scim_resource_types(api_ctx *ctx)
{
	json_t *types = json_array();
	struct scim_page page = { 1, 2 };

	json_array_append_new(types, resource_type_new(ctx, "User", "/Users", SCIM_SCHEMA_USER));
	json_array_append_new(types, resource_type_new(ctx, "Group", "/Groups", SCIM_SCHEMA_GROUP));
	return scim_reply_list(ctx, types, 2, &page);
}

/* GET /scim/ResourceTypes/{id} */
static int scim_resource_type_get(api_ctx *ctx)
{
	const char *id = api_param(ctx, "id");

	if (id != NULL && strcmp(id, "User") == 0)
		return scim_reply(ctx, 200, resource_type_new(ctx, "User", "/Users", SCIM_SCHEMA_USER));
	if (id != NULL && strcmp(id, "Group") == 0)
		return scim_reply(ctx, 200, resource_type_new(ctx, "Group", "/Groups", SCIM_SCHEMA_GROUP));
	return scim_error(ctx, 404, NULL, "Resource type not found: \"%.40s\". kontor has User and Group.", id ? id : "");
}

/*
 * The attributes kontor stores, in RFC 7643 section 7's form. The ones it
 * accepts and drops are added from dropped_user_attributes below.
 */
static const char user_schema[] =
	"{\"id\":\"" SCIM_SCHEMA_USER "\",\"name\":\"User\",\"description\":\"A person of the organization\","
	"\"attributes\":["
	"{\"name\":\"userName\",\"type\":\"string\",\"multiValued\":false,\"required\":true,\"caseExact\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"server\","
	"\"description\":\"The person's e-mail address, unique on the server\"},"
	"{\"name\":\"name\",\"type\":\"complex\",\"multiValued\":false,\"required\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"none\",\"subAttributes\":["
	"{\"name\":\"formatted\",\"type\":\"string\",\"multiValued\":false,\"required\":false,\"caseExact\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"none\"},"
	"{\"name\":\"familyName\",\"type\":\"string\",\"multiValued\":false,\"required\":false,\"caseExact\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"none\"},"
	"{\"name\":\"givenName\",\"type\":\"string\",\"multiValued\":false,\"required\":false,\"caseExact\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"none\"}]},"
	"{\"name\":\"displayName\",\"type\":\"string\",\"multiValued\":false,\"required\":false,\"caseExact\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"none\"},"
	"{\"name\":\"active\",\"type\":\"boolean\",\"multiValued\":false,\"required\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\"},"
	"{\"name\":\"emails\",\"type\":\"complex\",\"multiValued\":true,\"required\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"none\","
	"\"description\":\"The work address, always equal to userName. Addresses of another type are accepted and "
	"not stored\",\"subAttributes\":["
	"{\"name\":\"value\",\"type\":\"string\",\"multiValued\":false,\"required\":false,\"caseExact\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"none\"},"
	"{\"name\":\"type\",\"type\":\"string\",\"multiValued\":false,\"required\":false,\"caseExact\":false,"
	"\"canonicalValues\":[\"work\"],\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"none\"},"
	"{\"name\":\"primary\",\"type\":\"boolean\",\"multiValued\":false,\"required\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\"}]}]}";

static const char group_schema[] =
	"{\"id\":\"" SCIM_SCHEMA_GROUP "\",\"name\":\"Group\",\"description\":\"A team of the organization\","
	"\"attributes\":["
	"{\"name\":\"displayName\",\"type\":\"string\",\"multiValued\":false,\"required\":true,\"caseExact\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"uniqueness\":\"none\",\"description\":\"The team's name\"},"
	"{\"name\":\"members\",\"type\":\"complex\",\"multiValued\":true,\"required\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"description\":\"The people in the team\","
	"\"subAttributes\":["
	"{\"name\":\"value\",\"type\":\"string\",\"multiValued\":false,\"required\":false,\"caseExact\":false,"
	"\"mutability\":\"immutable\",\"returned\":\"default\",\"uniqueness\":\"none\"},"
	"{\"name\":\"$ref\",\"type\":\"reference\",\"referenceTypes\":[\"User\"],\"multiValued\":false,"
	"\"required\":false,\"caseExact\":false,\"mutability\":\"immutable\",\"returned\":\"default\","
	"\"uniqueness\":\"none\"},"
	"{\"name\":\"display\",\"type\":\"string\",\"multiValued\":false,\"required\":false,\"caseExact\":false,"
	"\"mutability\":\"readOnly\",\"returned\":\"default\",\"uniqueness\":\"none\"},"
	"{\"name\":\"type\",\"type\":\"string\",\"multiValued\":false,\"required\":false,\"caseExact\":false,"
	"\"canonicalValues\":[\"User\"],\"mutability\":\"immutable\",\"returned\":\"default\","
	"\"uniqueness\":\"none\"}]}]}";

/*
 * An attribute kontor accepts in requests and does not store, so that an
 * identity provider's default attribute mapping works unchanged.
 * `sub_attributes` lists its string sub-attributes (NULL for a simple one).
 */
struct dropped_attribute {
	const char *name;
	const char *type;
	int multi_valued;
	const char *const *sub_attributes;
};

static const char *const plural_parts[] = { "value", "display", "type", "primary", NULL };
static const char *const address_parts[] = { "formatted", "streetAddress", "locality", "region", "postalCode",
					      "country", "type", "primary", NULL };
static const char *const manager_parts[] = { "value", "$ref", "displayName", NULL };

/* RFC 7643 section 4.1 attributes of the core User schema that scim_users.c accepts and drops. */
static const struct dropped_attribute dropped_user_attributes[] = {
	{ "nickName", "string", 0, NULL },
	{ "profileUrl", "reference", 0, NULL },
	{ "title", "string", 0, NULL },
	{ "userType", "string", 0, NULL },
	{ "preferredLanguage", "string", 0, NULL },
	{ "locale", "string", 0, NULL },
	{ "timezone", "string", 0, NULL },
	{ "password", "string", 0, NULL },
	{ "phoneNumbers", "complex", 1, plural_parts },
	{ "ims", "complex", 1, plural_parts },
	{ "photos", "complex", 1, plural_parts },
	{ "addresses", "complex", 1, address_parts },
	{ "groups", "complex", 1, plural_parts },
	{ "entitlements", "complex", 1, plural_parts },
	{ "roles", "complex", 1, plural_parts },
	{ "x509Certificates", "complex", 1, plural_parts },
	{ NULL, NULL, 0, NULL },
};

/* Sub-attributes of name that scim_users.c accepts and drops. */
static const struct dropped_attribute dropped_name_parts[] = {
	{ "middleName", "string", 0, NULL },
	{ "honorificPrefix", "string", 0, NULL },
	{ "honorificSuffix", "string", 0, NULL },
	{ NULL, NULL, 0, NULL },
};

/* RFC 7643 section 4.3: the enterprise extension, accepted in full and not stored. */
static const struct dropped_attribute enterprise_attributes[] = {
	{ "employeeNumber", "string", 0, NULL },
	{ "costCenter", "string", 0, NULL },
	{ "organization", "string", 0, NULL },
	{ "division", "string", 0, NULL },
	{ "department", "string", 0, NULL },
	{ "manager", "complex", 0, manager_parts },
	{ NULL, NULL, 0, NULL },
};

/* One attribute definition for an attribute that is written and never returned. */
static json_t *dropped_attribute_new(const char *name, const char *type, int multi_valued)
{
	json_t *attribute = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s, s:s}", "name", name, "type", type,
				      "multiValued", multi_valued, "required", 0, "mutability", "writeOnly", "returned",
				      "never", "description", "Accepted and not stored by kontor");

	if (strcmp(type, "string") == 0 || strcmp(type, "reference") == 0)
		json_object_set_new(attribute, "caseExact", json_false());
	if (strcmp(type, "reference") == 0)
		json_object_set_new(attribute, "referenceTypes", json_pack("[s]", "external"));
	return attribute;
}

/* Appends the definitions of `dropped` to the array `attributes`. */
static void dropped_append(json_t *attributes, const struct dropped_attribute *dropped)
{
	for (const struct dropped_attribute *d = dropped; d->name; d++) {
		json_t *attribute = dropped_attribute_new(d->name, d->type, d->multi_valued);

		if (d->sub_attributes != NULL) {
			json_t *subs = json_array();

			for (const char *const *sub = d->sub_attributes; *sub; sub++) {
				const char *type = strcmp(*sub, "primary") == 0 ? "boolean" : (strcmp(*sub, "$ref") == 0 ? "reference" : "string");

				json_array_append_new(subs, dropped_attribute_new(*sub, type, 0));
			}
			json_object_set_new(attribute, "subAttributes", subs);
		}
		json_array_append_new(attributes, attribute);
	}
}

/* Adds the accepted-and-dropped attributes to the parsed User schema. */
static void user_schema_complete(json_t *schema)
{
	json_t *attributes = json_object_get(schema, "attributes");
	json_t *attribute;
	size_t i;

	json_array_foreach(attributes, i, attribute)
		if (strcmp(json_string_value(json_object_get(attribute, "name")), "name") == 0)
			dropped_append(json_object_get(attribute, "subAttributes"), dropped_name_parts);
	dropped_append(attributes, dropped_user_attributes);
}

/* Adds schemas and meta to a schema definition (stolen) and returns it, or NULL when it is NULL. */
static json_t *schema_finish(api_ctx *ctx, json_t *schema)
{
	char location[API_BASE_URL_MAX + 160], path[128];

	if (schema == NULL)
		return NULL;
	snprintf(path, sizeof(path), "Schemas/%s", json_string_value(json_object_get(schema, "id")));
	json_object_set_new(schema, "schemas", json_pack("[s]", "urn:ietf:params:scim:schemas:core:2.0:Schema"));
	json_object_set_new(schema, "meta", json_pack("{s:s, s:s}", "resourceType", "Schema", "location",
						      scim_location(ctx, path, 0, location, sizeof(location))));
	return schema;
}

/* Builds the schema with URN `id` (a new reference), or NULL when kontor has none by that id. */
static json_t *schema_new(api_ctx *ctx, const char *id)
{
	json_t *schema = NULL;

	if (strcmp(id, SCIM_SCHEMA_USER) == 0) {
		schema = json_loads(user_schema, 0, NULL);
		if (schema != NULL)
			user_schema_complete(schema);
	} else if (strcmp(id, SCIM_SCHEMA_GROUP) == 0) {
		schema = json_loads(group_schema, 0, NULL);
	} else if (strcmp(id, SCIM_SCHEMA_ENTERPRISE_USER) == 0) {
		schema = json_pack("{s:s, s:s, s:s, s:[]}", "id", SCIM_SCHEMA_ENTERPRISE_USER, "name", "EnterpriseUser",
				   "description", "Enterprise user attributes, accepted and not stored by kontor",
				   "attributes");
		if (schema != NULL)
			dropped_append(json_object_get(schema, "attributes"), enterprise_attributes);
	}
	return schema_finish(ctx, schema);
}

static const char *const schema_ids[] = { SCIM_SCHEMA_USER, SCIM_SCHEMA_GROUP, SCIM_SCHEMA_ENTERPRISE_USER, NULL };

/* GET /scim/Schemas */
static int scim_schemas(api_ctx *ctx)
{
	json_t *schemas = json_array();
	struct scim_page page = { 1, 3 };

	for (const char *const *id = schema_ids; *id; id++) {
		json_t *schema = schema_new(ctx, *id);

		if (schema == NULL) {
			json_decref(schemas);
			return scim_error(ctx, 500, NULL, "Server error.");
		}
		json_array_append_new(schemas, schema);
	}
	return scim_reply_list(ctx, schemas, (int64_t)json_array_size(schemas), &page);
}

/* GET /scim/Schemas/{id} */
static int scim_schema_get(api_ctx *ctx)
{
	const char *id = api_param(ctx, "id");
	json_t *schema;
	int known = 0;

	for (const char *const *k = schema_ids; id != NULL && *k; k++)
		if (strcmp(id, *k) == 0)
			known = 1;
	if (!known)
		return scim_error(ctx, 404, NULL, "Schema not found: \"%.80s\". kontor has %s, %s and %s.", id ? id : "",
				  SCIM_SCHEMA_USER, SCIM_SCHEMA_GROUP, SCIM_SCHEMA_ENTERPRISE_USER);
	schema = schema_new(ctx, id);
	if (schema == NULL)
		return scim_error(ctx, 500, NULL, "Server error.");
	return scim_reply(ctx, 200, schema);
}

const struct api_route api_scim_routes[] = {
	{ "GET", SCIM_PATH "/ServiceProviderConfig", scim_service_provider_config, API_SCOPE_SCIM, NULL },
	{ "GET", SCIM_PATH "/ResourceTypes", scim_resource_types, API_SCOPE_SCIM, NULL },
	{ "GET", SCIM_PATH "/ResourceTypes/{id}", scim_resource_type_get, API_SCOPE_SCIM, NULL },
	{ "GET", SCIM_PATH "/Schemas", scim_schemas, API_SCOPE_SCIM, NULL },
	{ "GET", SCIM_PATH "/Schemas/{id}", scim_schema_get, API_SCOPE_SCIM, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
