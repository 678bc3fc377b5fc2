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
    /// `new` hits of matching packets found no room in the tracking map.
    fn on_untracked(&mut self, _new: u64, _total: u64) -> io::Result<()> {
        Ok(())
    }
    /// The skb at `skb` was freed outside the traced hooks.
    fn on_skb_freed(&mut self, _skb: u64) -> io::Result<()> {
        Ok(())
    }
    /// Called about every 100 ms with CLOCK_MONOTONIC (the events' clock).
    fn on_tick(&mut self, _now_ns: u64) -> io::Result<()> {
        Ok(())
    }
    /// Called after each batch of events.
    fn flush(&mut self) -> io::Result<()>;
    /// Called once when tracing stops.
    fn finish(&mut self) -> io::Result<()>;
}

/// `live_idle`: print each packet as soon as it is finished (freed, or idle
/// this long) instead of all at exit.
pub fn new(
    kind: OutputKind,
    tracer: Tracer,
    out: Box<dyn Write>,
    tty_counter: bool,
    live_idle: Option<std::time::Duration>,
) -> Box<dyn Output> {
    match kind {
        OutputKind::Aggregate => Box::new(aggregate::Aggregate::new(
            out,
            tracer,
            tty_counter,
            live_idle,
        )),
        OutputKind::Json => Box::new(json::Json::new(out)),
    }
}
