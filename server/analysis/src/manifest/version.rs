//! Versions and requirements, as far as the rules need them: the lowest version a requirement
//! names, ordering, the compatible line (semver's "major", `0.x` counted by its minor), and
//! exact pins.
//!
//! This is deliberately small: a requirement's lowest version is the first version number in
//! it (`^1.2`, `>=1.2,<2`, `~=1.2.0`, `v1.2.3`), which is what the bump and downgrade rules
//! compare. Anything it cannot read gives `None`, and the rules then say "requirement changed"
//! at their default level rather than guess a lower one.

use std::cmp::Ordering;

use super::Ecosystem;

/// A parsed version: numeric release components and a pre-release tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub release: Vec<u64>,
    /// The text after the release numbers (`-beta.1`, `rc1`, `+build`); empty for a release.
    pub pre: String,
}

/// The first version number in `spec`, if any.
pub fn lowest(spec: &str) -> Option<Version> {
    let bytes = spec.as_bytes();
    let start = bytes.iter().position(u8::is_ascii_digit)?;
    parse(&spec[start..])
}

/// Parses a version at the start of `s` (`1.2.3-beta`, `2.0`, `1.2.3rc1`).
pub fn parse(s: &str) -> Option<Version> {
    let s = s.trim().trim_start_matches(['v', 'V', '=']);
    let mut release = Vec::new();
    let mut rest = s;
    loop {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        release.push(rest[..digits].parse().ok()?);
        rest = &rest[digits..];
        match rest.strip_prefix('.') {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
            _ => break,
        }
    }
    if release.is_empty() {
        return None;
    }
    let pre: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ';' | '|' | ')' | '<' | '>'))
        .collect();
    let pre = if pre.starts_with('+') || pre == ".*" || pre == ".x" || pre == "*" {
        String::new()
    } else {
        pre
    };
    Some(Version { release, pre })
}

/// Orders two versions: release numbers (missing ones are 0), then a pre-release below the
/// release.
pub fn compare(a: &Version, b: &Version) -> Ordering {
    let n = a.release.len().max(b.release.len());
    for i in 0..n {
        let x = a.release.get(i).copied().unwrap_or(0);
        let y = b.release.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    match (a.pre.is_empty(), b.pre.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.pre.cmp(&b.pre),
    }
}

/// The compatible line of a requirement's lowest version: `(major)`, or for a `0.x` version in
/// the semver ecosystems `(0, minor)` (and `(0, 0, patch)`), as Cargo and npm read a caret.
pub fn line(eco: Ecosystem, spec: &str) -> Option<Vec<u64>> {
    let v = lowest(spec)?;
    let at = |i: usize| v.release.get(i).copied().unwrap_or(0);
    Some(match eco {
        Ecosystem::Crates | Ecosystem::Npm if at(0) == 0 && at(1) == 0 => vec![0, 0, at(2)],
        Ecosystem::Crates | Ecosystem::Npm if at(0) == 0 => vec![0, at(1)],
        _ => vec![at(0)],
    })
}

/// The exact version a manifest requirement pins (`=1.2.3` in Cargo, `1.2.3` in npm,
/// `==1.2.3` in Python, any go.mod version), or `None` for a range.
pub fn exact(eco: Ecosystem, spec: &str) -> Option<String> {
    let s = spec.trim();
    let pinned = match eco {
        Ecosystem::Crates => s.strip_prefix('=')?.trim(),
        Ecosystem::Npm => s.strip_prefix('=').unwrap_or(s).trim(),
        Ecosystem::PyPi => {
            let v = s
                .strip_prefix("===")
                .or_else(|| s.strip_prefix("=="))?
                .trim();
            if v.contains(',') || v.contains('*') {
                return None;
            }
            v
        }
        Ecosystem::Go => s,
    };
    let v = parse(pinned)?;
    let full = pinned
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    let semver_like = matches!(eco, Ecosystem::Crates | Ecosystem::Npm);
    if !full || (semver_like && v.release.len() < 3) {
        return None;
    }
    Some(pinned.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        parse(s).unwrap_or(Version {
            release: vec![],
            pre: s.to_owned(),
        })
    }

    #[test]
    fn versions_order_as_people_read_them() {
        assert_eq!(compare(&v("1.10.0"), &v("1.9.9")), Ordering::Greater);
        assert_eq!(compare(&v("1.2"), &v("1.2.0")), Ordering::Equal);
        assert_eq!(compare(&v("1.0.0-beta"), &v("1.0.0")), Ordering::Less);
        assert_eq!(compare(&v("v1.2.3"), &v("1.2.3")), Ordering::Equal);
    }

    #[test]
    fn requirements_give_their_lowest_version_and_line() {
        assert_eq!(lowest(">=2.19, <3").map(|v| v.release), Some(vec![2, 19]));
        assert_eq!(line(Ecosystem::Crates, "0.4.1"), Some(vec![0, 4]));
        assert_eq!(line(Ecosystem::Npm, "^1.4.0"), Some(vec![1]));
        assert_eq!(line(Ecosystem::PyPi, "~=0.9"), Some(vec![0]));
        assert_eq!(lowest("*"), None);
    }

    #[test]
    fn only_pins_are_exact() {
        assert_eq!(exact(Ecosystem::Crates, "=1.2.3"), Some("1.2.3".into()));
        assert_eq!(exact(Ecosystem::Crates, "1.2.3"), None);
        assert_eq!(exact(Ecosystem::Npm, "4.17.15"), Some("4.17.15".into()));
        assert_eq!(exact(Ecosystem::Npm, "^4.17.15"), None);
        assert_eq!(exact(Ecosystem::PyPi, "==2.19.0"), Some("2.19.0".into()));
        assert_eq!(exact(Ecosystem::PyPi, ">=2.19.0"), None);
        assert_eq!(exact(Ecosystem::PyPi, "==2.*"), None);
        assert_eq!(
            exact(Ecosystem::Go, "v0.0.0-2020-abc"),
            Some("v0.0.0-2020-abc".into())
        );
    }
}
