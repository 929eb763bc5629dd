//! The `LanguageServer` implementation: initialize, document sync hooks, commands, code actions.

use std::path::PathBuf;
use std::sync::Arc;

use autogate_analysis::Encoding;
use autogate_policy::{Environment, Policy};
use serde_json::Value;
use tower_lsp_server::jsonrpc::{self, Result};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, CodeActionResponse, Command, DidChangeConfigurationParams,
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, ExecuteCommandOptions,
    ExecuteCommandParams, FileSystemWatcher, GlobPattern, InitializeParams, InitializeResult,
    InitializedParams, MessageType, PositionEncodingKind, Registration, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};
use tower_lsp_server::{Client, LanguageServer};

use super::apply::Applier;
use super::approval::Approvals;
use super::commands::{self, Context};
use super::ordered::panic_message;
use super::{ClientCaps, Shared};
use crate::gate::Gate;
use crate::protocol as p;
use crate::workspace::Workspace;

pub struct Backend {
    client: Client,
    shared: Arc<Shared>,
    ctx: Context,
}

impl Backend {
    pub fn new(client: Client, shared: Arc<Shared>) -> Self {
        let applier = Applier::spawn(client.clone(), shared.clone());
        let approvals = Approvals::new(client.clone(), shared.clone());
        let ctx = Context {
            client: client.clone(),
            shared: shared.clone(),
            applier,
            approvals,
            tasks: shared.tasks.clone(),
        };
        ctx.approvals.start(ctx.clone());
        Self {
            client,
            shared,
            ctx,
        }
    }

    /// `window/workDoneProgress/cancel`: cancels a running `autogate.run` task.
    pub async fn progress_cancel(&self, params: super::run::CancelParams) {
        let key = super::run::token_key(&params.token);
        if self.ctx.tasks.cancel(&key) {
            tracing::info!(task = %key, "cancelled by the client");
        }
    }

    /// Answers a malformed message the input guard replaced (see `guard`).
    pub async fn malformed(&self, params: Value) -> Result<Value> {
        Err(super::guard::answer(params))
    }
}

/// The workspace root the client named: the first workspace folder, else `rootUri`, else cwd.
fn workspace_root(params: &InitializeParams) -> PathBuf {
    if let Some(folder) = params.workspace_folders.as_ref().and_then(|f| f.first())
        && let Some(path) = folder.uri.to_file_path()
    {
        return path.into_owned();
    }
    #[allow(deprecated)]
    if let Some(path) = params.root_uri.as_ref().and_then(|u| u.to_file_path()) {
        return path.into_owned();
    }
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// `experimental.autogate.<name> == true` in the client capabilities.
fn experimental_flag(params: &InitializeParams, name: &str) -> bool {
    params
        .capabilities
        .experimental
        .as_ref()
        .and_then(|e| e.get("autogate"))
        .and_then(|a| a.get(name))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let root = workspace_root(&params);
        let workspace = Workspace::new(&root).map_err(|e| jsonrpc::Error {
            code: jsonrpc::ErrorCode::InvalidParams,
            message: format!("{e:#}").into(),
            data: None,
        })?;

        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.clone())
            .unwrap_or_default();
        let (encoding, kind) = if offered.contains(&PositionEncodingKind::UTF8) {
            (Encoding::Utf8, PositionEncodingKind::UTF8)
        } else {
            (Encoding::Utf16, PositionEncodingKind::UTF16)
        };
        self.shared.set_encoding(encoding);

        let window = params.capabilities.window.as_ref();
        let caps = ClientCaps {
            message_actions: window
                .and_then(|w| w.show_message.as_ref())
                .and_then(|m| m.message_action_item.as_ref())
                .is_some(),
            show_document: window
                .and_then(|w| w.show_document.as_ref())
                .is_some_and(|d| d.support),
            work_done_progress: window.and_then(|w| w.work_done_progress).unwrap_or(false),
            watch_files: params
                .capabilities
                .workspace
                .as_ref()
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false),
            save_documents: experimental_flag(&params, p::SAVE_DOCUMENTS_CAPABILITY),
            review: experimental_flag(&params, p::REVIEW_CAPABILITY),
        };
        let _ = self.shared.caps.set(caps);

        let options = params.initialization_options.unwrap_or(Value::Null);
        let mut startup_messages = Vec::new();
        match super::policy::overrides_from(&options) {
            Ok(overrides) => {
                *self
                    .shared
                    .overrides
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = overrides
            }
            Err(e) => startup_messages.push((MessageType::WARNING, e)),
        }
        if let Some(ms) = options.get("applyTimeoutMs").and_then(Value::as_u64) {
            self.shared
                .apply_timeout_ms
                .store(ms.max(1), std::sync::atomic::Ordering::Relaxed);
        }
        let safety = crate::safety::SafetyNet::open(workspace.root()).map_err(|e| format!("{e:#}"));
        if let Err(e) = &safety {
            startup_messages.push((
                MessageType::ERROR,
                format!("autogate: {e}; nothing will be applied until this is fixed"),
            ));
        }
        let _ = self.shared.safety.set(safety);
        let _ = self.shared.workspace.set(workspace);
        let _ = self.shared.gate.set(std::sync::Mutex::new(Gate::new(
            Policy::fail_closed(),
            Environment {
                name: "production".to_owned(),
                reason: "not loaded yet".to_owned(),
            },
        )));
        let mut report = super::policy::reload(&self.shared);
        report.messages.extend(startup_messages);
        if let Some(gate) = self.shared.gate() {
            tracing::info!(root = %root.display(), environment = %gate.environment.name, mode = %gate.mode(), "initialized");
        }
        *self
            .shared
            .startup_report
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(report);

        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(kind),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                            include_text: Some(false),
                        })),
                        ..Default::default()
                    },
                )),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: p::COMMANDS.iter().map(|c| (*c).to_owned()).collect(),
                    work_done_progress_options: Default::default(),
                }),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "autogate".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, params: InitializedParams) {
        let _ = params;
        let report = self
            .shared
            .startup_report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(report) = report {
            super::policy::publish(&self.client, report).await;
        }
        let summary = self.shared.gate().map(|g| {
            format!(
                "autogate: {} mode, {} ({})",
                g.mode(),
                g.environment.name,
                g.environment.reason
            )
        });
        if let Some(summary) = summary {
            self.client.log_message(MessageType::INFO, summary).await;
        }
        super::index::spawn_build(self.shared.clone(), self.client.clone());
        super::session::spawn(self.ctx.clone());
        if self.shared.caps().watch_files {
            let watch = DidChangeWatchedFilesRegistrationOptions {
                watchers: vec![FileSystemWatcher {
                    glob_pattern: GlobPattern::String(format!("**/{}", crate::config::POLICY_FILE)),
                    kind: None,
                }],
            };
            let registration = Registration {
                id: "autogate-policy-watch".to_owned(),
                method: "workspace/didChangeWatchedFiles".to_owned(),
                register_options: serde_json::to_value(watch).ok(),
            };
            let client = self.client.clone();
            // Spawned: never await the client inside a handler.
            tokio::spawn(async move {
                if let Err(e) = client.register_capability(vec![registration]).await {
                    tracing::warn!("could not register the policy file watcher: {}", e.message);
                }
            });
        }
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        // The person's saved edits count for the blast radius too.
        if let Some(path) = self
            .shared
            .docs()
            .path_of(&params.text_document.uri)
            .map(str::to_owned)
        {
            let text = self
                .shared
                .workspace
                .get()
                .and_then(|w| w.read(&path).ok().flatten());
            super::index::update(&self.shared, &[(path, text)]);
        }
        if super::policy::is_policy_file(&self.shared, &params.text_document.uri) {
            let report = super::policy::reload(&self.shared);
            super::policy::publish(&self.client, report).await;
        }
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        if params
            .changes
            .iter()
            .any(|c| super::policy::is_policy_file(&self.shared, &c.uri))
        {
            let report = super::policy::reload(&self.shared);
            super::policy::publish(&self.client, report).await;
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let section = params
            .settings
            .get("autogate")
            .cloned()
            .unwrap_or(Value::Null);
        match super::policy::overrides_from(&section) {
            Ok(overrides) => {
                *self
                    .shared
                    .overrides
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = overrides;
                let report = super::policy::reload(&self.shared);
                super::policy::publish(&self.client, report).await;
            }
            Err(e) => self.client.show_message(MessageType::WARNING, e).await,
        }
    }

    async fn shutdown(&self) -> Result<()> {
        self.ctx.shared.audit_flushed().await;
        Ok(())
    }

    // Document state changes in `ordered`, in wire order; nothing more to do here.
    async fn did_open(&self, _: DidOpenTextDocumentParams) {}
    async fn did_change(&self, _: DidChangeTextDocumentParams) {}
    async fn did_close(&self, _: DidCloseTextDocumentParams) {}

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        let ctx = self.ctx.clone();
        let command = params.command;
        let name = command.clone();
        // Spawned: a panic is contained, and a cancelled request never leaves a half-applied batch.
        // The answer waits for the audit records the command queued, so a client that reads the
        // trail after an answer finds them.
        let task = tokio::spawn(async move {
            let result = commands::execute(&ctx, &command, params.arguments).await;
            ctx.shared.audit_flushed().await;
            result
        });
        match task.await {
            Ok(Ok(value)) => Ok(Some(value)),
            Ok(Err(error)) => Err(commands::to_jsonrpc(error)),
            Err(join) => {
                let why = if join.is_panic() {
                    panic_message(&join.into_panic())
                } else {
                    "cancelled".to_owned()
                };
                tracing::error!(command = %name, "command failed unexpectedly: {why}");
                Err(jsonrpc::Error {
                    code: jsonrpc::ErrorCode::InternalError,
                    message: format!("{name} failed unexpectedly: {why}").into(),
                    data: None,
                })
            }
        }
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let mut actions = self.ctx.approvals.code_actions(&uri);
        // The built-in operations, gated like any other edit.
        if self.shared.docs().path_of(&uri).is_some() {
            for (task, title) in [
                ("tidy", "autogate: tidy this file"),
                ("document", "autogate: document this file"),
                ("format", "autogate: format this file"),
            ] {
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: title.to_owned(),
                    kind: Some(CodeActionKind::SOURCE),
                    command: Some(Command {
                        title: title.to_owned(),
                        command: p::RUN.to_owned(),
                        arguments: Some(vec![serde_json::json!({ "task": task, "uri": uri })]),
                    }),
                    ..Default::default()
                }));
            }
        }
        Ok(if actions.is_empty() {
            None
        } else {
            Some(actions)
        })
    }
}
