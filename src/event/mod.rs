//! # Events
//!
//! Kernel bytes in ([`raw`]), transport from the BPF maps ([`transport`]),
//! decoding into the model every consumer reads ([`decode`], [`model`]), and
//! the events file that records the raw stream ([`file`]).

pub mod decode;
pub mod fields;
pub mod file;
pub mod model;
pub mod raw;
pub mod transport;
