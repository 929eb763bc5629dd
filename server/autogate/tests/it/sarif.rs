//! `autogate assess --format sarif`: the log validates against the official SARIF 2.1.0 schema
//! (vendored in `tests/data/`, see its README) and carries what GitHub code scanning needs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use autogate::cli::sarif::{SarifChange, first_changed_line, to_sarif};
use autogate_analysis::Level;
use serde_json::{Value, json};

fn schema_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        schema["id"],
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    );
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(log: &Value) {
    let validator = schema_validator();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}\n{log:#}",
        errors.join("\n")
    );
}

fn change(id: &str, files: &[&str], level: Level, decision: &str) -> SarifChange {
    SarifChange {
        id: id.to_owned(),
        files: files.iter().map(|f| (*f).to_owned()).collect(),
        level,
        decision: decision.to_owned(),
        reasons: vec![format!("{level} because of a test")],
        first_line: None,
    }
}

fn sample() -> Vec<SarifChange> {
    let mut low = change("1", &["src/lib.rs"], Level::Low, "auto");
    low.first_line = Some(12);
    let mut medium = change(
        "2",
        &["src/config.rs", "src/main.rs"],
        Level::Medium,
        "auto",
    );
    medium.first_line = Some(3);
    let mut high = change("3", &["docs/my notes#1.md"], Level::High, "ask");
    high.reasons = vec![
        "deletes the public function `parse`".to_owned(),
        "3 references in 2 files\n(blast radius)".to_owned(),
    ];
    high.first_line = Some(0);
    let mut critical = change("4", &["src/ünïcode/key.rs"], Level::Critical, "deny");
    critical.reasons.clear();
    vec![low, medium, high, critical]
}

#[test]
fn the_log_is_valid_sarif_2_1_0() {
    assert_valid(&to_sarif(&sample(), "0.1.0"));
    assert_valid(&to_sarif(&[], "0.1.0"));
}

#[test]
fn the_validator_rejects_what_is_not_sarif() {
    let validator = schema_validator();
    let mut log = to_sarif(&sample(), "0.1.0");
    assert!(validator.is_valid(&log));
    log["runs"][0]["results"][0]["level"] = json!("fatal");
    assert!(!validator.is_valid(&log));
    let mut log = to_sarif(&sample(), "0.1.0");
    log.as_object_mut().unwrap().remove("version");
    assert!(!validator.is_valid(&log));
    let mut log = to_sarif(&sample(), "0.1.0");
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        json!(0);
    assert!(!validator.is_valid(&log));
}

#[test]
fn tool_and_rules() {
    let log = to_sarif(&sample(), "1.2.3");
    assert_eq!(log["version"], "2.1.0");
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "autogate");
    assert_eq!(driver["version"], "1.2.3");
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let rules: Vec<(&str, &str)> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["defaultConfiguration"]["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("autogate/low", "note"),
            ("autogate/medium", "warning"),
            ("autogate/high", "error"),
            ("autogate/critical", "error"),
        ]
    );
}

#[test]
fn one_result_per_file_with_levels_rules_and_relative_locations() {
    let log = to_sarif(&sample(), "0.1.0");
    let run = &log["runs"][0];
    let results = run["results"].as_array().unwrap();
    let summary: Vec<(String, String, String, u64)> = results
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            // ruleIndex points at the rule named by ruleId.
            let index = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
            assert_eq!(run["tool"]["driver"]["rules"][index]["id"], r["ruleId"]);
            (
                r["ruleId"].as_str().unwrap().to_owned(),
                r["level"].as_str().unwrap().to_owned(),
                location["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                location["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("autogate/low", "note", "src/lib.rs", 12),
        ("autogate/medium", "warning", "src/config.rs", 3),
        ("autogate/medium", "warning", "src/main.rs", 1),
        ("autogate/high", "error", "docs/my%20notes%231.md", 1),
        (
            "autogate/critical",
            "error",
            "src/%C3%BCn%C3%AFcode/key.rs",
            1,
        ),
    ];
    let expected: Vec<(String, String, String, u64)> = expected
        .iter()
        .map(|(a, b, c, d)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned(), *d))
        .collect();
    assert_eq!(summary, expected);

    let high = &results[3];
    assert_eq!(
        high["message"]["text"],
        "autogate: high risk, decision ask (change 3). deletes the public function `parse`; \
         3 references in 2 files\n(blast radius)."
    );
    assert_eq!(high["properties"]["autogate"]["decision"], "ask");
    assert_eq!(high["properties"]["autogate"]["change"], "3");
    assert!(
        results[1]["message"]["text"]
            .as_str()
            .unwrap()
            .ends_with("Files in this change: src/config.rs, src/main.rs.")
    );
    assert_eq!(
        results[4]["message"]["text"],
        "autogate: critical risk, decision deny (change 4)."
    );
}

#[test]
fn no_changes_is_an_empty_result_list() {
    let log = to_sarif(&[], "0.1.0");
    assert_eq!(log["runs"][0]["results"], json!([]));
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
}

#[test]
fn first_changed_lines() {
    assert_eq!(
        first_changed_line(Some("a\nb\nc\n"), Some("a\nB\nc\n")),
        Some(2)
    );
    assert_eq!(first_changed_line(None, Some("new\n")), Some(1));
    assert_eq!(first_changed_line(Some("gone\n"), None), None);
    assert_eq!(first_changed_line(Some("same\n"), Some("same\n")), None);
    assert_eq!(
        first_changed_line(Some("a\nb\n"), Some("a\nb\nc\n")),
        Some(3)
    );
    assert_eq!(
        first_changed_line(Some("a\nb\nc\n"), Some("a\nb\n")),
        Some(2)
    );
    assert_eq!(first_changed_line(Some("a\nb"), Some("a\nb\n")), Some(2));
    assert_eq!(first_changed_line(Some("x\n"), Some("")), Some(1));
}

#[test]
fn assess_format_sarif_from_the_real_binary_validates() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "feature/x"]);
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "init"]);
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"y\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_autogate"))
        .args(["assess", "--format", "sarif", "--fail-on", "high"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "--fail-on still decides the exit code"
    );
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let validator = schema_validator();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(log["runs"][0]["results"][0]["level"], json!("error"));
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        json!("Cargo.toml")
    );
}
