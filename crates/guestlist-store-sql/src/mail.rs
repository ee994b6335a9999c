use async_trait::async_trait;
use guestlist_store::domain::{self};
use guestlist_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::*;
use crate::{SqlTx, sql_once};

pub(crate) fn mail_row(r: &impl SqlRow) -> Result<MailRow> {
    let subject = match (
        get::<Option<Uuid>>(r, "invitation_id")?,
        get::<Option<Uuid>>(r, "platform_invitation_id")?,
    ) {
        (Some(id), None) => MailSubject::Invitation(id),
        (None, Some(id)) => MailSubject::PlatformInvitation(id),
        _ => {
            return Err(Error::internal(
                "an outbox row about nothing, or two things",
            ));
        }
    };
    Ok(MailRow {
        id: get(r, "id")?,
        subject,
        recipient: get(r, "recipient")?,
        state: domain::DeliveryState::parse(&get::<String>(r, "state")?)?,
        attempts: u32_of(get(r, "attempts")?)?,
        next_attempt_at: at(get(r, "next_attempt_at")?)?,
        last_error: get(r, "last_error")?,
        created_at: at(get(r, "created_at")?)?,
        sent_at: opt_at(get(r, "sent_at")?)?,
    })
}

/// What an attempt's outcome writes on an outbox row (mail or webhook delivery): its
/// state (`sent_word` for a delivered one: `sent`, `delivered`), the last error, the next attempt,
/// and when it was delivered.
pub(crate) fn outcome_columns<'a>(
    result: &'a DeliveryOutcome,
    sent_word: &'static str,
) -> (&'static str, Option<&'a str>, Option<i64>, Option<i64>) {
    match result {
        DeliveryOutcome::Sent { at } => (sent_word, None, None, Some(ms(*at))),
        DeliveryOutcome::Retry {
            error,
            next_attempt_at,
        } => ("queued", Some(error), Some(ms(*next_attempt_at)), None),
        DeliveryOutcome::Failed { error } => ("failed", Some(error), None, None),
        DeliveryOutcome::Cancelled => ("cancelled", None, None, None),
    }
}

pub(crate) const MAIL_COLUMNS: &str = "id, invitation_id, platform_invitation_id, recipient, state, attempts, next_attempt_at, last_error, created_at, sent_at";

#[async_trait]
impl<E: Engine> MailTx for SqlTx<'_, E> {
    async fn insert_mail(&mut self, m: &NewMail) -> Result<()> {
        let (invitation, platform) = match m.subject {
            MailSubject::Invitation(id) => (Some(id), None),
            MailSubject::PlatformInvitation(id) => (None, Some(id)),
        };
        query(
            "INSERT INTO mail_outbox (id, invitation_id, platform_invitation_id, recipient, state, attempts, \
               next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5)",
        )
        .bind(m.id)
        .bind(invitation)
        .bind(platform)
        .bind(m.recipient.as_str())
        .bind(ms(m.created_at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn cancel_mail_of(&mut self, subject: MailSubject) -> Result<()> {
        let (sql, id) = match subject {
            MailSubject::Invitation(id) => (
                "UPDATE mail_outbox SET state = 'cancelled' WHERE invitation_id = $1 AND state = 'queued'",
                id,
            ),
            MailSubject::PlatformInvitation(id) => (
                "UPDATE mail_outbox SET state = 'cancelled' WHERE platform_invitation_id = $1 AND state = 'queued'",
                id,
            ),
        };
        query(sql).bind(id).execute(&mut *self).await?;
        Ok(())
    }

    async fn due_mail(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<MailRow>> {
        let rows = query(sql_once!(E,
            "SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT $2"
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(mail_row).collect()
    }

    async fn claim_mail(
        &mut self,
        id: Uuid,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool> {
        let done = query(
            "UPDATE mail_outbox SET next_attempt_at = $3, attempts = attempts + 1 \
             WHERE id = $1 AND state = 'queued' AND next_attempt_at <= $2",
        )
        .bind(id)
        .bind(ms(now))
        .bind(ms(lease_until))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn finish_mail(&mut self, id: Uuid, result: &DeliveryOutcome) -> Result<()> {
        let (state, error, next, sent) = outcome_columns(result, "sent");
        query(
            "UPDATE mail_outbox SET state = $2, last_error = coalesce($3, last_error), \
               next_attempt_at = coalesce($4, next_attempt_at), sent_at = $5 \
             WHERE id = $1 AND state = 'queued'",
        )
        .bind(id)
        .bind(state)
        .bind(error)
        .bind(next)
        .bind(sent)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn mail_by_id(&mut self, id: Uuid) -> Result<Option<MailRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(mail_row).transpose()
    }
}
