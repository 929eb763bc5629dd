//! The impact report: what a change unit does, and the level that follows from it.
//!
//! `analyze` is the single entry point. It never looks at what an LLM said about the edit: only
//! at the before and after texts and the paths. What it cannot parse or understand raises the
//! level; it never lowers it.

use serde::Serialize;

use crate::level::Level;
use crate::manifest::report::DependencyChange;

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

impl ChangeKind {
    /// Every kind, in declaration order (to read a serialized name back).
    pub const ALL: [ChangeKind; 12] = [
        ChangeKind::FormatOnly,
        ChangeKind::CommentOnly,
        ChangeKind::Rename,
        ChangeKind::BodyOnly,
        ChangeKind::SignatureChange,
        ChangeKind::VisibilityChange,
        ChangeKind::SymbolAdded,
        ChangeKind::SymbolRemoved,
        ChangeKind::FileCreated,
        ChangeKind::FileDeleted,
        ChangeKind::FileRenamed,
        ChangeKind::Other,
    ];
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

impl Domain {
    /// Every domain, in declaration order (to read a serialized name back).
    pub const ALL: [Domain; 8] = [
        Domain::Auth,
        Domain::Crypto,
        Domain::Sql,
        Domain::Shell,
        Domain::Unsafe,
        Domain::Deserialization,
        Domain::FilePermissions,
        Domain::Network,
    ];
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
    /// Dependencies, scripts and settings added, removed or changed in manifests and
    /// lockfiles, each with the rules that fired. Left out of the JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<DependencyChange>,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub level: Level,
    pub reasons: Vec<String>,
}
