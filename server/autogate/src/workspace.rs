//! The workspace root: resolving paths safely, reading files, and writing them atomically.
//!
//! Architecture invariant: every path autogate writes goes through [`Workspace::resolve`] first.
//! Symlinks are resolved and `..` removed; anything that lands outside the root or inside
//! `.git/` or `.autogate/` is [`Resolved::Forbidden`] and never written.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

/// A workspace root, canonicalized once.
#[derive(Clone, Debug)]
pub struct Workspace {
    root: PathBuf,
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
        Ok(Self { root })
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
        let display = path.display().to_string();
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

    /// Reads a file as text. `Ok(None)` when it does not exist.
    pub fn read(&self, relative: &str) -> Result<Option<String>> {
        let path = self.absolute(relative);
        match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
                anyhow::anyhow!("{relative} is not UTF-8 text; autogate edits text files only")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {relative}")),
        }
    }

    /// Writes (`Some`) or removes (`None`) a file. Writes are atomic: a temp file in the same
    /// directory, fsynced, then renamed over the target, keeping the target's permissions.
    pub fn write(&self, relative: &str, content: Option<&str>) -> Result<()> {
        let path = self.absolute(relative);
        match content {
            None => match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e).with_context(|| format!("cannot remove {relative}")),
            },
            Some(text) => {
                let dir = path.parent().context("a file path has a parent")?;
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the directory of {relative}"))?;
                let mut tmp = tempfile::NamedTempFile::new_in(dir)
                    .with_context(|| format!("cannot create a temp file beside {relative}"))?;
                tmp.write_all(text.as_bytes())
                    .and_then(|()| tmp.as_file().sync_all())
                    .with_context(|| format!("cannot write {relative}"))?;
                if let Ok(meta) = std::fs::metadata(&path) {
                    let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
                }
                tmp.persist(&path)
                    .map_err(|e| e.error)
                    .with_context(|| format!("cannot replace {relative}"))?;
                Ok(())
            }
        }
    }
}

/// Removes `.` and `..` lexically, then canonicalizes the longest existing prefix so symlinks in
/// it are followed. `None` when `..` climbs above the filesystem root.
fn resolve_lexically_then_links(path: &Path) -> Option<PathBuf> {
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
    }
}
