//! Server benchmarks against the real binary over stdio (`cargo bench -p autogate --bench server`).
//!
//! - `initialize`: time to the answer, from a cold process start.
//! - `proposeEdit`: request → `workspace/applyEdit` latency for a 1-line change in a
//!   10,000-line Rust file, against two baselines measured in the same run: a no-op command
//!   round trip (`autogate.setMode`), and a full tree-sitter parse of the same file.
//! - RSS with 200 open 2,000-line documents, against the RSS after `initialize`.
//!
//! Prints medians and p90s; the figures go into docs/benchmarks.md by hand.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

struct Conn {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl Conn {
    fn spawn(root: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_autogate"))
            .arg("lsp")
            .current_dir(root)
            .env(
                "AUTOGATE_LOG",
                std::env::var("AUTOGATE_BENCH_LOG").unwrap_or_else(|_| "error".to_owned()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(
                std::env::var("AUTOGATE_BENCH_STDERR")
                    .ok()
                    .and_then(|p| {
                        std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(p)
                            .ok()
                    })
                    .map_or(Stdio::null(), Stdio::from),
            )
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
            next_id: 1,
        }
    }

    async fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        self.stdin
            .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
            .await
            .unwrap();
        self.stdin.write_all(&body).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stdout.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stdout.read_exact(&mut body).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    async fn request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await;
        id
    }

    /// Reads until the response to `id`, answering anything the server asks with `answer`.
    async fn until_response(&mut self, id: i64) -> Value {
        loop {
            let m = self.recv().await;
            if m["id"] == json!(id) && m.get("method").is_none() {
                return m;
            }
        }
    }

    fn rss_kib(&self) -> u64 {
        let pid = self.child.id().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 9 / 10]),
    )
}

fn rust_file(lines: usize) -> String {
    // Whole functions of 6 lines each, so the file parses without errors.
    let mut text = String::new();
    let mut n = 0;
    while n * 6 < lines {
        text.push_str(&format!(
            "/// Function {n}.\npub fn function_{n}(a: u64, b: u64) -> u64 {{\n    let c = a.wrapping_mul({n}) ^ b;\n    if c % 3 == 0 {{ c / 3 }} else {{ c + {n} }}\n}}\n\n"
        ));
        n += 1;
    }
    text
}

fn initialize_params(root: &std::path::Path) -> Value {
    let uri = format!("file://{}", root.display());
    json!({ "processId": null, "rootUri": uri, "workspaceFolders": [ { "uri": uri, "name": "bench" } ],
            "capabilities": { "workspace": { "applyEdit": true }, "general": { "positionEncodings": ["utf-16"] } } })
}

/// proposeEdit → applyEdit latencies (and no-op round trips) for 1-line changes in `text`,
/// open as `big.rs` in a server started at `root`.
async fn propose_latencies(root: &std::path::Path, text: &str) -> (Vec<Duration>, Vec<Duration>) {
    std::fs::write(root.join("big.rs"), text).unwrap();
    let mut conn = Conn::spawn(root);
    let id = conn.request("initialize", initialize_params(root)).await;
    conn.until_response(id).await;
    conn.send(&json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }))
        .await;
    let uri = format!("file://{}", root.join("big.rs").display());
    conn.send(&json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": { "uri": uri, "languageId": "rust", "version": 1, "text": text } } })).await;
    let mut current = text.to_owned();
    let mut version = 1;
    let mut latency = Vec::new();
    let mut noop = Vec::new();
    for i in 0..60 {
        // Baseline: a no-op command round trip.
        let start = Instant::now();
        let id = conn
            .request(
                "workspace/executeCommand",
                json!({ "command": "autogate.setMode", "arguments": [ { "mode": "auto" } ] }),
            )
            .await;
        conn.until_response(id).await;
        noop.push(start.elapsed());

        // A 1-line body change in the middle of the file (medium in development: auto).
        let line = 5_002 + (i % 2) * 6;
        let edit = json!({ "documentChanges": [ { "textDocument": { "uri": uri, "version": version },
            "edits": [ { "range": { "start": { "line": line, "character": 0 }, "end": { "line": line + 1, "character": 0 } },
                         "newText": format!("    let c = a.wrapping_mul({}) ^ b;\n", 7 + i) } ] } ] });
        let start = Instant::now();
        let id = conn
            .request(
                "workspace/executeCommand",
                json!({ "command": "autogate.proposeEdit", "arguments": [ { "edit": edit } ] }),
            )
            .await;
        let mut answered = false;
        while !answered {
            let m = conn.recv().await;
            if m["method"] == json!("workspace/applyEdit") {
                latency.push(start.elapsed());
                let edits: Vec<tower_lsp_server::ls_types::TextEdit> = serde_json::from_value(
                    m["params"]["edit"]["documentChanges"][0]["edits"].clone(),
                )
                .unwrap();
                current = autogate::lsp::from_proto::apply_text_edits(
                    "big.rs",
                    &current,
                    &edits,
                    autogate_analysis::Encoding::Utf16,
                )
                .unwrap();
                version += 1;
                conn.send(
                    &json!({ "jsonrpc": "2.0", "id": m["id"], "result": { "applied": true } }),
                )
                .await;
                conn.send(&json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": { "textDocument": { "uri": uri, "version": version }, "contentChanges": [ { "text": current } ] } })).await;
            } else if m["id"] == json!(id) && m.get("method").is_none() {
                answered = true;
                assert_eq!(m["result"]["changes"][0]["status"], json!("applied"), "{m}");
            }
        }
    }
    (latency, noop)
}

fn report_latencies(what: &str, latency: Vec<Duration>, noop: Vec<Duration>) {
    let (median, p90) = stats(latency);
    let (noop_median, _) = stats(noop);
    println!("proposeEdit → applyEdit, {what}: median {median:.2} ms, p90 {p90:.2} ms (60 runs)");
    println!("  baseline, no-op command round trip: median {noop_median:.2} ms");
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    println!("{}", common::machine());

    // initialize, cold process each time.
    let mut init = Vec::new();
    for _ in 0..20 {
        let mut conn = Conn::spawn(&root);
        let start = Instant::now();
        let id = conn.request("initialize", initialize_params(&root)).await;
        conn.until_response(id).await;
        init.push(start.elapsed());
    }
    let (median, p90) = stats(init);
    println!("initialize answered: median {median:.2} ms, p90 {p90:.2} ms (20 cold starts)");

    // proposeEdit → applyEdit on a 10,000-line file, in a folder without git (checkpoints in
    // `.autogate/checkpoints/`) and in a git repository (checkpoints as git objects).
    let text = rust_file(10_000);
    let (latency, noop) = propose_latencies(&root, &text).await;
    report_latencies("1-line change in a 10,000-line file, no git", latency, noop);
    let repo = tempfile::tempdir().unwrap();
    let repo_root = repo.path().canonicalize().unwrap();
    std::fs::write(repo_root.join("big.rs"), &text).unwrap();
    for args in [
        &["init", "-q", "-b", "feature"][..],
        &["add", "big.rs"],
        &[
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.invalid",
            "commit",
            "-qm",
            "big",
        ],
    ] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(&repo_root)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }
    let (latency, noop) = propose_latencies(&repo_root, &text).await;
    report_latencies("the same in a git repository", latency, noop);
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_rust::LANGUAGE.into())
        .unwrap();
    let mut parse = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let tree = parser.parse(&text, None).unwrap();
        parse.push(start.elapsed());
        assert!(!tree.root_node().has_error());
    }
    let (parse_median, _) = stats(parse);
    println!(
        "  baseline, one full tree-sitter parse of the file (in process): median {parse_median:.2} ms"
    );

    // RSS with 200 open 2,000-line documents.
    let mut conn = Conn::spawn(&root);
    let id = conn.request("initialize", initialize_params(&root)).await;
    conn.until_response(id).await;
    conn.send(&json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }))
        .await;
    let id = conn
        .request(
            "workspace/executeCommand",
            json!({ "command": "autogate.pending", "arguments": [ {} ] }),
        )
        .await;
    conn.until_response(id).await;
    let idle = conn.rss_kib();
    let doc = rust_file(2_000);
    for i in 0..200 {
        let uri = format!("file://{}/doc{i}.rs", root.display());
        conn.send(&json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": { "uri": uri, "languageId": "rust", "version": 1, "text": doc } } })).await;
    }
    let id = conn
        .request(
            "workspace/executeCommand",
            json!({ "command": "autogate.pending", "arguments": [ {} ] }),
        )
        .await;
    conn.until_response(id).await;
    let loaded = conn.rss_kib();
    println!(
        "RSS with 200 open 2,000-line documents ({:.1} MB of text): {:.1} MB (after initialize: {:.1} MB)",
        (doc.len() * 200) as f64 / 1e6,
        loaded as f64 / 1024.0,
        idle as f64 / 1024.0
    );
}
