//! `document`: doc-comment stubs for undocumented public items, in each language's convention.
//!
//! The result only adds comments (and, in Python, docstrings), so the analyzer rates it as a
//! comment/doc-only change. Items that already have documentation are left alone, and so are
//! items that do not start their own line (a stub there would need reformatting).

use tree_sitter::Node;

use super::eol::dominant_eol;
use super::lang::syntax_error;
use super::{Proposal, RunError, single_file};
use autogate_analysis::Language;

/// Adds a `TODO: document` stub above every undocumented public item of the file:
///
/// | language | items | stub |
/// |---|---|---|
/// | Rust | `pub` fn, struct, enum, trait (in modules and inherent impls) | ``/// TODO: document `name`.`` above the attributes |
/// | Python | def and class whose name does not start with `_` (module level, methods of public classes) | `"""TODO: document name."""` as the first statement |
/// | JavaScript, TypeScript | exported functions and classes (`export const f = () => ...` too) | `/** TODO: document name. */` |
/// | Go | exported funcs, methods and types | `// Name TODO: document.` above any `//go:` directives |
/// | Java | `public` classes, interfaces, enums, records, methods, constructors | `/** TODO: document name. */` above the annotations |
/// | C | function definitions that are not `static` | `/** TODO: document name. */` |
pub fn document(path: &str, text: &str) -> Result<Proposal, RunError> {
    let after = document_text(path, text)?;
    single_file(
        "document",
        path,
        text,
        after,
        "has no undocumented public items",
    )
}

pub(crate) fn document_text(path: &str, text: &str) -> Result<String, RunError> {
    let lang = Language::from_path(path).ok_or_else(|| RunError::UnsupportedLanguage {
        operation: "document",
        path: path.to_owned(),
    })?;
    let tree = lang
        .parse(text)
        .ok_or_else(|| RunError::UnsupportedLanguage {
            operation: "document",
            path: path.to_owned(),
        })?;
    if let Some(err) = syntax_error(lang, &tree, "document", path, text) {
        return Err(err);
    }
    let mut stubs = Stubs {
        text,
        eol: dominant_eol(text),
        inserts: Vec::new(),
    };
    let root = tree.root_node();
    match lang {
        Language::Rust => rust(root, &mut stubs),
        Language::Python => python(root, &mut stubs),
        Language::JavaScript | Language::TypeScript | Language::Tsx => javascript(root, &mut stubs),
        Language::Go => go(root, &mut stubs),
        Language::Java => java(root, &mut stubs),
        Language::C => c(root, &mut stubs),
    }
    Ok(stubs.apply())
}

/// The stubs to insert: (byte offset of a line start, the full line to insert).
struct Stubs<'a> {
    text: &'a str,
    eol: &'static str,
    inserts: Vec<(usize, String)>,
}

impl<'a> Stubs<'a> {
    fn node_text(&self, node: Node<'_>) -> &'a str {
        self.text.get(node.byte_range()).unwrap_or("")
    }

    /// Inserts `stub` on its own line above `node`, with `node`'s indentation. Skipped when
    /// something else precedes `node` on its line.
    fn above(&mut self, node: Node<'_>, stub: &str) {
        let start = node.start_byte();
        let Some(before) = self.text.get(..start) else {
            return;
        };
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let indent = &before[line_start..];
        if !indent.chars().all(|c| c == ' ' || c == '\t') {
            return;
        }
        self.inserts
            .push((line_start, format!("{indent}{stub}{}", self.eol)));
    }

    fn apply(mut self) -> String {
        self.inserts.sort_by_key(|(at, _)| *at);
        self.inserts.dedup_by_key(|(at, _)| *at);
        let mut out = String::with_capacity(self.text.len() + self.inserts.len() * 40);
        let mut last = 0;
        for (at, line) in &self.inserts {
            out.push_str(&self.text[last..*at]);
            out.push_str(line);
            last = *at;
        }
        out.push_str(&self.text[last..]);
        out
    }
}

fn named_children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

fn children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

fn name_of<'a>(stubs: &Stubs<'a>, node: Node<'_>) -> Option<&'a str> {
    node.child_by_field_name("name")
        .map(|n| stubs.node_text(n))
        .filter(|n| !n.is_empty())
}

// ---------------------------------------------------------------- Rust

fn rust(container: Node<'_>, stubs: &mut Stubs<'_>) {
    for item in named_children(container) {
        match item.kind() {
            "function_item" | "struct_item" | "enum_item" | "trait_item" => {
                let public = children(item)
                    .iter()
                    .any(|c| c.kind() == "visibility_modifier" && stubs.node_text(*c) == "pub");
                if public
                    && let Some(name) = name_of(stubs, item)
                    && let Some(anchor) = rust_anchor(item, stubs)
                {
                    let stub = format!("/// TODO: document `{name}`.");
                    stubs.above(anchor, &stub);
                }
            }
            "mod_item" | "impl_item" => {
                if let Some(body) = item.child_by_field_name("body") {
                    rust(body, stubs);
                }
            }
            _ => {}
        }
    }
}

/// Where a Rust item's doc goes (its first attribute), or `None` when it is documented.
fn rust_anchor<'t>(item: Node<'t>, stubs: &Stubs<'_>) -> Option<Node<'t>> {
    let mut anchor = item;
    let mut prev = item.prev_sibling();
    while let Some(p) = prev {
        let text = stubs.node_text(p);
        match p.kind() {
            "attribute_item" => {
                let inner = text.trim_start_matches("#[").trim_start();
                if inner.starts_with("doc") && !inner.starts_with("doc(") {
                    return None;
                }
                anchor = p;
            }
            "line_comment" | "block_comment" => {
                let doc = (text.starts_with("///") && !text.starts_with("////"))
                    || (text.starts_with("/**") && !text.starts_with("/***") && text != "/**/");
                if doc {
                    return None;
                }
                break;
            }
            _ => break,
        }
        prev = p.prev_sibling();
    }
    Some(anchor)
}

// ---------------------------------------------------------------- Python

fn python(container: Node<'_>, stubs: &mut Stubs<'_>) {
    for child in named_children(container) {
        let def = if child.kind() == "decorated_definition" {
            match child.child_by_field_name("definition") {
                Some(d) => d,
                None => continue,
            }
        } else {
            child
        };
        if !matches!(def.kind(), "function_definition" | "class_definition") {
            continue;
        }
        let Some(name) = name_of(stubs, def) else {
            continue;
        };
        if name.starts_with('_') {
            continue;
        }
        let Some(body) = def.child_by_field_name("body") else {
            continue;
        };
        let first = named_children(body)
            .into_iter()
            .find(|s| s.kind() != "comment");
        if let Some(first) = first {
            let documented = first.kind() == "expression_statement"
                && first.named_child_count() == 1
                && first.named_child(0).is_some_and(|s| s.kind() == "string");
            if !documented {
                let stub = format!("\"\"\"TODO: document {name}.\"\"\"");
                stubs.above(first, &stub);
            }
        }
        if def.kind() == "class_definition" {
            python(body, stubs);
        }
    }
}

// ---------------------------------------------------------------- JavaScript / TypeScript

const JS_DECLARATIONS: &[&str] = &[
    "function_declaration",
    "generator_function_declaration",
    "class_declaration",
    "abstract_class_declaration",
    "function_expression",
    "function",
    "generator_function",
    "class",
];

fn javascript(program: Node<'_>, stubs: &mut Stubs<'_>) {
    for export in named_children(program) {
        if export.kind() != "export_statement" {
            continue;
        }
        let Some(name) = js_exported_function_or_class(export, stubs) else {
            continue;
        };
        let documented = export
            .prev_sibling()
            .is_some_and(|p| p.kind() == "comment" && stubs.node_text(p).starts_with("/**"));
        if documented {
            continue;
        }
        let stub = format!("/** TODO: document {name}. */");
        stubs.above(export, &stub);
    }
}

/// The name of the function or class an `export` statement declares: `export function f`,
/// `export class C`, `export default function`, `export const f = () => ...`.
fn js_exported_function_or_class<'a>(export: Node<'_>, stubs: &Stubs<'a>) -> Option<&'a str> {
    for child in named_children(export) {
        if JS_DECLARATIONS.contains(&child.kind()) {
            return Some(name_of(stubs, child).unwrap_or("default"));
        }
        if matches!(child.kind(), "lexical_declaration" | "variable_declaration") {
            let declarators: Vec<Node<'_>> = named_children(child)
                .into_iter()
                .filter(|d| d.kind() == "variable_declarator")
                .collect();
            if let [declarator] = declarators.as_slice()
                && declarator.child_by_field_name("value").is_some_and(|v| {
                    matches!(
                        v.kind(),
                        "arrow_function" | "function_expression" | "function" | "class"
                    )
                })
            {
                return name_of(stubs, *declarator);
            }
        }
    }
    None
}

// ---------------------------------------------------------------- Go

fn go(file: Node<'_>, stubs: &mut Stubs<'_>) {
    for decl in named_children(file) {
        match decl.kind() {
            "function_declaration" | "method_declaration" => {
                if let Some(name) = name_of(stubs, decl) {
                    go_stub(decl, name, stubs);
                }
            }
            "type_declaration" => {
                let grouped = children(decl).iter().any(|c| c.kind() == "(");
                let specs: Vec<Node<'_>> = named_children(decl)
                    .into_iter()
                    .filter(|s| matches!(s.kind(), "type_spec" | "type_alias"))
                    .collect();
                for spec in specs {
                    if let Some(name) = name_of(stubs, spec) {
                        go_stub(if grouped { spec } else { decl }, name, stubs);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A Go doc comment is the comment block directly above (no blank line); `//go:` directives
/// stay next to the declaration, below the doc.
fn go_stub(node: Node<'_>, name: &str, stubs: &mut Stubs<'_>) {
    if !name.chars().next().is_some_and(char::is_uppercase) {
        return;
    }
    let mut anchor = node;
    while let Some(p) = anchor.prev_sibling() {
        let adjacent =
            p.kind() == "comment" && p.end_position().row + 1 == anchor.start_position().row;
        if !adjacent {
            break;
        }
        if !stubs.node_text(p).starts_with("//go:") {
            return;
        }
        anchor = p;
    }
    let stub = format!("// {name} TODO: document.");
    stubs.above(anchor, &stub);
}

// ---------------------------------------------------------------- Java

fn java(container: Node<'_>, stubs: &mut Stubs<'_>) {
    for member in named_children(container) {
        let kind = member.kind();
        let is_type = matches!(
            kind,
            "class_declaration"
                | "interface_declaration"
                | "enum_declaration"
                | "record_declaration"
                | "annotation_type_declaration"
        );
        if is_type || matches!(kind, "method_declaration" | "constructor_declaration") {
            let public = named_children(member)
                .into_iter()
                .filter(|c| c.kind() == "modifiers")
                .flat_map(children)
                .any(|m| m.kind() == "public");
            let documented = member.prev_sibling().is_some_and(|p| {
                p.kind() == "block_comment" && stubs.node_text(p).starts_with("/**")
            });
            if public
                && !documented
                && let Some(name) = name_of(stubs, member)
            {
                let stub = format!("/** TODO: document {name}. */");
                stubs.above(member, &stub);
            }
        }
        if is_type && let Some(body) = member.child_by_field_name("body") {
            java(body, stubs);
        }
        if kind == "enum_body_declarations" {
            java(member, stubs);
        }
    }
}

// ---------------------------------------------------------------- C

fn c(container: Node<'_>, stubs: &mut Stubs<'_>) {
    for item in named_children(container) {
        match item.kind() {
            "function_definition" => {
                let is_static = named_children(item).iter().any(|c| {
                    c.kind() == "storage_class_specifier" && stubs.node_text(*c) == "static"
                });
                let documented = item.prev_sibling().is_some_and(|p| {
                    let text = stubs.node_text(p);
                    p.kind() == "comment"
                        && (["/**", "/*!", "///", "//!"]
                            .iter()
                            .any(|m| text.starts_with(m))
                            || p.end_position().row + 1 == item.start_position().row)
                });
                if !is_static
                    && !documented
                    && let Some(name) = c_function_name(item, stubs)
                {
                    let stub = format!("/** TODO: document {name}. */");
                    stubs.above(item, &stub);
                }
            }
            "preproc_if"
            | "preproc_ifdef"
            | "preproc_else"
            | "preproc_elif"
            | "preproc_elifdef"
            | "linkage_specification"
            | "declaration_list" => c(item, stubs),
            _ => {}
        }
    }
}

/// The name in a function definition's declarator chain (`char *name(int)`).
fn c_function_name<'a>(def: Node<'_>, stubs: &Stubs<'a>) -> Option<&'a str> {
    let mut node = def.child_by_field_name("declarator")?;
    for _ in 0..16 {
        if node.kind() == "identifier" {
            return Some(stubs.node_text(node));
        }
        node = node.child_by_field_name("declarator")?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(path: &str, text: &str) -> String {
        document_text(path, text).unwrap()
    }

    #[test]
    fn rust_stubs_go_above_attributes_and_skip_documented_items() {
        let src = "\
/// Documented.
pub fn a() {}

#[derive(Debug)]
#[allow(dead_code)]
pub struct B;

fn private() {}

pub(crate) fn crate_only() {}

#[doc = \"Documented too.\"]
pub enum C {}

impl B {
    pub fn method(&self) {}
}

pub mod m {
    pub trait T {}
}
";
        let expected = "\
/// Documented.
pub fn a() {}

/// TODO: document `B`.
#[derive(Debug)]
#[allow(dead_code)]
pub struct B;

fn private() {}

pub(crate) fn crate_only() {}

#[doc = \"Documented too.\"]
pub enum C {}

impl B {
    /// TODO: document `method`.
    pub fn method(&self) {}
}

pub mod m {
    /// TODO: document `T`.
    pub trait T {}
}
";
        assert_eq!(doc("src/lib.rs", src), expected);
    }

    #[test]
    fn crlf_files_get_crlf_stubs() {
        assert_eq!(
            doc("a.rs", "pub fn a() {}\r\n"),
            "/// TODO: document `a`.\r\npub fn a() {}\r\n"
        );
    }

    #[test]
    fn syntax_errors_are_refused() {
        let err = document_text("a.rs", "pub fn a( {\n").unwrap_err();
        assert!(
            matches!(err, RunError::SyntaxError { line: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn unsupported_language() {
        let err = document("notes.txt", "x\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("notes.txt is not a file it can handle"),
            "{err}"
        );
    }
}
