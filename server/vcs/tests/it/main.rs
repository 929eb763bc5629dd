//! The checkpoint store, the audit trail, attributed commits and confined file access, tested against real temporary repositories and folders.
//!
//! One test binary for the crate: each module was a test file of its own.

mod audit;
mod checkpoint;
mod commit;
mod common;
mod confinement;
