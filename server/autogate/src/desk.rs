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
    Approved,
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

    #[cfg(unix)]
    async fn exchange(&self, request: &AskRequest) -> DeskAnswer {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let Some(socket) = &self.socket else {
            return DeskAnswer::Unavailable;
        };
        // No session, or a stale socket file: terminal approvals.
        let Ok(mut stream) = tokio::net::UnixStream::connect(socket).await else {
            return DeskAnswer::Unavailable;
        };
        let Ok(mut line) = serde_json::to_string(request) else {
            return DeskAnswer::Unavailable;
        };
        line.push('\n');
        if stream.write_all(line.as_bytes()).await.is_err() {
            return DeskAnswer::Unavailable;
        }
        let mut reader = BufReader::new(stream);
        let mut answer = String::new();
        // A little longer than the server's own limit: it answers `timed_out` itself.
        let limit = self.wait + Duration::from_secs(2);
        match tokio::time::timeout(limit, reader.read_line(&mut answer)).await {
            Ok(Ok(n)) if n > 0 => match serde_json::from_str::<AskAnswer>(answer.trim()) {
                Ok(AskAnswer::Approved) => DeskAnswer::Approved,
                Ok(AskAnswer::Rejected { .. } | AskAnswer::Denied { .. }) => DeskAnswer::Rejected,
                Ok(AskAnswer::TimedOut) => DeskAnswer::TimedOut,
                Ok(AskAnswer::Invalid { message }) => {
                    tracing::warn!("the editor session refused the ask: {message}");
                    DeskAnswer::Unavailable
                }
                Err(_) => DeskAnswer::Unavailable,
            },
            Ok(_) => DeskAnswer::Unavailable,
            Err(_) => DeskAnswer::TimedOut,
        }
    }

    #[cfg(not(unix))]
    async fn exchange(&self, _request: &AskRequest) -> DeskAnswer {
        DeskAnswer::Unavailable
    }
}

impl Desk for SessionDesk {
    async fn ask(
        &self,
        _changes: &[ChangeOutcome],
        files: &[FileChange],
        source: &Source,
    ) -> DeskAnswer {
        let request = AskRequest {
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
            wait_ms: u64::try_from(self.wait.as_millis()).unwrap_or(u64::MAX),
        };
        self.exchange(&request).await
    }
}
