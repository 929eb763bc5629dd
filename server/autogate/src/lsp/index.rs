//! The workspace symbol index behind the blast radius: built in the background at startup on
//! every core, honouring `.gitignore`, and kept current as autogate writes files.

use std::sync::Arc;
use std::time::{Duration, Instant};

use autogate_analysis::index::FileEntry;
use autogate_analysis::languages::Language;

use super::Shared;
use crate::workspace_index::{self, build_warm, source_files};

/// Builds the index in the background (warm from the store of the last run) and installs it in
/// the gate; logs to the client when done. Until then the gate's index is incomplete, and
/// proposals wait for it a little (see [`wait_ready`]).
pub fn spawn_build(shared: Arc<Shared>, client: tower_lsp_server::Client) {
    let Some(root) = shared.workspace.get().map(|w| w.root().to_path_buf()) else {
        shared.index_ready.send_replace(true);
        return;
    };
    if let Some(mut gate) = shared.gate() {
        gate.index.set_incomplete(true);
    }
    let built = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let files = source_files(&root);
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let store = workspace_index::store_path(&root);
        let (index, stats) = build_warm(&files, Some(&store), threads);
        if let Some(mut gate) = shared.gate() {
            // Files autogate wrote while the build ran were indexed by `update`; keep those.
            let mut index = index;
            index.extend(std::mem::take(&mut gate.index));
            index.set_incomplete(false);
            gate.index = index;
        }
        shared.index_ready.send_replace(true);
        let ms = start.elapsed().as_millis() as u64;
        tracing::info!(
            files = stats.files,
            parsed = stats.parsed,
            reused = stats.trusted + stats.rehashed,
            ms,
            "workspace index built"
        );
        format!(
            "autogate: workspace index built: {} files in {ms} ms ({} parsed, {} kept from the last run)",
            stats.files,
            stats.parsed,
            stats.trusted + stats.rehashed
        )
    });
    tokio::spawn(async move {
        if let Ok(message) = built.await {
            client
                .log_message(tower_lsp_server::ls_types::MessageType::INFO, message)
                .await;
        }
    });
}

/// How long a proposal waits for the first index build before it is analyzed without it (its
/// blast radius then says the index is incomplete, and assumes the worst).
pub const READY_WAIT: Duration = Duration::from_secs(2);

/// Waits until the first index build is installed, or `limit` passed.
pub async fn wait_ready(shared: &Shared, limit: Duration) {
    let mut ready = shared.index_ready.subscribe();
    let _ = tokio::time::timeout(limit, ready.wait_for(|r| *r)).await;
}

/// Re-indexes files autogate wrote (`Some` text) or removed (`None`).
pub fn update(shared: &Shared, files: &[(String, Option<String>)]) {
    // The trees of what was written are most often in the parse cache (the proposal's "after"
    // side): the entries are computed from them, outside the gate's lock.
    let trees: Vec<Option<tree_sitter::Tree>> = match shared.gate() {
        Some(gate) => files
            .iter()
            .map(|(path, text)| {
                text.as_deref()
                    .and_then(|text| gate.parses.tree_of(path, text))
            })
            .collect(),
        None => return,
    };
    let entries: Vec<Option<FileEntry>> = files
        .iter()
        .zip(trees)
        .map(|((path, text), tree)| match text {
            Some(text) if Language::from_path(path).is_some() => {
                FileEntry::with_tree(path, text, tree)
            }
            _ => None,
        })
        .collect();
    if let Some(mut gate) = shared.gate() {
        for ((path, _), entry) in files.iter().zip(entries) {
            match entry {
                Some(entry) => gate.index.insert(path, entry),
                None => gate.index.remove_file(path),
            }
        }
    }
}
