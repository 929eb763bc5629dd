//! Checkpoints: the pre-images of a batch, stored before anything is written, plus what autogate wrote.
//!
//! In a git repository a checkpoint is a commit object (no parent, never on a branch) whose tree holds
//! `files/<path>` blobs and an `autogate-manifest.json`; the private ref
//! `refs/autogate/checkpoints/<id>` points at it. [`CheckpointStore::record_written`] moves the ref
//! to a child commit with the updated manifest. Each of the two writes stores its objects as one
//! fsynced pack (see `pack.rs`) before the ref is written and fsynced. Outside git the same lives under
//! `<root>/.autogate/checkpoints/` as content-addressed objects and one manifest per checkpoint.
//! Neither touches the index, HEAD, branches or any workspace file.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{IoContext, Result, VcsError};
use crate::fsutil::{self, sha256_hex};
use crate::pack;

/// Where checkpoint refs live in a git repository.
pub const CHECKPOINT_REF_PREFIX: &str = "refs/autogate/checkpoints/";
const MANIFEST_NAME: &str = "autogate-manifest.json";
const FILES_DIR: &str = "files";
const MANIFEST_VERSION: u32 = 1;

/// A checkpoint id such as `20261124T050102Z-3f2a`: sortable by time, short, safe in a ref or file name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CheckpointId(String);

impl CheckpointId {
    /// Checks an id given from outside (the CLI, an LSP argument).
    pub fn parse(s: &str) -> Result<Self> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !s.starts_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(VcsError::CheckpointNotFound(s.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CheckpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CheckpointId {
    type Error = VcsError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<CheckpointId> for String {
    fn from(id: CheckpointId) -> Self {
        id.0
    }
}

/// The state of one file before the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreImage {
    /// Workspace-relative path with `/` separators.
    pub path: String,
    /// The bytes before the batch; `None` if the file did not exist.
    pub content: Option<Vec<u8>>,
    /// Whether the file had the exec bit.
    pub executable: bool,
}

/// What autogate wrote to one file, recorded after the batch was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostImage {
    /// Workspace-relative path with `/` separators.
    pub path: String,
    /// Hex SHA-256 of the bytes written; `None` if autogate deleted the file.
    pub sha256: Option<String>,
    /// Whether autogate left the exec bit set.
    pub executable: bool,
    /// If this file was created by renaming another, the old path (which has its own `deleted` entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// `earlier` with `files` recorded as written: every path must be one the checkpoint covers,
/// and a later entry for a path replaces the earlier one.
fn add_written(
    covered: &std::collections::HashSet<&str>,
    mut earlier: Vec<PostImage>,
    files: &[PostImage],
) -> Result<Vec<PostImage>> {
    if let Some(f) = files.iter().find(|f| !covered.contains(f.path.as_str())) {
        return Err(VcsError::InvalidPath {
            path: f.path.clone(),
            reason: "written but not in the checkpoint",
        });
    }
    for f in files {
        earlier.retain(|w| w.path != f.path);
        earlier.push(f.clone());
    }
    Ok(earlier)
}

impl PostImage {
    /// autogate wrote `content` to `path`.
    pub fn written(path: impl Into<String>, content: &[u8], executable: bool) -> Self {
        Self {
            path: path.into(),
            sha256: Some(sha256_hex(content)),
            executable,
            renamed_from: None,
        }
    }

    /// autogate deleted `path`.
    pub fn deleted(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            sha256: None,
            executable: false,
            renamed_from: None,
        }
    }

    /// autogate renamed `from` to `to` and `to` now holds `content`. Returns the two entries.
    pub fn renamed(
        from: impl Into<String>,
        to: impl Into<String>,
        content: &[u8],
        executable: bool,
    ) -> [Self; 2] {
        let from = from.into();
        let mut created = Self::written(to, content, executable);
        created.renamed_from = Some(from.clone());
        [Self::deleted(from), created]
    }
}

/// A checkpoint made ahead ([`CheckpointStore::prepare_expecting`]) and not yet published.
#[derive(Debug)]
pub struct Prepared {
    files: Vec<PreImage>,
    meta: CheckpointMeta,
    written: Option<Vec<PostImage>>,
    /// In git: the id it will have and its commit, stored durably.
    stored: Option<(CheckpointId, git2::Oid)>,
}

/// Why a checkpoint was made, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointMeta {
    /// A short label or the intent of the batch.
    pub label: String,
    /// When the checkpoint was made.
    pub created: SystemTime,
}

impl CheckpointMeta {
    /// A label, stamped now.
    pub fn now(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            created: SystemTime::now(),
        }
    }
}

/// One entry of [`CheckpointStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// The checkpoint id.
    pub id: CheckpointId,
    /// When it was made.
    pub created: SystemTime,
    /// Its label or intent.
    pub label: String,
    /// The workspace-relative paths it covers.
    pub files: Vec<String>,
    /// Whether [`CheckpointStore::record_written`] was called (false after a crash mid-batch).
    pub written_recorded: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ManifestFile {
    pub path: String,
    pub existed: bool,
    pub executable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Unix permission bits on disk when the checkpoint was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// For a file that did not exist: its parent folders that did not exist either, deepest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_dirs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub version: u32,
    pub id: CheckpointId,
    pub created: String,
    pub label: String,
    pub files: Vec<ManifestFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<Vec<PostImage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The audit trail's anchored head when the checkpoint was made: `verify` checks that the
    /// trail still holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<crate::AuditHead>,
}

impl Manifest {
    fn created_time(&self) -> Result<SystemTime> {
        OffsetDateTime::parse(&self.created, &Rfc3339)
            .map(SystemTime::from)
            .map_err(|e| VcsError::Corrupt(format!("checkpoint {}: bad time: {e}", self.id)))
    }

    fn info(&self) -> Result<CheckpointInfo> {
        Ok(CheckpointInfo {
            id: self.id.clone(),
            created: self.created_time()?,
            label: self.label.clone(),
            files: self.files.iter().map(|f| f.path.clone()).collect(),
            written_recorded: self.written.is_some(),
        })
    }
}

/// A checkpoint read back: its manifest and the pre-image bytes by path.
pub(crate) struct Loaded {
    pub manifest: Manifest,
    pub contents: HashMap<String, Vec<u8>>,
}

enum Backend {
    Git(Mutex<git2::Repository>),
    Fs(PathBuf),
}

/// Stores checkpoints for one workspace root and restores them.
pub struct CheckpointStore {
    pub(crate) root: PathBuf,
    backend: Backend,
    /// In git, which worktree and folder of the repository this workspace is; refs are shared by
    /// all worktrees, so checkpoints of other workspaces are skipped.
    workspace: Option<String>,
    /// Blobs [`CheckpointStore::stage`] made durable ahead of a checkpoint, and when: a
    /// checkpoint's pack leaves them out. Kept a short while only (an unreferenced object may
    /// be pruned by git's gc two weeks later).
    staged: Mutex<Vec<(git2::Oid, std::time::Instant)>>,
}

/// How long a staged blob may be left out of a checkpoint's pack.
const STAGED_FOR: std::time::Duration = std::time::Duration::from_secs(600);
/// At most this many staged blobs are remembered.
const STAGED_MAX: usize = 64;

impl fmt::Debug for CheckpointStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointStore")
            .field("root", &self.root)
            .field("git", &matches!(self.backend, Backend::Git(_)))
            .finish()
    }
}

/// `<worktree>|<root relative to the work tree>`: stable when the repository is moved.
fn workspace_key(repo: &git2::Repository, root: &Path) -> String {
    let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let git_dir = canon(repo.path());
    let common = canon(repo.commondir());
    let worktree = git_dir
        .strip_prefix(&common)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let rel = repo
        .workdir()
        .and_then(|w| root.strip_prefix(canon(w)).ok().map(Path::to_path_buf))
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    format!("{worktree}|{rel}")
}

/// Finds the git repository holding `root`, if any. A repository that exists but cannot be opened
/// (for example one owned by another user) is an error, never a silent fallback to `.autogate/`.
pub(crate) fn discover_repo(root: &Path) -> Result<Option<git2::Repository>> {
    match git2::Repository::discover(root) {
        Ok(repo) => Ok(Some(repo)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl CheckpointStore {
    /// Opens the store of a workspace: git objects if `root` is inside a git repository, else
    /// `<root>/.autogate/checkpoints/`.
    pub fn open(root: &Path) -> Result<Self> {
        let root = fs::canonicalize(root).at(root)?;
        let (backend, workspace) = match discover_repo(&root)? {
            Some(repo) => {
                let key = workspace_key(&repo, &root);
                (Backend::Git(Mutex::new(repo)), Some(key))
            }
            None => (
                Backend::Fs(root.join(".autogate").join("checkpoints")),
                None,
            ),
        };
        Ok(Self {
            root,
            backend,
            workspace,
            staged: Mutex::new(Vec::new()),
        })
    }

    /// Stores file contents that a checkpoint is about to need, durably, ahead of it: the
    /// caller runs this beside work that comes first (the analysis of the proposal), and the
    /// checkpoint then only stores what was not staged (its tree, manifest and commit, and any
    /// content that differs). Nothing refers to staged content until a checkpoint does; content
    /// staged and never used is left to git's gc (git) or to [`CheckpointStore::prune`] (no git).
    pub fn stage(&self, contents: &[&[u8]]) -> Result<()> {
        match &self.backend {
            Backend::Git(repo) => {
                let repo = lock(repo)?;
                let oids = pack::write_pack(&repo, |mem, pack| {
                    let mut oids = Vec::with_capacity(contents.len());
                    for content in contents {
                        let oid = mem.blob(content)?;
                        pack.insert_blob(oid, content);
                        oids.push(oid);
                    }
                    Ok(oids)
                })?;
                drop(repo);
                let mut staged = self
                    .staged
                    .lock()
                    .map_err(|_| VcsError::Corrupt("the staged set is poisoned".into()))?;
                let now = std::time::Instant::now();
                staged.retain(|(_, at)| now.duration_since(*at) < STAGED_FOR);
                staged.extend(oids.into_iter().map(|oid| (oid, now)));
                let excess = staged.len().saturating_sub(STAGED_MAX);
                staged.drain(..excess);
                Ok(())
            }
            Backend::Fs(dir) => {
                for content in contents {
                    let opath = object_path(dir, &sha256_hex(content));
                    if !opath.exists() {
                        fsutil::write_atomic(&opath, content, false, None)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Whether `oid` was staged durably a short while ago; forgets it (a blob is staged for one
    /// checkpoint).
    fn take_staged(&self, oid: git2::Oid) -> bool {
        let Ok(mut staged) = self.staged.lock() else {
            return false;
        };
        let now = std::time::Instant::now();
        match staged
            .iter()
            .position(|(o, at)| *o == oid && now.duration_since(*at) < STAGED_FOR)
        {
            Some(i) => {
                staged.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// The canonical workspace root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether checkpoints are kept as git objects.
    pub fn is_git(&self) -> bool {
        matches!(self.backend, Backend::Git(_))
    }

    /// Reads the current on-disk state of `paths` as pre-images (a missing file gives `content: None`).
    pub fn capture(&self, paths: &[&str]) -> Result<Vec<PreImage>> {
        paths
            .iter()
            .map(|p| {
                let state = fsutil::read_state(&self.root, p)?;
                Ok(PreImage {
                    path: (*p).to_owned(),
                    executable: state.as_ref().is_some_and(|s| s.executable),
                    content: state.map(|s| s.content),
                })
            })
            .collect()
    }

    /// Stores the pre-images of a batch and returns the checkpoint id.
    ///
    /// When this returns, the checkpoint is durable (the ref or manifest is written), so the caller
    /// may start writing files. The cost is the bytes of the given files, never a copy of the tree.
    pub fn create(&self, files: &[PreImage], meta: &CheckpointMeta) -> Result<CheckpointId> {
        self.create_with(files, meta, None)
    }

    /// [`CheckpointStore::create`] with what is about to be written already recorded, as
    /// [`CheckpointStore::record_written`] would record it afterwards: for a door, whose agent
    /// writes after the answer, this saves the second manifest, commit and ref update.
    pub fn create_expecting(
        &self,
        files: &[PreImage],
        meta: &CheckpointMeta,
        written: &[PostImage],
    ) -> Result<CheckpointId> {
        let covered = files.iter().map(|f| f.path.as_str()).collect();
        let written = add_written(&covered, Vec::new(), written)?;
        self.create_with(files, meta, Some(written))
    }

    /// The first half of [`CheckpointStore::create_expecting`], which may run while the
    /// change is still being judged: in git, the checkpoint's objects are stored durably (one
    /// pack) but no ref names them, so until [`CheckpointStore::publish`] the checkpoint does
    /// not exist (an unpublished one is garbage for git's `gc`). In a plain folder nothing is
    /// written yet.
    pub fn prepare_expecting(
        &self,
        files: Vec<PreImage>,
        meta: CheckpointMeta,
        written: &[PostImage],
    ) -> Result<Prepared> {
        let covered = files.iter().map(|f| f.path.as_str()).collect();
        let written = add_written(&covered, Vec::new(), written)?;
        self.prepare_with(files, meta, Some(written))
    }

    /// [`CheckpointStore::create`] in two halves, like [`CheckpointStore::prepare_expecting`]
    /// (what is written is recorded afterwards, with [`CheckpointStore::record_written`]).
    pub fn prepare(&self, files: Vec<PreImage>, meta: CheckpointMeta) -> Result<Prepared> {
        self.prepare_with(files, meta, None)
    }

    fn prepare_with(
        &self,
        files: Vec<PreImage>,
        meta: CheckpointMeta,
        written: Option<Vec<PostImage>>,
    ) -> Result<Prepared> {
        let mut prepared = Prepared {
            files,
            meta,
            written,
            stored: None,
        };
        if let Backend::Git(repo) = &self.backend {
            let manifest = self.manifest(
                &prepared.files,
                &prepared.meta,
                prepared.written.as_ref(),
                0,
            )?;
            let repo = lock(repo)?;
            if repo.find_reference(&ref_name(&manifest.id)).is_err() {
                let commit = git_write_objects(&repo, &manifest, &prepared.files, |oid| {
                    self.take_staged(oid)
                })?;
                prepared.stored = Some((manifest.id, commit));
            }
        }
        Ok(prepared)
    }

    /// The second half: names the prepared checkpoint with its ref (durably), which makes it
    /// exist. Call it when the files still hold the pre-images (under the workspace's write
    /// lock). If the id was taken meanwhile, or nothing was stored ahead, the checkpoint is
    /// created now, whole.
    pub fn publish(&self, prepared: Prepared) -> Result<CheckpointId> {
        if let (Backend::Git(repo), Some((id, commit))) = (&self.backend, &prepared.stored) {
            let repo = lock(repo)?;
            if pack::write_ref(&repo, &ref_name(id), *commit, None)? {
                tracing::debug!(checkpoint = %id, files = prepared.files.len(), "checkpoint published");
                return Ok(id.clone());
            }
        }
        self.create_with(&prepared.files, &prepared.meta, prepared.written)
    }

    /// The manifest of a checkpoint of `files`, with the id of its `attempt`.
    fn manifest(
        &self,
        files: &[PreImage],
        meta: &CheckpointMeta,
        written: Option<&Vec<PostImage>>,
        attempt: u32,
    ) -> Result<Manifest> {
        check_paths(&self.root, files)?;
        let created = OffsetDateTime::from(meta.created);
        let created_text = created
            .format(&Rfc3339)
            .map_err(|e| VcsError::Corrupt(format!("cannot format time: {e}")))?;
        Ok(Manifest {
            version: MANIFEST_VERSION,
            id: new_id(created, attempt)?,
            created: created_text,
            label: meta.label.clone(),
            files: self.manifest_files(files),
            written: written.cloned(),
            workspace: self.workspace.clone(),
            audit_head: self.audit_head(),
        })
    }

    fn manifest_files(&self, files: &[PreImage]) -> Vec<ManifestFile> {
        files
            .iter()
            .map(|f| ManifestFile {
                path: f.path.clone(),
                existed: f.content.is_some(),
                executable: f.executable,
                sha256: f.content.as_deref().map(sha256_hex),
                mode: f
                    .content
                    .as_ref()
                    .and_then(|_| fsutil::mode_of(&self.root, &f.path)),
                missing_dirs: if f.content.is_none() {
                    missing_dirs(&self.root, &f.path)
                } else {
                    Vec::new()
                },
            })
            .collect()
    }

    /// The audit trail's head, recorded in each checkpoint. A damaged anchor never stops a
    /// checkpoint (`verify` reports it); the head is left out.
    fn audit_head(&self) -> Option<crate::AuditHead> {
        match self.audit_anchor().head() {
            Ok(entry) => entry.map(|e| e.head),
            Err(e) => {
                tracing::warn!("the audit anchor cannot be read: {e}");
                None
            }
        }
    }

    fn create_with(
        &self,
        files: &[PreImage],
        meta: &CheckpointMeta,
        written: Option<Vec<PostImage>>,
    ) -> Result<CheckpointId> {
        let first = self.manifest(files, meta, written.as_ref(), 0)?;
        for attempt in 0u32..64 {
            let manifest = Manifest {
                id: new_id(OffsetDateTime::from(meta.created), attempt)?,
                ..first.clone()
            };
            let stored = match &self.backend {
                Backend::Git(repo) => {
                    let repo = lock(repo)?;
                    git_create(&repo, &manifest, files, |oid| self.take_staged(oid))?
                }
                Backend::Fs(dir) => fs_create(dir, &manifest, files)?,
            };
            if stored {
                tracing::debug!(checkpoint = %manifest.id, files = files.len(), "checkpoint created");
                return Ok(manifest.id);
            }
        }
        Err(VcsError::Corrupt(
            "could not find a free checkpoint id".into(),
        ))
    }

    /// Records what autogate wrote after applying the batch, so a later rollback can tell whether the
    /// person changed a file since. Later calls for the same path replace earlier ones.
    pub fn record_written(&self, id: &CheckpointId, files: &[PostImage]) -> Result<()> {
        let mut loaded = self.load(id, false)?;
        let earlier = loaded.manifest.written.take().unwrap_or_default();
        let covered = loaded
            .manifest
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        let written = add_written(&covered, earlier, files)?;
        loaded.manifest.written = Some(written);
        match &self.backend {
            Backend::Git(repo) => git_update_manifest(&*lock(repo)?, &loaded.manifest),
            Backend::Fs(dir) => fs_write_manifest(dir, &loaded.manifest),
        }
    }

    /// Where the audit trail of this workspace anchors its head (see `AuditLog::open`).
    fn audit_anchor(&self) -> crate::anchor::Anchor {
        match &self.backend {
            Backend::Git(repo) => match lock(repo) {
                Ok(repo) => crate::anchor::Anchor::git(&repo),
                Err(_) => crate::anchor::Anchor::File(PathBuf::new()),
            },
            Backend::Fs(_) => {
                crate::anchor::Anchor::File(self.root.join(".autogate").join("audit.head"))
            }
        }
    }

    /// Every checkpoint of this workspace with the audit head it carries (`None`: made before
    /// the trail had an anchored head), in id order.
    pub fn audit_heads(&self) -> Result<Vec<(String, Option<crate::AuditHead>)>> {
        let mut out = Vec::new();
        for id in self.ids()? {
            match self.load(&id, false) {
                Ok(loaded) => out.push((id.to_string(), loaded.manifest.audit_head)),
                Err(VcsError::CheckpointNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// All checkpoints, newest first.
    pub fn list(&self) -> Result<Vec<CheckpointInfo>> {
        let ids = self.ids()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.load(&id, false).and_then(|l| l.manifest.info()) {
                Ok(info) => out.push(info),
                Err(VcsError::CheckpointNotFound(_)) => {}
                Err(e) => {
                    tracing::warn!(checkpoint = %id, error = %e, "skipping unreadable checkpoint")
                }
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
        Ok(out)
    }

    /// The newest checkpoint of this workspace, if any (the default of `autogate rollback`).
    pub fn latest(&self) -> Result<Option<CheckpointInfo>> {
        Ok(self.list()?.into_iter().next())
    }

    /// Whether a [`prune`](Self::prune) has work worth its cost: in git, once the store wrote
    /// enough packs since the last fold (one per checkpoint write, so every few writes); in a
    /// plain folder, once it holds more than `keep` checkpoints. A long-lived process prunes
    /// after each batch anyway; a door process, which lives for one call, asks this first.
    pub fn prune_due(&self, keep: usize) -> bool {
        match &self.backend {
            Backend::Git(repo) => lock(repo).is_ok_and(|repo| pack::fold_due(&repo)),
            Backend::Fs(dir) => fs::read_dir(dir.join("manifests"))
                .map(|entries| entries.count() > keep)
                .unwrap_or(false),
        }
    }

    /// Removes checkpoints older than `max_age` and all but the newest `max_count`. Returns the
    /// removed ids. In git it also folds the store's small packs into one (whatever their size);
    /// the objects of removed checkpoints stay until `git gc` expires them.
    pub fn prune(
        &self,
        max_age: Option<Duration>,
        max_count: Option<usize>,
    ) -> Result<Vec<CheckpointId>> {
        let removed = self.prune_refs(max_age, max_count)?;
        if let Some(fold) = self.fold_job() {
            fold();
        }
        Ok(removed)
    }

    /// In git, the fold of the store's small packs into one ([`pack::fold`]), as a job for any
    /// thread. It opens a repository handle of its own, so checkpoints written and read
    /// meanwhile through this store do not wait for it: the packs are replaced as another
    /// process's fold would replace them. Folding only saves lookups later: a failure is
    /// logged, never returned. `None` in a folder (nothing to fold).
    pub fn fold_job(&self) -> Option<impl FnOnce() + Send + 'static + use<>> {
        let Backend::Git(repo) = &self.backend else {
            return None;
        };
        let git_dir = lock(repo).ok()?.path().to_path_buf();
        Some(move || {
            let folded = git2::Repository::open(&git_dir)
                .map_err(VcsError::from)
                .and_then(|own| pack::fold(&own, pack::FOLD_MAX_BYTES));
            if let Err(e) = folded {
                tracing::warn!(error = %e, "could not fold the checkpoint packs");
            }
        })
    }

    /// [`CheckpointStore::prune`] without the fold: only the checkpoints' names go (and, in a
    /// folder, what no checkpoint left uses).
    pub fn prune_refs(
        &self,
        max_age: Option<Duration>,
        max_count: Option<usize>,
    ) -> Result<Vec<CheckpointId>> {
        let now = SystemTime::now();
        let mut removed = Vec::new();
        for (i, info) in self.list()?.into_iter().enumerate() {
            let too_old = max_age.is_some_and(|age| {
                now.duration_since(info.created)
                    .is_ok_and(|elapsed| elapsed > age)
            });
            let too_many = max_count.is_some_and(|n| i >= n);
            if too_old || too_many {
                self.delete(&info.id)?;
                removed.push(info.id);
            }
        }
        if let Backend::Fs(dir) = &self.backend
            && !removed.is_empty()
        {
            fs_gc(dir)?;
        }
        Ok(removed)
    }

    fn ids(&self) -> Result<Vec<CheckpointId>> {
        match &self.backend {
            Backend::Git(repo) => {
                let repo = lock(repo)?;
                let mut ids = Vec::new();
                for r in repo.references_glob(&format!("{CHECKPOINT_REF_PREFIX}*"))? {
                    let r = r?;
                    if let Ok(name) = r.name()
                        && let Some(rest) = name.strip_prefix(CHECKPOINT_REF_PREFIX)
                        && let Ok(id) = CheckpointId::parse(rest)
                    {
                        ids.push(id);
                    }
                }
                Ok(ids)
            }
            Backend::Fs(dir) => {
                let mdir = dir.join("manifests");
                let entries = match fs::read_dir(&mdir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(e).at(&mdir),
                };
                let mut ids = Vec::new();
                for e in entries {
                    let e = e.at(&mdir)?;
                    let name = e.file_name();
                    if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json"))
                        && let Ok(id) = CheckpointId::parse(stem)
                    {
                        ids.push(id);
                    }
                }
                Ok(ids)
            }
        }
    }

    fn delete(&self, id: &CheckpointId) -> Result<()> {
        match &self.backend {
            Backend::Git(repo) => {
                let repo = lock(repo)?;
                match repo.find_reference(&ref_name(id)) {
                    Ok(mut r) => r.delete()?,
                    Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
                Ok(())
            }
            Backend::Fs(dir) => fsutil::remove(&manifest_path(dir, id)),
        }
    }

    /// Reads a checkpoint; with `contents`, also the pre-image bytes (checked against their hashes).
    pub(crate) fn load(&self, id: &CheckpointId, contents: bool) -> Result<Loaded> {
        let loaded = match &self.backend {
            Backend::Git(repo) => git_load(&*lock(repo)?, id, contents)?,
            Backend::Fs(dir) => fs_load(dir, id, contents)?,
        };
        if let (Some(mine), Some(theirs)) = (&self.workspace, &loaded.manifest.workspace)
            && mine != theirs
        {
            // Made in another worktree or folder of the same repository.
            return Err(VcsError::CheckpointNotFound(id.to_string()));
        }
        if loaded.manifest.id != *id || loaded.manifest.version != MANIFEST_VERSION {
            return Err(VcsError::Corrupt(format!(
                "checkpoint {id}: manifest id or version mismatch"
            )));
        }
        if contents {
            for f in &loaded.manifest.files {
                let ok = match (&f.sha256, loaded.contents.get(&f.path)) {
                    (Some(h), Some(bytes)) => f.existed && sha256_hex(bytes) == *h,
                    (None, None) => !f.existed,
                    _ => false,
                };
                if !ok {
                    return Err(VcsError::Corrupt(format!(
                        "checkpoint {id}: content of {} does not match its hash",
                        f.path
                    )));
                }
            }
        }
        Ok(loaded)
    }
}

fn lock(m: &Mutex<git2::Repository>) -> Result<std::sync::MutexGuard<'_, git2::Repository>> {
    m.lock()
        .map_err(|_| VcsError::Corrupt("repository lock poisoned".into()))
}

/// The parent folders of `rel` that do not exist under `root`, deepest first.
fn missing_dirs(root: &Path, rel: &str) -> Vec<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut out = Vec::new();
    for depth in 1..parts.len() {
        let dir = parts[..depth].join("/");
        if fs::symlink_metadata(root.join(&dir)).is_err() {
            out.push(dir);
        }
    }
    out.reverse();
    out
}

static ID_COUNTER: AtomicU64 = AtomicU64::new(0);

fn new_id(created: OffsetDateTime, attempt: u32) -> Result<CheckpointId> {
    let stamp = created
        .to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| VcsError::Corrupt(format!("cannot format time: {e}")))?;
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!(
        "{nanos}:{}:{}:{attempt}",
        std::process::id(),
        ID_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let hash = sha256_hex(seed.as_bytes());
    let len = if attempt < 32 { 4 } else { 8 };
    Ok(CheckpointId(format!("{stamp}-{}", &hash[..len])))
}

fn ref_name(id: &CheckpointId) -> String {
    format!("{CHECKPOINT_REF_PREFIX}{id}")
}

fn to_json(manifest: &Manifest) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(manifest)
        .map_err(|e| VcsError::Corrupt(format!("cannot encode manifest: {e}")))
}

fn from_json(id: &CheckpointId, bytes: &[u8]) -> Result<Manifest> {
    serde_json::from_slice(bytes)
        .map_err(|e| VcsError::Corrupt(format!("checkpoint {id}: bad manifest: {e}")))
}

/// Writes blobs, tree and commit as one durable pack, then creates the ref, durably. Returns
/// false if the id is already taken.
/// Every path of a checkpoint is inside the workspace, and listed once.
fn check_paths(root: &Path, files: &[PreImage]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for f in files {
        fsutil::resolve(root, &f.path)?;
        if !seen.insert(f.path.as_str()) {
            return Err(VcsError::InvalidPath {
                path: f.path.clone(),
                reason: "listed twice in one checkpoint",
            });
        }
    }
    Ok(())
}

fn git_create(
    repo: &git2::Repository,
    manifest: &Manifest,
    files: &[PreImage],
    staged: impl FnMut(git2::Oid) -> bool,
) -> Result<bool> {
    let name = ref_name(&manifest.id);
    if repo.find_reference(&name).is_ok() {
        return Ok(false);
    }
    let commit = git_write_objects(repo, manifest, files, staged)?;
    pack::write_ref(repo, &name, commit, None)
}

/// Stores a checkpoint's objects (its pre-images but those `staged` already, its manifest,
/// tree and commit) as one durable pack; returns the commit. No ref names it yet.
fn git_write_objects(
    repo: &git2::Repository,
    manifest: &Manifest,
    files: &[PreImage],
    mut staged: impl FnMut(git2::Oid) -> bool,
) -> Result<git2::Oid> {
    let message = format!(
        "autogate checkpoint {}\n\n{}\n",
        manifest.id, manifest.label
    );
    pack::write_pack(repo, |mem, pack| {
        let empty = mem.find_tree(mem.treebuilder(None)?.write()?)?;
        let mut update = git2::build::TreeUpdateBuilder::new();
        for f in files {
            if let Some(content) = &f.content {
                let mode = if f.executable {
                    git2::FileMode::BlobExecutable
                } else {
                    git2::FileMode::Blob
                };
                let blob = mem.blob(content)?;
                if staged(blob) {
                    pack.exclude(blob);
                } else {
                    pack.insert_blob(blob, content);
                }
                update.upsert(format!("{FILES_DIR}/{}", f.path), blob, mode);
            }
        }
        update.upsert(
            MANIFEST_NAME,
            mem.blob(&to_json(manifest)?)?,
            git2::FileMode::Blob,
        );
        let tree = mem.find_tree(update.create_updated(mem, &empty)?)?;
        let commit = write_commit(mem, manifest, &message, &tree, None)?;
        // The commit with its whole tree (but the staged blobs, durable already).
        pack.insert_commit(mem, commit)?;
        Ok(commit)
    })
}

/// Writes a commit object of `tree` into `mem`, by "autogate" at the checkpoint's time. The
/// parent, if any, need not be in `mem` (libgit2 would drop such a parent, so the commit is
/// written out here).
fn write_commit(
    mem: &git2::Repository,
    manifest: &Manifest,
    message: &str,
    tree: &git2::Tree<'_>,
    parent: Option<git2::Oid>,
) -> Result<git2::Oid> {
    let secs = OffsetDateTime::parse(&manifest.created, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or(0);
    let who = format!("autogate <autogate@localhost> {secs} +0000");
    let mut text = format!("tree {}\n", tree.id());
    if let Some(parent) = parent {
        text.push_str(&format!("parent {parent}\n"));
    }
    text.push_str(&format!("author {who}\ncommitter {who}\n\n{message}"));
    Ok(mem
        .odb()?
        .write(git2::ObjectType::Commit, text.as_bytes())?)
}

/// Stores the updated manifest in a new commit (the old one its parent), as one durable pack
/// holding only the manifest, the root tree and the commit, and moves the ref to it, durably.
fn git_update_manifest(repo: &git2::Repository, manifest: &Manifest) -> Result<()> {
    let name = ref_name(&manifest.id);
    let reference = find_ref(repo, &manifest.id)?;
    let old = reference.peel_to_commit()?;
    let old_tree = old.tree()?;
    let message = format!("autogate checkpoint {}: written\n", manifest.id);
    let commit = pack::write_pack(repo, |mem, pack| {
        let blob = mem.blob(&to_json(manifest)?)?;
        let mut root = mem.treebuilder(Some(&old_tree))?;
        root.insert(MANIFEST_NAME, blob, git2::FileMode::Blob.into())?;
        let tree = mem.find_tree(root.write()?)?;
        let commit = write_commit(mem, manifest, &message, &tree, Some(old.id()))?;
        // The files/ tree and the parent are in the checkpoint's first pack, durable already.
        for oid in [blob, tree.id(), commit] {
            pack.insert(oid);
        }
        Ok(commit)
    })?;
    if pack::write_ref(repo, &name, commit, Some(old.id()))? {
        Ok(())
    } else {
        Err(git2::Error::from_str(&format!("{name} moved while recording what was written")).into())
    }
}

fn find_ref<'r>(repo: &'r git2::Repository, id: &CheckpointId) -> Result<git2::Reference<'r>> {
    match repo.find_reference(&ref_name(id)) {
        Ok(r) => Ok(r),
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            Err(VcsError::CheckpointNotFound(id.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

fn git_load(repo: &git2::Repository, id: &CheckpointId, contents: bool) -> Result<Loaded> {
    let tree = find_ref(repo, id)?.peel_to_commit()?.tree()?;
    let blob_at = |path: &str| -> Result<Vec<u8>> {
        let entry = tree
            .get_path(Path::new(path))
            .map_err(|_| VcsError::Corrupt(format!("checkpoint {id}: {path} missing")))?;
        Ok(repo.find_blob(entry.id())?.content().to_vec())
    };
    let manifest = from_json(id, &blob_at(MANIFEST_NAME)?)?;
    let mut map = HashMap::new();
    if contents {
        for f in manifest.files.iter().filter(|f| f.existed) {
            map.insert(f.path.clone(), blob_at(&format!("{FILES_DIR}/{}", f.path))?);
        }
    }
    Ok(Loaded {
        manifest,
        contents: map,
    })
}

fn manifest_path(dir: &Path, id: &CheckpointId) -> PathBuf {
    dir.join("manifests").join(format!("{id}.json"))
}

fn object_path(dir: &Path, hash: &str) -> PathBuf {
    dir.join("objects").join(hash)
}

fn fs_create(dir: &Path, manifest: &Manifest, files: &[PreImage]) -> Result<bool> {
    let mpath = manifest_path(dir, &manifest.id);
    if mpath.exists() {
        return Ok(false);
    }
    for f in files {
        if let Some(content) = &f.content {
            let opath = object_path(dir, &sha256_hex(content));
            if !opath.exists() {
                fsutil::write_atomic(&opath, content, false, None)?;
            }
        }
    }
    // create_new on the manifest makes two writers choosing the same id collide safely.
    let mdir = dir.join("manifests");
    fs::create_dir_all(&mdir).at(&mdir)?;
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&mpath)
    {
        Ok(f) => drop(f),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e).at(&mpath),
    }
    fs_write_manifest(dir, manifest)?;
    Ok(true)
}

fn fs_write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    fsutil::write_atomic(
        &manifest_path(dir, &manifest.id),
        &to_json(manifest)?,
        false,
        None,
    )
}

fn fs_load(dir: &Path, id: &CheckpointId, contents: bool) -> Result<Loaded> {
    let mpath = manifest_path(dir, id);
    let bytes = match fs::read(&mpath) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VcsError::CheckpointNotFound(id.to_string()));
        }
        Err(e) => return Err(e).at(&mpath),
    };
    if bytes.is_empty() {
        // Created by create_new but the manifest write never finished.
        return Err(VcsError::Corrupt(format!(
            "checkpoint {id}: empty manifest"
        )));
    }
    let manifest = from_json(id, &bytes)?;
    let mut map = HashMap::new();
    if contents {
        for f in &manifest.files {
            if let Some(h) = &f.sha256 {
                if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(VcsError::Corrupt(format!("checkpoint {id}: bad hash")));
                }
                let opath = object_path(dir, h);
                map.insert(f.path.clone(), fs::read(&opath).at(&opath)?);
            }
        }
    }
    Ok(Loaded {
        manifest,
        contents: map,
    })
}

/// Removes objects no manifest refers to.
fn fs_gc(dir: &Path) -> Result<()> {
    let mut live = std::collections::HashSet::new();
    let mdir = dir.join("manifests");
    if let Ok(entries) = fs::read_dir(&mdir) {
        for e in entries {
            let path = e.at(&mdir)?.path();
            let bytes = fs::read(&path).at(&path)?;
            let Ok(m) = serde_json::from_slice::<Manifest>(&bytes) else {
                // Unreadable manifest: keep everything rather than lose its objects.
                return Ok(());
            };
            live.extend(m.files.into_iter().filter_map(|f| f.sha256));
        }
    }
    let odir = dir.join("objects");
    if let Ok(entries) = fs::read_dir(&odir) {
        for e in entries {
            let e = e.at(&odir)?;
            if let Some(name) = e.file_name().to_str()
                && name.len() == 64
                && !live.contains(name)
            {
                fsutil::remove(&e.path())?;
            }
        }
    }
    Ok(())
}
