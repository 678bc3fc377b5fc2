//! # Preflight
//!
//! Checks made before any BPF work, each ending in one clear error or note:
//! privileges, kernel BTF, resource limits, and which attach mechanisms the
//! running kernel accepts (probed with tiny programs, never guessed from the
//! kernel version).

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{bail, Result};

use crate::attach::clone::{self, CloneTarget};
use crate::cli::BackendKind;
use crate::discover::{Discovery, VMLINUX_BTF};

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
    bail!("ipft needs root (or CAP_BPF and CAP_PERFMON) to load BPF programs and read kernel addresses: run it with sudo")
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

/// What the running kernel accepts, probed once.
#[derive(Debug)]
pub struct Features {
    pub kprobe: Result<(), String>,
    pub kprobe_multi: Result<(), String>,
    pub fentry: Result<(), String>,
    pub ringbuf: bool,
}

const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe/type";

/// `r0 = 0; exit`
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

fn empty_program() -> [libbpf_sys::bpf_insn; 2] {
    [
        libbpf_sys::bpf_insn {
            code: 0xb7,
            ..Default::default()
        },
        libbpf_sys::bpf_insn {
            code: 0x95,
            ..Default::default()
        },
    ]
}

fn probe_kprobe_multi(symbol: &str) -> Result<(), String> {
    let target = CloneTarget {
        prog_name: "ipft_probe",
        prog_type: libbpf_sys::BPF_PROG_TYPE_KPROBE,
        attach_type: libbpf_sys::BPF_TRACE_KPROBE_MULTI,
        attach_btf_id: 0,
        attach_btf_obj_fd: None,
    };
    let prog = clone::load(&target, &empty_program(), false)
        .map_err(|e| format!("kprobe-multi refused ({e:#})"))?;
    let sym = std::ffi::CString::new(symbol).unwrap();
    let mut syms = [sym.as_ptr()];
    let mut opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.kprobe_multi =
        libbpf_sys::bpf_link_create_opts__bindgen_ty_1__bindgen_ty_2 {
            cnt: 1,
            syms: syms.as_mut_ptr(),
            ..Default::default()
        };
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: prog is valid; opts and the symbol array outlive the call.
    let fd = unsafe {
        libbpf_sys::bpf_link_create(
            prog.as_fd().as_raw_fd(),
            0,
            libbpf_sys::BPF_TRACE_KPROBE_MULTI,
            &opts,
        )
    };
    if fd < 0 {
        return Err(format!(
            "kprobe-multi unavailable ({})",
            clone::errno_msg(fd)
        ));
    }
    // SAFETY: a fresh link fd we own; dropping it detaches the probe again.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(())
}

fn probe_fentry(btf_id: u32) -> Result<(), String> {
    let target = CloneTarget {
        prog_name: "ipft_probe",
        prog_type: libbpf_sys::BPF_PROG_TYPE_TRACING,
        attach_type: libbpf_sys::BPF_TRACE_FENTRY,
        attach_btf_id: btf_id,
        attach_btf_obj_fd: None,
    };
    clone::load(&target, &empty_program(), false)
        .map(drop)
        .map_err(|e| {
            let e = format!("{e:#}");
            let errno = e.rsplit("load failed: ").next().unwrap_or(&e).to_string();
            format!("fentry refused ({errno})")
        })
}

impl Features {
    pub fn probe(discovery: &Discovery) -> Features {
        let kprobe = if Path::new(KPROBE_PMU).exists() {
            Ok(())
        } else {
            Err("kprobes unavailable (no kprobe PMU: kernel without CONFIG_KPROBES?)".to_string())
        };
        let vmlinux_func = discovery.functions.iter().find(|t| t.btf_obj.is_none());
        let kprobe_multi = match (&kprobe, vmlinux_func) {
            (Err(e), _) => Err(e.clone()),
            (Ok(()), Some(f)) => probe_kprobe_multi(&f.name),
            (Ok(()), None) => Err("no traceable skb function to probe kprobe-multi with".into()),
        };
        let fentry = match vmlinux_func {
            Some(f) => probe_fentry(f.btf_id),
            None => Err("no traceable skb function to probe fentry with".into()),
        };
        // SAFETY: a plain feature probe with no pointers.
        let ringbuf = unsafe {
            libbpf_sys::libbpf_probe_bpf_map_type(
                libbpf_sys::BPF_MAP_TYPE_RINGBUF,
                std::ptr::null(),
            )
        } == 1;
        Features {
            kprobe,
            kprobe_multi,
            fentry,
            ringbuf,
        }
    }

    /// Why `kind` cannot be used here, or `None` if it can.
    pub fn unavailable(&self, kind: BackendKind) -> Option<String> {
        let r = match kind {
            BackendKind::Kprobe => &self.kprobe,
            BackendKind::KprobeMulti => &self.kprobe_multi,
            BackendKind::Ftrace => &self.fentry,
            BackendKind::Tracepoint => return None,
        };
        r.as_ref().err().cloned()
    }
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
