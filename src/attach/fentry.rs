//! # ftrace backend (fentry/fexit)
//!
//! BPF trampolines on every skb function, up to twelve argument slots,
//! module functions included (their BTF object goes with the load). A
//! trampoline program is bound to one function when it loads, so each
//! template (`bpf/fentry.bpf.c`) is loaded against one function of its slot
//! and then cloned per function. fexit is added only for `-t
//! function_graph` (ipftrace2 attached it for every tracer).

use anyhow::Result;
use libbpf_rs::{Object, OpenObject};

use super::{
    clone, set_template_targets, Attachment, Backend, Probe, Progress, CLONE_ENTRY, CLONE_EXIT,
};
use crate::cli::{BackendKind, Tracer};
use crate::discover::ArgAccess;
use crate::discover::Target;
use crate::load::embedded;

/// How this backend reads the skb argument: the trampoline's argument slots.
pub const ACCESS: ArgAccess = ArgAccess::Trampoline;

/// Whether the kernel loads fentry programs (trampolines, 5.5+; refused by
/// lockdown or where BPF trampolines are missing): an empty program against
/// `btf_id`, a vmlinux skb function.
pub fn probe(btf_id: Option<u32>) -> Result<(), String> {
    let btf_id = btf_id.ok_or("no traceable skb function to probe fentry with")?;
    let target = clone::CloneTarget {
        prog_name: "ipft_probe",
        prog_type: libbpf_sys::BPF_PROG_TYPE_TRACING,
        attach_type: libbpf_sys::BPF_TRACE_FENTRY,
        attach_btf_id: btf_id,
        attach_btf_obj_fd: None,
    };
    clone::load(&target, &super::empty_program(), false)
        .map(drop)
        .map_err(|e| {
            let e = format!("{e:#}");
            let errno = e.rsplit("load failed: ").next().unwrap_or(&e).to_string();
            format!("fentry refused ({errno})")
        })
}

pub struct Fentry {
    pub tracer: Tracer,
}

const ENTRY: &str = "ipft_fentry";
const EXIT: &str = "ipft_fexit";

impl Fentry {
    fn prefixes(&self) -> &'static [&'static str] {
        match self.tracer {
            Tracer::Function => &[ENTRY],
            Tracer::FunctionGraph => &[ENTRY, EXIT],
        }
    }
}

impl Backend for Fentry {
    fn kind(&self) -> BackendKind {
        BackendKind::Ftrace
    }

    fn object(&self) -> &'static [u8] {
        embedded::FENTRY
    }

    fn prepare(&self, open: &mut OpenObject, probes: &[Probe], clones: &[Probe]) -> Result<()> {
        set_template_targets(open, probes, self.prefixes())?;
        if let Some(first) = clones.first() {
            for mut prog in open.progs_mut() {
                if [CLONE_ENTRY, CLONE_EXIT].contains(&prog.name().to_string_lossy().as_ref()) {
                    prog.set_autoload(true);
                    prog.set_attach_target(0, Some(first.target.name.clone()))
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "failed to aim the clone programs at {}: {e}",
                                first.target.name
                            )
                        })?;
                }
            }
        }
        Ok(())
    }

    fn attach(&self, obj: &mut Object, probes: &[Probe], progress: &Progress) -> Attachment {
        let types: &[libbpf_sys::bpf_attach_type] = match self.tracer {
            Tracer::Function => &[libbpf_sys::BPF_TRACE_FENTRY],
            Tracer::FunctionGraph => &[libbpf_sys::BPF_TRACE_FENTRY, libbpf_sys::BPF_TRACE_FEXIT],
        };
        let template = |t: &Target, ty: libbpf_sys::bpf_attach_type| {
            let prefix = if ty == libbpf_sys::BPF_TRACE_FEXIT {
                EXIT
            } else {
                ENTRY
            };
            format!("{prefix}{}", t.skb.pos)
        };
        clone::clone_all(obj, probes, template, types, true, progress)
    }

    /// fexit reads the return value with bpf_get_func_ret (Linux 5.17).
    fn follows_clones(&self) -> bool {
        crate::preflight::kernel_at_least(5, 17)
    }

    fn attach_clones(&self, obj: &mut Object, clones: &[Probe]) -> Attachment {
        let template = |_: &Target, ty: libbpf_sys::bpf_attach_type| {
            if ty == libbpf_sys::BPF_TRACE_FEXIT {
                CLONE_EXIT.to_string()
            } else {
                CLONE_ENTRY.to_string()
            }
        };
        let types = [libbpf_sys::BPF_TRACE_FENTRY, libbpf_sys::BPF_TRACE_FEXIT];
        clone::clone_all(obj, clones, template, &types, false, &Progress::hidden())
    }

    fn free_points(&self) -> &'static [&'static str] {
        super::FUNCTION_FREE_POINTS
    }
}
