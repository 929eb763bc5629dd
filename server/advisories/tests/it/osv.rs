//! The OSV lookups against real things: an HTTP server on 127.0.0.1 that speaks the OSV API
//! (`/v1/querybatch`, `/v1/vulns/{id}`) and misbehaves on demand (429, 500, a hang, garbage),
//! and a small export of real advisories (`tests/osv/`) as a directory and as a zip.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autogate_advisories::{
    AdvisoryError, Cache, ClientConfig, Database, OsvClient, Query, Severity,
};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

fn export() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/osv")
}

fn requests_2_19() -> Query {
    Query::new("PyPI", "requests", "2.19.0")
}

/// What the server does with the next requests.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Serve,
    /// This many 500s first, then serve.
    FailThen(usize),
    TooMany,
    Hang,
    Garbage,
    /// `querybatch` names an id whose record says nothing of the package.
    WrongRecord,
}

struct Osv {
    db: Database,
    mode: Mutex<Mode>,
    hits: AtomicUsize,
    paths: Mutex<Vec<String>>,
}

async fn querybatch(State(s): State<Arc<Osv>>, Json(body): Json<Value>) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    s.paths
        .lock()
        .map(|mut p| p.push("/v1/querybatch".into()))
        .ok();
    if let Some(r) = misbehave(&s).await {
        return r;
    }
    let mut results = Vec::new();
    for q in body["queries"].as_array().into_iter().flatten() {
        let query = Query::new(
            q["package"]["ecosystem"].as_str().unwrap_or_default(),
            q["package"]["name"].as_str().unwrap_or_default(),
            q["version"].as_str().unwrap_or_default(),
        );
        let found = s.db.lookup(&query);
        if found.is_empty() {
            results.push(json!({}));
        } else {
            let vulns: Vec<Value> = found
                .iter()
                .map(|a| json!({"id": a.id, "modified": "2024-01-01T00:00:00Z"}))
                .collect();
            results.push(json!({ "vulns": vulns }));
        }
    }
    if *s.mode.lock().expect("mode") == Mode::WrongRecord {
        return Json(json!({"results": [{"vulns": [{"id": "GO-2023-2102"}]}]})).into_response();
    }
    Json(json!({ "results": results })).into_response()
}

async fn vuln(State(s): State<Arc<Osv>>, UrlPath(id): UrlPath<String>) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    s.paths
        .lock()
        .map(|mut p| p.push(format!("/v1/vulns/{id}")))
        .ok();
    if let Some(r) = misbehave(&s).await {
        return r;
    }
    match std::fs::read_to_string(export().join(format!("{id}.json"))) {
        Ok(text) => ([("content-type", "application/json")], text).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn misbehave(s: &Osv) -> Option<Response> {
    let mode = *s.mode.lock().expect("mode");
    match mode {
        Mode::Serve | Mode::WrongRecord => None,
        Mode::FailThen(n) => {
            if n == 0 {
                return None;
            }
            *s.mode.lock().expect("mode") = Mode::FailThen(n - 1);
            Some((StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response())
        }
        Mode::TooMany => {
            let mut h = HeaderMap::new();
            h.insert("retry-after", "0".parse().expect("header"));
            Some((StatusCode::TOO_MANY_REQUESTS, h, "slow down").into_response())
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            None
        }
        Mode::Garbage => Some(
            (
                [("content-type", "text/html")],
                "<html><body>Service Unavailable</body></html>",
            )
                .into_response(),
        ),
    }
}

async fn start(mode: Mode) -> (String, Arc<Osv>) {
    let state = Arc::new(Osv {
        db: Database::open(&export()).expect("the test export loads"),
        mode: Mutex::new(mode),
        hits: AtomicUsize::new(0),
        paths: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/v1/querybatch", post(querybatch))
        .route("/v1/vulns/{id}", get(vuln))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}

fn client(url: &str, cache: Option<Cache>, total: Duration) -> OsvClient {
    OsvClient::new(
        ClientConfig {
            base_url: url.to_owned(),
            connect_timeout: Duration::from_secs(2),
            total_timeout: total,
            max_retries: 2,
            initial_backoff: Duration::from_millis(10),
        },
        cache,
    )
    .expect("client")
}

#[tokio::test]
async fn online_lookup_names_the_advisory_and_its_fix_and_caches_it() {
    let (url, osv) = start(Mode::Serve).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(dir.path().join("osv-cache"), Duration::from_secs(3600));
    let c = client(&url, Some(cache.clone()), Duration::from_secs(5));
    let queries = [
        requests_2_19(),
        Query::new("npm", "lodash", "4.17.21"),
        Query::new("npm", "lodash", "4.17.11"),
    ];
    let found = c.lookup(&queries).await.expect("lookup");
    assert_eq!(found[0].len(), 1);
    assert_eq!(found[0][0].id, "GHSA-j8r2-6x86-q33q");
    assert_eq!(found[0][0].fixed.as_deref(), Some("2.31.0"));
    assert_eq!(found[0][0].severity, Severity::Moderate);
    assert!(found[1].is_empty(), "4.17.21 is fixed");
    assert_eq!(found[2][0].severity, Severity::Critical);
    assert_eq!(found[2][0].fixed.as_deref(), Some("4.17.12"));
    let calls = osv.hits.load(Ordering::SeqCst);
    assert_eq!(calls, 3, "one querybatch and one record per advisory");
    // Again: every answer comes from the cache, no request is made.
    let again = c.lookup(&queries).await.expect("cached lookup");
    assert_eq!(again, found);
    assert_eq!(osv.hits.load(Ordering::SeqCst), calls);
    // Another client on the same cache directory (the next `assess` run) also reads it.
    let c2 = client(&url, Some(cache), Duration::from_secs(5));
    assert_eq!(c2.lookup(&queries[..1]).await.expect("lookup"), found[..1]);
    assert_eq!(osv.hits.load(Ordering::SeqCst), calls);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let (url, osv) = start(Mode::FailThen(2)).await;
    let found = client(&url, None, Duration::from_secs(5))
        .lookup(&[requests_2_19()])
        .await
        .expect("the third attempt succeeds");
    assert_eq!(found[0][0].id, "GHSA-j8r2-6x86-q33q");
    assert_eq!(
        osv.hits.load(Ordering::SeqCst),
        4,
        "500, 500, querybatch, record"
    );
}

#[tokio::test]
async fn too_many_requests_gives_up_after_the_retries() {
    let (url, osv) = start(Mode::TooMany).await;
    let err = client(&url, None, Duration::from_secs(5))
        .lookup(&[requests_2_19()])
        .await
        .expect_err("429 forever");
    match err {
        AdvisoryError::Status {
            status, attempts, ..
        } => {
            assert_eq!((status, attempts), (429, 3));
        }
        other => panic!("{other}"),
    }
    assert_eq!(osv.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let (url, _osv) = start(Mode::Hang).await;
    let started = Instant::now();
    let err = client(&url, None, Duration::from_millis(400))
        .lookup(&[requests_2_19()])
        .await
        .expect_err("hangs");
    assert!(matches!(err, AdvisoryError::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(err.to_string().contains("did not finish within"), "{err}");
}

#[tokio::test]
async fn garbage_and_wrong_records_are_errors_not_empty_answers() {
    let (url, _osv) = start(Mode::Garbage).await;
    let err = client(&url, None, Duration::from_secs(5))
        .lookup(&[requests_2_19()])
        .await
        .expect_err("html");
    assert!(matches!(err, AdvisoryError::Garbage { .. }), "{err}");
    let (url, _osv) = start(Mode::WrongRecord).await;
    let err = client(&url, None, Duration::from_secs(5))
        .lookup(&[requests_2_19()])
        .await
        .expect_err("a record of another package");
    assert!(
        err.to_string()
            .contains("not an OSV record for requests 2.19.0"),
        "{err}"
    );
}

#[tokio::test]
async fn nobody_listening_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = client(&format!("http://{addr}"), None, Duration::from_secs(5))
        .lookup(&[requests_2_19()])
        .await
        .expect_err("refused");
    assert!(matches!(err, AdvisoryError::Connect { .. }), "{err}");
}

#[test]
fn bad_urls_are_config_errors() {
    let err = OsvClient::new(
        ClientConfig {
            base_url: "ftp://osv.example".into(),
            ..ClientConfig::default()
        },
        None,
    )
    .expect_err("ftp");
    assert!(err.to_string().contains("http or https"), "{err}");
}

#[test]
fn offline_directory_matches_versions_by_range() {
    let db = Database::open(&export()).expect("open");
    assert_eq!(db.len(), 4);
    let hit = db.lookup(&requests_2_19());
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].fixed.as_deref(), Some("2.31.0"));
    assert!(
        db.lookup(&Query::new("PyPI", "requests", "2.31.0"))
            .is_empty()
    );
    assert!(
        db.lookup(&Query::new("PyPI", "requests", "2.2.1"))
            .is_empty(),
        "before introduced"
    );
    assert!(
        !db.lookup(&Query::new("PyPI", "Requests", "2.30.0"))
            .is_empty(),
        "PyPI names fold case"
    );
    let time = db.lookup(&Query::new("crates.io", "time", "0.2.22"));
    assert_eq!(time[0].id, "RUSTSEC-2020-0071");
    assert_eq!(time[0].severity, Severity::Moderate, "CVSS 6.2");
    assert!(
        db.lookup(&Query::new("crates.io", "time", "0.3.36"))
            .is_empty()
    );
    let go = db.lookup(&Query::new("Go", "golang.org/x/net", "v0.16.0"));
    assert_eq!(go[0].fixed.as_deref(), Some("0.17.0"));
    let lodash = db.lookup(&Query::new("npm", "lodash", "4.17.11"));
    assert_eq!(lodash[0].severity, Severity::Critical);
}

#[test]
fn offline_zip_export_reads_like_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip_path = dir.path().join("all.zip");
    let file = std::fs::File::create(&zip_path).expect("create");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for entry in std::fs::read_dir(export()).expect("export").flatten() {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "json") {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            zip.start_file(name, options).expect("start");
            zip.write_all(&std::fs::read(&p).expect("read"))
                .expect("write");
        }
    }
    zip.finish().expect("finish");
    let db = Database::open(&zip_path).expect("zip opens");
    assert_eq!(db.len(), 4);
    assert_eq!(db.lookup(&requests_2_19())[0].id, "GHSA-j8r2-6x86-q33q");
}

#[test]
fn a_broken_export_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        export().join("GHSA-j8r2-6x86-q33q.json"),
        dir.path().join("GHSA-j8r2-6x86-q33q.json"),
    )
    .expect("copy");
    std::fs::write(dir.path().join("broken.json"), "{\"id\": \"X\"").expect("write");
    let err = Database::open(dir.path()).expect_err("broken");
    assert!(err.to_string().contains("broken.json"), "{err}");
    let err = Database::open(&dir.path().join("missing")).expect_err("missing");
    assert!(matches!(err, AdvisoryError::Database { .. }), "{err}");
    std::fs::write(dir.path().join("fake.zip"), "not a zip").expect("write");
    let err = Database::open(&dir.path().join("fake.zip")).expect_err("not a zip");
    assert!(err.to_string().contains("not a zip archive"), "{err}");
}
