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

/// libbpf's messages at or above this level reach the log (0 warn, 1 info, 2 debug).
static LIBBPF_LEVEL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// libbpf's print callback. Installed directly rather than through
/// `libbpf_rs::set_print`, whose formatting aborts the process on a message
/// that is not UTF-8 (a verifier log quoting an extension's Latin-1 comment):
/// here such bytes print as U+FFFD.
unsafe extern "C" fn libbpf_print(
    level: libbpf_sys::libbpf_print_level,
    fmt: *const std::ffi::c_char,
    args: *mut libbpf_sys::__va_list_tag,
) -> std::ffi::c_int {
    if level > LIBBPF_LEVEL.load(std::sync::atomic::Ordering::Relaxed) {
        return 0;
    }
    // SAFETY: libbpf passes a valid format string and its argument list.
    let Ok(bytes) = (unsafe { vsprintf::vsprintf_raw(fmt, args) }) else {
        return 0;
    };
    let text = String::from_utf8_lossy(&bytes);
    let msg = text.trim_end();
    // Expected for extensions: their __ipft_skip section only carries BTF.
    if msg.contains("skipping unrecognized data section") {
        return 0;
    }
    match level {
        libbpf_sys::LIBBPF_WARN => log::warn!("{msg}"),
        libbpf_sys::LIBBPF_INFO => log::debug!("{msg}"),
        _ => log::trace!("{msg}"),
    }
    0
}

pub fn init(verbose: bool) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(if verbose {
        LevelFilter::Trace
    } else {
        LevelFilter::Warn
    });
    let level = if verbose {
        libbpf_sys::LIBBPF_DEBUG
    } else {
        libbpf_sys::LIBBPF_WARN
    };
    LIBBPF_LEVEL.store(level, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: the callback has libbpf's print signature and never unwinds.
    unsafe { libbpf_sys::libbpf_set_print(Some(libbpf_print)) };
}
