//! The runner's syntax errors, as the person should read them (with whether `tidy` would fix
//! them).

use autogate_analysis::Language;
use tree_sitter::{Node, Tree};

use super::RunError;
use super::tidy::tidy_text;

/// The error for a tree with syntax errors, or `None` when it has none. Some grammars trip
/// over trailing whitespace (tree-sitter-c after `#include <x.h>`): when the tidied text parses,
/// the error says to run `tidy` first.
pub(crate) fn syntax_error(
    lang: Language,
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
