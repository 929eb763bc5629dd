//! `autogate.run`: built-in operations and LLM tasks, gated like any other proposal.
//!
//! The command answers `{ "task_id" }` at once; the work runs in a spawned task that reports
//! `$/progress` (when the client supports it), can be cancelled with
//! `window/workDoneProgress/cancel`, and ends in a Summary shown to the person. Nothing is
//! applied after a cancel: the cancellation is checked right before the proposal is gated.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use autogate_analysis::text::{char_index, position};
use autogate_analysis::{Encoding, Proposal, TextDocument};
use autogate_llm::{ContextFile, PromptLimits};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::{MessageType, NumberOrString, ProgressToken, Range, Uri};

use super::commands::{CommandError, Context, gate_intake};
use super::from_proto::Intake;
use crate::gate::{Base, Origin};
use crate::protocol::RunArgs;
use crate::runner::{self, Cursor, RenameTarget, RunError, SourceFile, Task};
use crate::workspace::Resolved;

/// Most files read for a workspace-wide rename.
const MAX_RENAME_FILES: usize = 20_000;

/// Running tasks, by progress token, for cancellation.
#[derive(Default)]
pub struct Tasks {
    next: AtomicU64,
    running: Mutex<HashMap<String, CancellationToken>>,
}

impl Tasks {
    pub fn insert(&self, token: &str, cancel: CancellationToken) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.to_owned(), cancel);
    }

    pub fn remove(&self, token: &str) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }

    pub fn cancel(&self, token: &str) -> bool {
        match self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token)
        {
            Some(cancel) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }
}

/// A target file as the runner needs it, with where its text came from.
struct Target {
    path: String,
    text: String,
    base: Base,
}

fn read_target(ctx: &Context, path: &str) -> Result<Target, CommandError> {
    if let Some(open) = ctx.shared.docs().get(path) {
        return Ok(Target {
            path: path.to_owned(),
            text: open.doc.text(),
            base: Base::Open {
                version: open.doc.version,
            },
        });
    }
    let workspace = ctx
        .shared
        .workspace
        .get()
        .ok_or(CommandError::NotInitialized)?;
    match workspace
        .read(path)
        .map_err(|e| CommandError::InvalidParams(format!("{e:#}")))?
    {
        Some(text) => Ok(Target {
            path: path.to_owned(),
            text,
            base: Base::Disk,
        }),
        None => Err(CommandError::InvalidParams(format!(
            "{path} does not exist"
        ))),
    }
}

fn resolve(ctx: &Context, uri: &Uri) -> Result<String, CommandError> {
    let workspace = ctx
        .shared
        .workspace
        .get()
        .ok_or(CommandError::NotInitialized)?;
    match super::from_proto::resolve_uri(workspace, uri)
        .map_err(|e| CommandError::InvalidParams(e.0))?
    {
        Resolved::Inside { relative, .. } => Ok(relative),
        Resolved::Forbidden { display, why } => {
            Err(CommandError::InvalidParams(format!("{display}: {why}")))
        }
    }
}

/// Starts a task; answers at once with its id.
pub async fn start(ctx: &Context, args: RunArgs) -> Result<Value, CommandError> {
    let task = runner::parse_task(&args.task);
    if matches!(&task, Task::Llm(t) if t.trim().is_empty()) {
        return Err(CommandError::InvalidParams(RunError::EmptyTask.to_string()));
    }
    let path = args.uri.as_ref().map(|u| resolve(ctx, u)).transpose()?;
    if task.builtin_name().is_some() && path.is_none() {
        return Err(CommandError::InvalidParams(format!(
            "autogate.run `{}` works on a file: give its `uri`",
            task.builtin_name().unwrap_or("task")
        )));
    }
    let provider = match &task {
        Task::Llm(_) => {
            let settings = ctx.shared.gate().and_then(|g| g.policy.llm().cloned());
            let settings = settings
                .ok_or_else(|| CommandError::InvalidParams(RunError::NoProvider.to_string()))?;
            Some(
                runner::provider_from_policy(&settings)
                    .map_err(|e| CommandError::InvalidParams(e.to_string()))?,
            )
        }
        _ => None,
    };
    let target = path.as_deref().map(|p| read_target(ctx, p)).transpose()?;

    let n = ctx.tasks.next.fetch_add(1, Ordering::Relaxed) + 1;
    let task_id = format!("autogate-run-{n}");
    let cancel = CancellationToken::new();
    ctx.tasks
        .running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(task_id.clone(), cancel.clone());
    let ctx2 = ctx.clone();
    let id = task_id.clone();
    let text = args.task.clone();
    let range = args.range;
    tokio::spawn(async move {
        run(&ctx2, &id, &text, task, target, range, provider, cancel).await;
        ctx2.tasks
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    });
    Ok(json!({ "task_id": task_id }))
}

#[allow(clippy::too_many_arguments)]
async fn run(
    ctx: &Context,
    id: &str,
    text: &str,
    task: Task,
    target: Option<Target>,
    range: Option<Range>,
    provider: Option<autogate_llm::Provider>,
    cancel: CancellationToken,
) {
    let token = ProgressToken::String(id.to_owned());
    let title = format!("autogate: {}", task.builtin_name().unwrap_or("task"));
    let progress = begin_progress(&ctx.client, &ctx.shared, token, title, text.to_owned()).await;
    let work = produce(ctx, &task, target.as_ref(), range, provider.as_ref());
    let result = tokio::select! {
        () = cancel.cancelled() => Err("cancelled; nothing was applied".to_owned()),
        result = work => result,
    };
    let message = match result {
        Ok((intake, notes)) if !cancel.is_cancelled() => {
            let origin = Origin {
                intent: Some(text.to_owned()),
                source: Some(format!(
                    "autogate.run:{}",
                    task.builtin_name().unwrap_or("llm")
                )),
            };
            match gate_intake(ctx, intake, origin).await {
                Ok(summary) => {
                    let mut headline = summary.headline();
                    if !notes.is_empty() {
                        headline.push_str(&format!(" ({})", notes.join("; ")));
                    }
                    headline
                }
                Err(e) => format!("autogate: {e}"),
            }
        }
        Ok(_) => "autogate: cancelled; nothing was applied".to_owned(),
        Err(message) => {
            let kind = if message.contains("nothing to change") || message.starts_with("cancelled")
            {
                MessageType::INFO
            } else {
                MessageType::ERROR
            };
            ctx.client
                .show_message(kind, format!("autogate: {message}"))
                .await;
            format!("autogate: {message}")
        }
    };
    if let Some(progress) = progress {
        progress.finish_with_message(message).await;
    }
}

/// Begins a cancellable `$/progress` report under `token`, when the client supports it.
/// Cancelling it (`window/workDoneProgress/cancel`) goes through [`Tasks`].
pub(super) async fn begin_progress(
    client: &tower_lsp_server::Client,
    shared: &super::Shared,
    token: ProgressToken,
    title: String,
    message: String,
) -> Option<
    tower_lsp_server::OngoingProgress<tower_lsp_server::Unbounded, tower_lsp_server::Cancellable>,
> {
    if !shared.caps().work_done_progress {
        return None;
    }
    let params = tower_lsp_server::ls_types::WorkDoneProgressCreateParams {
        token: token.clone(),
    };
    client
        .send_request::<tower_lsp_server::ls_types::request::WorkDoneProgressCreate>(params)
        .await
        .ok()?;
    Some(
        client
            .progress(token, title)
            .with_message(message)
            .with_cancel_button()
            .begin()
            .await,
    )
}

/// Runs the operation and turns its proposal into an intake for the gate.
async fn produce(
    ctx: &Context,
    task: &Task,
    target: Option<&Target>,
    range: Option<Range>,
    provider: Option<&autogate_llm::Provider>,
) -> Result<(Intake, Vec<String>), String> {
    let mut bases = BTreeMap::new();
    if let Some(t) = target {
        bases.insert(t.path.clone(), t.base.clone());
    }
    let need = || target.ok_or_else(|| "this task works on a file: give its `uri`".to_owned());
    let (proposal, notes): (Proposal, Vec<String>) = match task {
        Task::Tidy => (
            runner::tidy(&need()?.path, &need()?.text).map_err(|e| e.to_string())?,
            Vec::new(),
        ),
        Task::Document => (
            runner::document(&need()?.path, &need()?.text).map_err(|e| e.to_string())?,
            Vec::new(),
        ),
        Task::Format => {
            let options = runner::FormatOptions {
                cwd: ctx.shared.workspace.get().map(|w| w.root().to_path_buf()),
                ..Default::default()
            };
            (
                runner::format(&need()?.path, &need()?.text, &options)
                    .await
                    .map_err(|e| e.to_string())?,
                Vec::new(),
            )
        }
        Task::Rename { new_name } => {
            let t = need()?;
            let start = range
                .map(|r| r.start)
                .ok_or_else(|| "rename needs the cursor: give a `range`".to_owned())?;
            let cursor = utf32_cursor(&t.text, start.line, start.character, ctx.shared.encoding())?;
            let files = family_files(ctx, &t.path, &mut bases)?;
            let target = RenameTarget::Cursor {
                path: t.path.clone(),
                cursor,
            };
            (
                runner::rename(&files, &target, new_name).map_err(|e| e.to_string())?,
                Vec::new(),
            )
        }
        Task::Llm(task) => {
            let provider = provider.ok_or_else(|| RunError::NoProvider.to_string())?;
            let mut files: Vec<ContextFile> = target
                .iter()
                .map(|t| ContextFile {
                    path: t.path.clone(),
                    content: t.text.clone(),
                })
                .collect();
            files.extend(related_definitions(ctx, target, range));
            let selection = match (target, range) {
                (Some(t), Some(r)) => Some(runner::selection(
                    &t.path,
                    &t.text,
                    r.start.line,
                    r.end.line,
                )),
                _ => None,
            };
            let shared = ctx.shared.clone();
            let read = move |path: &str| -> Option<String> {
                if let Some(open) = shared.docs().get(path) {
                    return Some(open.doc.text());
                }
                shared
                    .workspace
                    .get()
                    .and_then(|w| w.read(path).ok().flatten())
            };
            let task = format!("{task}\n\n{}", policy_limits(ctx));
            let outcome = runner::run_llm_task(
                provider,
                &task,
                &files,
                selection,
                &PromptLimits::default(),
                |_| {},
                read,
            )
            .await
            .map_err(|e| e.to_string())?;
            for file in &outcome.proposal.files {
                if !bases.contains_key(&file.path) {
                    let base = match ctx.shared.docs().get(&file.path) {
                        Some(open) => Base::Open {
                            version: open.doc.version,
                        },
                        None => Base::Disk,
                    };
                    bases.insert(file.path.clone(), base);
                }
            }
            (outcome.proposal, outcome.notes)
        }
    };
    // Every path the runner produced goes through the workspace's resolution, like any intake.
    let workspace = ctx
        .shared
        .workspace
        .get()
        .ok_or_else(|| "the server is not initialized".to_owned())?;
    let mut intake = Intake {
        bases,
        ..Default::default()
    };
    for file in proposal.files {
        match workspace.resolve(std::path::Path::new(&file.path)) {
            Resolved::Inside { relative, .. } if relative == file.path => {
                intake.proposal.files.push(file)
            }
            Resolved::Inside { .. } => intake.forbidden.push((
                file.path.clone(),
                "path does not name a file inside the workspace",
            )),
            Resolved::Forbidden { display, why } => intake.forbidden.push((display, why)),
        }
    }
    Ok((intake, notes))
}

/// Most files of related definitions sent with an LLM task.
const MAX_RELATED_FILES: usize = 4;

/// Files that define the names used in the selection (or the target file), from the workspace
/// index: the definitions a model needs to see to change the code correctly.
fn related_definitions(
    ctx: &Context,
    target: Option<&Target>,
    range: Option<Range>,
) -> Vec<ContextFile> {
    let Some(target) = target else {
        return Vec::new();
    };
    let text: String = match range {
        Some(r) => target
            .text
            .lines()
            .skip(r.start.line as usize)
            .take(r.end.line.saturating_sub(r.start.line) as usize + 1)
            .collect::<Vec<_>>()
            .join("\n"),
        None => target.text.clone(),
    };
    let mut names: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| {
            w.len() > 2
                && w.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut paths: Vec<String> = Vec::new();
    if let Some(gate) = ctx.shared.gate() {
        for name in names {
            for path in gate.index.definitions(name) {
                if path != target.path && !paths.contains(&path) && paths.len() < MAX_RELATED_FILES
                {
                    paths.push(path);
                }
            }
        }
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let open = ctx.shared.docs().get(&path).map(|d| d.doc.text());
            let content = match open {
                Some(text) => text,
                None => ctx.shared.workspace.get()?.read(&path).ok()??,
            };
            Some(ContextFile { path, content })
        })
        .collect()
}

/// The policy's limits, for the model: what will apply on its own and what a person sees.
fn policy_limits(ctx: &Context) -> String {
    let Some(gate) = ctx.shared.gate() else {
        return String::new();
    };
    let thresholds = gate.policy.thresholds(&gate.environment);
    let protected: Vec<String> = gate
        .policy
        .protected()
        .patterns()
        .iter()
        .take(8)
        .cloned()
        .collect();
    format!(
        "autogate gates your edit: in the {} environment, changes up to `{}` risk apply on their own, \
         riskier ones wait for a person, and from `{}` they are refused. Protected paths ({}) and \
         sensitive code (auth, crypto, SQL, shell, unsafe) are high risk; secrets are refused. Keep \
         the change small and focused on the task.",
        gate.environment.name,
        thresholds.auto_up_to,
        thresholds.deny_from,
        protected.join(", "),
    )
}

/// An LSP position in the negotiated encoding → the runner's UTF-32 cursor.
fn utf32_cursor(
    text: &str,
    line: u32,
    character: u32,
    encoding: Encoding,
) -> Result<Cursor, String> {
    let doc = TextDocument::new(text, 0, "");
    let at = char_index(&doc.rope, (line, character), encoding).map_err(|e| e.to_string())?;
    let (line, character) = position(&doc.rope, at, Encoding::Utf32);
    Ok(Cursor { line, character })
}

/// The workspace files of the target's language family (gitignore honoured), for a rename.
fn family_files(
    ctx: &Context,
    path: &str,
    bases: &mut BTreeMap<String, Base>,
) -> Result<Vec<SourceFile>, String> {
    let family = autogate_analysis::Language::from_path(path)
        .map(autogate_analysis::Language::family)
        .ok_or_else(|| format!("{path}: rename does not support this language"))?;
    let workspace = ctx
        .shared
        .workspace
        .get()
        .ok_or_else(|| "the server is not initialized".to_owned())?;
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(workspace.root())
        .build()
        .flatten()
        .take(MAX_RENAME_FILES)
    {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(workspace.root()) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        if autogate_analysis::Language::from_path(&relative)
            .map(autogate_analysis::Language::family)
            != Some(family)
        {
            continue;
        }
        let (text, base) = match ctx.shared.docs().get(&relative) {
            Some(open) => (
                open.doc.text(),
                Base::Open {
                    version: open.doc.version,
                },
            ),
            None => match workspace.read(&relative) {
                Ok(Some(text)) => (text, Base::Disk),
                _ => continue,
            },
        };
        bases.insert(relative.clone(), base);
        files.push(SourceFile {
            path: relative,
            text,
        });
    }
    Ok(files)
}

/// `window/workDoneProgress/cancel` parameters.
#[derive(Debug, Deserialize)]
pub struct CancelParams {
    pub token: NumberOrString,
}

/// The token as the task map keys it.
pub fn token_key(token: &NumberOrString) -> String {
    match token {
        NumberOrString::String(s) => s.clone(),
        NumberOrString::Number(n) => n.to_string(),
    }
}
