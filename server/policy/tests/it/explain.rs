//! `autogate policy explain`: the effective policy as text, and what applies to one path.

use crate::common;

use autogate_policy::{
    CommitBranch, CommitSettings, EditorOverrides, LlmProvider, LlmSettings, Mode, Policy,
    VerifyCommand,
};
use common::*;

const FULL: &str = r#"
mode = "ask"
protected = ["infra/**"]
unprotect = ["go.mod"]

[environments.staging]
branches = ["staging/*"]
auto_up_to = "medium"

[[rules]]
paths = ["docs/**"]
decision = "auto"
reason = "docs apply on their own"

[[rules]]
domains = ["auth"]
languages = ["rust"]
min_level = "high"

[verify]
timeout_secs = 60
commands = [
  { run = "cargo check" },
  { run = "cargo test", timeout_secs = 600 },
]

[llm]
provider = "anthropic"
model = "claude-sonnet-4-5"
api_key_env = "TEAM_ANTHROPIC_KEY"

[commit]
enabled = true
branch = "side"
sign_off = true
"#;

#[test]
fn explain_the_defaults() {
    let policy = Policy::default();
    insta::assert_snapshot!(policy.explain(&policy.environment(Some("main"), None)));
}

#[test]
fn explain_a_full_file() {
    let policy = parse(FULL);
    insta::assert_snapshot!(policy.explain(&policy.environment(Some("staging/eu"), None)));
}

#[test]
fn settings_of_a_full_file() {
    let policy = parse(FULL);
    assert_eq!(policy.mode(), Mode::Ask);
    assert_eq!(policy.verify().timeout_secs, 60);
    assert_eq!(
        policy.verify().commands,
        [
            VerifyCommand {
                run: "cargo check".into(),
                timeout_secs: 60
            },
            VerifyCommand {
                run: "cargo test".into(),
                timeout_secs: 600
            },
        ]
    );
    assert_eq!(
        policy.llm(),
        Some(&LlmSettings {
            provider: LlmProvider::Anthropic,
            base_url: "https://api.anthropic.com".into(),
            model: Some("claude-sonnet-4-5".into()),
            api_key_env: "TEAM_ANTHROPIC_KEY".into(),
            timeout_secs: 120,
        })
    );
    assert_eq!(
        policy.commit(),
        &CommitSettings {
            enabled: true,
            branch: CommitBranch::Side,
            sign_off: true
        }
    );
    assert_eq!(
        policy.protected().matching("infra/main.tf"),
        Some("infra/**")
    );
    assert_eq!(policy.protected().matching("go.mod"), None);
}

#[test]
fn settings_defaults() {
    let policy = parse("[llm]\nprovider = \"openai\"\n");
    let llm = policy.llm().expect("llm configured");
    assert_eq!(llm.base_url, "https://api.openai.com/v1");
    assert_eq!(llm.api_key_env, "OPENAI_API_KEY");
    assert_eq!(llm.model, None);
    assert_eq!(llm.timeout_secs, 120);
    let policy = Policy::default();
    assert_eq!(policy.llm(), None);
    assert!(policy.verify().commands.is_empty());
    assert_eq!(policy.verify().timeout_secs, 300);
    assert_eq!(policy.commit(), &CommitSettings::default());
    assert!(!policy.commit().enabled);
}

#[test]
fn rules_matching_a_path() {
    let policy = parse(FULL);
    assert_eq!(
        policy.rules_matching("docs/guide.md"),
        [
            "rules[0] (line 10): paths docs/** → decision auto — docs apply on their own",
            "rules[1] (line 15): languages rust; domains auth → min_level high (may apply: it \
             does not look at paths)",
        ]
    );
    assert_eq!(
        policy.rules_matching(".github/workflows/ci.yml"),
        [
            "protected.config: `**/.github/**` — every change asks at least",
            "protected: `.github/**` — high at least",
            "rules[1] (line 15): languages rust; domains auth → min_level high (may apply: it \
             does not look at paths)",
        ]
    );
}

#[test]
fn explain_shows_editor_tightening() {
    let (policy, _) = Policy::default().tighten(&EditorOverrides {
        mode: Some(Mode::Plan),
        ..EditorOverrides::default()
    });
    let text = policy.explain(&development());
    assert!(text.contains("mode: plan\n"), "{text}");
}
