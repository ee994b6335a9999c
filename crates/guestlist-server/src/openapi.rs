//! The OpenAPI 3.1 document, generated from the handlers and wire types.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::rest::{events, invitations, invites, members, requests, signup, spaces, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Guestlist",
        description = "Invitations and membership for the applications in front of it. \
            Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}` with a stable code.",
        license(name = "Apache-2.0")
    ),
    paths(
        spaces::create_space, spaces::get_space, spaces::update_space, spaces::list_roles, spaces::create_role,
        members::list_members, members::provision_member, members::change_role, members::remove_member,
        members::join_space, members::leave_space, members::get_member, members::check,
        members::check_batch, members::my_spaces, members::user_memberships, spaces::list_spaces,
        invites::create_invite, invites::list_invites, invites::preview_invite, invites::revoke_invite,
        invites::show_invite_link, invites::redeem_invite,
        events::list_events,
        invitations::create, invitations::bulk, invitations::list, invitations::get_one,
        invitations::revoke, invitations::resend, invitations::accept, invitations::decline,
        invitations::mine, invitations::accept_mine, invitations::decline_mine,
        signup::get_config, signup::set_config, signup::create_invitation, signup::list_invitations,
        signup::verify, signup::revoke_invitation, signup::create_claim, signup::confirm_claim,
        signup::release_claim, signup::referrals, signup::tree, signup::revoke_subtree,
        requests::add_member, requests::accept_membership, requests::decline_membership,
        requests::ask, requests::list, requests::approve, requests::deny, requests::cancel,
        requests::pending, requests::deprovision, users::set_identities, users::get_identities,
    ),
    components(schemas(guestlist_api::ErrorBody, guestlist_api::Health)),
    modifiers(&Bearer),
    tags(
        (name = "spaces", description = "Spaces, their join modes, limits and roles"),
        (name = "members", description = "Memberships"),
        (name = "invites", description = "Shareable invite links"),
        (name = "invitations", description = "Invitations addressed to one person, delivered by e-mail"),
        (name = "signup", description = "The platform's sign-up gate, platform invitations and referrals"),
        (name = "events", description = "The audit log"),
        (name = "users", description = "Who users are known as (verified e-mail addresses, usernames)"),
    )
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    Http::builder()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "A host application's JWT (HS256) or a Guestlist API key (gl_…)",
                        ))
                        .build(),
                ),
            );
        }
    }
}

/// The document as pretty JSON, as committed in `openapi.json`.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut s = doc
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    s.push('\n');
    s
}
