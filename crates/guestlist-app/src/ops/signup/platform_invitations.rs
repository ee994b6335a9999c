//! Platform (sign-up) invitations: created by a platform administrator or, when the
//! gate lets them, by users within their quota; re-sent, listed, revoked.

use super::*;
use crate::ops::operation;
use crate::{App, Result, paging};
use guestlist_domain::events::{self, PlatformInvitationResent, PlatformInvitationRevoked};
use guestlist_domain::{Actor, Email, Error, InviteState};
use guestlist_store::{
    MailSubject, NewMail, NewPlatformInvitation, PageKey, PlatformInvitationRow,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub struct PlatformInvitationInput {
    pub email: Option<String>,
    /// Default 1.
    pub max_uses: Option<u32>,
    pub expires_in_seconds: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct PlatformInvitationView {
    pub invitation: PlatformInvitationRow,
    pub state: InviteState,
}

impl PlatformInvitationView {
    pub(super) fn of(invitation: PlatformInvitationRow, now: OffsetDateTime) -> Self {
        let state = invitation.state(now);
        PlatformInvitationView { invitation, state }
    }
}

/// A new platform invitation: the only answer that carries its token.
#[derive(Debug, Clone)]
pub struct PlatformInvitationCreated {
    pub invitation: PlatformInvitationView,
    pub token: String,
    pub link: String,
}

#[derive(Debug, Clone)]
pub struct PlatformInvitationPage {
    pub invitations: Vec<PlatformInvitationView>,
    pub next: Option<String>,
}

pub(super) struct CreatePlatformInvitation {
    pub(super) actor: Actor,
    pub(super) new: NewPlatformInvitation,
}

operation!(CreatePlatformInvitation => PlatformInvitationRow, |self, tx| {
    match &self.actor {
        actor if actor.is_platform_admin() => {}
        Actor::ApiKey { .. } => return Err(Error::forbidden("an API key needs platform_admin to invite to the platform")),
        Actor::User { id, .. } => {
            let gate = tx.gate().await?.settings;
            if !gate.user_invitations {
                return Err(Error::forbidden("users cannot send platform invitations here"));
            }
            if let Some(quota) = gate.user_quota
                && !tx.take_inviter_quota(id.as_str(), quota, gate.quota_period_secs, crate::now()).await?
            {
                return Err(Error::forbidden(format!(
                    "you have sent all {quota} invitations your quota allows{}",
                    if gate.quota_period_secs.is_some() { " for now" } else { "" }
                )));
            }
        }
    }
    if !tx.insert_platform_invitation(&self.new).await? {
        return Err(Error::Contention("a platform invitation token collided".into()));
    }
    if let (Some(mail_id), Some(email)) = (self.new.mail_id, &self.new.email) {
        tx.insert_mail(&NewMail {
            id: mail_id,
            subject: MailSubject::PlatformInvitation(self.new.id),
            recipient: email.clone(),
            created_at: self.new.created_at,
        })
        .await?;
    }
    tx.append_event(&event(
        &self.actor,
        None,
        events::PlatformInvitationCreated {
            invitation_id: self.new.id,
            email: self.new.email.as_ref().map(|e| e.as_str().to_owned()),
            max_uses: self.new.max_uses,
            invited_by: self.new.invited_by.clone(),
        },
    ))
    .await?;
    tx.platform_invitation_by_id(self.new.id).await?.ok_or_else(|| Error::internal("invitation vanished"))
});

/// A new token for a platform invitation, and the e-mail that carries it.
pub(super) struct TokenIssue {
    pub(super) salt: Vec<u8>,
    pub(super) mail_id: Uuid,
}

impl TokenIssue {
    pub(super) fn new() -> Self {
        TokenIssue {
            salt: crate::secrets::Keys::token_salt(),
            mail_id: Uuid::now_v7(),
        }
    }
}

pub(super) struct ResendPlatformInvitation {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
    /// Its new token, and what storage keeps of it.
    pub(super) issue: TokenIssue,
    pub(super) token_hash: Vec<u8>,
    pub(super) interval_secs: i64,
}

operation!(ResendPlatformInvitation => PlatformInvitationRow, |self, tx| {
    let now = crate::now();
    let current = tx.platform_invitation_by_id(self.id).await?.ok_or(Error::NotFound("platform invitation"))?;
    if !self.actor.is_platform_admin() && current.invited_by != self.actor.label() {
        return Err(Error::NotFound("platform invitation"));
    }
    if let Some(refusal) = current.state(now).refusal() {
        return Err(refusal);
    }
    if let Some(last) = current.last_sent_at {
        let wait = self.interval_secs - (now - last).whole_seconds();
        if wait > 0 {
            return Err(Error::RateLimited { retry_after_secs: wait as u64 });
        }
    }
    let mail_id = current.email.as_ref().map(|_| self.issue.mail_id);
    if !tx.reissue_platform_invitation(self.id, &self.token_hash, &self.issue.salt, mail_id, now).await? {
        return Err(Error::Contention("the platform invitation changed while it was re-sent".into()));
    }
    if let Some(email) = &current.email {
        tx.cancel_mail_of(MailSubject::PlatformInvitation(self.id)).await?;
        tx.insert_mail(&NewMail {
            id: self.issue.mail_id,
            subject: MailSubject::PlatformInvitation(self.id),
            recipient: email.clone(),
            created_at: now,
        })
        .await?;
    }
    tx.append_event(&event(
        &self.actor,
        None,
        PlatformInvitationResent { invitation_id: self.id, sends: current.sends + 1 },
    ))
    .await?;
    tx.platform_invitation_by_id(self.id).await?.ok_or_else(|| Error::internal("invitation vanished"))
});

pub(super) struct ListPlatformInvitations {
    pub(super) actor: Actor,
    pub(super) inviter: Option<String>,
    pub(super) after: Option<String>,
    pub(super) limit: u32,
}

operation!(ListPlatformInvitations => PlatformInvitationPage, |self, tx| {
    let inviter = match &self.actor {
        actor if actor.is_platform_admin() => self.inviter.clone(),
        Actor::User { id, .. } if tx.gate().await?.settings.user_invitations => Some(id.to_string()),
        _ => return Err(Error::forbidden("only platform admins list platform invitations here")),
    };
    let now = crate::now();
    let after = paging::decode(self.after.as_deref())?;
    let rows = tx.list_platform_invitations(inviter.as_deref(), after.as_ref(), self.limit + 1).await?;
    let (rows, next) = paging::split(rows, self.limit, |i| PageKey { created_at: i.created_at, id: i.id });
    Ok(PlatformInvitationPage {
        invitations: rows.into_iter().map(|i| PlatformInvitationView::of(i, now)).collect(),
        next,
    })
});

pub(super) struct RevokePlatformInvitation {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
}

operation!(RevokePlatformInvitation => PlatformInvitationView, |self, tx| {
    let found = tx.platform_invitation_by_id(self.id).await?.ok_or(Error::NotFound("invitation"))?;
    let own = self.actor.user_id().is_some_and(|u| u.as_str() == found.invited_by);
    if !own && !self.actor.is_platform_admin() {
        return Err(Error::NotFound("invitation"));
    }
    let now = crate::now();
    if tx.revoke_platform_invitation(self.id, &self.actor.label(), now).await? {
        tx.append_event(&event(
            &self.actor,
            None,
            PlatformInvitationRevoked { invitation_id: self.id, invited_by: found.invited_by.clone(), reason: None, root: None },
        ))
        .await?;
    }
    let fresh = tx.platform_invitation_by_id(self.id).await?.ok_or(Error::NotFound("invitation"))?;
    Ok(PlatformInvitationView::of(fresh, now))
});

impl App {
    /// Invites someone to the platform; `invited_by` is the caller.
    pub async fn create_platform_invitation(
        &self,
        actor: &Actor,
        input: PlatformInvitationInput,
    ) -> Result<PlatformInvitationCreated> {
        let max_uses = input.max_uses.unwrap_or(1);
        if !(1..=MAX_PLATFORM_INVITATION_USES).contains(&max_uses) {
            return Err(Error::invalid(
                "max_uses",
                format!("1 to {MAX_PLATFORM_INVITATION_USES}"),
            ));
        }
        let lifetime = bounded(
            "expires_in",
            input.expires_in_seconds,
            MAX_PLATFORM_INVITATION_LIFETIME_SECS,
        )?;
        let now = crate::now();
        let email = input.email.as_deref().map(Email::parse).transpose()?;
        // One bound to an address is e-mailed: its token is derived from a salt when
        // the message is sent (as a space invitation's), so no row holds it.
        let issue = email.as_ref().map(|_| TokenIssue::new());
        let token = match &issue {
            Some(i) => self.0.keys.token_for(&i.salt),
            None => crate::secrets::random_token(),
        };
        let new = NewPlatformInvitation {
            id: Uuid::now_v7(),
            token_hash: self.0.keys.hash_token(&token),
            token_salt: issue.as_ref().map(|i| i.salt.clone()),
            mail_id: issue.as_ref().map(|i| i.mail_id),
            email,
            max_uses,
            expires_at: lifetime.map(|s| now + Duration::seconds(s)),
            invited_by: actor.label(),
            created_at: now,
        };
        let row = self
            .store_ref()
            .write(CreatePlatformInvitation {
                actor: actor.clone(),
                new,
            })
            .await?;
        if issue.is_some() {
            self.0.mail_queued.notify_one();
        }
        Ok(PlatformInvitationCreated {
            link: self.0.config.signup.url_template.replace("{token}", &token),
            token,
            invitation: PlatformInvitationView::of(row, now),
        })
    }

    /// A new token for a live platform invitation (its inviter or a platform admin),
    /// the old one refused from now on; one bound to an address is e-mailed again. At
    /// most once per `invitation_resend_interval_secs` (429).
    pub async fn resend_platform_invitation(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<PlatformInvitationCreated> {
        let issue = TokenIssue::new();
        let token = self.0.keys.token_for(&issue.salt);
        let row = self
            .store_ref()
            .write(ResendPlatformInvitation {
                actor: actor.clone(),
                id,
                token_hash: self.0.keys.hash_token(&token),
                issue,
                interval_secs: self.0.config.invitations.resend_interval_secs,
            })
            .await?;
        if row.email.is_some() {
            self.0.mail_queued.notify_one();
        }
        Ok(PlatformInvitationCreated {
            link: self.0.config.signup.url_template.replace("{token}", &token),
            token,
            invitation: PlatformInvitationView::of(row, crate::now()),
        })
    }

    pub async fn list_platform_invitations(
        &self,
        actor: &Actor,
        inviter: Option<String>,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<PlatformInvitationPage> {
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(ListPlatformInvitations {
                actor: actor.clone(),
                inviter,
                after,
                limit,
            })
            .await
    }

    /// Soft-revokes a platform invitation (its inviter or a platform admin).
    pub async fn revoke_platform_invitation(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<PlatformInvitationView> {
        self.store_ref()
            .write(RevokePlatformInvitation {
                actor: actor.clone(),
                id,
            })
            .await
    }
}
