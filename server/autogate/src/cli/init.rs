//! `autogate init <agent>`: merges autogate's hooks into the agent's configuration.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::door::agents::Agent;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub agent: Agent,
}

pub fn run(_root: &Path, _args: &Args) -> Result<ExitCode> {
    anyhow::bail!("not yet")
}
