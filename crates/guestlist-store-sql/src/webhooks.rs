use async_trait::async_trait;
use guestlist_store::domain::SpacePath;
use guestlist_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::*;
use crate::filters::*;
use crate::{SqlTx, sql_once};

const ENDPOINT_COLUMNS: &str = "id, url, description, kinds, space_path, enabled, disabled_reason, generation, \
     previous_until, from_seq, failing_since, created_by, created_at, updated_at";

const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_seq, state, attempts, next_attempt_at, last_error, created_at, delivered_at";

/// Kinds are kept as one space-separated text (a kind has no space in it).
fn kinds_of(text: Option<String>) -> Result<Option<Vec<String>>> {
    Ok(text.map(|t| t.split_whitespace().map(str::to_owned).collect()))
}

fn kinds_text(kinds: &Option<Vec<String>>) -> Option<String> {
    kinds.as_ref().map(|k| k.join(" "))
}

fn endpoint_row(r: &impl SqlRow) -> Result<EndpointRow> {
    Ok(EndpointRow {
        id: get(r, "id")?,
        url: get(r, "url")?,
        description: get(r, "description")?,
        kinds: kinds_of(get(r, "kinds")?)?,
        space_path: get::<Option<String>>(r, "space_path")?
            .map(|p| SpacePath::parse(&p).map_err(Error::internal))
            .transpose()?,
        enabled: get(r, "enabled")?,
        disabled_reason: get(r, "disabled_reason")?,
        generation: get(r, "generation")?,
        previous_until: opt_at(get(r, "previous_until")?)?,
        from_seq: get(r, "from_seq")?,
        failing_since: opt_at(get(r, "failing_since")?)?,
        created_by: get(r, "created_by")?,
        created_at: at(get(r, "created_at")?)?,
        updated_at: at(get(r, "updated_at")?)?,
    })
}

fn delivery_row(r: &impl SqlRow) -> Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: get(r, "id")?,
        endpoint_id: get(r, "endpoint_id")?,
        event_seq: get(r, "event_seq")?,
        state: get(r, "state")?,
        attempts: u32_of(get(r, "attempts")?)?,
        next_attempt_at: at(get(r, "next_attempt_at")?)?,
        last_error: get(r, "last_error")?,
        created_at: at(get(r, "created_at")?)?,
        delivered_at: opt_at(get(r, "delivered_at")?)?,
    })
}

fn attempt_row(r: &impl SqlRow) -> Result<AttemptRow> {
    Ok(AttemptRow {
        delivery_id: get(r, "delivery_id")?,
        attempt: u32_of(get(r, "attempt")?)?,
        endpoint_id: get(r, "endpoint_id")?,
        at: at(get(r, "at")?)?,
        status: get::<Option<i64>>(r, "status")?
            .map(|s| u16::try_from(s).map_err(Error::internal))
            .transpose()?,
        latency_ms: get(r, "latency_ms")?,
        response: get(r, "response")?,
        error: get(r, "error")?,
    })
}

#[async_trait]
impl<E: Engine> WebhooksTx for SqlTx<'_, E> {
    async fn insert_endpoint(&mut self, e: &NewEndpoint) -> Result<EndpointRow> {
        query(
            "INSERT INTO webhook_endpoints (id, url, description, kinds, space_id, space_path, enabled, \
               generation, from_seq, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, TRUE, 1, (SELECT coalesce(max(seq), 0) FROM events), $7, $8, $8)",
        )
        .bind(e.id)
        .bind(e.url.as_str())
        .bind(e.description.as_str())
        .bind(kinds_text(&e.kinds))
        .bind(e.space.as_ref().map(|(id, _)| *id))
        .bind(e.space.as_ref().map(|(_, p)| p.as_str()))
        .bind(e.created_by.as_str())
        .bind(ms(e.created_at))
        .execute(&mut *self)
        .await?;
        self.endpoint(e.id)
            .await?
            .ok_or_else(|| Error::internal("an endpoint vanished as it was created"))
    }

    async fn endpoint(&mut self, id: Uuid) -> Result<Option<EndpointRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL"
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(endpoint_row).transpose()
    }

    async fn endpoints(&mut self, visible: &Visibility) -> Result<Vec<EndpointRow>> {
        let mut qb = QueryBuilder::new(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE deleted_at IS NULL"
        ));
        if let Visibility::Subtrees(_) = visible {
            qb.push(" AND space_path IS NOT NULL");
            push_visibility(&mut qb, "space_path", visible);
        }
        qb.push(" ORDER BY created_at, id");
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(endpoint_row).collect()
    }

    async fn enabled_endpoints(&mut self) -> Result<Vec<EndpointRow>> {
        let rows = query(sql_once!(
            E,
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE deleted_at IS NULL AND enabled"
        ))
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(endpoint_row).collect()
    }

    async fn update_endpoint(
        &mut self,
        id: Uuid,
        patch: &EndpointPatch,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut qb = QueryBuilder::new("UPDATE webhook_endpoints SET updated_at = ");
        qb.push_bind(ms(now));
        if let Some(url) = &patch.url {
            qb.push(", url = ").push_bind(url.clone());
        }
        if let Some(d) = &patch.description {
            qb.push(", description = ").push_bind(d.clone());
        }
        if let Some(kinds) = &patch.kinds {
            qb.push(", kinds = ").push_bind(kinds_text(kinds));
        }
        match patch.enabled {
            Some(true) => {
                qb.push(", enabled = TRUE, disabled_reason = NULL, failing_since = NULL");
            }
            Some(false) => {
                qb.push(", enabled = FALSE, disabled_reason = 'disabled by its owner'");
            }
            None => {}
        }
        if let Some(owner) = &patch.owner {
            qb.push(", created_by = ").push_bind(owner.clone());
        }
        qb.push(" WHERE id = ")
            .push_bind(id)
            .push(" AND deleted_at IS NULL");
        Ok(qb.build().execute(&mut *self).await? == 1)
    }

    async fn delete_endpoint(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        let done = query(
            "UPDATE webhook_endpoints SET deleted_at = $2, enabled = FALSE, updated_at = $2 \
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        query(
            "UPDATE webhook_deliveries SET state = 'cancelled' WHERE endpoint_id = $1 AND state = 'queued'",
        )
        .bind(id)
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn rotate_endpoint(
        &mut self,
        id: Uuid,
        previous_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done = query(
            "UPDATE webhook_endpoints SET generation = generation + 1, previous_until = $2, updated_at = $3 \
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(ms(previous_until))
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn endpoint_failing(&mut self, id: Uuid, now: OffsetDateTime) -> Result<OffsetDateTime> {
        query(
            "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        let row = query("SELECT failing_since FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *self)
            .await?;
        Ok(opt_at(get(&row, "failing_since")?)?.unwrap_or(now))
    }

    async fn endpoint_succeeded(&mut self, id: Uuid) -> Result<()> {
        query(
            "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
        )
        .bind(id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn disable_endpoint(
        &mut self,
        id: Uuid,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done = query(
            "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $2, updated_at = $3 \
             WHERE id = $1 AND enabled AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(reason)
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn dispatch_cursor(&mut self) -> Result<i64> {
        let row = query("SELECT cursor FROM webhook_dispatch WHERE id = 1")
            .fetch_one(&mut *self)
            .await?;
        get(&row, "cursor")
    }

    async fn advance_dispatch(&mut self, from: i64, to: i64) -> Result<bool> {
        let done = query("UPDATE webhook_dispatch SET cursor = $2 WHERE id = 1 AND cursor = $1")
            .bind(from)
            .bind(to)
            .execute(&mut *self)
            .await?;
        Ok(done == 1)
    }

    async fn insert_delivery(&mut self, d: &NewDelivery) -> Result<()> {
        query(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_seq, state, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, 'queued', $4, $5, $6)",
        )
        .bind(d.id)
        .bind(d.endpoint_id)
        .bind(d.event_seq)
        .bind(i64::from(d.leased_until.is_some()))
        .bind(ms(d.leased_until.unwrap_or(d.created_at)))
        .bind(ms(d.created_at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn due_deliveries(
        &mut self,
        now: OffsetDateTime,
        limit: u32,
        busy: &[Uuid],
    ) -> Result<Vec<(Uuid, Uuid)>> {
        // Per endpoint, on the (endpoint_id, next_attempt_at) index: a busy endpoint's
        // backlog is not scanned to reach another's. Endpoints are few; a disabled
        // or deleted one's deliveries are read too, and cancelled at their claim.
        let endpoints: Vec<Uuid> = query("SELECT id FROM webhook_endpoints")
            .fetch_all(&mut *self)
            .await?
            .iter()
            .map(|r| get(r, "id"))
            .collect::<Result<_>>()?;
        let mut due: Vec<(i64, Uuid, Uuid)> = Vec::new();
        for endpoint in endpoints.into_iter().filter(|e| !busy.contains(e)) {
            let rows = query(
                "SELECT id, next_attempt_at FROM webhook_deliveries \
                 WHERE endpoint_id = $1 AND state = 'queued' AND next_attempt_at <= $2 \
                 ORDER BY next_attempt_at LIMIT $3",
            )
            .bind(endpoint)
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *self)
            .await?;
            for r in &rows {
                due.push((get(r, "next_attempt_at")?, get(r, "id")?, endpoint));
            }
        }
        due.sort_by_key(|(at, id, _)| (*at, *id));
        due.truncate(limit as usize);
        Ok(due.into_iter().map(|(_, id, e)| (id, e)).collect())
    }

    async fn claim_delivery(
        &mut self,
        id: Uuid,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool> {
        let done = query(
            "UPDATE webhook_deliveries SET next_attempt_at = $3, attempts = attempts + 1 \
             WHERE id = $1 AND state = 'queued' AND next_attempt_at <= $2",
        )
        .bind(id)
        .bind(ms(now))
        .bind(ms(lease_until))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn delivery(&mut self, id: Uuid) -> Result<Option<DeliveryRow>> {
        let row = query(sql_once!(
            E,
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(delivery_row).transpose()
    }

    async fn finish_delivery(&mut self, id: Uuid, result: &DeliveryOutcome) -> Result<()> {
        let (state, error, next, sent) = crate::mail::outcome_columns(result, "delivered");
        query(
            "UPDATE webhook_deliveries SET state = $2, last_error = coalesce($3, last_error), \
               next_attempt_at = coalesce($4, next_attempt_at), delivered_at = $5 \
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

    async fn insert_attempt(&mut self, a: &AttemptRow) -> Result<()> {
        query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, endpoint_id, at, status, latency_ms, response, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(a.delivery_id)
        .bind(i64::from(a.attempt))
        .bind(a.endpoint_id)
        .bind(ms(a.at))
        .bind(a.status.map(i64::from))
        .bind(a.latency_ms)
        .bind(a.response.as_deref())
        .bind(a.error.as_deref())
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn deliveries(
        &mut self,
        endpoint: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>> {
        let mut qb = QueryBuilder::new(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = "
        ));
        qb.push_bind(endpoint);
        if let Some(b) = before {
            qb.push(" AND id < ").push_bind(b);
        }
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(delivery_row).collect()
    }

    async fn attempts_of(&mut self, deliveries: &[Uuid]) -> Result<Vec<AttemptRow>> {
        if deliveries.is_empty() {
            return Ok(vec![]);
        }
        let mut qb = QueryBuilder::new(
            "SELECT delivery_id, attempt, endpoint_id, at, status, latency_ms, response, error \
             FROM webhook_attempts WHERE delivery_id IN (",
        );
        qb.push_list(deliveries.iter().copied())
            .push(") ORDER BY delivery_id, attempt");
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(attempt_row).collect()
    }

    async fn requeue_delivery(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        let done = query(
            "UPDATE webhook_deliveries SET state = 'queued', next_attempt_at = $2, delivered_at = NULL \
             WHERE id = $1 AND (state <> 'queued' OR next_attempt_at > $2)",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn queued_per_endpoint(&mut self) -> Result<Vec<(Uuid, i64)>> {
        let rows = query(
            "SELECT endpoint_id, count(*) AS n FROM webhook_deliveries WHERE state = 'queued' GROUP BY endpoint_id",
        )
        .fetch_all(&mut *self)
        .await?;
        rows.iter()
            .map(|r| Ok((get(r, "endpoint_id")?, get(r, "n")?)))
            .collect()
    }
}
