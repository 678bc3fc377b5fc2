//! # kprobe backend
//!
//! One kprobe per function through the kprobe PMU (perf_event_open) and a
//! BPF link carrying the function's probe id as its cookie (Linux 5.15+).
//! Registration and teardown each wait on the kernel, so both run on many
//! threads at once.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use libbpf_rs::{Object, OpenObject};
use rayon::prelude::*;

use super::clone::errno_msg;
use super::{
    clone, enable_clone_programs, enable_templates, pool, Attachment, Backend, Probe, Progress,
    CLONE_EXIT,
};
use crate::cli::BackendKind;
use crate::discover::ArgAccess;
use crate::discover::Target;
use crate::load::embedded;

/// How this backend reads the skb argument: registers at the function entry.
pub const ACCESS: ArgAccess = ArgAccess::Registers;

/// Whether the kernel has kprobes: their PMU is registered.
pub fn probe() -> Result<(), String> {
    if std::path::Path::new(KPROBE_PMU_TYPE).exists() {
        Ok(())
    } else {
        Err("kprobes unavailable (no kprobe PMU: kernel without CONFIG_KPROBES?)".to_string())
    }
}

pub struct Kprobe;

const PREFIX: &str = "ipft_kprobe";
/// `PERF_FLAG_FD_CLOEXEC` from linux/perf_event.h.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
const KPROBE_PMU_TYPE: &str = "/sys/bus/event_source/devices/kprobe/type";
/// Which `config` bit makes a kprobe PMU event a return probe (`config:0`).
const KPROBE_PMU_RETPROBE: &str = "/sys/bus/event_source/devices/kprobe/format/retprobe";

fn pmu_type() -> Result<u32> {
    let text = std::fs::read_to_string(KPROBE_PMU_TYPE).with_context(|| {
        format!("no kprobe PMU ({KPROBE_PMU_TYPE}): kernel without CONFIG_KPROBES?")
    })?;
    text.trim().parse().context("unreadable kprobe PMU type")
}

fn retprobe_config() -> u64 {
    let bit = std::fs::read_to_string(KPROBE_PMU_RETPROBE)
        .ok()
        .and_then(|s| s.trim().strip_prefix("config:")?.parse::<u32>().ok())
        .unwrap_or(0);
    1 << bit.min(63)
}

/// A kprobe on `target` running `prog` with `cookie`: (perf event, link).
/// `config` is 0, or [`retprobe_config`] for a return probe. By address when
/// kallsyms gave one: a name that two static functions share is refused
/// (EADDRNOTAVAIL), and the address is the function discovery looked at.
fn attach_one(
    pmu: u32,
    config: u64,
    prog: BorrowedFd,
    target: &Target,
    cookie: u64,
) -> Result<[OwnedFd; 2]> {
    let name = CString::new(target.name.as_str())?;
    let mut attr = libbpf_sys::perf_event_attr {
        type_: pmu,
        config,
        size: std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32,
        ..Default::default()
    };
    if target.addr != 0 {
        attr.__bindgen_anon_3.kprobe_func = 0;
        attr.__bindgen_anon_4.kprobe_addr = target.addr;
    } else {
        attr.__bindgen_anon_3.kprobe_func = name.as_ptr() as u64;
        attr.__bindgen_anon_4.probe_offset = 0;
    }
    // SAFETY: attr and the name it points to outlive the call.
    let pfd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const _,
            -1,
            0,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    } as i32;
    if pfd < 0 {
        bail!(
            "kprobe failed: {}",
            errno_msg(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        );
    }
    // SAFETY: a fresh perf event fd we own.
    let perf = unsafe { OwnedFd::from_raw_fd(pfd) };
    let mut opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.perf_event.bpf_cookie = cookie;
    // SAFETY: prog and perf are valid fds; opts outlives the call.
    let lfd = unsafe {
        libbpf_sys::bpf_link_create(
            prog.as_raw_fd(),
            perf.as_raw_fd(),
            libbpf_sys::BPF_PERF_EVENT,
            &opts,
        )
    };
    if lfd < 0 {
        bail!("link failed: {}", errno_msg(lfd));
    }
    // SAFETY: a fresh link fd we own.
    Ok([unsafe { OwnedFd::from_raw_fd(lfd) }, perf])
}

impl Backend for Kprobe {
    fn kind(&self) -> BackendKind {
        BackendKind::Kprobe
    }

    fn object(&self) -> &'static [u8] {
        embedded::KPROBE
    }

    fn prepare(&self, open: &mut OpenObject, probes: &[Probe], clones: &[Probe]) -> Result<()> {
        enable_templates(open, probes, PREFIX);
        enable_clone_programs(open, clones, true);
        Ok(())
    }

    fn follows_clones(&self) -> bool {
        true
    }

    fn shares_clone_entry(&self) -> bool {
        true
    }

    fn attach_clones(&self, obj: &mut Object, clones: &[Probe]) -> Attachment {
        let mut att = Attachment::default();
        let pmu = match pmu_type() {
            Ok(p) => p,
            Err(e) => {
                att.failures.push(("clone points".into(), format!("{e:#}")));
                return att;
            }
        };
        // The entries ride on the traced kprobes (PROBE_CLONE).
        for (name, config) in [(CLONE_EXIT, retprobe_config())] {
            let Some(prog) = obj.progs().find(|p| p.name() == name) else {
                att.failures
                    .push((name.into(), "program not loaded".into()));
                continue;
            };
            for c in clones {
                match attach_one(pmu, config, prog.as_fd(), &c.target, 0) {
                    Ok(fds) => att.fds.extend(fds),
                    Err(e) => att.failures.push((c.target.name.clone(), format!("{e:#}"))),
                }
            }
        }
        att
    }

    fn free_points(&self) -> &'static [&'static str] {
        super::FUNCTION_FREE_POINTS
    }

    fn attach(&self, obj: &mut Object, probes: &[Probe], progress: &Progress) -> Attachment {
        let pmu = match pmu_type() {
            Ok(p) => p,
            Err(e) => {
                let mut att = Attachment::default();
                att.failures.extend(
                    probes
                        .iter()
                        .map(|p| (p.target.name.clone(), format!("{e:#}"))),
                );
                return att;
            }
        };
        let progs: Vec<Option<i32>> = (0..crate::discover::btf::MAX_REG_ARGS)
            .map(|pos| {
                let name = format!("{PREFIX}{pos}");
                obj.progs()
                    .find(|p| p.name() == name.as_str())
                    .map(|p| p.as_fd().as_raw_fd())
            })
            .collect();
        let results: Vec<Result<[OwnedFd; 2]>> = pool().install(|| {
            probes
                .par_iter()
                .map(|p| {
                    let r = progs
                        .get(p.target.skb.pos as usize)
                        .copied()
                        .flatten()
                        .context("program not loaded")
                        // SAFETY: the fd belongs to a program of `obj`, which
                        // outlives this call.
                        .map(|fd| unsafe { BorrowedFd::borrow_raw(fd) })
                        .and_then(|prog| attach_one(pmu, 0, prog, &p.target, p.word as u64));
                    progress.record(p, r.is_ok());
                    r
                })
                .collect()
        });
        clone::collect(probes, results)
    }
}
