//! Logs on stderr through a redacting writer: no secret reaches a log, at any level.
//!
//! Every formatted event (ours, and tower-lsp-server's `trace` of raw JSON-RPC frames, which
//! carry whole documents and patches) is buffered and passes through [`redact_log`] before it
//! is written. Frames are JSON, so line breaks and quotes inside their strings are escaped;
//! they are unescaped first, so that the line-based rules (`.env` lines, diff lines, PEM
//! blocks) see real lines, and the event is put back on one line afterwards.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

/// A [`MakeWriter`] for stderr whose writers redact each event before writing it.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            buf: Vec::new(),
            file: None,
        }
    }
}

/// A [`MakeWriter`] for a log file (`AUTOGATE_LOG_FILE`), appended to, redacted like stderr.
#[derive(Clone, Debug)]
pub struct RedactingFile(pub std::sync::Arc<std::sync::Mutex<std::fs::File>>);

impl<'a> MakeWriter<'a> for RedactingFile {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            buf: Vec::new(),
            file: Some(self.0.clone()),
        }
    }
}

/// Buffers one event; redacts and writes it (to its file, or to stderr) when dropped.
#[derive(Debug)]
pub struct RedactingWriter {
    buf: Vec<u8>,
    file: Option<std::sync::Arc<std::sync::Mutex<std::fs::File>>>,
}

impl Write for RedactingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let redacted = redact_log(&text);
        match &self.file {
            Some(file) => {
                if let Ok(mut file) = file.lock() {
                    let _ = file.write_all(redacted.as_bytes());
                }
            }
            None => {
                let _ = std::io::stderr().lock().write_all(redacted.as_bytes());
            }
        }
    }
}

/// Sends panic messages through the logs (and so through [`redact_log`]) instead of the
/// default hook's raw write to stderr: a panic message may quote the text it failed on
/// (a `str` slicing panic quotes the string). The backtrace follows when `RUST_BACKTRACE`
/// asks for one.
pub fn route_panics_through_logs() {
    std::panic::set_hook(Box::new(|info| {
        let backtrace = std::backtrace::Backtrace::capture();
        match backtrace.status() {
            std::backtrace::BacktraceStatus::Captured => {
                tracing::error!(target: "panic", "{info}\n{backtrace}");
            }
            _ => tracing::error!(target: "panic", "{info}"),
        }
    }));
}

/// Redacts one formatted log event (one line, maybe holding escaped JSON or `Debug` text).
pub fn redact_log(event: &str) -> String {
    let (body, eol) = match event.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (event, ""),
    };
    // `\\` first, so that an escaped backslash before an `n` is not read as a line break.
    const SLASH: &str = "\u{0}";
    let unescaped = body
        .replace("\\\\", SLASH)
        .replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\\"", "\"")
        .replace(SLASH, "\\");
    let once = crate::gate::redact(&unescaped);
    // A JSON string value starts a line of its own: a document's first line
    // (`"text":"DB_PASSWORD=…`) is a line to the rules too.
    const SPLIT: &str = "\u{1}\n";
    let split = once
        .replace("\":\"", &format!("\":\"{SPLIT}"))
        .replace("[\"", &format!("[\"{SPLIT}"))
        .replace(",\"", &format!(",\"{SPLIT}"));
    let redacted = crate::gate::redact(&split).replace(SPLIT, "");
    if redacted == unescaped {
        return event.to_owned();
    }
    let mut out = redacted.replace('\n', "\\n");
    out.push_str(eol);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_frames_are_redacted_and_stay_on_one_line() {
        let frame = r#"TRACE tower_lsp_server::codec: <- {"jsonrpc":"2.0","params":{"patch":"--- a/.env\n+++ b/.env\n@@ -0,0 +1 @@\n+DB_PASSWORD=S3cr3t!Pass@w0rd\n+url: \"postgres://u:Pr0dPassw0rd@db.internal/app\"\n"}}"#;
        let out = redact_log(&format!("{frame}\n"));
        assert!(!out.contains("S3cr3t!Pass@w0rd"), "{out}");
        assert!(!out.contains("Pr0dPassw0rd"), "{out}");
        assert!(out.contains("DB_PASSWORD=[REDACTED"), "{out}");
        assert_eq!(out.matches('\n').count(), 1, "{out}");
        let open = r#"TRACE tower_lsp_server::codec: <- {"params":{"textDocument":{"text":"DB_PASSWORD=S3cr3t!Pass@w0rd\nX=1\n","uri":"file:///w/.env"}}}"#;
        let out = redact_log(open);
        assert!(!out.contains("S3cr3t!Pass@w0rd"), "{out}");
        assert!(out.contains(r#""uri":"file:///w/.env""#), "{out}");
        let plain = "INFO autogate: initialized\n";
        assert_eq!(redact_log(plain), plain);
    }
}
