//! `autogate log`, `autogate checkpoints` and `autogate rollback`: the record and the undo.

use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use autogate_vcs::{
    AuditEvent, AuditLog, AuditRecord, CheckpointId, CheckpointStore, Conflict, ConflictPolicy,
    RestoreOutcome, VerifyIssueKind, VerifyingKey,
};

use super::{LevelArg, out};

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Print the records as JSON (an array).
    #[arg(long)]
    json: bool,
    /// Check the hash chain against its anchored head and the checkpoints; exit 1 if it is
    /// broken, truncated, rewritten or missing.
    #[arg(long)]
    verify: bool,
    /// With --verify: every anchored head must be signed by this Ed25519 key (an
    /// `ssh-ed25519 AAAA…` line, or a file holding one, such as `key.pub`). Default: the
    /// policy's `[audit] public_key`, if any.
    #[arg(long, value_name = "KEY", requires = "verify")]
    public_key: Option<String>,
    /// Only records touching this workspace-relative path.
    #[arg(long)]
    file: Option<String>,
    /// Only records touching this symbol.
    #[arg(long)]
    symbol: Option<String>,
    /// Only records at this level.
    #[arg(long, value_enum)]
    level: Option<LevelArg>,
    /// Only records with this decision (auto, ask, deny).
    #[arg(long)]
    decision: Option<String>,
    /// Only records at or after this RFC 3339 time (a prefix such as 2026-11-24 works).
    #[arg(long)]
    since: Option<String>,
    /// Only records made on this branch.
    #[arg(long)]
    branch: Option<String>,
    /// Summarise shadow mode: what autogate would have decided about the changes it applied
    /// ("would have asked 14, denied 2, auto 230"), and the list of those it would not have
    /// applied on its own.
    #[arg(long, conflicts_with = "verify")]
    would: bool,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The checkpoint to restore (default: the latest).
    id: Option<String>,
    /// Overwrite files changed since autogate wrote them (default: keep them and say so).
    #[arg(long)]
    overwrite: bool,
}

fn matches(record: &AuditRecord, args: &LogArgs) -> bool {
    let level = args
        .level
        .map(|l| autogate_analysis::Level::from(l).as_str().to_owned());
    args.file
        .as_ref()
        .is_none_or(|f| record.files.iter().any(|x| x == f))
        && args
            .symbol
            .as_ref()
            .is_none_or(|s| record.symbols.iter().any(|x| x == s))
        && level.is_none_or(|l| record.level.as_deref() == Some(l.as_str()))
        && args
            .decision
            .as_ref()
            .is_none_or(|d| record.decision.as_deref() == Some(d.as_str()))
        && args
            .since
            .as_ref()
            .is_none_or(|s| record.time.as_str() >= s.as_str())
        && args
            .branch
            .as_ref()
            .is_none_or(|b| record.branch.as_deref() == Some(b.as_str()))
}

pub fn log(root: &Path, args: &LogArgs) -> Result<ExitCode> {
    let audit = AuditLog::open(root).context("cannot open the audit trail")?;
    if args.verify {
        let key = match &args.public_key {
            Some(key) => {
                Some(VerifyingKey::from_openssh(key).context("cannot read the --public-key")?)
            }
            None => policy_key(root)?,
        };
        let signed = key.is_some();
        let audit = match key {
            Some(key) => audit.with_verifying_key(key),
            None => audit,
        };
        return verify(&audit, signed);
    }
    let records: Vec<AuditRecord> = audit
        .read()
        .context("cannot read the audit trail")?
        .into_iter()
        .filter(|r| matches(r, args))
        .collect();
    if args.would {
        return would(&records, args.json);
    }
    if args.json {
        out(serde_json::to_string_pretty(&records)?);
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        out("no audit records");
    }
    for r in &records {
        let event = serde_json::to_value(r.event)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let approver = r
            .approver
            .map(|a| format!("{a:?}").to_lowercase())
            .unwrap_or_else(|| "-".to_owned());
        out(format!(
            "{}  {:<11} change {:<4} {:<8} {:<5} by {:<7} {}",
            r.time,
            event,
            r.change.as_deref().unwrap_or("-"),
            r.level.as_deref().unwrap_or("-"),
            r.decision.as_deref().unwrap_or("-"),
            approver,
            r.files.join(", ")
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `log --would`: the decisions recorded in shadow mode, counted by what mode auto would have
/// decided, and the changes it would not have applied on its own.
fn would(records: &[AuditRecord], json: bool) -> Result<ExitCode> {
    let decided: Vec<&AuditRecord> = records
        .iter()
        .filter(|r| r.event == AuditEvent::Decided && r.would.is_some())
        .collect();
    let count = |d: &str| {
        decided
            .iter()
            .filter(|r| r.would.as_ref().is_some_and(|w| w.decision == d))
            .count()
    };
    let (ask, deny, auto) = (count("ask"), count("deny"), count("auto"));
    let held: Vec<&&AuditRecord> = decided
        .iter()
        .filter(|r| r.would.as_ref().is_some_and(|w| w.decision != "auto"))
        .collect();
    if json {
        let list: Vec<serde_json::Value> = held
            .iter()
            .map(|r| {
                serde_json::json!({
                    "time": r.time, "change": r.change, "files": r.files,
                    "decision": r.decision, "would": r.would,
                })
            })
            .collect();
        out(serde_json::to_string_pretty(&serde_json::json!({
            "ask": ask, "deny": deny, "auto": auto, "changes": list,
        }))?);
        return Ok(ExitCode::SUCCESS);
    }
    if decided.is_empty() {
        out("no decisions recorded in shadow mode");
        return Ok(ExitCode::SUCCESS);
    }
    out(format!(
        "in shadow mode, autogate would have asked {ask}, denied {deny}, auto {auto}"
    ));
    for r in held {
        let Some(w) = &r.would else { continue };
        out(format!(
            "{}  change {:<4} would {:<4} {:<8} ({}) {}: {}",
            r.time,
            r.change.as_deref().unwrap_or("-"),
            w.decision,
            w.level,
            w.rule,
            r.files.join(", "),
            w.reasons.join("; ")
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// The team's key from `[audit] public_key` in the policy file. A policy file with errors is an
/// error: it cannot say whether the trail must be signed.
fn policy_key(root: &Path) -> Result<Option<VerifyingKey>> {
    match crate::config::read_policy(root) {
        crate::config::Loaded::Missing => Ok(None),
        crate::config::Loaded::Valid(policy) => match &policy.audit().public_key {
            Some(line) => Ok(Some(
                VerifyingKey::from_openssh(line)
                    .context("cannot read `[audit] public_key` in the policy file")?,
            )),
            None => Ok(None),
        },
        crate::config::Loaded::Invalid { errors, .. } => {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            bail!(
                "the policy file has errors, so it cannot say whether the audit trail must be \
                 signed: {first}"
            )
        }
    }
}

/// `log --verify`: the chain, the anchored head and the heads the checkpoints carry.
fn verify(audit: &AuditLog, signed: bool) -> Result<ExitCode> {
    let report = audit.verify().context("cannot read the audit trail")?;
    let path = audit.path().display();
    if report.is_ok() {
        if !report.exists {
            out(format!(
                "{path}: no audit trail (nothing has been recorded in this workspace)"
            ));
            return Ok(ExitCode::SUCCESS);
        }
        let anchor = report
            .anchor
            .as_ref()
            .map(|h| format!(", anchored head at record {}", h.count))
            .unwrap_or_default();
        let checkpoints = match report.checkpoints {
            0 => String::new(),
            n => format!(", consistent with {n} checkpoint(s)"),
        };
        let signed = if signed && report.anchor.is_some() {
            ", every head signed by the team's key"
        } else {
            ""
        };
        out(format!(
            "{path}: {} record(s), hash chain intact{anchor}{checkpoints}{signed}",
            report.lines
        ));
        return Ok(ExitCode::SUCCESS);
    }
    for issue in &report.issues {
        let what = match &issue.kind {
            VerifyIssueKind::Malformed => "not a valid record".to_owned(),
            VerifyIssueKind::Truncated => "truncated (a torn or cut-off write)".to_owned(),
            VerifyIssueKind::HashMismatch => {
                "edited: its hash does not match its content".to_owned()
            }
            VerifyIssueKind::BrokenLink => {
                "out of chain: a record before it was deleted, inserted or reordered".to_owned()
            }
            VerifyIssueKind::Missing => format!(
                "the audit trail is missing, but {} show that one was kept: it was deleted",
                if report.anchor.is_some() {
                    "its anchor"
                } else {
                    "checkpoints"
                }
            ),
            VerifyIssueKind::NotAnchored => "the trail has no anchored head: the anchor was \
                 deleted, or the trail was written by an autogate that did not anchor it"
                .to_owned(),
            VerifyIssueKind::ShorterThanAnchor { anchored } => format!(
                "the trail ends here, but {anchored} record(s) were anchored: records were \
                 removed from its end"
            ),
            VerifyIssueKind::BeyondAnchor { anchored } => format!(
                "this and later records are past the anchored head ({anchored} record(s)): \
                 appended by someone else, or written just before a crash"
            ),
            VerifyIssueKind::AnchorMismatch => {
                "not the record that was anchored here: the trail was rewritten".to_owned()
            }
            VerifyIssueKind::Unanchored { from, to } => format!(
                "records {from} to {to} were found unanchored by a later append: appended \
                 by someone else, or written just before a crash"
            ),
            VerifyIssueKind::CheckpointMismatch { checkpoint } => format!(
                "checkpoint {checkpoint} recorded a different trail up to here: the trail \
                 was rewritten"
            ),
            VerifyIssueKind::AnchorUnreadable(e) => format!("the anchor cannot be read: {e}"),
            VerifyIssueKind::Unsigned => "the head anchored here is not signed: it was \
                 anchored without the key (rewritten, or signing was stripped)"
                .to_owned(),
            VerifyIssueKind::BadSignature => {
                "the head anchored here is not signed by the given key: it was forged".to_owned()
            }
        };
        out(format!("{path}:{}: {what}", issue.line));
    }
    Ok(ExitCode::from(1))
}

fn age(created: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(created)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

pub fn checkpoints(root: &Path) -> Result<ExitCode> {
    let store = CheckpointStore::open(root).context("cannot open the checkpoint store")?;
    let list = store.list()?;
    if list.is_empty() {
        out("no checkpoints");
    }
    for c in list {
        let state = if c.written_recorded {
            ""
        } else {
            "  (batch never finished)"
        };
        let _ = UNIX_EPOCH;
        out(format!(
            "{}  {:<8}  {}  [{}]{state}",
            c.id,
            age(c.created),
            c.label,
            c.files.join(", ")
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn rollback(root: &Path, args: &RollbackArgs) -> Result<ExitCode> {
    let store = CheckpointStore::open(root).context("cannot open the checkpoint store")?;
    let id = match &args.id {
        Some(id) => CheckpointId::parse(id)?,
        None => match store.latest()? {
            Some(latest) => latest.id,
            None => bail!("there are no checkpoints to roll back to"),
        },
    };
    // Like the server's writes: never at the same time as another autogate process's.
    let _lock = crate::safety::WriteLock::wait(root, std::time::Duration::from_secs(60))?;
    let plan = store.plan_restore(&id)?;
    let policy = if args.overwrite {
        ConflictPolicy::Overwrite
    } else {
        ConflictPolicy::KeepMine
    };
    let report = store.restore(&plan, policy)?;
    let mut kept = 0;
    for file in &report.files {
        let line = match &file.outcome {
            RestoreOutcome::Unchanged => format!("unchanged  {}", file.path),
            RestoreOutcome::Restored => format!("restored   {}", file.path),
            RestoreOutcome::Recreated => format!("recreated  {}", file.path),
            RestoreOutcome::Deleted => format!("removed    {}", file.path),
            RestoreOutcome::KeptMine(conflict) => {
                kept += 1;
                let why = match conflict {
                    Conflict::ChangedSinceWritten => "it changed since autogate wrote it",
                    Conflict::NotRecorded => {
                        "the batch never finished, so a later edit cannot be ruled out"
                    }
                };
                format!(
                    "kept       {} ({why}; --overwrite restores it anyway)",
                    file.path
                )
            }
            RestoreOutcome::Stale => {
                format!("left alone {} (it changed during the rollback)", file.path)
            }
            RestoreOutcome::Failed(e) => format!("FAILED     {}: {e}", file.path),
        };
        out(line);
    }
    let audit = AuditLog::open(root).context("cannot open the audit trail")?;
    let mut record = AuditRecord::new(AuditEvent::RolledBack);
    record.source = Some("cli".to_owned());
    record.checkpoint = Some(id.to_string());
    record.files = report.files.iter().map(|f| f.path.clone()).collect();
    record.approver = Some(autogate_vcs::Approver::Person);
    audit
        .append(record)
        .context("cannot append to the audit trail")?;
    out(format!(
        "rolled back {id}{}",
        if kept > 0 {
            format!(" ({kept} file(s) kept)")
        } else {
            String::new()
        }
    ));
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
