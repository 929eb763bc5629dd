//! Keeps malformed messages from stopping the server.
//!
//! tower-lsp-server reads with tokio-util's `FramedRead`, which ends the stream after the first
//! decode error: one frame of invalid JSON, or JSON that is not a JSON-RPC message, would make the
//! server stop reading for good. This guard sits between the client and tower-lsp-server. It
//! passes every well-formed frame through unchanged, and replaces a malformed one with a request
//! for [`MALFORMED_METHOD`], whose handler answers with the JSON-RPC error the client should get
//! (`-32700` parse error, or `-32600` invalid request with the original id when there is one).

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tower_lsp_server::jsonrpc::{self, Request, Response};

/// The private method a malformed frame is turned into.
pub const MALFORMED_METHOD: &str = "autogate/malformedMessage";

/// Largest message accepted (64 MiB); a larger Content-Length is answered with an error.
const MAX_MESSAGE: usize = 64 << 20;

/// Copies framed messages from `input` to `output`, repairing malformed ones. Ends at EOF.
pub async fn run<R, W>(input: R, mut output: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(input);
    loop {
        let mut length: Option<usize> = None;
        let mut header_error = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if length.is_some() || header_error.is_some() {
                    break;
                }
                continue; // stray blank line between messages
            }
            if let Some((name, value)) = line.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-length")
            {
                match value.trim().parse::<usize>() {
                    Ok(n) if n <= MAX_MESSAGE => length = Some(n),
                    Ok(n) => {
                        header_error = Some(format!(
                            "message of {n} bytes is over the {MAX_MESSAGE}-byte limit"
                        ))
                    }
                    Err(_) => {
                        header_error = Some(format!("invalid Content-Length `{}`", value.trim()))
                    }
                }
            }
        }
        let frame = match (length, header_error) {
            (Some(n), None) => {
                let mut body = vec![0; n];
                if reader.read_exact(&mut body).await.is_err() {
                    return;
                }
                check(body)
            }
            (_, Some(error)) => malformed(Value::Null, jsonrpc::ErrorCode::ParseError, &error),
            (None, None) => continue,
        };
        let header = format!("Content-Length: {}\r\n\r\n", frame.len());
        if output.write_all(header.as_bytes()).await.is_err()
            || output.write_all(&frame).await.is_err()
            || output.flush().await.is_err()
        {
            return;
        }
    }
}

/// The frame to forward: the body itself when it is a JSON-RPC message, else a repair.
fn check(body: Vec<u8>) -> Vec<u8> {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return malformed(
                Value::Null,
                jsonrpc::ErrorCode::ParseError,
                &format!("invalid JSON: {e}"),
            );
        }
    };
    let is_request = value.get("method").is_some();
    let ok = if is_request {
        serde_json::from_value::<Request>(value.clone()).is_ok()
    } else {
        serde_json::from_value::<Response>(value.clone()).is_ok()
    };
    if ok {
        return body;
    }
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    malformed(
        id,
        jsonrpc::ErrorCode::InvalidRequest,
        "not a valid JSON-RPC 2.0 message",
    )
}

fn malformed(id: Value, code: jsonrpc::ErrorCode, message: &str) -> Vec<u8> {
    tracing::warn!("malformed message from the client: {message}");
    let request = json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": MALFORMED_METHOD,
        "params": { "code": code.code(), "message": message },
    });
    serde_json::to_vec(&request).unwrap_or_default()
}

/// The handler behind [`MALFORMED_METHOD`]: answers with the error the guard recorded.
pub fn answer(params: Value) -> jsonrpc::Error {
    let code = params.get("code").and_then(Value::as_i64).unwrap_or(-32700);
    let message = params
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("malformed message")
        .to_owned();
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::from(code),
        message: message.into(),
        data: None,
    }
}
