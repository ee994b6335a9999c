//! GraphQL — The audit log. Resolvers parse, call one application function and render.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use async_graphql::{ID, InputObject, Json, SimpleObject};
use guestlist_app::store::EventRow;

use crate::args::*;
use crate::types::*;
use crate::{actor, app, gql};

#[derive(Default)]
pub struct EventsQuery;

#[Object]
impl EventsQuery {
    /// The audit log of the spaces the caller administers, newest first.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventsFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Event>> {
        let filter = filter.unwrap_or_default();
        let space = match filter.space.and_then(|s| s.starts_with) {
            Some(p) => Some(path("filter.space.startsWith", &p)?),
            None => None,
        };
        let before = match &after {
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                gql(guestlist_app::domain::Error::invalid(
                    "after",
                    "not a cursor this service issued",
                ))
            })?),
            None => None,
        };
        let page = app(ctx)?
            .list_events(
                actor(ctx)?,
                guestlist_app::EventFilter {
                    space,
                    kinds: filter.kind.and_then(|k| k.eq).into_iter().collect(),
                    before,
                    limit: first_arg(first),
                    ..Default::default()
                },
            )
            .await
            .map_err(gql)?;
        let mut conn = Connection::new(after.is_some(), page.next.is_some());
        for e in page.events {
            conn.edges.push(Edge::new(e.seq.to_string(), e.into()));
        }
        Ok(conn)
    }
}

#[derive(SimpleObject, Debug)]
pub struct Event {
    pub seq: i64,
    pub id: ID,
    pub kind: String,
    pub space_prefix: Option<String>,
    pub actor: String,
    pub subject: Option<String>,
    pub data: Json<serde_json::Value>,
    pub created_at: String,
}

impl From<EventRow> for Event {
    fn from(e: EventRow) -> Self {
        Event {
            seq: e.seq,
            id: ID(e.id.to_string()),
            kind: e.kind,
            space_prefix: e.space_path.map(|p| p.to_string()),
            actor: e.actor,
            subject: e.subject,
            data: Json(serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null)),
            created_at: ts(e.created_at),
        }
    }
}

#[derive(InputObject, Debug, Default)]
pub struct EventsFilter {
    pub space: Option<SubtreeFilter>,
    pub kind: Option<StringFilter>,
}
