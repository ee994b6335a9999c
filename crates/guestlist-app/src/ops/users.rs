//! Users' known identities: verified e-mail addresses and usernames, vouched for by
//! the host's tokens or set by the host, so that an invitation or an owner's add by
//! e-mail finds the person behind an address (never an unverified one).

use std::collections::HashMap;
use std::sync::Mutex;

use guestlist_domain::events::UserIdentitiesSet;
use guestlist_domain::{Actor, Email, Error, UserId, Username};
use guestlist_store::{Identities, IdentitySource};

use super::operation;
use crate::scope::{asked_about, event_on};
use crate::{App, Result};

/// Most identities of one kind the host may set for a user.
pub const MAX_IDENTITIES: usize = 20;

struct SetIdentities {
    actor: Actor,
    user: UserId,
    identities: Identities,
}

operation!(SetIdentities => Identities, |self, tx| {
    if !self.actor.is_platform_admin() {
        return Err(Error::forbidden("only a platform administrator sets users' identities"));
    }
    tx.put_identities(&self.user, &self.identities, IdentitySource::Host, true, crate::now()).await?;
    tx.append_event(&event_on(
        None,
        &self.actor,
        Some(self.user.as_str()),
        UserIdentitiesSet { emails: self.identities.emails.len(), usernames: self.identities.usernames.len() },
    ))
    .await?;
    tx.identities_of(&self.user).await
});

struct GetIdentities(UserId);

operation!(GetIdentities => Identities, |self, tx| {
    tx.identities_of(&self.0).await
});

struct Remember {
    user: UserId,
    identities: Identities,
}

operation!(Remember => (), |self, tx| {
    tx.put_identities(&self.user, &self.identities, IdentitySource::Token, false, crate::now()).await
});

/// What was last recorded for each user seen in a token, so an unchanged identity
/// costs no write. Bounded: cleared when full.
#[derive(Default)]
pub(crate) struct Seen(Mutex<HashMap<UserId, Identities>>);

const SEEN_MAX: usize = 100_000;

fn parsed<T>(
    field: &str,
    values: &[String],
    parse: impl Fn(&str) -> std::result::Result<T, Error>,
) -> Result<Vec<T>> {
    if values.len() > MAX_IDENTITIES {
        return Err(Error::invalid(field, format!("at most {MAX_IDENTITIES}")));
    }
    values
        .iter()
        .map(|v| parse(v).map_err(|e| e.in_field(field)))
        .collect()
}

impl App {
    /// The host tells Guestlist who a user is known as (platform administrators):
    /// these e-mail addresses (verified by the host) and usernames, replacing what the
    /// host said before. An invitation or owner's add by any of them finds the user.
    pub async fn set_identities(
        &self,
        actor: &Actor,
        user: UserId,
        emails: &[String],
        usernames: &[String],
    ) -> Result<Identities> {
        let identities = Identities {
            emails: parsed("emails", emails, Email::parse)?,
            usernames: parsed("usernames", usernames, Username::parse)?,
        };
        self.store_ref()
            .write(SetIdentities {
                actor: actor.clone(),
                user,
                identities,
            })
            .await
    }

    /// A user's known identities: your own, or anyone's for a platform administrator.
    pub async fn identities(&self, actor: &Actor, user: UserId) -> Result<Identities> {
        let user = asked_about(actor, Some(&user))?;
        self.store_ref().read(GetIdentities(user)).await
    }

    /// Records what a verified token vouches for (its verified e-mail, its username),
    /// once per change. A failure is logged: the request goes on.
    /// Forgets that `user`'s token identities were recorded.
    pub(crate) fn forget_seen(&self, user: &UserId) {
        self.0
            .seen
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
    }

    pub(crate) async fn remember(&self, actor: &Actor) {
        let Actor::User { id, .. } = actor else {
            return;
        };
        let identities = Identities {
            emails: actor.verified_email().into_iter().collect(),
            usernames: actor.username().into_iter().collect(),
        };
        if identities.emails.is_empty() && identities.usernames.is_empty() {
            return;
        }
        {
            let seen = self.0.seen.0.lock().unwrap_or_else(|e| e.into_inner());
            if seen.get(id) == Some(&identities) {
                return;
            }
        }
        let written = self
            .store_ref()
            .write(Remember {
                user: id.clone(),
                identities: identities.clone(),
            })
            .await;
        match written {
            Ok(()) => {
                let mut seen = self.0.seen.0.lock().unwrap_or_else(|e| e.into_inner());
                if seen.len() >= SEEN_MAX {
                    seen.clear();
                }
                seen.insert(id.clone(), identities);
            }
            Err(e) => tracing::warn!(error = %e, "could not record a user's identities"),
        }
    }
}
