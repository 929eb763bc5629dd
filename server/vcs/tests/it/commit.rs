//! Attributed commits on real temp repositories, checked with the real `git` binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;

use autogate_vcs::VcsError;
use autogate_vcs::commit::{
    CommitError, CommitRequest, autogate_trailers, commit_batch, conventional_subject,
    side_branch_name,
};
use common::{git, git_text, read, repo, write};

/// A repo from `common::repo` with a local identity (libgit2 reads the repository's config).
fn repo_with_identity() -> tempfile::TempDir {
    let dir = repo();
    git(dir.path(), &["config", "user.name", "Test Author"]);
    git(
        dir.path(),
        &["config", "user.email", "author@example.invalid"],
    );
    git(dir.path(), &["config", "commit.gpgsign", "false"]);
    dir
}

fn request(files: &[&str]) -> CommitRequest {
    CommitRequest {
        files: files.iter().map(|f| (*f).to_owned()).collect(),
        subject: "docs(autogate): document parse_config".to_owned(),
        body: "- change 3 (low): comment-only change in src/lib.rs".to_owned(),
        trailers: autogate_trailers(&["3".to_owned()], "low", "policy", Some("cp-0001")),
        side_branch: None,
        sign_off: false,
    }
}

const MESSAGE: &str = "docs(autogate): document parse_config\n\n\
    - change 3 (low): comment-only change in src/lib.rs\n\n\
    Autogate-Change: 3\n\
    Autogate-Risk: low\n\
    Autogate-Approved-By: policy\n\
    Autogate-Checkpoint: cp-0001\n";

#[cfg(unix)]
fn hook(root: &Path, name: &str, script: &str) {
    write(root, &format!(".git/hooks/{name}"), script.as_bytes());
    common::set_exec(root, &format!(".git/hooks/{name}"), true);
}

fn autogate_temp_files(root: &Path) -> Vec<String> {
    std::fs::read_dir(root.join(".git"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("autogate-"))
        .collect()
}

#[test]
fn message_has_subject_body_and_trailers_and_the_configured_author() {
    let dir = repo_with_identity();
    let root = dir.path();
    write(root, "src/lib.rs", b"/// Does a.\npub fn a() {}\n");
    let outcome = commit_batch(root, &request(&["src/lib.rs"])).unwrap();
    assert_eq!(outcome.branch, "main");
    assert_eq!(git_text(root, &["rev-parse", "HEAD"]).trim(), outcome.oid);
    assert_eq!(
        git_text(root, &["log", "-1", "--format=%B"]),
        format!("{MESSAGE}\n")
    );
    assert_eq!(
        git_text(root, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]).trim(),
        "Test Author <author@example.invalid>|Test Author <author@example.invalid>"
    );
    // git itself parses the trailers.
    assert_eq!(
        git_text(
            root,
            &[
                "log",
                "-1",
                "--format=%(trailers:key=Autogate-Risk,valueonly)"
            ]
        )
        .trim(),
        "low"
    );
    assert_eq!(git_text(root, &["rev-list", "--count", "HEAD"]).trim(), "2");
}

#[test]
fn sign_off_uses_the_configured_identity() {
    let dir = repo_with_identity();
    let root = dir.path();
    write(root, "src/lib.rs", b"pub fn a() { }\n");
    let mut req = request(&["src/lib.rs"]);
    req.sign_off = true;
    commit_batch(root, &req).unwrap();
    let message = git_text(root, &["log", "-1", "--format=%B"]);
    assert!(
        message.ends_with(
            "Autogate-Checkpoint: cp-0001\nSigned-off-by: Test Author <author@example.invalid>\n\n"
        ),
        "{message}"
    );
}

#[test]
fn only_the_batch_is_committed_and_other_work_survives_byte_identical() {
    let dir = repo_with_identity();
    let root = dir.path();
    // The person's own work: a staged change, an unstaged change, a staged new file, untracked.
    write(root, "old_name.rs", b"fn old() { staged(); }\n");
    git(root, &["add", "old_name.rs"]);
    write(root, "old_name.rs", b"fn old() { staged(); unstaged(); }\n");
    write(root, "gone.txt", b"unstaged edit\n");
    write(root, "mine.rs", b"fn mine() {}\n");
    git(root, &["add", "mine.rs"]);
    let cached_before = git(root, &["diff", "--cached", "--", ".", ":!src/lib.rs"]);
    let unstaged_before = git(root, &["diff", "--", ".", ":!src/lib.rs"]);
    let stage_before = git_text(root, &["ls-files", "-s", "old_name.rs", "mine.rs"]);

    // The batch.
    write(root, "src/lib.rs", b"pub fn a() { let _ = 1; }\n");
    write(root, "src/new.rs", b"pub fn n() {}\n");
    commit_batch(root, &request(&["src/lib.rs", "src/new.rs"])).unwrap();

    assert_eq!(
        git_text(root, &["show", "--name-only", "--format=", "HEAD"]),
        "src/lib.rs\nsrc/new.rs\n"
    );
    assert_eq!(
        git(root, &["diff", "--cached", "--", ".", ":!src/lib.rs"]),
        cached_before
    );
    assert_eq!(
        git(root, &["diff", "--", ".", ":!src/lib.rs"]),
        unstaged_before
    );
    assert_eq!(
        git_text(root, &["ls-files", "-s", "old_name.rs", "mine.rs"]),
        stage_before
    );
    assert_eq!(
        read(root, "old_name.rs").unwrap(),
        b"fn old() { staged(); unstaged(); }\n"
    );
    assert_eq!(read(root, "untracked.txt").unwrap(), b"untracked\n");
    // The batch's files are clean; everything else is reported as before.
    assert_eq!(
        git_text(root, &["status", "--porcelain"]),
        " M gone.txt\nA  mine.rs\nMM old_name.rs\n?? untracked.txt\n"
    );
    assert!(autogate_temp_files(root).is_empty());
}

#[test]
fn deleted_files_are_committed_as_deletions() {
    let dir = repo_with_identity();
    let root = dir.path();
    std::fs::remove_file(root.join("gone.txt")).unwrap();
    std::fs::rename(root.join("old_name.rs"), root.join("new_name.rs")).unwrap();
    commit_batch(root, &request(&["gone.txt", "old_name.rs", "new_name.rs"])).unwrap();
    assert_eq!(
        git_text(root, &["show", "-M", "--name-status", "--format=", "HEAD"]),
        "D\tgone.txt\nR100\told_name.rs\tnew_name.rs\n"
    );
    assert_eq!(
        git_text(root, &["status", "--porcelain"]),
        "?? untracked.txt\n"
    );
}

#[cfg(unix)]
#[test]
fn executable_bit_is_committed() {
    let dir = repo_with_identity();
    let root = dir.path();
    write(root, "tools/run.sh", b"#!/bin/sh\n");
    common::set_exec(root, "tools/run.sh", true);
    commit_batch(root, &request(&["tools/run.sh"])).unwrap();
    assert!(git_text(root, &["ls-tree", "HEAD", "tools/run.sh"]).starts_with("100755 blob"));
}

#[test]
fn side_branch_gets_the_commit_and_head_the_index_and_the_tree_stay() {
    let dir = repo_with_identity();
    let root = dir.path();
    write(root, "old_name.rs", b"fn old() { staged(); }\n");
    git(root, &["add", "old_name.rs"]);
    write(root, "src/lib.rs", b"pub fn a() { side(); }\n");
    let head = git_text(root, &["rev-parse", "HEAD"]);
    let status = git_text(root, &["status", "--porcelain"]);
    let index = read(root, ".git/index").unwrap();

    let branch = "autogate/20260101-document-parse-config";
    let mut req = request(&["src/lib.rs"]);
    req.side_branch = Some(branch.to_owned());
    let outcome = commit_batch(root, &req).unwrap();
    assert_eq!(outcome.branch, branch);

    assert_eq!(git_text(root, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        git_text(root, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    assert_eq!(git_text(root, &["status", "--porcelain"]), status);
    assert_eq!(read(root, ".git/index").unwrap(), index);
    assert_eq!(
        git_text(root, &["rev-parse", branch]).trim(),
        outcome.oid.as_str()
    );
    assert_eq!(git_text(root, &["rev-parse", &format!("{branch}^")]), head);
    assert_eq!(
        git_text(root, &["show", "--name-only", "--format=", branch]),
        "src/lib.rs\n"
    );
    assert_eq!(
        git_text(root, &["show", &format!("{branch}:src/lib.rs")]),
        "pub fn a() { side(); }\n"
    );

    // A second batch on the same side branch goes on top of it.
    write(root, "gone.txt", b"second\n");
    let mut req = request(&["gone.txt"]);
    req.side_branch = Some(branch.to_owned());
    let second = commit_batch(root, &req).unwrap();
    assert_eq!(
        git_text(root, &["rev-parse", &format!("{branch}^")]).trim(),
        outcome.oid
    );
    assert_eq!(git_text(root, &["rev-parse", branch]).trim(), second.oid);
    assert_eq!(git_text(root, &["rev-parse", "HEAD"]), head);
}

#[cfg(unix)]
#[test]
fn a_rejecting_pre_commit_hook_stops_everything_and_loses_nothing() {
    let dir = repo_with_identity();
    let root = dir.path();
    hook(
        root,
        "pre-commit",
        "#!/bin/sh\necho 'checking style'\necho 'lint failed: bad style in src/lib.rs' >&2\nexit 3\n",
    );
    write(root, "old_name.rs", b"fn old() { staged(); }\n");
    git(root, &["add", "old_name.rs"]);
    write(root, "src/lib.rs", b"pub fn a() { rejected(); }\n");
    let before = common::git_state(root);

    let err = commit_batch(root, &request(&["src/lib.rs"])).unwrap_err();
    match &err {
        CommitError::HookRejected {
            hook,
            status,
            output,
        } => {
            assert_eq!(hook, "pre-commit");
            assert_eq!(status, "exit status 3");
            assert!(output.contains("lint failed: bad style"), "{output}");
            assert!(output.contains("checking style"), "{output}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("pre-commit"), "{err}");
    assert_eq!(common::git_state(root), before);
    assert_eq!(
        read(root, "src/lib.rs").unwrap(),
        b"pub fn a() { rejected(); }\n"
    );
    assert!(autogate_temp_files(root).is_empty());
}

#[cfg(unix)]
#[test]
fn hooks_see_only_the_batch_and_a_rewritten_message_is_honoured() {
    let dir = repo_with_identity();
    let root = dir.path();
    // pre-commit sees the index being committed (GIT_INDEX_FILE), as with `git commit -- paths`.
    hook(
        root,
        "pre-commit",
        "#!/bin/sh\ngit diff --cached --name-only HEAD > .git/pre-commit-saw\n",
    );
    hook(
        root,
        "commit-msg",
        "#!/bin/sh\nsed -e 's/^docs(autogate)/docs(config)/' \"$1\" > \"$1.new\"\n\
         echo 'Reviewed-by: hook' >> \"$1.new\"\nmv \"$1.new\" \"$1\"\n",
    );
    write(root, "old_name.rs", b"fn old() { staged(); }\n");
    git(root, &["add", "old_name.rs"]);
    write(root, "src/lib.rs", b"pub fn a() { hooked(); }\n");
    commit_batch(root, &request(&["src/lib.rs"])).unwrap();

    assert_eq!(read(root, ".git/pre-commit-saw").unwrap(), b"src/lib.rs\n");
    let message = git_text(root, &["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("docs(config): document parse_config\n"),
        "{message}"
    );
    assert!(message.contains("Reviewed-by: hook\n"), "{message}");
    assert!(message.contains("Autogate-Change: 3\n"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_rejecting_commit_msg_hook_and_core_hooks_path_are_honoured() {
    let dir = repo_with_identity();
    let root = dir.path();
    write(
        root,
        "hooks/commit-msg",
        b"#!/bin/sh\ngrep -q '^Jira: ' \"$1\" || { echo 'missing Jira trailer'; exit 1; }\n",
    );
    common::set_exec(root, "hooks/commit-msg", true);
    git(root, &["config", "core.hooksPath", "hooks"]);
    write(root, "src/lib.rs", b"pub fn a() { msg(); }\n");
    let head = git_text(root, &["rev-parse", "HEAD"]);
    let err = commit_batch(root, &request(&["src/lib.rs"])).unwrap_err();
    assert!(
        matches!(&err, CommitError::HookRejected { hook, output, .. }
            if hook == "commit-msg" && output.contains("missing Jira trailer")),
        "{err:?}"
    );
    assert_eq!(git_text(root, &["rev-parse", "HEAD"]), head);

    let mut req = request(&["src/lib.rs"]);
    req.trailers.push(("Jira".to_owned(), "AG-1".to_owned()));
    commit_batch(root, &req).unwrap();
    assert_ne!(git_text(root, &["rev-parse", "HEAD"]), head);
}

#[test]
fn unchanged_files_are_nothing_to_commit() {
    let dir = repo_with_identity();
    let root = dir.path();
    let head = git_text(root, &["rev-parse", "HEAD"]);
    let err = commit_batch(root, &request(&["src/lib.rs"])).unwrap_err();
    assert!(matches!(err, CommitError::NothingToCommit), "{err:?}");
    assert_eq!(git_text(root, &["rev-parse", "HEAD"]), head);
}

#[test]
fn paths_outside_the_workspace_or_in_git_are_refused() {
    let dir = repo_with_identity();
    let root = dir.path();
    for bad in [
        "../x",
        ".git/config",
        "/etc/passwd",
        ".autogate/audit.jsonl",
    ] {
        let err = commit_batch(root, &request(&[bad])).unwrap_err();
        assert!(
            matches!(err, CommitError::Vcs(VcsError::InvalidPath { .. })),
            "{bad}: {err:?}"
        );
    }
    let mut req = request(&["src/lib.rs"]);
    req.side_branch = Some("bad..name".to_owned());
    assert!(matches!(
        commit_batch(root, &req),
        Err(CommitError::InvalidBranch(_))
    ));
}

#[test]
fn a_workspace_in_a_subfolder_commits_repository_paths() {
    let dir = repo_with_identity();
    let root = dir.path();
    write(root, "src/lib.rs", b"pub fn a() { sub(); }\n");
    commit_batch(&root.join("src"), &request(&["lib.rs"])).unwrap();
    assert_eq!(
        git_text(root, &["show", "--name-only", "--format=", "HEAD"]),
        "src/lib.rs\n"
    );
    assert_eq!(
        git_text(root, &["status", "--porcelain"]),
        "?? untracked.txt\n"
    );
}

#[test]
fn an_unborn_branch_gets_a_root_commit() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "Test Author"]);
    git(root, &["config", "user.email", "author@example.invalid"]);
    write(root, "a.rs", b"fn a() {}\n");
    write(root, "b.rs", b"fn b() {}\n");
    let outcome = commit_batch(root, &request(&["a.rs"])).unwrap();
    assert_eq!(outcome.branch, "main");
    assert_eq!(
        git_text(root, &["ls-tree", "--name-only", "HEAD"]),
        "a.rs\n"
    );
    assert_eq!(git_text(root, &["status", "--porcelain"]), "?? b.rs\n");
}

#[test]
fn conventional_subjects() {
    let cases = [
        (
            Some("document parse_config"),
            "docs(autogate): document parse_config",
        ),
        (
            Some("Fix the off-by-one in split"),
            "fix(autogate): fix the off-by-one in split",
        ),
        (
            Some("add a --json flag"),
            "feat(autogate): add a --json flag",
        ),
        (
            Some("rename foo to bar"),
            "refactor(autogate): rename foo to bar",
        ),
        (Some("tidy"), "refactor(autogate): tidy"),
        (
            Some("format src/lib.rs"),
            "style(autogate): format src/lib.rs",
        ),
        (
            Some("tests for the parser"),
            "test(autogate): tests for the parser",
        ),
        (
            Some("bump the version"),
            "chore(autogate): bump the version",
        ),
        (
            Some("README: explain setup"),
            "docs(autogate): README: explain setup",
        ),
        (Some("fix(parser): keep CRLF"), "fix(parser): keep CRLF"),
        (Some("   \n"), "chore(autogate): apply 2 changes"),
        (None, "chore(autogate): apply 2 changes"),
    ];
    for (intent, expected) in cases {
        assert_eq!(
            conventional_subject(intent, "apply 2 changes"),
            expected,
            "{intent:?}"
        );
    }
    let long = conventional_subject(
        Some(
            "document every public function of the configuration loader and its error types in detail",
        ),
        "x",
    );
    assert!(long.chars().count() <= 72, "{long}");
    assert!(
        long.starts_with("docs(autogate): document every public"),
        "{long}"
    );
    assert!(long.ends_with('…'), "{long}");
    assert_eq!(
        conventional_subject(Some("document\nsecond line"), "x"),
        "docs(autogate): document"
    );
}

#[test]
fn side_branch_names() {
    let date = time::macros::date!(2026 - 01 - 02);
    assert_eq!(
        side_branch_name(date, "Document parse_config!"),
        "autogate/20260102-document-parse-config"
    );
    assert_eq!(side_branch_name(date, "—"), "autogate/20260102-changes");
    let long = side_branch_name(date, &"word ".repeat(30));
    assert!(long.len() <= "autogate/20260102-".len() + 41, "{long}");
    assert!(!long.ends_with('-'));
}

#[test]
fn a_side_branch_that_is_checked_out_is_the_current_branch() {
    let dir = repo_with_identity();
    let root = dir.path();
    write(root, "src/lib.rs", b"pub fn a() { main(); }\n");
    let mut req = request(&["src/lib.rs"]);
    req.side_branch = Some("main".to_owned());
    let outcome = commit_batch(root, &req).unwrap();
    assert_eq!(outcome.branch, "main");
    assert_eq!(git_text(root, &["rev-parse", "HEAD"]).trim(), outcome.oid);
    assert_eq!(
        git_text(root, &["status", "--porcelain"]),
        "?? untracked.txt\n"
    );
}

#[test]
fn a_locked_index_stops_the_commit_before_anything_changes() {
    let dir = repo_with_identity();
    let root = dir.path();
    write(root, "src/lib.rs", b"pub fn a() { locked(); }\n");
    write(root, ".git/index.lock", b"");
    let before = common::git_state(root);
    assert!(commit_batch(root, &request(&["src/lib.rs"])).is_err());
    assert_eq!(common::git_state(root), before);
    std::fs::remove_file(root.join(".git/index.lock")).unwrap();
}

#[cfg(unix)]
#[test]
fn when_head_moves_during_the_hooks_the_commit_fails_and_the_index_is_put_back() {
    let dir = repo_with_identity();
    let root = dir.path();
    // Someone else commits while the hooks run.
    hook(
        root,
        "commit-msg",
        "#!/bin/sh
unset GIT_INDEX_FILE
\
         c=$(git commit-tree -p HEAD -m sneaky 'HEAD^{tree}')\ngit update-ref HEAD \"$c\"\n",
    );
    write(root, "old_name.rs", b"fn old() { staged(); }\n");
    git(root, &["add", "old_name.rs"]);
    write(root, "src/lib.rs", b"pub fn a() { raced(); }\n");
    let stage = git_text(root, &["ls-files", "-s"]);
    let err = commit_batch(root, &request(&["src/lib.rs"])).unwrap_err();
    assert!(matches!(err, CommitError::Vcs(VcsError::Git(_))), "{err:?}");
    assert_eq!(
        git_text(root, &["log", "-1", "--format=%s"]).trim(),
        "sneaky"
    );
    assert_eq!(git_text(root, &["ls-files", "-s"]), stage);
    assert_eq!(
        git_text(root, &["status", "--porcelain"]),
        "M  old_name.rs\n M src/lib.rs\n?? untracked.txt\n"
    );
}

#[test]
fn several_changes_and_multi_line_values_make_well_formed_trailers() {
    let dir = repo_with_identity();
    let root = dir.path();
    write(root, "src/lib.rs", b"pub fn a() { two(); }\n");
    let mut req = request(&["src/lib.rs"]);
    req.trailers = autogate_trailers(&["1".to_owned(), "2".to_owned()], "high", "person", None);
    req.trailers.push((
        "Autogate-Intent".to_owned(),
        "document\n  everything".to_owned(),
    ));
    commit_batch(root, &req).unwrap();
    assert_eq!(
        git_text(
            root,
            &[
                "log",
                "-1",
                "--format=%(trailers:key=Autogate-Change,valueonly,separator=%x2C)"
            ]
        )
        .trim(),
        "1,2"
    );
    let message = git_text(root, &["log", "-1", "--format=%B"]);
    assert!(
        message.ends_with(
            "Autogate-Change: 1\nAutogate-Change: 2\nAutogate-Risk: high\n\
             Autogate-Approved-By: person\nAutogate-Intent: document everything\n\n"
        ),
        "{message}"
    );
}

#[test]
fn the_repository_filters_apply_like_git_add() {
    let dir = repo_with_identity();
    let root = dir.path();
    git(root, &["config", "core.autocrlf", "input"]);
    write(root, "win.txt", b"one\r\ntwo\r\n");
    commit_batch(root, &request(&["win.txt"])).unwrap();
    assert_eq!(git(root, &["show", "HEAD:win.txt"]), b"one\ntwo\n");
    assert_eq!(read(root, "win.txt").unwrap(), b"one\r\ntwo\r\n");
    assert_eq!(
        git_text(
            root,
            &["-c", "core.autocrlf=input", "status", "--porcelain"]
        ),
        "?? untracked.txt\n"
    );
}
