//! What a policy decides on about one change, as plain data: from an impact report (live) or
//! from an audit record (replay, suggestions).

use autogate_analysis::{ChangeKind, Domain, ImpactReport, Level, SymbolImpact, Visibility};
use autogate_vcs::{AuditRecord, ImpactFacts};

/// The analyzer's spelling of a kind or domain (`body_only`, `file_permissions`).
fn name_of<T: serde::Serialize>(value: &T) -> String {
    autogate_policy::names::serialized_name(value).unwrap_or_default()
}

/// The facts of one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    pub files: Vec<String>,
    pub symbols: Vec<String>,
    pub kinds: Vec<String>,
    pub domains: Vec<String>,
    pub languages: Vec<String>,
    pub protected_paths: Vec<String>,
    pub public_symbols: Vec<String>,
    pub secrets: usize,
    pub verification_weakened: usize,
    pub dependencies: usize,
    /// The analyzer's level (before any rule raised it).
    pub level: Level,
    pub environment: String,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            files: Vec::new(),
            symbols: Vec::new(),
            kinds: Vec::new(),
            domains: Vec::new(),
            languages: Vec::new(),
            protected_paths: Vec::new(),
            public_symbols: Vec::new(),
            secrets: 0,
            verification_weakened: 0,
            dependencies: 0,
            level: Level::Low,
            environment: String::new(),
        }
    }
}

impl Facts {
    /// The facts of a live report, decided in `environment`.
    pub fn from_report(report: &ImpactReport, environment: &str) -> Facts {
        Facts {
            files: report.files.clone(),
            symbols: report.symbols.iter().map(|s| s.name.clone()).collect(),
            kinds: report.kinds.iter().map(name_of).collect(),
            domains: report.domains.iter().map(name_of).collect(),
            languages: report.languages.clone(),
            protected_paths: report.protected_paths.clone(),
            public_symbols: report
                .symbols
                .iter()
                .filter(|s| s.visibility == Visibility::Public)
                .map(|s| s.name.clone())
                .collect(),
            secrets: report.secrets.len(),
            verification_weakened: report.verification_weakened.len(),
            dependencies: report.dependencies.len(),
            level: report.level,
            environment: environment.to_owned(),
        }
    }

    /// The facts an audit record keeps; `None` for records without them (written before
    /// autogate recorded them, or events that are not decisions).
    pub fn from_record(record: &AuditRecord) -> Option<Facts> {
        let impact = record.impact.as_ref()?;
        let level = record.level.as_deref()?.parse().ok()?;
        Some(Facts {
            files: record.files.clone(),
            symbols: record.symbols.clone(),
            kinds: impact.kinds.clone(),
            domains: impact.domains.clone(),
            languages: impact.languages.clone(),
            protected_paths: impact.protected_paths.clone(),
            public_symbols: impact.public_symbols.clone(),
            secrets: impact.secrets,
            verification_weakened: impact.verification_weakened,
            dependencies: impact.dependencies,
            level,
            environment: impact.environment.clone(),
        })
    }

    /// What an audit record keeps of a report (the environment and mode it was decided in).
    pub fn impact(report: &ImpactReport, environment: &str, mode: &str) -> ImpactFacts {
        let facts = Facts::from_report(report, environment);
        ImpactFacts {
            environment: facts.environment,
            mode: mode.to_owned(),
            kinds: facts.kinds,
            domains: facts.domains,
            languages: facts.languages,
            protected_paths: facts.protected_paths,
            public_symbols: facts.public_symbols,
            secrets: facts.secrets,
            verification_weakened: facts.verification_weakened,
            dependencies: facts.dependencies,
        }
    }

    /// An impact report with these facts, for [`autogate_policy::Policy::decide`]: what a
    /// policy reads of a report is here (files, kinds, domains, languages, symbols, protected
    /// paths and the level); the rest is empty.
    pub fn to_report(&self) -> ImpactReport {
        let kinds = ChangeKind::ALL
            .into_iter()
            .filter(|k| self.kinds.contains(&name_of(k)))
            .collect();
        let domains = Domain::ALL
            .into_iter()
            .filter(|d| self.domains.contains(&name_of(d)))
            .collect();
        let symbols = self
            .symbols
            .iter()
            .map(|name| SymbolImpact {
                name: name.clone(),
                kind: String::new(),
                visibility: if self.public_symbols.contains(name) {
                    Visibility::Public
                } else {
                    Visibility::Private
                },
                file: String::new(),
                change: String::new(),
            })
            .collect();
        ImpactReport {
            files: self.files.clone(),
            languages: self.languages.clone(),
            kinds,
            symbols,
            blast_radius: Default::default(),
            domains,
            verification_weakened: Vec::new(),
            secrets: Vec::new(),
            protected_paths: self.protected_paths.clone(),
            dependencies: Vec::new(),
            lines_added: 0,
            lines_removed: 0,
            level: self.level,
            reasons: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_domain_the_policy_names_reads_back() {
        for name in autogate_policy::names::KINDS {
            assert!(
                ChangeKind::ALL.iter().any(|k| name_of(k) == *name),
                "{name}"
            );
        }
        for name in autogate_policy::names::DOMAINS {
            assert!(Domain::ALL.iter().any(|d| name_of(d) == *name), "{name}");
        }
    }
}
