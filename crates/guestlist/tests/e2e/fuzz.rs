//! Every door fuzzed against the release's own binary: random and grammar-shaped
//! input to each parser and front door (GraphQL documents and variables, SCIM filters,
//! PATCH paths and bodies, REST JSON bodies, query strings, the pages' forms and
//! codes), asserting only that the process never crashes, never answers 5xx, and never
//! takes longer than a bound to answer. Bounded by count (`GUESTLIST_FUZZ_CASES` per
//! door, 250 by default) and seeded (`GUESTLIST_FUZZ_SEED`), so a failure repeats.

use std::time::{Duration, Instant};

use guestlist_testkit::server::{self, create_api_key, write_config};
use serde_json::{Value, json};

use crate::{BIN, free_port, wait_ready};

/// The slowest answer allowed (a debug build, on a loaded two-core machine).
const BOUND: Duration = Duration::from_secs(5);

/// xorshift64*: a small seeded generator, so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// A nesting depth: mostly shallow, sometimes far past any limit.
    fn depth(&mut self) -> usize {
        match self.below(10) {
            0 => 1_000 + self.below(4_000),
            1 => 100 + self.below(900),
            2 => 60 + self.below(10),
            _ => self.below(8),
        }
    }

    /// A short string of arbitrary characters, control characters and non-ASCII
    /// ones included.
    fn text(&mut self) -> String {
        let n = self.below(24);
        (0..n)
            .map(|_| match self.below(6) {
                0 => char::from_u32(self.below(0x20) as u32).unwrap(),
                1 => char::from_u32(0x80 + self.below(0x2000) as u32).unwrap_or('é'),
                2 => self
                    .pick(&["\"", "\\", "[", "]", "{", "}", "(", ")", "%", "/", "'"])
                    .chars()
                    .next()
                    .unwrap(),
                _ => (b'a' + self.below(26) as u8) as char,
            })
            .collect()
    }

    /// A random JSON value, sometimes nested far past any limit.
    fn json(&mut self, depth: usize) -> Value {
        if depth == 0 {
            return match self.below(6) {
                0 => Value::Null,
                1 => json!(self.next() as i64),
                2 => json!(self.below(2) == 0),
                3 => json!(f64::from(self.below(1000) as u32) / 7.0),
                _ => json!(self.text()),
            };
        }
        match self.below(3) {
            0 => Value::Array(
                (0..1 + self.below(2))
                    .map(|_| self.json(depth - 1))
                    .collect(),
            ),
            _ => {
                let keys = [
                    "space", "role", "code", "max_uses", "email", "path", "url", "a", "filter",
                    "enabled",
                ];
                let mut o = serde_json::Map::new();
                for _ in 0..1 + self.below(3) {
                    o.insert(self.pick(&keys).to_owned(), self.json(depth - 1));
                }
                Value::Object(o)
            }
        }
    }

    /// A JSON body as text: a valid value, or one cut or nested deep by hand.
    fn json_text(&mut self) -> String {
        match self.below(5) {
            0 => {
                let d = self.depth();
                format!("{}1{}", "[".repeat(d), "]".repeat(d))
            }
            1 => {
                let d = self.depth();
                format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d))
            }
            2 => {
                let mut t = self.json(3).to_string();
                let cut = self.below(t.len() + 1);
                t.truncate(
                    t.char_indices()
                        .map(|(i, _)| i)
                        .take_while(|i| *i <= cut)
                        .last()
                        .unwrap_or(0),
                );
                t
            }
            _ => {
                let d = 1 + self.below(4);
                self.json(d).to_string()
            }
        }
    }

    /// Tokens of a grammar, strung together with nesting brackets.
    fn grammar(&mut self, tokens: &[&str], open: &str, close: &str) -> String {
        let d = self.depth();
        let mut out = open.repeat(d);
        for _ in 0..1 + self.below(8) {
            out.push_str(self.pick(tokens));
            out.push(' ');
        }
        if self.below(4) > 0 {
            out.push_str(&close.repeat(d));
        }
        out
    }

    fn graphql(&mut self) -> String {
        let tokens = [
            "{",
            "}",
            "[",
            "]",
            "(",
            ")",
            ":",
            "\"x\"",
            "$v",
            "inviteLinkPreview",
            "token",
            "spacePrefix",
            "spaces",
            "first",
            "1",
            "...",
            "on",
            "Space",
            "query",
            "mutation",
            "subscription",
            "#c\n",
            "\"\"\"b\"\"\"",
            "@skip(if:true)",
            "fragment",
            "f",
            "__schema",
            "types",
            "name",
            "null",
            "inviteLinks",
            "filter",
            "and",
            "or",
            "redeemInviteLink",
            "\"\\u0000\"",
        ];
        // Nesting where the grammar allows it, so the parser descends: list and object
        // values in an argument, selection sets, list types of a variable.
        let (prefix, open, close, suffix) = [
            ("{inviteLinkPreview(token:", "[", "]", "){spacePrefix}}"),
            ("{inviteLinkPreview(token:", "{a:", "}", "){spacePrefix}}"),
            ("{", "spaces{", "}", "}"),
            ("query($v:", "[", "]", "){__typename}"),
            ("", "{", "}", ""),
        ][self.below(5)];
        let d = self.depth();
        let mut out = format!("{prefix}{}", open.repeat(d));
        for _ in 0..self.below(6) {
            out.push_str(self.pick(&tokens));
            out.push(' ');
        }
        if self.below(4) > 0 {
            out.push_str(&close.repeat(d));
            out.push_str(suffix);
        }
        out
    }

    fn scim_filter(&mut self) -> String {
        let tokens = [
            "userName",
            "eq",
            "ne",
            "co",
            "sw",
            "pr",
            "gt",
            "\"a\"",
            "and",
            "or",
            "not",
            "(",
            ")",
            "emails[",
            "]",
            "type",
            "\"work\"",
            ".value",
            "true",
            "null",
            "1",
            "meta.created",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "\"\\\"",
            "[",
            "\u{0}",
        ];
        match self.below(2) {
            0 => self.grammar(&tokens, "(", ")"),
            _ => self.grammar(&tokens, "not (", ")"),
        }
    }
}

struct Door {
    http: reqwest::Client,
    url: String,
    failures: Vec<String>,
}

impl Door {
    async fn send(&mut self, what: &str, req: reqwest::RequestBuilder) {
        let started = Instant::now();
        let sent = tokio::time::timeout(BOUND * 2, req.send()).await;
        let took = started.elapsed();
        let failure = match sent {
            Err(_) => Some(format!("{what}: no answer within {:?}", BOUND * 2)),
            Ok(Err(e)) => Some(format!("{what}: the request failed ({e})")),
            Ok(Ok(res)) if res.status().is_server_error() => {
                let status = res.status();
                let body = res.text().await.unwrap_or_default();
                Some(format!("{what}: {status} {}", &body[..body.len().min(300)]))
            }
            Ok(Ok(_)) if took > BOUND => Some(format!("{what}: answered after {took:?}")),
            Ok(Ok(_)) => None,
        };
        if let Some(f) = failure {
            self.failures.push(f);
        }
    }

    fn to(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }
}

fn short(s: &str) -> String {
    let cut: String = s.chars().take(120).collect();
    format!("{cut:?}{}", if s.chars().count() > 120 { "…" } else { "" })
}

#[tokio::test]
async fn every_door_survives_random_and_hostile_input_without_5xx() {
    let cases: usize = std::env::var("GUESTLIST_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    let seed: u64 = std::env::var("GUESTLIST_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(35);
    let dir = tempfile::tempdir().unwrap();
    let secret = guestlist_app::Secret::generate();
    let db = format!("sqlite://{}", dir.path().join("g.db").display());
    let config = write_config(dir.path(), &db, &secret, "");
    let bin = std::path::Path::new(BIN);
    let key = create_api_key(bin, &config, "fuzz");
    let port = free_port();
    let mut replica = server::serve(bin, &config, port, &dir.path().join("serve.log"));
    let url = format!("http://127.0.0.1:{port}");
    wait_ready(&url, Duration::from_secs(20)).await;
    let http = reqwest::Client::builder()
        .timeout(BOUND * 3)
        .build()
        .unwrap();
    // Something for the doors to find: a space, a SCIM key bound to it, a user there.
    let made = http
        .post(format!("{url}/api/v1/spaces"))
        .bearer_auth(&key)
        .json(&json!({ "path": "acme/", "join_mode": "invite_only" }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 201);
    let out = std::process::Command::new(bin)
        .args([
            "api-key", "create", "--name", "idp", "--scim", "acme/", "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success());
    let scim_key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let user = http
        .post(format!("{url}/scim/v2/Users"))
        .bearer_auth(&scim_key)
        .header("content-type", "application/scim+json")
        .body(
            json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada" })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(user.status().as_u16(), 201);
    let scim_user: Value = user.json().await.unwrap();
    let scim_user = scim_user["id"].as_str().unwrap().to_owned();

    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut door = Door {
        http,
        url: url.clone(),
        failures: Vec::new(),
    };
    use reqwest::Method;
    for n in 0..cases {
        // GraphQL: documents, and variables, unauthenticated and signed in.
        let query = rng.graphql();
        let body = json!({ "query": query, "variables": { "v": rng.json(2) } });
        let mut req = door.to(Method::POST, "/graphql").json(&body);
        if n % 2 == 0 {
            req = req.bearer_auth(&key);
        }
        door.send(&format!("graphql #{n} {}", short(&query)), req)
            .await;
        let raw = rng.json_text();
        door.send(
            &format!("graphql body #{n} {}", short(&raw)),
            door.to(Method::POST, "/graphql")
                .header("content-type", "application/json")
                .body(raw),
        )
        .await;

        // SCIM: filters in a query and in .search, PATCH paths, bodies.
        let filter = rng.scim_filter();
        let q: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        door.send(
            &format!("scim filter #{n} {}", short(&filter)),
            door.to(Method::GET, &format!("/scim/v2/Users?filter={q}"))
                .bearer_auth(&scim_key),
        )
        .await;
        door.send(
            &format!("scim search #{n} {}", short(&filter)),
            door.to(Method::POST, "/scim/v2/Users/.search")
                .bearer_auth(&scim_key)
                .header("content-type", "application/scim+json")
                .body(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter }).to_string()),
        )
        .await;
        let path = format!("emails[{}].value", rng.scim_filter());
        door.send(
            &format!("scim patch path #{n} {}", short(&path)),
            door.to(Method::PATCH, &format!("/scim/v2/Users/{scim_user}"))
                .bearer_auth(&scim_key)
                .header("content-type", "application/scim+json")
                .body(
                    json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{ "op": rng.pick(&["add", "replace", "remove", "Replace", "x"]), "path": path, "value": rng.json(2) }],
                    })
                    .to_string(),
                ),
        )
        .await;
        let raw = rng.json_text();
        door.send(
            &format!("scim body #{n} {}", short(&raw)),
            door.to(Method::POST, "/scim/v2/Users")
                .bearer_auth(&scim_key)
                .header("content-type", "application/scim+json")
                .body(raw),
        )
        .await;

        // REST: JSON bodies to the doors that grant, and query strings.
        let (method, path) = [
            (Method::POST, "/api/v1/invites"),
            (Method::POST, "/api/v1/spaces"),
            (Method::POST, "/api/v1/invitations"),
            (Method::PUT, "/api/v1/invites/by-external-id/e1"),
            (Method::POST, "/api/v1/webhooks"),
            (Method::POST, "/api/v1/imports"),
            (Method::PUT, "/api/v1/users/ada"),
        ][rng.below(7)]
        .clone();
        let raw = rng.json_text();
        door.send(
            &format!("{method} {path} #{n} {}", short(&raw)),
            door.to(method, path)
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .body(raw),
        )
        .await;
        let text = rng.text();
        let q: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
        door.send(
            &format!("query #{n} {}", short(&text)),
            door.to(
                Method::GET,
                &format!("/api/v1/invites?space={q}&state={q}&after={q}"),
            )
            .bearer_auth(&key),
        )
        .await;

        // Pages: a code of any shape, and a form post of any shape.
        let code: String = form_urlencoded::byte_serialize(rng.text().as_bytes()).collect();
        door.send(
            &format!("page /i/{code} #{n}"),
            door.to(Method::GET, &format!("/i/{code}")),
        )
        .await;
        let form = format!("token={}&csrf={}", code, rng.below(1000));
        door.send(
            &format!("page form #{n}"),
            door.to(Method::POST, &format!("/i/{code}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form),
        )
        .await;
        if door.failures.len() > 10 {
            break;
        }
    }
    assert!(
        replica.child.try_wait().unwrap().is_none(),
        "the process exited: {}",
        std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
    );
    let alive = door
        .http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status().as_u16(), 200);
    assert!(
        door.failures.is_empty(),
        "seed {seed}, {cases} cases a door:\n{}",
        door.failures.join("\n")
    );
}
