//! `GET` one resource, and lists with filters and paging.

use super::*;
use crate::ops::operation;
use crate::{App, Result};
use guestlist_domain::scim::Filter;
use guestlist_store::ScimUsersBy;
use std::collections::BTreeSet;
use uuid::Uuid;

pub(super) struct Get {
    pub(super) caller: ScimCaller,
    pub(super) kind: ScimKind,
    pub(super) id: String,
}

operation!(Get => ScimResource, |self, tx| {
    match self.kind {
        ScimKind::User => {
            let row = load_user(tx, &self.caller.root, &self.id).await?;
            render_user(tx, &self.caller, &row).await
        }
        ScimKind::Group => {
            let (space, row) = group_space(tx, &self.caller.root, &self.id).await?;
            render_group(tx, &self.caller, &space, row.as_ref()).await
        }
    }
});

pub(super) struct List {
    pub(super) caller: ScimCaller,
    pub(super) kind: ScimKind,
    pub(super) filter: Option<Filter>,
    pub(super) start_index: usize,
    pub(super) count: usize,
}

operation!(List => ScimList, |self, tx| {
    let caller = &self.caller;
    let mut shown: Vec<ScimResource> = Vec::new();
    let mut total = 0;
    let page = |n: usize| n + 1 >= self.start_index && n + 1 < self.start_index + self.count;
    match self.kind {
        ScimKind::User => {
            let by = match &self.filter {
                Some(f) => match (f.required_eq("userName"), f.required_eq("externalId")) {
                    (Some(name), _) => Some(name.trim().to_lowercase()).map(|k| (true, k)),
                    (None, Some(x)) => Some((false, x.to_owned())),
                    _ => None,
                },
                None => None,
            };
            let rows = match &by {
                Some((true, key)) => tx.scim_users(&caller.root, ScimUsersBy::UserNameKey(key)).await?,
                Some((false, x)) => tx.scim_users(&caller.root, ScimUsersBy::ExternalId(x)).await?,
                None => tx.scim_users(&caller.root, ScimUsersBy::All).await?,
            };
            for row in rows {
                if self.filter.is_none() {
                    if page(total) {
                        shown.push(render_user(tx, caller, &row).await?);
                    }
                    total += 1;
                    continue;
                }
                let r = render_user(tx, caller, &row).await?;
                if self.filter.as_ref().is_some_and(|f| f.matches(&r.json)) {
                    if page(total) {
                        shown.push(r);
                    }
                    total += 1;
                }
            }
        }
        ScimKind::Group => {
            let deleted: BTreeSet<Uuid> = tx
                .scim_groups(&caller.root)
                .await?
                .into_iter()
                .filter(|g| g.deleted)
                .map(|g| g.space_id)
                .collect();
            for space in spaces_within(tx, &caller.root).await? {
                if deleted.contains(&space.id) {
                    continue;
                }
                if self.filter.is_none() && !page(total) {
                    total += 1;
                    continue;
                }
                let row = tx.scim_group(space.id).await?;
                let r = render_group(tx, caller, &space, row.as_ref()).await?;
                if self.filter.as_ref().is_none_or(|f| f.matches(&r.json)) {
                    if page(total) {
                        shown.push(r);
                    }
                    total += 1;
                }
            }
        }
    }
    Ok(ScimList { total, start_index: self.start_index, resources: shown })
});

impl App {
    pub async fn scim_get(
        &self,
        caller: &ScimCaller,
        kind: ScimKind,
        id: &str,
    ) -> Result<ScimResource> {
        self.store_ref()
            .read(Get {
                caller: caller.clone(),
                kind,
                id: id.to_owned(),
            })
            .await
    }

    /// A filtered page of resources: `startIndex` from 1, `count` capped to
    /// `[scim] max_results` (0: only the total).
    pub async fn scim_list(
        &self,
        caller: &ScimCaller,
        kind: ScimKind,
        query: ScimQuery,
    ) -> Result<ScimList> {
        let filter = query
            .filter
            .as_deref()
            .map(|f| Filter::parse(kind.def(), f))
            .transpose()?;
        let max = self.0.config.scim.max_results as usize;
        let start_index = query.start_index.unwrap_or(1).max(1) as usize;
        let count = query.count.map_or(max, |c| (c.max(0) as usize).min(max));
        self.store_ref()
            .read(List {
                caller: caller.clone(),
                kind,
                filter,
                start_index,
                count,
            })
            .await
    }
}
