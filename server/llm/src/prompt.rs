//! Prompt building: the system prompt that states the reply format, and the user message
//! carrying the task, the selection and the context files within a size budget.

use crate::chat::{ChatRequest, Message};

/// The system prompt. It states the SEARCH/REPLACE format that [`crate::parse_reply`] reads.
pub const SYSTEM_PROMPT: &str = "\
You are a careful senior software engineer editing files in a repository.
Answer ONLY with edit blocks in this exact format, one block per change:

path/to/file.ext
<<<<<<< SEARCH
exact existing lines to replace
=======
the new lines
>>>>>>> REPLACE

Rules:
- The first line of each block is the file path, relative to the workspace root, alone on its line.
- The SEARCH section must copy the current lines exactly (indentation included) and must match
  exactly one place in the file; include enough surrounding lines to make it unique.
- Keep blocks small: several small blocks are better than one large one.
- To create a new file, use an empty SEARCH section and put the whole file in the REPLACE section.
- To delete lines, leave the REPLACE section empty.
- Only edit files you were shown, or create new ones. Never use absolute paths or `..`.
- Text marked [REDACTED] stands for a secret: never try to reconstruct it.
- Do not explain; if you must say something, keep it to one short sentence before the blocks.
";

/// A file the model should see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextFile {
    /// Relative to the workspace root.
    pub path: String,
    pub content: String,
}

/// The person's selection, with 1-based inclusive line numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
}

/// Size limits from the policy.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptLimits {
    /// Upper bound on the characters of file content (selection included) put in the prompt.
    pub max_context_chars: usize,
    pub max_tokens: u32,
    pub temperature: f32,
}

impl Default for PromptLimits {
    fn default() -> Self {
        PromptLimits {
            max_context_chars: 60_000,
            max_tokens: 4096,
            temperature: 0.0,
        }
    }
}

/// A fence longer than any backtick run in `text`, so file content cannot close it.
fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn push_fenced(out: &mut String, text: &str) {
    let fence = fence_for(text);
    out.push_str(&fence);
    out.push('\n');
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
}

/// Builds the request for one task. Files are included in the given order until
/// `max_context_chars` is used up; a file that does not fit whole is cut and marked, later
/// ones are listed as not shown. Redaction happens later, in [`crate::Provider::complete`].
pub fn build_prompt(
    task: &str,
    files: &[ContextFile],
    selection: Option<&Selection>,
    limits: &PromptLimits,
) -> ChatRequest {
    let mut budget = limits.max_context_chars;
    let mut user = String::new();
    user.push_str("Task: ");
    user.push_str(task.trim());
    user.push_str("\n\n");

    if let Some(sel) = selection {
        user.push_str(&format!(
            "The person selected lines {}-{} of {}; the task is about this part:\n",
            sel.start_line, sel.end_line, sel.path
        ));
        let text: String = sel.text.chars().take(budget).collect();
        budget = budget.saturating_sub(text.chars().count());
        push_fenced(&mut user, &text);
        user.push('\n');
    }

    let mut not_shown = Vec::new();
    if !files.is_empty() {
        user.push_str("Current content of the relevant files:\n\n");
    }
    for f in files {
        let len = f.content.chars().count();
        if budget == 0 {
            not_shown.push(f.path.as_str());
            continue;
        }
        if len <= budget {
            user.push_str(&f.path);
            user.push('\n');
            push_fenced(&mut user, &f.content);
            budget -= len;
        } else {
            // Cut at a line boundary so the model never sees half a line.
            let cut: String = f.content.chars().take(budget).collect();
            budget = 0;
            let Some(pos) = cut.rfind('\n') else {
                not_shown.push(f.path.as_str());
                continue;
            };
            user.push_str(&f.path);
            user.push('\n');
            push_fenced(&mut user, &cut[..=pos]);
            user.push_str(
                "(truncated: the rest of this file is not shown; do not edit beyond this point)\n",
            );
        }
        user.push('\n');
    }
    if !not_shown.is_empty() {
        user.push_str("Also relevant but not shown (over the size limit): ");
        user.push_str(&not_shown.join(", "));
        user.push_str("\n\n");
    }
    user.push_str("Reply with SEARCH/REPLACE blocks only.\n");

    ChatRequest {
        system: SYSTEM_PROMPT.to_owned(),
        messages: vec![Message::user(user)],
        max_tokens: limits.max_tokens,
        temperature: limits.temperature,
        stream: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_states_format_and_includes_context() {
        let files = [
            ContextFile {
                path: "src/a.rs".into(),
                content: "fn a() {}\n".into(),
            },
            ContextFile {
                path: "src/b.rs".into(),
                content: "x".repeat(100),
            },
        ];
        let sel = Selection {
            path: "src/a.rs".into(),
            start_line: 1,
            end_line: 1,
            text: "fn a() {}".into(),
        };
        let limits = PromptLimits {
            max_context_chars: 30,
            ..PromptLimits::default()
        };
        let req = build_prompt("make a return 1", &files, Some(&sel), &limits);
        assert!(req.system.contains("<<<<<<< SEARCH") && req.system.contains(">>>>>>> REPLACE"));
        let user = &req.messages[0].content;
        assert!(user.contains("Task: make a return 1"));
        assert!(user.contains("lines 1-1 of src/a.rs"));
        assert!(user.contains("src/a.rs\n```\nfn a() {}\n```"));
        assert!(user.contains("Also relevant but not shown (over the size limit): src/b.rs"));
        assert_eq!(req.max_tokens, 4096);
        assert!(req.stream);
    }

    #[test]
    fn fences_outgrow_backticks_in_content() {
        assert_eq!(fence_for("a ``` b"), "````");
        assert_eq!(fence_for("plain"), "```");
    }
}
