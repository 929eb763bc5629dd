//! `autogate policy check` and `autogate policy explain [--path FILE]`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use autogate_policy::Policy;
use clap::Subcommand;

use super::out;
use crate::config::{self, Loaded, POLICY_FILE};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate `.autogate.toml`: errors with file:line:col, exit 1 on any.
    Check,
    /// Print the effective policy and the environment, and why.
    Explain {
        /// Also list the rules that match this workspace-relative path.
        #[arg(long, value_name = "FILE")]
        path: Option<String>,
    },
}

pub fn run(root: &Path, command: &PolicyCommand) -> Result<ExitCode> {
    let loaded = config::read_policy(root);
    match command {
        PolicyCommand::Check => Ok(match loaded {
            Loaded::Missing => {
                out(format!(
                    "no {POLICY_FILE} in {}: the defaults apply",
                    root.display()
                ));
                ExitCode::SUCCESS
            }
            Loaded::Valid(_) => {
                out(format!("{POLICY_FILE}: ok"));
                ExitCode::SUCCESS
            }
            Loaded::Invalid { errors, .. } => {
                for error in &errors {
                    out(error.to_string());
                }
                out(format!(
                    "{} error(s); until they are fixed, the server keeps the last valid policy, or asks for every change",
                    errors.len()
                ));
                ExitCode::from(1)
            }
        }),
        PolicyCommand::Explain { path } => {
            // A broken file is an error (exit 1), after the policy that is in force meanwhile.
            let broken = matches!(loaded, Loaded::Invalid { .. });
            let policy = match loaded {
                Loaded::Missing => Policy::default(),
                Loaded::Valid(policy) => *policy,
                Loaded::Invalid { errors, .. } => {
                    for error in &errors {
                        out(error.to_string());
                    }
                    out("the file has errors: showing the fail-closed policy (every change asks)");
                    Policy::fail_closed()
                }
            };
            let environment = config::environment(&policy, root);
            out(policy.explain(&environment));
            if let Some(path) = path {
                let rules = policy.rules_matching(path);
                if rules.is_empty() {
                    out(format!("no rule matches {path}"));
                } else {
                    out(format!("rules matching {path}:"));
                    for rule in rules {
                        out(format!("  {rule}"));
                    }
                }
                if let Some(pattern) = policy.protected().matching(path) {
                    out(format!("{path} is protected (`{pattern}`): high at least"));
                }
            }
            Ok(if broken {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
