//! # Detaching in the background
//!
//! Tearing hooks down is the kernel's slowest work (each kprobe, trampoline
//! and kprobe-multi link waits for RCU grace periods), and until it is done
//! the terminal would be blocked although every event has been printed. So,
//! once the output is complete, ipft hands its hooks to a helper process and
//! exits: the helper (this binary again, started with [`HELPER_ARG`]) holds
//! the links' file descriptors, closes them all, many at a time, and exits.
//!
//! Nothing can stay attached: a hook lives exactly as long as some process
//! holds its descriptor, and the helper only ever closes them; if it dies,
//! the kernel closes them for it. ipft's own closes are cheap, as the
//! helper still holds each hook. `--wait-detach` keeps ipft until the
//! kernel has finished (scripts that check right after exit).

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::attach::Attachment;

/// The hidden first argument that makes ipft the detach helper.
pub const HELPER_ARG: &str = "--detach-helper";

/// Where the hooks went.
pub enum Detached {
    /// The kernel has removed every hook.
    Done,
    /// A helper removes them: its pid.
    Background { pid: u32 },
}

/// Detaches `attachment`: in a helper unless `wait`, or if the helper cannot
/// start (then here, and the reason is logged).
pub fn detach(attachment: Attachment, wait: bool) -> Detached {
    if wait || attachment.is_empty() {
        attachment.detach();
        return Detached::Done;
    }
    match hand_over(&attachment) {
        Ok(pid) => {
            let fds = attachment.fd_count();
            // Our copies only: the helper holds every hook.
            drop(attachment);
            log::debug!("detaching {fds} descriptors in the background: helper pid {pid}");
            Detached::Background { pid }
        }
        Err(e) => {
            log::debug!("detaching here: {e:#}");
            attachment.detach();
            Detached::Done
        }
    }
}

/// Starts the helper with every descriptor of `attachment` inherited.
fn hand_over(attachment: &Attachment) -> Result<u32> {
    let fds: Vec<RawFd> = attachment
        .links
        .iter()
        .map(|l| l.as_fd().as_raw_fd())
        .chain(attachment.fds.iter().map(|f| f.as_raw_fd()))
        .collect();
    for &fd in &fds {
        // Inherited across exec: clear close-on-exec. No other thread forks
        // now, so nothing else can inherit them.
        rustix::io::fcntl_setfd(
            // SAFETY: fd is owned by `attachment`, alive for this borrow.
            unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
            rustix::io::FdFlags::empty(),
        )
        .context("cannot hand the hooks to a helper (fcntl)")?;
    }
    let list = fds
        .iter()
        .map(|fd| fd.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0("ipft")
        .arg(HELPER_ARG)
        .arg(list)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe; it only leaves the terminal's
    // process group, so a second Ctrl-C there does not reach the helper.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .context("cannot start the detach helper (/proc/self/exe)")?;
    Ok(child.id())
}

/// Closes every descriptor above stdio that is not in `keep` (sorted): ipft
/// may have inherited some without close-on-exec (a parent's pipe), and
/// holding one would keep its reader waiting for the teardown.
fn close_others(keep: &[RawFd]) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let open: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in open {
        if fd > 2 && keep.binary_search(&fd).is_err() {
            // SAFETY: not one of the hooks; the directory's own descriptor is
            // closed already (read_dir finished), so this closes a stray.
            unsafe { libc::close(fd) };
        }
    }
}

/// The helper's whole life: close the descriptors named in `list` (the
/// argument after [`HELPER_ARG`]), many at a time, and return.
pub fn helper(list: &str) -> std::process::ExitCode {
    let mut numbers = Vec::new();
    for item in list.split(',').filter(|s| !s.is_empty()) {
        match item.parse::<RawFd>() {
            Ok(fd) if fd > 2 => numbers.push(fd),
            _ => return std::process::ExitCode::from(2),
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    close_others(&numbers);
    let fds = numbers
        .into_iter()
        // SAFETY: F_GETFD only asks whether `fd` is open.
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
        // SAFETY: inherited from ipft for this process to own and close.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    Attachment {
        fds,
        ..Default::default()
    }
    .detach();
    std::process::ExitCode::SUCCESS
}
