//! The operations: one struct per command, run by the store in one transaction.

pub(crate) mod admission;
pub mod events;
pub mod invitations;
pub mod invites;
pub mod mail;
pub mod members;
pub mod requests;
pub mod signup;
pub mod spaces;
pub mod users;

/// Declares an operation struct's `Operation` impl from a `run` body.
macro_rules! operation {
    ($op:ty => $out:ty, |$self_:ident, $tx:ident| $body:block) => {
        #[async_trait::async_trait]
        impl guestlist_store::Operation for $op {
            type Output = $out;
            async fn run(&$self_, $tx: &mut dyn guestlist_store::Tx) -> crate::Result<$out> $body
        }
    };
}
pub(crate) use operation;

/// Trims a human-readable text field and bounds its length.
pub(crate) fn text(field: &str, value: Option<&str>, max: usize) -> crate::Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n') => {
            Err(guestlist_domain::Error::invalid(
                field,
                format!("at most {max} printable characters"),
            ))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}
