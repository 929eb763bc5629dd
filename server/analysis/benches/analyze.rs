//! `analyze` on a one-line body change in the middle of a 10,000-line file, against one full
//! tree-sitter parse of that file: (a) the parse, (b) `analyze` without a cache, (c)
//! `analyze_cached` with a warm cache (the tree of the before text, as the shell keeps it for
//! open documents). Then `split`: (d) `split_cached`, warm, of a change of two functions far
//! apart (two units), (e) `split` without a cache of the same, (f) `split` of the one-line
//! change (never parsed). Rust and Python. Run:
//! `cargo bench -p autogate-analysis --bench analyze`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, ParseCache, Proposal, ProtectedPaths, analyze,
    analyze_cached, split, split_cached,
};
use criterion::{Criterion, criterion_group, criterion_main};

/// 10,002 lines: 1,667 documented functions.
fn rust_file() -> String {
    let mut text = String::new();
    for n in 0..1667 {
        text.push_str(&format!(
            "/// Function {n}.\npub fn function_{n}(a: u64, b: u64) -> u64 {{\n    let c = a.wrapping_mul({n}) ^ b;\n    if c % 3 == 0 {{ c / 3 }} else {{ c + {n} }}\n}}\n\n"
        ));
    }
    text
}

/// 10,000 lines: 1,250 documented functions.
fn python_file() -> String {
    let mut text = String::new();
    for n in 0..1250 {
        text.push_str(&format!(
            "def function_{n}(a, b):\n    \"\"\"Function {n}.\"\"\"\n    c = (a * {n}) ^ b\n    if c % 3 == 0:\n        return c // 3\n    return c + {n}\n\n\n"
        ));
    }
    text
}

fn unit(path: &str, before: &str, after: String) -> ChangeUnit {
    ChangeUnit {
        files: vec![FileChange {
            path: path.to_owned(),
            old_path: None,
            before: Some(before.to_owned()),
            after: Some(after),
        }],
    }
}

fn bench_language(
    c: &mut Criterion,
    name: &str,
    path: &str,
    text: &str,
    grammar: tree_sitter::Language,
    edits: [(&str, &str); 2],
    far: (&str, &str),
) {
    let protected = ProtectedPaths::empty();
    let ctx = AnalysisContext {
        protected: &protected,
        index: None,
    };
    // Two different one-line edits, alternated, so that the cache never holds the after tree
    // of the previous iteration: every `analyze_cached` parses its after text incrementally.
    let units: Vec<ChangeUnit> = edits
        .iter()
        .map(|(from, to)| {
            let after = text.replacen(from, to, 1);
            assert_ne!(after, text, "the edit applies");
            unit(path, text, after)
        })
        .collect();
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&grammar).unwrap();
    group.bench_function("a_full_parse", |b| {
        b.iter(|| parser.parse(black_box(text), None))
    });
    group.bench_function("b_analyze", |b| {
        b.iter(|| analyze(black_box(&units[0]), &ctx))
    });
    let mut cache = ParseCache::new();
    cache.update(path, text);
    let mut i = 0;
    group.bench_function("c_analyze_cached_warm", |b| {
        b.iter(|| {
            i += 1;
            analyze_cached(black_box(&units[i % 2]), &ctx, &mut cache)
        })
    });
    // Two edits far apart: two units. Alternated like (c), so the after text is parsed anew.
    let proposals: Vec<Proposal> = edits
        .iter()
        .map(|(from, to)| {
            let after = text.replacen(from, to, 1).replacen(far.0, far.1, 1);
            Proposal {
                files: unit(path, text, after).files,
            }
        })
        .collect();
    assert_eq!(split(&proposals[0]).len(), 2, "two functions: two units");
    let mut cache = ParseCache::new();
    cache.update(path, text);
    let mut i = 0;
    group.bench_function("d_split_cached_warm_2_hunks", |b| {
        b.iter(|| {
            i += 1;
            split_cached(black_box(&proposals[i % 2]), &mut cache)
        })
    });
    group.bench_function("e_split_2_hunks", |b| {
        b.iter(|| split(black_box(&proposals[0])))
    });
    let one = Proposal {
        files: units[0].files.clone(),
    };
    assert_eq!(split(&one).len(), 1);
    group.bench_function("f_split_1_hunk", |b| b.iter(|| split(black_box(&one))));
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_language(
        c,
        "rust_10k_lines",
        "src/big.rs",
        &rust_file(),
        tree_sitter_rust::LANGUAGE.into(),
        [
            ("a.wrapping_mul(833)", "a.wrapping_mul(7)"),
            ("a.wrapping_mul(834)", "a.wrapping_mul(9)"),
        ],
        ("a.wrapping_mul(100)", "a.wrapping_mul(5)"),
    );
    bench_language(
        c,
        "python_10k_lines",
        "app/big.py",
        &python_file(),
        tree_sitter_python::LANGUAGE.into(),
        [("(a * 625)", "(a * 7)"), ("(a * 626)", "(a * 9)")],
        ("(a * 100)", "(a * 5)"),
    );
}

criterion_group!(analyze_benches, benches);
criterion_main!(analyze_benches);
