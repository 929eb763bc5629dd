//! Secret redaction applied to every text before it leaves the machine.
//!
//! The caller injects a [`Redactor`] (the analyzer provides the authoritative one); this module
//! ships a conservative default, [`redact_secrets`], that matches common key formats. Over-
//! redaction is acceptable: a SEARCH block that quotes `[REDACTED]` simply fails to match and
//! nothing is applied.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use regex::{Captures, Regex};

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// A redaction function, injected by the caller. Must be cheap to clone and thread-safe.
pub type Redactor = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// The default redactor, wrapping [`redact_secrets`].
pub fn default_redactor() -> Redactor {
    Arc::new(redact_secrets)
}

/// Token-shaped secrets, replaced whole.
static TOKEN_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // PEM private keys (RSA, EC, OPENSSH, ENCRYPTED, plain PKCS#8); an unterminated block is
        // redacted to the end of the text.
        r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
        // Anthropic, then OpenAI (including sk-proj-…) keys.
        r"\bsk-ant-[A-Za-z0-9_\-]{8,}",
        r"\bsk-[A-Za-z0-9_\-]{16,}",
        // AWS access key ids.
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        // GitHub tokens.
        r"\bgh[pousr]_[A-Za-z0-9]{20,}",
        r"\bgithub_pat_[A-Za-z0-9_]{20,}",
        // Slack and Google API keys.
        r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
        r"\bAIza[0-9A-Za-z_\-]{35}",
        // Bearer tokens pasted in text.
        r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{20,}=*",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("constant redaction pattern compiles"))
    .collect()
});

/// `password = "…"`, `db_password: '…'`, `API_KEY="…"` and friends: the quoted value is redacted,
/// the name is kept so the code still reads.
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(\b[A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|api_?key|access_?key|private_?key|auth_?token|access_?token)[A-Za-z0-9_]*["']?(?:\s*:\s*&?'?[A-Za-z_][A-Za-z0-9_:<>]*)?\s*(?::=|=>|=|:)\s*)(?:"([^"\n]*)"|'([^'\n]*)')"#,
    )
    .expect("constant redaction pattern compiles")
});

/// The password of a credential-bearing URL, in any scheme: `postgres://user:…@host`.
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s:/?#@"'`<>\\]+:)([^\s/?#@"'`<>\\]+)(@)"#)
        .expect("constant redaction pattern compiles")
});

/// A random-looking value under a key-like name, quoted or not: `hmac_key: 3f9a…`,
/// `SIGNING_KEY = "…"`, `"refresh_token": "…"`. Only values of 20 or more base64, hex or
/// URL-safe characters mixing letters and digits are replaced, so that ordinary code
/// (`cache_key = "users"`) still reads and still matches in SEARCH blocks.
static KEY_NAMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(\b[A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|key|token|credential)s?["'`]?(?:\s*:\s*&?'?[A-Za-z_][A-Za-z0-9_:<>]*)?\s*(?::=|=>|=|:)\s*[bru]?["'`]?)([A-Za-z0-9+/_=~\-]{20,})"#,
    )
    .expect("constant redaction pattern compiles")
});

/// Redacts common secret formats: `sk-…`, `sk-ant-…`, `AKIA…`, `ghp_…`, PEM private keys,
/// bearer tokens, passwords in URLs, quoted values assigned to password/secret/key-like names
/// and random-looking values under key-like names.
pub fn redact_secrets(text: &str) -> String {
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    for re in TOKEN_PATTERNS.iter() {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, REDACTED).into_owned());
        }
    }
    if URL_PASSWORD.is_match(&out) {
        let replaced = URL_PASSWORD.replace_all(&out, |caps: &Captures<'_>| {
            let whole = caps.get(0).map_or("", |m| m.as_str());
            let password = caps.get(2).map_or("", |m| m.as_str());
            if password.starts_with(['$', '{', '<', '%']) || password == REDACTED {
                whole.to_owned()
            } else {
                format!("{}{REDACTED}@", caps.get(1).map_or("", |m| m.as_str()))
            }
        });
        out = Cow::Owned(replaced.into_owned());
    }
    if KEY_NAMED.is_match(&out) {
        let replaced = KEY_NAMED.replace_all(&out, |caps: &Captures<'_>| {
            let whole = caps.get(0).map_or("", |m| m.as_str());
            let value = caps.get(2).map_or("", |m| m.as_str());
            let mixed = value.chars().any(|c| c.is_ascii_digit())
                && value.chars().any(|c| c.is_ascii_alphabetic());
            if mixed {
                format!("{}{REDACTED}", caps.get(1).map_or("", |m| m.as_str()))
            } else {
                whole.to_owned()
            }
        });
        out = Cow::Owned(replaced.into_owned());
    }
    if ASSIGNMENT.is_match(&out) {
        let replaced = ASSIGNMENT.replace_all(&out, |caps: &Captures<'_>| {
            let prefix = caps.get(1).map_or("", |m| m.as_str());
            let (quote, value) = match (caps.get(2), caps.get(3)) {
                (Some(v), _) => ('"', v.as_str()),
                (None, Some(v)) => ('\'', v.as_str()),
                (None, None) => ('"', ""),
            };
            if value.is_empty() || value == REDACTED {
                // Nothing to hide: keep the text as written.
                caps.get(0).map_or(String::new(), |m| m.as_str().to_owned())
            } else {
                format!("{prefix}{quote}{REDACTED}{quote}")
            }
        });
        out = Cow::Owned(replaced.into_owned());
    }
    out.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn redacts(input: &str, secret: &str) {
        let out = redact_secrets(input);
        assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
        assert!(out.contains(REDACTED), "no marker in {out:?}");
    }

    #[test]
    fn common_formats_are_redacted() {
        redacts("key = sk-proj-abcdefghijklmnop1234", "abcdefghijklmnop1234");
        redacts("ANTHROPIC=sk-ant-api03-AbCdEf012345", "AbCdEf012345");
        redacts("aws AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE");
        redacts(
            "token ghp_0123456789abcdefghijABCDEFGHIJ",
            "ghp_0123456789abcdefghij",
        );
        redacts(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
            "MIIEowIBAAKCAQEA",
        );
        redacts(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk truncated",
            "b3BlbnNzaC1rZXk",
        );
        redacts(r#"password = "hunter2""#, "hunter2");
        redacts(r#"let db_password: &str = "s3cr3t!";"#, "s3cr3t!");
        redacts("API_KEY='abc123xyz'", "abc123xyz");
        redacts(r#"{"client_secret": "shh-very"}"#, "shh-very");
        redacts(
            "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
            "abcdefghijklmnopqrstuvwxyz",
        );
    }

    #[test]
    fn credential_urls_and_key_named_values_are_redacted() {
        redacts(
            "DATABASE_URL=postgres://u:Pr0dPassw0rd@db.internal/app",
            "Pr0dPassw0rd",
        );
        redacts("url: amqp://svc:Zx81kLm02@mq.internal/vhost", "Zx81kLm02");
        let hex = "3f9a0c7be21d4e58a6b9f0c3d7e2a1b48c5d6e7f90a1b2c3d4e5f6a7b8c9d0e1";
        redacts(&format!("hmac_key: {hex}"), hex);
        redacts(&format!("SIGNING_KEY = \"{hex}\""), hex);
        redacts(&format!("const SIGNING_KEY: &str = \"{hex}\";"), hex);
        redacts(&format!("{{\"signingKey\": \"{hex}\"}}"), hex);
        let kept = "postgres://u:${DB_PASSWORD}@db/app and cache_key = \"users\"";
        assert_eq!(redact_secrets(kept), kept);
    }

    #[test]
    fn ordinary_code_is_untouched() {
        let code = "fn main() {\n    let password = read_password()?;\n    let sk = 3;\n}\n";
        assert_eq!(redact_secrets(code), code);
        assert_eq!(redact_secrets("password = \"\""), "password = \"\"");
    }
}
