//! # Program clones
//!
//! Tracing programs (tp_btf, fentry/fexit) are bound to one target at load
//! time, so ipft loads each template once through libbpf (CO-RE relocations,
//! map fds), then loads copies of its final instructions per target with the
//! raw `bpf_prog_load`, patching the probe-id placeholder in each copy.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use libbpf_rs::Object;
use libbpf_sys::bpf_insn;
use rayon::prelude::*;

use super::{pool, Attachment, Probe, Progress};
use crate::discover::Target;

/// Mirrors `IPFT_PROBE_ID_MAGIC` in `bpf/ipft_common.h`.
pub const PROBE_ID_MAGIC: i32 = 0x1bf7_c0de;
/// `BPF_ALU64 | BPF_MOV | BPF_K`: `rX = imm`.
const MOV64_IMM: u8 = 0xb7;

/// A copy of `insns` whose probe-id placeholder(s) carry `id`.
pub fn patch_probe_id(insns: &[bpf_insn], id: u32) -> Result<Vec<bpf_insn>> {
    let mut out = insns.to_vec();
    let mut patched = 0;
    for insn in out
        .iter_mut()
        .filter(|i| i.code == MOV64_IMM && i.imm == PROBE_ID_MAGIC)
    {
        insn.imm = id as i32;
        patched += 1;
    }
    if patched == 0 {
        bail!("BPF template has no probe id placeholder");
    }
    Ok(out)
}

/// What the kernel needs to bind a clone to its target.
pub struct CloneTarget<'a> {
    pub prog_name: &'a str,
    pub prog_type: libbpf_sys::bpf_prog_type,
    pub attach_type: libbpf_sys::bpf_attach_type,
    pub attach_btf_id: u32,
    pub attach_btf_obj_fd: Option<BorrowedFd<'a>>,
}

/// `EPERM: Operation not permitted` for a negative errno return.
pub fn errno_msg(rc: i32) -> String {
    let errno = rc.abs();
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        libc::ENOSPC => "ENOSPC",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        524 => return "ENOTSUPP: not supported by this kernel".to_string(),
        _ => return std::io::Error::from_raw_os_error(errno).to_string(),
    };
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    format!("{name}: {text}")
}

/// Loads `insns` as a new program; on failure with `want_log`, loads again
/// with the verifier log on and returns its last lines in the error.
pub fn load(target: &CloneTarget, insns: &[bpf_insn], want_log: bool) -> Result<OwnedFd> {
    let name = CString::new(target.prog_name).unwrap();
    let license = CString::new("GPL").unwrap();
    let try_load = |log: Option<&mut Vec<u8>>| {
        let mut opts = libbpf_sys::bpf_prog_load_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
            expected_attach_type: target.attach_type,
            attach_btf_id: target.attach_btf_id,
            attach_btf_obj_fd: target
                .attach_btf_obj_fd
                .map_or(0, |fd| fd.as_raw_fd() as u32),
            ..Default::default()
        };
        if let Some(buf) = log {
            opts.log_level = 1;
            opts.log_size = buf.len() as u32;
            opts.log_buf = buf.as_mut_ptr().cast();
        }
        // SAFETY: every pointer (name, license, insns, opts, log buffer)
        // outlives the call; libbpf reads them only during it.
        unsafe {
            libbpf_sys::bpf_prog_load(
                target.prog_type,
                name.as_ptr(),
                license.as_ptr(),
                insns.as_ptr(),
                insns.len() as _,
                &mut opts,
            )
        }
    };
    let fd = try_load(None);
    if fd >= 0 {
        // SAFETY: a fresh descriptor returned by the kernel; we own it.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    let mut msg = errno_msg(fd);
    if want_log {
        let mut buf = vec![0u8; 1 << 16];
        let fd2 = try_load(Some(&mut buf));
        if fd2 >= 0 {
            // SAFETY: as above; loaded on the retry, close it again.
            drop(unsafe { OwnedFd::from_raw_fd(fd2) });
        }
        let log = String::from_utf8_lossy(&buf);
        let log = log.trim_end_matches('\0').trim();
        let tail: Vec<&str> = log.lines().rev().take(3).collect();
        if !tail.is_empty() {
            msg.push_str(": ");
            msg.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join(" / "));
        }
    }
    bail!("load failed: {msg}")
}

/// Attaches a loaded tracing program (tp_btf, fentry, fexit) to its target.
pub fn attach_tracing(prog: BorrowedFd) -> Result<OwnedFd> {
    // SAFETY: prog is a valid program fd; a NULL name is allowed for BTF-typed programs.
    let fd = unsafe { libbpf_sys::bpf_raw_tracepoint_open(std::ptr::null(), prog.as_raw_fd()) };
    if fd < 0 {
        bail!("attach failed: {}", errno_msg(fd));
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Clones template `template(target, type)` of `obj` for every probe, as
/// `attach_types` (one program and link per type, e.g. fentry and fexit),
/// loading and attaching in parallel, each clone patched with its probe word
/// (`patch_id`; templates without the placeholder are loaded as they are).
pub fn clone_all(
    obj: &Object,
    probes: &[Probe],
    template: impl Fn(&Target, libbpf_sys::bpf_attach_type) -> String + Sync,
    attach_types: &[libbpf_sys::bpf_attach_type],
    patch_id: bool,
    progress: &Progress,
) -> Attachment {
    let want_log = log::log_enabled!(log::Level::Debug);
    let btf_fds = kernel_btf_fds(probes.iter().filter_map(|p| p.target.btf_obj.as_deref()));
    let insns_of = |name: &str| obj.progs().find(|p| p.name() == name).map(|p| p.insns());
    let attach_one = |probe: &Probe| -> Result<Vec<OwnedFd>> {
        let t = &probe.target;
        let btf_obj_fd = match &t.btf_obj {
            Some(m) => Some(
                btf_fds
                    .get(m)
                    .with_context(|| format!("no BTF object for module {m}"))?
                    .as_fd(),
            ),
            None => None,
        };
        let mut fds = Vec::with_capacity(2 * attach_types.len());
        for &attach_type in attach_types {
            let name = template(t, attach_type);
            let insns =
                insns_of(&name).with_context(|| format!("template {name} was not loaded"))?;
            let insns = if patch_id {
                patch_probe_id(insns, probe.word)?
            } else {
                insns.to_vec()
            };
            let spec = CloneTarget {
                prog_name: &name,
                prog_type: libbpf_sys::BPF_PROG_TYPE_TRACING,
                attach_type,
                attach_btf_id: t.btf_id,
                attach_btf_obj_fd: btf_obj_fd,
            };
            let prog = load(&spec, &insns, want_log)?;
            let link = attach_tracing(prog.as_fd())?;
            fds.extend([link, prog]);
        }
        Ok(fds)
    };
    let results: Vec<Result<Vec<OwnedFd>>> = pool().install(|| {
        probes
            .par_iter()
            .map(|p| {
                let r = attach_one(p);
                progress.record(p, r.is_ok());
                r
            })
            .collect()
    });
    collect(probes, results)
}

/// Gathers per-probe results into an attachment, keeping failures by name.
pub fn collect<C: IntoIterator<Item = OwnedFd>>(
    probes: &[Probe],
    results: Vec<Result<C>>,
) -> Attachment {
    let mut attachment = Attachment::default();
    for (p, r) in probes.iter().zip(results) {
        match r {
            Ok(fds) => attachment.fds.extend(fds),
            Err(e) => attachment
                .failures
                .push((p.target.name.clone(), format!("{e:#}"))),
        }
    }
    attachment
}

/// File descriptors of the kernel's module BTF objects named in `names`.
pub fn kernel_btf_fds<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, OwnedFd> {
    let wanted: std::collections::HashSet<&str> = names.collect();
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return out;
    }
    let mut id = 0u32;
    loop {
        let mut next = 0u32;
        // SAFETY: plain syscall wrapper writing into `next`.
        if unsafe { libbpf_sys::bpf_btf_get_next_id(id, &mut next) } != 0 {
            break;
        }
        id = next;
        // SAFETY: plain syscall wrapper; the fd is checked.
        let raw = unsafe { libbpf_sys::bpf_btf_get_fd_by_id(id) };
        if raw < 0 {
            continue;
        }
        // SAFETY: a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut name = [0u8; 64];
        let mut info = libbpf_sys::bpf_btf_info {
            name: name.as_mut_ptr() as u64,
            name_len: name.len() as u32,
            ..Default::default()
        };
        let mut len = std::mem::size_of_val(&info) as u32;
        // SAFETY: info and name outlive the call; len is info's size.
        let rc = unsafe { libbpf_sys::bpf_btf_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) };
        if rc != 0 || info.kernel_btf == 0 {
            continue;
        }
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let name = String::from_utf8_lossy(&name[..end]).into_owned();
        if wanted.contains(name.as_str()) {
            out.insert(name, fd);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u8, imm: i32) -> bpf_insn {
        bpf_insn {
            code,
            imm,
            ..Default::default()
        }
    }

    #[test]
    fn patches_only_the_placeholder() {
        let insns = [
            insn(0xb7, 5),
            insn(0xb7, PROBE_ID_MAGIC),
            insn(0x18, PROBE_ID_MAGIC),
            insn(0x95, 0),
        ];
        let out = patch_probe_id(&insns, 42).unwrap();
        assert_eq!(
            out.iter().map(|i| i.imm).collect::<Vec<_>>(),
            [5, 42, PROBE_ID_MAGIC, 0]
        );
        assert!(patch_probe_id(&insns[..1], 1).is_err());
    }
}
