//! Hand-built impact reports for the policy tests.

#![allow(dead_code)]

use autogate_analysis::{
    BlastRadius, ChangeKind, Domain, ImpactReport, Level, SecretFinding, SymbolImpact, Visibility,
};
use autogate_policy::{Environment, Policy};

/// A report of one change: its files, kinds and level. Refine with the `with_*` helpers.
pub fn report(files: &[&str], kinds: &[ChangeKind], level: Level) -> ImpactReport {
    ImpactReport {
        files: files.iter().map(|f| (*f).to_owned()).collect(),
        languages: Vec::new(),
        kinds: kinds.to_vec(),
        symbols: Vec::new(),
        blast_radius: BlastRadius::default(),
        domains: Vec::new(),
        verification_weakened: Vec::new(),
        secrets: Vec::new(),
        protected_paths: Vec::new(),
        dependencies: Vec::new(),
        lines_added: 1,
        lines_removed: 1,
        level,
        reasons: Vec::new(),
    }
}

pub fn with_languages(mut report: ImpactReport, languages: &[&str]) -> ImpactReport {
    report.languages = languages.iter().map(|l| (*l).to_owned()).collect();
    report
}

pub fn with_domains(mut report: ImpactReport, domains: &[Domain]) -> ImpactReport {
    report.domains = domains.to_vec();
    report
}

pub fn with_symbols(mut report: ImpactReport, names: &[&str]) -> ImpactReport {
    report.symbols = names
        .iter()
        .map(|name| SymbolImpact {
            name: (*name).to_owned(),
            kind: "function".to_owned(),
            visibility: Visibility::Public,
            file: report.files.first().cloned().unwrap_or_default(),
            change: "body".to_owned(),
        })
        .collect();
    report
}

/// Marks every file protected, as the analyzer does for protected paths.
pub fn protected(mut report: ImpactReport) -> ImpactReport {
    report.protected_paths = report.files.clone();
    report.level = report.level.max(Level::High);
    report
}

/// Adds a secret: the analyzer makes that critical.
pub fn with_secret(mut report: ImpactReport) -> ImpactReport {
    report.secrets.push(SecretFinding {
        file: report.files.first().cloned().unwrap_or_default(),
        line: 1,
        rule: "generic-api-key".to_owned(),
    });
    report.level = Level::Critical;
    report
}

pub fn parse(text: &str) -> Policy {
    match Policy::from_toml(text, ".autogate.toml") {
        Ok(policy) => policy,
        Err(errors) => panic!(
            "policy does not parse:\n{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

pub fn development() -> Environment {
    Policy::default().environment(Some("feature/x"), None)
}

pub fn production() -> Environment {
    Policy::default().environment(Some("main"), None)
}
