//! Secret detection on added lines, and redaction of secrets from any text.
//!
//! Three kinds of rule, the same in every file kind (code, YAML, TOML, JSON, `.env`, INI,
//! Markdown):
//!
//! - provider key formats, matched by pattern (`AKIA…`, `ghp_…`, `sk-ant-…`, PEM blocks);
//! - credential-bearing URLs, `scheme://user:password@host` in any scheme (`user@host` alone
//!   is no credential);
//! - key-named values: a name whose words say it holds a secret (`*_KEY`, `signingKey`,
//!   `hmac_key`, `password`, `client_secret`, `*_TOKEN`, …) assigned a random-looking value
//!   (hex of 32 or more, base64-like of 20 or more with high entropy, or a short password
//!   mixing cases, digits and symbols), as a YAML/TOML/JSON key, an env assignment or a
//!   constant in any language.
//!
//! Detection keeps false positives low: placeholders (`${PASSWORD}`, `<password>`, `xxx`,
//! `changeme`, `example`, `dummy`, `test`…), all-same, repeated and sequential values
//! (`0123456789abcdef…`), public keys, and paths under `tests/fixtures` or `testdata` are
//! allowed. Redaction ([`redact`]) fails closed instead: no allowlist and no entropy threshold.
//! Findings never hold the secret itself: only the rule name.

use std::sync::OnceLock;

use regex::Regex;

/// How a rule's match is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The whole match is the secret (a provider key format).
    Whole,
    /// Group 1 is a name, group 2 its value; a secret when the name is key-named and the value
    /// random-looking.
    Named,
    /// Group 1 is the user, group 2 the password of a URL.
    Url,
    /// Like `Named`, for redaction only (fail closed): any unquoted value of 8 or more
    /// characters that mixes letters and digits, whatever its neighbours.
    NamedRedactOnly,
}

/// One detection rule: its name, pattern and shape.
struct Rule {
    name: &'static str,
    pattern: &'static str,
    shape: Shape,
}

/// Ordered: the more specific rules come first (`sk-ant-` before `sk-`).
const RULES: &[Rule] = &[
    Rule {
        name: "private_key",
        pattern: r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
        shape: Shape::Whole,
    },
    Rule {
        name: "aws_access_key_id",
        pattern: r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b",
        shape: Shape::Whole,
    },
    Rule {
        name: "github_token",
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        shape: Shape::Whole,
    },
    Rule {
        name: "slack_token",
        pattern: r"\bxox[bpars]-[A-Za-z0-9-]{10,}",
        shape: Shape::Whole,
    },
    Rule {
        name: "stripe_live_key",
        pattern: r"\b[sr]k_live_[A-Za-z0-9]{16,}",
        shape: Shape::Whole,
    },
    Rule {
        name: "google_api_key",
        pattern: r"\bAIza[0-9A-Za-z_\-]{35}",
        shape: Shape::Whole,
    },
    Rule {
        name: "anthropic_api_key",
        pattern: r"\bsk-ant-[A-Za-z0-9_\-]{20,}",
        shape: Shape::Whole,
    },
    Rule {
        name: "openai_api_key",
        pattern: r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
        shape: Shape::Whole,
    },
    Rule {
        name: "jwt",
        pattern: r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        shape: Shape::Whole,
    },
    Rule {
        name: "url_credentials",
        pattern: r#"(?i)\b[a-z][a-z0-9+.-]*://([^\s:/?#@"'`<>\\]+):([^\s/?#@"'`<>\\]+)@([^\s/?#@"'`<>\\]+)"#,
        shape: Shape::Url,
    },
    // A quoted value: `name = "…"`, `"name": "…"`, `name: '…'`, `NAME: &str = "…"`,
    // `name := "…"`, `name => "…"`.
    Rule {
        name: "generic_secret",
        pattern: r#"(?i)\b([a-z_][a-z0-9_.-]*)["'`]?\s*(?::\s*&?(?:'static\s+)?[a-z_][a-z0-9_:<>]*\s*)?(?::=|=>|[:=])\s*[bru]?["'`]([^"'`\s]{8,})["'`]"#,
        shape: Shape::Named,
    },
    // An unquoted value anywhere on the line (`hmac_key: 3f9a…`, `--set token=…`,
    // `` `SIGNING_KEY=…` ``): base64, hex or URL-safe characters only.
    Rule {
        name: "generic_secret",
        pattern: r#"(?i)\b([a-z_][a-z0-9_.-]*)\s*(?::=|=>|[:=])\s*([a-z0-9+/_=~-]{16,})"#,
        shape: Shape::Named,
    },
    // An unquoted value that is the rest of a line (`.env`, YAML, INI, a Markdown list, an
    // added or removed line of a diff), which may hold symbols: `DB_PASSWORD=S3cr3t!Pass@word`.
    Rule {
        name: "generic_secret",
        pattern: r#"(?i)^[+\-]?\s*(?:[-*>]\s+)?(?:export\s+|env\s+|set\s+)?([a-z_][a-z0-9_.-]*)\s*[:=]\s*([^\s"'`#(){}\[\],;]{8,})\s*(?:#.*)?$"#,
        shape: Shape::Named,
    },
    // Redaction only: an unquoted value up to the next space or quote (`DB_PASSWORD=S3cr3t!…"`
    // glued to a quote, or followed by more text on its line).
    Rule {
        name: "generic_secret",
        pattern: r#"(?i)\b([a-z_][a-z0-9_.-]*)\s*(?::=|=>|[:=])\s*([^\s"'`]{8,})"#,
        shape: Shape::NamedRedactOnly,
    },
];

/// The redaction variant of the rules: no word boundaries, so a key glued to other text is
/// still redacted (over-redaction is the safe failure).
fn compiled_for_redaction() -> &'static [(&'static Rule, Regex)] {
    static COMPILED: OnceLock<Vec<(&'static Rule, Regex)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        RULES
            .iter()
            .map(|r| {
                (
                    r,
                    Regex::new(&r.pattern.replace(r"\b", ""))
                        .expect("secret patterns are constants"),
                )
            })
            .collect()
    })
}

fn compiled() -> &'static [(&'static Rule, Regex)] {
    static COMPILED: OnceLock<Vec<(&'static Rule, Regex)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        RULES
            .iter()
            .map(|r| {
                (
                    r,
                    Regex::new(r.pattern).expect("secret patterns are constants"),
                )
            })
            .collect()
    })
}

/// A cheap prefilter for the key-named rules: a line without one of these words has no
/// key-named value ([`is_key_named`] needs one), and most lines of code have none.
fn mentions_a_secret_word(line: &str) -> bool {
    static WORDS: OnceLock<Regex> = OnceLock::new();
    WORDS
        .get_or_init(|| {
            Regex::new(r"(?i)key|pass|pwd|secret|token|credential|creds")
                .expect("the prefilter is a constant")
        })
        .is_match(line)
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

/// Values a test or a local setup uses on purpose: a placeholder word, one character repeated,
/// a short pattern repeated, or a run of consecutive characters (`0123456789abcdef`).
fn is_dummy_value(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if is_placeholder(&lower) || lower.contains("test") || lower.contains("mock") {
        return true;
    }
    let chars: Vec<char> = lower.chars().collect();
    let n = chars.len();
    if n == 0 {
        return true;
    }
    // A short period repeated: `abcabcabc…`, `aaaa…`.
    let periodic = (1..=n / 2).any(|p| (p..n).all(|i| chars[i] == chars[i - p]));
    // Mostly consecutive: `0123456789abcdef…`, `abcdefgh…`.
    let steps = chars
        .windows(2)
        .filter(|w| {
            let (a, b) = (w[0] as u32, w[1] as u32);
            b == a + 1 || (w[0] == '9' && w[1] == 'a') || (a == b + 1)
        })
        .count();
    // Consecutive bytes written in hex: `000102030405…`.
    let bytes: Vec<u8> = lower
        .as_bytes()
        .chunks(2)
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect();
    let byte_steps = bytes
        .windows(2)
        .filter(|w| w[1] == w[0].wrapping_add(1))
        .count();
    let sequential_bytes =
        n.is_multiple_of(2) && bytes.len() == n / 2 && byte_steps * 10 >= bytes.len() * 7;
    periodic || sequential_bytes || steps * 10 >= (n - 1) * 7
}

/// An identifier rather than a random value: word characters only, with at most two changes
/// between letters and digits (`X509RequestInheritOptions`, `build_cache_key_v2`). Random
/// base64 of 20 characters changes about five times.
fn is_identifier_like(value: &str) -> bool {
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return false;
    }
    let changes = value
        .as_bytes()
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    changes <= 2
}

/// Words of an identifier, lower-cased: `signingKey` → `signing key`, `SIGNING_KEY` →
/// `signing key`, `db.password` → `db password`.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Whether a name says that it holds a secret: one of its words ends in `password`, `passwd`,
/// `passphrase`, `secret`, `token`, `credential` (or is `pwd`, `pass`, `creds`), or a word
/// ends in `key` and is not followed by a word that makes it a key's description (`key_id`,
/// `key_path`, `key_name`…). Public keys are not secrets.
pub fn is_key_named(name: &str) -> bool {
    const STRONG: &[&str] = &[
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "credential",
        "credentials",
    ];
    const DESCRIBES: &[&str] = &[
        "id",
        "ids",
        "name",
        "names",
        "path",
        "file",
        "type",
        "size",
        "len",
        "length",
        "field",
        "prefix",
        "url",
        "uri",
        "column",
        "col",
        "index",
        "idx",
        "ref",
        "format",
        "alg",
        "algorithm",
        "env",
        "var",
        "header",
        "param",
    ];
    let words = words(name);
    if words.iter().any(|w| w == "public" || w == "pub") {
        return false;
    }
    // Words that may follow the one naming the secret: `signing_key_hex`, `api_key_b64`.
    const MODIFIES: &[&str] = &[
        "value", "hex", "b64", "base64", "bytes", "str", "string", "raw", "data", "material",
        "plain", "encoded", "enc", "pem", "der", "prod", "dev", "live",
    ];
    words.iter().enumerate().any(|(i, w)| {
        let rest = &words[i + 1..];
        if rest
            .first()
            .is_some_and(|n| DESCRIBES.contains(&n.as_str()))
        {
            return false;
        }
        let strong =
            STRONG.iter().any(|s| w.ends_with(s)) || matches!(w.as_str(), "pwd" | "pass" | "creds");
        // `key` says less than `secret`: only when it ends the name (`InheritPrivateKey`, not
        // `PrivateKeyAttestMask`).
        let key = (w.ends_with("key") || w.ends_with("keys"))
            && rest
                .iter()
                .all(|n| MODIFIES.contains(&n.as_str()) || n.bytes().all(|b| b.is_ascii_digit()));
        strong || key
    })
}

/// Whether the text before a value (`name`, `"name": `, `NAME: &str = `, or a name the
/// pattern took for a type, as in `a:SIGNING_KEY = `) holds a key-named identifier.
fn names_a_secret(prefix: &str) -> bool {
    prefix
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .any(|name| !name.is_empty() && is_key_named(name))
}

/// Whether a key-named value looks random enough to be a real secret.
fn looks_secret(value: &str, quoted: bool) -> bool {
    // URLs, paths (`/…`, `./…`, `C:\…`, `a::b`), variable references (`$CI_TOKEN`).
    if value.contains("://")
        || value.starts_with(['/', '$'])
        || value.starts_with("./")
        || value.contains('\\')
        || value.contains("::")
    {
        return false;
    }
    if is_dummy_value(value) {
        return false;
    }
    // Unquoted, an identifier (`X509RequestInheritOptions`) is code, not a value.
    if !quoted && is_identifier_like(value) {
        return false;
    }
    let n = value.chars().count();
    let has = |f: fn(&char) -> bool| value.chars().any(|c| f(&c));
    let (lower, upper, digit) = (
        has(char::is_ascii_lowercase),
        has(char::is_ascii_uppercase),
        has(char::is_ascii_digit),
    );
    let symbol = has(|c| c.is_ascii_punctuation());
    let hex = n >= 32 && value.chars().all(|c| c.is_ascii_hexdigit()) && digit && (lower || upper);
    if hex && entropy(value) >= 3.0 {
        return true;
    }
    // Words without a digit (`CLIENT_HANDSHAKE_TRAFFIC_SECRET`) are a name, not a key.
    let keyish = digit || value.contains(['+', '/', '=']);
    if n >= 20 && keyish && entropy(value) >= 3.5 && (quoted || (lower && upper && digit)) {
        return true;
    }
    // A password: short, but mixing every class of character.
    let shortest = if quoted { 10 } else { 12 };
    n >= shortest && lower && upper && digit && symbol && entropy(value) >= 3.0
}

/// Placeholders and well-known local defaults in a URL's password: `${DB_PASSWORD}`, `$PASS`,
/// `%s`, `<password>`, `*****`, `password`, `changeme`, `postgres`, or the user name again.
fn is_placeholder_password(user: &str, password: &str, host: &str) -> bool {
    const LOCAL_DEFAULTS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "changeme",
        "postgres",
        "mysql",
        "guest",
        "redis",
        "default",
        "opensesame",
        "letmein",
    ];
    let lower = password.to_ascii_lowercase();
    password.starts_with(['$', '%', '{', '<', '*', '['])
        || password.chars().count() < 6
        || is_placeholder(password)
        || password == user
        || LOCAL_DEFAULTS.contains(&lower.as_str())
        || lower.chars().all(|c| c == 'x' || c == '*' || c == '.')
        || is_documentation_host(host)
}

/// Hosts of examples and local setups (RFC 2606 and loopback): `localhost`, `127.0.0.1`,
/// `example.com`, `*.example`, `*.test`, `*.invalid`, `*.local`, `*.localhost`.
fn is_documentation_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let name = host
        .strip_prefix('[')
        .map_or(host.as_str(), |h| h.split(']').next().unwrap_or(h));
    let name = if name.contains("::") {
        name
    } else {
        name.split(':').next().unwrap_or(name)
    };
    name == "localhost"
        || name.starts_with("127.")
        || name == "::1"
        || name == "0.0.0.0"
        || ["example.com", "example.org", "example.net"]
            .iter()
            .any(|d| name == *d || name.ends_with(&format!(".{d}")))
        || [".example", ".test", ".invalid", ".local", ".localhost"]
            .iter()
            .any(|t| name.ends_with(t))
}

/// Whether a path holds test fixtures, whose secrets are fake by convention.
pub fn is_fixture_path(path: &str) -> bool {
    let p = format!("/{path}");
    p.contains("/tests/fixtures/") || p.contains("/testdata/") || p.contains("/test/fixtures/")
}

/// The rules whose secrets appear on `line`, allowlist applied.
pub fn scan_line(line: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    let named = mentions_a_secret_word(line);
    let url = line.contains("://");
    for (rule, re) in compiled() {
        let skip = match rule.shape {
            Shape::Named | Shape::NamedRedactOnly => !named,
            Shape::Url => !url,
            Shape::Whole => false,
        };
        if skip {
            continue;
        }
        for caps in re.captures_iter(line) {
            let whole = caps.get(0).map_or("", |m| m.as_str());
            let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
            let secret = match rule.shape {
                Shape::NamedRedactOnly => false,
                Shape::Whole => {
                    let anthropic_as_openai =
                        rule.name == "openai_api_key" && whole.starts_with("sk-ant-");
                    !anthropic_as_openai && !is_placeholder(whole)
                }
                Shape::Url => !is_placeholder_password(group(1), group(2), group(3)),
                Shape::Named => {
                    let value = group(2);
                    let quoted = caps
                        .get(2)
                        .is_some_and(|v| line[v.end()..].starts_with(['"', '\'', '`']));
                    let prefix = caps.get(2).map_or("", |v| {
                        &line[caps.get(0).map_or(0, |m| m.start())..v.start()]
                    });
                    found.is_empty()
                        && names_a_secret(prefix)
                        && !is_placeholder(whole)
                        && looks_secret(value, quoted)
                }
            };
            if secret && !found.contains(&rule.name) {
                found.push(rule.name);
            }
        }
    }
    found
}

const PEM_BEGIN: &str = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----";
const PEM_END: &str = r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----";

fn pem_patterns() -> &'static (Regex, Regex) {
    static PEM: OnceLock<(Regex, Regex)> = OnceLock::new();
    PEM.get_or_init(|| {
        (
            Regex::new(PEM_BEGIN).expect("the PEM pattern is a constant"),
            Regex::new(PEM_END).expect("the PEM pattern is a constant"),
        )
    })
}

/// Replaces every secret in `text` with `[REDACTED:<rule>]`.
///
/// Fail closed: unlike detection, no allowlist and no entropy threshold apply; a key-named
/// assignment is redacted from 8 characters on, a URL's password always. Only the value of
/// an assignment and the password of a URL are replaced; names, users and hosts stay
/// readable. A private key block is replaced whole.
pub fn redact(text: &str) -> String {
    redact_lines(text, false)
}

/// [`redact`] for a unified diff: each line's `+`, `-` or ` ` marker is kept, so that a line
/// with a secret still shows as added or removed, and every line of a private key block
/// becomes `[REDACTED:private_key]`.
pub fn redact_diff(diff: &str) -> String {
    redact_lines(diff, true)
}

fn redact_lines(text: &str, diff: bool) -> String {
    let (begin, end) = pem_patterns();
    let mut out = String::with_capacity(text.len());
    let mut in_pem = false;
    for raw in text.split_inclusive('\n') {
        let content = raw.trim_end_matches(['\n', '\r']);
        let eol = &raw[content.len()..];
        let (marker, body) = match content.chars().next() {
            Some(c @ ('+' | '-' | ' ')) if diff => content.split_at(c.len_utf8()),
            _ => ("", content),
        };
        if in_pem {
            match end.find(body) {
                Some(m) => {
                    in_pem = false;
                    if diff {
                        out.push_str(marker);
                        out.push_str("[REDACTED:private_key]");
                    }
                    out.push_str(&redact_line(&body[m.end()..]));
                    out.push_str(eol);
                }
                None if diff => {
                    out.push_str(marker);
                    out.push_str("[REDACTED:private_key]");
                    out.push_str(eol);
                }
                None => {}
            }
            continue;
        }
        match begin.find(body) {
            Some(m) => {
                out.push_str(marker);
                out.push_str(&redact_line(&body[..m.start()]));
                out.push_str("[REDACTED:private_key]");
                let rest = &body[m.end()..];
                match end.find(rest) {
                    Some(e) => out.push_str(&redact_line(&rest[e.end()..])),
                    None => in_pem = true,
                }
                if !in_pem || diff {
                    out.push_str(eol);
                }
            }
            None => {
                out.push_str(marker);
                out.push_str(&redact_line(body));
                out.push_str(eol);
            }
        }
    }
    out
}

/// Redacts one line (no line breaks) with every rule but the PEM block.
fn redact_line(line: &str) -> String {
    let mut out = line.to_owned();
    let named = mentions_a_secret_word(line);
    let url = line.contains("://");
    for (rule, re) in compiled_for_redaction() {
        let skip = match rule.shape {
            Shape::Named | Shape::NamedRedactOnly => !named,
            Shape::Url => !url,
            Shape::Whole => rule.name == "private_key",
        };
        if skip || !re.is_match(&out) {
            continue;
        }
        out = match rule.shape {
            Shape::Whole => re
                .replace_all(&out, format!("[REDACTED:{}]", rule.name).as_str())
                .into_owned(),
            Shape::Url | Shape::Named | Shape::NamedRedactOnly => replace_values(rule, re, &out),
        };
    }
    out
}

/// Replaces group 2 (a value, a URL's password) of every match of `re` that is a secret to
/// redaction. A value that is not replaced is searched again, since it may hold an assignment
/// of its own (`a=DB_PASSWORD=…`), which a non-overlapping search would skip.
fn replace_values(rule: &Rule, re: &Regex, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let (Some(m), Some(v)) = (caps.get(0), caps.get(2)) else {
            continue;
        };
        out.push_str(&text[last..m.start()]);
        out.push_str(&text[m.start()..v.start()]);
        let value = v.as_str();
        let named = rule.shape == Shape::Url || names_a_secret(&text[m.start()..v.start()]);
        let mixed = value.chars().any(|c| c.is_ascii_digit())
            && value.chars().any(|c| c.is_ascii_alphabetic());
        let wanted = rule.shape != Shape::NamedRedactOnly || mixed;
        if value.contains("[REDACTED:") {
            out.push_str(value);
        } else if named && wanted {
            out.push_str(&format!("[REDACTED:{}]", rule.name));
        } else if rule.shape == Shape::Url {
            out.push_str(value);
        } else {
            out.push_str(&replace_values(rule, re, value));
        }
        out.push_str(&text[v.end()..m.end()]);
        last = m.end();
    }
    out.push_str(&text[last..]);
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
    /// A random-looking 64-hex value (a SHA-256 HMAC key).
    const HEX64: &str = "3f9a0c7be21d4e58a6b9f0c3d7e2a1b48c5d6e7f90a1b2c3d4e5f6a7b8c9d0e1";

    #[test]
    fn credential_urls_are_secrets_in_any_scheme_and_file_kind() {
        for line in [
            "DATABASE_URL=postgres://u:Pr0dPassw0rd@db.internal/app",
            "url: \"postgres://app:hunter2hunter@db.internal:5432/app\"",
            "conn = 'mysql://root:s3cr3t-Pa55@10.0.0.4/db'",
            "redis_url = \"rediss://default:a8f9d7c6b5@cache.internal:6380\"",
            "- amqp://svc:Zx81kLm02@mq.internal/vhost",
            "See `https://deploy:ghs8Fq2LmZ@git.internal/org/repo.git`.",
            "{\"dsn\": \"mongodb+srv://u:9fQ2mZ7x@cluster0.internal/db\"}",
        ] {
            assert_eq!(scan_line(line), vec!["url_credentials"], "{line}");
        }
        for line in [
            "git clone ssh://git@github.com/org/repo.git",
            "url = \"https://user@example.org/x\"",
            "DATABASE_URL=postgres://u:${DB_PASSWORD}@db/app",
            "DATABASE_URL=postgres://u:$DB_PASSWORD@db/app",
            "dsn = \"postgres://user:<password>@localhost/app\"",
            "dsn = \"postgres://postgres:postgres@localhost:5432/test\"",
            "dsn = \"postgres://user:password@localhost/app\"",
            "dsn = \"postgres://user:changeme@localhost/app\"",
            "dsn = \"postgres://user:xxx@localhost/app\"",
            "see http://localhost:8080/path and http://[::1]:3000/",
        ] {
            assert!(scan_line(line).is_empty(), "{line}: {:?}", scan_line(line));
        }
    }

    #[test]
    fn key_named_high_entropy_values_are_secrets_in_every_file_kind() {
        for line in [
            format!("hmac_key: {HEX64}"),
            format!("hmac_key: \"{HEX64}\""),
            format!("SIGNING_KEY = \"{HEX64}\""),
            format!("SIGNING_KEY = '{HEX64}'  # rotate yearly"),
            format!("const SIGNING_KEY: &str = \"{HEX64}\";"),
            format!("pub static HMAC_KEY: &'static str = \"{HEX64}\";"),
            format!("const signingKey = \"{HEX64}\";"),
            format!("signingKey := \"{HEX64}\""),
            format!("  \"signing_key\": \"{HEX64}\","),
            format!("export ENCRYPTION_KEY={HEX64}"),
            format!("encryption_key = {HEX64}"),
            format!("- `SIGNING_KEY={HEX64}`"),
            "client_secret: Zq8r2Lm9vT4kW7pN3sB6yHcX".to_owned(),
            "private_key = \"MIIEvQIBADANBgkqhkiG9w0BAQ\"".to_owned(),
            "DB_PASSWORD=S3cr3t!Pass@w0rd".to_owned(),
            "db_password = \"Tr0ub4dor&3x\"".to_owned(),
        ] {
            assert_eq!(scan_line(&line), vec!["generic_secret"], "{line}");
        }
    }

    #[test]
    fn test_dummies_descriptions_and_public_values_are_not_secrets() {
        for line in [
            "api_key = \"test\"",
            "SIGNING_KEY = \"dummy-signing-key-for-tests-only-123\"",
            "hmac_key: 0000000000000000000000000000000000000000000000000000000000000000",
            "hmac_key: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "hmac_key: abababababababababababababababababababababababab",
            "secret_key = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
            "public_key = \"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4rT9\"",
            "publicKey: \"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4rT9\"",
            "key_path = \"/etc/ssl/private/server-2024.key\"",
            "signing_key_id = \"k2024Q7Zr8mX4vT1pL9wN3s\"",
            "token_endpoint = \"https://login.microsoftonline.com/common/oauth2/v2.0/token\"",
            "sha256 = \"3f9a0c7be21d4e58a6b9f0c3d7e2a1b48c5d6e7f90a1b2c3d4e5f6a7b8c9d0e1\"",
            "commit: 3f9a0c7be21d4e58a6b9f0c3d7e2a1b48c5d6e7f",
            "let token = tokens.next();",
            "cache_key = build_cache_key_for_user_v2",
            "password = os.environ[\"DB_PASSWORD\"]",
            "api_key: ${{ secrets.API_KEY }}",
            // Seen in real code (a scan of the crates this workspace depends on).
            r#"let key = r"SOFTWARE\WOW6432Node\Microsoft\VisualStudio\SxS\VS7";"#,
            "key: \"$CI_COMMIT_REF_SLUG:$RUST_VERSION\"",
            "const NUMBER_TOKEN: &str = \"$serde_json::private::Number\";",
            "ClientHandshakeTrafficSecret => \"CLIENT_HANDSHAKE_TRAFFIC_SECRET\",",
            "pub const InheritPrivateKey: X509RequestInheritOptions = 3i32;",
            "pub const PrivateKeyAttestMask: X509CertificateTemplatePrivateKeyFlag = 12288i32;",
            "//! Key = 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            ".all(\"https://Aladdin:opensesame@localhost:8887\")",
            "let url = Url::parse(\"ftp://rms:secret123@example.com\")?;",
            "let base: Url = \"moz://foo:bar@servo/baz\".parse()?;",
        ] {
            assert!(scan_line(line).is_empty(), "{line}: {:?}", scan_line(line));
        }
    }

    #[test]
    fn every_new_kind_is_redacted_and_stays_redacted() {
        let text = format!(
            "DATABASE_URL=postgres://u:Pr0dPassw0rd@db.internal/app\nhmac_key: {HEX64}\n\
             SIGNING_KEY = \"{HEX64}\"\nDB_PASSWORD=S3cr3t!Pass@w0rd\n"
        );
        let red = redact(&text);
        assert_eq!(
            red,
            "DATABASE_URL=postgres://u:[REDACTED:url_credentials]@db.internal/app\n\
             hmac_key: [REDACTED:generic_secret]\nSIGNING_KEY = \"[REDACTED:generic_secret]\"\n\
             DB_PASSWORD=[REDACTED:generic_secret]\n"
        );
        assert_eq!(redact(&red), red);
        for line in red.lines() {
            assert!(scan_line(line).is_empty(), "{line}");
        }
    }

    #[test]
    fn diff_redaction_keeps_markers_and_masks_key_blocks() {
        let diff = format!(
            "--- a/k.pem\n+++ b/k.pem\n@@ -0,0 +1,4 @@\n+-----BEGIN PRIVATE KEY-----\n+MIIEvQIBADAN\n\
             +-----END PRIVATE KEY-----\n+hmac_key: {HEX64}\n-old = 1\n"
        );
        assert_eq!(
            redact_diff(&diff),
            "--- a/k.pem\n+++ b/k.pem\n@@ -0,0 +1,4 @@\n+[REDACTED:private_key]\n\
             +[REDACTED:private_key]\n+[REDACTED:private_key]\n+hmac_key: [REDACTED:generic_secret]\n\
             -old = 1\n"
        );
    }
}
