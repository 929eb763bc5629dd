//! The custom protocol in one place: `autogate.*` command names, their arguments and results.
//!
//! [`schema`] writes it as a JSON Schema document, checked in as `docs/protocol.schema.json`
//! (a test fails when it is stale); the VS Code extension's and the Neovim plugin's own tests
//! check their mirrors against that file. `docs/protocol.md` says it in words.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_lsp_server::ls_types::{Range, Uri};

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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeEditArgs {
    pub edit: Value,
    pub intent: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyPatchArgs {
    pub patch: String,
    pub intent: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
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
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveArgs {
    pub id: String,
    pub hash: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackArgs {
    pub checkpoint: Option<String>,
    /// Overwrite files the person changed since autogate wrote them (default: keep theirs).
    pub overwrite: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetModeArgs {
    pub mode: String,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyArgs {}

/// `autogate.run`: a task (`tidy`, `document`, `rename NEW`, or an instruction for the model),
/// on a document and a range when given.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunArgs {
    pub task: String,
    #[schemars(with = "Option<String>")]
    pub uri: Option<Uri>,
    #[schemars(with = "Option<RangeShape>")]
    pub range: Option<Range>,
}

/// An LSP `Range`, as the schema shows it.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct RangeShape {
    start: PositionShape,
    end: PositionShape,
}

/// An LSP `Position` (in the negotiated encoding).
#[derive(JsonSchema)]
#[allow(dead_code)]
struct PositionShape {
    line: u32,
    character: u32,
}

/// `autogate.setMode`'s result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ModeResult {
    pub mode: String,
}

/// `autogate.run`'s result: the task's progress token.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RunResult {
    pub task_id: String,
}

/// `autogate.revokeApproval`: the standing approval to revoke, e.g. `S1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeApprovalArgs {
    pub id: String,
}

/// One standing approval as `autogate.approvals` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApprovalList {
    pub approvals: Vec<ApprovalEntry>,
}

/// Where a change stands (`planned`: in plan mode, reported with its decision, never applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Applied,
    Pending,
    Approved,
    Rejected,
    Denied,
    Failed,
    RolledBack,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeSummary {
    pub id: String,
    pub files: Vec<String>,
    #[schemars(schema_with = "level_schema")]
    pub level: autogate_analysis::Level,
    #[schemars(schema_with = "decision_schema")]
    pub decision: autogate_policy::Decision,
    pub status: Status,
    pub reasons: Vec<String>,
    /// The content hash an approval of this change must carry.
    pub hash: String,
}

/// The result of most commands (docs/protocol.md), exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

fn enum_schema(names: impl IntoIterator<Item = &'static str>) -> schemars::Schema {
    let names: Vec<&str> = names.into_iter().collect();
    schemars::json_schema!({ "type": "string", "enum": names })
}

fn level_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    enum_schema(autogate_analysis::Level::ALL.map(autogate_analysis::Level::as_str))
}

fn decision_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    enum_schema(autogate_policy::Decision::ALL.map(autogate_policy::Decision::as_str))
}

/// The protocol as one JSON Schema document: every command with the schema of its argument
/// object and of its result, the notification, the server's request and the client
/// capabilities. What is checked in as `docs/protocol.schema.json`.
pub fn schema() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let summary = generator.subschema_for::<Summary>().to_value();
    let approvals = generator.subschema_for::<ApprovalList>().to_value();
    let args = [
        (PROPOSE_EDIT, generator.subschema_for::<ProposeEditArgs>()),
        (APPLY_PATCH, generator.subschema_for::<ApplyPatchArgs>()),
        (RUN, generator.subschema_for::<RunArgs>()),
        (PENDING, generator.subschema_for::<EmptyArgs>()),
        (APPROVE, generator.subschema_for::<ApproveArgs>()),
        (APPROVE_ALWAYS, generator.subschema_for::<ApproveArgs>()),
        (REJECT, generator.subschema_for::<IdArgs>()),
        (EXPLAIN, generator.subschema_for::<IdArgs>()),
        (DIFF, generator.subschema_for::<IdArgs>()),
        (ROLLBACK, generator.subschema_for::<RollbackArgs>()),
        (SET_MODE, generator.subschema_for::<SetModeArgs>()),
        (APPROVALS, generator.subschema_for::<EmptyArgs>()),
        (
            REVOKE_APPROVAL,
            generator.subschema_for::<RevokeApprovalArgs>(),
        ),
    ];
    let run = generator.subschema_for::<RunResult>().to_value();
    let mode = generator.subschema_for::<ModeResult>().to_value();
    let untyped = |what: &str| json!({ "description": what });
    let mut commands = serde_json::Map::new();
    for (name, schema) in args {
        let result = match name {
            RUN => run.clone(),
            SET_MODE => mode.clone(),
            APPROVALS | REVOKE_APPROVAL => approvals.clone(),
            EXPLAIN => untyped("the change's record: docs/protocol.md"),
            DIFF => untyped("{ id, diff, shown }: docs/protocol.md"),
            _ => summary.clone(),
        };
        commands.insert(
            name.to_owned(),
            json!({ "arguments": schema.to_value(), "result": result }),
        );
    }
    debug_assert_eq!(commands.len(), COMMANDS.len());
    let defs = generator.take_definitions(true);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "autogate protocol",
        "description": "The autogate.* commands of workspace/executeCommand (one argument object each), the notification and request autogate adds, and the client capabilities it reads under experimental.autogate.",
        "commands": commands,
        "notifications": { PENDING_NOTIFICATION: { "params": summary } },
        "requests": {
            SAVE_DOCUMENTS_REQUEST: {
                "params": {
                    "type": "object",
                    "properties": { "uris": { "type": "array", "items": { "type": "string" } } },
                    "required": ["uris"]
                }
            }
        },
        "clientCapabilities": [REVIEW_CAPABILITY, SAVE_DOCUMENTS_CAPABILITY],
        "$defs": defs,
    })
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

    /// `docs/protocol.schema.json` is what [`schema`] writes; `AUTOGATE_BLESS=1` rewrites it.
    #[test]
    fn the_checked_in_schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/protocol.schema.json");
        let fresh = format!("{}\n", serde_json::to_string_pretty(&schema()).unwrap());
        if std::env::var_os("AUTOGATE_BLESS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == fresh,
            "{} is stale: run `AUTOGATE_BLESS=1 cargo test -p autogate --lib protocol` and commit it",
            path.display()
        );
    }

    /// The schema says what the server accepts: every command's arguments, and the enums.
    #[test]
    fn the_schema_names_every_command_and_status() {
        let schema = schema();
        let commands = schema["commands"].as_object().unwrap();
        let mut names: Vec<&str> = commands.keys().map(String::as_str).collect();
        let mut expected = COMMANDS.to_vec();
        names.sort_unstable();
        expected.sort_unstable();
        assert_eq!(names, expected);
        let statuses = &schema["$defs"]["Status"];
        let text = statuses.to_string();
        for status in [
            Status::Applied,
            Status::Pending,
            Status::Approved,
            Status::Rejected,
            Status::Denied,
            Status::Failed,
            Status::RolledBack,
            Status::Planned,
        ] {
            assert!(text.contains(&format!("\"{}\"", status.as_str())), "{text}");
        }
        let change = &schema["$defs"]["ChangeSummary"];
        assert_eq!(
            change["properties"]["level"]["enum"],
            json!(["low", "medium", "high", "critical"])
        );
        assert_eq!(
            change["properties"]["decision"]["enum"],
            json!(["auto", "ask", "deny"])
        );
        assert_eq!(
            commands[APPROVE]["arguments"]["$ref"],
            json!("#/$defs/ApproveArgs")
        );
        let approve = &schema["$defs"]["ApproveArgs"];
        assert_eq!(approve["additionalProperties"], json!(false), "{approve:#}");
        assert!(
            approve["required"].to_string().contains("id"),
            "{approve:#}"
        );
        // What the server refuses, the schema refuses too.
        let validator = jsonschema::validator_for(&json!({
            "$defs": schema["$defs"].clone(),
            "allOf": [commands[APPROVE]["arguments"].clone()],
        }))
        .unwrap();
        assert!(validator.is_valid(&json!({ "id": "1", "hash": "ab" })));
        assert!(!validator.is_valid(&json!({ "id": "1", "idd": 2 })));
        assert!(parse_args::<ApproveArgs>(APPROVE, &[json!({ "id": "1", "idd": 2 })]).is_err());
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
