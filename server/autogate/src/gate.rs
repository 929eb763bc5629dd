//! The gate: split, analyze and decide a proposal, and track each change to its outcome.
//!
//! Plain data in, plain data out: no LSP, no IO. The shell (the LSP server or the CLI) reads the
//! files, hands in a [`Proposal`], performs the writes this module plans, and reports back.

use std::collections::BTreeMap;

use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, ImpactReport, Level, ParseCache, Proposal,
    SymbolIndex, analyze_cached, split,
};
use autogate_policy::{Decision, Environment, Mode, Policy, Verdict};
use sha2::{Digest, Sha256};

use crate::protocol::{ChangeSummary, Status, Summary};

/// Where a file's "before" text came from, so the apply step can check it is still current.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// An open document at this version.
    Open { version: i32 },
    /// The file on disk (or its absence).
    Disk,
}

/// One change and everything known about it.
#[derive(Clone, Debug)]
pub struct ChangeRecord {
    pub id: String,
    pub unit: ChangeUnit,
    pub report: ImpactReport,
    pub verdict: Verdict,
    pub status: Status,
    /// sha256 over the paths and the before/after contents: what an approval is bound to.
    pub hash: String,
    /// Per touched path, where its "before" came from.
    pub bases: BTreeMap<String, Base>,
    pub intent: Option<String>,
    pub source: Option<String>,
    pub checkpoint: Option<String>,
    /// Reasons added after the decision (a failure, a stale version, a refusal).
    pub notes: Vec<String>,
    /// Who approved: `policy` for auto, `person` after an approval.
    pub approver: Option<&'static str>,
    /// The attributed commit, when the policy's `[commit]` is enabled.
    pub commit: Option<String>,
}

impl ChangeRecord {
    /// Held for a person's decision: asked, and neither approved, rejected nor failed yet.
    pub fn awaits_approval(&self) -> bool {
        self.status == Status::Pending && self.verdict.decision == Decision::Ask
    }

    pub fn level(&self) -> Level {
        self.report.level
    }

    pub fn summary(&self) -> ChangeSummary {
        let mut reasons = self.report.reasons.clone();
        reasons.extend(self.verdict.reasons.iter().cloned());
        reasons.extend(self.notes.iter().cloned());
        ChangeSummary {
            id: self.id.clone(),
            files: self.unit.files.iter().map(|f| f.path.clone()).collect(),
            level: self.report.level,
            decision: self.verdict.decision,
            status: self.status,
            reasons,
        }
    }
}

/// Who the proposal came from and why.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub intent: Option<String>,
    pub source: Option<String>,
}

/// The gate's state: policy, mode, environment and every change of this session.
#[derive(Debug)]
pub struct Gate {
    pub policy: Policy,
    pub environment: Environment,
    mode: Mode,
    /// The mode the person or editor asked for, if any: it survives policy reloads.
    requested_mode: Option<Mode>,
    changes: BTreeMap<u64, ChangeRecord>,
    next_id: u64,
    pub index: SymbolIndex,
    /// Syntax trees of open documents, so a change to a big file is analyzed incrementally.
    pub parses: ParseCache,
}

impl Gate {
    pub fn new(policy: Policy, environment: Environment) -> Self {
        let mode = policy.mode;
        Self {
            policy,
            environment,
            mode,
            requested_mode: None,
            changes: BTreeMap::new(),
            next_id: 1,
            index: SymbolIndex::new(),
            parses: ParseCache::new(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Replaces the policy (after a reload); the requested mode still applies if stricter.
    pub fn set_policy(&mut self, policy: Policy, environment: Environment) {
        self.mode = self
            .requested_mode
            .map_or(policy.mode, |m| m.max(policy.mode));
        self.policy = policy;
        self.environment = environment;
    }

    /// Sets the mode. An editor may only make the team's mode stricter (auto < ask < plan).
    pub fn set_mode(&mut self, mode: Mode) -> Result<Mode, String> {
        if mode < self.policy.mode {
            return Err(format!(
                "the team policy sets mode `{}`; an editor can only make it stricter, not `{mode}`",
                self.policy.mode
            ));
        }
        self.requested_mode = Some(mode);
        self.mode = mode;
        Ok(mode)
    }

    fn allocate_id(&mut self) -> (u64, String) {
        let n = self.next_id;
        self.next_id += 1;
        (n, n.to_string())
    }

    /// Splits, analyzes and decides a proposal. Returns the new change ids in order.
    ///
    /// Statuses after admission: `denied`, `planned` (plan mode), `pending` (ask), or
    /// `pending` with decision `auto` — the caller applies those next.
    pub fn admit(
        &mut self,
        proposal: &Proposal,
        bases: &BTreeMap<String, Base>,
        origin: &Origin,
    ) -> Vec<String> {
        let mut ids = Vec::new();
        // Open documents: their current text (the "before") is parsed incrementally from the
        // last tree the cache holds for them; other files are parsed afresh.
        for file in &proposal.files {
            if let (Some(Base::Open { .. }), Some(before)) =
                (bases.get(&file.path), file.before.as_deref())
            {
                self.parses.update(&file.path, before);
            }
        }
        for unit in split(proposal) {
            let ctx = AnalysisContext {
                protected: self.policy.protected(),
                index: Some(&self.index),
            };
            let report = analyze_cached(&unit, &ctx, &mut self.parses);
            let verdict = self.policy.decide(&report, &self.environment, self.mode);
            let status = match (verdict.decision, self.mode) {
                (Decision::Deny, _) => Status::Denied,
                (_, Mode::Plan) => Status::Planned,
                _ => Status::Pending,
            };
            let unit_bases = unit
                .files
                .iter()
                .flat_map(|f| f.touched_paths())
                .filter_map(|p| bases.get(p).map(|b| (p.to_owned(), b.clone())))
                .collect();
            let (n, id) = self.allocate_id();
            let hash = content_hash(&unit.files);
            self.changes.insert(
                n,
                ChangeRecord {
                    id: id.clone(),
                    unit,
                    report,
                    verdict,
                    status,
                    hash,
                    bases: unit_bases,
                    intent: origin.intent.clone(),
                    source: origin.source.clone(),
                    checkpoint: None,
                    notes: Vec::new(),
                    approver: None,
                    commit: None,
                },
            );
            ids.push(id);
        }
        ids
    }

    /// Records a change that was refused before analysis (a forbidden or stale path).
    pub fn admit_refused(
        &mut self,
        path: &str,
        level: Level,
        status: Status,
        reason: String,
        origin: &Origin,
    ) -> String {
        let (n, id) = self.allocate_id();
        let unit = ChangeUnit {
            files: vec![FileChange {
                path: path.to_owned(),
                old_path: None,
                before: None,
                after: None,
            }],
        };
        let decision = if status == Status::Denied {
            Decision::Deny
        } else {
            Decision::Ask
        };
        let report = ImpactReport {
            files: vec![path.to_owned()],
            languages: Vec::new(),
            kinds: Vec::new(),
            symbols: Vec::new(),
            blast_radius: Default::default(),
            domains: Vec::new(),
            verification_weakened: Vec::new(),
            secrets: Vec::new(),
            protected_paths: Vec::new(),
            lines_added: 0,
            lines_removed: 0,
            level,
            reasons: vec![reason],
        };
        let rule = if status == Status::Denied {
            "invariant.workspace_root"
        } else {
            "invariant.document_version"
        };
        self.changes.insert(
            n,
            ChangeRecord {
                id: id.clone(),
                hash: content_hash(&unit.files),
                unit,
                report,
                verdict: Verdict {
                    decision,
                    rule: rule.to_owned(),
                    reasons: Vec::new(),
                },
                status,
                bases: BTreeMap::new(),
                intent: origin.intent.clone(),
                source: origin.source.clone(),
                checkpoint: None,
                notes: Vec::new(),
                approver: None,
                commit: None,
            },
        );
        id
    }

    pub fn get(&self, id: &str) -> Option<&ChangeRecord> {
        id.parse::<u64>().ok().and_then(|n| self.changes.get(&n))
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut ChangeRecord> {
        id.parse::<u64>()
            .ok()
            .and_then(|n| self.changes.get_mut(&n))
    }

    pub fn pending(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.changes.values().filter(|c| c.awaits_approval())
    }

    /// The changes applied under a checkpoint.
    pub fn with_checkpoint<'a>(
        &'a self,
        checkpoint: &'a str,
    ) -> impl Iterator<Item = &'a ChangeRecord> + 'a {
        self.changes
            .values()
            .filter(move |c| c.checkpoint.as_deref() == Some(checkpoint))
    }

    /// Runs `f` on each of the changes `ids` names.
    pub fn update(&mut self, ids: &[String], mut f: impl FnMut(&mut ChangeRecord)) {
        for id in ids {
            if let Some(change) = self.get_mut(id) {
                f(change);
            }
        }
    }

    /// Marks changes with their outcome.
    pub fn settle(
        &mut self,
        ids: &[String],
        status: Status,
        note: Option<&str>,
        checkpoint: Option<&str>,
    ) {
        for id in ids {
            if let Some(change) = self.get_mut(id) {
                change.status = status;
                if let Some(note) = note {
                    change.notes.push(note.to_owned());
                }
                if checkpoint.is_some() {
                    change.checkpoint = checkpoint.map(str::to_owned);
                }
            }
        }
    }

    pub fn summary(&self, ids: &[String], checkpoint: Option<String>) -> Summary {
        Summary {
            checkpoint,
            changes: ids
                .iter()
                .filter_map(|id| self.get(id))
                .map(ChangeRecord::summary)
                .collect(),
        }
    }
}

/// The hash an approval is bound to: paths, and before and after contents, length-prefixed.
pub fn content_hash(files: &[FileChange]) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: Option<&[u8]>| match bytes {
        None => hasher.update(b"-"),
        Some(b) => {
            hasher.update((b.len() as u64).to_le_bytes());
            hasher.update(b);
        }
    };
    for file in files {
        field(Some(file.path.as_bytes()));
        field(file.old_path.as_deref().map(str::as_bytes));
        field(file.before.as_deref().map(str::as_bytes));
        field(file.after.as_deref().map(str::as_bytes));
    }
    hex::encode(hasher.finalize())
}

/// A unified diff of a change, for a person.
pub fn unified_diff(change: &ChangeRecord) -> String {
    let mut out = String::new();
    for file in &change.unit.files {
        let old_name = file.old_path.as_deref().unwrap_or(&file.path);
        let before = file.before.as_deref().unwrap_or("");
        let after = file.after.as_deref().unwrap_or("");
        let old_header = if file.before.is_some() {
            format!("a/{old_name}")
        } else {
            "/dev/null".to_owned()
        };
        let new_header = if file.after.is_some() {
            format!("b/{}", file.path)
        } else {
            "/dev/null".to_owned()
        };
        out.push_str(
            &similar::TextDiff::from_lines(before, after)
                .unified_diff()
                .context_radius(3)
                .header(&old_header, &new_header)
                .to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Environment {
        Environment {
            name: name.to_owned(),
            reason: "test".to_owned(),
        }
    }

    fn proposal(path: &str, before: &str, after: &str) -> Proposal {
        Proposal {
            files: vec![FileChange {
                path: path.to_owned(),
                old_path: None,
                before: Some(before.to_owned()),
                after: Some(after.to_owned()),
            }],
        }
    }

    #[test]
    fn protected_paths_ask_in_development_and_secrets_are_denied_everywhere() {
        let mut gate = Gate::new(Policy::default(), env("development"));
        let ids = gate.admit(
            &proposal(".github/workflows/ci.yml", "a\n", "b\n"),
            &BTreeMap::new(),
            &Origin::default(),
        );
        let change = gate.get(&ids[0]).expect("admitted");
        assert_eq!(change.level(), Level::High);
        assert_eq!(
            (change.verdict.decision, change.status),
            (Decision::Ask, Status::Pending)
        );
        let ids = gate.admit(
            &proposal("../escape.txt", "", "x\n"),
            &BTreeMap::new(),
            &Origin::default(),
        );
        let change = gate.get(&ids[0]).expect("admitted");
        assert_eq!(
            (change.level(), change.status),
            (Level::Critical, Status::Denied)
        );
    }

    #[test]
    fn plan_mode_applies_nothing_and_modes_only_tighten() {
        let mut gate = Gate::new(Policy::default(), env("development"));
        assert_eq!(gate.set_mode(Mode::Plan), Ok(Mode::Plan));
        let ids = gate.admit(
            &proposal("src/a.py", "x = 1\n", "x = 2\n"),
            &BTreeMap::new(),
            &Origin::default(),
        );
        assert_eq!(gate.get(&ids[0]).expect("admitted").status, Status::Planned);
        let strict = Policy::from_toml("mode = \"ask\"\n", ".autogate.toml").expect("valid policy");
        let mut gate = Gate::new(strict, env("development"));
        assert!(
            gate.set_mode(Mode::Auto)
                .unwrap_err()
                .contains("only make it stricter")
        );
    }

    #[test]
    fn the_hash_binds_paths_and_contents() {
        let a = proposal("a.rs", "1", "2").files;
        let b = proposal("a.rs", "1", "3").files;
        let c = proposal("b.rs", "1", "2").files;
        assert_ne!(content_hash(&a), content_hash(&b));
        assert_ne!(content_hash(&a), content_hash(&c));
        assert_eq!(
            content_hash(&a),
            content_hash(&proposal("a.rs", "1", "2").files)
        );
    }
}
