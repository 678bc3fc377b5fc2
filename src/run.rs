//! # The pipeline
//!
//! discover → select backend → (list) → link and load → attach → read →
//! decode → print → detach. Everything else is in the modules named here.

use std::cell::RefCell;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use libbpf_rs::MapCore;

use crate::attach::{self, Backend, Probe, Progress};
use crate::cli::{Config, TransportKind};
use crate::discover::{self, ksyms::TraceableSource, Target};
use crate::event::model::Event;
use crate::event::raw::{RawEvent, EVENT_END, EVENT_SILENT};
use crate::event::transport::{Receiver, Sink};
use crate::ext::{Decoder, Extension};
use crate::load::{self, embedded, link, LoadConfig};
use crate::output;
use crate::preflight::{self, Features};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // Second signal: leave now, without printing.
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// SIGINT/SIGTERM end tracing cleanly; a second one exits at once.
fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only touches an atomic and calls _exit.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns().
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn stopped() -> bool {
    STOP.load(Ordering::SeqCst)
}

fn print_options(config: &Config, backend: &str) {
    let opt = |o: &Option<regex::Regex>| o.as_ref().map_or("(null)".to_string(), |r| r.to_string());
    eprintln!("============   Options   ============");
    eprintln!("backend: {backend}");
    eprintln!("mark: 0x{:x}", config.mark);
    eprintln!("mask: 0x{:x}", config.mask);
    eprintln!("module-regex: {}", opt(&config.module_regex));
    eprintln!("regex: {}", opt(&config.regex));
    eprintln!(
        "extension: {}",
        config
            .extension
            .as_ref()
            .map_or("(null)".to_string(), |p| p.display().to_string())
    );
    eprintln!("tracer: {}", config.tracer);
    eprintln!("output: {}", config.output);
    eprintln!("perf_page_cnt: {}", config.perf.page_count);
    eprintln!("perf_sample_period: {}", config.perf.sample_period);
    eprintln!("perf_wakeup_events: {}", config.perf.wakeup_events);
    if let Some(port) = config.probe_server_port {
        eprintln!("probe_server_port: {port}");
    }
    eprintln!("============ End Options ============");
}

/// `-l`: header on stderr, rows on stdout, by skb position then discovery order.
pub fn list_lines(targets: &[Target]) -> (String, Vec<String>) {
    let header = format!(
        "{:>64.64}\t{:>16.16}\t{:>18}\t{}",
        "NAME", "MOD", "ADDR", "SKB_POSITION"
    );
    let mut sorted: Vec<&Target> = targets.iter().collect();
    sorted.sort_by_key(|t| t.skb.pos);
    let rows = sorted
        .iter()
        .map(|t| {
            format!(
                "{:>64.64}\t{:>16.16}\t0x{:016x}\t{}",
                t.name, t.module, t.addr, t.skb.pos
            )
        })
        .collect();
    (header, rows)
}

/// Probe id → names, resolved once for every event, and the extension's
/// data decoded.
struct Resolver {
    names: Vec<(Arc<str>, Arc<str>)>,
    unknown: Arc<str>,
    decoder: Decoder,
}

impl Resolver {
    fn new(probes: &[Probe], decoder: Decoder) -> Resolver {
        Resolver {
            decoder,
            names: probes
                .iter()
                .map(|p| {
                    (
                        Arc::from(p.target.module.as_str()),
                        Arc::from(p.target.name.as_str()),
                    )
                })
                .collect(),
            unknown: Arc::from("(unknown)"),
        }
    }

    fn event(&self, raw: &RawEvent) -> Event {
        let (module, function) = self
            .names
            .get(raw.probe_id as usize)
            .cloned()
            .unwrap_or_else(|| (self.unknown.clone(), self.unknown.clone()));
        Event {
            packet_id: raw.packet_id,
            skb: raw.skb,
            parent: raw.parent,
            end: raw.flags & EVENT_END != 0,
            timestamp: raw.tstamp,
            cpu: raw.processor_id,
            module,
            function,
            is_return: raw.is_return != 0,
            ext: self.decoder.decode(&raw.data),
        }
    }
}

/// The hooks to attach: the targets (probe id = index), the free points of
/// the backend flagged to end tracked packets, and, while tracking, free
/// points the filters left out, attached silently.
fn probes_for(
    targets: &[Target],
    backend: &dyn Backend,
    discovery: &discover::Discovery,
    access: discover::ArgAccess,
    track: bool,
) -> Vec<Probe> {
    let frees = backend.free_points();
    let mut probes: Vec<Probe> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let forget = if frees.contains(&t.name.as_str()) {
                attach::PROBE_FORGET
            } else {
                0
            };
            Probe {
                target: t.clone(),
                word: i as u32 | forget,
            }
        })
        .collect();
    if track {
        let pool = discovery.functions.iter().chain(&discovery.tracepoints);
        for t in pool.filter(|t| frees.contains(&t.name.as_str()) && t.usable_by(access)) {
            if !targets.iter().any(|x| x.name == t.name) {
                let word = probes.len() as u32 | attach::PROBE_FORGET | attach::PROBE_SILENT;
                probes.push(Probe {
                    target: t.clone(),
                    word,
                });
            }
        }
    }
    probes
}

/// Deletes tracking entries idle longer than `idle` (their skb was freed
/// where ipft could not see it); the BPF side ignores them already, this
/// only keeps the map from filling up.
fn sweep_tracked(map: &dyn MapCore, now_ns: u64, idle_ns: u64) -> usize {
    let mut stale = Vec::new();
    for key in map.keys() {
        let Ok(Some(value)) = map.lookup(&key, libbpf_rs::MapFlags::ANY) else {
            continue;
        };
        let last_seen = value
            .get(16..24)
            .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap()));
        if last_seen.saturating_add(idle_ns) < now_ns {
            stale.push(key);
        }
    }
    stale.iter().filter(|k| map.delete(k).is_ok()).count()
}

fn start_probe_server(port: u16) -> Result<()> {
    let listener = std::net::TcpListener::bind(("0.0.0.0", port)).with_context(|| {
        format!("probe server cannot listen on port {port}: pick another with --probe-server-port")
    })?;
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    Ok(())
}

/// Ring buffer bytes: 256 KiB per CPU for each --perf-page-count page
/// (default 8: 2 MiB per CPU), a power of two. One ring serves all CPUs.
fn ring_size(page_count: u64) -> u32 {
    let cpus = libbpf_rs::num_possible_cpus().unwrap_or(1) as u64;
    (page_count * (256 << 10) * cpus)
        .next_power_of_two()
        .min(1 << 30) as u32
}

/// Whether an output error is the reader going away (e.g. `| head`).
fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

pub fn run(config: Config) -> Result<()> {
    // Extension mistakes are reported first: they need no privileges.
    let extension = config
        .extension
        .as_deref()
        .map(Extension::open)
        .transpose()?;
    if config.set_rlimit {
        preflight::raise_rlimits();
    }
    preflight::check_btf()?;
    preflight::check_privileges()?;

    let started = Instant::now();
    let discovery = discover::discover(Path::new("/sys/kernel/btf"))?;
    match &discovery.traceable_source {
        TraceableSource::FilterFunctions(path) => log::debug!("traceable functions from {path}"),
        TraceableSource::Kallsyms(why) => log::debug!(
            "available_filter_functions unreadable ({why}): taking every kallsyms text symbol as traceable"
        ),
    }
    log::debug!(
        "discovered {} skb functions and {} skb tracepoints in {:.3}s",
        discovery.functions.len(),
        discovery.tracepoints.len(),
        started.elapsed().as_secs_f64()
    );

    let features = Features::probe(&discovery);
    log::debug!("kernel features: {features:?}");
    let (kind, note) = attach::select(config.backend, config.tracer, &features)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let (targets, filtered) = attach::filter_targets(
        &discovery,
        attach::access(kind),
        config.regex.as_ref(),
        config.module_regex.as_ref(),
    );

    if config.list {
        if let Some(why) = features.unavailable(kind) {
            eprintln!("note: -b {kind} cannot trace on this kernel: {why}");
        }
        let (header, rows) = list_lines(&targets);
        eprintln!("{header}");
        let mut out = BufWriter::new(io::stdout().lock());
        for row in rows {
            if let Err(e) = writeln!(out, "{row}") {
                if is_broken_pipe(&e) {
                    return Ok(());
                }
                return Err(e.into());
            }
        }
        return out.flush().or_else(|e| {
            if is_broken_pipe(&e) {
                Ok(())
            } else {
                Err(e.into())
            }
        });
    }
    if let Some(why) = features.unavailable(kind) {
        bail!("cannot trace with -b {kind}: {why}");
    }
    let backend = attach::backend(kind, config.tracer, config.track);
    if config.verbose {
        print_options(&config, &kind.to_string());
    }
    if targets.is_empty() {
        let filters = if config.regex.is_some() || config.module_regex.is_some() {
            " -r/--module-regex"
        } else {
            ""
        };
        bail!("nothing to trace: no {kind} hook matched{filters} ({filtered} candidates before filtering)");
    }
    let probes = probes_for(
        &targets,
        backend.as_ref(),
        &discovery,
        attach::access(kind),
        config.track,
    );

    install_signal_handlers();
    let use_ringbuf = match config.transport {
        Some(TransportKind::Ringbuf) => true,
        Some(TransportKind::Perf) => false,
        None => features.ringbuf,
    };
    log::debug!(
        "transport: {}",
        if use_ringbuf {
            "ring buffer"
        } else {
            "perf buffer"
        }
    );
    let (ext_name, ext_object) = match &extension {
        Some(ext) => (ext.name.as_str(), ext.object.as_slice()),
        None => ("the null extension", embedded::NULL_MODULE),
    };
    let backend_name = format!("ipft's {kind} programs");
    let linked = link::link(&[(&backend_name, backend.object()), (ext_name, ext_object)])?;
    let idle_ns = config.idle_timeout.as_nanos() as u64;
    let load_config = LoadConfig {
        mark: config.mark,
        mask: config.mask,
        use_ringbuf,
        ring_size: ring_size(config.perf.page_count),
        ring_wakeup: ring_size(config.perf.page_count) as u64 / 8,
        pair_exits: config.tracer == crate::cli::Tracer::FunctionGraph,
        track: config.track,
        track_map_size: config.track_map_size,
        idle_ns,
    };
    let clones: Vec<Probe> = if config.track && backend.follows_clones() {
        attach::clone_points(&discovery, attach::access(kind))
            .into_iter()
            .map(|target| Probe { target, word: 0 })
            .collect()
    } else {
        Vec::new()
    };
    let mut obj = load::load(&linked, &load_config, |open| {
        backend.prepare(open, &probes, &clones)
    })?;

    let attach_start = Instant::now();
    let progress = Progress::new(probes.len() + filtered, filtered);
    let mut attachment = backend.attach(&mut obj, &probes, &progress);
    progress.finish();
    if !clones.is_empty() {
        let linked = backend.attach_clones(&mut obj, &clones);
        log::debug!(
            "following clones made by {} functions ({} hooks failed): {}",
            clones.len(),
            linked.failures.len(),
            clones
                .iter()
                .map(|c| c.target.name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
        for (name, why) in &linked.failures {
            log::debug!("cannot follow clones made by {name}: {why}");
        }
        attachment.fds.extend(linked.fds);
        attachment.links.extend(linked.links);
    }
    log::debug!(
        "took {:.3} seconds to attach",
        attach_start.elapsed().as_secs_f64()
    );
    for (name, why) in &attachment.failures {
        log::debug!("failed to attach {name}: {why}");
    }
    if !attachment.failures.is_empty() && progress.succeeded() > 0 {
        log::warn!(
            "{} of {} hooks failed to attach (run with -v to list them)",
            attachment.failures.len(),
            probes.len()
        );
    }
    if progress.succeeded() == 0 {
        let first = attachment
            .failures
            .first()
            .map(|(n, w)| format!(" (first: {n}: {w})"))
            .unwrap_or_default();
        bail!("no hook could be attached with the {kind} backend{first}");
    }
    if stopped() {
        attachment.detach();
        return Ok(());
    }

    let sink = Rc::new(RefCell::new(Sink::default()));
    let map = |name: &str| {
        obj.maps()
            .find(|m| m.name() == name)
            .with_context(|| format!("BPF object lost its map {name}"))
    };
    let events_map = map(if use_ringbuf {
        "ipft_ring"
    } else {
        "ipft_events"
    })?;
    let counters = map("ipft_lost")?;
    let tracked = map("ipft_tracked")?;
    let receiver = if use_ringbuf {
        Receiver::ring(&events_map, sink.clone())?
    } else {
        Receiver::perf(&events_map, &config.perf, sink.clone())?
    };

    let stdout: Box<dyn Write> = Box::new(BufWriter::with_capacity(1 << 16, io::stdout()));
    let live = config.track.then_some(config.idle_timeout);
    let mut out = output::new(
        config.output,
        config.tracer,
        stdout,
        io::stderr().is_terminal(),
        live,
    );
    let decoder = extension.map(|e| e.decoder).unwrap_or_default();
    if config.verbose && !decoder.is_empty() {
        for line in decoder.describe() {
            eprintln!("{line}");
        }
    }
    let resolver = Resolver::new(&probes, decoder);
    eprintln!("Trace ready!");
    if let Some(port) = config.probe_server_port {
        start_probe_server(port)?;
    }

    let (mut lost_reported, mut untracked_reported, mut received) = (0u64, 0u64, 0u64);
    let mut last_check = Instant::now();
    let mut last_sweep = Instant::now();
    let sweep_every = (config.idle_timeout / 2).max(Duration::from_millis(500));
    let result = (|| -> io::Result<()> {
        loop {
            let done = stopped();
            receiver
                .poll(Duration::from_millis(if done { 0 } else { 50 }))
                .map_err(io::Error::other)?;
            let batch = std::mem::take(&mut sink.borrow_mut().events);
            received += batch.len() as u64;
            for raw in &batch {
                if raw.flags & EVENT_SILENT != 0 {
                    out.on_skb_freed(raw.skb)?;
                } else {
                    out.on_event(resolver.event(raw))?;
                }
            }
            if done || last_check.elapsed() >= Duration::from_secs(1) {
                last_check = Instant::now();
                let lost = sink.borrow().perf_lost
                    + load::read_percpu_counter(&counters, load::COUNT_LOST).unwrap_or(0);
                if lost > lost_reported {
                    out.on_lost(lost - lost_reported, lost)?;
                    lost_reported = lost;
                }
                let untracked =
                    load::read_percpu_counter(&counters, load::COUNT_TRACK_FULL).unwrap_or(0);
                if untracked > untracked_reported {
                    out.on_untracked(untracked - untracked_reported, untracked)?;
                    untracked_reported = untracked;
                }
            }
            let now = monotonic_ns();
            out.on_tick(now)?;
            if config.track && last_sweep.elapsed() >= sweep_every {
                last_sweep = Instant::now();
                let swept = sweep_tracked(&tracked, now, idle_ns);
                if swept > 0 {
                    log::debug!("forgot {swept} idle tracked packets");
                }
            }
            out.flush()?;
            if done {
                return out.finish();
            }
        }
    })();
    let produced = load::read_percpu_counter(&counters, load::COUNT_EVENTS).unwrap_or(0);
    log::debug!("events: produced {produced}, received {received}, lost {lost_reported}");
    let malformed = sink.borrow().malformed;
    drop(receiver);
    attachment.detach();
    if malformed > 0 {
        log::warn!("{malformed} malformed records from the kernel were skipped");
    }
    if untracked_reported > 0 {
        eprintln!(
            "{untracked_reported} hits of matching packets found the tracking map full (those packets were not followed): raise --track-map-size (now {})",
            config.track_map_size
        );
    }
    if lost_reported > 0 {
        eprintln!(
            "Lost {lost_reported} events: the {} was full; raise --perf-page-count or narrow -r/--module-regex",
            if use_ringbuf { "ring buffer" } else { "perf buffer" }
        );
    }
    match result {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other.context("failed to write the trace output"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::{btf::SkbArg, TargetKind};

    fn target(name: &str, module: &str, addr: u64, pos: u32) -> Target {
        Target {
            kind: TargetKind::Function,
            name: name.into(),
            module: module.into(),
            addr,
            btf_id: 1,
            btf_obj: None,
            skb: SkbArg {
                pos,
                in_register: true,
                trampoline_ok: true,
            },
            returns_skb: false,
        }
    }

    #[test]
    fn list_layout_matches_ipftrace2() {
        let (header, rows) = list_lines(&[
            target("tcp_v4_rcv", "vmlinux", 0xffffffff81b00000, 1),
            target("ip_rcv", "vmlinux", 0xffffffff81a2b3c0, 0),
        ]);
        assert_eq!(
            header,
            format!(
                "{:>64}\t{:>16}\t{:>18}\tSKB_POSITION",
                "NAME", "MOD", "ADDR"
            )
        );
        assert_eq!(
            rows[0],
            format!(
                "{}ip_rcv\t         vmlinux\t0xffffffff81a2b3c0\t0",
                " ".repeat(58)
            )
        );
        assert!(rows[1].trim_start().starts_with("tcp_v4_rcv"));
    }

    #[test]
    fn ring_size_is_a_power_of_two() {
        let s = ring_size(8);
        assert!(s.is_power_of_two() && s >= 8 * 4096);
    }
}
