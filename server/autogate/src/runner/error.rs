//! Why a runner operation produced no proposal; every message says what to do next.

use std::time::Duration;

use autogate_llm::{LlmError, ReplyError};

use super::task::BUILTIN_USAGE;

/// The `[llm]` example shown when no provider is configured (a valid policy file).
pub const LLM_POLICY_EXAMPLE: &str = r#"[llm]
provider = "openai"                    # the wire format: "openai" (any OpenAI-compatible server) or "anthropic"
base_url = "http://127.0.0.1:8080/v1"  # e.g. a local llama.cpp server; default https://api.openai.com/v1
model = "qwen2.5-coder"
api_key_env = "OPENAI_API_KEY"         # the NAME of the variable holding the key (a local server needs none)
"#;

/// Why an operation failed. Nothing is ever partly proposed: an error means no proposal.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A free-text task was asked for, but the policy has no `[llm]` section.
    #[error(
        "no LLM provider is configured, so only the built-in operations can run: {BUILTIN_USAGE}. \
         To run free-text tasks, add an [llm] section to .autogate.toml, for example:\n\n{LLM_POLICY_EXAMPLE}"
    )]
    NoProvider,

    /// `autogate.run` was given an empty task.
    #[error(
        "the task is empty: describe the change for the LLM, or use a built-in operation: {BUILTIN_USAGE}"
    )]
    EmptyTask,

    /// A built-in operation that works on a file was run without one.
    #[error(
        "{operation} works on a file: run it from an open file (pass `uri`{})",
        if *operation == "rename" { " and put the cursor on the symbol" } else { "" }
    )]
    NoTarget { operation: &'static str },

    /// The operation needs a language it does not know for this file.
    #[error(
        "{operation}: {path} is not a file it can handle (supported: {}); open a supported file or describe the task in words for the LLM",
        autogate_analysis::naming::SUPPORTED
    )]
    UnsupportedLanguage {
        operation: &'static str,
        path: String,
    },

    /// The file does not parse, so a structural edit could not be trusted.
    #[error("{}", syntax_message(operation, path, *line, *tidy_fixes))]
    SyntaxError {
        operation: &'static str,
        path: String,
        line: usize,
        /// The file parses once tidied: the parser trips over trailing whitespace.
        tidy_fixes: bool,
    },

    /// The operation ran and the file is already as it would make it.
    #[error("{operation}: {detail}; nothing to change")]
    NothingToChange {
        operation: &'static str,
        detail: String,
    },

    /// `rename` without a new name.
    #[error("rename needs the new name: `rename NEW_NAME`, with the cursor on the symbol")]
    MissingNewName,

    /// No identifier at the cursor (or the symbol name is not in the files).
    #[error("rename: {detail}; put the cursor on the name of the symbol to rename")]
    NoIdentifier { detail: String },

    /// The new name is not a valid identifier in the language.
    #[error("rename: `{name}` is not a valid {language} identifier ({why}); choose another name")]
    InvalidName {
        name: String,
        language: &'static str,
        why: String,
    },

    /// The new name is already used where the symbol would be renamed.
    #[error(
        "rename: `{new}` is already used in {path} at line {line}; renaming `{old}` to it would merge two symbols. Choose another name"
    )]
    NameCollision {
        old: String,
        new: String,
        path: String,
        line: usize,
    },

    /// No formatter program for the language could be started.
    #[error(
        "format: no {language} formatter was found (tried {}); {hint}, or configure another formatter command for {language}",
        tried.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
    )]
    FormatterMissing {
        language: &'static str,
        tried: Vec<String>,
        hint: String,
    },

    /// The formatter ran and failed (often: a syntax error in the file).
    #[error("format: `{program}` failed ({status}) on {path}: {stderr}")]
    FormatterFailed {
        program: String,
        path: String,
        status: String,
        stderr: String,
    },

    /// The formatter did not finish in time; it was killed.
    #[error(
        "format: `{program}` did not finish within {after:?} on {path} and was stopped; check that it does not wait for input, or raise the formatter time limit"
    )]
    FormatterTimeout {
        program: String,
        path: String,
        after: Duration,
    },

    /// The provider call failed (HTTP error, timeout, missing key...).
    #[error("the LLM task failed, nothing was applied: {0}")]
    Llm(#[from] LlmError),

    /// The model's reply could not be turned into edits.
    #[error("{0}")]
    Reply(#[from] ReplyError),
}

fn syntax_message(operation: &str, path: &str, line: usize, tidy_fixes: bool) -> String {
    if tidy_fixes {
        format!(
            "{operation}: {path} does not parse near line {line} because of trailing whitespace there (a parser limitation); run `tidy` first, then try again"
        )
    } else {
        format!(
            "{operation}: {path} has a syntax error near line {line}; fix it first, then try again"
        )
    }
}

impl RunError {
    /// True when the operation simply had nothing to do: worth an information message, not an
    /// error report.
    pub fn is_nothing_to_change(&self) -> bool {
        matches!(self, RunError::NothingToChange { .. })
    }
}
