//! The server over its real protocol: the gate pipeline end to end, with a typed test client.
#![allow(clippy::unwrap_used)]

use crate::support::{
    OnApplyEdit, TestClient, edit, full_caps, helix_caps, read, repo, root, workspace,
};
use serde_json::{Value, json};

fn change(summary: &Value, i: usize) -> &Value {
    &summary["changes"][i]
}

#[tokio::test]
async fn initialize_advertises_every_command_code_actions_and_incremental_sync() {
    let dir = workspace(&[]);
    let client = TestClient::start(&root(&dir), full_caps(), Value::Null).await;
    let caps = &client.initialize_result["capabilities"];
    let commands: Vec<&str> = caps["executeCommandProvider"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for command in [
        "autogate.proposeEdit",
        "autogate.applyPatch",
        "autogate.run",
        "autogate.pending",
        "autogate.approve",
        "autogate.reject",
        "autogate.explain",
        "autogate.rollback",
        "autogate.setMode",
    ] {
        assert!(commands.contains(&command), "{command} is advertised");
    }
    assert_eq!(caps["codeActionProvider"], json!(true));
    assert_eq!(caps["textDocumentSync"]["change"], json!(2));
    assert_eq!(caps["textDocumentSync"]["openClose"], json!(true));
    assert_eq!(caps["positionEncoding"], json!("utf-16"));
    assert_eq!(
        client.initialize_result["serverInfo"]["name"],
        json!("autogate")
    );
    client.shutdown().await;
}

#[tokio::test]
async fn an_auto_change_to_an_open_document_is_applied_with_a_versioned_apply_edit() {
    let dir = workspace(&[("src/lib.rs", "fn main() {}\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    client.open("src/lib.rs", "fn main() {}\n").await;
    let uri = client.uri("src/lib.rs");
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": edit(&uri, Some(1), [0, 0, 0, 0], "// entry point\n"), "intent": "document main" }))
        .await
        .unwrap();
    let c = change(&summary, 0);
    assert_eq!(c["decision"], json!("auto"), "{summary:#}");
    assert_eq!(c["status"], json!("applied"), "{summary:#}");
    assert_eq!(c["files"], json!(["src/lib.rs"]));
    assert_eq!(client.apply_edits_seen, 1);
    assert_eq!(
        client.text("src/lib.rs").unwrap(),
        "// entry point\nfn main() {}\n"
    );
    assert_eq!(client.version("src/lib.rs"), Some(2));
    // The summary's keys are exactly the contract's.
    let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "decision", "files", "hash", "id", "level", "reasons", "status"
        ]
    );
    assert!(summary.as_object().unwrap().contains_key("checkpoint"));
    client.shutdown().await;
}

#[tokio::test]
async fn a_file_not_open_in_the_editor_is_written_on_disk() {
    let dir = workspace(&[("notes.txt", "one\ntwo\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let uri = client.uri("notes.txt");
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": { "changes": { uri: [ { "range": { "start": { "line": 1, "character": 0 }, "end": { "line": 1, "character": 3 } }, "newText": "2" } ] } } }))
        .await
        .unwrap();
    assert_eq!(
        change(&summary, 0)["status"],
        json!("applied"),
        "{summary:#}"
    );
    assert_eq!(read(&root, "notes.txt").unwrap(), "one\n2\n");
    assert_eq!(client.apply_edits_seen, 0);
    client.shutdown().await;
}

#[tokio::test]
async fn a_high_risk_change_asks_applies_on_approve_and_writes_nothing_on_reject() {
    let dir = workspace(&[
        ("Cargo.toml", "[package]\nname = \"x\"\n"),
        ("package.json", "{}\n"),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let manifest = client.uri("Cargo.toml");
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": edit(&manifest, None, [2, 0, 2, 0], "[dependencies]\nleft-pad = \"1\"\n") }))
        .await
        .unwrap();
    let c = change(&summary, 0);
    assert_eq!(
        (
            c["level"].as_str(),
            c["decision"].as_str(),
            c["status"].as_str()
        ),
        (Some("high"), Some("ask"), Some("pending"))
    );
    assert!(c["reasons"].to_string().contains("protected"), "{c}");
    assert_eq!(
        read(&root, "Cargo.toml").unwrap(),
        "[package]\nname = \"x\"\n",
        "nothing written before approval"
    );

    let prompt = client.expect("window/showMessageRequest").await;
    let actions: Vec<&str> = prompt["params"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["Approve", "Reject", "Show diff"]);
    assert!(
        prompt["params"]["message"]
            .as_str()
            .unwrap()
            .contains("Cargo.toml")
    );
    client.reply(&prompt, json!({ "title": "Approve" })).await;
    client.settle(300).await;
    assert_eq!(
        read(&root, "Cargo.toml").unwrap(),
        "[package]\nname = \"x\"\n[dependencies]\nleft-pad = \"1\"\n"
    );
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    assert_eq!(pending["changes"], json!([]));

    // A second one, rejected: nothing is written.
    let pkg = client.uri("package.json");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&pkg, None, [0, 0, 0, 2], "{\"x\":1}") }),
        )
        .await
        .unwrap();
    let prompt = client.expect("window/showMessageRequest").await;
    client.reply(&prompt, json!({ "title": "Reject" })).await;
    client.settle(300).await;
    assert_eq!(read(&root, "package.json").unwrap(), "{}\n");
    let explained = client
        .command("autogate.explain", json!({ "id": "2" }))
        .await
        .unwrap();
    assert_eq!(explained["status"], json!("rejected"));
    assert!(explained["diff"].as_str().unwrap().contains("+{\"x\":1}"));
    client.shutdown().await;
}

#[tokio::test]
async fn a_dismissed_prompt_leaves_the_change_pending_and_show_diff_opens_the_diff() {
    let dir = workspace(&[("Cargo.toml", "[package]\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let manifest = client.uri("Cargo.toml");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&manifest, None, [1, 0, 1, 0], "name = \"y\"\n") }),
        )
        .await
        .unwrap();
    let prompt = client.expect("window/showMessageRequest").await;
    client.reply(&prompt, json!({ "title": "Show diff" })).await;
    let shown = client.expect("window/showDocument").await;
    let diff_path = shown["params"]["uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("file://")
        .to_owned();
    assert!(
        std::fs::read_to_string(diff_path)
            .unwrap()
            .contains("+name = \"y\"")
    );
    let prompt = client.expect("window/showMessageRequest").await;
    client.reply(&prompt, Value::Null).await;
    client.settle(200).await;
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    assert_eq!(change(&pending, 0)["status"], json!("pending"));
    assert_eq!(
        client.diagnostics[&manifest].len(),
        1,
        "a dismissed change shows as a diagnostic"
    );
    assert_eq!(read(&root, "Cargo.toml").unwrap(), "[package]\n");
    client.shutdown().await;
}

#[tokio::test]
async fn helix_gets_diagnostics_and_code_actions_and_approves_through_the_command() {
    let dir = workspace(&[("Cargo.toml", "[package]\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    assert_eq!(
        client.initialize_result["capabilities"]["positionEncoding"],
        json!("utf-8")
    );
    client.open("Cargo.toml", "[package]\n").await;
    let manifest = client.uri("Cargo.toml");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&manifest, Some(1), [1, 0, 1, 0], "name = \"z\"\n") }),
        )
        .await
        .unwrap();
    assert_eq!(change(&summary, 0)["status"], json!("pending"));
    client.settle(200).await;
    let diagnostics = &client.diagnostics[&manifest];
    assert_eq!(diagnostics.len(), 1);
    let message = diagnostics[0]["message"].as_str().unwrap();
    assert!(
        message.contains("change 1 (high)") && message.contains("protected"),
        "{message}"
    );
    assert_eq!(diagnostics[0]["range"]["start"]["line"], json!(1));

    let actions = client
        .request("textDocument/codeAction", json!({ "textDocument": { "uri": manifest }, "range": diagnostics[0]["range"], "context": { "diagnostics": [] } }))
        .await
        .unwrap();
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Approve change 1 (high)",
            "Reject change 1",
            "Show diff of change 1",
            "autogate: tidy this file",
            "autogate: document this file",
            "autogate: format this file"
        ]
    );
    // Helix runs the action's command; `:lsp-workspace-command` discards the result.
    let command = &actions[0]["command"];
    let result = client
        .request(
            "workspace/executeCommand",
            json!({ "command": command["command"], "arguments": command["arguments"] }),
        )
        .await
        .unwrap();
    assert_eq!(change(&result, 0)["status"], json!("approved"));
    client.settle(200).await;
    assert_eq!(
        client.text("Cargo.toml").unwrap(),
        "[package]\nname = \"z\"\n"
    );
    assert_eq!(
        client.diagnostics[&manifest],
        Vec::<Value>::new(),
        "the diagnostic is cleared"
    );
    client.shutdown().await;
}

#[tokio::test]
async fn method_not_found_for_show_message_request_switches_to_the_fallback() {
    let dir = workspace(&[("Cargo.toml", "[package]\n"), ("go.mod", "module x\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let manifest = client.uri("Cargo.toml");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&manifest, None, [1, 0, 1, 0], "a = 1\n") }),
        )
        .await
        .unwrap();
    let prompt = client.expect("window/showMessageRequest").await;
    client
        .reply_error(&prompt, -32601, "Method not found")
        .await;
    client.settle(200).await;
    // No more prompts: the next pending change only gets a diagnostic.
    let gomod = client.uri("go.mod");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&gomod, None, [1, 0, 1, 0], "go 1.22\n") }),
        )
        .await
        .unwrap();
    client.settle(300).await;
    assert!(client.diagnostics.contains_key(&gomod));
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    assert_eq!(pending["changes"].as_array().unwrap().len(), 2);
    client.shutdown().await;
}

#[tokio::test]
async fn a_refused_apply_edit_leaves_no_half_applied_batch() {
    let dir = workspace(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    client.open("a.txt", "a\n").await;
    client.on_apply_edit = OnApplyEdit::Refuse;
    let (a, b) = (client.uri("a.txt"), client.uri("b.txt"));
    let both = json!({ "documentChanges": [
        { "textDocument": { "uri": a, "version": 1 }, "edits": [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 1 } }, "newText": "A" } ] },
        { "textDocument": { "uri": b, "version": null }, "edits": [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 1 } }, "newText": "B" } ] } ] });
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": both }))
        .await
        .unwrap();
    for c in summary["changes"].as_array().unwrap() {
        assert_eq!(c["status"], json!("failed"), "{summary:#}");
        assert!(c["reasons"].to_string().contains("refused"), "{c}");
    }
    assert_eq!(
        read(&root, "b.txt").unwrap(),
        "b\n",
        "the file written on disk is restored"
    );
    assert_eq!(client.text("a.txt").unwrap(), "a\n");
    client.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_answers_apply_edit_times_out_and_nothing_stays_written() {
    let dir = workspace(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), json!({ "applyTimeoutMs": 300 })).await;
    client.open("a.txt", "a\n").await;
    client.on_apply_edit = OnApplyEdit::Ignore;
    let (a, b) = (client.uri("a.txt"), client.uri("b.txt"));
    let both = json!({ "changes": {
        a: [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 1 } }, "newText": "A" } ],
        b: [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 1 } }, "newText": "B" } ] } });
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": both }))
        .await
        .unwrap();
    assert_eq!(change(&summary, 0)["status"], json!("failed"));
    assert!(
        change(&summary, 0)["reasons"]
            .to_string()
            .contains("did not answer workspace/applyEdit within 300 ms"),
        "{summary:#}"
    );
    assert_eq!(read(&root, "b.txt").unwrap(), "b\n");
    client.shutdown().await;
}

#[tokio::test]
async fn an_edit_computed_on_an_older_version_is_never_applied() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    client.open("a.txt", "a\n").await;
    client.change("a.txt", "a\nmine\n").await;
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(1), [0, 0, 0, 1], "X") }),
        )
        .await
        .unwrap();
    let c = change(&summary, 0);
    assert_eq!(c["status"], json!("failed"));
    assert!(
        c["reasons"][0]
            .as_str()
            .unwrap()
            .contains("computed on version 1, but the document is at version 2"),
        "{c}"
    );
    assert_eq!(client.apply_edits_seen, 0);
    assert_eq!(client.text("a.txt").unwrap(), "a\nmine\n");
    client.shutdown().await;
}

#[tokio::test]
async fn a_pending_change_whose_document_moved_on_fails_on_approval() {
    let dir = workspace(&[("Cargo.toml", "[package]\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.open("Cargo.toml", "[package]\n").await;
    let uri = client.uri("Cargo.toml");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(1), [1, 0, 1, 0], "name = \"n\"\n") }),
        )
        .await
        .unwrap();
    client
        .change("Cargo.toml", "[package]\nedition = \"2024\"\n")
        .await;
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    let hash = change(&pending, 0)["hash"].clone();
    let result = client
        .command("autogate.approve", json!({ "id": "1", "hash": hash }))
        .await
        .unwrap();
    assert_eq!(change(&result, 0)["status"], json!("failed"));
    assert!(
        change(&result, 0)["reasons"]
            .to_string()
            .contains("changed since the change was analyzed (version 1, now 2)")
    );
    assert_eq!(
        client.text("Cargo.toml").unwrap(),
        "[package]\nedition = \"2024\"\n"
    );
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn an_approval_is_bound_to_the_content_hash() {
    let dir = workspace(&[("Cargo.toml", "[package]\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("Cargo.toml");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [1, 0, 1, 0], "x = 1\n") }),
        )
        .await
        .unwrap();
    let err = client
        .command("autogate.approve", json!({ "id": "1", "hash": "0000" }))
        .await
        .unwrap_err();
    assert_eq!(err["code"], json!(-32602));
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("content hash mismatch"),
        "{err}"
    );
    assert_eq!(read(&root, "Cargo.toml").unwrap(), "[package]\n");
    let explained = client
        .command("autogate.explain", json!({ "id": "1" }))
        .await
        .unwrap();
    let hash = explained["hash"].as_str().unwrap().to_owned();
    let ok = client
        .command("autogate.approve", json!({ "id": "1", "hash": hash }))
        .await
        .unwrap();
    assert_eq!(change(&ok, 0)["status"], json!("approved"));
    assert_eq!(read(&root, "Cargo.toml").unwrap(), "[package]\nx = 1\n");
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn malformed_arguments_get_invalid_params_and_write_nothing() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let uri = client.uri("a.txt");
    let cases = [
        ("autogate.proposeEdit", json!({}), "missing field `edit`"),
        (
            "autogate.proposeEdit",
            json!({ "edit": { "changes": 5 } }),
            "not a valid WorkspaceEdit",
        ),
        (
            "autogate.proposeEdit",
            json!({ "edit": {} }),
            "neither `changes` nor `documentChanges`",
        ),
        (
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [9, 0, 9, 0], "x") }),
            "line 9 is past the end",
        ),
        (
            "autogate.proposeEdit",
            json!({ "edit": { "changes": { uri.clone(): [
            { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 1 } }, "newText": "x" },
            { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 1 } }, "newText": "y" } ] } } }),
            "overlap",
        ),
        (
            "autogate.proposeEdit",
            json!({ "edit": edit("untitled:Untitled-1", None, [0, 0, 0, 0], "x") }),
            "not a file URI",
        ),
        (
            "autogate.applyPatch",
            json!({ "patch": "not a patch" }),
            "the patch",
        ),
        (
            "autogate.applyPatch",
            json!({ "patch": "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-zzz\n+y\n" }),
            "a.txt: hunk 1 (@@ -1 +1 @@) does not apply",
        ),
        (
            "autogate.approve",
            json!({ "id": "99" }),
            "no change with id `99`",
        ),
        ("autogate.approve", json!({}), "missing field `id`"),
        (
            "autogate.setMode",
            json!({ "mode": "yolo" }),
            "unknown mode `yolo`",
        ),
        (
            "autogate.frobnicate",
            json!({}),
            "unknown command `autogate.frobnicate`",
        ),
    ];
    for (command, args, expected) in cases {
        let err = client.command(command, args.clone()).await.unwrap_err();
        assert_eq!(err["code"], json!(-32602), "{command} {args}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{command} {args}: `{message}` should contain `{expected}`"
        );
    }
    let err = client
        .request(
            "workspace/executeCommand",
            json!({ "command": "autogate.approve", "arguments": ["1"] }),
        )
        .await
        .unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("takes one argument object, got a string")
    );
    assert_eq!(read(&root, "a.txt").unwrap(), "a\n");
    assert_eq!(client.apply_edits_seen, 0);
    client.shutdown().await;
}

#[tokio::test]
async fn a_malformed_message_never_kills_the_server() {
    let dir = workspace(&[]);
    let mut client = TestClient::start(&root(&dir), full_caps(), Value::Null).await;
    client.send_raw(b"{ this is not json").await;
    let error = client.expect_response_to_null_id().await;
    assert_eq!(error["error"]["code"], json!(-32700));
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid JSON")
    );
    // Valid JSON that is not a JSON-RPC message also stops tower-lsp-server's reader unguarded.
    client.send_raw(br#"{"hello": "world"}"#).await;
    let error = client.expect_response_to_null_id().await;
    assert_eq!(error["error"]["code"], json!(-32600));
    let mode = client
        .command("autogate.setMode", json!({ "mode": "ask" }))
        .await
        .unwrap();
    assert_eq!(mode, json!({ "mode": "ask" }));
    client.shutdown().await;
}

#[tokio::test]
async fn paths_outside_the_workspace_and_inside_git_are_denied_as_critical() {
    let outside = tempfile::tempdir().unwrap();
    let dir = workspace(&[("src/a.txt", "a\n")]);
    let root = root(&dir);
    std::fs::create_dir_all(root.join(".git")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let traversal = format!("file://{}/src/../../evil.txt", root.display());
    let into_git = client.uri(".git/hooks/pre-commit");
    let via_link = client.uri("escape/evil.sh");
    let edit = json!({ "documentChanges": [
        { "kind": "create", "uri": traversal },
        { "kind": "create", "uri": into_git },
        { "kind": "create", "uri": via_link } ] });
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": edit }))
        .await
        .unwrap();
    let changes = summary["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3, "{summary:#}");
    for c in changes {
        assert_eq!(
            (
                c["level"].as_str(),
                c["decision"].as_str(),
                c["status"].as_str()
            ),
            (Some("critical"), Some("deny"), Some("denied")),
            "{c}"
        );
    }
    assert!(summary.to_string().contains("inside .git/"));
    assert!(!root.parent().unwrap().join("evil.txt").exists());
    assert!(!root.join(".git/hooks/pre-commit").exists());
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    // The same through a patch.
    let summary = client
        .command(
            "autogate.applyPatch",
            json!({ "patch": "--- /dev/null\n+++ b/../evil2.txt\n@@ -0,0 +1 @@\n+x\n" }),
        )
        .await
        .unwrap();
    assert_eq!(change(&summary, 0)["status"], json!("denied"));
    assert!(!root.parent().unwrap().join("evil2.txt").exists());
    client.shutdown().await;
}

#[tokio::test]
async fn patches_create_delete_and_rename_files() {
    let dir = workspace(&[
        ("old.txt", "keep\n"),
        ("gone.txt", "bye\n"),
        ("src/x.txt", "1\n2\n"),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let patch = "diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n\
diff --git a/old.txt b/renamed.txt\nsimilarity index 100%\nrename from old.txt\nrename to renamed.txt\n\
diff --git a/src/x.txt b/src/x.txt\n--- a/src/x.txt\n+++ b/src/x.txt\n@@ -1,2 +1,2 @@\n 1\n-2\n+two\n";
    let summary = client
        .command(
            "autogate.applyPatch",
            json!({ "patch": patch, "intent": "tidy" }),
        )
        .await
        .unwrap();
    let files: Vec<Value> = summary["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["files"][0].clone())
        .collect();
    assert_eq!(
        files,
        [json!("new.txt"), json!("renamed.txt"), json!("src/x.txt")],
        "{summary:#}"
    );
    assert_eq!(read(&root, "new.txt").unwrap(), "hello\n");
    assert_eq!(read(&root, "src/x.txt").unwrap(), "1\ntwo\n");
    // A rename is high in the analyzer's current rules? Whatever its level, it is never half done:
    let renamed = &summary["changes"][1];
    if renamed["status"] == json!("applied") {
        assert!(read(&root, "old.txt").is_none());
        assert_eq!(read(&root, "renamed.txt").unwrap(), "keep\n");
    } else {
        assert_eq!(read(&root, "old.txt").unwrap(), "keep\n");
        assert!(read(&root, "renamed.txt").is_none());
    }
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn utf8_positions_are_honoured_when_negotiated() {
    let dir = workspace(&[("t.txt", "é😀x\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.open("t.txt", "é😀x\n").await;
    let uri = client.uri("t.txt");
    // `x` is at UTF-8 byte 6 (é = 2 bytes, 😀 = 4 bytes); in UTF-16 it would be 3.
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(1), [0, 6, 0, 7], "y") }),
        )
        .await
        .unwrap();
    assert_eq!(
        change(&summary, 0)["status"],
        json!("applied"),
        "{summary:#}"
    );
    assert_eq!(client.text("t.txt").unwrap(), "é😀y\n");
    client.shutdown().await;
}

#[tokio::test]
async fn utf16_positions_are_the_default() {
    let dir = workspace(&[("t.txt", "é😀x\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    client.open("t.txt", "é😀x\n").await;
    client.insert("t.txt", 0, 3, "-").await; // after the emoji: é (1) + 😀 (2)
    let uri = client.uri("t.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(2), [0, 4, 0, 5], "y") }),
        )
        .await
        .unwrap();
    assert_eq!(
        change(&summary, 0)["status"],
        json!("applied"),
        "{summary:#}"
    );
    assert_eq!(client.text("t.txt").unwrap(), "é😀-y\n");
    client.shutdown().await;
}

#[tokio::test]
async fn plan_mode_applies_nothing_and_ask_mode_asks_for_everything() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("a.txt");
    assert_eq!(
        client
            .command("autogate.setMode", json!({ "mode": "plan" }))
            .await
            .unwrap(),
        json!({ "mode": "plan" })
    );
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    assert_eq!(change(&summary, 0)["status"], json!("planned"));
    assert_eq!(change(&summary, 0)["decision"], json!("auto"));
    client
        .command("autogate.setMode", json!({ "mode": "ask" }))
        .await
        .unwrap();
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "c") }),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            change(&summary, 0)["decision"].as_str(),
            change(&summary, 0)["status"].as_str()
        ),
        (Some("ask"), Some("pending"))
    );
    assert_eq!(read(&root, "a.txt").unwrap(), "a\n");
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_changes_while_an_approval_is_in_flight_keeps_text_exact_and_never_deadlocks() {
    let dir = workspace(&[("Cargo.toml", "[package]\n"), ("typing.txt", "")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    client.open("Cargo.toml", "[package]\n").await;
    client.open("typing.txt", "").await;
    let manifest = client.uri("Cargo.toml");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&manifest, Some(1), [1, 0, 1, 0], "name = \"f\"\n") }),
        )
        .await
        .unwrap();
    let prompt = client.expect("window/showMessageRequest").await;

    // 1,000 incremental changes while the prompt is unanswered, plus commands in between.
    let mut expected = String::new();
    for i in 0..1000u32 {
        let line = expected.matches('\n').count() as u32;
        let text = format!("{i}\n");
        client.insert("typing.txt", line, 0, &text).await;
        expected.push_str(&text);
        if i % 250 == 0 {
            let pending = client.command("autogate.pending", json!({})).await.unwrap();
            assert_eq!(pending["changes"].as_array().unwrap().len(), 1);
        }
    }
    client.reply(&prompt, json!({ "title": "Approve" })).await;
    client.settle(500).await;
    assert_eq!(
        client.text("Cargo.toml").unwrap(),
        "[package]\nname = \"f\"\n"
    );

    // The server's copy of the flooded document is exact: an edit against version 1001 applies.
    let typing = client.uri("typing.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&typing, Some(1001), [1000, 0, 1000, 0], "end\n") }),
        )
        .await
        .unwrap();
    assert_eq!(
        change(&summary, 0)["status"],
        json!("applied"),
        "{summary:#}"
    );
    expected.push_str("end\n");
    assert_eq!(client.text("typing.txt").unwrap(), expected);
    client.shutdown().await;
}

#[tokio::test]
async fn a_helix_session_approves_rejects_and_rolls_back_through_code_actions_and_commands() {
    let dir = crate::support::repo(&[
        ("Cargo.toml", "[package]\n"),
        ("src/lib.rs", "pub fn a() {}\n"),
        ("go.mod", "module m\n"),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.open("Cargo.toml", "[package]\n").await;
    client.open("src/lib.rs", "pub fn a() {}\n").await;
    let (manifest, lib, gomod) = (
        client.uri("Cargo.toml"),
        client.uri("src/lib.rs"),
        client.uri("go.mod"),
    );

    // Helix runs `:lsp-workspace-command` and discards the result: only effects are observed.
    let _ = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&manifest, Some(1), [1, 0, 1, 0], "name = \"h\"\n") }),
        )
        .await;
    let _ = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&gomod, None, [1, 0, 1, 0], "go 1.22\n") }),
        )
        .await;
    client.settle(200).await;
    assert_eq!(client.diagnostics[&manifest].len(), 1);
    assert_eq!(client.diagnostics[&gomod].len(), 1);

    // Approve the manifest change through its code action (resolved, then executed).
    let range = client.diagnostics[&manifest][0]["range"].clone();
    let actions = client
        .request("textDocument/codeAction", json!({ "textDocument": { "uri": manifest }, "range": range, "context": { "diagnostics": [] } }))
        .await
        .unwrap();
    let approve = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"].as_str().unwrap().starts_with("Approve"))
        .unwrap()["command"]
        .clone();
    let _ = client
        .request(
            "workspace/executeCommand",
            json!({ "command": approve["command"], "arguments": approve["arguments"] }),
        )
        .await;
    // Reject the go.mod change with `:lsp-workspace-command autogate.reject {"id":"2"}`.
    let _ = client
        .command("autogate.reject", json!({ "id": "2" }))
        .await;
    client.settle(200).await;
    assert_eq!(
        client.text("Cargo.toml").unwrap(),
        "[package]\nname = \"h\"\n"
    );
    assert_eq!(read(&root, "go.mod").unwrap(), "module m\n");
    assert!(client.diagnostics[&manifest].is_empty() && client.diagnostics[&gomod].is_empty());

    // A low-risk change applies through applyEdit; `:lsp-workspace-command autogate.rollback` undoes it.
    let _ = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&lib, Some(1), [0, 0, 0, 0], "/// A.\n") }),
        )
        .await;
    assert_eq!(
        client.text("src/lib.rs").unwrap(),
        "/// A.\npub fn a() {}\n"
    );
    let _ = client.command("autogate.rollback", json!({})).await;
    assert_eq!(client.text("src/lib.rs").unwrap(), "pub fn a() {}\n");
    // The approved manifest change is still there (rollback undoes the latest batch only).
    assert_eq!(
        client.text("Cargo.toml").unwrap(),
        "[package]\nname = \"h\"\n"
    );
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_restart_takes_the_index_from_the_last_run_and_parses_only_what_changed() {
    let dir = repo(&[
        (
            "src/lib.rs",
            "pub fn parse_config(a: u8) -> u8 {\n    a\n}\n",
        ),
        ("src/a.rs", "fn a() { parse_config(1); }\n"),
        ("src/b.rs", "fn b() { parse_config(2); }\n"),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let built = client.wait_log("workspace index built").await;
    assert!(
        built.contains("3 files") && built.contains("(3 parsed, 0 kept"),
        "{built}"
    );
    client.shutdown().await;
    assert!(
        root.join(".git/autogate/index.bin").is_file(),
        "kept beside the audit trail"
    );

    // Edited while no server ran: only that file is parsed again, and it counts.
    std::fs::write(
        root.join("src/b.rs"),
        "fn b() { parse_config(2); parse_config(3); }\n",
    )
    .unwrap();
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let built = client.wait_log("workspace index built").await;
    assert!(
        built.contains("(1 parsed, 2 kept from the last run)"),
        "{built}"
    );
    let lib = client.uri("src/lib.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&lib, None, [0, 20, 0, 25], "a: u8, b: u8") }),
        )
        .await
        .unwrap();
    let reasons = summary["changes"][0]["reasons"].to_string();
    assert!(reasons.contains("3 references in 2 files"), "{summary:#}");
    client.shutdown().await;
}

#[tokio::test]
async fn the_workspace_index_gives_the_blast_radius_and_follows_applied_changes() {
    let dir = workspace(&[
        (
            "src/lib.rs",
            "pub fn parse_config(a: u8) -> u8 {\n    a\n}\n",
        ),
        ("src/a.rs", "fn a() { parse_config(1); }\n"),
        ("src/b.rs", "fn b() { parse_config(2); parse_config(3); }\n"),
        ("ignored/c.rs", "fn c() { parse_config(4); }\n"),
        (".gitignore", "ignored/\n"),
    ]);
    let root = root(&dir);
    std::fs::create_dir_all(root.join(".git")).unwrap(); // .gitignore is honoured in a repository
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let built = client.wait_log("workspace index built").await;
    assert!(built.contains("3 files"), "{built}");
    let lib = client.uri("src/lib.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&lib, None, [0, 20, 0, 25], "a: u8, b: u8") }),
        )
        .await
        .unwrap();
    let reasons = summary["changes"][0]["reasons"].to_string();
    assert!(reasons.contains("3 references in 2 files"), "{summary:#}");
    assert_eq!(summary["changes"][0]["level"], json!("high"));
    // A new caller written by autogate counts from then on.
    let d = client.uri("src/d.rs");
    let create = json!({ "documentChanges": [ { "kind": "create", "uri": d },
        { "textDocument": { "uri": d, "version": null }, "edits": [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }, "newText": "fn d() { parse_config(5); }\n" } ] } ] });
    client
        .command("autogate.proposeEdit", json!({ "edit": create }))
        .await
        .unwrap();
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&lib, None, [0, 20, 0, 25], "a: u16") }),
        )
        .await
        .unwrap();
    assert!(
        summary["changes"][0]["reasons"]
            .to_string()
            .contains("4 references in 3 files"),
        "{summary:#}"
    );
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_client_that_pipelines_initialized_does_not_hang_the_server() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let (client_side, server_side) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_side);
    let server = tokio::spawn(autogate::lsp::serve(server_read, server_write));
    let (mut read, mut write) = tokio::io::split(client_side);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let uri = format!("file://{}", root.display());
    // initialize, initialized and a request, all before reading the answer to initialize.
    for message in [
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "processId": null, "rootUri": uri, "capabilities": {} } }),
        json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }),
        json!({ "jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand", "params": { "command": "autogate.setMode", "arguments": [ { "mode": "ask" } ] } }),
    ] {
        let body = serde_json::to_vec(&message).unwrap();
        write
            .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
            .await
            .unwrap();
        write.write_all(&body).await.unwrap();
    }
    let mut seen = String::new();
    let mut buf = vec![0; 8192];
    let answered = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while !seen.contains(r#""id":2"#) {
            let n = read.read(&mut buf).await.unwrap();
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await;
    assert!(answered.is_ok(), "the server hung: {seen}");
    // Requests sent before the answer to initialize are refused (LSP forbids them), not lost.
    assert!(seen.contains(r#""error":{"code":-32002"#), "{seen}");
    server.abort();
}

/// A Rust file with two independent top-level functions, and one proposal that edits both: a
/// doc comment (low) and a shell call (high).
const TWO_SYMBOLS: &str = "/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn helper() -> i32 {\n    1\n}\n";
const TWO_SYMBOLS_AFTER: &str = "/// Adds two numbers.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn helper() -> i32 {\n    std::process::Command::new(\"true\").status().map_or(1, |_| 0)\n}\n";

fn two_symbol_edit(uri: &str, version: Option<i32>) -> Value {
    json!({ "documentChanges": [ { "textDocument": { "uri": uri, "version": version }, "edits": [
        { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 1, "character": 0 } },
          "newText": "/// Adds two numbers.\n" },
        { "range": { "start": { "line": 6, "character": 0 }, "end": { "line": 7, "character": 0 } },
          "newText": "    std::process::Command::new(\"true\").status().map_or(1, |_| 0)\n" } ] } ] })
}

#[tokio::test]
async fn two_symbols_of_one_file_are_decided_apart_and_the_approved_one_lands_on_top() {
    let dir = workspace(&[("src/lib.rs", TWO_SYMBOLS)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.open("src/lib.rs", TWO_SYMBOLS).await;
    let uri = client.uri("src/lib.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": two_symbol_edit(&uri, Some(1)) }),
        )
        .await
        .unwrap();
    let got: Vec<(&str, &str, &str)> = summary["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["level"].as_str().unwrap(),
                c["decision"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("low", "auto", "applied"), ("high", "ask", "pending")],
        "{summary}"
    );
    // Only the doc comment is in the buffer.
    assert_eq!(
        client.text("src/lib.rs").unwrap(),
        TWO_SYMBOLS.replace("/// Adds.", "/// Adds two numbers.")
    );
    client.settle(100).await;

    // The pending change is approved on top of the applied one, with the hash it was asked with.
    let explained = client
        .command("autogate.explain", json!({ "id": "2" }))
        .await
        .unwrap();
    let hash = explained["hash"].as_str().unwrap().to_owned();
    let approved = client
        .command("autogate.approve", json!({ "id": "2", "hash": hash }))
        .await
        .unwrap();
    assert_eq!(
        change(&approved, 0)["status"],
        json!("approved"),
        "{approved}"
    );
    assert!(
        change(&approved, 0)["reasons"]
            .to_string()
            .contains("applied on top of change(s) 1 of the same proposal"),
        "{approved}"
    );
    assert_eq!(client.text("src/lib.rs").unwrap(), TWO_SYMBOLS_AFTER);
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_split_change_is_refused_when_the_person_edited_the_file_since_its_sibling_applied() {
    let dir = workspace(&[("src/lib.rs", TWO_SYMBOLS)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.open("src/lib.rs", TWO_SYMBOLS).await;
    let uri = client.uri("src/lib.rs");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": two_symbol_edit(&uri, Some(1)) }),
        )
        .await
        .unwrap();
    client.settle(100).await;
    // The person edits the function the pending change touches.
    let mine = client
        .text("src/lib.rs")
        .unwrap()
        .replace("    1\n", "    2\n");
    client.change("src/lib.rs", &mine).await;
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    let hash = change(&pending, 0)["hash"].clone();
    let result = client
        .command("autogate.approve", json!({ "id": "2", "hash": hash }))
        .await
        .unwrap();
    assert_eq!(change(&result, 0)["status"], json!("failed"), "{result}");
    assert!(
        change(&result, 0)["reasons"]
            .to_string()
            .contains("changed since the change was analyzed"),
        "{result}"
    );
    assert_eq!(
        client.text("src/lib.rs").unwrap(),
        mine,
        "the person's text stays"
    );
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn rejecting_one_part_of_a_split_proposal_keeps_the_other() {
    let dir = workspace(&[("src/lib.rs", TWO_SYMBOLS)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("src/lib.rs");
    // Not open: both parts go to disk.
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": two_symbol_edit(&uri, None) }),
        )
        .await
        .unwrap();
    let doc_only = TWO_SYMBOLS.replace("/// Adds.", "/// Adds two numbers.");
    assert_eq!(read(&root, "src/lib.rs").unwrap(), doc_only);
    let result = client
        .command("autogate.reject", json!({ "id": "2" }))
        .await
        .unwrap();
    assert_eq!(change(&result, 0)["status"], json!("rejected"));
    assert_eq!(read(&root, "src/lib.rs").unwrap(), doc_only);
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn auto_changes_to_two_symbols_of_one_file_go_out_as_one_apply_edit() {
    let dir = workspace(&[("src/lib.rs", TWO_SYMBOLS)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.open("src/lib.rs", TWO_SYMBOLS).await;
    let uri = client.uri("src/lib.rs");
    let edit = json!({ "documentChanges": [ { "textDocument": { "uri": uri, "version": 1 }, "edits": [
        { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 1, "character": 0 } },
          "newText": "/// Adds two numbers.\n" },
        { "range": { "start": { "line": 5, "character": 0 }, "end": { "line": 5, "character": 0 } },
          "newText": "/// The answer, more or less.\n" } ] } ] });
    let summary = client
        .command("autogate.proposeEdit", json!({ "edit": edit }))
        .await
        .unwrap();
    let statuses: Vec<&str> = summary["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["applied", "applied"], "{summary}");
    assert_eq!(
        client.text("src/lib.rs").unwrap(),
        TWO_SYMBOLS
            .replace("/// Adds.", "/// Adds two numbers.")
            .replace("fn helper", "/// The answer, more or less.\nfn helper")
    );
    assert_eq!(client.version("src/lib.rs"), Some(2), "one applyEdit");
    client.settle(100).await;
    client.shutdown().await;
}

/// Diagnostics go out in the order they were computed: a change approved while another is
/// proposed never stays on the editor's diagnostics after it was applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_never_keep_a_change_decided_while_another_was_proposed() {
    const ROUNDS: usize = 12;
    let files: Vec<(String, String)> = (0..=ROUNDS)
        .map(|i| (format!("c{i}/Cargo.toml"), "[package]\n".to_owned()))
        .collect();
    let all: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let dir = workspace(&all);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let propose = |i: usize| {
        json!({ "command": "autogate.proposeEdit", "arguments": [{ "edit": edit(
            &crate::support::uri_of(&root.join(format!("c{i}/Cargo.toml"))), None, [1, 0, 1, 0], "name = \"z\"\n") }] })
    };
    let first = client
        .request("workspace/executeCommand", propose(0))
        .await
        .unwrap();
    assert_eq!(change(&first, 0)["status"], json!("pending"), "{first:#}");
    for i in 0..ROUNDS {
        // Approve the pending change and propose the next one at once.
        let pending = client.command("autogate.pending", json!({})).await.unwrap();
        let c = change(&pending, 0).clone();
        let approve = client
            .send_request(
                "workspace/executeCommand",
                json!({ "command": "autogate.approve", "arguments": [{ "id": c["id"], "hash": c["hash"] }] }),
            )
            .await;
        let next = client
            .send_request("workspace/executeCommand", propose(i + 1))
            .await;
        let approved = client.response(approve).await.unwrap();
        assert_eq!(
            change(&approved, 0)["status"],
            json!("approved"),
            "{approved:#}"
        );
        let proposed = client.response(next).await.unwrap();
        assert_eq!(
            change(&proposed, 0)["status"],
            json!("pending"),
            "{proposed:#}"
        );
    }
    client.settle(300).await;
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    let pending: Vec<String> = pending["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("change-{}", c["id"].as_str().unwrap()))
        .collect();
    assert_eq!(pending.len(), 1);
    let shown: Vec<String> = client
        .diagnostics
        .values()
        .flatten()
        .map(|d| d["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(shown, pending, "{:#?}", client.diagnostics);
    client.shutdown().await;
}
