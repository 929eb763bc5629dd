//! A real HTTP server on 127.0.0.1 that speaks the providers' wire formats from a script of
//! replies, records every request, and a tracing capture for the "key never logged" checks.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use autogate_llm::{
    ChatRequest, EnvLookup, Message, Provider, ProviderConfig, ProviderKind, default_redactor,
};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;

/// The test key. Shaped like a real one so the default redactor would also catch it.
pub const KEY: &str = "sk-test-0123456789abcdefSECRETKEY";
pub const KEY_ENV: &str = "AUTOGATE_TEST_LLM_KEY";

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A full response with a status, extra headers and a body (content-type application/json).
    Json {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// 200 `text/event-stream`, the chunks sent in order, then the connection is closed.
    Sse(Vec<String>),
    /// Like `Sse`, but the stream then stays open forever.
    SseStall(Vec<String>),
    /// Waits, then answers 200 `{}`.
    Sleep(Duration),
    /// Answers with the request's first user message inside a reply of the given kind
    /// (a model that echoes what it was sent).
    Echo(ProviderKind),
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Reply::Json {
            status,
            headers: vec![],
            body: body.into(),
        }
    }

    pub fn with_header(self, name: &'static str, value: &str) -> Self {
        match self {
            Reply::Json {
                status,
                mut headers,
                body,
            } => {
                headers.push((name, value.to_owned()));
                Reply::Json {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
    pub body: serde_json::Value,
    pub raw: String,
}

struct Shared {
    replies: Mutex<Vec<Reply>>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct MockServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockServer {
    /// Starts on 127.0.0.1:0. Replies are used in order; the last one repeats.
    pub async fn start(replies: Vec<Reply>) -> Self {
        global_subscriber();
        let shared = Arc::new(Shared {
            replies: Mutex::new(replies),
            requests: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockServer { addr, shared, task }
    }

    pub fn base_url(&self, kind: ProviderKind) -> String {
        match kind {
            ProviderKind::OpenAi => format!("http://{}/v1", self.addr),
            ProviderKind::Anthropic => format!("http://{}", self.addr),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// A provider for this server: key from [`KEY_ENV`], tiny backoff, short timeouts.
    pub fn provider(&self, kind: ProviderKind) -> Provider {
        self.provider_with(kind, |_| {})
    }

    pub fn provider_with(
        &self,
        kind: ProviderKind,
        tweak: impl FnOnce(&mut ProviderConfig),
    ) -> Provider {
        let mut config = ProviderConfig::new(kind, self.base_url(kind), "test-model");
        config.api_key_env = Some(KEY_ENV.to_owned());
        config.connect_timeout = Duration::from_secs(2);
        config.total_timeout = Duration::from_secs(5);
        config.max_retries = 2;
        tweak(&mut config);
        Provider::new(config, default_redactor())
            .expect("valid config")
            .with_initial_backoff(Duration::from_millis(10))
            .with_env_lookup(test_env())
    }
}

/// An environment holding only the test key.
pub fn test_env() -> EnvLookup {
    Arc::new(|name: &str| (name == KEY_ENV).then(|| KEY.to_owned()))
}

fn next_reply(shared: &Shared) -> Option<Reply> {
    let mut replies = shared.replies.lock().ok()?;
    if replies.len() > 1 {
        Some(replies.remove(0))
    } else {
        replies.first().cloned()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = String::from_utf8_lossy(&body).into_owned();
    let recorded = Recorded {
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_lowercase(),
                    v.to_str().unwrap_or("<binary>").to_owned(),
                )
            })
            .collect(),
        body: serde_json::from_str(&raw).unwrap_or(serde_json::Value::Null),
        raw,
    };
    let first_user = recorded.body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned();
    if let Ok(mut r) = shared.requests.lock() {
        r.push(recorded);
    }
    let reply = next_reply(&shared).unwrap_or_else(|| Reply::json(500, "no scripted reply"));
    match reply {
        Reply::Json {
            status,
            headers,
            body,
        } => {
            let mut b = Response::builder()
                .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
                .header("content-type", "application/json");
            for (k, v) in headers {
                b = b.header(k, v);
            }
            b.body(Body::from(body)).unwrap_or_default()
        }
        Reply::Sse(chunks) => sse(chunks, false),
        Reply::SseStall(chunks) => sse(chunks, true),
        Reply::Sleep(d) => {
            tokio::time::sleep(d).await;
            Response::new(Body::from("{}"))
        }
        Reply::Echo(kind) => {
            let body = match kind {
                ProviderKind::OpenAi => openai_json(&first_user),
                ProviderKind::Anthropic => anthropic_json(&first_user),
            };
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap_or_default()
        }
    }
}

fn sse(chunks: Vec<String>, stall: bool) -> Response {
    let head = futures::stream::iter(
        chunks
            .into_iter()
            .map(|c| Ok::<Bytes, io::Error>(Bytes::from(c))),
    );
    let body = if stall {
        Body::from_stream(head.chain(futures::stream::pending()))
    } else {
        Body::from_stream(head)
    };
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(body)
        .unwrap_or_default()
}

/// A non-streamed OpenAI chat completion.
pub fn openai_json(text: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text },
                      "finish_reason": "stop" }]
    })
    .to_string()
}

/// A non-streamed Anthropic message.
pub fn anthropic_json(text: &str) -> String {
    serde_json::json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "test-model",
        "content": [{ "type": "text", "text": text }],
        "stop_reason": "end_turn", "usage": { "input_tokens": 1, "output_tokens": 1 }
    })
    .to_string()
}

/// OpenAI SSE chunks for these deltas, with or without the final `data: [DONE]`.
pub fn openai_sse(deltas: &[&str], done: bool) -> Vec<String> {
    let mut out = vec![format!(
        "data: {}\n\n",
        serde_json::json!({"id":"c","object":"chat.completion.chunk","model":"test-model",
            "choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})
    )];
    for d in deltas {
        out.push(format!(
            "data: {}\n\n",
            serde_json::json!({"id":"c","object":"chat.completion.chunk","model":"test-model",
                "choices":[{"index":0,"delta":{"content":d},"finish_reason":null}]})
        ));
    }
    out.push(format!(
        "data: {}\n\n",
        serde_json::json!({"id":"c","object":"chat.completion.chunk","model":"test-model",
            "choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})
    ));
    if done {
        out.push("data: [DONE]\n\n".to_owned());
    }
    out
}

/// Anthropic SSE events for these deltas, with or without the final `message_stop`.
pub fn anthropic_sse(deltas: &[&str], stop: bool) -> Vec<String> {
    let ev = |name: &str, data: serde_json::Value| format!("event: {name}\ndata: {data}\n\n");
    let mut out = vec![
        ev(
            "message_start",
            serde_json::json!({"type":"message_start","message":{"id":"msg_1","type":"message",
                "role":"assistant","model":"test-model","content":[],"stop_reason":null}}),
        ),
        ev(
            "content_block_start",
            serde_json::json!({"type":"content_block_start","index":0,
                "content_block":{"type":"text","text":""}}),
        ),
        ev("ping", serde_json::json!({"type":"ping"})),
    ];
    for d in deltas {
        out.push(ev(
            "content_block_delta",
            serde_json::json!({"type":"content_block_delta","index":0,
                "delta":{"type":"text_delta","text":d}}),
        ));
    }
    out.push(ev(
        "content_block_stop",
        serde_json::json!({"type":"content_block_stop","index":0}),
    ));
    out.push(ev(
        "message_delta",
        serde_json::json!({"type":"message_delta","delta":{"stop_reason":"end_turn"},
            "usage":{"output_tokens":5}}),
    ));
    if stop {
        out.push(ev(
            "message_stop",
            serde_json::json!({"type":"message_stop"}),
        ));
    }
    out
}

/// Re-cuts chunks at awkward places (mid-line, mid-UTF-8 is impossible with `String`s, so
/// mid-line and mid-event) to exercise the incremental parser.
pub fn rechunk(chunks: Vec<String>, size: usize) -> Vec<String> {
    let all: String = chunks.concat();
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in all.chars() {
        cur.push(c);
        if cur.len() >= size {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn request(user: &str) -> ChatRequest {
    ChatRequest {
        system: "You edit code.".to_owned(),
        messages: vec![Message::user(user)],
        max_tokens: 256,
        temperature: 0.0,
        stream: true,
    }
}

/// A tracing writer that keeps everything in memory.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Installs a TRACE-level subscriber for the current thread (use a current-thread runtime).
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        global_subscriber();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_default(sub)
    }
}

impl io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A global subscriber interested in every event, writing nowhere, installed once before any
/// test logs. Without it, a callsite first hit by a test without a subscriber can be cached as
/// uninteresting while another test's capture is being installed, and that test misses lines.
pub fn global_subscriber() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(io::sink)
            .try_init();
    });
}
