//! The session socket: doors (agent hooks, the MCP server) ask the person through this editor.
//!
//! A connection carries one [`AskRequest`]. The files are analyzed by this server's own gate
//! (a door's levels are never taken on trust); what needs the person becomes a pending change
//! like any other, labelled with the agent, and its approval or rejection in the editor is sent
//! back as one [`AskAnswer`] instead of being written here: the door (or the agent behind it)
//! writes. A change the door stops waiting for is withdrawn.
//!
//! A connection may instead carry a hook's whole call ([`HookEnvelope`]), an edit before the
//! tool runs: it is run here by the session's own [`Door`], which outlives the call (its policy,
//! the server's workspace index and the syntax trees of the files agents work on stay warm),
//! and whose asks go straight to [`ask`]. The reply is what the hook prints, and once it is
//! sent the door works ahead for the files' likely next texts. Calls overlap when an agent
//! edits in parallel: one waits while another is judged. Calls this session does not take
//! (another workspace, other events, a door waiting for the person on another call) are
//! declined, and the hook runs its own door.
//!
//! A connection may also leave or take the snapshot a hook takes before an agent's shell
//! command ([`SnapshotEnvelope`]): the [`Vault`] holds it in this process's memory, where the
//! command cannot rewrite it. A key that is the agent's own id of the tool call is held once and
//! taken once; what was taken is remembered for a day, so that a take by another process is
//! told apart from a key never held.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use autogate_analysis::{FileChange, Proposal};
use autogate_policy::Decision;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;

use super::commands::Context;
use crate::desk::{
    AskAnswer, AskRequest, HookAnswer, HookCall, HookEnvelope, SnapshotAnswer, SnapshotCall,
    SnapshotEnvelope,
};
use crate::door::agents::{self, Action, Agent, Event};
use crate::door::{ChangeOutcome, Desk, DeskAnswer, Door, Source};
use crate::gate::{Base, Origin};
use crate::protocol::Status;

/// The longest line a door may send (the files of one change, before and after).
const MAX_REQUEST: u64 = 64 << 20;
/// The longest a door may ask the person to be waited for.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// How many files' syntax trees the session's door keeps between an agent's calls.
const DOOR_PARSES: usize = 8;

/// How long a hook's call waits at most for the session's door while other calls are judged.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// How often a waiting call looks whether the call holding the door now waits for the person.
const BUSY_POLL: Duration = Duration::from_millis(20);

/// How many shell commands' snapshots (and taken keys) the session holds at most.
const VAULT_MAX: usize = 4096;
/// How long a snapshot (or a taken key) is held: a command left running overnight is covered.
const VAULT_KEEP: Duration = Duration::from_secs(24 * 3600);

/// The snapshots hooks took before agents' shell commands, held out of those commands' reach.
#[derive(Default)]
pub struct Vault {
    held: BTreeMap<String, Held>,
}

/// One key of the [`Vault`].
struct Held {
    at: std::time::Instant,
    /// Kept as the agent's own id of a tool call: never kept again under the key.
    once: bool,
    /// `None` once taken.
    snapshot: Option<serde_json::Value>,
}

impl Vault {
    /// Answers one snapshot call.
    pub fn answer(&mut self, call: SnapshotCall) -> SnapshotAnswer {
        let now = std::time::Instant::now();
        self.held
            .retain(|_, held| now.duration_since(held.at) < VAULT_KEEP);
        match call {
            SnapshotCall::Keep {
                key,
                snapshot,
                once,
            } => {
                // Whoever keeps again, a key first kept once stays once.
                if self.held.get(&key).is_some_and(|held| held.once || once) {
                    return SnapshotAnswer::Refused {
                        message: "a snapshot was already taken for this tool call".to_owned(),
                    };
                }
                if self.held.len() >= VAULT_MAX && !self.held.contains_key(&key) {
                    return SnapshotAnswer::Refused {
                        message: format!(
                            "the editor session holds {VAULT_MAX} snapshots of shell commands that never finished"
                        ),
                    };
                }
                let held = Held {
                    at: now,
                    once,
                    snapshot: Some(snapshot),
                };
                self.held.insert(key, held);
                SnapshotAnswer::Kept
            }
            SnapshotCall::Take { key } => match self.held.get_mut(&key) {
                None => SnapshotAnswer::Unknown,
                Some(held) => match held.snapshot.take() {
                    Some(snapshot) => {
                        held.at = now;
                        SnapshotAnswer::Taken { snapshot }
                    }
                    None => SnapshotAnswer::AlreadyTaken,
                },
            },
        }
    }
}

/// What a pending change that came through a door is waiting for: the person's answer.
pub type Waiters = std::sync::Mutex<BTreeMap<String, oneshot::Sender<bool>>>;

/// Starts listening for doors on the workspace's socket. A socket another live session
/// listens on is left to it; a stale one is replaced.
#[cfg(unix)]
pub fn spawn(ctx: Context) {
    let Some(root) = ctx.shared.workspace.get().map(|w| w.root().to_path_buf()) else {
        return;
    };
    let path = match crate::desk::socket_path(&root) {
        Ok(path) => path,
        Err(e) => {
            tracing::warn!("no session socket for doors: {e:#}");
            return;
        }
    };
    tokio::spawn(async move {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            tracing::info!(
                "another editor session serves doors on {}; this one does not",
                path.display()
            );
            return;
        }
        let _ = std::fs::remove_file(&path);
        let listener = match bind_private(&path) {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!("cannot listen for doors on {}: {e}", path.display());
                return;
            }
        };
        tracing::info!("doors reach this session on {}", path.display());
        let uid = rustix::process::geteuid().as_raw();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            // Only this user's processes may ask.
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == uid => {}
                _ => continue,
            }
            let ctx = ctx.clone();
            tokio::spawn(async move { serve(ctx, stream).await });
        }
    });
}

#[cfg(not(unix))]
pub fn spawn(_ctx: Context) {}

/// Binds the socket with owner-only permissions from the start (umask-free: bound in a
/// private temporary name, restricted, then renamed into place).
#[cfg(unix)]
fn bind_private(path: &std::path::Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the socket has no folder"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".session-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let listener = tokio::net::UnixListener::bind(&tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, path)?;
    Ok(listener)
}

#[cfg(unix)]
async fn serve(ctx: Context, stream: tokio::net::UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_REQUEST));
    let mut line = String::new();
    // A hook's call the session's door answered: the door works ahead once the reply is sent.
    let mut replied_to_hook = false;
    let text = match reader.read_line(&mut line).await {
        Ok(0) => return,
        Ok(_) => {
            let rest = reader.into_inner().into_inner();
            let hangup = hangup(rest);
            if line.starts_with("{\"snapshot\"") {
                let answer = match serde_json::from_str::<SnapshotEnvelope>(line.trim_end()) {
                    Ok(envelope) => ctx
                        .shared
                        .snapshots
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .answer(envelope.snapshot),
                    Err(e) => SnapshotAnswer::Refused {
                        message: format!("not a snapshot call: {e}"),
                    },
                };
                serde_json::to_string(&answer)
            } else if line.starts_with("{\"hook\"") {
                let answer = match serde_json::from_str::<HookEnvelope>(line.trim_end()) {
                    Ok(envelope) => hook(&ctx, envelope.hook, hangup).await,
                    Err(e) => HookAnswer::Declined {
                        message: format!("not a hook's call: {e}"),
                    },
                };
                replied_to_hook = matches!(answer, HookAnswer::Replied { .. });
                serde_json::to_string(&answer)
            } else {
                let answer = match serde_json::from_str::<AskRequest>(line.trim_end()) {
                    Ok(request) => ask(&ctx, request, hangup).await,
                    Err(e) => AskAnswer::Invalid {
                        message: format!("not an ask: {e}"),
                    },
                };
                serde_json::to_string(&answer)
            }
        }
        Err(e) => serde_json::to_string(&AskAnswer::Invalid {
            message: format!("cannot read the ask: {e}"),
        }),
    };
    if let Ok(mut text) = text {
        text.push('\n');
        let _ = write.write_all(text.as_bytes()).await;
    }
    drop(write);
    if replied_to_hook {
        // While the agent's tool runs: the next edit of these files most likely starts from
        // what was just allowed.
        if let Ok(mut slot) = ctx.shared.door.try_lock()
            && let Some(door) = slot.as_mut()
        {
            door.work_ahead();
        }
    }
}

/// Ends when the door hangs up (its agent gave up): it sends nothing after its one line.
#[cfg(unix)]
async fn hangup(mut door: tokio::net::unix::OwnedReadHalf) {
    let mut probe = [0u8; 1];
    let _ = door.read(&mut probe).await;
}

/// Runs a hook's call (an edit before the tool runs) through the session's door.
#[cfg(unix)]
async fn hook(
    ctx: &Context,
    call: HookCall,
    hangup: impl std::future::Future<Output = ()> + Send + 'static,
) -> HookAnswer {
    let declined = |message: &str| HookAnswer::Declined {
        message: message.to_owned(),
    };
    let Some(workspace) = ctx.shared.workspace.get() else {
        return declined("the server is not initialized");
    };
    let Ok(agent) = <Agent as clap::ValueEnum>::from_str(&call.agent, false) else {
        return declined("an agent autogate does not know");
    };
    let event = match call.event.as_deref() {
        None => None,
        Some("pre") => Some(Event::Pre),
        Some("post") => Some(Event::Post),
        Some(_) => return declined("an event autogate does not know"),
    };
    // What does not read is refused by the hook itself, in the agent's words.
    let Ok(parsed) = agents::parse(agent, &call.input, event) else {
        return declined("the payload does not read");
    };
    let cwd = parsed.cwd_from(call.cwd.clone());
    let root = agents::workspace_root(None, &cwd);
    if root.canonicalize().ok().as_deref() != Some(workspace.root()) {
        return declined("the call is for another workspace");
    }
    let source = parsed.source(agent);
    let specs = match (parsed.action, parsed.event) {
        (Action::Edits(specs), Event::Pre) => specs,
        _ => return declined("only edits before the tool runs are served here"),
    };
    // One call at a time. Another arriving meanwhile waits for a call that is being judged
    // (or for the work ahead after one), but not for one waiting for the person: that one
    // runs in its own hook.
    let Some(mut slot) = door_slot(ctx).await else {
        return declined("the session is serving another call");
    };
    if slot.is_none() {
        match Door::open(workspace.root()) {
            Ok(door) => *slot = Some(door),
            Err(e) => return declined(&format!("cannot open the workspace: {e:#}")),
        }
    }
    let Some(door) = slot.as_mut() else {
        return declined("cannot open the workspace");
    };
    door.refresh(call.env.as_deref(), DOOR_PARSES);
    // The server's workspace index (marked incomplete while it is first built, as for the
    // editor's own proposals), copied when it changed since the last call.
    let index = ctx.shared.gate().and_then(|gate| {
        (door.index_revision() != Some(gate.index.revision())).then(|| gate.index.clone())
    });
    if let Some(index) = index {
        door.use_index(index);
    }
    let desk = InSession {
        ctx: ctx.clone(),
        wait: Duration::from_millis(call.wait_ms).min(MAX_WAIT),
        hangup: std::sync::Mutex::new(Some(Box::pin(hangup))),
    };
    let edits = agents::file_edits(specs, &cwd);
    let reply = match door.propose(edits, &source, &desk).await {
        Ok(outcome) => agents::reply(agent, Event::Pre, &outcome),
        Err(e) => {
            // Opened afresh for the next call.
            *slot = None;
            agents::deny(
                agent,
                Event::Pre,
                &crate::gate::redact(&format!(
                    "autogate could not gate this tool call, so it is refused: {e:#}"
                )),
            )
        }
    };
    HookAnswer::Replied {
        stdout: reply.stdout,
        stderr: reply.stderr,
        code: reply.code,
    }
}

/// The session's door, once the call holding it is done; `None` at once if that call waits
/// for the person (or after [`BUSY_WAIT`]).
#[cfg(unix)]
async fn door_slot(
    ctx: &Context,
) -> Option<tokio::sync::MutexGuard<'_, Option<crate::door::Door>>> {
    let asking = || {
        ctx.shared
            .door_asking
            .load(std::sync::atomic::Ordering::Acquire)
    };
    let started = std::time::Instant::now();
    loop {
        if asking() || started.elapsed() >= BUSY_WAIT {
            return None;
        }
        if let Ok(slot) = tokio::time::timeout(BUSY_POLL, ctx.shared.door.lock()).await {
            return Some(slot);
        }
    }
}

/// Marks the session's door as waiting for the person while it lives.
struct Asking<'a>(&'a std::sync::atomic::AtomicBool);

impl<'a> Asking<'a> {
    fn new(flag: &'a std::sync::atomic::AtomicBool) -> Self {
        flag.store(true, std::sync::atomic::Ordering::Release);
        Self(flag)
    }
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

type Hangup = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The session's door asks this session's person directly.
struct InSession {
    ctx: Context,
    wait: Duration,
    /// The hook's connection: its hang-up ends the wait (taken by the one ask of a call).
    hangup: std::sync::Mutex<Option<Hangup>>,
}

impl Desk for InSession {
    async fn ask(
        &self,
        _changes: &[ChangeOutcome],
        files: &[FileChange],
        source: &Source,
    ) -> DeskAnswer {
        let _asking = Asking::new(&self.ctx.shared.door_asking);
        let request = crate::desk::ask_request(files, source, self.wait);
        let hangup = self.hangup.lock().unwrap_or_else(|e| e.into_inner()).take();
        let hangup: Hangup = hangup.unwrap_or_else(|| Box::pin(std::future::pending()));
        crate::desk::desk_answer(ask(&self.ctx, request, hangup).await)
    }
}

/// Admits the door's files and waits for the person's decision on what needs one.
#[cfg(unix)]
async fn ask(
    ctx: &Context,
    request: AskRequest,
    hangup: impl std::future::Future<Output = ()> + Send,
) -> AskAnswer {
    let Some(workspace) = ctx.shared.workspace.get() else {
        return AskAnswer::Invalid {
            message: "the server is not initialized".to_owned(),
        };
    };
    // The files are judged as they are on disk now: a door's "before" is not taken on trust.
    let mut files = Vec::new();
    for file in &request.files {
        let mut relative = Vec::new();
        for path in std::iter::once(&file.path).chain(file.old_path.as_ref()) {
            match workspace.resolve(std::path::Path::new(path)) {
                crate::workspace::Resolved::Inside { relative: r, .. } => relative.push(r),
                crate::workspace::Resolved::Forbidden { display, why } => {
                    return AskAnswer::Denied {
                        reasons: vec![format!("`{display}`: {why}")],
                    };
                }
            }
        }
        let path = relative[0].clone();
        let old_path = relative.get(1).cloned();
        let before = match workspace.read(old_path.as_deref().unwrap_or(&path)) {
            Ok(text) => text,
            Err(e) => {
                return AskAnswer::Invalid {
                    message: format!("cannot read {}: {e:#}", file.path),
                };
            }
        };
        files.push(FileChange {
            path,
            old_path,
            before,
            after: file.after.clone(),
        });
    }
    let proposal = Proposal { files };
    let bases: BTreeMap<String, Base> = proposal
        .files
        .iter()
        .flat_map(|f| f.touched_paths())
        .map(|p| (p.to_owned(), Base::Disk))
        .collect();
    let source = match request.session.as_deref() {
        Some(session) if !session.is_empty() => format!("{}:{session}", request.agent),
        _ => request.agent.clone(),
    };
    let origin = Origin {
        intent: Some(format!(
            "{} tool call from {}",
            request.tool.as_deref().unwrap_or("a"),
            request.agent
        )),
        source: Some(source),
    };
    // Read before each admission, as for the editor's proposals: one revoked since is not
    // honoured.
    let standing = super::approval::standing_now(ctx);
    let (ids, denied, asked, answers, allowed_by) = {
        let Some(mut gate) = ctx.shared.gate() else {
            return AskAnswer::Invalid {
                message: "the server is not initialized".to_owned(),
            };
        };
        gate.standing = standing;
        let ids = gate.admit(&proposal, &bases, &origin);
        let mut denied = Vec::new();
        let mut asked = Vec::new();
        for id in &ids {
            let Some(change) = gate.get(id) else { continue };
            match change.verdict.decision {
                Decision::Deny => denied.extend(change.verdict.reasons.iter().cloned()),
                Decision::Ask if change.status == Status::Pending => asked.push(id.clone()),
                _ => {}
            }
        }
        // What allows it without the person, should nothing ask: a standing approval if one
        // covers a part, else the rule of the first part.
        let allowed_by = ids
            .iter()
            .filter_map(|id| gate.get(id))
            .find(|c| c.standing.is_some())
            .or_else(|| ids.first().and_then(|id| gate.get(id)))
            .map(|c| (c.verdict.rule.clone(), c.standing.clone()));
        // What the policy would apply on its own needs no one here: the door applies it.
        let others: Vec<String> = ids
            .iter()
            .filter(|id| !asked.contains(id))
            .cloned()
            .collect();
        let label = format!(
            "proposed by {} through its {} tool; the agent writes it once you approve",
            origin.source.as_deref().unwrap_or("an agent"),
            request.tool.as_deref().unwrap_or("edit")
        );
        gate.update(&asked, |c| c.notes.insert(0, label.clone()));
        if !denied.is_empty() {
            gate.settle(&ids, Status::Denied, None, None);
        } else {
            gate.settle(&others, Status::Approved, Some("decided by policy"), None);
        }
        // Registered before the gate is released: an approval that comes at once must find
        // that a door waits (else it would be applied here, by the wrong writer).
        let mut answers = Vec::new();
        if denied.is_empty() {
            let mut waiters = ctx
                .shared
                .door_waiters
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for id in &asked {
                let (tx, rx) = oneshot::channel();
                waiters.insert(id.clone(), tx);
                answers.push(rx);
            }
        }
        (ids, denied, asked, answers, allowed_by)
    };
    ctx.shared.audit(&ids, autogate_vcs::AuditEvent::Decided);
    if !denied.is_empty() {
        return AskAnswer::Denied { reasons: denied };
    }
    if asked.is_empty() {
        // Allowed here without the person: say by what, so that the door records it so.
        let (rule, standing) = allowed_by.unwrap_or_else(|| ("policy".to_owned(), None));
        return AskAnswer::Allowed { rule, standing };
    }
    ctx.approvals.request(asked.clone()).await;
    let wait = Duration::from_millis(request.wait_ms).min(MAX_WAIT);
    let all = async {
        let mut approved = true;
        for rx in answers {
            approved &= rx.await.unwrap_or(false);
            if !approved {
                break;
            }
        }
        approved
    };
    // The door hanging up (its agent gave up) ends the wait as well.
    let outcome = tokio::select! {
        approved = all => Some(approved),
        () = tokio::time::sleep(wait) => None,
        () = hangup => None,
    };
    let answer = match outcome {
        Some(true) => AskAnswer::Approved,
        Some(false) => AskAnswer::Rejected {
            reasons: vec!["the person rejected it in the editor".to_owned()],
        },
        None => AskAnswer::TimedOut,
    };
    // Whatever is still pending is withdrawn: the door no longer waits for it.
    let withdrawn: Vec<String> = {
        let mut waiters = ctx
            .shared
            .door_waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        asked
            .iter()
            .filter(|id| waiters.remove(*id).is_some())
            .cloned()
            .collect()
    };
    if !withdrawn.is_empty() {
        if let Some(mut gate) = ctx.shared.gate() {
            let note = match answer {
                AskAnswer::TimedOut => "withdrawn: the agent stopped waiting for the person",
                _ => "withdrawn: another part of the same edit was rejected",
            };
            gate.settle(&withdrawn, Status::Failed, Some(note), None);
        }
        ctx.shared
            .audit(&withdrawn, autogate_vcs::AuditEvent::Failed);
        ctx.approvals.refresh_diagnostics().await;
        ctx.approvals.request(Vec::new()).await;
    }
    answer
}

/// The person decided a change: if a door waits for it, tells the door and returns true (the
/// door writes; nothing is written here).
pub fn answer(shared: &Arc<super::Shared>, id: &str, approved: bool) -> bool {
    let sender = shared
        .door_waiters
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(id);
    match sender {
        Some(tx) => tx.send(approved).is_ok(),
        None => false,
    }
}

/// Whether a door waits for this change.
pub fn is_door_change(shared: &super::Shared, id: &str) -> bool {
    shared
        .door_waiters
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(key: &str, n: u64, once: bool) -> SnapshotCall {
        SnapshotCall::Keep {
            key: key.to_owned(),
            snapshot: serde_json::json!({ "n": n }),
            once,
        }
    }

    fn take(key: &str) -> SnapshotCall {
        SnapshotCall::Take {
            key: key.to_owned(),
        }
    }

    #[test]
    fn a_tool_call_id_is_held_once_and_taken_once() {
        let mut vault = Vault::default();
        assert_eq!(vault.answer(take("a")), SnapshotAnswer::Unknown);
        assert_eq!(vault.answer(keep("a", 1, true)), SnapshotAnswer::Kept);
        assert!(matches!(
            vault.answer(keep("a", 2, false)),
            SnapshotAnswer::Refused { .. }
        ));
        assert_eq!(
            vault.answer(take("a")),
            SnapshotAnswer::Taken {
                snapshot: serde_json::json!({ "n": 1 })
            }
        );
        assert_eq!(vault.answer(take("a")), SnapshotAnswer::AlreadyTaken);
        assert!(matches!(
            vault.answer(keep("a", 3, true)),
            SnapshotAnswer::Refused { .. }
        ));
    }

    #[test]
    fn a_key_made_from_content_is_reused_by_a_repeated_command() {
        let mut vault = Vault::default();
        assert_eq!(vault.answer(keep("c", 1, false)), SnapshotAnswer::Kept);
        assert!(matches!(
            vault.answer(take("c")),
            SnapshotAnswer::Taken { .. }
        ));
        assert_eq!(vault.answer(keep("c", 2, false)), SnapshotAnswer::Kept);
        assert_eq!(
            vault.answer(take("c")),
            SnapshotAnswer::Taken {
                snapshot: serde_json::json!({ "n": 2 })
            }
        );
    }

    #[test]
    fn a_full_vault_refuses_new_keys() {
        let mut vault = Vault::default();
        for n in 0..VAULT_MAX as u64 {
            assert_eq!(
                vault.answer(keep(&n.to_string(), n, true)),
                SnapshotAnswer::Kept
            );
        }
        assert!(matches!(
            vault.answer(keep("one more", 0, true)),
            SnapshotAnswer::Refused { .. }
        ));
        assert!(matches!(
            vault.answer(take("0")),
            SnapshotAnswer::Taken { .. }
        ));
    }
}
