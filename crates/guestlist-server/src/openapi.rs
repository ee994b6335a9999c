//! The OpenAPI 3.1 document, generated from the handlers and wire types.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::Method;
use guestlist_domain::ErrorCode;
use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::rest::{
    events, imports, invitations, invites, members, requests, signup, spaces, users, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Guestlist",
        description = "Invitations and membership for the applications in front of it. \
            Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}` with a stable code.",
        license(name = "Apache-2.0")
    ),
    paths(
        spaces::create_space, spaces::get_space, spaces::update_space, spaces::list_roles, spaces::create_role,
        members::list_members, members::provision_member, members::change_role, members::remove_member,
        members::join_space, members::leave_space, members::get_member, members::check,
        members::check_batch, members::my_spaces, members::user_memberships, spaces::list_spaces,
        invites::create_invite, invites::list_invites, invites::preview_invite, invites::revoke_invite,
        invites::show_invite_link, invites::redeem_invite, invites::mirror_invite, imports::import,
        events::list_events, events::stream_events,
        webhooks::create_webhook, webhooks::list_webhooks, webhooks::get_webhook, webhooks::update_webhook,
        webhooks::delete_webhook, webhooks::rotate_secret, webhooks::test_webhook, webhooks::list_deliveries,
        webhooks::redeliver, webhooks::replay,
        invitations::create, invitations::bulk, invitations::list, invitations::get_one,
        invitations::revoke, invitations::resend, invitations::accept, invitations::decline,
        invitations::mine, invitations::accept_mine, invitations::decline_mine,
        signup::get_config, signup::set_config, signup::create_invitation, signup::list_invitations,
        signup::verify, signup::revoke_invitation, signup::resend_invitation, signup::create_claim, signup::confirm_claim,
        signup::release_claim, signup::referrals, signup::tree, signup::revoke_subtree,
        requests::add_member, requests::accept_membership, requests::decline_membership,
        requests::ask, requests::list, requests::approve, requests::deny, requests::cancel,
        requests::pending, requests::deprovision, users::set_identities, users::get_identities,
    ),
    components(schemas(
        guestlist_api::ErrorBody, guestlist_api::Health, guestlist_domain::formats::SpaceParam,
        guestlist_domain::formats::Cursor, guestlist_domain::UserId, guestlist_domain::InviteCode,
    )),
    modifiers(&Bearer, &Errors),
    tags(
        (name = "spaces", description = "Spaces, their join modes, limits and roles"),
        (name = "members", description = "Memberships"),
        (name = "invites", description = "Shareable invite links"),
        (name = "invitations", description = "Invitations addressed to one person, delivered by e-mail"),
        (name = "signup", description = "The platform's sign-up gate, platform invitations and referrals"),
        (name = "events", description = "The event log: the audit log, the forward feed and the live stream (docs/EVENTS.md)"),
        (name = "webhooks", description = "Endpoints told about events, in the Standard Webhooks format (the document's `webhooks` section)"),
        (name = "users", description = "Who users are known as (verified e-mail addresses, usernames)"),
        (name = "imports", description = "Bringing another system's spaces, members and live links over"),
    )
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    Http::builder()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "A host application's JWT (HS256) or a Guestlist API key (gl_…)",
                        ))
                        .build(),
                ),
            );
        }
    }
}

/// The error answers every operation of a kind can give, added to each operation's
/// own (403, 404, 409, 410, 429 as its handler may refuse), and each error status
/// described by the codes it carries:
/// - 400 `invalid_input` everywhere (an unknown query parameter is refused on every
///   route);
/// - 401 `unauthenticated` wherever a bearer token is read (required or optional);
/// - 403 `forbidden` wherever one is required;
/// - 404 `not_found` wherever something is named (in the path or the body) or a
///   token is required (a space the caller cannot see reads as absent);
/// - 408 and 413 where there is a body to read;
/// - 500 and 503 everywhere.
struct Errors;

impl Modify for Errors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in operations_mut(item) {
                let security = op.security.as_deref().unwrap_or_default();
                let reads_token = !security.is_empty();
                let requires_token = reads_token
                    && !security
                        .iter()
                        .any(|s| *s == SecurityRequirement::default());
                let mut statuses = vec![400, 500, 503];
                if reads_token {
                    statuses.push(401);
                }
                if requires_token {
                    statuses.push(403);
                }
                if op.request_body.is_some() {
                    statuses.extend([408, 413]);
                }
                // What a request names (a space, a member, an invitation) may not
                // exist, or not be visible to the caller.
                let names_something =
                    op.request_body.is_some()
                        || op.parameters.iter().flatten().any(
                            |p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path),
                        );
                if names_something || requires_token {
                    statuses.push(404);
                }
                for status in statuses {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error_response(status).into());
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    if let (Ok(status), RefOr::T(r)) = (status.parse::<u16>(), response)
                        && status >= 400
                        && r.description.is_empty()
                    {
                        *r = error_response(status);
                    }
                }
            }
        }
    }
}

/// An error answer: the error body, described by the codes that carry `status`.
fn error_response(status: u16) -> Response {
    let codes: Vec<String> = ErrorCode::ALL
        .into_iter()
        .filter(|c| crate::error::status_of(*c).as_u16() == status)
        .map(|c| format!("`{}`", c.as_str()))
        .collect();
    let mut r = ResponseBuilder::new()
        .description(codes.join(", "))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        );
    if status == 429 || status == 503 {
        r = r.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                ))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    r.build()
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The query parameters each operation declares, by path template (as routed:
/// `/api/v1/spaces/{space}`) and method. The server refuses any other (`strict_query`),
/// so the document and the server cannot disagree about which parameters exist. Looked
/// up by `&str`, so a request allocates nothing to find its operation.
pub(crate) type QueryTable = HashMap<String, Vec<(Method, Vec<String>)>>;

pub(crate) fn declared_query_parameters() -> &'static QueryTable {
    static TABLE: OnceLock<QueryTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let doc = ApiDoc::openapi();
        let mut table = QueryTable::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in operations(item) {
                let names = op
                    .parameters
                    .iter()
                    .flatten()
                    .filter_map(|p| match p {
                        RefOr::T(p) if p.parameter_in == ParameterIn::Query => Some(p.name.clone()),
                        _ => None,
                    })
                    .collect();
                table.entry(path.clone()).or_default().push((method, names));
            }
        }
        table
    })
}

fn operations(item: &PathItem) -> impl Iterator<Item = (Method, &Operation)> {
    [
        (Method::GET, &item.get),
        (Method::PUT, &item.put),
        (Method::POST, &item.post),
        (Method::DELETE, &item.delete),
        (Method::PATCH, &item.patch),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
}

/// The rules between fields of one body that the types cannot show, in JSON Schema,
/// so that what the document calls valid is what the server accepts:
/// - an invitation names someone (an e-mail address, a username or a user id);
/// - an owner's add names one account (by user id or by e-mail address);
/// - only a link that requires approval auto-approves domains;
/// - the gate: `open` has no cap, `capped` has one, `invite_only` may;
/// - a webhook replay starts at a sequence number or at a time, not both;
/// - a mirrored or imported link carries its `code` or its `code_hash`, not both;
/// - an import row, like every request object, has no field it does not declare
///   (serde's `deny_unknown_fields` on an enum's variants is not carried over).
fn cross_field_rules(doc: &mut serde_json::Value) {
    let present = |field: &str| json!({"required": [field], "properties": {field: {"not": {"type": "null"}}}});
    let code_or_hash = json!({"not": {"allOf": [present("code"), present("code_hash")]}});
    let schemas = &mut doc["components"]["schemas"];
    for variant in schemas["ImportRow"]["oneOf"]
        .as_array_mut()
        .expect("ImportRow is a oneOf of its kinds")
    {
        variant["additionalProperties"] = json!(false);
        if variant["properties"]["kind"]["enum"] == json!(["link"]) {
            variant["not"] = code_or_hash["not"].clone();
        }
    }
    let rules = [
        ("MirrorInviteRequest", code_or_hash.clone()),
        (
            "CreateInvitationRequest",
            json!({"anyOf": [present("email"), present("username"), present("user_id")]}),
        ),
        (
            "AddMemberRequest",
            json!({"oneOf": [present("user_id"), present("email")]}),
        ),
        (
            "CreateInviteRequest",
            json!({"anyOf": [
                {"properties": {"auto_approve_domains": {"maxItems": 0}}},
                {"required": ["requires_approval"], "properties": {"requires_approval": {"const": true}}},
            ]}),
        ),
        (
            "ReplayRequest",
            json!({"oneOf": [
                {"allOf": [present("since_seq"), {"not": {"required": ["since"]}}]},
                {"allOf": [present("since"), {"not": {"required": ["since_seq"]}}]},
            ]}),
        ),
        (
            "GateSettings",
            json!({"oneOf": [
                {"properties": {"mode": {"const": "open"}, "cap": {"type": "null"}}},
                {"required": ["cap"], "properties": {"mode": {"const": "capped"}, "cap": {"type": "integer"}}},
                {"properties": {"mode": {"const": "invite_only"}}},
            ]}),
        ),
    ];
    for (name, rule) in rules {
        let schema = schemas
            .get_mut(name)
            .and_then(|s| s.as_object_mut())
            .unwrap_or_else(|| panic!("{name} is in the document"));
        for (k, v) in rule.as_object().into_iter().flatten() {
            schema.insert(k.clone(), v.clone());
        }
    }
}

/// OpenAPI links: where the answer of a create leads (what a client does next, and what
/// a stateful fuzzer follows): from the operation and status, by link name, to an
/// operation and its parameters taken from the answer.
/// A link: its name, the operation it leads to, and `parameter=expression`.
type Link = (&'static str, &'static str, &'static str);

const LINKS: &[(&str, &str, &[Link])] = &[
    (
        "create_space",
        "201",
        &[
            ("GetSpace", "get_space", "space=$response.body#/path"),
            ("UpdateSpace", "update_space", "space=$response.body#/path"),
            ("ListMembers", "list_members", "space=$response.body#/path"),
            ("ListRoles", "list_roles", "space=$response.body#/path"),
        ],
    ),
    (
        "create_invite",
        "201",
        &[
            ("Preview", "preview_invite", "code=$response.body#/code"),
            ("Redeem", "redeem_invite", "code=$response.body#/code"),
            (
                "ShowLink",
                "show_invite_link",
                "code=$response.body#/invite/id",
            ),
            // By the code, as the preview is: a client that follows the links sees
            // that what it revoked is what then reads as unknown.
            ("Revoke", "revoke_invite", "code=$response.body#/code"),
        ],
    ),
    (
        "create_invitation",
        "201",
        &[
            ("Get", "get_invitation", "id=$response.body#/invitation/id"),
            (
                "Resend",
                "resend_invitation",
                "id=$response.body#/invitation/id",
            ),
            (
                "Revoke",
                "revoke_invitation",
                "id=$response.body#/invitation/id",
            ),
        ],
    ),
    (
        "create_platform_invitation",
        "201",
        &[
            ("Verify", "verify_signup_token", "ref=$response.body#/token"),
            (
                "Resend",
                "resend_platform_invitation",
                "ref=$response.body#/invitation/id",
            ),
            (
                "Revoke",
                "revoke_platform_invitation",
                "ref=$response.body#/invitation/id",
            ),
        ],
    ),
    (
        "create_webhook",
        "201",
        &[
            ("Get", "get_webhook", "id=$response.body#/webhook/id"),
            ("Test", "test_webhook", "id=$response.body#/webhook/id"),
            (
                "Deliveries",
                "list_deliveries",
                "id=$response.body#/webhook/id",
            ),
            ("Rotate", "rotate_secret", "id=$response.body#/webhook/id"),
        ],
    ),
    (
        "create_claim",
        "201",
        &[
            ("Confirm", "confirm_claim", "id=$response.body#/id"),
            ("Release", "release_claim", "id=$response.body#/id"),
        ],
    ),
];

fn links(doc: &mut serde_json::Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let ops = paths
        .values_mut()
        .filter_map(|p| p.as_object_mut())
        .flat_map(|p| p.values_mut());
    for op in ops {
        let Some(id) = op
            .get("operationId")
            .and_then(|i| i.as_str())
            .map(str::to_owned)
        else {
            continue;
        };
        for (_, status, links) in LINKS.iter().filter(|(from, _, _)| *from == id) {
            let response = op
                .pointer_mut(&format!("/responses/{status}"))
                .and_then(|r| r.as_object_mut())
                .unwrap_or_else(|| panic!("{id} answers {status}"));
            let mut out = serde_json::Map::new();
            for (name, target, param) in *links {
                let (p, expr) = param.split_once('=').expect("name=expression");
                out.insert(
                    (*name).to_owned(),
                    json!({ "operationId": target, "parameters": { p: expr } }),
                );
            }
            response.insert("links".into(), serde_json::Value::Object(out));
        }
    }
}

/// An optional parameter (a header, here) is left out, never sent as null: its schema
/// is its type alone.
fn optional_parameters_are_absent(doc: &mut serde_json::Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(|p| p.as_object_mut())
        .flat_map(|p| p.values_mut())
    {
        let params = op.get_mut("parameters").and_then(|p| p.as_array_mut());
        for param in params.into_iter().flatten() {
            let Some(ty) = param.pointer_mut("/schema/type") else {
                continue;
            };
            if let Some(types) = ty.as_array_mut() {
                types.retain(|t| t != "null");
                if let [one] = types.as_slice() {
                    *ty = one.clone();
                }
            }
        }
    }
}

/// The OpenAPI 3.1 `webhooks` section: one entry per event kind of the catalogue
/// (`guestlist_domain::events`), each the POST a receiver gets: the Standard Webhooks
/// headers and the envelope `{type, timestamp, data}` around the event.
fn webhooks(doc: &mut serde_json::Value) {
    let header = |name: &str, description: &str| {
        json!({"name": name, "in": "header", "required": true, "description": description,
               "schema": {"type": "string"}})
    };
    let mut out = serde_json::Map::new();
    for k in guestlist_domain::events::CATALOGUE {
        let subject = match k.subject {
            Some(s) => json!({"type": "string", "description": s}),
            None => json!({"type": "null"}),
        };
        let payload = json!({
            "type": "object",
            "required": ["type", "timestamp", "data"],
            "properties": {
                "type": {"const": k.name},
                "timestamp": {"type": "string", "format": "date-time"},
                "data": {
                    "allOf": [{"$ref": "#/components/schemas/Event"}],
                    "properties": {
                        "kind": {"const": k.name},
                        "version": {"const": k.version},
                        "subject": subject,
                        "data": guestlist_domain::events::data_schema(k),
                    },
                },
            },
        });
        out.insert(
            k.name.to_owned(),
            json!({"post": {
                "operationId": format!("webhook_{}", k.name.replace('.', "_")),
                "summary": k.summary,
                "tags": ["webhooks"],
                "parameters": [
                    header("webhook-id", "The event's id: the same on every attempt, to deduplicate by"),
                    header("webhook-timestamp", "Unix seconds when this attempt was signed"),
                    header("webhook-signature", "`v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">`, space-separated: one per live secret"),
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": payload}}},
                "responses": {
                    "2XX": {"description": "Received. Anything else is retried on the schedule; 410 disables the endpoint."},
                },
            }}),
        );
    }
    doc["webhooks"] = serde_json::Value::Object(out);
}

/// Event kinds are the catalogue's: `kind` takes one of them, `kinds` a comma-separated
/// list of them, and a webhook's `kinds` an array of them. The server refuses any other.
fn event_kinds(doc: &mut serde_json::Value) {
    let names: Vec<&str> = guestlist_domain::events::CATALOGUE
        .iter()
        .map(|k| k.name)
        .collect();
    let one = names
        .iter()
        .map(|n| n.replace('.', "\\."))
        .collect::<Vec<_>>()
        .join("|");
    let list = format!("^({one})(,({one}))*$");
    if let Some(paths) = doc["paths"].as_object_mut() {
        for op in paths
            .values_mut()
            .filter_map(|p| p.as_object_mut())
            .flat_map(|p| p.values_mut())
        {
            for param in op
                .get_mut("parameters")
                .and_then(|p| p.as_array_mut())
                .into_iter()
                .flatten()
            {
                match param["name"].as_str() {
                    Some("kind") if param["in"] == "query" => {
                        param["schema"] = json!({"type": "string", "enum": names});
                    }
                    Some("kinds") if param["in"] == "query" => {
                        param["schema"] = json!({"type": "string", "pattern": list});
                    }
                    _ => {}
                }
            }
        }
    }
    for schema in ["CreateWebhookRequest", "UpdateWebhookRequest"] {
        if let Some(items) = doc
            .pointer_mut(&format!("/components/schemas/{schema}/properties/kinds"))
            .and_then(|k| k.as_object_mut())
        {
            items.insert("items".into(), json!({"type": "string", "enum": names}));
        }
    }
}

/// The document as pretty JSON, as committed in `openapi.json`.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(&doc).expect("the OpenAPI document serializes");
    cross_field_rules(&mut doc);
    optional_parameters_are_absent(&mut doc);
    links(&mut doc);
    webhooks(&mut doc);
    event_kinds(&mut doc);
    let mut s = serde_json::to_string_pretty(&doc).expect("the OpenAPI document serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    /// Every operation has an id of its own (OpenAPI requires it; generated clients
    /// name their functions by it).
    #[test]
    fn operation_ids_are_unique() {
        let doc: serde_json::Value = serde_json::from_str(&super::openapi_json()).unwrap();
        let mut seen = std::collections::HashSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                if let Some(id) = op["operationId"].as_str() {
                    assert!(seen.insert(id.to_owned()), "operationId {id} is used twice");
                }
            }
        }
        assert!(seen.len() > 50);
        for (from, _, links) in super::LINKS {
            assert!(seen.contains(*from), "{from}");
            for (_, target, _) in *links {
                assert!(seen.contains(*target), "{target}");
            }
        }
    }

    /// Every object a request body holds, however deep (properties, items, the
    /// variants of a oneOf), refuses fields it does not declare, as the server does:
    /// a client or fuzzer reading the document learns that an unknown field is an
    /// error.
    #[test]
    fn every_request_object_is_closed() {
        let doc: serde_json::Value = serde_json::from_str(&super::openapi_json()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let mut todo: Vec<(String, &serde_json::Value)> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (ct, media) in op["requestBody"]["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                {
                    todo.push((format!("{method} {path} {ct}"), &media["schema"]));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut open = Vec::new();
        while let Some((at, schema)) = todo.pop() {
            if !schema.is_object() {
                continue;
            }
            if let Some(r) = schema["$ref"].as_str() {
                let name = r.rsplit('/').next().unwrap();
                if seen.insert(name.to_owned()) {
                    todo.push((name.to_owned(), &schemas[name]));
                }
                continue;
            }
            // An object's definition (a cross-field rule's subschema declares no type:
            // it constrains the closed object it sits in).
            if schema["type"] == "object" && schema["additionalProperties"] != false {
                open.push(at.clone());
            }
            for (k, v) in schema["properties"].as_object().into_iter().flatten() {
                todo.push((format!("{at}.{k}"), v));
            }
            todo.push((format!("{at}[]"), &schema["items"]));
            for key in ["oneOf", "anyOf", "allOf"] {
                for (i, v) in schema[key].as_array().into_iter().flatten().enumerate() {
                    todo.push((format!("{at}.{key}[{i}]"), v));
                }
            }
        }
        assert!(
            seen.contains("ImportRow"),
            "the walk reaches nested schemas"
        );
        assert!(open.is_empty(), "open to unknown fields: {open:?}");
    }
}
