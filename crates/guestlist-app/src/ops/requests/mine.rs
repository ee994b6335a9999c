//! What waits for the signed-in person: invitations, adds and requests.

use super::*;
use crate::ops::invitations::InvitationView;
use crate::ops::members::MembershipView;
use crate::ops::operation;
use crate::scope::require_user;
use crate::{App, Result};
use guestlist_domain::{Actor, MembershipStatus};

/// Everything waiting for the caller.
#[derive(Debug, Clone)]
pub struct Pending {
    pub invitations: Vec<InvitationView>,
    /// Owners' adds waiting for consent.
    pub memberships: Vec<MembershipView>,
    pub join_requests: Vec<JoinRequestView>,
}

pub(super) struct MyPending {
    pub(super) actor: Actor,
}

operation!(MyPending => Pending, |self, tx| {
    let user = require_user(&self.actor)?;
    let invitations = crate::ops::invitations::addressed_to(tx, &self.actor, None, 100).await?.0;
    let mut memberships = Vec::new();
    for (m, path) in tx.memberships_of(user).await? {
        if m.status == MembershipStatus::Pending {
            memberships.push(MembershipView { membership: m, space: path });
        }
    }
    let join_requests = tx
        .pending_join_requests_of(user)
        .await?
        .into_iter()
        .map(|request| JoinRequestView { request })
        .collect();
    Ok(Pending { invitations, memberships, join_requests })
});

impl App {
    /// The caller's pending invitations, owners' adds and join requests.
    pub async fn my_pending(&self, actor: &Actor) -> Result<Pending> {
        self.store_ref()
            .read(MyPending {
                actor: actor.clone(),
            })
            .await
    }
}
