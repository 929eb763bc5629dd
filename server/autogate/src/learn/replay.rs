//! `autogate policy replay`: the recorded history decided again under a candidate policy.
//! Pure: records and a policy in, the decisions that would change out.
//!
//! What is compared is what each policy stands for: the recorded decision (in shadow mode, the
//! one mode auto would have made) against the candidate's (likewise). A change a standing
//! approval decided stays auto as long as the candidate would still only ask because of its
//! thresholds. The analyzer's level is the recorded one, raised to high where the candidate
//! protects a path the recorded policy did not (the text itself is not in the trail).

use autogate_analysis::Level;
use autogate_policy::{Decision, Environment, Policy};
use autogate_vcs::{AuditEvent, AuditRecord};
use serde::Serialize;

use super::facts::Facts;

/// One decision that would change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replayed {
    pub change: String,
    pub time: String,
    pub files: Vec<String>,
    pub level: Level,
    pub recorded: Decision,
    pub candidate: Decision,
    /// The candidate's deciding rule and reasons.
    pub rule: String,
    pub reasons: Vec<String>,
}

impl Replayed {
    /// Whether the candidate lets through more than was recorded (ask → auto, deny → ask).
    pub fn looser(&self) -> bool {
        self.candidate < self.recorded
    }
}

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Decisions replayed.
    pub decided: usize,
    /// Decision records without the facts to replay them (written by an older autogate).
    pub skipped: usize,
    /// The decisions that would change, in trail order.
    pub changed: Vec<Replayed>,
}

/// The decision a record stands for.
fn recorded(record: &AuditRecord) -> Option<Decision> {
    let decision = match &record.would {
        Some(would) => would.decision.as_str(),
        None => record.decision.as_deref()?,
    };
    decision.parse().ok()
}

/// Replays every decision record at or after `since` (an RFC 3339 time or a prefix of one).
pub fn replay(records: &[AuditRecord], policy: &Policy, since: Option<&str>) -> Report {
    let mut report = Report::default();
    for record in records {
        // Changes refused before analysis (a path outside the workspace, a stale document) are
        // decided by invariants, not by a policy.
        if record.event != AuditEvent::Decided
            || since.is_some_and(|s| record.time.as_str() < s)
            || record
                .rule
                .as_deref()
                .is_some_and(|r| r.starts_with("invariant."))
        {
            continue;
        }
        let (Some(mut facts), Some(was)) = (Facts::from_record(record), recorded(record)) else {
            report.skipped += 1;
            continue;
        };
        report.decided += 1;
        for file in &facts.files {
            if policy.protected().matching(file).is_some() && !facts.protected_paths.contains(file)
            {
                facts.protected_paths.push(file.clone());
                facts.level = facts.level.max(Level::High);
            }
        }
        let environment = Environment {
            name: facts.environment.clone(),
            reason: "as recorded".to_owned(),
        };
        let verdict = policy.decide(&facts.to_report(), &environment, policy.mode());
        let mut now = verdict.would.as_deref().unwrap_or(&verdict).clone();
        if now.decision == Decision::Ask
            && now.rule.starts_with("environments.")
            && let Some(id) = &record.standing
        {
            now.decision = Decision::Auto;
            now.rule = format!("standing.{id}");
            now.reasons
                .insert(0, format!("standing approval {id}, as recorded"));
        }
        if now.decision != was {
            report.changed.push(Replayed {
                change: record.change.clone().unwrap_or_default(),
                time: record.time.clone(),
                files: record.files.clone(),
                level: facts.level,
                recorded: was,
                candidate: now.decision,
                rule: now.rule,
                reasons: now.reasons,
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use autogate_vcs::{ImpactFacts, Would};

    fn decided(change: &str, file: &str, level: &str, decision: &str, rule: &str) -> AuditRecord {
        let mut r = AuditRecord::new(AuditEvent::Decided);
        r.change = Some(change.to_owned());
        r.files = vec![file.to_owned()];
        r.level = Some(level.to_owned());
        r.decision = Some(decision.to_owned());
        r.rule = Some(rule.to_owned());
        r.impact = Some(ImpactFacts {
            environment: "development".to_owned(),
            mode: "auto".to_owned(),
            kinds: vec!["body_only".to_owned()],
            ..ImpactFacts::default()
        });
        r
    }

    fn policy(text: &str) -> Policy {
        Policy::from_toml(text, "candidate.toml").expect("a valid candidate")
    }

    #[test]
    fn replay_compares_what_each_policy_stands_for() {
        let plain = decided(
            "1",
            "src/a.rs",
            "medium",
            "auto",
            "environments.development.auto_up_to",
        );
        // Shadow mode applied it; auto would have asked.
        let mut shadow = decided("2", "src/b.rs", "high", "auto", "mode.shadow");
        shadow.would = Some(Would {
            decision: "ask".to_owned(),
            level: "high".to_owned(),
            rule: "environments.development.auto_up_to".to_owned(),
            reasons: Vec::new(),
        });
        // A standing approval decided it.
        let mut standing = decided("3", "src/c.rs", "high", "auto", "standing.S1");
        standing.standing = Some("S1".to_owned());
        // Refused before analysis, and recorded before autogate kept the facts.
        let refused = decided("4", "../x", "critical", "deny", "invariant.workspace_root");
        let mut old = decided(
            "5",
            "src/d.rs",
            "low",
            "auto",
            "environments.development.auto_up_to",
        );
        old.impact = None;
        let records = [plain, shadow, standing, refused, old];

        // The defaults: nothing changes.
        let same = replay(&records, &Policy::default(), None);
        assert_eq!(
            (same.decided, same.skipped, same.changed.len()),
            (3, 1, 0),
            "{same:#?}"
        );

        // Stricter: medium asks; the standing approval still covers its high change.
        let strict = replay(
            &records,
            &policy("[environments.development]\nauto_up_to = \"low\"\n"),
            None,
        );
        let changed: Vec<(&str, Decision, Decision)> = strict
            .changed
            .iter()
            .map(|c| (c.change.as_str(), c.recorded, c.candidate))
            .collect();
        assert_eq!(changed, [("1", Decision::Auto, Decision::Ask)]);
        assert!(!strict.changed[0].looser());

        // Looser: high is auto, so the shadow change would have applied.
        let loose = replay(
            &records,
            &policy("[environments.development]\nauto_up_to = \"high\"\n"),
            None,
        );
        assert_eq!(loose.changed.len(), 1, "{loose:#?}");
        assert_eq!(loose.changed[0].change, "2");
        assert!(loose.changed[0].looser());

        // A path the candidate protects is high at least: it asks now.
        let protect = replay(&records, &policy("protected = [\"src/a.rs\"]\n"), None);
        assert_eq!(protect.changed.len(), 1, "{protect:#?}");
        assert_eq!(
            (protect.changed[0].level, protect.changed[0].candidate),
            (Level::High, Decision::Ask)
        );

        // --since after everything: nothing replayed.
        assert_eq!(
            replay(&records, &Policy::default(), Some("2999")).decided,
            0
        );
    }
}
