use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MembershipStatus {
    Active,
    /// Added by an owner, waiting for the user's consent.
    Pending,
}

/// How a membership came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MembershipSource {
    InviteLink,
    Invitation,
    OwnerAdd,
    JoinRequest,
    OpenJoin,
    Provisioned,
}

/// Where a join request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum JoinRequestStatus {
    /// Waiting for a member manager.
    Pending,
    Approved,
    Denied,
    /// Withdrawn by the person who asked (or with their deprovisioning).
    Cancelled,
}

impl JoinRequestStatus {
    /// A status named in a query (`?status=`): refused as `invalid_input` otherwise.
    pub fn parse(s: &str) -> Result<Self, Error> {
        s.parse()
            .map_err(|_| Error::invalid("status", "one of pending, approved, denied, cancelled"))
    }
}

macro_rules! string_enum {
    ($ty:ty { $($variant:ident => $s:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $s),+ }
            }
        }
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($s => Ok(Self::$variant),)+
                    other => Err(Error::internal(format!("unknown {} {other:?}", stringify!($ty)))),
                }
            }
        }
    };
}

string_enum!(MembershipStatus { Active => "active", Pending => "pending" });
string_enum!(JoinRequestStatus {
    Pending => "pending",
    Approved => "approved",
    Denied => "denied",
    Cancelled => "cancelled",
});
string_enum!(MembershipSource {
    InviteLink => "invite_link",
    Invitation => "invitation",
    OwnerAdd => "owner_add",
    JoinRequest => "join_request",
    OpenJoin => "open_join",
    Provisioned => "provisioned",
});
