//! What doors keep between processes, beside the audit trail (`.git/autogate/doors/`, or
//! `.autogate/doors/` without git): changes held for a person's approval, what an allowed
//! tool call is expected to leave on disk, and the snapshots taken before shell commands.
//!
//! Every file is JSON, written to a temporary file and renamed into place. This folder is out
//! of reach of gated writes (`.git/` and `.autogate/` are forbidden paths).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use autogate_vcs::AuditRecord;
use serde::{Deserialize, Serialize};

use crate::gate::ChangeRecord;

/// Where a held change stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
}

/// A change held for a person's decision, outside an editor session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    /// The content hash the decision is bound to.
    pub hash: String,
    pub files: Vec<String>,
    pub level: String,
    pub reasons: Vec<String>,
    pub source: Option<String>,
    pub state: ApprovalState,
    /// A redacted unified diff, for the person deciding.
    pub diff: String,
    /// The change's audit record, to write when it is decided.
    pub record: AuditRecord,
}

impl Approval {
    /// The person's decision: the approval takes its new state, and the record to append says
    /// who decided, and `how` ("approved from a terminal").
    pub fn decide(&mut self, approved: bool, how: String) -> AuditRecord {
        self.state = if approved {
            ApprovalState::Approved
        } else {
            ApprovalState::Rejected
        };
        let mut record = self.record.clone();
        record.time = String::new();
        record.event = if approved {
            autogate_vcs::AuditEvent::Approved
        } else {
            autogate_vcs::AuditEvent::Rejected
        };
        record.approver = Some(autogate_vcs::Approver::Person);
        record.reasons.push(how);
        record
    }
}

/// What an allowed tool call is expected to leave at one path.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Expected {
    pub path: String,
    /// SHA-256 of the allowed content; `None`: the path is removed.
    pub sha256: Option<String>,
    pub checkpoint: String,
    /// The records of the changes that write this path, to append once it is checked.
    pub records: Vec<AuditRecord>,
}

/// The door folder of one workspace.
#[derive(Clone, Debug)]
pub struct DoorState {
    dir: PathBuf,
}

impl DoorState {
    /// The folder beside the workspace's audit trail.
    pub fn open(root: &Path) -> Result<Self> {
        let lock = crate::safety::WriteLock::path(root)?;
        let dir = lock
            .parent()
            .map(|p| p.join("doors"))
            .context("the audit trail has no folder")?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, kind: &str, name: &str) -> PathBuf {
        self.dir.join(kind).join(format!("{name}.json"))
    }

    fn read<T: serde::de::DeserializeOwned>(&self, kind: &str, name: &str) -> Result<Option<T>> {
        let path = self.file(kind, name);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{} is corrupt", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn write<T: Serialize>(&self, kind: &str, name: &str, value: &T) -> Result<()> {
        let path = self.file(kind, name);
        let dir = self.dir.join(kind);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        serde_json::to_writer_pretty(&mut tmp, value)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    fn remove(&self, kind: &str, name: &str) -> Result<()> {
        let path = self.file(kind, name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }

    /// A held change by id. Ids are hex digits only: anything else names nothing.
    pub fn approval(&self, id: &str) -> Result<Option<Approval>> {
        if !valid_name(id) {
            return Ok(None);
        }
        self.read("approvals", id)
    }

    /// Holds a change for a person's decision (a decision already taken stays).
    pub fn hold(&self, change: &ChangeRecord, record: AuditRecord) -> Result<()> {
        if let Some(existing) = self.approval(&change.id)?
            && existing.hash == change.hash
            && existing.state != ApprovalState::Pending
        {
            return Ok(());
        }
        let summary = change.summary();
        self.write(
            "approvals",
            &change.id,
            &Approval {
                id: change.id.clone(),
                hash: change.hash.clone(),
                files: summary.files,
                level: change.report.level.as_str().to_owned(),
                reasons: summary.reasons,
                source: change.source.clone(),
                state: ApprovalState::Pending,
                diff: crate::gate::unified_diff(change),
                record,
            },
        )
    }

    /// Records the person's decision on a held change.
    pub fn decide(&self, approval: &Approval) -> Result<()> {
        self.write("approvals", &approval.id, approval)
    }

    /// Drops a held change (used: an approval allows one write).
    pub fn forget(&self, id: &str) -> Result<()> {
        if !valid_name(id) {
            return Ok(());
        }
        self.remove("approvals", id)
    }

    /// Every held change, oldest id first.
    pub fn approvals(&self) -> Result<Vec<Approval>> {
        let dir = self.dir.join("approvals");
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json")
                && let Some(approval) = self.approval(id)?
            {
                out.push(approval);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Remembers what an allowed tool call will leave at a path.
    pub fn expect(&self, expected: &Expected) -> Result<()> {
        self.write("expected", &path_key(&expected.path), expected)
    }

    /// What was allowed at a path, if a tool call is still expected to write it.
    pub fn expected(&self, path: &str) -> Result<Option<Expected>> {
        self.read("expected", &path_key(path))
    }

    /// The tool ran: the expectation is checked and dropped.
    pub fn fulfil(&self, path: &str) -> Result<()> {
        self.remove("expected", &path_key(path))
    }

    /// Stores a snapshot taken before a shell command.
    pub fn save_snapshot<T: Serialize>(&self, key: &str, snapshot: &T) -> Result<()> {
        self.write("shell", &path_key(key), snapshot)
    }

    /// Takes (reads and removes) the snapshot of a shell command.
    pub fn take_snapshot<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let name = path_key(key);
        // Removed even when it does not read: a snapshot is used once.
        let snapshot = self.read("shell", &name);
        self.remove("shell", &name)?;
        snapshot
    }
}

/// Ids and keys name files: hex digits only.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A file name for any key: its SHA-256, shortened.
fn path_key(key: &str) -> String {
    super::sha256_hex(key.as_bytes()).chars().take(24).collect()
}
