//! Listing and counting the links a caller may see.

use super::*;
use crate::ops::operation;
use crate::scope::subtrees_with;
use crate::{App, Result, paging};
use guestlist_domain::{Actor, Error, InviteState, Permission, SpacePath};
use guestlist_store::{InvitePredicate, InviteQuery, InviteRow, PageKey, Visibility};
use time::OffsetDateTime;

/// Filters of an invite list. Each narrows what the caller may see; lists are any-of.
#[derive(Debug, Clone, Default)]
pub struct InviteFilter {
    /// Within any of these subtrees (empty: everywhere visible).
    pub subtrees: Vec<SpacePath>,
    /// On exactly one of these spaces (`Some(vec![])` matches nothing).
    pub spaces_in: Option<Vec<SpacePath>>,
    /// In any of these states (`Some(vec![])` matches nothing).
    pub states: Option<Vec<InviteState>>,
    pub revoked: Option<bool>,
    pub created_by: Option<String>,
    /// Any further condition, nested (GraphQL's `and`/`or`/`not`).
    pub predicate: Option<InvitePredicate>,
    /// Rows after this cursor (newest first)…
    pub after: Option<String>,
    /// …or the page just before this one (still shown newest first).
    pub before: Option<String>,
    /// Without `before`: the last page, the oldest links (still shown newest first),
    /// as Relay's `last` alone asks.
    pub from_end: bool,
    pub limit: Option<u32>,
    /// Also read each listed link's funnel (the console).
    pub with_funnels: bool,
}

impl InviteFilter {
    /// The storage query of this filter within what the caller sees, unpaged.
    pub(super) fn query(&self, visible: Visibility, now: OffsetDateTime) -> InviteQuery {
        InviteQuery {
            visible,
            subtrees: self.subtrees.clone(),
            spaces_in: self.spaces_in.clone(),
            states: self.states.clone(),
            revoked: self.revoked,
            created_by: self.created_by.clone(),
            predicate: self.predicate.clone(),
            now,
            after: None,
            backward: false,
            limit: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct InvitePage {
    pub invites: Vec<InviteView>,
    /// Each listed link's funnel, when the filter asks (`with_funnels`).
    pub funnels: Vec<guestlist_store::FunnelRow>,
    /// The cursor of the next page (older rows), when there is one.
    pub next: Option<String>,
    /// Whether there are newer rows than this page.
    pub has_previous: bool,
}

pub(super) struct List {
    pub(super) actor: Actor,
    pub(super) filter: InviteFilter,
    pub(super) limit: u32,
}

operation!(List => InvitePage, |self, tx| {
    let visible = match subtrees_with(tx, &self.actor, Permission::ManageInvites).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    let now = crate::now();
    let backward = self.filter.before.is_some() || self.filter.from_end;
    if backward && self.filter.after.is_some() {
        return Err(Error::invalid("before", "page with after or with before, not both"));
    }
    let cursor = if backward {
        paging::decode(self.filter.before.as_deref()).map_err(|e| e.in_field("before"))?
    } else {
        paging::decode(self.filter.after.as_deref())?
    };
    let query = InviteQuery {
        after: cursor,
        backward,
        limit: self.limit + 1,
        ..self.filter.query(visible, now)
    };
    let rows = tx.list_invites(&query).await?;
    let key = |i: &InviteRow| PageKey { created_at: i.created_at, id: i.id };
    let (rows, next, has_previous) = if backward {
        // Oldest first from the cursor: the page is the `limit` nearest it, shown
        // newest first; the page after it is the one the cursor came from.
        let mut rows = rows;
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        rows.reverse();
        // Before a cursor, the page after this one is the one the cursor came from;
        // from the end, there is none.
        let next = match self.filter.before {
            Some(_) => rows.last().map(|r| paging::encode(&key(r))),
            None => None,
        };
        (rows, next, more)
    } else {
        let (rows, next) = paging::split(rows, self.limit, key);
        (rows, next, self.filter.after.is_some())
    };
    let funnels = if self.filter.with_funnels {
        tx.funnels(&rows.iter().map(|r| r.id).collect::<Vec<_>>()).await?
    } else {
        Vec::new()
    };
    Ok(InvitePage { invites: rows.into_iter().map(|i| InviteView::of(i, now)).collect(), funnels, next, has_previous })
});

pub(super) struct Count {
    pub(super) actor: Actor,
    pub(super) filter: InviteFilter,
}

operation!(Count => u64, |self, tx| {
    let visible = match subtrees_with(tx, &self.actor, Permission::ManageInvites).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    tx.count_invites(&self.filter.query(visible, crate::now())).await
});

impl App {
    pub async fn count_invites(&self, actor: &Actor, filter: InviteFilter) -> Result<u64> {
        self.store_ref()
            .read(Count {
                actor: actor.clone(),
                filter,
            })
            .await
    }

    pub async fn list_invites(&self, actor: &Actor, filter: InviteFilter) -> Result<InvitePage> {
        let limit = paging::page_size(filter.limit)?;
        self.store_ref()
            .read(List {
                actor: actor.clone(),
                filter,
                limit,
            })
            .await
    }
}
