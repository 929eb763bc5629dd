//! Checkpoint and exact-restore tests on real temp git repos and a plain temp folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;

use autogate_vcs::{
    CheckpointId, CheckpointMeta, CheckpointStore, Conflict, ConflictPolicy, PostImage,
    RestoreAction, RestoreOutcome, VcsError,
};
use common::{git_text, read, write};

const BATCH: &[&str] = &[
    "src/lib.rs",
    "crlf.txt",
    "bin.dat",
    "run.sh",
    "gone.txt",
    "old_name.rs",
    "new_name.rs",
    "new/dir/created.rs",
];

/// Applies a batch touching every kind of file and returns what it wrote.
fn apply_batch(root: &Path) -> Vec<PostImage> {
    let mut post = Vec::new();
    let mut put = |rel: &str, bytes: &[u8], exec: bool| {
        write(root, rel, bytes);
        #[cfg(unix)]
        common::set_exec(root, rel, exec);
        post.push(PostImage::written(rel, bytes, exec));
    };
    put("src/lib.rs", b"pub fn a() { b() }\n", false);
    put("crlf.txt", b"one\ntwo\n", false);
    put("bin.dat", &[0x00, 0x01, 0xfe], false);
    put("run.sh", b"#!/bin/sh\necho changed\n", false);
    put("new/dir/created.rs", b"fn created() {}\n", false);
    std::fs::remove_file(root.join("gone.txt")).unwrap();
    post.push(PostImage::deleted("gone.txt"));
    let old = read(root, "old_name.rs").unwrap();
    std::fs::rename(root.join("old_name.rs"), root.join("new_name.rs")).unwrap();
    post.extend(PostImage::renamed(
        "old_name.rs",
        "new_name.rs",
        &old,
        false,
    ));
    post
}

fn snapshot(root: &Path) -> Vec<(String, Option<Vec<u8>>, bool)> {
    BATCH
        .iter()
        .map(|p| {
            let bytes = read(root, p);
            #[cfg(unix)]
            let exec = bytes.is_some() && common::is_exec(root, p);
            #[cfg(not(unix))]
            let exec = false;
            ((*p).to_owned(), bytes, exec)
        })
        .collect()
}

fn checkpoint_apply_restore(root: &Path) -> CheckpointStore {
    let before = snapshot(root);
    let store = CheckpointStore::open(root).unwrap();
    let pre = store.capture(BATCH).unwrap();
    let id = store
        .create(&pre, &CheckpointMeta::now("test batch"))
        .unwrap();
    let post = apply_batch(root);
    store.record_written(&id, &post).unwrap();
    assert_ne!(snapshot(root), before);

    let plan = store.plan_restore(&id).unwrap();
    assert_eq!(plan.conflicts().count(), 0, "{plan:#?}");
    let action = |p: &str| plan.files.iter().find(|f| f.path == p).unwrap().action;
    assert_eq!(action("src/lib.rs"), RestoreAction::Restore);
    assert_eq!(action("gone.txt"), RestoreAction::Recreate);
    assert_eq!(action("old_name.rs"), RestoreAction::Recreate);
    assert_eq!(action("new_name.rs"), RestoreAction::Delete);
    assert_eq!(action("new/dir/created.rs"), RestoreAction::Delete);
    let renamed = plan.files.iter().find(|f| f.path == "new_name.rs").unwrap();
    assert_eq!(renamed.renamed_from.as_deref(), Some("old_name.rs"));
    assert_eq!(renamed.current.as_deref(), Some(&b"fn old() {}\n"[..]));
    let crlf = plan.files.iter().find(|f| f.path == "crlf.txt").unwrap();
    assert_eq!(crlf.before.as_deref(), Some(&b"one\r\ntwo\r\n"[..]));

    let report = store.restore(&plan, ConflictPolicy::KeepMine).unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(snapshot(root), before, "byte-identical restore");
    assert!(
        !root.join("new").exists(),
        "folders made by the batch are gone"
    );
    assert_eq!(read(root, "crlf.txt").unwrap(), b"one\r\ntwo\r\n");
    assert_eq!(
        read(root, "bin.dat").unwrap(),
        [0xff, 0xfe, 0x00, 0x80, b'\n', 0xc3]
    );
    #[cfg(unix)]
    assert!(common::is_exec(root, "run.sh"));

    // Restoring again is a no-op.
    let again = store.plan_restore(&id).unwrap();
    assert!(
        again
            .files
            .iter()
            .all(|f| f.action == RestoreAction::Unchanged)
    );
    store
}

#[test]
fn git_restore_is_byte_identical_and_leaves_git_state_alone() {
    let dir = common::repo();
    let root = dir.path();
    let state = common::git_state(root);
    let store = checkpoint_apply_restore(root);
    assert!(store.is_git());
    assert_eq!(common::git_state(root), state);
    // The checkpoint is readable with plain git from the CLI.
    let refs = git_text(
        root,
        &["for-each-ref", "--format=%(refname)", "refs/autogate"],
    );
    let refname = refs.lines().next().unwrap().to_owned();
    assert!(refname.starts_with("refs/autogate/checkpoints/"));
    let shown = git_text(root, &["show", &format!("{refname}:files/src/lib.rs")]);
    assert_eq!(shown, "pub fn a() {}\n");
    assert!(!root.join(".autogate").exists());
}

#[test]
fn git_state_identical_after_checkpoint_alone() {
    let dir = common::repo();
    let root = dir.path();
    let state = common::git_state(root);
    let store = CheckpointStore::open(root).unwrap();
    let pre = store.capture(&["src/lib.rs", "nope.rs"]).unwrap();
    store.create(&pre, &CheckpointMeta::now("x")).unwrap();
    assert_eq!(common::git_state(root), state);
}

#[test]
fn plain_folder_restore_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "src/lib.rs", b"pub fn a() {}\n");
    write(root, "crlf.txt", b"one\r\ntwo\r\n");
    write(root, "bin.dat", &[0xff, 0xfe, 0x00, 0x80, b'\n', 0xc3]);
    write(root, "run.sh", b"#!/bin/sh\necho hi\n");
    #[cfg(unix)]
    common::set_exec(root, "run.sh", true);
    write(root, "old_name.rs", b"fn old() {}\n");
    write(root, "gone.txt", b"to be deleted\n");
    write(root, "untouched.txt", b"keep\n");
    let store = checkpoint_apply_restore(root);
    assert!(!store.is_git());
    assert!(root.join(".autogate/checkpoints/manifests").is_dir());
    assert_eq!(read(root, "untouched.txt").unwrap(), b"keep\n");
}

fn conflict_case(root: &Path) {
    conflict_case_as(root, false);
}

/// `expecting`: the written state is recorded with the checkpoint, before the writes (as a
/// door does, whose agent writes after the answer), instead of after them.
fn conflict_case_as(root: &Path, expecting: bool) {
    let store = CheckpointStore::open(root).unwrap();
    let pre = store
        .capture(&["src/lib.rs", "made.rs", "crlf.txt"])
        .unwrap();
    let post = [
        PostImage::written("src/lib.rs", b"by autogate\n", false),
        PostImage::written("made.rs", b"made by autogate\n", false),
        PostImage::written("crlf.txt", b"by autogate\n", false),
    ];
    let id = if expecting {
        store
            .create_expecting(&pre, &CheckpointMeta::now("c"), &post)
            .unwrap()
    } else {
        store.create(&pre, &CheckpointMeta::now("c")).unwrap()
    };
    write(root, "src/lib.rs", b"by autogate\n");
    write(root, "made.rs", b"made by autogate\n");
    write(root, "crlf.txt", b"by autogate\n");
    if !expecting {
        store.record_written(&id, &post).unwrap();
    }
    // The person edits two of the files afterwards.
    write(root, "src/lib.rs", b"by the person\n");
    write(root, "made.rs", b"the person kept working here\n");

    let plan = store.plan_restore(&id).unwrap();
    let conflicts: Vec<&str> = plan.conflicts().map(|f| f.path.as_str()).collect();
    assert_eq!(conflicts, ["src/lib.rs", "made.rs"]);
    let lib = &plan.files[0];
    assert_eq!(lib.conflict, Some(Conflict::ChangedSinceWritten));
    assert_eq!(lib.current.as_deref(), Some(&b"by the person\n"[..]));
    assert_eq!(lib.before.as_deref(), Some(&b"pub fn a() {}\n"[..]));

    let report = store.restore(&plan, ConflictPolicy::default()).unwrap();
    let kept: Vec<&str> = report.kept().map(|f| f.path.as_str()).collect();
    assert_eq!(kept, ["src/lib.rs", "made.rs"]);
    assert_eq!(read(root, "src/lib.rs").unwrap(), b"by the person\n");
    assert_eq!(
        read(root, "made.rs").unwrap(),
        b"the person kept working here\n"
    );
    assert_eq!(read(root, "crlf.txt").unwrap(), b"one\r\ntwo\r\n");

    // Asked and agreed: overwrite.
    let plan = store.plan_restore(&id).unwrap();
    let report = store.restore(&plan, ConflictPolicy::Overwrite).unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(read(root, "src/lib.rs").unwrap(), b"pub fn a() {}\n");
    assert!(read(root, "made.rs").is_none());
}

#[test]
fn person_edit_after_batch_is_kept_and_reported_git() {
    let dir = common::repo();
    let state = common::git_state(dir.path());
    conflict_case(dir.path());
    assert_eq!(common::git_state(dir.path()), state);
}

#[test]
fn written_state_recorded_with_the_checkpoint_tells_the_persons_edits_apart_too() {
    let dir = common::repo();
    conflict_case_as(dir.path(), true);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", b"pub fn a() {}\n");
    write(dir.path(), "crlf.txt", b"one\r\ntwo\r\n");
    conflict_case_as(dir.path(), true);
    // A written path the checkpoint does not cover is refused, and no checkpoint is made.
    let dir = common::repo();
    let store = CheckpointStore::open(dir.path()).unwrap();
    let pre = store.capture(&["src/lib.rs"]).unwrap();
    assert!(matches!(
        store.create_expecting(
            &pre,
            &CheckpointMeta::now("x"),
            &[PostImage::written("other.rs", b"x", false)]
        ),
        Err(VcsError::InvalidPath { .. })
    ));
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn person_edit_after_batch_is_kept_and_reported_plain() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", b"pub fn a() {}\n");
    write(dir.path(), "crlf.txt", b"one\r\ntwo\r\n");
    conflict_case(dir.path());
}

#[test]
fn crash_before_record_written_is_restorable_from_a_new_process() {
    let dir = common::repo();
    let root = dir.path();
    let id = {
        let store = CheckpointStore::open(root).unwrap();
        let pre = store.capture(&["src/lib.rs", "fresh.rs"]).unwrap();
        let id = store.create(&pre, &CheckpointMeta::now("crash")).unwrap();
        write(root, "src/lib.rs", b"half");
        id
        // "killed" here: no record_written, store dropped.
    };
    let store = CheckpointStore::open(root).unwrap();
    let listed = store.list().unwrap();
    assert_eq!(listed[0].id, id);
    assert!(!listed[0].written_recorded);
    let plan = store.plan_restore(&id).unwrap();
    assert_eq!(plan.files[0].conflict, Some(Conflict::NotRecorded));
    assert_eq!(plan.files[1].action, RestoreAction::Unchanged);
    let report = store.restore(&plan, ConflictPolicy::KeepMine).unwrap();
    assert_eq!(
        report.files[0].outcome,
        RestoreOutcome::KeptMine(Conflict::NotRecorded)
    );
    let report = store.restore(&plan, ConflictPolicy::Overwrite).unwrap();
    assert!(report.is_complete());
    assert_eq!(read(root, "src/lib.rs").unwrap(), b"pub fn a() {}\n");
}

#[test]
fn a_change_between_plan_and_restore_is_left_alone() {
    let dir = common::repo();
    let root = dir.path();
    let store = CheckpointStore::open(root).unwrap();
    let pre = store.capture(&["src/lib.rs"]).unwrap();
    let id = store.create(&pre, &CheckpointMeta::now("s")).unwrap();
    write(root, "src/lib.rs", b"autogate\n");
    store
        .record_written(
            &id,
            &[PostImage::written("src/lib.rs", b"autogate\n", false)],
        )
        .unwrap();
    let plan = store.plan_restore(&id).unwrap();
    write(root, "src/lib.rs", b"typed meanwhile\n");
    let report = store.restore(&plan, ConflictPolicy::Overwrite).unwrap();
    assert_eq!(report.files[0].outcome, RestoreOutcome::Stale);
    assert_eq!(read(root, "src/lib.rs").unwrap(), b"typed meanwhile\n");
}

#[test]
fn list_is_newest_first_and_prune_keeps_the_newest() {
    for git in [true, false] {
        let dir = if git {
            common::repo()
        } else {
            tempfile::tempdir().unwrap()
        };
        let root = dir.path();
        write(root, "a.txt", b"a\n");
        let store = CheckpointStore::open(root).unwrap();
        let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let mut ids = Vec::new();
        for i in 0..3u64 {
            let meta = CheckpointMeta {
                label: format!("n{i}"),
                created: base + std::time::Duration::from_secs(i * 60),
            };
            ids.push(
                store
                    .create(&store.capture(&["a.txt"]).unwrap(), &meta)
                    .unwrap(),
            );
        }
        let listed: Vec<CheckpointId> = store.list().unwrap().into_iter().map(|i| i.id).collect();
        assert_eq!(listed, [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
        assert!(ids[0] < ids[1] && ids[1] < ids[2], "ids sort by time");
        assert_eq!(store.list().unwrap()[0].label, "n2");
        assert_eq!(store.latest().unwrap().unwrap().id, ids[2]);
        assert_eq!(store.list().unwrap()[0].files, ["a.txt"]);

        let removed = store.prune(None, Some(1)).unwrap();
        assert_eq!(removed, [ids[1].clone(), ids[0].clone()]);
        assert!(matches!(
            store.plan_restore(&ids[0]),
            Err(VcsError::CheckpointNotFound(_))
        ));
        assert!(store.plan_restore(&ids[2]).is_ok());
        let removed = store
            .prune(Some(std::time::Duration::from_secs(60)), None)
            .unwrap();
        assert_eq!(removed, [ids[2].clone()]);
        assert!(store.list().unwrap().is_empty());
    }
}

#[test]
fn bad_paths_and_ids_are_refused() {
    let dir = common::repo();
    let root = dir.path();
    let store = CheckpointStore::open(root).unwrap();
    for bad in [
        "../x",
        "/etc/passwd",
        ".git/config",
        "a/../../b",
        "a//b",
        "",
        "a\\b",
        ".autogate/checkpoints/manifests/x.json",
    ] {
        let pre = [autogate_vcs::PreImage {
            path: bad.into(),
            content: None,
            executable: false,
        }];
        assert!(
            matches!(
                store.create(&pre, &CheckpointMeta::now("bad")),
                Err(VcsError::InvalidPath { .. })
            ),
            "{bad}"
        );
    }
    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        assert!(matches!(
            store.capture(&["link/x.txt"]),
            Err(VcsError::InvalidPath { .. })
        ));
    }
    assert!(CheckpointId::parse("../../HEAD").is_err());
    assert!(CheckpointId::parse("20261124T050102Z-3f2a").is_ok());
    assert!(matches!(
        store.plan_restore(&CheckpointId::parse("20200101T000000Z-0000").unwrap()),
        Err(VcsError::CheckpointNotFound(_))
    ));
}

#[test]
fn record_written_refuses_files_outside_the_checkpoint() {
    let dir = common::repo();
    let store = CheckpointStore::open(dir.path()).unwrap();
    let id = store
        .create(
            &store.capture(&["src/lib.rs"]).unwrap(),
            &CheckpointMeta::now("x"),
        )
        .unwrap();
    assert!(matches!(
        store.record_written(&id, &[PostImage::written("other.rs", b"x", false)]),
        Err(VcsError::InvalidPath { .. })
    ));
}

const CHILD_ROOT: &str = "AUTOGATE_VCS_TEST_CHILD_ROOT";

/// Not a test on its own: a child process that checkpoints, writes half a batch and hangs until killed.
#[test]
fn child_batch_then_hang() {
    let Some(root) = std::env::var_os(CHILD_ROOT) else {
        return;
    };
    let root = std::path::PathBuf::from(root);
    let store = CheckpointStore::open(&root).unwrap();
    let pre = store.capture(&["src/lib.rs", "crlf.txt"]).unwrap();
    store.create(&pre, &CheckpointMeta::now("killed")).unwrap();
    write(&root, "src/lib.rs", b"first file written\n");
    write(&root, "ready", b"");
    std::thread::sleep(std::time::Duration::from_secs(60));
}

#[test]
fn kill_9_mid_batch_leaves_a_restorable_checkpoint() {
    let dir = common::repo();
    let root = dir.path();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "checkpoint::child_batch_then_hang",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD_ROOT, root)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !root.join("ready").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "child never got ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    std::fs::remove_file(root.join("ready")).unwrap();

    let store = CheckpointStore::open(root).unwrap();
    let info = store.list().unwrap().remove(0);
    assert_eq!(info.label, "killed");
    let plan = store.plan_restore(&info.id).unwrap();
    let report = store.restore(&plan, ConflictPolicy::Overwrite).unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(read(root, "src/lib.rs").unwrap(), b"pub fn a() {}\n");
    assert_eq!(read(root, "crlf.txt").unwrap(), b"one\r\ntwo\r\n");
}

#[test]
fn works_from_a_linked_worktree() {
    let dir = common::repo();
    let parent = tempfile::tempdir().unwrap();
    let wt = parent.path().join("wt");
    common::git(
        dir.path(),
        &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
    );
    let state = common::git_text(&wt, &["status", "--porcelain"]);
    let head = common::git_text(&wt, &["rev-parse", "HEAD"]);
    let store = CheckpointStore::open(&wt).unwrap();
    assert!(store.is_git());
    let id = store
        .create(
            &store.capture(&["src/lib.rs"]).unwrap(),
            &CheckpointMeta::now("wt"),
        )
        .unwrap();
    write(&wt, "src/lib.rs", b"x\n");
    store
        .record_written(&id, &[PostImage::written("src/lib.rs", b"x\n", false)])
        .unwrap();
    let report = store
        .restore(&store.plan_restore(&id).unwrap(), ConflictPolicy::KeepMine)
        .unwrap();
    assert!(report.is_complete());
    assert_eq!(read(&wt, "src/lib.rs").unwrap(), b"pub fn a() {}\n");
    assert_eq!(common::git_text(&wt, &["status", "--porcelain"]), state);
    assert_eq!(common::git_text(&wt, &["rev-parse", "HEAD"]), head);

    // Refs are shared by worktrees, but a checkpoint belongs to the workspace that made it.
    let main = CheckpointStore::open(dir.path()).unwrap();
    assert!(main.list().unwrap().is_empty());
    assert!(matches!(
        main.plan_restore(&id),
        Err(VcsError::CheckpointNotFound(_))
    ));
    let sub = CheckpointStore::open(&wt.join("src")).unwrap();
    assert!(sub.list().unwrap().is_empty());
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn a_folder_the_person_used_is_kept_after_deleting_a_created_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = CheckpointStore::open(root).unwrap();
    let id = store
        .create(
            &store.capture(&["pkg/sub/new.rs"]).unwrap(),
            &CheckpointMeta::now("n"),
        )
        .unwrap();
    write(root, "pkg/sub/new.rs", b"new\n");
    store
        .record_written(
            &id,
            &[PostImage::written("pkg/sub/new.rs", b"new\n", false)],
        )
        .unwrap();
    write(root, "pkg/mine.txt", b"mine\n");
    let plan = store.plan_restore(&id).unwrap();
    assert_eq!(plan.files[0].created_dirs, ["pkg/sub", "pkg"]);
    assert!(
        store
            .restore(&plan, ConflictPolicy::KeepMine)
            .unwrap()
            .is_complete()
    );
    assert!(!root.join("pkg/sub").exists());
    assert_eq!(read(root, "pkg/mine.txt").unwrap(), b"mine\n");
}

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                n += 1;
            }
        }
    }
    n
}

/// The packs in `.git/objects/pack`, by name (`pack-<hash>`).
fn packs(root: &Path) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(root.join(".git/objects/pack"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".idx").map(str::to_owned)
        })
        .collect()
}

/// The object ids in one pack, as git lists them.
fn pack_objects(root: &Path, pack: &str) -> Vec<String> {
    let idx = root.join(format!(".git/objects/pack/{pack}.idx"));
    git_text(root, &["verify-pack", "-v", idx.to_str().unwrap()])
        .lines()
        .filter(|l| l.len() > 40 && l.as_bytes()[40] == b' ')
        .map(|l| l[..40].to_owned())
        .collect()
}

#[test]
fn a_checkpoint_stores_only_the_touched_files() {
    let dir = common::repo();
    let root = dir.path();
    for i in 0..200 {
        write(
            root,
            &format!("many/f{i}.rs"),
            format!("fn f{i}() {{}}\n").as_bytes(),
        );
    }
    common::git(root, &["add", "-A"]);
    common::git(root, &["commit", "-q", "-m", "many"]);
    let objects = root.join(".git/objects");
    let before = count_files(&objects);
    let packs_before = packs(root);
    let store = CheckpointStore::open(root).unwrap();
    let pre = store.capture(&["many/f7.rs", "brand/new.rs"]).unwrap();
    store.create(&pre, &CheckpointMeta::now("small")).unwrap();
    // One pack and its index, nothing loose, nothing left in the folder where it was written.
    assert_eq!(count_files(&objects) - before, 2);
    let new: Vec<String> = packs(root).difference(&packs_before).cloned().collect();
    assert_eq!(new.len(), 1);
    // The pack holds the whole checkpoint, f7's blob included although git has it already:
    // the blob, the manifest, 3 trees (root, files/, files/many) and the commit.
    assert_eq!(pack_objects(root, &new[0]).len(), 6);
    assert_eq!(count_files(&objects.join("autogate-incoming")), 0);
}

#[test]
fn git_reads_checkpoints_and_fsck_is_clean() {
    let dir = common::repo();
    let root = dir.path();
    let store = CheckpointStore::open(root).unwrap();
    let id = store
        .create(
            &store.capture(&["src/lib.rs", "brand/new.rs"]).unwrap(),
            &CheckpointMeta::now("read by git"),
        )
        .unwrap();
    write(root, "src/lib.rs", b"pub fn a() { 1 }\n");
    store
        .record_written(
            &id,
            &[PostImage::written(
                "src/lib.rs",
                b"pub fn a() { 1 }\n",
                false,
            )],
        )
        .unwrap();
    let refname = format!("refs/autogate/checkpoints/{id}");
    assert_eq!(
        git_text(
            root,
            &["cat-file", "-p", &format!("{refname}:files/src/lib.rs")]
        ),
        "pub fn a() {}\n"
    );
    let manifest = git_text(
        root,
        &[
            "cat-file",
            "-p",
            &format!("{refname}:autogate-manifest.json"),
        ],
    );
    assert!(manifest.contains("\"written\""), "{manifest}");
    // The written state is a child of the checkpoint commit.
    let log = git_text(root, &["log", "--format=%s", &refname]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            format!("autogate checkpoint {id}: written"),
            format!("autogate checkpoint {id}")
        ]
    );
    let fsck = common::git(root, &["fsck", "--strict", "--no-dangling"]);
    assert!(fsck.is_empty(), "{}", String::from_utf8_lossy(&fsck));
}

#[test]
fn many_checkpoints_fold_their_packs_and_restore_byte_identical() {
    let dir = common::repo();
    let root = dir.path();
    let git_packs = packs(root).len();
    let store = CheckpointStore::open(root).unwrap();
    let content = |i: usize| format!("pub fn a() {{ {i} }}\n").repeat(1 + i % 7);
    let mut ids = Vec::new();
    for i in 0..40 {
        write(root, "src/lib.rs", content(i).as_bytes());
        let id = store
            .create(
                &store.capture(&["src/lib.rs"]).unwrap(),
                &CheckpointMeta::now(format!("n{i}")),
            )
            .unwrap();
        write(root, "src/lib.rs", content(i + 1).as_bytes());
        store
            .record_written(
                &id,
                &[PostImage::written(
                    "src/lib.rs",
                    content(i + 1).as_bytes(),
                    false,
                )],
            )
            .unwrap();
        ids.push(id);
    }
    // 80 writes, one pack each; pruning (nothing to remove here) folds them.
    assert_eq!(packs(root).len() - git_packs, 80);
    assert!(store.prune(None, Some(40)).unwrap().is_empty());
    let ours = packs(root).len() - git_packs;
    assert!(ours < 8, "{ours} packs after folding 80");
    // Every checkpoint is still whole, from a new process's point of view too.
    let fresh = CheckpointStore::open(root).unwrap();
    assert_eq!(fresh.list().unwrap().len(), 40);
    for (i, id) in ids.iter().enumerate().step_by(13) {
        let plan = fresh.plan_restore(id).unwrap();
        assert_eq!(plan.files[0].before.as_deref(), Some(content(i).as_bytes()));
    }
    let report = fresh
        .restore(
            &fresh.plan_restore(&ids[0]).unwrap(),
            ConflictPolicy::Overwrite,
        )
        .unwrap();
    assert!(report.is_complete());
    assert_eq!(read(root, "src/lib.rs").unwrap(), content(0).as_bytes());
    // Pruning drops refs; the objects stay until git's gc.
    fresh.prune(None, Some(10)).unwrap();
    assert!(packs(root).len() - git_packs <= ours);
    assert_eq!(fresh.list().unwrap().len(), 10);
    let fsck = common::git(root, &["fsck", "--strict", "--no-dangling"]);
    assert!(fsck.is_empty(), "{}", String::from_utf8_lossy(&fsck));
}

/// The fold runs as a job on another thread (its own repository handle) while the same store
/// keeps writing and restoring checkpoints: nothing waits for it, and nothing is lost.
#[test]
fn a_fold_beside_the_store_loses_nothing_the_store_writes_meanwhile() {
    let dir = common::repo();
    let root = dir.path();
    let git_packs = packs(root).len();
    let store = CheckpointStore::open(root).unwrap();
    let content = |i: usize| format!("pub fn b() {{ {i} }}\n").repeat(1 + i % 5);
    let checkpoint = |i: usize| {
        write(root, "src/lib.rs", content(i).as_bytes());
        store
            .create(
                &store.capture(&["src/lib.rs"]).unwrap(),
                &CheckpointMeta::now(format!("n{i}")),
            )
            .unwrap()
    };
    let mut ids: Vec<_> = (0..24).map(checkpoint).collect();
    assert_eq!(packs(root).len() - git_packs, 24);
    let fold = store.fold_job().expect("a git store folds");
    let folding = std::thread::spawn(fold);
    // Meanwhile, through the store's own handle: more checkpoints, and reads of old ones.
    for i in 24..32 {
        ids.push(checkpoint(i));
        let plan = store.plan_restore(&ids[i - 24]).unwrap();
        assert_eq!(
            plan.files[0].before.as_deref(),
            Some(content(i - 24).as_bytes())
        );
    }
    folding.join().unwrap();
    assert!(
        packs(root).len() - git_packs < 24,
        "folded: {} packs",
        packs(root).len() - git_packs
    );
    let fresh = CheckpointStore::open(root).unwrap();
    assert_eq!(fresh.list().unwrap().len(), 32);
    for (i, id) in ids.iter().enumerate() {
        let plan = store.plan_restore(id).unwrap();
        assert_eq!(plan.files[0].before.as_deref(), Some(content(i).as_bytes()));
        let plan = fresh.plan_restore(id).unwrap();
        assert_eq!(plan.files[0].before.as_deref(), Some(content(i).as_bytes()));
    }
    let fsck = common::git(root, &["fsck", "--strict", "--no-dangling"]);
    assert!(fsck.is_empty(), "{}", String::from_utf8_lossy(&fsck));
    // A plain folder has nothing to fold.
    let plain = tempfile::tempdir().unwrap();
    assert!(
        CheckpointStore::open(plain.path())
            .unwrap()
            .fold_job()
            .is_none()
    );
}

#[test]
fn prune_in_a_plain_folder_drops_unreferenced_objects() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = CheckpointStore::open(root).unwrap();
    write(root, "a.txt", b"one\n");
    let first = store
        .create(
            &store.capture(&["a.txt"]).unwrap(),
            &CheckpointMeta::now("1"),
        )
        .unwrap();
    write(root, "a.txt", b"two\n");
    store
        .create(
            &store.capture(&["a.txt"]).unwrap(),
            &CheckpointMeta::now("2"),
        )
        .unwrap();
    let objects = root.join(".autogate/checkpoints/objects");
    assert_eq!(count_files(&objects), 2);
    let removed = store.prune(None, Some(1)).unwrap();
    assert_eq!(removed, [first]);
    assert_eq!(count_files(&objects), 1);
}

#[cfg(unix)]
#[test]
fn a_private_file_is_recreated_with_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, ".env.local", b"TOKEN=x\n");
    std::fs::set_permissions(
        root.join(".env.local"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let store = CheckpointStore::open(root).unwrap();
    let id = store
        .create(
            &store.capture(&[".env.local"]).unwrap(),
            &CheckpointMeta::now("d"),
        )
        .unwrap();
    std::fs::remove_file(root.join(".env.local")).unwrap();
    store
        .record_written(&id, &[PostImage::deleted(".env.local")])
        .unwrap();
    let plan = store.plan_restore(&id).unwrap();
    assert_eq!(plan.files[0].before_mode, Some(0o600));
    assert!(
        store
            .restore(&plan, ConflictPolicy::KeepMine)
            .unwrap()
            .is_complete()
    );
    let mode = std::fs::metadata(root.join(".env.local"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn folding_keeps_objects_that_git_reuses_from_a_checkpoint_pack() {
    let dir = common::repo();
    let root = dir.path();
    let store = CheckpointStore::open(root).unwrap();
    write(root, "a.txt", b"only ever in a checkpoint\n");
    store
        .create(
            &store.capture(&["a.txt"]).unwrap(),
            &CheckpointMeta::now("first"),
        )
        .unwrap();
    // git finds the blob in the checkpoint's pack and does not write it again.
    common::git(root, &["add", "a.txt"]);
    let blob = git_text(root, &["rev-parse", ":a.txt"]);
    let loose = root.join(format!(".git/objects/{}/{}", &blob[..2], blob[2..].trim()));
    assert!(!loose.exists(), "git wrote the blob again");
    common::git(root, &["commit", "-q", "-m", "reuses the blob"]);
    for i in 0..10 {
        write(root, "b.txt", format!("{i}\n").as_bytes());
        store
            .create(
                &store.capture(&["b.txt"]).unwrap(),
                &CheckpointMeta::now("more"),
            )
            .unwrap();
    }
    let before = packs(root);
    // Every checkpoint goes, and the packs are folded (deleted once the fold is durable).
    assert_eq!(store.prune(None, Some(0)).unwrap().len(), 11);
    assert!(packs(root).len() < before.len());
    assert_eq!(
        git_text(root, &["cat-file", "-p", "HEAD:a.txt"]),
        "only ever in a checkpoint\n"
    );
    let fsck = common::git(root, &["fsck", "--strict", "--no-dangling"]);
    assert!(fsck.is_empty(), "{}", String::from_utf8_lossy(&fsck));
}

#[test]
fn content_staged_ahead_is_left_out_of_the_checkpoint_pack_and_restores_byte_identical() {
    let dir = common::repo();
    let root = dir.path();
    let store = CheckpointStore::open(root).unwrap();
    let before = read(root, "src/lib.rs").unwrap();
    // Staged while the proposal is analyzed: the content the checkpoint will hold, and some that
    // it will not (a proposal whose change was then held for approval).
    let packs_before = packs(root);
    store.stage(&[&before, b"never checkpointed\n"]).unwrap();
    let staged: Vec<String> = packs(root).difference(&packs_before).cloned().collect();
    assert_eq!(staged.len(), 1);
    assert_eq!(pack_objects(root, &staged[0]).len(), 2);

    let packs_before = packs(root);
    let pre = store.capture(&["src/lib.rs", "brand/new.rs"]).unwrap();
    let id = store.create(&pre, &CheckpointMeta::now("staged")).unwrap();
    let new: Vec<String> = packs(root).difference(&packs_before).cloned().collect();
    assert_eq!(new.len(), 1);
    // The manifest, 3 trees (root, files/, files/src) and the commit; not lib.rs's blob.
    let objects = pack_objects(root, &new[0]);
    assert_eq!(objects.len(), 5, "{objects:?}");
    let blob = git_text(root, &["hash-object", "src/lib.rs"]);
    assert!(!objects.contains(&blob.trim().to_owned()));

    // A staged blob serves one checkpoint: the next one packs it again.
    let packs_before = packs(root);
    store.create(&pre, &CheckpointMeta::now("again")).unwrap();
    let again: Vec<String> = packs(root).difference(&packs_before).cloned().collect();
    assert!(pack_objects(root, &again[0]).contains(&blob.trim().to_owned()));

    write(root, "src/lib.rs", b"changed\n");
    store
        .record_written(
            &id,
            &[PostImage::written("src/lib.rs", b"changed\n", false)],
        )
        .unwrap();
    let plan = store.plan_restore(&id).unwrap();
    store.restore(&plan, ConflictPolicy::default()).unwrap();
    assert_eq!(read(root, "src/lib.rs").unwrap(), before);
    let fsck = common::git(root, &["fsck", "--strict", "--no-dangling"]);
    assert!(fsck.is_empty(), "{}", String::from_utf8_lossy(&fsck));
}

/// A process that lives for one call (an agent's hook) asks whether pruning is due before it
/// pays for one: in git, every few checkpoint writes (each adds a pack) since the last fold;
/// in a plain folder, once there are more checkpoints than the count kept.
#[test]
fn prune_is_due_every_few_writes_in_git_and_beyond_the_count_in_a_plain_folder() {
    let dir = common::repo();
    let root = dir.path();
    let store = CheckpointStore::open(root).unwrap();
    let checkpoint = |i: usize| {
        write(
            root,
            "src/lib.rs",
            format!("pub fn a() {{ {i} }}\n").as_bytes(),
        );
        store
            .create(
                &store.capture(&["src/lib.rs"]).unwrap(),
                &CheckpointMeta::now(format!("n{i}")),
            )
            .unwrap();
    };
    assert!(!store.prune_due(200));
    let mut due_after = None;
    for i in 0..20 {
        checkpoint(i);
        if store.prune_due(200) {
            due_after = Some(i + 1);
            break;
        }
    }
    let due_after = due_after.expect("never due in 20 writes");
    assert!(
        (4..=16).contains(&due_after),
        "due after {due_after} writes"
    );
    store.prune(None, Some(200)).unwrap();
    assert!(!store.prune_due(200), "a prune (with its fold) resets it");
    checkpoint(100);
    assert!(!store.prune_due(200), "one write is not enough");

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = CheckpointStore::open(root).unwrap();
    for i in 0..3 {
        write(root, "a.txt", format!("{i}\n").as_bytes());
        store
            .create(
                &store.capture(&["a.txt"]).unwrap(),
                &CheckpointMeta::now("x"),
            )
            .unwrap();
    }
    assert!(!store.prune_due(3));
    assert!(store.prune_due(2));
    store.prune(None, Some(2)).unwrap();
    assert!(!store.prune_due(2));
}

/// A checkpoint made ahead (while the change is judged) does not exist until it is published:
/// unpublished, no list, rollback or git command sees it; published, it is a checkpoint like
/// any other, with what is about to be written recorded.
#[test]
fn a_checkpoint_made_ahead_exists_only_once_published() {
    for git in [true, false] {
        let dir = if git {
            common::repo()
        } else {
            tempfile::tempdir().unwrap()
        };
        let root = dir.path();
        write(root, "src/lib.rs", b"pub fn one() {}\n");
        let store = CheckpointStore::open(root).unwrap();
        let pre = || store.capture(&["src/lib.rs"]).unwrap();
        let after = b"pub fn two() {}\n";
        let written = [PostImage::written("src/lib.rs", after, false)];

        let dropped = store
            .prepare_expecting(pre(), CheckpointMeta::now("denied"), &written)
            .unwrap();
        drop(dropped);
        assert!(store.list().unwrap().is_empty(), "git {git}");

        let prepared = store
            .prepare_expecting(pre(), CheckpointMeta::now("allowed"), &written)
            .unwrap();
        assert!(store.list().unwrap().is_empty(), "git {git}");
        let id = store.publish(prepared).unwrap();
        let list = store.list().unwrap();
        assert_eq!(list.len(), 1, "git {git}");
        assert_eq!(list[0].id, id);
        assert_eq!(list[0].label, "allowed");
        write(root, "src/lib.rs", after);
        let plan = store.plan_restore(&id).unwrap();
        let report = store.restore(&plan, ConflictPolicy::Overwrite).unwrap();
        assert!(report.is_complete(), "git {git}: {report:?}");
        assert_eq!(read(root, "src/lib.rs").unwrap(), b"pub fn one() {}\n");
        if git {
            let fsck = common::git(root, &["fsck", "--strict", "--no-dangling"]);
            assert!(fsck.is_empty(), "{}", String::from_utf8_lossy(&fsck));
        }
    }
}
