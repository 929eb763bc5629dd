//! Learning from the team's decisions, end to end: shadow mode, standing approvals, `policy
//! replay` and `policy suggest`, over the real LSP protocol and the real binary, in real git
//! repositories.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use std::time::Duration;

use crate::support::{TestClient, at_terminal, edit, full_caps, repo, root, run};

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
        crate::support::read(&root, "src/lib.rs").unwrap(),
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
    assert_eq!(
        crate::support::read(&root, "src/keys.rs").unwrap(),
        "// keys\n"
    );

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

const STRICT_DEV: &str = "[environments.development]\nauto_up_to = \"low\"\n";

/// The titles of a prompt's actions.
fn titles(prompt: &Value) -> Vec<String> {
    prompt["params"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Proposes `one() -> 1` to become `one() -> n` in `path` (a body change of a public function:
/// medium, which asks under [`STRICT_DEV`]).
async fn propose_body(client: &mut TestClient, path: &str, n: u32) -> Value {
    let uri = client.uri(path);
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [1, 4, 1, 5], &n.to_string()), "source": "agent" }),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_standing_approval_makes_the_next_change_of_its_scope_auto_until_revoked() {
    let dir = repo(&[
        ("src/parser/a.rs", LIB),
        ("src/parser/deep/b.rs", LIB),
        ("src/other.rs", LIB),
        ("Makefile", "all:\n\techo hi\n"),
        (".autogate.toml", STRICT_DEV),
    ]);
    let root = root(&dir);
    crate::support::git(&root, &["config", "user.name", "Ann"]);
    crate::support::git(&root, &["config", "user.email", "ann@example.com"]);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;

    // Asked: the prompt offers "Approve always" with the scope; the person takes it.
    let summary = propose_body(&mut client, "src/parser/a.rs", 2).await;
    assert_eq!(change(&summary, 0).1, "ask");
    let prompt = client.expect("window/showMessageRequest").await;
    let actions = titles(&prompt);
    assert_eq!(actions.len(), 4, "{actions:?}");
    assert_eq!(
        actions[1],
        "Approve always for body_only changes up to medium in src/parser/** (development)"
    );
    client.reply(&prompt, json!({ "title": actions[1] })).await;
    client.wait_message("1 approved").await;
    assert!(
        crate::support::read(&root, "src/parser/a.rs")
            .unwrap()
            .contains("    2\n")
    );
    let (code, listed, _) = run(&root, &["approvals", "list"]);
    assert_eq!(code, 0);
    assert!(
        listed.starts_with("S1   body_only changes up to medium in src/parser/**"),
        "{listed}"
    );
    assert!(listed.contains("by Ann <ann@example.com>"), "{listed}");
    let made = trail(&root)
        .into_iter()
        .find(|r| r["event"] == json!("approved_always"))
        .expect("the standing approval is in the audit trail");
    assert_eq!(made["standing"], json!("S1"));

    // The next change of that scope is auto, and says why, in its reasons and its record.
    let summary = propose_body(&mut client, "src/parser/deep/b.rs", 3).await;
    let (id, decision, status) = change(&summary, 0);
    assert_eq!((decision.as_str(), status.as_str()), ("auto", "applied"));
    let reasons = summary["changes"][0]["reasons"].to_string();
    assert!(
        reasons.contains("standing approval S1 (by Ann"),
        "{reasons}"
    );
    let record = decided(&root, &id);
    assert_eq!(record["standing"], json!("S1"));
    assert_eq!(record["rule"], json!("standing.S1"));

    // Outside its scope: asked, and the prompt is dismissed.
    let summary = propose_body(&mut client, "src/other.rs", 4).await;
    assert_eq!(change(&summary, 0).1, "ask");
    let prompt = client.expect("window/showMessageRequest").await;
    client.reply(&prompt, Value::Null).await;

    // A protected path: never offered, and the command refuses it.
    let makefile = client.uri("Makefile");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&makefile, None, [1, 6, 1, 8], "bye") }),
        )
        .await
        .unwrap();
    let c = &summary["changes"][0];
    assert_eq!(c["decision"], json!("ask"));
    let prompt = client.expect("window/showMessageRequest").await;
    assert_eq!(titles(&prompt), ["Approve", "Reject", "Show diff"]);
    client.reply(&prompt, Value::Null).await;
    let refused = client
        .command(
            "autogate.approveAlways",
            json!({ "id": c["id"], "hash": c["hash"] }),
        )
        .await
        .unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("`Makefile` is protected"),
        "{refused}"
    );
    assert_eq!(
        crate::support::read(&root, "Makefile").unwrap(),
        "all:\n\techo hi\n"
    );
    let (_, listed, _) = run(&root, &["approvals"]);
    assert_eq!(listed.lines().count(), 1, "{listed}");

    // Revoked from the terminal: the same scope asks again.
    let (code, out, err) = run(&root, &["approvals", "revoke", "S1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revoked S1"), "{out}");
    let summary = propose_body(&mut client, "src/parser/deep/b.rs", 5).await;
    assert_eq!(change(&summary, 0).1, "ask");
    let prompt = client.expect("window/showMessageRequest").await;
    client.reply(&prompt, Value::Null).await;
    assert!(
        trail(&root)
            .iter()
            .any(|r| r["event"] == json!("revoked") && r["standing"] == json!("S1"))
    );
    let (code, _, err) = run(&root, &["approvals", "revoke", "S1"]);
    assert_eq!(code, 2);
    assert!(err.contains("no standing approval `S1`"), "{err}");
    client.shutdown().await;
}

/// Proposes a change and approves it through the prompt, as the person does.
async fn propose_and_approve(client: &mut TestClient, path: &str, n: u32) -> String {
    let summary = propose_body(client, path, n).await;
    let (id, decision, _) = change(&summary, 0);
    assert_eq!(decision, "ask", "{summary:#}");
    let prompt = client.expect("window/showMessageRequest").await;
    client.messages.clear();
    client.reply(&prompt, json!({ "title": "Approve" })).await;
    client.wait_message("1 approved").await;
    id
}

#[tokio::test]
async fn the_learning_loop_approve_five_times_suggest_accept_and_the_sixth_is_auto() {
    let dir = repo(&[
        ("src/parser/a.rs", LIB),
        ("src/util/u.rs", "fn two() -> i32 {\n    1\n}\n"),
        (".autogate.toml", STRICT_DEV),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    // A private body change is low: auto. Kept in the history for the replays below.
    let util = client.uri("src/util/u.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&util, None, [1, 4, 1, 5], "7") }),
        )
        .await
        .unwrap();
    assert_eq!(change(&summary, 0).2, "applied");
    let mut approved = Vec::new();
    for n in 2..=6 {
        approved.push(propose_and_approve(&mut client, "src/parser/a.rs", n).await);
    }

    // Four approvals are not enough under --min 6; five are under the default.
    let (code, out, err) = run(&root, &["policy", "suggest", "--min", "6"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("[[rules]]"), "{out}");
    let (code, out, err) = run(&root, &["policy", "suggest"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 suggestion(s) from 1 trail(s)"), "{out}");
    assert!(
        out.contains(&format!(
            "asked and approved 5 times, never rejected, rolled back or reverted (changes {})",
            approved.join(", ")
        )),
        "{out}"
    );
    let snippet: String = out
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(snippet.contains("paths = [\"src/parser/**\"]"), "{snippet}");
    assert!(snippet.contains("kinds = [\"body_only\"]"), "{snippet}");
    assert!(snippet.contains("max_level = \"medium\""), "{snippet}");
    assert!(snippet.contains("decision = \"auto\""), "{snippet}");

    // Replays of the recorded history: the suggestion as a candidate is looser (exit 1), and
    // a rule that asks about the utilities is stricter (exit 0 with --fail-on-looser).
    let candidates = tempfile::tempdir().unwrap();
    let looser = candidates.path().join("looser.toml");
    std::fs::write(&looser, format!("{STRICT_DEV}\n{snippet}\n")).unwrap();
    let (code, out, err) = run(
        &root,
        &["policy", "replay", "--policy", looser.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("replayed 6 decision(s)")
            && out.contains("5 would change (5 looser, 0 stricter)"),
        "{out}"
    );
    assert!(out.contains("ask -> auto  (rules[0])"), "{out}");
    let stricter = candidates.path().join("stricter.toml");
    std::fs::write(
        &stricter,
        format!("{STRICT_DEV}\n[[rules]]\npaths = [\"src/util/**\"]\ndecision = \"ask\"\n"),
    )
    .unwrap();
    let args = [
        "policy",
        "replay",
        "--fail-on-looser",
        "--policy",
        stricter.to_str().unwrap(),
    ];
    let (code, out, err) = run(&root, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("1 would change (0 looser, 1 stricter)"),
        "{out}"
    );
    assert!(
        out.contains("auto -> ask  (rules[0]) src/util/u.rs"),
        "{out}"
    );
    let (code, out, _) = run(
        &root,
        &[
            "policy",
            "replay",
            "--fail-on-looser",
            "--policy",
            looser.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{out}");
    let (code, out, _) = run(
        &root,
        &[
            "policy",
            "replay",
            "--since",
            "2999",
            "--policy",
            looser.to_str().unwrap(),
        ],
    );
    assert_eq!(
        (code, out.contains("replayed 0 decision(s)")),
        (0, true),
        "{out}"
    );
    let (code, _, _) = run(&root, &["policy", "replay"]);
    assert_eq!(code, 0, "the policy in force changes nothing");

    // The person accepts the suggestion: `policy suggest --apply` proposes it through the
    // gate; the policy file asks, in the editor session, and is written once approved there.
    let mut apply = tokio::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
        .args(["policy", "suggest", "--apply"])
        .current_dir(&root)
        .env_remove("AUTOGATE_ENV")
        .env("AUTOGATE_DESK_WAIT", "30")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let prompt = client.expect("window/showMessageRequest").await;
    assert_eq!(titles(&prompt), ["Approve", "Reject", "Show diff"]);
    assert!(
        prompt["params"]["message"]
            .as_str()
            .unwrap()
            .contains(".autogate.toml"),
        "{prompt:#}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join(".autogate.toml")).unwrap(),
        STRICT_DEV,
        "nothing written before the person decides"
    );
    client.messages.clear();
    client.reply(&prompt, json!({ "title": "Approve" })).await;
    let status = tokio::time::timeout(Duration::from_secs(30), apply.wait())
        .await
        .expect("suggest --apply ends once approved")
        .unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(root.join(".autogate.toml")).unwrap();
    assert!(
        written.starts_with(STRICT_DEV) && written.contains(snippet.trim()),
        "{written}"
    );
    let policy = client.uri(".autogate.toml");
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({ "changes": [ { "uri": policy, "type": 2 } ] }),
        )
        .await;

    // The sixth change of that scope applies on its own, by the new rule.
    let summary = propose_body(&mut client, "src/parser/a.rs", 8).await;
    let (id, decision, status) = change(&summary, 0);
    assert_eq!(
        (decision.as_str(), status.as_str()),
        ("auto", "applied"),
        "{summary:#}"
    );
    assert_eq!(decided(&root, &id)["rule"], json!("rules[0]"));
    client.shutdown().await;
}

#[tokio::test]
async fn a_change_reverted_by_hand_is_recorded_and_its_scope_tightened() {
    let dir = repo(&[("src/util/u.rs", "fn two() -> i32 {\n    1\n}\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let util = client.uri("src/util/u.rs");
    let mut ids = Vec::new();
    for n in [2, 3] {
        let summary = client
            .command(
                "autogate.proposeEdit",
                json!({ "edit": edit(&util, None, [1, 4, 1, 5], &n.to_string()) }),
            )
            .await
            .unwrap();
        assert_eq!(change(&summary, 0).2, "applied");
        ids.push(change(&summary, 0).0);
    }
    client.shutdown().await;
    // The person undoes the last change by hand (the file is back to its content before it).
    std::fs::write(root.join("src/util/u.rs"), "fn two() -> i32 {\n    2\n}\n").unwrap();

    let (code, out, err) = run(&root, &["policy", "suggest"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("change {} was reverted by hand", ids[1])),
        "{err}"
    );
    assert!(
        out.contains(&format!(
            "# tighten: 1 of 2 auto change(s) rolled back or reverted (changes {})",
            ids[1]
        )),
        "{out}"
    );
    assert!(
        out.contains("paths = [\"src/util/**\"]") && out.contains("decision = \"ask\""),
        "{out}"
    );
    let reverted: Vec<Value> = trail(&root)
        .into_iter()
        .filter(|r| r["event"] == json!("reverted"))
        .collect();
    assert_eq!(reverted.len(), 1, "{reverted:#?}");
    assert_eq!(reverted[0]["change"], json!(ids[1]));
    // Recorded once: a second run finds nothing new, and the trail still verifies.
    let (_, _, err) = run(&root, &["policy", "suggest"]);
    assert!(!err.contains("reverted by hand"), "{err}");
    let (code, out, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn without_prompts_approve_always_is_a_code_action_and_needs_the_hash() {
    let dir = repo(&[
        ("src/parser/a.rs", LIB),
        ("src/parser/b.rs", LIB),
        (".autogate.toml", STRICT_DEV),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, crate::support::helix_caps(), Value::Null).await;
    let summary = propose_body(&mut client, "src/parser/a.rs", 2).await;
    let c = summary["changes"][0].clone();
    assert_eq!(c["decision"], json!("ask"));
    let uri = client.uri("src/parser/a.rs");
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": { "start": { "line": 1, "character": 0 }, "end": { "line": 1, "character": 0 } }, "context": { "diagnostics": [] } }),
        )
        .await
        .unwrap();
    let always = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("Approve change 1 always for body_only changes")
        })
        .unwrap_or_else(|| panic!("{actions:#}"))
        .clone();
    assert_eq!(
        always["command"]["command"],
        json!("autogate.approveAlways")
    );
    // Without the hash (or with another one): refused, and no standing approval is made.
    let refused = client
        .command(
            "autogate.approveAlways",
            json!({ "id": c["id"], "hash": "0" }),
        )
        .await
        .unwrap_err();
    assert!(
        refused["message"].as_str().unwrap().contains("hash"),
        "{refused}"
    );
    let (_, listed, _) = run(&root, &["approvals"]);
    assert!(listed.contains("no standing approvals"), "{listed}");
    // As the code action carries it: approved, and the next change of the scope is auto.
    let command = &always["command"];
    client
        .request(
            "workspace/executeCommand",
            json!({ "command": command["command"], "arguments": command["arguments"] }),
        )
        .await
        .unwrap();
    let summary = propose_body(&mut client, "src/parser/b.rs", 3).await;
    assert_eq!(change(&summary, 0).2, "applied", "{summary:#}");
    client.shutdown().await;
}

#[tokio::test]
async fn the_editor_lists_standing_approvals_and_revokes_one_and_its_scope_asks_again() {
    let dir = repo(&[
        ("src/parser/a.rs", LIB),
        ("src/parser/b.rs", LIB),
        ("src/parser/c.rs", LIB),
        (".autogate.toml", STRICT_DEV),
    ]);
    let root = root(&dir);
    crate::support::git(&root, &["config", "user.name", "Ann"]);
    crate::support::git(&root, &["config", "user.email", "ann@example.com"]);
    let mut client = TestClient::start(&root, crate::support::helix_caps(), Value::Null).await;
    let advertised =
        client.initialize_result["capabilities"]["executeCommandProvider"]["commands"].to_string();
    assert!(
        advertised.contains("\"autogate.approvals\""),
        "{advertised}"
    );
    assert!(
        advertised.contains("\"autogate.revokeApproval\""),
        "{advertised}"
    );
    let none = client
        .command("autogate.approvals", json!({}))
        .await
        .unwrap();
    assert_eq!(none, json!({ "approvals": [] }));

    // Made from a pending change with approveAlways, then listed.
    let summary = propose_body(&mut client, "src/parser/a.rs", 2).await;
    let c = summary["changes"][0].clone();
    assert_eq!(c["decision"], json!("ask"));
    client
        .command(
            "autogate.approveAlways",
            json!({ "id": c["id"], "hash": c["hash"] }),
        )
        .await
        .unwrap();
    let listed = client
        .command("autogate.approvals", json!({}))
        .await
        .unwrap();
    let approvals = listed["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1, "{listed:#}");
    let s1 = &approvals[0];
    assert_eq!(s1["id"], json!("S1"));
    assert_eq!(
        s1["scope"],
        json!("body_only changes up to medium in src/parser/** (development)")
    );
    assert_eq!(s1["by"], json!("Ann <ann@example.com>"));
    assert_eq!(s1["change"], c["id"]);
    assert_eq!(
        (&s1["active"], &s1["state"]),
        (&json!(true), &json!("active"))
    );
    assert!(s1["made"].as_str().unwrap() < s1["expires"].as_str().unwrap());
    let summary = propose_body(&mut client, "src/parser/b.rs", 3).await;
    assert_eq!(change(&summary, 0).2, "applied", "{summary:#}");

    // An unknown id: an error naming it, and nothing revoked.
    let unknown = client
        .command("autogate.revokeApproval", json!({ "id": "S9" }))
        .await
        .unwrap_err();
    assert_eq!(unknown["code"], json!(-32602), "{unknown}");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("no standing approval `S9`"),
        "{unknown}"
    );

    // Revoked from the editor: the list left is empty, the trail records it as the person's,
    // and the next change of the scope asks again at once.
    let left = client
        .command("autogate.revokeApproval", json!({ "id": "S1" }))
        .await
        .unwrap();
    assert_eq!(left, json!({ "approvals": [] }));
    client.wait_message("revoked S1: body_only changes").await;
    let revoked = trail(&root)
        .into_iter()
        .find(|r| r["event"] == json!("revoked"))
        .expect("the revocation is in the audit trail");
    assert_eq!(revoked["standing"], json!("S1"));
    assert_eq!(revoked["source"], json!("editor"));
    assert_eq!(revoked["approver"], json!("person"));
    let summary = propose_body(&mut client, "src/parser/c.rs", 4).await;
    assert_eq!(change(&summary, 0).1, "ask", "{summary:#}");
    assert_eq!(change(&summary, 0).2, "pending", "{summary:#}");
    let (_, listed, _) = run(&root, &["approvals"]);
    assert!(listed.contains("no standing approvals"), "{listed}");
    client.shutdown().await;
}

#[tokio::test]
async fn suggest_apply_without_an_editor_is_held_for_a_terminal_approval_then_written() {
    let dir = repo(&[("src/parser/a.rs", LIB), (".autogate.toml", STRICT_DEV)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    propose_and_approve(&mut client, "src/parser/a.rs", 2).await;
    client.shutdown().await;

    let (code, _, err) = run(&root, &["policy", "suggest", "--min", "1", "--apply"]);
    assert_eq!(code, 1, "held, not written: {err}");
    assert_eq!(
        std::fs::read_to_string(root.join(".autogate.toml")).unwrap(),
        STRICT_DEV
    );
    let at = err.find("autogate approve ").expect(&err) + "autogate approve ".len();
    let id: String = err[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    let (code, shown) = at_terminal(&root, "approve", &id, "y");
    assert_eq!(code, 0, "{shown}");

    let (code, out, err) = run(&root, &["policy", "suggest", "--min", "1", "--apply"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("the suggestions were added"), "{out}");
    let written = std::fs::read_to_string(root.join(".autogate.toml")).unwrap();
    assert!(written.contains("decision = \"auto\""), "{written}");
    let (code, _, err) = run(&root, &["policy", "check"]);
    assert_eq!(code, 0, "{err}");
}
