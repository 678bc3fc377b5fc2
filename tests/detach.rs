//! The end of a trace and its idle time, on the running kernel: ipft gives
//! the prompt back before the kernel's teardown, a background helper removes
//! every hook (none of ipft's programs is left loaded afterwards), after
//! SIGINT, SIGTERM and SIGKILL; `--wait-detach` removes them before exiting;
//! an idle trace sleeps without a timer yet shows the first packet after the
//! quiet spell at once, without waiting for Ctrl-C.

mod common;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use common::{require, Ipft, Need, NetPair};

const NEEDS: &[Need] = &[Need::Root, Need::Btf, Need::Tool("ip")];

/// ipft's BPF programs loaded in the kernel (all are named `ipft_...`).
fn ipft_programs() -> usize {
    libbpf_rs::query::ProgInfoIter::default()
        .filter(|p| p.name.to_bytes().starts_with(b"ipft_"))
        .count()
}

/// The pids of running detach helpers (`ipft --detach-helper ...`).
fn detach_helpers() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let is_helper = cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == b"--detach-helper");
        is_helper.then_some(pid)
    })
    .collect()
}

/// Waits (up to a minute) until no helper runs and none of ipft's programs
/// is loaded; panics with what is left.
fn wait_all_gone(what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (helpers, programs) = (detach_helpers(), ipft_programs());
        if helpers.is_empty() && programs == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: a minute later, helpers {helpers:?} and {programs} ipft programs are left"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn root_hooks_are_all_removed_after_the_prompt_comes_back() {
    if !require(
        "root_hooks_are_all_removed_after_the_prompt_comes_back",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    wait_all_gone("before the test");
    for (name, sig) in [
        ("SIGINT", libc::SIGINT),
        ("SIGTERM", libc::SIGTERM),
        ("SIGKILL", libc::SIGKILL),
    ] {
        let ipft = Ipft::start(&["-b", "tracepoint", "-m", "0x7ad0001", "-o", "json"]);
        assert!(
            ipft_programs() > 0,
            "{name}: no ipft program loaded while tracing"
        );
        let status = ipft.end(sig);
        if sig == libc::SIGKILL {
            assert_eq!(status.code(), None, "SIGKILL: ipft exited by itself");
        } else {
            assert_eq!(status.code(), Some(0), "{name}: ipft {status}");
        }
        wait_all_gone(name);
    }
}

#[test]
fn root_wait_detach_removes_every_hook_before_exiting() {
    if !require("root_wait_detach_removes_every_hook_before_exiting", NEEDS) {
        return;
    }
    let _serial = common::serial();
    wait_all_gone("before the test");
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        "0x7ad0002",
        "-o",
        "json",
        "--wait-detach",
    ]);
    assert!(ipft_programs() > 0, "no ipft program loaded while tracing");
    let (_, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        detach_helpers().is_empty(),
        "--wait-detach started a helper"
    );
    // Freed programs leave the kernel's list after an RCU grace period.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ipft_programs() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        ipft_programs(),
        0,
        "programs left after ipft --wait-detach exited"
    );
}

#[test]
fn root_an_idle_trace_shows_the_next_packet_without_ctrl_c() {
    if !require(
        "root_an_idle_trace_shows_the_next_packet_without_ctrl_c",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x7ad0003u32;
    let pair = NetPair::new();
    let b = pair.addr_b;
    let ipft = Ipft::start(&["-b", "tracepoint", "-m", &mark.to_string(), "-o", "json"]);
    // Long enough for ipft to be idle (past --idle-timeout 3 s and a second).
    std::thread::sleep(Duration::from_millis(4500));
    NetPair::in_ns(&pair.a, move || {
        common::send_udp(SocketAddrV4::new(b, 9995), mark, 1, 32)
    })
    .join()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ipft.stdout_so_far().contains("net_dev_start_xmit") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let so_far = ipft.stdout_so_far();
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        so_far.contains("net_dev_start_xmit"),
        "the packet sent after a quiet spell was not shown while tracing; at exit: {stdout}"
    );
}
