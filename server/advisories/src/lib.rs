//! Known vulnerabilities of dependency versions, in the OSV format.
//!
//! - [`OsvClient`]: the OSV API (`POST /v1/querybatch`, then `GET /v1/vulns/{id}` for each
//!   advisory found), over reqwest with rustls, with the LLM providers' client settings: a
//!   connect time limit, a total time limit over the whole lookup, retries on 429 and 5xx
//!   honouring `Retry-After`, and a typed [`AdvisoryError`]. Answers are cached on disk by
//!   ecosystem, name and version ([`Cache`]).
//! - [`Database`]: an OSV export on disk, a directory of advisory JSON files or the
//!   per-ecosystem `all.zip`, matched locally (`versions` lists and `SEMVER`/`ECOSYSTEM`
//!   ranges).
//! - [`Advisories`]: either of them, as the policy's `[advisories]` sets it.
//!
//! A lookup that fails is an error for the caller to report ("vulnerabilities not checked"):
//! it never means "no advisories".

mod cache;
mod client;
mod database;
mod osv;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use cache::Cache;
pub use client::{ClientConfig, DEFAULT_URL, OsvClient};
pub use database::Database;
pub use osv::{Advisory, Severity};

/// One package version to look up.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Query {
    /// The OSV ecosystem: `crates.io`, `npm`, `PyPI`, `Go`.
    pub ecosystem: String,
    pub name: String,
    pub version: String,
}

impl Query {
    pub fn new(ecosystem: &str, name: &str, version: &str) -> Self {
        // OSV's Go versions have no `v`.
        let version = if ecosystem == "Go" {
            version.strip_prefix('v').unwrap_or(version)
        } else {
            version
        };
        Query {
            ecosystem: ecosystem.to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
        }
    }
}

/// Why a lookup gave no answer. Callers report it; none of them means "no advisories".
#[derive(Debug, thiserror::Error)]
pub enum AdvisoryError {
    #[error("the advisory lookup did not finish within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("{url} answered HTTP {status} after {attempts} attempt(s)")]
    Status {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("{url} did not answer in the OSV format: {detail}")]
    Garbage { url: String, detail: String },
    #[error("advisory database `{path}`: {detail}")]
    Database { path: String, detail: String },
    #[error("advisory settings: {0}")]
    Config(String),
}

/// Where advisories come from.
#[derive(Debug)]
pub enum Advisories {
    Online(OsvClient),
    Offline(Database),
}

impl Advisories {
    /// The advisories affecting each query, in the order of `queries`.
    pub async fn lookup(&self, queries: &[Query]) -> Result<Vec<Vec<Advisory>>, AdvisoryError> {
        match self {
            Advisories::Online(client) => client.lookup(queries).await,
            Advisories::Offline(db) => Ok(queries.iter().map(|q| db.lookup(q)).collect()),
        }
    }

    /// What a person reads in a reason: `OSV API at URL` or `OSV database PATH`.
    pub fn describe(&self) -> String {
        match self {
            Advisories::Online(client) => format!("the OSV API at {}", client.base_url()),
            Advisories::Offline(db) => format!("the OSV database `{}`", db.path()),
        }
    }
}
