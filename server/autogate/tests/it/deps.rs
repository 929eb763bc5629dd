//! Dependency changes end to end: `autogate assess` (the real binary) on a real git repository
//! where an agent adds a typosquat, an install script, a git dependency or a vulnerable
//! version, with the offline OSV export of real advisories; a lookup that fails; and the same
//! through the language server.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::support::{TestClient, edit, full_caps, git, repo, root, run};
use serde_json::{Value, json};

/// Copies the test export of real OSV advisories into `root/osv`.
fn install_export(root: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../advisories/tests/osv");
    std::fs::create_dir_all(root.join("osv")).unwrap();
    for entry in std::fs::read_dir(src).unwrap().flatten() {
        std::fs::copy(entry.path(), root.join("osv").join(entry.file_name())).unwrap();
    }
}

/// The manifests are protected by default (high at least); unprotected here so that each
/// test sees the level the dependency rules give.
const UNPROTECT: &str = "unprotect = [\"requirements*.txt\", \"package.json\"]\n";
const OFFLINE: &str =
    "unprotect = [\"requirements*.txt\", \"package.json\"]\n[advisories]\ndatabase = \"osv\"\n";

/// A repository with a requirements file, a package.json and the offline export committed.
fn project(policy: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = repo(&[
        ("requirements.txt", "flask==2.3.2\n"),
        (
            "package.json",
            "{\n  \"name\": \"web\",\n  \"dependencies\": {\n    \"express\": \"^4.18.2\"\n  }\n}\n",
        ),
        (".autogate.toml", policy),
        ("app.py", "import flask\n"),
    ]);
    let root = root(&dir);
    install_export(&root);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "export"]);
    (dir, root)
}

fn assess_json(root: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["assess", "--json"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(root, &args);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (code, json, stderr)
}

fn change_of<'a>(report: &'a Value, file: &str) -> &'a Value {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["files"][0] == json!(file))
        .unwrap_or_else(|| panic!("{file} in {report}"))
}

#[test]
fn assess_holds_a_vulnerable_version_naming_the_advisory_and_the_fix() {
    let (_dir, root) = project(OFFLINE);
    std::fs::write(
        root.join("requirements.txt"),
        "flask==2.3.2\nrequests==2.19.0\n",
    )
    .unwrap();
    let (code, report, stderr) = assess_json(&root, &[]);
    assert_eq!(code, 0, "{stderr}");
    let c = change_of(&report, "requirements.txt");
    assert_eq!(c["level"], json!("high"), "{c}");
    assert_eq!(c["decision"], json!("ask"));
    let reasons = c["reasons"].to_string();
    assert!(
        reasons.contains("`requests` 2.19.0 has a known vulnerability GHSA-j8r2-6x86-q33q (Unintended leak of Proxy-Authorization header in requests, rated moderate); fixed in 2.31.0"),
        "{reasons}"
    );
    let dep = &c["dependencies"][0];
    assert_eq!(
        (dep["name"].as_str(), dep["version"].as_str()),
        (Some("requests"), Some("2.19.0"))
    );
    assert_eq!(dep["advisories"][0]["id"], json!("GHSA-j8r2-6x86-q33q"));
    let (code, _, _) = run(&root, &["assess", "--fail-on", "high"]);
    assert_eq!(code, 1, "CI fails on it");

    // SARIF: the advisory is a rule of its own, with a result on the line that adds it.
    let (_, sarif, _) = run(&root, &["assess", "--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let rules = &sarif["runs"][0]["tool"]["driver"]["rules"];
    let rule = rules
        .as_array()
        .unwrap()
        .iter()
        .position(|r| r["id"] == json!("osv/GHSA-j8r2-6x86-q33q"))
        .expect("advisory rule");
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == json!("osv/GHSA-j8r2-6x86-q33q"))
        .expect("advisory result");
    assert_eq!(result["ruleIndex"], json!(rule));
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        json!(2)
    );
    assert_eq!(result["level"], json!("error"));
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/sarif-schema-2.1.0.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "not valid SARIF 2.1.0: {errors:?}");

    // A fixed version is routine again.
    std::fs::write(
        root.join("requirements.txt"),
        "flask==2.3.2\nrequests==2.31.0\n",
    )
    .unwrap();
    let (_, report, _) = assess_json(&root, &[]);
    let c = change_of(&report, "requirements.txt");
    assert_eq!(c["level"], json!("medium"), "{c}");
    assert!(!c["reasons"].to_string().contains("vulnerab"), "{c}");
}

#[test]
fn a_critical_advisory_makes_the_change_critical_and_denied() {
    let (_dir, root) = project(OFFLINE);
    std::fs::write(
        root.join("package.json"),
        "{\n  \"name\": \"web\",\n  \"dependencies\": {\n    \"express\": \"^4.18.2\",\n    \"lodash\": \"4.17.11\"\n  }\n}\n",
    )
    .unwrap();
    let (_, report, _) = assess_json(&root, &[]);
    let c = change_of(&report, "package.json");
    assert_eq!(
        (c["level"].as_str(), c["decision"].as_str()),
        (Some("critical"), Some("deny")),
        "{c}"
    );
    assert!(
        c["reasons"].to_string().contains("GHSA-jf85-cpcp-j695"),
        "{c}"
    );
    assert!(c["reasons"].to_string().contains("fixed in 4.17.12"), "{c}");
}

#[test]
fn typosquats_install_scripts_and_git_dependencies_are_held_and_named() {
    let (_dir, root) = project(OFFLINE);
    std::fs::write(
        root.join("package.json"),
        "{\n  \"name\": \"web\",\n  \"scripts\": {\n    \"postinstall\": \"node setup.js\"\n  },\n  \"dependencies\": {\n    \"express\": \"^4.18.2\",\n    \"expresss\": \"^4.18.2\",\n    \"utils\": \"git+https://git.example.invalid/utils.git\"\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("requirements.txt"),
        "flask==2.3.2\nreqeusts>=2.31\n",
    )
    .unwrap();
    let (_, report, _) = assess_json(&root, &["--fail-on", "high"]);
    let npm = change_of(&report, "package.json");
    assert_eq!(npm["level"], json!("high"));
    let reasons = npm["reasons"].to_string();
    for needle in [
        "new install/build script `postinstall`: `node setup.js`",
        "`expresss` is one letter from the well-known `express`",
        "new dependency `utils` git+https://git.example.invalid/utils.git in `dependencies` from git `git+https://git.example.invalid/utils.git`",
    ] {
        assert!(reasons.contains(needle), "{needle}: {reasons}");
    }
    let py = change_of(&report, "requirements.txt");
    assert!(
        py["reasons"]
            .to_string()
            .contains("`reqeusts` swaps two letters of the well-known `requests`"),
        "{py}"
    );
    let (code, _, _) = run(&root, &["assess", "--fail-on", "high"]);
    assert_eq!(code, 1);
}

#[test]
fn a_lookup_that_fails_never_lowers_and_can_fail_ci() {
    // Nobody listens on this port: the lookup fails at once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let online =
        format!("{UNPROTECT}[advisories]\nurl = \"http://127.0.0.1:{port}\"\ntimeout_secs = 3\n");
    let (_dir, root) = project(&online);
    std::fs::write(
        root.join("requirements.txt"),
        "flask==2.3.2\nrequests==2.19.0\n",
    )
    .unwrap();
    let (code, report, stderr) = assess_json(&root, &[]);
    assert_eq!(code, 0, "{stderr}");
    let c = change_of(&report, "requirements.txt");
    assert_eq!(
        c["level"],
        json!("medium"),
        "the new dependency's own level, not lower: {c}"
    );
    let reasons = c["reasons"].to_string();
    assert!(
        reasons.contains("vulnerabilities not checked for `requests` 2.19.0: cannot reach"),
        "{reasons}"
    );
    let (code, _, stderr) = run(&root, &["assess", "--fail-on-unchecked"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("could not be checked"), "{stderr}");

    std::fs::write(
        root.join(".autogate.toml"),
        format!("{online}required = true\n"),
    )
    .unwrap();
    let (code, _, _) = run(&root, &["assess"]);
    assert_eq!(code, 1, "`required = true` fails CI too");

    // A broken export is the same: not checked, said so, never lower.
    std::fs::write(
        root.join(".autogate.toml"),
        format!("{UNPROTECT}[advisories]\ndatabase = \"missing-export\"\n"),
    )
    .unwrap();
    let (_, report, _) = assess_json(&root, &[]);
    let c = change_of(&report, "requirements.txt");
    assert_eq!(c["level"], json!("medium"));
    assert!(
        c["reasons"].to_string().contains("advisory database"),
        "{c}"
    );
}

#[test]
fn a_routine_lockfile_refresh_is_low() {
    let lock = "# This file is automatically @generated by Cargo.\nversion = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"memchr\",\n]\n\n[[package]]\nname = \"memchr\"\nversion = \"2.7.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"523dc4f511e55ab87b694dc30d0f820d60906ef06413f93d4d7a1385599cc149\"\n";
    let dir = repo(&[("Cargo.lock", lock), (".autogate.toml", OFFLINE)]);
    let root = root(&dir);
    install_export(&root);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "export"]);
    let refreshed = lock
        .replace("version = \"2.7.1\"", "version = \"2.7.4\"")
        .replace(
            "523dc4f511e55ab87b694dc30d0f820d60906ef06413f93d4d7a1385599cc149",
            "78ca9ab1a0babb1e7d5695e3530886289c18cf2f87ec19a575a0abdce112e3a3",
        );
    std::fs::write(root.join("Cargo.lock"), refreshed).unwrap();
    let (_, report, _) = assess_json(&root, &[]);
    let c = change_of(&report, "Cargo.lock");
    assert_eq!(
        (c["level"].as_str(), c["decision"].as_str()),
        (Some("low"), Some("auto")),
        "{c}"
    );
    assert!(
        c["reasons"]
            .to_string()
            .contains("`memchr` 2.7.1 → 2.7.4, within its compatible line"),
        "{c}"
    );
}

#[tokio::test]
async fn the_language_server_holds_a_vulnerable_version_with_the_advisory() {
    let (_dir, root) = project(OFFLINE);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let uri = client.uri("requirements.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [1, 0, 1, 0], "requests==2.19.0\n") }),
        )
        .await
        .unwrap();
    let c = &summary["changes"][0];
    assert_eq!(
        (
            c["level"].as_str(),
            c["decision"].as_str(),
            c["status"].as_str()
        ),
        (Some("high"), Some("ask"), Some("pending")),
        "{c}"
    );
    assert!(
        c["reasons"].to_string().contains("GHSA-j8r2-6x86-q33q"),
        "{c}"
    );
    assert!(c["reasons"].to_string().contains("fixed in 2.31.0"), "{c}");
    assert_eq!(
        std::fs::read_to_string(root.join("requirements.txt")).unwrap(),
        "flask==2.3.2\n",
        "nothing written"
    );
    // The audit record of the decision names the advisory too.
    let audit = std::fs::read_to_string(root.join(".git/autogate/audit.jsonl")).unwrap();
    let decided = audit
        .lines()
        .find(|l| l.contains("\"decided\"") || l.contains("Decided"))
        .unwrap_or_else(|| panic!("{audit}"));
    assert!(
        decided.contains("GHSA-j8r2-6x86-q33q") && decided.contains("requirements.txt"),
        "{decided}"
    );
    let prompt = client.expect("window/showMessageRequest").await;
    assert!(
        prompt["params"]["message"]
            .to_string()
            .contains("requirements.txt"),
        "{prompt}"
    );
    client.reply(&prompt, Value::Null).await;
    client.shutdown().await;
}

/// A minimal OSV API on 127.0.0.1 serving the test export's `requests` advisory.
async fn osv_server(hits: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> String {
    use axum::routing::{get, post};
    let record = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../advisories/tests/osv/GHSA-j8r2-6x86-q33q.json"),
    )
    .unwrap();
    let h1 = hits.clone();
    let app = axum::Router::new()
        .route(
            "/v1/querybatch",
            post(move |body: String| {
                let h1 = h1.clone();
                async move {
                    h1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let q: Value = serde_json::from_str(&body).unwrap_or_default();
                    let results: Vec<Value> = q["queries"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|q| {
                            if q["package"]["name"] == json!("requests")
                                && q["version"] == json!("2.19.0")
                            {
                                json!({"vulns": [{"id": "GHSA-j8r2-6x86-q33q"}]})
                            } else {
                                json!({})
                            }
                        })
                        .collect();
                    json!({ "results": results }).to_string()
                }
            }),
        )
        .route(
            "/v1/vulns/GHSA-j8r2-6x86-q33q",
            get(move || {
                let hits = hits.clone();
                let record = record.clone();
                async move {
                    hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    record
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assess_looks_versions_up_online_and_caches_the_answers() {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = osv_server(hits.clone()).await;
    let (_dir, root) = project(&format!("{UNPROTECT}[advisories]\nurl = \"{url}\"\n"));
    std::fs::write(
        root.join("requirements.txt"),
        "flask==2.3.2\nrequests==2.19.0\n",
    )
    .unwrap();
    let r = root.clone();
    let (code, report, stderr) = tokio::task::spawn_blocking(move || assess_json(&r, &[]))
        .await
        .unwrap();
    assert_eq!(code, 0, "{stderr}");
    let c = change_of(&report, "requirements.txt");
    assert_eq!(c["level"], json!("high"), "{c}");
    assert!(
        c["reasons"].to_string().contains("GHSA-j8r2-6x86-q33q"),
        "{c}"
    );
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "querybatch, then the record"
    );
    let cached = std::fs::read_dir(root.join(".git/autogate/osv-cache"))
        .unwrap()
        .count();
    assert_eq!(cached, 1, "one answer cached");
    // The next run reads the cache: no request.
    let r = root.clone();
    let (_, again, _) = tokio::task::spawn_blocking(move || assess_json(&r, &[]))
        .await
        .unwrap();
    assert_eq!(
        change_of(&again, "requirements.txt")["level"],
        json!("high")
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
}
