//! An edit whose audit record cannot be written is not applied: the record is part of the
//! commit of a batch. Attacked by making the audit trail unwritable while the server runs.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::support::{TestClient, edit, git, helix_caps, read, repo, root};
use serde_json::{Value, json};

/// Makes the audit trail unwritable whoever runs the test (root included): its file becomes a
/// folder.
fn break_audit_trail(root: &Path) {
    let audit = root.join(".git/autogate/audit.jsonl");
    let _ = std::fs::remove_file(&audit);
    std::fs::create_dir_all(&audit).unwrap();
}

#[tokio::test]
async fn a_low_change_whose_audit_record_cannot_be_written_is_not_applied() {
    let dir = repo(&[("src/lib.rs", "pub fn a() {}\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    break_audit_trail(&root);
    let uri = client.uri("src/lib.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 0], "/// A.\n") }),
        )
        .await
        .unwrap();
    let change = &summary["changes"][0];
    assert_eq!(change["level"], json!("low"), "{summary:#}");
    assert_eq!(change["status"], json!("failed"), "{summary:#}");
    assert!(
        change["reasons"]
            .to_string()
            .contains("the audit trail cannot be written"),
        "the person is told why: {summary:#}"
    );
    assert_eq!(read(&root, "src/lib.rs").unwrap(), "pub fn a() {}\n");

    // The trail is now known to be broken: an open document is not even sent an applyEdit.
    client.open("src/lib.rs", "pub fn a() {}\n").await;
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(1), [0, 0, 0, 0], "/// B.\n") }),
        )
        .await
        .unwrap();
    assert_eq!(
        summary["changes"][0]["status"],
        json!("failed"),
        "{summary:#}"
    );
    assert!(
        summary["changes"][0]["reasons"]
            .to_string()
            .contains("the audit trail cannot be written"),
        "{summary:#}"
    );
    assert_eq!(client.apply_edits_seen, 0);
    assert_eq!(client.text("src/lib.rs").unwrap(), "pub fn a() {}\n");

    // Repaired, the trail takes the next decision and the change goes through.
    std::fs::remove_dir(root.join(".git/autogate/audit.jsonl")).unwrap();
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(1), [0, 0, 0, 0], "/// C.\n") }),
        )
        .await
        .unwrap();
    assert_eq!(
        summary["changes"][0]["status"],
        json!("applied"),
        "{summary:#}"
    );
    assert_eq!(
        client.text("src/lib.rs").unwrap(),
        "/// C.\npub fn a() {}\n"
    );
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_change_whose_record_fails_after_it_was_written_is_rolled_back() {
    // The verification command is the attacker: it breaks the trail after the batch was
    // written and before its record is (again and again, should the audit writer recreate
    // the file in between).
    let dir = repo(&[
        ("src/lib.rs", "pub fn a() {}\n"),
        (
            ".autogate.toml",
            "[verify]\ncommands = [{ run = \"until mkdir .git/autogate/audit.jsonl 2>/dev/null; do rm -f .git/autogate/audit.jsonl; done\", timeout_secs = 30 }]\n",
        ),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("src/lib.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 0], "/// A.\n") }),
        )
        .await
        .unwrap();
    let change = &summary["changes"][0];
    assert_eq!(change["level"], json!("low"), "{summary:#}");
    // Answered before verification: the rollback is announced afterwards.
    assert_eq!(change["status"], json!("applied"), "{summary:#}");
    let message = client
        .wait_message("the audit trail cannot be written")
        .await;
    assert!(message.contains("rolled back"), "{message}");
    assert_eq!(read(&root, "src/lib.rs").unwrap(), "pub fn a() {}\n");
    let pending = client
        .command("autogate.explain", json!({ "id": "1" }))
        .await
        .unwrap();
    assert_eq!(pending["status"], json!("failed"), "{pending:#}");
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_batch_the_trail_cannot_record_is_not_committed() {
    // Commits are never rolled back, so the trail is checked before the commit.
    let dir = repo(&[
        ("src/lib.rs", "pub fn a() {}\n"),
        (
            ".autogate.toml",
            "[commit]\nenabled = true\n[verify]\ncommands = [{ run = \"until mkdir .git/autogate/audit.jsonl 2>/dev/null; do rm -f .git/autogate/audit.jsonl; done\", timeout_secs = 30 }]\n",
        ),
    ]);
    let root = root(&dir);
    let head = git(&root, &["rev-parse", "HEAD"]);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
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
    let message = client
        .wait_message("the audit trail cannot be written")
        .await;
    assert!(
        message.contains("rolled back") && !message.contains("stays in the history"),
        "{message}"
    );
    assert_eq!(
        git(&root, &["rev-parse", "HEAD"]),
        head,
        "nothing committed"
    );
    assert_eq!(read(&root, "src/lib.rs").unwrap(), "pub fn a() {}\n");
    client.settle(100).await;
    client.shutdown().await;
}
