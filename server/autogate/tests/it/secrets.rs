//! Secrets through the server's real protocol, as a hostile agent would send them: detected in
//! every file kind (critical, denied, never written), and redacted on every way out: the
//! Summary, `autogate.explain`, `autogate.diff` and the diff document it shows, the audit
//! trail, and the logs at every level (`AUTOGATE_LOG=trace` prints raw frames).
#![allow(clippy::unwrap_used)]

use std::process::Stdio;

use crate::support::{TestClient, helix_caps, read, root, workspace};
use serde_json::{Value, json};

const URL_PASSWORD: &str = "Pr0dPassw0rd";
const HEX_KEY: &str = "3f9a0c7be21d4e58a6b9f0c3d7e2a1b48c5d6e7f90a1b2c3d4e5f6a7b8c9d0e1";
const ENV_PASSWORD: &str = "S3cr3t!Pass@w0rd";

/// Files of every kind, each adding one secret.
fn secret_files() -> Vec<(&'static str, String)> {
    vec![
        (
            ".env.production",
            format!("DATABASE_URL=postgres://u:{URL_PASSWORD}@db.internal/app"),
        ),
        ("config/app.yaml", format!("hmac_key: {HEX_KEY}")),
        ("app/settings.py", format!("SIGNING_KEY = \"{HEX_KEY}\"")),
        (
            "src/keys.rs",
            format!("pub const HMAC_KEY: &str = \"{HEX_KEY}\";"),
        ),
        (
            "web/config.js",
            format!("export const signingKey = \"{HEX_KEY}\";"),
        ),
        (
            "conf/settings.json",
            format!("{{\"client_secret\": \"{HEX_KEY}\"}}"),
        ),
        ("conf/app.toml", format!("signing_key = \"{HEX_KEY}\"")),
        ("conf/app.ini", format!("db_password = {ENV_PASSWORD}")),
        (
            "docs/setup.md",
            format!("Connect with `redis://default:{URL_PASSWORD}@cache.internal:6379`."),
        ),
    ]
}

fn create(path: &str, text: &str) -> String {
    format!(
        "diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+{text}\n"
    )
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [URL_PASSWORD, HEX_KEY, ENV_PASSWORD] {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
}

#[tokio::test]
async fn secrets_in_every_file_kind_are_critical_and_never_leave_through_answers_or_audit() {
    let dir = workspace(&[("README.md", "x\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let files = secret_files();
    let patch: String = files.iter().map(|(p, t)| create(p, t)).collect();
    let intent = format!("wire the database postgres://u:{URL_PASSWORD}@db.internal/app");
    let summary = client
        .command(
            "autogate.applyPatch",
            json!({ "patch": patch, "intent": intent, "source": format!("agent hmac_key={HEX_KEY}") }),
        )
        .await
        .unwrap();
    assert_no_secret("the Summary", &summary.to_string());
    for (path, _) in &files {
        let change = summary["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["files"][0] == json!(path))
            .unwrap_or_else(|| panic!("no change for {path}: {summary:#}"));
        assert_eq!(change["level"], json!("critical"), "{path}: {change:#}");
        assert_eq!(change["decision"], json!("deny"), "{path}: {change:#}");
        assert!(
            change["reasons"].to_string().contains("secret added"),
            "{path}: {change:#}"
        );
        assert!(read(&root, path).is_none(), "{path} was written");

        let id = change["id"].as_str().unwrap();
        let explained = client
            .command("autogate.explain", json!({ "id": id }))
            .await
            .unwrap();
        assert_no_secret("autogate.explain", &explained.to_string());
        let diff = explained["diff"].as_str().unwrap();
        assert!(
            diff.contains("+++ b/"),
            "{path}: the diff is still a diff: {diff}"
        );
        assert!(diff.contains("[REDACTED"), "{path}: {diff}");

        let shown = client
            .command("autogate.diff", json!({ "id": id }))
            .await
            .unwrap();
        assert_no_secret("autogate.diff", &shown.to_string());
        if shown["shown"] == json!(true) {
            let request = client.expect("window/showDocument").await;
            let uri = request["params"]["uri"].as_str().unwrap();
            let document = std::fs::read_to_string(uri.trim_start_matches("file://")).unwrap();
            assert_no_secret("the shown diff document", &document);
        }
    }
    client.settle(200).await;
    client.shutdown().await;
    let audit = std::fs::read_to_string(root.join(".autogate/audit.jsonl")).unwrap_or_default();
    assert!(!audit.is_empty(), "denied changes are audited");
    assert_no_secret("the audit trail", &audit);
}

#[tokio::test]
async fn explain_and_diff_of_a_denied_provider_key_mask_it() {
    let key = "AKIAQ3EGRTWJ7ZKXPL4M";
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq8Zr2LmX9vT4kW7p\n-----END RSA PRIVATE KEY-----";
    let dir = workspace(&[("README.md", "x\n")]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let patch = format!(
        "{}diff --git a/deploy/key.pem b/deploy/key.pem\nnew file mode 100644\n--- /dev/null\n+++ b/deploy/key.pem\n@@ -0,0 +1,3 @@\n+{}\n",
        create("deploy/aws.txt", &format!("aws_access_key_id = {key}")),
        pem.replace('\n', "\n+")
    );
    let summary = client
        .command("autogate.applyPatch", json!({ "patch": patch }))
        .await
        .unwrap();
    for change in summary["changes"].as_array().unwrap() {
        assert_eq!(change["decision"], json!("deny"), "{change:#}");
        let id = change["id"].as_str().unwrap();
        let explained = client
            .command("autogate.explain", json!({ "id": id }))
            .await
            .unwrap()
            .to_string();
        let shown = client
            .command("autogate.diff", json!({ "id": id }))
            .await
            .unwrap();
        if shown["shown"] == json!(true) {
            client.expect("window/showDocument").await;
        }
        for text in [explained, shown.to_string()] {
            assert!(!text.contains(key), "{text}");
            assert!(!text.contains("MIIEowIBAAKCAQEAq8Zr2LmX9vT4kW7p"), "{text}");
            assert!(text.contains("[REDACTED:"), "{text}");
        }
    }
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn trace_logs_of_frames_carrying_secrets_are_redacted() {
    let dir = workspace(&[("README.md", "x\n")]);
    let root = root(&dir);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
        .arg("lsp")
        .current_dir(&root)
        .env("AUTOGATE_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Read stderr as it comes: trace output would fill the pipe and stall the server.
    let logs = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let mut client = TestClient::connect(
        &root,
        Box::new(stdout),
        Box::new(stdin),
        None,
        helix_caps(),
        Value::Null,
    )
    .await;
    let env_text = format!("DB_PASSWORD={ENV_PASSWORD}\nHMAC_KEY={HEX_KEY}\n");
    client.open(".env", &env_text).await;
    let patch: String = secret_files().iter().map(|(p, t)| create(p, t)).collect();
    let summary = client
        .command("autogate.applyPatch", json!({ "patch": patch }))
        .await
        .unwrap();
    assert!(!summary["changes"].as_array().unwrap().is_empty());
    client.settle(200).await;
    client.shutdown().await;
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
    let logs = logs.await.unwrap();
    assert!(
        logs.contains("TRACE") && logs.contains("autogate.applyPatch"),
        "frames are traced: {logs}"
    );
    assert_no_secret("the trace logs", &logs);
}

/// An OpenAI-compatible server on 127.0.0.1 that keeps every request body and answers with
/// text that holds no edit.
async fn recording_llm_server() -> (
    String,
    tokio::task::JoinHandle<()>,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let log = log.clone();
        async move {
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let body = json!({ "id": "x", "object": "chat.completion", "model": "test-model",
                "choices": [ { "index": 0, "message": { "role": "assistant", "content": "No edit." }, "finish_reason": "stop" } ] });
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

#[tokio::test]
async fn llm_requests_carry_no_url_password_or_key_named_value() {
    let (base_url, server, seen) = recording_llm_server().await;
    let policy = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{base_url}\"\nmodel = \"test-model\"\napi_key_env = \"AUTOGATE_TEST_UNSET_KEY\"\ntimeout_secs = 10\n"
    );
    let settings = format!(
        "DATABASE_URL = \"postgres://u:{URL_PASSWORD}@db.internal/app\"\nSIGNING_KEY = \"{HEX_KEY}\"\nhmac_key = {HEX_KEY}\nDEBUG = False\n"
    );
    let dir = workspace(&[("settings.py", &settings), (".autogate.toml", &policy)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("settings.py");
    client
        .command(
            "autogate.run",
            json!({ "task": format!("set DEBUG to True; connect to redis://app:{URL_PASSWORD}@cache.internal, signing_key={HEX_KEY}"), "uri": uri }),
        )
        .await
        .unwrap();
    client.wait_message("nothing was applied").await;
    let requests = seen.lock().unwrap().clone();
    assert!(!requests.is_empty(), "the provider was called");
    for request in &requests {
        assert!(
            request.contains("DEBUG = False"),
            "the file is sent: {request}"
        );
        assert_no_secret("an LLM request", request);
    }
    server.abort();
    client.shutdown().await;
}
