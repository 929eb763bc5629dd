//! `autogate doctor`: checks the binary, each agent's hook configuration and trust settings.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

pub async fn run(_root: &Path) -> Result<ExitCode> {
    anyhow::bail!("not yet")
}
