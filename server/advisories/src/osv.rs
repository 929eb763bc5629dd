//! OSV records: what the rules need from one (id, summary, severity, fixed versions), and the
//! local match of a package version against its `affected` entries.

use std::cmp::Ordering;

use autogate_analysis::manifest::version;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How severe an advisory is, from its own rating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Low,
    Moderate,
    High,
    Critical,
}

/// One advisory as it affects one package version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    pub severity: Severity,
    /// The lowest fixed version above the queried one, if the advisory names one.
    pub fixed: Option<String>,
}

/// Reads the advisory `record` (one OSV JSON document) for `name` at `version` in `ecosystem`:
/// `None` when it is not an OSV record or does not affect that version. `trust_match` skips
/// the version check (the OSV API already matched it).
pub fn read(
    record: &Value,
    ecosystem: &str,
    name: &str,
    ver: &str,
    trust_match: bool,
) -> Option<Advisory> {
    let id = record.get("id")?.as_str()?.to_owned();
    let affected = record.get("affected")?.as_array()?;
    let mut hit = false;
    let mut fixed: Vec<String> = Vec::new();
    let mut severity = rated(record);
    for a in affected {
        let pkg = a.get("package");
        let eco = pkg.and_then(|p| p.get("ecosystem")).and_then(Value::as_str);
        let pname = pkg.and_then(|p| p.get("name")).and_then(Value::as_str);
        if !eco.is_some_and(|e| same_ecosystem(e, ecosystem))
            || !pname.is_some_and(|n| same_name(ecosystem, n, name))
        {
            continue;
        }
        let listed = a
            .get("versions")
            .and_then(Value::as_array)
            .is_some_and(|vs| vs.iter().any(|v| v.as_str() == Some(ver)));
        let ranges = a.get("ranges").and_then(Value::as_array);
        let in_range = ranges.is_some_and(|rs| rs.iter().any(|r| range_affects(r, ver)));
        if listed || in_range || trust_match {
            hit = true;
            for r in ranges.into_iter().flatten() {
                for e in r
                    .get("events")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(f) = e.get("fixed").and_then(Value::as_str) {
                        fixed.push(f.to_owned());
                    }
                }
            }
            for key in ["ecosystem_specific", "database_specific"] {
                if let Some(s) = a
                    .get(key)
                    .and_then(|d| d.get("severity"))
                    .and_then(Value::as_str)
                {
                    severity = severity.max(word(s));
                }
            }
        }
    }
    if !hit {
        return None;
    }
    let queried = version::parse(ver);
    let fixed = fixed
        .into_iter()
        .filter_map(|f| version::parse(&f).map(|v| (v, f)))
        .filter(|(v, _)| {
            queried
                .as_ref()
                .is_none_or(|q| version::compare(v, q) == Ordering::Greater)
        })
        .min_by(|(a, _), (b, _)| version::compare(a, b))
        .map(|(_, f)| f);
    let text = |k: &str| record.get(k).and_then(Value::as_str).unwrap_or_default();
    let summary = if text("summary").is_empty() {
        text("details")
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        text("summary").to_owned()
    };
    Some(Advisory {
        id,
        aliases: record
            .get("aliases")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        summary,
        severity,
        fixed,
    })
}

fn same_ecosystem(record: &str, query: &str) -> bool {
    // `Debian:12`, `crates.io`, `PyPI`: the part before `:` names the ecosystem.
    record
        .split(':')
        .next()
        .unwrap_or(record)
        .eq_ignore_ascii_case(query)
}

fn same_name(ecosystem: &str, a: &str, b: &str) -> bool {
    match ecosystem {
        "PyPI" => {
            let n = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
            n(a) == n(b)
        }
        "crates.io" => a.replace('_', "-") == b.replace('_', "-"),
        _ => a == b,
    }
}

/// Whether a `SEMVER` or `ECOSYSTEM` range's events include `ver`; `GIT` ranges never match a
/// version.
fn range_affects(range: &Value, ver: &str) -> bool {
    let kind = range
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind == "GIT" {
        return false;
    }
    let Some(v) = version::parse(ver) else {
        return false;
    };
    let Some(events) = range.get("events").and_then(Value::as_array) else {
        return false;
    };
    // Events in version order; `introduced: "0"` is the very start.
    let mut evs: Vec<(&str, version::Version)> = events
        .iter()
        .filter_map(|e| {
            let (k, val) = e.as_object()?.iter().next()?;
            let at = val.as_str()?;
            let parsed = if at == "0" {
                version::Version {
                    release: vec![0],
                    pre: String::new(),
                }
            } else {
                version::parse(at)?
            };
            Some((k.as_str(), parsed))
        })
        .collect();
    evs.sort_by(|a, b| version::compare(&a.1, &b.1));
    let mut affected = false;
    for (kind, at) in &evs {
        let cmp = version::compare(&v, at);
        match *kind {
            "introduced" if cmp != Ordering::Less => affected = true,
            "fixed" | "limit" if cmp != Ordering::Less => affected = false,
            "last_affected" if cmp == Ordering::Greater => affected = false,
            _ => {}
        }
    }
    affected
}

fn word(s: &str) -> Severity {
    match s.to_ascii_uppercase().as_str() {
        "CRITICAL" => Severity::Critical,
        "HIGH" => Severity::High,
        "MODERATE" | "MEDIUM" => Severity::Moderate,
        "LOW" => Severity::Low,
        _ => Severity::Unknown,
    }
}

/// The record's own rating: `database_specific.severity` (GitHub's words), or the CVSS v3
/// base score of a `severity` entry.
fn rated(record: &Value) -> Severity {
    let mut best = record
        .get("database_specific")
        .and_then(|d| d.get("severity"))
        .and_then(Value::as_str)
        .map_or(Severity::Unknown, word);
    for s in record
        .get("severity")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let score = s.get("score").and_then(Value::as_str).unwrap_or_default();
        let base = score.parse::<f64>().ok().or_else(|| cvss3_base(score));
        if let Some(b) = base {
            let sev = if b >= 9.0 {
                Severity::Critical
            } else if b >= 7.0 {
                Severity::High
            } else if b >= 4.0 {
                Severity::Moderate
            } else if b > 0.0 {
                Severity::Low
            } else {
                Severity::Unknown
            };
            best = best.max(sev);
        }
    }
    best
}

/// The CVSS v3.x base score of a vector (`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`).
pub fn cvss3_base(vector: &str) -> Option<f64> {
    if !vector.starts_with("CVSS:3") {
        return None;
    }
    let get = |key: &str| {
        vector
            .split('/')
            .find_map(|p| p.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
    };
    let changed = get("S")? == "C";
    let av = match get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k: &str| match get(k) {
        Some("H") => Some(0.56),
        Some("L") => Some(0.22),
        Some("N") => Some(0.0),
        _ => None,
    };
    let iss = 1.0 - (1.0 - cia("C")?) * (1.0 - cia("I")?) * (1.0 - cia("A")?);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploit = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploit)).min(10.0)
    } else {
        (impact + exploit).min(10.0)
    };
    // CVSS "round up" to one decimal.
    Some((raw * 10.0 - 1e-9).ceil() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_scores_match_the_specification_examples() {
        assert_eq!(
            cvss3_base("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(9.8)
        );
        assert_eq!(
            cvss3_base("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
            Some(10.0)
        );
        assert_eq!(
            cvss3_base("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"),
            Some(3.1)
        );
        assert_eq!(
            cvss3_base("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"),
            Some(6.1)
        );
    }

    #[test]
    fn ranges_follow_introduced_and_fixed() {
        let r: Value = serde_json::json!({"type": "ECOSYSTEM", "events": [
            {"introduced": "0"}, {"fixed": "2.20.0"}, {"introduced": "2.25.0"}, {"last_affected": "2.26.1"}
        ]});
        assert!(range_affects(&r, "2.19.1"));
        assert!(!range_affects(&r, "2.20.0"));
        assert!(!range_affects(&r, "2.24.0"));
        assert!(range_affects(&r, "2.26.1"));
        assert!(!range_affects(&r, "2.27.0"));
    }
}
