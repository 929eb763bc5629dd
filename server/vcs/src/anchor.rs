//! The head of the audit trail (record count and hash of the last record), kept outside the
//! trail file, so that a truncated, rewritten or deleted trail is caught by `verify`.
//!
//! A hash chain alone proves nothing against someone who can rewrite the whole file: they
//! recompute every hash. So every append also records the new head in an *anchor*, and the
//! anchor keeps every head it was ever given:
//!
//! - in a git repository, a chain of commits under `refs/autogate/audit` (one per append, the
//!   previous head its parent, the head in its message), written as loose objects that are
//!   fsynced before the ref is moved, durably, the way checkpoint refs are;
//! - without git, `audit.head` next to the trail: one JSON line per head, appended with fsync.
//!   That file is as reachable as the trail itself: it only catches careless rewrites.
//!
//! `verify` then checks that every anchored head is a prefix of the file and that the latest
//! one is the file's own head. An append that finds records the anchor does not cover (a
//! crash between the two writes, or a record someone else appended) anchors them, but says so
//! in the new head (`gap`), so they are never silently adopted.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result, VcsError};
use crate::fsutil;

/// The head of the trail at some point: `count` records, the last of which has `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// Number of records (lines) in the trail.
    pub count: u64,
    /// The `hash` of the last record.
    pub hash: String,
}

/// One head as the anchor recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    #[serde(flatten)]
    pub head: AuditHead,
    /// Records (1-based lines, inclusive) that were in the file when this head was anchored but
    /// were never anchored themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<(u64, u64)>,
    /// Base64 Ed25519 signature of [`Entry::signed_text`], when the trail is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Entry {
    /// The text a signature covers: the head and its gap note, as the commit message has them.
    pub(crate) fn signed_text(&self) -> String {
        let mut text = format!(
            "{MESSAGE_TITLE}\n\ncount: {}\nhash: {}\n",
            self.head.count, self.head.hash
        );
        if let Some((from, to)) = self.gap {
            text.push_str(&format!("gap: {from}-{to}\n"));
        }
        text
    }
}

/// Where the heads of one trail are kept.
#[derive(Debug, Clone)]
pub(crate) enum Anchor {
    /// A commit chain under `refname` in the repository whose git dir is `git_dir`.
    Git { git_dir: PathBuf, refname: String },
    /// One JSON line per head.
    File(PathBuf),
}

/// The ref of the main worktree's trail.
pub const AUDIT_REF: &str = "refs/autogate/audit";

/// The anchor ref of the trail kept in `repo`'s git dir: refs are shared by all worktrees, and
/// each worktree has its own trail.
pub(crate) fn refname(repo: &git2::Repository) -> String {
    let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if canon(repo.path()) == canon(repo.commondir()) {
        return AUDIT_REF.to_owned();
    }
    let name = repo
        .path()
        .components()
        .next_back()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("refs/autogate/audit-worktrees/{safe}")
}

const MESSAGE_TITLE: &str = "autogate audit head";

impl Anchor {
    /// The anchor of the trail kept in `repo`'s git dir.
    pub(crate) fn git(repo: &git2::Repository) -> Self {
        Self::Git {
            git_dir: repo.path().to_path_buf(),
            refname: refname(repo),
        }
    }

    /// The latest head, if any was anchored.
    pub(crate) fn head(&self) -> Result<Option<Entry>> {
        match self {
            Self::Git { git_dir, refname } => {
                let repo = git2::Repository::open(git_dir)?;
                match ref_target(&repo, refname)? {
                    Some(oid) => head_commit(&repo, oid).map(Some),
                    None => Ok(None),
                }
            }
            Self::File(path) => Ok(read_file(path)?.pop()),
        }
    }

    /// Every head ever anchored, oldest first.
    pub(crate) fn entries(&self) -> Result<Vec<Entry>> {
        match self {
            Self::Git { git_dir, refname } => {
                let repo = git2::Repository::open(git_dir)?;
                let mut out = Vec::new();
                let mut next = ref_target(&repo, refname)?;
                while let Some(oid) = next {
                    let (entry, parent) = read_commit(&repo, oid)?;
                    out.push(entry);
                    next = parent;
                }
                out.reverse();
                Ok(out)
            }
            Self::File(path) => read_file(path),
        }
    }

    /// Records a new head, durably.
    pub(crate) fn push(&self, entry: &Entry) -> Result<()> {
        match self {
            Self::Git { git_dir, refname } => push_git(git_dir, refname, entry),
            Self::File(path) => {
                let mut line = serde_json::to_string(entry)
                    .map_err(|e| VcsError::Corrupt(format!("cannot encode audit head: {e}")))?;
                line.push('\n');
                let mut file = fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(path)
                    .at(path)?;
                file.write_all(line.as_bytes()).at(path)?;
                file.sync_data().at(path)
            }
        }
    }
}

fn ref_target(repo: &git2::Repository, name: &str) -> Result<Option<git2::Oid>> {
    match repo.refname_to_id(name) {
        Ok(oid) => Ok(Some(oid)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The entry in an anchor commit's message, and its parent.
/// The head a commit records, read once per process: a commit never changes under its id,
/// and reading it loads the repository's object database (a scan of every pack), which an
/// append or a checkpoint would otherwise pay each time only to read the head it wrote last.
fn head_commit(repo: &git2::Repository, oid: git2::Oid) -> Result<Entry> {
    static READ: std::sync::Mutex<Vec<(git2::Oid, Entry)>> = std::sync::Mutex::new(Vec::new());
    const KEPT: usize = 8;
    if let Ok(read) = READ.lock()
        && let Some((_, entry)) = read.iter().find(|(o, _)| *o == oid)
    {
        return Ok(entry.clone());
    }
    let entry = read_commit(repo, oid)?.0;
    if let Ok(mut read) = READ.lock() {
        if read.len() >= KEPT {
            read.remove(0);
        }
        read.push((oid, entry.clone()));
    }
    Ok(entry)
}

fn read_commit(repo: &git2::Repository, oid: git2::Oid) -> Result<(Entry, Option<git2::Oid>)> {
    let commit = repo.find_commit(oid)?;
    let bad = || VcsError::Corrupt(format!("audit anchor {oid}: not an audit head"));
    let message = commit.message_raw_bytes();
    let text = std::str::from_utf8(message).map_err(|_| bad())?;
    let mut lines = text.lines();
    if lines.next() != Some(MESSAGE_TITLE) {
        return Err(bad());
    }
    let (mut count, mut hash, mut gap, mut signature) = (None, None, None, None);
    for line in lines {
        if let Some(v) = line.strip_prefix("signature: ") {
            signature = Some(v.to_owned());
            continue;
        }
        if let Some(v) = line.strip_prefix("count: ") {
            count = v.parse::<u64>().ok();
        } else if let Some(v) = line.strip_prefix("hash: ") {
            hash = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("gap: ") {
            gap = v
                .split_once('-')
                .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
            if gap.is_none() {
                return Err(bad());
            }
        }
    }
    let (Some(count), Some(hash)) = (count, hash) else {
        return Err(bad());
    };
    let entry = Entry {
        head: AuditHead { count, hash },
        gap,
        signature,
    };
    Ok((entry, commit.parent_ids().next()))
}

fn read_file(path: &Path) -> Result<Vec<Entry>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).at(path),
    };
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| {
                VcsError::Corrupt(format!("{}: not an audit head: {e}", path.display()))
            })
        })
        .collect()
}

/// Writes the anchor commit (and the empty tree it points at) as loose objects, fsyncs them,
/// then moves the ref from the previous head to it, durably.
fn push_git(git_dir: &Path, refname: &str, entry: &Entry) -> Result<()> {
    let repo = git2::Repository::open(git_dir)?;
    let odb = repo.odb()?;
    let objects = repo.commondir().join("objects");
    let empty_tree = git2::Oid::hash_object(git2::ObjectType::Tree, &[])?;
    if !odb.exists(empty_tree) {
        let existed = fanout_exists(&objects, empty_tree);
        odb.write(git2::ObjectType::Tree, &[])?;
        sync_loose(&objects, empty_tree, existed);
    }
    let parent = ref_target(&repo, refname)?;
    // The ref is moved from what it holds now; the chain continues only from a readable head
    // (a damaged one starts a new chain, whose first head notes the gap).
    let chained = parent.filter(|p| read_commit(&repo, *p).is_ok());
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let who = format!("autogate <autogate@localhost> {secs} +0000");
    let mut text = format!("tree {empty_tree}\n");
    if let Some(parent) = chained {
        text.push_str(&format!("parent {parent}\n"));
    }
    text.push_str(&format!(
        "author {who}\ncommitter {who}\n\n{}",
        entry.signed_text()
    ));
    if let Some(signature) = &entry.signature {
        text.push_str(&format!("signature: {signature}\n"));
    }
    let oid = git2::Oid::hash_object(git2::ObjectType::Commit, text.as_bytes())?;
    let existed = fanout_exists(&objects, oid);
    odb.write(git2::ObjectType::Commit, text.as_bytes())?;
    sync_loose(&objects, oid, existed);
    if crate::pack::write_ref(&repo, refname, oid, parent)? {
        return Ok(());
    }
    // Every writer of this trail holds its file lock while it anchors, so a ref lock left here
    // for a while is a crash's leftover: without this, it would stop every later append.
    let lock = repo.commondir().join(format!("{refname}.lock"));
    let stale = fs::metadata(&lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_LOCK);
    if stale {
        tracing::warn!(lock = %lock.display(), "removing a stale lock of the audit anchor");
        let _ = fs::remove_file(&lock);
        if crate::pack::write_ref(&repo, refname, oid, parent)? {
            return Ok(());
        }
    }
    Err(git2::Error::from_str(&format!("{refname} moved or is locked by another writer")).into())
}

/// How old a lock of the anchor ref must be to be taken for a crash's leftover.
const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(10);

/// fsyncs a loose object and its folder (git does not by default). A packed object has no
/// loose file: nothing to do.
/// The `objects/xx` folder is fsynced too, and `objects` only when that folder is new.
fn sync_loose(objects: &Path, oid: git2::Oid, dir_existed: bool) {
    let hex = oid.to_string();
    let dir = objects.join(&hex[..2]);
    if let Ok(file) = fs::File::open(dir.join(&hex[2..])) {
        let _ = file.sync_all();
        fsutil::sync_dir(&dir);
        if !dir_existed {
            fsutil::sync_dir(objects);
        }
    }
}

/// Whether the loose-object folder of `oid` exists (before writing it).
fn fanout_exists(objects: &Path, oid: git2::Oid) -> bool {
    objects.join(&oid.to_string()[..2]).is_dir()
}
