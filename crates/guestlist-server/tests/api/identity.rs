//! Tokens from identity providers: JWKS and discovery served by the test on
//! 127.0.0.1, tokens signed by an independent JOSE implementation (PyJWT, run by the
//! test), for RS256, ES256 and EdDSA; rotation, refresh limits, algorithm confusion,
//! two issuers with their own claim mappings, an unreachable provider.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use guestlist_app::{ClaimMapping, IssuerConfig};
use guestlist_client::Client;
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, code, python};

fn jose() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/tools/jose.py")
}

/// Keys made by PyJWT's side: `kid:kind` (rsa, ec, ed); their public JWKS.
struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn make(&self, specs: &[&str]) -> Value {
        let out = Command::new(python())
            .arg(jose())
            .arg("keys")
            .arg(self.dir.path())
            .args(specs)
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Signs each request (`{kid, alg, claims, mode?, header_kid?}`).
    fn sign(&self, requests: Value) -> Vec<String> {
        let mut child = Command::new(python())
            .arg(jose())
            .arg("sign")
            .arg(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(requests.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn one(&self, kid: &str, alg: &str, claims: Value) -> String {
        self.sign(json!([{ "kid": kid, "alg": alg, "claims": claims }]))
            .remove(0)
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An identity provider: a discovery document and a JWKS the test can change, and a
/// count of JWKS requests.
#[derive(Clone)]
struct Provider {
    url: String,
    state: Arc<Mutex<(Value, usize)>>,
}

impl Provider {
    async fn start(jwks: Value) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new((jwks, 0)));
        let issuer = url.clone();
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let issuer = issuer.clone();
                    async move {
                        axum::Json(
                            json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/keys") }),
                        )
                    }
                }),
            )
            .route(
                "/keys",
                get(|State(s): State<Arc<Mutex<(Value, usize)>>>| async move {
                    let mut s = s.lock().unwrap();
                    s.1 += 1;
                    (
                        [("cache-control", "public, max-age=3600")],
                        axum::Json(s.0.clone()),
                    )
                        .into_response()
                }),
            )
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Provider { url, state }
    }

    fn publish(&self, jwks: Value) {
        self.state.lock().unwrap().0 = jwks;
    }

    fn hits(&self) -> usize {
        self.state.lock().unwrap().1
    }

    /// Trusted through discovery, with the default claims.
    fn issuer(&self, algorithms: &[&str]) -> IssuerConfig {
        IssuerConfig {
            issuer: self.url.clone(),
            jwks_url: None,
            audiences: vec!["guestlist".into()],
            algorithms: algorithms.iter().map(|a| a.to_string()).collect(),
            leeway_secs: 5,
            claims: ClaimMapping::default(),
            refresh_min_interval_secs: 60,
            key_grace_secs: 300,
            // The harness also takes the shared secret's tokens: this provider's
            // users are said to be the same people.
            user_prefix: Some(String::new()),
        }
    }
}

fn claims(iss: &str, sub: &str) -> Value {
    json!({ "iss": iss, "sub": sub, "aud": "guestlist", "exp": now() + 600, "iat": now() })
}

/// Whom the server takes the token's holder for (`check` about themselves), or the
/// refusal's code.
async fn who(t: &TestApp, token: &str) -> Result<String, String> {
    let me = Client::new(&t.url("")).with_token(token);
    match me
        .check(None, "acme/", guestlist_client::api::Permission::Read)
        .await
    {
        Ok(r) => Ok(r.user),
        Err(e) => Err(e.code().unwrap_or("?").to_owned()),
    }
}

async fn spawn_with(issuers: Vec<IssuerConfig>) -> TestApp {
    TestApp::spawn_setup(Setup {
        issuers,
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn provider_tokens_are_verified_with_the_providers_keys_for_each_algorithm() {
    let keys = Keys::new();
    let jwks = keys.make(&["r1:rsa", "e1:ec", "d1:ed"]);
    let idp = Provider::start(jwks).await;
    let t = spawn_with(vec![idp.issuer(&["RS256", "ES256", "EdDSA"])]).await;
    let iss = idp.url.as_str();

    let tokens = keys.sign(json!([
        { "kid": "r1", "alg": "RS256", "claims": claims(iss, "ann") },
        { "kid": "e1", "alg": "ES256", "claims": claims(iss, "ben") },
        { "kid": "d1", "alg": "EdDSA", "claims": claims(iss, "cat") },
    ]));
    for (token, sub) in tokens.iter().zip(["ann", "ben", "cat"]) {
        assert_eq!(who(&t, token).await, Ok(sub.to_owned()));
    }
    // The keys were fetched once (discovery, then the JWKS) and kept.
    assert_eq!(idp.hits(), 1);

    // Refused, every one of them as a missing token would be.
    let refused = |overrides: Value| {
        let mut c = claims(iss, "x");
        for (k, v) in overrides.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let bad = keys.sign(json!([
        // Another audience; expired; not valid yet; no expiry at all.
        { "kid": "r1", "alg": "RS256", "claims": refused(json!({ "aud": "someone-else" })) },
        { "kid": "r1", "alg": "RS256", "claims": refused(json!({ "exp": now() - 600 })) },
        { "kid": "r1", "alg": "RS256", "claims": refused(json!({ "nbf": now() + 600 })) },
        // An issuer nobody trusts, with a key it does publish.
        { "kid": "r1", "alg": "RS256", "claims": claims("https://evil.example/", "x") },
        // alg none, and HS256 keyed with the RSA public key (algorithm confusion).
        { "kid": "r1", "alg": "RS256", "claims": claims(iss, "x"), "mode": "none" },
        { "kid": "r1", "alg": "HS256", "claims": claims(iss, "x"), "mode": "hs_with_public" },
        // A key's `kid` on another key's signature (forged), and a kid never published.
        { "kid": "e1", "alg": "ES256", "claims": claims(iss, "x"), "header_kid": "d1" },
        { "kid": "e1", "alg": "ES256", "claims": claims(iss, "x"), "header_kid": "nope" },
        // An extension this service does not understand, marked critical (RFC 7515
        // §4.1.11: refuse).
        { "kid": "r1", "alg": "RS256", "claims": claims(iss, "x"),
          "extra_headers": { "crit": ["exp-ext"], "exp-ext": 1 } },
        // A properly signed token of 200 KB (claims padded): bounded before decoding.
        { "kid": "r1", "alg": "RS256",
          "claims": refused(json!({ "pad": "x".repeat(200 * 1024) })) },
    ]));
    let mut exp_claims = claims(iss, "x");
    exp_claims.as_object_mut().unwrap().remove("exp");
    let no_exp = keys.one("r1", "RS256", exp_claims);
    for token in bad.iter().chain([&no_exp]) {
        assert_eq!(
            who(&t, token).await,
            Err("unauthenticated".to_owned()),
            "{token}"
        );
    }
    // A signature tampered with after signing: one character in its middle changed
    // (the last ones may carry only padding bits, which decode to the same bytes).
    let good = &tokens[0];
    let (signed, signature) = good.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = signature.chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{signed}.{}", sig.into_iter().collect::<String>());
    assert_eq!(who(&t, &tampered).await, Err("unauthenticated".to_owned()));

    // Not every algorithm a provider could use is allowed: here RS256 only.
    let strict = Provider::start(keys.make(&["e2:ec"])).await;
    let t2 = spawn_with(vec![strict.issuer(&["RS256"])]).await;
    let es = keys.one("e2", "ES256", claims(&strict.url, "dan"));
    assert_eq!(who(&t2, &es).await, Err("unauthenticated".to_owned()));
    // The shared secret keeps working beside the providers.
    assert_eq!(who(&t, &t.token("hs-user")).await, Ok("hs-user".to_owned()));
}

#[tokio::test]
async fn two_issuers_map_their_own_claims_and_one_can_name_platform_admins() {
    let keys = Keys::new();
    let product = Provider::start(keys.make(&["p1:rsa"])).await;
    let tool = Provider::start(keys.make(&["t1:ed"])).await;
    let mut internal = tool.issuer(&["EdDSA"]);
    // The internal tool names users by `uid`, keeps the handle nested, and makes
    // platform administrators by a role.
    internal.jwks_url = Some(format!("{}/keys", tool.url));
    internal.audiences = vec!["guestlist-internal".into()];
    internal.claims = ClaimMapping {
        user_id: "uid".into(),
        username: "profile.handle".into(),
        admin: Some("roles".into()),
        admin_value: Some("guestlist-admin".into()),
        ..ClaimMapping::default()
    };
    // Its users are its own: `staff:` names them, apart from the product's users
    // (who share the shared secret's, `user_prefix = ""`).
    internal.user_prefix = Some("staff:".into());
    let t = spawn_with(vec![product.issuer(&["RS256"]), internal]).await;
    t.space("acme/", guestlist_client::api::JoinMode::InviteOnly, None)
        .await;

    let customer = keys.one("p1", "RS256", claims(&product.url, "cust-1"));
    assert_eq!(who(&t, &customer).await, Ok("cust-1".to_owned()));
    let staff_claims = |roles: Value| {
        json!({ "iss": tool.url, "uid": "staff-7", "sub": "ignored", "aud": "guestlist-internal",
                "exp": now() + 600, "profile": { "handle": "sam" }, "roles": roles })
    };
    let admin = keys.one(
        "t1",
        "EdDSA",
        staff_claims(json!(["support", "guestlist-admin"])),
    );
    let plain = keys.one("t1", "EdDSA", staff_claims(json!(["support"])));
    assert_eq!(who(&t, &plain).await, Ok("staff:staff-7".to_owned()));
    // The tool's user `cust-1` is not the product's `cust-1`.
    let namesake = keys.one(
        "t1",
        "EdDSA",
        json!({ "iss": tool.url, "uid": "cust-1", "aud": "guestlist-internal", "exp": now() + 600 }),
    );
    assert_eq!(who(&t, &namesake).await, Ok("staff:cust-1".to_owned()));
    // A platform administrator by the provider's claim: may list anyone's memberships
    // and create top-level spaces; the same person without the role may not.
    let admin_client = Client::new(&t.url("")).with_token(&admin);
    let plain_client = Client::new(&t.url("")).with_token(&plain);
    assert!(
        admin_client
            .user_memberships("cust-1", None, None)
            .await
            .is_ok()
    );
    assert_eq!(
        code(plain_client.user_memberships("cust-1", None, None).await),
        "forbidden"
    );
    // The audience is the issuer's own: the product's audience is refused from the tool.
    let wrong_aud = keys.one(
        "t1",
        "EdDSA",
        json!({ "iss": tool.url, "uid": "staff-7", "aud": "guestlist", "exp": now() + 600 }),
    );
    assert_eq!(who(&t, &wrong_aud).await, Err("unauthenticated".to_owned()));
    // A token of one issuer signed with the other's key is refused.
    let crossed = keys.one("t1", "EdDSA", claims(&product.url, "cust-1"));
    assert_eq!(who(&t, &crossed).await, Err("unauthenticated".to_owned()));
}

#[tokio::test]
async fn rotated_keys_are_fetched_on_an_unknown_kid_and_retired_keys_end_after_their_grace() {
    let keys = Keys::new();
    let idp = Provider::start(keys.make(&["k1:rsa"])).await;
    let mut issuer = idp.issuer(&["RS256"]);
    issuer.refresh_min_interval_secs = 0;
    issuer.key_grace_secs = 1;
    let t = spawn_with(vec![issuer]).await;
    let old = keys.one("k1", "RS256", claims(&idp.url, "ann"));
    assert_eq!(who(&t, &old).await, Ok("ann".to_owned()));
    let fetched = idp.hits();

    // The provider rotates: k2 replaces k1. A token with the new kid fetches the keys.
    idp.publish(keys.make(&["k2:rsa"]));
    let newer = keys.one("k2", "RS256", claims(&idp.url, "ann"));
    assert_eq!(who(&t, &newer).await, Ok("ann".to_owned()));
    assert_eq!(idp.hits(), fetched + 1, "an unknown kid refreshed the keys");
    // k1 is no longer published: honoured for its grace, then refused.
    assert_eq!(who(&t, &old).await, Ok("ann".to_owned()));
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(who(&t, &old).await, Err("unauthenticated".to_owned()));
    assert_eq!(who(&t, &newer).await, Ok("ann".to_owned()));
}

#[tokio::test]
async fn a_flood_of_unknown_kids_refreshes_at_most_once_per_interval() {
    let keys = Keys::new();
    let idp = Provider::start(keys.make(&["k1:rsa"])).await;
    let t = spawn_with(vec![idp.issuer(&["RS256"])]).await; // 60 s between refreshes
    let good = keys.one("k1", "RS256", claims(&idp.url, "ann"));
    assert_eq!(who(&t, &good).await, Ok("ann".to_owned()));
    let before = idp.hits();
    let requests: Vec<Value> = (0..30)
        .map(|i| json!({ "kid": "k1", "alg": "RS256", "claims": claims(&idp.url, "x"), "header_kid": format!("made-up-{i}") }))
        .collect();
    let forged = keys.sign(Value::Array(requests));
    let answers = futures::future::join_all(forged.iter().map(|tok| who(&t, tok))).await;
    assert!(
        answers
            .iter()
            .all(|a| a.as_ref().err().map(String::as_str) == Some("unauthenticated"))
    );
    assert!(
        idp.hits() - before <= 1,
        "{} fetches for 30 unknown kids",
        idp.hits() - before
    );
    assert_eq!(who(&t, &good).await, Ok("ann".to_owned()));
}

#[tokio::test]
async fn an_unreachable_provider_does_not_stop_the_others_and_readyz_says_so() {
    let keys = Keys::new();
    let up = Provider::start(keys.make(&["u1:rsa"])).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let down = IssuerConfig {
        issuer: closed.clone(),
        ..up.issuer(&["RS256"])
    };
    let t = spawn_with(vec![down, up.issuer(&["RS256"])]).await;
    let ok = keys.one("u1", "RS256", claims(&up.url, "ann"));
    assert_eq!(who(&t, &ok).await, Ok("ann".to_owned()));
    let from_down = keys.one("u1", "RS256", claims(&closed, "ann"));
    assert_eq!(who(&t, &from_down).await, Err("unauthenticated".to_owned()));
    assert_eq!(who(&t, &t.token("hs")).await, Ok("hs".to_owned()));
    // /readyz answers (the service is up) and names the provider it cannot reach.
    let mut ready = Value::Null;
    for _ in 0..50 {
        ready = reqwest::get(t.url("/readyz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready["identity_providers"][0]["last_error"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready["status"], "ready", "{ready}");
    let providers = ready["identity_providers"].as_array().unwrap();
    assert_eq!(providers[0]["issuer"], closed.as_str());
    assert_eq!(providers[0]["reachable"], false, "{ready}");
    assert!(providers[0]["last_error"].is_string(), "{ready}");
    assert_eq!(providers[1]["reachable"], true, "{ready}");
}
