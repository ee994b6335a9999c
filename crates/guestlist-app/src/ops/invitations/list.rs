//! Listing invitations: a space's, one, and those addressed to the signed-in person.

use super::*;
use crate::ops::operation;
use crate::scope::subtrees_with;
use crate::{App, Result, paging};
use guestlist_domain::{Actor, Email, Error, InvitationStatus, Permission, SpacePath};
use guestlist_store::{InvitationQuery, PageKey, Tx, Visibility};
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    /// This space and beneath.
    pub space: Option<SpacePath>,
    pub status: Option<InvitationStatus>,
    pub email: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct InvitationPage {
    pub invitations: Vec<InvitationView>,
    pub next: Option<String>,
}

pub(super) struct List {
    pub(super) actor: Actor,
    pub(super) filter: InvitationFilter,
    pub(super) email: Option<Email>,
    pub(super) limit: u32,
}

operation!(List => InvitationPage, |self, tx| {
    let visible = match subtrees_with(tx, &self.actor, Permission::ManageInvites).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    let now = crate::now();
    let rows = tx
        .list_invitations(&InvitationQuery {
            visible,
            subtree: self.filter.space.clone(),
            status: self.filter.status,
            email: self.email.clone(),
            now,
            after: paging::decode(self.filter.after.as_deref())?,
            limit: self.limit + 1,
        })
        .await?;
    let (rows, next) = paging::split(rows, self.limit, |i| PageKey { created_at: i.created_at, id: i.id });
    Ok(InvitationPage { invitations: rows.into_iter().map(|i| InvitationView::of(i, now)).collect(), next })
});

pub(super) struct Get {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
}

operation!(Get => InvitationView, |self, tx| {
    let (_, invitation) = managed(tx, &self.actor, self.id).await?;
    Ok(InvitationView::of(invitation, crate::now()))
});

pub(super) struct Mine {
    pub(super) actor: Actor,
    pub(super) after: Option<String>,
    pub(super) limit: u32,
}

/// The pending invitations addressed to the signed-in `actor` (by user id, username,
/// or an e-mail address the host application verified), newest first.
pub(crate) async fn addressed_to(
    tx: &mut dyn Tx,
    actor: &Actor,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<InvitationView>, Option<String>)> {
    let Actor::User { id, .. } = actor else {
        return Err(Error::forbidden("only a signed-in user has invitations"));
    };
    // Only an address the host application verified shows what was sent to it.
    let (email, username) = (actor.verified_email(), actor.username());
    let now = crate::now();
    let after = paging::decode(after)?;
    let rows = tx
        .invitations_addressed_to(
            id,
            email.as_ref(),
            username.as_ref(),
            now,
            after.as_ref(),
            limit + 1,
        )
        .await?;
    let (rows, next) = paging::split(rows, limit, |i| PageKey {
        created_at: i.created_at,
        id: i.id,
    });
    Ok((
        rows.into_iter()
            .map(|i| InvitationView::of(i, now))
            .collect(),
        next,
    ))
}

operation!(Mine => InvitationPage, |self, tx| {
    let (invitations, next) = addressed_to(tx, &self.actor, self.after.as_deref(), self.limit).await?;
    Ok(InvitationPage { invitations, next })
});

impl App {
    pub async fn list_invitations(
        &self,
        actor: &Actor,
        filter: InvitationFilter,
    ) -> Result<InvitationPage> {
        let limit = paging::page_size(filter.limit)?;
        let email = filter.email.as_deref().map(Email::parse).transpose()?;
        self.store_ref()
            .read(List {
                actor: actor.clone(),
                filter,
                email,
                limit,
            })
            .await
    }

    pub async fn get_invitation(&self, actor: &Actor, id: Uuid) -> Result<InvitationView> {
        self.store_ref()
            .read(Get {
                actor: actor.clone(),
                id,
            })
            .await
    }

    /// The caller's pending invitations (by user id, username, or verified e-mail).
    pub async fn my_invitations(
        &self,
        actor: &Actor,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<InvitationPage> {
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(Mine {
                actor: actor.clone(),
                after,
                limit,
            })
            .await
    }
}
