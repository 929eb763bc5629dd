//! Checkpoints, exact rollback, the audit trail and attributed commits (git2 and the file system).
