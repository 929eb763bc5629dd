//! Reading audit trails: this workspace's, or files exported with `autogate log --json` (a
//! JSON array) or copied from `.git/autogate/audit.jsonl` (one record per line).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use autogate_vcs::{AuditLog, AuditRecord};

/// The records of `files`, in order, or this workspace's trail when there are none.
pub fn read(root: &Path, files: &[PathBuf]) -> Result<Vec<AuditRecord>> {
    if files.is_empty() {
        let audit = AuditLog::open(root).context("cannot open the audit trail")?;
        return audit.read().context("cannot read the audit trail");
    }
    let mut records = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        records.extend(parse(&text).with_context(|| format!("{}", file.display()))?);
    }
    Ok(records)
}

/// A JSON array of records, or JSON lines.
pub fn parse(text: &str) -> Result<Vec<AuditRecord>> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).context("not a JSON array of audit records");
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("line {}: not an audit record", n + 1))
        })
        .collect()
}
