//! The autogate crate's integration tests, in one binary (one link instead of 21): the real
//! server over its protocol, the real binary, real git repositories. One module per area.

mod support;

mod cli;
mod commit;
mod confinement;
mod deps;
mod flow;
mod hook;
mod hostile;
mod layering;
mod learn;
mod lsp;
mod mcp;
mod policy;
mod protected;
mod run;
mod runner;
mod safety;
mod sarif;
mod secrets;
mod session;
mod two_servers;
mod unrecorded;
mod verify;
