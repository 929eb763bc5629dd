//! Codex's `apply_patch` format (`*** Begin Patch` … `*** End Patch`), parsed and applied the
//! way Codex applies it: files added, deleted, or updated by chunks of context, `-` and `+`
//! lines (optionally after an `@@ anchor` line, optionally pinned to the end of the file),
//! matched exactly, then ignoring trailing whitespace, then ignoring surrounding whitespace.
//! A chunk that matches nowhere refuses the whole patch, as Codex's tool would.

/// One file operation of a patch. Paths are as written (relative to the agent's `cwd`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    Add {
        path: String,
        content: String,
    },
    Delete {
        path: String,
    },
    Update {
        path: String,
        move_to: Option<String>,
        chunks: Vec<Chunk>,
    },
}

impl Operation {
    pub fn path(&self) -> &str {
        match self {
            Self::Add { path, .. } | Self::Delete { path } | Self::Update { path, .. } => path,
        }
    }
}

/// One chunk of an update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chunk {
    /// The `@@ line` to find first (the chunk applies after it).
    pub anchor: Option<String>,
    pub old: Vec<String>,
    pub new: Vec<String>,
    /// `*** End of File`: the chunk ends the file.
    pub end_of_file: bool,
}

/// Parses a patch. The message says which line is wrong.
pub fn parse(text: &str) -> Result<Vec<Operation>, String> {
    let lines: Vec<&str> = text
        .trim()
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    // Codex accepts a heredoc wrapper (`apply_patch <<'EOF' … EOF`); take what is inside.
    let start = lines
        .iter()
        .position(|l| l.trim() == "*** Begin Patch")
        .ok_or("the patch does not start with `*** Begin Patch`")?;
    let end = lines
        .iter()
        .rposition(|l| l.trim() == "*** End Patch")
        .ok_or("the patch does not end with `*** End Patch`")?;
    if end <= start {
        return Err("`*** End Patch` comes before `*** Begin Patch`".to_owned());
    }
    let body = &lines[start + 1..end];
    let mut ops = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let line = body[i];
        if let Some(path) = line.strip_prefix("*** Add File: ") {
            i += 1;
            let mut content = String::new();
            while i < body.len() && !body[i].starts_with("*** ") {
                let Some(added) = body[i].strip_prefix('+') else {
                    return Err(format!(
                        "line {}: a line of an added file must start with `+`",
                        start + i + 2
                    ));
                };
                content.push_str(added);
                content.push('\n');
                i += 1;
            }
            ops.push(Operation::Add {
                path: path.trim().to_owned(),
                content,
            });
        } else if let Some(path) = line.strip_prefix("*** Delete File: ") {
            ops.push(Operation::Delete {
                path: path.trim().to_owned(),
            });
            i += 1;
        } else if let Some(path) = line.strip_prefix("*** Update File: ") {
            i += 1;
            let mut move_to = None;
            if let Some(to) = body.get(i).and_then(|l| l.strip_prefix("*** Move to: ")) {
                move_to = Some(to.trim().to_owned());
                i += 1;
            }
            let mut chunks: Vec<Chunk> = Vec::new();
            let mut current: Option<Chunk> = None;
            while i < body.len() {
                let line = body[i];
                if line == "*** End of File" {
                    if let Some(c) = current.as_mut() {
                        c.end_of_file = true;
                    }
                    i += 1;
                    continue;
                }
                if line.starts_with("*** ") {
                    break;
                }
                if let Some(anchor) = line.strip_prefix("@@") {
                    if let Some(c) = current.take() {
                        chunks.push(c);
                    }
                    let anchor = anchor.trim();
                    current = Some(Chunk {
                        anchor: (!anchor.is_empty()).then(|| anchor.to_owned()),
                        ..Chunk::default()
                    });
                    i += 1;
                    continue;
                }
                let chunk = current.get_or_insert_with(Chunk::default);
                match line.chars().next() {
                    Some('+') => chunk.new.push(line[1..].to_owned()),
                    Some('-') => chunk.old.push(line[1..].to_owned()),
                    Some(' ') => {
                        chunk.old.push(line[1..].to_owned());
                        chunk.new.push(line[1..].to_owned());
                    }
                    // An empty line is an empty context line.
                    None => {
                        chunk.old.push(String::new());
                        chunk.new.push(String::new());
                    }
                    Some(_) => {
                        return Err(format!(
                            "line {}: `{line}` is not a patch line (` `, `-`, `+` or `@@`)",
                            start + i + 2
                        ));
                    }
                }
                i += 1;
            }
            if let Some(c) = current.take() {
                chunks.push(c);
            }
            if chunks.is_empty() && move_to.is_none() {
                return Err(format!("the update of {} has no chunks", path.trim()));
            }
            ops.push(Operation::Update {
                path: path.trim().to_owned(),
                move_to,
                chunks,
            });
        } else if line.trim().is_empty() {
            i += 1;
        } else {
            return Err(format!(
                "line {}: expected `*** Add File:`, `*** Delete File:` or `*** Update File:`, found `{line}`",
                start + i + 2
            ));
        }
    }
    if ops.is_empty() {
        return Err("the patch changes no file".to_owned());
    }
    Ok(ops)
}

/// Applies an update's chunks to a file's text.
pub fn apply(before: &str, chunks: &[Chunk]) -> Result<String, String> {
    let crlf = before.contains("\r\n");
    let mut lines: Vec<String> = before
        .split('\n')
        .map(|l| l.trim_end_matches('\r').to_owned())
        .collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let mut cursor = 0;
    for (n, chunk) in chunks.iter().enumerate() {
        if let Some(anchor) = &chunk.anchor {
            let at =
                find(&lines, std::slice::from_ref(anchor), cursor, false).ok_or_else(|| {
                    format!("chunk {}: the line `@@ {anchor}` is not in the file", n + 1)
                })?;
            cursor = at + 1;
        }
        if chunk.old.is_empty() {
            // A pure addition goes at the end of the file.
            let at = lines.len();
            lines.splice(at..at, chunk.new.iter().cloned());
            cursor = lines.len();
            continue;
        }
        let mut old: &[String] = &chunk.old;
        let mut new: &[String] = &chunk.new;
        let mut at = find(&lines, old, cursor, chunk.end_of_file);
        if at.is_none() && old.last().is_some_and(String::is_empty) {
            // A trailing empty context line stands for the end of the file.
            old = &old[..old.len() - 1];
            if new.last().is_some_and(String::is_empty) {
                new = &new[..new.len() - 1];
            }
            at = find(&lines, old, cursor, chunk.end_of_file);
        }
        let at = at.ok_or_else(|| {
            format!(
                "chunk {}: these lines are not in the file: {}",
                n + 1,
                old.iter()
                    .take(3)
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        lines.splice(at..at + old.len(), new.iter().cloned());
        cursor = at + new.len();
    }
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut text = lines.join(eol);
    text.push_str(eol);
    Ok(text)
}

/// Where `pattern` starts in `lines` at or after `from`: exactly, then ignoring trailing
/// whitespace, then ignoring surrounding whitespace. `end_of_file`: at the end first.
fn find(lines: &[String], pattern: &[String], from: usize, end_of_file: bool) -> Option<usize> {
    if pattern.len() > lines.len() {
        return None;
    }
    let comparisons: [fn(&str, &str) -> bool; 3] = [
        |a, b| a == b,
        |a, b| a.trim_end() == b.trim_end(),
        |a, b| a.trim() == b.trim(),
    ];
    let last = lines.len() - pattern.len();
    let matches = |at: usize, same: fn(&str, &str) -> bool| {
        lines[at..at + pattern.len()]
            .iter()
            .zip(pattern)
            .all(|(a, b)| same(a, b))
    };
    if end_of_file && last >= from {
        for same in comparisons {
            if matches(last, same) {
                return Some(last);
            }
        }
    }
    comparisons
        .into_iter()
        .find_map(|same| (from..=last).find(|&at| matches(at, same)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_applies_the_three_operations() {
        let patch = "*** Begin Patch\n*** Add File: src/new.py\n+x = 1\n*** Delete File: old.txt\n\
                     *** Update File: src/a.py\n*** Move to: src/b.py\n@@ def f():\n-    return 1\n+    return 2\n*** End Patch\n";
        let ops = parse(patch).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(
            ops[0],
            Operation::Add {
                path: "src/new.py".into(),
                content: "x = 1\n".into()
            }
        );
        let Operation::Update {
            move_to, chunks, ..
        } = &ops[2]
        else {
            panic!("update expected");
        };
        assert_eq!(move_to.as_deref(), Some("src/b.py"));
        let before = "def g():\n    return 1\n\ndef f():\n    return 1\n";
        assert_eq!(
            apply(before, chunks).unwrap(),
            "def g():\n    return 1\n\ndef f():\n    return 2\n"
        );
    }

    #[test]
    fn a_chunk_that_matches_nowhere_refuses_the_patch() {
        let ops =
            parse("*** Begin Patch\n*** Update File: a\n@@\n-missing\n+x\n*** End Patch").unwrap();
        let Operation::Update { chunks, .. } = &ops[0] else {
            panic!("update expected");
        };
        assert!(apply("present\n", chunks).unwrap_err().contains("missing"));
        assert!(parse("garbage").is_err());
        assert!(parse("*** Begin Patch\n*** Frobnicate: x\n*** End Patch").is_err());
    }

    #[test]
    fn whitespace_differences_and_end_of_file_are_honoured() {
        let ops = parse(
            "*** Begin Patch\n*** Update File: a\n@@\n x\n-y\n+z\n*** End of File\n*** End Patch",
        )
        .unwrap();
        let Operation::Update { chunks, .. } = &ops[0] else {
            panic!("update expected");
        };
        assert_eq!(
            apply("x\ny\nq\nx  \ny\n", chunks).unwrap(),
            "x\ny\nq\nx\nz\n"
        );
    }
}
