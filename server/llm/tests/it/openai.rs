//! The OpenAI-compatible provider against a real HTTP server on 127.0.0.1.

use crate::common;

use std::time::{Duration, Instant};

use autogate_llm::{LlmError, ProviderKind, REDACTED, apply_blocks, parse_reply};
use common::*;

const KIND: ProviderKind = ProviderKind::OpenAi;

const EDIT: &str = "Here you go:\n```\nsrc/lib.rs\n<<<<<<< SEARCH\nfn a() {}\n=======\nfn a() -> u8 { 1 }\n>>>>>>> REPLACE\n```\n";

#[tokio::test]
async fn streamed_reply_is_assembled_and_parses() {
    let pieces = [
        "Here you go:\n```\nsrc/lib.rs\n<<<<<<< SEARCH\n",
        "fn a() {}\n=======\n",
        "fn a() -> u8 { 1 }\n>>>>>>> REPLACE\n```\n",
    ];
    let server = MockServer::start(vec![Reply::Sse(rechunk(openai_sse(&pieces, true), 7))]).await;
    let provider = server.provider(KIND);
    let mut deltas = Vec::new();
    let completion = provider
        .complete(&request("make a return 1"), |d| deltas.push(d.to_owned()))
        .await
        .expect("completion");
    assert_eq!(completion.text, EDIT);
    assert_eq!(deltas.concat(), EDIT);
    assert_eq!(deltas.len(), 3);
    assert_eq!(completion.finish_reason.as_deref(), Some("stop"));
    assert_eq!(completion.model.as_deref(), Some("test-model"));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.headers["authorization"], format!("Bearer {KEY}"));
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(!r.headers.contains_key("x-api-key"));
    assert_eq!(r.body["model"], "test-model");
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["max_tokens"], 256);
    assert_eq!(r.body["messages"][0]["role"], "system");
    assert_eq!(r.body["messages"][0]["content"], "You edit code.");
    assert_eq!(r.body["messages"][1]["role"], "user");
    assert_eq!(r.body["messages"][1]["content"], "make a return 1");

    let blocks = parse_reply(&completion.text).expect("blocks");
    let files = |p: &str| (p == "src/lib.rs").then(|| "fn a() {}\n".to_owned());
    let applied = apply_blocks(&files, &blocks).expect("applied");
    assert_eq!(applied[0].after, "fn a() -> u8 { 1 }\n");
}

#[tokio::test]
async fn non_streamed_json_reply() {
    let server = MockServer::start(vec![Reply::json(200, openai_json(EDIT))]).await;
    let mut req = request("task");
    req.stream = false;
    let mut seen = String::new();
    let completion = server
        .provider(KIND)
        .complete(&req, |d| seen.push_str(d))
        .await
        .expect("completion");
    assert_eq!(completion.text, EDIT);
    assert_eq!(seen, EDIT);
    assert_eq!(server.requests()[0].body["stream"], false);
}

#[tokio::test]
async fn rate_limit_then_success_honours_retry_after() {
    let server = MockServer::start(vec![
        Reply::json(429, r#"{"error":{"message":"slow down"}}"#).with_header("retry-after", "1"),
        Reply::json(429, r#"{"error":{"message":"slow down"}}"#).with_header("retry-after", "0"),
        Reply::json(200, openai_json("ok")),
    ])
    .await;
    let started = Instant::now();
    let completion = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect("completion after retries");
    assert_eq!(completion.text, "ok");
    assert_eq!(server.requests().len(), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
}

#[tokio::test]
async fn rate_limit_on_every_attempt() {
    let server = MockServer::start(vec![
        Reply::json(429, r#"{"error":{"message":"quota exceeded"}}"#)
            .with_header("retry-after", "0"),
    ])
    .await;
    let err = server
        .provider_with(KIND, |c| c.max_retries = 1)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("429");
    assert!(
        matches!(err, LlmError::RateLimited { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("quota exceeded"), "{err}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn server_error_is_retried_then_reported() {
    let server = MockServer::start(vec![Reply::json(500, r#"{"error":{"message":"boom"}}"#)]).await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("500");
    assert!(
        matches!(
            err,
            LlmError::ServerError {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("boom") && err.to_string().contains("500"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn server_error_then_success() {
    let server = MockServer::start(vec![
        Reply::json(503, "upstream unavailable"),
        Reply::Sse(openai_sse(&["fine"], true)),
    ])
    .await;
    let c = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect("completion");
    assert_eq!(c.text, "fine");
}

#[tokio::test]
async fn total_timeout_while_waiting_for_headers() {
    let server = MockServer::start(vec![Reply::Sleep(Duration::from_secs(5))]).await;
    let started = Instant::now();
    let err = server
        .provider_with(KIND, |c| c.total_timeout = Duration::from_millis(300))
        .complete(&request("task"), |_| {})
        .await
        .expect_err("timeout");
    assert!(matches!(err, LlmError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("total_timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn total_timeout_while_the_stream_stalls() {
    let server = MockServer::start(vec![Reply::SseStall(openai_sse(&["partial"], false))]).await;
    let mut seen = String::new();
    let err = server
        .provider_with(KIND, |c| c.total_timeout = Duration::from_millis(300))
        .complete(&request("task"), |d| seen.push_str(d))
        .await
        .expect_err("timeout");
    assert!(matches!(err, LlmError::Timeout { .. }), "{err:?}");
    assert_eq!(seen, "partial");
}

#[tokio::test]
async fn malformed_json_body() {
    let server = MockServer::start(vec![Reply::json(200, "<html>not json</html>")]).await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("malformed");
    assert!(matches!(err, LlmError::MalformedResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("not json"), "{err}");

    let server = MockServer::start(vec![Reply::json(200, r#"{"object":"list","data":[]}"#)]).await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("no choices");
    assert!(err.to_string().contains("choices"), "{err}");
}

#[tokio::test]
async fn malformed_stream_chunk() {
    let mut chunks = openai_sse(&["a"], false);
    chunks.push("data: {\"choices\": [oops\n\n".to_owned());
    chunks.push("data: [DONE]\n\n".to_owned());
    let server = MockServer::start(vec![Reply::Sse(chunks)]).await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("malformed");
    assert!(matches!(err, LlmError::MalformedResponse { .. }), "{err:?}");
}

#[tokio::test]
async fn truncated_stream() {
    let server = MockServer::start(vec![Reply::Sse(openai_sse(
        &["src/a.rs\n<<<<<<< SEARCH\n"],
        false,
    ))])
    .await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("truncated");
    assert!(
        matches!(
            err,
            LlmError::Truncated {
                received_chars: 24,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("[DONE]"), "{err}");
}

#[tokio::test]
async fn unknown_model() {
    let server = MockServer::start(vec![Reply::json(
        404,
        r#"{"error":{"message":"The model `test-model` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
    )])
    .await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("404");
    assert!(matches!(err, LlmError::UnknownModel { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("\"test-model\"") && msg.contains("does not exist"),
        "{msg}"
    );
    assert_eq!(server.requests().len(), 1, "404 is not retried");
}

#[tokio::test]
async fn rejected_key_names_the_env_var_and_hides_the_key() {
    // OpenAI echoes part of the key; ours echoes all of it.
    let body = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {KEY}.","type":"invalid_request_error","code":"invalid_api_key"}}}}"#
    );
    let server = MockServer::start(vec![Reply::json(401, body)]).await;
    let logs = LogCapture::default();
    let _guard = logs.install();
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("401");
    assert!(
        matches!(err, LlmError::AuthRejected { status: 401, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("API key rejected") && msg.contains(KEY_ENV),
        "{msg}"
    );
    assert!(!msg.contains(KEY), "{msg}");
    assert!(!format!("{err:?}").contains(KEY));
    assert!(!logs.text().contains(KEY), "{}", logs.text());
    assert!(logs.text().contains("API key rejected"));
    assert_eq!(server.requests().len(), 1, "401 is not retried");
}

#[tokio::test]
async fn forbidden_is_an_auth_error() {
    let server = MockServer::start(vec![Reply::json(403, r#"{"error":"forbidden"}"#)]).await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("403");
    assert!(
        matches!(err, LlmError::AuthRejected { status: 403, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn context_too_long() {
    let server = MockServer::start(vec![Reply::json(
        400,
        r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
    )])
    .await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("400");
    assert!(matches!(err, LlmError::ContextTooLong { .. }), "{err:?}");
    assert!(err.to_string().contains("8192"), "{err}");
}

#[tokio::test]
async fn other_client_errors_pass_the_message_on() {
    let server = MockServer::start(vec![Reply::json(
        422,
        r#"{"error":{"message":"temperature must be between 0 and 2"}}"#,
    )])
    .await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("422");
    assert!(
        matches!(err, LlmError::Rejected { status: 422, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("temperature must be between 0 and 2")
    );
}

#[tokio::test]
async fn empty_reply() {
    let server = MockServer::start(vec![Reply::Sse(openai_sse(&[], true))]).await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("empty");
    assert!(matches!(err, LlmError::EmptyReply { .. }), "{err:?}");
    assert!(err.to_string().contains("empty reply"), "{err}");
}

#[tokio::test]
async fn secrets_are_redacted_before_sending() {
    let server = MockServer::start(vec![Reply::Echo(KIND)]).await;
    let aws = "AKIAIOSFODNN7EXAMPLE";
    let pem =
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
    let mut req = request(&format!(
        "config.py\n```\nAWS_KEY = \"{aws}\"\npassword = \"hunter2\"\n{pem}\n```\nsk-ant-api03-abcdefghijklmnop"
    ));
    req.system = "ghp_0123456789abcdefghijABCDEFGHIJ in the system prompt".to_owned();
    let c = server
        .provider(KIND)
        .complete(&req, |_| {})
        .await
        .expect("completion");
    let sent = &server.requests()[0].raw;
    for secret in [
        aws,
        "hunter2",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "abcdefghijklmnop",
        "ghp_0123456789",
    ] {
        assert!(!sent.contains(secret), "{secret} was sent: {sent}");
        assert!(!c.text.contains(secret), "{secret} came back");
    }
    assert!(sent.contains(REDACTED));
    assert!(c.text.contains("password = \"[REDACTED]\""), "{}", c.text);
}

#[tokio::test]
async fn the_injected_redactor_is_used() {
    let server = MockServer::start(vec![Reply::json(200, openai_json("ok"))]).await;
    let provider = autogate_llm::Provider::new(
        autogate_llm::ProviderConfig::new(KIND, server.base_url(KIND), "m"),
        std::sync::Arc::new(|s: &str| s.replace("internal-hostname", "<host>")),
    )
    .expect("provider");
    provider
        .complete(&request("ping internal-hostname"), |_| {})
        .await
        .expect("completion");
    let r = &server.requests()[0];
    assert_eq!(r.body["messages"][1]["content"], "ping <host>");
    assert!(
        !r.headers.contains_key("authorization"),
        "no key configured, none sent"
    );
}

#[tokio::test]
async fn missing_key_env_sends_nothing() {
    let server = MockServer::start(vec![Reply::json(200, openai_json("ok"))]).await;
    let err = server
        .provider_with(KIND, |c| {
            c.api_key_env = Some("AUTOGATE_TEST_UNSET_VAR".into())
        })
        .complete(&request("task"), |_| {})
        .await
        .expect_err("missing key");
    assert!(matches!(err, LlmError::MissingApiKey { .. }), "{err:?}");
    assert!(err.to_string().contains("AUTOGATE_TEST_UNSET_VAR"));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn connection_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let mut config = autogate_llm::ProviderConfig::new(KIND, format!("http://{addr}/v1"), "m");
    config.max_retries = 0;
    let provider =
        autogate_llm::Provider::new(config, autogate_llm::default_redactor()).expect("provider");
    let err = provider
        .complete(&request("task"), |_| {})
        .await
        .expect_err("refused");
    assert!(matches!(err, LlmError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn logs_never_contain_the_key() {
    let server = MockServer::start(vec![
        Reply::json(500, "oops").with_header("retry-after", "0"),
        Reply::Sse(openai_sse(&["ok"], true)),
    ])
    .await;
    let logs = LogCapture::default();
    let _guard = logs.install();
    let provider = server.provider(KIND);
    tracing::info!(provider = ?provider, "provider built");
    provider
        .complete(&request("task"), |_| {})
        .await
        .expect("completion");
    let text = logs.text();
    // The capture works (the library's own retry line is in it), so the checks below are not
    // vacuous. A particular debug line is not required: tracing's per-callsite interest cache
    // can race with tests that run at the same time without a subscriber.
    assert!(text.contains("retry"), "{text}");
    assert!(
        text.contains(KEY_ENV),
        "the env var name may be logged: {text}"
    );
    assert!(!text.contains(KEY), "the key leaked into the logs: {text}");
    assert!(!text.contains("SECRETKEY"), "{text}");
}

#[tokio::test]
async fn the_call_can_be_spawned() {
    let server = MockServer::start(vec![Reply::json(200, openai_json("ok"))]).await;
    let provider = server.provider(KIND);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let task = tokio::spawn(async move {
        provider
            .complete(&request("task"), move |d| {
                let _ = tx.send(d.to_owned());
            })
            .await
    });
    let c = task.await.expect("joined").expect("completion");
    assert_eq!(c.text, "ok");
    assert_eq!(rx.recv().await.as_deref(), Some("ok"));
}
