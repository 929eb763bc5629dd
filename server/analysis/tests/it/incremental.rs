//! `analyze_cached` and the local analysis never change a verdict: random one-line edits of
//! large real files give the same report as the whole-file reference (`analyze_whole`, fresh
//! parses, every stream and symbol of the whole file) and as `analyze`.

use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, ParseCache, ProtectedPaths, SymbolIndex, analyze,
    analyze_cached, analyze_whole,
};
use proptest::prelude::*;

/// A large Python module in the shapes the analyzer cares about: a module docstring, imports,
/// decorators, classes with docstrings and private methods, comments, tests.
fn python_module() -> String {
    let mut out =
        String::from("\"\"\"A large module.\"\"\"\n\nimport os\nfrom typing import Any\n\n");
    for n in 0..400 {
        out.push_str(&format!(
            "# Section {n}.\n\
             @dataclass\n\
             class Model{n}:\n    \"\"\"Model {n}.\"\"\"\n\n    size: int = {n}\n\n    \
             def area(self, scale: int) -> int:\n        # Scaled.\n        return self.size * scale\n\n    \
             def _hidden(self):\n        return os.environ.get(\"K{n}\")\n\n\n\
             def helper_{n}(x, y=None):\n    if x > {n}:\n        return x\n    return y\n\n\n\
             def test_helper_{n}():\n    assert helper_{n}({n} + 1) == {n} + 1\n\n\n"
        ));
    }
    out
}

fn samples() -> Vec<(&'static str, String)> {
    vec![
        ("src/risk.rs", include_str!("../../src/risk.rs").to_owned()),
        (
            "src/symbols.rs",
            include_str!("../../src/symbols.rs").to_owned(),
        ),
        ("app/models.py", python_module()),
        // One top-level item larger than a small region: the nested path (inside a module,
        // inside a class) runs.
        (
            "src/wrapped.rs",
            format!(
                "//! Wrapped.\n\nmod wrapped {{\n{}}}\n",
                include_str!("../../src/symbols.rs")
            ),
        ),
        ("app/wrapped.py", {
            let inner: String = python_module()
                .lines()
                .map(|l| {
                    if l.is_empty() {
                        "\n".to_owned()
                    } else {
                        format!("    {l}\n")
                    }
                })
                .collect();
            format!("import os\n\n\nclass Wrapper:\n{inner}")
        }),
        (
            "src/config.ts",
            include_str!("../fixtures/ts_public_method_body/before.ts").to_owned(),
        ),
        (
            "config/config.go",
            include_str!("../fixtures/go_exported_body/before.go").to_owned(),
        ),
        (
            "src/ConfigParser.java",
            include_str!("../fixtures/java_public_method_body/before.java").to_owned(),
        ),
        (
            "src/config.c",
            include_str!("../fixtures/c_public_body/before.c").to_owned(),
        ),
    ]
}

/// Replaces line `line` (modulo the line count) of `text` by `edit(line)`.
fn edit_line(text: &str, line: usize, edit: &Edit) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.is_empty() {
        return text.to_owned();
    }
    let i = line % lines.len();
    let mut out = String::with_capacity(text.len() + 64);
    for (j, l) in lines.iter().enumerate() {
        if j != i {
            out.push_str(l);
            continue;
        }
        let body = l.trim_end_matches('\n');
        let nl = if l.ends_with('\n') { "\n" } else { "" };
        match edit {
            Edit::Delete => {}
            Edit::Duplicate => {
                out.push_str(l);
                out.push_str(l);
            }
            Edit::Insert(s) => {
                out.push_str(s);
                out.push('\n');
                out.push_str(l);
            }
            Edit::Replace(at, len, s) => {
                let mut start = ((body.len() as f64) * at) as usize;
                while !body.is_char_boundary(start) {
                    start -= 1;
                }
                let mut end = (start + len).min(body.len());
                while !body.is_char_boundary(end) {
                    end += 1;
                }
                out.push_str(&body[..start]);
                out.push_str(s);
                out.push_str(&body[end..]);
                out.push_str(nl);
            }
            Edit::Indent => {
                out.push_str("    ");
                out.push_str(l);
            }
        }
    }
    out
}

#[derive(Clone, Debug)]
enum Edit {
    Delete,
    Duplicate,
    Indent,
    Insert(String),
    Replace(f64, usize, String),
}

fn edits() -> impl Strategy<Value = Edit> {
    prop_oneof![
        Just(Edit::Delete),
        Just(Edit::Duplicate),
        Just(Edit::Indent),
        prop::sample::select(vec![
            "// a comment",
            "# a comment",
            "// @ts-ignore",
            "# noqa",
            "#[test]",
            "#[allow(unused)]",
            "pub fn added() {}",
            "def added(): pass",
            "",
            "/* open",
            "\"unclosed",
            "unsafe { x() }",
        ])
        .prop_map(|s| Edit::Insert(s.to_owned())),
        (
            0.0f64..1.0,
            0usize..8,
            "[a-zA-Z_{}()\\[\\];:,.=<>\"'#/* \t-]{0,8}"
        )
            .prop_map(|(at, len, s)| Edit::Replace(at, len, s)),
    ]
}

fn unit(path: &str, before: &str, after: &str) -> ChangeUnit {
    ChangeUnit {
        files: vec![FileChange {
            path: path.to_owned(),
            old_path: None,
            before: Some(before.to_owned()),
            after: Some(after.to_owned()),
        }],
    }
}

/// Property cases: `default`, or `AUTOGATE_PROPTEST_CASES` for a deep run.
fn cases(default: u32) -> u32 {
    std::env::var("AUTOGATE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(32)))]

    #[test]
    fn one_line_edits_of_large_files_keep_their_verdicts(
        sample in 0usize..9,
        line in 0usize..100_000,
        edit in edits(),
        line2 in 0usize..100_000,
        edit2 in edits(),
    ) {
        let samples = samples();
        let (path, before) = &samples[sample];
        let after = edit_line(before, line, &edit);
        let protected = ProtectedPaths::empty();
        let index = SymbolIndex::new();
        let ctx = AnalysisContext { protected: &protected, index: Some(&index) };
        let u = unit(path, before, &after);
        let reference = analyze_whole(&u, &ctx);
        prop_assert_eq!(&analyze(&u, &ctx), &reference);
        let mut cache = ParseCache::new();
        cache.update(path, before);
        prop_assert_eq!(&analyze_cached(&u, &ctx, &mut cache), &reference);
        // The document moves on: the cache follows incrementally, and a second edit agrees too.
        cache.update(path, &after);
        let after2 = edit_line(&after, line2, &edit2);
        let u2 = unit(path, &after, &after2);
        prop_assert_eq!(&analyze_cached(&u2, &ctx, &mut cache), &analyze_whole(&u2, &ctx));
    }
}

/// Replaces `len` bytes at a relative position `at` of `text` with `insert`.
fn splice(text: &str, at: f64, len: usize, insert: &str) -> String {
    let mut start = ((text.len() as f64) * at) as usize;
    start = start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + len).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    format!("{}{}{}", &text[..start], insert, &text[end..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(16)))]

    /// Edits anywhere, of any shape (across lines, opening strings and comments, several at
    /// once): the local path either agrees with the whole-file one or declines.
    #[test]
    fn arbitrary_edits_of_large_files_keep_their_verdicts(
        sample in 0usize..9,
        edits in prop::collection::vec(
            (0.0f64..1.0, 0usize..40, "[a-zA-Z_{}()\\[\\];:,.=<>\"'`#/*\\\\ \n\t-]{0,16}"),
            1..3,
        ),
    ) {
        let samples = samples();
        let (path, before) = &samples[sample];
        let mut after = before.clone();
        for (at, len, insert) in &edits {
            after = splice(&after, *at, *len, insert);
        }
        let protected = ProtectedPaths::empty();
        let ctx = AnalysisContext { protected: &protected, index: None };
        let u = unit(path, before, &after);
        let reference = analyze_whole(&u, &ctx);
        prop_assert_eq!(&analyze(&u, &ctx), &reference);
        let mut cache = ParseCache::new();
        cache.update(path, before);
        prop_assert_eq!(&analyze_cached(&u, &ctx, &mut cache), &reference);
    }
}

#[test]
fn a_stale_or_missing_cache_entry_changes_nothing() {
    let before = include_str!("../../src/risk.rs");
    let after = before.replacen(
        "SMALL_CHANGE_LINES: usize = 20",
        "SMALL_CHANGE_LINES: usize = 2",
        1,
    );
    let protected = ProtectedPaths::empty();
    let ctx = AnalysisContext {
        protected: &protected,
        index: None,
    };
    let u = unit("src/risk.rs", before, &after);
    let reference = analyze_whole(&u, &ctx);
    let mut cache = ParseCache::new();
    assert_eq!(analyze_cached(&u, &ctx, &mut cache), reference);
    cache.update("src/risk.rs", "fn other() {}\n");
    assert_eq!(analyze_cached(&u, &ctx, &mut cache), reference);
    cache.update("src/risk.rs", &after);
    assert_eq!(analyze_cached(&u, &ctx, &mut cache), reference);
    cache.update("src/risk.rs", before);
    assert_eq!(analyze_cached(&u, &ctx, &mut cache), reference);
    // The pending "after" tree is adopted when the proposal is applied.
    cache.update("src/risk.rs", &after);
    assert!(cache.contains("src/risk.rs", &after));
}

/// The tree a parse cache holds for what an applied proposal wrote gives the same index entry
/// as a fresh parse, and the cache never hands out a tree of another text.
#[test]
fn the_index_entry_from_a_cached_tree_is_the_fresh_one() {
    use autogate_analysis::index::FileEntry;
    let before = include_str!("../../src/risk.rs");
    let after = before.replacen("fn analyze_with(", "fn analyze_with_renamed(", 1);
    let protected = ProtectedPaths::empty();
    let ctx = AnalysisContext {
        protected: &protected,
        index: None,
    };
    let mut cache = ParseCache::new();
    assert!(
        cache.tree_of("src/risk.rs", before).is_none(),
        "empty cache"
    );
    cache.update("src/risk.rs", before);
    let _ = analyze_cached(&unit("src/risk.rs", before, &after), &ctx, &mut cache);
    for text in [before, after.as_str()] {
        let tree = cache.tree_of("src/risk.rs", text);
        assert!(
            tree.is_some(),
            "the current text and the last analysis's after side"
        );
        assert_eq!(
            FileEntry::with_tree("src/risk.rs", text, tree),
            FileEntry::of("src/risk.rs", text)
        );
    }
    assert_ne!(
        FileEntry::of("src/risk.rs", before),
        FileEntry::of("src/risk.rs", &after),
        "the rename shows in the entry"
    );
    assert!(cache.tree_of("src/risk.rs", "fn other() {}\n").is_none());
    assert!(cache.tree_of("src/other.rs", before).is_none());
}
