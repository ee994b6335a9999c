//! Rosters with consent and join requests: a member manager adds an existing account
//! (a pending membership only that user can accept or decline), a user asks to join a
//! `request`-mode space (or through a link that needs approval) and a manager approves
//! or denies; and what happens to a sponsor's invitations when they leave.

mod adds;
mod ask;
mod decide;
mod deprovision;
mod mine;

pub(crate) use ask::*;
use decide::*;
pub use deprovision::*;
pub use mine::*;

use crate::Result;
use crate::ops::members::MembershipView;
use guestlist_domain::{Email, Error, JoinOutcome, SpacePath, UserId};
use guestlist_store::{JoinRequestRow, Tx};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct JoinRequestView {
    pub request: JoinRequestRow,
}

impl JoinRequestView {
    /// The opaque cursor that pages past this row (Relay connections, `after`).
    pub fn cursor(&self) -> String {
        crate::paging::encode(&guestlist_store::PageKey {
            created_at: self.request.created_at,
            id: self.request.id,
        })
    }
}

/// What asking to join did.
#[derive(Debug, Clone)]
pub struct RequestResult {
    /// `requested` (also for a request already waiting), `joined` (an open space) or
    /// `already_member`.
    pub outcome: JoinOutcome,
    pub request: Option<JoinRequestView>,
    pub membership: Option<MembershipView>,
}

#[derive(Debug, Clone)]
pub struct JoinRequestPage {
    pub requests: Vec<JoinRequestView>,
    pub next: Option<String>,
}

/// How a manager names the account to add.
#[derive(Debug, Clone)]
pub enum Account {
    Id(UserId),
    Email(Email),
}

/// The user behind an e-mail address: one who signed up through the gate, or who
/// joined a space with that address verified.
async fn account_of(tx: &mut dyn Tx, account: &Account, within: &SpacePath) -> Result<UserId> {
    match account {
        Account::Id(id) => Ok(id.clone()),
        Account::Email(email) => {
            if let Some(s) = tx.signup_of_email(email).await? {
                return Ok(s.user_id);
            }
            match tx.users_with_email(email, within).await?.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(Error::NotFound("account")),
                _ => Err(Error::invalid(
                    "email",
                    "several accounts used this address: add by user id",
                )),
            }
        }
    }
}

async fn space_of(tx: &mut dyn Tx, space_id: Uuid) -> Result<SpacePath> {
    tx.space_path_of(space_id)
        .await?
        .ok_or(Error::NotFound("space"))
}
