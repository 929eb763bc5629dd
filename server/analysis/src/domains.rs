//! Sensitive domains (shell, unsafe, SQL, crypto, auth, …) as a data-driven table of lexical
//! patterns: what is not a call (SQL built from strings, TLS options turned off, auth and
//! crypto vocabulary, `unsafe`), and, for files that do not parse, the calls too.
//!
//! Calls in files that parse are resolved by name (`crate::resolve`) and looked up in
//! `crate::capabilities`; rows marked `resolved` are then skipped, so that a local function
//! named `system` or a regex's `exec` does not raise a change. Only lines the change adds are
//! scanned, and comment lines are skipped: untouched code never raises a change. A false
//! positive asks a person, a false negative auto-applies.

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
    /// Replaced by name resolution (`crate::resolve`) where the file parses: the row stays
    /// for files that do not.
    pub resolved: bool,
    /// Whether the reason quotes the matched text.
    pub show: bool,
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
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["python"],
        pattern: r"\b(?:eval|exec|compile)\s*\(",
        domain: Domain::Shell,
        what: "dynamic code execution (eval/exec)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["python"],
        pattern: r"\b(?:pickle|cPickle|dill|marshal|shelve)\.(?:loads?|Unpickler)|\byaml\.(?:load|unsafe_load)\s*\(",
        domain: Domain::Deserialization,
        what: "unsafe deserialization (pickle/yaml.load)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["python"],
        pattern: r"\bos\.(?:chmod|chown|umask)\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions (os.chmod)",
        resolved: true,
        show: false,
    },
    // Rust
    DomainRule {
        languages: &["rust"],
        pattern: r"\bunsafe\b",
        domain: Domain::Unsafe,
        what: "`unsafe` code",
        resolved: false,
        show: false,
    },
    DomainRule {
        languages: &["rust"],
        pattern: r"\b(?:std::)?process::Command\b|\bCommand::new\s*\(",
        domain: Domain::Shell,
        what: "process execution (std::process::Command)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["rust"],
        pattern: r"\bset_permissions\b|\bPermissionsExt\b|\bfrom_mode\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["rust"],
        pattern: r"\bbincode::deserialize|\bserde_pickle\b",
        domain: Domain::Deserialization,
        what: "binary deserialization",
        resolved: true,
        show: false,
    },
    // JavaScript / TypeScript
    DomainRule {
        languages: JS,
        pattern: r#"\bchild_process\b|\b(?:exec|execSync|spawn|spawnSync|execFile|fork)\s*\("#,
        domain: Domain::Shell,
        what: "process execution (child_process)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: JS,
        pattern: r"\beval\s*\(|\bnew\s+Function\s*\(",
        domain: Domain::Shell,
        what: "dynamic code execution (eval/new Function)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: JS,
        pattern: r"\b(?:setTimeout|setInterval)\s*\(\s*['`\x22]",
        domain: Domain::Shell,
        what: "code evaluation (a string given to setTimeout/setInterval)",
        resolved: false,
        show: false,
    },
    DomainRule {
        languages: JS,
        pattern: r"\.(?:innerHTML|outerHTML)\s*=|\bdangerouslySetInnerHTML\b|\bdocument\.write\s*\(",
        domain: Domain::Shell,
        what: "HTML injection sink (innerHTML)",
        resolved: false,
        show: false,
    },
    DomainRule {
        languages: JS,
        pattern: r"\b(?:fs\.)?(?:chmod|chown)(?:Sync)?\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions (chmod)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: JS,
        pattern: r"\bnode-serialize\b|\bunserialize\s*\(",
        domain: Domain::Deserialization,
        what: "unsafe deserialization",
        resolved: true,
        show: false,
    },
    // Go
    DomainRule {
        languages: &["go"],
        pattern: r#""os/exec"|\bexec\.Command(?:Context)?\s*\(|\bsyscall\.Exec\b"#,
        domain: Domain::Shell,
        what: "process execution (os/exec)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["go"],
        pattern: r#""unsafe"|\bunsafe\.Pointer\b"#,
        domain: Domain::Unsafe,
        what: "package unsafe",
        resolved: false,
        show: false,
    },
    DomainRule {
        languages: &["go"],
        pattern: r"\bos\.(?:Chmod|Chown|Lchown)\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions (os.Chmod)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["go"],
        pattern: r#"\bencoding/gob\b|\bgob\.NewDecoder\b"#,
        domain: Domain::Deserialization,
        what: "gob deserialization",
        resolved: true,
        show: false,
    },
    // Java
    DomainRule {
        languages: &["java"],
        pattern: r"\bRuntime\.getRuntime\(\)\.exec\b|\.exec\s*\(|\bProcessBuilder\b",
        domain: Domain::Shell,
        what: "process execution (Runtime.exec/ProcessBuilder)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["java"],
        pattern: r"\bObjectInputStream\b|\breadObject\s*\(|\bXMLDecoder\b",
        domain: Domain::Deserialization,
        what: "Java deserialization (ObjectInputStream)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["java"],
        pattern: r"\bsetExecutable|\bsetWritable|\bsetReadable|\bPosixFilePermissions?\b",
        domain: Domain::FilePermissions,
        what: "file permissions",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["java"],
        pattern: r"\bsun\.misc\.Unsafe\b",
        domain: Domain::Unsafe,
        what: "sun.misc.Unsafe",
        resolved: false,
        show: false,
    },
    // C
    DomainRule {
        languages: &["c"],
        pattern: r"\b(?:system|popen|execl|execlp|execle|execv|execvp|execve|execvpe|fork)\s*\(",
        domain: Domain::Shell,
        what: "process execution (system/popen/exec*)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["c"],
        pattern: r"\b(?:strcpy|strcat|sprintf|gets|memcpy|alloca)\s*\(",
        domain: Domain::Unsafe,
        what: "unchecked memory operation",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["c"],
        pattern: r"\b(?:chmod|fchmod|chown|umask|setuid|setgid)\s*\(",
        domain: Domain::FilePermissions,
        what: "file permissions (chmod/setuid)",
        resolved: true,
        show: false,
    },
    DomainRule {
        languages: &["c"],
        pattern: r"\b(?:socket|connect|bind|listen|accept)\s*\(",
        domain: Domain::Network,
        what: "raw sockets",
        resolved: true,
        show: false,
    },
    // Every file
    DomainRule {
        languages: &[],
        pattern: r#"(?i)["'`]\s*(?:SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|DROP|ALTER|CREATE\s+TABLE)\b[^"'`]*["'`]\s*(?:\+|%|\.format\b|\|\|)|(?i)\bf["'](?:SELECT|INSERT|UPDATE|DELETE)\b[^"']*\{|(?i)(?:format!|Sprintf|String\.format)\s*\(\s*"\s*(?:SELECT|INSERT|UPDATE|DELETE)\b|(?i)`\s*(?:SELECT|INSERT|UPDATE|DELETE)\b[^`]*\$\{"#,
        domain: Domain::Sql,
        what: "SQL built from strings",
        resolved: false,
        show: false,
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\b(?:execute|executemany|raw|query|exec_driver_sql)\s*\(\s*f?['`\x22][^'`\x22]*(?:SELECT|INSERT|UPDATE|DELETE)",
        domain: Domain::Sql,
        what: "raw SQL query",
        resolved: false,
        show: false,
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\bverify\s*=\s*False\b|\bdanger_accept_invalid_(?:certs|hostnames)\b|\bInsecureSkipVerify\s*:\s*true\b|\brejectUnauthorized\s*[:=]\s*(?:false|0)\b|NODE_TLS_REJECT_UNAUTHORIZED|\bCERT_NONE\b|\bcheck_hostname\s*=\s*False\b|\bTrustAllCerts|\bNoopHostnameVerifier\b|CURLOPT_SSL_VERIFY(?:PEER|HOST)\s*,\s*0L?\b|\bSSL_VERIFY_NONE\b|\bssl\._create_unverified_context\b|\bALLOW_ALL_HOSTNAME_VERIFIER\b|\bTrustAll\w*|HostnameVerifier\b[^;]*->\s*(?:\{\s*return\s+)?true\b|\bVerifyMode::NONE\b|\bset_verify\s*\(\s*(?:SslVerifyMode::NONE|SSL_VERIFY_NONE)|\bverify_mode\s*=\s*ssl\.CERT_NONE|\bsslVerify\s*:\s*false\b|\bstrictSSL\s*:\s*false\b",
        domain: Domain::Network,
        what: "turns TLS certificate verification off",
        resolved: false,
        show: true,
    },
    DomainRule {
        languages: &[],
        pattern: r#"(?i)(?:createHash|createHmac|createCipheriv|getInstance|hashlib\.new|hashes\.Hash|new)\s*\(\s*["'](?:md4|md5|sha-?1|des(?:ede)?\b[\w/-]*|rc4|arcfour|[a-z0-9-]+/ECB\b[\w/-]*|aes-\d+-ecb)["']|\bMODE_ECB\b|\bmodes\.ECB\b"#,
        domain: Domain::Crypto,
        what: "uses a broken hash or cipher",
        resolved: false,
        show: true,
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\b\w*(?:password|passwd|credential|secret)\w*|\bauth(?:n|z|entic\w*|ori[sz]\w*|_\w*|token\w*|header\w*|provider\w*|service\w*|middleware\w*|guard\w*|config\w*|user\w*)?\b|\w+_auth\w*|(?-i:[a-z0-9]+Auth\w*)|\b(?:login|logout|session_?(?:id|key|token)|access_?token|refresh_?token|api_?key|jwt|oauth2?|is_?admin|permissions?|roles?|acl|csrf|principal)\b",
        domain: Domain::Auth,
        what: "authentication or authorization code",
        resolved: false,
        show: false,
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\b\w*(?:crypt|cipher)\w*|\b(?:hmac|sha1|sha2|sha256|sha384|sha512|md5|ecdsa|ed25519|x25519|argon2|pbkdf2|nonce|hashlib|openssl|rustls|urandom|random_bytes|getrandom|SecureRandom|private_?key|signing_?key)|\b(?:aes|rsa)(?:\b|_)|\bring::|\bsecrets\.token",
        domain: Domain::Crypto,
        what: "cryptography",
        resolved: false,
        show: false,
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\bchmod\b|\bos\.ModePerm\b|\bsetuid\b|\bsudo\b",
        domain: Domain::FilePermissions,
        what: "file permissions (chmod)",
        resolved: false,
        show: false,
    },
    DomainRule {
        languages: &[],
        pattern: r"(?i)\b(?:requests|httpx|urllib3?|aiohttp)\.(?:get|post|put|delete|patch|request|Session|urlopen|AsyncClient|Client)\b|\bfetch\s*\(|\baxios\b|\bXMLHttpRequest\b|\bhttp\.(?:Get|Post|NewRequest|Client|ListenAndServe)\b|\bnet\.(?:Dial|Listen)\w*|\breqwest::|\bTcp(?:Stream|Listener)\b|\bUdpSocket\b|\bsocket\.socket\b|\bHttpClient\b|\bnew\s+(?:URL|Socket|ServerSocket)\s*\(|\bcurl_easy",
        domain: Domain::Network,
        what: "network access",
        resolved: false,
        show: false,
    },
];

/// The compiled pattern of rule `i`, built the first time a line of a language it applies to
/// is scanned (a process that judges one Rust file never builds the Python rows).
fn compiled(i: usize) -> &'static Regex {
    static COMPILED: [OnceLock<Regex>; DOMAIN_RULES.len()] =
        [const { OnceLock::new() }; DOMAIN_RULES.len()];
    COMPILED[i]
        .get_or_init(|| Regex::new(DOMAIN_RULES[i].pattern).expect("domain patterns are constants"))
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
    scan_line_with(line, lang, false)
        .into_iter()
        .map(|(d, w, _)| (d, w))
        .collect()
}

/// The domain hits of one added line: `(domain, what, the matched text for rows that show
/// it)`. With `resolved`, the rows that name resolution replaces are skipped (the file
/// parsed, and `crate::resolve` looked at its calls).
pub fn scan_line_with(
    line: &str,
    lang: Option<Language>,
    resolved: bool,
) -> Vec<(Domain, &'static str, Option<String>)> {
    if is_comment_line(line, lang) {
        return Vec::new();
    }
    let name = lang.map(Language::name);
    let mut out: Vec<(Domain, &'static str, Option<String>)> = Vec::new();
    for (i, rule) in DOMAIN_RULES.iter().enumerate() {
        if resolved && rule.resolved {
            continue;
        }
        let applies =
            rule.languages.is_empty() || name.is_some_and(|n| rule.languages.contains(&n));
        if !applies || out.iter().any(|(_, w, _)| *w == rule.what) {
            continue;
        }
        if let Some(m) = compiled(i).find(line) {
            let shown = rule.show.then(|| m.as_str().trim().to_owned());
            out.push((rule.domain, rule.what, shown));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_rows_fire() {
        for i in 0..DOMAIN_RULES.len() {
            assert!(!compiled(i).as_str().is_empty());
        }
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
        assert!(
            hit(
                "HostnameVerifier any = (host, session) -> true;",
                Language::Java
            )
            .contains(&Domain::Network)
        );
        assert!(
            hit(
                "conn.setHostnameVerifier((h, s) -> { return true; });",
                Language::Java
            )
            .contains(&Domain::Network)
        );
        assert!(hit("# subprocess.run(x)", Language::Python).is_empty());
        assert!(hit("    return a + b", Language::Python).is_empty());
        assert!(hit("author = 'me'", Language::Python).is_empty());
        assert!(hit("const x = getAuthToken();", Language::JavaScript).contains(&Domain::Auth));
        assert!(hit("if authorize(user):", Language::Python).contains(&Domain::Auth));
        assert!(hit("let total = items.iter().sum();", Language::Rust).is_empty());
    }
}
