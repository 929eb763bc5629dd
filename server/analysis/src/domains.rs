//! Sensitive domains (shell, unsafe, SQL, crypto, auth, …) as a data-driven table.
//!
//! Only lines the change adds are scanned, and comment lines are skipped: untouched code never
//! raises a change. Matching is lexical on purpose: a false positive asks a person, a false
//! negative auto-applies.

use std::sync::OnceLock;

use regex::Regex;

use crate::impact::Domain;
use crate::languages::Language;

/// One row of [`DOMAIN_RULES`].
#[derive(Clone, Copy, Debug)]
pub struct DomainRule {
    /// Languages the row applies to (`Language::name`); empty means every file.
    pub languages: &'static [&'static str],
    /// A regular expression matched against each added line.
    pub pattern: &'static str,
    pub domain: Domain,
    /// What the row detects, for the reason text.
    pub what: &'static str,
}

const JS: &[&str] = &["javascript", "typescript", "tsx"];

/// The table of sensitive patterns, per language, then for every file.
///
/// To add a rule, add a row: `(languages, pattern, domain, what)`. A test checks that every
/// pattern compiles.
pub const DOMAIN_RULES: &[DomainRule] = &[
    // Python
    DomainRule {
        languages: &["python"],
        pattern: r"\bsubprocess\.|\bos\.(?:system|popen|exec\w*|spawn\w*)\s*\(|\bcommands\.getoutput",
        domain: Domain::Shell,
        what: "process execution (subprocess/os.system)",
    },
    DomainRule {
        languages: &["python"],
        pattern: r"\b(?:eval|exec|compile)\s*\(",
        domain: Domain::Shell,
        what: "dynamic code execution (eval/exec)",
    },
    DomainRule {
        languages: &["python"],
        pattern: r"\b(?:pickle|cPickle|dill|marshal|shelve)\.(?:loads?|Unpickler)|\byaml\.(?:load|unsafe_load)\s*\(",
        domain: Domain::Deserialization,
        what: "unsafe deserialization (pickle/yaml.load)",
    },
    DomainRule {
        languages: &["python"],
        pattern: r"\bos\.(?:chmod|chown|umask)\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions (os.chmod)",
    },
    // Rust
    DomainRule {
        languages: &["rust"],
        pattern: r"\bunsafe\b",
        domain: Domain::Unsafe,
        what: "`unsafe` code",
    },
    DomainRule {
        languages: &["rust"],
        pattern: r"\b(?:std::)?process::Command\b|\bCommand::new\s*\(",
        domain: Domain::Shell,
        what: "process execution (std::process::Command)",
    },
    DomainRule {
        languages: &["rust"],
        pattern: r"\bset_permissions\b|\bPermissionsExt\b|\bfrom_mode\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions",
    },
    DomainRule {
        languages: &["rust"],
        pattern: r"\bbincode::deserialize|\bserde_pickle\b",
        domain: Domain::Deserialization,
        what: "binary deserialization",
    },
    // JavaScript / TypeScript
    DomainRule {
        languages: JS,
        pattern: r#"\bchild_process\b|\b(?:exec|execSync|spawn|spawnSync|execFile|fork)\s*\("#,
        domain: Domain::Shell,
        what: "process execution (child_process)",
    },
    DomainRule {
        languages: JS,
        pattern: r"\beval\s*\(|\bnew\s+Function\s*\(|\bsetTimeout\s*\(\s*['`]",
        domain: Domain::Shell,
        what: "dynamic code execution (eval/new Function)",
    },
    DomainRule {
        languages: JS,
        pattern: r"\.(?:innerHTML|outerHTML)\s*=|\bdangerouslySetInnerHTML\b|\bdocument\.write\s*\(",
        domain: Domain::Shell,
        what: "HTML injection sink (innerHTML)",
    },
    DomainRule {
        languages: JS,
        pattern: r"\b(?:fs\.)?(?:chmod|chown)(?:Sync)?\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions (chmod)",
    },
    DomainRule {
        languages: JS,
        pattern: r"\bnode-serialize\b|\bunserialize\s*\(",
        domain: Domain::Deserialization,
        what: "unsafe deserialization",
    },
    // Go
    DomainRule {
        languages: &["go"],
        pattern: r#""os/exec"|\bexec\.Command(?:Context)?\s*\(|\bsyscall\.Exec\b"#,
        domain: Domain::Shell,
        what: "process execution (os/exec)",
    },
    DomainRule {
        languages: &["go"],
        pattern: r#""unsafe"|\bunsafe\.Pointer\b"#,
        domain: Domain::Unsafe,
        what: "package unsafe",
    },
    DomainRule {
        languages: &["go"],
        pattern: r"\bos\.(?:Chmod|Chown|Lchown)\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions (os.Chmod)",
    },
    DomainRule {
        languages: &["go"],
        pattern: r#"\bencoding/gob\b|\bgob\.NewDecoder\b"#,
        domain: Domain::Deserialization,
        what: "gob deserialization",
    },
    // Java
    DomainRule {
        languages: &["java"],
        pattern: r"\bRuntime\.getRuntime\(\)\.exec\b|\.exec\s*\(|\bProcessBuilder\b",
        domain: Domain::Shell,
        what: "process execution (Runtime.exec/ProcessBuilder)",
    },
    DomainRule {
        languages: &["java"],
        pattern: r"\bObjectInputStream\b|\breadObject\s*\(|\bXMLDecoder\b",
        domain: Domain::Deserialization,
        what: "Java deserialization (ObjectInputStream)",
    },
    DomainRule {
        languages: &["java"],
        pattern: r"\bsetExecutable|\bsetWritable|\bsetReadable|\bPosixFilePermissions?\b",
        domain: Domain::FilePermissions,
        what: "file permissions",
    },
    DomainRule {
        languages: &["java"],
        pattern: r"\bsun\.misc\.Unsafe\b",
        domain: Domain::Unsafe,
        what: "sun.misc.Unsafe",
    },
    // C
    DomainRule {
        languages: &["c"],
        pattern: r"\b(?:system|popen|execl|execlp|execle|execv|execvp|execve|execvpe|fork)\s*\(",
        domain: Domain::Shell,
        what: "process execution (system/popen/exec*)",
    },
    DomainRule {
        languages: &["c"],
        pattern: r"\b(?:strcpy|strcat|sprintf|gets|memcpy|alloca)\s*\(",
        domain: Domain::Unsafe,
        what: "unchecked memory operation",
    },
    DomainRule {
        languages: &["c"],
        pattern: r"\b(?:chmod|fchmod|chown|umask|setuid|setgid)\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions (chmod/setuid)",
    },
    DomainRule {
        languages: &["c"],
        pattern: r"\b(?:socket|connect|bind|listen|accept)\s*\(",
        domain: Domain::Network,
        what: "raw sockets",
    },
    // Every file
    DomainRule {
        languages: &[],
        pattern: r#"(?i)["'`]\s*(?:SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|DROP|ALTER|CREATE\s+TABLE)\b[^"'`]*["'`]\s*(?:\+|%|\.format\b|\|\|)|(?i)\bf["'](?:SELECT|INSERT|UPDATE|DELETE)\b[^"']*\{|(?i)(?:format!|Sprintf|String\.format)\s*\(\s*"\s*(?:SELECT|INSERT|UPDATE|DELETE)\b|(?i)`\s*(?:SELECT|INSERT|UPDATE|DELETE)\b[^`]*\$\{"#,
        domain: Domain::Sql,
        what: "SQL built from strings",
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\b(?:execute|executemany|raw|query|exec_driver_sql)\s*\(\s*f?['`\x22][^'`\x22]*(?:SELECT|INSERT|UPDATE|DELETE)",
        domain: Domain::Sql,
        what: "raw SQL query",
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\bverify\s*=\s*False\b|\bdanger_accept_invalid_(?:certs|hostnames)\b|\bInsecureSkipVerify\s*:\s*true\b|\brejectUnauthorized\s*:\s*false\b|NODE_TLS_REJECT_UNAUTHORIZED|\bCERT_NONE\b|\bcheck_hostname\s*=\s*False\b|\bTrustAllCerts|\bNoopHostnameVerifier\b|CURLOPT_SSL_VERIFY(?:PEER|HOST)\s*,\s*0",
        domain: Domain::Network,
        what: "TLS verification turned off",
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\b\w*(?:password|passwd|credential|secret)\w*|\bauth(?:n|z|entic\w*|ori[sz]\w*|_\w*|token\w*|header\w*|provider\w*|service\w*|middleware\w*|guard\w*|config\w*|user\w*)?\b|\w+_auth\w*|(?-i:[a-z0-9]+Auth\w*)|\b(?:login|logout|session_?(?:id|key|token)|access_?token|refresh_?token|api_?key|jwt|oauth2?|is_?admin|permissions?|roles?|acl|csrf|principal)\b",
        domain: Domain::Auth,
        what: "authentication or authorization code",
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\b\w*(?:crypt|cipher)\w*|\b(?:hmac|sha1|sha2|sha256|sha384|sha512|md5|ecdsa|ed25519|x25519|argon2|pbkdf2|nonce|hashlib|openssl|rustls|urandom|random_bytes|getrandom|SecureRandom|private_?key|signing_?key)|\b(?:aes|rsa)(?:\b|_)|\bring::|\bsecrets\.token",
        domain: Domain::Crypto,
        what: "cryptography",
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\bchmod\b|\bos\.ModePerm\b|\bsetuid\b|\bsudo\b",
        domain: Domain::FilePermissions,
        what: "file permissions (chmod)",
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\b(?:requests|httpx|urllib3?|aiohttp)\.(?:get|post|put|delete|patch|request|Session|urlopen|AsyncClient|Client)\b|\bfetch\s*\(|\baxios\b|\bXMLHttpRequest\b|\bhttp\.(?:Get|Post|NewRequest|Client|ListenAndServe)\b|\bnet\.(?:Dial|Listen)\w*|\breqwest::|\bTcp(?:Stream|Listener)\b|\bUdpSocket\b|\bsocket\.socket\b|\bHttpClient\b|\bnew\s+(?:URL|Socket|ServerSocket)\s*\(|\bcurl_easy",
        domain: Domain::Network,
        what: "network access",
    },
];

fn compiled() -> &'static [Regex] {
    static COMPILED: OnceLock<Vec<Regex>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        DOMAIN_RULES
            .iter()
            .map(|r| Regex::new(r.pattern).expect("domain patterns are constants"))
            .collect()
    })
}

/// Whether a line is a comment line in `lang` (comment lines never count).
fn is_comment_line(line: &str, lang: Option<Language>) -> bool {
    let t = line.trim_start();
    match lang {
        Some(l) => l.line_comment_prefixes().iter().any(|p| t.starts_with(p)),
        None => t.starts_with('#') || t.starts_with("//"),
    }
}

/// Whether a path is prose (Markdown, reStructuredText, plain text): not scanned for domains,
/// since nothing in it runs.
pub fn is_documentation(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".md", ".markdown", ".rst", ".txt", ".adoc"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// The domain hits of one added line: `(domain, what)`.
pub fn scan_line(line: &str, lang: Option<Language>) -> Vec<(Domain, &'static str)> {
    if is_comment_line(line, lang) {
        return Vec::new();
    }
    let name = lang.map(Language::name);
    let mut out: Vec<(Domain, &'static str)> = Vec::new();
    for (rule, re) in DOMAIN_RULES.iter().zip(compiled()) {
        let applies =
            rule.languages.is_empty() || name.is_some_and(|n| rule.languages.contains(&n));
        if applies && re.is_match(line) && !out.iter().any(|(_, w)| *w == rule.what) {
            out.push((rule.domain, rule.what));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_rows_fire() {
        assert_eq!(compiled().len(), DOMAIN_RULES.len());
        let hit = |line: &str, lang| {
            scan_line(line, Some(lang))
                .into_iter()
                .map(|(d, _)| d)
                .collect::<Vec<_>>()
        };
        assert!(
            hit("    subprocess.run(cmd, shell=True)", Language::Python).contains(&Domain::Shell)
        );
        assert!(
            hit("    data = pickle.loads(blob)", Language::Python)
                .contains(&Domain::Deserialization)
        );
        assert!(hit("    unsafe { ptr.read() }", Language::Rust).contains(&Domain::Unsafe));
        assert!(hit("el.innerHTML = html;", Language::JavaScript).contains(&Domain::Shell));
        assert!(hit("cmd := exec.Command(\"ls\")", Language::Go).contains(&Domain::Shell));
        assert!(hit("new ProcessBuilder(args).start();", Language::Java).contains(&Domain::Shell));
        assert!(hit("system(buf);", Language::C).contains(&Domain::Shell));
        assert!(
            hit(
                "cur.execute(\"SELECT * FROM t WHERE id = \" + uid)",
                Language::Python
            )
            .contains(&Domain::Sql)
        );
        assert!(
            hit("r = requests.get(url, verify=False)", Language::Python).contains(&Domain::Network)
        );
        assert!(hit("if check_password(user, pw):", Language::Python).contains(&Domain::Auth));
        assert!(hit("h = hashlib.sha256(data)", Language::Python).contains(&Domain::Crypto));
        assert!(hit("# subprocess.run(x)", Language::Python).is_empty());
        assert!(hit("    return a + b", Language::Python).is_empty());
        assert!(hit("author = 'me'", Language::Python).is_empty());
        assert!(hit("const x = getAuthToken();", Language::JavaScript).contains(&Domain::Auth));
        assert!(hit("if authorize(user):", Language::Python).contains(&Domain::Auth));
        assert!(hit("let total = items.iter().sum();", Language::Rust).is_empty());
    }
}
