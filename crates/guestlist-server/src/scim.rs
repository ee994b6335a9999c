//! The SCIM 2.0 front door at `/scim/v2` (RFC 7644): discovery (ServiceProviderConfig,
//! ResourceTypes, Schemas), and Users and Groups. Thin: it reads the request (a SCIM
//! key, JSON, the query), calls one application function (`ops/scim/`) and renders
//! `application/scim+json`, with `ETag` and `Location`. Refusals are SCIM error bodies
//! (`error::scim_response`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use guestlist_app::{ScimCaller, ScimChange, ScimKind, ScimList, ScimQuery, ScimResource};
use guestlist_domain::Error;
use guestlist_domain::scim::filter::project;
use guestlist_domain::scim::patch::read_patch;
use guestlist_domain::scim::schema::{RESOURCES, schemas};
use guestlist_domain::scim::{LIST_RESPONSE, SERVICE_PROVIDER_CONFIG, ScimType, refused};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::scim_response;

const SCIM_JSON: &str = "application/scim+json";

/// A SCIM refusal.
pub struct ScimError(Error);

impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        ScimError(e)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        scim_response(&self.0)
    }
}

type Answer = Result<Response, ScimError>;

/// The caller: a SCIM key (and nothing else), the subtree it provisions, and where
/// this service's `/scim/v2` is.
pub struct Scim(ScimCaller);

impl FromRequestParts<AppState> for Scim {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let token = crate::extract::bearer(parts)
            .map_err(|e| ScimError(e.0))?
            .ok_or_else(|| Error::Unauthenticated("use Authorization: Bearer <SCIM key>".into()))?;
        let (actor, root) = state.app.authenticate_scim(token).await?;
        Ok(Scim(ScimCaller {
            actor,
            root,
            base: format!("{}/scim/v2", state.options.public_url.trim_end_matches('/')),
        }))
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{name}", get(resource_type))
        .route("/Schemas", get(list_schemas))
        .route("/Schemas/{id}", get(one_schema))
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", post(search_users))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(put_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route("/Groups/.search", post(search_groups))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(put_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/.search", post(search_all))
        .route("/Bulk", post(bulk))
        .fallback(not_found)
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    res
}

fn body_of(bytes: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ScimError(refused(
            ScimType::InvalidSyntax,
            format!("the body is not JSON: {e}"),
        ))
    })
}

/// The query parameters a request may carry; any other is refused.
#[derive(Default)]
struct Params {
    list: ScimQuery,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn params(raw: Option<&str>, listing: bool) -> Result<Params, ScimError> {
    let mut p = Params::default();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let number = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| ScimError(refused(ScimType::InvalidValue, format!("{k} is a number"))))
        };
        match k.as_ref() {
            "attributes" => p.attributes = split_list(&v),
            "excludedAttributes" => p.excluded = split_list(&v),
            "filter" if listing => p.list.filter = Some(v.into_owned()),
            "startIndex" if listing => p.list.start_index = Some(number(&v)?),
            "count" if listing => p.list.count = Some(number(&v)?),
            "sortBy" | "sortOrder" => {
                return Err(ScimError(refused(
                    ScimType::InvalidValue,
                    "sorting is not supported (ServiceProviderConfig: sort)",
                )));
            }
            other => {
                return Err(ScimError(refused(
                    ScimType::InvalidValue,
                    format!("unknown query parameter {other:?}"),
                )));
            }
        }
    }
    Ok(p)
}

fn shown(kind: ScimKind, r: &ScimResource, p: &Params) -> Result<Value, ScimError> {
    Ok(Value::Object(project(
        kind.def(),
        &r.json,
        &p.attributes,
        &p.excluded,
    )?))
}

fn one(kind: ScimKind, status: StatusCode, r: ScimResource, p: &Params) -> Answer {
    let mut res = scim_json(status, &shown(kind, &r, p)?);
    if let Ok(v) = HeaderValue::from_str(&r.etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&r.location)
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

fn list_response(kind: ScimKind, list: ScimList, p: &Params) -> Answer {
    let resources = list
        .resources
        .iter()
        .map(|r| shown(kind, r, p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": list.total,
            "startIndex": list.start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    ))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn list(state: AppState, caller: ScimCaller, kind: ScimKind, raw: Option<String>) -> Answer {
    let p = params(raw.as_deref(), true)?;
    let list = state.app.scim_list(&caller, kind, p.list.clone()).await?;
    list_response(kind, list, &p)
}

/// `POST …/.search`: a SearchRequest, answered as a list.
async fn search(state: AppState, caller: ScimCaller, kind: ScimKind, body: Bytes) -> Answer {
    let Value::Object(req) = body_of(&body)? else {
        return Err(ScimError(refused(
            ScimType::InvalidSyntax,
            "a SearchRequest is an object",
        )));
    };
    let mut p = Params::default();
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Value::String(s) => split_list(s),
            _ => vec![],
        }
    };
    for (k, v) in &req {
        match k.as_str() {
            "schemas" => {}
            "attributes" => p.attributes = strings(v),
            "excludedAttributes" => p.excluded = strings(v),
            "filter" => p.list.filter = v.as_str().map(str::to_owned),
            "startIndex" => p.list.start_index = v.as_i64(),
            "count" => p.list.count = v.as_i64(),
            other => {
                return Err(ScimError(refused(
                    ScimType::InvalidSyntax,
                    format!("a SearchRequest has no {other:?}"),
                )));
            }
        }
    }
    let list = state.app.scim_list(&caller, kind, p.list.clone()).await?;
    list_response(kind, list, &p)
}

async fn get_one(
    state: AppState,
    caller: ScimCaller,
    kind: ScimKind,
    id: String,
    raw: Option<String>,
    headers: HeaderMap,
) -> Answer {
    let p = params(raw.as_deref(), false)?;
    let r = state.app.scim_get(&caller, kind, &id).await?;
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == r.etag || t.trim() == "*"));
    if unchanged {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&r.etag) {
            res.headers_mut().insert(header::ETAG, v);
        }
        return Ok(res);
    }
    one(kind, StatusCode::OK, r, &p)
}

async fn create(
    state: AppState,
    caller: ScimCaller,
    kind: ScimKind,
    raw: Option<String>,
    body: Bytes,
) -> Answer {
    let p = params(raw.as_deref(), false)?;
    let r = state
        .app
        .scim_create(&caller, kind, body_of(&body)?)
        .await?;
    one(kind, StatusCode::CREATED, r, &p)
}

async fn change(
    state: AppState,
    caller: ScimCaller,
    kind: ScimKind,
    id: String,
    raw: Option<String>,
    headers: HeaderMap,
    change: ScimChange,
) -> Answer {
    let p = params(raw.as_deref(), false)?;
    let r = state
        .app
        .scim_change(&caller, kind, &id, change, if_match(&headers))
        .await?;
    one(kind, StatusCode::OK, r, &p)
}

async fn delete(
    state: AppState,
    caller: ScimCaller,
    kind: ScimKind,
    id: String,
    headers: HeaderMap,
) -> Answer {
    state
        .app
        .scim_delete(&caller, kind, &id, if_match(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

macro_rules! handlers {
    ($kind:expr, $list:ident, $search:ident, $create:ident, $get:ident, $put:ident, $patch:ident, $delete:ident) => {
        async fn $list(State(s): State<AppState>, Scim(c): Scim, RawQuery(q): RawQuery) -> Answer {
            list(s, c, $kind, q).await
        }
        async fn $search(State(s): State<AppState>, Scim(c): Scim, body: Bytes) -> Answer {
            search(s, c, $kind, body).await
        }
        async fn $create(
            State(s): State<AppState>,
            Scim(c): Scim,
            RawQuery(q): RawQuery,
            body: Bytes,
        ) -> Answer {
            create(s, c, $kind, q, body).await
        }
        async fn $get(
            State(s): State<AppState>,
            Scim(c): Scim,
            Path(id): Path<String>,
            RawQuery(q): RawQuery,
            h: HeaderMap,
        ) -> Answer {
            get_one(s, c, $kind, id, q, h).await
        }
        async fn $put(
            State(s): State<AppState>,
            Scim(c): Scim,
            Path(id): Path<String>,
            RawQuery(q): RawQuery,
            h: HeaderMap,
            body: Bytes,
        ) -> Answer {
            let replace = ScimChange::Replace(body_of(&body)?);
            change(s, c, $kind, id, q, h, replace).await
        }
        async fn $patch(
            State(s): State<AppState>,
            Scim(c): Scim,
            Path(id): Path<String>,
            RawQuery(q): RawQuery,
            h: HeaderMap,
            body: Bytes,
        ) -> Answer {
            let ops = ScimChange::Patch(read_patch(&body_of(&body)?)?);
            change(s, c, $kind, id, q, h, ops).await
        }
        async fn $delete(
            State(s): State<AppState>,
            Scim(c): Scim,
            Path(id): Path<String>,
            h: HeaderMap,
        ) -> Answer {
            delete(s, c, $kind, id, h).await
        }
    };
}

handlers!(
    ScimKind::User,
    list_users,
    search_users,
    create_user,
    get_user,
    put_user,
    patch_user,
    delete_user
);
handlers!(
    ScimKind::Group,
    list_groups,
    search_groups,
    create_group,
    get_group,
    put_group,
    patch_group,
    delete_group
);

/// What this service provider supports (RFC 7643 §5).
async fn service_provider_config(State(s): State<AppState>, Scim(c): Scim) -> Response {
    let max = s.app.scim_max_results();
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [SERVICE_PROVIDER_CONFIG],
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": max },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": true },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "SCIM key",
                "description": "Authorization: Bearer <key from guestlist api-key create --scim SPACE>",
                "primary": true,
            }],
            "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", c.base) },
        }),
    )
}

fn listed(items: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": items.len(),
            "startIndex": 1,
            "itemsPerPage": items.len(),
            "Resources": items,
        }),
    )
}

async fn resource_types(Scim(c): Scim) -> Response {
    listed(RESOURCES.iter().map(|r| r.render(&c.base)).collect())
}

async fn resource_type(Scim(c): Scim, Path(name): Path<String>) -> Answer {
    let r = RESOURCES
        .iter()
        .find(|r| r.name == name)
        .ok_or(Error::NotFound("resource type"))?;
    Ok(scim_json(StatusCode::OK, &r.render(&c.base)))
}

async fn list_schemas(Scim(c): Scim) -> Response {
    listed(schemas().iter().map(|s| s.render(&c.base)).collect())
}

async fn one_schema(Scim(c): Scim, Path(id): Path<String>) -> Answer {
    let s = schemas()
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(Error::NotFound("schema"))?;
    Ok(scim_json(StatusCode::OK, &s.render(&c.base)))
}

/// A search across resource types is not supported (RFC 7644 §3.4.3: 501).
async fn search_all(Scim(_): Scim) -> Response {
    not_implemented(
        "searching several resource types at once is not supported; search /Users or /Groups",
    )
}

async fn bulk(Scim(_): Scim) -> Response {
    not_implemented("bulk operations are not supported (ServiceProviderConfig: bulk)")
}

fn not_implemented(detail: &str) -> Response {
    scim_json(
        StatusCode::NOT_IMPLEMENTED,
        &json!({ "schemas": [guestlist_domain::scim::ERROR_SCHEMA], "status": "501", "detail": detail }),
    )
}

async fn not_found() -> ScimError {
    ScimError(Error::NotFound("SCIM endpoint"))
}
