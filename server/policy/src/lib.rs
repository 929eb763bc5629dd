//! The policy: which changes may apply on their own, which ask, which are denied.
//!
//! Pure: the shell reads `.autogate.toml`, the branch and `AUTOGATE_ENV`, and hands them in as
//! text and plain values. Nothing here touches the file system, the environment or git.
//!
//! - [`Policy::from_toml`] parses and validates the policy file ([`mod@file`]).
//! - [`Policy::environment_for`] says which environment a checkout is in ([`decide`]).
//! - [`Policy::decide`] turns an impact report into a [`Verdict`] ([`decide`]).
//! - [`Policy::tighten`] applies editor settings, which may only make it stricter ([`tighten`]).
//! - [`Policy::explain`] prints the effective policy ([`explain`]).

use std::fmt;
use std::str::FromStr;

use autogate_analysis::{Level, ProtectedPaths};
use serde::{Deserialize, Serialize};

pub mod decide;
pub mod dependencies;
pub mod doors;
pub mod error;
pub mod explain;
pub mod file;
pub mod names;
pub mod settings;
pub mod tighten;

pub use decide::Head;
pub use dependencies::{AdvisorySettings, DependencyLevels};
pub use doors::{AskDoor, DoorSettings, ShellDoor};
pub use error::PolicyError;
pub use settings::{
    ApprovalSettings, AuditSettings, CheckpointSettings, CommitBranch, CommitSettings, LlmProvider,
    LlmSettings, VerifyCommand, VerifySettings,
};
pub use tighten::EditorOverrides;

/// What happens to a change. Ordered: `Auto < Ask < Deny` (deny beats ask beats auto).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Auto,
    Ask,
    Deny,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Auto, Decision::Ask, Decision::Deny];

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

impl FromStr for Decision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decision::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown decision `{s}`: expected auto, ask or deny"))
    }
}

/// How the gate runs: everything applies while the gate only records what it would have done,
/// the policy decides, everything asks, or nothing is applied.
///
/// Ordered from the loosest to the strictest: `Shadow < Auto < Ask < Plan`. Shadow is looser
/// than auto, so only the team policy file can set it: an editor may only make the mode stricter.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every change applies as proposed (critical ones are still denied); the verdict says
    /// what mode `auto` would have decided ([`Verdict::would`]).
    Shadow,
    #[default]
    Auto,
    Ask,
    Plan,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Shadow, Mode::Auto, Mode::Ask, Mode::Plan];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Shadow => "shadow",
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
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown mode `{s}`: expected shadow, auto, ask or plan"))
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
///
/// Always `auto_up_to < deny_from`; levels in between ask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    pub auto_up_to: Level,
    pub deny_from: Level,
}

/// A decision, with the rule that made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub decision: Decision,
    /// Which rule decided: `rules[2]`, `environments.production.auto_up_to`, `mode.ask`,
    /// `protected.config`, `level.critical`.
    pub rule: String,
    /// Why, for a person. When a `[[rules]]` entry decided, its `reason` comes first.
    pub reasons: Vec<String>,
    /// Mode `shadow`: what mode `auto` would have decided (the change applies anyway, unless
    /// it is critical). `None` in every other mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would: Option<Box<Verdict>>,
}

impl Verdict {
    /// The decision the policy stands for: the one mode `auto` would have made in shadow mode,
    /// else the decision itself.
    pub fn would_decision(&self) -> Decision {
        self.would.as_ref().map_or(self.decision, |w| w.decision)
    }
}

/// Default protected paths: a change touching one is high at least. Defined beside the
/// matching in `autogate_analysis::paths`; the team file may `unprotect` any of these except
/// the policy file; [`PROTECTED_CONFIG`] still asks for the agent, editor and CI ones.
pub use autogate_analysis::paths::DEFAULT_PROTECTED;

/// Agent, editor and CI configuration, and the files that steer agents: a change touching one
/// of these always asks at least, whatever the policy file says (the self-protection
/// invariant: an agent never rewrites its own instructions, tools or CI on its own). Not
/// affected by `unprotect`. Derived in `autogate_analysis::paths` from the same list as the
/// first part of [`DEFAULT_PROTECTED`], so the two cannot drift apart.
pub use autogate_analysis::paths::PROTECTED_CONFIG;

/// The file that can never be unprotected.
pub const POLICY_FILE: &str = ".autogate.toml";

/// One environment of the policy: its branches and thresholds.
#[derive(Clone, Debug)]
pub struct EnvironmentPolicy {
    pub name: String,
    /// Branch globs (`release/*`). Empty: reachable only through `AUTOGATE_ENV` (or, for
    /// `development`, as the fallback).
    pub branches: Vec<String>,
    pub thresholds: Thresholds,
}

/// One `[[rules]]` entry, compiled.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Position in the `rules` array, from 0: the rule is named `rules[index]`.
    pub index: usize,
    /// Line of the rule in the policy file (1-based), 0 when built in code.
    pub line: usize,
    pub paths: Vec<String>,
    pub languages: Vec<String>,
    pub domains: Vec<String>,
    pub kinds: Vec<String>,
    pub symbols: Vec<String>,
    /// Environments the rule applies in; empty: all.
    pub environments: Vec<String>,
    pub min_level: Option<Level>,
    /// The rule applies only to changes at or below this level (the analyzer's level).
    pub max_level: Option<Level>,
    /// `Some(false)`: the rule applies only to changes that touch no sensitive domain.
    pub sensitive: Option<bool>,
    pub decision: Option<Decision>,
    pub reason: Option<String>,
    pub(crate) path_set: ProtectedPaths,
    pub(crate) symbol_set: globset::GlobSet,
}

/// The effective policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The mode; readable directly or through [`Policy::mode`].
    pub mode: Mode,
    /// `development` and `production` first, then the environments the file adds.
    pub(crate) environments: Vec<EnvironmentPolicy>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) protected: ProtectedPaths,
    pub(crate) config: ProtectedPaths,
    pub(crate) verify: VerifySettings,
    pub(crate) llm: Option<LlmSettings>,
    pub(crate) commit: CommitSettings,
    pub(crate) checkpoints: CheckpointSettings,
    pub(crate) audit: AuditSettings,
    pub(crate) approvals: ApprovalSettings,
    pub(crate) advisories: AdvisorySettings,
    pub(crate) dependencies: DependencyLevels,
    pub(crate) doors: DoorSettings,
    /// Where the policy came from, for `explain`: `defaults` or the file name.
    pub(crate) source: String,
}

/// Compiles path globs with the analyzer's semantics, falling back to nothing on a bad glob.
///
/// Only used on patterns that were validated already (or are built in).
pub(crate) fn path_set<S: AsRef<str>>(patterns: &[S]) -> ProtectedPaths {
    ProtectedPaths::new(patterns).unwrap_or_else(|_| ProtectedPaths::empty())
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            mode: Mode::Auto,
            environments: vec![
                EnvironmentPolicy {
                    name: "development".to_owned(),
                    branches: Vec::new(),
                    thresholds: Thresholds {
                        auto_up_to: Level::Medium,
                        deny_from: Level::Critical,
                    },
                },
                EnvironmentPolicy {
                    name: "production".to_owned(),
                    branches: ["main", "master", "release/*", "prod*"]
                        .map(String::from)
                        .to_vec(),
                    thresholds: Thresholds {
                        auto_up_to: Level::Low,
                        deny_from: Level::Critical,
                    },
                },
            ],
            rules: Vec::new(),
            protected: path_set(DEFAULT_PROTECTED),
            config: path_set(PROTECTED_CONFIG),
            verify: VerifySettings::default(),
            llm: None,
            commit: CommitSettings::default(),
            checkpoints: CheckpointSettings::default(),
            audit: AuditSettings::default(),
            approvals: ApprovalSettings::default(),
            advisories: AdvisorySettings::default(),
            dependencies: DependencyLevels::default(),
            doors: DoorSettings::default(),
            source: "defaults".to_owned(),
        }
    }
}

impl Policy {
    /// What to run with while the policy file is broken: the defaults in mode `ask`, so that
    /// nothing applies on its own until the file is fixed.
    pub fn fail_closed() -> Policy {
        Policy {
            mode: Mode::Ask,
            source: "defaults, mode ask: the policy file has errors".to_owned(),
            ..Policy::default()
        }
    }

    /// The mode the policy file (or the editor) set.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Protected paths: the defaults, minus `unprotect`, plus `protected` and editor additions.
    /// Hand these to the analyzer.
    pub fn protected(&self) -> &ProtectedPaths {
        &self.protected
    }

    /// Every environment: `development`, `production`, then the ones the file adds.
    pub fn environments(&self) -> &[EnvironmentPolicy] {
        &self.environments
    }

    /// The `[[rules]]`, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// `[verify]`: the commands to run after each applied batch.
    pub fn verify(&self) -> &VerifySettings {
        &self.verify
    }

    /// `[llm]`, if the file configures a provider.
    pub fn llm(&self) -> Option<&LlmSettings> {
        self.llm.as_ref()
    }

    /// `[advisories]`: where known vulnerabilities are looked up.
    pub fn advisories(&self) -> &AdvisorySettings {
        &self.advisories
    }

    /// `[dependencies]`: the level of each dependency rule.
    pub fn dependency_levels(&self) -> &DependencyLevels {
        &self.dependencies
    }

    /// `[commit]`.
    pub fn checkpoints(&self) -> &CheckpointSettings {
        &self.checkpoints
    }

    pub fn commit(&self) -> &CommitSettings {
        &self.commit
    }

    /// `[audit]`.
    pub fn audit(&self) -> &AuditSettings {
        &self.audit
    }

    /// `[doors]`.
    pub fn doors(&self) -> &DoorSettings {
        &self.doors
    }

    /// `[approvals]`: whether and where standing approvals may be made.
    pub fn approvals(&self) -> &ApprovalSettings {
        &self.approvals
    }

    /// The thresholds that hold in `environment`. An environment the policy does not know gets
    /// the production thresholds (fail closed).
    pub fn thresholds(&self, environment: &Environment) -> Thresholds {
        self.environment_policy(&environment.name)
            .or_else(|| self.environment_policy("production"))
            .map(|e| e.thresholds.clone())
            .unwrap_or(Thresholds {
                auto_up_to: Level::Low,
                deny_from: Level::Critical,
            })
    }

    pub(crate) fn environment_policy(&self, name: &str) -> Option<&EnvironmentPolicy> {
        self.environments.iter().find(|e| e.name == name)
    }
}
