//! The example of `docs/policy.md`, exactly as written there, parses and behaves as documented.

use crate::common;

use autogate_analysis::{ChangeKind, Level};
use autogate_policy::{Decision, Environment, Mode, Policy, VerifyCommand};
use common::*;

const DOCS: &str = include_str!("../../../../docs/policy.md");

/// The TOML between `<!-- example:begin -->` and `<!-- example:end -->`, without the fence.
fn example_text() -> &'static str {
    let begin = DOCS
        .find("<!-- example:begin -->")
        .expect("example start marker in docs/policy.md");
    let end = DOCS
        .find("<!-- example:end -->")
        .expect("example end marker in docs/policy.md");
    let block = &DOCS[begin..end];
    let start = block.find("```toml\n").expect("a toml fence") + "```toml\n".len();
    let stop = block.rfind("```").expect("a closing fence");
    &block[start..stop]
}

fn example() -> Policy {
    parse(example_text())
}

fn verdict(report: &autogate_analysis::ImpactReport, env: &Environment) -> (Decision, String) {
    let verdict = example().decide(report, env, Mode::Auto);
    (verdict.decision, verdict.rule)
}

fn on(branch: &str) -> Environment {
    example().environment(Some(branch), None)
}

fn d(decision: Decision, rule: &str) -> (Decision, String) {
    (decision, rule.to_owned())
}

#[test]
fn the_example_parses() {
    let policy = example();
    assert_eq!(policy.mode(), Mode::Auto);
    assert_eq!(policy.rules().len(), 4);
    assert_eq!(on("main").name, "production");
    assert_eq!(on("feature/x").name, "development");
}

#[test]
fn comment_and_format_edits_apply_everywhere() {
    let comment = report(
        &["src/server.rs"],
        &[ChangeKind::CommentOnly],
        Level::Medium,
    );
    let format = report(&["src/server.rs"], &[ChangeKind::FormatOnly], Level::Low);
    for branch in ["feature/x", "main", "release/2.0"] {
        assert_eq!(
            verdict(&comment, &on(branch)),
            d(Decision::Auto, "rules[0]")
        );
        assert_eq!(verdict(&format, &on(branch)), d(Decision::Auto, "rules[0]"));
    }
}

#[test]
fn docs_apply_everywhere() {
    let docs = report(&["docs/guide.md"], &[ChangeKind::Other], Level::Medium);
    for branch in ["feature/x", "main"] {
        let v = example().decide(&docs, &on(branch), Mode::Auto);
        assert_eq!((v.decision, v.rule.as_str()), (Decision::Auto, "rules[1]"));
        assert_eq!(v.reasons[0], "documentation applies on its own");
    }
}

#[test]
fn everything_under_src_auth_asks() {
    let body = report(&["src/auth/login.rs"], &[ChangeKind::BodyOnly], Level::Low);
    let comment = report(
        &["src/auth/login.rs"],
        &[ChangeKind::CommentOnly],
        Level::Low,
    );
    for branch in ["feature/x", "main"] {
        let v = example().decide(&body, &on(branch), Mode::Auto);
        assert_eq!((v.decision, v.rule.as_str()), (Decision::Ask, "rules[2]"));
        assert_eq!(v.reasons[0], "authentication code needs a person");
        // Ask beats auto.
        assert_eq!(verdict(&comment, &on(branch)), d(Decision::Ask, "rules[2]"));
    }
}

#[test]
fn migrations_are_denied_on_main_only() {
    let migration = protected(report(
        &["migrations/002_users.sql"],
        &[ChangeKind::FileCreated],
        Level::High,
    ));
    assert_eq!(
        verdict(&migration, &on("main")),
        d(Decision::Deny, "rules[3]")
    );
    assert_eq!(
        verdict(&migration, &on("feature/x")),
        d(Decision::Ask, "environments.development.auto_up_to")
    );
    let nested = protected(report(
        &["services/api/migrations/0003.py"],
        &[ChangeKind::BodyOnly],
        Level::High,
    ));
    assert_eq!(verdict(&nested, &on("main")), d(Decision::Deny, "rules[3]"));
}

#[test]
fn mixed_changes_are_not_loosened_by_the_docs_rule() {
    let mixed = report(
        &["src/lib.rs", "docs/guide.md"],
        &[ChangeKind::BodyOnly],
        Level::Medium,
    );
    assert_eq!(
        verdict(&mixed, &on("feature/x")),
        d(Decision::Auto, "environments.development.auto_up_to")
    );
    assert_eq!(
        verdict(&mixed, &on("main")),
        d(Decision::Ask, "environments.production.auto_up_to")
    );
}

#[test]
fn invariants_hold_in_the_example() {
    let secret = with_secret(report(&["docs/setup.md"], &[ChangeKind::Other], Level::Low));
    assert_eq!(
        verdict(&secret, &on("feature/x")),
        d(Decision::Deny, "level.critical")
    );
    let ci = protected(report(
        &[".github/workflows/ci.yml"],
        &[ChangeKind::CommentOnly],
        Level::High,
    ));
    for branch in ["feature/x", "main"] {
        assert_eq!(
            verdict(&ci, &on(branch)),
            d(Decision::Ask, "protected.config")
        );
    }
}

#[test]
fn cargo_check_runs_after_each_batch() {
    let policy = example();
    assert_eq!(
        policy.verify().commands,
        [VerifyCommand {
            run: "cargo check".to_owned(),
            timeout_secs: 120
        }]
    );
}

#[test]
fn documented_errors_are_the_real_ones() {
    let table = include_str!("errors.rs").replace("\\\"", "\"");
    let errors = DOCS
        .split("## Errors")
        .nth(1)
        .expect("an Errors section in docs/policy.md");
    let lines: Vec<&str> = errors
        .lines()
        .filter(|l| l.starts_with(".autogate.toml:"))
        .collect();
    assert!(lines.len() >= 12, "{lines:?}");
    for line in lines {
        assert!(table.contains(line), "not in tests/errors.rs: {line}");
    }
}
