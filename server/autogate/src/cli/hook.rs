//! `autogate hook <agent>`: the agent hook door. Reads the agent's hook payload on stdin, gates
//! the tool call (before it runs) or checks what it did (after), and answers in that agent's
//! format: see [`crate::door::agents`]. Anything unreadable is refused (exit 2).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::desk::SessionDesk;
use crate::door::agents::{self, Action, Agent, Call, Event, Reply};
use crate::door::shell::{self, Snapshot};
use crate::door::{Door, Source};

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

/// The workspace: `--root`, else the git work tree around the agent's `cwd` (or ours), else
/// that folder.
fn workspace_root(root: Option<&Path>, cwd: &Path) -> PathBuf {
    if let Some(root) = root {
        return root.to_path_buf();
    }
    git2::Repository::discover(cwd)
        .ok()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .unwrap_or_else(|| cwd.to_path_buf())
}

async fn gate(agent: Agent, root: Option<&Path>, call: Call) -> anyhow::Result<Reply> {
    let here = std::env::current_dir()?;
    let cwd = match &call.cwd {
        Some(cwd) if cwd.is_absolute() => cwd.clone(),
        Some(cwd) => here.join(cwd),
        None => here,
    };
    let root = workspace_root(root, &cwd);
    let mut door = Door::open(&root)?;
    let source = Source {
        agent: agent.name().to_owned(),
        session: call.session.clone(),
        tool: Some(call.tool.clone()),
    };
    let outcome = match (call.action, call.event) {
        (Action::ReadOnly, _) => return Ok(agents::allow()),
        (Action::Edits(specs), Event::Pre) => {
            let edits = specs
                .into_iter()
                .flat_map(|s| s.into_file_edits(&cwd))
                .collect();
            door.propose(edits, &source, &SessionDesk::from_env(door.root()))
                .await?
        }
        (Action::Edits(specs), Event::Post) => {
            let paths: Vec<PathBuf> = specs.iter().flat_map(|s| s.paths(&cwd)).collect();
            door.after_write(&paths, &source).await?
        }
        (Action::Bracketed, Event::Pre) => {
            let snapshot = shell::snapshot(&door)?;
            door.state().save_snapshot(&call.key, &snapshot)?;
            return Ok(agents::allow());
        }
        (Action::Bracketed, Event::Post) => {
            let Some(snapshot) = door.state().take_snapshot::<Snapshot>(&call.key)? else {
                return Ok(agents::allow());
            };
            shell::after(&mut door, &snapshot, &source).await?
        }
    };
    Ok(agents::reply(agent, call.event, &outcome))
}
