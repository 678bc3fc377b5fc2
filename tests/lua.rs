//! Lua extensions (issue 16): ipftrace2's api_version 1 scripts, run by the
//! Lua 5.4 inside ipft, on real marked packets (host tier: the tracepoint
//! backend), in both output formats; bad scripts are one line each.

mod common;

use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{require, Need, NetPair};

const NEEDS: &[Need] = &[Need::Root, Need::Btf, Need::Tool("ip")];

/// The skeleton extension's object, built by ipft itself.
fn skeleton_object(dir: &Path) -> PathBuf {
    let src = dir.join("skeleton.bpf.c");
    let out = Command::new(common::IPFT)
        .args(["--gen", "bpf-module-skeleton"])
        .output()
        .unwrap();
    std::fs::write(&src, out.stdout).unwrap();
    let obj = dir.join("skeleton.o");
    let st = Command::new(common::IPFT)
        .args([
            "-e",
            src.to_str().unwrap(),
            "--emit-object",
            obj.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    obj
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/extensions/len.lua")
}

/// decode() gives each event the skb's length, the same as ipft's own `len`
/// field, as a string (JSON) and in the aggregate view; init() ran once before
/// and fini() once after, having seen every event.
#[test]
fn root_a_lua_script_decodes_every_event() {
    if !require("root_a_lua_script_decodes_every_event", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let obj = skeleton_object(dir.path());
    std::env::set_var("IPFT_LUA_OBJECT", &obj);
    for (output, flag) in [("json", "-s"), ("aggregate", "-e")] {
        let counts = dir.path().join(format!("counts-{output}"));
        std::env::set_var("IPFT_LUA_COUNTS", &counts);
        let pair = NetPair::new();
        let b = pair.addr_b;
        let mark = 0x10a;
        let (stdout, stderr) = common::trace_while(
            &[
                "-b",
                "tracepoint",
                "-m",
                &mark.to_string(),
                "--fields",
                "len",
                "-o",
                output,
                flag,
                script().to_str().unwrap(),
            ],
            &pair.a,
            move || common::send_udp(SocketAddrV4::new(b, 9), mark, 3, 40),
        );
        let mut events = 0;
        if output == "json" {
            for e in common::json_events(&stdout) {
                let lua = e["skb_len"].as_str().unwrap_or_else(|| panic!("{e}"));
                assert_eq!(lua, e["len"].to_string(), "{e}");
                events += 1;
            }
        } else {
            for line in stdout.lines().filter(|l| l.contains(" ( ")) {
                let fields = line.split(" ( ").nth(1).unwrap();
                let words: Vec<&str> = fields.split_whitespace().collect();
                // ( len: N skb_len: N )
                assert_eq!(words[0], "len:", "{line}");
                assert_eq!(words[2], "skb_len:", "{line}");
                assert_eq!(words[1], words[3], "{line}");
                events += 1;
            }
        }
        assert!(events >= 6, "{output}: {events} events\n{stdout}\n{stderr}");
        let counted = std::fs::read_to_string(&counts).unwrap();
        assert_eq!(
            counted.trim(),
            format!("init=1 decode={events}"),
            "{output}: {stderr}"
        );
    }
}

/// A script whose decode() fails mid-trace stops ipft: one line naming the
/// script's file and line, exit 1.
#[test]
fn root_a_lua_error_mid_trace_is_one_line_and_exit_one() {
    if !require("root_a_lua_error_mid_trace_is_one_line_and_exit_one", NEEDS) {
        return;
    }
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let obj = skeleton_object(dir.path());
    let path = dir.path().join("bad.lua");
    std::fs::write(
        &path,
        format!(
            "api_version = 1\nprogram = io.open({:?}, 'rb'):read('a')\nfunction decode(data)\n  error('cannot decode this')\nend\n",
            obj.to_str().unwrap()
        ),
    )
    .unwrap();
    let pair = NetPair::new();
    let b = pair.addr_b;
    let ipft = common::Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        "0x10b",
        "-s",
        path.to_str().unwrap(),
    ]);
    NetPair::in_ns(&pair.a, move || {
        common::send_udp(SocketAddrV4::new(b, 9), 0x10b, 1, 40)
    })
    .join()
    .unwrap();
    let (_, stderr, code) = ipft.stop();
    assert_eq!(code, 1, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("ipft: ")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("bad.lua:4: cannot decode this"),
        "{stderr}"
    );
}

/// Bad scripts are refused before anything is attached, one line each.
#[test]
fn bad_lua_scripts_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, needle) in [
        (
            "syntax.lua",
            "api_version = 1\nfunction decode(\n",
            "syntax.lua:3:",
        ),
        (
            "v2.lua",
            "api_version = 2\nprogram = 'x'\n",
            "unsupported api_version 2",
        ),
        ("noprog.lua", "api_version = 1\n", "no `program`"),
        (
            "notelf.lua",
            "api_version = 1\nprogram = 'not an object'\n",
            "not an ELF object",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = Command::new(common::IPFT)
            .args(["-b", "tracepoint", "-m", "1", "-e", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.starts_with("ipft: ") && err.contains(needle),
            "{name}: {err}"
        );
    }
}
