//! The README's walkthrough, run as written: every `sh` block from "Five minutes with
//! curl" up to "What it does", in order, in one shell, against a fresh `serve --dev`
//! started in an empty folder the way the README starts it. A command that fails
//! (curl refuses any status ≥ 400) fails the test, and every answer the README shows
//! (`# → {…}`) must hold the fields shown, and their values where they are words,
//! numbers or booleans (codes, ids and tokens differ from run to run); an answer shown
//! as text (`# → 2 rows for acme/ …`) must appear in the output.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::{BIN, free_port, wait_ready};

/// The walkthrough's shell blocks, in order.
fn walkthrough(readme: &str) -> Vec<String> {
    let start = readme
        .find("## Five minutes with curl")
        .expect("the README has its walkthrough");
    let end = readme[start..]
        .find("\n## What it does")
        .map_or(readme.len(), |i| start + i);
    let mut blocks = Vec::new();
    let mut rest = &readme[start..end];
    while let Some(i) = rest.find("```sh\n") {
        let body = &rest[i + 6..];
        let close = body.find("\n```").expect("a closed block");
        blocks.push(body[..close].to_owned());
        rest = &body[close + 4..];
    }
    blocks
}

/// An answer shown in the README, as JSON: `…` stands for what is left out.
fn shown(text: &str) -> Value {
    let mut s = text.replace("\"…\"", "\"\"").replace('…', "");
    for _ in 0..4 {
        s = s
            .replace(",,", ",")
            .replace("{,", "{")
            .replace("[,", "[")
            .replace(",}", "}")
            .replace(",]", "]");
    }
    serde_json::from_str(&s)
        .unwrap_or_else(|e| panic!("README answer {text:?} is not JSON-ish: {e}"))
}

/// Whether a shown value is compared, not only its presence: words, paths, e-mail
/// addresses, numbers, booleans and null.
fn compared(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_./@:-".contains(c))
        }
        Value::Object(_) | Value::Array(_) => false,
        _ => true,
    }
}

/// Every field the README shows is in the answer, with the value shown where it is
/// compared; each element of a shown list matches some element of the answer's.
fn holds(shown: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (shown, actual) {
        (Value::Object(s), Value::Object(a)) => {
            for (k, v) in s {
                let got = a.get(k).ok_or_else(|| format!("{at}.{k} is missing"))?;
                holds(v, got, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(s), Value::Array(a)) => {
            for (i, v) in s.iter().enumerate() {
                if !a.iter().any(|x| holds(v, x, at).is_ok()) {
                    return Err(format!("{at}[{i}]: no element is like {v}"));
                }
            }
            Ok(())
        }
        (s, a) if compared(s) => (s == a)
            .then_some(())
            .ok_or_else(|| format!("{at} is {a}, the README shows {s}")),
        (Value::String(_), Value::String(_)) => Ok(()),
        (s, a) => Err(format!("{at} is {a}, the README shows {s}")),
    }
}

/// The script: the blocks with the README's ports and key replaced by this server's
/// (and a free port for the receiver), and after each shown answer a line that keeps the last answer for the
/// check. Returns the script and the answers it will keep, in order.
fn script(blocks: &[String], port: u16, key: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut expected = Vec::new();
    for block in blocks {
        let lines: Vec<&str> = block.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i].to_owned();
            if let Some(answer) = line.trim_start().strip_prefix("# → ") {
                let mut text = answer.to_owned();
                while let Some(next) = lines.get(i + 1).and_then(|l| l.strip_prefix("#    ")) {
                    text.push_str(next.trim());
                    i += 1;
                }
                out.push_str(&format!("keep {}\n", expected.len()));
                expected.push(text);
            } else if line.starts_with("KEY=gl_") {
                out.push_str(&format!("KEY={key}\n"));
            } else if line.starts_with("PORT=") {
                out.push_str(&format!("PORT={port}\n"));
            } else if line.starts_with("HOOK_PORT=") {
                out.push_str(&format!("HOOK_PORT={}\n", free_port()));
            } else if line.starts_with("G=") {
                out.push_str("G=gl\n");
            } else {
                assert!(
                    line.starts_with('#') || !line.contains("7700") && !line.contains("9123"),
                    "a port is written out in a command, not taken from $PORT or $HOOK_PORT: {line}"
                );
                out.push_str(&line);
                out.push('\n');
            }
            i += 1;
        }
    }
    (out, expected)
}

const PRELUDE: &str = r#"set -euo pipefail
mkdir -p answers
# curl as the README runs it, failing on any refusal; each answer kept for the check.
curl() { command curl --fail-with-body "$@" | tee .last; echo; }
gl() { "$GUESTLIST_BIN" "$@" | tee .last; }
keep() { cp .last "answers/$1.json"; }
"#;

#[tokio::test]
async fn the_readme_walkthrough_runs_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("the README");
    let blocks = walkthrough(&readme);
    assert!(
        blocks.len() >= 4,
        "the walkthrough has its blocks: {}",
        blocks.len()
    );

    // As a newcomer runs it: an empty folder, `serve --dev`, and a guestlist.toml only
    // to choose the port (which the CLI then finds the server by).
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    std::fs::write(
        dir.path().join("guestlist.toml"),
        format!("bind = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut server = Command::new(BIN)
        .args(["serve", "--dev"])
        .current_dir(dir.path())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("serve starts");
    wait_ready(&base, Duration::from_secs(30)).await;
    let banner = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    let key = banner
        .split_whitespace()
        .find(|w| w.starts_with("gl_"))
        .expect("serve --dev prints a key")
        .to_owned();

    let (body, expected) = script(&blocks, port, &key);
    std::fs::write(
        dir.path().join("walkthrough.sh"),
        format!("{PRELUDE}{body}"),
    )
    .unwrap();
    let run = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            // The receiver of the webhooks step needs `standardwebhooks`: the
            // checkers' Python (scripts/test.sh) comes first on the PATH.
            let path = match std::env::var_os("GUESTLIST_TEST_PYTHON") {
                Some(py) => {
                    let bin = Path::new(&py).parent().unwrap().to_owned();
                    let mut dirs = vec![bin];
                    dirs.extend(std::env::split_paths(
                        &std::env::var_os("PATH").unwrap_or_default(),
                    ));
                    std::env::join_paths(dirs).unwrap()
                }
                None => std::env::var_os("PATH").unwrap_or_default(),
            };
            Command::new("bash")
                .arg("walkthrough.sh")
                .current_dir(&dir)
                .env("PATH", path)
                .env("GUESTLIST_BIN", BIN)
                .output()
                .expect("bash runs")
        }
    })
    .await
    .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the walkthrough failed:\n{stdout}\n{stderr}"
    );

    for (n, want) in expected.iter().enumerate() {
        let text = std::fs::read_to_string(dir.path().join(format!("answers/{n}.json")))
            .unwrap_or_else(|_| panic!("answer {n} was not kept"));
        // An answer shown as JSON is compared field by field; one shown as text (the
        // CLI's summaries) must appear in the output.
        if !want.starts_with(['{', '[']) {
            let line = want.trim_end_matches('…').trim();
            assert!(
                text.contains(line),
                "README answer {n} ({want:?}) is not in: {text}"
            );
            continue;
        }
        let want = shown(want);
        let got: Value = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("answer {n} is not JSON ({e}): {text}"));
        if let Err(e) = holds(&want, &got, "answer") {
            panic!("README answer {n} ({want}) does not hold: {e}\ngot: {got}");
        }
    }
    assert!(
        expected.len() >= 20,
        "the walkthrough shows its answers: {}",
        expected.len()
    );
    // It leaves nothing in the folder it is run from: what it writes goes to $W.
    let server_and_harness = [
        "guestlist.toml",
        "serve.log",
        "walkthrough.sh",
        "answers",
        ".last",
        "guestlist.db",
        "guestlist.db-wal",
        "guestlist.db-shm",
        "guestlist-dev.toml",
        "guestlist-mail",
    ];
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !server_and_harness.contains(&n.as_str()))
        .collect();
    assert!(
        left.is_empty(),
        "the walkthrough left files behind: {left:?}"
    );
}

#[test]
fn a_shown_answer_is_read_with_its_elisions() {
    let v = shown(
        r#"{"outcome":"joined","membership":{…,"source":"invite_link"},"rows":[…],"token":"…",…}"#,
    );
    let ok: Value = serde_json::from_str(
        r#"{"outcome":"joined","membership":{"id":"x","source":"invite_link"},"rows":[1],"token":"abc","more":1}"#,
    )
    .unwrap();
    assert_eq!(holds(&v, &ok, "a"), Ok(()));
    let wrong: Value =
        serde_json::from_str(r#"{"outcome":"already_member","membership":{"source":"invite_link"},"rows":[],"token":"t"}"#)
            .unwrap();
    assert!(holds(&v, &wrong, "a").is_err());
}
