//! Property tests: random edits of real source never panic the analyzer, an after-text that
//! does not parse is never `low`, and the units of a split merge back to the after-text.

use autogate_analysis::languages::Language;
use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, Level, Proposal, ProtectedPaths, SymbolIndex, analyze,
    merge3, redact, secrets, split,
};
use proptest::prelude::*;

const SAMPLES: &[(&str, &str)] = &[
    (
        "src/config.rs",
        include_str!("../fixtures/rust_pub_body/before.rs"),
    ),
    (
        "src/parser.rs",
        include_str!("../fixtures/rust_test_removed/before.rs"),
    ),
    (
        "app/config.py",
        include_str!("../fixtures/py_public_body/before.py"),
    ),
    (
        "tests/test_config.py",
        include_str!("../fixtures/py_test_removed/before.py"),
    ),
    (
        "src/config.js",
        include_str!("../fixtures/js_exported_body/before.js"),
    ),
    (
        "src/config.ts",
        include_str!("../fixtures/ts_public_method_body/before.ts"),
    ),
    (
        "src/greeting.tsx",
        include_str!("../fixtures/tsx_component_body/before.tsx"),
    ),
    (
        "config/config.go",
        include_str!("../fixtures/go_exported_body/before.go"),
    ),
    (
        "src/ConfigParser.java",
        include_str!("../fixtures/java_public_method_body/before.java"),
    ),
    (
        "src/config.c",
        include_str!("../fixtures/c_public_body/before.c"),
    ),
    ("README.md", "# Title\n\nSome text.\n"),
];

/// One random edit: replace `len` bytes at a relative position with `insert`.
fn apply(text: &str, at: f64, len: usize, insert: &str) -> String {
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

fn edits() -> impl Strategy<Value = Vec<(f64, usize, String)>> {
    prop::collection::vec(
        (
            0.0f64..1.0,
            0usize..24,
            "[a-zA-Z_{}()\\[\\];:,.=<>\"'`#/*\\\\ \n\t\0-]{0,12}",
        ),
        1..4,
    )
}

fn ctx<'a>(protected: &'a ProtectedPaths, index: &'a SymbolIndex) -> AnalysisContext<'a> {
    AnalysisContext {
        protected,
        index: Some(index),
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
    #![proptest_config(ProptestConfig::with_cases(cases(200)))]

    #[test]
    fn random_edits_never_panic_and_unparsable_is_never_low(
        sample in 0..SAMPLES.len(),
        edits in edits(),
    ) {
        let (path, before) = SAMPLES[sample];
        let mut after = before.to_owned();
        for (at, len, insert) in &edits {
            after = apply(&after, *at, *len, insert);
        }
        let mut index = SymbolIndex::new();
        for (p, t) in SAMPLES {
            index.add_file(p, t);
        }
        index.add_file("src/edited.any", &after);
        let protected = ProtectedPaths::empty();
        let unit = ChangeUnit {
            files: vec![FileChange {
                path: path.to_owned(),
                old_path: None,
                before: Some(before.to_owned()),
                after: Some(after.clone()),
            }],
        };
        let report = analyze(&unit, &ctx(&protected, &index));
        let unparsable = match Language::from_path(path) {
            Some(lang) => lang.parse(&after).is_none_or(|t| t.root_node().has_error()),
            None => true,
        };
        if unparsable || after.contains('\0') {
            prop_assert!(report.level > Level::Low, "{:?}", report.reasons);
        }
        prop_assert!(!report.reasons.is_empty());

        // The edited file as a creation, a deletion and a split proposal never panic either.
        let created = FileChange { path: path.to_owned(), old_path: None, before: None, after: Some(after.clone()) };
        let deleted = FileChange { path: path.to_owned(), old_path: None, before: Some(after.clone()), after: None };
        let proposal = Proposal { files: vec![unit.files[0].clone(), created, deleted] };
        for unit in split(&proposal) {
            let r = analyze(&unit, &ctx(&protected, &index));
            prop_assert!(r.level > Level::Low || r.kinds.is_empty() || !r.reasons.is_empty());
        }
    }

    #[test]
    fn split_units_of_line_edits_fold_back(
        sample in 0..SAMPLES.len(),
        edits in prop::collection::vec((0u8..3, 0.0f64..1.0), 2..6),
    ) {
        // Whole lines duplicated, deleted or blanked at random places: the units of the split
        // each change the file, are analyzed without panicking, and merge back to the after text.
        let (path, before) = SAMPLES[sample];
        let mut lines: Vec<&str> = before.split_inclusive('\n').collect();
        for (op, at) in edits {
            if lines.is_empty() {
                break;
            }
            let i = ((lines.len() as f64) * at) as usize % lines.len();
            match op {
                0 => lines.insert(i, lines[i]),
                1 => { lines.remove(i); }
                _ => lines.insert(i, "\n"),
            }
        }
        let after: String = lines.concat();
        prop_assume!(after != before);
        let proposal = Proposal {
            files: vec![FileChange {
                path: path.to_owned(),
                old_path: None,
                before: Some(before.to_owned()),
                after: Some(after.clone()),
            }],
        };
        let protected = ProtectedPaths::empty();
        let index = SymbolIndex::new();
        let mut acc = before.to_owned();
        for unit in split(&proposal) {
            let a = unit.files[0].after.clone().unwrap_or_default();
            prop_assert_ne!(&a, before);
            let r = analyze(&unit, &ctx(&protected, &index));
            prop_assert!(!r.reasons.is_empty());
            acc = merge3(before, &acc, &a).ok_or_else(|| TestCaseError::fail("units conflict"))?;
        }
        prop_assert_eq!(acc, after);
    }

    #[test]
    fn extra_blank_lines_are_low(
        sample in prop::sample::select(vec![0usize, 1, 4, 5, 6, 7, 8, 9]),
        picks in prop::collection::vec(0.0f64..1.0, 1..6),
    ) {
        let (path, before) = SAMPLES[sample];
        let newlines: Vec<usize> = before.match_indices('\n').map(|(i, _)| i).collect();
        let mut at: Vec<usize> = picks
            .iter()
            .map(|p| newlines[((newlines.len() as f64) * p) as usize % newlines.len()])
            .collect();
        at.sort_unstable();
        at.dedup();
        let mut after = before.to_owned();
        for i in at.into_iter().rev() {
            after.insert(i, '\n');
        }
        let protected = ProtectedPaths::empty();
        let index = SymbolIndex::new();
        let unit = ChangeUnit {
            files: vec![FileChange {
                path: path.to_owned(),
                old_path: None,
                before: Some(before.to_owned()),
                after: Some(after),
            }],
        };
        let report = analyze(&unit, &ctx(&protected, &index));
        prop_assert_eq!(report.level, Level::Low, "{:?}", report.reasons);
    }

    #[test]
    fn redaction_leaves_no_detectable_secret(
        prefix in "[a-z =:\"']{0,10}",
        suffix in "[a-z =:\"']{0,10}",
        key in prop::sample::select(vec![
            "AKIAQ3EGRTWJ7ZKXPL4M",
            "ghp_R4nd0mT0k3nV4lu3Abcdefghijklmnopqr12",
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
            "sk-proj-Xy7Qp2Lm9Rt4Vb8Nc3Kd6Wf1",
            "xoxb-2384728347-2384723847-aBcDeFgHiJkLmNoP",
            "-----BEGIN RSA PRIVATE KEY-----",
            "postgres://u:Pr0dPassw0rd@db.internal/app",
            "hmac_key: 3f9a0c7be21d4e58a6b9f0c3d7e2a1b48c5d6e7f90a1b2c3d4e5f6a7b8c9d0e1",
            "SIGNING_KEY = \"3f9a0c7be21d4e58a6b9f0c3d7e2a1b48c5d6e7f90a1b2c3d4e5f6a7b8c9d0e1\"",
            "DB_PASSWORD=S3cr3t!Pass@w0rd",
        ]),
    ) {
        let text = format!("{prefix}{key}{suffix}");
        let red = redact(&text);
        // The secret part: the value after the name, the password of a URL.
        let secret = key
            .rsplit(['=', ' ', ':'])
            .next()
            .unwrap_or(key)
            .trim_matches('"')
            .split('@')
            .next()
            .unwrap_or(key);
        prop_assert!(!red.contains(secret), "{secret} in {red}");
        prop_assert!(secrets::scan_line(&red).is_empty(), "{red}");
    }
}

#[test]
fn large_and_deep_inputs_finish() {
    let before: String = (0..3000)
        .map(|i| format!("pub fn f{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n\n"))
        .collect();
    let after = before.replace("x + 1500\n", "x + 1501\n");
    let deep = format!(
        "fn f() {{ let x = {}1{}; }}\n",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let protected = ProtectedPaths::empty();
    let index = SymbolIndex::new();
    for (before, after) in [(before.clone(), after), (before, deep)] {
        let unit = ChangeUnit {
            files: vec![FileChange {
                path: "src/big.rs".to_owned(),
                old_path: None,
                before: Some(before),
                after: Some(after),
            }],
        };
        let report = analyze(&unit, &ctx(&protected, &index));
        assert!(report.level >= Level::Medium, "{:?}", report.reasons);
    }
}
