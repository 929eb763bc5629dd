//! `analyze`: from a change unit's before/after texts to an impact report and a level.
//!
//! The level starts at `low` and only rises; every rise comes with a human reason. What cannot
//! be parsed or understood rises to `medium` at least (fail closed).
//!
//! Speed without a different verdict: [`analyze_cached`] takes the before trees from the
//! caller's [`ParseCache`] and parses after texts incrementally; a one-file modification that
//! parses cleanly is compared only on the top-level items it touches (`crate::local`), and
//! falls back to the whole-file comparison whenever that could differ. [`analyze_whole`] is
//! the whole-file path with fresh parses, kept as the reference the tests compare against.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use similar::ChangeTag;
use tree_sitter::Tree;

use crate::change::{ChangeUnit, FileChange};
use crate::domains;
use crate::guards;
use crate::impact::{
    BlastRadius, ChangeKind, ImpactReport, SecretFinding, SymbolImpact, Visibility,
};
use crate::incremental::{Known, ParseCache, Parsers};
use crate::languages::Language;
use crate::level::Level;
use crate::local::{self, Region};
use crate::paths::forbidden_path;
use crate::resolve;
use crate::secrets;
use crate::symbols::{self, Symbol, SymbolChange};
use crate::tokens::{self, Options, Tok};
use crate::verification;
use crate::weakening;

/// What the analyzer needs beside the change itself.
#[derive(Clone, Copy, Debug)]
pub struct AnalysisContext<'a> {
    pub protected: &'a crate::paths::ProtectedPaths,
    pub index: Option<&'a crate::index::SymbolIndex>,
}

/// Body-only changes in non-public code up to this many changed lines stay `low`.
pub const SMALL_CHANGE_LINES: usize = 20;
/// A blast radius from this many references on is large (`high`).
pub const LARGE_BLAST_REFERENCES: usize = 20;
/// A blast radius over this many files is large (`high`).
pub const LARGE_BLAST_FILES: usize = 5;

struct Parsed {
    tree: Tree,
    symbols: Vec<Symbol>,
    /// With `region`: the streams of that region only, and tokens only for the symbols in it
    /// (see [`crate::local`]). Without: the whole file.
    toks: Vec<Tok>,
    toks_no_comments: Vec<Tok>,
    region: Option<Region>,
}

/// The whole-file analysis of one side, from its tree (`None` if it does not parse cleanly).
fn parse(lang: Language, tree: Tree, text: &str) -> Option<Parsed> {
    let root = tree.root_node();
    if root.has_error() {
        return None;
    }
    let toks = tokens::flatten(root, text, lang, Options::default());
    let toks_no_comments = tokens::flatten(
        root,
        text,
        lang,
        Options {
            drop_comments: true,
            exclude: &[],
        },
    );
    let symbols = symbols::extract(root, text, lang);
    Some(Parsed {
        tree,
        symbols,
        toks,
        toks_no_comments,
        region: None,
    })
}

/// The changed lines of a modification: `(added with after line numbers, removed, removed
/// line numbers)`. The same diff as `TextDiff::diff_lines` (Myers, same deadline), without
/// hashing every line first.
type LineDiff = (Vec<(usize, String)>, Vec<String>, Vec<usize>);

fn line_diff(before: &str, after: &str) -> LineDiff {
    // Whole lines both texts share at either end are equal in any diff: skip them.
    let (head, tail) = crate::text::common_lines(before, after);
    let skipped = lines(&before[..head]).len();
    let (old, new) = (
        lines(&before[head..before.len() - tail]),
        lines(&after[head..after.len() - tail]),
    );
    let deadline = Instant::now().checked_add(Duration::from_secs(2));
    let ops = similar::capture_diff_deadline(
        similar::Algorithm::Myers,
        &old[..],
        0..old.len(),
        &new[..],
        0..new.len(),
        deadline,
    );
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut removed_lines = Vec::new();
    for op in &ops {
        for change in op.iter_changes(&old[..], &new[..]) {
            let text = change.value().trim_end_matches(['\n', '\r']).to_owned();
            match change.tag() {
                ChangeTag::Insert => {
                    added.push((change.new_index().map_or(0, |i| skipped + i + 1), text));
                }
                ChangeTag::Delete => {
                    removed_lines.push(change.old_index().map_or(0, |i| skipped + i + 1));
                    removed.push(text);
                }
                ChangeTag::Equal => {}
            }
        }
    }
    (added, removed, removed_lines)
}

/// Lines with their terminators (`\n`, `\r\n` or a lone `\r`), as `similar` splits them.
fn lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'\n') => {
                out.push(text.get(start..=i).unwrap_or_default());
                start = i + 1;
            }
            Some(b'\r') => {
                let end = if bytes.get(i + 1) == Some(&b'\n') {
                    i + 1
                } else {
                    i
                };
                out.push(text.get(start..=end).unwrap_or_default());
                start = end + 1;
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push(text.get(start..).unwrap_or_default());
    }
    out
}

/// Everything computed for one file before it is classified.
struct FileState<'a> {
    file: &'a FileChange,
    lang: Option<Language>,
    binary: bool,
    /// `(after line number, text)`.
    added: Vec<(usize, String)>,
    removed: Vec<String>,
    /// Before line numbers of `removed`, 1-based.
    removed_lines: Vec<usize>,
    before: Option<Parsed>,
    after: Option<Parsed>,
    /// A side that exists but did not parse cleanly.
    parse_failed: bool,
}

impl<'a> FileState<'a> {
    /// `parsers` parses what `trees` (the trees of the before and after texts, when the caller
    /// has them) does not give; `local` allows a local analysis (a one-file unit).
    fn new(file: &'a FileChange, known: Known, parsers: &mut Parsers, local: bool) -> Self {
        let before_text = file.before.as_deref().unwrap_or("");
        let after_text = file.after.as_deref().unwrap_or("");
        let binary = before_text.contains('\0') || after_text.contains('\0');
        let lang = Language::from_path(&file.path);
        let (added, removed, removed_lines) = if !binary && before_text != after_text {
            // A deadline keeps pathological inputs from hanging the server; past it the diff
            // is still correct, only not minimal.
            line_diff(before_text, after_text)
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        let (before_tree, after_tree) = match (lang, binary) {
            (Some(lang), false) => {
                let (mut bt, mut at) = (known.before, known.after);
                if bt.is_none() && at.is_none() {
                    (bt, at) = parsers.pair(lang, file.before.as_deref(), file.after.as_deref());
                }
                if bt.is_none()
                    && let Some(b) = file.before.as_deref()
                {
                    bt = parsers.parse(lang, b, None);
                }
                if at.is_none()
                    && let Some(a) = file.after.as_deref()
                {
                    at = parsers.parse(lang, a, None);
                }
                (bt, at)
            }
            _ => (None, None),
        };
        let clean = |t: &Option<Tree>| t.as_ref().is_some_and(|t| !t.root_node().has_error());
        let parse_failed =
            (file.before.is_some() && lang.is_some() && !binary && !clean(&before_tree))
                || (file.after.is_some() && lang.is_some() && !binary && !clean(&after_tree));
        let mut before = None;
        let mut after = None;
        if let (Some(lang), Some(b), Some(a), Some(bt), Some(at), true) = (
            lang,
            file.before.as_deref(),
            file.after.as_deref(),
            &before_tree,
            &after_tree,
            local && !parse_failed && before_text != after_text && !file.is_renamed(),
        ) && let Some((lb, la)) =
            local::prepare(lang, (bt, b), (at, a), known.skeleton.as_deref())
        {
            let side = |tree: &Tree, s: local::Side| Parsed {
                tree: tree.clone(),
                symbols: s.symbols,
                toks: s.toks,
                toks_no_comments: s.toks_no_comments,
                region: Some(s.region),
            };
            before = Some(side(bt, lb));
            after = Some(side(at, la));
        }
        if before.is_none() || after.is_none() {
            let whole = |tree: Option<Tree>, text: &Option<String>| match (lang, tree, text) {
                (Some(lang), Some(tree), Some(text)) => parse(lang, tree, text),
                _ => None,
            };
            before = whole(before_tree, &file.before);
            after = whole(after_tree, &file.after);
        }
        FileState {
            file,
            lang,
            binary,
            added,
            removed,
            removed_lines,
            before,
            after,
            parse_failed,
        }
    }

    fn path(&self) -> &str {
        &self.file.path
    }

    fn changed_lines(&self) -> usize {
        self.added.len() + self.removed.len()
    }

    fn is_clean_modification(&self) -> bool {
        self.before.is_some() && self.after.is_some() && !self.file.is_renamed()
    }
}

/// The report under construction.
struct Builder<'c> {
    report: ImpactReport,
    ctx: &'c AnalysisContext<'c>,
    unit_paths: Vec<String>,
    /// Names whose references outside the change matter, with whether the change breaks them.
    /// `(name, container)` of changed symbols → whether the change breaks their callers.
    blast: BTreeMap<(String, Option<String>), bool>,
    private_small: Vec<String>,
}

impl Builder<'_> {
    fn raise(&mut self, level: Level, reason: String) {
        self.report.level = self.report.level.max(level);
        if !self.report.reasons.contains(&reason) {
            self.report.reasons.push(reason);
        }
    }

    fn note(&mut self, reason: String) {
        if !self.report.reasons.contains(&reason) {
            self.report.reasons.push(reason);
        }
    }

    fn kind(&mut self, kind: ChangeKind) {
        if !self.report.kinds.contains(&kind) {
            self.report.kinds.push(kind);
        }
    }

    fn blast_for(&mut self, sym: &Symbol, breaking: bool) {
        let name = sym.name.split('#').next().unwrap_or_default().to_owned();
        let container = sym
            .container
            .as_deref()
            .map(|c| c.rsplit([':', '.']).next().unwrap_or(c))
            .map(|c| c.split('<').next().unwrap_or(c).to_owned());
        *self.blast.entry((name, container)).or_insert(false) |= breaking;
    }

    fn symbol(&mut self, sym: &Symbol, file: &str, change: &str) {
        self.report.symbols.push(SymbolImpact {
            name: sym.key(),
            kind: sym.kind.to_owned(),
            visibility: sym.visibility,
            file: file.to_owned(),
            change: change.to_owned(),
        });
    }
}

/// Analyzes one change unit.
pub fn analyze(unit: &ChangeUnit, ctx: &AnalysisContext<'_>) -> ImpactReport {
    let mut parsers = Parsers::default();
    let known = unit.files.iter().map(|_| Known::default()).collect();
    analyze_with(unit, ctx, known, &mut parsers, true)
}

/// Analyzes one change unit like [`analyze`], reusing the trees `cache` holds for its files
/// (the "before" texts of open documents) and parsing "after" texts incrementally. The
/// report is the same as [`analyze`]'s. The cache remembers the "after" trees, so that a
/// later [`ParseCache::update`] to an applied proposal is free.
pub fn analyze_cached(
    unit: &ChangeUnit,
    ctx: &AnalysisContext<'_>,
    cache: &mut ParseCache,
) -> ImpactReport {
    let trees = unit
        .files
        .iter()
        .map(|f| match Language::from_path(&f.path) {
            Some(lang) if cache.contains_path(&f.path) => {
                cache.trees(lang, &f.path, f.before.as_deref(), f.after.as_deref())
            }
            _ => Known::default(),
        })
        .collect();
    let mut parsers = Parsers::default();
    analyze_with(unit, ctx, trees, &mut parsers, true)
}

/// The whole-file analysis, with fresh parses: the reference [`analyze`] must agree with.
#[doc(hidden)]
pub fn analyze_whole(unit: &ChangeUnit, ctx: &AnalysisContext<'_>) -> ImpactReport {
    let mut parsers = Parsers::default();
    let trees = unit
        .files
        .iter()
        .map(|f| match Language::from_path(&f.path) {
            Some(lang) => Known {
                before: f.before.as_deref().and_then(|t| lang.parse(t)),
                after: f.after.as_deref().and_then(|t| lang.parse(t)),
                skeleton: None,
            },
            None => Known::default(),
        })
        .collect();
    analyze_with(unit, ctx, trees, &mut parsers, false)
}

fn analyze_with(
    unit: &ChangeUnit,
    ctx: &AnalysisContext<'_>,
    known: Vec<Known>,
    parsers: &mut Parsers,
    local: bool,
) -> ImpactReport {
    let mut b = Builder {
        report: ImpactReport {
            files: unit.files.iter().map(|f| f.path.clone()).collect(),
            languages: Vec::new(),
            kinds: Vec::new(),
            symbols: Vec::new(),
            blast_radius: BlastRadius::default(),
            domains: Vec::new(),
            verification_weakened: Vec::new(),
            secrets: Vec::new(),
            protected_paths: Vec::new(),
            dependencies: Vec::new(),
            lines_added: 0,
            lines_removed: 0,
            level: Level::Low,
            reasons: Vec::new(),
        },
        ctx,
        unit_paths: unit
            .files
            .iter()
            .flat_map(|f| f.touched_paths().map(str::to_owned))
            .collect(),
        blast: BTreeMap::new(),
        private_small: Vec::new(),
    };
    for file in &unit.files {
        check_paths(&mut b, file);
    }
    let local = local && unit.files.len() == 1;
    let states: Vec<FileState<'_>> = unit
        .files
        .iter()
        .zip(
            known
                .into_iter()
                .chain(std::iter::repeat_with(Known::default)),
        )
        .map(|(file, known)| FileState::new(file, known, parsers, local))
        .collect();
    for st in &states {
        b.report.lines_added += st.added.len();
        b.report.lines_removed += st.removed.len();
        let name = st.lang.map_or("text", Language::name).to_owned();
        if !b.report.languages.contains(&name) {
            b.report.languages.push(name);
        }
        scan_secrets(&mut b, st);
        scan_dependencies(&mut b, st.file);
    }

    // A unit that is one consistent rename across all its files.
    let unit_rename = if !states.is_empty() && states.iter().all(FileState::is_clean_modification) {
        let pairs: Vec<(&[Tok], &[Tok])> = states
            .iter()
            .filter_map(|st| match (&st.before, &st.after) {
                (Some(x), Some(y)) => {
                    Some((x.toks_no_comments.as_slice(), y.toks_no_comments.as_slice()))
                }
                _ => None,
            })
            .collect();
        tokens::renames(&pairs).filter(|m| !m.is_empty() && renames_bindings(&states, m))
    } else {
        None
    };
    if let Some(mapping) = &unit_rename {
        rename_outcome(&mut b, &states, mapping);
        for st in &states {
            let _ = check_directives(&mut b, st);
        }
    } else {
        for st in &states {
            classify_file(&mut b, st, &states);
        }
    }

    let small_total: usize = states.iter().map(FileState::changed_lines).sum();
    let private = std::mem::take(&mut b.private_small);
    if !private.is_empty() {
        let names = private.join(", ");
        if small_total <= SMALL_CHANGE_LINES {
            b.note(format!(
                "small change ({small_total} lines) in non-public code: {names}"
            ));
        } else {
            b.raise(
                Level::Medium,
                format!("larger change ({small_total} lines) in non-public code: {names}"),
            );
        }
    }

    blast_radius(&mut b);

    let r = &mut b.report;
    r.kinds.sort();
    r.domains.sort();
    r.domains.dedup();
    if r.reasons.is_empty() {
        r.reasons.push("no content change".to_owned());
    }
    b.report
}

fn check_paths(b: &mut Builder<'_>, file: &FileChange) {
    for path in file.touched_paths() {
        if let Some(why) = forbidden_path(path) {
            b.raise(Level::Critical, format!("`{path}`: {why}"));
        }
        if let Some(pattern) = b.ctx.protected.matching(path) {
            let reason = format!("`{path}` is protected (`{pattern}`)");
            if !b.report.protected_paths.iter().any(|p| p == path) {
                b.report.protected_paths.push(path.to_owned());
            }
            b.raise(Level::High, reason);
        }
    }
}

/// Manifests and lockfiles: the structural dependency diff and its rule findings.
fn scan_dependencies(b: &mut Builder<'_>, file: &FileChange) {
    let (before, after) = (file.before.as_deref(), file.after.as_deref());
    if let Some(deps) = crate::manifest::analyze_file(&file.path, before, after, b.ctx.index) {
        for f in deps.all_findings() {
            b.raise(f.level, f.reason.clone());
        }
        b.report.dependencies.extend(deps.changes);
    }
}

fn scan_secrets(b: &mut Builder<'_>, st: &FileState<'_>) {
    if st.binary || secrets::is_fixture_path(st.path()) {
        return;
    }
    for (line, text) in &st.added {
        for rule in secrets::scan_line(text) {
            b.report.secrets.push(SecretFinding {
                file: st.path().to_owned(),
                line: *line,
                rule: rule.to_owned(),
            });
            b.raise(
                Level::Critical,
                format!("secret added: `{}` line {line} ({rule})", st.path()),
            );
        }
    }
}

/// Whether every renamed name is bound (declared) in the before side of the unit.
fn renames_bindings(states: &[FileState<'_>], mapping: &[(String, String)]) -> bool {
    mapping.iter().all(|(old, _)| {
        states
            .iter()
            .any(|st| match (&st.before, st.file.before.as_deref()) {
                (Some(p), Some(text)) => tokens::binds(p.tree.root_node(), text, old),
                _ => false,
            })
    })
}

fn rename_outcome(b: &mut Builder<'_>, states: &[FileState<'_>], mapping: &[(String, String)]) {
    b.kind(ChangeKind::Rename);
    for (old, new) in mapping {
        let defined = states.iter().find_map(|st| {
            let lang = st.lang?;
            let sym = st
                .before
                .as_ref()?
                .symbols
                .iter()
                .find(|s| s.name.split('#').next() == Some(old.as_str()))?
                .clone();
            Some((st.path().to_owned(), lang, sym))
        });
        match defined {
            Some((file, lang, sym)) if sym.visibility == Visibility::Public => {
                b.symbol(&sym, &file, "renamed");
                b.raise(
                    Level::High,
                    format!(
                        "{} `{old}` renamed to `{new}`: callers outside this change break",
                        sym.describe(lang)
                    ),
                );
                b.blast_for(&sym, true);
            }
            Some((file, lang, sym)) => {
                b.symbol(&sym, &file, "renamed");
                b.note(format!(
                    "{} `{old}` renamed to `{new}` with every reference in the change updated",
                    sym.describe(lang)
                ));
                b.blast_for(&sym, true);
            }
            None => match public_signature_using(states, old) {
                Some((file, lang, sym)) => {
                    b.symbol(&sym, &file, "signature");
                    let callers_see_names = matches!(lang, Language::Python)
                        || lang.is_js_family()
                        || !matches!(
                            sym.kind,
                            "function" | "method" | "constructor" | "prototype"
                        );
                    let level = if callers_see_names {
                        Level::High
                    } else {
                        Level::Medium
                    };
                    b.raise(
                        level,
                        format!(
                            "`{old}` renamed to `{new}` in the signature of {} `{}`",
                            sym.describe(lang),
                            sym.key()
                        ),
                    );
                    b.blast_for(&sym, callers_see_names);
                }
                None => b.note(format!(
                    "local `{old}` renamed to `{new}` with every reference in the change updated"
                )),
            },
        }
    }
}

/// Raises for comments the change adds that hold a tool directive; whether there was one.
/// The first public symbol whose signature mentions `name` (a parameter, a field).
fn public_signature_using(
    states: &[FileState<'_>],
    name: &str,
) -> Option<(String, Language, Symbol)> {
    states.iter().find_map(|st| {
        let lang = st.lang?;
        let sym = st.before.as_ref()?.symbols.iter().find(|s| {
            s.visibility == Visibility::Public
                && s.signature
                    .iter()
                    .any(|t| matches!(t, Tok::Leaf { ident: true, text, .. } if text == name))
        })?;
        Some((st.path().to_owned(), lang, sym.clone()))
    })
}

fn check_directives(b: &mut Builder<'_>, st: &FileState<'_>) -> bool {
    let (Some(lang), Some(before), Some(after)) = (st.lang, &st.before, &st.after) else {
        return false;
    };
    let mut found = false;
    let before_text = st.file.before.as_deref().unwrap_or("");
    let after_text = st.file.after.as_deref().unwrap_or("");
    let comments = |p: &Parsed, text: &str| match &p.region {
        Some(region) => local::comments(&p.tree, text, lang, region),
        None => tokens::comments(p.tree.root_node(), text, lang),
    };
    let mut old: BTreeMap<String, usize> = BTreeMap::new();
    for c in comments(before, before_text) {
        *old.entry(c).or_insert(0) += 1;
    }
    for c in comments(after, after_text) {
        match old.get_mut(&c) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                for line in c.lines() {
                    if let Some(d) = tokens::directive(line) {
                        found = true;
                        b.raise(
                            Level::Medium,
                            format!("`{}`: a comment adds the tool directive `{d}`", st.path()),
                        );
                    }
                }
            }
        }
    }
    found
}

fn classify_file(b: &mut Builder<'_>, st: &FileState<'_>, unit: &[FileState<'_>]) {
    let path = st.path().to_owned();
    if st.binary {
        b.kind(ChangeKind::Other);
        b.raise(
            Level::Medium,
            format!("`{path}`: binary content (NUL byte), not analyzed"),
        );
        return;
    }
    if st.file.is_renamed() {
        b.kind(ChangeKind::FileRenamed);
        let old = st.file.old_path.as_deref().unwrap_or_default();
        b.raise(Level::Medium, format!("`{old}` renamed to `{path}`"));
    }
    match (&st.file.before, &st.file.after) {
        (None, None) => {}
        (None, Some(_)) => {
            b.kind(ChangeKind::FileCreated);
            b.raise(Level::Medium, format!("`{path}`: new file"));
            if st.parse_failed {
                b.raise(
                    Level::Medium,
                    format!("`{path}`: does not parse (ERROR/MISSING nodes)"),
                );
            }
            if let (Some(after), Some(_)) = (&st.after, st.lang) {
                for sym in &after.symbols {
                    b.symbol(sym, &path, "added");
                }
            }
            scan_domains(b, st);
            if verification::is_test_config_path(&path) {
                scan_verification(b, st, &[], &[]);
            }
        }
        (Some(_), None) => {
            b.kind(ChangeKind::FileDeleted);
            b.raise(Level::High, format!("`{path}`: file deleted"));
            if let Some(before) = &st.before {
                for sym in &before.symbols {
                    b.symbol(sym, &path, "removed");
                    if sym.visibility == Visibility::Public {
                        b.blast_for(sym, true);
                    }
                }
            }
            let tests = match (&st.before, st.lang) {
                (Some(p), Some(lang)) => p
                    .symbols
                    .iter()
                    .any(|s| verification::is_test_symbol(s, lang, &path)),
                _ => false,
            };
            if tests || verification::is_test_path(&path) {
                let why = format!("`{path}`: test file deleted");
                b.report.verification_weakened.push(why.clone());
                b.raise(Level::High, why);
            }
        }
        (Some(before_text), Some(after_text)) => {
            if before_text == after_text {
                return;
            }
            classify_modification(b, st, unit);
        }
    }
}

/// `unit` is every file of the change unit: a rename in this file may bind its name in another.
fn classify_modification(b: &mut Builder<'_>, st: &FileState<'_>, unit: &[FileState<'_>]) {
    let path = st.path().to_owned();
    let Some(lang) = st.lang else {
        b.kind(ChangeKind::Other);
        let (before, after) = (st.file.before.as_deref(), st.file.after.as_deref());
        if !crate::manifest::understood(&path, before.unwrap_or(""), after.unwrap_or("")) {
            b.raise(
                Level::Medium,
                format!("`{path}`: not a language the analyzer parses; line-based analysis only"),
            );
        }
        // A lockfile's checksums and package names are data, compared entry by entry.
        if !crate::manifest::FileKind::of(&path).is_some_and(crate::manifest::FileKind::is_lock) {
            scan_domains(b, st);
        }
        scan_verification(b, st, &[], &[]);
        return;
    };
    let (Some(before), Some(after)) = (&st.before, &st.after) else {
        b.kind(ChangeKind::Other);
        b.raise(
            Level::Medium,
            format!(
                "`{path}`: syntax errors (ERROR/MISSING nodes) before or after the change; \
                 cannot be classified as low"
            ),
        );
        scan_domains(b, st);
        scan_verification(b, st, &[], &[]);
        return;
    };
    if before.toks == after.toks {
        b.kind(ChangeKind::FormatOnly);
        b.note(format!("`{path}`: format-only (token streams equal)"));
        return;
    }
    let directives = check_directives(b, st);
    if before.toks_no_comments == after.toks_no_comments {
        if directives {
            b.kind(ChangeKind::Other);
            b.note(format!(
                "`{path}`: only comments changed, but a tool directive makes it more than \
                 comment-only"
            ));
        } else {
            b.kind(ChangeKind::CommentOnly);
            b.note(format!("`{path}`: comment/doc-only change"));
        }
        scan_suppressions(b, st);
        let after_text = st.file.after.as_deref().unwrap_or("");
        let before_text = st.file.before.as_deref().unwrap_or("");
        let mut documented: Vec<Symbol> = Vec::new();
        let sides = [
            (
                &after.symbols,
                after_text,
                st.added.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            ),
            (&before.symbols, before_text, st.removed_lines.clone()),
        ];
        for (symbols, text, lines) in sides {
            let text_lines: Vec<&str> = text.lines().collect();
            for line in lines {
                if let Some(sym) = symbol_at(symbols, &text_lines, line)
                    && !documented.iter().any(|d| d.key() == sym.key())
                {
                    documented.push(sym.clone());
                }
            }
        }
        for sym in &documented {
            b.symbol(sym, &path, "doc");
        }
        return;
    }
    if let Some(mapping) = tokens::renames(&[(&before.toks_no_comments, &after.toks_no_comments)])
        && !mapping.is_empty()
        && renames_bindings(unit, &mapping)
    {
        rename_outcome(b, unit, &mapping);
        return;
    }

    let changes = symbols::diff(&before.symbols, &after.symbols);
    let before_text = st.file.before.as_deref().unwrap_or("");
    let after_text = st.file.after.as_deref().unwrap_or("");
    let residue = |p: &Parsed, text: &str| {
        if let Some(region) = &p.region {
            return local::residue(&p.tree, text, lang, region, &p.symbols);
        }
        let ranges: Vec<_> = p.symbols.iter().map(|s| s.range.clone()).collect();
        tokens::flatten(
            p.tree.root_node(),
            text,
            lang,
            Options {
                drop_comments: true,
                exclude: &ranges,
            },
        )
    };
    let residue_changed = residue(before, before_text) != residue(after, after_text);
    for change in &changes {
        symbol_change(b, lang, &path, change);
    }
    if residue_changed {
        b.kind(ChangeKind::Other);
        b.raise(
            Level::Medium,
            format!("`{path}`: code outside any symbol changed (imports or top-level statements)"),
        );
    } else if changes.is_empty() {
        b.kind(ChangeKind::Other);
        b.raise(
            Level::Medium,
            format!("`{path}`: change not attributed to any symbol"),
        );
    }
    scan_domains(b, st);
    scan_verification(b, st, &before.symbols, &after.symbols);
    scan_flow(b, st, lang, before, after);
}

/// Guards removed, negated or made constant, early success, swallowed failures.
fn scan_flow(
    b: &mut Builder<'_>,
    st: &FileState<'_>,
    lang: Language,
    before: &Parsed,
    after: &Parsed,
) {
    let (Some(old), Some(new)) = (st.file.before.as_deref(), st.file.after.as_deref()) else {
        return;
    };
    for f in guards::scan(lang, st.path(), (&before.tree, old), (&after.tree, new)) {
        b.raise(f.level, f.reason);
    }
}

/// The symbol a changed comment line belongs to: the innermost symbol holding it, or the
/// symbol right below a comment/attribute block holding it (a doc comment).
fn symbol_at<'s>(symbols: &'s [Symbol], lines: &[&str], line: usize) -> Option<&'s Symbol> {
    let below = symbols
        .iter()
        .filter(|s| s.lines.0 > line)
        .min_by_key(|s| s.lines.0)
        .filter(|next| {
            (line + 1..next.lines.0).all(|l| {
                lines.get(l.wrapping_sub(1)).is_some_and(|t| {
                    let t = t.trim_start();
                    ["//", "/*", "*", "#", "@"].iter().any(|p| t.starts_with(p))
                })
            })
        });
    below.or_else(|| {
        symbols
            .iter()
            .filter(|s| s.lines.0 <= line && line <= s.lines.1)
            .min_by_key(|s| s.lines.1 - s.lines.0)
    })
}

fn params_text(old: &Symbol, new: &Symbol) -> String {
    match (old.params, new.params) {
        (Some(x), Some(y)) if x != y => format!("{x} → {y} parameters"),
        _ => {
            let clip = |s: String| {
                if s.chars().count() > 80 {
                    format!("{}…", s.chars().take(80).collect::<String>())
                } else {
                    s
                }
            };
            format!(
                "`{}` → `{}`",
                clip(old.signature_text()),
                clip(new.signature_text())
            )
        }
    }
}

fn symbol_change(b: &mut Builder<'_>, lang: Language, path: &str, change: &SymbolChange<'_>) {
    match change {
        SymbolChange::Added(s) => {
            b.kind(ChangeKind::SymbolAdded);
            b.symbol(s, path, "added");
            if s.visibility == Visibility::Public {
                b.raise(
                    Level::Medium,
                    format!(
                        "`{path}`: new {} `{}` (additive API)",
                        s.describe(lang),
                        s.key()
                    ),
                );
            } else {
                b.private_small.push(format!("`{}` added", s.key()));
            }
        }
        SymbolChange::Removed(s) => {
            b.kind(ChangeKind::SymbolRemoved);
            b.symbol(s, path, "removed");
            b.raise(
                Level::High,
                format!("`{path}`: {} `{}` removed", s.describe(lang), s.key()),
            );
            b.blast_for(s, true);
        }
        SymbolChange::Signature(old, new) => {
            b.kind(ChangeKind::SignatureChange);
            b.symbol(new, path, "signature");
            let level = if old.visibility == Visibility::Public {
                Level::High
            } else {
                Level::Medium
            };
            b.raise(
                level,
                format!(
                    "`{path}`: signature of {} `{}` changed: {}",
                    old.describe(lang),
                    old.key(),
                    params_text(old, new)
                ),
            );
            b.blast_for(old, true);
        }
        SymbolChange::Visibility(old, new) => {
            b.kind(ChangeKind::VisibilityChange);
            b.symbol(new, path, "visibility");
            if old.visibility == Visibility::Public {
                b.raise(
                    Level::High,
                    format!(
                        "`{path}`: {} `{}` is no longer public",
                        old.describe(lang),
                        old.key()
                    ),
                );
                b.blast_for(old, true);
            } else {
                b.raise(
                    Level::Medium,
                    format!("`{path}`: `{}` made public (API widened)", old.key()),
                );
            }
        }
        SymbolChange::Body(old, new) => {
            b.kind(ChangeKind::BodyOnly);
            b.symbol(new, path, "body");
            if old.visibility == Visibility::Public {
                b.raise(
                    Level::Medium,
                    format!(
                        "`{path}`: body of {} `{}` changed",
                        old.describe(lang),
                        old.key()
                    ),
                );
                b.blast_for(old, false);
            } else {
                b.private_small.push(format!("body of `{}`", old.key()));
            }
        }
    }
}

fn scan_domains(b: &mut Builder<'_>, st: &FileState<'_>) {
    if domains::is_documentation(st.path()) {
        return;
    }
    // A file that parses has its calls resolved by name; the lexical rows those replace are
    // kept for files that do not.
    let parsed = match (st.lang, &st.after, st.file.after.as_deref()) {
        (Some(lang), Some(after), Some(text)) => Some((lang, &after.tree, text)),
        _ => None,
    };
    let mut seen: BTreeSet<&'static str> = BTreeSet::new();
    for (line, text) in &st.added {
        for (domain, what, shown) in domains::scan_line_with(text, st.lang, parsed.is_some()) {
            if !b.report.domains.contains(&domain) {
                b.report.domains.push(domain);
            }
            if seen.insert(what) {
                let what = match shown {
                    Some(m) => format!("{what} (`{m}`)"),
                    None => what.to_owned(),
                };
                b.raise(
                    Level::High,
                    format!("`{}` line {line}: sensitive domain: {what}", st.path()),
                );
            }
        }
    }
    if let Some((lang, tree, text)) = parsed {
        let added: BTreeSet<usize> = st.added.iter().map(|(l, _)| l.saturating_sub(1)).collect();
        let before = st
            .before
            .as_ref()
            .zip(st.file.before.as_deref())
            .map(|(p, t)| (&p.tree, t));
        for f in resolve::findings(lang, (tree, text), before, &added) {
            if !b.report.domains.contains(&f.domain) {
                b.report.domains.push(f.domain);
            }
            b.raise(
                f.level,
                format!("`{}` line {}: {}", st.path(), f.line, f.reason),
            );
        }
    }
    scan_suppressions(b, st);
}

/// Suppressions of security tools (`# nosec`, `// eslint-disable…`, `#[allow(…)]`,
/// `@SuppressWarnings`, …) that the change adds on a sensitive line or in a sensitive
/// function: high.
fn scan_suppressions(b: &mut Builder<'_>, st: &FileState<'_>) {
    if let (Some(lang), Some(after), Some(text)) = (st.lang, &st.after, st.file.after.as_deref()) {
        for (line, why) in weakening::suppressions(lang, &after.tree, text, &st.added) {
            b.raise(Level::High, format!("`{}` line {line}: {why}", st.path()));
        }
    }
}

fn scan_verification(b: &mut Builder<'_>, st: &FileState<'_>, before: &[Symbol], after: &[Symbol]) {
    let added: Vec<&str> = st.added.iter().map(|(_, t)| t.as_str()).collect();
    let removed: Vec<&str> = st.removed.iter().map(String::as_str).collect();
    for why in verification::weakened(st.lang, st.path(), before, after, &added, &removed) {
        b.report.verification_weakened.push(why.clone());
        b.raise(Level::High, format!("verification weakened: {why}"));
    }
}

fn blast_radius(b: &mut Builder<'_>) {
    let Some(index) = b.ctx.index else {
        return;
    };
    if index.is_incomplete() {
        // The references elsewhere are unknown: assume the worst, as a complete index could
        // find enough of them to raise the level (fail closed, never lower for want of data).
        let names: Vec<String> = b
            .blast
            .keys()
            .map(|(name, container)| match container {
                Some(c) => format!("`{c}::{name}`"),
                None => format!("`{name}`"),
            })
            .collect();
        if !names.is_empty() {
            b.raise(
                Level::High,
                format!(
                    "blast radius unknown: the workspace index is incomplete (still being built), so references to {} elsewhere are not counted yet",
                    names.join(", ")
                ),
            );
        }
        return;
    }
    let exclude: Vec<&str> = b.unit_paths.iter().map(String::as_str).collect();
    let mut total = BlastRadius::default();
    let mut reasons = Vec::new();
    for ((name, container), breaking) in &b.blast {
        let r = index.references_in_context(name, container.as_deref(), &exclude);
        if r.references == 0 {
            continue;
        }
        let large = r.references >= LARGE_BLAST_REFERENCES || r.files.len() >= LARGE_BLAST_FILES;
        if *breaking || large {
            let what = if large { "large blast radius: " } else { "" };
            let shown = match container {
                Some(c) => format!("{c}::{name}"),
                None => name.clone(),
            };
            reasons.push(format!(
                "{what}`{shown}` has {} references in {} files outside this change",
                r.references,
                r.files.len()
            ));
        }
        total.references += r.references;
        for f in r.files {
            if !total.files.contains(&f) {
                total.files.push(f);
            }
        }
    }
    total.files.sort();
    b.report.blast_radius = total;
    for reason in reasons {
        b.raise(Level::High, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The diff `similar::TextDiff::diff_lines` gives (what `analyze` used before).
    fn text_diff(before: &str, after: &str) -> LineDiff {
        let diff = similar::TextDiff::configure()
            .timeout(Duration::from_secs(2))
            .diff_lines(before, after);
        let (mut added, mut removed, mut removed_lines) = (Vec::new(), Vec::new(), Vec::new());
        for change in diff.iter_all_changes() {
            let text = change.value().trim_end_matches(['\n', '\r']).to_owned();
            match change.tag() {
                ChangeTag::Insert => added.push((change.new_index().map_or(0, |i| i + 1), text)),
                ChangeTag::Delete => {
                    removed_lines.push(change.old_index().map_or(0, |i| i + 1));
                    removed.push(text);
                }
                ChangeTag::Equal => {}
            }
        }
        (added, removed, removed_lines)
    }

    proptest! {
        // Few distinct lines, so that equal lines abound and changes can slide (compaction);
        // over 100 lines, so that `TextDiff` takes its hashing path.
        #[test]
        fn line_diff_is_as_small_as_text_diff_and_exact(
            before in prop::collection::vec(prop::sample::select(vec!["a\n", "b\n", "\n", "a\r\n", "c\r", "é\n"]), 0..160),
            after in prop::collection::vec(prop::sample::select(vec!["a\n", "b\n", "\n", "a\r\n", "c\r", "é\n", "a"]), 0..160),
        ) {
            let (before, after) = (before.concat(), after.concat());
            let (added, removed, removed_lines) = line_diff(&before, &after);
            let (reference_added, reference_removed, _) = text_diff(&before, &after);
            // As small as `TextDiff`'s (equal changes may slide differently: lines shared at
            // both ends are skipped before diffing).
            prop_assert_eq!(
                (added.len(), removed.len()),
                (reference_added.len(), reference_removed.len())
            );
            // Exact: the lines it names are the lines it gives, and what is left of both
            // texts without them is the same.
            let trim = |l: &str| l.trim_end_matches(['\n', '\r']).to_owned();
            let (old, new) = (lines(&before), lines(&after));
            for (n, text) in &added {
                prop_assert_eq!(&trim(new[n - 1]), text);
            }
            for (n, text) in removed_lines.iter().zip(&removed) {
                prop_assert_eq!(&trim(old[n - 1]), text);
            }
            let kept = |all: &[&str], gone: Vec<usize>| -> Vec<String> {
                all.iter()
                    .enumerate()
                    .filter(|(i, _)| !gone.contains(&(i + 1)))
                    .map(|(_, l)| trim(l))
                    .collect()
            };
            prop_assert_eq!(
                kept(&old, removed_lines.clone()),
                kept(&new, added.iter().map(|(n, _)| *n).collect())
            );
            let diff = similar::TextDiff::from_lines(&after, &after);
            let split: Vec<&str> = (0..diff.old_len()).filter_map(|i| diff.old_slice(i)).collect();
            prop_assert_eq!(lines(&after), split);
        }
    }
}
