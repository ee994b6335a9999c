//! Invitations addressed to one person: create (one or in bulk, idempotently), list,
//! re-send, revoke, and the addressee's accept / decline. Every write that queues an
//! e-mail writes it to the outbox in the same transaction.

mod bulk;
mod carried;
mod create;
mod idempotency;
mod list;
mod manage;
mod respond;

pub use bulk::*;
pub use carried::*;
use create::*;
pub use idempotency::*;
pub use list::*;
pub use respond::*;

use crate::ops::members::MembershipView;
use crate::scope::Scope;
use crate::secrets::TOKEN_LEN;
use crate::{App, Result};
use guestlist_domain::{
    Actor, Error, InvitationOutcome, InvitationStatus, JoinOutcome, Permission,
};
use guestlist_store::{InvitationRow, Tx};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest lifetime an invitation may be given.
pub const MAX_INVITATION_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// How invitations behave; the binary fills it from its configuration.
#[derive(Debug, Clone)]
pub struct InvitationConfig {
    /// The accept link an e-mail carries, with `{token}` in it: an `https://` page of
    /// the host application, or a deep link such as `myapp://invite/{token}`.
    pub accept_url_template: String,
    /// Lifetime of an invitation when the inviter names none.
    pub default_lifetime_secs: i64,
    /// A pending invitation is re-sent at most this often (an expired one any time).
    pub resend_interval_secs: i64,
}

impl Default for InvitationConfig {
    fn default() -> Self {
        InvitationConfig {
            accept_url_template: "http://127.0.0.1:7700/invitations/accept?token={token}".into(),
            default_lifetime_secs: 7 * 24 * 3600,
            resend_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct InvitationInput {
    pub space: String,
    /// Defaults to `member`.
    pub role: Option<String>,
    pub expires_in_seconds: Option<i64>,
    /// A personal note shown in the e-mail.
    pub message: Option<String>,
    pub rows: Vec<InviteeInput>,
    /// Decide every row's outcome without changing anything.
    pub dry_run: bool,
}

#[derive(Debug, Clone)]
pub struct InvitationView {
    pub invitation: InvitationRow,
    pub status: InvitationStatus,
}

impl InvitationView {
    /// The opaque cursor that pages past this row (Relay connections, `after`).
    pub fn cursor(&self) -> String {
        crate::paging::encode(&guestlist_store::PageKey {
            created_at: self.invitation.created_at,
            id: self.invitation.id,
        })
    }
}

impl InvitationView {
    fn of(invitation: InvitationRow, now: OffsetDateTime) -> Self {
        let status = invitation.status(now);
        InvitationView { invitation, status }
    }
}

#[derive(Debug, Clone)]
pub struct InvitationResult {
    pub outcome: InvitationOutcome,
    /// The new or existing invitation (none in a dry run's `invited`, none for members).
    pub invitation: Option<InvitationView>,
    /// For `already_member`: their membership of this space, when held here directly.
    pub membership: Option<MembershipView>,
}

/// What accepting or declining did.
#[derive(Debug, Clone)]
pub struct Response {
    pub invitation: InvitationView,
    /// The space's display name (what the pages show).
    pub space_name: String,
    /// For an accept: joined, upgraded, or already_member (also for a repeated accept).
    pub outcome: Option<JoinOutcome>,
    pub membership: Option<MembershipView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Decline,
}

/// Loads an invitation for someone who manages invites on its space; to anyone else
/// it does not exist.
async fn managed(tx: &mut dyn Tx, actor: &Actor, id: Uuid) -> Result<(Scope, InvitationRow)> {
    let invitation = tx
        .invitation_by_id(id)
        .await?
        .ok_or(Error::NotFound("invitation"))?;
    let scope = Scope::load(tx, &invitation.space_path).await?;
    if !scope
        .rights(tx, actor)
        .await?
        .has(Permission::ManageInvites)
    {
        return Err(Error::NotFound("invitation"));
    }
    Ok((scope, invitation))
}

impl App {
    fn token_hash(&self, token: &str) -> Result<Vec<u8>> {
        let token = token.trim();
        let made_here =
            token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric());
        if !made_here && !carried_token(token) {
            return Err(Error::NotFound("invitation"));
        }
        Ok(self.0.keys.hash_token(token))
    }

    /// The sign-up link of the platform invitation token issued with `salt`.
    pub(crate) fn signup_link(&self, salt: &[u8]) -> String {
        let token = self.0.keys.token_for(salt);
        self.0.config.signup.url_template.replace("{token}", &token)
    }

    /// The accept link of the token issued with `salt`.
    pub(crate) fn accept_link(&self, salt: &[u8]) -> String {
        let token = self.0.keys.token_for(salt);
        self.0
            .config
            .invitations
            .accept_url_template
            .replace("{token}", &token)
    }
}
