use guestlist_domain::{Actor, Error, Permission, SpacePath};
use guestlist_store::{EventQuery, EventRow, Visibility};

use super::operation;
use crate::scope::subtrees_with;
use crate::{App, Result, paging};

#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<EventRow>,
    /// Pass as `before` for the next (older) page.
    pub next: Option<i64>,
}

struct ListEvents {
    actor: Actor,
    space: Option<SpacePath>,
    kind: Option<String>,
    before: Option<i64>,
    limit: u32,
}

operation!(ListEvents => EventPage, |self, tx| {
    // The audit log is for space admins: each sees the subtrees they administer.
    let visible = match subtrees_with(tx, &self.actor, Permission::Admin).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    let mut events = tx
        .list_events(&EventQuery {
            visible,
            subtree: self.space.clone(),
            kind: self.kind.clone(),
            before_seq: self.before,
            limit: self.limit + 1,
        })
        .await?;
    let next = if events.len() > self.limit as usize {
        events.truncate(self.limit as usize);
        events.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(EventPage { events, next })
});

impl App {
    pub async fn list_events(
        &self,
        actor: &Actor,
        space: Option<SpacePath>,
        kind: Option<String>,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<EventPage> {
        let limit = paging::page_size(limit)?;
        if before.is_some_and(|b| b < 1) {
            return Err(Error::invalid("before", "a positive event sequence number"));
        }
        self.store_ref()
            .read(ListEvents {
                actor: actor.clone(),
                space,
                kind,
                before,
                limit,
            })
            .await
    }
}
