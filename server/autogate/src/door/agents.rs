//! What the four coding agents send their hooks, and the answer each one honours.
//!
//! | agent | stdin | edit tools | deny it honours |
//! |---|---|---|---|
//! | Claude Code | `tool_name`, `tool_input` | `Edit`, `MultiEdit`, `Write` | `hookSpecificOutput.permissionDecision` |
//! | Codex | same as Claude | `apply_patch {command}` | same as Claude |
//! | Gemini CLI | same keys | `replace`, `write_file` | top-level `decision`, `reason` |
//! | Copilot CLI | `toolName`, `toolArgs` (maybe a JSON string) | `edit`, `create`, `apply_patch` | top-level `permissionDecision` |
//!
//! After the tool, every agent gets `{"decision": "block", "reason"}`: the one answer all four
//! pass on to the model there. Every deny also exits with status 2 and the reason on stderr, which all four honour; an
//! answer in another agent's shape is ignored by some, so each agent gets exactly its own.
//! Anything that cannot be read is refused (fail closed).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::codex_patch::{self, Operation};
use super::{FileEdit, Outcome, Transform};

/// The agents `autogate hook` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Agent {
    ClaudeCode,
    Codex,
    Gemini,
    Copilot,
}

impl Agent {
    pub const ALL: [Agent; 4] = [Self::ClaudeCode, Self::Codex, Self::Gemini, Self::Copilot];

    pub fn name(self) -> &'static str {
        match self {
            Self::ClaudeCode => "claude-code",
            Self::Codex => "codex",
            Self::Gemini => "gemini",
            Self::Copilot => "copilot",
        }
    }
}

/// Before the tool runs, or after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Event {
    Pre,
    Post,
}

/// What a tool call does to the workspace, as far as autogate can tell.
#[derive(Debug)]
pub enum Action {
    /// Known to read only: allowed at once, nothing touched.
    ReadOnly,
    /// Edits of named files.
    Edits(Vec<EditSpec>),
    /// A shell command, or a tool autogate does not know: bracketed by a snapshot.
    Bracketed,
}

/// One edit of an edit tool.
#[derive(Clone, Debug)]
pub enum EditSpec {
    Write {
        path: String,
        content: String,
    },
    Replace {
        path: String,
        edits: Vec<Replacement>,
    },
    Patch(Vec<Operation>),
}

/// `old` → `new` in a file.
#[derive(Clone, Debug)]
pub struct Replacement {
    pub old: String,
    pub new: String,
    pub all: bool,
    /// Gemini's `expected_replacements`.
    pub expected: Option<usize>,
}

/// One hook invocation, read.
#[derive(Debug)]
pub struct Call {
    pub event: Event,
    pub tool: String,
    pub action: Action,
    pub cwd: Option<PathBuf>,
    pub session: Option<String>,
    /// Pairs the call before the tool with the call after it.
    pub key: String,
    /// Whether `key` is the agent's own id of this tool call (Claude Code, Codex), unique to
    /// it; otherwise it is made from the call's content, and a repeated command reuses it.
    pub key_is_id: bool,
    /// The agent's permission mode, where it says (Claude Code's `permission_mode`).
    pub permission_mode: Option<String>,
}

impl Call {
    /// The folder the call's relative paths start from: the payload's `cwd` against `here`.
    pub fn cwd_from(&self, here: PathBuf) -> PathBuf {
        match &self.cwd {
            Some(cwd) if cwd.is_absolute() => cwd.clone(),
            Some(cwd) => here.join(cwd),
            None => here,
        }
    }

    /// Who proposes, as the door records it.
    pub fn source(&self, agent: Agent) -> super::Source {
        super::Source {
            agent: agent.name().to_owned(),
            session: self.session.clone(),
            tool: Some(self.tool.clone()),
            // Only Claude Code's default mode asks a person before an edit: its other modes
            // accept edits (or everything) on their own, and the other agents apply an "ask"
            // when headless (Codex) or hang (Gemini CLI).
            prompt: agent == Agent::ClaudeCode
                && self.permission_mode.as_deref() == Some("default"),
        }
    }
}

/// The workspace of a call: `root` if given, else the git work tree around `cwd`, else `cwd`.
///
/// A work tree that does not hold `cwd` is not taken: libgit2 puts it above the git folder
/// when `.git` is a gitfile or a link to a folder elsewhere, and `core.worktree` can put it
/// anywhere, so a shell command that rewrites `.git` would otherwise move the workspace the
/// hook after it checks (and where it looks for its snapshot) to a folder of its choosing.
/// The folder holding the nearest `.git` above `cwd` is taken instead, as git itself finds
/// its work tree.
pub fn workspace_root(root: Option<&Path>, cwd: &Path) -> PathBuf {
    if let Some(root) = root {
        return root.to_path_buf();
    }
    let Ok(repo) = git2::Repository::discover(cwd) else {
        return cwd.to_path_buf();
    };
    let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(workdir) = repo.workdir()
        && canonical(cwd).starts_with(canonical(workdir))
    {
        return workdir.to_path_buf();
    }
    cwd.ancestors()
        .find(|dir| dir.join(".git").symlink_metadata().is_ok())
        .unwrap_or(cwd)
        .to_path_buf()
}

/// The file edits of an edit tool's call, paths taken from `cwd`.
pub fn file_edits(specs: Vec<EditSpec>, cwd: &Path) -> Vec<FileEdit> {
    specs
        .into_iter()
        .flat_map(|s| s.into_file_edits(cwd))
        .collect()
}

fn str_of<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| value.get(*k).and_then(Value::as_str))
}

/// Reads a hook's stdin. `event` forces the event when the agent does not name it.
pub fn parse(agent: Agent, text: &str, event: Option<Event>) -> Result<Call, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "the hook's input is not JSON ({e}); autogate expects the {} hook payload on stdin",
            agent.name()
        )
    })?;
    if !value.is_object() {
        return Err("the hook's input is not a JSON object".to_owned());
    }
    let tool = str_of(&value, &["tool_name", "toolName"])
        .ok_or("the hook's input names no tool (`tool_name` / `toolName`)")?
        .to_owned();
    let named = str_of(&value, &["hook_event_name", "hookEventName", "event"]);
    let event = match (event, named) {
        (Some(e), _) => e,
        (None, Some(name)) => match name.to_ascii_lowercase().as_str() {
            "pretooluse" | "beforetool" => Event::Pre,
            "posttooluse" | "aftertool" => Event::Post,
            other => {
                return Err(format!(
                    "autogate answers tool hooks only, not the `{other}` event"
                ));
            }
        },
        (None, None) => {
            if ["tool_response", "toolResult", "tool_result", "tool_output"]
                .iter()
                .any(|k| value.get(*k).is_some())
            {
                Event::Post
            } else {
                Event::Pre
            }
        }
    };
    let input = match value
        .get("tool_input")
        .or_else(|| value.get("toolArgs"))
        .or_else(|| value.get("tool_args"))
    {
        // Copilot sends its arguments as a JSON string; a patch may come as plain text.
        Some(Value::String(s)) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        Some(v) => v.clone(),
        None => Value::Object(Default::default()),
    };
    let cwd = str_of(&value, &["cwd"]).map(PathBuf::from);
    let session = str_of(&value, &["session_id", "sessionId"]).map(str::to_owned);
    let (key, key_is_id) = match str_of(
        &value,
        &["tool_use_id", "toolUseId", "toolCallId", "tool_call_id"],
    ) {
        Some(id) => (id.to_owned(), true),
        None => (
            format!(
                "{}\u{0}{tool}\u{0}{input}",
                session.as_deref().unwrap_or_default()
            ),
            false,
        ),
    };
    let action = action(&tool, &input)?;
    let permission_mode = str_of(&value, &["permission_mode"]).map(str::to_owned);
    Ok(Call {
        event,
        tool,
        action,
        cwd,
        session,
        key,
        key_is_id,
        permission_mode,
    })
}

/// Tools that only read (or only talk to the model): nothing to gate.
const READ_ONLY: &[&str] = &[
    "read",
    "grep",
    "glob",
    "ls",
    "webfetch",
    "websearch",
    "todowrite",
    "todoread",
    "task",
    "notebookread",
    "exitplanmode",
    "bashoutput",
    "killshell",
    "killbash",
    "read_file",
    "read_many_files",
    "list_directory",
    "search_file_content",
    "google_web_search",
    "web_fetch",
    "web_search",
    "view",
    "view_image",
    "report_intent",
    "think",
    "update_plan",
    "read_bash",
    "list_bash",
    "stop_bash",
    "fetch",
    "save_memory",
    "glob_tool",
    "grep_tool",
];

fn action(tool: &str, input: &Value) -> Result<Action, String> {
    let name = tool.to_ascii_lowercase();
    if READ_ONLY.contains(&name.as_str()) {
        return Ok(Action::ReadOnly);
    }
    let path = || {
        str_of(input, &["file_path", "path", "absolute_path", "filePath"])
            .map(str::to_owned)
            .ok_or_else(|| format!("the `{tool}` call names no file (`file_path` / `path`)"))
    };
    let replacement = |v: &Value| -> Result<Replacement, String> {
        let old = str_of(v, &["old_string", "old_str", "oldString"])
            .ok_or_else(|| format!("the `{tool}` call has no `old_string`"))?;
        let new = str_of(v, &["new_string", "new_str", "newString"])
            .ok_or_else(|| format!("the `{tool}` call has no `new_string`"))?;
        Ok(Replacement {
            old: old.to_owned(),
            new: new.to_owned(),
            all: v
                .get("replace_all")
                .or_else(|| v.get("replaceAll"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            expected: v
                .get("expected_replacements")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
        })
    };
    let spec = match name.as_str() {
        "edit" | "replace" | "str_replace" => EditSpec::Replace {
            path: path()?,
            edits: vec![replacement(input)?],
        },
        "multiedit" => EditSpec::Replace {
            path: path()?,
            edits: input
                .get("edits")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("the `{tool}` call has no `edits` list"))?
                .iter()
                .map(replacement)
                .collect::<Result<_, _>>()?,
        },
        "write" | "write_file" | "create" => EditSpec::Write {
            path: path()?,
            content: str_of(input, &["content", "file_text", "fileText", "text"])
                .ok_or_else(|| format!("the `{tool}` call has no `content`"))?
                .to_owned(),
        },
        "apply_patch" => EditSpec::Patch(codex_patch::parse(
            &patch_text(input)
                .ok_or_else(|| format!("the `{tool}` call carries no `*** Begin Patch` text"))?,
        )?),
        _ => return Ok(Action::Bracketed),
    };
    Ok(Action::Edits(vec![spec]))
}

/// The patch text of an `apply_patch` call: the input itself, or one of its strings
/// (`command`, `input`, `patch`, or an element of a `command` list).
fn patch_text(input: &Value) -> Option<String> {
    let is_patch = |s: &str| s.contains("*** Begin Patch");
    match input {
        Value::String(s) if is_patch(s) => Some(s.clone()),
        Value::Object(map) => ["command", "input", "patch", "cmd"]
            .iter()
            .filter_map(|k| map.get(*k))
            .find_map(|v| match v {
                Value::String(s) if is_patch(s) => Some(s.clone()),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|s| is_patch(s))
                    .map(str::to_owned),
                _ => None,
            }),
        _ => None,
    }
}

impl EditSpec {
    /// The files this edit names, made absolute against `cwd`.
    pub fn paths(&self, cwd: &Path) -> Vec<PathBuf> {
        let at = |p: &str| cwd.join(p);
        match self {
            Self::Write { path, .. } | Self::Replace { path, .. } => vec![at(path)],
            Self::Patch(ops) => ops
                .iter()
                .flat_map(|op| {
                    let mut paths = vec![at(op.path())];
                    if let Operation::Update {
                        move_to: Some(to), ..
                    } = op
                    {
                        paths.push(at(to));
                    }
                    paths
                })
                .collect(),
        }
    }

    /// The edit as the door's file edits, paths made absolute against `cwd`.
    pub fn into_file_edits(self, cwd: &Path) -> Vec<FileEdit> {
        match self {
            Self::Write { path, content } => {
                vec![FileEdit::new(
                    cwd.join(path),
                    Box::new(move |_| Ok(Some(content))),
                )]
            }
            Self::Replace { path, edits } => {
                vec![FileEdit::new(cwd.join(path), replace(edits))]
            }
            Self::Patch(ops) => ops
                .into_iter()
                .map(|op| match op {
                    Operation::Add { path, content } => {
                        FileEdit::new(cwd.join(path), Box::new(move |_| Ok(Some(content))))
                    }
                    Operation::Delete { path } => FileEdit::new(
                        cwd.join(path),
                        Box::new(|before: Option<&str>| match before {
                            Some(_) => Ok(None),
                            None => Err("the patch deletes a file that does not exist".to_owned()),
                        }),
                    ),
                    Operation::Update {
                        path,
                        move_to,
                        chunks,
                    } => FileEdit {
                        path: cwd.join(path),
                        move_to: move_to.map(|to| cwd.join(to)),
                        transform: Box::new(move |before: Option<&str>| {
                            let before = before
                                .ok_or("the patch updates a file that does not exist".to_owned())?;
                            codex_patch::apply(before, &chunks).map(Some)
                        }),
                    },
                })
                .collect(),
        }
    }
}

/// Replacements applied in order, as the agents' edit tools apply them: `old` must occur once
/// (or `expected` times), unless every occurrence is asked for.
fn replace(edits: Vec<Replacement>) -> Transform {
    Box::new(move |before: Option<&str>| {
        let mut text = match before {
            Some(text) => text.to_owned(),
            // An empty `old_string` on a missing file creates it (Claude Code's Edit).
            None if edits.len() == 1 && edits[0].old.is_empty() => {
                return Ok(Some(edits[0].new.clone()));
            }
            None => {
                return Err("the file does not exist, so there is nothing to replace".to_owned());
            }
        };
        for (n, edit) in edits.iter().enumerate() {
            let which = if edits.len() > 1 {
                format!("edit {}: ", n + 1)
            } else {
                String::new()
            };
            if edit.old.is_empty() {
                return Err(format!("{which}`old_string` is empty"));
            }
            if edit.old == edit.new {
                return Err(format!("{which}`old_string` and `new_string` are the same"));
            }
            let count = text.matches(edit.old.as_str()).count();
            if count == 0 {
                return Err(format!(
                    "{which}`old_string` was not found in the file; read the file again and use its exact text"
                ));
            }
            match edit.expected {
                Some(expected) if expected != count => {
                    return Err(format!(
                        "{which}`old_string` occurs {count} time(s), not the {expected} expected"
                    ));
                }
                None if count > 1 && !edit.all => {
                    return Err(format!(
                        "{which}`old_string` occurs {count} times; make it unique with more context, or set replace_all"
                    ));
                }
                _ => {}
            }
            text = text.replace(edit.old.as_str(), &edit.new);
        }
        Ok(Some(text))
    })
}

/// What the hook prints, writes on stderr, and exits with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

/// An allow: no output, exit 0 (each agent then proceeds under its own permission settings;
/// autogate never loosens them).
pub fn allow() -> Reply {
    Reply {
        stdout: String::new(),
        stderr: String::new(),
        code: 0,
    }
}

/// A deny (before the tool) or a failure to report (after it), in the agent's own shape, with
/// exit status 2 and the reason on stderr.
pub fn deny(agent: Agent, event: Event, reason: &str) -> Reply {
    let body = match (agent, event) {
        (Agent::ClaudeCode | Agent::Codex, Event::Pre) => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }),
        // After the tool, `decision: block` is the one answer all four pass to the model
        // (Copilot CLI ignores its own pre-tool shape there).
        (_, Event::Post) => json!({
            "decision": "block",
            "reason": reason,
        }),
        (Agent::Gemini, Event::Pre) => json!({ "decision": "deny", "reason": reason }),
        (Agent::Copilot, Event::Pre) => json!({
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }),
    };
    Reply {
        stdout: body.to_string(),
        stderr: reason.to_owned(),
        code: 2,
    }
}

/// The reply to an outcome.
pub fn reply(agent: Agent, event: Event, outcome: &Outcome) -> Reply {
    match (&outcome.verdict, agent, event) {
        (super::Verdict::Allow, _, _) => allow(),
        // Claude Code's own prompt shows the reason to its person, who decides.
        (super::Verdict::Ask, Agent::ClaudeCode, Event::Pre) => Reply {
            stdout: json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "ask",
                    "permissionDecisionReason": outcome.message,
                }
            })
            .to_string(),
            stderr: String::new(),
            code: 0,
        },
        _ => deny(agent, event, &outcome.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(edits: Vec<Replacement>, before: Option<&str>) -> Result<Option<String>, String> {
        replace(edits)(before)
    }

    fn r(old: &str, new: &str, all: bool) -> Replacement {
        Replacement {
            old: old.into(),
            new: new.into(),
            all,
            expected: None,
        }
    }

    #[test]
    fn replacements_fail_as_the_agents_tools_fail() {
        assert!(
            run(vec![r("x", "y", false)], Some("a\n"))
                .unwrap_err()
                .contains("not found")
        );
        assert!(
            run(vec![r("a", "b", false)], Some("a a\n"))
                .unwrap_err()
                .contains("2 times")
        );
        assert_eq!(
            run(vec![r("a", "b", true)], Some("a a\n"))
                .unwrap()
                .unwrap(),
            "b b\n"
        );
        assert!(run(vec![r("a", "b", false)], None).is_err());
        assert_eq!(
            run(vec![r("", "new\n", false)], None).unwrap().unwrap(),
            "new\n"
        );
    }

    #[test]
    fn each_agent_is_read_from_its_own_keys() {
        let claude = r#"{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Edit","tool_input":{"file_path":"/w/a.rs","old_string":"a","new_string":"b"},"cwd":"/w"}"#;
        let call = parse(Agent::ClaudeCode, claude, None).unwrap();
        assert!(matches!(call.action, Action::Edits(_)));
        let copilot = r#"{"toolName":"edit","toolArgs":"{\"path\":\"a.rs\",\"old_str\":\"a\",\"new_str\":\"b\"}","cwd":"/w"}"#;
        let call = parse(Agent::Copilot, copilot, None).unwrap();
        assert_eq!(call.event, Event::Pre);
        assert!(matches!(call.action, Action::Edits(_)));
        let read = r#"{"tool_name":"Read","tool_input":{"file_path":"/etc/passwd"}}"#;
        assert!(matches!(
            parse(Agent::ClaudeCode, read, None).unwrap().action,
            Action::ReadOnly
        ));
        let unknown = r#"{"tool_name":"mcp__x__write","tool_input":{}}"#;
        assert!(matches!(
            parse(Agent::ClaudeCode, unknown, None).unwrap().action,
            Action::Bracketed
        ));
        assert!(parse(Agent::Gemini, "not json", None).is_err());
        assert!(parse(Agent::Gemini, "[]", None).is_err());
        assert!(parse(Agent::Gemini, r#"{"tool_input":{}}"#, None).is_err());
    }

    #[test]
    fn denies_are_shaped_per_agent() {
        let claude = deny(Agent::ClaudeCode, Event::Pre, "no");
        assert!(claude.stdout.contains("\"permissionDecision\":\"deny\""));
        assert_eq!(claude.code, 2);
        assert!(
            deny(Agent::Gemini, Event::Pre, "no")
                .stdout
                .contains("\"decision\":\"deny\"")
        );
        let copilot = deny(Agent::Copilot, Event::Pre, "no");
        assert!(
            copilot
                .stdout
                .starts_with("{\"permissionDecision\":\"deny\"")
        );
        for agent in Agent::ALL {
            let after = deny(agent, Event::Post, "rolled back");
            assert!(
                after.stdout.contains("\"decision\":\"block\"") && after.code == 2,
                "{agent:?}: {}",
                after.stdout
            );
        }
    }
}
