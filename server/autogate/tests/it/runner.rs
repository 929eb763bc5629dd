//! The task runner's core on real code in every supported language: fixtures with expected
//! output under `tests/runner_fixtures/`, formatters as real processes, and LLM tasks against a
//! real HTTP server on 127.0.0.1 speaking the OpenAI wire format.
//!
//! Expected files are reviewed by hand. To regenerate them after a deliberate change, run with
//! `UPDATE_EXPECT=1` and read the diff.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use autogate::runner::{
    Cursor, FormatCommand, FormatOptions, LLM_POLICY_EXAMPLE, RenameTarget, RunError, SourceFile,
    Task, document, format, parse_task, provider_from_policy, provider_from_policy_with_env,
    rename, run_llm_task, tidy,
};
use autogate_analysis::{
    AnalysisContext, ChangeKind, ChangeUnit, FileChange, Language, Level, Proposal, ProtectedPaths,
    analyze,
};
use autogate_llm::{ContextFile, EnvLookup, PromptLimits, Selection};
use autogate_policy::{LlmProvider, LlmSettings, Policy};

const LANGUAGE_FIXTURES: [&str; 7] = [
    "shapes.rs",
    "shapes.py",
    "shapes.js",
    "shapes.ts",
    "shapes.go",
    "Shapes.java",
    "shapes.c",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runner_fixtures")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(fixtures().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Compares `actual` with the fixture `rel`, or writes it when `UPDATE_EXPECT=1`.
fn expect_file(rel: &str, actual: &str) {
    let path = fixtures().join(rel);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, actual).expect("write the expected file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{rel}: {e} (run with UPDATE_EXPECT=1 to create it)"));
    assert_eq!(actual, expected, "{rel} differs");
}

fn only_after(p: &Proposal) -> &str {
    assert_eq!(p.files.len(), 1, "{p:?}");
    p.files[0].after.as_deref().expect("a new content")
}

// ------------------------------------------------------------------ task parsing

#[test]
fn parse_task_recognises_builtins() {
    assert_eq!(parse_task("/Format"), Task::Format);
    assert_eq!(
        parse_task("rename total_area"),
        Task::Rename {
            new_name: "total_area".into()
        }
    );
    assert_eq!(
        parse_task("add a unit test for area()"),
        Task::Llm("add a unit test for area()".into())
    );
}

// ------------------------------------------------------------------ document

#[test]
fn document_adds_stubs_in_each_language() {
    for name in LANGUAGE_FIXTURES {
        let path = format!("src/{name}");
        let text = read(&format!("document/{name}"));
        let proposal = document(&path, &text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let file = &proposal.files[0];
        assert_eq!(file.path, path);
        assert_eq!(file.before.as_deref(), Some(text.as_str()));
        let after = only_after(&proposal);
        expect_file(&format!("document/{name}.expected"), after);
        assert_only_lines_added(name, &text, after);
        if let Some((level, kinds)) = analyzer_verdict(file) {
            assert_eq!(level, Level::Low, "{name}: {kinds:?}");
            assert_eq!(kinds, vec![ChangeKind::CommentOnly], "{name}");
        }

        // Idempotent: a second run has nothing to do.
        let again = document(&path, after).unwrap_err();
        assert!(again.is_nothing_to_change(), "{name}: {again}");
    }
}

/// The analyzer's level and kinds for one file change, when it knows the file's language (the
/// placeholder analyzer knows none, and rates everything medium).
fn analyzer_verdict(file: &FileChange) -> Option<(Level, Vec<ChangeKind>)> {
    let unit = ChangeUnit {
        files: vec![file.clone()],
    };
    let protected = ProtectedPaths::empty();
    let ctx = AnalysisContext {
        protected: &protected,
        index: None,
    };
    let report = analyze(&unit, &ctx);
    (!report.languages.is_empty()).then_some((report.level, report.kinds))
}

/// `after` is `before` with whole lines added, each a comment or docstring stub.
fn assert_only_lines_added(name: &str, before: &str, after: &str) {
    let mut before_lines = before.lines().peekable();
    for line in after.lines() {
        if before_lines.peek() == Some(&line) {
            before_lines.next();
            continue;
        }
        let stub = line.trim_start();
        assert!(
            stub.starts_with("/// TODO: document `")
                || stub.starts_with("/** TODO: document ")
                || stub.starts_with("\"\"\"TODO: document ")
                || (stub.starts_with("// ") && stub.ends_with(" TODO: document.")),
            "{name}: unexpected added line {line:?}"
        );
    }
    assert_eq!(before_lines.next(), None, "{name}: a line was removed");
}

#[test]
fn document_refuses_unparsable_files() {
    let err = document("src/a.py", "def broken(:\n    pass\n").unwrap_err();
    assert!(
        matches!(err, RunError::SyntaxError { line: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("fix it first"), "{err}");

    // tree-sitter-c cannot read trailing whitespace after `#include <...>`: say to tidy first.
    let c = "#include <math.h>  \n\ndouble half(double x) {\n    return x / 2;\n}\n";
    let err = document("src/half.c", c).unwrap_err();
    assert!(
        matches!(
            err,
            RunError::SyntaxError {
                line: 1,
                tidy_fixes: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("run `tidy` first"), "{err}");
    let tidied = tidy("src/half.c", c).unwrap();
    let documented = document("src/half.c", only_after(&tidied)).unwrap();
    assert!(only_after(&documented).contains("/** TODO: document half. */\ndouble half"));
}

// ------------------------------------------------------------------ tidy

/// Trailing spaces and tabs on every line, blank lines at the end.
fn messy(text: &str, eol: &str) -> String {
    let mut out: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{l}{}{eol}", if i % 2 == 0 { "  " } else { " \t" }))
        .collect();
    out.push_str(eol);
    out.push_str("   ");
    out.push_str(eol);
    out
}

#[test]
fn tidy_restores_clean_files_in_each_language() {
    for name in LANGUAGE_FIXTURES {
        let clean = read(&format!("document/{name}"));
        let path = format!("src/{name}");
        let p = tidy(&path, &messy(&clean, "\n")).unwrap();
        assert_eq!(only_after(&p), clean, "{name}");

        let crlf = clean.replace('\n', "\r\n");
        let p = tidy(&path, &messy(&clean, "\r\n")).unwrap();
        assert_eq!(only_after(&p), crlf, "{name} (CRLF)");

        let err = tidy(&path, &clean).unwrap_err();
        assert!(err.is_nothing_to_change(), "{name}: {err}");
    }
}

#[test]
fn tidy_adds_the_missing_final_newline() {
    let p = tidy("src/a.go", "package a\r\n\r\nfunc A() {}").unwrap();
    assert_eq!(only_after(&p), "package a\r\n\r\nfunc A() {}\r\n");
}

// ------------------------------------------------------------------ format

fn binary_exists(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[tokio::test]
async fn rustfmt_formats_rust() {
    if !binary_exists("rustfmt") {
        skip("rustfmt_formats_rust", "rustfmt is not on PATH");
        return;
    }
    let before = "pub fn  add( a:i32,b :i32)->i32{a+b}\n";
    let p = format("src/add.rs", before, &FormatOptions::default())
        .await
        .unwrap();
    assert_eq!(
        only_after(&p),
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
    );
    let err = format("src/add.rs", only_after(&p), &FormatOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_nothing_to_change(), "{err}");

    // A syntax error: rustfmt fails, and says where.
    let err = format("src/bad.rs", "fn (\n", &FormatOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::FormatterFailed { .. }), "{err}");
    assert!(err.to_string().contains("`rustfmt` failed"), "{err}");
}

#[allow(clippy::print_stderr)]
fn skip(test: &str, why: &str) {
    eprintln!("skipping {test}: {why}");
}

/// The other languages' formatters, where installed; otherwise the error must name the
/// formatter and say how to install it.
#[tokio::test]
async fn other_formatters_run_or_explain_how_to_install_them() {
    let cases: [(&str, &str, &[&str], &str); 6] = [
        (
            "src/a.py",
            "def f( x ):\n  return x\n",
            &["ruff", "black"],
            "pip install ruff",
        ),
        (
            "src/a.js",
            "export function f( x ){return x}\n",
            &["prettier"],
            "npm install --save-dev prettier",
        ),
        (
            "src/a.ts",
            "export function f( x:number ){return x}\n",
            &["prettier"],
            "npm install --save-dev prettier",
        ),
        (
            "a.go",
            "package a\nfunc F( x int )int{return x}\n",
            &["gofmt"],
            "https://go.dev/dl/",
        ),
        (
            "A.java",
            "class A{int f( int x ){return x;}}\n",
            &["google-java-format"],
            "google-java-format",
        ),
        (
            "a.c",
            "int f( int x ){return x;}\n",
            &["clang-format"],
            "apt install clang-format",
        ),
    ];
    for (path, before, programs, hint) in cases {
        let result = format(path, before, &FormatOptions::default()).await;
        if programs.iter().any(|p| binary_exists(p)) {
            let p = result.unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_ne!(only_after(&p), before, "{path}");
            continue;
        }
        skip(
            "other_formatters_run_or_explain_how_to_install_them",
            &format!(
                "{} not installed: checking the error for {path}",
                programs.join("/")
            ),
        );
        let err = result.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, RunError::FormatterMissing { .. }), "{msg}");
        for program in programs {
            assert!(msg.contains(&format!("`{program}`")), "{msg}");
        }
        assert!(msg.contains(hint), "{msg}");
        assert!(
            msg.contains("or configure another formatter command"),
            "{msg}"
        );
    }
}

fn with_command(lang: Language, program: &str, args: &[&str]) -> FormatOptions {
    FormatOptions {
        commands: HashMap::from([(lang, FormatCommand::new(program, args))]),
        cwd: None,
        timeout: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn configured_formatter_commands() {
    // The override replaces the default, and `{path}` is substituted.
    let opts = with_command(
        Language::Go,
        "sh",
        &["-c", "tr a-z A-Z; echo \"// $0\"", "{path}"],
    );
    let p = format("pkg/a.go", "package a\n", &opts).await.unwrap();
    assert_eq!(only_after(&p), "PACKAGE A\n// pkg/a.go\n");

    let opts = with_command(Language::Go, "cat", &[]);
    let err = format("a.go", "package a\n", &opts).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "format: a.go is already formatted; nothing to change"
    );

    let opts = with_command(
        Language::C,
        "sh",
        &["-c", "echo 'a.c:1: expected ;' >&2; exit 3"],
    );
    let err = format("a.c", "int x\n", &opts).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("`sh` failed (exit status: 3) on a.c: a.c:1: expected ;"),
        "{msg}"
    );

    let opts = with_command(Language::Java, "sh", &["-c", "exit 0"]);
    let err = format("A.java", "class A {}\n", &opts).await.unwrap_err();
    assert!(err.to_string().contains("printed nothing"), "{err}");

    let opts = with_command(Language::Python, "autogate-no-such-formatter", &[]);
    let err = format("a.py", "x = 1\n", &opts).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "format: no Python formatter was found (tried `autogate-no-such-formatter`); check the configured formatter command, or configure another formatter command for Python"
    );
}

#[tokio::test]
async fn a_typescript_override_covers_tsx() {
    let opts = with_command(Language::TypeScript, "tr", &["a-z", "A-Z"]);
    let p = format("src/App.tsx", "export const a = <b/>;\n", &opts)
        .await
        .unwrap();
    assert_eq!(only_after(&p), "EXPORT CONST A = <B/>;\n");
}

#[tokio::test]
async fn a_stuck_formatter_is_stopped() {
    let opts = with_command(Language::Rust, "sleep", &["30"]);
    let started = std::time::Instant::now();
    let err = format("a.rs", "fn a() {}\n", &opts).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, RunError::FormatterTimeout { .. }), "{err}");
    assert!(
        err.to_string().contains("did not finish within 500ms"),
        "{err}"
    );
}

#[tokio::test]
async fn format_refuses_unknown_languages() {
    let err = format("notes.txt", "x\n", &FormatOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::UnsupportedLanguage { .. }), "{err}");
}

// ------------------------------------------------------------------ rename

fn source(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        text: text.into(),
    }
}

/// The cursor at the first occurrence of `needle` (plus `offset` characters).
fn cursor_at(text: &str, needle: &str, offset: u32) -> Cursor {
    let byte = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not found"));
    let line = text[..byte].matches('\n').count() as u32;
    let line_start = text[..byte].rfind('\n').map_or(0, |i| i + 1);
    let character = text[line_start..byte].chars().count() as u32 + offset;
    Cursor { line, character }
}

#[test]
fn rename_in_each_language() {
    // (fixture, text before the name, chars into it, new name)
    let cases = [
        ("shapes.rs", "fn area", 3, "surface"),
        ("shapes.py", "radius):", 0, "r"),
        ("shapes.js", "class Point", 6, "Vec2"),
        ("shapes.ts", "interface Shape", 10, "Figure"),
        ("shapes.go", "type Circle", 5, "Disk"),
        ("Shapes.java", "List<Double> areas;", 13, "values"),
        ("shapes.c", "double square(", 7, "sq"),
    ];
    for (name, needle, offset, new_name) in cases {
        let path = format!("src/{name}");
        let text = read(&format!("document/{name}"));
        let target = RenameTarget::Cursor {
            path: path.clone(),
            cursor: cursor_at(&text, needle, offset),
        };
        let p = rename(&[source(&path, &text)], &target, new_name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let after = only_after(&p);
        expect_file(&format!("rename/{name}.expected"), after);

        // Renaming back restores the file exactly.
        let old_name = {
            let c = cursor_at(&text, needle, offset);
            let line = text.lines().nth(c.line as usize).unwrap();
            let rest: String = line.chars().skip(c.character as usize).collect();
            rest.chars()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
                .collect::<String>()
        };
        let back = RenameTarget::Symbol {
            path: path.clone(),
            name: new_name.into(),
        };
        let p = rename(&[source(&path, after)], &back, &old_name).unwrap();
        assert_eq!(only_after(&p), text, "{name}: rename back");
    }
}

#[test]
fn rename_across_two_files() {
    let a = "pub fn compute_total(xs: &[u32]) -> u32 {\n    xs.iter().sum()\n}\n";
    let b = "use crate::a::compute_total;\n\n/// Calls compute_total.\npub fn run() -> u32 {\n    let label = \"compute_total\";\n    let _ = label;\n    compute_total(&[1, 2])\n}\n";
    let other = "pub fn unrelated() {}\n";
    let py = "compute_total = 1\n";
    let files = [
        source("src/a.rs", a),
        source("src/b.rs", b),
        source("src/c.rs", other),
        source("tools/x.py", py),
    ];
    let target = RenameTarget::Cursor {
        path: "src/b.rs".into(),
        cursor: cursor_at(b, "compute_total(&", 5),
    };
    let p = rename(&files, &target, "sum_all").unwrap();
    assert_eq!(
        p.files,
        vec![
            FileChange {
                path: "src/a.rs".into(),
                old_path: None,
                before: Some(a.into()),
                after: Some(a.replace("compute_total", "sum_all")),
            },
            FileChange {
                path: "src/b.rs".into(),
                old_path: None,
                before: Some(b.into()),
                after: Some(
                    "use crate::a::sum_all;\n\n/// Calls compute_total.\npub fn run() -> u32 {\n    let label = \"compute_total\";\n    let _ = label;\n    sum_all(&[1, 2])\n}\n".into()
                ),
            },
        ]
    );

    // By symbol name, across Python files.
    let m = "def load(path):\n    return open(path).read()\n";
    let n = "from m import load\n\nprint(load('x'))  # load it\n";
    let p = rename(
        &[source("m.py", m), source("n.py", n)],
        &RenameTarget::Symbol {
            path: "m.py".into(),
            name: "load".into(),
        },
        "read_file",
    )
    .unwrap();
    assert_eq!(p.files.len(), 2);
    assert_eq!(
        p.files[1].after.as_deref(),
        Some("from m import read_file\n\nprint(read_file('x'))  # load it\n")
    );
}

#[test]
fn rename_spans_javascript_and_typescript() {
    let ts = "import { parse } from \"./parse.js\";\nexport const n: number = parse(\"1\");\n";
    let js = "export function parse(s) {\n  return Number(s);\n}\n";
    let target = RenameTarget::Cursor {
        path: "src/main.ts".into(),
        cursor: cursor_at(ts, "parse(", 0),
    };
    let p = rename(
        &[source("src/main.ts", ts), source("src/parse.js", js)],
        &target,
        "parseNumber",
    )
    .unwrap();
    let afters: Vec<&str> = p
        .files
        .iter()
        .map(|f| f.after.as_deref().unwrap())
        .collect();
    assert_eq!(
        afters,
        [
            "import { parseNumber } from \"./parse.js\";\nexport const n: number = parseNumber(\"1\");\n",
            "export function parseNumber(s) {\n  return Number(s);\n}\n",
        ]
    );
}

#[test]
fn c_and_go_clashes_count_across_files_sharing_the_scope() {
    let a = "int count(void) { return 1; }\n";
    let b = "int total(void) { return 2; }\n";
    let target = RenameTarget::Symbol {
        path: "src/a.c".into(),
        name: "count".into(),
    };
    let err = rename(
        &[source("src/a.c", a), source("lib/b.c", b)],
        &target,
        "total",
    )
    .unwrap_err();
    assert!(
        matches!(&err, RunError::NameCollision { path, .. } if path == "lib/b.c"),
        "{err}"
    );

    let a = "package p\n\nfunc Count() int { return 1 }\n";
    let b = "package p\n\nfunc Total() int { return 2 }\n";
    let target = RenameTarget::Symbol {
        path: "p/a.go".into(),
        name: "Count".into(),
    };
    let err = rename(
        &[source("p/a.go", a), source("p/b.go", b)],
        &target,
        "Total",
    )
    .unwrap_err();
    assert!(matches!(err, RunError::NameCollision { .. }), "{err}");
    // Another package may use the name.
    let p = rename(
        &[source("p/a.go", a), source("q/b.go", b)],
        &target,
        "Total",
    )
    .unwrap();
    assert_eq!(p.files.len(), 1);
}

#[test]
fn rename_errors_are_clear() {
    let a = "def total(xs):\n    count = len(xs)\n    return sum(xs) / count\n";
    let files = [source("a.py", a)];
    let on_total = RenameTarget::Cursor {
        path: "a.py".into(),
        cursor: cursor_at(a, "total", 0),
    };

    let err = rename(&files, &on_total, "count").unwrap_err();
    assert_eq!(
        err.to_string(),
        "rename: `count` is already used in a.py at line 2; renaming `total` to it would merge two symbols. Choose another name"
    );
    let err = rename(&files, &on_total, "class").unwrap_err();
    assert_eq!(
        err.to_string(),
        "rename: `class` is not a valid Python identifier (it is a keyword); choose another name"
    );
    let err = rename(&files, &on_total, "2x").unwrap_err();
    assert!(
        err.to_string().contains("it cannot start with `2`"),
        "{err}"
    );

    let on_keyword = RenameTarget::Cursor {
        path: "a.py".into(),
        cursor: Cursor {
            line: 2,
            character: 5,
        },
    };
    let err = rename(&files, &on_keyword, "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "rename: there is no name at line 3, column 6 of a.py; put the cursor on the name of the symbol to rename"
    );

    let in_comment = "x = 1  # the total\n";
    let err = rename(
        &[source("b.py", in_comment)],
        &RenameTarget::Cursor {
            path: "b.py".into(),
            cursor: cursor_at(in_comment, "total", 1),
        },
        "y",
    )
    .unwrap_err();
    assert!(matches!(err, RunError::NoIdentifier { .. }), "{err}");

    let missing = RenameTarget::Symbol {
        path: "a.py".into(),
        name: "nowhere".into(),
    };
    let err = rename(&files, &missing, "x").unwrap_err();
    assert!(
        err.to_string().contains("`nowhere` does not occur"),
        "{err}"
    );

    let err = rename(&files, &on_total, "").unwrap_err();
    assert!(matches!(err, RunError::MissingNewName), "{err}");

    let broken = [source("a.py", "def total(:\n")];
    let err = rename(&broken, &on_total, "x").unwrap_err();
    assert!(matches!(err, RunError::SyntaxError { .. }), "{err}");
}

// ------------------------------------------------------------------ LLM tasks

/// A real HTTP server on 127.0.0.1 that answers every request with one scripted response and
/// records the request bodies.
struct LlmServer {
    base_url: String,
    requests: Arc<Mutex<Vec<serde_json::Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LlmServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Scripted {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl LlmServer {
    async fn start(reply: Scripted) -> Self {
        use axum::body::{Body, Bytes};
        use axum::http::{HeaderMap, StatusCode};
        use axum::response::Response;

        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let reply = reply.clone();
            let seen = seen.clone();
            async move {
                let mut json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                json["test_authorization"] = serde_json::json!(auth);
                seen.lock().expect("request log").push(json);
                Response::builder()
                    .status(StatusCode::from_u16(reply.status).expect("a status"))
                    .header("content-type", reply.content_type)
                    .body(Body::from(reply.body))
                    .expect("a response")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        LlmServer {
            base_url: format!("http://{addr}/v1"),
            requests,
            task,
        }
    }

    fn provider(&self) -> autogate_llm::Provider {
        let settings = LlmSettings {
            provider: LlmProvider::OpenAi,
            base_url: self.base_url.clone(),
            model: Some("test-model".into()),
            api_key_env: "AUTOGATE_RUNNER_TEST_KEY".into(),
            timeout_secs: 5,
        };
        let env: EnvLookup = Arc::new(|name: &str| {
            (name == "AUTOGATE_RUNNER_TEST_KEY").then(|| "test-key".to_owned())
        });
        provider_from_policy_with_env(&settings, env)
            .expect("a valid provider")
            .with_initial_backoff(Duration::from_millis(5))
    }
}

/// An OpenAI streamed reply carrying `text` in a few deltas.
fn openai_sse(text: &str) -> Scripted {
    let mut body = String::new();
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        format!(
            "data: {}\n\n",
            serde_json::json!({"id": "c", "object": "chat.completion.chunk", "model": "test-model",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    body.push_str(&chunk(
        serde_json::json!({"role": "assistant", "content": ""}),
        serde_json::Value::Null,
    ));
    let chars: Vec<char> = text.chars().collect();
    for piece in chars.chunks(40) {
        let piece: String = piece.iter().collect();
        body.push_str(&chunk(
            serde_json::json!({"content": piece}),
            serde_json::Value::Null,
        ));
    }
    body.push_str(&chunk(serde_json::json!({}), serde_json::json!("stop")));
    body.push_str("data: [DONE]\n\n");
    Scripted {
        status: 200,
        content_type: "text/event-stream",
        body,
    }
}

const LIB: &str = "pub fn answer() -> u32 {\n    41\n}\n";

fn workspace(path: &str) -> Option<String> {
    (path == "src/lib.rs").then(|| LIB.to_owned())
}

async fn run(
    server: &LlmServer,
    deltas: &mut String,
) -> Result<autogate::runner::LlmOutcome, RunError> {
    let files = [ContextFile {
        path: "src/lib.rs".into(),
        content: LIB.into(),
    }];
    let selection = Selection {
        path: "src/lib.rs".into(),
        start_line: 2,
        end_line: 2,
        text: "    41\n".into(),
    };
    run_llm_task(
        &server.provider(),
        "make answer return 42",
        &files,
        Some(selection),
        &PromptLimits::default(),
        |d| deltas.push_str(d),
        workspace,
    )
    .await
}

#[tokio::test]
async fn llm_task_turns_a_good_reply_into_a_proposal() {
    let reply = "Here is the change.\n\n```\nsrc/lib.rs\n<<<<<<< SEARCH\n    41\n=======\n    42\n>>>>>>> REPLACE\n```\n\nsrc/answer_test.rs\n<<<<<<< SEARCH\n=======\n#[test]\nfn answers() {}\n>>>>>>> REPLACE\n";
    let server = LlmServer::start(openai_sse(reply)).await;
    let mut deltas = String::new();
    let outcome = run(&server, &mut deltas).await.unwrap();
    assert_eq!(deltas, reply);
    assert_eq!(
        outcome.proposal.files,
        vec![
            FileChange {
                path: "src/lib.rs".into(),
                old_path: None,
                before: Some(LIB.into()),
                after: Some("pub fn answer() -> u32 {\n    42\n}\n".into()),
            },
            FileChange {
                path: "src/answer_test.rs".into(),
                old_path: None,
                before: None,
                after: Some("#[test]\nfn answers() {}\n".into()),
            },
        ]
    );
    assert!(outcome.notes.is_empty(), "{:?}", outcome.notes);

    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["model"], "test-model");
    assert_eq!(requests[0]["test_authorization"], "Bearer test-key");
    let user = requests[0]["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("Task: make answer return 42"), "{user}");
    assert!(user.contains("lines 2-2 of src/lib.rs"), "{user}");
    assert!(user.contains("pub fn answer() -> u32"), "{user}");
}

#[tokio::test]
async fn llm_task_reports_notes_from_whitespace_tolerant_matches() {
    let reply = "src/lib.rs\n<<<<<<< SEARCH\n41\n=======\n42\n>>>>>>> REPLACE\n";
    let server = LlmServer::start(openai_sse(reply)).await;
    let outcome = run(&server, &mut String::new()).await.unwrap();
    assert_eq!(
        outcome.proposal.files[0].after.as_deref(),
        Some("pub fn answer() -> u32 {\n    42\n}\n")
    );
    assert_eq!(
        outcome.notes,
        vec!["src/lib.rs: block 1: matched ignoring whitespace".to_owned()]
    );
}

#[tokio::test]
async fn llm_task_garbage_reply_is_a_clear_error() {
    let server = LlmServer::start(openai_sse("I cannot help with that, sorry.")).await;
    let err = run(&server, &mut String::new()).await.unwrap_err();
    assert!(matches!(err, RunError::Reply(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("no SEARCH/REPLACE edit blocks"), "{msg}");
    assert!(msg.contains("nothing was applied"), "{msg}");
    assert!(msg.contains("I cannot help with that"), "{msg}");

    // A block whose SEARCH text is not in the file: nothing partial.
    let reply = "src/lib.rs\n<<<<<<< SEARCH\n    41\n=======\n    42\n>>>>>>> REPLACE\nsrc/lib.rs\n<<<<<<< SEARCH\nfn missing() {}\n=======\n>>>>>>> REPLACE\n";
    let server = LlmServer::start(openai_sse(reply)).await;
    let err = run(&server, &mut String::new()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("edit block 2: the SEARCH text was not found in src/lib.rs"),
        "{err}"
    );
}

#[tokio::test]
async fn llm_task_server_error_is_a_clear_error() {
    let server = LlmServer::start(Scripted {
        status: 500,
        content_type: "application/json",
        body: r#"{"error":{"message":"the GPU caught fire"}}"#.into(),
    })
    .await;
    let err = run(&server, &mut String::new()).await.unwrap_err();
    assert!(matches!(err, RunError::Llm(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("the LLM task failed, nothing was applied: the provider failed with HTTP 500 after 3 attempts"), "{msg}");
    assert!(msg.contains("the GPU caught fire"), "{msg}");
    assert_eq!(server.requests.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn llm_task_reply_that_changes_nothing() {
    let reply = "src/lib.rs\n<<<<<<< SEARCH\n    41\n=======\n    41\n>>>>>>> REPLACE\n";
    let server = LlmServer::start(openai_sse(reply)).await;
    let err = run(&server, &mut String::new()).await.unwrap_err();
    assert!(err.is_nothing_to_change(), "{err}");
}

#[tokio::test]
async fn a_local_server_needs_no_key() {
    let reply = "src/lib.rs\n<<<<<<< SEARCH\n    41\n=======\n    42\n>>>>>>> REPLACE\n";
    let server = LlmServer::start(openai_sse(reply)).await;
    let settings = LlmSettings {
        provider: LlmProvider::OpenAi,
        base_url: server.base_url.clone(),
        model: None,
        api_key_env: "OPENAI_API_KEY".into(),
        timeout_secs: 5,
    };
    let provider = provider_from_policy_with_env(&settings, Arc::new(|_: &str| None)).unwrap();
    assert_eq!(provider.config().api_key_env, None);
    let outcome = run_llm_task(
        &provider,
        "make answer return 42",
        &[],
        None,
        &PromptLimits::default(),
        |_| {},
        workspace,
    )
    .await
    .unwrap();
    assert_eq!(outcome.proposal.files.len(), 1);
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests[0]["test_authorization"], serde_json::Value::Null);
    assert_eq!(requests[0]["model"], autogate::runner::DEFAULT_OPENAI_MODEL);

    // A remote server keeps the key requirement, so a missing key is a clear error.
    let remote = LlmSettings {
        base_url: "https://llm.example.invalid/v1".into(),
        ..settings
    };
    let provider = provider_from_policy_with_env(&remote, Arc::new(|_: &str| None)).unwrap();
    assert_eq!(
        provider.config().api_key_env.as_deref(),
        Some("OPENAI_API_KEY")
    );
    let err = run_llm_task(
        &provider,
        "task",
        &[],
        None,
        &PromptLimits::default(),
        |_| {},
        workspace,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("the API key env var OPENAI_API_KEY is not set"),
        "{err}"
    );
}

#[test]
fn the_llm_task_future_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let provider = provider_from_policy_with_env(
        &LlmSettings {
            provider: LlmProvider::OpenAi,
            base_url: "http://127.0.0.1:9/v1".into(),
            model: None,
            api_key_env: "K".into(),
            timeout_secs: 1,
        },
        Arc::new(|_: &str| None),
    )
    .unwrap();
    let limits = PromptLimits::default();
    let future = run_llm_task(&provider, "t", &[], None, &limits, |_| {}, |_: &str| None);
    assert_send(&future);
}

#[test]
fn provider_from_policy_uses_the_policy_settings() {
    let settings = LlmSettings {
        provider: LlmProvider::Anthropic,
        base_url: "https://api.anthropic.com".into(),
        model: None,
        api_key_env: "ANTHROPIC_API_KEY".into(),
        timeout_secs: 42,
    };
    let provider = provider_from_policy(&settings).unwrap();
    let config = provider.config();
    assert_eq!(config.endpoint(), "https://api.anthropic.com/v1/messages");
    assert_eq!(config.model, autogate::runner::DEFAULT_ANTHROPIC_MODEL);
    assert_eq!(config.api_key_env.as_deref(), Some("ANTHROPIC_API_KEY"));
    assert_eq!(config.total_timeout, Duration::from_secs(42));

    let bad = LlmSettings {
        base_url: "ftp://example.invalid".into(),
        ..settings
    };
    let err = provider_from_policy(&bad).unwrap_err();
    assert!(
        err.to_string().contains("invalid provider configuration"),
        "{err}"
    );
}

#[tokio::test]
async fn an_empty_task_is_refused_before_any_request() {
    let server = LlmServer::start(openai_sse("unused")).await;
    let err = run_llm_task(
        &server.provider(),
        "  ",
        &[],
        None,
        &PromptLimits::default(),
        |_| {},
        workspace,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RunError::EmptyTask), "{err}");
    assert!(err.to_string().contains("`rename <new-name>`"), "{err}");
    assert!(server.requests.lock().unwrap().is_empty());
}

#[test]
fn builtins_without_a_file_say_how_to_run_them() {
    assert_eq!(
        RunError::NoTarget {
            operation: "format"
        }
        .to_string(),
        "format works on a file: run it from an open file (pass `uri`)"
    );
    assert_eq!(
        RunError::NoTarget {
            operation: "rename"
        }
        .to_string(),
        "rename works on a file: run it from an open file (pass `uri` and put the cursor on the symbol)"
    );
}

#[test]
fn no_provider_lists_the_builtins_and_shows_a_policy_example() {
    let msg = RunError::NoProvider.to_string();
    for builtin in ["`format`", "`document`", "`rename <new-name>`", "`tidy`"] {
        assert!(msg.contains(builtin), "{msg}");
    }
    assert!(msg.contains("[llm]\nprovider = \"openai\""), "{msg}");
    assert!(msg.contains("api_key_env = \"OPENAI_API_KEY\""), "{msg}");
    assert!(msg.ends_with(LLM_POLICY_EXAMPLE), "{msg}");

    // The example is a valid policy file.
    let policy = Policy::from_toml(LLM_POLICY_EXAMPLE, ".autogate.toml").unwrap();
    let llm = policy.llm().unwrap();
    assert_eq!(llm.provider, LlmProvider::OpenAi);
    assert_eq!(llm.base_url, "http://127.0.0.1:8080/v1");
    assert_eq!(llm.model.as_deref(), Some("qwen2.5-coder"));
    provider_from_policy(llm).unwrap();
}
