use async_trait::async_trait;
use guestlist_store::*;

use crate::SqlTx;
use crate::engine::*;

#[async_trait]
impl<E: Engine> ApiKeysTx for SqlTx<'_, E> {
    async fn insert_api_key(&mut self, key: &NewApiKey) -> Result<bool> {
        let done = query(
            "INSERT INTO api_keys (id, name, key_hash, platform_admin, created_at, scim_root) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT DO NOTHING",
        )
        .bind(key.id)
        .bind(&key.name)
        .bind(&key.key_hash)
        .bind(key.platform_admin)
        .bind(ms(key.created_at))
        .bind(key.scim_root.as_ref().map(|r| r.as_str()))
        .execute(&mut *self)
        .await?;
        Ok(done == 1)
    }

    async fn api_key_by_hash(&mut self, key_hash: &[u8]) -> Result<Option<ApiKeyRow>> {
        let row =
            query("SELECT id, name, platform_admin, scim_root, revoked_at FROM api_keys WHERE key_hash = $1")
                .bind(key_hash)
                .fetch_optional(&mut *self)
                .await?;
        row.as_ref().map(api_key_row).transpose()
    }

    async fn revoke_api_key(&mut self, name: &str, when: time::OffsetDateTime) -> Result<bool> {
        let done =
            query("UPDATE api_keys SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
                .bind(name)
                .bind(ms(when))
                .execute(&mut *self)
                .await?;
        Ok(done == 1)
    }

    async fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>> {
        let rows = query(
            "SELECT id, name, platform_admin, scim_root, revoked_at FROM api_keys ORDER BY created_at, name",
        )
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(api_key_row).collect()
    }
}

fn api_key_row(r: &impl SqlRow) -> Result<ApiKeyRow> {
    Ok(ApiKeyRow {
        id: get(r, "id")?,
        name: get(r, "name")?,
        platform_admin: get(r, "platform_admin")?,
        scim_root: get::<Option<String>>(r, "scim_root")?
            .map(|p| guestlist_store::domain::SpacePath::parse(&p))
            .transpose()
            .map_err(Error::internal)?,
        revoked: get::<Option<i64>>(r, "revoked_at")?.is_some(),
    })
}
