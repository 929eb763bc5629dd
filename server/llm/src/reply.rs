//! The model's reply format: parsing SEARCH/REPLACE blocks and applying them, all or nothing.
//!
//! Pure functions over strings: the shell reads files, and writes only after the gate decides.

use std::collections::HashMap;

/// One edit the model asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditBlock {
    /// Relative path as the model wrote it (`./` stripped).
    pub path: String,
    /// Exact old lines, each ending in `\n`; empty means "create the file".
    pub search: String,
    /// New lines, each ending in `\n`.
    pub replace: String,
}

/// The new content of one file after every block for it was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedFile {
    pub path: String,
    /// `None` when the file did not exist (it is created).
    pub before: Option<String>,
    pub after: String,
    /// Things the person should know, e.g. "block 2: matched ignoring whitespace".
    pub notes: Vec<String>,
}

/// Why a reply could not be turned into edits. Nothing is ever partly applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error(
        "the model's reply contains no SEARCH/REPLACE edit blocks, so nothing was applied (the reply began: {excerpt:?})"
    )]
    NoBlocks { excerpt: String },

    #[error("{}", missing_path_message(*block, found.as_deref()))]
    MissingPath { block: usize, found: Option<String> },

    #[error(
        "edit block {block} targets {path:?}, which is absolute or leaves the workspace; nothing was applied"
    )]
    UnsafePath { block: usize, path: String },

    #[error(
        "edit block {block} ({path}) is cut off: no `{missing}` line before the end of the reply (it was probably truncated; try again or raise max_tokens); nothing was applied"
    )]
    Unterminated {
        block: usize,
        path: String,
        missing: &'static str,
    },

    #[error(
        "edit block {block} ({path}) is malformed: unexpected `{found}` on line {line} of the reply; nothing was applied"
    )]
    UnexpectedMarker {
        block: usize,
        path: String,
        line: usize,
        found: String,
    },

    #[error(
        "edit block {block}: {path} does not exist, and a block that creates a file must have an empty SEARCH section; nothing was applied"
    )]
    FileNotFound { block: usize, path: String },

    #[error(
        "edit block {block}: the SEARCH text was not found in {path} (it must quote the current lines exactly); nothing was applied"
    )]
    NoMatch { block: usize, path: String },

    #[error(
        "edit block {block}: the SEARCH text matches {count} places in {path}; it must match exactly one (quote more surrounding lines); nothing was applied"
    )]
    AmbiguousMatch {
        block: usize,
        path: String,
        count: usize,
    },

    #[error(
        "edit block {block}: {path} already exists but the SEARCH section is empty; quote the lines to replace; nothing was applied"
    )]
    EmptySearchOnExisting { block: usize, path: String },
}

fn missing_path_message(block: usize, found: Option<&str>) -> String {
    match found {
        Some(line) => format!(
            "edit block {block} has no file path: the line before `<<<<<<< SEARCH` must be the path alone, found {line:?}; nothing was applied"
        ),
        None => format!(
            "edit block {block} has no file path on the line before `<<<<<<< SEARCH`; nothing was applied"
        ),
    }
}

fn marker_word(line: &str, ch: char, word: &str) -> bool {
    let t = line.trim();
    let rest = t.trim_start_matches(ch);
    let n = t.len() - rest.len();
    (5..=9).contains(&n) && rest.trim() == word
}

fn is_search(line: &str) -> bool {
    marker_word(line, '<', "SEARCH")
}

fn is_replace(line: &str) -> bool {
    marker_word(line, '>', "REPLACE")
}

fn is_divider(line: &str) -> bool {
    let t = line.trim();
    (5..=9).contains(&t.len()) && t.chars().all(|c| c == '=')
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

/// The path for a block: the nearest line above the SEARCH marker that is neither blank nor a
/// code fence, cleaned of markdown decoration.
fn find_path(above: &[&str], block: usize) -> Result<String, ReplyError> {
    let Some(line) = above
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty() && !is_fence(l))
    else {
        return Err(ReplyError::MissingPath { block, found: None });
    };
    if is_replace(line) || is_divider(line) || is_search(line) {
        return Err(ReplyError::MissingPath { block, found: None });
    }
    let cleaned = line
        .trim()
        .trim_start_matches('#')
        .trim()
        .trim_end_matches(':')
        .trim_matches(|c| matches!(c, '`' | '*' | '"' | '\''))
        .trim();
    let cleaned = cleaned.strip_prefix("./").unwrap_or(cleaned);
    if cleaned.is_empty() || cleaned.chars().any(char::is_whitespace) {
        return Err(ReplyError::MissingPath {
            block,
            found: Some(line.trim().to_owned()),
        });
    }
    let unsafe_path = cleaned.starts_with('/')
        || cleaned.starts_with('\\')
        || cleaned.chars().nth(1) == Some(':')
        || cleaned.split(['/', '\\']).any(|c| c == "..");
    if unsafe_path {
        return Err(ReplyError::UnsafePath {
            block,
            path: cleaned.to_owned(),
        });
    }
    Ok(cleaned.to_owned())
}

fn join_lines(lines: &[&str]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Reads every SEARCH/REPLACE block in a reply. Prose and code fences around blocks are
/// ignored; anything malformed is an error, never a partial result.
pub fn parse_reply(text: &str) -> Result<Vec<EditBlock>, ReplyError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_replace(line) {
            return Err(ReplyError::UnexpectedMarker {
                block: blocks.len() + 1,
                path: "no path".to_owned(),
                line: i + 1,
                found: line.trim().to_owned(),
            });
        }
        if !is_search(line) {
            i += 1;
            continue;
        }
        let block = blocks.len() + 1;
        let path = find_path(&lines[..i], block)?;
        let unexpected = |at: usize| ReplyError::UnexpectedMarker {
            block,
            path: path.clone(),
            line: at + 1,
            found: lines[at].trim().to_owned(),
        };
        // SEARCH section.
        let search_start = i + 1;
        let mut j = search_start;
        loop {
            let Some(l) = lines.get(j) else {
                return Err(ReplyError::Unterminated {
                    block,
                    path,
                    missing: "=======",
                });
            };
            if is_divider(l) {
                break;
            }
            if is_search(l) || is_replace(l) {
                return Err(unexpected(j));
            }
            j += 1;
        }
        let search = join_lines(&lines[search_start..j]);
        // REPLACE section.
        let replace_start = j + 1;
        let mut k = replace_start;
        loop {
            let Some(l) = lines.get(k) else {
                return Err(ReplyError::Unterminated {
                    block,
                    path,
                    missing: ">>>>>>> REPLACE",
                });
            };
            if is_replace(l) {
                break;
            }
            if is_search(l) || is_divider(l) {
                return Err(unexpected(k));
            }
            k += 1;
        }
        let replace = join_lines(&lines[replace_start..k]);
        let search = if search.trim().is_empty() {
            String::new()
        } else {
            search
        };
        blocks.push(EditBlock {
            path,
            search,
            replace,
        });
        i = k + 1;
    }
    if blocks.is_empty() {
        let excerpt: String = text.trim().chars().take(120).collect();
        return Err(ReplyError::NoBlocks { excerpt });
    }
    Ok(blocks)
}

/// Applies blocks in order to the files `files` returns (`None`: the file does not exist).
/// Several blocks may edit the same file; each sees the result of the previous ones.
///
/// All or nothing: on any error no result is returned. Output is in order of first mention.
pub fn apply_blocks(
    files: &dyn Fn(&str) -> Option<String>,
    blocks: &[EditBlock],
) -> Result<Vec<AppliedFile>, ReplyError> {
    let mut order: Vec<String> = Vec::new();
    let mut state: HashMap<String, FileState> = HashMap::new();
    for (idx, b) in blocks.iter().enumerate() {
        let block = idx + 1;
        let entry = state.entry(b.path.clone()).or_insert_with(|| {
            order.push(b.path.clone());
            let before = files(&b.path);
            (before.clone(), before, Vec::new())
        });
        let (_, current, notes) = entry;
        if b.replace.contains(crate::REDACTED) {
            notes.push(format!(
                "block {block}: the new text contains {}: a redacted secret would be written literally",
                crate::REDACTED
            ));
        }
        if b.search.trim().is_empty() {
            match current {
                Some(c) if !c.trim().is_empty() => {
                    return Err(ReplyError::EmptySearchOnExisting {
                        block,
                        path: b.path.clone(),
                    });
                }
                _ => {
                    *current = Some(b.replace.clone());
                }
            }
            continue;
        }
        let Some(content) = current.as_ref() else {
            return Err(ReplyError::FileNotFound {
                block,
                path: b.path.clone(),
            });
        };
        let (next, fuzzy) = replace_once(content, &b.search, &b.replace).map_err(|count| {
            if count == 0 {
                ReplyError::NoMatch {
                    block,
                    path: b.path.clone(),
                }
            } else {
                ReplyError::AmbiguousMatch {
                    block,
                    path: b.path.clone(),
                    count,
                }
            }
        })?;
        if fuzzy {
            notes.push(format!("block {block}: matched ignoring whitespace"));
        }
        *current = Some(next);
    }
    let mut out = Vec::with_capacity(order.len());
    for path in order {
        if let Some((before, Some(after), notes)) = state.remove(&path) {
            out.push(AppliedFile {
                path,
                before,
                after,
                notes,
            });
        }
    }
    Ok(out)
}

/// (before, current, notes) of one file while blocks are applied.
type FileState = (Option<String>, Option<String>, Vec<String>);

fn strip_eol(line: &str) -> &str {
    let l = line.strip_suffix('\n').unwrap_or(line);
    l.strip_suffix('\r').unwrap_or(l)
}

fn leading_ws(s: &str) -> &str {
    &s[..s.len() - s.trim_start().len()]
}

/// Positions where `needle` matches `hay` as whole lines, under `eq`.
fn find_all(hay: &[&str], needle: &[&str], eq: impl Fn(&str, &str) -> bool) -> Vec<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    (0..=hay.len() - needle.len())
        .filter(|&s| {
            needle
                .iter()
                .enumerate()
                .all(|(k, n)| eq(strip_eol(hay[s + k]), n))
        })
        .collect()
}

/// Replaces the unique match of `search` in `content`. `Err(count)` when there are 0 or many
/// matches; `Ok((text, fuzzy))` with `fuzzy` when only the whitespace-tolerant match worked.
fn replace_once(content: &str, search: &str, replace: &str) -> Result<(String, bool), usize> {
    let hay: Vec<&str> = content.split_inclusive('\n').collect();
    let needle: Vec<&str> = search.lines().collect();
    let exact = find_all(&hay, &needle, |a, b| a == b);
    let (start, fuzzy) = match exact.len() {
        1 => (exact[0], false),
        0 => {
            let loose = find_all(&hay, &needle, |a, b| a.trim() == b.trim());
            match loose.len() {
                1 => (loose[0], true),
                n => return Err(n),
            }
        }
        n => return Err(n),
    };
    let eol = if content.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut new_lines: Vec<String> = replace.lines().map(str::to_owned).collect();
    if fuzzy {
        reindent(&hay[start..start + needle.len()], &needle, &mut new_lines);
    }
    let end = start + needle.len();
    let mut out = String::with_capacity(content.len() + replace.len());
    for l in &hay[..start] {
        out.push_str(l);
    }
    let ends_at_eof_without_newline = end == hay.len() && !content.ends_with('\n');
    let n = new_lines.len();
    for (k, l) in new_lines.iter().enumerate() {
        out.push_str(l);
        if !(ends_at_eof_without_newline && k + 1 == n) {
            out.push_str(eol);
        }
    }
    for l in &hay[end..] {
        out.push_str(l);
    }
    Ok((out, fuzzy))
}

/// After a whitespace-tolerant match, shifts the replacement by the indentation difference
/// between the file and the SEARCH text, so the new lines sit where the old ones did.
fn reindent(matched: &[&str], needle: &[&str], new_lines: &mut [String]) {
    let Some((file_line, search_line)) = matched
        .iter()
        .zip(needle)
        .find(|(_, s)| !s.trim().is_empty())
    else {
        return;
    };
    let file_indent = leading_ws(strip_eol(file_line));
    let search_indent = leading_ws(search_line);
    if let Some(extra) = file_indent.strip_prefix(search_indent) {
        if extra.is_empty() {
            return;
        }
        for l in new_lines.iter_mut().filter(|l| !l.trim().is_empty()) {
            l.insert_str(0, extra);
        }
    } else if let Some(surplus) = search_indent.strip_prefix(file_indent) {
        for l in new_lines.iter_mut() {
            if let Some(rest) = l.strip_prefix(surplus) {
                *l = rest.to_owned();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(path: &str, search: &str, replace: &str) -> EditBlock {
        EditBlock {
            path: path.into(),
            search: search.into(),
            replace: replace.into(),
        }
    }

    fn fs<'a>(files: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |p: &str| {
            files
                .iter()
                .find(|(n, _)| *n == p)
                .map(|(_, c)| (*c).to_owned())
        }
    }

    #[test]
    fn parses_blocks_in_prose_and_fences() {
        let reply = "Sure! Here is the change.\n\nsrc/lib.rs\n```rust\n<<<<<<< SEARCH\nfn a() {}\n=======\nfn a() -> u8 { 1 }\n>>>>>>> REPLACE\n```\n\nAnd a new file:\n\n```\n**./src/new.rs**\n<<<<<<< SEARCH\n=======\npub fn n() {}\n>>>>>>> REPLACE\n```\nDone.";
        let blocks = parse_reply(reply);
        assert_eq!(
            blocks,
            Ok(vec![
                one("src/lib.rs", "fn a() {}\n", "fn a() -> u8 { 1 }\n"),
                one("src/new.rs", "", "pub fn n() {}\n"),
            ])
        );
    }

    #[test]
    fn parses_crlf_replies() {
        let reply = "a.txt\r\n<<<<<<< SEARCH\r\nx\r\n=======\r\ny\r\n>>>>>>> REPLACE\r\n";
        assert_eq!(parse_reply(reply), Ok(vec![one("a.txt", "x\n", "y\n")]));
    }

    #[test]
    fn garbage_has_no_blocks() {
        let err = parse_reply("I think you should refactor it.\n=======\nheading");
        assert!(matches!(err, Err(ReplyError::NoBlocks { .. })), "{err:?}");
        assert!(matches!(parse_reply(""), Err(ReplyError::NoBlocks { .. })));
    }

    #[test]
    fn missing_path_is_an_error() {
        let err = parse_reply("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n");
        assert_eq!(
            err,
            Err(ReplyError::MissingPath {
                block: 1,
                found: None
            })
        );
        let err =
            parse_reply("Change this file:\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n");
        assert_eq!(
            err,
            Err(ReplyError::MissingPath {
                block: 1,
                found: Some("Change this file:".into())
            })
        );
        // The second block reuses no path: that is an error too.
        let err = parse_reply(
            "a.rs\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n<<<<<<< SEARCH\nc\n=======\nd\n>>>>>>> REPLACE\n",
        );
        assert_eq!(
            err,
            Err(ReplyError::MissingPath {
                block: 2,
                found: None
            })
        );
        let msg = ReplyError::MissingPath {
            block: 2,
            found: None,
        }
        .to_string();
        assert!(msg.contains("block 2") && msg.contains("nothing was applied"));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for p in ["/etc/passwd", "../x.rs", "src/../../x", "C:\\x.rs"] {
            let reply = format!("{p}\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n");
            assert!(
                matches!(
                    parse_reply(&reply),
                    Err(ReplyError::UnsafePath { block: 1, .. })
                ),
                "{p}"
            );
        }
    }

    #[test]
    fn truncated_blocks_are_errors() {
        let err = parse_reply("a.rs\n<<<<<<< SEARCH\nfn a() {}\n");
        assert_eq!(
            err,
            Err(ReplyError::Unterminated {
                block: 1,
                path: "a.rs".into(),
                missing: "======="
            })
        );
        let err = parse_reply("a.rs\n<<<<<<< SEARCH\nfn a() {}\n=======\nfn b");
        assert_eq!(
            err,
            Err(ReplyError::Unterminated {
                block: 1,
                path: "a.rs".into(),
                missing: ">>>>>>> REPLACE"
            })
        );
        assert!(err.is_err_and(|e| e.to_string().contains("a.rs")));
    }

    #[test]
    fn stray_markers_are_errors() {
        let err = parse_reply("a.rs\n<<<<<<< SEARCH\nx\n<<<<<<< SEARCH\n");
        assert!(
            matches!(err, Err(ReplyError::UnexpectedMarker { line: 4, .. })),
            "{err:?}"
        );
        let err = parse_reply("a.rs\n<<<<<<< SEARCH\nx\n=======\ny\n=======\nz\n>>>>>>> REPLACE\n");
        assert!(
            matches!(err, Err(ReplyError::UnexpectedMarker { line: 6, .. })),
            "{err:?}"
        );
        let err = parse_reply("text\n>>>>>>> REPLACE\n");
        assert!(
            matches!(err, Err(ReplyError::UnexpectedMarker { line: 2, .. })),
            "{err:?}"
        );
    }

    #[test]
    fn applies_exact_and_sequential_blocks() {
        let files = [("a.rs", "fn a() {\n    1\n}\n\nfn b() {}\n")];
        let blocks = [
            one("a.rs", "    1\n", "    2\n"),
            one("a.rs", "fn b() {}\n", "fn b() { a() }\n"),
            one("new.rs", "", "x\n"),
        ];
        let out = apply_blocks(&fs(&files), &blocks);
        assert_eq!(
            out,
            Ok(vec![
                AppliedFile {
                    path: "a.rs".into(),
                    before: Some(files[0].1.into()),
                    after: "fn a() {\n    2\n}\n\nfn b() { a() }\n".into(),
                    notes: vec![],
                },
                AppliedFile {
                    path: "new.rs".into(),
                    before: None,
                    after: "x\n".into(),
                    notes: vec![],
                },
            ])
        );
    }

    #[test]
    fn keeps_crlf_and_missing_final_newline() {
        let files = [("a.txt", "one\r\ntwo\r\nthree")];
        let out = apply_blocks(&fs(&files), &[one("a.txt", "three\n", "3\n")]);
        assert_eq!(
            out.map(|v| v[0].after.clone()),
            Ok("one\r\ntwo\r\n3".into())
        );
        let out = apply_blocks(&fs(&files), &[one("a.txt", "two\n", "2\n2b\n")]);
        assert_eq!(
            out.map(|v| v[0].after.clone()),
            Ok("one\r\n2\r\n2b\r\nthree".into())
        );
    }

    #[test]
    fn whitespace_fallback_reindents_and_notes() {
        let files = [("a.py", "def f():\n    if x:\n        return 1  \n")];
        let out = apply_blocks(
            &fs(&files),
            &[one(
                "a.py",
                "if x:\n    return 1\n",
                "if y:\n    return 2\n",
            )],
        );
        assert_eq!(
            out,
            Ok(vec![AppliedFile {
                path: "a.py".into(),
                before: Some(files[0].1.into()),
                after: "def f():\n    if y:\n        return 2\n".into(),
                notes: vec!["block 1: matched ignoring whitespace".into()],
            }])
        );
    }

    #[test]
    fn match_errors_name_file_and_block() {
        let files = [("a.rs", "x\ny\nx\n"), ("b.rs", "  x\nx\n")];
        let f = fs(&files);
        assert_eq!(
            apply_blocks(&f, &[one("a.rs", "y\n", "z\n"), one("a.rs", "x\n", "w\n")]),
            Err(ReplyError::AmbiguousMatch {
                block: 2,
                path: "a.rs".into(),
                count: 2
            })
        );
        assert_eq!(
            apply_blocks(&f, &[one("a.rs", "nope\n", "z\n")]),
            Err(ReplyError::NoMatch {
                block: 1,
                path: "a.rs".into()
            })
        );
        // Exact match wins over whitespace-tolerant ambiguity.
        assert!(apply_blocks(&f, &[one("b.rs", "x\n", "z\n")]).is_ok());
        // Ambiguous only when tolerating whitespace.
        assert_eq!(
            apply_blocks(&f, &[one("b.rs", " x\n", "z\n")]),
            Err(ReplyError::AmbiguousMatch {
                block: 1,
                path: "b.rs".into(),
                count: 2
            })
        );
        assert_eq!(
            apply_blocks(&f, &[one("c.rs", "x\n", "z\n")]),
            Err(ReplyError::FileNotFound {
                block: 1,
                path: "c.rs".into()
            })
        );
        assert_eq!(
            apply_blocks(&f, &[one("a.rs", "", "z\n")]),
            Err(ReplyError::EmptySearchOnExisting {
                block: 1,
                path: "a.rs".into()
            })
        );
        let msg = ReplyError::NoMatch {
            block: 3,
            path: "src/x.rs".into(),
        }
        .to_string();
        assert!(msg.contains("block 3") && msg.contains("src/x.rs"));
    }

    #[test]
    fn redaction_marker_in_replacement_is_noted() {
        let out = apply_blocks(
            &|_: &str| None,
            &[one("n.py", "", "KEY = \"[REDACTED]\"\n")],
        );
        assert!(out.is_ok_and(|v| v[0].notes[0].contains("[REDACTED]")));
    }

    #[test]
    fn all_or_nothing() {
        let files = [("a.rs", "a\n")];
        // The first block is fine, the second fails: no result at all.
        let out = apply_blocks(
            &fs(&files),
            &[one("a.rs", "a\n", "b\n"), one("b.rs", "q\n", "r\n")],
        );
        assert!(out.is_err());
    }

    #[test]
    fn create_then_edit_same_file() {
        let out = apply_blocks(
            &|_: &str| None,
            &[one("n.rs", "", "a\nb\n"), one("n.rs", "b\n", "c\n")],
        );
        assert_eq!(
            out.map(|v| (v[0].before.clone(), v[0].after.clone())),
            Ok((None, "a\nc\n".into()))
        );
    }
}
