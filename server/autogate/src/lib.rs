//! autogate: auto mode for any editor. A language server that gates AI edits by structural risk.
//!
//! `lsp` is the only module that knows LSP; `gate` is the pipeline over plain data; `cli` is
//! the command line. See ARCHITECTURE.md for the bird's-eye view.

pub mod cli;
pub mod config;
pub mod deps;
pub mod desk;
pub mod door;
pub mod gate;
pub mod learn;
pub mod lsp;
pub mod mcp;
pub mod patch;
pub mod protocol;
pub mod runner;
pub mod safety;
pub mod verify;
pub mod workspace;
pub mod workspace_index;
