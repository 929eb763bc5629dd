//! Proposals (what an agent wants to change) and the independent units they are split into.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use similar::{ChangeTag, TextDiff};
use tree_sitter::Tree;

use crate::cut::{self, DisjointSets};
use crate::incremental::{Known, ParseCache, Parsers, changed_span};
use crate::languages::Language;
use crate::local;
use crate::merge::{self, Hunk, merge3};
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

/// Cuts a proposal into independent units: one per file and top-level symbol, with the parts
/// that depend on each other kept together.
///
/// Parts. A file is cut along its top-level items when it is modified in place (same path,
/// both sides present), in a language of [`Language`], free of NUL bytes, its line diff has
/// two hunks or more, and both sides parse without ERROR or MISSING nodes. Hunks touching the
/// same top-level item, on either side, are one part; an item is the root's child with its
/// directly attached comments, attributes and decorators, and a container (a Rust `impl`,
/// `mod` or `trait`, a Python, JS or Java class) is one item, members included. A hunk on
/// blank lines or standalone comments only joins the first item below it (the last item at
/// the end of the file). See `cut.rs` for the exact rules. Every other file (created,
/// deleted, renamed, binary, unparseable, unknown language, one hunk) is one part.
///
/// Dependencies. A part *defines* the names of the definitions it adds, removes or modifies
/// (for a cut part: the innermost symbol on each changed line; on a changed line of a
/// non-definition item such as an import, a `use` or a statement, the names of its code) and
/// *touches* every word of its changed lines. Parts `a` and `b` are one unit when a part
/// defines a name the other touches (within a file and across files): a definition stays
/// with its edited references, a rename with its updated call sites, an import with the code
/// that uses it. A change every part of its file may depend on without naming it (a C
/// `#include`, a wildcard import, a Rust inner attribute, a `__future__` import) keeps the
/// whole file together. When in doubt the split keeps together: fewer, bigger units are safe,
/// a wrong split is not.
///
/// Units. A cut file's [`FileChange`] in a unit has the proposal's `before`, and as `after`
/// the `before` with only that unit's hunks applied. Folding [`crate::merge3`] over a cut
/// file's units in order, from `before`, gives the proposal's `after`: units that would not
/// merge with each other (two new functions inserted at one place, whose order a merge cannot
/// know) are joined, and if that is not enough, the file is kept whole. Units are ordered by
/// their first file, then by position in it.
///
/// A one-file proposal whose change is one hunk is not parsed at all.
pub fn split(proposal: &Proposal) -> Vec<ChangeUnit> {
    split_with(proposal, &mut Trees::Fresh(Parsers::default()))
}

/// [`split`], taking the trees of the files' before texts from `cache` (the shell keeps the
/// open documents' trees there) and parsing the after texts incrementally from them. The
/// units are the same as [`split`]'s.
pub fn split_cached(proposal: &Proposal, cache: &mut ParseCache) -> Vec<ChangeUnit> {
    split_with(proposal, &mut Trees::Cached(cache))
}

/// Where trees come from: fresh parses, or the caller's cache.
enum Trees<'c> {
    Fresh(Parsers),
    Cached(&'c mut ParseCache),
}

impl Trees<'_> {
    fn pair(
        &mut self,
        lang: Language,
        path: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Known {
        match self {
            Trees::Fresh(parsers) => {
                let (before, after) = parsers.pair(lang, before, after);
                Known {
                    before,
                    after,
                    skeleton: None,
                }
            }
            Trees::Cached(cache) => cache.trees(lang, path, before, after),
        }
    }

    /// The trees of both sides of a line diff: the before tree from the cache or parsed, the
    /// after tree parsed incrementally from it, told about each hunk.
    fn of_diff(&mut self, path: &str, diff: &LineDiff<'_>) -> (Option<Tree>, Option<Tree>) {
        let (before, parsers) = match self {
            Trees::Fresh(parsers) => (parsers.parse(diff.lang, diff.before, None), parsers),
            Trees::Cached(cache) => (cache.tree(diff.lang, path, diff.before), cache.parsers()),
        };
        let after = before.as_ref().and_then(|bt| {
            parsers.reparse_hunks(
                diff.lang,
                bt,
                (&diff.old, &diff.new),
                &diff.hunks,
                diff.after,
            )
        });
        (before, after)
    }
}

/// The line diff of a file that may be cut: modified in place, a known language, no NUL, two
/// hunks or more.
struct LineDiff<'p> {
    lang: Language,
    before: &'p str,
    after: &'p str,
    old: Vec<&'p str>,
    new: Vec<&'p str>,
    hunks: Vec<Hunk>,
}

fn line_diff(file: &FileChange) -> Option<LineDiff<'_>> {
    let (Some(before), Some(after)) = (file.before.as_deref(), file.after.as_deref()) else {
        return None;
    };
    if file.is_renamed() || before == after || before.contains('\0') || after.contains('\0') {
        return None;
    }
    let lang = Language::from_path(&file.path)?;
    // Changed bytes on one line of each side: one hunk, without diffing.
    let (start, old_end, new_end) = changed_span(before, after);
    let one_line = |text: &str, end: usize| !text.get(start..end).unwrap_or("\n").contains('\n');
    if one_line(before, old_end) && one_line(after, new_end) {
        return None;
    }
    let (old, new) = (merge::lines(before), merge::lines(after));
    let hunks = merge::hunks(&old, &new);
    (hunks.len() >= 2).then_some(LineDiff {
        lang,
        before,
        after,
        old,
        new,
        hunks,
    })
}

/// A part of the proposal: a whole file, or some hunks of a cut file.
struct Part {
    file: usize,
    /// `None`: the whole file.
    hunks: Option<Vec<usize>>,
    /// The first changed line (0 for a whole file).
    position: usize,
    defines: BTreeSet<String>,
    touches: BTreeSet<String>,
    file_wide: bool,
}

fn split_with(proposal: &Proposal, trees: &mut Trees<'_>) -> Vec<ChangeUnit> {
    match plan(proposal, trees) {
        Some(plan) => plan.units,
        None => proposal
            .files
            .iter()
            .map(|f| ChangeUnit {
                files: vec![f.clone()],
            })
            .collect(),
    }
}

/// How a proposal is split: its files' line diffs, its parts, the parts of each unit, and the
/// units. Only the units leave this module; the tests look at the rest.
#[cfg_attr(not(test), allow(dead_code))]
struct Plan<'p> {
    diffs: Vec<Option<LineDiff<'p>>>,
    parts: Vec<Part>,
    groups: Vec<Vec<usize>>,
    units: Vec<ChangeUnit>,
}

/// The split of a proposal, or `None` when it is one unit per file without any grouping to do
/// (a single part in all).
fn plan<'p>(proposal: &'p Proposal, trees: &mut Trees<'_>) -> Option<Plan<'p>> {
    let files = &proposal.files;
    let diffs: Vec<Option<LineDiff<'p>>> = files.iter().map(line_diff).collect();
    // A single file that is not cut (the common case) is never parsed here.
    if files.len() < 2 && diffs.iter().all(Option::is_none) {
        return None;
    }
    let mut parts: Vec<Part> = Vec::new();
    for (index, (file, diff)) in files.iter().zip(&diffs).enumerate() {
        let cut = diff.as_ref().and_then(|d| cut_file(file, d, trees));
        match (cut, diff) {
            (Some(cut), Some(d)) => parts.extend(cut.into_iter().map(|p| {
                Part {
                    file: index,
                    position: p
                        .hunks
                        .first()
                        .and_then(|&h| d.hunks.get(h))
                        .map_or(0, |h| h.old.start),
                    hunks: Some(p.hunks),
                    defines: p.defines,
                    touches: p.touches,
                    file_wide: p.file_wide,
                }
            })),
            _ => parts.push(Part {
                file: index,
                hunks: None,
                position: 0,
                defines: BTreeSet::new(),
                touches: BTreeSet::new(),
                file_wide: false,
            }),
        }
    }
    if parts.len() < 2 {
        return None;
    }
    for part in parts.iter_mut().filter(|p| p.hunks.is_none()) {
        let file = &files[part.file];
        part.defines = changed_definitions(file, trees);
        part.touches = touched_names(file);
    }
    let mut joined: Vec<(usize, usize)> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if p.file_wide {
            joined.extend(
                (0..parts.len())
                    .filter(|&j| parts[j].file == p.file)
                    .map(|j| (i, j)),
            );
        }
    }
    loop {
        let groups = group(&parts, &joined);
        let units: Vec<ChangeUnit> = groups
            .iter()
            .map(|g| build(files, &diffs, &parts, g))
            .collect();
        let more: Vec<(usize, usize)> = (0..files.len())
            .flat_map(|f| joins_for_folding(f, files, &parts, &groups, &units))
            .collect();
        if more.is_empty() {
            return Some(Plan {
                diffs,
                parts,
                groups,
                units,
            });
        }
        joined.extend(more);
    }
}

/// If the versions of file `f` in `units`, merged in order with [`merge3`] from its before
/// text, do not give its after text: the parts to join so that they will. Those are a part of
/// each two units whose versions of `f` do not merge with each other (two new functions
/// inserted at one place: which goes first is unknown to a merge), or, if every two merge,
/// all of `f`'s parts. Empty when `f` folds back (or is in one unit).
fn joins_for_folding(
    f: usize,
    files: &[FileChange],
    parts: &[Part],
    groups: &[Vec<usize>],
    units: &[ChangeUnit],
) -> Vec<(usize, usize)> {
    let file = &files[f];
    let (Some(before), Some(after)) = (file.before.as_deref(), file.after.as_deref()) else {
        return Vec::new();
    };
    // (a part of f in the unit, the unit's version of f), in unit order.
    let versions: Vec<(usize, &str)> = groups
        .iter()
        .zip(units)
        .filter_map(|(g, u)| {
            let part = g.iter().copied().find(|&p| parts[p].file == f)?;
            // A unit's files are in proposal order.
            let earlier: BTreeSet<usize> = g
                .iter()
                .map(|&p| parts[p].file)
                .filter(|&x| x < f)
                .collect();
            u.files
                .get(earlier.len())?
                .after
                .as_deref()
                .map(|a| (part, a))
        })
        .collect();
    if versions.len() < 2 {
        return Vec::new();
    }
    let mut acc = Some(before.to_owned());
    for (_, a) in &versions {
        acc = acc.and_then(|acc| merge3(before, &acc, a));
    }
    if acc.as_deref() == Some(after) {
        return Vec::new();
    }
    let mut joins = Vec::new();
    for (i, (p, a)) in versions.iter().enumerate() {
        for (q, b) in &versions[i + 1..] {
            if merge3(before, a, b).is_none() {
                joins.push((*p, *q));
            }
        }
    }
    if joins.is_empty() {
        joins.extend(versions.windows(2).map(|w| (w[0].0, w[1].0)));
    }
    joins
}

/// The parts of a file with a line diff, if both sides parse cleanly.
fn cut_file(
    file: &FileChange,
    diff: &LineDiff<'_>,
    trees: &mut Trees<'_>,
) -> Option<Vec<cut::Part>> {
    let (Some(bt), Some(at)) = trees.of_diff(&file.path, diff) else {
        return None;
    };
    if bt.root_node().has_error() || at.root_node().has_error() {
        return None;
    }
    Some(cut::cut(
        diff.lang,
        (diff.before, &diff.old, &bt),
        (diff.after, &diff.new, &at),
        &diff.hunks,
    ))
}

/// The units as groups of part indices, ordered by their first part (file, then position):
/// parts where one defines a name the other touches, and the `joined` pairs, are together.
fn group(parts: &[Part], joined: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut sets = DisjointSets::new(parts.len());
    for (i, a) in parts.iter().enumerate() {
        for (j, b) in parts.iter().enumerate() {
            if i != j && !a.defines.is_disjoint(&b.touches) {
                sets.union(i, j);
            }
        }
    }
    for &(i, j) in joined {
        sets.union(i, j);
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..parts.len() {
        groups.entry(sets.find(i)).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    groups.sort_by_key(|g| g.iter().map(|&i| (parts[i].file, parts[i].position)).min());
    groups
}

/// The unit of the parts `group`: each of their files, in proposal order, with the group's
/// hunks applied to a cut file.
fn build(
    files: &[FileChange],
    diffs: &[Option<LineDiff<'_>>],
    parts: &[Part],
    group: &[usize],
) -> ChangeUnit {
    // File index -> the group's hunks of it (`None`: all of them).
    let mut chosen: BTreeMap<usize, Option<BTreeSet<usize>>> = BTreeMap::new();
    for &i in group {
        let part = &parts[i];
        let entry = chosen
            .entry(part.file)
            .or_insert_with(|| Some(BTreeSet::new()));
        match (&part.hunks, entry.as_mut()) {
            (Some(hunks), Some(set)) => set.extend(hunks.iter().copied()),
            _ => *entry = None,
        }
    }
    let files = chosen
        .into_iter()
        .map(|(f, hunks)| {
            let file = &files[f];
            match (hunks, diffs.get(f).and_then(Option::as_ref)) {
                (Some(hunks), Some(d)) if hunks.len() < d.hunks.len() => {
                    let hunks: Vec<usize> = hunks.into_iter().collect();
                    FileChange {
                        after: Some(merge::apply(&d.old, &d.new, &d.hunks, &hunks)),
                        ..file.clone()
                    }
                }
                _ => file.clone(),
            }
        })
        .collect();
    ChangeUnit { files }
}

fn symbols_of(lang: Language, tree: Option<Tree>, text: Option<&str>) -> Vec<Symbol> {
    match (tree, text) {
        (Some(tree), Some(text)) => symbols::extract(tree.root_node(), text, lang),
        _ => Vec::new(),
    }
}

fn base_name(sym: &Symbol) -> String {
    sym.name.split('#').next().unwrap_or_default().to_owned()
}

/// Names of the definitions a file's change adds, removes or modifies: for a modification that
/// parses cleanly, from the symbols of the items it touches only ([`local::prepare`]).
fn changed_definitions(file: &FileChange, trees: &mut Trees<'_>) -> BTreeSet<String> {
    let Some(lang) = Language::from_path(&file.path) else {
        return BTreeSet::new();
    };
    let before = file.before.as_deref().filter(|t| !t.contains('\0'));
    let after = file.after.as_deref().filter(|t| !t.contains('\0'));
    let known = trees.pair(lang, &file.path, before, after);
    // A modification that parses cleanly on both sides: the symbols of the run of items it
    // touches (local analysis), which give the same diff as every symbol of the file; else
    // every symbol.
    let clean = |t: &Option<Tree>| t.as_ref().is_some_and(|t| !t.root_node().has_error());
    let local = match (before, after, &known.before, &known.after) {
        (Some(b), Some(a), Some(bt), Some(at))
            if b != a && !file.is_renamed() && clean(&known.before) && clean(&known.after) =>
        {
            local::prepare(lang, (bt, b), (at, a), known.skeleton.as_deref())
        }
        _ => None,
    };
    let (before, after) = match local {
        Some((b, a)) => (b.symbols, a.symbols),
        None => (
            symbols_of(lang, known.before, before),
            symbols_of(lang, known.after, after),
        ),
    };
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
    let before = file.before.as_deref().unwrap_or("");
    let after = file.after.as_deref().unwrap_or("");
    let mut out = BTreeSet::new();
    if before.contains('\0') || after.contains('\0') {
        return out;
    }
    let diff = TextDiff::from_lines(before, after);
    for change in diff.iter_all_changes() {
        if change.tag() != ChangeTag::Equal {
            cut::words(change.value(), &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modified(path: &str, before: &str, after: &str) -> FileChange {
        FileChange {
            path: path.to_owned(),
            old_path: None,
            before: Some(before.to_owned()),
            after: Some(after.to_owned()),
        }
    }

    /// The after texts of the units of a one-file proposal, checked against the split's
    /// promises: same with and without a cache, every unit changes something, and the units
    /// fold back to the proposal's after text.
    fn afters(path: &str, before: &str, after: &str) -> Vec<String> {
        let proposal = Proposal {
            files: vec![modified(path, before, after)],
        };
        let units = split(&proposal);
        let mut cache = ParseCache::new();
        cache.update(path, before);
        assert_eq!(
            split_cached(&proposal, &mut cache),
            units,
            "cached split differs"
        );
        let mut acc = before.to_owned();
        let mut out = Vec::new();
        for unit in &units {
            assert_eq!(unit.files.len(), 1);
            let file = &unit.files[0];
            assert_eq!(file.before.as_deref(), Some(before));
            let a = file.after.clone().expect("an after text");
            assert_ne!(a, before, "a unit without a change");
            acc = merge3(before, &acc, &a).expect("units merge");
            out.push(a);
        }
        assert_eq!(acc, after, "the units do not fold back to the after text");
        out
    }

    const RUST: &str = "\
use std::fmt;

/// Adds.
fn add(a: u32, b: u32) -> u32 {
    a + b
}

/// Subtracts.
fn sub(a: u32, b: u32) -> u32 {
    a - b
}

fn total(xs: &[u32]) -> u32 {
    let mut t = 0;
    for x in xs {
        t = add(t, *x);
    }
    t
}
";

    #[test]
    fn two_independent_bodies_are_two_units() {
        let after = RUST
            .replace("    a + b\n", "    a.wrapping_add(b)\n")
            .replace("    a - b\n", "    a.wrapping_sub(b)\n");
        let units = afters("src/m.rs", RUST, &after);
        assert_eq!(units.len(), 2);
        assert!(units[0].contains("wrapping_add") && !units[0].contains("wrapping_sub"));
        assert!(units[1].contains("wrapping_sub") && !units[1].contains("wrapping_add"));
    }

    #[test]
    fn a_signature_and_its_call_site_are_one_unit() {
        let after = RUST
            .replace(
                "fn add(a: u32, b: u32) -> u32 {",
                "fn add(a: u64, b: u32) -> u64 {",
            )
            .replace(
                "        t = add(t, *x);",
                "        t = add(t as u64, *x) as u32;",
            );
        assert_eq!(afters("src/m.rs", RUST, &after).len(), 1);
    }

    #[test]
    fn a_doc_edit_and_another_body_are_two_units() {
        let after = RUST
            .replace("/// Adds.\n", "/// Adds two numbers.\n")
            .replace("    a - b\n", "    a.saturating_sub(b)\n");
        let units = afters("src/m.rs", RUST, &after);
        assert_eq!(units.len(), 2);
        assert!(units[0].contains("Adds two numbers") && units[1].contains("saturating_sub"));
    }

    #[test]
    fn a_rename_and_its_references_are_one_unit() {
        let after = RUST.replace("add", "plus");
        assert_eq!(afters("src/m.rs", RUST, &after).len(), 1);
    }

    #[test]
    fn an_import_and_the_code_using_it_are_one_unit() {
        let after = RUST
            .replace(
                "use std::fmt;\n",
                "use std::fmt;\nuse std::collections::HashSet;\n",
            )
            .replace(
                "    let mut t = 0;\n",
                "    let mut t = 0;\n    let _seen: HashSet<u32> = HashSet::new();\n",
            )
            .replace("    a - b\n", "    a.saturating_sub(b)\n");
        let units = afters("src/m.rs", RUST, &after);
        assert_eq!(units.len(), 2, "{units:#?}");
        assert!(units[0].contains("HashSet") && !units[0].contains("saturating_sub"));
        let py = "import os\n\n\ndef a():\n    return 1\n\n\ndef b():\n    return 2\n";
        let after = "import os\nimport sys\n\n\ndef a():\n    return sys.argv\n\n\ndef b():\n    return 3\n";
        let units = afters("app/m.py", py, after);
        assert_eq!(units.len(), 2, "{units:#?}");
        assert!(units[0].contains("sys.argv") && units[0].contains("import sys"));
    }

    #[test]
    fn python_classes_are_one_unit_each() {
        let before = "\
class A:
    def one(self):
        return 1

    def two(self):
        return 2


class B:
    def three(self):
        return 3
";
        let after = before
            .replace("return 1", "return 10")
            .replace("return 2", "return 20")
            .replace("return 3", "return 30");
        let units = afters("app/m.py", before, &after);
        assert_eq!(units.len(), 2);
        assert!(units[0].contains("return 10") && units[0].contains("return 20"));
        assert!(units[1].contains("return 30") && !units[1].contains("return 10"));
    }

    #[test]
    fn what_does_not_parse_is_not_cut() {
        let after = RUST
            .replace("    a + b\n", "    a + b +\n")
            .replace("    a - b\n", "    a.wrapping_sub(b)\n");
        assert_eq!(afters("src/m.rs", RUST, &after).len(), 1);
        let broken = RUST.replace("    t\n}\n", "    t\n}\n}\n");
        let after = broken
            .replace("    a + b\n", "    a.wrapping_add(b)\n")
            .replace("    a - b\n", "    a.wrapping_sub(b)\n");
        assert_eq!(afters("src/m.rs", &broken, &after).len(), 1);
        // Unknown languages, NUL bytes and a single hunk are not cut either.
        let text = "a\nb\nc\nd\n";
        assert_eq!(afters("notes.txt", text, "A\nb\nc\nD\n").len(), 1);
        let after = RUST
            .replace("    a + b\n", "    a + b // \0\n")
            .replace("    a - b\n", "    a.wrapping_sub(b)\n");
        assert_eq!(afters("src/m.rs", RUST, &after).len(), 1);
        let after = RUST.replace("    a + b\n", "    a.wrapping_add(b)\n");
        assert_eq!(afters("src/m.rs", RUST, &after).len(), 1);
    }

    #[test]
    fn blank_lines_between_items_join_the_item_below() {
        let after = RUST
            .replace("}\n\n/// Subtracts.", "}\n\n\n/// Subtracts.")
            .replace("    a + b\n", "    a.wrapping_add(b)\n");
        let units = afters("src/m.rs", RUST, &after);
        assert_eq!(units.len(), 2);
        assert!(units[1].contains("}\n\n\n/// Subtracts."));
        // At the end of the file, the last item.
        let after = format!(
            "{}\n",
            RUST.replace("    a + b\n", "    a.wrapping_add(b)\n")
        );
        let units = afters("src/m.rs", RUST, &after);
        assert_eq!(units.len(), 2);
        assert!(units[1].ends_with("}\n\n"));
    }

    #[test]
    fn files_depending_on_each_other_are_one_unit() {
        let lib_before = "pub fn parse(s: &str) -> u32 {\n    s.len() as u32\n}\n";
        let lib_after =
            "pub fn parse(s: &str, radix: u32) -> u32 {\n    s.len() as u32 * radix\n}\n";
        let main_before = "fn main() {\n    let n = lib::parse(\"x\");\n}\n";
        let main_after = "fn main() {\n    let n = lib::parse(\"x\", 10);\n}\n";
        let other_before = "fn other() {}\n";
        let other_after = "fn other() { let _ = 1; }\n";
        let proposal = Proposal {
            files: vec![
                modified("src/main.rs", main_before, main_after),
                modified("src/other.rs", other_before, other_after),
                modified("src/lib.rs", lib_before, lib_after),
            ],
        };
        let units = split(&proposal);
        let paths: Vec<Vec<&str>> = units
            .iter()
            .map(|u| u.files.iter().map(|f| f.path.as_str()).collect())
            .collect();
        assert_eq!(
            paths,
            vec![vec!["src/main.rs", "src/lib.rs"], vec!["src/other.rs"]]
        );
        // A cut file's part that calls the changed function joins that file; its other part
        // stays alone.
        let main_before =
            "fn main() {\n    let n = lib::parse(\"x\");\n}\n\nfn helper() -> u32 {\n    1\n}\n";
        let main_after = "fn main() {\n    let n = lib::parse(\"x\", 10);\n}\n\nfn helper() -> u32 {\n    2\n}\n";
        let proposal = Proposal {
            files: vec![
                modified("src/main.rs", main_before, main_after),
                modified("src/lib.rs", lib_before, lib_after),
            ],
        };
        let units = split(&proposal);
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].files.len(), 2);
        assert!(
            units[0].files[0]
                .after
                .as_deref()
                .is_some_and(|a| a.contains("10") && a.contains("    1\n"))
        );
        assert_eq!(units[1].files[0].path, "src/main.rs");
        assert!(
            units[1].files[0]
                .after
                .as_deref()
                .is_some_and(|a| a.contains("    2\n") && !a.contains("10"))
        );
    }

    #[test]
    fn every_language_is_cut_by_top_level_item() {
        let cases = [
            (
                "src/m.ts",
                "export function a(): number {\n  return 1;\n}\n\nfunction b(): number {\n  return 2;\n}\n",
                2,
            ),
            (
                "src/m.js",
                "function a() {\n  return 1;\n}\n\nconst b = () => {\n  return 2;\n};\n",
                2,
            ),
            (
                "src/m.tsx",
                "export function A() {\n  return <div>1</div>;\n}\n\nexport function B() {\n  return <div>2</div>;\n}\n",
                2,
            ),
            (
                "p/m.go",
                "package p\n\nfunc A() int {\n\treturn 1\n}\n\nfunc B() int {\n\treturn 2\n}\n",
                2,
            ),
            (
                "src/m.c",
                "int a(void) {\n    return 1;\n}\n\nint b(void) {\n    return 2;\n}\n",
                2,
            ),
            // One class: one item, one unit.
            (
                "src/M.java",
                "class M {\n    int a() {\n        return 1;\n    }\n\n    int b() {\n        return 2;\n    }\n}\n",
                1,
            ),
            // One impl: one item, one unit.
            (
                "src/m.rs",
                "struct S;\n\nimpl S {\n    fn a(&self) -> u8 {\n        1\n    }\n\n    fn b(&self) -> u8 {\n        2\n    }\n}\n",
                1,
            ),
        ];
        for (path, before, units) in cases {
            let after = before.replace('1', "10").replace('2', "20");
            assert_eq!(afters(path, before, &after).len(), units, "{path}");
        }
    }

    #[test]
    fn a_file_wide_change_keeps_the_file_whole() {
        let before = "#include <stdio.h>\n\nint a(void) {\n    return 1;\n}\n\nint b(void) {\n    return 2;\n}\n";
        let after = "#include <stdio.h>\n#include <string.h>\n\nint a(void) {\n    return 1;\n}\n\nint b(void) {\n    return (int)strlen(\"ab\");\n}\n";
        assert_eq!(afters("src/m.c", before, after).len(), 1);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A file of `n` documented functions that call each other, in Rust or Python.
        fn generated(python: bool, n: usize) -> Vec<String> {
            let mut lines = Vec::new();
            for i in 0..n {
                let callee = (i + 1) % n;
                if python {
                    lines.push(format!("def f{i}(a):"));
                    lines.push(format!("    \"\"\"Function {i}.\"\"\""));
                    lines.push(format!("    v = a + {i}"));
                    lines.push(format!("    v = f{callee}(v)"));
                    lines.push("    return v".to_owned());
                    lines.push(String::new());
                    lines.push(String::new());
                } else {
                    lines.push(format!("/// Function {i}."));
                    lines.push(format!("fn f{i}(a: u32) -> u32 {{"));
                    lines.push(format!("    let v = a + {i};"));
                    lines.push(format!("    let v = f{callee}(v);"));
                    lines.push("    v".to_owned());
                    lines.push("}".to_owned());
                    lines.push(String::new());
                }
            }
            lines
        }

        /// Applies one edit to the lines of a generated file: most keep it parseable.
        fn edit(lines: &mut Vec<String>, python: bool, (op, at, k): (u8, f64, u32)) {
            let len = lines.len().max(1);
            let pick = ((at * len as f64) as usize).min(len - 1);
            let statements: Vec<usize> = (0..lines.len())
                .filter(|&i| {
                    let l = &lines[i];
                    l.starts_with("    let ") || (l.starts_with("    v = ") && python)
                })
                .collect();
            let statement = statements
                .get(
                    ((at * statements.len() as f64) as usize)
                        .min(statements.len().saturating_sub(1)),
                )
                .copied();
            let new_statement = if python {
                format!("    v = v + f{}({k})", k % 5)
            } else {
                format!("    let v = v + f{}({k});", k % 5)
            };
            match op % 9 {
                0 => {
                    if let Some(i) = statement {
                        lines[i] = new_statement;
                    }
                }
                1 => {
                    if let Some(i) = statement {
                        lines.insert(i + 1, new_statement);
                    }
                }
                2 => {
                    if let Some(i) = statement {
                        lines.remove(i);
                    }
                }
                3 => lines.insert(pick, String::new()),
                4 => {
                    let start = (0..=pick)
                        .rev()
                        .find(|&i| {
                            lines
                                .get(i)
                                .is_some_and(|l| l.starts_with("def ") || l.starts_with("///"))
                        })
                        .unwrap_or(0);
                    let f = generated(python, 1)
                        .into_iter()
                        .map(|l| l.replace("f0", &format!("g{k}")).replace("f1", "f0"));
                    for (n, l) in f.enumerate() {
                        lines.insert(start + n, l);
                    }
                }
                5 => {
                    let start = (0..=pick).rev().find(|&i| {
                        lines
                            .get(i)
                            .is_some_and(|l| l.starts_with("def ") || l.starts_with("///"))
                    });
                    if let Some(start) = start {
                        let end = (start + 1..lines.len())
                            .find(|&i| lines[i].starts_with("def ") || lines[i].starts_with("///"))
                            .unwrap_or(lines.len());
                        lines.drain(start..end);
                    }
                }
                6 => {
                    if let Some(i) = (0..lines.len())
                        .find(|&i| lines[i].contains(&format!("Function {}.", k % 8)))
                    {
                        lines[i] = lines[i].replace("Function", "The function");
                    }
                }
                7 => {
                    let i = pick.min(lines.len().saturating_sub(1));
                    lines[i] = format!("{k} }} (:");
                }
                _ => {
                    let name = format!("f{}", k % 5);
                    let to = format!("h{}", k % 5);
                    for l in lines.iter_mut() {
                        *l = l.replace(&format!("{name}("), &format!("{to}("));
                    }
                }
            }
        }

        fn check(
            python: bool,
            n: usize,
            edits: &[(u8, f64, u32)],
            line_end: &str,
        ) -> Result<(), TestCaseError> {
            let path = if python { "app/gen.py" } else { "src/gen.rs" };
            let lines = generated(python, n);
            let mut edited = lines.clone();
            for &e in edits {
                if !edited.is_empty() {
                    edit(&mut edited, python, e);
                }
            }
            let join = |l: &[String]| {
                l.iter()
                    .map(|l| format!("{l}{line_end}"))
                    .collect::<String>()
            };
            let (before, after) = (join(&lines), join(&edited));
            prop_assume!(before != after);
            let proposal = Proposal {
                files: vec![modified(path, &before, &after)],
            };
            let units = split(&proposal);
            let mut cache = ParseCache::new();
            cache.update(path, &before);
            prop_assert_eq!(&split_cached(&proposal, &mut cache), &units);
            // Every unit changes the file; the units fold back to the after text.
            let mut acc = before.clone();
            for unit in &units {
                prop_assert_eq!(unit.files.len(), 1);
                let a = unit.files[0].after.clone().unwrap_or_default();
                prop_assert_ne!(&a, &before);
                prop_assert_eq!(unit.files[0].before.as_deref(), Some(before.as_str()));
                acc = merge3(&before, &acc, &a)
                    .ok_or_else(|| TestCaseError::fail("units conflict"))?;
            }
            prop_assert_eq!(&acc, &after);
            // The names a whole-file part defines, from the items it touches, are those of a
            // diff of every symbol of the file.
            let file = modified(path, &before, &after);
            let mut fresh = Trees::Fresh(Parsers::default());
            let mut cached = Trees::Cached(&mut cache);
            let whole = whole_definitions(&file);
            prop_assert_eq!(&changed_definitions(&file, &mut fresh), &whole);
            prop_assert_eq!(&changed_definitions(&file, &mut cached), &whole);
            // When both sides parse cleanly, so does every unit.
            let lang = if python {
                Language::Python
            } else {
                Language::Rust
            };
            let clean = |t: &str| lang.parse(t).is_some_and(|t| !t.root_node().has_error());
            if clean(&before) && clean(&after) {
                for unit in &units {
                    let a = unit.files[0].after.as_deref().unwrap_or_default();
                    prop_assert!(clean(a), "a unit does not parse:\n{}", a);
                }
            }
            // Every hunk in exactly one unit, and each unit's after is its hunks applied.
            let mut trees = Trees::Fresh(Parsers::default());
            if let Some(plan) = plan(&proposal, &mut trees)
                && let Some(diff) = plan.diffs[0].as_ref()
            {
                let mut seen = vec![0usize; diff.hunks.len()];
                for (group, unit) in plan.groups.iter().zip(&plan.units) {
                    let mut hunks: Vec<usize> = Vec::new();
                    for &p in group {
                        match &plan.parts[p].hunks {
                            Some(h) => hunks.extend(h),
                            None => hunks.extend(0..diff.hunks.len()),
                        }
                    }
                    hunks.sort_unstable();
                    for &h in &hunks {
                        seen[h] += 1;
                    }
                    let applied = merge::apply(&diff.old, &diff.new, &diff.hunks, &hunks);
                    prop_assert_eq!(unit.files[0].after.as_deref(), Some(applied.as_str()));
                }
                prop_assert!(seen.iter().all(|&n| n == 1), "{:?}", seen);
            }
            Ok(())
        }

        /// [`changed_definitions`] from every symbol of both sides, as it was before it
        /// looked at the touched items only.
        fn whole_definitions(file: &FileChange) -> BTreeSet<String> {
            let Some(lang) = Language::from_path(&file.path) else {
                return BTreeSet::new();
            };
            let side = |text: Option<&str>| {
                let text = text.filter(|t| !t.contains('\0'));
                symbols_of(lang, text.and_then(|t| lang.parse(t)), text)
            };
            let (before, after) = (side(file.before.as_deref()), side(file.after.as_deref()));
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

        fn edits() -> impl Strategy<Value = Vec<(u8, f64, u32)>> {
            prop::collection::vec((0u8..9, 0.0f64..1.0, 0u32..40), 2..7)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(crate::testing::proptest_cases(300)))]

            #[test]
            fn rust_units_partition_the_hunks_and_fold_back(n in 2usize..9, edits in edits(), crlf in any::<bool>()) {
                check(false, n, &edits, if crlf { "\r\n" } else { "\n" })?;
            }

            #[test]
            fn python_units_partition_the_hunks_and_fold_back(n in 2usize..9, edits in edits()) {
                check(true, n, &edits, "\n")?;
            }
        }
    }
}
