//! Attributed commits through the server: after an applied (and verified) batch, when the
//! policy's `[commit]` is enabled.
#![allow(clippy::unwrap_used)]

use crate::support::{TestClient, edit, git, helix_caps, repo, root};
use serde_json::{Value, json};

async fn wait_for_commit(root: &std::path::Path, before: &str) -> String {
    for _ in 0..100 {
        let head = git(root, &["rev-parse", "HEAD"]);
        if head != before {
            return head;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no commit was made")
}

#[tokio::test]
async fn an_applied_batch_is_committed_with_trailers_and_nothing_else() {
    let dir = repo(&[
        (".autogate.toml", "[commit]\nenabled = true\n"),
        ("src/lib.rs", "pub fn a() {}\n"),
        ("other.txt", "x\n"),
    ]);
    let root = root(&dir);
    // The person's own work in progress: one staged, one unstaged change.
    std::fs::write(root.join("other.txt"), "staged\n").unwrap();
    git(&root, &["add", "other.txt"]);
    std::fs::write(root.join("other.txt"), "unstaged\n").unwrap();
    let head = git(&root, &["rev-parse", "HEAD"]);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let lib = client.uri("src/lib.rs");
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": edit(&lib, None, [0, 0, 0, 0], "/// Does a.\n"), "intent": "document a" }))
        .await
        .unwrap();
    assert_eq!(summary["changes"][0]["status"], json!("applied"));
    wait_for_commit(&root, &head).await;
    let message = git(&root, &["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("docs(autogate): document a\n"),
        "{message}"
    );
    assert!(message.contains("Autogate-Change: 1"), "{message}");
    assert!(message.contains("Autogate-Risk: low"), "{message}");
    assert!(
        message.contains("Autogate-Approved-By: policy"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "Autogate-Checkpoint: {}",
            summary["checkpoint"].as_str().unwrap()
        )),
        "{message}"
    );
    assert_eq!(
        git(&root, &["show", "--name-only", "--format=", "HEAD"]).trim(),
        "src/lib.rs"
    );
    assert_eq!(
        git(&root, &["diff", "--cached", "--name-only"]).trim(),
        "other.txt",
        "the staged work is still staged"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("other.txt")).unwrap(),
        "unstaged\n"
    );
    // The audit record names the commit.
    let explained = client
        .command("autogate.explain", json!({ "id": "1" }))
        .await
        .unwrap();
    assert_eq!(explained["status"], json!("applied"));
    client.settle(200).await;
    let log = std::fs::read_to_string(root.join(".git/autogate/audit.jsonl")).unwrap();
    let applied: Value = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["event"] == json!("applied"))
        .unwrap();
    assert_eq!(
        applied["commit"].as_str().unwrap(),
        git(&root, &["rev-parse", "HEAD"]).trim()
    );
    client.shutdown().await;
}

#[tokio::test]
async fn a_rejecting_hook_leaves_the_change_applied_and_says_so() {
    let dir = repo(&[
        (".autogate.toml", "[commit]\nenabled = true\n"),
        ("a.txt", "a\n"),
    ]);
    let root = root(&dir);
    let hook = root.join(".git/hooks/pre-commit");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'lint: no commits today' >&2\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let head = git(&root, &["rev-parse", "HEAD"]);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("a.txt");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    let message = client.wait_message("not committed").await;
    assert!(
        message.contains("pre-commit") && message.contains("no commits today"),
        "{message}"
    );
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "b\n",
        "the change stays applied"
    );
    client.shutdown().await;
}
