//! Editor overrides only tighten: what loosens is refused, by name.

use crate::common;

use autogate_analysis::{ChangeKind, Level};
use autogate_policy::{Decision, EditorOverrides, Mode, Policy, Thresholds};
use common::*;

#[test]
fn stricter_settings_apply() {
    let overrides = EditorOverrides {
        mode: Some(Mode::Ask),
        auto_up_to: Some(Level::Low),
        deny_from: Some(Level::High),
        protected: vec!["secrets/**".to_owned()],
    };
    let (policy, refusals) = Policy::default().tighten(&overrides);
    assert_eq!(refusals, Vec::<String>::new());
    assert_eq!(policy.mode(), Mode::Ask);
    let strict = Thresholds {
        auto_up_to: Level::Low,
        deny_from: Level::High,
    };
    assert_eq!(policy.thresholds(&development()), strict);
    assert_eq!(policy.thresholds(&production()), strict);
    assert_eq!(
        policy.protected().matching("secrets/a.txt"),
        Some("secrets/**")
    );
    // The defaults stay protected.
    assert_eq!(
        policy.protected().matching("Cargo.toml"),
        Some("Cargo.toml")
    );
}

#[test]
fn looser_settings_are_refused_by_name() {
    let base = parse(
        r#"
mode = "ask"

[environments.development]
auto_up_to = "low"
deny_from = "high"
"#,
    );
    let overrides = EditorOverrides {
        mode: Some(Mode::Auto),
        auto_up_to: Some(Level::Medium),
        deny_from: Some(Level::Critical),
        protected: vec!["src/[x".to_owned()],
    };
    let (policy, refusals) = base.tighten(&overrides);
    assert_eq!(
        refusals,
        [
            "editor setting `mode = auto` refused: it would loosen the policy's mode `ask`",
            "editor setting `deny_from = critical` refused in development: it would loosen \
             environments.development.deny_from = high",
            "editor setting `auto_up_to = medium` refused in development: it would loosen \
             environments.development.auto_up_to = low",
            "editor setting `auto_up_to = medium` refused in production: it would loosen \
             environments.production.auto_up_to = low",
            "editor setting `protected` entry `src/[x` refused: not a valid glob",
        ]
    );
    assert_eq!(policy.mode(), Mode::Ask);
    assert_eq!(
        policy.thresholds(&development()),
        Thresholds {
            auto_up_to: Level::Low,
            deny_from: Level::High
        }
    );
    // In production `deny_from = critical` equals the policy's, so it applies (a no-op).
    assert_eq!(
        policy.thresholds(&production()),
        Thresholds {
            auto_up_to: Level::Low,
            deny_from: Level::Critical
        }
    );
}

#[test]
fn a_cap_applies_where_it_tightens_and_is_refused_where_it_loosens() {
    let (policy, refusals) = Policy::default().tighten(&EditorOverrides {
        auto_up_to: Some(Level::Medium),
        ..EditorOverrides::default()
    });
    assert_eq!(
        refusals,
        [
            "editor setting `auto_up_to = medium` refused in production: it would loosen \
          environments.production.auto_up_to = low"
        ]
    );
    assert_eq!(policy.thresholds(&development()).auto_up_to, Level::Medium);
    assert_eq!(policy.thresholds(&production()).auto_up_to, Level::Low);
}

#[test]
fn lowering_deny_from_lowers_auto_up_to_below_it() {
    let (policy, refusals) = Policy::default().tighten(&EditorOverrides {
        deny_from: Some(Level::Medium),
        ..EditorOverrides::default()
    });
    assert!(refusals.is_empty(), "{refusals:?}");
    let dev = development();
    assert_eq!(
        policy.thresholds(&dev),
        Thresholds {
            auto_up_to: Level::Low,
            deny_from: Level::Medium
        }
    );
    let r = report(&["src/lib.rs"], &[ChangeKind::BodyOnly], Level::Medium);
    assert_eq!(policy.decide(&r, &dev, Mode::Auto).decision, Decision::Deny);
}

#[test]
fn deny_from_low_is_refused() {
    let (_, refusals) = Policy::default().tighten(&EditorOverrides {
        deny_from: Some(Level::Low),
        ..EditorOverrides::default()
    });
    assert_eq!(
        refusals,
        [
            "editor setting `deny_from = low` refused: deny_from must be at least medium (use mode \
          `plan` to apply nothing)"
        ]
    );
}

#[test]
fn plan_is_stricter_than_ask_and_the_same_mode_is_fine() {
    let ask = parse("mode = \"ask\"");
    let (policy, refusals) = ask.tighten(&EditorOverrides {
        mode: Some(Mode::Plan),
        ..EditorOverrides::default()
    });
    assert!(refusals.is_empty());
    assert_eq!(policy.mode(), Mode::Plan);
    let (policy, refusals) = policy.tighten(&EditorOverrides {
        mode: Some(Mode::Ask),
        ..EditorOverrides::default()
    });
    assert_eq!(
        refusals,
        ["editor setting `mode = ask` refused: it would loosen the policy's mode `plan`"]
    );
    assert_eq!(policy.mode(), Mode::Plan);
    let (_, refusals) = ask.tighten(&EditorOverrides {
        mode: Some(Mode::Ask),
        ..EditorOverrides::default()
    });
    assert!(refusals.is_empty());
}

#[test]
fn overrides_deserialize_from_editor_settings() {
    // The shell hands in JSON; any serde format works. TOML stands in for it here.
    let overrides: EditorOverrides = toml::from_str(
        r#"
mode = "plan"
autoUpTo = "low"
deny_from = "high"
protected = ["infra/**"]
"#,
    )
    .expect("valid overrides");
    assert_eq!(
        overrides,
        EditorOverrides {
            mode: Some(Mode::Plan),
            auto_up_to: Some(Level::Low),
            deny_from: Some(Level::High),
            protected: vec!["infra/**".to_owned()],
        }
    );
    // Other settings of the editor's section are not this struct's business...
    assert!(toml::from_str::<EditorOverrides>("trace = \"verbose\"").is_ok());
    // ...but a bad value of one of its own is an error.
    assert!(toml::from_str::<EditorOverrides>("mode = \"yolo\"").is_err());
}
