//! The release's listener limits, through the binary as an operator runs it: under a
//! low open-file limit, a flood of idle connections does not stop health checks; and
//! SIGTERM with a half-sent request in flight still ends the process within its grace.

use std::process::{Command, Stdio};

use guestlist_testkit::server::{self, Replica};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{BIN, free_port, wait_ready};

/// `guestlist serve` on a fresh SQLite file with `extra` config, under a shell
/// `ulimit -n` of `nofile` (soft and hard).
fn serve(dir: &std::path::Path, port: u16, nofile: u32, extra: &str) -> Replica {
    let secret = guestlist_app::Secret::generate();
    let db = format!("sqlite://{}", dir.join("g.db").display());
    let config = server::write_config(dir, &db, &secret, extra);
    let script =
        format!("ulimit -n {nofile} && exec \"$0\" serve --config \"$1\" --bind 127.0.0.1:{port}");
    Replica {
        child: Command::new("sh")
            .args(["-c", &script, BIN, config.to_str().unwrap()])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn healthz(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_flood_of_idle_connections_under_a_low_file_limit_leaves_health_checks_answered() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = serve(dir.path(), port, 256, "");
    wait_ready(&format!("http://127.0.0.1:{port}"), Duration::from_secs(20)).await;
    // More idle connections than the process has file descriptors.
    let mut idle = Vec::new();
    for _ in 0..400 {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connect: {e}"),
        }
    }
    // The health lane's idle holders give it up within 2 s; a health check then gets in.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = healthz(port).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no health check answered: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(idle);
}

#[tokio::test]
async fn sigterm_with_a_half_sent_request_exits_within_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = serve(
        dir.path(),
        port,
        4096,
        "[http]\nshutdown_grace_secs = 2\nheader_read_timeout_secs = 600\nbody_read_timeout_secs = 600\nidle_timeout_secs = 600\n",
    );
    wait_ready(&format!("http://127.0.0.1:{port}"), Duration::from_secs(20)).await;
    let mut half = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    half.write_all(b"POST /api/v1/spaces HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = server.child.id().to_string();
    let sent = Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status();
    assert!(sent.unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
    drop(half);
}
