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
//!
//! ```no_run
//! use autogate::runner::*;
//! use autogate_llm::PromptLimits;
//!
//! # async fn run(
//! #     policy: &autogate_policy::Policy,
//! #     task_text: &str,
//! #     path: &str,
//! #     text: &str,
//! #     cursor: Cursor,
//! #     workspace_files: Vec<SourceFile>,
//! #     read: &(dyn Fn(&str) -> Option<String> + Sync),
//! # ) -> Result<Proposal, RunError> {
//! let proposal = match parse_task(task_text) {
//!     Task::Tidy => tidy(path, text)?,
//!     Task::Document => document(path, text)?,
//!     Task::Format => format(path, text, &FormatOptions::default()).await?,
//!     Task::Rename { new_name } => {
//!         // Every workspace file of the target's language family, the target included.
//!         let target = RenameTarget::Cursor { path: path.to_owned(), cursor };
//!         rename(&workspace_files, &target, &new_name)?
//!     }
//!     Task::Llm(task) => {
//!         let provider = provider_from_policy(policy.llm().ok_or(RunError::NoProvider)?)?;
//!         let files = [autogate_llm::ContextFile { path: path.into(), content: text.into() }];
//!         let outcome = run_llm_task(
//!             &provider, &task, &files, Some(selection(path, text, 0, 3)),
//!             &PromptLimits::default(), |delta| tracing::trace!(delta), read,
//!         )
//!         .await?;
//!         // outcome.notes: show them with the summary.
//!         outcome.proposal
//!     }
//! };
//! # Ok(proposal)
//! # }
//! ```

mod document;
mod eol;
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
