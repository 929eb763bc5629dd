//! `format`: the language's standard formatter, run over stdin/stdout with a time limit.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{Proposal, RunError, single_file};
use autogate_analysis::Language;

/// One formatter invocation: the file's text goes to stdin, the formatted text comes from
/// stdout. `{path}` in an argument is replaced by the workspace-relative path of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatCommand {
    pub program: String,
    pub args: Vec<String>,
}

impl FormatCommand {
    pub fn new(program: impl Into<String>, args: &[&str]) -> Self {
        FormatCommand {
            program: program.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        }
    }
}

/// How `format` runs; the shell fills this from the editor settings.
#[derive(Clone, Debug)]
pub struct FormatOptions {
    /// Commands that replace the default formatter of a language (a `TypeScript` entry also
    /// covers `.tsx` files without their own). [`Language::from_name`] reads settings keys.
    pub commands: HashMap<Language, FormatCommand>,
    /// The working directory (the workspace root), so that formatters find their config files
    /// and a project-local `node_modules/.bin/prettier`. `None`: the server's own.
    pub cwd: Option<PathBuf>,
    /// Time limit for one formatter run; the process is killed when it is over.
    pub timeout: Duration,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            commands: HashMap::new(),
            cwd: None,
            timeout: Duration::from_secs(20),
        }
    }
}

/// The default formatters of a language, tried in order until one can be started.
pub(crate) fn default_commands(
    lang: Language,
    path: &str,
    cwd: Option<&Path>,
) -> Vec<FormatCommand> {
    match lang {
        Language::Rust => {
            let edition = cwd
                .and_then(|root| cargo_edition(root, path))
                .unwrap_or_else(|| "2024".to_owned());
            vec![FormatCommand::new(
                "rustfmt",
                &["--emit", "stdout", "--edition", &edition],
            )]
        }
        Language::Python => vec![
            FormatCommand::new("ruff", &["format", "--stdin-filename", "{path}", "-"]),
            FormatCommand::new("black", &["-q", "--stdin-filename", "{path}", "-"]),
        ],
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            let mut commands = Vec::new();
            if let Some(local) = cwd.map(|d| d.join("node_modules/.bin/prettier"))
                && local.is_file()
            {
                commands.push(FormatCommand::new(
                    local.to_string_lossy(),
                    &["--stdin-filepath", "{path}"],
                ));
            }
            commands.push(FormatCommand::new(
                "prettier",
                &["--stdin-filepath", "{path}"],
            ));
            commands
        }
        Language::Go => vec![FormatCommand::new("gofmt", &[])],
        Language::Java => vec![FormatCommand::new("google-java-format", &["-"])],
        Language::C => vec![FormatCommand::new(
            "clang-format",
            &["--assume-filename={path}"],
        )],
    }
}

/// The Rust edition of the crate holding `path` (workspace-relative), as `cargo fmt` would pass
/// it: the first `edition = "…"` in the nearest `Cargo.toml` that sets one, walking up to the
/// workspace root (a member's `edition.workspace = true` defers to the root's
/// `[workspace.package]`). `None` when no manifest says.
fn cargo_edition(root: &Path, path: &str) -> Option<String> {
    let mut dir = Path::new(path).parent();
    while let Some(d) = dir {
        if let Ok(manifest) = std::fs::read_to_string(root.join(d).join("Cargo.toml")) {
            let edition = manifest.lines().find_map(|line| {
                let value = line.trim().strip_prefix("edition")?.trim_start();
                let value = value.strip_prefix('=')?.trim();
                let value = value.strip_prefix('"')?.split('"').next()?;
                (value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| value.to_owned())
            });
            if edition.is_some() {
                return edition;
            }
        }
        dir = d.parent();
    }
    None
}

fn install_hint(lang: Language) -> &'static str {
    match lang {
        Language::Rust => "install it with `rustup component add rustfmt`",
        Language::Python => "install one with `pip install ruff` (or `pip install black`)",
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            "install prettier in the project with `npm install --save-dev prettier` (or globally with `npm install -g prettier`)"
        }
        Language::Go => "install Go (https://go.dev/dl/), which ships gofmt, and put it on PATH",
        Language::Java => {
            "install google-java-format (https://github.com/google/google-java-format) and put it on PATH"
        }
        Language::C => {
            "install clang-format (`apt install clang-format`, `brew install clang-format`)"
        }
    }
}

/// Formats one file with its language's formatter (or the configured override) and proposes
/// the result. Errors name the formatter and say how to install or configure it.
pub async fn format(path: &str, text: &str, options: &FormatOptions) -> Result<Proposal, RunError> {
    let lang = Language::from_path(path).ok_or_else(|| RunError::UnsupportedLanguage {
        operation: "format",
        path: path.to_owned(),
    })?;
    // A TypeScript override also covers .tsx files unless they have their own.
    let configured = options.commands.get(&lang).or_else(|| {
        (lang == Language::Tsx)
            .then(|| options.commands.get(&Language::TypeScript))
            .flatten()
    });
    let (commands, hint) = match configured {
        Some(cmd) => (
            vec![cmd.clone()],
            "check the configured formatter command".to_owned(),
        ),
        None => (
            default_commands(lang, path, options.cwd.as_deref()),
            install_hint(lang).to_owned(),
        ),
    };
    let mut tried = Vec::new();
    for cmd in &commands {
        match run_formatter(cmd, path, text, options).await {
            Ok(after) => return single_file("format", path, text, after, "is already formatted"),
            Err(Attempt::NotFound) => tried.push(cmd.program.clone()),
            Err(Attempt::Failed(e)) => return Err(e),
        }
    }
    Err(RunError::FormatterMissing {
        language: lang.display_name(),
        tried,
        hint,
    })
}

enum Attempt {
    NotFound,
    Failed(RunError),
}

async fn run_formatter(
    cmd: &FormatCommand,
    path: &str,
    text: &str,
    options: &FormatOptions,
) -> Result<String, Attempt> {
    let failed = |status: String, stderr: String| {
        Attempt::Failed(RunError::FormatterFailed {
            program: cmd.program.clone(),
            path: path.to_owned(),
            status,
            stderr,
        })
    };
    let mut command = Command::new(&cmd.program);
    command
        .args(cmd.args.iter().map(|a| a.replace("{path}", path)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = &options.cwd {
        command.current_dir(dir);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(Attempt::NotFound),
        Err(e) => return Err(failed("could not start".to_owned(), e.to_string())),
    };
    tracing::debug!(program = %cmd.program, path, "running formatter");
    let stdin = child.stdin.take();
    let input = text.as_bytes().to_vec();
    let write = async move {
        if let Some(mut stdin) = stdin {
            // A formatter that exits without reading all of stdin is judged by its exit status.
            let _ = stdin.write_all(&input).await;
        }
    };
    let run = async { tokio::join!(write, child.wait_with_output()).1 };
    let output = match tokio::time::timeout(options.timeout, run).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(failed("could not be waited for".to_owned(), e.to_string())),
        Err(_) => {
            return Err(Attempt::Failed(RunError::FormatterTimeout {
                program: cmd.program.clone(),
                path: path.to_owned(),
                after: options.timeout,
            }));
        }
    };
    let stderr = excerpt(&String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(failed(output.status.to_string(), stderr));
    }
    let Ok(after) = String::from_utf8(output.stdout) else {
        return Err(failed(
            "success, but its output is not UTF-8".to_owned(),
            stderr,
        ));
    };
    if after.is_empty() && !text.trim().is_empty() {
        return Err(failed("success, but it printed nothing".to_owned(), stderr));
    }
    Ok(after)
}

/// The end of a formatter's stderr, where the error usually is, kept short for a message.
fn excerpt(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim().lines().collect();
    let tail = &lines[lines.len().saturating_sub(12)..];
    let text = tail.join("\n");
    if text.is_empty() {
        "no error output".to_owned()
    } else if text.chars().count() > 2000 {
        text.chars().take(2000).collect::<String>() + "…"
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_edition_comes_from_the_nearest_manifest_that_sets_one() {
        let root = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"a\", \"b\"]\n\n[workspace.package]\nedition = \"2021\"\n",
        );
        write(
            "a/Cargo.toml",
            "[package]\nname = \"a\"\nedition.workspace = true\n",
        );
        write(
            "b/Cargo.toml",
            "[package]\nname = \"b\"\nedition = \"2018\"\n",
        );
        assert_eq!(
            cargo_edition(root.path(), "a/src/lib.rs").as_deref(),
            Some("2021")
        );
        assert_eq!(
            cargo_edition(root.path(), "b/src/x/y.rs").as_deref(),
            Some("2018")
        );
        assert_eq!(
            cargo_edition(root.path(), "c/main.rs").as_deref(),
            Some("2021")
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(cargo_edition(empty.path(), "src/lib.rs"), None);
        let cmds = default_commands(Language::Rust, "b/src/lib.rs", Some(root.path()));
        assert_eq!(cmds[0].args, ["--emit", "stdout", "--edition", "2018"]);
    }
}
