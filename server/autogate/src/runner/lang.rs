//! Languages the runner knows: detection from the path, tree-sitter grammars, identifier rules.

use tree_sitter::{Node, Parser, Tree};

use super::RunError;
use super::tidy::tidy_text;

/// Shown in "unsupported language" errors.
pub(crate) const SUPPORTED: &str = "Rust .rs, Python .py, JavaScript .js/.jsx/.mjs/.cjs, TypeScript .ts/.tsx/.mts/.cts, Go .go, Java .java, C .c/.h";

/// A language the built-in operations understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    /// TypeScript with JSX (`.tsx`): its own grammar.
    Tsx,
    Go,
    Java,
    C,
}

impl Lang {
    /// The language of a workspace-relative path, by extension.
    pub fn from_path(path: &str) -> Option<Lang> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "rs" => Lang::Rust,
            "py" | "pyi" => Lang::Python,
            "js" | "jsx" | "mjs" | "cjs" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "java" => Lang::Java,
            "c" | "h" => Lang::C,
            _ => return None,
        })
    }

    /// The language of an LSP `languageId` or a settings key (`rust`, `python`, `javascript`,
    /// `javascriptreact`, `typescript`, `typescriptreact`, `go`, `java`, `c`), case-insensitive.
    pub fn from_name(name: &str) -> Option<Lang> {
        Some(match name.to_ascii_lowercase().as_str() {
            "rust" => Lang::Rust,
            "python" => Lang::Python,
            "javascript" | "javascriptreact" | "js" | "jsx" => Lang::JavaScript,
            "typescript" | "ts" => Lang::TypeScript,
            "typescriptreact" | "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "java" => Lang::Java,
            "c" => Lang::C,
            _ => return None,
        })
    }

    /// The name people use, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::JavaScript => "JavaScript",
            Lang::TypeScript | Lang::Tsx => "TypeScript",
            Lang::Go => "Go",
            Lang::Java => "Java",
            Lang::C => "C",
        }
    }

    /// Languages whose files can refer to each other's symbols: JavaScript and TypeScript are
    /// one family (`Lang::JavaScript`). [`super::rename`] renames in every given file of the
    /// target's family, so the shell passes the workspace files for which this matches.
    pub fn family(self) -> Lang {
        match self {
            Lang::TypeScript | Lang::Tsx => Lang::JavaScript,
            other => other,
        }
    }

    fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::C => tree_sitter_c::LANGUAGE.into(),
        }
    }

    /// Parses `text`; `None` only if the grammar could not be loaded (a build problem).
    pub(crate) fn parse(self, text: &str) -> Option<Tree> {
        let mut parser = Parser::new();
        parser.set_language(&self.grammar()).ok()?;
        parser.parse(text, None)
    }

    /// Node kinds that are names of things (never strings, comments or keywords).
    pub(crate) fn is_identifier_kind(self, kind: &str) -> bool {
        match self {
            Lang::Rust => matches!(
                kind,
                "identifier"
                    | "type_identifier"
                    | "field_identifier"
                    | "shorthand_field_identifier"
            ),
            Lang::Python => kind == "identifier",
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => matches!(
                kind,
                "identifier"
                    | "property_identifier"
                    | "shorthand_property_identifier"
                    | "shorthand_property_identifier_pattern"
                    | "type_identifier"
            ),
            Lang::Go => matches!(kind, "identifier" | "field_identifier" | "type_identifier"),
            Lang::Java => matches!(kind, "identifier" | "type_identifier"),
            Lang::C => matches!(kind, "identifier" | "field_identifier" | "type_identifier"),
        }
    }

    fn keywords(self) -> &'static [&'static str] {
        match self {
            Lang::Rust => &[
                "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else",
                "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match",
                "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct",
                "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract",
                "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
                "typeof", "unsized", "virtual", "yield",
            ],
            Lang::Python => &[
                "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
                "continue", "def", "del", "elif", "else", "except", "finally", "for", "from",
                "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass",
                "raise", "return", "try", "while", "with", "yield",
            ],
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &[
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
            Lang::Go => &[
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
            Lang::Java => &[
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
            Lang::C => &[
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
    pub(crate) fn invalid_identifier(self, name: &str) -> Option<String> {
        let mut chars = name.chars();
        let Some(first) = chars.next() else {
            return Some("it is empty".to_owned());
        };
        let dollar = matches!(
            self,
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx | Lang::Java
        );
        let unicode = !matches!(self, Lang::C);
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
        if self == Lang::Rust && name == "_" {
            return Some("`_` is a pattern, not a name".to_owned());
        }
        None
    }
}

/// The error for a tree with syntax errors, or `None` when it has none. Some grammars trip
/// over trailing whitespace (tree-sitter-c after `#include <x.h>`): when the tidied text parses,
/// the error says to run `tidy` first.
pub(crate) fn syntax_error(
    lang: Lang,
    tree: &Tree,
    operation: &'static str,
    path: &str,
    text: &str,
) -> Option<RunError> {
    let line = first_error_line(tree)?;
    let tidy_fixes = lang
        .parse(&tidy_text(path, text))
        .is_some_and(|t| first_error_line(&t).is_none());
    Some(RunError::SyntaxError {
        operation,
        path: path.to_owned(),
        line,
        tidy_fixes,
    })
}

/// The 1-based line of the first syntax error in the tree, if any.
fn first_error_line(tree: &Tree) -> Option<usize> {
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    let mut cursor = root.walk();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            return Some(node.start_position().row + 1);
        }
        if node.has_error() {
            let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
    }
    Some(root.start_position().row + 1)
}

/// The line ending a file mostly uses: `"\r\n"` when most of its lines end that way.
pub(crate) fn dominant_eol(text: &str) -> &'static str {
    let lf = text.matches('\n').count();
    let crlf = text.matches("\r\n").count();
    if crlf * 2 > lf { "\r\n" } else { "\n" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_languages_by_extension() {
        assert_eq!(Lang::from_path("src/lib.rs"), Some(Lang::Rust));
        assert_eq!(Lang::from_path("a/b.TSX"), Some(Lang::Tsx));
        assert_eq!(Lang::from_path("x.h"), Some(Lang::C));
        assert_eq!(Lang::from_path("Makefile"), None);
        assert_eq!(Lang::from_path("dir.rs/README"), None);
    }

    #[test]
    fn language_names() {
        assert_eq!(Lang::from_name("TypeScriptReact"), Some(Lang::Tsx));
        assert_eq!(Lang::from_name("javascriptreact"), Some(Lang::JavaScript));
        assert_eq!(Lang::from_name("cpp"), None);
    }

    #[test]
    fn identifier_rules() {
        assert_eq!(
            Lang::Rust.invalid_identifier("fn"),
            Some("it is a keyword".into())
        );
        assert!(Lang::Rust.invalid_identifier("new_name").is_none());
        assert!(Lang::JavaScript.invalid_identifier("$el").is_none());
        assert!(Lang::Python.invalid_identifier("$el").is_some());
        assert!(Lang::C.invalid_identifier("naïve").is_some());
        assert!(Lang::Go.invalid_identifier("1x").is_some());
        assert!(Lang::Java.invalid_identifier("a-b").is_some());
    }

    #[test]
    fn eol_follows_the_majority() {
        assert_eq!(dominant_eol("a\r\nb\r\n"), "\r\n");
        assert_eq!(dominant_eol("a\nb\r\nc\n"), "\n");
        assert_eq!(dominant_eol("no newline"), "\n");
    }
}
