//! Conversions from LSP data to the gate's plain data: a WorkspaceEdit or a patch to a Proposal.
//!
//! Every path goes through [`Workspace::resolve`]. Files are read from the open document when the
//! editor has it, else from disk. Nothing here writes.

use std::collections::BTreeMap;

use autogate_analysis::{Encoding, Proposal, TextDocument};
use tower_lsp_server::ls_types::{
    DocumentChangeOperation, DocumentChanges, ResourceOp, TextDocumentEdit, TextEdit, Uri,
    WorkspaceEdit,
};

use super::documents::Documents;
use crate::gate::Base;
use crate::patch;
use crate::workspace::{Resolved, Workspace};

/// A proposal ready for the gate, plus the paths refused before analysis.
#[derive(Debug, Default)]
pub struct Intake {
    pub proposal: Proposal,
    pub bases: BTreeMap<String, Base>,
    /// Paths outside the workspace or inside `.git/`: (display, why).
    pub forbidden: Vec<(String, &'static str)>,
    /// Files whose edit was computed on another version: (path, reason).
    pub stale: Vec<(String, String)>,
}

/// Malformed input: the whole proposal is refused and nothing is written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct IntakeError(pub String);

use crate::door::Virtual as VirtualFile;

/// A view of the workspace with the proposal's operations applied in order.
struct View<'a> {
    workspace: &'a Workspace,
    docs: &'a Documents,
    files: BTreeMap<String, VirtualFile>,
    bases: BTreeMap<String, Base>,
    renames: Vec<(String, String)>,
}

impl<'a> View<'a> {
    fn new(workspace: &'a Workspace, docs: &'a Documents) -> Self {
        Self {
            workspace,
            docs,
            files: BTreeMap::new(),
            bases: BTreeMap::new(),
            renames: Vec::new(),
        }
    }

    fn file(&mut self, path: &str) -> Result<&mut VirtualFile, IntakeError> {
        if !self.files.contains_key(path) {
            let (original, base) = match self.docs.get(path) {
                Some(open) => (
                    Some(open.doc.text()),
                    Base::Open {
                        version: open.doc.version,
                    },
                ),
                None => (
                    self.workspace
                        .read(path)
                        .map_err(|e| IntakeError(format!("{e:#}")))?,
                    Base::Disk,
                ),
            };
            self.bases.insert(path.to_owned(), base);
            self.files.insert(
                path.to_owned(),
                VirtualFile {
                    current: original.clone(),
                    original,
                },
            );
        }
        self.files
            .get_mut(path)
            .ok_or_else(|| IntakeError(format!("{path}: internal error")))
    }

    fn finish(
        self,
        forbidden: Vec<(String, &'static str)>,
        stale: Vec<(String, String)>,
    ) -> Intake {
        let changes = crate::door::fold(self.files, self.renames);
        Intake {
            proposal: Proposal { files: changes },
            bases: self.bases,
            forbidden,
            stale,
        }
    }
}

/// Resolves a URI to a workspace path, or says why it is forbidden. The one place that turns
/// a client's URI into a path: non-file URIs are refused, and a file URI naming a host other
/// than this machine (`file://server/share/x`, a UNC path on Windows) is forbidden, whatever
/// its path: only an empty host or `localhost`, without user or port, is local.
pub fn resolve_uri(workspace: &Workspace, uri: &Uri) -> Result<Resolved, IntakeError> {
    if let Some(authority) = uri.authority() {
        let host = authority.host();
        let local = (host.is_empty() || host.eq_ignore_ascii_case("localhost"))
            && authority.userinfo().is_none()
            && authority.port().is_none();
        if !local && uri.as_str().starts_with("file:") {
            return Ok(Resolved::Forbidden {
                display: uri.as_str().to_owned(),
                why: "file URI names another host (a network share), not this workspace",
            });
        }
    }
    let path = Some(uri)
        .filter(|u| u.as_str().starts_with("file:"))
        .and_then(|u| u.to_file_path())
        .ok_or_else(|| {
            IntakeError(format!(
                "{} is not a file URI; autogate edits files in the workspace",
                uri.as_str()
            ))
        })?;
    Ok(workspace.resolve(&path))
}

/// Converts a WorkspaceEdit (as JSON) into an intake.
pub fn workspace_edit(
    workspace: &Workspace,
    docs: &Documents,
    encoding: Encoding,
    edit: serde_json::Value,
) -> Result<Intake, IntakeError> {
    let edit: WorkspaceEdit = serde_json::from_value(edit)
        .map_err(|e| IntakeError(format!("`edit` is not a valid WorkspaceEdit: {e}")))?;
    if edit.changes.is_none() && edit.document_changes.is_none() {
        return Err(IntakeError(
            "`edit` has neither `changes` nor `documentChanges`".to_owned(),
        ));
    }
    let mut ops: Vec<DocumentChangeOperation> = Vec::new();
    if let Some(changes) = edit.changes {
        let mut changes: Vec<(Uri, Vec<TextEdit>)> = changes.into_iter().collect();
        changes.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        for (uri, edits) in changes {
            ops.push(DocumentChangeOperation::Edit(TextDocumentEdit {
                text_document:
                    tower_lsp_server::ls_types::OptionalVersionedTextDocumentIdentifier {
                        uri,
                        version: None,
                    },
                edits: edits
                    .into_iter()
                    .map(tower_lsp_server::ls_types::OneOf::Left)
                    .collect(),
            }));
        }
    }
    match edit.document_changes {
        Some(DocumentChanges::Edits(edits)) => {
            ops.extend(edits.into_iter().map(DocumentChangeOperation::Edit))
        }
        Some(DocumentChanges::Operations(more)) => ops.extend(more),
        None => {}
    }

    let mut view = View::new(workspace, docs);
    let mut forbidden = Vec::new();
    let mut stale = Vec::new();
    let inside = |uri: &Uri,
                  forbidden: &mut Vec<(String, &'static str)>|
     -> Result<Option<String>, IntakeError> {
        match resolve_uri(workspace, uri)? {
            Resolved::Inside { relative, .. } => Ok(Some(relative)),
            Resolved::Forbidden { display, why } => {
                forbidden.push((display, why));
                Ok(None)
            }
        }
    };
    for op in ops {
        match op {
            DocumentChangeOperation::Edit(edit) => {
                let Some(path) = inside(&edit.text_document.uri, &mut forbidden)? else {
                    continue;
                };
                if let (Some(wanted), Some(open)) = (edit.text_document.version, docs.get(&path))
                    && wanted != open.doc.version
                {
                    stale.push((
                            path.clone(),
                            format!(
                                "{path}: the edit was computed on version {wanted}, but the document is at version {}; nothing was applied — propose it again",
                                open.doc.version
                            ),
                        ));
                    continue;
                }
                let file = view.file(&path)?;
                let Some(text) = file.current.as_deref() else {
                    return Err(IntakeError(format!(
                        "{path}: cannot edit a file that does not exist"
                    )));
                };
                let edits: Vec<TextEdit> = edit
                    .edits
                    .into_iter()
                    .map(|e| match e {
                        tower_lsp_server::ls_types::OneOf::Left(e) => e,
                        tower_lsp_server::ls_types::OneOf::Right(annotated) => annotated.text_edit,
                    })
                    .collect();
                file.current = Some(apply_text_edits(&path, text, &edits, encoding)?);
            }
            DocumentChangeOperation::Op(ResourceOp::Create(create)) => {
                let Some(path) = inside(&create.uri, &mut forbidden)? else {
                    continue;
                };
                let overwrite = create.options.as_ref().and_then(|o| o.overwrite) == Some(true);
                let ignore = create.options.as_ref().and_then(|o| o.ignore_if_exists) == Some(true);
                let file = view.file(&path)?;
                if file.current.is_some() {
                    if overwrite {
                        file.current = Some(String::new());
                    } else if !ignore {
                        return Err(IntakeError(format!(
                            "{path}: cannot create a file that already exists"
                        )));
                    }
                } else {
                    file.current = Some(String::new());
                }
            }
            DocumentChangeOperation::Op(ResourceOp::Rename(rename)) => {
                let Some(old) = inside(&rename.old_uri, &mut forbidden)? else {
                    continue;
                };
                let Some(new) = inside(&rename.new_uri, &mut forbidden)? else {
                    continue;
                };
                let overwrite = rename.options.as_ref().and_then(|o| o.overwrite) == Some(true);
                let ignore = rename.options.as_ref().and_then(|o| o.ignore_if_exists) == Some(true);
                let content = view.file(&old)?.current.clone();
                let Some(content) = content else {
                    return Err(IntakeError(format!(
                        "{old}: cannot rename a file that does not exist"
                    )));
                };
                let target = view.file(&new)?;
                if target.current.is_some() && !overwrite {
                    if ignore {
                        continue;
                    }
                    return Err(IntakeError(format!(
                        "{new}: cannot rename onto a file that already exists"
                    )));
                }
                target.current = Some(content);
                view.file(&old)?.current = None;
                view.renames.push((old, new));
            }
            DocumentChangeOperation::Op(ResourceOp::Delete(delete)) => {
                let Some(path) = inside(&delete.uri, &mut forbidden)? else {
                    continue;
                };
                let ignore =
                    delete.options.as_ref().and_then(|o| o.ignore_if_not_exists) == Some(true);
                let file = view.file(&path)?;
                if file.current.is_none() {
                    if ignore {
                        continue;
                    }
                    return Err(IntakeError(format!(
                        "{path}: cannot delete a file that does not exist"
                    )));
                }
                file.current = None;
            }
        }
    }
    Ok(view.finish(forbidden, stale))
}

/// Converts a unified diff into an intake. A hunk that does not apply refuses the whole patch.
pub fn unified_patch(
    workspace: &Workspace,
    docs: &Documents,
    text: &str,
) -> Result<Intake, IntakeError> {
    let files = patch::parse(text).map_err(|e| IntakeError(e.0))?;
    let mut view = View::new(workspace, docs);
    let mut forbidden = Vec::new();
    let resolve = |p: &str, forbidden: &mut Vec<(String, &'static str)>| {
        if patch::is_absolute(p) {
            // Never re-rooted: `+++ /etc/x` is not `etc/x` in the workspace.
            forbidden.push((
                p.to_owned(),
                "absolute path in a patch (patch paths are relative to the workspace root)",
            ));
            return None;
        }
        match workspace.resolve(std::path::Path::new(p)) {
            Resolved::Inside { relative, .. } => Some(relative),
            Resolved::Forbidden { display, why } => {
                forbidden.push((display, why));
                None
            }
        }
    };
    for file in files {
        let old = match &file.old_path {
            Some(p) => match resolve(p, &mut forbidden) {
                Some(r) => Some(r),
                None => continue,
            },
            None => None,
        };
        let new = match &file.new_path {
            Some(p) => match resolve(p, &mut forbidden) {
                Some(r) => Some(r),
                None => continue,
            },
            None => None,
        };
        let source = old.clone().or(new.clone()).unwrap_or_default();
        let current = view.file(&source)?.current.clone();
        let after = file
            .apply(current.as_deref())
            .map_err(|e| IntakeError(e.0))?;
        match (old, new) {
            (Some(old), Some(new)) if old != new => {
                if view.file(&new)?.current.is_some() {
                    return Err(IntakeError(format!(
                        "{new}: the patch renames onto a file that already exists"
                    )));
                }
                view.file(&new)?.current = after;
                view.file(&old)?.current = None;
                view.renames.push((old, new));
            }
            (_, Some(new)) => view.file(&new)?.current = after,
            (Some(old), None) => view.file(&old)?.current = None,
            (None, None) => {}
        }
    }
    Ok(view.finish(forbidden, Vec::new()))
}

/// Applies LSP text edits (all relative to the original text, non-overlapping) to `text`.
pub fn apply_text_edits(
    path: &str,
    text: &str,
    edits: &[TextEdit],
    encoding: Encoding,
) -> Result<String, IntakeError> {
    let mut doc = TextDocument::new(text, 0, "");
    let mut ranges = Vec::with_capacity(edits.len());
    for (i, edit) in edits.iter().enumerate() {
        let to_index = |p: tower_lsp_server::ls_types::Position| {
            autogate_analysis::text::char_index(&doc.rope, (p.line, p.character), encoding)
                .map_err(|e| IntakeError(format!("{path}: edit {}: {e}", i + 1)))
        };
        let (start, end) = (to_index(edit.range.start)?, to_index(edit.range.end)?);
        if end < start {
            return Err(IntakeError(format!(
                "{path}: edit {}: range end is before its start",
                i + 1
            )));
        }
        ranges.push((start, end, i));
    }
    ranges.sort_by_key(|&(start, end, i)| (start, end, i));
    for pair in ranges.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(IntakeError(format!(
                "{path}: edits {} and {} overlap",
                pair[0].2 + 1,
                pair[1].2 + 1
            )));
        }
    }
    for &(start, end, i) in ranges.iter().rev() {
        doc.rope.remove(start..end);
        doc.rope.insert(start, &edits[i].new_text);
    }
    Ok(doc.text())
}
