//! # Output
//!
//! Printers over the event model: [`aggregate`] (per-packet groups, at exit)
//! and [`json`] (one object per event, streaming). They never see raw bytes
//! or BTF; the run loop feeds them decoded [`Event`]s.

pub mod aggregate;
pub mod json;
pub mod text;

use std::io::{self, Write};

use crate::cli::{OutputKind, Tracer};
use crate::event::model::Event;

pub trait Output {
    fn on_event(&mut self, ev: Event) -> io::Result<()>;
    /// `new` events were lost since the last call (`total` since start).
    fn on_lost(&mut self, new: u64, total: u64) -> io::Result<()>;
    /// Called after each batch of events.
    fn flush(&mut self) -> io::Result<()>;
    /// Called once when tracing stops.
    fn finish(&mut self) -> io::Result<()>;
}

pub fn new(
    kind: OutputKind,
    tracer: Tracer,
    out: Box<dyn Write>,
    tty_counter: bool,
) -> Box<dyn Output> {
    match kind {
        OutputKind::Aggregate => Box::new(aggregate::Aggregate::new(out, tracer, tty_counter)),
        OutputKind::Json => Box::new(json::Json::new(out)),
    }
}
