//! Secret detection on added lines, and redaction of secrets from any text.
//!
//! Provider key formats are matched by pattern; generic `password = "…"`-style assignments
//! count only when the value is long (≥ 20 chars) and random-looking (Shannon entropy).
//! Obvious fixtures (`example`, `dummy`, `xxxx`, paths under `tests/fixtures` or `testdata`)
//! are allowed. Findings never hold the secret itself: only the rule name.

use std::sync::OnceLock;

use regex::Regex;

/// One detection rule: its name and pattern. For `generic_secret` the value is group 2: a
/// quoted value anywhere, or an unquoted one on a whole `KEY=value` line (`.env`, YAML), which
/// must also mix letters and digits.
struct Rule {
    name: &'static str,
    pattern: &'static str,
}

/// Ordered: the more specific rules come first (`sk-ant-` before `sk-`).
const RULES: &[Rule] = &[
    Rule {
        name: "private_key",
        pattern: r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    },
    Rule {
        name: "aws_access_key_id",
        pattern: r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b",
    },
    Rule {
        name: "github_token",
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
    },
    Rule {
        name: "slack_token",
        pattern: r"\bxox[bpars]-[A-Za-z0-9-]{10,}",
    },
    Rule {
        name: "stripe_live_key",
        pattern: r"\b[sr]k_live_[A-Za-z0-9]{16,}",
    },
    Rule {
        name: "google_api_key",
        pattern: r"\bAIza[0-9A-Za-z_\-]{35}",
    },
    Rule {
        name: "anthropic_api_key",
        pattern: r"\bsk-ant-[A-Za-z0-9_\-]{20,}",
    },
    Rule {
        name: "openai_api_key",
        pattern: r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
    },
    Rule {
        name: "jwt",
        pattern: r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    },
    Rule {
        name: "generic_secret",
        pattern: r#"(?i)\b([a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?secret)[a-z0-9_.-]*)["']?\s*(?::=|=>|[:=])\s*[bru]?["'`]([^"'`\s]{8,})["'`]"#,
    },
    Rule {
        name: "generic_secret",
        pattern: r#"(?i)^\s*(?:export\s+)?([a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|client[_-]?secret)[a-z0-9_.-]*)\s*[:=]\s*([^\s"'`#(){}\[\],;]{8,})\s*$"#,
    },
];

/// The redaction variant of the rules: no word boundaries, so a key glued to other text is
/// still redacted (over-redaction is the safe failure).
fn compiled_for_redaction() -> &'static [(&'static str, Regex)] {
    static COMPILED: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        RULES
            .iter()
            .map(|r| {
                (
                    r.name,
                    Regex::new(&r.pattern.replace(r"\b", ""))
                        .expect("secret patterns are constants"),
                )
            })
            .collect()
    })
}

fn compiled() -> &'static [(&'static str, Regex)] {
    static COMPILED: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        RULES
            .iter()
            .map(|r| {
                (
                    r.name,
                    Regex::new(r.pattern).expect("secret patterns are constants"),
                )
            })
            .collect()
    })
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut total = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / total as f64;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark an obvious fixture or placeholder.
fn is_placeholder(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    [
        "example",
        "dummy",
        "xxxx",
        "placeholder",
        "changeme",
        "your_",
        "your-",
        "<",
        "redacted",
        "fake",
        "sample",
        "${",
        "{{",
        "os.environ",
        "process.env",
        "getenv",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// Whether a path holds test fixtures, whose secrets are fake by convention.
pub fn is_fixture_path(path: &str) -> bool {
    let p = format!("/{path}");
    p.contains("/tests/fixtures/") || p.contains("/testdata/") || p.contains("/test/fixtures/")
}

/// The rules whose secrets appear on `line`, allowlist applied.
pub fn scan_line(line: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for (name, re) in compiled() {
        for caps in re.captures_iter(line) {
            let (value, whole) = match caps.get(2) {
                Some(v) => (v.as_str(), caps.get(0).map_or("", |m| m.as_str())),
                None => {
                    let m = caps.get(0).map_or("", |m| m.as_str());
                    (m, m)
                }
            };
            if *name == "openai_api_key" && value.starts_with("sk-ant-") {
                continue;
            }
            if is_placeholder(whole) {
                continue;
            }
            let quoted = whole.ends_with(['"', '\'', '`']);
            let mixed = value.chars().any(|c| c.is_ascii_digit())
                && value.chars().any(|c| c.is_ascii_alphabetic());
            if *name == "generic_secret"
                && (!found.is_empty()
                    || value.chars().count() < 20
                    || entropy(value) < 3.5
                    || (!quoted && !mixed))
            {
                continue;
            }
            if !found.contains(name) {
                found.push(*name);
            }
        }
    }
    found
}

/// Replaces every secret in `text` with `[REDACTED:<rule>]`.
///
/// Fail closed: unlike detection, no allowlist and no entropy threshold apply, and a generic
/// assignment is redacted from 8 characters on. Only the value of a generic assignment is
/// replaced; its name stays readable.
pub fn redact(text: &str) -> String {
    static PEM: OnceLock<Regex> = OnceLock::new();
    let pem = PEM.get_or_init(|| {
        Regex::new(
            r"(?s)-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\z)",
        )
        .expect("the PEM pattern is a constant")
    });
    let mut out = pem.replace_all(text, "[REDACTED:private_key]").into_owned();
    for (name, re) in compiled_for_redaction() {
        let replacement = format!("[REDACTED:{name}]");
        out = if *name == "generic_secret" {
            re.replace_all(&out, |caps: &regex::Captures<'_>| {
                let whole = caps.get(0).map_or("", |m| m.as_str());
                match (caps.get(0), caps.get(2)) {
                    (Some(m), Some(v)) if !v.as_str().starts_with("[REDACTED:") => {
                        let start = v.start() - m.start();
                        let end = v.end() - m.start();
                        format!("{}{}{}", &whole[..start], replacement, &whole[end..])
                    }
                    _ => whole.to_owned(),
                }
            })
            .into_owned()
        } else {
            re.replace_all(&out, replacement.as_str()).into_owned()
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_keys_are_found_and_placeholders_are_not() {
        assert_eq!(
            scan_line("key = \"AKIAIOSFODNN7QWERTYZ\""),
            vec!["aws_access_key_id"]
        );
        assert_eq!(
            scan_line("t = 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789'"),
            vec!["github_token"]
        );
        assert_eq!(
            scan_line("k = \"sk-ant-api03-abcdefghijklmnopqrstuvwxyz\""),
            vec!["anthropic_api_key"]
        );
        assert_eq!(
            scan_line("-----BEGIN RSA PRIVATE KEY-----"),
            vec!["private_key"]
        );
        assert_eq!(
            scan_line("password = \"q8Zr2LmX9vT4kW7pN3sB6yHc\""),
            vec!["generic_secret"]
        );
        assert!(scan_line("password = \"aaaaaaaaaaaaaaaaaaaaaaaa\"").is_empty());
        assert!(scan_line("api_key = \"example-key-xxxxxxxxxxxxxxxxxxxx\"").is_empty());
        assert!(scan_line("AKIAIOSFODNN7EXAMPLE").is_empty());
        assert!(scan_line("let token = tokens.next();").is_empty());
    }

    #[test]
    fn redaction_replaces_values_and_keeps_names() {
        let text = "token = \"q8Zr2LmX9vT4kW7pN3sB6yHc\"\nk = sk-proj-abcdefghijklmnopqrstuv\n";
        let red = redact(text);
        assert_eq!(
            red,
            "token = \"[REDACTED:generic_secret]\"\nk = [REDACTED:openai_api_key]\n"
        );
        assert_eq!(redact(&red), red);
        assert_eq!(
            redact("a\n-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\nb"),
            "a\n[REDACTED:private_key]\nb"
        );
        assert_eq!(
            scan_line("DB_PASSWORD=Zq8r2Lm9vT4kW7pN3sB6"),
            vec!["generic_secret"]
        );
        assert!(scan_line("token = generate_token_for_user").is_empty());
        assert!(is_fixture_path("crate/tests/fixtures/a.py"));
    }
}
