//! Conversions from the gate's plain data to LSP: minimal text edits, diagnostics, messages.

use autogate_analysis::text::common_lines;
use autogate_analysis::{Encoding, Level};
use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticSeverity, NumberOrString, Position, Range, TextEdit,
};

use crate::gate::ChangeRecord;

/// Minimal text edits turning `before` into `after`, line-granular, in `encoding`.
///
/// Lines common to both ends are skipped before the line diff, so a one-line change in a big
/// file costs a scan of the file, not a diff of it; positions are counted once, forward.
pub fn text_edits(before: &str, after: &str, encoding: Encoding) -> Vec<TextEdit> {
    let (head, tail) = common_lines(before, after);
    let old = &before[head..before.len() - tail];
    let new = &after[head..after.len() - tail];
    let diff = similar::TextDiff::from_lines(old, new);
    let old_lines: Vec<&str> = (0..diff.old_len())
        .filter_map(|i| diff.old_slice(i))
        .collect();
    let new_lines: Vec<&str> = (0..diff.new_len())
        .filter_map(|i| diff.new_slice(i))
        .collect();
    let old_starts = line_starts(head, &old_lines);
    let mut cursor = Cursor::new(before, encoding);
    let mut edits = Vec::new();
    // Only the lengths of the ops are used, the indices are counted here: similar before 3.0
    // misreported them after a deletion (mitsuhiko/similar#78), which corrupted edits.
    let (mut old_at, mut new_at) = (0, 0);
    for op in diff.ops() {
        let (old_len, new_len) = (op.old_range().len(), op.new_range().len());
        if !matches!(op, similar::DiffOp::Equal { .. }) {
            let start = cursor.position(old_starts[old_at]);
            let end = cursor.position(old_starts[old_at + old_len]);
            edits.push(TextEdit {
                range: Range { start, end },
                new_text: new_lines[new_at..new_at + new_len].concat(),
            });
        }
        old_at += old_len;
        new_at += new_len;
    }
    edits
}

/// Byte offsets of the start of each line in `lines` (which begin at byte `base`), plus the
/// end of the last one.
fn line_starts(base: usize, lines: &[&str]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(lines.len() + 1);
    let mut at = base;
    starts.push(at);
    for line in lines {
        at += line.len();
        starts.push(at);
    }
    starts
}

/// Converts increasing byte offsets of a text to LSP positions, counting lines once.
struct Cursor<'t> {
    text: &'t str,
    encoding: Encoding,
    /// Where counting stopped, the line there and the byte where that line starts.
    at: usize,
    line: u32,
    line_start: usize,
}

impl<'t> Cursor<'t> {
    fn new(text: &'t str, encoding: Encoding) -> Self {
        Self {
            text,
            encoding,
            at: 0,
            line: 0,
            line_start: 0,
        }
    }

    /// The position of byte `offset` (at least the previous one; on a char boundary). Line
    /// breaks are LSP's: `\n`, `\r\n` and a lone `\r`.
    fn position(&mut self, offset: usize) -> Position {
        let bytes = &self.text.as_bytes()[..offset];
        let span = &bytes[self.at..];
        if !span.contains(&b'\r') {
            for i in memchr::memchr_iter(b'\n', span) {
                self.line += 1;
                self.line_start = self.at + i + 1;
            }
        } else {
            for (i, &c) in span.iter().enumerate() {
                let at = self.at + i;
                let next = self.text.as_bytes().get(at + 1);
                let lone_cr = c == b'\r' && next.is_none_or(|&n| n != b'\n');
                if c == b'\n' || lone_cr {
                    self.line += 1;
                    self.line_start = at + 1;
                }
            }
        }
        self.at = offset;
        let column = &self.text[self.line_start..offset];
        let character = match self.encoding {
            Encoding::Utf8 => column.len(),
            Encoding::Utf16 => column.encode_utf16().count(),
            Encoding::Utf32 => column.chars().count(),
        };
        Position {
            line: self.line,
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
    }
}

/// The range of a change's first edit in `before`, for its diagnostic and code actions.
pub fn first_changed_range(before: &str, after: &str, encoding: Encoding) -> Range {
    text_edits(before, after, encoding)
        .first()
        .map(|e| e.range)
        .unwrap_or_default()
}

/// The diagnostic of a pending change: level, reasons and what to do.
pub fn pending_diagnostic(change: &ChangeRecord, range: Range) -> Diagnostic {
    let severity = match change.level() {
        Level::Critical | Level::High => DiagnosticSeverity::WARNING,
        _ => DiagnosticSeverity::INFORMATION,
    };
    Diagnostic {
        range,
        severity: Some(severity),
        code: Some(NumberOrString::String(format!("change-{}", change.id))),
        source: Some("autogate".to_owned()),
        message: format!(
            "autogate change {} ({}) waits for approval: {}. Use the code actions Approve/Reject/Show diff.",
            change.id,
            change.level(),
            change.summary().reasons.join("; ")
        ),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(before: &str, edits: &[TextEdit]) -> String {
        crate::lsp::from_proto::apply_text_edits("t", before, edits, Encoding::Utf16)
            .expect("edits fit")
    }

    #[test]
    fn edits_round_trip_including_missing_final_newline_and_utf16() {
        for (before, after) in [
            ("a\nb\nc\n", "a\nB\nc\n"),
            ("a\nb", "a\nb\nc"),
            ("", "new\n"),
            ("gone\n", ""),
            ("x😀\ny\n", "x😀\nz\ny\n"),
            ("crlf\r\nline\r\n", "crlf\r\nLINE\r\n"),
            ("lone\rcr\nx\n", "lone\rcr\ny\n"),
            ("a\rb\rc", "a\rb\rd"),
            ("a\r\nb", "a\r\nb\r\n"),
            ("aa\n", "aaa\n"),
            ("a\na\na\n", "a\na\n"),
            ("x\ny\nx\ny\n", "x\ny\nz\nx\ny\n"),
            ("é\nü", "é\nüx"),
            ("same\n", "same\n"),
            ("no newline", "no newline at all"),
        ] {
            let edits = text_edits(before, after, Encoding::Utf16);
            assert_eq!(apply(before, &edits), after, "{before:?} -> {after:?}");
        }
    }

    proptest::proptest! {
        /// Any pair of texts over line-break-heavy alphabets round-trips, in every encoding.
        #[test]
        fn edits_round_trip_for_random_texts(
            before in "[ab\r\n😀é]{0,40}",
            after in "[ab\r\n😀é]{0,40}",
        ) {
            for encoding in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
                let edits = text_edits(&before, &after, encoding);
                let applied = crate::lsp::from_proto::apply_text_edits("t", &before, &edits, encoding)
                    .expect("edits fit");
                proptest::prop_assert_eq!(&applied, &after);
            }
        }
    }
}
