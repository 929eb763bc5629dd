//! The policy in the editor: loading, reloading, editor overrides, and errors as diagnostics.
//!
//! Architecture invariant (fail closed): a broken policy file never loosens anything. The last
//! valid policy stays in force; if there never was one, every change asks.

use autogate_analysis::text::{char_index, position};
use autogate_analysis::{Encoding, TextDocument};
use autogate_policy::{EditorOverrides, Policy};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticSeverity, MessageType, Position, Range, Uri,
};

use super::Shared;
use crate::config::{self, Loaded, POLICY_FILE};

/// What a (re)load has to tell the person.
#[derive(Debug, Default)]
pub struct Report {
    pub diagnostics: Option<(Uri, Vec<Diagnostic>)>,
    pub messages: Vec<(MessageType, String)>,
}

/// Reads the policy file, applies the editor's overrides and installs the result in the gate.
pub fn reload(shared: &Shared) -> Report {
    let mut report = Report::default();
    let Some(workspace) = shared.workspace.get() else {
        return report;
    };
    let root = workspace.root();
    let uri = Uri::from_file_path(root.join(POLICY_FILE));
    let encoding = shared.encoding();
    let base = match config::read_policy(root) {
        Loaded::Missing => {
            *shared
                .last_valid_policy
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(Policy::default());
            report.diagnostics = uri.map(|u| (u, Vec::new()));
            Policy::default()
        }
        Loaded::Valid(policy) => {
            *shared
                .last_valid_policy
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some((*policy).clone());
            report.diagnostics = uri.map(|u| (u, Vec::new()));
            *policy
        }
        Loaded::Invalid { text, errors } => {
            let last = shared
                .last_valid_policy
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let consequence = if last.is_some() {
                "the last valid policy stays in force"
            } else {
                "every change asks until it is fixed"
            };
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            report.messages.push((
                MessageType::ERROR,
                format!(
                    "autogate: {POLICY_FILE} has {} error(s); {consequence}. {first}",
                    errors.len()
                ),
            ));
            let doc = TextDocument::new(&text, 0, "toml");
            let diagnostics = errors
                .iter()
                .map(|e| {
                    let at = char_index(
                        &doc.rope,
                        (
                            e.line.saturating_sub(1) as u32,
                            e.col.saturating_sub(1) as u32,
                        ),
                        Encoding::Utf32,
                    )
                    .unwrap_or(0);
                    let (line, character) = position(&doc.rope, at, encoding);
                    let start = Position { line, character };
                    Diagnostic {
                        range: Range {
                            start,
                            end: Position {
                                line,
                                character: character + 1,
                            },
                        },
                        severity: Some(DiagnosticSeverity::ERROR),
                        source: Some("autogate".to_owned()),
                        message: if e.hint.is_empty() {
                            e.message.clone()
                        } else {
                            format!("{} (hint: {})", e.message, e.hint)
                        },
                        ..Default::default()
                    }
                })
                .collect();
            report.diagnostics = uri.map(|u| (u, diagnostics));
            last.unwrap_or_else(Policy::fail_closed)
        }
    };
    let overrides = shared
        .overrides
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let (policy, refusals) = base.tighten(&overrides);
    for refusal in refusals {
        report
            .messages
            .push((MessageType::WARNING, format!("autogate: {refusal}")));
    }
    let environment = config::environment(&policy, root);
    tracing::info!(environment = %environment.name, reason = %environment.reason, "policy loaded");
    if let Some(mut gate) = shared.gate() {
        gate.set_policy(policy, environment);
    }
    report
}

/// Sends a reload's diagnostics and messages.
pub async fn publish(client: &Client, report: Report) {
    if let Some((uri, diagnostics)) = report.diagnostics {
        client.publish_diagnostics(uri, diagnostics, None).await;
    }
    for (kind, message) in report.messages {
        client.show_message(kind, message).await;
    }
}

/// Editor overrides from `initializationOptions` or the `autogate` settings section.
pub fn overrides_from(value: &serde_json::Value) -> Result<EditorOverrides, String> {
    if value.is_null() {
        return Ok(EditorOverrides::default());
    }
    serde_json::from_value(value.clone())
        .map_err(|e| format!("autogate: editor settings refused: {e}"))
}

/// Whether a URI names the policy file at the workspace root.
pub fn is_policy_file(shared: &Shared, uri: &Uri) -> bool {
    let Some(workspace) = shared.workspace.get() else {
        return false;
    };
    matches!(
        super::from_proto::resolve_uri(workspace, uri),
        Ok(crate::workspace::Resolved::Inside { relative, .. }) if relative == POLICY_FILE
    )
}
