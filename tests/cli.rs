//! The command line as a user meets it: help, version, every usage error
//! (exit status 2: ipft's own in one line, clap's whole), repeated options
//! and `--emit-object -`. Needs no privileges.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ipft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipft"))
        .args(args)
        .output()
        .expect("run ipft")
}

/// A usage error: exit status 2, nothing on stdout, `ipft: ` first, one
/// pointer to `--help`, never a second prefix; returns stderr.
#[track_caller]
fn usage_error_text(args: &[&str]) -> String {
    let out = ipft(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout written");
    assert!(stderr.starts_with("ipft: "), "{args:?}: {stderr:?}");
    assert!(!stderr.starts_with("ipft: ipft"), "{args:?}: {stderr:?}");
    assert!(!stderr.contains("error:"), "{args:?}: {stderr:?}");
    assert_eq!(stderr.matches("--help").count(), 1, "{args:?}: {stderr:?}");
    assert!(!stderr.ends_with("\n\n"), "{args:?}: {stderr:?}");
    stderr
}

/// A usage error that ipft itself words: one line that contains `needle`.
#[track_caller]
fn usage_error(args: &[&str], needle: &str) {
    let stderr = usage_error_text(args);
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: one line, got {stderr:?}"
    );
    assert!(
        stderr.contains(needle),
        "{args:?}: {stderr:?} lacks {needle:?}"
    );
}

/// A usage error found by clap: its whole message, which contains every
/// one of `needles`.
#[track_caller]
fn clap_error(args: &[&str], needles: &[&str]) {
    let stderr = usage_error_text(args);
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} lacks {needle:?}"
        );
    }
}

#[test]
fn help_goes_to_stdout_and_exits_zero() {
    for flag in ["-h", "--help"] {
        let out = ipft(&[flag]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        for option in [
            "--backend",
            "--list",
            "--mark",
            "--mask",
            "--regex",
            "--module-regex",
            "--output",
            "--tracer",
            "--verbose",
            "--perf-page-count",
            "--perf-sample-period",
            "--perf-wakeup-events",
            "--backlog",
            "--no-set-rlimit",
            "--enable-probe-server",
            "--probe-server-port",
        ] {
            assert!(text.contains(option), "{flag}: {option} missing from help");
        }
        assert!(!text.contains("--transport"), "internal flags stay hidden");
    }
}

#[test]
fn version_names_the_libraries_inside() {
    let out = ipft(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("ipft "), "{text}");
    assert!(text.contains("libbpf 1."), "{text}");
    assert!(text.contains("clang/LLVM 19."), "{text}");
}

#[test]
fn usage_errors_are_one_line_with_status_two() {
    usage_error(&["-m", "0"], "mark can't be zero");
    usage_error(&["-m", "1", "--mask", "0"], "mask can't be zero");
    usage_error(&[], "nothing selects packets");
    usage_error(&["-m", "1", "-r", "("], "invalid -r/--regex");
    usage_error(
        &["-m", "1", "--module-regex", "[z-a]"],
        "invalid --module-regex",
    );
    usage_error(
        &["-m", "1", "-t", "function_graph", "-b", "tracepoint"],
        "-b ftrace",
    );
}

#[test]
fn clap_usage_errors_keep_the_whole_message() {
    // The missing argument is named, with clap's usage line.
    clap_error(
        &["--emit-object", "x.o"],
        &[
            "required arguments were not provided",
            "--extension <PATH>",
            "Usage: ipft",
        ],
    );
    // Possible values and the nearest one.
    clap_error(
        &["-m", "1", "-o", "jsno"],
        &[
            "'jsno'",
            "[possible values: aggregate, json, pcapng]",
            "'json'",
        ],
    );
    clap_error(
        &["-m", "1", "-b", "nope"],
        &["'nope'", "kprobe, kprobe-multi, ftrace, tracepoint"],
    );
    // "Did you mean".
    clap_error(
        &["--marc", "1"],
        &["'--marc'", "similar argument exists: '--mark'"],
    );
    clap_error(&["-m", "1", "--bogus"], &["'--bogus'"]);
    clap_error(&["-m", "junk"], &["'junk' is not a number", "--mark"]);
    clap_error(&["-m", "0x1g"], &["not a number"]);
    clap_error(&["-m", "4294967296"], &["32 bits"]);
    clap_error(&["--read", "t", "-l"], &["cannot be used with"]);
}

#[test]
fn range_errors_say_the_real_range() {
    for (args, range) in [
        (
            &["--idle-timeout", "0"][..],
            "greater than 0 and less than 86400",
        ),
        (
            &["--idle-timeout", "86400"],
            "greater than 0 and less than 86400",
        ),
        (
            &["--idle-timeout", "nan"],
            "greater than 0 and less than 86400",
        ),
        (&["--snaplen", "2049"], "from 0 to 2048"),
        (&["--compile-timeout", "0"], "from 1 to 3600"),
        (&["--compile-memory", "255"], "from 256 to 1048576"),
        (&["--perf-page-count", "3"], "power of two from 1 to 65536"),
        (&["--perf-page-count", "0"], "power of two from 1 to 65536"),
        (
            &["--perf-page-count", "131072"],
            "power of two from 1 to 65536",
        ),
        (
            &["--perf-sample-period", "0"],
            "from 1 to 18446744073709551615",
        ),
        (&["--perf-wakeup-events", "0"], "from 1 to 4294967295"),
        (&["--backlog", "65537"], "from 0 to 65536"),
        (&["--backlog", "1x"], "from 0 to 65536"),
        (&["--track-map-size", "0"], "from 1 to 4294967295"),
        (&["--track-map-size", "4294967296"], "from 1 to 4294967295"),
        (&["--probe-server-port", "0"], "from 1 to 65535"),
        (&["--probe-server-port", "65536"], "from 1 to 65535"),
    ] {
        let mut all = vec!["-m", "1"];
        all.extend_from_slice(args);
        let option = format!("'{} <", args[0]);
        clap_error(&all, &[&option, range]);
        assert!(!usage_error_text(&all).contains("between 0 and"), "{all:?}");
    }
}

fn gso_source() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/extensions/gso.bpf.c"
    ))
}

#[track_caller]
fn assert_elf(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        out.stdout.starts_with(b"\x7fELF"),
        "not an ELF object on stdout: {stderr}"
    );
}

#[test]
fn repeated_options_take_the_last_value() {
    // The last -m wins: 0 is refused, 1 after it is fine.
    usage_error(&["-m", "1", "-m", "0"], "mark can't be zero");
    usage_error(
        &["-m", "1", "--mask", "0xff", "--mask", "0"],
        "mask can't be zero",
    );
    // The last -o/-t/-b: no complaint about pcapng or function_graph left.
    usage_error(
        &[
            "-m",
            "1",
            "-o",
            "pcapng",
            "-o",
            "json",
            "-t",
            "function_graph",
            "-b",
            "ftrace",
            "-b",
            "kprobe",
        ],
        "not -b kprobe",
    );
    // The last -e and --emit-object: a missing file first, stdout last.
    let out = ipft(&[
        "-e",
        "/nonexistent/ext.bpf.c",
        "-e",
        gso_source().to_str().unwrap(),
        "--emit-object",
        "/nonexistent/ext.o",
        "--emit-object",
        "-",
    ]);
    assert_elf(&out);
    // -v is a flag: given twice it is the same flag.
    let out = ipft(&["-v", "-v", "--gen", "bpf-module-header"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn emit_object_dash_writes_to_stdout() {
    let out = Command::new(env!("CARGO_BIN_EXE_ipft"))
        .arg("-e")
        .arg(gso_source())
        .args(["--emit-object", "-"])
        .output()
        .expect("run ipft");
    assert_elf(&out);
    assert!(!Path::new("-").exists(), "no file named -");
}

#[test]
fn emit_object_dash_to_a_closed_pipe_is_fine() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipft"))
        .arg("-e")
        .arg(gso_source())
        .args(["--emit-object", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ipft");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn emit_object_dash_refuses_a_terminal() {
    // SAFETY: plain libc calls on a descriptor this test owns; ptsname's
    // static buffer is copied before any other call.
    let tty = unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(master))
            .to_string_lossy()
            .into_owned();
        (master, name)
    };
    let (master, name) = tty;
    let slave = std::fs::OpenOptions::new()
        .write(true)
        .open(&name)
        .expect("open the pty");
    let out = Command::new(env!("CARGO_BIN_EXE_ipft"))
        .arg("-e")
        .arg(gso_source())
        .args(["--emit-object", "-"])
        .stdout(slave)
        .output()
        .expect("run ipft");
    // SAFETY: master is ours and closed once.
    unsafe { libc::close(master) };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("ipft: --emit-object - "), "{stderr}");
    assert!(stderr.contains("terminal"), "{stderr}");
}

#[test]
fn unprivileged_user_gets_one_clear_line() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !root || !setpriv {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIP unprivileged_user_gets_one_clear_line: needs root and setpriv to drop to nobody"
        );
        return;
    }
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_ipft"))
        .args(["-m", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("needs root"), "{stderr}");
    assert!(!stderr.contains("ipft: ipft"), "no stutter: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
