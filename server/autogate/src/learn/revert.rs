//! Reverts: applied changes a person undid by hand. A change is reverted when every file it
//! touched is back to the checkpoint's pre-image (and autogate did not roll it back). Found
//! from the trail and the checkpoints, and recorded as an outcome (`reverted`), once.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use autogate_vcs::{
    AuditEvent, AuditLog, AuditRecord, CheckpointId, CheckpointStore, RestoreAction,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Finds the changes applied within the last `window_days` that were reverted since, appends
/// a `reverted` record for each to the workspace's trail, and returns them.
pub fn detect(root: &Path, window_days: u64) -> Result<Vec<AuditRecord>> {
    let audit = AuditLog::open(root)
        .context("cannot open the audit trail")?
        .with_redactor(autogate_llm::redact_secrets);
    let records = audit.read().context("cannot read the audit trail")?;
    let store = CheckpointStore::open(root).context("cannot open the checkpoint store")?;
    let since =
        OffsetDateTime::now_utc() - time::Duration::days(i64::try_from(window_days).unwrap_or(14));
    let since = since.format(&Rfc3339).unwrap_or_default();

    // Checkpoints and changes already undone (rolled back or found reverted before).
    let mut undone_changes = BTreeSet::new();
    let mut undone_checkpoints = BTreeSet::new();
    for r in &records {
        if matches!(r.event, AuditEvent::RolledBack | AuditEvent::Reverted) {
            if let Some(change) = &r.change {
                undone_changes.insert((change.clone(), r.checkpoint.clone()));
            }
            if r.change.is_none()
                && let Some(cp) = &r.checkpoint
            {
                undone_checkpoints.insert(cp.clone());
            }
        }
    }
    let mut found = Vec::new();
    for r in &records {
        let (AuditEvent::Applied | AuditEvent::Approved, Some(change), Some(cp)) =
            (r.event, &r.change, &r.checkpoint)
        else {
            continue;
        };
        if r.time.as_str() < since.as_str()
            || undone_checkpoints.contains(cp)
            || undone_changes.contains(&(change.clone(), Some(cp.clone())))
        {
            continue;
        }
        let Ok(id) = CheckpointId::parse(cp) else {
            continue;
        };
        let Ok(plan) = store.plan_restore(&id) else {
            continue;
        };
        let files: Vec<_> = plan
            .files
            .iter()
            .filter(|f| r.files.contains(&f.path))
            .collect();
        if files.is_empty() || files.iter().any(|f| f.action != RestoreAction::Unchanged) {
            continue;
        }
        let mut record = AuditRecord::new(AuditEvent::Reverted);
        record.change = Some(change.clone());
        record.checkpoint = Some(cp.clone());
        record.files = r.files.clone();
        record.symbols = r.symbols.clone();
        record.level = r.level.clone();
        record.decision = r.decision.clone();
        record.rule = r.rule.clone();
        record.standing = r.standing.clone();
        record.would = r.would.clone();
        record.impact = r.impact.clone();
        record.source = r.source.clone();
        record.reasons = vec![format!(
            "every file of change {change} is back to its content before checkpoint {cp}: \
             undone by hand"
        )];
        found.push(record);
    }
    if !found.is_empty() {
        audit
            .append_all(found.clone())
            .context("cannot append to the audit trail")?;
    }
    Ok(found)
}
