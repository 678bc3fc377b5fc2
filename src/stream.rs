//! # The stream
//!
//! The one path every record takes, live or read back: the raw record is
//! written to the events file (`-w`), decoded once by the [`Resolver`],
//! passed through the read-time [`Selection`] (`--read` with `-r`,
//! `--module-regex`, `-m`/`--mask`) and the [`DropStage`] (`--drops`), and
//! handed to the output. Live tracing
//! and `--read` differ only in where the raw records come from.

use std::collections::HashMap;
use std::io;

use anyhow::Result;
use regex::Regex;

use crate::drops::{DropStage, Symbolizer};
use crate::event::decode::Resolver;
use crate::event::file;
use crate::event::model::{Event, Record};
use crate::event::raw::RawRecord;
use crate::output::Output;

/// Read-time selection of recorded events.
#[derive(Default)]
pub struct Selection {
    pub regex: Option<Regex>,
    pub module_regex: Option<Regex>,
    /// (mark, mask): keep packets whose first recorded event carries the mark.
    pub mark: Option<(u32, u32)>,
    decided: HashMap<u64, bool>,
}

/// Packets whose mark decision is remembered at once.
const DECISIONS_KEPT: usize = 1 << 20;

impl Selection {
    pub fn new(
        regex: Option<Regex>,
        module_regex: Option<Regex>,
        mark: Option<(u32, u32)>,
    ) -> Self {
        Selection {
            regex,
            module_regex,
            mark,
            decided: HashMap::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.regex.is_none() && self.module_regex.is_none() && self.mark.is_none()
    }

    fn packet_kept(&mut self, ev: &Event) -> bool {
        let Some((mark, mask)) = self.mark else {
            return true;
        };
        if self.decided.len() >= DECISIONS_KEPT && !self.decided.contains_key(&ev.packet_id) {
            self.decided.clear();
        }
        let kept = *self
            .decided
            .entry(ev.packet_id)
            .or_insert((ev.mark & mask) == (mark & mask));
        if ev.end {
            self.decided.remove(&ev.packet_id);
        }
        kept
    }

    fn hook_kept(&self, ev: &Event) -> bool {
        self.regex.as_ref().is_none_or(|r| r.is_match(&ev.function))
            && self
                .module_regex
                .as_ref()
                .is_none_or(|r| r.is_match(&ev.module))
    }

    /// The record to pass on, if any. An event left out at the hook that
    /// ended its packet still ends the packet.
    pub fn select(&mut self, record: Record) -> Option<Record> {
        if self.is_empty() {
            return Some(record);
        }
        let Record::Event(ev) = record else {
            return Some(record);
        };
        if !self.packet_kept(&ev) {
            return None;
        }
        if self.hook_kept(&ev) {
            return Some(Record::Event(ev));
        }
        ev.end.then_some(Record::SkbFreed {
            skb: ev.skb,
            timestamp: ev.timestamp,
        })
    }
}

/// An output write failed: a reader going away (`| head`) ends quietly.
#[derive(Debug, thiserror::Error)]
#[error("failed to write the trace output: {0}")]
pub struct OutputError(#[source] pub io::Error);

impl OutputError {
    pub fn is_broken_pipe(&self) -> bool {
        self.0.kind() == io::ErrorKind::BrokenPipe
    }
}

pub struct Stream {
    resolver: Resolver,
    selection: Selection,
    recorder: Option<file::Writer>,
    output: Box<dyn Output>,
    /// Live only: names drop locations into the stream.
    symbolizer: Option<Symbolizer>,
    drops: DropStage,
    pub records: u64,
}

impl Stream {
    pub fn new(
        resolver: Resolver,
        selection: Selection,
        recorder: Option<file::Writer>,
        output: Box<dyn Output>,
    ) -> Stream {
        Stream {
            resolver,
            selection,
            recorder,
            output,
            symbolizer: None,
            drops: DropStage::default(),
            records: 0,
        }
    }

    /// Adds the `--drops` stage, and (live) the drop location namer.
    pub fn with_drops(mut self, stage: DropStage, symbolizer: Option<Symbolizer>) -> Stream {
        self.drops = stage;
        self.symbolizer = symbolizer;
        self
    }

    pub fn push(&mut self, raw: &RawRecord) -> Result<()> {
        self.records += 1;
        if let Some(symbols) = &mut self.symbolizer {
            if let Some(symbol) = symbols.missing(raw) {
                self.push_one(&symbol)?;
            }
        }
        self.push_one(raw)?;
        match self.resolver.script_error() {
            Some(e) => anyhow::bail!("{e}"),
            None => Ok(()),
        }
    }

    fn push_one(&mut self, raw: &RawRecord) -> Result<()> {
        if let Some(w) = &mut self.recorder {
            w.push(raw)?;
        }
        let Some(record) = self.resolver.record(raw) else {
            return Ok(());
        };
        if let Some(record) = self.selection.select(record) {
            self.drops
                .pass(record, &mut *self.output)
                .map_err(OutputError)?;
        }
        Ok(())
    }

    /// After each batch: flush the output, write a frame if one is due.
    pub fn flush(&mut self) -> Result<()> {
        self.output.flush().map_err(OutputError)?;
        if let Some(w) = &mut self.recorder {
            w.tick()?;
        }
        Ok(())
    }

    /// Ends the stream: the recorder's last frame first (so the file is whole
    /// even if the output fails), then the output's finish.
    pub fn finish(mut self) -> Result<()> {
        let recorded = self.recorder.take().map(|w| (w.records, w.finish()));
        if let Some((records, bytes)) = recorded {
            let bytes = bytes?;
            log::debug!("events file: {records} records in {bytes} bytes");
        }
        self.drops.finish(&mut *self.output).map_err(OutputError)?;
        self.output.finish().map_err(OutputError)?;
        Ok(())
    }
}

/// Whether `e` is an output write to a reader that went away.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<OutputError>()
        .is_some_and(OutputError::is_broken_pipe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::text::tests::event;

    #[test]
    fn selection_by_hook_keeps_packet_ends_and_by_first_mark() {
        let mut sel = Selection::new(Some(Regex::new("^ip_").unwrap()), None, Some((1, 0xff)));
        let mut a = event(1, 0, "vmlinux", "ip_rcv");
        a.mark = 0x101;
        assert!(sel.select(Record::Event(Box::new(a.clone()))).is_some());
        let mut b = a.clone();
        b.function = "kfree_skbmem".into();
        b.mark = 0;
        b.end = true;
        assert_eq!(
            sel.select(Record::Event(Box::new(b))),
            Some(Record::SkbFreed {
                skb: a.skb,
                timestamp: 1
            }),
            "later marks do not matter; the end is kept"
        );
        let mut other = event(2, 0, "vmlinux", "ip_rcv");
        other.packet_id = 9;
        other.mark = 2;
        assert!(sel.select(Record::Event(Box::new(other))).is_none());
        assert!(sel.select(Record::Tick { now: 3 }).is_some());
    }
}
