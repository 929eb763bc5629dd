//! The OSV API client: `POST /v1/querybatch` for the ids, `GET /v1/vulns/{id}` for each record.
//!
//! The same client settings as the LLM providers: reqwest with rustls (and the usual proxy
//! variables), a connect time limit, one total time limit over the whole lookup, retries on
//! 429 and 5xx that honour `Retry-After` (capped) or back off exponentially.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};

use crate::osv::{self, Advisory};
use crate::{AdvisoryError, Cache, Query};

/// The public OSV API.
pub const DEFAULT_URL: &str = "https://api.osv.dev";

const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Queries per `querybatch` request (OSV accepts up to 1000).
const BATCH: usize = 500;

/// Time limits and retries.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub base_url: String,
    pub connect_timeout: Duration,
    /// The whole lookup, retries included.
    pub total_timeout: Duration,
    pub max_retries: u32,
    /// The first backoff step without `Retry-After`; it doubles per retry, capped at 8 s.
    pub initial_backoff: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: DEFAULT_URL.to_owned(),
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_retries: 2,
            initial_backoff: Duration::from_millis(250),
        }
    }
}

/// An OSV API client with an optional on-disk cache.
#[derive(Debug)]
pub struct OsvClient {
    config: ClientConfig,
    http: reqwest::Client,
    cache: Option<Cache>,
}

impl OsvClient {
    pub fn new(config: ClientConfig, cache: Option<Cache>) -> Result<Self, AdvisoryError> {
        match reqwest::Url::parse(&config.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(u) => {
                return Err(AdvisoryError::Config(format!(
                    "url must be http or https, not {}:",
                    u.scheme()
                )));
            }
            Err(e) => {
                return Err(AdvisoryError::Config(format!(
                    "url {:?} is not a valid URL: {e}",
                    config.base_url
                )));
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("autogate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AdvisoryError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(OsvClient {
            config,
            http,
            cache,
        })
    }

    pub fn base_url(&self) -> &str {
        self.config.base_url.trim_end_matches('/')
    }

    /// The advisories of each query, in order: from the cache, else from the API. Bounded by
    /// `total_timeout` as a whole.
    pub async fn lookup(&self, queries: &[Query]) -> Result<Vec<Vec<Advisory>>, AdvisoryError> {
        let limit = self.config.total_timeout;
        match tokio::time::timeout(limit, self.lookup_inner(queries)).await {
            Ok(r) => r,
            Err(_) => Err(AdvisoryError::Timeout(limit)),
        }
    }

    async fn lookup_inner(&self, queries: &[Query]) -> Result<Vec<Vec<Advisory>>, AdvisoryError> {
        let started = Instant::now();
        let mut out: Vec<Option<Vec<Advisory>>> = queries
            .iter()
            .map(|q| self.cache.as_ref().and_then(|c| c.get(q)))
            .collect();
        let missing: Vec<usize> = (0..queries.len()).filter(|&i| out[i].is_none()).collect();
        for chunk in missing.chunks(BATCH) {
            let body = json!({
                "queries": chunk.iter().map(|&i| json!({
                    "package": { "name": queries[i].name, "ecosystem": queries[i].ecosystem },
                    "version": queries[i].version,
                })).collect::<Vec<_>>()
            });
            let url = format!("{}/v1/querybatch", self.base_url());
            let answer = self.call(&url, Some(&body), started).await?;
            let results = answer
                .get("results")
                .and_then(Value::as_array)
                .filter(|r| r.len() == chunk.len())
                .ok_or_else(|| AdvisoryError::Garbage {
                    url: url.clone(),
                    detail: format!("expected `results` with {} entries", chunk.len()),
                })?;
            let mut records: BTreeMap<String, Value> = BTreeMap::new();
            for (&i, result) in chunk.iter().zip(results) {
                let ids: Vec<String> = match result.get("vulns") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(v)) => v
                        .iter()
                        .map(|v| {
                            v.get("id")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                                .ok_or_else(|| AdvisoryError::Garbage {
                                    url: url.clone(),
                                    detail: "a vulnerability without an `id`".to_owned(),
                                })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(_) => {
                        return Err(AdvisoryError::Garbage {
                            url: url.clone(),
                            detail: "`vulns` is not a list".to_owned(),
                        });
                    }
                };
                let mut found = Vec::new();
                for id in ids {
                    if !records.contains_key(&id) {
                        let safe: String = id
                            .chars()
                            .filter(|c| {
                                c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')
                            })
                            .collect();
                        let vurl = format!("{}/v1/vulns/{safe}", self.base_url());
                        let record = self.call(&vurl, None, started).await?;
                        records.insert(id.clone(), record);
                    }
                    let q = &queries[i];
                    let record = &records[&id];
                    match osv::read(record, &q.ecosystem, &q.name, &q.version, true) {
                        Some(adv) => found.push(adv),
                        None => {
                            return Err(AdvisoryError::Garbage {
                                url: format!(
                                    "{}/v1/vulns/{safe_id}",
                                    self.base_url(),
                                    safe_id = id
                                ),
                                detail: format!("not an OSV record for {} {}", q.name, q.version),
                            });
                        }
                    }
                }
                if let Some(cache) = &self.cache {
                    cache.put(&queries[i], &found);
                }
                out[i] = Some(found);
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// One JSON request with retries: `body` makes it a POST.
    async fn call(
        &self,
        url: &str,
        body: Option<&Value>,
        started: Instant,
    ) -> Result<Value, AdvisoryError> {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let rb = match body {
                Some(b) => self.http.post(url).json(b),
                None => self.http.get(url),
            };
            let resp = rb.send().await.map_err(|e| AdvisoryError::Connect {
                url: url.to_owned(),
                detail: chain(&e),
            })?;
            let status = resp.status();
            if status.is_success() {
                let text = resp.text().await.map_err(|e| AdvisoryError::Connect {
                    url: url.to_owned(),
                    detail: chain(&e),
                })?;
                return serde_json::from_str(&text).map_err(|e| AdvisoryError::Garbage {
                    url: url.to_owned(),
                    detail: format!("not JSON ({e})"),
                });
            }
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && attempt <= self.config.max_retries {
                let factor = 2u32.saturating_pow(attempt - 1);
                let delay = retry_after.unwrap_or_else(|| {
                    self.config
                        .initial_backoff
                        .saturating_mul(factor)
                        .min(MAX_BACKOFF)
                });
                if started.elapsed() + delay < self.config.total_timeout {
                    tracing::warn!(
                        status = status.as_u16(),
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "OSV asked us to retry"
                    );
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            return Err(AdvisoryError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                attempts: attempt,
            });
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}
