use async_trait::async_trait;
use guestlist_store::domain::{self, RoleName, SpacePath, UserId};
use guestlist_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::*;
use crate::filters::*;
use crate::{SqlTx, sql_once};

pub(crate) const JOIN_REQUEST_COLUMNS: &str = "id, space_id, space_path, user_id, email, username, role, message, invite_id, \
     status, created_at, decided_by, decided_at";

pub(crate) fn join_request_row(r: &impl SqlRow) -> Result<JoinRequestRow> {
    Ok(JoinRequestRow {
        id: get(r, "id")?,
        space_id: get(r, "space_id")?,
        space_path: SpacePath::parse(&get::<String>(r, "space_path")?).map_err(Error::internal)?,
        user_id: UserId::parse(&get::<String>(r, "user_id")?).map_err(Error::internal)?,
        email: get::<Option<String>>(r, "email")?.map(email_of),
        username: get::<Option<String>>(r, "username")?
            .map(|u| domain::Username::parse(&u).map_err(Error::internal))
            .transpose()?,
        role: RoleName::parse(&get::<String>(r, "role")?).map_err(Error::internal)?,
        message: get(r, "message")?,
        invite_id: get(r, "invite_id")?,
        status: JoinRequestStatus::parse(&get::<String>(r, "status")?).map_err(Error::internal)?,
        created_at: at(get(r, "created_at")?)?,
        decided_by: get(r, "decided_by")?,
        decided_at: opt_at(get(r, "decided_at")?)?,
    })
}

#[async_trait]
impl<E: Engine> RequestsTx for SqlTx<'_, E> {
    async fn insert_join_request(&mut self, r: &NewJoinRequest) -> Result<bool> {
        let done = query(
            "INSERT INTO join_requests (id, space_id, space_path, user_id, email, username, role, message, invite_id, \
               status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10) ON CONFLICT DO NOTHING",
        )
        .bind(r.id)
        .bind(r.space_id)
        .bind(r.space_path.as_str())
        .bind(r.user_id.as_str())
        .bind(r.email.as_ref().map(|e| e.as_str()))
        .bind(r.username.as_ref().map(|u| u.as_str()))
        .bind(r.role.as_str())
        .bind(r.message.as_deref())
        .bind(r.invite_id)
        .bind(ms(r.created_at))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn join_request_by_id(&mut self, id: Uuid) -> Result<Option<JoinRequestRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(join_request_row).transpose()
    }

    async fn pending_join_request(
        &mut self,
        space_id: Uuid,
        user: &UserId,
    ) -> Result<Option<JoinRequestRow>> {
        let row = query(sql_once!(E,
            "SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests WHERE space_id = $1 AND user_id = $2 AND status = 'pending'"
        ))
        .bind(space_id)
        .bind(user.as_str())
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(join_request_row).transpose()
    }

    async fn decide_join_request(
        &mut self,
        id: Uuid,
        to: JoinRequestStatus,
        by: &str,
        when: OffsetDateTime,
    ) -> Result<bool> {
        let done = query(
            "UPDATE join_requests SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(by)
        .bind(ms(when))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn list_join_requests(
        &mut self,
        space_id: Uuid,
        status: Option<JoinRequestStatus>,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<JoinRequestRow>> {
        let mut qb = QueryBuilder::new(format!(
            "SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests WHERE space_id = "
        ));
        qb.push_bind(space_id);
        if let Some(status) = status {
            qb.push(" AND status = ").push_bind(status.as_str());
        }
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
        rows.iter().map(join_request_row).collect()
    }

    async fn pending_join_requests_of(&mut self, user: &UserId) -> Result<Vec<JoinRequestRow>> {
        let rows = query(sql_once!(E,
            "SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests WHERE user_id = $1 AND status = 'pending' \
             ORDER BY created_at, id LIMIT 1000"
        ))
        .bind(user.as_str())
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(join_request_row).collect()
    }
}
