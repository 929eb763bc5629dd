//! Provider configuration: plain data filled by the shell from the policy file.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the API key variable is looked up: `std::env::var` in production, a map in tests
/// (edition 2024 makes `set_var` unsafe, and the workspace forbids unsafe code).
pub type EnvLookup = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment.
pub fn process_env() -> EnvLookup {
    std::sync::Arc::new(|name: &str| std::env::var(name).ok())
}

/// Which wire format the provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI-compatible `POST {base_url}/chat/completions` (OpenAI, llama.cpp, vLLM, Ollama…).
    OpenAi,
    /// Anthropic Messages `POST {base_url}/v1/messages`.
    Anthropic,
}

/// How to reach one LLM provider.
///
/// The API key itself is never stored here: only the *name* of the environment variable that
/// holds it, read at call time. `Debug` is written by hand so that even a future field holding
/// secret material cannot leak through `{:?}` by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// For OpenAI-compatible servers, the URL up to and including `/v1`
    /// (`http://127.0.0.1:8080/v1`). For Anthropic, the origin (`https://api.anthropic.com`;
    /// a trailing `/v1` is accepted too).
    pub base_url: String,
    pub model: String,
    /// Name of the environment variable holding the API key. `None`: send no key (local servers).
    pub api_key_env: Option<String>,
    /// Time limit for establishing the TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Time limit for the whole call, retries and streaming included.
    pub total_timeout: Duration,
    /// Retries after the first attempt, on HTTP 429 and 5xx only.
    pub max_retries: u32,
}

impl ProviderConfig {
    /// A config with conservative defaults: 10 s to connect, 300 s in total, 2 retries.
    pub fn new(kind: ProviderKind, base_url: impl Into<String>, model: impl Into<String>) -> Self {
        ProviderConfig {
            kind,
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: None,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(300),
            max_retries: 2,
        }
    }

    /// The full URL the request is posted to.
    pub fn endpoint(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        match self.kind {
            ProviderKind::OpenAi => format!("{base}/chat/completions"),
            // Accept both `https://api.anthropic.com` and `https://api.anthropic.com/v1`.
            ProviderKind::Anthropic => {
                let origin = base.strip_suffix("/v1").unwrap_or(base);
                format!("{origin}/v1/messages")
            }
        }
    }

    /// Reads the API key from the configured environment variable, at call time.
    ///
    /// `Ok(None)` when no variable is configured; an error when it is configured but unset or
    /// empty, so that the person learns which variable to export.
    pub(crate) fn read_api_key(
        &self,
        lookup: &EnvLookup,
    ) -> Result<Option<ApiKey>, crate::LlmError> {
        let Some(name) = &self.api_key_env else {
            return Ok(None);
        };
        match lookup(name) {
            Some(value) if !value.trim().is_empty() => Ok(Some(ApiKey(value.trim().to_owned()))),
            _ => Err(crate::LlmError::MissingApiKey {
                env_var: name.clone(),
            }),
        }
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key_env", &self.api_key_env)
            .field("connect_timeout", &self.connect_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// An API key read from the environment. Its `Debug` never shows the value.
#[derive(Clone)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let c = ProviderConfig::new(ProviderKind::OpenAi, "http://127.0.0.1:8080/v1/", "m");
        assert_eq!(c.endpoint(), "http://127.0.0.1:8080/v1/chat/completions");
        for base in ["https://api.anthropic.com", "https://api.anthropic.com/v1/"] {
            let c = ProviderConfig::new(ProviderKind::Anthropic, base, "m");
            assert_eq!(c.endpoint(), "https://api.anthropic.com/v1/messages");
        }
    }

    #[test]
    fn key_lookup_and_debug() {
        let mut c = ProviderConfig::new(ProviderKind::OpenAi, "http://x/v1", "m");
        let env: EnvLookup = std::sync::Arc::new(|n: &str| (n == "K").then(|| "sk-secret".into()));
        assert!(matches!(c.read_api_key(&env), Ok(None)));
        c.api_key_env = Some("K".into());
        let key = c.read_api_key(&env);
        assert!(matches!(&key, Ok(Some(k)) if k.expose() == "sk-secret"));
        assert!(!format!("{key:?} {c:?}").contains("sk-secret"));
        c.api_key_env = Some("UNSET".into());
        assert!(matches!(
            c.read_api_key(&env),
            Err(crate::LlmError::MissingApiKey { env_var }) if env_var == "UNSET"
        ));
    }

    #[test]
    fn kinds_deserialize_lowercase() {
        let k: Result<Vec<ProviderKind>, _> = serde_json::from_str(r#"["openai","anthropic"]"#);
        assert_eq!(
            k.ok(),
            Some(vec![ProviderKind::OpenAi, ProviderKind::Anthropic])
        );
    }
}
