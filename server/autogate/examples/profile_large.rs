//! Times the admission of large proposals through the gate, as the server admits them: an
//! agent's rewrite of a 10,000-line Rust file that touches one function in ten (167 changes),
//! and a 50-file refactor (one small change per file). A quick profile, not a bench. Each
//! figure is printed with a baseline measured in the same run: the parses the admission
//! cannot do without.
//! Usage: `cargo run --release -p autogate --example profile_large`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use autogate::gate::{Base, Gate, Origin};
use autogate_analysis::{FileChange, Language, ParseCache, Proposal};
use autogate_policy::{Environment, Policy};

fn function(n: usize, k: usize) -> String {
    format!(
        "/// Function {n}.\npub fn function_{n}(a: u64, b: u64) -> u64 {{\n    let c = a.wrapping_mul({k}) ^ b;\n    if c % 3 == 0 {{ c / 3 }} else {{ c + {n} }}\n}}\n\n"
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn admit(proposal: &Proposal) -> (Duration, usize) {
    let environment = Environment {
        name: "development".to_owned(),
        reason: "profile".to_owned(),
    };
    let mut gate = Gate::new(Policy::default(), environment);
    let bases: BTreeMap<String, Base> = proposal
        .files
        .iter()
        .map(|f| (f.path.clone(), Base::Disk))
        .collect();
    let t = Instant::now();
    let ids = gate.admit(proposal, &bases, &Origin::default());
    (t.elapsed(), ids.len())
}

/// Median time of `f` over `runs` runs.
fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let before: String = (0..1667).map(|n| function(n, n)).collect();
    let after: String = (0..1667)
        .map(|n| function(n, if n % 10 == 0 { n + 1 } else { n }))
        .collect();
    // Baselines: a full parse of the file, and an incremental reparse of it after a change to
    // one function (what each change split from it costs: it is analyzed on its own text).
    let full = time(5, || {
        std::hint::black_box(Language::Rust.parse(&after));
    });
    let one: String = (0..1667)
        .map(|n| function(n, if n == 800 { n + 1 } else { n }))
        .collect();
    let mut cache = ParseCache::new();
    cache.update("src/big.rs", &before);
    let reparse = time(5, || {
        cache.update("src/big.rs", &one);
        cache.update("src/big.rs", &before);
    }) / 2;
    println!(
        "baselines: a full parse of the 10,000-line file {full:?}; an incremental reparse after a change to one function {reparse:?}"
    );
    let one = Proposal {
        files: vec![FileChange {
            path: "src/big.rs".into(),
            old_path: None,
            before: Some(before),
            after: Some(after),
        }],
    };
    let mut runs = Vec::new();
    let mut units = 0;
    for _ in 0..5 {
        let (t, n) = admit(&one);
        runs.push(t);
        units = n;
    }
    println!(
        "whole-file rewrite of a 10,000-line file, {units} changes: median {:?}",
        median(runs)
    );

    let files: Vec<FileChange> = (0..50)
        .map(|i| {
            let before: String = (0..40).map(|n| function(n, n)).collect();
            let after: String = (0..40)
                .map(|n| function(n, if n == 7 { 99 } else { n }))
                .collect();
            FileChange {
                path: format!("src/m{i}.rs"),
                old_path: None,
                before: Some(before),
                after: Some(after),
            }
        })
        .collect();
    let fifty = Proposal { files };
    let parses = time(5, || {
        for f in &fifty.files {
            std::hint::black_box(Language::Rust.parse(f.before.as_deref().unwrap_or_default()));
        }
    });
    println!("baseline: a full parse of each of the 50 files {parses:?}");
    let mut runs = Vec::new();
    for _ in 0..5 {
        let (t, n) = admit(&fifty);
        runs.push(t);
        units = n;
    }
    println!(
        "50-file refactor, {units} changes: median {:?}",
        median(runs)
    );
}
