//! The provider client: redaction, the HTTP call, time limits, retries and error mapping.

use std::fmt;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::Value;

use crate::config::{ApiKey, EnvLookup, ProviderConfig, ProviderKind, process_env};
use crate::redact::{REDACTED, Redactor, redact_secrets};
use crate::sse::{SseEvent, SseParser};
use crate::wire::{error_text, snippet};
use crate::{ChatRequest, Completion, LlmError, anthropic, openai};

/// The longest `Retry-After` we honour; longer waits are cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The longest exponential-backoff step.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The first backoff step when the server gives no `Retry-After`.
const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(250);

/// A configured LLM provider. Cheap to clone; share one per configuration.
#[derive(Clone)]
pub struct Provider {
    config: ProviderConfig,
    client: reqwest::Client,
    redactor: Redactor,
    env: EnvLookup,
    initial_backoff: Duration,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("config", &self.config)
            .field("initial_backoff", &self.initial_backoff)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Builds the HTTP client. `redactor` is applied to the system prompt and every message
    /// before anything is sent (use [`crate::default_redactor`] if the caller has none).
    pub fn new(config: ProviderConfig, redactor: Redactor) -> Result<Self, LlmError> {
        let url = config.endpoint();
        match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(u) => {
                return Err(LlmError::InvalidConfig {
                    detail: format!("base_url must be http or https, not {}:", u.scheme()),
                });
            }
            Err(e) => {
                return Err(LlmError::InvalidConfig {
                    detail: format!("base_url {:?} is not a valid URL: {e}", config.base_url),
                });
            }
        }
        if config.model.trim().is_empty() {
            return Err(LlmError::InvalidConfig {
                detail: "model is empty: name the model in the policy file".to_owned(),
            });
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| LlmError::InvalidConfig {
                detail: format!("cannot build the HTTP client: {}", error_chain(&e)),
            })?;
        Ok(Provider {
            config,
            client,
            redactor,
            env: process_env(),
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
        })
    }

    /// The first backoff step when the server sends no `Retry-After` (default 250 ms; it
    /// doubles per retry, capped at 8 s).
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Where the API key variable is read from (default: the process environment).
    pub fn with_env_lookup(mut self, env: EnvLookup) -> Self {
        self.env = env;
        self
    }

    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The request as it will be sent: `system` and every message content redacted.
    pub fn redacted(&self, req: &ChatRequest) -> ChatRequest {
        let mut out = req.clone();
        out.system = (self.redactor)(&req.system);
        for m in &mut out.messages {
            m.content = (self.redactor)(&m.content);
        }
        out
    }

    /// Sends the request and returns the whole reply, calling `on_delta` with each piece of
    /// text as it streams in (once with the whole text for a non-streamed response).
    ///
    /// The whole call, retries and streaming included, is bounded by `total_timeout`. The
    /// future is `Send`: spawn it, and cancel by dropping it (or aborting the task).
    pub async fn complete(
        &self,
        req: &ChatRequest,
        mut on_delta: impl FnMut(&str) + Send,
    ) -> Result<Completion, LlmError> {
        let url = self.config.endpoint();
        let key = self.config.read_api_key(&self.env)?;
        let req = self.redacted(req);
        let body = match self.config.kind {
            ProviderKind::OpenAi => openai::body(&self.config.model, &req),
            ProviderKind::Anthropic => anthropic::body(&self.config.model, &req),
        };
        tracing::info!(
            kind = ?self.config.kind,
            model = %self.config.model,
            url = %url,
            messages = req.messages.len(),
            stream = req.stream,
            "sending LLM request"
        );
        let started = Instant::now();
        let call = self.attempts(&url, key.as_ref(), &body, &mut on_delta, started);
        let result = match tokio::time::timeout(self.config.total_timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(LlmError::Timeout {
                url: url.clone(),
                after: self.config.total_timeout,
            }),
        };
        match &result {
            Ok(c) => tracing::info!(
                chars = c.text.len(),
                finish_reason = ?c.finish_reason,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "LLM reply complete"
            ),
            Err(e) => tracing::warn!(error = %e, "LLM request failed"),
        }
        result
    }

    async fn attempts(
        &self,
        url: &str,
        key: Option<&ApiKey>,
        body: &Value,
        on_delta: &mut (dyn FnMut(&str) + Send),
        started: Instant,
    ) -> Result<Completion, LlmError> {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            tracing::debug!(attempt, "LLM request attempt");
            let resp = self.send(url, key, body).await?;
            let status = resp.status();
            if status.is_success() {
                return self.read_success(resp, key, on_delta).await;
            }
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
            let raw = resp.text().await.unwrap_or_default();
            let message = self.sanitize(&error_message(&raw, status), key);
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && attempt <= self.config.max_retries {
                let delay = retry_after.unwrap_or_else(|| self.backoff(attempt));
                if started.elapsed() + delay < self.config.total_timeout {
                    tracing::warn!(
                        status = status.as_u16(),
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "LLM provider asked us to retry"
                    );
                    tokio::time::sleep(delay).await;
                    continue;
                }
                tracing::warn!(
                    status = status.as_u16(),
                    "not retrying: the wait would pass total_timeout"
                );
            }
            return Err(self.status_error(status, message, &raw, attempt));
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }

    async fn send(
        &self,
        url: &str,
        key: Option<&ApiKey>,
        body: &Value,
    ) -> Result<reqwest::Response, LlmError> {
        let mut rb = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(body.to_string());
        match self.config.kind {
            ProviderKind::OpenAi => {
                if let Some(k) = key {
                    rb = rb.header(AUTHORIZATION, sensitive(&format!("Bearer {}", k.expose()))?);
                }
            }
            ProviderKind::Anthropic => {
                if let Some(k) = key {
                    rb = rb.header("x-api-key", sensitive(k.expose())?);
                }
                rb = rb.header("anthropic-version", anthropic::ANTHROPIC_VERSION);
            }
        }
        rb.send().await.map_err(|e| {
            // No per-request timeout is set on reqwest, so its timeouts are connect timeouts.
            if e.is_timeout() {
                LlmError::ConnectTimeout {
                    url: url.to_owned(),
                    after: self.config.connect_timeout,
                }
            } else {
                LlmError::Connect {
                    url: url.to_owned(),
                    detail: self.sanitize(&error_chain(&e), key),
                }
            }
        })
    }

    async fn read_success(
        &self,
        resp: reqwest::Response,
        key: Option<&ApiKey>,
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Completion, LlmError> {
        let is_sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"));
        let completion = if is_sse {
            self.read_stream(resp, key, on_delta).await?
        } else {
            let raw = resp.text().await.map_err(|e| LlmError::Truncated {
                received_chars: 0,
                detail: self.sanitize(&error_chain(&e), key),
            })?;
            let v: Value = serde_json::from_str(&raw).map_err(|e| LlmError::MalformedResponse {
                detail: format!("the body is not JSON ({e}): {}", snippet(&raw)),
            })?;
            let c = match self.config.kind {
                ProviderKind::OpenAi => openai::parse_full(&v)?,
                ProviderKind::Anthropic => anthropic::parse_full(&v)?,
            };
            if !c.text.is_empty() {
                on_delta(&c.text);
            }
            c
        };
        if completion.text.trim().is_empty() {
            return Err(LlmError::EmptyReply {
                finish_reason: completion.finish_reason,
            });
        }
        Ok(completion)
    }

    async fn read_stream(
        &self,
        resp: reqwest::Response,
        key: Option<&ApiKey>,
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Completion, LlmError> {
        let mut parser = SseParser::default();
        let mut completion = Completion {
            text: String::new(),
            model: None,
            finish_reason: None,
        };
        let mut stream = resp.bytes_stream();
        let end_marker = match self.config.kind {
            ProviderKind::OpenAi => "data: [DONE]",
            ProviderKind::Anthropic => "message_stop",
        };
        loop {
            let events = match stream.next().await {
                Some(Ok(chunk)) => parser
                    .push(&chunk)
                    .map_err(|detail| LlmError::MalformedResponse { detail })?,
                Some(Err(e)) => {
                    return Err(LlmError::Truncated {
                        received_chars: completion.text.chars().count(),
                        detail: self.sanitize(&error_chain(&e), key),
                    });
                }
                None => {
                    let last: Vec<SseEvent> = parser.finish().into_iter().collect();
                    if self.apply_events(&last, &mut completion, on_delta)? {
                        return Ok(completion);
                    }
                    return Err(LlmError::Truncated {
                        received_chars: completion.text.chars().count(),
                        detail: format!("no {end_marker}"),
                    });
                }
            };
            if self.apply_events(&events, &mut completion, on_delta)? {
                return Ok(completion);
            }
        }
    }

    /// Folds events into the completion; `Ok(true)` once the end marker is seen.
    fn apply_events(
        &self,
        events: &[SseEvent],
        completion: &mut Completion,
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<bool, LlmError> {
        for ev in events {
            let d = match self.config.kind {
                ProviderKind::OpenAi => openai::decode_event(ev)?,
                ProviderKind::Anthropic => anthropic::decode_event(ev)?,
            };
            if let Some(t) = d.text.filter(|t| !t.is_empty()) {
                on_delta(&t);
                completion.text.push_str(&t);
            }
            if d.model.is_some() {
                completion.model = d.model;
            }
            if d.finish_reason.is_some() {
                completion.finish_reason = d.finish_reason;
            }
            if d.done {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn status_error(
        &self,
        status: StatusCode,
        message: String,
        raw: &str,
        attempts: u32,
    ) -> LlmError {
        let code = status.as_u16();
        match code {
            401 | 403 => LlmError::AuthRejected {
                status: code,
                env_var: self.config.api_key_env.clone(),
                message,
            },
            404 => LlmError::UnknownModel {
                model: self.config.model.clone(),
                url: self.config.endpoint(),
                message,
            },
            400 | 413 if is_context_length_error(raw, &message) => {
                LlmError::ContextTooLong { message }
            }
            429 => LlmError::RateLimited { attempts, message },
            500..=599 => LlmError::ServerError {
                status: code,
                attempts,
                message,
            },
            _ => LlmError::Rejected {
                status: code,
                message,
            },
        }
    }

    /// Server text may echo the key (OpenAI's "Incorrect API key provided: sk-…") or other
    /// secrets: scrub both before it reaches an error message or a log.
    fn sanitize(&self, text: &str, key: Option<&ApiKey>) -> String {
        let mut out = text.to_owned();
        if let Some(k) = key {
            out = out.replace(k.expose(), REDACTED);
        }
        redact_secrets(&(self.redactor)(&out))
    }
}

fn sensitive(value: &str) -> Result<HeaderValue, LlmError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| LlmError::InvalidConfig {
        detail: "the API key contains characters that cannot go in an HTTP header".to_owned(),
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// The human part of an error body: `error.message`, `error` (string), `message`, `detail`,
/// or the raw text.
fn error_message(raw: &str, status: StatusCode) -> String {
    let from_json = serde_json::from_str::<Value>(raw).ok().and_then(|v| {
        if let Some(e) = v.get("error") {
            return Some(error_text(e));
        }
        ["message", "detail"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
    });
    match from_json {
        Some(m) if !m.trim().is_empty() => m,
        _ if !raw.trim().is_empty() => snippet(raw.trim()),
        _ => status
            .canonical_reason()
            .unwrap_or("no message from the server")
            .to_owned(),
    }
}

fn is_context_length_error(raw: &str, message: &str) -> bool {
    let hay = format!("{raw} {message}").to_lowercase();
    [
        "context_length_exceeded",
        "exceed_context_size",
        "context length",
        "context window",
        "context size",
        "maximum context",
        "prompt is too long",
        "too many tokens",
    ]
    .iter()
    .any(|needle| hay.contains(needle))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_configs_are_refused() {
        let bad = |base: &str, model: &str| {
            Provider::new(
                ProviderConfig::new(ProviderKind::OpenAi, base, model),
                crate::default_redactor(),
            )
            .err()
            .map(|e| e.to_string())
        };
        assert!(bad("not a url", "m").is_some_and(|e| e.contains("base_url")));
        assert!(bad("ftp://x/v1", "m").is_some_and(|e| e.contains("http")));
        assert!(bad("http://x/v1", " ").is_some_and(|e| e.contains("model")));
        assert_eq!(bad("http://127.0.0.1:1/v1", "m"), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = Provider::new(
            ProviderConfig::new(ProviderKind::OpenAi, "http://x/v1", "m"),
            crate::default_redactor(),
        )
        .map(|p| p.with_initial_backoff(Duration::from_secs(1)));
        let Ok(p) = p else {
            panic!("provider");
        };
        assert_eq!(p.backoff(1), Duration::from_secs(1));
        assert_eq!(p.backoff(3), Duration::from_secs(4));
        assert_eq!(p.backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn context_errors_are_recognised() {
        assert!(is_context_length_error(
            r#"{"error":{"code":"context_length_exceeded"}}"#,
            ""
        ));
        assert!(is_context_length_error(
            "",
            "invalid_request_error: prompt is too long: 210000 tokens > 200000 maximum"
        ));
        assert!(!is_context_length_error("", "temperature must be <= 2"));
    }

    #[test]
    fn error_messages_are_extracted() {
        let s = StatusCode::BAD_REQUEST;
        assert_eq!(
            error_message(
                r#"{"error":{"type":"invalid_request_error","message":"bad"}}"#,
                s
            ),
            "invalid_request_error: bad"
        );
        assert_eq!(error_message(r#"{"error":"nope"}"#, s), "nope");
        assert_eq!(error_message("plain text", s), "plain text");
        assert_eq!(error_message("", s), "Bad Request");
    }
}
