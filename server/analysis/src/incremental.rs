//! Incremental parsing: a [`ParseCache`] of the trees of open documents, owned by the caller,
//! and re-parsing a text against the tree of a close earlier version (`Tree::edit`).
//!
//! Tree-sitter guarantees that an incremental parse gives the same tree as a fresh parse of
//! the same text; only the time differs. The cache compares texts byte for byte (a `memcmp`,
//! cheap next to a parse), never by hash, so a stale tree cannot be used for another text.

use std::collections::BTreeMap;
use std::sync::Arc;

use tree_sitter::{InputEdit, Parser, Point, Tree};

use crate::languages::Language;
use crate::merge::Hunk;
use crate::symbols::Skeleton;

/// What the caller already knows of one file of a unit: the trees of its before and after
/// texts, and the skeleton symbols of its before text.
#[derive(Default)]
pub(crate) struct Known {
    pub before: Option<Tree>,
    pub after: Option<Tree>,
    pub skeleton: Option<Arc<Skeleton>>,
}

/// The trees of the current texts of open documents, by workspace path.
///
/// The shell calls [`ParseCache::update`] when a document opens or changes (it may do so
/// lazily) and [`ParseCache::remove`] when it closes; [`crate::analyze_cached`] then reuses the
/// tree of a proposal's "before" text and parses its "after" text incrementally.
#[derive(Default)]
pub struct ParseCache {
    entries: BTreeMap<String, Entry>,
    parsers: Parsers,
}

impl std::fmt::Debug for ParseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParseCache")
            .field("paths", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

struct Entry {
    text: String,
    tree: Tree,
    /// The symbols of `text` without tokens, computed on first use by an analysis.
    skeleton: Option<Arc<Skeleton>>,
    /// The last "after" side analyzed against this entry: a likely next text.
    pending: Option<Pending>,
}

/// A likely next text of an entry, its tree, and (once [`ParseCache::prepare`] ran) its
/// skeleton.
struct Pending {
    text: String,
    tree: Tree,
    skeleton: Option<Arc<Skeleton>>,
}

impl ParseCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `text` as the current text of `path`, parsing it incrementally against the
    /// previous text of `path` if there is one. Free when the text is unchanged or was the
    /// "after" side of the last analysis of `path`. Paths in no known language are not kept.
    pub fn update(&mut self, path: &str, text: &str) {
        let Some(lang) = Language::from_path(path) else {
            self.entries.remove(path);
            return;
        };
        let next = match self.entries.get_mut(path) {
            Some(entry) if entry.text == text => return,
            Some(entry) => match entry.pending.take() {
                // The text the last analysis expected: its tree (and skeleton) are ready.
                Some(p) if p.text == text => Some((p.text, p.tree, p.skeleton)),
                _ => self
                    .parsers
                    .reparse(lang, &entry.tree, &entry.text, text)
                    .map(|tree| (text.to_owned(), tree, None)),
            },
            None => self
                .parsers
                .parse(lang, text, None)
                .map(|tree| (text.to_owned(), tree, None)),
        };
        match next {
            Some((text, tree, skeleton)) => {
                self.entries.insert(
                    path.to_owned(),
                    Entry {
                        text,
                        tree,
                        skeleton,
                        pending: None,
                    },
                );
            }
            None => {
                self.entries.remove(path);
            }
        }
    }

    /// Work ahead, for a moment when nobody waits: computes the skeleton of each entry's
    /// likely next text (the "after" of its last analysis), so that analyzing a change on top
    /// of it does not have to. Returns how many were computed.
    pub fn prepare(&mut self) -> usize {
        let mut done = 0;
        for (path, entry) in &mut self.entries {
            let Some(lang) = Language::from_path(path) else {
                continue;
            };
            if let Some(p) = entry.pending.as_mut().filter(|p| p.skeleton.is_none()) {
                p.skeleton = Some(Arc::new(Skeleton::new(p.tree.root_node(), &p.text, lang)));
                done += 1;
            }
        }
        done
    }

    /// Forgets `path` (the document closed).
    pub fn remove(&mut self, path: &str) {
        self.entries.remove(path);
    }

    /// Whether the cache holds the tree of exactly `text` for `path`.
    pub fn contains(&self, path: &str, text: &str) -> bool {
        self.entries.get(path).is_some_and(|e| e.text == text)
    }

    /// The tree of exactly `text` for `path`, if the cache holds it: as its current text, or
    /// as the "after" side of its last analysis (what an applied proposal wrote). Never parses.
    pub fn tree_of(&self, path: &str, text: &str) -> Option<Tree> {
        let entry = self.entries.get(path)?;
        if entry.text == text {
            return Some(entry.tree.clone());
        }
        entry
            .pending
            .as_ref()
            .filter(|p| p.text == text)
            .map(|p| p.tree.clone())
    }

    /// Whether the cache holds a tree for `path`.
    pub fn contains_path(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// The tree of `text` for `path`: the cached one, or parsed (incrementally against the
    /// cached tree of `path` if there is one). The cache is left as it was.
    pub(crate) fn tree(&mut self, lang: Language, path: &str, text: &str) -> Option<Tree> {
        match self.entries.get(path) {
            Some(entry) if entry.text == text => Some(entry.tree.clone()),
            Some(entry) => self.parsers.reparse(lang, &entry.tree, &entry.text, text),
            None => self.parsers.parse(lang, text, None),
        }
    }

    /// The cache's parsers.
    pub(crate) fn parsers(&mut self) -> &mut Parsers {
        &mut self.parsers
    }

    /// The tree of `before` and the tree of `after` for `path`: from the cache when it holds
    /// them, otherwise parsed (incrementally against the cached tree when there is one). The
    /// cache itself only remembers the `after` tree as a likely next text.
    pub(crate) fn trees(
        &mut self,
        lang: Language,
        path: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Known {
        let Some(entry) = self.entries.get_mut(path) else {
            let (before, after) = self.parsers.pair(lang, before, after);
            return Known {
                before,
                after,
                skeleton: None,
            };
        };
        let skeleton = match before {
            Some(b) if b == entry.text => {
                let root = entry.tree.root_node();
                let text = entry.text.as_str();
                Some(Arc::clone(entry.skeleton.get_or_insert_with(|| {
                    Arc::new(Skeleton::new(root, text, lang))
                })))
            }
            _ => None,
        };
        let before_tree = match before {
            Some(b) if b == entry.text => Some(entry.tree.clone()),
            Some(b) => self.parsers.reparse(lang, &entry.tree, &entry.text, b),
            None => None,
        };
        let after_tree = match (after, &before_tree, before) {
            (Some(a), _, _) if a == entry.text => Some(entry.tree.clone()),
            (Some(a), _, _) if entry.pending.as_ref().is_some_and(|p| p.text == a) => {
                entry.pending.as_ref().map(|p| p.tree.clone())
            }
            (Some(a), Some(bt), Some(b)) => self.parsers.reparse(lang, bt, b, a),
            (Some(a), _, _) => self.parsers.reparse(lang, &entry.tree, &entry.text, a),
            (None, _, _) => None,
        };
        if let (Some(a), Some(t)) = (after, &after_tree)
            && a != entry.text
            && entry.pending.as_ref().is_none_or(|p| p.text != a)
        {
            entry.pending = Some(Pending {
                text: a.to_owned(),
                tree: t.clone(),
                skeleton: None,
            });
        }
        Known {
            before: before_tree,
            after: after_tree,
            skeleton,
        }
    }
}

/// One parser per language, reused across parses.
#[derive(Default)]
pub(crate) struct Parsers {
    parsers: BTreeMap<Language, Parser>,
}

impl Parsers {
    /// Parses `text`, reusing `old` (already edited to match `text`) if given.
    pub(crate) fn parse(&mut self, lang: Language, text: &str, old: Option<&Tree>) -> Option<Tree> {
        let parser = match self.parsers.entry(lang) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let mut parser = Parser::new();
                parser.set_language(&lang.grammar()).ok()?;
                v.insert(parser)
            }
        };
        let tree = parser.parse(text, old);
        if tree.is_none() {
            // A cancelled or failed parse leaves the parser mid-parse; start afresh next time.
            parser.reset();
        }
        tree
    }

    /// Parses `new` incrementally against `old_tree`, the tree of `old`.
    pub(crate) fn reparse(
        &mut self,
        lang: Language,
        old_tree: &Tree,
        old: &str,
        new: &str,
    ) -> Option<Tree> {
        if old == new {
            return Some(old_tree.clone());
        }
        let mut edited = old_tree.clone();
        edited.edit(&input_edit(old, new));
        self.parse(lang, new, Some(&edited))
    }

    /// Parses `new` incrementally against `old_tree`, the tree of the old text, told about
    /// each hunk of their line diff (`old` and `new` by lines): not one edit from the first
    /// hunk to the last, which would reparse everything between them.
    pub(crate) fn reparse_hunks(
        &mut self,
        lang: Language,
        old_tree: &Tree,
        (old, new): (&[&str], &[&str]),
        hunks: &[Hunk],
        new_text: &str,
    ) -> Option<Tree> {
        let mut edited = old_tree.clone();
        // Each edit is given in the text as it is after the edits before it: the new text up
        // to the hunk, the old text from it.
        let (mut byte, mut line) = (0, 0);
        let size = |lines: &[&str]| lines.iter().map(|l| l.len()).sum::<usize>();
        for h in hunks {
            byte += size(new.get(line..h.new.start)?);
            let start = Point {
                row: h.new.start,
                column: 0,
            };
            let (removed, added) = (old.get(h.old.clone())?, new.get(h.new.clone())?);
            edited.edit(&InputEdit {
                start_byte: byte,
                old_end_byte: byte + size(removed),
                new_end_byte: byte + size(added),
                start_position: start,
                old_end_position: past(start, removed),
                new_end_position: past(start, added),
            });
            byte += size(added);
            line = h.new.end;
        }
        self.parse(lang, new_text, Some(&edited))
    }

    /// Trees of both sides: `before` fresh, `after` incrementally against it.
    pub(crate) fn pair(
        &mut self,
        lang: Language,
        before: Option<&str>,
        after: Option<&str>,
    ) -> (Option<Tree>, Option<Tree>) {
        let before_tree = before.and_then(|b| self.parse(lang, b, None));
        let after_tree = match (after, &before_tree, before) {
            (Some(a), Some(bt), Some(b)) => self.reparse(lang, bt, b, a),
            (Some(a), _, _) => self.parse(lang, a, None),
            (None, _, _) => None,
        };
        (before_tree, after_tree)
    }
}

/// The single edit turning `old` into `new`: the bytes between their common prefix and
/// common suffix, on character boundaries.
pub(crate) fn changed_span(old: &str, new: &str) -> (usize, usize, usize) {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let mut prefix = crate::text::common_prefix(a, b);
    while prefix > 0 && !(old.is_char_boundary(prefix) && new.is_char_boundary(prefix)) {
        prefix -= 1;
    }
    let mut suffix = crate::text::common_suffix(a, b, a.len().min(b.len()) - prefix);
    while suffix > 0
        && !(old.is_char_boundary(a.len() - suffix) && new.is_char_boundary(b.len() - suffix))
    {
        suffix -= 1;
    }
    (prefix, a.len() - suffix, b.len() - suffix)
}

fn point(text: &str, byte: usize) -> Point {
    let head = text.as_bytes().get(..byte).unwrap_or(text.as_bytes());
    let row = head.iter().filter(|&&c| c == b'\n').count();
    let column = head.iter().rev().take_while(|&&c| c != b'\n').count();
    Point { row, column }
}

/// The point after `lines`, written from `start`.
fn past(start: Point, lines: &[&str]) -> Point {
    lines.iter().fold(start, |p, l| {
        if l.ends_with('\n') {
            Point {
                row: p.row + 1,
                column: 0,
            }
        } else {
            Point {
                row: p.row,
                column: p.column + l.len(),
            }
        }
    })
}

fn input_edit(old: &str, new: &str) -> InputEdit {
    let (start, old_end, new_end) = changed_span(old, new);
    let start_position = point(old, start);
    InputEdit {
        start_byte: start,
        old_end_byte: old_end,
        new_end_byte: new_end,
        start_position,
        old_end_position: point(old, old_end),
        new_end_position: point(new, new_end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_trees_equal_fresh_ones() {
        let old = "fn a() { 1 }\n\nfn b() { 2 }\n";
        let new = "fn a() { 1 }\n\nfn b() { 2 + 3 }\nfn c() {}\n";
        let mut parsers = Parsers::default();
        let (_, inc) = parsers.pair(Language::Rust, Some(old), Some(new));
        let fresh = Language::Rust.parse(new).map(|t| t.root_node().to_sexp());
        assert_eq!(inc.map(|t| t.root_node().to_sexp()), fresh);
        // Told about each hunk, the same tree.
        let old = "fn a() { 1 }\n\nfn b() { 2 }\n\nfn c() { 3 }\nfn d() {}";
        let new = "fn a() { 10 }\n\nfn b() { 2 }\n\nfn c() { 3 }\nfn d() { 4 }\nfn e() {}\n";
        let (ol, nl) = (crate::merge::lines(old), crate::merge::lines(new));
        let hunks = crate::merge::hunks(&ol, &nl);
        assert_eq!(hunks.len(), 2);
        let before = parsers.parse(Language::Rust, old, None).expect("parses");
        let inc = parsers.reparse_hunks(Language::Rust, &before, (&ol, &nl), &hunks, new);
        let fresh = Language::Rust.parse(new).map(|t| t.root_node().to_sexp());
        assert_eq!(inc.map(|t| t.root_node().to_sexp()), fresh);
        assert_eq!(changed_span("aé", "aè"), (1, 3, 3));
        assert_eq!(changed_span("abc", "abc"), (3, 3, 3));
        assert_eq!(changed_span("aa", "aaa"), (2, 2, 3));
        // Across blocks, and where prefix and suffix would overlap.
        let long = "x".repeat(1000);
        assert_eq!(changed_span(&long, &long), (1000, 1000, 1000));
        let longer = format!("{long}x");
        assert_eq!(changed_span(&long, &longer), (1000, 1000, 1001));
        let (old, new) = (format!("{long}a{long}"), format!("{long}bc{long}"));
        assert_eq!(changed_span(&old, &new), (1000, 1001, 1002));
    }

    #[test]
    fn a_prepared_next_text_brings_its_tree_and_skeleton() {
        let (old, new) = (
            "fn a() {}\nfn b() {}\n",
            "fn a() {}\nfn b() { 1 }\nfn c() {}\n",
        );
        let mut cache = ParseCache::new();
        cache.update("x.rs", old);
        let _ = cache.trees(Language::Rust, "x.rs", Some(old), Some(new));
        assert_eq!(cache.prepare(), 1);
        assert_eq!(cache.prepare(), 0, "done once");
        cache.update("x.rs", new);
        let entry = cache.entries.get("x.rs").expect("kept");
        let fresh = Language::Rust.parse(new).expect("parses");
        assert_eq!(
            entry.tree.root_node().to_sexp(),
            fresh.root_node().to_sexp()
        );
        let skeleton = entry.skeleton.as_ref().expect("carried over");
        let expected = Skeleton::new(fresh.root_node(), new, Language::Rust);
        assert_eq!(
            format!("{:?}", skeleton.symbols),
            format!("{:?}", expected.symbols)
        );
    }

    #[test]
    fn the_cache_follows_the_document() {
        let mut cache = ParseCache::new();
        cache.update("a.py", "def f():\n    return 1\n");
        assert!(cache.contains("a.py", "def f():\n    return 1\n"));
        cache.update("a.py", "def f():\n    return 2\n");
        assert!(cache.contains("a.py", "def f():\n    return 2\n"));
        cache.update("README.md", "# x");
        assert!(!cache.contains("README.md", "# x"));
        cache.remove("a.py");
        assert!(!cache.contains("a.py", "def f():\n    return 2\n"));
    }
}
