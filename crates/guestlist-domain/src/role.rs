//! Roles are named sets of permissions. The built-ins form the ladder
//! `viewer < member < admin`; a space may define custom roles, which apply to it and
//! everything beneath it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A right on a space (and, inherited, on everything beneath it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum Permission {
    Read,
    Write,
    ManageInvites,
    ManageMembers,
    Admin,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::Read,
        Permission::Write,
        Permission::ManageInvites,
        Permission::ManageMembers,
        Permission::Admin,
    ];

    fn bit(self) -> u8 {
        match self {
            Permission::Read => 1,
            Permission::Write => 2,
            Permission::ManageInvites => 4,
            Permission::ManageMembers => 8,
            Permission::Admin => 16,
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            Error::invalid(
                "permissions",
                format!("unknown permission {s:?}: use read, write, manage_invites, manage_members or admin"),
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::ManageInvites => "manage_invites",
            Permission::ManageMembers => "manage_members",
            Permission::Admin => "admin",
        }
    }
}

/// A set of permissions. `admin` implies every other permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    pub const NONE: Permissions = Permissions(0);
    pub const ALL: Permissions = Permissions(31);

    pub fn of(perms: &[Permission]) -> Self {
        let mut bits = perms.iter().fold(0, |acc, p| acc | p.bit());
        if bits & Permission::Admin.bit() != 0 {
            bits = Self::ALL.0;
        }
        Permissions(bits)
    }

    pub fn from_bits(bits: i64) -> Self {
        let list: Vec<Permission> = Permission::ALL
            .into_iter()
            .filter(|p| bits & i64::from(p.bit()) != 0)
            .collect();
        Self::of(&list)
    }

    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    pub fn has(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// True when every permission of `other` is also in `self`.
    pub fn covers(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn list(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.has(*p))
            .collect()
    }
}

impl Serialize for Permissions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Permissions::of(&Vec::<Permission>::deserialize(d)?))
    }
}

/// A role's name: `viewer`, `member`, `admin` or a custom one (`[a-z][a-z0-9_-]{0,31}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(input: &str) -> Result<Self, Error> {
        let ok = !input.is_empty()
            && input.len() <= 32
            && input.as_bytes()[0].is_ascii_lowercase()
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(RoleName(input.to_owned()))
        } else {
            Err(Error::invalid(
                "role",
                format!(
                    "invalid role name {input:?}: use 1-32 of a-z, 0-9, '-', '_', starting with a letter"
                ),
            ))
        }
    }

    pub fn viewer() -> Self {
        RoleName("viewer".into())
    }
    pub fn member() -> Self {
        RoleName("member".into())
    }
    pub fn admin() -> Self {
        RoleName("admin".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The permissions of a built-in role, or `None` for a custom one.
    pub fn builtin_permissions(&self) -> Option<Permissions> {
        match self.0.as_str() {
            "viewer" => Some(Permissions::of(&[Permission::Read])),
            "member" => Some(Permissions::of(&[Permission::Read, Permission::Write])),
            "admin" => Some(Permissions::ALL),
            _ => None,
        }
    }

    pub fn is_builtin(&self) -> bool {
        self.builtin_permissions().is_some()
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RoleName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RoleName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RoleName::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn builtins_form_a_ladder() {
        let v = RoleName::viewer().builtin_permissions().unwrap();
        let m = RoleName::member().builtin_permissions().unwrap();
        let a = RoleName::admin().builtin_permissions().unwrap();
        assert!(m.covers(v) && a.covers(m) && !v.covers(m) && !m.covers(a));
    }

    #[test]
    fn admin_implies_everything() {
        assert_eq!(Permissions::of(&[Permission::Admin]), Permissions::ALL);
        assert!(Permissions::from_bits(16).has(Permission::ManageInvites));
    }

    #[test]
    fn role_names_are_strict() {
        for bad in ["", "Admin", "1st", "a b", "x".repeat(33).as_str(), "é"] {
            assert!(RoleName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(RoleName::parse("moderator").unwrap().as_str(), "moderator");
    }

    proptest! {
        #[test]
        fn bits_round_trip(bits in 0i64..32) {
            let p = Permissions::from_bits(bits);
            prop_assert_eq!(Permissions::from_bits(p.bits()), p);
            prop_assert!(p.union(Permissions::NONE) == p);
        }

        #[test]
        fn role_name_parser_never_panics(s in ".{0,40}") {
            let _ = RoleName::parse(&s);
        }
    }
}
