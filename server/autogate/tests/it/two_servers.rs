//! Two autogate processes on one workspace (two editor windows on one folder) racing to write
//! the same closed file: no change reported applied may be lost.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Stdio;

use crate::support::{TestClient, edit, helix_caps, read, repo, root};
use serde_json::{Value, json};

/// How many comment lines each server inserts.
const EDITS: usize = 8;

/// Starts the real binary on `root` and connects a test client to its stdio.
async fn server(root: &Path, options: Value) -> (TestClient, tokio::process::Child) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
        .arg("lsp")
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let client = TestClient::connect(
        root,
        Box::new(stdout),
        Box::new(stdin),
        None,
        helix_caps(),
        options,
    )
    .await;
    (client, child)
}

/// Inserts `EDITS` comment lines at the top of `src/lib.rs`, one proposal each, as fast as the
/// server answers; returns (line, status, reasons) for each.
async fn insert_lines(client: &mut TestClient, name: &str) -> Vec<(String, String, String)> {
    let uri = client.uri("src/lib.rs");
    let mut out = Vec::new();
    for i in 0..EDITS {
        let line = format!("// {name} {i}\n");
        let summary = client
            .command(
                "autogate.proposeEdit",
                json!({ "edit": edit(&uri, None, [0, 0, 0, 0], &line) }),
            )
            .await
            .unwrap();
        let change = &summary["changes"][0];
        out.push((
            line,
            change["status"].as_str().unwrap_or_default().to_owned(),
            change["reasons"].to_string(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_writing_one_closed_file_lose_no_applied_change() {
    let dir = repo(&[("src/lib.rs", "pub fn a() {}\n")]);
    let root = root(&dir);
    let (mut a, _child_a) = server(&root, Value::Null).await;
    let (mut b, _child_b) = server(&root, Value::Null).await;
    let (results_a, results_b) = tokio::join!(
        async {
            let results = insert_lines(&mut a, "a").await;
            a.shutdown().await;
            results
        },
        async {
            let results = insert_lines(&mut b, "b").await;
            b.shutdown().await;
            results
        },
    );
    let file = read(&root, "src/lib.rs").unwrap();
    let mut applied = 0;
    for (line, status, reasons) in results_a.iter().chain(&results_b) {
        match status.as_str() {
            "applied" => {
                applied += 1;
                assert!(
                    file.contains(line.as_str()),
                    "`{}` was reported applied but is not in the file:\n{file}",
                    line.trim_end()
                );
            }
            "failed" => assert!(
                reasons.contains("changed on disk since the change was analyzed"),
                "a lost race is refused with a reason: {reasons}"
            ),
            other => panic!("unexpected status {other} for `{}`", line.trim_end()),
        }
    }
    assert_eq!(
        file.lines().filter(|l| l.starts_with("// ")).count(),
        applied,
        "the file holds exactly the applied lines:\n{file}"
    );
    assert!(file.ends_with("pub fn a() {}\n"));
    assert!(applied > 0, "some edits landed");
}

#[tokio::test]
async fn autogate_rollback_waits_while_another_autogate_process_writes() {
    let dir = repo(&[("src/lib.rs", "pub fn a() {}\n")]);
    let root = root(&dir);
    let (mut client, _child) = server(&root, Value::Null).await;
    let uri = client.uri("src/lib.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 0], "/// A.\n") }),
        )
        .await
        .unwrap();
    assert_eq!(
        summary["changes"][0]["status"],
        json!("applied"),
        "{summary:#}"
    );
    client.shutdown().await;

    // Another autogate process is in the middle of a write: it holds the workspace's lock.
    let lock = std::fs::File::create(root.join(".git/autogate/write.lock")).unwrap();
    lock.lock().unwrap();
    let started = std::time::Instant::now();
    let mut rollback = std::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
        .arg("rollback")
        .current_dir(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(
        read(&root, "src/lib.rs").unwrap(),
        "/// A.\npub fn a() {}\n",
        "nothing restored while the other process writes"
    );
    drop(lock);
    assert!(rollback.wait().unwrap().success());
    assert!(started.elapsed() >= std::time::Duration::from_millis(600));
    assert_eq!(read(&root, "src/lib.rs").unwrap(), "pub fn a() {}\n");
}

#[tokio::test]
async fn a_write_that_waits_too_long_for_another_process_is_refused_with_a_reason() {
    let dir = repo(&[("src/lib.rs", "pub fn a() {}\n")]);
    let root = root(&dir);
    // The wait is the applyEdit time limit plus 5 s.
    let (mut client, _child) = server(&root, json!({ "applyTimeoutMs": 100 })).await;
    std::fs::create_dir_all(root.join(".git/autogate")).unwrap();
    let lock = std::fs::File::create(root.join(".git/autogate/write.lock")).unwrap();
    lock.lock().unwrap();
    let uri = client.uri("src/lib.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 0], "/// A.\n") }),
        )
        .await
        .unwrap();
    let change = &summary["changes"][0];
    assert_eq!(change["status"], json!("failed"), "{summary:#}");
    assert!(
        change["reasons"]
            .to_string()
            .contains("another autogate process on this workspace has been writing"),
        "{summary:#}"
    );
    assert_eq!(read(&root, "src/lib.rs").unwrap(), "pub fn a() {}\n");
    drop(lock);
    client.shutdown().await;
}
