//! From the application's results to wire types.

use guestlist_api as api;
use guestlist_app::domain::Permissions;
use guestlist_app::store::EventRow;
use guestlist_app::{
    BulkResult, InvitationOutcome, InvitationResponse, InvitationResult, InvitationView,
    InviteCreated, InviteView, MembershipView, SpaceView,
};

pub fn permissions(p: Permissions) -> Vec<String> {
    p.list()
        .into_iter()
        .map(|p| p.as_str().to_owned())
        .collect()
}

pub fn space(v: SpaceView) -> api::Space {
    let s = v.space;
    api::Space {
        path: s.path.to_string(),
        name: s.name,
        join_mode: s.join_mode,
        member_limit: s.member_limit,
        member_count: s.member_count,
        created_at: s.created_at,
        your_permissions: permissions(v.your_permissions),
    }
}

pub fn member(v: MembershipView) -> api::Member {
    let m = v.membership;
    api::Member {
        id: m.id,
        user_id: m.user_id.to_string(),
        space: v.space.to_string(),
        role: m.role.to_string(),
        status: m.status.as_str().to_owned(),
        source: m.source.as_str().to_owned(),
        invite_id: m.invite_id,
        joined_at: m.created_at,
    }
}

pub fn invite(v: InviteView) -> api::Invite {
    let i = v.invite;
    api::Invite {
        id: i.id,
        space: i.space_path.to_string(),
        role: i.role.to_string(),
        state: v.state,
        max_uses: i.max_uses,
        uses: i.uses,
        uses_left: i.max_uses.map(|m| m.saturating_sub(i.uses)),
        expires_at: i.expires_at,
        description: i.description,
        allow_narrowing: i.allow_narrowing,
        created_by: i.created_by,
        created_at: i.created_at,
        revoked_at: i.revoked_at,
        requires_approval: i.requires_approval,
        auto_approve_domains: i.auto_approve_domains,
    }
}

pub fn invite_with_link(c: InviteCreated) -> api::InviteWithLink {
    api::InviteWithLink {
        code: c.code,
        link: c.link,
        invite: invite(c.invite),
    }
}

pub fn event(e: EventRow) -> api::Event {
    api::Event {
        seq: e.seq,
        id: e.id,
        kind: e.kind,
        space: e.space_path.map(|p| p.to_string()),
        actor: e.actor,
        subject: e.subject,
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
        created_at: e.created_at,
    }
}

pub fn invitation(v: InvitationView) -> api::Invitation {
    let i = v.invitation;
    api::Invitation {
        id: i.id,
        space: i.space_path.to_string(),
        role: i.role.to_string(),
        email: i.addressee.email.map(|e| e.to_string()),
        username: i.addressee.username.map(|u| u.to_string()),
        user_id: i.addressee.user_id.map(|u| u.to_string()),
        message: i.message,
        status: v.status,
        expires_at: i.expires_at,
        sends: i.sends,
        delivery: i.delivery.map(|d| api::Delivery {
            state: d.state,
            attempts: d.attempts,
            last_error: d.last_error,
            sent_at: d.sent_at,
        }),
        invited_by: i.created_by,
        created_at: i.created_at,
        decided_by: i.decided_by,
        decided_at: i.decided_at,
    }
}

pub fn invitation_result(r: InvitationResult) -> api::InvitationResult {
    api::InvitationResult {
        outcome: r.outcome,
        invitation: r.invitation.map(invitation),
        membership: r.membership.map(member),
    }
}

pub fn bulk(r: BulkResult) -> api::BulkInvitationResult {
    let mut summary = api::BulkSummary::default();
    let rows = r
        .rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| match row {
            Ok(ok) => {
                match ok.outcome {
                    InvitationOutcome::Invited => summary.invited += 1,
                    InvitationOutcome::AlreadyInvited => summary.already_invited += 1,
                    InvitationOutcome::AlreadyMember => summary.already_member += 1,
                }
                let ok = invitation_result(ok);
                api::BulkRow {
                    index,
                    outcome: Some(ok.outcome),
                    invitation: ok.invitation,
                    membership: ok.membership,
                    error: None,
                }
            }
            Err(e) => {
                summary.failed += 1;
                api::BulkRow {
                    index,
                    outcome: None,
                    invitation: None,
                    membership: None,
                    error: Some(crate::error::detail(&e)),
                }
            }
        })
        .collect();
    api::BulkInvitationResult {
        dry_run: r.dry_run,
        summary,
        rows,
    }
}

pub fn invitation_answer(r: InvitationResponse) -> api::InvitationAnswer {
    api::InvitationAnswer {
        invitation: invitation(r.invitation),
        outcome: r.outcome,
        membership: r.membership.map(member),
    }
}

pub fn join_request(v: guestlist_app::JoinRequestView) -> api::JoinRequest {
    let r = v.request;
    api::JoinRequest {
        id: r.id,
        space: r.space_path.to_string(),
        user_id: r.user_id.to_string(),
        email: r.email.map(|e| e.to_string()),
        role: r.role.to_string(),
        message: r.message,
        invite_id: r.invite_id,
        status: r.status.as_str().to_owned(),
        created_at: r.created_at,
        decided_by: r.decided_by,
        decided_at: r.decided_at,
    }
}

/// A join's answer: its outcome, the space and role, and the membership if any.
pub(crate) fn join_result(
    outcome: guestlist_app::JoinOutcome,
    space: &guestlist_app::domain::SpacePath,
    role: &guestlist_app::domain::RoleName,
    m: Option<guestlist_app::MembershipView>,
) -> api::JoinResult {
    let membership = m.map(member);
    api::JoinResult {
        outcome,
        space: space.to_string(),
        role: membership
            .as_ref()
            .map(|m| m.role.clone())
            .unwrap_or_else(|| role.to_string()),
        membership,
        join_request: None,
    }
}
