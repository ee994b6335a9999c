use async_trait::async_trait;
use guestlist_store::*;
use time::OffsetDateTime;

use crate::SqlTx;
use crate::engine::*;

#[async_trait]
impl<E: Engine> SessionsTx for SqlTx<'_, E> {
    async fn insert_session(&mut self, s: &SessionRow) -> Result<()> {
        query(
            "INSERT INTO sessions (token_hash, user_id, identity, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.token_hash)
        .bind(&s.user_id)
        .bind(&s.identity)
        .bind(ms(s.created_at))
        .bind(ms(s.expires_at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn session_by_hash(
        &mut self,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<SessionRow>> {
        let row = query(
            "SELECT token_hash, user_id, identity, created_at, expires_at FROM sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&mut *self)
        .await?;
        row.map(|r| {
            Ok(SessionRow {
                token_hash: get(&r, "token_hash")?,
                user_id: get(&r, "user_id")?,
                identity: get(&r, "identity")?,
                created_at: at(get(&r, "created_at")?)?,
                expires_at: at(get(&r, "expires_at")?)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&mut self, token_hash: &[u8]) -> Result<bool> {
        let done = query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self)
            .await?;
        Ok(done == 1)
    }

    async fn delete_sessions_of(&mut self, user_id: &str) -> Result<u64> {
        query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self)
            .await
    }

    async fn delete_expired_sessions(&mut self, now: OffsetDateTime) -> Result<u64> {
        query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&mut *self)
            .await
    }
}
