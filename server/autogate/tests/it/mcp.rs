//! `autogate mcp` over its real protocol: the official Rust MCP client starts the binary on a
//! temporary git repository and calls its tools, as an agent would.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::support::{git, read, repo, root};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

const LIB: &str = "pub fn answer() -> u32 {\n    41\n}\n";
const CARGO: &str =
    "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n";

async fn start(root: &Path) -> RunningService<RoleClient, ()> {
    let transport = TokioChildProcess::new(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_autogate")).configure(|cmd| {
            cmd.arg("mcp")
                .arg("--agent")
                .arg("test-agent")
                .current_dir(root)
                .env_remove("AUTOGATE_ENV");
        }),
    )
    .unwrap();
    ().serve(transport).await.unwrap()
}

/// Calls a tool; returns its text and whether the result is an error.
async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> (String, bool) {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
        .await
        .unwrap();
    let text: Vec<String> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    (text.join("\n"), result.is_error == Some(true))
}

fn audit_events(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join(".git/autogate/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// `autogate approve ID` typed by a person at a terminal (a pseudo-terminal made by `script`).
fn approve_at_terminal(root: &Path, id: &str) -> String {
    use std::io::Write;
    let command = format!("{} approve {id}", env!("CARGO_BIN_EXE_autogate"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn the_tools_are_listed_with_their_schemas() {
    let dir = repo(&[("src/lib.rs", LIB)]);
    let client = start(&root(&dir)).await;
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "apply_patch",
            "explain",
            "pending",
            "permission_prompt",
            "propose_edit",
            "rollback",
            "wait",
            "write_file"
        ]
    );
    let propose = tools.iter().find(|t| t.name == "propose_edit").unwrap();
    let schema = serde_json::to_value(&*propose.input_schema).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        required.contains(&"old_string") && required.contains(&"path"),
        "{schema:#}"
    );
    // Nothing that approves, changes the mode or touches the policy.
    assert!(
        !names
            .iter()
            .any(|n| n.contains("approve") || n.contains("mode") || n.contains("policy"))
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_low_edit_is_written_checkpointed_and_recorded() {
    let dir = repo(&[("src/lib.rs", LIB)]);
    let root = root(&dir);
    let client = start(&root).await;
    let (text, error) = call(
        &client,
        "propose_edit",
        json!({ "path": "src/lib.rs", "old_string": "    41\n", "new_string": "    // The answer.\n    41\n" }),
    )
    .await;
    assert!(!error, "{text}");
    assert!(text.starts_with("applied: src/lib.rs (low"), "{text}");
    assert_eq!(
        read(&root, "src/lib.rs").unwrap(),
        "pub fn answer() -> u32 {\n    // The answer.\n    41\n}\n"
    );
    assert_eq!(audit_events(&root), ["decided", "applied"]);
    let refs = git(&root, &["for-each-ref", "refs/autogate/checkpoints/"]);
    assert_eq!(refs.lines().count(), 1, "{refs}");

    // The agent's own mistakes come back as errors it can act on, and nothing is written.
    let (text, error) = call(
        &client,
        "propose_edit",
        json!({ "path": "src/lib.rs", "old_string": "no such text", "new_string": "x" }),
    )
    .await;
    assert!(error);
    assert!(
        text.contains("src/lib.rs") && text.contains("Nothing was written"),
        "{text}"
    );
    let (text, error) = call(
        &client,
        "apply_patch",
        json!({ "patch": "this is not a patch" }),
    )
    .await;
    assert!(error && text.starts_with("refused:"), "{text}");
    assert_eq!(audit_events(&root).len(), 2);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_risky_edit_waits_for_the_person_and_is_written_once_approved() {
    let dir = repo(&[("src/lib.rs", LIB), ("Cargo.toml", CARGO)]);
    let root = root(&dir);
    let client = start(&root).await;
    let cargo = format!("{CARGO}serde = \"1\"\n");
    let (text, error) = call(
        &client,
        "write_file",
        json!({ "path": "Cargo.toml", "content": cargo }),
    )
    .await;
    assert!(error, "{text}");
    assert!(
        text.starts_with("waiting for the person: Cargo.toml (high"),
        "{text}"
    );
    assert_eq!(
        read(&root, "Cargo.toml").unwrap(),
        CARGO,
        "nothing written before approval"
    );
    let id = text
        .split("Call `wait` with id ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    let (listed, _) = call(&client, "pending", json!({})).await;
    assert!(
        listed.starts_with(&id) && listed.contains("Cargo.toml"),
        "{listed}"
    );
    let (explained, _) = call(&client, "explain", json!({ "id": id })).await;
    assert!(explained.contains("+serde = \"1\""), "{explained}");

    // Not decided yet: `wait` says so when its time is up.
    let (text, error) = call(&client, "wait", json!({ "id": id, "timeout_s": 0 })).await;
    assert!(error && text.starts_with("still waiting"), "{text}");

    let out = approve_at_terminal(&root, &id);
    assert!(out.contains(&format!("approved change {id}")), "{out}");
    let (text, error) = call(&client, "wait", json!({ "id": id, "timeout_s": 10 })).await;
    assert!(!error, "{text}");
    assert!(text.starts_with("applied: Cargo.toml (high"), "{text}");
    assert_eq!(read(&root, "Cargo.toml").unwrap(), cargo);
    let events = audit_events(&root);
    assert_eq!(
        events.last().map(String::as_str),
        Some("applied"),
        "{events:?}"
    );
    assert!(events.contains(&"approved".to_owned()), "{events:?}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_patch_lands_file_by_file_and_forbidden_paths_are_refused() {
    let dir = repo(&[("src/lib.rs", LIB), ("Cargo.toml", CARGO)]);
    let root = root(&dir);
    let client = start(&root).await;
    let patch = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,3 +1,4 @@\n pub fn answer() -> u32 {\n+    // Forty-one.\n     41\n }\n--- a/Cargo.toml\n+++ b/Cargo.toml\n@@ -5,1 +5,2 @@\n [dependencies]\n+rand = \"0.8\"\n";
    let (text, error) = call(&client, "apply_patch", json!({ "patch": patch })).await;
    assert!(error, "one part waits: {text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("applied: src/lib.rs (low")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("waiting for the person: Cargo.toml")),
        "{text}"
    );
    assert!(read(&root, "src/lib.rs").unwrap().contains("// Forty-one."));
    assert_eq!(read(&root, "Cargo.toml").unwrap(), CARGO);

    let config_before = std::fs::read_to_string(root.join(".git/config")).unwrap();
    for (tool, args) in [
        (
            "write_file",
            json!({ "path": ".git/config", "content": "[core]\n\tfsmonitor = touch /tmp/pwned\n" }),
        ),
        (
            "write_file",
            json!({ "path": "../outside.txt", "content": "x" }),
        ),
        (
            "write_file",
            json!({ "path": "/etc/passwd", "content": "x" }),
        ),
    ] {
        let (text, error) = call(&client, tool, args.clone()).await;
        assert!(error && text.starts_with("denied:"), "{args}: {text}");
    }
    assert_eq!(
        std::fs::read_to_string(root.join(".git/config")).unwrap(),
        config_before
    );
    assert!(!root.parent().unwrap().join("outside.txt").exists());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn permission_prompt_answers_claude_codes_contract() {
    let dir = repo(&[("src/lib.rs", LIB), ("Cargo.toml", CARGO)]);
    let root = root(&dir);
    let client = start(&root).await;
    let input = json!({ "file_path": root.join("src/lib.rs"), "old_string": "    41\n", "new_string": "    // Yes.\n    41\n" });
    let (text, error) = call(
        &client,
        "permission_prompt",
        json!({ "tool_name": "Edit", "input": input, "tool_use_id": "toolu_1" }),
    )
    .await;
    assert!(!error);
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        answer,
        json!({ "behavior": "allow", "updatedInput": input })
    );
    // Claude Code writes once allowed: the door did not.
    assert_eq!(read(&root, "src/lib.rs").unwrap(), LIB);

    let input = json!({ "file_path": root.join("Cargo.toml"), "content": format!("{CARGO}evil = \"1\"\n") });
    let (text, _) = call(
        &client,
        "permission_prompt",
        json!({ "tool_name": "Write", "input": input }),
    )
    .await;
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["behavior"], json!("deny"), "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("Cargo.toml"),
        "{answer}"
    );

    let (text, _) = call(
        &client,
        "permission_prompt",
        json!({ "tool_name": "Bash", "input": { "command": "rm -rf src" } }),
    )
    .await;
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        answer["behavior"],
        json!("deny"),
        "a door never approves what it cannot analyze: {answer}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rollback_restores_what_the_door_wrote() {
    let dir = repo(&[("src/lib.rs", LIB)]);
    let root = root(&dir);
    let client = start(&root).await;
    let (text, error) = call(
        &client,
        "propose_edit",
        json!({ "path": "src/lib.rs", "old_string": "    41\n", "new_string": "    // Hm.\n    41\n" }),
    )
    .await;
    assert!(!error, "{text}");
    let (text, error) = call(&client, "rollback", json!({})).await;
    assert!(
        !error && text.starts_with("rolled back checkpoint"),
        "{text}"
    );
    assert_eq!(read(&root, "src/lib.rs").unwrap(), LIB);
    assert_eq!(
        audit_events(&root).last().map(String::as_str),
        Some("rolled_back")
    );
    client.cancel().await.unwrap();
}
