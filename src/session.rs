//! # A tracing session
//!
//! From a [`Plan`] to printed packets: link and load the BPF objects, attach
//! every hook, then stream: poll the ring (or perf) buffer, turn what arrives
//! and the loss and tracking counters into raw records, push them through
//! the [`Stream`], advance the clock, sweep the tracking map; on a signal,
//! drain, finish the stream, detach and report what was lost.

use std::cell::RefCell;
use std::io::{self, IsTerminal};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use libbpf_rs::{MapCore, Object};

use crate::attach::{self, Attachment, Backend, Probe, Progress};
use crate::cli::{Config, OutputKind};
use crate::drops::{DropStage, Symbolizer};
use crate::event::decode::Resolver;
use crate::event::fields::Builtins;
use crate::event::file::{self, Header};
use crate::event::raw::RawRecord;
use crate::event::transport::{held_bytes, Receiver, Sink, Waiter};
use crate::load::{self, ahead::Ahead, LoadConfig};
use crate::output::{self, text::Clock, Style};
use crate::plan::{self, Plan};
use crate::signals;
use crate::stream::{self, Selection, Stream};

/// CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns().
fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn print_options(config: &Config, backend: &str) {
    let opt = |o: &Option<regex::Regex>| o.as_ref().map_or("(null)".to_string(), |r| r.to_string());
    crate::say!("============   Options   ============");
    crate::say!("backend: {backend}");
    if config.mark_given {
        crate::say!("mark: 0x{:x}", config.mark);
        crate::say!("mask: 0x{:x}", config.mask);
    }
    if let Some(filter) = &config.filter {
        crate::say!(
            "filter: {} ({} classic BPF instructions for Ethernet, {} for raw IP)",
            filter.expression,
            filter.ethernet.len(),
            filter.raw.len()
        );
    }
    if config.netns != 0 {
        crate::say!("netns: {}", config.netns);
    }
    if config.ifindex != 0 {
        crate::say!("ifindex: {}", config.ifindex);
    }
    crate::say!("module-regex: {}", opt(&config.module_regex));
    crate::say!("regex: {}", opt(&config.regex));
    crate::say!(
        "extension: {}",
        config
            .extension
            .as_ref()
            .map_or("(null)".to_string(), |p| p.display().to_string())
    );
    crate::say!("tracer: {}", config.tracer);
    crate::say!("output: {}", config.output);
    crate::say!("perf_page_count: {}", config.perf.page_count);
    crate::say!("perf_sample_period: {}", config.perf.sample_period);
    crate::say!("perf_wakeup_events: {}", config.perf.wakeup_events);
    if let Some(port) = config.probe_server_port {
        crate::say!("probe_server_port: {port}");
    }
    if let Some(path) = &config.write {
        crate::say!("write: {}", path.display());
    }
    crate::say!("snaplen: {}", config.snaplen);
    crate::say!("timestamp: {}", config.timestamp);
    crate::say!("============ End Options ============");
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
        // `struct ipft_tracked.last_seen` (bpf/ipft_body.bpf.h).
        let last_seen = value
            .get(16..24)
            .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap()));
        if last_seen.saturating_add(idle_ns) < now_ns {
            stale.push(key);
        }
    }
    stale.iter().filter(|k| map.delete(k).is_ok()).count()
}

/// The readiness probe server's socket, bound (so a busy port fails before
/// anything is attached) but not listening until tracing is ready.
struct ProbeServer {
    socket: std::os::fd::OwnedFd,
    port: u16,
}

impl ProbeServer {
    fn bind(port: u16) -> Result<ProbeServer> {
        use rustix::net::{bind, socket, sockopt, AddressFamily, SocketType};
        let busy = || {
            format!(
                "probe server cannot listen on port {port}: pick another with --probe-server-port"
            )
        };
        let socket = socket(AddressFamily::INET, SocketType::STREAM, None).with_context(busy)?;
        sockopt::set_socket_reuseaddr(&socket, true).with_context(busy)?;
        let addr = std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, port);
        bind(&socket, &addr).with_context(busy)?;
        Ok(ProbeServer { socket, port })
    }

    /// Starts accepting (and closing) connections: the sign that tracing is ready.
    fn start(self) -> Result<()> {
        let port = self.port;
        rustix::net::listen(&self.socket, 128)
            .with_context(|| format!("probe server cannot listen on port {port}"))?;
        let listener = std::net::TcpListener::from(self.socket);
        std::thread::Builder::new()
            .name("ipft-probe".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    drop(conn);
                }
            })
            .context("cannot start the probe server thread")?;
        Ok(())
    }
}

/// User and system CPU time of the whole process so far, in seconds.
fn cpu_seconds() -> (f64, f64) {
    // SAFETY: rusage is plain integers (all-zero is valid); getrusage
    // writes only the struct it is given.
    let (usage, rc) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let rc = libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        (usage, rc)
    };
    if rc != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime), secs(usage.ru_stime))
}

/// The live output on stdout; pcapng is binary and never goes to a terminal.
pub fn stdout_output(
    config: &Config,
    clock: Clock,
    live: bool,
    track: bool,
    idle: Duration,
) -> Result<Box<dyn output::Output>> {
    if config.output == OutputKind::Pcapng && io::stdout().is_terminal() {
        bail!("-o pcapng writes binary packets: redirect stdout to a file or a pipe (e.g. | tshark -r -)");
    }
    let style = Style {
        kind: config.output,
        tracer: config.tracer,
        clock,
        tty_counter: live && io::stderr().is_terminal(),
        live_idle: track.then_some(idle),
    };
    let direct = || Box::new(io::BufWriter::with_capacity(1 << 16, io::stdout()));
    if io::stdout().is_terminal() {
        // Someone reads along: written as it comes, in order with the
        // notes and the counter on stderr.
        return Ok(output::new(style, direct()));
    }
    // A file or a pipe: written on a thread of its own, so that a slow disk or
    // reader never keeps ipft from emptying the kernel's buffer; a quarter of
    // --backlog for output waiting to be written.
    let queued = (config.backlog_mib << 20) as usize / 4;
    match output::writer::spawn(output::writer::stdout_file(), queued) {
        Ok((writer, thread)) => {
            let output = output::new(style, Box::new(writer));
            Ok(Box::new(output::writer::Threaded::new(output, thread)))
        }
        Err(e) => {
            log::debug!(
                "the output is written by the thread that reads events (no thread for it: {e})"
            );
            Ok(output::new(style, direct()))
        }
    }
}

/// The program on the kfree_skb tracepoint (`IPFT_DROP_PROGRAM`).
const DROP_PROGRAM: &str = "ipft_drop";

/// A loaded and attached trace.
struct Attached {
    obj: Object,
    /// The linked object's bytes, whose BTF locates `.bss` variables.
    linked: Vec<u8>,
    attachment: Attachment,
    probes: Vec<Probe>,
    use_ringbuf: bool,
    /// Traced hooks attached (the count of the attach line).
    hooks: usize,
}

fn load_and_attach(
    config: &Config,
    plan: &Plan,
    backend: &dyn Backend,
    ahead: Option<Ahead>,
) -> Result<Attached> {
    let kind = plan.kind;
    let probes = plan.probes(backend, config.track);
    let drop_probe = plan.drop_probe(backend, &probes);
    let clones = plan.clones(backend, config.track);
    let load_config = LoadConfig::for_trace(
        config,
        plan.fields(),
        kind,
        plan.features.programs(),
        drop_probe
            .as_ref()
            .map(|p| (p.word, plan.discovery.drops.has_reason)),
    );
    log::debug!(
        "transport: {}",
        if load_config.use_ringbuf {
            "ring buffer"
        } else {
            "perf buffer"
        }
    );
    if !load_config.atomic_ids {
        log::debug!("packet ids: no atomic fetch-and-add (Linux 5.12+), nested programs on one CPU could in theory share an id");
    }
    let loading = Instant::now();
    let taken = ahead.map(|a| a.take(backend.object(), &load_config));
    let (filter_object, prepared) = match taken {
        Some(t) => (t.filter_object, t.object),
        None => (None, None),
    };
    let extension = plan
        .extension
        .as_ref()
        .map(|ext| (ext.name.as_str(), ext.object.as_slice()));
    let filter_object = match (filter_object, &plan.filter) {
        (Some(compiled), _) => Some(compiled?),
        (None, Some(filter)) => Some(filter.object()?),
        (None, None) => None,
    };
    let link_with =
        |object: &[u8]| load::link_trace(kind, object, extension, filter_object.as_deref());
    let adjust = |open: &mut libbpf_rs::OpenObject| {
        backend.prepare(open, &probes, &clones)?;
        if let Some(mut prog) = open.progs_mut().find(|p| p.name() == DROP_PROGRAM) {
            prog.set_autoload(drop_probe.is_some());
        }
        Ok(())
    };
    let load_linked = |linked: &[u8]| load::load(linked, &load_config, adjust);
    let from_ahead = prepared.and_then(|object| {
        object
            .load(adjust)
            .map_err(|e| log::debug!("{e:#}: loading the programs again"))
            .ok()
    });
    let (linked, mut obj) = match from_ahead {
        Some(loaded) => loaded,
        None => {
            let loaded = link_with(backend.object()).and_then(|linked| {
                let obj = load_linked(&linked)?;
                Ok((linked, obj))
            });
            match (loaded, backend.plain_object()) {
                (Ok(loaded), _) => loaded,
                (Err(e), Some(plain)) => {
                    log::debug!("{e:#}: loading the programs again without bpf_rdonly_cast");
                    let linked = link_with(plain)?;
                    let obj = load_linked(&linked)?;
                    (linked, obj)
                }
                (Err(e), None) => return Err(e),
            }
        }
    };

    log::debug!(
        "took {:.3} seconds to load the programs",
        loading.elapsed().as_secs_f64()
    );
    let attach_start = Instant::now();
    let silent = probes
        .iter()
        .filter(|p| p.word & attach::PROBE_SILENT != 0)
        .count();
    let traced = probes.len() - silent + drop_probe.is_some() as usize;
    let progress = Progress::new(traced, plan.filtered, silent);
    let mut attachment = backend.attach(&mut obj, &probes, &progress);
    if let Some(probe) = &drop_probe {
        match obj
            .progs_mut()
            .find(|p| p.name() == DROP_PROGRAM)
            .map(|p| p.attach())
        {
            Some(Ok(link)) => {
                attachment.links.push(link);
                progress.record(probe, true);
            }
            Some(Err(e)) => {
                progress.record(probe, false);
                attachment
                    .failures
                    .push((plan::DROP_TRACEPOINT.to_string(), e.to_string()));
            }
            None => {}
        }
    }
    let mut probes = probes;
    probes.extend(drop_probe);
    if !clones.is_empty() {
        let linked = backend.attach_clones(&mut obj, &clones);
        progress.set_clone_points(clones.len().saturating_sub(linked.failures.len()));
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
    progress.finish();
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
            probes.len() + clones.len()
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
    Ok(Attached {
        obj,
        linked,
        attachment,
        probes,
        use_ringbuf: load_config.use_ringbuf,
        hooks: progress.succeeded(),
    })
}

/// Traces until SIGINT/SIGTERM.
pub fn trace(config: Config, mut plan: Plan) -> Result<()> {
    plan.check_traceable(&config)?;
    let ahead = plan.ahead.take();
    let script = plan
        .extension
        .as_mut()
        .and_then(|e| e.script.take())
        .map(|s| Rc::new(RefCell::new(s)));
    if let Some(script) = &script {
        log::debug!(
            "extension: Lua script {} (api_version 1), its BPF program linked",
            script.borrow().name()
        );
    }
    if let Some(note) = &plan.note {
        crate::say!("{note}");
    }
    let backend = attach::backend(plan.kind, config.tracer, config.track, &plan.discovery);
    if config.verbose {
        print_options(&config, &plan.kind.to_string());
    }
    if config.track {
        let slab = if plan.kind == crate::cli::BackendKind::Tracepoint {
            ", or freed to the skb slab (kmem_cache_free, fast clones with their original), or when its data buffer is freed (kfree, kmem_cache_free)"
        } else {
            ""
        };
        log::debug!(
            "a packet ends when its skb is freed at {}{slab}, or after {:?} without an event; an skb met again with another data buffer (skb->head) is another packet",
            backend.free_points().join(", "),
            config.idle_timeout
        );
    }
    let realtime_offset_ns = file::realtime_offset_ns();
    let clock = Clock::new(config.timestamp, realtime_offset_ns as i128);
    // Refused before anything is attached: a terminal for pcapng, an unwritable -w.
    let output = stdout_output(&config, clock, true, config.track, config.idle_timeout)?;
    let decoder = plan
        .extension
        .as_ref()
        .map(|e| e.decoder.clone())
        .unwrap_or_default();
    let hooks_for_file = |probes: &[Probe]| {
        let (kernel_release, hostname, boot_id) = file::system_identity();
        Header {
            format_version: file::FORMAT_VERSION,
            ipft_version: env!("CARGO_PKG_VERSION").to_string(),
            kernel_release,
            hostname,
            boot_id,
            realtime_offset_ns,
            started: output::text::rfc3339(monotonic_ns() as i128 + realtime_offset_ns as i128),
            backend: plan.kind.to_string(),
            tracer: config.tracer.to_string(),
            mark: config.mark,
            mask: config.mask,
            track: config.track,
            idle_timeout_ns: config.idle_timeout.as_nanos() as u64,
            snaplen: config.snaplen,
            hooks: plan::hook_table(probes),
            extension: plan.extension.as_ref().map(|e| e.name.clone()),
            decoder: decoder.clone(),
            fields: plan.fields(),
            drop_reasons: plan.discovery.drops.reasons.clone(),
        }
    };
    crate::event::fields::check_clash(&plan.fields(), &decoder)?;
    // Created (empty) now so that a bad path fails before attaching.
    if let Some(path) = &config.write {
        std::fs::File::create(path).with_context(|| {
            format!(
                "cannot write the events file {}: pick a writable path for -w",
                path.display()
            )
        })?;
    }
    let probe_server = config
        .probe_server_port
        .map(ProbeServer::bind)
        .transpose()?;
    signals::install();
    if let Some(script) = &script {
        script.borrow().init()?;
    }
    // Drop locations are named from kallsyms, read while the programs load.
    let mut symbols = plan.fields().drop.then(Symbolizer::read_in_background);
    let mut attached = load_and_attach(&config, &plan, backend.as_ref(), ahead)?;
    if signals::stopped() {
        detach(&config, &mut attached);
        return Ok(());
    }
    let recorder = config
        .write
        .as_deref()
        .map(|path| file::Writer::create(path, &hooks_for_file(&attached.probes)))
        .transpose()?;
    if config.verbose && !decoder.is_empty() {
        for line in decoder.describe() {
            crate::say!("{line}");
        }
    }
    let builtins = Builtins::new(plan.fields(), &plan.discovery.drops.reasons);
    let resolver = Resolver::new(&plan::hook_table(&attached.probes), decoder, builtins)
        .with_script(script.clone());
    let mut stream = Stream::new(resolver, Selection::default(), recorder, output);
    if plan.fields().drop {
        let stage = DropStage::new(
            config.drops,
            config.drops_only,
            config.idle_timeout.as_nanos() as u64,
        );
        stream = stream.with_drops(stage, symbols.take());
    }
    let mut result = run_stream(&config, &mut attached, stream, probe_server);
    detach(&config, &mut attached);
    if let (Ok(()), Some(script)) = (&result, &script) {
        result = script.borrow().fini();
    }
    match result {
        Err(e) if stream::is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// Removes the hooks, in the background unless --wait-detach, and says so
/// on a terminal (the prompt comes back before the kernel is done).
fn detach(config: &Config, attached: &mut Attached) {
    let attachment = std::mem::take(&mut attached.attachment);
    let detached = crate::detach::detach(attachment, config.wait_detach);
    if let crate::detach::Detached::Background { pid } = detached {
        if io::stderr().is_terminal() {
            crate::say!(
                "ipft: the kernel is removing {} hooks in the background (pid {pid}); nothing stays attached (--wait-detach waits)",
                attached.hooks
            );
        }
    }
}

/// Records streamed between two looks at the kernel's buffer while the
/// output runs behind.
const STREAM_SLICE: usize = 4096;

/// A backlog at least this long at Ctrl-C is worth a note: writing it takes a while.
const BACKLOG_NOTE: usize = 100_000;

/// Above this many records an empty backlog gives its memory back.
const BACKLOG_KEPT: usize = 1 << 15;

/// While events flow, the output is handed on at most this often (and
/// whenever a piece fills): a pass per ring-buffer wakeup, up to a thousand a
/// second, would hand the writer a small piece each time.
const FLUSH_EVERY: Duration = Duration::from_millis(20);

/// Streams up to `slice` records from the front of the backlog; whether
/// records are still waiting after them.
fn stream_backlog(
    stream: &mut Stream,
    sink: &RefCell<Sink>,
    slice: usize,
    clock: &mut u64,
) -> Result<bool> {
    let mut sink = sink.borrow_mut();
    let n = slice.min(sink.events.len());
    let Sink { events, bytes, .. } = &mut *sink;
    // Streamed where they lie, then dropped: a record is not moved out first.
    for raw in events.range(..n) {
        *bytes = bytes.saturating_sub(held_bytes(raw));
        if let RawRecord::Event(ev) = raw {
            *clock = (*clock).max(ev.tstamp);
        }
        stream.push(raw)?;
    }
    events.drain(..n);
    let behind = !sink.events.is_empty();
    if !behind && sink.events.capacity() > 2 * BACKLOG_KEPT {
        sink.events.shrink_to(BACKLOG_KEPT);
    }
    Ok(behind)
}

fn run_stream(
    config: &Config,
    attached: &mut Attached,
    mut stream: Stream,
    probe_server: Option<ProbeServer>,
) -> Result<()> {
    let obj = &attached.obj;
    let sink = Rc::new(RefCell::new(Sink::default()));
    let map = |name: &str| {
        obj.maps()
            .find(|m| m.name() == name)
            .with_context(|| format!("BPF object lost its map {name}"))
    };
    let use_ringbuf = attached.use_ringbuf;
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
    crate::memory::release_startup();
    if let Some(started) = crate::STARTED.get() {
        let (user, system) = cpu_seconds();
        log::debug!(
            "ready {:.3} seconds after ipft started (CPU, every thread: {user:.3} s user, {system:.3} s system)",
            started.elapsed().as_secs_f64(),
        );
    }
    crate::say!("Trace ready!");
    let ready_at = Instant::now();
    if let Some(server) = probe_server {
        server.start()?;
    }

    let idle_ns = config.idle_timeout.as_nanos() as u64;
    let (mut lost_reported, mut untracked_reported) = (0u64, 0u64);
    let mut last_check = Instant::now();
    let mut last_sweep = Instant::now();
    let mut last_flush = Instant::now();
    let sweep_every = (config.idle_timeout / 2).max(Duration::from_millis(500));
    let mut programs_stopped = false;
    // Busy: events came, or wait in the backlog, within the last idle timeout
    // (and a second): the stream may hold packets that finish by time, and
    // the programs wake us only every millisecond or once the ring fills, so
    // look every 50 ms. Idle: sleep until the programs wake us (the first
    // event after a quiet spell always does) or a signal comes. A perf buffer
    // that wakes only every few events (--perf-wakeup-events) is always
    // looked at.
    let waiter = Waiter::new(&receiver, signals::wake_fd())?;
    let busy_for = config.idle_timeout + Duration::from_secs(1);
    let can_sleep = use_ringbuf || config.perf.wakeup_events == 1;
    let mut last_busy: Option<Instant> = None;
    let backlog_cap = (config.backlog_mib << 20) as usize;
    // The newest event streamed: the stream's clock while it runs behind.
    let mut streamed_clock = 0u64;
    let mut backlog_was_full = false;
    let result = (|| -> Result<()> {
        loop {
            let done = signals::stopped();
            if done && !programs_stopped {
                // Stop the programs, let any still running finish, then drain:
                // what was produced is then exactly what is received or lost.
                programs_stopped = true;
                if let Err(e) = load::stop_programs(obj, &attached.linked) {
                    log::debug!("cannot stop the programs before the last read: {e:#}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let (waiting, waiting_bytes) = {
                let sink = sink.borrow();
                (sink.events.len(), sink.bytes)
            };
            if !done && waiting == 0 {
                let busy = last_busy.is_some_and(|t| t.elapsed() < busy_for);
                let look_every = Duration::from_millis(50);
                waiter.wait((busy || !can_sleep).then_some(look_every))?;
            }
            // Empty the kernel's buffer into the backlog between slices of
            // streaming, so that a burst the output cannot keep up with waits
            // in memory rather than being lost. Past --backlog, events wait in
            // the kernel's buffer (which counts what it refuses); at the end,
            // everything is taken.
            let received_before = sink.borrow().received;
            if done || waiting == 0 || waiting_bytes < backlog_cap {
                receiver.consume()?;
            } else {
                backlog_was_full = true;
            }
            let got_events = sink.borrow().received > received_before;
            if done {
                let left = sink.borrow().events.len();
                if left >= BACKLOG_NOTE {
                    crate::say!(
                        "ipft: writing the {left} events the output has not caught up with (Ctrl-C again quits at once)"
                    );
                }
            }
            let slice = if done { usize::MAX } else { STREAM_SLICE };
            let behind = stream_backlog(&mut stream, &sink, slice, &mut streamed_clock)?;
            if got_events || behind {
                last_busy = Some(Instant::now());
            }
            let busy = last_busy.is_some_and(|t| t.elapsed() < busy_for);
            // Going idle: one last look at the counters and the map, then
            // nothing until the next event (no counter moves without one,
            // nothing in the stream waits for time).
            let going_idle = !done && !busy && !got_events && last_busy.take().is_some();
            if !done && !busy && !got_events && !going_idle {
                continue;
            }
            if done || going_idle || last_check.elapsed() >= Duration::from_secs(1) {
                last_check = Instant::now();
                // The programs count what the buffer refused, on either transport
                // (perf's own PERF_RECORD_LOST counts the same events, late).
                let lost = load::read_percpu_counter(&counters, load::COUNT_LOST).unwrap_or(0);
                if lost > lost_reported {
                    stream.push(&RawRecord::Lost {
                        new: lost - lost_reported,
                        total: lost,
                    })?;
                    lost_reported = lost;
                }
                let untracked =
                    load::read_percpu_counter(&counters, load::COUNT_TRACK_FULL).unwrap_or(0);
                if untracked > untracked_reported {
                    stream.push(&RawRecord::TrackingFull {
                        new: untracked - untracked_reported,
                        total: untracked,
                    })?;
                    untracked_reported = untracked;
                }
            }
            let now = monotonic_ns();
            // Behind, the stream's time is that of its newest event: packets
            // whose later events still wait in the backlog are not idle.
            stream.push(&RawRecord::Tick {
                now: if behind { streamed_clock } else { now },
            })?;
            if config.track && (going_idle || last_sweep.elapsed() >= sweep_every) {
                last_sweep = Instant::now();
                let swept = sweep_tracked(&tracked, now, idle_ns);
                if swept > 0 {
                    log::debug!("forgot {swept} idle tracked packets");
                }
            }
            if done || going_idle || last_flush.elapsed() >= FLUSH_EVERY {
                last_flush = Instant::now();
                stream.flush()?;
            }
            if done {
                return Ok(());
            }
        }
    })();
    let finished = match result {
        Ok(()) => stream.finish(),
        Err(e) => {
            // Keep the events file whole even when the output failed.
            let _ = stream.finish();
            Err(e)
        }
    };
    let produced = load::read_percpu_counter(&counters, load::COUNT_EVENTS).unwrap_or(0);
    let received = sink.borrow().received;
    log::debug!("events: produced {produced}, received {received}, lost {lost_reported}");
    if !use_ringbuf {
        log::debug!(
            "perf buffer: {} lost events reported by the kernel so far",
            sink.borrow().perf_lost
        );
    }
    let malformed = sink.borrow().malformed;
    drop(receiver);
    if malformed > 0 {
        log::warn!("{malformed} malformed records from the kernel were skipped");
    }
    if untracked_reported > 0 {
        crate::say!(
            "{untracked_reported} hits of matching packets found the tracking map full (those packets were not followed): raise --track-map-size (now {})",
            config.track_map_size
        );
    }
    if lost_reported > 0 {
        let buffer = if use_ringbuf {
            "ring buffer"
        } else {
            "perf buffer"
        };
        let (full, raise) = if backlog_was_full {
            (
                format!("{buffer} was full and so was ipft's backlog"),
                format!("--backlog (now {} MiB)", config.backlog_mib),
            )
        } else {
            (
                format!("{buffer} was full"),
                "--perf-page-count".to_string(),
            )
        };
        crate::say!(
            "Lost {lost_reported} events: the {full}; raise {raise} or narrow -r/--module-regex"
        );
    }
    if finished.is_ok() && produced == 0 {
        let ids = load::read_percpu_counter(&counters, load::COUNT_IDS).unwrap_or(0);
        crate::say!(
            "{}",
            nothing_matched(config, ready_at.elapsed(), attached.hooks, ids)
        );
    }
    finished
}

/// The line for a run that printed nothing: what ran, and the usual causes.
fn nothing_matched(config: &Config, ran: Duration, hooks: usize, matched: u64) -> String {
    let ran = format!("{:.1} s on {hooks} hooks", ran.as_secs_f64());
    if matched > 0 {
        return format!(
            "No event in {ran}: {matched} packets matched, but the extension's module() returned non-zero for every event (it filters them out)"
        );
    }
    let extension = if config.extension.is_some() && !config.track {
        ", or the extension's module() filtered out every event"
    } else {
        ""
    };
    let mut selection = Vec::new();
    if config.mark_given {
        let mask = if config.mask == u32::MAX {
            String::new()
        } else {
            format!(" (mask {:#x})", config.mask)
        };
        selection.push(format!("mark {:#x}{mask}", config.mark));
    }
    if let Some(filter) = &config.filter {
        selection.push(format!("the expression {:?}", filter.expression));
    }
    if config.netns != 0 {
        selection.push(format!("netns {}", config.netns));
    }
    if config.ifindex != 0 {
        selection.push(format!("ifindex {}", config.ifindex));
    }
    let mut causes = Vec::new();
    if config.mark_given {
        causes.push("the mark is set after the hooks that see the packet (an iptables/nft rule in a later chain or table, or tc on egress marks it on its way out: trace at a later hook or mark earlier), or the mark or mask differ from what is set (ping -m takes decimal: 0xdeadbeef is 3735928559)");
    }
    if config.filter.is_some() {
        causes.push("the expression describes packets that did not pass (tcpdump -d shows what it tests; bytes beyond an skb's linear part cannot be read)");
    }
    if config.netns != 0 || config.ifindex != 0 {
        causes.push("no packet went through that device or namespace while tracing");
    }
    format!(
        "No packet matched {} in {ran}. Commonly {}{extension}",
        selection.join(" and "),
        causes.join("; or ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode::Resolver;
    use crate::event::fields::Builtins;
    use crate::event::raw::RAW_EVENT_SIZE;
    use crate::ext::Decoder;
    use crate::output::json::Json;
    use crate::output::tests::Shared;

    /// A record as the kernel's buffer holds it: an event at `tstamp`
    /// followed by `tail` bytes (a snapshot).
    fn kernel_record(tstamp: u64, tail: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; RAW_EVENT_SIZE + tail];
        bytes[0..8].copy_from_slice(&(tstamp + 1).to_ne_bytes());
        bytes[8..16].copy_from_slice(&tstamp.to_ne_bytes());
        bytes
    }

    #[test]
    fn the_backlog_streams_in_slices_and_keeps_the_newest_time() {
        let out = Shared::default();
        let resolver = Resolver::new(
            &[],
            Decoder::default(),
            Builtins::new(Default::default(), &[]),
        );
        let json = Json::new(Box::new(out.clone()), Clock::monotonic());
        let mut stream = Stream::new(resolver, Selection::default(), None, Box::new(json));
        let sink = RefCell::new(Sink::default());
        // Out of order across CPUs: the clock is the newest time seen, not the last.
        for ts in [10, 30, 20, 40, 50] {
            sink.borrow_mut()
                .push(&kernel_record(ts, 100 * ts as usize));
        }
        let record = std::mem::size_of::<RawRecord>();
        let mut clock = 0;
        assert!(stream_backlog(&mut stream, &sink, 3, &mut clock).unwrap());
        assert_eq!(clock, 30);
        assert_eq!(sink.borrow().events.len(), 2);
        assert_eq!(
            sink.borrow().bytes,
            2 * record + 9000,
            "snapshots count in the backlog's memory"
        );
        assert!(!stream_backlog(&mut stream, &sink, usize::MAX, &mut clock).unwrap());
        assert_eq!(clock, 50);
        stream.flush().unwrap();
        let text = out.text();
        let stamps: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split("\"timestamp\":").nth(1))
            .map(|rest| rest.split(',').next().unwrap())
            .collect();
        assert_eq!(stamps, ["10", "30", "20", "40", "50"], "{text}");
    }

    #[test]
    fn an_emptied_backlog_gives_its_memory_back() {
        let resolver = Resolver::new(
            &[],
            Decoder::default(),
            Builtins::new(Default::default(), &[]),
        );
        let json = Json::new(Box::new(Shared::default()), Clock::monotonic());
        let mut stream = Stream::new(resolver, Selection::default(), None, Box::new(json));
        let sink = RefCell::new(Sink::default());
        {
            let mut sink = sink.borrow_mut();
            for ts in 0..3 * BACKLOG_KEPT as u64 {
                sink.push(&kernel_record(ts, 0));
            }
            assert!(sink.bytes > 0);
        }
        let mut clock = 0;
        assert!(!stream_backlog(&mut stream, &sink, usize::MAX, &mut clock).unwrap());
        assert!(sink.borrow().events.capacity() <= 2 * BACKLOG_KEPT);
        assert_eq!(
            sink.borrow().bytes,
            0,
            "what the backlog holds is counted down"
        );
    }
}
