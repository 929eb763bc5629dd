//! A typed LSP test client over real Content-Length framing (`tokio::io::duplex`).
//!
//! It behaves like a small editor: it keeps its own copy of open documents, applies
//! `workspace/applyEdit` to them (checking versions, as VS Code and Neovim do) and sends the
//! resulting `didChange`. Diagnostics and messages are recorded. When dropped, it asserts that
//! every other server message was consumed by the test.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// How the client answers `workspace/applyEdit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnApplyEdit {
    Apply,
    Refuse,
    /// Never answer (a hung client).
    Ignore,
    /// Keep the request for the test, which answers it with `reply` when it wants.
    Hold,
}

pub struct TestClient {
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    incoming: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    unconsumed: VecDeque<Value>,
    pub root: PathBuf,
    pub docs: HashMap<String, (String, i32)>,
    pub diagnostics: HashMap<String, Vec<Value>>,
    pub messages: Vec<String>,
    pub progress: Vec<Value>,
    pub logs: Vec<String>,
    pub saved: Vec<String>,
    pub registrations: Vec<Value>,
    pub on_apply_edit: OnApplyEdit,
    pub apply_edits_seen: usize,
    pub utf8: bool,
    pub initialize_result: Value,
    _server: Option<tokio::task::JoinHandle<()>>,
}

/// Capabilities of VS Code / Neovim for what matters here: message actions and showDocument.
pub fn full_caps() -> Value {
    json!({
        "window": { "showMessage": { "messageActionItem": { "additionalPropertiesSupport": false } },
                    "showDocument": { "support": true }, "workDoneProgress": true },
        "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true, "resourceOperations": ["create", "rename", "delete"], "failureHandling": "abort" } },
        "general": { "positionEncodings": ["utf-16"] }
    })
}

/// Exactly what Helix 25.07 advertises for the parts autogate uses: no message actions.
pub fn helix_caps() -> Value {
    json!({
        "window": { "workDoneProgress": true, "showDocument": { "support": true } },
        "workspace": { "applyEdit": true, "executeCommand": { "dynamicRegistration": false },
                       "workspaceEdit": { "documentChanges": true, "resourceOperations": ["create", "rename", "delete"], "failureHandling": "abort", "normalizesLineEndings": false } },
        "textDocument": { "codeAction": { "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["", "quickfix", "refactor", "source"] } }, "isPreferredSupport": true, "disabledSupport": true, "dataSupport": true, "resolveSupport": { "properties": ["edit", "command"] } },
                          "publishDiagnostics": { "versionSupport": true } },
        "general": { "positionEncodings": ["utf-8", "utf-32", "utf-16"] }
    })
}

pub fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

impl TestClient {
    /// Starts the server in-process on a duplex pipe and initializes it.
    pub async fn start(root: &Path, caps: Value, options: Value) -> Self {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let server = tokio::spawn(autogate::lsp::serve(server_read, server_write));
        let (client_read, client_write) = tokio::io::split(client_side);
        Self::connect(
            root,
            Box::new(client_read),
            Box::new(client_write),
            Some(server),
            caps,
            options,
        )
        .await
    }

    pub async fn connect(
        root: &Path,
        reader: Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        writer: Box<dyn AsyncWrite + Unpin + Send>,
        server: Option<tokio::task::JoinHandle<()>>,
        caps: Value,
        options: Value,
    ) -> Self {
        let (tx, incoming) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(reader);
            loop {
                let mut length = None;
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
                        length = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("every message has a Content-Length")];
                if reader.read_exact(&mut body).await.is_err() {
                    return;
                }
                let value: Value =
                    serde_json::from_slice(&body).expect("the server sends valid JSON");
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        let utf8 = caps["general"]["positionEncodings"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("utf-8")));
        let mut client = Self {
            writer,
            incoming,
            next_id: 1,
            unconsumed: VecDeque::new(),
            root: root.to_path_buf(),
            docs: HashMap::new(),
            diagnostics: HashMap::new(),
            messages: Vec::new(),
            progress: Vec::new(),
            logs: Vec::new(),
            saved: Vec::new(),
            registrations: Vec::new(),
            on_apply_edit: OnApplyEdit::Apply,
            apply_edits_seen: 0,
            utf8,
            initialize_result: Value::Null,
            _server: server,
        };
        let result = client
            .request(
                "initialize",
                json!({ "processId": null, "rootUri": uri_of(root), "capabilities": caps, "initializationOptions": options,
                        "workspaceFolders": [ { "uri": uri_of(root), "name": "ws" } ] }),
            )
            .await
            .expect("initialize succeeds");
        client.initialize_result = result;
        client.notify("initialized", json!({})).await;
        client
    }

    pub async fn send(&mut self, message: Value) {
        let body = serde_json::to_vec(&message).unwrap();
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        self.writer.write_all(header.as_bytes()).await.unwrap();
        self.writer.write_all(&body).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    /// Sends raw bytes as one framed message (for malformed-JSON tests).
    pub async fn send_raw(&mut self, body: &[u8]) {
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        self.writer.write_all(header.as_bytes()).await.unwrap();
        self.writer.write_all(body).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }))
            .await;
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await;
        id
    }

    /// Sends a request and waits for its response, handling what an editor handles meanwhile.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.send_request(method, params).await;
        self.response(id).await
    }

    pub async fn response(&mut self, id: i64) -> Result<Value, Value> {
        if let Some(pos) = self
            .unconsumed
            .iter()
            .position(|m| m["id"] == json!(id) && m.get("method").is_none())
        {
            let message = self.unconsumed.remove(pos).unwrap();
            return into_result(message);
        }
        loop {
            let message = self.next_raw().await;
            if message["id"] == json!(id) && message.get("method").is_none() {
                return into_result(message);
            }
            self.handle_or_keep(message).await;
        }
    }

    pub async fn command(&mut self, command: &str, args: Value) -> Result<Value, Value> {
        self.request(
            "workspace/executeCommand",
            json!({ "command": command, "arguments": [args] }),
        )
        .await
    }

    async fn next_raw(&mut self) -> Value {
        match tokio::time::timeout(Duration::from_secs(20), self.incoming.recv()).await {
            Ok(Some(message)) => message,
            Ok(None) => panic!("the server closed the connection"),
            Err(_) => panic!(
                "no message from the server within 20 s; unconsumed: {:#?}",
                self.unconsumed
            ),
        }
    }

    /// Handles what an editor handles by itself; keeps the rest for the test.
    async fn handle_or_keep(&mut self, message: Value) {
        match message["method"].as_str() {
            Some("workspace/applyEdit") => {
                self.apply_edits_seen += 1;
                match self.on_apply_edit {
                    OnApplyEdit::Apply => {
                        let applied = self.apply_workspace_edit(&message["params"]["edit"]).await;
                        let id = message["id"].clone();
                        let result = match &applied {
                            Ok(()) => json!({ "applied": true }),
                            Err(why) => json!({ "applied": false, "failureReason": why }),
                        };
                        self.send(json!({ "jsonrpc": "2.0", "id": id, "result": result }))
                            .await;
                    }
                    OnApplyEdit::Refuse => {
                        let id = message["id"].clone();
                        self.send(json!({ "jsonrpc": "2.0", "id": id, "result": { "applied": false, "failureReason": "refused by the test" } })).await;
                    }
                    OnApplyEdit::Ignore => {}
                    OnApplyEdit::Hold => self.unconsumed.push_back(message),
                }
            }
            Some("textDocument/publishDiagnostics") => {
                let uri = message["params"]["uri"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let list = message["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                self.diagnostics.insert(uri, list);
            }
            Some("window/showMessage") => {
                self.messages.push(
                    message["params"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            Some("window/logMessage") => {
                self.logs.push(
                    message["params"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            Some("window/workDoneProgress/create") => {
                let id = message["id"].clone();
                self.send(json!({ "jsonrpc": "2.0", "id": id, "result": null }))
                    .await;
            }
            Some("$/progress") => self.progress.push(message["params"].clone()),
            Some("autogate/saveDocuments") => {
                // As the VS Code and Neovim clients do: save the named buffers.
                let id = message["id"].clone();
                for uri in message["params"]["uris"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    let uri = uri.as_str().unwrap_or_default().to_owned();
                    if let Some((text, _)) = self.docs.get(&uri) {
                        std::fs::write(uri.trim_start_matches("file://"), text).unwrap();
                    }
                    self.saved.push(uri);
                }
                self.send(json!({ "jsonrpc": "2.0", "id": id, "result": {} }))
                    .await;
            }
            Some("client/registerCapability") => {
                let id = message["id"].clone();
                self.registrations.push(message["params"].clone());
                self.send(json!({ "jsonrpc": "2.0", "id": id, "result": null }))
                    .await;
            }
            Some("window/showDocument") => {
                let id = message["id"].clone();
                self.send(json!({ "jsonrpc": "2.0", "id": id, "result": { "success": true } }))
                    .await;
                self.unconsumed.push_back(message);
            }
            _ => self.unconsumed.push_back(message),
        }
    }

    /// Waits for a server request or notification named `method`; returns the whole message.
    /// Requests an editor answers by itself (`showDocument`) are answered first.
    pub async fn expect(&mut self, method: &str) -> Value {
        loop {
            if let Some(pos) = self
                .unconsumed
                .iter()
                .position(|m| m["method"] == json!(method))
            {
                return self.unconsumed.remove(pos).unwrap();
            }
            let message = self.next_raw().await;
            self.handle_or_keep(message).await;
        }
    }

    /// Waits for a response with a null id (the answer to a message the server could not parse).
    pub async fn expect_response_to_null_id(&mut self) -> Value {
        let is_it = |m: &Value| m.get("method").is_none() && m["id"].is_null();
        if let Some(pos) = self.unconsumed.iter().position(is_it) {
            return self.unconsumed.remove(pos).unwrap();
        }
        loop {
            let message = self.next_raw().await;
            if is_it(&message) {
                return message;
            }
            self.handle_or_keep(message).await;
        }
    }

    /// Handles messages until a `window/showMessage` containing `text` arrives; returns it.
    pub async fn wait_message(&mut self, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(m) = self.messages.iter().find(|m| m.contains(text)) {
                return m.clone();
            }
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(message)) => self.handle_or_keep(message).await,
                _ => panic!(
                    "no message containing `{text}`; messages: {:#?}",
                    self.messages
                ),
            }
        }
    }

    /// Handles messages until a `window/logMessage` containing `text` arrives.
    pub async fn wait_log(&mut self, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(m) = self.logs.iter().find(|m| m.contains(text)) {
                return m.clone();
            }
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(message)) => self.handle_or_keep(message).await,
                _ => panic!("no log message containing `{text}`; logs: {:#?}", self.logs),
            }
        }
    }

    /// Reads and handles messages for a while (to let background work settle).
    pub async fn settle(&mut self, ms: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        while let Ok(Some(message)) = tokio::time::timeout_at(deadline, self.incoming.recv()).await
        {
            self.handle_or_keep(message).await;
        }
    }

    pub async fn reply(&mut self, request: &Value, result: Value) {
        self.send(json!({ "jsonrpc": "2.0", "id": request["id"].clone(), "result": result }))
            .await;
    }

    pub async fn reply_error(&mut self, request: &Value, code: i64, message: &str) {
        self.send(json!({ "jsonrpc": "2.0", "id": request["id"].clone(), "error": { "code": code, "message": message } })).await;
    }

    pub fn uri(&self, relative: &str) -> String {
        uri_of(&self.root.join(relative))
    }

    pub async fn open(&mut self, relative: &str, text: &str) {
        let uri = self.uri(relative);
        self.docs.insert(uri.clone(), (text.to_owned(), 1));
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "plaintext", "version": 1, "text": text } }),
        )
        .await;
    }

    /// Replaces a whole open document, as an editor would after typing.
    pub async fn change(&mut self, relative: &str, text: &str) {
        let uri = self.uri(relative);
        let entry = self.docs.get_mut(&uri).expect("document is open");
        entry.0 = text.to_owned();
        entry.1 += 1;
        let version = entry.1;
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [ { "text": text } ] }),
        )
        .await;
    }

    /// Sends an incremental change (an insertion at a position) and mirrors it locally.
    pub async fn insert(&mut self, relative: &str, line: u32, character: u32, text: &str) {
        let uri = self.uri(relative);
        let encoding = if self.utf8 {
            autogate_analysis::Encoding::Utf8
        } else {
            autogate_analysis::Encoding::Utf16
        };
        let entry = self.docs.get_mut(&uri).expect("document is open");
        let mut doc = autogate_analysis::TextDocument::new(&entry.0, entry.1, "");
        doc.apply_change(Some(((line, character), (line, character))), text, encoding)
            .unwrap();
        entry.0 = doc.text();
        entry.1 += 1;
        let version = entry.1;
        let range = json!({ "start": { "line": line, "character": character }, "end": { "line": line, "character": character } });
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [ { "range": range, "text": text } ] }),
        )
        .await;
    }

    pub fn text(&self, relative: &str) -> Option<String> {
        self.docs.get(&self.uri(relative)).map(|(t, _)| t.clone())
    }

    pub fn version(&self, relative: &str) -> Option<i32> {
        self.docs.get(&self.uri(relative)).map(|(_, v)| *v)
    }

    /// Applies an edit to the client's documents like an editor with failureHandling abort.
    async fn apply_workspace_edit(&mut self, edit: &Value) -> Result<(), String> {
        let encoding = if self.utf8 {
            autogate_analysis::Encoding::Utf8
        } else {
            autogate_analysis::Encoding::Utf16
        };
        let mut updated: Vec<(String, String, i32)> = Vec::new();
        for change in edit["documentChanges"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let uri = change["textDocument"]["uri"]
                .as_str()
                .ok_or("edit without uri")?
                .to_owned();
            let Some((text, version)) = self.docs.get(&uri).cloned() else {
                return Err(format!("{uri} is not open"));
            };
            if let Some(wanted) = change["textDocument"]["version"].as_i64()
                && wanted != i64::from(version)
            {
                return Err(format!(
                    "version mismatch for {uri}: edit for {wanted}, buffer at {version}"
                ));
            }
            let edits: Vec<tower_lsp_server::ls_types::TextEdit> =
                serde_json::from_value(change["edits"].clone()).map_err(|e| e.to_string())?;
            let new_text =
                autogate::lsp::from_proto::apply_text_edits(&uri, &text, &edits, encoding)
                    .map_err(|e| e.0)?;
            updated.push((uri, new_text, version + 1));
        }
        for (uri, text, version) in updated {
            self.docs.insert(uri.clone(), (text.clone(), version));
            self.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [ { "text": text } ] }),
            )
            .await;
        }
        Ok(())
    }

    /// Approves change `id` as the person does: with the content hash the pending list shows.
    pub async fn approve(&mut self, id: &str) -> Result<Value, Value> {
        let pending = self.command("autogate.pending", json!({})).await?;
        let hash = pending["changes"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == json!(id)))
            .map(|c| c["hash"].clone())
            .unwrap_or(Value::Null);
        self.command("autogate.approve", json!({ "id": id, "hash": hash }))
            .await
    }

    pub async fn shutdown(mut self) {
        let result = self.request("shutdown", Value::Null).await;
        assert_eq!(result, Ok(Value::Null));
        self.notify("exit", Value::Null).await;
    }
}

fn into_result(message: Value) -> Result<Value, Value> {
    match message.get("error") {
        Some(error) => Err(error.clone()),
        None => Ok(message["result"].clone()),
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        while let Ok(message) = self.incoming.try_recv() {
            match message["method"].as_str() {
                Some(
                    "window/logMessage" | "textDocument/publishDiagnostics" | "window/showMessage",
                ) => {}
                _ => self.unconsumed.push_back(message),
            }
        }
        assert!(
            self.unconsumed.is_empty(),
            "server messages the test did not consume: {:#?}",
            self.unconsumed
        );
    }
}

/// A temp workspace (not a git repository, so: development) with some files.
pub fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    dir
}

/// The canonical root of a temp dir (macOS and some Linux setups symlink /tmp).
pub fn root(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().canonicalize().unwrap()
}

pub fn read(root: &Path, relative: &str) -> Option<String> {
    std::fs::read_to_string(root.join(relative)).ok()
}

/// A one-edit WorkspaceEdit replacing a range in `uri`.
pub fn edit(uri: &str, version: Option<i32>, range: [u32; 4], text: &str) -> Value {
    let [sl, sc, el, ec] = range;
    json!({ "documentChanges": [ { "textDocument": { "uri": uri, "version": version },
        "edits": [ { "range": { "start": { "line": sl, "character": sc }, "end": { "line": el, "character": ec } }, "newText": text } ] } ] })
}

/// Runs git with a fixed identity in `dir` (hermetic: no global config, no signing).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A temp git repository on branch `feature/x` (development) with `files` committed.
pub fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = workspace(files);
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "initial"]);
    git(dir.path(), &["checkout", "-q", "-b", "feature/x"]);
    dir
}

/// Runs the real `autogate` binary with `args` in `dir` (no `AUTOGATE_ENV` from outside):
/// `(exit code, stdout, stderr)`.
pub fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
        .args(args)
        .current_dir(dir)
        .env_remove("AUTOGATE_ENV")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `autogate approve|reject ID` at a terminal (a pseudo-terminal made by `script`),
/// answering `answer`.
pub fn at_terminal(root: &Path, verb: &str, id: &str, answer: &str) -> (i32, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let command = format!("{} {verb} {id}", env!("CARGO_BIN_EXE_autogate"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
