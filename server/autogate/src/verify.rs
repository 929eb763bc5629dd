//! Verification commands (`[verify]` in the policy): run after a batch, with a time limit and
//! cancellation; a failure means the batch is rolled back. Knows nothing of LSP.
//!
//! Each command runs as `sh -c <run>` in the workspace root, in its own process group, so a
//! time limit or a cancel stops the whole tree (a `cargo` and its `rustc`s), not only the shell.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use autogate_policy::VerifyCommand;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

/// Lines of output kept for the person and the audit trail.
const TAIL_LINES: usize = 40;
/// Bytes of output kept while a command runs (the tail is cut from these).
const KEEP_BYTES: usize = 64 * 1024;

/// How one command ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommandResult {
    pub command: String,
    /// The exit code; `None` when it was killed (time limit, cancel) or could not start.
    pub exit: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
    pub ms: u64,
    /// The last lines of stdout and stderr, interleaved as they were read.
    pub tail: String,
}

impl CommandResult {
    pub fn ok(&self) -> bool {
        self.exit == Some(0)
    }

    /// One sentence for a person.
    pub fn describe(&self) -> String {
        if self.cancelled {
            format!("`{}` was cancelled", self.command)
        } else if self.timed_out {
            format!("`{}` did not finish within its time limit", self.command)
        } else {
            match self.exit {
                Some(0) => format!("`{}` passed", self.command),
                Some(code) => format!("`{}` failed (exit {code})", self.command),
                None => format!("`{}` could not run", self.command),
            }
        }
    }
}

/// Runs the commands in order; stops at the first that does not pass.
pub async fn run_all(
    root: &Path,
    commands: &[VerifyCommand],
    cancel: &CancellationToken,
    mut on_start: impl FnMut(&str),
) -> Vec<CommandResult> {
    let mut results = Vec::new();
    for command in commands {
        on_start(&command.run);
        let result = run_one(root, command, cancel).await;
        let ok = result.ok();
        results.push(result);
        if !ok {
            break;
        }
    }
    results
}

async fn run_one(
    root: &Path,
    command: &VerifyCommand,
    cancel: &CancellationToken,
) -> CommandResult {
    let start = Instant::now();
    let mut result = CommandResult {
        command: command.run.clone(),
        exit: None,
        timed_out: false,
        cancelled: false,
        ms: 0,
        tail: String::new(),
    };
    let mut child = match tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&command.run)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            result.tail = format!("cannot start `sh -c {}`: {e}", command.run);
            return result;
        }
    };
    let pid = child.id();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn AsyncRead + Unpin + Send>),
        child.stderr.take().map(|s| Box::new(s) as _),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut stream = stream;
            let mut buf = vec![0; 8192];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut output: Vec<u8> = Vec::new();
    let collect = async {
        while let Some(chunk) = rx.recv().await {
            output.extend_from_slice(&chunk);
            if output.len() > 2 * KEEP_BYTES {
                output.drain(..output.len() - KEEP_BYTES);
            }
        }
    };
    let limit = Duration::from_secs(command.timeout_secs.max(1));
    let status = tokio::select! {
        status = async { collect.await; child.wait().await } => Some(status),
        () = tokio::time::sleep(limit) => { result.timed_out = true; None }
        () = cancel.cancelled() => { result.cancelled = true; None }
    };
    match status {
        Some(Ok(status)) => result.exit = status.code(),
        Some(Err(e)) => result.tail = format!("waiting for `{}` failed: {e}", command.run),
        None => {
            if let Some(pid) = pid {
                kill_group(pid);
            }
            let _ = child.kill().await;
        }
    }
    result.ms = start.elapsed().as_millis() as u64;
    if result.tail.is_empty() {
        result.tail = tail(&String::from_utf8_lossy(&output));
    }
    result
}

/// Kills the command's whole process group, without unsafe code: `kill -KILL -PGID`.
fn kill_group(pgid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    let mut out = lines[from..].join("\n");
    if from > 0 {
        out = format!("… ({from} earlier lines)\n{out}");
    }
    autogate_llm::redact_secrets(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(run: &str, timeout_secs: u64) -> VerifyCommand {
        VerifyCommand {
            run: run.to_owned(),
            timeout_secs,
        }
    }

    #[tokio::test]
    async fn commands_pass_fail_time_out_and_stop_at_the_first_failure() {
        let dir = tempfile::tempdir().expect("temp dir");
        let never = CancellationToken::new();
        let results = run_all(
            dir.path(),
            &[
                cmd("echo ok", 5),
                cmd("echo broken >&2; exit 3", 5),
                cmd("echo never", 5),
            ],
            &never,
            |_| {},
        )
        .await;
        assert_eq!(results.len(), 2);
        assert!(results[0].ok() && results[0].tail == "ok");
        assert_eq!(results[1].exit, Some(3));
        assert_eq!(results[1].tail, "broken");
        assert_eq!(
            results[1].describe(),
            "`echo broken >&2; exit 3` failed (exit 3)"
        );

        let started = Instant::now();
        let results = run_all(
            dir.path(),
            &[cmd("sleep 30 & sleep 30; echo late", 1)],
            &never,
            |_| {},
        )
        .await;
        assert!(results[0].timed_out && !results[0].ok());
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the whole group is killed"
        );
    }

    #[tokio::test]
    async fn a_cancel_stops_the_command() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            trigger.cancel();
        });
        let results = run_all(dir.path(), &[cmd("sleep 30", 60)], &cancel, |_| {}).await;
        assert!(results[0].cancelled);
        assert_eq!(results[0].describe(), "`sleep 30` was cancelled");
    }

    #[test]
    fn the_tail_keeps_the_last_lines_and_redacts_secrets() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let t = tail(&text);
        assert!(t.starts_with("… (60 earlier lines)\nline 60"));
        assert!(tail("token: sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345").contains("REDACTED"));
    }
}
