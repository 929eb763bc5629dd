//! Keeps malformed messages and broken framing from stopping the server.
//!
//! tower-lsp-server reads with tokio-util's `FramedRead`, which ends the stream after the first
//! decode error: one frame of invalid JSON, or JSON that is not a JSON-RPC message, would make the
//! server stop reading for good. This guard sits between the client and tower-lsp-server. It
//! passes every well-formed frame through unchanged, and replaces a malformed one with a request
//! for [`MALFORMED_METHOD`], whose handler answers with the JSON-RPC error the client should get
//! (`-32700` parse error, or `-32600` invalid request with the original id when there is one).
//!
//! Framing itself is repaired too, so the server never goes deaf:
//! - header lines are bytes, not text: one that is not UTF-8 is ignored like any header other
//!   than `Content-Length`;
//! - a `Content-Length` that is not a number is answered with a parse error, and reading
//!   resynchronises on the next `Content-Length` header, wherever it starts on its line;
//! - a `Content-Length` that is too short leaves a body that does not parse (answered), and the
//!   rest of it is skipped up to the next header;
//! - a `Content-Length` that is too long is caught when a complete JSON message is followed by
//!   the next header, or when nothing more arrives for [`IDLE`]: the message is answered with an
//!   error naming its id, never executed, since its framing lied.
//!
//! Everything skipped is logged. Only an I/O error, or more than [`MAX_MESSAGE`] bytes of
//! garbage without a header, is beyond repair: [`run`] then returns [`Broken`], and the process
//! exits non-zero with that log line.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tower_lsp_server::jsonrpc::{self, Request, Response};

/// The private method a malformed frame is turned into.
pub const MALFORMED_METHOD: &str = "autogate/malformedMessage";

/// Largest message accepted (64 MiB); a larger Content-Length is answered with an error. Also
/// the most garbage skipped in a row before the stream is given up.
const MAX_MESSAGE: usize = 64 << 20;

/// A header line longer than this is garbage: it is searched for a header, not kept whole.
const MAX_HEADER_LINE: usize = 8 << 10;

/// How long a body may stall, once it holds a complete JSON message, before its
/// `Content-Length` is taken to be too long.
const IDLE: Duration = Duration::from_millis(300);

const HEADER: &[u8] = b"content-length:";

/// The input stream cannot be read or resynchronised; the server should exit non-zero.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct Broken(pub String);

/// Bytes read from the client and not yet consumed.
struct Input<R> {
    inner: R,
    buf: Vec<u8>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> Input<R> {
    /// Reads more bytes; false at EOF.
    async fn fill(&mut self) -> Result<bool, Broken> {
        if self.eof {
            return Ok(false);
        }
        let mut chunk = vec![0u8; 64 << 10];
        match self.inner.read(&mut chunk).await {
            Ok(0) => {
                self.eof = true;
                Ok(false)
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) => Err(Broken(format!("cannot read from the client: {e}"))),
        }
    }

    /// Like [`Input::fill`], but gives up after `wait` (`None`: it timed out).
    async fn fill_within(&mut self, wait: Duration) -> Result<Option<bool>, Broken> {
        match tokio::time::timeout(wait, self.fill()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }
}

/// Where a `Content-Length` header starts in `bytes` (case-insensitive), if anywhere.
fn find_header(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(HEADER.len())
        .position(|w| w.eq_ignore_ascii_case(HEADER))
}

/// What a header block said.
enum Headers {
    /// A body of this many bytes follows.
    Length(usize),
    /// The block was unusable; the error the client gets.
    Error(String),
}

/// Copies framed messages from `input` to `output`, repairing malformed ones. Ends at EOF
/// (`Ok`), or with [`Broken`] when the stream cannot be read or resynchronised.
pub async fn run<R, W>(input: R, mut output: W) -> Result<(), Broken>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut input = Input {
        inner: input,
        buf: Vec::new(),
        eof: false,
    };
    loop {
        let Some(headers) = read_headers(&mut input).await? else {
            return Ok(());
        };
        let frame = match headers {
            Headers::Error(error) => unframed(&mut input, &error)
                .await?
                .unwrap_or_else(|| malformed(Value::Null, jsonrpc::ErrorCode::ParseError, &error)),
            Headers::Length(n) => match read_body(&mut input, n).await? {
                Some(frame) => frame,
                None => {
                    if !input.buf.is_empty() {
                        tracing::warn!(
                            bytes = input.buf.len(),
                            expected = n,
                            "the client closed the stream in the middle of a message"
                        );
                    }
                    return Ok(());
                }
            },
        };
        let header = format!("Content-Length: {}\r\n\r\n", frame.len());
        if output.write_all(header.as_bytes()).await.is_err()
            || output.write_all(&frame).await.is_err()
            || output.flush().await.is_err()
        {
            return Ok(());
        }
    }
}

/// Reads one header block, resynchronising on a `Content-Length` header after garbage. `None`
/// at EOF.
async fn read_headers<R: AsyncRead + Unpin>(
    input: &mut Input<R>,
) -> Result<Option<Headers>, Broken> {
    let mut length: Option<usize> = None;
    let mut error: Option<String> = None;
    let mut skipped = 0usize;
    loop {
        let Some(newline) = input.buf.iter().position(|&b| b == b'\n') else {
            if input.buf.len() > MAX_HEADER_LINE {
                // A line this long is no header: keep only what may start one.
                let keep = match find_header(&input.buf) {
                    Some(at) => at,
                    None => input.buf.len() - (HEADER.len() - 1),
                };
                if keep > 0 {
                    skipped += keep;
                    input.buf.drain(..keep);
                }
                if skipped > MAX_MESSAGE {
                    let broken = Broken(format!(
                        "more than {MAX_MESSAGE} bytes from the client without a Content-Length \
                         header; the stream cannot be resynchronised"
                    ));
                    tracing::error!("{broken}");
                    return Err(broken);
                }
            }
            if !input.fill().await? {
                if skipped > 0 || !input.buf.is_empty() {
                    tracing::warn!(
                        bytes = skipped + input.buf.len(),
                        "the client closed the stream after bytes that were not a message"
                    );
                }
                return Ok(None);
            }
            continue;
        };
        let line: Vec<u8> = input.buf.drain(..=newline).collect();
        let mut line = line.as_slice();
        while let [rest @ .., b'\r' | b'\n'] = line {
            line = rest;
        }
        if line.is_empty() {
            if let Some(error) = error {
                return Ok(Some(Headers::Error(error)));
            }
            if let Some(n) = length {
                return Ok(Some(Headers::Length(n)));
            }
            continue; // a stray blank line between messages
        }
        // A header may follow garbage on its line: the rest of a body whose length was short.
        let start = find_header(line).unwrap_or(0);
        if start > 0 {
            tracing::warn!(
                bytes = start,
                "skipped bytes from the client that were not a message"
            );
            line = &line[start..];
        }
        let text = String::from_utf8_lossy(line);
        let Some((name, value)) = text.split_once(':') else {
            tracing::warn!(line = %text, "skipped a line from the client that is not a header");
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("content-length") {
            continue; // Content-Type or any other header, valid or not
        }
        if length.is_some() || error.is_some() {
            // A second Content-Length: the block before it was lost; start again from here.
            tracing::warn!("a header block without its blank line; resynchronised on the next");
            length = None;
            error = None;
        }
        match value.trim().parse::<usize>() {
            Ok(n) if n <= MAX_MESSAGE => length = Some(n),
            Ok(n) => {
                error = Some(format!(
                    "message of {n} bytes is over the {MAX_MESSAGE}-byte limit"
                ))
            }
            Err(_) => error = Some(format!("invalid Content-Length `{}`", value.trim())),
        }
    }
}

/// Reads a body of `n` bytes and returns the frame to forward; `None` at EOF. A body that
/// ends early (a complete JSON message followed by the next header, or by silence) is answered
/// as a framing error and the rest is left for [`read_headers`].
async fn read_body<R: AsyncRead + Unpin>(
    input: &mut Input<R>,
    n: usize,
) -> Result<Option<Vec<u8>>, Broken> {
    let mut searched = 0usize;
    loop {
        if input.buf.len() >= n {
            let body: Vec<u8> = input.buf.drain(..n).collect();
            return Ok(Some(check(body)));
        }
        // The next header inside what should be this body: was the length too long?
        let from = searched.saturating_sub(HEADER.len());
        if let Some(at) = find_header(&input.buf[from..]).map(|p| p + from)
            && let Some(frame) = ended_early(&input.buf[..at], n)
        {
            input.buf.drain(..at);
            return Ok(Some(frame));
        }
        searched = input.buf.len();
        let waited = if input.buf.is_empty() {
            Some(input.fill().await?)
        } else {
            input.fill_within(IDLE).await?
        };
        match waited {
            Some(true) => {}
            Some(false) => return Ok(None),
            None => {
                // Silence: a complete message that is shorter than announced.
                if let Some(frame) = ended_early(&input.buf, n) {
                    input.buf.clear();
                    return Ok(Some(frame));
                }
            }
        }
    }
}

/// If `bytes` hold a complete JSON value, the repair for a message shorter than its
/// `Content-Length` said: an error for its id. It is never forwarded as it is.
fn ended_early(bytes: &[u8], n: usize) -> Option<Vec<u8>> {
    refused(
        bytes,
        jsonrpc::ErrorCode::InvalidRequest,
        &format!(
            "Content-Length {n} does not match the message ({} bytes); it was not executed",
            bytes.len()
        ),
    )
}

/// If `bytes` hold a complete JSON value: `error` for its id (a request's), else `None`.
fn refused(bytes: &[u8], code: jsonrpc::ErrorCode, error: &str) -> Option<Vec<u8>> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) if value.get("method").is_some() => {
            id.clone()
        }
        _ => Value::Null,
    };
    Some(malformed(id, code, error))
}

/// After a header block without a usable length: if the bytes up to the next header (or up
/// to a pause of [`IDLE`]) are one complete JSON message, consumes it and returns `error` for
/// its id, so the request is answered by id (never executed). `None`: the bytes are left for
/// [`read_headers`] to skip.
async fn unframed<R: AsyncRead + Unpin>(
    input: &mut Input<R>,
    error: &str,
) -> Result<Option<Vec<u8>>, Broken> {
    let error = format!("{error}; the message was not executed");
    loop {
        if let Some(at) = find_header(&input.buf) {
            let frame = refused(&input.buf[..at], jsonrpc::ErrorCode::ParseError, &error);
            if frame.is_some() {
                input.buf.drain(..at);
            }
            return Ok(frame);
        }
        if input.buf.len() > MAX_MESSAGE {
            return Ok(None);
        }
        match input.fill_within(IDLE).await? {
            Some(true) => {}
            Some(false) | None => {
                let frame = refused(&input.buf, jsonrpc::ErrorCode::ParseError, &error);
                if frame.is_some() {
                    input.buf.clear();
                }
                return Ok(frame);
            }
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
