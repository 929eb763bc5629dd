//! Open documents, keyed by workspace-relative path, updated in wire order.
//!
//! `didOpen`, `didChange` and `didClose` are applied synchronously by [`super::ordered`] as the
//! messages are read, never in a handler, because tower-lsp-server runs handlers concurrently.

use std::collections::HashMap;

use autogate_analysis::{Encoding, TextDocument};
use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, Uri,
};

use crate::workspace::{Resolved, Workspace};

/// One open document and the URI the client calls it by.
#[derive(Clone, Debug)]
pub struct OpenDocument {
    pub uri: Uri,
    pub doc: TextDocument,
}

/// Every open document inside the workspace.
#[derive(Debug, Default)]
pub struct Documents {
    by_path: HashMap<String, OpenDocument>,
    path_of_uri: HashMap<String, String>,
}

impl Documents {
    pub fn get(&self, path: &str) -> Option<&OpenDocument> {
        self.by_path.get(path)
    }

    pub fn path_of(&self, uri: &Uri) -> Option<&str> {
        self.path_of_uri.get(uri.as_str()).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    pub fn open(&mut self, workspace: &Workspace, params: DidOpenTextDocumentParams) {
        let item = params.text_document;
        let Some(path) = item.uri.to_file_path() else {
            tracing::debug!(uri = item.uri.as_str(), "ignoring a non-file document");
            return;
        };
        let Resolved::Inside { relative, .. } = workspace.resolve(&path) else {
            tracing::debug!(
                uri = item.uri.as_str(),
                "ignoring a document outside the workspace"
            );
            return;
        };
        self.path_of_uri
            .insert(item.uri.as_str().to_owned(), relative.clone());
        self.by_path.insert(
            relative,
            OpenDocument {
                doc: TextDocument::new(&item.text, item.version, item.language_id),
                uri: item.uri,
            },
        );
    }

    /// Applies content changes in order. A change that does not fit the document is logged and
    /// the document is dropped, so that nothing is ever computed on a text we know is wrong.
    pub fn change(&mut self, params: DidChangeTextDocumentParams, encoding: Encoding) {
        let Some(path) = self
            .path_of_uri
            .get(params.text_document.uri.as_str())
            .cloned()
        else {
            return;
        };
        let Some(open) = self.by_path.get_mut(&path) else {
            return;
        };
        for change in params.content_changes {
            let range = change.range.map(|r| {
                (
                    (r.start.line, r.start.character),
                    (r.end.line, r.end.character),
                )
            });
            if let Err(e) = open.doc.apply_change(range, &change.text, encoding) {
                tracing::error!(%path, "didChange does not fit the document ({e}); forgetting it until it is reopened");
                self.by_path.remove(&path);
                self.path_of_uri.remove(params.text_document.uri.as_str());
                return;
            }
        }
        open.doc.version = params.text_document.version;
    }

    pub fn close(&mut self, params: DidCloseTextDocumentParams) {
        if let Some(path) = self.path_of_uri.remove(params.text_document.uri.as_str()) {
            self.by_path.remove(&path);
        }
    }
}
