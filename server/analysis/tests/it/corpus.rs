//! The fixture corpus: every `tests/fixtures/<case>/` is analyzed and its report snapshotted.
//!
//! A case is either
//! - `before.<ext>` and/or `after.<ext>` (a missing side means created/deleted), analyzed as
//!   one unit, `src/<case>.<ext>` unless a `path` file names the path (and `old_path` a rename
//!   source); or
//! - `before/` and/or `after/` directory trees: every path in either is one file of a proposal,
//!   which is `split` (files and top-level symbols) and each unit analyzed.
//!
//! An optional `index/` tree feeds the `SymbolIndex` (the rest of the workspace). The file
//! `expect` holds the expected level of each unit, one per line, checked besides the snapshot.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, ImpactReport, Level, ParseCache, Proposal,
    ProtectedPaths, SymbolIndex, analyze, analyze_cached, analyze_whole, split, split_cached,
};

fn read(path: &Path) -> Option<String> {
    fs::read(path)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn side_file(dir: &Path, side: &str) -> Option<PathBuf> {
    fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.is_file()
                && p.file_stem().and_then(|s| s.to_str()) == Some(side)
                && p.extension().is_some()
        })
}

fn proposal(dir: &Path, case: &str) -> Proposal {
    let (before_dir, after_dir) = (dir.join("before"), dir.join("after"));
    if before_dir.is_dir() || after_dir.is_dir() {
        let mut paths = BTreeSet::new();
        walk(&before_dir, &before_dir, &mut paths);
        walk(&after_dir, &after_dir, &mut paths);
        return Proposal {
            files: paths
                .into_iter()
                .map(|p| FileChange {
                    before: read(&before_dir.join(&p)),
                    after: read(&after_dir.join(&p)),
                    path: p,
                    old_path: None,
                })
                .collect(),
        };
    }
    let before = side_file(dir, "before");
    let after = side_file(dir, "after");
    let ext = before
        .iter()
        .chain(after.iter())
        .find_map(|p| p.extension().and_then(|e| e.to_str()).map(str::to_owned))
        .unwrap_or_else(|| "txt".to_owned());
    let path = read(&dir.join("path"))
        .map(|p| p.trim().to_owned())
        .unwrap_or_else(|| format!("src/{case}.{ext}"));
    Proposal {
        files: vec![FileChange {
            path,
            old_path: read(&dir.join("old_path")).map(|p| p.trim().to_owned()),
            before: before.as_deref().and_then(read),
            after: after.as_deref().and_then(read),
        }],
    }
}

fn index(dir: &Path) -> Option<SymbolIndex> {
    let root = dir.join("index");
    if !root.is_dir() {
        return None;
    }
    let mut paths = BTreeSet::new();
    walk(&root, &root, &mut paths);
    let mut index = SymbolIndex::new();
    for p in paths {
        if let Some(text) = read(&root.join(&p)) {
            index.add_file(&p, &text);
        }
    }
    Some(index)
}

#[test]
fn fixture_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let protected = ProtectedPaths::new(autogate_analysis::paths::DEFAULT_PROTECTED)
        .expect("the default globs compile");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .expect("tests/fixtures exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} fixture cases", cases.len());
    let mut failures = Vec::new();
    for dir in &cases {
        let case = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("fixture names are UTF-8")
            .to_owned();
        let index = index(dir);
        let ctx = AnalysisContext {
            protected: &protected,
            index: index.as_ref(),
        };
        let proposal = proposal(dir, &case);
        let mut cache = ParseCache::new();
        for file in &proposal.files {
            if let Some(before) = &file.before {
                cache.update(&file.path, before);
            }
        }
        let units = split(&proposal);
        if split_cached(&proposal, &mut cache) != units {
            failures.push(format!("{case}: split_cached differs from split"));
        }
        let units: Vec<ChangeUnit> = if dir.join("before").is_dir() || dir.join("after").is_dir() {
            units
        } else {
            vec![ChangeUnit {
                files: proposal.files,
            }]
        };
        let reports: Vec<ImpactReport> = units.iter().map(|u| analyze(u, &ctx)).collect();
        // The same reports from the whole-file reference, and from a cache primed with the
        // before texts (as the shell's cache of open documents would be).
        for (unit, report) in units.iter().zip(&reports) {
            let whole = analyze_whole(unit, &ctx);
            if &whole != report {
                failures.push(format!(
                    "{case}: analyze {report:?} != analyze_whole {whole:?}"
                ));
            }
            let mut cache = ParseCache::new();
            for file in &unit.files {
                if let Some(before) = &file.before {
                    cache.update(&file.path, before);
                }
            }
            let cached = analyze_cached(unit, &ctx, &mut cache);
            if &cached != report {
                failures.push(format!(
                    "{case}: analyze {report:?} != analyze_cached {cached:?}"
                ));
            }
        }
        let expected: Vec<Level> = read(&dir.join("expect"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().parse().expect("`expect` holds levels"))
            .collect();
        let got: Vec<Level> = reports.iter().map(|r| r.level).collect();
        if got != expected {
            failures.push(format!(
                "{case}: expected {expected:?}, got {got:?}: {:?}",
                reports.iter().map(|r| &r.reasons).collect::<Vec<_>>()
            ));
        }
        insta::with_settings!({
            snapshot_path => root.join("../snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            if reports.len() == 1 {
                insta::assert_yaml_snapshot!(case.clone(), &reports[0]);
            } else {
                insta::assert_yaml_snapshot!(case.clone(), &reports);
            }
        });
    }
    let names: BTreeSet<String> = cases
        .iter()
        .filter_map(|d| d.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect();
    for snap in fs::read_dir(root.join("../snapshots"))
        .expect("tests/snapshots exists")
        .flatten()
    {
        let file = snap.file_name().to_string_lossy().into_owned();
        if let Some(stem) = file.strip_suffix(".snap")
            && !names.contains(stem)
        {
            failures.push(format!("orphan snapshot {file}: no fixture `{stem}`"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
