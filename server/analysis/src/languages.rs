//! The languages the analyzer understands structurally, chosen by file extension, and parsing.

use tree_sitter::{Parser, Tree};

/// A language with a tree-sitter grammar. Everything else is analyzed line by line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
}

impl Language {
    /// The language of a workspace-relative path, by its extension.
    pub fn from_path(path: &str) -> Option<Self> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit_once('.').map(|(_, ext)| ext)?;
        Some(match ext.to_ascii_lowercase().as_str() {
            "rs" => Language::Rust,
            "py" | "pyi" => Language::Python,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" | "h" => Language::C,
            _ => return None,
        })
    }

    /// The name used in reports and policy rules.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
        }
    }

    /// JavaScript and both TypeScript dialects share most rules.
    pub fn is_js_family(self) -> bool {
        matches!(
            self,
            Language::JavaScript | Language::TypeScript | Language::Tsx
        )
    }

    pub(crate) fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
            Language::C => tree_sitter_c::LANGUAGE.into(),
        }
    }

    /// Parses `text`. `None` only if the grammar could not be loaded or parsing was cancelled;
    /// a tree with ERROR or MISSING nodes is still returned (check [`Tree::root_node`]
    /// `has_error`).
    pub fn parse(self, text: &str) -> Option<Tree> {
        thread_local! {
            // One parser per thread and language: creating one costs as much as parsing a
            // small file.
            static PARSERS: std::cell::RefCell<Vec<(Language, Parser)>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        PARSERS.with(|parsers| {
            let mut parsers = parsers.try_borrow_mut().ok()?;
            let at = match parsers.iter().position(|(l, _)| *l == self) {
                Some(at) => at,
                None => {
                    let mut parser = Parser::new();
                    parser.set_language(&self.grammar()).ok()?;
                    parsers.push((self, parser));
                    parsers.len() - 1
                }
            };
            let parser = &mut parsers[at].1;
            let tree = parser.parse(text, None);
            if tree.is_none() {
                parser.reset();
            }
            tree
        })
    }

    /// What each node kind of the grammar is, by kind id ([`KIND_COMMENT`],
    /// [`KIND_IDENTIFIER`]), for walks that visit every node and should not compare names.
    pub fn kind_flags(self) -> &'static [u8] {
        static TABLES: [std::sync::OnceLock<Vec<u8>>; 8] =
            [const { std::sync::OnceLock::new() }; 8];
        TABLES[self as usize].get_or_init(|| {
            let grammar = self.grammar();
            (0..grammar.node_kind_count())
                .map(|id| {
                    let kind = u16::try_from(id)
                        .ok()
                        .and_then(|id| grammar.node_kind_for_id(id))
                        .unwrap_or("");
                    let mut flags = 0;
                    if is_comment_kind(kind) {
                        flags |= KIND_COMMENT;
                    }
                    if is_identifier_kind(kind) {
                        flags |= KIND_IDENTIFIER;
                    }
                    flags
                })
                .collect()
        })
    }

    /// Line-comment prefixes, used by the line-based scanners to skip comment lines.
    pub fn line_comment_prefixes(self) -> &'static [&'static str] {
        match self {
            Language::Python => &["#"],
            _ => &["//", "/*", "*"],
        }
    }
}

/// Whether a node kind is a comment (line, block or doc comment) in any of our grammars.
/// In [`Language::kind_flags`]: a comment.
pub const KIND_COMMENT: u8 = 1;
/// In [`Language::kind_flags`]: an identifier.
pub const KIND_IDENTIFIER: u8 = 2;

pub fn is_comment_kind(kind: &str) -> bool {
    kind.contains("comment")
}

/// Whether a node kind is a literal whose full text is compared as one token, so that
/// whitespace inside strings counts.
pub fn is_atomic_kind(kind: &str) -> bool {
    if kind.starts_with("concatenated") {
        return false;
    }
    kind.contains("string")
        || kind.ends_with("char_literal")
        || kind == "character_literal"
        || kind == "rune_literal"
        || kind == "text_block"
        || kind == "regex"
        || kind == "system_lib_string"
}

/// Whether a leaf kind is a name (identifier of any flavour).
pub fn is_identifier_kind(kind: &str) -> bool {
    kind.contains("identifier") || kind == "metavariable"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grammar_loads_and_parses() {
        for (path, text) in [
            ("a.rs", "fn main() {}"),
            ("a.py", "def f():\n    pass\n"),
            ("a.js", "function f() {}"),
            ("a.ts", "function f(x: number) {}"),
            ("a.tsx", "const a = <div/>;"),
            ("a.go", "package a\nfunc F() {}\n"),
            ("A.java", "class A {}"),
            ("a.c", "int main(void) { return 0; }"),
        ] {
            let lang = Language::from_path(path).expect("known extension");
            let tree = lang.parse(text).expect("grammar loads");
            assert!(!tree.root_node().has_error(), "{path}");
        }
        assert_eq!(Language::from_path("README.md"), None);
        assert_eq!(Language::from_path("Makefile"), None);
    }
}
