//! The language server: the only module that knows LSP and JSON-RPC.
//!
//! `serve` wires tower-lsp-server to the gate. Document sync happens in wire order in
//! [`ordered`]; commands run in [`commands`]; every write goes through the single [`apply`]
//! task; approvals reach the person through [`approval`].

pub mod apply;
pub mod approval;
pub mod backend;
pub mod commands;
pub mod documents;
pub mod from_proto;
pub mod guard;
pub mod index;
pub mod ordered;
pub mod policy;
pub mod run;
pub mod session;
pub mod standing;
pub mod to_proto;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use autogate_analysis::Encoding;
use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::{LspService, Server};

use crate::gate::Gate;
use crate::workspace::Workspace;

/// How many requests tower-lsp-server runs at once. Its default (4) lets four handlers that
/// await the client block the reader, which then cannot read the client's answers: a deadlock.
/// Handlers that wait on the person are spawned; this bound is only for the rest.
const MAX_CONCURRENCY: usize = 256;

/// What the client can do, from `initialize`.
#[derive(Clone, Debug, Default)]
pub struct ClientCaps {
    pub message_actions: bool,
    pub show_document: bool,
    pub review: bool,
    pub work_done_progress: bool,
    pub watch_files: bool,
    /// The client saves documents on `autogate/saveDocuments` (the VS Code and Neovim clients).
    pub save_documents: bool,
}

/// State shared by the handlers, the wire-order layer and the background tasks.
pub struct Shared {
    pub workspace: OnceLock<Workspace>,
    encoding: AtomicU8,
    pub documents: Mutex<Documents>,
    pub gate: OnceLock<Mutex<Gate>>,
    pub caps: OnceLock<ClientCaps>,
    /// Set when the client answered showMessageRequest with MethodNotFound (Helix 25.07).
    pub fallback: AtomicBool,
    apply_timeout_ms: std::sync::atomic::AtomicU64,
    /// The editor's overrides (tighten only), re-applied at every reload.
    pub overrides: Mutex<autogate_policy::EditorOverrides>,
    /// The last valid team policy: it stays in force while the file has errors.
    pub last_valid_policy: Mutex<Option<autogate_policy::Policy>>,
    /// Running tasks (`autogate.run`, verification), by progress token, for cancellation.
    pub tasks: Arc<run::Tasks>,
    /// Checkpoints and the audit trail; an error here makes every apply fail closed.
    pub safety: OnceLock<Result<crate::safety::SafetyNet, String>>,
    /// What the first policy load has to tell the person, sent once `initialized` arrives.
    pub startup_report: Mutex<Option<policy::Report>>,
    /// Whether the first workspace index build is installed in the gate.
    pub index_ready: tokio::sync::watch::Sender<bool>,
    /// Pending changes a door waits on through the session socket, by id.
    pub door_waiters: session::Waiters,
    /// The door that runs hooks' calls handed to this session, opened at the first one.
    pub door: tokio::sync::Mutex<Option<crate::door::Door>>,
    /// Whether the call holding [`Shared::door`] waits for the person (then another call
    /// does not wait for it).
    pub door_asking: std::sync::atomic::AtomicBool,
    /// The snapshots hooks took before agents' shell commands, out of those commands' reach.
    pub snapshots: std::sync::Mutex<session::Vault>,
    /// The checkpoint of the last proposal, stored ahead while it was judged (keyed by
    /// `safety::states_key`); the writer names it if its batch is exactly that proposal.
    pub ahead: std::sync::Mutex<Option<Ahead>>,
}

/// A checkpoint being stored ahead, and what it holds.
pub struct Ahead {
    pub key: String,
    pub prepared: tokio::task::JoinHandle<anyhow::Result<autogate_vcs::Prepared>>,
}

pub use documents::Documents;

impl Shared {
    fn new() -> Self {
        Self {
            workspace: OnceLock::new(),
            encoding: AtomicU8::new(1),
            documents: Mutex::new(Documents::default()),
            gate: OnceLock::new(),
            caps: OnceLock::new(),
            fallback: AtomicBool::new(false),
            apply_timeout_ms: std::sync::atomic::AtomicU64::new(30_000),
            overrides: Mutex::new(Default::default()),
            last_valid_policy: Mutex::new(None),
            startup_report: Mutex::new(None),
            safety: OnceLock::new(),
            tasks: Default::default(),
            index_ready: tokio::sync::watch::Sender::new(false),
            door_waiters: Default::default(),
            door: tokio::sync::Mutex::new(None),
            door_asking: Default::default(),
            snapshots: Default::default(),
            ahead: std::sync::Mutex::new(None),
        }
    }

    pub fn encoding(&self) -> Encoding {
        match self.encoding.load(Ordering::Relaxed) {
            0 => Encoding::Utf8,
            2 => Encoding::Utf32,
            _ => Encoding::Utf16,
        }
    }

    fn set_encoding(&self, encoding: Encoding) {
        let v = match encoding {
            Encoding::Utf8 => 0,
            Encoding::Utf16 => 1,
            Encoding::Utf32 => 2,
        };
        self.encoding.store(v, Ordering::Relaxed);
    }

    pub fn apply_timeout(&self) -> Duration {
        Duration::from_millis(self.apply_timeout_ms.load(Ordering::Relaxed))
    }

    pub fn docs(&self) -> MutexGuard<'_, Documents> {
        self.documents.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The gate. `None` before `initialize`.
    pub fn gate(&self) -> Option<MutexGuard<'_, Gate>> {
        self.gate
            .get()
            .map(|g| g.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The safety net, or why it is unavailable.
    pub fn safety(&self) -> Result<&crate::safety::SafetyNet, String> {
        match self.safety.get() {
            Some(Ok(net)) => Ok(net),
            Some(Err(e)) => Err(e.clone()),
            None => Err("the server is not initialized".to_owned()),
        }
    }

    /// Queues an audit record for each change (written in order off this path; logged, never
    /// fatal). [`Shared::audit_flushed`] waits for them.
    pub fn audit(&self, ids: &[String], event: autogate_vcs::AuditEvent) {
        self.audit_with(ids, event, None);
    }

    /// Queues an audit record for each change, with a verification result.
    pub fn audit_with(
        &self,
        ids: &[String],
        event: autogate_vcs::AuditEvent,
        verification: Option<&serde_json::Value>,
    ) {
        let Ok(net) = self.safety() else { return };
        if let Some(gate) = self.gate() {
            net.audit(
                ids.iter().filter_map(|id| gate.get(id)),
                event,
                verification,
            );
        }
    }

    /// Resolves once every audit record queued so far is written.
    pub async fn audit_flushed(&self) {
        if let Ok(net) = self.safety() {
            net.audit_flushed().await;
        }
    }

    pub fn caps(&self) -> ClientCaps {
        self.caps.get().cloned().unwrap_or_default()
    }
}

/// Serves LSP on the given streams until `exit`.
pub async fn serve<I, O>(input: I, output: O)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
    I: Send + 'static,
{
    let _ = serve_checked(input, output).await;
}

/// [`serve`], with an error when the input stream was beyond repair (the process should then
/// exit non-zero; the guard has logged why).
pub async fn serve_checked<I, O>(input: I, output: O) -> Result<(), guard::Broken>
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
    I: Send + 'static,
{
    let shared = Arc::new(Shared::new());
    let (service, socket) = {
        let shared = shared.clone();
        LspService::build(move |client| backend::Backend::new(client, shared))
            .custom_method(guard::MALFORMED_METHOD, backend::Backend::malformed)
            .custom_method(
                "window/workDoneProgress/cancel",
                backend::Backend::progress_cancel,
            )
            .finish()
    };
    let service = ordered::Ordered::new(service, shared);
    // Malformed frames are repaired before tower-lsp-server's reader, which would stop on them.
    let (guarded, guard_out) = tokio::io::duplex(1 << 16);
    let broken = Arc::new(std::sync::OnceLock::new());
    {
        let broken = broken.clone();
        tokio::spawn(async move {
            let mut guard_out = guard_out;
            if let Err(e) = guard::run(input, &mut guard_out).await {
                // Set before the pipe closes, so the server sees it when its input ends.
                let _ = broken.set(e);
            }
        });
    }
    Server::new(guarded, output, socket)
        .concurrency_level(MAX_CONCURRENCY)
        .serve(service)
        .await;
    match broken.get() {
        Some(e) => Err(e.clone()),
        None => Ok(()),
    }
}

/// Serves LSP over stdin and stdout.
pub async fn run_stdio() -> Result<(), guard::Broken> {
    let served = serve_checked(tokio::io::stdin(), tokio::io::stdout()).await;
    approval::remove_diff_dir();
    served
}
