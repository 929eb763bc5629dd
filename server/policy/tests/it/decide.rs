//! Decisions: thresholds, each rule criterion, the precedence, invariants and modes.

use crate::common;

use autogate_analysis::{ChangeKind, Domain, Level};
use autogate_policy::{Decision, Environment, Head, Mode, Policy};
use common::*;

/// Decision and deciding rule of `report` under `policy` in `env`, mode auto.
fn decide(
    policy: &Policy,
    report: &autogate_analysis::ImpactReport,
    env: &Environment,
) -> (Decision, String) {
    let verdict = policy.decide(report, env, Mode::Auto);
    (verdict.decision, verdict.rule)
}

fn d(decision: Decision, rule: &str) -> (Decision, String) {
    (decision, rule.to_owned())
}

const BODY: &[ChangeKind] = &[ChangeKind::BodyOnly];

#[test]
fn default_thresholds_per_environment() {
    let policy = Policy::default();
    let dev = development();
    let prod = production();
    let cases = [
        (
            Level::Low,
            &dev,
            d(Decision::Auto, "environments.development.auto_up_to"),
        ),
        (
            Level::Medium,
            &dev,
            d(Decision::Auto, "environments.development.auto_up_to"),
        ),
        (
            Level::High,
            &dev,
            d(Decision::Ask, "environments.development.auto_up_to"),
        ),
        (
            Level::Critical,
            &dev,
            d(Decision::Deny, "environments.development.deny_from"),
        ),
        (
            Level::Low,
            &prod,
            d(Decision::Auto, "environments.production.auto_up_to"),
        ),
        (
            Level::Medium,
            &prod,
            d(Decision::Ask, "environments.production.auto_up_to"),
        ),
        (
            Level::High,
            &prod,
            d(Decision::Ask, "environments.production.auto_up_to"),
        ),
        (
            Level::Critical,
            &prod,
            d(Decision::Deny, "environments.production.deny_from"),
        ),
    ];
    for (level, env, expected) in cases {
        let r = report(&["src/lib.rs"], BODY, level);
        assert_eq!(
            decide(&policy, &r, env),
            expected,
            "{level} in {}",
            env.name
        );
    }
}

#[test]
fn thresholds_reasons_name_level_and_environment() {
    let verdict = Policy::default().decide(
        &report(&["src/lib.rs"], BODY, Level::Medium),
        &production(),
        Mode::Auto,
    );
    assert_eq!(
        verdict.reasons,
        ["medium is above auto_up_to = low in production"]
    );
}

#[test]
fn environment_thresholds_from_the_file() {
    let policy = parse(
        r#"
[environments.development]
auto_up_to = "low"
deny_from = "high"
"#,
    );
    let dev = policy.environment(Some("feature/x"), None);
    let r = report(&["src/lib.rs"], BODY, Level::Medium);
    assert_eq!(
        decide(&policy, &r, &dev),
        d(Decision::Ask, "environments.development.auto_up_to")
    );
    let r = report(&["src/lib.rs"], BODY, Level::High);
    assert_eq!(
        decide(&policy, &r, &dev),
        d(Decision::Deny, "environments.development.deny_from")
    );
}

#[test]
fn paths_rule_matches_any_file_when_tightening() {
    let policy = parse(
        r#"
[[rules]]
paths = ["src/auth/**"]
decision = "ask"
reason = "auth needs a person"
"#,
    );
    let dev = development();
    let r = report(&["src/auth/login.rs", "src/lib.rs"], BODY, Level::Low);
    let verdict = policy.decide(&r, &dev, Mode::Auto);
    assert_eq!(verdict.decision, Decision::Ask);
    assert_eq!(verdict.rule, "rules[0]");
    assert_eq!(verdict.reasons[0], "auth needs a person");
    let r = report(&["src/lib.rs"], BODY, Level::Low);
    assert_eq!(
        decide(&policy, &r, &dev),
        d(Decision::Auto, "environments.development.auto_up_to")
    );
}

#[test]
fn a_loosening_rule_must_cover_the_whole_change() {
    let policy = parse(
        r#"
[[rules]]
paths = ["docs/**"]
decision = "auto"
"#,
    );
    let prod = production();
    let docs = report(&["docs/a.md", "docs/b.md"], BODY, Level::Medium);
    assert_eq!(decide(&policy, &docs, &prod), d(Decision::Auto, "rules[0]"));
    let mixed = report(&["docs/a.md", "src/lib.rs"], BODY, Level::Medium);
    assert_eq!(
        decide(&policy, &mixed, &prod),
        d(Decision::Ask, "environments.production.auto_up_to")
    );
}

#[test]
fn path_patterns_without_a_slash_match_the_file_name_anywhere() {
    let policy = parse(
        r#"
[[rules]]
paths = ["*.md"]
decision = "auto"
"#,
    );
    let r = report(&["docs/deep/guide.md"], BODY, Level::Medium);
    assert_eq!(
        decide(&policy, &r, &production()),
        d(Decision::Auto, "rules[0]")
    );
}

#[test]
fn languages_rule() {
    let policy = parse(
        r#"
[[rules]]
languages = ["Python"]
min_level = "high"
"#,
    );
    let r = with_languages(report(&["a.py"], BODY, Level::Low), &["python"]);
    let verdict = policy.decide(&r, &development(), Mode::Auto);
    assert_eq!(verdict.decision, Decision::Ask);
    assert_eq!(verdict.rule, "environments.development.auto_up_to");
    assert_eq!(
        verdict.reasons,
        [
            "high is above auto_up_to = medium in development",
            "rules[0] raises the level from low to high",
        ]
    );
    let r = with_languages(report(&["a.rs"], BODY, Level::Low), &["rust"]);
    assert_eq!(decide(&policy, &r, &development()).0, Decision::Auto);
}

#[test]
fn domains_rule() {
    let policy = parse(
        r#"
[[rules]]
domains = ["crypto", "shell"]
decision = "deny"
reason = "no generated crypto or shell code"
"#,
    );
    let r = with_domains(report(&["src/x.rs"], BODY, Level::High), &[Domain::Shell]);
    assert_eq!(
        decide(&policy, &r, &development()),
        d(Decision::Deny, "rules[0]")
    );
    let r = with_domains(report(&["src/x.rs"], BODY, Level::High), &[Domain::Network]);
    assert_eq!(decide(&policy, &r, &development()).0, Decision::Ask);
}

#[test]
fn kinds_rule_loosens_only_when_every_kind_matches() {
    let policy = parse(
        r#"
[[rules]]
kinds = ["comment_only", "format_only"]
decision = "auto"
"#,
    );
    let prod = production();
    let r = report(
        &["src/lib.rs"],
        &[ChangeKind::CommentOnly, ChangeKind::FormatOnly],
        Level::Medium,
    );
    assert_eq!(decide(&policy, &r, &prod), d(Decision::Auto, "rules[0]"));
    let r = report(
        &["src/lib.rs"],
        &[ChangeKind::CommentOnly, ChangeKind::BodyOnly],
        Level::Medium,
    );
    assert_eq!(decide(&policy, &r, &prod).0, Decision::Ask);
    let r = report(&["src/lib.rs"], &[], Level::Medium);
    assert_eq!(decide(&policy, &r, &prod).0, Decision::Ask);
}

#[test]
fn symbols_rule() {
    let policy = parse(
        r#"
[[rules]]
symbols = ["*password*", "verify_*"]
min_level = "high"
"#,
    );
    let r = with_symbols(report(&["src/a.rs"], BODY, Level::Low), &["reset_password"]);
    assert_eq!(decide(&policy, &r, &development()).0, Decision::Ask);
    let r = with_symbols(report(&["src/a.rs"], BODY, Level::Low), &["render"]);
    assert_eq!(decide(&policy, &r, &development()).0, Decision::Auto);
}

#[test]
fn environments_scope_a_rule() {
    let policy = parse(
        r#"
[[rules]]
paths = ["**/migrations/**"]
environments = ["production"]
decision = "deny"
"#,
    );
    let r = protected(report(&["db/migrations/002.sql"], BODY, Level::High));
    assert_eq!(
        decide(&policy, &r, &production()),
        d(Decision::Deny, "rules[0]")
    );
    assert_eq!(
        decide(&policy, &r, &development()),
        d(Decision::Ask, "environments.development.auto_up_to")
    );
}

#[test]
fn every_criterion_of_a_rule_must_match() {
    let policy = parse(
        r#"
[[rules]]
paths = ["src/**"]
domains = ["sql"]
decision = "deny"
"#,
    );
    let both = with_domains(report(&["src/db.rs"], BODY, Level::High), &[Domain::Sql]);
    assert_eq!(decide(&policy, &both, &development()).0, Decision::Deny);
    let path_only = report(&["src/db.rs"], BODY, Level::High);
    assert_eq!(decide(&policy, &path_only, &development()).0, Decision::Ask);
}

#[test]
fn deny_beats_ask_beats_auto_among_rules() {
    let policy = parse(
        r#"
[[rules]]
paths = ["src/**"]
decision = "auto"

[[rules]]
paths = ["src/auth/**"]
decision = "ask"

[[rules]]
paths = ["src/auth/keys/**"]
decision = "deny"

[[rules]]
paths = ["src/auth/**"]
decision = "ask"
"#,
    );
    let dev = development();
    let r = report(&["src/main.rs"], BODY, Level::High);
    assert_eq!(decide(&policy, &r, &dev), d(Decision::Auto, "rules[0]"));
    // The first of equally strong rules decides.
    let r = report(&["src/auth/login.rs"], BODY, Level::Low);
    assert_eq!(decide(&policy, &r, &dev), d(Decision::Ask, "rules[1]"));
    let r = report(&["src/auth/keys/store.rs"], BODY, Level::Low);
    assert_eq!(decide(&policy, &r, &dev), d(Decision::Deny, "rules[2]"));
}

#[test]
fn a_rule_decision_replaces_the_thresholds() {
    // The team file may loosen: a high change applies on its own, even in production.
    let policy = parse(
        r#"
[environments.production]
deny_from = "high"

[[rules]]
paths = ["generated/**"]
decision = "auto"

[[rules]]
paths = ["vendor/**"]
decision = "ask"
"#,
    );
    let prod = production();
    let r = report(&["generated/api.rs"], BODY, Level::High);
    assert_eq!(decide(&policy, &r, &prod), d(Decision::Auto, "rules[0]"));
    let r = report(&["vendor/lib.rs"], BODY, Level::High);
    assert_eq!(decide(&policy, &r, &prod), d(Decision::Ask, "rules[1]"));
    let r = report(&["src/lib.rs"], BODY, Level::High);
    assert_eq!(
        decide(&policy, &r, &prod),
        d(Decision::Deny, "environments.production.deny_from")
    );
}

#[test]
fn min_level_raises_and_never_lowers() {
    let policy = parse(
        r#"
[[rules]]
paths = ["src/**"]
min_level = "low"

[[rules]]
paths = ["src/billing/**"]
min_level = "critical"
reason = "billing is off limits"
"#,
    );
    let dev = development();
    let r = report(&["src/lib.rs"], BODY, Level::High);
    assert_eq!(decide(&policy, &r, &dev).0, Decision::Ask);
    let verdict = policy.decide(
        &report(&["src/billing/pay.rs"], BODY, Level::Low),
        &dev,
        Mode::Auto,
    );
    assert_eq!(verdict.decision, Decision::Deny);
    assert_eq!(verdict.rule, "environments.development.deny_from");
    assert_eq!(
        verdict.reasons[1],
        "rules[1] raises the level from low to critical: billing is off limits"
    );
}

#[test]
fn critical_is_always_denied() {
    let policy = parse(
        r#"
[[rules]]
paths = ["docs/**"]
decision = "auto"
"#,
    );
    let r = with_secret(report(&["docs/setup.md"], BODY, Level::Low));
    let verdict = policy.decide(&r, &development(), Mode::Auto);
    assert_eq!(verdict.decision, Decision::Deny);
    assert_eq!(verdict.rule, "level.critical");
    assert_eq!(verdict.reasons[0], "critical changes are always denied");
}

#[test]
fn protected_configuration_always_asks() {
    let policy = parse(
        r#"
unprotect = [".vscode/**"]

[environments.development]
auto_up_to = "high"

[[rules]]
paths = [".github/**", ".vscode/**", "**/.autogate.toml", ".claude/**", ".helix/**", ".gitlab-ci.yml"]
decision = "auto"
"#,
    );
    let dev = development();
    for file in [
        ".autogate.toml",
        ".github/workflows/ci.yml",
        ".vscode/settings.json",
        ".gitlab-ci.yml",
        ".claude/settings.json",
        ".helix/languages.toml",
        "sub/.autogate.toml",
    ] {
        let r = report(&[file], &[ChangeKind::CommentOnly], Level::Low);
        let verdict = policy.decide(&r, &dev, Mode::Auto);
        assert_eq!(verdict.decision, Decision::Ask, "{file}");
        assert_eq!(verdict.rule, "protected.config", "{file}");
    }
    // Unprotected, `.vscode/**` is no longer raised to high by the analyzer...
    assert!(
        policy
            .protected()
            .matching(".vscode/settings.json")
            .is_none()
    );
    // ...but `.autogate.toml` always is.
    assert!(policy.protected().matching(".autogate.toml").is_some());
}

#[test]
fn protected_configuration_can_still_be_denied() {
    let policy = parse(
        r#"
[[rules]]
paths = [".github/**"]
decision = "deny"
"#,
    );
    let r = report(&[".github/workflows/ci.yml"], BODY, Level::High);
    assert_eq!(
        decide(&policy, &r, &development()),
        d(Decision::Deny, "rules[0]")
    );
}

#[test]
fn mode_ask_makes_every_non_deny_change_ask() {
    let policy = Policy::default();
    let dev = development();
    let low = report(&["src/lib.rs"], BODY, Level::Low);
    let verdict = policy.decide(&low, &dev, Mode::Ask);
    assert_eq!(
        (verdict.decision, verdict.rule.as_str()),
        (Decision::Ask, "mode.ask")
    );
    let critical = report(&["src/lib.rs"], BODY, Level::Critical);
    assert_eq!(
        policy.decide(&critical, &dev, Mode::Ask).decision,
        Decision::Deny
    );
}

#[test]
fn mode_plan_still_computes_decisions() {
    let policy = Policy::default();
    let dev = development();
    for level in Level::ALL {
        let r = report(&["src/lib.rs"], BODY, level);
        let auto = policy.decide(&r, &dev, Mode::Auto);
        let plan = policy.decide(&r, &dev, Mode::Plan);
        assert_eq!((plan.decision, &plan.rule), (auto.decision, &auto.rule));
        assert_eq!(
            plan.reasons.last().map(String::as_str),
            Some("mode is `plan`: nothing is applied")
        );
    }
}

#[test]
fn the_mode_comes_from_the_file() {
    assert_eq!(parse("mode = \"plan\"").mode(), Mode::Plan);
    assert_eq!(Policy::default().mode(), Mode::Auto);
}

#[test]
fn environment_detection() {
    let policy = Policy::default();
    let cases = [
        (
            Head::Branch("main".into()),
            None,
            "production",
            "branch `main` matches `main` of production",
        ),
        (
            Head::Branch("master".into()),
            None,
            "production",
            "branch `master` matches `master` of production",
        ),
        (
            Head::Branch("release/1.2".into()),
            None,
            "production",
            "branch `release/1.2` matches `release/*` of production",
        ),
        (
            Head::Branch("prod-eu".into()),
            None,
            "production",
            "branch `prod-eu` matches `prod*` of production",
        ),
        (
            Head::Branch("feature/x".into()),
            None,
            "development",
            "branch `feature/x` matches no environment's branches",
        ),
        (Head::Detached, None, "production", "detached HEAD"),
        (Head::NoGit, None, "development", "no git repository"),
        (
            Head::Branch("main".into()),
            Some("development"),
            "development",
            "AUTOGATE_ENV=development",
        ),
        (
            Head::NoGit,
            Some("production"),
            "production",
            "AUTOGATE_ENV=production",
        ),
        (
            Head::NoGit,
            Some("staging"),
            "production",
            "AUTOGATE_ENV=staging names no environment of the policy: production",
        ),
        (Head::Detached, Some(""), "production", "detached HEAD"),
    ];
    for (head, var, name, reason) in cases {
        let env = policy.environment_for(&head, var);
        assert_eq!(
            (env.name.as_str(), env.reason.as_str()),
            (name, reason),
            "{head:?} {var:?}"
        );
    }
    // The compatible wrapper: `None` is no git, `HEAD` is a detached HEAD.
    assert_eq!(policy.environment(None, None).name, "development");
    assert_eq!(
        policy.environment(Some("HEAD"), None).reason,
        "detached HEAD"
    );
}

#[test]
fn custom_environments_and_the_strictest_match() {
    let policy = parse(
        r#"
[environments.production]
branches = ["main"]

[environments.staging]
branches = ["staging/*", "main"]
auto_up_to = "medium"
deny_from = "high"

[environments.sandbox]
branches = ["sandbox/*"]
auto_up_to = "high"
"#,
    );
    let env = policy.environment(Some("staging/eu"), None);
    assert_eq!(env.name, "staging");
    // `main` matches production and staging: production is stricter.
    assert_eq!(policy.environment(Some("main"), None).name, "production");
    // `release/*` is no longer production's.
    assert_eq!(
        policy.environment(Some("release/1"), None).name,
        "development"
    );
    let sandbox = policy.environment(Some("sandbox/me"), None);
    let r = report(&["src/lib.rs"], BODY, Level::High);
    assert_eq!(
        decide(&policy, &r, &sandbox),
        d(Decision::Auto, "environments.sandbox.auto_up_to")
    );
    assert_eq!(
        decide(&policy, &r, &env),
        d(Decision::Deny, "environments.staging.deny_from")
    );
    // A new environment without thresholds takes production's.
    let policy = parse("[environments.qa]\nbranches = [\"qa\"]\n");
    let qa = policy.environment(Some("qa"), None);
    assert_eq!(qa.name, "qa");
    assert_eq!(policy.thresholds(&qa), policy.thresholds(&production()));
}

#[test]
fn an_unknown_environment_gets_production_thresholds() {
    let env = Environment {
        name: "nowhere".into(),
        reason: "made up".into(),
    };
    let r = report(&["src/lib.rs"], BODY, Level::Medium);
    assert_eq!(
        decide(&Policy::default(), &r, &env),
        d(Decision::Ask, "environments.production.auto_up_to")
    );
}

#[test]
fn a_broken_file_fails_closed() {
    let policy = Policy::fail_closed();
    assert_eq!(policy.mode(), Mode::Ask);
    let r = report(&["src/lib.rs"], BODY, Level::Low);
    let verdict = policy.decide(&r, &development(), policy.mode());
    assert_eq!(
        (verdict.decision, verdict.rule.as_str()),
        (Decision::Ask, "mode.ask")
    );
}

#[test]
fn shadow_mode_applies_all_but_critical_and_keeps_what_auto_would_have_decided() {
    let policy = parse(
        r#"
mode = "shadow"

[[rules]]
domains = ["shell"]
decision = "deny"
"#,
    );
    assert_eq!(policy.mode(), Mode::Shadow);
    let dev = development();
    let high = report(&["src/x.rs"], BODY, Level::High);
    let shell = with_domains(report(&["src/x.rs"], BODY, Level::High), &[Domain::Shell]);
    let config = report(&[".github/workflows/ci.yml"], BODY, Level::Low);
    for (r, would) in [
        (&high, Decision::Ask),
        (&shell, Decision::Deny),
        (&config, Decision::Ask),
    ] {
        let verdict = policy.decide(r, &dev, Mode::Shadow);
        assert_eq!(
            (verdict.decision, verdict.rule.as_str()),
            (Decision::Auto, "mode.shadow")
        );
        assert_eq!(verdict.would_decision(), would, "{verdict:?}");
        assert_eq!(
            verdict.would.as_deref().map(|w| w.decision),
            policy.decide(r, &dev, Mode::Auto).decision.into()
        );
    }
    let secret = with_secret(report(&["src/x.rs"], BODY, Level::Critical));
    let verdict = policy.decide(&secret, &dev, Mode::Shadow);
    assert_eq!(verdict.decision, Decision::Deny);
    assert_eq!(verdict.would_decision(), Decision::Deny);
}

#[test]
fn max_level_and_sensitive_narrow_a_loosening_rule() {
    let policy = parse(
        r#"
[environments.development]
auto_up_to = "low"

[[rules]]
paths = ["src/parser/**"]
kinds = ["body_only"]
sensitive = false
max_level = "medium"
decision = "auto"
"#,
    );
    let dev = development();
    let medium = report(&["src/parser/a.rs"], BODY, Level::Medium);
    assert_eq!(
        decide(&policy, &medium, &dev),
        d(Decision::Auto, "rules[0]")
    );
    let high = report(&["src/parser/a.rs"], BODY, Level::High);
    assert_eq!(decide(&policy, &high, &dev).0, Decision::Ask);
    let sql = with_domains(
        report(&["src/parser/a.rs"], BODY, Level::Medium),
        &[Domain::Sql],
    );
    assert_eq!(decide(&policy, &sql, &dev).0, Decision::Ask);
    let errors = Policy::from_toml(
        "[[rules]]\ndomains = [\"sql\"]\nsensitive = false\ndecision = \"ask\"\n",
        ".autogate.toml",
    )
    .unwrap_err();
    assert!(
        errors[0].to_string().contains("match nothing together"),
        "{errors:?}"
    );
}
