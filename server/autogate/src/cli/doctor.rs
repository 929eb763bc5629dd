//! `autogate doctor`: checks the chain from an agent to the gate: the binary, the workspace and
//! its policy, the audit trail, each agent's hook configuration (with a canary proposal through
//! the configured command, which must be refused in the agent's own shape), and the trust
//! settings that make agents skip hooks without a word.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

use anyhow::Result;
use serde_json::{Value, json};

use super::init::{HookFile, has_hook};
use super::json::read_object;
use super::out;
use crate::config::{self, Loaded};
use crate::door::agents::Agent;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    Ok,
    Info,
    Warn,
    Fail,
}

struct Report {
    worst: Mark,
}

impl Report {
    fn line(&mut self, mark: Mark, text: impl AsRef<str>) {
        let tag = match mark {
            Mark::Ok => "ok  ",
            Mark::Info => "info",
            Mark::Warn => "warn",
            Mark::Fail => "FAIL",
        };
        out(format!("{tag}  {}", text.as_ref()));
        self.worst = self.worst.max(mark);
    }
}

pub async fn run(root: &Path) -> Result<ExitCode> {
    let mut report = Report { worst: Mark::Ok };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    match std::env::current_exe() {
        Ok(exe) => report.line(
            Mark::Ok,
            format!("binary: {} {}", exe.display(), env!("CARGO_PKG_VERSION")),
        ),
        Err(e) => report.line(Mark::Warn, format!("binary: cannot tell where it is ({e})")),
    }
    let head = config::head(&root);
    match &head {
        autogate_policy::Head::NoGit => report.line(
            Mark::Warn,
            format!(
                "workspace: {} is not a git work tree: shell tool calls are recorded, not bracketed",
                root.display()
            ),
        ),
        autogate_policy::Head::Branch(branch) => report.line(
            Mark::Ok,
            format!("workspace: {} (git, branch {branch})", root.display()),
        ),
        autogate_policy::Head::Detached => report.line(
            Mark::Ok,
            format!("workspace: {} (git, detached HEAD)", root.display()),
        ),
    }
    match config::read_policy(&root) {
        Loaded::Missing => report.line(Mark::Ok, "policy: no .autogate.toml, the defaults apply"),
        Loaded::Valid(policy) => {
            let env = config::environment(&policy, &root);
            report.line(
                Mark::Ok,
                format!(
                    "policy: .autogate.toml is valid; environment {} ({})",
                    env.name, env.reason
                ),
            );
        }
        Loaded::Invalid { errors, .. } => report.line(
            Mark::Fail,
            format!(
                "policy: .autogate.toml has {} error(s), so every change asks: {}",
                errors.len(),
                errors.first().map(ToString::to_string).unwrap_or_default()
            ),
        ),
    }
    match autogate_vcs::AuditLog::open(&root).and_then(|log| log.verify()) {
        Ok(verified) if verified.is_ok() => report.line(Mark::Ok, "audit trail: verifies"),
        Ok(_) => report.line(
            Mark::Fail,
            "audit trail: does not verify (`autogate log --verify` says why)",
        ),
        Err(e) => report.line(Mark::Fail, format!("audit trail: {e:#}")),
    }
    editor_session(&root, &mut report);
    let mut configured = 0;
    for agent in Agent::ALL {
        if check_agent(&root, agent, &mut report).await {
            configured += 1;
        }
    }
    if configured == 0 {
        report.line(
            Mark::Warn,
            "no agent runs autogate's hooks here: `autogate init <agent>` sets one up",
        );
    }
    Ok(if report.worst == Mark::Fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Checks one agent; `true` when its hooks are configured.
async fn check_agent(root: &Path, agent: Agent, report: &mut Report) -> bool {
    let name = agent.name();
    let file = HookFile::of(agent);
    let path = root.join(file.path);
    if !path.exists() {
        report.line(
            Mark::Info,
            format!("{name}: not set up ({} absent)", file.path),
        );
        return false;
    }
    let config = match read_object(&path) {
        Ok(config) => Value::Object(config),
        Err(e) => {
            report.line(Mark::Fail, format!("{name}: {e:#}"));
            return true;
        }
    };
    if config["disableAllHooks"] == Value::Bool(true) {
        report.line(
            Mark::Fail,
            format!("{name}: {} sets `disableAllHooks`: no hook runs", file.path),
        );
    }
    let [pre, post] = file.events();
    let mut missing = Vec::new();
    for event in [pre, post] {
        if !has_hook(&config["hooks"][event], agent) {
            missing.push(event);
        }
    }
    if missing.len() == 2 {
        report.line(
            Mark::Info,
            format!(
                "{name}: {} does not run autogate (`autogate init {name}`)",
                file.path
            ),
        );
        return false;
    }
    if missing.is_empty() {
        report.line(
            Mark::Ok,
            format!(
                "{name}: {} runs `autogate hook {name}` at {pre} and {post}",
                file.path
            ),
        );
    } else {
        report.line(
            Mark::Fail,
            format!(
                "{name}: {} has no autogate hook at {} (`autogate init {name}` adds it)",
                file.path,
                missing.join(", ")
            ),
        );
    }
    if let Some(command) = command_of(&config["hooks"][pre], agent) {
        canary(root, agent, &command, report).await;
    }
    trust(root, agent, report);
    true
}

/// The configured command of the first autogate entry in a hook list.
fn command_of(list: &Value, agent: Agent) -> Option<String> {
    let needle = format!("hook {}", agent.name());
    let pick = |v: &Value| {
        ["command", "bash"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .filter(|c| c.contains(&needle))
            .map(str::to_owned)
    };
    list.as_array()?
        .iter()
        .find_map(|e| pick(e).or_else(|| e.get("hooks")?.as_array()?.iter().find_map(pick)))
}

/// Whether an editor's language server listens for the hooks' asks on this workspace.
fn editor_session(root: &Path, report: &mut Report) {
    let path = match crate::desk::socket_path(root) {
        Ok(path) => path,
        Err(e) => {
            report.line(Mark::Info, format!("editor session: none ({e:#})"));
            return;
        }
    };
    #[cfg(unix)]
    if std::os::unix::net::UnixStream::connect(&path).is_ok() {
        report.line(
            Mark::Ok,
            format!(
                "editor session: listening at {}; held changes are asked in the editor",
                path.display()
            ),
        );
        return;
    }
    report.line(
        Mark::Info,
        "editor session: none running on this workspace; held changes wait for `autogate approve ID` from a terminal",
    );
}

/// Runs the configured command with a canary: a write outside the workspace, which must be
/// refused (exit 2, the agent's deny shape). Nothing is written; the refusal is recorded.
async fn canary(root: &Path, agent: Agent, command: &str, report: &mut Report) {
    let name = agent.name();
    let target = root
        .parent()
        .unwrap_or(root)
        .join("autogate-doctor-canary.txt");
    let cwd = root.display().to_string();
    let payload = match agent {
        Agent::ClaudeCode | Agent::Codex => json!({ "session_id": "doctor", "cwd": cwd,
            "hook_event_name": "PreToolUse", "tool_name": "Write",
            "tool_input": { "file_path": target, "content": "canary\n" } }),
        Agent::Gemini => json!({ "session_id": "doctor", "cwd": cwd,
            "hook_event_name": "BeforeTool", "tool_name": "write_file",
            "tool_input": { "file_path": target, "content": "canary\n" } }),
        Agent::Copilot => json!({ "cwd": cwd, "toolName": "create",
            "toolArgs": json!({ "path": target, "file_text": "canary\n" }).to_string() }),
    };
    let child = std::process::Command::new("sh")
        .args(["-c", command])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            report.line(Mark::Fail, format!("{name}: cannot run `{command}`: {e}"));
            return;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(payload.to_string().as_bytes());
    }
    let output = match child.wait_with_output() {
        Ok(output) => output,
        Err(e) => {
            report.line(Mark::Fail, format!("{name}: `{command}` failed: {e}"));
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let shaped = serde_json::from_str::<Value>(stdout.trim()).is_ok_and(|v| match agent {
        Agent::ClaudeCode | Agent::Codex => v["hookSpecificOutput"]["permissionDecision"] == "deny",
        Agent::Gemini => v["decision"] == "deny",
        Agent::Copilot => v["permissionDecision"] == "deny",
    });
    if output.status.code() == Some(2) && shaped && !target.exists() {
        report.line(
            Mark::Ok,
            format!("{name}: canary refused through `{command}` (exit 2, in {name}'s shape)"),
        );
    } else {
        report.line(
            Mark::Fail,
            format!(
                "{name}: the canary through `{command}` was not refused as expected (exit {:?}): {}{}",
                output.status.code(),
                stdout.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        );
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The settings that make an agent skip hooks silently.
fn trust(root: &Path, agent: Agent, report: &mut Report) {
    let name = agent.name();
    let here = root.display().to_string();
    let under = |folder: &str| {
        let folder = folder.trim_end_matches('/');
        here == folder || here.starts_with(&format!("{folder}/"))
    };
    match agent {
        Agent::ClaudeCode => {}
        Agent::Codex => {
            let config = std::env::var_os("CODEX_HOME")
                .map(PathBuf::from)
                .or_else(|| home().map(|h| h.join(".codex")))
                .map(|d| d.join("config.toml"));
            let trusted = config
                .and_then(|c| std::fs::read_to_string(c).ok())
                .is_some_and(|text| {
                    let header = format!("[projects.\"{here}\"]");
                    text.split_once(&header).is_some_and(|(_, rest)| {
                        rest.split("\n[")
                            .next()
                            .is_some_and(|section| section.contains("trust_level = \"trusted\""))
                    })
                });
            report.line(
                Mark::Warn,
                format!(
                    "{name}: Codex skips project hooks it has not trusted, without a word{}; trust them in an interactive `codex` session, or run `codex exec --dangerously-bypass-hook-trust`",
                    if trusted { " (the project is trusted; hook trust is separate)" } else { "" }
                ),
            );
        }
        Agent::Copilot => {
            if std::env::var("COPILOT_ALLOW_ALL").is_ok_and(|v| v == "true") {
                report.line(
                    Mark::Ok,
                    format!("{name}: COPILOT_ALLOW_ALL=true trusts every folder"),
                );
                return;
            }
            let config = home().map(|h| h.join(".copilot/config.json"));
            let folders: Vec<String> = config
                .and_then(|c| std::fs::read_to_string(c).ok())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| {
                    v.get("trusted_folders")
                        .or_else(|| v.get("trustedFolders"))
                        .and_then(Value::as_array)
                        .cloned()
                })
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect();
            if folders.iter().any(|f| under(f)) {
                report.line(Mark::Ok, format!("{name}: this folder is trusted"));
            } else {
                report.line(
                    Mark::Warn,
                    format!(
                        "{name}: this folder is not among Copilot's trusted folders (~/.copilot/config.json): Copilot skips hooks here without a word; trust it when Copilot asks, or pass --trust-folder"
                    ),
                );
            }
        }
        Agent::Gemini => {
            if std::env::var("GEMINI_CLI_TRUST_WORKSPACE").is_ok_and(|v| v == "true") {
                report.line(Mark::Ok, format!("{name}: GEMINI_CLI_TRUST_WORKSPACE=true"));
                return;
            }
            let trusted = home()
                .map(|h| h.join(".gemini/trustedFolders.json"))
                .and_then(|c| std::fs::read_to_string(c).ok())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v.as_object().cloned())
                .is_some_and(|map| {
                    map.iter().any(|(folder, level)| {
                        (level == "TRUST_FOLDER" && under(folder))
                            || (level == "TRUST_PARENT"
                                && Path::new(folder)
                                    .parent()
                                    .is_some_and(|p| under(&p.display().to_string())))
                    })
                });
            if trusted {
                report.line(Mark::Ok, format!("{name}: this folder is trusted"));
            } else {
                report.line(
                    Mark::Warn,
                    format!(
                        "{name}: this folder is not trusted (~/.gemini/trustedFolders.json): Gemini CLI ignores project settings, hooks included; trust it when asked"
                    ),
                );
            }
        }
    }
}
