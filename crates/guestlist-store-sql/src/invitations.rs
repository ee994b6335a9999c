use async_trait::async_trait;
use guestlist_store::domain::{self, RoleName, SpacePath, UserId};
use guestlist_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::*;
use crate::filters::*;
use crate::{SqlTx, sql_once};

/// Where the latest e-mail of a row (an invitation or a platform invitation) is: its
/// `mail_id` joined to the outbox as `mail_state`, `mail_attempts`, `mail_error`,
/// `mail_sent_at`.
pub(crate) fn delivery(r: &impl SqlRow) -> Result<Option<Delivery>> {
    let Some(mail_id) = get::<Option<Uuid>>(r, "mail_id")? else {
        return Ok(None);
    };
    let Some(state) = get::<Option<String>>(r, "mail_state")? else {
        return Ok(None);
    };
    Ok(Some(Delivery {
        mail_id,
        state: domain::DeliveryState::parse(&state)?,
        attempts: u32_of(get(r, "mail_attempts")?)?,
        last_error: get(r, "mail_error")?,
        sent_at: opt_at(get(r, "mail_sent_at")?)?,
    }))
}

pub(crate) fn invitation_row(r: &impl SqlRow) -> Result<InvitationRow> {
    let email = get::<Option<String>>(r, "email")?.map(domain::Email::stored);
    let username = get::<Option<String>>(r, "username")?
        .map(|u| domain::Username::parse(&u).map_err(Error::internal))
        .transpose()?;
    let user_id = get::<Option<String>>(r, "user_id")?
        .map(|u| UserId::parse(&u).map_err(Error::internal))
        .transpose()?;
    let delivery = delivery(r)?;
    Ok(InvitationRow {
        id: get(r, "id")?,
        space_id: get(r, "space_id")?,
        space_path: SpacePath::parse(&get::<String>(r, "space_path")?).map_err(Error::internal)?,
        role: RoleName::parse(&get::<String>(r, "role")?).map_err(Error::internal)?,
        addressee: domain::Addressee {
            email,
            username,
            user_id,
        },
        message: get(r, "message")?,
        stored_status: domain::InvitationStatus::parse(&get::<String>(r, "status")?)
            .map_err(Error::internal)?,
        token_salt: get(r, "token_salt")?,
        lifetime_secs: get(r, "lifetime_secs")?,
        expires_at: at(get(r, "expires_at")?)?,
        sends: u32_of(get(r, "sends")?)?,
        last_sent_at: at(get(r, "last_sent_at")?)?,
        created_by: get(r, "created_by")?,
        created_by_name: get(r, "created_by_name")?,
        created_at: at(get(r, "created_at")?)?,
        decided_by: get(r, "decided_by")?,
        decided_at: opt_at(get(r, "decided_at")?)?,
        delivery,
    })
}

/// The predicate of an invitation status at `now`.
pub(crate) fn push_invitation_status(
    qb: &mut QueryBuilder,
    status: domain::InvitationStatus,
    now: i64,
) {
    use domain::InvitationStatus as S;
    match status {
        S::Pending => {
            qb.push(" AND i.status = 'pending' AND i.expires_at > ")
                .push_bind(now);
        }
        S::Expired => {
            qb.push(" AND i.status = 'pending' AND i.expires_at <= ")
                .push_bind(now);
        }
        other => {
            qb.push(" AND i.status = ").push_bind(other.as_str());
        }
    }
}

pub(crate) const INVITATION_SELECT: &str = "SELECT i.id, i.space_id, i.space_path, i.role, i.email, i.username, i.user_id, \
     i.message, i.status, i.token_salt, i.lifetime_secs, i.expires_at, i.sends, i.last_sent_at, i.mail_id, \
     i.created_by, i.created_by_name, i.created_at, i.decided_by, i.decided_at, \
     m.state AS mail_state, m.attempts AS mail_attempts, m.last_error AS mail_error, m.sent_at AS mail_sent_at \
     FROM invitations i LEFT JOIN mail_outbox m ON m.id = i.mail_id";

#[async_trait]
impl<E: Engine> InvitationsTx for SqlTx<'_, E> {
    async fn insert_invitation(&mut self, i: &NewInvitation) -> Result<bool> {
        let done = query(
            "INSERT INTO invitations (id, token_hash, token_salt, space_id, space_path, role, email, username, user_id, \
               addressee, message, status, lifetime_secs, expires_at, sends, last_sent_at, mail_id, created_by, \
               created_by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $13, 1, $14, $15, $16, $17, $14) \
             ON CONFLICT DO NOTHING",
        )
        .bind(i.id)
        .bind(&i.token_hash)
        .bind(&i.token_salt)
        .bind(i.space_id)
        .bind(i.space_path.as_str())
        .bind(i.role.as_str())
        .bind(i.addressee.email.as_ref().map(|e| e.as_str()))
        .bind(i.addressee.username.as_ref().map(|u| u.as_str()))
        .bind(i.addressee.user_id.as_ref().map(|u| u.as_str()))
        .bind(i.addressee.key())
        .bind(i.message.as_deref())
        .bind(i.lifetime_secs)
        .bind(ms(i.expires_at))
        .bind(ms(i.created_at))
        .bind(i.mail_id)
        .bind(&i.created_by)
        .bind(&i.created_by_name)
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn invitation_by_id(&mut self, id: Uuid) -> Result<Option<InvitationRow>> {
        let row = query(sql_once!(E, "{INVITATION_SELECT} WHERE i.id = $1"))
            .bind(id)
            .fetch_optional(&mut *self)
            .await?;
        row.as_ref().map(invitation_row).transpose()
    }

    async fn invitation_by_token(&mut self, token_hash: &[u8]) -> Result<Option<InvitationRow>> {
        let row = query(sql_once!(E, "{INVITATION_SELECT} WHERE i.token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&mut *self)
            .await?;
        row.as_ref().map(invitation_row).transpose()
    }

    async fn pending_invitation_to(
        &mut self,
        space_id: Uuid,
        to: &domain::Addressee,
    ) -> Result<Option<InvitationRow>> {
        let mut qb = QueryBuilder::new(INVITATION_SELECT);
        qb.push(" WHERE i.status = 'pending' AND i.space_id = ")
            .push_bind(space_id);
        qb.push(" AND (i.addressee = ")
            .push_bind(to.key())
            .push(" OR ");
        push_addressee(&mut qb, "i.", to);
        qb.push(") ORDER BY i.created_at, i.id LIMIT 1");
        let row = qb.build().fetch_optional(&mut *self).await?;
        row.as_ref().map(invitation_row).transpose()
    }

    async fn decide_invitation(
        &mut self,
        id: Uuid,
        to: domain::InvitationStatus,
        by: &str,
        when: OffsetDateTime,
        live_at: Option<OffsetDateTime>,
    ) -> Result<bool> {
        let done = query(
            "UPDATE invitations SET status = $2, decided_by = $3, decided_at = $4 \
             WHERE id = $1 AND status = 'pending' AND ($5 IS NULL OR expires_at > $5)",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(by)
        .bind(ms(when))
        .bind(live_at.map(ms))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn reissue_invitation(&mut self, r: &Reissue) -> Result<bool> {
        let done = query(
            "UPDATE invitations SET token_hash = $2, token_salt = $3, expires_at = $4, mail_id = $5, \
               sends = sends + 1, last_sent_at = $6, expiry_told = FALSE \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(r.id)
        .bind(&r.token_hash)
        .bind(&r.token_salt)
        .bind(ms(r.expires_at))
        .bind(r.mail_id)
        .bind(ms(r.at))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn untold_expired_invitations(
        &mut self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<InvitationRow>> {
        let mut qb = QueryBuilder::new(INVITATION_SELECT);
        qb.push(" WHERE i.status = 'pending' AND NOT i.expiry_told AND i.expires_at <= ")
            .push_bind(ms(now))
            .push(" ORDER BY i.expires_at LIMIT ")
            .push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(invitation_row).collect()
    }

    async fn tell_invitation_expired(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        let done = query(
            "UPDATE invitations SET expiry_told = TRUE \
             WHERE id = $1 AND status = 'pending' AND NOT expiry_told AND expires_at <= $2",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn list_invitations(&mut self, q: &InvitationQuery) -> Result<Vec<InvitationRow>> {
        let mut qb = QueryBuilder::new(INVITATION_SELECT);
        qb.push(" WHERE TRUE");
        push_visibility(&mut qb, "i.space_path", &q.visible);
        if let Some(root) = &q.subtree {
            qb.push(" AND ");
            push_subtree(&mut qb, "i.space_path", root);
        }
        if let Some(status) = q.status {
            push_invitation_status(&mut qb, status, ms(q.now));
        }
        if let Some(email) = &q.email {
            qb.push(" AND i.email = ")
                .push_bind(email.as_str().to_owned());
        }
        if let Some(k) = &q.after {
            qb.push(" AND (i.created_at, i.id) < (")
                .push_bind(ms(k.created_at))
                .push(", ")
                .push_bind(k.id)
                .push(")");
        }
        qb.push(" ORDER BY i.created_at DESC, i.id DESC LIMIT ")
            .push_bind(i64::from(q.limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(invitation_row).collect()
    }

    async fn invitations_addressed_to(
        &mut self,
        user: &UserId,
        email: Option<&domain::Email>,
        username: Option<&domain::Username>,
        now: OffsetDateTime,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<InvitationRow>> {
        let mut qb = QueryBuilder::new(INVITATION_SELECT);
        qb.push(" WHERE TRUE");
        push_invitation_status(&mut qb, domain::InvitationStatus::Pending, ms(now));
        let who = domain::Addressee {
            email: email.cloned(),
            username: username.cloned(),
            user_id: Some(user.clone()),
        };
        qb.push(" AND ");
        push_addressee(&mut qb, "i.", &who);
        if let Some(k) = after {
            qb.push(" AND (i.created_at, i.id) < (")
                .push_bind(ms(k.created_at))
                .push(", ")
                .push_bind(k.id)
                .push(")");
        }
        qb.push(" ORDER BY i.created_at DESC, i.id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(invitation_row).collect()
    }

    async fn expire_idempotency_keys(&mut self, before: OffsetDateTime) -> Result<u64> {
        let done = query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(ms(before))
            .execute(&mut *self)
            .await?;
        Ok(done)
    }

    async fn idempotent_response(
        &mut self,
        owner: &str,
        key: &str,
    ) -> Result<Option<(Vec<u8>, String)>> {
        let row = query(
            "SELECT request_hash, response FROM idempotency_keys WHERE owner = $1 AND key = $2",
        )
        .bind(owner)
        .bind(key)
        .fetch_optional(&mut *self)
        .await?;
        row.map(|r| Ok((get(&r, "request_hash")?, get(&r, "response")?)))
            .transpose()
    }

    async fn store_idempotent_response(
        &mut self,
        owner: &str,
        key: &str,
        request_hash: &[u8],
        response: &str,
        when: OffsetDateTime,
    ) -> Result<bool> {
        let done = query(
            "INSERT INTO idempotency_keys (owner, key, request_hash, response, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(owner)
        .bind(key)
        .bind(request_hash)
        .bind(response)
        .bind(ms(when))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }
}
