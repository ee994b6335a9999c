//! The seed's invite-link list (seed 000), over GraphQL.

use serde_json::{Value, json};

use crate::helpers::TestApp;

const CREATE: &str = "mutation($p: String!, $role: String, $max: Int, $narrow: Boolean, $exp: String) {
  createInviteLink(spacePrefix: $p, role: $role, maxUses: $max, allowNarrowing: $narrow, expiresAt: $exp) {
    token link inviteLink { id spacePrefix role state maxUses uses usesLeft allowNarrowing createdBy }
  }
}";
const REDEEM: &str = "mutation($t: String!, $p: String) {
  redeemInviteLink(token: $t, requestedPrefix: $p) { outcome spacePrefix role grant { userId space role source inviteId } }
}";
const DELETE: &str = "mutation($t: String!) { deleteInviteLink(token: $t) { id state revokedAt } }";
const LIST: &str = "query($f: InviteLinksFilter, $first: Int, $after: String) {
  inviteLinks(filter: $f, first: $first, after: $after) {
    edges { cursor node { id spacePrefix state uses } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}";

fn code(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {v}"))
}

/// Replaces values that differ from run to run, so a body can be snapshotted.
fn stable(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, x) in map.iter_mut() {
                    match k.as_str() {
                        "id" | "inviteId" if x.is_string() => *x = json!("[id]"),
                        "token" => *x = json!("[token]"),
                        "link" => *x = json!("[link]"),
                        "cursor" | "endCursor" | "startCursor" if x.is_string() => {
                            *x = json!("[cursor]")
                        }
                        k if k.ends_with("At") && x.is_string() => *x = json!("[time]"),
                        _ => walk(x),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

async fn setup() -> (TestApp, String) {
    let t = TestApp::spawn().await;
    t.space_with_admin("acme/", "alice").await;
    let alice = t.token("alice");
    let r = t
        .graphql(
            Some(&alice),
            "mutation { createSpace(path: \"acme/eng/\") { path } }",
            json!({}),
        )
        .await;
    assert_eq!(r["data"]["createSpace"]["path"], "acme/eng/", "{r}");
    (t, alice)
}

#[tokio::test]
async fn create_and_redeem_an_invite_link() {
    let (t, alice) = setup().await;
    let created = t
        .graphql(Some(&alice), CREATE, json!({ "p": "acme/", "max": 3 }))
        .await;
    insta::assert_json_snapshot!("create_invite_link", stable(created.clone()));
    let token = created["data"]["createInviteLink"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 10);

    let redeemed = t
        .graphql(Some(&t.token("bob")), REDEEM, json!({ "t": token }))
        .await;
    insta::assert_json_snapshot!("redeem_invite_link", stable(redeemed.clone()));
    let again = t
        .graphql(Some(&t.token("bob")), REDEEM, json!({ "t": token }))
        .await;
    assert_eq!(
        again["data"]["redeemInviteLink"]["outcome"],
        "ALREADY_MEMBER"
    );
    let preview = t
        .graphql(None, "query($t: String!) { inviteLinkPreview(token: $t) { spacePrefix memberCount usesLeft } }", json!({ "t": token }))
        .await;
    assert_eq!(
        preview["data"]["inviteLinkPreview"],
        json!({ "spacePrefix": "acme/", "memberCount": 2, "usesLeft": 2 })
    );
}

#[tokio::test]
async fn redeeming_into_a_requested_sub_prefix() {
    let (t, alice) = setup().await;
    let created = t
        .graphql(
            Some(&alice),
            CREATE,
            json!({ "p": "acme/", "narrow": true }),
        )
        .await;
    let token = created["data"]["createInviteLink"]["token"]
        .as_str()
        .unwrap();
    let r = t
        .graphql(
            Some(&t.token("bob")),
            REDEEM,
            json!({ "t": token, "p": "acme/eng/" }),
        )
        .await;
    assert_eq!(
        r["data"]["redeemInviteLink"]["spacePrefix"], "acme/eng/",
        "{r}"
    );
    assert_eq!(r["data"]["redeemInviteLink"]["grant"]["space"], "acme/eng/");
}

#[tokio::test]
async fn an_out_of_scope_prefix_is_refused() {
    let (t, alice) = setup().await;
    t.space(
        "acmecorp/",
        guestlist_client::api::JoinMode::InviteOnly,
        None,
    )
    .await;
    let created = t
        .graphql(
            Some(&alice),
            CREATE,
            json!({ "p": "acme/eng/", "narrow": true }),
        )
        .await;
    let token = created["data"]["createInviteLink"]["token"]
        .as_str()
        .unwrap();
    for p in ["acmecorp/", "acme/"] {
        let r = t
            .graphql(Some(&t.token("bob")), REDEEM, json!({ "t": token, "p": p }))
            .await;
        assert_eq!(code(&r), "out_of_scope", "{p}: {r}");
    }
    let r = t
        .graphql(
            Some(&t.token("bob")),
            REDEEM,
            json!({ "t": token, "p": "acme/../" }),
        )
        .await;
    assert_eq!(code(&r), "invalid_input");
    assert_eq!(r["errors"][0]["extensions"]["field"], "spacePrefix");
}

/// A refused argument is named as GraphQL names it, not as REST does.
#[tokio::test]
async fn refusals_name_the_graphql_argument() {
    let (t, alice) = setup().await;
    let too_late = (time::OffsetDateTime::now_utc() + time::Duration::days(400))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for (vars, field) in [
        (json!({ "p": "acme/", "exp": too_late }), "expiresAt"),
        (json!({ "p": "acme/", "max": 0 }), "maxUses"),
        (json!({ "p": "acme/", "role": "Bad Role" }), "role"),
    ] {
        let r = t.graphql(Some(&alice), CREATE, vars.clone()).await;
        assert_eq!(code(&r), "invalid_input", "{vars}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], field, "{vars}: {r}");
        let message = r["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}: ")), "{message}");
    }
}

#[tokio::test]
async fn creating_without_the_right_is_refused() {
    let (t, alice) = setup().await;
    let created = t
        .graphql(Some(&alice), CREATE, json!({ "p": "acme/" }))
        .await;
    let token = created["data"]["createInviteLink"]["token"]
        .as_str()
        .unwrap();
    t.graphql(Some(&t.token("bob")), REDEEM, json!({ "t": token }))
        .await;
    // A member without manage_invites.
    let r = t
        .graphql(Some(&t.token("bob")), CREATE, json!({ "p": "acme/" }))
        .await;
    assert_eq!(code(&r), "forbidden");
    // An outsider learns nothing.
    assert_eq!(
        code(
            &t.graphql(Some(&t.token("eve")), CREATE, json!({ "p": "acme/" }))
                .await
        ),
        "not_found"
    );
    // Nobody at all.
    let r = t.graphql(None, CREATE, json!({ "p": "acme/" })).await;
    insta::assert_json_snapshot!("create_unauthenticated", stable(r));
}

#[tokio::test]
async fn invalid_exhausted_and_deleted_tokens() {
    let (t, alice) = setup().await;
    let bob = t.token("bob");
    let r = t
        .graphql(Some(&bob), REDEEM, json!({ "t": "NoSuchToken" }))
        .await;
    insta::assert_json_snapshot!("redeem_invalid_token", stable(r.clone()));

    let created = t
        .graphql(Some(&alice), CREATE, json!({ "p": "acme/", "max": 1 }))
        .await;
    let token = created["data"]["createInviteLink"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    t.graphql(Some(&bob), REDEEM, json!({ "t": token })).await;
    let r = t
        .graphql(Some(&t.token("carol")), REDEEM, json!({ "t": token }))
        .await;
    assert_eq!(code(&r), "exhausted");

    let created = t
        .graphql(Some(&alice), CREATE, json!({ "p": "acme/" }))
        .await;
    let token = created["data"]["createInviteLink"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Only managers may delete; others cannot tell the token exists.
    assert_eq!(
        code(&t.graphql(Some(&bob), DELETE, json!({ "t": token })).await),
        "not_found"
    );
    let deleted = t.graphql(Some(&alice), DELETE, json!({ "t": token })).await;
    assert_eq!(
        deleted["data"]["deleteInviteLink"]["state"], "REVOKED",
        "{deleted}"
    );
    let r = t
        .graphql(Some(&t.token("dave")), REDEEM, json!({ "t": token }))
        .await;
    assert_eq!(
        r["errors"],
        t.graphql(
            Some(&t.token("dave")),
            REDEEM,
            json!({ "t": "NoSuchToken" })
        )
        .await["errors"]
    );
}

#[tokio::test]
async fn listing_filters_and_pages_and_shows_others_nothing() {
    let (t, alice) = setup().await;
    let mut ids = Vec::new();
    for (p, max) in [
        ("acme/", Some(1)),
        ("acme/eng/", None),
        ("acme/eng/", None),
        ("acme/", None),
        ("acme/", None),
    ] {
        let c = t
            .graphql(Some(&alice), CREATE, json!({ "p": p, "max": max }))
            .await;
        ids.push(
            c["data"]["createInviteLink"]["inviteLink"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Exhaust the first, revoke the last.
    let first_token = t
        .graphql(
            Some(&alice),
            "mutation($id: String!) { showInviteLink(id: $id) { token } }",
            json!({ "id": ids[0] }),
        )
        .await;
    let first_token = first_token["data"]["showInviteLink"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    t.graphql(Some(&t.token("bob")), REDEEM, json!({ "t": first_token }))
        .await;
    t.graphql(Some(&alice), DELETE, json!({ "t": ids[4] }))
        .await;

    let list = |f: Value, first: Option<i64>, after: Option<String>| {
        let t = &t;
        let alice = alice.clone();
        async move {
            t.graphql(
                Some(&alice),
                LIST,
                json!({ "f": f, "first": first, "after": after }),
            )
            .await
        }
    };
    let node_ids = |v: &Value| -> Vec<String> {
        v["data"]["inviteLinks"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = list(json!(null), None, None).await;
    assert_eq!(
        node_ids(&all),
        ids.iter().rev().cloned().collect::<Vec<_>>(),
        "newest first"
    );
    assert_eq!(
        node_ids(
            &list(
                json!({ "space": { "startsWith": "acme/eng/" } }),
                None,
                None
            )
            .await
        ),
        vec![ids[2].clone(), ids[1].clone()]
    );
    assert_eq!(
        node_ids(&list(json!({ "space": { "in": ["acme/"] } }), None, None).await).len(),
        3
    );
    assert_eq!(
        node_ids(&list(json!({ "state": { "eq": "EXHAUSTED" } }), None, None).await),
        vec![ids[0].clone()]
    );
    assert_eq!(
        node_ids(
            &list(
                json!({ "state": { "in": ["EXHAUSTED", "REVOKED"] } }),
                None,
                None
            )
            .await
        ),
        vec![ids[4].clone(), ids[0].clone()]
    );
    assert_eq!(
        node_ids(&list(json!({ "revoked": { "eq": true } }), None, None).await),
        vec![ids[4].clone()]
    );
    assert_eq!(
        node_ids(
            &list(
                json!({ "revoked": { "eq": false }, "space": { "in": ["acme/"] } }),
                None,
                None
            )
            .await
        )
        .len(),
        2
    );
    assert_eq!(
        node_ids(
            &list(
                json!({ "state": { "eq": "ACTIVE", "in": ["REVOKED"] } }),
                None,
                None
            )
            .await
        )
        .len(),
        0
    );
    assert_eq!(
        node_ids(&list(json!({ "createdBy": { "eq": "alice" } }), None, None).await).len(),
        5
    );

    // Pages of two.
    let p1 = list(json!(null), Some(2), None).await;
    assert_eq!(p1["data"]["inviteLinks"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        p1["data"]["inviteLinks"]["pageInfo"]["hasPreviousPage"],
        false
    );
    let cursor = p1["data"]["inviteLinks"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let p2 = list(json!(null), Some(2), Some(cursor)).await;
    assert_eq!(
        p2["data"]["inviteLinks"]["pageInfo"]["hasPreviousPage"],
        true
    );
    let cursor = p2["data"]["inviteLinks"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let p3 = list(json!(null), Some(2), Some(cursor)).await;
    assert_eq!(p3["data"]["inviteLinks"]["pageInfo"]["hasNextPage"], false);
    let paged: Vec<String> = [p1, p2, p3].iter().flat_map(node_ids).collect();
    assert_eq!(paged, node_ids(&all));
    assert_eq!(
        code(&list(json!(null), Some(1000), None).await),
        "invalid_input"
    );

    // Another user sees nothing, whatever the filter.
    let eve = t.token("eve");
    for f in [
        json!(null),
        json!({ "space": { "startsWith": "acme/" } }),
        json!({ "createdBy": { "eq": "alice" } }),
    ] {
        let v = t.graphql(Some(&eve), LIST, json!({ "f": f })).await;
        assert_eq!(v["data"]["inviteLinks"]["edges"], json!([]), "{v}");
    }
    insta::assert_json_snapshot!(
        "invite_links_page",
        stable(
            list(
                json!({ "space": { "startsWith": "acme/eng/" } }),
                Some(1),
                None
            )
            .await
        )
    );
}

#[tokio::test]
async fn malformed_deep_and_anonymous_queries_get_coded_errors() {
    let (t, alice) = setup().await;
    let r = t
        .graphql(Some(&alice), "query { inviteLinks(", json!({}))
        .await;
    assert_eq!(code(&r), "invalid_input");
    let r = t
        .graphql(Some(&alice), "query { noSuchField }", json!({}))
        .await;
    assert_eq!(code(&r), "invalid_input");
    let r = t
        .graphql(Some(&alice), CREATE, json!({ "p": "acme/", "max": -1 }))
        .await;
    assert_eq!(code(&r), "invalid_input");
    let r = t.graphql(None, LIST, json!({})).await;
    assert_eq!(code(&r), "unauthenticated");
    // Depth: nested introspection far past the limit.
    let deep = format!(
        "query {{ __schema {{ types {{ {} name {} }} }} }}",
        "fields { type { ofType { ofType { ".repeat(6),
        "} } } }".repeat(6)
    );
    let r = t.graphql(Some(&alice), &deep, json!({})).await;
    assert_eq!(code(&r), "invalid_input", "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("nested"),
        "{r}"
    );
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_in_dev_mode_only() {
    let dev = TestApp::spawn_full(
        crate::helpers::relaxed_limits(),
        guestlist_server::ServerOptions {
            graphiql: true,
            ..Default::default()
        },
    )
    .await;
    let page = reqwest::get(dev.url("/graphql"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/graphiql/graphiql.min.js"));
    let external: Vec<&str> = page
        .match_indices("http")
        .map(|(i, _)| &page[i..(i + 30).min(page.len())])
        .collect();
    assert!(
        external.is_empty(),
        "the page loads nothing from elsewhere: {external:?}"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        let res = reqwest::get(dev.url(&format!("/graphiql/{asset}")))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{asset}");
        assert!(res.bytes().await.unwrap().len() > 1000);
    }
    let prod = TestApp::spawn().await;
    assert_eq!(
        reqwest::get(prod.url("/graphql"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        405
    );
    assert_eq!(
        reqwest::get(prod.url("/graphiql/graphiql.min.js"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    // Introspection answers unless turned off.
    let r = prod
        .graphql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(r["data"]["__schema"]["queryType"]["name"], "Query");
}

/// The introspection query GraphiQL sends (graphql-js `getIntrospectionQuery`).
const INTROSPECTION: &str = "query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}";

#[tokio::test]
async fn the_standard_introspection_query_is_answered() {
    let t = TestApp::spawn().await;
    let r = t.graphql(None, INTROSPECTION, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");
    let types = r["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "InviteLinksFilter"));
}

#[tokio::test]
async fn the_committed_graphql_schema_is_current() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql"))
            .unwrap_or_default();
    assert!(
        committed == guestlist_server::graphql_sdl(),
        "schema.graphql is stale: run `cargo run -p guestlist -- schema graphql > schema.graphql`"
    );
}

#[tokio::test]
async fn invitations_over_graphql_follow_the_same_rules() {
    let (t, alice) = setup().await;
    let create = "mutation($p: String!, $e: String, $k: String) {
      createInvitation(spacePrefix: $p, email: $e, idempotencyKey: $k) {
        outcome invitation { id spacePrefix role email status sends delivery { state } } grant { userId }
      }
    }";
    let vars = json!({ "p": "acme/eng/", "e": " Ada@Example.com", "k": "k1" });
    let first = t.graphql(Some(&alice), create, vars.clone()).await;
    assert_eq!(
        first["data"]["createInvitation"]["outcome"], "INVITED",
        "{first}"
    );
    let inv = &first["data"]["createInvitation"]["invitation"];
    assert_eq!(
        (inv["email"].as_str(), inv["status"].as_str()),
        (Some("ada@example.com"), Some("PENDING"))
    );
    let retry = t.graphql(Some(&alice), create, vars).await;
    assert_eq!(
        retry["data"]["createInvitation"]["outcome"], "INVITED",
        "the key replays the first answer"
    );
    let again = t
        .graphql(
            Some(&alice),
            create,
            json!({ "p": "acme/eng/", "e": "ada@example.com" }),
        )
        .await;
    assert_eq!(
        again["data"]["createInvitation"]["outcome"],
        "ALREADY_INVITED"
    );
    let outsider = t
        .graphql(
            Some(&t.token("mallory")),
            create,
            json!({ "p": "acme/", "e": "x@example.com" }),
        )
        .await;
    assert_eq!(code(&outsider), "not_found");

    let list = t
        .graphql(
            Some(&alice),
            "query { invitations(filter: { space: { startsWith: \"acme/\" }, status: { eq: PENDING } }) {
               edges { node { email status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["data"]["invitations"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{list}"
    );

    let mail = t
        .smtp
        .wait_for(1, std::time::Duration::from_secs(10))
        .await
        .remove(0);
    let token = mail.find_after("token=", 32).unwrap();
    let accept = "mutation($t: String!) { acceptInvitation(token: $t) { outcome invitation { status } grant { userId source } } }";
    let eve = t.token("eve");
    let wrong = t.graphql(Some(&eve), accept, json!({ "t": token })).await;
    assert_eq!(code(&wrong), "email_mismatch");
    let ada = t.token("ada");
    let mine = t
        .graphql(
            Some(&ada),
            "query { myInvitations { edges { node { spacePrefix } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["myInvitations"]["edges"][0]["node"]["spacePrefix"], "acme/eng/",
        "{mine}"
    );
    let ok = t.graphql(Some(&ada), accept, json!({ "t": token })).await;
    assert_eq!(ok["data"]["acceptInvitation"]["outcome"], "JOINED", "{ok}");
    assert_eq!(
        ok["data"]["acceptInvitation"]["grant"]["source"],
        "invitation"
    );
    assert_eq!(
        ok["data"]["acceptInvitation"]["invitation"]["status"],
        "ACCEPTED"
    );
}

#[tokio::test]
async fn the_gate_join_requests_and_rosters_over_graphql() {
    let t = TestApp::spawn().await;
    let cfg = t
        .graphql(None, "{ signupConfig { mode cap remaining } }", json!({}))
        .await;
    assert_eq!(
        cfg["data"]["signupConfig"],
        json!({ "mode": "open", "cap": null, "remaining": null })
    );
    t.space("club/", guestlist_client::api::JoinMode::Request, None)
        .await;
    t.platform()
        .provision_member("club/", "root", "admin")
        .await
        .unwrap();
    let (root, bob) = (t.token("root"), t.token("bob"));
    let ask = "mutation($p: String!) { askToJoin(spacePrefix: $p, message: \"hi\") { outcome joinRequest { id status } } }";
    let asked = t.graphql(Some(&bob), ask, json!({ "p": "club/" })).await;
    assert_eq!(
        asked["data"]["askToJoin"]["outcome"], "REQUESTED",
        "{asked}"
    );
    let id = asked["data"]["askToJoin"]["joinRequest"]["id"].clone();
    let mine = t
        .graphql(
            Some(&bob),
            "{ myPending { joinRequests { id } grants { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["data"]["myPending"]["joinRequests"][0]["id"], id);
    let list = "query($p: String!) { joinRequests(spacePrefix: $p, status: \"pending\") { edges { node { userId message } } } }";
    assert_eq!(
        code(&t.graphql(Some(&bob), list, json!({ "p": "club/" })).await),
        "not_found"
    );
    let listed = t.graphql(Some(&root), list, json!({ "p": "club/" })).await;
    assert_eq!(
        listed["data"]["joinRequests"]["edges"][0]["node"],
        json!({ "userId": "bob", "message": "hi" })
    );
    let decide =
        "mutation($id: ID!) { decideJoinRequest(id: $id, approve: true) { status decidedBy } }";
    let d = t.graphql(Some(&root), decide, json!({ "id": id })).await;
    assert_eq!(
        d["data"]["decideJoinRequest"],
        json!({ "status": "approved", "decidedBy": "root" })
    );
    let add = "mutation($p: String!, $u: String) { addMember(spacePrefix: $p, userId: $u) { outcome grant { id status } } }";
    let added = t
        .graphql(Some(&root), add, json!({ "p": "club/", "u": "carol" }))
        .await;
    assert_eq!(added["data"]["addMember"]["outcome"], "PENDING", "{added}");
    let gid = added["data"]["addMember"]["grant"]["id"].clone();
    let answer = "mutation($id: ID!) { answerMembership(id: $id, accept: true) { status source } }";
    let ok = t
        .graphql(Some(&t.token("carol")), answer, json!({ "id": gid }))
        .await;
    assert_eq!(
        ok["data"]["answerMembership"],
        json!({ "status": "active", "source": "owner_add" })
    );
    let invite = "mutation { createPlatformInvitation(maxUses: 2) { token invitation { maxUses state invitedBy } } }";
    assert_eq!(
        code(&t.graphql(Some(&bob), invite, json!({})).await),
        "forbidden"
    );
}

const PAGE: &str =
    "query($f: InviteLinksFilter, $first: Int, $after: String, $last: Int, $before: String) {
  inviteLinks(filter: $f, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

/// Relay connections both ways (`first`/`after`, `last`/`before`), `totalCount`, and
/// the nested filter with `and`, `or` and `not`, which still only narrows what the
/// caller may see.
#[tokio::test]
async fn invite_links_page_both_ways_count_and_nest_their_filters() {
    let (t, alice) = setup().await;
    let bob = t.token("bob");
    t.platform()
        .provision_member("acme/eng/", "bob", "admin")
        .await
        .unwrap();
    // Seven links, newest last: alice's on acme/ and acme/eng/, bob's on acme/eng/.
    let mut ids = Vec::new();
    for (who, p) in [
        (&alice, "acme/"),
        (&bob, "acme/eng/"),
        (&alice, "acme/eng/"),
        (&alice, "acme/"),
        (&bob, "acme/eng/"),
        (&alice, "acme/"),
        (&alice, "acme/eng/"),
    ] {
        let c = t.graphql(Some(who), CREATE, json!({ "p": p })).await;
        ids.push(
            c["data"]["createInviteLink"]["inviteLink"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Revoke two: ids[1] (bob's) and ids[3] (alice's).
    for id in [&ids[1], &ids[3]] {
        let r = t.graphql(Some(&alice), DELETE, json!({ "t": id })).await;
        assert!(r["errors"].is_null(), "{r}");
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let page = |who: &str, vars: Value| {
        let t = &t;
        let who = who.to_owned();
        async move { t.graphql(Some(&who), PAGE, vars).await }
    };
    let node_ids = |v: &Value| -> Vec<String> {
        v["data"]["inviteLinks"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // Forward in threes, then back from the second page to the first.
    let p1 = page(&alice, json!({ "first": 3 })).await;
    assert_eq!(node_ids(&p1), newest_first[0..3]);
    assert_eq!(p1["data"]["inviteLinks"]["totalCount"], 7, "{p1}");
    assert_eq!(
        p1["data"]["inviteLinks"]["pageInfo"]["hasPreviousPage"],
        false
    );
    let end = p1["data"]["inviteLinks"]["pageInfo"]["endCursor"].clone();
    let p2 = page(&alice, json!({ "first": 3, "after": end })).await;
    assert_eq!(node_ids(&p2), newest_first[3..6]);
    let start = p2["data"]["inviteLinks"]["pageInfo"]["startCursor"].clone();
    let back = page(&alice, json!({ "last": 3, "before": start })).await;
    assert_eq!(
        node_ids(&back),
        newest_first[0..3],
        "last/before returns the page before"
    );
    assert_eq!(
        back["data"]["inviteLinks"]["pageInfo"]["hasPreviousPage"],
        false
    );
    assert_eq!(back["data"]["inviteLinks"]["pageInfo"]["hasNextPage"], true);
    let back2 = page(&alice, json!({ "last": 2, "before": start })).await;
    assert_eq!(node_ids(&back2), newest_first[1..3]);
    assert_eq!(
        back2["data"]["inviteLinks"]["pageInfo"]["hasPreviousPage"],
        true
    );
    let both = page(&alice, json!({ "first": 2, "last": 2 })).await;
    assert_eq!(code(&both), "invalid_input", "{both}");

    // `last` alone pages from the end (the oldest links), as Relay has it, and walking
    // back with `before` to the start gives every link once, in order.
    let tail = page(&alice, json!({ "last": 3 })).await;
    assert_eq!(node_ids(&tail), newest_first[4..7], "{tail}");
    assert_eq!(
        tail["data"]["inviteLinks"]["pageInfo"]["hasNextPage"],
        false
    );
    assert_eq!(
        tail["data"]["inviteLinks"]["pageInfo"]["hasPreviousPage"],
        true
    );
    let mut walked = node_ids(&tail);
    let mut start = tail["data"]["inviteLinks"]["pageInfo"]["startCursor"].clone();
    loop {
        let p = page(&alice, json!({ "last": 3, "before": start })).await;
        let mut ids = node_ids(&p);
        ids.extend(walked);
        walked = ids;
        if p["data"]["inviteLinks"]["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        start = p["data"]["inviteLinks"]["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(walked, newest_first, "backward from the end");
    // And forward from the start, the same.
    let mut walked = Vec::new();
    let mut after = Value::Null;
    loop {
        let p = page(&alice, json!({ "first": 3, "after": after })).await;
        walked.extend(node_ids(&p));
        if p["data"]["inviteLinks"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = p["data"]["inviteLinks"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(walked, newest_first, "forward from the start");

    // Nested: revoked, or alice's on acme/eng/.
    let f = json!({ "or": [
        { "revoked": { "eq": true } },
        { "and": [ { "createdBy": { "eq": "alice" } }, { "space": { "startsWith": "acme/eng/" } } ] }
    ] });
    let r = page(&alice, json!({ "f": f })).await;
    let mut want = vec![
        ids[6].clone(),
        ids[3].clone(),
        ids[2].clone(),
        ids[1].clone(),
    ];
    assert_eq!(node_ids(&r), want, "{r}");
    assert_eq!(r["data"]["inviteLinks"]["totalCount"], 4);
    // not: everything live.
    let r = page(
        &alice,
        json!({ "f": { "not": { "state": { "eq": "REVOKED" } } } }),
    )
    .await;
    want = vec![
        ids[6].clone(),
        ids[5].clone(),
        ids[4].clone(),
        ids[2].clone(),
        ids[0].clone(),
    ];
    assert_eq!(node_ids(&r), want, "{r}");
    assert_eq!(r["data"]["inviteLinks"]["totalCount"], 5);
    // Top-level parts AND the nested ones.
    let r = page(
        &alice,
        json!({ "f": {
        "space": { "startsWith": "acme/eng/" },
        "not": { "or": [ { "createdBy": { "eq": "bob" } }, { "revoked": { "eq": true } } ] }
    } }),
    )
    .await;
    assert_eq!(node_ids(&r), vec![ids[6].clone(), ids[2].clone()], "{r}");

    // Bob manages acme/eng/ only: an `or` reaching for acme/ widens nothing.
    let r = page(
        &bob,
        json!({ "f": { "or": [ { "space": { "startsWith": "acme/" } } ] } }),
    )
    .await;
    let bobs_view = vec![
        ids[6].clone(),
        ids[4].clone(),
        ids[2].clone(),
        ids[1].clone(),
    ];
    assert_eq!(node_ids(&r), bobs_view, "{r}");
    assert_eq!(r["data"]["inviteLinks"]["totalCount"], 4);
    // `not` over a list of spaces keeps the others.
    let r = page(
        &alice,
        json!({ "f": { "not": { "space": { "in": ["acme/"] } } } }),
    )
    .await;
    assert_eq!(r["data"]["inviteLinks"]["totalCount"], 4, "{r}");
    let r = page(
        &bob,
        json!({ "f": { "not": { "space": { "startsWith": "acme/eng/" } } } }),
    )
    .await;
    assert_eq!(node_ids(&r), Vec::<String>::new(), "{r}");
    assert_eq!(r["data"]["inviteLinks"]["totalCount"], 0);
}
