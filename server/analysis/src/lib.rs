//! Pure impact analysis: what a proposed edit does to the code, and how risky that is.
//!
//! This crate knows nothing of LSP, JSON-RPC, async or the file system. The shell hands it
//! texts (before and after) and workspace-relative paths; it answers with plain data.
//!
//! Codemap:
//! - [`change`]: proposals, change units, and [`split`] / [`split_cached`]: one unit per file
//!   and top-level symbol, dependent parts kept together; `cut`: how one file is cut (its
//!   hunks, top-level items, and the names each part defines and touches); `merge`: line hunks
//!   and [`merge3`], the three-way merge that rebases a unit on a sibling of the same file.
//! - [`risk`]: [`analyze`], from a unit to an [`ImpactReport`] with a level and reasons;
//!   [`analyze_cached`], the same report reusing the trees of a [`ParseCache`].
//! - [`languages`]: the grammars by file extension; [`tokens`]: structural token streams
//!   (format-only, comment-only, renames); [`symbols`]: per-language symbol tables and diffs.
//! - `resolve`: per-file name resolution (imports, aliases, re-bindings) of the calls a change
//!   adds, looked up in [`capabilities`] (the table of what a resolved call can do), with
//!   non-cryptographic randomness for secrets and verifiers that accept everything;
//!   `weakening`: suppressions of security tools added where they matter.
//! - [`secrets`] (detection and [`redact`]), [`domains`] (the sensitive-pattern table),
//!   [`verification`] (tests weakened): line scanners over what a change adds or removes;
//!   `guards`: control flow (guards removed, negated or made constant, early success,
//!   swallowed failures) compared on the trees of the changed code.
//! - [`index`]: the workspace [`SymbolIndex`] behind the blast radius.
//! - [`incremental`]: the [`ParseCache`] of open documents' trees and incremental parses;
//!   `local`: the analysis of only the top-level items a modification touches.
//! - [`manifest`]: dependency manifests and lockfiles diffed structurally, rated by rules
//!   (typosquats, install scripts, non-registry sources, bumps, lockfile swaps).
//! - [`paths`], [`level`], [`impact`] (report types), [`text`] (documents and positions).
//!
//! Invariants: the level only rises. What cannot be parsed (ERROR/MISSING nodes, binary
//! content, unknown languages) is never `low`. A split never separates a definition from its
//! edited references; when unsure it keeps together.

pub mod capabilities;
pub mod change;
mod cut;
pub mod domains;
mod guards;
pub mod impact;
pub mod incremental;
pub mod index;
pub mod languages;
pub mod level;
mod local;
pub mod manifest;
mod merge;
pub mod naming;
pub mod paths;
mod resolve;
pub mod risk;
pub mod secrets;
pub mod symbols;
pub mod text;
pub mod tokens;
pub mod verification;
mod weakening;

pub use change::{ChangeUnit, FileChange, Proposal, split, split_cached};
pub use impact::{
    BlastRadius, ChangeKind, Domain, ImpactReport, SecretFinding, SymbolImpact, Visibility,
};
pub use incremental::ParseCache;
pub use index::SymbolIndex;
pub use languages::Language;
pub use level::Level;
pub use merge::merge3;
pub use paths::ProtectedPaths;
pub use risk::{AnalysisContext, analyze, analyze_cached, analyze_whole};
pub use secrets::redact;
pub use text::{Encoding, TextDocument};

#[cfg(test)]
mod testing {
    //! Helpers of the unit tests.

    /// Property cases: `default`, or `AUTOGATE_PROPTEST_CASES` for a deep run.
    pub(crate) fn proptest_cases(default: u32) -> u32 {
        std::env::var("AUTOGATE_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
}
