//! GraphQL — who users are known as: verified e-mail addresses and usernames, set by
//! the host (platform administrators) or vouched for by the user's tokens.

use async_graphql::{Context, Object, Result, SimpleObject};
use guestlist_app::store::Identities;

use crate::args::*;
use crate::{actor, app, gql};

#[derive(Default)]
pub struct UsersQuery;

#[Object]
impl UsersQuery {
    /// A user's known identities: yours, or anyone's for a platform administrator.
    async fn user_identities(&self, ctx: &Context<'_>, user_id: String) -> Result<UserIdentities> {
        let user = user_arg(&user_id)?;
        let known = app(ctx)?.identities(actor(ctx)?, user).await.map_err(gql)?;
        Ok(UserIdentities::of(user_id, known))
    }
}

#[derive(Default)]
pub struct UsersMutation;

#[Object]
impl UsersMutation {
    /// Set the e-mail addresses (verified by the host) and usernames a user is known by
    /// (platform administrators); replaces what the host said before.
    async fn set_user_identities(
        &self,
        ctx: &Context<'_>,
        user_id: String,
        emails: Vec<String>,
        usernames: Vec<String>,
    ) -> Result<UserIdentities> {
        let user = user_arg(&user_id)?;
        let known = app(ctx)?
            .set_identities(actor(ctx)?, user, &emails, &usernames)
            .await
            .map_err(gql)?;
        Ok(UserIdentities::of(user_id, known))
    }
}

/// Who a user is known as.
#[derive(SimpleObject, Debug)]
pub struct UserIdentities {
    pub user_id: String,
    pub emails: Vec<String>,
    pub usernames: Vec<String>,
}

impl UserIdentities {
    fn of(user_id: String, known: Identities) -> Self {
        UserIdentities {
            user_id,
            emails: known.emails.iter().map(|e| e.to_string()).collect(),
            usernames: known.usernames.iter().map(|u| u.to_string()).collect(),
        }
    }
}
