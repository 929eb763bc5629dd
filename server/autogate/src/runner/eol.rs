//! Line endings: the one a file mostly uses, which the runner's operations keep.

/// The line ending a file mostly uses: `"\r\n"` when most of its lines end that way.
pub(crate) fn dominant_eol(text: &str) -> &'static str {
    let lf = text.matches('\n').count();
    let crlf = text.matches("\r\n").count();
    if crlf * 2 > lf { "\r\n" } else { "\n" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eol_follows_the_majority() {
        assert_eq!(dominant_eol("a\r\nb\r\n"), "\r\n");
        assert_eq!(dominant_eol("a\nb\r\nc\n"), "\n");
        assert_eq!(dominant_eol("no newline"), "\n");
    }
}
