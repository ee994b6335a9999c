use guestlist_store::domain::{self, SpacePath};
use guestlist_store::*;
use uuid::Uuid;

use crate::engine::*;

/// `AND (<column> within any of the visible subtrees)`, as index-friendly ranges.
pub(crate) fn push_visibility(qb: &mut QueryBuilder, column: &str, visible: &Visibility) {
    match visible {
        Visibility::All => {}
        Visibility::Subtrees(roots) if roots.is_empty() => {
            qb.push(" AND FALSE");
        }
        Visibility::Subtrees(roots) => push_any_subtree(qb, column, roots),
    }
}

/// `AND (<column> within any of the roots)`; nothing when there are none.
pub(crate) fn push_any_subtree(qb: &mut QueryBuilder, column: &str, roots: &[SpacePath]) {
    if roots.is_empty() {
        return;
    }
    qb.push(" AND (");
    for (i, root) in roots.iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        push_subtree(qb, column, root);
    }
    qb.push(")");
}

pub(crate) fn push_subtree(qb: &mut QueryBuilder, column: &str, root: &SpacePath) {
    qb.push(format!("({column} >= "))
        .push_bind(root.as_str().to_owned())
        .push(format!(" AND {column} < "))
        .push_bind(root.subtree_upper_bound())
        .push(")");
}

pub(crate) fn push_in_ids(qb: &mut QueryBuilder, ids: &[Uuid]) {
    qb.push("(").push_list(ids.iter().copied()).push(")");
}

/// `(<who> is any of the addressee's identifiers)`: user id, e-mail, username.
pub(crate) fn push_addressee(qb: &mut QueryBuilder, prefix: &str, to: &domain::Addressee) {
    qb.push(format!("({prefix}user_id = "))
        .push_bind(to.user_id.as_ref().map(|u| u.as_str().to_owned()))
        .push(format!(" OR {prefix}email = "))
        .push_bind(to.email.as_ref().map(|e| e.as_str().to_owned()))
        .push(format!(" OR {prefix}username = "))
        .push_bind(to.username.as_ref().map(|u| u.as_str().to_owned()))
        .push(")");
}

pub(crate) fn email_of(s: String) -> domain::Email {
    domain::Email::stored(s)
}

/// ` AND <column> within root` when there is a root.
pub(crate) fn push_opt_subtree(qb: &mut QueryBuilder, column: &str, root: Option<&SpacePath>) {
    if let Some(root) = root {
        qb.push(" AND ");
        push_subtree(qb, column, root);
    }
}
