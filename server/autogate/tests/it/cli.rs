//! The real `autogate` binary: LSP over stdio and the command line.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

use crate::support::{TestClient, edit, full_caps, git, read, repo, root, run, workspace};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_autogate");

#[test]
fn version_and_help() {
    let dir = workspace(&[]);
    let (code, stdout, _) = run(dir.path(), &["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        format!("autogate {}", env!("CARGO_PKG_VERSION"))
    );
    let (code, stdout, _) = run(dir.path(), &["--help"]);
    assert_eq!(code, 0);
    for word in [
        "lsp",
        "assess",
        "log",
        "checkpoints",
        "rollback",
        "policy",
        "demo",
    ] {
        assert!(stdout.contains(word), "--help lists {word}: {stdout}");
    }
    let (code, _, stderr) = run(dir.path(), &["frobnicate"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unrecognized subcommand"), "{stderr}");
}

#[tokio::test]
async fn the_binary_serves_lsp_over_stdio_and_exits_cleanly() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(BIN)
        .arg("lsp")
        .current_dir(&root)
        .env("AUTOGATE_LOG", "autogate=info")
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut client = TestClient::connect(
        &root,
        Box::new(stdout),
        Box::new(stdin),
        None,
        full_caps(),
        Value::Null,
    )
    .await;
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    assert_eq!(summary["changes"][0]["status"], json!("applied"));
    assert_eq!(read(&root, "a.txt").unwrap(), "b\n");
    // A diff shown in the editor is a file in a private temporary folder...
    let id = summary["changes"][0]["id"].clone();
    let shown = client
        .command("autogate.diff", json!({ "id": id }))
        .await
        .unwrap();
    assert_eq!(shown["shown"], json!(true), "{shown}");
    let request = client.expect("window/showDocument").await;
    let uri = request["params"]["uri"].as_str().unwrap();
    assert!(uri.contains("/autogate-diffs-"), "{uri}");
    let diffs = || {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("autogate-diffs-")
            })
            .count()
    };
    assert_eq!(diffs(), 1);
    client.shutdown().await;
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
    // ...removed when the server exits.
    assert_eq!(diffs(), 0, "the diffs' folder is left behind");
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert!(
        stderr.contains("initialized"),
        "logs go to stderr: {stderr}"
    );
}

#[test]
fn demo_runs_offline_through_the_real_server() {
    let dir = workspace(&[]);
    let (code, stdout, stderr) = run(dir.path(), &["demo"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for expected in [
        "low → auto → applied",
        "high → ask → pending",
        "is now approved",
        "is now approved, applied on top of the other",
        "is now rejected",
        "critical → deny → denied",
        "rolled_back",
        "hash chain intact",
    ] {
        assert!(
            stdout.contains(expected),
            "demo output has `{expected}`:\n{stdout}"
        );
    }
    // Each prompt is shown with its change, before the answer it got, not at the end.
    let lines: Vec<&str> = stdout.lines().collect();
    for (change, answer) in [("change 4", "Approve"), ("change 6", "Reject")] {
        let prompt = lines
            .iter()
            .position(|l| l.contains("prompt shown") && l.contains(change))
            .unwrap_or_else(|| panic!("a prompt for {change}:\n{stdout}"));
        assert!(
            lines[prompt].ends_with(&format!("clicks {answer}")),
            "{stdout}"
        );
        assert!(
            lines[prompt + 1].contains(&format!("{change} is now")),
            "the outcome follows the prompt:\n{stdout}"
        );
    }
    // Signatures read like code, not one token per word.
    assert!(stdout.contains("`#[test] fn parses_pairs()`"), "{stdout}");
}

#[test]
fn assess_reports_json_and_fails_on_a_level() {
    let dir = repo(&[
        ("src/lib.rs", "pub fn parse(a: u8) -> u8 {\n    a\n}\n"),
        ("Cargo.toml", "[package]\nname = \"x\"\n"),
    ]);
    let root = root(&dir);
    std::fs::write(
        root.join("src/lib.rs"),
        "/// Parses.\npub fn parse(a: u8) -> u8 {\n    a\n}\n",
    )
    .unwrap();
    std::fs::write(root.join("new.py"), "def f():\n    return 1\n").unwrap();
    std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
    std::fs::write(
        root.join("ignored.txt"),
        "password = \"hunter2hunter2hunter2\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(&root, &["assess", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["environment"]["name"], json!("development"));
    let changes = report["changes"].as_array().unwrap();
    let by_file = |f: &str| {
        changes
            .iter()
            .find(|c| c["files"][0] == json!(f))
            .unwrap_or_else(|| panic!("{f} in {stdout}"))
    };
    assert_eq!(by_file("src/lib.rs")["level"], json!("low"));
    assert_eq!(
        by_file("new.py")["level"],
        json!("medium"),
        "an untracked file is assessed"
    );
    assert!(
        changes
            .iter()
            .all(|c| c["files"][0] != json!("ignored.txt")),
        "ignored files are not"
    );
    for key in ["id", "files", "level", "decision", "reasons", "symbols"] {
        assert!(by_file("new.py").get(key).is_some(), "{key}");
    }
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"y\"\n").unwrap();
    let (code, _, _) = run(&root, &["assess", "--fail-on", "high"]);
    assert_eq!(code, 1);
    let (code, stdout, _) = run(&root, &["assess", "--format", "github"]);
    assert_eq!(code, 0);
    // On the line the change starts at, as the reasons say.
    assert!(
        stdout.contains("::error file=Cargo.toml,line=2,title="),
        "{stdout}"
    );
    git(&root, &["checkout", "-q", "main"]);
    let (_, stdout, _) = run(&root, &["assess"]);
    assert!(
        stdout.starts_with("environment: production (branch `main`"),
        "{stdout}"
    );
    let header = stdout.lines().nth(1).unwrap_or_default();
    for column in ["id", "level", "decision", "files"] {
        assert!(header.contains(column), "a header names {column}: {stdout}");
    }
    let (code, _, stderr) = run(&root, &["assess", "--base", "nope"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("`nope` is not a revision"), "{stderr}");
    let plain = workspace(&[]);
    let (code, _, stderr) = run(plain.path(), &["assess"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not in a git repository"), "{stderr}");
    assert!(!stderr.contains("class="), "no raw libgit2 text: {stderr}");
}

#[test]
fn policy_check_gives_file_line_col_and_exit_codes() {
    let dir = workspace(&[(
        ".autogate.toml",
        "mode = \"auto\"\n\n[environments.production]\nauto_up_to = \"lowish\"\n",
    )]);
    let (code, stdout, _) = run(dir.path(), &["policy", "check"]);
    assert_eq!(code, 1);
    assert!(stdout.starts_with(".autogate.toml:4:14:"), "{stdout}");
    std::fs::write(dir.path().join(".autogate.toml"), "mode = \"ask\"\n").unwrap();
    let (code, stdout, _) = run(dir.path(), &["policy", "check"]);
    assert_eq!((code, stdout.trim()), (0, ".autogate.toml: ok"));
    let (code, stdout, _) = run(dir.path(), &["policy", "explain", "--path", "Cargo.toml"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Cargo.toml is protected"), "{stdout}");
    // A broken file: explain shows the fail-closed policy in force, and exits 1.
    std::fs::write(dir.path().join(".autogate.toml"), "mode = \"yolo\"\n").unwrap();
    let (code, stdout, _) = run(dir.path(), &["policy", "explain"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("every change asks"), "{stdout}");
    // The hint adds to the message instead of repeating its list of choices.
    let (code, stdout, _) = run(dir.path(), &["policy", "check"]);
    assert_eq!(code, 1);
    assert_eq!(stdout.matches("auto, ask").count(), 1, "{stdout}");
}

#[tokio::test]
async fn the_cli_rolls_back_after_the_server_is_killed_and_the_log_detects_tampering() {
    let dir = repo(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let mut client = TestClient::connect(
        &root,
        Box::new(stdout),
        Box::new(stdin),
        None,
        full_caps(),
        Value::Null,
    )
    .await;
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "changed") }),
        )
        .await
        .unwrap();
    let checkpoint = summary["checkpoint"].as_str().unwrap().to_owned();
    child.start_kill().unwrap(); // SIGKILL
    let _ = child.wait().await;
    std::mem::forget(client); // the server is gone; nothing left to consume
    assert_eq!(read(&root, "a.txt").unwrap(), "changed\n");

    let (code, stdout, _) = run(&root, &["checkpoints"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(&checkpoint), "{stdout}");
    let (code, stdout, stderr) = run(&root, &["rollback"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("restored   a.txt"), "{stdout}");
    assert_eq!(read(&root, "a.txt").unwrap(), "a\n");

    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = run(&root, &["log", "--json", "--file", "a.txt"]);
    assert_eq!(code, 0);
    let records: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let events: Vec<&str> = records
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["decided", "applied", "rolled_back"]);
    // Tamper: edit the level of the applied record.
    let path = root.join(".git/autogate/audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"level\":\"medium\"", "\"level\":\"low\"", 1),
    )
    .unwrap();
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("audit.jsonl:1: edited"), "{stdout}");
}

/// One framed JSON-RPC message.
fn frame(message: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(message).unwrap();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend(body);
    out
}

#[test]
fn stderr_gets_warnings_only_by_default_and_a_log_file_gets_more() {
    let dir = workspace(&[("src/a.rs", "fn a() {}\n")]);
    let root = root(&dir);
    let log = dir.path().join("autogate.log");
    let uri = crate::support::uri_of(&root);
    let mut input = Vec::new();
    for message in [
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "processId": null, "rootUri": uri, "capabilities": {} } }),
        json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }),
        json!({ "jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand", "params": { "command": "autogate.pending", "arguments": [{}] } }),
        json!({ "jsonrpc": "2.0", "id": 3, "method": "shutdown" }),
        json!({ "jsonrpc": "2.0", "method": "exit" }),
    ] {
        input.extend(frame(&message));
    }
    let run_with = |log_file: Option<&std::path::Path>| {
        let mut command = Command::new(BIN);
        command
            .arg("lsp")
            .current_dir(&root)
            .env_remove("AUTOGATE_LOG")
            .env_remove("AUTOGATE_LOG_FILE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(path) = log_file {
            command.env("AUTOGATE_LOG_FILE", path);
        }
        let mut child = command.spawn().unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = run_with(None);
    assert!(!stderr.contains("INFO"), "no info on stderr: {stderr}");
    let stderr = run_with(Some(&log));
    assert!(!stderr.contains("INFO"), "{stderr}");
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.contains("INFO"),
        "the file gets info and up: {written}"
    );
}
