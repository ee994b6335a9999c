use guestlist_client::api;
use serde_json::Value;

use crate::helpers::TestApp;

async fn raw(
    t: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<String>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, t.url(path));
    if let Some(tok) = token {
        req = req.bearer_auth(tok);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_owned());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}")),
    )
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not the error shape: {v}"))
}

#[tokio::test]
async fn malformed_requests_get_the_json_error_shape_and_change_nothing() {
    let t = TestApp::spawn().await;
    t.space_with_admin("acme/", "alice").await;
    let alice = Some(t.token("alice"));
    let post = reqwest::Method::POST;
    let cases = [
        ("{not json", "body"),
        (r#"{"space": 42}"#, "body"),
        (r#"{"space": "acme/", "max_uses": "ten"}"#, "body"),
        (r#"{"space": "acme/", "max_uses": 0}"#, "max_uses"),
        (
            r#"{"space": "acme/", "expires_in_seconds": -5}"#,
            "expires_in_seconds",
        ),
        (r#"{"space": "Acme"}"#, "space"),
        (r#"{"space": "acme/", "role": "Bad Role"}"#, "role"),
        // A typo is an error naming it, never an unlimited link that never expires.
        (
            r#"{"space": "acme/", "max_use": 1, "expires_in": 60}"#,
            "max_use",
        ),
    ];
    for (body, field) in cases {
        let (status, v) = raw(
            &t,
            post.clone(),
            "/api/v1/invites",
            alice.clone(),
            Some(body),
        )
        .await;
        assert_eq!((status, error_code(&v)), (400, "invalid_input"), "{body}");
        assert_eq!(v["error"]["field"], field, "{body}");
    }
    let (_, list) = raw(
        &t,
        reqwest::Method::GET,
        "/api/v1/invites",
        alice.clone(),
        None,
    )
    .await;
    assert_eq!(
        list["invites"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );

    let big = format!(
        r#"{{"space": "acme/", "description": "{}"}}"#,
        "x".repeat(70_000)
    );
    let (status, v) = raw(
        &t,
        post.clone(),
        "/api/v1/invites",
        alice.clone(),
        Some(&big),
    )
    .await;
    assert_eq!((status, error_code(&v)), (413, "payload_too_large"));
    let (status, v) = raw(
        &t,
        post.clone(),
        "/api/v1/invites",
        alice.clone(),
        Some(r#"{"space":"acme/","description":"ok\u0007"}"#),
    )
    .await;
    assert_eq!((status, error_code(&v)), (400, "invalid_input"));
}

#[tokio::test]
async fn authentication_failures_are_uniform_401s() {
    let t = TestApp::spawn().await;
    let get = reqwest::Method::GET;
    let (status, v) = raw(&t, get.clone(), "/api/v1/invites", None, None).await;
    assert_eq!((status, error_code(&v)), (401, "unauthenticated"));
    for bad in [
        "garbage",
        "gl_not_a_real_key",
        "eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
    ] {
        let (status, v) = raw(&t, get.clone(), "/api/v1/invites", Some(bad.into()), None).await;
        assert_eq!((status, error_code(&v)), (401, "unauthenticated"), "{bad}");
        assert_eq!(v["error"]["message"], "invalid or expired credentials");
    }
    // A token signed with another secret.
    let other = guestlist_app::mint_token(
        &guestlist_app::Secret::generate(),
        &guestlist_app::Claims {
            sub: "eve".into(),
            email: None,
            email_verified: false,
            preferred_username: None,
            exp: u64::MAX / 2,
            nbf: None,
            aud: None,
        },
    )
    .unwrap();
    let (status, _) = raw(&t, get.clone(), "/api/v1/invites", Some(other), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let t = TestApp::spawn().await;
    let (status, v) = raw(&t, reqwest::Method::GET, "/api/v1/nothing-here", None, None).await;
    assert_eq!((status, error_code(&v)), (404, "not_found"));
    let (status, v) = raw(&t, reqwest::Method::PUT, "/api/v1/invites", None, None).await;
    assert_eq!((status, error_code(&v)), (405, "method_not_allowed"));
    let (status, v) = raw(
        &t,
        reqwest::Method::GET,
        "/api/v1/spaces/%2F%2F",
        Some(t.token("a")),
        None,
    )
    .await;
    assert_eq!((status, error_code(&v)), (400, "invalid_input"));
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let t = TestApp::spawn().await;
    let (status, v) = raw(&t, reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("ok")));
    let (status, v) = raw(&t, reqwest::Method::GET, "/readyz", None, None).await;
    let engine = if crate::helpers::postgres_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!((status, v["engine"].as_str()), (200, Some(engine)));
    let res = reqwest::get(t.url("/healthz")).await.unwrap();
    assert!(
        res.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
    // Answers and errors alike say what they are.
    let missing = reqwest::get(t.url("/api/v1/no-such-route")).await.unwrap();
    for res in [&res, &missing] {
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{}",
            res.url()
        );
    }
    // A write, so that the engine's writer has something to report.
    t.space("metrics/", api::JoinMode::Open, None).await;
    let metrics = reqwest::get(t.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("guestlist_http_requests_total"),
        "{metrics}"
    );
    if engine == "sqlite" {
        for name in [
            "guestlist_sqlite_write_batch_size_count",
            "guestlist_sqlite_write_batch_seconds_sum",
            "guestlist_sqlite_commit_seconds_count",
        ] {
            assert!(metrics.contains(name), "{name} missing from {metrics}");
        }
    }
}

#[tokio::test]
async fn the_committed_openapi_document_is_current() {
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let generated = guestlist_server::openapi_json();
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is stale: run `cargo run -p guestlist -- openapi > openapi.json`"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/invites/{code}/join"]["post"].is_object());
    // OpenAPI forbids two templates that differ only in their parameters' names.
    let mut shapes = std::collections::HashSet::new();
    for path in doc["paths"].as_object().unwrap().keys() {
        let shape: Vec<&str> = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
            .collect();
        assert!(
            shapes.insert(shape.join("/")),
            "{path} repeats another path's template"
        );
    }
    let served: Value = reqwest::get(TestApp::spawn().await.url("/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, doc);
}

#[tokio::test]
async fn unknown_query_parameters_and_body_fields_are_refused_by_name() {
    let t = TestApp::spawn().await;
    t.space_with_admin("acme/", "alice").await;
    let alice = Some(t.token("alice"));
    let key = Some(t.platform_key().to_owned());
    for (path, token, field) in [
        ("/api/v1/events?since_seq=3", key.clone(), "since_seq"),
        ("/api/v1/invitations?username=x", alice.clone(), "username"),
        (
            "/api/v1/invites?space=acme%2F&limt=5",
            alice.clone(),
            "limt",
        ),
    ] {
        let (status, v) = raw(&t, reqwest::Method::GET, path, token, None).await;
        assert_eq!(
            (status, error_code(&v)),
            (400, "invalid_input"),
            "{path}: {v}"
        );
        assert_eq!(v["error"]["field"], field, "{path}");
    }
    // Known parameters still work.
    let (status, _) = raw(
        &t,
        reqwest::Method::GET,
        "/api/v1/events?limit=5",
        key.clone(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // A body field nobody reads: refused, and the space keeps its settings.
    let (status, v) = raw(
        &t,
        reqwest::Method::PATCH,
        "/api/v1/spaces/acme%2F",
        key.clone(),
        Some(r#"{"member_limt": 3}"#),
    )
    .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("member_limt")),
        "{v}"
    );
    let (_, space) = raw(
        &t,
        reqwest::Method::GET,
        "/api/v1/spaces/acme%2F",
        key,
        None,
    )
    .await;
    assert!(space["member_limit"].is_null(), "{space}");
}

/// What the OpenAPI document calls valid the server accepts, and what it calls
/// invalid the server refuses (Schemathesis checks the same from outside in
/// scripts/contract.sh; these are the cases it found, pinned).
#[tokio::test]
async fn the_server_reads_input_as_the_document_describes_it() {
    let t = TestApp::spawn().await;
    t.space_with_admin("acme/", "alice").await;
    let key = Some(t.platform_key().to_owned());
    let bob = Some(t.token("bob"));
    let (get, post, put) = (
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PUT,
    );

    // A route that declares no query parameter refuses any.
    for (path, token) in [
        ("/api/v1/signup/config?x=1", None),
        ("/api/v1/me/pending?x=1", bob.clone()),
    ] {
        let (status, v) = raw(&t, get.clone(), path, token, None).await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (400, Some("x")),
            "{path}: {v}"
        );
    }
    // Names are read decoded, as the handlers read them: `sp%61ce` is `space`.
    let (status, v) = raw(
        &t,
        get.clone(),
        "/api/v1/invites?sp%61ce=acme%2F",
        key.clone(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // A cursor is exactly what the service issued; a space in a URL is bounded.
    let (status, v) = raw(
        &t,
        get.clone(),
        "/api/v1/invites?after=ABC.1",
        key.clone(),
        None,
    )
    .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("after")),
        "{v}"
    );
    let long = format!("/api/v1/spaces/{}", "a".repeat(256));
    let (status, v) = raw(&t, get.clone(), &long, key.clone(), None).await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("space")),
        "{v}"
    );

    // A body is an object: serde would read an array field by field.
    let (status, v) = raw(
        &t,
        post.clone(),
        "/api/v1/signup/invitations",
        key.clone(),
        Some("[null, null]"),
    )
    .await;
    assert_eq!((status, error_code(&v)), (400, "invalid_input"), "{v}");
    let (_, list) = raw(
        &t,
        get.clone(),
        "/api/v1/signup/invitations",
        key.clone(),
        None,
    )
    .await;
    assert_eq!(list["invitations"].as_array().unwrap().len(), 0, "{list}");

    // Numbers read as JSON Schema reads them: 5.0 is the integer 5, 5.5 is not one.
    let (status, v) = raw(
        &t,
        post.clone(),
        "/api/v1/invites",
        key.clone(),
        Some(r#"{"space": "acme/", "max_uses": 5.0}"#),
    )
    .await;
    assert_eq!(
        (status, v["invite"]["max_uses"].as_u64()),
        (201, Some(5)),
        "{v}"
    );
    let (status, v) = raw(
        &t,
        post.clone(),
        "/api/v1/invites",
        key.clone(),
        Some(r#"{"space": "acme/", "max_uses": 5.5}"#),
    )
    .await;
    assert_eq!((status, error_code(&v)), (400, "invalid_input"), "{v}");

    // An optional body may be `null`.
    let (status, v) = raw(
        &t,
        put.clone(),
        "/api/v1/spaces/acme%2F/members/carol",
        key.clone(),
        Some(r#"{"role": "member"}"#),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = raw(
        &t,
        post.clone(),
        "/api/v1/spaces",
        key.clone(),
        Some(r#"{"path": "acme/eng/", "join_mode": "request"}"#),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = raw(
        &t,
        post.clone(),
        "/api/v1/spaces/acme%2Feng%2F/join-requests",
        bob.clone(),
        Some("null"),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {v}");

    // The same Idempotency-Key with another body: 422, as the IETF draft has it.
    for (email, expected) in [("ada@example.com", 201), ("bea@example.com", 422)] {
        let res = reqwest::Client::new()
            .post(t.url("/api/v1/invitations"))
            .bearer_auth(t.platform_key())
            .header("Idempotency-Key", "one")
            .json(&serde_json::json!({"space": "acme/", "email": email}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), expected, "{email}");
    }

    // A malformed key is refused on a dry run too, though a dry run records none.
    let res = reqwest::Client::new()
        .post(t.url("/api/v1/invitations/bulk"))
        .bearer_auth(t.platform_key())
        .header("Idempotency-Key", "two words")
        .json(&serde_json::json!({"space": "acme/", "dry_run": true, "rows": [{"email": "x@example.com"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);

    // A built-in role's name is taken: a conflict, not bad input.
    let (status, v) = raw(
        &t,
        post.clone(),
        "/api/v1/spaces/acme%2F/roles",
        key.clone(),
        Some(r#"{"name": "admin", "permissions": ["read"]}"#),
    )
    .await;
    assert_eq!((status, error_code(&v)), (409, "already_exists"), "{v}");

    // Referrals and the invite tree default to the caller, a key as well as a user.
    let (status, v) = raw(&t, get.clone(), "/api/v1/referrals", key.clone(), None).await;
    assert_eq!(
        (status, v["inviter"].as_str()),
        (200, Some("key:test-platform")),
        "{v}"
    );
    let (status, v) = raw(&t, get.clone(), "/api/v1/referrals/tree", key.clone(), None).await;
    assert_eq!(
        (status, v["root"].as_str()),
        (200, Some("key:test-platform")),
        "{v}"
    );
}

#[tokio::test]
async fn a_list_of_objects_takes_objects_not_arrays_of_their_fields() {
    // Schemathesis found it: serde reads a struct from an array too, so a bulk row
    // `[null, null]` was a row (refused later, per row, with 200).
    let t = TestApp::spawn().await;
    t.space_with_admin("acme/", "alice").await;
    let key = Some(t.platform_key().to_owned());
    let post = reqwest::Method::POST;
    for (path, body, field) in [
        (
            "/api/v1/invitations/bulk",
            r#"{"space":"acme/","dry_run":true,"rows":[[null,null]]}"#,
            "rows",
        ),
        (
            "/api/v1/check",
            r#"{"checks":[["alice","acme/","read"]]}"#,
            "checks",
        ),
        // Also found by Schemathesis: the request's own role, malformed, was
        // reported on every row with 200.
        (
            "/api/v1/invitations/bulk",
            r#"{"space":"acme/","dry_run":true,"role":"AAA","rows":[{"email":"d@example.com"}]}"#,
            "role",
        ),
    ] {
        let (status, v) = raw(&t, post.clone(), path, key.clone(), Some(body)).await;
        assert_eq!(
            (status, error_code(&v), v["error"]["field"].as_str()),
            (400, "invalid_input", Some(field)),
            "{path}: {v}"
        );
    }
}
