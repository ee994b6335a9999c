//! The platform's sign-up gate: who may sign up, and how many.

use crate::Error;

/// How the gate admits: open or invite-only, optionally with a cap on sign-ups.
/// On the wire: `open`, `invite_only`, `capped` (open with a cap), and
/// `invite_only` with a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub invite_only: bool,
    pub cap: Option<u32>,
}

impl Gate {
    pub const OPEN: Gate = Gate {
        invite_only: false,
        cap: None,
    };

    /// Parses a mode with its cap: `capped` needs a cap, `open` takes none.
    pub fn parse(mode: &str, cap: Option<u32>) -> Result<Gate, Error> {
        match (mode, cap) {
            ("open", None) => Ok(Gate::OPEN),
            ("open", Some(_)) => Err(Error::invalid(
                "cap",
                "an open gate has no cap: use mode capped",
            )),
            ("capped", None) => Err(Error::invalid("cap", "mode capped needs a cap")),
            ("capped", Some(n)) => Ok(Gate {
                invite_only: false,
                cap: Some(n),
            }),
            ("invite_only", cap) => Ok(Gate {
                invite_only: true,
                cap,
            }),
            _ => Err(Error::invalid("mode", "one of open, invite_only, capped")),
        }
    }

    pub fn mode(&self) -> &'static str {
        match (self.invite_only, self.cap) {
            (true, _) => "invite_only",
            (false, Some(_)) => "capped",
            (false, None) => "open",
        }
    }

    /// Seats left, given how many are taken (reserved or confirmed); `None`: no cap.
    pub fn remaining(&self, taken: u32) -> Option<u32> {
        self.cap.map(|c| c.saturating_sub(taken))
    }

    /// Whether a sign-up may start: an invite-only gate needs an invitation token.
    pub fn require_admission(&self, has_invitation: bool) -> Result<(), Error> {
        if self.invite_only && !has_invitation {
            return Err(Error::SignupClosed("sign-up is by invitation only".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print_back() {
        for (mode, cap) in [
            ("open", None),
            ("capped", Some(10)),
            ("invite_only", None),
            ("invite_only", Some(5)),
        ] {
            let g = Gate::parse(mode, cap).unwrap();
            assert_eq!((g.mode(), g.cap), (mode, cap));
        }
        assert!(Gate::parse("open", Some(1)).is_err());
        assert!(Gate::parse("capped", None).is_err());
        assert!(Gate::parse("closed", None).is_err());
        assert_eq!(
            Gate::parse("capped", Some(10)).unwrap().remaining(12),
            Some(0)
        );
        assert_eq!(Gate::OPEN.remaining(12), None);
    }

    #[test]
    fn invite_only_needs_an_invitation() {
        let g = Gate::parse("invite_only", None).unwrap();
        assert_eq!(
            g.require_admission(false).unwrap_err().code().as_str(),
            "signup_closed"
        );
        assert!(g.require_admission(true).is_ok());
        assert!(Gate::OPEN.require_admission(false).is_ok());
    }
}
