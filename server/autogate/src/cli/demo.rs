//! `autogate demo`: a scripted session through the real server binary, offline, no API key.
//!
//! It creates a small git workspace on a development branch, starts `autogate lsp` as a child
//! process, plays an editor (open buffer, applyEdit, an approval prompt answered by a scripted
//! person) and an agent (proposals of every risk), then rolls back and verifies the audit trail.

use std::collections::HashMap;
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use autogate_analysis::Encoding;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, Command};
use tokio::sync::mpsc;

use super::out;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the temporary workspace and print its path.
    #[arg(long)]
    keep: bool,
}

const LIB_RS: &str = "/// Parses `key=value` lines.\npub fn parse_config(text: &str) -> Vec<(String, String)> {\n    text.lines()\n        .filter_map(|l| l.split_once('='))\n        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))\n        .collect()\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn parses_pairs() {\n        assert_eq!(parse_config(\"a = 1\").len(), 1);\n    }\n}\n";

/// A minimal editor on the other end of the server's stdio.
struct Editor {
    stdin: ChildStdin,
    incoming: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    docs: HashMap<String, (String, i32)>,
    answers: Vec<&'static str>,
    prompts: Vec<String>,
}

impl Editor {
    async fn send(&mut self, message: Value) -> Result<()> {
        let body = serde_json::to_vec(&message)?;
        self.stdin
            .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
            .await?;
        self.stdin.write_all(&body).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    async fn notify(&mut self, method: &str, params: Value) -> Result<()> {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }))
            .await
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await?;
        loop {
            let message = self.next().await?;
            if message["id"] == json!(id) && message.get("method").is_none() {
                if let Some(error) = message.get("error") {
                    bail!("{}", error["message"].as_str().unwrap_or("error"));
                }
                return Ok(message["result"].clone());
            }
            self.handle(message).await?;
        }
    }

    async fn command(&mut self, command: &str, args: Value) -> Result<Value> {
        self.request(
            "workspace/executeCommand",
            json!({ "command": command, "arguments": [args] }),
        )
        .await
    }

    async fn next(&mut self) -> Result<Value> {
        tokio::time::timeout(Duration::from_secs(30), self.incoming.recv())
            .await
            .map_err(|_| anyhow!("the server did not answer within 30 s"))?
            .ok_or_else(|| anyhow!("the server closed the connection"))
    }

    /// Waits until the person answered the prompt about change `id`, then prints the prompt
    /// they saw and the change's status.
    async fn person_answers(&mut self, id: &str, note: &str) -> Result<()> {
        let explained = self.settle_until(id).await?;
        for prompt in self.prompts.drain(..) {
            out(format!("   prompt shown: {prompt}"));
        }
        out(format!(
            "   the person was asked in the editor: change {id} is now {}{note}",
            explained["status"].as_str().unwrap_or("?")
        ));
        Ok(())
    }

    /// Handles what an editor handles: edits, prompts (answered by the scripted person).
    async fn handle(&mut self, message: Value) -> Result<()> {
        let id = message["id"].clone();
        match message["method"].as_str() {
            Some("workspace/applyEdit") => {
                let applied = self.apply(&message["params"]["edit"]).await.is_ok();
                self.send(json!({ "jsonrpc": "2.0", "id": id, "result": { "applied": applied } }))
                    .await
            }
            Some("window/showMessageRequest") => {
                let answer = if self.answers.is_empty() {
                    "Reject"
                } else {
                    self.answers.remove(0)
                };
                // The reasons are printed with the change already: show the prompt's head
                // and its buttons.
                let text = message["params"]["message"].as_str().unwrap_or("");
                let head = text.split_once(':').map_or(text, |(_, rest)| rest);
                let head = head.split(" waits for approval").next().unwrap_or(head);
                let buttons: Vec<&str> = message["params"]["actions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a["title"].as_str())
                    .collect();
                self.prompts.push(format!(
                    "\"{} waits for approval\" [{}] → the person clicks {answer}",
                    head.trim(),
                    buttons.join("] [")
                ));
                self.send(json!({ "jsonrpc": "2.0", "id": id, "result": { "title": answer } }))
                    .await
            }
            Some(_) if !id.is_null() => {
                self.send(json!({ "jsonrpc": "2.0", "id": id, "result": null }))
                    .await
            }
            _ => Ok(()),
        }
    }

    async fn apply(&mut self, edit: &Value) -> Result<()> {
        for change in edit["documentChanges"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let uri = change["textDocument"]["uri"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let (text, version) = self.docs.get(&uri).cloned().context("not open")?;
            if change["textDocument"]["version"].as_i64() != Some(i64::from(version)) {
                bail!("version mismatch");
            }
            let edits: Vec<tower_lsp_server::ls_types::TextEdit> =
                serde_json::from_value(change["edits"].clone())?;
            let new_text =
                crate::lsp::from_proto::apply_text_edits(&uri, &text, &edits, Encoding::Utf16)
                    .map_err(|e| anyhow!("{}", e.0))?;
            self.docs
                .insert(uri.clone(), (new_text.clone(), version + 1));
            self.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version + 1 }, "contentChanges": [ { "text": new_text } ] }),
            )
            .await?;
        }
        Ok(())
    }

    /// Processes messages until `done` holds or the time runs out.
    async fn settle_until(&mut self, change: &str) -> Result<Value> {
        for _ in 0..100 {
            while let Ok(message) = self.incoming.try_recv() {
                self.handle(message).await?;
            }
            let explained = self
                .command("autogate.explain", json!({ "id": change }))
                .await?;
            if explained["status"] != json!("pending") {
                return Ok(explained);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("change {change} stayed pending")
    }
}

fn init_workspace(root: &Path) -> Result<()> {
    std::fs::create_dir_all(root.join("src"))?;
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )?;
    std::fs::write(root.join("src/lib.rs"), LIB_RS)?;
    std::fs::write(root.join("README.md"), "# demo\n")?;
    let mut options = git2::RepositoryInitOptions::new();
    options.initial_head("feature/demo");
    let repo = git2::Repository::init_opts(root, &options)?;
    let mut index = repo.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    let signature = git2::Signature::new(
        "autogate demo",
        "demo@example.com",
        &git2::Time::new(1_767_225_600, 0),
    )?;
    repo.commit(Some("HEAD"), &signature, &signature, "initial", &tree, &[])?;
    Ok(())
}

fn uri(root: &Path, relative: &str) -> String {
    format!("file://{}", root.join(relative).display())
}

fn insert(uri: &str, version: Option<i32>, line: u32, text: &str) -> Value {
    json!({ "documentChanges": [ { "textDocument": { "uri": uri, "version": version },
        "edits": [ { "range": { "start": { "line": line, "character": 0 }, "end": { "line": line, "character": 0 } }, "newText": text } ] } ] })
}

fn report(step: &str, summary: &Value) {
    out(format!("\n{step}"));
    for c in summary["changes"].as_array().into_iter().flatten() {
        out(format!(
            "   change {} [{}] {} → {} → {}",
            c["id"].as_str().unwrap_or("?"),
            c["files"]
                .as_array()
                .map(|f| f
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            c["level"].as_str().unwrap_or("?"),
            c["decision"].as_str().unwrap_or("?"),
            c["status"].as_str().unwrap_or("?"),
        ));
        for reason in c["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            out(format!("       · {reason}"));
        }
    }
}

pub async fn run(args: &Args) -> Result<ExitCode> {
    let dir = tempfile::Builder::new()
        .prefix("autogate-demo-")
        .tempdir()?;
    let root = dir.path().canonicalize()?;
    init_workspace(&root)?;
    let exe = std::env::current_exe().context("cannot find the autogate binary")?;
    let mut child = Command::new(exe)
        .arg("lsp")
        .current_dir(&root)
        .env_remove("AUTOGATE_ENV")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start `autogate lsp`")?;
    let stdin = child.stdin.take().context("no stdin")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (tx, incoming) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("Content-Length: ") {
                    length = v.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).await.is_err() {
                return;
            }
            if let Ok(value) = serde_json::from_slice::<Value>(&body)
                && tx.send(value).is_err()
            {
                return;
            }
        }
    });
    let mut editor = Editor {
        stdin,
        incoming,
        next_id: 1,
        docs: HashMap::new(),
        answers: vec!["Approve", "Approve", "Reject"],
        prompts: Vec::new(),
    };

    out(format!(
        "autogate demo: a scripted session through the real server (`autogate lsp`)\nworkspace: {} (git, branch feature/demo → development)",
        root.display()
    ));
    let caps = json!({ "window": { "showMessage": { "messageActionItem": {} } }, "workspace": { "applyEdit": true } });
    let init = editor
        .request("initialize", json!({ "processId": null, "rootUri": uri(&root, ""), "capabilities": caps, "workspaceFolders": [ { "uri": uri(&root, ""), "name": "demo" } ] }))
        .await?;
    editor.notify("initialized", json!({})).await?;
    out(format!(
        "server: {} {}",
        init["serverInfo"]["name"].as_str().unwrap_or("?"),
        init["serverInfo"]["version"].as_str().unwrap_or("?")
    ));

    let lib = uri(&root, "src/lib.rs");
    editor.docs.insert(lib.clone(), (LIB_RS.to_owned(), 1));
    editor.notify("textDocument/didOpen", json!({ "textDocument": { "uri": lib, "languageId": "rust", "version": 1, "text": LIB_RS } })).await?;

    let s = editor.command("autogate.proposeEdit", json!({ "edit": insert(&lib, Some(1), 7, "\n/// The number of pairs.\n"), "intent": "document the module", "source": "demo-agent" })).await?;
    report(
        "1. The agent adds a doc comment to src/lib.rs (open in the editor):",
        &s,
    );

    let body = "pub fn count(text: &str) -> usize {\n    parse_config(text).len()\n}\n";
    let s = editor.command("autogate.proposeEdit", json!({ "edit": insert(&lib, Some(2), 9, body), "intent": "add count()", "source": "demo-agent" })).await?;
    report("2. The agent adds a public function:", &s);

    // One proposal, two top-level symbols: each is decided on its own.
    let current = editor.docs.get(&lib).cloned().unwrap_or_default();
    let line_of = |needle: &str| {
        current
            .0
            .lines()
            .position(|l| l.contains(needle))
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    let (doc, body) = (line_of("/// Parses"), line_of("parse_config(text).len()"));
    let edit = json!({ "documentChanges": [ { "textDocument": { "uri": lib, "version": current.1 }, "edits": [
        { "range": { "start": { "line": doc, "character": 0 }, "end": { "line": doc + 1, "character": 0 } },
          "newText": "/// Parses `key=value` lines, one pair per line.\n" },
        { "range": { "start": { "line": body, "character": 0 }, "end": { "line": body, "character": 0 } },
          "newText": "    std::process::Command::new(\"true\").status().ok();\n" } ] } ] });
    let s = editor
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit, "intent": "touch two functions", "source": "demo-agent" }),
        )
        .await?;
    report(
        "3. The agent edits two functions in one proposal: a doc comment, and a process call (split per top-level symbol):",
        &s,
    );
    if let Some(id) = s["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["status"] == json!("pending"))
        .and_then(|c| c["id"].as_str())
    {
        editor
            .person_answers(id, ", applied on top of the other")
            .await?;
    }

    let manifest = uri(&root, "Cargo.toml");
    let s = editor.command("autogate.proposeEdit", json!({ "edit": insert(&manifest, None, 4, "\n[dependencies]\nserde = \"1\"\n"), "intent": "add serde", "source": "demo-agent" })).await?;
    report(
        "4. The agent adds a dependency to Cargo.toml (a protected path):",
        &s,
    );
    if let Some(id) = s["changes"][0]["id"].as_str() {
        editor.person_answers(id, "").await?;
    }

    let patch = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -21,6 +21,7 @@\n \n     #[test]\n+    #[ignore]\n     fn parses_pairs() {\n";
    let current = editor
        .docs
        .get(&lib)
        .map(|d| d.0.clone())
        .unwrap_or_default();
    let line = current
        .lines()
        .position(|l| l.contains("fn parses_pairs"))
        .unwrap_or(0);
    let patch = patch.replace(
        "@@ -21,6 +21,7 @@",
        &format!("@@ -{0},3 +{0},4 @@", line.saturating_sub(1)),
    );
    let s = editor
        .command(
            "autogate.applyPatch",
            json!({ "patch": patch, "intent": "skip a slow test", "source": "demo-agent" }),
        )
        .await;
    match s {
        Ok(s) => {
            report(
                "5. The agent marks a test #[ignore] (verification weakened), as a unified diff:",
                &s,
            );
            if let Some(id) = s["changes"][0]["id"]
                .as_str()
                .filter(|_| s["changes"][0]["status"] == json!("pending"))
            {
                editor.person_answers(id, "").await?;
            }
        }
        Err(e) => out(format!("\n5. The agent's patch was refused: {e}")),
    }

    let secret = format!("AWS_ACCESS_KEY_ID = \"AKIA{}\"\n", "Q3ZWLMNB7XKJ4T2P");
    let s = editor.command("autogate.proposeEdit", json!({ "edit": { "documentChanges": [ { "kind": "create", "uri": uri(&root, "config/prod.toml") }, { "textDocument": { "uri": uri(&root, "config/prod.toml"), "version": null }, "edits": [ { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }, "newText": secret } ] } ] }, "intent": "configure prod" })).await?;
    report(
        "6. The agent writes an AWS access key into a new config file:",
        &s,
    );

    let s = editor.command("autogate.proposeEdit", json!({ "edit": { "documentChanges": [ { "kind": "create", "uri": format!("{}/../../../tmp/evil.sh", uri(&root, "src")) } ] }, "intent": "escape" })).await?;
    report("7. The agent tries to write outside the workspace:", &s);

    let rolled = editor.command("autogate.rollback", json!({})).await?;
    report(
        &format!(
            "8. The person rolls back the latest checkpoint ({}):",
            rolled["checkpoint"].as_str().unwrap_or("?")
        ),
        &rolled,
    );

    let text = editor
        .docs
        .get(&lib)
        .map(|d| d.0.clone())
        .unwrap_or_default();
    out(format!(
        "\nsrc/lib.rs in the editor now has {} lines; Cargo.toml on disk:\n{}",
        text.lines().count(),
        std::fs::read_to_string(root.join("Cargo.toml"))
            .unwrap_or_default()
            .trim_end()
    ));

    editor.request("shutdown", Value::Null).await?;
    editor.notify("exit", Value::Null).await?;
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .context("the server did not exit")??;

    let audit = autogate_vcs::AuditLog::open(&root)?;
    let verify = audit.verify()?;
    out(format!(
        "\naudit trail: {} record(s) in {}, hash chain {}",
        verify.lines,
        audit.path().display(),
        if verify.is_ok() { "intact" } else { "BROKEN" }
    ));
    out(format!("server exited with {status}"));
    if args.keep {
        let kept = dir.keep();
        out(format!("workspace kept at {}", kept.display()));
    }
    Ok(if status.success() && verify.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
