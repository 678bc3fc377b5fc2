//! # kprobe-multi backend
//!
//! Two links for every traced function (Linux 5.18+): attaching and
//! detaching thousands of functions takes well under a second. Each
//! function's probe word rides along as its cookie, with the skb's argument
//! position in the upper half. Functions taking the skb first that are no
//! clone point (most) have a link and program of their own, which tests the
//! skb before it looks the cookie up: most hits end there, and the rest go
//! on in the other program by a tail call (one copy of the trace body).
//! The kernel refuses a whole link for one bad address (ESRCH and friends),
//! so a refused batch is split in halves until the offenders are isolated
//! and dropped; errors that are not about one function fail the batch.

use std::borrow::Borrow;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::Result;
use libbpf_rs::{Object, OpenObject};

use super::clone::{self, errno_msg};
use super::{enable_clone_programs, Attachment, Backend, Probe, Progress, CLONE_EXIT};
use crate::cli::BackendKind;
use crate::discover::{ArgAccess, Target};
use crate::load::embedded;

/// How this backend reads the skb argument: registers at the function entry.
pub const ACCESS: ArgAccess = ArgAccess::Registers;

/// Whether the kernel takes kprobe-multi links (5.18+, CONFIG_FPROBE): an
/// empty program on `func` (a vmlinux skb function), detached at once. By
/// its kallsyms address when there is one: by name, the kernel walks every
/// kernel symbol to find it.
pub fn probe(kprobes: &Result<(), String>, func: Option<&Target>) -> Result<(), String> {
    kprobes.clone()?;
    let func = func.ok_or("no traceable skb function to probe kprobe-multi with")?;
    let (symbol, addr) = (func.name.as_str(), func.addr);
    let target = clone::CloneTarget {
        prog_name: "ipft_probe",
        prog_type: libbpf_sys::BPF_PROG_TYPE_KPROBE,
        attach_type: libbpf_sys::BPF_TRACE_KPROBE_MULTI,
        attach_btf_id: 0,
        attach_btf_obj_fd: None,
    };
    let prog = clone::load(&target, &super::empty_program(), false)
        .map_err(|e| format!("kprobe-multi refused ({e:#})"))?;
    let started = std::time::Instant::now();
    let sym = std::ffi::CString::new(symbol).map_err(|e| e.to_string())?;
    let mut syms = [sym.as_ptr()];
    let addrs = [addr as libc::c_ulong];
    let mut opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.kprobe_multi =
        libbpf_sys::bpf_link_create_opts__bindgen_ty_1__bindgen_ty_2 {
            cnt: 1,
            ..Default::default()
        };
    if addr != 0 {
        opts.__bindgen_anon_1.kprobe_multi.addrs = addrs.as_ptr();
    } else {
        opts.__bindgen_anon_1.kprobe_multi.syms = syms.as_mut_ptr();
    }
    // SAFETY: prog is valid; opts and the symbol and address arrays outlive the call.
    let fd = unsafe {
        libbpf_sys::bpf_link_create(
            prog.as_fd().as_raw_fd(),
            0,
            libbpf_sys::BPF_TRACE_KPROBE_MULTI,
            &opts,
        )
    };
    if fd < 0 {
        return Err(format!("kprobe-multi unavailable ({})", errno_msg(fd)));
    }
    log::debug!(
        "kprobe-multi probe on {symbol}: linked in {:.3}s",
        started.elapsed().as_secs_f64()
    );
    // SAFETY: a fresh link fd we own; dropping it detaches the probe again.
    let link = unsafe { OwnedFd::from_raw_fd(fd) };
    // Detaching waits for the kernel (RCU grace periods): up to 0.2 s under
    // emulation, while loading the programs has nothing to wait for.
    let closer = std::thread::Builder::new()
        .name("ipft-probe-close".into())
        .spawn(move || drop(link));
    if let Err(e) = closer {
        log::debug!("the kprobe-multi probe is detached in turn: no thread could start ({e})");
    }
    Ok(())
}

pub struct KprobeMulti {
    /// The kernel has `bpf_rdonly_cast` (Linux 6.2+): load the object that
    /// reads skb and device fields with loads, not helper calls.
    pub read_by_cast: bool,
}

/// The program of the traced functions that `FIRST_PROGRAM` does not take
/// (`bpf/kprobe_multi.bpf.c`).
const PROGRAM: &str = "ipft_kmulti";
/// The program of the functions taking the skb first that are no clone
/// point: it tests the skb, and tail-calls `PROGRAM` for what may be an event.
const FIRST_PROGRAM: &str = "ipft_kmulti_first";
/// The program array `FIRST_PROGRAM` tail-calls through: `PROGRAM` in slot 0.
const TAIL_MAP: &str = "ipft_kmulti_rest";

/// Does `probe` go on `FIRST_PROGRAM`'s link?
fn skb_first(probe: &Probe) -> bool {
    probe.target.skb.pos == 0 && probe.word & super::PROBE_CLONE == 0
}

/// Puts `PROGRAM` into `FIRST_PROGRAM`'s tail-call slot; the reason if not.
fn fill_tail_call(obj: &Object) -> Result<(), String> {
    use libbpf_rs::MapCore;

    let rest = obj
        .progs()
        .find(|p| p.name() == PROGRAM)
        .ok_or_else(|| format!("program {PROGRAM} not loaded"))?;
    let map = obj
        .maps()
        .find(|m| m.name() == TAIL_MAP)
        .ok_or_else(|| format!("map {TAIL_MAP} missing"))?;
    let fd = rest.as_fd().as_raw_fd() as u32;
    map.update(
        &0u32.to_ne_bytes(),
        &fd.to_ne_bytes(),
        libbpf_rs::MapFlags::ANY,
    )
    .map_err(|e| format!("cannot fill {TAIL_MAP}: {e}"))
}

/// A probe's cookie: its probe word, and the skb's position above (what
/// `ipft_kmulti` switches on).
fn cookie(probe: &Probe) -> u64 {
    probe.word as u64 | (probe.target.skb.pos as u64) << 32
}

/// The BPF side's copy of the cookies by address (`ipft_kmulti_cookies`).
const COOKIE_SECTION: &str = ".data.kmulti";
const COOKIE_SLOTS: usize = 8192;

/// Mirrors `ipft_kmulti_slot_of` in `bpf/kprobe_multi.bpf.c`.
fn cookie_slot(addr: u64) -> usize {
    (((addr >> 4) ^ (addr >> 17)) as usize) & (COOKIE_SLOTS - 1)
}

/// Fills the cookie table: (address, cookie) pairs, 16 bytes per slot, in a
/// function's own slot or else its neighbour (`slot ^ 1`, what the program
/// looks at next); a probe finding both taken is found by the kernel.
fn fill_cookie_table(table: &mut [u8], probes: &[Probe]) -> usize {
    let mut filled = 0;
    for probe in probes.iter().filter(|p| p.target.addr != 0) {
        let own = cookie_slot(probe.target.addr);
        for at in [own, own ^ 1].map(|i| i * 16) {
            let Some(slot) = table.get_mut(at..at + 16) else {
                continue;
            };
            if slot[..8] != [0; 8] {
                continue;
            }
            slot[..8].copy_from_slice(&probe.target.addr.to_ne_bytes());
            slot[8..].copy_from_slice(&cookie(probe).to_ne_bytes());
            filled += 1;
            break;
        }
    }
    filled
}

/// Creates one kprobe-multi link (`flags`: `BPF_F_KPROBE_MULTI_RETURN` for
/// return probes); `Err(errno)` on failure.
fn link(prog: BorrowedFd, addrs: &[u64], cookies: &[u64], flags: u32) -> Result<OwnedFd, i32> {
    let addrs: Vec<libc::c_ulong> = addrs.iter().map(|&a| a as libc::c_ulong).collect();
    let mut opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.kprobe_multi =
        libbpf_sys::bpf_link_create_opts__bindgen_ty_1__bindgen_ty_2 {
            cnt: addrs.len() as u32,
            addrs: addrs.as_ptr(),
            cookies: cookies.as_ptr(),
            flags,
            ..Default::default()
        };
    // SAFETY: prog is a loaded kprobe program; addrs, cookies and opts
    // outlive the call.
    let fd = unsafe {
        libbpf_sys::bpf_link_create(
            prog.as_raw_fd(),
            0,
            libbpf_sys::BPF_TRACE_KPROBE_MULTI,
            &opts,
        )
    };
    if fd < 0 {
        return Err(fd);
    }
    // SAFETY: a fresh link fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Errors that can come from a single function in the batch.
fn per_function_error(errno: i32) -> bool {
    matches!(
        errno.abs(),
        libc::ESRCH | libc::EINVAL | libc::ENOENT | libc::EADDRNOTAVAIL | libc::EBUSY
    )
}

fn attach_batch<P: Borrow<Probe>>(
    prog: BorrowedFd,
    batch: &[P],
    flags: u32,
    att: &mut Attachment,
    progress: &Progress,
) {
    let addrs: Vec<u64> = batch.iter().map(|p| p.borrow().target.addr).collect();
    let cookies: Vec<u64> = batch.iter().map(|p| cookie(p.borrow())).collect();
    match link(prog, &addrs, &cookies, flags) {
        Ok(fd) => {
            att.fds.push(fd);
            batch.iter().for_each(|p| progress.record(p.borrow(), true));
        }
        Err(errno) if batch.len() > 1 && per_function_error(errno) => {
            let (a, b) = batch.split_at(batch.len() / 2);
            attach_batch(prog, a, flags, att, progress);
            attach_batch(prog, b, flags, att, progress);
        }
        Err(errno) => {
            for p in batch {
                let p = p.borrow();
                let why = format!("kprobe-multi link failed: {}", errno_msg(errno));
                att.failures.push((p.target.name.clone(), why));
                progress.record(p, false);
            }
        }
    }
}

impl Backend for KprobeMulti {
    fn kind(&self) -> BackendKind {
        BackendKind::KprobeMulti
    }

    fn object(&self) -> &'static [u8] {
        if self.read_by_cast {
            embedded::KPROBE_MULTI_CAST
        } else {
            embedded::KPROBE_MULTI
        }
    }

    fn plain_object(&self) -> Option<&'static [u8]> {
        self.read_by_cast.then_some(embedded::KPROBE_MULTI)
    }

    fn prepare(&self, open: &mut OpenObject, probes: &[Probe], clones: &[Probe]) -> Result<()> {
        for mut prog in open.progs_mut() {
            if prog.name() == PROGRAM {
                // Also the rest of FIRST_PROGRAM's hits.
                prog.set_autoload(!probes.is_empty());
            } else if prog.name() == FIRST_PROGRAM {
                prog.set_autoload(probes.iter().any(skb_first));
            }
        }
        log::debug!(
            "kprobe-multi: skb fields are read {}",
            if self.read_by_cast {
                "through bpf_rdonly_cast"
            } else {
                "with bpf_probe_read_kernel"
            }
        );
        if let Some(mut map) = open
            .maps_mut()
            .find(|m| m.name().to_string_lossy().ends_with(COOKIE_SECTION))
        {
            if let Some(table) = map.initial_value_mut() {
                let filled = fill_cookie_table(table, probes);
                log::debug!(
                    "{filled} of {} kprobe-multi cookies found by address in the programs",
                    probes.len()
                );
            }
        }
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
        let progress = Progress::hidden();
        // The entries ride on the traced link (PROBE_CLONE).
        for (name, flags) in [(CLONE_EXIT, libbpf_sys::BPF_F_KPROBE_MULTI_RETURN)] {
            match obj.progs().find(|p| p.name() == name) {
                Some(prog) => attach_batch(prog.as_fd(), clones, flags, &mut att, &progress),
                None => att
                    .failures
                    .push((name.to_string(), "program not loaded".to_string())),
            }
        }
        att
    }

    fn free_points(&self) -> &'static [&'static str] {
        super::FUNCTION_FREE_POINTS
    }

    fn attach(&self, obj: &mut Object, probes: &[Probe], progress: &Progress) -> Attachment {
        let mut att = Attachment::default();
        let (first, rest): (Vec<&Probe>, Vec<&Probe>) = probes.iter().partition(|p| skb_first(p));
        for (name, batch) in [(FIRST_PROGRAM, first), (PROGRAM, rest)] {
            if batch.is_empty() {
                continue;
            }
            let fail = |why: String, att: &mut Attachment| {
                for p in &batch {
                    progress.record(p, false);
                    att.failures.push((p.target.name.clone(), why.clone()));
                }
            };
            let Some(prog) = obj.progs().find(|p| p.name() == name) else {
                fail(format!("program {name} not loaded"), &mut att);
                continue;
            };
            if name == FIRST_PROGRAM {
                if let Err(why) = fill_tail_call(obj) {
                    fail(why, &mut att);
                    continue;
                }
            }
            attach_batch(prog.as_fd(), &batch, 0, &mut att, progress);
        }
        att
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(addr: u64, pos: u32, word: u32) -> Probe {
        Probe {
            target: Target::test_function(&format!("f{addr:x}"), "vmlinux", addr, pos),
            word,
        }
    }

    /// The cookie the program finds for `addr`, looking as it does.
    fn lookup(table: &[u8], addr: u64) -> Option<u64> {
        let word = |i: usize| u64::from_ne_bytes(table[i..i + 8].try_into().unwrap());
        let own = cookie_slot(addr);
        [own, own ^ 1]
            .map(|i| i * 16)
            .into_iter()
            .find(|&at| word(at) == addr)
            .map(|at| word(at + 8))
    }

    #[test]
    fn skb_first_functions_that_are_no_clone_point_get_the_first_link() {
        use crate::attach::{PROBE_CLONE, PROBE_FORGET, PROBE_SILENT};
        assert!(skb_first(&probe(0x10, 0, 3)));
        assert!(skb_first(&probe(0x20, 0, 3 | PROBE_FORGET)));
        assert!(skb_first(&probe(0x30, 0, 3 | PROBE_FORGET | PROBE_SILENT)));
        assert!(
            !skb_first(&probe(0x40, 0, 3 | PROBE_CLONE)),
            "a clone point's entry runs for every skb"
        );
        assert!(!skb_first(&probe(0x50, 1, 3)), "the skb is not first");
    }

    #[test]
    fn the_cookie_table_takes_two_per_slot_pair_then_leaves_the_kernel_to_it() {
        let mut table = vec![0u8; COOKIE_SLOTS * 16];
        let a = 0xffff_ffff_8100_0010;
        // Same slot as `a`: they differ from it in bits 30 and 31 only, above both
        // windows the hash reads.
        let (b, d) = (a + (1 << 30), a - (1 << 30));
        assert_eq!(
            cookie_slot(a),
            cookie_slot(b),
            "test addresses must collide"
        );
        assert_eq!(
            cookie_slot(a),
            cookie_slot(d),
            "test addresses must collide"
        );
        let c = a + 0x40;
        let probes = [
            probe(a, 0, 7),
            probe(b, 2, 8),
            probe(d, 1, 11),
            probe(c, 3, 9),
            probe(0, 1, 10),
        ];
        assert_eq!(fill_cookie_table(&mut table, &probes), 3);
        assert_eq!(lookup(&table, a), Some(7));
        assert_eq!(
            lookup(&table, b),
            Some(8 | 2 << 32),
            "in the neighbour slot"
        );
        assert_eq!(
            lookup(&table, d),
            None,
            "both slots taken: the kernel's search"
        );
        assert_eq!(lookup(&table, c), Some(9 | 3 << 32));
        let used = table
            .chunks(16)
            .filter(|s| s.iter().any(|&b| b != 0))
            .count();
        assert_eq!(used, 3, "no address, no entry");
    }
}
