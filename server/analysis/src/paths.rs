//! Path rules the analyzer needs: protected globs, `.git/` and out-of-workspace paths.

use globset::{GlobSet, GlobSetBuilder};

/// A compiled set of protected-path globs, remembering which pattern matched.
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
            builder.add(
                globset::GlobBuilder::new(pattern.as_ref())
                    .literal_separator(true)
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
        let file_name = path.rsplit('/').next().unwrap_or(path);
        self.set
            .matches(path)
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

/// Why a path must never be written, whatever the policy says.
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
            ".git" => return Some("path is inside .git/"),
            ".autogate" if depth == 0 => return Some("path is inside .autogate/"),
            _ => depth += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
