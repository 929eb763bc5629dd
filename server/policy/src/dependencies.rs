//! `[advisories]` (where known vulnerabilities are looked up) and `[dependencies]` (the level of
//! each dependency rule), as validated from the policy file.

use std::collections::BTreeMap;

use autogate_analysis::Level;
use autogate_analysis::manifest::Rule;

/// The public OSV API.
pub const DEFAULT_ADVISORY_URL: &str = "https://api.osv.dev";
/// The default time limit of one lookup, in seconds.
pub const DEFAULT_ADVISORY_TIMEOUT_SECS: u64 = 10;

/// `[advisories]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvisorySettings {
    /// `false` turns lookups off; every introduced version then says it was not checked.
    pub enabled: bool,
    /// The OSV API base URL (`url`); used when no `database` is set.
    pub url: String,
    /// An OSV export on disk (`database`): a directory or a zip, relative to the workspace
    /// root. When set, no request leaves the machine.
    pub database: Option<String>,
    /// The time limit of one lookup, retries included (`timeout_secs`).
    pub timeout_secs: u64,
    /// `required = true`: `assess` fails when a lookup could not be made.
    pub required: bool,
}

impl Default for AdvisorySettings {
    fn default() -> Self {
        AdvisorySettings {
            enabled: true,
            url: DEFAULT_ADVISORY_URL.to_owned(),
            database: None,
            timeout_secs: DEFAULT_ADVISORY_TIMEOUT_SECS,
            required: false,
        }
    }
}

/// `[dependencies]`: rule name → level. A rule may only be raised above its default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DependencyLevels {
    pub(crate) levels: BTreeMap<Rule, Level>,
}

impl DependencyLevels {
    /// The level of `rule`: the policy's if set, else the rule's default.
    pub fn level(&self, rule: Rule) -> Level {
        self.levels
            .get(&rule)
            .copied()
            .unwrap_or_else(|| rule.default_level())
            .max(rule.default_level())
    }

    /// The levels the policy file sets.
    pub fn overrides(&self) -> &BTreeMap<Rule, Level> {
        &self.levels
    }
}
