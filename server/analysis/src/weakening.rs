//! Weakening that is not a call: suppressions of security tools added where they matter, and
//! the names that say a value is a secret (for non-cryptographic randomness, which
//! `crate::resolve` finds).
//!
//! A suppression (`# nosec`, `# noqa: S…`, `// NOLINT`, `//nolint`, `// NOSONAR`,
//! `// @ts-ignore`, `// eslint-disable…`, `#[allow(…)]`, `@SuppressWarnings`, …) counts when
//! the change adds it on a sensitive line, above a sensitive item, in a sensitive function, or,
//! for the file-wide ones, over a sensitive file.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;
use tree_sitter::Tree;

use crate::capabilities::Capability;
use crate::languages::Language;
use crate::naming::is_secret_name;
use crate::resolve::{Resolver, is_function_like};

/// What makes rows sensitive, for suppressions: the capabilities called on them (already
/// there or new), as `(row, what)`.
pub(crate) fn sensitive_rows(
    lang: Language,
    tree: &Tree,
    src: &str,
    rows: &BTreeSet<usize>,
) -> Vec<(usize, String)> {
    let mut resolver = Resolver::new(lang, tree, src);
    let mut out: Vec<(usize, String)> = resolver
        .hits(Some(rows), None)
        .into_iter()
        .filter(|h| {
            h.capability != Capability::WeakRandom || h.context.iter().any(|n| is_secret_name(n))
        })
        .map(|h| (h.row, format!("{} (`{}`)", h.capability.what(), h.target)))
        .collect();
    for (row, name) in resolver.accepting_verifiers(rows) {
        out.push((
            row,
            format!("a certificate verifier that accepts everything (`{name}`)"),
        ));
    }
    out
}

/// The rows of the function enclosing `row`, or of the item that starts on the next
/// non-blank line (an attribute or annotation belongs to it).
pub(crate) fn scope_rows(lang: Language, tree: &Tree, src: &str, row: usize) -> (usize, usize) {
    let root = tree.root_node();
    let lines: Vec<&str> = src.lines().collect();
    let point = |r: usize| {
        let col = lines.get(r).map_or(0, |l| l.len() - l.trim_start().len());
        tree_sitter::Point {
            row: r,
            column: col,
        }
    };
    let mut best = (row, row + 1);
    let mut probe = |r: usize| {
        let mut n = root.descendant_for_point_range(point(r), point(r));
        while let Some(node) = n {
            if is_function_like(lang, node.kind()) {
                let range = (node.start_position().row, node.end_position().row);
                best = (best.0.min(range.0), best.1.max(range.1));
                return;
            }
            n = node.parent();
        }
    };
    probe(row);
    let next = (row + 1..lines.len()).find(|r| lines.get(*r).is_some_and(|l| !l.trim().is_empty()));
    if let Some(r) = next {
        probe(r);
    }
    best
}

/// The suppressions among the `added` lines (`(1-based line, text)`) that sit on a sensitive
/// line, above a sensitive item, in a sensitive function or (file-wide ones) over a sensitive
/// file: `(line, reason)`. Sensitive: a capability is called there (already or newly), or a
/// lexical domain row matches.
pub(crate) fn suppressions(
    lang: Language,
    tree: &Tree,
    text: &str,
    added: &[(usize, String)],
) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (line, added) in added {
        let Some((marker, file_wide)) = suppression(added, lang) else {
            continue;
        };
        let row = line.saturating_sub(1);
        let (start, end) = if file_wide {
            (row, lines.len().saturating_sub(1))
        } else {
            scope_rows(lang, tree, text, row)
        };
        let rows: BTreeSet<usize> = (start..=end).collect();
        let mut why = sensitive_rows(lang, tree, text, &rows).into_iter().next();
        if why.is_none() {
            why = (start..=end).find_map(|r| {
                let l = lines.get(r)?;
                let (_, what, shown) = crate::domains::scan_line_with(l, Some(lang), true)
                    .into_iter()
                    .next()?;
                Some((
                    r,
                    shown.map_or(what.to_owned(), |m| format!("{what} (`{m}`)")),
                ))
            });
        }
        if let Some((at, what)) = why {
            let place = if file_wide {
                "over a file with"
            } else if at == row || at == row + 1 {
                "on a line with"
            } else {
                "in a function with"
            };
            out.push((
                *line,
                format!("adds the suppression `{marker}` {place} {what}"),
            ));
        }
    }
    out
}

/// A suppression of a security tool or linter on a line: `(marker, whether it covers the
/// rest of the file)`.
pub(crate) fn suppression(line: &str, lang: Language) -> Option<(String, bool)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?i)(?:#|//|/\*)\s*(?:nosec\b|noqa\b(?::\s*[A-Z]+\d*)?|nosemgrep\b|NOSONAR\b|NOLINT\w*|nolint\b(?::\S+)?|lgtm\b|bandit:\s*skip|flawfinder:\s*ignore|deepcode\s+ignore|codeql\[|gosec\b)|@ts-(?:ignore|nocheck|expect-error)\b|\beslint-disable(?:-next-line|-line)?\b|#!?\[allow\([^)]*\)\]|@SuppressWarnings\b(?:\([^)]*\))?|@SuppressFBWarnings\b|#\[cfg_attr\([^)]*allow",
        )
        .expect("the suppression pattern is a constant")
    });
    let m = re.find(line)?;
    let marker = m.as_str().trim().to_owned();
    // `# noqa: E501` silences a style check; only a bare `noqa` or one naming a security
    // code (flake8-bandit's `S…`) silences a security tool.
    if marker.to_ascii_lowercase().contains("noqa") {
        let rest = line.get(m.start()..).unwrap_or("");
        let lower = rest.to_ascii_lowercase();
        let after = lower.split("noqa").nth(1).unwrap_or("");
        if let Some(codes) = after.trim_start().strip_prefix(':')
            && !codes
                .split([',', ' '])
                .any(|c| c.trim().starts_with('s') && c.trim().len() > 1)
        {
            return None;
        }
    }
    // Python's `#` is a comment, not an attribute; elsewhere `#[allow` is Rust only.
    if (marker.starts_with("#[") || marker.starts_with("#![")) && lang != Language::Rust {
        return None;
    }
    let lower = marker.to_ascii_lowercase();
    let file_wide = lower.starts_with("#![")
        || lower.contains("@ts-nocheck")
        || (lower.contains("eslint-disable") && !lower.contains("-line"));
    Some((marker, file_wide))
}
