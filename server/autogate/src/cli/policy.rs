//! `autogate policy check`, `autogate policy explain [--path FILE]`, and learning from the
//! audit trail: `autogate policy replay` and `autogate policy suggest`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use autogate_policy::Policy;
use clap::Subcommand;

use super::out;
use crate::config::{self, Loaded, POLICY_FILE};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate `.autogate.toml`: errors with file:line:col, exit 1 on any.
    Check,
    /// Print the effective policy and the environment, and why.
    Explain {
        /// Also list the rules that match this workspace-relative path.
        #[arg(long, value_name = "FILE")]
        path: Option<String>,
    },
    /// Decide the recorded history again under a candidate policy and print every decision
    /// that would change. Exit 0 if none would, 1 if some would, 2 on error.
    Replay {
        /// The candidate policy file (default: the workspace's `.autogate.toml`).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Only decisions at or after this RFC 3339 time (a prefix such as 2026-11-24 works).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Exit 1 only when a decision would get looser (ask → auto, deny → ask or auto).
        #[arg(long)]
        fail_on_looser: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Audit trails (`autogate log --json` exports, or `audit.jsonl` copies); default:
        /// this workspace's.
        #[arg(value_name = "TRAIL")]
        trails: Vec<PathBuf>,
    },
    /// Propose policy rules from audit trails: loosen scopes approved again and again, tighten
    /// scopes whose auto changes were rolled back or reverted. Prints a TOML snippet.
    Suggest {
        /// Audit trails (`autogate log --json` exports, or `audit.jsonl` copies); default:
        /// this workspace's, after recording the reverts found in it.
        #[arg(value_name = "TRAIL")]
        trails: Vec<PathBuf>,
        /// How many approvals a scope needs before it is suggested for auto.
        #[arg(long, default_value_t = 5)]
        min: usize,
        /// With this workspace's trail: how many days back to look for reverted changes.
        #[arg(long, default_value_t = 14, value_name = "DAYS")]
        window: u64,
        /// Print the suggestions as JSON.
        #[arg(long)]
        json: bool,
        /// Propose the suggestions as an edit of the policy file, through the gate: the policy
        /// file is protected, so the person approves it (in the editor when one runs, else
        /// with `autogate approve ID`, then this command again).
        #[arg(long, conflicts_with = "json")]
        apply: bool,
    },
}

pub fn run(root: &Path, command: &PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Check => check(root),
        PolicyCommand::Explain { path } => explain(root, path.as_deref()),
        PolicyCommand::Replay {
            policy,
            since,
            fail_on_looser,
            json,
            trails,
        } => replay(
            root,
            policy.as_deref(),
            since.as_deref(),
            *fail_on_looser,
            *json,
            trails,
        ),
        PolicyCommand::Suggest {
            trails,
            min,
            window,
            json,
            apply,
        } => {
            let suggestions = suggest(root, trails, *min, *window, *json)?;
            if *apply {
                apply_suggestions(root, &suggestions)
            } else {
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

fn check(root: &Path) -> Result<ExitCode> {
    Ok(match config::read_policy(root) {
        Loaded::Missing => {
            out(format!(
                "no {POLICY_FILE} in {}: the defaults apply",
                root.display()
            ));
            ExitCode::SUCCESS
        }
        Loaded::Valid(_) => {
            out(format!("{POLICY_FILE}: ok"));
            ExitCode::SUCCESS
        }
        Loaded::Invalid { errors, .. } => {
            for error in &errors {
                out(error.to_string());
            }
            out(format!(
                "{} error(s); until they are fixed, the server keeps the last valid policy, or asks for every change",
                errors.len()
            ));
            ExitCode::from(1)
        }
    })
}

fn explain(root: &Path, path: Option<&str>) -> Result<ExitCode> {
    let loaded = config::read_policy(root);
    // A broken file is an error (exit 1), after the policy that is in force meanwhile.
    let broken = matches!(loaded, Loaded::Invalid { .. });
    let policy = match loaded {
        Loaded::Missing => Policy::default(),
        Loaded::Valid(policy) => *policy,
        Loaded::Invalid { errors, .. } => {
            for error in &errors {
                out(error.to_string());
            }
            out("the file has errors: showing the fail-closed policy (every change asks)");
            Policy::fail_closed()
        }
    };
    let environment = config::environment(&policy, root);
    out(policy.explain(&environment));
    if let Some(path) = path {
        let rules = policy.rules_matching(path);
        if rules.is_empty() {
            out(format!("no rule matches {path}"));
        } else {
            out(format!("rules matching {path}:"));
            for rule in rules {
                out(format!("  {rule}"));
            }
        }
        if let Some(pattern) = policy.protected().matching(path) {
            out(format!("{path} is protected (`{pattern}`): high at least"));
        }
    }
    Ok(if broken {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The candidate policy of `policy replay`: `file`, or the workspace's policy file.
fn candidate(root: &Path, file: Option<&Path>) -> Result<(Policy, String)> {
    let path = file.map_or_else(|| root.join(POLICY_FILE), Path::to_path_buf);
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.is_none() => {
            return Ok((Policy::default(), "the defaults".to_owned()));
        }
        Err(e) => anyhow::bail!("cannot read {name}: {e}"),
    };
    match Policy::from_toml(&text, &name) {
        Ok(policy) => Ok((policy, name)),
        Err(errors) => {
            for error in &errors {
                out(error.to_string());
            }
            anyhow::bail!("{name} has {} error(s)", errors.len())
        }
    }
}

fn replay(
    root: &Path,
    file: Option<&Path>,
    since: Option<&str>,
    fail_on_looser: bool,
    json: bool,
    trails: &[PathBuf],
) -> Result<ExitCode> {
    let (policy, name) = candidate(root, file)?;
    let records = crate::learn::trail::read(root, trails)?;
    let report = crate::learn::replay::replay(&records, &policy, since);
    if json {
        out(serde_json::to_string_pretty(&report)?);
    } else {
        let looser = report.changed.iter().filter(|c| c.looser()).count();
        out(format!(
            "replayed {} decision(s) under {name}: {} would change ({looser} looser, {} stricter){}",
            report.decided,
            report.changed.len(),
            report.changed.len() - looser,
            if report.skipped > 0 {
                format!(
                    "; {} recorded without the facts to replay them, skipped",
                    report.skipped
                )
            } else {
                String::new()
            }
        ));
        for c in &report.changed {
            out(format!(
                "{}  change {:<4} {:<8} {} -> {}  ({}) {}: {}",
                c.time,
                c.change,
                c.level,
                c.recorded,
                c.candidate,
                c.rule,
                c.files.join(", "),
                c.reasons.join("; ")
            ));
        }
    }
    let failing = report.changed.iter().any(|c| !fail_on_looser || c.looser());
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn suggest(
    root: &Path,
    files: &[PathBuf],
    min: usize,
    window: u64,
    json: bool,
) -> Result<Vec<crate::learn::suggest::Suggestion>> {
    let mut trails = Vec::new();
    if files.is_empty() {
        let reverted = crate::learn::revert::detect(root, window)?;
        for r in &reverted {
            crate::cli::err(format!(
                "change {} was reverted by hand since it was applied (recorded in the audit trail)",
                r.change.as_deref().unwrap_or("-")
            ));
        }
        trails.push(crate::learn::suggest::Trail {
            label: "audit".to_owned(),
            records: crate::learn::trail::read(root, &[])?,
        });
    } else {
        for file in files {
            trails.push(crate::learn::suggest::Trail {
                label: file.file_name().map_or_else(
                    || file.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ),
                records: crate::learn::trail::read(root, std::slice::from_ref(file))?,
            });
        }
    }
    let suggestions = crate::learn::suggest::suggest(&trails, min.max(1));
    if json {
        out(serde_json::to_string_pretty(&suggestions)?);
        return Ok(suggestions);
    }
    let decisions: usize = trails
        .iter()
        .map(|t| {
            t.records
                .iter()
                .filter(|r| r.event == autogate_vcs::AuditEvent::Decided)
                .count()
        })
        .sum();
    out(format!(
        "# autogate policy suggest: {} suggestion(s) from {} trail(s), {decisions} decision(s); \
         review them, then add them to {POLICY_FILE}",
        suggestions.len(),
        trails.len()
    ));
    for s in &suggestions {
        out("");
        out(s.to_toml().trim_end());
    }
    Ok(suggestions)
}

/// `policy suggest --apply`: the suggestions appended to the policy file, proposed through the
/// gate like any edit of it (never written without the person's approval).
fn apply_suggestions(
    root: &Path,
    suggestions: &[crate::learn::suggest::Suggestion],
) -> Result<ExitCode> {
    if suggestions.is_empty() {
        out("nothing to apply");
        return Ok(ExitCode::SUCCESS);
    }
    let current = match std::fs::read_to_string(root.join(POLICY_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(anyhow::anyhow!("cannot read {POLICY_FILE}: {e}")),
    };
    let mut next = current.clone();
    if !next.is_empty() && !next.ends_with('\n') {
        next.push('\n');
    }
    for s in suggestions {
        next.push('\n');
        next.push_str(s.to_toml().trim_end());
        next.push('\n');
    }
    if let Err(errors) = autogate_policy::Policy::from_toml(&next, POLICY_FILE) {
        return Err(anyhow::anyhow!(
            "the suggestions do not make a valid {POLICY_FILE} with the current one; nothing was proposed: {}",
            errors.first().map(ToString::to_string).unwrap_or_default()
        ));
    }
    let source = crate::door::Source {
        agent: "autogate policy suggest".to_owned(),
        session: None,
        tool: Some("--apply".to_owned()),
        prompt: false,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (written, message) = runtime.block_on(crate::mcp::write_through_gate(
        root,
        &source,
        POLICY_FILE,
        &next,
    ))?;
    crate::cli::err(message);
    Ok(if written {
        out(format!("{POLICY_FILE}: the suggestions were added"));
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
