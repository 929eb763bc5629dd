//! An OSV export on disk: a directory of advisory JSON files (searched recursively) or a zip of
//! them (OSV publishes one per ecosystem, `<ecosystem>/all.zip`). Loaded once, matched locally.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::osv::{self, Advisory};
use crate::{AdvisoryError, Query};

/// The largest advisory file read (real ones are a few kB).
const MAX_RECORD: u64 = 4 << 20;

/// Advisories by `(ecosystem, normalised name)`.
#[derive(Debug, Default)]
pub struct Database {
    path: String,
    records: BTreeMap<(String, String), Vec<Value>>,
    count: usize,
}

fn key(ecosystem: &str, name: &str) -> (String, String) {
    let eco = ecosystem
        .split(':')
        .next()
        .unwrap_or(ecosystem)
        .to_ascii_lowercase();
    let name = match eco.as_str() {
        "pypi" => name.to_ascii_lowercase().replace(['_', '.'], "-"),
        "crates.io" => name.replace('_', "-"),
        _ => name.to_owned(),
    };
    (eco, name)
}

impl Database {
    /// Opens a directory or a `.zip`. A file that is not an OSV record is an error naming it:
    /// a database that reads partly would say "no advisories" where it does not know.
    pub fn open(path: &Path) -> Result<Self, AdvisoryError> {
        let shown = path.display().to_string();
        let err = |detail: String| AdvisoryError::Database {
            path: shown.clone(),
            detail,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        let mut db = Database {
            path: shown.clone(),
            ..Database::default()
        };
        if meta.is_dir() {
            let mut stack = vec![path.to_path_buf()];
            while let Some(dir) = stack.pop() {
                let mut entries: Vec<_> = std::fs::read_dir(&dir)
                    .map_err(|e| err(format!("{}: {e}", dir.display())))?
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                entries.sort();
                for p in entries {
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|e| e == "json") {
                        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                        if len > MAX_RECORD {
                            return Err(err(format!("{}: larger than 4 MiB", p.display())));
                        }
                        let text = std::fs::read_to_string(&p)
                            .map_err(|e| err(format!("{}: {e}", p.display())))?;
                        db.add(&text)
                            .map_err(|d| err(format!("{}: {d}", p.display())))?;
                    } else if p.extension().is_some_and(|e| e == "zip") {
                        db.add_zip(&p)
                            .map_err(|d| err(format!("{}: {d}", p.display())))?;
                    }
                }
            }
        } else {
            db.add_zip(path).map_err(err)?;
        }
        tracing::debug!(path = %shown, advisories = db.count, "OSV database loaded");
        Ok(db)
    }

    fn add_zip(&mut self, path: &Path) -> Result<(), String> {
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("not a zip archive: {e}"))?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).map_err(|e| e.to_string())?;
            let name = entry
                .name()
                .map(|n| n.into_owned())
                .map_err(|e| format!("entry {i}: {e}"))?;
            if !entry.is_file() || !name.ends_with(".json") {
                continue;
            }
            if entry.size() > MAX_RECORD {
                return Err(format!("{name}: larger than 4 MiB"));
            }
            let mut text = String::new();
            (&mut entry)
                .take(MAX_RECORD)
                .read_to_string(&mut text)
                .map_err(|e| format!("{name}: {e}"))?;
            self.add(&text).map_err(|d| format!("{name}: {d}"))?;
        }
        Ok(())
    }

    fn add(&mut self, text: &str) -> Result<(), String> {
        let record: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        let affected = record
            .get("affected")
            .and_then(Value::as_array)
            .filter(|_| record.get("id").and_then(Value::as_str).is_some())
            .ok_or("not an OSV record (no `id` and `affected`)")?;
        let mut keys: Vec<(String, String)> = affected
            .iter()
            .filter_map(|a| {
                let p = a.get("package")?;
                Some(key(p.get("ecosystem")?.as_str()?, p.get("name")?.as_str()?))
            })
            .collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            self.records.entry(k).or_default().push(record.clone());
        }
        self.count += 1;
        Ok(())
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// How many advisories were loaded.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The advisories affecting one package version.
    pub fn lookup(&self, q: &Query) -> Vec<Advisory> {
        self.records
            .get(&key(&q.ecosystem, &q.name))
            .into_iter()
            .flatten()
            .filter_map(|r| osv::read(r, &q.ecosystem, &q.name, &q.version, false))
            .collect()
    }
}
