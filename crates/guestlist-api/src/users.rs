//! Users' known identities: the wire types of the `users` feature.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who a user is known as. Replaces what the host said before; identities seen in
/// the user's verified tokens are kept beside them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"emails": ["ada@example.com"], "usernames": ["ada"]}))]
pub struct SetIdentitiesRequest {
    /// E-mail addresses the host has verified as this user's (at most 20).
    #[serde(default)]
    #[schema(value_type = Vec<guestlist_domain::Email>, max_items = 20)]
    pub emails: Vec<String>,
    /// Usernames in the host application (at most 20).
    #[serde(default)]
    #[schema(value_type = Vec<guestlist_domain::Username>, max_items = 20)]
    pub usernames: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct UserIdentities {
    pub user_id: String,
    pub emails: Vec<String>,
    pub usernames: Vec<String>,
}
