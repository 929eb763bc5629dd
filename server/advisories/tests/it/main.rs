//! The OSV client against a real HTTP server on 127.0.0.1 (rate limits, errors, hangs, garbage), its cache, and the offline export.
//!
//! One test binary for the crate: each module was a test file of its own.

mod osv;
