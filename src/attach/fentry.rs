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

use super::{clone, set_template_targets, Attachment, Backend, Probe, Progress};
use crate::cli::{BackendKind, Tracer};
use crate::discover::Target;
use crate::load::embedded;

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

    fn prepare(&self, open: &mut OpenObject, probes: &[Probe]) -> Result<()> {
        set_template_targets(open, probes, self.prefixes())
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
        clone::clone_all(obj, probes, template, types, progress)
    }

    fn free_points(&self) -> &'static [&'static str] {
        &["kfree_skbmem"]
    }
}
