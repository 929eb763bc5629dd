//! The policy: which changes may apply on their own, which ask, which are denied.
//!
//! Pure: the shell reads `.autogate.toml`, the branch and `AUTOGATE_ENV`, and hands them in.

use std::fmt;
use std::str::FromStr;

use autogate_analysis::{ImpactReport, Level, ProtectedPaths};
use serde::{Deserialize, Serialize};

/// What happens to a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Auto,
    Ask,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Auto => "auto",
            Decision::Ask => "ask",
            Decision::Deny => "deny",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the gate runs: the policy decides, everything asks, or nothing is applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Auto,
    Ask,
    Plan,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Ask => "ask",
            Mode::Plan => "plan",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Mode::Auto),
            "ask" => Ok(Mode::Ask),
            "plan" => Ok(Mode::Plan),
            other => Err(format!(
                "unknown mode `{other}`: expected auto, ask or plan"
            )),
        }
    }
}

/// The environment the workspace is in, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Environment {
    /// `development` or `production` by default; the policy file may name others.
    pub name: String,
    /// A sentence for a person: "branch `main` matches `main`".
    pub reason: String,
}

/// Thresholds of one environment: `auto` up to `auto_up_to`, `deny` from `deny_from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    pub auto_up_to: Level,
    pub deny_from: Level,
}

/// A decision, with the rule that made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub decision: Decision,
    /// Which rule decided: `environment.production.thresholds`, `mode.ask`, ...
    pub rule: String,
    pub reasons: Vec<String>,
}

/// Default protected paths (§2): high at least.
pub const DEFAULT_PROTECTED: &[&str] = &[
    ".autogate.toml",
    ".vscode/**",
    ".github/**",
    ".gitlab-ci.yml",
    ".claude/**",
    ".helix/**",
    ".env*",
    "Cargo.toml",
    "Cargo.lock",
    "package.json",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "pyproject.toml",
    "requirements*.txt",
    "poetry.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
    "setup.cfg",
    "go.mod",
    "go.sum",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
    "Dockerfile*",
    "**/migrations/**",
    "*.sql",
    "*.tf",
    "*.tfvars",
];

/// The effective policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub mode: Mode,
    pub development: Thresholds,
    pub production: Thresholds,
    pub production_branches: Vec<String>,
    pub protected: ProtectedPaths,
}

impl Default for Policy {
    fn default() -> Self {
        let protected =
            ProtectedPaths::new(DEFAULT_PROTECTED).unwrap_or_else(|_| ProtectedPaths::empty());
        Self {
            mode: Mode::Auto,
            development: Thresholds {
                auto_up_to: Level::Medium,
                deny_from: Level::Critical,
            },
            production: Thresholds {
                auto_up_to: Level::Low,
                deny_from: Level::Critical,
            },
            production_branches: ["main", "master", "release/*", "prod*"]
                .map(String::from)
                .to_vec(),
            protected,
        }
    }
}

impl Policy {
    /// Which environment a branch (or no git: `None`) and `AUTOGATE_ENV` put the workspace in.
    pub fn environment(&self, branch: Option<&str>, env_var: Option<&str>) -> Environment {
        if let Some(name) = env_var.filter(|v| !v.is_empty()) {
            return Environment {
                name: name.to_owned(),
                reason: format!("AUTOGATE_ENV={name}"),
            };
        }
        match branch {
            Some(branch) => {
                for pattern in &self.production_branches {
                    let matches = globset::Glob::new(pattern)
                        .map(|g| g.compile_matcher().is_match(branch))
                        .unwrap_or(false);
                    if matches {
                        return Environment {
                            name: "production".to_owned(),
                            reason: format!("branch `{branch}` matches `{pattern}`"),
                        };
                    }
                }
                Environment {
                    name: "development".to_owned(),
                    reason: format!("branch `{branch}` matches no production pattern"),
                }
            }
            None => Environment {
                name: "development".to_owned(),
                reason: "no git branch".to_owned(),
            },
        }
    }

    fn thresholds(&self, environment: &Environment) -> &Thresholds {
        if environment.name == "production" {
            &self.production
        } else {
            &self.development
        }
    }

    /// Turns an impact report into a decision under `mode` in `environment`.
    pub fn decide(&self, report: &ImpactReport, environment: &Environment, mode: Mode) -> Verdict {
        let thresholds = self.thresholds(environment);
        let env = &environment.name;
        let level = report.level;
        if level >= thresholds.deny_from {
            return Verdict {
                decision: Decision::Deny,
                rule: format!("environment.{env}.deny_from"),
                reasons: vec![format!(
                    "{level} is at or above `deny from {}` in {env}",
                    thresholds.deny_from
                )],
            };
        }
        if mode == Mode::Ask {
            return Verdict {
                decision: Decision::Ask,
                rule: "mode.ask".to_owned(),
                reasons: vec!["mode is `ask`: every change asks".to_owned()],
            };
        }
        if level <= thresholds.auto_up_to {
            Verdict {
                decision: Decision::Auto,
                rule: format!("environment.{env}.auto_up_to"),
                reasons: vec![format!(
                    "{level} is within `auto up to {}` in {env}",
                    thresholds.auto_up_to
                )],
            }
        } else {
            Verdict {
                decision: Decision::Ask,
                rule: format!("environment.{env}.auto_up_to"),
                reasons: vec![format!(
                    "{level} is above `auto up to {}` in {env}",
                    thresholds.auto_up_to
                )],
            }
        }
    }
}
