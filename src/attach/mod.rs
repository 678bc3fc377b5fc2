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

use std::cell::OnceCell;
use std::io::IsTerminal;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use anyhow::{bail, Result};
use libbpf_rs::{Object, OpenObject};

use crate::cli::{BackendKind, Tracer};
use crate::discover::{ArgAccess, Discovery, Target};

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
/// The hook is also a clone point's entry (see [`Backend::shares_clone_entry`]).
pub const PROBE_CLONE: u32 = 1 << 28;

/// An attach mechanism.
pub trait Backend {
    fn kind(&self) -> BackendKind;
    /// The embedded BPF object holding this backend's programs.
    fn object(&self) -> &'static [u8];
    /// An object without newer kernel features to load if [`Backend::object`]
    /// is refused.
    fn plain_object(&self) -> Option<&'static [u8]> {
        None
    }
    /// Adjusts programs before load (attach targets, autoload); the clone
    /// programs load only when `clones` is not empty.
    fn prepare(&self, open: &mut OpenObject, probes: &[Probe], clones: &[Probe]) -> Result<()>;
    /// Attaches every probe.
    fn attach(&self, obj: &mut Object, probes: &[Probe], progress: &Progress) -> Attachment;
    /// Hooks (by name) where this backend sees skbs freed.
    fn free_points(&self) -> &'static [&'static str];
    /// Whether this backend can follow clones: it needs function returns.
    fn follows_clones(&self) -> bool {
        false
    }
    /// Whether the traced programs do a clone point's entry work when the
    /// probe word has [`PROBE_CLONE`]: then clone points ride on the traced
    /// hooks (or on silent ones) and only their returns get hooks of their own.
    fn shares_clone_entry(&self) -> bool {
        false
    }
    /// Hooks the return of each clone point ([`clone_points`]), and its
    /// entry unless [`Backend::shares_clone_entry`].
    fn attach_clones(&self, _obj: &mut Object, _clones: &[Probe]) -> Attachment {
        Attachment::default()
    }
}

/// Where the function backends see an skb's memory go back for reuse:
/// `kfree_skbmem` on most paths, `napi_skb_cache_put` when the skb is kept in
/// the per-CPU NAPI cache for the next allocation (absent ones are skipped).
/// Both are the last skb function of their free path, so nothing after them
/// can start a new packet on the freed skb. `kfree_skb_partial` with a stolen
/// head (TCP coalescing) frees straight to the slab after other skb
/// functions: such packets end at --idle-timeout.
pub const FUNCTION_FREE_POINTS: &[&str] = &["kfree_skbmem", "napi_skb_cache_put"];

/// The clone programs of the function backends' objects.
pub const CLONE_ENTRY: &str = "ipft_clone_entry";
pub const CLONE_EXIT: &str = "ipft_clone_exit";

/// Loads the clone programs only when there are clone points, and the entry
/// program only when the traced programs do not do its work (`shared_entry`).
pub fn enable_clone_programs(open: &mut OpenObject, clones: &[Probe], shared_entry: bool) {
    for mut prog in open.progs_mut() {
        match prog.name().to_string_lossy().as_ref() {
            CLONE_ENTRY => prog.set_autoload(!clones.is_empty() && !shared_entry),
            CLONE_EXIT => prog.set_autoload(!clones.is_empty()),
            _ => {}
        }
    }
}

/// Name parts of the functions that make a new skb from the one they are
/// given: clones, copies, unshared or reallocated skbs, GSO segments, IP
/// fragments. Other functions that take and return an skb hand back the same
/// one or another packet (GRO receive, `dev_hard_start_xmit`, ...).
const CLONE_MAKERS: &[&str] = &[
    "clone",
    "copy",
    "share_check",
    "realloc_headroom",
    "expand_head",
    "segment",
    "frag_next",
    "pskb_extract",
];

/// Functions whose returned skb(s) continue the packet passed as their first
/// argument: from BTF (returns a `struct sk_buff *`, takes one first) and
/// their name ([`CLONE_MAKERS`]).
pub fn clone_points(discovery: &Discovery, access: ArgAccess) -> Vec<Target> {
    discovery
        .functions
        .iter()
        .filter(|t| t.returns_skb && t.skb.pos == 0 && t.usable_by(access))
        .filter(|t| CLONE_MAKERS.iter().any(|m| t.name.contains(m)))
        .cloned()
        .collect()
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
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty() && self.links.is_empty()
    }

    /// Descriptors that keep hooks alive.
    pub fn fd_count(&self) -> usize {
        self.fds.len() + self.links.len()
    }

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
///
/// Where threads cannot start (a low pids limit, a small `ulimit -v`), the
/// pool gets as many as start, halving the count down to one; with none at
/// all, the calling thread does the work alone.
pub fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let wanted = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(4)
            * 8;
        let mut threads = wanted;
        while threads >= 1 {
            let built = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("ipft-attach-{i}"))
                .build();
            match built {
                Ok(pool) => {
                    if threads < wanted {
                        log::debug!("attach threads: {threads} (of {wanted}: no more could start)");
                    }
                    return pool;
                }
                Err(e) => log::debug!("cannot start {threads} attach threads: {e}"),
            }
            threads /= 2;
        }
        log::warn!(
            "no attach thread could start: attaching from the main thread, one hook at a time"
        );
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build()
            .unwrap_or_else(|e| {
                crate::say!("ipft: cannot attach: not even one thread could start ({e})");
                std::process::exit(1)
            })
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
/// is all that is printed when stderr is not a terminal. The line counts the
/// traced hooks; the free points ipft adds to end packets the filters left
/// out (silent probes) and the clone points are named after it.
pub struct Progress {
    total: usize,
    filtered: usize,
    succeeded: AtomicUsize,
    failed: AtomicUsize,
    silent: AtomicUsize,
    clone_points: AtomicUsize,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// A progress that counts but shows nothing (internal hooks).
    pub fn hidden() -> Progress {
        Progress {
            total: 0,
            filtered: 0,
            succeeded: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            silent: AtomicUsize::new(0),
            clone_points: AtomicUsize::new(0),
            bar: None,
        }
    }

    /// `traced` hooks to attach, `filtered` left out by -r/--module-regex,
    /// `silent` free points attached besides.
    pub fn new(traced: usize, filtered: usize, silent: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new((traced + silent) as u64);
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
            total: traced + filtered,
            filtered,
            succeeded: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            silent: AtomicUsize::new(0),
            clone_points: AtomicUsize::new(0),
            bar,
        }
    }

    fn line(&self) -> String {
        let mut line = format!(
            "Attaching program (total {}, succeeded {}, failed {}, filtered: {})",
            self.total,
            self.succeeded.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.filtered
        );
        let silent = self.silent.load(Ordering::Relaxed);
        let clones = self.clone_points.load(Ordering::Relaxed);
        let mut extra = Vec::new();
        if silent > 0 {
            extra.push(format!(
                "{silent} free point{} to end packets",
                if silent == 1 { "" } else { "s" }
            ));
        }
        if clones > 0 {
            extra.push(format!(
                "{clones} clone point{} to follow copies",
                if clones == 1 { "" } else { "s" }
            ));
        }
        if !extra.is_empty() {
            line.push_str(&format!(", plus {}", extra.join(" and ")));
        }
        line
    }

    pub fn record(&self, probe: &Probe, ok: bool) {
        if probe.word & PROBE_SILENT != 0 {
            // A clone point's entry only: counted with the clone points.
            if ok && probe.word & PROBE_CLONE == 0 {
                self.silent.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(bar) = &self.bar {
                bar.inc(1);
            }
            return;
        }
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

    /// Clone points hooked (entry and return count as one).
    pub fn set_clone_points(&self, n: usize) {
        self.clone_points.store(n, Ordering::Relaxed);
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        crate::say!("{}", self.line());
    }

    pub fn succeeded(&self) -> usize {
        self.succeeded.load(Ordering::Relaxed)
    }
}

/// `r0 = 0; exit`: what the feature probes load.
fn empty_program() -> [libbpf_sys::bpf_insn; 2] {
    [
        libbpf_sys::bpf_insn {
            code: 0xb7,
            ..Default::default()
        },
        libbpf_sys::bpf_insn {
            code: 0x95,
            ..Default::default()
        },
    ]
}

/// Does the verifier take `atomic_fetch_add` (BPF_ATOMIC | BPF_FETCH)? A
/// socket filter adding to a stack slot: `r1 = 0; *(u64 *)(r10 - 8) = r1;
/// r2 = 1; r2 = atomic_fetch_add((u64 *)(r10 - 8), r2); r0 = 0; exit`.
fn probe_atomic_fetch() -> bool {
    let insn = |code: u8, dst: u8, src: u8, off: i16, imm: i32| {
        let mut i = libbpf_sys::bpf_insn {
            code,
            off,
            imm,
            ..Default::default()
        };
        i.set_dst_reg(dst);
        i.set_src_reg(src);
        i
    };
    const BPF_FETCH: i32 = 0x01;
    let insns = [
        insn(0xb7, 1, 0, 0, 0),
        insn(0x7b, 10, 1, -8, 0),
        insn(0xb7, 2, 0, 0, 1),
        insn(0xdb, 10, 2, -8, BPF_FETCH),
        insn(0xb7, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
    ];
    let target = clone::CloneTarget {
        prog_name: "ipft_probe",
        prog_type: libbpf_sys::BPF_PROG_TYPE_SOCKET_FILTER,
        attach_type: 0,
        attach_btf_id: 0,
        attach_btf_obj_fd: None,
    };
    clone::load(&target, &insns, false).is_ok()
}

/// What the running kernel accepts, probed with tiny programs (never guessed
/// from the kernel version); each probe lives with its backend. A backend is
/// probed when it is first asked about, so a run pays only for the backends
/// it considers (the kprobe-multi probe attaches and detaches a link).
pub struct Features {
    /// A traceable vmlinux skb function for the probes.
    vmlinux_func: Option<Target>,
    kprobe: OnceCell<Result<(), String>>,
    kprobe_multi: OnceCell<Result<(), String>>,
    fentry: OnceCell<Result<(), String>>,
    pub ringbuf: bool,
    /// BPF_ATOMIC with BPF_FETCH (Linux 5.12+): packet ids safe under nesting.
    pub atomic_fetch: bool,
}

/// What the programs can use whatever the backend: probed before discovery,
/// so that loading can start during it ([`crate::load::ahead`]).
#[derive(Debug, Clone, Copy)]
pub struct ProgramFeatures {
    pub ringbuf: bool,
    pub atomic_fetch: bool,
}

impl ProgramFeatures {
    pub fn probe() -> ProgramFeatures {
        ProgramFeatures {
            ringbuf: libbpf_rs::MapType::RingBuf.is_supported().unwrap_or(false),
            atomic_fetch: probe_atomic_fetch(),
        }
    }
}

impl Features {
    pub fn probe(discovery: &Discovery, programs: ProgramFeatures) -> Features {
        Features {
            vmlinux_func: discovery
                .functions
                .iter()
                .find(|t| t.btf_obj.is_none())
                .cloned(),
            kprobe: OnceCell::new(),
            kprobe_multi: OnceCell::new(),
            fentry: OnceCell::new(),
            ringbuf: programs.ringbuf,
            atomic_fetch: programs.atomic_fetch,
        }
    }

    /// Whether `kind` can attach here, probing it on first use.
    fn backend(&self, kind: BackendKind) -> Result<(), String> {
        let func = self.vmlinux_func.as_ref();
        match kind {
            BackendKind::Kprobe => self.kprobe.get_or_init(kprobe::probe).clone(),
            BackendKind::KprobeMulti => self
                .kprobe_multi
                .get_or_init(|| kprobe_multi::probe(&self.backend(BackendKind::Kprobe), func))
                .clone(),
            BackendKind::Ftrace => self
                .fentry
                .get_or_init(|| fentry::probe(func.map(|f| f.btf_id)))
                .clone(),
            BackendKind::Tracepoint => Ok(()),
        }
    }

    /// What the kernel offers the programs (probed before discovery).
    pub fn programs(&self) -> ProgramFeatures {
        ProgramFeatures {
            ringbuf: self.ringbuf,
            atomic_fetch: self.atomic_fetch,
        }
    }

    /// Why `kind` cannot be used here, or `None` if it can.
    pub fn unavailable(&self, kind: BackendKind) -> Option<String> {
        self.backend(kind).err()
    }
}

impl std::fmt::Debug for Features {
    /// The backends probed so far, and the transport features.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Features");
        for (name, cell) in [
            ("kprobe", &self.kprobe),
            ("kprobe_multi", &self.kprobe_multi),
            ("fentry", &self.fentry),
        ] {
            if let Some(result) = cell.get() {
                s.field(name, result);
            }
        }
        s.field("ringbuf", &self.ringbuf)
            .field("atomic_fetch", &self.atomic_fetch)
            .finish()
    }
}

/// How a backend reads arguments, i.e. which targets it can trace.
pub fn access(kind: BackendKind) -> ArgAccess {
    match kind {
        BackendKind::Kprobe => kprobe::ACCESS,
        BackendKind::KprobeMulti => kprobe_multi::ACCESS,
        BackendKind::Ftrace => fentry::ACCESS,
        BackendKind::Tracepoint => tracepoint::ACCESS,
    }
}

/// The attach implementation of `kind`.
pub fn backend(
    kind: BackendKind,
    tracer: Tracer,
    track: bool,
    discovery: &Discovery,
) -> Box<dyn Backend> {
    match kind {
        BackendKind::Tracepoint => Box::new(tracepoint::Tracepoint { track }),
        BackendKind::KprobeMulti => Box::new(kprobe_multi::KprobeMulti {
            read_by_cast: discovery.kernel_functions.rdonly_cast,
        }),
        BackendKind::Kprobe => Box::new(kprobe::Kprobe),
        BackendKind::Ftrace => Box::new(fentry::Fentry { tracer }),
    }
}

/// The backend to use, and the line that explains an automatic fallback.
///
/// `listing` (`-l` without `-b`): only how the backend reads arguments
/// matters, and kprobe-multi lists what kprobe lists, so a kprobe PMU settles
/// it without attaching a probe (whose detach the prompt would wait for).
pub fn select(
    explicit: Option<BackendKind>,
    tracer: Tracer,
    features: &Features,
    listing: bool,
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
                if listing
                    && *kind == BackendKind::KprobeMulti
                    && features.unavailable(BackendKind::Kprobe).is_none()
                {
                    debug_assert_eq!(
                        access(BackendKind::KprobeMulti),
                        access(BackendKind::Kprobe)
                    );
                    chosen = Some(*kind);
                    break;
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_points_are_the_functions_that_make_new_skbs() {
        let dir = std::path::Path::new("/sys/kernel/btf");
        if !dir.join("vmlinux").exists() {
            eprintln!("SKIP: no kernel BTF at /sys/kernel/btf/vmlinux");
            return;
        }
        let discovery = crate::discover::discover(dir, |_| {}).unwrap();
        let names: Vec<String> = clone_points(&discovery, ArgAccess::Registers)
            .into_iter()
            .map(|t| t.name)
            .collect();
        for made_here in ["skb_clone", "skb_copy", "skb_segment"] {
            assert!(
                names.iter().any(|n| n == made_here),
                "{made_here} in {names:?}"
            );
        }
        // They take and return an skb, but another packet or the same one.
        for other in ["dev_hard_start_xmit", "inet_gro_receive", "skb_vlan_untag"] {
            assert!(!names.iter().any(|n| n == other), "{other} in {names:?}");
        }
        assert!(
            clone_points(&discovery, ArgAccess::TracepointCtx).is_empty(),
            "tracepoints are never clone points"
        );
    }
}
