//! The binary end to end, as a user runs it: one test binary, modules by area.

mod cli;
mod limits;
mod postgres;

use std::net::TcpListener;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_guestlist");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `/readyz` until it answers 200.
pub async fn wait_ready(url: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(r) = reqwest::get(format!("{url}/readyz")).await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
