//! `autogate init <agent>`: merges autogate's hooks into the agent's configuration for this
//! workspace. The file is parsed and our entries added where missing; everything else in it
//! stays (a file that cannot be parsed is left alone, with an error).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::{Map, Value, json};

use super::init_mcp::{self, Files};
use super::out;
use crate::door::agents::Agent;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub agent: Agent,
    /// The command the hooks run (default: `autogate` if it is on PATH, else this binary).
    #[arg(long, value_name = "COMMAND")]
    pub command: Option<String>,
    /// Also register `autogate mcp` as the agent's MCP server `autogate` in its project
    /// configuration, and turn the agent's own edit tools off where it allows that.
    #[arg(long)]
    pub mcp: bool,
}

/// Where one agent keeps its project hooks, and the entries autogate needs there.
pub(super) struct HookFile {
    /// Relative to the workspace root.
    pub path: &'static str,
    /// The event keys autogate hooks into: before the tool, after it.
    events: [&'static str; 2],
}

impl HookFile {
    pub(super) fn of(agent: Agent) -> Self {
        match agent {
            Agent::ClaudeCode => Self {
                path: ".claude/settings.json",
                events: ["PreToolUse", "PostToolUse"],
            },
            Agent::Codex => Self {
                path: ".codex/hooks.json",
                events: ["PreToolUse", "PostToolUse"],
            },
            Agent::Gemini => Self {
                path: ".gemini/settings.json",
                events: ["BeforeTool", "AfterTool"],
            },
            Agent::Copilot => Self {
                path: ".github/hooks/autogate.json",
                events: ["preToolUse", "postToolUse"],
            },
        }
    }

    /// The event keys autogate hooks into.
    pub(super) fn events(&self) -> [&'static str; 2] {
        self.events
    }
}

/// The hook command for `agent` at `event`, from the base command (`autogate`).
pub(super) fn hook_command(base: &str, agent: Agent, event: &str) -> String {
    match agent {
        // Copilot's payload does not name the event.
        Agent::Copilot => {
            let when = if event.starts_with("pre") {
                "pre"
            } else {
                "post"
            };
            format!("{base} hook copilot --event {when}")
        }
        other => format!("{base} hook {}", other.name()),
    }
}

/// One entry of the agent's hook list.
fn entry(agent: Agent, command: &str) -> Value {
    match agent {
        // Every tool: edit tools are gated, shell calls and unknown tools bracketed, and
        // read-only ones answered at once.
        Agent::ClaudeCode => {
            json!({ "matcher": "*", "hooks": [{ "type": "command", "command": command }] })
        }
        Agent::Codex => json!({ "hooks": [{ "type": "command", "command": command }] }),
        Agent::Gemini => {
            json!({ "matcher": ".*", "hooks": [{ "type": "command", "command": command }] })
        }
        Agent::Copilot => json!({ "type": "command", "bash": command, "timeoutSec": 60 }),
    }
}

/// Whether a hook list already runs `autogate hook <agent>`.
pub(super) fn has_hook(list: &Value, agent: Agent) -> bool {
    let needle = format!("hook {}", agent.name());
    let mentions = |v: &Value| {
        ["command", "bash"].iter().any(|k| {
            v.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|c| c.contains("autogate") && c.contains(&needle))
        })
    };
    list.as_array().is_some_and(|entries| {
        entries.iter().any(|e| {
            mentions(e)
                || e.get("hooks")
                    .and_then(Value::as_array)
                    .is_some_and(|hooks| hooks.iter().any(mentions))
        })
    })
}

/// The command hooks should run: `autogate` when that is this binary on PATH, else its
/// absolute path (agents run hooks with their own PATH).
fn default_command() -> String {
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("autogate"))
            .find(|p| p.is_file())
            .and_then(|p| p.canonicalize().ok())
    });
    match (me, on_path) {
        (Some(me), Some(found)) if me == found => "autogate".to_owned(),
        (Some(me), _) => shell_quote(&me.display().to_string()),
        (None, _) => "autogate".to_owned(),
    }
}

fn shell_quote(text: &str) -> String {
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Adds autogate's hooks to `config` where missing. Returns the events it added.
pub(super) fn merge(
    config: &mut Map<String, Value>,
    agent: Agent,
    base: &str,
    file: &str,
) -> Result<Vec<&'static str>> {
    let hooks = config
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(hooks) = hooks else {
        bail!("`hooks` in {file} is not an object; left as it is");
    };
    let mut added = Vec::new();
    for event in HookFile::of(agent).events() {
        let list = hooks
            .entry(event)
            .or_insert_with(|| Value::Array(Vec::new()));
        if has_hook(list, agent) {
            continue;
        }
        let Value::Array(entries) = list else {
            bail!("`hooks.{event}` in {file} is not a list; left as it is");
        };
        entries.push(entry(agent, &hook_command(base, agent, event)));
        added.push(event);
    }
    if agent == Agent::Copilot {
        config.entry("version").or_insert(json!(1));
    }
    Ok(added)
}

pub fn run(root: &Path, args: &Args) -> Result<ExitCode> {
    let agent = args.agent;
    let file = HookFile::of(agent);
    let base = args.command.clone().unwrap_or_else(default_command);
    // Everything is read and merged first: a broken file stops the run with nothing written.
    let mut files = Files::default();
    let added = merge(files.json(root, file.path)?, agent, &base, file.path)?;
    if !added.is_empty() {
        files.changed(file.path);
    }
    let steps = if args.mcp {
        init_mcp::merge(&mut files, root, agent, &base)?
    } else {
        Vec::new()
    };
    files.write(root)?;
    if added.is_empty() {
        out(format!("{}: autogate's hooks are already there", file.path));
    } else {
        out(format!("{}: added {}", file.path, added.join(", ")));
    }
    for step in &steps {
        if step.added.is_empty() {
            out(format!("{}: {} already there", step.file, step.what));
        } else {
            out(format!("{}: added {}", step.file, step.added.join("; ")));
        }
    }
    match agent {
        Agent::Codex => out(
            "note: Codex skips project hooks it does not trust, silently: trust them once in an \
             interactive `codex` session (or run with --dangerously-bypass-hook-trust)",
        ),
        Agent::Copilot => out(
            "note: Copilot CLI skips hooks in a folder it does not trust, silently: trust this \
             folder when it asks (or run with --trust-folder / COPILOT_ALLOW_ALL=true)",
        ),
        Agent::Gemini => out(
            "note: Gemini CLI runs project hooks only in a trusted folder (trust it when asked, \
             or GEMINI_CLI_TRUST_WORKSPACE=true)",
        ),
        Agent::ClaudeCode => {}
    }
    if args.mcp {
        for line in init_mcp::usage(agent, root) {
            out(line);
        }
    }
    out("`autogate doctor` checks the whole chain");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_is_idempotent_and_keeps_other_entries() {
        let mut config: Map<String, Value> = serde_json::from_str(
            r#"{"model":"x","hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"lint"}]}]}}"#,
        )
        .unwrap();
        let added = merge(&mut config, Agent::ClaudeCode, "autogate", "f").unwrap();
        assert_eq!(added, vec!["PreToolUse", "PostToolUse"]);
        assert!(
            merge(&mut config, Agent::ClaudeCode, "autogate", "f")
                .unwrap()
                .is_empty()
        );
        assert_eq!(config["model"], "x");
        assert_eq!(config["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
        let mut broken: Map<String, Value> = serde_json::from_str(r#"{"hooks":[]}"#).unwrap();
        assert!(merge(&mut broken, Agent::Gemini, "autogate", "f").is_err());
    }
}
