//! The command line: `autogate [lsp]`, and the other subcommands of PRODUCT.md §4.2.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "autogate",
    version,
    about = "Auto mode for any editor: a language server that gates AI edits by structural risk."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the language server over stdio (the default).
    Lsp,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTOGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Lsp) {
        Command::Lsp => {
            runtime.block_on(crate::lsp::run_stdio());
            ExitCode::SUCCESS
        }
    }
}
