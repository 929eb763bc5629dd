//! The policy file: parsing, errors with their place, decisions, environments, invariants, explanations and the shipped example.
//!
//! One test binary for the crate: each module was a test file of its own.

mod audit;
mod checkpoints;
mod common;
mod decide;
mod dependencies;
mod errors;
mod example;
mod explain;
mod invariants;
mod tighten;
