//! The generated repository shared by the checkpoint bench and the `profile_checkpoint`
//! example: 20,000 small Rust files, 100 per folder, and git run with a fixed identity.

use std::path::Path;
use std::process::Command;

pub const FILES: usize = 20_000;
pub const PER_DIR: usize = 100;
pub const BATCH: usize = 10;

/// Runs git in `dir` without the user's configuration; `Err` carries its stderr.
pub fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("git")
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
        .map_err(|e| format!("git {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The path of file `i`.
pub fn rel(i: usize) -> String {
    format!("d{:03}/f{:05}.rs", i / PER_DIR, i)
}

/// Writes the files and commits them in a new repository at `root`, packed.
pub fn generate(root: &Path) -> Result<(), String> {
    for i in 0..FILES {
        let path = root.join(rel(i));
        if i % PER_DIR == 0
            && let Some(dir) = path.parent()
        {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(
            path,
            format!("pub fn f{i}() -> usize {{\n    {i} * 2 + 1\n}}\n").repeat(8),
        )
        .map_err(|e| e.to_string())?;
    }
    git(root, &["init", "-q", "-b", "main"])?;
    git(root, &["add", "-A"])?;
    git(root, &["commit", "-q", "-m", "generated"])?;
    git(root, &["gc", "-q"])
}
