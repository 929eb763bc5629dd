//! Standing approvals ("Approve always for <scope>"): made by a person from a pending change,
//! kept per clone in `approvals.json` beside the audit trail (`.git/autogate/`, or
//! `.autogate/` without git), each with who made it, when, and when it expires.
//!
//! Every change to the file happens under `approvals.lock` (an OS file lock) and is written
//! atomically (a temporary file, fsynced, renamed over, the folder fsynced). A file that
//! cannot be read gives no standing approval at all: the gate asks (fail closed).
//!
//! The file is not trusted on its own: the gate honours a standing approval only if the
//! audit trail holds the `approved_always` record that made it, with the same scope, author
//! and expiry ([`attested`]). An entry written into the file by anything else (a shell
//! command of an agent) is ignored.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::scope::Scope;

/// One standing approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandingApproval {
    /// `S1`, `S2`...: never reused in a clone.
    pub id: String,
    pub scope: Scope,
    /// Who made it: the git identity of the clone, or the user name.
    pub who: String,
    /// RFC 3339 (UTC).
    pub created: String,
    /// RFC 3339 (UTC): it covers nothing from then on.
    pub expires: String,
    /// The change it was made from.
    pub change: String,
}

impl StandingApproval {
    /// Whether it still holds at `now`.
    pub fn active_at(&self, now: OffsetDateTime) -> bool {
        OffsetDateTime::parse(&self.expires, &Rfc3339).is_ok_and(|expires| expires > now)
    }

    /// The note the change it was made from carries, and so its `approved_always` audit
    /// record: what [`attested`] looks for.
    pub fn note(&self) -> String {
        format!(
            "approved always: {} for {}",
            self.label(),
            self.scope.describe()
        )
    }

    /// For reasons and prompts: "standing approval S1 (by Ann, until 2026-12-31)".
    pub fn label(&self) -> String {
        format!(
            "standing approval {} (by {}, until {})",
            self.id,
            self.who,
            self.expires.get(..10).unwrap_or(&self.expires)
        )
    }
}

/// Where a standing approval stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The gate honours it.
    Active,
    /// Past its expiry: it covers nothing.
    Expired,
    /// The audit trail does not record it as made: the gate ignores it.
    Ignored,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Expired => "expired",
            State::Ignored => "ignored",
        }
    }
}

/// The audit record of a person revoking `approval`, from `source` (`cli`, `editor`).
pub fn revoked_record(approval: &StandingApproval, source: &str) -> autogate_vcs::AuditRecord {
    let mut record = autogate_vcs::AuditRecord::new(autogate_vcs::AuditEvent::Revoked);
    record.source = Some(source.to_owned());
    record.standing = Some(approval.id.clone());
    record.approver = Some(autogate_vcs::Approver::Person);
    record.reasons = vec![format!("revoked: {}", approval.scope.describe())];
    record
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    /// The number of the next id.
    next: u64,
    approvals: Vec<StandingApproval>,
}

/// The standing approvals of one clone.
#[derive(Clone, Debug)]
pub struct Store {
    path: PathBuf,
    /// The audit trail beside it, which attests each standing approval.
    trail: PathBuf,
}

impl Store {
    /// The store of the workspace at `root`.
    pub fn open(root: &Path) -> Result<Store> {
        let audit = autogate_vcs::AuditLog::open(root).context("cannot find the audit trail")?;
        Ok(Store {
            path: audit.path().with_file_name("approvals.json"),
            trail: audit.path().to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The audit trail that attests them.
    pub fn trail(&self) -> &Path {
        &self.trail
    }

    fn read(&self) -> Result<StoreFile> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a valid approvals file", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreFile {
                version: 1,
                next: 1,
                approvals: Vec::new(),
            }),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        }
    }

    /// Every standing approval, expired ones included.
    pub fn list(&self) -> Result<Vec<StandingApproval>> {
        Ok(self.read()?.approvals)
    }

    /// The ones that hold now: not expired, and made as the audit trail records
    /// ([`attested`]). An unreadable file gives none (and a warning).
    pub fn active(&self) -> Vec<StandingApproval> {
        let now = OffsetDateTime::now_utc();
        match self.list() {
            Ok(list) => attested(
                &self.trail,
                list.into_iter().filter(|a| a.active_at(now)).collect(),
            ),
            Err(e) => {
                tracing::warn!("standing approvals ignored: {e:#}");
                Vec::new()
            }
        }
    }

    /// Every standing approval with where it stands now: what `autogate approvals list` and
    /// the editors' `autogate.approvals` show.
    pub fn states(&self) -> Result<Vec<(StandingApproval, State)>> {
        let list = self.list()?;
        let now = OffsetDateTime::now_utc();
        let made: Vec<String> = attested(&self.trail, list.clone())
            .into_iter()
            .map(|a| a.id)
            .collect();
        Ok(list
            .into_iter()
            .map(|a| {
                let state = if !made.contains(&a.id) {
                    State::Ignored
                } else if a.active_at(now) {
                    State::Active
                } else {
                    State::Expired
                };
                (a, state)
            })
            .collect())
    }

    /// Adds a standing approval for `scope`, made by `who` from change `change`, for `days`.
    pub fn add(
        &self,
        scope: Scope,
        who: &str,
        days: u64,
        change: &str,
    ) -> Result<StandingApproval> {
        let _lock = self.lock()?;
        let mut file = self.read()?;
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(OffsetDateTime::now_utc());
        let expires = now + time::Duration::days(i64::try_from(days).unwrap_or(30));
        let approval = StandingApproval {
            id: format!("S{}", file.next.max(1)),
            scope,
            who: who.to_owned(),
            created: now.format(&Rfc3339).unwrap_or_default(),
            expires: expires.format(&Rfc3339).unwrap_or_default(),
            change: change.to_owned(),
        };
        file.next = file.next.max(1) + 1;
        file.version = 1;
        file.approvals.push(approval.clone());
        self.write(&file)?;
        Ok(approval)
    }

    /// Removes standing approval `id`; returns it.
    pub fn revoke(&self, id: &str) -> Result<StandingApproval> {
        let _lock = self.lock()?;
        let mut file = self.read()?;
        let Some(at) = file
            .approvals
            .iter()
            .position(|a| a.id.eq_ignore_ascii_case(id))
        else {
            bail!("no standing approval `{id}`; `autogate approvals list` shows them");
        };
        let removed = file.approvals.remove(at);
        self.write(&file)?;
        Ok(removed)
    }

    fn lock(&self) -> Result<std::fs::File> {
        let path = self.path.with_file_name("approvals.lock");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(file)
    }

    /// Atomically: a temporary file beside it, fsynced, renamed over, the folder fsynced.
    fn write(&self, file: &StoreFile) -> Result<()> {
        let dir = self
            .path
            .parent()
            .context("the approvals file has no folder")?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        let json = serde_json::to_vec_pretty(file)?;
        tmp.write_all(&json)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        if let Ok(folder) = std::fs::File::open(dir) {
            let _ = folder.sync_all();
        }
        Ok(())
    }
}

/// How far the audit trail was read for `approved_always` records, and what they said.
#[derive(Default)]
struct Attestations {
    path: PathBuf,
    offset: u64,
    /// (standing approval id, note) of every `approved_always` record read.
    seen: std::collections::HashSet<(String, String)>,
}

/// The standing approvals of `approvals` that the audit trail at `trail` made: an
/// `approved_always` record names each, with its note (scope, author, expiry). The trail is
/// read from where the last call stopped (it only grows; a shorter one is read again).
pub fn attested(trail: &Path, approvals: Vec<StandingApproval>) -> Vec<StandingApproval> {
    static CACHE: std::sync::Mutex<Option<Attestations>> = std::sync::Mutex::new(None);
    if approvals.is_empty() {
        return approvals;
    }
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let state = cache.get_or_insert_with(Attestations::default);
    if state.path != trail {
        *state = Attestations {
            path: trail.to_owned(),
            ..Attestations::default()
        };
    }
    if let Err(e) = read_attestations(state) {
        tracing::warn!("standing approvals ignored: cannot read the audit trail: {e:#}");
        return Vec::new();
    }
    approvals
        .into_iter()
        .filter(|a| {
            let ok = state.seen.contains(&(a.id.clone(), a.note()));
            if !ok {
                tracing::warn!(
                    id = %a.id,
                    "standing approval ignored: the audit trail does not record it as made"
                );
            }
            ok
        })
        .collect()
}

fn read_attestations(state: &mut Attestations) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(&state.path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            state.offset = 0;
            state.seen.clear();
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata()?.len();
    if len < state.offset {
        state.offset = 0;
        state.seen.clear();
    }
    file.seek(SeekFrom::Start(state.offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    // Only whole lines: a record being written is read next time.
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    for line in bytes[..whole].split(|&b| b == b'\n') {
        let Ok(record) = serde_json::from_slice::<autogate_vcs::AuditRecord>(line) else {
            continue;
        };
        if record.event != autogate_vcs::AuditEvent::ApprovedAlways {
            continue;
        }
        if let Some(id) = record.standing {
            for reason in record.reasons {
                state.seen.insert((id.clone(), reason));
            }
        }
    }
    state.offset += whole as u64;
    Ok(())
}

/// Who is making a standing approval: `user.name <user.email>` of the clone's git config, or
/// the login name.
pub fn who(root: &Path) -> String {
    let from_git = git2::Repository::discover(root)
        .and_then(|repo| repo.config())
        .ok()
        .and_then(|config| {
            let name = config.get_string("user.name").ok();
            let email = config.get_string("user.email").ok();
            match (name, email) {
                (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
                (Some(n), None) => Some(n),
                (None, Some(e)) => Some(e),
                (None, None) => None,
            }
        });
    from_git
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use autogate_analysis::Level;

    fn scope() -> Scope {
        Scope {
            kinds: vec!["body_only".to_owned()],
            domains: Vec::new(),
            paths: vec!["src/**".to_owned()],
            max_level: Level::Medium,
            environment: "development".to_owned(),
        }
    }

    /// Appends the `approved_always` record the server writes for `approval`.
    fn attest(root: &Path, approval: &StandingApproval) {
        let log = autogate_vcs::AuditLog::open(root).expect("a trail");
        let mut record = autogate_vcs::AuditRecord::new(autogate_vcs::AuditEvent::ApprovedAlways);
        record.standing = Some(approval.id.clone());
        record.reasons = vec!["medium is above auto_up_to".to_owned(), approval.note()];
        log.append(record).expect("appended");
    }

    #[test]
    fn only_standing_approvals_the_audit_trail_made_hold() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path()).expect("a store");
        let s1 = store.add(scope(), "Ann", 30, "1").expect("added");
        assert!(store.active().is_empty(), "not in the trail yet");
        attest(dir.path(), &s1);
        assert_eq!(store.active(), std::slice::from_ref(&s1));

        // Written into the file by something else: a new entry, and S1 widened to every path.
        let mut text: serde_json::Value =
            serde_json::from_slice(&std::fs::read(store.path()).expect("read")).expect("json");
        let mut forged = text["approvals"][0].clone();
        forged["id"] = serde_json::json!("S7");
        text["approvals"]
            .as_array_mut()
            .expect("a list")
            .push(forged);
        std::fs::write(store.path(), serde_json::to_vec(&text).expect("json")).expect("written");
        assert_eq!(
            store.active(),
            std::slice::from_ref(&s1),
            "the forged S7 is ignored"
        );
        text["approvals"][0]["scope"]["paths"] = serde_json::json!(["**"]);
        std::fs::write(store.path(), serde_json::to_vec(&text).expect("json")).expect("written");
        assert!(store.active().is_empty(), "a widened S1 is ignored");
    }

    #[test]
    fn ids_are_never_reused_expired_ones_do_not_hold_and_a_broken_file_gives_none() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path()).expect("a store");
        let s1 = store.add(scope(), "Ann", 30, "1").expect("added");
        let s2 = store.add(scope(), "Ann", 30, "2").expect("added");
        assert_eq!((s1.id.as_str(), s2.id.as_str()), ("S1", "S2"));
        store.revoke("s2").expect("revoked, any case");
        assert_eq!(store.add(scope(), "Ann", 30, "3").expect("added").id, "S3");
        assert_eq!(store.list().expect("listed").len(), 2);
        assert!(store.revoke("S9").is_err());

        let later = OffsetDateTime::now_utc() + time::Duration::days(31);
        assert!(
            store
                .list()
                .expect("listed")
                .iter()
                .all(|a| !a.active_at(later))
        );

        // A file that cannot be read: no standing approval holds, and none is written over it.
        std::fs::write(store.path(), "{ not json").expect("written");
        assert!(store.active().is_empty());
        assert!(store.add(scope(), "Ann", 30, "4").is_err());
        assert_eq!(
            std::fs::read_to_string(store.path()).expect("kept"),
            "{ not json"
        );
    }
}
