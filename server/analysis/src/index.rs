//! The workspace symbol index: definitions and references by name, for the blast radius.
//!
//! The shell feeds it file texts (`add_file` on open/change/scan, `remove_file` on delete). It
//! is pure and name-based: a reference is an identifier leaf (comments and strings excluded)
//! whose text equals the name, minus the definitions of that name in the same file. Files in
//! languages without a grammar fall back to word tokens.
//!
//! An index can be *incomplete* (the shell is still building it): the blast radius then says
//! so and assumes the worst, so that a change is never rated lower for want of an index. A
//! [`FileEntry`] is plain data, so that the shell can keep entries on disk between runs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::impact::BlastRadius;
use crate::languages::{KIND_COMMENT, KIND_IDENTIFIER, Language};
use crate::symbols;

/// What the index knows of one file: its definitions and identifiers, counted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    definitions: BTreeMap<String, usize>,
    identifiers: BTreeMap<String, usize>,
}

impl FileEntry {
    /// The entry of one file's text (`None` for binary content, which is not indexed).
    pub fn of(path: &str, text: &str) -> Option<FileEntry> {
        Self::with_tree(path, text, None)
    }

    /// [`FileEntry::of`], with the syntax tree of `text` when the caller has it (a parse cache
    /// after an applied edit): the same entry, without parsing the file again.
    pub fn with_tree(path: &str, text: &str, tree: Option<tree_sitter::Tree>) -> Option<FileEntry> {
        if text.contains('\0') {
            return None;
        }
        let lang = Language::from_path(path);
        let tree = tree.or_else(|| lang.and_then(|l| l.parse(text)));
        let mut entry = FileEntry {
            definitions: BTreeMap::new(),
            identifiers: identifiers(lang.zip(tree.as_ref()), text),
        };
        if let (Some(lang), Some(tree)) = (lang, &tree) {
            // Names only: the index needs no signatures or bodies (the cheap path of extract).
            for sym in
                symbols::extract_raw(tree.root_node(), text, lang, None, symbols::Detail::Nothing)
            {
                let name = sym.name.split('#').next().unwrap_or_default();
                count(&mut entry.definitions, name);
            }
        }
        Some(entry)
    }

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
    /// Still being built: references elsewhere are unknown.
    incomplete: bool,
    /// Which state this is: a number no other mutation of any index in the process took, so
    /// that a copy can tell whether its original changed since ([`SymbolIndex::revision`]).
    revision: u64,
}

/// The revisions indexes take as they change (0 is an empty, untouched index).
static REVISIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Adds one occurrence of `name`, allocating only for a name not seen before.
fn count(map: &mut BTreeMap<String, usize>, name: &str) {
    if let Some(n) = map.get_mut(name) {
        *n += 1;
    } else {
        map.insert(name.to_owned(), 1);
    }
}

/// Identifier leaves of a text, counted by name.
fn identifiers(
    tree: Option<(Language, &tree_sitter::Tree)>,
    text: &str,
) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    if let Some((lang, tree)) = tree {
        // Kinds by id, not by name: this walk visits every node of every file.
        let flags = lang.kind_flags();
        let flag = |node: &tree_sitter::Node<'_>| {
            flags.get(usize::from(node.kind_id())).copied().unwrap_or(0)
        };
        let root = tree.root_node();
        let mut cursor = root.walk();
        loop {
            let node = cursor.node();
            let f = flag(&node);
            let descend = f & KIND_COMMENT == 0;
            if descend
                && f & KIND_IDENTIFIER != 0
                && node.child_count() == 0
                && let Some(t) = text.get(node.byte_range())
            {
                count(&mut out, t);
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
        count(&mut out, word);
    }
    out
}

impl SymbolIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index that is still being built: see [`is_incomplete`](Self::is_incomplete).
    pub fn incomplete() -> Self {
        let mut index = Self::default();
        index.set_incomplete(true);
        index
    }

    /// This state's revision: equal for an index and its unchanged copies, different once
    /// either of them changed.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    fn touch(&mut self) {
        self.revision = REVISIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the index is still being built, so that references elsewhere are unknown.
    pub fn is_incomplete(&self) -> bool {
        self.incomplete
    }

    /// Marks the index complete or incomplete.
    pub fn set_incomplete(&mut self, incomplete: bool) {
        self.touch();
        self.incomplete = incomplete;
    }

    /// Indexes (or re-indexes) one file. Binary content is ignored.
    pub fn add_file(&mut self, path: &str, text: &str) {
        self.touch();
        match FileEntry::of(path, text) {
            Some(entry) => {
                self.files.insert(path.to_owned(), entry);
            }
            None => {
                self.files.remove(path);
            }
        }
    }

    /// Puts a file's entry (computed earlier, or kept on disk) into the index.
    pub fn insert(&mut self, path: &str, entry: FileEntry) {
        self.touch();
        self.files.insert(path.to_owned(), entry);
    }

    /// The entry of a file, if it is indexed.
    pub fn entry(&self, path: &str) -> Option<&FileEntry> {
        self.files.get(path)
    }

    /// Every indexed file with its entry, by path.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &FileEntry)> {
        self.files.iter().map(|(p, e)| (p.as_str(), e))
    }

    /// Forgets a file.
    pub fn remove_file(&mut self, path: &str) {
        self.touch();
        self.files.remove(path);
    }

    /// Takes every file of `other` (built in parallel, for example); its entries win. The
    /// index stays incomplete if it was (mark it complete with
    /// [`set_incomplete`](Self::set_incomplete)).
    pub fn extend(&mut self, other: SymbolIndex) {
        self.touch();
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
    #[test]
    fn a_copy_knows_whether_its_original_changed() {
        let mut index = SymbolIndex::new();
        index.add_file("a.rs", "fn a() {}\n");
        let copy = index.clone();
        assert_eq!(copy.revision(), index.revision());
        index.add_file("b.rs", "fn b() {}\n");
        assert_ne!(copy.revision(), index.revision());
        let mut other = copy.clone();
        other.remove_file("a.rs");
        assert_ne!(other.revision(), index.revision());
        assert_ne!(other.revision(), copy.revision());
    }

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

    #[test]
    fn an_incomplete_index_never_lowers_a_level() {
        use crate::change::{ChangeUnit, FileChange};
        use crate::level::Level;
        use crate::paths::ProtectedPaths;
        use crate::risk::AnalysisContext;

        let unit = ChangeUnit {
            files: vec![FileChange {
                path: "src/lib.rs".into(),
                old_path: None,
                before: Some("pub fn parse(a: u8) -> u8 {\n    a\n}\n".into()),
                after: Some("pub fn parse(a: u8) -> u8 {\n    a + 1\n}\n".into()),
            }],
        };
        let protected = ProtectedPaths::empty();
        let level = |index: &SymbolIndex| {
            let ctx = AnalysisContext {
                protected: &protected,
                index: Some(index),
            };
            crate::risk::analyze(&unit, &ctx)
        };
        // Complete and with few references: a public body change is medium.
        let mut index = SymbolIndex::new();
        index.add_file("src/main.rs", "fn main() { parse(1); }\n");
        assert_eq!(level(&index).level, Level::Medium);
        // With many references it is high; an incomplete index must not say less.
        for i in 0..LARGE {
            index.add_file(&format!("src/user{i}.rs"), "fn f() { parse(1); }\n");
        }
        assert_eq!(level(&index).level, Level::High);
        let incomplete = SymbolIndex::incomplete();
        let report = level(&incomplete);
        assert_eq!(report.level, Level::High);
        assert!(
            report
                .reasons
                .iter()
                .any(|r| r.contains("index is incomplete") && r.contains("`parse`")),
            "{:?}",
            report.reasons
        );
    }

    const LARGE: usize = crate::risk::LARGE_BLAST_FILES + 1;

    #[test]
    fn entries_round_trip_and_are_what_add_file_makes() {
        let text = "def parse(a):\n    return helper(a)\n";
        let entry = FileEntry::of("a.py", text).expect("text");
        let mut index = SymbolIndex::new();
        index.add_file("a.py", text);
        assert_eq!(index.entry("a.py"), Some(&entry));
        let mut other = SymbolIndex::new();
        other.insert("a.py", entry);
        assert_eq!(other.definitions("parse"), vec!["a.py"]);
        assert_eq!(other.references("helper").references, 1);
        assert!(FileEntry::of("b.bin", "a\0b").is_none());
    }
}
