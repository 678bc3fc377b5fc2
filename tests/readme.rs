//! Every `ipft` command line the README shows, in a `sh` code block or in
//! the first column of a table, runs as written (issue 15 item 1): a stale
//! example fails here. They run in README order in one scratch directory
//! (so `-w trace.ipft` makes the file a later `--read trace.ipft` reads),
//! inside a private network namespace with an `eth0` (a veth) and a named
//! namespace `web`, through `sh` so pipes and redirections work; a trace is
//! stopped with SIGINT once ready. Root tier: skipped without root.

mod common;

use std::io::Read as _;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{require, Need};

/// The command lines, in order: `sudo` dropped, comments cut, `\|` unescaped.
fn readme_commands(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        let candidate = if in_sh {
            // A `#` starts a comment only after a space (not in '^ip_' or 0x#).
            let line = line.split(" # ").next().unwrap_or(line);
            line.split("  #").next().unwrap_or(line).trim().to_string()
        } else if let Some(cell) = line.strip_prefix("| `") {
            let end = cell.find("` |").unwrap_or(0);
            cell[..end].replace("\\|", "|")
        } else {
            continue;
        };
        let command = candidate.strip_prefix("sudo ").unwrap_or(&candidate).trim();
        if command.starts_with("ipft ") {
            out.push(command.to_string());
        }
    }
    out
}

#[test]
fn the_readme_commands_are_found() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let commands = readme_commands(&readme);
    assert!(commands.len() >= 20, "{commands:#?}");
    assert!(commands.contains(&"ipft --read trace.ipft -o pcapng | tshark -r -".to_string()));
    assert!(commands.contains(&"ipft -m 1 -r '^(ip_|net_dev)'".to_string()));
    assert!(commands.iter().all(|c| !c.contains(" # ")), "{commands:#?}");
}

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Names the README uses that must exist: removed again on drop.
struct Fixtures {
    netns: String,
    made_web: bool,
}

impl Fixtures {
    fn new() -> Fixtures {
        let netns = format!("ipft-readme-{}", std::process::id());
        assert!(sh(&["ip", "netns", "add", &netns]));
        assert!(sh(&["ip", "-n", &netns, "link", "set", "lo", "up"]));
        assert!(sh(&[
            "ip", "-n", &netns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"
        ]));
        assert!(sh(&["ip", "-n", &netns, "link", "set", "eth0", "up"]));
        let made_web = !Path::new("/run/netns/web").exists() && sh(&["ip", "netns", "add", "web"]);
        Fixtures { netns, made_web }
    }
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        sh(&["ip", "netns", "del", &self.netns]);
        if self.made_web {
            sh(&["ip", "netns", "del", "web"]);
        }
    }
}

/// The ipft processes of process group `pgid`.
fn ipft_pids(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // pid (comm) state ppid pgrp ...
            let Some((comm, rest)) = stat.split_once(") ") else {
                return false;
            };
            comm.ends_with("(ipft") && rest.split_whitespace().nth(2) == Some(&pgid.to_string())
        })
        .collect()
}

/// Runs `line` in `dir` inside the namespace; a live trace gets SIGINT once
/// ready. Returns (exit status, stderr).
fn run(line: &str, dir: &Path, bin_dir: &Path, netns: &str) -> (Option<i32>, String) {
    let live = !["--read", "-l", "--gen", "--help", "--emit-object"]
        .iter()
        .any(|flag| line.split_whitespace().any(|w| w == *flag));
    let err_path = dir.join(".stderr");
    let err = std::fs::File::create(&err_path).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns, "sh", "-c", line])
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut signalled = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let ready = std::fs::read_to_string(&err_path).is_ok_and(|e| e.contains("Trace ready!"));
        if live && ready && !signalled {
            std::thread::sleep(Duration::from_millis(300));
            // Ctrl-C for ipft alone: the shell then ends as the pipeline does.
            for pid in ipft_pids(pgid) {
                // SAFETY: signalling a process of the group we made.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            signalled = true;
        }
        if Instant::now() > deadline {
            // SAFETY: as above.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    let _ = std::fs::File::open(&err_path).and_then(|mut f| f.read_to_string(&mut stderr));
    (status.code(), stderr)
}

#[test]
fn root_every_readme_command_runs_as_written() {
    let needs = [
        Need::Root,
        Need::Btf,
        Need::Tool("ip"),
        Need::Tool("tshark"),
        Need::Tool("jq"),
    ];
    if !require("root_every_readme_command_runs_as_written", &needs) {
        return;
    }
    let _serial = common::serial();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme");
    let _ = std::fs::remove_dir_all(&dir);
    let bin_dir = dir.join(".bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(common::IPFT, bin_dir.join("ipft")).unwrap();
    let fixtures = Fixtures::new();
    // The extension the record section uses before the extension section makes it.
    let skeleton = Command::new(common::IPFT)
        .args(["--gen", "bpf-module-skeleton"])
        .output()
        .unwrap();
    std::fs::write(dir.join("ext.bpf.c"), skeleton.stdout).unwrap();
    let mut failures = Vec::new();
    for line in readme_commands(&readme) {
        let (code, stderr) = run(&line, &dir, &bin_dir, &fixtures.netns);
        if code != Some(0) {
            failures.push(format!("{line}\n  exit {code:?}: {}", stderr.trim()));
        }
    }
    assert!(
        failures.is_empty(),
        "README commands that fail:\n{}",
        failures.join("\n")
    );
}
