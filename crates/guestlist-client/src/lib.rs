//! A typed client for Guestlist's REST API, shared by the CLI and the tests so
//! neither can drift from the server's wire types.

pub use guestlist_api as api;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with its JSON error shape.
    #[error("{status}: {} ({})", .body.error.message, .body.error.code)]
    Api {
        status: StatusCode,
        body: api::ErrorBody,
        retry_after: Option<u64>,
    },
    /// The server answered something that is not the error shape.
    #[error("unexpected {status}: {text}")]
    Unexpected { status: StatusCode, text: String },
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
}

impl ClientError {
    /// The stable error code, when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => Some(&body.error.code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } | ClientError::Unexpected { status, .. } => {
                Some(*status)
            }
            ClientError::Transport(e) => e.status(),
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// Percent-encodes a space path for a URL segment: `acme/eng/` → `acme%2Feng%2F`.
pub fn space_segment(path: &str) -> String {
    path.replace('/', "%2F")
}

fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(base_url: &str) -> Self {
        Client {
            // A pooled connection is given up well before the server's idle timeout
            // (`http.idle_timeout_secs`, 60 s by default) closes it: a request sent on
            // a connection the server is closing at that moment fails mid-flight.
            http: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(20))
                .build()
                .expect("an HTTP client"),
            base: base_url.trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    /// The same client, calling as someone else (a JWT or an API key).
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Client {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    pub fn anonymous(&self) -> Self {
        Client {
            token: None,
            ..self.clone()
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T> {
        let res = req.send().await?;
        let status = res.status();
        if status.is_success() {
            return Ok(res.json().await?);
        }
        Err(error_from(res).await)
    }

    async fn send_empty(&self, req: RequestBuilder) -> Result<()> {
        let res = req.send().await?;
        if res.status().is_success() {
            return Ok(());
        }
        Err(error_from(res).await)
    }

    async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.send(self.request(method, path).json(body)).await
    }

    pub async fn create_space(&self, req: &api::CreateSpaceRequest) -> Result<api::Space> {
        self.json(Method::POST, "/api/v1/spaces", req).await
    }

    pub async fn get_space(&self, path: &str) -> Result<api::Space> {
        self.send(self.request(
            Method::GET,
            &format!("/api/v1/spaces/{}", space_segment(path)),
        ))
        .await
    }

    pub async fn update_space(
        &self,
        path: &str,
        req: &api::UpdateSpaceRequest,
    ) -> Result<api::Space> {
        self.json(
            Method::PATCH,
            &format!("/api/v1/spaces/{}", space_segment(path)),
            req,
        )
        .await
    }

    pub async fn list_roles(&self, path: &str) -> Result<api::RoleList> {
        self.send(self.request(
            Method::GET,
            &format!("/api/v1/spaces/{}/roles", space_segment(path)),
        ))
        .await
    }

    pub async fn create_role(&self, path: &str, role: &api::Role) -> Result<api::Role> {
        self.json(
            Method::POST,
            &format!("/api/v1/spaces/{}/roles", space_segment(path)),
            role,
        )
        .await
    }

    pub async fn list_members(
        &self,
        path: &str,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<api::MemberPage> {
        let req = self
            .request(
                Method::GET,
                &format!("/api/v1/spaces/{}/members", space_segment(path)),
            )
            .query(&[("after", after)])
            .query(&[("limit", limit)]);
        self.send(req).await
    }

    /// Tells Guestlist who a user is known as (platform administrators).
    pub async fn set_user_identities(
        &self,
        user: &str,
        req: &api::SetIdentitiesRequest,
    ) -> Result<api::UserIdentities> {
        self.send(
            self.request(Method::PUT, &format!("/api/v1/users/{}", segment(user)))
                .json(req),
        )
        .await
    }

    pub async fn user_identities(&self, user: &str) -> Result<api::UserIdentities> {
        self.send(self.request(Method::GET, &format!("/api/v1/users/{}", segment(user))))
            .await
    }

    /// One membership of a space, or `not_found`.
    pub async fn get_member(&self, space: &str, user: &str) -> Result<api::Member> {
        self.send(self.request(Method::GET, &Self::member_path(space, user)))
            .await
    }

    /// May `user` (you, when `None`) do `permission` in `space`?
    pub async fn check(
        &self,
        user: Option<&str>,
        space: &str,
        permission: api::Permission,
    ) -> Result<api::CheckResult> {
        let req = self
            .request(Method::GET, "/api/v1/check")
            .query(&[("user", user)])
            .query(&[("space", space), ("permission", permission.as_str())]);
        self.send(req).await
    }

    /// Up to 100 questions at once, answered in order.
    pub async fn check_batch(&self, req: &api::CheckBatchRequest) -> Result<api::CheckBatchResult> {
        self.send(self.request(Method::POST, "/api/v1/check").json(req))
            .await
    }

    /// Your memberships (active and pending), in join order.
    pub async fn my_spaces(
        &self,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<api::MemberPage> {
        let req = self
            .request(Method::GET, "/api/v1/me/spaces")
            .query(&[("after", after)])
            .query(&[("limit", limit)]);
        self.send(req).await
    }

    /// A user's memberships (platform-admin keys).
    pub async fn user_memberships(
        &self,
        user: &str,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<api::MemberPage> {
        let req = self
            .request(
                Method::GET,
                &format!("/api/v1/users/{}/memberships", segment(user)),
            )
            .query(&[("after", after)])
            .query(&[("limit", limit)]);
        self.send(req).await
    }

    /// The spaces you can see, within `under` when given.
    pub async fn list_spaces(
        &self,
        under: Option<&str>,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<api::SpacePage> {
        let req = self
            .request(Method::GET, "/api/v1/spaces")
            .query(&[("under", under), ("after", after)])
            .query(&[("limit", limit)]);
        self.send(req).await
    }

    fn member_path(space: &str, user: &str) -> String {
        format!(
            "/api/v1/spaces/{}/members/{}",
            space_segment(space),
            segment(user)
        )
    }

    pub async fn provision_member(
        &self,
        space: &str,
        user: &str,
        role: &str,
    ) -> Result<api::JoinResult> {
        self.json(
            Method::PUT,
            &Self::member_path(space, user),
            &api::RoleRequest { role: role.into() },
        )
        .await
    }

    pub async fn change_role(&self, space: &str, user: &str, role: &str) -> Result<api::Member> {
        self.json(
            Method::PATCH,
            &Self::member_path(space, user),
            &api::RoleRequest { role: role.into() },
        )
        .await
    }

    pub async fn remove_member(&self, space: &str, user: &str) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &Self::member_path(space, user)))
            .await
    }

    pub async fn join_space(&self, space: &str) -> Result<api::JoinResult> {
        self.send(self.request(
            Method::POST,
            &format!("/api/v1/spaces/{}/join", space_segment(space)),
        ))
        .await
    }

    pub async fn leave_space(&self, space: &str) -> Result<()> {
        self.send_empty(self.request(
            Method::POST,
            &format!("/api/v1/spaces/{}/leave", space_segment(space)),
        ))
        .await
    }

    pub async fn create_invite(
        &self,
        req: &api::CreateInviteRequest,
    ) -> Result<api::InviteWithLink> {
        self.json(Method::POST, "/api/v1/invites", req).await
    }

    pub async fn list_invites(&self, q: &InviteQuery<'_>) -> Result<api::InvitePage> {
        self.send(self.request(Method::GET, "/api/v1/invites").query(q))
            .await
    }

    pub async fn preview_invite(&self, code: &str) -> Result<api::InvitePreview> {
        self.send(self.request(Method::GET, &format!("/api/v1/invites/{}", segment(code))))
            .await
    }

    pub async fn revoke_invite(&self, code_or_id: &str) -> Result<api::Invite> {
        self.send(self.request(
            Method::DELETE,
            &format!("/api/v1/invites/{}", segment(code_or_id)),
        ))
        .await
    }

    pub async fn show_invite_link(&self, code_or_id: &str) -> Result<api::InviteWithLink> {
        self.send(self.request(
            Method::GET,
            &format!("/api/v1/invites/{}/link", segment(code_or_id)),
        ))
        .await
    }

    /// Creates or updates the link another system knows as `external_id`.
    pub async fn mirror_invite(
        &self,
        external_id: &str,
        req: &api::MirrorInviteRequest,
    ) -> Result<api::MirrorInviteResponse> {
        self.json(
            Method::PUT,
            &format!("/api/v1/invites/by-external-id/{}", segment(external_id)),
            req,
        )
        .await
    }

    pub async fn join_invite(&self, code: &str, space: Option<&str>) -> Result<api::JoinResult> {
        let body = api::RedeemRequest {
            space: space.map(str::to_owned),
        };
        self.json(
            Method::POST,
            &format!("/api/v1/invites/{}/join", segment(code)),
            &body,
        )
        .await
    }

    pub async fn list_events(&self, q: &EventQuery<'_>) -> Result<api::EventPage> {
        self.send(self.request(Method::GET, "/api/v1/events").query(q))
            .await
    }

    /// Registers a webhook endpoint; the answer holds its secret, shown this once.
    pub async fn create_webhook(
        &self,
        req: &api::CreateWebhookRequest,
    ) -> Result<api::WebhookWithSecret> {
        self.json(Method::POST, "/api/v1/webhooks", req).await
    }

    pub async fn list_webhooks(&self) -> Result<api::WebhookList> {
        self.send(self.request(Method::GET, "/api/v1/webhooks"))
            .await
    }

    pub async fn get_webhook(&self, id: uuid::Uuid) -> Result<api::Webhook> {
        self.send(self.request(Method::GET, &format!("/api/v1/webhooks/{id}")))
            .await
    }

    pub async fn update_webhook(
        &self,
        id: uuid::Uuid,
        req: &api::UpdateWebhookRequest,
    ) -> Result<api::Webhook> {
        self.json(Method::PATCH, &format!("/api/v1/webhooks/{id}"), req)
            .await
    }

    pub async fn delete_webhook(&self, id: uuid::Uuid) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/webhooks/{id}")))
            .await
    }

    pub async fn rotate_webhook_secret(&self, id: uuid::Uuid) -> Result<api::WebhookWithSecret> {
        self.send(self.request(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
        ))
        .await
    }

    pub async fn test_webhook(&self, id: uuid::Uuid) -> Result<api::WebhookTest> {
        self.send(self.request(Method::POST, &format!("/api/v1/webhooks/{id}/test")))
            .await
    }

    pub async fn webhook_deliveries(
        &self,
        id: uuid::Uuid,
        before: Option<uuid::Uuid>,
        limit: Option<u32>,
    ) -> Result<api::WebhookDeliveryPage> {
        let mut req = self.request(Method::GET, &format!("/api/v1/webhooks/{id}/deliveries"));
        if let Some(b) = before {
            req = req.query(&[("before", b.to_string())]);
        }
        if let Some(l) = limit {
            req = req.query(&[("limit", l.to_string())]);
        }
        self.send(req).await
    }

    pub async fn redeliver_webhook(&self, id: uuid::Uuid, delivery: uuid::Uuid) -> Result<()> {
        self.send_empty(self.request(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
        ))
        .await
    }

    pub async fn replay_webhook(
        &self,
        id: uuid::Uuid,
        req: &api::ReplayRequest,
    ) -> Result<api::ReplayResult> {
        self.json(Method::POST, &format!("/api/v1/webhooks/{id}/replay"), req)
            .await
    }

    fn with_key(req: RequestBuilder, idempotency_key: Option<&str>) -> RequestBuilder {
        match idempotency_key {
            Some(k) => req.header("idempotency-key", k),
            None => req,
        }
    }

    /// Invites one person; `invited`, `already_invited` and `already_member` are all
    /// successes.
    pub async fn create_invitation(
        &self,
        req: &api::CreateInvitationRequest,
        idempotency_key: Option<&str>,
    ) -> Result<api::InvitationResult> {
        let r = self.request(Method::POST, "/api/v1/invitations").json(req);
        self.send(Self::with_key(r, idempotency_key)).await
    }

    /// Imports rows from another system (`dry_run`: what would happen).
    pub async fn import_rows(
        &self,
        req: &api::ImportRequest,
        dry_run: bool,
    ) -> Result<api::ImportResponse> {
        let path = if dry_run {
            "/api/v1/imports?dry_run=true"
        } else {
            "/api/v1/imports"
        };
        self.json(Method::POST, path, req).await
    }

    pub async fn bulk_invitations(
        &self,
        req: &api::BulkInvitationRequest,
        idempotency_key: Option<&str>,
    ) -> Result<api::BulkInvitationResult> {
        let r = self
            .request(Method::POST, "/api/v1/invitations/bulk")
            .json(req);
        self.send(Self::with_key(r, idempotency_key)).await
    }

    pub async fn list_invitations(&self, q: &InvitationQuery<'_>) -> Result<api::InvitationPage> {
        self.send(self.request(Method::GET, "/api/v1/invitations").query(q))
            .await
    }

    pub async fn get_invitation(&self, id: uuid::Uuid) -> Result<api::Invitation> {
        self.send(self.request(Method::GET, &format!("/api/v1/invitations/{id}")))
            .await
    }

    pub async fn revoke_invitation(&self, id: uuid::Uuid) -> Result<api::Invitation> {
        self.send(self.request(Method::DELETE, &format!("/api/v1/invitations/{id}")))
            .await
    }

    pub async fn resend_invitation(&self, id: uuid::Uuid) -> Result<api::Invitation> {
        self.send(self.request(Method::POST, &format!("/api/v1/invitations/{id}/resend")))
            .await
    }

    pub async fn accept_invitation(&self, token: &str) -> Result<api::InvitationAnswer> {
        let body = api::TokenRequest {
            token: token.to_owned(),
        };
        self.json(Method::POST, "/api/v1/invitations/accept", &body)
            .await
    }

    pub async fn decline_invitation(&self, token: &str) -> Result<api::InvitationAnswer> {
        let body = api::TokenRequest {
            token: token.to_owned(),
        };
        self.json(Method::POST, "/api/v1/invitations/decline", &body)
            .await
    }

    pub async fn my_invitations(&self) -> Result<api::InvitationPage> {
        self.send(self.request(Method::GET, "/api/v1/me/invitations"))
            .await
    }

    pub async fn answer_my_invitation(
        &self,
        id: uuid::Uuid,
        accept: bool,
    ) -> Result<api::InvitationAnswer> {
        let verb = if accept { "accept" } else { "decline" };
        self.send(self.request(Method::POST, &format!("/api/v1/me/invitations/{id}/{verb}")))
            .await
    }

    pub async fn signup_config(&self) -> Result<api::SignupConfig> {
        self.send(self.request(Method::GET, "/api/v1/signup/config"))
            .await
    }

    pub async fn set_signup_config(&self, req: &api::GateSettings) -> Result<api::GateView> {
        self.json(Method::PUT, "/api/v1/signup/config", req).await
    }

    pub async fn create_platform_invitation(
        &self,
        req: &api::CreatePlatformInvitationRequest,
    ) -> Result<api::PlatformInvitationWithToken> {
        self.json(Method::POST, "/api/v1/signup/invitations", req)
            .await
    }

    pub async fn list_platform_invitations(
        &self,
        inviter: Option<&str>,
    ) -> Result<api::PlatformInvitationPage> {
        let mut req = self.request(Method::GET, "/api/v1/signup/invitations");
        if let Some(i) = inviter {
            req = req.query(&[("inviter", i)]);
        }
        self.send(req).await
    }

    pub async fn verify_signup_token(&self, token: &str) -> Result<api::TokenCheck> {
        self.send(self.request(
            Method::GET,
            &format!("/api/v1/signup/invitations/{}", segment(token)),
        ))
        .await
    }

    pub async fn revoke_platform_invitation(
        &self,
        id: uuid::Uuid,
    ) -> Result<api::PlatformInvitation> {
        self.send(self.request(Method::DELETE, &format!("/api/v1/signup/invitations/{id}")))
            .await
    }

    pub async fn resend_platform_invitation(
        &self,
        id: uuid::Uuid,
    ) -> Result<api::PlatformInvitationWithToken> {
        self.send(self.request(
            Method::POST,
            &format!("/api/v1/signup/invitations/{id}/resend"),
        ))
        .await
    }

    pub async fn claim_signup(&self, req: &api::ClaimRequest) -> Result<api::Claim> {
        self.json(Method::POST, "/api/v1/signup/claims", req).await
    }

    pub async fn confirm_signup(&self, claim: uuid::Uuid, user_id: &str) -> Result<api::Claim> {
        let body = api::ConfirmRequest {
            user_id: user_id.to_owned(),
        };
        self.json(
            Method::POST,
            &format!("/api/v1/signup/claims/{claim}/confirm"),
            &body,
        )
        .await
    }

    pub async fn release_signup(&self, claim: uuid::Uuid) -> Result<api::Claim> {
        self.send(self.request(Method::DELETE, &format!("/api/v1/signup/claims/{claim}")))
            .await
    }

    pub async fn referrals(&self, inviter: Option<&str>) -> Result<api::Referrals> {
        let mut req = self.request(Method::GET, "/api/v1/referrals");
        if let Some(i) = inviter {
            req = req.query(&[("inviter", i)]);
        }
        self.send(req).await
    }

    pub async fn referral_tree(&self, root: &str) -> Result<api::ReferralTree> {
        self.send(
            self.request(Method::GET, "/api/v1/referrals/tree")
                .query(&[("root", root)]),
        )
        .await
    }

    pub async fn add_member(
        &self,
        space: &str,
        req: &api::AddMemberRequest,
    ) -> Result<api::AddMemberResult> {
        self.json(
            Method::POST,
            &format!("/api/v1/spaces/{}/members", space_segment(space)),
            req,
        )
        .await
    }

    pub async fn answer_membership(
        &self,
        id: uuid::Uuid,
        accept: bool,
    ) -> Result<api::MembershipAnswer> {
        let verb = if accept { "accept" } else { "decline" };
        self.send(self.request(Method::POST, &format!("/api/v1/me/memberships/{id}/{verb}")))
            .await
    }

    pub async fn ask_to_join(&self, space: &str, message: Option<&str>) -> Result<api::JoinResult> {
        let body = api::AskToJoinRequest {
            message: message.map(str::to_owned),
        };
        self.json(
            Method::POST,
            &format!("/api/v1/spaces/{}/join-requests", space_segment(space)),
            &body,
        )
        .await
    }

    pub async fn list_join_requests(
        &self,
        space: &str,
        status: Option<&str>,
    ) -> Result<api::JoinRequestPage> {
        let mut req = self.request(
            Method::GET,
            &format!("/api/v1/spaces/{}/join-requests", space_segment(space)),
        );
        if let Some(s) = status {
            req = req.query(&[("status", s)]);
        }
        self.send(req).await
    }

    pub async fn decide_join_request(
        &self,
        id: uuid::Uuid,
        approve: bool,
    ) -> Result<api::JoinRequestDecision> {
        let verb = if approve { "approve" } else { "deny" };
        self.send(self.request(Method::POST, &format!("/api/v1/join-requests/{id}/{verb}")))
            .await
    }

    pub async fn cancel_join_request(&self, id: uuid::Uuid) -> Result<api::JoinRequest> {
        self.send(self.request(Method::DELETE, &format!("/api/v1/me/join-requests/{id}")))
            .await
    }

    pub async fn my_pending(&self) -> Result<api::PendingItems> {
        self.send(self.request(Method::GET, "/api/v1/me/pending"))
            .await
    }

    pub async fn deprovision_user(&self, user: &str) -> Result<api::Deprovisioned> {
        self.send(self.request(Method::DELETE, &format!("/api/v1/users/{}", segment(user))))
            .await
    }

    pub async fn revoke_referral_subtree(&self, user: &str) -> Result<api::RevokedInvitations> {
        self.send(self.request(
            Method::POST,
            &format!("/api/v1/referrals/{}/revoke", segment(user)),
        ))
        .await
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct InvitationQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct InviteQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct EventQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'a str>,
    /// Comma-separated kinds (with `after`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kinds: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// The forward feed: events after this sequence number, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

async fn error_from(res: reqwest::Response) -> ClientError {
    let status = res.status();
    let retry_after = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let text = res.text().await.unwrap_or_default();
    match serde_json::from_str::<api::ErrorBody>(&text) {
        Ok(body) => ClientError::Api {
            status,
            body,
            retry_after,
        },
        Err(_) => ClientError::Unexpected { status, text },
    }
}
