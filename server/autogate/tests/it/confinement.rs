//! Writes that cannot be redirected: a folder swapped for a symlink between the decision and
//! the write, attacked as a hostile agent would, over the server's real protocol.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

use std::path::Path;

use crate::support::{OnApplyEdit, TestClient, edit, full_caps, helix_caps, read, repo, root};
use serde_json::{Value, json};

fn change(summary: &Value, i: usize) -> &Value {
    &summary["changes"][i]
}

/// Replaces the folder `name` under `root` with a symlink to `target`.
fn swap_for_symlink(root: &Path, name: &str, target: &Path) {
    std::fs::remove_dir_all(root.join(name)).unwrap();
    std::os::unix::fs::symlink(target, root.join(name)).unwrap();
}

/// Asserts the change failed, saying the path changed since the decision.
fn assert_redirect_refused(summary: &Value) {
    assert_eq!(change(summary, 0)["status"], json!("failed"), "{summary:#}");
    let reasons = change(summary, 0)["reasons"].to_string();
    assert!(
        reasons.contains("changed since the decision") && reasons.contains("symlink"),
        "the reason says the path changed: {reasons}"
    );
}

/// A repository whose `tools/config` is a copy of its own `.git/config`, so that a read through
/// a swapped `tools -> .git` sees exactly the base the change was analyzed on.
fn repo_with_config_copy() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = repo(&[("src/lib.rs", "pub fn a() {}\n")]);
    let root = root(&dir);
    let config = std::fs::read_to_string(root.join(".git/config")).unwrap();
    std::fs::create_dir_all(root.join("tools")).unwrap();
    std::fs::write(root.join("tools/config"), &config).unwrap();
    (dir, root, config)
}

/// Asks for every change, then proposes appending an fsmonitor command to `tools/config`.
async fn pending_fsmonitor(client: &mut TestClient, config: &str) {
    client
        .command("autogate.setMode", json!({ "mode": "ask" }))
        .await
        .unwrap();
    let lines = u32::try_from(config.lines().count()).unwrap();
    let uri = client.uri("tools/config");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [lines, 0, lines, 0], "[core]\n\tfsmonitor = \"touch pwned\"\n") }),
        )
        .await
        .unwrap();
    assert_eq!(
        change(&summary, 0)["status"],
        json!("pending"),
        "{summary:#}"
    );
}

#[tokio::test]
async fn approving_after_the_folder_became_a_symlink_to_git_writes_nothing_in_git() {
    let (_dir, root, config) = repo_with_config_copy();
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    pending_fsmonitor(&mut client, &config).await;

    swap_for_symlink(&root, "tools", &root.join(".git"));
    let summary = client.approve("1").await.unwrap();
    assert_redirect_refused(&summary);
    assert_eq!(
        std::fs::read_to_string(root.join(".git/config")).unwrap(),
        config
    );
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn approving_after_the_folder_became_a_symlink_out_of_the_root_writes_nothing_there() {
    let (_dir, root, config) = repo_with_config_copy();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("config"), &config).unwrap();
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    pending_fsmonitor(&mut client, &config).await;

    swap_for_symlink(&root, "tools", outside.path());
    let summary = client.approve("1").await.unwrap();
    assert_redirect_refused(&summary);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("config")).unwrap(),
        config
    );
    let entries = std::fs::read_dir(outside.path()).unwrap().count();
    assert_eq!(entries, 1, "no temp file or new file outside the root");
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_new_file_approved_after_its_folder_became_git_hooks_is_not_a_hook() {
    let dir = repo(&[("src/lib.rs", "pub fn a() {}\n")]);
    let root = root(&dir);
    std::fs::create_dir_all(root.join("tools")).unwrap();
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client
        .command("autogate.setMode", json!({ "mode": "ask" }))
        .await
        .unwrap();
    let patch =
        "--- /dev/null\n+++ b/tools/pre-commit\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+touch pwned\n";
    let summary = client
        .command("autogate.applyPatch", json!({ "patch": patch }))
        .await
        .unwrap();
    assert_eq!(
        change(&summary, 0)["status"],
        json!("pending"),
        "{summary:#}"
    );

    swap_for_symlink(&root, "tools", &root.join(".git/hooks"));
    let summary = client.approve("1").await.unwrap();
    assert_redirect_refused(&summary);
    assert!(
        !root.join(".git/hooks/pre-commit").exists(),
        "no hook written"
    );
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn an_open_document_whose_folder_became_a_symlink_gets_no_apply_edit() {
    let (_dir, root, config) = repo_with_config_copy();
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.open("tools/config", &config).await;
    client
        .command("autogate.setMode", json!({ "mode": "ask" }))
        .await
        .unwrap();
    let uri = client.uri("tools/config");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(1), [0, 0, 0, 0], "[core]\n\tfsmonitor = \"touch pwned\"\n") }),
        )
        .await
        .unwrap();
    assert_eq!(
        change(&summary, 0)["status"],
        json!("pending"),
        "{summary:#}"
    );

    // The editor would save the buffer through the symlink: no edit may reach it.
    swap_for_symlink(&root, "tools", &root.join(".git"));
    let summary = client.approve("1").await.unwrap();
    assert_redirect_refused(&summary);
    assert_eq!(client.apply_edits_seen, 0, "no applyEdit was sent");
    assert_eq!(client.text("tools/config").unwrap(), config);
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn an_auto_batch_whose_folder_is_swapped_while_it_waits_for_the_writer_writes_nothing() {
    let dir = repo(&[
        ("src/lib.rs", "pub fn a() {}\n"),
        ("tools/lib.rs", "pub fn t() {}\n"),
    ]);
    let root = root(&dir);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("lib.rs"), "pub fn t() {}\n").unwrap();
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.on_apply_edit = OnApplyEdit::Hold;
    client.open("src/lib.rs", "pub fn a() {}\n").await;

    // Batch 1 holds the writer: its applyEdit waits for our answer.
    let lib = client.uri("src/lib.rs");
    let first = client
        .send_request(
            "workspace/executeCommand",
            json!({ "command": "autogate.proposeEdit", "arguments": [ { "edit": edit(&lib, Some(1), [0, 0, 0, 0], "/// A.\n") } ] }),
        )
        .await;
    let held = client.expect("workspace/applyEdit").await;

    // Batch 2 (a closed file) is admitted on the real folder and queued behind batch 1.
    let tools = client.uri("tools/lib.rs");
    let second = client
        .send_request(
            "workspace/executeCommand",
            json!({ "command": "autogate.proposeEdit", "arguments": [ { "edit": edit(&tools, None, [0, 0, 0, 0], "/// T.\n") } ] }),
        )
        .await;
    let audit = root.join(".git/autogate/audit.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&audit)
        .unwrap_or_default()
        .contains("tools/lib.rs")
    {
        assert!(std::time::Instant::now() < deadline, "batch 2 was decided");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // Between its decision and its write, the folder now leads out of the root.
    swap_for_symlink(&root, "tools", outside.path());
    client
        .reply(&held, json!({ "applied": false, "failureReason": "busy" }))
        .await;
    let _ = client.response(first).await.unwrap();
    let summary = client.response(second).await.unwrap();
    assert_redirect_refused(&summary);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("lib.rs")).unwrap(),
        "pub fn t() {}\n"
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    assert_eq!(read(&root, "src/lib.rs").unwrap(), "pub fn a() {}\n");
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_rollback_sends_no_edit_for_an_open_document_whose_folder_became_a_symlink() {
    let dir = repo(&[("tools/lib.rs", "pub fn t() {}\n")]);
    let root = root(&dir);
    let outside = tempfile::tempdir().unwrap();
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    client.open("tools/lib.rs", "pub fn t() {}\n").await;
    let uri = client.uri("tools/lib.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(1), [0, 0, 0, 0], "/// T.\n") }),
        )
        .await
        .unwrap();
    assert_eq!(
        change(&summary, 0)["status"],
        json!("applied"),
        "{summary:#}"
    );
    assert_eq!(client.apply_edits_seen, 1);
    // The person edits the buffer, so the rollback asks before overwriting it.
    client
        .change("tools/lib.rs", "/// T.\npub fn t() { 1 }\n")
        .await;

    let rollback = client
        .send_request(
            "workspace/executeCommand",
            json!({ "command": "autogate.rollback", "arguments": [ {} ] }),
        )
        .await;
    let prompt = client.expect("window/showMessageRequest").await;
    // While the person reads the prompt, the folder starts leading out of the root.
    swap_for_symlink(&root, "tools", outside.path());
    client.reply(&prompt, json!({ "title": "Overwrite" })).await;
    let rolled = client.response(rollback).await.unwrap();
    let reasons = change(&rolled, 0)["reasons"].to_string();
    assert!(
        reasons.contains("left tools/lib.rs alone") && reasons.contains("symlink"),
        "{rolled:#}"
    );
    assert_eq!(
        client.apply_edits_seen, 1,
        "no applyEdit for the redirected path"
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_document_whose_folder_became_a_symlink_after_its_edit_is_not_saved_through_it() {
    let dir = repo(&[("tools/lib.rs", "pub fn t() {}\n")]);
    let root = root(&dir);
    std::fs::write(
        root.join(".autogate.toml"),
        "[verify]\ncommands = [{ run = \"true\", timeout_secs = 30 }]\n",
    )
    .unwrap();
    let outside = tempfile::tempdir().unwrap();
    let mut caps = helix_caps();
    caps["experimental"] = json!({ "autogate": { "saveDocuments": true } });
    let mut client = TestClient::start(&root, caps, Value::Null).await;
    client.on_apply_edit = OnApplyEdit::Hold;
    client.open("tools/lib.rs", "pub fn t() {}\n").await;
    let uri = client.uri("tools/lib.rs");
    let id = client
        .send_request(
            "workspace/executeCommand",
            json!({ "command": "autogate.proposeEdit", "arguments": [ { "edit": edit(&uri, Some(1), [0, 0, 0, 0], "/// T.\n") } ] }),
        )
        .await;
    let held = client.expect("workspace/applyEdit").await;
    // The editor applies the edit; meanwhile the folder starts leading out of the root.
    swap_for_symlink(&root, "tools", outside.path());
    client
        .change("tools/lib.rs", "/// T.\npub fn t() {}\n")
        .await;
    client.reply(&held, json!({ "applied": true })).await;
    let summary = client.response(id).await.unwrap();
    assert_eq!(
        change(&summary, 0)["status"],
        json!("applied"),
        "{summary:#}"
    );
    let warning = client.wait_message("did not save tools/lib.rs").await;
    assert!(warning.contains("symlink"), "{warning}");
    assert!(
        client.saved.is_empty(),
        "the editor was not asked to save it"
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    client.settle(300).await;
    client.shutdown().await;
}
