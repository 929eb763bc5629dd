//! Times `analyze_cached` the way the server calls it: every proposal's "before" is the previous
//! proposal's "after", with and without `ParseCache::prepare` between proposals (a quick
//! profile, not a bench).
#![allow(clippy::unwrap_used, clippy::print_stdout)]
use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, ParseCache, ProtectedPaths, analyze_cached,
};

fn main() {
    let mut text = String::new();
    for n in 0..1667 {
        text.push_str(&format!("/// Function {n}.\npub fn function_{n}(a: u64, b: u64) -> u64 {{\n    let c = a.wrapping_mul({n}) ^ b;\n    if c % 3 == 0 {{ c / 3 }} else {{ c + {n} }}\n}}\n\n"));
    }
    for prepare in [false, true] {
        let (update, analysis) = rounds(&text, prepare);
        println!(
            "prepare between proposals: {prepare}: cache update {update:?}, analyze_cached {analysis:?} (medians of 40)"
        );
    }
}

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
