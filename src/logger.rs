//! # Logging
//!
//! A small `log` backend writing to stderr (stdout carries only trace
//! output), and the bridge that routes libbpf's messages into it. `-v`
//! enables debug messages from both.

use std::fmt;
use std::io::{self, Write};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Writes one message to stderr. Unlike `eprint!` it never panics: a closed
/// or full stderr loses the message and nothing else (`ipft … 2>&1 | head`).
pub fn say(args: fmt::Arguments, newline: bool) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args);
    if newline {
        let _ = err.write_all(b"\n");
    }
}

/// `eprintln!` that never panics (see [`say`]).
#[macro_export]
macro_rules! say {
    () => {
        $crate::logger::say(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::logger::say(format_args!($($arg)*), true)
    };
}

/// `eprint!` that never panics (see [`say`]).
#[macro_export]
macro_rules! say_part {
    ($($arg:tt)*) => {
        $crate::logger::say(format_args!($($arg)*), false)
    };
}

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
            Level::Error => crate::say!("error: {}", record.args()),
            Level::Warn => crate::say!("warning: {}", record.args()),
            Level::Info => crate::say!("{}", record.args()),
            Level::Debug | Level::Trace => crate::say!("verbose: {}", record.args()),
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
