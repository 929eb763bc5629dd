//! `autogate hook <agent>`: the agent hook door. Reads the agent's hook payload on stdin, gates
//! the tool call (before it runs) or checks what it did (after), and answers in that agent's
//! format: see [`crate::door::agents`]. Anything unreadable is refused (exit 2).
//!
//! When an editor session runs on the workspace, an edit tool's call before it runs is handed
//! to the session ([`crate::desk::SessionDesk::forward_hook`]), which runs the same door in its
//! warm process; `AUTOGATE_HOOK_LOCAL=1` keeps every call in the hook.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::desk::{Forwarded, HookCall, SessionDesk, SnapshotAnswer, SnapshotCall};
use crate::door::Door;
use crate::door::agents::{self, Action, Agent, Call, Event, Reply};
use crate::door::shell::{self, Snapshot};

/// The most stdin a hook reads (a `Write` of a large file fits).
const MAX_INPUT: u64 = 64 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent that runs the hook.
    #[arg(value_enum)]
    pub agent: Agent,
    /// Before or after the tool, when the agent's payload does not say.
    #[arg(long, value_enum)]
    pub event: Option<Event>,
}

/// Runs one hook invocation and prints the agent's answer.
pub async fn run(root: Option<&Path>, args: &Args) -> ExitCode {
    let reply = answer(root, args).await;
    if !reply.stdout.is_empty() {
        super::out(&reply.stdout);
    }
    if !reply.stderr.is_empty() {
        super::err(&reply.stderr);
    }
    ExitCode::from(reply.code)
}

async fn answer(root: Option<&Path>, args: &Args) -> Reply {
    let agent = args.agent;
    let mut input = String::new();
    if let Err(e) = std::io::stdin().take(MAX_INPUT).read_to_string(&mut input) {
        return agents::deny(
            agent,
            args.event.unwrap_or(Event::Pre),
            &format!("autogate could not read the hook's input: {e}"),
        );
    }
    let call = match agents::parse(agent, &input, args.event) {
        Ok(call) => call,
        Err(e) => {
            return agents::deny(
                agent,
                args.event.unwrap_or(Event::Pre),
                &format!("autogate refused this tool call: {e}"),
            );
        }
    };
    if matches!(call.action, Action::ReadOnly) {
        return agents::allow();
    }
    let event = call.event;
    if let (Action::Edits(_), Event::Pre) = (&call.action, event) {
        match forward(agent, root, &call, input, args.event).await {
            Forwarded::Replied(reply) => {
                tracing::info!("the editor session gated this call");
                return reply;
            }
            Forwarded::TimedOut => {
                return agents::deny(
                    agent,
                    event,
                    "autogate: the editor session did not answer in time, so this edit is refused. Nothing was written.",
                );
            }
            Forwarded::NotTaken => {}
        }
    }
    match gate(agent, root, call).await {
        Ok(reply) => reply,
        Err(e) => agents::deny(
            agent,
            event,
            &crate::gate::redact(&format!(
                "autogate could not gate this tool call, so it is refused: {e:#}"
            )),
        ),
    }
}

/// Hands the call to the workspace's editor session, if one runs and `AUTOGATE_HOOK_LOCAL`
/// does not keep it here.
async fn forward(
    agent: Agent,
    root: Option<&Path>,
    call: &Call,
    input: String,
    event: Option<Event>,
) -> Forwarded {
    if std::env::var_os("AUTOGATE_HOOK_LOCAL").is_some_and(|v| !v.is_empty() && v != "0") {
        return Forwarded::NotTaken;
    }
    let Ok(here) = std::env::current_dir() else {
        return Forwarded::NotTaken;
    };
    let root = agents::workspace_root(root, &call.cwd_from(here.clone()));
    let Ok(root) = root.canonicalize() else {
        return Forwarded::NotTaken;
    };
    let desk = SessionDesk::from_env(&root);
    let hook = HookCall {
        agent: agent.name().to_owned(),
        event: event.map(|e| match e {
            Event::Pre => "pre".to_owned(),
            Event::Post => "post".to_owned(),
        }),
        input,
        cwd: here,
        env: std::env::var("AUTOGATE_ENV").ok(),
        wait_ms: u64::try_from(desk.wait().as_millis()).unwrap_or(u64::MAX),
    };
    desk.forward_hook(hook).await
}

/// The key a shell command's snapshot is held under in the editor session.
fn vault_key(agent: Agent, key: &str) -> String {
    format!("{}\u{0}{key}", agent.name())
}

async fn gate(agent: Agent, root: Option<&Path>, call: Call) -> anyhow::Result<Reply> {
    let cwd = call.cwd_from(std::env::current_dir()?);
    let root = agents::workspace_root(root, &cwd);
    let mut door = Door::open(&root)?;
    let source = call.source(agent);
    let outcome = match (call.action, call.event) {
        (Action::ReadOnly, _) => return Ok(agents::allow()),
        (Action::Edits(specs), Event::Pre) => {
            let desk = SessionDesk::from_env(door.root());
            door.propose(agents::file_edits(specs, &cwd), &source, &desk)
                .await?
        }
        (Action::Edits(specs), Event::Post) => {
            let paths: Vec<PathBuf> = specs.iter().flat_map(|s| s.paths(&cwd)).collect();
            door.after_write(&paths, &source).await?
        }
        (Action::Bracketed, Event::Pre) => {
            let snapshot = shell::snapshot(&door)?;
            // The session's copy first: a refused keep leaves the copy on disk as it was.
            let desk = SessionDesk::from_env(door.root());
            let keep = SnapshotCall::Keep {
                key: vault_key(agent, &call.key),
                snapshot: serde_json::to_value(&snapshot)?,
                once: call.key_is_id,
            };
            match desk.snapshot(keep).await {
                None | Some(SnapshotAnswer::Kept) => {
                    door.state().save_snapshot(&call.key, &snapshot)?;
                    return Ok(agents::allow());
                }
                Some(SnapshotAnswer::Refused { message }) => {
                    shell::not_held(&mut door, &source, &message).await?
                }
                Some(other) => {
                    shell::not_held(&mut door, &source, &format!("unexpected answer {other:?}"))
                        .await?
                }
            }
        }
        (Action::Bracketed, Event::Post) => {
            let on_disk = door.state().take_snapshot::<Snapshot>(&call.key);
            let desk = SessionDesk::from_env(door.root());
            let take = SnapshotCall::Take {
                key: vault_key(agent, &call.key),
            };
            match desk.snapshot(take).await {
                Some(SnapshotAnswer::Taken { snapshot }) => {
                    let held: Snapshot = serde_json::from_value(snapshot)
                        .context("the editor session's snapshot does not read")?;
                    let same = matches!(&on_disk, Ok(Some(file))
                        if serde_json::to_value(file).ok() == serde_json::to_value(&held).ok());
                    let mut outcome = shell::after(&mut door, &held, &source).await?;
                    if !same {
                        shell::rewritten(&mut door, &source, &mut outcome).await?;
                    }
                    outcome
                }
                Some(SnapshotAnswer::AlreadyTaken) => {
                    shell::unbracketed(&mut door, &source, shell::SNAPSHOT_TAKEN).await?
                }
                // No session, or one that did not hold it (started after the snapshot).
                _ => match on_disk? {
                    Some(snapshot) => shell::after(&mut door, &snapshot, &source).await?,
                    None => shell::unbracketed(&mut door, &source, shell::SNAPSHOT_GONE).await?,
                },
            }
        }
    };
    // After the tool (off the path that holds the agent before it): keep the store small.
    door.tidy().await;
    Ok(agents::reply(agent, call.event, &outcome))
}
