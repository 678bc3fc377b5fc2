//! # Preflight
//!
//! Checks made before any BPF work, each ending in one clear error or note:
//! privileges, kernel BTF, resource limits. Which attach mechanisms the
//! kernel accepts is each backend's own probe (`attach/`).

use std::path::Path;

use anyhow::{bail, Result};

use crate::discover::VMLINUX_BTF;

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// ipft needs root, or CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN).
pub fn check_privileges() -> Result<()> {
    let caps = effective_caps();
    let has = |c: u32| caps & (1 << c) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    bail!("tracing needs root (or CAP_BPF and CAP_PERFMON) to load BPF programs and read kernel addresses: run ipft with sudo")
}

pub fn check_btf() -> Result<()> {
    if Path::new(VMLINUX_BTF).exists() {
        return Ok(());
    }
    bail!("kernel BTF not found at {VMLINUX_BTF}: ipft needs a kernel built with CONFIG_DEBUG_INFO_BTF=y")
}

/// Raises RLIMIT_NOFILE to its hard limit (every attached hook holds file
/// descriptors) and tries RLIMIT_MEMLOCK; the latter only matters before
/// Linux 5.11 and fails without CAP_SYS_RESOURCE, so failure is a note.
pub fn raise_rlimits() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid out-parameter.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 && lim.rlim_cur < lim.rlim_max
    {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: lim is a valid in-parameter.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            log::warn!(
                "could not raise the open-file limit: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    let inf = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: inf is a valid in-parameter.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &inf) } != 0 {
        log::debug!(
            "note: could not raise RLIMIT_MEMLOCK ({}); fine on Linux 5.11+, which accounts BPF memory to the cgroup",
            std::io::Error::last_os_error()
        );
    }
}

/// `(major, minor)` of a kernel release string such as `6.1.0-31-amd64`.
fn release_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Whether the running kernel is at least `major.minor` (false if unknown).
pub fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    release_version(release.trim()).is_some_and(|v| v >= (major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(release_version("6.1.0-31-amd64"), Some((6, 1)));
        assert_eq!(release_version("6.12.117+deb12-amd64"), Some((6, 12)));
        assert_eq!(release_version("5.17"), Some((5, 17)));
        assert_eq!(release_version("garbage"), None);
    }
}
