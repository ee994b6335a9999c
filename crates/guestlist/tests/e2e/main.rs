//! The binary end to end, as a user runs it: one test binary, modules by area.

mod cli;
mod fuzz;
mod imports;
mod limits;
mod postgres;
mod readme;
mod webhooks;

use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_guestlist");

pub use guestlist_testkit::server::free_port;

/// Polls `/readyz` until it answers 200; fails the test after `within`.
pub async fn wait_ready(url: &str, within: Duration) {
    assert!(
        guestlist_testkit::server::wait_ready(url, within).await,
        "{url} never became ready"
    );
}
