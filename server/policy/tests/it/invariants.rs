//! Invariants checked over every combination: whatever the file says, critical is denied, and
//! agent, editor and CI configuration never applies on its own.

use crate::common;

use autogate_analysis::{ChangeKind, Level};
use autogate_policy::{Decision, EditorOverrides, Mode, Policy};
use common::*;

/// Policies that try hard to loosen.
fn loose_policies() -> Vec<Policy> {
    let everything = r#"
[environments.development]
auto_up_to = "high"

[environments.production]
auto_up_to = "high"

[[rules]]
paths = ["**", "*", ".*", "**/.*/**"]
decision = "auto"

[[rules]]
kinds = ["comment_only", "format_only", "body_only", "other"]
decision = "auto"
"#;
    let unprotected = r#"
unprotect = [".vscode/**", ".github/**", ".gitlab-ci.yml", ".claude/**", ".helix/**"]

[[rules]]
paths = [".github/**", ".vscode/**", ".claude/**", ".helix/**", ".gitlab-ci.yml", ".autogate.toml"]
decision = "auto"
"#;
    vec![Policy::default(), parse(everything), parse(unprotected)]
}

const FILES: &[&str] = &[
    "src/lib.rs",
    "docs/a.md",
    ".autogate.toml",
    ".github/workflows/ci.yml",
    ".vscode/settings.json",
    ".gitlab-ci.yml",
    ".claude/settings.json",
    ".helix/config.toml",
    "web/.vscode/launch.json",
    ".mcp.json",
    "AGENTS.md",
    "sub/dir/AGENTS.md",
    "CLAUDE.md",
    "pkg/CLAUDE.md",
    "GEMINI.md",
    "AGENTS.override.md",
    "svc/AGENTS.override.md",
    ".agents/skills/deploy/SKILL.md",
    ".cursor/rules/x.mdc",
    ".clinerules",
    ".clinerules/rules.md",
    ".codex/config.toml",
    ".gemini/settings.json",
    // Case and Unicode spellings a case-insensitive or normalising file system resolves to
    // the same files.
    ".Github/workflows/evil.yml",
    ".GITHUB/workflows/evil.yml",
    ".VSCode/tasks.json",
    "Agents.md",
    ".MCP.json",
    "claude.md",
    ".\u{ff47}ithub/workflows/evil.yml",
    ".github./workflows/evil.yml",
];

fn is_config(file: &str) -> bool {
    file != "src/lib.rs" && file != "docs/a.md"
}

#[test]
fn critical_is_denied_and_config_never_auto() {
    let kinds = [
        ChangeKind::CommentOnly,
        ChangeKind::BodyOnly,
        ChangeKind::Other,
    ];
    let tighter = EditorOverrides {
        mode: Some(Mode::Ask),
        auto_up_to: Some(Level::Low),
        ..EditorOverrides::default()
    };
    for base in loose_policies() {
        for policy in [base.clone(), base.tighten(&tighter).0] {
            for branch in [Some("main"), Some("feature/x"), Some("HEAD"), None] {
                let env = policy.environment(branch, None);
                for mode in [Mode::Auto, Mode::Ask, Mode::Plan] {
                    for file in FILES {
                        for kind in kinds {
                            for level in Level::ALL {
                                let r = report(&[file], &[kind], level);
                                let v = policy.decide(&r, &env, mode);
                                let context = format!("{file} {kind:?} {level} {mode} {env:?}");
                                if level == Level::Critical {
                                    assert_eq!(v.decision, Decision::Deny, "{context}");
                                }
                                if is_config(file) {
                                    assert_ne!(v.decision, Decision::Auto, "{context}");
                                }
                                if mode == Mode::Ask {
                                    assert_ne!(v.decision, Decision::Auto, "{context}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn editor_overrides_never_loosen() {
    let strict = parse(
        r#"
mode = "plan"

[environments.development]
auto_up_to = "low"
deny_from = "medium"

[environments.production]
auto_up_to = "low"
deny_from = "medium"
"#,
    );
    let modes = [None, Some(Mode::Auto), Some(Mode::Ask), Some(Mode::Plan)];
    let levels = [
        None,
        Some(Level::Low),
        Some(Level::Medium),
        Some(Level::High),
        Some(Level::Critical),
    ];
    for mode in modes {
        for auto_up_to in levels {
            for deny_from in levels {
                let overrides = EditorOverrides {
                    mode,
                    auto_up_to,
                    deny_from,
                    protected: Vec::new(),
                };
                let (policy, _) = strict.tighten(&overrides);
                assert_eq!(policy.mode(), Mode::Plan);
                for env in [development(), production()] {
                    let before = strict.thresholds(&env);
                    let after = policy.thresholds(&env);
                    assert!(after.auto_up_to <= before.auto_up_to, "{overrides:?}");
                    assert!(after.deny_from <= before.deny_from, "{overrides:?}");
                    assert!(after.auto_up_to < after.deny_from, "{overrides:?}");
                }
            }
        }
    }
}
