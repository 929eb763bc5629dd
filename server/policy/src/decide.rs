//! Environments and decisions: from a checkout to an environment, from a report to a verdict.
//!
//! The precedence, from the first step to the last (each later step can only tighten, except
//! a rule's `decision`, which fixes the decision in step 3):
//!
//! 1. The level is the report's level, raised by the `min_level` of every matching rule.
//! 2. The environment's thresholds turn the level into auto, ask or deny.
//! 3. If matching rules set a `decision`, the strongest of them (deny > ask > auto) replaces
//!    the thresholds' decision. This is how a team file loosens, e.g. `auto` for docs.
//! 4. Critical is always deny (`level.critical`).
//! 5. A change touching agent, editor or CI configuration never applies on its own
//!    (`protected.config`).
//! 6. Mode `ask` turns every auto into ask (`mode.ask`); mode `plan` changes no decision.
//! 7. Mode `shadow` keeps the verdict of steps 1 to 5 as [`Verdict::would`] and applies the
//!    change (`mode.shadow`), unless it is critical: critical stays denied.

use autogate_analysis::{ImpactReport, Level};

use crate::names::serialized_name;
use crate::{Decision, Environment, Mode, Policy, Rule, Thresholds, Verdict};

/// Where the checkout's HEAD is, as the shell found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Head {
    /// On a branch, by its short name (`main`, `release/1.2`).
    Branch(String),
    /// A detached HEAD: treated as production (a tag or a deploy checkout, most likely).
    Detached,
    /// Not a git repository.
    NoGit,
}

impl Policy {
    /// Which environment a branch (or no git: `None`) and `AUTOGATE_ENV` put the workspace in.
    ///
    /// A branch named `HEAD` is how git reports a detached HEAD, so `Some("HEAD")` means
    /// [`Head::Detached`]. See [`Policy::environment_for`].
    pub fn environment(&self, branch: Option<&str>, env_var: Option<&str>) -> Environment {
        let head = match branch {
            None => Head::NoGit,
            Some("HEAD") => Head::Detached,
            Some(branch) => Head::Branch(branch.to_owned()),
        };
        self.environment_for(&head, env_var)
    }

    /// Which environment the checkout is in.
    ///
    /// 1. `AUTOGATE_ENV=<name>` wins. A name the policy does not define means production
    ///    (fail closed).
    /// 2. A detached HEAD is production.
    /// 3. A branch matching the `branches` of one or more environments is in the strictest of
    ///    them (lowest `auto_up_to`, then lowest `deny_from`).
    /// 4. Anything else, and no git at all, is development.
    pub fn environment_for(&self, head: &Head, env_var: Option<&str>) -> Environment {
        if let Some(name) = env_var.map(str::trim).filter(|v| !v.is_empty()) {
            if self.environment_policy(name).is_some() {
                return env(name, format!("AUTOGATE_ENV={name}"));
            }
            return env(
                "production",
                format!("AUTOGATE_ENV={name} names no environment of the policy: production"),
            );
        }
        let branch = match head {
            Head::NoGit => return env("development", "no git repository".to_owned()),
            Head::Detached => return env("production", "detached HEAD".to_owned()),
            Head::Branch(branch) => branch,
        };
        let matched = self
            .environments
            .iter()
            .filter_map(|e| {
                e.branches
                    .iter()
                    .find(|pattern| branch_matches(pattern, branch))
                    .map(|pattern| (e, pattern))
            })
            .min_by_key(|(e, _)| (e.thresholds.auto_up_to, e.thresholds.deny_from));
        match matched {
            Some((e, pattern)) => env(
                &e.name,
                format!("branch `{branch}` matches `{pattern}` of {}", e.name),
            ),
            None => env(
                "development",
                format!("branch `{branch}` matches no environment's branches"),
            ),
        }
    }

    /// Turns an impact report into a decision under `mode` in `environment`.
    pub fn decide(&self, report: &ImpactReport, environment: &Environment, mode: Mode) -> Verdict {
        let thresholds = self.thresholds(environment);
        let env_name = if self.environment_policy(&environment.name).is_some() {
            environment.name.as_str()
        } else {
            "production"
        };
        let matching: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|rule| rule.matches(report, env_name))
            .collect();

        // 1. The level, raised by `min_level`.
        let mut level = report.level;
        let mut notes = Vec::new();
        for rule in &matching {
            if let Some(min_level) = rule.min_level.filter(|&min| min > level) {
                notes.push(format!(
                    "{} raises the level from {level} to {min_level}{}",
                    rule.name(),
                    rule.reason_suffix()
                ));
                level = min_level;
            }
        }

        // 2. and 3. The thresholds, or the strongest rule decision.
        let fixed = matching
            .iter()
            .filter_map(|rule| rule.decision.map(|d| (d, *rule)))
            .fold(None::<(Decision, &Rule)>, |best, (d, rule)| match best {
                Some((b, _)) if b >= d => best,
                _ => Some((d, rule)),
            });
        let mut verdict = match fixed {
            Some((decision, rule)) => Verdict {
                decision,
                rule: rule.name(),
                reasons: vec![match &rule.reason {
                    Some(reason) => reason.clone(),
                    None => format!("{} sets `decision = \"{decision}\"`", rule.describe()),
                }],
                would: None,
            },
            None => by_thresholds(level, &thresholds, env_name),
        };
        verdict.reasons.extend(notes);

        // 4. Critical is always deny.
        if level == Level::Critical && verdict.decision != Decision::Deny {
            verdict.decision = Decision::Deny;
            verdict.rule = "level.critical".to_owned();
            verdict
                .reasons
                .insert(0, "critical changes are always denied".to_owned());
        }

        // 5. Self-protection.
        if verdict.decision == Decision::Auto
            && let Some((path, pattern)) = self.touched_config(report)
        {
            verdict.decision = Decision::Ask;
            verdict.rule = "protected.config".to_owned();
            verdict.reasons.insert(
                0,
                format!(
                    "`{path}` is agent, editor or CI configuration (`{pattern}`): a person \
                     approves every change to it"
                ),
            );
        }

        // 6. The mode.
        match mode {
            Mode::Ask if verdict.decision == Decision::Auto => {
                verdict.decision = Decision::Ask;
                verdict.rule = "mode.ask".to_owned();
                verdict
                    .reasons
                    .insert(0, "mode is `ask`: every change asks".to_owned());
            }
            Mode::Plan => verdict
                .reasons
                .push("mode is `plan`: nothing is applied".to_owned()),
            // 7. Shadow: record what auto would have done, apply all but critical.
            Mode::Shadow if level == Level::Critical => {
                let would = verdict.clone();
                verdict.reasons.push(
                    "mode is `shadow`, but critical changes are denied in every mode".to_owned(),
                );
                verdict.would = Some(Box::new(would));
            }
            Mode::Shadow => {
                let would = verdict;
                verdict = Verdict {
                    decision: Decision::Auto,
                    rule: "mode.shadow".to_owned(),
                    reasons: vec![format!(
                        "mode is `shadow`: applied as proposed; mode auto would have decided \
                         {} ({})",
                        would.decision, would.rule
                    )],
                    would: Some(Box::new(would)),
                };
            }
            _ => {}
        }
        verdict
    }

    /// The first touched path that is agent, editor or CI configuration, with its pattern.
    fn touched_config<'a>(&'a self, report: &'a ImpactReport) -> Option<(&'a str, &'a str)> {
        report
            .files
            .iter()
            .chain(&report.protected_paths)
            .find_map(|path| self.config.matching(path).map(|p| (path.as_str(), p)))
    }
}

fn env(name: &str, reason: String) -> Environment {
    Environment {
        name: name.to_owned(),
        reason,
    }
}

fn branch_matches(pattern: &str, branch: &str) -> bool {
    globset::Glob::new(pattern)
        .map(|g| g.compile_matcher().is_match(branch))
        .unwrap_or(false)
}

fn by_thresholds(level: Level, thresholds: &Thresholds, env: &str) -> Verdict {
    let (decision, key, reason) = if level >= thresholds.deny_from {
        (
            Decision::Deny,
            "deny_from",
            format!(
                "{level} is at or above deny_from = {}",
                thresholds.deny_from
            ),
        )
    } else if level <= thresholds.auto_up_to {
        (
            Decision::Auto,
            "auto_up_to",
            format!("{level} is within auto_up_to = {}", thresholds.auto_up_to),
        )
    } else {
        (
            Decision::Ask,
            "auto_up_to",
            format!("{level} is above auto_up_to = {}", thresholds.auto_up_to),
        )
    };
    Verdict {
        decision,
        rule: format!("environments.{env}.{key}"),
        reasons: vec![format!("{reason} in {env}")],
        would: None,
    }
}

impl Rule {
    /// `rules[2]`.
    pub fn name(&self) -> String {
        format!("rules[{}]", self.index)
    }

    fn reason_suffix(&self) -> String {
        self.reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    }

    /// Whether the rule applies to `report` in environment `env`.
    ///
    /// Every criterion the rule sets must match. A criterion matches when any of the change's
    /// paths (languages, kinds, symbols, domains) matches one of its entries. A rule that
    /// loosens (`decision = "auto"`) must cover the whole change instead: every one of them
    /// must match, and there must be at least one.
    pub fn matches(&self, report: &ImpactReport, env: &str) -> bool {
        if !self.environments.is_empty() && !self.environments.iter().any(|e| e == env) {
            return false;
        }
        if self.max_level.is_some_and(|max| report.level > max) {
            return false;
        }
        if self.sensitive == Some(false) && !report.domains.is_empty() {
            return false;
        }
        let all = self.decision == Some(Decision::Auto);
        let paths: Vec<&String> = report.files.iter().chain(&report.protected_paths).collect();
        let kinds: Vec<String> = report.kinds.iter().filter_map(serialized_name).collect();
        let domains: Vec<String> = report.domains.iter().filter_map(serialized_name).collect();
        (self.paths.is_empty() || covers(all, &paths, |p| self.path_set.matching(p).is_some()))
            && (self.languages.is_empty()
                || covers(all, &report.languages, |l| {
                    self.languages.iter().any(|x| x.eq_ignore_ascii_case(l))
                }))
            && (self.kinds.is_empty() || covers(all, &kinds, |k| self.kinds.contains(k)))
            && (self.domains.is_empty() || covers(all, &domains, |d| self.domains.contains(d)))
            && (self.symbols.is_empty()
                || covers(all, &report.symbols, |s| self.symbol_set.is_match(&s.name)))
    }

    /// One line for a person: `rules[1] (line 12): paths docs/** → decision auto`.
    pub fn describe(&self) -> String {
        let mut criteria = Vec::new();
        for (key, values) in [
            ("paths", &self.paths),
            ("languages", &self.languages),
            ("domains", &self.domains),
            ("kinds", &self.kinds),
            ("symbols", &self.symbols),
            ("environments", &self.environments),
        ] {
            if !values.is_empty() {
                criteria.push(format!("{key} {}", values.join(", ")));
            }
        }
        let mut effects = Vec::new();
        if let Some(level) = self.max_level {
            criteria.push(format!("max_level {level}"));
        }
        if let Some(sensitive) = self.sensitive {
            criteria.push(format!("sensitive {sensitive}"));
        }
        if let Some(level) = self.min_level {
            effects.push(format!("min_level {level}"));
        }
        if let Some(decision) = self.decision {
            effects.push(format!("decision {decision}"));
        }
        let at = if self.line > 0 {
            format!(" (line {})", self.line)
        } else {
            String::new()
        };
        format!(
            "{}{at}: {} → {}{}",
            self.name(),
            criteria.join("; "),
            effects.join(", "),
            self.reason
                .as_ref()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default()
        )
    }
}

fn covers<T>(all: bool, items: &[T], matches: impl Fn(&T) -> bool) -> bool {
    if all {
        !items.is_empty() && items.iter().all(matches)
    } else {
        items.iter().any(matches)
    }
}
