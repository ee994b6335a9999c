use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// How a space admits new members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum JoinMode {
    /// Any signed-in user may join directly; invites work too.
    Open,
    /// Only through an invite link or invitation.
    InviteOnly,
    /// A member manager approves each join request.
    Request,
}

impl JoinMode {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinMode::Open => "open",
            JoinMode::InviteOnly => "invite_only",
            JoinMode::Request => "request",
        }
    }
}

impl fmt::Display for JoinMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JoinMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "open" => Ok(JoinMode::Open),
            "invite_only" => Ok(JoinMode::InviteOnly),
            "request" => Ok(JoinMode::Request),
            other => Err(Error::invalid(
                "join_mode",
                format!("unknown join mode {other:?}: use open, invite_only or request"),
            )),
        }
    }
}
