//! Attacks on the real binary, as a hostile agent would make them: the audit trail rewritten
//! or deleted behind the server's back, broken frames, approvals without the content hash,
//! and paths or URIs that point outside the workspace.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use crate::support::{TestClient, edit, full_caps, repo, root, run, workspace};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_autogate");

/// A repository where the server applied one edit (a checkpoint and three audit records).
async fn repo_with_an_applied_edit() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = repo(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "changed") }),
        )
        .await
        .unwrap();
    assert_eq!(summary["changes"][0]["status"], "applied", "{summary}");
    client.shutdown().await;
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("anchored head at record"), "{stdout}");
    (dir, root)
}

fn trail(root: &Path) -> std::path::PathBuf {
    root.join(".git/autogate/audit.jsonl")
}

#[tokio::test]
async fn attack_log_verify_fails_when_the_trail_is_deleted() {
    let (_dir, root) = repo_with_an_applied_edit().await;
    std::fs::remove_file(trail(&root)).unwrap();
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("the audit trail is missing"), "{stdout}");
}

#[tokio::test]
async fn attack_log_verify_fails_when_the_last_record_is_removed() {
    let (_dir, root) = repo_with_an_applied_edit().await;
    let text = std::fs::read_to_string(trail(&root)).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    std::fs::write(trail(&root), lines.join("\n") + "\n").unwrap();
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("records were removed from its end"),
        "{stdout}"
    );
}

#[tokio::test]
async fn attack_log_verify_fails_when_the_whole_trail_is_rehashed() {
    let (_dir, root) = repo_with_an_applied_edit().await;
    // Rewrite every record (medium becomes low) and recompute the whole chain with the
    // library itself, as an attacker with the source would.
    let records = autogate_vcs::AuditLog::open(&root).unwrap().read().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let forger = autogate_vcs::AuditLog::at_path(scratch.path().join("audit.jsonl"));
    for mut r in records {
        r.level = Some("low".into());
        r.prev = None;
        r.hash = String::new();
        forger.append(r).unwrap();
    }
    std::fs::copy(forger.path(), trail(&root)).unwrap();
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("the trail was rewritten"), "{stdout}");
}

#[test]
fn log_verify_without_a_trail_says_so() {
    let dir = repo(&[("a.txt", "a\n")]);
    let (code, stdout, _) = run(&root(&dir), &["log", "--verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("no audit trail"), "{stdout}");
    assert!(!stdout.contains("hash chain intact"), "{stdout}");
    let dir = workspace(&[("a.txt", "a\n")]);
    let (code, stdout, _) = run(&root(&dir), &["log", "--verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("no audit trail"), "{stdout}");
}

#[tokio::test]
async fn attack_an_approval_without_the_content_hash_is_refused() {
    let dir = workspace(&[("Cargo.toml", "[package]\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, crate::support::helix_caps(), Value::Null).await;
    let uri = client.uri("Cargo.toml");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [1, 0, 1, 0], "x = 1\n") }),
        )
        .await
        .unwrap();
    assert_eq!(summary["changes"][0]["status"], "pending", "{summary}");
    // The agent approves its own change by id alone.
    let err = client
        .command("autogate.approve", json!({ "id": "1" }))
        .await
        .unwrap_err();
    assert_eq!(err["code"], json!(-32602));
    assert!(
        err["message"].as_str().unwrap().contains("needs `hash`"),
        "{err}"
    );
    assert_eq!(
        crate::support::read(&root, "Cargo.toml").unwrap(),
        "[package]\n"
    );
    // The person approves with the hash the pending list showed them.
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    let hash = pending["changes"][0]["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64, "{pending}");
    let ok = client
        .command("autogate.approve", json!({ "id": "1", "hash": hash }))
        .await
        .unwrap();
    assert_eq!(ok["changes"][0]["status"], "approved", "{ok}");
    client.settle(100).await;
    client.shutdown().await;
}

/// Every change of a Summary is denied and nothing was written under `root` or at `outside`.
fn assert_denied_and_unwritten(summary: &Value, root: &Path, outside: &Path) {
    let changes = summary["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "{summary}");
    for c in changes {
        assert_eq!(c["decision"], "deny", "{summary}");
        assert_eq!(c["status"], "denied", "{summary}");
    }
    assert!(!outside.exists(), "written outside the workspace");
    let relative = outside.strip_prefix("/").unwrap();
    assert!(!root.join(relative).exists(), "moved under the root");
}

#[tokio::test]
async fn attack_a_patch_to_an_absolute_path_is_denied_not_moved_under_the_root() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("outside.txt");
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    for patch in [
        format!(
            "--- /dev/null\n+++ {}\n@@ -0,0 +1 @@\n+pwned\n",
            outside.display()
        ),
        format!(
            "--- /dev/null\n+++ b/{}\n@@ -0,0 +1 @@\n+pwned\n",
            outside.display()
        ),
        // git-style, the absolute path after `b/` (`a/tmp/x` alone would be a relative path).
        format!(
            "diff --git a/{0} b/{0}\nnew file mode 100644\n--- /dev/null\n+++ b/{0}\n@@ -0,0 +1 @@\n+pwned\n",
            outside.display()
        ),
        // A Windows drive path is absolute too, wherever the server runs.
        "--- /dev/null\n+++ C:\\outside.txt\n@@ -0,0 +1 @@\n+pwned\n".to_owned(),
    ] {
        let summary = client
            .command("autogate.applyPatch", json!({ "patch": patch }))
            .await;
        match summary {
            Ok(summary) => assert_denied_and_unwritten(&summary, &root, &outside),
            Err(e) => panic!("{patch}: {e}"),
        }
    }
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn attack_a_file_uri_naming_another_host_is_denied() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    // The path is inside the workspace; the host is not this machine (a UNC share on Windows).
    let uri = format!("file://otherhost{}", root.join("a.txt").display());
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "pwned") }),
        )
        .await
        .unwrap();
    let changes = summary["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{summary}");
    assert_eq!(changes[0]["decision"], "deny", "{summary}");
    assert!(
        changes[0]["reasons"].to_string().contains("another host"),
        "{summary}"
    );
    assert_eq!(crate::support::read(&root, "a.txt").unwrap(), "a\n");
    // `localhost` is this machine.
    let uri = format!("file://localhost{}", root.join("a.txt").display());
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    assert_eq!(summary["changes"][0]["status"], "applied", "{summary}");
    client.settle(100).await;
    client.shutdown().await;
}

// ---- Framing: raw bytes to the real binary. ----

/// The real server over stdio, spoken to in raw bytes.
struct Raw {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::BufReader<tokio::process::ChildStdout>,
}

fn frame(body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn request(id: i64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

fn pending_request(id: i64) -> Value {
    request(
        id,
        "workspace/executeCommand",
        json!({ "command": "autogate.pending", "arguments": [{}] }),
    )
}

impl Raw {
    async fn start(root: &Path) -> Self {
        Self::start_with(root, &[]).await
    }

    async fn start_with(root: &Path, env: &[(&str, &Path)]) -> Self {
        let mut child = tokio::process::Command::new(BIN)
            .current_dir(root)
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .env_remove("AUTOGATE_ENV")
            .env("AUTOGATE_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
        let mut raw = Self {
            child,
            stdin,
            stdout,
        };
        let init = request(
            1,
            "initialize",
            json!({ "processId": null, "rootUri": crate::support::uri_of(root), "capabilities": {} }),
        );
        raw.send(&frame(&init)).await;
        raw.response(1).await;
        raw.send(&frame(
            &json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }),
        ))
        .await;
        raw
    }

    async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.stdin.write_all(bytes).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next message from the server; answers its requests with `null`.
    async fn message(&mut self) -> Value {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt};
        loop {
            let mut length = None;
            loop {
                let mut line = String::new();
                let read = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    self.stdout.read_line(&mut line),
                )
                .await
                .expect("the server answers within 10 s")
                .unwrap();
                assert!(read > 0, "the server closed its output");
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("Content-Length: ") {
                    length = v.parse::<usize>().ok();
                }
            }
            let mut body = vec![0; length.unwrap()];
            self.stdout.read_exact(&mut body).await.unwrap();
            let message: Value = serde_json::from_slice(&body).unwrap();
            if message.get("method").is_some() && message.get("id").is_some() {
                let reply = json!({ "jsonrpc": "2.0", "id": message["id"], "result": null });
                self.send(&frame(&reply)).await;
                continue;
            }
            return message;
        }
    }

    /// The response to request `id`; other messages before it are returned too.
    async fn response(&mut self, id: i64) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let message = self.message().await;
            if message.get("method").is_none() && message["id"] == json!(id) {
                return (message, before);
            }
            before.push(message);
        }
    }
}

#[tokio::test]
async fn framing_a_header_line_that_is_not_utf8_is_ignored() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let mut server = Raw::start(&root(&dir)).await;
    let mut bytes = b"Content-Type: x\xff\r\n".to_vec();
    bytes.extend(frame(&pending_request(2)));
    server.send(&bytes).await;
    let (answer, _) = server.response(2).await;
    assert!(answer["result"]["changes"].is_array(), "{answer}");
}

#[tokio::test]
async fn framing_a_content_length_that_is_not_a_number_is_answered_and_resynchronised() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let mut server = Raw::start(&root(&dir)).await;
    let body = pending_request(2).to_string();
    let mut bytes = format!("Content-Length: twelve\r\n\r\n{body}").into_bytes();
    bytes.extend(frame(&pending_request(3)));
    server.send(&bytes).await;
    // The request with the bad length is answered under its own id, not executed.
    let (refused, _) = server.response(2).await;
    assert!(
        refused["error"]["message"]
            .to_string()
            .contains("invalid Content-Length `twelve`"),
        "{refused}"
    );
    let (answer, _) = server.response(3).await;
    assert!(answer["result"]["changes"].is_array(), "{answer}");
    // Garbage after the bad header is skipped up to the next one.
    let mut bytes = b"Content-Length: -1\r\n\r\nnot json at all".to_vec();
    bytes.extend(frame(&pending_request(4)));
    server.send(&bytes).await;
    let (answer, before) = server.response(4).await;
    assert!(answer["result"]["changes"].is_array(), "{answer}");
    assert!(
        before.iter().any(|m| m["error"]["message"]
            .to_string()
            .contains("invalid Content-Length")),
        "{before:?}"
    );
}

#[tokio::test]
async fn framing_a_short_content_length_is_answered_and_resynchronised() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let mut server = Raw::start(&root(&dir)).await;
    let body = pending_request(2).to_string();
    let mut bytes = format!("Content-Length: 10\r\n\r\n{body}").into_bytes();
    bytes.extend(frame(&pending_request(3)));
    server.send(&bytes).await;
    let (answer, before) = server.response(3).await;
    assert!(answer["result"]["changes"].is_array(), "{answer}");
    assert!(
        before.iter().any(|m| m["error"]["code"] == json!(-32700)),
        "{before:?}"
    );
}

#[tokio::test]
async fn framing_a_long_content_length_is_answered_by_id_and_resynchronised() {
    let dir = workspace(&[("a.txt", "a\n")]);
    let mut server = Raw::start(&root(&dir)).await;
    // Followed by another message: the next header shows where the first one ended.
    let body = pending_request(2).to_string();
    let mut bytes = format!("Content-Length: {}\r\n\r\n{body}", body.len() + 500).into_bytes();
    bytes.extend(frame(&pending_request(3)));
    server.send(&bytes).await;
    let (refused, _) = server.response(2).await;
    assert_eq!(refused["error"]["code"], json!(-32600), "{refused}");
    assert!(
        refused["error"]["message"]
            .to_string()
            .contains("does not match the message"),
        "{refused}"
    );
    let (answer, _) = server.response(3).await;
    assert!(answer["result"]["changes"].is_array(), "{answer}");
    // The last message sent: silence shows where it ended.
    let body = pending_request(4).to_string();
    let bytes = format!("Content-Length: {}\r\n\r\n{body}", body.len() + 1).into_bytes();
    server.send(&bytes).await;
    let (refused, _) = server.response(4).await;
    assert_eq!(refused["error"]["code"], json!(-32600), "{refused}");
    server.send(&frame(&pending_request(5))).await;
    let (answer, _) = server.response(5).await;
    assert!(answer["result"]["changes"].is_array(), "{answer}");
}

#[tokio::test]
async fn framing_a_stream_beyond_repair_exits_non_zero_and_pending_changes_are_proposed_again() {
    let dir = repo(&[("Cargo.toml", "[package]\n")]);
    let root = root(&dir);
    let mut server = Raw::start(&root).await;
    // A change that waits for approval (a protected path).
    let uri = crate::support::uri_of(&root.join("Cargo.toml"));
    let propose = request(
        2,
        "workspace/executeCommand",
        json!({ "command": "autogate.proposeEdit",
                "arguments": [{ "edit": edit(&uri, None, [1, 0, 1, 0], "x = 1\n") }] }),
    );
    server.send(&frame(&propose)).await;
    let (answer, _) = server.response(2).await;
    assert_eq!(
        answer["result"]["changes"][0]["status"], "pending",
        "{answer}"
    );
    // More garbage than any message may be, without a single header.
    let garbage = vec![b'x'; (64 << 20) + (1 << 20)];
    {
        use tokio::io::AsyncWriteExt;
        let _ = server.stdin.write_all(&garbage).await;
    }
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), server.child.wait())
        .await
        .expect("the server gives up")
        .unwrap();
    assert_eq!(status.code(), Some(3), "{status}");
    let mut stderr = String::new();
    {
        use tokio::io::AsyncReadExt;
        let mut pipe = server.child.stderr.take().unwrap();
        pipe.read_to_string(&mut stderr).await.unwrap();
    }
    assert!(stderr.contains("cannot be resynchronised"), "{stderr}");
    // Nothing of the pending change was written; the trail says it was asked for.
    assert_eq!(
        crate::support::read(&root, "Cargo.toml").unwrap(),
        "[package]\n"
    );
    let (code, stdout, _) = run(&root, &["log", "--json"]);
    assert_eq!(code, 0);
    let records: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert!(
        records
            .iter()
            .any(|r| r["event"] == "decided" && r["decision"] == "ask"),
        "{stdout}"
    );
    // A new server holds nothing pending: the agent proposes the change again.
    let mut again = Raw::start(&root).await;
    again.send(&frame(&pending_request(2))).await;
    let (answer, _) = again.response(2).await;
    assert_eq!(answer["result"]["changes"], json!([]), "{answer}");
}

// ---- Signed heads, end to end ----

#[tokio::test]
async fn attack_a_trail_rebuilt_from_scratch_fails_against_the_teams_public_key() {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("audit_key");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "team", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let public = keys.path().join("audit_key.pub");
    let public = public.to_str().unwrap();

    let dir = repo(&[("a.txt", "a\n")]);
    let root = root(&dir);
    let mut server = Raw::start_with(&root, &[("AUTOGATE_AUDIT_SIGNING_KEY", &key)]).await;
    let uri = crate::support::uri_of(&root.join("a.txt"));
    let propose = request(
        2,
        "workspace/executeCommand",
        json!({ "command": "autogate.proposeEdit",
                "arguments": [{ "edit": edit(&uri, None, [0, 0, 0, 1], "changed") }] }),
    );
    server.send(&frame(&propose)).await;
    let (answer, _) = server.response(2).await;
    assert_eq!(
        answer["result"]["changes"][0]["status"], "applied",
        "{answer}"
    );
    drop(server);
    let (code, stdout, _) = run(&root, &["log", "--verify", "--public-key", public]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("every head signed"), "{stdout}");

    // Rebuilt from scratch: the trail, its anchor and the checkpoints, all consistent.
    let records = autogate_vcs::AuditLog::open(&root).unwrap().read().unwrap();
    std::fs::remove_file(trail(&root)).unwrap();
    let refs = crate::support::git(
        &root,
        &["for-each-ref", "--format=%(refname)", "refs/autogate/"],
    );
    for name in refs.lines() {
        crate::support::git(&root, &["update-ref", "-d", name]);
    }
    let forger = autogate_vcs::AuditLog::open(&root).unwrap();
    for mut r in records {
        r.level = Some("low".into());
        r.prev = None;
        r.hash = String::new();
        forger.append(r).unwrap();
    }
    let (code, stdout, _) = run(&root, &["log", "--verify"]);
    assert_eq!(
        code, 0,
        "without the key, a full rebuild is consistent: {stdout}"
    );
    let (code, stdout, _) = run(&root, &["log", "--verify", "--public-key", public]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("is not signed"), "{stdout}");
    // The team's key in the policy file: plain `log --verify` checks it.
    let line = std::fs::read_to_string(public).unwrap();
    std::fs::write(
        root.join(".autogate.toml"),
        format!("[audit]\npublic_key = \"{}\"\n", line.trim()),
    )
    .unwrap();
    let (code, stdout, stderr) = run(&root, &["log", "--verify"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("is not signed"), "{stdout}");
    // A policy file broken to switch the check off fails rather than skip it.
    std::fs::write(root.join(".autogate.toml"), "[audit]\npublic_key = 3\n").unwrap();
    let (code, stdout, stderr) = run(&root, &["log", "--verify"]);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("cannot say whether"), "{stdout}{stderr}");
}
