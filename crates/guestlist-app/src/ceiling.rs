//! The grant ceiling: who may hand out which rights. Every path that can make
//! anyone hold rights goes through here: creating an invite link, showing or revoking
//! its code, redeeming it (narrowed or not), addressed invitations and their bulk
//! form, owner adds, role changes, approvals; and whatever lowers someone's rights
//! calls [`revoke_beyond`] so that what they sponsored cannot outgrow them.
//!
//! The rule (`docs/SECURITY.md`): nobody ends up holding a permission on a space unless
//! it was granted there by the platform key or by someone who held it there at that
//! time, and a grant means what its role meant where it was made. The pure part is
//! [`rules::require_can_grant`] and [`rules::narrowed_grant`]; this module applies it
//! to what storage says.

use std::collections::HashMap;

use guestlist_domain::rules;
use guestlist_domain::{Actor, Error, Permission, Permissions, RoleName, SpacePath, UserId};
use guestlist_store::{InviteRow, SponsoredKind, Tx};
use serde_json::json;

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
}

/// Who made a ticket, from its `created_by` label: a user, or an API key (whose
/// labels start with `key:`, which no user id can).
enum Sponsor {
    User(UserId),
    Key,
}

impl Sponsor {
    fn of(label: &str) -> Result<Sponsor> {
        if label.starts_with(guestlist_domain::actor::KEY_LABEL_PREFIX) {
            return Ok(Sponsor::Key);
        }
        UserId::parse(label)
            .map(Sponsor::User)
            .map_err(|_| Error::internal("a ticket's creator is neither a user nor a key"))
    }
}

/// What redeeming `invite` into `target` may grant: the permissions its role meant on
/// the link's own space (`home`), provided that a narrower target does not read the
/// role name as more, and that the link's creator still holds all of it there (a
/// platform key holds everything). Anything else refuses the redemption.
pub(crate) async fn link_grant(
    tx: &mut dyn Tx,
    home: &Scope,
    target: &Scope,
    invite: &InviteRow,
) -> Result<Permissions> {
    let meant = home.require_role(&invite.role)?;
    if target.space.id != home.space.id {
        rules::narrowed_grant(
            &invite.role,
            meant,
            target.role_permissions(&invite.role),
            &target.space.path,
        )?;
    }
    if let Sponsor::User(creator) = Sponsor::of(&invite.created_by)? {
        let holds = home.user_rights(tx, &creator).await?;
        if !holds.has(Permission::ManageInvites) || !holds.covers(meant) {
            // Its creator's rights shrank after it was made (it is revoked then; a
            // role defined since can still widen what the name means).
            return Err(Error::Revoked);
        }
    }
    Ok(meant)
}

/// After `sponsor`'s rights within `root` shrank (a role change, a removal, leaving),
/// revokes each live link and pending invitation they made there that now grants
/// more than they hold on its space, or that they may no longer hand out at all.
/// Each revocation appends its event with `reason`. Returns how many were revoked.
pub(crate) async fn revoke_beyond(
    tx: &mut dyn Tx,
    actor: &Actor,
    sponsor: &UserId,
    root: &SpacePath,
    reason: &str,
) -> Result<usize> {
    let live = tx.sponsored_within(sponsor.as_str(), root).await?;
    let mut holds: HashMap<SpacePath, (Scope, Permissions)> = HashMap::new();
    let mut revoked = 0;
    for ticket in live {
        if !holds.contains_key(&ticket.space_path) {
            let scope = Scope::load(tx, &ticket.space_path).await?;
            let held = scope.user_rights(tx, sponsor).await?;
            holds.insert(ticket.space_path.clone(), (scope, held));
        }
        let (scope, held) = &holds[&ticket.space_path];
        let still = held.has(Permission::ManageInvites)
            && scope
                .role_permissions(&ticket.role)
                .is_some_and(|p| held.covers(p));
        if still {
            continue;
        }
        let now = crate::now();
        let by = actor.label();
        let (done, kind, key) = match ticket.kind {
            SponsoredKind::InviteLink => (
                tx.revoke_invite(ticket.id, &by, now).await?,
                "invite.revoked",
                "invite_id",
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
                    tx.cancel_mail_of(ticket.id).await?;
                }
                (done, "invitation.revoked", "invitation_id")
            }
        };
        if done {
            revoked += 1;
            tx.append_event(&event_on(
                Some((scope.space.id, &scope.space.path)),
                kind,
                actor,
                Some(sponsor.as_str()),
                json!({ key: ticket.id, "reason": reason, "sponsor": sponsor, "role": ticket.role }),
            ))
            .await?;
        }
    }
    Ok(revoked)
}
