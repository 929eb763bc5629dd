//! The workspace symbol index, built from the files on disk and kept between runs.
//!
//! A cold build reads and parses every source file on every core. The result is stored in
//! `.git/autogate/index.bin` (or `.autogate/index.bin` without git): one entry per file with
//! its size, modification time and content hash (SHA-256). A warm start walks the workspace,
//! reuses the entry of every file whose size and time are unchanged (as git trusts its index,
//! and for the same reason not when the time is too close to the store's own), reads and hashes
//! the others, reuses the entry when the hash matches, and parses only what really changed.
//!
//! The store is a cache: a missing, unreadable, foreign or corrupt one is a cold build, never an
//! error; it is written atomically (a temporary file renamed over it) and only when something
//! changed. Protocol-free: the LSP shell and the CLI both call [`build_warm`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use autogate_analysis::SymbolIndex;
use autogate_analysis::index::FileEntry;
use autogate_analysis::languages::Language;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Files larger than this are not indexed (generated code, vendored bundles).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Changes whenever what an entry holds, or how it is computed, changes: a store written by
/// another version is ignored.
const FORMAT: &str = concat!("autogate-index/1/", env!("CARGO_PKG_VERSION"));

/// A file whose modification time is this close to the store's own could have changed again
/// within the same tick of the file system's clock: it is hashed rather than trusted.
const RACY: Duration = Duration::from_secs(2);

/// A source file of the workspace, with what a warm start compares.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Workspace-relative, with `/`.
    pub relative: String,
    pub path: PathBuf,
    pub size: u64,
    /// Nanoseconds since the Unix epoch (0 when unknown: never trusted).
    pub mtime_ns: u128,
}

/// The source files of a workspace the analyzer can parse, `.gitignore` honoured.
pub fn source_files(root: &Path) -> Vec<SourceFile> {
    ignore::WalkBuilder::new(root)
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            if meta.len() > MAX_FILE_BYTES {
                return None;
            }
            let relative = e
                .path()
                .strip_prefix(root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            Language::from_path(&relative)?;
            Some(SourceFile {
                relative,
                path: e.path().to_path_buf(),
                size: meta.len(),
                mtime_ns: nanos(meta.modified().ok()),
            })
        })
        .collect()
}

fn nanos(time: Option<SystemTime>) -> u128 {
    time.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// Where the index of `root` is kept: beside autogate's other state.
pub fn store_path(root: &Path) -> PathBuf {
    match git2::Repository::open(root) {
        Ok(repo) => repo.path().join("autogate").join("index.bin"),
        Err(_) => root.join(".autogate").join("index.bin"),
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    format: String,
    /// When the store was written (ns since the epoch), for the racy-time rule.
    written_ns: u128,
    files: Vec<StoredFile>,
}

#[derive(Clone, Serialize, Deserialize)]
struct StoredFile {
    relative: String,
    size: u64,
    mtime_ns: u128,
    hash: [u8; 32],
    entry: FileEntry,
}

/// [`Stored`] as it is written: borrowing the entries from the index built (same encoding).
#[derive(Serialize)]
struct StoredOut<'a> {
    format: &'a str,
    written_ns: u128,
    files: Vec<StoredFileOut<'a>>,
}

#[derive(Serialize)]
struct StoredFileOut<'a> {
    relative: &'a str,
    size: u64,
    mtime_ns: u128,
    hash: [u8; 32],
    entry: &'a FileEntry,
}

/// What a build did, for the log and the benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Source files in the workspace.
    pub files: usize,
    /// Entries reused from the store because size and time were unchanged.
    pub trusted: usize,
    /// Entries reused from the store after hashing the file.
    pub rehashed: usize,
    /// Files read and parsed.
    pub parsed: usize,
    /// Whether the store was (re)written.
    pub stored: bool,
}

fn load(store: &Path) -> Option<Stored> {
    let bytes = std::fs::read(store).ok()?;
    match postcard::from_bytes::<Stored>(&bytes) {
        Ok(stored) if stored.format == FORMAT => Some(stored),
        Ok(_) => {
            tracing::debug!(store = %store.display(), "index store of another version: rebuilding");
            None
        }
        Err(e) => {
            tracing::warn!(store = %store.display(), "index store unreadable ({e}): rebuilding");
            None
        }
    }
}

fn save(store: &Path, stored: &StoredOut<'_>) -> std::io::Result<()> {
    let bytes = postcard::to_stdvec(stored).map_err(std::io::Error::other)?;
    let dir = store.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.persist(store).map_err(|e| e.error)?;
    Ok(())
}

/// Builds the index of `files` on `threads` threads, reusing what `store` holds, and writes the
/// store back if anything changed (`store: None` builds cold and keeps nothing).
pub fn build_warm(
    files: &[SourceFile],
    store: Option<&Path>,
    threads: usize,
) -> (SymbolIndex, BuildStats) {
    let stored = store.and_then(load);
    let written_ns = stored.as_ref().map_or(0, |s| s.written_ns);
    let mut previous: HashMap<String, StoredFile> = stored
        .map(|s| {
            s.files
                .into_iter()
                .map(|f| (f.relative.clone(), f))
                .collect()
        })
        .unwrap_or_default();
    let racy_after = written_ns.saturating_sub(RACY.as_nanos());
    let mut stats = BuildStats {
        files: files.len(),
        ..BuildStats::default()
    };
    // Trusted by size and time: no read at all.
    let mut kept: Vec<StoredFile> = Vec::with_capacity(files.len());
    let mut work: Vec<(&SourceFile, Option<StoredFile>)> = Vec::new();
    for file in files {
        let old = previous.remove(&file.relative);
        match old {
            Some(old)
                if old.size == file.size
                    && old.mtime_ns == file.mtime_ns
                    && file.mtime_ns != 0
                    && file.mtime_ns < racy_after =>
            {
                kept.push(old);
            }
            old => work.push((file, old)),
        }
    }
    stats.trusted = kept.len();
    // Biggest first, so that no thread is left with a big file while the others are idle.
    work.sort_by_key(|w| std::cmp::Reverse(w.0.size));
    // The rest on every core: read, hash, and parse only when the content changed.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(StoredFile, bool)>> = Mutex::new(Vec::with_capacity(work.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, 16) {
            scope.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((file, old)) = work.get(i) else {
                        break;
                    };
                    let Ok(bytes) = std::fs::read(&file.path) else {
                        continue;
                    };
                    let hash: [u8; 32] = Sha256::digest(&bytes).into();
                    if let Some(old) = old.as_ref().filter(|o| o.hash == hash) {
                        mine.push((
                            StoredFile {
                                size: file.size,
                                mtime_ns: file.mtime_ns,
                                ..old.clone()
                            },
                            false,
                        ));
                        continue;
                    }
                    let Ok(text) = String::from_utf8(bytes) else {
                        continue;
                    };
                    if let Some(entry) = FileEntry::of(&file.relative, &text) {
                        mine.push((
                            StoredFile {
                                relative: file.relative.clone(),
                                size: file.size,
                                mtime_ns: file.mtime_ns,
                                hash,
                                entry,
                            },
                            true,
                        ));
                    }
                }
                if let Ok(mut all) = results.lock() {
                    all.extend(mine);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    for (file, parsed) in results {
        if parsed {
            stats.parsed += 1;
        } else {
            stats.rehashed += 1;
        }
        kept.push(file);
    }
    // Anything to write back: a file parsed, re-stated or gone.
    let changed = !work.is_empty() || !previous.is_empty() || written_ns == 0;
    // The entries move into the index (no copy); the store borrows them back from it.
    let mut index = SymbolIndex::new();
    let mut metas = Vec::with_capacity(kept.len());
    for file in kept {
        index.insert(&file.relative, file.entry);
        metas.push((file.relative, file.size, file.mtime_ns, file.hash));
    }
    if let Some(store) = store
        && changed
    {
        let stored = StoredOut {
            format: FORMAT,
            written_ns: nanos(Some(SystemTime::now())),
            files: metas
                .iter()
                .filter_map(|(relative, size, mtime_ns, hash)| {
                    Some(StoredFileOut {
                        relative,
                        size: *size,
                        mtime_ns: *mtime_ns,
                        hash: *hash,
                        entry: index.entry(relative)?,
                    })
                })
                .collect(),
        };
        match save(store, &stored) {
            Ok(()) => stats.stored = true,
            Err(e) => tracing::warn!(store = %store.display(), "cannot keep the index: {e}"),
        }
    }
    (index, stats)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn files(root: &Path) -> Vec<SourceFile> {
        let mut f = source_files(root);
        f.sort_by(|a, b| a.relative.cmp(&b.relative));
        f
    }

    /// Sets a file's modification time well in the past, as if edited long before the store.
    fn age(path: &Path) {
        let old = SystemTime::now() - Duration::from_secs(3600);
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(old).unwrap();
    }

    #[test]
    fn a_warm_start_parses_only_what_changed_and_agrees_with_a_cold_build() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        for (name, text) in [
            ("src/a.rs", "pub fn parse() {}\n"),
            ("src/b.rs", "fn x() { parse(); }\n"),
            ("src/c.py", "def helper():\n    return 1\n"),
        ] {
            std::fs::write(root.join(name), text).unwrap();
            age(&root.join(name));
        }
        let store = root.join(".autogate/index.bin");
        let (cold, stats) = build_warm(&files(root), Some(&store), 2);
        assert_eq!((stats.files, stats.parsed, stats.stored), (3, 3, true));
        assert_eq!(cold.references("parse").references, 1);

        // Nothing changed: every entry is trusted, nothing is read or written.
        let (warm, stats) = build_warm(&files(root), Some(&store), 2);
        assert_eq!((stats.trusted, stats.parsed, stats.stored), (3, 0, false));
        assert_eq!(warm.references("parse"), cold.references("parse"));

        // One file edited, one touched without a change, one removed, one added.
        std::fs::write(root.join("src/b.rs"), "fn x() { parse(); parse(); }\n").unwrap();
        std::fs::write(root.join("src/c.py"), "def helper():\n    return 1\n").unwrap();
        std::fs::remove_file(root.join("src/a.rs")).unwrap();
        std::fs::write(root.join("src/d.rs"), "fn y() { parse(); }\n").unwrap();
        let (warm, stats) = build_warm(&files(root), Some(&store), 2);
        assert_eq!(
            (stats.trusted, stats.rehashed, stats.parsed, stats.stored),
            (0, 1, 2, true)
        );
        let (fresh, _) = build_warm(&files(root), None, 1);
        for name in ["parse", "helper", "x", "y"] {
            assert_eq!(warm.references(name), fresh.references(name), "{name}");
            assert_eq!(warm.definitions(name), fresh.definitions(name), "{name}");
        }
        assert_eq!(warm.references("parse").references, 3);
        assert!(
            warm.entry("src/a.rs").is_none(),
            "a removed file is forgotten"
        );
    }

    #[test]
    fn a_corrupt_or_foreign_store_is_a_cold_build() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.rs"), "pub fn parse() {}\n").unwrap();
        let store = root.join(".autogate/index.bin");
        std::fs::create_dir_all(store.parent().unwrap()).unwrap();
        for garbage in [&b""[..], b"\xff\xff\xff\xff garbage", b"\x05hello"] {
            std::fs::write(&store, garbage).unwrap();
            let (index, stats) = build_warm(&files(root), Some(&store), 1);
            assert_eq!((stats.parsed, stats.stored), (1, true), "{garbage:?}");
            assert_eq!(index.definitions("parse"), vec!["a.rs"]);
        }
        // A store of another format version is ignored too.
        let foreign = Stored {
            format: "autogate-index/0".into(),
            written_ns: 1,
            files: Vec::new(),
        };
        std::fs::write(&store, postcard::to_stdvec(&foreign).unwrap()).unwrap();
        let (_, stats) = build_warm(&files(root), Some(&store), 1);
        assert_eq!(stats.parsed, 1);
    }

    #[test]
    fn a_file_changed_within_the_racy_window_is_hashed_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let file = root.join("a.rs");
        std::fs::write(&file, "pub fn parse() {}\n").unwrap();
        let store = root.join(".autogate/index.bin");
        build_warm(&files(root), Some(&store), 1);
        // Same size, and a time the file system may not tell apart from the store's.
        std::fs::write(&file, "pub fn other() {}\n").unwrap();
        let (index, stats) = build_warm(&files(root), Some(&store), 1);
        assert_eq!(stats.trusted, 0);
        assert_eq!(index.definitions("other"), vec!["a.rs"]);
    }
}
