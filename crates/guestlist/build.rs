//! Stamps the binary with the commit it was built from and its build profile, for
//! `guestlist --version`. Outside a git checkout the commit is `unknown`.

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=GUESTLIST_COMMIT={commit}");
    println!(
        "cargo:rustc-env=GUESTLIST_PROFILE={}",
        std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into())
    );
    // Stamped again when HEAD moves: HEAD itself (a checkout) and the branch it names
    // (a commit). Only paths that exist, or cargo would run this on every build.
    println!("cargo:rerun-if-changed=build.rs");
    let git = Path::new("../../.git");
    let head = git.join("HEAD");
    if head.is_file() {
        println!("cargo:rerun-if-changed={}", head.display());
        if let Some(branch) = std::fs::read_to_string(&head)
            .ok()
            .and_then(|h| h.strip_prefix("ref: ").map(|r| r.trim().to_owned()))
        {
            for f in [git.join(&branch), git.join("packed-refs")] {
                if f.is_file() {
                    println!("cargo:rerun-if-changed={}", f.display());
                }
            }
        }
    }
}
