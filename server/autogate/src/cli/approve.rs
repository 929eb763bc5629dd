//! `autogate approve [ID]` / `autogate reject ID`: a person decides, from a terminal, a change
//! a door held without an editor session. Only at an interactive terminal: the agent's own
//! tools run without one, and a door never approves.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use autogate_vcs::AuditLog;

use super::out;
use crate::door::state::Approval;
use crate::door::{ApprovalState, DoorState};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The change id the agent was given (without it: list the held changes).
    pub id: Option<String>,
}

/// Approves (`approve`) or rejects a held change, after showing it and asking.
pub fn run(root: &Path, args: &Args, approve: bool) -> Result<ExitCode> {
    let state = DoorState::open(root)?;
    let Some(id) = args.id.as_deref() else {
        let held: Vec<Approval> = state
            .approvals()?
            .into_iter()
            .filter(|a| a.state == ApprovalState::Pending)
            .collect();
        if held.is_empty() {
            out("no changes are held for approval");
        }
        for a in held {
            out(format!(
                "{}  {:<8} {}  ({})",
                a.id,
                a.level,
                a.files.join(", "),
                a.source.as_deref().unwrap_or("agent")
            ));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let verb = if approve { "approve" } else { "reject" };
    let Some(mut approval) = state.approval(id)? else {
        bail!("no held change with id `{id}`; `autogate approve` lists them");
    };
    if approval.state != ApprovalState::Pending {
        bail!(
            "change {id} was already {}",
            if approval.state == ApprovalState::Approved {
                "approved"
            } else {
                "rejected"
            }
        );
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "`autogate {verb}` asks a person at a terminal, and stdin is not one; an agent cannot {verb} its own changes"
        );
    }
    out(format!(
        "change {} ({}) from {}: {}",
        approval.id,
        approval.level,
        approval.source.as_deref().unwrap_or("an agent"),
        approval.files.join(", ")
    ));
    for reason in &approval.reasons {
        out(format!("  - {reason}"));
    }
    out(&approval.diff);
    out(format!(
        "{} change {}? [y/N]",
        capitalized(verb),
        approval.id
    ));
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    if !matches!(line.trim(), "y" | "Y" | "yes") {
        out("nothing decided");
        return Ok(ExitCode::from(1));
    }
    let mut record = approval.decide(approve, format!("{verb}d from a terminal"));
    if let autogate_policy::Head::Branch(branch) = crate::config::head(root) {
        record.branch = Some(branch);
    }
    AuditLog::open(root)
        .context("cannot open the audit trail")?
        .with_redactor(autogate_llm::redact_secrets)
        .append(record)
        .context("cannot append to the audit trail")?;
    state.decide(&approval)?;
    out(if approve {
        format!(
            "approved change {}: the agent may now retry exactly the same edit",
            approval.id
        )
    } else {
        format!("rejected change {}", approval.id)
    });
    Ok(ExitCode::SUCCESS)
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
