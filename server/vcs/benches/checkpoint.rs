//! Checkpoint of a 10-file batch in a generated 20,000-file repository, against `git stash create`,
//! and the repository growth per checkpoint of each. The packs of the timed checkpoints are
//! folded (`prune`, as the server does after each batch) before `git stash create` is timed.

use std::path::Path;

use autogate_vcs::{CheckpointMeta, CheckpointStore};
use criterion::{Criterion, criterion_group, criterion_main};

mod repo;

use repo::{BATCH, FILES, generate, git, rel};

/// Rewrites the batch's files with content unique to `round`.
fn touch_batch(root: &Path, round: usize) -> std::io::Result<()> {
    for i in 0..BATCH {
        let n = i * (FILES / BATCH);
        std::fs::write(
            root.join(rel(n)),
            format!("pub fn f{n}() -> usize {{ {round} }}\n").repeat(40),
        )?;
    }
    Ok(())
}

fn objects_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

#[allow(clippy::print_stdout)] // A benchmark reports to the person running it.
fn report(line: &str) {
    println!("{line}");
}

fn bench(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let root = dir.path();
    if let Err(e) = generate(root) {
        report(&format!("could not generate the benchmark repository: {e}"));
        return;
    }
    let Ok(store) = CheckpointStore::open(root) else {
        return;
    };
    let paths: Vec<String> = (0..BATCH).map(|i| rel(i * (FILES / BATCH))).collect();
    let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let objects = root.join(".git/objects");

    // Growth per checkpoint, with new content each round.
    let rounds = 20;
    let start = objects_bytes(&objects);
    for round in 0..rounds {
        if touch_batch(root, round).is_err() {
            return;
        }
        let Ok(pre) = store.capture(&path_refs) else {
            return;
        };
        if store.create(&pre, &CheckpointMeta::now("bench")).is_err() {
            return;
        }
    }
    let per_checkpoint = (objects_bytes(&objects) - start) / rounds as u64;
    let start = objects_bytes(&objects);
    for round in 0..rounds {
        if touch_batch(root, 1000 + round).is_err() {
            return;
        }
        if let Err(e) = git(root, &["stash", "create"]) {
            report(&e);
            return;
        }
    }
    let per_stash = (objects_bytes(&objects) - start) / rounds as u64;
    report(&format!(
        "repo of {FILES} files, batch of {BATCH}: +{per_checkpoint} bytes per autogate checkpoint, \
         +{per_stash} bytes per `git stash create` (loose objects, new content each round)"
    ));

    let mut group = c.benchmark_group("checkpoint_10_files_in_20k_repo");
    group.sample_size(20);
    group.bench_function("autogate_checkpoint", |b| {
        b.iter(|| {
            let pre = store.capture(&path_refs).ok();
            pre.and_then(|pre| store.create(&pre, &CheckpointMeta::now("bench")).ok())
        });
    });
    // Fold the packs the timed checkpoints left (the server prunes after every batch): git
    // reads every pack's index when it starts, so a pile of them would slow `git stash` down.
    let packs = |dir: &Path| std::fs::read_dir(dir.join("pack")).map_or(0, Iterator::count);
    let before = packs(&objects);
    let t = std::time::Instant::now();
    if store.prune(None, None).is_err() {
        return;
    }
    report(&format!(
        "prune folded the checkpoint packs: {before} -> {} files in objects/pack in {:?}",
        packs(&objects),
        t.elapsed()
    ));
    group.bench_function("git_stash_create", |b| {
        b.iter(|| git(root, &["stash", "create"]).is_ok());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
