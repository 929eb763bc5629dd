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
        if record.event != AuditEvent::Decided || since.is_some_and(|s| record.time.as_str() < s) {
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
