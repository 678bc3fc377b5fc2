//! # Reading an events file
//!
//! `--read FILE`: the recorded raw records go through the same [`Stream`] as
//! a live trace, decoded with the file's own hook table and extension
//! decoder, and rendered with this invocation's output options. Needs no
//! privileges, BPF or kernel BTF: it runs on any machine.

use anyhow::Result;

use crate::cli::Config;
use crate::event::decode::Resolver;
use crate::event::file::Reader;
use crate::output::text::Clock;
use crate::session;
use crate::stream::{self, Selection, Stream};

pub fn read(config: &Config, path: &std::path::Path) -> Result<()> {
    let mut reader = Reader::open(path)?;
    let header = &reader.header;
    log::debug!(
        "{}: recorded by ipft {} on {} (kernel {}, boot {}) from {} with -b {} -t {}, {} hooks{}",
        path.display(),
        header.ipft_version,
        header.hostname,
        header.kernel_release,
        header.boot_id,
        header.started,
        header.backend,
        header.tracer,
        header.hooks.len(),
        header
            .extension
            .as_ref()
            .map(|e| format!(", extension {e}"))
            .unwrap_or_default()
    );
    let clock = Clock::new(config.timestamp, header.realtime_offset_ns as i128);
    let idle = std::time::Duration::from_nanos(header.idle_timeout_ns);
    let output = session::stdout_output(config, clock, false, header.track, idle)?;
    let resolver = Resolver::new(&header.hooks, header.decoder.clone());
    let selection = Selection::new(
        config.regex.clone(),
        config.module_regex.clone(),
        config.mark_given.then_some((config.mark, config.mask)),
    );
    let mut stream = Stream::new(resolver, selection, None, output);
    let result = (|| -> Result<()> {
        while let Some(raw) = reader.next_record() {
            stream.push(&raw)?;
        }
        stream.finish()
    })();
    if let Some(note) = reader.note() {
        crate::say!("{note}");
    }
    match result {
        Err(e) if stream::is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}
