//! Rollback writes that cannot be redirected: a folder on the path flips between a real folder
//! and a symlink out of the root while restores run, as a hostile process would make it.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use autogate_vcs::{CheckpointMeta, CheckpointStore, ConflictPolicy, PostImage, PreImage};
use common::write;

/// Flips `tools` in one step (`renameat2(RENAME_EXCHANGE)`): the real folder and the symlink
/// to the outside folder trade places, so the path is always one or the other.
fn flip(root: &Path) {
    let _ = rustix::fs::renameat_with(
        rustix::fs::CWD,
        root.join("tools"),
        rustix::fs::CWD,
        root.join("tools.swap"),
        rustix::fs::RenameFlags::EXCHANGE,
    );
}

/// Whether `tools` is the real folder now.
fn is_real(root: &Path) -> bool {
    std::fs::symlink_metadata(root.join("tools")).is_ok_and(|m| m.is_dir())
}

#[test]
fn a_folder_flipping_to_a_symlink_during_restores_never_leads_a_write_out_of_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(&root, "tools/f", b"before\n");
    std::os::unix::fs::symlink(outside.path(), root.join("tools.swap")).unwrap();
    let store = CheckpointStore::open(&root).unwrap();
    let pre = vec![PreImage {
        path: "tools/f".to_owned(),
        content: Some(b"before\n".to_vec()),
        executable: false,
    }];
    let id = store.create(&pre, &CheckpointMeta::now("flip")).unwrap();
    store
        .record_written(&id, &[PostImage::written("tools/f", b"after\n", false)])
        .unwrap();

    // 0: flip freely; 1: stop as a real folder and say so with 2.
    let state = Arc::new(AtomicU8::new(1));
    let done = Arc::new(AtomicBool::new(false));
    let flipper = {
        let root = root.clone();
        let (state, done) = (state.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                match state.load(Ordering::Relaxed) {
                    0 => flip(&root),
                    1 => {
                        if !is_real(&root) {
                            flip(&root);
                        }
                        state.store(2, Ordering::Relaxed);
                    }
                    _ => std::thread::yield_now(),
                }
            }
        })
    };
    let pause = || {
        state.store(1, Ordering::Relaxed);
        while state.load(Ordering::Relaxed) != 2 {
            std::thread::yield_now();
        }
    };

    let deadline = Instant::now() + Duration::from_secs(2);
    let mut rounds = 0;
    while Instant::now() < deadline {
        pause();
        write(&root, "tools/f", b"after\n");
        let plan = store.plan_restore(&id).unwrap();
        state.store(0, Ordering::Relaxed);
        let _ = store.restore(&plan, ConflictPolicy::Overwrite);
        rounds += 1;
        if std::fs::read_dir(outside.path()).unwrap().count() > 0 {
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    let leaked: Vec<_> = std::fs::read_dir(outside.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        leaked.is_empty(),
        "a restore wrote outside the root after {rounds} rounds: {leaked:?}"
    );
    assert!(rounds > 10, "the test raced ({rounds} rounds)");
}
