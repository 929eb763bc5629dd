//! `tidy`: trailing whitespace removed, exactly one final newline, line endings kept.

use tree_sitter::Tree;

use super::eol::dominant_eol;
use super::{Proposal, RunError, single_file};
use autogate_analysis::Language;

/// Whitespace that `tidy` removes at the end of a line (line breaks themselves are kept).
fn is_trailing_space(c: char) -> bool {
    c.is_whitespace() && c != '\n' && c != '\r'
}

/// Tidies one file: removes trailing whitespace, removes blank lines at the end and ends the
/// file with exactly one newline. Each line keeps its own ending (a CRLF file stays CRLF).
///
/// In the languages of [`Language`], whitespace inside string literals (multi-line strings, raw
/// strings, template literals) is kept, since it is part of the program. In Markdown, two or
/// more trailing spaces (a hard line break) are kept. An empty file stays empty.
pub fn tidy(path: &str, text: &str) -> Result<Proposal, RunError> {
    let after = tidy_text(path, text);
    single_file("tidy", path, text, after, "is already tidy")
}

pub(crate) fn tidy_text(path: &str, text: &str) -> String {
    let tree = Language::from_path(path).and_then(|lang| lang.parse(text));
    let markdown = {
        let lower = path.to_ascii_lowercase();
        lower.ends_with(".md") || lower.ends_with(".markdown")
    };
    let mut lines: Vec<(&str, &str)> = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let (body, ending) = if let Some(b) = raw.strip_suffix("\r\n") {
            (b, "\r\n")
        } else if let Some(b) = raw.strip_suffix('\n') {
            (b, "\n")
        } else {
            (raw, "")
        };
        let trimmed = body.trim_end_matches(is_trailing_space);
        let keep = trimmed.len() < body.len()
            && ((markdown
                && body[trimmed.len()..].chars().all(|c| c == ' ')
                && body.len() - trimmed.len() >= 2)
                || tree
                    .as_ref()
                    .is_some_and(|t| in_string(t, start + trimmed.len())));
        lines.push((if keep { body } else { trimmed }, ending));
    }
    while lines.last().is_some_and(|(body, _)| body.is_empty()) {
        lines.pop();
    }
    let eol = dominant_eol(text);
    let mut out = String::with_capacity(text.len() + 2);
    for (body, ending) in &lines {
        out.push_str(body);
        out.push_str(if ending.is_empty() { eol } else { ending });
    }
    out
}

/// Whether the byte at `offset` lies inside a string-like literal.
fn in_string(tree: &Tree, offset: usize) -> bool {
    let Some(mut node) = tree
        .root_node()
        .descendant_for_byte_range(offset, offset + 1)
    else {
        return false;
    };
    loop {
        let kind = node.kind();
        if kind.contains("string") || kind.contains("template") || kind == "text_block" {
            return true;
        }
        match node.parent() {
            Some(parent) => node = parent,
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_whitespace_and_final_newlines() {
        assert_eq!(tidy_text("a.txt", "a  \nb\t\n\n\n"), "a\nb\n");
        assert_eq!(tidy_text("a.txt", "a\nb"), "a\nb\n");
        assert_eq!(tidy_text("a.txt", ""), "");
        assert_eq!(tidy_text("a.txt", "\n \n"), "");
    }

    #[test]
    fn crlf_stays_crlf() {
        assert_eq!(
            tidy_text("a.c", "int a; \r\nint b;\t\r\n\r\n"),
            "int a;\r\nint b;\r\n"
        );
        assert_eq!(tidy_text("a.c", "int a;\r\nint b;"), "int a;\r\nint b;\r\n");
    }

    #[test]
    fn string_literals_keep_their_whitespace() {
        let src = "fn f() -> &'static str {  \n    \"a  \nb\"\n}\n";
        assert_eq!(
            tidy_text("x.rs", src),
            "fn f() -> &'static str {\n    \"a  \nb\"\n}\n"
        );
        let py = "X = \"\"\"a  \nb\"\"\"   \n";
        assert_eq!(tidy_text("x.py", py), "X = \"\"\"a  \nb\"\"\"\n");
        let js = "const t = `a  \nb`;  \n";
        assert_eq!(tidy_text("x.js", js), "const t = `a  \nb`;\n");
    }

    #[test]
    fn markdown_hard_breaks_are_kept() {
        assert_eq!(tidy_text("README.md", "a  \nb \n"), "a  \nb\n");
    }

    #[test]
    fn already_tidy_is_nothing_to_change() {
        let err = tidy("a.txt", "a\n").unwrap_err();
        assert!(err.is_nothing_to_change());
        assert_eq!(
            err.to_string(),
            "tidy: a.txt is already tidy; nothing to change"
        );
    }
}
