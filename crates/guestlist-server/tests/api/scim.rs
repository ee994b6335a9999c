//! SCIM 2.0 at /scim/v2, on both engines: the request sequences Entra ID and Okta send
//! (create → update → deactivate → reactivate → delete; group members added and
//! removed), deprovisioning that revokes what the user sponsored (with events), SCIM
//! errors with their `scimType`, versions (ETags), and the SCIM key's bounds. The
//! protocol as a whole is checked by scim2-tester (scripts/scim.sh).

use guestlist_client::{EventQuery, InviteQuery, api};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, invite_req};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// An identity provider holding a SCIM key.
struct Idp {
    base: String,
    key: String,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    body: Value,
    etag: Option<String>,
}

impl Idp {
    async fn new(t: &TestApp, name: &str, root: &str) -> Idp {
        let key = t
            .app
            .create_api_key(
                name,
                false,
                Some(guestlist_domain::SpacePath::parse(root).unwrap()),
            )
            .await
            .unwrap();
        Idp {
            base: t.url("/scim/v2"),
            key,
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let etag = res
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        if status != 204 && status != 304 {
            assert_eq!(
                res.headers()["content-type"],
                "application/scim+json",
                "{path}: {status}"
            );
        }
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        Answer { status, body, etag }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[]).await
    }
    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body), &[]).await
    }
    async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PUT, path, Some(body), &[]).await
    }
    async fn patch(&self, path: &str, ops: Value) -> Answer {
        self.send(
            Method::PATCH,
            path,
            Some(json!({ "schemas": [PATCH], "Operations": ops })),
            &[],
        )
        .await
    }
    async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None, &[]).await
    }
}

/// A SCIM error body: its status and scimType.
fn refusal(a: &Answer) -> (u16, Option<&str>) {
    assert_eq!(
        a.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{}",
        a.body
    );
    assert_eq!(a.body["status"], a.status.to_string());
    (a.status, a.body["scimType"].as_str())
}

async fn member(t: &TestApp, space: &str, user: &str) -> Option<api::Member> {
    t.platform().get_member(space, user).await.ok()
}

/// The kinds of the events recorded after `after`, from the audit log (newest
/// first). Not the forward feed: on a PostgreSQL server shared with other tests'
/// databases, the feed may hold back the newest events a moment (docs/EVENTS.md).
async fn kinds_since(t: &TestApp, after: i64) -> Vec<String> {
    t.platform()
        .list_events(&EventQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .events
        .into_iter()
        .filter(|e| e.seq > after)
        .map(|e| e.kind)
        .collect()
}

async fn last_seq(t: &TestApp) -> i64 {
    t.platform()
        .list_events(&EventQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap()
        .events
        .first()
        .map_or(0, |e| e.seq)
}

#[tokio::test]
async fn entra_provisions_deactivates_reactivates_and_deletes_a_user() {
    let t = TestApp::spawn().await;
    t.space("contoso/", api::JoinMode::InviteOnly, None).await;
    let idp = Idp::new(&t, "entra", "contoso/").await;

    // Entra looks the user up first, then creates them.
    let found = idp
        .get("/Users?filter=userName+eq+%22ada%40contoso.test%22")
        .await;
    assert_eq!(
        (found.status, found.body["totalResults"].clone()),
        (200, json!(0))
    );
    let created = idp
        .post(
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE],
                "externalId": "ada",
                "userName": "ada@contoso.test",
                "active": true,
                "displayName": "Ada Lovelace",
                "title": "Engineer",
                "emails": [{ "primary": true, "type": "work", "value": "ada@contoso.test" }],
                "name": { "formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada" },
                ENTERPRISE: { "employeeNumber": "42", "department": "R&D" },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let uid = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body["meta"]["version"].as_str(),
        created.etag.as_deref()
    );
    assert_eq!(created.body[ENTERPRISE]["department"], "R&D");

    // The group: looked up by name, created, and the user added to it.
    let g = idp
        .get("/Groups?filter=displayName+eq+%22Engineering%22")
        .await;
    assert_eq!(g.body["totalResults"], 0);
    let group = idp
        .post("/Groups", json!({ "schemas": [GROUP], "displayName": "Engineering", "externalId": "eng-1", "members": [] }))
        .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_owned();
    let added = idp
        .patch(
            &format!("/Groups/{gid}"),
            json!([{ "op": "Add", "path": "members", "value": [{ "value": uid }] }]),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let m = member(&t, "contoso/engineering/", "ada@contoso.test")
        .await
        .expect("a member of the group's space");
    assert_eq!(
        (m.role.as_str(), m.source.as_str()),
        ("member", "provisioned")
    );
    // Entra checks membership with a filter on members.
    let check = idp
        .get(&format!("/Groups?filter=id+eq+%22{gid}%22+and+members%5Bvalue+eq+%22{uid}%22%5D&excludedAttributes=members"))
        .await;
    assert_eq!(check.body["totalResults"], 1, "{}", check.body);
    assert!(check.body["Resources"][0].get("members").is_none());
    let user = idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(user.body["groups"][0]["value"], gid);

    // The user also runs a space (by the platform), and hands out a link and an invitation there.
    t.platform()
        .provision_member("contoso/", "ada@contoso.test", "admin")
        .await
        .unwrap();
    let ada = t.user("ada@contoso.test");
    let link = t.invite(&ada, invite_req("contoso/")).await;
    let invitation = ada
        .create_invitation(
            &api::CreateInvitationRequest {
                space: "contoso/".into(),
                email: Some("grace@contoso.test".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
        .invitation
        .unwrap();

    // Attributes change, as Entra sends them: capitalised ops, a filtered path.
    let updated = idp
        .patch(
            &format!("/Users/{uid}"),
            json!([
                { "op": "Replace", "path": "displayName", "value": "Ada King" },
                { "op": "Add", "path": "emails[type eq \"work\"].value", "value": "ada.king@contoso.test" },
                // Entra sends a manager as its id alone.
                { "op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "boss-1" },
            ]),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["emails"][0]["value"], "ada.king@contoso.test");
    assert_eq!(updated.body[ENTERPRISE]["manager"]["value"], "boss-1");
    assert_eq!(
        updated.body[ENTERPRISE]["department"], "R&D",
        "the rest of the extension is kept"
    );
    assert_ne!(updated.etag, created.etag);

    // Deactivated (a string boolean, as Entra sends it): deprovisioned within contoso/.
    let before = last_seq(&t).await;
    let off = idp
        .patch(
            &format!("/Users/{uid}"),
            json!([{ "op": "Replace", "path": "active", "value": "False" }]),
        )
        .await;
    assert_eq!(
        (off.status, off.body["active"].clone()),
        (200, json!(false))
    );
    assert!(
        member(&t, "contoso/engineering/", "ada@contoso.test")
            .await
            .is_none()
    );
    assert!(member(&t, "contoso/", "ada@contoso.test").await.is_none());
    let links = t
        .platform()
        .list_invites(&InviteQuery {
            space: Some("contoso/"),
            ..Default::default()
        })
        .await
        .unwrap();
    let l = links
        .invites
        .iter()
        .find(|i| i.id == link.invite.id)
        .unwrap();
    assert_eq!(l.state, api::InviteState::Revoked);
    let inv = t.platform().get_invitation(invitation.id).await.unwrap();
    assert_eq!(inv.status, api::InvitationStatus::Revoked);
    let kinds = kinds_since(&t, before).await;
    for k in [
        "member.removed",
        "invite.revoked",
        "invitation.revoked",
        "user.deprovisioned",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    // The provider's view is unchanged: the user is still in the group.
    let g = idp.get(&format!("/Groups/{gid}")).await;
    assert_eq!(g.body["members"][0]["value"], uid);

    // Reactivated: the group's membership comes back (not the admin grant the
    // platform gave, which was not the provider's to give).
    let on = idp
        .patch(
            &format!("/Users/{uid}"),
            json!([{ "op": "Replace", "path": "active", "value": "True" }]),
        )
        .await;
    assert_eq!(on.status, 200);
    let m = member(&t, "contoso/engineering/", "ada@contoso.test")
        .await
        .expect("back in the group's space");
    assert_eq!(m.source.as_str(), "provisioned");
    assert!(member(&t, "contoso/", "ada@contoso.test").await.is_none());

    // Removed from the group as Entra does it: by value.
    let removed = idp
        .patch(
            &format!("/Groups/{gid}"),
            json!([{ "op": "Remove", "path": "members", "value": [{ "value": uid }] }]),
        )
        .await;
    assert_eq!(removed.status, 200);
    assert!(removed.body.get("members").is_none());
    assert!(
        member(&t, "contoso/engineering/", "ada@contoso.test")
            .await
            .is_none()
    );

    // Deleted.
    assert_eq!(idp.delete(&format!("/Users/{uid}")).await.status, 204);
    let gone = idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(refusal(&gone), (404, None));
}

#[tokio::test]
async fn okta_provisions_with_put_and_pushes_groups() {
    let t = TestApp::spawn().await;
    t.space("okta-org/", api::JoinMode::InviteOnly, None).await;
    let idp = Idp::new(&t, "okta", "okta-org/").await;

    let found = idp
        .get("/Users?filter=userName%20eq%20%22bob%40okta.test%22&startIndex=1&count=100")
        .await;
    assert_eq!(found.body["totalResults"], 0);
    let created = idp
        .post(
            "/Users",
            json!({
                "schemas": [USER],
                "userName": "bob@okta.test",
                "name": { "givenName": "Bob", "familyName": "Smith" },
                "emails": [{ "primary": true, "value": "bob@okta.test", "type": "work" }],
                "displayName": "Bob Smith",
                "locale": "en-US",
                "externalId": "00u1abcd",
                "groups": [],
                "active": true,
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let uid = created.body["id"].as_str().unwrap().to_owned();
    // The provider's e-mail is a known identity: an invitation by it finds the user.
    let ids = t.platform().user_identities("bob@okta.test").await.unwrap();
    assert!(ids.emails.iter().any(|e| e == "bob@okta.test"), "{ids:?}");

    // Okta updates a profile with PUT, the whole user.
    let mut whole = created.body.clone();
    whole["name"]["familyName"] = json!("Smythe");
    whole["emails"] = json!([{ "primary": true, "value": "bob.smythe@okta.test", "type": "work" }]);
    let put = idp.put(&format!("/Users/{uid}"), whole).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["name"]["familyName"], "Smythe");
    assert_eq!(put.body["meta"]["created"], created.body["meta"]["created"]);

    // Group push: created with its member, renamed, members removed and added.
    let group = idp
        .post("/Groups", json!({ "schemas": [GROUP], "displayName": "Sales", "members": [{ "value": uid, "display": "bob@okta.test" }] }))
        .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        member(&t, "okta-org/sales/", "bob@okta.test")
            .await
            .unwrap()
            .source
            .as_str(),
        "provisioned"
    );
    let renamed = idp
        .patch(
            &format!("/Groups/{gid}"),
            json!([{ "op": "replace", "value": { "id": gid, "displayName": "Sales EMEA" } }]),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let space = t.platform().get_space("okta-org/sales/").await.unwrap();
    assert_eq!(space.name, "Sales EMEA");
    let out = idp
        .patch(
            &format!("/Groups/{gid}"),
            json!([{ "op": "remove", "path": format!("members[value eq \"{uid}\"]") }]),
        )
        .await;
    assert_eq!(out.status, 200);
    assert!(
        member(&t, "okta-org/sales/", "bob@okta.test")
            .await
            .is_none()
    );
    let back = idp
        .patch(&format!("/Groups/{gid}"), json!([{ "op": "add", "path": "members", "value": [{ "value": uid, "display": "bob@okta.test" }] }]))
        .await;
    assert_eq!(back.status, 200);
    assert!(
        member(&t, "okta-org/sales/", "bob@okta.test")
            .await
            .is_some()
    );

    // Deactivate and reactivate, as Okta does: a replace without a path.
    let off = idp
        .patch(
            &format!("/Users/{uid}"),
            json!([{ "op": "replace", "value": { "active": false } }]),
        )
        .await;
    assert_eq!(off.body["active"], false);
    assert!(
        member(&t, "okta-org/sales/", "bob@okta.test")
            .await
            .is_none()
    );
    let on = idp
        .patch(
            &format!("/Users/{uid}"),
            json!([{ "op": "replace", "value": { "active": true } }]),
        )
        .await;
    assert_eq!(on.body["active"], true);
    assert!(
        member(&t, "okta-org/sales/", "bob@okta.test")
            .await
            .is_some()
    );

    // A deleted group ends its memberships; its space stays, no longer a group.
    assert_eq!(idp.delete(&format!("/Groups/{gid}")).await.status, 204);
    assert!(
        member(&t, "okta-org/sales/", "bob@okta.test")
            .await
            .is_none()
    );
    assert_eq!(
        refusal(&idp.get(&format!("/Groups/{gid}")).await),
        (404, None)
    );
    assert!(t.platform().get_space("okta-org/sales/").await.is_ok());
    assert_eq!(idp.delete(&format!("/Users/{uid}")).await.status, 204);
}

#[tokio::test]
async fn refusals_are_scim_errors_with_their_scim_type() {
    let t = TestApp::spawn().await;
    t.space("acme/", api::JoinMode::InviteOnly, None).await;
    let idp = Idp::new(&t, "idp", "acme/").await;
    let a = idp
        .post("/Users", json!({ "schemas": [USER], "userName": "Ada" }))
        .await;
    assert_eq!(a.status, 201);
    let uid = a.body["id"].as_str().unwrap().to_owned();

    let malformed = idp.send(Method::POST, "/Users", None, &[]).await;
    assert_eq!(refusal(&malformed), (400, Some("invalidSyntax")));
    let cases = [
        (
            idp.post(
                "/Users",
                json!({ "schemas": [USER], "userName": "x", "shoeSize": 9 }),
            )
            .await,
            400,
            "invalidSyntax",
        ),
        (
            idp.post("/Users", json!({ "schemas": [USER], "userName": "ADA" }))
                .await,
            409,
            "uniqueness",
        ),
        (
            idp.post("/Users", json!({ "schemas": [USER], "active": true }))
                .await,
            400,
            "invalidValue",
        ),
        (
            idp.post(
                "/Users",
                json!({ "schemas": [USER], "userName": "y", "active": "perhaps" }),
            )
            .await,
            400,
            "invalidValue",
        ),
        (
            idp.get("/Users?filter=userName+sw").await,
            400,
            "invalidFilter",
        ),
        (
            idp.get("/Users?filter=shoeSize+eq+%229%22").await,
            400,
            "invalidFilter",
        ),
        (
            idp.patch(
                &format!("/Users/{uid}"),
                json!([{ "op": "replace", "path": "id", "value": "x" }]),
            )
            .await,
            400,
            "mutability",
        ),
        (
            idp.patch(
                &format!("/Users/{uid}"),
                json!([{ "op": "replace", "path": "shoe", "value": "x" }]),
            )
            .await,
            400,
            "invalidPath",
        ),
        (
            idp.patch(&format!("/Users/{uid}"), json!([{ "op": "remove" }]))
                .await,
            400,
            "noTarget",
        ),
        (
            idp.send(
                Method::PATCH,
                &format!("/Users/{uid}"),
                Some(json!({ "Operations": [] })),
                &[],
            )
            .await,
            400,
            "invalidSyntax",
        ),
        (idp.get("/Users?colour=blue").await, 400, "invalidValue"),
    ];
    for (n, (answer, status, scim_type)) in cases.iter().enumerate() {
        assert_eq!(
            refusal(answer),
            (*status, Some(*scim_type)),
            "case {n}: {}",
            answer.body
        );
    }
    assert_eq!(refusal(&idp.get("/Users/not-an-id").await), (404, None));
    assert_eq!(refusal(&idp.get("/Nothing").await), (404, None));
    // Nothing changed.
    let u = idp.get(&format!("/Users/{uid}")).await;
    assert_eq!(u.body["userName"], "Ada");
    assert_eq!(idp.get("/Users").await.body["totalResults"], 1);
}

#[tokio::test]
async fn versions_guard_writes_and_only_one_of_many_writers_with_the_same_version_wins() {
    let t = TestApp::spawn().await;
    t.space("acme/", api::JoinMode::InviteOnly, None).await;
    let idp = std::sync::Arc::new(Idp::new(&t, "idp", "acme/").await);
    let a = idp
        .post("/Users", json!({ "schemas": [USER], "userName": "ada" }))
        .await;
    let uid = a.body["id"].as_str().unwrap().to_owned();
    let etag = a.etag.clone().unwrap();
    let path = format!("/Users/{uid}");

    let same = idp
        .send(Method::GET, &path, None, &[("if-none-match", &etag)])
        .await;
    assert_eq!(same.status, 304);
    let stale = idp
        .send(Method::PATCH, &path, Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "title", "value": "x" }] })), &[("if-match", "W/\"0000\"")])
        .await;
    assert_eq!(refusal(&stale), (412, None));

    // Ten writers holding the same version: one wins, the others learn it changed.
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let (idp, path, etag) = (idp.clone(), path.clone(), etag.clone());
            tokio::spawn(async move {
                let body = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "title", "value": format!("t{n}") }] });
                idp.send(Method::PATCH, &path, Some(body), &[("if-match", &etag)]).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        9,
        "{statuses:?}"
    );
    let after = idp.get(&path).await;
    assert_ne!(after.etag.as_deref(), Some(etag.as_str()));
}

#[tokio::test]
async fn a_scim_key_reaches_only_its_subtree_and_only_scim() {
    let t = TestApp::spawn().await;
    t.space("acme/", api::JoinMode::InviteOnly, None).await;
    t.space("globex/", api::JoinMode::InviteOnly, None).await;
    let acme = Idp::new(&t, "acme-idp", "acme/").await;
    let globex = Idp::new(&t, "globex-idp", "globex/").await;
    let a = acme
        .post("/Users", json!({ "schemas": [USER], "userName": "ada" }))
        .await;
    let uid = a.body["id"].as_str().unwrap().to_owned();

    // Another root's key sees none of it.
    assert_eq!(globex.get(&format!("/Users/{uid}")).await.status, 404);
    assert_eq!(globex.get("/Users").await.body["totalResults"], 0);
    // The same userName under another root is another user.
    assert_eq!(
        globex
            .post("/Users", json!({ "schemas": [USER], "userName": "ada" }))
            .await
            .status,
        201
    );
    // Groups are the spaces within the root, and no other.
    let groups = acme.get("/Groups").await;
    let names: Vec<&str> = groups.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme"]);
    let theirs = globex.get("/Groups").await.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(acme.get(&format!("/Groups/{theirs}")).await.status, 404);

    // A SCIM key is refused by the API, and the API's keys by SCIM.
    let rest = reqwest::Client::new()
        .get(t.url("/api/v1/spaces"))
        .bearer_auth(&acme.key)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 403);
    let platform = reqwest::Client::new()
        .get(t.url("/scim/v2/Users"))
        .bearer_auth(t.platform_key())
        .send()
        .await
        .unwrap();
    assert_eq!(platform.status(), 403);
    let nobody = reqwest::Client::new()
        .get(t.url("/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), 401);
    // A SCIM key is for a space that exists.
    let root = guestlist_domain::SpacePath::parse("initech/").unwrap();
    let err = t
        .app
        .create_api_key("initech-idp", false, Some(root))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("scim"));

    // Discovery says what is supported.
    let spc = acme.get("/ServiceProviderConfig").await;
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["etag"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    assert_eq!(acme.get("/ResourceTypes").await.body["totalResults"], 2);
    assert_eq!(acme.get("/Schemas").await.body["totalResults"], 3);
    assert_eq!(
        acme.get(&format!("/Schemas/{USER}")).await.body["name"],
        "User"
    );
}
