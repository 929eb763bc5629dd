//! `autogate approvals [list | revoke ID]`: the standing approvals of this clone.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use autogate_vcs::AuditLog;
use clap::Subcommand;

use super::out;
use crate::learn::standing::{State, Store, revoked_record};

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// List the standing approvals (the default), expired ones marked.
    List {
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a standing approval: changes of its scope ask again.
    Revoke {
        /// The id, e.g. S1.
        id: String,
    },
}

pub fn run(root: &Path, command: Option<&ApprovalsCommand>) -> Result<ExitCode> {
    let store = Store::open(root)?;
    match command.unwrap_or(&ApprovalsCommand::List { json: false }) {
        ApprovalsCommand::List { json } => {
            if *json {
                out(serde_json::to_string_pretty(&store.list()?)?);
                return Ok(ExitCode::SUCCESS);
            }
            let states = store.states()?;
            if states.is_empty() {
                out("no standing approvals");
            }
            for (a, state) in states {
                let state = match state {
                    State::Active => "",
                    State::Expired => "  (expired)",
                    State::Ignored => "  (not made as the audit trail records: ignored)",
                };
                out(format!(
                    "{:<4} {}  by {}, {} until {} (from change {}){state}",
                    a.id,
                    a.scope.describe(),
                    a.who,
                    a.created,
                    a.expires,
                    a.change
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        ApprovalsCommand::Revoke { id } => {
            let removed = store.revoke(id)?;
            let audit = AuditLog::open(root).context("cannot open the audit trail")?;
            audit
                .append(revoked_record(&removed, "cli"))
                .context("cannot append to the audit trail")?;
            out(format!(
                "revoked {}: {}",
                removed.id,
                removed.scope.describe()
            ));
            Ok(ExitCode::SUCCESS)
        }
    }
}
