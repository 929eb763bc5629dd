//! Proposals (what an agent wants to change) and the independent units they are split into.

use serde::Serialize;

/// One file's before and after state. Paths are workspace-relative with `/` separators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Path after the change (for a deletion: the deleted path).
    pub path: String,
    /// For a rename: the path before the change.
    pub old_path: Option<String>,
    /// Content before; `None` when the file did not exist.
    pub before: Option<String>,
    /// Content after; `None` when the file is deleted.
    pub after: Option<String>,
}

impl FileChange {
    pub fn is_created(&self) -> bool {
        self.before.is_none() && self.after.is_some()
    }

    pub fn is_deleted(&self) -> bool {
        self.after.is_none()
    }

    pub fn is_renamed(&self) -> bool {
        self.old_path.as_deref().is_some_and(|old| old != self.path)
    }

    /// Every path this change writes or removes.
    pub fn touched_paths(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.path.as_str()).chain(self.old_path.as_deref())
    }
}

/// Everything one agent proposed at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub files: Vec<FileChange>,
}

/// An independent part of a proposal, decided and applied as one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeUnit {
    pub files: Vec<FileChange>,
}

/// Cuts a proposal into independent units.
///
/// Today this is one unit per file; edits that depend on each other across files are grouped
/// by the impact analyzer's reference index once it knows them.
pub fn split(proposal: &Proposal) -> Vec<ChangeUnit> {
    proposal
        .files
        .iter()
        .map(|file| ChangeUnit {
            files: vec![file.clone()],
        })
        .collect()
}
