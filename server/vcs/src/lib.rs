//! Checkpoints, exact rollback, the audit trail and attributed commits (git2 and the file system).
//!
//! - [`CheckpointStore`]: store the pre-images of a batch before it is written
//!   ([`CheckpointStore::create`]), record what was written ([`CheckpointStore::record_written`]),
//!   then plan and carry out an exact rollback ([`CheckpointStore::plan_restore`],
//!   [`CheckpointStore::restore`]).
//! - [`AuditLog`]: the hash-chained, redacted, lock-protected audit trail.
//!
//! Architecture invariant: nothing here touches the index, HEAD, branches, or any workspace file
//! other than those a checkpoint covers; checkpoint data lives in git objects under
//! `refs/autogate/checkpoints/` or under `.autogate/`.

mod audit;
mod checkpoint;
mod error;
mod fsutil;
mod restore;

pub use audit::{
    Approver, AuditEvent, AuditLog, AuditRecord, VerifyIssue, VerifyIssueKind, VerifyReport,
};
pub use checkpoint::{
    CHECKPOINT_REF_PREFIX, CheckpointId, CheckpointInfo, CheckpointMeta, CheckpointStore,
    PostImage, PreImage,
};
pub use error::{Result, VcsError};
pub use restore::{
    Conflict, ConflictPolicy, FileOutcome, FileRestore, RestoreAction, RestoreOutcome, RestorePlan,
    RestoreReport,
};
