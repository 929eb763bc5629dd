//! The task runner's core: built-in low-risk operations and LLM tasks, each producing a
//! [`Proposal`] for the gate.
//!
//! A functional core with no LSP types. Every operation takes plain inputs (workspace-relative
//! paths with `/`, file texts, a [`Cursor`] in lines and UTF-32 columns, options) and returns
//! `Result<Proposal, RunError>`; a proposal is never partial. Only two operations do IO, each in
//! one small async function with a time limit: [`format`] (the language's formatter over
//! stdin/stdout) and [`run_llm_task`] (one provider call). Nothing here writes a file: the gate
//! analyzes and decides, and the shell applies.
//!
//! The shell's sequence for `autogate.run`:
//!
//! 1. [`parse_task`] the task text into a [`Task`].
//! 2. Built-ins: [`tidy`], [`document`], [`format`] on the target file, [`rename`] over the
//!    workspace files of the target's language. Anything else is an LLM task:
//!    [`provider_from_policy`] (or [`RunError::NoProvider`] when the policy has no `[llm]`),
//!    then [`run_llm_task`].
//! 3. The resulting [`Proposal`] goes to the gate like any other.

mod document;
mod error;
mod format;
mod lang;
mod llm;
mod rename;
mod task;
mod tidy;

pub use autogate_analysis::{FileChange, Proposal};

pub use document::document;
pub use error::{LLM_POLICY_EXAMPLE, RunError};
pub use format::{FormatCommand, FormatOptions, format};
pub use lang::Lang;
pub use llm::{
    DEFAULT_ANTHROPIC_MODEL, DEFAULT_OPENAI_MODEL, LlmOutcome, provider_from_policy,
    provider_from_policy_with_env, run_llm_task, selection,
};
pub use rename::{Cursor, RenameTarget, SourceFile, rename};
pub use task::{BUILTIN_USAGE, Task, parse_task};
pub use tidy::tidy;

/// A proposal changing one file from `before` to `after`, or `NothingToChange` when equal.
fn single_file(
    operation: &'static str,
    path: &str,
    before: &str,
    after: String,
    unchanged: &str,
) -> Result<Proposal, RunError> {
    if after == before {
        return Err(RunError::NothingToChange {
            operation,
            detail: format!("{path} {unchanged}"),
        });
    }
    Ok(Proposal {
        files: vec![FileChange {
            path: path.to_owned(),
            old_path: None,
            before: Some(before.to_owned()),
            after: Some(after),
        }],
    })
}
