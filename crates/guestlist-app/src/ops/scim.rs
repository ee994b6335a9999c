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

use std::collections::BTreeSet;

use guestlist_domain::events::{UserProvisioned, UserReactivated};
use guestlist_domain::scim::patch::{PatchOp, apply_patch};
use guestlist_domain::scim::{Filter, GROUP, Object, ResourceDef, ScimType, USER, refused};
use guestlist_domain::{
    Actor, Email, Error, JoinMode, MembershipSource, Permission, RoleName, SpacePath, UserId,
    Username,
};
use guestlist_store::{
    Identities, IdentitySource, Operation, PageKey, ScimGroupRow, ScimUserRow, ScimUsersBy,
    SpaceQuery, SpaceRow, Tx, Visibility,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::admission::admit;
use super::members::RemoveMember;
use super::operation;
use super::requests::deprovision;
use super::spaces::{CreateSpace, NewSpaceInput, SpacePatchInput, UpdateSpace};
use crate::scope::Scope;
use crate::{App, Result};

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

async fn load_user(tx: &mut dyn Tx, root: &SpacePath, id: &str) -> Result<ScimUserRow> {
    let id = parse_uuid(id, "user")?;
    tx.scim_user(root, id).await?.ok_or(Error::NotFound("user"))
}

fn attrs_of(row: &ScimUserRow) -> Result<Object> {
    match serde_json::from_str(&row.resource).map_err(Error::internal)? {
        Value::Object(o) => Ok(o),
        _ => Err(Error::internal("a SCIM user that is not an object")),
    }
}

/// A space that is a group here: within the root, and not deleted as a group.
async fn group_space(
    tx: &mut dyn Tx,
    root: &SpacePath,
    id: &str,
) -> Result<(SpaceRow, Option<ScimGroupRow>)> {
    let id = parse_uuid(id, "group")?;
    let space = tx
        .space_by_id(id)
        .await?
        .filter(|s| s.path.is_within(root))
        .ok_or(Error::NotFound("group"))?;
    let row = tx.scim_group(id).await?;
    if row.as_ref().is_some_and(|g| g.deleted) {
        return Err(Error::NotFound("group"));
    }
    Ok((space, row))
}

async fn render_user(
    tx: &mut dyn Tx,
    caller: &ScimCaller,
    row: &ScimUserRow,
) -> Result<ScimResource> {
    let mut attrs = attrs_of(row)?;
    let mut groups = Vec::new();
    for space_id in tx.scim_groups_of(row.id).await? {
        if let Some(space) = tx
            .space_by_id(space_id)
            .await?
            .filter(|s| s.path.is_within(&caller.root))
            && !tx.scim_group(space_id).await?.is_some_and(|g| g.deleted)
        {
            groups.push(json!({
                "value": space.id.to_string(),
                "$ref": format!("{}/Groups/{}", caller.base, space.id),
                "display": space.name,
                "type": "direct",
            }));
        }
    }
    if !groups.is_empty() {
        attrs.insert("groups".into(), Value::Array(groups));
    }
    Ok(finish(
        &USER,
        caller,
        &row.id.to_string(),
        attrs,
        row.created_at,
        row.updated_at,
    ))
}

async fn render_group(
    tx: &mut dyn Tx,
    caller: &ScimCaller,
    space: &SpaceRow,
    row: Option<&ScimGroupRow>,
) -> Result<ScimResource> {
    let mut attrs = Object::new();
    if let Some(x) = row.and_then(|g| g.external_id.clone()) {
        attrs.insert("externalId".into(), json!(x));
    }
    attrs.insert("displayName".into(), json!(space.name));
    let mut members = Vec::new();
    for id in tx.scim_group_members(space.id).await? {
        // `display` is left out: a client compares the members it sent with these.
        if tx.scim_user(&caller.root, id).await?.is_some() {
            members.push(json!({
                "value": id.to_string(),
                "$ref": format!("{}/Users/{id}", caller.base),
                "type": "User",
            }));
        }
    }
    if !members.is_empty() {
        attrs.insert("members".into(), Value::Array(members));
    }
    let modified = row.map_or(space.created_at, |g| g.updated_at.max(space.created_at));
    Ok(finish(
        &GROUP,
        caller,
        &space.id.to_string(),
        attrs,
        space.created_at,
        modified,
    ))
}

/// The role a group gives, granted through the grant ceiling (the key holds its
/// subtree; the role must mean no more there than that).
async fn grant(
    tx: &mut dyn Tx,
    caller: &ScimCaller,
    config: &ScimConfig,
    path: &SpacePath,
    user: &UserId,
) -> Result<bool> {
    let role = RoleName::parse(&config.member_role).map_err(|e| e.in_field("scim.member_role"))?;
    let scope = Scope::load(tx, path).await?;
    scope
        .require_can_grant(tx, &caller.actor, Permission::ManageMembers, &role)
        .await?;
    let admitted = admit(
        tx,
        &scope,
        &caller.actor,
        user,
        &role,
        MembershipSource::Provisioned,
        None,
    )
    .await?;
    Ok(!matches!(
        admitted,
        super::admission::Admitted::AlreadyMember(_)
    ))
}

/// Ends the membership a group gave (one of another source stays: the person came in
/// some other way too).
async fn ungrant(
    tx: &mut dyn Tx,
    caller: &ScimCaller,
    path: &SpacePath,
    user: &UserId,
) -> Result<()> {
    let Some(space) = tx.space_by_path(path).await? else {
        return Ok(());
    };
    match tx.membership(space.id, user).await? {
        Some(m) if m.source == MembershipSource::Provisioned => {
            RemoveMember {
                actor: caller.actor.clone(),
                path: path.clone(),
                user: user.clone(),
            }
            .run(tx)
            .await
        }
        _ => Ok(()),
    }
}

/// Records the user's e-mail addresses and userName as their known identities (the
/// provider's list replaces what the provider said before), confined to the key's
/// subtree: they count only there, and never take an identity a token verified, the
/// host set, or another subtree's key asserted (`IdentitySource`).
async fn remember(tx: &mut dyn Tx, root: &SpacePath, user: &UserId, attrs: &Object) -> Result<()> {
    let mut ids = Identities::default();
    if let Some(Value::Array(emails)) = attrs.get("emails") {
        for e in emails {
            if let Some(Ok(email)) = e.get("value").and_then(Value::as_str).map(Email::parse) {
                ids.emails.push(email);
            }
        }
    }
    if let Some(name) = attrs.get("userName").and_then(Value::as_str) {
        if let Ok(u) = Username::parse(name) {
            ids.usernames.push(u);
        } else if let Ok(e) = Email::parse(name) {
            ids.emails.push(e);
        }
    }
    ids.emails.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.emails.dedup();
    ids.emails.truncate(super::users::MAX_IDENTITIES);
    ids.usernames.truncate(super::users::MAX_IDENTITIES);
    tx.put_identities(user, &ids, IdentitySource::Scim(root), true, crate::now())
        .await
}

/// A required string attribute, trimmed: `invalidValue` when missing or blank.
fn required<'a>(attrs: &'a Object, name: &str) -> Result<&'a str> {
    attrs
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| refused(ScimType::InvalidValue, format!("{name} is required")))
}

fn user_name_key(attrs: &Object) -> Result<String> {
    Ok(required(attrs, "userName")?.to_lowercase())
}

/// Writes a user (new when `existing` is `None`) and provisions what changed: a new
/// inactive→active turn gives the groups' memberships back, active→inactive
/// deprovisions within the root.
async fn write_user(
    tx: &mut dyn Tx,
    caller: &ScimCaller,
    config: &ScimConfig,
    existing: Option<&ScimUserRow>,
    mut attrs: Object,
) -> Result<ScimUserRow> {
    USER.finish(&mut attrs)?;
    let key = user_name_key(&attrs)?;
    if tx
        .scim_users(&caller.root, ScimUsersBy::UserNameKey(&key))
        .await?
        .iter()
        .any(|u| existing.is_none_or(|e| e.id != u.id))
    {
        return Err(Error::AlreadyExists(format!(
            "a user with userName {key:?} exists"
        )));
    }
    let external_id = attrs
        .get("externalId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let active = attrs.get("active") != Some(&Value::Bool(false));
    let now = crate::now();
    let row = match existing {
        Some(e) => {
            let row = ScimUserRow {
                user_name_key: key,
                external_id,
                active,
                resource: Value::Object(attrs.clone()).to_string(),
                version: e.version + 1,
                updated_at: now,
                ..e.clone()
            };
            if !tx.update_scim_user(&row, e.version).await? {
                // Another write came first: the operation runs again and sees it.
                return Err(Error::Contention("a SCIM user changed meanwhile".into()));
            }
            row
        }
        None => {
            let id = Uuid::now_v7();
            let user_id = match config.user_id {
                ScimUserId::UserName => attrs
                    .get("userName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                ScimUserId::ExternalId => external_id.clone().ok_or_else(|| {
                    refused(
                        ScimType::InvalidValue,
                        "externalId is required: it is the user's id here ([scim] user_id)",
                    )
                })?,
                ScimUserId::Id => id.to_string(),
            };
            let user_id = UserId::parse(&user_id)
                .map_err(|e| refused(ScimType::InvalidValue, e.to_string()))?;
            let row = ScimUserRow {
                id,
                root: caller.root.clone(),
                user_id,
                user_name_key: key,
                external_id,
                active,
                resource: Value::Object(attrs.clone()).to_string(),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            if !tx.insert_scim_user(&row).await? {
                return Err(Error::AlreadyExists(format!(
                    "a user with this userName or user id ({}) exists",
                    row.user_id
                )));
            }
            let scope = Scope::load(tx, &caller.root).await?;
            tx.append_event(&scope.event(
                &caller.actor,
                Some(row.user_id.as_str()),
                UserProvisioned {
                    scim_id: row.id,
                    active,
                },
            ))
            .await?;
            row
        }
    };
    remember(tx, &caller.root, &row.user_id, &attrs).await?;
    let was_active = existing.is_none_or(|e| e.active);
    match (was_active, active) {
        (true, false) => {
            deprovision(
                tx,
                &caller.actor,
                &row.user_id,
                Some(&caller.root),
                "deprovisioned",
            )
            .await?;
        }
        (false, true) => {
            let mut given = 0;
            for space_id in tx.scim_groups_of(row.id).await? {
                if let Some(space) = tx
                    .space_by_id(space_id)
                    .await?
                    .filter(|s| s.path.is_within(&caller.root))
                    && grant(tx, caller, config, &space.path, &row.user_id).await?
                {
                    given += 1;
                }
            }
            let scope = Scope::load(tx, &caller.root).await?;
            tx.append_event(&scope.event(
                &caller.actor,
                Some(row.user_id.as_str()),
                UserReactivated { memberships: given },
            ))
            .await?;
        }
        _ => {}
    }
    Ok(row)
}

/// Makes the provider's members of a group exactly `wanted` (SCIM user ids).
async fn set_members(
    tx: &mut dyn Tx,
    caller: &ScimCaller,
    config: &ScimConfig,
    space: &SpaceRow,
    wanted: &[String],
) -> Result<()> {
    let mut want = BTreeSet::new();
    for v in wanted {
        let id = Uuid::try_parse(v).map_err(|_| {
            refused(
                ScimType::InvalidValue,
                format!("members: no user {v:?} here"),
            )
        })?;
        want.insert(id);
    }
    let have: BTreeSet<Uuid> = tx.scim_group_members(space.id).await?.into_iter().collect();
    let now = crate::now();
    for id in want.difference(&have) {
        let user = tx.scim_user(&caller.root, *id).await?.ok_or_else(|| {
            refused(
                ScimType::InvalidValue,
                format!("members: no user {id} here"),
            )
        })?;
        tx.add_scim_group_member(space.id, *id).await?;
        tx.touch_scim_user(*id, now).await?;
        if user.active {
            grant(tx, caller, config, &space.path, &user.user_id).await?;
        }
    }
    for id in have.difference(&want) {
        tx.remove_scim_group_member(space.id, *id).await?;
        if let Some(user) = tx.scim_user(&caller.root, *id).await? {
            tx.touch_scim_user(*id, now).await?;
            if user.active {
                ungrant(tx, caller, &space.path, &user.user_id).await?;
            }
        }
    }
    Ok(())
}

fn members_of(attrs: &Object) -> Vec<String> {
    match attrs.get("members") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

fn display_name(attrs: &Object) -> Result<String> {
    let name = required(attrs, "displayName")?;
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(refused(
            ScimType::InvalidValue,
            "displayName: at most 200 printable characters",
        ));
    }
    Ok(name.to_owned())
}

/// Every space within the root, in creation order.
async fn spaces_within(tx: &mut dyn Tx, root: &SpacePath) -> Result<Vec<SpaceRow>> {
    let mut all = Vec::new();
    let mut after: Option<PageKey> = None;
    loop {
        let page = tx
            .list_spaces(&SpaceQuery {
                visible: Visibility::Subtrees(vec![root.clone()]),
                after: after.clone(),
                limit: 1000,
            })
            .await?;
        let full = page.len() == 1000;
        after = page.last().map(|s| PageKey {
            created_at: s.created_at,
            id: s.id,
        });
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

/// A new space's path under the root, from the group's name.
async fn path_for(tx: &mut dyn Tx, root: &SpacePath, name: &str) -> Result<SpacePath> {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_matches('-').chars().take(24).collect();
    slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        slug = "group".into();
    }
    for n in 1..1000 {
        let segment = if n == 1 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        };
        let path = SpacePath::parse(&format!("{root}{segment}/"))
            .map_err(|e| refused(ScimType::InvalidValue, e.to_string()))?;
        if tx.space_by_path(&path).await?.is_none() {
            return Ok(path);
        }
    }
    Err(refused(
        ScimType::Uniqueness,
        format!("no free path for {name:?}"),
    ))
}

struct Create {
    caller: ScimCaller,
    config: ScimConfig,
    kind: ScimKind,
    body: Value,
}

operation!(Create => ScimResource, |self, tx| {
    let caller = &self.caller;
    let attrs = self.kind.def().read(&self.body)?;
    match self.kind {
        ScimKind::User => {
            let mut attrs = attrs;
            // A new user is active unless the provider says otherwise, and shows it.
            attrs.entry("active").or_insert(Value::Bool(true));
            let row = write_user(tx, caller, &self.config, None, attrs).await?;
            render_user(tx, caller, &row).await
        }
        ScimKind::Group => {
            let mut attrs = attrs;
            GROUP.finish(&mut attrs)?;
            let name = display_name(&attrs)?;
            let found = spaces_within(tx, &caller.root)
                .await?
                .into_iter()
                .find(|s| s.name.to_lowercase() == name.to_lowercase());
            let now = crate::now();
            let external_id = attrs.get("externalId").and_then(Value::as_str).map(str::to_owned);
            let space = match found {
                Some(space) => {
                    let row = tx.scim_group(space.id).await?;
                    match row {
                        Some(g) if g.deleted => {
                            // A group deleted before and created again: the same space.
                            let g2 = ScimGroupRow { deleted: false, external_id: external_id.clone(), version: g.version + 1, updated_at: now, ..g.clone() };
                            if !tx.put_scim_group(&g2, Some(g.version)).await? {
                                return Err(Error::Contention("a SCIM group changed meanwhile".into()));
                            }
                        }
                        _ => {
                            return Err(Error::AlreadyExists(format!(
                                "the group {name:?} exists (space {}): find it with a displayName filter",
                                space.path
                            )));
                        }
                    }
                    space
                }
                None if !self.config.create_groups => {
                    return Err(refused(
                        ScimType::InvalidValue,
                        format!("no space named {name:?} within {}, and [scim] create_groups is off", caller.root),
                    ));
                }
                None => {
                    let path = path_for(tx, &caller.root, &name).await?;
                    let created = CreateSpace {
                        actor: caller.actor.clone(),
                        input: NewSpaceInput { path, name: Some(name.clone()), join_mode: JoinMode::InviteOnly, member_limit: None },
                    }
                    .run(tx)
                    .await?;
                    let g = ScimGroupRow {
                        space_id: created.space.id,
                        root: caller.root.clone(),
                        external_id: external_id.clone(),
                        deleted: false,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    tx.put_scim_group(&g, None).await?;
                    created.space
                }
            };
            set_members(tx, caller, &self.config, &space, &members_of(&attrs)).await?;
            let row = tx.scim_group(space.id).await?;
            render_group(tx, caller, &space, row.as_ref()).await
        }
    }
});

struct Get {
    caller: ScimCaller,
    kind: ScimKind,
    id: String,
}

operation!(Get => ScimResource, |self, tx| {
    match self.kind {
        ScimKind::User => {
            let row = load_user(tx, &self.caller.root, &self.id).await?;
            render_user(tx, &self.caller, &row).await
        }
        ScimKind::Group => {
            let (space, row) = group_space(tx, &self.caller.root, &self.id).await?;
            render_group(tx, &self.caller, &space, row.as_ref()).await
        }
    }
});

struct List {
    caller: ScimCaller,
    kind: ScimKind,
    filter: Option<Filter>,
    start_index: usize,
    count: usize,
}

operation!(List => ScimList, |self, tx| {
    let caller = &self.caller;
    let mut shown: Vec<ScimResource> = Vec::new();
    let mut total = 0;
    let page = |n: usize| n + 1 >= self.start_index && n + 1 < self.start_index + self.count;
    match self.kind {
        ScimKind::User => {
            let by = match &self.filter {
                Some(f) => match (f.required_eq("userName"), f.required_eq("externalId")) {
                    (Some(name), _) => Some(name.trim().to_lowercase()).map(|k| (true, k)),
                    (None, Some(x)) => Some((false, x.to_owned())),
                    _ => None,
                },
                None => None,
            };
            let rows = match &by {
                Some((true, key)) => tx.scim_users(&caller.root, ScimUsersBy::UserNameKey(key)).await?,
                Some((false, x)) => tx.scim_users(&caller.root, ScimUsersBy::ExternalId(x)).await?,
                None => tx.scim_users(&caller.root, ScimUsersBy::All).await?,
            };
            for row in rows {
                if self.filter.is_none() {
                    if page(total) {
                        shown.push(render_user(tx, caller, &row).await?);
                    }
                    total += 1;
                    continue;
                }
                let r = render_user(tx, caller, &row).await?;
                if self.filter.as_ref().is_some_and(|f| f.matches(&r.json)) {
                    if page(total) {
                        shown.push(r);
                    }
                    total += 1;
                }
            }
        }
        ScimKind::Group => {
            let deleted: BTreeSet<Uuid> = tx
                .scim_groups(&caller.root)
                .await?
                .into_iter()
                .filter(|g| g.deleted)
                .map(|g| g.space_id)
                .collect();
            for space in spaces_within(tx, &caller.root).await? {
                if deleted.contains(&space.id) {
                    continue;
                }
                if self.filter.is_none() && !page(total) {
                    total += 1;
                    continue;
                }
                let row = tx.scim_group(space.id).await?;
                let r = render_group(tx, caller, &space, row.as_ref()).await?;
                if self.filter.as_ref().is_none_or(|f| f.matches(&r.json)) {
                    if page(total) {
                        shown.push(r);
                    }
                    total += 1;
                }
            }
        }
    }
    Ok(ScimList { total, start_index: self.start_index, resources: shown })
});

struct Change {
    caller: ScimCaller,
    config: ScimConfig,
    kind: ScimKind,
    id: String,
    change: ScimChange,
    if_match: Option<String>,
}

/// What a resource becomes: the whole new one, or the current one patched. Only
/// the writable attributes are carried (`read` drops the rest).
fn changed(def: &ResourceDef, current: &ScimResource, change: &ScimChange) -> Result<Object> {
    match change {
        ScimChange::Replace(body) => def.read(body),
        ScimChange::Patch(ops) => {
            let mut attrs = def.read(&Value::Object(current.json.clone()))?;
            apply_patch(def, &mut attrs, ops)?;
            def.read(&Value::Object(attrs))
        }
    }
}

operation!(Change => ScimResource, |self, tx| {
    let caller = &self.caller;
    match self.kind {
        ScimKind::User => {
            let row = load_user(tx, &caller.root, &self.id).await?;
            let current = render_user(tx, caller, &row).await?;
            check_if_match(self.if_match.as_deref(), &current.etag)?;
            let mut attrs = changed(&USER, &current, &self.change)?;
            // A whole user sent without `active` keeps the current state: a profile
            // update does not reactivate anyone.
            if matches!(self.change, ScimChange::Replace(_)) {
                attrs.entry("active").or_insert(Value::Bool(row.active));
            }
            let row = write_user(tx, caller, &self.config, Some(&row), attrs).await?;
            render_user(tx, caller, &row).await
        }
        ScimKind::Group => {
            let (space, row) = group_space(tx, &caller.root, &self.id).await?;
            let current = render_group(tx, caller, &space, row.as_ref()).await?;
            check_if_match(self.if_match.as_deref(), &current.etag)?;
            let mut attrs = changed(&GROUP, &current, &self.change)?;
            GROUP.finish(&mut attrs)?;
            let name = display_name(&attrs)?;
            let space = if name != space.name {
                UpdateSpace {
                    actor: caller.actor.clone(),
                    path: space.path.clone(),
                    patch: SpacePatchInput { name: Some(name), ..Default::default() },
                }
                .run(tx)
                .await?
                .space
            } else {
                space
            };
            let now = crate::now();
            let external_id = attrs.get("externalId").and_then(Value::as_str).map(str::to_owned);
            let (g, expected) = match &row {
                Some(g) => (ScimGroupRow { external_id, version: g.version + 1, updated_at: now, ..g.clone() }, Some(g.version)),
                None => (
                    ScimGroupRow { space_id: space.id, root: caller.root.clone(), external_id, deleted: false, version: 1, created_at: now, updated_at: now },
                    None,
                ),
            };
            if !tx.put_scim_group(&g, expected).await? {
                return Err(Error::Contention("a SCIM group changed meanwhile".into()));
            }
            set_members(tx, caller, &self.config, &space, &members_of(&attrs)).await?;
            render_group(tx, caller, &space, Some(&g)).await
        }
    }
});

struct Delete {
    caller: ScimCaller,
    config: ScimConfig,
    kind: ScimKind,
    id: String,
    if_match: Option<String>,
}

operation!(Delete => (), |self, tx| {
    let caller = &self.caller;
    match self.kind {
        ScimKind::User => {
            let row = load_user(tx, &caller.root, &self.id).await?;
            let current = render_user(tx, caller, &row).await?;
            check_if_match(self.if_match.as_deref(), &current.etag)?;
            if row.active {
                deprovision(tx, &caller.actor, &row.user_id, Some(&caller.root), "deleted").await?;
            }
            tx.put_identities(&row.user_id, &Identities::default(), IdentitySource::Scim(&caller.root), true, crate::now()).await?;
            tx.delete_scim_user(row.id).await?;
            Ok(())
        }
        ScimKind::Group => {
            let (space, row) = group_space(tx, &caller.root, &self.id).await?;
            let current = render_group(tx, caller, &space, row.as_ref()).await?;
            check_if_match(self.if_match.as_deref(), &current.etag)?;
            set_members(tx, caller, &self.config, &space, &[]).await?;
            // The space stays, with its history and links; it is no longer a group.
            let now = crate::now();
            let (g, expected) = match &row {
                Some(g) => (ScimGroupRow { deleted: true, version: g.version + 1, updated_at: now, ..g.clone() }, Some(g.version)),
                None => (
                    ScimGroupRow { space_id: space.id, root: caller.root.clone(), external_id: None, deleted: true, version: 1, created_at: now, updated_at: now },
                    None,
                ),
            };
            if !tx.put_scim_group(&g, expected).await? {
                return Err(Error::Contention("a SCIM group changed meanwhile".into()));
            }
            Ok(())
        }
    }
});

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

    pub async fn scim_create(
        &self,
        caller: &ScimCaller,
        kind: ScimKind,
        body: Value,
    ) -> Result<ScimResource> {
        self.store_ref()
            .write(Create {
                caller: caller.clone(),
                config: self.scim_config(),
                kind,
                body,
            })
            .await
    }

    pub async fn scim_get(
        &self,
        caller: &ScimCaller,
        kind: ScimKind,
        id: &str,
    ) -> Result<ScimResource> {
        self.store_ref()
            .read(Get {
                caller: caller.clone(),
                kind,
                id: id.to_owned(),
            })
            .await
    }

    /// A filtered page of resources: `startIndex` from 1, `count` capped to
    /// `[scim] max_results` (0: only the total).
    pub async fn scim_list(
        &self,
        caller: &ScimCaller,
        kind: ScimKind,
        query: ScimQuery,
    ) -> Result<ScimList> {
        let filter = query
            .filter
            .as_deref()
            .map(|f| Filter::parse(kind.def(), f))
            .transpose()?;
        let max = self.0.config.scim.max_results as usize;
        let start_index = query.start_index.unwrap_or(1).max(1) as usize;
        let count = query.count.map_or(max, |c| (c.max(0) as usize).min(max));
        self.store_ref()
            .read(List {
                caller: caller.clone(),
                kind,
                filter,
                start_index,
                count,
            })
            .await
    }

    pub async fn scim_change(
        &self,
        caller: &ScimCaller,
        kind: ScimKind,
        id: &str,
        change: ScimChange,
        if_match: Option<String>,
    ) -> Result<ScimResource> {
        self.store_ref()
            .write(Change {
                caller: caller.clone(),
                config: self.scim_config(),
                kind,
                id: id.to_owned(),
                change,
                if_match,
            })
            .await
    }

    pub async fn scim_delete(
        &self,
        caller: &ScimCaller,
        kind: ScimKind,
        id: &str,
        if_match: Option<String>,
    ) -> Result<()> {
        self.store_ref()
            .write(Delete {
                caller: caller.clone(),
                config: self.scim_config(),
                kind,
                id: id.to_owned(),
                if_match,
            })
            .await
    }
}
