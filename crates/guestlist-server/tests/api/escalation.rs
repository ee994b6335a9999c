//! The grant ceiling as a property: random sequences of operations by random actors,
//! on the real application over the engine under test, and after every step the
//! invariant of `docs/SECURITY.md`:
//!
//! > nobody holds a permission on a space unless it was granted, by the platform key
//! > or by someone who held it there at the time, and nobody holds more than the role
//! > meant where it was granted.
//!
//! The test keeps its own model of the role definitions and of who learned which link
//! code from whom, reads every membership back after each step, and computes
//! everyone's rights itself (not through the application's rules). Any permission
//! someone gained in a step must be justified by that step's grant.
//!
//! Across the other doors too: addressed invitations (sent, resent, revoked,
//! accepted), webhook endpoints as standing capabilities, deprovisioning, codes made
//! in every form (chosen, carried by the mirror, carried as a digest), and two tenants'
//! SCIM keys asserting users' addresses beside owners' adds by address. After every
//! step also: no enabled endpoint of a space is owned by someone who is no longer its
//! admin (nobody receives events of a space they cannot administer now), every code
//! still names the one link it was first made as, and an address names its verified
//! owner (or, once they were deprovisioned, whom this tenant's own key said): no
//! credential of one tenant changes who anything in another is bound to.
//!
//! Bounded: a fixed seed and a fixed number of cases per engine, so CI is repeatable.
//! `GUESTLIST_PROPTEST_SEED` (a number) and `GUESTLIST_PROPTEST_CASES` explore more.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use guestlist_app::domain::{
    Actor, MembershipStatus, Permission, Permissions, RoleName, SpacePath, UserId,
};
use guestlist_app::{App, Caller, CreateInvite, JoinOutcome, NewSpaceInput};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::helpers::{TestApp, postgres_url};

const SPACES: [&str; 3] = ["acme/", "acme/eng/", "acme/eng/web/"];
const USERS: usize = 4;
/// Role names the operations pick from: the built-ins and two custom names that the
/// platform may define at several depths (the same name meaning different things).
const ROLES: [&str; 5] = ["viewer", "member", "admin", "helper", "inviter"];

/// Who acts: a user `u0`…`u3`, or the platform key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    User(usize),
    Platform,
}

#[derive(Debug, Clone)]
enum Op {
    DefineRole {
        depth: usize,
        role: usize,
        bits: i64,
    },
    Provision {
        user: usize,
        depth: usize,
        role: usize,
    },
    ChangeRole {
        actor: Who,
        depth: usize,
        target: usize,
        role: usize,
    },
    CreateLink {
        actor: Who,
        depth: usize,
        role: usize,
        narrowing: bool,
    },
    ShowLink {
        actor: usize,
        link: Index,
    },
    Redeem {
        known: Index,
        user: usize,
        narrow_to: Option<usize>,
    },
    Remove {
        actor: usize,
        depth: usize,
        target: usize,
    },
    Leave {
        user: usize,
        depth: usize,
    },
    /// An owner's add: pending until the user consents.
    Add {
        actor: Who,
        depth: usize,
        target: usize,
        role: usize,
    },
    /// A pending add's user consents to it.
    Consent {
        add: Index,
    },
    /// A role change of someone who holds a membership now.
    ChangeMember {
        actor: Who,
        member: Index,
        role: usize,
    },
    /// An invitation addressed to a user (by id).
    Invite {
        actor: Who,
        depth: usize,
        target: usize,
        role: usize,
    },
    /// Someone resends (reissues) a pending invitation.
    Resend {
        actor: Who,
        invitation: Index,
    },
    /// Someone revokes a pending invitation.
    RevokeInvitation {
        actor: Who,
        invitation: Index,
    },
    /// The addressee accepts an invitation.
    Accept {
        invitation: Index,
    },
    /// Someone registers a webhook endpoint on a space: a standing capability.
    Webhook {
        actor: Who,
        depth: usize,
    },
    /// The platform deprovisions a user everywhere.
    Deprovision {
        user: usize,
    },
    /// A tenant's SCIM key provisions a user asserting a user's address.
    ScimUser {
        tenant: usize,
        asserts: usize,
    },
    /// An owner's add by a user's address.
    AddByEmail {
        actor: Who,
        depth: usize,
        target: usize,
        role: usize,
    },
    /// A code from the pool, in one of its forms (chosen here, carried over by the
    /// mirror, carried over as a digest), on a space.
    Code {
        actor: Who,
        depth: usize,
        code: usize,
        form: usize,
    },
}

/// Codes the `Code` steps draw from: a few, so that forms collide.
const CODES: [&str; 2] = ["Pool4Code01x", "Pool4Code02y"];

/// The SCIM keys: one bound to the tenant under test (`acme/`), one to another tenant
/// (`beta/`, outside the spaces the roster reads).
const TENANTS: [&str; 2] = ["acme/", "beta/"];

/// The verified address each user's token carries.
fn email_of(user: usize) -> String {
    format!("u{user}@acme.test")
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![4 => user(), 1 => Just(Who::Platform)]
}

/// Mostly the users who hold rights to begin with (u0, u1, u2), so that sequences
/// reach the interesting states within a few steps.
fn user() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => Just(Who::User(0)),
        3 => Just(Who::User(1)),
        3 => Just(Who::User(2)),
        1 => Just(Who::User(3)),
    ]
}

fn actor() -> impl Strategy<Value = usize> {
    user().prop_map(|w| match w {
        Who::User(u) => u,
        Who::Platform => 0,
    })
}

/// Mostly the roles that grant much, and the custom names that mean different
/// things at different depths.
fn role() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0usize), 2 => Just(1), 3 => Just(2), 3 => Just(3), 2 => Just(4)]
}

fn op() -> impl Strategy<Value = Op> {
    let depth = 0..SPACES.len();
    prop_oneof![
        2 => (depth.clone(), 3..ROLES.len(), 1i64..32)
            .prop_map(|(depth, role, bits)| Op::DefineRole { depth, role, bits }),
        1 => (0..USERS, depth.clone(), role())
            .prop_map(|(user, depth, role)| Op::Provision { user, depth, role }),
        2 => (who(), depth.clone(), 0..USERS, role())
            .prop_map(|(actor, depth, target, role)| Op::ChangeRole { actor, depth, target, role }),
        4 => (who(), depth.clone(), role(), any::<bool>())
            .prop_map(|(actor, depth, role, narrowing)| Op::CreateLink { actor, depth, role, narrowing }),
        3 => (actor(), any::<Index>()).prop_map(|(actor, link)| Op::ShowLink { actor, link }),
        5 => (any::<Index>(), 0..USERS, proptest::option::of(depth.clone()))
            .prop_map(|(known, user, narrow_to)| Op::Redeem { known, user, narrow_to }),
        1 => (actor(), depth.clone(), 0..USERS)
            .prop_map(|(actor, depth, target)| Op::Remove { actor, depth, target }),
        1 => (0..USERS, depth.clone()).prop_map(|(user, depth)| Op::Leave { user, depth }),
        3 => (who(), depth.clone(), 0..USERS, role())
            .prop_map(|(actor, depth, target, role)| Op::Add { actor, depth, target, role }),
        3 => any::<Index>().prop_map(|add| Op::Consent { add }),
        3 => (who(), any::<Index>(), role())
            .prop_map(|(actor, member, role)| Op::ChangeMember { actor, member, role }),
        3 => (who(), depth.clone(), 0..USERS, role())
            .prop_map(|(actor, depth, target, role)| Op::Invite { actor, depth, target, role }),
        1 => (who(), any::<Index>()).prop_map(|(actor, invitation)| Op::Resend { actor, invitation }),
        1 => (who(), any::<Index>())
            .prop_map(|(actor, invitation)| Op::RevokeInvitation { actor, invitation }),
        3 => any::<Index>().prop_map(|invitation| Op::Accept { invitation }),
        2 => (who(), depth.clone()).prop_map(|(actor, depth)| Op::Webhook { actor, depth }),
        1 => (0..USERS).prop_map(|user| Op::Deprovision { user }),
        2 => (0..TENANTS.len(), 0..USERS).prop_map(|(tenant, asserts)| Op::ScimUser { tenant, asserts }),
        2 => (who(), depth.clone(), 0..USERS, role())
            .prop_map(|(actor, depth, target, role)| Op::AddByEmail { actor, depth, target, role }),
        2 => (who(), depth, 0..CODES.len(), 0..3usize)
            .prop_map(|(actor, depth, code, form)| Op::Code { actor, depth, code, form }),
    ]
}

/// A link the model saw created.
#[derive(Debug, Clone)]
struct Link {
    code: String,
    home: usize,
    role: RoleName,
    creator: Who,
}

/// Someone who learned a code: its creator, or a manager who was shown it (and held
/// `held` on the link's space when they were, when its role meant `meant` there).
#[derive(Debug, Clone)]
struct Known {
    link: usize,
    held: Permissions,
    meant: Permissions,
}

#[derive(Default)]
struct Model {
    /// (depth, role name) → permissions, as the platform defined them.
    roles: BTreeMap<(usize, String), Permissions>,
    links: Vec<Link>,
    known: Vec<Known>,
    /// (user, depth) → who added them, while their consent is pending.
    adds: BTreeMap<(usize, usize), Who>,
    /// Invitations made: (id, addressee, depth).
    invitations: Vec<(uuid::Uuid, usize, usize)>,
    /// Code (index into `CODES`) → the space it was first made a link on.
    codes: BTreeMap<usize, usize>,
    /// Mirrored links made so far (their external ids are numbered).
    mirrored: usize,
    /// What a step did that no step may: found while stepping.
    broken: Option<String>,
    /// SCIM users made: (tenant, the user whose address it asserted, its user id).
    scim_users: Vec<(usize, usize, String)>,
    /// Users deprovisioned (their address no longer names them).
    forgotten: std::collections::BTreeSet<usize>,
}

impl Model {
    /// What `role` means on the space at `depth`: a built-in, or the nearest
    /// definition at that depth or above it.
    fn meaning(&self, role: &str, depth: usize) -> Option<Permissions> {
        if let Some(p) = RoleName::parse(role).ok()?.builtin_permissions() {
            return Some(p);
        }
        (0..=depth)
            .rev()
            .find_map(|d| self.roles.get(&(d, role.to_owned())).copied())
    }
}

/// Every active (user, depth) → role, read back from the application.
type Roster = BTreeMap<(usize, usize), String>;

/// Rights of every user on every space, computed by the test from a roster.
fn rights(model: &Model, roster: &Roster) -> [[Permissions; SPACES.len()]; USERS] {
    let mut out = [[Permissions::NONE; SPACES.len()]; USERS];
    for (u, row) in out.iter_mut().enumerate() {
        for (d, cell) in row.iter_mut().enumerate() {
            for a in 0..=d {
                if let Some(role) = roster.get(&(u, a)) {
                    // A role the model cannot explain counts as everything: flagged.
                    let p = model.meaning(role, a).unwrap_or(Permissions::ALL);
                    *cell = cell.union(p);
                }
            }
        }
    }
    out
}

fn minus(a: Permissions, b: Permissions) -> Permissions {
    Permissions::from_bits(a.bits() & !b.bits())
}

struct World {
    app: App,
    platform: Actor,
    users: Vec<Actor>,
    /// Each tenant's SCIM key, as its caller.
    scim: Vec<guestlist_app::ScimCaller>,
}

impl World {
    fn actor(&self, who: Who) -> &Actor {
        match who {
            Who::User(u) => &self.users[u],
            Who::Platform => &self.platform,
        }
    }

    fn path(d: usize) -> SpacePath {
        SpacePath::parse(SPACES[d]).unwrap()
    }

    async fn roster(&self) -> Roster {
        let mut roster = Roster::new();
        for d in 0..SPACES.len() {
            let page = self
                .app
                .list_members(&self.platform, Self::path(d), None, Some(100))
                .await
                .expect("the platform key lists members");
            for m in page.members {
                let m = m.membership;
                if m.status != MembershipStatus::Active {
                    continue;
                }
                let u = m.user_id.as_str()[1..]
                    .parse::<usize>()
                    .expect("a test user");
                roster.insert((u, d), m.role.to_string());
            }
        }
        roster
    }
}

/// What a step granted, and to whom: the permissions anyone gains in the step must
/// fit in it.
enum Grant {
    /// Nothing may be gained.
    None,
    /// The platform key decided (role definitions, provisioning): anything goes.
    Platform,
    /// `user` may gain up to `up_to` on the space at `at` and beneath it.
    To {
        user: usize,
        at: usize,
        up_to: Permissions,
    },
}

async fn step(world: &World, model: &mut Model, op: &Op) -> Grant {
    let app = &world.app;
    let p = &world.platform;
    match *op {
        Op::DefineRole { depth, role, bits } => {
            let perms = Permissions::from_bits(bits);
            let name = RoleName::parse(ROLES[role]).unwrap();
            if app
                .create_role(p, World::path(depth), name, perms)
                .await
                .is_ok()
            {
                model.roles.insert((depth, ROLES[role].to_owned()), perms);
            }
            Grant::Platform
        }
        Op::Provision { user, depth, role } => {
            let name = RoleName::parse(ROLES[role]).unwrap();
            let uid = UserId::parse(&format!("u{user}")).unwrap();
            let _ = app.provision_member(p, World::path(depth), uid, name).await;
            Grant::Platform
        }
        Op::ChangeRole {
            actor,
            depth,
            target,
            role,
        } => {
            let before = rights(model, &world.roster().await);
            let name = RoleName::parse(ROLES[role]).unwrap();
            let uid = UserId::parse(&format!("u{target}")).unwrap();
            let changed = app
                .change_role(world.actor(actor), World::path(depth), uid, name)
                .await;
            let held = match actor {
                Who::User(a) => before[a][depth],
                Who::Platform => Permissions::ALL,
            };
            match changed {
                Ok(_) => Grant::To {
                    user: target,
                    at: depth,
                    // The role's meaning there, and only what the actor held there.
                    up_to: intersect(
                        model
                            .meaning(ROLES[role], depth)
                            .unwrap_or(Permissions::NONE),
                        held,
                    ),
                },
                Err(_) => Grant::None,
            }
        }
        Op::CreateLink {
            actor,
            depth,
            role,
            narrowing,
        } => {
            let created = app
                .create_invite(
                    world.actor(actor),
                    CreateInvite {
                        role: Some(RoleName::parse(ROLES[role]).unwrap()),
                        allow_narrowing: narrowing,
                        ..link_on(depth)
                    },
                )
                .await;
            if let Ok(c) = created {
                model.links.push(Link {
                    code: c.code,
                    home: depth,
                    role: RoleName::parse(ROLES[role]).unwrap(),
                    creator: actor,
                });
                model.known.push(Known {
                    link: model.links.len() - 1,
                    held: Permissions::ALL,
                    meant: Permissions::ALL,
                });
            }
            Grant::None
        }
        Op::ShowLink { actor, ref link } => {
            if model.links.is_empty() {
                return Grant::None;
            }
            let i = link.index(model.links.len());
            let home = model.links[i].home;
            let held = rights(model, &world.roster().await)[actor][home];
            let shown = app
                .show_invite_link(&world.users[actor], &model.links[i].code)
                .await;
            if shown.is_ok() {
                let meant = model
                    .meaning(model.links[i].role.as_str(), home)
                    .unwrap_or(Permissions::NONE);
                model.known.push(Known {
                    link: i,
                    held,
                    meant,
                });
            }
            Grant::None
        }
        Op::Redeem {
            ref known,
            user,
            narrow_to,
        } => {
            if model.known.is_empty() {
                return Grant::None;
            }
            let k = model.known[known.index(model.known.len())].clone();
            let link = model.links[k.link].clone();
            let before = rights(model, &world.roster().await);
            let target = narrow_to.filter(|d| *d >= link.home);
            let lands = target.unwrap_or(link.home);
            // Joining accepts a pending owner's add there (it keeps the role that grants
            // more): what that add allowed is its adder's grant.
            let add_allows = match model.adds.remove(&(user, lands)) {
                None => Permissions::NONE,
                Some(adder) => {
                    let pending = app.my_pending(&world.users[user]).await.unwrap();
                    match pending
                        .memberships
                        .iter()
                        .find(|m| m.space == World::path(lands))
                    {
                        None => Permissions::NONE,
                        Some(m) => intersect(
                            model
                                .meaning(m.membership.role.as_str(), lands)
                                .unwrap_or(Permissions::NONE),
                            match adder {
                                Who::Platform => Permissions::ALL,
                                Who::User(a) => before[a][lands],
                            },
                        ),
                    }
                }
            };
            let caller = Caller {
                actor: Some(world.users[user].clone()),
                client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            };
            let redeemed = app
                .redeem_invite(&caller, &link.code, target.map(World::path))
                .await;
            match redeemed {
                Ok(r) if matches!(r.outcome, JoinOutcome::Joined | JoinOutcome::Upgraded) => {
                    // What the role means on the link's own space, within what its
                    // creator holds there now (the platform key holds everything),
                    // within what whoever passed the code on held when shown it.
                    // Only a role defined since (by an admin there, or the platform)
                    // may have widened the name's meaning beyond that: the definer's
                    // grant.
                    let meant = model
                        .meaning(link.role.as_str(), link.home)
                        .unwrap_or(Permissions::NONE);
                    let creator_holds = match link.creator {
                        Who::Platform => Permissions::ALL,
                        Who::User(c) => before[c][link.home],
                    };
                    let passed_on = k.held.union(minus(meant, k.meant));
                    Grant::To {
                        user,
                        at: lands,
                        up_to: intersect(intersect(meant, creator_holds), passed_on)
                            .union(add_allows),
                    }
                }
                _ => Grant::None,
            }
        }
        Op::Remove {
            actor,
            depth,
            target,
        } => {
            let uid = UserId::parse(&format!("u{target}")).unwrap();
            let _ = app
                .remove_member(&world.users[actor], World::path(depth), uid)
                .await;
            Grant::None
        }
        Op::Add {
            actor,
            depth,
            target,
            role,
        } => {
            let uid = UserId::parse(&format!("u{target}")).unwrap();
            let added = app
                .add_member(
                    world.actor(actor),
                    World::path(depth),
                    guestlist_app::Account::Id(uid),
                    Some(RoleName::parse(ROLES[role]).unwrap()),
                )
                .await;
            if matches!(added, Ok((guestlist_app::AddOutcome::Pending, _))) {
                model.adds.insert((target, depth), actor);
            }
            Grant::None
        }
        Op::ChangeMember {
            actor,
            ref member,
            role,
        } => {
            let roster: Vec<(usize, usize)> = world.roster().await.into_keys().collect();
            if roster.is_empty() {
                return Grant::None;
            }
            let (target, depth) = roster[member.index(roster.len())];
            let change = Op::ChangeRole {
                actor,
                depth,
                target,
                role,
            };
            Box::pin(step(world, model, &change)).await
        }
        Op::Consent { ref add } => {
            if model.adds.is_empty() {
                return Grant::None;
            }
            let (&(user, depth), &adder) =
                model.adds.iter().nth(add.index(model.adds.len())).unwrap();
            model.adds.remove(&(user, depth));
            let pending = app.my_pending(&world.users[user]).await.unwrap();
            let Some(m) = pending
                .memberships
                .into_iter()
                .find(|m| m.space == World::path(depth))
            else {
                // Withdrawn (its adder's rights shrank) or answered already.
                return Grant::None;
            };
            let role = m.membership.role.clone();
            let before = rights(model, &world.roster().await);
            let accepted = app
                .answer_membership(&world.users[user], m.membership.id, true)
                .await;
            match accepted {
                // What the role means there, within what its adder holds there now.
                Ok(_) => Grant::To {
                    user,
                    at: depth,
                    up_to: granted_by(model, role.as_str(), depth, adder, &before),
                },
                Err(_) => Grant::None,
            }
        }
        Op::Invite {
            actor,
            depth,
            target,
            role,
        } => {
            let invited = app
                .invite_one(
                    world.actor(actor),
                    guestlist_app::InvitationInput {
                        space: SPACES[depth].into(),
                        role: Some(ROLES[role].into()),
                        expires_in_seconds: None,
                        message: None,
                        rows: vec![guestlist_app::InviteeInput {
                            email: None,
                            username: None,
                            user_id: Some(format!("u{target}")),
                            role: None,
                        }],
                        dry_run: false,
                    },
                    None,
                )
                .await;
            if let Ok(r) = invited
                && r.outcome == guestlist_app::InvitationOutcome::Invited
                && let Some(v) = r.invitation
            {
                model.invitations.push((v.invitation.id, target, depth));
            }
            Grant::None
        }
        Op::Resend {
            actor,
            ref invitation,
        } => {
            if let Some(&(id, _, _)) = pick(&model.invitations, invitation) {
                let _ = app.resend_invitation(world.actor(actor), id).await;
            }
            Grant::None
        }
        Op::RevokeInvitation {
            actor,
            ref invitation,
        } => {
            if let Some(&(id, _, _)) = pick(&model.invitations, invitation) {
                let _ = app.revoke_invitation(world.actor(actor), id).await;
            }
            Grant::None
        }
        Op::Accept { ref invitation } => {
            let Some(&(id, user, depth)) = pick(&model.invitations, invitation) else {
                return Grant::None;
            };
            let before = rights(model, &world.roster().await);
            let Ok(row) = app.get_invitation(p, id).await else {
                return Grant::None;
            };
            let creator = match row.invitation.created_by.strip_prefix('u') {
                Some(n) if n.parse::<usize>().is_ok() => Who::User(n.parse().unwrap()),
                _ => Who::Platform,
            };
            let role = row.invitation.role.clone();
            match app
                .respond_by_id(&world.users[user], id, guestlist_app::Decision::Accept)
                .await
            {
                // What the role means there, within what its sender holds there now
                // (a live invitation never outgrows its sender: revoke_beyond).
                Ok(_) => Grant::To {
                    user,
                    at: depth,
                    up_to: granted_by(model, role.as_str(), depth, creator, &before),
                },
                Err(_) => Grant::None,
            }
        }
        Op::Webhook { actor, depth } => {
            let _ = app
                .create_webhook(
                    world.actor(actor),
                    guestlist_app::EndpointInput {
                        url: "http://127.0.0.1:9/hook".into(),
                        description: None,
                        kinds: None,
                        space: Some(World::path(depth)),
                    },
                )
                .await;
            Grant::None
        }
        Op::Deprovision { user } => {
            let uid = UserId::parse(&format!("u{user}")).unwrap();
            if app.deprovision_user(p, uid).await.is_ok() {
                model.forgotten.insert(user);
            }
            Grant::None
        }
        Op::ScimUser { tenant, asserts } => {
            let n = model.scim_users.len();
            let name = format!("scim-{tenant}-{n}");
            let made = app
                .scim_create(
                    &world.scim[tenant],
                    guestlist_app::ScimKind::User,
                    serde_json::json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": name,
                        "emails": [{ "value": email_of(asserts) }],
                    }),
                )
                .await;
            if made.is_ok() {
                model.scim_users.push((tenant, asserts, name));
            }
            Grant::None
        }
        Op::AddByEmail {
            actor,
            depth,
            target,
            role,
        } => {
            let added = app
                .add_member(
                    world.actor(actor),
                    World::path(depth),
                    guestlist_app::Account::Email(
                        guestlist_app::domain::Email::parse(&email_of(target)).unwrap(),
                    ),
                    Some(RoleName::parse(ROLES[role]).unwrap()),
                )
                .await;
            if let Ok((outcome, Some(view))) = added {
                let to = view.membership.user_id.as_str().to_owned();
                // No credential of another tenant changes who an address names here:
                // it is its verified owner's, or (once they were deprovisioned) a
                // user this tenant's own key asserted it for.
                let ours = model
                    .scim_users
                    .iter()
                    .any(|(t, a, n)| *t == 0 && *a == target && *n == to);
                let owner = to == format!("u{target}");
                if !(owner || (ours && model.forgotten.contains(&target))) {
                    model.broken = Some(format!(
                        "an add by {}'s address on {} went to {to}",
                        email_of(target),
                        SPACES[depth]
                    ));
                }
                if owner && outcome == guestlist_app::AddOutcome::Pending {
                    model.adds.insert((target, depth), actor);
                }
            }
            Grant::None
        }
        Op::Code {
            actor,
            depth,
            code,
            form,
        } => {
            let made = match form {
                0 => app
                    .create_invite(
                        world.actor(actor),
                        CreateInvite {
                            code: Some(CODES[code].into()),
                            ..link_on(depth)
                        },
                    )
                    .await
                    .is_ok(),
                _ => {
                    model.mirrored += 1;
                    let digest = {
                        use sha2::Digest;
                        let d = sha2::Sha256::digest(CODES[code].as_bytes());
                        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
                        format!("sha256:{hex}")
                    };
                    app.mirror_invite(
                        world.actor(actor),
                        &format!("x{}", model.mirrored),
                        guestlist_app::MirrorInvite {
                            space: World::path(depth),
                            role: None,
                            max_uses: None,
                            uses: 0,
                            expires_at: None,
                            description: None,
                            code: (form == 1).then(|| CODES[code].to_owned()),
                            code_hash: (form == 2).then_some(digest),
                            revoked: false,
                            created_by: None,
                        },
                    )
                    .await
                    .is_ok()
                }
            };
            if made && let Some(first) = model.codes.insert(code, depth) {
                model.broken = Some(format!(
                    "{} became a second link (on {}; the first was on {})",
                    CODES[code], SPACES[depth], SPACES[first]
                ));
            }
            Grant::None
        }
        Op::Leave { user, depth } => {
            let uid = UserId::parse(&format!("u{user}")).unwrap();
            let _ = app
                .remove_member(&world.users[user], World::path(depth), uid)
                .await;
            Grant::None
        }
    }
}

/// What a grant of `role` at `depth` by `grantor` may give: what the role means there,
/// within what the grantor held there (the platform key holds everything).
fn granted_by(
    model: &Model,
    role: &str,
    depth: usize,
    grantor: Who,
    before: &[[Permissions; SPACES.len()]; USERS],
) -> Permissions {
    intersect(
        model.meaning(role, depth).unwrap_or(Permissions::NONE),
        match grantor {
            Who::Platform => Permissions::ALL,
            Who::User(g) => before[g][depth],
        },
    )
}

/// A link on the space at `depth` with every option at its default.
fn link_on(depth: usize) -> CreateInvite {
    CreateInvite {
        space: World::path(depth),
        role: None,
        max_uses: None,
        expires_in_seconds: None,
        description: None,
        allow_narrowing: false,
        requires_approval: false,
        auto_approve_domains: vec![],
        code: None,
    }
}

/// The item an index names, if there are any.
fn pick<'a, T>(items: &'a [T], i: &Index) -> Option<&'a T> {
    (!items.is_empty()).then(|| &items[i.index(items.len())])
}

/// The other invariants, after every step: no enabled endpoint of a space is owned
/// by a user who may no longer manage it (nobody receives events of a space they
/// cannot administer now), and every code of the pool still names the one link it
/// was first made as.
async fn standing(
    world: &World,
    model: &Model,
    now: &[[Permissions; SPACES.len()]; USERS],
) -> Result<(), String> {
    if let Some(broken) = &model.broken {
        return Err(broken.clone());
    }
    for ep in world.app.list_webhooks(&world.platform).await.unwrap() {
        let (Some(space), true) = (&ep.space_path, ep.enabled) else {
            continue;
        };
        let Some(u) = ep
            .created_by
            .strip_prefix('u')
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let d = SPACES.iter().position(|p| *p == space.as_str()).unwrap();
        if !now[u][d].has(Permission::Admin) {
            return Err(format!(
                "u{u} still owns an enabled endpoint of {space} without admin there"
            ));
        }
    }
    let caller = Caller {
        actor: None,
        client: IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    for (&code, &depth) in &model.codes {
        if let Ok(preview) = world.app.preview_invite(&caller, CODES[code]).await
            && preview.space != World::path(depth)
        {
            return Err(format!(
                "{} resolves to {} and not {}",
                CODES[code], preview.space, SPACES[depth]
            ));
        }
    }
    Ok(())
}

fn intersect(a: Permissions, b: Permissions) -> Permissions {
    Permissions::from_bits(a.bits() & b.bits())
}

/// Runs one sequence on a fresh service; an error names the step that broke the
/// invariant.
async fn run(ops: &[Op]) -> Result<(), String> {
    let t = TestApp::spawn().await;
    let platform = t.app.authenticate(t.platform_key()).await.unwrap();
    let mut users = Vec::new();
    for u in 0..USERS {
        // Each user's token vouches for their address (recorded as theirs).
        let token = t.token_as(&format!("u{u}"), Some(&email_of(u)), true, None);
        users.push(t.app.authenticate(&token).await.unwrap());
    }
    let mut world = World {
        app: t.app.clone(),
        platform,
        users,
        scim: Vec::new(),
    };
    let mut model = Model::default();
    for path in SPACES {
        t.app
            .create_space(
                &world.platform,
                NewSpaceInput {
                    path: SpacePath::parse(path).unwrap(),
                    name: None,
                    join_mode: guestlist_app::domain::JoinMode::InviteOnly,
                    member_limit: None,
                },
            )
            .await
            .unwrap();
    }
    // Another tenant, and a SCIM key for each.
    t.app
        .create_space(
            &world.platform,
            NewSpaceInput {
                path: SpacePath::parse(TENANTS[1]).unwrap(),
                name: None,
                join_mode: guestlist_app::domain::JoinMode::InviteOnly,
                member_limit: None,
            },
        )
        .await
        .unwrap();
    for (n, root) in TENANTS.iter().enumerate() {
        let root = SpacePath::parse(root).unwrap();
        let key = t
            .app
            .create_api_key(&format!("idp-{n}"), false, Some(root))
            .await
            .unwrap();
        let (actor, root) = t.app.authenticate_scim(&key).await.unwrap();
        world.scim.push(guestlist_app::ScimCaller {
            actor,
            root,
            base: "http://localhost/scim/v2".into(),
        });
    }
    // u0 runs acme/, u1 may invite there (the alice and carol), u2 runs
    // acme/eng/ (and can be demoted there: u0 stays an admin above).
    let inviter = Permissions::of(&[Permission::Read, Permission::ManageInvites]);
    step(
        &world,
        &mut model,
        &Op::DefineRole {
            depth: 0,
            role: 4,
            bits: inviter.bits(),
        },
    )
    .await;
    step(
        &world,
        &mut model,
        &Op::Provision {
            user: 0,
            depth: 0,
            role: 2,
        },
    )
    .await;
    step(
        &world,
        &mut model,
        &Op::Provision {
            user: 1,
            depth: 0,
            role: 4,
        },
    )
    .await;
    step(
        &world,
        &mut model,
        &Op::Provision {
            user: 2,
            depth: 1,
            role: 2,
        },
    )
    .await;
    let mut before = rights(&model, &world.roster().await);
    for (n, op) in ops.iter().enumerate() {
        let grant = step(&world, &mut model, op).await;
        let after = rights(&model, &world.roster().await);
        for u in 0..USERS {
            for d in 0..SPACES.len() {
                let gained = minus(after[u][d], before[u][d]);
                if gained.is_empty() {
                    continue;
                }
                let justified = match grant {
                    Grant::Platform => true,
                    Grant::To { user, at, up_to } => user == u && d >= at && up_to.covers(gained),
                    Grant::None => false,
                };
                if !justified {
                    return Err(format!(
                        "step {n} ({op:?}): u{u} gained {:?} on {} that nobody entitled granted",
                        gained.list(),
                        SPACES[d]
                    ));
                }
            }
        }
        standing(&world, &model, &after)
            .await
            .map_err(|e| format!("step {n} ({op:?}): {e}"))?;
        before = after;
    }
    // Whatever the sequence did, each event it recorded is its kind's declared shape.
    t.events_conform().await?;
    Ok(())
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn nobody_holds_more_than_was_granted() {
    // Fewer cases on PostgreSQL: each makes a database of its own.
    let default_cases = if postgres_url().is_some() { 64 } else { 256 };
    let cases = env_number("GUESTLIST_PROPTEST_CASES").unwrap_or(default_cases) as u32;
    let seed = env_number("GUESTLIST_PROPTEST_SEED").unwrap_or(18);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = runner.run(&proptest::collection::vec(op(), 1..30), |ops| {
        rt.block_on(run(&ops)).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("seed {seed}: {e}");
    }
}
