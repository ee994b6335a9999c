//! The event catalogue: every kind of event the log records, what its subject is and
//! what its `data` holds. The log, the forward feed, the live stream and webhooks all
//! carry these; `docs/EVENTS.md` and the OpenAPI document's `webhooks` are generated
//! from this table and a test fails when they drift.

/// One kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    pub name: &'static str,
    /// Raised when a field is removed or changes meaning; adding a field does not.
    pub version: u32,
    pub summary: &'static str,
    /// What `subject` names, if anything.
    pub subject: Option<&'static str>,
    /// The fields of `data`: name, type, meaning.
    pub data: &'static [(&'static str, &'static str, &'static str)],
}

const fn kind(
    name: &'static str,
    summary: &'static str,
    subject: Option<&'static str>,
    data: &'static [(&'static str, &'static str, &'static str)],
) -> EventKind {
    EventKind {
        name,
        version: 1,
        summary,
        subject,
        data,
    }
}

const USER: Option<&str> = Some("the user id");
const ROLE: (&str, &str, &str) = ("role", "string", "the role");

/// Every kind, grouped by what it is about.
pub const CATALOGUE: &[EventKind] = &[
    kind(
        "space.created",
        "A space was created.",
        None,
        &[
            ("name", "string", "its display name"),
            ("join_mode", "string", "open, request or invite_only"),
            (
                "member_limit",
                "integer|null",
                "the most members it may have",
            ),
        ],
    ),
    kind(
        "space.updated",
        "A space's name, join mode or member limit changed; absent fields did not.",
        None,
        &[
            ("name", "string|null", "the new name"),
            ("join_mode", "string|null", "the new join mode"),
            ("member_limit", "integer|null", "the new limit"),
        ],
    ),
    kind(
        "role.created",
        "A custom role was defined on a space.",
        None,
        &[
            ("role", "string", "its name"),
            ("permissions", "array", "what it grants"),
        ],
    ),
    kind(
        "member.joined",
        "A user became an active member: through a link, an accepted invitation, an approved request, an open space or an owner's add.",
        USER,
        &[
            ROLE,
            (
                "source",
                "string",
                "invite, invitation, request, open, owner_add or provisioned",
            ),
            ("invite_id", "uuid|null", "the link redeemed, if any"),
        ],
    ),
    kind(
        "member.added",
        "An owner added a user, who has yet to accept (status pending).",
        USER,
        &[
            ROLE,
            ("status", "string", "pending"),
            ("source", "string", "owner_add"),
            ("membership_id", "uuid", "the pending membership"),
        ],
    ),
    kind(
        "member.declined",
        "A user declined an owner's add.",
        USER,
        &[ROLE],
    ),
    kind(
        "member.add_withdrawn",
        "A pending add was withdrawn because its sponsor lost the right to grant it.",
        USER,
        &[ROLE],
    ),
    kind(
        "member.role_changed",
        "A member's role changed: by an admin, or upgraded by a link or invitation.",
        USER,
        &[
            ("from", "string", "the role before"),
            ("to", "string", "the role after"),
            (
                "reason",
                "string",
                "changed, or the source of an upgrade (invite, invitation, …)",
            ),
            (
                "invite_id",
                "uuid|null",
                "the link that upgraded it, if any",
            ),
        ],
    ),
    kind(
        "member.removed",
        "A member was removed by an admin, or deprovisioned.",
        USER,
        &[
            ROLE,
            ("reason", "string|null", "deprovisioned, when it was"),
        ],
    ),
    kind("member.left", "A member left the space.", USER, &[ROLE]),
    kind(
        "invite.created",
        "A shareable invite link was created (the code itself is never in an event).",
        None,
        &[
            ("invite_id", "uuid", "the link"),
            ROLE,
            ("max_uses", "integer|null", "how many uses it allows"),
            (
                "expires_at",
                "integer|null",
                "when it stops working (Unix seconds)",
            ),
            (
                "allow_narrowing",
                "boolean",
                "whether a redeemer may take a lesser role",
            ),
            (
                "code",
                "string",
                "how its code was made: generated, chosen (a vanity code), carried (from another system) or hashed (carried as a digest: never shown)",
            ),
            (
                "external_id",
                "string|null",
                "the id another system knows it by, when mirrored",
            ),
        ],
    ),
    kind(
        "invite.updated",
        "A link mirrored from another system changed there (`PUT /invites/by-external-id/{id}`).",
        None,
        &[
            ("invite_id", "uuid", "the link"),
            (
                "external_id",
                "string",
                "the id the other system knows it by",
            ),
            ("max_uses", "integer|null", "how many uses it allows now"),
            (
                "expires_at",
                "integer|null",
                "when it stops working now (Unix seconds)",
            ),
            ("uses", "integer", "its uses, counting those made elsewhere"),
        ],
    ),
    kind(
        "invite.revoked",
        "An invite link was revoked, by a manager or because its creator lost the right to grant it.",
        None,
        &[
            ("invite_id", "uuid", "the link"),
            ("reason", "string|null", "why, when not by hand"),
        ],
    ),
    kind(
        "invitation.created",
        "An invitation was addressed to one person.",
        Some("the addressee's user id, when addressed to a user"),
        &[
            ("invitation_id", "uuid", "the invitation"),
            ROLE,
            ("email", "string|null", "the address it was sent to"),
            ("username", "string|null", "the username it is for"),
            ("expires_at", "integer", "its expiry (Unix seconds)"),
        ],
    ),
    kind(
        "invitation.resent",
        "An invitation was sent again with a new token and expiry.",
        None,
        &[
            ("invitation_id", "uuid", "the invitation"),
            ("sends", "integer", "how many times it has been sent"),
        ],
    ),
    kind(
        "invitation.accepted",
        "An invitation was accepted (a space's, or a platform invitation at sign-up).",
        USER,
        &[
            ("invitation_id", "uuid", "the invitation"),
            ("user_id", "string", "who accepted"),
            ("email", "string|null", "the address it was sent to"),
            ("invited_by", "string", "who sent it"),
            ("role", "string", "the role (a space's invitation)"),
        ],
    ),
    kind(
        "invitation.declined",
        "An invitation was declined.",
        USER,
        &[
            ("invitation_id", "uuid", "the invitation"),
            ("user_id", "string", "who declined"),
            ("invited_by", "string", "who sent it"),
            ROLE,
        ],
    ),
    kind(
        "invitation.revoked",
        "An invitation was revoked: by hand, because its sender lost the right to grant it, or (expired) superseded by a new invitation to the same person for another role.",
        None,
        &[
            ("invitation_id", "uuid", "the invitation"),
            (
                "reason",
                "string",
                "absent when by hand; sponsor_demoted, sponsor_removed, sponsor_left, sponsor_deprovisioned, role_defined, key_revoked, or superseded",
            ),
        ],
    ),
    kind(
        "invitation.expired",
        "A pending invitation reached its expiry unanswered. Told once, by the sweeper, within a minute.",
        None,
        &[
            ("invitation_id", "uuid", "the invitation"),
            ("expires_at", "integer", "its expiry (Unix seconds)"),
        ],
    ),
    kind(
        "join_request.created",
        "A user asked to join a space (request mode, or a link that needs approval).",
        USER,
        &[
            ("request_id", "uuid", "the request"),
            ROLE,
            ("invite_id", "uuid|null", "the link it came through, if any"),
        ],
    ),
    kind(
        "join_request.approved",
        "A join request was approved; member.joined follows.",
        USER,
        &[("request_id", "uuid", "the request"), ROLE],
    ),
    kind(
        "join_request.denied",
        "A join request was denied.",
        USER,
        &[("request_id", "uuid", "the request")],
    ),
    kind(
        "join_request.cancelled",
        "The user withdrew their join request.",
        USER,
        &[("request_id", "uuid", "the request")],
    ),
    kind(
        "signup.gate_changed",
        "The platform's sign-up gate settings changed.",
        None,
        &[(
            "mode",
            "string",
            "the gate's mode, and the other settings as set",
        )],
    ),
    kind(
        "signup.confirmed",
        "A sign-up claimed through the gate was confirmed as a user.",
        USER,
        &[
            ("claim_id", "uuid", "the claim"),
            ("user_id", "string", "the new user"),
            ("invited_by", "string|null", "who referred them"),
        ],
    ),
    kind(
        "platform_invitation.created",
        "A platform (sign-up) invitation was created.",
        None,
        &[("invitation_id", "uuid", "the invitation")],
    ),
    kind(
        "platform_invitation.resent",
        "A platform invitation was sent again.",
        None,
        &[
            ("invitation_id", "uuid", "the invitation"),
            ("sends", "integer", "how many times it has been sent"),
        ],
    ),
    kind(
        "platform_invitation.revoked",
        "A platform invitation was revoked, alone or with a referral subtree.",
        None,
        &[
            ("invitation_id", "uuid", "the invitation"),
            ("invited_by", "string", "its sender"),
        ],
    ),
    kind(
        "user.identities_set",
        "The identities a user is known by (verified e-mails, usernames) were replaced.",
        USER,
        &[
            ("emails", "integer", "how many e-mail addresses"),
            ("usernames", "integer", "how many usernames"),
        ],
    ),
    kind(
        "user.deprovisioned",
        "A user was deprovisioned: memberships ended, and what they sponsored revoked. Everywhere (a platform event) by the platform key; within a SCIM key's space (an event there) when an identity provider deactivates or deletes them.",
        USER,
        &[
            (
                "memberships_removed",
                "integer",
                "how many memberships ended",
            ),
            (
                "invites_revoked",
                "integer",
                "how many links, invitations and pending adds they sponsored were revoked",
            ),
            (
                "platform_invitations_revoked",
                "integer",
                "how many of their platform invitations were revoked (everywhere only)",
            ),
            (
                "join_requests_cancelled",
                "integer",
                "how many of their join requests were cancelled",
            ),
            (
                "reason",
                "string",
                "deprovisioned, or deleted (a SCIM user deleted)",
            ),
        ],
    ),
    kind(
        "user.provisioned",
        "An identity provider created a user through SCIM (on the SCIM key's root space).",
        USER,
        &[
            ("scim_id", "string", "the SCIM resource id"),
            ("active", "boolean", "whether the user is active"),
        ],
    ),
    kind(
        "user.reactivated",
        "An identity provider set a deprovisioned user active again: the memberships of their groups are given back.",
        USER,
        &[(
            "memberships",
            "integer",
            "how many memberships were given back",
        )],
    ),
    kind(
        "webhook.endpoint_created",
        "A webhook endpoint was registered (its URL and secret are never in an event).",
        Some("the endpoint id"),
        &[("host", "string", "the host it delivers to")],
    ),
    kind(
        "webhook.endpoint_updated",
        "A webhook endpoint's URL, description, kinds or enabled flag changed.",
        Some("the endpoint id"),
        &[("enabled", "boolean", "whether it is enabled now")],
    ),
    kind(
        "webhook.endpoint_deleted",
        "A webhook endpoint was deleted; what it had queued is cancelled.",
        Some("the endpoint id"),
        &[],
    ),
    kind(
        "webhook.secret_rotated",
        "A webhook endpoint's signing secret was replaced; the previous one still signs until `previous_until`.",
        Some("the endpoint id"),
        &[(
            "previous_until",
            "integer",
            "when the old secret stops signing (Unix seconds)",
        )],
    ),
    kind(
        "webhook.endpoint_disabled",
        "A webhook endpoint was disabled: it answered 410 Gone, failed continuously for the configured period, or its owner may no longer manage it (demoted, removed, left, deprovisioned, or the key revoked); another admin takes it over by enabling it.",
        Some("the endpoint id"),
        &[
            (
                "reason",
                "string",
                "gone, failing, or why its owner's rights ended: sponsor_demoted, sponsor_removed, sponsor_left, sponsor_deprovisioned, role_defined, key_revoked",
            ),
            (
                "owner",
                "string",
                "the owner who lost the right (absent for gone and failing)",
            ),
        ],
    ),
    kind(
        "webhook.test",
        "A test event asked for by the endpoint's owner; delivered only to that endpoint.",
        Some("the endpoint id"),
        &[],
    ),
];

/// The catalogue's entry for a kind.
pub fn event_kind(name: &str) -> Option<&'static EventKind> {
    CATALOGUE.iter().find(|k| k.name == name)
}

/// The catalogue as the Markdown section of `docs/EVENTS.md` (between its
/// `catalogue` markers); a test fails when the committed one differs.
pub fn catalogue_markdown() -> String {
    let mut out = String::new();
    let mut group = "";
    for k in CATALOGUE {
        let g = k.name.split('.').next().unwrap_or_default();
        if g != group {
            group = g;
            out.push_str(&format!("\n### `{g}.*`\n"));
        }
        out.push_str(&format!(
            "\n#### `{}` (version {})\n\n{}\n\n",
            k.name, k.version, k.summary
        ));
        out.push_str(&format!("- subject: {}\n", k.subject.unwrap_or("none")));
        if k.data.is_empty() {
            out.push_str("- data: `{}`\n");
        } else {
            out.push_str("- data:\n");
            for (name, ty, about) in k.data {
                out.push_str(&format!("  - `{name}` ({ty}): {about}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "<!-- catalogue:start -->\n";
    const END: &str = "<!-- catalogue:end -->";

    #[test]
    fn kinds_are_unique_and_well_formed() {
        let mut names: Vec<&str> = CATALOGUE.iter().map(|k| k.name).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a kind is listed twice");
        for k in CATALOGUE {
            let (a, b) = k.name.split_once('.').expect("group.action");
            assert!(
                !a.is_empty()
                    && !b.is_empty()
                    && k.name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
                "{}",
                k.name
            );
        }
    }

    #[test]
    fn docs_events_md_is_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/EVENTS.md");
        let doc = std::fs::read_to_string(path).expect("docs/EVENTS.md exists");
        let (head, rest) = doc
            .split_once(START)
            .expect("docs/EVENTS.md has the start marker");
        let (_, tail) = rest
            .split_once(END)
            .expect("docs/EVENTS.md has the end marker");
        let generated = format!("{head}{START}{}{END}{tail}", catalogue_markdown());
        if std::env::var_os("GUESTLIST_REGENERATE").is_some() {
            std::fs::write(path, &generated).unwrap();
            return;
        }
        assert!(
            doc == generated,
            "docs/EVENTS.md is stale: run `GUESTLIST_REGENERATE=1 cargo test -p guestlist-domain docs_events_md`"
        );
    }
}
