//! Checkpoints, exact rollback, the audit trail and attributed commits (git2 and the file system).
//!
//! - [`CheckpointStore`]: store the pre-images of a batch before it is written
//!   ([`CheckpointStore::create`]), record what was written ([`CheckpointStore::record_written`]),
//!   then plan and carry out an exact rollback ([`CheckpointStore::plan_restore`],
//!   [`CheckpointStore::restore`]).
//! - [`AuditLog`]: the hash-chained, redacted, lock-protected audit trail.
//!
//! The order the shell follows for one batch:
//!
//! ```
//! use autogate_vcs::*;
//! # fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let root = dir.path();
//! # std::fs::write(root.join("a.rs"), "fn a() {}\n")?;
//! let store = CheckpointStore::open(root)?;
//! // 1. Checkpoint before anything is written (durable when this returns).
//! let pre = store.capture(&["a.rs", "new.rs"])?;
//! let id = store.create(&pre, &CheckpointMeta::now("rename a"))?;
//! // 2. Apply the batch (workspace/applyEdit), then record what was written.
//! std::fs::write(root.join("a.rs"), "fn b() {}\n")?;
//! std::fs::write(root.join("new.rs"), "fn c() {}\n")?;
//! store.record_written(&id, &[
//!     PostImage::written("a.rs", b"fn b() {}\n", false),
//!     PostImage::written("new.rs", b"fn c() {}\n", false),
//! ])?;
//! // 3. Audit.
//! let log = AuditLog::open(root)?.with_redactor(|s: &str| s.to_owned());
//! let mut record = AuditRecord::new(AuditEvent::Applied);
//! record.checkpoint = Some(id.to_string());
//! log.append(record)?;
//! // 4. Verification failed: roll back. Files open in the editor can be taken out of the plan and
//! //    restored through applyEdit from `before`; conflicts are kept unless the person agrees.
//! let plan = store.plan_restore(&id)?;
//! assert_eq!(plan.conflicts().count(), 0);
//! let report = store.restore(&plan, ConflictPolicy::KeepMine)?;
//! assert!(report.is_complete());
//! assert_eq!(std::fs::read_to_string(root.join("a.rs"))?, "fn a() {}\n");
//! assert!(!root.join("new.rs").exists());
//! assert!(log.verify()?.is_ok());
//! # Ok(())
//! # }
//! ```
//!
//! Architecture invariant: nothing here touches the index, HEAD, branches, or any workspace file
//! other than those a checkpoint covers; checkpoint data lives in git objects under
//! `refs/autogate/checkpoints/` or under `.autogate/`.

mod anchor;
mod audit;
mod checkpoint;
pub mod commit;
pub mod confined;
mod error;
mod fsutil;
mod pack;
mod restore;
mod signing;

pub use anchor::{AUDIT_REF, AuditHead};
pub use audit::{
    Approver, AuditEvent, AuditLog, AuditRecord, ImpactFacts, SIGNING_KEY_ENV, VerifyIssue,
    VerifyIssueKind, VerifyReport, Would,
};
pub use checkpoint::{
    CHECKPOINT_REF_PREFIX, CheckpointId, CheckpointInfo, CheckpointMeta, CheckpointStore,
    PostImage, PreImage, Prepared,
};
pub use error::{Result, VcsError};
pub use restore::{
    Conflict, ConflictPolicy, FileOutcome, FileRestore, RestoreAction, RestoreOutcome, RestorePlan,
    RestoreReport,
};
pub use signing::{SigningKey, VerifyingKey};
