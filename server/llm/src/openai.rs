//! The OpenAI-compatible chat-completions wire format (OpenAI, llama.cpp, vLLM, Ollama…).

use serde_json::{Value, json};

use crate::chat::{ChatRequest, Role};
use crate::sse::SseEvent;
use crate::wire::Decoded;
use crate::{Completion, LlmError};

/// The JSON body. Contents are already redacted by the caller.
pub(crate) fn body(model: &str, req: &ChatRequest) -> Value {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if !req.system.is_empty() {
        messages.push(json!({ "role": "system", "content": req.system }));
    }
    for m in &req.messages {
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        messages.push(json!({ "role": role, "content": m.content }));
    }
    json!({
        "model": model,
        "messages": messages,
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
        "stream": req.stream,
    })
}

/// One SSE event: `data: {choices:[{delta:{content}}]}` or `data: [DONE]`.
pub(crate) fn decode_event(ev: &SseEvent) -> Result<Decoded, LlmError> {
    let data = ev.data.trim();
    if data == "[DONE]" {
        return Ok(Decoded {
            done: true,
            ..Decoded::default()
        });
    }
    if data.is_empty() {
        return Ok(Decoded::default());
    }
    let v: Value = serde_json::from_str(data).map_err(|e| LlmError::MalformedResponse {
        detail: format!(
            "stream chunk is not JSON ({e}): {}",
            crate::wire::snippet(data)
        ),
    })?;
    if let Some(err) = v.get("error") {
        return Err(LlmError::Provider {
            message: crate::wire::error_text(err),
        });
    }
    let choice = v.get("choices").and_then(|c| c.get(0));
    let text = choice
        .and_then(|c| c.get("delta"))
        .and_then(|d| d.get("content"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let finish_reason = choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    // Chunks without choices (usage, timings) are fine; a JSON that is not an object is not.
    if !v.is_object() {
        return Err(LlmError::MalformedResponse {
            detail: format!(
                "stream chunk is not a JSON object: {}",
                crate::wire::snippet(data)
            ),
        });
    }
    Ok(Decoded {
        text,
        finish_reason,
        model: v.get("model").and_then(Value::as_str).map(str::to_owned),
        done: false,
    })
}

/// A non-streamed response: `{choices:[{message:{content}, finish_reason}], model}`.
pub(crate) fn parse_full(v: &Value) -> Result<Completion, LlmError> {
    let choice =
        v.get("choices")
            .and_then(|c| c.get(0))
            .ok_or_else(|| LlmError::MalformedResponse {
                detail: "the JSON response has no \"choices\"".to_owned(),
            })?;
    let text = match choice.get("message").and_then(|m| m.get("content")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => {
            return Err(LlmError::MalformedResponse {
                detail: format!("\"message.content\" is not a string: {other}"),
            });
        }
    };
    Ok(Completion {
        text,
        model: v.get("model").and_then(Value::as_str).map(str::to_owned),
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}
