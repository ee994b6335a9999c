//! The console's spaces: the ones you run (`/admin`), and one space's overview with
//! its settings, sub-spaces and custom roles.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guestlist_app::domain::{Error, JoinMode, Permission, Permissions, RoleName, SpacePath};
use guestlist_app::{NewSpaceInput, SpacePatchInput};
use minijinja::context;

use super::super::{Visitor, encode, page};
use super::{here, render, space, user, wire};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/spaces", axum::routing::post(create_top))
        .route("/admin/spaces/{space}", get(overview))
        .route("/admin/spaces/{space}/settings", post(settings))
        .route("/admin/spaces/{space}/children", post(create_child))
        .route("/admin/spaces/{space}/roles", post(create_role))
}

/// A form's fields as pairs, repeated names kept (checkboxes).
pub(super) fn fields(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The one value of `name`; a field the form does not have is refused.
pub(super) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(super) fn parse(body: &Bytes, known: &[&str]) -> Result<Fields, Error> {
        let pairs = fields(body);
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(Error::invalid(k.clone(), "this form has no such field"));
        }
        Ok(Fields(pairs))
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(super) fn csrf(&self) -> &str {
        self.get("csrf").unwrap_or("")
    }

    /// A whole number, when given.
    pub(super) fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, Error> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| Error::invalid(name, "a whole number"))
            })
            .transpose()
    }

    pub(super) fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

async fn home(State(s): State<AppState>, v: Visitor, OriginalUri(uri): OriginalUri) -> Response {
    let result = async {
        let actor = user(&v)?;
        let page = s.app.list_spaces(actor, None, None, Some(100)).await?;
        // The tree: parents before their children, each indented by its depth.
        let mut managed: Vec<_> = page.spaces.iter().filter(|sv| sv.manages()).collect();
        managed.sort_by(|a, b| a.space.path.as_str().cmp(b.space.path.as_str()));
        let spaces: Vec<_> = managed
            .into_iter()
            .map(|sv| {
                context! {
                    depth => sv.space.path.segments().count().saturating_sub(1).min(8),
                    path => sv.space.path.as_str(),
                    q => encode(sv.space.path.as_str()),
                    name => &sv.space.name,
                    members => sv.space.member_count,
                    limit => sv.space.member_limit,
                    join_mode => sv.space.join_mode.as_str(),
                }
            })
            .collect();
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/home.html",
            None,
            context! { spaces, more => page.next.is_some() },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn overview(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
) -> Response {
    let result = async {
        let actor = user(&v)?;
        let path = space(&raw)?;
        let sv = super::managed(&s, actor, &path).await?;
        let roles = s.app.list_roles(actor, path.clone()).await?;
        let children = s
            .app
            .list_spaces(actor, Some(path.clone()), None, Some(100))
            .await?;
        let roles: Vec<_> = roles
            .iter()
            .map(|(name, perms)| {
                context! {
                    name => name.as_str(),
                    permissions => perms.list().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                }
            })
            .collect();
        let children: Vec<_> = children
            .spaces
            .iter()
            .filter(|c| c.space.path != path)
            .map(|c| {
                context! {
                    path => c.space.path.as_str(),
                    q => encode(c.space.path.as_str()),
                    name => &c.space.name,
                    members => c.space.member_count,
                }
            })
            .collect();
        let perms = Permission::ALL
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>();
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/space.html",
            Some((&path, "overview")),
            context! {
                space => context! {
                    name => &sv.space.name,
                    members => sv.space.member_count,
                    limit => sv.space.member_limit,
                    join_mode => sv.space.join_mode.as_str(),
                },
                roles,
                children,
                all_permissions => perms,
                join_modes => ["open", "invite_only", "request"],
            },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

fn back_to(path: &SpacePath, notice: &str) -> Response {
    Redirect::to(&format!(
        "/admin/spaces/{}?notice={notice}",
        encode(path.as_str())
    ))
    .into_response()
}

async fn settings(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf", "name", "join_mode", "member_limit"])?;
        let actor = v.acting(f.csrf())?;
        let path = space(&raw)?;
        let patch = SpacePatchInput {
            name: Some(f.get("name").unwrap_or("").to_owned()),
            join_mode: f
                .get("join_mode")
                .map(|m| wire("join_mode", m, "open, invite_only or request"))
                .transpose()?,
            member_limit: Some(f.number("member_limit")?),
        };
        s.app.update_space(actor, path.clone(), patch).await?;
        Ok::<_, Error>(back_to(&path, "saved"))
    }
    .await;
    page(&s, &v, "/admin", result)
}

/// A top-level space (platform administrators: the application decides).
async fn create_top(State(s): State<AppState>, v: Visitor, body: Bytes) -> Response {
    let result = create_space(&s, &v, None, &body).await;
    page(&s, &v, "/admin", result)
}

async fn create_child(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let result = async { create_space(&s, &v, Some(space(&raw)?), &body).await }.await;
    page(&s, &v, "/admin", result)
}

/// A space named by its segment, beneath `parent` or at the top.
async fn create_space(
    s: &AppState,
    v: &Visitor,
    parent: Option<SpacePath>,
    body: &Bytes,
) -> Result<Response, Error> {
    let f = Fields::parse(body, &["csrf", "segment", "name", "join_mode"])?;
    let actor = v.acting(f.csrf())?;
    let above = parent.as_ref().map_or("", SpacePath::as_str);
    let segment = f.get("segment").unwrap_or("");
    let path =
        SpacePath::parse(&format!("{above}{segment}/")).map_err(|e| e.in_field("segment"))?;
    let join_mode = f
        .get("join_mode")
        .map(|m| wire("join_mode", m, "open, invite_only or request"))
        .transpose()?
        .unwrap_or(JoinMode::InviteOnly);
    let created = s
        .app
        .create_space(
            actor,
            NewSpaceInput {
                path,
                name: f.get("name").map(str::to_owned),
                join_mode,
                member_limit: None,
            },
        )
        .await?;
    Ok(back_to(&created.space.path, "created"))
}

async fn create_role(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf", "name", "permissions"])?;
        let actor = v.acting(f.csrf())?;
        let path = space(&raw)?;
        let name = RoleName::parse(f.get("name").unwrap_or("")).map_err(|e| e.in_field("name"))?;
        let perms = f
            .all("permissions")
            .into_iter()
            .map(Permission::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if perms.is_empty() {
            return Err(Error::invalid("permissions", "choose at least one"));
        }
        s.app
            .create_role(actor, path.clone(), name, Permissions::of(&perms))
            .await?;
        Ok::<_, Error>(back_to(&path, "role_created"))
    }
    .await;
    page(&s, &v, "/admin", result)
}
