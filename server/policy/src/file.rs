//! `.autogate.toml`: the schema, parsing and validation, with `file:line:col` errors.
//!
//! Parsing happens in two steps. Serde (with `deny_unknown_fields`) checks the shape: syntax,
//! unknown keys, types; it stops at the first mistake. Then every value is validated (levels,
//! globs, names, timeouts, cross-references) and all mistakes found are reported together.

use std::collections::BTreeMap;
use std::ops::Range;

use autogate_analysis::Level;
use globset::{Glob, GlobBuilder, GlobSetBuilder};
use serde::Deserialize;
use serde_spanned::Spanned;

use crate::CheckpointSettings;
use crate::dependencies::{AdvisorySettings, DependencyLevels};
use crate::error::{PolicyError, Source, did_you_mean};
use crate::names::{DOMAINS, KINDS, LANGUAGES};
use crate::settings::{
    ApprovalSettings, AuditSettings, CommitBranch, CommitSettings, DEFAULT_LLM_TIMEOUT_SECS,
    LlmProvider, LlmSettings, VerifyCommand, VerifySettings,
};
use crate::{
    DEFAULT_PROTECTED, EnvironmentPolicy, Mode, POLICY_FILE, Policy, Rule, Thresholds, path_set,
};
use autogate_analysis::manifest::Rule as DepRule;

/// The longest time limit accepted, in seconds (one day).
const MAX_TIMEOUT_SECS: i64 = 86_400;

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    mode: Option<S<String>>,
    #[serde(default)]
    environments: BTreeMap<S<String>, RawEnvironment>,
    #[serde(default)]
    rules: Vec<S<RawRule>>,
    #[serde(default)]
    protected: Vec<S<String>>,
    #[serde(default)]
    unprotect: Vec<S<String>>,
    verify: Option<RawVerify>,
    llm: Option<S<RawLlm>>,
    commit: Option<RawCommit>,
    checkpoints: Option<RawCheckpoints>,
    audit: Option<RawAudit>,
    approvals: Option<RawApprovals>,
    advisories: Option<RawAdvisories>,
    dependencies: Option<BTreeMap<S<String>, S<String>>>,
    doors: Option<crate::doors::RawDoors>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    public_key: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdvisories {
    enabled: Option<bool>,
    url: Option<S<String>>,
    database: Option<S<String>>,
    timeout_secs: Option<S<i64>>,
    required: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheckpoints {
    keep: Option<S<i64>>,
    max_age_days: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    branches: Option<Vec<S<String>>>,
    auto_up_to: Option<S<String>>,
    deny_from: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    paths: Option<S<Vec<S<String>>>>,
    languages: Option<S<Vec<S<String>>>>,
    domains: Option<S<Vec<S<String>>>>,
    kinds: Option<S<Vec<S<String>>>>,
    symbols: Option<S<Vec<S<String>>>>,
    environments: Option<S<Vec<S<String>>>>,
    min_level: Option<S<String>>,
    max_level: Option<S<String>>,
    sensitive: Option<S<bool>>,
    decision: Option<S<String>>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovals {
    enabled: Option<bool>,
    production: Option<bool>,
    max_level: Option<S<String>>,
    days: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    #[serde(default)]
    commands: Vec<S<RawCommand>>,
    timeout_secs: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    run: S<String>,
    timeout_secs: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLlm {
    provider: S<String>,
    base_url: Option<S<String>>,
    model: Option<S<String>>,
    api_key_env: Option<S<String>>,
    timeout_secs: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommit {
    #[serde(default)]
    enabled: bool,
    branch: Option<S<String>>,
    #[serde(default)]
    sign_off: bool,
}

impl Policy {
    /// Parses and validates the text of a policy file. `file_name` only labels errors.
    ///
    /// Anything unknown or invalid is an error; nothing is ignored. Without a file, use
    /// [`Policy::default`].
    pub fn from_toml(text: &str, file_name: &str) -> Result<Policy, Vec<PolicyError>> {
        let source = Source {
            text,
            file: file_name,
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| vec![serde_error(&source, &e)])?;
        let mut v = Validator {
            source,
            errors: Vec::new(),
        };
        let policy = v.policy(raw);
        if v.errors.is_empty() {
            Ok(policy)
        } else {
            v.errors.sort_by_key(|e| (e.line, e.col));
            Err(v.errors)
        }
    }
}

/// Maps a serde/TOML error to a positioned error with a hint.
fn serde_error(source: &Source<'_>, error: &toml::de::Error) -> PolicyError {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim().to_owned();
    let hint = serde_hint(&message);
    let message = if message == "duplicate key" {
        let key: String = source
            .text
            .get(span.clone())
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"'))
            .collect();
        format!("duplicate key `{}`", key.trim_matches('"'))
    } else {
        message
    };
    // Serde's messages for wrong types quote the value; the value could be a key pasted in the
    // wrong place, so only the part after "expected" is kept.
    let message = match message.split_once(", expected ") {
        Some((found, expected)) if found.starts_with("invalid type") => {
            let found = found
                .trim_start_matches("invalid type: ")
                .split_whitespace()
                .next()
                .unwrap_or("value");
            format!(
                "wrong type: found {found}, expected {}",
                expected_type(expected)
            )
        }
        _ => match message.strip_prefix("unknown field `") {
            Some(rest) => format!("unknown key `{}`", rest.split('`').next().unwrap_or(rest)),
            None => message,
        },
    };
    source.error(&span, message, hint)
}

fn serde_hint(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        if matches!(field, "api_key" | "key" | "token" | "apikey" | "secret") {
            return "API keys are never read from the policy file: set `api_key_env` to the name \
                    of the environment variable that holds the key"
                .to_owned();
        }
        let candidates: Vec<&str> = expected
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|c| !c.is_empty())
            .collect();
        if let Some(near) = did_you_mean(field, candidates.iter().copied()) {
            return format!("did you mean `{near}`?");
        }
        if candidates.is_empty() {
            return "remove this key".to_owned();
        }
        return format!("known keys here: {}", candidates.join(", "));
    }
    if message.starts_with("invalid type") {
        return match message.rsplit_once("expected ") {
            Some((_, "a sequence")) => "write a list, e.g. [\"docs/**\"]".to_owned(),
            Some((_, "a string")) => "write a quoted string".to_owned(),
            Some((_, "a boolean")) => "write true or false".to_owned(),
            Some((_, expected)) if expected_type(expected) == "an integer" => {
                "write a whole number without quotes, e.g. 120".to_owned()
            }
            Some((_, expected)) => format!("write {}", expected_type(expected)),
            None => "check the type of this value".to_owned(),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return format!("add `{field} = ...` to this table");
    }
    if message.contains("duplicate key") {
        return "each key may appear once per table".to_owned();
    }
    "check the TOML syntax here: quotes, brackets, commas and `key = value`".to_owned()
}

/// Serde's name of an expected type, for a person.
fn expected_type(expected: &str) -> &str {
    match expected {
        "i64" | "u64" | "i32" | "u32" | "usize" => "an integer",
        "a sequence" => "a list",
        other => other,
    }
}

struct Validator<'a> {
    source: Source<'a>,
    errors: Vec<PolicyError>,
}

impl Validator<'_> {
    fn error(&mut self, span: &Range<usize>, message: impl Into<String>, hint: impl Into<String>) {
        let error = self.source.error(span, message, hint);
        self.errors.push(error);
    }

    fn policy(&mut self, raw: RawPolicy) -> Policy {
        let mut policy = Policy {
            source: self.source.file.to_owned(),
            ..Policy::default()
        };
        if let Some(mode) = raw.mode.as_ref().and_then(|m| self.mode(m)) {
            policy.mode = mode;
        }
        self.environments(&raw.environments, &mut policy);
        let known: Vec<String> = policy.environments.iter().map(|e| e.name.clone()).collect();
        policy.rules = raw
            .rules
            .iter()
            .enumerate()
            .filter_map(|(index, rule)| self.rule(index, rule, &known))
            .collect();
        policy.protected = self.protected(&raw.protected, &raw.unprotect);
        if let Some(verify) = &raw.verify {
            policy.verify = self.verify(verify);
        }
        if let Some(llm) = &raw.llm {
            policy.llm = self.llm(llm);
        }
        if let Some(checkpoints) = &raw.checkpoints {
            policy.checkpoints = self.checkpoints(checkpoints);
        }
        if let Some(commit) = &raw.commit {
            policy.commit = self.commit(commit);
        }
        if let Some(audit) = &raw.audit {
            policy.audit = self.audit(audit);
        }
        if let Some(advisories) = &raw.advisories {
            policy.advisories = self.advisories(advisories);
        }
        if let Some(approvals) = &raw.approvals {
            policy.approvals = self.approvals(approvals);
        }
        if let Some(levels) = &raw.dependencies {
            policy.dependencies = self.dependency_levels(levels);
        }
        if let Some(doors) = &raw.doors {
            policy.doors = doors.validate(&self.source, &mut self.errors);
        }
        policy
    }

    fn advisories(&mut self, raw: &RawAdvisories) -> AdvisorySettings {
        let mut out = AdvisorySettings::default();
        if let Some(enabled) = raw.enabled {
            out.enabled = enabled;
        }
        if let Some(required) = raw.required {
            out.required = required;
        }
        if let Some(url) = &raw.url {
            let u = url.get_ref().trim();
            if u.starts_with("https://") || u.starts_with("http://") {
                out.url = u.trim_end_matches('/').to_owned();
            } else {
                self.error(
                    &url.span(),
                    "`url` must be an http:// or https:// URL",
                    "the OSV API base, e.g. `https://api.osv.dev`, or a mirror such as `http://127.0.0.1:8080`",
                );
            }
        }
        if let Some(db) = &raw.database {
            let d = db.get_ref().trim();
            if d.is_empty() {
                self.error(
                    &db.span(),
                    "`database` is empty",
                    "a directory of OSV JSON files or an OSV zip export, relative to the workspace root",
                );
            } else {
                out.database = Some(d.to_owned());
            }
        }
        if let Some(t) = &raw.timeout_secs
            && let Some(secs) = self.timeout("timeout_secs", t)
        {
            out.timeout_secs = secs;
        }
        out
    }

    fn approvals(&mut self, raw: &RawApprovals) -> ApprovalSettings {
        let mut out = ApprovalSettings::default();
        if let Some(enabled) = raw.enabled {
            out.enabled = enabled;
        }
        if let Some(production) = raw.production {
            out.production = production;
        }
        if let Some(level) = &raw.max_level
            && let Some(max) = self.level("max_level", level)
        {
            if max == Level::Critical {
                self.error(
                    &level.span(),
                    "`max_level` cannot be critical: critical changes are always denied",
                    "write `low`, `medium` or `high`",
                );
            } else {
                out.max_level = max;
            }
        }
        if let Some(days) = &raw.days {
            let value = *days.get_ref();
            match u64::try_from(value) {
                Ok(d) if (1..=365).contains(&d) => out.days = d,
                _ => self.error(
                    &days.span(),
                    format!("`days` must be between 1 and 365, not {value}"),
                    "how long a standing approval lasts, e.g. 30",
                ),
            }
        }
        out
    }

    fn dependency_levels(&mut self, raw: &BTreeMap<S<String>, S<String>>) -> DependencyLevels {
        let mut out = DependencyLevels::default();
        let names: Vec<&str> = DepRule::ALL.iter().map(|r| r.name()).collect();
        for (name, level) in raw {
            let Some(rule) = DepRule::from_name(name.get_ref()) else {
                self.error(
                    &name.span(),
                    format!("unknown dependency rule `{}`", name.get_ref()),
                    hint_choice(name.get_ref(), &names),
                );
                continue;
            };
            let Some(level) = self.level(name.get_ref(), level) else {
                continue;
            };
            if level < rule.default_level() {
                self.error(
                    &name.span(),
                    format!(
                        "`{}` can only be raised: its default is {}, not {level}",
                        rule.name(),
                        rule.default_level()
                    ),
                    format!(
                        "write `{}` or higher, or remove the key",
                        rule.default_level()
                    ),
                );
                continue;
            }
            out.levels.insert(rule, level);
        }
        out
    }

    fn mode(&mut self, mode: &S<String>) -> Option<Mode> {
        match mode.get_ref().parse() {
            Ok(mode) => Some(mode),
            Err(message) => {
                let hint = hint_near(
                    mode.get_ref(),
                    &["shadow", "auto", "ask", "plan"],
                    "`auto`: the policy decides; `ask`: every change asks; `plan`: nothing is applied; `shadow`: everything but critical applies, and the audit trail says what auto would have done",
                );
                self.error(&mode.span(), message, hint);
                None
            }
        }
    }

    fn level(&mut self, key: &str, level: &S<String>) -> Option<Level> {
        match level.get_ref().parse() {
            Ok(level) => Some(level),
            Err(message) => {
                let hint = hint_near(
                    level.get_ref(),
                    &["low", "medium", "high", "critical"],
                    "levels rise from `low` to `critical`",
                );
                self.error(&level.span(), format!("`{key}`: {message}"), hint);
                None
            }
        }
    }

    fn environments(&mut self, raw: &BTreeMap<S<String>, RawEnvironment>, policy: &mut Policy) {
        for (name, env) in raw {
            let name_span = name.span();
            let name = name.get_ref();
            if !is_identifier(name) {
                self.error(
                    &name_span,
                    format!("environment name `{name}` is not a plain name"),
                    "use lowercase letters, digits, `-` and `_`, e.g. `staging`",
                );
                continue;
            }
            // A new environment starts from the production thresholds: the strictest default.
            let base = policy
                .environment_policy(name)
                .or_else(|| policy.environment_policy("production"))
                .map(|e| e.thresholds.clone())
                .unwrap_or(Thresholds {
                    auto_up_to: Level::Low,
                    deny_from: Level::Critical,
                });
            let auto_up_to = match &env.auto_up_to {
                Some(l) => self.level("auto_up_to", l),
                None => Some(base.auto_up_to),
            };
            let deny_from = match &env.deny_from {
                Some(l) => self.level("deny_from", l),
                None => Some(base.deny_from),
            };
            let mut thresholds = base;
            if let (Some(auto_up_to), Some(deny_from)) = (auto_up_to, deny_from) {
                if deny_from <= auto_up_to {
                    let span = env
                        .deny_from
                        .as_ref()
                        .or(env.auto_up_to.as_ref())
                        .map_or(name_span.clone(), |s| s.span());
                    self.error(
                        &span,
                        format!(
                            "in `environments.{name}`, deny_from ({deny_from}) must be above \
                             auto_up_to ({auto_up_to})"
                        ),
                        "levels between the two ask; lower `auto_up_to` or raise `deny_from`",
                    );
                } else {
                    thresholds = Thresholds {
                        auto_up_to,
                        deny_from,
                    };
                }
            }
            let branches = match &env.branches {
                Some(branches) => branches
                    .iter()
                    .filter(|b| self.branch_glob(b))
                    .map(|b| b.get_ref().clone())
                    .collect(),
                None => policy
                    .environment_policy(name)
                    .map(|e| e.branches.clone())
                    .unwrap_or_default(),
            };
            let entry = EnvironmentPolicy {
                name: name.clone(),
                branches,
                thresholds,
            };
            match policy.environments.iter_mut().find(|e| e.name == *name) {
                Some(existing) => *existing = entry,
                None => policy.environments.push(entry),
            }
        }
    }

    fn branch_glob(&mut self, glob: &S<String>) -> bool {
        match Glob::new(glob.get_ref()) {
            Ok(_) if !glob.get_ref().is_empty() => true,
            Ok(_) => {
                self.error(
                    &glob.span(),
                    "empty branch pattern",
                    "write e.g. `release/*`",
                );
                false
            }
            Err(e) => {
                self.error(
                    &glob.span(),
                    format!("bad branch glob `{}`: {}", glob.get_ref(), e.kind()),
                    "globs use `*`, `?`, `[abc]` and `{a,b}`, e.g. `release/*`",
                );
                false
            }
        }
    }

    fn path_glob(&mut self, glob: &S<String>) -> bool {
        let pattern = glob.get_ref();
        if pattern.is_empty() {
            self.error(&glob.span(), "empty path pattern", "write e.g. `docs/**`");
            return false;
        }
        match GlobBuilder::new(pattern).literal_separator(true).build() {
            Ok(_) => true,
            Err(e) => {
                self.error(
                    &glob.span(),
                    format!("bad path glob `{pattern}`: {}", e.kind()),
                    "paths are relative to the workspace root, e.g. `src/auth/**` or `*.md`",
                );
                false
            }
        }
    }

    fn symbol_glob(&mut self, glob: &S<String>) -> bool {
        match Glob::new(glob.get_ref()) {
            Ok(_) if !glob.get_ref().is_empty() => true,
            Ok(_) => {
                self.error(
                    &glob.span(),
                    "empty symbol pattern",
                    "write e.g. `*password*`",
                );
                false
            }
            Err(e) => {
                self.error(
                    &glob.span(),
                    format!("bad symbol glob `{}`: {}", glob.get_ref(), e.kind()),
                    "symbol globs match names, e.g. `verify_*` or `*Token*`",
                );
                false
            }
        }
    }

    /// A list criterion of a rule: not empty, every entry valid.
    fn list(
        &mut self,
        key: &str,
        list: &Option<S<Vec<S<String>>>>,
        valid: &mut dyn FnMut(&mut Self, &S<String>) -> bool,
    ) -> Vec<String> {
        let Some(list) = list else {
            return Vec::new();
        };
        if list.get_ref().is_empty() {
            self.error(
                &list.span(),
                format!("`{key}` is empty and would match nothing"),
                format!("remove `{key}` or list at least one entry"),
            );
        }
        list.get_ref()
            .iter()
            .filter(|entry| valid(self, entry))
            .map(|entry| entry.get_ref().clone())
            .collect()
    }

    fn name_in(&mut self, what: &str, entry: &S<String>, known: &[&str]) -> bool {
        let name = entry.get_ref();
        if known.contains(&name.as_str()) {
            return true;
        }
        self.error(
            &entry.span(),
            format!("unknown {what} `{name}`"),
            hint_choice(name, known),
        );
        false
    }

    fn rule(&mut self, index: usize, rule: &S<RawRule>, environments: &[String]) -> Option<Rule> {
        let span = rule.span();
        let errors_before = self.errors.len();
        let raw = rule.get_ref();
        let paths = self.list("paths", &raw.paths, &mut |v, e| v.path_glob(e));
        let languages = self
            .list("languages", &raw.languages, &mut |v, e| {
                let lower = e.get_ref().to_ascii_lowercase();
                let entry = S::new(e.span(), lower);
                v.name_in("language", &entry, LANGUAGES)
            })
            .into_iter()
            .map(|l| l.to_ascii_lowercase())
            .collect();
        let domains = self.list("domains", &raw.domains, &mut |v, e| {
            v.name_in("domain", e, DOMAINS)
        });
        let kinds = self.list("kinds", &raw.kinds, &mut |v, e| {
            v.name_in("change kind", e, KINDS)
        });
        let symbols = self.list("symbols", &raw.symbols, &mut |v, e| v.symbol_glob(e));
        let known: Vec<&str> = environments.iter().map(String::as_str).collect();
        let rule_environments = self.list("environments", &raw.environments, &mut |v, e| {
            v.name_in("environment", e, &known)
        });
        let min_level = raw
            .min_level
            .as_ref()
            .and_then(|l| self.level("min_level", l));
        let max_level = raw
            .max_level
            .as_ref()
            .and_then(|l| self.level("max_level", l));
        if let Some(sensitive) = &raw.sensitive
            && !*sensitive.get_ref()
            && raw.domains.is_some()
        {
            self.error(
                &sensitive.span(),
                format!("rules[{index}] sets `domains` and `sensitive = false`, which match nothing together"),
                "remove one of them",
            );
        }
        let decision = raw
            .decision
            .as_ref()
            .and_then(|d| match d.get_ref().parse() {
                Ok(decision) => Some(decision),
                Err(message) => {
                    let hint = hint_near(
                        d.get_ref(),
                        &["auto", "ask", "deny"],
                        "`auto` applies, `ask` waits for a person, `deny` refuses",
                    );
                    self.error(&d.span(), message, hint);
                    None
                }
            });
        let has_criteria = [
            &raw.paths,
            &raw.languages,
            &raw.domains,
            &raw.kinds,
            &raw.symbols,
        ]
        .iter()
        .any(|c| c.is_some());
        if !has_criteria {
            self.error(
                &span,
                format!("rules[{index}] has no match criteria"),
                "add at least one of `paths`, `languages`, `domains`, `kinds` or `symbols`",
            );
        }
        if raw.min_level.is_none() && raw.decision.is_none() {
            self.error(
                &span,
                format!("rules[{index}] has no effect"),
                "add `min_level = \"high\"` and/or `decision = \"ask\"`",
            );
        }
        if self.errors.len() > errors_before {
            return None;
        }
        let mut symbol_set = GlobSetBuilder::new();
        for symbol in &symbols {
            if let Ok(glob) = Glob::new(symbol) {
                symbol_set.add(glob);
            }
        }
        Some(Rule {
            index,
            line: self.source.line_of(&span),
            path_set: path_set(&paths),
            paths,
            languages,
            domains,
            kinds,
            symbols,
            environments: rule_environments,
            min_level,
            max_level,
            sensitive: raw.sensitive.as_ref().map(|s| *s.get_ref()),
            decision,
            reason: raw.reason.clone().filter(|r| !r.trim().is_empty()),
            symbol_set: symbol_set
                .build()
                .unwrap_or_else(|_| globset::GlobSet::empty()),
        })
    }

    fn protected(
        &mut self,
        added: &[S<String>],
        removed: &[S<String>],
    ) -> autogate_analysis::ProtectedPaths {
        let mut patterns: Vec<String> = DEFAULT_PROTECTED.iter().map(|p| (*p).to_owned()).collect();
        for entry in removed {
            let pattern = entry.get_ref();
            if pattern == POLICY_FILE {
                self.error(
                    &entry.span(),
                    format!("`{POLICY_FILE}` always stays protected"),
                    "remove it from `unprotect`",
                );
            } else if let Some(at) = patterns.iter().position(|p| p == pattern) {
                patterns.remove(at);
            } else {
                self.error(
                    &entry.span(),
                    format!("`{pattern}` is not a default protected pattern"),
                    hint_choice(pattern, DEFAULT_PROTECTED),
                );
            }
        }
        for entry in added {
            if self.path_glob(entry) && !patterns.contains(entry.get_ref()) {
                patterns.push(entry.get_ref().clone());
            }
        }
        path_set(&patterns)
    }

    fn timeout(&mut self, key: &str, timeout: &S<i64>) -> Option<u64> {
        let value = *timeout.get_ref();
        if value <= 0 || value > MAX_TIMEOUT_SECS {
            self.error(
                &timeout.span(),
                format!("`{key}` must be between 1 and {MAX_TIMEOUT_SECS} seconds, not {value}"),
                "a time limit is required: set a positive number of seconds, e.g. 120",
            );
            return None;
        }
        u64::try_from(value).ok()
    }

    fn verify(&mut self, raw: &RawVerify) -> VerifySettings {
        let default = VerifySettings::default();
        let timeout_secs = raw
            .timeout_secs
            .as_ref()
            .and_then(|t| self.timeout("timeout_secs", t))
            .unwrap_or(default.timeout_secs);
        let commands = raw
            .commands
            .iter()
            .filter_map(|command| {
                let raw = command.get_ref();
                if raw.run.get_ref().trim().is_empty() {
                    self.error(
                        &raw.run.span(),
                        "`run` is empty",
                        "write the command line, e.g. `cargo check`",
                    );
                    return None;
                }
                let timeout = match &raw.timeout_secs {
                    Some(t) => self.timeout("timeout_secs", t)?,
                    None => timeout_secs,
                };
                Some(VerifyCommand {
                    run: raw.run.get_ref().clone(),
                    timeout_secs: timeout,
                })
            })
            .collect();
        VerifySettings {
            commands,
            timeout_secs,
        }
    }

    fn llm(&mut self, llm: &S<RawLlm>) -> Option<LlmSettings> {
        let raw = llm.get_ref();
        let provider = match raw.provider.get_ref().as_str() {
            "openai" => Some(LlmProvider::OpenAi),
            "anthropic" => Some(LlmProvider::Anthropic),
            other => {
                self.error(
                    &raw.provider.span(),
                    format!("unknown provider `{other}`"),
                    hint_choice(other, &["openai", "anthropic"]),
                );
                None
            }
        };
        if let Some(url) = &raw.base_url {
            let u = url.get_ref();
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                self.error(
                    &url.span(),
                    "`base_url` must be an http:// or https:// URL",
                    "e.g. `https://api.openai.com/v1`, or a local server `http://127.0.0.1:8080/v1`",
                );
            }
        }
        if let Some(model) = &raw.model
            && model.get_ref().trim().is_empty()
        {
            self.error(
                &model.span(),
                "`model` is empty",
                "name the model, or remove the key",
            );
        }
        let api_key_env = raw.api_key_env.as_ref().and_then(|env| {
            let name = env.get_ref();
            if looks_like_key(name) {
                self.error(
                    &env.span(),
                    "`api_key_env` holds what looks like an API key, not the name of an \
                     environment variable",
                    "never put keys in the policy file: remove it (and rotate the key), export it \
                     as e.g. OPENAI_API_KEY and write `api_key_env = \"OPENAI_API_KEY\"`",
                );
                None
            } else if !is_env_var_name(name) {
                self.error(
                    &env.span(),
                    "`api_key_env` must be the name of an environment variable",
                    "letters, digits and `_`, not starting with a digit, e.g. `OPENAI_API_KEY`",
                );
                None
            } else {
                Some(name.clone())
            }
        });
        let timeout_secs = raw
            .timeout_secs
            .as_ref()
            .and_then(|t| self.timeout("timeout_secs", t))
            .unwrap_or(DEFAULT_LLM_TIMEOUT_SECS);
        let provider = provider?;
        Some(LlmSettings {
            provider,
            base_url: raw.base_url.as_ref().map_or_else(
                || provider.default_base_url().to_owned(),
                |u| u.get_ref().clone(),
            ),
            model: raw.model.as_ref().map(|m| m.get_ref().clone()),
            api_key_env: api_key_env.unwrap_or_else(|| provider.default_api_key_env().to_owned()),
            timeout_secs,
        })
    }

    fn checkpoints(&mut self, raw: &RawCheckpoints) -> CheckpointSettings {
        let default = CheckpointSettings::default();
        let mut positive = |name: &str, value: &Option<S<i64>>, max: i64| -> Option<i64> {
            let value = value.as_ref()?;
            let n = *value.get_ref();
            if (1..=max).contains(&n) {
                Some(n)
            } else {
                self.error(
                    &value.span(),
                    format!("`{name}` must be between 1 and {max}, not {n}"),
                    format!("e.g. `{name} = 30`"),
                );
                None
            }
        };
        let keep = positive("keep", &raw.keep, 100_000).map_or(default.keep, |n| n as usize);
        let max_age_days = positive("max_age_days", &raw.max_age_days, 36_500)
            .map_or(default.max_age_days, |n| n as u64);
        CheckpointSettings { keep, max_age_days }
    }

    fn audit(&mut self, raw: &RawAudit) -> AuditSettings {
        let public_key = raw.public_key.as_ref().and_then(|key| {
            let text = key.get_ref().trim();
            let mut parts = text.split_whitespace();
            let well_formed = parts.next() == Some("ssh-ed25519")
                && parts.next().is_some_and(|b| {
                    b.len() >= 68
                        && b.bytes()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
                });
            if well_formed {
                Some(text.to_owned())
            } else {
                self.error(
                    &key.span(),
                    "`public_key` is not an Ed25519 public key line".to_owned(),
                    "paste the line of the key's `.pub` file, e.g. `public_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… audit\"`".to_owned(),
                );
                None
            }
        });
        AuditSettings { public_key }
    }

    fn commit(&mut self, raw: &RawCommit) -> CommitSettings {
        let branch = match raw.branch.as_ref() {
            None => CommitBranch::Current,
            Some(b) => match b.get_ref().as_str() {
                "current" => CommitBranch::Current,
                "side" => CommitBranch::Side,
                other => {
                    self.error(
                        &b.span(),
                        format!("unknown commit branch `{other}`"),
                        hint_choice(other, &["current", "side"]),
                    );
                    CommitBranch::Current
                }
            },
        };
        CommitSettings {
            enabled: raw.enabled,
            branch,
            sign_off: raw.sign_off,
        }
    }
}

/// "did you mean `x`?", or `otherwise` where the message lists the choices already.
fn hint_near(word: &str, choices: &[&str], otherwise: &str) -> String {
    did_you_mean(word, choices.iter().copied()).map_or_else(
        || otherwise.to_owned(),
        |near| format!("did you mean `{near}`?"),
    )
}

/// "did you mean `x`?" or the list of choices.
fn hint_choice(word: &str, choices: &[&str]) -> String {
    match did_you_mean(word, choices.iter().copied()) {
        Some(near) => format!("did you mean `{near}`?"),
        None if choices.len() <= 12 => format!("expected one of: {}", choices.join(", ")),
        None => format!(
            "expected one of: {}, ...",
            choices
                .iter()
                .take(12)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether a string looks like an API key rather than a variable name.
///
/// Known key prefixes, or a long token mixing lower-case letters and digits (variable names are
/// conventionally upper-case words).
fn looks_like_key(value: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "sk-",
        "sk_",
        "pk-",
        "rk-",
        "ghp_",
        "gho_",
        "github_pat_",
        "xox",
        "AKIA",
        "AIza",
        "glpat-",
    ];
    if PREFIXES.iter().any(|p| value.starts_with(p)) {
        return true;
    }
    let has_lower = value.chars().any(|c| c.is_ascii_lowercase());
    let has_digit = value.chars().any(|c| c.is_ascii_digit());
    let longest_word = value.split('_').map(str::len).max().unwrap_or(0);
    value.len() >= 24 && has_lower && has_digit && longest_word >= 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_variable_names() {
        assert!(looks_like_key("sk-proj-abc123"));
        assert!(looks_like_key("a8f3k2l9q0w8e7r6t5y4u3i2"));
        assert!(!looks_like_key("OPENAI_API_KEY"));
        assert!(!looks_like_key("my_team_openai_key_2"));
        assert!(is_env_var_name("OPENAI_API_KEY"));
        assert!(!is_env_var_name("1KEY"));
        assert!(!is_env_var_name("MY-KEY"));
    }
}
