//! # Command line
//!
//! Raw flags ([`Args`], clap derive, compatible with ipftrace2's options) and
//! the validated [`Config`] the rest of ipft runs on. Everything a user can
//! get wrong on the command line is caught here, before any BPF work.

use std::fmt;

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use regex::Regex;

use crate::event::fields::FieldSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// One kprobe per function (perf_event links)
    Kprobe,
    /// kprobe-multi links: one for the functions taking the skb first, one for
    /// all others (Linux 5.18+)
    #[value(name = "kprobe-multi")]
    KprobeMulti,
    /// fentry/fexit trampolines, one program per function (Linux 5.5+)
    Ftrace,
    /// BTF tracepoints (tp_btf) that take an skb; works where function hooks are off
    Tracepoint,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_possible_value().unwrap().get_name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputKind {
    /// Per-packet blocks, each printed once the packet is finished (freed, or idle for
    /// --idle-timeout) and the rest at exit; with --no-track all at exit
    Aggregate,
    /// One JSON object per event, as it happens
    Json,
    /// pcapng packets for Wireshark/tshark (needs --snaplen): one per packet snapshot,
    /// commented with the packet id, hook and path; refused on a terminal
    Pcapng,
}

/// Built-in fields for --fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FieldKind {
    /// l3, saddr, daddr, proto, sport, dport, tcp_flags, icmp_type, icmp_code (IPv4, IPv6)
    Tuple,
    /// ifindex and ifname of the skb's device
    Dev,
    /// Network namespace inode of the skb's device
    Netns,
    /// skb->len
    Len,
    /// skb->mark
    Mark,
    /// drop_reason and drop_location where the kernel drops the packet
    Drop,
    /// All of them
    All,
}

/// How timestamps are printed (text and JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeFormat {
    /// CLOCK_MONOTONIC nanoseconds, as ipftrace2 (matches dmesg and bpf_ktime_get_ns)
    Monotonic,
    /// Wall-clock time, RFC 3339 in UTC with nanoseconds (matches tcpdump and logs)
    Wall,
    /// Nanoseconds since the first event
    Relative,
}

impl fmt::Display for TimeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_possible_value().unwrap().get_name())
    }
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_possible_value().unwrap().get_name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tracer {
    /// Every hook that sees the packet, in time order
    Function,
    /// Entry/exit nesting per packet (needs fentry/fexit)
    #[value(name = "function_graph")]
    FunctionGraph,
}

impl fmt::Display for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_possible_value().unwrap().get_name())
    }
}

const LONG_ABOUT: &str = "\
Trace the path of packets through the Linux kernel: ipft hooks every kernel function (or BTF
tracepoint) that takes a struct sk_buff, selects packets by a pcap-filter expression, a mark or
where they are seen, follows each selected packet until the kernel frees it, and prints the
functions it passed through, in order.";

const AFTER_HELP: &str = "\
Packets are selected by a pcap-filter expression (tcpdump's syntax), by their mark, by where
they are seen (--netns, --ifname), or by several of these, which must then all hold. The
mark: mark packets first (iptables -j MARK, nft meta mark set, tc skbedit, SO_MARK, ping -m)
and give ipft the same mark; a packet is traced when (skb->mark & MASK) == (MARK & MASK).
Once selected, a packet is followed until the kernel frees it, whatever happens to it.

Recording: -w FILE writes every record to an events file (zstd, self-describing) while
tracing; --read FILE prints it again later, anywhere, without root, BPF or kernel BTF, with
any -o, -t, --timestamp, -r/--module-regex (hook names), -m/--mask (recorded marks),
--fields (of those recorded), --drops and --drops-only.

Explaining: --fields adds the 5-tuple, device, namespace, length and mark to every event;
--drops names the kernel's reason (from its BTF) and the dropping function where a packet is
dropped, and counts drops by reason at the end; --drops-only prints only dropped packets.

Examples:
  ipft 'udp and dst port 53'               trace DNS queries, print each path once done
  ipft --netns web 'tcp[tcpflags] & tcp-syn != 0'   SYNs seen in namespace web
  ipft -m 0xdeadbeef                       trace marked packets
  ipft --drops-only                        what is dropped here, and why
  ipft --fields tuple,dev 'tcp port 80'    with the 5-tuple and device on each event
  ipft -m 0x100 --mask 0xf00 -o json       any mark with 0x1 in bits 8-11, as JSON lines
  ipft -m 1 -r '^ip_' --module-regex vmlinux
  ipft -m 1 -w trace.ipft --snaplen 128    record (and print) events with packet bytes
  ipft --read trace.ipft -o json --timestamp wall
  ipft --read trace.ipft -o pcapng | tshark -r -
  ipft -l -r tcp                           list candidate hooks and exit
  ping -m 3735928559 10.0.0.1              (3735928559 = 0xdeadbeef)";

/// Trace the path of packets through the Linux kernel.
#[derive(Debug, Parser)]
#[command(name = "ipft", version = crate::version::SHORT,
          about, long_about = LONG_ABOUT, after_help = AFTER_HELP, args_override_self = true)]
pub struct Args {
    /// Attach mechanism [default: best available for the tracer]
    #[arg(short = 'b', long, value_name = "BACKEND")]
    pub backend: Option<BackendKind>,

    /// BPF extension adding its own data to every event: C source (.c, compiled
    /// by ipft itself, which reads only the source's directory and $CFLAGS' -I
    /// directories, or by $CC with $CFLAGS when set), an object (.o) (see --gen
    /// bpf-module-skeleton), or a Lua script (.lua, see -s)
    #[arg(short = 'e', long, value_name = "PATH")]
    pub extension: Option<PathBuf>,

    /// Lua extension script (ipftrace2's api_version 1), whatever its suffix; the same as
    /// -e PATH.lua. It sets `program` to a BPF extension object and may define init(),
    /// decode(data) and fini()
    #[arg(short = 's', long, value_name = "PATH", conflicts_with = "extension")]
    pub script: Option<PathBuf>,

    /// Compile and check the -e extension, write the BPF object to PATH (- for
    /// stdout, never a terminal) and exit (a portable object: it needs neither
    /// clang nor headers to run)
    #[arg(long, value_name = "PATH", requires = "extension")]
    pub emit_object: Option<PathBuf>,

    /// Print a template for extension authors and exit
    #[arg(long, value_name = "TARGET")]
    pub gen: Option<GenTarget>,

    /// Write every header the built-in compiler serves (and vmlinux.h from this kernel's BTF)
    /// into DIR, for another clang, print the flags that use them and exit
    #[arg(long, value_name = "DIR")]
    pub gen_headers: Option<PathBuf>,

    /// List the hooks that would be traced (after -r/--module-regex) and exit
    #[arg(short = 'l', long)]
    pub list: bool,

    /// Trace packets carrying this mark (decimal, 0x hex or 0 octal) [needed unless an
    /// EXPRESSION, --netns, --ifname, --ifindex or --drops-only selects; with --read, keep
    /// the packets whose first recorded event carries it]
    #[arg(short = 'm', long, value_name = "NUMBER", value_parser = parse_u32_strtoul)]
    pub mark: Option<u32>,

    /// Compare only the mark bits set in this mask
    #[arg(long, value_name = "NUMBER", value_parser = parse_u32_strtoul, default_value = "0xffffffff")]
    pub mask: u32,

    /// Trace packets matching this pcap-filter expression (tcpdump's syntax, e.g. 'udp and
    /// dst port 53'), tested on the packet's bytes from its Ethernet header, or from its IP
    /// header where it has no MAC header yet. With -m, --netns or --ifname, all must hold
    #[arg(value_name = "EXPRESSION", num_args = 0..)]
    pub expression: Vec<String>,

    /// Trace packets seen on a device in this network namespace: an inode number, a path
    /// (/proc/PID/ns/net) or a name under /run/netns
    #[arg(long, value_name = "NETNS")]
    pub netns: Option<String>,

    /// Trace packets seen on this device (in the --netns namespace, else in ipft's own)
    #[arg(long, value_name = "NAME", conflicts_with = "ifindex")]
    pub ifname: Option<String>,

    /// Trace packets seen on the device with this ifindex (in the --netns namespace, else in
    /// any namespace)
    #[arg(long, value_name = "NUMBER", value_parser = number_in(1u32, i32::MAX as u32))]
    pub ifindex: Option<u32>,

    /// Add built-in fields to every event, comma-separated (printed like extension fields,
    /// typed keys in JSON); with --read, which of the recorded ones to show
    #[arg(long, value_name = "FIELDS", value_delimiter = ',')]
    pub fields: Vec<FieldKind>,

    /// Explain drops: where the kernel drops a traced packet (the kfree_skb tracepoint), add
    /// its reason (by name, from this kernel's BTF) and the dropping function to that event,
    /// and print drops by reason and location at the end (a drop_summary record in JSON)
    #[arg(long)]
    pub drops: bool,

    /// Print only the packets the kernel dropped, each with its whole path (implies --drops).
    /// Needs no other selection: without one, every packet is followed, so on a busy host
    /// narrow it with an EXPRESSION, --netns or --ifname
    #[arg(long)]
    pub drops_only: bool,

    /// Only hooks whose kernel module matches this regex (vmlinux for the core kernel)
    #[arg(long, value_name = "REGEX")]
    pub module_regex: Option<String>,

    /// Output format
    #[arg(
        short = 'o',
        long,
        value_name = "OUTPUT-FORMAT",
        default_value = "aggregate"
    )]
    pub output: OutputKind,

    /// Only hooks whose function (or tracepoint) name matches this regex
    #[arg(short = 'r', long, value_name = "REGEX")]
    pub regex: Option<String>,

    /// Tracer type
    #[arg(
        short = 't',
        long,
        value_name = "TRACER-TYPE",
        default_value = "function"
    )]
    pub tracer: Tracer,

    /// Print debug messages, libbpf's log and the option values
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Also write every record to this events file (zstd-compressed, self-describing,
    /// readable with --read on any machine); checked before anything is attached
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Print an events file written by -w instead of tracing (no root, BPF or kernel BTF
    /// needed); -o, -t, --timestamp, -r, --module-regex, -m, --mask, --fields, --drops and
    /// --drops-only apply
    #[arg(long, value_name = "FILE", conflicts_with_all = ["write", "list", "backend", "extension", "snaplen"])]
    pub read: Option<PathBuf>,

    /// Copy the first NUMBER bytes of each packet (from its MAC header, or its network
    /// header where it has none yet) into its events: at its first event and wherever
    /// its length or headers change. 0 copies nothing. Needed by -o pcapng
    #[arg(long, value_name = "NUMBER", default_value_t = 0, value_parser = number_in(0, MAX_SNAPLEN))]
    pub snaplen: u16,

    /// Stop compiling a .c extension (built-in compiler or $CC) after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = number_in(1u32, 3600))]
    pub compile_timeout: u32,

    /// Address-space limit of the built-in compiler, in MiB
    #[arg(long, value_name = "MIB", default_value_t = 4096, value_parser = number_in(256u64, 1 << 20))]
    pub compile_memory: u64,

    /// Timestamps in text and JSON output
    #[arg(long, value_name = "CLOCK", default_value = "monotonic")]
    pub timestamp: TimeFormat,

    /// Pages per CPU for the perf buffer, a power of two up to 65536; also sizes the
    /// ring buffer (pages x CPUs)
    #[arg(long, value_name = "NUMBER", default_value_t = 8, value_parser = parse_page_count)]
    pub perf_page_count: u64,

    /// Memory for events already taken from the kernel's buffer that the output has not
    /// written yet, in MiB (and a quarter as much for output waiting for a slow file or
    /// pipe): a burst the output cannot keep up with waits here instead of being lost (the
    /// output then runs behind until it catches up). 0 leaves events in the kernel's buffer
    /// until the output is ready for them
    #[arg(long, value_name = "MIB", default_value_t = 128, value_parser = number_in(0u64, 65536))]
    pub backlog: u64,

    /// perf_event_attr.sample_period of the perf buffer (perf buffer fallback only)
    #[arg(long, value_name = "NUMBER", default_value_t = 1, value_parser = number_in(1u64, u64::MAX))]
    pub perf_sample_period: u64,

    /// perf_event_attr.wakeup_events of the perf buffer (perf buffer fallback only)
    #[arg(long, value_name = "NUMBER", default_value_t = 1, value_parser = number_in(1u32, u32::MAX))]
    pub perf_wakeup_events: u32,

    /// Do not follow packets (by default a matched packet is followed until
    /// its skb is freed, and its clones, copies and GSO segments with it):
    /// test the mark at every hook and use the skb address as packet id,
    /// exactly as ipftrace2 did
    #[arg(long)]
    pub no_track: bool,

    /// Packets followed at once (the tracking map's size); packets beyond it
    /// are counted and reported
    #[arg(long, value_name = "NUMBER", default_value_t = 65536, value_parser = number_in(1u32, u32::MAX))]
    pub track_map_size: u32,

    /// Seconds without an event after which a packet is finished (printed
    /// by -o aggregate, forgotten by tracking); more than 0, less than 86400
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0, value_parser = parse_idle_timeout)]
    pub idle_timeout: f64,

    /// Exit only once the kernel has removed every hook. By default ipft
    /// prints everything, hands its hooks to a background helper that
    /// removes them, and gives the prompt back at once (the kernel's
    /// teardown can take seconds); nothing stays attached once the helper
    /// is done. For scripts that check right after exit.
    #[arg(long)]
    pub wait_detach: bool,

    /// Do not raise RLIMIT_NOFILE and RLIMIT_MEMLOCK
    #[arg(long)]
    pub no_set_rlimit: bool,

    /// Discover the kernel's functions afresh and leave the discovery cache
    /// alone. By default what ipft finds (skb functions, their addresses and
    /// argument positions) is kept in /run/ipft/discovery.json and reused
    /// while the boot, every loaded module and the ipft binary stay the same
    #[arg(long)]
    pub no_cache: bool,

    /// Accept TCP connections on --probe-server-port once tracing is ready
    #[arg(long)]
    pub enable_probe_server: bool,

    /// Port of the readiness probe server
    #[arg(long, value_name = "NUMBER", default_value_t = 13720, value_parser = number_in(1u16, u16::MAX))]
    pub probe_server_port: u16,

    /// Write the man page (roff) to stdout and exit (for packaging)
    #[arg(long, hide = true)]
    pub man: bool,

    /// Write a completion script for SHELL to stdout and exit (for packaging)
    #[arg(long, value_name = "SHELL", hide = true)]
    pub completions: Option<clap_complete::Shell>,

    /// Transport for events [default: ring buffer when the kernel has it]
    #[arg(long, value_name = "TRANSPORT", hide = true)]
    pub transport: Option<TransportKind>,
}

/// The largest --snaplen (`IPFT_SNAPLEN_MAX` in `bpf/ipft_common.h`).
pub const MAX_SNAPLEN: u16 = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenTarget {
    /// A complete minimal extension in C
    BpfModuleSkeleton,
    /// The header with ipft's extension macros
    BpfModuleHeader,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportKind {
    Ringbuf,
    Perf,
}

/// Parses like C's `strtoul(s, NULL, 0)` (decimal, `0x` hex, leading-`0`
/// octal) but refuses junk and values above 32 bits instead of guessing.
pub fn parse_u32_strtoul(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], 8)
    } else {
        (t, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!(
            "'{s}' is not a number (use decimal, 0x hex or 0 octal)"
        ));
    }
    let v =
        u64::from_str_radix(digits, radix).map_err(|_| format!("'{s}' does not fit in 32 bits"))?;
    u32::try_from(v).map_err(|_| format!("'{s}' does not fit in 32 bits (skb->mark is 32 bits)"))
}

/// A value parser for a whole number from `lo` to `hi` (both included) whose
/// error says that range, e.g. `must be a whole number from 1 to 3600`.
fn number_in<T>(lo: T, hi: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy + Send + Sync,
{
    move |s: &str| match s.parse::<T>() {
        Ok(v) if lo <= v && v <= hi => Ok(v),
        _ => Err(format!("must be a whole number from {lo} to {hi}")),
    }
}

/// The largest --perf-page-count: 256 MiB of perf buffer per CPU, and far
/// beyond the 1 GiB cap of the ring buffer it also sizes.
pub const MAX_PERF_PAGE_COUNT: u64 = 1 << 16;

fn parse_page_count(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n.is_power_of_two() && n <= MAX_PERF_PAGE_COUNT => Ok(n),
        _ => Err(format!(
            "must be a power of two from 1 to {MAX_PERF_PAGE_COUNT} (1, 2, 4, 8, …)"
        )),
    }
}

/// The longest --idle-timeout: a day, in seconds (excluded).
const MAX_IDLE_TIMEOUT: f64 = 86_400.0;

fn parse_idle_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t > 0.0 && t < MAX_IDLE_TIMEOUT => Ok(t),
        _ => Err(format!(
            "must be a number of seconds greater than 0 and less than {MAX_IDLE_TIMEOUT} (e.g. 0.5 or 10)"
        )),
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PerfOptions {
    pub page_count: u64,
    pub sample_period: u64,
    pub wakeup_events: u32,
}

/// What this invocation does.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Trace,
    List,
    Read(PathBuf),
    Gen(GenTarget),
    GenHeaders(PathBuf),
    EmitObject(PathBuf),
    Man,
    Completions(clap_complete::Shell),
}

/// Validated configuration.
#[derive(Debug)]
pub struct Config {
    pub mode: Mode,
    pub backend: Option<BackendKind>,
    pub extension: Option<PathBuf>,
    /// The extension is a Lua script (`-s`, or `-e` with `.lua`).
    pub lua: bool,
    pub mark: u32,
    pub mask: u32,
    pub regex: Option<Regex>,
    pub module_regex: Option<Regex>,
    pub output: OutputKind,
    pub tracer: Tracer,
    pub verbose: bool,
    pub perf: PerfOptions,
    /// --backlog, in MiB.
    pub backlog_mib: u64,
    pub transport: Option<TransportKind>,
    pub set_rlimit: bool,
    /// Read and write the discovery cache (not --no-cache).
    pub cache: bool,
    pub probe_server_port: Option<u16>,
    pub track: bool,
    pub track_map_size: u32,
    pub idle_timeout: std::time::Duration,
    /// Stay until the kernel has detached every hook (--wait-detach).
    pub wait_detach: bool,
    /// The mark was given (optional with an expression, --netns, --ifname or
    /// --ifindex, and with --read).
    pub mark_given: bool,
    /// The pcap-filter expression, compiled and translated.
    pub filter: Option<crate::filter::PacketFilter>,
    /// --netns as an inode (0: any).
    pub netns: u32,
    /// --ifname/--ifindex as an ifindex (0: any).
    pub ifindex: u32,
    pub write: Option<PathBuf>,
    pub snaplen: u16,
    pub timestamp: TimeFormat,
    pub compile_limits: crate::compile::Limits,
    /// `--fields`, if given (see [`Config::fields`]).
    pub fields: Option<FieldSet>,
    /// The drop summary at the end (`--drops`, `--drops-only`).
    pub drops: bool,
    /// Only dropped packets (`--drops-only`).
    pub drops_only: bool,
}

/// A command-line mistake: exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn compile_regex(flag: &str, re: &Option<String>) -> Result<Option<Regex>, UsageError> {
    re.as_deref()
        .map(|r| {
            Regex::new(r).map_err(|e| {
                UsageError(format!(
                    "invalid {flag} '{r}': {}",
                    summary_line(&e.to_string())
                ))
            })
        })
        .transpose()
}

/// The last line of the regex crate's error (`error: unclosed group`),
/// without its `error: `.
fn summary_line(s: &str) -> String {
    let last = s
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("");
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

/// The fields `--fields` names, if given.
fn fields_of(kinds: &[FieldKind]) -> Option<FieldSet> {
    if kinds.is_empty() {
        return None;
    }
    let mut set = FieldSet::default();
    for kind in kinds {
        match kind {
            FieldKind::Tuple => set.tuple = true,
            FieldKind::Dev => set.dev = true,
            FieldKind::Netns => set.netns = true,
            FieldKind::Len => set.len = true,
            FieldKind::Mark => set.mark = true,
            FieldKind::Drop => set.drop = true,
            FieldKind::All => set = FieldSet::all(),
        }
    }
    Some(set)
}

impl Config {
    /// The built-in fields to show: `--fields` (else `recorded`: none when
    /// tracing, the file's with --read), plus `drop` with --drops.
    pub fn fields(&self, recorded: FieldSet) -> FieldSet {
        let mut set = self.fields.unwrap_or(recorded);
        set.drop |= self.drops;
        set
    }
}

impl Args {
    pub fn into_config(self) -> Result<Config, UsageError> {
        let mode = if self.man {
            Mode::Man
        } else if let Some(shell) = self.completions {
            Mode::Completions(shell)
        } else if let Some(target) = self.gen {
            Mode::Gen(target)
        } else if let Some(dir) = &self.gen_headers {
            Mode::GenHeaders(dir.clone())
        } else if let Some(path) = &self.emit_object {
            Mode::EmitObject(path.clone())
        } else if self.list {
            Mode::List
        } else if let Some(path) = &self.read {
            Mode::Read(path.clone())
        } else {
            Mode::Trace
        };
        let exits_early = mode != Mode::Trace;
        let tracing = mode == Mode::Trace;
        let expression = self.expression.join(" ");
        if !expression.trim().is_empty() && matches!(mode, Mode::Read(_)) {
            return Err(UsageError(
                "a filter expression selects packets while tracing; --read selects by -m/--mask and -r/--module-regex".into(),
            ));
        }
        if (self.netns.is_some() || self.ifname.is_some() || self.ifindex.is_some())
            && matches!(mode, Mode::Read(_))
        {
            return Err(UsageError(
                "--netns, --ifname and --ifindex select packets while tracing; --read selects by -m/--mask and -r/--module-regex".into(),
            ));
        }
        let filter = if tracing && !expression.trim().is_empty() {
            Some(
                crate::filter::PacketFilter::new(&expression)
                    .map_err(|e| UsageError(e.to_string()))?,
            )
        } else {
            None
        };
        let (netns, netns_file) = match (&self.netns, tracing) {
            (Some(spec), true) => crate::filter::place::netns(spec).map_err(UsageError)?,
            _ => (0, None),
        };
        let ifindex = match (&self.ifname, self.ifindex, tracing) {
            (Some(name), _, true) => {
                let (where_, file) = match (&self.netns, netns_file) {
                    (Some(spec), file) => (format!("network namespace {spec}"), file),
                    (None, _) => ("ipft's network namespace".to_string(), None),
                };
                if self.netns.is_some() && file.is_none() {
                    return Err(UsageError(format!(
                        "--ifname {name}: no process or /run/netns name refers to namespace {netns}, so its devices cannot be looked up; give --ifindex"
                    )));
                }
                crate::filter::place::ifindex(name, file.as_deref(), &where_).map_err(UsageError)?
            }
            (None, Some(index), _) => index,
            _ => 0,
        };
        // An ifname is a device of one namespace: ipft's own without --netns.
        let netns = if self.ifname.is_some() && netns == 0 && tracing {
            crate::filter::place::own_netns().map_err(UsageError)?.0
        } else {
            netns
        };
        let drops = self.drops || self.drops_only;
        let fields = fields_of(&self.fields);
        let selected_otherwise = filter.is_some() || netns != 0 || ifindex != 0 || self.drops_only;
        let mark = match (self.mark, exits_early || selected_otherwise) {
            (Some(0), _) => {
                return Err(UsageError(
                    "mark can't be zero: it would match every unmarked packet; mark the packets to trace and pass that mark".into(),
                ))
            }
            (Some(m), _) => m,
            (None, true) => 0,
            (None, false) => {
                return Err(UsageError(
                    "nothing selects packets: give a pcap-filter expression (ipft 'udp and port 53'), a mark (-m 1, after ping -m 1 … or an nft/iptables rule), --netns/--ifname, or --drops-only".into(),
                ))
            }
        };
        if self.mask == 0 {
            return Err(UsageError(
                "mask can't be zero: no mark bit would be compared, so every packet would match"
                    .into(),
            ));
        }
        if self.output == OutputKind::Pcapng && mode == Mode::Trace && self.snaplen == 0 {
            return Err(UsageError(
                "-o pcapng needs packet bytes: add --snaplen (e.g. --snaplen 256)".into(),
            ));
        }
        if let (Tracer::FunctionGraph, Some(b)) = (self.tracer, self.backend) {
            if b != BackendKind::Ftrace {
                return Err(UsageError(format!(
                    "-t function_graph needs entry and exit events, which only -b ftrace (fentry/fexit) gives, not -b {b}"
                )));
            }
        }
        Ok(Config {
            mode,
            fields,
            drops,
            drops_only: self.drops_only,
            mark_given: self.mark.is_some(),
            filter,
            netns,
            ifindex,
            write: self.write,
            snaplen: self.snaplen,
            timestamp: self.timestamp,
            compile_limits: crate::compile::Limits {
                seconds: self.compile_timeout,
                memory_mib: self.compile_memory,
            },
            backend: self.backend,
            lua: self.script.is_some()
                || self
                    .extension
                    .as_ref()
                    .is_some_and(|p| p.extension().is_some_and(|e| e == "lua")),
            extension: self.script.or(self.extension),
            mark,
            mask: self.mask,
            regex: compile_regex("-r/--regex", &self.regex)?,
            module_regex: compile_regex("--module-regex", &self.module_regex)?,
            output: self.output,
            tracer: self.tracer,
            verbose: self.verbose,
            perf: PerfOptions {
                page_count: self.perf_page_count,
                sample_period: self.perf_sample_period,
                wakeup_events: self.perf_wakeup_events,
            },
            backlog_mib: self.backlog,
            transport: self.transport,
            set_rlimit: !self.no_set_rlimit,
            cache: !self.no_cache,
            probe_server_port: self.enable_probe_server.then_some(self.probe_server_port),
            track: !self.no_track,
            track_map_size: self.track_map_size,
            idle_timeout: std::time::Duration::from_secs_f64(self.idle_timeout),
            wait_detach: self.wait_detach,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, String> {
        let args = Args::try_parse_from(std::iter::once("ipft").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        args.into_config().map_err(|e| e.0)
    }

    #[test]
    fn mark_parses_like_strtoul() {
        assert_eq!(parse_u32_strtoul("3735928559"), Ok(0xdeadbeef));
        assert_eq!(parse_u32_strtoul("0xdeadbeef"), Ok(0xdeadbeef));
        assert_eq!(parse_u32_strtoul("0XFF"), Ok(255));
        assert_eq!(parse_u32_strtoul("010"), Ok(8));
        assert_eq!(parse_u32_strtoul("0"), Ok(0));
        assert_eq!(parse_u32_strtoul("0xffffffff"), Ok(u32::MAX));
    }

    #[test]
    fn mark_junk_is_an_error() {
        for junk in [
            "",
            "abc",
            "0x",
            "12abc",
            "09",
            "-1",
            "0x1g",
            "4294967296",
            "1 2",
        ] {
            assert!(parse_u32_strtoul(junk).is_err(), "{junk:?} accepted");
        }
    }

    #[test]
    fn an_expression_or_a_place_selects_without_a_mark() {
        let c = config(&["udp", "and", "dst", "port", "9"]).unwrap();
        assert!(!c.mark_given);
        assert_eq!(c.filter.unwrap().expression, "udp and dst port 9");
        let c = config(&["--ifindex", "3"]).unwrap();
        assert_eq!((c.ifindex, c.netns, c.mark_given), (3, 0, false));
        let c = config(&["--ifname", "lo"]).unwrap();
        assert_eq!(c.ifindex, 1);
        assert_ne!(c.netns, 0, "an ifname is a device of ipft's own namespace");
        let e = config(&["udp and port"]).unwrap_err();
        assert!(
            e.starts_with("bad filter expression \"udp and port\": "),
            "{e}"
        );
        let e = config(&["--read", "x.ipft", "udp"]).unwrap_err();
        assert!(e.contains("selects packets while tracing"), "{e}");
        let c = config(&["-m", "1", "icmp"]).unwrap();
        assert!(c.mark_given && c.filter.is_some());
    }

    #[test]
    fn zero_mark_and_mask_are_refused() {
        assert!(config(&["-m", "0"])
            .unwrap_err()
            .contains("mark can't be zero"));
        assert!(config(&["-m", "1", "--mask", "0"])
            .unwrap_err()
            .contains("mask can't be zero"));
        assert!(config(&[]).unwrap_err().contains("nothing selects packets"));
        assert!(config(&["-l"]).is_ok(), "-l needs no mark");
    }

    #[test]
    fn long_tracer_flag_works() {
        let c = config(&["-m", "1", "--tracer", "function"]).unwrap();
        assert_eq!(c.tracer, Tracer::Function);
    }

    #[test]
    fn incompatible_tracer_backend_is_refused() {
        let e = config(&["-m", "1", "-t", "function_graph", "-b", "kprobe"]).unwrap_err();
        assert!(e.contains("-b ftrace"), "{e}");
    }

    #[test]
    fn bad_regex_is_a_usage_error() {
        assert!(config(&["-m", "1", "-r", "("])
            .unwrap_err()
            .contains("invalid -r/--regex"));
    }

    #[test]
    fn modes_and_recording_options() {
        assert_eq!(config(&["-m", "1"]).unwrap().mode, Mode::Trace);
        assert_eq!(config(&["-l"]).unwrap().mode, Mode::List);
        let c = config(&["--read", "t.ipft", "-o", "json"]).unwrap();
        assert_eq!(c.mode, Mode::Read("t.ipft".into()));
        assert!(!c.mark_given, "--read needs no mark");
        assert!(config(&["--read", "t", "-w", "u"]).is_err());
        assert!(config(&["--read", "t", "-b", "kprobe"]).is_err());
        let e = config(&["-m", "1", "-o", "pcapng"]).unwrap_err();
        assert!(e.contains("--snaplen"), "{e}");
        assert!(config(&["-m", "1", "-o", "pcapng", "--snaplen", "96"]).is_ok());
        assert!(config(&["--read", "t", "-o", "pcapng"]).is_ok());
        assert!(config(&["-m", "1", "--snaplen", "5000"]).is_err());
        let c = config(&["-m", "1", "-w", "x", "--timestamp", "wall"]).unwrap();
        assert_eq!((c.write, c.timestamp), (Some("x".into()), TimeFormat::Wall));
    }

    #[test]
    fn repeated_options_take_the_last_value() {
        let c = config(&["-m", "1", "-m", "2", "-o", "json", "-o", "aggregate"]).unwrap();
        assert_eq!((c.mark, c.output), (2, OutputKind::Aggregate));
        let c = config(&[
            "-m", "1", "--mask", "0xff", "--mask", "0xf0", "-b", "kprobe", "-b", "ftrace",
        ])
        .unwrap();
        assert_eq!((c.mask, c.backend), (0xf0, Some(BackendKind::Ftrace)));
        let c = config(&[
            "-m",
            "1",
            "-r",
            "^ip_",
            "-r",
            "^tcp_",
            "--idle-timeout",
            "9",
            "--idle-timeout",
            "0.5",
        ])
        .unwrap();
        assert_eq!(c.regex.unwrap().as_str(), "^tcp_");
        assert_eq!(c.idle_timeout, std::time::Duration::from_millis(500));
        let c = config(&["-m", "1", "-v", "-v", "--no-track", "--no-track"]).unwrap();
        assert!(c.verbose && !c.track);
        let c = config(&[
            "-e",
            "a.c",
            "-e",
            "b.c",
            "--emit-object",
            "a.o",
            "--emit-object",
            "-",
        ])
        .unwrap();
        assert_eq!(c.mode, Mode::EmitObject("-".into()));
        assert_eq!(c.extension, Some("b.c".into()));
    }

    #[test]
    fn ranged_options_accept_their_bounds_and_name_them() {
        for (flag, lo, hi, below, above) in [
            ("--snaplen", "0", "2048", None, "2049"),
            ("--compile-timeout", "1", "3600", Some("0"), "3601"),
            ("--compile-memory", "256", "1048576", Some("255"), "1048577"),
            ("--perf-page-count", "1", "65536", Some("0"), "131072"),
            (
                "--track-map-size",
                "1",
                "4294967295",
                Some("0"),
                "4294967296",
            ),
            ("--probe-server-port", "1", "65535", Some("0"), "65536"),
            ("--idle-timeout", "0.001", "86399.9", Some("0"), "86400"),
        ] {
            for ok in [lo, hi] {
                assert!(config(&["-m", "1", flag, ok]).is_ok(), "{flag} {ok}");
            }
            for bad in below.into_iter().chain([above, "x", "-1", ""]) {
                let e = config(&["-m", "1", &format!("{flag}={bad}")]).unwrap_err();
                assert!(e.contains(flag), "{flag} {bad}: {e}");
                let range = if flag == "--idle-timeout" {
                    "greater than 0 and less than 86400".to_string()
                } else if flag == "--perf-page-count" {
                    "power of two from 1 to 65536".to_string()
                } else {
                    format!("from {lo} to {hi}")
                };
                assert!(e.contains(&range), "{flag} {bad}: {e}");
            }
        }
    }

    #[test]
    fn probe_server_and_defaults() {
        let c = config(&["-m", "1", "--enable-probe-server"]).unwrap();
        assert_eq!(c.probe_server_port, Some(13720));
        assert_eq!(c.mask, u32::MAX);
        assert_eq!(c.output, OutputKind::Aggregate);
        assert_eq!(c.perf.page_count, 8);
    }
}
