//! ipft as a library: the binary (`main.rs`) is a thin shell over these
//! modules, and tests and fuzz targets reach the parsers directly.
//! Read `run.rs` first: it is the whole pipeline on one screen, then
//! `plan.rs`, `session.rs` and `stream.rs`.

/// When `main` began: `-v` says how long start-up took up to "Trace ready!".
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub mod attach;
pub mod btf;
pub mod cli;
pub mod compile;
pub mod detach;
pub mod discover;
pub mod drops;
pub mod event;
pub mod ext;
pub mod filter;
pub mod load;
pub mod logger;
pub mod man;
pub mod memory;
pub mod output;
pub mod plan;
pub mod preflight;
pub mod replay;
pub mod run;
pub mod session;
pub mod signals;
pub mod stream;
pub mod version;
