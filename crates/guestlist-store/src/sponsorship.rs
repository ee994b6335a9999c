//! What a person handed out (links, invitations, owner adds), for the sponsor lifecycle: the storage contract of `sponsorship`.

use async_trait::async_trait;
use guestlist_domain::{RoleName, SpacePath};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::*;

/// What a sponsor handed out: found again when their rights shrink, revoked when they go.
#[async_trait]
pub trait SponsorshipTx: Send {
    /// The live invite links, pending invitations and pending owner-adds `created_by`
    /// sponsors within `root`'s subtree (or anywhere): what must be checked again when
    /// their rights shrink.
    async fn sponsored_within(
        &mut self,
        created_by: &str,
        root: Option<&SpacePath>,
    ) -> Result<Vec<Sponsored>>;
    /// Who made a live link, pending invitation or pending owner-add for `role` within
    /// `root`'s subtree, or holds `role` on a space there: whose grants a new
    /// definition of `role` there may change.
    async fn concerned_by_role(&mut self, root: &SpacePath, role: &RoleName)
    -> Result<Vec<String>>;
    /// Revokes every live platform invitation `inviter` sent.
    async fn revoke_platform_invitations_of(
        &mut self,
        inviter: &str,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<Vec<PlatformInvitationRow>>;
}

/// A live ticket someone sponsors: an invite link or a pending invitation.
#[derive(Debug, Clone, PartialEq)]
pub struct Sponsored {
    pub kind: SponsoredKind,
    pub id: Uuid,
    pub space_path: SpacePath,
    pub role: RoleName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SponsoredKind {
    InviteLink,
    Invitation,
    /// An owner's add still waiting for the user's consent.
    PendingAdd,
}
