//! # Tracepoint backend
//!
//! BTF tracepoints (`tp_btf`) whose arguments include an skb. Works where
//! kprobes and trampolines are unavailable. One template per skb position
//! (`bpf/tracepoint.bpf.c`), loaded against the first tracepoint of that
//! position, then cloned for every tracepoint with its `btf_trace_<name>`
//! id and its probe id. Events show the tracepoint's category as the module
//! and the tracepoint's name as the function.

use anyhow::Result;
use libbpf_rs::{Object, OpenObject};

use super::{clone, set_template_targets, Attachment, Backend, Progress};
use crate::cli::BackendKind;
use crate::discover::Target;
use crate::load::embedded;

pub struct Tracepoint;

const PREFIX: &str = "ipft_tp";

impl Backend for Tracepoint {
    fn kind(&self) -> BackendKind {
        BackendKind::Tracepoint
    }

    fn object(&self) -> &'static [u8] {
        embedded::TRACEPOINT
    }

    fn prepare(&self, open: &mut OpenObject, targets: &[Target]) -> Result<()> {
        set_template_targets(open, targets, &[PREFIX])
    }

    fn attach(&self, obj: &Object, targets: &[Target], progress: &Progress) -> Attachment {
        clone::clone_all(
            obj,
            targets,
            |t, _| format!("{PREFIX}{}", t.skb.pos),
            &[libbpf_sys::BPF_TRACE_RAW_TP],
            progress,
        )
    }
}
