//! Documents as ropes, and positions in the encoding the client negotiated; plus the plain-text
//! helpers the crate shares: identifier-shaped words, and the bytes and lines two texts share.
//!
//! LSP positions are `(line, character)` where `character` counts UTF-8 bytes, UTF-16 code
//! units or Unicode scalar values, depending on the negotiated `positionEncoding`. Ropes make
//! both the conversion and snapshots cheap.

use std::sync::OnceLock;

use regex::Regex;
use ropey::Rope;

/// The unit in which a position's `character` is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

/// A position error: the client named a place that is not in the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionError(pub String);

impl std::fmt::Display for PositionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PositionError {}

/// An open document: its text and the version the client gave it.
#[derive(Clone, Debug)]
pub struct TextDocument {
    pub rope: Rope,
    pub version: i32,
    pub language_id: String,
}

impl TextDocument {
    pub fn new(text: &str, version: i32, language_id: impl Into<String>) -> Self {
        Self {
            rope: Rope::from_str(text),
            version,
            language_id: language_id.into(),
        }
    }

    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    /// Replaces the text between two positions (or the whole text when `range` is `None`).
    pub fn apply_change(
        &mut self,
        range: Option<((u32, u32), (u32, u32))>,
        new_text: &str,
        encoding: Encoding,
    ) -> Result<(), PositionError> {
        match range {
            None => self.rope = Rope::from_str(new_text),
            Some((start, end)) => {
                let start = char_index(&self.rope, start, encoding)?;
                let end = char_index(&self.rope, end, encoding)?;
                if end < start {
                    return Err(PositionError(format!(
                        "range end is before its start ({end} < {start})"
                    )));
                }
                self.rope.remove(start..end);
                self.rope.insert(start, new_text);
            }
        }
        Ok(())
    }
}

/// The char index of `(line, character)` in `rope`.
///
/// A `character` past the end of the line clamps to the line end, as the LSP specification
/// asks; a line past the end of the document is an error, except the line just after the last
/// one, which means the end of the document.
pub fn char_index(
    rope: &Rope,
    (line, character): (u32, u32),
    encoding: Encoding,
) -> Result<usize, PositionError> {
    let line = line as usize;
    let lines = rope.len_lines();
    if line >= lines {
        if line == lines {
            return Ok(rope.len_chars());
        }
        return Err(PositionError(format!(
            "line {line} is past the end of the document ({lines} lines)"
        )));
    }
    let line_start = rope.line_to_char(line);
    let line_slice = rope.line(line);
    let content_chars = line_content_len(&line_slice);
    let character = character as usize;
    let offset = match encoding {
        Encoding::Utf32 => character.min(content_chars),
        Encoding::Utf16 => {
            let start_cu = rope.char_to_utf16_cu(line_start);
            let end_cu = rope.char_to_utf16_cu(line_start + content_chars);
            let target = (start_cu + character).min(end_cu);
            rope.utf16_cu_to_char(target) - line_start
        }
        Encoding::Utf8 => {
            let start_byte = rope.char_to_byte(line_start);
            let end_byte = rope.char_to_byte(line_start + content_chars);
            let target = (start_byte + character).min(end_byte);
            rope.byte_to_char(target) - line_start
        }
    };
    Ok(line_start + offset)
}

/// The `(line, character)` of a char index.
pub fn position(rope: &Rope, char_idx: usize, encoding: Encoding) -> (u32, u32) {
    let char_idx = char_idx.min(rope.len_chars());
    let line = rope.char_to_line(char_idx);
    let line_start = rope.line_to_char(line);
    let character = match encoding {
        Encoding::Utf32 => char_idx - line_start,
        Encoding::Utf16 => rope.char_to_utf16_cu(char_idx) - rope.char_to_utf16_cu(line_start),
        Encoding::Utf8 => rope.char_to_byte(char_idx) - rope.char_to_byte(line_start),
    };
    (line as u32, character as u32)
}

/// The end position of the whole text.
pub fn end_position(rope: &Rope, encoding: Encoding) -> (u32, u32) {
    position(rope, rope.len_chars(), encoding)
}

/// Length of a line without its line terminator (`\n`, `\r\n` or a lone `\r`).
fn line_content_len(line: &ropey::RopeSlice<'_>) -> usize {
    let len = line.len_chars();
    if len >= 2 && line.char(len - 2) == '\r' && line.char(len - 1) == '\n' {
        len - 2
    } else if len >= 1 && matches!(line.char(len - 1), '\n' | '\r') {
        len - 1
    } else {
        len
    }
}

/// The identifier-shaped words of `text` (`[A-Za-z_][A-Za-z0-9_]*`), in order.
pub(crate) fn words(text: &str) -> impl Iterator<Item = &str> {
    static WORD: OnceLock<Regex> = OnceLock::new();
    WORD.get_or_init(|| {
        Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("the word pattern is a constant")
    })
    .find_iter(text)
    .map(|m| m.as_str())
}

/// How many bytes `a` and `b` share at their start: whole 256-byte blocks first (a `memcmp`
/// each), then bytes.
pub fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 256;
    let blocks = a
        .chunks(BLOCK)
        .zip(b.chunks(BLOCK))
        .take_while(|(x, y)| x.len() == BLOCK && x == y)
        .count()
        * BLOCK;
    blocks
        + a[blocks..]
            .iter()
            .zip(&b[blocks..])
            .take_while(|(x, y)| x == y)
            .count()
}

/// How many bytes `a` and `b` share at their end, at most `limit` (at most the shorter length).
pub fn common_suffix(a: &[u8], b: &[u8], limit: usize) -> usize {
    const BLOCK: usize = 256;
    let limit = limit.min(a.len()).min(b.len());
    let (ra, rb) = (&a[a.len() - limit..], &b[b.len() - limit..]);
    let blocks = ra
        .rchunks(BLOCK)
        .zip(rb.rchunks(BLOCK))
        .take_while(|(x, y)| x.len() == BLOCK && x == y)
        .count()
        * BLOCK;
    blocks
        + ra[..ra.len() - blocks]
            .iter()
            .rev()
            .zip(rb[..rb.len() - blocks].iter().rev())
            .take_while(|(x, y)| x == y)
            .count()
}

/// Byte lengths of the whole lines `a` and `b` share at their start and at their end (not
/// overlapping). Both cut points are line starts (after a `\n`) or the ends of the texts.
pub fn common_lines(a: &str, b: &str) -> (usize, usize) {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let same = common_prefix(x, y);
    let head = if same == x.len() && same == y.len() {
        same
    } else {
        x[..same]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1)
    };
    let same = common_suffix(x, y, x.len().min(y.len()) - head);
    // The shared tail starts right after a `\n` that is itself shared (so it ends a line in
    // both texts), or is empty.
    let tail = x[x.len() - same..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(0, |i| same - i - 1);
    (head, tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_and_utf8_positions_count_differently() {
        // "é" is 1 UTF-16 unit and 2 UTF-8 bytes; "😀" is 2 UTF-16 units and 4 bytes.
        let rope = Rope::from_str("aé😀b\nnext");
        let b = 3; // char index of `b`
        assert_eq!(position(&rope, b, Encoding::Utf32), (0, 3));
        assert_eq!(position(&rope, b, Encoding::Utf16), (0, 4));
        assert_eq!(position(&rope, b, Encoding::Utf8), (0, 7));
        assert_eq!(char_index(&rope, (0, 4), Encoding::Utf16), Ok(b));
        assert_eq!(char_index(&rope, (0, 7), Encoding::Utf8), Ok(b));
        assert_eq!(char_index(&rope, (0, 3), Encoding::Utf32), Ok(b));
    }

    #[test]
    fn positions_clamp_to_line_end_and_reject_lines_past_the_end() {
        let rope = Rope::from_str("ab\r\ncd");
        assert_eq!(char_index(&rope, (0, 99), Encoding::Utf16), Ok(2));
        assert_eq!(char_index(&rope, (2, 0), Encoding::Utf16), Ok(6));
        assert!(char_index(&rope, (3, 0), Encoding::Utf16).is_err());
        assert_eq!(end_position(&rope, Encoding::Utf16), (1, 2));
    }

    #[test]
    fn incremental_change_in_utf16() {
        let mut doc = TextDocument::new("let s = \"😀x\";\n", 1, "rust");
        // Replace the `x` after the emoji: UTF-16 column 11 (emoji takes 2 units).
        doc.apply_change(Some(((0, 11), (0, 12))), "y", Encoding::Utf16)
            .expect("valid range");
        assert_eq!(doc.text(), "let s = \"😀y\";\n");
        assert!(
            doc.apply_change(Some(((0, 5), (0, 2))), "", Encoding::Utf16)
                .is_err()
        );
    }
}
