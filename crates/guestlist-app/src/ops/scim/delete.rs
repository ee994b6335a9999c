//! `DELETE` of a User (deprovisioned within the subtree) or a Group.

use super::*;
use crate::ops::operation;
use crate::ops::requests::deprovision;
use crate::{App, Result};
use guestlist_domain::Error;
use guestlist_store::{Identities, IdentitySource, ScimGroupRow};

pub(super) struct Delete {
    pub(super) caller: ScimCaller,
    pub(super) config: ScimConfig,
    pub(super) kind: ScimKind,
    pub(super) id: String,
    pub(super) if_match: Option<String>,
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

impl App {
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
