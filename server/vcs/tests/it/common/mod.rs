//! Hermetic helpers for the integration tests: temp git repos with a fixed author and date.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

/// Runs `git` in `dir` with a fixed identity and no user or system config; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .args([
            "--no-optional-locks",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.autocrlf=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn git_text(dir: &Path, args: &[&str]) -> String {
    String::from_utf8(git(dir, args)).unwrap()
}

/// Writes a file, creating its folders.
pub fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

pub fn read(root: &Path, rel: &str) -> Option<Vec<u8>> {
    std::fs::read(root.join(rel)).ok()
}

#[cfg(unix)]
pub fn set_exec(root: &Path, rel: &str, exec: bool) {
    use std::os::unix::fs::PermissionsExt;
    let p = root.join(rel);
    let mode = if exec { 0o755 } else { 0o644 };
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
pub fn is_exec(root: &Path, rel: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(root.join(rel))
        .unwrap()
        .permissions()
        .mode()
        & 0o111
        != 0
}

/// A temp git repo on branch `main` with one commit holding a few files, an untracked file and an
/// ignored file.
pub fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write(root, ".gitignore", b"ignored.log\n");
    write(root, "src/lib.rs", b"pub fn a() {}\n");
    write(root, "crlf.txt", b"one\r\ntwo\r\n");
    write(root, "bin.dat", &[0xff, 0xfe, 0x00, 0x80, b'\n', 0xc3]);
    write(root, "run.sh", b"#!/bin/sh\necho hi\n");
    #[cfg(unix)]
    set_exec(root, "run.sh", true);
    write(root, "old_name.rs", b"fn old() {}\n");
    write(root, "gone.txt", b"to be deleted\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "init"]);
    write(root, "untracked.txt", b"untracked\n");
    write(root, "ignored.log", b"ignored\n");
    dir
}

/// What must not change across checkpoint + restore: status, index bytes, HEAD, refs of branches.
#[derive(Debug, PartialEq, Eq)]
pub struct GitState {
    pub status: String,
    pub index: Vec<u8>,
    pub head: String,
    pub branches: String,
    pub untracked: Vec<u8>,
    pub ignored: Vec<u8>,
}

pub fn git_state(root: &Path) -> GitState {
    GitState {
        status: git_text(root, &["status", "--porcelain", "--ignored"]),
        index: std::fs::read(root.join(".git/index")).unwrap(),
        head: git_text(root, &["rev-parse", "HEAD"]),
        branches: git_text(
            root,
            &["for-each-ref", "refs/heads", "refs/tags", "refs/remotes"],
        ),
        untracked: read(root, "untracked.txt").unwrap(),
        ignored: read(root, "ignored.log").unwrap(),
    }
}
