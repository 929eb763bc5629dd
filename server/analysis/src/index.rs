//! The workspace symbol index: definitions and references by name, for the blast radius.
//!
//! The shell feeds it file texts (`add_file` on open/change/scan, `remove_file` on delete). It
//! is pure and name-based: a reference is an identifier leaf (comments and strings excluded)
//! whose text equals the name, minus the definitions of that name in the same file. Files in
//! languages without a grammar fall back to word tokens.

use std::collections::BTreeMap;

use crate::impact::BlastRadius;
use crate::languages::{Language, is_comment_kind, is_identifier_kind};
use crate::symbols;

#[derive(Clone, Debug, Default)]
struct FileEntry {
    definitions: BTreeMap<String, usize>,
    identifiers: BTreeMap<String, usize>,
}

impl FileEntry {
    fn references(&self, name: &str) -> usize {
        let uses = self.identifiers.get(name).copied().unwrap_or(0);
        let defs = self.definitions.get(name).copied().unwrap_or(0);
        uses.saturating_sub(defs)
    }
}

/// Workspace-wide definitions and references, fed by the shell, used for the blast radius.
#[derive(Clone, Debug, Default)]
pub struct SymbolIndex {
    files: BTreeMap<String, FileEntry>,
}

/// Identifier leaves of a text, counted by name.
fn identifiers(tree: Option<&tree_sitter::Tree>, text: &str) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(tree) = tree {
        let root = tree.root_node();
        let mut cursor = root.walk();
        loop {
            let node = cursor.node();
            let kind = node.kind();
            let descend = !is_comment_kind(kind);
            if descend
                && node.child_count() == 0
                && is_identifier_kind(kind)
                && let Some(t) = text.get(node.byte_range())
            {
                *out.entry(t.to_owned()).or_insert(0) += 1;
            }
            if descend && cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return out;
                }
            }
        }
    }
    for word in crate::text::words(text) {
        *out.entry(word.to_owned()).or_insert(0) += 1;
    }
    out
}

impl SymbolIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes (or re-indexes) one file. Binary content is ignored.
    pub fn add_file(&mut self, path: &str, text: &str) {
        if text.contains('\0') {
            self.files.remove(path);
            return;
        }
        let lang = Language::from_path(path);
        let tree = lang.and_then(|l| l.parse(text));
        let mut entry = FileEntry {
            definitions: BTreeMap::new(),
            identifiers: identifiers(tree.as_ref(), text),
        };
        if let (Some(lang), Some(tree)) = (lang, &tree) {
            // Names only: the index needs no signatures or bodies (the cheap path of extract).
            for sym in
                symbols::extract_raw(tree.root_node(), text, lang, None, symbols::Detail::Nothing)
            {
                let name = sym.name.split('#').next().unwrap_or_default().to_owned();
                *entry.definitions.entry(name).or_insert(0) += 1;
            }
        }
        self.files.insert(path.to_owned(), entry);
    }

    /// Forgets a file.
    pub fn remove_file(&mut self, path: &str) {
        self.files.remove(path);
    }

    /// Takes every file of `other` (built in parallel, for example); its entries win.
    pub fn extend(&mut self, other: SymbolIndex) {
        self.files.extend(other.files);
    }

    /// Number of indexed files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Files defining `name`.
    pub fn definitions(&self, name: &str) -> Vec<String> {
        self.files
            .iter()
            .filter(|(_, e)| e.definitions.contains_key(name))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// References to `name`: total count and the files holding them.
    pub fn references(&self, name: &str) -> BlastRadius {
        self.references_outside(name, &[])
    }

    /// References to `name` outside the files in `exclude` (the files of the change itself).
    pub fn references_outside(&self, name: &str, exclude: &[&str]) -> BlastRadius {
        self.references_in_context(name, None, exclude)
    }

    /// Like [`references_outside`](Self::references_outside), for a member: with a
    /// `container` (`Parser` for `Parser::new`), only files that also mention the container
    /// count, so that common method names (`new`, `get`) do not count every file.
    pub fn references_in_context(
        &self,
        name: &str,
        container: Option<&str>,
        exclude: &[&str],
    ) -> BlastRadius {
        let mut radius = BlastRadius::default();
        for (path, entry) in &self.files {
            if exclude.contains(&path.as_str()) {
                continue;
            }
            if container.is_some_and(|c| !entry.identifiers.contains_key(c)) {
                continue;
            }
            let n = entry.references(name);
            if n > 0 {
                radius.references += n;
                radius.files.push(path.clone());
            }
        }
        radius
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_references_outside_definitions_and_comments() {
        let mut index = SymbolIndex::new();
        index.add_file("src/a.rs", "pub fn parse() {}\n// parse here\n");
        index.add_file(
            "src/b.rs",
            "fn x() { parse(); parse(); let s = \"parse\"; }\n",
        );
        index.add_file("src/c.py", "from a import parse\nparse()\n");
        index.add_file("notes.txt", "parse the file");
        let r = index.references("parse");
        assert_eq!(r.references, 5);
        assert_eq!(r.files, vec!["notes.txt", "src/b.rs", "src/c.py"]);
        assert_eq!(index.definitions("parse"), vec!["src/a.rs"]);
        index.remove_file("src/b.rs");
        assert_eq!(
            index.references_outside("parse", &["notes.txt"]).references,
            2
        );
    }
}
