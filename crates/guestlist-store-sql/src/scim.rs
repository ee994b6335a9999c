use async_trait::async_trait;
use guestlist_store::domain::{SpacePath, UserId};
use guestlist_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::*;
use crate::spaces::{space_columns_of, space_row};
use crate::{SqlTx, sql_once};

const USER_COLUMNS: &str = "id, root, user_id, user_name_key, external_id, active, resource, version, created_at, updated_at";

fn user_row(r: &impl SqlRow) -> Result<ScimUserRow> {
    Ok(ScimUserRow {
        id: get(r, "id")?,
        root: SpacePath::parse(&get::<String>(r, "root")?).map_err(Error::internal)?,
        user_id: UserId::parse(&get::<String>(r, "user_id")?).map_err(Error::internal)?,
        user_name_key: get(r, "user_name_key")?,
        external_id: get(r, "external_id")?,
        active: get(r, "active")?,
        resource: get(r, "resource")?,
        version: get(r, "version")?,
        created_at: at(get(r, "created_at")?)?,
        updated_at: at(get(r, "updated_at")?)?,
    })
}

fn group_row(r: &impl SqlRow) -> Result<ScimGroupRow> {
    Ok(ScimGroupRow {
        space_id: get(r, "space_id")?,
        root: SpacePath::parse(&get::<String>(r, "root")?).map_err(Error::internal)?,
        external_id: get(r, "external_id")?,
        deleted: get(r, "deleted")?,
        version: get(r, "version")?,
        created_at: at(get(r, "created_at")?)?,
        updated_at: at(get(r, "updated_at")?)?,
    })
}

#[async_trait]
impl<E: Engine> ScimTx for SqlTx<'_, E> {
    async fn insert_scim_user(&mut self, u: &ScimUserRow) -> Result<bool> {
        let done = query(
            "INSERT INTO scim_users (id, root, user_id, user_name_key, external_id, active, resource, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        )
        .bind(u.id)
        .bind(u.root.as_str())
        .bind(u.user_id.as_str())
        .bind(&u.user_name_key)
        .bind(u.external_id.as_deref())
        .bind(u.active)
        .bind(&u.resource)
        .bind(u.version)
        .bind(ms(u.created_at))
        .bind(ms(u.updated_at))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn scim_user(&mut self, root: &SpacePath, id: Uuid) -> Result<Option<ScimUserRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {USER_COLUMNS} FROM scim_users WHERE id = $1 AND root = $2"
        ))
        .bind(id)
        .bind(root.as_str())
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn scim_users(
        &mut self,
        root: &SpacePath,
        by: ScimUsersBy<'_>,
    ) -> Result<Vec<ScimUserRow>> {
        let (sql, value): (&'static str, Option<&str>) = match by {
            ScimUsersBy::All => (
                sql_once!(
                    E,
                    "SELECT {USER_COLUMNS} FROM scim_users WHERE root = $1 ORDER BY created_at, id"
                ),
                None,
            ),
            ScimUsersBy::UserNameKey(v) => (
                sql_once!(
                    E,
                    "SELECT {USER_COLUMNS} FROM scim_users WHERE root = $1 AND user_name_key = $2"
                ),
                Some(v),
            ),
            ScimUsersBy::ExternalId(v) => (
                sql_once!(
                    E,
                    "SELECT {USER_COLUMNS} FROM scim_users WHERE root = $1 AND external_id = $2 ORDER BY created_at, id"
                ),
                Some(v),
            ),
            ScimUsersBy::UserId(v) => (
                sql_once!(
                    E,
                    "SELECT {USER_COLUMNS} FROM scim_users WHERE root = $1 AND user_id = $2"
                ),
                Some(v),
            ),
        };
        let mut q = query(sql).bind(root.as_str());
        if let Some(v) = value {
            q = q.bind(v);
        }
        let rows = q.fetch_all(&mut *self).await?;
        rows.iter().map(user_row).collect()
    }

    async fn update_scim_user(&mut self, u: &ScimUserRow, expected: i64) -> Result<bool> {
        let done = query(
            "UPDATE scim_users SET user_name_key = $1, external_id = $2, active = $3, resource = $4, \
             version = $5, updated_at = $6 WHERE id = $7 AND version = $8",
        )
        .bind(&u.user_name_key)
        .bind(u.external_id.as_deref())
        .bind(u.active)
        .bind(&u.resource)
        .bind(u.version)
        .bind(ms(u.updated_at))
        .bind(u.id)
        .bind(expected)
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn touch_scim_user(&mut self, id: Uuid, when: OffsetDateTime) -> Result<()> {
        query("UPDATE scim_users SET version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(ms(when))
            .bind(id)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn delete_scim_user(&mut self, id: Uuid) -> Result<bool> {
        query("DELETE FROM scim_group_members WHERE scim_user_id = $1")
            .bind(id)
            .execute(&mut *self)
            .await?;
        let done = query("DELETE FROM scim_users WHERE id = $1")
            .bind(id)
            .execute(&mut *self)
            .await?;
        Ok(done == 1)
    }

    async fn space_by_id(&mut self, id: Uuid) -> Result<Option<SpaceRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {} FROM spaces WHERE id = $1",
            space_columns_of::<E>("spaces")
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(space_row).transpose()
    }

    async fn scim_group(&mut self, space_id: Uuid) -> Result<Option<ScimGroupRow>> {
        let row = query(
            "SELECT space_id, root, external_id, deleted, version, created_at, updated_at \
             FROM scim_groups WHERE space_id = $1",
        )
        .bind(space_id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(group_row).transpose()
    }

    async fn scim_groups(&mut self, root: &SpacePath) -> Result<Vec<ScimGroupRow>> {
        let rows = query(
            "SELECT space_id, root, external_id, deleted, version, created_at, updated_at \
             FROM scim_groups WHERE root = $1",
        )
        .bind(root.as_str())
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(group_row).collect()
    }

    async fn put_scim_group(&mut self, g: &ScimGroupRow, expected: Option<i64>) -> Result<bool> {
        let done = match expected {
            None => {
                query(
                    "INSERT INTO scim_groups (space_id, root, external_id, deleted, version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(g.space_id)
                .bind(g.root.as_str())
                .bind(g.external_id.as_deref())
                .bind(g.deleted)
                .bind(g.version)
                .bind(ms(g.created_at))
                .bind(ms(g.updated_at))
                .execute(&mut *self)
                .await?
            }
            Some(expected) => {
                query(
                    "UPDATE scim_groups SET root = $1, external_id = $2, deleted = $3, version = $4, updated_at = $5 \
                     WHERE space_id = $6 AND version = $7",
                )
                .bind(g.root.as_str())
                .bind(g.external_id.as_deref())
                .bind(g.deleted)
                .bind(g.version)
                .bind(ms(g.updated_at))
                .bind(g.space_id)
                .bind(expected)
                .execute(&mut *self)
                .await?
            }
        };
        Ok(done == 1)
    }

    async fn scim_group_members(&mut self, space_id: Uuid) -> Result<Vec<Uuid>> {
        let rows = query(
            "SELECT scim_user_id FROM scim_group_members WHERE space_id = $1 ORDER BY scim_user_id",
        )
        .bind(space_id)
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(|r| get(r, "scim_user_id")).collect()
    }

    async fn scim_groups_of(&mut self, scim_user: Uuid) -> Result<Vec<Uuid>> {
        let rows = query(
            "SELECT space_id FROM scim_group_members WHERE scim_user_id = $1 ORDER BY space_id",
        )
        .bind(scim_user)
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(|r| get(r, "space_id")).collect()
    }

    async fn add_scim_group_member(&mut self, space_id: Uuid, scim_user: Uuid) -> Result<bool> {
        let done = query(
            "INSERT INTO scim_group_members (space_id, scim_user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(space_id)
        .bind(scim_user)
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn remove_scim_group_member(&mut self, space_id: Uuid, scim_user: Uuid) -> Result<bool> {
        let done =
            query("DELETE FROM scim_group_members WHERE space_id = $1 AND scim_user_id = $2")
                .bind(space_id)
                .bind(scim_user)
                .execute(&mut *self)
                .await?;
        Ok(done == 1)
    }
}
