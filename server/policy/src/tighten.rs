//! Editor overrides: settings from the editor that may only make the policy stricter.
//!
//! The shell converts LSP `initializationOptions` or `workspace/configuration` into
//! [`EditorOverrides`] (it derives `Deserialize`, so `serde_json::from_value` does it), then
//! calls [`Policy::tighten`]. What would loosen the policy is refused with a message naming
//! the setting, and the rest still applies.

use autogate_analysis::Level;
use globset::GlobBuilder;
use serde::Deserialize;

use crate::{Mode, Policy, Thresholds, path_set};

/// What an editor may set. Every field is optional; absent means "as the policy says".
///
/// Unknown fields are ignored, so that the shell can deserialize the editor's whole `autogate`
/// settings section (which holds other settings too); bad values of these fields are errors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct EditorOverrides {
    /// `ask` or `plan` (stricter than the policy's mode), or the policy's own mode.
    pub mode: Option<Mode>,
    /// Caps `auto_up_to` in every environment.
    #[serde(alias = "autoUpTo")]
    pub auto_up_to: Option<Level>,
    /// Caps `deny_from` in every environment; `auto_up_to` drops below it if needed.
    #[serde(alias = "denyFrom")]
    pub deny_from: Option<Level>,
    /// Extra protected path globs.
    pub protected: Vec<String>,
}

impl Policy {
    /// The policy with `overrides` applied where they tighten it, and a message for each
    /// setting refused because it would loosen it (or is invalid).
    pub fn tighten(&self, overrides: &EditorOverrides) -> (Policy, Vec<String>) {
        let mut policy = self.clone();
        let mut refusals = Vec::new();

        if let Some(mode) = overrides.mode {
            if mode >= self.mode {
                policy.mode = mode;
            } else {
                refusals.push(format!(
                    "editor setting `mode = {mode}` refused: it would loosen the policy's mode \
                     `{}`",
                    self.mode
                ));
            }
        }

        if let Some(deny_from) = overrides.deny_from {
            if deny_from == Level::Low {
                refusals.push(
                    "editor setting `deny_from = low` refused: deny_from must be at least medium \
                     (use mode `plan` to apply nothing)"
                        .to_owned(),
                );
            } else {
                for env in &mut policy.environments {
                    let t = &env.thresholds;
                    if deny_from > t.deny_from {
                        refusals.push(format!(
                            "editor setting `deny_from = {deny_from}` refused in {}: it would \
                             loosen environments.{}.deny_from = {}",
                            env.name, env.name, t.deny_from
                        ));
                    } else {
                        env.thresholds = Thresholds {
                            auto_up_to: t.auto_up_to.min(below(deny_from)),
                            deny_from,
                        };
                    }
                }
            }
        }

        if let Some(auto_up_to) = overrides.auto_up_to {
            for env in &mut policy.environments {
                let t = &env.thresholds;
                if auto_up_to > t.auto_up_to {
                    refusals.push(format!(
                        "editor setting `auto_up_to = {auto_up_to}` refused in {}: it would \
                         loosen environments.{}.auto_up_to = {}",
                        env.name, env.name, t.auto_up_to
                    ));
                } else {
                    env.thresholds.auto_up_to = auto_up_to;
                }
            }
        }

        if !overrides.protected.is_empty() {
            let mut patterns = policy.protected.patterns().to_vec();
            for pattern in &overrides.protected {
                let valid = !pattern.is_empty()
                    && GlobBuilder::new(pattern)
                        .literal_separator(true)
                        .build()
                        .is_ok();
                if !valid {
                    refusals.push(format!(
                        "editor setting `protected` entry `{pattern}` refused: not a valid glob"
                    ));
                } else if !patterns.contains(pattern) {
                    patterns.push(pattern.clone());
                }
            }
            policy.protected = path_set(&patterns);
        }

        (policy, refusals)
    }
}

/// The level just below `level` (`low` stays `low`).
fn below(level: Level) -> Level {
    match level {
        Level::Low | Level::Medium => Level::Low,
        Level::High => Level::Medium,
        Level::Critical => Level::High,
    }
}
