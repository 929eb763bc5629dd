//! The workspace symbol index behind the blast radius: built in the background at startup on
//! every core, honouring `.gitignore`, and kept current as autogate writes files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use autogate_analysis::SymbolIndex;
use autogate_analysis::languages::Language;

use super::Shared;

/// Files larger than this are not indexed (generated code, vendored bundles).
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The source files of a workspace the analyzer can parse, `.gitignore` honoured.
pub fn source_files(root: &Path) -> Vec<(String, PathBuf)> {
    ignore::WalkBuilder::new(root)
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter(|e| {
            e.metadata()
                .map(|m| m.len() <= MAX_FILE_BYTES)
                .unwrap_or(false)
        })
        .filter_map(|e| {
            let relative = e
                .path()
                .strip_prefix(root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            Language::from_path(&relative)?;
            Some((relative, e.path().to_path_buf()))
        })
        .collect()
}

/// Builds an index of `files` on `threads` threads, which take files from a shared queue (so a
/// thread that drew big files does not leave the others idle).
pub fn build(files: &[(String, PathBuf)], threads: usize) -> SymbolIndex {
    let threads = threads.clamp(1, 16);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let parts: Vec<SymbolIndex> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut index = SymbolIndex::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((relative, path)) = files.get(i) else {
                            break;
                        };
                        if let Ok(text) = std::fs::read_to_string(path) {
                            index.add_file(relative, &text);
                        }
                    }
                    index
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut index = SymbolIndex::new();
    for part in parts {
        index.extend(part);
    }
    index
}

/// Builds the index in the background and installs it in the gate; logs to the client when done.
pub fn spawn_build(shared: Arc<Shared>, client: tower_lsp_server::Client) {
    let Some(root) = shared.workspace.get().map(|w| w.root().to_path_buf()) else {
        return;
    };
    let built = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let files = source_files(&root);
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let index = build(&files, threads);
        let count = index.len();
        if let Some(mut gate) = shared.gate() {
            // Files autogate wrote while the build ran were indexed by `update`; keep those.
            let mut index = index;
            index.extend(std::mem::take(&mut gate.index));
            gate.index = index;
        }
        let ms = start.elapsed().as_millis() as u64;
        tracing::info!(files = count, ms, "workspace index built");
        format!("autogate: workspace index built: {count} files in {ms} ms")
    });
    tokio::spawn(async move {
        if let Ok(message) = built.await {
            client
                .log_message(tower_lsp_server::ls_types::MessageType::INFO, message)
                .await;
        }
    });
}

/// Re-indexes files autogate wrote (`Some` text) or removed (`None`).
pub fn update(shared: &Shared, files: &[(String, Option<String>)]) {
    if let Some(mut gate) = shared.gate() {
        for (path, text) in files {
            match text {
                Some(text) if Language::from_path(path).is_some() => {
                    gate.index.add_file(path, text)
                }
                _ => gate.index.remove_file(path),
            }
        }
    }
}
