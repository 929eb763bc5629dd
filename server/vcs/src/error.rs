//! The one error type of the crate, with only the variants callers act on.

use std::path::PathBuf;

/// What can go wrong in checkpoints, restores and the audit trail.
#[derive(Debug, thiserror::Error)]
pub enum VcsError {
    /// No checkpoint with this id exists (it was pruned, or never made).
    #[error("checkpoint not found: {0}")]
    CheckpointNotFound(String),
    /// A path is absolute, escapes the workspace root, goes through a symlink or points into `.git/`.
    #[error("refused path {path:?}: {reason}")]
    InvalidPath {
        /// The workspace-relative path as given.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Stored data (a checkpoint manifest, a blob) does not match what was recorded.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    /// A git operation failed.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// A file system operation failed.
    #[error("io error on {path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = VcsError> = std::result::Result<T, E>;

/// Attaches a path to an IO error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| VcsError::Io {
            path: path.into(),
            source,
        })
    }
}
