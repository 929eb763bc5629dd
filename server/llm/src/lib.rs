//! LLM providers over reqwest, prompts, reply parsing and secret redaction.
//!
//! - [`Provider`] speaks the OpenAI-compatible and the Anthropic wire formats, streaming or not,
//!   with connect/total time limits, retries on 429/5xx and typed, actionable [`LlmError`]s.
//!   Every text is passed through a [`Redactor`] before it is sent.
//! - [`build_prompt`] turns a task, context files and a selection into a [`ChatRequest`] whose
//!   system prompt states the reply format.
//! - [`parse_reply`] and [`apply_blocks`] read the model's SEARCH/REPLACE blocks (see
//!   `REPLY_FORMAT.md`) and compute the new file contents, all or nothing. They are pure: the
//!   shell performs the writes after the gate decides.
//!
//! # Reply format
//!
//! ```text
//! path/to/file.rs
//! <<<<<<< SEARCH
//! exact old lines
//! =======
//! new lines
//! >>>>>>> REPLACE
//! ```
//!
//! An empty SEARCH with a path that does not exist creates the file. A SEARCH must match exactly
//! one place in the file; a match ignoring indentation and trailing whitespace is accepted only
//! when unique, and adds the note "matched ignoring whitespace".

mod anthropic;
mod chat;
mod config;
mod error;
mod openai;
mod prompt;
mod provider;
mod redact;
mod reply;
mod sse;

pub use anthropic::ANTHROPIC_VERSION;
pub use chat::{ChatRequest, Completion, Message, Role};
pub use config::{EnvLookup, ProviderConfig, ProviderKind, process_env};
pub use error::LlmError;
pub use prompt::{ContextFile, PromptLimits, SYSTEM_PROMPT, Selection, build_prompt};
pub use provider::Provider;
pub use redact::{REDACTED, Redactor, default_redactor, redact_secrets};
pub use reply::{AppliedFile, EditBlock, ReplyError, apply_blocks, parse_reply};
