//! The on-disk cache of OSV answers, keyed by ecosystem, name and version; one small JSON file
//! per key, written atomically, trusted for a fixed time. A broken or unreadable entry is a miss.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Advisory, Query};

/// A cache directory and how long its answers are trusted.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    ttl: Duration,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    query: Query,
    fetched: u64,
    advisories: Vec<Advisory>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>, ttl: Duration) -> Self {
        Cache {
            dir: dir.into(),
            ttl,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, q: &Query) -> PathBuf {
        let mut h = Sha256::new();
        for part in [&q.ecosystem, &q.name, &q.version] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        self.dir.join(format!("{}.json", hex::encode(h.finalize())))
    }

    /// The cached answer for `q`, if fresh.
    pub fn get(&self, q: &Query) -> Option<Vec<Advisory>> {
        let text = std::fs::read_to_string(self.file(q)).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        let fresh = now().saturating_sub(entry.fetched) < self.ttl.as_secs();
        (entry.query == *q && fresh).then_some(entry.advisories)
    }

    /// Stores an answer; a failure to write only costs a later lookup.
    pub fn put(&self, q: &Query, advisories: &[Advisory]) {
        let entry = Entry {
            query: q.clone(),
            fetched: now(),
            advisories: advisories.to_vec(),
        };
        let path = self.file(q);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, serde_json::to_vec(&entry).unwrap_or_default())?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            tracing::debug!(error = %e, dir = %self.dir.display(), "OSV cache not written");
        }
    }
}
