//! Times `analyze` and `analyze_cached` on a 1-line change in a 10,000-line Rust file (a quick
//! profile, not a bench: see `benches/analyze.rs`), and as the server calls it, with and
//! without `ParseCache::prepare` between proposals.
#![allow(clippy::unwrap_used, clippy::print_stdout)]
use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, ParseCache, ProtectedPaths, analyze, analyze_cached,
};
fn main() {
    let mut text = String::new();
    for n in 0..1667 {
        text.push_str(&format!("/// Function {n}.\npub fn function_{n}(a: u64, b: u64) -> u64 {{\n    let c = a.wrapping_mul({n}) ^ b;\n    if c % 3 == 0 {{ c / 3 }} else {{ c + {n} }}\n}}\n\n"));
    }
    let after = text.replacen("a.wrapping_mul(833)", "a.wrapping_mul(7)", 1);
    let unit = ChangeUnit {
        files: vec![FileChange {
            path: "big.rs".into(),
            old_path: None,
            before: Some(text.clone()),
            after: Some(after),
        }],
    };
    let protected = ProtectedPaths::empty();
    let ctx = AnalysisContext {
        protected: &protected,
        index: None,
    };
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let r = analyze(&unit, &ctx);
        println!(
            "analyze: {:?} level {} {:?}",
            t.elapsed(),
            r.level,
            r.reasons
        );
    }
    let mut cache = ParseCache::new();
    cache.update("big.rs", &text);
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let r = analyze_cached(&unit, &ctx, &mut cache);
        println!(
            "analyze_cached: {:?} level {} {:?}",
            t.elapsed(),
            r.level,
            r.reasons
        );
    }
    let after2 = text.replacen("a.wrapping_mul(834)", "a.wrapping_mul(9)", 1);
    for _ in 0..5 {
        let t = std::time::Instant::now();
        cache.update("big.rs", &after2);
        let t1 = t.elapsed();
        let t = std::time::Instant::now();
        cache.update("big.rs", &text);
        println!("incremental update: {:?} {:?}", t1, t.elapsed());
    }
    let mut py = String::new();
    for n in 0..1250 {
        py.push_str(&format!("def function_{n}(a, b):\n    \"\"\"Function {n}.\"\"\"\n    c = (a * {n}) ^ b\n    if c % 3 == 0:\n        return c // 3\n    return c + {n}\n\n\n"));
    }
    let py1 = py.replacen("(a * 625)", "(a * 7)", 1);
    let py2 = py.replacen("(a * 626)", "(a * 9)", 1);
    cache.update("big.py", &py);
    for i in 0..6 {
        let after = if i % 2 == 0 { &py1 } else { &py2 };
        let u = ChangeUnit {
            files: vec![FileChange {
                path: "big.py".into(),
                old_path: None,
                before: Some(py.clone()),
                after: Some(after.clone()),
            }],
        };
        let t = std::time::Instant::now();
        let r = analyze_cached(&u, &ctx, &mut cache);
        println!(
            "python analyze_cached: {:?} level {} {:?}",
            t.elapsed(),
            r.level,
            r.reasons
        );
    }
    for _ in 0..3 {
        let t = std::time::Instant::now();
        cache.update("big.py", &py1);
        let t1 = t.elapsed();
        let t = std::time::Instant::now();
        cache.update("big.py", &py);
        println!("python incremental update: {:?} {:?}", t1, t.elapsed());
    }
    // One class holding every function: the region is the whole class (no sub-item locality).
    let mut class = String::from("class Big:\n");
    for n in 0..1250 {
        class.push_str(&format!("    def function_{n}(self, a, b):\n        \"\"\"Function {n}.\"\"\"\n        c = (a * {n}) ^ b\n        if c % 3 == 0:\n            return c // 3\n        return c + {n}\n\n"));
    }
    let class = format!("import os\n\n{class}");
    let c1 = class.replacen("(a * 625)", "(a * 7)", 1);
    cache.update("class.py", &class);
    let u = ChangeUnit {
        files: vec![FileChange {
            path: "class.py".into(),
            old_path: None,
            before: Some(class.clone()),
            after: Some(c1),
        }],
    };
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let r = analyze_cached(&u, &ctx, &mut cache);
        println!(
            "one-class python analyze_cached: {:?} level {} {:?}",
            t.elapsed(),
            r.level,
            r.reasons
        );
    }
    let mut p = tree_sitter::Parser::new();
    p.set_language(&tree_sitter_rust::LANGUAGE.into()).unwrap();
    let t = std::time::Instant::now();
    let _ = p.parse(&text, None);
    println!("one parse: {:?}", t.elapsed());
    // As the server calls it: every proposal's "before" is the previous one's "after".
    for prepare in [false, true] {
        let (update, analysis) = rounds(&text, prepare);
        println!(
            "server pattern, ParseCache::prepare between proposals: {prepare}: cache update {update:?}, analyze_cached {analysis:?} (medians of 40)"
        );
    }
}

/// `(cache update, analyze_cached)` medians of 40 proposals, each on top of the last.
fn rounds(text: &str, prepare: bool) -> (std::time::Duration, std::time::Duration) {
    let protected = ProtectedPaths::empty();
    let ctx = AnalysisContext {
        protected: &protected,
        index: None,
    };
    let mut cache = ParseCache::new();
    cache.update("big.rs", text);
    let mut before = text.to_owned();
    let mut times = Vec::new();
    for i in 0..40 {
        let (from, to) = if i % 2 == 0 {
            ("a.wrapping_mul(833)", "a.wrapping_mul(7)")
        } else {
            ("a.wrapping_mul(7)", "a.wrapping_mul(833)")
        };
        let after = before.replacen(from, to, 1);
        let t = std::time::Instant::now();
        cache.update("big.rs", &before);
        let update = t.elapsed();
        let unit = ChangeUnit {
            files: vec![FileChange {
                path: "big.rs".into(),
                old_path: None,
                before: Some(before.clone()),
                after: Some(after.clone()),
            }],
        };
        let t = std::time::Instant::now();
        let report = analyze_cached(&unit, &ctx, &mut cache);
        times.push((update, t.elapsed()));
        assert_eq!(report.level.as_str(), "medium");
        if prepare {
            cache.prepare();
        }
        before = after;
    }
    times.sort_by_key(|t| t.1);
    times[20]
}
