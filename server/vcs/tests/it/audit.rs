//! Audit trail tests: the hash chain, tamper detection by line, concurrent writers, redaction.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use autogate_vcs::{
    Approver, AuditEvent, AuditLog, AuditRecord, VerifyIssue, VerifyIssueKind, VerifyReport,
};

fn record(i: usize) -> AuditRecord {
    AuditRecord {
        time: format!("2026-01-01T00:00:{i:02}Z"),
        event: AuditEvent::Applied,
        source: Some("agent".into()),
        intent: Some(format!("change number {i}")),
        change: Some(format!("c{i}")),
        files: vec!["src/lib.rs".into()],
        symbols: vec!["a".into()],
        level: Some("low".into()),
        decision: Some("auto".into()),
        rule: Some("default".into()),
        approver: Some(Approver::Policy),
        content_hash: Some("abc".into()),
        checkpoint: Some("20260101T000000Z-0000".into()),
        verification: Some(serde_json::json!({"command": "cargo check", "ok": true})),
        commit: None,
        reasons: vec!["format-only".into()],
        branch: Some("main".into()),
        ..AuditRecord::default()
    }
}

fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::at_path(dir.path().join("audit.jsonl"));
    for i in 1..=n {
        log.append(record(i)).unwrap();
    }
    (dir, log)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn put_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn issue(line: usize, kind: VerifyIssueKind) -> VerifyIssue {
    VerifyIssue { line, kind }
}

/// The hash-chain issues of the trail at `log`, without those found against its anchor.
fn chain_issues(log: &AuditLog) -> Vec<VerifyIssue> {
    log.verify()
        .unwrap()
        .issues
        .into_iter()
        .filter(|i| {
            matches!(
                i.kind,
                VerifyIssueKind::Malformed
                    | VerifyIssueKind::Truncated
                    | VerifyIssueKind::HashMismatch
                    | VerifyIssueKind::BrokenLink
            )
        })
        .collect()
}

#[test]
fn chain_links_and_verifies() {
    let (_dir, log) = log_with(5);
    let recs = log.read().unwrap();
    assert_eq!(recs.len(), 5);
    assert_eq!(recs[0].prev, None);
    for w in recs.windows(2) {
        assert_eq!(w[1].prev.as_deref(), Some(w[0].hash.as_str()));
    }
    assert_eq!(recs[2].intent.as_deref(), Some("change number 3"));
    assert_eq!(recs[2].event, AuditEvent::Applied);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.lines, 5);
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(text.contains(r#""event":"applied""#));
    assert!(text.contains(r#""approver":"policy""#));
}

#[test]
fn append_returns_the_record_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::at_path(dir.path().join("a/b/audit.jsonl"));
    let first = log
        .append(AuditRecord::new(AuditEvent::RolledBack))
        .unwrap();
    assert!(!first.time.is_empty());
    assert_eq!(first.hash.len(), 64);
    let second = log.append(record(2)).unwrap();
    assert_eq!(second.prev.as_deref(), Some(first.hash.as_str()));
    assert_eq!(log.read().unwrap(), [first, second]);
    assert!(
        std::fs::read_to_string(log.path())
            .unwrap()
            .contains(r#""event":"rolled_back""#)
    );
}

#[test]
fn edited_record_is_detected_on_its_line() {
    let (_dir, log) = log_with(5);
    let mut l = lines(log.path());
    l[2] = l[2].replace("change number 3", "change number 9");
    put_lines(log.path(), &l);
    assert_eq!(
        log.verify().unwrap().issues,
        [issue(3, VerifyIssueKind::HashMismatch)]
    );
}

#[test]
fn deleted_record_is_detected_on_the_next_line() {
    let (_dir, log) = log_with(5);
    let mut l = lines(log.path());
    l.remove(2);
    put_lines(log.path(), &l);
    assert_eq!(chain_issues(&log), [issue(3, VerifyIssueKind::BrokenLink)]);
    // Deleting the first record breaks line 1.
    let (_dir, log) = log_with(3);
    let mut l = lines(log.path());
    l.remove(0);
    put_lines(log.path(), &l);
    assert_eq!(chain_issues(&log), [issue(1, VerifyIssueKind::BrokenLink)]);
}

#[test]
fn reordered_records_are_detected() {
    let (_dir, log) = log_with(5);
    let mut l = lines(log.path());
    l.swap(1, 2);
    put_lines(log.path(), &l);
    let issues = chain_issues(&log);
    assert_eq!(issues[0], issue(2, VerifyIssueKind::BrokenLink));
    assert!(issues.iter().all(|i| i.kind == VerifyIssueKind::BrokenLink));
}

#[test]
fn truncation_is_detected_and_later_appends_still_chain() {
    let (_dir, log) = log_with(5);
    let bytes = std::fs::read(log.path()).unwrap();
    std::fs::write(log.path(), &bytes[..bytes.len() - 20]).unwrap();
    assert_eq!(chain_issues(&log), [issue(5, VerifyIssueKind::Truncated)]);
    // A writer after the torn line keeps it on its own line and links to the last whole record.
    let appended = log.append(record(6)).unwrap();
    let recs = log.read().unwrap();
    assert_eq!(recs.len(), 5);
    assert_eq!(appended.prev.as_deref(), Some(recs[3].hash.as_str()));
    assert_eq!(chain_issues(&log), [issue(5, VerifyIssueKind::Malformed)]);
}

#[test]
fn forged_hash_is_detected() {
    // A hash replaced by an invented one.
    let (_dir, log) = log_with(5);
    let mut l = lines(log.path());
    let recs = log.read().unwrap();
    l[2] = l[2].replace(&recs[2].hash, &"0".repeat(64));
    put_lines(log.path(), &l);
    assert_eq!(
        chain_issues(&log),
        [
            issue(3, VerifyIssueKind::HashMismatch),
            issue(4, VerifyIssueKind::BrokenLink)
        ]
    );

    // An edited record whose hash was recomputed correctly: the next record's link breaks.
    let (_dir, log) = log_with(5);
    let forge_dir = tempfile::tempdir().unwrap();
    let forger = AuditLog::at_path(forge_dir.path().join("forged.jsonl"));
    forger.append(record(1)).unwrap();
    forger.append(record(2)).unwrap();
    let mut evil = record(3);
    evil.decision = Some("deny".into());
    forger.append(evil).unwrap();
    let forged_line = lines(forger.path())[2].clone();
    let mut l = lines(log.path());
    assert_eq!(
        lines(forger.path())[..2],
        l[..2],
        "hashing is deterministic"
    );
    l[2] = forged_line;
    put_lines(log.path(), &l);
    assert_eq!(chain_issues(&log), [issue(4, VerifyIssueKind::BrokenLink)]);
}

#[test]
fn a_missing_log_verifies_empty() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::at_path(dir.path().join("none.jsonl"));
    assert_eq!(log.verify().unwrap(), VerifyReport::default());
    assert!(log.read().unwrap().is_empty());
}

#[test]
fn concurrent_threads_produce_a_valid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let log = AuditLog::at_path(path);
                for i in 0..30 {
                    let mut r = record(i % 60);
                    r.change = Some(format!("t{t}-{i}"));
                    log.append(r).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let log = AuditLog::at_path(&path);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.lines, 180);
}

const CHILD_LOG: &str = "AUTOGATE_VCS_TEST_CHILD_LOG";

/// Not a test on its own: the body of a child process spawned by the tests below.
#[test]
fn child_appender() {
    let Some(path) = std::env::var_os(CHILD_LOG) else {
        return;
    };
    let log = AuditLog::at_path(PathBuf::from(path));
    let secret = std::env::var("AUTOGATE_TEST_API_KEY").unwrap_or_default();
    for i in 0..40 {
        let mut r = record(i % 60);
        r.reasons = vec![format!("child {} wrote {i} {secret}", std::process::id())];
        log.append(r).unwrap();
    }
}

fn spawn_children(path: &Path, n: usize, env: &[(&str, &str)]) {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..n)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["audit::child_appender", "--exact", "--test-threads=1"])
                .env(CHILD_LOG, path)
                .envs(env.iter().copied())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
}

#[test]
fn concurrent_processes_produce_a_valid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    spawn_children(&path, 4, &[]);
    let report = AuditLog::at_path(&path).verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.lines, 160);
}

#[test]
fn secrets_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::at_path(dir.path().join("audit.jsonl"))
        .with_redactor(|s: &str| s.replace("sk-live-0123456789abcdef", "[REDACTED]"));
    let mut r = record(1);
    r.intent = Some("use key sk-live-0123456789abcdef please".into());
    r.reasons = vec!["secret added: sk-live-0123456789abcdef".into()];
    r.symbols = vec!["sk-live-0123456789abcdef".into()];
    r.verification = Some(serde_json::json!({"output": ["token sk-live-0123456789abcdef"]}));
    let written = log.append(r).unwrap();
    assert_eq!(written.intent.as_deref(), Some("use key [REDACTED] please"));
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(!text.contains("sk-live-0123456789abcdef"));
    assert!(text.contains("[REDACTED]"));
    assert!(log.verify().unwrap().is_ok());
}

#[test]
fn env_var_values_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    spawn_children(
        &path,
        1,
        &[("AUTOGATE_TEST_API_KEY", "envsecret-9f8e7d6c5b")],
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("envsecret-9f8e7d6c5b"));
    assert!(text.contains("[REDACTED:AUTOGATE_TEST_API_KEY]"));
}

#[test]
fn open_uses_the_git_dir_in_a_repo_and_dot_autogate_outside() {
    let repo = common::repo();
    let log = AuditLog::open(repo.path()).unwrap();
    log.append(record(1)).unwrap();
    assert!(repo.path().join(".git/autogate/audit.jsonl").is_file());
    // Not visible to git status: it lives inside .git.
    let status = common::git_text(repo.path(), &["status", "--porcelain"]);
    assert!(!status.contains("autogate"), "{status}");

    // A linked worktree keeps its own trail in its own git dir.
    let wt_parent = tempfile::tempdir().unwrap();
    let wt = wt_parent.path().join("wt");
    common::git(
        repo.path(),
        &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
    );
    let wlog = AuditLog::open(&wt).unwrap();
    assert!(
        wlog.path()
            .starts_with(std::fs::canonicalize(repo.path().join(".git/worktrees")).unwrap())
            || wlog.path().starts_with(repo.path().join(".git/worktrees")),
        "{:?}",
        wlog.path()
    );

    let plain = tempfile::tempdir().unwrap();
    let log = AuditLog::open(plain.path()).unwrap();
    log.append(record(1)).unwrap();
    assert!(plain.path().join(".autogate/audit.jsonl").is_file());
}

#[test]
fn log_and_store_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<AuditLog>();
    check::<autogate_vcs::CheckpointStore>();
}

// ---- Attacks on the trail as a whole: each one keeps a perfectly valid hash chain. ----

/// Rewrites the trail at `log` as a forger would: `records` chained afresh, every hash
/// recomputed, so the chain alone verifies.
fn forge(log: &AuditLog, records: Vec<AuditRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let forger = AuditLog::at_path(dir.path().join("forged.jsonl"));
    for mut r in records {
        r.prev = None;
        r.hash = String::new();
        forger.append(r).unwrap();
    }
    std::fs::copy(forger.path(), log.path()).unwrap();
    assert!(chain_issues(log).is_empty(), "the forged chain is valid");
}

fn kinds(log: &AuditLog) -> Vec<VerifyIssueKind> {
    let report = log.verify().unwrap();
    assert!(!report.is_ok(), "the attack went unnoticed");
    report.issues.into_iter().map(|i| i.kind).collect()
}

#[test]
fn attack_the_last_record_removed_is_detected() {
    let (_dir, log) = log_with(5);
    let mut l = lines(log.path());
    l.pop();
    put_lines(log.path(), &l);
    assert_eq!(
        log.verify().unwrap().issues,
        [issue(5, VerifyIssueKind::ShorterThanAnchor { anchored: 5 })]
    );
}

#[test]
fn attack_a_forged_record_appended_with_a_valid_hash_is_detected() {
    let (_dir, log) = log_with(3);
    let mut records = log.read().unwrap();
    let mut evil = record(4);
    evil.approver = Some(Approver::Person);
    records.push(evil);
    forge(&log, records);
    assert_eq!(
        log.verify().unwrap().issues,
        [issue(4, VerifyIssueKind::BeyondAnchor { anchored: 3 })]
    );
}

#[test]
fn attack_the_whole_trail_rewritten_deny_to_auto_with_every_hash_recomputed_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::at_path(dir.path().join("audit.jsonl"));
    for i in 1..=4 {
        let mut r = record(i);
        r.decision = Some(if i % 2 == 0 { "deny" } else { "auto" }.into());
        log.append(r).unwrap();
    }
    let whitewashed: Vec<AuditRecord> = log
        .read()
        .unwrap()
        .into_iter()
        .map(|mut r| {
            r.decision = Some("auto".into());
            r
        })
        .collect();
    forge(&log, whitewashed);
    assert!(
        kinds(&log).contains(&VerifyIssueKind::AnchorMismatch),
        "{:?}",
        log.verify()
    );
}

#[test]
fn attack_the_first_record_dropped_and_the_rest_rehashed_is_detected() {
    let (_dir, log) = log_with(4);
    let records = log.read().unwrap();
    forge(&log, records[1..].to_vec());
    let kinds = kinds(&log);
    assert!(
        kinds.contains(&VerifyIssueKind::ShorterThanAnchor { anchored: 4 }),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&VerifyIssueKind::AnchorMismatch),
        "{kinds:?}"
    );
}

#[test]
fn attack_a_forged_record_is_not_adopted_by_the_next_honest_append() {
    let (_dir, log) = log_with(3);
    let mut records = log.read().unwrap();
    records.push(record(4));
    forge(&log, records);
    // The server appends after the forgery: the chain links to it, but the anchor says so.
    log.append(record(5)).unwrap();
    assert!(chain_issues(&log).is_empty());
    assert_eq!(
        log.verify().unwrap().issues,
        [issue(4, VerifyIssueKind::Unanchored { from: 4, to: 4 })]
    );
}

#[test]
fn attack_a_deleted_trail_is_detected_by_its_anchor() {
    let (_dir, log) = log_with(2);
    std::fs::remove_file(log.path()).unwrap();
    let report = log.verify().unwrap();
    assert!(!report.exists);
    assert_eq!(report.issues, [issue(0, VerifyIssueKind::Missing)]);
    // Emptied rather than deleted: the records are missing.
    std::fs::write(log.path(), "").unwrap();
    assert_eq!(
        log.verify().unwrap().issues,
        [issue(1, VerifyIssueKind::ShorterThanAnchor { anchored: 2 })]
    );
}

#[test]
fn in_git_the_head_is_a_chain_of_commits_under_refs_autogate_audit() {
    let repo = common::repo();
    let log = AuditLog::open(repo.path()).unwrap();
    log.append(record(1)).unwrap();
    log.append_all(vec![record(2), record(3)]).unwrap();
    let recs = log.read().unwrap();
    // One anchor commit per append, the newest naming the head.
    let count = common::git_text(
        repo.path(),
        &["rev-list", "--count", autogate_vcs::AUDIT_REF],
    );
    assert_eq!(count.trim(), "2");
    let message = common::git_text(
        repo.path(),
        &["log", "-1", "--format=%B", "refs/autogate/audit"],
    );
    assert!(message.contains("count: 3"), "{message}");
    assert!(
        message.contains(&format!("hash: {}", recs[2].hash)),
        "{message}"
    );
    // git itself finds the objects whole.
    common::git(repo.path(), &["fsck", "--no-dangling"]);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.anchor.map(|h| h.count), Some(3));
}

#[test]
fn attack_in_git_a_deleted_trail_and_anchor_are_detected_by_the_checkpoints() {
    let repo = common::repo();
    let log = AuditLog::open(repo.path()).unwrap();
    log.append(record(1)).unwrap();
    let store = autogate_vcs::CheckpointStore::open(repo.path()).unwrap();
    let pre = store.capture(&["src/lib.rs"]).unwrap();
    store
        .create(&pre, &autogate_vcs::CheckpointMeta::now("batch"))
        .unwrap();
    log.append(record(2)).unwrap();

    std::fs::remove_file(log.path()).unwrap();
    common::git(repo.path(), &["update-ref", "-d", "refs/autogate/audit"]);
    let report = log.verify().unwrap();
    assert_eq!(report.issues, [issue(0, VerifyIssueKind::Missing)]);
    assert_eq!(report.checkpoints, 1);
}

#[test]
fn attack_in_git_a_rewritten_trail_with_its_anchor_deleted_is_detected_by_the_checkpoints() {
    let repo = common::repo();
    let log = AuditLog::open(repo.path()).unwrap();
    let mut denied = record(1);
    denied.decision = Some("deny".into());
    log.append(denied).unwrap();
    log.append(record(2)).unwrap();
    let store = autogate_vcs::CheckpointStore::open(repo.path()).unwrap();
    let pre = store.capture(&["src/lib.rs"]).unwrap();
    let id = store
        .create(&pre, &autogate_vcs::CheckpointMeta::now("batch"))
        .unwrap();
    log.append(record(3)).unwrap();

    let whitewashed: Vec<AuditRecord> = log
        .read()
        .unwrap()
        .into_iter()
        .map(|mut r| {
            r.decision = Some("auto".into());
            r
        })
        .collect();
    forge(&log, whitewashed);
    common::git(repo.path(), &["update-ref", "-d", "refs/autogate/audit"]);
    let kinds = kinds(&log);
    assert!(kinds.contains(&VerifyIssueKind::NotAnchored), "{kinds:?}");
    assert!(
        kinds.contains(&VerifyIssueKind::CheckpointMismatch {
            checkpoint: id.to_string()
        }),
        "{kinds:?}"
    );
}

#[test]
fn a_crash_between_a_record_and_its_anchor_is_reported_not_hidden() {
    let (dir, log) = log_with(2);
    // The anchor lost its last head (as if the process died between the two writes).
    let head = dir.path().join("audit.head");
    let mut heads = lines(&head);
    heads.pop();
    put_lines(&head, &heads);
    assert_eq!(
        log.verify().unwrap().issues,
        [issue(2, VerifyIssueKind::BeyondAnchor { anchored: 1 })]
    );
}

#[test]
fn no_trail_no_anchor_and_no_checkpoints_is_no_trail_not_a_failure() {
    let repo = common::repo();
    let log = AuditLog::open(repo.path()).unwrap();
    let report = log.verify().unwrap();
    assert!(report.is_ok() && !report.exists && report.lines == 0);
}

#[test]
fn each_worktree_anchors_its_own_trail() {
    let repo = common::repo();
    let wt_parent = tempfile::tempdir().unwrap();
    let wt = wt_parent.path().join("wt");
    common::git(
        repo.path(),
        &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
    );
    let main = AuditLog::open(repo.path()).unwrap();
    let side = AuditLog::open(&wt).unwrap();
    main.append(record(1)).unwrap();
    side.append(record(1)).unwrap();
    side.append(record(2)).unwrap();
    assert_eq!(main.verify().unwrap().anchor.map(|h| h.count), Some(1));
    assert_eq!(side.verify().unwrap().anchor.map(|h| h.count), Some(2));
    assert!(main.verify().unwrap().is_ok() && side.verify().unwrap().is_ok());
    let refs = common::git_text(repo.path(), &["for-each-ref", "refs/autogate/"]);
    assert!(refs.contains("refs/autogate/audit\n"), "{refs}");
    assert!(refs.contains("refs/autogate/audit-worktrees/wt"), "{refs}");
}

#[test]
fn a_damaged_anchor_never_stops_the_trail_or_a_checkpoint_and_verify_reports_it() {
    let repo = common::repo();
    let log = AuditLog::open(repo.path()).unwrap();
    log.append(record(1)).unwrap();
    // The anchor ref now names a blob, not an anchor commit.
    let blob = common::git_text(repo.path(), &["hash-object", "-w", "src/lib.rs"]);
    common::git(
        repo.path(),
        &["update-ref", "refs/autogate/audit", blob.trim()],
    );
    let store = autogate_vcs::CheckpointStore::open(repo.path()).unwrap();
    let pre = store.capture(&["src/lib.rs"]).unwrap();
    store
        .create(&pre, &autogate_vcs::CheckpointMeta::now("batch"))
        .unwrap();
    log.append(record(2)).unwrap();
    assert!(chain_issues(&log).is_empty());
    // A fresh chain, whose first head says record 1 was never anchored by it.
    assert_eq!(
        log.verify().unwrap().issues,
        [issue(1, VerifyIssueKind::Unanchored { from: 1, to: 1 })]
    );
}

// ---- Signed heads ----

/// A fresh OpenSSH Ed25519 key pair from `ssh-keygen`: (private key path, public key path).
fn ssh_key(dir: &Path, name: &str, passphrase: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(name);
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", "audit", "-N", passphrase, "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let public = key.with_extension("pub");
    std::fs::rename(dir.join(format!("{name}.pub")), &public).unwrap();
    (key, public)
}

#[test]
fn signed_heads_verify_against_the_public_key() {
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = ssh_key(keys.path(), "team", "");
    let signer = autogate_vcs::SigningKey::from_openssh_file(&private).unwrap();
    let verifier = autogate_vcs::VerifyingKey::from_openssh(public.to_str().unwrap()).unwrap();
    assert_eq!(signer.verifying_key(), verifier);
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::at_path(dir.path().join("audit.jsonl")).with_signing_key(signer);
    for i in 1..=3 {
        log.append(record(i)).unwrap();
    }
    let checked = AuditLog::at_path(log.path()).with_verifying_key(verifier);
    assert!(checked.verify().unwrap().is_ok(), "{:?}", checked.verify());
}

#[test]
fn attack_a_trail_rewritten_and_reanchored_without_the_key_fails_against_the_public_key() {
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = ssh_key(keys.path(), "team", "");
    let (other, _) = ssh_key(keys.path(), "mallory", "");
    let verifier = autogate_vcs::VerifyingKey::from_openssh(public.to_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::at_path(dir.path().join("audit.jsonl"))
        .with_signing_key(autogate_vcs::SigningKey::from_openssh_file(&private).unwrap());
    for i in 1..=3 {
        let mut r = record(i);
        r.decision = Some("deny".into());
        log.append(r).unwrap();
    }
    let whitewashed: Vec<AuditRecord> = log
        .read()
        .unwrap()
        .into_iter()
        .map(|mut r| {
            r.decision = Some("auto".into());
            r.prev = None;
            r.hash = String::new();
            r
        })
        .collect();
    // The forger rewrites the trail and its whole anchor, unsigned, then signed with their key.
    for key in [None, Some(&other)] {
        let scratch = tempfile::tempdir().unwrap();
        let mut forger = AuditLog::at_path(scratch.path().join("audit.jsonl"));
        if let Some(key) = key {
            forger =
                forger.with_signing_key(autogate_vcs::SigningKey::from_openssh_file(key).unwrap());
        }
        for r in whitewashed.clone() {
            forger.append(r).unwrap();
        }
        std::fs::copy(forger.path(), log.path()).unwrap();
        std::fs::copy(
            scratch.path().join("audit.head"),
            dir.path().join("audit.head"),
        )
        .unwrap();
        // Without the key, the rewrite is consistent...
        assert!(AuditLog::at_path(log.path()).verify().unwrap().is_ok());
        // ...against the team's public key it is not.
        let kind = if key.is_some() {
            VerifyIssueKind::BadSignature
        } else {
            VerifyIssueKind::Unsigned
        };
        let checked = AuditLog::at_path(log.path()).with_verifying_key(verifier.clone());
        assert_eq!(checked.verify().unwrap().issues, [issue(1, kind)]);
    }
}

#[test]
fn attack_signing_stripped_from_later_heads_is_detected_even_without_the_key() {
    let keys = tempfile::tempdir().unwrap();
    let (private, _) = ssh_key(keys.path(), "team", "");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let signed = AuditLog::at_path(&path)
        .with_signing_key(autogate_vcs::SigningKey::from_openssh_file(&private).unwrap());
    signed.append(record(1)).unwrap();
    AuditLog::at_path(&path).append(record(2)).unwrap();
    assert_eq!(
        AuditLog::at_path(&path).verify().unwrap().issues,
        [issue(2, VerifyIssueKind::Unsigned)]
    );
}

#[test]
fn an_encrypted_or_foreign_key_is_a_clear_error() {
    let keys = tempfile::tempdir().unwrap();
    let (private, _) = ssh_key(keys.path(), "locked", "passphrase");
    let err = autogate_vcs::SigningKey::from_openssh_file(&private).unwrap_err();
    assert!(err.to_string().contains("encrypted"), "{err}");
    let err = autogate_vcs::VerifyingKey::from_openssh("ssh-rsa AAAAB3NzaC1yc2E= x").unwrap_err();
    assert!(err.to_string().contains("ssh-ed25519"), "{err}");
}

#[test]
fn a_stale_lock_of_the_anchor_ref_left_by_a_crash_does_not_stop_the_trail() {
    let repo = common::repo();
    let log = AuditLog::open(repo.path()).unwrap();
    log.append(record(1)).unwrap();
    let lock = repo.path().join(".git/refs/autogate/audit.lock");
    std::fs::write(&lock, "0000000000000000000000000000000000000000\n").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .unwrap()
        .set_modified(old)
        .unwrap();
    log.append(record(2)).unwrap();
    assert!(!lock.exists());
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.anchor.map(|h| h.count), Some(2));
}

/// The keys every record had before `would`, `standing` and `impact` were added.
const OLD_KEYS: &[&str] = &[
    "approver",
    "branch",
    "change",
    "checkpoint",
    "commit",
    "content_hash",
    "decision",
    "event",
    "files",
    "hash",
    "intent",
    "level",
    "prev",
    "reasons",
    "rule",
    "source",
    "symbols",
    "time",
    "verification",
];

#[test]
fn records_without_the_learning_fields_are_written_as_before_and_old_lines_still_read() {
    let (dir, log) = log_with(2);
    let path = dir.path().join("audit.jsonl");
    for line in lines(&path) {
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, OLD_KEYS, "{line}");
    }
    // An old line (no learning fields) reads; a new one keeps them.
    let old: AuditRecord = serde_json::from_str(&lines(&path)[0]).unwrap();
    assert_eq!((old.would, old.standing, old.impact), (None, None, None));
    let mut new = record(3);
    new.would = Some(autogate_vcs::Would {
        decision: "ask".into(),
        level: "medium".into(),
        rule: "environments.development.auto_up_to".into(),
        reasons: vec!["medium is above auto_up_to = low".into()],
    });
    new.standing = Some("S1".into());
    new.impact = Some(autogate_vcs::ImpactFacts {
        environment: "development".into(),
        mode: "shadow".into(),
        kinds: vec!["body_only".into()],
        ..Default::default()
    });
    let written = log.append(new.clone()).unwrap();
    assert_eq!(written.would, new.would);
    let read = log.read().unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(read[2].impact, new.impact);
    assert_eq!(read[2].standing.as_deref(), Some("S1"));
    assert!(chain_issues(&log).is_empty());
}
