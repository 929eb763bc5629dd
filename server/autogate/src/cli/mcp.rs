//! `autogate mcp`: the MCP door, served over stdio to the agent that started it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent's name, as the audit trail and the editor show it (default `mcp`).
    #[arg(long)]
    pub agent: Option<String>,
}

/// Serves until the client closes stdin. stdout is the protocol: logs go to stderr.
pub async fn run(root: &Path, args: &Args) -> Result<ExitCode> {
    crate::mcp::serve(root, args.agent.clone()).await?;
    Ok(ExitCode::SUCCESS)
}
