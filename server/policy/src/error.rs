//! Policy file errors: a position (`file:line:col`), a message and a hint.

use std::fmt;
use std::ops::Range;

/// One mistake in a policy file.
///
/// `Display` is `file:line:col: message (hint: ...)`. Lines and columns are 1-based; columns
/// count characters, not bytes. The message never repeats a value that may be a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// What to do about it. Never empty for errors from [`crate::Policy::from_toml`].
    pub hint: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        if !self.hint.is_empty() {
            write!(f, " (hint: {})", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

/// Turns byte spans into lines and columns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Source<'a> {
    pub text: &'a str,
    pub file: &'a str,
}

impl Source<'_> {
    /// 1-based line and character column of byte `offset`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    pub fn line_of(&self, span: &Range<usize>) -> usize {
        self.position(span.start).0
    }

    pub fn error(
        &self,
        span: &Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> PolicyError {
        let (line, col) = self.position(span.start);
        PolicyError {
            file: self.file.to_owned(),
            line,
            col,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|&(d, c)| d <= 1.max(c.chars().count() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
/// of neighbours each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let source = Source {
            text: "a = 1\né = \"x\"\n",
            file: "f",
        };
        assert_eq!(source.position(0), (1, 1));
        assert_eq!(source.position(4), (1, 5));
        assert_eq!(source.position(6), (2, 1));
        // `é` is two bytes: the `=` after it is character 3.
        assert_eq!(source.position(9), (2, 3));
        assert_eq!(source.position(1000), (3, 1));
    }

    #[test]
    fn typos_find_their_word() {
        assert_eq!(did_you_mean("mdoe", ["mode", "rules"]), Some("mode"));
        assert_eq!(did_you_mean("hihg", ["low", "high"]), Some("high"));
        assert_eq!(did_you_mean("fast", ["auto", "ask", "plan"]), None);
        assert_eq!(did_you_mean("zzzzzz", ["mode", "rules"]), None);
    }

    #[test]
    fn display_has_position_message_and_hint() {
        let error = PolicyError {
            file: ".autogate.toml".into(),
            line: 3,
            col: 7,
            message: "bad".into(),
            hint: "fix it".into(),
        };
        assert_eq!(error.to_string(), ".autogate.toml:3:7: bad (hint: fix it)");
    }
}
