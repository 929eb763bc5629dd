//! Doors without an editor: the gate run by a process an agent starts (a hook, later MCP).
//!
//! A door hands in what an agent is about to do to files as [`FileEdit`]s (a path and how its
//! text changes). [`Door::propose`] reads each file through the confined workspace, runs the
//! same gate as the language server (split, analyze, decide under the workspace's policy and
//! environment), and, when the edit may go ahead, stores the checkpoint and the audit record
//! before it answers. The agent's own tool then writes; [`Door::after_write`] checks that what
//! was written is what was allowed, verifies, and rolls back on failure. Shell commands are
//! bracketed by [`shell`]. No LSP types, no agent formats: those live in [`agents`].
//!
//! Architecture invariant: a door never approves. An `ask` is decided by the person, through
//! a [`Desk`] (an editor session) or from a terminal (`autogate approve ID`, see [`state`]);
//! an identical retry (same content hash) of an approved change is then allowed.

pub mod agents;
pub mod codex_patch;
pub mod gitdir;
pub mod shell;
pub mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use autogate_analysis::{FileChange, Level, Proposal};
use autogate_policy::{Decision, Mode, Policy};
use autogate_vcs::{AuditEvent, AuditRecord, ConflictPolicy};
use serde::{Deserialize, Serialize};

use crate::config::{self, Loaded};
use crate::gate::{Base, ChangeRecord, Gate, Origin};
use crate::protocol::Status;
use crate::safety::SafetyNet;
use crate::workspace::{Resolved, Workspace};

pub use state::{ApprovalState, DoorState};

/// How a file's text changes: from what it holds now (`None`: absent) to what it will hold
/// (`None`: removed). `Err` says why the edit cannot apply (the agent's tool would fail too).
pub type Transform = Box<dyn FnOnce(Option<&str>) -> Result<Option<String>, String> + Send>;

/// One file an agent's tool call is about to change.
pub struct FileEdit {
    /// As the agent named it: absolute, or relative to the workspace root.
    pub path: PathBuf,
    /// The file is moved there (Codex `*** Move to:`).
    pub move_to: Option<PathBuf>,
    pub transform: Transform,
}

impl FileEdit {
    pub fn new(path: impl Into<PathBuf>, transform: Transform) -> Self {
        Self {
            path: path.into(),
            move_to: None,
            transform,
        }
    }
}

/// Who proposes: the agent's name and its session.
#[derive(Clone, Debug, Default)]
pub struct Source {
    pub agent: String,
    pub session: Option<String>,
    /// The tool that proposes (`Edit`, `apply_patch`, `Bash`).
    pub tool: Option<String>,
    /// The agent asks its person itself before this tool runs, in a prompt only a person
    /// answers (Claude Code in its default permission mode): `[doors] ask = "agent"` may hand
    /// an ask to it.
    pub prompt: bool,
}

impl Source {
    /// `agent` or `agent:session`, as the audit trail shows it.
    pub fn label(&self) -> String {
        match &self.session {
            Some(s) if !s.is_empty() => format!("{}:{s}", self.agent),
            _ => self.agent.clone(),
        }
    }
}

/// What happened to one change, as plain data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeOutcome {
    pub id: String,
    pub files: Vec<String>,
    pub level: Level,
    pub decision: Decision,
    pub status: Status,
    pub reasons: Vec<String>,
    /// What an approval of this change is bound to.
    pub hash: String,
    pub checkpoint: Option<String>,
}

/// The door's answer to the agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let the tool run.
    Allow,
    /// Stop the tool; the message says why, for the model to act on.
    Deny,
    /// Let the agent's own permission prompt ask its person (`[doors] ask = "agent"`); the
    /// message says why, for the person.
    Ask,
}

/// The outcome of a proposal or of an observation after a tool ran.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub changes: Vec<ChangeOutcome>,
    /// One paragraph for the agent's model (and the person reading its transcript).
    pub message: String,
}

impl Outcome {
    fn allow(message: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Allow,
            changes: Vec::new(),
            message: message.into(),
        }
    }

    fn deny(message: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Deny,
            changes: Vec::new(),
            message: message.into(),
        }
    }

    pub fn allowed(&self) -> bool {
        self.verdict == Verdict::Allow
    }
}

/// What a person at an approval desk answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeskAnswer {
    /// No desk is running: fall back to terminal approvals.
    Unavailable,
    /// The person approved.
    Approved,
    /// The desk's own gate allows it without the person: `rule` decided, a standing approval
    /// when `standing` names one.
    Allowed {
        rule: String,
        standing: Option<String>,
    },
    Rejected,
    /// The person did not answer in time.
    TimedOut,
}

/// Where an `ask` goes while the agent waits: an editor session on the workspace. The session
/// socket plugs in here; without it, [`NoDesk`] sends every ask to terminal approvals.
pub trait Desk {
    /// Shows `changes` to the person and waits (with the desk's own time limit).
    /// `files` are the files of the changes, before and after.
    fn ask(
        &self,
        changes: &[ChangeOutcome],
        files: &[FileChange],
        source: &Source,
    ) -> impl std::future::Future<Output = DeskAnswer> + Send;
}

/// No editor session: asks are recorded for `autogate approve ID`.
pub struct NoDesk;

impl Desk for NoDesk {
    async fn ask(
        &self,
        _changes: &[ChangeOutcome],
        _files: &[FileChange],
        _source: &Source,
    ) -> DeskAnswer {
        DeskAnswer::Unavailable
    }
}

/// How long a door waits for another autogate process's write on the workspace.
const LOCK_LIMIT: Duration = Duration::from_secs(10);

/// The gate of one workspace, opened by a door process.
pub struct Door {
    workspace: Workspace,
    gate: Gate,
    net: std::sync::Arc<SafetyNet>,
    state: DoorState,
    /// Why the policy in force is not the file's (it has errors: every change asks).
    policy_note: Option<String>,
    /// The policy file's bytes the policy in force was read from (`None`: absent).
    policy_bytes: Option<Vec<u8>>,
    indexed: bool,
    /// The checkpoint of the proposal being judged, stored ahead on a blocking thread while
    /// it is judged (named only if the change goes ahead; see [`Door::checkpoint`]).
    prepared: Option<tokio::task::JoinHandle<Result<autogate_vcs::Prepared>>>,
}

impl Door {
    /// Opens the workspace at `root`: its policy (a broken file makes every change ask), its
    /// environment, the checkpoint store and the audit trail.
    pub fn open(root: &Path) -> Result<Self> {
        let workspace = Workspace::new(root)?;
        let root = workspace.root().to_path_buf();
        let policy_bytes = std::fs::read(root.join(config::POLICY_FILE)).ok();
        let (policy, policy_note) = load_policy(&root);
        let environment = config::environment(&policy, &root);
        let gate = Gate::new(policy, environment);
        let net = std::sync::Arc::new(SafetyNet::open(&root)?);
        let state = DoorState::open(&root)?;
        Ok(Self {
            workspace,
            gate,
            net,
            state,
            policy_note,
            policy_bytes,
            indexed: false,
            prepared: None,
        })
    }

    /// Brings a door that outlives one tool call (the editor session's) up to date before the
    /// next: the policy file as it is now, the environment of the branch checked out now (with
    /// `env_var` as the caller's `AUTOGATE_ENV`), and `keep_parses` files' trees kept between
    /// calls.
    pub fn refresh(&mut self, env_var: Option<&str>, keep_parses: usize) {
        let bytes = std::fs::read(self.root().join(config::POLICY_FILE)).ok();
        if bytes != self.policy_bytes {
            let (policy, note) = load_policy(self.root());
            let environment = config::environment_with(&policy, self.root(), env_var);
            self.gate.set_policy(policy, environment);
            self.policy_note = note;
            self.policy_bytes = bytes;
        } else {
            self.gate.environment =
                config::environment_with(&self.gate.policy, self.root(), env_var);
        }
        self.gate.keep_parses = keep_parses;
    }

    /// The revision of the workspace index in use ([`autogate_analysis::SymbolIndex::revision`]),
    /// if one is.
    pub fn index_revision(&self) -> Option<u64> {
        self.indexed.then(|| self.gate.index.revision())
    }

    /// Work ahead for a moment when nobody waits (after an answer, while the agent's tool
    /// runs): prepares the parse cache for the files' likely next texts.
    pub fn work_ahead(&mut self) {
        self.gate.parses.prepare();
    }

    /// Uses `index` (the editor session's, kept up to date) instead of building one.
    pub fn use_index(&mut self, index: autogate_analysis::SymbolIndex) {
        self.gate.index = index;
        self.indexed = true;
    }

    pub fn root(&self) -> &Path {
        self.workspace.root()
    }

    pub fn policy(&self) -> &Policy {
        &self.gate.policy
    }

    pub fn state(&self) -> &DoorState {
        &self.state
    }

    pub fn net(&self) -> &SafetyNet {
        &self.net
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// Decides under the policy file as it was (`text`; `None`: absent), not as it is now: a
    /// tool call that rewrote `.autogate.toml` is judged by the policy it ran under.
    pub fn pin_policy(&mut self, text: Option<&str>) {
        let now = std::fs::read_to_string(self.root().join(config::POLICY_FILE)).ok();
        if now.as_deref() == text {
            return;
        }
        let (policy, note) = match text.map(|t| Policy::from_toml(t, config::POLICY_FILE)) {
            None => (Policy::default(), None),
            Some(Ok(policy)) => (policy, None),
            Some(Err(_)) => (
                Policy::fail_closed(),
                Some(format!(
                    "{} had errors, so every change asks",
                    config::POLICY_FILE
                )),
            ),
        };
        let environment = config::environment(&policy, self.root());
        self.gate.set_policy(policy, environment);
        self.policy_note = note;
    }

    /// `[doors] shell`: what happens to files a shell tool call changed.
    pub fn shell_mode(&self) -> shell::ShellMode {
        match self.gate.policy.doors().shell {
            autogate_policy::ShellDoor::Gate => shell::ShellMode::Gate,
            autogate_policy::ShellDoor::Record => shell::ShellMode::Record,
        }
    }

    /// The workspace index, as the server has it (warm from the last run's store), for the
    /// blast radius; built once, and only for a proposal that touches source files.
    fn ensure_index(&mut self, proposal: &Proposal) {
        if self.indexed
            || !proposal.files.iter().any(|f| {
                autogate_analysis::Language::from_path(&f.path).is_some()
                    || f.old_path
                        .as_deref()
                        .is_some_and(|p| autogate_analysis::Language::from_path(p).is_some())
            })
        {
            return;
        }
        let root = self.root().to_path_buf();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let files = crate::workspace_index::source_files(&root);
        let store = crate::workspace_index::store_path(&root);
        self.gate.index = crate::workspace_index::build_warm(&files, Some(&store), threads).0;
        self.indexed = true;
    }

    /// Gates what a tool call is about to write. `Allow` only once the checkpoint and the
    /// audit record are stored; the agent's tool then writes, and [`Door::after_write`] checks it.
    pub async fn propose<D: Desk>(
        &mut self,
        edits: Vec<FileEdit>,
        source: &Source,
        desk: &D,
    ) -> Result<Outcome> {
        let started = std::time::Instant::now();
        let intake = match self.intake(edits) {
            Ok(intake) => intake,
            Err(reason) => {
                return Ok(Outcome::deny(format!(
                    "autogate refused this edit: {reason}. Nothing was written."
                )));
            }
        };
        if intake.proposal.files.is_empty() && intake.forbidden.is_empty() {
            return Ok(Outcome::allow("autogate: the edit changes nothing"));
        }
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "door: intake");
        // The checkpoint is stored on the other core while the proposal is judged; it is named
        // (and so exists) only if the change goes ahead. Unnamed, it is garbage for git's gc.
        let owned = crate::safety::OwnedStates::of(&intake.proposal);
        let (net, label) = (self.net.clone(), checkpoint_label(source));
        self.prepared = Some(tokio::task::spawn_blocking(move || {
            net.prepare_expecting(&owned.states(), &label)
        }));
        let records = self.admit(&intake, source).await;
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "door: admitted");
        let outcome = self.settle(records, &intake, source, desk).await;
        // Not published (the change did not go ahead): never used for another proposal.
        self.prepared = None;
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "door: settled");
        outcome
    }

    /// Reads every file the edits touch (confined), applies the edits in order, and collects
    /// the paths refused before analysis.
    fn intake(&self, edits: Vec<FileEdit>) -> Result<Intake, String> {
        let mut files: BTreeMap<String, Virtual> = BTreeMap::new();
        let mut renames = Vec::new();
        let mut forbidden = Vec::new();
        let load = |files: &mut BTreeMap<String, Virtual>, path: &str| -> Result<(), String> {
            if !files.contains_key(path) {
                let original = self
                    .workspace
                    .read(path)
                    .map_err(|e| format!("cannot read {path}: {e:#}"))?;
                files.insert(
                    path.to_owned(),
                    Virtual {
                        current: original.clone(),
                        original,
                    },
                );
            }
            Ok(())
        };
        for edit in edits {
            let relative = match self.resolve(&edit.path) {
                Ok(r) => r,
                Err(refused) => {
                    forbidden.push(refused);
                    continue;
                }
            };
            load(&mut files, &relative)?;
            let Some(file) = files.get_mut(&relative) else {
                continue;
            };
            let after = (edit.transform)(file.current.as_deref())
                .map_err(|e| format!("{relative}: {e}"))?;
            match edit.move_to {
                None => file.current = after,
                Some(to) => {
                    let to = match self.resolve(&to) {
                        Ok(r) => r,
                        Err(refused) => {
                            forbidden.push(refused);
                            continue;
                        }
                    };
                    file.current = None;
                    load(&mut files, &to)?;
                    if let Some(target) = files.get_mut(&to) {
                        if target.current.is_some() && to != relative {
                            return Err(format!("cannot move {relative} onto {to}, which exists"));
                        }
                        target.current = after;
                    }
                    renames.push((relative, to));
                }
            }
        }
        let changes = fold(files, renames);
        Ok(Intake {
            proposal: Proposal { files: changes },
            forbidden,
        })
    }

    /// A workspace-relative path, or `(display, why)` when it is forbidden (outside the root,
    /// through a symlink out of it, inside `.git/`).
    fn resolve(&self, path: &Path) -> Result<String, (String, &'static str)> {
        match self.workspace.resolve(path) {
            Resolved::Inside { relative, .. } => {
                if relative.split('/').next() == Some(".autogate") {
                    return Err((relative, "path is inside autogate's own store"));
                }
                Ok(relative)
            }
            Resolved::Forbidden { display, why } => Err((display, why)),
        }
    }

    /// Splits, analyzes and decides: one record per change, each with its door id.
    async fn admit(&mut self, intake: &Intake, source: &Source) -> Vec<ChangeRecord> {
        let origin = Origin {
            intent: source.tool.as_ref().map(|t| format!("{t} tool call")),
            source: Some(source.label()),
        };
        let mut memo_queries = crate::deps::queries(&intake.proposal);
        memo_queries.retain(|q| !self.gate.advisories.contains_key(q));
        if !memo_queries.is_empty() {
            let memo = crate::deps::lookup(
                self.gate.policy.advisories(),
                self.workspace.root(),
                &memo_queries,
            )
            .await;
            self.gate.advisories.extend(memo);
        }
        let started = std::time::Instant::now();
        self.ensure_index(&intake.proposal);
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "door: index");
        let mut ids = Vec::new();
        for (display, why) in &intake.forbidden {
            ids.push(self.gate.admit_refused(
                display,
                Level::Critical,
                Status::Denied,
                format!("`{display}`: {why}"),
                &origin,
            ));
        }
        let bases: BTreeMap<String, Base> = intake
            .proposal
            .files
            .iter()
            .flat_map(|f| f.touched_paths())
            .map(|p| (p.to_owned(), Base::Disk))
            .collect();
        ids.extend(self.gate.admit(&intake.proposal, &bases, &origin));
        let mut records: Vec<ChangeRecord> = ids
            .iter()
            .filter_map(|id| self.gate.get(id))
            .cloned()
            .collect();
        for record in &mut records {
            // Ids that outlive this process: the content hash names the change.
            record.id = door_id(&record.hash);
            if let Some(note) = &self.policy_note {
                record.notes.push(note.clone());
            }
        }
        records
    }

    /// Decides what the agent is told, and stores checkpoint and records first.
    async fn settle<D: Desk>(
        &mut self,
        mut records: Vec<ChangeRecord>,
        intake: &Intake,
        source: &Source,
        desk: &D,
    ) -> Result<Outcome> {
        let mode = self.gate.mode();
        let denied: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].verdict.decision == Decision::Deny)
            .collect();
        if !denied.is_empty() {
            self.record(&records, AuditEvent::Decided).await?;
            let denied_records: Vec<ChangeRecord> =
                denied.iter().map(|&i| records[i].clone()).collect();
            self.record(&denied_records, AuditEvent::Denied).await?;
            let outcome = Outcome {
                verdict: Verdict::Deny,
                message: deny_message(&denied_records, &records),
                changes: records.iter().map(outcome_of).collect(),
            };
            return Ok(outcome);
        }
        if mode == Mode::Plan {
            self.record(&records, AuditEvent::Decided).await?;
            return Ok(Outcome {
                verdict: Verdict::Deny,
                message: format!(
                    "autogate is in plan mode: nothing is applied. {}",
                    describe_all(&records)
                ),
                changes: records.iter().map(outcome_of).collect(),
            });
        }
        // Asks: the person's terminal decision, or the desk, or held.
        let asks: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].verdict.decision == Decision::Ask)
            .collect();
        let mut held = Vec::new();
        let mut rejected = Vec::new();
        // Held changes handed to the agent's own prompt: not decided yet.
        let mut handed: Vec<usize> = Vec::new();
        for &i in &asks {
            match self.state.approval(&records[i].id)? {
                Some(a) if a.hash == records[i].hash && a.state == ApprovalState::Approved => {
                    records[i].approver = Some("person");
                    records[i].status = Status::Approved;
                }
                Some(a) if a.hash == records[i].hash && a.state == ApprovalState::Rejected => {
                    records[i].status = Status::Rejected;
                    rejected.push(i);
                }
                _ => held.push(i),
            }
        }
        if !rejected.is_empty() {
            self.record(&records, AuditEvent::Decided).await?;
            let list: Vec<ChangeRecord> = rejected.iter().map(|&i| records[i].clone()).collect();
            return Ok(Outcome {
                verdict: Verdict::Deny,
                message: format!(
                    "autogate: the person rejected this edit ({}). Do not retry it; ask the person what they want instead.",
                    describe_all(&list)
                ),
                changes: records.iter().map(outcome_of).collect(),
            });
        }
        if !held.is_empty() {
            let shown: Vec<ChangeOutcome> = held.iter().map(|&i| outcome_of(&records[i])).collect();
            let held_files: Vec<FileChange> = intake
                .proposal
                .files
                .iter()
                .filter(|f| {
                    shown.iter().any(|c| {
                        c.files
                            .iter()
                            .any(|p| *p == f.path || Some(p) == f.old_path.as_ref())
                    })
                })
                .cloned()
                .collect();
            let answer = desk.ask(&shown, &held_files, source).await;
            if !matches!(answer, DeskAnswer::Approved | DeskAnswer::Allowed { .. }) {
                self.record(&records, AuditEvent::Decided).await?;
            }
            match answer {
                DeskAnswer::Approved => {
                    for &i in &held {
                        records[i].approver = Some("person");
                        records[i].status = Status::Approved;
                    }
                }
                DeskAnswer::Allowed { rule, standing } => {
                    // Decided as the editor decides it: no person, the rule that allowed it.
                    let note = match &standing {
                        Some(id) => {
                            format!("allowed by standing approval {id} of the editor session")
                        }
                        None => format!("allowed by the editor session's gate ({rule})"),
                    };
                    for &i in &held {
                        records[i].verdict.decision = Decision::Auto;
                        records[i].verdict.rule = rule.clone();
                        records[i].standing = standing.clone();
                        records[i].notes.push(note.clone());
                    }
                }
                DeskAnswer::Rejected => {
                    for &i in &held {
                        records[i].status = Status::Rejected;
                    }
                    let list: Vec<ChangeRecord> =
                        held.iter().map(|&i| records[i].clone()).collect();
                    self.record(&list, AuditEvent::Rejected).await?;
                    return Ok(Outcome {
                        verdict: Verdict::Deny,
                        message: format!(
                            "autogate: the person rejected this edit ({}). Do not retry it.",
                            describe_all(&list)
                        ),
                        changes: records.iter().map(outcome_of).collect(),
                    });
                }
                DeskAnswer::Unavailable
                    if source.prompt
                        && self.gate.policy.doors().ask == autogate_policy::AskDoor::Agent =>
                {
                    // The agent's own prompt asks the person; the tool runs only if they say
                    // yes, and the check after it finds the content expected here.
                    let note = format!(
                        "handed to {}'s own permission prompt: the person decides there",
                        source.agent
                    );
                    for &i in &held {
                        records[i].approver = Some("person");
                        records[i].notes.push(note.clone());
                    }
                    handed = held.clone();
                }
                answer @ (DeskAnswer::Unavailable | DeskAnswer::TimedOut) => {
                    let list: Vec<ChangeRecord> =
                        held.iter().map(|&i| records[i].clone()).collect();
                    for record in &list {
                        let template = self.net.audit_record(record, AuditEvent::Decided, None);
                        self.state.hold(record, template)?;
                    }
                    let waited = if answer == DeskAnswer::TimedOut {
                        "the person did not answer in the editor in time; "
                    } else {
                        ""
                    };
                    return Ok(Outcome {
                        verdict: Verdict::Deny,
                        message: ask_message(&list, waited),
                        changes: records.iter().map(outcome_of).collect(),
                    });
                }
            }
        }
        // Everything may go ahead: checkpoint, then the records, then the answer.
        for record in &mut records {
            if record.approver.is_none() {
                record.approver = Some("policy");
            }
        }
        let started = std::time::Instant::now();
        let checkpoint = self.checkpoint(&intake.proposal, source).await?;
        tracing::debug!(
            ms = started.elapsed().as_secs_f64() * 1e3,
            "door: checkpoint"
        );
        for record in &mut records {
            record.checkpoint = Some(checkpoint.clone());
        }
        let t1 = std::time::Instant::now();
        // The decision, with its checkpoint and who allowed it, before the answer. The trail's
        // writer stores it while the expectations below are stored here.
        let decided = self
            .net
            .audit_confirmed(records.iter(), AuditEvent::Decided, None);
        // Approved by a person now; a change handed to the agent's prompt is not decided yet.
        let approved: Vec<ChangeRecord> = records
            .iter()
            .enumerate()
            .filter(|(i, r)| r.approver == Some("person") && !handed.contains(i))
            .map(|(_, r)| r.clone())
            .collect();
        let approved = self
            .net
            .audit_confirmed(approved.iter(), AuditEvent::Approved, None);
        // What the tool is expected to leave, file by file, for the check after it ran.
        let templates: Vec<AuditRecord> = records
            .iter()
            .map(|r| self.net.audit_record(r, AuditEvent::Applied, None))
            .collect();
        for file in &intake.proposal.files {
            for (path, content) in expected(file) {
                self.state.expect(&state::Expected {
                    path: path.clone(),
                    sha256: content.map(|c| sha256_hex(c.as_bytes())),
                    checkpoint: checkpoint.clone(),
                    records: templates
                        .iter()
                        .filter(|t| t.files.contains(&path))
                        .cloned()
                        .collect(),
                })?;
            }
        }
        tracing::debug!(ms = t1.elapsed().as_secs_f64() * 1e3, "door: expected");
        for &i in &asks {
            self.state.forget(&records[i].id)?;
        }
        for receipt in [decided, approved] {
            receipt
                .written()
                .await
                .map_err(|e| anyhow::anyhow!("the audit trail cannot be written: {e}"))?;
        }
        tracing::debug!(ms = t1.elapsed().as_secs_f64() * 1e3, "door: trail");
        if !handed.is_empty() {
            let list: Vec<ChangeRecord> = handed.iter().map(|&i| records[i].clone()).collect();
            return Ok(Outcome {
                verdict: Verdict::Ask,
                message: format!(
                    "autogate asks the person to approve this edit: {}",
                    describe_all(&list)
                ),
                changes: records.iter().map(outcome_of).collect(),
            });
        }
        let message = format!("autogate allowed this edit: {}", describe_all(&records));
        Ok(Outcome {
            verdict: Verdict::Allow,
            changes: records.iter().map(outcome_of).collect(),
            message,
        })
    }

    /// Stores the pre-images of every file the proposal touches (and what the agent is
    /// expected to write), under the workspace's write lock.
    async fn checkpoint(&mut self, proposal: &Proposal, source: &Source) -> Result<String> {
        let _lock = self
            .net
            .lock_writes(LOCK_LIMIT)
            .await
            .map_err(anyhow::Error::msg)?;
        let states = crate::safety::file_states(proposal);
        // The files must still hold what was analyzed.
        for state in &states {
            let now = self
                .workspace
                .read(state.path)
                .with_context(|| format!("cannot read {}", state.path))?;
            if now.as_deref() != state.before {
                anyhow::bail!(
                    "{} changed while the edit was being analyzed; propose it again",
                    state.path
                );
            }
        }
        // Made ahead while the proposal was judged, from these same states; made now if that
        // failed (the reason is logged) or was not started.
        let waited = std::time::Instant::now();
        let prepared = match self.prepared.take() {
            Some(handle) => match handle.await {
                Ok(Ok(prepared)) => Some(prepared),
                Ok(Err(e)) => {
                    tracing::warn!("the checkpoint made ahead failed, making it now: {e:#}");
                    None
                }
                Err(e) => {
                    tracing::warn!("the checkpoint made ahead did not finish, making it now: {e}");
                    None
                }
            },
            None => None,
        };
        tracing::debug!(ms = waited.elapsed().as_secs_f64() * 1e3, "door: ahead");
        let id = match prepared {
            Some(prepared) => self.net.publish(prepared)?,
            None => self
                .net
                .checkpoint_expecting(&states, &checkpoint_label(source))?,
        };
        Ok(id.to_string())
    }

    /// Appends records and waits until they are written (a door answers only after its
    /// records are stored: an agent's write never runs ahead of its record).
    async fn record(&self, records: &[ChangeRecord], event: AuditEvent) -> Result<()> {
        self.net
            .audit_confirmed(records.iter(), event, None)
            .written()
            .await
            .map_err(|e| anyhow::anyhow!("the audit trail cannot be written: {e}"))
    }

    /// Drops checkpoints beyond the policy's `[checkpoints]` count and age, and folds the
    /// store's packs, when that is due (every few checkpoints): a door writes a checkpoint per
    /// call, as the editor does per batch, and must not pile them up. Skipped while another
    /// process writes; never fails the call it follows.
    pub async fn tidy(&self) {
        let fold = self
            .net
            .prune_checkpoints(self.gate.policy.checkpoints(), true)
            .await;
        if let Some(fold) = fold {
            let _ = tokio::task::spawn_blocking(fold).await;
        }
    }

    /// After the agent's tool ran: for each path it was allowed to write, the file must hold
    /// exactly what was allowed. It is then verified (the policy's `[verify]`); a failure rolls
    /// the checkpoint back. A file that holds something else is analyzed as what it is: kept if
    /// the policy would apply it on its own, else rolled back.
    pub async fn after_write(&mut self, paths: &[PathBuf], source: &Source) -> Result<Outcome> {
        let mut found = Vec::new();
        for path in paths {
            let Ok(relative) = self.resolve(path) else {
                continue;
            };
            if let Some(expected) = self.state.expected(&relative)? {
                found.push(expected);
            }
        }
        if found.is_empty() {
            return Ok(Outcome::allow(""));
        }
        let mut checkpoints: Vec<String> = found.iter().map(|e| e.checkpoint.clone()).collect();
        checkpoints.dedup();
        let mut mismatched = Vec::new();
        for expected in &found {
            let now = self
                .workspace
                .read(&expected.path)
                .ok()
                .flatten()
                .map(|t| sha256_hex(t.as_bytes()));
            if now != expected.sha256 {
                mismatched.push(expected.path.clone());
            }
        }
        let mut records: Vec<AuditRecord> = Vec::new();
        for expected in &found {
            for record in &expected.records {
                if !records.iter().any(|r| r.change == record.change) {
                    records.push(record.clone());
                }
            }
        }
        for expected in &found {
            self.state.fulfil(&expected.path)?;
        }
        if !mismatched.is_empty() {
            return self
                .beyond_allowed(&mismatched, &checkpoints, records, source)
                .await;
        }
        let commands = self.gate.policy.verify().commands.clone();
        if commands.is_empty() {
            self.append(records, None).await?;
            return Ok(Outcome::allow(""));
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        let results = crate::verify::run_all(
            self.root(),
            &commands,
            &cancel,
            |command| tracing::info!(%command, "verifying"),
        )
        .await;
        let passed =
            results.iter().all(crate::verify::CommandResult::ok) && results.len() == commands.len();
        let verification = serde_json::json!({ "passed": passed, "commands": results });
        if passed {
            self.append(records, Some(&verification)).await?;
            return Ok(Outcome::allow(""));
        }
        let failed = results.iter().find(|r| !r.ok()).cloned();
        let restored = self.rollback(&checkpoints, ConflictPolicy::KeepMine).await;
        let describe = failed
            .as_ref()
            .map(crate::verify::CommandResult::describe)
            .unwrap_or_default();
        let mut note = format!("verification failed: {describe}; the edit was rolled back");
        if let Err(e) = &restored {
            note = format!("verification failed: {describe}; the rollback failed: {e:#}");
        }
        for record in &mut records {
            record.event = AuditEvent::Failed;
            record.reasons.push(note.clone());
        }
        self.append(records, Some(&verification)).await?;
        let tail = failed.map(|f| f.tail).unwrap_or_default();
        Ok(Outcome::deny(crate::gate::redact(&format!(
            "autogate: {note}. Fix the cause and try again. Output:\n{tail}"
        ))))
    }

    /// A file holds something else than what was allowed: it is gated as it is, against its
    /// checkpoint; what the policy would not apply on its own is rolled back.
    async fn beyond_allowed(
        &mut self,
        paths: &[String],
        checkpoints: &[String],
        records: Vec<AuditRecord>,
        source: &Source,
    ) -> Result<Outcome> {
        let mut before = BTreeMap::new();
        for checkpoint in checkpoints {
            let id = autogate_vcs::CheckpointId::parse(checkpoint)?;
            for file in self.net.store.plan_restore(&id)?.files {
                if paths.contains(&file.path) {
                    before.insert(file.path.clone(), file.before.clone());
                }
            }
        }
        let note = format!(
            "{} changed beyond what was allowed: the file on disk is not the allowed content",
            paths.join(", ")
        );
        let mut failed = records;
        for record in &mut failed {
            record.event = AuditEvent::Failed;
            record.reasons.push(note.clone());
        }
        self.append(failed, None).await?;
        let observed = shell::Observed {
            files: before,
            head_moved: None,
        };
        let mut outcome = shell::gate_observed(self, observed, source).await?;
        outcome.message = format!("autogate: {note}. {}", outcome.message);
        Ok(outcome)
    }

    /// Restores checkpoints (newest first).
    pub async fn rollback(&self, checkpoints: &[String], policy: ConflictPolicy) -> Result<()> {
        let _lock = self
            .net
            .lock_writes(LOCK_LIMIT)
            .await
            .map_err(anyhow::Error::msg)?;
        for checkpoint in checkpoints.iter().rev() {
            let id = autogate_vcs::CheckpointId::parse(checkpoint)?;
            let plan = self.net.store.plan_restore(&id)?;
            let report = self.net.store.restore(&plan, policy)?;
            let mut record = AuditRecord::new(AuditEvent::RolledBack);
            record.checkpoint = Some(checkpoint.clone());
            record.files = report.files.iter().map(|f| f.path.clone()).collect();
            record.approver = Some(autogate_vcs::Approver::Policy);
            self.append(vec![record], None).await?;
            if !report.is_complete() {
                anyhow::bail!("checkpoint {checkpoint} could not be restored completely");
            }
        }
        Ok(())
    }

    /// Appends prepared records, waiting until they are written.
    async fn append(
        &self,
        mut records: Vec<AuditRecord>,
        verification: Option<&serde_json::Value>,
    ) -> Result<()> {
        for record in &mut records {
            record.time = String::new();
            if verification.is_some() {
                record.verification = verification.cloned();
            }
        }
        self.net
            .audit_records(records)
            .written()
            .await
            .map_err(|e| anyhow::anyhow!("the audit trail cannot be written: {e}"))
    }

    /// Admits an observed proposal (after a shell command) and returns its records.
    async fn admit_observed(&mut self, proposal: Proposal, source: &Source) -> Vec<ChangeRecord> {
        let intake = Intake {
            proposal,
            forbidden: Vec::new(),
        };
        self.admit(&intake, source).await
    }
}

/// A file as a proposal leaves it: what it held (`None`: absent) and what it will hold.
#[derive(Debug)]
pub struct Virtual {
    pub original: Option<String>,
    pub current: Option<String>,
}

/// What a door's checkpoint is called: the agent's session and tool.
fn checkpoint_label(source: &Source) -> String {
    format!(
        "{} ({})",
        source.label(),
        source.tool.as_deref().unwrap_or("tool")
    )
}

/// The file changes of a proposal, from each touched file's first and last text: a file
/// emptied by a rename (`(old, new)`) whose target did not exist is one rename; files that
/// end as they began drop out. Sorted by path. Shared by every door and the language server.
pub fn fold(files: BTreeMap<String, Virtual>, renames: Vec<(String, String)>) -> Vec<FileChange> {
    let mut changes = Vec::new();
    let mut consumed = std::collections::BTreeSet::new();
    for (old, new) in renames {
        let (Some(o), Some(n)) = (files.get(&old), files.get(&new)) else {
            continue;
        };
        if o.current.is_none() && n.original.is_none() && n.current.is_some() {
            changes.push(FileChange {
                path: new.clone(),
                old_path: Some(old.clone()),
                before: o.original.clone(),
                after: n.current.clone(),
            });
            consumed.insert(old);
            consumed.insert(new);
        }
    }
    for (path, file) in files {
        if consumed.contains(&path) || file.original == file.current {
            continue;
        }
        changes.push(FileChange {
            path,
            old_path: None,
            before: file.original,
            after: file.current,
        });
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    changes
}

/// A proposal ready for the gate, plus the paths refused before analysis.
struct Intake {
    proposal: Proposal,
    forbidden: Vec<(String, &'static str)>,
}

/// The policy in force: the file's, the defaults without one, or (the file has errors) the
/// defaults in mode `ask`, with a note saying so.
fn load_policy(root: &Path) -> (Policy, Option<String>) {
    match config::read_policy(root) {
        Loaded::Missing => (Policy::default(), None),
        Loaded::Valid(policy) => (*policy, None),
        Loaded::Invalid { errors, .. } => {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            (
                Policy::fail_closed(),
                Some(format!(
                    "{} has errors, so every change asks until it is fixed ({first})",
                    config::POLICY_FILE
                )),
            )
        }
    }
}

/// What a file change leaves on disk: (path, content), `None` where a path is removed.
fn expected(file: &FileChange) -> Vec<(String, Option<&str>)> {
    let mut out = vec![(file.path.clone(), file.after.as_deref())];
    if let Some(old) = file.old_path.as_ref().filter(|o| **o != file.path) {
        out.push((old.clone(), None));
    }
    out
}

/// A change's id outside one process: the first 12 hex digits of its content hash.
pub fn door_id(hash: &str) -> String {
    hash.chars().take(12).collect()
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn outcome_of(record: &ChangeRecord) -> ChangeOutcome {
    let summary = record.summary();
    ChangeOutcome {
        id: record.id.clone(),
        files: summary.files,
        level: record.report.level,
        decision: record.verdict.decision,
        status: record.status,
        reasons: summary.reasons,
        hash: record.hash.clone(),
        checkpoint: record.checkpoint.clone(),
    }
}

/// `change ID (level, files): reasons`.
fn describe(record: &ChangeRecord) -> String {
    let summary = record.summary();
    let reasons = if summary.reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", summary.reasons.join("; "))
    };
    format!(
        "change {} ({}, {}){reasons}",
        record.id,
        record.report.level,
        summary.files.join(", ")
    )
}

fn describe_all(records: &[ChangeRecord]) -> String {
    records.iter().map(describe).collect::<Vec<_>>().join(". ")
}

fn deny_message(denied: &[ChangeRecord], all: &[ChangeRecord]) -> String {
    let also = all.len() - denied.len();
    format!(
        "autogate denied this edit; nothing was written. {}.{} Do not retry the same edit: \
         change what the reasons name, or leave it to the person.",
        describe_all(denied),
        if also > 0 {
            format!(" ({also} other part(s) of the same tool call were not applied either.)")
        } else {
            String::new()
        }
    )
}

fn ask_message(held: &[ChangeRecord], waited: &str) -> String {
    let ids: Vec<&str> = held.iter().map(|r| r.id.as_str()).collect();
    let commands: Vec<String> = ids
        .iter()
        .map(|id| format!("`autogate approve {id}`"))
        .collect();
    format!(
        "autogate is holding this edit for the person's approval; {waited}it was not applied. {}. \
         To go ahead, the person runs {} in a terminal; then retry exactly the same edit. \
         Or propose a smaller change that avoids what the reasons name.",
        describe_all(held),
        commands.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A desk that answers every ask the same way, and counts the asks.
    struct Answering(DeskAnswer, std::sync::atomic::AtomicUsize);

    impl Desk for Answering {
        async fn ask(
            &self,
            changes: &[ChangeOutcome],
            files: &[FileChange],
            source: &Source,
        ) -> DeskAnswer {
            assert!(!changes.is_empty() && !files.is_empty() && source.agent == "codex");
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.0.clone()
        }
    }

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"x\"\n\n[dependencies]\n",
        )
        .expect("write");
        for args in [
            &["init", "-q", "-b", "main"][..],
            &["add", "-A"],
            &["commit", "-q", "-m", "init"],
            &["checkout", "-q", "-b", "feature/x"],
        ] {
            let status = std::process::Command::new("git")
                .args([
                    "-c",
                    "user.name=T",
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args)
                .current_dir(dir.path())
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .status()
                .expect("git runs");
            assert!(status.success());
        }
        dir
    }

    fn risky(root: &Path) -> Vec<FileEdit> {
        vec![FileEdit::new(
            root.join("Cargo.toml"),
            Box::new(|before: Option<&str>| {
                Ok(before.map(|b| {
                    b.replace(
                        "[dependencies]\n",
                        "[dependencies]\nx = { git = \"https://e.example/x\" }\n",
                    )
                }))
            }),
        )]
    }

    #[tokio::test]
    async fn a_desk_decides_asks_while_the_agent_waits() {
        let source = Source {
            agent: "codex".to_owned(),
            session: Some("s".to_owned()),
            tool: Some("apply_patch".to_owned()),
            prompt: false,
        };
        for (answer, allowed, status) in [
            (DeskAnswer::Approved, true, Status::Approved),
            (DeskAnswer::Rejected, false, Status::Rejected),
            (DeskAnswer::TimedOut, false, Status::Pending),
        ] {
            let dir = repo();
            let mut door = Door::open(dir.path()).expect("door");
            let desk = Answering(answer.clone(), Default::default());
            let outcome = door
                .propose(risky(dir.path()), &source, &desk)
                .await
                .expect("gated");
            assert_eq!(
                outcome.allowed(),
                allowed,
                "{answer:?}: {}",
                outcome.message
            );
            assert_eq!(outcome.changes[0].status, status, "{answer:?}");
            assert_eq!(desk.1.load(std::sync::atomic::Ordering::SeqCst), 1);
            let held = door.state().approvals().expect("state");
            assert_eq!(
                held.len(),
                usize::from(answer == DeskAnswer::TimedOut),
                "{answer:?}"
            );
            if allowed {
                assert!(outcome.changes[0].checkpoint.is_some());
            }
        }
    }

    #[test]
    fn door_ids_are_the_hash_prefix() {
        assert_eq!(door_id("0123456789abcdef"), "0123456789ab");
    }
}
