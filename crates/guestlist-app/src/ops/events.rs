use guestlist_domain::{Actor, Error, Permission, SpacePath};
use guestlist_store::{EventQuery, EventRow, FeedQuery, Visibility};
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
    /// Only these kinds (empty: every kind).
    pub kinds: Vec<String>,
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
            kinds: self.filter.kinds.clone(),
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
        known_kinds("kind", &filter.kinds)?;
        self.store_ref()
            .read(ListEvents {
                actor: actor.clone(),
                filter,
                limit,
            })
            .await
    }
}

/// The forward feed: what follows a sequence number, oldest first, up to where the
/// log is final (nothing committed later can take a smaller number), so a consumer
/// that resumes from the last number it saw misses nothing and sees nothing twice.
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    /// The last sequence number seen (0: from the start).
    pub after: i64,
    /// This space and beneath.
    pub space: Option<SpacePath>,
    /// Only these kinds (empty: every kind).
    pub kinds: Vec<String>,
    /// Only events before this sequence number (a window of the log).
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct FeedPage {
    pub events: Vec<EventRow>,
    /// Pass as `after` next time: the last event's number, or `after` again.
    pub next_after: i64,
}

struct Feed {
    actor: Actor,
    filter: FeedFilter,
    limit: u32,
}

operation!(Feed => FeedPage, |self, tx| {
    let visible = match subtrees_with(tx, &self.actor, Permission::Admin).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    let events = tx
        .events_after(&FeedQuery {
            visible,
            subtree: self.filter.space.clone(),
            kinds: self.filter.kinds.clone(),
            after: self.filter.after,
            before: self.filter.before,
            limit: self.limit,
        })
        .await?;
    let next_after = events.last().map_or(self.filter.after, |e| e.seq);
    Ok(FeedPage { events, next_after })
});

/// Checks a list of event kinds against the catalogue.
pub fn known_kinds(field: &str, kinds: &[String]) -> Result<()> {
    match kinds
        .iter()
        .find(|k| guestlist_domain::events::event_kind(k).is_none())
    {
        Some(k) => Err(Error::invalid(
            field,
            format!("{k:?} is not an event kind (see docs/EVENTS.md)"),
        )),
        None => Ok(()),
    }
}

impl App {
    /// The next page of a live stream (SSE, a GraphQL subscription): a stream is a
    /// standing capability, so each page is read for whoever the credential that
    /// opened it names *now*. When the credential has expired or its key was revoked,
    /// this answers `unauthenticated` and the stream ends; rights lost meanwhile narrow
    /// what the feed shows, as for any request.
    pub async fn stream_page(&self, credential: &str, filter: FeedFilter) -> Result<FeedPage> {
        let actor = self.authenticate(credential).await?;
        self.event_feed(&actor, filter).await
    }

    /// The forward feed of the spaces the actor administers (everything for a
    /// platform administrator).
    pub async fn event_feed(&self, actor: &Actor, filter: FeedFilter) -> Result<FeedPage> {
        let limit = paging::page_size(filter.limit)?;
        if filter.after < 0 {
            return Err(Error::invalid("after", "a sequence number, 0 or more"));
        }
        known_kinds("kinds", &filter.kinds)?;
        self.store_ref()
            .read(Feed {
                actor: actor.clone(),
                filter,
                limit,
            })
            .await
    }

    /// The largest sequence number committed (where a stream that starts "now" begins).
    pub async fn last_event_seq(&self) -> Result<i64> {
        self.store_ref().read(LastSeq).await
    }
}

struct LastSeq;

operation!(LastSeq => i64, |self, tx| { tx.last_event_seq().await });
