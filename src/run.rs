//! # The pipeline
//!
//! What an invocation does, on one screen. Tracing: plan (preflight,
//! discovery, backend, hooks) → load → attach → stream → finish, in
//! [`plan`](crate::plan) and [`session`](crate::session). `-l` stops after
//! the plan. `--read` skips the kernel entirely: an events file is streamed
//! through the same decoding and outputs ([`replay`](crate::replay)).

use anyhow::Result;

use crate::cli::{Config, Mode};
use crate::plan::Plan;
use crate::{replay, session};

pub fn run(config: Config) -> Result<()> {
    match config.mode.clone() {
        Mode::Read(path) => replay::read(&config, &path),
        Mode::List => Plan::new(&config)?.list(),
        _ => {
            let plan = Plan::new(&config)?;
            session::trace(config, plan)
        }
    }
}
