//! End-to-end tests against the running kernel: real BPF programs, real
//! namespaces and veth pairs, real marked packets. They need root and kernel
//! BTF, and skip with a printed reason without them (fail with
//! IPFT_TEST_STRICT=1). The host kernels we build on only allow tracepoints,
//! so these tests use `-b tracepoint`; function backends run in the guest.

mod common;

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::mpsc;
use std::time::Duration;

use common::{monotonic_ns, require, Ipft, Need, NetPair};
use serde_json::Value;

const NEEDS: &[Need] = &[Need::Root, Need::Btf, Need::Tool("ip"), Need::Tool("nft")];

/// Tracepoints that see a packet leave the sender, before veth scrubs the mark.
const SEND_SIDE: &[&str] = &["net_dev_queue", "net_dev_start_xmit"];
/// Tracepoints that see a packet in the receiver after the ingress re-mark.
/// (A datagram delivered to a UDP socket is freed without a tracepoint, so
/// the UDP test sends to a closed port: icmp_send and kfree_skb see it.)
const RECV_SIDE: &[&str] = &[
    "consume_skb",
    "kfree_skb",
    "skb_copy_datagram_iovec",
    "icmp_send",
];

/// Every record after the stream's format line (which must come first).
fn parse_json(stdout: &str) -> Vec<Value> {
    let mut records = stdout.lines().map(|l| {
        serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"))
    });
    let head = records.next().expect("a JSON stream has its format line");
    assert_eq!(head["format_version"], 1, "{head}");
    assert_eq!(head["clock"], "monotonic", "{head}");
    records.collect()
}

fn in_window(events: &[Value], (from, to): (u64, u64)) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| {
            e["timestamp"]
                .as_u64()
                .is_some_and(|t| t >= from && t <= to)
        })
        .collect()
}

fn count(events: &[&Value], function: &str) -> usize {
    events.iter().filter(|e| e["function"] == function).count()
}

/// Send-side events are followed, in their packet, by a receive-side event:
/// every one of them (`all`), or at least one (TCP: pure ACKs are freed
/// without a tracepoint).
fn assert_send_then_receive(events: &[&Value], what: &str, all: bool) {
    let mut packets: HashMap<&str, Vec<&Value>> = HashMap::new();
    for e in events {
        packets
            .entry(e["packet_id"].as_str().unwrap())
            .or_default()
            .push(e);
    }
    let mut followed = 0;
    for evs in packets.values_mut() {
        evs.sort_by_key(|e| e["timestamp"].as_u64());
        for (i, e) in evs.iter().enumerate() {
            if SEND_SIDE.contains(&e["function"].as_str().unwrap()) {
                let later = evs[i + 1..]
                    .iter()
                    .any(|r| RECV_SIDE.contains(&r["function"].as_str().unwrap()));
                assert!(
                    later || !all,
                    "{what}: {} in {} has no receive-side event after it: {evs:#?}",
                    e["function"],
                    e["packet_id"]
                );
                followed += later as usize;
            }
        }
    }
    assert!(
        followed > 0,
        "{what}: no packet seen on both sides: {events:#?}"
    );
}

/// Runs `f` in the sender namespace and returns the monotonic window it took.
fn window(ns: &str, f: impl FnOnce() + Send + 'static) -> (u64, u64) {
    let from = monotonic_ns();
    NetPair::in_ns(ns, f).join().unwrap();
    // Let queued packets (e.g. the first one, waiting for ARP) get through.
    std::thread::sleep(Duration::from_millis(400));
    (from, monotonic_ns())
}

/// Starts UDP and TCP sinks in the receiver namespace, returns when listening.
fn start_sinks(pair: &NetPair, udp_ports: &'static [u16], tcp_ports: &'static [u16]) {
    let (tx, rx) = mpsc::channel();
    NetPair::in_ns(&pair.b, move || {
        let socks: Vec<_> = udp_ports.iter().map(|p| common::udp_sink(*p)).collect();
        let listeners: Vec<_> = tcp_ports
            .iter()
            .map(|p| std::net::TcpListener::bind(("0.0.0.0", *p)).unwrap())
            .collect();
        tx.send(()).unwrap();
        for l in listeners {
            std::thread::spawn(move || {
                for conn in l.incoming() {
                    let Ok(mut c) = conn else { break };
                    let mut buf = Vec::new();
                    let _ = std::io::Read::read_to_end(&mut c, &mut buf);
                }
            });
        }
        let mut buf = [0u8; 2048];
        loop {
            for s in &socks {
                let _ = s.recv(&mut buf);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("sinks listening");
}

#[test]
fn root_tracepoint_json_follows_marked_udp_tcp_icmp_and_ignores_unmarked() {
    if !require(
        "root_tracepoint_json_follows_marked_udp_tcp_icmp_and_ignores_unmarked",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let mark = 0xdeadbeefu32;
    let pair = NetPair::new();
    pair.mark_ingress(
        &[
            "udp dport 9999",
            "tcp dport 8080",
            "icmp type echo-request icmp id 4660",
        ],
        mark,
    );
    start_sinks(&pair, &[7777], &[8080, 8081]);
    let b = pair.addr_b;

    let ipft = Ipft::start(&["-b", "tracepoint", "-m", "0xdeadbeef", "-o", "json"]);
    // Marked UDP (to a closed port) and unmarked UDP interleaved: only the 5
    // marked ones may show.
    let udp = window(&pair.a, move || {
        for _ in 0..5 {
            common::send_udp(SocketAddrV4::new(b, 9999), mark, 1, 100);
            common::send_udp(SocketAddrV4::new(b, 7777), 0, 1, 100);
        }
    });
    let unmarked = window(&pair.a, move || {
        common::send_tcp(SocketAddrV4::new(b, 8081), 0, b"unmarked");
        common::send_icmp_echo(b, 0, 0x4321, 3);
        common::send_udp(SocketAddrV4::new(b, 7777), 0, 3, 64);
    });
    let tcp = window(&pair.a, move || {
        common::send_tcp(SocketAddrV4::new(b, 8080), mark, b"hello ipft")
    });
    let icmp = window(&pair.a, move || common::send_icmp_echo(b, mark, 4660, 3));
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "ipft failed: {stderr}");
    let events = parse_json(&stdout);
    for e in &events {
        for key in [
            "packet_id",
            "timestamp",
            "processor_id",
            "module",
            "function",
            "is_return",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
        assert!(e["packet_id"].as_str().unwrap().starts_with("0x"));
    }

    let udp_events = in_window(&events, udp);
    assert_eq!(
        count(&udp_events, "net_dev_start_xmit"),
        5,
        "exactly the marked datagrams: {udp_events:#?}"
    );
    assert_send_then_receive(&udp_events, "udp", true);

    let none = in_window(&events, unmarked);
    assert!(
        none.is_empty(),
        "unmarked traffic produced events: {none:#?}"
    );

    let tcp_events = in_window(&events, tcp);
    assert!(
        count(&tcp_events, "net_dev_start_xmit") >= 3,
        "handshake, data and FIN: {tcp_events:#?}"
    );
    assert_send_then_receive(&tcp_events, "tcp", false);

    let icmp_events = in_window(&events, icmp);
    assert_eq!(
        count(&icmp_events, "net_dev_start_xmit"),
        3,
        "{icmp_events:#?}"
    );
    assert_send_then_receive(&icmp_events, "icmp", true);

    let categories: Vec<&str> = events
        .iter()
        .map(|e| e["module"].as_str().unwrap())
        .collect();
    assert!(
        categories.contains(&"net") && categories.contains(&"skb"),
        "tracepoint categories: {categories:?}"
    );
}

#[test]
fn root_tracepoint_aggregate_groups_packets_in_time_order() {
    if !require(
        "root_tracepoint_aggregate_groups_packets_in_time_order",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x5eed0001u32;
    let pair = NetPair::new();
    pair.mark_ingress(&["udp dport 9999"], mark);
    start_sinks(&pair, &[9999], &[]);
    let b = pair.addr_b;
    let ipft = Ipft::start(&["-b", "tracepoint", "-m", &mark.to_string()]);
    window(&pair.a, move || {
        common::send_udp(SocketAddrV4::new(b, 9999), mark, 3, 200)
    });
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "ipft failed: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "", "aggregate output starts with an empty line");
    assert_eq!(
        lines[1],
        "Timestamp            CPU                   Module                         Function"
    );
    assert!(lines.contains(&"==="), "{stdout}");
    let mut last_ts = 0;
    let mut xmits = 0;
    for line in &lines[2..] {
        if *line == "===" {
            last_ts = 0;
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols.len(), 4, "{line:?}");
        let ts: u64 = cols[0].parse().unwrap();
        assert!(
            ts >= last_ts,
            "events of a packet are in time order:\n{stdout}"
        );
        last_ts = ts;
        assert_eq!(cols[1].len(), 3, "CPU is three digits: {line:?}");
        if cols[3] == "net_dev_start_xmit" {
            assert_eq!(cols[2], "net");
            xmits += 1;
        }
        assert_eq!(
            line.len(),
            20 + 1 + 3 + 1 + 24 + 1 + 32,
            "fixed columns: {line:?}"
        );
    }
    assert_eq!(xmits, 3, "{stdout}");
    assert!(stderr.contains("Attaching program (total"), "{stderr}");
}

#[test]
fn root_mask_selects_packets_by_mark_bits() {
    if !require("root_mask_selects_packets_by_mark_bits", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let pair = NetPair::new();
    start_sinks(&pair, &[9999], &[]);
    let b = pair.addr_b;
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        "0x100",
        "--mask",
        "0xf00",
        "-o",
        "json",
    ]);
    let w = window(&pair.a, move || {
        for _ in 0..3 {
            common::send_udp(SocketAddrV4::new(b, 9999), 0x7a1ab, 1, 64); // bits 8-11 = 1: match
            common::send_udp(SocketAddrV4::new(b, 9999), 0x7a2ab, 1, 64); // bits 8-11 = 2
            common::send_udp(SocketAddrV4::new(b, 9999), 0x100, 0, 64); // unmarked
        }
    });
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "ipft failed: {stderr}");
    let events = parse_json(&stdout);
    let in_w = in_window(&events, w);
    assert_eq!(count(&in_w, "net_dev_start_xmit"), 3, "{in_w:#?}");
}

#[test]
fn root_list_shows_skb_tracepoints() {
    if !require("root_list_shows_skb_tracepoints", NEEDS) {
        return;
    }
    let out = std::process::Command::new(common::IPFT)
        .args(["-l", "-b", "tracepoint"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("NAME") && stderr.contains("SKB_POSITION"),
        "header on stderr: {stderr}"
    );
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("kfree_skb\t"))
        .expect("kfree_skb listed");
    let cols: Vec<&str> = row.split('\t').collect();
    assert_eq!(cols.len(), 4);
    assert_eq!(cols[0].len(), 64);
    assert_eq!(cols[1].trim(), "skb");
    assert!(cols[2].starts_with("0x") && cols[2].len() == 18);
    assert_eq!(cols[3], "0");
    let filtered = std::process::Command::new(common::IPFT)
        .args(["-l", "-b", "tracepoint", "-r", "^net_dev_"])
        .output()
        .unwrap();
    let names: Vec<String> = String::from_utf8(filtered.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().trim().to_string())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.starts_with("net_dev_")),
        "{names:?}"
    );
}

/// `ipft ARGS -l -b tracepoint -v`: (stdout, stderr).
fn list_verbose(program: &str, args: &[&str]) -> (String, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .args(["-l", "-b", "tracepoint", "-v"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

#[test]
fn root_discovery_is_reused_only_by_the_same_binary_and_kernel_state() {
    if !require(
        "root_discovery_is_reused_only_by_the_same_binary_and_kernel_state",
        NEEDS,
    ) {
        return;
    }
    // Another test may load a module (veth) between two runs: that is a
    // new kernel state, and the next pair of runs shows the reuse.
    let reused = (0..3).any(|_| {
        let (first, _) = list_verbose(common::IPFT, &[]);
        let (again, stderr) = list_verbose(common::IPFT, &[]);
        stderr.contains("discovery read from /run/ipft/discovery.json") && {
            assert_eq!(first, again, "the cached discovery lists the same");
            true
        }
    });
    assert!(
        reused,
        "a second run in the same kernel state reads the cache"
    );

    let (fresh, stderr) = list_verbose(common::IPFT, &["--no-cache"]);
    assert!(
        stderr.contains("discovery cache not used: --no-cache"),
        "{stderr}"
    );
    assert!(stderr.contains("discovered "), "{stderr}");
    assert!(fresh.contains("kfree_skb"), "{fresh}");

    // A copy of the binary is another ipft: it discovers afresh.
    let dir = std::env::temp_dir().join(format!("ipft-cache-copy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("ipft");
    std::fs::copy(common::IPFT, &copy).unwrap();
    let (_, stderr) = list_verbose(copy.to_str().unwrap(), &[]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        stderr.contains("was written for another kernel state (now: exe "),
        "{stderr}"
    );
}

#[test]
fn root_probe_server_accepts_once_ready() {
    if !require("root_probe_server_accepts_once_ready", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        "0x5eed0002",
        "-r",
        "kfree_skb",
        "--enable-probe-server",
        "--probe-server-port",
        "13799",
    ]);
    let mut connected = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", 13799)).is_ok() {
            connected = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_, stderr, code) = ipft.stop();
    assert!(connected, "probe server did not accept: {stderr}");
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn root_nothing_matched_is_a_clear_error() {
    if !require("root_nothing_matched_is_a_clear_error", NEEDS) {
        return;
    }
    let out = std::process::Command::new(common::IPFT)
        .args([
            "-b",
            "tracepoint",
            "-m",
            "1",
            "-r",
            "^no_such_hook_anywhere$",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("nothing to trace"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("ipft:")).count(),
        1,
        "{stderr}"
    );
}

/// The numbers of ipftrace2's attach line, and what ipft lists after it.
fn attach_counts(stderr: &str) -> (usize, usize, usize, usize, String) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("Attaching program (total "))
        .unwrap_or_else(|| panic!("no attach line: {stderr}"));
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    let rest = line
        .split_once(')')
        .map(|(_, r)| r.to_string())
        .unwrap_or_default();
    (nums[0], nums[1], nums[2], nums[3], rest)
}

/// Issue 15 item 7: a run that matched nothing says so at exit, in one line
/// with how long it ran and on how many hooks, and the usual causes; the
/// attach line counts traced hooks only and names ipft's own ones apart.
#[test]
fn root_a_run_that_matched_nothing_says_so() {
    if !require("root_a_run_that_matched_nothing_says_so", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let pair = NetPair::new();
    start_sinks(&pair, &[9999], &[]);
    let b = pair.addr_b;
    // Marked 0x77, traced for 0x78: nothing matches.
    let ipft = Ipft::start(&["-b", "tracepoint", "-m", "0x78", "-r", "^net_dev"]);
    window(&pair.a, move || {
        common::send_udp(SocketAddrV4::new(b, 9999), 0x77, 3, 64)
    });
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("net_dev"), "{stdout}");
    let (total, ok, failed, filtered, rest) = attach_counts(&stderr);
    assert_eq!(total, ok + failed + filtered, "{stderr}");
    assert!(ok >= 2 && filtered > 0, "{stderr}");
    // kfree_skb and consume_skb are left out by -r: attached to end packets.
    assert!(rest.contains("free points to end packets"), "{stderr}");
    let nothing: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("No packet matched"))
        .collect();
    assert_eq!(nothing.len(), 1, "{stderr}");
    assert!(
        nothing[0].starts_with("No packet matched mark 0x78 in ")
            && nothing[0].contains(&format!(" s on {ok} hooks."))
            && nothing[0].contains("mark is set after the hooks"),
        "{stderr}"
    );

    // With matching packets, no such line.
    let ipft = Ipft::start(&["-b", "tracepoint", "-m", "0x77", "-r", "^net_dev"]);
    window(&pair.a, move || {
        common::send_udp(SocketAddrV4::new(b, 9999), 0x77, 3, 64)
    });
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("net_dev_queue"), "{stdout}");
    assert!(!stderr.contains("No packet matched"), "{stderr}");
}

#[test]
fn root_perf_buffer_transport_delivers_events() {
    if !require("root_perf_buffer_transport_delivers_events", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x5eed0003u32;
    let pair = NetPair::new();
    pair.mark_ingress(&["udp dport 9999"], mark);
    let b = pair.addr_b;
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        &mark.to_string(),
        "-o",
        "json",
        "--transport",
        "perf",
        "--perf-page-count",
        "4",
        "--perf-wakeup-events",
        "1",
        "--perf-sample-period",
        "1",
    ]);
    let w = window(&pair.a, move || {
        common::send_udp(SocketAddrV4::new(b, 9999), mark, 3, 64)
    });
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "ipft failed: {stderr}");
    let events = parse_json(&stdout);
    let in_w = in_window(&events, w);
    assert_eq!(count(&in_w, "net_dev_start_xmit"), 3, "{in_w:#?}");
    assert_send_then_receive(&in_w, "udp over perf", true);
}

#[test]
fn root_lost_events_are_counted_and_reported() {
    if !require("root_lost_events_are_counted_and_reported", NEEDS) {
        return;
    }
    // The perf buffer fallback too: its losses at the end of a burst, when no
    // later event makes the kernel report them, must be counted as well.
    for transport in ["ringbuf", "perf"] {
        lost_events_add_up(transport, 0x5eed0004 + (transport == "perf") as u32);
    }
}

/// The events in `stdout`, and the lost events `stderr`'s accounting line
/// (-v) gives after checking that produced = received + lost.
/// The `-v` accounting line, `events: produced P, received R, lost L`, as
/// (P, R, L); it must add up, and every event received must be in `stdout`.
fn accounting(stdout: &str, stderr: &str) -> (u64, u64, u64) {
    let received = parse_json(stdout)
        .iter()
        .filter(|r| r.get("function").is_some())
        .count() as u64;
    let line = stderr
        .lines()
        .find(|l| l.contains("events: produced"))
        .expect("-v prints the event accounting");
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(nums.len(), 3, "{line}");
    assert_eq!(
        nums[0],
        nums[1] + nums[2],
        "produced = received + lost: {line}"
    );
    assert_eq!(
        nums[1], received,
        "every event received is in the output: {line}"
    );
    (nums[0], nums[1], nums[2])
}

#[test]
fn root_a_stalled_reader_costs_memory_not_events() {
    if !require("root_a_stalled_reader_costs_memory_not_events", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let pair = NetPair::new();
    let mark = 0x5eed0006;
    pair.mark_ingress(&["udp dport 9999"], mark);
    let b = pair.addr_b;
    let datagrams = 3000;
    // The smallest ring buffer, far smaller than the burst; nobody reads
    // ipft's stdout until the burst is over. With the backlog, ipft keeps
    // emptying the ring into memory; without, it waits on the pipe and the
    // ring overflows.
    let mut outcome = Vec::new();
    for backlog in ["128", "0"] {
        let (open, gate) = std::sync::mpsc::channel();
        let ipft = Ipft::start_stalled(
            &[
                "-b",
                "tracepoint",
                "-m",
                &mark.to_string(),
                "-o",
                "json",
                "-v",
                "--perf-page-count",
                "1",
                "--backlog",
                backlog,
            ],
            gate,
        );
        NetPair::in_ns(&pair.a, move || {
            let sock = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            common::set_mark(std::os::fd::AsRawFd::as_raw_fd(&sock), mark);
            for i in 0..datagrams {
                sock.send_to(&[0u8; 32], SocketAddrV4::new(b, 9999))
                    .unwrap();
                if i % 100 == 99 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        })
        .join()
        .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        open.send(()).unwrap();
        let (stdout, stderr, code) = ipft.stop();
        assert_eq!(code, 0, "ipft failed: {stderr}");
        let (_, received, lost) = accounting(&stdout, &stderr);
        assert!(
            received + lost >= 2 * datagrams,
            "--backlog {backlog}: received {received} + lost {lost} < {}",
            2 * datagrams
        );
        outcome.push((backlog, received, lost, stderr));
    }
    let (_, received, lost, stderr) = &outcome[0];
    assert_eq!(*lost, 0, "with a backlog nothing is lost: {stderr}");
    assert!(!stderr.contains("Lost "), "{stderr}");
    let (_, _, lost_without, stderr) = &outcome[1];
    assert!(
        *lost_without > 0,
        "--backlog 0 waits on the stalled pipe, and the ring overflows ({received} received with a backlog): {stderr}"
    );
}

fn lost_events_add_up(transport: &str, mark: u32) {
    let _serial = common::serial();
    let pair = NetPair::new();
    pair.mark_ingress(&["udp dport 9999"], mark);
    let b = pair.addr_b;
    // The smallest ring buffer; ipft is stopped while the packets flow, so
    // the ring fills up and the programs must count what they drop.
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        &mark.to_string(),
        "-o",
        "json",
        "-v",
        "--perf-page-count",
        "1",
        "--transport",
        transport,
    ]);
    let pid = ipft.pid();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let datagrams = 3000;
    NetPair::in_ns(&pair.a, move || {
        let sock = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        common::set_mark(std::os::fd::AsRawFd::as_raw_fd(&sock), mark);
        for _ in 0..datagrams {
            sock.send_to(&[0u8; 32], SocketAddrV4::new(b, 9999))
                .unwrap();
        }
    })
    .join()
    .unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    std::thread::sleep(Duration::from_millis(1500));
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "ipft failed: {stderr}");
    let records = parse_json(&stdout);
    let lost_records: Vec<&Value> = records
        .iter()
        .filter(|r| r.get("lost_events").is_some())
        .collect();
    assert!(
        !lost_records.is_empty(),
        "{transport}: no lost_events record in the stream; stderr: {stderr}"
    );
    let total = lost_records.last().unwrap()["total_lost_events"]
        .as_u64()
        .unwrap();
    let sum: u64 = lost_records
        .iter()
        .map(|r| r["lost_events"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, total, "lost records add up to the total");
    assert!(stderr.contains(&format!("Lost {total} events")), "{stderr}");
    // The accounting adds up exactly: produced = received + lost.
    let (_, received, lost) = accounting(&stdout, &stderr);
    assert_eq!(lost, total, "{transport}: {stderr}");
    // Each datagram produces at least two send-side events.
    assert!(
        received + total >= 2 * datagrams,
        "received {received} + lost {total} < {}",
        2 * datagrams
    );
}
