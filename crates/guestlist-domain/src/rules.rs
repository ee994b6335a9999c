//! The rules of membership, as pure functions over what storage returned.

use crate::{Error, Permission, Permissions, RoleName, SpacePath};

/// Effective rights on a space are the union of the grants along its path.
pub fn effective(grants_along_path: impl IntoIterator<Item = Permissions>) -> Permissions {
    grants_along_path
        .into_iter()
        .fold(Permissions::NONE, Permissions::union)
}

/// Requires `needed` among `held`; the message names what is missing.
pub fn require(held: Permissions, needed: Permission) -> Result<(), Error> {
    if held.has(needed) {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "this needs the {} permission on the space",
            needed.as_str()
        )))
    }
}

/// Nobody may hand out more than they hold.
pub fn require_can_grant(held: Permissions, role: &str, granted: Permissions) -> Result<(), Error> {
    if held.covers(granted) {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "you cannot grant the role {role}: it carries permissions you do not hold"
        )))
    }
}

/// A link narrowed to a deeper space grants what its role meant where the link was
/// made (`at_home`). Custom roles are looked up by name, and a deeper space may
/// define the same name as more: such a narrowing is refused, since the membership
/// it would make there reads the role as the deeper definition.
pub fn narrowed_grant(
    role: &RoleName,
    at_home: Permissions,
    at_target: Option<Permissions>,
    target: &SpacePath,
) -> Result<Permissions, Error> {
    match at_target {
        Some(there) if at_home.covers(there) => Ok(at_home),
        _ => Err(Error::OutOfScope(format!(
            "the role {role} means more in {target} than where this invite was made"
        ))),
    }
}

/// Where a redemption lands: the invite's own space, or a narrower one beneath it
/// when the invite allows narrowing.
pub fn redeem_target(
    invite_space: &SpacePath,
    allow_narrowing: bool,
    requested: Option<&SpacePath>,
) -> Result<SpacePath, Error> {
    match requested {
        None => Ok(invite_space.clone()),
        Some(req) if req == invite_space => Ok(req.clone()),
        Some(req) if !req.is_within(invite_space) => Err(Error::OutOfScope(format!(
            "{req} is not within the invite's space {invite_space}"
        ))),
        Some(req) if !allow_narrowing => Err(Error::OutOfScope(format!(
            "this invite does not allow narrowing to {req}"
        ))),
        Some(req) => Ok(req.clone()),
    }
}

/// What a redemption does for someone who may already hold rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// No membership on the space yet: create one.
    Join,
    /// A direct membership with fewer rights: raise its role (never lower it).
    Upgrade,
    /// Already holds at least what is offered (directly or inherited): nothing changes.
    AlreadyMember,
}

/// `direct` is the caller's own membership on the target space (its permissions),
/// `effective` the rights they hold there through the whole path.
pub fn admission(
    direct: Option<Permissions>,
    effective: Permissions,
    offered: Permissions,
) -> Admission {
    match direct {
        Some(_) if effective.covers(offered) => Admission::AlreadyMember,
        Some(current) if offered.covers(current) => Admission::Upgrade,
        // Incomparable custom roles: keep what the member has.
        Some(_) => Admission::AlreadyMember,
        None if !effective.is_empty() && effective.covers(offered) => Admission::AlreadyMember,
        None => Admission::Join,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn perms(r: &str) -> Permissions {
        RoleName::parse(r).unwrap().builtin_permissions().unwrap()
    }
    fn p(s: &str) -> SpacePath {
        SpacePath::parse(s).unwrap()
    }

    #[test]
    fn narrowing_rules() {
        assert_eq!(
            redeem_target(&p("acme/"), true, Some(&p("acme/eng/"))).unwrap(),
            p("acme/eng/")
        );
        assert_eq!(redeem_target(&p("acme/"), false, None).unwrap(), p("acme/"));
        for (req, allow) in [("acmecorp/", true), ("other/", true), ("acme/eng/", false)] {
            let err = redeem_target(&p("acme/"), allow, Some(&p(req))).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::OutOfScope, "{req}");
        }
        // A wrong parent: narrowing is relative to the invite's space only.
        let err = redeem_target(&p("acme/eng/"), true, Some(&p("acme/ops/"))).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::OutOfScope);
    }

    #[test]
    fn a_narrowed_link_grants_what_it_meant_where_it_was_made() {
        let helper = RoleName::parse("helper").unwrap();
        let (v, a) = (perms("viewer"), perms("admin"));
        let eng = p("acme/eng/");
        assert_eq!(narrowed_grant(&helper, v, Some(v), &eng).unwrap(), v);
        // Means less below: still only what it meant where it was made.
        assert_eq!(narrowed_grant(&helper, a, Some(v), &eng).unwrap(), a);
        for there in [Some(a), None] {
            let err = narrowed_grant(&helper, v, there, &eng).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::OutOfScope);
        }
    }

    #[test]
    fn admission_never_downgrades() {
        let (v, m, a) = (perms("viewer"), perms("member"), perms("admin"));
        assert_eq!(admission(None, Permissions::NONE, m), Admission::Join);
        assert_eq!(admission(Some(a), a, m), Admission::AlreadyMember);
        assert_eq!(admission(Some(m), m, m), Admission::AlreadyMember);
        assert_eq!(admission(Some(v), v, m), Admission::Upgrade);
        // Admin of a parent space already holds member rights on the child.
        assert_eq!(admission(None, a, m), Admission::AlreadyMember);
        // A viewer of the parent offered member on the child gets a membership there.
        assert_eq!(admission(None, v, m), Admission::Join);
    }

    #[test]
    fn grant_ceiling() {
        let mi = Permissions::of(&[
            Permission::Read,
            Permission::Write,
            Permission::ManageInvites,
        ]);
        assert!(require_can_grant(mi, "member", perms("member")).is_ok());
        assert!(require_can_grant(mi, "admin", perms("admin")).is_err());
    }

    proptest! {
        #[test]
        fn admission_result_never_holds_less_than_before(d in 0i64..32, inh in 0i64..32, o in 0i64..32) {
            let direct = Permissions::from_bits(d);
            let effective_now = direct.union(Permissions::from_bits(inh));
            let offered = Permissions::from_bits(o);
            match admission(Some(direct), effective_now, offered) {
                Admission::Upgrade => prop_assert!(offered.covers(direct)),
                Admission::AlreadyMember => {}
                Admission::Join => prop_assert!(false, "a member never joins twice"),
            }
        }
    }
}
