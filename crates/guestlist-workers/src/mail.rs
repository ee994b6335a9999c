//! Delivers the e-mail outbox. Messages are written by the application in the same
//! transaction as the invitation they are about; this crate's sender takes each due
//! message (under a lease), renders it from the templates, sends it over SMTP (or
//! writes it to a local mail folder when no SMTP server is configured), and records
//! the result: sent, or another attempt after a backoff, or failed after the last.
//! Delivery is at least once: a sender that dies mid-send leaves the message to come
//! due again when its lease ends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use guestlist_app::domain::SettingError;
use guestlist_app::outbox::{self, Backoff, DeliveryOutcome, Due, Failure, Outbox, RetryPolicy};
use guestlist_app::{App, OutgoingMail, redact_url};
use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How mail goes out. Every field has a default, so `[mail]` may be left out.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465`. Unset: messages go to `folder`.
    pub smtp_url: Option<String>,
    /// The sender: `Guestlist <noreply@example.com>`.
    pub from: String,
    /// Where messages are written as `.eml` files when no SMTP server is configured.
    pub folder: PathBuf,
    /// A folder with any of `invitation.{subject.txt,txt,html}` and
    /// `signup_invitation.{subject.txt,txt,html}` to use instead of the built-in ones.
    pub templates_dir: Option<PathBuf>,
    /// Attempts before a message is marked failed.
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long, up to the cap.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// How often to look for due messages (new ones wake the sender at once).
    pub poll_interval_ms: u64,
    /// How long one attempt may hold a message before another sender may take it.
    pub lease_secs: u64,
    /// SMTP connect and command timeout.
    pub timeout_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            from: "Guestlist <noreply@localhost>".into(),
            folder: PathBuf::from("guestlist-mail"),
            templates_dir: None,
            max_attempts: 8,
            retry_base_ms: 5_000,
            retry_max_ms: 15 * 60 * 1000,
            poll_interval_ms: 2_000,
            lease_secs: 120,
            timeout_secs: 30,
        }
    }
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("from", &self.from)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

impl MailConfig {
    /// The outbox worker's policy: attempts, backoff, lease and poll interval.
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            backoff: Backoff::Exponential {
                base: Duration::from_millis(self.retry_base_ms),
                max: Duration::from_millis(self.retry_max_ms),
            },
            jitter_percent: 0,
            lease: Duration::from_secs(self.lease_secs),
            poll: Duration::from_millis(self.poll_interval_ms),
            // One SMTP connection's worth: messages go one after another.
            concurrency: 1,
            per_group: 1,
        }
    }
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

/// Renders and sends messages.
pub struct Mailer {
    config: MailConfig,
    from: Mailbox,
    templates: minijinja::Environment<'static>,
    transport: Transport,
}

/// The built-in templates: `invitation.*` for an invitation to a space,
/// `signup_invitation.*` for one to sign up; `templates_dir` may replace any.
const TEMPLATES: [(&str, &str); 6] = [
    (
        "invitation.subject.txt",
        include_str!("../templates/invitation.subject.txt"),
    ),
    (
        "invitation.txt",
        include_str!("../templates/invitation.txt"),
    ),
    (
        "invitation.html",
        include_str!("../templates/invitation.html"),
    ),
    (
        "signup_invitation.subject.txt",
        include_str!("../templates/signup_invitation.subject.txt"),
    ),
    (
        "signup_invitation.txt",
        include_str!("../templates/signup_invitation.txt"),
    ),
    (
        "signup_invitation.html",
        include_str!("../templates/signup_invitation.html"),
    ),
];

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The message cannot be made: a template fails, or the recipient is an address
    /// the mailer cannot send to. Trying again cannot help.
    #[error("{0}")]
    Message(String),
    /// The SMTP server refused it for good (a 5xx reply). Trying again cannot help.
    #[error("refused by the SMTP server: {0}")]
    Refused(String),
    /// What may pass: the server unreachable, a temporary (4xx) refusal, the mail
    /// folder not writable.
    #[error("{0}")]
    Transient(String),
}

impl MailError {
    /// Whether trying again cannot help: the delivery fails at once, with its reason.
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Message(_) | MailError::Refused(_))
    }
}

impl From<MailError> for Failure {
    fn from(e: MailError) -> Failure {
        Failure {
            permanent: e.is_permanent(),
            error: e.to_string(),
            retry_after: None,
        }
    }
}

fn load_templates(dir: Option<&Path>) -> Result<minijinja::Environment<'static>, SettingError> {
    let mut env = minijinja::Environment::new();
    // `.html` templates escape what they show; text templates do not.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    for (name, builtin) in TEMPLATES {
        let text = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
            Some(path) => std::fs::read_to_string(&path).map_err(|e| {
                SettingError::new(
                    "mail.templates_dir",
                    format!("reading {}: {e}", path.display()),
                )
            })?,
            None => builtin.to_owned(),
        };
        env.add_template_owned(name, text).map_err(|e| {
            SettingError::new("mail.templates_dir", format!("template {name}: {e}"))
        })?;
    }
    Ok(env)
}

/// A body sent as written (7 bit) when it is ASCII with lines within RFC 5322's 998
/// characters, so that an accept link stays one readable line (in the mail folder
/// too); lettre would otherwise quote-print any line of 76 or more. Anything else is
/// left to lettre's choice.
fn readable(text: String) -> Body {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let fits = crlf.is_ascii()
        && !crlf.contains('\0')
        && crlf
            .split("\r\n")
            .all(|line| line.len() <= 998 && !line.contains('\r'));
    if fits {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text)
    }
}

impl Mailer {
    pub fn new(config: MailConfig) -> Result<Mailer, SettingError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| SettingError::new("mail.from", format!("{:?}: {e}", config.from)))?;
        let templates = load_templates(config.templates_dir.as_deref())?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| {
                        SettingError::new("mail.smtp_url", format!("{}: {e}", redact_url(url)))
                    })?
                    .timeout(Some(Duration::from_secs(config.timeout_secs)))
                    .build(),
            ),
            // The folder is made when the first message is written.
            None => Transport::Folder(AsyncFileTransport::new(&config.folder)),
        };
        Ok(Mailer {
            config,
            from,
            templates,
            transport,
        })
    }

    pub fn config(&self) -> &MailConfig {
        &self.config
    }

    /// The message for an invitation e-mail (to a space, or to sign up).
    pub fn render(&self, mail: &OutgoingMail) -> Result<Message, MailError> {
        let expires = mail.expires_at.map(|at| {
            at.format(&time::format_description::well_known::Rfc2822)
                .unwrap_or_else(|_| at.to_string())
        });
        let (kind, ctx) = match &mail.space {
            Some(s) => (
                "invitation",
                minijinja::context! {
                    space => s.space.as_str(),
                    space_name => &s.space_name,
                    role => s.role.as_str(),
                    inviter => &mail.inviter,
                    message => &s.message,
                    accept_link => &mail.link,
                    expires_at => expires,
                },
            ),
            None => (
                "signup_invitation",
                minijinja::context! {
                    inviter => &mail.inviter,
                    signup_link => &mail.link,
                    expires_at => expires,
                },
            ),
        };
        let render = |name: &str| {
            self.templates
                .get_template(name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| MailError::Message(format!("template {name}: {e}")))
        };
        let subject = render(&format!("{kind}.subject.txt"))?.trim().to_owned();
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| MailError::Message(format!("recipient {:?}: {e}", mail.to)))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}@guestlist>", mail.id)))
            .multipart(MultiPart::alternative_plain_html(
                readable(render(&format!("{kind}.txt"))?),
                readable(render(&format!("{kind}.html"))?),
            ))
            .map_err(|e| MailError::Message(e.to_string()))
    }

    /// Sends one message; the error is what the invitation shows as its last error.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = self.render(mail)?;
        match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    MailError::Refused(e.to_string())
                } else if e.is_client() {
                    // What this client cannot do with this server (an address it
                    // cannot put in an envelope): the same next time.
                    MailError::Message(e.to_string())
                } else {
                    MailError::Transient(e.to_string())
                }
            }),
            Transport::Folder(t) => {
                tokio::fs::create_dir_all(&self.config.folder)
                    .await
                    .map_err(|e| {
                        MailError::Transient(format!(
                            "creating {}: {e}",
                            self.config.folder.display()
                        ))
                    })?;
                let id = t
                    .send(message)
                    .await
                    .map_err(|e| MailError::Transient(e.to_string()))?;
                // The file holds the link; the log says only where it is.
                tracing::info!(
                    to = %mail.to, about = ?mail.subject,
                    file = %self.config.folder.join(format!("{id}.eml")).display(),
                    "no SMTP server configured: the invitation e-mail was written to the mail folder"
                );
                Ok(())
            }
        }
    }
}

/// The e-mail outbox as the generic worker sees it (`guestlist_app::outbox`).
struct MailOutbox {
    app: App,
    mailer: Mailer,
}

#[async_trait]
impl Outbox for MailOutbox {
    type Item = OutgoingMail;
    type Report = ();
    const NAME: &'static str = "mail";

    async fn due(&self, limit: u32, _busy: &[Uuid]) -> guestlist_app::Result<Vec<Due>> {
        Ok(self
            .app
            .due_mail(limit)
            .await?
            .into_iter()
            .map(|m| Due {
                id: m.id,
                group: None,
            })
            .collect())
    }

    async fn claim(
        &self,
        id: Uuid,
        lease: Duration,
    ) -> guestlist_app::Result<Option<(OutgoingMail, u32)>> {
        Ok(self.app.claim_mail(id, lease).await?.map(|m| {
            let attempt = m.attempt;
            (m, attempt)
        }))
    }

    async fn deliver(&self, mail: &OutgoingMail) -> (Result<(), Failure>, ()) {
        (self.mailer.send(mail).await.map_err(Failure::from), ())
    }

    async fn record(&self, id: Uuid, outcome: DeliveryOutcome, _: ()) -> guestlist_app::Result<()> {
        self.app.mail_attempted(id, outcome).await
    }
}

/// Runs the sender until the task is aborted: the generic outbox worker over the
/// e-mail outbox, woken whenever a request queues mail, and at every poll interval.
pub fn spawn_sender(app: App, mailer: Mailer) -> tokio::task::JoinHandle<()> {
    let policy = mailer.config.policy();
    let wake = app.mail_queued();
    outbox::spawn_worker(MailOutbox { app, mailer }, policy, wake, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_link_stays_one_line_and_other_text_is_encoded() {
        let link = format!(
            "https://app.example.com/invitations/accept?token={}",
            "A".repeat(32)
        );
        let body = readable(format!("Accept:\n\n    {link}\n"));
        assert_eq!(body.encoding(), ContentTransferEncoding::SevenBit);
        let raw = String::from_utf8(body.into_vec()).unwrap();
        assert!(raw.contains(&link) && raw.contains("\r\n"), "{raw}");
        assert_ne!(
            readable("Grüße".into()).encoding(),
            ContentTransferEncoding::SevenBit
        );
        assert_ne!(
            readable("x".repeat(1200)).encoding(),
            ContentTransferEncoding::SevenBit
        );
    }

    #[test]
    fn the_policy_is_the_configured_one() {
        let c = MailConfig {
            retry_base_ms: 100,
            retry_max_ms: 1_000,
            max_attempts: 3,
            ..MailConfig::default()
        };
        let p = c.policy();
        assert_eq!(
            (p.backoff(1), p.backoff(2), p.max_attempts),
            (Duration::from_millis(100), Duration::from_millis(200), 3)
        );
        assert_eq!(p.backoff(5), Duration::from_millis(1_000));
    }

    #[test]
    fn html_escapes_and_text_does_not() {
        let env = load_templates(None).unwrap();
        let ctx = minijinja::context! {
            space => "acme/", space_name => "<Acme & Co>", role => "member", inviter => "Ann",
            message => Option::<String>::None, accept_link => "https://x/a?token=T", expires_at => "soon",
        };
        let html = env
            .get_template("invitation.html")
            .unwrap()
            .render(&ctx)
            .unwrap();
        let text = env
            .get_template("invitation.txt")
            .unwrap()
            .render(&ctx)
            .unwrap();
        assert!(html.contains("&lt;Acme &amp; Co&gt;"), "{html}");
        assert!(text.contains("<Acme & Co>"), "{text}");
        assert!(text.contains("https://x/a?token=T"));
    }

    #[test]
    fn overridden_templates_win_and_the_password_never_prints() {
        let dir = std::env::temp_dir().join(format!("gl-tpl-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("invitation.subject.txt"),
            "Join {{ space_name }} now",
        )
        .unwrap();
        let env = load_templates(Some(&dir)).unwrap();
        let subject = env
            .get_template("invitation.subject.txt")
            .unwrap()
            .render(minijinja::context! { space_name => "Acme" })
            .unwrap();
        assert_eq!(subject, "Join Acme now");
        assert!(
            env.get_template("invitation.txt").is_ok(),
            "the others stay built in"
        );
        // The sign-up invitation's templates are overridden the same way.
        std::fs::write(
            dir.join("signup_invitation.subject.txt"),
            "{{ inviter }} saved you a seat",
        )
        .unwrap();
        let env = load_templates(Some(&dir)).unwrap();
        let subject = env
            .get_template("signup_invitation.subject.txt")
            .unwrap()
            .render(minijinja::context! { inviter => "alice" })
            .unwrap();
        assert_eq!(subject, "alice saved you a seat");
        std::fs::remove_dir_all(&dir).unwrap();
        let c = MailConfig {
            smtp_url: Some("smtp://u:hunter2@mail.example:587".into()),
            ..MailConfig::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
