//! `autogate approvals [list | revoke ID]`: the standing approvals of this clone.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use autogate_vcs::{AuditEvent, AuditLog, AuditRecord};
use clap::Subcommand;
use time::OffsetDateTime;

use super::out;
use crate::learn::standing::Store;

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
            let list = store.list()?;
            if *json {
                out(serde_json::to_string_pretty(&list)?);
                return Ok(ExitCode::SUCCESS);
            }
            if list.is_empty() {
                out("no standing approvals");
            }
            let now = OffsetDateTime::now_utc();
            let made: Vec<String> = crate::learn::standing::attested(store.trail(), list.clone())
                .into_iter()
                .map(|a| a.id)
                .collect();
            for a in list {
                let state = if !made.contains(&a.id) {
                    "  (not made as the audit trail records: ignored)"
                } else if a.active_at(now) {
                    ""
                } else {
                    "  (expired)"
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
            let mut record = AuditRecord::new(AuditEvent::Revoked);
            record.source = Some("cli".to_owned());
            record.standing = Some(removed.id.clone());
            record.approver = Some(autogate_vcs::Approver::Person);
            record.reasons = vec![format!("revoked: {}", removed.scope.describe())];
            audit
                .append(record)
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
