//! The audit trail: one hash-chained JSON record per line, appended under an exclusive lock.
//!
//! Each record's `hash` is the SHA-256 of the canonical JSON (keys sorted, no spaces) of the record
//! without `hash`; `prev` is the hash of the record before it (`null` for the first). Every string
//! goes through the redactor, and the values of secret-looking environment variables are masked,
//! before anything is written.
//!
//! The head of the chain (record count and last hash) is anchored outside the file after every
//! append (see the `anchor` module), and [`AuditLog::verify`] checks the file against every
//! anchored head and against the head each checkpoint carries: a chain that was truncated,
//! extended, rewritten with recomputed hashes or deleted does not verify.

use std::fmt;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::anchor::{Anchor, AuditHead, Entry};
use crate::checkpoint::{CheckpointStore, discover_repo};
use crate::error::{IoContext, Result, VcsError};
use crate::fsutil::sha256_hex;
use crate::signing::{SigningKey, VerifyingKey};

/// What an audit record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    /// The policy decided (auto, ask or deny).
    #[default]
    Decided,
    /// The change was written.
    Applied,
    /// The person approved a pending change.
    Approved,
    /// The person rejected a pending change.
    Rejected,
    /// The policy denied the change.
    Denied,
    /// Applying or verifying failed.
    Failed,
    /// The batch was rolled back to its checkpoint.
    RolledBack,
    /// The person made a standing approval ("approve always") from this change; `standing`
    /// names it.
    ApprovedAlways,
    /// A standing approval was revoked; `standing` names it.
    Revoked,
    /// An applied change was undone by hand: its files are back to the checkpoint's pre-image.
    Reverted,
}

/// Who approved a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approver {
    /// The policy allowed it automatically.
    Policy,
    /// The person approved it.
    Person,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AuditRecord {
    /// RFC 3339 time; filled with the current time on append if empty.
    pub time: String,
    /// What happened.
    pub event: AuditEvent,
    /// Where the proposal came from (`llm`, `agent`, `transform`...).
    pub source: Option<String>,
    /// The stated intent of the proposal.
    pub intent: Option<String>,
    /// The change id.
    pub change: Option<String>,
    /// Workspace-relative paths.
    pub files: Vec<String>,
    /// Symbols touched.
    pub symbols: Vec<String>,
    /// `low|medium|high|critical`.
    pub level: Option<String>,
    /// `auto|ask|deny`.
    pub decision: Option<String>,
    /// The policy rule that decided.
    pub rule: Option<String>,
    /// Who approved, if anyone.
    pub approver: Option<Approver>,
    /// Hash of the exact content decided on or applied.
    pub content_hash: Option<String>,
    /// The checkpoint id.
    pub checkpoint: Option<String>,
    /// The verification result, as the caller shapes it.
    pub verification: Option<Value>,
    /// The attributed commit, if one was made.
    pub commit: Option<String>,
    /// Human-readable reasons.
    pub reasons: Vec<String>,
    /// The branch at the time.
    pub branch: Option<String>,
    /// Mode `shadow`: what mode `auto` would have decided. Absent in other modes (and in
    /// trails written before shadow mode existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would: Option<Would>,
    /// The standing approval that decided the change (or that the event is about).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing: Option<String>,
    /// What the impact report said, as far as a policy needs it to decide again
    /// (`autogate policy replay`) and to group changes by scope (`autogate policy suggest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<ImpactFacts>,
    /// Hash of the previous record; set by [`AuditLog::append`].
    pub prev: Option<String>,
    /// Hash of this record; set by [`AuditLog::append`].
    pub hash: String,
}

/// What the policy would have decided in mode `auto` (recorded in mode `shadow`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Would {
    /// `auto|ask|deny`.
    pub decision: String,
    /// `low|medium|high|critical`.
    pub level: String,
    /// The rule that would have decided.
    pub rule: String,
    /// Why, for a person.
    pub reasons: Vec<String>,
}

/// The facts of an impact report a policy decides on, in the analyzer's spelling. Fields
/// added later default to empty, so older records still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ImpactFacts {
    /// The environment the change was decided in.
    pub environment: String,
    /// The mode the change was decided in.
    pub mode: String,
    /// Change kinds (`body_only`, `signature_change`...).
    pub kinds: Vec<String>,
    /// Sensitive domains touched.
    pub domains: Vec<String>,
    /// Languages of the files.
    pub languages: Vec<String>,
    /// Protected paths touched.
    pub protected_paths: Vec<String>,
    /// Touched symbols that are public or exported.
    pub public_symbols: Vec<String>,
    /// How many secrets the change adds.
    pub secrets: usize,
    /// How many ways it weakens verification.
    pub verification_weakened: usize,
    /// How many dependency changes it makes.
    pub dependencies: usize,
}

impl AuditRecord {
    /// A record of `event` stamped now, other fields empty.
    pub fn new(event: AuditEvent) -> Self {
        Self {
            time: now_rfc3339(),
            event,
            ..Self::default()
        }
    }
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// What [`AuditLog::verify`] found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyIssueKind {
    /// The line is not a JSON record.
    Malformed,
    /// The last line has no newline: a torn write or a truncation.
    Truncated,
    /// The stored `hash` is not the hash of the record (the record or its hash was edited).
    HashMismatch,
    /// `prev` is not the hash of the record before (a record was deleted, inserted or reordered).
    BrokenLink,
    /// There is no trail, but an anchor or checkpoints show there was one (line 0).
    Missing,
    /// The trail has records but no anchor (it was deleted, or the trail predates anchoring).
    NotAnchored,
    /// The trail ends before a record that was anchored: records were removed from its end.
    ShorterThanAnchor {
        /// The highest record count ever anchored.
        anchored: u64,
    },
    /// The trail has records after the latest anchored head: appended by someone else (or a
    /// crash between writing a record and anchoring it). The line is the first of them.
    BeyondAnchor {
        /// The latest anchored record count.
        anchored: u64,
    },
    /// The record on this line is not the one that was anchored there: the trail was rewritten.
    AnchorMismatch,
    /// Records `from..=to` were found unanchored by a later append, which anchored them (a
    /// crash between writing a record and anchoring it, or records added by someone else).
    Unanchored {
        /// First unanchored line.
        from: u64,
        /// Last unanchored line.
        to: u64,
    },
    /// A checkpoint carries a head that is not a prefix of the trail (line: its record count).
    CheckpointMismatch {
        /// The checkpoint id.
        checkpoint: String,
    },
    /// The anchor itself cannot be read.
    AnchorUnreadable(String),
    /// The head anchored at this line carries no signature, but the trail is checked against a
    /// public key, or earlier heads were signed (the signing was stripped).
    Unsigned,
    /// The head anchored at this line carries a signature the public key does not verify.
    BadSignature,
}

/// One problem found by [`AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyIssue {
    /// 1-based line number in the file (0: the trail as a whole).
    pub line: usize,
    /// What is wrong.
    pub kind: VerifyIssueKind,
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Whether the trail file exists.
    pub exists: bool,
    /// Number of lines read.
    pub lines: usize,
    /// The latest anchored head, if any.
    pub anchor: Option<AuditHead>,
    /// Number of checkpoints whose recorded head was checked against the trail.
    pub checkpoints: usize,
    /// Problems found, in line order. Empty means the chain is intact.
    pub issues: Vec<VerifyIssue>,
}

impl VerifyReport {
    /// True if no problem was found.
    pub fn is_ok(&self) -> bool {
        self.issues.is_empty()
    }
}

type Redactor = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// The environment variable naming the private key (an OpenSSH Ed25519 key file) that
/// [`AuditLog::open`] signs every anchored head with.
pub const SIGNING_KEY_ENV: &str = "AUTOGATE_AUDIT_SIGNING_KEY";

/// How anchored heads are signed.
#[derive(Clone)]
enum Signer {
    None,
    Key(Arc<SigningKey>),
    /// A key was asked for but cannot be used: appends fail rather than go unsigned.
    Broken(String),
}

/// The audit trail of one workspace.
#[derive(Clone)]
pub struct AuditLog {
    path: PathBuf,
    anchor: Anchor,
    signer: Signer,
    verifier: Option<VerifyingKey>,
    /// The workspace, when opened from one: its checkpoints are checked by `verify`.
    root: Option<PathBuf>,
    redactor: Option<Redactor>,
    env_secrets: Vec<(String, String)>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .finish()
    }
}

const SECRET_NAME_PARTS: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
];

/// Values of environment variables whose names look secret, longest first.
fn secret_env_values() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, v)| {
            let upper = k.to_ascii_uppercase();
            v.len() >= 8
                && !upper.ends_with("_SOCK")
                && SECRET_NAME_PARTS.iter().any(|p| upper.contains(p))
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.1.len()));
    out
}

impl AuditLog {
    /// The audit trail of the workspace at `root`: `<git dir>/autogate/audit.jsonl` in a git repository
    /// (the worktree's own git dir for a linked worktree), else `<root>/.autogate/audit.jsonl`.
    /// Its head is anchored in git under `refs/autogate/audit` (per worktree), else in
    /// `<root>/.autogate/audit.head`.
    pub fn open(root: &Path) -> Result<Self> {
        let (path, anchor) = match discover_repo(root)? {
            Some(repo) => (
                repo.path().join("autogate").join("audit.jsonl"),
                Anchor::git(&repo),
            ),
            None => {
                let dir = root.join(".autogate");
                (
                    dir.join("audit.jsonl"),
                    Anchor::File(dir.join("audit.head")),
                )
            }
        };
        let mut log = Self::at_path(path);
        log.anchor = anchor;
        log.root = Some(root.to_path_buf());
        if let Some(key) = std::env::var_os(SIGNING_KEY_ENV).filter(|k| !k.is_empty()) {
            let key = PathBuf::from(key);
            log.signer = match SigningKey::from_openssh_file(&key) {
                Ok(k) => Signer::Key(Arc::new(k)),
                Err(e) => Signer::Broken(format!(
                    "{SIGNING_KEY_ENV}={}: cannot use it to sign the audit trail: {e}",
                    key.display()
                )),
            };
        }
        Ok(log)
    }

    /// Signs every head this log anchors with `key`.
    pub fn with_signing_key(mut self, key: SigningKey) -> Self {
        self.signer = Signer::Key(Arc::new(key));
        self
    }

    /// Makes `verify` require every anchored head to be signed by `key`.
    pub fn with_verifying_key(mut self, key: VerifyingKey) -> Self {
        self.verifier = Some(key);
        self
    }

    /// An audit trail at an explicit file path, its head anchored in a file next to it
    /// (`audit.jsonl` → `audit.head`), with no checkpoints to check.
    pub fn at_path(path: impl Into<PathBuf>) -> Self {
        let path: PathBuf = path.into();
        Self {
            anchor: Anchor::File(path.with_extension("head")),
            signer: Signer::None,
            verifier: None,
            path,
            root: None,
            redactor: None,
            env_secrets: secret_env_values(),
        }
    }

    /// Runs every string field through `redactor` before writing (for example the analyzer's secret
    /// redactor). Values of secret-looking environment variables are masked in any case.
    pub fn with_redactor(
        mut self,
        redactor: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> Self {
        self.redactor = Some(Arc::new(redactor));
        self
    }

    /// The file the trail is kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn redact(&self, s: &str) -> String {
        let mut out = match &self.redactor {
            Some(r) => r(s),
            None => s.to_owned(),
        };
        for (name, value) in &self.env_secrets {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("[REDACTED:{name}]"));
            }
        }
        out
    }

    fn redact_value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.redact(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.redact_value(i)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut val) in old {
                    self.redact_value(&mut val);
                    map.insert(self.redact(&k), val);
                }
            }
            _ => {}
        }
    }

    /// Appends a record: redacts it, links it to the last record, hashes it, writes it as one
    /// line with fsync, and anchors the new head, holding an exclusive lock on the file. Returns
    /// the record as written.
    ///
    /// If the record is written but its head cannot be anchored, this is an error: the record
    /// stays in the file and `verify` reports it as beyond the anchor.
    pub fn append(&self, record: AuditRecord) -> Result<AuditRecord> {
        let mut written = self.append_all(vec![record])?;
        written
            .pop()
            .ok_or_else(|| VcsError::Corrupt("no audit record written".into()))
    }

    /// Appends records in order, as [`AuditLog::append`] does, with one write, one fsync and
    /// one anchor update for all of them.
    pub fn append_all(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditRecord>> {
        let mut values = Vec::with_capacity(records.len());
        for mut record in records {
            if record.time.is_empty() {
                record.time = now_rfc3339();
            }
            let mut value = serde_json::to_value(&record)
                .map_err(|e| VcsError::Corrupt(format!("cannot encode audit record: {e}")))?;
            let Value::Object(map) = &mut value else {
                return Err(VcsError::Corrupt("audit record is not an object".into()));
            };
            map.remove("hash");
            map.remove("prev");
            self.redact_value(&mut value);
            values.push(value);
        }
        if values.is_empty() {
            return Ok(Vec::new());
        }
        if let Signer::Broken(why) = &self.signer {
            return Err(VcsError::Corrupt(why.clone()));
        }

        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).at(dir)?;
        }
        let mut file = fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .at(&self.path)?;
        FileExt::lock_exclusive(&file).at(&self.path)?;
        let result = (|| -> Result<Vec<AuditRecord>> {
            let tail = last_hash(&mut file).at(&self.path)?;
            // An anchor that cannot be read must not stop the trail: the records are written
            // and anchored afresh with a gap note, and `verify` reports the damage.
            let anchored = self.anchor.head().unwrap_or_else(|e| {
                tracing::error!(
                    trail = %self.path.display(),
                    "the audit anchor cannot be read ({e}); anchoring the trail afresh"
                );
                None
            });
            let (count, gap) = self.count_before_append(&tail, anchored.as_ref())?;
            let mut prev = tail.prev;
            let mut line = String::new();
            if tail.needs_newline {
                // Keep a torn line on a line of its own; verify reports it.
                line.push('\n');
            }
            let mut written = Vec::with_capacity(values.len());
            for mut value in values {
                if let Value::Object(map) = &mut value {
                    map.insert(
                        "prev".into(),
                        prev.clone().map_or(Value::Null, Value::String),
                    );
                }
                let hash = sha256_hex(canonical(&value).as_bytes());
                if let Value::Object(map) = &mut value {
                    map.insert("hash".into(), Value::String(hash.clone()));
                }
                // Decode before writing, so a redactor that breaks a field fails without a write.
                let record: AuditRecord = serde_json::from_value(value.clone())
                    .map_err(|e| VcsError::Corrupt(format!("audit record after redaction: {e}")))?;
                line.push_str(&canonical(&value));
                line.push('\n');
                written.push(record);
                prev = Some(hash);
            }
            file.write_all(line.as_bytes()).at(&self.path)?;
            file.sync_data().at(&self.path)?;
            let head = AuditHead {
                count: count + written.len() as u64,
                hash: prev.unwrap_or_default(),
            };
            let mut entry = Entry {
                head,
                gap,
                signature: None,
            };
            if let Signer::Key(key) = &self.signer {
                entry.signature = Some(key.sign(entry.signed_text().as_bytes()));
            }
            self.anchor.push(&entry)?;
            Ok(written)
        })();
        let _ = FileExt::unlock(&file);
        result
    }

    /// The number of lines the file will hold before the new records, and the lines that no
    /// anchored head covers. The common case reads nothing more: the last line is the anchored
    /// head. Otherwise the whole file is read.
    fn count_before_append(
        &self,
        tail: &Tail,
        anchored: Option<&Entry>,
    ) -> Result<(u64, Option<(u64, u64)>)> {
        if let Some(entry) = anchored
            && !tail.needs_newline
            && tail.last_line_is_prev
            && tail.prev.as_deref() == Some(entry.head.hash.as_str())
        {
            return Ok((entry.head.count, None));
        }
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).at(&self.path),
        };
        let hashes = line_hashes(&bytes);
        // A torn last line gets its newline: it counts.
        let count = hashes.len() as u64 + u64::from(tail.needs_newline);
        let gap = match anchored {
            Some(entry) if is_prefix(&hashes, &entry.head) => {
                (count > entry.head.count).then_some((entry.head.count + 1, count))
            }
            _ => (count > 0).then_some((1, count)),
        };
        if let Some((from, to)) = gap {
            tracing::warn!(
                trail = %self.path.display(),
                "audit records {from}..{to} were not anchored; anchoring them now, and verify will report it"
            );
        }
        Ok((count, gap))
    }

    /// Reads every record that parses, in file order. Lines that do not parse (a torn write) are
    /// skipped; [`AuditLog::verify`] reports them.
    pub fn read(&self) -> Result<Vec<AuditRecord>> {
        let text = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).at(&self.path),
        };
        Ok(text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect())
    }

    /// Checks the whole chain and reports every edited, deleted, reordered, forged or torn record by
    /// line number; then checks the file against every head the anchor recorded and every head a
    /// checkpoint carries. A missing trail is a failure when an anchor or checkpoints exist.
    pub fn verify(&self) -> Result<VerifyReport> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).at(&self.path),
        };
        let mut anchor_issues = Vec::new();
        let entries = match self.anchor.entries() {
            Ok(entries) => entries,
            Err(e) => {
                anchor_issues.push(VerifyIssue {
                    line: 0,
                    kind: VerifyIssueKind::AnchorUnreadable(e.to_string()),
                });
                Vec::new()
            }
        };
        let checkpoints = match &self.root {
            Some(root) => CheckpointStore::open(root)?.audit_heads()?,
            None => Vec::new(),
        };
        let Some(bytes) = bytes else {
            let mut report = VerifyReport {
                anchor: entries.last().map(|e| e.head.clone()),
                checkpoints: checkpoints.len(),
                issues: anchor_issues,
                ..VerifyReport::default()
            };
            if !entries.is_empty() || !checkpoints.is_empty() {
                report.issues.push(VerifyIssue {
                    line: 0,
                    kind: VerifyIssueKind::Missing,
                });
            }
            return Ok(report);
        };
        let mut report = verify_bytes(&bytes);
        report.exists = true;
        report.anchor = entries.last().map(|e| e.head.clone());
        report.checkpoints = checkpoints.len();
        report.issues.extend(anchor_issues);
        let hashes = line_hashes(&bytes);
        report
            .issues
            .extend(check_anchors(&hashes, &entries, &checkpoints));
        report
            .issues
            .extend(check_signatures(&entries, self.verifier.as_ref()));
        report.issues.sort_by_key(|i| i.line);
        Ok(report)
    }
}

/// The issues of a trail whose lines have `hashes` against the anchored heads and the heads
/// checkpoints carry.
fn check_anchors(
    hashes: &[Option<String>],
    entries: &[Entry],
    checkpoints: &[(String, Option<AuditHead>)],
) -> Vec<VerifyIssue> {
    let mut issues = Vec::new();
    let lines = hashes.len() as u64;
    let line = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    for entry in entries {
        if let Some((from, to)) = entry.gap {
            issues.push(VerifyIssue {
                line: line(from),
                kind: VerifyIssueKind::Unanchored { from, to },
            });
        }
    }
    match entries.last() {
        None if lines > 0 => issues.push(VerifyIssue {
            line: 1,
            kind: VerifyIssueKind::NotAnchored,
        }),
        None => {}
        Some(latest) => {
            let highest = entries.iter().map(|e| e.head.count).max().unwrap_or(0);
            if highest > lines {
                issues.push(VerifyIssue {
                    line: line(lines + 1),
                    kind: VerifyIssueKind::ShorterThanAnchor { anchored: highest },
                });
            }
            // The first anchored head the file does not hold: later ones usually follow from it.
            if let Some(entry) = entries
                .iter()
                .find(|e| e.head.count <= lines && !is_prefix(hashes, &e.head))
            {
                issues.push(VerifyIssue {
                    line: line(entry.head.count),
                    kind: VerifyIssueKind::AnchorMismatch,
                });
            }
            if lines > latest.head.count {
                issues.push(VerifyIssue {
                    line: line(latest.head.count + 1),
                    kind: VerifyIssueKind::BeyondAnchor {
                        anchored: latest.head.count,
                    },
                });
            }
        }
    }
    for (id, head) in checkpoints {
        let Some(head) = head else { continue };
        if head.count > lines || !is_prefix(hashes, head) {
            issues.push(VerifyIssue {
                line: line(head.count),
                kind: VerifyIssueKind::CheckpointMismatch {
                    checkpoint: id.clone(),
                },
            });
        }
    }
    issues
}

/// The first anchored head that is unsigned (when a key is given, or after a signed one) or
/// whose signature the key does not verify.
fn check_signatures(entries: &[Entry], key: Option<&VerifyingKey>) -> Vec<VerifyIssue> {
    let line = |e: &Entry| usize::try_from(e.head.count).unwrap_or(usize::MAX);
    let mut signed_before = false;
    for entry in entries {
        let kind = match (&entry.signature, key) {
            (None, Some(_)) => Some(VerifyIssueKind::Unsigned),
            (None, None) if signed_before => Some(VerifyIssueKind::Unsigned),
            (Some(sig), Some(key)) if !key.verify(entry.signed_text().as_bytes(), sig) => {
                Some(VerifyIssueKind::BadSignature)
            }
            _ => None,
        };
        if let Some(kind) = kind {
            return vec![VerifyIssue {
                line: line(entry),
                kind,
            }];
        }
        signed_before |= entry.signature.is_some();
    }
    Vec::new()
}

/// Whether the file whose complete lines have `hashes` holds `head` (count 0: always).
fn is_prefix(hashes: &[Option<String>], head: &AuditHead) -> bool {
    let Ok(count) = usize::try_from(head.count) else {
        return false;
    };
    count == 0
        || hashes
            .get(count - 1)
            .is_some_and(|h| h.as_deref() == Some(head.hash.as_str()))
}

/// The stored `hash` of every complete (newline-terminated) line, `None` where there is none.
fn line_hashes(bytes: &[u8]) -> Vec<Option<String>> {
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    lines.pop(); // the piece after the last newline: empty, or a torn line
    lines
        .into_iter()
        .map(|l| match serde_json::from_slice::<Value>(l) {
            Ok(Value::Object(map)) => match map.get("hash") {
                Some(Value::String(h)) => Some(h.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Verifies the content of an audit file.
fn verify_bytes(bytes: &[u8]) -> VerifyReport {
    let mut report = VerifyReport::default();
    let torn_tail = !bytes.is_empty() && !bytes.ends_with(b"\n");
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if !torn_tail {
        lines.pop(); // the empty piece after the final newline
    }
    report.lines = lines.len();
    let mut expected_prev: Option<String> = None;
    let last = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        let n = i + 1;
        if torn_tail && n == last {
            report.issues.push(VerifyIssue {
                line: n,
                kind: VerifyIssueKind::Truncated,
            });
            break;
        }
        let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(line) else {
            report.issues.push(VerifyIssue {
                line: n,
                kind: VerifyIssueKind::Malformed,
            });
            continue;
        };
        let stored = match map.remove("hash") {
            Some(Value::String(h)) => Some(h),
            _ => None,
        };
        let prev = match map.get("prev") {
            Some(Value::String(p)) => Some(p.clone()),
            _ => None,
        };
        let computed = sha256_hex(canonical(&Value::Object(map)).as_bytes());
        if stored.as_deref() != Some(computed.as_str()) {
            report.issues.push(VerifyIssue {
                line: n,
                kind: VerifyIssueKind::HashMismatch,
            });
        }
        if prev != expected_prev {
            report.issues.push(VerifyIssue {
                line: n,
                kind: VerifyIssueKind::BrokenLink,
            });
        }
        // Follow the chain from what this line claims, so one bad record is reported once.
        expected_prev = stored.or(Some(computed));
    }
    report
}

/// The end of the file as the next append sees it.
struct Tail {
    /// The hash of the last complete record that parses (the next record's `prev`).
    prev: Option<String>,
    /// Whether that record is on the last complete line.
    last_line_is_prev: bool,
    /// Whether the file ends without a newline (a torn write).
    needs_newline: bool,
}

fn last_hash(file: &mut fs::File) -> std::io::Result<Tail> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(Tail {
            prev: None,
            last_line_is_prev: true,
            needs_newline: false,
        });
    }
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        Read::by_ref(file).take(len - start).read_to_end(&mut buf)?;
        let needs_newline = !buf.ends_with(b"\n");
        // Complete lines in the window: drop a possibly cut first line unless we read from 0.
        let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
        lines.pop(); // the torn tail, or the empty piece after the final newline
        let first_is_whole = start == 0;
        let usable = if first_is_whole {
            &lines[..]
        } else {
            lines.get(1..).unwrap_or(&[])
        };
        for (i, line) in usable.iter().rev().enumerate() {
            if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(line)
                && let Some(Value::String(h)) = map.get("hash")
            {
                return Ok(Tail {
                    prev: Some(h.clone()),
                    last_line_is_prev: i == 0,
                    needs_newline,
                });
            }
        }
        if start == 0 {
            return Ok(Tail {
                prev: None,
                last_line_is_prev: lines.is_empty(),
                needs_newline,
            });
        }
        window = window.saturating_mul(4);
    }
}

/// Canonical JSON: object keys sorted, no whitespace, serde_json's escaping of strings and numbers.
pub(crate) fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(val) = map.get(k) {
                    write_canonical(val, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_keys_recursively() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":null,"y":"x"}],"c":true}}"#)
            .unwrap_or(Value::Null);
        assert_eq!(
            canonical(&v),
            r#"{"a":{"c":true,"d":[1,{"y":"x","z":null}]},"b":1}"#
        );
    }
}
