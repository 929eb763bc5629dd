//! Local analysis: the run of nodes a modification touches, on both sides, so that token
//! streams, comments and symbol details are computed for that run only.
//!
//! Why it is exact: outside the changed bytes the two texts are identical. The region is a run
//! of whole children of a host node covering the change, padded by one node on each side (the
//! parse of a node can depend on the token after it) and stretched over attributes and
//! comments that attach to the next item. The host is the root, or, when the top-level run is
//! large, the deepest node that alone holds the change on both sides, at the same place, with
//! the same kind, and with its first and last tokens untouched (they were its neighbours'
//! lookahead). A region is used only when both sides agree on it: the same start byte, the
//! same number of bytes after it, the same number of siblings before and after it. Then every
//! stream of the whole file is `prefix + region + suffix` with the same prefix and suffix on
//! both sides, so the whole streams are equal exactly when the regions are. The few
//! whole-file questions that a region cannot answer (a rename, which needs every other
//! occurrence of the names; a new tool directive, whose reason order depends on the whole
//! file; a symbol key shared with another symbol; a Python string statement whose docstring
//! status the change could flip) make [`prepare`] decline, and the caller analyzes the whole
//! file instead.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use tree_sitter::{Node, Tree};

use crate::languages::{Language, is_comment_kind};
use crate::symbols::{self, Detail, Skeleton, Symbol};
use crate::tokens::{self, Options, Tok};

/// The region of one side: children `children` of the host node, bytes `bytes`. The host is
/// the root, or the node reached from it by the child indices `path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    pub path: Vec<usize>,
    pub children: Range<usize>,
    pub bytes: Range<usize>,
}

impl Region {
    /// The host node of the region in `tree`.
    pub(crate) fn host<'t>(&self, tree: &'t Tree) -> Option<Node<'t>> {
        let mut node = tree.root_node();
        for &i in &self.path {
            node = node.child(i)?;
        }
        Some(node)
    }
}

/// How deep the host of a region may be.
const MAX_DEPTH: usize = 8;

/// Up to this size a run of top-level items is compared whole rather than looked into.
const SMALL_REGION_BYTES: usize = 32 * 1024;

/// One side of a local comparison.
pub(crate) struct Side {
    pub symbols: Vec<Symbol>,
    pub toks: Vec<Tok>,
    pub toks_no_comments: Vec<Tok>,
    pub region: Region,
}

/// The only child of `host` that the changed bytes `change` touch, with its index, if its
/// first and last tokens are untouched (they were the lookahead of its neighbours).
fn only_child<'t>(host: Node<'t>, change: &Range<usize>) -> Option<(usize, Node<'t>)> {
    let count = host.child_count();
    let (first, last_excl) = touched(host, count, change);
    if last_excl != first + 1 {
        return None;
    }
    let c = host.child(first)?;
    if c.child_count() < 2 || crate::languages::is_atomic_kind(c.kind()) {
        return None;
    }
    let leaf = |last: bool| {
        let mut n = c;
        for _ in 0..64 {
            let count = n.child_count();
            if count == 0 {
                return Some(n);
            }
            n = n.child(if last { count - 1 } else { 0 })?;
        }
        None
    };
    let (head, tail) = (leaf(false)?, leaf(true)?);
    (head.end_byte() < change.start && tail.start_byte() > change.end).then_some((first, c))
}

/// The children of `host` not wholly before `change`, and the first wholly after it.
fn touched(host: Node<'_>, count: usize, change: &Range<usize>) -> (usize, usize) {
    // `Node::child` skips whole hidden subtrees (a file's items are a balanced tree of repeat
    // nodes), so random access is logarithmic, while walking the siblings is linear.
    let partition = |pred: &dyn Fn(Node<'_>) -> bool| {
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if host.child(mid).is_some_and(pred) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    (
        partition(&|c| c.end_byte() < change.start),
        partition(&|c| c.start_byte() <= change.end),
    )
}

/// The region of one side covering the changed bytes `change` among the children of `root`
/// (the host, reached by `path`), if there is one. `outer` is what the run stands for when it
/// reaches the first or the last child: the host's bytes, or the whole text for the root.
fn region(
    root: Node<'_>,
    path: Vec<usize>,
    outer: Range<usize>,
    change: Range<usize>,
    lang: Language,
) -> Option<Region> {
    let count = root.child_count();
    if count == 0 {
        return None;
    }
    let child = |i: usize| root.child(i);
    // First child not wholly before the change, last child not wholly after it.
    let (first, last_excl) = touched(root, count, &change);
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
        // Whether a string statement is a docstring depends on every node before it: the
        // nodes after the run keep their (non-)docstring status only if a node other than a
        // comment precedes them outside the changed part, or inside it on both sides.
        let settled = (0..end).any(|i| child(i).is_some_and(|n| !is_comment_kind(n.kind())));
        if !settled {
            return None;
        }
    }
    let bytes_start = if start == 0 {
        outer.start
    } else {
        child(start)?.start_byte()
    };
    let bytes_end = if end == count {
        outer.end
    } else {
        child(end - 1)?.end_byte()
    };
    if bytes_start > change.start || bytes_end < change.end || start >= end {
        return None;
    }
    Some(Region {
        path,
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
    let (lb, la) = (before.1.len(), after.1.len());
    let (span_b, span_a) = (start..old_end, start..new_end);
    // Descend while one child holds the change on both sides, at the same place with the same
    // kind and the same number of siblings after it.
    let (mut hb, mut ha) = (rb, ra);
    let mut path = Vec::new();
    while path.len() < MAX_DEPTH {
        let (Some((ib, cb)), Some((ia, ca))) = (only_child(hb, &span_b), only_child(ha, &span_a))
        else {
            break;
        };
        let same = ib == ia
            && cb.kind_id() == ca.kind_id()
            && cb.start_byte() == ca.start_byte()
            && lb.checked_sub(cb.end_byte()).is_some()
            && lb.checked_sub(cb.end_byte()) == la.checked_sub(ca.end_byte())
            && hb.child_count() - ib == ha.child_count() - ia;
        if !same {
            break;
        }
        path.push(ib);
        (hb, ha) = (cb, ca);
    }
    let pair = |hb: Node<'_>, ha: Node<'_>, path: Vec<usize>| -> Option<(Region, Region)> {
        let (ob, oa) = if path.is_empty() {
            (0..lb, 0..la)
        } else {
            (hb.byte_range(), ha.byte_range())
        };
        let b = region(hb, path.clone(), ob, span_b.clone(), lang)?;
        let a = region(ha, path, oa, span_a.clone(), lang)?;
        let tail = |count: usize, r: &Region| count.checked_sub(r.children.end);
        let tail_bytes = |len: usize, r: &Region| len.checked_sub(r.bytes.end);
        let aligned = b.children.start == a.children.start
            && b.bytes.start == a.bytes.start
            && tail(hb.child_count(), &b).is_some()
            && tail(hb.child_count(), &b) == tail(ha.child_count(), &a)
            && tail_bytes(lb, &b).is_some()
            && tail_bytes(lb, &b) == tail_bytes(la, &a);
        aligned.then_some((b, a))
    };
    // Among the top-level items when they are small: cheaper, as the symbols outside come from
    // the skeleton. Otherwise inside the deepest host, which costs a walk of every symbol.
    let top = pair(rb, ra, Vec::new());
    let small = |r: &Region| r.bytes.len() <= SMALL_REGION_BYTES;
    match top {
        Some((b, a)) if path.is_empty() || (small(&b) && small(&a)) => Some((b, a)),
        top => pair(hb, ha, path).or(top),
    }
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
    if !rb.path.is_empty() {
        return prepare_nested(lang, before, after, rb, ra);
    }
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
            Detail::All,
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
    let mut b = side(lang, before.0, before.1, rb, sb)?;
    let mut a = side(lang, after.0, after.1, ra, sa)?;
    if b.toks != a.toks && b.toks_no_comments == a.toks_no_comments {
        // Comment-only: every symbol, for the one below a changed comment.
        let (rb, ra) = (b.region.bytes.clone(), a.region.bytes.clone());
        let sb = std::mem::take(&mut b.symbols);
        b.symbols = whole(skeleton, (&rb, before.1), (&rb, before.1), sb);
        let sa = std::mem::take(&mut a.symbols);
        a.symbols = whole(skeleton, (&rb, before.1), (&ra, after.1), sa);
    }
    whole_file_questions(lang, before.0, before.1, after.0, after.1, &b, &a)?;
    Some((b, a))
}

/// The token streams of one side's region.
fn side(
    lang: Language,
    tree: &Tree,
    text: &str,
    region: Region,
    symbols: Vec<Symbol>,
) -> Option<Side> {
    let host = region.host(tree)?;
    let toks = tokens::flatten_children(
        host,
        region.children.clone(),
        text,
        lang,
        Options::default(),
    );
    let toks_no_comments = tokens::flatten_children(
        host,
        region.children.clone(),
        text,
        lang,
        Options {
            drop_comments: true,
            exclude: &[],
        },
    );
    Some(Side {
        symbols,
        toks,
        toks_no_comments,
        region,
    })
}

/// `None` when the regions cannot answer for the whole file: a rename (it needs every other
/// occurrence of the names), a new tool directive (which comment counts as new, and so the
/// order of the reasons, depends on the whole file).
fn whole_file_questions(
    lang: Language,
    before_tree: &Tree,
    before_text: &str,
    after_tree: &Tree,
    after_text: &str,
    b: &Side,
    a: &Side,
) -> Option<()> {
    let before = (before_tree, before_text);
    let after = (after_tree, after_text);
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
    Some(())
}

/// [`prepare`] for a region inside a node (a class or impl body, a function body): the
/// symbols of the whole file, with tokens only for those overlapping the region (the ones
/// around it, and in it). A symbol elsewhere is the same on both sides, token-free on both.
fn prepare_nested(
    lang: Language,
    before: (&Tree, &str),
    after: (&Tree, &str),
    rb: Region,
    ra: Region,
) -> Option<(Side, Side)> {
    let extract = |tree: &Tree, text: &str, region: &Region| {
        let mut syms = symbols::extract_raw(
            tree.root_node(),
            text,
            lang,
            None,
            Detail::Overlapping(region.bytes.clone()),
        );
        let shared = symbols::number(&mut syms, Some(region.bytes.clone()));
        (!shared).then_some(syms)
    };
    let sb = extract(before.0, before.1, &rb)?;
    let sa = extract(after.0, after.1, &ra)?;
    let b = side(lang, before.0, before.1, rb, sb)?;
    let a = side(lang, after.0, after.1, ra, sa)?;
    whole_file_questions(lang, before.0, before.1, after.0, after.1, &b, &a)?;
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
    match region.host(tree) {
        Some(host) => tokens::comments_in_children(host, region.children.clone(), text, lang),
        None => Vec::new(),
    }
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
    match region.host(tree) {
        Some(host) => tokens::flatten_children(
            host,
            region.children.clone(),
            text,
            lang,
            Options {
                drop_comments: true,
                exclude: &ranges,
            },
        ),
        None => Vec::new(),
    }
}
