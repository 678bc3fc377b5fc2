//! Shared helpers for ipft's integration tests: skip-with-reason gates, a
//! pair of network namespaces joined by veth (removed on drop), marked
//! traffic senders that run inside a namespace, and a runner that starts
//! the real `ipft` binary, waits for `Trace ready!` and stops it with SIGINT.

#![allow(dead_code)]

use std::ffi::CString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const IPFT: &str = env!("CARGO_BIN_EXE_ipft");

/// Root tests attach to the same kernel; run them one at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone, Copy)]
pub enum Need {
    Root,
    Btf,
    Tool(&'static str),
}

/// Returns false (after printing why) when a need is missing. With
/// `IPFT_TEST_STRICT=1` a missing need fails the test instead.
#[track_caller]
pub fn require(test: &str, needs: &[Need]) -> bool {
    for need in needs {
        let missing = match need {
            // SAFETY: geteuid has no preconditions.
            Need::Root if unsafe { libc::geteuid() } != 0 => Some("needs root".to_string()),
            Need::Btf if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() => {
                Some("needs kernel BTF (/sys/kernel/btf/vmlinux)".to_string())
            }
            Need::Tool(tool)
                if Command::new(tool)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_err() =>
            {
                Some(format!("needs the {tool} command"))
            }
            _ => None,
        };
        if let Some(why) = missing {
            if std::env::var("IPFT_TEST_STRICT").as_deref() == Ok("1") {
                panic!("{test}: {why} (IPFT_TEST_STRICT=1)");
            }
            // libtest captures eprintln!, not direct writes to the handle.
            let _ = writeln!(std::io::stderr().lock(), "SKIP {test}: {why}");
            return false;
        }
    }
    true
}

/// Runs a command (no shell), feeding `stdin`; panics with its stderr if it fails.
pub fn sh(args: &[&str], stdin: Option<&str>) {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

static NEXT_NET: AtomicU32 = AtomicU32::new(0);

/// Two namespaces, `a` (sender, 10.x.y.1) and `b` (receiver, 10.x.y.2),
/// joined by a veth pair. Dropping it deletes both namespaces.
pub struct NetPair {
    pub a: String,
    pub b: String,
    pub addr_a: Ipv4Addr,
    pub addr_b: Ipv4Addr,
}

impl NetPair {
    pub fn new() -> NetPair {
        let n = NEXT_NET.fetch_add(1, Ordering::SeqCst);
        let id = std::process::id() % 200 + 20;
        let (a, b) = (format!("ipftA{id}x{n}"), format!("ipftB{id}x{n}"));
        let pair = NetPair {
            a: a.clone(),
            b: b.clone(),
            addr_a: Ipv4Addr::new(10, id as u8, n as u8, 1),
            addr_b: Ipv4Addr::new(10, id as u8, n as u8, 2),
        };
        sh(&["ip", "netns", "add", &a], None);
        sh(&["ip", "netns", "add", &b], None);
        sh(
            &[
                "ip", "link", "add", "vA", "netns", &a, "type", "veth", "peer", "name", "vB",
                "netns", &b,
            ],
            None,
        );
        sh(
            &[
                "ip",
                "-n",
                &a,
                "addr",
                "add",
                &format!("{}/24", pair.addr_a),
                "dev",
                "vA",
            ],
            None,
        );
        sh(
            &[
                "ip",
                "-n",
                &b,
                "addr",
                "add",
                &format!("{}/24", pair.addr_b),
                "dev",
                "vB",
            ],
            None,
        );
        for (ns, dev) in [(&a, "vA"), (&b, "vB")] {
            sh(&["ip", "-n", ns, "link", "set", dev, "up"], None);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"], None);
        }
        pair
    }

    /// Gives both ends IPv6 addresses too (no duplicate address detection,
    /// so they work at once): (address in `a`, address in `b`).
    pub fn add_ipv6(&self) -> (std::net::Ipv6Addr, std::net::Ipv6Addr) {
        let [_, id, n, _] = self.addr_a.octets();
        let prefix = format!("fd00:{id:x}:{n:x}::");
        for (ns, dev, host) in [(&self.a, "vA", 1), (&self.b, "vB", 2)] {
            sh(
                &[
                    "ip",
                    "-n",
                    ns,
                    "-6",
                    "addr",
                    "add",
                    &format!("{prefix}{host}/64"),
                    "dev",
                    dev,
                    "nodad",
                ],
                None,
            );
        }
        (
            format!("{prefix}1").parse().unwrap(),
            format!("{prefix}2").parse().unwrap(),
        )
    }

    /// Marks packets entering `b` from `a` that match `selector` (nft syntax,
    /// e.g. `udp dport 9999`): crossing into a namespace clears skb->mark.
    pub fn mark_ingress(&self, selectors: &[&str], mark: u32) {
        let rules: String = selectors
            .iter()
            .map(|s| format!("  ip saddr {} {s} meta mark set {mark:#x}\n", self.addr_a))
            .collect();
        let ruleset = format!(
            "table netdev ipft_test {{\n chain in {{\n  type filter hook ingress device \"vB\" priority 0;\n{rules} }}\n}}\n"
        );
        sh(
            &["ip", "netns", "exec", &self.b, "nft", "-f", "-"],
            Some(&ruleset),
        );
    }

    /// Runs `f` on a thread that has joined namespace `ns`.
    pub fn in_ns<T: Send + 'static>(
        ns: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/var/run/netns/{ns}");
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            // SAFETY: a valid netns fd; affects only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

pub fn set_mark(fd: i32, mark: u32) {
    // SAFETY: fd is an open socket; the option value is a valid u32.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_MARK,
            (&mark as *const u32).cast(),
            4,
        )
    };
    assert_eq!(rc, 0, "SO_MARK: {}", std::io::Error::last_os_error());
}

/// Sends `count` UDP datagrams of `len` bytes with `mark` (0: unmarked).
pub fn send_udp(to: SocketAddrV4, mark: u32, count: usize, len: usize) {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    if mark != 0 {
        set_mark(sock.as_raw_fd(), mark);
    }
    for _ in 0..count {
        sock.send_to(&vec![0x5a; len], to).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `count` UDP datagrams of `len` bytes to an IPv6 address.
pub fn send_udp6(to: std::net::SocketAddrV6, count: usize, len: usize) {
    let sock = UdpSocket::bind("[::]:0").unwrap();
    for _ in 0..count {
        sock.send_to(&vec![0x5a; len], to).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A TCP connection with `mark` that sends `data` and closes.
pub fn send_tcp(to: SocketAddrV4, mark: u32, data: &[u8]) {
    // SAFETY: plain socket creation; the fd is checked and then owned by TcpStream.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0);
    if mark != 0 {
        set_mark(fd, mark);
    }
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*to.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sa is a valid sockaddr_in of the given length.
    let rc = unsafe {
        libc::connect(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of_val(&sa) as u32,
        )
    };
    assert_eq!(rc, 0, "connect {to}: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a connected socket we own from here on.
    let mut stream = unsafe { <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    stream.write_all(data).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sends `count` ICMP echo requests with echo id `id` and `mark` over a raw socket.
pub fn send_icmp_echo(to: Ipv4Addr, mark: u32, id: u16, count: u16) {
    // SAFETY: plain socket creation; checked below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    if mark != 0 {
        set_mark(fd, mark);
    }
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(to).to_be(),
        },
        sin_zero: [0; 8],
    };
    for seq in 0..count {
        let mut pkt = vec![
            8u8,
            0,
            0,
            0,
            (id >> 8) as u8,
            id as u8,
            (seq >> 8) as u8,
            seq as u8,
        ];
        pkt.extend([0xab; 32]);
        let sum = checksum(&pkt);
        pkt[2..4].copy_from_slice(&sum.to_be_bytes());
        // SAFETY: pkt and sa are valid for the call.
        let rc = unsafe {
            libc::sendto(
                fd,
                pkt.as_ptr().cast(),
                pkt.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                16,
            )
        };
        assert!(rc > 0, "sendto: {}", std::io::Error::last_os_error());
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
}

/// A UDP sink that drains datagrams until the returned sender is dropped.
pub fn udp_sink(port: u16) -> UdpSocket {
    let sock = UdpSocket::bind(("0.0.0.0", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    sock
}

/// A TCP server in the current namespace that reads each connection to the end.
pub fn tcp_sink(port: u16, stop_after: usize) {
    let listener = TcpListener::bind(("0.0.0.0", port)).unwrap();
    for conn in listener.incoming().take(stop_after) {
        let mut conn = conn.unwrap();
        let mut buf = Vec::new();
        let _ = conn.read_to_end(&mut buf);
    }
}

/// A running ipft.
pub struct Ipft {
    child: Child,
    stderr_lines: mpsc::Receiver<String>,
    stdout: Option<std::thread::JoinHandle<()>>,
    live: std::sync::Arc<Mutex<String>>,
    pub stderr: Vec<String>,
}

impl Ipft {
    /// Starts ipft and waits for `Trace ready!` (panics with its stderr if
    /// it exits or does not get ready within a minute).
    pub fn start(args: &[&str]) -> Ipft {
        Self::start_with(IPFT, &[], args)
    }

    /// Starts `program prefix… args…` (e.g. a namespace wrapper around ipft).
    pub fn start_with(program: &str, prefix: &[&str], args: &[&str]) -> Ipft {
        Self::start_gated(program, prefix, args, None)
    }

    /// Starts ipft with nobody reading its stdout until `gate` gets a
    /// message (or its sender is dropped): a reader that stalls.
    pub fn start_stalled(args: &[&str], gate: mpsc::Receiver<()>) -> Ipft {
        Self::start_gated(IPFT, &[], args, Some(gate))
    }

    fn start_gated(
        program: &str,
        prefix: &[&str],
        args: &[&str],
        gate: Option<mpsc::Receiver<()>>,
    ) -> Ipft {
        let mut child = Command::new(program)
            .args(prefix)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ipft");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let out = child.stdout.take().unwrap();
        let live = std::sync::Arc::new(Mutex::new(String::new()));
        let sink = live.clone();
        let stdout = std::thread::spawn(move || {
            if let Some(gate) = gate {
                let _ = gate.recv();
            }
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut ipft = Ipft {
            child,
            stderr_lines: rx,
            stdout: Some(stdout),
            live,
            stderr: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match ipft.stderr_lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    let ready = line.contains("Trace ready!");
                    ipft.stderr.push(line);
                    if ready {
                        return ipft;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = ipft.child.try_wait() {
                        panic!(
                            "ipft exited ({status}) before ready:\n{}",
                            ipft.stderr.join("\n")
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = ipft.child.wait().unwrap();
                    panic!(
                        "ipft exited ({status}) before ready:\n{}",
                        ipft.stderr.join("\n")
                    );
                }
            }
        }
        let _ = ipft.child.kill();
        panic!("ipft not ready after 60s:\n{}", ipft.stderr.join("\n"));
    }

    /// What ipft has written to stdout so far.
    pub fn stdout_so_far(&self) -> String {
        self.live.lock().unwrap().clone()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `sig` and waits for the exit (stdout read to its end).
    pub fn end(mut self, sig: i32) -> std::process::ExitStatus {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
        self.stdout.take().unwrap().join().unwrap();
        self.child.wait().unwrap()
    }

    /// SIGINT, then wait; returns (stdout, stderr, exit code).
    pub fn stop(mut self) -> (String, String, i32) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.stdout.take().unwrap().join().unwrap();
        let stdout = self.live.lock().unwrap().clone();
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_secs(5)) {
            self.stderr.push(line);
        }
        (stdout, self.stderr.join("\n"), status.code().unwrap_or(-1))
    }
}

impl Drop for Ipft {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CLOCK_MONOTONIC in ns, the clock of the events' timestamps.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// clang for BPF: $BPF_CLANG, clang-19 or clang.
pub fn bpf_clang() -> Option<String> {
    let candidates = std::env::var("BPF_CLANG")
        .into_iter()
        .chain(["clang-19".to_string(), "clang".to_string()]);
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Compiles a BPF C file the way an extension author would (`-target bpf
/// -O2 -g`, libbpf's and ipft's headers) into the test's scratch directory.
pub fn compile_bpf(src: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let clang = bpf_clang().ok_or("no clang")?;
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{}.{}.o",
        src.file_stem().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let output = Command::new(clang)
        .args(["-target", "bpf", "-O2", "-g", "-c"])
        .arg("-I")
        .arg(format!("{root}/vendor/libbpf"))
        .arg("-I")
        .arg(format!("{root}/headers"))
        .args(["-idirafter", "/usr/include/x86_64-linux-gnu"])
        .arg(src)
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(out)
}

/// Compiles one of the shipped example extensions in tests/extensions/.
pub fn example_extension(name: &str) -> std::path::PathBuf {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/extensions")
        .join(name);
    compile_bpf(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()))
}

/// Runs ipft with `args` while `send` runs in namespace `ns`, gives queued
/// packets a moment, stops ipft and checks it exited 0: (stdout, stderr).
pub fn trace_while(
    args: &[&str],
    ns: &str,
    send: impl FnOnce() + Send + 'static,
) -> (String, String) {
    let ipft = Ipft::start(args);
    NetPair::in_ns(ns, send).join().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (stdout, stderr, code) = ipft.stop();
    assert_eq!(code, 0, "ipft failed: {stderr}");
    (stdout, stderr)
}

/// The event lines of ipft's JSON output (records such as `lost_events` skipped).
pub fn json_events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}"))
        })
        .filter(|v| v.get("function").is_some())
        .collect()
}
