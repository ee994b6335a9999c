//! The grant ceiling: who may hand out which rights. Every path that can make
//! anyone hold rights goes through here: creating an invite link, showing or revoking
//! its code, redeeming it (narrowed or not), addressed invitations and their bulk
//! form, owner adds, role changes, approvals; and whatever lowers someone's rights or
//! changes what a role means (a demotion, a removal, leaving, a role definition) calls
//! [`revoke_beyond`], so that what anyone sponsored never outgrows them.
//!
//! The rule (`docs/SECURITY.md`): nobody ends up holding a permission on a space unless
//! it was granted there by the platform key or by someone who held it there at that
//! time, and a grant means what its role meant where it was made. The pure part is
//! [`rules::require_can_grant`] and [`rules::narrowed_grant`]; this module applies it
//! to what storage says.

use std::collections::HashMap;

use guestlist_domain::events::{
    EventData, InvitationRevoked, InviteRevoked, MemberAddWithdrawn, WebhookEndpointDisabled,
};
use guestlist_domain::rules;
use guestlist_domain::{Actor, Permission, Permissions, RoleName, SpacePath, UserId};
use guestlist_store::{InviteRow, MailSubject, SponsoredKind, Tx, Visibility};

use crate::Result;
use crate::scope::{Scope, event_on};

impl Scope {
    /// Requires `needed` (the right to hand out at all: `manage_invites` for links and
    /// invitations, `manage_members` for adds, approvals and role changes) and that
    /// `role` means here no more than `actor` holds here. An outsider learns nothing:
    /// without `read` the space answers as missing. Returns what the role means here.
    pub(crate) async fn require_can_grant(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        needed: Permission,
        role: &RoleName,
    ) -> Result<Permissions> {
        let held = self.require_visible(tx, actor, needed).await?;
        self.check_grant(held, role)
    }

    /// The ceiling itself, for a caller who holds `held` here: `role` must mean here
    /// no more than that. Returns what it means.
    pub(crate) fn check_grant(&self, held: Permissions, role: &RoleName) -> Result<Permissions> {
        let granted = self.require_role(role)?;
        rules::require_can_grant(held, role.as_str(), granted)?;
        Ok(granted)
    }

    /// The same rule as a question, for what was handed out before: may someone who
    /// holds `held` here still hand out `role` with `needed`?
    fn may_still_grant(&self, held: Permissions, needed: Permission, role: &RoleName) -> bool {
        rules::require(held, needed).is_ok() && self.check_grant(held, role).is_ok()
    }
}

/// Whether redeeming `invite` into `target` grants what its role means on the link's
/// own space (`home`): narrowed to a deeper space, a role name that means more there
/// is refused. (That the link's creator still holds all of it is kept true
/// where rights shrink: [`revoke_beyond`] runs on every demotion, removal, departure
/// and role definition, so the hot path does not ask again.)
pub(crate) fn link_grant(home: &Scope, target: &Scope, invite: &InviteRow) -> Result<()> {
    let meant = home.require_role(&invite.role)?;
    if target.space.id != home.space.id {
        rules::narrowed_grant(
            &invite.role,
            meant,
            target.role_permissions(&invite.role),
            &target.space.path,
        )?;
    }
    Ok(())
}

/// A new definition of `role` on `scope`'s space changes what the name means there
/// and beneath: for the memberships that hold it and the live tickets that name it.
/// Everyone concerned has their tickets there checked again ([`revoke_beyond`]).
pub(crate) async fn role_defined(
    tx: &mut dyn Tx,
    actor: &Actor,
    scope: &Scope,
    role: &RoleName,
) -> Result<usize> {
    let mut revoked = 0;
    for who in tx.concerned_by_role(&scope.space.path, role).await? {
        // An API key holds what it holds whatever roles mean.
        if let Ok(user) = UserId::parse(&who) {
            revoked +=
                revoke_beyond(tx, actor, &user, Some(&scope.space.path), "role_defined").await?;
        }
    }
    Ok(revoked)
}

/// After `sponsor`'s rights within `root` (or everywhere) shrank (a role change, a
/// removal, leaving, deprovisioning),
/// revokes each live link, pending invitation and pending owner-add they made there
/// that now grants more than they hold on its space, or that they may no longer hand
/// out at all, and disables the webhook endpoints they may no longer manage
/// ([`disable_endpoints_beyond`]).
/// Each revocation appends its event with `reason`. Returns how many tickets were
/// revoked.
pub(crate) async fn revoke_beyond(
    tx: &mut dyn Tx,
    actor: &Actor,
    sponsor: &UserId,
    root: Option<&SpacePath>,
    reason: &str,
) -> Result<usize> {
    let revoked =
        revoke_sponsored(tx, actor, sponsor.as_str(), Some(sponsor), root, reason).await?;
    disable_endpoints_beyond(tx, sponsor.as_str(), root, reason).await?;
    Ok(revoked)
}

/// Everything an API key handed out and every endpoint it owns, ended when the key is
/// revoked: a revoked key holds nothing (`reason`: `key_revoked`).
pub(crate) async fn revoke_key_grants(
    tx: &mut dyn Tx,
    actor: &Actor,
    key_label: &str,
) -> Result<usize> {
    let revoked = revoke_sponsored(tx, actor, key_label, None, None, "key_revoked").await?;
    Ok(revoked + disable_endpoints_beyond(tx, key_label, None, "key_revoked").await?)
}

/// [`revoke_beyond`] for a sponsor by label: a user (`holder`, whose rights are read)
/// or a revoked key (`None`: holds nothing).
async fn revoke_sponsored(
    tx: &mut dyn Tx,
    actor: &Actor,
    sponsor: &str,
    holder: Option<&UserId>,
    root: Option<&SpacePath>,
    reason: &str,
) -> Result<usize> {
    let live = tx.sponsored_within(sponsor, root).await?;
    let mut holds: HashMap<SpacePath, (Scope, Permissions)> = HashMap::new();
    let mut revoked = 0;
    for ticket in live {
        if !holds.contains_key(&ticket.space_path) {
            let scope = Scope::load(tx, &ticket.space_path).await?;
            let held = match holder {
                Some(user) => scope.user_rights(tx, user).await?,
                None => Permissions::NONE,
            };
            holds.insert(ticket.space_path.clone(), (scope, held));
        }
        let (scope, held) = &holds[&ticket.space_path];
        // Links and invitations are handed out with manage_invites, adds with
        // manage_members.
        let hands_out = match ticket.kind {
            SponsoredKind::PendingAdd => Permission::ManageMembers,
            _ => Permission::ManageInvites,
        };
        if scope.may_still_grant(*held, hands_out, &ticket.role) {
            continue;
        }
        let now = crate::now();
        let by = actor.label();
        let why = Some(reason.to_owned());
        let (done, event): (bool, EventData) = match ticket.kind {
            SponsoredKind::InviteLink => (
                tx.revoke_invite(ticket.id, &by, now).await?,
                InviteRevoked {
                    invite_id: ticket.id,
                    reason: why,
                    sponsor: Some(sponsor.to_owned()),
                    role: Some(ticket.role.clone()),
                }
                .into(),
            ),
            SponsoredKind::Invitation => {
                let done = tx
                    .decide_invitation(
                        ticket.id,
                        guestlist_domain::InvitationStatus::Revoked,
                        &by,
                        now,
                        None,
                    )
                    .await?;
                if done {
                    tx.cancel_mail_of(MailSubject::Invitation(ticket.id))
                        .await?;
                }
                let event = InvitationRevoked {
                    invitation_id: ticket.id,
                    reason: why,
                    sponsor: Some(sponsor.to_owned()),
                    role: Some(ticket.role.clone()),
                };
                (done, event.into())
            }
            SponsoredKind::PendingAdd => (
                tx.withdraw_pending_membership(ticket.id).await?,
                MemberAddWithdrawn {
                    membership_id: ticket.id,
                    role: ticket.role.clone(),
                    sponsor: sponsor.to_owned(),
                    reason: reason.to_owned(),
                }
                .into(),
            ),
        };
        if done {
            revoked += 1;
            tx.append_event(&event_on(
                Some((scope.space.id, &scope.space.path)),
                actor,
                Some(sponsor),
                event,
            ))
            .await?;
        }
    }
    Ok(revoked)
}

/// A webhook endpoint is a standing capability: it keeps sending its subtree's events
/// (invitees' addresses among them) to wherever its owner said. It stays only as long
/// as its owner may manage it (`admin` on its space); after `owner`'s rights within
/// `root` (or everywhere) shrank, or the key `owner` names was revoked, each enabled
/// endpoint they own there that they may no longer manage is disabled, with a
/// `webhook.endpoint_disabled` event (`reason`, `owner`). Another admin takes it over
/// by enabling it again. A platform endpoint (no space) owned by a user stays: a
/// platform administrator is one by configuration or by a token's claim, which this
/// service cannot see change; one owned by a key ends with the key. Returns how many
/// were disabled.
pub(crate) async fn disable_endpoints_beyond(
    tx: &mut dyn Tx,
    owner: &str,
    root: Option<&SpacePath>,
    reason: &str,
) -> Result<usize> {
    let visible = match root {
        None => Visibility::All,
        Some(r) => Visibility::Subtrees(vec![r.clone()]),
    };
    let owned: Vec<_> = tx
        .endpoints(&visible)
        .await?
        .into_iter()
        .filter(|ep| ep.enabled && ep.created_by == owner)
        .collect();
    let user = UserId::parse(owner).ok();
    let mut disabled = 0;
    for ep in owned {
        let keeps = match (&ep.space_path, &user) {
            (Some(path), Some(user)) => {
                let scope = Scope::load(tx, path).await?;
                scope.user_rights(tx, user).await?.has(Permission::Admin)
            }
            // A platform endpoint of a user: see above.
            (None, Some(_)) => true,
            // A key's: only revoking the key calls this for it.
            (_, None) => false,
        };
        if keeps {
            continue;
        }
        let now = crate::now();
        if tx
            .disable_endpoint(ep.id, "its owner may no longer manage it", now)
            .await?
        {
            disabled += 1;
            let e = crate::ops::webhooks::endpoint_event(
                tx,
                &ep,
                None,
                WebhookEndpointDisabled {
                    reason: reason.to_owned(),
                    owner: Some(owner.to_owned()),
                },
            )
            .await?;
            tx.append_event(&e).await?;
        }
    }
    Ok(disabled)
}
