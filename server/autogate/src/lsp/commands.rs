//! `workspace/executeCommand`: the `autogate.*` commands, and errors mapped to JSON-RPC here only.

use std::sync::Arc;

use autogate_analysis::Level;
use autogate_policy::{Decision, Mode};
use serde_json::{Value, json};
use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::MessageType;

use super::Shared;
use super::apply::{Applier, Outcome};
use super::approval::Approvals;
use super::from_proto::{self, Intake};
use crate::gate::{Origin, unified_diff};
use crate::protocol::{self as p, Status, Summary};

/// Why a command failed. Mapped to JSON-RPC in [`to_jsonrpc`], and nowhere else.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The arguments are wrong: the message says what to fix.
    #[error("{0}")]
    InvalidParams(String),
    /// The command is not one of ours.
    #[error("unknown command `{0}`: autogate offers {list}", list = p::COMMANDS.join(", "))]
    UnknownCommand(String),
    /// The request came before `initialize`.
    #[error("the server is not initialized")]
    NotInitialized,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The one place where errors become JSON-RPC errors.
pub fn to_jsonrpc(error: CommandError) -> jsonrpc::Error {
    match error {
        CommandError::InvalidParams(message) => jsonrpc::Error::invalid_params(message),
        CommandError::UnknownCommand(_) => jsonrpc::Error {
            code: jsonrpc::ErrorCode::InvalidParams,
            message: error.to_string().into(),
            data: None,
        },
        CommandError::NotInitialized => jsonrpc::Error {
            code: jsonrpc::ErrorCode::ServerError(-32002),
            message: error.to_string().into(),
            data: None,
        },
        CommandError::Internal(e) => jsonrpc::Error {
            code: jsonrpc::ErrorCode::InternalError,
            message: format!("{e:#}").into(),
            data: None,
        },
    }
}

/// Everything a command needs.
#[derive(Clone)]
pub struct Context {
    pub client: Client,
    pub shared: Arc<Shared>,
    pub applier: Applier,
    pub approvals: Approvals,
    pub tasks: std::sync::Arc<super::run::Tasks>,
}

fn args<T: serde::de::DeserializeOwned>(
    command: &str,
    arguments: &[Value],
) -> Result<T, CommandError> {
    p::parse_args(command, arguments).map_err(CommandError::InvalidParams)
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, CommandError> {
    serde_json::to_value(value).map_err(|e| CommandError::Internal(e.into()))
}

/// Runs one command.
pub async fn execute(
    ctx: &Context,
    command: &str,
    arguments: Vec<Value>,
) -> Result<Value, CommandError> {
    match command {
        p::PROPOSE_EDIT => {
            let a: p::ProposeEditArgs = args(command, &arguments)?;
            let encoding = ctx.shared.encoding();
            let origin = Origin {
                intent: a.intent,
                source: a.source,
            };
            gate_from(ctx, origin, |workspace, docs| {
                from_proto::workspace_edit(workspace, docs, encoding, a.edit)
            })
            .await
        }
        p::APPLY_PATCH => {
            let a: p::ApplyPatchArgs = args(command, &arguments)?;
            let origin = Origin {
                intent: a.intent,
                source: a.source,
            };
            gate_from(ctx, origin, |workspace, docs| {
                from_proto::unified_patch(workspace, docs, &a.patch)
            })
            .await
        }
        p::PENDING => {
            let _: p::EmptyArgs = args(command, &arguments)?;
            let gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
            let ids: Vec<String> = gate.pending().map(|c| c.id.clone()).collect();
            to_value(&gate.summary(&ids, None))
        }
        p::APPROVE => {
            let a: p::ApproveArgs = args(command, &arguments)?;
            to_value(&approve(ctx, &a.id, a.hash.as_deref()).await?)
        }
        p::APPROVE_ALWAYS => {
            let a: p::ApproveArgs = args(command, &arguments)?;
            to_value(&super::approval::approve_always(ctx, &a.id, a.hash.as_deref()).await?)
        }
        p::REJECT => {
            let a: p::IdArgs = args(command, &arguments)?;
            to_value(&reject(ctx, &a.id).await?)
        }
        p::EXPLAIN => {
            let a: p::IdArgs = args(command, &arguments)?;
            let gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
            let change = gate.get(&a.id).ok_or_else(|| unknown_change(&a.id))?;
            let mut report = json!({
                "id": change.id,
                "status": change.status,
                "decision": change.verdict.decision,
                "rule": change.verdict.rule,
                "would": change.verdict.would,
                "standing": change.standing,
                "hash": change.hash,
                "intent": change.intent,
                "source": change.source,
                "environment": gate.environment,
                "mode": gate.mode().as_str(),
                "notes": change.notes,
                "report": change.report,
                "diff": unified_diff(change),
            });
            crate::gate::redact_json(&mut report);
            Ok(report)
        }
        p::DIFF => {
            let a: p::IdArgs = args(command, &arguments)?;
            let diff = {
                let gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
                let change = gate.get(&a.id).ok_or_else(|| unknown_change(&a.id))?;
                unified_diff(change)
            };
            let shown = ctx.approvals.show_diff(&a.id, &diff).await;
            Ok(json!({ "id": a.id, "diff": diff, "shown": shown }))
        }
        p::SET_MODE => {
            let a: p::SetModeArgs = args(command, &arguments)?;
            let mode: Mode = a.mode.parse().map_err(CommandError::InvalidParams)?;
            let mut gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
            let mode = gate.set_mode(mode).map_err(CommandError::InvalidParams)?;
            Ok(json!({ "mode": mode.as_str() }))
        }
        p::ROLLBACK => {
            let a: p::RollbackArgs = args(command, &arguments)?;
            let done = ctx
                .applier
                .rollback(a.checkpoint, a.overwrite.unwrap_or(false))
                .await
                .map_err(CommandError::InvalidParams)?;
            ctx.approvals.refresh_diagnostics().await;
            let mut summary = ctx
                .shared
                .gate()
                .ok_or(CommandError::NotInitialized)?
                .summary(&done.ids, Some(done.checkpoint.clone()));
            if summary.changes.is_empty() {
                // A checkpoint of another session: no change records, only what was restored.
                summary.checkpoint = Some(done.checkpoint);
            }
            let headline = if done.notes.is_empty() {
                format!(
                    "autogate: rolled back {}",
                    summary.checkpoint.as_deref().unwrap_or("")
                )
            } else {
                format!(
                    "autogate: rolled back {} ({})",
                    summary.checkpoint.as_deref().unwrap_or(""),
                    done.notes.join("; ")
                )
            };
            ctx.client.show_message(MessageType::INFO, headline).await;
            to_value(&summary)
        }
        p::APPROVALS => {
            let _: p::EmptyArgs = args(command, &arguments)?;
            to_value(&super::standing::list(ctx).await?)
        }
        p::REVOKE_APPROVAL => {
            let a: p::RevokeApprovalArgs = args(command, &arguments)?;
            to_value(&super::standing::revoke(ctx, &a.id).await?)
        }
        p::RUN => {
            let a: p::RunArgs = args(command, &arguments)?;
            super::run::start(ctx, a).await
        }
        other => Err(CommandError::UnknownCommand(other.to_owned())),
    }
}

/// Converts a proposal under the documents lock (released before any await), then gates it.
async fn gate_from(
    ctx: &Context,
    origin: Origin,
    convert: impl FnOnce(
        &crate::workspace::Workspace,
        &super::Documents,
    ) -> Result<Intake, from_proto::IntakeError>,
) -> Result<Value, CommandError> {
    let started = std::time::Instant::now();
    let intake = {
        let workspace = ctx
            .shared
            .workspace
            .get()
            .ok_or(CommandError::NotInitialized)?;
        let docs = ctx.shared.docs();
        convert(workspace, &docs).map_err(|e| CommandError::InvalidParams(e.0))?
    };
    tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "intake");
    to_value(&gate_intake(ctx, intake, origin).await?)
}

/// An error unless `change` waits for approval; `verb` is what was attempted ("approved").
pub(super) fn not_pending(
    change: &crate::gate::ChangeRecord,
    verb: &str,
) -> Result<(), CommandError> {
    if change.awaits_approval() {
        return Ok(());
    }
    Err(CommandError::InvalidParams(format!(
        "change {} is {}, not pending; only pending changes can be {verb}",
        change.id,
        change.status.as_str().replace('_', " ")
    )))
}

pub(super) fn unknown_change(id: &str) -> CommandError {
    CommandError::InvalidParams(format!(
        "no change with id `{id}`; `autogate.pending` lists the pending ones"
    ))
}

/// Looks up the dependency versions a proposal introduces, before the gate is locked: the
/// lookup has a time limit, and a slow one never holds the gate.
async fn prefetch_advisories(ctx: &Context, proposal: &autogate_analysis::Proposal) {
    let mut queries = crate::deps::queries(proposal);
    let settings = ctx.shared.gate().map(|g| {
        // What was checked already is kept: a later failure does not forget it.
        queries.retain(|q| !matches!(g.advisories.get(q), Some(crate::deps::Outcome::Checked(_))));
        g.policy.advisories().clone()
    });
    if queries.is_empty() {
        return;
    }
    let root = ctx.shared.workspace.get().map(|w| w.root().to_path_buf());
    if let (Some(settings), Some(root)) = (settings, root) {
        let memo = crate::deps::lookup(&settings, &root, &queries).await;
        if let Some(mut gate) = ctx.shared.gate() {
            gate.advisories.extend(memo);
        }
    }
}

/// Stores the proposal's checkpoint on another core while the proposal is judged (its pack,
/// durable, with no ref: it does not exist yet). The writer names it if the batch it applies
/// is exactly this proposal (every change auto, nothing changed meanwhile); otherwise it is
/// garbage for git's gc, never a fault. Only in git: elsewhere there is nothing to overlap.
fn prepare_ahead(ctx: &Context, proposal: &autogate_analysis::Proposal, origin: &Origin) {
    let Ok(net) = ctx.shared.safety() else {
        return;
    };
    if !net.store.is_git() {
        return;
    }
    let owned = crate::safety::OwnedStates::of(proposal);
    let key = crate::safety::states_key(&owned.states());
    let label = format!(
        "proposal{}",
        origin
            .intent
            .as_deref()
            .map(|i| format!(": {i}"))
            .unwrap_or_default()
    );
    let shared = ctx.shared.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        let net = shared.safety().map_err(anyhow::Error::msg)?;
        net.prepare(&owned.states(), &label)
    });
    *ctx.shared.ahead.lock().unwrap_or_else(|e| e.into_inner()) =
        Some(super::Ahead { key, prepared });
}

/// Gates an intake: admit, apply the auto changes as one batch, hold the rest.
pub async fn gate_intake(
    ctx: &Context,
    intake: Intake,
    origin: Origin,
) -> Result<Summary, CommandError> {
    super::index::wait_ready(&ctx.shared, super::index::READY_WAIT).await;
    let started = std::time::Instant::now();
    let Intake {
        proposal,
        bases,
        forbidden,
        stale,
    } = intake;
    prefetch_advisories(ctx, &proposal).await;
    prepare_ahead(ctx, &proposal, &origin);
    let standing = super::approval::standing_now(ctx);
    let (all, auto, pending) = {
        let mut gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
        gate.standing = standing;
        let mut all = Vec::new();
        for (display, why) in forbidden {
            all.push(gate.admit_refused(
                &display,
                Level::Critical,
                Status::Denied,
                format!("`{display}`: {why}"),
                &origin,
            ));
        }
        for (path, reason) in stale {
            all.push(gate.admit_refused(&path, Level::Medium, Status::Failed, reason, &origin));
        }
        all.extend(gate.admit(&proposal, &bases, &origin));
        let auto: Vec<String> = all
            .iter()
            .filter(|id| {
                gate.get(id).is_some_and(|c| {
                    c.status == Status::Pending && c.verdict.decision == Decision::Auto
                })
            })
            .cloned()
            .collect();
        let pending: Vec<String> = all
            .iter()
            .filter(|id| gate.get(id).is_some_and(|c| c.awaits_approval()))
            .cloned()
            .collect();
        (all, auto, pending)
    };
    tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "gate: admitted");
    ctx.shared.audit(&all, autogate_vcs::AuditEvent::Decided);
    tracing::debug!(
        ms = started.elapsed().as_secs_f64() * 1e3,
        "gate: decisions recorded"
    );
    let denied: Vec<String> = {
        let gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
        all.iter()
            .filter(|id| gate.get(id).is_some_and(|c| c.status == Status::Denied))
            .cloned()
            .collect()
    };
    ctx.shared.audit(&denied, autogate_vcs::AuditEvent::Denied);
    let mut checkpoint = None;
    if !auto.is_empty()
        && let Outcome::Applied { checkpoint: c } = ctx.applier.apply(auto, "policy").await
    {
        checkpoint = c;
    }
    if !pending.is_empty() {
        ctx.approvals.request(pending).await;
    }
    let summary = ctx
        .shared
        .gate()
        .ok_or(CommandError::NotInitialized)?
        .summary(&all, checkpoint);
    ctx.client
        .show_message(MessageType::INFO, summary.headline())
        .await;
    Ok(summary)
}

/// Approves a pending change and applies it. The hash of the content the person was shown is
/// required; the approval is void if the content differs.
pub async fn approve(ctx: &Context, id: &str, hash: Option<&str>) -> Result<Summary, CommandError> {
    {
        let gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
        let change = gate.get(id).ok_or_else(|| unknown_change(id))?;
        not_pending(change, "approved")?;
        let Some(hash) = hash else {
            return Err(CommandError::InvalidParams(format!(
                "autogate.approve needs `hash`, the content hash of change {id} as shown to the \
                 person (in `autogate.pending`, its diagnostic or its diff): an approval is bound \
                 to the content it was asked for"
            )));
        };
        if hash != change.hash {
            return Err(CommandError::InvalidParams(format!(
                "change {id} differs from the one that was approved (content hash mismatch); the approval is void"
            )));
        }
    }
    // A door's change: the door writes it once told; nothing is written here.
    if super::session::is_door_change(&ctx.shared, id) {
        let summary = {
            let mut gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
            gate.update(&[id.to_owned()], |c| c.approver = Some("person"));
            gate.settle(&[id.to_owned()], Status::Approved, None, None);
            gate.summary(&[id.to_owned()], None)
        };
        ctx.shared
            .audit(&[id.to_owned()], autogate_vcs::AuditEvent::Approved);
        super::session::answer(&ctx.shared, id, true);
        ctx.approvals.refresh_diagnostics().await;
        return Ok(summary);
    }
    let outcome = ctx.applier.apply(vec![id.to_owned()], "person").await;
    ctx.approvals.refresh_diagnostics().await;
    let checkpoint = match outcome {
        Outcome::Applied { checkpoint } => checkpoint,
        Outcome::Failed { .. } => None,
    };
    let gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
    Ok(gate.summary(&[id.to_owned()], checkpoint))
}

/// Rejects a pending change: nothing is written.
pub async fn reject(ctx: &Context, id: &str) -> Result<Summary, CommandError> {
    let summary = {
        let mut gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
        let change = gate.get(id).ok_or_else(|| unknown_change(id))?;
        not_pending(change, "rejected")?;
        gate.settle(&[id.to_owned()], Status::Rejected, None, None);
        gate.summary(&[id.to_owned()], None)
    };
    ctx.shared
        .audit(&[id.to_owned()], autogate_vcs::AuditEvent::Rejected);
    super::session::answer(&ctx.shared, id, false);
    ctx.approvals.refresh_diagnostics().await;
    Ok(summary)
}
