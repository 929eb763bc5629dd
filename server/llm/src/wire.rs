//! What the providers' wire formats share: the part of a reply one stream event contributes,
//! and the text of an error a server sent, cut to a readable length.

use serde_json::Value;

/// What one stream event contributed.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub text: Option<String>,
    pub finish_reason: Option<String>,
    pub model: Option<String>,
    pub done: bool,
}

/// The message inside an `error` value (object with `message`, or a plain string).
pub(crate) fn error_text(e: &Value) -> String {
    match e {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let msg = o.get("message").and_then(Value::as_str);
            let kind = o.get("type").and_then(Value::as_str);
            match (kind, msg) {
                (Some(k), Some(m)) => format!("{k}: {m}"),
                (None, Some(m)) => m.to_owned(),
                _ => snippet(&e.to_string()),
            }
        }
        other => snippet(&other.to_string()),
    }
}

/// At most 300 characters of `s`, for error messages.
pub(crate) fn snippet(s: &str) -> String {
    const MAX: usize = 300;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}
