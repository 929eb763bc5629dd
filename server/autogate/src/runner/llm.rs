//! LLM tasks: prompt → provider → SEARCH/REPLACE reply → proposal, all or nothing.

use std::time::Duration;

use autogate_llm::{
    ContextFile, EnvLookup, PromptLimits, Provider, ProviderConfig, ProviderKind, Selection,
    apply_blocks, build_prompt, default_redactor, parse_reply, process_env,
};
use autogate_policy::{LlmProvider, LlmSettings};

use super::{FileChange, Proposal, RunError};

/// The model used when the policy's `[llm]` names none and the provider speaks OpenAI.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
/// The model used when the policy's `[llm]` names none and the provider is Anthropic.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";

/// What an LLM task produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlmOutcome {
    /// The edits, for the gate. Never empty.
    pub proposal: Proposal,
    /// Things the person should know, e.g. "src/a.rs: block 2: matched ignoring whitespace".
    pub notes: Vec<String>,
}

/// The provider described by the policy's `[llm]` section, with the llm crate's default
/// redactor (independent of the analyzer). The API key is read from `api_key_env` at call time,
/// from the process environment. See [`provider_from_policy_with_env`].
pub fn provider_from_policy(settings: &LlmSettings) -> Result<Provider, RunError> {
    provider_from_policy_with_env(settings, process_env())
}

/// [`provider_from_policy`] with the environment given (tests, or a shell with its own).
///
/// A server on the loopback interface (`localhost`, `127.0.0.1`, `[::1]`: llama.cpp, Ollama,
/// vLLM) usually needs no key: there, when `api_key_env` is not set in `env` when the provider
/// is built, no key is sent instead of failing with "API key env var not set".
pub fn provider_from_policy_with_env(
    settings: &LlmSettings,
    env: EnvLookup,
) -> Result<Provider, RunError> {
    let (kind, default_model) = match settings.provider {
        LlmProvider::OpenAi => (ProviderKind::OpenAi, DEFAULT_OPENAI_MODEL),
        LlmProvider::Anthropic => (ProviderKind::Anthropic, DEFAULT_ANTHROPIC_MODEL),
    };
    let model = settings.model.as_deref().unwrap_or(default_model);
    let mut config = ProviderConfig::new(kind, settings.base_url.clone(), model);
    let key_optional = is_loopback(&settings.base_url)
        && env(&settings.api_key_env).is_none_or(|v| v.trim().is_empty());
    config.api_key_env = (!key_optional).then(|| settings.api_key_env.clone());
    config.total_timeout = Duration::from_secs(settings.timeout_secs.max(1));
    Ok(Provider::new(config, default_redactor())?.with_env_lookup(env))
}

/// The [`Selection`] of lines `first..=last` of `text`, 0-based as in LSP (clamped to the
/// text; swapped if given backwards). The shell turns an LSP range into lines: a range ending
/// at character 0 of a later line does not include that line.
pub fn selection(path: &str, text: &str, first: u32, last: u32) -> Selection {
    let (first, last) = (first.min(last), first.max(last));
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let end = (last as usize + 1).min(lines.len());
    let start = (first as usize).min(end);
    Selection {
        path: path.to_owned(),
        start_line: start as u32 + 1,
        end_line: end.max(start + 1) as u32,
        text: lines[start..end].concat(),
    }
}

/// Whether `url`'s host is the loopback interface.
fn is_loopback(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Runs a free-text task: builds the prompt from `task`, `files` and `selection`, calls the
/// provider (streaming pieces of the reply to `on_delta`), parses the SEARCH/REPLACE blocks and
/// applies them to the files `read_file` returns (`None`: the file does not exist).
///
/// Any failure is one [`RunError`] carrying the provider's or the parser's message; nothing is
/// ever partly proposed. Cancel by dropping the future.
pub async fn run_llm_task(
    provider: &Provider,
    task: &str,
    files: &[ContextFile],
    selection: Option<Selection>,
    limits: &PromptLimits,
    on_delta: impl FnMut(&str) + Send,
    read_file: impl Fn(&str) -> Option<String>,
) -> Result<LlmOutcome, RunError> {
    if task.trim().is_empty() {
        return Err(RunError::EmptyTask);
    }
    let request = build_prompt(task, files, selection.as_ref(), limits);
    let completion = provider.complete(&request, on_delta).await?;
    let blocks = parse_reply(&completion.text)?;
    let applied = apply_blocks(&read_file, &blocks)?;

    let mut notes = Vec::new();
    if completion.hit_token_limit() {
        notes.push(
            "the reply reached the token limit (max_tokens); some edits may be missing".to_owned(),
        );
    }
    let mut changes = Vec::new();
    for file in applied {
        notes.extend(file.notes.iter().map(|n| format!("{}: {n}", file.path)));
        if file.before.as_deref() == Some(file.after.as_str()) {
            continue;
        }
        changes.push(FileChange {
            path: file.path,
            old_path: None,
            before: file.before,
            after: Some(file.after),
        });
    }
    if changes.is_empty() {
        return Err(RunError::NothingToChange {
            operation: "the LLM task",
            detail: "the model's edits leave every file as it was".to_owned(),
        });
    }
    Ok(LlmOutcome {
        proposal: Proposal { files: changes },
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_are_whole_lines() {
        let text = "a\nb\nc\n";
        let s = selection("f.rs", text, 1, 2);
        assert_eq!(
            (s.start_line, s.end_line, s.text.as_str()),
            (2, 3, "b\nc\n")
        );
        let s = selection("f.rs", text, 2, 0);
        assert_eq!(
            (s.start_line, s.end_line, s.text.as_str()),
            (1, 3, "a\nb\nc\n")
        );
        let s = selection("f.rs", text, 7, 9);
        assert_eq!((s.start_line, s.end_line, s.text.as_str()), (4, 4, ""));
        assert_eq!(selection("f.rs", "", 0, 0).text, "");
    }

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://127.0.0.1:8080/v1",
            "http://localhost/v1",
            "https://LOCALHOST:1",
            "http://[::1]:8080/v1",
            "http://127.1.2.3",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://10.0.0.1:8080",
            "http://127.0.0.1.example.com",
            "http://localhost.evil@example.com",
            "ftp://localhost",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}
