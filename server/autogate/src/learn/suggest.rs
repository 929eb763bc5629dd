//! `autogate policy suggest`: policy changes proposed from one or many audit trails. Pure.
//!
//! - **Loosen** a scope asked about and approved at least `min` times, none of whose asked
//!   changes was rejected, rolled back or reverted: a `decision = "auto"` rule.
//! - **Tighten** a scope whose auto-applied changes were rolled back or reverted: a
//!   `decision = "ask"` rule.
//!
//! Scopes are those of [`super::scope`]: never for critical changes, secrets, protected paths
//! or control files. Each suggestion carries its counts and example change ids.

use std::collections::BTreeMap;

use autogate_analysis::Level;
use autogate_policy::{ApprovalSettings, Decision};
use autogate_vcs::{Approver, AuditEvent, AuditRecord};
use serde::Serialize;

use super::facts::Facts;
use super::scope::{Scope, scope_of};

/// One trail and the label its change ids are shown with (when there are several).
pub struct Trail {
    pub label: String,
    pub records: Vec<AuditRecord>,
}

/// What happened to one change, as its trail tells.
#[derive(Clone, Debug)]
struct History {
    /// Shown id: `3`, or `alice.json:3` with several trails.
    id: String,
    facts: Facts,
    /// The policy's decision (not shadow mode's, not a standing approval's).
    decision: Decision,
    /// Decided by a standing approval.
    standing: bool,
    approved: bool,
    applied: bool,
    rejected: bool,
    /// Rolled back, or reverted by hand.
    undone: bool,
}

/// A proposed policy change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// `auto` (loosen) or `ask` (tighten).
    pub decision: Decision,
    pub scope: Scope,
    /// Loosen: changes asked and approved. Tighten: auto changes rolled back or reverted.
    pub count: usize,
    /// Tighten: auto changes of the scope in all.
    pub total: usize,
    /// Up to five change ids.
    pub examples: Vec<String>,
}

impl Suggestion {
    /// Why, in a sentence.
    pub fn evidence(&self) -> String {
        let examples = self.examples.join(", ");
        match self.decision {
            Decision::Auto => format!(
                "asked and approved {} times, never rejected, rolled back or reverted (changes {examples})",
                self.count
            ),
            _ => format!(
                "{} of {} auto change(s) rolled back or reverted (changes {examples})",
                self.count, self.total
            ),
        }
    }

    /// The TOML snippet: a comment with the evidence, then the rule.
    pub fn to_toml(&self) -> String {
        let verb = if self.decision == Decision::Auto {
            "loosen"
        } else {
            "tighten"
        };
        format!(
            "# {verb}: {}\n{}",
            self.evidence(),
            self.scope.to_rule(
                self.decision.as_str(),
                &format!("autogate policy suggest: {}", self.evidence())
            )
        )
    }
}

/// The settings scopes are computed with here: the team decides, so production is allowed.
fn settings() -> ApprovalSettings {
    ApprovalSettings {
        enabled: true,
        production: true,
        max_level: Level::High,
        days: 1,
    }
}

/// Every change of every trail with its outcome.
fn histories(trails: &[Trail]) -> Vec<History> {
    let mut out = Vec::new();
    for trail in trails {
        let label = |id: &str| {
            if trails.len() > 1 {
                format!("{}:{id}", trail.label)
            } else {
                id.to_owned()
            }
        };
        // A change id is reused by the next session: each decision starts a new history.
        let mut histories: Vec<History> = Vec::new();
        let mut latest: BTreeMap<String, usize> = BTreeMap::new();
        let mut checkpoints: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for record in &trail.records {
            let Some(change) = record.change.clone() else {
                // A rollback from the terminal names the checkpoint only.
                if record.event == AuditEvent::RolledBack
                    && let Some(cp) = &record.checkpoint
                {
                    for &at in checkpoints.get(cp).into_iter().flatten() {
                        histories[at].undone = true;
                    }
                }
                continue;
            };
            if record.event == AuditEvent::Decided {
                let (Some(facts), Some(decision)) = (
                    Facts::from_record(record),
                    record
                        .would
                        .as_ref()
                        .map(|w| w.decision.as_str())
                        .or(record.decision.as_deref())
                        .and_then(|d| d.parse().ok()),
                ) else {
                    latest.remove(&change);
                    continue;
                };
                let standing = record.standing.is_some();
                let decision = if standing { Decision::Ask } else { decision };
                latest.insert(change.clone(), histories.len());
                histories.push(History {
                    id: label(&change),
                    facts,
                    decision,
                    standing,
                    approved: false,
                    applied: false,
                    rejected: false,
                    undone: false,
                });
                continue;
            }
            let Some(&at) = latest.get(&change) else {
                continue;
            };
            let h = &mut histories[at];
            match record.event {
                // `approved` is the record of a change a person approved and autogate wrote.
                AuditEvent::Applied | AuditEvent::Approved => {
                    h.applied = true;
                    h.approved |= record.event == AuditEvent::Approved
                        && record.approver != Some(Approver::Policy);
                    if let Some(cp) = &record.checkpoint {
                        checkpoints.entry(cp.clone()).or_default().push(at);
                    }
                }
                AuditEvent::ApprovedAlways => h.approved = true,
                AuditEvent::Rejected => h.rejected = true,
                AuditEvent::RolledBack | AuditEvent::Reverted => h.undone = true,
                // Verification failed: the batch was rolled back.
                AuditEvent::Failed if record.verification.is_some() => h.undone = true,
                _ => {}
            }
        }
        out.extend(histories);
    }
    out
}

/// The suggestions from `trails`: loosen scopes approved `min` times or more and never
/// undone or rejected, tighten scopes whose auto changes were undone.
pub fn suggest(trails: &[Trail], min: usize) -> Vec<Suggestion> {
    let histories = histories(trails);
    let settings = settings();
    let mut out = Vec::new();

    // Loosen.
    let asked: Vec<&History> = histories
        .iter()
        .filter(|h| h.decision == Decision::Ask)
        .collect();
    let mut candidates: Vec<(Scope, Vec<&History>)> = Vec::new();
    for h in &asked {
        let Ok(scope) = scope_of(&h.facts, &settings) else {
            continue;
        };
        if candidates.iter().any(|(s, _)| *s == scope) {
            continue;
        }
        let covered: Vec<&History> = asked
            .iter()
            .copied()
            .filter(|o| scope.covers(&o.facts, &settings))
            .collect();
        candidates.push((scope, covered));
    }
    candidates.sort_by_key(|(_, covered)| std::cmp::Reverse(covered.len()));
    let mut used: Vec<String> = Vec::new();
    for (scope, covered) in candidates {
        if covered.iter().any(|h| h.rejected || h.undone) {
            continue;
        }
        let approved: Vec<&&History> = covered
            .iter()
            .filter(|h| h.approved || h.standing)
            .collect();
        if approved.len() < min || approved.iter().all(|h| used.contains(&h.id)) {
            continue;
        }
        used.extend(approved.iter().map(|h| h.id.clone()));
        out.push(Suggestion {
            decision: Decision::Auto,
            count: approved.len(),
            total: covered.len(),
            examples: approved.iter().take(5).map(|h| h.id.clone()).collect(),
            scope,
        });
    }

    // Tighten.
    let auto: Vec<&History> = histories
        .iter()
        .filter(|h| (h.decision == Decision::Auto || h.standing) && h.applied)
        .collect();
    let mut seen: Vec<Scope> = Vec::new();
    for h in auto.iter().filter(|h| h.undone) {
        let Ok(scope) = scope_of(&h.facts, &settings) else {
            continue;
        };
        if seen.contains(&scope) {
            continue;
        }
        seen.push(scope.clone());
        let covered: Vec<&&History> = auto
            .iter()
            .filter(|o| scope.covers(&o.facts, &settings))
            .collect();
        let undone: Vec<&&&History> = covered.iter().filter(|o| o.undone).collect();
        out.push(Suggestion {
            decision: Decision::Ask,
            count: undone.len(),
            total: covered.len(),
            examples: undone.iter().take(5).map(|h| h.id.clone()).collect(),
            scope,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use autogate_vcs::ImpactFacts;

    /// The records of one change: decided `decision` at `level`, then `events`.
    fn change(id: &str, file: &str, decision: &str, events: &[AuditEvent]) -> Vec<AuditRecord> {
        let mut decided = AuditRecord::new(AuditEvent::Decided);
        decided.change = Some(id.to_owned());
        decided.files = vec![file.to_owned()];
        decided.level = Some("medium".to_owned());
        decided.decision = Some(decision.to_owned());
        decided.impact = Some(ImpactFacts {
            environment: "development".to_owned(),
            mode: "auto".to_owned(),
            kinds: vec!["body_only".to_owned()],
            ..ImpactFacts::default()
        });
        let mut out = vec![decided];
        for &event in events {
            let mut r = AuditRecord::new(event);
            r.change = Some(id.to_owned());
            r.files = vec![file.to_owned()];
            r.checkpoint = Some(format!("cp-{id}"));
            r.approver = Some(if event == AuditEvent::Applied {
                Approver::Policy
            } else {
                Approver::Person
            });
            out.push(r);
        }
        out
    }

    fn trail(label: &str, changes: Vec<Vec<AuditRecord>>) -> Trail {
        Trail {
            label: label.to_owned(),
            records: changes.into_iter().flatten().collect(),
        }
    }

    #[test]
    fn approvals_add_up_across_trails_and_one_rejection_spoils_a_scope() {
        let approved = [AuditEvent::Approved];
        // Alice approved three, Bob two: ids repeat across trails, and Bob's session reused 1.
        let alice = trail(
            "alice.json",
            (1..=3)
                .map(|i| change(&i.to_string(), "src/p/a.rs", "ask", &approved))
                .collect(),
        );
        let bob = trail(
            "bob.json",
            vec![
                change("1", "src/p/b.rs", "ask", &approved),
                change("1", "src/p/c.rs", "ask", &approved),
            ],
        );
        let suggestions = suggest(&[alice, bob], 5);
        assert_eq!(suggestions.len(), 1, "{suggestions:#?}");
        let s = &suggestions[0];
        assert_eq!((s.decision, s.count), (Decision::Auto, 5));
        assert_eq!(s.scope.paths, ["src/p/**"]);
        assert_eq!(s.examples[0], "alice.json:1");
        assert!(s.to_toml().contains("decision = \"auto\""));

        // One rejected change in the scope: nothing to loosen.
        let rejected = trail(
            "carol.json",
            vec![change("9", "src/p/d.rs", "ask", &[AuditEvent::Rejected])],
        );
        let alice = trail(
            "alice.json",
            (1..=6)
                .map(|i| change(&i.to_string(), "src/p/a.rs", "ask", &approved))
                .collect(),
        );
        assert!(suggest(&[alice, rejected], 5).is_empty());
    }

    #[test]
    fn auto_changes_rolled_back_from_the_terminal_tighten_their_scope() {
        let mut records = change("1", "src/u/a.rs", "auto", &[AuditEvent::Applied]);
        records.extend(change("2", "src/u/b.rs", "auto", &[AuditEvent::Applied]));
        // `autogate rollback` names the checkpoint only.
        let mut rollback = AuditRecord::new(AuditEvent::RolledBack);
        rollback.checkpoint = Some("cp-2".to_owned());
        records.push(rollback);
        let suggestions = suggest(
            &[Trail {
                label: "t".to_owned(),
                records,
            }],
            5,
        );
        assert_eq!(suggestions.len(), 1, "{suggestions:#?}");
        let s = &suggestions[0];
        assert_eq!((s.decision, s.count, s.total), (Decision::Ask, 1, 2));
        assert_eq!(s.examples, ["2"]);
        assert!(s.to_toml().contains("decision = \"ask\""));
    }
}
