//! SCIM 2.0 provisioning (RFC 7643/7644) for an identity provider holding a SCIM key
//! bound to a subtree (its root): Users as the provider sends them, Groups as the
//! spaces within the root. An active user holds a membership (source `provisioned`,
//! the configured role) of each of their groups, given through the grant ceiling
//! like any other grant; a user set inactive or deleted is deprovisioned within the
//! root (memberships end, what they sponsored there is revoked, with events), and set
//! active again gets their groups' memberships back.
//!
//! The schemas, the filter language and PATCH are the domain's (`guestlist_domain::scim`);
//! this file stores, provisions and renders.

mod change;
mod create;
mod delete;
mod groups;
mod read;
mod users;

use groups::*;
use users::*;

use crate::{App, Result};
use guestlist_domain::scim::patch::PatchOp;
use guestlist_domain::scim::{GROUP, Object, ResourceDef, USER};
use guestlist_domain::{Actor, Error, SpacePath};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// `[scim]`: how provisioned users and groups map onto Guestlist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScimConfig {
    /// Which attribute of a new SCIM user is its Guestlist user id (the `sub` of the
    /// host's tokens): `userName`, `externalId`, or `id` (a new UUID). Fixed at
    /// creation.
    pub user_id: ScimUserId,
    /// The role a group's members hold in its space.
    pub member_role: String,
    /// A group posted for a space that does not exist creates the space under the
    /// key's root (off: refused).
    pub create_groups: bool,
    /// Most resources one list answers (`count` is capped to it).
    pub max_results: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScimUserId {
    #[serde(rename = "userName")]
    UserName,
    #[serde(rename = "externalId")]
    ExternalId,
    #[serde(rename = "id")]
    Id,
}

impl Default for ScimConfig {
    fn default() -> Self {
        ScimConfig {
            user_id: ScimUserId::UserName,
            member_role: "member".into(),
            create_groups: true,
            max_results: 200,
        }
    }
}

/// The two resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimKind {
    User,
    Group,
}

impl ScimKind {
    pub fn def(self) -> &'static ResourceDef {
        match self {
            ScimKind::User => &USER,
            ScimKind::Group => &GROUP,
        }
    }
}

/// Who provisions: the SCIM key, the subtree it is bound to, and where `/scim/v2` is
/// served (resources name their locations).
#[derive(Debug, Clone)]
pub struct ScimCaller {
    pub actor: Actor,
    pub root: SpacePath,
    pub base: String,
}

/// A resource as shown, with its version (a weak ETag).
#[derive(Debug, Clone)]
pub struct ScimResource {
    pub json: Object,
    pub etag: String,
    pub location: String,
}

/// A list's page: `totalResults`, the 1-based `startIndex`, and the resources.
#[derive(Debug, Clone)]
pub struct ScimList {
    pub total: usize,
    pub start_index: usize,
    pub resources: Vec<ScimResource>,
}

/// What a write replaces a resource with: a whole new one (`PUT`) or patches.
#[derive(Debug, Clone)]
pub enum ScimChange {
    Replace(Value),
    Patch(Vec<PatchOp>),
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The resource's version: a hash of what it shows (meta aside).
fn etag_of(resource: &Object) -> String {
    let mut shown = resource.clone();
    shown.remove("meta");
    let digest = Sha256::digest(Value::Object(shown).to_string().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// `If-Match`: `*`, or a list of versions one of which must be the current one.
fn check_if_match(if_match: Option<&str>, etag: &str) -> Result<()> {
    let Some(wanted) = if_match else {
        return Ok(());
    };
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    if wanted.trim() == "*" || wanted.split(',').any(|w| bare(w) == bare(etag)) {
        Ok(())
    } else {
        Err(Error::PreconditionFailed)
    }
}

fn finish(
    def: &ResourceDef,
    caller: &ScimCaller,
    id: &str,
    mut attrs: Object,
    created: time::OffsetDateTime,
    modified: time::OffsetDateTime,
) -> ScimResource {
    let mut schemas = vec![json!(def.core.id)];
    for e in def.extensions {
        if attrs.contains_key(e.id) {
            schemas.push(json!(e.id));
        }
    }
    let mut out = Object::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), json!(id));
    if let Some(x) = attrs.remove("externalId") {
        out.insert("externalId".into(), x);
    }
    out.extend(attrs);
    let location = format!("{}{}/{id}", caller.base, def.endpoint);
    let etag = etag_of(&out);
    out.insert(
        "meta".into(),
        json!({
            "resourceType": def.name,
            "created": rfc3339(created),
            "lastModified": rfc3339(modified),
            "location": location,
            "version": etag,
        }),
    );
    ScimResource {
        json: out,
        etag,
        location,
    }
}

fn parse_uuid(id: &str, what: &'static str) -> Result<Uuid> {
    Uuid::try_parse(id).map_err(|_| Error::NotFound(what))
}

/// A list request's parameters, as the front door parsed them.
#[derive(Debug, Clone, Default)]
pub struct ScimQuery {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
}

impl App {
    fn scim_config(&self) -> ScimConfig {
        self.0.config.scim.clone()
    }

    /// Most resources a SCIM list answers (`ServiceProviderConfig`).
    pub fn scim_max_results(&self) -> u32 {
        self.0.config.scim.max_results
    }
}
