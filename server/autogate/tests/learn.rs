//! Learning from the team's decisions, end to end: shadow mode, standing approvals, `policy
//! replay` and `policy suggest`, over the real LSP protocol and the real binary, in real git
//! repositories.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{TestClient, edit, full_caps, repo, root, run};

const LIB: &str = "pub fn one() -> i32 {\n    1\n}\n";

/// The audit trail of a test repository, one JSON value per record.
fn trail(root: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(root.join(".git/autogate/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn decided(root: &std::path::Path, change: &str) -> Value {
    trail(root)
        .into_iter()
        .find(|r| r["event"] == json!("decided") && r["change"] == json!(change))
        .unwrap_or_else(|| panic!("no decided record of change {change}"))
}

fn change(summary: &Value, i: usize) -> (String, String, String) {
    let c = &summary["changes"][i];
    (
        c["id"].as_str().unwrap().to_owned(),
        c["decision"].as_str().unwrap().to_owned(),
        c["status"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn shadow_mode_applies_what_auto_would_hold_records_it_and_still_denies_critical() {
    let dir = repo(&[
        ("src/lib.rs", LIB),
        ("src/keys.rs", "// keys\n"),
        (
            ".autogate.toml",
            "mode = \"shadow\"\n\n[environments.development]\nauto_up_to = \"low\"\n",
        ),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    // A body change of a public function: medium, which auto would have asked about.
    let uri = client.uri("src/lib.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [1, 4, 1, 5], "2"), "source": "agent" }),
        )
        .await
        .unwrap();
    let (id, decision, status) = change(&summary, 0);
    assert_eq!((decision.as_str(), status.as_str()), ("auto", "applied"));
    assert_eq!(
        support::read(&root, "src/lib.rs").unwrap(),
        "pub fn one() -> i32 {\n    2\n}\n"
    );
    let record = decided(&root, &id);
    assert_eq!(record["rule"], json!("mode.shadow"));
    assert_eq!(record["would"]["decision"], json!("ask"), "{record:#}");
    assert_eq!(record["would"]["level"], json!("medium"));
    assert!(
        record["would"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("auto_up_to"),
        "{record:#}"
    );
    let applied = trail(&root)
        .into_iter()
        .find(|r| r["event"] == json!("applied") && r["change"] == json!(id))
        .expect("an applied record");
    assert!(applied["checkpoint"].is_string(), "{applied:#}");
    assert_eq!(applied["would"]["decision"], json!("ask"));

    // A secret: critical, denied in shadow mode too, never written.
    let keys = client.uri("src/keys.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&keys, None, [1, 0, 1, 0], "const KEY: &str = \"AKIAQ3EGRTWJ7ZKXPL4M\";\n") }),
        )
        .await
        .unwrap();
    assert_eq!(change(&summary, 0).1, "deny");
    assert_eq!(support::read(&root, "src/keys.rs").unwrap(), "// keys\n");

    // Inside .git: denied.
    let git = client.uri(".git/hooks/pre-commit");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": { "documentChanges": [ { "kind": "create", "uri": git } ] } }),
        )
        .await
        .unwrap();
    assert_eq!(change(&summary, 0).2, "denied");
    assert!(!root.join(".git/hooks/pre-commit").exists());

    // An editor may still tighten shadow mode.
    let tightened = client
        .command("autogate.setMode", json!({ "mode": "ask" }))
        .await
        .unwrap();
    assert_eq!(tightened["mode"], json!("ask"));
    client.shutdown().await;

    let (code, out, err) = run(&root, &["log", "--would"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("would have asked 1, denied 2, auto 0"),
        "{out}"
    );
    assert!(out.contains("src/lib.rs"), "{out}");
}

#[tokio::test]
async fn an_editor_cannot_set_shadow_mode_over_an_auto_policy() {
    let dir = repo(&[("src/lib.rs", LIB)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let refused = client
        .command("autogate.setMode", json!({ "mode": "shadow" }))
        .await
        .unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("only make it stricter"),
        "{refused}"
    );
    client.shutdown().await;
}
