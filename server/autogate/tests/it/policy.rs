//! The policy in the server: loading, reloading, fail-closed fallback, editor overrides, and the
//! team example of docs/policy.md behaving the same in the server and in `autogate assess`.
#![allow(clippy::unwrap_used)]

use crate::support::{TestClient, edit, git, helix_caps, repo, root, workspace};
use serde_json::{Value, json};

fn decision(summary: &Value) -> (String, String) {
    let c = &summary["changes"][0];
    (
        c["decision"].as_str().unwrap().to_owned(),
        c["status"].as_str().unwrap().to_owned(),
    )
}

/// Helix-like capabilities plus dynamic registration of file watchers.
fn watching_caps() -> Value {
    let mut caps = helix_caps();
    caps["workspace"]["didChangeWatchedFiles"] = json!({ "dynamicRegistration": true });
    caps
}

#[tokio::test]
async fn the_policy_reloads_on_save_and_on_a_watched_file_change() {
    let dir = workspace(&[("a.txt", "a\n"), (".autogate.toml", "mode = \"ask\"\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, watching_caps(), Value::Null).await;
    client.settle(200).await;
    assert_eq!(
        client.registrations[0]["registrations"][0]["method"],
        json!("workspace/didChangeWatchedFiles")
    );
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    assert_eq!(decision(&summary), ("ask".into(), "pending".into()));

    std::fs::write(root.join(".autogate.toml"), "mode = \"auto\"\n").unwrap();
    let policy = client.uri(".autogate.toml");
    client
        .notify(
            "textDocument/didSave",
            json!({ "textDocument": { "uri": policy } }),
        )
        .await;
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "c") }),
        )
        .await
        .unwrap();
    assert_eq!(decision(&summary), ("auto".into(), "applied".into()));

    std::fs::write(root.join(".autogate.toml"), "mode = \"plan\"\n").unwrap();
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({ "changes": [ { "uri": policy, "type": 2 } ] }),
        )
        .await;
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "d") }),
        )
        .await
        .unwrap();
    assert_eq!(decision(&summary).1, "planned");
    client.shutdown().await;
}

#[tokio::test]
async fn a_broken_policy_fails_closed_with_a_diagnostic_and_the_last_valid_one_stays() {
    let dir = workspace(&[
        ("a.txt", "a\n"),
        (".autogate.toml", "mode = \"auto\"\nthreshold = 3\n"),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let error = client.wait_message(".autogate.toml has 1 error(s)").await;
    assert!(
        error.contains("every change asks until it is fixed"),
        "{error}"
    );
    let policy = client.uri(".autogate.toml");
    let diagnostics = client.diagnostics[&policy].clone();
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({ "line": 1, "character": 0 }),
        "{diagnostics:#?}"
    );
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("threshold")
    );
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    assert_eq!(
        decision(&summary),
        ("ask".into(), "pending".into()),
        "fail closed: every change asks"
    );

    // Fixed: a valid policy, and the diagnostic clears.
    std::fs::write(root.join(".autogate.toml"), "mode = \"auto\"\n").unwrap();
    client
        .notify(
            "textDocument/didSave",
            json!({ "textDocument": { "uri": policy } }),
        )
        .await;
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "c") }),
        )
        .await
        .unwrap();
    assert_eq!(decision(&summary).0, "auto");
    assert_eq!(client.diagnostics[&policy], Vec::<Value>::new());

    // Broken again: the last valid policy (auto) stays in force.
    std::fs::write(root.join(".autogate.toml"), "mode = \"sometimes\"\n").unwrap();
    client
        .notify(
            "textDocument/didSave",
            json!({ "textDocument": { "uri": policy } }),
        )
        .await;
    let message = client
        .wait_message("the last valid policy stays in force")
        .await;
    assert!(message.contains(".autogate.toml:1:8"), "{message}");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "d") }),
        )
        .await
        .unwrap();
    assert_eq!(decision(&summary).0, "auto");
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn editor_settings_only_tighten() {
    let dir = workspace(&[("a.txt", "a\n"), (".autogate.toml", "mode = \"ask\"\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), json!({ "mode": "auto" })).await;
    let refusal = client.wait_message("refused").await;
    assert!(
        refusal.contains("mode = auto") && refusal.contains("loosen"),
        "{refusal}"
    );
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    assert_eq!(decision(&summary).0, "ask");
    let err = client
        .command("autogate.setMode", json!({ "mode": "auto" }))
        .await
        .unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("only make it stricter"),
        "{err}"
    );
    client.settle(100).await;
    client.shutdown().await;

    // Tightening works: medium asks once the editor caps auto at low.
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = crate::support::root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), json!({ "autoUpTo": "low" })).await;
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    assert_eq!(decision(&summary), ("ask".into(), "pending".into()));
    // And through workspace/didChangeConfiguration, a loosening is refused again.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({ "settings": { "autogate": { "denyFrom": "low" } } }),
        )
        .await;
    client.wait_message("deny_from = low").await;
    client.settle(100).await;
    client.shutdown().await;
}

/// The example of docs/policy.md, without its `[verify]` table.
fn team_policy() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/policy.md"))
        .unwrap();
    let start = doc.find("<!-- example:begin -->").unwrap();
    let end = doc.find("<!-- example:end -->").unwrap();
    let block = &doc[start..end];
    let toml = &block[block.find("```toml\n").unwrap() + 8..block.rfind("```").unwrap()];
    toml[..toml.find("[verify]").unwrap()].to_owned()
}

#[tokio::test]
async fn the_team_example_behaves_as_documented_on_main_and_on_a_feature_branch() {
    let dir = repo(&[
        (".autogate.toml", &team_policy()),
        ("src/server.rs", "fn serve() {\n    listen();\n}\n"),
        ("src/auth/login.rs", "fn login() {\n    check();\n}\n"),
        ("docs/guide.md", "# Guide\n"),
    ]);
    let root = root(&dir);
    git(&root, &["checkout", "-q", "main"]);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let propose = |path: &str, range: [u32; 4], text: &str| json!({ "edit": edit(&format!("file://{}", root.join(path).display()), None, range, text) });
    let cases = [
        (
            propose("src/server.rs", [0, 0, 0, 0], "// Serves.\n"),
            "auto",
            "rules[0]",
        ),
        (
            propose("docs/guide.md", [0, 0, 1, 0], "# The guide\n"),
            "auto",
            "rules[1]",
        ),
        (
            propose("src/auth/login.rs", [1, 4, 1, 11], "verify()"),
            "ask",
            "rules[2]",
        ),
        (
            json!({ "edit": { "documentChanges": [ { "kind": "create", "uri": format!("file://{}", root.join("migrations/002_users.sql").display()) } ] } }),
            "deny",
            "rules[3]",
        ),
    ];
    for (args, expected, rule) in cases {
        let summary = client
            .command("autogate.proposeEdit", args.clone())
            .await
            .unwrap();
        assert_eq!(
            summary["changes"][0]["decision"],
            json!(expected),
            "{args}: {summary:#}"
        );
        let id = summary["changes"][0]["id"].as_str().unwrap().to_owned();
        let explained = client
            .command("autogate.explain", json!({ "id": id }))
            .await
            .unwrap();
        assert_eq!(explained["rule"], json!(rule), "{explained:#}");
        assert_eq!(explained["environment"]["name"], json!("production"));
    }
    client.settle(100).await;
    client.shutdown().await;

    // `autogate assess` decides the same on main, and the migration asks on a feature branch.
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    std::fs::write(
        root.join("migrations/003_more.sql"),
        "create table t (id int);\n",
    )
    .unwrap();
    let assess = |root: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
            .args(["assess", "--json"])
            .current_dir(root)
            .env_remove("AUTOGATE_ENV")
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["files"][0] == json!("migrations/003_more.sql"))
            .unwrap()["decision"]
            .clone()
    };
    assert_eq!(assess(&root), json!("deny"));
    git(&root, &["checkout", "-q", "feature/x"]);
    assert_eq!(assess(&root), json!("ask"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
        .args(["assess", "--json"])
        .current_dir(&root)
        .env("AUTOGATE_ENV", "production")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["environment"]["name"],
        json!("production"),
        "AUTOGATE_ENV overrides the branch"
    );
}
