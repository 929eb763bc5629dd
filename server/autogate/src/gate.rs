//! The gate: split, analyze and decide a proposal, and track each change to its outcome.
//!
//! Plain data in, plain data out: no LSP, no IO. The shell (the LSP server or the CLI) reads the
//! files, hands in a [`Proposal`], performs the writes this module plans, and reports back.

use std::borrow::Cow;
use std::collections::BTreeMap;

use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, ImpactReport, Level, ParseCache, Proposal,
    SymbolIndex, analyze_cached, merge3, split_cached,
};
use autogate_policy::{Decision, Environment, Mode, Policy, Verdict};
use sha2::{Digest, Sha256};

use crate::learn::scope::Scope;
use crate::learn::standing::StandingApproval;
use crate::protocol::{ChangeSummary, Status, Summary};

/// Where a file's "before" text came from, so the apply step can check it is still current.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// An open document at this version.
    Open { version: i32 },
    /// The file on disk (or its absence).
    Disk,
}

/// Per touched path, where its "before" came from.
pub type Bases = BTreeMap<String, Base>;

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
    /// The proposal this change was split from. Changes of one proposal may share a file;
    /// each is rebased over the ones of its proposal applied before it ([`Gate::view`]).
    pub proposal: u64,
    /// The environment and the mode it was decided in (kept in its audit records).
    pub environment: String,
    pub mode: Mode,
    /// The standing approval that turned its `ask` into `auto`, by id.
    pub standing: Option<String>,
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
        let reasons = self
            .report
            .reasons
            .iter()
            .chain(&self.verdict.reasons)
            .chain(&self.notes)
            .map(|r| redact(r))
            .collect();
        ChangeSummary {
            id: self.id.clone(),
            files: self.unit.files.iter().map(|f| f.path.clone()).collect(),
            level: self.report.level,
            decision: self.verdict.decision,
            status: self.status,
            reasons,
            hash: self.hash.clone(),
        }
    }
}

/// A change as it would apply now: see [`Gate::view`]. Borrows the change's own unit when
/// nothing was rebased.
#[derive(Clone, Debug)]
pub struct View<'g> {
    pub unit: Cow<'g, ChangeUnit>,
    /// The applied changes of the same proposal it was rebased over (empty: not rebased).
    pub rebased_over: Vec<String>,
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
    next_proposal: u64,
    pub index: SymbolIndex,
    /// Syntax trees of open documents, so a change to a big file is analyzed incrementally.
    pub parses: ParseCache,
    /// How many files that are not open stay in `parses` after their proposal (most recent
    /// first): a long-lived door keeps the files an agent is working on, so that its next edit
    /// of one is analyzed incrementally too. 0 (the language server's gate) keeps none.
    pub keep_parses: usize,
    kept: std::collections::VecDeque<String>,
    /// What each applied batch wrote, by checkpoint: (path, content; `None` if removed). The
    /// changes' own "after" texts can differ (changes of one file are composed and rebased).
    pub written: BTreeMap<String, Vec<(String, Option<String>)>>,
    /// Known vulnerabilities of the dependency versions proposals introduce, looked up by the
    /// shell before admission ([`crate::deps::lookup`]); every report is completed from it.
    pub advisories: crate::deps::Memo,
    /// The standing approvals that hold now, read by the shell before admission
    /// ([`crate::learn::standing::Store::active`]).
    pub standing: Vec<StandingApproval>,
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
            next_proposal: 1,
            index: SymbolIndex::new(),
            parses: ParseCache::new(),
            keep_parses: 0,
            kept: std::collections::VecDeque::new(),
            written: BTreeMap::new(),
            advisories: crate::deps::Memo::new(),
            standing: Vec::new(),
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

    /// Analyzes a unit (open documents incrementally) and decides it under the current policy,
    /// environment, mode and standing approvals. The third value names the standing approval
    /// that decided, if one did.
    fn judge(&mut self, unit: &ChangeUnit) -> (ImpactReport, Verdict, Option<String>) {
        let ctx = AnalysisContext {
            protected: self.policy.protected(),
            index: Some(&self.index),
        };
        let mut report = analyze_cached(unit, &ctx, &mut self.parses);
        let levels = self.policy.dependency_levels();
        crate::deps::apply(&mut report, &self.advisories, levels);
        let mut verdict = self.policy.decide(&report, &self.environment, self.mode);
        let standing = self.apply_standing(&report, &mut verdict);
        (report, verdict, standing)
    }

    /// Consults the standing approvals for a change the environment's thresholds would ask
    /// about (in mode `shadow`: would have asked about). A covering one turns the ask into
    /// auto and names itself in the reasons. Never for a decision a `[[rules]]` entry, the
    /// self-protection of control files or mode `ask` made: only the thresholds' ask.
    fn apply_standing(&self, report: &ImpactReport, verdict: &mut Verdict) -> Option<String> {
        if self.standing.is_empty() {
            return None;
        }
        let target = match verdict.would.as_deref_mut() {
            Some(would) => would,
            None => verdict,
        };
        if target.decision != Decision::Ask || !target.rule.starts_with("environments.") {
            return None;
        }
        let facts = crate::learn::facts::Facts::from_report(report, &self.environment.name);
        let settings = self.policy.approvals();
        let approval = self
            .standing
            .iter()
            .find(|a| a.scope.covers(&facts, settings))?;
        target.decision = Decision::Auto;
        target.rule = format!("standing.{}", approval.id);
        target.reasons.insert(
            0,
            format!(
                "{} covers it: {}",
                approval.label(),
                approval.scope.describe()
            ),
        );
        Some(approval.id.clone())
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
        let proposal_number = self.next_proposal;
        self.next_proposal += 1;
        // Every "before" goes through the parse cache: an open document's text is parsed
        // incrementally from the last tree the cache holds for it, another file's once, and
        // each change split from a file then reparses only its own hunks. Files the editor
        // does not have open leave the cache again afterwards.
        let mut visiting = Vec::new();
        for file in &proposal.files {
            let Some(before) = file.before.as_deref() else {
                continue;
            };
            let open = matches!(bases.get(&file.path), Some(Base::Open { .. }));
            if !open && !self.parses.contains_path(&file.path) {
                visiting.push(file.path.clone());
            }
            self.parses.update(&file.path, before);
        }
        for unit in split_cached(proposal, &mut self.parses) {
            let (report, verdict, standing) = self.judge(&unit);
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
                    intent: origin.intent.as_deref().map(redact),
                    source: origin.source.as_deref().map(redact),
                    checkpoint: None,
                    notes: Vec::new(),
                    approver: None,
                    commit: None,
                    proposal: proposal_number,
                    environment: self.environment.name.clone(),
                    mode: self.mode,
                    standing,
                },
            );
            ids.push(id);
        }
        self.release_parses(proposal, visiting);
        ids
    }

    /// Drops the trees of files `visiting` brought in, or keeps the most recent
    /// [`Gate::keep_parses`] of the files proposals touch that the editor does not have open.
    fn release_parses(&mut self, proposal: &Proposal, visiting: Vec<String>) {
        if self.keep_parses == 0 {
            for path in visiting {
                self.parses.remove(&path);
            }
            return;
        }
        for file in &proposal.files {
            if visiting.contains(&file.path) || self.kept.contains(&file.path) {
                self.kept.retain(|p| *p != file.path);
                self.kept.push_back(file.path.clone());
            }
        }
        while self.kept.len() > self.keep_parses {
            if let Some(old) = self.kept.pop_front() {
                self.parses.remove(&old);
            }
        }
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
            dependencies: Vec::new(),
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
        let verdict = Verdict {
            decision,
            rule: rule.to_owned(),
            reasons: Vec::new(),
            would: None,
        };
        // Shadow mode would have refused it too: a decision like any other in `log --would`.
        let verdict = if self.mode == Mode::Shadow {
            Verdict {
                would: Some(Box::new(verdict.clone())),
                ..verdict
            }
        } else {
            verdict
        };
        self.changes.insert(
            n,
            ChangeRecord {
                id: id.clone(),
                hash: content_hash(&unit.files),
                unit,
                report,
                verdict,
                status,
                bases: BTreeMap::new(),
                intent: origin.intent.as_deref().map(redact),
                source: origin.source.as_deref().map(redact),
                checkpoint: None,
                notes: Vec::new(),
                approver: None,
                commit: None,
                proposal: 0,
                environment: self.environment.name.clone(),
                mode: self.mode,
                standing: None,
            },
        );
        id
    }

    /// A change as it would apply now: each file it modifies rebased over the changes of its
    /// proposal already applied to that file (and neither rolled back nor failed since).
    ///
    /// Changes split from one proposal were all analyzed against the proposal's "before"; once
    /// one is applied, the file holds that text plus its hunks. The view's `before` is what the
    /// file must hold now (the apply step checks it byte for byte) and its `after` that text
    /// with this change's hunks merged in (a 3-way line merge). `rebased_over` names the
    /// changes merged under it: empty when the change applies as analyzed.
    pub fn view<'g>(&'g self, change: &'g ChangeRecord) -> Result<View<'g>, String> {
        let applied_to = |path: &str| -> Vec<&ChangeRecord> {
            self.changes
                .values()
                .filter(|c| {
                    c.proposal == change.proposal
                        && c.proposal != 0
                        && c.id != change.id
                        && matches!(c.status, Status::Applied | Status::Approved)
                        && c.unit.files.iter().any(|f| f.path == path)
                })
                .collect()
        };
        if change
            .unit
            .files
            .iter()
            .all(|f| applied_to(&f.path).is_empty())
        {
            return Ok(View {
                unit: Cow::Borrowed(&change.unit),
                rebased_over: Vec::new(),
            });
        }
        let mut files = Vec::with_capacity(change.unit.files.len());
        let mut over = Vec::new();
        for file in &change.unit.files {
            let applied = applied_to(&file.path);
            if applied.is_empty() {
                files.push(file.clone());
                continue;
            }
            let (Some(base), Some(mine)) = (file.before.as_deref(), file.after.as_deref()) else {
                return Err(format!(
                    "change {} creates or removes `{}`, which change {} of the same proposal also changed",
                    change.id, file.path, applied[0].id
                ));
            };
            let mut now = base.to_owned();
            for other in applied {
                let theirs = other
                    .unit
                    .files
                    .iter()
                    .find(|f| f.path == file.path && f.before.as_deref() == Some(base))
                    .and_then(|f| f.after.as_deref())
                    .ok_or_else(|| {
                        format!(
                            "changes {} and {} both change `{}` in ways that cannot be combined",
                            other.id, change.id, file.path
                        )
                    })?;
                now = merge3(base, &now, theirs).ok_or_else(|| {
                    format!(
                        "changes {} and {} overlap in `{}`",
                        other.id, change.id, file.path
                    )
                })?;
                if !over.contains(&other.id) {
                    over.push(other.id.clone());
                }
            }
            let after = merge3(base, &now, mine).ok_or_else(|| {
                format!(
                    "change {} no longer fits `{}` after change(s) {} of the same proposal",
                    change.id,
                    file.path,
                    over.join(", ")
                )
            })?;
            files.push(FileChange {
                path: file.path.clone(),
                old_path: file.old_path.clone(),
                before: Some(now),
                after: Some(after),
            });
        }
        Ok(View {
            unit: Cow::Owned(ChangeUnit { files }),
            rebased_over: over,
        })
    }

    /// What applying the batch `ids` now writes: one file change per path (the batch's changes
    /// to one file composed), with the document versions to check when nothing was rebased.
    ///
    /// A change rebased over others (see [`Gate::view`]) is analyzed again on its new base: if
    /// that raises its level, or its decision no longer allows how it is being applied (`auto`
    /// for the policy, anything but `deny` for a person), the batch fails and nothing is written.
    pub fn batch(
        &mut self,
        ids: &[String],
        approver: &'static str,
    ) -> Result<Vec<(FileChange, Bases)>, String> {
        let mut out: Vec<(FileChange, Bases)> = Vec::new();
        let mut rechecks = Vec::new();
        for id in ids {
            let change = self
                .get(id)
                .ok_or_else(|| format!("no change with id `{id}`"))?;
            let view = self.view(change)?;
            for file in view.unit.files.iter().cloned() {
                // A rebased file is checked by content only: its version moved on when the
                // changes under it were applied.
                let bases: Bases = if view.rebased_over.is_empty() {
                    file.touched_paths()
                        .filter_map(|p| change.bases.get(p).map(|b| (p.to_owned(), b.clone())))
                        .collect()
                } else {
                    BTreeMap::new()
                };
                let shared = out.iter_mut().find(|(f, _)| {
                    file.touched_paths()
                        .any(|p| f.touched_paths().any(|q| p == q))
                });
                let Some((composed, composed_bases)) = shared else {
                    out.push((file, bases));
                    continue;
                };
                // Two changes of this batch modify one file: split from one proposal, they
                // share what the file holds now; merge the second into the first.
                let merged = match (
                    composed.before.as_deref(),
                    composed.after.as_deref(),
                    file.after.as_deref(),
                ) {
                    (Some(now), Some(ours), Some(theirs))
                        if composed.path == file.path
                            && composed.old_path == file.old_path
                            && composed.before == file.before =>
                    {
                        merge3(now, ours, theirs)
                    }
                    _ => None,
                };
                composed.after = Some(merged.ok_or_else(|| {
                    format!(
                        "change {id} overlaps another change of this batch in `{}`",
                        file.path
                    )
                })?);
                if bases.is_empty() {
                    composed_bases.clear();
                }
            }
            if !view.rebased_over.is_empty() {
                rechecks.push((id.clone(), view.unit.into_owned(), view.rebased_over));
            }
        }
        for (id, unit, rebased_over) in rechecks {
            let (report, verdict, _) = self.judge(&unit);
            let Some(change) = self.get_mut(&id) else {
                continue;
            };
            let allowed = match approver {
                "person" => verdict.decision != Decision::Deny,
                _ => verdict.decision == Decision::Auto,
            };
            if report.level > change.report.level || !allowed {
                return Err(format!(
                    "change {id}, analyzed again on top of change(s) {} of the same proposal, is now {} ({}); nothing was applied — propose it again",
                    rebased_over.join(", "),
                    report.level,
                    report.reasons.join("; ")
                ));
            }
            let note = format!(
                "applied on top of change(s) {} of the same proposal",
                rebased_over.join(", ")
            );
            if !change.notes.contains(&note) {
                change.notes.push(note);
            }
        }
        Ok(out)
    }

    /// The scope a standing approval made from `change` would cover, or why none may be made:
    /// see [`crate::learn::scope`]. Only a change the environment's thresholds ask about can
    /// have one (that is the only ask a standing approval turns into auto).
    pub fn scope_of(&self, change: &ChangeRecord) -> Result<Scope, String> {
        if !change.verdict.rule.starts_with("environments.") {
            return Err(format!(
                "change {} asks because of `{}`, which a standing approval never overrides",
                change.id, change.verdict.rule
            ));
        }
        let facts = crate::learn::facts::Facts::from_report(&change.report, &change.environment);
        crate::learn::scope::scope_of(&facts, self.policy.approvals())
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

/// Secrets masked, for any text that leaves the gate (answers, diffs, summaries): the
/// analyzer's redaction (fail closed), then the LLM crate's (bearer tokens and other formats
/// the analyzer does not look for), so that both agree on what never goes out.
pub fn redact(text: &str) -> String {
    autogate_llm::redact_secrets(&autogate_analysis::secrets::redact(text))
}

/// [`redact`] over every string (and key) of a JSON answer.
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => *s = redact(s),
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            for (key, mut item) in std::mem::take(map) {
                redact_json(&mut item);
                map.insert(redact(&key), item);
            }
        }
        _ => {}
    }
}

/// A unified diff of a change, for a person, with every secret masked (the `+`/`-` markers
/// stay, so a line with a secret still shows as added or removed).
pub fn unified_diff(change: &ChangeRecord) -> String {
    autogate_llm::redact_secrets(&autogate_analysis::secrets::redact_diff(&raw_diff(change)))
}

fn raw_diff(change: &ChangeRecord) -> String {
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

    const TWO: &str = "pub fn one() -> i32 {\n    1\n}\n\npub fn two() -> i32 {\n    2\n}\n";
    const BOTH: &str = "pub fn one() -> i32 {\n    10\n}\n\npub fn two() -> i32 {\n    20\n}\n";
    const FIRST: &str = "pub fn one() -> i32 {\n    10\n}\n\npub fn two() -> i32 {\n    2\n}\n";

    #[test]
    fn changes_of_one_file_compose_in_a_batch_and_rebase_over_applied_siblings() {
        let mut gate = Gate::new(Policy::default(), env("development"));
        let ids = gate.admit(
            &proposal("src/a.rs", TWO, BOTH),
            &BTreeMap::new(),
            &Origin::default(),
        );
        assert_eq!(ids.len(), 2, "one change per function");
        // Both at once: one write of the whole proposal.
        let files = gate.batch(&ids, "policy").expect("composes");
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0.before.as_deref(), Some(TWO));
        assert_eq!(files[0].0.after.as_deref(), Some(BOTH));

        // One applied, then the other: it lands on top of the first.
        let first = gate.batch(&ids[..1], "policy").expect("as analyzed");
        assert_eq!(first[0].0.after.as_deref(), Some(FIRST));
        gate.settle(&ids[..1], Status::Applied, None, Some("c1"));
        let second = gate.batch(&ids[1..], "person").expect("rebased");
        assert_eq!(second[0].0.before.as_deref(), Some(FIRST));
        assert_eq!(second[0].0.after.as_deref(), Some(BOTH));
        assert!(second[0].1.is_empty(), "checked by content, not version");
        let notes = &gate.get(&ids[1]).expect("kept").notes;
        assert!(
            notes.iter().any(|n| n.contains("on top of change(s) 1")),
            "{notes:?}"
        );

        // Rolled back: the second applies as analyzed again.
        gate.settle(&ids[..1], Status::RolledBack, None, None);
        let again = gate.batch(&ids[1..], "person").expect("as analyzed");
        assert_eq!(again[0].0.before.as_deref(), Some(TWO));
    }

    #[test]
    fn a_rebased_change_is_decided_again_and_refused_if_the_policy_would_not_apply_it() {
        let mut gate = Gate::new(Policy::default(), env("development"));
        let ids = gate.admit(
            &proposal("src/a.rs", TWO, BOTH),
            &BTreeMap::new(),
            &Origin::default(),
        );
        gate.settle(&ids[..1], Status::Applied, None, Some("c1"));
        // The branch became a production one since: auto stops at low.
        gate.set_policy(Policy::default(), env("production"));
        let refused = gate.batch(&ids[1..], "policy").unwrap_err();
        assert!(refused.contains("analyzed again"), "{refused}");
        // A person may still approve it.
        assert!(gate.batch(&ids[1..], "person").is_ok());
    }
}
