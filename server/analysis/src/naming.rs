//! What the built-in operations need to know of each language beyond its grammar: names from
//! settings and `languageId`s, the names people use, which kinds are names, the reserved words,
//! whether a word can be an identifier, the words an identifier is made of, and whether it
//! names a secret.

use crate::languages::Language;

/// Shown in "unsupported language" errors.
pub const SUPPORTED: &str = "Rust .rs, Python .py, JavaScript .js/.jsx/.mjs/.cjs, TypeScript .ts/.tsx/.mts/.cts, Go .go, Java .java, C .c/.h";

impl Language {
    /// The language of an LSP `languageId` or a settings key (`rust`, `python`, `javascript`,
    /// `javascriptreact`, `typescript`, `typescriptreact`, `go`, `java`, `c`), case-insensitive.
    pub fn from_name(name: &str) -> Option<Language> {
        Some(match name.to_ascii_lowercase().as_str() {
            "rust" => Language::Rust,
            "python" => Language::Python,
            "javascript" | "javascriptreact" | "js" | "jsx" => Language::JavaScript,
            "typescript" | "ts" => Language::TypeScript,
            "typescriptreact" | "tsx" => Language::Tsx,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" => Language::C,
            _ => return None,
        })
    }

    /// The name people use, for messages (`Rust`, `TypeScript`).
    pub fn display_name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
            Language::TypeScript | Language::Tsx => "TypeScript",
            Language::Go => "Go",
            Language::Java => "Java",
            Language::C => "C",
        }
    }

    /// Languages whose files can refer to each other's symbols: JavaScript and TypeScript are
    /// one family (`Language::JavaScript`). The rename operation renames in every given file of the
    /// target's family, so the shell passes the workspace files for which this matches.
    pub fn family(self) -> Language {
        match self {
            Language::TypeScript | Language::Tsx => Language::JavaScript,
            other => other,
        }
    }

    /// Node kinds that are names of things (never strings, comments or keywords), exactly, per
    /// grammar: what a rename may touch.
    pub fn is_name_kind(self, kind: &str) -> bool {
        match self {
            Language::Rust => matches!(
                kind,
                "identifier"
                    | "type_identifier"
                    | "field_identifier"
                    | "shorthand_field_identifier"
            ),
            Language::Python => kind == "identifier",
            Language::JavaScript | Language::TypeScript | Language::Tsx => matches!(
                kind,
                "identifier"
                    | "property_identifier"
                    | "shorthand_property_identifier"
                    | "shorthand_property_identifier_pattern"
                    | "type_identifier"
            ),
            Language::Go => matches!(kind, "identifier" | "field_identifier" | "type_identifier"),
            Language::Java => matches!(kind, "identifier" | "type_identifier"),
            Language::C => matches!(kind, "identifier" | "field_identifier" | "type_identifier"),
        }
    }

    /// The reserved words of the language: never valid names.
    pub fn keywords(self) -> &'static [&'static str] {
        match self {
            Language::Rust => &[
                "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else",
                "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match",
                "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct",
                "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract",
                "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
                "typeof", "unsized", "virtual", "yield",
            ],
            Language::Python => &[
                "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
                "continue", "def", "del", "elif", "else", "except", "finally", "for", "from",
                "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass",
                "raise", "return", "try", "while", "with", "yield",
            ],
            Language::JavaScript | Language::TypeScript | Language::Tsx => &[
                "await",
                "break",
                "case",
                "catch",
                "class",
                "const",
                "continue",
                "debugger",
                "default",
                "delete",
                "do",
                "else",
                "enum",
                "export",
                "extends",
                "false",
                "finally",
                "for",
                "function",
                "if",
                "implements",
                "import",
                "in",
                "instanceof",
                "interface",
                "let",
                "new",
                "null",
                "package",
                "private",
                "protected",
                "public",
                "return",
                "static",
                "super",
                "switch",
                "this",
                "throw",
                "true",
                "try",
                "typeof",
                "var",
                "void",
                "while",
                "with",
                "yield",
            ],
            Language::Go => &[
                "break",
                "case",
                "chan",
                "const",
                "continue",
                "default",
                "defer",
                "else",
                "fallthrough",
                "for",
                "func",
                "go",
                "goto",
                "if",
                "import",
                "interface",
                "map",
                "package",
                "range",
                "return",
                "select",
                "struct",
                "switch",
                "type",
                "var",
            ],
            Language::Java => &[
                "abstract",
                "assert",
                "boolean",
                "break",
                "byte",
                "case",
                "catch",
                "char",
                "class",
                "const",
                "continue",
                "default",
                "do",
                "double",
                "else",
                "enum",
                "extends",
                "final",
                "finally",
                "float",
                "for",
                "goto",
                "if",
                "implements",
                "import",
                "instanceof",
                "int",
                "interface",
                "long",
                "native",
                "new",
                "package",
                "private",
                "protected",
                "public",
                "return",
                "short",
                "static",
                "strictfp",
                "super",
                "switch",
                "synchronized",
                "this",
                "throw",
                "throws",
                "transient",
                "try",
                "void",
                "volatile",
                "while",
                "true",
                "false",
                "null",
                "_",
            ],
            Language::C => &[
                "auto",
                "break",
                "case",
                "char",
                "const",
                "continue",
                "default",
                "do",
                "double",
                "else",
                "enum",
                "extern",
                "float",
                "for",
                "goto",
                "if",
                "inline",
                "int",
                "long",
                "register",
                "restrict",
                "return",
                "short",
                "signed",
                "sizeof",
                "static",
                "struct",
                "switch",
                "typedef",
                "union",
                "unsigned",
                "void",
                "volatile",
                "while",
                "bool",
                "true",
                "false",
                "nullptr",
                "alignas",
                "alignof",
                "static_assert",
                "thread_local",
                "typeof",
                "_Bool",
                "_Atomic",
                "_Generic",
                "_Noreturn",
            ],
        }
    }

    /// Why `name` cannot be an identifier in this language, or `None` if it can.
    pub fn invalid_identifier(self, name: &str) -> Option<String> {
        let mut chars = name.chars();
        let Some(first) = chars.next() else {
            return Some("it is empty".to_owned());
        };
        let dollar = matches!(
            self,
            Language::JavaScript | Language::TypeScript | Language::Tsx | Language::Java
        );
        let unicode = !matches!(self, Language::C);
        let is_start = |c: char| {
            c == '_'
                || (dollar && c == '$')
                || c.is_ascii_alphabetic()
                || (unicode && c.is_alphabetic())
        };
        let is_continue =
            |c: char| is_start(c) || c.is_ascii_digit() || (unicode && c.is_numeric());
        if !is_start(first) {
            return Some(format!("it cannot start with `{first}`"));
        }
        if let Some(bad) = name.chars().find(|&c| !is_continue(c)) {
            return Some(format!("it contains `{bad}`"));
        }
        if self.keywords().contains(&name) {
            return Some("it is a keyword".to_owned());
        }
        if self == Language::Rust && name == "_" {
            return Some("`_` is a pattern, not a name".to_owned());
        }
        None
    }
}

/// Splits an identifier into lower-case words (`sessionKey`, `session_key` → session, key).
pub(crate) fn name_words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        cur.push(ch.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a name says it holds a secret (a key, token, nonce, salt, …).
pub(crate) fn is_secret_name(name: &str) -> bool {
    const SECRET: &[&str] = &[
        "key",
        "keys",
        "token",
        "tokens",
        "nonce",
        "nonces",
        "salt",
        "salts",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "otp",
        "iv",
        "csrf",
        "xsrf",
        "apikey",
        "passphrase",
        "pin",
        "totp",
        "hotp",
        "credential",
        "credentials",
        "sessionid",
        "cookie",
        "seed",
        "challenge",
        "verifier",
    ];
    name_words(name)
        .iter()
        .any(|w| SECRET.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_languages_by_extension() {
        assert_eq!(Language::from_path("src/lib.rs"), Some(Language::Rust));
        assert_eq!(Language::from_path("a/b.TSX"), Some(Language::Tsx));
        assert_eq!(Language::from_path("x.h"), Some(Language::C));
        assert_eq!(Language::from_path("Makefile"), None);
        assert_eq!(Language::from_path("dir.rs/README"), None);
    }

    #[test]
    fn language_names() {
        assert_eq!(Language::from_name("TypeScriptReact"), Some(Language::Tsx));
        assert_eq!(
            Language::from_name("javascriptreact"),
            Some(Language::JavaScript)
        );
        assert_eq!(Language::from_name("cpp"), None);
    }

    #[test]
    fn identifier_rules() {
        assert_eq!(
            Language::Rust.invalid_identifier("fn"),
            Some("it is a keyword".into())
        );
        assert!(Language::Rust.invalid_identifier("new_name").is_none());
        assert!(Language::JavaScript.invalid_identifier("$el").is_none());
        assert!(Language::Python.invalid_identifier("$el").is_some());
        assert!(Language::C.invalid_identifier("naïve").is_some());
        assert!(Language::Go.invalid_identifier("1x").is_some());
        assert!(Language::Java.invalid_identifier("a-b").is_some());
    }
}
