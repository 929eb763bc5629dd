//! Shell tool calls, bracketed: a cheap snapshot before (git's status: the dirty and untracked
//! files with their content hashes, and the dirty files' content in the checkpoint store), and
//! after, what changed is gated as an unattributed proposal. What the policy would not apply
//! on its own is restored from the snapshot (or removed, if the command created it).
//!
//! A clean tracked file needs no copy: its content before is the index's. Ignored files are
//! not looked at, except those the policy protects (`.env`). Without git there is no status to
//! compare, and shell calls are not bracketed.
//!
//! Inside the git folder, what runs code or steers git (`config` and `config.worktree`, the
//! `hooks` folder and everything in it, `info/attributes`) is snapshotted too, with what each
//! thing *is* (a real folder or a symlink and its target; a file with its mode, or a symlink),
//! and which folder the git folder itself is: after the command, whatever changed is put back
//! whatever the policy says, through a confined [`Root`] opened on the git folder (never by
//! name, never through a symlink the command planted), recorded as a critical `rolled_back`,
//! and the call is denied. A `.git/hooks` or `.git/info` swapped for a link is unlinked and
//! made again; a hooks folder the person linked elsewhere, left as it was, is restored through
//! a [`Root`] opened where it leads. A git folder moved away, or another put in its place, is
//! not touched: the call is denied with a critical `failed`, and what the command changed in
//! the workspace is not checked against a repository that is not the person's. See
//! [`super::gitdir`].
//!
//! [`Root`]: autogate_vcs::confined::Root

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use autogate_analysis::{FileChange, Proposal};
use autogate_policy::Decision;
use autogate_vcs::{AuditEvent, CheckpointMeta};
use serde::{Deserialize, Serialize};

use super::gitdir::{self, GitState};
use super::{ApprovalState, Door, Outcome, Source, Verdict, outcome_of, sha256_hex};
use crate::gate::ChangeRecord;
use crate::protocol::Status;

/// What `[doors] shell` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShellMode {
    /// Roll back what the policy would not apply on its own (the default).
    Gate,
    /// Keep everything; only record it.
    Record,
}

/// The workspace before a shell command.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Whether the workspace is a git work tree (without git, nothing is bracketed).
    pub git: bool,
    /// Dirty and untracked files: SHA-256 of their content (`None`: deleted).
    pub files: BTreeMap<String, Option<String>>,
    /// The checkpoint holding the dirty files' content.
    pub checkpoint: Option<String>,
    /// The policy file's text (`None`: absent): the command is judged under it.
    #[serde(default)]
    pub policy: Option<String>,
    /// The held changes approved before the command ran; one approved while it ran is void.
    #[serde(default)]
    pub approved: BTreeSet<String>,
    /// What in the git folder runs code or steers git (`config`, `config.worktree`, the
    /// `hooks` folder and everything in it, `info/attributes`), kind included, and which folder
    /// the git folder is: see [`super::gitdir`]. `None` in a snapshot that did not keep it
    /// (then nothing in the git folder is put back).
    #[serde(default)]
    pub git_dir: Option<GitState>,
    /// Git's baseline: what a clean file is compared with after the command, whatever the
    /// command did to the index or HEAD. `None` when the index could not be read as a tree
    /// (a merge in progress); then the index after the command is the baseline.
    #[serde(default)]
    pub baseline: Option<Baseline>,
}

/// What git's status compares with, before a shell command. A command can make status quiet
/// about a change it made (commit it, stage it, mark the file assume-unchanged or
/// skip-worktree); the files whose baseline moved are compared with this one instead.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// The index, written as a tree (its id).
    pub tree: String,
    /// HEAD's commit (`None`: no commit yet, or detached from nothing).
    pub head: Option<String>,
    /// Index entries that status does not look at (assume-unchanged or skip-worktree), by
    /// repository path: a file the command flags is compared; one flagged before is not
    /// (a sparse checkout flags most files, absent on disk).
    pub flagged: BTreeSet<String>,
}

impl Baseline {
    /// Git's baseline now.
    fn of(repo: &git2::Repository) -> Result<Self> {
        let mut index = repo.index().context("git index")?;
        let tree = index.write_tree().context("the index as a tree")?;
        Ok(Self {
            tree: tree.to_string(),
            head: head_commit(repo),
            flagged: flagged(&index),
        })
    }

    /// Repository paths whose baseline moved since: staged or committed differently, or newly
    /// flagged.
    fn moved(&self, repo: &git2::Repository) -> Result<BTreeSet<String>> {
        let old = self
            .tree(repo)
            .context("the index before the command cannot be read")?;
        let index = repo.index().context("git index")?;
        let mut options = git2::DiffOptions::new();
        options.include_typechange(true).ignore_submodules(true);
        let diff = repo
            .diff_tree_to_index(Some(&old), Some(&index), Some(&mut options))
            .context("the index against its state before the command")?;
        let mut out = BTreeSet::new();
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(path) = file.path().and_then(Path::to_str) {
                    out.insert(path.to_owned());
                }
            }
        }
        out.extend(flagged(&index).difference(&self.flagged).cloned());
        Ok(out)
    }

    /// The index before the command, as a tree (`None`: its objects cannot be read).
    fn tree<'r>(&self, repo: &'r git2::Repository) -> Option<git2::Tree<'r>> {
        repo.find_tree(git2::Oid::from_str(&self.tree).ok()?).ok()
    }
}

/// What `tree` holds at a repository path (`None`: nothing).
fn content_at(repo: &git2::Repository, tree: &git2::Tree<'_>, path: &str) -> Option<Vec<u8>> {
    let entry = tree.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    Some(blob.content().to_vec())
}

fn head_commit(repo: &git2::Repository) -> Option<String> {
    repo.head()
        .ok()?
        .peel_to_commit()
        .ok()
        .map(|c| c.id().to_string())
}

/// Index entries status does not look at: assume-unchanged or skip-worktree.
fn flagged(index: &git2::Index) -> BTreeSet<String> {
    index
        .iter()
        .filter(|entry| {
            git2::IndexEntryFlag::from_bits_truncate(entry.flags).is_valid()
                || git2::IndexEntryExtendedFlag::from_bits_truncate(entry.flags_extended)
                    .is_skip_worktree()
        })
        .filter_map(|entry| String::from_utf8(entry.path).ok())
        .collect()
}

/// Puts back what a command changed in the git folder (see [`super::gitdir`]), with a
/// critical `rolled_back` record; returns what it changed, and what could not be put back.
/// When the git folder is not the one the snapshot kept (or no repository holds the
/// workspace any more), nothing is put back and [`gitdir::Restored::replaced`] says why; the
/// caller stops the agent.
async fn restore_git_files(
    door: &mut Door,
    snapshot: &Snapshot,
    source: &Source,
) -> Result<gitdir::Restored> {
    // Found without asking for a work tree: a `core.worktree` the command set is put back
    // below, before the work tree is looked at.
    let repo = match git2::Repository::discover(door.root()) {
        Ok(repo) => repo,
        Err(e) => {
            return Ok(gitdir::Restored {
                replaced: Some(format!(
                    "no git repository holds the workspace any more ({})",
                    e.message()
                )),
                ..gitdir::Restored::default()
            });
        }
    };
    let Some(before) = &snapshot.git_dir else {
        return Ok(gitdir::Restored::default());
    };
    let restored = gitdir::put_back(repo.commondir(), repo.path(), before);
    if restored.replaced.is_some() {
        return Ok(restored);
    }
    if !restored.changed.is_empty() || !restored.failed.is_empty() {
        let mut record = autogate_vcs::AuditRecord::new(AuditEvent::RolledBack);
        record.source = Some(source.label());
        record.files = restored.changed.clone();
        record.level = Some("critical".to_owned());
        record.decision = Some("deny".to_owned());
        record.rule = Some("invariant.workspace_root".to_owned());
        record.reasons = vec![format!(
            "a shell command changed {} inside .git/ (code git runs, or how git behaves): put back",
            restored.changed.join(", ")
        )];
        record.reasons.extend(restored.notes.iter().cloned());
        if !restored.failed.is_empty() {
            record.reasons.push(format!(
                "could not be put back: {}",
                restored.failed.join("; ")
            ));
        }
        door.append(vec![record], None).await?;
    }
    Ok(restored)
}

/// Why a shell command is stopped when the git folder it started with is gone, for
/// [`git_folder_replaced`].
pub const GIT_FOLDER_REPLACED: &str =
    "the git folder of this workspace was replaced while this shell command ran";

/// After a shell command that moved the git folder away, or put another in its place (a
/// copy, a fresh repository whose index matches what it changed, a gitfile or a link to a
/// folder of its own): nothing is put back in the folder there now (it may be the command's,
/// and anything written there would be), and what the command changed in the workspace is
/// not checked (the status of another repository says nothing of it; the snapshot's copies
/// were kept in the one that went away). The agent is stopped and the trail says so,
/// critical.
async fn git_folder_replaced(door: &mut Door, source: &Source, how: &str) -> Result<Outcome> {
    let reason = format!(
        "{GIT_FOLDER_REPLACED}: {how}. Nothing was put back inside it, and what the command changed in the workspace was not checked"
    );
    record_bracket_failure(door, source, "critical", &reason).await?;
    Ok(Outcome::deny(format!(
        "autogate: {reason}. Do not move, replace or re-point .git; tell the person to find where the repository went, put it back, and review the workspace (`git status`) and `autogate log`."
    )))
}

/// Why a shell command's snapshot is gone, for [`unbracketed`].
pub const SNAPSHOT_GONE: &str = "the snapshot taken before this shell command is gone (removed while it ran, or never taken): what the command changed was not checked";
/// Why a shell command's snapshot is gone when another process took the editor session's copy.
pub const SNAPSHOT_TAKEN: &str = "the snapshot the editor session held for this shell command was taken by another process while it ran: what the command changed was not checked";

/// After a shell command whose snapshot is gone: the command removed it (it lives in the
/// workspace's git folder, within a shell's reach), or the hook before it never ran. What the
/// command changed cannot be checked, so the agent is stopped and the trail says so, critical.
pub async fn unbracketed(door: &mut Door, source: &Source, reason: &str) -> Result<Outcome> {
    record_bracket_failure(door, source, "critical", reason).await?;
    Ok(Outcome::deny(format!(
        "autogate: {reason}. Do not touch autogate's files under .git/autogate/; tell the person to review `git status` and `autogate log`."
    )))
}

/// After a shell command whose snapshot on disk no longer matches the copy the editor session
/// held: the command rewrote (or removed) it. The session's copy was used; the agent is
/// stopped and the trail says so, critical.
pub async fn rewritten(door: &mut Door, source: &Source, outcome: &mut Outcome) -> Result<()> {
    let reason = "the snapshot taken before this shell command was changed on disk while it ran; the editor session's copy was used to check what the command changed";
    record_bracket_failure(door, source, "critical", reason).await?;
    outcome.verdict = Verdict::Deny;
    outcome.message = format!(
        "autogate: {reason}. Do not touch autogate's files under .git/autogate/. {}",
        outcome.message
    );
    Ok(())
}

/// Before a shell command whose snapshot the editor session would not hold: the command is
/// refused (a tool call id reused, or the session full), and the trail says why.
pub async fn not_held(door: &mut Door, source: &Source, message: &str) -> Result<Outcome> {
    let reason =
        format!("the editor session would not hold the snapshot of this shell command: {message}");
    record_bracket_failure(door, source, "high", &reason).await?;
    Ok(Outcome::deny(format!(
        "autogate refused this shell command: {reason}. Nothing ran."
    )))
}

async fn record_bracket_failure(
    door: &mut Door,
    source: &Source,
    level: &str,
    reason: &str,
) -> Result<()> {
    let mut record = autogate_vcs::AuditRecord::new(AuditEvent::Failed);
    record.source = Some(source.label());
    record.level = Some(level.to_owned());
    record.decision = Some("deny".to_owned());
    record.rule = Some("invariant.bracketed_shell".to_owned());
    record.reasons = vec![reason.to_owned()];
    door.append(vec![record], None).await
}

/// After a shell command: judged under the policy it ran under; approvals given meanwhile
/// void; the git folder's code and settings put back; what changed in the workspace gated.
/// A git folder that is not the one the command started with stops the agent instead
/// ([`git_folder_replaced`]).
pub async fn after(door: &mut Door, snapshot: &Snapshot, source: &Source) -> Result<Outcome> {
    if !snapshot.git {
        return Ok(Outcome::allow(""));
    }
    door.pin_policy(snapshot.policy.as_deref());
    let voided = void_approvals_since(door, snapshot).await?;
    let git = restore_git_files(door, snapshot, source).await?;
    let mut outcome = match &git.replaced {
        Some(how) => git_folder_replaced(door, source, how).await?,
        None => gate_since(door, snapshot, source, &git).await?,
    };
    if !voided.is_empty() {
        outcome.verdict = Verdict::Deny;
        outcome.message = format!(
            "autogate: change(s) {} were approved while this command ran; an agent cannot approve, so the approval is void and the change is held again. {}",
            voided.join(", "),
            outcome.message
        );
    }
    Ok(outcome)
}

/// After a shell command in the git folder it started with: what changed in the workspace
/// gated, and what was put back inside `.git/` (`git`) told.
async fn gate_since(
    door: &mut Door,
    snapshot: &Snapshot,
    source: &Source,
    git: &gitdir::Restored,
) -> Result<Outcome> {
    let observed = changes_since(door, snapshot)?;
    let head_moved = observed.head_moved.clone();
    let mut outcome = gate_observed(door, observed, source).await?;
    if let (Some((from, to)), Verdict::Deny) = (head_moved, &outcome.verdict) {
        let short = |id: Option<String>| id.map_or("nothing".to_owned(), |id| id[..12].to_owned());
        outcome.message = format!(
            "{} This command also moved HEAD from {} to {}: what it committed stays in the history, with the files on disk put back as above; the person should review it (`git log`).",
            outcome.message,
            short(from),
            short(to)
        );
    }
    if !git.failed.is_empty() {
        outcome.verdict = Verdict::Deny;
        outcome.message = format!(
            "autogate could not put back everything inside .git/ ({}): check the repository's hooks and settings before the next git command. {}",
            git.failed.join("; "),
            outcome.message
        );
    }
    if !git.changed.is_empty() {
        outcome.verdict = Verdict::Deny;
        outcome.message = format!(
            "autogate put back {} inside .git/: a command may not change the code git runs or how it behaves. {}",
            git.changed.join(", "),
            outcome.message
        );
    }
    Ok(outcome)
}

/// Files a tool changed, with their content before (`None`: absent); their content now is
/// read from disk.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub files: BTreeMap<String, Option<Vec<u8>>>,
    /// HEAD before and after, when the command moved it (a commit, a reset, a checkout).
    pub head_moved: Option<(Option<String>, Option<String>)>,
}

/// The repository of `root` and where `root` sits in its work tree (`""` at the top).
fn repository(root: &Path) -> Option<(git2::Repository, String)> {
    let repo = git2::Repository::discover(root).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let prefix = root.strip_prefix(&workdir).ok()?;
    let prefix = prefix
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    Some((repo, prefix))
}

/// Workspace paths git sees as dirty or untracked, and ignored files the policy protects
/// (`.env` is commonly ignored); other ignored files are not looked at.
fn dirty(
    repo: &git2::Repository,
    prefix: &str,
    protected: &autogate_analysis::ProtectedPaths,
) -> Result<BTreeSet<String>> {
    let mut options = git2::StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(true)
        .recurse_ignored_dirs(false)
        .exclude_submodules(true)
        .renames_head_to_index(false);
    let statuses = repo.statuses(Some(&mut options)).context("git status")?;
    let mut out = BTreeSet::new();
    for entry in statuses.iter() {
        let Ok(path) = entry.path() else { continue };
        if entry.status().contains(git2::Status::IGNORED)
            && (path.ends_with('/') || protected.matching(path).is_none())
        {
            continue;
        }
        if let Some(relative) = in_workspace(prefix, path) {
            out.insert(relative.to_owned());
        }
    }
    Ok(out)
}

/// A repository path as a workspace path (the workspace is `prefix` in the work tree), if it
/// lies in the workspace.
fn in_workspace<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    if prefix.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(prefix).and_then(|p| p.strip_prefix('/'))
    }
}

/// The target of a symbolic link at `relative`, if it is one.
fn link_target(root: &Path, relative: &str) -> Option<String> {
    let path = root.join(relative);
    let meta = path.symlink_metadata().ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    Some(
        std::fs::read_link(&path)
            .map(|t| t.display().to_string())
            .unwrap_or_default(),
    )
}

/// What a path holds, hashed: a file's content, or a symbolic link's target (`None`: absent).
fn state_hash(root: &Path, relative: &str) -> Option<String> {
    match link_target(root, relative) {
        Some(target) => Some(sha256_hex(format!("symlink\0{target}").as_bytes())),
        None => read_bytes(root, relative).map(|b| sha256_hex(&b)),
    }
}

fn read_bytes(root: &Path, relative: &str) -> Option<Vec<u8>> {
    let root = autogate_vcs::confined::Root::open(root).ok()?;
    root.read(relative).ok().flatten().map(|f| f.content)
}

/// Takes the snapshot before a shell command.
pub fn snapshot(door: &Door) -> Result<Snapshot> {
    let root = door.root();
    let Some((repo, prefix)) = repository(root) else {
        return Ok(Snapshot::default());
    };
    let paths = dirty(&repo, &prefix, door.gate.policy.protected())?;
    let mut files = BTreeMap::new();
    for path in &paths {
        files.insert(path.clone(), state_hash(root, path));
    }
    let checkpoint = if paths.is_empty() {
        None
    } else {
        let list: Vec<&str> = paths.iter().map(String::as_str).collect();
        let pre = door.net.store.capture(&list)?;
        Some(
            door.net
                .store
                .create(&pre, &CheckpointMeta::now("before a shell command"))?
                .to_string(),
        )
    };
    Ok(Snapshot {
        git: true,
        files,
        checkpoint,
        policy: std::fs::read_to_string(root.join(crate::config::POLICY_FILE)).ok(),
        approved: approved_ids(door)?,
        git_dir: Some(gitdir::snapshot(repo.commondir(), repo.path())?),
        baseline: Baseline::of(&repo)
            .inspect_err(|e| tracing::debug!("no baseline of the index: {e:#}"))
            .ok(),
    })
}

fn approved_ids(door: &Door) -> Result<BTreeSet<String>> {
    Ok(door
        .state
        .approvals()?
        .into_iter()
        .filter(|a| a.state == ApprovalState::Approved)
        .map(|a| a.id)
        .collect())
}

/// Approvals given while the agent's command ran are void (the agent may have given them
/// itself, through a terminal it made or the files under `.git/autogate/doors/`): they go
/// back to pending, with a record. Returns the ids.
pub async fn void_approvals_since(door: &mut Door, snapshot: &Snapshot) -> Result<Vec<String>> {
    let mut voided = Vec::new();
    for mut approval in door.state.approvals()? {
        if approval.state != ApprovalState::Approved || snapshot.approved.contains(&approval.id) {
            continue;
        }
        approval.state = ApprovalState::Pending;
        door.state.decide(&approval)?;
        let mut record = approval.record.clone();
        record.time = String::new();
        record.event = AuditEvent::Rejected;
        record.approver = None;
        record.reasons.push(
            "approved while an agent's shell command ran: the approval is void, the change is held again"
                .to_owned(),
        );
        door.append(vec![record], None).await?;
        voided.push(approval.id);
    }
    Ok(voided)
}

/// What a shell command changed since its snapshot: each file with its content before.
pub fn changes_since(door: &Door, snapshot: &Snapshot) -> Result<Observed> {
    let root = door.root();
    let Some((repo, prefix)) = repository(root) else {
        return Ok(Observed::default());
    };
    let now = dirty(&repo, &prefix, door.gate.policy.protected())?;
    let saved: BTreeMap<String, Option<Vec<u8>>> = match &snapshot.checkpoint {
        Some(id) => door
            .net
            .store
            .plan_restore(&autogate_vcs::CheckpointId::parse(id)?)?
            .files
            .into_iter()
            .map(|f| (f.path, f.before))
            .collect(),
        None => BTreeMap::new(),
    };
    let index = repo.index().context("git index")?;
    let mut observed = Observed::default();
    let in_repo = |path: &str| {
        if prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{prefix}/{path}")
        }
    };
    // Files whose baseline the command moved, which status may no longer show.
    let mut moved = BTreeSet::new();
    if let Some(baseline) = &snapshot.baseline {
        for path in baseline.moved(&repo)? {
            if let Some(relative) = in_workspace(&prefix, &path) {
                moved.insert(relative.to_owned());
            }
        }
        let head = head_commit(&repo);
        if head != baseline.head {
            observed.head_moved = Some((baseline.head.clone(), head));
        }
    }
    // Read once: the content of every clean file is looked up in it.
    let baseline_tree = snapshot.baseline.as_ref().map(|b| b.tree(&repo));
    let candidates: BTreeSet<&String> = snapshot
        .files
        .keys()
        .chain(now.iter())
        .chain(moved.iter())
        .collect();
    for path in candidates {
        let current_hash = state_hash(root, path);
        let before = match snapshot.files.get(path) {
            Some(hash) => {
                if *hash == current_hash {
                    continue;
                }
                saved.get(path).cloned().flatten()
            }
            // Clean before: the baseline held it (or nothing did).
            None => match &baseline_tree {
                Some(tree) => tree
                    .as_ref()
                    .and_then(|tree| content_at(&repo, tree, &in_repo(path))),
                None => index
                    .get_path(Path::new(&in_repo(path)), 0)
                    .and_then(|entry| repo.find_blob(entry.id).ok())
                    .map(|blob| blob.content().to_vec()),
            },
        };
        if before.as_deref().map(sha256_hex) == current_hash {
            continue;
        }
        observed.files.insert(path.clone(), before);
    }
    Ok(observed)
}

/// Gates what a tool changed on disk: kept where the policy would apply it on its own (or the
/// person approved exactly it), restored elsewhere (unless `[doors] shell = "record"`).
pub async fn gate_observed(
    door: &mut Door,
    observed: Observed,
    source: &Source,
) -> Result<Outcome> {
    if observed.files.is_empty() {
        return Ok(Outcome::allow(""));
    }
    let root = door.root().to_path_buf();
    let mode = door.shell_mode();
    let mut texts = Vec::new();
    let mut binary = Vec::new();
    let mut links = Vec::new();
    for (path, before) in &observed.files {
        if let Some(target) = link_target(&root, path) {
            links.push((path.clone(), target));
            continue;
        }
        let after = read_bytes(&root, path);
        let before_text = before.clone().map(String::from_utf8);
        let after_text = after.map(String::from_utf8);
        match (before_text, after_text) {
            (Some(Err(_)), _) | (_, Some(Err(_))) => binary.push(path.clone()),
            (before, after) => texts.push(FileChange {
                path: path.clone(),
                old_path: None,
                before: before.and_then(Result::ok),
                after: after.and_then(Result::ok),
            }),
        }
    }
    let mut records = door.admit_observed(Proposal { files: texts }, source).await;
    for path in &binary {
        let why = format!("`{path}` is not text: autogate analyzes text files only");
        records.extend(refused_record(door, path, why, source));
    }
    for (path, target) in &links {
        let why = format!(
            "`{path}` is now a symbolic link (to `{target}`): a link can lead anywhere, so a person decides"
        );
        records.extend(refused_record(door, path, why, source));
    }
    for record in &mut records {
        record
            .notes
            .push("written by a shell command, outside the edit tools".to_owned());
    }
    // Kept: auto, or exactly what the person approved. `record` keeps the rest too, except
    // what the policy denies and agent, editor or CI configuration (never without a person).
    let config = autogate_analysis::ProtectedPaths::new(autogate_policy::PROTECTED_CONFIG)
        .unwrap_or_else(|_| autogate_analysis::ProtectedPaths::empty());
    let mut keep = Vec::new();
    let mut undo = Vec::new();
    for (i, record) in records.iter_mut().enumerate() {
        let approved = record.verdict.decision == Decision::Ask
            && door
                .state
                .approval(&record.id)?
                .is_some_and(|a| a.hash == record.hash && a.state == ApprovalState::Approved);
        if approved {
            record.approver = Some("person");
        }
        let auto = record.verdict.decision == Decision::Auto
            && door.gate.mode() != autogate_policy::Mode::Plan;
        let recorded = mode == ShellMode::Record
            && record.verdict.decision != Decision::Deny
            && !record
                .unit
                .files
                .iter()
                .flat_map(|f| f.touched_paths())
                .any(|p| config.matching(p).is_some());
        if auto || approved || recorded {
            keep.push(i);
        } else {
            undo.push(i);
        }
    }
    door.record(&records, AuditEvent::Decided).await?;
    // A checkpoint of what the command changed, so that the person can roll back the rest.
    let files_of = |records: &[ChangeRecord], ids: &[usize]| -> BTreeSet<String> {
        ids.iter()
            .flat_map(|&i| records[i].unit.files.iter().map(|f| f.path.clone()))
            .collect()
    };
    let kept_files = files_of(&records, &keep);
    if !kept_files.is_empty() {
        let pre: Vec<autogate_vcs::PreImage> = kept_files
            .iter()
            .map(|p| autogate_vcs::PreImage {
                path: p.clone(),
                content: observed.files.get(p).cloned().flatten(),
                executable: false,
            })
            .collect();
        let id = door
            .net
            .store
            .create(
                &pre,
                &CheckpointMeta::now(format!("{} (shell)", source.label())),
            )?
            .to_string();
        for &i in &keep {
            records[i].checkpoint = Some(id.clone());
            if records[i].approver.is_none() {
                records[i].approver = Some("policy");
            }
            records[i].status = if records[i].approver == Some("person") {
                Status::Approved
            } else {
                Status::Applied
            };
        }
        let kept: Vec<ChangeRecord> = keep.iter().map(|&i| records[i].clone()).collect();
        for record in &kept {
            if record.approver == Some("person") {
                door.state.forget(&record.id)?;
            }
        }
        door.record(&kept, AuditEvent::Applied).await?;
    }
    if undo.is_empty() {
        let message = if mode == ShellMode::Record
            && keep.iter().any(|&i| {
                records[i].verdict.decision != Decision::Auto
                    && records[i].approver != Some("person")
            }) {
            format!(
                "autogate recorded what this command changed (`[doors] shell = \"record\"`): {}",
                super::describe_all(&records)
            )
        } else {
            String::new()
        };
        return Ok(Outcome {
            verdict: Verdict::Allow,
            changes: records.iter().map(outcome_of).collect(),
            message,
        });
    }
    // Restore what may not stay.
    let undo_files = files_of(&records, &undo);
    let restored = {
        let _lock = door
            .net
            .lock_writes(super::LOCK_LIMIT)
            .await
            .map_err(anyhow::Error::msg)?;
        let confined = autogate_vcs::confined::Root::open(&root)
            .with_context(|| format!("cannot open {}", root.display()))?;
        let mut failures = Vec::new();
        for path in &undo_files {
            let result = match observed.files.get(path).cloned().flatten() {
                // A link in its place is taken away first (a write never goes through one).
                Some(bytes) if link_target(&root, path).is_some() => confined
                    .remove(path)
                    .and_then(|_| confined.write(path, &bytes, None)),
                Some(bytes) => confined.write(path, &bytes, None),
                None => confined.remove(path).map(|_| ()),
            };
            if let Err(e) = result {
                failures.push(format!("{path}: {e}"));
            }
        }
        failures
    };
    let mut undone: Vec<ChangeRecord> = undo.iter().map(|&i| records[i].clone()).collect();
    for record in &mut undone {
        record.status = Status::RolledBack;
        if record.verdict.decision == Decision::Ask {
            let template = door.net.audit_record(record, AuditEvent::Decided, None);
            door.state.hold(record, template)?;
        }
    }
    door.record(&undone, AuditEvent::RolledBack).await?;
    let held: Vec<&ChangeRecord> = undone
        .iter()
        .filter(|r| r.verdict.decision == Decision::Ask)
        .collect();
    let mut message = format!(
        "autogate rolled back what this command changed in {}: {}.",
        undo_files.iter().cloned().collect::<Vec<_>>().join(", "),
        super::describe_all(&undone)
    );
    if !restored.is_empty() {
        message.push_str(&format!(
            " Some files could not be restored: {}.",
            restored.join("; ")
        ));
    }
    if !held.is_empty() {
        let commands: Vec<String> = held
            .iter()
            .map(|r| format!("`autogate approve {}`", r.id))
            .collect();
        message.push_str(&format!(
            " The person can allow it with {} in a terminal, after which the same command may be run again.",
            commands.join(" and ")
        ));
    }
    message.push_str(
        " Edits made through the shell are gated like any other: use the edit tools for reviewable changes.",
    );
    Ok(Outcome {
        verdict: Verdict::Deny,
        changes: records.iter().map(outcome_of).collect(),
        message,
    })
}

/// A change autogate does not analyze (a binary file, a symbolic link): never kept on its own.
fn refused_record(
    door: &mut Door,
    path: &str,
    why: String,
    source: &Source,
) -> Option<ChangeRecord> {
    let origin = crate::gate::Origin {
        intent: source.tool.as_ref().map(|t| format!("{t} tool call")),
        source: Some(source.label()),
    };
    let id = door.gate.admit_refused(
        path,
        autogate_analysis::Level::High,
        Status::Denied,
        why,
        &origin,
    );
    let mut record = door.gate.get(&id).cloned()?;
    record.id = super::door_id(&record.hash);
    Some(record)
}
