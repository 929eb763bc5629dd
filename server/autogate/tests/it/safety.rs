//! Checkpoints, rollback and the audit trail, through the server's real protocol.
#![allow(clippy::unwrap_used)]

use crate::support::{TestClient, edit, full_caps, git, read, repo, root, workspace};
use serde_json::{Value, json};

#[tokio::test]
async fn every_applied_batch_has_a_checkpoint_and_rollback_restores_exactly() {
    let dir = repo(&[("src/lib.rs", "pub fn a() {}\n"), ("notes.txt", "one\n")]);
    let root = root(&dir);
    std::fs::write(root.join("untracked.txt"), "mine\n").unwrap();
    let status_before = git(&root, &["status", "--porcelain"]);
    let head_before = git(&root, &["rev-parse", "HEAD"]);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    client.open("src/lib.rs", "pub fn a() {}\n").await;
    let (lib, notes) = (client.uri("src/lib.rs"), client.uri("notes.txt"));
    let both = json!({ "documentChanges": [
        { "textDocument": { "uri": lib, "version": 1 }, "edits": [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }, "newText": "/// Does a.\n" } ] },
        { "textDocument": { "uri": notes, "version": null }, "edits": [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 3 } }, "newText": "two" } ] } ] });
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": both, "intent": "docs" }),
        )
        .await
        .unwrap();
    let checkpoint = summary["checkpoint"].as_str().unwrap().to_owned();
    assert!(
        summary["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == json!("applied")),
        "{summary:#}"
    );
    assert_eq!(
        summary["changes"][1]["level"],
        json!("low"),
        "a doc comment is low: {summary:#}"
    );
    let refs = git(
        &root,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/autogate/checkpoints/",
        ],
    );
    assert_eq!(
        refs.trim(),
        format!("refs/autogate/checkpoints/{checkpoint}")
    );
    assert_eq!(read(&root, "notes.txt").unwrap(), "two\n");
    assert_eq!(
        client.text("src/lib.rs").unwrap(),
        "/// Does a.\npub fn a() {}\n"
    );

    let rolled = client
        .command("autogate.rollback", json!({}))
        .await
        .unwrap();
    assert_eq!(rolled["checkpoint"], json!(checkpoint));
    assert!(
        rolled["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == json!("rolled_back")),
        "{rolled:#}"
    );
    assert_eq!(read(&root, "notes.txt").unwrap(), "one\n");
    assert_eq!(
        client.text("src/lib.rs").unwrap(),
        "pub fn a() {}\n",
        "the open buffer follows through applyEdit"
    );
    assert_eq!(read(&root, "untracked.txt").unwrap(), "mine\n");
    assert_eq!(git(&root, &["status", "--porcelain"]), status_before);
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), head_before);

    // The audit trail recorded the decision, the application and the rollback, hash-chained.
    let log = std::fs::read_to_string(root.join(".git/autogate/audit.jsonl")).unwrap();
    let events: Vec<String> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        events,
        [
            "decided",
            "decided",
            "applied",
            "applied",
            "rolled_back",
            "rolled_back"
        ]
    );
    let first: Value = serde_json::from_str(log.lines().nth(2).unwrap()).unwrap();
    assert_eq!(first["approver"], json!("policy"));
    assert_eq!(first["checkpoint"], json!(checkpoint));
    assert_eq!(first["intent"], json!("docs"));
    client.shutdown().await;
}

#[tokio::test]
async fn rollback_keeps_an_edit_the_person_made_afterwards() {
    let dir = workspace(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let (a, b) = (client.uri("a.txt"), client.uri("b.txt"));
    let both = json!({ "changes": {
        a: [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 1 } }, "newText": "A" } ],
        b: [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 1 } }, "newText": "B" } ] } });
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": both }))
        .await
        .unwrap();
    assert!(summary["checkpoint"].is_string(), "{summary:#}");
    assert!(
        root.join(".autogate/checkpoints").is_dir(),
        "without git, checkpoints live in .autogate/"
    );
    std::fs::write(root.join("b.txt"), "person's edit\n").unwrap();
    // The editor asks; the person keeps their version.
    let id = client
        .send_request(
            "workspace/executeCommand",
            json!({ "command": "autogate.rollback", "arguments": [ {} ] }),
        )
        .await;
    let prompt = client.expect("window/showMessageRequest").await;
    let question = prompt["params"]["message"].as_str().unwrap().to_owned();
    assert!(
        question.contains("you changed b.txt since autogate wrote it"),
        "{question}"
    );
    client.reply(&prompt, json!({ "title": "Keep mine" })).await;
    let rolled = client.response(id).await.unwrap();
    assert_eq!(read(&root, "a.txt").unwrap(), "a\n");
    assert_eq!(read(&root, "b.txt").unwrap(), "person's edit\n");
    assert!(
        rolled.to_string().contains("kept your version of b.txt"),
        "{rolled:#}"
    );
    // The same checkpoint again; this time the person overwrites.
    let checkpoint = rolled["checkpoint"].as_str().unwrap().to_owned();
    let id = client.send_request("workspace/executeCommand", json!({ "command": "autogate.rollback", "arguments": [ { "checkpoint": checkpoint } ] })).await;
    let prompt = client.expect("window/showMessageRequest").await;
    client.reply(&prompt, json!({ "title": "Overwrite" })).await;
    client.response(id).await.unwrap();
    assert_eq!(read(&root, "b.txt").unwrap(), "b\n");
    client.shutdown().await;
}

#[tokio::test]
async fn rollback_errors_are_clear_and_autogate_state_cannot_be_edited() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let err = client
        .command("autogate.rollback", json!({}))
        .await
        .unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no applied checkpoint"),
        "{err}"
    );
    let err = client
        .command("autogate.rollback", json!({ "checkpoint": "../../etc" }))
        .await
        .unwrap_err();
    assert_eq!(err["code"], json!(-32602), "{err}");
    let uri = client.uri(".autogate/audit.jsonl");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": { "documentChanges": [ { "kind": "create", "uri": uri } ] } }),
        )
        .await
        .unwrap();
    assert_eq!(
        summary["changes"][0]["status"],
        json!("denied"),
        "{summary:#}"
    );
    assert!(summary.to_string().contains("inside .autogate/"));
    let _ = edit;
    client.shutdown().await;
}

#[tokio::test]
async fn old_checkpoints_are_pruned_to_the_policy_count() {
    let dir = repo(&[
        ("a.txt", "0\n"),
        (".autogate.toml", "[checkpoints]\nkeep = 2\n"),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let uri = client.uri("a.txt");
    let mut ids = Vec::new();
    for i in 1..=4 {
        let summary = client
            .command(
                "autogate.proposeEdit",
                json!({ "edit": edit(&uri, None, [0, 0, 0, 1], &i.to_string()) }),
            )
            .await
            .unwrap();
        ids.push(summary["checkpoint"].as_str().unwrap().to_owned());
    }
    client.command("autogate.pending", json!({})).await.unwrap();
    client.settle(200).await;
    let refs = git(
        &root,
        &[
            "for-each-ref",
            "--format=%(refname:short)",
            "refs/autogate/checkpoints/",
        ],
    );
    let kept: Vec<&str> = refs
        .lines()
        .map(|r| r.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(kept.len(), 2, "{refs}");
    assert!(
        kept.contains(&ids[3].as_str()) && kept.contains(&ids[2].as_str()),
        "the newest are kept: {refs}"
    );
    client.shutdown().await;
}

#[tokio::test]
async fn without_prompts_rollback_keeps_the_persons_version_and_says_so() {
    let dir = workspace(&[("b.txt", "b\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, crate::support::helix_caps(), Value::Null).await;
    let uri = client.uri("b.txt");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "B") }),
        )
        .await
        .unwrap();
    std::fs::write(root.join("b.txt"), "person's edit\n").unwrap();
    let rolled = client
        .command("autogate.rollback", json!({}))
        .await
        .unwrap();
    assert!(
        rolled.to_string().contains("kept your version of b.txt"),
        "{rolled:#}"
    );
    assert_eq!(read(&root, "b.txt").unwrap(), "person's edit\n");
    let checkpoint = rolled["checkpoint"].as_str().unwrap();
    client
        .command(
            "autogate.rollback",
            json!({ "checkpoint": checkpoint, "overwrite": true }),
        )
        .await
        .unwrap();
    assert_eq!(read(&root, "b.txt").unwrap(), "b\n");
    client.settle(100).await;
    client.shutdown().await;
}

/// The checkpoint of a proposal is stored on the other core while the proposal is analyzed
/// (its pack, with no ref), and named when the batch applies exactly that proposal: rollback
/// restores a large file byte for byte, and git finds the repository whole.
#[tokio::test]
async fn a_checkpoint_stored_during_analysis_rolls_back_byte_identical() {
    let big: String = (0..4000)
        .map(|i| format!("pub fn f{i}() -> u32 {{\n    {i}\n}}\n"))
        .collect();
    assert!(big.len() > 64 * 1024);
    let dir = repo(&[("src/big.rs", big.as_str())]);
    let root = root(&dir);
    let packs = |root: &std::path::Path| {
        std::fs::read_dir(root.join(".git/objects/pack"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    // A change that asks: its checkpoint stored ahead is never named.
    let risky = json!({ "changes": { client.uri("src/big.rs"): [
        { "range": { "start": { "line": 1, "character": 4 }, "end": { "line": 1, "character": 5 } },
          "newText": "std::process::Command::new(\"sh\").status().map(|_| 1).unwrap_or(0)" } ] } });
    let held = client
        .command("autogate.proposeEdit", json!({ "edit": risky }))
        .await
        .unwrap();
    assert_eq!(held["changes"][0]["status"], json!("pending"), "{held:#}");
    let prompt = client.expect("window/showMessageRequest").await;
    client.reply(&prompt, Value::Null).await;
    let (_, listed, _) = crate::support::run(&root, &["checkpoints"]);
    assert!(
        !listed.contains("proposal"),
        "nothing applied, no checkpoint: {listed}"
    );
    client
        .command("autogate.reject", json!({ "id": held["changes"][0]["id"] }))
        .await
        .unwrap();
    let packs_before = packs(&root);
    let change = json!({ "changes": { client.uri("src/big.rs"): [
        { "range": { "start": { "line": 1, "character": 4 }, "end": { "line": 1, "character": 5 } }, "newText": "7" } ] } });
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": change }))
        .await
        .unwrap();
    assert_eq!(
        summary["changes"][0]["status"],
        json!("applied"),
        "{summary:#}"
    );
    assert!(
        read(&root, "src/big.rs")
            .unwrap()
            .starts_with("pub fn f0() -> u32 {\n    7\n")
    );
    // The checkpoint stored ahead and its written state: two packs, with indexes (one made
    // after the decision instead would make a third).
    assert_eq!(packs(&root) - packs_before, 4);
    let (code, listed, _) = crate::support::run(&root, &["checkpoints"]);
    assert_eq!(code, 0);
    assert!(
        listed.contains("proposal"),
        "the one stored ahead: {listed}"
    );
    client
        .command("autogate.rollback", json!({}))
        .await
        .unwrap();
    assert_eq!(read(&root, "src/big.rs").unwrap(), big);
    let fsck = git(&root, &["fsck", "--strict", "--no-dangling"]);
    assert!(fsck.trim().is_empty(), "{fsck}");
    client.shutdown().await;
}
