//! Output and input types, and their conversions from the application's results.

use async_graphql::{ID, InputObject, Json, SimpleObject};
use guestlist_app::domain;
pub use guestlist_app::domain::{
    AddOutcome, DeliveryState, InvitationOutcome, InvitationStatus, InviteState, JoinMode,
    JoinOutcome,
};
use guestlist_app::store::EventRow;
use guestlist_app::{
    InvitationResponse, InvitationResult, InvitationView, InviteCreated, InviteView,
    MembershipView, SpaceView,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[derive(SimpleObject, Debug)]
pub struct Space {
    pub path: String,
    pub name: String,
    pub join_mode: JoinMode,
    pub member_limit: Option<u32>,
    pub member_count: u32,
    pub created_at: String,
    /// The caller's effective permissions here (inherited down the tree).
    pub your_permissions: Vec<String>,
}

pub fn permissions(p: domain::Permissions) -> Vec<String> {
    p.list()
        .into_iter()
        .map(|p| p.as_str().to_owned())
        .collect()
}

impl From<SpaceView> for Space {
    fn from(v: SpaceView) -> Self {
        let s = v.space;
        Space {
            path: s.path.to_string(),
            name: s.name,
            join_mode: s.join_mode,
            member_limit: s.member_limit,
            member_count: s.member_count,
            created_at: ts(s.created_at),
            your_permissions: permissions(v.your_permissions),
        }
    }
}

/// A membership: a grant of a role on a space.
#[derive(SimpleObject, Debug)]
pub struct Member {
    pub id: ID,
    pub user_id: String,
    pub space: String,
    pub role: String,
    pub status: String,
    pub source: String,
    pub invite_id: Option<ID>,
    pub joined_at: String,
}

impl From<MembershipView> for Member {
    fn from(v: MembershipView) -> Self {
        let m = v.membership;
        Member {
            id: ID(m.id.to_string()),
            user_id: m.user_id.to_string(),
            space: v.space.to_string(),
            role: m.role.to_string(),
            status: m.status.as_str().to_owned(),
            source: m.source.as_str().to_owned(),
            invite_id: m.invite_id.map(|i| ID(i.to_string())),
            joined_at: ts(m.created_at),
        }
    }
}

/// An invite link as its managers see it: never its token.
#[derive(SimpleObject, Debug)]
pub struct InviteLink {
    pub id: ID,
    pub space_prefix: String,
    pub role: String,
    pub state: InviteState,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub uses_left: Option<u32>,
    pub expires_at: Option<String>,
    pub description: Option<String>,
    pub allow_narrowing: bool,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<InviteView> for InviteLink {
    fn from(v: InviteView) -> Self {
        let i = v.invite;
        InviteLink {
            id: ID(i.id.to_string()),
            space_prefix: i.space_path.to_string(),
            role: i.role.to_string(),
            state: v.state,
            max_uses: i.max_uses,
            uses: i.uses,
            uses_left: i.max_uses.map(|m| m.saturating_sub(i.uses)),
            expires_at: i.expires_at.map(ts),
            description: i.description,
            allow_narrowing: i.allow_narrowing,
            created_by: i.created_by,
            created_at: ts(i.created_at),
            revoked_at: i.revoked_at.map(ts),
        }
    }
}

/// A new invite link: the only answer that carries its token.
#[derive(SimpleObject, Debug)]
pub struct CreatedInviteLink {
    pub token: String,
    pub link: String,
    pub invite_link: InviteLink,
}

impl From<InviteCreated> for CreatedInviteLink {
    fn from(c: InviteCreated) -> Self {
        CreatedInviteLink {
            token: c.code,
            link: c.link,
            invite_link: c.invite.into(),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct RedeemResult {
    pub outcome: JoinOutcome,
    pub space_prefix: String,
    pub role: String,
    /// The grant on `spacePrefix`; null when the rights come from an ancestor.
    pub grant: Option<Member>,
    /// For REQUESTED: the join request waiting for approval.
    pub join_request_id: Option<ID>,
}

#[derive(SimpleObject, Debug)]
pub struct InviteLinkPreview {
    pub space_prefix: String,
    pub space_name: String,
    pub join_mode: JoinMode,
    pub member_count: u32,
    pub role: String,
    pub inviter: String,
    pub expires_at: Option<String>,
    pub max_uses: Option<u32>,
    pub uses_left: Option<u32>,
    pub allow_narrowing: bool,
}

impl From<guestlist_app::InvitePreview> for InviteLinkPreview {
    fn from(p: guestlist_app::InvitePreview) -> Self {
        InviteLinkPreview {
            space_prefix: p.space.to_string(),
            space_name: p.space_name,
            join_mode: p.join_mode,
            member_count: p.member_count,
            role: p.role.to_string(),
            inviter: p.inviter,
            expires_at: p.expires_at.map(ts),
            max_uses: p.max_uses,
            uses_left: p.uses_left,
            allow_narrowing: p.allow_narrowing,
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct Role {
    pub name: String,
    pub permissions: Vec<String>,
}

#[derive(SimpleObject, Debug)]
pub struct Event {
    pub seq: i64,
    pub id: ID,
    pub kind: String,
    pub space_prefix: Option<String>,
    pub actor: String,
    pub subject: Option<String>,
    pub data: Json<serde_json::Value>,
    pub created_at: String,
}

impl From<EventRow> for Event {
    fn from(e: EventRow) -> Self {
        Event {
            seq: e.seq,
            id: ID(e.id.to_string()),
            kind: e.kind,
            space_prefix: e.space_path.map(|p| p.to_string()),
            actor: e.actor,
            subject: e.subject,
            data: Json(serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null)),
            created_at: ts(e.created_at),
        }
    }
}

// Reusable nested filters, as in the seed.

/// Matches a space prefix: `startsWith` a subtree, or `in` a list of exact prefixes.
#[derive(InputObject, Debug, Default)]
pub struct PrefixFilter {
    pub starts_with: Option<String>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<String>>,
}

#[derive(InputObject, Debug, Default)]
pub struct StringFilter {
    pub eq: Option<String>,
}

#[derive(InputObject, Debug, Default)]
pub struct BoolFilter {
    pub eq: Option<bool>,
}

#[derive(InputObject, Debug, Default)]
pub struct InviteLinkStateFilter {
    pub eq: Option<InviteState>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<InviteState>>,
}

/// Every present part must match (AND). It can only narrow what the caller may see.
#[derive(InputObject, Debug, Default)]
pub struct InviteLinksFilter {
    pub space: Option<PrefixFilter>,
    pub state: Option<InviteLinkStateFilter>,
    pub created_by: Option<StringFilter>,
    pub revoked: Option<BoolFilter>,
}

/// Matches a space and everything beneath it.
#[derive(InputObject, Debug, Default)]
pub struct SubtreeFilter {
    pub starts_with: Option<String>,
}

#[derive(InputObject, Debug, Default)]
pub struct EventsFilter {
    pub space: Option<SubtreeFilter>,
    pub kind: Option<StringFilter>,
}

/// Where an invitation's latest e-mail is.
#[derive(SimpleObject, Debug)]
pub struct Delivery {
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

/// An invitation addressed to one person. Never carries its token.
#[derive(SimpleObject, Debug)]
pub struct Invitation {
    pub id: ID,
    pub space_prefix: String,
    pub role: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub user_id: Option<String>,
    pub message: Option<String>,
    pub status: InvitationStatus,
    pub expires_at: String,
    pub sends: u32,
    pub delivery: Option<Delivery>,
    pub invited_by: String,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

impl From<InvitationView> for Invitation {
    fn from(v: InvitationView) -> Self {
        let i = v.invitation;
        Invitation {
            id: ID(i.id.to_string()),
            space_prefix: i.space_path.to_string(),
            role: i.role.to_string(),
            email: i.addressee.email.map(|e| e.to_string()),
            username: i.addressee.username.map(|u| u.to_string()),
            user_id: i.addressee.user_id.map(|u| u.to_string()),
            message: i.message,
            status: v.status,
            expires_at: ts(i.expires_at),
            sends: i.sends,
            delivery: i.delivery.map(|d| Delivery {
                state: d.state,
                attempts: d.attempts,
                last_error: d.last_error,
                sent_at: d.sent_at.map(ts),
            }),
            invited_by: i.created_by,
            created_at: ts(i.created_at),
            decided_by: i.decided_by,
            decided_at: i.decided_at.map(ts),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct CreateInvitationResult {
    pub outcome: InvitationOutcome,
    pub invitation: Option<Invitation>,
    pub grant: Option<Member>,
}

impl From<InvitationResult> for CreateInvitationResult {
    fn from(r: InvitationResult) -> Self {
        CreateInvitationResult {
            outcome: r.outcome,
            invitation: r.invitation.map(Into::into),
            grant: r.membership.map(Into::into),
        }
    }
}

/// What accepting or declining did.
#[derive(SimpleObject, Debug)]
pub struct InvitationAnswer {
    pub invitation: Invitation,
    /// For an accept: JOINED, UPGRADED or ALREADY_MEMBER.
    pub outcome: Option<JoinOutcome>,
    pub grant: Option<Member>,
}

impl From<InvitationResponse> for InvitationAnswer {
    fn from(r: InvitationResponse) -> Self {
        InvitationAnswer {
            invitation: r.invitation.into(),
            outcome: r.outcome,
            grant: r.membership.map(Into::into),
        }
    }
}

#[derive(InputObject, Default, Debug)]
pub struct InvitationStatusFilter {
    pub eq: Option<InvitationStatus>,
}

#[derive(InputObject, Default, Debug)]
pub struct InvitationsFilter {
    pub space: Option<SubtreeFilter>,
    pub status: Option<InvitationStatusFilter>,
    pub email: Option<StringFilter>,
}

/// The sign-up gate as anyone may see it.
#[derive(SimpleObject, Debug)]
pub struct SignupConfig {
    /// open, invite_only or capped.
    pub mode: String,
    pub cap: Option<u32>,
    pub remaining: Option<u32>,
}

impl From<guestlist_app::GateView> for SignupConfig {
    fn from(g: guestlist_app::GateView) -> Self {
        SignupConfig {
            mode: g.gate.mode().to_owned(),
            cap: g.gate.cap,
            remaining: g.remaining,
        }
    }
}

/// A request to join a space.
#[derive(SimpleObject, Debug)]
pub struct JoinRequest {
    pub id: ID,
    pub space_prefix: String,
    pub user_id: String,
    pub role: String,
    pub message: Option<String>,
    /// pending, approved, denied or cancelled.
    pub status: String,
    pub created_at: String,
    pub decided_by: Option<String>,
}

impl From<guestlist_app::JoinRequestView> for JoinRequest {
    fn from(v: guestlist_app::JoinRequestView) -> Self {
        let r = v.request;
        JoinRequest {
            id: ID(r.id.to_string()),
            space_prefix: r.space_path.to_string(),
            user_id: r.user_id.to_string(),
            role: r.role.to_string(),
            message: r.message,
            status: r.status.as_str().to_owned(),
            created_at: ts(r.created_at),
            decided_by: r.decided_by,
        }
    }
}

/// What asking to join did: REQUESTED, JOINED (an open space) or ALREADY_MEMBER.
#[derive(SimpleObject, Debug)]
pub struct AskToJoinResult {
    pub outcome: JoinOutcome,
    pub join_request: Option<JoinRequest>,
    pub grant: Option<Member>,
}

#[derive(SimpleObject, Debug)]
pub struct AddMemberResult {
    pub outcome: AddOutcome,
    /// Null when the rights come from a parent space.
    pub grant: Option<Member>,
}

/// Everything waiting for the caller.
#[derive(SimpleObject, Debug)]
pub struct PendingItems {
    pub invitations: Vec<Invitation>,
    /// Owners' adds waiting for consent.
    pub grants: Vec<Member>,
    pub join_requests: Vec<JoinRequest>,
}

/// A platform invitation (never its token).
#[derive(SimpleObject, Debug)]
pub struct PlatformInvitation {
    pub id: ID,
    pub email: Option<String>,
    pub state: InviteState,
    pub max_uses: u32,
    pub uses: u32,
    pub invited_by: String,
    pub expires_at: Option<String>,
    pub created_at: String,
}

impl From<guestlist_app::PlatformInvitationView> for PlatformInvitation {
    fn from(v: guestlist_app::PlatformInvitationView) -> Self {
        let i = v.invitation;
        PlatformInvitation {
            id: ID(i.id.to_string()),
            email: i.email.map(|e| e.to_string()),
            state: v.state,
            max_uses: i.max_uses,
            uses: i.uses,
            invited_by: i.invited_by,
            expires_at: i.expires_at.map(ts),
            created_at: ts(i.created_at),
        }
    }
}

/// A new platform invitation: the only answer with its token.
#[derive(SimpleObject, Debug)]
pub struct CreatedPlatformInvitation {
    pub token: String,
    pub link: String,
    pub invitation: PlatformInvitation,
}

#[derive(SimpleObject, Debug)]
pub struct ReferralCounts {
    pub invited: u32,
    pub joined: u32,
    pub pending: u32,
    pub expired: u32,
    pub revoked: u32,
}

#[derive(SimpleObject, Debug)]
pub struct Referrals {
    pub inviter: String,
    pub counts: ReferralCounts,
    pub invitations: Vec<PlatformInvitation>,
    /// The user ids who signed up through the inviter's invitations.
    pub joined: Vec<String>,
}

impl From<guestlist_app::Referrals> for Referrals {
    fn from(r: guestlist_app::Referrals) -> Self {
        let c = r.counts;
        Referrals {
            inviter: r.inviter,
            counts: ReferralCounts {
                invited: c.invited,
                joined: c.joined,
                pending: c.pending,
                expired: c.expired,
                revoked: c.revoked,
            },
            invitations: r.invitations.into_iter().map(|(v, _)| v.into()).collect(),
            joined: r
                .joined
                .into_iter()
                .map(|s| s.user_id.to_string())
                .collect(),
        }
    }
}
