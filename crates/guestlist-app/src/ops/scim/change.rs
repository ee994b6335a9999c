//! `PUT` and `PATCH` of a User or a Group.

use super::*;
use crate::ops::operation;
use crate::ops::spaces::{SpacePatchInput, UpdateSpace};
use crate::{App, Result};
use guestlist_domain::Error;
use guestlist_domain::scim::patch::apply_patch;
use guestlist_domain::scim::{GROUP, Object, ResourceDef, USER};
use guestlist_store::ScimGroupRow;
use serde_json::Value;

pub(super) struct Change {
    pub(super) caller: ScimCaller,
    pub(super) config: ScimConfig,
    pub(super) kind: ScimKind,
    pub(super) id: String,
    pub(super) change: ScimChange,
    pub(super) if_match: Option<String>,
}

/// What a resource becomes: the whole new one, or the current one patched. Only
/// the writable attributes are carried (`read` drops the rest).
pub(super) fn changed(
    def: &ResourceDef,
    current: &ScimResource,
    change: &ScimChange,
) -> Result<Object> {
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

impl App {
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
}
