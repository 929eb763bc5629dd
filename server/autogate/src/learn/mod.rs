//! Learning from the team's decisions: scopes of changes, standing approvals, replaying the
//! audit trail under another policy, and policy suggestions from one or many trails.
//!
//! The functional core is plain data over [`facts::Facts`] (what an impact report or an audit
//! record says about a change): [`scope`] computes and matches scopes, [`replay`] and
//! [`suggest`] read records. The shell parts are [`standing`] (the store of standing approvals
//! under `.git/autogate/`) and [`revert`] (finding applied changes a person undid by hand).

pub mod facts;
pub mod replay;
pub mod revert;
pub mod scope;
pub mod standing;
pub mod suggest;
pub mod trail;
