//! Line diffs in hunks, and [`merge3`]: the three-way line merge that rebases a pending change
//! on a sibling change of the same file.
//!
//! Lines here end at `\n` only (a `\r\n` line keeps its `\r`, a lone `\r` is not a break), so
//! that line numbers are tree-sitter rows, CRLF text and a missing final newline come out as
//! they went in, and no text is ever normalized.

use std::ops::Range;
use std::time::{Duration, Instant};

use similar::algorithms::Capture;
use similar::{Algorithm, DiffTag};

/// The lines of `text`, each with its `\n` (the last one may have none).
pub(crate) fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// A run of changed lines: the lines `old` of the old text are replaced by the lines `new` of
/// the new text. Two hunks of one diff are separated by at least one unchanged line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hunk {
    pub old: Range<usize>,
    pub new: Range<usize>,
}

/// The hunks of the line diff from `old` to `new` (Myers, with a deadline past which the diff
/// is coarser but still exact). Not `similar::capture_diff*`: its `Compact` step can return
/// ops that do not tile the two texts (a deletion moved up over identical lines keeps a stale
/// index on the other side), and hunks must.
pub(crate) fn hunks(old: &[&str], new: &[&str]) -> Vec<Hunk> {
    let deadline = Instant::now().checked_add(Duration::from_secs(2));
    let mut capture = Capture::new();
    // `Capture` never fails.
    let _ = similar::algorithms::diff_deadline(
        Algorithm::Myers,
        &mut capture,
        old,
        0..old.len(),
        new,
        0..new.len(),
        deadline,
    );
    let ops = capture.into_ops();
    let mut out: Vec<Hunk> = Vec::new();
    let mut open: Option<Hunk> = None;
    for op in &ops {
        let (tag, o, n) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            if !o.is_empty() {
                out.extend(open.take());
            }
            continue;
        }
        match &mut open {
            Some(h) => {
                h.old.end = o.end;
                h.new.end = n.end;
            }
            None => open = Some(Hunk { old: o, new: n }),
        }
    }
    out.extend(open);
    out
}

/// `old` with the hunks `chosen` of its diff to `new` applied, and no other.
pub(crate) fn apply(old: &[&str], new: &[&str], hunks: &[Hunk], chosen: &[usize]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for &i in chosen {
        let Some(h) = hunks.get(i) else { continue };
        out.extend(old.get(at..h.old.start).unwrap_or_default().iter().copied());
        out.extend(new.get(h.new.clone()).unwrap_or_default().iter().copied());
        at = h.old.end;
    }
    out.extend(old.get(at..).unwrap_or_default().iter().copied());
    out
}

/// Three-way line merge: `ours` and `theirs` are two edits of `base`; the answer is `base` with
/// both edits, or `None` when they conflict. Never conflict markers.
///
/// Each side's edits are the hunks of its line diff from `base`. They merge when every base
/// line is changed by one side at most:
/// - overlapping hunks conflict, unless both sides made the very same change;
/// - edits of adjacent lines merge (the result is unambiguous: each line comes from the side
///   that changed it), and so does an insertion right before or after a line the other side
///   changed;
/// - two different insertions at the same place conflict (their order is unknown).
///
/// A line diff can place a pure insertion or deletion differently among identical lines
/// (deleting one of three `}` lines). Where such a hunk meets the other side's hunks, every
/// placement of the hunks over identical lines is tried, and the merge is returned only if
/// the conflict-free placements exist and all give the same text.
///
/// Lines end at `\n`: CRLF text and a missing final newline are kept as they are.
pub fn merge3(base: &str, ours: &str, theirs: &str) -> Option<String> {
    if ours == theirs || theirs == base {
        return Some(ours.to_owned());
    }
    if ours == base {
        return Some(theirs.to_owned());
    }
    let (b, o, t) = (lines(base), lines(ours), lines(theirs));
    let sides = [Side::new(&b, &o), Side::new(&b, &t)];
    // Clusters: hunks of both sides whose reach (range plus slides) overlap or touch.
    let mut all: Vec<(usize, usize)> = Vec::new();
    for (s, side) in sides.iter().enumerate() {
        all.extend((0..side.hunks.len()).map(|i| (s, i)));
    }
    all.sort_by_key(|&(s, i)| sides[s].reach(i).start);
    let mut out = String::new();
    let mut at = 0;
    let mut k = 0;
    while k < all.len() {
        let (s0, i0) = all[k];
        let mut reach = sides[s0].reach(i0);
        let mut cluster = vec![all[k]];
        k += 1;
        while let Some(&(s, i)) = all.get(k) {
            let r = sides[s].reach(i);
            if r.start > reach.end {
                break;
            }
            reach.end = reach.end.max(r.end);
            cluster.push((s, i));
            k += 1;
        }
        out.extend(b.get(at..reach.start).unwrap_or_default().iter().copied());
        out.push_str(&merge_cluster(&b, &sides, &cluster, reach.clone())?);
        at = reach.end;
    }
    out.extend(b.get(at..).unwrap_or_default().iter().copied());
    Some(out)
}

/// How far a hunk may slide over identical lines, each way.
const MAX_SLIDE: usize = 64;
/// Placements of one cluster tried at most.
const MAX_PLACEMENTS: usize = 4096;

/// One side of a merge: its lines and the hunks of its diff from the base, with how far each
/// pure insertion or deletion can slide up and down over identical unchanged lines.
struct Side<'a> {
    lines: &'a [&'a str],
    hunks: Vec<Hunk>,
    slides: Vec<(usize, usize)>,
}

impl<'a> Side<'a> {
    fn new(base: &[&str], lines: &'a [&'a str]) -> Self {
        let hunks = hunks(base, lines);
        let slides = (0..hunks.len())
            .map(|i| slide_range(base, lines, &hunks, i))
            .collect();
        Side {
            lines,
            hunks,
            slides,
        }
    }

    /// The base lines hunk `i` may cover in any placement.
    fn reach(&self, i: usize) -> Range<usize> {
        let (h, (up, down)) = (&self.hunks[i], self.slides[i]);
        h.old.start.saturating_sub(up)..h.old.end + down
    }

    /// Hunk `i` moved by `shift` lines (negative: up).
    fn placed(&self, i: usize, shift: isize) -> (Range<usize>, &'a [&'a str]) {
        let h = &self.hunks[i];
        let m = |x: usize| x.saturating_add_signed(shift);
        let text = self
            .lines
            .get(m(h.new.start)..m(h.new.end))
            .unwrap_or_default();
        (m(h.old.start)..m(h.old.end), text)
    }
}

/// `(up, down)`: how many lines hunk `i` (a pure insertion or deletion) can slide over equal
/// lines without reaching its neighbours. A replacement does not slide.
fn slide_range(base: &[&str], side: &[&str], hunks: &[Hunk], i: usize) -> (usize, usize) {
    let h = &hunks[i];
    let floor = if i == 0 { 0 } else { hunks[i - 1].old.end };
    let ceiling = hunks.get(i + 1).map_or(base.len(), |n| n.old.start);
    let (deletion, insertion) = (h.new.is_empty(), h.old.is_empty());
    if deletion == insertion {
        return (0, 0);
    }
    // Sliding down by one moves the first line of the block past the equal line after it.
    let same_down = |k: usize| -> bool {
        if deletion {
            base.get(h.old.start + k) == base.get(h.old.end + k) && h.old.end + k < ceiling
        } else {
            side.get(h.new.start + k) == base.get(h.old.start + k) && h.old.start + k < ceiling
        }
    };
    let same_up = |k: usize| -> bool {
        let Some(below) = h.old.start.checked_sub(k + 1) else {
            return false;
        };
        if below < floor {
            return false;
        }
        if deletion {
            base.get(below) == base.get(h.old.end - k - 1)
        } else {
            h.new.end > k && side.get(h.new.end - k - 1) == base.get(below)
        }
    };
    let down = (0..MAX_SLIDE).take_while(|&k| same_down(k)).count();
    let up = (0..MAX_SLIDE).take_while(|&k| same_up(k)).count();
    (up, down)
}

/// The merged text of one cluster, the base lines `reach`: the one text that every
/// conflict-free placement of its hunks gives, if there is one.
fn merge_cluster(
    base: &[&str],
    sides: &[Side<'_>; 2],
    cluster: &[(usize, usize)],
    reach: Range<usize>,
) -> Option<String> {
    let both = cluster.iter().any(|c| c.0 == 0) && cluster.iter().any(|c| c.0 == 1);
    let slides = cluster.iter().any(|&(s, i)| sides[s].slides[i] != (0, 0));
    if !(both && slides) {
        // One side only, or nothing that can move: the alignment as diffed is the only one.
        let unshifted = vec![0isize; cluster.len()];
        return place(base, sides, cluster, &unshifted, reach);
    }
    // Every combination of shifts, within the cap.
    let options: Vec<Vec<isize>> = cluster
        .iter()
        .map(|&(s, i)| {
            let (up, down) = sides[s].slides[i];
            (-(up as isize)..=(down as isize)).collect()
        })
        .collect();
    let count = options
        .iter()
        .try_fold(1usize, |n, o| n.checked_mul(o.len()))
        .filter(|&n| n <= MAX_PLACEMENTS)?;
    let mut found: Option<String> = None;
    for mut n in 0..count {
        let shifts: Vec<isize> = options
            .iter()
            .map(|o| {
                let pick = o.get(n % o.len()).copied().unwrap_or(0);
                n /= o.len().max(1);
                pick
            })
            .collect();
        if let Some(text) = place(base, sides, cluster, &shifts, reach.clone()) {
            match &found {
                Some(f) if *f != text => return None,
                Some(_) => {}
                None => found = Some(text),
            }
        }
    }
    found
}

/// The text of the base lines `reach` with the cluster's hunks at the given shifts, or `None`
/// if they conflict.
fn place(
    base: &[&str],
    sides: &[Side<'_>; 2],
    cluster: &[(usize, usize)],
    shifts: &[isize],
    reach: Range<usize>,
) -> Option<String> {
    // (side, old range, new lines), in base order.
    let mut placed: Vec<(usize, Range<usize>, &[&str])> = cluster
        .iter()
        .zip(shifts)
        .map(|(&(s, i), &shift)| {
            let (old, text) = sides[s].placed(i, shift);
            (s, old, text)
        })
        .collect();
    placed.sort_by_key(|(_, old, _)| (old.start, !old.is_empty(), old.end));
    // Hunks of one side keep at least one unchanged line between them.
    for s in 0..2 {
        let mut last: Option<&Range<usize>> = None;
        for (_, old, _) in placed.iter().filter(|p| p.0 == s) {
            if last.is_some_and(|l| l.end >= old.start) {
                return None;
            }
            last = Some(old);
        }
    }
    // Ours against theirs: the same change is taken once, otherwise no base line may be
    // changed by both, nor may both insert at the same place.
    let mut keep = vec![true; placed.len()];
    for x in 0..placed.len() {
        for y in x + 1..placed.len() {
            let ((sx, ox, tx), (sy, oy, ty)) = (&placed[x], &placed[y]);
            if sx == sy {
                continue;
            }
            if ox == oy && tx == ty {
                keep[y] = false;
                continue;
            }
            let overlap = ox.start < oy.end && oy.start < ox.end;
            let same_point = ox.is_empty() && oy.is_empty() && ox.start == oy.start;
            if overlap || same_point {
                return None;
            }
        }
    }
    let mut out = String::new();
    let mut at = reach.start;
    for ((_, old, text), keep) in placed.iter().zip(keep) {
        if !keep {
            continue;
        }
        out.extend(base.get(at..old.start).unwrap_or_default().iter().copied());
        out.extend(text.iter().copied());
        at = old.end;
    }
    out.extend(base.get(at..reach.end).unwrap_or_default().iter().copied());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disjoint_edits_merge() {
        let base = "a\nb\nc\nd\ne\n";
        assert_eq!(
            merge3(base, "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n").as_deref(),
            Some("A\nb\nc\nd\nE\n")
        );
        // An insertion and a deletion far apart.
        assert_eq!(
            merge3(base, "a\nx\nb\nc\nd\ne\n", "a\nb\nc\ne\n").as_deref(),
            Some("a\nx\nb\nc\ne\n")
        );
    }

    #[test]
    fn overlapping_edits_conflict() {
        assert_eq!(merge3("a\nb\nc\n", "a\nB\nc\n", "a\nC\nc\n"), None);
        // One side deletes what the other changes.
        assert_eq!(merge3("a\nb\nc\n", "a\nc\n", "a\nB\nc\n"), None);
        // Two insertions at the same place: their order is unknown.
        assert_eq!(merge3("a\nb\n", "a\nX\nb\n", "a\nY\nb\n"), None);
    }

    #[test]
    fn the_same_change_on_both_sides_is_taken_once() {
        assert_eq!(
            merge3("a\nb\nc\nd\n", "a\nB\nc\nD\n", "a\nB\nc\nd\n").as_deref(),
            Some("a\nB\nc\nD\n")
        );
        assert_eq!(merge3("a\n", "b\n", "b\n").as_deref(), Some("b\n"));
        assert_eq!(merge3("a\n", "a\n", "c\n").as_deref(), Some("c\n"));
    }

    #[test]
    fn adjacent_line_edits_merge() {
        // Each line is changed by one side only: the result is unambiguous.
        assert_eq!(
            merge3("a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nC\nd\n").as_deref(),
            Some("a\nB\nC\nd\n")
        );
        // An insertion right before a line the other side changes.
        assert_eq!(
            merge3("a\nb\nc\n", "a\nX\nb\nc\n", "a\nB\nc\n").as_deref(),
            Some("a\nX\nB\nc\n")
        );
        // An insertion right after it.
        assert_eq!(
            merge3("a\nb\nc\n", "a\nb\nX\nc\n", "a\nB\nc\n").as_deref(),
            Some("a\nB\nX\nc\n")
        );
    }

    #[test]
    fn crlf_and_a_missing_final_newline_are_kept() {
        assert_eq!(
            merge3(
                "a\r\nb\r\nc\r\nd\r\ne",
                "A\r\nb\r\nc\r\nd\r\ne",
                "a\r\nb\r\nc\r\nd\r\nE"
            )
            .as_deref(),
            Some("A\r\nb\r\nc\r\nd\r\nE")
        );
        // Adding the final newline is a change of the last line.
        assert_eq!(
            merge3("a\nb\nc\nd", "A\nb\nc\nd", "a\nb\nc\nd\n").as_deref(),
            Some("A\nb\nc\nd\n")
        );
        assert_eq!(merge3("a\nb", "a\nb\n", "a\nb\r\n"), None);
        // A lone `\r` is not a line break: one line, changed by both.
        assert_eq!(merge3("a\rb\rc", "A\rb\rc", "a\rb\rC"), None);
    }

    #[test]
    fn deletions_among_identical_lines_slide_out_of_the_way() {
        // The diff deletes the last `}`, next to the line the other side changes; deleting the
        // first is the same edit and does not conflict.
        assert_eq!(
            merge3("}\n}\n}\nx\n", "}\n}\nx\n", "}\n}\n}\ny\n").as_deref(),
            Some("}\n}\ny\n")
        );
        // Every placement of the deletion that does not conflict gives the same text...
        assert_eq!(
            merge3("x\nx\nx\n", "x\nx\n", "x\nx\ny\n").as_deref(),
            Some("x\ny\n")
        );
        // ...or there is no answer: deleting the first or the last `x` around a changed middle.
        assert_eq!(merge3("x\nx\nx\n", "x\nx\n", "x\ny\nx\n"), None);
    }

    #[test]
    fn hunks_and_apply() {
        let (old, new) = (lines("a\nb\nc\nd\n"), lines("a\nB\nc\nD\ne\n"));
        let h = hunks(&old, &new);
        assert_eq!(
            h,
            vec![
                Hunk {
                    old: 1..2,
                    new: 1..2
                },
                Hunk {
                    old: 3..4,
                    new: 3..5
                }
            ]
        );
        assert_eq!(apply(&old, &new, &h, &[1]), "a\nb\nc\nD\ne\n");
        assert_eq!(apply(&old, &new, &h, &[0, 1]), "a\nB\nc\nD\ne\n");
        assert_eq!(apply(&old, &new, &h, &[]), "a\nb\nc\nd\n");
    }
}
