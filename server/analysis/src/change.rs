//! Proposals (what an agent wants to change) and the independent units they are split into.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::languages::Language;
use crate::symbols::{self, Symbol, SymbolChange};

/// One file's before and after state. Paths are workspace-relative with `/` separators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Path after the change (for a deletion: the deleted path).
    pub path: String,
    /// For a rename: the path before the change.
    pub old_path: Option<String>,
    /// Content before; `None` when the file did not exist.
    pub before: Option<String>,
    /// Content after; `None` when the file is deleted.
    pub after: Option<String>,
}

impl FileChange {
    pub fn is_created(&self) -> bool {
        self.before.is_none() && self.after.is_some()
    }

    pub fn is_deleted(&self) -> bool {
        self.after.is_none()
    }

    pub fn is_renamed(&self) -> bool {
        self.old_path.as_deref().is_some_and(|old| old != self.path)
    }

    /// Every path this change writes or removes.
    pub fn touched_paths(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.path.as_str()).chain(self.old_path.as_deref())
    }
}

/// Everything one agent proposed at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub files: Vec<FileChange>,
}

/// An independent part of a proposal, decided and applied as one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeUnit {
    pub files: Vec<FileChange>,
}

/// Cuts a proposal into independent units.
///
/// One unit per file, except that files depending on each other are grouped: a file whose
/// definitions change (added, removed, signature, body, renamed) and every other file of the
/// proposal whose changed lines mention one of those names form one unit. Units keep the order
/// of their first file.
pub fn split(proposal: &Proposal) -> Vec<ChangeUnit> {
    let files = &proposal.files;
    // Grouping needs two files; a single file (the common case) is never parsed here.
    if files.len() < 2 {
        return files
            .iter()
            .map(|f| ChangeUnit {
                files: vec![f.clone()],
            })
            .collect();
    }
    let defs: Vec<BTreeSet<String>> = files.iter().map(changed_definitions).collect();
    let touched: Vec<BTreeSet<String>> = files.iter().map(touched_names).collect();
    let mut parent: Vec<usize> = (0..files.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, d) in defs.iter().enumerate() {
        for (j, t) in touched.iter().enumerate() {
            if i != j && !d.is_disjoint(t) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<FileChange>> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(file.clone());
    }
    groups
        .into_values()
        .map(|files| ChangeUnit { files })
        .collect()
}

fn symbols_of(lang: Language, text: Option<&str>) -> Vec<Symbol> {
    let Some(text) = text.filter(|t| !t.contains('\0')) else {
        return Vec::new();
    };
    lang.parse(text)
        .map(|tree| symbols::extract(tree.root_node(), text, lang))
        .unwrap_or_default()
}

fn base_name(sym: &Symbol) -> String {
    sym.name.split('#').next().unwrap_or_default().to_owned()
}

/// Names of the definitions a file's change adds, removes or modifies.
fn changed_definitions(file: &FileChange) -> BTreeSet<String> {
    let Some(lang) = Language::from_path(&file.path) else {
        return BTreeSet::new();
    };
    let before = symbols_of(lang, file.before.as_deref());
    let after = symbols_of(lang, file.after.as_deref());
    symbols::diff(&before, &after)
        .into_iter()
        .flat_map(|change| match change {
            SymbolChange::Added(s) | SymbolChange::Removed(s) => vec![base_name(s)],
            SymbolChange::Signature(a, b)
            | SymbolChange::Visibility(a, b)
            | SymbolChange::Body(a, b) => vec![base_name(a), base_name(b)],
        })
        .collect()
}

/// Every word on the lines a file's change adds or removes.
fn touched_names(file: &FileChange) -> BTreeSet<String> {
    static WORD: OnceLock<Regex> = OnceLock::new();
    let word = WORD.get_or_init(|| {
        Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("the word pattern is a constant")
    });
    let before = file.before.as_deref().unwrap_or("");
    let after = file.after.as_deref().unwrap_or("");
    if before.contains('\0') || after.contains('\0') {
        return BTreeSet::new();
    }
    let diff = TextDiff::from_lines(before, after);
    diff.iter_all_changes()
        .filter(|c| c.tag() != ChangeTag::Equal)
        .flat_map(|c| {
            word.find_iter(c.value())
                .map(|m| m.as_str().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}
