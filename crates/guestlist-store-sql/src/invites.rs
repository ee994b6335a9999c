use async_trait::async_trait;
use guestlist_store::domain::{self, InviteState, RoleName, SpacePath};
use guestlist_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::*;
use crate::{SqlTx, sql_once};

pub(crate) fn invite_row(r: &impl SqlRow) -> Result<InviteRow> {
    Ok(InviteRow {
        id: get(r, "id")?,
        space_id: get(r, "space_id")?,
        space_path: SpacePath::parse(&get::<String>(r, "space_path")?).map_err(Error::internal)?,
        role: RoleName::parse(&get::<String>(r, "role")?).map_err(Error::internal)?,
        max_uses: get::<Option<i64>>(r, "max_uses")?.map(u32_of).transpose()?,
        uses: u32_of(get(r, "uses")?)?,
        expires_at: opt_at(get(r, "expires_at")?)?,
        description: get(r, "description")?,
        allow_narrowing: get(r, "allow_narrowing")?,
        created_by: get(r, "created_by")?,
        created_by_name: get(r, "created_by_name")?,
        created_at: at(get(r, "created_at")?)?,
        revoked_at: opt_at(get(r, "revoked_at")?)?,
        revoked_by: get(r, "revoked_by")?,
        requires_approval: get(r, "requires_approval")?,
        auto_approve_domains: get::<Option<String>>(r, "auto_approve_domains")?
            .map(|d| d.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        code_sealed: get(r, "code_sealed")?,
        external_id: get(r, "external_id")?,
    })
}

/// The predicate of one invite state at `now`; the states never overlap
/// (revoked, then expired, then exhausted, then active).
pub(crate) fn push_state(qb: &mut QueryBuilder, state: InviteState, now: i64) {
    match state {
        InviteState::Revoked => {
            qb.push("(revoked_at IS NOT NULL)");
        }
        InviteState::Expired => {
            qb.push("(revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ")
                .push_bind(now)
                .push(")");
        }
        InviteState::Exhausted => {
            qb.push("(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ")
                .push_bind(now)
                .push(") AND max_uses IS NOT NULL AND uses >= max_uses)");
        }
        InviteState::Active => {
            qb.push("(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ")
                .push_bind(now)
                .push(") AND (max_uses IS NULL OR uses < max_uses))");
        }
    }
}

/// A subtree's invites newest first, one range of `invite_scopes`, cut at the page size.
pub(crate) fn push_scope_range<E: Engine>(
    qb: &mut QueryBuilder,
    q: &InviteQuery,
    root: &SpacePath,
) {
    qb.push(sql_once!(
        E,
        "SELECT {} FROM invite_scopes s JOIN invites i ON i.id = s.invite_id WHERE s.scope_path = ",
        invite_columns_of::<E>("i")
    ))
    .push_bind(root.as_str().to_owned());
    push_invite_filters(qb, q, "s.created_at", "s.invite_id");
    let dir = direction(q);
    qb.push(format!(
        " ORDER BY s.created_at {dir}, s.invite_id {dir} LIMIT "
    ))
    .push_bind(i64::from(q.limit));
}

/// The filters of an invite list after its scope, and the keyset cursor on
/// `(created_col, id_col)`.
pub(crate) fn push_invite_filters(
    qb: &mut QueryBuilder,
    q: &InviteQuery,
    created_col: &str,
    id_col: &str,
) {
    // The flat filters are conditions like the nested ones: one way to write each.
    let flat = [
        q.created_by.clone().map(InvitePredicate::CreatedBy),
        q.spaces_in.clone().map(InvitePredicate::SpaceIn),
        q.states.clone().map(InvitePredicate::StateIn),
        q.revoked.map(InvitePredicate::Revoked),
        q.predicate.clone(),
    ];
    for p in flat.iter().flatten() {
        qb.push(" AND ");
        push_predicate(qb, p, ms(q.now));
    }
    if let Some(k) = &q.after {
        let cmp = if q.backward { ">" } else { "<" };
        qb.push(format!(" AND ({created_col}, {id_col}) {cmp} ("))
            .push_bind(ms(k.created_at))
            .push(", ")
            .push_bind(k.id)
            .push(")");
    }
}

/// Which subtrees a list walks: what the caller may see, narrowed by the filter; `None`
/// for everything. Disjoint: no root lies within another.
fn roots_of(q: &InviteQuery) -> Option<Vec<SpacePath>> {
    match (&q.visible, q.subtrees.is_empty()) {
        (Visibility::All, true) => None,
        (Visibility::All, false) => Some(domain::path::minimal_roots(q.subtrees.clone())),
        (Visibility::Subtrees(v), true) => Some(domain::path::minimal_roots(v.clone())),
        (Visibility::Subtrees(v), false) => Some(domain::path::intersect_subtrees(v, &q.subtrees)),
    }
}

/// The order of an invite list: newest first, or oldest first when paging backward.
fn direction(q: &InviteQuery) -> &'static str {
    if q.backward { "ASC" } else { "DESC" }
}

/// A nested condition, parenthesised.
pub(crate) fn push_predicate(qb: &mut QueryBuilder, p: &InvitePredicate, now: i64) {
    match p {
        InvitePredicate::All(parts) | InvitePredicate::Any(parts) => {
            let (unit, joiner) = match p {
                InvitePredicate::All(_) => ("TRUE", " AND "),
                _ => ("FALSE", " OR "),
            };
            qb.push("(").push(unit);
            for part in parts {
                qb.push(joiner);
                push_predicate(qb, part, now);
            }
            qb.push(")");
        }
        InvitePredicate::Not(inner) => {
            qb.push("(NOT ");
            push_predicate(qb, inner, now);
            qb.push(")");
        }
        InvitePredicate::Within(root) => {
            qb.push("(space_path >= ")
                .push_bind(root.as_str().to_owned())
                .push(" AND space_path < ")
                .push_bind(root.subtree_upper_bound())
                .push(")");
        }
        // No NULL in the list: under NOT, `x IN (NULL, …)` would be NULL, not true.
        InvitePredicate::SpaceIn(spaces) if spaces.is_empty() => {
            qb.push("(FALSE)");
        }
        InvitePredicate::SpaceIn(spaces) => {
            qb.push("(space_path IN (");
            for (i, s) in spaces.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                qb.push_bind(s.as_str().to_owned());
            }
            qb.push("))");
        }
        InvitePredicate::StateIn(states) => {
            qb.push("(FALSE");
            for state in states {
                qb.push(" OR ");
                push_state(qb, *state, now);
            }
            qb.push(")");
        }
        InvitePredicate::CreatedBy(by) => {
            qb.push("(created_by = ").push_bind(by.clone()).push(")");
        }
        InvitePredicate::Revoked(true) => {
            qb.push("(revoked_at IS NOT NULL)");
        }
        InvitePredicate::Revoked(false) => {
            qb.push("(revoked_at IS NULL)");
        }
    }
}

pub(crate) const INVITE_COLUMNS: &str = "id, space_id, space_path, role, max_uses, uses, expires_at, description, \
     allow_narrowing, created_by, created_by_name, created_at, revoked_at, revoked_by, requires_approval, \
     auto_approve_domains, code_sealed, external_id";

/// The invite columns of table (or alias) `t`, its use count with its shards.
pub(crate) fn invite_columns_of<E: Engine>(t: &str) -> String {
    format!(
        "{t}.id, {t}.space_id, {t}.space_path, {t}.role, {t}.max_uses, {}, {t}.expires_at, {t}.description, \
         {t}.allow_narrowing, {t}.created_by, {t}.created_by_name, {t}.created_at, {t}.revoked_at, {t}.revoked_by, \
         {t}.requires_approval, {t}.auto_approve_domains, {t}.code_sealed, {t}.external_id",
        E::counted(t, "uses")
    )
}

#[async_trait]
impl<E: Engine> InvitesTx for SqlTx<'_, E> {
    async fn insert_invite(&mut self, i: &NewInvite) -> Result<bool> {
        // A code is one link's in every form: this link's digest forms are claimed
        // first, on their key (a collision with any link's, in whatever form its code
        // was stored, inserts fewer), and given back if the link is not inserted.
        // One statement a form: a single-row insert needs no statement journal.
        for (n, d) in i.code_digests.iter().enumerate() {
            let claimed = query(
                "INSERT INTO invite_code_digests (digest_hash) VALUES ($1) ON CONFLICT DO NOTHING",
            )
            .bind(d.as_slice())
            .execute(&mut *self)
            .await?;
            if claimed != 1 {
                self.release_digests(&i.code_digests[..n]).await?;
                return Ok(false);
            }
        }
        let done = query(
            "INSERT INTO invites (id, code_hash, space_id, space_path, role, max_uses, expires_at, description, \
               allow_narrowing, created_by, created_by_name, created_at, requires_approval, auto_approve_domains, \
               code_sealed, code_skeleton, external_id, uses) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) ON CONFLICT DO NOTHING",
        )
        .bind(i.id)
        .bind(&i.code_hash)
        .bind(i.space_id)
        .bind(i.space_path.as_str())
        .bind(i.role.as_str())
        .bind(i.max_uses.map(i64::from))
        .bind(i.expires_at.map(ms))
        .bind(i.description.as_deref())
        .bind(i.allow_narrowing)
        .bind(&i.created_by)
        .bind(&i.created_by_name)
        .bind(ms(i.created_at))
        .bind(i.requires_approval)
        .bind((!i.auto_approve_domains.is_empty()).then(|| i.auto_approve_domains.join(",")))
        .bind(i.code_sealed.as_deref())
        .bind(i.code_skeleton.as_deref())
        .bind(i.external_id.as_deref())
        .bind(i64::from(i.uses))
        .execute(&mut *self)
        .await?;
        if done != 1 {
            self.release_digests(&i.code_digests).await?;
            return Ok(false);
        }
        // List the invite under its space and every ancestor (see invite_scopes).
        let mut qb =
            QueryBuilder::new("INSERT INTO invite_scopes (scope_path, created_at, invite_id) ");
        qb.push("VALUES ");
        for (n, scope) in i.space_path.lineage().into_iter().enumerate() {
            qb.push(if n == 0 { "(" } else { ", (" })
                .push_bind(scope.as_str().to_owned())
                .push(", ")
                .push_bind(ms(i.created_at))
                .push(", ")
                .push_bind(i.id)
                .push(")");
        }
        qb.build().execute(&mut *self).await?;
        Ok(true)
    }

    async fn invite_by_hash(&mut self, code_hash: &[u8]) -> Result<Option<InviteRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {} FROM invites WHERE code_hash = $1",
            invite_columns_of::<E>("invites")
        ))
        .bind(code_hash)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(invite_row).transpose()
    }

    async fn invite_by_id(&mut self, id: Uuid) -> Result<Option<InviteRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {} FROM invites WHERE id = $1",
            invite_columns_of::<E>("invites")
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(invite_row).transpose()
    }

    async fn invite_preview(&mut self, code_hash: &[u8]) -> Result<Option<InvitePreviewRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {}, s.name AS space_name, s.join_mode, {} \
             FROM invites i JOIN spaces s ON s.id = i.space_id WHERE i.code_hash = $1",
            invite_columns_of::<E>("i"),
            E::counted("s", "member_count")
        ))
        .bind(code_hash)
        .fetch_optional(&mut *self)
        .await?;
        row.map(|r| {
            Ok(InvitePreviewRow {
                invite: invite_row(&r)?,
                space_name: get(&r, "space_name")?,
                join_mode: get::<String>(&r, "join_mode")?
                    .parse()
                    .map_err(Error::internal)?,
                member_count: u32_of(get(&r, "member_count")?)?,
            })
        })
        .transpose()
    }

    async fn claim_invite_use(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        E::claim_invite_use(self, id, now).await
    }

    async fn invite_by_external_id(
        &mut self,
        space_id: Uuid,
        external_id: &str,
    ) -> Result<Option<InviteRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {} FROM invites WHERE space_id = $1 AND external_id = $2",
            invite_columns_of::<E>("invites")
        ))
        .bind(space_id)
        .bind(external_id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(invite_row).transpose()
    }

    async fn mirror_invite(&mut self, id: Uuid, m: &InviteMirror) -> Result<bool> {
        let Some(current) = self.invite_by_id(id).await? else {
            return Ok(false);
        };
        let raise = i64::from(m.uses_at_least.saturating_sub(current.uses));
        if m.max_uses
            .is_some_and(|max| max < current.uses.max(m.uses_at_least))
        {
            return Ok(false);
        }
        let done = query(
            "UPDATE invites SET max_uses = $2, expires_at = $3, description = $4, uses = uses + $5 WHERE id = $1",
        )
        .bind(id)
        .bind(m.max_uses.map(i64::from))
        .bind(m.expires_at.map(ms))
        .bind(m.description.as_deref())
        .bind(raise)
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn revoke_invite(&mut self, id: Uuid, by: &str, when: OffsetDateTime) -> Result<bool> {
        let done = query("UPDATE invites SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(ms(when))
            .bind(by)
            .execute(&mut *self)
            .await?;
        Ok(done == 1)
    }

    async fn list_invites(&mut self, q: &InviteQuery) -> Result<Vec<InviteRow>> {
        // Which subtrees to walk: what the caller may see, narrowed by the filter.
        let roots = roots_of(q);
        let mut qb = QueryBuilder::new("");
        match &roots {
            // Everything: the creation-order index, filtered as it goes.
            None => {
                qb.push(format!(
                    "SELECT {} FROM invites WHERE TRUE",
                    invite_columns_of::<E>("invites")
                ));
                push_invite_filters(&mut qb, q, "created_at", "id");
                let dir = direction(q);
                qb.push(format!(" ORDER BY created_at {dir}, id {dir} LIMIT "))
                    .push_bind(i64::from(q.limit));
            }
            Some(roots) if roots.is_empty() => return Ok(vec![]),
            // One subtree: one ordered range of invite_scopes, already in order.
            Some(roots) if roots.len() == 1 => push_scope_range::<E>(&mut qb, q, &roots[0]),
            // Several: their ranges merged, each cut at the page size first.
            Some(roots) => {
                qb.push(format!("SELECT {INVITE_COLUMNS} FROM ("));
                for (n, root) in roots.iter().enumerate() {
                    if n > 0 {
                        qb.push(" UNION ALL ");
                    }
                    qb.push("SELECT * FROM (");
                    push_scope_range::<E>(&mut qb, q, root);
                    qb.push(format!(") AS r{n}"));
                }
                let dir = direction(q);
                qb.push(format!(
                    ") AS merged ORDER BY created_at {dir}, id {dir} LIMIT "
                ))
                .push_bind(i64::from(q.limit));
            }
        }
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(invite_row).collect()
    }

    async fn count_invites(&mut self, q: &InviteQuery) -> Result<u64> {
        let uncut = InviteQuery {
            after: None,
            ..q.clone()
        };
        let roots = roots_of(q);
        let mut qb = QueryBuilder::new("SELECT COUNT(*) AS n FROM invites WHERE TRUE");
        match &roots {
            None => {}
            Some(roots) if roots.is_empty() => return Ok(0),
            // The roots are disjoint subtrees: one range each.
            Some(roots) => {
                qb.push(" AND (FALSE");
                for root in roots {
                    qb.push(" OR ");
                    push_predicate(&mut qb, &InvitePredicate::Within(root.clone()), 0);
                }
                qb.push(")");
            }
        }
        push_invite_filters(&mut qb, &uncut, "created_at", "id");
        let row = qb.build().fetch_one(&mut *self).await?;
        u64::try_from(get::<i64>(&row, "n")?).map_err(Error::internal)
    }

    async fn add_to_funnels(&mut self, counts: &[(Uuid, u64, u64)]) -> Result<()> {
        for (id, views, sign_ins) in counts {
            query(
                "INSERT INTO invite_funnel (invite_id, views, sign_ins) VALUES ($1, $2, $3) \
                 ON CONFLICT (invite_id) DO UPDATE SET views = invite_funnel.views + excluded.views, \
                 sign_ins = invite_funnel.sign_ins + excluded.sign_ins",
            )
            .bind(*id)
            .bind(i64::try_from(*views).unwrap_or(i64::MAX))
            .bind(i64::try_from(*sign_ins).unwrap_or(i64::MAX))
            .execute(&mut *self)
            .await?;
        }
        Ok(())
    }

    async fn funnels(&mut self, ids: &[Uuid]) -> Result<Vec<FunnelRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::new(
            "SELECT i.id, COALESCE(f.views, 0) AS views, COALESCE(f.sign_ins, 0) AS sign_ins, \
             (SELECT COUNT(*) FROM memberships m WHERE m.invite_id = i.id) AS joins, \
             (SELECT COUNT(*) FROM join_requests r WHERE r.invite_id = i.id) AS requests \
             FROM invites i LEFT JOIN invite_funnel f ON f.invite_id = i.id WHERE i.id IN (",
        );
        for (n, id) in ids.iter().enumerate() {
            if n > 0 {
                qb.push(", ");
            }
            qb.push_bind(*id);
        }
        qb.push(")");
        let rows = qb.build().fetch_all(&mut *self).await?;
        let count = |r: &_, c| get::<i64>(r, c).map(|n| u64::try_from(n).unwrap_or(0));
        rows.iter()
            .map(|r| {
                Ok(FunnelRow {
                    invite_id: get(r, "id")?,
                    views: count(r, "views")?,
                    sign_ins: count(r, "sign_ins")?,
                    joins: count(r, "joins")?,
                    requests: count(r, "requests")?,
                })
            })
            .collect()
    }
}

impl<E: Engine> SqlTx<'_, E> {
    /// Gives back digest forms a link claimed and then was not inserted.
    async fn release_digests(&mut self, claimed: &[Vec<u8>]) -> Result<()> {
        if claimed.is_empty() {
            return Ok(());
        }
        let mut qb = QueryBuilder::new("DELETE FROM invite_code_digests WHERE digest_hash IN (");
        for (n, h) in claimed.iter().enumerate() {
            if n > 0 {
                qb.push(", ");
            }
            qb.push_bind(h.clone());
        }
        qb.push(")");
        qb.build().execute(&mut *self).await?;
        Ok(())
    }
}
