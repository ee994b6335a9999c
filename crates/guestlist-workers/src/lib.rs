//! The workers: every outbox the application writes in its transactions is delivered
//! from here, each on the one generic outbox loop (`guestlist_app::outbox`: due items
//! taken under a lease, at least once, on a schedule). `mail` sends invitation e-mail
//! over SMTP or to a mail folder; `webhooks` dispatches the committed log into
//! deliveries and sends them in the Standard Webhooks format. A later sender is
//! another module here.

pub mod mail;
pub mod webhooks;

pub use mail::{MailConfig, MailError, Mailer, spawn_sender};
pub use webhooks::WebhookSettings;
