//! The names a policy file may use for change kinds, domains and languages.
//!
//! Kinds and domains are spelled as the analyzer serializes them (snake_case). A test checks
//! that every name here is one the analyzer produces.

use serde::Serialize;

/// Change kinds, as `autogate-analysis` serializes `ChangeKind`.
pub const KINDS: &[&str] = &[
    "format_only",
    "comment_only",
    "rename",
    "body_only",
    "signature_change",
    "visibility_change",
    "symbol_added",
    "symbol_removed",
    "file_created",
    "file_deleted",
    "file_renamed",
    "other",
];

/// Sensitive domains, as `autogate-analysis` serializes `Domain`.
pub const DOMAINS: &[&str] = &[
    "auth",
    "crypto",
    "sql",
    "shell",
    "unsafe",
    "deserialization",
    "file_permissions",
    "network",
];

/// Language names (LSP language identifiers), compared case-insensitively.
pub const LANGUAGES: &[&str] = &[
    "c",
    "cpp",
    "csharp",
    "css",
    "dockerfile",
    "go",
    "html",
    "java",
    "javascript",
    "javascriptreact",
    "json",
    "kotlin",
    "lua",
    "markdown",
    "php",
    "python",
    "ruby",
    "rust",
    "scala",
    "shellscript",
    "sql",
    "swift",
    "terraform",
    "toml",
    "typescript",
    "typescriptreact",
    "yaml",
    "plaintext",
];

/// The name a unit enum variant serializes to (`ChangeKind::FormatOnly` → `format_only`).
pub fn serialized_name<T: Serialize>(value: &T) -> Option<String> {
    match toml::Value::try_from(value) {
        Ok(toml::Value::String(name)) => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autogate_analysis::{ChangeKind, Domain};

    #[test]
    fn kind_and_domain_names_are_the_analyzers() {
        let names: Vec<_> = ChangeKind::ALL.iter().filter_map(serialized_name).collect();
        assert_eq!(names, KINDS);
        let names: Vec<_> = Domain::ALL.iter().filter_map(serialized_name).collect();
        assert_eq!(names, DOMAINS);
    }
}
