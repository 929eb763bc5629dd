//! Provider-neutral chat data: the request we send and the completion we get back.

use serde::{Deserialize, Serialize};

/// Who said a message. The system prompt is separate ([`ChatRequest::system`]) because the
/// Anthropic API takes it outside the message list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One turn of the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A chat request, before redaction. The provider redacts `system` and every message content
/// before anything is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub system: String,
    pub messages: Vec<Message>,
    /// Upper bound on generated tokens (required by Anthropic).
    pub max_tokens: u32,
    pub temperature: f32,
    /// Ask for a server-sent-events stream. Either way, a JSON or an SSE response is accepted.
    pub stream: bool,
}

/// A finished reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The whole reply text (the concatenation of every delta).
    pub text: String,
    /// The model the server says answered, when it says.
    pub model: Option<String>,
    /// `stop`, `length`, `end_turn`, `max_tokens`… as the provider reported it.
    pub finish_reason: Option<String>,
}

impl Completion {
    /// Whether the provider stopped because it hit `max_tokens`: the reply is likely cut.
    pub fn hit_token_limit(&self) -> bool {
        matches!(self.finish_reason.as_deref(), Some("length" | "max_tokens"))
    }
}
