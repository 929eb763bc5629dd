//! Workspace index benchmarks (`cargo bench -p autogate --bench index`).
//!
//! Over the Python standard library (without site-packages) and over `~/.cargo/registry/src`:
//! the index build on every core, against the raw tree-sitter parse of the same files on one and
//! on every core, measured in the same run; then a warm restart (the walk, and the index from
//! the store of the last run) against `ctags -R` on the same tree when `ctags` is installed.
//! Then the RSS of the real server with the stdlib indexed. Figures go into docs/benchmarks.md
//! by hand.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;

use autogate::workspace_index::{SourceFile, build_warm, source_files};
use autogate_analysis::languages::Language;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

fn parse_all(files: &[SourceFile], threads: usize) -> Duration {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else {
                        break;
                    };
                    let Ok(text) = std::fs::read_to_string(&file.path) else {
                        continue;
                    };
                    if let Some(lang) = Language::from_path(&file.relative) {
                        std::hint::black_box(lang.parse(&text));
                    }
                }
            });
        }
    });
    start.elapsed()
}

fn corpus(name: &str, root: &Path, skip: Option<&str>) {
    let walk = |root: &Path| -> Vec<SourceFile> {
        source_files(root)
            .into_iter()
            .filter(|f| skip.is_none_or(|s| !f.relative.starts_with(s)))
            .collect()
    };
    let files = walk(root);
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    let lines: usize = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(&f.path).ok())
        .map(|t| t.lines().count())
        .sum();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let mb = bytes as f64 / 1e6;
    println!(
        "{name}: {} files, {lines} lines, {mb:.1} MB ({})",
        files.len(),
        root.display()
    );
    let raw1 = parse_all(&files, 1);
    let raw_n = parse_all(&files, threads);
    let start = Instant::now();
    let (index, _) = build_warm(&files, None, threads);
    let indexed = start.elapsed();
    let tput = |d: Duration| mb / d.as_secs_f64();
    println!(
        "  raw tree-sitter parse, 1 thread:  {:>7.2} s  {:>6.1} MB/s",
        raw1.as_secs_f64(),
        tput(raw1)
    );
    println!(
        "  raw tree-sitter parse, {threads} threads: {:>7.2} s  {:>6.1} MB/s",
        raw_n.as_secs_f64(),
        tput(raw_n)
    );
    println!(
        "  index build, {threads} threads:        {:>7.2} s  {:>6.1} MB/s  ({} files; {:.0}% of the raw parse throughput on {threads} threads)",
        indexed.as_secs_f64(),
        tput(indexed),
        index.len(),
        100.0 * raw_n.as_secs_f64() / indexed.as_secs_f64()
    );
    // A warm restart: walk the tree and take the index from the store of the last run (the
    // median of 5), against `ctags -R` on the same tree.
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path().join("index.bin");
    let (_, stats) = build_warm(&files, Some(&store), threads);
    assert!(stats.stored);
    let size = std::fs::metadata(&store).map(|m| m.len()).unwrap_or(0);
    let mut warm: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let files = walk(root);
            let (index, stats) = build_warm(&files, Some(&store), threads);
            assert_eq!(stats.parsed, 0, "nothing changed");
            std::hint::black_box(index);
            start.elapsed()
        })
        .collect();
    warm.sort();
    println!(
        "  warm restart (walk + store of {:.1} MB), median of 5: {:>7.3} s",
        size as f64 / 1e6,
        warm[2].as_secs_f64()
    );
    let ctags = |out: &Path| {
        std::process::Command::new("ctags")
            .args(["-R", "-f"])
            .arg(out)
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let tags = store_dir.path().join("tags");
    if ctags(&tags) {
        let mut runs: Vec<Duration> = (0..5)
            .map(|_| {
                let start = Instant::now();
                ctags(&tags);
                start.elapsed()
            })
            .collect();
        runs.sort();
        println!(
            "  ctags -R on the same tree, median of 5:           {:>7.3} s",
            runs[2].as_secs_f64()
        );
    } else {
        println!("  (ctags is not installed: no ctags baseline)");
    }
}

fn copy_tree(from: &Path, to: &Path, skip: &str) {
    for file in source_files(from) {
        if file.relative.starts_with(skip) {
            continue;
        }
        let target = to.join(&file.relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file.path, target).unwrap();
    }
}

async fn server_rss_with_index(root: &Path) -> (f64, f64) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
        .arg("lsp")
        .current_dir(root)
        .env("AUTOGATE_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let pid = child.id().unwrap();
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    let uri = format!("file://{}", root.display());
    // `initialized` goes out once the answer to `initialize` is in, as LSP requires.
    for message in [
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "processId": null, "rootUri": uri, "capabilities": {} } }),
    ] {
        let body = serde_json::to_vec(&message).unwrap();
        stdin
            .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
            .await
            .unwrap();
        stdin.write_all(&body).await.unwrap();
    }
    stdin.flush().await.unwrap();
    let mut after_init = 0.0;
    loop {
        let mut length = 0;
        loop {
            let mut line = String::new();
            stdout.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        stdout.read_exact(&mut body).await.unwrap();
        let m: Value = serde_json::from_slice(&body).unwrap();
        if m["id"] == json!(1) {
            after_init = rss();
            let body = serde_json::to_vec(
                &json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }),
            )
            .unwrap();
            stdin
                .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
                .await
                .unwrap();
            stdin.write_all(&body).await.unwrap();
            stdin.flush().await.unwrap();
        }
        if m["params"]["message"]
            .as_str()
            .is_some_and(|t| t.contains("workspace index built"))
        {
            println!("  {}", m["params"]["message"].as_str().unwrap_or_default());
            return (after_init, rss());
        }
    }
}

#[tokio::main]
async fn main() {
    println!("{}", common::machine());
    let stdlib = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig;print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap();
    corpus("Python stdlib", &stdlib, Some("site-packages/"));
    let registry = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"))
        .join("registry/src");
    // `AUTOGATE_BENCH_STDLIB_ONLY=1` skips the registry (minutes on 2 cores).
    if registry.is_dir() && std::env::var_os("AUTOGATE_BENCH_STDLIB_ONLY").is_none() {
        corpus("cargo registry", &registry, None);
    }
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&stdlib, copy.path(), "site-packages/");
    let (idle, indexed) = server_rss_with_index(&copy.path().canonicalize().unwrap()).await;
    println!(
        "server RSS with the Python stdlib indexed: {indexed:.1} MB (after initialize: {idle:.1} MB)"
    );
}
