//! The Anthropic Messages provider against a real HTTP server on 127.0.0.1.

use crate::common;

use std::time::{Duration, Instant};

use autogate_llm::{ANTHROPIC_VERSION, LlmError, ProviderKind, REDACTED, parse_reply};
use common::*;

const KIND: ProviderKind = ProviderKind::Anthropic;

#[tokio::test]
async fn streamed_reply_is_assembled() {
    let pieces = [
        "src/a.rs\n<<<<<<< SEARCH\n",
        "x\n=======\ny\n",
        ">>>>>>> REPLACE\n",
    ];
    let server =
        MockServer::start(vec![Reply::Sse(rechunk(anthropic_sse(&pieces, true), 11))]).await;
    let mut deltas = Vec::new();
    let c = server
        .provider(KIND)
        .complete(&request("task"), |d| deltas.push(d.to_owned()))
        .await
        .expect("completion");
    assert_eq!(c.text, pieces.concat());
    assert_eq!(deltas.len(), 3);
    assert_eq!(c.model.as_deref(), Some("test-model"));
    assert_eq!(c.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(parse_reply(&c.text).map(|b| b.len()), Ok(1));

    let r = &server.requests()[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.headers["x-api-key"], KEY);
    assert_eq!(r.headers["anthropic-version"], ANTHROPIC_VERSION);
    assert_eq!(ANTHROPIC_VERSION, "2023-06-01");
    assert!(!r.headers.contains_key("authorization"));
    assert_eq!(r.body["model"], "test-model");
    assert_eq!(r.body["system"], "You edit code.");
    assert_eq!(r.body["max_tokens"], 256);
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["messages"][0]["role"], "user");
    assert_eq!(r.body["messages"][0]["content"], "task");
    assert_eq!(r.body["messages"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn non_streamed_json_reply() {
    let server = MockServer::start(vec![Reply::json(200, anthropic_json("hello"))]).await;
    let mut req = request("task");
    req.stream = false;
    let c = server
        .provider(KIND)
        .complete(&req, |_| {})
        .await
        .expect("completion");
    assert_eq!(c.text, "hello");
    assert_eq!(c.finish_reason.as_deref(), Some("end_turn"));
}

#[tokio::test]
async fn overloaded_then_success() {
    let server = MockServer::start(vec![
        Reply::json(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ),
        Reply::json(
            429,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}"#,
        )
        .with_header("retry-after", "0"),
        Reply::Sse(anthropic_sse(&["ok"], true)),
    ])
    .await;
    let c = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect("completion");
    assert_eq!(c.text, "ok");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn server_error_after_retries() {
    let server = MockServer::start(vec![Reply::json(
        500,
        r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#,
    )])
    .await;
    let err = server
        .provider_with(KIND, |c| c.max_retries = 1)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("500");
    assert!(
        matches!(
            err,
            LlmError::ServerError {
                status: 500,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("api_error: Internal server error"),
        "{err}"
    );
}

#[tokio::test]
async fn retry_that_would_pass_the_deadline_is_not_waited_for() {
    let server = MockServer::start(vec![
        Reply::json(503, "busy").with_header("retry-after", "20"),
    ])
    .await;
    let started = Instant::now();
    let err = server
        .provider_with(KIND, |c| c.total_timeout = Duration::from_secs(2))
        .complete(&request("task"), |_| {})
        .await
        .expect_err("503");
    assert!(
        matches!(
            err,
            LlmError::ServerError {
                status: 503,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn error_event_mid_stream() {
    let mut chunks = anthropic_sse(&["partial"], false);
    chunks.push(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
            .to_owned(),
    );
    let server = MockServer::start(vec![Reply::Sse(chunks)]).await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("error event");
    assert!(matches!(err, LlmError::Provider { .. }), "{err:?}");
    assert!(
        err.to_string().contains("overloaded_error: Overloaded"),
        "{err}"
    );
}

#[tokio::test]
async fn truncated_stream() {
    let server = MockServer::start(vec![Reply::Sse(anthropic_sse(&["abc"], false))]).await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("truncated");
    assert!(
        matches!(
            err,
            LlmError::Truncated {
                received_chars: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("message_stop"), "{err}");
}

#[tokio::test]
async fn timeout() {
    let server = MockServer::start(vec![Reply::Sleep(Duration::from_secs(5))]).await;
    let err = server
        .provider_with(KIND, |c| c.total_timeout = Duration::from_millis(200))
        .complete(&request("task"), |_| {})
        .await
        .expect_err("timeout");
    assert!(matches!(err, LlmError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn malformed_event() {
    let server = MockServer::start(vec![Reply::Sse(vec![
        "event: message_start\ndata: {not json\n\n".to_owned(),
    ])])
    .await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("malformed");
    assert!(matches!(err, LlmError::MalformedResponse { .. }), "{err:?}");
}

#[tokio::test]
async fn unknown_model() {
    let server = MockServer::start(vec![Reply::json(
        404,
        r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}"#,
    )])
    .await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("404");
    assert!(matches!(err, LlmError::UnknownModel { .. }), "{err:?}");
    assert!(err.to_string().contains("model: claude-nope"), "{err}");
}

#[tokio::test]
async fn rejected_key() {
    let server = MockServer::start(vec![Reply::json(
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
    )])
    .await;
    let logs = LogCapture::default();
    let _guard = logs.install();
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("401");
    let msg = err.to_string();
    assert!(
        msg.contains("API key rejected") && msg.contains(KEY_ENV),
        "{msg}"
    );
    assert!(!logs.text().contains(KEY), "{}", logs.text());
}

#[tokio::test]
async fn context_too_long() {
    let server = MockServer::start(vec![Reply::json(
        400,
        r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
    )])
    .await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("400");
    assert!(matches!(err, LlmError::ContextTooLong { .. }), "{err:?}");
    assert!(err.to_string().contains("210000 tokens"), "{err}");
}

#[tokio::test]
async fn empty_reply() {
    let server = MockServer::start(vec![Reply::json(200, anthropic_json("  \n"))]).await;
    let err = server
        .provider(KIND)
        .complete(&request("task"), |_| {})
        .await
        .expect_err("empty");
    assert!(matches!(err, LlmError::EmptyReply { .. }), "{err:?}");
}

#[tokio::test]
async fn secrets_are_redacted_before_sending() {
    let server = MockServer::start(vec![Reply::Echo(KIND)]).await;
    let mut req = request("db_password: 'p@ss' and sk-proj-ABCDEFGHIJKLMNOPQRSTUV");
    req.system = "system with AKIAIOSFODNN7EXAMPLE".to_owned();
    let c = server
        .provider(KIND)
        .complete(&req, |_| {})
        .await
        .expect("completion");
    let r = &server.requests()[0];
    assert!(
        !r.raw.contains("p@ss") && !r.raw.contains("ABCDEFGHIJKLMNOP") && !r.raw.contains("AKIA"),
        "{}",
        r.raw
    );
    assert_eq!(r.body["system"], format!("system with {REDACTED}"));
    assert_eq!(c.text, format!("db_password: '{REDACTED}' and {REDACTED}"));
}
