//! The Anthropic Messages wire format (`POST /v1/messages`, SSE `message_start` … `message_stop`).

use serde_json::{Value, json};

use crate::chat::{ChatRequest, Role};
use crate::sse::SseEvent;
use crate::wire::Decoded;
use crate::{Completion, LlmError};

/// The `anthropic-version` header value we speak.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The JSON body. Contents are already redacted by the caller.
pub(crate) fn body(model: &str, req: &ChatRequest) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({ "role": role, "content": m.content })
        })
        .collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
        "stream": req.stream,
    });
    if !req.system.is_empty() {
        body["system"] = Value::String(req.system.clone());
    }
    body
}

/// One SSE event. The `type` inside the data wins over the `event:` line.
pub(crate) fn decode_event(ev: &SseEvent) -> Result<Decoded, LlmError> {
    let data = ev.data.trim();
    if data.is_empty() {
        return Ok(Decoded::default());
    }
    let v: Value = serde_json::from_str(data).map_err(|e| LlmError::MalformedResponse {
        detail: format!(
            "stream event is not JSON ({e}): {}",
            crate::wire::snippet(data)
        ),
    })?;
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .or(ev.event.as_deref())
        .unwrap_or("");
    let mut out = Decoded::default();
    match kind {
        "message_start" => {
            out.model = v
                .get("message")
                .and_then(|m| m.get("model"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        "content_block_start" => {
            out.text = v
                .get("content_block")
                .and_then(|b| b.get("text"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
        }
        "content_block_delta" => {
            out.text = v
                .get("delta")
                .and_then(|d| d.get("text"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        "message_delta" => {
            out.finish_reason = v
                .get("delta")
                .and_then(|d| d.get("stop_reason"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        "message_stop" => out.done = true,
        "error" => {
            return Err(LlmError::Provider {
                message: v
                    .get("error")
                    .map_or_else(|| data.to_owned(), crate::wire::error_text),
            });
        }
        // ping, content_block_stop and future event types carry nothing we need.
        _ => {}
    }
    Ok(out)
}

/// A non-streamed response: `{content:[{type:"text",text}], stop_reason, model}`.
pub(crate) fn parse_full(v: &Value) -> Result<Completion, LlmError> {
    let content =
        v.get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| LlmError::MalformedResponse {
                detail: "the JSON response has no \"content\" array".to_owned(),
            })?;
    let text: String = content
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    Ok(Completion {
        text,
        model: v.get("model").and_then(Value::as_str).map(str::to_owned),
        finish_reason: v
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}
