//! The command line: `autogate [lsp]`, `assess`, `log`, `checkpoints`, `rollback`,
//! `policy check|explain|replay|suggest`, `approvals`, `demo`, and the agent doors: `hook`,
//! `mcp`, `approve`, `reject`, `init`, `doctor`.

mod approvals;
mod approve;
mod assess;
mod demo;
mod doctor;
mod history;
mod hook;
mod init;
mod init_mcp;
mod json;
mod logging;
mod mcp;
mod policy;
pub mod sarif;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use autogate_analysis::Level;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "autogate",
    version,
    about = "Auto mode for any editor: a language server that gates AI edits by structural risk.",
    long_about = "Auto mode for any editor: a language server that gates AI edits by structural risk.\n\n\
        Without a subcommand, autogate serves the Language Server Protocol over stdio."
)]
struct Cli {
    /// The workspace root (default: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the language server over stdio (the default).
    Lsp,
    /// Assess the working tree against a revision with the server's analyzer and policy.
    Assess(assess::Args),
    /// Show the audit trail.
    Log(history::LogArgs),
    /// List the checkpoints.
    Checkpoints,
    /// Restore a checkpoint (default: the latest).
    Rollback(history::RollbackArgs),
    /// Validate or explain the policy file.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Run a scripted session through the real server on a temporary workspace.
    Demo(demo::Args),
    /// Gate a coding agent's tool call (run by the agent's hook, payload on stdin).
    Hook(hook::Args),
    /// Approve a change an agent's hook held (without ID: list them). At a terminal only.
    Approve(approve::Args),
    /// Reject a change an agent's hook held. At a terminal only.
    Reject(approve::Args),
    /// Write (merge) a coding agent's hook configuration for this workspace.
    Init(init::Args),
    /// Check the binary, the agents' hook configuration and the settings that skip hooks.
    Doctor,
    /// Serve the gate to a coding agent as a stdio MCP server (tools propose_edit, write_file,
    /// apply_patch, pending, explain, wait, rollback, permission_prompt).
    Mcp(mcp::Args),
    /// List or revoke the standing approvals of this clone.
    Approvals {
        #[command(subcommand)]
        command: Option<approvals::ApprovalsCommand>,
    },
}

/// A level on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LevelArg {
    Low,
    Medium,
    High,
    Critical,
}

impl From<LevelArg> for Level {
    fn from(level: LevelArg) -> Self {
        match level {
            LevelArg::Low => Level::Low,
            LevelArg::Medium => Level::Medium,
            LevelArg::High => Level::High,
            LevelArg::Critical => Level::Critical,
        }
    }
}

/// Writes a line to stdout (stdout is ours outside `lsp`); a closed pipe is not an error.
pub fn out(line: impl AsRef<str>) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", line.as_ref());
}

/// Writes a line to stderr.
pub fn err(line: impl AsRef<str>) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", line.as_ref());
}

/// Logs: warnings and errors on stderr by default (editors show everything a server writes
/// there as errors), `AUTOGATE_LOG` for more (an `EnvFilter`, e.g. `autogate=debug`), and
/// `AUTOGATE_LOG_FILE` for a file that gets `AUTOGATE_LOG` or, without it, `info` and up.
fn init_tracing() {
    use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};
    let asked = std::env::var("AUTOGATE_LOG").ok();
    let filter = |default: &str| {
        asked
            .as_deref()
            .and_then(|a| EnvFilter::try_new(a).ok())
            .unwrap_or_else(|| EnvFilter::new(default))
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(logging::RedactingStderr)
        .with_ansi(false)
        .with_filter(filter("warn"));
    let file = std::env::var_os("AUTOGATE_LOG_FILE").and_then(|path| {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(f) => Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(logging::RedactingFile(std::sync::Arc::new(
                        std::sync::Mutex::new(f),
                    )))
                    .with_ansi(false)
                    .with_filter(filter("info")),
            ),
            Err(e) => {
                err(format!(
                    "autogate: cannot open the log file {}: {e}",
                    std::path::Path::new(&path).display()
                ));
                None
            }
        }
    });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    logging::route_panics_through_logs();
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let root = match cli.root.clone().map_or_else(std::env::current_dir, Ok) {
        Ok(root) => root,
        Err(e) => {
            err(format!("autogate: cannot read the current directory: {e}"));
            return ExitCode::from(2);
        }
    };
    // A hook is a process per tool call on the agent's critical path: one thread starts
    // faster than a pool sized by the machine (blocking work still gets its own threads).
    let mut builder = if matches!(cli.command, Some(Command::Hook(_))) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            err(format!("autogate: cannot start the async runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Lsp) {
        Command::Lsp => {
            let served = runtime.block_on(crate::lsp::run_stdio());
            // tokio reads stdin on a blocking thread; a client may keep the pipe open after
            // `exit`, and waiting for that read would keep the process alive.
            runtime.shutdown_timeout(std::time::Duration::from_millis(100));
            // A stream beyond repair was logged by the guard; say so with the exit status.
            return if served.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            };
        }
        Command::Assess(args) => assess::run(&root, &args),
        Command::Log(args) => history::log(&root, &args),
        Command::Checkpoints => history::checkpoints(&root),
        Command::Rollback(args) => history::rollback(&root, &args),
        Command::Policy(command) => policy::run(&root, &command),
        Command::Demo(args) => runtime.block_on(demo::run(&args)),
        Command::Hook(args) => return runtime.block_on(hook::run(cli.root.as_deref(), &args)),
        Command::Approve(args) => approve::run(&root, &args, true),
        Command::Reject(args) => approve::run(&root, &args, false),
        Command::Init(args) => init::run(&root, &args),
        Command::Doctor => runtime.block_on(doctor::run(&root)),
        Command::Mcp(args) => runtime.block_on(mcp::run(&root, &args)),
        Command::Approvals { command } => approvals::run(&root, command.as_ref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            err(format!("autogate: {e:#}"));
            ExitCode::from(2)
        }
    }
}
