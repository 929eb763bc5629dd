//! `autogate mcp`: a stdio MCP server through which an agent proposes its edits to the gate.
//!
//! Unlike a hook, which can only allow or deny the agent's own write, this door writes: a
//! proposal is gated file by file through the [`Door`], what the policy applies on its own is
//! written at once (checkpoint and audit record first, verification after), what needs a person
//! is held for `autogate approve ID` (or the editor), and what is forbidden is refused. The
//! result tells the model, part by part, which is which, in words it can act on.
//!
//! Nothing here can approve a change, change the mode or touch the policy: `wait` only reports
//! the person's decision (and then writes what they approved).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use anyhow::Result;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData as McpError, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::door::agents::{self, Agent, EditSpec, Replacement};
use crate::door::{ApprovalState, ChangeOutcome, Door, FileEdit, NoDesk, Outcome, Source};
use crate::workspace::Resolved;

/// How long one write waits for another autogate process's write on the workspace.
const LOCK_LIMIT: Duration = Duration::from_secs(10);
/// How long a held change stays in the editor session for the person.
const DESK_WAIT: Duration = Duration::from_secs(3600);
/// The longest `wait` a model may ask for.
const WAIT_MAX: Duration = Duration::from_secs(600);

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ProposeEdit {
    /// The file, relative to the workspace root (or absolute inside it).
    pub path: String,
    /// The exact text to replace; it must occur once unless `replace_all` is true.
    pub old_string: String,
    /// The replacement text.
    pub new_string: String,
    /// Replace every occurrence of `old_string`.
    #[serde(default)]
    pub replace_all: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct WriteFile {
    /// The file, relative to the workspace root (or absolute inside it).
    pub path: String,
    /// The whole new content of the file.
    pub content: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ApplyPatch {
    /// A unified diff (`--- a/x` / `+++ b/x` / `@@` hunks), or a `*** Begin Patch` envelope.
    pub patch: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Explain {
    /// The id of a change, as a previous result gave it.
    pub id: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Wait {
    /// The id of a change waiting for the person.
    pub id: String,
    /// How long to wait for the person's decision, in seconds (default 60, at most 600).
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Rollback {
    /// The checkpoint to restore (default: the latest).
    #[serde(default)]
    pub checkpoint: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PermissionPrompt {
    /// The tool Claude Code wants to run (`Edit`, `Write`, `MultiEdit`, ...).
    pub tool_name: String,
    /// The tool's input, as Claude Code would run it.
    pub input: Value,
    /// Claude Code's id of the tool call.
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

/// A file's new state, captured while the door analyzed it: what this door writes once allowed.
#[derive(Clone, Debug)]
struct Planned {
    path: PathBuf,
    move_to: Option<PathBuf>,
    before: Option<String>,
    after: Option<String>,
}

/// One file's edit as this door takes it: an agent tool's edit, or a unified diff's section.
#[derive(Clone, Debug)]
enum Spec {
    Tool(EditSpec),
    Unified(crate::patch::FilePatch),
}

impl Spec {
    /// The door's file edits, paths made absolute against `root`.
    fn into_file_edits(self, root: &Path) -> Vec<FileEdit> {
        match self {
            Self::Tool(spec) => spec.into_file_edits(root),
            Self::Unified(file) => {
                let path = root.join(file.display_path());
                let mut edit = FileEdit::new(
                    path,
                    Box::new(move |before: Option<&str>| file.apply(before).map_err(|e| e.0)),
                );
                edit.move_to = None;
                vec![edit]
            }
        }
    }
}

/// The edits of a held change, kept so that `wait` can write them once the person approves.
#[derive(Clone, Debug)]
struct Held {
    specs: Vec<Spec>,
}

/// The MCP server of one workspace.
#[derive(Clone)]
pub struct AutogateMcp {
    root: PathBuf,
    door: Arc<Mutex<Door>>,
    source: Source,
    held: Arc<StdMutex<std::collections::HashMap<String, Held>>>,
    tool_router: ToolRouter<Self>,
}

impl AutogateMcp {
    /// Opens the gate of the workspace at `root`.
    pub fn open(root: &Path, agent: Option<String>) -> Result<Self> {
        let door = Door::open(root)?;
        Ok(Self {
            root: door.root().to_path_buf(),
            door: Arc::new(Mutex::new(door)),
            source: Source {
                agent: agent.unwrap_or_else(|| "mcp".to_owned()),
                session: Some(std::process::id().to_string()),
                tool: None,
                prompt: false,
            },
            held: Arc::default(),
            tool_router: Self::tool_router(),
        })
    }

    /// Gates each file of `specs` on its own and writes what may be written. Returns the
    /// model-readable report and whether anything was refused or held.
    async fn gate(&self, tool: &str, specs: Vec<Spec>) -> (String, bool) {
        let mut source = self.source.clone();
        source.tool = Some(tool.to_owned());
        let mut lines = Vec::new();
        let mut blocked = false;
        for spec in split_per_file(specs) {
            let (report, ok) = self.gate_one(&source, spec).await;
            blocked |= !ok;
            lines.push(report);
        }
        if lines.is_empty() {
            return ("nothing to do: the call names no file".to_owned(), true);
        }
        (lines.join("\n"), blocked)
    }

    /// Gates one file's edit: allowed → written, verified and recorded; held → kept for `wait`.
    async fn gate_one(&self, source: &Source, spec: Spec) -> (String, bool) {
        let (edits, planned) = capture(spec.clone(), &self.root);
        let mut door = self.door.lock().await;
        let outcome = match door.propose(edits, source, &NoDesk).await {
            Ok(outcome) => outcome,
            Err(e) => return (format!("refused: {e:#}. Nothing was written."), false),
        };
        if !outcome.allowed() {
            let held: Vec<&ChangeOutcome> = outcome
                .changes
                .iter()
                .filter(|c| c.status == crate::protocol::Status::Pending)
                .collect();
            if !held.is_empty()
                && outcome
                    .changes
                    .iter()
                    .all(|c| c.decision != autogate_policy::Decision::Deny)
            {
                if let Ok(mut map) = self.held.lock() {
                    for change in &held {
                        map.insert(
                            change.id.clone(),
                            Held {
                                specs: vec![spec.clone()],
                            },
                        );
                    }
                }
                let planned = planned.lock().map(|p| p.clone()).unwrap_or_default();
                let ids: Vec<String> = held.iter().map(|c| c.id.clone()).collect();
                self.ask_desk(source.clone(), ids, &planned);
                return (waiting(&held), false);
            }
            return (format!("denied: {}", outcome.message), false);
        }
        let planned = planned.lock().map(|p| p.clone()).unwrap_or_default();
        match write_planned(&door, &planned).await {
            Ok(paths) => {
                let after = door.after_write(&paths, source).await;
                door.tidy().await;
                match after {
                    Ok(check) if !check.allowed() => (check.message, false),
                    Ok(_) => (applied(&outcome), true),
                    Err(e) => (
                        format!("written, but the check after it failed: {e:#}"),
                        false,
                    ),
                }
            }
            Err(e) => (
                format!("refused at write time: {e:#}. Nothing was written."),
                false,
            ),
        }
    }
}

impl AutogateMcp {
    /// Shows held changes in the editor session, if one runs, without blocking the agent: the
    /// person's answer there is recorded as their decision, which `wait` then reports (and the
    /// terminal's `autogate approve` remains the other way).
    fn ask_desk(&self, source: Source, ids: Vec<String>, planned: &[Planned]) {
        let files: Vec<autogate_analysis::FileChange> = planned
            .iter()
            .map(|p| autogate_analysis::FileChange {
                path: p
                    .move_to
                    .as_ref()
                    .unwrap_or(&p.path)
                    .to_string_lossy()
                    .into_owned(),
                old_path: p
                    .move_to
                    .as_ref()
                    .map(|_| p.path.to_string_lossy().into_owned()),
                before: p.before.clone(),
                after: p.after.clone(),
            })
            .collect();
        let door = self.door.clone();
        let desk = crate::desk::SessionDesk::new(&self.root, DESK_WAIT);
        tokio::spawn(async move {
            use crate::door::{Desk, DeskAnswer};
            let approved = match desk.ask(&[], &files, &source).await {
                DeskAnswer::Approved | DeskAnswer::Allowed { .. } => true,
                DeskAnswer::Rejected => false,
                DeskAnswer::Unavailable | DeskAnswer::TimedOut => return,
            };
            let door = door.lock().await;
            for id in &ids {
                if let Err(e) = decide(&door, id, approved).await {
                    tracing::warn!("cannot record the editor's decision on {id}: {e:#}");
                }
            }
        });
    }
}

/// Records the person's decision from the editor on a held change, as `autogate approve`
/// does from a terminal (nothing if it was decided meanwhile).
async fn decide(door: &Door, id: &str, approved: bool) -> Result<()> {
    let state = door.state();
    let Some(mut approval) = state.approval(id)? else {
        return Ok(());
    };
    if approval.state != ApprovalState::Pending {
        return Ok(());
    }
    let how = if approved {
        "approved in the editor"
    } else {
        "rejected in the editor"
    };
    let record = approval.decide(approved, how.to_owned());
    door.net()
        .audit_records(vec![record])
        .written()
        .await
        .map_err(anyhow::Error::msg)?;
    state.decide(&approval)
}

/// One spec per file (a patch's operations each on their own), so that one file waiting for
/// the person does not hold back the others.
fn split_per_file(specs: Vec<Spec>) -> Vec<Spec> {
    specs
        .into_iter()
        .flat_map(|spec| match spec {
            Spec::Tool(EditSpec::Patch(ops)) => ops
                .into_iter()
                .map(|op| Spec::Tool(EditSpec::Patch(vec![op])))
                .collect(),
            other => vec![other],
        })
        .collect()
}

/// The door's file edits for `spec`, each transform also saving the new text it computes.
fn capture(spec: Spec, root: &Path) -> (Vec<FileEdit>, Arc<StdMutex<Vec<Planned>>>) {
    let planned: Arc<StdMutex<Vec<Planned>>> = Arc::default();
    let edits = spec
        .into_file_edits(root)
        .into_iter()
        .map(|edit| {
            let FileEdit {
                path,
                move_to,
                transform,
            } = edit;
            let slot = planned.clone();
            let (p, m) = (path.clone(), move_to.clone());
            FileEdit {
                path,
                move_to,
                transform: Box::new(move |before: Option<&str>| {
                    let after = transform(before)?;
                    if let Ok(mut slot) = slot.lock() {
                        slot.push(Planned {
                            path: p,
                            move_to: m,
                            before: before.map(str::to_owned),
                            after: after.clone(),
                        });
                    }
                    Ok(after)
                }),
            }
        })
        .collect();
    (edits, planned)
}

/// Writes `content` to `path` (relative to the workspace) through the gate, for a command of
/// the person's own (`autogate policy suggest --apply`): gated like an agent's write, a held
/// change asked in the editor session when one runs (waiting for the answer), written only if
/// allowed. Returns whether it was written, and what to tell the person.
pub async fn write_through_gate(
    root: &Path,
    source: &Source,
    path: &str,
    content: &str,
) -> Result<(bool, String)> {
    let mut door = Door::open(root)?;
    let spec = Spec::Tool(EditSpec::Write {
        path: path.to_owned(),
        content: content.to_owned(),
    });
    let (edits, planned) = capture(spec, door.root());
    let desk = crate::desk::SessionDesk::from_env(door.root());
    let outcome = door.propose(edits, source, &desk).await?;
    if !outcome.allowed() {
        return Ok((false, outcome.message));
    }
    let planned = planned.lock().map(|p| p.clone()).unwrap_or_default();
    let paths = write_planned(&door, &planned).await?;
    let check = door.after_write(&paths, source).await?;
    door.tidy().await;
    if !check.allowed() {
        return Ok((false, check.message));
    }
    Ok((true, applied(&outcome)))
}

/// Writes what the door allowed, confined to the workspace, under its write lock. Returns the
/// paths written (for the check after the write).
async fn write_planned(door: &Door, planned: &[Planned]) -> Result<Vec<PathBuf>> {
    let _lock = door
        .net()
        .lock_writes(LOCK_LIMIT)
        .await
        .map_err(anyhow::Error::msg)?;
    let relative = |path: &Path| -> Result<String> {
        match door.workspace().resolve(path) {
            Resolved::Inside { relative, .. } => Ok(relative),
            Resolved::Forbidden { display, why } => anyhow::bail!("`{display}`: {why}"),
        }
    };
    let mut written = Vec::new();
    for plan in planned {
        let from = relative(&plan.path)?;
        match &plan.move_to {
            Some(to) => {
                let to_rel = relative(to)?;
                door.workspace().write(&to_rel, plan.after.as_deref())?;
                door.workspace().write(&from, None)?;
                written.push(to.clone());
                written.push(plan.path.clone());
            }
            None => {
                door.workspace().write(&from, plan.after.as_deref())?;
                written.push(plan.path.clone());
            }
        }
    }
    Ok(written)
}

fn describe(change: &ChangeOutcome) -> String {
    let reasons = if change.reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", change.reasons.join("; "))
    };
    format!(
        "{} ({}, {}){reasons}",
        change.files.join(", "),
        change.level.as_str(),
        change.id
    )
}

fn applied(outcome: &Outcome) -> String {
    let parts: Vec<String> = outcome.changes.iter().map(describe).collect();
    format!("applied: {}", parts.join(" | "))
}

fn waiting(held: &[&ChangeOutcome]) -> String {
    let parts: Vec<String> = held.iter().map(|c| describe(c)).collect();
    let ids: Vec<&str> = held.iter().map(|c| c.id.as_str()).collect();
    format!(
        "waiting for the person: {}. Nothing of this file was written. Call `wait` with id {} to learn their decision (they approve in the editor or with `autogate approve {}`); do not propose it again meanwhile.",
        parts.join(" | "),
        ids.join(", "),
        ids.first().copied().unwrap_or_default()
    )
}

fn text(result: String, is_error: bool) -> Result<CallToolResult, McpError> {
    let content = vec![ContentBlock::text(result)];
    Ok(if is_error {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    })
}

#[tool_router]
impl AutogateMcp {
    #[tool(
        description = "Replace text in a file, through autogate's gate. Low-risk edits are written at once; risky ones wait for the person (call `wait`); forbidden ones are refused. The result says which, with reasons."
    )]
    async fn propose_edit(
        &self,
        Parameters(p): Parameters<ProposeEdit>,
    ) -> Result<CallToolResult, McpError> {
        let spec = EditSpec::Replace {
            path: p.path,
            edits: vec![Replacement {
                old: p.old_string,
                new: p.new_string,
                all: p.replace_all,
                expected: None,
            }],
        };
        let (report, blocked) = self.gate("propose_edit", vec![Spec::Tool(spec)]).await;
        text(report, blocked)
    }

    #[tool(
        description = "Write a whole file (create or replace), through autogate's gate. The result says whether it was written, waits for the person, or was refused, with reasons."
    )]
    async fn write_file(
        &self,
        Parameters(p): Parameters<WriteFile>,
    ) -> Result<CallToolResult, McpError> {
        let spec = EditSpec::Write {
            path: p.path,
            content: p.content,
        };
        let (report, blocked) = self.gate("write_file", vec![Spec::Tool(spec)]).await;
        text(report, blocked)
    }

    #[tool(
        description = "Apply a patch (unified diff, or a `*** Begin Patch` envelope) through autogate's gate, file by file: the result lists each file as applied, waiting for the person, or denied, with reasons."
    )]
    async fn apply_patch(
        &self,
        Parameters(p): Parameters<ApplyPatch>,
    ) -> Result<CallToolResult, McpError> {
        let specs = match patch_specs(&p.patch) {
            Ok(specs) => specs,
            Err(e) => return text(format!("refused: {e}. Nothing was written."), true),
        };
        let (report, blocked) = self.gate("apply_patch", specs).await;
        text(report, blocked)
    }

    #[tool(description = "List the changes waiting for the person's decision.")]
    async fn pending(&self) -> Result<CallToolResult, McpError> {
        let door = self.door.lock().await;
        let list = match door.state().approvals() {
            Ok(list) => list,
            Err(e) => return text(format!("cannot read the pending changes: {e:#}"), true),
        };
        let lines: Vec<String> = list
            .iter()
            .filter(|a| a.state == ApprovalState::Pending)
            .map(|a| {
                format!(
                    "{} ({}) {}: {}",
                    a.id,
                    a.level,
                    a.files.join(", "),
                    a.reasons.join("; ")
                )
            })
            .collect();
        if lines.is_empty() {
            return text("nothing is waiting for the person".to_owned(), false);
        }
        text(lines.join("\n"), false)
    }

    #[tool(description = "Explain a change autogate holds: its level, reasons and diff.")]
    async fn explain(
        &self,
        Parameters(p): Parameters<Explain>,
    ) -> Result<CallToolResult, McpError> {
        let door = self.door.lock().await;
        match door.state().approval(&p.id) {
            Ok(Some(a)) => text(
                format!(
                    "{} ({}) {}; state: {:?}\nreasons:\n- {}\n\n{}",
                    a.id,
                    a.level,
                    a.files.join(", "),
                    a.state,
                    a.reasons.join("\n- "),
                    a.diff
                ),
                false,
            ),
            Ok(None) => text(format!("no change {} is held", p.id), true),
            Err(e) => text(format!("cannot read change {}: {e:#}", p.id), true),
        }
    }

    #[tool(
        description = "Wait for the person's decision on a change that waits (up to timeout_s seconds). Approved: autogate writes it and says so. Rejected: do not retry it."
    )]
    async fn wait(&self, Parameters(p): Parameters<Wait>) -> Result<CallToolResult, McpError> {
        let limit = Duration::from_secs(p.timeout_s.unwrap_or(60)).min(WAIT_MAX);
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let state = {
                let door = self.door.lock().await;
                door.state().approval(&p.id)
            };
            match state {
                Ok(Some(a)) if a.state == ApprovalState::Approved => break,
                Ok(Some(a)) if a.state == ApprovalState::Rejected => {
                    return text(
                        format!(
                            "rejected by the person: {}. Do not retry it.",
                            a.files.join(", ")
                        ),
                        true,
                    );
                }
                Ok(Some(_)) => {}
                Ok(None) => return text(format!("no change {} is waiting", p.id), true),
                Err(e) => return text(format!("cannot read change {}: {e:#}", p.id), true),
            }
            if tokio::time::Instant::now() >= deadline {
                return text(
                    format!(
                        "still waiting for the person after {} s: call `wait` again, or go on with other work",
                        limit.as_secs()
                    ),
                    true,
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let held = self
            .held
            .lock()
            .ok()
            .and_then(|map| map.get(&p.id).cloned());
        let Some(held) = held else {
            return text(
                "approved by the person; this server did not propose it, so propose the identical edit again to have it written".to_owned(),
                false,
            );
        };
        let (report, blocked) = self.gate("wait", held.specs).await;
        if !blocked && let Ok(mut map) = self.held.lock() {
            map.remove(&p.id);
        }
        text(report, blocked)
    }

    #[tool(
        description = "Roll back autogate's latest checkpoint (or the one named): the files it wrote are restored; files the person changed since are kept."
    )]
    async fn rollback(
        &self,
        Parameters(p): Parameters<Rollback>,
    ) -> Result<CallToolResult, McpError> {
        let door = self.door.lock().await;
        let id = match p.checkpoint {
            Some(c) => c,
            None => match door.net().store.latest() {
                Ok(Some(info)) => info.id.to_string(),
                Ok(None) => return text("there is no checkpoint to roll back to".to_owned(), true),
                Err(e) => return text(format!("cannot list the checkpoints: {e:#}"), true),
            },
        };
        match door
            .rollback(
                std::slice::from_ref(&id),
                autogate_vcs::ConflictPolicy::KeepMine,
            )
            .await
        {
            Ok(()) => text(format!("rolled back checkpoint {id}"), false),
            Err(e) => text(format!("rollback of {id} failed: {e:#}"), true),
        }
    }

    #[tool(
        description = "Claude Code's --permission-prompt-tool: gates an edit tool call and answers allow or deny."
    )]
    async fn permission_prompt(
        &self,
        Parameters(p): Parameters<PermissionPrompt>,
    ) -> Result<CallToolResult, McpError> {
        let answer = self.permission(&p).await;
        // Claude Code reads one text block holding the JSON answer.
        Ok(CallToolResult::success(vec![ContentBlock::text(
            answer.to_string(),
        )]))
    }
}

impl AutogateMcp {
    /// Claude Code's permission prompt: an edit tool is gated like a hook's call (nothing is
    /// written here: Claude Code writes once allowed); anything else is refused, since this door
    /// never approves what it cannot analyze.
    async fn permission(&self, p: &PermissionPrompt) -> Value {
        let payload = json!({
            "hook_event_name": "PreToolUse",
            "tool_name": p.tool_name,
            "tool_input": p.input,
            "tool_use_id": p.tool_use_id,
            "cwd": self.root,
        });
        let deny = |message: String| json!({ "behavior": "deny", "message": message });
        let call = match agents::parse(Agent::ClaudeCode, &payload.to_string(), None) {
            Ok(call) => call,
            Err(e) => return deny(format!("autogate cannot read this tool call: {e}")),
        };
        let specs = match call.action {
            agents::Action::Edits(specs) => specs,
            agents::Action::ReadOnly => {
                return json!({ "behavior": "allow", "updatedInput": p.input });
            }
            agents::Action::Bracketed => {
                return deny(format!(
                    "autogate's permission prompt gates file edits only; it does not approve `{}`. Ask the person, or let the agent's own rules decide.",
                    p.tool_name
                ));
            }
        };
        let cwd = call.cwd.unwrap_or_else(|| self.root.clone());
        let edits: Vec<FileEdit> = specs
            .into_iter()
            .flat_map(|s| s.into_file_edits(&cwd))
            .collect();
        let mut source = self.source.clone();
        source.tool = Some(p.tool_name.clone());
        let mut door = self.door.lock().await;
        match door.propose(edits, &source, &NoDesk).await {
            Ok(outcome) if outcome.allowed() => {
                json!({ "behavior": "allow", "updatedInput": p.input })
            }
            Ok(outcome) => deny(outcome.message),
            Err(e) => deny(format!("autogate refused this edit: {e:#}")),
        }
    }
}

/// A patch's edits: a `*** Begin Patch` envelope, or a unified diff. A renaming section of a
/// unified diff is refused (propose the new file and the removal as two edits).
fn patch_specs(patch: &str) -> Result<Vec<Spec>, String> {
    if patch.contains("*** Begin Patch") {
        return crate::door::codex_patch::parse(patch)
            .map(|ops| vec![Spec::Tool(EditSpec::Patch(ops))]);
    }
    let files = crate::patch::parse(patch).map_err(|e| e.0)?;
    let mut specs = Vec::new();
    for file in files {
        if let (Some(old), Some(new)) = (&file.old_path, &file.new_path)
            && old != new
        {
            return Err(format!(
                "the patch renames {old} to {new}; this door takes renames as a `*** Begin Patch` with `*** Move to:`"
            ));
        }
        if let Some(path) = file.old_path.as_deref().or(file.new_path.as_deref())
            && crate::patch::is_absolute(path)
        {
            return Err(format!("the patch names an absolute path ({path})"));
        }
        specs.push(Spec::Unified(file));
    }
    Ok(specs)
}

#[tool_handler(
    router = self.tool_router,
    name = "autogate",
    instructions = "autogate gates your file edits. Propose every edit through propose_edit, write_file or apply_patch: low-risk edits are written at once, risky ones wait for the person (use `wait`), forbidden ones are refused with reasons you can act on. You cannot approve."
)]
impl ServerHandler for AutogateMcp {}

/// Serves the workspace at `root` over stdio until the client goes away.
pub async fn serve(root: &Path, agent: Option<String>) -> Result<()> {
    use rmcp::ServiceExt;
    let server = AutogateMcp::open(root, agent)?;
    let service = server.serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}
