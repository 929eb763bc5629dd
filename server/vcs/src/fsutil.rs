//! Workspace file access: path validation, reads, atomic writes and the exec bit.
//!
//! Workspace files are read and written through [`crate::confined`] (an open handle on the
//! root, no symlink followed below it); the by-name helpers here serve autogate's own store.

use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::confined::{ConfinedError, Root};
use crate::error::{IoContext, Result, VcsError};

/// Hex SHA-256 of some bytes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The current state of a workspace file: `None` if it does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OnDisk {
    pub content: Vec<u8>,
    pub executable: bool,
    /// Unix permission bits.
    pub mode: u32,
}

fn invalid(path: &str, reason: &'static str) -> VcsError {
    VcsError::InvalidPath {
        path: path.to_owned(),
        reason,
    }
}

/// Checks a workspace-relative, `/`-separated path and joins it to the root.
///
/// Refuses absolute paths, `..`, empty or `.` components, backslashes, NUL, anything in `.git/` and
/// autogate's own `.autogate/` folder (checkpoints and audit trail).
pub(crate) fn resolve(root: &Path, rel: &str) -> Result<PathBuf> {
    if rel.is_empty() {
        return Err(invalid(rel, "empty path"));
    }
    if rel.contains('\\') || rel.contains('\0') {
        return Err(invalid(rel, "backslash or NUL in path"));
    }
    if rel.starts_with('/') {
        return Err(invalid(rel, "absolute path"));
    }
    if rel == ".autogate" || rel.starts_with(".autogate/") {
        return Err(invalid(rel, "inside autogate's own store"));
    }
    let mut out = root.to_path_buf();
    for part in rel.split('/') {
        match part {
            "" | "." => return Err(invalid(rel, "empty or '.' component")),
            ".." => return Err(invalid(rel, "'..' component")),
            _ if part.eq_ignore_ascii_case(".git") => {
                return Err(invalid(rel, "inside .git"));
            }
            _ => {}
        }
        let comp = Path::new(part);
        if !matches!(comp.components().next(), Some(Component::Normal(_)))
            || comp.components().count() != 1
        {
            return Err(invalid(rel, "not a plain path component"));
        }
        out.push(part);
    }
    Ok(out)
}

/// Refuses a path whose existing parent folders include a symlink (which could lead out of the root).
pub(crate) fn check_no_symlinked_parent(root: &Path, rel: &str) -> Result<()> {
    let mut cur = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        cur.push(part);
        match fs::symlink_metadata(&cur) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(invalid(rel, "a parent folder is a symlink"));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(invalid(rel, "a parent is not a folder"));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).at(&cur),
        }
    }
    Ok(())
}

/// Opens a confined handle on the workspace root.
pub(crate) fn open_root(root: &Path) -> Result<Root> {
    Root::open(root).at(root)
}

/// A confined access error as the crate's error.
pub(crate) fn confined(e: ConfinedError) -> VcsError {
    let reason = e.reason();
    match e {
        ConfinedError::Io { path, source, .. } => VcsError::Io {
            path: path.into(),
            source,
        },
        ConfinedError::Redirected { path, .. } | ConfinedError::Invalid { path, .. } => {
            VcsError::InvalidPath { path, reason }
        }
    }
}

/// Reads a workspace file through `handle`: a symlink anywhere on the path (the file
/// included) is refused, never followed.
pub(crate) fn read_in(handle: &Root, rel: &str) -> Result<Option<OnDisk>> {
    resolve(handle.path(), rel)?;
    Ok(handle.read(rel).map_err(confined)?.map(|file| OnDisk {
        content: file.content,
        executable: cfg!(unix) && file.mode & 0o111 != 0,
        mode: file.mode,
    }))
}

/// Reads a workspace file without following a symlink anywhere on its path.
pub(crate) fn read_state(root: &Path, rel: &str) -> Result<Option<OnDisk>> {
    resolve(root, rel)?;
    read_in(&open_root(root)?, rel)
}

/// The permission bits to restore: `mode` if known, else those of the file replaced (0o644
/// for a new file), with the exec bit as asked.
pub(crate) fn mode_for(existing: Option<u32>, mode: Option<u32>, executable: bool) -> u32 {
    let base = mode.or(existing).map_or(0o644, |m| m & 0o777);
    if executable {
        base | ((base & 0o444) >> 2)
    } else {
        base & !0o111
    }
}

/// Unix permission bits of a workspace file (`None` elsewhere, if it does not exist, or if a
/// symlink is on its path).
pub(crate) fn mode_of(root: &Path, rel: &str) -> Option<u32> {
    if !cfg!(unix) || resolve(root, rel).is_err() {
        return None;
    }
    open_root(root).ok()?.mode(rel).ok().flatten()
}

#[cfg(unix)]
fn permissions_for(
    existing: Option<&fs::Metadata>,
    mode: Option<u32>,
    executable: bool,
) -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    let base = mode
        .map(|m| m & 0o777)
        .or_else(|| existing.map(|m| m.permissions().mode() & 0o777))
        .unwrap_or(0o644);
    let mode = if executable {
        base | ((base & 0o444) >> 2)
    } else {
        base & !0o111
    };
    fs::Permissions::from_mode(mode)
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temp file name next to `path`, unique within this process and across processes.
fn temp_sibling(path: &Path) -> PathBuf {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.autogate-tmp-{}-{n}", std::process::id()))
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, fsync, then rename.
///
/// Creates missing parent folders. On unix the permission bits are `mode` if given, else those of the
/// file being replaced (0o644 for a new file), with the exec bit set as asked.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    executable: bool,
    mode: Option<u32>,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).at(dir)?;
    let tmp = temp_sibling(path);
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .at(&tmp)?;
        f.write_all(bytes).at(&tmp)?;
        #[cfg(unix)]
        {
            let existing = fs::metadata(path).ok();
            f.set_permissions(permissions_for(existing.as_ref(), mode, executable))
                .at(&tmp)?;
        }
        #[cfg(not(unix))]
        let _ = (executable, mode);
        f.sync_all().at(&tmp)?;
        drop(f);
        fs::rename(&tmp, path).at(path)?;
        sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes a file and syncs its folder.
pub(crate) fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).at(path),
    }
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// Best-effort fsync of a folder so a rename or removal survives a crash.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
