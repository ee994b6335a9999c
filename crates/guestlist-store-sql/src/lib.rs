//! The SQL behind the storage contract, one file per feature, written once for both
//! engines against their driver ([`Engine`]).
//!
//! The statements are portable (`$N` placeholders, `ON CONFLICT`, `RETURNING`, row
//! values). Where the engines differ, each engine's crate writes its own statements
//! by overriding an [`Engine`] method: PostgreSQL counts unlimited links and spaces in
//! shard rows and locks space rows (`guestlist-store-postgres/src/counters.rs`), SQLite
//! keeps the portable defaults (one writer: nothing is ever contended). Every limit is
//! one conditional write whose `rows_affected` / `RETURNING` decides who won, so the
//! same statements are correct under SQLite's single writer and under PostgreSQL's
//! READ COMMITTED.
//!
//! | feature     | store contract   | here             |
//! |-------------|------------------|------------------|
//! | spaces      | `SpacesTx`       | `spaces.rs`      |
//! | members     | `MembersTx`      | `members.rs`     |
//! | invites     | `InvitesTx`      | `invites.rs`     |
//! | events      | `EventsTx`       | `events.rs`      |
//! | invitations | `InvitationsTx`  | `invitations.rs` |
//! | mail        | `MailTx`         | `mail.rs`        |
//! | signup      | `SignupTx`       | `signup.rs`      |
//! | requests    | `RequestsTx`     | `requests.rs`    |
//! | sponsorship | `SponsorshipTx`  | `sponsorship.rs` |
//! | transfer    | `TransferTx`     | `transfer.rs`    |
//! | api keys    | `ApiKeysTx`      | `api_keys.rs`    |
//! | users       | `UsersTx`        | `users.rs`       |
//! | sessions    | `SessionsTx`     | `sessions.rs`    |

mod engine;
mod filters;

mod api_keys;
mod events;
mod invitations;
mod invites;
mod mail;
mod members;
mod requests;
mod scim;
mod sessions;
mod signup;
mod spaces;
mod sponsorship;
mod transfer;
mod users;
mod webhooks;

pub use engine::{
    Arg, Bind, Column, ENGINES, Engine, Query, QueryBuilder, Sql, SqlRow, at, get, ms, opt_at,
    query, query_built, u32_of,
};

/// One transaction of engine `E`: implements every feature's part of
/// [`guestlist_store::Tx`] with the shared SQL.
pub struct SqlTx<'c, E: Engine> {
    conn: &'c mut E::Conn,
}

impl<'c, E: Engine> SqlTx<'c, E> {
    pub fn new(conn: &'c mut E::Conn) -> Self {
        SqlTx { conn }
    }

    /// The engine's connection, for statements of its own.
    pub fn conn(&mut self) -> &mut E::Conn {
        self.conn
    }
}

/// SQL text assembled once per engine and call site from constants (column lists,
/// shared clauses), kept as a `&'static str`. Values are always bound, never
/// formatted in. The first argument names the engine: texts that include an engine's
/// own column lists (`Engine::counted`) differ between engines in one process.
#[macro_export]
macro_rules! sql_once {
    ($engine:ty, $($fmt:tt)*) => {{
        static SQL: [::std::sync::OnceLock<::std::string::String>; $crate::ENGINES] =
            [const { ::std::sync::OnceLock::new() }; $crate::ENGINES];
        SQL[<$engine as $crate::Engine>::SLOT]
            .get_or_init(|| ::std::format!($($fmt)*))
            .as_str()
    }};
}

#[cfg(test)]
mod tests {
    use guestlist_store::{Error, Result};

    use super::*;

    /// An engine with its own column text, and no connection.
    struct Counting<const SLOT: usize>;

    impl<const S: usize> Engine for Counting<S> {
        type Conn = ();
        type Row = NoRow;
        const SLOT: usize = S;

        async fn execute(_: &mut (), _: Query) -> Result<u64> {
            Err(Error::internal("no database"))
        }
        async fn fetch_all(_: &mut (), _: Query) -> Result<Vec<NoRow>> {
            Err(Error::internal("no database"))
        }
        async fn fetch_optional(_: &mut (), _: Query) -> Result<Option<NoRow>> {
            Err(Error::internal("no database"))
        }
        fn counted(alias: &str, column: &str) -> String {
            format!("{alias}.{column} + {S}")
        }
    }

    struct NoRow;

    impl SqlRow for NoRow {
        fn cell(
            &self,
            column: &str,
            _: guestlist_store::transfer::Kind,
        ) -> Result<guestlist_store::transfer::Cell> {
            Err(Error::internal(format!("no column {column}")))
        }
    }

    fn text<E: Engine>() -> &'static str {
        sql_once!(
            E,
            "SELECT {} FROM spaces s",
            E::counted("s", "member_count")
        )
    }

    #[test]
    fn texts_assembled_from_an_engines_columns_are_kept_per_engine() {
        // Both engines run in one process (the tests, `guestlist import`): a text one
        // engine assembled must never be handed to the other.
        assert_eq!(
            text::<Counting<0>>(),
            "SELECT s.member_count + 0 FROM spaces s"
        );
        assert_eq!(
            text::<Counting<1>>(),
            "SELECT s.member_count + 1 FROM spaces s"
        );
        assert_eq!(
            text::<Counting<0>>(),
            "SELECT s.member_count + 0 FROM spaces s"
        );
    }

    #[test]
    fn arguments_keep_their_type_when_null() {
        assert_eq!(None::<i64>.arg(), Arg::Int(None));
        assert_eq!(None::<&str>.arg(), Arg::Text(None));
        assert_eq!(Some(3_u32).arg(), Arg::Int(Some(3)));
        let mut qb = QueryBuilder::new("SELECT ");
        qb.push_list([1_i64, 2]).push(" WHERE x = ").push_bind("a");
        let q = qb.build();
        assert_eq!(q.sql.as_str(), "SELECT $1, $2 WHERE x = $3");
        assert_eq!(q.args.len(), 3);
    }
}
