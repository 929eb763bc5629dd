//! Known vulnerabilities of the dependency versions a proposal introduces, and the policy's
//! dependency rule levels.
//!
//! The shell calls [`queries`] on a proposal (pure: the analyzer's manifest diff), looks them
//! up with [`lookup`] (the OSV API or an export on disk, as `[advisories]` says, under a time
//! limit) *before* it takes the gate's lock, and stores the answers in the gate's [`Memo`].
//! The gate then calls [`apply`] on every report it makes: a known advisory raises the level
//! (critical when the advisory rates itself CRITICAL) and names the id and the fixed version;
//! a version that could not be checked gets a reason saying so and is never lowered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use autogate_advisories::{
    Advisories, Advisory, Cache, ClientConfig, Database, OsvClient, Query, Severity,
};
use autogate_analysis::manifest::{self, AdvisoryNote, Finding, Rule};
use autogate_analysis::{ImpactReport, Level, Proposal};
use autogate_policy::{AdvisorySettings, DependencyLevels};

/// What is known of each looked-up version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Checked(Vec<Advisory>),
    /// Why it could not be checked.
    Unchecked(String),
}

/// Lookup answers by query, kept by the gate.
pub type Memo = BTreeMap<Query, Outcome>;

/// How long cached OSV answers are trusted.
const CACHE_TTL: Duration = Duration::from_secs(24 * 3600);

/// The exact versions a proposal introduces in manifests and lockfiles, deduplicated.
pub fn queries(proposal: &Proposal) -> Vec<Query> {
    let mut out: Vec<Query> = proposal
        .files
        .iter()
        .filter_map(|f| {
            manifest::analyze_file(&f.path, f.before.as_deref(), f.after.as_deref(), None)
        })
        .flat_map(|deps| deps.changes)
        .filter_map(|c| {
            let v = c.version.as_deref()?;
            Some(Query::new(c.ecosystem.osv_name(), &c.name, v))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Where cached OSV answers live: `.git/autogate/osv-cache/` in a repository, else
/// `.autogate/osv-cache/`.
pub fn cache_dir(root: &Path) -> PathBuf {
    let git = root.join(".git");
    if git.is_dir() {
        git.join("autogate").join("osv-cache")
    } else {
        root.join(".autogate").join("osv-cache")
    }
}

/// An opened export, kept while its file or directory does not change.
type Opened = (PathBuf, Option<SystemTime>, Arc<Database>);

fn open_database(path: &Path) -> Result<Arc<Database>, String> {
    static OPENED: OnceLock<Mutex<Option<Opened>>> = OnceLock::new();
    let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let slot = OPENED.get_or_init(|| Mutex::new(None));
    if let Ok(guard) = slot.lock()
        && let Some((p, m, db)) = guard.as_ref()
        && p == path
        && *m == mtime
    {
        return Ok(db.clone());
    }
    let db = Arc::new(Database::open(path).map_err(|e| e.to_string())?);
    if let Ok(mut guard) = slot.lock() {
        *guard = Some((path.to_path_buf(), mtime, db.clone()));
    }
    Ok(db)
}

/// Looks `queries` up as `settings` say. Never fails: a failure becomes
/// [`Outcome::Unchecked`] for every query, with the reason.
pub async fn lookup(settings: &AdvisorySettings, root: &Path, queries: &[Query]) -> Memo {
    if queries.is_empty() {
        return Memo::new();
    }
    let unchecked = |why: String| -> Memo {
        queries
            .iter()
            .map(|q| (q.clone(), Outcome::Unchecked(why.clone())))
            .collect()
    };
    if !settings.enabled {
        return unchecked("lookups are off (`[advisories] enabled = false`)".to_owned());
    }
    let limit = Duration::from_secs(settings.timeout_secs.max(1));
    let source = if let Some(db) = &settings.database {
        let path = root.join(db);
        // Loading a large export is file IO: off the async workers.
        let opened = tokio::task::spawn_blocking(move || open_database(&path)).await;
        match opened {
            Ok(Ok(db)) => Source::Offline(db),
            Ok(Err(e)) => return unchecked(e),
            Err(e) => return unchecked(format!("the database could not be read: {e}")),
        }
    } else {
        let config = ClientConfig {
            base_url: settings.url.clone(),
            total_timeout: limit,
            connect_timeout: limit.min(Duration::from_secs(5)),
            ..ClientConfig::default()
        };
        match OsvClient::new(config, Some(Cache::new(cache_dir(root), CACHE_TTL))) {
            Ok(c) => Source::Online(Advisories::Online(c)),
            Err(e) => return unchecked(e.to_string()),
        }
    };
    let answer = match &source {
        Source::Offline(db) => Ok(queries.iter().map(|q| db.lookup(q)).collect()),
        // The client has its own total limit; this one also covers a stuck connect.
        Source::Online(a) => {
            match tokio::time::timeout(limit + Duration::from_secs(1), a.lookup(queries)).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!(
                    "the advisory lookup did not finish within {limit:?}"
                )),
            }
        }
    };
    match answer {
        Ok(found) => queries
            .iter()
            .cloned()
            .zip(found.into_iter().map(Outcome::Checked))
            .collect(),
        Err(why) => {
            tracing::warn!(%why, "advisory lookup failed");
            unchecked(why)
        }
    }
}

enum Source {
    Online(Advisories),
    Offline(Arc<Database>),
}

/// Adds what `memo` knows to a report, and applies the policy's rule levels. Only raises.
pub fn apply(report: &mut ImpactReport, memo: &Memo, levels: &DependencyLevels) {
    let mut raise: Vec<(Level, String)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for c in &mut report.dependencies {
        for f in &mut c.findings {
            let set = levels.level(f.rule);
            if set > f.level {
                f.level = set;
                raise.push((
                    set,
                    format!(
                        "`[dependencies]` sets `{}` to {set}: {}",
                        f.rule.name(),
                        f.reason
                    ),
                ));
            }
        }
        let Some(version) = c.version.clone() else {
            continue;
        };
        let q = Query::new(c.ecosystem.osv_name(), &c.name, &version);
        match memo.get(&q) {
            Some(Outcome::Checked(advisories)) => {
                for a in advisories {
                    let level = if a.severity == Severity::Critical {
                        Level::Critical
                    } else {
                        levels.level(Rule::Vulnerable)
                    };
                    let fixed = match &a.fixed {
                        Some(v) => format!("fixed in {v}"),
                        None => "no fixed version yet".to_owned(),
                    };
                    let rated = match a.severity {
                        Severity::Unknown => String::new(),
                        s => format!(", rated {}", severity_word(s)),
                    };
                    let reason = format!(
                        "`{}`: `{}` {version} has a known vulnerability {} ({}{rated}); {fixed}",
                        c.file, c.name, a.id, a.summary
                    );
                    c.findings.push(Finding {
                        rule: Rule::Vulnerable,
                        level,
                        reason: reason.clone(),
                    });
                    c.advisories.push(AdvisoryNote {
                        id: a.id.clone(),
                        aliases: a.aliases.clone(),
                        summary: a.summary.clone(),
                        severity: severity_word(a.severity).to_owned(),
                        fixed: a.fixed.clone(),
                    });
                    raise.push((level, reason));
                }
            }
            Some(Outcome::Unchecked(why)) => {
                c.unchecked = Some(why.clone());
                notes.push(format!(
                    "`{}`: vulnerabilities not checked for `{}` {version}: {why}",
                    c.file, c.name
                ));
            }
            None => {
                let why = "no advisory lookup was made".to_owned();
                notes.push(format!(
                    "`{}`: vulnerabilities not checked for `{}` {version}: {why}",
                    c.file, c.name
                ));
                c.unchecked = Some(why);
            }
        }
    }
    for (level, reason) in raise {
        report.level = report.level.max(level);
        if !report.reasons.contains(&reason) {
            report.reasons.push(reason);
        }
    }
    for note in notes {
        if !report.reasons.contains(&note) {
            report.reasons.push(note);
        }
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Moderate => "moderate",
        Severity::Low => "low",
        Severity::Unknown => "unknown",
    }
}

/// Whether a report has a version whose advisories could not be checked.
pub fn has_unchecked(report: &ImpactReport) -> bool {
    report.dependencies.iter().any(|c| c.unchecked.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use autogate_analysis::{AnalysisContext, ChangeUnit, FileChange, ProtectedPaths, analyze};
    use autogate_policy::Policy;

    fn report(after: &str) -> ImpactReport {
        let protected = ProtectedPaths::empty();
        let ctx = AnalysisContext {
            protected: &protected,
            index: None,
        };
        let unit = ChangeUnit {
            files: vec![FileChange {
                path: "requirements.txt".into(),
                old_path: None,
                before: Some("flask==2.3.2\n".into()),
                after: Some(after.into()),
            }],
        };
        analyze(&unit, &ctx)
    }

    #[test]
    fn unchecked_versions_say_so_and_never_lower() {
        let mut r = report("flask==2.3.2\nrequests==2.31.0\n");
        assert_eq!(r.level, Level::Medium);
        let memo: Memo = [(
            Query::new("PyPI", "requests", "2.31.0"),
            Outcome::Unchecked("cannot reach the OSV API".into()),
        )]
        .into();
        apply(&mut r, &memo, &DependencyLevels::default());
        assert_eq!(r.level, Level::Medium);
        assert!(r.reasons.iter().any(|w| w.contains(
            "vulnerabilities not checked for `requests` 2.31.0: cannot reach the OSV API"
        )));
        assert!(has_unchecked(&r));
        // No lookup at all is "not checked" too, never "no advisories".
        let mut r = report("flask==2.3.2\nrequests==2.31.0\n");
        apply(&mut r, &Memo::new(), &DependencyLevels::default());
        assert!(has_unchecked(&r));
    }

    #[test]
    fn policy_levels_raise_a_rule() {
        let policy = Policy::from_toml("[dependencies]\nnew_registry = \"high\"\n", "t")
            .unwrap_or_else(|e| panic!("{e:?}"));
        let mut r = report("flask==2.3.2\nrequests>=2.31\n");
        apply(&mut r, &Memo::new(), policy.dependency_levels());
        assert_eq!(r.level, Level::High);
        assert!(
            r.reasons
                .iter()
                .any(|w| w.starts_with("`[dependencies]` sets `new_registry` to high")),
            "{:?}",
            r.reasons
        );
        assert_eq!(r.dependencies[0].findings[0].level, Level::High);
    }
}
