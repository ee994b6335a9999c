//! SCIM Users: reading one, rendering it, and writing one (create, replace, patch) with
//! the identities it asserts within the key's subtree.

use super::*;
use crate::Result;
use crate::ops::requests::deprovision;
use crate::scope::Scope;
use guestlist_domain::events::{UserProvisioned, UserReactivated};
use guestlist_domain::scim::{Object, ScimType, USER, refused};
use guestlist_domain::{Email, Error, SpacePath, UserId, Username};
use guestlist_store::{Identities, IdentitySource, ScimUserRow, ScimUsersBy, Tx};
use serde_json::{Value, json};
use uuid::Uuid;

pub(super) async fn load_user(tx: &mut dyn Tx, root: &SpacePath, id: &str) -> Result<ScimUserRow> {
    let id = parse_uuid(id, "user")?;
    tx.scim_user(root, id).await?.ok_or(Error::NotFound("user"))
}

pub(super) fn attrs_of(row: &ScimUserRow) -> Result<Object> {
    match serde_json::from_str(&row.resource).map_err(Error::internal)? {
        Value::Object(o) => Ok(o),
        _ => Err(Error::internal("a SCIM user that is not an object")),
    }
}

pub(super) async fn render_user(
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

/// Records the user's e-mail addresses and userName as their known identities (the
/// provider's list replaces what the provider said before), confined to the key's
/// subtree: they count only there, and never take an identity a token verified, the
/// host set, or another subtree's key asserted (`IdentitySource`).
pub(super) async fn remember(
    tx: &mut dyn Tx,
    root: &SpacePath,
    user: &UserId,
    attrs: &Object,
) -> Result<()> {
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
    ids.emails.truncate(crate::ops::users::MAX_IDENTITIES);
    ids.usernames.truncate(crate::ops::users::MAX_IDENTITIES);
    tx.put_identities(user, &ids, IdentitySource::Scim(root), true, crate::now())
        .await
}

/// A required string attribute, trimmed: `invalidValue` when missing or blank.
pub(super) fn required<'a>(attrs: &'a Object, name: &str) -> Result<&'a str> {
    attrs
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| refused(ScimType::InvalidValue, format!("{name} is required")))
}

pub(super) fn user_name_key(attrs: &Object) -> Result<String> {
    Ok(required(attrs, "userName")?.to_lowercase())
}

/// Writes a user (new when `existing` is `None`) and provisions what changed: a new
/// inactive→active turn gives the groups' memberships back, active→inactive
/// deprovisions within the root.
pub(super) async fn write_user(
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
