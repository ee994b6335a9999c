use async_trait::async_trait;
use guestlist_store::domain::{self, RoleName, SpacePath, UserId};
use guestlist_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::*;
use crate::filters::*;
use crate::{SqlTx, sql_once};

pub(crate) fn membership_row(r: &impl SqlRow) -> Result<MembershipRow> {
    Ok(MembershipRow {
        id: get(r, "id")?,
        space_id: get(r, "space_id")?,
        user_id: UserId::parse(&get::<String>(r, "user_id")?).map_err(Error::internal)?,
        role: RoleName::parse(&get::<String>(r, "role")?).map_err(Error::internal)?,
        status: get::<String>(r, "status")?.parse()?,
        source: get::<String>(r, "source")?.parse()?,
        invite_id: get(r, "invite_id")?,
        created_at: at(get(r, "created_at")?)?,
        updated_at: at(get(r, "updated_at")?)?,
    })
}

pub(crate) const MEMBERSHIP_COLUMNS: &str =
    "id, space_id, user_id, role, status, source, invite_id, created_at, updated_at";

#[async_trait]
impl<E: Engine> MembersTx for SqlTx<'_, E> {
    async fn insert_membership(&mut self, m: &NewMembership) -> Result<Option<MembershipRow>> {
        // No RETURNING: SQLite gathers returned rows in a temporary B-tree, and
        // opening one was most of this insert's time; the row is what was inserted.
        let done = query(
            "INSERT INTO memberships (id, space_id, user_id, role, status, source, invite_id, created_at, updated_at, email, username, added_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11) \
             ON CONFLICT (space_id, user_id) DO NOTHING",
        )
        .bind(m.id)
        .bind(m.space_id)
        .bind(m.user_id.as_str())
        .bind(m.role.as_str())
        .bind(m.status.as_str())
        .bind(m.source.as_str())
        .bind(m.invite_id)
        .bind(ms(m.created_at))
        .bind(m.email.as_ref().map(|e| e.as_str()))
        .bind(m.username.as_ref().map(|u| u.as_str()))
        .bind(m.added_by.as_deref())
        .execute(&mut *self)
        .await?;
        Ok((done == 1).then(|| m.stored()))
    }

    async fn membership(&mut self, space_id: Uuid, user: &UserId) -> Result<Option<MembershipRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE space_id = $1 AND user_id = $2"
        ))
        .bind(space_id)
        .bind(user.as_str())
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(membership_row).transpose()
    }

    async fn memberships_on(
        &mut self,
        user: &UserId,
        space_ids: &[Uuid],
    ) -> Result<Vec<MembershipRow>> {
        if space_ids.is_empty() {
            return Ok(vec![]);
        }
        let mut qb = QueryBuilder::new(sql_once!(
            E,
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE user_id = "
        ));
        qb.push_bind(user.as_str().to_owned())
            .push(" AND space_id IN ");
        push_in_ids(&mut qb, space_ids);
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(membership_row).collect()
    }

    async fn memberships_of(&mut self, user: &UserId) -> Result<Vec<(MembershipRow, SpacePath)>> {
        let rows = query(
            "SELECT m.id, m.space_id, m.user_id, m.role, m.status, m.source, m.invite_id, m.created_at, \
               m.updated_at, s.path FROM memberships m JOIN spaces s ON s.id = m.space_id \
             WHERE m.user_id = $1 ORDER BY s.path",
        )
        .bind(user.as_str())
        .fetch_all(&mut *self)
        .await?;
        rows.iter()
            .map(|r| {
                let path = SpacePath::parse(&get::<String>(r, "path")?).map_err(Error::internal)?;
                Ok((membership_row(r)?, path))
            })
            .collect()
    }

    async fn list_memberships_of(
        &mut self,
        user: &UserId,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<(MembershipRow, SpacePath)>> {
        let mut qb = QueryBuilder::new(
            "SELECT m.id, m.space_id, m.user_id, m.role, m.status, m.source, m.invite_id, m.created_at, \
               m.updated_at, s.path FROM memberships m JOIN spaces s ON s.id = m.space_id \
             WHERE m.user_id = ",
        );
        qb.push_bind(user.as_str());
        if let Some(k) = after {
            qb.push(" AND (m.created_at, m.id) > (")
                .push_bind(ms(k.created_at))
                .push(", ")
                .push_bind(k.id)
                .push(")");
        }
        qb.push(" ORDER BY m.created_at, m.id LIMIT ")
            .push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter()
            .map(|r| {
                let path = SpacePath::parse(&get::<String>(r, "path")?).map_err(Error::internal)?;
                Ok((membership_row(r)?, path))
            })
            .collect()
    }

    async fn set_membership_role(
        &mut self,
        id: Uuid,
        role: &RoleName,
        when: OffsetDateTime,
    ) -> Result<()> {
        query("UPDATE memberships SET role = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(role.as_str())
            .bind(ms(when))
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn delete_membership(&mut self, id: Uuid) -> Result<bool> {
        let done = query("DELETE FROM memberships WHERE id = $1")
            .bind(id)
            .execute(&mut *self)
            .await?;
        Ok(done == 1)
    }

    async fn withdraw_pending_membership(&mut self, id: Uuid) -> Result<bool> {
        let done = query("DELETE FROM memberships WHERE id = $1 AND status = 'pending'")
            .bind(id)
            .execute(&mut *self)
            .await?;
        Ok(done == 1)
    }

    async fn brought_by(&mut self, membership_ids: &[Uuid]) -> Result<Vec<(Uuid, String)>> {
        if membership_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::new(
            "SELECT m.id, COALESCE(m.added_by, \
               (SELECT i.created_by FROM invites i WHERE i.id = m.invite_id AND m.source = 'invite_link'), \
               (SELECT v.created_by FROM invitations v WHERE m.source = 'invitation' AND v.space_id = m.space_id \
                  AND v.decided_by = m.user_id AND v.status = 'accepted' ORDER BY v.decided_at DESC LIMIT 1), \
               (SELECT r.decided_by FROM join_requests r WHERE m.source = 'join_request' AND r.space_id = m.space_id \
                  AND r.user_id = m.user_id AND r.status = 'approved' ORDER BY r.decided_at DESC LIMIT 1) \
             ) AS brought_by FROM memberships m WHERE m.id IN (",
        );
        for (n, id) in membership_ids.iter().enumerate() {
            if n > 0 {
                qb.push(", ");
            }
            qb.push_bind(*id);
        }
        qb.push(")");
        let rows = qb.build().fetch_all(&mut *self).await?;
        let mut out = Vec::new();
        for r in &rows {
            if let Some(by) = get::<Option<String>>(r, "brought_by")? {
                out.push((get(r, "id")?, by));
            }
        }
        Ok(out)
    }

    async fn list_memberships(
        &mut self,
        space_id: Uuid,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<MembershipRow>> {
        // `created_at IS NOT NULL` (always true) is the predicate of PostgreSQL's
        // partial memberships_by_join, which only this list may use (its migration
        // 0008); SQLite drops the term and keeps that index whole.
        let mut qb = QueryBuilder::new(format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE created_at IS NOT NULL AND space_id = "
        ));
        qb.push_bind(space_id);
        if let Some(k) = after {
            qb.push(" AND (created_at, id) > (")
                .push_bind(ms(k.created_at))
                .push(", ")
                .push_bind(k.id)
                .push(")");
        }
        qb.push(" ORDER BY created_at, id LIMIT ")
            .push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(membership_row).collect()
    }

    async fn count_members_with_roles(
        &mut self,
        space_id: Uuid,
        roles: &[RoleName],
    ) -> Result<u64> {
        if roles.is_empty() {
            return Ok(0);
        }
        let mut qb = QueryBuilder::new(
            "SELECT count(*) AS n FROM memberships WHERE status = 'active' AND space_id = ",
        );
        qb.push_bind(space_id).push(" AND role IN (");
        qb.push_list(roles.iter().map(|r| r.as_str())).push(")");
        let row = qb.build().fetch_one(&mut *self).await?;
        Ok(get::<i64>(&row, "n")? as u64)
    }

    async fn membership_by_id(&mut self, id: Uuid) -> Result<Option<MembershipRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(membership_row).transpose()
    }

    async fn memberships_of_addressee(
        &mut self,
        space_ids: &[Uuid],
        within: &domain::SpacePath,
        to: &domain::Addressee,
    ) -> Result<Vec<MembershipRow>> {
        if space_ids.is_empty() {
            return Ok(vec![]);
        }
        let mut qb = QueryBuilder::new(format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE space_id IN "
        ));
        push_in_ids(&mut qb, space_ids);
        // Whoever the addressee names: by user id, by the e-mail or username they
        // joined with, or by an identity the host vouched for since.
        qb.push(" AND (");
        push_addressee(&mut qb, "", to);
        qb.push(" OR user_id IN (SELECT user_id FROM user_identities WHERE ((kind = 'email' AND value = ")
            .push_bind(to.email.as_ref().map(|e| e.as_str()))
            .push(") OR (kind = 'username' AND value = ")
            .push_bind(to.username.as_ref().map(|u| u.as_str()))
            .push("))");
        // A SCIM key's assertion counts only within its subtree.
        push_identity_scope(&mut qb, within);
        qb.push("))");
        qb.push(" ORDER BY created_at, id");
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(membership_row).collect()
    }

    async fn activate_membership(
        &mut self,
        id: Uuid,
        role: &RoleName,
        when: OffsetDateTime,
    ) -> Result<bool> {
        let done = query(
            "UPDATE memberships SET status = 'active', role = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(role.as_str())
        .bind(ms(when))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }
}

/// ` AND …`: an identity row counts for a space `within` its scope (identities a
/// token verified or the host set have none: they count everywhere).
pub(crate) fn push_identity_scope(qb: &mut QueryBuilder, within: &domain::SpacePath) {
    qb.push(" AND (scope IS NULL OR substr(")
        .push_bind(within.as_str().to_owned())
        .push(", 1, length(scope)) = scope)");
}
