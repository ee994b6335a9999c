//! Helpers shared by Guestlist's test suites.

pub mod server;
pub mod smtp;

use guestlist_app::{Claims, Secret};
use guestlist_client::{Client, EventQuery, api};

/// The PostgreSQL server to test against (`GUESTLIST_TEST_POSTGRES_URL`), if any.
/// `scripts/test.sh` starts one and sets it.
pub fn postgres_url() -> Option<String> {
    std::env::var("GUESTLIST_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..host_end])
}

/// A new, unused database name.
pub fn database_name() -> String {
    format!("gl_test_{}", uuid::Uuid::now_v7().simple())
}

/// Creates a database named `name` on the test server; returns its URL.
pub async fn create_database(admin_url: &str, name: &str) -> String {
    let mut admin = connect_admin(admin_url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("CREATE DATABASE");
    with_database(admin_url, name)
}

/// Connects to the test server, waiting out a server that is starting or recovering
/// (SQLSTATE 57P03) for up to a minute: one crashed backend makes PostgreSQL restart
/// every connection, and the tests that start meanwhile should not all fail with it.
async fn connect_admin(admin_url: &str) -> sqlx::PgConnection {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match <sqlx::PgConnection as sqlx::Connection>::connect(admin_url).await {
            Ok(c) => return c,
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("57P03") && std::time::Instant::now() < deadline =>
            {
                eprintln!("the test PostgreSQL is not accepting connections yet: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => panic!("the test PostgreSQL is reachable: {e:?}"),
        }
    }
}

/// Creates a database of its own on the test server; returns its URL.
pub async fn fresh_database(admin_url: &str) -> String {
    create_database(admin_url, &database_name()).await
}

/// A user token as the host application would sign it, valid for an hour.
pub fn user_token(secret: &Secret, sub: &str) -> String {
    let claims = Claims {
        sub: sub.into(),
        email: Some(format!("{sub}@example.com")),
        email_verified: true,
        preferred_username: Some(sub.into()),
        exp: (time::OffsetDateTime::now_utc().unix_timestamp() + 3600) as u64,
        nbf: None,
        aud: None,
    };
    guestlist_app::mint_token(secret, &claims).expect("a token")
}

/// Fires every join at once (one task each: a client and a code); returns each
/// outcome (`joined`, `already_member`, …) or error code, in order.
pub async fn race(joins: Vec<(Client, String)>) -> Vec<String> {
    let tasks = joins.into_iter().map(|(c, code)| {
        tokio::spawn(async move {
            match c.join_invite(&code, None).await {
                Ok(r) => serde_json::to_value(r.outcome)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                Err(e) => e
                    .code()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("transport: {e}")),
            }
        })
    });
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

/// How many of `results` are `what`.
pub fn count(results: &[String], what: &str) -> usize {
    results.iter().filter(|r| *r == what).count()
}

/// `member.joined` events on exactly `space`, across every page.
pub async fn joined_events(admin: &Client, space: &str) -> usize {
    let (mut n, mut before) = (0, None);
    loop {
        let page = admin
            .list_events(&EventQuery {
                space: Some(space),
                kind: Some("member.joined"),
                before,
                limit: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        n += page
            .events
            .iter()
            .filter(|e| e.space.as_deref() == Some(space))
            .count();
        match page.next_before {
            Some(b) => before = Some(b),
            None => return n,
        }
    }
}

/// Every member of `space`, across every page.
pub async fn all_members(admin: &Client, space: &str) -> Vec<api::Member> {
    let (mut all, mut after) = (Vec::new(), None::<String>);
    loop {
        let page = admin
            .list_members(space, after.as_deref(), Some(100))
            .await
            .unwrap();
        all.extend(page.members);
        match page.next {
            Some(n) => after = Some(n),
            None => return all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5/postgres?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
    }
}
