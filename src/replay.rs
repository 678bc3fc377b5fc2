//! # Reading an events file
//!
//! `--read FILE`: the recorded raw records go through the same [`Stream`] as
//! a live trace, decoded with the file's own hook table and extension
//! decoder, and rendered with this invocation's output options. Needs no
//! privileges, BPF or kernel BTF: it runs on any machine.

use anyhow::Result;

use crate::cli::Config;
use crate::drops::DropStage;
use crate::event::decode::Resolver;
use crate::event::fields::Builtins;
use crate::event::file::Reader;
use crate::event::raw::RawRecord;
use crate::output::text::Clock;
use crate::session;
use crate::stream::{self, Selection, Stream};

/// Records handed from the reading thread to the rendering one at a time.
const BATCH: usize = 4096;

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
    let fields = config.fields(header.fields);
    crate::event::fields::check_clash(&fields, &header.decoder)?;
    let missing = fields.not_recorded(&header.fields);
    if !missing.is_empty() {
        log::warn!(
            "{} was recorded without {}: those fields are not shown",
            path.display(),
            missing.join(", ")
        );
    }
    let builtins = Builtins::new(fields, &header.drop_reasons);
    let resolver = Resolver::new(&header.hooks, header.decoder.clone(), builtins);
    let selection = Selection::new(
        config.regex.clone(),
        config.module_regex.clone(),
        config.mark_given.then_some((config.mark, config.mask)),
    );
    let stage = DropStage::new(config.drops, config.drops_only, header.idle_timeout_ns);
    let mut stream = Stream::new(resolver, selection, None, output).with_drops(stage, None);
    // Reading (decompression, decoding) on its own thread, rendering on this
    // one: batches of records travel between them, a few at a time.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<RawRecord>>(4);
    let reading = std::thread::Builder::new()
        .name("ipft-read".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(raw) = reader.next_record() {
                batch.push(raw);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.send(full).is_err() {
                        return reader;
                    }
                }
            }
            let _ = tx.send(batch);
            reader
        });
    let result = match reading {
        Ok(reading) => {
            let rendered = (|| -> Result<()> {
                for batch in rx {
                    for raw in &batch {
                        stream.push(raw)?;
                    }
                }
                stream.finish()
            })();
            // The reader ends once the channel is gone (an output error) or at the end.
            let reader = reading.join().ok();
            if let Some(note) = reader.as_ref().and_then(Reader::note) {
                crate::say!("{note}");
            }
            rendered
        }
        Err(e) => Err(anyhow::anyhow!("cannot start the reading thread: {e}")),
    };
    match result {
        Err(e) if stream::is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}
