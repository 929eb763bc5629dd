//! Checkpoint of a 10-file batch in a generated 20,000-file repository, against `git stash create`,
//! and the repository growth per checkpoint of each. The packs of the timed checkpoints are
//! folded (`prune`, as the server does after each batch) before `git stash create` is timed.

use std::path::Path;
use std::process::Command;

use autogate_vcs::{CheckpointMeta, CheckpointStore};
use criterion::{Criterion, criterion_group, criterion_main};

const FILES: usize = 20_000;
const PER_DIR: usize = 100;
const BATCH: usize = 10;

fn git(dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.autocrlf=false",
            "-c",
            "gc.auto=0",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.invalid")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .is_ok_and(|o| {
            if !o.status.success() {
                report(&format!(
                    "git {args:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
            o.status.success()
        })
}

fn rel(i: usize) -> String {
    format!("d{:03}/f{:05}.rs", i / PER_DIR, i)
}

fn generate(root: &Path) -> std::io::Result<()> {
    for i in 0..FILES {
        let path = root.join(rel(i));
        if i % PER_DIR == 0
            && let Some(dir) = path.parent()
        {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(
            path,
            format!("pub fn f{i}() -> usize {{\n    {i} * 2 + 1\n}}\n").repeat(8),
        )?;
    }
    Ok(())
}

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
        report(&format!("generate: {e}"));
        return;
    }
    if !git(root, &["init", "-q", "-b", "main"])
        || !git(root, &["add", "-A"])
        || !git(root, &["commit", "-q", "-m", "generated"])
        || !git(root, &["gc", "-q"])
    {
        report("could not generate the benchmark repository");
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
        if touch_batch(root, 1000 + round).is_err() || !git(root, &["stash", "create"]) {
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
        b.iter(|| git(root, &["stash", "create"]));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
