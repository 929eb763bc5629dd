//! The typed errors of a provider call, each worded so a person knows what to do next.

use std::time::Duration;

/// Why a provider call failed. Every message names what to check or change.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The configured key variable is unset or empty; nothing was sent.
    #[error(
        "the API key env var {env_var} is not set or is empty: export it in the environment that starts autogate"
    )]
    MissingApiKey { env_var: String },

    /// HTTP 401/403.
    #[error("{}", auth_message(*status, env_var.as_deref(), message))]
    AuthRejected {
        status: u16,
        env_var: Option<String>,
        message: String,
    },

    /// HTTP 404: usually an unknown model (or a wrong `base_url`).
    #[error(
        "model \"{model}\" was not found at {url} (HTTP 404: {message}): check the model name and base_url in the policy file"
    )]
    UnknownModel {
        model: String,
        url: String,
        message: String,
    },

    /// HTTP 400 (or 413) saying the prompt does not fit the model's context window.
    #[error(
        "the prompt is too long for the model's context window ({message}): select a smaller range or fewer files, or lower max_context_chars"
    )]
    ContextTooLong { message: String },

    /// Any other 4xx: the server's own message is passed on.
    #[error("the provider rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },

    /// HTTP 429 on every attempt.
    #[error(
        "the provider is rate-limiting requests (HTTP 429 after {attempts} attempts): {message}; wait and try again, or raise max_retries"
    )]
    RateLimited { attempts: u32, message: String },

    /// HTTP 5xx on every attempt.
    #[error(
        "the provider failed with HTTP {status} after {attempts} attempts: {message}; the service may be down, try again later"
    )]
    ServerError {
        status: u16,
        attempts: u32,
        message: String,
    },

    /// The whole call (retries and streaming included) exceeded `total_timeout`.
    #[error(
        "no complete reply from {url} within {after:?} (total_timeout): the model may be slow or stuck; raise total_timeout or shorten the task"
    )]
    Timeout { url: String, after: Duration },

    /// The TCP/TLS connection could not be set up in time.
    #[error(
        "could not connect to {url} within {after:?} (connect_timeout): check base_url and that the server is running"
    )]
    ConnectTimeout { url: String, after: Duration },

    /// The connection was refused or failed (DNS, TLS, reset before a response).
    #[error("could not reach {url}: {detail}; check base_url and that the server is running")]
    Connect { url: String, detail: String },

    /// The server answered with something that is not the expected JSON.
    #[error(
        "the provider sent a malformed response ({detail}): is base_url pointing at the right API?"
    )]
    MalformedResponse { detail: String },

    /// The stream ended before its end marker (`data: [DONE]` / `message_stop`).
    #[error(
        "the reply stream ended early after {received_chars} characters ({detail}): the connection was cut; nothing was applied, try again"
    )]
    Truncated {
        received_chars: usize,
        detail: String,
    },

    /// The provider finished normally but sent no text.
    #[error("the model returned an empty reply{}: nothing to apply; rephrase the task", finish_note(finish_reason.as_deref()))]
    EmptyReply { finish_reason: Option<String> },

    /// The provider reported an error inside the stream (e.g. Anthropic `overloaded_error`).
    #[error("the provider reported an error mid-reply: {message}")]
    Provider { message: String },

    /// The configuration cannot produce a valid request.
    #[error("invalid provider configuration: {detail}")]
    InvalidConfig { detail: String },
}

fn auth_message(status: u16, env_var: Option<&str>, message: &str) -> String {
    match env_var {
        Some(name) => {
            format!("API key rejected (HTTP {status}: {message}): check the env var {name}")
        }
        None => format!(
            "the provider requires an API key (HTTP {status}: {message}): set api_key_env in the policy file to the name of the env var holding it"
        ),
    }
}

fn finish_note(reason: Option<&str>) -> String {
    reason.map_or(String::new(), |r| format!(" (finish reason: {r})"))
}

impl LlmError {
    /// Whether the call may succeed if simply retried later (rate limits, server errors,
    /// timeouts, cut streams). Configuration and request errors are not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. }
                | LlmError::ServerError { .. }
                | LlmError::Timeout { .. }
                | LlmError::ConnectTimeout { .. }
                | LlmError::Connect { .. }
                | LlmError::Truncated { .. }
                | LlmError::Provider { .. }
        )
    }
}
