use async_trait::async_trait;
use guestlist_store::domain::{RoleName, SpacePath};
use guestlist_store::*;
use time::OffsetDateTime;

use crate::SqlTx;
use crate::engine::*;
use crate::filters::*;
use crate::signup::{ids_of, platform_invitations_by_id};

#[async_trait]
impl<E: Engine> SponsorshipTx for SqlTx<'_, E> {
    async fn sponsored_within(
        &mut self,
        created_by: &str,
        root: Option<&SpacePath>,
    ) -> Result<Vec<Sponsored>> {
        let mut qb = QueryBuilder::new(
            "SELECT 'link' AS kind, id, space_path, role FROM invites \
             WHERE revoked_at IS NULL AND created_by = ",
        );
        qb.push_bind(created_by.to_owned());
        push_opt_subtree(&mut qb, "space_path", root);
        qb.push(
            " UNION ALL SELECT 'invitation' AS kind, id, space_path, role FROM invitations \
             WHERE status = 'pending' AND created_by = ",
        )
        .push_bind(created_by.to_owned());
        push_opt_subtree(&mut qb, "space_path", root);
        qb.push(
            " UNION ALL SELECT 'add' AS kind, m.id, s.path AS space_path, m.role FROM memberships m \
             JOIN spaces s ON s.id = m.space_id WHERE m.status = 'pending' AND m.added_by = ",
        )
        .push_bind(created_by.to_owned());
        push_opt_subtree(&mut qb, "s.path", root);
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter()
            .map(|r| {
                Ok(Sponsored {
                    kind: match get::<String>(r, "kind")?.as_str() {
                        "link" => SponsoredKind::InviteLink,
                        "invitation" => SponsoredKind::Invitation,
                        _ => SponsoredKind::PendingAdd,
                    },
                    id: get(r, "id")?,
                    space_path: SpacePath::parse(&get::<String>(r, "space_path")?)
                        .map_err(Error::internal)?,
                    role: RoleName::parse(&get::<String>(r, "role")?).map_err(Error::internal)?,
                })
            })
            .collect()
    }

    async fn concerned_by_role(
        &mut self,
        root: &SpacePath,
        role: &RoleName,
    ) -> Result<Vec<String>> {
        let mut qb = QueryBuilder::new(
            "SELECT created_by AS who FROM invites WHERE revoked_at IS NULL AND role = ",
        );
        qb.push_bind(role.as_str().to_owned()).push(" AND ");
        push_subtree(&mut qb, "space_path", root);
        qb.push(
            " UNION SELECT created_by AS who FROM invitations WHERE status = 'pending' AND role = ",
        )
        .push_bind(role.as_str().to_owned())
        .push(" AND ");
        push_subtree(&mut qb, "space_path", root);
        qb.push(" UNION SELECT m.user_id AS who FROM memberships m JOIN spaces s ON s.id = m.space_id WHERE m.role = ")
            .push_bind(role.as_str().to_owned())
            .push(" AND ");
        push_subtree(&mut qb, "s.path", root);
        qb.push(
            " UNION SELECT m.added_by AS who FROM memberships m JOIN spaces s ON s.id = m.space_id \
             WHERE m.status = 'pending' AND m.added_by IS NOT NULL AND m.role = ",
        )
        .push_bind(role.as_str().to_owned())
        .push(" AND ");
        push_subtree(&mut qb, "s.path", root);
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter().map(|r| get::<String>(r, "who")).collect()
    }

    async fn revoke_platform_invitations_of(
        &mut self,
        inviter: &str,
        by: &str,
        when: OffsetDateTime,
    ) -> Result<Vec<PlatformInvitationRow>> {
        let ids = {
            let rows = query(
                "UPDATE platform_invitations SET revoked_at = $2, revoked_by = $3 \
                 WHERE invited_by = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
                   AND uses < max_uses RETURNING id",
            )
            .bind(inviter)
            .bind(ms(when))
            .bind(by)
            .fetch_all(&mut *self)
            .await?;
            ids_of(&rows)?
        };
        platform_invitations_by_id(self, ids).await
    }
}
