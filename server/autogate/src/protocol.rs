//! The custom protocol in one place: `autogate.*` command names, their arguments and results.
//!
//! Mirrored in `docs/protocol.md`, `editors/vscode` and `editors/neovim`. Change them together.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const PROPOSE_EDIT: &str = "autogate.proposeEdit";
pub const APPLY_PATCH: &str = "autogate.applyPatch";
pub const RUN: &str = "autogate.run";
pub const PENDING: &str = "autogate.pending";
pub const APPROVE: &str = "autogate.approve";
pub const APPROVE_ALWAYS: &str = "autogate.approveAlways";
pub const REJECT: &str = "autogate.reject";
pub const EXPLAIN: &str = "autogate.explain";
pub const DIFF: &str = "autogate.diff";
pub const ROLLBACK: &str = "autogate.rollback";
pub const SET_MODE: &str = "autogate.setMode";
pub const APPROVALS: &str = "autogate.approvals";
pub const REVOKE_APPROVAL: &str = "autogate.revokeApproval";

/// Every command, as advertised in `executeCommandProvider`.
pub const COMMANDS: &[&str] = &[
    PROPOSE_EDIT,
    APPLY_PATCH,
    RUN,
    PENDING,
    APPROVE,
    APPROVE_ALWAYS,
    REJECT,
    EXPLAIN,
    DIFF,
    ROLLBACK,
    SET_MODE,
    APPROVALS,
    REVOKE_APPROVAL,
];

/// The client capability (`experimental.autogate.review`) of clients with their own review UI.
pub const REVIEW_CAPABILITY: &str = "review";

/// The client capability (`experimental.autogate.saveDocuments`) of clients that save on request.
pub const SAVE_DOCUMENTS_CAPABILITY: &str = "saveDocuments";

/// Request asking such a client to save documents (`{ "uris": [...] }`) before verification.
pub const SAVE_DOCUMENTS_REQUEST: &str = "autogate/saveDocuments";

/// Notification sent to review-capable clients whenever the pending set changes.
pub const PENDING_NOTIFICATION: &str = "autogate/pendingChanged";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeEditArgs {
    pub edit: Value,
    pub intent: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyPatchArgs {
    pub patch: String,
    pub intent: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdArgs {
    pub id: String,
    /// Accepted and ignored by everything but `autogate.approve` (see [`ApproveArgs`]), so a
    /// client may send the same object to approve, reject or explain.
    pub hash: Option<String>,
}

/// `autogate.approve`: the change and the content hash the person was shown (in the pending
/// Summary, the diagnostic, the prompt or the diff). Required: an approval is bound to the
/// content it was asked for, and one without the hash is refused, never taken as "whatever the
/// change is now". Optional here only so that its absence gets an error that says so.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveArgs {
    pub id: String,
    pub hash: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackArgs {
    pub checkpoint: Option<String>,
    /// Overwrite files the person changed since autogate wrote them (default: keep theirs).
    pub overwrite: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetModeArgs {
    pub mode: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyArgs {}

/// `autogate.revokeApproval`: the standing approval to revoke, e.g. `S1`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeApprovalArgs {
    pub id: String,
}

/// One standing approval as `autogate.approvals` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalEntry {
    /// `S1`, `S2`...
    pub id: String,
    /// What it covers, in words ("body_only changes up to medium in src/parser/** (development)").
    pub scope: String,
    /// Who made it.
    pub by: String,
    /// When it was made (RFC 3339, UTC).
    pub made: String,
    /// When it stops covering anything (RFC 3339, UTC).
    pub expires: String,
    /// The change it was made from.
    pub change: String,
    /// Whether the gate honours it now: `state` is `active`.
    pub active: bool,
    /// `active`, `expired`, or `ignored` (the audit trail does not record it as made).
    pub state: String,
}

/// `autogate.approvals` and `autogate.revokeApproval`: every standing approval of the clone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalList {
    pub approvals: Vec<ApprovalEntry>,
}

/// Where a change stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Applied,
    Pending,
    Approved,
    Rejected,
    Denied,
    Failed,
    RolledBack,
    /// Plan mode: reported with its decision, never applied.
    Planned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Denied => "denied",
            Status::Failed => "failed",
            Status::RolledBack => "rolled_back",
            Status::Planned => "planned",
        }
    }
}

/// One change in a Summary (docs/protocol.md), exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    pub id: String,
    pub files: Vec<String>,
    pub level: autogate_analysis::Level,
    pub decision: autogate_policy::Decision,
    pub status: Status,
    pub reasons: Vec<String>,
    /// The content hash an approval of this change must carry.
    pub hash: String,
}

/// The result of most commands (docs/protocol.md), exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub checkpoint: Option<String>,
    pub changes: Vec<ChangeSummary>,
}

impl Summary {
    /// One line for a person: "autogate: 1 applied, 1 waiting for approval, 1 denied".
    pub fn headline(&self) -> String {
        let mut counts: Vec<(Status, usize)> = Vec::new();
        for change in &self.changes {
            match counts.iter_mut().find(|(s, _)| *s == change.status) {
                Some((_, n)) => *n += 1,
                None => counts.push((change.status, 1)),
            }
        }
        if counts.is_empty() {
            return "autogate: no changes".to_owned();
        }
        let parts: Vec<String> = counts
            .into_iter()
            .map(|(status, n)| match status {
                Status::Pending => format!("{n} waiting for approval"),
                other => format!("{n} {}", other.as_str().replace('_', " ")),
            })
            .collect();
        format!("autogate: {}", parts.join(", "))
    }
}

/// Parses the single argument object of a command, with a message a person can act on.
pub fn parse_args<T: serde::de::DeserializeOwned>(
    command: &str,
    arguments: &[Value],
) -> Result<T, String> {
    let value = match arguments {
        [] => Value::Object(Default::default()),
        [one] => one.clone(),
        more => {
            return Err(format!(
                "{command} takes one argument object, got {} arguments",
                more.len()
            ));
        }
    };
    if !value.is_object() {
        return Err(format!(
            "{command} takes one argument object, got {}",
            kind_of(&value)
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("{command}: invalid arguments: {e}"))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn args_errors_say_what_is_wrong() {
        let err = parse_args::<IdArgs>(APPROVE, &[json!({})]).unwrap_err();
        assert!(err.contains("missing field `id`"), "{err}");
        let err = parse_args::<IdArgs>(APPROVE, &[json!("3")]).unwrap_err();
        assert_eq!(
            err,
            "autogate.approve takes one argument object, got a string"
        );
        let err = parse_args::<IdArgs>(APPROVE, &[json!({"id": "1", "idd": 2})]).unwrap_err();
        assert!(err.contains("unknown field `idd`"), "{err}");
    }

    #[test]
    fn headline_counts_statuses() {
        let change = |status| ChangeSummary {
            id: "1".into(),
            files: vec![],
            level: autogate_analysis::Level::Low,
            decision: autogate_policy::Decision::Auto,
            status,
            reasons: vec![],
            hash: String::new(),
        };
        let summary = Summary {
            checkpoint: None,
            changes: vec![
                change(Status::Applied),
                change(Status::Pending),
                change(Status::Applied),
            ],
        };
        assert_eq!(
            summary.headline(),
            "autogate: 2 applied, 1 waiting for approval"
        );
    }
}
