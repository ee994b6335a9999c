//! The storage contract, told as stories: each feature's primitive queries run directly
//! against the engine under test (SQLite, or PostgreSQL when
//! `GUESTLIST_TEST_POSTGRES_URL` is set), with no application, HTTP server or SMTP
//! sink, so that moving SQL around (per engine, per feature) has a net under it. Each
//! story uses the store the way the application does: one operation per transaction.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use guestlist_domain::{
    JoinMode, MembershipSource, MembershipStatus, Permission, Permissions, RoleName, SpacePath,
    UserId,
};
use guestlist_store::{
    EventQuery, Identities, IdentitySource, NewEvent, NewInvite, NewMembership, NewRole, NewSpace,
    Operation, SponsoredKind, Store, Tx, Visibility,
};
use time::OffsetDateTime;
use uuid::Uuid;

use guestlist_store_postgres::{PgOptions, PgStore};
use guestlist_store_sqlite::{SqliteOptions, SqliteStore};

type Fut<'a, T> = Pin<Box<dyn Future<Output = guestlist_store::Result<T>> + Send + 'a>>;

/// One transaction's worth of a story.
struct Step<F>(F);

#[guestlist_store::__private::async_trait]
impl<T, F> Operation for Step<F>
where
    T: Send + 'static,
    F: for<'a> Fn(&'a mut dyn Tx) -> Fut<'a, T> + Send + Sync + 'static,
{
    type Output = T;
    async fn run(&self, tx: &mut dyn Tx) -> guestlist_store::Result<T> {
        (self.0)(tx).await
    }
}

async fn write<T, F>(store: &Arc<dyn Store>, f: F) -> T
where
    T: Send + 'static,
    F: for<'a> Fn(&'a mut dyn Tx) -> Fut<'a, T> + Send + Sync + 'static,
{
    store.write(Step(f)).await.expect("the step commits")
}

/// A store of its own, migrated: on PostgreSQL (a fresh database) when
/// `GUESTLIST_TEST_POSTGRES_URL` names a server, on SQLite in a temporary folder
/// otherwise. The folder lives as long as the returned guard.
async fn fresh_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store: Arc<dyn Store> = match guestlist_testkit::postgres_url() {
        Some(admin_url) => {
            let url = guestlist_testkit::fresh_database(&admin_url).await;
            let mut opts = PgOptions::new(url);
            opts.max_connections = 8;
            opts.connect_retry_for = std::time::Duration::ZERO;
            Arc::new(PgStore::open(opts).await.expect("PostgreSQL opens"))
        }
        None => Arc::new(
            SqliteStore::open(SqliteOptions::new(dir.path().join("stories.db")))
                .await
                .expect("SQLite opens"),
        ),
    };
    (store, dir)
}

fn now() -> OffsetDateTime {
    // Stored to the millisecond.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap()
}

fn path(p: &str) -> SpacePath {
    SpacePath::parse(p).unwrap()
}

fn space(p: &str, limit: Option<u32>) -> NewSpace {
    NewSpace {
        id: Uuid::now_v7(),
        path: path(p),
        name: p.trim_end_matches('/').to_owned(),
        join_mode: JoinMode::InviteOnly,
        member_limit: limit,
        created_at: now(),
        created_by: "key:story".into(),
    }
}

fn member(space_id: Uuid, user: &str, role: &str) -> NewMembership {
    NewMembership {
        id: Uuid::now_v7(),
        space_id,
        user_id: UserId::parse(user).unwrap(),
        role: RoleName::parse(role).unwrap(),
        status: MembershipStatus::Active,
        source: MembershipSource::Provisioned,
        invite_id: None,
        created_at: now(),
        email: None,
        username: None,
        added_by: None,
    }
}

fn invite(space: &NewSpace, role: &str, by: &str, max_uses: Option<u32>) -> NewInvite {
    let id = Uuid::now_v7();
    NewInvite {
        id,
        code_hash: id.as_bytes().to_vec(),
        space_id: space.id,
        space_path: space.path.clone(),
        role: RoleName::parse(role).unwrap(),
        max_uses,
        expires_at: None,
        description: None,
        allow_narrowing: false,
        requires_approval: false,
        auto_approve_domains: vec![],
        created_by: by.into(),
        created_by_name: by.into(),
        created_at: now(),
        code_sealed: None,
        code_skeleton: None,
        external_id: None,
        uses: 0,
        code_digests: vec![],
    }
}

#[tokio::test]
async fn spaces_a_path_is_unique_lineages_read_root_first_and_seats_stop_at_the_limit() {
    let (store, _dir) = fresh_store().await;
    let (root, child) = (space("st/", None), space("st/eng/", Some(2)));
    let (r, c) = (root.clone(), child.clone());
    let inserted = write(&store, move |tx| {
        let (r, c) = (r.clone(), c.clone());
        Box::pin(async move {
            let a = tx.insert_space(&r).await?.is_some();
            let b = tx.insert_space(&c).await?.is_some();
            // The same path again is no second space.
            let again = tx
                .insert_space(&NewSpace {
                    id: Uuid::now_v7(),
                    ..r.clone()
                })
                .await?;
            Ok((a, b, again.is_none()))
        })
    })
    .await;
    assert_eq!(inserted, (true, true, true));
    let (lineage, roles) = write(&store, |tx| {
        Box::pin(async move { tx.lineage(&path("st/eng/").lineage()).await })
    })
    .await;
    assert_eq!(
        lineage
            .iter()
            .map(|s| s.path.to_string())
            .collect::<Vec<_>>(),
        ["st/", "st/eng/"]
    );
    assert!(roles.is_empty());
    let id = child.id;
    let seats = write(&store, move |tx| {
        Box::pin(async move {
            let mut taken = vec![];
            for _ in 0..3 {
                taken.push(tx.take_seat(id).await?);
            }
            tx.free_seat(id).await?;
            taken.push(tx.take_seat(id).await?);
            Ok(taken)
        })
    })
    .await;
    assert_eq!(seats, [true, true, false, true]);
}

#[tokio::test]
async fn members_one_per_user_and_space_roles_change_and_removal_frees_the_row() {
    let (store, _dir) = fresh_store().await;
    let s = space("mb/", None);
    let sid = s.id;
    let (first, second) = write(&store, move |tx| {
        let s = s.clone();
        Box::pin(async move {
            tx.insert_space(&s).await?;
            let a = tx.insert_membership(&member(sid, "ann", "viewer")).await?;
            // The unique (space, user) key settles a second insert.
            let b = tx.insert_membership(&member(sid, "ann", "admin")).await?;
            Ok((a, b))
        })
    })
    .await;
    let first = first.expect("a new membership");
    assert!(second.is_none());
    let mid = first.id;
    let (changed, listed, mine) = write(&store, move |tx| {
        Box::pin(async move {
            tx.set_membership_role(mid, &RoleName::member(), now())
                .await?;
            let changed = tx.membership(sid, &UserId::parse("ann").unwrap()).await?;
            let listed = tx.list_memberships(sid, None, 10).await?;
            let mine = tx
                .memberships_on(&UserId::parse("ann").unwrap(), &[sid])
                .await?;
            Ok((changed, listed, mine))
        })
    })
    .await;
    assert_eq!(changed.unwrap().role, RoleName::member());
    assert_eq!(listed.len(), 1);
    assert_eq!(mine.len(), 1);
    let (deleted, again, gone) = write(&store, move |tx| {
        Box::pin(async move {
            let d = tx.delete_membership(mid).await?;
            let a = tx.delete_membership(mid).await?;
            let g = tx.membership(sid, &UserId::parse("ann").unwrap()).await?;
            Ok((d, a, g))
        })
    })
    .await;
    assert_eq!((deleted, again, gone.is_none()), (true, false, true));
}

#[tokio::test]
async fn invites_a_use_is_claimed_up_to_the_limit_and_never_after_a_revocation() {
    let (store, _dir) = fresh_store().await;
    let s = space("iv/", None);
    let (limited, open) = (
        invite(&s, "member", "ann", Some(2)),
        invite(&s, "member", "ann", None),
    );
    let (lid, oid) = (limited.id, open.id);
    let (lim, opn) = (limited.clone(), open.clone());
    write(&store, move |tx| {
        let (s, l, o) = (s.clone(), lim.clone(), opn.clone());
        Box::pin(async move {
            tx.insert_space(&s).await?;
            assert!(tx.insert_invite(&l).await?);
            assert!(tx.insert_invite(&o).await?);
            // A code hash names one invite.
            assert!(
                !tx.insert_invite(&NewInvite {
                    id: Uuid::now_v7(),
                    ..l.clone()
                })
                .await?
            );
            // So do a chosen code's skeleton and an external id.
            let chosen = |code_skeleton: &[u8], external_id: &str| {
                let id = Uuid::now_v7();
                NewInvite {
                    id,
                    code_hash: id.as_bytes().to_vec(),
                    code_skeleton: Some(code_skeleton.to_vec()),
                    external_id: Some(external_id.into()),
                    ..l.clone()
                }
            };
            assert!(tx.insert_invite(&chosen(b"skeleton-1", "legacy-1")).await?);
            assert!(!tx.insert_invite(&chosen(b"skeleton-1", "legacy-2")).await?);
            assert!(!tx.insert_invite(&chosen(b"skeleton-2", "legacy-1")).await?);
            let found = tx
                .invite_by_external_id(l.space_id, "legacy-1")
                .await?
                .expect("found by its external id");
            assert_eq!(found.external_id.as_deref(), Some("legacy-1"));
            // A code is one link's in every form: a known code's digest is refused as
            // another link's code hash (carried over as that digest), and the other
            // way round.
            let known = |digest: &[u8]| {
                let id = Uuid::now_v7();
                NewInvite {
                    id,
                    code_hash: id.as_bytes().to_vec(),
                    code_digests: vec![digest.to_vec()],
                    ..l.clone()
                }
            };
            let hashed = |hash: &[u8]| {
                let id = Uuid::now_v7();
                NewInvite {
                    id,
                    code_hash: hash.to_vec(),
                    code_digests: vec![hash.to_vec()],
                    ..l.clone()
                }
            };
            assert!(tx.insert_invite(&known(b"digest-1")).await?);
            assert!(!tx.insert_invite(&hashed(b"digest-1")).await?);
            assert!(!tx.insert_invite(&known(b"digest-1")).await?);
            assert!(tx.insert_invite(&hashed(b"digest-2")).await?);
            assert!(!tx.insert_invite(&known(b"digest-2")).await?);
            assert!(!tx.insert_invite(&hashed(b"digest-2")).await?);
            Ok(())
        })
    })
    .await;
    let claims = write(&store, move |tx| {
        Box::pin(async move {
            let mut c = vec![];
            for _ in 0..3 {
                c.push(tx.claim_invite_use(lid, now()).await?);
            }
            Ok(c)
        })
    })
    .await;
    assert_eq!(claims, [true, true, false]);
    let hash = open.code_hash.clone();
    let (revoked, twice, claimed, found) = write(&store, move |tx| {
        let hash = hash.clone();
        Box::pin(async move {
            let r = tx.revoke_invite(oid, "ann", now()).await?;
            let t = tx.revoke_invite(oid, "ann", now()).await?;
            let c = tx.claim_invite_use(oid, now()).await?;
            let f = tx.invite_by_hash(&hash).await?;
            Ok((r, t, c, f))
        })
    })
    .await;
    assert_eq!((revoked, twice, claimed), (true, false, false));
    assert!(
        found
            .expect("a revoked invite is kept")
            .revoked_at
            .is_some()
    );
    let limited_row = write(&store, move |tx| {
        Box::pin(async move { tx.invite_by_id(lid).await })
    })
    .await
    .unwrap();
    assert_eq!((limited_row.uses, limited_row.max_uses), (2, Some(2)));
}

#[tokio::test]
async fn sponsorship_live_tickets_of_a_sponsor_and_those_a_role_definition_concerns() {
    let (store, _dir) = fresh_store().await;
    let (root, child, other) = (
        space("sp/", None),
        space("sp/eng/", None),
        space("spx/", None),
    );
    let links = [
        invite(&root, "member", "ann", None),
        invite(&child, "helper", "ann", None),
        invite(&child, "helper", "bob", None),
        invite(&other, "helper", "ann", None),
    ];
    let (r, c, o, l) = (root.clone(), child.clone(), other.clone(), links.clone());
    let cid = child.id;
    let revoked_id = links[0].id;
    write(&store, move |tx| {
        let (r, c, o, l) = (r.clone(), c.clone(), o.clone(), l.clone());
        Box::pin(async move {
            for s in [&r, &c, &o] {
                tx.insert_space(s).await?;
            }
            for i in &l {
                tx.insert_invite(i).await?;
            }
            tx.insert_role(&NewRole {
                space_id: cid,
                name: RoleName::parse("helper").unwrap(),
                permissions: Permissions::of(&[Permission::Read]),
                created_at: now(),
            })
            .await?;
            tx.insert_membership(&member(cid, "cat", "helper")).await?;
            Ok(())
        })
    })
    .await;
    let (anns, concerned) = write(&store, move |tx| {
        Box::pin(async move {
            let anns = tx.sponsored_within("ann", Some(&path("sp/"))).await?;
            let everywhere = tx.sponsored_within("ann", None).await?;
            assert_eq!(everywhere.len(), 3, "sp/, sp/eng/ and spx/");
            let concerned = tx
                .concerned_by_role(&path("sp/"), &RoleName::parse("helper").unwrap())
                .await?;
            Ok((anns, concerned))
        })
    })
    .await;
    // ann's two tickets under sp/ (not the one on spx/, which sp/ is no prefix of).
    let mut ids: Vec<Uuid> = anns.iter().map(|s| s.id).collect();
    ids.sort();
    let mut want = vec![links[0].id, links[1].id];
    want.sort();
    assert_eq!(ids, want);
    assert!(anns.iter().all(|s| s.kind == SponsoredKind::InviteLink));
    let mut concerned = concerned;
    concerned.sort();
    assert_eq!(concerned, ["ann", "bob", "cat"]);
    // A revoked ticket is no longer live.
    let after = write(&store, move |tx| {
        Box::pin(async move {
            tx.revoke_invite(revoked_id, "x", now()).await?;
            tx.sponsored_within("ann", Some(&path("sp/"))).await
        })
    })
    .await;
    assert_eq!(after.len(), 1);
}

#[tokio::test]
async fn events_come_back_newest_first_by_subtree_and_kind() {
    let (store, _dir) = fresh_store().await;
    let (a, b) = (space("ev/", None), space("evx/", None));
    let (aid, bid) = (a.id, b.id);
    write(&store, move |tx| {
        let (a, b) = (a.clone(), b.clone());
        Box::pin(async move {
            tx.insert_space(&a).await?;
            tx.insert_space(&b).await?;
            for (i, (sid, p, kind)) in [
                (aid, "ev/", "story.one"),
                (bid, "evx/", "story.one"),
                (aid, "ev/", "story.two"),
            ]
            .into_iter()
            .enumerate()
            {
                tx.append_event(&NewEvent {
                    id: Uuid::now_v7(),
                    kind,
                    space_id: Some(sid),
                    space_path: Some(path(p)),
                    actor: if i == 1 {
                        "bea".into()
                    } else {
                        "key:story".into()
                    },
                    subject: Some(format!("s{i}")),
                    data: "{}".into(),
                    created_at: now(),
                })
                .await?;
            }
            Ok(())
        })
    })
    .await;
    let query = |subtree: Option<&str>, kind: Option<&str>| EventQuery {
        visible: Visibility::All,
        subtree: subtree.map(path),
        kinds: kind.map(str::to_owned).into_iter().collect(),
        actor: None,
        since: None,
        until: None,
        before_seq: None,
        limit: 10,
    };
    let by_bea = EventQuery {
        actor: Some("bea".into()),
        ..query(None, None)
    };
    let since_tomorrow = EventQuery {
        since: Some(now() + time::Duration::days(1)),
        ..query(None, None)
    };
    let until_yesterday = EventQuery {
        until: Some(now() - time::Duration::days(1)),
        ..query(None, None)
    };
    let (in_ev, ones, beas, future, past) = {
        let (q1, q2) = (query(Some("ev/"), None), query(None, Some("story.one")));
        write(&store, move |tx| {
            let qs = (
                q1.clone(),
                q2.clone(),
                by_bea.clone(),
                since_tomorrow.clone(),
                until_yesterday.clone(),
            );
            Box::pin(async move {
                Ok((
                    tx.list_events(&qs.0).await?,
                    tx.list_events(&qs.1).await?,
                    tx.list_events(&qs.2).await?,
                    tx.list_events(&qs.3).await?,
                    tx.list_events(&qs.4).await?,
                ))
            })
        })
        .await
    };
    let subjects = |rows: &Vec<guestlist_store::EventRow>| {
        rows.iter()
            .filter(|e| e.kind.starts_with("story."))
            .map(|e| e.subject.clone().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(subjects(&in_ev), ["s2", "s0"], "ev/ only, newest first");
    assert_eq!(subjects(&ones), ["s1", "s0"]);
    assert_eq!(subjects(&beas), ["s1"], "by one actor");
    assert!(
        subjects(&future).is_empty() && subjects(&past).is_empty(),
        "by time"
    );
    assert!(in_ev.windows(2).all(|w| w[0].seq > w[1].seq));
}

#[tokio::test]
async fn users_a_lineage_comes_with_one_users_grants_and_identities_name_one_user() {
    let (store, _dir) = fresh_store().await;
    let (root, child) = (space("us/", None), space("us/eng/", None));
    let (r, c) = (root.clone(), child.clone());
    write(&store, move |tx| {
        let (r, c) = (r.clone(), c.clone());
        Box::pin(async move {
            tx.insert_space(&r).await?;
            tx.insert_space(&c).await?;
            for role in ["editor", "auditor"] {
                tx.insert_role(&NewRole {
                    space_id: r.id,
                    name: RoleName::parse(role).unwrap(),
                    permissions: Permissions::of(&[Permission::Read]),
                    created_at: now(),
                })
                .await?;
            }
            tx.insert_membership(&member(r.id, "ann", "admin")).await?;
            tx.insert_membership(&member(c.id, "ann", "editor")).await?;
            tx.insert_membership(&member(c.id, "bo", "member")).await?;
            Ok(())
        })
    })
    .await;
    // One statement: both spaces, both roles (the root's two rows do not repeat ann's
    // grant there), and ann's grants only.
    let (spaces, roles, grants) = write(&store, |tx| {
        Box::pin(async move {
            tx.lineage_of(&path("us/eng/").lineage(), &UserId::parse("ann").unwrap())
                .await
        })
    })
    .await;
    let paths: Vec<String> = spaces.iter().map(|s| s.path.to_string()).collect();
    assert_eq!(paths, ["us/", "us/eng/"]);
    assert_eq!(roles.len(), 2);
    let held: Vec<(String, String)> = grants
        .iter()
        .map(|m| (m.user_id.to_string(), m.role.to_string()))
        .collect();
    assert_eq!(
        held,
        [
            ("ann".into(), "admin".into()),
            ("ann".into(), "editor".into())
        ]
    );
    let (_, _, none) = write(&store, |tx| {
        Box::pin(async move {
            tx.lineage_of(&path("us/eng/").lineage(), &UserId::parse("cy").unwrap())
                .await
        })
    })
    .await;
    assert!(none.is_empty());

    // An identity names one user: set by the host, taken over by a verified token,
    // and the host's list replaces only what the host said.
    let email = |e: &str| guestlist_domain::Email::parse(e).unwrap();
    let known = write(&store, move |tx| {
        let email = email;
        Box::pin(async move {
            let ann = UserId::parse("ann").unwrap();
            let bo = UserId::parse("bo").unwrap();
            let host = Identities {
                emails: vec![email("ann@example.com"), email("shared@example.com")],
                usernames: vec![],
            };
            tx.put_identities(&ann, &host, IdentitySource::Host, true, now())
                .await?;
            let token = Identities {
                emails: vec![email("shared@example.com")],
                usernames: vec![],
            };
            tx.put_identities(&bo, &token, IdentitySource::Token, false, now())
                .await?;
            let replaced = Identities {
                emails: vec![email("ann2@example.com")],
                usernames: vec![],
            };
            tx.put_identities(&ann, &replaced, IdentitySource::Host, true, now())
                .await?;
            Ok((tx.identities_of(&ann).await?, tx.identities_of(&bo).await?))
        })
    })
    .await;
    let shown = |i: &Identities| i.emails.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    assert_eq!(shown(&known.0), ["ann2@example.com"]);
    assert_eq!(shown(&known.1), ["shared@example.com"]);
}

/// Opening PostgreSQL: a server that answers but has no such database or role is
/// refused at once and in words (naming `database_url`), not retried for the whole
/// connect window as if it were still starting. PostgreSQL only.
#[tokio::test]
async fn a_missing_database_or_role_is_refused_at_once_in_words() {
    let Some(admin_url) = guestlist_testkit::postgres_url() else {
        return;
    };
    let (base, _) = admin_url.rsplit_once('/').expect("a database in the URL");
    let no_database = format!("{base}/guestlist_nowhere");
    let no_role = admin_url.replacen("postgres://postgres@", "postgres://nobody_here@", 1);
    assert_ne!(
        no_role, admin_url,
        "the test server's URL names the postgres role"
    );
    for (url, says) in [(no_database, "does not exist"), (no_role, "role")] {
        let mut opts = PgOptions::new(url.clone());
        opts.connect_retry_for = std::time::Duration::from_secs(60);
        let started = std::time::Instant::now();
        let refused = match PgStore::open(opts).await {
            Ok(_) => panic!("{url} opened"),
            Err(e) => e,
        };
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{url}: retried"
        );
        let text = refused.to_string();
        assert!(
            text.contains("database_url") && text.contains(says),
            "{url}: {text}"
        );
    }
}
