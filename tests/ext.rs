//! Extensions: bad objects are refused with one clear line (no privileges
//! needed, the object is checked before anything is loaded), and the shipped
//! examples trace real packets with the values the packets carried (root).

mod common;

use std::net::SocketAddrV4;
use std::path::Path;
use std::process::Command;

use common::{require, Need, NetPair};
use serde_json::Value;

fn ipft_with(ext: &Path) -> (i32, String) {
    let out = Command::new(common::IPFT)
        .args(["-m", "1", "-e"])
        .arg(ext)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn refused(ext: &Path, needle: &str) {
    let (code, stderr) = ipft_with(ext);
    assert_eq!(code, 1, "{}: {stderr}", ext.display());
    assert_eq!(
        stderr.lines().count(),
        1,
        "{}: one line: {stderr}",
        ext.display()
    );
    assert!(
        stderr.contains(needle),
        "{}: {stderr:?} lacks {needle:?}",
        ext.display()
    );
}

#[test]
fn bad_extension_objects_are_refused_with_one_line() {
    if !require(
        "bad_extension_objects_are_refused_with_one_line",
        &[Need::Tool("clang-19")],
    ) {
        return;
    }
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad");
    for (src, needle) in [
        ("no_module.bpf.c", "no `module` function"),
        ("wrong_signature.bpf.c", "`module` takes 1 parameters"),
        ("no_event_struct.bpf.c", "has no __ipft_event_struct"),
        ("typedef_struct.bpf.c", "not a typedef"),
        ("too_big.bpf.c", "must fit in the 64-byte data area"),
        ("unknown_tag.bpf.c", "unknown format tag 'ipft:fmt:octal'"),
        (
            "missing_enum_ref.bpf.c",
            "enum reference 'no_such_ref' not found",
        ),
        ("bitfield.bpf.c", "member 'a' is a bitfield"),
        ("hex_on_array.bpf.c", "needs an integer member"),
        ("nested_struct.bpf.c", "nested structs"),
        (
            "reserved_key.bpf.c",
            "member 'timestamp' has the name of one of ipft's own JSON keys",
        ),
        (
            "pinned_map.bpf.c",
            "map `ipft_test_pinned` asks to be pinned (LIBBPF_PIN_BY_NAME)",
        ),
    ] {
        let obj = common::compile_bpf(&bad.join(src)).unwrap();
        refused(&obj, needle);
    }
    refused(&bad.join("not_elf.o"), "is not an ELF object");
    refused(&bad.join("garbage.o"), "truncated or corrupt ELF");

    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let good = std::fs::read(common::example_extension("gso.bpf.c")).unwrap();
    for cut in [64, 200, good.len() / 2] {
        let truncated = scratch.join(format!("truncated{cut}.o"));
        std::fs::write(&truncated, &good[..cut]).unwrap();
        let (code, stderr) = ipft_with(&truncated);
        assert_eq!(code, 1, "truncated at {cut}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "truncated at {cut}: {stderr}");
    }
    if Command::new("cc").arg("--version").output().is_ok() {
        let c = scratch.join("host.c");
        std::fs::write(&c, "int host_code(void) { return 1; }\n").unwrap();
        let o = scratch.join("host.o");
        assert!(Command::new("cc")
            .arg("-c")
            .arg(&c)
            .arg("-o")
            .arg(&o)
            .status()
            .unwrap()
            .success());
        refused(&o, "not BPF");
    }
    let txt = scratch.join("ext.txt");
    std::fs::write(&txt, "x").unwrap();
    refused(
        &txt,
        "must be a BPF object (.o), BPF C source (.c) or a Lua script (.lua)",
    );
    refused(&scratch.join("missing.o"), "cannot read extension");
}

#[test]
fn generated_templates_are_the_shipped_header_and_compile() {
    let header = Command::new(common::IPFT)
        .args(["--gen", "bpf-module-header"])
        .output()
        .unwrap();
    assert_eq!(header.status.code(), Some(0));
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("headers/ipft.h"))
            .unwrap();
    assert_eq!(String::from_utf8(header.stdout).unwrap(), shipped);
    let unknown = Command::new(common::IPFT)
        .args(["--gen", "nope"])
        .output()
        .unwrap();
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "unknown --gen target is a usage error"
    );

    if !require(
        "generated_templates_are_the_shipped_header_and_compile",
        &[Need::Tool("clang-19")],
    ) {
        return;
    }
    let skel = Command::new(common::IPFT)
        .args(["--gen", "bpf-module-skeleton"])
        .output()
        .unwrap();
    assert_eq!(skel.status.code(), Some(0));
    let src = Path::new(env!("CARGO_TARGET_TMPDIR")).join("skeleton.bpf.c");
    std::fs::write(&src, skel.stdout).unwrap();
    let obj = common::compile_bpf(&src).expect("the skeleton compiles");
    // Accepted as an extension: the only error left is the missing privilege
    // (as root, the listing succeeds).
    let out = Command::new(common::IPFT)
        .args(["-l", "-e"])
        .arg(&obj)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("needs root"),
        "{stderr}"
    );
}

const NEEDS: &[Need] = &[
    Need::Root,
    Need::Btf,
    Need::Tool("ip"),
    Need::Tool("nft"),
    Need::Tool("clang-19"),
];

#[test]
fn root_all_printers_extension_prints_what_the_packets_carried() {
    if !require(
        "root_all_printers_extension_prints_what_the_packets_carried",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let ext = common::example_extension("all_printers.bpf.c");
    let mark = 0x5eed0e01u32;
    let pair = NetPair::new();
    let b = pair.addr_b;
    let payload = 100;
    for output in ["json", "aggregate"] {
        let (stdout, _stderr) = common::trace_while(
            &[
                "-b",
                "tracepoint",
                "-m",
                &mark.to_string(),
                "-o",
                output,
                "-e",
                ext.to_str().unwrap(),
                "-r",
                "^net_dev_start_xmit$",
            ],
            &pair.a,
            move || common::send_udp(SocketAddrV4::new(b, 9999), mark, 2, payload),
        );
        // Ethernet + IPv4 + UDP headers in front of the payload.
        let len = 14 + 20 + 8 + payload;
        if output == "json" {
            let events = common::json_events(&stdout);
            assert_eq!(events.len(), 2, "{stdout}");
            for e in &events {
                assert_eq!(e["len"], len, "{e}");
                assert_eq!(e["neg"], -42);
                assert_eq!(e["ok"], true);
                assert_eq!(e["c"], "x");
                assert_eq!(e["mark"], format!("{mark:#x}"));
                assert_eq!(e["proto"], "proto_udp");
                assert_eq!(e["flags"], "flag_a|flag_c");
                assert_eq!(e["big"], "big_one", "64-bit enums work");
                assert_eq!(e["col"], "GREEN");
                assert_eq!(e["name"], "ipft");
                assert_eq!(e["raw"], "deadbeef");
                assert_eq!(
                    e["skbp"], e["skb"],
                    "the extension sees the skb ipft reports"
                );
            }
        } else {
            let lines: Vec<&str> = stdout
                .lines()
                .filter(|l| l.contains("net_dev_start_xmit"))
                .collect();
            assert_eq!(lines.len(), 2, "{stdout}");
            let suffix = format!(
                " ( len: {len} neg: -42 ok: true c: x mark: {mark:#x} proto: proto_udp flags: flag_a|flag_c big: big_one col: GREEN name: ipft raw: deadbeef skbp: 0x"
            );
            for l in lines {
                assert!(l.contains(&suffix), "{l}\nlacks\n{suffix}");
                assert!(l.ends_with(" )"), "{l}");
            }
        }
    }
}

#[test]
fn root_gso_extension_sees_tcp_segmentation_offload() {
    if !require("root_gso_extension_sees_tcp_segmentation_offload", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let ext = common::example_extension("gso.bpf.c");
    let mark = 0x5eed0e02u32;
    let pair = NetPair::new();
    let b = pair.addr_b;
    let (tx, rx) = std::sync::mpsc::channel();
    NetPair::in_ns(&pair.b, move || {
        let l = std::net::TcpListener::bind(("0.0.0.0", 8080)).unwrap();
        tx.send(()).unwrap();
        if let Ok((mut c, _)) = l.accept() {
            let _ = std::io::copy(&mut c, &mut std::io::sink());
        }
    });
    rx.recv().unwrap();
    let (stdout, stderr) = common::trace_while(
        &[
            "-b",
            "tracepoint",
            "-m",
            &mark.to_string(),
            "-o",
            "json",
            "-e",
            ext.to_str().unwrap(),
            "-v",
            "-r",
            "^net_dev_start_xmit$",
        ],
        &pair.a,
        move || common::send_tcp(SocketAddrV4::new(b, 8080), mark, &vec![7u8; 256 * 1024]),
    );
    assert!(
        stderr.contains("[3] key: gso_type kind: INT formatter: enum_flags"),
        "-v prints the decoder table: {stderr}"
    );
    let events = common::json_events(&stdout);
    let gso: Vec<&Value> = events
        .iter()
        .filter(|e| e["gso_segs"].as_u64().unwrap_or(0) > 1)
        .collect();
    assert!(
        !gso.is_empty(),
        "no GSO super-packet among {} events",
        events.len()
    );
    for e in gso {
        assert!(
            e["gso_type"]
                .as_str()
                .unwrap()
                .split('|')
                .any(|f| f == "tcpv4"),
            "{e}"
        );
        assert!(
            e["len"].as_u64().unwrap() > 1500,
            "a GSO packet is longer than the MTU: {e}"
        );
        assert!(e["gso_size"].as_u64().unwrap() > 0, "{e}");
    }
    let small = events
        .iter()
        .find(|e| e["gso_segs"] == 0 || e["gso_segs"] == 1)
        .expect("the handshake is not GSO");
    assert!(
        small["gso_type"] == "<none>" || small["gso_type"].as_str().unwrap().contains("tcpv4"),
        "{small}"
    );
}

#[test]
fn root_extension_filters_events_and_keeps_its_own_state() {
    if !require(
        "root_extension_filters_events_and_keeps_its_own_state",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let ext = common::example_extension("big_packets.bpf.c");
    let mark = 0x5eed0e03u32;
    let pair = NetPair::new();
    let b = pair.addr_b;
    let (stdout, _stderr) = common::trace_while(
        &[
            "-b",
            "tracepoint",
            "-m",
            &mark.to_string(),
            "-o",
            "json",
            "-e",
            ext.to_str().unwrap(),
            "-r",
            "^net_dev_start_xmit$",
        ],
        &pair.a,
        move || {
            for _ in 0..3 {
                common::send_udp(SocketAddrV4::new(b, 9999), mark, 1, 100);
                common::send_udp(SocketAddrV4::new(b, 9999), mark, 1, 1200);
            }
        },
    );
    let events = common::json_events(&stdout);
    assert_eq!(
        events.len(),
        3,
        "only the 3 big datagrams are kept: {stdout}"
    );
    let mut seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, [1, 2, 3], "the global counts kept events");
    for e in &events {
        assert_eq!(e["len"], 14 + 20 + 8 + 1200);
        assert!(
            e["per_cpu"].as_u64().unwrap() >= 1,
            "the extension's map works: {e}"
        );
    }
}

/// An `ipft` whose environment has no PATH, so no compiler could be found.
fn ipft_without_path(args: &[&str]) -> std::process::Output {
    Command::new(common::IPFT)
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

#[test]
fn c_extensions_compile_in_process_without_any_compiler_on_path() {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let ext = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/extensions");
    for name in ["gso.bpf.c", "all_printers.bpf.c", "big_packets.bpf.c"] {
        let out_path = scratch.join(format!("{name}.inproc.o"));
        let out = ipft_without_path(&[
            "-e",
            ext.join(name).to_str().unwrap(),
            "--emit-object",
            out_path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let obj = std::fs::read(&out_path).unwrap();
        assert_eq!(&obj[..4], b"\x7fELF", "{name}");
    }
    // The skeleton, as a user would start.
    let skel = Command::new(common::IPFT)
        .args(["--gen", "bpf-module-skeleton"])
        .output()
        .unwrap();
    let src = scratch.join("skel_inproc.bpf.c");
    std::fs::write(&src, skel.stdout).unwrap();
    let obj = scratch.join("skel_inproc.o");
    let out = ipft_without_path(&[
        "-e",
        src.to_str().unwrap(),
        "--emit-object",
        obj.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn compile_errors_read_like_clang_and_exit_one() {
    let src = Path::new(env!("CARGO_TARGET_TMPDIR")).join("broken.bpf.c");
    std::fs::write(
        &src,
        "#include <ipft.h>\nstruct ev { __u32 len; } __ipft_event_struct;\n__hidden int module(void *ctx, void *skb, __u8 data[64])\n{\n\tnot_declared = 1;\n\treturn 0;\n}\n",
    )
    .unwrap();
    let out = Command::new(common::IPFT)
        .args(["-m", "1", "-e"])
        .arg(&src)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:5:2: error: use of undeclared identifier 'not_declared'",
            src.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("not_declared = 1;") && stderr.lines().any(|l| l.trim_end().ends_with('^')),
        "source line and caret: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("ipft: failed to compile"),
        "{stderr}"
    );
}

#[test]
fn cc_environment_variable_selects_an_external_compiler() {
    let Some(clang) = common::bpf_clang() else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIP cc_environment_variable_selects_an_external_compiler: no clang\n",
        );
        return;
    };
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/extensions/gso.bpf.c");
    let obj = scratch.join("gso.cc.o");
    // CC with an argument and CFLAGS with a quoted one: split into words, no shell.
    let out = Command::new(common::IPFT)
        .args([
            "-e",
            src.to_str().unwrap(),
            "--emit-object",
            obj.to_str().unwrap(),
        ])
        .env("CC", format!("{clang} -Wall"))
        .env("CFLAGS", "-DIPFT_TEST='1' -Werror")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(&std::fs::read(&obj).unwrap()[..4], b"\x7fELF");
    let missing = Command::new(common::IPFT)
        .args([
            "-e",
            src.to_str().unwrap(),
            "--emit-object",
            obj.to_str().unwrap(),
        ])
        .env("CC", "/nonexistent/cc")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot run $CC (/nonexistent/cc)"));
}

#[test]
fn root_c_extension_traces_real_packets() {
    if !require(
        "root_c_extension_traces_real_packets",
        &[Need::Root, Need::Btf, Need::Tool("ip")],
    ) {
        return;
    }
    let _serial = common::serial();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/extensions/all_printers.bpf.c");
    let mark = 0x5eed0e04u32;
    let pair = NetPair::new();
    let b = pair.addr_b;
    let (stdout, _stderr) = common::trace_while(
        &[
            "-b",
            "tracepoint",
            "-m",
            &mark.to_string(),
            "-o",
            "json",
            "-e",
            src.to_str().unwrap(),
            "-r",
            "^net_dev_start_xmit$",
        ],
        &pair.a,
        move || common::send_udp(SocketAddrV4::new(b, 9999), mark, 2, 300),
    );
    let events = common::json_events(&stdout);
    assert_eq!(events.len(), 2, "{stdout}");
    for e in &events {
        assert_eq!(e["len"], 14 + 20 + 8 + 300);
        assert_eq!(e["mark"], format!("{mark:#x}"));
    }
}

#[test]
fn vmlinux_h_is_generated_from_the_running_kernel() {
    if !require(
        "vmlinux_h_is_generated_from_the_running_kernel",
        &[Need::Btf],
    ) {
        return;
    }
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let src = scratch.join("uses_vmlinux.bpf.c");
    // Full kernel types, no local struct sk_buff: vmlinux.h first, then ipft.h.
    std::fs::write(
        &src,
        "#include <vmlinux.h>\n#include <ipft.h>\n\nstruct event {\n\t__u32 len;\n\t__u32 hash __ipft_fmt_hex;\n} __ipft_event_struct;\n\n__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64])\n{\n\tstruct event *ev = (struct event *)data;\n\n\tev->len = BPF_CORE_READ(skb, len);\n\tev->hash = BPF_CORE_READ(skb, hash);\n\treturn 0;\n}\n",
    )
    .unwrap();
    let obj = scratch.join("uses_vmlinux.o");
    let out = ipft_without_path(&[
        "-e",
        src.to_str().unwrap(),
        "--emit-object",
        obj.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(&std::fs::read(&obj).unwrap()[..4], b"\x7fELF");
}
