//! Invitations carried from another system, with their live tokens.

use super::*;
use crate::ops::{operation, text};
use crate::{App, Result};
use guestlist_domain::{Actor, Error, InvitationOutcome, SpacePath, UserId};

/// The bounds of an invitation token carried over from another system.
pub(super) const MIN_CARRIED_TOKEN_LEN: usize = 16;

pub(super) const MAX_CARRIED_TOKEN_LEN: usize = 128;

/// Whether a token could be one carried over: 16 to 128 letters, digits, `-`, `_`.
pub(super) fn carried_token(token: &str) -> bool {
    (MIN_CARRIED_TOKEN_LEN..=MAX_CARRIED_TOKEN_LEN).contains(&token.len())
        && guestlist_domain::invite::url_safe(token)
}

/// An addressed invitation still pending in another system, brought over by an import:
/// invited here (a new token, and an e-mail with it when it has an address: the old
/// system's token does not work here), expiring when it did there, recorded as sent by
/// its inviter there. Someone already invited or already a member changes nothing.
pub(crate) struct CarriedInvitation(Create);

/// An addressed invitation still pending in another system, as an import row has it.
#[derive(Debug, Clone)]
pub struct PendingElsewhere {
    pub space: SpacePath,
    pub invitee: InviteeInput,
    pub expires_at: Option<time::OffsetDateTime>,
    pub message: Option<String>,
    pub invited_by: Option<UserId>,
    /// Its token there, carried over (no new one is sent).
    pub token: Option<String>,
}

operation!(CarriedInvitation => InvitationOutcome, |self, tx| {
    match self.0.run(tx).await?.pop() {
        Some(r) => r.map(|r| r.outcome),
        None => Err(Error::internal("no row answered")),
    }
});

impl App {
    /// Checks an imported pending invitation: the write that carries it over.
    pub(crate) fn prepare_carried_invitation(
        &self,
        actor: &Actor,
        carried: PendingElsewhere,
    ) -> Result<CarriedInvitation> {
        let PendingElsewhere {
            space,
            invitee,
            expires_at,
            message,
            invited_by,
            token,
        } = carried;
        let lifetime_secs = match expires_at {
            None => self.0.config.invitations.default_lifetime_secs,
            Some(at) => {
                let left = (at - crate::now()).whole_seconds();
                if left < 1 {
                    return Err(Error::invalid(
                        "expires_at",
                        "already past: the invitation is no longer pending",
                    ));
                }
                left.min(MAX_INVITATION_LIFETIME_SECS)
            }
        };
        let mut row = prepare_row(&self.0.keys, &invitee, &None);
        if let (Ok(prepared), Some(token)) = (&mut row, token.as_deref()) {
            prepared.issue = Issue::carried(&self.0.keys, token)?;
        }
        Ok(CarriedInvitation(Create {
            actor: actor.clone(),
            space,
            rows: vec![row],
            lifetime_secs,
            message: text("message", message.as_deref(), 2000)?,
            dry_run: false,
            idempotency: None,
            creator: invited_by,
        }))
    }
}
