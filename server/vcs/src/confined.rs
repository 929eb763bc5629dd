//! File access confined to a workspace root at the moment it happens: every read, write,
//! create and delete is resolved relative to an open handle on the root, one component at a
//! time, never following a symlink.
//!
//! Checking a path and then using it by name leaves a window: a folder on the path can be
//! swapped for a symlink in between, and the write follows it (into `.git/`, or out of the
//! root). Here each folder is opened with `openat(O_NOFOLLOW | O_DIRECTORY)` from the handle of
//! its parent, and the file itself is opened, created, renamed or unlinked relative to the
//! handle of its folder, so whatever a path leads to is decided by the same system calls that
//! use it. A symlink anywhere below the root is refused ([`ConfinedError::Redirected`]);
//! symlinks above the root do not matter, as the root is opened once.
//!
//! A path with a `.git` component is refused before any call: a [`Root`] on a workspace never
//! reaches into its repository. The one place autogate writes inside the git folder on
//! purpose (putting back the hooks and settings an agent's shell command changed) opens a
//! [`Root`] on the git folder itself, so the same rules hold there: paths relative to it, no
//! symlink below it followed.
//!
//! Outside unix the same checks are made by name (`symlink_metadata` on each component), which
//! narrows the window but cannot close it.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a confined operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfinedError {
    /// The path no longer leads where it did: a component is a symlink, or a folder on it is not
    /// a folder. Nothing was read or written.
    #[error(
        "`{path}` changed since the decision: `{component}` is {what}, so the path no longer leads where the change was decided"
    )]
    Redirected {
        /// The workspace-relative path.
        path: String,
        /// The component (a prefix of `path`) that changed.
        component: String,
        /// What it is now.
        what: &'static str,
    },
    /// The path is not a plain workspace-relative path (empty, `.`, `..`, `.git`, NUL).
    #[error("refused path `{path}`: {why}")]
    Invalid {
        /// The path as given.
        path: String,
        /// Why it was refused.
        why: &'static str,
    },
    /// A file system call failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// The workspace-relative path.
        path: String,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl ConfinedError {
    /// A short reason, for error types that take a static string.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Redirected { what, .. } if what.contains("symlink") => {
                "a component of the path is a symlink"
            }
            Self::Redirected { .. } => "a folder on the path is not a folder",
            Self::Invalid { why, .. } => why,
            Self::Io { .. } => "a file system call failed",
        }
    }
}

/// A file read through a [`Root`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRead {
    /// Its bytes.
    pub content: Vec<u8>,
    /// Unix permission bits (`0o644` elsewhere).
    pub mode: u32,
}

/// What an entry is, seen without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Folder,
    /// A symbolic link (never followed).
    Symlink,
    /// Anything else (a FIFO, a socket, a device).
    Other,
}

/// The entries of a folder, as [`Root::listing`] reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The names that are UTF-8, sorted.
    pub names: Vec<String>,
    /// How many entries have a name that is not UTF-8 (left out of `names`: a confined path
    /// cannot name them, but whoever compares folders needs to know they are there).
    pub unnamed: usize,
}

/// How deep [`Root::remove_all`] goes before it gives up.
#[cfg(unix)]
const MAX_DEPTH: usize = 64;

/// An open handle on a workspace root; every path is relative to it.
pub struct Root {
    path: PathBuf,
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
}

impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Root").field("path", &self.path).finish()
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Checks a workspace-relative `/`-separated path and splits it into folders and a file name.
fn split(rel: &str) -> Result<(Vec<&str>, &str), ConfinedError> {
    let invalid = |why| ConfinedError::Invalid {
        path: rel.to_owned(),
        why,
    };
    if rel.contains('\0') || rel.contains('\\') {
        return Err(invalid("backslash or NUL in path"));
    }
    let mut parts: Vec<&str> = rel.split('/').collect();
    for part in &parts {
        match *part {
            "" | "." | ".." => return Err(invalid("empty, '.' or '..' component")),
            p if p.eq_ignore_ascii_case(".git") => return Err(invalid("inside .git")),
            _ => {}
        }
    }
    let name = parts.pop().ok_or_else(|| invalid("empty path"))?;
    Ok((parts, name))
}

/// The prefix of `rel` up to and including its `i`-th component.
fn prefix(rel: &str, i: usize) -> String {
    rel.split('/').take(i + 1).collect::<Vec<_>>().join("/")
}

fn io(path: &str, action: &'static str) -> impl FnOnce(std::io::Error) -> ConfinedError + use<> {
    let path = path.to_owned();
    move |source| ConfinedError::Io {
        path,
        action,
        source,
    }
}

fn temp_name(name: &str) -> String {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.autogate-tmp-{}-{n}", std::process::id())
}

#[cfg(unix)]
mod sys {
    //! The unix implementation over `openat` and friends.
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::{ConfinedError, prefix};

    pub(super) const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    /// The permission bits of a `st_mode` (`u32` on Linux, `u16` on macOS).
    #[allow(clippy::useless_conversion)]
    pub(super) fn mode_bits(mode: rustix::fs::RawMode) -> u32 {
        u32::from(mode) & 0o7777
    }

    pub(super) fn err(e: Errno) -> std::io::Error {
        std::io::Error::from_raw_os_error(e.raw_os_error())
    }

    /// What the entry `name` in `dir` is, without following it.
    pub(super) fn kind(dir: BorrowedFd<'_>, name: &str) -> Option<FileType> {
        rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .ok()
            .map(|s| FileType::from_raw_mode(s.st_mode))
    }

    pub(super) fn redirected(rel: &str, i: usize, kind: Option<FileType>) -> ConfinedError {
        ConfinedError::Redirected {
            path: rel.to_owned(),
            component: prefix(rel, i),
            what: match kind {
                Some(FileType::Symlink) => "now a symlink",
                Some(FileType::Directory) => "now a folder",
                Some(FileType::RegularFile) => "now a file, not a folder",
                _ => "no longer a folder or a regular file",
            },
        }
    }

    /// Opens the folders of `rel` from `root`, none of them a symlink. `Ok(None)` when one does
    /// not exist and `create` is false; with `create`, missing folders are made.
    pub(super) fn walk(
        root: &OwnedFd,
        rel: &str,
        folders: &[&str],
        create: bool,
    ) -> Result<Option<Option<OwnedFd>>, ConfinedError> {
        let mut current: Option<OwnedFd> = None;
        for (i, folder) in folders.iter().enumerate() {
            let parent = current.as_ref().map_or(root.as_fd(), AsFd::as_fd);
            let mut opened = rustix::fs::openat(parent, *folder, DIR_FLAGS, Mode::empty());
            if matches!(opened, Err(Errno::NOENT)) {
                if !create {
                    return Ok(None);
                }
                match rustix::fs::mkdirat(parent, *folder, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => {
                        return Err(ConfinedError::Io {
                            path: prefix(rel, i),
                            action: "create the folder",
                            source: err(e),
                        });
                    }
                }
                opened = rustix::fs::openat(parent, *folder, DIR_FLAGS, Mode::empty());
            }
            match opened {
                Ok(fd) => current = Some(fd),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    return Err(redirected(rel, i, kind(parent, folder)));
                }
                Err(e) => {
                    return Err(ConfinedError::Io {
                        path: prefix(rel, i),
                        action: "open the folder",
                        source: err(e),
                    });
                }
            }
        }
        Ok(Some(current))
    }

    /// Removes the entry `name` of `dir`: a file or a symlink is unlinked (never followed), a
    /// folder emptied the same way, each subfolder opened with `O_NOFOLLOW` from its parent.
    pub(super) fn remove_all(
        dir: BorrowedFd<'_>,
        name: &str,
        rel: &str,
        depth: usize,
    ) -> Result<bool, ConfinedError> {
        let io = |action, e: Errno| ConfinedError::Io {
            path: rel.to_owned(),
            action,
            source: err(e),
        };
        match kind(dir, name) {
            None => return Ok(false),
            Some(FileType::Directory) => {}
            Some(_) => {
                return match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => Ok(true),
                    Err(e) => Err(io("remove", e)),
                };
            }
        }
        if depth >= super::MAX_DEPTH {
            return Err(ConfinedError::Invalid {
                path: rel.to_owned(),
                why: "folders nested too deep to remove",
            });
        }
        let folder = match rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            // Swapped for a symlink or a file in the meantime: remove that instead.
            Err(Errno::LOOP | Errno::NOTDIR) => return remove_all(dir, name, rel, depth + 1),
            Err(e) => return Err(io("open the folder", e)),
        };
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&folder).map_err(|e| io("list", e))? {
            let entry = entry.map_err(|e| io("list", e))?;
            let child = entry.file_name().to_bytes();
            if child != b"." && child != b".." {
                names.push(entry.file_name().to_owned());
            }
        }
        for child in names {
            let child_rel = format!("{rel}/{}", child.to_string_lossy());
            remove_all_c(folder.as_fd(), &child, &child_rel, depth + 1)?;
        }
        match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => Ok(true),
            Err(e) => Err(io("remove the folder", e)),
        }
    }

    /// [`remove_all`] for a name that may not be UTF-8 (an entry found in a folder).
    fn remove_all_c(
        dir: BorrowedFd<'_>,
        name: &std::ffi::CStr,
        rel: &str,
        depth: usize,
    ) -> Result<bool, ConfinedError> {
        match name.to_str() {
            Ok(name) => remove_all(dir, name, rel, depth),
            Err(_) => {
                // Not UTF-8: a file or a symlink is unlinked by its raw name; a folder by that
                // name is refused (it is not one autogate made or knows).
                match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => Ok(true),
                    Err(e) => Err(ConfinedError::Io {
                        path: rel.to_owned(),
                        action: "remove",
                        source: err(e),
                    }),
                }
            }
        }
    }
}

#[cfg(unix)]
impl Root {
    /// Opens a handle on `path` (a folder). Symlinks in `path` itself are followed once, here.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let fd = rustix::fs::open(
            path,
            sys::DIR_FLAGS.difference(rustix::fs::OFlags::NOFOLLOW),
            rustix::fs::Mode::empty(),
        )
        .map_err(sys::err)?;
        Ok(Self {
            path: path.to_owned(),
            fd,
        })
    }

    /// The folder this handle was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the handle of the folder holding `rel` and its file name.
    fn with_parent<T>(
        &self,
        rel: &str,
        create: bool,
        f: impl FnOnce(std::os::fd::BorrowedFd<'_>, &str) -> Result<T, ConfinedError>,
    ) -> Result<Option<T>, ConfinedError> {
        use std::os::fd::AsFd;
        let (folders, name) = split(rel)?;
        match sys::walk(&self.fd, rel, &folders, create)? {
            None => Ok(None),
            Some(dir) => {
                let dir = dir.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
                f(dir, name).map(Some)
            }
        }
    }

    /// Reads a regular file. `Ok(None)` when it (or a folder on its path) does not exist; a
    /// symlink anywhere on the path, the file included, is refused.
    pub fn read(&self, rel: &str) -> Result<Option<FileRead>, ConfinedError> {
        use rustix::fs::{FileType, Mode, OFlags};
        let depth = rel.split('/').count() - 1;
        let read = self.with_parent(rel, false, |dir, name| {
            // O_NONBLOCK: opening a FIFO planted here must not hang the server.
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
            let fd = match rustix::fs::openat(dir, name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) => return Ok(None),
                Err(rustix::io::Errno::LOOP) => {
                    return Err(sys::redirected(rel, depth, sys::kind(dir, name)));
                }
                Err(e) => return Err(io(rel, "open")(sys::err(e))),
            };
            let stat = rustix::fs::fstat(&fd).map_err(|e| io(rel, "inspect")(sys::err(e)))?;
            if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
                return Err(ConfinedError::Invalid {
                    path: rel.to_owned(),
                    why: "not a regular file",
                });
            }
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut content)
                .map_err(io(rel, "read"))?;
            Ok(Some(FileRead {
                content,
                mode: sys::mode_bits(stat.st_mode),
            }))
        })?;
        Ok(read.flatten())
    }

    /// Refuses `rel` if a component of it (the file included) is a symlink, or a folder on it is
    /// not a folder. A path that does not exist (yet) is fine.
    pub fn check(&self, rel: &str) -> Result<(), ConfinedError> {
        let depth = rel.split('/').count() - 1;
        self.with_parent(rel, false, |dir, name| match sys::kind(dir, name) {
            Some(rustix::fs::FileType::Symlink) => {
                Err(sys::redirected(rel, depth, sys::kind(dir, name)))
            }
            _ => Ok(()),
        })?;
        Ok(())
    }

    /// The permission bits of the regular file `rel`; `Ok(None)` when it does not exist or is
    /// not a regular file. A symlink on the path is refused.
    pub fn mode(&self, rel: &str) -> Result<Option<u32>, ConfinedError> {
        use rustix::fs::{AtFlags, FileType};
        let depth = rel.split('/').count() - 1;
        let mode = self.with_parent(rel, false, |dir, name| {
            match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                    FileType::RegularFile => Ok(Some(sys::mode_bits(stat.st_mode))),
                    FileType::Symlink => Err(sys::redirected(rel, depth, Some(FileType::Symlink))),
                    _ => Ok(None),
                },
                Err(rustix::io::Errno::NOENT) => Ok(None),
                Err(e) => Err(io(rel, "inspect")(sys::err(e))),
            }
        })?;
        Ok(mode.flatten())
    }

    /// Writes `bytes` to `rel` atomically: a temp file in the same folder, fsynced, renamed over
    /// the target, the folder fsynced. Missing folders are created. `mode` sets the permission
    /// bits; `None` keeps those of the file replaced (a new file gets `0o666` less the umask).
    /// A symlink at the target is refused, never followed or replaced.
    pub fn write(&self, rel: &str, bytes: &[u8], mode: Option<u32>) -> Result<(), ConfinedError> {
        use rustix::fs::{AtFlags, FileType, Mode, OFlags};
        let depth = rel.split('/').count() - 1;
        self.with_parent(rel, true, |dir, name| {
            let existing = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).ok();
            let keep = match existing.map(|s| (FileType::from_raw_mode(s.st_mode), s.st_mode)) {
                Some((FileType::RegularFile, m)) => Some(sys::mode_bits(m)),
                Some((kind, _)) => return Err(sys::redirected(rel, depth, Some(kind))),
                None => None,
            };
            let tmp = temp_name(name);
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(dir, tmp.as_str(), flags, Mode::from_raw_mode(0o666))
                .map_err(|e| io(rel, "create a temp file beside")(sys::err(e)))?;
            let result = (|| {
                if let Some(m) = mode.or(keep) {
                    rustix::fs::fchmod(&fd, Mode::from_raw_mode(m as _))
                        .map_err(|e| io(rel, "set the permissions of")(sys::err(e)))?;
                }
                let mut file = std::fs::File::from(fd);
                file.write_all(bytes)
                    .and_then(|()| file.sync_all())
                    .map_err(io(rel, "write"))?;
                drop(file);
                rustix::fs::renameat(dir, tmp.as_str(), dir, name)
                    .map_err(|e| io(rel, "replace")(sys::err(e)))
            })();
            if result.is_err() {
                let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
            }
            result?;
            let _ = rustix::fs::fsync(dir);
            Ok(())
        })?;
        Ok(())
    }

    /// Removes the file `rel` (a symlink there is removed itself, never followed). `Ok(false)`
    /// when it did not exist.
    pub fn remove(&self, rel: &str) -> Result<bool, ConfinedError> {
        use rustix::fs::AtFlags;
        let removed = self.with_parent(rel, false, |dir, name| {
            match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                Ok(()) => {
                    let _ = rustix::fs::fsync(dir);
                    Ok(true)
                }
                Err(rustix::io::Errno::NOENT) => Ok(false),
                Err(e) => Err(io(rel, "remove")(sys::err(e))),
            }
        })?;
        Ok(removed.unwrap_or(false))
    }

    /// Removes the folder `rel` if it is empty; anything else is left alone.
    pub fn remove_empty_dir(&self, rel: &str) -> Result<(), ConfinedError> {
        use rustix::fs::AtFlags;
        self.with_parent(rel, false, |dir, name| {
            let _ = rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR);
            Ok(())
        })?;
        Ok(())
    }

    /// What `rel` is, not following it if it is a symlink; `Ok(None)` when it does not exist.
    /// A symlink on a folder of the path is refused.
    pub fn kind(&self, rel: &str) -> Result<Option<Kind>, ConfinedError> {
        use rustix::fs::{AtFlags, FileType};
        let kind = self.with_parent(rel, false, |dir, name| {
            match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => Ok(Some(match FileType::from_raw_mode(stat.st_mode) {
                    FileType::RegularFile => Kind::File,
                    FileType::Directory => Kind::Folder,
                    FileType::Symlink => Kind::Symlink,
                    _ => Kind::Other,
                })),
                Err(rustix::io::Errno::NOENT) => Ok(None),
                Err(e) => Err(io(rel, "inspect")(sys::err(e))),
            }
        })?;
        Ok(kind.flatten())
    }

    /// The target written in the symlink `rel` (never followed); `Ok(None)` when `rel` does not
    /// exist. Refused when it is not a symlink, or a folder on its path is one.
    pub fn read_link(&self, rel: &str) -> Result<Option<PathBuf>, ConfinedError> {
        use std::os::unix::ffi::OsStringExt;
        let target = self.with_parent(rel, false, |dir, name| {
            match rustix::fs::readlinkat(dir, name, Vec::new()) {
                Ok(target) => Ok(Some(PathBuf::from(std::ffi::OsString::from_vec(
                    target.into_bytes(),
                )))),
                Err(rustix::io::Errno::NOENT) => Ok(None),
                Err(rustix::io::Errno::INVAL) => Err(ConfinedError::Invalid {
                    path: rel.to_owned(),
                    why: "not a symlink",
                }),
                Err(e) => Err(io(rel, "read the link")(sys::err(e))),
            }
        })?;
        Ok(target.flatten())
    }

    /// The names of the entries of the folder `rel` (`""`: the root itself), sorted; names
    /// that are not UTF-8 are left out. `Ok(None)` when it does not exist; refused when it, or
    /// a folder on its path, is a symlink or not a folder.
    pub fn list(&self, rel: &str) -> Result<Option<Vec<String>>, ConfinedError> {
        Ok(self.listing(rel)?.map(|listing| listing.names))
    }

    /// The entries of the folder `rel`, as [`Root::list`] gives them, with the count of those
    /// left out because their name is not UTF-8.
    pub fn listing(&self, rel: &str) -> Result<Option<Listing>, ConfinedError> {
        use std::os::fd::AsFd;
        let folder = if rel.is_empty() {
            None
        } else {
            let (mut folders, name) = split(rel)?;
            folders.push(name);
            match sys::walk(&self.fd, rel, &folders, false)? {
                None => return Ok(None),
                Some(fd) => fd,
            }
        };
        let fd = folder.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
        let failed = |e| io(rel, "list")(sys::err(e));
        let mut listing = Listing::default();
        for entry in rustix::fs::Dir::read_from(fd).map_err(failed)? {
            let entry = entry.map_err(failed)?;
            match entry.file_name().to_str() {
                Ok("." | "..") => {}
                Ok(name) => listing.names.push(name.to_owned()),
                Err(_) => listing.unnamed += 1,
            }
        }
        listing.names.sort();
        Ok(Some(listing))
    }

    /// The device and inode of the folder this handle was opened on (`fstat` on the handle,
    /// so it is the folder every call through it reaches, whatever its path leads to now).
    pub fn identity(&self) -> std::io::Result<(u64, u64)> {
        let stat = rustix::fs::fstat(&self.fd).map_err(sys::err)?;
        #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
        Ok((stat.st_dev as u64, u64::from(stat.st_ino)))
    }

    /// Makes `rel` a symlink to `target` (missing folders are created). Refused when something
    /// is already there: it is never replaced or followed.
    pub fn symlink(&self, rel: &str, target: &Path) -> Result<(), ConfinedError> {
        self.with_parent(rel, true, |dir, name| {
            rustix::fs::symlinkat(target, dir, name)
                .map_err(|e| io(rel, "create the symlink")(sys::err(e)))?;
            let _ = rustix::fs::fsync(dir);
            Ok(())
        })?;
        Ok(())
    }

    /// Makes the folder `rel` and the missing folders on its path (`0o777` less the umask);
    /// one that exists is fine. A symlink on the path, `rel` included, is refused.
    pub fn create_dir(&self, rel: &str) -> Result<(), ConfinedError> {
        let (mut folders, name) = split(rel)?;
        folders.push(name);
        sys::walk(&self.fd, rel, &folders, true)?;
        Ok(())
    }

    /// Removes `rel` whatever it is: a file or a symlink (the link itself, never what it leads
    /// to), or a folder with everything in it, each subfolder opened without following a
    /// symlink. `Ok(false)` when it did not exist.
    pub fn remove_all(&self, rel: &str) -> Result<bool, ConfinedError> {
        let removed = self.with_parent(rel, false, |dir, name| {
            let removed = sys::remove_all(dir, name, rel, 0)?;
            let _ = rustix::fs::fsync(dir);
            Ok(removed)
        })?;
        Ok(removed.unwrap_or(false))
    }
}

#[cfg(not(unix))]
impl Root {
    /// Opens a handle on `path` (a folder).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if !std::fs::metadata(path)?.is_dir() {
            return Err(std::io::Error::other("the workspace root is not a folder"));
        }
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// The folder this handle was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks every component by name; the absolute path of `rel`, or `None` if a folder on it
    /// does not exist.
    fn checked(&self, rel: &str, create: bool) -> Result<Option<PathBuf>, ConfinedError> {
        let (folders, name) = split(rel)?;
        let mut cur = self.path.clone();
        for (i, folder) in folders.iter().enumerate() {
            cur.push(folder);
            match std::fs::symlink_metadata(&cur) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(ConfinedError::Redirected {
                        path: rel.to_owned(),
                        component: prefix(rel, i),
                        what: "now a symlink",
                    });
                }
                Ok(m) if !m.is_dir() => {
                    return Err(ConfinedError::Redirected {
                        path: rel.to_owned(),
                        component: prefix(rel, i),
                        what: "now a file, not a folder",
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                    std::fs::create_dir(&cur).map_err(io(rel, "create the folder"))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io(rel, "inspect")(e)),
            }
        }
        cur.push(name);
        if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(ConfinedError::Redirected {
                path: rel.to_owned(),
                component: rel.to_owned(),
                what: "now a symlink",
            });
        }
        Ok(Some(cur))
    }

    /// Reads a regular file (`Ok(None)` when absent).
    pub fn read(&self, rel: &str) -> Result<Option<FileRead>, ConfinedError> {
        let Some(path) = self.checked(rel, false)? else {
            return Ok(None);
        };
        match std::fs::read(&path) {
            Ok(content) => Ok(Some(FileRead {
                content,
                mode: 0o644,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(rel, "read")(e)),
        }
    }

    /// Refuses `rel` if a component of it is a symlink.
    pub fn check(&self, rel: &str) -> Result<(), ConfinedError> {
        self.checked(rel, false).map(|_| ())
    }

    /// Permission bits are not tracked outside unix: `0o644` for an existing regular file.
    pub fn mode(&self, rel: &str) -> Result<Option<u32>, ConfinedError> {
        Ok(self
            .checked(rel, false)?
            .filter(|p| p.is_file())
            .map(|_| 0o644))
    }

    /// Writes `bytes` to `rel` atomically (temp file and rename).
    pub fn write(&self, rel: &str, bytes: &[u8], _mode: Option<u32>) -> Result<(), ConfinedError> {
        let Some(path) = self.checked(rel, true)? else {
            return Err(io(rel, "write")(std::io::ErrorKind::NotFound.into()));
        };
        let dir = path.parent().unwrap_or(&self.path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(temp_name(&name));
        let result = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io(rel, "write"))
    }

    /// Removes the file `rel`; `Ok(false)` when it did not exist.
    pub fn remove(&self, rel: &str) -> Result<bool, ConfinedError> {
        let Some(path) = self.checked(rel, false)? else {
            return Ok(false);
        };
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(rel, "remove")(e)),
        }
    }

    /// Removes the folder `rel` if it is empty.
    pub fn remove_empty_dir(&self, rel: &str) -> Result<(), ConfinedError> {
        if let Some(path) = self.checked(rel, false)? {
            let _ = std::fs::remove_dir(path);
        }
        Ok(())
    }

    /// The absolute path of `rel` with its folders checked, but not `rel` itself (which may be
    /// a symlink); `None` if a folder on it does not exist.
    fn checked_parent(&self, rel: &str) -> Result<Option<PathBuf>, ConfinedError> {
        let (folders, name) = split(rel)?;
        if folders.is_empty() {
            return Ok(Some(self.path.join(name)));
        }
        let parent = folders.join("/");
        Ok(self
            .checked(&parent, false)?
            .filter(|p| p.is_dir())
            .map(|p| p.join(name)))
    }

    /// What `rel` is, not following it if it is a symlink (`Ok(None)`: absent).
    pub fn kind(&self, rel: &str) -> Result<Option<Kind>, ConfinedError> {
        let Some(path) = self.checked_parent(rel)? else {
            return Ok(None);
        };
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => Ok(Some(Kind::Symlink)),
            Ok(m) if m.is_dir() => Ok(Some(Kind::Folder)),
            Ok(m) if m.is_file() => Ok(Some(Kind::File)),
            Ok(_) => Ok(Some(Kind::Other)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(rel, "inspect")(e)),
        }
    }

    /// The target written in the symlink `rel` (`Ok(None)`: absent).
    pub fn read_link(&self, rel: &str) -> Result<Option<PathBuf>, ConfinedError> {
        match self.kind(rel)? {
            None => Ok(None),
            Some(Kind::Symlink) => {
                let Some(path) = self.checked_parent(rel)? else {
                    return Ok(None);
                };
                std::fs::read_link(path)
                    .map(Some)
                    .map_err(io(rel, "read the link"))
            }
            Some(_) => Err(ConfinedError::Invalid {
                path: rel.to_owned(),
                why: "not a symlink",
            }),
        }
    }

    /// The names of the entries of the folder `rel` (`""`: the root), sorted; names that are
    /// not UTF-8 are left out.
    pub fn list(&self, rel: &str) -> Result<Option<Vec<String>>, ConfinedError> {
        Ok(self.listing(rel)?.map(|listing| listing.names))
    }

    /// The device and inode of a folder are not known outside unix.
    pub fn identity(&self) -> std::io::Result<(u64, u64)> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    /// The entries of the folder `rel`, with the count of those whose name is not UTF-8.
    pub fn listing(&self, rel: &str) -> Result<Option<Listing>, ConfinedError> {
        let path = if rel.is_empty() {
            self.path.clone()
        } else {
            match self.checked(rel, false)? {
                Some(path) if path.is_dir() => path,
                Some(path) if path.exists() => {
                    return Err(ConfinedError::Invalid {
                        path: rel.to_owned(),
                        why: "not a folder",
                    });
                }
                _ => return Ok(None),
            }
        };
        let mut listing = Listing::default();
        for entry in std::fs::read_dir(&path).map_err(io(rel, "list"))? {
            let entry = entry.map_err(io(rel, "list"))?;
            match entry.file_name().into_string() {
                Ok(name) => listing.names.push(name),
                Err(_) => listing.unnamed += 1,
            }
        }
        listing.names.sort();
        Ok(Some(listing))
    }

    /// Symlinks are not made outside unix.
    pub fn symlink(&self, rel: &str, _target: &Path) -> Result<(), ConfinedError> {
        Err(io(rel, "create the symlink")(
            std::io::ErrorKind::Unsupported.into(),
        ))
    }

    /// Makes the folder `rel` and the missing folders on its path.
    pub fn create_dir(&self, rel: &str) -> Result<(), ConfinedError> {
        let Some(path) = self.checked(rel, true)? else {
            return Err(io(rel, "create the folder")(
                std::io::ErrorKind::NotFound.into(),
            ));
        };
        match std::fs::create_dir(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
            Err(e) => Err(io(rel, "create the folder")(e)),
        }
    }

    /// Removes `rel` whatever it is (a symlink itself, never what it leads to; a folder with
    /// everything in it). `Ok(false)` when it did not exist.
    pub fn remove_all(&self, rel: &str) -> Result<bool, ConfinedError> {
        let path = match self.kind(rel)? {
            None => return Ok(false),
            Some(_) => self.checked_parent(rel)?,
        };
        let Some(path) = path else { return Ok(false) };
        let result = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path),
            Ok(m) if m.file_type().is_symlink() && path.is_dir() => std::fs::remove_dir(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(rel, "remove")(e)),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn root() -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        let root = Root::open(dir.path()).unwrap();
        (dir, root)
    }

    #[test]
    fn reads_writes_and_removes_inside_the_root() {
        let (dir, root) = root();
        root.write("src/a/b.txt", b"hello\r\n", None).unwrap();
        assert_eq!(
            root.read("src/a/b.txt").unwrap().unwrap().content,
            b"hello\r\n"
        );
        assert!(root.remove("src/a/b.txt").unwrap());
        assert!(!root.remove("src/a/b.txt").unwrap());
        assert_eq!(root.read("src/a/b.txt").unwrap(), None);
        assert_eq!(root.read("nowhere/x").unwrap(), None);
        assert_eq!(
            std::fs::read_dir(dir.path().join("src/a")).unwrap().count(),
            0
        );
    }

    #[test]
    fn a_folder_swapped_for_a_symlink_is_never_followed() {
        let (dir, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("f"), "theirs").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("tools")).unwrap();
        for result in [
            root.read("tools/f").map(|_| ()),
            root.write("tools/f", b"ours", None),
            root.write("tools/new", b"ours", None),
            root.remove("tools/f").map(|_| ()),
            root.check("tools/f"),
            root.mode("tools/f").map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, ConfinedError::Redirected { component, what: "now a symlink", .. } if component == "tools"),
                "{err}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(outside.path().join("f")).unwrap(),
            "theirs"
        );
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_file_that_is_a_symlink_is_neither_read_nor_written_through() {
        let (dir, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("f"), "theirs").unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), dir.path().join("src/f")).unwrap();
        assert!(root.read("src/f").is_err());
        assert!(root.check("src/f").is_err());
        assert!(root.write("src/f", b"ours", None).is_err());
        assert_eq!(
            std::fs::read_to_string(outside.path().join("f")).unwrap(),
            "theirs"
        );
    }

    #[test]
    fn git_and_dot_dot_are_refused_before_any_call() {
        let (_dir, root) = root();
        for rel in [".git/config", "src/../x", "", "a//b", ".GIT/hooks/x"] {
            assert!(
                matches!(
                    root.write(rel, b"x", None),
                    Err(ConfinedError::Invalid { .. })
                ),
                "{rel}"
            );
        }
    }

    #[test]
    fn links_are_read_made_and_removed_never_followed() {
        let (dir, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("f"), "theirs").unwrap();
        std::fs::create_dir(outside.path().join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("tools")).unwrap();
        assert_eq!(root.kind("tools").unwrap(), Some(Kind::Symlink));
        assert_eq!(root.kind("src").unwrap(), Some(Kind::Folder));
        assert_eq!(root.kind("nothing").unwrap(), None);
        assert_eq!(root.read_link("tools").unwrap().unwrap(), outside.path());
        assert!(root.read_link("src").is_err());
        // Nothing below the link is listed, made or inspected.
        for result in [
            root.list("tools").map(|_| ()),
            root.create_dir("tools/new"),
            root.create_dir("tools"),
            root.kind("tools/f").map(|_| ()),
            root.symlink("tools/l", Path::new("x")),
        ] {
            assert!(
                matches!(result, Err(ConfinedError::Redirected { .. })),
                "{result:?}"
            );
        }
        // A link in a folder removed whole is unlinked, its target left alone.
        std::fs::create_dir(dir.path().join("src/deep")).unwrap();
        std::fs::write(dir.path().join("src/deep/a"), "a").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("src/deep/out")).unwrap();
        assert!(root.remove_all("src").unwrap());
        assert!(root.remove_all("tools").unwrap());
        assert!(!root.remove_all("tools").unwrap());
        assert_eq!(root.list("").unwrap().unwrap(), Vec::<String>::new());
        assert_eq!(
            std::fs::read_to_string(outside.path().join("f")).unwrap(),
            "theirs"
        );
        assert!(outside.path().join("sub").is_dir());
        // A link is made where nothing is, never over something.
        root.create_dir("a/b").unwrap();
        root.symlink("a/b/l", Path::new("../x")).unwrap();
        assert_eq!(root.read_link("a/b/l").unwrap().unwrap(), Path::new("../x"));
        assert!(root.symlink("a/b/l", Path::new("y")).is_err());
        assert_eq!(root.list("a/b").unwrap().unwrap(), vec!["l".to_owned()]);
        assert_eq!(root.list("none").unwrap(), None);
    }

    #[test]
    fn a_listing_counts_the_names_it_cannot_give_and_the_handle_knows_its_folder() {
        use std::os::unix::ffi::OsStrExt;
        let (dir, root) = root();
        std::fs::write(dir.path().join("src/a"), "a").unwrap();
        std::fs::write(
            dir.path()
                .join("src")
                .join(std::ffi::OsStr::from_bytes(b"b\xff")),
            "b",
        )
        .unwrap();
        let listing = root.listing("src").unwrap().unwrap();
        assert_eq!(listing.names, ["a"]);
        assert_eq!(listing.unnamed, 1);
        assert_eq!(root.list("src").unwrap().unwrap(), ["a"]);
        // The handle stays on the folder it opened, whatever is at its path since.
        let before = root.identity().unwrap();
        let meta = std::fs::metadata(dir.path()).unwrap();
        assert_eq!(
            before,
            (
                std::os::unix::fs::MetadataExt::dev(&meta),
                std::os::unix::fs::MetadataExt::ino(&meta)
            )
        );
        let moved = tempfile::tempdir().unwrap();
        std::fs::rename(dir.path(), moved.path().join("old")).unwrap();
        std::fs::create_dir(dir.path()).unwrap();
        assert_eq!(root.identity().unwrap(), before);
        assert_ne!(Root::open(dir.path()).unwrap().identity().unwrap(), before);
    }

    #[test]
    fn permissions_are_kept_or_set() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, root) = root();
        let path = dir.path().join("src/run.sh");
        std::fs::write(&path, "a").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o750)).unwrap();
        root.write("src/run.sh", b"b", None).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o750
        );
        root.write("src/run.sh", b"c", Some(0o600)).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
