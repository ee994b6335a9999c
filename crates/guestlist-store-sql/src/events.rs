use async_trait::async_trait;
use guestlist_store::domain::SpacePath;
use guestlist_store::*;

use time::OffsetDateTime;

use crate::SqlTx;
use crate::engine::*;
use crate::filters::*;

pub(crate) fn event_row(r: &impl SqlRow) -> Result<EventRow> {
    Ok(EventRow {
        seq: get(r, "seq")?,
        id: get(r, "id")?,
        kind: get(r, "kind")?,
        space_path: get::<Option<String>>(r, "space_path")?
            .map(|p| SpacePath::parse(&p).map_err(Error::internal))
            .transpose()?,
        actor: get(r, "actor")?,
        subject: get(r, "subject")?,
        data: get(r, "data")?,
        created_at: at(get(r, "created_at")?)?,
    })
}

#[async_trait]
impl<E: Engine> EventsTx for SqlTx<'_, E> {
    async fn append_event(&mut self, e: &NewEvent) -> Result<()> {
        query(
            "INSERT INTO events (id, kind, space_id, space_path, actor, subject, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.id)
        .bind(e.kind)
        .bind(e.space_id)
        .bind(e.space_path.as_ref().map(|p| p.as_str()))
        .bind(&e.actor)
        .bind(e.subject.as_deref())
        .bind(&e.data)
        .bind(ms(e.created_at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn list_events(&mut self, q: &EventQuery) -> Result<Vec<EventRow>> {
        let mut qb = QueryBuilder::new(
            "SELECT seq, id, kind, space_path, actor, subject, data, created_at FROM events WHERE TRUE",
        );
        push_visibility(&mut qb, "space_path", &q.visible);
        if let Some(root) = &q.subtree {
            qb.push(" AND ");
            push_subtree(&mut qb, "space_path", root);
        }
        if !q.kinds.is_empty() {
            qb.push(" AND kind IN (")
                .push_list(q.kinds.iter().cloned())
                .push(")");
        }
        if let Some(actor) = &q.actor {
            qb.push(" AND actor = ").push_bind(actor.clone());
        }
        if let Some(since) = q.since {
            qb.push(" AND created_at >= ").push_bind(ms(since));
        }
        if let Some(until) = q.until {
            qb.push(" AND created_at < ").push_bind(ms(until));
        }
        if let Some(before) = q.before_seq {
            qb.push(" AND seq < ").push_bind(before);
        }
        qb.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(q.limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(event_row).collect()
    }

    async fn events_after(&mut self, q: &FeedQuery) -> Result<Vec<EventRow>> {
        let mut qb = QueryBuilder::new(format!(
            "SELECT seq, id, kind, space_path, actor, subject, data, created_at, {} AS settled \
             FROM events WHERE seq > ",
            E::SETTLED
        ));
        qb.push_bind(q.after);
        push_visibility(&mut qb, "space_path", &q.visible);
        if let Some(root) = &q.subtree {
            qb.push(" AND ");
            push_subtree(&mut qb, "space_path", root);
        }
        if !q.kinds.is_empty() {
            qb.push(" AND kind IN (")
                .push_list(q.kinds.iter().cloned())
                .push(")");
        }
        if let Some(before) = q.before {
            qb.push(" AND seq < ").push_bind(before);
        }
        qb.push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(q.limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        // Everything up to the last settled event is final; what follows it may still
        // have a smaller-numbered neighbour on its way, and waits for the next read.
        let mut settled = 0;
        for (i, r) in rows.iter().enumerate() {
            if get::<i64>(r, "settled")? == 1 {
                settled = i + 1;
            }
        }
        rows[..settled].iter().map(event_row).collect()
    }

    async fn event_by_seq(&mut self, seq: i64) -> Result<Option<EventRow>> {
        let row = query(
            "SELECT seq, id, kind, space_path, actor, subject, data, created_at FROM events WHERE seq = $1",
        )
        .bind(seq)
        .fetch_optional(&mut *self)
        .await?;
        row.as_ref().map(event_row).transpose()
    }

    async fn last_event_seq(&mut self) -> Result<i64> {
        let row = query("SELECT coalesce(max(seq), 0) AS seq FROM events")
            .fetch_one(&mut *self)
            .await?;
        get(&row, "seq")
    }

    async fn first_seq_since(&mut self, at: OffsetDateTime) -> Result<i64> {
        let row = query(
            "SELECT coalesce((SELECT min(seq) FROM events WHERE created_at >= $1), \
               (SELECT coalesce(max(seq), 0) + 1 FROM events)) AS seq",
        )
        .bind(ms(at))
        .fetch_one(&mut *self)
        .await?;
        get(&row, "seq")
    }
}
