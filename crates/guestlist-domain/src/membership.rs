use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    Active,
    /// Added by an owner, waiting for the user's consent.
    Pending,
}

/// How a membership came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipSource {
    InviteLink,
    Invitation,
    OwnerAdd,
    JoinRequest,
    OpenJoin,
    Provisioned,
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
string_enum!(MembershipSource {
    InviteLink => "invite_link",
    Invitation => "invitation",
    OwnerAdd => "owner_add",
    JoinRequest => "join_request",
    OpenJoin => "open_join",
    Provisioned => "provisioned",
});
