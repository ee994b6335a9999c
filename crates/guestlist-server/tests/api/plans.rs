//! The hot look-ups read one index entry however the table is shaped: the plans the
//! engine makes for them once, for any values, as prepared statements are run.

use crate::helpers::{TestApp, postgres_url};

/// The shapes of the store's look-ups of a user's membership: along a space's lineage
/// (`memberships_on`, every authorization and join) and of one space (`membership`).
const LOOKUPS: [&str; 2] = [
    "SELECT id, space_id, user_id, role, status, source, invite_id, created_at, updated_at \
     FROM memberships WHERE user_id = $1 AND space_id IN ($2)",
    "SELECT id, space_id, user_id, role, status, source, invite_id, created_at, updated_at \
     FROM memberships WHERE space_id = $1 AND user_id = $2",
];
const LOOKUP_ARGS: [&str; 2] = [
    "'bot', '00000000-0000-0000-0000-000000000000'",
    "'00000000-0000-0000-0000-000000000000', 'bot'",
];

/// The shape of a page of a space's members (`list_memberships`).
const MEMBER_PAGE: &str = "SELECT id FROM memberships WHERE created_at IS NOT NULL AND space_id = $1 \
     AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4";
const MEMBER_PAGE_ARGS: &str = "'00000000-0000-0000-0000-000000000000', 0, \
     '00000000-0000-0000-0000-000000000000', 50";

/// One seek on an index holding both the space and the user: no scan of the table,
/// of a space's members or of a user's memberships, no rows filtered out.
fn assert_one_seek(plan: &str, when: &str) {
    if postgres_url().is_some() {
        let cond = plan
            .lines()
            .find(|l| l.contains("Index Cond"))
            .unwrap_or_default();
        assert!(
            cond.contains("space_id =") && cond.contains("user_id ="),
            "{when}: the index seeks on the space and the user:\n{plan}"
        );
        assert!(
            !plan.contains("Filter") && !plan.contains("Seq Scan"),
            "{when}: nothing is scanned or filtered:\n{plan}"
        );
    } else {
        assert!(
            plan.starts_with("SEARCH memberships USING")
                && plan.contains("space_id=?")
                && plan.contains("user_id=?")
                && !plan.contains('\n'),
            "{when}: one search on the space and the user:\n{plan}"
        );
    }
}

fn assert_member_page_in_order(plan: &str, when: &str) {
    assert!(
        plan.contains("memberships_by_join")
            && !plan.contains("Sort")
            && !plan.contains("TEMP B-TREE"),
        "{when}: a page of members reads the join-order index, already in order:\n{plan}"
    );
}

#[tokio::test]
async fn membership_lookups_seek_one_entry_whatever_the_statistics() {
    let t = TestApp::spawn().await;
    t.space_with_admin("big/", "alice").await;

    // A new database: the table holds one row and was never analyzed.
    for (sql, args) in LOOKUPS.iter().zip(LOOKUP_ARGS) {
        assert_one_seek(&t.generic_plan(sql, args).await, "on a new database");
    }
    assert_member_page_in_order(
        &t.generic_plan(MEMBER_PAGE, MEMBER_PAGE_ARGS).await,
        "on a new database",
    );

    // Skewed, analyzed: one space of 1,502 members among 1,500 spaces of two (so
    // the average space is small), and a service account in every space (so the
    // average user holds about one membership, and this one 1,501).
    t.exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) \
         INSERT INTO spaces (id, path, name, join_mode, member_count, created_at, created_by) \
         SELECT {uuid}, 'many-' || i || '/', 'many', 'invite_only', 2, 1, 'key:test' FROM n",
    )
    .await;
    t.exec(
        "INSERT INTO memberships (id, space_id, user_id, role, status, source, created_at, updated_at) \
         SELECT {uuid}, id, 'bot', 'member', 'active', 'provisioned', 1, 1 FROM spaces",
    )
    .await;
    t.exec(
        "INSERT INTO memberships (id, space_id, user_id, role, status, source, created_at, updated_at) \
         SELECT {uuid}, id, 'solo-' || replace(path, '/', ''), 'member', 'active', 'provisioned', 1, 1 \
         FROM spaces WHERE path LIKE 'many-%'",
    )
    .await;
    t.exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) \
         INSERT INTO memberships (id, space_id, user_id, role, status, source, created_at, updated_at) \
         SELECT {uuid}, (SELECT id FROM spaces WHERE path = 'big/'), 'member-' || i, 'member', \
         'active', 'provisioned', i, i FROM n",
    )
    .await;
    t.exec("ANALYZE").await;
    for (sql, args) in LOOKUPS.iter().zip(LOOKUP_ARGS) {
        assert_one_seek(&t.generic_plan(sql, args).await, "on skewed statistics");
    }
    assert_member_page_in_order(
        &t.generic_plan(MEMBER_PAGE, MEMBER_PAGE_ARGS).await,
        "on skewed statistics",
    );

    // The store reads what the seeding wrote, through these paths.
    let few = t
        .platform()
        .list_members("many-7/", None, None)
        .await
        .unwrap();
    let mut users: Vec<&str> = few.members.iter().map(|m| m.user_id.as_str()).collect();
    users.sort();
    assert_eq!(users, ["bot", "solo-many-7"]);
    let page = t
        .platform()
        .list_members("big/", None, Some(50))
        .await
        .unwrap();
    assert_eq!(page.members.len(), 50);
    assert!(page.next.is_some(), "1,502 members fill more than a page");
}
