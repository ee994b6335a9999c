//! The SQL behind the storage contract, written once for every engine.
//!
//! `impl_sql_tx!` expands to an implementation of [`Tx`](crate::Tx) for an engine's
//! transaction type. The SQL is portable (`$N` placeholders, `ON CONFLICT`,
//! `RETURNING`, row values); what differs between engines is passed in: how to lock a
//! space row, what to run after an import, and whether counts use shard rows. Every
//! limit is one conditional write whose `rows_affected` / `RETURNING` decides who won,
//! so the same statements are correct under SQLite's single writer and under
//! PostgreSQL's READ COMMITTED.
//!
//! The statements run through a module named `driver` at the call site, with sqlx's
//! shape: `query(sql).bind(v).execute|fetch_one|fetch_optional|fetch_all(conn)`,
//! `AssertSqlSafe`, `QueryBuilder` (`push`, `push_bind`, `separated`, `build`), a `Row`
//! read with `get(row, column)`, and a `Connection`; and a `db_error` function mapping
//! its errors. PostgreSQL's driver is sqlx itself; SQLite's calls SQLite directly on
//! the calling thread (`guestlist-store-sqlite/src/driver.rs`).

/// SQL text formatted once per call site and kept, as a `&'static str` that
/// `driver::query` takes as written SQL: for statements assembled from constants only
/// (column lists, shared clauses). Values are always bound, never formatted in.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_once {
    ($($fmt:tt)*) => {{
        static SQL: ::std::sync::OnceLock<::std::string::String> = ::std::sync::OnceLock::new();
        SQL.get_or_init(|| ::std::format!($($fmt)*)).as_str()
    }};
}

/// Implements `Tx` for `$tx<'c> { conn: &'c mut driver::Connection }`.
/// `lock_space` is an `Option<&'static str>`: a statement taking a row lock on the
/// space with id `$1`, or `None` where transactions are already serialized.
/// `after_import` is an `Option<&'static str>` run after an import (to move
/// generated keys past the imported rows), or `None`.
#[macro_export]
macro_rules! impl_sql_tx {
    ($tx:ident, lock_space = $lock_space:expr, after_import = $after_import:expr, shards = $shards:expr) => {
        /// Whether unlimited links and spaces count uses and members in shard rows
        /// (`counter_shards`) instead of one hot row: for engines with concurrent
        /// writers, where every redemption of one link would otherwise queue on that
        /// link's row until the previous commit is flushed. Limited links and spaces
        /// always use the exact single-row guard.
        const SHARDS: bool = $shards;

        #[allow(unused_imports)]
        use $crate::__private::{OffsetDateTime, Uuid};
        use $crate::domain::{self, InviteState, Permissions, RoleName, SpacePath, UserId};
        use $crate::*;

        type Row = driver::Row;
        use driver::get;

        fn ms(t: OffsetDateTime) -> i64 {
            (t.unix_timestamp_nanos() / 1_000_000) as i64
        }

        fn at(ms: i64) -> Result<OffsetDateTime> {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(Error::internal)
        }

        fn opt_at(ms: Option<i64>) -> Result<Option<OffsetDateTime>> {
            ms.map(at).transpose()
        }

        fn u32_of(v: i64) -> Result<u32> {
            u32::try_from(v).map_err(Error::internal)
        }

        fn space_row(r: &Row) -> Result<SpaceRow> {
            Ok(SpaceRow {
                id: get(r, "id")?,
                path: SpacePath::parse(&get::<String>(r, "path")?).map_err(Error::internal)?,
                name: get(r, "name")?,
                join_mode: get::<String>(r, "join_mode")?
                    .parse()
                    .map_err(Error::internal)?,
                member_limit: get::<Option<i64>>(r, "member_limit")?
                    .map(u32_of)
                    .transpose()?,
                member_count: u32_of(get(r, "member_count")?)?,
                created_at: at(get(r, "created_at")?)?,
                created_by: get(r, "created_by")?,
            })
        }

        fn membership_row(r: &Row) -> Result<MembershipRow> {
            Ok(MembershipRow {
                id: get(r, "id")?,
                space_id: get(r, "space_id")?,
                user_id: UserId::parse(&get::<String>(r, "user_id")?).map_err(Error::internal)?,
                role: RoleName::parse(&get::<String>(r, "role")?).map_err(Error::internal)?,
                status: get::<String>(r, "status")?.parse()?,
                source: get::<String>(r, "source")?.parse()?,
                invite_id: get(r, "invite_id")?,
                created_at: at(get(r, "created_at")?)?,
                updated_at: at(get(r, "updated_at")?)?,
            })
        }

        fn invite_row(r: &Row) -> Result<InviteRow> {
            Ok(InviteRow {
                id: get(r, "id")?,
                space_id: get(r, "space_id")?,
                space_path: SpacePath::parse(&get::<String>(r, "space_path")?).map_err(Error::internal)?,
                role: RoleName::parse(&get::<String>(r, "role")?).map_err(Error::internal)?,
                max_uses: get::<Option<i64>>(r, "max_uses")?.map(u32_of).transpose()?,
                uses: u32_of(get(r, "uses")?)?,
                expires_at: opt_at(get(r, "expires_at")?)?,
                description: get(r, "description")?,
                allow_narrowing: get(r, "allow_narrowing")?,
                created_by: get(r, "created_by")?,
                created_by_name: get(r, "created_by_name")?,
                created_at: at(get(r, "created_at")?)?,
                revoked_at: opt_at(get(r, "revoked_at")?)?,
                revoked_by: get(r, "revoked_by")?,
                requires_approval: get(r, "requires_approval")?,
                auto_approve_domains: get::<Option<String>>(r, "auto_approve_domains")?
                    .map(|d| d.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
            })
        }

        fn event_row(r: &Row) -> Result<EventRow> {
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

        /// `AND (<column> within any of the visible subtrees)`, as index-friendly ranges.
        fn push_visibility(qb: &mut driver::QueryBuilder, column: &str, visible: &Visibility) {
            match visible {
                Visibility::All => {}
                Visibility::Subtrees(roots) if roots.is_empty() => {
                    qb.push(" AND FALSE");
                }
                Visibility::Subtrees(roots) => push_any_subtree(qb, column, roots),
            }
        }

        /// `AND (<column> within any of the roots)`; nothing when there are none.
        fn push_any_subtree(qb: &mut driver::QueryBuilder, column: &str, roots: &[SpacePath]) {
            if roots.is_empty() {
                return;
            }
            qb.push(" AND (");
            for (i, root) in roots.iter().enumerate() {
                if i > 0 {
                    qb.push(" OR ");
                }
                push_subtree(qb, column, root);
            }
            qb.push(")");
        }

        /// The predicate of one invite state at `now`; the states never overlap
        /// (revoked, then expired, then exhausted, then active).
        fn push_state(qb: &mut driver::QueryBuilder, state: InviteState, now: i64) {
            match state {
                InviteState::Revoked => {
                    qb.push("(revoked_at IS NOT NULL)");
                }
                InviteState::Expired => {
                    qb.push("(revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ")
                        .push_bind(now)
                        .push(")");
                }
                InviteState::Exhausted => {
                    qb.push("(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ")
                        .push_bind(now)
                        .push(") AND max_uses IS NOT NULL AND uses >= max_uses)");
                }
                InviteState::Active => {
                    qb.push("(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ")
                        .push_bind(now)
                        .push(") AND (max_uses IS NULL OR uses < max_uses))");
                }
            }
        }

        fn push_subtree(qb: &mut driver::QueryBuilder, column: &str, root: &SpacePath) {
            qb.push(format!("({column} >= "))
                .push_bind(root.as_str().to_owned())
                .push(format!(" AND {column} < "))
                .push_bind(root.subtree_upper_bound())
                .push(")");
        }

        fn push_in_ids(qb: &mut driver::QueryBuilder, ids: &[Uuid]) {
            qb.push("(");
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            list.push_unseparated(")");
        }

        /// Binds a cell, typed by its column's kind (so a NULL has the column's type).
        fn bind_cell(qb: &mut driver::QueryBuilder, kind: transfer::Kind, cell: &transfer::Cell) -> Result<()> {
            use transfer::{Cell, Kind};
            match (kind, cell) {
                (Kind::Uuid, Cell::Uuid(v)) => qb.push_bind(*v),
                (Kind::Uuid, Cell::Null) => qb.push_bind(None::<Uuid>),
                (Kind::Text, Cell::Text(v)) => qb.push_bind(v.clone()),
                (Kind::Text, Cell::Null) => qb.push_bind(None::<String>),
                (Kind::Int, Cell::Int(v)) => qb.push_bind(*v),
                (Kind::Int, Cell::Null) => qb.push_bind(None::<i64>),
                (Kind::Bool, Cell::Bool(v)) => qb.push_bind(*v),
                (Kind::Bool, Cell::Null) => qb.push_bind(None::<bool>),
                (Kind::Bytes, Cell::Bytes(v)) => qb.push_bind(v.clone()),
                (Kind::Bytes, Cell::Null) => qb.push_bind(None::<Vec<u8>>),
                (kind, cell) => {
                    return Err(Error::invalid("row", format!("a {kind:?} column cannot hold {cell:?}")));
                }
            };
            Ok(())
        }

        fn read_cell(r: &Row, column: &str, kind: transfer::Kind) -> Result<transfer::Cell> {
            use transfer::{Cell, Kind};
            Ok(match kind {
                Kind::Uuid => get::<Option<Uuid>>(r, column)?.map(Cell::Uuid),
                Kind::Text => get::<Option<String>>(r, column)?.map(Cell::Text),
                Kind::Int => get::<Option<i64>>(r, column)?.map(Cell::Int),
                Kind::Bool => get::<Option<bool>>(r, column)?.map(Cell::Bool),
                Kind::Bytes => get::<Option<Vec<u8>>>(r, column)?.map(Cell::Bytes),
            }
            .unwrap_or(Cell::Null))
        }

        /// A subtree's invites newest first, one range of `invite_scopes`, cut at the page size.
        fn push_scope_range(qb: &mut driver::QueryBuilder, q: &InviteQuery, root: &SpacePath) {
            qb.push($crate::sql_once!(
                "SELECT {} FROM invite_scopes s JOIN invites i ON i.id = s.invite_id WHERE s.scope_path = ",
                invite_columns_of("i")
            ))
            .push_bind(root.as_str().to_owned());
            push_invite_filters(qb, q, "s.created_at", "s.invite_id");
            qb.push(" ORDER BY s.created_at DESC, s.invite_id DESC LIMIT ")
                .push_bind(i64::from(q.limit));
        }

        /// The filters of an invite list after its scope, and the keyset cursor on
        /// `(created_col, id_col)`.
        fn push_invite_filters(qb: &mut driver::QueryBuilder, q: &InviteQuery, created_col: &str, id_col: &str) {
            if let Some(by) = &q.created_by {
                qb.push(" AND created_by = ").push_bind(by.clone());
            }
            if let Some(spaces) = &q.spaces_in {
                qb.push(" AND space_path IN (");
                if spaces.is_empty() {
                    qb.push("NULL");
                }
                for (i, s) in spaces.iter().enumerate() {
                    if i > 0 {
                        qb.push(", ");
                    }
                    qb.push_bind(s.as_str().to_owned());
                }
                qb.push(")");
            }
            if let Some(states) = &q.states {
                let now = ms(q.now);
                qb.push(" AND (FALSE");
                for state in states {
                    qb.push(" OR ");
                    push_state(qb, *state, now);
                }
                qb.push(")");
            }
            match q.revoked {
                Some(true) => {
                    qb.push(" AND revoked_at IS NOT NULL");
                }
                Some(false) => {
                    qb.push(" AND revoked_at IS NULL");
                }
                None => {}
            }
            if let Some(k) = &q.after {
                qb.push(format!(" AND ({created_col}, {id_col}) < ("))
                    .push_bind(ms(k.created_at))
                    .push(", ")
                    .push_bind(k.id)
                    .push(")");
            }
        }

        fn invitation_row(r: &Row) -> Result<InvitationRow> {
            let email = get::<Option<String>>(r, "email")?
                .map(|e| domain::Email::parse(&e).map_err(Error::internal))
                .transpose()?;
            let username = get::<Option<String>>(r, "username")?
                .map(|u| domain::Username::parse(&u).map_err(Error::internal))
                .transpose()?;
            let user_id = get::<Option<String>>(r, "user_id")?
                .map(|u| UserId::parse(&u).map_err(Error::internal))
                .transpose()?;
            let delivery = match get::<Option<Uuid>>(r, "mail_id")? {
                None => None,
                Some(mail_id) => match get::<Option<String>>(r, "mail_state")? {
                    None => None,
                    Some(state) => Some(Delivery {
                        mail_id,
                        state: domain::DeliveryState::parse(&state)?,
                        attempts: u32_of(get(r, "mail_attempts")?)?,
                        last_error: get(r, "mail_error")?,
                        sent_at: opt_at(get(r, "mail_sent_at")?)?,
                    }),
                },
            };
            Ok(InvitationRow {
                id: get(r, "id")?,
                space_id: get(r, "space_id")?,
                space_path: SpacePath::parse(&get::<String>(r, "space_path")?).map_err(Error::internal)?,
                role: RoleName::parse(&get::<String>(r, "role")?).map_err(Error::internal)?,
                addressee: domain::Addressee { email, username, user_id },
                message: get(r, "message")?,
                stored_status: domain::InvitationStatus::parse(&get::<String>(r, "status")?).map_err(Error::internal)?,
                token_salt: get(r, "token_salt")?,
                lifetime_secs: get(r, "lifetime_secs")?,
                expires_at: at(get(r, "expires_at")?)?,
                sends: u32_of(get(r, "sends")?)?,
                last_sent_at: at(get(r, "last_sent_at")?)?,
                created_by: get(r, "created_by")?,
                created_by_name: get(r, "created_by_name")?,
                created_at: at(get(r, "created_at")?)?,
                decided_by: get(r, "decided_by")?,
                decided_at: opt_at(get(r, "decided_at")?)?,
                delivery,
            })
        }

        fn mail_row(r: &Row) -> Result<MailRow> {
            Ok(MailRow {
                id: get(r, "id")?,
                invitation_id: get(r, "invitation_id")?,
                recipient: get(r, "recipient")?,
                state: domain::DeliveryState::parse(&get::<String>(r, "state")?)?,
                attempts: u32_of(get(r, "attempts")?)?,
                next_attempt_at: at(get(r, "next_attempt_at")?)?,
                last_error: get(r, "last_error")?,
                created_at: at(get(r, "created_at")?)?,
                sent_at: opt_at(get(r, "sent_at")?)?,
            })
        }

        /// `(<who> is any of the addressee's identifiers)`: user id, e-mail, username.
        fn push_addressee(qb: &mut driver::QueryBuilder, prefix: &str, to: &domain::Addressee) {
            qb.push(format!("({prefix}user_id = "))
                .push_bind(to.user_id.as_ref().map(|u| u.as_str().to_owned()))
                .push(format!(" OR {prefix}email = "))
                .push_bind(to.email.as_ref().map(|e| e.as_str().to_owned()))
                .push(format!(" OR {prefix}username = "))
                .push_bind(to.username.as_ref().map(|u| u.as_str().to_owned()))
                .push(")");
        }

        /// The predicate of an invitation status at `now`.
        fn push_invitation_status(qb: &mut driver::QueryBuilder, status: domain::InvitationStatus, now: i64) {
            use domain::InvitationStatus as S;
            match status {
                S::Pending => {
                    qb.push(" AND i.status = 'pending' AND i.expires_at > ").push_bind(now);
                }
                S::Expired => {
                    qb.push(" AND i.status = 'pending' AND i.expires_at <= ").push_bind(now);
                }
                other => {
                    qb.push(" AND i.status = ").push_bind(other.as_str());
                }
            }
        }

        const INVITATION_SELECT: &str = "SELECT i.id, i.space_id, i.space_path, i.role, i.email, i.username, i.user_id, \
             i.message, i.status, i.token_salt, i.lifetime_secs, i.expires_at, i.sends, i.last_sent_at, i.mail_id, \
             i.created_by, i.created_by_name, i.created_at, i.decided_by, i.decided_at, \
             m.state AS mail_state, m.attempts AS mail_attempts, m.last_error AS mail_error, m.sent_at AS mail_sent_at \
             FROM invitations i LEFT JOIN mail_outbox m ON m.id = i.mail_id";
        const MAIL_COLUMNS: &str =
            "id, invitation_id, recipient, state, attempts, next_attempt_at, last_error, created_at, sent_at";

        fn gate_row(r: &Row) -> Result<GateRow> {
            Ok(GateRow {
                settings: GateSettings {
                    gate: domain::Gate {
                        invite_only: get(r, "invite_only")?,
                        cap: get::<Option<i64>>(r, "cap")?.map(u32_of).transpose()?,
                    },
                    user_invitations: get(r, "user_invitations")?,
                    user_quota: get::<Option<i64>>(r, "user_quota")?.map(u32_of).transpose()?,
                    quota_period_secs: get(r, "quota_period_secs")?,
                },
                seats_taken: u32_of(get(r, "seats_taken")?)?,
            })
        }

        fn email_of(s: String) -> Result<domain::Email> {
            domain::Email::parse(&s).map_err(Error::internal)
        }

        fn platform_invitation_row(r: &Row) -> Result<PlatformInvitationRow> {
            Ok(PlatformInvitationRow {
                id: get(r, "id")?,
                email: get::<Option<String>>(r, "email")?.map(email_of).transpose()?,
                max_uses: u32_of(get(r, "max_uses")?)?,
                uses: u32_of(get(r, "uses")?)?,
                reserved: u32_of(get(r, "reserved")?)?,
                expires_at: opt_at(get(r, "expires_at")?)?,
                invited_by: get(r, "invited_by")?,
                created_at: at(get(r, "created_at")?)?,
                revoked_at: opt_at(get(r, "revoked_at")?)?,
                revoked_by: get(r, "revoked_by")?,
            })
        }

        fn claim_row(r: &Row) -> Result<ClaimRow> {
            Ok(ClaimRow {
                id: get(r, "id")?,
                email: email_of(get(r, "email")?)?,
                invitation_id: get(r, "invitation_id")?,
                state: ClaimState::parse(&get::<String>(r, "state")?)?,
                expires_at: at(get(r, "expires_at")?)?,
                user_id: get::<Option<String>>(r, "user_id")?
                    .map(|u| UserId::parse(&u).map_err(Error::internal))
                    .transpose()?,
                created_at: at(get(r, "created_at")?)?,
            })
        }

        fn signup_row(r: &Row) -> Result<SignupRow> {
            Ok(SignupRow {
                user_id: UserId::parse(&get::<String>(r, "user_id")?).map_err(Error::internal)?,
                email: email_of(get(r, "email")?)?,
                invited_by: get(r, "invited_by")?,
                invitation_id: get(r, "invitation_id")?,
                created_at: at(get(r, "created_at")?)?,
            })
        }

        const GATE_COLUMNS: &str = "invite_only, cap, seats_taken, user_invitations, user_quota, quota_period_secs";
        const PLATFORM_INVITATION_COLUMNS: &str =
            "id, email, max_uses, uses, reserved, expires_at, invited_by, created_at, revoked_at, revoked_by";
        const CLAIM_COLUMNS: &str = "id, email, invitation_id, state, expires_at, user_id, created_at";
        const SIGNUP_COLUMNS: &str = "user_id, email, invited_by, invitation_id, created_at";
        /// Everyone below `$1` in the referral tree (depth 1: invited by `$1`).
        const REFERRAL_TREE: &str = "WITH RECURSIVE tree(user_id, depth) AS ( \
               SELECT user_id, CAST(1 AS BIGINT) FROM signups WHERE invited_by = $1 \
               UNION ALL \
               SELECT s.user_id, t.depth + 1 FROM signups s JOIN tree t ON s.invited_by = t.user_id WHERE t.depth < 64)";

        const INVITE_COLUMNS: &str = "id, space_id, space_path, role, max_uses, uses, expires_at, description, \
             allow_narrowing, created_by, created_by_name, created_at, revoked_at, revoked_by, requires_approval, \
             auto_approve_domains";
        const JOIN_REQUEST_COLUMNS: &str = "id, space_id, space_path, user_id, email, username, role, message, invite_id, \
             status, created_at, decided_by, decided_at";

        fn join_request_row(r: &Row) -> Result<JoinRequestRow> {
            Ok(JoinRequestRow {
                id: get(r, "id")?,
                space_id: get(r, "space_id")?,
                space_path: SpacePath::parse(&get::<String>(r, "space_path")?).map_err(Error::internal)?,
                user_id: UserId::parse(&get::<String>(r, "user_id")?).map_err(Error::internal)?,
                email: get::<Option<String>>(r, "email")?.map(email_of).transpose()?,
                username: get::<Option<String>>(r, "username")?
                    .map(|u| domain::Username::parse(&u).map_err(Error::internal))
                    .transpose()?,
                role: RoleName::parse(&get::<String>(r, "role")?).map_err(Error::internal)?,
                message: get(r, "message")?,
                invite_id: get(r, "invite_id")?,
                status: JoinRequestStatus::parse(&get::<String>(r, "status")?).map_err(Error::internal)?,
                created_at: at(get(r, "created_at")?)?,
                decided_by: get(r, "decided_by")?,
                decided_at: opt_at(get(r, "decided_at")?)?,
            })
        }

        /// ` AND <column> within root` when there is a root.
        fn push_opt_subtree(qb: &mut driver::QueryBuilder, column: &str, root: Option<&SpacePath>) {
            if let Some(root) = root {
                qb.push(" AND ");
                push_subtree(qb, column, root);
            }
        }
        const MEMBERSHIP_COLUMNS: &str =
            "id, space_id, user_id, role, status, source, invite_id, created_at, updated_at";
        const SPACE_COLUMNS: &str =
            "id, path, name, join_mode, member_limit, member_count, created_at, created_by";

        /// A counter column read with its shards (`AS <column>`), or as it is.
        fn counted(alias: &str, column: &str) -> String {
            if SHARDS {
                format!(
                    "CAST({alias}.{column} + coalesce((SELECT sum(c.delta) FROM counter_shards c \
                     WHERE c.owner_id = {alias}.id), 0) AS BIGINT) AS {column}"
                )
            } else {
                format!("{alias}.{column}")
            }
        }

        /// The space columns of table (or alias) `t`, its member count with its shards.
        fn space_columns_of(t: &str) -> String {
            format!(
                "{t}.id, {t}.path, {t}.name, {t}.join_mode, {t}.member_limit, {}, {t}.created_at, {t}.created_by",
                counted(t, "member_count")
            )
        }

        /// The invite columns of table (or alias) `t`, its use count with its shards.
        fn invite_columns_of(t: &str) -> String {
            format!(
                "{t}.id, {t}.space_id, {t}.space_path, {t}.role, {t}.max_uses, {}, {t}.expires_at, {t}.description, \
                 {t}.allow_narrowing, {t}.created_by, {t}.created_by_name, {t}.created_at, {t}.revoked_at, {t}.revoked_by, \
                 {t}.requires_approval, {t}.auto_approve_domains",
                counted(t, "uses")
            )
        }

        /// One of the 64 shards of a counter, at random (16 measured about half as fast
        /// at 64 concurrent redemptions).
        fn random_shard() -> i64 {
            i64::from(Uuid::now_v7().as_bytes()[15] % 64)
        }

        /// Counts one for the owner `$2` in one statement, one round trip: `guard`, an
        /// `UPDATE … RETURNING id` on a limited owner's row (the exact guard); if it
        /// matched nothing, `hold`, a `SELECT id … FOR SHARE` of an unlimited, live owner
        /// (a limit or revoke set meanwhile waits for this transaction), counted in a
        /// random shard (`$1`). Whether one was counted.
        async fn guarded_or_sharded(
            conn: &mut driver::Connection,
            sql: &'static std::sync::OnceLock<String>,
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
            let mut query = driver::query(sql.as_str()).bind(random_shard()).bind(owner);
            if let Some(now) = now {
                query = query.bind(ms(now));
            }
            let row = query.fetch_one(&mut *conn).await.map_err(db_error)?;
            Ok(get::<i64>(&row, "counted")? == 1)
        }

        /// Takes one away (or adds one) in a random shard of the owner's counter.
        async fn bump_shard(conn: &mut driver::Connection, owner: Uuid, delta: i64) -> Result<()> {
            let shard = random_shard();
            driver::query(
                "INSERT INTO counter_shards (owner_id, shard, delta) VALUES ($1, $2, $3) \
                 ON CONFLICT (owner_id, shard) DO UPDATE SET delta = counter_shards.delta + $3",
            )
            .bind(owner)
            .bind(shard)
            .bind(delta)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
            Ok(())
        }

        #[$crate::__private::async_trait]
        impl SpacesTx for $tx<'_> {
            async fn insert_space(&mut self, s: &NewSpace) -> Result<Option<SpaceRow>> {
                let row = driver::query($crate::sql_once!(
                    "INSERT INTO spaces (id, path, name, join_mode, member_limit, created_at, created_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (path) DO NOTHING RETURNING {SPACE_COLUMNS}"
                ))
                .bind(s.id)
                .bind(s.path.as_str())
                .bind(&s.name)
                .bind(s.join_mode.as_str())
                .bind(s.member_limit.map(i64::from))
                .bind(ms(s.created_at))
                .bind(&s.created_by)
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.as_ref().map(space_row).transpose()
            }

            async fn space_by_path(&mut self, path: &SpacePath) -> Result<Option<SpaceRow>> {
                let row = driver::query($crate::sql_once!(
                    "SELECT {} FROM spaces WHERE path = $1",
                    space_columns_of("spaces")
                ))
                .bind(path.as_str())
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.as_ref().map(space_row).transpose()
            }

            async fn lineage(&mut self, paths: &[SpacePath]) -> Result<(Vec<SpaceRow>, Vec<RoleRow>)> {
                if paths.is_empty() {
                    return Ok((vec![], vec![]));
                }
                // One row per (space, role), or one with no role for a space without any.
                let mut qb = driver::QueryBuilder::new($crate::sql_once!(
                    "SELECT {}, r.name AS role_name, r.permissions AS role_permissions \
                     FROM spaces s LEFT JOIN roles r ON r.space_id = s.id WHERE s.path IN (",
                    space_columns_of("s")
                ));
                let mut list = qb.separated(", ");
                for p in paths {
                    list.push_bind(p.as_str().to_owned());
                }
                qb.push(")");
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
                let mut found = rows
                    .iter()
                    .map(|r| {
                        let space = space_row(r)?;
                        let role = match get::<Option<String>>(r, "role_name")? {
                            Some(name) => Some(RoleRow {
                                space_id: space.id,
                                name: RoleName::parse(&name).map_err(Error::internal)?,
                                permissions: Permissions::from_bits(get(r, "role_permissions")?),
                            }),
                            None => None,
                        };
                        Ok((space, role))
                    })
                    .collect::<Result<Vec<_>>>()?;
                // Root first, then each role by name: sorted here, a few rows, rather
                // than by the engine in a temporary B-tree.
                found.sort_by(|(a, x), (b, y)| {
                    (a.path.as_str().len(), x.as_ref().map(|r| r.name.as_str()))
                        .cmp(&(b.path.as_str().len(), y.as_ref().map(|r| r.name.as_str())))
                });
                let mut spaces: Vec<SpaceRow> = Vec::new();
                let mut roles = Vec::new();
                for (space, role) in found {
                    roles.extend(role);
                    if spaces.last().is_none_or(|s| s.id != space.id) {
                        spaces.push(space);
                    }
                }
                Ok((spaces, roles))
            }

            async fn lock_space(&mut self, id: Uuid) -> Result<()> {
                let lock: Option<&'static str> = $lock_space;
                if let Some(sql) = lock {
                    driver::query(sql).bind(id).execute(&mut *self.conn).await.map_err(db_error)?;
                }
                Ok(())
            }

            async fn update_space(&mut self, id: Uuid, patch: &SpacePatch) -> Result<SpaceRow> {
                if SHARDS {
                    // Wait for joins in flight (they hold the row shared), then fold the
                    // shards into the exact count a limit is checked against.
                    self.lock_space(id).await?;
                    driver::query(
                        "UPDATE spaces SET member_count = CAST(member_count + \
                           coalesce((SELECT sum(delta) FROM counter_shards WHERE owner_id = $1), 0) AS BIGINT) WHERE id = $1",
                    )
                    .bind(id)
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                    driver::query("DELETE FROM counter_shards WHERE owner_id = $1")
                        .bind(id)
                        .execute(&mut *self.conn)
                        .await
                        .map_err(db_error)?;
                }
                let row = driver::query($crate::sql_once!(
                    "UPDATE spaces SET \
                       name = coalesce($2, name), \
                       join_mode = coalesce($3, join_mode), \
                       member_limit = CASE WHEN $4 THEN $5 ELSE member_limit END \
                     WHERE id = $1 RETURNING {SPACE_COLUMNS}"
                ))
                .bind(id)
                .bind(patch.name.as_deref())
                .bind(patch.join_mode.map(|m| m.as_str()))
                .bind(patch.member_limit.is_some())
                .bind(patch.member_limit.flatten().map(i64::from))
                .fetch_one(&mut *self.conn)
                .await
                .map_err(db_error)?;
                space_row(&row)
            }

            async fn take_seat(&mut self, space_id: Uuid) -> Result<bool> {
                if SHARDS {
                    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                    return guarded_or_sharded(
                        &mut *self.conn,
                        &SQL,
                        "UPDATE spaces SET member_count = member_count + 1 \
                         WHERE id = $2 AND member_limit IS NOT NULL AND member_count < member_limit RETURNING id",
                        "SELECT id FROM spaces WHERE id = $2 AND member_limit IS NULL",
                        space_id,
                        None,
                    )
                    .await;
                }
                let done = driver::query(
                    "UPDATE spaces SET member_count = member_count + 1 \
                     WHERE id = $1 AND (member_limit IS NULL OR member_count < member_limit)",
                )
                .bind(space_id)
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn free_seat(&mut self, space_id: Uuid) -> Result<()> {
                if SHARDS {
                    // A limited space: its exact count (no shared lock first, which two
                    // leaving members would then both try to upgrade).
                    let done = driver::query(
                        "UPDATE spaces SET member_count = member_count - 1 \
                         WHERE id = $1 AND member_limit IS NOT NULL AND member_count > 0",
                    )
                    .bind(space_id)
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                    if done.rows_affected() == 1 {
                        return Ok(());
                    }
                    let row = driver::query("SELECT member_limit FROM spaces WHERE id = $1 FOR SHARE")
                        .bind(space_id)
                        .fetch_optional(&mut *self.conn)
                        .await
                        .map_err(db_error)?;
                    if let Some(r) = row
                        && get::<Option<i64>>(&r, "member_limit")?.is_none()
                    {
                        bump_shard(&mut *self.conn, space_id, -1).await?;
                    }
                    return Ok(());
                }
                driver::query(
                    "UPDATE spaces SET member_count = member_count - 1 WHERE id = $1 AND member_count > 0",
                )
                .bind(space_id)
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn insert_role(&mut self, role: &NewRole) -> Result<bool> {
                let done = driver::query(
                    "INSERT INTO roles (space_id, name, permissions, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (space_id, name) DO NOTHING",
                )
                .bind(role.space_id)
                .bind(role.name.as_str())
                .bind(role.permissions.bits())
                .bind(ms(role.created_at))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn roles_on(&mut self, space_ids: &[Uuid]) -> Result<Vec<RoleRow>> {
                if space_ids.is_empty() {
                    return Ok(vec![]);
                }
                let mut qb = driver::QueryBuilder::new(
                    "SELECT space_id, name, permissions FROM roles WHERE space_id IN ",
                );
                push_in_ids(&mut qb, space_ids);
                qb.push(" ORDER BY name");
                let rows = qb
                    .build()
                    .fetch_all(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                rows.iter()
                    .map(|r| {
                        Ok(RoleRow {
                            space_id: get(r, "space_id")?,
                            name: RoleName::parse(&get::<String>(r, "name")?).map_err(Error::internal)?,
                            permissions: Permissions::from_bits(get(r, "permissions")?),
                        })
                    })
                    .collect()
            }
        }

        #[$crate::__private::async_trait]
        impl MembersTx for $tx<'_> {
            async fn insert_membership(&mut self, m: &NewMembership) -> Result<Option<MembershipRow>> {
                // No RETURNING: SQLite gathers returned rows in a temporary B-tree, and
                // opening one was most of this insert's time; the row is what was inserted.
                let done = driver::query(
                    "INSERT INTO memberships (id, space_id, user_id, role, status, source, invite_id, created_at, updated_at, email, username, added_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11) \
                     ON CONFLICT (space_id, user_id) DO NOTHING",
                )
                .bind(m.id)
                .bind(m.space_id)
                .bind(m.user_id.as_str())
                .bind(m.role.as_str())
                .bind(m.status.as_str())
                .bind(m.source.as_str())
                .bind(m.invite_id)
                .bind(ms(m.created_at))
                .bind(m.email.as_ref().map(|e| e.as_str()))
                .bind(m.username.as_ref().map(|u| u.as_str()))
                .bind(m.added_by.as_deref())
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok((done.rows_affected() == 1).then(|| m.stored()))
            }

            async fn membership(&mut self, space_id: Uuid, user: &UserId) -> Result<Option<MembershipRow>> {
                let row = driver::query($crate::sql_once!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE space_id = $1 AND user_id = $2"
                ))
                .bind(space_id)
                .bind(user.as_str())
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.as_ref().map(membership_row).transpose()
            }

            async fn memberships_on(
                &mut self,
                user: &UserId,
                space_ids: &[Uuid],
            ) -> Result<Vec<MembershipRow>> {
                if space_ids.is_empty() {
                    return Ok(vec![]);
                }
                let mut qb = driver::QueryBuilder::new($crate::sql_once!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE user_id = "
                ));
                qb.push_bind(user.as_str().to_owned())
                    .push(" AND space_id IN ");
                push_in_ids(&mut qb, space_ids);
                let rows = qb
                    .build()
                    .fetch_all(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                rows.iter().map(membership_row).collect()
            }

            async fn memberships_of(&mut self, user: &UserId) -> Result<Vec<(MembershipRow, SpacePath)>> {
                let rows = driver::query(
                    "SELECT m.id, m.space_id, m.user_id, m.role, m.status, m.source, m.invite_id, m.created_at, \
                       m.updated_at, s.path FROM memberships m JOIN spaces s ON s.id = m.space_id \
                     WHERE m.user_id = $1 ORDER BY s.path",
                )
                .bind(user.as_str())
                .fetch_all(&mut *self.conn)
                .await
                .map_err(db_error)?;
                rows.iter()
                    .map(|r| {
                        let path = SpacePath::parse(&get::<String>(r, "path")?).map_err(Error::internal)?;
                        Ok((membership_row(r)?, path))
                    })
                    .collect()
            }

            async fn set_membership_role(
                &mut self,
                id: Uuid,
                role: &RoleName,
                when: OffsetDateTime,
            ) -> Result<()> {
                driver::query("UPDATE memberships SET role = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(role.as_str())
                    .bind(ms(when))
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn delete_membership(&mut self, id: Uuid) -> Result<bool> {
                let done = driver::query("DELETE FROM memberships WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn withdraw_pending_membership(&mut self, id: Uuid) -> Result<bool> {
                let done = driver::query("DELETE FROM memberships WHERE id = $1 AND status = 'pending'")
                    .bind(id)
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_memberships(
                &mut self,
                space_id: Uuid,
                after: Option<&PageKey>,
                limit: u32,
            ) -> Result<Vec<MembershipRow>> {
                // `created_at IS NOT NULL` (always true) is the predicate of PostgreSQL's
                // partial memberships_by_join, which only this list may use (its migration
                // 0008); SQLite drops the term and keeps that index whole.
                let mut qb = driver::QueryBuilder::new(format!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE created_at IS NOT NULL AND space_id = "
                ));
                qb.push_bind(space_id);
                if let Some(k) = after {
                    qb.push(" AND (created_at, id) > (")
                        .push_bind(ms(k.created_at))
                        .push(", ")
                        .push_bind(k.id)
                        .push(")");
                }
                qb.push(" ORDER BY created_at, id LIMIT ")
                    .push_bind(i64::from(limit));
                let rows = qb
                    .build()
                    .fetch_all(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                rows.iter().map(membership_row).collect()
            }

            async fn count_members_with_roles(
                &mut self,
                space_id: Uuid,
                roles: &[RoleName],
            ) -> Result<u64> {
                if roles.is_empty() {
                    return Ok(0);
                }
                let mut qb = driver::QueryBuilder::new(
                    "SELECT count(*) AS n FROM memberships WHERE status = 'active' AND space_id = ",
                );
                qb.push_bind(space_id).push(" AND role IN (");
                let mut list = qb.separated(", ");
                for r in roles {
                    list.push_bind(r.as_str().to_owned());
                }
                qb.push(")");
                let row = qb
                    .build()
                    .fetch_one(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                Ok(get::<i64>(&row, "n")? as u64)
            }

            async fn membership_by_id(&mut self, id: Uuid) -> Result<Option<MembershipRow>> {
                let row = driver::query($crate::sql_once!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.as_ref().map(membership_row).transpose()
            }

            async fn memberships_of_addressee(&mut self, space_ids: &[Uuid], to: &domain::Addressee) -> Result<Vec<MembershipRow>> {
                if space_ids.is_empty() {
                    return Ok(vec![]);
                }
                let mut qb = driver::QueryBuilder::new(format!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE space_id IN "
                ));
                push_in_ids(&mut qb, space_ids);
                qb.push(" AND ");
                push_addressee(&mut qb, "", to);
                qb.push(" ORDER BY created_at, id");
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
                rows.iter().map(membership_row).collect()
            }

            async fn activate_membership(&mut self, id: Uuid, role: &RoleName, when: OffsetDateTime) -> Result<bool> {
                let done = driver::query(
                    "UPDATE memberships SET status = 'active', role = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(role.as_str())
                .bind(ms(when))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[$crate::__private::async_trait]
        impl InvitesTx for $tx<'_> {
            async fn insert_invite(&mut self, i: &NewInvite) -> Result<bool> {
                let done = driver::query(
                    "INSERT INTO invites (id, code_hash, space_id, space_path, role, max_uses, expires_at, description, \
                       allow_narrowing, created_by, created_by_name, created_at, requires_approval, auto_approve_domains) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (code_hash) DO NOTHING",
                )
                .bind(i.id)
                .bind(&i.code_hash)
                .bind(i.space_id)
                .bind(i.space_path.as_str())
                .bind(i.role.as_str())
                .bind(i.max_uses.map(i64::from))
                .bind(i.expires_at.map(ms))
                .bind(i.description.as_deref())
                .bind(i.allow_narrowing)
                .bind(&i.created_by)
                .bind(&i.created_by_name)
                .bind(ms(i.created_at))
                .bind(i.requires_approval)
                .bind((!i.auto_approve_domains.is_empty()).then(|| i.auto_approve_domains.join(",")))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                // List the invite under its space and every ancestor (see invite_scopes).
                let mut qb = driver::QueryBuilder::new(
                    "INSERT INTO invite_scopes (scope_path, created_at, invite_id) ",
                );
                qb.push_values(i.space_path.lineage(), |mut row, scope| {
                    row.push_bind(scope.as_str().to_owned())
                        .push_bind(ms(i.created_at))
                        .push_bind(i.id);
                });
                qb.build().execute(&mut *self.conn).await.map_err(db_error)?;
                Ok(true)
            }

            async fn invite_by_hash(&mut self, code_hash: &[u8]) -> Result<Option<InviteRow>> {
                let row = driver::query($crate::sql_once!(
                    "SELECT {} FROM invites WHERE code_hash = $1",
                    invite_columns_of("invites")
                ))
                .bind(code_hash)
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.as_ref().map(invite_row).transpose()
            }

            async fn invite_by_id(&mut self, id: Uuid) -> Result<Option<InviteRow>> {
                let row = driver::query($crate::sql_once!(
                    "SELECT {} FROM invites WHERE id = $1",
                    invite_columns_of("invites")
                ))
                .bind(id)
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.as_ref().map(invite_row).transpose()
            }

            async fn invite_preview(&mut self, code_hash: &[u8]) -> Result<Option<InvitePreviewRow>> {
                let row = driver::query($crate::sql_once!(
"SELECT {}, s.name AS space_name, s.join_mode, {} \
                     FROM invites i JOIN spaces s ON s.id = i.space_id WHERE i.code_hash = $1",
                    invite_columns_of("i"),
                    counted("s", "member_count")
                ))
                .bind(code_hash)
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.map(|r| {
                    Ok(InvitePreviewRow {
                        invite: invite_row(&r)?,
                        space_name: get(&r, "space_name")?,
                        join_mode: get::<String>(&r, "join_mode")?.parse().map_err(Error::internal)?,
                        member_count: u32_of(get(&r, "member_count")?)?,
                    })
                })
                .transpose()
            }

            async fn claim_invite_use(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
                if SHARDS {
                    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                    return guarded_or_sharded(
                        &mut *self.conn,
                        &SQL,
                        "UPDATE invites SET uses = uses + 1 \
                         WHERE id = $2 AND max_uses IS NOT NULL AND uses < max_uses AND revoked_at IS NULL \
                           AND (expires_at IS NULL OR expires_at > $3) RETURNING id",
                        "SELECT id FROM invites WHERE id = $2 AND max_uses IS NULL AND revoked_at IS NULL \
                           AND (expires_at IS NULL OR expires_at > $3)",
                        id,
                        Some(now),
                    )
                    .await;
                }
                let done = driver::query(
                    "UPDATE invites SET uses = uses + 1 \
                     WHERE id = $1 AND revoked_at IS NULL \
                       AND (expires_at IS NULL OR expires_at > $2) \
                       AND (max_uses IS NULL OR uses < max_uses)",
                )
                .bind(id)
                .bind(ms(now))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn revoke_invite(&mut self, id: Uuid, by: &str, when: OffsetDateTime) -> Result<bool> {
                let done = driver::query("UPDATE invites SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(ms(when))
                    .bind(by)
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_invites(&mut self, q: &InviteQuery) -> Result<Vec<InviteRow>> {
                // Which subtrees to walk: what the caller may see, narrowed by the filter.
                let roots: Option<Vec<SpacePath>> = match (&q.visible, q.subtrees.is_empty()) {
                    (Visibility::All, true) => None,
                    (Visibility::All, false) => Some(domain::path::minimal_roots(q.subtrees.clone())),
                    (Visibility::Subtrees(v), true) => Some(domain::path::minimal_roots(v.clone())),
                    (Visibility::Subtrees(v), false) => Some(domain::path::intersect_subtrees(v, &q.subtrees)),
                };
                let mut qb = driver::QueryBuilder::new("");
                match &roots {
                    // Everything: the creation-order index, filtered as it goes.
                    None => {
                        qb.push(format!("SELECT {} FROM invites WHERE TRUE", invite_columns_of("invites")));
                        push_invite_filters(&mut qb, q, "created_at", "id");
                        qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(i64::from(q.limit));
                    }
                    Some(roots) if roots.is_empty() => return Ok(vec![]),
                    // One subtree: one ordered range of invite_scopes, already in order.
                    Some(roots) if roots.len() == 1 => push_scope_range(&mut qb, q, &roots[0]),
                    // Several: their ranges merged, each cut at the page size first.
                    Some(roots) => {
                        qb.push(format!("SELECT {INVITE_COLUMNS} FROM ("));
                        for (n, root) in roots.iter().enumerate() {
                            if n > 0 {
                                qb.push(" UNION ALL ");
                            }
                            qb.push("SELECT * FROM (");
                            push_scope_range(&mut qb, q, root);
                            qb.push(format!(") AS r{n}"));
                        }
                        qb.push(") AS merged ORDER BY created_at DESC, id DESC LIMIT ").push_bind(i64::from(q.limit));
                    }
                }
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
                rows.iter().map(invite_row).collect()
            }
        }

        #[$crate::__private::async_trait]
        impl EventsTx for $tx<'_> {
            async fn append_event(&mut self, e: &NewEvent) -> Result<()> {
                driver::query(
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
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn list_events(&mut self, q: &EventQuery) -> Result<Vec<EventRow>> {
                let mut qb = driver::QueryBuilder::new(
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
                if let Some(before) = q.before_seq {
                    qb.push(" AND seq < ").push_bind(before);
                }
                qb.push(" ORDER BY seq DESC LIMIT ")
                    .push_bind(i64::from(q.limit));
                let rows = qb
                    .build()
                    .fetch_all(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                rows.iter().map(event_row).collect()
            }
        }

        #[$crate::__private::async_trait]
        impl InvitationsTx for $tx<'_> {
            async fn insert_invitation(&mut self, i: &NewInvitation) -> Result<bool> {
                let done = driver::query(
                    "INSERT INTO invitations (id, token_hash, token_salt, space_id, space_path, role, email, username, user_id, \
                       addressee, message, status, lifetime_secs, expires_at, sends, last_sent_at, mail_id, created_by, \
                       created_by_name, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $13, 1, $14, $15, $16, $17, $14) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(i.id)
                .bind(&i.token_hash)
                .bind(&i.token_salt)
                .bind(i.space_id)
                .bind(i.space_path.as_str())
                .bind(i.role.as_str())
                .bind(i.addressee.email.as_ref().map(|e| e.as_str()))
                .bind(i.addressee.username.as_ref().map(|u| u.as_str()))
                .bind(i.addressee.user_id.as_ref().map(|u| u.as_str()))
                .bind(i.addressee.key())
                .bind(i.message.as_deref())
                .bind(i.lifetime_secs)
                .bind(ms(i.expires_at))
                .bind(ms(i.created_at))
                .bind(i.mail_id)
                .bind(&i.created_by)
                .bind(&i.created_by_name)
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn invitation_by_id(&mut self, id: Uuid) -> Result<Option<InvitationRow>> {
                let row = driver::query($crate::sql_once!("{INVITATION_SELECT} WHERE i.id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(invitation_row).transpose()
            }

            async fn invitation_by_token(&mut self, token_hash: &[u8]) -> Result<Option<InvitationRow>> {
                let row = driver::query($crate::sql_once!("{INVITATION_SELECT} WHERE i.token_hash = $1"))
                    .bind(token_hash)
                    .fetch_optional(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(invitation_row).transpose()
            }

            async fn pending_invitation_to(&mut self, space_id: Uuid, to: &domain::Addressee) -> Result<Option<InvitationRow>> {
                let mut qb = driver::QueryBuilder::new(INVITATION_SELECT);
                qb.push(" WHERE i.status = 'pending' AND i.space_id = ").push_bind(space_id);
                qb.push(" AND (i.addressee = ").push_bind(to.key()).push(" OR ");
                push_addressee(&mut qb, "i.", to);
                qb.push(") ORDER BY i.created_at, i.id LIMIT 1");
                let row = qb.build().fetch_optional(&mut *self.conn).await.map_err(db_error)?;
                row.as_ref().map(invitation_row).transpose()
            }

            async fn decide_invitation(
                &mut self,
                id: Uuid,
                to: domain::InvitationStatus,
                by: &str,
                when: OffsetDateTime,
                live_at: Option<OffsetDateTime>,
            ) -> Result<bool> {
                let done = driver::query(
                    "UPDATE invitations SET status = $2, decided_by = $3, decided_at = $4 \
                     WHERE id = $1 AND status = 'pending' AND ($5 IS NULL OR expires_at > $5)",
                )
                .bind(id)
                .bind(to.as_str())
                .bind(by)
                .bind(ms(when))
                .bind(live_at.map(ms))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn reissue_invitation(&mut self, r: &Reissue) -> Result<bool> {
                let done = driver::query(
                    "UPDATE invitations SET token_hash = $2, token_salt = $3, expires_at = $4, mail_id = $5, \
                       sends = sends + 1, last_sent_at = $6 \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(r.id)
                .bind(&r.token_hash)
                .bind(&r.token_salt)
                .bind(ms(r.expires_at))
                .bind(r.mail_id)
                .bind(ms(r.at))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_invitations(&mut self, q: &InvitationQuery) -> Result<Vec<InvitationRow>> {
                let mut qb = driver::QueryBuilder::new(INVITATION_SELECT);
                qb.push(" WHERE TRUE");
                push_visibility(&mut qb, "i.space_path", &q.visible);
                if let Some(root) = &q.subtree {
                    qb.push(" AND ");
                    push_subtree(&mut qb, "i.space_path", root);
                }
                if let Some(status) = q.status {
                    push_invitation_status(&mut qb, status, ms(q.now));
                }
                if let Some(email) = &q.email {
                    qb.push(" AND i.email = ").push_bind(email.as_str().to_owned());
                }
                if let Some(k) = &q.after {
                    qb.push(" AND (i.created_at, i.id) < (")
                        .push_bind(ms(k.created_at))
                        .push(", ")
                        .push_bind(k.id)
                        .push(")");
                }
                qb.push(" ORDER BY i.created_at DESC, i.id DESC LIMIT ").push_bind(i64::from(q.limit));
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
                rows.iter().map(invitation_row).collect()
            }

            async fn invitations_addressed_to(
                &mut self,
                user: &UserId,
                email: Option<&domain::Email>,
                username: Option<&domain::Username>,
                now: OffsetDateTime,
                after: Option<&PageKey>,
                limit: u32,
            ) -> Result<Vec<InvitationRow>> {
                let mut qb = driver::QueryBuilder::new(INVITATION_SELECT);
                qb.push(" WHERE TRUE");
                push_invitation_status(&mut qb, domain::InvitationStatus::Pending, ms(now));
                let who = domain::Addressee {
                    email: email.cloned(),
                    username: username.cloned(),
                    user_id: Some(user.clone()),
                };
                qb.push(" AND ");
                push_addressee(&mut qb, "i.", &who);
                if let Some(k) = after {
                    qb.push(" AND (i.created_at, i.id) < (")
                        .push_bind(ms(k.created_at))
                        .push(", ")
                        .push_bind(k.id)
                        .push(")");
                }
                qb.push(" ORDER BY i.created_at DESC, i.id DESC LIMIT ").push_bind(i64::from(limit));
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
                rows.iter().map(invitation_row).collect()
            }

            async fn expire_idempotency_keys(&mut self, before: OffsetDateTime) -> Result<u64> {
                let done = driver::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                    .bind(ms(before))
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected())
            }

            async fn idempotent_response(&mut self, owner: &str, key: &str) -> Result<Option<(Vec<u8>, String)>> {
                let row = driver::query("SELECT request_hash, response FROM idempotency_keys WHERE owner = $1 AND key = $2")
                    .bind(owner)
                    .bind(key)
                    .fetch_optional(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                row.map(|r| Ok((get(&r, "request_hash")?, get(&r, "response")?))).transpose()
            }

            async fn store_idempotent_response(
                &mut self,
                owner: &str,
                key: &str,
                request_hash: &[u8],
                response: &str,
                when: OffsetDateTime,
            ) -> Result<bool> {
                let done = driver::query(
                    "INSERT INTO idempotency_keys (owner, key, request_hash, response, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(owner)
                .bind(key)
                .bind(request_hash)
                .bind(response)
                .bind(ms(when))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[$crate::__private::async_trait]
        impl MailTx for $tx<'_> {
            async fn insert_mail(&mut self, m: &NewMail) -> Result<()> {
                driver::query(
                    "INSERT INTO mail_outbox (id, invitation_id, recipient, state, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, 'queued', 0, $4, $4)",
                )
                .bind(m.id)
                .bind(m.invitation_id)
                .bind(m.recipient.as_str())
                .bind(ms(m.created_at))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn cancel_mail_of(&mut self, invitation_id: Uuid) -> Result<()> {
                driver::query("UPDATE mail_outbox SET state = 'cancelled' WHERE invitation_id = $1 AND state = 'queued'")
                    .bind(invitation_id)
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn due_mail(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<MailRow>> {
                let rows = driver::query($crate::sql_once!(
                    "SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= $1 \
                     ORDER BY next_attempt_at LIMIT $2"
                ))
                .bind(ms(now))
                .bind(i64::from(limit))
                .fetch_all(&mut *self.conn)
                .await
                .map_err(db_error)?;
                rows.iter().map(mail_row).collect()
            }

            async fn claim_mail(&mut self, id: Uuid, now: OffsetDateTime, lease_until: OffsetDateTime) -> Result<bool> {
                let done = driver::query(
                    "UPDATE mail_outbox SET next_attempt_at = $3, attempts = attempts + 1 \
                     WHERE id = $1 AND state = 'queued' AND next_attempt_at <= $2",
                )
                .bind(id)
                .bind(ms(now))
                .bind(ms(lease_until))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn finish_mail(&mut self, id: Uuid, result: &DeliveryOutcome) -> Result<()> {
                let (state, error, next, sent): (&str, Option<&str>, Option<i64>, Option<i64>) = match result {
                    DeliveryOutcome::Sent { at } => ("sent", None, None, Some(ms(*at))),
                    DeliveryOutcome::Retry { error, next_attempt_at } => ("queued", Some(error), Some(ms(*next_attempt_at)), None),
                    DeliveryOutcome::Failed { error } => ("failed", Some(error), None, None),
                    DeliveryOutcome::Cancelled => ("cancelled", None, None, None),
                };
                driver::query(
                    "UPDATE mail_outbox SET state = $2, last_error = coalesce($3, last_error), \
                       next_attempt_at = coalesce($4, next_attempt_at), sent_at = $5 \
                     WHERE id = $1 AND state = 'queued'",
                )
                .bind(id)
                .bind(state)
                .bind(error)
                .bind(next)
                .bind(sent)
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn mail_by_id(&mut self, id: Uuid) -> Result<Option<MailRow>> {
                let row = driver::query($crate::sql_once!("SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(mail_row).transpose()
            }
        }

        #[$crate::__private::async_trait]
        impl SignupTx for $tx<'_> {
            async fn gate(&mut self) -> Result<GateRow> {
                let row = driver::query($crate::sql_once!("SELECT {GATE_COLUMNS} FROM signup_gate WHERE id = 1"))
                    .fetch_one(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                gate_row(&row)
            }

            async fn set_gate(&mut self, g: &GateSettings, when: OffsetDateTime) -> Result<GateRow> {
                let row = driver::query($crate::sql_once!(
                    "UPDATE signup_gate SET invite_only = $1, cap = $2, user_invitations = $3, user_quota = $4, \
                       quota_period_secs = $5, updated_at = $6 WHERE id = 1 RETURNING {GATE_COLUMNS}"
                ))
                .bind(g.gate.invite_only)
                .bind(g.gate.cap.map(i64::from))
                .bind(g.user_invitations)
                .bind(g.user_quota.map(i64::from))
                .bind(g.quota_period_secs)
                .bind(ms(when))
                .fetch_one(&mut *self.conn)
                .await
                .map_err(db_error)?;
                gate_row(&row)
            }

            async fn take_signup_seat(&mut self) -> Result<bool> {
                let done = driver::query(
                    "UPDATE signup_gate SET seats_taken = seats_taken + 1 WHERE id = 1 AND (cap IS NULL OR seats_taken < cap)",
                )
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn free_signup_seats(&mut self, n: u32) -> Result<()> {
                if n == 0 {
                    return Ok(());
                }
                driver::query("UPDATE signup_gate SET seats_taken = seats_taken - $1 WHERE id = 1 AND seats_taken >= $1")
                    .bind(i64::from(n))
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn take_inviter_quota(
                &mut self,
                inviter: &str,
                quota: u32,
                period_secs: Option<i64>,
                now: OffsetDateTime,
            ) -> Result<bool> {
                driver::query("INSERT INTO inviter_quotas (inviter, period_start, sent) VALUES ($1, $2, 0) ON CONFLICT (inviter) DO NOTHING")
                    .bind(inviter)
                    .bind(ms(now))
                    .execute(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                // A period that has run out starts again at this invitation.
                let done = driver::query(
                    "UPDATE inviter_quotas SET \
                       sent = CASE WHEN $3 IS NOT NULL AND period_start <= $2 - $3 THEN 1 ELSE sent + 1 END, \
                       period_start = CASE WHEN $3 IS NOT NULL AND period_start <= $2 - $3 THEN $2 ELSE period_start END \
                     WHERE inviter = $1 AND $4 > 0 AND (($3 IS NOT NULL AND period_start <= $2 - $3) OR sent < $4)",
                )
                .bind(inviter)
                .bind(ms(now))
                .bind(period_secs.map(|s| s * 1000))
                .bind(i64::from(quota))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_platform_invitation(&mut self, i: &NewPlatformInvitation) -> Result<bool> {
                let done = driver::query(
                    "INSERT INTO platform_invitations (id, token_hash, email, max_uses, expires_at, invited_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(i.id)
                .bind(&i.token_hash)
                .bind(i.email.as_ref().map(|e| e.as_str()))
                .bind(i64::from(i.max_uses))
                .bind(i.expires_at.map(ms))
                .bind(&i.invited_by)
                .bind(ms(i.created_at))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn platform_invitation_by_hash(&mut self, token_hash: &[u8]) -> Result<Option<PlatformInvitationRow>> {
                let row = driver::query($crate::sql_once!(
                    "SELECT {PLATFORM_INVITATION_COLUMNS} FROM platform_invitations WHERE token_hash = $1"
                ))
                .bind(token_hash)
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.as_ref().map(platform_invitation_row).transpose()
            }

            async fn platform_invitation_by_id(&mut self, id: Uuid) -> Result<Option<PlatformInvitationRow>> {
                let row = driver::query($crate::sql_once!(
                    "SELECT {PLATFORM_INVITATION_COLUMNS} FROM platform_invitations WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.as_ref().map(platform_invitation_row).transpose()
            }

            async fn reserve_platform_invitation(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
                let done = driver::query(
                    "UPDATE platform_invitations SET reserved = reserved + 1 \
                     WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
                       AND uses + reserved < max_uses",
                )
                .bind(id)
                .bind(ms(now))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn settle_platform_invitation(&mut self, id: Uuid, used: bool) -> Result<()> {
                driver::query(
                    "UPDATE platform_invitations SET reserved = reserved - 1, uses = uses + $2 WHERE id = $1 AND reserved > 0",
                )
                .bind(id)
                .bind(i64::from(used))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn revoke_platform_invitation(&mut self, id: Uuid, by: &str, when: OffsetDateTime) -> Result<bool> {
                let done = driver::query(
                    "UPDATE platform_invitations SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL",
                )
                .bind(id)
                .bind(ms(when))
                .bind(by)
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_platform_invitations(
                &mut self,
                inviter: Option<&str>,
                after: Option<&PageKey>,
                limit: u32,
            ) -> Result<Vec<PlatformInvitationRow>> {
                let mut qb = driver::QueryBuilder::new(format!(
                    "SELECT {PLATFORM_INVITATION_COLUMNS} FROM platform_invitations WHERE TRUE"
                ));
                if let Some(by) = inviter {
                    qb.push(" AND invited_by = ").push_bind(by.to_owned());
                }
                if let Some(k) = after {
                    qb.push(" AND (created_at, id) < (")
                        .push_bind(ms(k.created_at))
                        .push(", ")
                        .push_bind(k.id)
                        .push(")");
                }
                qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
                rows.iter().map(platform_invitation_row).collect()
            }

            async fn revoke_referral_subtree(
                &mut self,
                root: &str,
                by: &str,
                when: OffsetDateTime,
            ) -> Result<Vec<PlatformInvitationRow>> {
                let rows = driver::query($crate::sql_once!(
                    "{REFERRAL_TREE} UPDATE platform_invitations SET revoked_at = $2, revoked_by = $3 \
                     WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) AND uses < max_uses \
                       AND (invited_by = $1 OR invited_by IN (SELECT user_id FROM tree)) \
                     RETURNING {PLATFORM_INVITATION_COLUMNS}"
                ))
                .bind(root)
                .bind(ms(when))
                .bind(by)
                .fetch_all(&mut *self.conn)
                .await
                .map_err(db_error)?;
                rows.iter().map(platform_invitation_row).collect()
            }

            async fn insert_claim(&mut self, c: &NewClaim) -> Result<bool> {
                let done = driver::query(
                    "INSERT INTO signup_claims (id, email, invitation_id, state, expires_at, created_at) \
                     VALUES ($1, $2, $3, 'reserved', $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(c.id)
                .bind(c.email.as_str())
                .bind(c.invitation_id)
                .bind(ms(c.expires_at))
                .bind(ms(c.created_at))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_by_id(&mut self, id: Uuid) -> Result<Option<ClaimRow>> {
                let row = driver::query($crate::sql_once!("SELECT {CLAIM_COLUMNS} FROM signup_claims WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(claim_row).transpose()
            }

            async fn decide_claim(
                &mut self,
                id: Uuid,
                to: ClaimState,
                user: Option<&UserId>,
                when: OffsetDateTime,
                live_at: Option<OffsetDateTime>,
            ) -> Result<bool> {
                let done = driver::query(
                    "UPDATE signup_claims SET state = $2, user_id = $3, decided_at = $4 \
                     WHERE id = $1 AND state = 'reserved' AND ($5 IS NULL OR expires_at > $5)",
                )
                .bind(id)
                .bind(to.as_str())
                .bind(user.map(|u| u.as_str()))
                .bind(ms(when))
                .bind(live_at.map(ms))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn lapse_claims(&mut self, now: OffsetDateTime) -> Result<Vec<ClaimRow>> {
                let rows = driver::query($crate::sql_once!(
                    "UPDATE signup_claims SET state = 'lapsed', decided_at = $1 \
                     WHERE state = 'reserved' AND expires_at <= $1 RETURNING {CLAIM_COLUMNS}"
                ))
                .bind(ms(now))
                .fetch_all(&mut *self.conn)
                .await
                .map_err(db_error)?;
                rows.iter().map(claim_row).collect()
            }

            async fn insert_signup(&mut self, s: &SignupRow) -> Result<bool> {
                let done = driver::query(
                    "INSERT INTO signups (user_id, email, invited_by, invitation_id, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(s.user_id.as_str())
                .bind(s.email.as_str())
                .bind(s.invited_by.as_deref())
                .bind(s.invitation_id)
                .bind(ms(s.created_at))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn signup_of_email(&mut self, email: &domain::Email) -> Result<Option<SignupRow>> {
                let row = driver::query($crate::sql_once!("SELECT {SIGNUP_COLUMNS} FROM signups WHERE email = $1"))
                    .bind(email.as_str())
                    .fetch_optional(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(signup_row).transpose()
            }

            async fn signups_invited_by(&mut self, inviter: &str, limit: u32) -> Result<Vec<SignupRow>> {
                let rows = driver::query($crate::sql_once!(
                    "SELECT {SIGNUP_COLUMNS} FROM signups WHERE invited_by = $1 ORDER BY created_at, user_id LIMIT $2"
                ))
                .bind(inviter)
                .bind(i64::from(limit))
                .fetch_all(&mut *self.conn)
                .await
                .map_err(db_error)?;
                rows.iter().map(signup_row).collect()
            }

            async fn referral_tree(&mut self, root: &str, limit: u32) -> Result<Vec<(SignupRow, u32)>> {
                let rows = driver::query($crate::sql_once!(
                    "{REFERRAL_TREE} SELECT s.user_id, s.email, s.invited_by, s.invitation_id, s.created_at, t.depth \
                     FROM tree t JOIN signups s ON s.user_id = t.user_id ORDER BY t.depth, s.created_at, s.user_id LIMIT $2"
                ))
                .bind(root)
                .bind(i64::from(limit))
                .fetch_all(&mut *self.conn)
                .await
                .map_err(db_error)?;
                rows.iter()
                    .map(|r| Ok((signup_row(r)?, u32_of(get(r, "depth")?)?)))
                    .collect()
            }

            async fn users_with_email(&mut self, email: &domain::Email) -> Result<Vec<UserId>> {
                let rows = driver::query("SELECT DISTINCT user_id FROM memberships WHERE email = $1 ORDER BY user_id LIMIT 10")
                    .bind(email.as_str())
                    .fetch_all(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                rows.iter()
                    .map(|r| UserId::parse(&get::<String>(r, "user_id")?).map_err(Error::internal))
                    .collect()
            }

            async fn space_path_of(&mut self, id: Uuid) -> Result<Option<SpacePath>> {
                let row = driver::query("SELECT path FROM spaces WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                row.map(|r| SpacePath::parse(&get::<String>(&r, "path")?).map_err(Error::internal))
                    .transpose()
            }
        }

        #[$crate::__private::async_trait]
        impl RequestsTx for $tx<'_> {
            async fn insert_join_request(&mut self, r: &NewJoinRequest) -> Result<bool> {
                let done = driver::query(
                    "INSERT INTO join_requests (id, space_id, space_path, user_id, email, username, role, message, invite_id, \
                       status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10) ON CONFLICT DO NOTHING",
                )
                .bind(r.id)
                .bind(r.space_id)
                .bind(r.space_path.as_str())
                .bind(r.user_id.as_str())
                .bind(r.email.as_ref().map(|e| e.as_str()))
                .bind(r.username.as_ref().map(|u| u.as_str()))
                .bind(r.role.as_str())
                .bind(r.message.as_deref())
                .bind(r.invite_id)
                .bind(ms(r.created_at))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn join_request_by_id(&mut self, id: Uuid) -> Result<Option<JoinRequestRow>> {
                let row = driver::query($crate::sql_once!("SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *self.conn)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(join_request_row).transpose()
            }

            async fn pending_join_request(&mut self, space_id: Uuid, user: &UserId) -> Result<Option<JoinRequestRow>> {
                let row = driver::query($crate::sql_once!(
                    "SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests WHERE space_id = $1 AND user_id = $2 AND status = 'pending'"
                ))
                .bind(space_id)
                .bind(user.as_str())
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.as_ref().map(join_request_row).transpose()
            }

            async fn decide_join_request(&mut self, id: Uuid, to: JoinRequestStatus, by: &str, when: OffsetDateTime) -> Result<bool> {
                let done = driver::query(
                    "UPDATE join_requests SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(to.as_str())
                .bind(by)
                .bind(ms(when))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_join_requests(
                &mut self,
                space_id: Uuid,
                status: Option<JoinRequestStatus>,
                after: Option<&PageKey>,
                limit: u32,
            ) -> Result<Vec<JoinRequestRow>> {
                let mut qb = driver::QueryBuilder::new(format!(
                    "SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests WHERE space_id = "
                ));
                qb.push_bind(space_id);
                if let Some(status) = status {
                    qb.push(" AND status = ").push_bind(status.as_str());
                }
                if let Some(k) = after {
                    qb.push(" AND (created_at, id) > (")
                        .push_bind(ms(k.created_at))
                        .push(", ")
                        .push_bind(k.id)
                        .push(")");
                }
                qb.push(" ORDER BY created_at, id LIMIT ").push_bind(i64::from(limit));
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
                rows.iter().map(join_request_row).collect()
            }

            async fn pending_join_requests_of(&mut self, user: &UserId) -> Result<Vec<JoinRequestRow>> {
                let rows = driver::query($crate::sql_once!(
                    "SELECT {JOIN_REQUEST_COLUMNS} FROM join_requests WHERE user_id = $1 AND status = 'pending' \
                     ORDER BY created_at, id LIMIT 1000"
                ))
                .bind(user.as_str())
                .fetch_all(&mut *self.conn)
                .await
                .map_err(db_error)?;
                rows.iter().map(join_request_row).collect()
            }
        }

        #[$crate::__private::async_trait]
        impl SponsorshipTx for $tx<'_> {
            async fn sponsored_within(
                &mut self,
                created_by: &str,
                root: Option<&SpacePath>,
            ) -> Result<Vec<Sponsored>> {
                let mut qb = driver::QueryBuilder::new(
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
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
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

            async fn concerned_by_role(&mut self, root: &SpacePath, role: &RoleName) -> Result<Vec<String>> {
                let mut qb = driver::QueryBuilder::new("SELECT created_by AS who FROM invites WHERE revoked_at IS NULL AND role = ");
                qb.push_bind(role.as_str().to_owned()).push(" AND ");
                push_subtree(&mut qb, "space_path", root);
                qb.push(" UNION SELECT created_by AS who FROM invitations WHERE status = 'pending' AND role = ")
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
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
                rows.iter().map(|r| get::<String>(r, "who")).collect()
            }

            async fn revoke_platform_invitations_of(
                &mut self,
                inviter: &str,
                by: &str,
                when: OffsetDateTime,
            ) -> Result<Vec<PlatformInvitationRow>> {
                let rows = driver::query($crate::sql_once!(
                    "UPDATE platform_invitations SET revoked_at = $2, revoked_by = $3 \
                     WHERE invited_by = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
                       AND uses < max_uses RETURNING {PLATFORM_INVITATION_COLUMNS}"
                ))
                .bind(inviter)
                .bind(ms(when))
                .bind(by)
                .fetch_all(&mut *self.conn)
                .await
                .map_err(db_error)?;
                rows.iter().map(platform_invitation_row).collect()
            }
        }

        #[$crate::__private::async_trait]
        impl TransferTx for $tx<'_> {
            async fn export_rows(
                &mut self,
                table: &transfer::TableSpec,
                after: Option<&[transfer::Cell]>,
                limit: u32,
            ) -> Result<Vec<Vec<transfer::Cell>>> {
                let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
                let key = table.key.join(", ");
                let mut qb = driver::QueryBuilder::new(format!(
                    "SELECT {} FROM {} WHERE TRUE",
                    columns.join(", "),
                    table.name
                ));
                if let Some(after) = after {
                    qb.push(format!(" AND ({key}) > ("));
                    for (i, (column, cell)) in table.key.iter().zip(after).enumerate() {
                        if i > 0 {
                            qb.push(", ");
                        }
                        let kind = table.kind_of(column).ok_or_else(|| Error::internal("a key column without a kind"))?;
                        bind_cell(&mut qb, kind, cell)?;
                    }
                    qb.push(")");
                }
                qb.push(format!(" ORDER BY {key} LIMIT ")).push_bind(i64::from(limit));
                let rows = qb.build().fetch_all(&mut *self.conn).await.map_err(db_error)?;
                rows.iter()
                    .map(|r| table.columns.iter().map(|(c, k)| read_cell(r, c, *k)).collect())
                    .collect()
            }

            async fn import_row(&mut self, table: &transfer::TableSpec, row: &[transfer::Cell]) -> Result<()> {
                if table.singleton {
                    // The migration made the row; the imported one replaces it.
                    driver::query(driver::AssertSqlSafe(format!("DELETE FROM {}", table.name)))
                        .execute(&mut *self.conn)
                        .await
                        .map_err(db_error)?;
                }
                let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
                let mut qb = driver::QueryBuilder::new(format!(
                    "INSERT INTO {} ({}) VALUES (",
                    table.name,
                    columns.join(", ")
                ));
                for (i, ((_, kind), cell)) in table.columns.iter().zip(row).enumerate() {
                    if i > 0 {
                        qb.push(", ");
                    }
                    bind_cell(&mut qb, *kind, cell)?;
                }
                qb.push(")");
                qb.build().execute(&mut *self.conn).await.map_err(db_error)?;
                Ok(())
            }

            async fn after_import(&mut self) -> Result<()> {
                let statement: Option<&'static str> = $after_import;
                if let Some(sql) = statement {
                    driver::query(sql).execute(&mut *self.conn).await.map_err(db_error)?;
                }
                Ok(())
            }
        }

        #[$crate::__private::async_trait]
        impl ApiKeysTx for $tx<'_> {
            async fn insert_api_key(&mut self, key: &NewApiKey) -> Result<bool> {
                let done = driver::query(
                    "INSERT INTO api_keys (id, name, key_hash, platform_admin, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(key.id)
                .bind(&key.name)
                .bind(&key.key_hash)
                .bind(key.platform_admin)
                .bind(ms(key.created_at))
                .execute(&mut *self.conn)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn api_key_by_hash(&mut self, key_hash: &[u8]) -> Result<Option<ApiKeyRow>> {
                let row = driver::query(
                    "SELECT id, name, platform_admin, revoked_at FROM api_keys WHERE key_hash = $1",
                )
                .bind(key_hash)
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(db_error)?;
                row.map(|r| {
                    Ok(ApiKeyRow {
                        id: get(&r, "id")?,
                        name: get(&r, "name")?,
                        platform_admin: get(&r, "platform_admin")?,
                        revoked: get::<Option<i64>>(&r, "revoked_at")?.is_some(),
                    })
                })
                .transpose()
            }
        }
    };
}
