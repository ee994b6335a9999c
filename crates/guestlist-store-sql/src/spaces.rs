use async_trait::async_trait;
use guestlist_store::domain::{Permissions, RoleName, SpacePath, UserId};
use guestlist_store::*;
use uuid::Uuid;

use crate::engine::*;
use crate::filters::*;
use crate::{SqlTx, sql_once};

pub(crate) fn space_row(r: &impl SqlRow) -> Result<SpaceRow> {
    Ok(SpaceRow {
        id: get(r, "id")?,
        path: SpacePath::parse(&get::<String>(r, "path")?).map_err(Error::internal)?,
        name: get(r, "name")?,
        join_mode: get::<String>(r, "join_mode")?
            .parse()
            .map_err(Error::internal)?,
        member_limit: get::<Option<i64>>(r, "member_limit")?
            .map(u32_of)
            .transpose()?,
        member_count: u32_of(get(r, "member_count")?)?,
        created_at: at(get(r, "created_at")?)?,
        created_by: get(r, "created_by")?,
    })
}

pub(crate) const SPACE_COLUMNS: &str =
    "id, path, name, join_mode, member_limit, member_count, created_at, created_by";

/// The space columns of table (or alias) `t`, its member count with its shards.
pub(crate) fn space_columns_of<E: Engine>(t: &str) -> String {
    format!(
        "{t}.id, {t}.path, {t}.name, {t}.join_mode, {t}.member_limit, {}, {t}.created_at, {t}.created_by",
        E::counted(t, "member_count")
    )
}

#[async_trait]
impl<E: Engine> SpacesTx for SqlTx<'_, E> {
    async fn insert_space(&mut self, s: &NewSpace) -> Result<Option<SpaceRow>> {
        let row = query(sql_once!(E,
            "INSERT INTO spaces (id, path, name, join_mode, member_limit, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (path) DO NOTHING RETURNING {SPACE_COLUMNS}"
        ))
        .bind(s.id)
        .bind(s.path.as_str())
        .bind(&s.name)
        .bind(s.join_mode.as_str())
        .bind(s.member_limit.map(i64::from))
        .bind(ms(s.created_at))
        .bind(&s.created_by)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(space_row).transpose()
    }

    async fn space_by_path(&mut self, path: &SpacePath) -> Result<Option<SpaceRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {} FROM spaces WHERE path = $1",
            space_columns_of::<E>("spaces")
        ))
        .bind(path.as_str())
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(space_row).transpose()
    }

    async fn lineage(&mut self, paths: &[SpacePath]) -> Result<(Vec<SpaceRow>, Vec<RoleRow>)> {
        let (spaces, roles, _) = load_lineage(self, paths, None).await?;
        Ok((spaces, roles))
    }

    async fn lineage_of(
        &mut self,
        paths: &[SpacePath],
        user: &UserId,
    ) -> Result<(Vec<SpaceRow>, Vec<RoleRow>, Vec<MembershipRow>)> {
        load_lineage(self, paths, Some(user)).await
    }

    async fn lock_space(&mut self, id: Uuid) -> Result<()> {
        E::lock_space(self, id).await
    }

    async fn update_space(&mut self, id: Uuid, patch: &SpacePatch) -> Result<SpaceRow> {
        // The exact count a new limit is checked against.
        E::settle_member_count(self, id).await?;
        let row = query(sql_once!(
            E,
            "UPDATE spaces SET \
               name = coalesce($2, name), \
               join_mode = coalesce($3, join_mode), \
               member_limit = CASE WHEN $4 THEN $5 ELSE member_limit END \
             WHERE id = $1 RETURNING {SPACE_COLUMNS}"
        ))
        .bind(id)
        .bind(patch.name.as_deref())
        .bind(patch.join_mode.map(|m| m.as_str()))
        .bind(patch.member_limit.is_some())
        .bind(patch.member_limit.flatten().map(i64::from))
        .fetch_one(&mut *self)
        .await?;
        space_row(&row)
    }

    async fn take_seat(&mut self, space_id: Uuid) -> Result<bool> {
        E::take_seat(self, space_id).await
    }

    async fn free_seat(&mut self, space_id: Uuid) -> Result<()> {
        E::free_seat(self, space_id).await
    }

    async fn insert_role(&mut self, role: &NewRole) -> Result<bool> {
        let done = query(
            "INSERT INTO roles (space_id, name, permissions, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (space_id, name) DO NOTHING",
        )
        .bind(role.space_id)
        .bind(role.name.as_str())
        .bind(role.permissions.bits())
        .bind(ms(role.created_at))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn roles_on(&mut self, space_ids: &[Uuid]) -> Result<Vec<RoleRow>> {
        if space_ids.is_empty() {
            return Ok(vec![]);
        }
        let mut qb =
            QueryBuilder::new("SELECT space_id, name, permissions FROM roles WHERE space_id IN ");
        push_in_ids(&mut qb, space_ids);
        qb.push(" ORDER BY name");
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter()
            .map(|r| {
                Ok(RoleRow {
                    space_id: get(r, "space_id")?,
                    name: RoleName::parse(&get::<String>(r, "name")?).map_err(Error::internal)?,
                    permissions: Permissions::from_bits(get(r, "permissions")?),
                })
            })
            .collect()
    }

    async fn list_spaces(&mut self, q: &SpaceQuery) -> Result<Vec<SpaceRow>> {
        let mut qb = QueryBuilder::new(sql_once!(
            E,
            "SELECT {} FROM spaces s WHERE TRUE",
            space_columns_of::<E>("s")
        ));
        push_visibility(&mut qb, "s.path", &q.visible);
        if let Some(k) = &q.after {
            qb.push(" AND (s.created_at, s.id) > (")
                .push_bind(ms(k.created_at))
                .push(", ")
                .push_bind(k.id)
                .push(")");
        }
        qb.push(" ORDER BY s.created_at, s.id LIMIT ")
            .push_bind(i64::from(q.limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(space_row).collect()
    }
}

/// The spaces of a lineage that exist, root first, with the custom roles defined on
/// them and, given a user, that user's memberships on them: one statement, one row per
/// (space, role) or one for a space without any (a user holds at most one membership
/// per space).
async fn load_lineage<E: Engine>(
    tx: &mut SqlTx<'_, E>,
    paths: &[SpacePath],
    user: Option<&UserId>,
) -> Result<(Vec<SpaceRow>, Vec<RoleRow>, Vec<MembershipRow>)> {
    if paths.is_empty() {
        return Ok((vec![], vec![], vec![]));
    }
    let mut qb = match user {
        None => QueryBuilder::new(sql_once!(
            E,
            "SELECT {}, r.name AS role_name, r.permissions AS role_permissions \
             FROM spaces s LEFT JOIN roles r ON r.space_id = s.id WHERE s.path IN (",
            space_columns_of::<E>("s")
        )),
        Some(user) => {
            let mut qb = QueryBuilder::new(sql_once!(
                E,
                "SELECT {}, r.name AS role_name, r.permissions AS role_permissions, \
                   m.id AS m_id, m.role AS m_role, m.status AS m_status, m.source AS m_source, \
                   m.invite_id AS m_invite_id, m.created_at AS m_created_at, m.updated_at AS m_updated_at \
                 FROM spaces s LEFT JOIN roles r ON r.space_id = s.id \
                 LEFT JOIN memberships m ON m.space_id = s.id AND m.user_id = ",
                space_columns_of::<E>("s")
            ));
            qb.push_bind(user.as_str()).push(" WHERE s.path IN (");
            qb
        }
    };
    qb.push_list(paths.iter().map(|p| p.as_str())).push(")");
    let rows = qb.build().fetch_all(&mut *tx).await?;
    let mut found = Vec::with_capacity(rows.len());
    for r in &rows {
        let space = space_row(r)?;
        let role = match get::<Option<String>>(r, "role_name")? {
            Some(name) => Some(RoleRow {
                space_id: space.id,
                name: RoleName::parse(&name).map_err(Error::internal)?,
                permissions: Permissions::from_bits(get(r, "role_permissions")?),
            }),
            None => None,
        };
        let membership = match (
            user,
            user.map(|_| get::<Option<Uuid>>(r, "m_id"))
                .transpose()?
                .flatten(),
        ) {
            (Some(user), Some(id)) => Some(MembershipRow {
                id,
                space_id: space.id,
                user_id: user.clone(),
                role: RoleName::parse(&get::<String>(r, "m_role")?).map_err(Error::internal)?,
                status: get::<String>(r, "m_status")?.parse()?,
                source: get::<String>(r, "m_source")?.parse()?,
                invite_id: get(r, "m_invite_id")?,
                created_at: at(get(r, "m_created_at")?)?,
                updated_at: at(get(r, "m_updated_at")?)?,
            }),
            _ => None,
        };
        found.push((space, role, membership));
    }
    // Root first, then each role by name: sorted here, a few rows, rather than by the
    // engine in a temporary B-tree.
    found.sort_by(|(a, x, _), (b, y, _)| {
        (a.path.as_str().len(), x.as_ref().map(|r| r.name.as_str()))
            .cmp(&(b.path.as_str().len(), y.as_ref().map(|r| r.name.as_str())))
    });
    let mut spaces: Vec<SpaceRow> = Vec::new();
    let mut roles = Vec::new();
    let mut memberships = Vec::new();
    for (space, role, membership) in found {
        roles.extend(role);
        if spaces.last().is_none_or(|s| s.id != space.id) {
            memberships.extend(membership);
            spaces.push(space);
        }
    }
    Ok((spaces, roles, memberships))
}
