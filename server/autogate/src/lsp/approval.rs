//! The approval UX: prompts, diagnostics and code actions for pending changes.
//!
//! Clients that advertise `window.showMessage.messageActionItem` are asked with
//! `window/showMessageRequest`, one change at a time, from a background task (never from a
//! handler). A dismissed prompt leaves the change pending. Every pending change also shows as a
//! diagnostic with Approve / Reject / Show diff code actions: that is the whole UX for clients
//! without prompts (Helix 25.07), and a MethodNotFound answer switches to it.
//!
//! Where the change may have one ([`crate::gate::Gate::scope_of`]), the prompt and the code
//! actions also offer "Approve always for <scope>" (`autogate.approveAlways`): a standing
//! approval, stored per clone, that turns later asks of that scope into auto.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::mpsc;
use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc::ErrorCode;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Command, Diagnostic, MessageActionItem,
    MessageType, ShowDocumentParams, Uri,
};

use super::Shared;
use super::commands::{CommandError, Context, approve, not_pending, reject, unknown_change};
use super::to_proto::{first_changed_range, pending_diagnostic};
use crate::protocol::{self as p};

const APPROVE: &str = "Approve";
const REJECT: &str = "Reject";
const SHOW_DIFF: &str = "Show diff";
/// The prompt's title of a standing approval starts with this.
const APPROVE_ALWAYS: &str = "Approve always for ";

#[derive(Clone)]
pub struct Approvals {
    client: Client,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Vec<String>>,
    rx: Arc<Mutex<Option<mpsc::UnboundedReceiver<Vec<String>>>>>,
    /// The documents that have autogate diagnostics now. Its lock is held through a whole
    /// refresh, publications included, so refreshes go out in the order they read the pending
    /// set: a refresh that read it earlier never lands last with a change since decided.
    published: Arc<tokio::sync::Mutex<HashSet<String>>>,
}

impl Approvals {
    pub fn new(client: Client, shared: Arc<Shared>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            client,
            shared,
            tx,
            rx: Arc::new(Mutex::new(Some(rx))),
            published: Arc::new(tokio::sync::Mutex::new(HashSet::new())),
        }
    }

    /// Starts the prompt task. Called once the command context exists.
    pub fn start(&self, ctx: Context) {
        let Some(mut rx) = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        tokio::spawn(async move {
            while let Some(ids) = rx.recv().await {
                for id in ids {
                    prompt(&ctx, &id).await;
                }
            }
        });
    }

    /// New pending changes: show them, and ask if the client can be asked.
    pub async fn request(&self, ids: Vec<String>) {
        self.refresh_diagnostics().await;
        let caps = self.shared.caps();
        if caps.review {
            let summary = self.shared.gate().map(|gate| {
                let pending: Vec<String> = gate.pending().map(|c| c.id.clone()).collect();
                gate.summary(&pending, None)
            });
            if let Some(summary) = summary {
                self.client
                    .send_notification::<PendingChanged>(
                        serde_json::to_value(&summary).unwrap_or_default(),
                    )
                    .await;
            }
        } else if caps.message_actions && !self.shared.fallback.load(Ordering::Relaxed) {
            let _ = self.tx.send(ids);
        }
    }

    fn uri_of(&self, path: &str) -> Option<Uri> {
        if let Some(open) = self.shared.docs().get(path) {
            return Some(open.uri.clone());
        }
        let workspace = self.shared.workspace.get()?;
        Uri::from_file_path(workspace.absolute(path))
    }

    /// Publishes a diagnostic per pending change on each file it touches; clears the others.
    pub async fn refresh_diagnostics(&self) {
        let mut published = self.published.lock().await;
        let encoding = self.shared.encoding();
        let mut by_path: BTreeMap<String, Vec<Diagnostic>> = BTreeMap::new();
        if let Some(gate) = self.shared.gate() {
            for change in gate.pending() {
                // Where the change is now: after the changes of its proposal applied since.
                let view = gate.view(change);
                let files = view
                    .as_ref()
                    .map_or(&change.unit.files, |view| &view.unit.files);
                for file in files {
                    let range = first_changed_range(
                        file.before.as_deref().unwrap_or(""),
                        file.after.as_deref().unwrap_or(""),
                        encoding,
                    );
                    let range = if file.before.is_some() {
                        range
                    } else {
                        Default::default()
                    };
                    by_path
                        .entry(file.path.clone())
                        .or_default()
                        .push(pending_diagnostic(change, range));
                }
            }
        }
        let mut now = Vec::new();
        for (path, diagnostics) in by_path {
            if let Some(uri) = self.uri_of(&path) {
                now.push((uri, diagnostics));
            }
        }
        let current: HashSet<String> = now.iter().map(|(u, _)| u.as_str().to_owned()).collect();
        let stale: Vec<String> = published.difference(&current).cloned().collect();
        *published = current;
        for uri in stale {
            if let Ok(uri) = uri.parse::<Uri>() {
                self.client.publish_diagnostics(uri, Vec::new(), None).await;
            }
        }
        for (uri, diagnostics) in now {
            self.client
                .publish_diagnostics(uri, diagnostics, None)
                .await;
        }
    }

    /// Opens a change's diff in the editor with `window/showDocument`, where supported.
    pub async fn show_diff(&self, id: &str, diff: &str) -> bool {
        if !self.shared.caps().show_document {
            return false;
        }
        let Some(dir) = diff_dir() else {
            return false;
        };
        let path = dir.join(format!("change-{id}.diff"));
        if std::fs::write(&path, diff).is_err() {
            return false;
        }
        let Some(uri) = Uri::from_file_path(&path) else {
            return false;
        };
        let params = ShowDocumentParams {
            uri,
            external: None,
            take_focus: Some(true),
            selection: None,
        };
        matches!(self.client.show_document(params).await, Ok(true))
    }

    /// Approve / Reject / Show diff actions for the pending changes touching `uri`.
    pub fn code_actions(&self, uri: &Uri) -> Vec<CodeActionOrCommand> {
        let Some(path) = self
            .shared
            .docs()
            .path_of(uri)
            .map(str::to_owned)
            .or_else(|| {
                let workspace = self.shared.workspace.get()?;
                match super::from_proto::resolve_uri(workspace, uri).ok()? {
                    crate::workspace::Resolved::Inside { relative, .. } => Some(relative),
                    crate::workspace::Resolved::Forbidden { .. } => None,
                }
            })
        else {
            return Vec::new();
        };
        let Some(gate) = self.shared.gate() else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        for change in gate.pending().filter(|c| {
            c.unit
                .files
                .iter()
                .any(|f| f.touched_paths().any(|p| p == path))
        }) {
            let args = vec![json!({ "id": change.id, "hash": change.hash })];
            let mut offered = vec![
                (
                    format!("Approve change {} ({})", change.id, change.level()),
                    p::APPROVE,
                ),
                (format!("Reject change {}", change.id), p::REJECT),
                (format!("Show diff of change {}", change.id), p::DIFF),
            ];
            if let Ok(scope) = gate.scope_of(change) {
                offered.insert(
                    1,
                    (
                        format!(
                            "Approve change {} always for {}",
                            change.id,
                            scope.describe()
                        ),
                        p::APPROVE_ALWAYS,
                    ),
                );
            }
            for (title, command) in offered {
                let arguments = if command == p::DIFF {
                    vec![json!({ "id": change.id })]
                } else {
                    args.clone()
                };
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: title.clone(),
                    kind: Some(CodeActionKind::QUICKFIX),
                    command: Some(Command {
                        title,
                        command: command.to_owned(),
                        arguments: Some(arguments),
                    }),
                    ..Default::default()
                }));
            }
        }
        actions
    }
}

/// `autogate/pendingChanged`: the pending set, for clients with their own review UI.
enum PendingChanged {}

impl tower_lsp_server::ls_types::notification::Notification for PendingChanged {
    type Params = serde_json::Value;
    const METHOD: &'static str = p::PENDING_NOTIFICATION;
}

/// Asks the person about one change, until they approve, reject or dismiss.
async fn prompt(ctx: &Context, id: &str) {
    loop {
        if ctx.shared.fallback.load(Ordering::Relaxed) {
            return;
        }
        let (message, hash, always) = {
            let Some(gate) = ctx.shared.gate() else {
                return;
            };
            let Some(change) = gate.get(id) else { return };
            if !change.awaits_approval() {
                return;
            }
            let summary = change.summary();
            (
                format!(
                    "autogate: change {id} ({}) to {} waits for approval: {}",
                    change.level(),
                    summary.files.join(", "),
                    summary.reasons.join("; ")
                ),
                change.hash.clone(),
                gate.scope_of(change)
                    .ok()
                    .map(|scope| format!("{APPROVE_ALWAYS}{}", scope.describe())),
            )
        };
        let mut titles = vec![APPROVE.to_owned()];
        titles.extend(always);
        titles.extend([REJECT.to_owned(), SHOW_DIFF.to_owned()]);
        let actions = titles
            .into_iter()
            .map(|title| MessageActionItem {
                title,
                properties: Default::default(),
            })
            .collect();
        let answer = ctx
            .client
            .show_message_request(MessageType::WARNING, message, Some(actions))
            .await;
        match answer {
            Ok(Some(item)) if item.title == APPROVE => {
                tell(ctx, approve(ctx, id, Some(&hash)).await).await;
                return;
            }
            Ok(Some(item)) if item.title.starts_with(APPROVE_ALWAYS) => {
                tell(ctx, approve_always(ctx, id, Some(&hash)).await).await;
                return;
            }
            Ok(Some(item)) if item.title == REJECT => {
                tell(ctx, reject(ctx, id).await).await;
                return;
            }
            Ok(Some(item)) if item.title == SHOW_DIFF => {
                let diff = {
                    let Some(gate) = ctx.shared.gate() else {
                        return;
                    };
                    let Some(change) = gate.get(id) else { return };
                    crate::gate::unified_diff(change)
                };
                if !ctx.approvals.show_diff(id, &diff).await {
                    ctx.client
                        .show_message(MessageType::INFO, format!("autogate change {id}:\n{diff}"))
                        .await;
                }
            }
            Ok(_) => return, // dismissed: stays pending, shown as a diagnostic
            Err(e) if e.code == ErrorCode::MethodNotFound => {
                tracing::info!(
                    "the client cannot show message requests; using diagnostics and code actions"
                );
                ctx.shared.fallback.store(true, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                tracing::warn!("showMessageRequest failed: {}", e.message);
                return;
            }
        }
    }
}

/// The standing approvals that hold now, read from the clone's store (none if the workspace is
/// not known yet or the store cannot be read: the gate then asks).
pub fn standing_now(ctx: &Context) -> Vec<crate::learn::standing::StandingApproval> {
    let Some(workspace) = ctx.shared.workspace.get() else {
        return Vec::new();
    };
    match crate::learn::standing::Store::open(workspace.root()) {
        Ok(store) => store.active(),
        Err(e) => {
            tracing::warn!("standing approvals ignored: {e:#}");
            Vec::new()
        }
    }
}

/// Tells the person how a decision taken in the prompt went: the summary, or the error.
async fn tell(ctx: &Context, result: Result<crate::protocol::Summary, CommandError>) {
    match result {
        Ok(summary) => {
            ctx.client
                .show_message(MessageType::INFO, summary.headline())
                .await
        }
        Err(e) => {
            ctx.client
                .show_message(MessageType::ERROR, format!("autogate: {e}"))
                .await
        }
    }
}

/// `autogate.approveAlways`: approves a pending change (bound to its content hash, as
/// `autogate.approve`) and makes a standing approval of its scope, so that later changes of
/// that scope apply without asking. Refused, and nothing approved, when the change may not
/// have one (critical, secrets, protected or control files, production unless the team
/// policy allows it, an ask a standing approval does not override).
pub async fn approve_always(
    ctx: &Context,
    id: &str,
    hash: Option<&str>,
) -> Result<p::Summary, CommandError> {
    let (scope, days) = {
        let gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
        let change = gate.get(id).ok_or_else(|| unknown_change(id))?;
        not_pending(change, "approved")?;
        if hash != Some(change.hash.as_str()) {
            return Err(CommandError::InvalidParams(format!(
                "autogate.approveAlways needs `hash`, the content hash of change {id} as shown \
                 to the person; it is missing or differs, so the approval is void"
            )));
        }
        let scope = gate.scope_of(change).map_err(|why| {
            CommandError::InvalidParams(format!(
                "change {id} cannot be approved always: {why}; approve it once instead"
            ))
        })?;
        (scope, gate.policy.approvals().days)
    };
    let root = ctx
        .shared
        .workspace
        .get()
        .ok_or(CommandError::NotInitialized)?
        .root()
        .to_path_buf();
    let change_id = id.to_owned();
    let approval = tokio::task::spawn_blocking(move || {
        let store = crate::learn::standing::Store::open(&root)?;
        store.add(scope, &crate::learn::standing::who(&root), days, &change_id)
    })
    .await
    .map_err(|e| CommandError::Internal(e.into()))??;
    {
        let mut gate = ctx.shared.gate().ok_or(CommandError::NotInitialized)?;
        gate.standing.push(approval.clone());
        let note = approval.note();
        gate.update(&[id.to_owned()], |change| {
            change.standing = Some(approval.id.clone());
            change.notes.push(note.clone());
        });
    }
    ctx.shared
        .audit(&[id.to_owned()], autogate_vcs::AuditEvent::ApprovedAlways);
    approve(ctx, id, hash).await
}

static DIFF_DIR: std::sync::OnceLock<Option<tempfile::TempDir>> = std::sync::OnceLock::new();

/// The folder the diffs shown to the person are written to: created once per server with an
/// unpredictable name, readable by its owner only, so that nobody else on the machine can plant
/// a symlink where a diff is about to be written, or read one.
fn diff_dir() -> Option<&'static std::path::Path> {
    DIFF_DIR
        .get_or_init(|| {
            let mut builder = tempfile::Builder::new();
            builder.prefix("autogate-diffs-");
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
            builder
                .tempdir()
                .map_err(|e| tracing::warn!("cannot make a folder for diffs: {e}"))
                .ok()
        })
        .as_ref()
        .map(tempfile::TempDir::path)
}

/// Removes the folder of diffs, once the server is done (a static is never dropped, so its
/// `TempDir` would stay behind in the temporary directory).
pub(super) fn remove_diff_dir() {
    let made = DIFF_DIR.get().and_then(|d| d.as_ref());
    if let Some(Err(e)) = made.map(|dir| std::fs::remove_dir_all(dir.path())) {
        tracing::debug!("cannot remove the folder of diffs: {e}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(unix)]
    fn diffs_go_to_a_private_folder_with_an_unpredictable_name() {
        use std::os::unix::fs::PermissionsExt;
        let dir = super::diff_dir().expect("a temp folder");
        let mode = std::fs::metadata(dir)
            .expect("it exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert_ne!(name, format!("autogate-diffs-{}", std::process::id()));
        assert!(name.starts_with("autogate-diffs-"), "{name}");
    }
}
