//! The list of every use case of the application layer, and the test that holds each
//! one that writes memberships, identities, codes or standing capabilities to the one
//! rule for it.
//!
//! A use case is a transaction the store runs: an `operation!` or an
//! `impl Operation`. The test reads this crate's sources, finds every use case, and
//! follows calls (by function name, within the crate) to learn what each can write
//! and which rule functions it reaches. It fails when a use case is missing from
//! [`USE_CASES`] (a new door must be declared), when what it writes differs from what
//! is declared (a new write must be declared), and when one that writes does not reach
//! its declared rule. See docs/ARCHITECTURE.md, "The checklist for a new door".

/// What a use case may write, of what matters to the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Writes {
    /// Makes someone hold rights: a membership inserted, activated or its role set.
    Membership,
    /// Binds an identity to a user: identities, SCIM users, sessions.
    Identity,
    /// Claims an invite code (in any of its forms).
    Code,
    /// Creates or renews a standing capability: a link, an invitation, a platform
    /// invitation, a webhook endpoint (enabled, re-pointed or re-keyed), an API key.
    Standing,
}

/// The one rule a writing use case answers to, and the functions that hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Writes none of the above.
    Nothing,
    /// The grant ceiling: `require_can_grant`, `check_grant` or `link_grant`
    /// (`ceiling.rs`).
    Ceiling,
    /// Redeems an offer made under the ceiling (a link, an invitation, a pending add,
    /// an open space): the membership lifecycle, `admit` or `activate`
    /// (`ops/admission.rs`), with the offer's own ceiling check (`link_grant`) where a
    /// link is narrowed.
    Offer,
    /// Administration of a space (webhook endpoints): `require_visible` or
    /// `subtrees_with` with `admin`, and `disable_endpoints_beyond` keeps it true.
    Admin,
    /// A platform administrator only: `platform_admin` / `is_platform_admin`.
    Platform,
    /// The sign-up gate's rule for platform invitations: a platform administrator, or
    /// a user while the gate lets users invite, within their quota
    /// (`take_inviter_quota`).
    Gate,
    /// The service itself (a sweeper, a sender, the sign-in handoff, an import by the
    /// platform key): reached from no request of another person.
    Service,
}

impl Rule {
    /// The functions any one of which holds the rule.
    fn holders(self) -> &'static [&'static str] {
        match self {
            Rule::Nothing | Rule::Service => &[],
            Rule::Ceiling => &["require_can_grant", "check_grant", "link_grant"],
            Rule::Offer => &["admit", "activate"],
            Rule::Admin => &["require_visible", "subtrees_with"],
            Rule::Platform => &["platform_admin", "is_platform_admin"],
            Rule::Gate => &["take_inviter_quota"],
        }
    }
}

/// The raw writers of each kind (methods of `Tx`).
const WRITERS: &[(Writes, &[&str])] = &[
    (
        Writes::Membership,
        &[
            "insert_membership",
            "set_membership_role",
            "activate_membership",
        ],
    ),
    (
        Writes::Identity,
        &[
            "put_identities",
            "insert_scim_user",
            "update_scim_user",
            "insert_session",
        ],
    ),
    (Writes::Code, &["insert_invite", "mirror_invite"]),
    (
        Writes::Standing,
        &[
            "insert_invite",
            "insert_invitation",
            "reissue_invitation",
            "insert_platform_invitation",
            "reissue_platform_invitation",
            "insert_endpoint",
            "update_endpoint",
            "rotate_endpoint",
            "insert_api_key",
        ],
    ),
];

use Rule::*;
use Writes::*;

/// Where each raw writer of memberships may be called: the membership lifecycle
/// (`admit`, `activate`), an admin's role change and an owner's pending add, each
/// behind its rule. Any other function calling one fails the test.
const MEMBERSHIP_WRITERS_LIVE_IN: &[&str] = &[
    "admission::admit",
    "admission::activate",
    "members::ChangeRole",
    "requests::OwnerAdd",
];

/// Every use case, by `file::Name`, with what it writes and the rule it answers to.
#[rustfmt::skip]
pub(crate) const USE_CASES: &[(&str, &[Writes], Rule)] = &[
    ("auth::ApiKeyByHash", &[], Nothing),
    // `guestlist api-key create`: the operator at the machine, not a request.
    ("auth::InsertApiKey", &[Standing], Service),
    ("auth::ListKeys", &[], Nothing),
    ("auth::RevokeKey", &[], Nothing),
    ("auth::SpaceExists", &[], Nothing),
    ("events::Feed", &[], Nothing),
    ("events::LastSeq", &[], Nothing),
    ("events::ListEvents", &[], Nothing),
    ("imports::ImportBatch", &[Code, Standing], Ceiling),
    ("invitations::CarriedInvitation", &[], Nothing),
    ("invitations::Create", &[Standing], Ceiling),
    ("invitations::ExpireKeys", &[], Nothing),
    ("invitations::Get", &[], Nothing),
    ("invitations::List", &[], Nothing),
    ("invitations::Mine", &[], Nothing),
    ("invitations::PreviewByToken", &[], Nothing),
    ("invitations::Resend", &[Standing], Ceiling),
    ("invitations::Respond", &[Membership], Offer),
    ("invitations::Revoke", &[], Nothing),
    ("invites::AddToFunnels", &[], Nothing),
    ("invites::Count", &[], Nothing),
    ("invites::Create", &[Code, Standing], Ceiling),
    ("invites::List", &[], Nothing),
    ("invites::Mirror", &[Code, Standing], Ceiling),
    ("invites::Preview", &[], Nothing),
    ("invites::Redeem", &[Membership], Offer),
    ("invites::Revoke", &[], Nothing),
    ("invites::ShowLink", &[], Nothing),
    ("mail::Claim", &[], Nothing),
    ("mail::Due", &[], Nothing),
    ("mail::Finish", &[], Nothing),
    ("members::BroughtBy", &[], Nothing),
    ("members::ChangeRole", &[Membership], Ceiling),
    ("members::CheckMany", &[], Nothing),
    ("members::GetMember", &[], Nothing),
    ("members::JoinOpen", &[Membership], Offer),
    ("members::ListMembers", &[], Nothing),
    ("members::MembershipsOf", &[], Nothing),
    ("members::Provision", &[Membership], Platform),
    ("members::RemoveMember", &[], Nothing),
    ("requests::AnswerAdd", &[Membership], Offer),
    ("requests::AskToJoin", &[Membership], Offer),
    ("requests::Cancel", &[], Nothing),
    ("requests::Decide", &[Membership], Ceiling),
    ("requests::Deprovision", &[], Nothing),
    ("requests::ListRequests", &[], Nothing),
    ("requests::MyPending", &[], Nothing),
    ("requests::OwnerAdd", &[Membership], Ceiling),
    // A SCIM key: its groups' memberships are granted under its subtree's ceiling.
    ("scim::Change", &[Membership, Identity], Ceiling),
    ("scim::Create", &[Membership, Identity], Ceiling),
    ("scim::Delete", &[Membership, Identity], Ceiling),
    ("scim::Get", &[], Nothing),
    ("scim::List", &[], Nothing),
    ("sessions::Delete", &[], Nothing),
    ("sessions::Find", &[], Nothing),
    // The pages' sign-in handoff, after the token that names the user was verified.
    ("sessions::Insert", &[Identity], Service),
    ("sessions::Sweep", &[], Nothing),
    ("signup::Claim", &[], Nothing),
    ("signup::Confirm", &[], Nothing),
    ("signup::CreatePlatformInvitation", &[Standing], Gate),
    ("signup::ListPlatformInvitations", &[], Nothing),
    ("signup::ReadGate", &[], Nothing),
    ("signup::ReadReferrals", &[], Nothing),
    ("signup::Release", &[], Nothing),
    // Renewed by a platform administrator, or by its own sender.
    ("signup::ResendPlatformInvitation", &[Standing], Platform),
    ("signup::RevokePlatformInvitation", &[], Nothing),
    ("signup::RevokeSubtree", &[], Nothing),
    ("signup::SetGate", &[], Nothing),
    ("signup::Sweep", &[], Nothing),
    ("signup::Tree", &[], Nothing),
    ("signup::Verify", &[], Nothing),
    ("spaces::CreateRole", &[], Nothing),
    ("spaces::CreateSpace", &[], Nothing),
    ("spaces::GetSpace", &[], Nothing),
    ("spaces::ListRoles", &[], Nothing),
    ("spaces::ListSpaces", &[], Nothing),
    ("spaces::UpdateSpace", &[], Nothing),
    ("users::GetIdentities", &[], Nothing),
    // What a verified token vouches for, recorded as it is authenticated.
    ("users::Remember", &[Identity], Service),
    ("users::SetIdentities", &[Identity], Platform),
    ("webhooks::AttemptsMade", &[], Nothing),
    ("webhooks::ClaimDelivery", &[], Nothing),
    ("webhooks::CreateEndpoint", &[Standing], Admin),
    ("webhooks::DeleteEndpoint", &[], Nothing),
    ("webhooks::Dispatch", &[], Nothing),
    ("webhooks::DueDeliveries", &[], Nothing),
    ("webhooks::GetEndpoint", &[], Nothing),
    ("webhooks::ListDeliveries", &[], Nothing),
    ("webhooks::ListEndpoints", &[], Nothing),
    ("webhooks::QueueDepths", &[], Nothing),
    ("webhooks::Redeliver", &[], Nothing),
    ("webhooks::Replay", &[], Nothing),
    ("webhooks::RotateSecret", &[Standing], Admin),
    ("webhooks::SweepExpired", &[], Nothing),
    ("webhooks::TestEndpoint", &[], Nothing),
    ("webhooks::UpdateEndpoint", &[Standing], Admin),
];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use super::*;

    /// One function body or use case body, by the name it is called by.
    struct Item {
        name: String,
        /// `file::name`, for a function; `file::Name` for a use case.
        qualified: String,
        /// `file::Name` for a use case.
        use_case: Option<String>,
        body: String,
    }

    /// The source with comments, strings and char literals blanked, so braces and
    /// calls are read from code only.
    fn code_only(src: &str) -> String {
        let b = src.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    while i < b.len() && b[i] != b'\n' {
                        out.push(b' ');
                        i += 1;
                    }
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                        out.push(b' ');
                        i += 1;
                    }
                    out.extend_from_slice(b"  ");
                    i += 2;
                }
                b'"' => {
                    out.push(b'"');
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        if b[i] == b'\\' {
                            out.push(b' ');
                            i += 1;
                        }
                        out.push(b' ');
                        i += 1;
                    }
                    out.push(b'"');
                    i += 1;
                }
                b'\'' if b.get(i + 2) == Some(&b'\'') => {
                    out.extend_from_slice(b"' '");
                    i += 3;
                }
                b'\'' if b.get(i + 1) == Some(&b'\\') => {
                    out.push(b'\'');
                    i += 1;
                    while i < b.len() && b[i] != b'\'' {
                        out.push(b' ');
                        i += 1;
                    }
                    out.push(b'\'');
                    i += 1;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).expect("ASCII blanks keep UTF-8 whole")
    }

    /// The block starting at the first `{` at or after `from`, before any `;` at depth
    /// zero (a declaration without a body has none).
    fn block(code: &str, from: usize) -> Option<&str> {
        let b = code.as_bytes();
        let mut i = from;
        let mut parens = 0i32;
        while i < b.len() {
            match b[i] {
                b'(' | b'[' => parens += 1,
                b')' | b']' => parens -= 1,
                b';' if parens == 0 => return None,
                b'{' => break,
                _ => {}
            }
            i += 1;
        }
        let start = i;
        let mut depth = 0;
        for (j, &c) in b.iter().enumerate().skip(start) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(&code[start..=j]);
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn ident_at(code: &str, at: usize) -> String {
        code[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    }

    fn items(file: &str, src: &str) -> Vec<Item> {
        let code = code_only(src);
        let mut out = Vec::new();
        for (at, _) in code.match_indices("operation!(") {
            let name = ident_at(&code, at + "operation!(".len());
            if name.is_empty() {
                continue; // the macro's own definition
            }
            let bar = at
                + code[at..]
                    .find("|,")
                    .map_or_else(|| code[at..].find('|').unwrap_or(0), |_| 0);
            if let Some(body) = block(&code, bar) {
                out.push(Item {
                    qualified: format!("{file}::{name}"),
                    name: name.clone(),
                    use_case: Some(format!("{file}::{name}")),
                    body: body.to_owned(),
                });
            }
        }
        for (at, _) in code.match_indices("Operation for ") {
            let name = ident_at(&code, at + "Operation for ".len());
            if name.is_empty() {
                continue; // the macro's expansion
            }
            if let Some(body) = block(&code, at) {
                out.push(Item {
                    qualified: format!("{file}::{name}"),
                    name: name.clone(),
                    use_case: Some(format!("{file}::{name}")),
                    body: body.to_owned(),
                });
            }
        }
        for (at, _) in code.match_indices("fn ") {
            if at > 0 && code.as_bytes()[at - 1].is_ascii_alphanumeric() {
                continue;
            }
            let name = ident_at(&code, at + 3);
            if name.is_empty() || name == "run" {
                continue;
            }
            if let Some(body) = block(&code, at) {
                out.push(Item {
                    qualified: format!("{file}::{name}"),
                    name,
                    use_case: None,
                    body: body.to_owned(),
                });
            }
        }
        out
    }

    /// Names also used by other crates' types (`Hmac::update`, `Hash::hash`, …): a
    /// call of one on anything but `self` is not followed into this crate's function
    /// of that name. None of this crate's functions of these names writes.
    const FOREIGN: &[&str] = &[
        "new", "default", "from", "fmt", "hash", "update", "is_empty", "split", "of", "cursor",
        "derive", "verify", "validate", "check", "identity",
    ];

    /// The names a body calls (`name(`, `.name(`, `::name(`, `name::<`), each with
    /// whether to follow it into this crate's functions of that name.
    fn calls(body: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let b = body.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            if c != b'('
                && !(c == b':' && b.get(i + 1) == Some(&b':') && b.get(i + 2) == Some(&b'<'))
            {
                continue;
            }
            let end = i;
            let mut start = end;
            while start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_') {
                start -= 1;
            }
            if start == end || !b[start].is_ascii_lowercase() {
                continue;
            }
            let name = &body[start..end];
            let on_self = body[..start].ends_with("self.") || body[..start].ends_with("Self::");
            let follow = on_self || !FOREIGN.contains(&name);
            out.push((name.to_owned(), follow));
        }
        out
    }

    fn sources() -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("use_cases.rs") {
                    // A use case is named by its feature: `ops/invites/redeem.rs` and
                    // `ops/members.rs` are `invites` and `members`.
                    let rel = p.strip_prefix(&root).unwrap().with_extension("");
                    let rel = rel.strip_prefix("ops").unwrap_or(&rel);
                    let file = rel.iter().next().unwrap().to_string_lossy().into_owned();
                    out.push((file, std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
        out
    }

    /// For each use case: what it can write and which names it reaches.
    fn reach() -> BTreeMap<String, (BTreeSet<Writes>, BTreeSet<String>)> {
        let all: Vec<Item> = sources().iter().flat_map(|(f, s)| items(f, s)).collect();
        let mut by_name: BTreeMap<&str, Vec<&Item>> = BTreeMap::new();
        for it in all.iter().filter(|i| i.use_case.is_none()) {
            by_name.entry(&it.name).or_default().push(it);
        }
        let mut out = BTreeMap::new();
        for uc in all.iter().filter(|i| i.use_case.is_some()) {
            let mut reached = BTreeSet::new();
            let mut todo = vec![&uc.body];
            let mut seen = BTreeSet::new();
            while let Some(body) = todo.pop() {
                for (name, follow) in calls(body) {
                    reached.insert(name.clone());
                    if !follow {
                        continue;
                    }
                    for f in by_name.get(name.as_str()).into_iter().flatten() {
                        if seen.insert(f.body.as_ptr() as usize) {
                            todo.push(&f.body);
                        }
                    }
                }
            }
            let writes = WRITERS
                .iter()
                .filter(|(_, fns)| fns.iter().any(|f| reached.contains(*f)))
                .map(|(w, _)| *w)
                .collect();
            out.insert(uc.use_case.clone().unwrap(), (writes, reached));
        }
        out
    }

    fn declared() -> BTreeMap<&'static str, (BTreeSet<Writes>, Rule)> {
        let mut out = BTreeMap::new();
        for (name, writes, rule) in USE_CASES {
            let again = out.insert(*name, (writes.iter().copied().collect(), *rule));
            assert!(again.is_none(), "{name} is listed twice");
        }
        out
    }

    #[test]
    fn every_use_case_is_listed_with_what_it_writes() {
        let found = reach();
        let declared = declared();
        let mut wrong = Vec::new();
        for (uc, (writes, _)) in &found {
            match declared.get(uc.as_str()) {
                None => wrong.push(format!("{uc} (writes {writes:?}) is not in USE_CASES")),
                Some((w, _)) if w != writes => {
                    wrong.push(format!("{uc} writes {writes:?}, USE_CASES says {w:?}"))
                }
                _ => {}
            }
        }
        for uc in declared.keys() {
            if !found.contains_key(*uc) {
                wrong.push(format!("{uc} is in USE_CASES but no longer in the code"));
            }
        }
        assert!(
            found.len() > 80,
            "the sources were read: {} use cases",
            found.len()
        );
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn every_use_case_that_writes_reaches_its_rule() {
        let found = reach();
        let mut wrong = Vec::new();
        for (uc, (writes, rule)) in declared() {
            let reached = found.get(uc).map(|f| &f.1);
            match rule {
                Nothing if !writes.is_empty() => {
                    wrong.push(format!("{uc} writes but names no rule"))
                }
                Nothing | Service => {}
                _ if writes.is_empty() => {
                    wrong.push(format!("{uc} writes nothing: its rule is Nothing"))
                }
                rule => {
                    if !rule
                        .holders()
                        .iter()
                        .any(|h| reached.is_some_and(|r| r.contains(*h)))
                    {
                        wrong.push(format!(
                            "{uc} writes {writes:?} without reaching {rule:?} ({:?})",
                            rule.holders()
                        ));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn memberships_are_written_only_by_the_lifecycle_and_its_two_doors() {
        let writers = WRITERS.iter().find(|(w, _)| *w == Membership).unwrap().1;
        let mut wrong = Vec::new();
        for (file, src) in sources() {
            for item in items(&file, &src) {
                let direct: Vec<String> = calls(&item.body)
                    .into_iter()
                    .map(|(n, _)| n)
                    .filter(|n| writers.contains(&n.as_str()))
                    .collect();
                if !direct.is_empty()
                    && !MEMBERSHIP_WRITERS_LIVE_IN.contains(&item.qualified.as_str())
                {
                    wrong.push(format!("{} calls {direct:?}", item.qualified));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn the_reader_sees_through_comments_strings_and_calls() {
        let src = "// fn fake() { insert_membership() }\nfn real(a: &str) { let s = \"}{\"; helper(a); tx.insert_invite(x); }\nfn helper(_: &str) { let c = '{'; }";
        let items = items("f", src);
        let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["real", "helper"]);
        let called: Vec<String> = calls(&items[0].body).into_iter().map(|(n, _)| n).collect();
        assert_eq!(called, ["helper", "insert_invite"]);
        assert_eq!(
            calls("h.update(x); self.update(y)"),
            [("update".into(), false), ("update".into(), true)]
        );
    }
}
