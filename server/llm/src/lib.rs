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
//! when unique, and adds the note "matched ignoring whitespace". Errors are listed in
//! `REPLY_FORMAT.md`; every one means nothing is applied.
//!
//! # Use from the shell
//!
//! ```no_run
//! use std::time::Duration;
//! use autogate_llm::*;
//!
//! # async fn run(read: &dyn Fn(&str) -> Option<String>) -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = ProviderConfig::new(ProviderKind::OpenAi, "http://127.0.0.1:8080/v1", "gemma");
//! config.api_key_env = Some("OPENAI_API_KEY".into());
//! config.total_timeout = Duration::from_secs(120);
//! // The analyzer's redactor in production; this crate's default otherwise.
//! let provider = Provider::new(config, default_redactor())?;
//!
//! let files = [ContextFile { path: "src/lib.rs".into(), content: read("src/lib.rs").unwrap_or_default() }];
//! let request = build_prompt("Make answer() return 42", &files, None, &PromptLimits::default());
//! let completion = provider.complete(&request, |delta| tracing::trace!(delta)).await?;
//! let blocks = parse_reply(&completion.text)?;
//! for file in apply_blocks(read, &blocks)? {
//!     // file.path, file.before (None: created), file.after, file.notes → split → analyze → decide
//!     let _ = file;
//! }
//! # Ok(())
//! # }
//! ```

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
mod wire;

pub use anthropic::ANTHROPIC_VERSION;
pub use chat::{ChatRequest, Completion, Message, Role};
pub use config::{EnvLookup, ProviderConfig, ProviderKind, process_env};
pub use error::LlmError;
pub use prompt::{ContextFile, PromptLimits, SYSTEM_PROMPT, Selection, build_prompt};
pub use provider::Provider;
pub use redact::{REDACTED, Redactor, default_redactor, redact_secrets};
pub use reply::{AppliedFile, EditBlock, ReplyError, apply_blocks, parse_reply};
