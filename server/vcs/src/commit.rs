//! Attributed commits of an applied batch: only the batch's files, a conventional message with
//! `Autogate-*` trailers, the repository's hooks honoured, optionally on a side branch.
//!
//! [`commit_batch`] behaves like `git commit -- <paths>` (git's "only" mode):
//!
//! 1. A temporary index is built from the base commit's tree plus exactly the batch's paths as
//!    they are in the working tree (or their removal). The person's index is not read for it, so
//!    whatever else they staged or left unstaged stays out of the commit.
//! 2. `pre-commit` runs with the work tree as its folder and `GIT_INDEX_FILE` pointing at that
//!    temporary index; `prepare-commit-msg` (`<file> message`) and `commit-msg` (`<file>`) run
//!    on a temporary message file, which is read back afterwards. A hook that exits non-zero stops
//!    everything with [`CommitError::HookRejected`]; nothing has been touched at that point.
//! 3. The commit is written from the (re-read) temporary index, on the current branch or on a side
//!    branch. On the current branch, the person's index is updated for the batch's paths only,
//!    so `git status` does not show them as changed; every other index entry stays as it was
//!    (this happens just before the branch moves, and is undone if moving it fails, for example
//!    because HEAD moved meanwhile). On a side branch, HEAD, the current branch, the index and
//!    the working tree do not move.
//!
//! Hooks can take as long as they like, so call this off the async runtime (`spawn_blocking`).
//! 4. `post-commit` runs; its exit status is ignored, as git does.
//!
//! Author and committer are `user.name`/`user.email` from the repository's configuration, or
//! `autogate <autogate@localhost>` when they are not set.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{IoContext, VcsError};
use crate::fsutil;

/// The name used when the repository has no `user.name`.
pub const FALLBACK_NAME: &str = "autogate";
/// The email used when the repository has no `user.email`.
pub const FALLBACK_EMAIL: &str = "autogate@localhost";
/// The prefix of side branches made by [`side_branch_name`].
pub const SIDE_BRANCH_PREFIX: &str = "autogate/";

/// How much of a failing hook's output an error carries (its tail).
const HOOK_OUTPUT_TAIL: usize = 2000;
/// The longest subject [`conventional_subject`] returns, in characters.
const SUBJECT_MAX: usize = 72;

/// What to commit, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitRequest {
    /// Workspace-relative, `/`-separated paths the batch wrote, created or deleted (for a rename,
    /// both the old and the new path). Their current working-tree state is committed; a path that
    /// no longer exists is committed as a deletion.
    pub files: Vec<String>,
    /// The first line, e.g. from [`conventional_subject`].
    pub subject: String,
    /// The body: the list of changes with their levels. May be empty.
    pub body: String,
    /// Trailers in order, e.g. `("Autogate-Change", "3")`, `("Autogate-Risk", "low")`,
    /// `("Autogate-Approved-By", "policy")`, `("Autogate-Checkpoint", id)`.
    pub trailers: Vec<(String, String)>,
    /// Commit on this branch (a short name such as `autogate/20260101-document-parse-config`, see
    /// [`side_branch_name`]) instead of the current one. It is created from HEAD when it does not
    /// exist; when it exists the commit goes on top of its tip. HEAD does not move.
    pub side_branch: Option<String>,
    /// Add `Signed-off-by: <user.name> <user.email>`.
    pub sign_off: bool,
}

/// The commit that was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The commit's object id (hex).
    pub oid: String,
    /// The branch it is on (short name), or `HEAD` when HEAD is detached.
    pub branch: String,
}

/// Why a batch was not committed. In every case nothing was changed: no files, no index entries,
/// no refs.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// A hook exited non-zero (or could not be run).
    #[error("the {hook} hook rejected the commit ({status}){}", tail_suffix(.output))]
    HookRejected {
        /// `pre-commit`, `prepare-commit-msg` or `commit-msg`.
        hook: String,
        /// How it ended, e.g. `exit status 1`.
        status: String,
        /// The tail of its combined stdout and stderr.
        output: String,
    },
    /// The batch's files in the working tree are the same as in the base commit.
    #[error("nothing to commit: the batch's files are unchanged since the last commit")]
    NothingToCommit,
    /// The message was empty (after a hook rewrote it).
    #[error("the commit message is empty")]
    EmptyMessage,
    /// The side branch's name is not a valid branch name.
    #[error("invalid branch name {0:?}")]
    InvalidBranch(String),
    /// A merge, rebase, cherry-pick or similar is in progress in the repository.
    #[error("cannot commit on the current branch while a {0} is in progress")]
    Busy(String),
    /// The workspace is not in a git repository with a work tree.
    #[error("the workspace is not in a git repository with a work tree")]
    NoRepository,
    /// A path was refused, or git or the file system failed.
    #[error(transparent)]
    Vcs(#[from] VcsError),
}

fn tail_suffix(output: &str) -> String {
    if output.trim().is_empty() {
        String::new()
    } else {
        format!(":\n{}", output.trim_end())
    }
}

impl From<git2::Error> for CommitError {
    fn from(e: git2::Error) -> Self {
        CommitError::Vcs(VcsError::Git(e))
    }
}

/// A conventional-commit subject for an intent, at most 72 characters: `type(autogate): text`.
///
/// The type comes from the first word: `docs` (document, comment, explain…), `fix` (fix, repair,
/// correct…), `feat` (add, implement, support…), `refactor` (refactor, rename, extract, move,
/// simplify, tidy…), `style` (format, reformat, lint…), `test` (test, tests…), otherwise `chore`.
/// An intent that already is a conventional subject (`fix(parser): …`) is kept. `fallback` is used
/// when the intent is missing or blank.
pub fn conventional_subject(intent: Option<&str>, fallback: &str) -> String {
    let text = intent
        .map(one_line)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| one_line(fallback));
    let text = if text.is_empty() {
        "apply changes".to_owned()
    } else {
        text
    };
    if is_conventional(&text) {
        return truncate_chars(&text, SUBJECT_MAX);
    }
    let first = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    let kind = commit_type(&first);
    let description = lower_first(&text);
    truncate_chars(&format!("{kind}(autogate): {description}"), SUBJECT_MAX)
}

const TYPES: [&str; 11] = [
    "build", "chore", "ci", "docs", "feat", "fix", "perf", "refactor", "revert", "style", "test",
];

fn is_conventional(text: &str) -> bool {
    let Some((head, rest)) = text.split_once(": ") else {
        return false;
    };
    if rest.trim().is_empty() {
        return false;
    }
    let head = head.strip_suffix('!').unwrap_or(head);
    let kind = match head.split_once('(') {
        Some((kind, scope)) if scope.ends_with(')') && scope.len() > 1 => kind,
        Some(_) => return false,
        None => head,
    };
    TYPES.contains(&kind)
}

fn commit_type(word: &str) -> &'static str {
    const TABLE: &[(&str, &[&str])] = &[
        (
            "docs",
            &[
                "doc",
                "docs",
                "document",
                "documents",
                "documented",
                "documentation",
                "comment",
                "comments",
                "explain",
                "describe",
                "annotate",
                "readme",
            ],
        ),
        (
            "fix",
            &[
                "fix", "fixes", "fixed", "bugfix", "hotfix", "repair", "correct", "resolve",
                "patch", "handle", "prevent",
            ],
        ),
        (
            "feat",
            &[
                "feat",
                "feature",
                "add",
                "adds",
                "added",
                "implement",
                "implements",
                "introduce",
                "create",
                "support",
                "enable",
                "allow",
                "new",
            ],
        ),
        (
            "refactor",
            &[
                "refactor",
                "refactors",
                "rename",
                "renames",
                "extract",
                "move",
                "simplify",
                "restructure",
                "reorganize",
                "inline",
                "split",
                "merge",
                "tidy",
                "clean",
                "cleanup",
                "replace",
                "remove",
                "delete",
            ],
        ),
        (
            "style",
            &[
                "style",
                "format",
                "formats",
                "reformat",
                "fmt",
                "lint",
                "indent",
                "whitespace",
            ],
        ),
        ("test", &["test", "tests", "testing", "cover", "spec"]),
    ];
    TABLE
        .iter()
        .find(|(_, words)| words.contains(&word))
        .map_or("chore", |(kind, _)| kind)
}

/// The first line of `text`, with runs of whitespace collapsed.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lowercases the first character unless the first word looks like a name (`README`, `Foo::bar`).
fn lower_first(text: &str) -> String {
    let first = text.split_whitespace().next().unwrap_or("");
    let shouty = first.chars().skip(1).any(char::is_uppercase);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if !shouty => c.to_lowercase().chain(chars).collect(),
        _ => text.to_owned(),
    }
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    // Prefer a word boundary when it does not cost too much of the line.
    let cut = match cut.rfind(' ') {
        Some(i) if cut[..i].chars().count() > max * 2 / 3 => cut[..i].to_owned(),
        _ => cut,
    };
    format!("{}…", cut.trim_end())
}

/// The standard trailers of a batch, in order: one `Autogate-Change` per change id, then
/// `Autogate-Risk` (the batch's highest level), `Autogate-Approved-By` (`policy` or `person`) and
/// `Autogate-Checkpoint` (when there is one).
pub fn autogate_trailers(
    change_ids: &[String],
    risk: &str,
    approved_by: &str,
    checkpoint: Option<&str>,
) -> Vec<(String, String)> {
    let mut trailers: Vec<(String, String)> = change_ids
        .iter()
        .map(|id| ("Autogate-Change".to_owned(), id.clone()))
        .collect();
    trailers.push(("Autogate-Risk".to_owned(), risk.to_owned()));
    trailers.push(("Autogate-Approved-By".to_owned(), approved_by.to_owned()));
    if let Some(checkpoint) = checkpoint {
        trailers.push(("Autogate-Checkpoint".to_owned(), checkpoint.to_owned()));
    }
    trailers
}

/// `autogate/<yyyymmdd>-<slug>`: a side branch name for a batch made on `date` for `intent`.
pub fn side_branch_name(date: time::Date, intent: &str) -> String {
    let mut slug = String::new();
    for c in intent.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_matches('-');
    let slug = if slug.is_empty() { "changes" } else { slug };
    format!(
        "{SIDE_BRANCH_PREFIX}{:04}{:02}{:02}-{slug}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The full message: subject, blank line, body, blank line, trailers (and `Signed-off-by`).
fn compose_message(request: &CommitRequest, signer: Option<&str>) -> String {
    let mut message = one_line(&request.subject);
    message.push_str("\n\n");
    let body = request.body.trim();
    if !body.is_empty() {
        message.push_str(body);
        message.push_str("\n\n");
    }
    for (key, value) in &request.trailers {
        let key: String = key
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if key.is_empty() {
            continue;
        }
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(message, "{key}: {value}");
    }
    if let Some(signer) = signer {
        let line = format!("Signed-off-by: {signer}");
        if !message.lines().any(|l| l == line) {
            message.push_str(&line);
            message.push('\n');
        }
    }
    message
}

/// Removes a file on drop (the temporary index and message file).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
        let _ = fs::remove_file(self.0.with_extension("lock"));
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_path(git_dir: &Path, what: &str) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    git_dir.join(format!("autogate-{what}-{}-{n}", std::process::id()))
}

/// Commits the batch's files (and only them) with an attributed message. See the module docs.
pub fn commit_batch(root: &Path, request: &CommitRequest) -> Result<CommitOutcome, CommitError> {
    let root = fs::canonicalize(root).at(root)?;
    let repo = match git2::Repository::discover(&root) {
        Ok(repo) => repo,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Err(CommitError::NoRepository),
        Err(e) => return Err(e.into()),
    };
    let workdir = repo
        .workdir()
        .map(|w| fs::canonicalize(w).unwrap_or_else(|_| w.to_path_buf()))
        .ok_or(CommitError::NoRepository)?;
    let prefix = root
        .strip_prefix(&workdir)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();

    // Where the commit goes, and what it starts from.
    let head_branch = {
        let head = repo.find_reference("HEAD")?;
        head.symbolic_target()?.map(str::to_owned)
    };
    // A "side" branch that is the checked-out one is the current branch.
    let side_branch = request
        .side_branch
        .as_ref()
        .filter(|name| head_branch.as_deref() != Some(format!("refs/heads/{name}").as_str()));
    let (update_ref, parent, branch) = match side_branch {
        Some(name) => {
            let full = format!("refs/heads/{name}");
            if name.is_empty() || !git2::Reference::is_valid_name(&full) {
                return Err(CommitError::InvalidBranch(name.clone()));
            }
            let parent = match repo.find_reference(&full) {
                Ok(r) => Some(r.peel_to_commit()?),
                Err(e) if e.code() == git2::ErrorCode::NotFound => head_commit(&repo)?,
                Err(e) => return Err(e.into()),
            };
            (full, parent, name.clone())
        }
        None => {
            if repo.state() != git2::RepositoryState::Clean {
                return Err(CommitError::Busy(
                    format!("{:?}", repo.state()).to_lowercase(),
                ));
            }
            let branch = match &head_branch {
                Some(target) => target
                    .strip_prefix("refs/heads/")
                    .unwrap_or(target)
                    .to_owned(),
                None => "HEAD".to_owned(),
            };
            ("HEAD".to_owned(), head_commit(&repo)?, branch)
        }
    };

    // The batch's paths, checked, and as repository paths.
    let mut paths = Vec::with_capacity(request.files.len());
    for rel in &request.files {
        fsutil::resolve(&root, rel)?;
        fsutil::check_no_symlinked_parent(&root, rel)?;
        let repo_path = if prefix.is_empty() {
            rel.clone()
        } else {
            format!("{prefix}/{rel}")
        };
        if !paths
            .iter()
            .any(|(_, p): &(String, String)| *p == repo_path)
        {
            paths.push((rel.clone(), repo_path));
        }
    }

    // 1. The temporary index: the base tree plus the batch's paths.
    let git_dir = repo.path().to_path_buf();
    let index_file = TempFile(temp_path(&git_dir, "index"));
    let base_tree = parent.as_ref().map(git2::Commit::tree).transpose()?;
    let filemode = repo
        .config()
        .and_then(|c| c.get_bool("core.filemode"))
        .unwrap_or(true);
    {
        let mut index = git2::Index::open(&index_file.0)?;
        if let Some(tree) = &base_tree {
            index.read_tree(tree)?;
        }
        for (rel, repo_path) in &paths {
            match fsutil::read_state(&root, rel)? {
                None => {
                    // Absent in the base too is fine: nothing to remove.
                    let _ = index.remove_path(Path::new(repo_path));
                }
                Some(state) => {
                    // `blob_path` applies the repository's filters (autocrlf, clean filters),
                    // like `git add`.
                    let blob = repo.blob_path(&workdir.join(repo_path))?;
                    let old_mode = index.get_path(Path::new(repo_path), 0).map(|e| e.mode);
                    let mode = match (filemode, old_mode) {
                        (false, Some(m)) if m == 0o100644 || m == 0o100755 => m,
                        _ if state.executable => 0o100755,
                        _ => 0o100644,
                    };
                    index.add(&entry(repo_path, blob, mode, state.content.len()))?;
                }
            }
        }
        index.write()?;
    }

    // 2. Hooks, with the real semantics.
    let hooks = hooks_dir(&repo, &workdir);
    let signature = signature(&repo)?;
    let signer = request.sign_off.then(|| {
        format!(
            "{} <{}>",
            signature.name().unwrap_or(FALLBACK_NAME),
            signature.email().unwrap_or(FALLBACK_EMAIL)
        )
    });
    let hook_env = [
        ("GIT_INDEX_FILE", index_file.0.as_os_str()),
        ("GIT_EDITOR", ":".as_ref()),
    ];
    run_hook(&hooks, "pre-commit", &[], &workdir, &hook_env)?;
    let message_file = TempFile(temp_path(&git_dir, "COMMIT_EDITMSG"));
    let message = compose_message(request, signer.as_deref());
    fs::write(&message_file.0, &message).at(&message_file.0)?;
    let msg_arg = message_file.0.as_os_str();
    run_hook(
        &hooks,
        "prepare-commit-msg",
        &[msg_arg, "message".as_ref()],
        &workdir,
        &hook_env,
    )?;
    run_hook(&hooks, "commit-msg", &[msg_arg], &workdir, &hook_env)?;
    let raw = fs::read(&message_file.0).at(&message_file.0)?;
    let message = git2::message_prettify(String::from_utf8_lossy(&raw).into_owned(), None)?;
    if message.trim().is_empty() {
        return Err(CommitError::EmptyMessage);
    }

    // 3. The commit, from the index as the hooks left it.
    let tree_id = git2::Index::open(&index_file.0)?.write_tree_to(&repo)?;
    if base_tree.as_ref().map(git2::Tree::id) == Some(tree_id) {
        return Err(CommitError::NothingToCommit);
    }
    let tree = repo.find_tree(tree_id)?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    // On the current branch, the person's index is updated for the batch's paths first (a locked
    // index stops everything here), and put back if the commit then fails.
    let saved = if side_branch.is_none() {
        Some(sync_index(&repo, &tree, &paths)?)
    } else {
        None
    };
    let committed = repo.commit(
        Some(&update_ref),
        &signature,
        &signature,
        &message,
        &tree,
        &parents,
    );
    let oid = match committed {
        Ok(oid) => oid,
        Err(e) => {
            if let Some(saved) = saved
                && let Err(undo) = restore_index(&repo, saved)
            {
                tracing::warn!(error = %undo, "cannot put the index back after a failed commit");
            }
            return Err(e.into());
        }
    };
    let _ = run_hook(&hooks, "post-commit", &[], &workdir, &[]);
    Ok(CommitOutcome {
        oid: oid.to_string(),
        branch,
    })
}

fn head_commit(repo: &git2::Repository) -> Result<Option<git2::Commit<'_>>, CommitError> {
    match repo.head() {
        Ok(head) => Ok(Some(head.peel_to_commit()?)),
        Err(e)
            if matches!(
                e.code(),
                git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn entry(path: &str, id: git2::Oid, mode: u32, size: usize) -> git2::IndexEntry {
    let zero = git2::IndexTime::new(0, 0);
    git2::IndexEntry {
        ctime: zero,
        mtime: zero,
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: u32::try_from(size).unwrap_or(u32::MAX),
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// Author and committer: `user.name`/`user.email`, else autogate's own identity.
fn signature(repo: &git2::Repository) -> Result<git2::Signature<'static>, CommitError> {
    let config = repo.config()?;
    let get = |key: &str| {
        config
            .get_string(key)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let name = get("user.name").unwrap_or_else(|| FALLBACK_NAME.to_owned());
    let email = get("user.email").unwrap_or_else(|| FALLBACK_EMAIL.to_owned());
    Ok(git2::Signature::now(&name, &email)?)
}

/// `core.hooksPath` (relative paths are relative to the work tree, as in git), else the common
/// git folder's `hooks/`.
fn hooks_dir(repo: &git2::Repository, workdir: &Path) -> PathBuf {
    let configured = repo
        .config()
        .ok()
        .and_then(|c| c.get_path("core.hooksPath").ok());
    match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => workdir.join(p),
        None => repo.commondir().join("hooks"),
    }
}

/// Runs a hook if it exists and is executable (git skips the others). Non-zero exit: an error with
/// the tail of its output.
fn run_hook(
    hooks: &Path,
    name: &str,
    args: &[&std::ffi::OsStr],
    cwd: &Path,
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<(), CommitError> {
    let path = hooks.join(name);
    let Ok(meta) = fs::metadata(&path) else {
        return Ok(());
    };
    if !meta.is_file() || !is_executable(&meta) {
        tracing::debug!(
            hook = name,
            "hook is not an executable file; skipped, as git does"
        );
        return Ok(());
    }
    let command = |program: &Path, leading: Option<&Path>| {
        let mut cmd = Command::new(program);
        if let Some(script) = leading {
            cmd.arg(script);
        }
        cmd.args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd
    };
    let output = match command(&path, None).output() {
        Ok(output) => output,
        // A script without a `#!` line: git runs it with the shell.
        Err(e) if e.raw_os_error() == Some(8) => command(Path::new("/bin/sh"), Some(&path))
            .output()
            .map_err(|e| hook_failed(name, format!("cannot run: {e}"), ""))?,
        Err(e) => return Err(hook_failed(name, format!("cannot run: {e}"), "")),
    };
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let status = match output.status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_owned(),
    };
    Err(hook_failed(name, status, &text))
}

fn hook_failed(hook: &str, status: String, output: &str) -> CommitError {
    let start = output
        .char_indices()
        .rev()
        .nth(HOOK_OUTPUT_TAIL - 1)
        .map_or(0, |(i, _)| i);
    CommitError::HookRejected {
        hook: hook.to_owned(),
        status,
        output: output[start..].to_owned(),
    }
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    true
}

/// Entries of the person's index as they were before [`sync_index`], to put back.
type SavedEntries = Vec<(String, Option<git2::IndexEntry>)>;

/// Updates the person's index for the batch's paths only, to what is being committed, so that
/// `git status` does not show them as changed. Every other entry is left exactly as it was.
/// Returns the entries it replaced.
fn sync_index(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    paths: &[(String, String)],
) -> Result<SavedEntries, CommitError> {
    let mut index = repo.index()?;
    index.read(false)?;
    let mut saved = Vec::with_capacity(paths.len());
    for (_, repo_path) in paths {
        let path = Path::new(repo_path);
        saved.push((repo_path.clone(), index.get_path(path, 0)));
        match tree.get_path(path) {
            Ok(item) => {
                // `add_path` records the file's stat data (a clean `git status`); if the file
                // changed since the tree was written, the committed blob is staged instead.
                let added = index.add_path(path).is_ok()
                    && index.get_path(path, 0).map(|e| e.id) == Some(item.id());
                if !added {
                    let mode = u32::try_from(item.filemode()).unwrap_or(0o100644);
                    index.add(&entry(repo_path, item.id(), mode, 0))?;
                }
            }
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                let _ = index.remove_path(path);
            }
            Err(e) => return Err(e.into()),
        }
    }
    index.write()?;
    Ok(saved)
}

/// Puts back the entries [`sync_index`] replaced.
fn restore_index(repo: &git2::Repository, saved: SavedEntries) -> Result<(), CommitError> {
    let mut index = repo.index()?;
    index.read(false)?;
    for (repo_path, entry) in saved {
        match entry {
            Some(entry) => index.add(&entry)?,
            None => {
                let _ = index.remove_path(Path::new(&repo_path));
            }
        }
    }
    index.write()?;
    Ok(())
}
