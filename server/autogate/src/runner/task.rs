//! Task parsing: the built-in operations by name, anything else a free-text LLM task.

/// The built-in operations, as the person types them.
pub const BUILTIN_USAGE: &str = "`format`, `document`, `rename <new-name>`, `tidy`";

/// What `autogate.run` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// Run the language's formatter on the file.
    Format,
    /// Add doc-comment stubs to undocumented public items.
    Document,
    /// Remove trailing whitespace and fix the final newline.
    Tidy,
    /// Rename the symbol at the cursor. `new_name` is empty when none was given (the rename
    /// operation then reports [`super::RunError::MissingNewName`]).
    Rename { new_name: String },
    /// Anything else: a task for the LLM, trimmed.
    Llm(String),
}

impl Task {
    /// The built-in operation's name (`format`, `document`, `tidy`, `rename`), or `None` for an
    /// LLM task.
    pub fn builtin_name(&self) -> Option<&'static str> {
        match self {
            Task::Format => Some("format"),
            Task::Document => Some("document"),
            Task::Tidy => Some("tidy"),
            Task::Rename { .. } => Some("rename"),
            Task::Llm(_) => None,
        }
    }
}

/// Parses a task. Built-ins are matched case-insensitively, with an optional leading `/`:
/// `format`, `document`, `tidy`, `rename NEW_NAME`. `rename` followed by more than one word
/// (`rename it to something clearer`) is a free-text task.
pub fn parse_task(task: &str) -> Task {
    let trimmed = task.trim();
    let command = trimmed.strip_prefix('/').unwrap_or(trimmed).trim_start();
    let mut words = command.split_whitespace();
    let first = words.next().unwrap_or("").to_ascii_lowercase();
    let rest: Vec<&str> = words.collect();
    match (first.as_str(), rest.as_slice()) {
        ("format", []) => Task::Format,
        ("document", []) => Task::Document,
        ("tidy", []) => Task::Tidy,
        ("rename", []) => Task::Rename {
            new_name: String::new(),
        },
        ("rename", [name]) => Task::Rename {
            new_name: (*name).to_owned(),
        },
        _ => Task::Llm(trimmed.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_case_insensitive_with_optional_slash() {
        assert_eq!(parse_task("format"), Task::Format);
        assert_eq!(parse_task("  /FORMAT "), Task::Format);
        assert_eq!(parse_task("Document"), Task::Document);
        assert_eq!(parse_task("/tidy"), Task::Tidy);
        assert_eq!(
            parse_task("/Rename newName"),
            Task::Rename {
                new_name: "newName".into()
            }
        );
        assert_eq!(
            parse_task("rename"),
            Task::Rename {
                new_name: String::new()
            }
        );
    }

    #[test]
    fn everything_else_is_an_llm_task() {
        assert_eq!(
            parse_task(" format the table nicely "),
            Task::Llm("format the table nicely".into())
        );
        assert_eq!(
            parse_task("rename it to something clearer"),
            Task::Llm("rename it to something clearer".into())
        );
        assert_eq!(parse_task("formatting"), Task::Llm("formatting".into()));
        assert_eq!(parse_task("formatting").builtin_name(), None);
        assert_eq!(parse_task("/tidy").builtin_name(), Some("tidy"));
        assert_eq!(parse_task(""), Task::Llm(String::new()));
    }
}
