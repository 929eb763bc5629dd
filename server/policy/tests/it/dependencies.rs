//! `[advisories]` and `[dependencies]` in `.autogate.toml`: defaults, values, and
//! `file:line:col` errors for what is wrong.

use autogate_analysis::Level;
use autogate_analysis::manifest::Rule;
use autogate_policy::Policy;

fn errors(text: &str) -> Vec<String> {
    match Policy::from_toml(text, ".autogate.toml") {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn defaults_look_up_the_public_osv_api_and_keep_rule_levels() {
    let p = Policy::default();
    assert_eq!(p.advisories().url, "https://api.osv.dev");
    assert_eq!(p.advisories().database, None);
    assert_eq!(p.advisories().timeout_secs, 10);
    assert!(p.advisories().enabled && !p.advisories().required);
    assert_eq!(
        p.dependency_levels().level(Rule::NewRegistry),
        Level::Medium
    );
    assert_eq!(p.dependency_levels().level(Rule::Typosquat), Level::High);
}

#[test]
fn advisories_and_levels_are_read() {
    let p = Policy::from_toml(
        "[advisories]\nurl = \"http://127.0.0.1:8080/\"\ndatabase = \"vendor/osv\"\ntimeout_secs = 3\nrequired = true\n\n[dependencies]\nnew_registry = \"high\"\ntyposquat = \"critical\"\n",
        ".autogate.toml",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let a = p.advisories();
    assert_eq!(a.url, "http://127.0.0.1:8080");
    assert_eq!(a.database.as_deref(), Some("vendor/osv"));
    assert_eq!((a.timeout_secs, a.required), (3, true));
    assert_eq!(p.dependency_levels().level(Rule::NewRegistry), Level::High);
    assert_eq!(
        p.dependency_levels().level(Rule::Typosquat),
        Level::Critical
    );
}

#[test]
fn mistakes_are_errors_with_positions() {
    let e = errors("[dependencies]\nnew_registy = \"high\"\n");
    assert!(e[0].starts_with(".autogate.toml:2:1"), "{e:?}");
    assert!(
        e[0].contains("unknown dependency rule `new_registy`") && e[0].contains("new_registry"),
        "{e:?}"
    );
    let e = errors("[dependencies]\ntyposquat = \"low\"\n");
    assert!(
        e[0].contains("`typosquat` can only be raised: its default is high, not low"),
        "{e:?}"
    );
    let e = errors("[dependencies]\ndowngrade = \"severe\"\n");
    assert!(
        e[0].starts_with(".autogate.toml:2:13") && e[0].contains("unknown level"),
        "{e:?}"
    );
    let e = errors("[advisories]\nurl = \"osv.dev\"\n");
    assert!(
        e[0].starts_with(".autogate.toml:2:7") && e[0].contains("http"),
        "{e:?}"
    );
    let e = errors("[advisories]\ntimeout_secs = 0\n");
    assert!(e[0].contains("`timeout_secs` must be between 1"), "{e:?}");
    let e = errors("[advisories]\nmirror = \"x\"\n");
    assert!(e[0].contains("unknown key `mirror`"), "{e:?}");
}
