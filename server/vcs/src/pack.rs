//! One packfile per checkpoint write: objects built in memory, then stored durably as a single
//! pack, so a checkpoint costs a few fsyncs instead of one per loose object; the durable ref
//! write; and the folding that keeps the number of those packs small.
//!
//! The objects of a write are made in an in-memory object database (libgit2's mempack, wrapped
//! in a repository of its own that sees nothing else), so every object the write makes lands in
//! its pack, even one that already exists in the repository: a checkpoint's first pack alone
//! holds all of it, and its durability never depends on loose objects, which git itself does
//! not fsync by default. libgit2's indexer writes the pack and its index in a private folder,
//! `objects/autogate-incoming`; both are fsynced there, renamed into `objects/pack` (pack first,
//! index last, as git does) and that folder is fsynced. Only then may a ref point at the
//! objects: after a power loss the ref never points at a missing object, and git never sees a
//! half-written pack. [`write_ref`] then writes the ref as git does, fsynced before its rename.
//!
//! Each write adds one small pack, and many packs slow down every object lookup (libgit2 rescans
//! the pack folder when it misses an object, git's `gc --auto` repacks everything past 50).
//! So the store remembers its own packs (an empty marker file per pack under
//! `<git dir>/autogate/packs/`) and `prune` folds them like `git repack --geometric=2`: the smallest
//! packs, and any larger one that would break a factor-2 progression, are written again as one
//! pack, which is made durable before the folded packs are deleted. A fold keeps every object
//! of the folded packs (other objects, such as the person's own commits, may refer to them),
//! so dropping the objects of pruned checkpoints stays git `gc`'s job.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use crate::error::{IoContext, Result, VcsError};
use crate::fsutil;

/// The folder in `objects` where packs are written and fsynced before they move into
/// `objects/pack` (git ignores other folders there; its own quarantine is `incoming-*`).
const INCOMING: &str = "autogate-incoming";

/// A fold runs once at least this many of the store's packs fall below the progression.
const FOLD_AT: usize = 8;
/// A fold rewrites at most this many bytes (libgit2 inflates, delta-searches and deflates every
/// object again); beyond that, folding is left to git's gc.
pub(crate) const FOLD_MAX_BYTES: u64 = 16 << 20;
/// Each pack kept must be at least this many times the size of the next smaller one.
const FOLD_FACTOR: u64 = 2;

/// The objects one write puts in its pack, in the order they are added; a blob added with its
/// content is not read back (a read hashes it again).
#[derive(Default)]
pub(crate) struct Objects<'a> {
    list: Vec<(git2::Oid, Option<&'a [u8]>)>,
    seen: std::collections::HashSet<git2::Oid>,
}

impl<'a> Objects<'a> {
    /// Adds one object.
    pub(crate) fn insert(&mut self, oid: git2::Oid) {
        if self.seen.insert(oid) {
            self.list.push((oid, None));
        }
    }

    /// Leaves an object out of the pack (stored durably already), also when a tree names it.
    pub(crate) fn exclude(&mut self, oid: git2::Oid) {
        self.seen.insert(oid);
    }

    /// Adds a blob the caller just wrote from `content`.
    pub(crate) fn insert_blob(&mut self, oid: git2::Oid, content: &'a [u8]) {
        if self.seen.insert(oid) {
            self.list.push((oid, Some(content)));
        }
    }

    /// Adds a commit, its tree and everything under that tree (not its parents).
    pub(crate) fn insert_commit(
        &mut self,
        repo: &git2::Repository,
        commit: git2::Oid,
    ) -> Result<()> {
        self.insert(commit);
        let tree = repo.find_commit(commit)?.tree_id();
        self.insert_tree(repo, tree)
    }

    fn insert_tree(&mut self, repo: &git2::Repository, tree: git2::Oid) -> Result<()> {
        if self.seen.contains(&tree) {
            return Ok(());
        }
        self.insert(tree);
        for entry in repo.find_tree(tree)?.iter() {
            match entry.kind() {
                Some(git2::ObjectType::Tree) => self.insert_tree(repo, entry.id())?,
                // Submodule entries name commits of another repository: not ours to store.
                Some(git2::ObjectType::Commit) => {}
                _ => self.insert(entry.id()),
            }
        }
        Ok(())
    }
}

/// The zlib level of the packs a write makes: level 1 deflates a 300 KB source file about as
/// small as the default level (within 2 % here) in a third of the time, and the write path is
/// what an edit waits for. Folding repacks with libgit2's defaults.
const WRITE_LEVEL: u32 = 1;

/// Runs `build` against an empty in-memory repository, then stores the objects `build` listed
/// as one durable pack in `target`. Returns what `build` returned.
///
/// The pack's bytes are written here, every object whole (no deltas: a checkpoint's objects
/// rarely resemble each other) and deflated at [`WRITE_LEVEL`], and libgit2's indexer checks
/// them (it recomputes every object id and the trailing checksum) and writes the index.
pub(crate) fn write_pack<'a, T>(
    target: &git2::Repository,
    build: impl FnOnce(&git2::Repository, &mut Objects<'a>) -> Result<T>,
) -> Result<T> {
    let mem = git2::Repository::from_odb(git2::Odb::new()?)?;
    let odb = mem.odb()?;
    // The only writable backend: every object `build` makes stays in memory.
    let _mempack = odb.add_new_mempack_backend(1)?;
    let mut objects = Objects::default();
    let out = build(&mem, &mut objects)?;
    let (incoming, packs) = folders(target)?;
    let hash = write_indexed(&odb, &objects.list, &incoming)?;
    let name = move_in(&hash, &incoming, &packs)?;
    mark(target, &name);
    Ok(out)
}

/// Encodes the objects as a version 2 pack and streams it through libgit2's indexer into
/// `dir`. Returns the pack's hash (its name). The indexer recomputes every object id and the
/// checksum; it is not asked to check that what the objects refer to is present (a manifest
/// update refers to the first pack's objects, and looking them up in a repository of many
/// packs costs more than the whole write): the caller lists a complete set by construction.
fn write_indexed(
    odb: &git2::Odb<'_>,
    objects: &[(git2::Oid, Option<&[u8]>)],
    dir: &Path,
) -> Result<String> {
    use flate2::{Compression, write::ZlibEncoder};
    use sha1::{Digest, Sha1};

    let count = u32::try_from(objects.len())
        .map_err(|_| VcsError::Corrupt("too many objects for one pack".into()))?;
    let mut pack = Vec::with_capacity(4096);
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&count.to_be_bytes());
    for (oid, content) in objects {
        let read;
        let (kind, data): (u8, &[u8]) = match content {
            Some(content) => (3, content),
            None => {
                read = odb.read(*oid)?;
                let kind = match read.kind() {
                    git2::ObjectType::Commit => 1,
                    git2::ObjectType::Tree => 2,
                    git2::ObjectType::Blob => 3,
                    git2::ObjectType::Tag => 4,
                    other => {
                        return Err(VcsError::Corrupt(format!(
                            "{oid}: cannot pack a {other} object"
                        )));
                    }
                };
                (kind, read.data())
            }
        };
        // The entry header: type and size, the size in 4 bits then 7 bits per byte.
        let mut size = data.len();
        let mut byte = (kind << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            pack.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        pack.push(byte);
        let mut deflate = ZlibEncoder::new(pack, Compression::new(WRITE_LEVEL));
        deflate.write_all(data).at(dir)?;
        pack = deflate.finish().at(dir)?;
    }
    let checksum = Sha1::digest(&pack);
    pack.extend_from_slice(&checksum);
    let mut indexer = git2::Indexer::new(None, dir, 0o444, false)?;
    indexer.write_all(&pack).at(dir)?;
    Ok(indexer.commit()?)
}

/// The store's incoming folder and `objects/pack`, created if needed.
fn folders(target: &git2::Repository) -> Result<(PathBuf, PathBuf)> {
    let objects = target.commondir().join("objects");
    let packs = objects.join("pack");
    // Kept between writes: on file systems without a journal, fsyncing a file in a new folder
    // also writes out that folder and its parent.
    let incoming = objects.join(INCOMING);
    fs::create_dir_all(&incoming).at(&incoming)?;
    fs::create_dir_all(&packs).at(&packs)?;
    Ok((incoming, packs))
}

/// Marks a pack as the store's. Best effort: a pack without a marker is only left for git's gc
/// to fold.
fn mark(target: &git2::Repository, name: &str) {
    let marks = markers(target);
    let marker = marks.join(name);
    if fs::File::create(&marker).is_err() {
        let _ = fs::create_dir_all(&marks).and_then(|()| fs::File::create(&marker));
    }
}

/// Writes the pack builder's pack and its index in a private folder, fsyncs both, moves them
/// into `objects/pack`, fsyncs that folder and marks the pack as the store's. Returns its name
/// (`pack-<hash>`).
fn install(target: &git2::Repository, builder: &mut git2::PackBuilder<'_>) -> Result<String> {
    let (incoming, packs) = folders(target)?;
    // libgit2 writes under a temporary name and renames to the final one when complete.
    builder.write(&incoming, 0)?;
    let hash = builder
        .name()?
        .ok_or_else(|| VcsError::Corrupt("libgit2 wrote a pack without a name".into()))?
        .to_owned();
    let name = move_in(&hash, &incoming, &packs)?;
    mark(target, &name);
    Ok(name)
}

/// Fsyncs the pack `hash` and its index in `tmp`, renames them into `packs` (pack first, index
/// last, as git does) and fsyncs that folder. Returns the pack's name.
fn move_in(hash: &str, tmp: &Path, packs: &Path) -> Result<String> {
    let name = format!("pack-{hash}");
    let file = |dir: &Path, ext: &str| -> PathBuf { dir.join(format!("{name}.{ext}")) };
    for ext in ["pack", "idx"] {
        let path = file(tmp, ext);
        fs::File::open(&path).and_then(|f| f.sync_all()).at(&path)?;
    }
    for ext in ["pack", "idx"] {
        fs::rename(file(tmp, ext), file(packs, ext)).at(file(packs, ext))?;
    }
    fsutil::sync_dir(packs);
    Ok(name)
}

/// Points the loose ref `name` at `new`, durably, the way git writes refs: `<ref>.lock` created
/// exclusively, written and fsynced, renamed over the ref, folder fsynced. `expect` is the value
/// the ref must have now (`None`: it must not exist). Returns false if it has another, or if
/// another writer holds the lock. Unlike libgit2's ref writes, this never looks `new` up (the
/// caller made it durable), so a write costs the same however many packs the repository has.
pub(crate) fn write_ref(
    repo: &git2::Repository,
    name: &str,
    new: git2::Oid,
    expect: Option<git2::Oid>,
) -> Result<bool> {
    let path = repo.commondir().join(name);
    let (Some(dir), Some(file)) = (path.parent(), path.file_name()) else {
        return Err(VcsError::Corrupt(format!("bad ref name {name}")));
    };
    if !dir.is_dir() {
        // The first checkpoint: make the new folders durable too.
        fs::create_dir_all(dir).at(dir)?;
        let refs = repo.commondir().join("refs");
        for parent in dir.ancestors().skip(1) {
            fsutil::sync_dir(parent);
            if parent == refs {
                break;
            }
        }
    }
    let lock_path = dir.join(format!("{}.lock", file.to_string_lossy()));
    let mut lock = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock_path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e).at(&lock_path),
    };
    let result = (|| {
        let current = match repo.refname_to_id(name) {
            Ok(id) => Some(id),
            Err(e) if e.code() == git2::ErrorCode::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        if current != expect {
            return Ok(false);
        }
        lock.write_all(format!("{new}\n").as_bytes())
            .and_then(|()| lock.sync_all())
            .at(&lock_path)?;
        fs::rename(&lock_path, &path).at(&path)?;
        fsutil::sync_dir(dir);
        Ok(true)
    })();
    if !matches!(result, Ok(true)) {
        let _ = fs::remove_file(&lock_path);
    }
    result
}

/// The folder of marker files, one per pack the store wrote and has not folded yet.
fn markers(repo: &git2::Repository) -> PathBuf {
    repo.commondir().join("autogate").join("packs")
}

/// The file whose modification time is that of the last [`fold`] (in the markers' folder; not
/// a pack name, so never taken for a marker).
const FOLDED_STAMP: &str = "last-fold";

/// How many packs the store wrote since the last [`fold`] (whether or not it folded them):
/// their markers are newer than its stamp. Cheap: a listing of a folder of a few entries.
pub(crate) fn written_since_fold(repo: &git2::Repository) -> usize {
    let marks = markers(repo);
    let stamp = fs::metadata(marks.join(FOLDED_STAMP))
        .and_then(|m| m.modified())
        .ok();
    let Ok(entries) = fs::read_dir(&marks) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(is_pack_name))
        .filter(|e| {
            let modified = e.metadata().and_then(|m| m.modified()).ok();
            match (stamp, modified) {
                (Some(stamp), Some(modified)) => modified > stamp,
                _ => true,
            }
        })
        .count()
}

/// Whether enough packs were written since the last fold for another to be worth trying.
pub(crate) fn fold_due(repo: &git2::Repository) -> bool {
    written_since_fold(repo) >= FOLD_AT
}

/// Folds the store's packs that fall below a factor-2 progression into one, if at least
/// [`FOLD_AT`] of them add up to no more than `max_bytes`. Returns how many packs were folded.
/// Packs gone meanwhile (git's gc repacked them) are forgotten, and so is what crashed writes
/// left in the incoming folder.
pub(crate) fn fold(repo: &git2::Repository, max_bytes: u64) -> Result<usize> {
    let marks = markers(repo);
    // Stamped first: a pack written while this fold runs counts towards the next one.
    if marks.is_dir() {
        let stamp = marks.join(FOLDED_STAMP);
        fs::File::create(&stamp).at(&stamp)?;
    }
    let objects = repo.commondir().join("objects");
    sweep_incoming(&objects.join(INCOMING));
    let packs_dir = objects.join("pack");
    let entries = match fs::read_dir(&marks) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).at(&marks),
    };
    let mut packs: Vec<(u64, String)> = Vec::new();
    for entry in entries {
        let entry = entry.at(&marks)?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !is_pack_name(&name) {
            continue;
        }
        let file = |ext: &str| packs_dir.join(format!("{name}.{ext}"));
        match fs::metadata(file("pack")) {
            Ok(meta) if file("idx").exists() && !file("keep").exists() => {
                packs.push((meta.len(), name));
            }
            _ => {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    packs.sort();
    let sizes: Vec<u64> = packs.iter().map(|(size, _)| *size).collect();
    let mut split = geometric_split(&sizes);
    let mut total: u64 = sizes[..split].iter().sum();
    // Too much to rewrite now: fold only the smallest of them.
    while split > 0 && total > max_bytes {
        split -= 1;
        total -= sizes[split];
    }
    if split < FOLD_AT {
        return Ok(0);
    }
    // One fold at a time per repository; another process folding now makes this one unneeded.
    let lock_path = marks.join("fold.lock");
    let lock = fs::File::create(&lock_path).at(&lock_path)?;
    if !FileExt::try_lock_exclusive(&lock).unwrap_or(false) {
        return Ok(0);
    }
    // Packs written since this handle last looked are found without a failed lookup first.
    repo.odb()?.refresh()?;
    let mut builder = repo.packbuilder()?;
    builder.set_threads(1);
    for (_, name) in &packs[..split] {
        for oid in index_oids(&packs_dir.join(format!("{name}.idx")))? {
            builder.insert_object(oid, None)?;
        }
    }
    let folded_into = install(repo, &mut builder)?;
    // The new pack is durable: the folded ones may go. Index first, so that no reader picks a
    // pack without its index.
    for (_, name) in &packs[..split] {
        if *name == folded_into {
            continue;
        }
        let _ = fs::remove_file(marks.join(name));
        for ext in ["idx", "pack", "rev", "bitmap"] {
            let _ = fs::remove_file(packs_dir.join(format!("{name}.{ext}")));
        }
    }
    drop(lock);
    tracing::debug!(packs = split, bytes = total, into = %folded_into, "folded checkpoint packs");
    Ok(split)
}

/// Removes what a write that crashed midway left in the incoming folder (an hour old or more,
/// so that no write in progress loses its files).
fn sweep_incoming(incoming: &Path) {
    let Ok(entries) = fs::read_dir(incoming) else {
        return;
    };
    let old = |meta: fs::Metadata| {
        meta.modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() >= 3600)
    };
    for entry in entries.flatten() {
        if entry.metadata().is_ok_and(old) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn is_pack_name(name: &str) -> bool {
    name.strip_prefix("pack-").is_some_and(|hash| {
        matches!(hash.len(), 40 | 64) && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// How many of the packs (sizes ascending) to fold, as `git repack --geometric` chooses: every
/// pack up to the last one that is less than [`FOLD_FACTOR`] times its smaller neighbour, then
/// any larger pack that the folded pack would outgrow.
fn geometric_split(sizes: &[u64]) -> usize {
    let Some(mut split) = (1..sizes.len())
        .rev()
        .find(|&i| sizes[i] < FOLD_FACTOR.saturating_mul(sizes[i - 1]))
        .map(|i| i + 1)
    else {
        return 0;
    };
    let mut total: u64 = sizes[..split].iter().sum();
    while split < sizes.len() && total.saturating_mul(FOLD_FACTOR) > sizes[split] {
        total += sizes[split];
        split += 1;
    }
    split
}

/// The object ids listed in a version 2 pack index.
fn index_oids(path: &Path) -> Result<Vec<git2::Oid>> {
    let bytes = fs::read(path).at(path)?;
    let bad = || VcsError::Corrupt(format!("{}: not a version 2 pack index", path.display()));
    if bytes.get(..8) != Some(&[0xff, b't', b'O', b'c', 0, 0, 0, 2][..]) {
        return Err(bad());
    }
    let count = bytes
        .get(8 + 255 * 4..8 + 256 * 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(bad)? as usize;
    let start = 8 + 256 * 4;
    let ids = bytes.get(start..start + count * 20).ok_or_else(bad)?;
    ids.chunks_exact(20)
        .map(|id| git2::Oid::from_bytes(id).map_err(VcsError::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::geometric_split;

    #[test]
    fn geometric_split_folds_what_breaks_the_progression() {
        // Already a progression: nothing to fold.
        assert_eq!(geometric_split(&[1, 2, 4, 8]), 0);
        assert_eq!(geometric_split(&[5]), 0);
        assert_eq!(geometric_split(&[]), 0);
        // Eight equal small packs and a large one: the small ones.
        assert_eq!(geometric_split(&[1, 1, 1, 1, 1, 1, 1, 1, 100]), 8);
        // The folded pack (8) would outgrow the next one (10): that one joins.
        assert_eq!(geometric_split(&[1, 1, 1, 1, 1, 1, 1, 1, 10, 100]), 9);
        // Everything breaks the progression.
        assert_eq!(geometric_split(&[3, 3, 3]), 3);
    }
}
