//! Dependency manifests and lockfiles: a structural diff of both sides, and the rules that rate it.
//!
//! Each ecosystem's files are parsed with a real parser (`toml`, `serde_json`) or, where no
//! well-kept crate fits, a hand parser of the documented grammar (`requirements.txt`, `go.mod`,
//! `go.sum`, `.npmrc`, `setup.cfg`). Both sides become a [`Parsed`] set of entries (a
//! dependency in a section, with its requirement or version and its source) and settings
//! (install and build scripts, registry and index overrides); [`diff`] compares them and rates
//! every difference with a [`Rule`], whose default level the policy may raise.
//!
//! Pure: no IO. The advisory lookup of the versions a change introduces is done by the shell
//! from [`DependencyChange::version`].

mod cargo;
mod golang;
mod npm;
mod python;
pub mod report;
pub mod typo;
pub mod version;

pub use report::{AdvisoryNote, Change, DependencyChange, Ecosystem, Finding, Rule, Source};

use std::collections::BTreeMap;

use crate::index::SymbolIndex;

/// What kind of file a path is, and its ecosystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    CargoToml,
    CargoLock,
    CargoConfig,
    PackageJson,
    PackageLock,
    Npmrc,
    Requirements,
    PyProject,
    SetupCfg,
    GoMod,
    GoSum,
}

impl FileKind {
    /// The kind of a workspace-relative path, by its file name.
    pub fn of(path: &str) -> Option<FileKind> {
        let normalized = path.replace('\\', "/");
        let name = normalized.rsplit('/').next().unwrap_or(&normalized);
        let lower = name.to_ascii_lowercase();
        let parent_is_cargo = normalized.rsplit('/').nth(1).is_some_and(|p| p == ".cargo");
        Some(match lower.as_str() {
            "cargo.toml" => FileKind::CargoToml,
            "cargo.lock" => FileKind::CargoLock,
            "config.toml" | "config" if parent_is_cargo => FileKind::CargoConfig,
            "package.json" => FileKind::PackageJson,
            "package-lock.json" | "npm-shrinkwrap.json" => FileKind::PackageLock,
            ".npmrc" => FileKind::Npmrc,
            "pyproject.toml" => FileKind::PyProject,
            "setup.cfg" => FileKind::SetupCfg,
            "go.mod" => FileKind::GoMod,
            "go.sum" => FileKind::GoSum,
            _ if lower.starts_with("requirements")
                && (lower.ends_with(".txt") || lower.ends_with(".in")) =>
            {
                FileKind::Requirements
            }
            _ => return None,
        })
    }

    pub fn ecosystem(self) -> Ecosystem {
        match self {
            FileKind::CargoToml | FileKind::CargoLock | FileKind::CargoConfig => Ecosystem::Crates,
            FileKind::PackageJson | FileKind::PackageLock | FileKind::Npmrc => Ecosystem::Npm,
            FileKind::Requirements | FileKind::PyProject | FileKind::SetupCfg => Ecosystem::PyPi,
            FileKind::GoMod | FileKind::GoSum => Ecosystem::Go,
        }
    }

    /// A lockfile: exact versions of the whole graph, refreshed by tools.
    pub fn is_lock(self) -> bool {
        matches!(
            self,
            FileKind::CargoLock | FileKind::PackageLock | FileKind::GoSum
        )
    }

    fn parse(self, text: &str) -> Result<Parsed, String> {
        match self {
            FileKind::CargoToml => cargo::manifest(text),
            FileKind::CargoLock => cargo::lock(text),
            FileKind::CargoConfig => cargo::config(text),
            FileKind::PackageJson => npm::manifest(text),
            FileKind::PackageLock => npm::lock(text),
            FileKind::Npmrc => Ok(npm::npmrc(text)),
            FileKind::Requirements => Ok(python::requirements(text)),
            FileKind::PyProject => python::pyproject(text),
            FileKind::SetupCfg => Ok(python::setup_cfg(text)),
            FileKind::GoMod => Ok(golang::go_mod(text)),
            FileKind::GoSum => Ok(golang::go_sum(text)),
        }
    }
}

/// One dependency entry of a parsed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub section: String,
    pub name: String,
    /// The requirement (manifests) or the exact version (lockfiles).
    pub spec: String,
    pub source: Source,
    pub checksum: Option<String>,
    /// A locked package that declares an install script (`hasInstallScript`).
    pub install_script: bool,
}

impl Entry {
    pub(crate) fn new(section: &str, name: &str, spec: &str, source: Source) -> Self {
        Entry {
            section: section.to_owned(),
            name: name.to_owned(),
            spec: spec.to_owned(),
            source,
            checksum: None,
            install_script: false,
        }
    }
}

/// A script or setting of a parsed file, with the rule its change falls under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Setting {
    pub section: String,
    pub key: String,
    pub value: String,
    pub rule: Rule,
}

impl Setting {
    pub(crate) fn new(section: &str, key: &str, value: &str, rule: Rule) -> Self {
        Setting {
            section: section.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
            rule,
        }
    }
}

/// One side of a manifest or lockfile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub entries: Vec<Entry>,
    pub settings: Vec<Setting>,
}

/// The dependency analysis of one file: its changes, each with the rules that fired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileDependencies {
    pub changes: Vec<DependencyChange>,
    /// Findings not tied to one dependency (the file does not parse).
    pub findings: Vec<Finding>,
}

impl FileDependencies {
    /// Every finding, in order.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .chain(self.changes.iter().flat_map(|c| c.findings.iter()))
    }
}

/// The dependency analysis of one file change, or `None` when the path is not a manifest or
/// lockfile. `index` (the workspace symbol index) tells whether removed dependencies are still
/// imported.
pub fn analyze_file(
    path: &str,
    before: Option<&str>,
    after: Option<&str>,
    index: Option<&SymbolIndex>,
) -> Option<FileDependencies> {
    let kind = FileKind::of(path)?;
    if before == after || before.is_some_and(|b| b.contains('\0')) {
        return Some(FileDependencies::default());
    }
    let mut out = FileDependencies::default();
    let side = |text: Option<&str>| match text {
        None => Ok(Parsed::default()),
        Some(t) => kind.parse(t),
    };
    let (b, a) = match (side(before), side(after)) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(e), _) | (_, Err(e)) => {
            out.findings.push(finding(
                Rule::Unparsable,
                format!("`{path}`: does not parse ({e}); its dependencies cannot be analyzed"),
            ));
            return Some(out);
        }
    };
    let ctx = DiffContext { path, kind, index };
    ctx.entries(&b.entries, &a.entries, &mut out);
    ctx.settings(&b.settings, &a.settings, &mut out);
    Some(out)
}

/// Whether the dependency analysis of a modified manifest or lockfile covers the whole change,
/// so that the line-based fallback has nothing to add: a lockfile (every entry is compared), a
/// line format whose every line is a dependency or an option, or a TOML/JSON manifest whose
/// documents are equal once the parts the analysis compares are taken out (a comment, a
/// reordering, whitespace). A description, a profile or a `bin` changed is not covered.
pub fn understood(path: &str, before: &str, after: &str) -> bool {
    let Some(kind) = FileKind::of(path) else {
        return false;
    };
    match kind {
        FileKind::CargoLock
        | FileKind::PackageLock
        | FileKind::GoSum
        | FileKind::Requirements
        | FileKind::Npmrc
        | FileKind::GoMod => true,
        FileKind::SetupCfg => false,
        FileKind::CargoToml | FileKind::CargoConfig | FileKind::PyProject => {
            match (cargo::rest(kind, before), cargo::rest(kind, after)) {
                (Some(b), Some(a)) => a == b,
                _ => false,
            }
        }
        FileKind::PackageJson => match (npm::rest(before), npm::rest(after)) {
            (Some(b), Some(a)) => a == b,
            _ => false,
        },
    }
}

fn finding(rule: Rule, reason: String) -> Finding {
    Finding {
        rule,
        level: rule.default_level(),
        reason,
    }
}

struct DiffContext<'a> {
    path: &'a str,
    kind: FileKind,
    index: Option<&'a SymbolIndex>,
}

impl DiffContext<'_> {
    fn change(&self, e: &Entry, change: Change) -> DependencyChange {
        DependencyChange {
            file: self.path.to_owned(),
            ecosystem: self.kind.ecosystem(),
            section: e.section.clone(),
            name: e.name.clone(),
            change,
            old: None,
            new: None,
            source: Some(e.source.to_string()),
            version: None,
            findings: Vec::new(),
            advisories: Vec::new(),
            unchecked: None,
        }
    }

    /// The exact version an entry pins, when its source is a registry.
    fn pinned(&self, e: &Entry) -> Option<String> {
        if !matches!(e.source, Source::Registry(_)) {
            return None;
        }
        if self.kind.is_lock() {
            return Some(e.spec.clone());
        }
        version::exact(self.kind.ecosystem(), &e.spec)
    }

    fn entries(&self, before: &[Entry], after: &[Entry], out: &mut FileDependencies) {
        type Group<'e> = BTreeMap<(&'e str, &'e str), Vec<&'e Entry>>;
        fn group(entries: &[Entry]) -> Group<'_> {
            let mut g: Group<'_> = BTreeMap::new();
            for e in entries {
                g.entry((e.section.as_str(), e.name.as_str()))
                    .or_default()
                    .push(e);
            }
            g
        }
        let (gb, ga) = (group(before), group(after));
        let mut keys: Vec<(&str, &str)> = gb.keys().chain(ga.keys()).copied().collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let old = gb.get(&key).map(Vec::as_slice).unwrap_or_default();
            let new = ga.get(&key).map(Vec::as_slice).unwrap_or_default();
            self.group(old, new, out);
        }
    }

    /// One name in one section: the entries before and after (several in a lockfile).
    fn group(&self, old: &[&Entry], new: &[&Entry], out: &mut FileDependencies) {
        let gone: Vec<&Entry> = old
            .iter()
            .filter(|o| !new.iter().any(|n| n.spec == o.spec))
            .copied()
            .collect();
        let came: Vec<&Entry> = new
            .iter()
            .filter(|n| !old.iter().any(|o| o.spec == n.spec))
            .copied()
            .collect();
        // The same spec on both sides: the source, checksum or script flag may still differ.
        for n in new {
            if let Some(o) = old.iter().find(|o| o.spec == n.spec)
                && (o.source != n.source
                    || o.checksum != n.checksum
                    || o.install_script != n.install_script)
            {
                self.same_spec(o, n, out);
            }
        }
        match (gone.as_slice(), came.as_slice()) {
            ([], []) => {}
            ([o], [n]) => self.changed(o, n, out),
            _ => {
                // Several versions of one package (a lockfile): pair each new version with a
                // removed one of the same compatible line, if any.
                let eco = self.kind.ecosystem();
                let mut unpaired: Vec<&Entry> = gone.clone();
                for n in &came {
                    let line = version::line(eco, &n.spec);
                    if let Some(i) = unpaired
                        .iter()
                        .position(|o| line.is_some() && version::line(eco, &o.spec) == line)
                    {
                        let o = unpaired.remove(i);
                        self.changed(o, n, out);
                    } else {
                        self.added(n, !old.is_empty(), out);
                    }
                }
                for o in unpaired {
                    self.removed(o, !new.is_empty(), out);
                }
            }
        }
    }

    fn added(&self, e: &Entry, other_versions: bool, out: &mut FileDependencies) {
        let mut c = self.change(e, Change::Added);
        c.new = Some(e.spec.clone());
        c.version = self.pinned(e);
        let what = if self.kind.is_lock() {
            "new locked package"
        } else {
            "new dependency"
        };
        let path = self.path;
        let (name, spec, section) = (&e.name, &e.spec, &e.section);
        let spec_txt = if spec.is_empty() {
            String::new()
        } else {
            format!(" {spec}")
        };
        let located = if self.kind.is_lock() {
            String::new()
        } else {
            format!(" in `{section}`")
        };
        if section == "patch" || section.starts_with("patch.") || section == "replace" {
            c.findings.push(finding(
                Rule::RegistryOverride,
                format!(
                    "`{path}`: `{name}` overridden in `[{section}]` by {}; every build uses it instead of the registry's",
                    e.source
                ),
            ));
        } else {
            self.source_rule(e, &format!("{what} `{name}`{spec_txt}{located}"), &mut c);
            if self.kind.is_lock()
                && other_versions
                && c.findings.iter().all(|f| f.rule == Rule::NewRegistry)
            {
                // Another compatible line of a package already locked.
                c.findings.clear();
                c.findings.push(finding(
                    Rule::NewRegistry,
                    format!("`{path}`: another version of `{name}` locked:{spec_txt}"),
                ));
            }
        }
        if e.install_script {
            c.findings.push(finding(
                Rule::InstallScript,
                format!("`{path}`: locked package `{name}`{spec_txt} runs an install script (`hasInstallScript`)"),
            ));
        }
        if let Some(hit) = typo::check(self.kind.ecosystem(), name) {
            c.findings.push(finding(
                Rule::Typosquat,
                format!("`{path}`: `{name}` {hit}, and is not itself a well-known package"),
            ));
        }
        out.changes.push(c);
    }

    /// The rule for a dependency by where it comes from.
    fn source_rule(&self, e: &Entry, what: &str, c: &mut DependencyChange) {
        let path = self.path;
        let (rule, reason) = match &e.source {
            Source::Registry(None) | Source::Workspace => {
                (Rule::NewRegistry, format!("`{path}`: {what} (registry)"))
            }
            Source::Registry(Some(r)) => (
                Rule::NonRegistry,
                format!("`{path}`: {what} from another registry `{r}`"),
            ),
            Source::Git(url) => (
                Rule::NonRegistry,
                format!("`{path}`: {what} from git `{url}`"),
            ),
            Source::Url(url) => (
                Rule::NonRegistry,
                format!("`{path}`: {what} from URL `{url}`"),
            ),
            Source::Path(p) if path_escapes(path, p) => (
                Rule::NonRegistry,
                format!("`{path}`: {what} from path `{p}` outside the workspace"),
            ),
            Source::Path(p) => (
                Rule::LocalPath,
                format!("`{path}`: {what} from local path `{p}`"),
            ),
        };
        c.findings.push(finding(rule, reason));
    }

    fn removed(&self, e: &Entry, other_versions: bool, out: &mut FileDependencies) {
        let mut c = self.change(e, Change::Removed);
        c.old = Some(e.spec.clone());
        let path = self.path;
        let name = &e.name;
        if self.kind.is_lock() || other_versions {
            c.findings.push(finding(
                Rule::LockRefresh,
                format!("`{path}`: `{name}` {} no longer locked", e.spec),
            ));
        } else if let Some(files) = self.still_imported(e) {
            c.findings.push(finding(
                Rule::RemovedInUse,
                format!(
                    "`{path}`: dependency `{name}` removed from `{}` but still imported in {files}",
                    e.section
                ),
            ));
        } else {
            c.findings.push(finding(
                Rule::Removed,
                format!("`{path}`: dependency `{name}` removed from `{}`", e.section),
            ));
        }
        out.changes.push(c);
    }

    /// The files of workspace code that still name a removed dependency's import name.
    fn still_imported(&self, e: &Entry) -> Option<String> {
        let index = self.index?;
        let (ident, exts): (String, &[&str]) = match self.kind.ecosystem() {
            Ecosystem::Crates => (e.name.replace('-', "_"), &["rs"]),
            Ecosystem::PyPi => (
                e.name.to_ascii_lowercase().replace(['-', '.'], "_"),
                &["py"],
            ),
            Ecosystem::Npm => (e.name.clone(), &["js", "mjs", "cjs", "ts", "tsx", "jsx"]),
            Ecosystem::Go => (
                e.name.rsplit('/').next().unwrap_or(&e.name).to_owned(),
                &["go"],
            ),
        };
        if ident.is_empty() || !ident.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        let files: Vec<String> = index
            .references(&ident)
            .files
            .into_iter()
            .filter(|f| {
                f.rsplit_once('.')
                    .is_some_and(|(_, ext)| exts.contains(&ext))
            })
            .collect();
        if files.is_empty() {
            return None;
        }
        let shown: Vec<String> = files.iter().take(3).map(|f| format!("`{f}`")).collect();
        let more = if files.len() > 3 {
            format!(" and {} more", files.len() - 3)
        } else {
            String::new()
        };
        Some(format!("{}{more}", shown.join(", ")))
    }

    fn changed(&self, o: &Entry, n: &Entry, out: &mut FileDependencies) {
        let mut c = self.change(n, Change::Changed);
        c.old = Some(o.spec.clone());
        c.new = Some(n.spec.clone());
        c.version = self.pinned(n);
        let path = self.path;
        let name = &n.name;
        let eco = self.kind.ecosystem();
        let (os, ns) = (&o.spec, &n.spec);
        if o.source != n.source {
            self.source_swap(o, n, &mut c);
        }
        let (ov, nv) = (version::lowest(&o.spec), version::lowest(&n.spec));
        let cmp = match (&ov, &nv) {
            (Some(a), Some(b)) => Some(version::compare(a, b)),
            _ => None,
        };
        match cmp {
            Some(std::cmp::Ordering::Greater) => c.findings.push(finding(
                Rule::Downgrade,
                format!("`{path}`: `{name}` downgraded {os} → {ns}"),
            )),
            Some(_) if version::line(eco, os) != version::line(eco, ns) => c.findings.push(finding(
                Rule::MajorBump,
                format!("`{path}`: `{name}` major-version bump {os} → {ns} (breaking changes are allowed)"),
            )),
            Some(_) if self.kind.is_lock() => c.findings.push(finding(
                Rule::LockRefresh,
                format!("`{path}`: `{name}` {os} → {ns}, within its compatible line"),
            )),
            Some(_) => c.findings.push(finding(
                Rule::RequirementChange,
                format!("`{path}`: `{name}` requirement {os} → {ns}, within its compatible line"),
            )),
            None => c.findings.push(finding(
                Rule::RequirementChange,
                format!("`{path}`: `{name}` requirement `{os}` → `{ns}`"),
            )),
        }
        if n.install_script && !o.install_script {
            c.findings.push(finding(
                Rule::InstallScript,
                format!("`{path}`: locked package `{name}` {ns} now runs an install script (`hasInstallScript`)"),
            ));
        }
        out.changes.push(c);
    }

    /// A source that differs between two entries of one package.
    fn source_swap(&self, o: &Entry, n: &Entry, c: &mut DependencyChange) {
        let path = self.path;
        let name = &n.name;
        if self.kind.is_lock() {
            c.findings.push(finding(
                Rule::LockSourceSwap,
                format!(
                    "`{path}`: `{name}` source changed from {} to {}",
                    o.source, n.source
                ),
            ));
        } else if matches!(n.source, Source::Registry(None) | Source::Workspace) {
            c.findings.push(finding(
                Rule::RequirementChange,
                format!(
                    "`{path}`: `{name}` now from {} (was {})",
                    n.source, o.source
                ),
            ));
        } else {
            self.source_rule(n, &format!("`{name}` now comes"), c);
        }
    }

    /// The same package version on both sides, with another source, checksum or script flag.
    fn same_spec(&self, o: &Entry, n: &Entry, out: &mut FileDependencies) {
        let mut c = self.change(n, Change::Changed);
        c.old = Some(o.spec.clone());
        c.new = Some(n.spec.clone());
        c.version = self.pinned(n);
        let path = self.path;
        let (name, spec) = (&n.name, &n.spec);
        if o.source != n.source {
            self.source_swap(o, n, &mut c);
        }
        if o.checksum != n.checksum {
            c.findings.push(finding(
                Rule::LockSourceSwap,
                format!(
                    "`{path}`: `{name}` {spec}: checksum changed with no version change ({} → {})",
                    short(o.checksum.as_deref()),
                    short(n.checksum.as_deref())
                ),
            ));
        }
        if n.install_script && !o.install_script {
            c.findings.push(finding(
                Rule::InstallScript,
                format!("`{path}`: locked package `{name}` {spec} now runs an install script (`hasInstallScript`)"),
            ));
        }
        if !c.findings.is_empty() {
            out.changes.push(c);
        }
    }

    fn settings(&self, before: &[Setting], after: &[Setting], out: &mut FileDependencies) {
        let key = |s: &Setting| (s.section.clone(), s.key.clone());
        type Sides<'s> = (Option<&'s Setting>, Option<&'s Setting>);
        let mut map: BTreeMap<(String, String), Sides<'_>> = BTreeMap::new();
        for s in before {
            map.entry(key(s)).or_default().0 = Some(s);
        }
        for s in after {
            map.entry(key(s)).or_default().1 = Some(s);
        }
        let path = self.path;
        for ((section, k), (o, n)) in map {
            let (change, rule, reason) = match (o, n) {
                (Some(o), Some(n)) if o.value == n.value => continue,
                (Some(o), Some(n)) => (
                    Change::Changed,
                    n.rule,
                    format!(
                        "`{path}`: {} `{k}` changed: `{}` → `{}`",
                        label(n.rule),
                        clip(&o.value),
                        clip(&n.value)
                    ),
                ),
                (None, Some(n)) => (
                    Change::Added,
                    n.rule,
                    format!(
                        "`{path}`: new {} `{k}`: `{}`",
                        label(n.rule),
                        clip(&n.value)
                    ),
                ),
                (Some(o), None) => (
                    Change::Removed,
                    if o.rule == Rule::RequirementChange {
                        Rule::RequirementChange
                    } else {
                        Rule::Removed
                    },
                    format!("`{path}`: {} `{k}` removed", label(o.rule)),
                ),
                (None, None) => continue,
            };
            out.changes.push(DependencyChange {
                file: path.to_owned(),
                ecosystem: self.kind.ecosystem(),
                section,
                name: k,
                change,
                old: o.map(|s| s.value.clone()),
                new: n.map(|s| s.value.clone()),
                source: None,
                version: None,
                findings: vec![finding(rule, reason)],
                advisories: Vec::new(),
                unchecked: None,
            });
        }
    }
}

fn label(rule: Rule) -> &'static str {
    match rule {
        Rule::InstallScript => "install/build script",
        Rule::RegistryOverride => "registry/index setting",
        _ => "setting",
    }
}

/// A value shown in a reason: one line, at most 120 characters.
fn clip(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 120 {
        let cut: String = one.chars().take(117).collect();
        format!("{cut}...")
    } else {
        one
    }
}

fn short(checksum: Option<&str>) -> String {
    match checksum {
        None => "none".to_owned(),
        Some(c) => c.chars().take(16).collect(),
    }
}

/// Whether `dep` (a path written in the manifest at `manifest`) leaves the workspace root.
fn path_escapes(manifest: &str, dep: &str) -> bool {
    let dep = dep.replace('\\', "/");
    let dep = dep.strip_prefix("file:").unwrap_or(&dep);
    if dep.starts_with('/') || dep.starts_with('~') || dep.get(1..3) == Some(":/") {
        return true;
    }
    let mut depth: i64 = manifest.replace('\\', "/").matches('/').count() as i64;
    for part in dep.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_workspace_are_told_apart() {
        assert!(!path_escapes("Cargo.toml", "crates/a"));
        assert!(!path_escapes("crates/b/Cargo.toml", "../a"));
        assert!(path_escapes("crates/b/Cargo.toml", "../../../a"));
        assert!(path_escapes("Cargo.toml", "../sibling"));
        assert!(path_escapes("package.json", "/opt/x"));
        assert!(path_escapes("package.json", "file:../x"));
    }

    #[test]
    fn file_kinds_by_name() {
        assert_eq!(FileKind::of("a/Cargo.toml"), Some(FileKind::CargoToml));
        assert_eq!(
            FileKind::of("requirements-dev.txt"),
            Some(FileKind::Requirements)
        );
        assert_eq!(
            FileKind::of(".cargo/config.toml"),
            Some(FileKind::CargoConfig)
        );
        assert_eq!(FileKind::of("config.toml"), None);
        assert_eq!(FileKind::of("src/main.rs"), None);
    }
}
