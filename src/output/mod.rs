//! # Output
//!
//! Renderers over the record stream: [`aggregate`] (per-packet blocks),
//! [`json`] (one object per record, streaming) and [`pcapng`] (packet
//! snapshots for Wireshark). They never see raw bytes or BTF: they are fed
//! decoded [`Record`]s, live or read back from an events file, in stream order.
//! [`writer`] writes what they render to a file or a pipe, on a thread of its own.

pub mod aggregate;
pub mod json;
pub mod pcapng;
pub mod text;
pub mod writer;

use std::io::{self, Write};
use std::time::Duration;

use crate::cli::{OutputKind, Tracer};
use crate::event::model::Record;
use text::Clock;

/// Where an output's bytes go. Besides writing, it can take a whole buffer
/// of rendered bytes: the writer thread takes it as it is (leaving a spare
/// in its place), where a write would copy tens of KiB per piece (which under
/// emulation costs as much as rendering them).
pub trait Destination: Write {
    /// Hands over every byte of `buf`, leaving it empty.
    fn hand_over(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.write_all(buf)?;
        buf.clear();
        Ok(())
    }
}

impl<W: Write> Destination for io::BufWriter<W> {}
impl Destination for io::Sink {}

pub trait Output {
    /// One record of the stream.
    fn record(&mut self, record: Record) -> io::Result<()>;
    /// Called after each batch of records.
    fn flush(&mut self) -> io::Result<()>;
    /// Called once when the stream ends.
    fn finish(&mut self) -> io::Result<()>;
}

/// How an output renders, whatever the stream's source.
pub struct Style {
    pub kind: OutputKind,
    pub tracer: Tracer,
    pub clock: Clock,
    /// A `Got N traces` counter on stderr (a terminal, tracing live).
    pub tty_counter: bool,
    /// Print each packet once it is finished (freed, or idle this long)
    /// instead of all at the end (while tracking).
    pub live_idle: Option<Duration>,
}

pub fn new(style: Style, out: Box<dyn Destination>) -> Box<dyn Output> {
    match style.kind {
        OutputKind::Aggregate => Box::new(aggregate::Aggregate::new(
            out,
            style.tracer,
            style.tty_counter,
            style.live_idle,
            style.clock,
        )),
        OutputKind::Json => Box::new(json::Json::new(out, style.clock)),
        OutputKind::Pcapng => Box::new(pcapng::Pcapng::new(out, style.clock)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    pub struct Shared(pub Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl super::Destination for Shared {}

    impl Shared {
        pub fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
        pub fn bytes(&self) -> Vec<u8> {
            self.0.lock().unwrap().clone()
        }
    }
}
