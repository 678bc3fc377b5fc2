//! # Tracepoint backend
//!
//! BTF tracepoints (`tp_btf`) whose arguments include an skb. Works where
//! kprobes and trampolines are unavailable. One template per skb position
//! (`bpf/tracepoint.bpf.c`), loaded against the first tracepoint of that
//! position, then cloned for every tracepoint with its `btf_trace_<name>`
//! id and its probe word. Events show the tracepoint's category as the
//! module and the tracepoint's name as the function. While tracking, a
//! program on `kmem_cache_free` also ends packets whose skb is freed on a
//! path without an skb tracepoint, and programs on `kmem_cache_free` and
//! `kfree` end packets whose data buffer is freed (the skb struct may be
//! recycled with no hook seeing it).

use anyhow::Result;
use libbpf_rs::{Object, OpenObject};

use super::{clone, set_template_targets, Attachment, Backend, Probe, Progress};
use crate::cli::BackendKind;
use crate::discover::ArgAccess;
use crate::load::embedded;

/// How this backend reads the skb argument: the tracepoint's arguments.
pub const ACCESS: ArgAccess = ArgAccess::TracepointCtx;

pub struct Tracepoint {
    pub track: bool,
}

const PREFIX: &str = "ipft_tp";
const SLAB_FREE: &str = "ipft_slab_free";
const HEAD_FREE: &str = "ipft_head_free";

impl Backend for Tracepoint {
    fn kind(&self) -> BackendKind {
        BackendKind::Tracepoint
    }

    fn object(&self) -> &'static [u8] {
        embedded::TRACEPOINT
    }

    fn prepare(&self, open: &mut OpenObject, probes: &[Probe], _clones: &[Probe]) -> Result<()> {
        set_template_targets(open, probes, &[PREFIX])?;
        for mut prog in open.progs_mut() {
            if prog.name() == SLAB_FREE || prog.name() == HEAD_FREE {
                prog.set_autoload(self.track);
            }
        }
        Ok(())
    }

    fn attach(&self, obj: &mut Object, probes: &[Probe], progress: &Progress) -> Attachment {
        let mut attachment = clone::clone_all(
            obj,
            probes,
            |t, _| format!("{PREFIX}{}", t.skb.pos),
            &[libbpf_sys::BPF_TRACE_RAW_TP],
            true,
            progress,
        );
        if self.track {
            // After the clones: on a shared tracepoint, programs run in attach order.
            match obj.progs_mut().find(|p| p.name() == SLAB_FREE).map(|p| p.attach()) {
                Some(Ok(link)) => attachment.links.push(link),
                Some(Err(e)) => log::warn!("cannot watch kmem_cache_free for freed packets ({e}): finished packets end after --idle-timeout"),
                None => {}
            }
            match obj.progs_mut().find(|p| p.name() == HEAD_FREE).map(|p| p.attach()) {
                Some(Ok(link)) => attachment.links.push(link),
                Some(Err(e)) => log::warn!("cannot watch kfree for freed packet buffers ({e}): a recycled skb may be taken for its predecessor until --idle-timeout"),
                None => {}
            }
        }
        attachment
    }

    fn free_points(&self) -> &'static [&'static str] {
        &["kfree_skb", "consume_skb"]
    }
}
