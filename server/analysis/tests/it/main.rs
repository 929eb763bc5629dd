//! The analyzer on real code: the labelled corpus of edits, the disguise suite (dangerous calls by other names), dependency manifests, and properties of the incremental analysis and of every language's reports.
//!
//! One test binary for the crate: each module was a test file of its own.

mod corpus;
mod disguise;
mod incremental;
mod manifests;
mod properties;
