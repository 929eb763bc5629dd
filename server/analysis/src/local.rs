//! Local analysis: the run of top-level nodes a modification touches, on both sides, so that
//! token streams, comments and symbol details are computed for that run only.
//!
//! Why it is exact: outside the changed bytes the two texts are identical. The region is a run
//! of whole top-level nodes covering the change, padded by one node on each side (the parse
//! of a node can depend on the token after it) and stretched over attributes and comments that
//! attach to the next item. It is used only when both sides agree on it: the same start byte,
//! the same number of bytes after it, the same number of top-level nodes before and after it.
//! Then every stream of the whole file is `prefix + region + suffix` with the same prefix and
//! suffix on both sides, so the whole streams are equal exactly when the regions are. The
//! few whole-file questions that a region cannot answer (a rename, which needs every other
//! occurrence of the names; a new tool directive, whose reason order depends on the whole
//! file; a symbol key shared with another symbol) make [`prepare`] decline, and the caller
//! analyzes the whole file instead.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use tree_sitter::{Node, Tree};

use crate::languages::{Language, is_comment_kind};
use crate::symbols::{self, Skeleton, Symbol};
use crate::tokens::{self, Options, Tok};

/// The region of one side: root children `children`, bytes `bytes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    pub children: Range<usize>,
    pub bytes: Range<usize>,
}

/// One side of a local comparison.
pub(crate) struct Side {
    pub symbols: Vec<Symbol>,
    pub toks: Vec<Tok>,
    pub toks_no_comments: Vec<Tok>,
    pub region: Region,
}

/// The region of one side covering the changed bytes `change`, if there is one.
fn region(root: Node<'_>, text_len: usize, change: Range<usize>, lang: Language) -> Option<Region> {
    let count = root.child_count();
    if count == 0 {
        return None;
    }
    // `Node::child` skips whole hidden subtrees (a file's items are a balanced tree of repeat
    // nodes), so random access is logarithmic, while walking the siblings is linear.
    let child = |i: usize| root.child(i);
    let partition = |pred: &dyn Fn(Node<'_>) -> bool| {
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if child(mid).is_some_and(pred) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    // First child not wholly before the change, last child not wholly after it.
    let first = partition(&|c| c.end_byte() < change.start);
    let last_excl = partition(&|c| c.start_byte() <= change.end);
    let mut start = first.min(last_excl).saturating_sub(1);
    let mut end = (last_excl.max(first) + 1).min(count);
    let attaches = |n: Node<'_>| is_comment_kind(n.kind()) || n.kind() == "attribute_item";
    while start > 0 && child(start - 1).is_some_and(attaches) {
        start -= 1;
    }
    while end < count && child(end - 1).is_some_and(attaches) {
        end += 1;
    }
    if lang == Language::Python {
        // Whether a top-level string is a docstring depends on every node before it.
        let settled = (0..start).any(|i| child(i).is_some_and(|n| !is_comment_kind(n.kind())));
        if !settled {
            return None;
        }
    }
    let bytes_start = if start == 0 {
        0
    } else {
        child(start)?.start_byte()
    };
    let bytes_end = if end == count {
        text_len
    } else {
        child(end - 1)?.end_byte()
    };
    if bytes_start > change.start || bytes_end < change.end || start >= end {
        return None;
    }
    Some(Region {
        children: start..end,
        bytes: bytes_start..bytes_end,
    })
}

/// Regions of both sides that line up, or `None`.
fn regions(
    before: (&Tree, &str),
    after: (&Tree, &str),
    lang: Language,
) -> Option<(Region, Region)> {
    let (start, old_end, new_end) = crate::incremental::changed_span(before.1, after.1);
    let (rb, ra) = (before.0.root_node(), after.0.root_node());
    if rb.kind_id() != ra.kind_id() || rb.start_byte() != ra.start_byte() {
        return None;
    }
    let b = region(rb, before.1.len(), start..old_end, lang)?;
    let a = region(ra, after.1.len(), start..new_end, lang)?;
    let tail = |count: usize, r: &Region| count.checked_sub(r.children.end);
    let tail_bytes = |len: usize, r: &Region| len.checked_sub(r.bytes.end);
    let aligned = b.children.start == a.children.start
        && b.bytes.start == a.bytes.start
        && tail(rb.child_count(), &b).is_some()
        && tail(rb.child_count(), &b) == tail(ra.child_count(), &a)
        && tail_bytes(before.1.len(), &b).is_some()
        && tail_bytes(before.1.len(), &b) == tail_bytes(after.1.len(), &a);
    aligned.then_some((b, a))
}

/// Both sides of a local comparison of a modification that parses cleanly on both sides, or
/// `None` when the whole file must be analyzed (see the module documentation). `skeleton` is
/// the [`Skeleton`] of the before side, if the caller has it.
///
/// The symbols of a side are those of its region only (with tokens): outside the regions
/// they are the same on both sides, so they add nothing to a symbol diff or to the tests
/// removed. Only a comment-only change, whose reasons name the symbol below a changed
/// comment wherever it is, gets every symbol of the file.
pub(crate) fn prepare(
    lang: Language,
    before: (&Tree, &str),
    after: (&Tree, &str),
    skeleton: Option<&Skeleton>,
) -> Option<(Side, Side)> {
    let (rb, ra) = regions(before, after, lang)?;
    let computed;
    let skeleton = match skeleton {
        Some(s) => s,
        None => {
            computed = Skeleton::new(before.0.root_node(), before.1, lang);
            &computed
        }
    };
    let extract = |tree: &Tree, text: &str, region: &Region| {
        symbols::extract_raw(
            tree.root_node(),
            text,
            lang,
            Some(region.children.clone()),
            true,
        )
    };
    let (sb, sa) = (
        extract(before.0, before.1, &rb),
        extract(after.0, after.1, &ra),
    );
    // A key shared with another symbol gets a `#n` suffix that depends on the whole file.
    let count = |syms: &[Symbol]| {
        let mut m: HashMap<String, usize> = HashMap::new();
        for s in syms {
            *m.entry(s.key()).or_insert(0) += 1;
        }
        m
    };
    let (kb, ka) = (count(&sb), count(&sa));
    let outside = |k: &String| {
        let all = skeleton.keys.get(k).copied().unwrap_or(0);
        all.saturating_sub(kb.get(k).copied().unwrap_or(0))
    };
    if kb.iter().chain(&ka).any(|(k, n)| *n > 1 || outside(k) > 0) {
        return None;
    }
    let side = |tree: &Tree, text: &str, region: Region, symbols: Vec<Symbol>| -> Side {
        let root = tree.root_node();
        let toks = tokens::flatten_children(
            root,
            region.children.clone(),
            text,
            lang,
            Options::default(),
        );
        let toks_no_comments = tokens::flatten_children(
            root,
            region.children.clone(),
            text,
            lang,
            Options {
                drop_comments: true,
                exclude: &[],
            },
        );
        Side {
            symbols,
            toks,
            toks_no_comments,
            region,
        }
    };
    let mut b = side(before.0, before.1, rb, sb);
    let mut a = side(after.0, after.1, ra, sa);
    if b.toks != a.toks && b.toks_no_comments == a.toks_no_comments {
        let (rb, ra) = (b.region.bytes.clone(), a.region.bytes.clone());
        let sb = std::mem::take(&mut b.symbols);
        b.symbols = whole(skeleton, (&rb, before.1), (&rb, before.1), sb);
        let sa = std::mem::take(&mut a.symbols);
        a.symbols = whole(skeleton, (&rb, before.1), (&ra, after.1), sa);
    }
    if b.toks_no_comments != a.toks_no_comments {
        // A rename needs every other occurrence of the names in the file.
        if tokens::renames(&[(&b.toks_no_comments, &a.toks_no_comments)])
            .is_some_and(|m| !m.is_empty())
        {
            return None;
        }
    }
    if b.toks != a.toks {
        // Which added comment counts as new, and so the order of directive reasons, depends
        // on the whole file.
        let mut old: BTreeMap<String, usize> = BTreeMap::new();
        for c in comments(before.0, before.1, lang, &b.region) {
            *old.entry(c).or_insert(0) += 1;
        }
        for c in comments(after.0, after.1, lang, &a.region) {
            match old.get_mut(&c) {
                Some(n) if *n > 0 => *n -= 1,
                _ => {
                    if c.lines().any(|l| tokens::directive(l).is_some()) {
                        return None;
                    }
                }
            }
        }
    }
    Some((b, a))
}

/// Every symbol of one side: the skeleton's outside the regions (shifted on the after side)
/// and `region` (the side's own) inside, numbered as [`symbols::extract`] numbers them.
fn whole(
    skeleton: &Skeleton,
    (rb, before_text): (&Range<usize>, &str),
    (rs, text): (&Range<usize>, &str),
    region: Vec<Symbol>,
) -> Vec<Symbol> {
    let newlines = |t: &str, r: &Range<usize>| {
        t.get(r.clone())
            .map_or(0, |t| t.bytes().filter(|&b| b == b'\n').count())
    };
    let (lines_before, lines_side) = (newlines(before_text, rb), newlines(text, rs));
    let at = |x: usize, from: usize, to: usize| (x + to).saturating_sub(from);
    let prefix = skeleton
        .symbols
        .iter()
        .take_while(|s| s.range.end <= rb.start);
    let n = prefix.clone().count();
    let suffix = skeleton
        .symbols
        .iter()
        .skip(n)
        .skip_while(|s| s.range.start < rb.end)
        .map(|s| {
            let mut s = s.clone();
            s.range = at(s.range.start, rb.end, rs.end)..at(s.range.end, rb.end, rs.end);
            s.lines = (
                at(s.lines.0, lines_before, lines_side),
                at(s.lines.1, lines_before, lines_side),
            );
            s
        });
    let mut out: Vec<Symbol> = prefix.cloned().chain(region).chain(suffix).collect();
    symbols::number(&mut out, None);
    out
}

/// The comments of a region.
pub(crate) fn comments(tree: &Tree, text: &str, lang: Language, region: &Region) -> Vec<String> {
    tokens::comments_in_children(tree.root_node(), region.children.clone(), text, lang)
}

/// The residue of a region: its tokens outside every symbol.
pub(crate) fn residue(
    tree: &Tree,
    text: &str,
    lang: Language,
    region: &Region,
    symbols: &[Symbol],
) -> Vec<Tok> {
    let ranges: Vec<Range<usize>> = symbols
        .iter()
        .filter(|s| s.range.start < region.bytes.end && region.bytes.start < s.range.end)
        .map(|s| s.range.clone())
        .collect();
    tokens::flatten_children(
        tree.root_node(),
        region.children.clone(),
        text,
        lang,
        Options {
            drop_comments: true,
            exclude: &ranges,
        },
    )
}
