//! Times the phases of a checkpoint (open, capture, create, record_written) of a 10-file batch in a
//! 20,000-file git repository, plus the raw costs they are made of (a quick profile, not a bench:
//! see `benches/checkpoint.rs`). Usage: `cargo run --release -p autogate-vcs --example
//! profile_checkpoint [REPO_DIR]`; the repository is generated there if it does not exist yet.
//! `LONG=N` adds N more checkpoints without pruning (packs pile up, as in the criterion bench).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use autogate_vcs::{CheckpointMeta, CheckpointStore, PostImage};

#[path = "../benches/repo/mod.rs"]
mod repo;

use repo::{BATCH, FILES, generate, git, rel};

const ROUNDS: usize = 50;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/autogate-profile-repo".into());
    let root = Path::new(&dir);
    if !root.join(".git").exists() {
        std::fs::create_dir_all(root).unwrap();
        let t = Instant::now();
        generate(root).unwrap();
        println!("generated in {:?}", t.elapsed());
    }
    let paths: Vec<String> = (0..BATCH).map(|i| rel(i * (FILES / BATCH))).collect();
    let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();

    let (mut open, mut capture, mut create, mut record) = (vec![], vec![], vec![], vec![]);
    let mut store = CheckpointStore::open(root).unwrap();
    for round in 0..ROUNDS {
        for (i, p) in paths.iter().enumerate() {
            std::fs::write(
                root.join(p),
                format!("pub fn g{i}() -> usize {{ {round} }}\n").repeat(40),
            )
            .unwrap();
        }
        if round % 10 == 0 {
            let t = Instant::now();
            store = CheckpointStore::open(root).unwrap();
            open.push(t.elapsed());
        }
        let t = Instant::now();
        let pre = store.capture(&path_refs).unwrap();
        capture.push(t.elapsed());
        let t = Instant::now();
        let id = store.create(&pre, &CheckpointMeta::now("profile")).unwrap();
        create.push(t.elapsed());
        let post: Vec<PostImage> = pre
            .iter()
            .map(|p| PostImage::written(p.path.clone(), b"after\n", false))
            .collect();
        let t = Instant::now();
        store.record_written(&id, &post).unwrap();
        record.push(t.elapsed());
    }
    println!("median of {ROUNDS} rounds, new content each round:");
    println!("  open            {:?}", median(open));
    println!("  capture         {:?}", median(capture));
    println!("  create          {:?}", median(create));
    println!("  record_written  {:?}", median(record));

    // The same content again (as in the criterion bench's timed loop: the blobs exist already).
    let mut again = vec![];
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let pre = store.capture(&path_refs).unwrap();
        store.create(&pre, &CheckpointMeta::now("profile")).unwrap();
        again.push(t.elapsed());
    }
    println!("  capture+create, same content  {:?}", median(again));
    let n: usize = std::env::var("LONG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if n > 0 {
        let mut long = vec![];
        for _ in 0..n {
            let t = Instant::now();
            let pre = store.capture(&path_refs).unwrap();
            store.create(&pre, &CheckpointMeta::now("profile")).unwrap();
            long.push(t.elapsed());
        }
        let total: Duration = long.iter().sum();
        let max = *long.iter().max().unwrap();
        println!(
            "  {n} more same-content checkpoints: mean {:?} median {:?} max {max:?}",
            total / n as u32,
            median(long)
        );
    }

    let packs = std::fs::read_dir(root.join(".git/objects/pack"))
        .unwrap()
        .count();
    println!(
        "  files in objects/pack after {} writes: {packs}",
        3 * ROUNDS
    );

    // One large source file (10,000 lines, ~300 KB): the write path deflates it at level 1;
    // the baseline is libgit2's pack builder (zlib's default level) writing the same blob,
    // with the same two fsyncs, in the same run.
    let big_rel = "src/big.rs";
    std::fs::create_dir_all(root.join("src")).unwrap();
    let (mut big_create, mut builder_write) = (vec![], vec![]);
    let scratch = root.join(".git/autogate-profile-packs");
    std::fs::create_dir_all(&scratch).unwrap();
    for round in 0..ROUNDS {
        let text: String = (0..10_000)
            .map(|i| format!("    let value_{i} = compute({i}, {round}); // line {i}\n"))
            .collect();
        std::fs::write(root.join(big_rel), &text).unwrap();
        let t = Instant::now();
        let pre = store.capture(&[big_rel]).unwrap();
        store.create(&pre, &CheckpointMeta::now("profile")).unwrap();
        big_create.push(t.elapsed());

        let t = Instant::now();
        let mem = git2::Repository::from_odb(git2::Odb::new().unwrap()).unwrap();
        let _mempack = mem.odb().unwrap().add_new_mempack_backend(1).unwrap();
        let blob = mem.blob(text.as_bytes()).unwrap();
        let mut builder = mem.packbuilder().unwrap();
        builder.set_threads(1);
        builder.insert_object(blob, None).unwrap();
        builder.write(&scratch, 0).unwrap();
        let name = builder.name().unwrap().unwrap().to_owned();
        for ext in ["pack", "idx"] {
            let f = scratch.join(format!("pack-{name}.{ext}"));
            std::fs::File::open(&f).unwrap().sync_all().unwrap();
            std::fs::remove_file(&f).unwrap();
        }
        builder_write.push(t.elapsed());
    }
    println!(
        "  one 300 KB file: capture+create  {:?}",
        median(big_create)
    );
    println!(
        "  baseline: libgit2 pack builder writing that blob (+2 fsyncs)  {:?}",
        median(builder_write)
    );

    // Raw costs.
    let probe = root.join(".git/autogate-fsync-probe");
    let mut fsync = vec![];
    for i in 0..ROUNDS {
        let t = Instant::now();
        std::fs::write(&probe, format!("{i}")).unwrap();
        std::fs::File::open(&probe).unwrap().sync_all().unwrap();
        fsync.push(t.elapsed());
    }
    std::fs::remove_file(&probe).unwrap();
    println!("  write+fsync of a small file  {:?}", median(fsync));
    let mut stash = vec![];
    for _ in 0..10 {
        let t = Instant::now();
        git(root, &["stash", "create"]).unwrap();
        stash.push(t.elapsed());
    }
    println!("  git stash create  {:?}", median(stash));
}
