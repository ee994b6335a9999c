use async_trait::async_trait;
use guestlist_store::domain::SpacePath;
use guestlist_store::*;

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
        if let Some(kind) = &q.kind {
            qb.push(" AND kind = ").push_bind(kind.clone());
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
}
