//! The safety net around every write: a checkpoint before, the written state after, and the
//! audit trail. Shared by the language server and the CLI; knows nothing of LSP.
//!
//! Architecture invariant: no batch is written unless its checkpoint was created first
//! (fail closed). The checkpoint lives in git objects under `refs/autogate/checkpoints/`, or in
//! `.autogate/checkpoints/` without git, so a crash mid-batch can be undone from the CLI.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

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
    audit: AuditWriter,
}

impl SafetyNet {
    pub fn open(root: &Path) -> Result<Self> {
        let store = CheckpointStore::open(root).context("cannot open the checkpoint store")?;
        let audit = AuditLog::open(root)
            .context("cannot open the audit trail")?
            .with_redactor(autogate_llm::redact_secrets);
        let audit = AuditWriter::spawn(audit, root.to_owned())?;
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

    /// Queues one audit record per change, in order; the writer adds the branch.
    pub fn audit<'c>(
        &self,
        changes: impl IntoIterator<Item = &'c ChangeRecord>,
        event: AuditEvent,
        verification: Option<&serde_json::Value>,
    ) {
        let records: Vec<AuditRecord> = changes
            .into_iter()
            .map(|change| record(change, event, verification))
            .collect();
        if !records.is_empty() {
            self.audit.send(Message::Append(records));
        }
    }

    /// Resolves once every record queued before the call is written (or failed, logged).
    pub async fn audit_flushed(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.audit.send(Message::Flush(done));
        let _ = wait.await;
    }
}

/// What the audit thread is asked to do.
enum Message {
    Append(Vec<AuditRecord>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The thread that appends audit records in the order they were queued.
struct AuditWriter {
    tx: mpsc::Sender<Message>,
}

impl AuditWriter {
    fn spawn(log: AuditLog, root: PathBuf) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Message>();
        std::thread::Builder::new()
            .name("autogate-audit".to_owned())
            .spawn(move || {
                for message in rx {
                    match message {
                        Message::Append(records) => {
                            let branch = match crate::config::head(&root) {
                                autogate_policy::Head::Branch(b) => Some(b),
                                _ => None,
                            };
                            for mut record in records {
                                record.branch.clone_from(&branch);
                                let change = record.change.clone().unwrap_or_default();
                                if let Err(e) = log.append(record) {
                                    tracing::error!(
                                        change,
                                        "could not append to the audit trail: {e:#}"
                                    );
                                }
                            }
                        }
                        Message::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })
            .context("cannot start the audit writer")?;
        Ok(Self { tx })
    }

    fn send(&self, message: Message) {
        if self.tx.send(message).is_err() {
            tracing::error!("the audit writer stopped; a record was not written");
        }
    }
}

/// The audit record of `change` at `event`, without the branch.
fn record(
    change: &ChangeRecord,
    event: AuditEvent,
    verification: Option<&serde_json::Value>,
) -> AuditRecord {
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
    record
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
