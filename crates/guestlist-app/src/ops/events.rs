use guestlist_domain::{Actor, Error, Permission, SpacePath};
use guestlist_store::{EventQuery, EventRow, Visibility};
use time::OffsetDateTime;

use super::operation;
use crate::scope::subtrees_with;
use crate::{App, Result, paging};

#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<EventRow>,
    /// Pass as `before` for the next (older) page.
    pub next: Option<i64>,
}

/// Which events, newest first: each filter narrows what the caller may see.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// This space and beneath.
    pub space: Option<SpacePath>,
    pub kind: Option<String>,
    /// By this actor: a user id, or `key:<name>`.
    pub actor: Option<String>,
    /// At or after / before these moments.
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Older than this sequence number (the previous page's `next`).
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

struct ListEvents {
    actor: Actor,
    filter: EventFilter,
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
            subtree: self.filter.space.clone(),
            kind: self.filter.kind.clone(),
            actor: self.filter.actor.clone(),
            since: self.filter.since,
            until: self.filter.until,
            before_seq: self.filter.before,
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
    pub async fn list_events(&self, actor: &Actor, filter: EventFilter) -> Result<EventPage> {
        let limit = paging::page_size(filter.limit)?;
        if filter.before.is_some_and(|b| b < 1) {
            return Err(Error::invalid("before", "a positive event sequence number"));
        }
        self.store_ref()
            .read(ListEvents {
                actor: actor.clone(),
                filter,
                limit,
            })
            .await
    }
}
