//! `autogate init <agent> --mcp`: registers `autogate mcp` as the agent's MCP server
//! `autogate` in its project configuration and, where the agent allows it, turns its own edit
//! tools off, so that every edit goes through autogate's tools. Merged like the hooks: what is
//! there stays, and a file that cannot be parsed is left alone, with an error.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use super::json::read_object;
use crate::door::agents::Agent;

/// The MCP server's name in every agent's configuration.
pub(super) const SERVER: &str = "autogate";

/// Claude Code's own edit tools, denied so that edits go through `mcp__autogate__*`.
const CLAUDE_EDIT_TOOLS: [&str; 4] = ["Edit", "Write", "MultiEdit", "NotebookEdit"];
/// Gemini CLI's own edit tools, excluded so that edits go through `mcp_autogate_*`.
const GEMINI_EDIT_TOOLS: [&str; 2] = ["replace", "write_file"];
/// Copilot CLI's workspace MCP configuration (read in a folder it trusts).
pub(super) const COPILOT_FILE: &str = ".github/mcp.json";
const CODEX_FILE: &str = ".codex/config.toml";

/// A configuration file read once, changed in memory, written at the end if it changed.
enum Doc {
    Json(Map<String, Value>),
    Toml(String),
}

/// The files one `init` run reads and writes: every one is read (and must parse) before any is
/// written, so a broken file stops the run with nothing changed.
#[derive(Default)]
pub(super) struct Files {
    docs: Vec<(String, Doc, bool)>,
}

impl Files {
    fn position(&self, rel: &str) -> Option<usize> {
        self.docs.iter().position(|(path, _, _)| path == rel)
    }

    /// The JSON object in `rel` (`{}` when missing).
    pub(super) fn json(&mut self, root: &Path, rel: &str) -> Result<&mut Map<String, Value>> {
        let at = match self.position(rel) {
            Some(at) => at,
            None => {
                let map = read_object(&root.join(rel))?;
                self.docs.push((rel.to_owned(), Doc::Json(map), false));
                self.docs.len() - 1
            }
        };
        match &mut self.docs[at].1 {
            Doc::Json(map) => Ok(map),
            Doc::Toml(_) => bail!("{rel} is not JSON"),
        }
    }

    /// The text of the TOML file `rel` (empty when missing), checked to parse.
    fn toml(&mut self, root: &Path, rel: &str) -> Result<&mut String> {
        let at = match self.position(rel) {
            Some(at) => at,
            None => {
                let path = root.join(rel);
                let text = match std::fs::read_to_string(&path) {
                    Ok(text) => text,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                    Err(e) => {
                        return Err(e).with_context(|| format!("cannot read {}", path.display()));
                    }
                };
                if let Err(e) = text.parse::<toml::Table>() {
                    bail!(
                        "{} is not valid TOML ({}); left as it is: fix it and run init again",
                        path.display(),
                        e.message()
                    );
                }
                self.docs.push((rel.to_owned(), Doc::Toml(text), false));
                self.docs.len() - 1
            }
        };
        match &mut self.docs[at].1 {
            Doc::Toml(text) => Ok(text),
            Doc::Json(_) => bail!("{rel} is not TOML"),
        }
    }

    /// Marks `rel` as changed: it is written at the end.
    pub(super) fn changed(&mut self, rel: &str) {
        if let Some(at) = self.position(rel) {
            self.docs[at].2 = true;
        }
    }

    /// Writes every changed file (through a temporary file in the same folder).
    pub(super) fn write(self, root: &Path) -> Result<()> {
        for (rel, doc, changed) in self.docs {
            if !changed {
                continue;
            }
            let path = root.join(&rel);
            let text = match doc {
                Doc::Json(map) => {
                    let mut text = serde_json::to_string_pretty(&Value::Object(map))?;
                    text.push('\n');
                    text
                }
                Doc::Toml(text) => text,
            };
            let dir = path.parent().unwrap_or(root);
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            std::io::Write::write_all(&mut tmp, text.as_bytes())?;
            tmp.persist(&path)
                .map_err(|e| e.error)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

/// One step of the merge: the file, and what was added to it (empty: all there already).
pub(super) struct Step {
    pub file: &'static str,
    pub what: &'static str,
    pub added: Vec<String>,
}

/// Splits the hook command (a shell word list, as `--command` takes it) into a program and its
/// arguments: MCP configurations take them apart. Handles quotes and backslashes.
pub(super) fn split_command(command: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => bail!("unbalanced ' in the command `{command}`"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => word.push(c),
                            None => bail!("unbalanced \" in the command `{command}`"),
                        },
                        Some(c) => word.push(c),
                        None => bail!("unbalanced \" in the command `{command}`"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        bail!("the command is empty");
    }
    Ok(words)
}

/// The server's program and arguments: the base command, then `mcp --agent NAME`.
fn server_command(base: &str, agent: Agent) -> Result<(String, Vec<String>)> {
    let mut words = split_command(base)?;
    let program = words.remove(0);
    words.extend([
        "mcp".to_owned(),
        "--agent".to_owned(),
        agent.name().to_owned(),
    ]);
    Ok((program, words))
}

/// Adds `entry` as `mcpServers.autogate` unless a server of that name is there.
fn add_server(config: &mut Map<String, Value>, entry: Value, file: &str) -> Result<Vec<String>> {
    let servers = config
        .entry("mcpServers")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else {
        bail!("`mcpServers` in {file} is not an object; left as it is");
    };
    if servers.contains_key(SERVER) {
        return Ok(Vec::new());
    }
    servers.insert(SERVER.to_owned(), entry);
    Ok(vec![format!("mcpServers.{SERVER}")])
}

/// Adds the strings `items` to the list at `keys` (objects created on the way) where missing.
fn add_to_list(
    config: &mut Map<String, Value>,
    keys: &[&str],
    items: &[&str],
    file: &str,
) -> Result<Vec<String>> {
    let dotted = keys.join(".");
    let (last, parents) = keys.split_last().context("no key")?;
    let mut object = config;
    for key in parents {
        let next = object
            .entry(*key)
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(next) = next else {
            bail!("`{key}` in {file} is not an object; left as it is");
        };
        object = next;
    }
    let list = object
        .entry(*last)
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(list) = list else {
        bail!("`{dotted}` in {file} is not a list; left as it is");
    };
    let mut added = Vec::new();
    for item in items {
        if !list.iter().any(|v| v.as_str() == Some(item)) {
            list.push(json!(item));
            added.push(*item);
        }
    }
    Ok(if added.is_empty() {
        Vec::new()
    } else {
        vec![format!("{dotted} {}", added.join(", "))]
    })
}

/// Appends `[mcp_servers.autogate]` to Codex's project config unless it has that server. The
/// user's text stays byte for byte: the table is appended, and the result must parse.
fn add_codex_server(text: &mut String, program: &str, args: &[String]) -> Result<Vec<String>> {
    let table: toml::Table = text.parse().context("invalid TOML")?;
    let present = table
        .get("mcp_servers")
        .and_then(toml::Value::as_table)
        .is_some_and(|servers| servers.contains_key(SERVER));
    if present {
        return Ok(Vec::new());
    }
    let args = toml::Value::Array(args.iter().cloned().map(toml::Value::String).collect());
    let mut next = text.clone();
    if !next.is_empty() && !next.ends_with('\n') {
        next.push('\n');
    }
    if !next.is_empty() {
        next.push('\n');
    }
    next.push_str(&format!(
        "[mcp_servers.{SERVER}]\ncommand = {}\nargs = {args}\ndefault_tools_approval_mode = \"approve\"\n",
        toml::Value::String(program.to_owned()),
    ));
    if let Err(e) = next.parse::<toml::Table>() {
        bail!(
            "cannot add [mcp_servers.{SERVER}] to {CODEX_FILE} ({}): is `mcp_servers` an inline \
             table? Left as it is",
            e.message()
        );
    }
    *text = next;
    Ok(vec![format!("[mcp_servers.{SERVER}]")])
}

/// Registers the server for `agent` (and turns its edit tools off where it can). Returns the
/// steps, for the report.
pub(super) fn merge(files: &mut Files, root: &Path, agent: Agent, base: &str) -> Result<Vec<Step>> {
    let (program, args) = server_command(base, agent)?;
    let mut steps = Vec::new();
    let mut step =
        |files: &mut Files, file: &'static str, what: &'static str, added: Vec<String>| {
            if !added.is_empty() {
                files.changed(file);
            }
            steps.push(Step { file, what, added });
        };
    match agent {
        Agent::ClaudeCode => {
            let file = ".mcp.json";
            let entry = json!({ "command": program, "args": args });
            let added = add_server(files.json(root, file)?, entry, file)?;
            step(files, file, "the MCP server", added);
            let file = ".claude/settings.json";
            let config = files.json(root, file)?;
            let mut added = add_to_list(config, &["enabledMcpjsonServers"], &[SERVER], file)?;
            added.extend(add_to_list(
                config,
                &["permissions", "allow"],
                &["mcp__autogate"],
                file,
            )?);
            added.extend(add_to_list(
                config,
                &["permissions", "deny"],
                &CLAUDE_EDIT_TOOLS,
                file,
            )?);
            step(files, file, "the MCP permissions", added);
        }
        Agent::Codex => {
            let added = add_codex_server(files.toml(root, CODEX_FILE)?, &program, &args)?;
            step(files, CODEX_FILE, "the MCP server", added);
        }
        Agent::Gemini => {
            let file = ".gemini/settings.json";
            let config = files.json(root, file)?;
            let entry = json!({ "command": program, "args": args, "trust": true });
            let mut added = add_server(config, entry, file)?;
            // Settings of the older layout keep the list at the top.
            let old_layout = config.contains_key("excludeTools")
                && config.get("tools").and_then(|t| t.get("exclude")).is_none();
            let keys: &[&str] = if old_layout {
                &["excludeTools"]
            } else {
                &["tools", "exclude"]
            };
            added.extend(add_to_list(config, keys, &GEMINI_EDIT_TOOLS, file)?);
            step(files, file, "the MCP server", added);
        }
        Agent::Copilot => {
            let entry =
                json!({ "type": "local", "command": program, "args": args, "tools": ["*"] });
            let added = add_server(files.json(root, COPILOT_FILE)?, entry, COPILOT_FILE)?;
            step(files, COPILOT_FILE, "the MCP server", added);
        }
    }
    Ok(steps)
}

/// How to start the agent so that it uses the server, and what it allows.
pub(super) fn usage(agent: Agent, root: &Path) -> Vec<String> {
    let mut lines = match agent {
        Agent::ClaudeCode => vec![
            "mcp: start `claude` here, in a workspace whose trust dialog was accepted (before \
             that Claude Code ignores the approval in .claude/settings.json): the server \
             `autogate` (.mcp.json) is approved, its tools mcp__autogate__propose_edit, … are \
             allowed, and Edit, Write, MultiEdit and NotebookEdit are denied"
                .to_owned(),
        ],
        Agent::Codex => vec![
            "mcp: start `codex` here, in a trusted project (Codex reads .codex/config.toml only \
             for trusted projects); the tools are found through tool_search"
                .to_owned(),
            "note: Codex has no setting that turns its own apply_patch off: the hooks gate it"
                .to_owned(),
        ],
        Agent::Gemini => vec![
            "mcp: start `gemini` here, in a trusted folder; its tools are \
             mcp_autogate_propose_edit, …; replace and write_file are excluded"
                .to_owned(),
        ],
        Agent::Copilot => vec![format!(
            "mcp: start `copilot --deny-tool write` here, in a folder it trusts (Copilot reads \
             {COPILOT_FILE} only there; elsewhere add `--additional-mcp-config @{COPILOT_FILE}`); \
             its tools are autogate-propose_edit, …; `--deny-tool write` refuses its own file \
             writes (a flag: no project setting does it)"
        )],
    };
    // Copilot CLI also reads Claude Code's .mcp.json, and takes its `autogate` first.
    let claude_has_it = read_object(&root.join(".mcp.json")).is_ok_and(|config| {
        config
            .get("mcpServers")
            .and_then(|servers| servers.get(SERVER))
            .is_some()
    });
    if agent == Agent::Copilot && claude_has_it {
        lines.push(
            "note: .mcp.json has a server `autogate` too, and Copilot CLI takes that one first \
             (its audit records then name the agent given there)"
                .to_owned(),
        );
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(split_command("autogate").unwrap(), vec!["autogate"]);
        assert_eq!(
            split_command("'/a b/autogate' --root \"/x y\" z\\ w").unwrap(),
            vec!["/a b/autogate", "--root", "/x y", "z w"]
        );
        assert!(split_command("  ").is_err());
        assert!(split_command("'open").is_err());
    }

    #[test]
    fn codex_table_is_appended_and_user_text_kept() {
        let mut text = "# mine\nmodel = \"o3\"\n[mcp_servers.other]\ncommand = \"x\"".to_owned();
        let args = vec!["mcp".to_owned()];
        assert_eq!(
            add_codex_server(&mut text, "autogate", &args)
                .unwrap()
                .len(),
            1
        );
        assert!(text.starts_with("# mine\nmodel = \"o3\"\n[mcp_servers.other]\ncommand = \"x\"\n"));
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(
            table["mcp_servers"]["autogate"]["command"].as_str(),
            Some("autogate")
        );
        assert!(
            add_codex_server(&mut text, "autogate", &args)
                .unwrap()
                .is_empty()
        );
        let mut inline = "mcp_servers = { other = { command = \"x\" } }\n".to_owned();
        assert!(add_codex_server(&mut inline, "autogate", &args).is_err());
        assert_eq!(inline, "mcp_servers = { other = { command = \"x\" } }\n");
    }
}
