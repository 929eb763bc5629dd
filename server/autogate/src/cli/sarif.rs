//! SARIF 2.1.0 for `autogate assess --format sarif`: one result per file of each change, for
//! GitHub code scanning (`github/codeql-action/upload-sarif`) and other SARIF viewers.
//!
//! The input is plain data ([`SarifChange`]), so this module knows nothing about the gate.

use autogate_analysis::Level;
use serde_json::{Value, json};

/// The schema a SARIF log names in `$schema` (the OASIS 2.1.0 errata 01 schema).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// Where the tool is described (`tool.driver.informationUri`), when the package names no
/// repository.
pub const DEFAULT_INFORMATION_URI: &str = "https://example.invalid/autogate";
/// The base every artifact URI is relative to: the checkout's root.
pub const SRCROOT: &str = "%SRCROOT%";

/// One assessed change, as the CLI has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SarifChange {
    /// The change's id in this assessment (e.g. `"3"`).
    pub id: String,
    /// Workspace-relative, `/`-separated paths of the files the change touches.
    pub files: Vec<String>,
    /// The change's level.
    pub level: Level,
    /// The policy's decision: `auto`, `ask` or `deny`.
    pub decision: String,
    /// The human reasons for the level.
    pub reasons: Vec<String>,
    /// The first changed line (1-based) in the first of `files`, when known. Other files, and
    /// this one when it is unknown, are reported at line 1.
    pub first_line: Option<usize>,
}

/// A known advisory of a dependency version a change introduces: its own SARIF rule
/// (`osv/<id>`), and a result on the manifest or lockfile that introduces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SarifAdvisory {
    /// The change's id in this assessment.
    pub change: String,
    pub file: String,
    /// The line (1-based) that names the package, when found.
    pub line: Option<usize>,
    /// `GHSA-...`, `RUSTSEC-...`, `GO-...`, `PYSEC-...`.
    pub id: String,
    pub summary: String,
    pub package: String,
    pub version: String,
    pub fixed: Option<String>,
    /// The level it gives the change: `high`, or `critical` when the advisory says CRITICAL.
    pub level: Level,
}

/// The first line (1-based) of `text` that names `package` (as a whole word), if any.
pub fn line_naming(text: &str, package: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.match_indices(package).any(|(i, _)| {
                let before = l[..i].chars().next_back();
                let after = l[i + package.len()..].chars().next();
                let edge = |c: Option<char>| {
                    c.is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
                };
                edge(before) && edge(after)
            })
        })
        .map(|i| i + 1)
}

/// The first line (1-based) of `after` that differs from `before`: where a result points. `None`
/// for a deleted file (no `after`) or equal texts; line 1 for a created file.
pub fn first_changed_line(before: Option<&str>, after: Option<&str>) -> Option<usize> {
    let after = after?;
    let before = before.unwrap_or("");
    if before == after {
        return None;
    }
    let mut old = before.split_inclusive('\n');
    let mut line = 1;
    for new in after.split_inclusive('\n') {
        if old.next() != Some(new) {
            return Some(line);
        }
        line += 1;
    }
    // `after` is a prefix of `before`: the change is a removal at the end.
    Some(line.saturating_sub(1).max(1))
}

/// The rule of each level: `(id, name, description)`. A result's rule is its change's level.
fn rule(level: Level) -> (&'static str, &'static str, &'static str) {
    match level {
        Level::Low => (
            "autogate/low",
            "LowRiskChange",
            "A low-risk change: format-only, comment/doc-only, a local rename with every reference \
             updated, or a small body change in a non-public function.",
        ),
        Level::Medium => (
            "autogate/medium",
            "MediumRiskChange",
            "A medium-risk change: a body change of a public function, additive new API, a new file \
             of ordinary code, or a larger private refactor.",
        ),
        Level::High => (
            "autogate/high",
            "HighRiskChange",
            "A high-risk change: a signature or visibility change or removal of a symbol used \
             elsewhere, a deletion, a sensitive domain (auth, crypto, SQL, exec, unsafe...), weakened \
             verification, a protected path, or a large blast radius.",
        ),
        Level::Critical => (
            "autogate/critical",
            "CriticalRiskChange",
            "A critical change: a secret added, a path outside the workspace root, or anything \
             inside .git/.",
        ),
    }
}

/// The SARIF level of an autogate level: critical and high are errors, medium a warning, low a
/// note.
pub fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Critical | Level::High => "error",
        Level::Medium => "warning",
        Level::Low => "note",
    }
}

fn rule_index(level: Level) -> usize {
    Level::ALL.iter().position(|l| *l == level).unwrap_or(0)
}

/// Percent-encodes a relative path into a URI reference (RFC 3986): unreserved characters and
/// `/` are kept; `\` becomes `/`.
fn relative_uri(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").trim_start_matches("./").bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

fn message(change: &SarifChange) -> String {
    let mut text = format!(
        "autogate: {} risk, decision {} (change {}).",
        change.level, change.decision, change.id
    );
    if !change.reasons.is_empty() {
        text.push(' ');
        text.push_str(&change.reasons.join("; "));
        if !text.ends_with('.') {
            text.push('.');
        }
    }
    if change.files.len() > 1 {
        text.push_str(&format!(
            " Files in this change: {}.",
            change.files.join(", ")
        ));
    }
    text
}

/// The SARIF 2.1.0 log of an assessment: one run, the four level rules, one result per file of
/// each change.
pub fn to_sarif(changes: &[SarifChange], tool_version: &str) -> Value {
    to_sarif_with_advisories(changes, &[], tool_version)
}

/// [`to_sarif`], plus one rule per known advisory (`osv/<id>`, after the four level rules) and
/// one result per advisory where its package is introduced.
pub fn to_sarif_with_advisories(
    changes: &[SarifChange],
    advisories: &[SarifAdvisory],
    tool_version: &str,
) -> Value {
    let information_uri = option_env!("CARGO_PKG_REPOSITORY")
        .filter(|uri| !uri.is_empty())
        .unwrap_or(DEFAULT_INFORMATION_URI);
    let rules: Vec<Value> = Level::ALL
        .iter()
        .map(|level| {
            let (id, name, description) = rule(*level);
            json!({
                "id": id,
                "name": name,
                "shortDescription": { "text": format!("autogate: {level} risk") },
                "fullDescription": { "text": description },
                "help": {
                    "text": format!(
                        "{description} The level decides what the policy does with the change \
                         (auto, ask or deny); see `autogate policy explain`."
                    )
                },
                "defaultConfiguration": { "level": sarif_level(*level) },
                "properties": { "tags": ["autogate", "risk", level.as_str()] },
            })
        })
        .collect();
    let results: Vec<Value> = changes
        .iter()
        .flat_map(|change| {
            let (rule_id, _, _) = rule(change.level);
            let text = message(change);
            change.files.iter().enumerate().map(move |(i, file)| {
                let line = if i == 0 {
                    change.first_line.filter(|l| *l >= 1).unwrap_or(1)
                } else {
                    1
                };
                json!({
                    "ruleId": rule_id,
                    "ruleIndex": rule_index(change.level),
                    "level": sarif_level(change.level),
                    "message": { "text": text },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": relative_uri(file),
                                "uriBaseId": SRCROOT,
                            },
                            "region": { "startLine": line },
                        }
                    }],
                    "properties": {
                        "autogate": {
                            "change": change.id,
                            "level": change.level.as_str(),
                            "decision": change.decision,
                            "reasons": change.reasons,
                            "files": change.files,
                        }
                    },
                })
            })
        })
        .collect();
    let mut rules = rules;
    let mut results = results;
    let mut ids: Vec<&str> = advisories.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in &ids {
        let Some(first) = advisories.iter().find(|a| a.id == *id) else {
            continue;
        };
        rules.push(json!({
            "id": format!("osv/{id}"),
            "name": id,
            "shortDescription": { "text": format!("{id}: {}", first.summary) },
            "fullDescription": { "text": format!("Known vulnerability {id} (OSV): {}", first.summary) },
            "helpUri": format!("https://osv.dev/vulnerability/{id}"),
            "help": { "text": "Upgrade to the fixed version the result names, or remove the dependency." },
            "defaultConfiguration": { "level": "error" },
            "properties": { "tags": ["autogate", "security", "vulnerability", "dependency"] },
        }));
    }
    for a in advisories {
        let index = Level::ALL.len() + ids.iter().position(|i| *i == a.id).unwrap_or(0);
        let fixed = a.fixed.as_deref().map_or_else(
            || "no fixed version yet".to_owned(),
            |f| format!("fixed in {f}"),
        );
        results.push(json!({
            "ruleId": format!("osv/{}", a.id),
            "ruleIndex": index,
            "level": sarif_level(a.level),
            "message": { "text": format!(
                "{} {} has a known vulnerability {}: {}; {fixed} (change {}).",
                a.package, a.version, a.id, a.summary, a.change
            ) },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": { "uri": relative_uri(&a.file), "uriBaseId": SRCROOT },
                    "region": { "startLine": a.line.filter(|l| *l >= 1).unwrap_or(1) },
                }
            }],
            "properties": { "autogate": {
                "change": a.change, "package": a.package, "version": a.version,
                "advisory": a.id, "fixed": a.fixed, "level": a.level.as_str(),
            } },
        }));
    }
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "autogate",
                    "version": tool_version,
                    "informationUri": information_uri,
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}
