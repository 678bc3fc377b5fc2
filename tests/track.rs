//! Packet tracking, end to end on the running kernel: a matched packet keeps
//! one id across a network namespace (where its mark is cleared) until its
//! skb is freed, reused skb addresses start new packets, `--no-track` brings
//! back ipftrace2's ids, and the aggregate view prints packets while tracing.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddrV4;
use std::time::Duration;

use common::{monotonic_ns, require, Ipft, Need, NetPair};
use serde_json::Value;

const NEEDS: &[Need] = &[Need::Root, Need::Btf, Need::Tool("ip")];

fn window(ns: &str, f: impl FnOnce() + Send + 'static) -> (u64, u64) {
    let from = monotonic_ns();
    NetPair::in_ns(ns, f).join().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    (from, monotonic_ns())
}

fn within(evs: &[Value], (from, to): (u64, u64)) -> Vec<&Value> {
    evs.iter()
        .filter(|e| {
            e["timestamp"]
                .as_u64()
                .is_some_and(|t| t >= from && t <= to)
        })
        .collect()
}

/// packet id → the functions of that packet, in time order.
fn paths<'a>(evs: &[&'a Value]) -> HashMap<&'a str, Vec<&'a str>> {
    let mut sorted: Vec<&Value> = evs.to_vec();
    sorted.sort_by_key(|e| e["timestamp"].as_u64());
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in sorted {
        out.entry(e["packet_id"].as_str().unwrap())
            .or_default()
            .push(e["function"].as_str().unwrap());
    }
    out
}

#[test]
fn root_tracking_follows_packets_into_a_namespace_without_remarking() {
    if !require(
        "root_tracking_follows_packets_into_a_namespace_without_remarking",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x7ac0001u32;
    let pair = NetPair::new(); // no ingress rule: the mark is gone in the receiver
    let b = pair.addr_b;
    let (tx, rx) = std::sync::mpsc::channel();
    NetPair::in_ns(&pair.b, move || {
        let l = std::net::TcpListener::bind(("0.0.0.0", 8080)).unwrap();
        tx.send(()).unwrap();
        for c in l.incoming() {
            let Ok(mut c) = c else { break };
            let _ = std::io::copy(&mut c, &mut std::io::sink());
        }
    });
    rx.recv().unwrap();
    let ipft = Ipft::start(&["-b", "tracepoint", "-m", &mark.to_string(), "-o", "json"]);
    let udp = window(&pair.a, move || {
        for _ in 0..3 {
            common::send_udp(SocketAddrV4::new(b, 9999), mark, 1, 80); // closed port
            common::send_udp(SocketAddrV4::new(b, 9998), 0, 1, 80); // unmarked
        }
    });
    let icmp = window(&pair.a, move || common::send_icmp_echo(b, mark, 0x1234, 2));
    let tcp = window(&pair.a, move || {
        common::send_tcp(SocketAddrV4::new(b, 8080), mark, b"followed")
    });
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "{stderr}");
    let evs = common::json_events(&stdout);
    for (what, w, want_packets) in [
        ("udp", udp, Some(3)),
        ("icmp", icmp, Some(2)),
        ("tcp", tcp, None),
    ] {
        let in_w = within(&evs, w);
        let p = paths(&in_w);
        let crossed: Vec<_> = p
            .values()
            .filter(|f| f.contains(&"net_dev_start_xmit") && f.contains(&"netif_receive_skb"))
            .collect();
        assert!(
            !crossed.is_empty(),
            "{what}: no packet seen on both sides under one id: {p:#?}"
        );
        for f in &crossed {
            let tx = f.iter().position(|x| *x == "net_dev_start_xmit").unwrap();
            let rx = f.iter().position(|x| *x == "netif_receive_skb").unwrap();
            assert!(tx < rx, "{what}: send side before receive side: {f:?}");
        }
        if let Some(n) = want_packets {
            let sent = p
                .values()
                .filter(|f| f.contains(&"net_dev_start_xmit"))
                .count();
            assert_eq!(
                sent, n,
                "{what}: only the marked packets, each once: {p:#?}"
            );
            assert_eq!(
                crossed.len(),
                n,
                "{what}: every marked packet followed: {p:#?}"
            );
        }
    }
}

#[test]
fn root_reused_skb_addresses_start_new_packets_unless_no_track() {
    if !require(
        "root_reused_skb_addresses_start_new_packets_unless_no_track",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x7ac0002u32;
    let pair = NetPair::new();
    let b = pair.addr_b;
    let n = 25;
    for no_track in [false, true] {
        let mut args = vec![
            "-b",
            "tracepoint",
            "-m",
            "0x7ac0002",
            "-o",
            "json",
            "-r",
            "^net_dev_start_xmit$",
        ];
        if no_track {
            args.push("--no-track");
        }
        let ipft = Ipft::start(&args);
        window(&pair.a, move || {
            common::send_udp(SocketAddrV4::new(b, 9999), mark, n, 32)
        });
        let (stdout, stderr, code) = ipft.stop();
        assert_eq!(code, 0, "{stderr}");
        let evs = common::json_events(&stdout);
        assert_eq!(evs.len(), n, "{stdout}");
        let ids: HashSet<&str> = evs
            .iter()
            .map(|e| e["packet_id"].as_str().unwrap())
            .collect();
        let skbs: HashSet<&str> = evs.iter().map(|e| e["skb"].as_str().unwrap()).collect();
        if no_track {
            assert!(
                evs.iter().all(|e| e["packet_id"] == e["skb"]),
                "--no-track: ids are skb addresses"
            );
            assert_eq!(ids.len(), skbs.len());
        } else {
            assert_eq!(
                ids.len(),
                n,
                "one id per datagram ({} distinct skb addresses)",
                skbs.len()
            );
            eprintln!("{n} datagrams used {} distinct skb addresses", skbs.len());
        }
    }
}

#[test]
fn root_aggregate_prints_finished_packets_while_tracing() {
    if !require(
        "root_aggregate_prints_finished_packets_while_tracing",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x7ac0003u32;
    let pair = NetPair::new();
    let b = pair.addr_b;
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        &mark.to_string(),
        "--idle-timeout",
        "1",
    ]);
    window(&pair.a, move || {
        common::send_udp(SocketAddrV4::new(b, 9999), mark, 5, 64)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let live = ipft.stdout_so_far();
    assert!(
        live.contains("Timestamp") && live.contains("==="),
        "printed before Ctrl-C: {live:?}"
    );
    let blocks = |text: &str| {
        text.split("===")
            .filter(|b| b.contains("net_dev_start_xmit"))
            .count()
    };
    assert_eq!(
        blocks(&live),
        5,
        "each datagram printed once finished: {live}"
    );
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.matches("Timestamp").count(),
        1,
        "one header: {stdout}"
    );
    assert_eq!(blocks(&stdout), 5, "nothing printed twice: {stdout}");
    assert!(
        stdout.starts_with(&live),
        "exit output continues the live output"
    );
}

#[test]
fn root_full_tracking_map_is_counted_and_reported() {
    if !require("root_full_tracking_map_is_counted_and_reported", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x7ac0004u32;
    let pair = NetPair::new();
    let b = pair.addr_b;
    // A socket that never reads keeps the delivered skbs alive and tracked.
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    NetPair::in_ns(&pair.b, move || {
        let _sock = std::net::UdpSocket::bind(("0.0.0.0", 7000)).unwrap();
        tx.send(()).unwrap();
        let _ = stop_rx.recv_timeout(Duration::from_secs(30));
    });
    rx.recv().unwrap();
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        &mark.to_string(),
        "-o",
        "json",
        "--track-map-size",
        "2",
    ]);
    window(&pair.a, move || {
        common::send_udp(SocketAddrV4::new(b, 7000), mark, 8, 64)
    });
    std::thread::sleep(Duration::from_millis(1200));
    let (stdout, stderr, code) = ipft.stop();
    drop(stop_tx);
    assert_eq!(code, 0, "{stderr}");
    let full: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("tracking_map_full").is_some())
        .collect();
    assert!(!full.is_empty(), "no tracking_map_full record: {stdout}");
    assert!(stderr.contains("found the tracking map full"), "{stderr}");
}

/// The IPv4 source of a JSON `packet` snapshot (raw IPv4, or Ethernet + IPv4).
fn snapshot_source(hex: &str) -> Option<std::net::Ipv4Addr> {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    // Ethernet first: a random MAC can start with a nibble of 4 too. The
    // test's addresses (10.x) never put 08 00 at a raw header's bytes 12-13.
    let ip = if bytes.get(12..14) == Some(&[0x08, 0x00]) && bytes.get(14)? >> 4 == 4 {
        &bytes[14..]
    } else if bytes.first()? >> 4 == 4 {
        &bytes[..]
    } else {
        return None;
    };
    let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
    Some(src.into())
}

#[test]
fn root_unmarked_packets_never_join_a_marked_packet() {
    if !require("root_unmarked_packets_never_join_a_marked_packet", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x7ac0005u32;
    let pair = NetPair::new();
    let (a, b) = (pair.addr_a, pair.addr_b);
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        &mark.to_string(),
        "-o",
        "json",
        "--snaplen",
        "64",
    ]);
    // Bulk TCP both ways at once; only A's socket is marked.
    let sink_b = NetPair::in_ns(&pair.b, || common::tcp_sink(5001, 1));
    let sink_a = NetPair::in_ns(&pair.a, || common::tcp_sink(5002, 1));
    std::thread::sleep(Duration::from_millis(200));
    let data = vec![0x42u8; 8 << 20];
    let marked = {
        let data = data.clone();
        NetPair::in_ns(&pair.a, move || {
            common::send_tcp(SocketAddrV4::new(b, 5001), mark, &data)
        })
    };
    let unmarked = NetPair::in_ns(&pair.b, move || {
        common::send_tcp(SocketAddrV4::new(a, 5002), 0, &data)
    });
    marked.join().unwrap();
    unmarked.join().unwrap();
    sink_a.join().unwrap();
    sink_b.join().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "{stderr}");
    let events: Vec<Value> = common::json_events(&stdout);
    let mut checked = 0;
    let mut wrong = HashSet::new();
    for e in &events {
        if let Some(src) = e.get("packet").and_then(|p| snapshot_source(p.as_str()?)) {
            checked += 1;
            if src != a {
                wrong.insert(e["packet_id"].as_str().unwrap().to_string());
            }
        }
    }
    let ids: HashSet<&str> = events
        .iter()
        .map(|e| e["packet_id"].as_str().unwrap())
        .collect();
    assert!(checked > 100, "too few snapshots to judge: {checked}");
    let example: Vec<String> = wrong
        .iter()
        .next()
        .map(|id| {
            events
                .iter()
                .filter(|e| e["packet_id"] == id.as_str())
                .map(|e| {
                    let src = e.get("packet").and_then(|p| snapshot_source(p.as_str()?));
                    format!("{} {} {:?}", e["timestamp"], e["function"], src)
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        wrong.is_empty(),
        "{} of {} marked packets show packets sent by {b} (unmarked): {wrong:?}; one of them:\n{}",
        wrong.len(),
        ids.len(),
        example.join("\n")
    );
}

/// A received UDP datagram's skb may be recycled without any skb tracepoint
/// (deferred frees, the NAPI skb cache), often with the same data buffer at
/// the same address; the next datagram then reuses both. Unmarked datagrams
/// sent between marked ones must never be taken for their predecessors.
#[test]
fn root_recycled_udp_skbs_never_join_a_finished_packet() {
    if !require("root_recycled_udp_skbs_never_join_a_finished_packet", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let (mark, other) = (0x7ac0006u32, 0x7ac0007u32);
    let rounds = 150;
    let pair = NetPair::new();
    let b = pair.addr_b;
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let sink = NetPair::in_ns(&pair.b, move || {
        let sock = common::udp_sink(9996);
        tx.send(()).unwrap();
        let mut buf = [0u8; 2048];
        while stop_rx.try_recv().is_err() {
            let _ = sock.recv(&mut buf);
        }
    });
    rx.recv().unwrap();
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        &mark.to_string(),
        "-o",
        "json",
        "--fields",
        "mark",
    ]);
    let w = window(&pair.a, move || {
        for _ in 0..rounds {
            common::send_udp(SocketAddrV4::new(b, 9996), mark, 1, 64);
            common::send_udp(SocketAddrV4::new(b, 9996), other, 1, 64);
        }
    });
    let (stdout, stderr, code) = ipft.stop();
    stop_tx.send(()).unwrap();
    sink.join().unwrap();
    assert_eq!(code, 0, "{stderr}");
    let events: Vec<Value> = common::json_events(&stdout);
    let events = within(&events, w);
    let wrong: Vec<&&Value> = events.iter().filter(|e| e["mark"] == other).collect();
    assert!(
        wrong.is_empty(),
        "{} events of unmarked datagrams joined marked packets, e.g. {}",
        wrong.len(),
        wrong[0]
    );
    let xmits = events
        .iter()
        .filter(|e| e["function"] == "net_dev_start_xmit")
        .count();
    assert_eq!(xmits, rounds, "one transmit per marked datagram");
}
