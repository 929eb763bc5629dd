//! What a manifest change report says: the ecosystems, the sources of a dependency, the rules
//! that rate a difference, and each dependency change with its findings. Types only, so that
//! the impact report can carry them without depending on the analysis that makes them.

use std::fmt;

use serde::Serialize;

use crate::level::Level;

/// A package ecosystem, named as OSV names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Ecosystem {
    #[serde(rename = "crates.io")]
    Crates,
    #[serde(rename = "npm")]
    Npm,
    #[serde(rename = "PyPI")]
    PyPi,
    #[serde(rename = "Go")]
    Go,
}

impl Ecosystem {
    /// The ecosystem's name in OSV (`crates.io`, `npm`, `PyPI`, `Go`).
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Crates => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPi => "PyPI",
            Ecosystem::Go => "Go",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// Where a dependency comes from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The ecosystem's registry: the default one (`None`) or a named or URL-given one.
    Registry(Option<String>),
    Git(String),
    Url(String),
    /// A local path, as written (relative to the manifest).
    Path(String),
    /// Inherited from the workspace (`workspace = true`).
    Workspace,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Registry(None) => f.write_str("registry"),
            Source::Registry(Some(r)) => write!(f, "registry `{r}`"),
            Source::Git(url) => write!(f, "git `{url}`"),
            Source::Url(url) => write!(f, "URL `{url}`"),
            Source::Path(p) => write!(f, "path `{p}`"),
            Source::Workspace => f.write_str("workspace"),
        }
    }
}

/// The rules that rate a dependency change. Each has a default level; the policy's
/// `[dependencies]` table may raise it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A new dependency from the default registry.
    NewRegistry,
    /// A new dependency from a local path inside the workspace.
    LocalPath,
    /// A new or changed dependency from git, a URL, another registry or a path outside the
    /// workspace.
    NonRegistry,
    /// An install or build script added or changed (npm lifecycle scripts, `build`, `links`,
    /// a locked package that runs an install script).
    InstallScript,
    /// A registry or index override (`.npmrc` registry, `--index-url`, `[patch]`, `replace`).
    RegistryOverride,
    /// A name close to a well-known package that is not itself well known.
    Typosquat,
    /// A major-version bump (a new semver-incompatible line).
    MajorBump,
    /// A lower version or requirement than before.
    Downgrade,
    /// A requirement changed within its compatible line.
    RequirementChange,
    /// A lockfile entry moved within its compatible line, or dropped.
    LockRefresh,
    /// A locked package whose source or checksum changed.
    LockSourceSwap,
    /// A dependency removed.
    Removed,
    /// A dependency removed while workspace code still imports it.
    RemovedInUse,
    /// A manifest or lockfile that does not parse.
    Unparsable,
    /// A version with a known advisory (set by the shell after the lookup).
    Vulnerable,
}

impl Rule {
    pub const ALL: [Rule; 15] = [
        Rule::NewRegistry,
        Rule::LocalPath,
        Rule::NonRegistry,
        Rule::InstallScript,
        Rule::RegistryOverride,
        Rule::Typosquat,
        Rule::MajorBump,
        Rule::Downgrade,
        Rule::RequirementChange,
        Rule::LockRefresh,
        Rule::LockSourceSwap,
        Rule::Removed,
        Rule::RemovedInUse,
        Rule::Unparsable,
        Rule::Vulnerable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::NewRegistry => "new_registry",
            Rule::LocalPath => "local_path",
            Rule::NonRegistry => "non_registry",
            Rule::InstallScript => "install_script",
            Rule::RegistryOverride => "registry_override",
            Rule::Typosquat => "typosquat",
            Rule::MajorBump => "major_bump",
            Rule::Downgrade => "downgrade",
            Rule::RequirementChange => "requirement_change",
            Rule::LockRefresh => "lock_refresh",
            Rule::LockSourceSwap => "lock_source_swap",
            Rule::Removed => "removed",
            Rule::RemovedInUse => "removed_in_use",
            Rule::Unparsable => "unparsable",
            Rule::Vulnerable => "vulnerable",
        }
    }

    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The documented default level.
    pub fn default_level(self) -> Level {
        match self {
            Rule::LockRefresh => Level::Low,
            Rule::NewRegistry | Rule::LocalPath | Rule::RequirementChange | Rule::Removed => {
                Level::Medium
            }
            Rule::NonRegistry
            | Rule::InstallScript
            | Rule::RegistryOverride
            | Rule::Typosquat
            | Rule::MajorBump
            | Rule::Downgrade
            | Rule::LockSourceSwap
            | Rule::RemovedInUse
            | Rule::Unparsable
            | Rule::Vulnerable => Level::High,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rule that fired on a change, with its level and a reason a person can check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub level: Level,
    pub reason: String,
}

/// Added, removed or changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// One dependency, script or setting a change adds, removes or changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DependencyChange {
    pub file: String,
    pub ecosystem: Ecosystem,
    /// `dependencies`, `dev-dependencies`, `target.'cfg(unix)'.dependencies`, `lockfile`,
    /// `scripts`, `settings`, ...
    pub section: String,
    /// The package name (the real one when the manifest renames it), script or setting key.
    pub name: String,
    pub change: Change,
    /// The requirement or version (or script/setting value) before and after.
    pub old: Option<String>,
    pub new: Option<String>,
    /// The source after the change (before it, for a removal).
    pub source: Option<String>,
    /// The exact version the change introduces, when it is known (a lockfile entry, a pin):
    /// what the shell looks up in the advisory database.
    pub version: Option<String>,
    pub findings: Vec<Finding>,
    /// Known advisories of `version` (filled by the shell after the lookup).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<AdvisoryNote>,
    /// Why `version` was not checked for advisories (filled by the shell), if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchecked: Option<String>,
}

/// A known advisory of a dependency version, as the report carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdvisoryNote {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    /// `critical`, `high`, `moderate`, `low` or `unknown`, as the advisory rates itself.
    pub severity: String,
    pub fixed: Option<String>,
}
