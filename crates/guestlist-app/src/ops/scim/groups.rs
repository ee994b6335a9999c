//! SCIM Groups as spaces: which space a group is, its members, and granting or ending
//! their memberships under the ceiling.

use super::*;
use crate::Result;
use crate::ops::admission::admit;
use crate::ops::members::RemoveMember;
use crate::scope::Scope;
use guestlist_domain::scim::{GROUP, Object, ScimType, refused};
use guestlist_domain::{Error, MembershipSource, Permission, RoleName, SpacePath, UserId};
use guestlist_store::{Operation, PageKey, ScimGroupRow, SpaceQuery, SpaceRow, Tx, Visibility};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

/// A space that is a group here: within the root, and not deleted as a group.
pub(super) async fn group_space(
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

pub(super) async fn render_group(
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
pub(super) async fn grant(
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
        crate::ops::admission::Admitted::AlreadyMember(_)
    ))
}

/// Ends the membership a group gave (one of another source stays: the person came in
/// some other way too).
pub(super) async fn ungrant(
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

/// Makes the provider's members of a group exactly `wanted` (SCIM user ids).
pub(super) async fn set_members(
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

pub(super) fn members_of(attrs: &Object) -> Vec<String> {
    match attrs.get("members") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

pub(super) fn display_name(attrs: &Object) -> Result<String> {
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
pub(super) async fn spaces_within(tx: &mut dyn Tx, root: &SpacePath) -> Result<Vec<SpaceRow>> {
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
pub(super) async fn path_for(tx: &mut dyn Tx, root: &SpacePath, name: &str) -> Result<SpacePath> {
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
