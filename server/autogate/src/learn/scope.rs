//! The scope of a change: what a standing approval or a suggested rule covers. Pure.
//!
//! A scope is the change's kinds, its sensitive domains, a path glob per folder it touches,
//! the highest level covered (the change's own) and the environment. It is exactly what a
//! `[[rules]]` entry with `decision = "auto"` can say, so a standing approval and a suggested
//! rule cover the same changes ([`Scope::to_rule`]).
//!
//! Never computed (and never matched) for critical changes, secrets, weakened verification,
//! dependency changes, protected paths, agent/editor/CI/build/VCS control files (the default
//! lists, whatever `unprotect` says), or outside `development` unless the policy allows it.

use std::fmt::Write;

use autogate_analysis::{Level, ProtectedPaths};
use autogate_policy::{ApprovalSettings, DEFAULT_PROTECTED, PROTECTED_CONFIG};
use serde::{Deserialize, Serialize};

use super::facts::Facts;

/// What a standing approval covers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Scope {
    /// Change kinds (`body_only`...), sorted: a covered change has only these.
    pub kinds: Vec<String>,
    /// Sensitive domains, sorted: a covered change touches only these (none if empty).
    pub domains: Vec<String>,
    /// Path globs: every file of a covered change matches one.
    pub paths: Vec<String>,
    /// The highest level covered.
    pub max_level: Level,
    /// The environment it holds in.
    pub environment: String,
}

/// Why a change may not be covered by a standing approval, or `Ok`.
pub fn eligible(facts: &Facts, settings: &ApprovalSettings) -> Result<(), String> {
    if !settings.enabled {
        return Err(
            "standing approvals are turned off by the policy (`[approvals] enabled = false`)"
                .to_owned(),
        );
    }
    if facts.level == Level::Critical {
        return Err("critical changes are never approved in advance".to_owned());
    }
    if facts.level > settings.max_level {
        return Err(format!(
            "the change is {}, above `[approvals] max_level = {}`",
            facts.level, settings.max_level
        ));
    }
    if facts.secrets > 0 {
        return Err("the change adds a secret".to_owned());
    }
    if facts.verification_weakened > 0 {
        return Err("the change weakens verification".to_owned());
    }
    if facts.dependencies > 0 {
        return Err("the change changes dependencies".to_owned());
    }
    if let Some(path) = facts.protected_paths.first() {
        return Err(format!("`{path}` is protected"));
    }
    let Some(control) = control_files() else {
        return Err("the list of control files cannot be compiled".to_owned());
    };
    if let Some((path, pattern)) = facts
        .files
        .iter()
        .find_map(|f| control.matching(f).map(|p| (f, p)))
    {
        return Err(format!(
            "`{path}` is an agent, editor, CI, build or version-control file (`{pattern}`)"
        ));
    }
    if facts.files.is_empty() {
        return Err("the change touches no file".to_owned());
    }
    if facts.kinds.is_empty() {
        return Err("the analyzer named no kind for the change".to_owned());
    }
    if facts.environment != "development" && !settings.production {
        return Err(format!(
            "the workspace is in {}: standing approvals hold in development only, unless the \
             team policy sets `[approvals] production = true`",
            facts.environment
        ));
    }
    Ok(())
}

/// The default protected and control-file lists, whatever the policy unprotects (compiled
/// once; `None` if they cannot be, and then no change is eligible).
fn control_files() -> Option<&'static ProtectedPaths> {
    static CONTROL: std::sync::OnceLock<Option<ProtectedPaths>> = std::sync::OnceLock::new();
    CONTROL
        .get_or_init(|| {
            let patterns: Vec<&str> = DEFAULT_PROTECTED
                .iter()
                .chain(PROTECTED_CONFIG)
                .copied()
                .collect();
            ProtectedPaths::new(&patterns).ok()
        })
        .as_ref()
}

/// The scope of a change, or why it has none.
pub fn scope_of(facts: &Facts, settings: &ApprovalSettings) -> Result<Scope, String> {
    eligible(facts, settings)?;
    let mut kinds = facts.kinds.clone();
    kinds.sort();
    kinds.dedup();
    let mut domains = facts.domains.clone();
    domains.sort();
    domains.dedup();
    let mut paths: Vec<String> = facts.files.iter().map(|f| folder_glob(f)).collect();
    paths.sort();
    paths.dedup();
    Ok(Scope {
        kinds,
        domains,
        paths,
        max_level: facts.level,
        environment: facts.environment.clone(),
    })
}

/// `src/parser/lexer.rs` → `src/parser/**`; a file at the root is its own glob.
fn folder_glob(file: &str) -> String {
    match file.rsplit_once('/') {
        Some((folder, _)) if !folder.is_empty() => format!("{}/**", escape(folder)),
        _ => escape(file),
    }
}

/// A literal path as a glob.
fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

impl Scope {
    /// Whether the scope covers a change: the change is eligible itself, in the same
    /// environment, at most at `max_level`, of these kinds only, touching only these domains,
    /// and every file under one of the globs.
    pub fn covers(&self, facts: &Facts, settings: &ApprovalSettings) -> bool {
        if eligible(facts, settings).is_err()
            || facts.environment != self.environment
            || facts.level > self.max_level
        {
            return false;
        }
        let globs = ProtectedPaths::new(&self.paths).unwrap_or_else(|_| ProtectedPaths::empty());
        facts.kinds.iter().all(|k| self.kinds.contains(k))
            && facts.domains.iter().all(|d| self.domains.contains(d))
            && facts.files.iter().all(|f| globs.matching(f).is_some())
    }

    /// For a person: "body_only changes up to medium under src/parser/** (development)".
    pub fn describe(&self) -> String {
        let domains = if self.domains.is_empty() {
            String::new()
        } else {
            format!(" touching {}", self.domains.join(", "))
        };
        format!(
            "{} changes{domains} up to {} in {} ({})",
            self.kinds.join(" and "),
            self.max_level,
            self.paths.join(", "),
            self.environment
        )
    }

    /// The `[[rules]]` entry that covers the same changes, with `decision` and `reason`.
    pub fn to_rule(&self, decision: &str, reason: &str) -> String {
        let list = |items: &[String]| {
            items
                .iter()
                .map(|i| toml_string(i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = String::from("[[rules]]\n");
        let _ = writeln!(out, "paths = [{}]", list(&self.paths));
        let _ = writeln!(out, "kinds = [{}]", list(&self.kinds));
        if self.domains.is_empty() {
            if decision == "auto" {
                out.push_str("sensitive = false\n");
            }
        } else {
            let _ = writeln!(out, "domains = [{}]", list(&self.domains));
        }
        if decision == "auto" {
            let _ = writeln!(out, "max_level = {}", toml_string(self.max_level.as_str()));
        }
        let _ = writeln!(out, "environments = [{}]", toml_string(&self.environment));
        let _ = writeln!(out, "decision = {}", toml_string(decision));
        let _ = writeln!(out, "reason = {}", toml_string(reason));
        out
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(files: &[&str], kinds: &[&str], level: Level) -> Facts {
        Facts {
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            level,
            environment: "development".to_owned(),
            ..Facts::default()
        }
    }

    #[test]
    fn a_scope_covers_its_folder_kinds_and_level_and_nothing_wider() {
        let settings = ApprovalSettings::default();
        let change = facts(&["src/parser/lexer.rs"], &["body_only"], Level::Medium);
        let scope = scope_of(&change, &settings).expect("eligible");
        assert_eq!(scope.paths, ["src/parser/**"]);
        assert!(scope.covers(
            &facts(&["src/parser/deep/x.rs"], &["body_only"], Level::Low),
            &settings
        ));
        assert!(!scope.covers(
            &facts(&["src/other.rs"], &["body_only"], Level::Low),
            &settings
        ));
        assert!(!scope.covers(
            &facts(&["src/parser/x.rs"], &["signature_change"], Level::Medium),
            &settings
        ));
        assert!(!scope.covers(
            &facts(&["src/parser/x.rs"], &["body_only"], Level::High),
            &settings
        ));
        let mut sql = facts(&["src/parser/x.rs"], &["body_only"], Level::Medium);
        sql.domains = vec!["sql".to_owned()];
        assert!(!scope.covers(&sql, &settings));
        let mut prod = change.clone();
        prod.environment = "production".to_owned();
        assert!(!scope.covers(&prod, &settings));
    }

    #[test]
    fn never_for_critical_secrets_protected_or_control_files_or_production() {
        let settings = ApprovalSettings::default();
        let ok = facts(&["src/a.rs"], &["body_only"], Level::High);
        assert!(scope_of(&ok, &settings).is_ok());
        let mut critical = ok.clone();
        critical.level = Level::Critical;
        let mut secret = ok.clone();
        secret.secrets = 1;
        let mut protected = ok.clone();
        protected.protected_paths = vec!["src/a.rs".to_owned()];
        // Unprotected by a team file, still a build file.
        let build = facts(&["build.rs"], &["body_only"], Level::High);
        let agents = facts(&["docs/AGENTS.md", "CLAUDE.md"], &["other"], Level::High);
        let ci = facts(&[".github/workflows/ci.yml"], &["other"], Level::High);
        let git = facts(&[".gitattributes"], &["other"], Level::High);
        let mut production = ok.clone();
        production.environment = "production".to_owned();
        for (what, f) in [
            ("critical", &critical),
            ("secret", &secret),
            ("protected", &protected),
            ("build", &build),
            ("agents", &agents),
            ("ci", &ci),
            ("git", &git),
            ("production", &production),
        ] {
            assert!(scope_of(f, &settings).is_err(), "{what}");
        }
        let allowed = ApprovalSettings {
            production: true,
            ..ApprovalSettings::default()
        };
        assert!(scope_of(&production, &allowed).is_ok());
    }

    #[test]
    fn the_rule_of_a_scope_parses_and_covers_what_the_scope_covers() {
        let settings = ApprovalSettings::default();
        let change = facts(&["src/parser/lexer.rs"], &["body_only"], Level::Medium);
        let scope = scope_of(&change, &settings).expect("eligible");
        let toml = scope.to_rule("auto", "approved 5 times");
        let policy = autogate_policy::Policy::from_toml(
            &format!("[environments.development]\nauto_up_to = \"low\"\n\n{toml}"),
            ".autogate.toml",
        )
        .expect("the snippet is a valid policy");
        let env = autogate_policy::Environment {
            name: "development".to_owned(),
            reason: String::new(),
        };
        let decide = |f: &Facts| {
            policy
                .decide(&f.to_report(), &env, autogate_policy::Mode::Auto)
                .decision
        };
        assert_eq!(decide(&change), autogate_policy::Decision::Auto);
        let mut sql = change.clone();
        sql.domains = vec!["sql".to_owned()];
        sql.level = Level::Medium;
        assert_eq!(decide(&sql), autogate_policy::Decision::Ask);
        let elsewhere = facts(&["src/x.rs"], &["body_only"], Level::Medium);
        assert_eq!(decide(&elsewhere), autogate_policy::Decision::Ask);
    }
}
