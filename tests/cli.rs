//! The command line as a user meets it: help, version, and every usage error
//! (one line, exit status 2). Needs no privileges.

use std::process::{Command, Output};

fn ipft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipft"))
        .args(args)
        .output()
        .expect("run ipft")
}

fn usage_error(args: &[&str], needle: &str) {
    let out = ipft(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: one line, got {stderr:?}"
    );
    assert!(
        stderr.contains(needle),
        "{args:?}: {stderr:?} lacks {needle:?}"
    );
    assert!(out.stdout.is_empty());
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
    usage_error(&["-m", "junk"], "not a number");
    usage_error(&["-m", "0x1g"], "not a number");
    usage_error(&["-m", "4294967296"], "32 bits");
    usage_error(&["-m", "0"], "mark can't be zero");
    usage_error(&["-m", "1", "--mask", "0"], "mask can't be zero");
    usage_error(&[], "missing -m");
    usage_error(&["-m", "1", "-b", "nope"], "nope");
    usage_error(&["-m", "1", "-o", "xml"], "xml");
    usage_error(&["-m", "1", "--bogus"], "--bogus");
    usage_error(&["-m", "1", "-r", "("], "invalid -r/--regex");
    usage_error(
        &["-m", "1", "--module-regex", "[z-a]"],
        "invalid --module-regex",
    );
    usage_error(
        &["-m", "1", "-t", "function_graph", "-b", "tracepoint"],
        "-b ftrace",
    );
    usage_error(&["-m", "1", "--perf-page-count", "3"], "power of two");
    usage_error(&["-m", "1", "--perf-page-count", "0"], "power of two");
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
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
