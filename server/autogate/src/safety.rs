//! The safety net around every write: a checkpoint before, the written state after, and the
//! audit trail. Shared by the language server and the CLI; knows nothing of LSP.
//!
//! Architecture invariant: no batch is written unless its checkpoint was created first
//! (fail closed). The checkpoint lives in git objects under `refs/autogate/checkpoints/`, or in
//! `.autogate/checkpoints/` without git, so a crash mid-batch can be undone from the CLI.

use std::path::Path;

use anyhow::{Context, Result};
use autogate_vcs::{
    Approver, AuditEvent, AuditLog, AuditRecord, CheckpointId, CheckpointMeta, CheckpointStore,
    PostImage, PreImage,
};

use crate::gate::ChangeRecord;

/// One file of a batch: its path and its content before and after (`None`: absent).
#[derive(Clone, Debug)]
pub struct FileState<'a> {
    pub path: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// Checkpoints and the audit trail of one workspace.
pub struct SafetyNet {
    pub store: CheckpointStore,
    pub audit: AuditLog,
}

impl SafetyNet {
    pub fn open(root: &Path) -> Result<Self> {
        let store = CheckpointStore::open(root).context("cannot open the checkpoint store")?;
        let audit = AuditLog::open(root)
            .context("cannot open the audit trail")?
            .with_redactor(autogate_llm::redact_secrets);
        Ok(Self { store, audit })
    }

    /// Stores the pre-image of every file the batch touches. Called before anything is written.
    pub fn checkpoint(&self, files: &[FileState<'_>], label: &str) -> Result<CheckpointId> {
        let pre: Vec<PreImage> = files
            .iter()
            .map(|f| PreImage {
                path: f.path.to_owned(),
                content: f.before.map(|t| t.as_bytes().to_vec()),
                executable: is_executable(&self.store.root().join(f.path)),
            })
            .collect();
        self.store
            .create(&pre, &CheckpointMeta::now(label))
            .context("cannot create a checkpoint")
    }

    /// Records what autogate wrote, so that rollback can tell the person's later edits apart.
    pub fn record_written(&self, id: &CheckpointId, files: &[FileState<'_>]) {
        let post: Vec<PostImage> = files
            .iter()
            .map(|f| match f.after {
                Some(text) => PostImage::written(
                    f.path,
                    text.as_bytes(),
                    is_executable(&self.store.root().join(f.path)),
                ),
                None => PostImage::deleted(f.path),
            })
            .collect();
        if let Err(e) = self.store.record_written(id, &post) {
            tracing::warn!(checkpoint = %id, "could not record the written state: {e:#}");
        }
    }

    /// Appends one audit record for a change.
    pub fn audit(
        &self,
        change: &ChangeRecord,
        event: AuditEvent,
        branch: Option<&str>,
        verification: Option<&serde_json::Value>,
    ) {
        let mut record = AuditRecord::new(event);
        record.verification = verification.cloned();
        record.source = change.source.clone();
        record.intent = change.intent.clone();
        record.change = Some(change.id.clone());
        record.files = change.unit.files.iter().map(|f| f.path.clone()).collect();
        record.symbols = change
            .report
            .symbols
            .iter()
            .map(|s| s.name.clone())
            .collect();
        record.level = Some(change.report.level.as_str().to_owned());
        record.decision = Some(change.verdict.decision.as_str().to_owned());
        record.rule = Some(change.verdict.rule.clone());
        record.approver = match change.approver {
            Some("person") => Some(Approver::Person),
            Some(_) => Some(Approver::Policy),
            None => None,
        };
        record.content_hash = Some(change.hash.clone());
        record.checkpoint = change.checkpoint.clone();
        record.commit = change.commit.clone();
        record.reasons = change.summary().reasons;
        record.branch = branch.map(str::to_owned);
        if let Err(e) = self.audit.append(record) {
            tracing::error!(change = %change.id, "could not append to the audit trail: {e:#}");
        }
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}
