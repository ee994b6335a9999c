use async_trait::async_trait;
use guestlist_store::domain::{Email, UserId, Username};
use guestlist_store::*;
use time::OffsetDateTime;

use crate::SqlTx;
use crate::engine::*;

#[async_trait]
impl<E: Engine> UsersTx for SqlTx<'_, E> {
    async fn put_identities(
        &mut self,
        user: &UserId,
        identities: &Identities,
        source: IdentitySource<'_>,
        replace: bool,
        when: OffsetDateTime,
    ) -> Result<()> {
        let named: Vec<(&str, &str)> = identities
            .emails
            .iter()
            .map(|e| ("email", e.as_str()))
            .chain(
                identities
                    .usernames
                    .iter()
                    .map(|u| ("username", u.as_str())),
            )
            .collect();
        if replace {
            let mut qb = QueryBuilder::new("DELETE FROM user_identities WHERE user_id = ");
            qb.push_bind(user.as_str())
                .push(" AND source = ")
                .push_bind(source.as_str());
            if let Some(root) = source.scope() {
                qb.push(" AND scope = ").push_bind(root.as_str().to_owned());
            }
            if !named.is_empty() {
                qb.push(" AND (kind, value) NOT IN (");
                for (i, (kind, value)) in named.iter().enumerate() {
                    qb.push(if i == 0 { "(" } else { ", (" })
                        .push_bind(*kind)
                        .push(", ")
                        .push_bind(*value)
                        .push(")");
                }
                qb.push(")");
            }
            qb.build().execute(&mut *self).await?;
        }
        // Who may take an identity from its current binding (IdentitySource): the
        // row is updated only where this source outranks, or is, the one that bound
        // it. The same user's identity keeps its stronger source.
        macro_rules! upsert {
            ($may_take:literal) => {
                concat!(
                    "INSERT INTO user_identities (kind, value, user_id, source, updated_at, scope) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (kind, value) DO UPDATE SET user_id = $3, source = $4, updated_at = $5, scope = $6 \
                     WHERE ",
                    $may_take
                )
            };
        }
        let statement = match source {
            IdentitySource::Token => upsert!("TRUE"),
            IdentitySource::Host => upsert!("user_identities.source <> 'token'"),
            IdentitySource::Scim(_) => {
                upsert!("user_identities.source = 'scim' AND user_identities.scope = $6")
            }
        };
        for (kind, value) in named {
            query(statement)
                .bind(kind)
                .bind(value)
                .bind(user.as_str())
                .bind(source.as_str())
                .bind(ms(when))
                .bind(source.scope().map(|r| r.as_str().to_owned()))
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }

    async fn forget_identities(&mut self, user: &UserId) -> Result<u64> {
        query("DELETE FROM user_identities WHERE user_id = $1")
            .bind(user.as_str())
            .execute(&mut *self)
            .await
    }

    async fn identities_of(&mut self, user: &UserId) -> Result<Identities> {
        let rows = query(
            "SELECT kind, value FROM user_identities WHERE user_id = $1 ORDER BY kind, value",
        )
        .bind(user.as_str())
        .fetch_all(&mut *self)
        .await?;
        let mut out = Identities::default();
        for r in &rows {
            let value: String = get(r, "value")?;
            match get::<String>(r, "kind")?.as_str() {
                "email" => out.emails.push(Email::stored(value)),
                _ => out
                    .usernames
                    .push(Username::parse(&value).map_err(Error::internal)?),
            }
        }
        Ok(out)
    }
}
