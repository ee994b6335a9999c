use async_trait::async_trait;
use guestlist_store::domain::{self, SpacePath, UserId};
use guestlist_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::*;
use crate::filters::*;
use crate::{SqlTx, sql_once};

pub(crate) fn gate_row(r: &impl SqlRow) -> Result<GateRow> {
    Ok(GateRow {
        settings: GateSettings {
            gate: domain::Gate {
                invite_only: get(r, "invite_only")?,
                cap: get::<Option<i64>>(r, "cap")?.map(u32_of).transpose()?,
            },
            user_invitations: get(r, "user_invitations")?,
            user_quota: get::<Option<i64>>(r, "user_quota")?
                .map(u32_of)
                .transpose()?,
            quota_period_secs: get(r, "quota_period_secs")?,
        },
        seats_taken: u32_of(get(r, "seats_taken")?)?,
    })
}

pub(crate) fn platform_invitation_row(r: &impl SqlRow) -> Result<PlatformInvitationRow> {
    Ok(PlatformInvitationRow {
        id: get(r, "id")?,
        email: get::<Option<String>>(r, "email")?.map(email_of),
        max_uses: u32_of(get(r, "max_uses")?)?,
        uses: u32_of(get(r, "uses")?)?,
        reserved: u32_of(get(r, "reserved")?)?,
        expires_at: opt_at(get(r, "expires_at")?)?,
        invited_by: get(r, "invited_by")?,
        created_at: at(get(r, "created_at")?)?,
        revoked_at: opt_at(get(r, "revoked_at")?)?,
        revoked_by: get(r, "revoked_by")?,
        token_salt: get(r, "token_salt")?,
        sends: u32_of(get(r, "sends")?)?,
        last_sent_at: opt_at(get(r, "last_sent_at")?)?,
        delivery: crate::invitations::delivery(r)?,
    })
}

pub(crate) fn claim_row(r: &impl SqlRow) -> Result<ClaimRow> {
    Ok(ClaimRow {
        id: get(r, "id")?,
        email: email_of(get(r, "email")?),
        invitation_id: get(r, "invitation_id")?,
        state: ClaimState::parse(&get::<String>(r, "state")?)?,
        expires_at: at(get(r, "expires_at")?)?,
        user_id: get::<Option<String>>(r, "user_id")?
            .map(|u| UserId::parse(&u).map_err(Error::internal))
            .transpose()?,
        created_at: at(get(r, "created_at")?)?,
    })
}

pub(crate) fn signup_row(r: &impl SqlRow) -> Result<SignupRow> {
    Ok(SignupRow {
        user_id: UserId::parse(&get::<String>(r, "user_id")?).map_err(Error::internal)?,
        email: email_of(get(r, "email")?),
        invited_by: get(r, "invited_by")?,
        invitation_id: get(r, "invitation_id")?,
        created_at: at(get(r, "created_at")?)?,
    })
}

pub(crate) const GATE_COLUMNS: &str =
    "invite_only, cap, seats_taken, user_invitations, user_quota, quota_period_secs";

/// The `id` column of rows an `UPDATE … RETURNING id` changed.
pub(crate) fn ids_of(rows: &[impl SqlRow]) -> Result<Vec<Uuid>> {
    rows.iter().map(|r| get(r, "id")).collect()
}

/// These platform invitations, as `platform_invitation_by_id` reads them (with their
/// delivery, which a `RETURNING` cannot join).
pub(crate) async fn platform_invitations_by_id<E: Engine>(
    tx: &mut SqlTx<'_, E>,
    ids: Vec<Uuid>,
) -> Result<Vec<PlatformInvitationRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = tx.platform_invitation_by_id(id).await? {
            out.push(row);
        }
    }
    Ok(out)
}

/// A platform invitation with the delivery of its latest e-mail.
pub(crate) const PLATFORM_INVITATION_SELECT: &str = "SELECT p.id, p.email, p.max_uses, p.uses, p.reserved, \
     p.expires_at, p.invited_by, p.created_at, p.revoked_at, p.revoked_by, p.token_salt, p.sends, \
     p.last_sent_at, p.mail_id, m.state AS mail_state, m.attempts AS mail_attempts, \
     m.last_error AS mail_error, m.sent_at AS mail_sent_at \
     FROM platform_invitations p LEFT JOIN mail_outbox m ON m.id = p.mail_id";

pub(crate) const CLAIM_COLUMNS: &str =
    "id, email, invitation_id, state, expires_at, user_id, created_at";

pub(crate) const SIGNUP_COLUMNS: &str = "user_id, email, invited_by, invitation_id, created_at";

/// Everyone below `$1` in the referral tree (depth 1: invited by `$1`).
pub(crate) const REFERRAL_TREE: &str = "WITH RECURSIVE tree(user_id, depth) AS ( \
       SELECT user_id, CAST(1 AS BIGINT) FROM signups WHERE invited_by = $1 \
       UNION ALL \
       SELECT s.user_id, t.depth + 1 FROM signups s JOIN tree t ON s.invited_by = t.user_id WHERE t.depth < 64)";

#[async_trait]
impl<E: Engine> SignupTx for SqlTx<'_, E> {
    async fn gate(&mut self) -> Result<GateRow> {
        let row = query(sql_once!(
            E,
            "SELECT {GATE_COLUMNS} FROM signup_gate WHERE id = 1"
        ))
        .fetch_one(&mut *self)
        .await?;
        gate_row(&row)
    }

    async fn set_gate(&mut self, g: &GateSettings, when: OffsetDateTime) -> Result<GateRow> {
        let row = query(sql_once!(E,
            "UPDATE signup_gate SET invite_only = $1, cap = $2, user_invitations = $3, user_quota = $4, \
               quota_period_secs = $5, updated_at = $6 WHERE id = 1 RETURNING {GATE_COLUMNS}"
        ))
        .bind(g.gate.invite_only)
        .bind(g.gate.cap.map(i64::from))
        .bind(g.user_invitations)
        .bind(g.user_quota.map(i64::from))
        .bind(g.quota_period_secs)
        .bind(ms(when))
        .fetch_one(&mut *self)
        .await?;
        gate_row(&row)
    }

    async fn take_signup_seat(&mut self) -> Result<bool> {
        let done = query(
            "UPDATE signup_gate SET seats_taken = seats_taken + 1 WHERE id = 1 AND (cap IS NULL OR seats_taken < cap)",
        )
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn free_signup_seats(&mut self, n: u32) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        query("UPDATE signup_gate SET seats_taken = seats_taken - $1 WHERE id = 1 AND seats_taken >= $1")
            .bind(i64::from(n))
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn take_inviter_quota(
        &mut self,
        inviter: &str,
        quota: u32,
        period_secs: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        query("INSERT INTO inviter_quotas (inviter, period_start, sent) VALUES ($1, $2, 0) ON CONFLICT (inviter) DO NOTHING")
            .bind(inviter)
            .bind(ms(now))
            .execute(&mut *self)
            .await?;
        // A period that has run out starts again at this invitation.
        let done = query(
            "UPDATE inviter_quotas SET \
               sent = CASE WHEN $3 IS NOT NULL AND period_start <= $2 - $3 THEN 1 ELSE sent + 1 END, \
               period_start = CASE WHEN $3 IS NOT NULL AND period_start <= $2 - $3 THEN $2 ELSE period_start END \
             WHERE inviter = $1 AND $4 > 0 AND (($3 IS NOT NULL AND period_start <= $2 - $3) OR sent < $4)",
        )
        .bind(inviter)
        .bind(ms(now))
        .bind(period_secs.map(|s| s * 1000))
        .bind(i64::from(quota))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn insert_platform_invitation(&mut self, i: &NewPlatformInvitation) -> Result<bool> {
        let done = query(
            "INSERT INTO platform_invitations (id, token_hash, email, max_uses, expires_at, invited_by, created_at, \
               token_salt, mail_id, sends, last_sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $7) ON CONFLICT DO NOTHING",
        )
        .bind(i.id)
        .bind(&i.token_hash)
        .bind(i.email.as_ref().map(|e| e.as_str()))
        .bind(i64::from(i.max_uses))
        .bind(i.expires_at.map(ms))
        .bind(&i.invited_by)
        .bind(ms(i.created_at))
        .bind(i.token_salt.as_deref())
        .bind(i.mail_id)
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn platform_invitation_by_hash(
        &mut self,
        token_hash: &[u8],
    ) -> Result<Option<PlatformInvitationRow>> {
        let row = query(sql_once!(
            E,
            "{PLATFORM_INVITATION_SELECT} WHERE p.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(platform_invitation_row).transpose()
    }

    async fn platform_invitation_by_id(
        &mut self,
        id: Uuid,
    ) -> Result<Option<PlatformInvitationRow>> {
        let row = query(sql_once!(E, "{PLATFORM_INVITATION_SELECT} WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(&mut *self)
            .await?;
        row.as_ref().map(platform_invitation_row).transpose()
    }

    async fn reserve_platform_invitation(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        let done = query(
            "UPDATE platform_invitations SET reserved = reserved + 1 \
             WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
               AND uses + reserved < max_uses",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn settle_platform_invitation(&mut self, id: Uuid, used: bool) -> Result<()> {
        query(
            "UPDATE platform_invitations SET reserved = reserved - 1, uses = uses + $2 WHERE id = $1 AND reserved > 0",
        )
        .bind(id)
        .bind(i64::from(used))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn reissue_platform_invitation(
        &mut self,
        id: Uuid,
        token_hash: &[u8],
        token_salt: &[u8],
        mail_id: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done = query(
            "UPDATE platform_invitations SET token_hash = $2, token_salt = $3, mail_id = $4, \
               sends = sends + 1, last_sent_at = $5 \
             WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $5) \
               AND uses + reserved < max_uses",
        )
        .bind(id)
        .bind(token_hash)
        .bind(token_salt)
        .bind(mail_id)
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn revoke_platform_invitation(
        &mut self,
        id: Uuid,
        by: &str,
        when: OffsetDateTime,
    ) -> Result<bool> {
        let done = query(
            "UPDATE platform_invitations SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(ms(when))
        .bind(by)
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn list_platform_invitations(
        &mut self,
        inviter: Option<&str>,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<PlatformInvitationRow>> {
        let mut qb = QueryBuilder::new(format!("{PLATFORM_INVITATION_SELECT} WHERE TRUE"));
        if let Some(by) = inviter {
            qb.push(" AND p.invited_by = ").push_bind(by.to_owned());
        }
        if let Some(k) = after {
            qb.push(" AND (p.created_at, p.id) < (")
                .push_bind(ms(k.created_at))
                .push(", ")
                .push_bind(k.id)
                .push(")");
        }
        qb.push(" ORDER BY p.created_at DESC, p.id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(platform_invitation_row).collect()
    }

    async fn revoke_referral_subtree(
        &mut self,
        root: &str,
        by: &str,
        when: OffsetDateTime,
    ) -> Result<Vec<PlatformInvitationRow>> {
        let ids = {
            let rows = query(sql_once!(E,
                "{REFERRAL_TREE} UPDATE platform_invitations SET revoked_at = $2, revoked_by = $3 \
                 WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) AND uses < max_uses \
                   AND (invited_by = $1 OR invited_by IN (SELECT user_id FROM tree)) \
                 RETURNING id"
            ))
            .bind(root)
            .bind(ms(when))
            .bind(by)
            .fetch_all(&mut *self)
            .await?;
            ids_of(&rows)?
        };
        platform_invitations_by_id(self, ids).await
    }

    async fn insert_claim(&mut self, c: &NewClaim) -> Result<bool> {
        let done = query(
            "INSERT INTO signup_claims (id, email, invitation_id, state, expires_at, created_at) \
             VALUES ($1, $2, $3, 'reserved', $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(c.id)
        .bind(c.email.as_str())
        .bind(c.invitation_id)
        .bind(ms(c.expires_at))
        .bind(ms(c.created_at))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn claim_by_id(&mut self, id: Uuid) -> Result<Option<ClaimRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {CLAIM_COLUMNS} FROM signup_claims WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(claim_row).transpose()
    }

    async fn decide_claim(
        &mut self,
        id: Uuid,
        to: ClaimState,
        user: Option<&UserId>,
        when: OffsetDateTime,
        live_at: Option<OffsetDateTime>,
    ) -> Result<bool> {
        let done = query(
            "UPDATE signup_claims SET state = $2, user_id = $3, decided_at = $4 \
             WHERE id = $1 AND state = 'reserved' AND ($5 IS NULL OR expires_at > $5)",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(user.map(|u| u.as_str()))
        .bind(ms(when))
        .bind(live_at.map(ms))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn lapse_claims(&mut self, now: OffsetDateTime) -> Result<Vec<ClaimRow>> {
        let rows = query(sql_once!(
            E,
            "UPDATE signup_claims SET state = 'lapsed', decided_at = $1 \
             WHERE state = 'reserved' AND expires_at <= $1 RETURNING {CLAIM_COLUMNS}"
        ))
        .bind(ms(now))
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(claim_row).collect()
    }

    async fn insert_signup(&mut self, s: &SignupRow) -> Result<bool> {
        let done = query(
            "INSERT INTO signups (user_id, email, invited_by, invitation_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(s.user_id.as_str())
        .bind(s.email.as_str())
        .bind(s.invited_by.as_deref())
        .bind(s.invitation_id)
        .bind(ms(s.created_at))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn signup_of_email(&mut self, email: &domain::Email) -> Result<Option<SignupRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {SIGNUP_COLUMNS} FROM signups WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(signup_row).transpose()
    }

    async fn signups_invited_by(&mut self, inviter: &str, limit: u32) -> Result<Vec<SignupRow>> {
        let rows = query(sql_once!(E,
            "SELECT {SIGNUP_COLUMNS} FROM signups WHERE invited_by = $1 ORDER BY created_at, user_id LIMIT $2"
        ))
        .bind(inviter)
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(signup_row).collect()
    }

    async fn referral_tree(&mut self, root: &str, limit: u32) -> Result<Vec<(SignupRow, u32)>> {
        let rows = query(sql_once!(E,
            "{REFERRAL_TREE} SELECT s.user_id, s.email, s.invited_by, s.invitation_id, s.created_at, t.depth \
             FROM tree t JOIN signups s ON s.user_id = t.user_id ORDER BY t.depth, s.created_at, s.user_id LIMIT $2"
        ))
        .bind(root)
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        rows.iter()
            .map(|r| Ok((signup_row(r)?, u32_of(get(r, "depth")?)?)))
            .collect()
    }

    async fn users_with_email(
        &mut self,
        email: &domain::Email,
        within: &domain::SpacePath,
    ) -> Result<Vec<UserId>> {
        let rows = query(
            "SELECT user_id FROM memberships WHERE email = $1 AND source <> 'owner_add' \
             UNION SELECT user_id FROM user_identities WHERE kind = 'email' AND value = $1 \
               AND (scope IS NULL OR substr($2, 1, length(scope)) = scope) \
             ORDER BY user_id LIMIT 10",
        )
        .bind(email.as_str())
        .bind(within.as_str())
        .fetch_all(&mut *self)
        .await?;
        rows.iter()
            .map(|r| UserId::parse(&get::<String>(r, "user_id")?).map_err(Error::internal))
            .collect()
    }

    async fn space_path_of(&mut self, id: Uuid) -> Result<Option<SpacePath>> {
        let row = query("SELECT path FROM spaces WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self)
            .await?;
        row.map(|r| SpacePath::parse(&get::<String>(&r, "path")?).map_err(Error::internal))
            .transpose()
    }
}
