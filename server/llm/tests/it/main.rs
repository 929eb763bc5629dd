//! The providers against real HTTP servers on 127.0.0.1 speaking their wire formats (streaming, errors, time limits), and a real llama.cpp server when AUTOGATE_LLAMA_TEST=1.
//!
//! One test binary for the crate: each module was a test file of its own.

mod anthropic;
mod common;
mod llama;
mod openai;
