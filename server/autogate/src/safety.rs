//! The safety net around every write: a checkpoint before, the written state after, and the
//! audit trail. Shared by the language server and the CLI; knows nothing of LSP.
//!
//! Architecture invariant: no batch is written unless its checkpoint was created first
//! (fail closed). The checkpoint lives in git objects under `refs/autogate/checkpoints/`, or in
//! `.autogate/checkpoints/` without git, so a crash mid-batch can be undone from the CLI.
//! The audit record of a batch is part of its commit: the writer waits for it
//! ([`SafetyNet::audit_confirmed`]), and a batch whose record cannot be written is undone.
//! Writes from every autogate process on one workspace are serialized by [`WriteLock`].

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use autogate_vcs::{
    Approver, AuditEvent, AuditLog, AuditRecord, CheckpointId, CheckpointMeta, CheckpointStore,
    PostImage, PreImage, Prepared, Would,
};

use crate::gate::ChangeRecord;

/// One file of a batch: its path and its content before and after (`None`: absent).
#[derive(Clone, Debug)]
pub struct FileState<'a> {
    pub path: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// The files a proposal's checkpoint covers, with what they hold before and after (a renamed
/// file is its new path created and its old path removed).
pub fn file_states(proposal: &autogate_analysis::Proposal) -> Vec<FileState<'_>> {
    let mut states = Vec::new();
    for file in &proposal.files {
        let renamed = file.old_path.as_deref().filter(|o| *o != file.path);
        states.push(FileState {
            path: &file.path,
            before: if renamed.is_some() {
                None
            } else {
                file.before.as_deref()
            },
            after: file.after.as_deref(),
        });
        if let Some(old) = renamed {
            states.push(FileState {
                path: old,
                before: file.before.as_deref(),
                after: None,
            });
        }
    }
    states
}

/// [`file_states`] owned, to be handed to another thread (a checkpoint stored ahead).
pub struct OwnedStates(Vec<(String, Option<String>, Option<String>)>);

impl OwnedStates {
    pub fn of(proposal: &autogate_analysis::Proposal) -> Self {
        Self(
            file_states(proposal)
                .iter()
                .map(|s| {
                    (
                        s.path.to_owned(),
                        s.before.map(str::to_owned),
                        s.after.map(str::to_owned),
                    )
                })
                .collect(),
        )
    }

    /// The states, borrowed as the safety net takes them.
    pub fn states(&self) -> Vec<FileState<'_>> {
        self.0
            .iter()
            .map(|(path, before, after)| FileState {
                path,
                before: before.as_deref(),
                after: after.as_deref(),
            })
            .collect()
    }
}

/// A digest of what a checkpoint of `files` would hold (paths, before and after), to tell
/// whether a checkpoint made ahead is the one a batch needs.
pub fn states_key(files: &[FileState<'_>]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for file in files {
        for part in [Some(file.path), file.before, file.after] {
            match part {
                Some(text) => {
                    hash.update(b"1");
                    hash.update((text.len() as u64).to_le_bytes());
                    hash.update(text.as_bytes());
                }
                None => hash.update(b"0"),
            }
        }
    }
    hex::encode(hash.finalize())
}

/// What `files` hold before, as a checkpoint stores it.
fn pre_images(files: &[FileState<'_>], executable: &impl Fn(&str) -> bool) -> Vec<PreImage> {
    files
        .iter()
        .map(|f| PreImage {
            path: f.path.to_owned(),
            content: f.before.map(|t| t.as_bytes().to_vec()),
            executable: executable(f.path),
        })
        .collect()
}

/// What `files` leave on disk, as a checkpoint records it.
fn post_images(files: &[FileState<'_>], executable: &impl Fn(&str) -> bool) -> Vec<PostImage> {
    files
        .iter()
        .map(|f| match f.after {
            Some(text) => PostImage::written(f.path, text.as_bytes(), executable(f.path)),
            None => PostImage::deleted(f.path),
        })
        .collect()
}

/// Checkpoints and the audit trail of one workspace.
pub struct SafetyNet {
    pub store: CheckpointStore,
    audit: AuditWriter,
    /// The lock file every autogate process on this workspace writes under.
    lock_path: PathBuf,
    /// The audit trail's file.
    audit_path: PathBuf,
}

/// The exclusive right to write to the workspace, held by one autogate process at a time (an
/// OS file lock, released when dropped or when the process dies).
#[derive(Debug)]
pub struct WriteLock {
    _file: std::fs::File,
}

/// How often a process waiting for the write lock tries again.
const LOCK_POLL: Duration = Duration::from_millis(5);

impl WriteLock {
    /// The lock file of the workspace at `root`: `write.lock` beside its audit trail
    /// (`.git/autogate/` in a repository, else `.autogate/`), out of reach of gated writes.
    pub fn path(root: &Path) -> Result<PathBuf> {
        let audit = AuditLog::open(root).context("cannot find the audit trail")?;
        Ok(audit.path().with_file_name("write.lock"))
    }

    /// Opens (creating) the lock file; taking the lock is [`WriteLock::try_take`].
    fn open(path: &Path) -> Result<std::fs::File, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))
    }

    /// `Ok(Err(file))` when another process holds the lock.
    fn try_take(file: std::fs::File, path: &Path) -> Result<Result<Self, std::fs::File>, String> {
        match file.try_lock() {
            Ok(()) => Ok(Ok(Self { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(Err(file)),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(format!("cannot lock {}: {e}", path.display()))
            }
        }
    }

    fn timed_out(limit: Duration) -> String {
        format!(
            "another autogate process on this workspace has been writing for more than {} s",
            limit.as_secs()
        )
    }

    /// Takes the lock of the workspace at `root`, blocking the thread at most `limit` (for the
    /// CLI; the server waits asynchronously, [`SafetyNet::lock_writes`]).
    pub fn wait(root: &Path, limit: Duration) -> Result<Self> {
        let path = Self::path(root)?;
        let mut file = Self::open(&path).map_err(anyhow::Error::msg)?;
        let deadline = std::time::Instant::now() + limit;
        loop {
            match Self::try_take(file, &path).map_err(anyhow::Error::msg)? {
                Ok(lock) => return Ok(lock),
                Err(again) => file = again,
            }
            if std::time::Instant::now() >= deadline {
                anyhow::bail!(Self::timed_out(limit));
            }
            std::thread::sleep(LOCK_POLL);
        }
    }
}

/// A queued audit write; [`AuditReceipt::written`] says whether it reached the trail.
pub struct AuditReceipt {
    wait: Option<tokio::sync::oneshot::Receiver<Result<(), String>>>,
}

impl AuditReceipt {
    /// `Err` with the reason when a record could not be written (or the writer stopped).
    pub async fn written(self) -> Result<(), String> {
        match self.wait {
            None => Ok(()),
            Some(wait) => wait
                .await
                .unwrap_or_else(|_| Err("the audit writer stopped".to_owned())),
        }
    }
}

impl SafetyNet {
    pub fn open(root: &Path) -> Result<Self> {
        let store = CheckpointStore::open(root).context("cannot open the checkpoint store")?;
        let audit = AuditLog::open(root)
            .context("cannot open the audit trail")?
            .with_redactor(autogate_llm::redact_secrets);
        let lock_path = WriteLock::path(root)?;
        let audit_path = audit.path().to_owned();
        let audit = AuditWriter::spawn(audit, root.to_owned())?;
        Ok(Self {
            store,
            audit,
            lock_path,
            audit_path,
        })
    }

    /// Takes the workspace's write lock, waiting at most `limit` for another autogate process
    /// (another editor window on this folder) to finish its write.
    pub async fn lock_writes(&self, limit: Duration) -> Result<WriteLock, String> {
        let mut file = WriteLock::open(&self.lock_path)?;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match WriteLock::try_take(file, &self.lock_path)? {
                Ok(lock) => return Ok(lock),
                Err(again) => file = again,
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(WriteLock::timed_out(limit));
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }

    /// Stores the pre-image of every file the batch touches. Called before anything is written.
    pub fn checkpoint(&self, files: &[FileState<'_>], label: &str) -> Result<CheckpointId> {
        let executable = self.executable();
        let pre = pre_images(files, &executable);
        self.store
            .create(&pre, &CheckpointMeta::now(label))
            .context("cannot create a checkpoint")
    }

    /// A checkpoint of `files` that already records their `after` texts as what is about to be
    /// written (a door's: the agent writes after the answer), in one manifest.
    pub fn checkpoint_expecting(
        &self,
        files: &[FileState<'_>],
        label: &str,
    ) -> Result<CheckpointId> {
        let executable = self.executable();
        let pre = pre_images(files, &executable);
        self.store
            .create_expecting(
                &pre,
                &CheckpointMeta::now(label),
                &post_images(files, &executable),
            )
            .context("cannot create a checkpoint")
    }

    /// Drops checkpoints beyond the policy's `[checkpoints]` count and age (the newest is
    /// kept), under the workspace's write lock, as the store is shared with the other autogate
    /// processes (skipped while another one writes). Returns the fold of the store's packs,
    /// which rewrites packs for a while, for the caller to run on a blocking thread, out of
    /// the lock ([`CheckpointStore::fold_job`]). With `when_due`, only when
    /// [`CheckpointStore::prune_due`] says so: every few checkpoints.
    pub async fn prune_checkpoints(
        &self,
        settings: &autogate_policy::CheckpointSettings,
        when_due: bool,
    ) -> Option<impl FnOnce() + Send + 'static + use<>> {
        if when_due && !self.store.prune_due(settings.keep) {
            return None;
        }
        let _lock = self.lock_writes(Duration::from_millis(200)).await.ok()?;
        let max_age = Duration::from_secs(settings.max_age_days.saturating_mul(86_400));
        match self.store.prune_refs(Some(max_age), Some(settings.keep)) {
            Ok(pruned) if !pruned.is_empty() => {
                tracing::info!(count = pruned.len(), "pruned old checkpoints")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("could not prune checkpoints: {e:#}"),
        }
        self.store.fold_job()
    }

    /// [`SafetyNet::checkpoint_expecting`] made ahead, while the change is judged: stored but
    /// not yet named, see [`autogate_vcs::CheckpointStore::prepare_expecting`]. Blocking (it
    /// fsyncs): run it on a blocking thread.
    pub fn prepare_expecting(&self, files: &[FileState<'_>], label: &str) -> Result<Prepared> {
        let executable = self.executable();
        self.store
            .prepare_expecting(
                pre_images(files, &executable),
                CheckpointMeta::now(label),
                &post_images(files, &executable),
            )
            .context("cannot prepare a checkpoint")
    }

    /// [`SafetyNet::checkpoint`] made ahead, while the batch is judged: stored but not yet
    /// named (what is written is recorded after the write). Blocking: run it on a blocking
    /// thread.
    pub fn prepare(&self, files: &[FileState<'_>], label: &str) -> Result<Prepared> {
        let executable = self.executable();
        self.store
            .prepare(pre_images(files, &executable), CheckpointMeta::now(label))
            .context("cannot prepare a checkpoint")
    }

    /// Names a prepared checkpoint, which makes it exist; under the write lock, once the files
    /// are known to still hold its pre-images.
    pub fn publish(&self, prepared: Prepared) -> Result<CheckpointId> {
        self.store
            .publish(prepared)
            .context("cannot create a checkpoint")
    }

    /// Records what autogate wrote, so that rollback can tell the person's later edits apart.
    pub fn record_written(&self, id: &CheckpointId, files: &[FileState<'_>]) {
        let executable = self.executable();
        let post = post_images(files, &executable);
        if let Err(e) = self.store.record_written(id, &post) {
            tracing::warn!(checkpoint = %id, "could not record the written state: {e:#}");
        }
    }

    /// Whether a workspace file has the exec bit, read through the confined root (a symlink on
    /// its path gives `false`, never the bit of what it points to).
    fn executable(&self) -> impl Fn(&str) -> bool + use<> {
        let root = autogate_vcs::confined::Root::open(self.store.root()).ok();
        move |path| {
            cfg!(unix)
                && root
                    .as_ref()
                    .and_then(|r| r.mode(path).ok().flatten())
                    .is_some_and(|mode| mode & 0o111 != 0)
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
            self.audit.send(Message::Append(records, None));
        }
    }

    /// Queues one audit record per change, like [`SafetyNet::audit`], and returns a receipt
    /// that says whether they were all written. Queued at once (in order with the others);
    /// await the receipt without holding a lock.
    pub fn audit_confirmed<'c>(
        &self,
        changes: impl IntoIterator<Item = &'c ChangeRecord>,
        event: AuditEvent,
        verification: Option<&serde_json::Value>,
    ) -> AuditReceipt {
        let records: Vec<AuditRecord> = changes
            .into_iter()
            .map(|change| record(change, event, verification))
            .collect();
        if records.is_empty() {
            return AuditReceipt { wait: None };
        }
        let (done, wait) = tokio::sync::oneshot::channel();
        self.audit.send(Message::Append(records, Some(done)));
        AuditReceipt { wait: Some(wait) }
    }

    /// The audit record of `change` at `event`, for a door that writes it later
    /// ([`SafetyNet::audit_records`]).
    pub fn audit_record(
        &self,
        change: &ChangeRecord,
        event: AuditEvent,
        verification: Option<&serde_json::Value>,
    ) -> AuditRecord {
        record(change, event, verification)
    }

    /// Queues prepared records (the writer adds the branch); the receipt says whether they
    /// were written.
    pub fn audit_records(&self, records: Vec<AuditRecord>) -> AuditReceipt {
        if records.is_empty() {
            return AuditReceipt { wait: None };
        }
        let (done, wait) = tokio::sync::oneshot::channel();
        self.audit.send(Message::Append(records, Some(done)));
        AuditReceipt { wait: Some(wait) }
    }

    /// Resolves once every record queued before the call is written (or failed, logged).
    pub async fn audit_flushed(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.audit.send(Message::Flush(done));
        let _ = wait.await;
    }

    /// Whether the trail can take a record now: every queued record written, the last of them
    /// without error, and its file open for appending. For a step that cannot be undone.
    pub async fn audit_ready(&self) -> Result<(), String> {
        self.audit_flushed().await;
        if let Some(e) = self.audit_broken() {
            return Err(e);
        }
        // Opened as the trail appends, without creating it (the first append does).
        match std::fs::OpenOptions::new()
            .append(true)
            .open(&self.audit_path)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{}: {e}", self.audit_path.display())),
        }
    }

    /// Why the last record the trail was given could not be written, if it could not (without
    /// waiting for records still queued). A batch is not started on a trail known to be broken.
    pub fn audit_broken(&self) -> Option<String> {
        self.audit
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// What the audit thread is asked to do.
enum Message {
    /// Records to append, and where to say whether they all were.
    Append(
        Vec<AuditRecord>,
        Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
    ),
    /// Answers once everything queued before is done.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The thread that appends audit records in the order they were queued.
struct AuditWriter {
    tx: mpsc::Sender<Message>,
    /// Why the last append failed; `None` once one succeeds again.
    last_error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl AuditWriter {
    fn spawn(log: AuditLog, root: PathBuf) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Message>();
        let last_error = std::sync::Arc::new(std::sync::Mutex::new(None));
        let shared_error = last_error.clone();
        std::thread::Builder::new()
            .name("autogate-audit".to_owned())
            .spawn(move || {
                let last_error = shared_error;
                let mut next = rx.recv().ok();
                while let Some(message) = next.take() {
                    match message {
                        Message::Append(records, done) => {
                            // Whatever else is queued behind goes in the same write: one fsync
                            // and one anchor update for all of it, however busy the server.
                            let mut records = records;
                            let mut waiting: Vec<_> = done.into_iter().collect();
                            while records.len() < 256 {
                                match rx.try_recv() {
                                    Ok(Message::Append(more, done)) => {
                                        records.extend(more);
                                        waiting.extend(done);
                                    }
                                    Ok(flush) => {
                                        next = Some(flush);
                                        break;
                                    }
                                    Err(_) => break,
                                }
                            }
                            let branch = match crate::config::head(&root) {
                                autogate_policy::Head::Branch(b) => Some(b),
                                _ => None,
                            };
                            for record in &mut records {
                                record.branch.clone_from(&branch);
                            }
                            let changes: Vec<String> =
                                records.iter().filter_map(|r| r.change.clone()).collect();
                            let result = log.append_all(records).map(|_| ()).map_err(|e| {
                                tracing::error!(
                                    changes = ?changes,
                                    "could not append to the audit trail: {e:#}"
                                );
                                format!("{e:#}")
                            });
                            *last_error.lock().unwrap_or_else(|e| e.into_inner()) =
                                result.clone().err();
                            for done in waiting {
                                let _ = done.send(result.clone());
                            }
                        }
                        Message::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                    if next.is_none() {
                        next = rx.recv().ok();
                    }
                }
            })
            .context("cannot start the audit writer")?;
        Ok(Self { tx, last_error })
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
    record.standing = change.standing.clone();
    record.would = change.verdict.would.as_ref().map(|w| Would {
        decision: w.decision.as_str().to_owned(),
        level: change.report.level.as_str().to_owned(),
        rule: w.rule.clone(),
        reasons: w.reasons.iter().map(|r| crate::gate::redact(r)).collect(),
    });
    record.impact = Some(crate::learn::facts::Facts::impact(
        &change.report,
        &change.environment,
        change.mode.as_str(),
    ));
    record
}
