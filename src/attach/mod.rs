//! # Attaching
//!
//! One [`Backend`] per attach mechanism, chosen in [`select`]: an explicit
//! `-b`, or the best the running kernel supports for the tracer. Mass attach
//! runs in parallel; each target's failure is counted and kept for `-v`,
//! never fatal unless nothing attached at all.

pub mod clone;
pub mod fentry;
pub mod kprobe;
pub mod kprobe_multi;
pub mod tracepoint;

use std::io::IsTerminal;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use anyhow::{bail, Result};
use libbpf_rs::{Object, OpenObject};

use crate::cli::{BackendKind, Tracer};
use crate::discover::{ArgAccess, Discovery, Target};
use crate::preflight::Features;

/// A hook to attach: its target and its probe word, the value its events
/// carry (the probe id, `probes[i]` has id `i`) plus flags. Mirrors
/// `IPFT_PROBE_*` in `bpf/ipft_common.h`.
#[derive(Debug, Clone)]
pub struct Probe {
    pub target: Target,
    pub word: u32,
}

/// The skb is freed at this hook: stop tracking it after the event.
pub const PROBE_FORGET: u32 = 1 << 30;
/// A free point only (not a traced hook): no event but the packet's end.
pub const PROBE_SILENT: u32 = 1 << 29;

/// An attach mechanism.
pub trait Backend {
    fn kind(&self) -> BackendKind;
    /// The embedded BPF object holding this backend's programs.
    fn object(&self) -> &'static [u8];
    /// Adjusts programs before load (attach targets, autoload).
    fn prepare(&self, open: &mut OpenObject, probes: &[Probe]) -> Result<()>;
    /// Attaches every probe.
    fn attach(&self, obj: &mut Object, probes: &[Probe], progress: &Progress) -> Attachment;
    /// Hooks (by name) where this backend sees skbs freed.
    fn free_points(&self) -> &'static [&'static str];
}

/// Everything that keeps the hooks alive; dropping it detaches.
#[derive(Default)]
pub struct Attachment {
    pub fds: Vec<OwnedFd>,
    /// Links libbpf made (programs attached by their section name).
    pub links: Vec<libbpf_rs::Link>,
    /// (target, reason) for each failure.
    pub failures: Vec<(String, String)>,
}

impl Attachment {
    /// Closes every link and program, many at a time (each close may wait for
    /// an RCU grace period).
    pub fn detach(self) {
        use rayon::prelude::*;
        drop(self.links);
        let bar = (std::io::stderr().is_terminal() && self.fds.len() > 64).then(|| {
            let bar = indicatif::ProgressBar::new(self.fds.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "Detaching {bar:30} {pos}/{len} {per_sec} {elapsed}",
                )
                .expect("valid template"),
            );
            bar
        });
        pool().install(|| {
            self.fds.into_par_iter().for_each(|fd| {
                drop(fd);
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            })
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
}

/// Threads for attach and detach. Most of their time is spent waiting in
/// the kernel (RCU grace periods), not on a CPU, so there are many more of
/// them than cores: concurrent waits share grace periods.
pub fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(4)
            * 8;
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ipft-attach-{i}"))
            .build()
            .expect("failed to start attach threads")
    })
}

/// Program number `pos` of a template family, e.g. `ipft_tp3`.
fn template_pos(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.parse().ok()
}

/// Loads only the templates (`<prefix><pos>`) that have targets.
pub fn enable_templates(open: &mut OpenObject, probes: &[Probe], prefix: &str) {
    for mut prog in open.progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        if let Some(pos) = template_pos(&name, prefix) {
            prog.set_autoload(probes.iter().any(|p| p.target.skb.pos == pos));
        }
    }
}

/// For programs bound to one target at load (tp_btf, fentry, fexit): aims
/// each template `<prefix><pos>` at the first target of its position, and
/// leaves the others (and other families) unloaded.
pub fn set_template_targets(
    open: &mut OpenObject,
    probes: &[Probe],
    prefixes: &[&str],
) -> Result<()> {
    for mut prog in open.progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        let pos = prefixes.iter().find_map(|p| template_pos(&name, p));
        let first = pos.and_then(|pos| probes.iter().map(|p| &p.target).find(|t| t.skb.pos == pos));
        match first {
            Some(first) => prog
                .set_attach_target(0, Some(first.name.clone()))
                .map_err(|e| anyhow::anyhow!("failed to aim {name} at {}: {e}", first.name))?,
            None => prog.set_autoload(false),
        }
    }
    Ok(())
}

/// Attach progress on stderr: a live bar (counts, rate, elapsed) when stderr
/// is a terminal, then ipftrace2's `Attaching program (total …)` line, which
/// is all that is printed when stderr is not a terminal.
pub struct Progress {
    total: usize,
    filtered: usize,
    succeeded: AtomicUsize,
    failed: AtomicUsize,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(total: usize, filtered: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new((total - filtered) as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "Attaching {bar:30} {pos}/{len} hooks ({msg}) {per_sec} {elapsed}",
                )
                .expect("valid template"),
            );
            bar.set_message(format!("0 failed, {filtered} filtered"));
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            bar
        });
        Progress {
            total,
            filtered,
            succeeded: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            bar,
        }
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

    pub fn record(&self, ok: bool) {
        let counter = if ok { &self.succeeded } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if !ok {
                bar.set_message(format!(
                    "{} failed, {} filtered",
                    self.failed.load(Ordering::Relaxed),
                    self.filtered
                ));
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!("{}", self.line());
    }

    pub fn succeeded(&self) -> usize {
        self.succeeded.load(Ordering::Relaxed)
    }
}

/// How a backend reads arguments, i.e. which targets it can trace.
pub fn access(kind: BackendKind) -> ArgAccess {
    match kind {
        BackendKind::Kprobe | BackendKind::KprobeMulti => ArgAccess::Registers,
        BackendKind::Ftrace => ArgAccess::Trampoline,
        BackendKind::Tracepoint => ArgAccess::TracepointCtx,
    }
}

/// The attach implementation of `kind`.
pub fn backend(kind: BackendKind, tracer: Tracer, track: bool) -> Box<dyn Backend> {
    match kind {
        BackendKind::Tracepoint => Box::new(tracepoint::Tracepoint { track }),
        BackendKind::KprobeMulti => Box::new(kprobe_multi::KprobeMulti),
        BackendKind::Kprobe => Box::new(kprobe::Kprobe),
        BackendKind::Ftrace => Box::new(fentry::Fentry { tracer }),
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
                    None => {
                        chosen = Some(*kind);
                        break;
                    }
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
