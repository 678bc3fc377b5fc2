//! # Attaching
//!
//! One [`Backend`] per attach mechanism, chosen in [`select`]: an explicit
//! `-b`, or the best the running kernel supports for the tracer. Mass attach
//! runs in parallel; each target's failure is counted and kept for `-v`,
//! never fatal unless nothing attached at all.

pub mod clone;
pub mod tracepoint;

use std::io::IsTerminal;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Result};
use libbpf_rs::{Object, OpenObject};

use crate::cli::{BackendKind, Tracer};
use crate::discover::{ArgAccess, Discovery, Target};
use crate::preflight::Features;

/// An attach mechanism.
pub trait Backend {
    fn kind(&self) -> BackendKind;
    /// The embedded BPF object holding this backend's programs.
    fn object(&self) -> &'static [u8];
    /// Adjusts programs before load (attach targets, autoload).
    fn prepare(&self, open: &mut OpenObject, targets: &[Target]) -> Result<()>;
    /// Attaches to every target; the probe id of `targets[i]` is `i`.
    fn attach(&self, obj: &Object, targets: &[Target], progress: &Progress) -> Attachment;
}

/// Everything that keeps the hooks alive; dropping it detaches.
#[derive(Default)]
pub struct Attachment {
    pub fds: Vec<OwnedFd>,
    /// (target, reason) for each failure.
    pub failures: Vec<(String, String)>,
}

impl Attachment {
    /// Closes every link and program, many at a time (each close may wait for
    /// an RCU grace period).
    pub fn detach(self) {
        use rayon::prelude::*;
        self.fds.into_par_iter().for_each(drop);
    }
}

/// The `Attaching program (total …)` line on stderr.
pub struct Progress {
    total: usize,
    filtered: usize,
    succeeded: AtomicUsize,
    failed: AtomicUsize,
    tty: bool,
    last: Mutex<Instant>,
}

impl Progress {
    pub fn new(total: usize, filtered: usize) -> Progress {
        let p = Progress {
            total,
            filtered,
            succeeded: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            tty: std::io::stderr().is_terminal(),
            last: Mutex::new(Instant::now()),
        };
        p.print(false);
        p
    }

    fn line(&self) -> String {
        format!(
            "Attaching program (total {}, succeeded {}, failed {}, filtered: {})",
            self.total,
            self.succeeded.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.filtered
        )
    }

    fn print(&self, done: bool) {
        if self.tty {
            eprint!("\r{}{}", self.line(), if done { "\n" } else { "" });
        } else if done {
            eprintln!("{}", self.line());
        }
    }

    pub fn record(&self, ok: bool) {
        let counter = if ok { &self.succeeded } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        if self.tty {
            let mut last = self.last.lock().unwrap();
            if last.elapsed().as_millis() >= 100 {
                *last = Instant::now();
                self.print(false);
            }
        }
    }

    pub fn finish(&self) {
        self.print(true);
    }

    pub fn succeeded(&self) -> usize {
        self.succeeded.load(Ordering::Relaxed)
    }
}

/// Backends this build can attach with.
const IMPLEMENTED: &[BackendKind] = &[BackendKind::Tracepoint];

/// How a backend reads arguments, i.e. which targets it can trace.
pub fn access(kind: BackendKind) -> ArgAccess {
    match kind {
        BackendKind::Kprobe | BackendKind::KprobeMulti => ArgAccess::Registers,
        BackendKind::Ftrace => ArgAccess::Trampoline,
        BackendKind::Tracepoint => ArgAccess::TracepointCtx,
    }
}

/// The attach implementation of `kind`.
pub fn backend(kind: BackendKind) -> Result<Box<dyn Backend>> {
    match kind {
        BackendKind::Tracepoint => Ok(Box::new(tracepoint::Tracepoint)),
        other => bail!(
            "the {other} backend is not implemented in this ipft yet (-l -b {other} lists its targets): use -b tracepoint"
        ),
    }
}

/// The backend to use, and the line that explains an automatic fallback.
pub fn select(
    explicit: Option<BackendKind>,
    tracer: Tracer,
    features: &Features,
) -> Result<(BackendKind, Option<String>)> {
    match explicit {
        Some(kind) => Ok((kind, None)),
        None => {
            let preferred: &[BackendKind] = match tracer {
                Tracer::Function => &[
                    BackendKind::KprobeMulti,
                    BackendKind::Kprobe,
                    BackendKind::Ftrace,
                ],
                Tracer::FunctionGraph => &[BackendKind::Ftrace],
            };
            let mut reasons = Vec::new();
            let mut chosen = None;
            for kind in preferred {
                match features.unavailable(*kind) {
                    Some(why) => reasons.push(why),
                    None if IMPLEMENTED.contains(kind) => {
                        chosen = Some(*kind);
                        break;
                    }
                    None => reasons.push(format!("{kind} is not implemented in this ipft yet")),
                }
            }
            match (chosen, tracer) {
                (Some(kind), _) => Ok((kind, None)),
                (None, Tracer::Function) => {
                    reasons.dedup();
                    let note = format!("{}: using tracepoints", reasons.join(", "));
                    Ok((BackendKind::Tracepoint, Some(note)))
                }
                (None, Tracer::FunctionGraph) => {
                    bail!(
                        "-t function_graph needs fentry/fexit: {}",
                        reasons.join(", ")
                    )
                }
            }
        }
    }
}

/// Targets a backend can trace, split into kept and filtered by the regexes.
pub fn filter_targets<'a>(
    discovery: &'a Discovery,
    access: ArgAccess,
    regex: Option<&regex::Regex>,
    module_regex: Option<&regex::Regex>,
) -> (Vec<Target>, usize) {
    let pool = match access {
        ArgAccess::TracepointCtx => &discovery.tracepoints,
        _ => &discovery.functions,
    };
    let usable: Vec<&'a Target> = pool.iter().filter(|t| t.usable_by(access)).collect();
    let total = usable.len();
    let kept: Vec<Target> = usable
        .into_iter()
        .filter(|t| regex.is_none_or(|r| r.is_match(&t.name)))
        .filter(|t| module_regex.is_none_or(|r| r.is_match(&t.module)))
        .cloned()
        .collect();
    let filtered = total - kept.len();
    (kept, filtered)
}
