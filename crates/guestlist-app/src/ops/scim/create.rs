//! `POST /Users` and `POST /Groups`.

use super::*;
use crate::ops::operation;
use crate::ops::spaces::{CreateSpace, NewSpaceInput};
use crate::{App, Result};
use guestlist_domain::scim::{GROUP, ScimType, refused};
use guestlist_domain::{Error, JoinMode};
use guestlist_store::ScimGroupRow;
use serde_json::Value;

pub(super) struct Create {
    pub(super) caller: ScimCaller,
    pub(super) config: ScimConfig,
    pub(super) kind: ScimKind,
    pub(super) body: Value,
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

impl App {
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
}
