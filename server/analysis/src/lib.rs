//! Pure impact analysis: what a proposed edit does to the code, and how risky that is.
//!
//! This crate knows nothing of LSP, JSON-RPC, async or the file system. The shell hands it
//! texts (before and after) and workspace-relative paths; it answers with plain data.

pub mod change;
pub mod domains;
pub mod impact;
pub mod index;
pub mod languages;
pub mod level;
pub mod paths;
pub mod risk;
pub mod secrets;
pub mod symbols;
pub mod text;
pub mod tokens;
pub mod verification;

pub use change::{ChangeUnit, FileChange, Proposal, split};
pub use impact::{
    AnalysisContext, BlastRadius, ChangeKind, Domain, ImpactReport, SecretFinding, SymbolImpact,
    SymbolIndex, Visibility, analyze,
};
pub use languages::Language;
pub use level::Level;
pub use paths::ProtectedPaths;
pub use secrets::redact;
pub use text::{Encoding, TextDocument};
