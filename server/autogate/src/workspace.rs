//! The workspace root: resolving paths safely, reading files, and writing them atomically.
//!
//! Architecture invariant: every path autogate writes goes through [`Workspace::resolve`] first.
//! Symlinks are resolved and `..` removed; anything that lands outside the root or inside
//! `.git/` or `.autogate/` is [`Resolved::Forbidden`] and never written. Reads and writes then
//! happen through an open handle on the root, one component at a time, never following a
//! symlink: a folder swapped for a symlink after the decision is refused, never followed.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use autogate_vcs::confined::{ConfinedError, Root};

/// A workspace root, canonicalized and opened once.
#[derive(Clone, Debug)]
pub struct Workspace {
    root: PathBuf,
    handle: Arc<Root>,
}

/// Where a path the client named really is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Inside the workspace: its workspace-relative path (with `/`) and absolute path.
    Inside { relative: String, absolute: PathBuf },
    /// Outside the root or inside `.git/`: never written. `display` is for messages.
    Forbidden { display: String, why: &'static str },
}

impl Workspace {
    pub fn new(root: &Path) -> Result<Self> {
        let root = root
            .canonicalize()
            .with_context(|| format!("workspace root {} is not accessible", root.display()))?;
        let handle = Root::open(&root)
            .with_context(|| format!("cannot open the workspace root {}", root.display()))?;
        Ok(Self {
            root,
            handle: Arc::new(handle),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a path (absolute, or relative to the root), following symlinks in every
    /// component that exists, so that a link pointing out of the workspace is caught.
    pub fn resolve(&self, path: &Path) -> Resolved {
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        };
        // What the person reads: where the path leads once `.` and `..` are taken out (the
        // path as given when it climbs above `/`).
        let display = match lexical(&joined) {
            Some(clean) if clean.starts_with(&self.root) => path.display().to_string(),
            Some(clean) => clean.display().to_string(),
            None => path.display().to_string(),
        };
        let Some(resolved) = resolve_lexically_then_links(&joined) else {
            return Resolved::Forbidden {
                display,
                why: "path is outside the workspace root",
            };
        };
        let Ok(relative) = resolved.strip_prefix(&self.root) else {
            return Resolved::Forbidden {
                display,
                why: "path is outside the workspace root",
            };
        };
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.is_empty() {
            return Resolved::Forbidden {
                display,
                why: "path is the workspace root itself",
            };
        }
        if parts
            .iter()
            .any(|p| autogate_analysis::paths::is_git_dir_name(p))
        {
            return Resolved::Forbidden {
                display,
                why: "path is inside .git/",
            };
        }
        Resolved::Inside {
            relative: parts.join("/"),
            absolute: resolved,
        }
    }

    pub fn absolute(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Reads a file as text. `Ok(None)` when it does not exist. Confined: a symlink on the path
    /// (the file included) is refused, so what feeds a decision is what the path held.
    pub fn read(&self, relative: &str) -> Result<Option<String>> {
        match self.handle.read(relative)? {
            Some(file) => String::from_utf8(file.content).map(Some).map_err(|_| {
                anyhow::anyhow!("{relative} is not UTF-8 text; autogate edits text files only")
            }),
            None => Ok(None),
        }
    }

    /// Refuses a path that no longer leads where it did when it was resolved: a symlink in any
    /// component below the root, or a folder on it that is no longer a folder.
    pub fn check(&self, relative: &str) -> Result<(), ConfinedError> {
        self.handle.check(relative)
    }

    /// Writes (`Some`) or removes (`None`) a file, confined to the root (see
    /// [`autogate_vcs::confined`]). Writes are atomic: a temp file in the same folder, fsynced,
    /// then renamed over the target, keeping the target's permissions.
    /// autogate's own `.autogate/` (checkpoints, audit trail) is refused like `.git/`.
    pub fn write(&self, relative: &str, content: Option<&str>) -> Result<(), ConfinedError> {
        if relative.split('/').next() == Some(".autogate") {
            return Err(ConfinedError::Invalid {
                path: relative.to_owned(),
                why: "inside autogate's own store",
            });
        }
        match content {
            None => self.handle.remove(relative).map(|_| ()),
            Some(text) => self.handle.write(relative, text.as_bytes(), None),
        }
    }
}

/// Removes `.` and `..` lexically, then canonicalizes the longest existing prefix so symlinks in
/// it are followed. `None` when `..` climbs above the filesystem root.
/// `path` with `.` and `..` taken out, without looking at the disk (`None` above `/`).
fn lexical(path: &Path) -> Option<PathBuf> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !clean.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => clean.push(other.as_os_str()),
        }
    }
    Some(clean)
}

fn resolve_lexically_then_links(path: &Path) -> Option<PathBuf> {
    let clean = lexical(path)?;
    // Find the longest prefix that exists and canonicalize it (following links).
    let mut existing = clean.clone();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if existing.symlink_metadata().is_ok() {
            let mut real = existing.canonicalize().ok()?;
            for part in rest.iter().rev() {
                real.push(part);
            }
            return Some(real);
        }
        let name = existing.file_name()?.to_os_string();
        rest.push(name);
        if !existing.pop() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
        let ws = Workspace::new(dir.path()).expect("workspace");
        (dir, ws)
    }

    #[test]
    fn resolves_inside_and_refuses_escapes() {
        let (_dir, ws) = workspace();
        assert!(matches!(ws.resolve(Path::new("src/new.rs")),
            Resolved::Inside { relative, .. } if relative == "src/new.rs"));
        assert!(matches!(ws.resolve(Path::new("src/../src/./a/b.rs")),
            Resolved::Inside { relative, .. } if relative == "src/a/b.rs"));
        assert!(matches!(
            ws.resolve(Path::new("../outside.txt")),
            Resolved::Forbidden { .. }
        ));
        assert!(matches!(
            ws.resolve(Path::new("/etc/passwd")),
            Resolved::Forbidden { .. }
        ));
        assert!(matches!(
            ws.resolve(Path::new(".git/config")),
            Resolved::Forbidden {
                why: "path is inside .git/",
                ..
            }
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_workspace_is_forbidden() {
        let (dir, ws) = workspace();
        let outside = tempfile::tempdir().expect("outside dir");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).expect("symlink");
        assert!(matches!(
            ws.resolve(Path::new("link/evil.sh")),
            Resolved::Forbidden {
                why: "path is outside the workspace root",
                ..
            }
        ));
    }

    #[test]
    fn writes_are_atomic_and_removals_idempotent() {
        let (_dir, ws) = workspace();
        ws.write("src/a/b.txt", Some("hello\r\n")).expect("write");
        assert_eq!(
            ws.read("src/a/b.txt").expect("read").as_deref(),
            Some("hello\r\n")
        );
        ws.write("src/a/b.txt", None).expect("remove");
        ws.write("src/a/b.txt", None).expect("remove again");
        assert_eq!(ws.read("src/a/b.txt").expect("read"), None);
        for forbidden in [".git/config", ".autogate/audit.jsonl", "a/../b"] {
            assert!(ws.write(forbidden, Some("x")).is_err(), "{forbidden}");
        }
    }
}
