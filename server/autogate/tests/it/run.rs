//! `autogate.run` over the real protocol: built-ins, LLM tasks against a real HTTP server on
//! 127.0.0.1, progress, cancellation, and clear errors.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::support::{TestClient, full_caps, helix_caps, read, root, workspace};
use serde_json::{Value, json};

/// Requests the fake server received, as JSON.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<Value>>>;

/// An OpenAI-compatible server on 127.0.0.1 that answers every request with `reply` after `delay`.
async fn llm_server(reply: String, delay: Duration) -> (String, tokio::task::JoinHandle<()>) {
    let (url, task, _) = recording_llm_server(reply, delay).await;
    (url, task)
}

/// The same, keeping every request body it received.
async fn recording_llm_server(
    reply: String,
    delay: Duration,
) -> (String, tokio::task::JoinHandle<()>, Seen) {
    let seen: Seen = Default::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let reply = reply.clone();
        let log = log.clone();
        async move {
            log.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            tokio::time::sleep(delay).await;
            let body = json!({ "id": "x", "object": "chat.completion", "model": "test-model",
                "choices": [ { "index": 0, "message": { "role": "assistant", "content": reply }, "finish_reason": "stop" } ] });
            axum::response::Response::builder()
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/v1"), task, seen)
}

fn policy_with(base_url: &str) -> String {
    format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{base_url}\"\nmodel = \"test-model\"\napi_key_env = \"AUTOGATE_TEST_UNSET_KEY\"\ntimeout_secs = 10\n"
    )
}

#[tokio::test]
async fn tidy_runs_as_a_gated_low_risk_change_with_progress() {
    let dir = workspace(&[("src/lib.rs", "fn a() {}   \n\n\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    client.open("src/lib.rs", "fn a() {}   \n\n\n").await;
    let uri = client.uri("src/lib.rs");
    let started = client
        .command("autogate.run", json!({ "task": "tidy", "uri": uri }))
        .await
        .unwrap();
    assert!(
        started["task_id"]
            .as_str()
            .unwrap()
            .starts_with("autogate-run-")
    );
    let headline = client.wait_message("applied").await;
    assert_eq!(headline, "autogate: 1 applied");
    assert_eq!(client.text("src/lib.rs").unwrap(), "fn a() {}\n");
    client.settle(100).await;
    let kinds: Vec<&str> = client
        .progress
        .iter()
        .map(|p| p["value"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["begin", "end"], "{:#?}", client.progress);
    assert_eq!(
        client.progress[1]["value"]["message"],
        json!("autogate: 1 applied")
    );
    // The code actions offer the built-ins.
    let actions = client.request("textDocument/codeAction", json!({ "textDocument": { "uri": uri }, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }, "context": { "diagnostics": [] } })).await.unwrap();
    assert!(actions.to_string().contains("autogate: document this file"));
    client.shutdown().await;
}

#[tokio::test]
async fn without_a_provider_a_free_text_task_lists_the_built_ins() {
    let dir = workspace(&[("a.py", "x = 1\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let err = client
        .command("autogate.run", json!({ "task": "make it faster" }))
        .await
        .unwrap_err();
    let message = err["message"].as_str().unwrap();
    for word in ["format", "document", "rename", "tidy", "[llm]"] {
        assert!(message.contains(word), "{message}");
    }
    let err = client
        .command("autogate.run", json!({ "task": "tidy" }))
        .await
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("give its `uri`"),
        "{err}"
    );
    client.shutdown().await;
}

#[tokio::test]
async fn an_llm_task_becomes_a_gated_proposal() {
    let reply = "Here you go:\n\na.py\n<<<<<<< SEARCH\nx = scale(1)\n=======\nx = scale(2)\n>>>>>>> REPLACE\n".to_owned();
    let (base_url, server, seen) = recording_llm_server(reply, Duration::ZERO).await;
    let dir = workspace(&[
        ("a.py", "from util import scale\nx = scale(1)\n"),
        ("util.py", "def scale(v):\n    return v * 10\n"),
        (".autogate.toml", &policy_with(&base_url)),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.wait_log("workspace index built").await;
    let uri = client.uri("a.py");
    client
        .command("autogate.run", json!({ "task": "use 2", "uri": uri }))
        .await
        .unwrap();
    client.wait_message("applied").await;
    assert_eq!(
        read(&root, "a.py").unwrap(),
        "from util import scale\nx = scale(2)\n"
    );
    // The context: the file, the definition of `scale` from the index, and the policy's limits.
    let request = seen.lock().unwrap()[0].to_string();
    assert!(
        request.contains("def scale(v)"),
        "the related definition is sent: {request}"
    );
    assert!(
        request.contains(
            "in the development environment, changes up to `medium` risk apply on their own"
        ),
        "{request}"
    );
    server.abort();
    client.shutdown().await;
}

#[tokio::test]
async fn garbage_from_the_model_is_a_clear_error_and_writes_nothing() {
    let (base_url, server) = llm_server(
        "I think you should refactor everything.".to_owned(),
        Duration::ZERO,
    )
    .await;
    let dir = workspace(&[
        ("a.py", "x = 1\n"),
        (".autogate.toml", &policy_with(&base_url)),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("a.py");
    client
        .command("autogate.run", json!({ "task": "set x to 2", "uri": uri }))
        .await
        .unwrap();
    let message = client.wait_message("nothing was applied").await;
    assert!(message.starts_with("autogate: "), "{message}");
    assert_eq!(read(&root, "a.py").unwrap(), "x = 1\n");
    server.abort();
    client.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_task_applies_nothing() {
    let reply = "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n".to_owned();
    let (base_url, server) = llm_server(reply, Duration::from_secs(3)).await;
    let dir = workspace(&[
        ("a.py", "x = 1\n"),
        (".autogate.toml", &policy_with(&base_url)),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let uri = client.uri("a.py");
    let started = client
        .command("autogate.run", json!({ "task": "set x to 2", "uri": uri }))
        .await
        .unwrap();
    let token = started["task_id"].clone();
    client.settle(200).await;
    assert_eq!(client.progress[0]["value"]["kind"], json!("begin"));
    assert_eq!(client.progress[0]["value"]["cancellable"], json!(true));
    client
        .notify("window/workDoneProgress/cancel", json!({ "token": token }))
        .await;
    client.wait_message("cancelled").await;
    client.settle(3500).await; // past the model's answer
    assert_eq!(read(&root, "a.py").unwrap(), "x = 1\n");
    assert_eq!(client.apply_edits_seen, 0);
    server.abort();
    client.shutdown().await;
}

/// `autogate.run` against a real llama.cpp server (Gemma 3 270M), when AUTOGATE_LLAMA_TEST=1
/// (`.ci/run` sets it). The tiny base model writes no valid edit blocks: the reply must become a
/// clear error with nothing applied, or a proposal that went through the gate.
#[tokio::test]
async fn a_real_llama_cpp_server_gives_a_clear_error_or_a_gated_proposal() {
    if std::env::var("AUTOGATE_LLAMA_TEST").as_deref() != Ok("1") {
        return;
    }
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var("AUTOGATE_LLAMA_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| manifest.join("../../.venv-llm/bin/python"));
    let mut server = tokio::process::Command::new(python)
        .arg(manifest.join("../llm/tests/llama_server.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(server.stdout.take().unwrap()));
    let base_url = loop {
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Some(url) = line.strip_prefix("READY ") {
            break url.to_owned();
        }
    };
    let dir = workspace(&[
        ("a.py", "x = 1\n"),
        (".autogate.toml", &policy_with(&base_url)),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("a.py");
    client
        .command("autogate.run", json!({ "task": "set x to 2", "uri": uri }))
        .await
        .unwrap();
    let message = client.wait_message("autogate: ").await;
    if read(&root, "a.py").unwrap() == "x = 1\n" {
        assert!(
            message.contains("nothing was applied")
                || message.contains("waiting for approval")
                || message.contains("denied"),
            "{message}"
        );
    } else {
        assert!(
            message.contains("applied"),
            "only a gated proposal may change the file: {message}"
        );
    }
    client.settle(100).await;
    client.shutdown().await;
    let _ = server.kill().await;
}
