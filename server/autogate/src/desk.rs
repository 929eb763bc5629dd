//! The approval desk: the editor session of a workspace, reached by doors over a local socket.
//!
//! The language server of a workspace listens on a Unix socket that only its user can reach
//! (`<git dir>/autogate/session.sock`, or `.autogate/session.sock` without git; under the
//! temporary folder's `autogate-<uid>/` when that path is too long for a socket). A door
//! process (a hook, the MCP server) that holds a change for the person connects, sends one
//! [`AskRequest`] line with the change's files, and waits for one [`AskAnswer`] line. The
//! server analyzes the files itself (it never takes a door's word for a level), shows what
//! needs the person as it shows any pending change, and answers with their decision.
//!
//! A hook may also hand its whole call to the session ([`HookEnvelope`]): the server runs the
//! same door as the hook would, in its warm process (policy read, workspace index and the
//! syntax trees of the files the agent works on kept between calls), and sends back what the
//! hook prints ([`HookAnswer`]). A hook whose call the session declines, or that finds no
//! session, runs the door itself.
//!
//! A hook also leaves the snapshot it takes before an agent's shell command with the session
//! ([`SnapshotEnvelope`]), out of that command's reach: the copy on disk, under the git
//! folder, is one the command can rewrite. The hook after the command takes the session's copy
//! back; a key is held once and taken once, so neither a second snapshot under the same key nor
//! a take by another process goes unnoticed.
//!
//! Nothing on this socket approves: a door can only ask. Approvals come from the editor side.

use std::path::{Path, PathBuf};
use std::time::Duration;

use autogate_analysis::FileChange;
use serde::{Deserialize, Serialize};

use crate::door::{ChangeOutcome, Desk, DeskAnswer, Source};

/// Longest socket path the platform takes (`sun_path` is 108 bytes on Linux, 104 on macOS).
const SOCKET_PATH_MAX: usize = 100;

/// How long a door waits for the person by default: under the 60 s after which Claude Code and
/// Gemini CLI give up on a hook.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(50);

/// One file of an ask, as the door read it and the agent would leave it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AskFile {
    pub path: String,
    #[serde(default)]
    pub old_path: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What a door sends: who asks, and the files of the change it holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AskRequest {
    pub agent: String,
    #[serde(default)]
    pub session: Option<String>,
    #[serde(default)]
    pub tool: Option<String>,
    pub files: Vec<AskFile>,
    /// How long the door waits; the server withdraws the change after it.
    pub wait_ms: u64,
}

/// The person's decision, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum AskAnswer {
    /// The person approved it in the editor.
    Approved,
    /// The session's own gate allows it without asking anyone: `rule` decided (a standing
    /// approval's `standing.<id>`, with `standing` naming it).
    Allowed {
        rule: String,
        #[serde(default)]
        standing: Option<String>,
    },
    Rejected {
        reasons: Vec<String>,
    },
    /// The server's own analysis denies it.
    Denied {
        reasons: Vec<String>,
    },
    TimedOut,
    /// The request could not be read.
    Invalid {
        message: String,
    },
}

/// A hook's call, handed to the session to run: the agent's payload as the hook read it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HookCall {
    /// The agent, as `autogate hook` names it (`claude-code`).
    pub agent: String,
    /// `pre` or `post`, when the hook was told on its command line.
    #[serde(default)]
    pub event: Option<String>,
    /// The hook's stdin.
    pub input: String,
    /// The hook process's working folder (the agent's payload may name its own).
    pub cwd: PathBuf,
    /// The hook's `AUTOGATE_ENV`.
    #[serde(default)]
    pub env: Option<String>,
    /// How long the hook lets the person take.
    pub wait_ms: u64,
}

/// The line a hook sends to hand its call over.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HookEnvelope {
    pub hook: HookCall,
}

/// The session's answer to a [`HookEnvelope`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum HookAnswer {
    /// What the hook prints on stdout and stderr, and its exit status.
    Replied {
        stdout: String,
        stderr: String,
        code: u8,
    },
    /// The session does not take this call (another workspace, a call it leaves to the hook,
    /// or busy): the hook runs the door itself.
    Declined { message: String },
}

/// What a hook asks the session to do with the snapshot of a shell command.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum SnapshotCall {
    /// Hold this snapshot under `key` until it is taken. With `once` (the key is the agent's
    /// own id of the tool call), a key is held once: a second keep under it is refused, held
    /// or taken. Without it (a key made from the call's content, which a repeated command
    /// reuses), a keep replaces what the key held.
    Keep {
        key: String,
        snapshot: serde_json::Value,
        #[serde(default)]
        once: bool,
    },
    /// Give back (and forget) the snapshot held under `key`.
    Take { key: String },
}

/// The line a hook sends about a shell command's snapshot.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotEnvelope {
    pub snapshot: SnapshotCall,
}

/// The session's answer to a [`SnapshotEnvelope`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum SnapshotAnswer {
    /// Held.
    Kept,
    /// Not held: the key is held or was taken already, or the session holds too many.
    Refused { message: String },
    /// The snapshot held under the key, now forgotten.
    Taken { snapshot: serde_json::Value },
    /// The key was held and someone took it already.
    AlreadyTaken,
    /// The session never held this key (it started after the snapshot was taken).
    Unknown,
}

/// What became of a hook's call handed to the session.
#[derive(Debug)]
pub enum Forwarded {
    Replied(crate::door::agents::Reply),
    /// No session, or it declined: the hook runs the door itself.
    NotTaken,
    /// The session took the call and did not answer in time.
    TimedOut,
}

/// The socket of the workspace at `root` (canonical), for the server and for doors alike.
pub fn socket_path(root: &Path) -> anyhow::Result<PathBuf> {
    let lock = crate::safety::WriteLock::path(root)?;
    let beside = lock
        .parent()
        .map(|dir| dir.join("session.sock"))
        .ok_or_else(|| anyhow::anyhow!("the audit trail has no folder"))?;
    if beside.as_os_str().len() <= SOCKET_PATH_MAX {
        return Ok(beside);
    }
    // Too long for a socket: a private folder in the temporary directory, named by the root.
    let digest = crate::door::sha256_hex(root.to_string_lossy().as_bytes());
    Ok(private_dir()?.join(format!("{}.sock", &digest[..16])))
}

/// `$TMPDIR/autogate-<uid>/`, created owner-only; refused if someone else owns it.
#[cfg(unix)]
fn private_dir() -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let uid = rustix::process::geteuid().as_raw();
    let dir = std::env::temp_dir().join(format!("autogate-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        anyhow::bail!(
            "{} is not a private folder of this user; remove it",
            dir.display()
        );
    }
    Ok(dir)
}

#[cfg(not(unix))]
fn private_dir() -> anyhow::Result<PathBuf> {
    anyhow::bail!("the session socket needs a Unix system")
}

/// A door's way to the editor session: asks go to the person there, if a session runs.
pub struct SessionDesk {
    socket: Option<PathBuf>,
    wait: Duration,
}

impl SessionDesk {
    /// The desk of the workspace at `root`; `wait` bounds each ask.
    pub fn new(root: &Path, wait: Duration) -> Self {
        Self {
            socket: socket_path(root).ok(),
            wait,
        }
    }

    /// The desk with the wait from `AUTOGATE_DESK_WAIT` (seconds), else [`DEFAULT_WAIT`].
    pub fn from_env(root: &Path) -> Self {
        let wait = std::env::var("AUTOGATE_DESK_WAIT")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(DEFAULT_WAIT, Duration::from_secs_f64);
        Self::new(root, wait)
    }

    /// How long an ask may take.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// Sends one line and reads one answer line, within `limit` after sending. `None`: no
    /// session listens (or a stale socket file); `Some(Err(()))`: no answer in time;
    /// `Some(Ok(""))`: the session hung up.
    #[cfg(unix)]
    async fn exchange_line(&self, line: &str, limit: Duration) -> Option<Result<String, ()>> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let socket = self.socket.as_ref()?;
        let mut stream = tokio::net::UnixStream::connect(socket).await.ok()?;
        stream.write_all(line.as_bytes()).await.ok()?;
        stream.write_all(b"\n").await.ok()?;
        let mut reader = BufReader::new(stream);
        let mut answer = String::new();
        match tokio::time::timeout(limit, reader.read_line(&mut answer)).await {
            Ok(Ok(_)) => Some(Ok(answer)),
            Ok(Err(_)) => Some(Ok(String::new())),
            Err(_) => Some(Err(())),
        }
    }

    #[cfg(not(unix))]
    async fn exchange_line(&self, _line: &str, _limit: Duration) -> Option<Result<String, ()>> {
        None
    }

    async fn exchange(&self, request: &AskRequest) -> DeskAnswer {
        let Ok(line) = serde_json::to_string(request) else {
            return DeskAnswer::Unavailable;
        };
        // A little longer than the server's own limit: it answers `timed_out` itself.
        let limit = self.wait + Duration::from_secs(2);
        match self.exchange_line(&line, limit).await {
            None => DeskAnswer::Unavailable,
            Some(Err(())) => DeskAnswer::TimedOut,
            Some(Ok(answer)) => match serde_json::from_str::<AskAnswer>(answer.trim()) {
                Ok(answer) => desk_answer(answer),
                Err(_) => DeskAnswer::Unavailable,
            },
        }
    }

    /// Hands a hook's whole call to the session. Nothing has happened when the session does
    /// not take it; once it has taken it, a hang-up without an answer is not taken either (the
    /// hook then runs the door itself, which refuses what it cannot settle).
    pub async fn forward_hook(&self, call: HookCall) -> Forwarded {
        let Ok(line) = serde_json::to_string(&HookEnvelope { hook: call }) else {
            return Forwarded::NotTaken;
        };
        // The person's time, and time to write the checkpoint and the records.
        let limit = self.wait + Duration::from_secs(10);
        match self.exchange_line(&line, limit).await {
            None => Forwarded::NotTaken,
            Some(Err(())) => Forwarded::TimedOut,
            Some(Ok(answer)) => match serde_json::from_str::<HookAnswer>(answer.trim()) {
                Ok(HookAnswer::Replied {
                    stdout,
                    stderr,
                    code,
                }) => Forwarded::Replied(crate::door::agents::Reply {
                    stdout,
                    stderr,
                    code,
                }),
                Ok(HookAnswer::Declined { message }) => {
                    tracing::debug!("the editor session left the call to the hook: {message}");
                    Forwarded::NotTaken
                }
                Err(_) => Forwarded::NotTaken,
            },
        }
    }

    /// Sends a snapshot call to the session. `None`: no session listens. An answer that does
    /// not read, or none within a few seconds, is a refusal.
    pub async fn snapshot(&self, call: SnapshotCall) -> Option<SnapshotAnswer> {
        let line = serde_json::to_string(&SnapshotEnvelope { snapshot: call }).ok()?;
        let refused = |message: &str| SnapshotAnswer::Refused {
            message: message.to_owned(),
        };
        Some(
            match self.exchange_line(&line, Duration::from_secs(10)).await? {
                Err(()) => refused("the editor session did not answer in time"),
                Ok(answer) => serde_json::from_str(answer.trim())
                    .unwrap_or_else(|_| refused("the editor session's answer does not read")),
            },
        )
    }
}

/// A door's view of the session's answer to an ask.
pub fn desk_answer(answer: AskAnswer) -> DeskAnswer {
    match answer {
        AskAnswer::Approved => DeskAnswer::Approved,
        AskAnswer::Allowed { rule, standing } => DeskAnswer::Allowed { rule, standing },
        AskAnswer::Rejected { .. } | AskAnswer::Denied { .. } => DeskAnswer::Rejected,
        AskAnswer::TimedOut => DeskAnswer::TimedOut,
        AskAnswer::Invalid { message } => {
            tracing::warn!("the editor session refused the ask: {message}");
            DeskAnswer::Unavailable
        }
    }
}

/// The ask for `files` from `source`, waited for up to `wait`.
pub fn ask_request(files: &[FileChange], source: &Source, wait: Duration) -> AskRequest {
    AskRequest {
        agent: source.agent.clone(),
        session: source.session.clone(),
        tool: source.tool.clone(),
        files: files
            .iter()
            .map(|f| AskFile {
                path: f.path.clone(),
                old_path: f.old_path.clone(),
                before: f.before.clone(),
                after: f.after.clone(),
            })
            .collect(),
        wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
    }
}

impl Desk for SessionDesk {
    async fn ask(
        &self,
        _changes: &[ChangeOutcome],
        files: &[FileChange],
        source: &Source,
    ) -> DeskAnswer {
        self.exchange(&ask_request(files, source, self.wait)).await
    }
}
