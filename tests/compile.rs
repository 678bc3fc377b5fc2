//! The built-in extension compiler against bad input, against the system
//! clang (same objects), and on a host whose headers and LLVM are hidden.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{require, Ipft, Need};

fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn emit(src: &Path, out: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(common::IPFT);
    cmd.args(["-e"]).arg(src).arg("--emit-object").arg(out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[track_caller]
fn fails_cleanly(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("ipft: ") && last.contains(needle),
        "last line {last:?} lacks {needle:?}:\n{stderr}"
    );
}

#[test]
fn bad_sources_fail_with_clang_diagnostics_or_one_line() {
    let glibc = scratch("glibc.bpf.c");
    std::fs::write(&glibc, "#include <stdio.h>\nint x;\n").unwrap();
    let out = emit(&glibc, &scratch("glibc.o"), &[]);
    fails_cleanly(&out, "<stdio.h> is not among the headers ipft carries");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("<linux/*.h>"),
        "names the embedded set"
    );

    let empty = scratch("empty.bpf.c");
    std::fs::write(&empty, "").unwrap();
    fails_cleanly(
        &emit(&empty, &scratch("empty.o"), &[]),
        "no `module` function",
    );

    let garbage = scratch("garbage.bpf.c");
    std::fs::write(
        &garbage,
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761u32) >> 24) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    fails_cleanly(
        &emit(&garbage, &scratch("garbage.o"), &[]),
        "failed to compile",
    );

    let huge = scratch("huge.bpf.c");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(17 << 20).unwrap();
    fails_cleanly(&emit(&huge, &scratch("huge.o"), &[]), "at most 16 MiB");

    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/extensions/gso.bpf.c");
    fails_cleanly(
        &emit(&src, &scratch("x.o"), &[("CC", "false")]),
        "$CC (false) failed",
    );
    fails_cleanly(
        &emit(&src, &scratch("x.o"), &[("CC", "true")]),
        "$CC (true) wrote no object",
    );
}

const MODULE: &str = "#include <ipft.h>\nstruct sk_buff;\n\
                      struct event { __u32 len; } __ipft_event_struct;\n\
                      __hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64]) { return 0; }\n";

/// Issue 15 item 6: every Linux UAPI header an extension may want compiles
/// with the built-in compiler and no header on the host: the ones users
/// asked for alone, and every `linux/` header together, after the libc
/// headers a C programmer includes first.
#[test]
fn every_uapi_header_an_extension_may_want_compiles() {
    for header in [
        "linux/icmp.h",
        "linux/pkt_cls.h",
        "linux/netfilter.h",
        "linux/if.h",
        "linux/if_tunnel.h",
        "linux/netfilter_ipv4/ip_tables.h",
        "linux/netfilter/nf_tables.h",
        "linux/mptcp.h",
    ] {
        let src = scratch(&format!("{}.bpf.c", header.replace('/', "_")));
        std::fs::write(
            &src,
            format!("#include <linux/types.h>\n#include <{header}>\n{MODULE}"),
        )
        .unwrap();
        let out = emit(&src, &scratch("uapi.o"), &[("CC", "")]);
        assert!(
            out.status.success(),
            "<{header}>: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Left out of the all-in-one source: not for a BPF program (libc,
    // DRM, RDMA, sound, input devices), or one of a pair that cannot be
    // included together (big-endian byte order; ipt_ecn.h redefines xt_ecn.h).
    let left_out = [
        "a.out.h",
        "auto_fs.h",
        "auto_fs4.h",
        "auto_dev-ioctl.h",
        "cec-funcs.h",
        "coda.h",
        "input.h",
        "joystick.h",
        "kfd_ioctl.h",
        "omapfb.h",
        "patchkey.h",
        "shm.h",
        "smc_diag.h",
        "soundcard.h",
        "sysctl.h",
        "uhid.h",
        "uinput.h",
        "usb/audio.h",
        "byteorder/big_endian.h",
        "netfilter_ipv4/ipt_ecn.h",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor/linux-uapi");
    let mut headers = Vec::new();
    let mut dirs = vec![root.join("linux")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "h") {
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                if !left_out.iter().any(|l| rel == format!("linux/{l}")) {
                    headers.push(rel);
                }
            }
        }
    }
    headers.sort();
    assert!(headers.len() > 500, "{} headers", headers.len());
    let mut source = String::from("#include <sys/socket.h>\n#include <time.h>\n");
    for h in &headers {
        source.push_str(&format!("#include <{h}>\n"));
    }
    source.push_str(MODULE);
    let src = scratch("all_uapi.bpf.c");
    std::fs::write(&src, source).unwrap();
    let out = emit(&src, &scratch("all_uapi.o"), &[("CC", "")]);
    assert!(
        out.status.success(),
        "{} headers together: {}",
        headers.len(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn paths_with_shell_metacharacters_are_never_interpreted() {
    let dir = scratch("meta dir; $(touch pwned)");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("a b'\"`touch pwned2`.bpf.c");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/extensions/gso.bpf.c"),
        &src,
    )
    .unwrap();
    let clang = common::bpf_clang();
    let mut runs: Vec<Vec<(&str, &str)>> = vec![vec![]];
    if let Some(c) = clang.as_deref() {
        runs.push(vec![("CC", c)]);
    }
    for env in runs {
        let out_path = dir.join("out $(touch pwned3).o");
        let out = emit(&src, &out_path, &env);
        assert!(
            out.status.success(),
            "{env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(&std::fs::read(&out_path).unwrap()[..4], b"\x7fELF");
    }
    for f in ["pwned", "pwned2", "pwned3"] {
        assert!(
            !Path::new(f).exists() && !dir.join(f).exists(),
            "{f} was created: a shell ran"
        );
    }
}

/// (kind number, name) of every BTF type, the decl tags, and the CO-RE
/// relocation bytes of an object.
fn btf_summary(obj: &[u8]) -> (Vec<(u32, String)>, usize) {
    use object::{Object, ObjectSection};
    let file = object::File::parse(obj).unwrap();
    let btf = file.section_by_name(".BTF").unwrap().data().unwrap();
    let ext = file
        .section_by_name(".BTF.ext")
        .map_or(0, |s| s.data().unwrap().len());
    let w = |o: usize| u32::from_ne_bytes(btf[o..o + 4].try_into().unwrap()) as usize;
    let (hdr, toff, tlen, soff) = (w(4), w(8), w(12), w(16));
    let types = &btf[hdr + toff..hdr + toff + tlen];
    let strs = &btf[hdr + soff..];
    let name = |off: usize| {
        let rest = &strs[off..];
        String::from_utf8_lossy(&rest[..rest.iter().position(|&b| b == 0).unwrap()]).into_owned()
    };
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < types.len() {
        let r = |o: usize| u32::from_ne_bytes(types[pos + o..pos + o + 4].try_into().unwrap());
        let (name_off, info) = (r(0) as usize, r(4));
        let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
        out.push((kind, name(name_off)));
        pos += 12
            + match kind {
                1 | 14 | 17 => 4,
                3 => 12,
                4 | 5 | 15 | 19 => 12 * vlen,
                6 | 13 => 8 * vlen,
                _ => 0,
            };
    }
    out.sort();
    (out, ext)
}

#[test]
fn in_process_objects_match_system_clang() {
    let Some(clang) = common::bpf_clang() else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIP in_process_objects_match_system_clang: no clang\n",
        );
        return;
    };
    for name in ["gso.bpf.c", "all_printers.bpf.c", "big_packets.bpf.c"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/extensions")
            .join(name);
        let ours = scratch(&format!("{name}.ours.o"));
        let theirs = scratch(&format!("{name}.clang.o"));
        let a = emit(&src, &ours, &[]);
        assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
        let b = emit(&src, &theirs, &[("CC", &clang)]);
        assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
        let (types_a, ext_a) = btf_summary(&std::fs::read(&ours).unwrap());
        let (types_b, ext_b) = btf_summary(&std::fs::read(&theirs).unwrap());
        assert_eq!(types_a, types_b, "{name}: BTF types and decl tags differ");
        assert!(
            types_a
                .iter()
                .any(|(k, n)| *k == 17 && n.starts_with("ipft:fmt:"))
                || name != "gso.bpf.c"
        );
        assert_eq!(
            ext_a, ext_b,
            "{name}: .BTF.ext (func/line info, CO-RE relocations) differs in size"
        );
    }
}

#[test]
fn root_compiles_and_traces_with_headers_and_llvm_hidden() {
    if !require(
        "root_compiles_and_traces_with_headers_and_llvm_hidden",
        &[Need::Root, Need::Btf, Need::Tool("unshare")],
    ) {
        return;
    }
    let _serial = common::serial();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/extensions/all_printers.bpf.c");
    let copy = scratch("hidden_env.bpf.c");
    std::fs::copy(&src, &copy).unwrap();
    // A private mount namespace where /usr/include and every LLVM tree are
    // empty and no compiler is on PATH: ipft must need none of them.
    let hide = "for d in /usr/include /usr/lib/llvm-*; do [ -d \"$d\" ] && mount -t tmpfs none \"$d\"; done; \
                test ! -e /usr/include/linux/types.h || exit 99; exec env -i \"$@\"";
    let mark = 0x5eed0c01u32;
    let mark_s = mark.to_string();
    let ipft = Ipft::start_with(
        "unshare",
        &[
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            hide,
            "sh",
            common::IPFT,
        ],
        &[
            "-b",
            "tracepoint",
            "-m",
            &mark_s,
            "-o",
            "json",
            "-e",
            copy.to_str().unwrap(),
            "-r",
            "^net_dev_start_xmit$",
        ],
    );
    let pair = common::NetPair::new();
    let b = pair.addr_b;
    common::NetPair::in_ns(&pair.a, move || {
        common::send_udp(std::net::SocketAddrV4::new(b, 9999), mark, 2, 100)
    })
    .join()
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "{stderr}");
    let events = common::json_events(&stdout);
    assert_eq!(events.len(), 2, "{stdout}\n{stderr}");
    for e in events {
        assert_eq!(e["len"], 14 + 20 + 8 + 100);
        assert_eq!(e["mark"], format!("{mark:#x}"));
    }
}

/// Issue 15 item 6: users of any other clang get the same headers:
/// `--gen-headers DIR` writes them and prints the flags, with which Debian's
/// clang (which alone cannot even build the skeleton) compiles extensions.
#[test]
fn another_clang_compiles_with_the_written_headers() {
    if !require(
        "another_clang_compiles_with_the_written_headers",
        &[Need::Tool("clang-19")],
    ) {
        return;
    }
    let dir = scratch("gen-headers");
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(common::IPFT)
        .arg("--gen-headers")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let flags = shlex::split(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert!(flags.iter().any(|f| f == "-nostdinc"), "{flags:?}");
    let skeleton = scratch("gen-headers-skeleton.bpf.c");
    let sk = Command::new(common::IPFT)
        .args(["--gen", "bpf-module-skeleton"])
        .output()
        .unwrap();
    std::fs::write(&skeleton, sk.stdout).unwrap();
    let uapi = scratch("gen-headers-uapi.bpf.c");
    std::fs::write(
        &uapi,
        format!("#include <linux/types.h>\n#include <linux/icmp.h>\n#include <linux/pkt_cls.h>\n#include <linux/netfilter.h>\n{MODULE}"),
    )
    .unwrap();
    let gso = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/extensions/gso.bpf.c");
    for src in [skeleton.as_path(), uapi.as_path(), gso.as_path()] {
        let obj = scratch("gen-headers.o");
        let cc = Command::new("clang-19")
            .args(&flags)
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(&obj)
            .output()
            .unwrap();
        assert!(
            cc.status.success(),
            "{}: {}",
            src.display(),
            String::from_utf8_lossy(&cc.stderr)
        );
        // And ipft takes the object.
        let check = Command::new(common::IPFT)
            .arg("-e")
            .arg(&obj)
            .arg("--emit-object")
            .arg(scratch("gen-headers-check.o"))
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    // Written again into the same directory; refused into one with other files.
    let again = Command::new(common::IPFT)
        .arg("--gen-headers")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(again.status.success());
    let other = scratch("gen-headers-other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("mine.txt"), "x").unwrap();
    let refused = Command::new(common::IPFT)
        .arg("--gen-headers")
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not empty"));
}
