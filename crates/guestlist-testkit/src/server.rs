//! The `guestlist` binary run as an operator runs it: a config file, `api-key create`,
//! `serve`, and `/readyz`. The end-to-end tests and the benchmark start servers (and
//! clusters of replicas) with these, so both exercise the real startup.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use guestlist_app::Secret;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes `guestlist.toml` in `dir` for `database_url` with `secret` as both the JWT
/// and the link secret, rate limits out of the way (load and races come from one
/// address), and `extra` TOML appended (top-level keys first, then tables).
pub fn write_config(dir: &Path, database_url: &str, secret: &Secret, extra: &str) -> PathBuf {
    let path = dir.join("guestlist.toml");
    let (top, tables) = match extra.find("\n[").or(extra.starts_with('[').then_some(0)) {
        Some(i) => extra.split_at(i),
        None => (extra, ""),
    };
    let text = format!(
        "database_url = \"{database_url}\"\njwt_secret = \"{s}\"\nlink_secret = \"{s}\"\n{top}\n\
         [rate_limits]\npreview_per_minute_per_ip = 1000000000\njoin_per_minute_per_ip = 1000000000\n\
         per_minute_per_user = 1000000000\n{tables}\n",
        s = secret.expose(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `guestlist api-key create --platform-admin`: the new key.
pub fn create_api_key(bin: &Path, config: &Path, name: &str) -> String {
    let out = Command::new(bin)
        .args([
            "api-key",
            "create",
            "--name",
            name,
            "--platform-admin",
            "--config",
        ])
        .arg(config)
        .env("RUST_LOG", "warn")
        .output()
        .expect("guestlist runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A `guestlist serve` process, killed when dropped.
pub struct Replica {
    pub child: Child,
    pub url: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `guestlist serve --config <config>` on 127.0.0.1:`port`, its log (at
/// `RUST_LOG`, `warn` unless set) in `log`. Does not wait for it: see [`wait_ready`].
pub fn serve(bin: &Path, config: &Path, port: u16, log: &Path) -> Replica {
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--config"])
        .arg(config)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "warn");
    }
    Replica {
        child: cmd.spawn().expect("guestlist starts"),
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// Polls `/readyz` until it answers 200 (`true`), or `within` has passed (`false`).
pub async fn wait_ready(url: &str, within: Duration) -> bool {
    guestlist_app::install_tls_provider();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{url}/readyz")).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}
