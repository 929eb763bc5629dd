//! `autogate policy explain`: the effective policy as text for a person.

use std::fmt::Write;

use crate::{Environment, Policy};

impl Policy {
    /// The effective policy in `env`: mode, environments and thresholds, rules, protected
    /// paths, verification, LLM and commit settings. Never contains a secret (only the name of
    /// the variable holding the LLM key).
    pub fn explain(&self, env: &Environment) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "policy: {}", self.source);
        let _ = writeln!(out, "mode: {}", self.mode);
        let _ = writeln!(out, "environment: {} ({})", env.name, env.reason);
        let current = self.thresholds(env);
        let _ = writeln!(
            out,
            "  auto up to {}, ask in between, deny from {}",
            current.auto_up_to, current.deny_from
        );
        let _ = writeln!(out, "environments:");
        for e in &self.environments {
            let marker = if e.name == env.name { "*" } else { " " };
            let branches = if e.branches.is_empty() {
                if e.name == "development" {
                    "any other branch, or no git".to_owned()
                } else {
                    "AUTOGATE_ENV only".to_owned()
                }
            } else {
                e.branches.join(", ")
            };
            let _ = writeln!(
                out,
                " {marker} {}: auto up to {}, deny from {}; branches: {branches}",
                e.name, e.thresholds.auto_up_to, e.thresholds.deny_from
            );
        }
        let _ = writeln!(out, "rules:");
        if self.rules.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for rule in &self.rules {
            let _ = writeln!(out, "  {}", rule.describe());
        }
        let _ = writeln!(out, "always:");
        let _ = writeln!(out, "  critical is denied");
        let _ = writeln!(
            out,
            "  agent, editor and CI configuration and files that steer agents ask at least: {}",
            self.config.patterns().join(", ")
        );
        let a = &self.approvals;
        let _ = writeln!(
            out,
            "standing approvals: {}",
            if a.enabled {
                format!(
                    "offered up to {} for {} day(s), {}",
                    a.max_level,
                    a.days,
                    if a.production {
                        "in every environment"
                    } else {
                        "in development only"
                    }
                )
            } else {
                "off".to_owned()
            }
        );
        let _ = writeln!(
            out,
            "protected (high at least): {}",
            self.protected.patterns().join(", ")
        );
        if self.verify.commands.is_empty() {
            let _ = writeln!(out, "verify: (no commands)");
        } else {
            let _ = writeln!(out, "verify:");
            for command in &self.verify.commands {
                let _ = writeln!(
                    out,
                    "  {} (time limit {}s)",
                    command.run, command.timeout_secs
                );
            }
        }
        match &self.llm {
            Some(llm) => {
                let _ = writeln!(
                    out,
                    "llm: {} at {}, model {}, key from ${}, time limit {}s",
                    llm.provider,
                    llm.base_url,
                    llm.model.as_deref().unwrap_or("(default)"),
                    llm.api_key_env,
                    llm.timeout_secs
                );
            }
            None => {
                let _ = writeln!(out, "llm: (not configured)");
            }
        }
        let _ = writeln!(
            out,
            "commit: {}{}",
            if self.commit.enabled {
                format!("on, {} branch", self.commit.branch.as_str())
            } else {
                "off".to_owned()
            },
            if self.commit.enabled && self.commit.sign_off {
                ", signed off"
            } else {
                ""
            }
        );
        out
    }

    /// What the policy says about `path`: the rules whose `paths` match it (or that do not
    /// look at paths, and so may apply), protection and self-protection. One line each.
    pub fn rules_matching(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(pattern) = self.config.matching(path) {
            out.push(format!(
                "protected.config: `{pattern}` — every change asks at least"
            ));
        }
        if let Some(pattern) = self.protected.matching(path) {
            out.push(format!("protected: `{pattern}` — high at least"));
        }
        for rule in &self.rules {
            if rule.paths.is_empty() {
                out.push(format!(
                    "{} (may apply: it does not look at paths)",
                    rule.describe()
                ));
            } else if rule.path_set.matching(path).is_some() {
                out.push(rule.describe());
            }
        }
        out
    }
}
