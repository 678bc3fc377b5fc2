//! # Logging
//!
//! A small `log` backend writing to stderr (stdout carries only trace
//! output), and the bridge that routes libbpf's messages into it. `-v`
//! enables debug messages from both.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        match record.level() {
            Level::Error => eprintln!("error: {}", record.args()),
            Level::Warn => eprintln!("warning: {}", record.args()),
            Level::Info => eprintln!("{}", record.args()),
            Level::Debug | Level::Trace => eprintln!("verbose: {}", record.args()),
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

fn libbpf_print(level: libbpf_rs::PrintLevel, msg: String) {
    let msg = msg.trim_end();
    // Expected for extensions: their __ipft_skip section only carries BTF.
    if msg.contains("skipping unrecognized data section") {
        return;
    }
    match level {
        libbpf_rs::PrintLevel::Warn => log::warn!("{msg}"),
        libbpf_rs::PrintLevel::Info => log::debug!("{msg}"),
        libbpf_rs::PrintLevel::Debug => log::trace!("{msg}"),
    }
}

pub fn init(verbose: bool) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(if verbose {
        LevelFilter::Trace
    } else {
        LevelFilter::Warn
    });
    let level = if verbose {
        libbpf_rs::PrintLevel::Debug
    } else {
        libbpf_rs::PrintLevel::Warn
    };
    libbpf_rs::set_print(Some((level, libbpf_print)));
}
