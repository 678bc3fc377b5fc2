//! Recording and reading back: `-w` then `--read` prints what the live run
//! printed (aggregate and JSON, with an extension), reading needs no
//! privileges and no kernel BTF, pcapng opens in tshark with the packets
//! sent, a SIGKILLed recorder leaves a readable file, and bad files and
//! paths are one-line errors.

mod common;

use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Ipft, Need, NetPair, IPFT};

/// A scratch file readable by everyone (the unprivileged reader).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipft-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir.join(name)
}

fn read(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(IPFT).args(args).output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// `ipft --read FILE ARGS` as user nobody, in a mount namespace where
/// /sys/kernel/btf is an empty tmpfs: no privileges, no kernel BTF.
fn read_unprivileged(file: &Path, args: &[&str]) -> (String, String, i32) {
    // The binary may sit where nobody cannot reach it: copy it out.
    let bin = scratch("ipft");
    if !bin.exists() {
        std::fs::copy(IPFT, &bin).unwrap();
    }
    let script = "mount -t tmpfs none /sys/kernel/btf && [ -z \"$(ls /sys/kernel/btf)\" ] && \
                  exec setpriv --reuid 65534 --regid 65534 --clear-groups -- \"$@\"";
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(&bin)
        .arg("--read")
        .arg(file)
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

const NEEDS: &[Need] = &[
    Need::Root,
    Need::Btf,
    Need::Tool("clang-19"),
    Need::Tool("unshare"),
    Need::Tool("setpriv"),
];

/// Marked UDP (with a payload the extension's `len` shows), TCP and ICMP.
fn mixed_traffic(pair: &NetPair, mark: u32) -> impl FnOnce() + Send + 'static {
    let b = pair.addr_b;
    move || {
        common::send_udp(SocketAddrV4::new(b, 9999), mark, 4, 100);
        common::send_icmp_echo(b, mark, 0x1f7, 2);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn root_recorded_trace_reads_back_exactly_without_privileges() {
    if !common::require(
        "root_recorded_trace_reads_back_exactly_without_privileges",
        NEEDS,
    ) {
        return;
    }
    let _serial = common::serial();
    let ext = common::example_extension("all_printers.bpf.c");
    let mark = 0x5eed0f01u32;
    let pair = NetPair::new();
    for output in ["json", "aggregate"] {
        let file = scratch(&format!("trace-{output}.ipft"));
        let (live, _) = common::trace_while(
            &[
                "-b",
                "tracepoint",
                "-m",
                &mark.to_string(),
                "-o",
                output,
                "-e",
                ext.to_str().unwrap(),
                "-w",
                file.to_str().unwrap(),
                "--snaplen",
                "96",
            ],
            &pair.a,
            mixed_traffic(&pair, mark),
        );
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        let events = live.lines().filter(|l| l.contains("len")).count();
        assert!(events >= 6, "{output}: too few events to compare:\n{live}");
        let (again, err, code) = read_unprivileged(&file, &["-o", output]);
        assert_eq!(code, 0, "{output}: --read failed: {err}");
        assert_eq!(err, "", "{output}: --read said something");
        let (live_lines, read_lines): (Vec<&str>, Vec<&str>) =
            (live.lines().collect(), again.lines().collect());
        assert_eq!(live_lines.len(), read_lines.len(), "{output}: line counts");
        for (i, (a, b)) in live_lines.iter().zip(&read_lines).enumerate() {
            assert_eq!(a, b, "{output}: line {i} differs");
        }
        if output == "json" {
            // The same file renders as the other format too, and filters apply.
            let (agg, _, code) = read(&["--read", file.to_str().unwrap()]);
            assert_eq!(code, 0);
            assert!(
                agg.contains("net_dev_start_xmit") && agg.contains("( len: "),
                "{agg}"
            );
            let (only, _, _) = read(&[
                "--read",
                file.to_str().unwrap(),
                "-o",
                "json",
                "-r",
                "^net_dev_start_xmit$",
            ]);
            let functions: Vec<String> = common::json_events(&only)
                .iter()
                .map(|e| e["function"].as_str().unwrap().to_string())
                .collect();
            assert!(!functions.is_empty());
            assert!(
                functions.iter().all(|f| f == "net_dev_start_xmit"),
                "{functions:?}"
            );
            let (none, _, _) = read(&["--read", file.to_str().unwrap(), "-o", "json", "-m", "7"]);
            assert!(
                common::json_events(&none).is_empty(),
                "-m 7 matches no recorded packet"
            );
            let (wall, _, _) = read(&[
                "--read",
                file.to_str().unwrap(),
                "-o",
                "json",
                "--timestamp",
                "wall",
            ]);
            let first = &common::json_events(&wall)[0];
            let ts = first["timestamp"].as_str().expect("a wall-clock string");
            let year: i32 = ts[..4].parse().unwrap();
            assert!(ts.ends_with('Z') && ts.len() == 30 && year >= 2024, "{ts}");
        }
    }
}

#[test]
fn root_pcapng_opens_in_tshark_with_ids_and_hooks() {
    let needs = [NEEDS, &[Need::Tool("tshark"), Need::Tool("capinfos")]].concat();
    if !common::require("root_pcapng_opens_in_tshark_with_ids_and_hooks", &needs) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x5eed0f02u32;
    let pair = NetPair::new();
    let file = scratch("pcap.ipft");
    let (live, _) = common::trace_while(
        &[
            "-b",
            "tracepoint",
            "-m",
            &mark.to_string(),
            "-o",
            "json",
            "-w",
            file.to_str().unwrap(),
            "--snaplen",
            "256",
        ],
        &pair.a,
        mixed_traffic(&pair, mark),
    );
    let events = common::json_events(&live);
    let snapshots = events.iter().filter(|e| e.get("packet").is_some()).count();
    assert!(snapshots >= 6, "{live}");

    // Live pcapng to a file, and the recorded file converted: both read by tshark.
    let live_pcap = scratch("live.pcapng");
    let shell = format!("exec \"$0\" \"$@\" > {}", live_pcap.display());
    let ipft = Ipft::start_with(
        "sh",
        &["-c", &shell, IPFT],
        &[
            "-b",
            "tracepoint",
            "-m",
            &mark.to_string(),
            "-o",
            "pcapng",
            "--snaplen",
            "128",
        ],
    );
    NetPair::in_ns(&pair.a, mixed_traffic(&pair, mark))
        .join()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (_, err, code) = ipft.stop();
    assert_eq!(code, 0, "{err}");

    let pcap = scratch("read.pcapng");
    let out = Command::new(IPFT)
        .args(["--read", file.to_str().unwrap(), "-o", "pcapng"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&pcap, &out.stdout).unwrap();

    for (path, want) in [(&pcap, Some(snapshots)), (&live_pcap, None)] {
        let fields = Command::new("tshark")
            .args([
                "-r",
                path.to_str().unwrap(),
                "-T",
                "fields",
                "-E",
                "separator=|",
            ])
            .args([
                "-e",
                "ip.src",
                "-e",
                "ip.dst",
                "-e",
                "udp.dstport",
                "-e",
                "icmp.type",
            ])
            .args(["-e", "_ws.col.Protocol", "-e", "frame.comment"])
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(
            fields.status.success(),
            "tshark failed on {}",
            path.display()
        );
        let text = String::from_utf8_lossy(&fields.stdout).into_owned();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
        if let Some(n) = want {
            assert_eq!(rows.len(), n, "one packet per snapshot:\n{text}");
        }
        let (a, b) = (pair.addr_a.to_string(), pair.addr_b.to_string());
        assert!(
            rows.iter().all(|r| r[0] == a && r[1] == b),
            "only the traffic sent:\n{text}"
        );
        assert!(
            rows.iter().any(|r| r[2] == "9999" && r[4] == "UDP"),
            "{text}"
        );
        assert!(rows.iter().any(|r| r[3] == "8" && r[4] == "ICMP"), "{text}");
        assert!(
            rows.iter()
                .all(|r| r[5].starts_with("ipft packet 0x") && r[5].contains("; path: ")),
            "comments carry ids and hooks:\n{text}"
        );
        let caps = Command::new("capinfos").arg(path).output().unwrap();
        let caps = String::from_utf8_lossy(&caps.stdout);
        assert!(caps.contains("nanoseconds (9)"), "{caps}");
    }
}

#[test]
fn root_sigkilled_recorder_leaves_a_readable_file() {
    if !common::require(
        "root_sigkilled_recorder_leaves_a_readable_file",
        &[Need::Root, Need::Btf],
    ) {
        return;
    }
    let _serial = common::serial();
    let mark = 0x5eed0f03u32;
    let pair = NetPair::new();
    let file = scratch("killed.ipft");
    let ipft = Ipft::start(&[
        "-b",
        "tracepoint",
        "-m",
        &mark.to_string(),
        "-o",
        "json",
        "-w",
        file.to_str().unwrap(),
    ]);
    let b = pair.addr_b;
    NetPair::in_ns(&pair.a, move || {
        let sock = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        common::set_mark(std::os::fd::AsRawFd::as_raw_fd(&sock), mark);
        let until = std::time::Instant::now() + Duration::from_millis(2500);
        while std::time::Instant::now() < until {
            let _ = sock.send_to(&[0x5a; 64], SocketAddrV4::new(b, 9999));
        }
    })
    .join()
    .unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(ipft.pid(), libc::SIGKILL) };
    let (_, _, code) = ipft.stop();
    assert_eq!(code, -1, "killed");
    let (out, err, code) = read(&["--read", file.to_str().unwrap(), "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.lines().count() <= 1, "at most a one-line note: {err}");
    let events = common::json_events(&out);
    assert!(
        events.len() > 100,
        "the frames written before the kill: {}",
        events.len()
    );
    // Recorded without --snaplen: pcapng has no packets to show, and says so.
    let out = Command::new(IPFT)
        .args(["--read", file.to_str().unwrap(), "-o", "pcapng"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("no packet snapshot") && err.contains("--snaplen"),
        "{err}"
    );
    // Cut inside its last frame, a file still reads up to the frame before.
    let bytes = std::fs::read(&file).unwrap();
    let cut = scratch("cut.ipft");
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    let (out, err, code) = read(&["--read", cut.to_str().unwrap(), "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("note: ") && err.contains("ends early"),
        "{err}"
    );
    assert!(!common::json_events(&out).is_empty());
}

#[test]
fn root_unwritable_events_file_fails_before_attaching() {
    if !common::require(
        "root_unwritable_events_file_fails_before_attaching",
        &[Need::Root, Need::Btf],
    ) {
        return;
    }
    let _serial = common::serial();
    let (_, err, code) = read(&[
        "-b",
        "tracepoint",
        "-m",
        "1",
        "-w",
        "/proc/no/such/dir/x.ipft",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot write the events file /proc/no/such/dir/x.ipft"),
        "{err}"
    );
    assert!(
        !err.contains("Attaching program"),
        "refused before attaching: {err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("ipft: ")).count(),
        1,
        "{err}"
    );
}

#[test]
fn bad_events_files_are_one_line_errors() {
    let dir = scratch("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "garbage",
            b"GET / HTTP/1.1\r\n\r\n",
            "is not an ipft events file",
        ),
        ("empty", b"", "is not an ipft events file"),
        (
            "newer",
            b"IPFT-EV\0\x09\0\0\0",
            "newer than this ipft reads",
        ),
        (
            "short-header",
            b"IPFT-EV\0\x01\0\0\0\x40\0\0\0\x28\xb5",
            "header is cut short",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (out, err, code) = read(&["--read", path.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}: {err}");
        assert_eq!(out, "", "{name}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.starts_with("ipft: ") && err.contains(needle),
            "{name}: {err}"
        );
    }
    let (_, err, code) = read(&["--read", "/no/such/file.ipft"]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    let (_, err, code) = read(&["--read", "x", "-w", "y"]);
    assert_eq!(code, 2, "{err}");
}
