//! The operations: one struct per command, run by the store in one transaction.

pub(crate) mod admission;
pub mod events;
pub mod imports;
pub mod invitations;
pub mod invites;
pub mod mail;
pub mod members;
pub mod requests;
pub mod scim;
pub mod sessions;
pub mod signup;
pub mod spaces;
pub mod users;
pub mod webhooks;

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

/// Bounds a human-readable text field's length (as sent) and characters (no controls
/// but line breaks: `formats::TEXT`), then trims it; blank is none.
pub(crate) fn text(field: &str, value: Option<&str>, max: usize) -> crate::Result<Option<String>> {
    let Some(v) = value else { return Ok(None) };
    if v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(guestlist_domain::Error::invalid(
            field,
            format!("at most {max} printable characters"),
        ));
    }
    Ok(Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_owned))
}
