//! The `guestlist` binary: thin. It reads configuration, opens the store and hands
//! off to the server, or talks to a running server through the typed client.

mod bulk;
mod config;
mod imports;
mod transfer;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use config::{Config, DevSecrets};
use guestlist_app::store::Store;
use guestlist_app::{App, AppConfig, Claims, Secret};
use guestlist_client::{Client, InviteQuery, api};
use guestlist_domain::SpacePath;
use guestlist_server::{Application, Database, Settings};
use tokio::net::TcpListener;

/// Rust's allocations go to mimalloc: the system allocator's bookkeeping was 5–10 % of
/// the CPU of a join and of an import (docs/PERFORMANCE.md, the seventeenth round).
/// SQLite keeps its own allocations (its lookaside and the system allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "guestlist",
    version = concat!(
        env!("CARGO_PKG_VERSION"),
        " (",
        env!("GUESTLIST_COMMIT"),
        ", ",
        env!("GUESTLIST_PROFILE"),
        ")"
    ),
    about = "Invitations and membership for your applications"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct ConfigArgs {
    /// A TOML config file (default: ./guestlist.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The database (overrides GUESTLIST_DATABASE_URL): sqlite://FILE or postgres://….
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Address to listen on.
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        /// Try it locally: make secrets if none are set, and print an admin key.
        #[arg(long)]
        dev: bool,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Mint a user token signed with the configured secret (as the host app would).
    Token {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The user id the token names (`sub`).
        #[arg(long)]
        sub: String,
        /// An e-mail address the token carries (see --email-verified).
        #[arg(long)]
        email: Option<String>,
        /// Mark the e-mail as verified by the host application.
        #[arg(long)]
        email_verified: bool,
        /// A username the token carries (`preferred_username`).
        #[arg(long)]
        username: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
    },
    /// Manage API keys for machine clients.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Write every row of the database as JSON Lines (to move between engines).
    Export {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The file to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Load an export into an empty database (migrating it first); or, with
    /// `--from`, another system's spaces, members and live links into this one.
    Import {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The export to read (default: standard input).
        #[arg(long, conflicts_with = "from")]
        input: Option<PathBuf>,
        /// Another system's rows: a .jsonl file (one row a line, with its `kind`:
        /// space, member or link) or a .csv file (a column per field; a `kind` column,
        /// or links only). Running it again changes nothing (links are named by their
        /// `external_id`).
        #[arg(long)]
        from: Option<PathBuf>,
        /// With --from: what would happen, nothing written (each batch on its own).
        #[arg(long, requires = "from")]
        dry_run: bool,
        /// With --from: import nothing if any row would be refused.
        #[arg(long, requires = "from")]
        all_or_nothing: bool,
        /// With --from: rows per transaction (at most 100,000).
        #[arg(long, default_value_t = 50_000, requires = "from")]
        batch: usize,
        /// With --from: where to write the refused rows, one JSON line each
        /// (default: standard error).
        #[arg(long, requires = "from")]
        report: Option<PathBuf>,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Print a schema: `guestlist schema graphql`.
    Schema {
        /// Which schema: `graphql`.
        #[arg(value_parser = ["graphql"])]
        kind: String,
    },
    /// Print the configuration: `config default` (or bare `config`) the commented
    /// default file, `config show` the effective settings (file, environment),
    /// secrets redacted.
    Config {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// `default`: the commented default file; `show`: the effective settings.
        #[arg(value_parser = ["default", "show"], default_value = "default")]
        which: String,
    },
    /// Work with invite links on a running server.
    Invite {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: InviteCommand,
    },
    /// Manage webhook endpoints on a running server.
    Webhook {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: webhooks::WebhookCommand,
    },
    /// Follow the event log of a running server.
    Events {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: webhooks::EventsCommand,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print it (the only time it is shown).
    Create {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The key's name: how events (`key:<name>`) and `api-key revoke` know it.
        #[arg(long)]
        name: String,
        /// May create top-level spaces and provision members anywhere.
        #[arg(long, conflicts_with = "scim")]
        platform_admin: bool,
        /// A SCIM key for an identity provider: it serves /scim/v2 only, and
        /// provisions users and groups within this space's subtree (e.g. `acme/`).
        #[arg(long, value_name = "SPACE")]
        scim: Option<String>,
    },
    /// Revoke a key: it authenticates nothing from then on; the links, invitations
    /// and owner-adds it made that are still live are revoked, and its webhook
    /// endpoints disabled, each with its event.
    Revoke {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The name of the key to revoke (`api-key list` shows them).
        #[arg(long)]
        name: String,
    },
    /// List the keys (names and kinds; a key itself is never shown again).
    List {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
}

#[derive(Args)]
struct Remote {
    /// The server's base URL (default: the `bind` address of the config file `serve`
    /// reads, ./guestlist.toml or --config; else http://127.0.0.1:7700).
    #[arg(long, env = "GUESTLIST_URL", global = true, hide_env_values = true)]
    url: Option<String>,
    /// A TOML config file (default: ./guestlist.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// A user token or API key.
    #[arg(long, env = "GUESTLIST_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
}

#[derive(Subcommand)]
enum InviteCommand {
    /// Create an invite link.
    Create {
        /// The space the link lets people into (e.g. `acme/`).
        #[arg(long)]
        space: String,
        /// The role it grants (default member).
        #[arg(long)]
        role: Option<String>,
        /// How many people may join through it (default: no limit).
        #[arg(long)]
        max_uses: Option<u32>,
        /// Seconds until it expires.
        #[arg(long)]
        expires_in: Option<i64>,
        /// A note for the managers who list it.
        #[arg(long)]
        description: Option<String>,
        /// A redeemer may take a lesser role, or join a space below this one.
        #[arg(long)]
        allow_narrowing: bool,
        /// Redeeming asks a member manager to approve (a join request).
        #[arg(long)]
        requires_approval: bool,
        /// With --requires-approval: verified addresses of this domain join at once
        /// (repeatable).
        #[arg(long)]
        auto_approve_domain: Vec<String>,
        /// A code of your choosing (a vanity code, 8 to 32 letters and digits).
        #[arg(long)]
        code: Option<String>,
    },
    /// List invites you manage.
    List {
        /// Only links on this space and below.
        #[arg(long)]
        space: Option<String>,
        /// Only links in this state: active, exhausted, expired or revoked.
        #[arg(long)]
        state: Option<String>,
    },
    /// Preview a code.
    Show { code: String },
    /// Join through a code.
    Join {
        code: String,
        /// Join this space below the link's own (a link that allows narrowing).
        #[arg(long)]
        space: Option<String>,
    },
    /// Revoke an invite by code or id.
    Revoke { code_or_id: String },
    /// Invite the people of a CSV file to a space by e-mail (header: any of email,
    /// username, user_id, role). Safe to run again: nobody is invited twice.
    Bulk(bulk::BulkArgs),
}

/// The config file `cfg` names, or ./guestlist.toml when present.
fn config_file(cfg: &ConfigArgs) -> Option<PathBuf> {
    let default_file = PathBuf::from("guestlist.toml");
    cfg.config
        .clone()
        .or_else(|| default_file.exists().then_some(default_file))
}

fn load(cfg: &ConfigArgs) -> Result<Config, String> {
    let file = config_file(cfg);
    let mut config = Config::load(file.as_deref(), |k| std::env::var(k).ok())?;
    if let Some(url) = &cfg.database_url {
        config.database_url = url.clone();
    }
    Ok(config)
}

fn init_tracing(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Colours only on a terminal: a log file or collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The engine the URL names, with the configured settings.
fn database(config: &Config) -> Result<Database, String> {
    let mut db = Database::from_url(&config.database_url).map_err(|e| e.to_string())?;
    match &mut db {
        Database::Postgres(opts) => {
            opts.max_connections = config.postgres_max_connections;
            opts.statement_timeout =
                std::time::Duration::from_millis(config.postgres_statement_timeout_ms);
            opts.connect_retry_for =
                std::time::Duration::from_secs(config.postgres_connect_retry_secs);
        }
        Database::Sqlite(opts) => {
            opts.read_connections = config.sqlite_read_connections;
            opts.max_batch = config.sqlite_max_batch;
            opts.cache_mib = config.sqlite_cache_mib;
        }
    }
    Ok(db)
}

/// Opens the engine the URL names and applies pending migrations.
/// The application on the database the config names, for a command that works on it
/// directly; beside a `serve --dev` database, with its secrets (codes and keys are
/// kept as keyed hashes: the command must key them as the server does).
async fn open_app(cfg: &ConfigArgs) -> Result<(App, Arc<dyn Store>), String> {
    let mut config = load(cfg)?;
    if let Some(s) = DevSecrets::read(&config) {
        config.jwt_secret.get_or_insert(s.jwt_secret);
        config.link_secret.get_or_insert(s.link_secret);
    }
    let store = open_store(&config).await?;
    let app = App::new(store.clone(), app_config(&config)?).map_err(|e| e.to_string())?;
    Ok((app, store))
}

async fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    database(config)?.open().await.map_err(|e| e.to_string())
}

fn app_config(config: &Config) -> Result<AppConfig, String> {
    Ok(AppConfig {
        jwt_secret: config.user_token_secret()?,
        jwt_audience: config.jwt_audience.clone(),
        issuers: config.issuers.clone(),
        link_secret: config.link_secret()?,
        invite_url_template: config.invite_url_template(),
        code_length: config.code_length,
        rate_limits: config.rate_limits.clone(),
        invitations: guestlist_app::InvitationConfig {
            accept_url_template: config.invitation_url_template(),
            default_lifetime_secs: config.invitation_lifetime_secs,
            resend_interval_secs: config.invitation_resend_interval_secs,
        },
        signup: guestlist_app::SignupConfig {
            url_template: config.signup_url_template(),
            claim_ttl_secs: config.signup_claim_ttl_secs,
        },
        sessions: guestlist_app::SessionConfig {
            lifetime_secs: config.pages.session_lifetime_secs,
            dev_sign_in: config.pages.dev_sign_in,
        },
        platform_admins: config.platform_admins.clone(),
        webhooks: config.webhooks.to_config().map_err(|e| e.to_string())?,
        scim: config.scim.clone(),
    })
}

fn mint(
    secret: &Secret,
    sub: &str,
    email: Option<String>,
    verified: bool,
    username: Option<String>,
    ttl: u64,
) -> Result<String, String> {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs()
        + ttl;
    let claims = Claims {
        sub: sub.into(),
        email,
        email_verified: verified,
        preferred_username: username,
        exp,
        nbf: None,
        aud: None,
    };
    guestlist_app::mint_token(secret, &claims).map_err(|e| e.to_string())
}

async fn serve(
    cfg: ConfigArgs,
    bind: Option<std::net::SocketAddr>,
    dev: bool,
) -> Result<(), String> {
    let mut config = load(&cfg)?;
    if let Some(b) = bind {
        config.bind = b;
    }
    init_tracing(&config.log_format);
    let dev_secrets = if dev && (config.jwt_secret.is_none() || config.link_secret.is_none()) {
        let s = DevSecrets::read_or_create(&config)?;
        config.jwt_secret.get_or_insert(s.jwt_secret.clone());
        config.link_secret.get_or_insert(s.link_secret.clone());
        Some(s)
    } else {
        None
    };
    if dev {
        // Anyone may sign in to the pages as anyone: only for `--dev`. Whoever signs
        // in as `admin` runs the platform, so the console can do everything.
        config.pages.dev_sign_in = true;
        // A receiver on this machine may take webhooks while developing.
        for local in ["127.0.0.0/8", "::1"] {
            if !config.webhooks.allow_targets.iter().any(|t| t == local) {
                config.webhooks.allow_targets.push(local.into());
            }
        }
        if config.platform_admins.is_empty() {
            config.platform_admins.push("admin".into());
        }
    }
    config.http.validate().map_err(|e| e.to_string())?;
    config.cors.validate().map_err(|e| e.to_string())?;
    let default_public_url = Config::default().public_url;
    if !dev && config.public_url == default_public_url && config.bind.ip().is_unspecified() {
        // Links and e-mail would point at 127.0.0.1, which is nobody's address but
        // this machine's.
        return Err(guestlist_app::domain::SettingError::new(
            "public_url",
            format!(
                "set it to the address people reach this service at (`bind` is {}, so links cannot be derived from it)",
                config.bind
            ),
        )
        .to_string());
    }
    config.http.max_connections = guestlist_server::fit_connections(config.http.max_connections);
    let started = std::time::Instant::now();
    // Listen first: while the database is not reachable yet, /healthz answers and
    // /readyz says 503, instead of the process crash-looping.
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| format!("binding {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    if config.public_url == default_public_url {
        // Unset: links and e-mail point at where this server really listens.
        config.public_url = format!("http://{addr}");
    }
    let settings = Settings {
        database: database(&config)?,
        app: app_config(&config)?,
        mail: config.mail.clone(),
        server: guestlist_server::ServerOptions {
            trust_proxy_headers: config.trust_proxy_headers,
            graphiql: dev,
            introspection: config.graphql_introspection,
            metrics_token: config.metrics_token.clone(),
            http: config.http.clone(),
            cors: config.cors.clone(),
            public_url: config.public_url.clone(),
            pages: config.pages.clone(),
            events: config.events.clone(),
        },
        api_key: dev_secrets
            .as_ref()
            .map(|s| ("dev-admin".to_owned(), s.admin_api_key.clone(), true)),
    };
    tracing::info!(%addr, database = %config::redact_url(&config.database_url), "listening; opening the database");
    // Announced only once the settings held and the database opened: a start that
    // fails says why, and never that it is serving.
    let banner = dev_secrets.as_ref().map(|s| dev_banner(addr, &config, s));
    let starting = async move {
        let built = Application::build(settings).await?;
        tracing::info!(%addr, engine = built.app().engine(), ready_ms = started.elapsed().as_millis() as u64, "guestlist is serving");
        if let Some(banner) = banner {
            println!("{banner}");
        }
        Ok(built)
    };
    let served = guestlist_server::serve_when_ready(
        listener,
        config.http.clone(),
        starting,
        guestlist_server::shutdown_signal(),
    )
    .await;
    tracing::info!("stopped");
    served.map_err(|e| e.to_string())
}

fn dev_banner(addr: std::net::SocketAddr, config: &Config, s: &DevSecrets) -> String {
    let base = format!("http://{addr}");
    format!(
        r#"
Guestlist (dev) is serving on {base}, database {db}
GraphiQL: {base}/graphql?token=<a user token or API key>
Secrets are in {file} (local use only), beside the database, where `guestlist token`
and `guestlist api-key create` find them when given the same database.

Platform-admin token (an API key for your back end):
  {key}

Try it:
  curl -s -X POST {base}/api/v1/spaces -H "Authorization: Bearer {key}" \
       -H 'content-type: application/json' -d '{{"path":"acme/","name":"Acme"}}'

User tokens, as your application would sign them:
  guestlist token --sub alice --email alice@example.com --email-verified

In a browser: every invite link ({base}/i/<code>) opens its page; sign in there as
any user you type (the development sign-in), then see {base}/me. The admin console
is {base}/admin: sign in as `admin` (a platform administrator here) to run it all.

Invitation e-mail: {mail}
"#,
        mail = match &config.mail.smtp_url {
            Some(url) => format!("sent over SMTP ({})", config::redact_url(url)),
            None => format!(
                "written to ./{} (no SMTP server configured)",
                config.mail.folder.display()
            ),
        },
        db = config.database_url,
        file = DevSecrets::path(config).display(),
        key = s.admin_api_key,
    )
}

fn print<T: serde::Serialize>(v: &T) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Where the CLI finds the server: `--url`, `GUESTLIST_URL`, or the address `serve`
/// listens on with the same config file.
fn server_url(remote: &Remote) -> Result<String, String> {
    if let Some(url) = &remote.url {
        return Ok(url.clone());
    }
    let config = load(&ConfigArgs {
        config: remote.config.clone(),
        database_url: None,
    })?;
    let mut addr = config.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(format!("http://{addr}"))
}

/// A client of the server `remote` names, with its token.
fn remote_client(remote: &Remote) -> Result<Client, String> {
    let client = Client::new(&server_url(remote)?);
    Ok(match &remote.token {
        Some(t) => client.with_token(t.clone()),
        None => client,
    })
}

async fn invite(remote: Remote, command: InviteCommand) -> Result<(), String> {
    let client = remote_client(&remote)?;
    let e = |e: guestlist_client::ClientError| e.to_string();
    match command {
        InviteCommand::Create {
            space,
            role,
            max_uses,
            expires_in,
            description,
            allow_narrowing,
            requires_approval,
            auto_approve_domain,
            code,
        } => {
            let req = api::CreateInviteRequest {
                code,
                space,
                role,
                max_uses,
                expires_in_seconds: expires_in,
                description,
                allow_narrowing,
                requires_approval,
                auto_approve_domains: auto_approve_domain,
            };
            print(&client.create_invite(&req).await.map_err(e)?)
        }
        InviteCommand::List { space, state } => {
            let q = InviteQuery {
                space: space.as_deref(),
                state: state.as_deref(),
                ..Default::default()
            };
            print(&client.list_invites(&q).await.map_err(e)?)
        }
        InviteCommand::Show { code } => print(&client.preview_invite(&code).await.map_err(e)?),
        InviteCommand::Join { code, space } => print(
            &client
                .join_invite(&code, space.as_deref())
                .await
                .map_err(e)?,
        ),
        InviteCommand::Revoke { code_or_id } => {
            print(&client.revoke_invite(&code_or_id).await.map_err(e)?)
        }
        InviteCommand::Bulk(args) => bulk::run(&client, args).await,
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve { cfg, bind, dev } => serve(cfg, bind, dev).await,
        Command::Migrate { cfg } => {
            let config = load(&cfg)?;
            init_tracing(&config.log_format);
            // Opening an engine migrates it: SQLite or PostgreSQL, as the URL says.
            open_store(&config).await?.close().await;
            eprintln!("migrated {}", config::redact_url(&config.database_url));
            Ok(())
        }
        Command::Token {
            cfg,
            sub,
            email,
            email_verified,
            username,
            ttl,
        } => {
            let mut config = load(&cfg)?;
            if config.jwt_secret.is_none() {
                config.jwt_secret = DevSecrets::read(&config).map(|s| s.jwt_secret);
            }
            if config.jwt_secret.is_none() {
                return Err(format!(
                    "no jwt_secret to sign with: pass --config FILE, set GUESTLIST_JWT_SECRET, \
                     or run this where `serve --dev` keeps its secrets ({} beside the \
                     database {}; give the same --database-url)",
                    config::DEV_SECRETS_FILE,
                    config::redact_url(&config.database_url)
                ));
            }
            println!(
                "{}",
                mint(
                    &config.jwt_secret()?,
                    &sub,
                    email,
                    email_verified,
                    username,
                    ttl
                )?
            );
            Ok(())
        }
        Command::ApiKey {
            command:
                ApiKeyCommand::Create {
                    cfg,
                    name,
                    platform_admin,
                    scim,
                },
        } => {
            let scim = scim
                .map(|s| SpacePath::parse(&s).map_err(|e| format!("--scim: {e}")))
                .transpose()?;
            let (app, store) = open_app(&cfg).await?;
            let key = app
                .create_api_key(&name, platform_admin, scim)
                .await
                .map_err(|e| e.to_string())?;
            store.close().await;
            println!("{key}");
            Ok(())
        }
        Command::ApiKey {
            command: ApiKeyCommand::Revoke { cfg, name },
        } => {
            let (app, store) = open_app(&cfg).await?;
            let ended = app.revoke_api_key(&name).await;
            store.close().await;
            let ended = ended.map_err(|e| format!("{name}: {e}"))?;
            println!("revoked {name}; {ended} grants and endpoints it stood behind ended");
            Ok(())
        }
        Command::ApiKey {
            command: ApiKeyCommand::List { cfg },
        } => {
            let (app, store) = open_app(&cfg).await?;
            let keys = app.api_keys().await;
            store.close().await;
            for k in keys.map_err(|e| e.to_string())? {
                let kind = match (&k.scim_root, k.platform_admin) {
                    (Some(root), _) => format!("scim {root}"),
                    (None, true) => "platform".to_owned(),
                    (None, false) => "plain".to_owned(),
                };
                let state = if k.revoked { "revoked" } else { "active" };
                println!("{}\t{kind}\t{state}", k.name);
            }
            Ok(())
        }
        Command::Export { cfg, output } => {
            let config = load(&cfg)?;
            let store = open_store(&config).await?;
            let n = transfer::export(&*store, output.as_deref()).await;
            store.close().await;
            eprintln!("exported {} rows", n?);
            Ok(())
        }
        Command::Import {
            cfg,
            from: Some(from),
            dry_run,
            all_or_nothing,
            batch,
            report,
            ..
        } => {
            let (app, store) = open_app(&cfg).await?;
            let done = imports::run(
                &app,
                imports::ImportArgs {
                    from,
                    dry_run,
                    all_or_nothing,
                    batch,
                    report,
                },
            )
            .await;
            store.close().await;
            done
        }
        Command::Import { cfg, input, .. } => {
            let config = load(&cfg)?;
            let store = open_store(&config).await?;
            let n = transfer::import(&*store, input.as_deref()).await;
            store.close().await;
            eprintln!(
                "imported {} rows into {}",
                n?,
                config::redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::Schema { .. } => {
            print!("{}", guestlist_server::graphql_sdl());
            Ok(())
        }
        Command::Openapi => {
            print!("{}", guestlist_server::openapi_json());
            Ok(())
        }
        Command::Config { cfg, which } => {
            if which == "show" {
                match config_file(&cfg) {
                    Some(f) => println!("# read from {}, then the environment", f.display()),
                    None => println!("# no config file: the defaults, then the environment"),
                }
                print!("{}", load(&cfg)?.redacted_toml()?);
            } else {
                print!("{}", Config::commented_default());
            }
            Ok(())
        }
        Command::Invite { remote, command } => invite(remote, command).await,
        Command::Webhook { remote, command } => {
            webhooks::webhook(remote_client(&remote)?, command).await
        }
        Command::Events { remote, command } => {
            webhooks::events(remote_client(&remote)?, command).await
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    guestlist_app::install_tls_provider();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("guestlist: {e}");
            ExitCode::FAILURE
        }
    }
}
