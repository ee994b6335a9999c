//! Creating a shareable invite link: its code generated, chosen or carried, under the
//! grant ceiling.

use super::*;
use crate::ops::{operation, text};
use crate::scope::Scope;
use crate::{App, Result};
use guestlist_domain::events::{self};
use guestlist_domain::{Actor, Email, Error, InviteCode, Permission, RoleName, SpacePath, UserId};
use guestlist_store::{InviteRow, NewInvite, Tx};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone)]
pub struct CreateInvite {
    pub space: SpacePath,
    /// Defaults to `member`.
    pub role: Option<RoleName>,
    pub max_uses: Option<u32>,
    pub expires_in_seconds: Option<i64>,
    pub description: Option<String>,
    pub allow_narrowing: bool,
    /// Redeeming creates a join request for a member manager instead of a membership.
    pub requires_approval: bool,
    /// With `requires_approval`: verified e-mail addresses of these domains join at once.
    pub auto_approve_domains: Vec<String>,
    /// A code of the manager's choosing (a vanity code); generated when `None`.
    pub code: Option<String>,
}

/// A new invite: the only response besides `show_invite_link` that carries the code.
#[derive(Debug, Clone)]
pub struct InviteCreated {
    pub invite: InviteView,
    pub code: String,
    pub link: String,
}

pub(super) struct Create {
    pub(super) actor: Actor,
    pub(super) input: CreateInvite,
    pub(super) role: RoleName,
    pub(super) expires_at: Option<OffsetDateTime>,
    pub(super) description: Option<String>,
    pub(super) auto_approve_domains: Vec<String>,
    /// The new invite's id and code, made before the write.
    pub(super) first: NewCode,
    /// Makes another generated code, in the writer, only if the first one's hash is
    /// taken; `None` for a given code, which is then refused as taken.
    pub(super) codes: Option<Codes>,
    pub(super) external_id: Option<String>,
    /// Who the link is recorded as made by, when not the actor (an import carries
    /// the other system's creator, so the sponsor lifecycle applies to it).
    pub(super) creator: Option<UserId>,
    /// Uses it starts with (a mirrored link's, made elsewhere).
    pub(super) uses: u32,
}

/// Ids tried for one new invite before giving up: a second is needed only when a
/// code's hash is already taken (short codes, a vast table).
pub(super) const CODE_ATTEMPTS: usize = 4;

operation!(Create => InviteRow, |self, tx| {
    let scope = Scope::load(tx, &self.input.space).await?;
    scope.require_can_grant(tx, &self.actor, Permission::ManageInvites, &self.role).await?;
    insert_new(tx, self, &scope).await
});

/// Inserts a new invite with its event, trying further generated codes on a
/// collision; a given code that collides is refused.
pub(super) async fn insert_new(tx: &mut dyn Tx, c: &Create, scope: &Scope) -> Result<InviteRow> {
    let now = crate::now();
    for attempt in 0..CODE_ATTEMPTS {
        let code = match (attempt, &c.codes) {
            (0, _) => c.first.clone(),
            (_, Some(codes)) => codes.generated(),
            (_, None) => {
                return Err(Error::AlreadyExists(
                    "code: this code is taken, or reads too like one that is".into(),
                ));
            }
        };
        let id = code.id;
        let new = NewInvite {
            id,
            code_hash: code.code_hash.clone(),
            space_id: scope.space.id,
            space_path: scope.space.path.clone(),
            role: c.role.clone(),
            max_uses: c.input.max_uses,
            expires_at: c.expires_at,
            description: c.description.clone(),
            allow_narrowing: c.input.allow_narrowing,
            requires_approval: c.input.requires_approval,
            auto_approve_domains: c.auto_approve_domains.clone(),
            created_by: c
                .creator
                .as_ref()
                .map_or_else(|| c.actor.label(), |u| u.as_str().to_owned()),
            created_by_name: c
                .creator
                .as_ref()
                .map_or_else(|| c.actor.display_name(), |u| u.as_str().to_owned()),
            created_at: now,
            code_sealed: code.code_sealed.clone(),
            code_skeleton: code.code_skeleton.clone(),
            external_id: c.external_id.clone(),
            uses: c.uses,
            code_digests: code.code_digests.clone(),
        };
        if tx.insert_invite(&new).await? {
            tx.append_event(&scope.event(
                &c.actor,
                None,
                events::InviteCreated {
                    invite_id: id,
                    role: c.role.clone(),
                    max_uses: c.input.max_uses,
                    expires_at: c.expires_at.map(|t| t.unix_timestamp()),
                    allow_narrowing: c.input.allow_narrowing,
                    code: code.form(),
                    external_id: c.external_id.clone(),
                },
            ))
            .await?;
            return Ok(new.stored());
        }
        if let Some(x) = &c.external_id
            && tx.invite_by_external_id(scope.space.id, x).await?.is_some()
        {
            return Err(Error::AlreadyExists(format!(
                "external_id: a link named {x} exists"
            )));
        }
    }
    Err(Error::internal("could not find a free invite code"))
}

impl App {
    pub async fn create_invite(&self, actor: &Actor, input: CreateInvite) -> Result<InviteCreated> {
        let chosen = input.code.as_deref().map(InviteCode::chosen).transpose()?;
        let create = self.prepare_create(actor, input, chosen.as_ref().map(|c| (c, true)), None)?;
        let row = self.store_ref().write(create).await?;
        self.created(row)
    }

    /// A new invite's answer: the row with its code and link.
    pub(super) fn created(&self, row: InviteRow) -> Result<InviteCreated> {
        let code = self.code_of(&row)?;
        Ok(InviteCreated {
            link: self.invite_link(&code),
            code,
            invite: InviteView::of(row, crate::now()),
        })
    }

    /// Checks a new invite's input and makes its code: the write that creates it.
    pub(super) fn prepare_create(
        &self,
        actor: &Actor,
        input: CreateInvite,
        given: Option<(&InviteCode, bool)>,
        external_id: Option<String>,
    ) -> Result<Create> {
        if input.max_uses.is_some_and(|n| n == 0 || n > MAX_USES) {
            return Err(Error::invalid(
                "max_uses",
                format!("1 to {MAX_USES}, or omit it for no limit"),
            ));
        }
        let now = crate::now();
        let expires_at = match input.expires_in_seconds {
            None => None,
            Some(s) if (1..=MAX_LIFETIME_SECS).contains(&s) => Some(now + Duration::seconds(s)),
            Some(_) => {
                return Err(Error::invalid(
                    "expires_in_seconds",
                    format!("1 to {MAX_LIFETIME_SECS} seconds, or omit it for no expiry"),
                ));
            }
        };
        let description = text("description", input.description.as_deref(), 500)?;
        if !input.auto_approve_domains.is_empty() && !input.requires_approval {
            return Err(Error::invalid(
                "auto_approve_domains",
                "only a link that requires approval auto-approves",
            ));
        }
        let auto_approve_domains = input
            .auto_approve_domains
            .iter()
            .map(|d| Email::parse_domain(d).map_err(|e| e.in_field("auto_approve_domains")))
            .collect::<Result<Vec<_>>>()?;
        if auto_approve_domains.len() > 50 {
            return Err(Error::invalid("auto_approve_domains", "at most 50 domains"));
        }
        let role = input.role.clone().unwrap_or_else(RoleName::member);
        Ok(Create {
            actor: actor.clone(),
            role,
            expires_at,
            description,
            auto_approve_domains,
            first: self.new_code(given),
            codes: given.is_none().then(|| self.codes()),
            external_id,
            creator: None,
            uses: 0,
            input,
        })
    }
}
