//! `autogate assess`: the working tree against a revision, through the server's own gate.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use autogate_analysis::{FileChange, Level, Proposal};
use autogate_policy::Policy;
use clap::ValueEnum;
use serde_json::json;

use super::{LevelArg, out};
use crate::config::{self, Loaded};
use crate::gate::{Gate, Origin};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The revision to compare the working tree with.
    #[arg(long, default_value = "HEAD", value_name = "REV")]
    base: String,
    /// Print JSON (same as `--format json`).
    #[arg(long)]
    json: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit 1 if any change reaches this level.
    #[arg(long, value_enum, value_name = "LEVEL")]
    fail_on: Option<LevelArg>,
    /// Exit 1 if the vulnerabilities of a dependency version could not be checked (the
    /// policy's `[advisories] required = true` does the same).
    #[arg(long)]
    fail_on_unchecked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// SARIF 2.1.0 (GitHub code scanning and other SARIF viewers).
    Sarif,
}

/// The proposal "base → working tree": untracked but not ignored files included.
pub fn working_tree_proposal(root: &Path, base: &str) -> Result<Proposal> {
    // libgit2's own text ("class=Repository (6); code=NotFound (-3)") helps nobody here.
    let repo = git2::Repository::discover(root).map_err(|e| {
        if e.code() == git2::ErrorCode::NotFound {
            anyhow!(
                "{} is not in a git repository; assess compares the working tree with a revision (run `git init` and commit, or run assess inside a repository)",
                root.display()
            )
        } else {
            anyhow!("cannot open the git repository at {}: {}", root.display(), e.message())
        }
    })?;
    let workdir = repo
        .workdir()
        .context("the repository has no working tree (bare)")?
        .to_path_buf();
    let tree = repo
        .revparse_single(base)
        .and_then(|o| o.peel_to_tree())
        .map_err(|e| {
            anyhow!(
                "`{base}` is not a revision of this repository ({}); give an existing commit, branch or tag with --base",
                e.message()
            )
        })?;
    let mut options = git2::DiffOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .show_untracked_content(true);
    let mut diff = repo
        .diff_tree_to_workdir(Some(&tree), Some(&mut options))
        .context("cannot diff the working tree")?;
    let mut find = git2::DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find))
        .context("cannot detect renames")?;
    let blob_text = |id: git2::Oid| -> Option<String> {
        repo.find_blob(id)
            .ok()
            .map(|b| String::from_utf8_lossy(b.content()).into_owned())
    };
    let mut files = Vec::new();
    for delta in diff.deltas() {
        let path_of =
            |f: git2::DiffFile<'_>| f.path().map(|p| p.to_string_lossy().replace('\\', "/"));
        let old = path_of(delta.old_file());
        let new = path_of(delta.new_file());
        let read_work = |p: &str| {
            std::fs::read(workdir.join(p))
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let change = match delta.status() {
            git2::Delta::Added | git2::Delta::Untracked => {
                let Some(path) = new else { continue };
                FileChange {
                    after: read_work(&path),
                    path,
                    old_path: None,
                    before: None,
                }
            }
            git2::Delta::Deleted => {
                let Some(path) = old else { continue };
                FileChange {
                    before: blob_text(delta.old_file().id()),
                    path,
                    old_path: None,
                    after: None,
                }
            }
            git2::Delta::Renamed => {
                let (Some(old), Some(new)) = (old, new) else {
                    continue;
                };
                FileChange {
                    before: blob_text(delta.old_file().id()),
                    after: read_work(&new),
                    path: new,
                    old_path: Some(old),
                }
            }
            git2::Delta::Modified | git2::Delta::Typechange => {
                let Some(path) = new else { continue };
                FileChange {
                    before: blob_text(delta.old_file().id()),
                    after: read_work(&path),
                    path,
                    old_path: None,
                }
            }
            _ => continue,
        };
        if change.before != change.after || change.old_path.is_some() {
            files.push(change);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Proposal { files })
}

pub fn run(root: &Path, args: &Args) -> Result<ExitCode> {
    let policy = match config::read_policy(root) {
        Loaded::Missing => Policy::default(),
        Loaded::Valid(policy) => *policy,
        Loaded::Invalid { errors, .. } => {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            bail!("the policy file has errors:\n{}", list.join("\n"));
        }
    };
    let proposal = working_tree_proposal(root, &args.base)?;
    let environment = config::environment(&policy, root);
    let queries = crate::deps::queries(&proposal);
    let required = policy.advisories().required;
    let memo = if queries.is_empty() {
        crate::deps::Memo::new()
    } else {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime for the advisory lookup")?;
        runtime.block_on(crate::deps::lookup(policy.advisories(), root, &queries))
    };
    let mut gate = Gate::new(policy, environment.clone());
    // The blast radius needs the rest of the workspace, as in the server (warm from the last
    // run's index when there is one).
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let files = crate::workspace_index::source_files(root);
    let store = crate::workspace_index::store_path(root);
    gate.index = crate::workspace_index::build_warm(&files, Some(&store), threads).0;
    gate.advisories = memo;
    let origin = Origin {
        intent: None,
        source: Some("assess".to_owned()),
    };
    let ids = gate.admit(&proposal, &BTreeMap::new(), &origin);
    let changes: Vec<_> = ids.iter().filter_map(|id| gate.get(id)).collect();
    let format = if args.json { Format::Json } else { args.format };
    match format {
        Format::Json => {
            let json = json!({
                "environment": environment,
                "changes": changes.iter().map(|c| json!({
                    "id": c.id,
                    "files": c.unit.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
                    "level": c.report.level,
                    "decision": c.verdict.decision,
                    "reasons": c.summary().reasons,
                    "symbols": c.report.symbols,
                    "dependencies": c.report.dependencies,
                })).collect::<Vec<_>>(),
            });
            out(serde_json::to_string_pretty(&json)?);
        }
        Format::Text => {
            out(format!(
                "environment: {} ({})",
                environment.name, environment.reason
            ));
            if changes.is_empty() {
                out(format!("no changes against {}", args.base));
            } else {
                out(format!(
                    "{:>3}  {:<8} {:<8} {}",
                    "id", "level", "decision", "files"
                ));
            }
            for c in &changes {
                let files: Vec<&str> = c.unit.files.iter().map(|f| f.path.as_str()).collect();
                out(format!(
                    "{:>3}  {:<8} {:<8} {}",
                    c.id,
                    c.report.level,
                    c.verdict.decision,
                    files.join(", ")
                ));
                for reason in c.summary().reasons {
                    out(format!("     - {reason}"));
                }
            }
        }
        Format::Sarif => {
            let records: Vec<super::sarif::SarifChange> = changes
                .iter()
                .map(|c| super::sarif::SarifChange {
                    id: c.id.clone(),
                    files: c.unit.files.iter().map(|f| f.path.clone()).collect(),
                    level: c.report.level,
                    decision: c.verdict.decision.to_string(),
                    reasons: c.summary().reasons,
                    first_line: c.unit.files.first().and_then(|f| {
                        super::sarif::first_changed_line(f.before.as_deref(), f.after.as_deref())
                    }),
                })
                .collect();
            let advisories: Vec<super::sarif::SarifAdvisory> = changes
                .iter()
                .flat_map(|c| {
                    c.report.dependencies.iter().flat_map(move |d| {
                        let after = c
                            .unit
                            .files
                            .iter()
                            .find(|f| f.path == d.file)
                            .and_then(|f| f.after.as_deref())
                            .unwrap_or_default();
                        d.advisories
                            .iter()
                            .map(move |a| super::sarif::SarifAdvisory {
                                change: c.id.clone(),
                                file: d.file.clone(),
                                line: super::sarif::line_naming(after, &d.name),
                                id: a.id.clone(),
                                summary: a.summary.clone(),
                                package: d.name.clone(),
                                version: d.version.clone().unwrap_or_default(),
                                fixed: a.fixed.clone(),
                                // The level the gate gave it (the policy may raise it).
                                level: d
                                    .findings
                                    .iter()
                                    .filter(|f| f.reason.contains(&a.id))
                                    .map(|f| f.level)
                                    .max()
                                    .unwrap_or(Level::High),
                            })
                    })
                })
                .collect();
            out(serde_json::to_string_pretty(
                &super::sarif::to_sarif_with_advisories(
                    &records,
                    &advisories,
                    env!("CARGO_PKG_VERSION"),
                ),
            )?);
        }
        Format::Github => {
            for c in &changes {
                let kind = match c.report.level {
                    Level::Critical | Level::High => "error",
                    Level::Medium => "warning",
                    Level::Low => "notice",
                };
                for file in &c.unit.files {
                    let message = c
                        .summary()
                        .reasons
                        .join("; ")
                        .replace('%', "%25")
                        .replace('\n', "%0A");
                    // The annotation sits on the file's first changed line, where the reasons
                    // point; a deleted file has none.
                    let line = super::sarif::first_changed_line(
                        file.before.as_deref(),
                        file.after.as_deref(),
                    )
                    .map(|l| format!(",line={l}"))
                    .unwrap_or_default();
                    out(format!(
                        "::{kind} file={}{line},title=autogate {} ({})::{message}",
                        file.path, c.report.level, c.verdict.decision
                    ));
                }
            }
        }
    }
    if let Some(threshold) = args.fail_on.map(Level::from)
        && changes.iter().any(|c| c.report.level >= threshold)
    {
        return Ok(ExitCode::from(1));
    }
    if (args.fail_on_unchecked || required)
        && changes
            .iter()
            .any(|c| crate::deps::has_unchecked(&c.report))
    {
        super::err(
            "vulnerabilities of some dependency versions could not be checked (see the reasons); \
             failing because of --fail-on-unchecked or `[advisories] required = true`",
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
