//! Selecting packets the way users already do: a pcap-filter expression
//! instead of a mark (issue 14), on real traffic between two namespaces,
//! with nothing marked anywhere. Host tier: the tracepoint backend.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddrV4, SocketAddrV6};

use common::{require, Need, NetPair};
use serde_json::Value;

const NEEDS: &[Need] = &[Need::Root, Need::Btf, Need::Tool("ip")];

/// What a snapshot holds, from the Ethernet or the IP header: (IP version,
/// protocol, destination port), or None for anything else.
fn classify(hex: &str) -> Option<(u8, u8, u16)> {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    // Ethernet when the EtherType and the IP version after it agree (a MAC
    // address may well start with a 4 or a 6 nibble), else raw IP.
    let ethertype = u16::from_be_bytes([*bytes.get(12)?, *bytes.get(13)?]);
    let after = bytes.get(14).map(|b| b >> 4);
    let ip = match (ethertype, after) {
        (0x0800, Some(4)) | (0x86dd, Some(6)) => &bytes[14..],
        _ => &bytes[..],
    };
    match ip.first()? >> 4 {
        4 => {
            let ihl = (ip[0] & 0xf) as usize * 4;
            let port = u16::from_be_bytes([*ip.get(ihl + 2)?, *ip.get(ihl + 3)?]);
            Some((4, ip[9], port))
        }
        6 => Some((
            6,
            *ip.get(6)?,
            u16::from_be_bytes([*ip.get(42)?, *ip.get(43)?]),
        )),
        _ => None,
    }
}

/// Issue 14: `ipft 'udp and dst port 9'` with no mark traces exactly the
/// UDP datagrams to port 9 among TCP to port 9, UDP to another port and ICMP,
/// over IPv4 and IPv6, and follows each into the receiving namespace.
#[test]
fn root_a_pcap_filter_selects_exactly_the_matching_packets() {
    if !require(
        "root_a_pcap_filter_selects_exactly_the_matching_packets",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let pair = NetPair::new();
    let (_, b6) = pair.add_ipv6();
    let b = pair.addr_b;
    let (listening, ready) = std::sync::mpsc::channel();
    NetPair::in_ns(&pair.b, move || {
        let listener = std::net::TcpListener::bind(("0.0.0.0", 9)).unwrap();
        listening.send(()).unwrap();
        if let Ok((mut conn, _)) = listener.accept() {
            let _ = std::io::Read::read_to_end(&mut conn, &mut Vec::new());
        }
    });
    ready
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("TCP port 9 listening in b");
    let (stdout, stderr) = common::trace_while(
        &[
            "-b",
            "tracepoint",
            "-o",
            "json",
            "--snaplen",
            "128",
            "udp and dst port 9",
        ],
        &pair.a,
        move || {
            common::send_udp(SocketAddrV4::new(b, 9), 0, 3, 40);
            common::send_udp6(SocketAddrV6::new(b6, 9, 0, 0), 3, 40);
            // Not to be traced: another port, another protocol to port 9, ICMP.
            common::send_udp(SocketAddrV4::new(b, 9999), 0, 3, 40);
            common::send_udp6(SocketAddrV6::new(b6, 9999, 0, 0), 3, 40);
            common::send_tcp(SocketAddrV4::new(b, 9), 0, b"not udp");
            common::send_icmp_echo(b, 0, 0x1f1f, 2);
        },
    );
    let events = common::json_events(&stdout);

    let mut functions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut versions: BTreeMap<String, BTreeSet<u8>> = BTreeMap::new();
    for e in &events {
        let id = e["packet_id"].as_str().unwrap().to_string();
        functions
            .entry(id.clone())
            .or_default()
            .insert(e["function"].as_str().unwrap().to_string());
        if let Some(p) = e.get("packet").and_then(Value::as_str) {
            let what = classify(p);
            assert!(
                matches!(what, Some((_, 17, 9))),
                "a packet that is not UDP to port 9 ({what:?}) under {id}: {p}"
            );
            versions.entry(id).or_default().insert(what.unwrap().0);
        }
    }
    // Every datagram sent from a once (net_dev_queue), each its own packet.
    let sent: Vec<&String> = functions
        .iter()
        .filter(|(_, f)| f.contains("net_dev_queue"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(sent.len(), 6, "packets sent: {functions:?}\n{stderr}");
    // (An skb the kernel copies before sending, e.g. for headroom, is a
    // matching packet of its own on this backend: it never reaches a device.)
    let v4 = sent.iter().filter(|id| versions[**id].contains(&4)).count();
    let v6 = sent.iter().filter(|id| versions[**id].contains(&6)).count();
    assert_eq!((v4, v6), (3, 3), "{versions:?}\n{functions:?}");
    // And followed into b: its veth received each (nothing marks them there).
    for id in &sent {
        let f = &functions[*id];
        assert!(
            f.contains("netif_receive_skb") || f.contains("netif_receive_skb_entry"),
            "{id} not followed into the receiver: {f:?}"
        );
    }
    assert!(
        !stderr.contains("No packet matched"),
        "matched packets: {stderr}"
    );
}

/// A mark and an expression together must both hold.
#[test]
fn root_a_mark_and_an_expression_must_both_hold() {
    if !require("root_a_mark_and_an_expression_must_both_hold", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let pair = NetPair::new();
    let b = pair.addr_b;
    let mark = 0x5eed0077u32;
    let (stdout, _) = common::trace_while(
        &[
            "-b",
            "tracepoint",
            "-o",
            "json",
            "-m",
            &mark.to_string(),
            "udp and dst port 9",
        ],
        &pair.a,
        move || {
            common::send_udp(SocketAddrV4::new(b, 9), mark, 2, 40); // both hold
            common::send_udp(SocketAddrV4::new(b, 9), 0, 3, 40); // expression only
            common::send_udp(SocketAddrV4::new(b, 9999), mark, 3, 40); // mark only
        },
    );
    let sent: BTreeSet<String> = common::json_events(&stdout)
        .iter()
        .filter(|e| e["function"] == "net_dev_queue")
        .map(|e| e["packet_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent.len(), 2, "{stdout}");
}

/// Bad expressions and places: one line naming the mistake, exit 2, nothing
/// attached.
#[test]
fn bad_expressions_and_places_are_usage_errors() {
    for (args, needle) in [
        (&["udp and dst port"][..], "syntax error"),
        (&["port 99999999"], "port"),
        (&["--ifname", "ipft-no-such-if0", "udp"], "ipft-no-such-if0"),
        (
            &["--netns", "ipft-no-such-netns", "udp"],
            "ipft-no-such-netns",
        ),
    ] {
        let out = std::process::Command::new(common::IPFT)
            .args(["-b", "tracepoint"])
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("ipft: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(!err.contains("Attaching"), "{args:?}: {err}");
    }
}

/// --netns and --ifname select packets where they are seen: a datagram from
/// a to b starts on vA in a, or on vB in b, as asked.
#[test]
fn root_place_filters_select_where_packets_are_seen() {
    if !require("root_place_filters_select_where_packets_are_seen", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let pair = NetPair::new();
    let b = pair.addr_b;
    for (args, first, never) in [
        (
            vec!["--netns", pair.b.as_str()],
            "netif_rx_entry",
            "net_dev_queue",
        ),
        (
            vec!["--netns", pair.a.as_str(), "--ifname", "vA"],
            "net_dev_queue",
            "",
        ),
    ] {
        let mut all = vec!["-b", "tracepoint", "-o", "json"];
        all.extend(&args);
        all.push("udp and dst port 9");
        let (stdout, _) = common::trace_while(&all, &pair.a, move || {
            common::send_udp(SocketAddrV4::new(b, 9), 0, 3, 40)
        });
        let events = common::json_events(&stdout);
        let mut seen = BTreeSet::new();
        let mut firsts = BTreeSet::new();
        for e in &events {
            let id = e["packet_id"].as_str().unwrap().to_string();
            if seen.insert(id) {
                firsts.insert(e["function"].as_str().unwrap().to_string());
            }
            if !never.is_empty() {
                assert_ne!(e["function"], never, "{args:?}: {stdout}");
            }
        }
        assert!(firsts.contains(first), "{args:?}: first events {firsts:?}");
        assert!(seen.len() >= 3, "{args:?}: {} packets", seen.len());
    }
}
