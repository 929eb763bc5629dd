//! `rename`: the identifier at the cursor renamed in every given file of the same language.
//!
//! Deliberately conservative and purely syntactic: every identifier-like tree-sitter node whose
//! text equals the old name is renamed; strings and comments never are. It does not resolve
//! scopes, so it refuses when the new name is already in use in a file it would change (the
//! two symbols would merge). Names inside string-interpolation (`format!("{x}")`, f-strings)
//! are not renamed; the analyzer and verification judge the result like any other edit.

use tree_sitter::{Node, Tree};

use super::lang::syntax_error;
use super::{FileChange, Proposal, RunError};
use autogate_analysis::Language;

/// A workspace file: path relative to the workspace root (with `/`), and its current text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// A position in a file: 0-based line and 0-based column counted in characters (UTF-32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub line: u32,
    pub character: u32,
}

/// What to rename.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenameTarget {
    /// The identifier at (or just before) the cursor in `path`.
    Cursor { path: String, cursor: Cursor },
    /// Every identifier `name`, in files of `path`'s language.
    Symbol { path: String, name: String },
}

impl RenameTarget {
    fn path(&self) -> &str {
        match self {
            RenameTarget::Cursor { path, .. } | RenameTarget::Symbol { path, .. } => path,
        }
    }
}

/// Renames the target symbol to `new_name` in every file of `files` in the target's language
/// family (JavaScript and TypeScript count as one). The target file must be among `files`.
/// Returns one [`FileChange`] per file that changes, in the order of `files`.
pub fn rename(
    files: &[SourceFile],
    target: &RenameTarget,
    new_name: &str,
) -> Result<Proposal, RunError> {
    let new_name = new_name.trim();
    if new_name.is_empty() {
        return Err(RunError::MissingNewName);
    }
    let path = target.path();
    let lang = Language::from_path(path).ok_or_else(|| RunError::UnsupportedLanguage {
        operation: "rename",
        path: path.to_owned(),
    })?;
    let Some(file) = files.iter().find(|f| f.path == path) else {
        return Err(RunError::NoIdentifier {
            detail: format!("{path} is not among the files given to rename"),
        });
    };
    let tree = parse_checked(lang, file)?;
    let old_name = match target {
        RenameTarget::Cursor { cursor, .. } => identifier_at(lang, &tree, file, *cursor)?,
        RenameTarget::Symbol { name, .. } => name.clone(),
    };
    if let Some(why) = lang.invalid_identifier(new_name) {
        return Err(RunError::InvalidName {
            name: new_name.to_owned(),
            language: lang.display_name(),
            why,
        });
    }
    if new_name == old_name {
        return Err(RunError::NothingToChange {
            operation: "rename",
            detail: format!("the symbol is already called `{new_name}`"),
        });
    }

    let mut changes = Vec::new();
    for f in files {
        let Some(f_lang) = Language::from_path(&f.path) else {
            continue;
        };
        if f_lang.family() != lang.family() {
            continue;
        }
        let has_old = f.text.contains(old_name.as_str());
        // C has one global namespace, and a Go package spans its directory: there a clash in a
        // file that does not change still merges two symbols.
        let shares_scope = match lang {
            Language::C => true,
            Language::Go => parent_dir(&f.path) == parent_dir(path),
            _ => false,
        };
        let may_clash = shares_scope && f.text.contains(new_name);
        if !has_old && !may_clash {
            continue;
        }
        let tree = if f.path == path {
            tree.clone()
        } else {
            match f_lang.parse(&f.text) {
                Some(t) => t,
                None => continue,
            }
        };
        let mut old_nodes = Vec::new();
        let mut clash = None;
        visit_identifiers(f_lang, tree.root_node(), &mut |node| {
            let text = f.text.get(node.byte_range()).unwrap_or("");
            if text == old_name {
                old_nodes.push(node.byte_range());
            } else if text == new_name && clash.is_none() {
                clash = Some(node.start_position().row + 1);
            }
        });
        if let Some(line) = clash {
            return Err(RunError::NameCollision {
                old: old_name,
                new: new_name.to_owned(),
                path: f.path.clone(),
                line,
            });
        }
        if old_nodes.is_empty() {
            continue;
        }
        if let Some(err) = syntax_error(f_lang, &tree, "rename", &f.path, &f.text) {
            return Err(err);
        }
        let mut after = f.text.clone();
        for range in old_nodes.iter().rev() {
            after.replace_range(range.clone(), new_name);
        }
        changes.push(FileChange {
            path: f.path.clone(),
            old_path: None,
            before: Some(f.text.clone()),
            after: Some(after),
        });
    }
    if changes.is_empty() {
        return Err(RunError::NoIdentifier {
            detail: format!("`{old_name}` does not occur as a name in {path}"),
        });
    }
    Ok(Proposal { files: changes })
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn parse_checked(lang: Language, file: &SourceFile) -> Result<Tree, RunError> {
    let tree = lang
        .parse(&file.text)
        .ok_or_else(|| RunError::UnsupportedLanguage {
            operation: "rename",
            path: file.path.clone(),
        })?;
    if let Some(err) = syntax_error(lang, &tree, "rename", &file.path, &file.text) {
        return Err(err);
    }
    Ok(tree)
}

/// The byte offset of a (line, UTF-32 column) position, or `None` past the end of the line.
fn byte_offset(text: &str, cursor: Cursor) -> Option<usize> {
    let mut line_start = 0;
    for _ in 0..cursor.line {
        line_start += text.get(line_start..)?.find('\n')? + 1;
    }
    let line = text[line_start..].split('\n').next().unwrap_or("");
    let line = line.strip_suffix('\r').unwrap_or(line);
    let col = cursor.character as usize;
    let byte = match line.char_indices().nth(col) {
        Some((b, _)) => b,
        None if line.chars().count() == col => line.len(),
        None => return None,
    };
    Some(line_start + byte)
}

fn identifier_at(
    lang: Language,
    tree: &Tree,
    file: &SourceFile,
    cursor: Cursor,
) -> Result<String, RunError> {
    let place = format!(
        "line {}, column {} of {}",
        cursor.line + 1,
        cursor.character + 1,
        file.path
    );
    let offset = byte_offset(&file.text, cursor).ok_or_else(|| RunError::NoIdentifier {
        detail: format!("{place} is past the end of the text"),
    })?;
    let root = tree.root_node();
    // On the name, or just after it (a cursor at the end of a word).
    let candidates = [Some(offset), offset.checked_sub(1)];
    for at in candidates.into_iter().flatten() {
        if let Some(node) = root.descendant_for_byte_range(at, at)
            && lang.is_name_kind(node.kind())
            && node.byte_range().contains(&at)
        {
            return Ok(file.text[node.byte_range()].to_owned());
        }
    }
    Err(RunError::NoIdentifier {
        detail: format!("there is no name at {place}"),
    })
}

fn visit_identifiers<'t>(lang: Language, node: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    if lang.is_name_kind(node.kind()) {
        f(node);
        return;
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'t>> = node.children(&mut cursor).collect();
    for child in children {
        visit_identifiers(lang, child, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }

    fn at(path: &str, line: u32, character: u32) -> RenameTarget {
        RenameTarget::Cursor {
            path: path.into(),
            cursor: Cursor { line, character },
        }
    }

    #[test]
    fn byte_offsets_count_characters() {
        assert_eq!(
            byte_offset(
                "é x\nab",
                Cursor {
                    line: 0,
                    character: 2
                }
            ),
            Some(3)
        );
        assert_eq!(
            byte_offset(
                "é x\nab",
                Cursor {
                    line: 1,
                    character: 2
                }
            ),
            Some(7)
        );
        assert_eq!(
            byte_offset(
                "ab\r\ncd",
                Cursor {
                    line: 0,
                    character: 2
                }
            ),
            Some(2)
        );
        assert_eq!(
            byte_offset(
                "ab",
                Cursor {
                    line: 0,
                    character: 3
                }
            ),
            None
        );
        assert_eq!(
            byte_offset(
                "ab",
                Cursor {
                    line: 1,
                    character: 0
                }
            ),
            None
        );
    }

    #[test]
    fn renames_identifiers_not_strings_or_comments() {
        let src = "// total is summed\nfn total(v: &[u8]) -> u8 { let total = 0; total }\nconst S: &str = \"total\";\n";
        let p = rename(&[file("a.rs", src)], &at("a.rs", 1, 4), "sum").unwrap();
        assert_eq!(
            p.files[0].after.as_deref(),
            Some(
                "// total is summed\nfn sum(v: &[u8]) -> u8 { let sum = 0; sum }\nconst S: &str = \"total\";\n"
            )
        );
    }

    #[test]
    fn cursor_just_after_the_name_counts() {
        let p = rename(&[file("a.py", "abc = 1\n")], &at("a.py", 0, 3), "xyz").unwrap();
        assert_eq!(p.files[0].after.as_deref(), Some("xyz = 1\n"));
    }

    #[test]
    fn errors() {
        let files = [file("a.rs", "fn a() { let b = 1; }\n")];
        let e = rename(&files, &at("a.rs", 0, 0), "x").unwrap_err();
        assert!(matches!(e, RunError::NoIdentifier { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("no name at line 1, column 1 of a.rs"),
            "{e}"
        );
        let e = rename(&files, &at("a.rs", 0, 3), "fn").unwrap_err();
        assert!(
            e.to_string()
                .contains("`fn` is not a valid Rust identifier (it is a keyword)"),
            "{e}"
        );
        let e = rename(&files, &at("a.rs", 0, 3), "b").unwrap_err();
        assert!(matches!(e, RunError::NameCollision { line: 1, .. }), "{e}");
        let e = rename(&files, &at("a.rs", 0, 3), "").unwrap_err();
        assert!(matches!(e, RunError::MissingNewName), "{e}");
        let e = rename(&files, &at("a.rs", 5, 0), "x").unwrap_err();
        assert!(e.to_string().contains("past the end"), "{e}");
    }
}
