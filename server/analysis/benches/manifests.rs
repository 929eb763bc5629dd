//! The dependency diff of a large lockfile change against a plain parse of the same file:
//! (a) `toml`/`serde_json` parse of the after text alone, (b) `manifest::analyze_file` (both
//! sides parsed, entries grouped and compared, rules applied), (c) the whole `analyze` of the
//! unit (line diff, secrets, the dependency diff). The change bumps every locked version and
//! checksum of this repository's `Cargo.lock` (3,172 lines, 638 of them changed) and of the VS
//! Code extension's `package-lock.json` (5,417 lines, 868 changed). Run:
//! `cargo bench -p autogate-analysis --bench manifests`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::hint::black_box;
use std::time::Duration;

use autogate_analysis::manifest::analyze_file;
use autogate_analysis::{AnalysisContext, ChangeUnit, FileChange, ProtectedPaths, analyze};
use criterion::{Criterion, criterion_group, criterion_main};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/manifests/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// Every `version = "x.y.z"` gets a patch bump and every checksum a new value.
fn bump_cargo_lock(text: &str) -> String {
    text.lines()
        .map(|l| {
            if let Some(v) = l
                .strip_prefix("version = \"")
                .and_then(|r| r.strip_suffix('"'))
                && let Some((head, patch)) = v.rsplit_once('.')
                && let Ok(p) = patch.parse::<u64>()
            {
                format!("version = \"{head}.{}\"", p + 1)
            } else if l.starts_with("checksum = \"") {
                format!("checksum = \"{}\"", "ab".repeat(32))
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn bump_package_lock(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if let Some(v) = t
                .strip_prefix("\"version\": \"")
                .and_then(|r| r.strip_suffix("\","))
                && let Some((head, patch)) = v.rsplit_once('.')
                && let Ok(p) = patch.parse::<u64>()
            {
                format!(
                    "{}\"version\": \"{head}.{}\",",
                    &l[..l.len() - t.len()],
                    p + 1
                )
            } else if t.starts_with("\"integrity\": \"") {
                format!(
                    "{}\"integrity\": \"sha512-{}\",",
                    &l[..l.len() - t.len()],
                    "A".repeat(86)
                )
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn changed_lines(a: &str, b: &str) -> usize {
    a.lines().zip(b.lines()).filter(|(x, y)| x != y).count()
}

fn bench(c: &mut Criterion) {
    let protected = ProtectedPaths::empty();
    let ctx = AnalysisContext {
        protected: &protected,
        index: None,
    };
    let cases = [
        (
            "Cargo.lock",
            fixture("autogate.Cargo.lock"),
            bump_cargo_lock as fn(&str) -> String,
        ),
        (
            "package-lock.json",
            fixture("vscode.package-lock.json"),
            bump_package_lock,
        ),
    ];
    let mut group = c.benchmark_group("manifests");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    for (path, before, bump) in cases {
        let after = bump(&before);
        eprintln!(
            "{path}: {} lines, {} changed",
            before.lines().count(),
            changed_lines(&before, &after)
        );
        let deps = analyze_file(path, Some(&before), Some(&after), None).expect("a lockfile");
        assert!(deps.changes.len() > 100, "{}", deps.changes.len());
        group.bench_function(format!("{path}/a_plain_parse"), |b| {
            b.iter(|| {
                if path.ends_with(".json") {
                    black_box(serde_json::from_str::<serde_json::Value>(&after).is_ok())
                } else {
                    black_box(after.parse::<toml::Table>().is_ok())
                }
            })
        });
        group.bench_function(format!("{path}/b_dependency_diff"), |b| {
            b.iter(|| black_box(analyze_file(path, Some(&before), Some(&after), None)))
        });
        let unit = ChangeUnit {
            files: vec![FileChange {
                path: path.to_owned(),
                old_path: None,
                before: Some(before.clone()),
                after: Some(after.clone()),
            }],
        };
        group.bench_function(format!("{path}/c_analyze"), |b| {
            b.iter(|| black_box(analyze(&unit, &ctx)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
