//! The disguise corpus: dangerous edits written the way a prompt-injected agent would write them
//! (a capability reached by another name, a guard removed, a validator short-circuited, …), and
//! the ordinary and low-risk edits that must stay auto, mutated from real code.
//!
//! Every `tests/disguise/<class>/<case>.case` is one file of one proposal:
//!
//! ```text
//! path: src/auth/session.py
//! expect: >=high
//! reason: os.system
//! origin: CPython 3.11 Lib/shutil.py, which(), mutated
//! ==== before
//! …the file before (absent for a created file)…
//! ==== after
//! …the file after (absent for a deleted file)…
//! ```
//!
//! - `expect`: `>=LEVEL` (held: at least this level), `<=LEVEL` (must stay at or below), or
//!   `LEVEL` (exactly).
//! - `reason` (any number): a text that one of the reasons must contain (case-insensitive), so
//!   that a held change names what it found.
//! - `origin`: where the code came from (for people; not checked).
//!
//! The file is analyzed as one unit and as the units `split` makes of it, through every
//! analysis path (`analyze`, `analyze_whole`, `analyze_cached`), which must agree. For `>=`
//! the highest unit must reach the level; for `<=` and exact levels every unit must. Each case's
//! report is snapshotted, and so is the table per class (cases, held, and wrong: a miss for a
//! dangerous class, a false positive for a benign one).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, ImpactReport, Level, ParseCache, Proposal,
    ProtectedPaths, analyze, analyze_cached, analyze_whole, split,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    AtLeast(Level),
    AtMost(Level),
    Exactly(Level),
}

impl Expect {
    fn parse(text: &str) -> Result<Expect, String> {
        let text = text.trim();
        let level = |s: &str| {
            s.trim()
                .parse::<Level>()
                .map_err(|_| format!("`{s}` is not a level"))
        };
        if let Some(rest) = text.strip_prefix(">=") {
            Ok(Expect::AtLeast(level(rest)?))
        } else if let Some(rest) = text.strip_prefix("<=") {
            Ok(Expect::AtMost(level(rest)?))
        } else {
            Ok(Expect::Exactly(level(text)?))
        }
    }

    /// Whether the case is one that must be held (a dangerous edit).
    fn is_hold(self) -> bool {
        matches!(self, Expect::AtLeast(l) if l >= Level::High)
    }
}

#[derive(Debug)]
struct Case {
    class: String,
    name: String,
    path: String,
    expect: Expect,
    reasons: Vec<String>,
    before: Option<String>,
    after: Option<String>,
}

fn parse_case(class: &str, name: &str, text: &str) -> Result<Case, String> {
    let mut path = None;
    let mut expect = None;
    let mut reasons = Vec::new();
    let mut before: Option<String> = None;
    let mut after: Option<String> = None;
    // Which text the lines go to once a `==== before` / `==== after` line was seen.
    let mut side: Option<bool> = None;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == "==== before" || bare == "==== after" {
            let is_after = bare == "==== after";
            side = Some(is_after);
            *if is_after { &mut after } else { &mut before } = Some(String::new());
            continue;
        }
        if let Some(is_after) = side {
            if let Some(text) = if is_after { &mut after } else { &mut before } {
                text.push_str(line);
            }
            continue;
        }
        if bare.trim().is_empty() || bare.starts_with('#') {
            continue;
        }
        let (key, value) = bare
            .split_once(':')
            .ok_or_else(|| format!("header line without `key:` {bare:?}"))?;
        let value = value.trim().to_owned();
        match key.trim() {
            "path" => path = Some(value),
            "expect" => expect = Some(Expect::parse(&value)?),
            "reason" => reasons.push(value),
            "origin" => {}
            other => return Err(format!("unknown header `{other}`")),
        }
    }
    if before.is_none() && after.is_none() {
        return Err("no `==== before` or `==== after` section".into());
    }
    Ok(Case {
        class: class.to_owned(),
        name: name.to_owned(),
        path: path.ok_or("no `path:`")?,
        expect: expect.ok_or("no `expect:`")?,
        reasons,
        before,
        after,
    })
}

fn cases(root: &Path) -> Vec<Result<Case, String>> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for class in fs::read_dir(root).expect("tests/disguise exists").flatten() {
        let class_name = class.file_name().to_string_lossy().into_owned();
        if !class.path().is_dir() {
            continue;
        }
        for file in fs::read_dir(class.path()).into_iter().flatten().flatten() {
            let p = file.path();
            if p.extension().and_then(|e| e.to_str()) == Some("case") {
                files.push((class_name.clone(), p));
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|(class, p)| {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            parse_case(&class, &name, &text).map_err(|e| format!("{class}/{name}: {e}"))
        })
        .collect()
}

/// The reports of a case: the whole file as one unit, then each split unit.
fn reports(
    case: &Case,
    ctx: &AnalysisContext<'_>,
    failures: &mut Vec<String>,
) -> Vec<ImpactReport> {
    let file = FileChange {
        path: case.path.clone(),
        old_path: None,
        before: case.before.clone(),
        after: case.after.clone(),
    };
    let proposal = Proposal {
        files: vec![file.clone()],
    };
    let mut units = vec![ChangeUnit { files: vec![file] }];
    let split_units = split(&proposal);
    if split_units.len() > 1 {
        units.extend(split_units);
    }
    let mut out = Vec::new();
    for unit in &units {
        let report = analyze(unit, ctx);
        let whole = analyze_whole(unit, ctx);
        if whole != report {
            failures.push(format!(
                "{}/{}: analyze {report:?} != analyze_whole {whole:?}",
                case.class, case.name
            ));
        }
        let mut cache = ParseCache::new();
        for f in &unit.files {
            if let Some(before) = &f.before {
                cache.update(&f.path, before);
            }
        }
        let cached = analyze_cached(unit, ctx, &mut cache);
        if cached != report {
            failures.push(format!(
                "{}/{}: analyze {report:?} != analyze_cached {cached:?}",
                case.class, case.name
            ));
        }
        out.push(report);
    }
    out
}

/// Whether the case's expectation holds, and a description of what was seen.
fn judge(case: &Case, reports: &[ImpactReport]) -> Result<(), String> {
    let levels: Vec<Level> = reports.iter().map(|r| r.level).collect();
    let max = levels.iter().copied().max().unwrap_or(Level::Low);
    let ok = match case.expect {
        Expect::AtLeast(l) => max >= l,
        Expect::AtMost(l) => levels.iter().all(|&x| x <= l),
        Expect::Exactly(l) => levels.iter().all(|&x| x == l),
    };
    let all_reasons: Vec<String> = reports.iter().flat_map(|r| r.reasons.clone()).collect();
    let missing: Vec<&String> = case
        .reasons
        .iter()
        .filter(|want| {
            let want = want.to_lowercase();
            !all_reasons.iter().any(|r| r.to_lowercase().contains(&want))
        })
        .collect();
    if ok && missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}/{}: expected {:?}, got {levels:?}{}; reasons {all_reasons:?}",
            case.class,
            case.name,
            case.expect,
            if missing.is_empty() {
                String::new()
            } else {
                format!(", missing reason {missing:?}")
            }
        ))
    }
}

#[derive(Default)]
struct Row {
    cases: usize,
    hold: usize,
    right: usize,
    wrong: usize,
}

#[test]
fn disguise_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/disguise");
    let protected = ProtectedPaths::new(autogate_analysis::paths::DEFAULT_PROTECTED)
        .expect("the default globs compile");
    let ctx = AnalysisContext {
        protected: &protected,
        index: None,
    };
    let mut failures = Vec::new();
    let mut table: BTreeMap<String, Row> = BTreeMap::new();
    let mut snapshots: Vec<String> = Vec::new();
    for case in cases(&root) {
        let case = match case {
            Ok(case) => case,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let reports = reports(&case, &ctx, &mut failures);
        let row = table.entry(case.class.clone()).or_default();
        row.cases += 1;
        if case.expect.is_hold() {
            row.hold += 1;
        }
        match judge(&case, &reports) {
            Ok(()) => row.right += 1,
            Err(e) => {
                row.wrong += 1;
                failures.push(e);
            }
        }
        let snap = format!("{}__{}", case.class, case.name);
        let seen: Vec<(Level, &Vec<String>)> =
            reports.iter().map(|r| (r.level, &r.reasons)).collect();
        insta::with_settings!({
            snapshot_path => root.join("../snapshots/disguise"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_yaml_snapshot!(snap.clone(), &seen);
        });
        snapshots.push(snap);
    }
    let mut summary = String::from("class | cases | must hold | right | wrong\n");
    let mut total = Row::default();
    for (class, row) in &table {
        let _ = writeln!(
            summary,
            "{class} | {} | {} | {} | {}",
            row.cases, row.hold, row.right, row.wrong
        );
        total.cases += row.cases;
        total.hold += row.hold;
        total.right += row.right;
        total.wrong += row.wrong;
    }
    let _ = writeln!(
        summary,
        "total | {} | {} | {} | {}",
        total.cases, total.hold, total.right, total.wrong
    );
    insta::with_settings!({
        snapshot_path => root.join("../snapshots/disguise"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("summary", summary);
    });
    // Orphan snapshots: a case renamed or removed leaves one behind.
    if let Ok(dir) = fs::read_dir(root.join("../snapshots/disguise")) {
        for snap in dir.flatten() {
            let file = snap.file_name().to_string_lossy().into_owned();
            if let Some(stem) = file.strip_suffix(".snap")
                && stem != "summary"
                && !snapshots.iter().any(|s| s == stem)
            {
                failures.push(format!("orphan snapshot {file}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_case_parses_with_every_header() {
    let case = parse_case(
        "c",
        "n",
        "path: a.py\nexpect: >=high\nreason: x\norigin: y\n==== before\na\n==== after\nb\n",
    )
    .expect("parses");
    assert_eq!(case.expect, Expect::AtLeast(Level::High));
    assert_eq!(case.before.as_deref(), Some("a\n"));
    assert_eq!(case.after.as_deref(), Some("b\n"));
    assert!(parse_case("c", "n", "path: a.py\n==== after\nb\n").is_err());
    assert!(parse_case("c", "n", "path: a.py\nexpect: huge\n==== after\nb\n").is_err());
}
