//! The impact report: what a change unit does, and the level that follows from it.
//!
//! `analyze` is the single entry point. It never looks at what an LLM said about the edit: only
//! at the before and after texts and the paths. What it cannot parse or understand raises the
//! level; it never lowers it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::change::ChangeUnit;
use crate::level::Level;
use crate::paths::{ProtectedPaths, forbidden_path};

/// What kind of change a unit is. A unit can be several kinds at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The token streams before and after are equal.
    FormatOnly,
    /// Only comments or doc comments differ.
    CommentOnly,
    /// A symbol renamed together with every reference to it in the change.
    Rename,
    /// Only the body of existing symbols changed.
    BodyOnly,
    SignatureChange,
    VisibilityChange,
    SymbolAdded,
    SymbolRemoved,
    FileCreated,
    FileDeleted,
    FileRenamed,
    /// A change the analyzer could not classify structurally (plain text, unparsable code).
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Private,
}

/// A symbol the change touches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SymbolImpact {
    pub name: String,
    /// `function`, `method`, `struct`, `class`, ...
    pub kind: String,
    pub visibility: Visibility,
    pub file: String,
    /// `added`, `removed`, `body`, `signature`, `visibility`, `renamed`, `doc`.
    pub change: String,
}

/// How far a change can reach: references to changed or removed symbols elsewhere.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BlastRadius {
    pub references: usize,
    pub files: Vec<String>,
}

/// Sensitive domains a change touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    Auth,
    Crypto,
    Sql,
    Shell,
    Unsafe,
    Deserialization,
    FilePermissions,
    Network,
}

/// A secret found on an added line. The secret itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretFinding {
    pub file: String,
    pub line: usize,
    pub rule: String,
}

/// The full impact report of one change unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImpactReport {
    pub files: Vec<String>,
    pub languages: Vec<String>,
    pub kinds: Vec<ChangeKind>,
    pub symbols: Vec<SymbolImpact>,
    pub blast_radius: BlastRadius,
    pub domains: Vec<Domain>,
    pub verification_weakened: Vec<String>,
    pub secrets: Vec<SecretFinding>,
    pub protected_paths: Vec<String>,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub level: Level,
    pub reasons: Vec<String>,
}

/// Workspace-wide definitions and references, fed by the shell, used for the blast radius.
#[derive(Clone, Debug, Default)]
pub struct SymbolIndex {
    references: BTreeMap<String, BTreeMap<String, usize>>,
}

impl SymbolIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// References to `name`: total count and the files holding them.
    pub fn references(&self, name: &str) -> BlastRadius {
        self.references
            .get(name)
            .map(|files| BlastRadius {
                references: files.values().sum(),
                files: files.keys().cloned().collect(),
            })
            .unwrap_or_default()
    }
}

/// What the analyzer needs beside the change itself.
#[derive(Clone, Copy, Debug)]
pub struct AnalysisContext<'a> {
    pub protected: &'a ProtectedPaths,
    pub index: Option<&'a SymbolIndex>,
}

/// Analyzes one change unit.
pub fn analyze(unit: &ChangeUnit, ctx: &AnalysisContext<'_>) -> ImpactReport {
    let mut report = ImpactReport {
        files: unit.files.iter().map(|f| f.path.clone()).collect(),
        languages: Vec::new(),
        kinds: Vec::new(),
        symbols: Vec::new(),
        blast_radius: BlastRadius::default(),
        domains: Vec::new(),
        verification_weakened: Vec::new(),
        secrets: Vec::new(),
        protected_paths: Vec::new(),
        lines_added: 0,
        lines_removed: 0,
        level: Level::Low,
        reasons: Vec::new(),
    };
    let mut level = Level::Medium;
    for file in &unit.files {
        for path in file.touched_paths() {
            if let Some(why) = forbidden_path(path) {
                level = level.max(Level::Critical);
                report.reasons.push(format!("`{path}`: {why}"));
            }
            if let Some(pattern) = ctx.protected.matching(path) {
                level = level.max(Level::High);
                report.protected_paths.push(path.to_owned());
                report
                    .reasons
                    .push(format!("`{path}` is protected (`{pattern}`)"));
            }
        }
        report.kinds.push(ChangeKind::Other);
    }
    report
        .reasons
        .push("not classified structurally yet".to_owned());
    report.level = level;
    report
}
