//! The cut of one modified file into parts, one per top-level item: the hunks of its line
//! diff, the top-level items of both trees, which items each hunk touches, and what each part
//! defines and touches (for the dependencies between parts in [`crate::change`]).
//!
//! Items. An item is a child of the tree's root with what belongs to it: the comments, Rust
//! `#[...]` attributes and decorators directly above it (no blank line between; Python
//! decorators are inside their definition already), and a comment that starts on the line it
//! ends on. Items that share a line are one item. A container (a Rust `impl`, `mod` or `trait`, a Python or Java class) is one item:
//! "top-level symbol" means the container, not its members. Everything else (blank lines,
//! comments standing alone) lies between items.
//!
//! Hunks and items. A hunk touches, on the before side, the items its removed lines are in, or
//! for a pure insertion the item it is inserted inside of (between two of its lines); on the
//! after side, the same with its added lines. A before item and an after item that share an
//! unchanged line are the same item. Hunks touching the same item are one part. A hunk that
//! touches no item (only blank lines or standalone comments) joins the first item below it,
//! or the last item above it at the end of the file.

use std::collections::BTreeSet;
use std::ops::Range;

use tree_sitter::{Node, Tree};

use crate::languages::{Language, is_atomic_kind, is_comment_kind, is_identifier_kind};
use crate::merge::Hunk;
use crate::symbols::{self, Detail, Symbol};

/// One part of a cut file.
#[derive(Debug)]
pub(crate) struct Part {
    /// Indices of its hunks, in order.
    pub hunks: Vec<usize>,
    /// The names of the definitions it adds, removes or modifies, and the names a non-definition
    /// item it changes (an import, a `use`, a statement) introduces or touches.
    pub defines: BTreeSet<String>,
    /// Every word on its changed lines.
    pub touches: BTreeSet<String>,
    /// It changes something every other part of the file may depend on without naming it
    /// (a C `#include`, a wildcard or dot import, a Rust inner attribute, a `__future__`
    /// import).
    pub file_wide: bool,
}

/// One side of a cut: its text by lines, its tree, its items (row spans).
struct Side<'a> {
    lang: Language,
    text: &'a str,
    lines: &'a [&'a str],
    tree: &'a Tree,
    items: Vec<Item>,
}

/// Rows `rows` (inclusive) and root children `children` of one top-level item.
#[derive(Clone, Debug)]
struct Item {
    rows: (usize, usize),
    children: Range<usize>,
}

/// The parts of a modified file whose both sides parsed cleanly into `before` and `after`,
/// cut along its hunks (at least one). Parts are in order of their first hunk.
pub(crate) fn cut(
    lang: Language,
    (before_text, before_lines, before): (&str, &[&str], &Tree),
    (after_text, after_lines, after): (&str, &[&str], &Tree),
    hunks: &[Hunk],
) -> Vec<Part> {
    let b = Side::new(lang, before_text, before_lines, before);
    let a = Side::new(lang, after_text, after_lines, after);
    let (nb, na) = (b.items.len(), a.items.len());
    // Nodes: before items, after items, and one for a file without items.
    let whole = nb + na;
    let mut sets = DisjointSets::new(whole + 1);
    let mut first_node: Vec<usize> = Vec::with_capacity(hunks.len());
    for h in hunks {
        let mut nodes: Vec<usize> = b.touched(&h.old);
        nodes.extend(a.touched(&h.new).into_iter().map(|i| nb + i));
        if nodes.is_empty() {
            nodes.push(match (b.below(&h.old), a.below(&h.new)) {
                (Some(i), _) => i,
                (None, Some(i)) => nb + i,
                (None, None) => whole,
            });
        }
        for &n in &nodes[1..] {
            sets.union(nodes[0], n);
        }
        first_node.push(nodes[0]);
    }
    // The same item on both sides: a before and an after item sharing an unchanged line.
    let mut unchanged: Vec<(Range<usize>, Range<usize>)> = Vec::with_capacity(hunks.len() + 1);
    let (mut o, mut n) = (0, 0);
    for h in hunks {
        unchanged.push((o..h.old.start, n..h.new.start));
        (o, n) = (h.old.end, h.new.end);
    }
    unchanged.push((o..before_lines.len(), n..after_lines.len()));
    let (mut ib, mut ia) = (0, 0);
    for (old, new) in unchanged {
        for (row_b, row_a) in old.zip(new) {
            while b.items.get(ib).is_some_and(|it| it.rows.1 < row_b) {
                ib += 1;
            }
            while a.items.get(ia).is_some_and(|it| it.rows.1 < row_a) {
                ia += 1;
            }
            let in_b = b.items.get(ib).is_some_and(|it| it.rows.0 <= row_b);
            let in_a = a.items.get(ia).is_some_and(|it| it.rows.0 <= row_a);
            if in_b && in_a {
                sets.union(ib, nb + ia);
            }
        }
    }
    // Parts in order of their first hunk.
    let mut parts: Vec<Part> = Vec::new();
    let mut part_of_root: Vec<Option<usize>> = vec![None; whole + 1];
    for (i, &node) in first_node.iter().enumerate() {
        let root = sets.find(node);
        let p = match part_of_root[root] {
            Some(p) => p,
            None => {
                parts.push(Part {
                    hunks: Vec::new(),
                    defines: BTreeSet::new(),
                    touches: BTreeSet::new(),
                    file_wide: false,
                });
                part_of_root[root] = Some(parts.len() - 1);
                parts.len() - 1
            }
        };
        parts[p].hunks.push(i);
    }
    for part in &mut parts {
        let removed: BTreeSet<usize> = part
            .hunks
            .iter()
            .flat_map(|&i| hunks[i].old.clone())
            .collect();
        let added: BTreeSet<usize> = part
            .hunks
            .iter()
            .flat_map(|&i| hunks[i].new.clone())
            .collect();
        for (side, rows) in [(&b, &removed), (&a, &added)] {
            for &row in rows {
                if let Some(line) = side.lines.get(row) {
                    words(line, &mut part.touches);
                }
            }
            part.file_wide |= side.defined(rows, &mut part.defines);
        }
    }
    parts
}

/// Adds every word of `text` (identifier-shaped) to `out`.
pub(crate) fn words(text: &str, out: &mut BTreeSet<String>) {
    out.extend(crate::text::words(text).map(str::to_owned));
}

/// Kinds whose change every part of the file may depend on without naming it.
fn is_file_wide(kind: &str) -> bool {
    matches!(
        kind,
        "preproc_include"
            | "use_wildcard"
            | "wildcard_import"
            | "inner_attribute_item"
            | "future_import_statement"
    )
}

impl<'a> Side<'a> {
    fn new(lang: Language, text: &'a str, lines: &'a [&'a str], tree: &'a Tree) -> Self {
        let items = items(tree.root_node());
        Side {
            lang,
            text,
            lines,
            tree,
            items,
        }
    }

    /// The first item whose last row is at or after `row`.
    fn item_at_or_after(&self, row: usize) -> usize {
        self.items.partition_point(|it| it.rows.1 < row)
    }

    /// The items that the changed lines `rows` touch; for a pure insertion (empty `rows`), the
    /// item it is inserted inside of.
    fn touched(&self, rows: &Range<usize>) -> Vec<usize> {
        if rows.is_empty() {
            // Between rows `start - 1` and `start`: inside an item holding both.
            let Some(above) = rows.start.checked_sub(1) else {
                return Vec::new();
            };
            let i = self.item_at_or_after(above);
            return match self.items.get(i) {
                Some(it) if it.rows.0 <= above && rows.start <= it.rows.1 => vec![i],
                _ => Vec::new(),
            };
        }
        let last = rows.end - 1;
        (self.item_at_or_after(rows.start)..self.items.len())
            .take_while(|&i| self.items[i].rows.0 <= last)
            .collect()
    }

    /// The first item below the lines `rows`, or else the last item.
    fn below(&self, rows: &Range<usize>) -> Option<usize> {
        let i = self.items.partition_point(|it| it.rows.0 < rows.end);
        if i < self.items.len() {
            Some(i)
        } else {
            self.items.len().checked_sub(1)
        }
    }

    /// Adds to `out` what the changed lines `rows` of this side define: the innermost symbol
    /// on each row, or on a row outside every symbol, the names of its code (identifiers, and
    /// the words of strings in imports; comments and blank lines define nothing). Answers
    /// whether one of them is file-wide.
    fn defined(&self, rows: &BTreeSet<usize>, out: &mut BTreeSet<String>) -> bool {
        let Some((&first, &last)) = rows.first().zip(rows.last()) else {
            return false;
        };
        let root = self.tree.root_node();
        // The items holding the rows, and their symbols (names and rows only).
        let from = self.item_at_or_after(first);
        let to = self.items.partition_point(|it| it.rows.0 <= last);
        let Some(children) = self
            .items
            .get(from)
            .zip(to.checked_sub(1).and_then(|l| self.items.get(l)))
            .filter(|_| from < to)
            .map(|(f, l)| f.children.start..l.children.end)
        else {
            return false;
        };
        let syms: Vec<Symbol> =
            symbols::extract_raw(root, self.text, self.lang, Some(children), Detail::Nothing);
        let mut file_wide = false;
        for &row in rows {
            let holding = syms
                .iter()
                .filter(|s| s.lines.0 <= row + 1 && row < s.lines.1)
                .min_by_key(|s| s.lines.1 - s.lines.0);
            if let Some(inner) = holding {
                let size = inner.lines.1 - inner.lines.0;
                out.extend(
                    syms.iter()
                        .filter(|s| s.lines.0 <= row + 1 && row < s.lines.1)
                        .filter(|s| s.lines.1 - s.lines.0 == size)
                        .map(|s| s.name.split('#').next().unwrap_or_default().to_owned()),
                );
                continue;
            }
            let i = self.item_at_or_after(row);
            let Some(item) = self.items.get(i).filter(|it| it.rows.0 <= row) else {
                continue;
            };
            for c in item.children.clone() {
                if let Some(node) = root.child(c) {
                    let import = node.kind().contains("import");
                    file_wide |= self.names_on_row(node, row, import, out);
                }
            }
        }
        file_wide
    }

    /// The names of the code of `node` on `row`. Answers whether a file-wide node is there.
    fn names_on_row(
        &self,
        node: Node<'_>,
        row: usize,
        import: bool,
        out: &mut BTreeSet<String>,
    ) -> bool {
        if node.start_position().row > row || node.end_position().row < row {
            return false;
        }
        let kind = node.kind();
        if is_comment_kind(kind) {
            return false;
        }
        // Java `import a.*;`, Go `import . "a"`.
        let mut file_wide = is_file_wide(kind) || (import && matches!(kind, "asterisk" | "dot"));
        let text = self.text.get(node.byte_range()).unwrap_or_default();
        if is_atomic_kind(kind) {
            if import {
                words(text, out);
            }
            return file_wide;
        }
        if node.child_count() == 0 {
            if node.is_named() && is_identifier_kind(kind) {
                out.insert(text.to_owned());
            }
            return file_wide;
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.start_position().row > row {
                break;
            }
            file_wide |= self.names_on_row(child, row, import, out);
        }
        file_wide
    }
}

/// The last row of `node`: a node ending at column 0 (a line comment with its `\n`) ends on
/// the row before.
fn last_row(node: Node<'_>) -> usize {
    let end = node.end_position();
    if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// The top-level items of a tree (see the module documentation), in order, on disjoint rows.
fn items(root: Node<'_>) -> Vec<Item> {
    let mut cursor = root.walk();
    let kids: Vec<Node<'_>> = root.children(&mut cursor).collect();
    let mut out: Vec<Item> = Vec::new();
    // The first of the leading nodes (comments, attributes) right above the next item.
    let mut lead: Option<usize> = None;
    for (i, node) in kids.iter().enumerate() {
        let start = node.start_position().row;
        let end = last_row(*node);
        // Whether a blank line separates this node from the one before it.
        let blank_above = i
            .checked_sub(1)
            .and_then(|p| kids.get(p))
            .is_some_and(|prev| last_row(*prev) + 1 < start);
        let comment = is_comment_kind(node.kind());
        if comment || matches!(node.kind(), "attribute_item" | "decorator") {
            // A comment starting on the row an item ends on belongs to that item.
            if let Some(last) = out.last_mut()
                && comment
                && lead.is_none()
                && last.children.end == i
                && last.rows.1 == start
            {
                last.rows.1 = last.rows.1.max(end);
                last.children.end = i + 1;
                continue;
            }
            if blank_above {
                lead = None;
            }
            lead.get_or_insert(i);
            continue;
        }
        let first = match lead.take() {
            Some(first) if !blank_above => first,
            _ => i,
        };
        let rows_start = kids.get(first).map_or(start, |n| n.start_position().row);
        match out.last_mut() {
            Some(last) if last.rows.1 >= rows_start => {
                last.rows.1 = last.rows.1.max(end);
                last.children.end = i + 1;
            }
            _ => out.push(Item {
                rows: (rows_start, end),
                children: first..i + 1,
            }),
        }
    }
    out
}

/// Union-find over `0..n`, the smallest index as the root.
pub(crate) struct DisjointSets {
    parent: Vec<usize>,
}

impl DisjointSets {
    pub(crate) fn new(n: usize) -> Self {
        DisjointSets {
            parent: (0..n).collect(),
        }
    }

    pub(crate) fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    pub(crate) fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of the items of `text`, 0-based and inclusive.
    fn rows(lang: Language, text: &str) -> Vec<(usize, usize)> {
        let tree = lang.parse(text).expect("parses");
        assert!(!tree.root_node().has_error(), "{text}");
        items(tree.root_node()).iter().map(|it| it.rows).collect()
    }

    #[test]
    fn items_take_their_comments_and_attributes() {
        let rust = "\
//! Inner doc, standing alone.

use a::b;

/// Doc.
#[inline]
fn f() {} // trailing

// Standing alone.

fn g() {}
fn h() {} fn i() {}
";
        assert_eq!(
            rows(Language::Rust, rust),
            vec![(2, 2), (4, 6), (10, 10), (11, 11)]
        );
        let go = "package p\n\nimport \"fmt\"\n\n// F prints.\nfunc F() {\n\tfmt.Println()\n}\n";
        assert_eq!(rows(Language::Go, go), vec![(0, 0), (2, 2), (4, 7)]);
        let py = "import os\n\n\n# Helper.\n@cache\ndef f():\n    pass\n\n\nclass C:\n    x = 1\n";
        assert_eq!(rows(Language::Python, py), vec![(0, 0), (3, 6), (9, 10)]);
        let ts = "/**\n * Doc.\n */\nexport function f(): number {\n  return 1;\n}\n\nconst x = 1; // why\n";
        assert_eq!(rows(Language::TypeScript, ts), vec![(0, 5), (7, 7)]);
        let c =
            "#include <stdio.h>\n\n/* Adds. */\nint add(int a, int b) {\n    return a + b;\n}\n";
        assert_eq!(rows(Language::C, c), vec![(0, 0), (2, 5)]);
    }
}
