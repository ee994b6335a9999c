//! Telling once that a pending invitation lapsed.

use crate::ops::operation;
use crate::scope::system_event_on;
use crate::{App, Result};
use guestlist_domain::events::InvitationExpired;

pub(super) struct SweepExpired {
    pub(super) limit: u32,
}

operation!(SweepExpired => u32, |self, tx| {
    let now = crate::now();
    let mut told = 0;
    for i in tx.untold_expired_invitations(now, self.limit).await? {
        if !tx.tell_invitation_expired(i.id, now).await? {
            continue;
        }
        let e = system_event_on(
            Some((i.space_id, &i.space_path)),
            i.addressee.user_id.as_ref().map(|u| u.as_str()),
            InvitationExpired { invitation_id: i.id, role: i.role.clone(), expires_at: i.expires_at.unix_timestamp() },
        );
        tx.append_event(&e).await?;
        told += 1;
    }
    Ok(told)
});

impl App {
    /// Tells each invitation that lapsed unanswered, once (`invitation.expired`).
    pub async fn sweep_expired_invitations(&self) -> Result<u32> {
        self.store_ref().write(SweepExpired { limit: 500 }).await
    }
}
