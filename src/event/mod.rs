//! # Events
//!
//! Kernel bytes in ([`raw`]), transport from the BPF maps ([`transport`]), and
//! the model every printer reads ([`model`]).

pub mod model;
pub mod raw;
pub mod transport;
