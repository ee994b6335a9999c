//! PostgreSQL's own statements. Concurrent transactions would queue on a popular
//! link's or space's row for every redemption, each waiting for the previous commit
//! to be flushed; so unlimited links and spaces count in shard rows
//! (`counter_shards`, 64 per owner), folded into the row when a limit is set. Limited
//! ones keep the exact single-row guard. Rule checks that must see each other's
//! writes lock the space row first (`FOR UPDATE`).

use std::sync::OnceLock;

use guestlist_store::Result;
use guestlist_store_sql::{get, ms, query};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PgTx;

/// A counter column read with its shards, as `<column>`.
pub fn counted(alias: &str, column: &str) -> String {
    format!(
        "CAST({alias}.{column} + coalesce((SELECT sum(c.delta) FROM counter_shards c \
         WHERE c.owner_id = {alias}.id), 0) AS BIGINT) AS {column}"
    )
}

pub async fn lock_space(tx: &mut PgTx<'_>, id: Uuid) -> Result<()> {
    query("SELECT id FROM spaces WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Waits for joins in flight (they hold the row shared), then folds the shards into
/// the exact count a limit is checked against.
pub async fn settle_member_count(tx: &mut PgTx<'_>, id: Uuid) -> Result<()> {
    lock_space(tx, id).await?;
    query(
        "UPDATE spaces SET member_count = CAST(member_count + \
           coalesce((SELECT sum(delta) FROM counter_shards WHERE owner_id = $1), 0) AS BIGINT) WHERE id = $1",
    )
    .bind(id)
    .execute(tx)
    .await?;
    query("DELETE FROM counter_shards WHERE owner_id = $1")
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn take_seat(tx: &mut PgTx<'_>, space_id: Uuid) -> Result<bool> {
    static SQL: OnceLock<String> = OnceLock::new();
    guarded_or_sharded(
        tx,
        &SQL,
        "UPDATE spaces SET member_count = member_count + 1 \
         WHERE id = $2 AND member_limit IS NOT NULL AND member_count < member_limit RETURNING id",
        "SELECT id FROM spaces WHERE id = $2 AND member_limit IS NULL",
        space_id,
        None,
    )
    .await
}

pub async fn free_seat(tx: &mut PgTx<'_>, space_id: Uuid) -> Result<()> {
    // A limited space: its exact count (no shared lock first, which two leaving
    // members would then both try to upgrade).
    let done = query(
        "UPDATE spaces SET member_count = member_count - 1 \
         WHERE id = $1 AND member_limit IS NOT NULL AND member_count > 0",
    )
    .bind(space_id)
    .execute(tx)
    .await?;
    if done == 1 {
        return Ok(());
    }
    let row = query("SELECT member_limit FROM spaces WHERE id = $1 FOR SHARE")
        .bind(space_id)
        .fetch_optional(tx)
        .await?;
    if let Some(r) = row
        && get::<Option<i64>>(&r, "member_limit")?.is_none()
    {
        bump_shard(tx, space_id, -1).await?;
    }
    Ok(())
}

pub async fn claim_invite_use(tx: &mut PgTx<'_>, id: Uuid, now: OffsetDateTime) -> Result<bool> {
    static SQL: OnceLock<String> = OnceLock::new();
    guarded_or_sharded(
        tx,
        &SQL,
        "UPDATE invites SET uses = uses + 1 \
         WHERE id = $2 AND max_uses IS NOT NULL AND uses < max_uses AND revoked_at IS NULL \
           AND (expires_at IS NULL OR expires_at > $3) RETURNING id",
        "SELECT id FROM invites WHERE id = $2 AND max_uses IS NULL AND revoked_at IS NULL \
           AND (expires_at IS NULL OR expires_at > $3)",
        id,
        Some(now),
    )
    .await
}

/// Moves the event sequence past the imported rows.
pub async fn after_import(tx: &mut PgTx<'_>) -> Result<()> {
    query(
        "SELECT setval('events_seq', \
         coalesce((SELECT max(seq) FROM events), 0) + 1, false)",
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// One of the 64 shards of a counter, at random (16 measured about half as fast at
/// 64 concurrent redemptions).
fn random_shard() -> i64 {
    i64::from(Uuid::now_v7().as_bytes()[15] % 64)
}

/// Counts one for the owner `$2` in one statement, one round trip: `guard`, an
/// `UPDATE … RETURNING id` on a limited owner's row (the exact guard); if it matched
/// nothing, `hold`, a `SELECT id … FOR SHARE` of an unlimited, live owner (a limit or
/// revoke set meanwhile waits for this transaction), counted in a random shard
/// (`$1`). Whether one was counted.
async fn guarded_or_sharded(
    tx: &mut PgTx<'_>,
    sql: &'static OnceLock<String>,
    guard: &str,
    hold: &str,
    owner: Uuid,
    now: Option<OffsetDateTime>,
) -> Result<bool> {
    let sql = sql.get_or_init(|| {
        format!(
            "WITH guarded AS ({guard}), \
             held AS ({hold} AND NOT EXISTS (SELECT 1 FROM guarded) FOR SHARE), \
             counted AS ( \
               INSERT INTO counter_shards (owner_id, shard, delta) SELECT id, $1, 1 FROM held \
               ON CONFLICT (owner_id, shard) DO UPDATE SET delta = counter_shards.delta + 1 \
               RETURNING owner_id) \
             SELECT (SELECT count(*) FROM guarded) + (SELECT count(*) FROM counted) AS counted"
        )
    });
    let mut q = query(sql.as_str()).bind(random_shard()).bind(owner);
    if let Some(now) = now {
        q = q.bind(ms(now));
    }
    let row = q.fetch_one(tx).await?;
    Ok(get::<i64>(&row, "counted")? == 1)
}

/// Takes one away (or adds one) in a random shard of the owner's counter.
async fn bump_shard(tx: &mut PgTx<'_>, owner: Uuid, delta: i64) -> Result<()> {
    query(
        "INSERT INTO counter_shards (owner_id, shard, delta) VALUES ($1, $2, $3) \
         ON CONFLICT (owner_id, shard) DO UPDATE SET delta = counter_shards.delta + $3",
    )
    .bind(owner)
    .bind(random_shard())
    .bind(delta)
    .execute(tx)
    .await?;
    Ok(())
}
