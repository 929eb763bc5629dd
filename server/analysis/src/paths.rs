//! Path rules the analyzer needs: protected globs, `.git/` and out-of-workspace paths.
//!
//! Paths are compared in their *folded* form ([`fold`]): the form under which the file systems
//! autogate may run on (case-insensitive APFS and NTFS, HFS+, Windows' trailing dots and
//! spaces) name the same file. `.GIT/config`, `.git./config`, `.Ｇｉｔ/config` and
//! `.g\u{200c}it/config` are all `.git/config` somewhere, so all of them are treated as it.

use std::borrow::Cow;

/// The files that steer agents, editors and CI, listed once and spelled two ways: in the
/// default protected paths ([`DEFAULT_PROTECTED`], which the team file may `unprotect` by
/// their exact spelling) and in the self-protection list ([`PROTECTED_CONFIG`], never
/// unprotected). Each entry is
///
/// - `file GLOB`: a file name, matched at any depth (a pattern without `/`), the same in both;
/// - `folder NAME`: everything under a folder of that name at any depth, `**/NAME/**` in both;
/// - `top_folder NAME`: `NAME/**` (at the workspace root only, where its tool reads it) among
///   the protected paths, and `**/NAME/**` (at any depth) in the self-protection list: a
///   nested `.vscode/` is not raised to high, but it never changes without a person.
macro_rules! control_files {
    ($($kind:ident $glob:literal,)*) => {
        /// The control files in the spelling of the default protected paths.
        const CONTROL_PROTECTED: &[&str] = &[$(control_files!(@protected $kind $glob)),*];

        /// Agent, editor and CI configuration, and the files that steer agents: a change
        /// touching one of these always asks at least, whatever the policy file says (the
        /// self-protection invariant). Not affected by `unprotect`. The same entries as the
        /// first part of [`DEFAULT_PROTECTED`], every folder matched at any depth.
        pub const PROTECTED_CONFIG: &[&str] = &[$(control_files!(@config $kind $glob)),*];
    };
    (@protected file $glob:literal) => { $glob };
    (@protected folder $glob:literal) => { concat!("**/", $glob, "/**") };
    (@protected top_folder $glob:literal) => { concat!($glob, "/**") };
    (@config file $glob:literal) => { $glob };
    (@config folder $glob:literal) => { concat!("**/", $glob, "/**") };
    (@config top_folder $glob:literal) => { concat!("**/", $glob, "/**") };
}

control_files! {
    // Agent, editor and CI configuration.
    file ".autogate.toml",
    top_folder ".vscode",
    top_folder ".github",
    file ".gitlab-ci.yml",
    top_folder ".claude",
    top_folder ".helix",
    // Files that steer agents.
    file ".mcp.json",
    file "AGENTS.md",
    file "CLAUDE.md",
    file "CLAUDE.local.md",
    file "GEMINI.md",
    file "AGENTS.override.md",
    folder ".agents",
    folder ".cursor",
    file ".cursorrules",
    file ".clinerules*",
    folder ".clinerules*",
    folder ".codex",
    folder ".gemini",
    file ".windsurfrules",
    folder ".windsurf",
}

/// The default protected paths after the control files.
const OTHER_PROTECTED: &[&str] = &[
    // Build and hook files that run code.
    "build.rs",
    "Makefile",
    "GNUmakefile",
    "*.mk",
    ".pre-commit-config.yaml",
    "**/.husky/**",
    "setup.py",
    // Version-control control files.
    ".gitattributes",
    ".gitmodules",
    // Environment files.
    ".env*",
    // Dependency manifests, and the lock files the analyzer does not read entry by entry
    // (`Cargo.lock`, `package-lock.json` and `go.sum` are rated by what they change).
    "Cargo.toml",
    "package.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "pyproject.toml",
    "requirements*.txt",
    "poetry.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.cfg",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
    // Containers, databases, infrastructure.
    "Dockerfile*",
    "**/migrations/**",
    "*.sql",
    "*.tf",
    "*.tfvars",
];

/// `a` then `b`, as an array of `N` (their total length) in a constant.
const fn concat<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    assert!(a.len() + b.len() == N, "N is the total length");
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[a.len() + j] = b[j];
        j += 1;
    }
    out
}

const DEFAULT_ARRAY: [&str; CONTROL_PROTECTED.len() + OTHER_PROTECTED.len()] =
    concat(CONTROL_PROTECTED, OTHER_PROTECTED);

/// Default protected paths: a change touching one is high at least: the control files (listed
/// once with [`PROTECTED_CONFIG`], above), then build and hook files,
/// version-control control files, environment files, dependency manifests, containers,
/// databases and infrastructure.
///
/// Patterns without `/` match the file name at any depth (a nested `Makefile`, `build.rs` or
/// `AGENTS.md` is read by its tool too); matching is case-insensitive and Unicode-normalised
/// (see [`fold`]). The policy crate starts from this list: the team file may `unprotect`
/// any of these except the policy file.
pub const DEFAULT_PROTECTED: &[&str] = &DEFAULT_ARRAY;

use globset::{GlobSet, GlobSetBuilder};
use icu_normalizer::ComposingNormalizerBorrowed;

/// Code points HFS+ ignores in file names (git's `is_hfs_dotgit` list): zero-width joiners and
/// direction marks. `.g\u{200c}it` is `.git` there.
fn hfs_ignorable(c: char) -> bool {
    matches!(c, '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}')
}

/// A path's folded form: backslashes as `/`, NFKC-normalised (fullwidth and compatibility
/// forms become their plain letters), HFS+-ignorable code points removed, lower-cased, and
/// trailing dots and spaces of each component removed (Windows drops them: `Makefile.` is
/// `Makefile`). `.` and `..` stay as they are.
pub fn fold(path: &str) -> String {
    let slashed: Cow<'_, str> = if path.contains('\\') {
        Cow::Owned(path.replace('\\', "/"))
    } else {
        Cow::Borrowed(path)
    };
    let normalized = ComposingNormalizerBorrowed::new_nfkc().normalize(&slashed);
    let cleaned: String = normalized.chars().filter(|&c| !hfs_ignorable(c)).collect();
    let lower = cleaned.to_lowercase();
    // Lower-casing may leave a non-normalised form (rare); normalise once more.
    let lower = ComposingNormalizerBorrowed::new_nfkc().normalize(&lower);
    lower
        .split('/')
        .map(|c| match c {
            "." | ".." => c,
            _ => c.trim_end_matches(['.', ' ']),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether one path component names the `.git` directory on some file system: any case or
/// normalisation form, trailing dots or spaces (Windows), an NTFS stream suffix
/// (`.git::$INDEX_ALLOCATION`), or the 8.3 short name `git~1`.
pub fn is_git_dir_name(component: &str) -> bool {
    let folded = fold(component);
    let name = folded.split(':').next().unwrap_or(&folded);
    let name = name.trim_end_matches(['.', ' ']);
    name == ".git" || is_short_git_name(name)
}

/// `git~1`, `git~2`, ...: NTFS 8.3 short names that may alias `.git`.
fn is_short_git_name(name: &str) -> bool {
    name.strip_prefix("git~")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A compiled set of protected-path globs, remembering which pattern matched.
///
/// Matching is on folded forms ([`fold`]) of both the globs and the path: case-insensitive,
/// Unicode-normalised, trailing dots and spaces ignored.
#[derive(Clone, Debug)]
pub struct ProtectedPaths {
    patterns: Vec<String>,
    set: GlobSet,
}

impl ProtectedPaths {
    /// Compiles `patterns` (gitignore-like globs matched against workspace-relative paths).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let folded = fold_glob(pattern.as_ref());
            builder.add(
                globset::GlobBuilder::new(&folded)
                    .literal_separator(true)
                    .case_insensitive(true)
                    .build()?,
            );
        }
        Ok(Self {
            patterns: patterns.iter().map(|p| p.as_ref().to_owned()).collect(),
            set: builder.build()?,
        })
    }

    pub fn empty() -> Self {
        Self {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        }
    }

    /// The first pattern matching `path`, if any. A pattern without `/` also matches the file
    /// name anywhere in the tree (`Dockerfile*` matches `deploy/Dockerfile.prod`).
    pub fn matching(&self, path: &str) -> Option<&str> {
        let path = fold(path);
        let file_name = path.rsplit('/').next().unwrap_or(&path);
        self.set
            .matches(&path)
            .into_iter()
            .next()
            .or_else(|| {
                self.set
                    .matches(file_name)
                    .into_iter()
                    .find(|&i| !self.patterns[i].contains('/'))
            })
            .map(|i| self.patterns[i].as_str())
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

/// A glob in the folded form of the paths it is matched against: NFKC, lower-cased. (Its
/// trailing dots are kept: they may be glob syntax.)
fn fold_glob(pattern: &str) -> String {
    ComposingNormalizerBorrowed::new_nfkc()
        .normalize(&pattern.to_lowercase())
        .into_owned()
}

/// Why a path must never be written, whatever the policy says.
///
/// `.git` is recognised in every form a file system may take for it ([`is_git_dir_name`]),
/// at any depth; `.autogate` in any case at the root.
pub fn forbidden_path(path: &str) -> Option<&'static str> {
    let normalized = path.replace('\\', "/");
    if normalized.starts_with('/') || normalized.get(1..3) == Some(":/") {
        return Some("path is outside the workspace root");
    }
    let mut depth = 0i32;
    for component in normalized.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return Some("path is outside the workspace root");
                }
            }
            _ if is_git_dir_name(component) => return Some("path is inside .git/"),
            _ if depth == 0 && fold(component).split(':').next() == Some(".autogate") => {
                return Some("path is inside .autogate/");
            }
            _ => depth += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two lists as they were written out by hand before they were derived from one.
    const WRITTEN_PROTECTED: &[&str] = &[
        ".autogate.toml",
        ".vscode/**",
        ".github/**",
        ".gitlab-ci.yml",
        ".claude/**",
        ".helix/**",
        ".mcp.json",
        "AGENTS.md",
        "CLAUDE.md",
        "CLAUDE.local.md",
        "GEMINI.md",
        "AGENTS.override.md",
        "**/.agents/**",
        "**/.cursor/**",
        ".cursorrules",
        ".clinerules*",
        "**/.clinerules*/**",
        "**/.codex/**",
        "**/.gemini/**",
        ".windsurfrules",
        "**/.windsurf/**",
        "build.rs",
        "Makefile",
        "GNUmakefile",
        "*.mk",
        ".pre-commit-config.yaml",
        "**/.husky/**",
        "setup.py",
        ".gitattributes",
        ".gitmodules",
        ".env*",
        "Cargo.toml",
        "package.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "pyproject.toml",
        "requirements*.txt",
        "poetry.lock",
        "uv.lock",
        "Pipfile",
        "Pipfile.lock",
        "setup.cfg",
        "go.mod",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "Gemfile",
        "Gemfile.lock",
        "composer.json",
        "composer.lock",
        "Dockerfile*",
        "**/migrations/**",
        "*.sql",
        "*.tf",
        "*.tfvars",
    ];
    const WRITTEN_CONFIG: &[&str] = &[
        ".autogate.toml",
        "**/.vscode/**",
        "**/.github/**",
        ".gitlab-ci.yml",
        "**/.claude/**",
        "**/.helix/**",
        ".mcp.json",
        "AGENTS.md",
        "CLAUDE.md",
        "CLAUDE.local.md",
        "GEMINI.md",
        "AGENTS.override.md",
        "**/.agents/**",
        "**/.cursor/**",
        ".cursorrules",
        ".clinerules*",
        "**/.clinerules*/**",
        "**/.codex/**",
        "**/.gemini/**",
        ".windsurfrules",
        "**/.windsurf/**",
    ];

    #[test]
    fn the_derived_lists_are_the_lists_written_before_and_match_the_same_paths() {
        assert_eq!(PROTECTED_CONFIG, WRITTEN_CONFIG);
        assert_eq!(DEFAULT_PROTECTED, WRITTEN_PROTECTED);
        // The same matching, pattern by pattern, on paths at the root and nested.
        let paths = [
            ".autogate.toml",
            "sub/.autogate.toml",
            ".vscode/settings.json",
            "sub/.vscode/settings.json",
            ".github/workflows/ci.yml",
            "pkg/.github/x.yml",
            ".gitlab-ci.yml",
            "a/.gitlab-ci.yml",
            ".claude/settings.json",
            "a/.claude/x",
            ".helix/config.toml",
            "a/.helix/x",
            ".mcp.json",
            "x/.mcp.json",
            "AGENTS.md",
            "docs/AGENTS.md",
            "AGENTS.override.md",
            "a/b/AGENTS.override.md",
            ".agents/x",
            "a/.agents/skills/x.md",
            ".cursor/rules/x.mdc",
            "a/.cursor/x",
            ".cursorrules",
            ".clinerules",
            ".clinerules-x",
            ".clinerules/a.md",
            "a/.clinerules/b.md",
            ".codex/config.toml",
            "a/.codex/x",
            ".gemini/x",
            "a/.gemini/x",
            ".windsurfrules",
            ".windsurf/rules/x.md",
            "CLAUDE.md",
            "CLAUDE.local.md",
            "GEMINI.md",
            "src/main.rs",
            "vscode/x",
            "x.vscode/y",
            ".VSCode/Settings.json",
            "Makefile",
            "build.rs",
            ".env",
            "Cargo.toml",
        ];
        for (derived, written) in [
            (DEFAULT_PROTECTED, WRITTEN_PROTECTED),
            (PROTECTED_CONFIG, WRITTEN_CONFIG),
        ] {
            let derived = ProtectedPaths::new(derived).unwrap();
            let written = ProtectedPaths::new(written).unwrap();
            for path in paths {
                assert_eq!(derived.matching(path), written.matching(path), "{path}");
            }
        }
        // Why the spellings differ: a nested `.vscode/` is not a protected path, but it is
        // agent configuration.
        let protected = ProtectedPaths::new(DEFAULT_PROTECTED).unwrap();
        let config = ProtectedPaths::new(PROTECTED_CONFIG).unwrap();
        assert_eq!(protected.matching("sub/.vscode/settings.json"), None);
        assert_eq!(
            config.matching("sub/.vscode/settings.json"),
            Some("**/.vscode/**")
        );
    }

    #[test]
    fn protected_patterns_match_anywhere_by_file_name() {
        let protected =
            ProtectedPaths::new(&["Dockerfile*", ".github/**", "*.sql"]).expect("valid globs");
        assert_eq!(
            protected.matching("deploy/Dockerfile.prod"),
            Some("Dockerfile*")
        );
        assert_eq!(
            protected.matching(".github/workflows/ci.yml"),
            Some(".github/**")
        );
        assert_eq!(protected.matching("db/001_init.sql"), Some("*.sql"));
        assert_eq!(protected.matching("src/main.rs"), None);
    }

    #[test]
    fn forbidden_paths() {
        assert_eq!(
            forbidden_path("../etc/passwd"),
            Some("path is outside the workspace root")
        );
        assert_eq!(
            forbidden_path("a/../../b"),
            Some("path is outside the workspace root")
        );
        assert_eq!(
            forbidden_path("/etc/passwd"),
            Some("path is outside the workspace root")
        );
        assert_eq!(forbidden_path(".git/config"), Some("path is inside .git/"));
        assert_eq!(
            forbidden_path("sub/.git/hooks/pre-commit"),
            Some("path is inside .git/")
        );
        assert_eq!(forbidden_path("src/a/../b.rs"), None);
        assert_eq!(forbidden_path(".github/x"), None);
    }

    #[test]
    fn git_dir_in_every_file_system_spelling_is_forbidden() {
        for path in [
            ".GIT/config",
            ".Git/hooks/pre-commit",
            "sub/.gIt/config",
            ".git./config",
            ".git /config",
            ".git. . /config",
            ".git::$INDEX_ALLOCATION/config",
            "GIT~1/config",
            ".\u{ff27}\u{ff29}\u{ff34}/config",
            ".g\u{200c}it/config",
            "\u{feff}.git/config",
            ".git\\config",
        ] {
            assert_eq!(
                forbidden_path(path),
                Some("path is inside .git/"),
                "{path:?} must be forbidden"
            );
        }
        assert_eq!(
            forbidden_path(".AutoGate/audit.jsonl"),
            Some("path is inside .autogate/")
        );
        for fine in [
            ".github/x",
            "git~x/a",
            ".gitignore",
            "src/.gitkeep",
            "docs/git.md",
        ] {
            assert_eq!(forbidden_path(fine), None, "{fine:?}");
        }
    }

    #[test]
    fn protected_matching_ignores_case_normalisation_and_trailing_dots() {
        let protected = ProtectedPaths::new(&[".github/**", "Makefile", "AGENTS.md", "*.mk"])
            .expect("valid globs");
        for (path, pattern) in [
            (".Github/workflows/evil.yml", ".github/**"),
            (".GITHUB/workflows/evil.yml", ".github/**"),
            (".\u{ff47}ithub/workflows/evil.yml", ".github/**"),
            (".git\u{200d}hub/workflows/evil.yml", ".github/**"),
            ("makefile", "Makefile"),
            ("sub/MAKEFILE.", "Makefile"),
            ("tools/Agents.md", "AGENTS.md"),
            ("rules/BUILD.MK", "*.mk"),
        ] {
            assert_eq!(protected.matching(path), Some(pattern), "{path:?}");
        }
        assert_eq!(protected.matching("src/makefile.rs"), None);
    }
}
