//! Rollback as plain data: a plan of per-file actions and conflicts, then its execution.
//!
//! The plan carries each file's `before` and `current` bytes so the LSP shell can route files that are
//! open in the editor through `workspace/applyEdit` and hand only the rest to [`CheckpointStore::restore`].

use std::collections::HashMap;

use crate::checkpoint::{CheckpointId, CheckpointStore, PostImage};
use crate::error::Result;
use crate::fsutil::{self, OnDisk, sha256_hex};

/// What restoring one file means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreAction {
    /// The file is already as it was before the batch.
    Unchanged,
    /// Write the old content over the current file.
    Restore,
    /// The batch deleted the file: write it again.
    Recreate,
    /// The batch created the file: remove it.
    Delete,
}

/// Why restoring a file would throw away something autogate did not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The file differs from what autogate wrote: the person (or a tool) changed it since.
    ChangedSinceWritten,
    /// autogate never recorded what it wrote (a crash mid-batch), so a change by the person cannot
    /// be ruled out.
    NotRecorded,
}

/// One file of a [`RestorePlan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRestore {
    /// Workspace-relative path with `/` separators.
    pub path: String,
    /// What restoring it does.
    pub action: RestoreAction,
    /// Set if restoring would overwrite or remove a change autogate did not make.
    pub conflict: Option<Conflict>,
    /// The content before the batch (`None`: it did not exist).
    pub before: Option<Vec<u8>>,
    /// The exec bit before the batch.
    pub before_executable: bool,
    /// Unix permission bits before the batch, if known; restored along with the content.
    pub before_mode: Option<u32>,
    /// The content on disk when the plan was made (`None`: it does not exist).
    pub current: Option<Vec<u8>>,
    /// The exec bit on disk when the plan was made.
    pub current_executable: bool,
    /// If autogate created this file by renaming another, the old path.
    pub renamed_from: Option<String>,
    /// For a file the batch created: parent folders that did not exist before, deepest first.
    /// Restoring removes those that are empty after the file is deleted.
    pub created_dirs: Vec<String>,
}

/// What a rollback to a checkpoint would do, file by file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePlan {
    /// The checkpoint restored.
    pub checkpoint: CheckpointId,
    /// One entry per file in the checkpoint.
    pub files: Vec<FileRestore>,
}

impl RestorePlan {
    /// The files that have a conflict.
    pub fn conflicts(&self) -> impl Iterator<Item = &FileRestore> {
        self.files.iter().filter(|f| f.conflict.is_some())
    }
}

/// What to do with conflicting files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictPolicy {
    /// Keep the person's version and report the conflict (the default).
    #[default]
    KeepMine,
    /// Restore the checkpoint's version anyway (the person agreed).
    Overwrite,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreOutcome {
    /// Nothing to do.
    Unchanged,
    /// The old content was written back.
    Restored,
    /// The deleted file was written again.
    Recreated,
    /// The created file was removed.
    Deleted,
    /// A conflict: the person's version was kept.
    KeptMine(Conflict),
    /// The file changed between planning and restoring; it was left alone.
    Stale,
    /// Restoring failed; the file is as the error left it (writes are atomic, so old or new).
    Failed(String),
}

/// One file of a [`RestoreReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// Workspace-relative path.
    pub path: String,
    /// What happened.
    pub outcome: RestoreOutcome,
    /// The conflict the plan found, if any (also set when it was overwritten).
    pub conflict: Option<Conflict>,
}

/// The result of [`CheckpointStore::restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The checkpoint restored.
    pub checkpoint: CheckpointId,
    /// One entry per file of the plan, in plan order.
    pub files: Vec<FileOutcome>,
}

impl RestoreReport {
    /// Files whose conflicting version was kept.
    pub fn kept(&self) -> impl Iterator<Item = &FileOutcome> {
        self.files.iter().filter(|f| {
            matches!(
                f.outcome,
                RestoreOutcome::KeptMine(_) | RestoreOutcome::Stale
            )
        })
    }

    /// True if every file is now as it was before the batch.
    pub fn is_complete(&self) -> bool {
        self.files.iter().all(|f| {
            matches!(
                f.outcome,
                RestoreOutcome::Unchanged
                    | RestoreOutcome::Restored
                    | RestoreOutcome::Recreated
                    | RestoreOutcome::Deleted
            )
        })
    }
}

fn same(state: Option<&OnDisk>, content: Option<&[u8]>, executable: bool) -> bool {
    match (state, content) {
        (None, None) => true,
        (Some(s), Some(c)) => s.content == c && (s.executable == executable || !cfg!(unix)),
        _ => false,
    }
}

/// Whether the file on disk is what autogate wrote. Content only: editors keep a file's mode when they
/// save an applied edit, so a mismatched exec bit must not turn into a conflict that blocks rollback.
fn matches_written(state: Option<&OnDisk>, written: &PostImage) -> bool {
    match (state, &written.sha256) {
        (None, None) => true,
        (Some(s), Some(h)) => sha256_hex(&s.content) == *h,
        _ => false,
    }
}

impl CheckpointStore {
    /// Compares a checkpoint with the files on disk and says what a rollback would do.
    pub fn plan_restore(&self, id: &CheckpointId) -> Result<RestorePlan> {
        let loaded = self.load(id, true)?;
        let written: Option<HashMap<&str, &PostImage>> = loaded
            .manifest
            .written
            .as_ref()
            .map(|w| w.iter().map(|p| (p.path.as_str(), p)).collect());
        let mut files = Vec::with_capacity(loaded.manifest.files.len());
        for f in &loaded.manifest.files {
            let before = loaded.contents.get(&f.path).cloned();
            let current = fsutil::read_state(&self.root, &f.path)?;
            let unchanged = same(current.as_ref(), before.as_deref(), f.executable);
            let action = match (&before, &current) {
                _ if unchanged => RestoreAction::Unchanged,
                (Some(_), Some(_)) => RestoreAction::Restore,
                (Some(_), None) => RestoreAction::Recreate,
                (None, Some(_)) => RestoreAction::Delete,
                (None, None) => RestoreAction::Unchanged,
            };
            let post = written.as_ref().map(|w| w.get(f.path.as_str()).copied());
            let conflict = match (action, post) {
                (RestoreAction::Unchanged, _) => None,
                (_, None) => Some(Conflict::NotRecorded),
                // Recorded, but autogate did not write this file: any change is someone else's.
                (_, Some(None)) => Some(Conflict::ChangedSinceWritten),
                (_, Some(Some(p))) if matches_written(current.as_ref(), p) => None,
                (_, Some(Some(_))) => Some(Conflict::ChangedSinceWritten),
            };
            files.push(FileRestore {
                path: f.path.clone(),
                action,
                conflict,
                before,
                before_executable: f.executable,
                before_mode: f.mode,
                current_executable: current.as_ref().is_some_and(|c| c.executable),
                current: current.map(|c| c.content),
                renamed_from: post.flatten().and_then(|p| p.renamed_from.clone()),
                created_dirs: f.missing_dirs.clone(),
            });
        }
        Ok(RestorePlan {
            checkpoint: id.clone(),
            files,
        })
    }

    /// Carries out a plan. Conflicts follow `policy`; a file that changed since the plan was made is
    /// left alone and reported as [`RestoreOutcome::Stale`]. Deletions run before writes. Every write
    /// is atomic (temp file and rename in the same folder). Errors on one file are reported and the
    /// others still restored.
    pub fn restore(&self, plan: &RestorePlan, policy: ConflictPolicy) -> Result<RestoreReport> {
        let mut outcomes: Vec<Option<FileOutcome>> = vec![None; plan.files.len()];
        let mut order: Vec<usize> = (0..plan.files.len()).collect();
        order.sort_by_key(|&i| plan.files[i].action != RestoreAction::Delete);
        for i in order {
            let f = &plan.files[i];
            let outcome = self.restore_one(f, policy);
            outcomes[i] = Some(FileOutcome {
                path: f.path.clone(),
                outcome,
                conflict: f.conflict,
            });
        }
        let files: Vec<FileOutcome> = outcomes.into_iter().flatten().collect();
        for f in &files {
            tracing::debug!(checkpoint = %plan.checkpoint, path = %f.path, outcome = ?f.outcome, "restore");
        }
        Ok(RestoreReport {
            checkpoint: plan.checkpoint.clone(),
            files,
        })
    }

    fn restore_one(&self, f: &FileRestore, policy: ConflictPolicy) -> RestoreOutcome {
        if f.action == RestoreAction::Unchanged {
            return RestoreOutcome::Unchanged;
        }
        if let Some(c) = f.conflict
            && policy == ConflictPolicy::KeepMine
        {
            return RestoreOutcome::KeptMine(c);
        }
        let result = (|| -> Result<RestoreOutcome> {
            // Confined from here on: every call below resolves the path from an open handle
            // on the root and refuses a symlink in any component, so a folder swapped for a
            // symlink after the check cannot lead the write out of the root or into `.git/`.
            fsutil::resolve(&self.root, &f.path)?;
            let handle = fsutil::open_root(&self.root)?;
            let now = fsutil::read_in(&handle, &f.path)?;
            if !same(now.as_ref(), f.current.as_deref(), f.current_executable) {
                return Ok(RestoreOutcome::Stale);
            }
            match (f.action, &f.before) {
                (RestoreAction::Delete, _) => {
                    handle.remove(&f.path).map_err(fsutil::confined)?;
                    for dir in &f.created_dirs {
                        // Only empty folders go; anything the person put there keeps its folder.
                        if fsutil::resolve(&self.root, dir).is_ok() {
                            let _ = handle.remove_empty_dir(dir);
                        }
                    }
                    Ok(RestoreOutcome::Deleted)
                }
                (RestoreAction::Restore | RestoreAction::Recreate, Some(before)) => {
                    let mode = fsutil::mode_for(
                        now.as_ref().map(|n| n.mode),
                        f.before_mode,
                        f.before_executable,
                    );
                    handle
                        .write(&f.path, before, Some(mode))
                        .map_err(fsutil::confined)?;
                    Ok(if f.action == RestoreAction::Recreate {
                        RestoreOutcome::Recreated
                    } else {
                        RestoreOutcome::Restored
                    })
                }
                _ => Ok(RestoreOutcome::Failed(
                    "plan has no content to restore".into(),
                )),
            }
        })();
        result.unwrap_or_else(|e| RestoreOutcome::Failed(e.to_string()))
    }
}
