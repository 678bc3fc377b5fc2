//! Explaining packets (issue 14): drop reasons by name from the kernel's
//! BTF with the dropping location, the drop summary, `--drops-only`, and the
//! built-in fields (5-tuple, device, namespace) on both sides of a veth, on
//! real traffic between two namespaces with nothing marked. Host tier: the
//! tracepoint backend.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4, SocketAddrV6};
use std::os::unix::fs::MetadataExt;

use common::{require, sh, Need, NetPair};
use serde_json::Value;

const NEEDS: &[Need] = &[Need::Root, Need::Btf, Need::Tool("ip")];

/// The network namespace inode of a named namespace.
fn netns_inode(name: &str) -> u64 {
    std::fs::metadata(format!("/run/netns/{name}"))
        .unwrap()
        .ino()
}

/// The last line's `drop_summary` as (reason, location) → count.
fn summary(stdout: &str) -> BTreeMap<(String, String), u64> {
    let last: Value = serde_json::from_str(stdout.lines().last().expect("output")).unwrap();
    last["drop_summary"]
        .as_array()
        .unwrap_or_else(|| panic!("no drop_summary last: {last}"))
        .iter()
        .map(|r| {
            (
                (
                    r["reason"].as_str().unwrap().to_string(),
                    r["location"].as_str().unwrap().to_string(),
                ),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Three ways a datagram dies, each named by the running kernel's own enum:
/// a closed port (NO_SOCKET), an nft rule (NETFILTER_DROP), and an address
/// nobody owns in a forwarding namespace with no route to it (IP_INNOROUTES).
/// The summary counts exactly what was sent, and the events file names the
/// same reasons and locations when read back.
#[test]
fn root_drop_reasons_are_named_and_counted() {
    if !require(
        "root_drop_reasons_are_named_and_counted",
        &[Need::Root, Need::Btf, Need::Tool("ip"), Need::Tool("nft")],
    ) {
        return;
    }
    let _serial = common::serial();
    let pair = NetPair::new();
    let b = pair.addr_b;
    sh(
        &[
            "ip",
            "-n",
            &pair.a,
            "route",
            "add",
            "192.0.2.0/24",
            "via",
            &b.to_string(),
        ],
        None,
    );
    sh(
        &[
            "ip",
            "netns",
            "exec",
            &pair.b,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ],
        None,
    );
    sh(
        &["ip", "netns", "exec", &pair.b, "nft", "-f", "-"],
        Some("table inet ipft_drop {\n chain in {\n  type filter hook input priority 0;\n  udp dport 7 drop\n }\n}\n"),
    );
    let file = std::env::temp_dir().join(format!("ipft-drops-{}.ipft", std::process::id()));
    let file_arg = file.to_str().unwrap().to_string();
    let nobody = Ipv4Addr::new(192, 0, 2, 1);
    let (stdout, stderr) = common::trace_while(
        &[
            "-b",
            "tracepoint",
            "-o",
            "json",
            "--drops",
            "--fields",
            "tuple",
            "-w",
            &file_arg,
            &format!("udp and (dst host {b} or dst host {nobody})"),
        ],
        &pair.a,
        move || {
            common::send_udp(SocketAddrV4::new(b, 9), 0, 3, 40);
            common::send_udp(SocketAddrV4::new(b, 7), 0, 2, 40);
            common::send_udp(SocketAddrV4::new(nobody, 9), 0, 4, 40);
        },
    );
    let events = common::json_events(&stdout);
    let mut reasons: BTreeMap<(String, u64), BTreeSet<String>> = BTreeMap::new();
    let mut drops = 0;
    for e in events.iter().filter(|e| e.get("drop_reason").is_some()) {
        drops += 1;
        assert_eq!(e["function"], "kfree_skb", "{e}");
        let location = e["drop_location"].as_str().unwrap();
        assert!(
            location.contains("+0x") && !location.starts_with("0x"),
            "a named location: {e}"
        );
        reasons
            .entry((
                e["daddr"].as_str().unwrap().to_string(),
                e["dport"].as_u64().unwrap(),
            ))
            .or_default()
            .insert(e["drop_reason"].as_str().unwrap().to_string());
    }
    let want = |addr: Ipv4Addr, port: u64, reason: &str| {
        let got = reasons.get(&(addr.to_string(), port));
        assert_eq!(
            got,
            Some(&BTreeSet::from([reason.to_string()])),
            "{addr}:{port}: {reasons:?}\n{stderr}"
        );
    };
    want(b, 9, "NO_SOCKET");
    want(b, 7, "NETFILTER_DROP");
    want(nobody, 9, "IP_INNOROUTES");
    assert_eq!(drops, 9, "one drop event per datagram: {reasons:?}");
    // Events that are not drops carry no drop keys.
    assert!(events
        .iter()
        .filter(|e| e["function"] != "kfree_skb")
        .all(|e| e.get("drop_location").is_none()));

    let counts = summary(&stdout);
    let by_reason = |reason: &str| -> u64 {
        counts
            .iter()
            .filter(|((r, _), _)| r == reason)
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(
        (
            by_reason("NO_SOCKET"),
            by_reason("NETFILTER_DROP"),
            by_reason("IP_INNOROUTES")
        ),
        (3, 2, 4),
        "{counts:?}"
    );
    assert!(
        counts.keys().all(|(_, loc)| !loc.contains('+')),
        "the summary groups by function: {counts:?}"
    );

    // Read back anywhere: the same drops, named the same way.
    let read = std::process::Command::new(common::IPFT)
        .args(["--read", &file_arg, "-o", "json", "--drops-only"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(read.status.success(), "{read:?}");
    let read_out = String::from_utf8(read.stdout).unwrap();
    let live_drops: Vec<&Value> = events
        .iter()
        .filter(|e| e.get("drop_reason").is_some())
        .collect();
    let read_events = common::json_events(&read_out);
    let read_drops: Vec<&Value> = read_events
        .iter()
        .filter(|e| e.get("drop_reason").is_some())
        .collect();
    assert_eq!(read_drops, live_drops);
    assert_eq!(summary(&read_out), counts);
}

/// The 5-tuple, device and namespace on every event, both sides of the
/// veth, IPv4 and IPv6; TCP flags and ICMP type and code.
#[test]
fn root_built_in_fields_are_right_on_both_sides_of_a_veth() {
    if !require(
        "root_built_in_fields_are_right_on_both_sides_of_a_veth",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let pair = NetPair::new();
    let (a6, b6) = pair.add_ipv6();
    let (a, b) = (pair.addr_a, pair.addr_b);
    let (ns_a, ns_b) = (netns_inode(&pair.a), netns_inode(&pair.b));
    let (stdout, stderr) = common::trace_while(
        &[
            "-b",
            "tracepoint",
            "-o",
            "json",
            "--fields",
            "tuple,dev,netns,len,mark",
            "dst port 9 or icmp",
        ],
        &pair.a,
        move || {
            common::send_udp(SocketAddrV4::new(b, 9), 0, 2, 40);
            common::send_udp6(SocketAddrV6::new(b6, 9, 0, 0), 2, 40);
            // A SYN to a closed port: answered by a RST (from port 9: not traced).
            let _ = std::net::TcpStream::connect_timeout(
                &SocketAddrV4::new(b, 9).into(),
                std::time::Duration::from_secs(1),
            );
            common::send_icmp_echo(b, 0, 0x2a2a, 2);
        },
    );
    let events = common::json_events(&stdout);
    let mut seen = BTreeSet::new();
    for e in &events {
        let ifname = e["ifname"].as_str().unwrap_or_else(|| panic!("{e}"));
        let netns = e["netns"].as_u64().unwrap();
        match ifname {
            "vA" => assert_eq!(netns, ns_a, "{e}"),
            "vB" => assert_eq!(netns, ns_b, "{e}"),
            _ => continue,
        }
        assert!(e["ifindex"].as_u64().unwrap() > 0, "{e}");
        assert!(e["len"].as_u64().unwrap() >= 20, "{e}");
        assert_eq!(e["mark"], 0, "{e}");
        let proto = e["proto"]
            .as_str()
            .unwrap_or_else(|| panic!("no tuple: {e}"));
        let (src, dst) = (e["saddr"].as_str().unwrap(), e["daddr"].as_str().unwrap());
        match (e["l3"].as_str().unwrap(), proto) {
            ("ipv4", "udp") => {
                assert_eq!((src, dst), (&*a.to_string(), &*b.to_string()), "{e}");
                assert_eq!(e["dport"], 9, "{e}");
                assert!(e["sport"].as_u64().unwrap() > 0, "{e}");
                assert!(e.get("tcp_flags").is_none(), "{e}");
            }
            ("ipv6", "udp") => {
                assert_eq!((src, dst), (&*a6.to_string(), &*b6.to_string()), "{e}");
                assert_eq!(e["dport"], 9, "{e}");
            }
            ("ipv4", "tcp") => {
                assert_eq!(
                    (src, dst, &e["dport"]),
                    (&*a.to_string(), &*b.to_string(), &Value::from(9)),
                    "{e}"
                );
                assert_eq!(e["tcp_flags"], "SYN", "{e}");
            }
            ("ipv4", "icmp") => {
                // Echo requests from a; from b echo replies, and port
                // unreachables for the datagrams to its closed port 9.
                let types: &[u64] = if src == a.to_string() { &[8] } else { &[0, 3] };
                let t = e["icmp_type"].as_u64().unwrap();
                assert!(types.contains(&t), "{e}");
                let code = e["icmp_code"].as_u64().unwrap();
                assert_eq!(code, if t == 3 { 3 } else { 0 }, "{e}");
                assert!(e.get("sport").is_none(), "{e}");
                if t == 0 {
                    seen.insert("echo reply".to_string());
                }
            }
            other => panic!("unexpected {other:?}: {e}"),
        }
        seen.insert(format!("{}/{proto}/{ifname}", e["l3"].as_str().unwrap()));
    }
    for want in [
        "ipv4/udp/vA",
        "ipv4/udp/vB",
        "ipv6/udp/vA",
        "ipv6/udp/vB",
        "ipv4/tcp/vA",
        "ipv4/tcp/vB",
        "ipv4/icmp/vA",
        "ipv4/icmp/vB",
        "echo reply",
    ] {
        assert!(seen.contains(want), "no {want} event: {seen:?}\n{stderr}");
    }
}

/// `--drops-only` with no other selection: exactly the datagrams the kernel
/// dropped, each with its path from the sender on; delivered ones never.
#[test]
fn root_drops_only_prints_just_the_dropped_packets() {
    if !require("root_drops_only_prints_just_the_dropped_packets", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let pair = NetPair::new();
    let b = pair.addr_b;
    let sink = NetPair::in_ns(&pair.b, || common::udp_sink(5555))
        .join()
        .unwrap();
    let (stdout, stderr) = common::trace_while(
        &[
            "-b",
            "tracepoint",
            "-o",
            "json",
            "--drops-only",
            "--fields",
            "tuple",
        ],
        &pair.a,
        move || {
            common::send_udp(SocketAddrV4::new(b, 9), 0, 3, 40);
            common::send_udp(SocketAddrV4::new(b, 5555), 0, 3, 40);
        },
    );
    drop(sink);
    let events = common::json_events(&stdout);
    let mut packets: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for e in &events {
        packets
            .entry(e["packet_id"].as_str().unwrap())
            .or_default()
            .push(e);
    }
    for (id, evs) in &packets {
        assert!(
            evs.iter().any(|e| e.get("drop_reason").is_some()),
            "packet {id} printed without a drop: {evs:?}"
        );
    }
    let ours: Vec<&Vec<&Value>> = packets
        .values()
        .filter(|evs| {
            evs.iter()
                .any(|e| e["daddr"] == b.to_string() && e["l3"] == "ipv4")
        })
        .collect();
    assert!(
        events.iter().all(|e| e["dport"] != 5555),
        "a delivered datagram was printed: {stdout}"
    );
    let to_9 = ours
        .iter()
        .filter(|evs| evs.iter().any(|e| e["dport"] == 9))
        .count();
    assert_eq!(to_9, 3, "dropped datagrams printed: {ours:?}\n{stderr}");
    for evs in &ours {
        let functions: Vec<&str> = evs
            .iter()
            .map(|e| e["function"].as_str().unwrap())
            .collect();
        assert!(
            functions.contains(&"net_dev_queue") && functions.last() == Some(&"kfree_skb"),
            "the whole path, ending in the drop: {functions:?}"
        );
    }
}

/// Unknown field names are usage errors; an extension member named like a
/// shown field is refused before anything is attached.
#[test]
fn bad_fields_are_refused() {
    let out = std::process::Command::new(common::IPFT)
        .args(["--fields", "tuple,bogus", "udp"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bogus"), "{err}");
}

/// An extension member named like a shown built-in field is refused before
/// anything is attached; without that field the extension runs.
#[test]
fn root_an_extension_member_may_not_shadow_a_shown_field() {
    if !require(
        "root_an_extension_member_may_not_shadow_a_shown_field",
        NEEDS,
    ) {
        return;
    }
    let ext = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/extensions/gso.bpf.c");
    let out = std::process::Command::new(common::IPFT)
        .args([
            "-b",
            "tracepoint",
            "-e",
            ext.to_str().unwrap(),
            "--fields",
            "tuple,len",
            "udp",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("member 'len'") && err.contains("--fields"),
        "{err}"
    );
    assert!(!err.contains("Attaching"), "{err}");
}
