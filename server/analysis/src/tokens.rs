//! Structural token streams of syntax trees, for format-only, comment-only and rename checks.
//!
//! A tree is flattened into `Open(kind) … Close` brackets around its children, with leaves
//! carrying their text. String, char and template literals are atomic (their full text is one
//! leaf), so whitespace inside them counts. Non-whitespace text between children that no node
//! covers is kept too. Two texts whose streams are equal differ only in layout.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;
use tree_sitter::Node;

use crate::languages::{Language, is_atomic_kind, is_comment_kind, is_identifier_kind};

/// One element of a flattened tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tok {
    Open(u16),
    Close,
    Leaf {
        kind: u16,
        ident: bool,
        text: String,
    },
    Gap(String),
}

/// What [`flatten`] leaves out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// Drop comment nodes (and, in Python, docstrings).
    pub drop_comments: bool,
    /// Drop every node whose byte range lies inside one of these ranges.
    pub exclude: &'a [Range<usize>],
}

struct Frame<'t> {
    node: Node<'t>,
    /// Collected with a cursor: `Node::child(i)` walks the siblings before `i`, which made
    /// nodes with thousands of children (a file's root) quadratic.
    children: std::vec::IntoIter<Node<'t>>,
    pos: usize,
}

/// Flattens `node` (iteratively: deep trees cannot overflow the stack).
pub fn flatten(node: Node<'_>, src: &str, lang: Language, opts: Options<'_>) -> Vec<Tok> {
    let merged = merge(opts.exclude);
    let opts = Options {
        drop_comments: opts.drop_comments,
        exclude: &merged,
    };
    let mut out = Vec::new();
    if skipped(node, lang, opts) {
        return out;
    }
    let mut stack: Vec<Frame<'_>> = Vec::new();
    if let Some(frame) = enter(node, src, &mut out) {
        stack.push(frame);
    }
    while let Some(frame) = stack.last_mut() {
        if let Some(child) = frame.children.next() {
            let range = child.byte_range();
            push_gap(src, frame.pos, range.start, &mut out);
            frame.pos = frame.pos.max(range.end);
            if skipped(child, lang, opts) {
                continue;
            }
            if let Some(new_frame) = enter(child, src, &mut out) {
                stack.push(new_frame);
            }
        } else {
            push_gap(src, frame.pos, frame.node.end_byte(), &mut out);
            out.push(Tok::Close);
            stack.pop();
        }
    }
    out
}

/// The part of `flatten(parent)` that comes from the children `children` of `parent` and the
/// gaps between them; the gap before the run only if it starts at the first child, the gap
/// after it only if it ends at the last child. When two trees differ only inside such a run
/// of children, their streams are equal exactly when these parts are.
pub fn flatten_children(
    parent: Node<'_>,
    children: Range<usize>,
    src: &str,
    lang: Language,
    opts: Options<'_>,
) -> Vec<Tok> {
    let merged = merge(opts.exclude);
    let opts = Options {
        drop_comments: opts.drop_comments,
        exclude: &merged,
    };
    let mut out = Vec::new();
    let count = parent.child_count();
    // Random access: logarithmic (see `local::region`), unlike walking the siblings before.
    let run: Vec<Node<'_>> = children.clone().filter_map(|i| parent.child(i)).collect();
    let mut pos = match run.first() {
        Some(first) if children.start > 0 => first.start_byte(),
        _ => parent.start_byte(),
    };
    for child in run {
        let range = child.byte_range();
        push_gap(src, pos, range.start, &mut out);
        pos = pos.max(range.end);
        if skipped(child, lang, opts) {
            continue;
        }
        out.extend(flatten(child, src, lang, opts));
    }
    if children.end >= count {
        push_gap(src, pos, parent.end_byte(), &mut out);
    }
    out
}

/// The comments (and Python docstrings) of the children `children` of `parent`, in order.
pub fn comments_in_children(
    parent: Node<'_>,
    children: Range<usize>,
    src: &str,
    lang: Language,
) -> Vec<String> {
    // Random access: logarithmic (see `local::region`), unlike walking the siblings before.
    let run: Vec<Node<'_>> = children.clone().filter_map(|i| parent.child(i)).collect();
    run.into_iter()
        .flat_map(|child| comments(child, src, lang))
        .collect()
}

/// Sorts ranges and merges overlapping or nested ones.
fn merge(ranges: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut sorted: Vec<Range<usize>> =
        ranges.iter().filter(|r| r.start < r.end).cloned().collect();
    sorted.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start < last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Emits a leaf, or an `Open` and a frame for a node with children.
fn enter<'t>(node: Node<'t>, src: &str, out: &mut Vec<Tok>) -> Option<Frame<'t>> {
    let kind = node.kind();
    if node.child_count() == 0 || is_atomic_kind(kind) {
        out.push(Tok::Leaf {
            kind: node.kind_id(),
            ident: is_identifier_kind(kind),
            text: src.get(node.byte_range()).unwrap_or_default().to_owned(),
        });
        None
    } else {
        out.push(Tok::Open(node.kind_id()));
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.children(&mut cursor).collect();
        Some(Frame {
            node,
            children: children.into_iter(),
            pos: node.start_byte(),
        })
    }
}

fn push_gap(src: &str, from: usize, to: usize, out: &mut Vec<Tok>) {
    if from >= to {
        return;
    }
    if let Some(text) = src.get(from..to) {
        let words: Vec<&str> = text.split_whitespace().collect();
        if !words.is_empty() {
            out.push(Tok::Gap(words.join(" ")));
        }
    }
}

fn skipped(node: Node<'_>, lang: Language, opts: Options<'_>) -> bool {
    let range = node.byte_range();
    // `exclude` is sorted and disjoint (see `merge`): the only candidate is the last range
    // starting at or before the node.
    let i = opts.exclude.partition_point(|ex| ex.start <= range.start);
    if i > 0
        && range.start < range.end
        && opts
            .exclude
            .get(i - 1)
            .is_some_and(|ex| range.end <= ex.end)
    {
        return true;
    }
    opts.drop_comments
        && (is_comment_kind(node.kind()) || (lang == Language::Python && is_docstring(node)))
}

/// A Python docstring: a lone string statement first in a module, class or function body.
pub fn is_docstring(node: Node<'_>) -> bool {
    if node.kind() != "expression_statement" || node.named_child_count() != 1 {
        return false;
    }
    let is_string = node
        .named_child(0)
        .is_some_and(|c| matches!(c.kind(), "string" | "concatenated_string"));
    if !is_string {
        return false;
    }
    let Some(parent) = node.parent() else {
        return false;
    };
    let body_ok = match parent.kind() {
        "module" => true,
        "block" => parent
            .parent()
            .is_some_and(|g| matches!(g.kind(), "function_definition" | "class_definition")),
        _ => false,
    };
    if !body_ok {
        return false;
    }
    let mut prev = node.prev_named_sibling();
    while let Some(p) = prev {
        if !is_comment_kind(p.kind()) {
            return false;
        }
        prev = p.prev_named_sibling();
    }
    true
}

/// The texts of every comment (and Python docstring) under `node`, in order.
pub fn comments(node: Node<'_>, src: &str, lang: Language) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = node.walk();
    loop {
        let current = cursor.node();
        let is_doc = lang == Language::Python && is_docstring(current);
        if is_comment_kind(current.kind()) || is_doc {
            out.push(src.get(current.byte_range()).unwrap_or_default().to_owned());
        } else if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node() == node {
                return out;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}

/// The first tool directive in a comment (`@ts-ignore`, `noqa`, `//go:`, a shebang …), if any.
/// A comment change that adds one changes what tools do, so it is not comment-only.
pub fn directive(comment: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?i)@ts-(?:ignore|nocheck|expect-error)|\beslint(?:-disable(?:-next-line|-line)?|-enable)?\b|^/\*\s*globals?\s|@flow\b|@jsx\w*\b|biome-ignore|deno-lint-ignore|^//(?:line|export)\s|#cgo\b|#include\b|\bnoqa\b|type:\s*ignore|\bpragma\b|\bnolint\b|^//\s*go:|^//\s*\+build|fmt:\s*(?:off|skip)|istanbul\s+ignore|c8\s+ignore|prettier-ignore|pylint:\s*disable|mypy:|^#!|coding[:=]|@SuppressWarnings|rubocop:|jshint|jscs:|tslint:",
        )
        .expect("the directive pattern is a constant")
    });
    re.find(comment.trim()).map(|m| m.as_str().to_owned())
}

/// Whether `node`'s tree binds `name` somewhere: a declaration, parameter, pattern or
/// assignment target, not merely a use. A rename must rename a binding in the change; a
/// changed call (`put` → `putIfAbsent`) is not a rename.
pub fn binds(node: Node<'_>, src: &str, name: &str) -> bool {
    let mut cursor = node.walk();
    loop {
        let current = cursor.node();
        if current.child_count() == 0
            && is_identifier_kind(current.kind())
            && src.get(current.byte_range()) == Some(name)
            && is_binding_site(current)
        {
            return true;
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node() == node {
                return false;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return false;
            }
        }
    }
}

fn is_binding_kind(kind: &str) -> bool {
    kind.contains("declarator")
        || kind.contains("parameter")
        || kind.contains("declaration")
        || kind.contains("definition")
        || kind.contains("pattern")
        || kind.ends_with("_item")
        || kind.ends_with("_spec")
        || matches!(
            kind,
            "assignment"
                | "augmented_assignment"
                | "for_statement"
                | "for_in_statement"
                | "for_expression"
                | "range_clause"
                | "let_condition"
                | "closure_parameters"
                | "catch_clause"
                | "except_clause"
                | "with_item"
                | "as_pattern"
                | "import_specifier"
                | "aliased_import"
                | "enum_variant"
                | "field_declaration"
        )
}

fn is_binding_site(leaf: Node<'_>) -> bool {
    let Some(parent) = leaf.parent() else {
        return false;
    };
    let pk = parent.kind();
    if pk.contains("call") || pk.contains("invocation") || pk.contains("member") {
        return false;
    }
    if is_binding_kind(pk) {
        return true;
    }
    matches!(pk, "expression_list" | "tuple" | "identifier_list")
        && parent.parent().is_some_and(|g| is_binding_kind(g.kind()))
}

/// Leaf texts joined by single spaces: a layout-free display form of a stream.
pub fn display(toks: &[Tok]) -> String {
    let mut out = String::new();
    let mut prev: Option<&str> = None;
    for tok in toks {
        let text = match tok {
            Tok::Leaf { text, .. } | Tok::Gap(text) => text.as_str(),
            _ => continue,
        };
        if prev.is_some_and(|p| spaced(p, text)) {
            out.push(' ');
        }
        out.push_str(text);
        prev = Some(text);
    }
    out
}

/// Whether a space goes between two tokens when a signature is shown to a person: as code is
/// usually written (`pub fn parse(a: u8) -> u8`, `#[test] fn f()`), not one per token.
fn spaced(prev: &str, next: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '\'' | '"' | '$');
    let (Some(end), Some(start)) = (prev.chars().last(), next.chars().next()) else {
        return false;
    };
    if matches!(
        prev,
        "," | ";" | ":" | "->" | "=>" | "=" | "|" | "||" | "&&" | "{"
    ) || matches!(next, "->" | "=>" | "=" | "{" | "}" | "||" | "&&")
    {
        return true;
    }
    // `u8 x`, `] fn`, `) Read`, `@Test @Disabled`, `char *s`.
    (word(end) || matches!(end, ')' | ']')) && (word(start) || start == '@')
        || word(end) && matches!(next, "*" | "&")
}

/// If `after` is `before` with some identifiers consistently renamed (every occurrence of an
/// old name replaced, no new name already present before), the renames `old → new`.
/// `None` when the streams differ otherwise. An empty vector means the streams are equal.
pub fn renames(pairs: &[(&[Tok], &[Tok])]) -> Option<Vec<(String, String)>> {
    let mut map: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    let mut unchanged: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for (before, after) in pairs {
        if before.len() != after.len() {
            return None;
        }
        for (b, a) in before.iter().zip(after.iter()) {
            match (b, a) {
                _ if b == a => {
                    if let Tok::Leaf {
                        ident: true, text, ..
                    } = b
                    {
                        unchanged.insert(text);
                    }
                }
                (
                    Tok::Leaf {
                        kind: kb,
                        ident: true,
                        text: tb,
                    },
                    Tok::Leaf {
                        kind: ka,
                        ident: true,
                        text: ta,
                    },
                ) if kb == ka => match map.get(tb.as_str()) {
                    Some(existing) if *existing != ta.as_str() => return None,
                    _ => {
                        map.insert(tb, ta);
                    }
                },
                _ => return None,
            }
        }
    }
    let news: std::collections::BTreeSet<&str> = map.values().copied().collect();
    if news.len() != map.len() {
        return None;
    }
    for (old, new) in &map {
        // An old name left somewhere unchanged, or a new name that already existed: not a
        // clean rename (a reference missed, or a capture).
        if unchanged.contains(old) || unchanged.contains(new) {
            return None;
        }
    }
    Some(
        map.into_iter()
            .map(|(old, new)| (old.to_owned(), new.to_owned()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(lang: Language, text: &str, drop_comments: bool) -> Vec<Tok> {
        let tree = lang.parse(text).expect("parses");
        flatten(
            tree.root_node(),
            text,
            lang,
            Options {
                drop_comments,
                exclude: &[],
            },
        )
    }

    #[test]
    fn layout_does_not_count_but_string_whitespace_does() {
        let a = toks(Language::Rust, "fn f(){let x=\"a b\";}", false);
        let b = toks(Language::Rust, "fn f() {\n    let x = \"a b\";\n}\n", false);
        let c = toks(Language::Rust, "fn f() { let x = \"a  b\"; }", false);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn python_indentation_that_moves_a_statement_counts() {
        let a = toks(Language::Python, "if x:\n    a()\n    b()\n", false);
        let b = toks(Language::Python, "if x:\n    a()\nb()\n", false);
        assert_ne!(a, b);
    }

    #[test]
    fn comments_and_docstrings_drop() {
        let a = toks(
            Language::Python,
            "def f():\n    \"\"\"Doc.\"\"\"\n    return 1\n",
            true,
        );
        let b = toks(Language::Python, "def f():\n    # hi\n    return 1\n", true);
        assert_eq!(a, b);
        let tree = Language::Python
            .parse("# a\ndef f():\n    \"\"\"D\"\"\"\n")
            .expect("parses");
        assert_eq!(
            comments(
                tree.root_node(),
                "# a\ndef f():\n    \"\"\"D\"\"\"\n",
                Language::Python
            )
            .len(),
            2
        );
    }

    #[test]
    fn renames_are_found_only_when_complete() {
        let a = toks(Language::Rust, "fn f() { let a = 1; g(a); }", false);
        let b = toks(Language::Rust, "fn f() { let b = 1; g(b); }", false);
        let c = toks(Language::Rust, "fn f() { let b = 1; g(a); }", false);
        assert_eq!(
            renames(&[(&a, &b)]),
            Some(vec![("a".to_owned(), "b".to_owned())])
        );
        assert_eq!(renames(&[(&a, &c)]), None);
        assert!(directive("// @ts-ignore").is_some());
        assert!(directive("# noqa: E501").is_some());
        assert!(directive("// fixes the bug").is_none());
        assert!(directive("/* eslint no-console: off */").is_some());
        assert!(directive("//export Add").is_some());
        assert!(directive("// export the config as JSON").is_none());
    }
}
