//! Conversions from the gate's plain data to LSP: minimal text edits, diagnostics, messages.

use autogate_analysis::text::position;
use autogate_analysis::{Encoding, Level};
use ropey::Rope;
use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticSeverity, NumberOrString, Position, Range, TextEdit,
};

use crate::gate::ChangeRecord;

/// Minimal text edits turning `before` into `after`, line-granular, in `encoding`.
pub fn text_edits(before: &str, after: &str, encoding: Encoding) -> Vec<TextEdit> {
    let rope = Rope::from_str(before);
    let line_starts = line_char_starts(before);
    let diff = similar::TextDiff::from_lines(before, after);
    let new_lines: Vec<&str> = diff.new_slices().to_vec();
    let mut edits = Vec::new();
    for op in diff.ops() {
        if let similar::DiffOp::Equal { .. } = op {
            continue;
        }
        let old = op.old_range();
        let new = op.new_range();
        let start = line_starts[old.start];
        let end = line_starts[old.end];
        edits.push(TextEdit {
            range: Range {
                start: to_position(&rope, start, encoding),
                end: to_position(&rope, end, encoding),
            },
            new_text: new_lines[new].concat(),
        });
    }
    edits
}

/// Char offsets of the start of each `\n`-terminated line, plus the end of the text.
fn line_char_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut acc = 0;
    for line in text.split_inclusive('\n') {
        acc += line.chars().count();
        starts.push(acc);
    }
    if starts.len() == 1 {
        starts.push(0);
    }
    starts
}

fn to_position(rope: &Rope, char_idx: usize, encoding: Encoding) -> Position {
    let (line, character) = position(rope, char_idx, encoding);
    Position { line, character }
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
        ] {
            let edits = text_edits(before, after, Encoding::Utf16);
            assert_eq!(apply(before, &edits), after, "{before:?} -> {after:?}");
        }
    }
}
