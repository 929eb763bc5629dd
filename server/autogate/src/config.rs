//! Loading the policy file and finding the environment: the IO around the pure policy crate.

use std::path::Path;

use autogate_policy::{Environment, Head, Policy, PolicyError};

/// The policy file's name, at the workspace root.
pub const POLICY_FILE: &str = ".autogate.toml";

/// The result of reading `.autogate.toml`.
#[derive(Debug)]
pub enum Loaded {
    /// No file: the defaults (docs/policy.md).
    Missing,
    Valid(Box<Policy>),
    /// The file has errors (or cannot be read): each with file, line and column.
    Invalid {
        text: String,
        errors: Vec<PolicyError>,
    },
}

/// Reads and validates the policy file at `root`.
pub fn read_policy(root: &Path) -> Loaded {
    let path = root.join(POLICY_FILE);
    match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Loaded::Missing,
        Err(e) => Loaded::Invalid {
            text: String::new(),
            errors: vec![PolicyError {
                file: POLICY_FILE.to_owned(),
                line: 1,
                col: 1,
                message: format!("cannot read the policy file: {e}"),
                hint: "check its permissions".to_owned(),
            }],
        },
        Ok(bytes) => match String::from_utf8(bytes) {
            Err(_) => Loaded::Invalid {
                text: String::new(),
                errors: vec![PolicyError {
                    file: POLICY_FILE.to_owned(),
                    line: 1,
                    col: 1,
                    message: "the policy file is not UTF-8".to_owned(),
                    hint: "save it as UTF-8".to_owned(),
                }],
            },
            Ok(text) => match Policy::from_toml(&text, POLICY_FILE) {
                Ok(policy) => Loaded::Valid(Box::new(policy)),
                Err(errors) => Loaded::Invalid { text, errors },
            },
        },
    }
}

/// Where HEAD is: a branch, detached, or no git at all.
pub fn head(root: &Path) -> Head {
    let Ok(repo) = git2::Repository::discover(root) else {
        return Head::NoGit;
    };
    if repo.head_detached().unwrap_or(false) {
        return Head::Detached;
    }
    match repo.head() {
        Ok(head) => match head.shorthand() {
            Ok(name) => Head::Branch(name.to_owned()),
            Err(_) => Head::Detached,
        },
        // An unborn branch (a new repository): its name is in HEAD's symbolic target.
        Err(_) => repo
            .find_reference("HEAD")
            .ok()
            .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_owned))
            .map(|t| Head::Branch(t.trim_start_matches("refs/heads/").to_owned()))
            .unwrap_or(Head::NoGit),
    }
}

/// The environment of the workspace at `root` under `policy`, honouring `AUTOGATE_ENV`.
pub fn environment(policy: &Policy, root: &Path) -> Environment {
    let env_var = std::env::var("AUTOGATE_ENV").ok();
    environment_with(policy, root, env_var.as_deref())
}

/// The environment of the workspace at `root` under `policy`, with `env_var` for the value of
/// `AUTOGATE_ENV` (another process's: a hook's call served by the editor session).
pub fn environment_with(policy: &Policy, root: &Path, env_var: Option<&str>) -> Environment {
    policy.environment_for(&head(root), env_var)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(
            status.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }

    #[test]
    fn head_is_found_for_branches_unborn_branches_detached_and_no_git() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(head(dir.path()), Head::NoGit);
        git(dir.path(), &["init", "-q", "-b", "main"]);
        assert_eq!(head(dir.path()), Head::Branch("main".to_owned()));
        git(dir.path(), &["commit", "-q", "--allow-empty", "-m", "x"]);
        git(dir.path(), &["checkout", "-q", "-b", "feature/x"]);
        assert_eq!(head(dir.path()), Head::Branch("feature/x".to_owned()));
        let policy = Policy::default();
        assert_eq!(
            policy.environment_for(&head(dir.path()), None).name,
            "development"
        );
        git(dir.path(), &["checkout", "-q", "main"]);
        assert_eq!(
            policy.environment_for(&head(dir.path()), None).name,
            "production"
        );
        git(dir.path(), &["checkout", "-q", "--detach"]);
        assert_eq!(head(dir.path()), Head::Detached);
    }

    #[test]
    fn a_broken_policy_file_reports_line_and_column() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(matches!(read_policy(dir.path()), Loaded::Missing));
        std::fs::write(
            dir.path().join(POLICY_FILE),
            "mode = \"auto\"\nfrobnicate = 1\n",
        )
        .expect("write");
        match read_policy(dir.path()) {
            Loaded::Invalid { errors, .. } => {
                assert_eq!((errors[0].line, errors[0].col), (2, 1), "{}", errors[0]);
            }
            other => panic!("expected errors, got {other:?}"),
        }
    }
}
