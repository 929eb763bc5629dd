//! Attacks on the real binary, as a hostile agent would make them: the audit trail rewritten
//! or deleted behind the server's back, broken frames, approvals without the content hash,
//! and paths or URIs that point outside the workspace.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::{TestClient, edit, full_caps, repo, root, workspace};

const BIN: &str = env!("CARGO_BIN_EXE_autogate");

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("AUTOGATE_ENV")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A repository where the server applied one edit (a checkpoint and three audit records).
async fn repo_with_an_applied_edit() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = repo(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "changed") }),
        )
        .await
        .unwrap();
    assert_eq!(summary["changes"][0]["status"], "applied", "{summary}");
    client.shutdown().await;
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("anchored head at record"), "{stdout}");
    (dir, root)
}

fn trail(root: &Path) -> std::path::PathBuf {
    root.join(".git/autogate/audit.jsonl")
}

#[tokio::test]
async fn attack_log_verify_fails_when_the_trail_is_deleted() {
    let (_dir, root) = repo_with_an_applied_edit().await;
    std::fs::remove_file(trail(&root)).unwrap();
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("the audit trail is missing"), "{stdout}");
}

#[tokio::test]
async fn attack_log_verify_fails_when_the_last_record_is_removed() {
    let (_dir, root) = repo_with_an_applied_edit().await;
    let text = std::fs::read_to_string(trail(&root)).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    std::fs::write(trail(&root), lines.join("\n") + "\n").unwrap();
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("records were removed from its end"),
        "{stdout}"
    );
}

#[tokio::test]
async fn attack_log_verify_fails_when_the_whole_trail_is_rehashed() {
    let (_dir, root) = repo_with_an_applied_edit().await;
    // Rewrite every record (medium becomes low) and recompute the whole chain with the
    // library itself, as an attacker with the source would.
    let records = autogate_vcs::AuditLog::open(&root).unwrap().read().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let forger = autogate_vcs::AuditLog::at_path(scratch.path().join("audit.jsonl"));
    for mut r in records {
        r.level = Some("low".into());
        r.prev = None;
        r.hash = String::new();
        forger.append(r).unwrap();
    }
    std::fs::copy(forger.path(), trail(&root)).unwrap();
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("the trail was rewritten"), "{stdout}");
}

#[test]
fn log_verify_without_a_trail_says_so() {
    let dir = repo(&[("a.txt", "a\n")]);
    let (code, stdout, _) = run(&root(&dir), &["log", "--verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("no audit trail"), "{stdout}");
    assert!(!stdout.contains("hash chain intact"), "{stdout}");
    let dir = workspace(&[("a.txt", "a\n")]);
    let (code, stdout, _) = run(&root(&dir), &["log", "--verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("no audit trail"), "{stdout}");
}

#[tokio::test]
async fn attack_an_approval_without_the_content_hash_is_refused() {
    let dir = workspace(&[("Cargo.toml", "[package]\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, support::helix_caps(), Value::Null).await;
    let uri = client.uri("Cargo.toml");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [1, 0, 1, 0], "x = 1\n") }),
        )
        .await
        .unwrap();
    assert_eq!(summary["changes"][0]["status"], "pending", "{summary}");
    // The agent approves its own change by id alone.
    let err = client
        .command("autogate.approve", json!({ "id": "1" }))
        .await
        .unwrap_err();
    assert_eq!(err["code"], json!(-32602));
    assert!(
        err["message"].as_str().unwrap().contains("needs `hash`"),
        "{err}"
    );
    assert_eq!(support::read(&root, "Cargo.toml").unwrap(), "[package]\n");
    // The person approves with the hash the pending list showed them.
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    let hash = pending["changes"][0]["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64, "{pending}");
    let ok = client
        .command("autogate.approve", json!({ "id": "1", "hash": hash }))
        .await
        .unwrap();
    assert_eq!(ok["changes"][0]["status"], "approved", "{ok}");
    client.settle(100).await;
    client.shutdown().await;
}

/// Every change of a Summary is denied and nothing was written under `root` or at `outside`.
fn assert_denied_and_unwritten(summary: &Value, root: &Path, outside: &Path) {
    let changes = summary["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "{summary}");
    for c in changes {
        assert_eq!(c["decision"], "deny", "{summary}");
        assert_eq!(c["status"], "denied", "{summary}");
    }
    assert!(!outside.exists(), "written outside the workspace");
    let relative = outside.strip_prefix("/").unwrap();
    assert!(!root.join(relative).exists(), "moved under the root");
}

#[tokio::test]
async fn attack_a_patch_to_an_absolute_path_is_denied_not_moved_under_the_root() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("outside.txt");
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    for patch in [
        format!(
            "--- /dev/null\n+++ {}\n@@ -0,0 +1 @@\n+pwned\n",
            outside.display()
        ),
        format!(
            "--- /dev/null\n+++ b/{}\n@@ -0,0 +1 @@\n+pwned\n",
            outside.display()
        ),
        // git-style, the absolute path after `b/` (`a/tmp/x` alone would be a relative path).
        format!(
            "diff --git a/{0} b/{0}\nnew file mode 100644\n--- /dev/null\n+++ b/{0}\n@@ -0,0 +1 @@\n+pwned\n",
            outside.display()
        ),
        // A Windows drive path is absolute too, wherever the server runs.
        "--- /dev/null\n+++ C:\\outside.txt\n@@ -0,0 +1 @@\n+pwned\n".to_owned(),
    ] {
        let summary = client
            .command("autogate.applyPatch", json!({ "patch": patch }))
            .await;
        match summary {
            Ok(summary) => assert_denied_and_unwritten(&summary, &root, &outside),
            Err(e) => panic!("{patch}: {e}"),
        }
    }
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn attack_a_file_uri_naming_another_host_is_denied() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    // The path is inside the workspace; the host is not this machine (a UNC share on Windows).
    let uri = format!("file://otherhost{}", root.join("a.txt").display());
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "pwned") }),
        )
        .await
        .unwrap();
    let changes = summary["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{summary}");
    assert_eq!(changes[0]["decision"], "deny", "{summary}");
    assert!(
        changes[0]["reasons"].to_string().contains("another host"),
        "{summary}"
    );
    assert_eq!(support::read(&root, "a.txt").unwrap(), "a\n");
    // `localhost` is this machine.
    let uri = format!("file://localhost{}", root.join("a.txt").display());
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    assert_eq!(summary["changes"][0]["status"], "applied", "{summary}");
    client.settle(100).await;
    client.shutdown().await;
}
