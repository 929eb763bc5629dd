//! The one task that writes: applies batches in order, whole or not at all.
//!
//! Open documents are changed with `workspace/applyEdit` against the exact versions the change
//! was analyzed on; files the editor does not have open are written on disk atomically. If the
//! client refuses or does not answer in time, every file written on disk is restored.
//!
//! Under the workspace's write lock (shared with every autogate process on the folder), each
//! path is checked to still lead where the change was decided (no symlink below the root) and
//! its base text is read again, through the confined [`Workspace`] calls; a batch whose audit
//! record cannot be written is undone.
//!
//! [`Workspace`]: crate::workspace::Workspace

use std::collections::BTreeMap;
use std::sync::Arc;

use autogate_analysis::FileChange;
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{
    ApplyWorkspaceEditParams, DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier,
    TextDocumentEdit, Uri, WorkspaceEdit,
};

use super::Shared;
use super::to_proto::text_edits;
use crate::gate::Base;
use crate::protocol::Status;
use crate::safety::FileState;

/// Work for the writer: a batch to apply, or a checkpoint to restore.
pub enum Job {
    Apply {
        ids: Vec<String>,
        approver: &'static str,
        reply: oneshot::Sender<Outcome>,
    },
    Rollback {
        checkpoint: Option<String>,
        overwrite: bool,
        reply: oneshot::Sender<Result<Rollback, String>>,
    },
}

/// What a rollback restored and what it kept.
#[derive(Clone, Debug, Default)]
pub struct Rollback {
    pub checkpoint: String,
    pub ids: Vec<String>,
    pub notes: Vec<String>,
}

/// What happened to a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied { checkpoint: Option<String> },
    Failed { reason: String },
}

/// The handle used to send jobs to the applier task.
#[derive(Clone)]
pub struct Applier {
    tx: mpsc::UnboundedSender<Job>,
}

impl Applier {
    pub fn spawn(client: Client, shared: Arc<Shared>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                match job {
                    Job::Apply {
                        ids,
                        approver,
                        reply,
                    } => {
                        let (commands, commits) = shared
                            .gate()
                            .map(|g| {
                                (
                                    g.policy.verify().commands.clone(),
                                    g.policy.commit().enabled,
                                )
                            })
                            .unwrap_or_default();
                        let mut outcome = apply_batch(&client, &shared, &ids, approver).await;
                        let checkpoint = match &outcome {
                            Outcome::Applied { checkpoint } => checkpoint.clone(),
                            Outcome::Failed { .. } => None,
                        };
                        // Nothing to verify or commit: the record is written before the answer,
                        // so the answer says whether the batch stands.
                        let at_once = commands.is_empty() && !commits;
                        if at_once
                            && matches!(outcome, Outcome::Applied { .. })
                            && let Err(reason) = finish_batch(
                                &client,
                                &shared,
                                &ids,
                                approver,
                                checkpoint.clone(),
                                &commands,
                            )
                            .await
                        {
                            outcome = Outcome::Failed { reason };
                        }
                        let applied = matches!(outcome, Outcome::Applied { .. });
                        if applied {
                            // Before the reply, so the next proposal sees the new references;
                            // after the editor applied the edit, so it never delays applyEdit.
                            super::index::update(&shared, &written_files(&shared, &ids));
                        }
                        let _ = reply.send(outcome);
                        if applied {
                            // Work ahead while nobody waits: the next proposal to these
                            // documents most likely starts from what was just applied.
                            if let Some(mut gate) = shared.gate() {
                                gate.parses.prepare();
                            }
                            // Still in the writer: no other batch applies until this one is
                            // verified, committed and recorded.
                            if !at_once {
                                let _ = finish_batch(
                                    &client, &shared, &ids, approver, checkpoint, &commands,
                                )
                                .await;
                            }
                            prune_checkpoints(&shared).await;
                        }
                    }
                    Job::Rollback {
                        checkpoint,
                        overwrite,
                        reply,
                    } => {
                        let _ = reply
                            .send(rollback(&client, &shared, false, checkpoint, overwrite).await);
                    }
                }
                shared.audit_flushed().await;
            }
        });
        Self { tx }
    }

    /// Applies a batch and waits for the outcome.
    pub async fn apply(&self, ids: Vec<String>, approver: &'static str) -> Outcome {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(Job::Apply {
                ids,
                approver,
                reply,
            })
            .is_err()
        {
            return Outcome::Failed {
                reason: "the server is shutting down".to_owned(),
            };
        }
        rx.await.unwrap_or(Outcome::Failed {
            reason: "the apply task stopped".to_owned(),
        })
    }

    /// Restores a checkpoint (default: the latest applied one) and waits for the result.
    pub async fn rollback(
        &self,
        checkpoint: Option<String>,
        overwrite: bool,
    ) -> Result<Rollback, String> {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(Job::Rollback {
                checkpoint,
                overwrite,
                reply,
            })
            .is_err()
        {
            return Err("the server is shutting down".to_owned());
        }
        rx.await
            .unwrap_or_else(|_| Err("the apply task stopped".to_owned()))
    }
}

/// The files a batch wrote: (path, content after), `None` for removed paths.
fn written_files(shared: &Shared, ids: &[String]) -> Vec<(String, Option<String>)> {
    let Some(gate) = shared.gate() else {
        return Vec::new();
    };
    ids.iter()
        .filter_map(|id| gate.get(id)?.checkpoint.as_deref())
        .find_map(|checkpoint| gate.written.get(checkpoint))
        .cloned()
        .unwrap_or_default()
}

/// One planned write.
#[derive(Debug)]
enum Target {
    Editor { uri: Uri, version: i32 },
    Disk,
}

#[derive(Debug)]
struct Write {
    path: String,
    before: Option<String>,
    after: Option<String>,
    target: Target,
}

/// Checks every file is still as analyzed and plans where each write goes.
fn plan(shared: &Shared, files: &[(FileChange, crate::gate::Bases)]) -> Result<Vec<Write>, String> {
    let Some(workspace) = shared.workspace.get() else {
        return Err("the server is not initialized".to_owned());
    };
    let docs = shared.docs();
    let mut writes = Vec::new();
    for (file, bases) in files {
        let mut parts: Vec<(String, Option<String>, Option<String>)> =
            vec![(file.path.clone(), file.before.clone(), file.after.clone())];
        if let Some(old) = file.old_path.as_ref().filter(|old| **old != file.path) {
            // A rename: the old path disappears, the new one must not exist yet.
            parts[0].1 = None;
            parts.push((old.clone(), file.before.clone(), None));
        }
        for (path, before, after) in parts {
            // The path must still lead where the change was decided: no symlink below the root.
            workspace
                .check(&path)
                .map_err(|e| format!("{e}; nothing was applied"))?;
            let base = bases.get(&path).cloned().unwrap_or(Base::Disk);
            match docs.get(&path) {
                Some(open) => {
                    if let Base::Open { version } = base
                        && version != open.doc.version
                    {
                        return Err(format!(
                            "{path} changed since the change was analyzed (version {version}, now {}); nothing was applied — propose it again",
                            open.doc.version
                        ));
                    }
                    if before.as_deref().is_none_or(|b| open.doc.rope != b) {
                        return Err(format!(
                            "{path} changed since the change was analyzed; nothing was applied — propose it again"
                        ));
                    }
                    if after.is_some() {
                        writes.push(Write {
                            path,
                            before,
                            after,
                            target: Target::Editor {
                                uri: open.uri.clone(),
                                version: open.doc.version,
                            },
                        });
                    } else {
                        writes.push(Write {
                            path,
                            before,
                            after,
                            target: Target::Disk,
                        });
                    }
                }
                None => {
                    let current = workspace
                        .read(&path)
                        .map_err(|e| format!("{e:#}; nothing was applied"))?;
                    if current != before {
                        return Err(format!(
                            "{path} changed on disk since the change was analyzed; nothing was applied — propose it again"
                        ));
                    }
                    writes.push(Write {
                        path,
                        before,
                        after,
                        target: Target::Disk,
                    });
                }
            }
        }
    }
    Ok(writes)
}

async fn apply_batch(
    client: &Client,
    shared: &Shared,
    ids: &[String],
    approver: &'static str,
) -> Outcome {
    let label = match shared.gate() {
        Some(gate) => {
            let intent = ids
                .iter()
                .filter_map(|id| gate.get(id))
                .find_map(|c| c.intent.clone());
            format!(
                "change {}{}",
                ids.join(", "),
                intent.map(|i| format!(": {i}")).unwrap_or_default()
            )
        }
        None => format!("change {}", ids.join(", ")),
    };
    let outcome = apply_batch_inner(client, shared, ids, approver, &label).await;
    if let Some(mut gate) = shared.gate() {
        match &outcome {
            Outcome::Applied { checkpoint } => {
                let status = if approver == "person" {
                    Status::Approved
                } else {
                    Status::Applied
                };
                gate.settle(ids, status, None, checkpoint.as_deref());
                gate.update(ids, |change| change.approver = Some(approver));
            }
            Outcome::Failed { reason } => gate.settle(ids, Status::Failed, Some(reason), None),
        }
    }
    // An applied batch is recorded once it is verified (and committed): see `finish_batch`.
    if matches!(outcome, Outcome::Failed { .. }) {
        shared.audit(ids, autogate_vcs::AuditEvent::Failed);
    }
    outcome
}

async fn apply_batch_inner(
    client: &Client,
    shared: &Shared,
    ids: &[String],
    approver: &'static str,
    label: &str,
) -> Outcome {
    let files = match shared.gate() {
        Some(mut gate) => match gate.batch(ids, approver) {
            Ok(files) => files,
            Err(reason) => return Outcome::Failed { reason },
        },
        None => {
            return Outcome::Failed {
                reason: "the server is not initialized".to_owned(),
            };
        }
    };
    let started = std::time::Instant::now();
    let Some(workspace) = shared.workspace.get() else {
        return Outcome::Failed {
            reason: "the server is not initialized".to_owned(),
        };
    };
    // The checkpoint comes before any write: no checkpoint, no write (fail closed).
    let net = match shared.safety() {
        Ok(net) => net,
        Err(e) => {
            return Outcome::Failed {
                reason: format!("cannot create a checkpoint ({e}); nothing was applied"),
            };
        }
    };
    // The batch's records are part of its commit: nothing is written on a trail known to be
    // broken. (Waiting for the records still queued only then, to see whether the trail was
    // repaired: one that fails meanwhile is caught by the outcome record, which rolls the
    // batch back.)
    if net.audit_broken().is_some() {
        net.audit_flushed().await;
    }
    if let Some(e) = net.audit_broken() {
        return Outcome::Failed {
            reason: format!("the audit trail cannot be written ({e}); nothing was applied"),
        };
    }
    // Held from the re-check of the bases to the end of the write: another autogate process
    // on this workspace cannot write in between (it waits, then finds its base changed).
    let _lock = match net.lock_writes(lock_limit(shared)).await {
        Ok(lock) => lock,
        Err(e) => {
            return Outcome::Failed {
                reason: format!("{e}; nothing was applied — propose it again"),
            };
        }
    };
    let writes = match plan(shared, &files) {
        Ok(writes) => writes,
        Err(reason) => return Outcome::Failed { reason },
    };
    let states: Vec<FileState<'_>> = writes
        .iter()
        .map(|w| FileState {
            path: &w.path,
            before: w.before.as_deref(),
            after: w.after.as_deref(),
        })
        .collect();
    let checkpoint = match checkpoint(shared, net, &states, label).await {
        Ok(id) => id,
        Err(e) => {
            return Outcome::Failed {
                reason: format!("{e:#}; nothing was applied"),
            };
        }
    };

    tracing::debug!(
        ms = started.elapsed().as_secs_f64() * 1e3,
        "apply: planned and checkpointed"
    );
    // Disk first: it can be undone exactly from the pre-images we hold.
    let mut written: Vec<&Write> = Vec::new();
    for write in writes.iter().filter(|w| matches!(w.target, Target::Disk)) {
        if let Err(e) = workspace.write(&write.path, write.after.as_deref()) {
            let restore = restore(workspace, &written);
            return Outcome::Failed {
                reason: format!("{e:#}{restore}"),
            };
        }
        written.push(write);
    }

    let encoding = shared.encoding();
    let edits: Vec<TextDocumentEdit> = writes
        .iter()
        .filter_map(|w| match &w.target {
            Target::Editor { uri, version } => Some(TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri: uri.clone(),
                    version: Some(*version),
                },
                edits: text_edits(
                    w.before.as_deref().unwrap_or(""),
                    w.after.as_deref().unwrap_or(""),
                    encoding,
                )
                .into_iter()
                .map(OneOf::Left)
                .collect(),
            }),
            Target::Disk => None,
        })
        .collect();
    if !edits.is_empty() {
        tracing::debug!(
            ms = started.elapsed().as_secs_f64() * 1e3,
            "apply: sending applyEdit"
        );
        if let Err(refusal) =
            send_apply_edit(client, shared, format!("autogate: {label}"), edits).await
        {
            let restore = restore(workspace, &written);
            return Outcome::Failed {
                reason: format!("{refusal}; nothing was applied{restore}"),
            };
        }
    }
    net.record_written(&checkpoint, &states);
    if let Some(mut gate) = shared.gate() {
        let files = writes
            .iter()
            .map(|w| (w.path.clone(), w.after.clone()))
            .collect();
        gate.written.insert(checkpoint.to_string(), files);
    }
    Outcome::Applied {
        checkpoint: Some(checkpoint.to_string()),
    }
}

/// How long a write waits for another autogate process on the workspace to finish its own
/// (which may wait for its editor's `applyEdit` answer).
fn lock_limit(shared: &Shared) -> std::time::Duration {
    shared.apply_timeout() + std::time::Duration::from_secs(5)
}

/// Sends `workspace/applyEdit` with the server's time limit. `Err` says why it was not applied.
async fn send_apply_edit(
    client: &Client,
    shared: &Shared,
    label: String,
    edits: Vec<TextDocumentEdit>,
) -> Result<(), String> {
    let params = ApplyWorkspaceEditParams {
        label: Some(label),
        edit: WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(edits)),
            ..Default::default()
        },
    };
    let timeout = shared.apply_timeout();
    let answer = tokio::time::timeout(
        timeout,
        client.send_request::<tower_lsp_server::ls_types::request::ApplyWorkspaceEdit>(params),
    )
    .await;
    match answer {
        Ok(Ok(response)) if response.applied => Ok(()),
        Ok(Ok(response)) => Err(format!(
            "the editor refused the edit{}",
            response
                .failure_reason
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )),
        Ok(Err(e)) => Err(format!(
            "the editor answered workspace/applyEdit with an error: {}",
            e.message
        )),
        Err(_) => Err(format!(
            "the editor did not answer workspace/applyEdit within {} ms",
            timeout.as_millis()
        )),
    }
}

/// Restores files written on disk, newest first. Returns a note for the failure reason.
fn restore(workspace: &crate::workspace::Workspace, written: &[&Write]) -> String {
    let mut failures = Vec::new();
    for write in written.iter().rev() {
        if let Err(e) = workspace.write(&write.path, write.before.as_deref()) {
            failures.push(format!("{}: {e:#}", write.path));
        }
    }
    if written.is_empty() {
        String::new()
    } else if failures.is_empty() {
        format!(" ({} file(s) written on disk were restored)", written.len())
    } else {
        format!(" (could not restore: {})", failures.join("; "))
    }
}

/// Restores a checkpoint. Open documents whose buffer still holds exactly what autogate wrote
/// are restored with `workspace/applyEdit`; other files on disk by the checkpoint store. A file
/// the person changed since is kept unless `overwrite`.
async fn rollback(
    client: &Client,
    shared: &Shared,
    also_disk: bool,
    checkpoint: Option<String>,
    overwrite: bool,
) -> Result<Rollback, String> {
    use autogate_vcs::{CheckpointId, ConflictPolicy, RestoreOutcome};
    let net = shared.safety()?;
    let _lock = net
        .lock_writes(lock_limit(shared))
        .await
        .map_err(|e| format!("{e}; nothing was restored"))?;
    let id = match checkpoint {
        Some(id) => CheckpointId::parse(&id).map_err(|e| format!("{e}"))?,
        None => net
            .store
            .list()
            .map_err(|e| format!("{e:#}"))?
            .into_iter()
            .find(|c| c.written_recorded)
            .map(|c| c.id)
            .ok_or_else(|| "there is no applied checkpoint to roll back to".to_owned())?,
    };
    let plan = net.store.plan_restore(&id).map_err(|e| format!("{e:#}"))?;
    // What autogate wrote for each path of this checkpoint, from this session's records.
    let (ids, written): (Vec<String>, BTreeMap<String, Option<String>>) = match shared.gate() {
        Some(gate) => {
            let ids = gate
                .with_checkpoint(id.as_str())
                .map(|c| c.id.clone())
                .collect();
            let written = gate
                .written
                .get(id.as_str())
                .map(|files| files.iter().cloned().collect())
                .unwrap_or_default();
            (ids, written)
        }
        None => (Vec::new(), BTreeMap::new()),
    };
    let encoding = shared.encoding();
    let synced: Vec<(String, Option<String>)> = written
        .iter()
        .map(|(p, a)| (p.clone(), a.clone()))
        .collect();
    wait_for_sync(shared, &synced).await;
    // Files the person changed since autogate wrote them: ask whether to overwrite them
    // (only for a rollback the person asked for, and where the editor can ask).
    let overwrite = overwrite
        || (!also_disk && ask_overwrite(client, shared, &id.to_string(), &plan, &written).await);
    let mut notes = Vec::new();
    let mut edits = Vec::new();
    let mut on_disk = plan.clone();
    on_disk.files.clear();
    {
        let docs = shared.docs();
        for file in &plan.files {
            let before = file
                .before
                .as_deref()
                .and_then(|b| std::str::from_utf8(b).ok());
            // The editor would save a restored buffer where the path leads now.
            let redirected = match shared.workspace.get().map(|w| w.check(&file.path)) {
                Some(Err(e)) => e.to_string(),
                _ => String::new(),
            };
            match (docs.get(&file.path), before, written.get(&file.path)) {
                (Some(_), Some(_), Some(Some(_))) if !redirected.is_empty() => {
                    notes.push(format!("left {} alone: {redirected}", file.path));
                }
                (Some(open), Some(before), Some(Some(after))) => {
                    let buffer = open.doc.text();
                    if also_disk {
                        // The batch was also saved to disk (for verification): restore both.
                        on_disk.files.push(file.clone());
                    }
                    if buffer == *after || overwrite {
                        edits.push(TextDocumentEdit {
                            text_document: OptionalVersionedTextDocumentIdentifier {
                                uri: open.uri.clone(),
                                version: Some(open.doc.version),
                            },
                            edits: text_edits(&buffer, before, encoding)
                                .into_iter()
                                .map(OneOf::Left)
                                .collect(),
                        });
                    } else {
                        notes.push(format!(
                            "kept your version of {}: it changed since autogate wrote it",
                            file.path
                        ));
                    }
                }
                _ => on_disk.files.push(file.clone()),
            }
        }
    }
    if !edits.is_empty()
        && let Err(why) =
            send_apply_edit(client, shared, format!("autogate: roll back {id}"), edits).await
    {
        return Err(format!(
            "the editor did not apply the rollback of {id} ({why}); nothing was restored"
        ));
    }
    let policy = if overwrite {
        ConflictPolicy::Overwrite
    } else {
        ConflictPolicy::KeepMine
    };
    let report = net
        .store
        .restore(&on_disk, policy)
        .map_err(|e| format!("{e:#}"))?;
    for outcome in &report.files {
        match &outcome.outcome {
            RestoreOutcome::KeptMine(_) => notes.push(format!(
                "kept your version of {}: it changed since autogate wrote it",
                outcome.path
            )),
            RestoreOutcome::Stale => notes.push(format!(
                "left {} alone: it changed during the rollback",
                outcome.path
            )),
            RestoreOutcome::Failed(e) => {
                notes.push(format!("could not restore {}: {e}", outcome.path))
            }
            _ => {}
        }
    }
    if let Some(mut gate) = shared.gate() {
        let note = if notes.is_empty() {
            None
        } else {
            Some(notes.join("; "))
        };
        gate.settle(&ids, Status::RolledBack, note.as_deref(), None);
    }
    shared.audit(&ids, autogate_vcs::AuditEvent::RolledBack);
    Ok(Rollback {
        checkpoint: id.to_string(),
        ids,
        notes,
    })
}

/// Asks the person whether to overwrite the files they changed since autogate wrote them.
/// `false` (keep theirs) when nothing conflicts, when the editor cannot ask, or on a dismiss.
async fn ask_overwrite(
    client: &Client,
    shared: &Shared,
    checkpoint: &str,
    plan: &autogate_vcs::RestorePlan,
    written: &BTreeMap<String, Option<String>>,
) -> bool {
    let caps = shared.caps();
    if !caps.message_actions || shared.fallback.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    let conflicts: Vec<String> = {
        let docs = shared.docs();
        plan.files
            .iter()
            .filter(
                |file| match (docs.get(&file.path), written.get(&file.path)) {
                    (Some(open), Some(Some(after))) => open.doc.rope != after.as_str(),
                    _ => plan.conflicts().any(|c| c.path == file.path),
                },
            )
            .map(|file| file.path.clone())
            .collect()
    };
    if conflicts.is_empty() {
        return false;
    }
    let message = format!(
        "autogate: rolling back {checkpoint}: you changed {} since autogate wrote it. Keep your version, or overwrite it with the checkpoint?",
        conflicts.join(", ")
    );
    let actions = ["Keep mine", "Overwrite"]
        .map(|title| tower_lsp_server::ls_types::MessageActionItem {
            title: title.to_owned(),
            properties: Default::default(),
        })
        .to_vec();
    matches!(
        client.show_message_request(tower_lsp_server::ls_types::MessageType::WARNING, message, Some(actions)).await,
        Ok(Some(item)) if item.title == "Overwrite"
    )
}

/// Waits (at most 2 s) until every open document among `files` holds its written text.
async fn wait_for_sync(shared: &Shared, files: &[(String, Option<String>)]) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let synced = {
            let docs = shared.docs();
            files
                .iter()
                .all(|(path, after)| match (docs.get(path), after) {
                    (Some(open), Some(after)) => open.doc.rope == after.as_str(),
                    _ => true,
                })
        };
        if synced || tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// `autogate/saveDocuments`: asks a capable client to save the given documents.
enum SaveDocuments {}

impl tower_lsp_server::ls_types::request::Request for SaveDocuments {
    type Params = serde_json::Value;
    type Result = serde_json::Value;
    const METHOD: &'static str = crate::protocol::SAVE_DOCUMENTS_REQUEST;
}

/// Runs the policy's verification commands on an applied batch; rolls it back if one fails.
async fn verify_batch(
    client: &Client,
    shared: &Shared,
    ids: &[String],
    checkpoint: Option<String>,
    commands: &[autogate_policy::VerifyCommand],
) -> Option<serde_json::Value> {
    let root = shared.workspace.get().map(|w| w.root().to_path_buf())?;
    // Run, with progress and cancellation.
    let token_key = format!("autogate-verify-{}", ids.join("-"));
    let cancel = tokio_util::sync::CancellationToken::new();
    shared.tasks.insert(&token_key, cancel.clone());
    let first = commands.first().map(|c| c.run.clone()).unwrap_or_default();
    let progress = super::run::begin_progress(
        client,
        shared,
        tower_lsp_server::ls_types::ProgressToken::String(token_key.clone()),
        format!("autogate: verifying change {}", ids.join(", ")),
        format!("running `{first}`"),
    )
    .await;
    let results = crate::verify::run_all(
        &root,
        commands,
        &cancel,
        |command| tracing::info!(%command, "verifying"),
    )
    .await;
    shared.tasks.remove(&token_key);
    let passed =
        results.iter().all(crate::verify::CommandResult::ok) && results.len() == commands.len();
    let verification = serde_json::json!({ "passed": passed, "commands": results });
    let summary: Vec<String> = results
        .iter()
        .map(|r| format!("{} ({} ms)", r.describe(), r.ms))
        .collect();
    if let Some(progress) = progress {
        progress.finish_with_message(summary.join("; ")).await;
    }

    // Keep, or roll back.
    if passed {
        if let Some(mut gate) = shared.gate() {
            let note = format!("verified: {}", summary.join("; "));
            gate.update(ids, |change| change.notes.push(note.clone()));
        }
        return Some(verification);
    }
    let failed = results.iter().find(|r| !r.ok()).cloned();
    let rolled = rollback(client, shared, true, checkpoint.clone(), false).await;
    let mut note = format!(
        "verification failed: {}; the batch was rolled back",
        failed
            .as_ref()
            .map(crate::verify::CommandResult::describe)
            .unwrap_or_default()
    );
    match &rolled {
        Ok(r) if !r.notes.is_empty() => note.push_str(&format!(" ({})", r.notes.join("; "))),
        Ok(_) => {}
        Err(e) => note = format!("{note}, but the rollback failed: {e}"),
    }
    if let Some(mut gate) = shared.gate() {
        gate.settle(ids, Status::Failed, Some(&note), None);
    }
    shared.audit_with(ids, autogate_vcs::AuditEvent::Failed, Some(&verification));
    let tail = failed.map(|f| f.tail).unwrap_or_default();
    client
        .show_message(
            tower_lsp_server::ls_types::MessageType::ERROR,
            format!("autogate: change {}: {note}\n{tail}", ids.join(", ")),
        )
        .await;
    None
}

/// After a batch is applied: verify it, commit it if the policy says so, and record it.
/// `Err` says why the batch was rolled back (a failed verification, an unwritable record).
async fn finish_batch(
    client: &Client,
    shared: &Shared,
    ids: &[String],
    approver: &'static str,
    checkpoint: Option<String>,
    commands: &[autogate_policy::VerifyCommand],
) -> Result<(), String> {
    let commit_settings = shared
        .gate()
        .map(|g| g.policy.commit().clone())
        .filter(|s| s.enabled);
    let flushed = !commands.is_empty() || commit_settings.is_some();
    if flushed {
        // Verification commands and commits read the disk: once, before both.
        flush_to_disk(client, shared, ids).await;
    }
    let verification = if commands.is_empty() {
        None
    } else {
        match verify_batch(client, shared, ids, checkpoint.clone(), commands).await {
            Some(v) => Some(v),
            // Rolled back, marked failed and recorded.
            None => return Err("verification failed; the batch was rolled back".to_owned()),
        }
    };
    if let Some(settings) = commit_settings {
        // A commit cannot be rolled back (HEAD and branches are never touched): the trail is
        // checked first, so that a batch it cannot record is undone before it is committed.
        if let Ok(net) = shared.safety()
            && let Err(e) = net.audit_ready().await
        {
            return Err(undo_unrecorded(client, shared, ids, flushed, checkpoint, &e).await);
        }
        match commit(shared, ids, approver, checkpoint.as_deref(), &settings).await {
            Ok(oid) => {
                if let (Some(oid), Some(mut gate)) = (oid, shared.gate()) {
                    gate.update(ids, |change| change.commit = Some(oid.clone()));
                }
            }
            Err(e) => {
                let note = format!("not committed: {e}");
                if let Some(mut gate) = shared.gate() {
                    gate.update(ids, |change| change.notes.push(note.clone()));
                }
                client
                    .show_message(
                        tower_lsp_server::ls_types::MessageType::WARNING,
                        format!("autogate: change {} stays applied, {note}", ids.join(", ")),
                    )
                    .await;
            }
        }
    }
    let event = if approver == "person" {
        autogate_vcs::AuditEvent::Approved
    } else {
        autogate_vcs::AuditEvent::Applied
    };
    let receipt = match (shared.safety(), shared.gate()) {
        (Ok(net), Some(gate)) => net.audit_confirmed(
            ids.iter().filter_map(|id| gate.get(id)),
            event,
            verification.as_ref(),
        ),
        _ => return Ok(()),
    };
    let Err(e) = receipt.written().await else {
        return Ok(());
    };
    Err(undo_unrecorded(client, shared, ids, flushed, checkpoint, &e).await)
}

/// The record is part of the batch: without it, the batch is rolled back, marked failed, and
/// the person told why. Returns that reason.
async fn undo_unrecorded(
    client: &Client,
    shared: &Shared,
    ids: &[String],
    flushed: bool,
    checkpoint: Option<String>,
    why: &str,
) -> String {
    let rolled = rollback(client, shared, flushed, checkpoint, false).await;
    let mut note = format!("the audit trail cannot be written ({why}); the batch was rolled back");
    match &rolled {
        Ok(r) if !r.notes.is_empty() => note.push_str(&format!(" ({})", r.notes.join("; "))),
        Ok(_) => {}
        Err(e) => note = format!("{note}, but the rollback failed: {e}"),
    }
    let commit = shared
        .gate()
        .and_then(|gate| ids.iter().find_map(|id| gate.get(id)?.commit.clone()));
    if let Some(oid) = commit {
        note.push_str(&format!("; its commit {oid} stays in the history"));
    }
    if let Some(mut gate) = shared.gate() {
        gate.settle(ids, Status::Failed, Some(&note), None);
    }
    shared.audit(ids, autogate_vcs::AuditEvent::Failed);
    client
        .show_message(
            tower_lsp_server::ls_types::MessageType::ERROR,
            format!("autogate: change {}: {note}", ids.join(", ")),
        )
        .await;
    note
}

/// Drops checkpoints beyond the policy's `[checkpoints]` count and age after each batch
/// ([`crate::safety::SafetyNet::prune_checkpoints`]).
async fn prune_checkpoints(shared: &Shared) {
    let Some(settings) = shared.gate().map(|g| g.policy.checkpoints().clone()) else {
        return;
    };
    if let Ok(net) = shared.safety()
        && let Some(fold) = net.prune_checkpoints(&settings, false).await
    {
        // Beside the writer, so the next batch does not wait for the packs to be rewritten,
        // and at the lowest priority, so it takes no core the next proposal needs.
        let spawned = std::thread::Builder::new()
            .name("autogate-fold".to_owned())
            .spawn(move || {
                lower_this_threads_priority();
                fold();
            });
        if let Err(e) = spawned {
            tracing::warn!("could not start the checkpoint fold: {e}");
        }
    }
}

/// Background work yields to everything else: nice 19 for the calling thread (Linux sets it
/// per thread). Best effort.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, 19) {
        tracing::debug!("could not lower the fold's priority: {e}");
    }
}

/// The batch's checkpoint: the one stored ahead while its proposal was judged, named now, if
/// it holds exactly these files (else it is left to git's gc); otherwise made now.
async fn checkpoint(
    shared: &Shared,
    net: &crate::safety::SafetyNet,
    states: &[FileState<'_>],
    label: &str,
) -> anyhow::Result<autogate_vcs::CheckpointId> {
    let key = crate::safety::states_key(states);
    let ahead = {
        let mut slot = shared.ahead.lock().unwrap_or_else(|e| e.into_inner());
        slot.take_if(|ahead| ahead.key == key)
    };
    if let Some(ahead) = ahead {
        match ahead.prepared.await {
            Ok(Ok(prepared)) => return net.publish(prepared),
            Ok(Err(e)) => {
                tracing::warn!("the checkpoint stored ahead failed, making it now: {e:#}")
            }
            Err(e) => {
                tracing::warn!("the checkpoint stored ahead did not finish, making it now: {e}")
            }
        }
    }
    net.checkpoint(states, label)
}

/// Makes the disk show what the batch applied: open documents are saved by a capable client,
/// or written by the server. Verification commands and commits read the disk.
async fn flush_to_disk(client: &Client, shared: &Shared, ids: &[String]) {
    // Editors debounce didChange (Neovim: 150 ms): wait until our copy of each open document
    // shows what the editor applied, or a person's later edit would be mistaken for it.
    // (Computed before taking the documents lock: never hold it while taking the gate's.)
    let written = written_files(shared, ids);
    wait_for_sync(shared, &written).await;
    let open: Vec<(String, Uri, String)> = {
        let docs = shared.docs();
        written
            .into_iter()
            .filter_map(|(path, after)| {
                let after = after?;
                docs.get(&path)
                    .map(|d| (path.clone(), d.uri.clone(), after))
            })
            .collect()
    };
    // A document is saved where its path leads now: never through a symlink planted since.
    let (open, redirected): (Vec<_>, Vec<_>) = open.into_iter().partition(|(path, _, _)| {
        shared
            .workspace
            .get()
            .is_some_and(|w| w.check(path).is_ok())
    });
    for (path, _, _) in &redirected {
        let why = shared
            .workspace
            .get()
            .and_then(|w| w.check(path).err())
            .map(|e| e.to_string())
            .unwrap_or_default();
        client
            .show_message(
                tower_lsp_server::ls_types::MessageType::WARNING,
                format!("autogate: did not save {path} to disk: {why}"),
            )
            .await;
    }
    if open.is_empty() {
        return;
    }
    let saved = shared.caps().save_documents
        && matches!(
            tokio::time::timeout(
                shared.apply_timeout(),
                client.send_request::<SaveDocuments>(serde_json::json!({
                    "uris": open.iter().map(|(_, uri, _)| uri.as_str()).collect::<Vec<_>>()
                })),
            )
            .await,
            Ok(Ok(_))
        );
    if !saved
        && let Some(workspace) = shared.workspace.get()
        && let Ok(net) = shared.safety()
    {
        let _lock = match net.lock_writes(lock_limit(shared)).await {
            Ok(lock) => lock,
            Err(e) => {
                tracing::error!("cannot write open documents to disk: {e}");
                return;
            }
        };
        for (path, _, after) in &open {
            if let Err(e) = workspace.write(path, Some(after)) {
                tracing::error!(%path, "cannot write to disk: {e:#}");
            }
        }
    }
}

/// Commits the batch's files with a conventional subject and autogate trailers.
async fn commit(
    shared: &Shared,
    ids: &[String],
    approver: &'static str,
    checkpoint: Option<&str>,
    settings: &autogate_policy::CommitSettings,
) -> Result<Option<String>, String> {
    use autogate_vcs::commit::{
        CommitError, CommitRequest, autogate_trailers, commit_batch, conventional_subject,
        side_branch_name,
    };
    let root = shared
        .workspace
        .get()
        .map(|w| w.root().to_path_buf())
        .ok_or("the server is not initialized")?;
    let (intent, level, body) = {
        let gate = shared.gate().ok_or("the server is not initialized")?;
        let changes: Vec<_> = ids.iter().filter_map(|id| gate.get(id)).collect();
        let intent = changes.iter().find_map(|c| c.intent.clone());
        let level = changes
            .iter()
            .map(|c| c.level())
            .max()
            .unwrap_or(autogate_analysis::Level::Low);
        let body: Vec<String> = changes
            .iter()
            .map(|c| {
                let files: Vec<&str> = c.unit.files.iter().map(|f| f.path.as_str()).collect();
                let why = c
                    .report
                    .reasons
                    .first()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                format!(
                    "- change {} ({}) {}{why}",
                    c.id,
                    c.level(),
                    files.join(", ")
                )
            })
            .collect();
        (intent, level, body.join("\n"))
    };
    let files: Vec<String> = written_files(shared, ids)
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    let fallback = format!("apply {} change(s)", ids.len());
    let side = matches!(settings.branch, autogate_policy::CommitBranch::Side);
    let request = CommitRequest {
        files,
        subject: conventional_subject(intent.as_deref(), &fallback),
        body,
        trailers: autogate_trailers(ids, level.as_str(), approver, checkpoint),
        side_branch: side.then(|| {
            side_branch_name(
                time::OffsetDateTime::now_utc().date(),
                intent.as_deref().unwrap_or(&fallback),
            )
        }),
        sign_off: settings.sign_off,
    };
    // Hooks can take their time: off the async threads.
    match tokio::task::spawn_blocking(move || commit_batch(&root, &request)).await {
        Ok(Ok(outcome)) => Ok(Some(outcome.oid)),
        Ok(Err(CommitError::NothingToCommit)) => Ok(None),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("the commit task failed: {e}")),
    }
}
