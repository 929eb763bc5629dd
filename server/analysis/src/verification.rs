//! Detection of weakened verification: tests removed, skips added, assertions removed or
//! loosened, test files deleted.

use std::sync::OnceLock;

use regex::Regex;

use crate::languages::Language;
use crate::symbols::Symbol;

/// Whether a path is a test file by the usual conventions of our languages.
pub fn is_test_path(path: &str) -> bool {
    let p = format!("/{}", path.to_ascii_lowercase());
    let name = p.rsplit('/').next().unwrap_or_default();
    p.contains("/tests/")
        || p.contains("/test/")
        || p.contains("/__tests__/")
        || p.contains("/spec/")
        || name.starts_with("test_")
        || name.ends_with("_test.py")
        || name.ends_with("_test.go")
        || name.ends_with("_test.rs")
        || name.ends_with("_test.c")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.ends_with("test.java")
        || name.ends_with("tests.java")
        || name == "conftest.py"
}

/// Whether a path configures the test runner or coverage (`pytest.ini`, `jest.config.js`, …).
pub fn is_test_config_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    matches!(
        name.as_str(),
        "pytest.ini"
            | "tox.ini"
            | "setup.cfg"
            | "conftest.py"
            | ".coveragerc"
            | "codecov.yml"
            | ".codecov.yml"
            | "noxfile.py"
            | ".nycrc"
            | ".nycrc.json"
            | ".mocharc.json"
            | ".mocharc.yml"
            | ".mocharc.js"
            | "nextest.toml"
            | "tarpaulin.toml"
    ) || [
        "jest.config.",
        "vitest.config.",
        "karma.conf.",
        "playwright.config.",
        "cypress.config.",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn test_config_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"(?i)ignore|skip|exclude|omit|deselect|xfail|only|fail_under|threshold|--no-cov|\s-k\s|bail|testPathIgnorePatterns|passWithNoTests",
    )
}

/// Whether a symbol is a test function or test class.
pub fn is_test_symbol(sym: &Symbol, lang: Language, path: &str) -> bool {
    let attrs = sym.attrs.as_str();
    let name = sym.name.as_str();
    match lang {
        Language::Rust => {
            attrs.contains("test]")
                || attrs.contains("::test")
                || attrs.contains("#[test")
                || attrs.contains("#[bench")
        }
        Language::Python => {
            (name.starts_with("test") && matches!(sym.kind, "function" | "method"))
                || (name.starts_with("Test") && sym.kind == "class")
        }
        Language::Go => {
            path.ends_with("_test.go")
                && (name.starts_with("Test")
                    || name.starts_with("Benchmark")
                    || name.starts_with("Fuzz")
                    || name.starts_with("Example"))
        }
        Language::Java => attrs.contains("@Test") || attrs.contains("@ParameterizedTest"),
        Language::C => name.starts_with("test_") && is_test_path(path),
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            name.starts_with("test") && is_test_path(path)
        }
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("verification patterns are constants"))
}

/// The skip and disable markers of each language: a test that no longer runs.
fn skip_markers(lang: Language) -> &'static str {
    match lang {
        Language::Python => {
            r"@pytest\.mark\.(?:skip|skipif|xfail)\b|@unittest\.(?:skip|skipIf|skipUnless|expectedFailure)\b|\bpytest\.(?:skip|xfail)\s*\(|\bself\.skipTest\s*\("
        }
        Language::Rust => r"#\[\s*ignore\b",
        // `.only` silently skips every other test.
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            r"\b(?:it|test|describe|context|suite)\.(?:skip|only|todo)\b|\b(?:xit|xdescribe|xtest|fit|fdescribe)\s*\("
        }
        Language::Go => r"\bt\.(?:Skip|SkipNow|Skipf)\s*\(",
        Language::Java => r"@Disabled\b|@Ignore\b|\bassumeTrue\s*\(|\bAssumptions\.",
        Language::C => r"\bGTEST_SKIP\s*\(|\bDISABLED_\w+",
    }
}

/// The skip markers of a file's language, or of every language for a file the analyzer does
/// not parse (a test runner's configuration, a notebook).
fn skip_re(lang: Option<Language>) -> &'static Regex {
    const LANGS: [Language; 6] = [
        Language::Python,
        Language::Rust,
        Language::JavaScript,
        Language::Go,
        Language::Java,
        Language::C,
    ];
    static ANY: OnceLock<Regex> = OnceLock::new();
    static PER: [OnceLock<Regex>; LANGS.len()] = [const { OnceLock::new() }; LANGS.len()];
    let any = || {
        let all: Vec<&str> = LANGS.iter().map(|l| skip_markers(*l)).collect();
        re(&ANY, &all.join("|"))
    };
    let Some(lang) = lang else {
        return any();
    };
    let lang = if lang.is_js_family() {
        Language::JavaScript
    } else {
        lang
    };
    match LANGS.iter().position(|l| *l == lang) {
        Some(i) => PER[i].get_or_init(|| {
            Regex::new(skip_markers(lang)).expect("verification patterns are constants")
        }),
        None => any(),
    }
}

fn test_case_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"(?m)^\s*(?:it|test)(?:\.(?:only|skip|todo|concurrent|failing|each\([^)]*\)))*\s*\(",
    )
}

/// Assertions in any language (the fallback for files the analyzer does not parse).
const ASSERTIONS: &str = r"\bassert\w*!?|\bexpect\s*\(|\bt\.(?:Error|Errorf|Fatal|Fatalf|Fail|FailNow)\b|\brequire\.\w+\s*\(|\bself\.fail\s*\(|\bshould\.";

/// What each language adds to [`ASSERTIONS`]: its assertion macros and test-framework checks.
fn assertion_extras(lang: Language) -> &'static str {
    match lang {
        // `debug_assert!`, `prop_assert_eq!`: no word boundary before `assert`.
        Language::Rust => r"\b(?:debug|prop)_assert\w*!",
        Language::Python => r"\bself\.fail\w*\s*\(|\bpytest\.(?:raises|fail)\b",
        // tape / tap / node:test / AVA: `t.equal(…)`, `t.deepEqual(…)`, `t.ok(…)`.
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            r"\bt\.(?:equal|equals|deepEqual|deepStrictEqual|strictEqual|notEqual|notStrictEqual|same|notSame|ok|notOk|true|false|is|not|truthy|falsy|throws|rejects|doesNotThrow|match|error|fail|ifError)\s*\("
        }
        Language::Go => r"\b(?:assert|require)\.\w+\s*\(",
        Language::Java => r"\bAssertions?\.\w+\s*\(|\bfail\s*\(",
        // `GIT_ASSERT_ARG(x)`, `g_assert_cmpint(…)`, `ck_assert_int_eq(…)`, `ASSERT_EQ(…)`.
        Language::C => r"\b\w+_(?:assert|ASSERT)\w*\s*\(|\bASSERT\w*\s*\(|\bEXPECT_\w+\s*\(",
    }
}

/// The assertion pattern of a language (or of any, without one).
fn assertion_re(lang: Option<Language>) -> &'static Regex {
    const LANGS: [Language; 7] = [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Go,
        Language::Java,
        Language::C,
    ];
    static ANY: OnceLock<Regex> = OnceLock::new();
    // One pattern per language, compiled when a file of it is first seen (a process that
    // judges one file does not build the other six).
    static PER: [OnceLock<Regex>; LANGS.len()] = [const { OnceLock::new() }; LANGS.len()];
    let Some(lang) = lang else {
        return re(&ANY, ASSERTIONS);
    };
    let lang = if lang == Language::Tsx {
        Language::TypeScript
    } else {
        lang
    };
    match LANGS.iter().position(|l| *l == lang) {
        Some(i) => PER[i].get_or_init(|| {
            Regex::new(&format!("{}|{ASSERTIONS}", assertion_extras(lang)))
                .expect("verification patterns are constants")
        }),
        None => re(&ANY, ASSERTIONS),
    }
}

/// The code of a line: empty when the line is a comment (so that an assertion commented out
/// counts as removed).
fn code_of(line: &str, lang: Option<Language>) -> &str {
    let t = line.trim_start();
    let prefixes: &[&str] = match lang {
        Some(l) => l.line_comment_prefixes(),
        None => &["//", "#", "/*", "*"],
    };
    if prefixes.iter().any(|p| t.starts_with(p)) {
        ""
    } else {
        line
    }
}

fn strict_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"\bassert_eq!|\bassert_ne!|\bassert(?:Equal|Equals|NotEqual|Is|In|Raises|Same|ArrayEquals|Throws)\b|\.to(?:Equal|Be|StrictEqual|Throw|HaveBeenCalledWith|MatchObject)\s*\(|\bassert\s+[^#\n]*(?:==|!=|\bis\b|\bin\b)|\bassert!\s*\([^)]*(?:==|!=)|\bassert\.(?:Equal|deepEqual|strictEqual|deepStrictEqual)\b|\bpytest\.raises\b|\bshould_panic\b",
    )
}

fn trivial_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"\bassert!\s*\(\s*true\s*\)|\bassert\s+True\b|\bassertTrue\s*\(\s*(?:true|True|1)\s*\)|\bexpect\s*\(\s*true\s*\)|\.toBeTruthy\(\)|\.toBeDefined\(\)|\bassert\s*\(\s*(?:1|true)\s*\)",
    )
}

fn count(re: &Regex, lines: &[&str]) -> usize {
    lines.iter().map(|l| re.find_iter(l).count()).sum()
}

/// The ways a modification of one file weakens verification, as reasons.
pub fn weakened(
    lang: Option<Language>,
    path: &str,
    before_symbols: &[Symbol],
    after_symbols: &[Symbol],
    added: &[&str],
    removed: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(lang) = lang {
        let after_keys: std::collections::BTreeSet<String> =
            after_symbols.iter().map(Symbol::key).collect();
        for sym in before_symbols {
            if is_test_symbol(sym, lang, path) && !after_keys.contains(&sym.key()) {
                out.push(format!("`{path}`: test `{}` removed", sym.name));
            }
        }
        // A test attribute or annotation removed from a function that stays.
        let before_tests: std::collections::BTreeSet<String> = before_symbols
            .iter()
            .filter(|s| is_test_symbol(s, lang, path))
            .map(Symbol::key)
            .collect();
        for sym in after_symbols {
            if before_tests.contains(&sym.key()) && !is_test_symbol(sym, lang, path) {
                out.push(format!(
                    "`{path}`: `{}` is no longer marked as a test",
                    sym.name
                ));
            }
        }
    }
    if is_test_config_path(path) {
        for line in added {
            if let Some(m) = test_config_re().find(line) {
                out.push(format!(
                    "`{path}`: test configuration adds `{}`",
                    m.as_str().trim()
                ));
                break;
            }
        }
    }
    let test_cases = count(test_case_re(), removed).saturating_sub(count(test_case_re(), added));
    if test_cases > 0 && is_test_path(path) {
        out.push(format!("`{path}`: {test_cases} test case(s) removed"));
    }
    for line in added {
        // A marker in a comment skips nothing.
        if let Some(m) = skip_re(lang).find(code_of(line, lang)) {
            let removed_too = removed.iter().any(|r| r.contains(m.as_str()));
            if !removed_too {
                out.push(format!(
                    "`{path}`: skip/ignore marker added (`{}`)",
                    m.as_str()
                ));
            }
        }
    }
    let assertions = assertion_re(lang);
    let in_code = |lines: &[&str]| -> usize {
        lines
            .iter()
            .map(|l| assertions.find_iter(code_of(l, lang)).count())
            .sum()
    };
    let asserts_removed = in_code(removed).saturating_sub(in_code(added));
    // Assertions that are still there, but as comments.
    let commented = added
        .iter()
        .filter(|l| code_of(l, lang).is_empty())
        .map(|l| assertions.find_iter(l).count())
        .sum::<usize>()
        .min(asserts_removed);
    if commented > 0 {
        out.push(format!("`{path}`: {commented} assertion(s) commented out"));
    }
    if asserts_removed > commented {
        let gone = asserts_removed - commented;
        out.push(format!("`{path}`: {gone} assertion(s) removed"));
    }
    if asserts_removed == 0 {
        let strict_lost = count(strict_re(), removed).saturating_sub(count(strict_re(), added));
        let trivial_added = count(trivial_re(), added).saturating_sub(count(trivial_re(), removed));
        if strict_lost > 0 || trivial_added > 0 {
            out.push(format!("`{path}`: assertion loosened"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_markers_are_read_in_their_language_and_not_in_comments() {
        let go = Some(Language::Go);
        let w = weakened(go, "a_test.go", &[], &[], &["\tt.Skip(\"flaky\")"], &[]);
        assert_eq!(w.len(), 1, "{w:?}");
        let w = weakened(go, "a_test.go", &[], &[], &["\t// t.Skip(\"flaky\")"], &[]);
        assert!(w.is_empty(), "{w:?}");
        // Another language's marker means nothing here.
        let w = weakened(go, "a_test.go", &[], &[], &["\tname := \"@Disabled\""], &[]);
        assert!(w.is_empty(), "{w:?}");
        let js = Some(Language::TypeScript);
        let w = weakened(js, "a.test.ts", &[], &[], &["suite.only('x', () => {"], &[]);
        assert_eq!(w.len(), 1, "{w:?}");
    }

    #[test]
    fn skips_and_assertions() {
        let w = weakened(
            None,
            "tests/a.py",
            &[],
            &[],
            &["@pytest.mark.skip(reason='flaky')"],
            &[],
        );
        assert_eq!(w.len(), 1, "{w:?}");
        let w = weakened(
            None,
            "tests/a.py",
            &[],
            &[],
            &["    assert True"],
            &["    assert x == 3"],
        );
        assert_eq!(w, vec!["`tests/a.py`: assertion loosened".to_owned()]);
        let w = weakened(None, "a_test.go", &[], &[], &[], &["\tt.Fatalf(\"bad\")"]);
        assert_eq!(w, vec!["`a_test.go`: 1 assertion(s) removed".to_owned()]);
        assert!(is_test_path("src/foo.test.ts"));
        assert!(is_test_path("tests/corpus.rs"));
        assert!(!is_test_path("src/main.rs"));
    }
}
