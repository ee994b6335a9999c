//! Races: the same redemption fired from many tasks at once; the winners are counted.

use futures::future::join_all;
use guestlist_client::{Client, InviteQuery, api};
use guestlist_testkit::{count, joined_events, race};

use crate::helpers::{TestApp, invite_req};

fn with_code(clients: Vec<Client>, code: &str) -> Vec<(Client, String)> {
    clients.into_iter().map(|c| (c, code.to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_strangers_on_a_ten_use_link_make_exactly_ten_members() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                max_uses: Some(10),
                ..invite_req("acme/")
            },
        )
        .await;
    let users = (0..200).map(|i| t.user(&format!("racer{i}"))).collect();

    let results = race(with_code(users, &inv.code)).await;

    assert_eq!(count(&results, "joined"), 10, "{results:?}");
    assert_eq!(count(&results, "exhausted"), 190, "{results:?}");
    let stored = alice.list_invites(&InviteQuery::default()).await.unwrap();
    assert_eq!(stored.invites[0].uses, 10);
    assert_eq!(alice.get_space("acme/").await.unwrap().member_count, 11);
    assert_eq!(
        joined_events(&alice, "acme/").await,
        11,
        "alice plus ten, one event each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_firing_fifty_joins_holds_one_membership_and_one_use() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                max_uses: Some(100),
                ..invite_req("acme/")
            },
        )
        .await;
    let bob = t.user("bob");

    let results = race(with_code(vec![bob; 50], &inv.code)).await;

    assert_eq!(count(&results, "joined"), 1, "{results:?}");
    assert_eq!(count(&results, "already_member"), 49, "{results:?}");
    assert_eq!(
        alice
            .list_invites(&InviteQuery::default())
            .await
            .unwrap()
            .invites[0]
            .uses,
        1
    );
    let members = alice.list_members("acme/", None, None).await.unwrap();
    assert_eq!(
        members
            .members
            .iter()
            .filter(|m| m.user_id == "bob")
            .count(),
        1
    );
    assert_eq!(joined_events(&alice, "acme/").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_limit_of_five_admits_five_of_a_hundred_racers() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.child_space(&alice, "acme/team/", Some(5)).await;
    let inv = t.invite(&alice, invite_req("acme/team/")).await;
    let users = (0..100).map(|i| t.user(&format!("racer{i}"))).collect();

    let results = race(with_code(users, &inv.code)).await;

    assert_eq!(count(&results, "joined"), 5, "{results:?}");
    assert_eq!(count(&results, "member_limit_reached"), 95, "{results:?}");
    let space = alice.get_space("acme/team/").await.unwrap();
    assert_eq!(space.member_count, 5);
    assert_eq!(
        alice
            .list_members("acme/team/", None, None)
            .await
            .unwrap()
            .members
            .len(),
        5
    );
    let stored = alice
        .list_invites(&InviteQuery {
            space: Some("acme/team/"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        stored.invites[0].uses, 5,
        "refused joins gave their use back"
    );
    assert_eq!(joined_events(&alice, "acme/team/").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn open_joins_racing_a_member_limit_never_overshoot() {
    let t = TestApp::spawn().await;
    t.space("lobby/", api::JoinMode::Open, Some(7)).await;
    let tasks = (0..60).map(|i| {
        let c = t.user(&format!("walker{i}"));
        tokio::spawn(async move {
            c.join_space("lobby/")
                .await
                .map(|r| r.outcome)
                .map_err(|e| e.code().map(str::to_owned))
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Ok(api::JoinOutcome::Joined)))
            .count(),
        7
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Err(Some(c)) if c == "member_limit_reached"))
            .count(),
        53
    );
    assert_eq!(
        t.platform().get_space("lobby/").await.unwrap().member_count,
        7
    );
}

/// Counts of an unlimited link and space stay exact under concurrent joins, and a
/// limit set afterwards starts from the true count: 60 join at once, then a limit of
/// 64 lets exactly 3 of 30 more in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counts_stay_exact_when_a_busy_space_gets_a_limit() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t.invite(&alice, invite_req("acme/")).await;
    let users = (0..60).map(|i| t.user(&format!("early{i}"))).collect();
    let results = race(with_code(users, &inv.code)).await;
    assert_eq!(count(&results, "joined"), 60, "{results:?}");
    assert_eq!(alice.get_space("acme/").await.unwrap().member_count, 61);
    let stored = alice.list_invites(&InviteQuery::default()).await.unwrap();
    assert_eq!(stored.invites[0].uses, 60);
    let preview = t
        .client
        .anonymous()
        .preview_invite(&inv.code)
        .await
        .unwrap();
    assert_eq!(preview.member_count, 61);

    alice
        .update_space(
            "acme/",
            &api::UpdateSpaceRequest {
                member_limit: Some(Some(64)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let late = (0..30).map(|i| t.user(&format!("late{i}"))).collect();
    let results = race(with_code(late, &inv.code)).await;
    assert_eq!(count(&results, "joined"), 3, "{results:?}");
    assert_eq!(count(&results, "member_limit_reached"), 27, "{results:?}");
    assert_eq!(alice.get_space("acme/").await.unwrap().member_count, 64);
    // Leaving frees a seat in the exact count.
    t.user("early0").leave_space("acme/").await.unwrap();
    assert_eq!(alice.get_space("acme/").await.unwrap().member_count, 63);
}
