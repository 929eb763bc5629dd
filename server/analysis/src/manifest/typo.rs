//! Typosquat detection: a name close to a well-known package that is not itself well known.
//!
//! The well-known names are data (`data/popular/<ecosystem>.txt`, each with a header line
//! saying where it came from). Closeness is the Damerau-Levenshtein distance (one letter
//! added, dropped, replaced, or two neighbours swapped) on names normalised the way the
//! registry compares them, plus the usual tricks: separators swapped or dropped (`-`, `_`,
//! `.`), a `python-`/`py`/`node-` prefix, a `js`/`-js`/`.js` suffix, and a scope dropped or
//! added (`@types/node` → `types-node`).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use super::Ecosystem;

const CRATES: &str = include_str!("../../data/popular/crates.io.txt");
const NPM: &str = include_str!("../../data/popular/npm.txt");
const PYPI: &str = include_str!("../../data/popular/pypi.txt");
const GO: &str = include_str!("../../data/popular/go.txt");

/// The well-known names of an ecosystem, normalised.
pub fn popular(eco: Ecosystem) -> &'static BTreeSet<String> {
    static SETS: OnceLock<[BTreeSet<String>; 4]> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        let load = |eco: Ecosystem, text: &str| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| normalize(eco, l))
                .collect()
        };
        [
            load(Ecosystem::Crates, CRATES),
            load(Ecosystem::Npm, NPM),
            load(Ecosystem::PyPi, PYPI),
            load(Ecosystem::Go, GO),
        ]
    });
    &sets[match eco {
        Ecosystem::Crates => 0,
        Ecosystem::Npm => 1,
        Ecosystem::PyPi => 2,
        Ecosystem::Go => 3,
    }]
}

/// A name as the registry compares names: crates.io treats `-` and `_` alike; PyPI (PEP 503)
/// folds case and runs of `-`, `_`, `.`; npm and Go names are compared in lower case.
pub fn normalize(eco: Ecosystem, name: &str) -> String {
    let lower = name.trim().to_lowercase();
    match eco {
        Ecosystem::Crates => lower.replace('_', "-"),
        Ecosystem::PyPi => {
            let mut out = String::with_capacity(lower.len());
            for c in lower.chars() {
                let c = if matches!(c, '_' | '.') { '-' } else { c };
                if !(c == '-' && out.ends_with('-')) {
                    out.push(c);
                }
            }
            out
        }
        Ecosystem::Npm | Ecosystem::Go => lower,
    }
}

fn strip_separators(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .collect()
}

/// Why `name` looks like a typosquat of a well-known package (`is one letter from
/// \`requests\``), or `None`.
pub fn check(eco: Ecosystem, name: &str) -> Option<String> {
    let known = popular(eco);
    let n = normalize(eco, name);
    if n.is_empty() || known.contains(&n) {
        return None;
    }
    // The tricks first: they name the trick.
    let bare = strip_separators(&n);
    let mut affixed: Vec<(String, &str)> = Vec::new();
    for prefix in ["python-", "python", "py-", "py", "node-", "node"] {
        if let Some(rest) = n.strip_prefix(prefix) {
            affixed.push((rest.to_owned(), "adds a prefix to"));
        }
    }
    for suffix in ["-js", ".js", "js", "-python", "-py", "-node"] {
        if let Some(rest) = n.strip_suffix(suffix) {
            affixed.push((rest.to_owned(), "adds a suffix to"));
        }
    }
    if let Some((scope, rest)) = n.strip_prefix('@').and_then(|s| s.split_once('/')) {
        affixed.push((rest.to_owned(), "puts a scope on"));
        affixed.push((format!("{scope}-{rest}"), "puts a scope on"));
    }
    for p in known {
        if p.len() < 3 {
            continue;
        }
        if strip_separators(p) == bare && bare.len() >= 4 {
            return Some(format!(
                "differs from the well-known `{p}` only in its separators"
            ));
        }
        if let Some((_, how)) = affixed.iter().find(|(rest, _)| rest == p && p.len() >= 4) {
            return Some(format!("{how} the well-known `{p}`"));
        }
        if let Some(unscoped) = p.strip_prefix('@').and_then(|s| s.split_once('/'))
            && (n == format!("{}-{}", unscoped.0, unscoped.1) || n == unscoped.1)
            && n.len() >= 5
        {
            return Some(format!("drops the scope of the well-known `{p}`"));
        }
    }
    // Then one or two edits away.
    let mut best: Option<(usize, &String)> = None;
    for p in known {
        // Paths under the same parent (`golang.org/x/term`, `golang.org/x/text`; `@types/a`,
        // `@types/b`) are compared by their last segment: a long shared prefix is no
        // closeness.
        let (a, b) = match (n.rsplit_once('/'), p.rsplit_once('/')) {
            (Some((np, nl)), Some((pp, pl))) if np == pp => (nl, pl),
            _ => (n.as_str(), p.as_str()),
        };
        let shortest = a.chars().count().min(b.chars().count());
        if shortest < 4 || a.len().abs_diff(b.len()) > 2 {
            continue;
        }
        let d = strsim::damerau_levenshtein(a, b);
        let close = d == 1 || (d == 2 && shortest >= 9);
        if close && best.is_none_or(|(bd, bp)| (d, p) < (bd, bp)) {
            best = Some((d, p));
        }
    }
    let (d, p) = best?;
    let how = if d == 2 {
        "is two letters from".to_owned()
    } else if swapped(&n, p) {
        "swaps two letters of".to_owned()
    } else {
        "is one letter from".to_owned()
    };
    Some(format!("{how} the well-known `{p}`"))
}

/// Whether `a` is `b` with two neighbouring letters swapped.
fn swapped(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() != b.len() {
        return false;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    matches!(diff.as_slice(), [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_names_are_not_typosquats() {
        for (eco, name) in [
            (Ecosystem::PyPi, "requests"),
            (Ecosystem::PyPi, "Requests"),
            (Ecosystem::Crates, "serde_json"),
            (Ecosystem::Crates, "serde-json"),
            (Ecosystem::Npm, "lodash"),
            (Ecosystem::Go, "github.com/stretchr/testify"),
        ] {
            assert_eq!(check(eco, name), None, "{name}");
        }
    }

    #[test]
    fn the_usual_tricks_are_named() {
        let hit = |eco, name| check(eco, name).unwrap_or_default();
        assert!(
            hit(Ecosystem::PyPi, "reqeusts")
                .contains("swaps two letters of the well-known `requests`")
        );
        assert!(
            hit(Ecosystem::PyPi, "requestss").contains("one letter from the well-known `requests`")
        );
        assert!(hit(Ecosystem::PyPi, "python-dateutils").contains("`python-dateutil`"));
        assert!(hit(Ecosystem::Npm, "lodashs").contains("`lodash`"));
        assert!(
            hit(Ecosystem::Npm, "expressjs").contains("adds a suffix to the well-known `express`")
        );
        assert!(hit(Ecosystem::Crates, "serde-jsn").contains("`serde-json`"));
        assert!(hit(Ecosystem::Npm, "cross-env.js").contains("`cross-env`"));
        assert!(hit(Ecosystem::Go, "github.com/stretchr/testfy").contains("testify"));
    }

    #[test]
    fn siblings_under_one_parent_are_compared_by_their_last_segment() {
        assert_eq!(check(Ecosystem::Go, "golang.org/x/vuln"), None);
        assert!(check(Ecosystem::Go, "github.com/stretchrr/testify").is_some());
    }

    #[test]
    fn short_and_unrelated_names_stay_quiet() {
        assert_eq!(check(Ecosystem::Crates, "my-internal-tool"), None);
        assert_eq!(check(Ecosystem::Npm, "ab"), None);
    }
}
