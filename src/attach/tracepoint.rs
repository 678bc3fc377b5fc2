//! # Tracepoint backend
//!
//! BTF tracepoints (`tp_btf`) whose arguments include an skb. Works where
//! kprobes and trampolines are unavailable. One template per skb position
//! (`bpf/tracepoint.bpf.c`), loaded against the first tracepoint of that
//! position, then cloned for every tracepoint with its `btf_trace_<name>`
//! id and its probe id. Events show the tracepoint's category as the module
//! and the tracepoint's name as the function.

use std::os::fd::AsFd;

use anyhow::{Context, Result};
use libbpf_rs::{Object, OpenObject};
use rayon::prelude::*;

use super::clone::{self, CloneTarget};
use super::{Attachment, Backend, Progress};
use crate::cli::BackendKind;
use crate::discover::{btf::MAX_CTX_ARGS, Target};
use crate::load::embedded;

pub struct Tracepoint;

fn template_name(pos: u32) -> String {
    format!("ipft_tp{pos}")
}

impl Backend for Tracepoint {
    fn kind(&self) -> BackendKind {
        BackendKind::Tracepoint
    }

    fn object(&self) -> &'static [u8] {
        embedded::TRACEPOINT
    }

    fn prepare(&self, open: &mut OpenObject, targets: &[Target]) -> Result<()> {
        for mut prog in open.progs_mut() {
            let name = prog.name().to_string_lossy().into_owned();
            let Some(pos) = name
                .strip_prefix("ipft_tp")
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            match targets.iter().find(|t| t.skb.pos == pos) {
                Some(first) => prog
                    .set_attach_target(0, Some(first.name.clone()))
                    .with_context(|| {
                        format!("failed to aim {name} at tracepoint {}", first.name)
                    })?,
                None => prog.set_autoload(false),
            }
        }
        Ok(())
    }

    fn attach(&self, obj: &Object, targets: &[Target], progress: &Progress) -> Attachment {
        let want_log = log::log_enabled!(log::Level::Debug);
        let btf_fds = clone::kernel_btf_fds(targets.iter().filter_map(|t| t.btf_obj.as_deref()));
        let templates: Vec<Option<&[libbpf_sys::bpf_insn]>> = (0..MAX_CTX_ARGS)
            .map(|pos| {
                let name = template_name(pos);
                obj.progs()
                    .find(|p| p.name() == name.as_str())
                    .map(|p| p.insns())
            })
            .collect();
        let results: Vec<Result<[std::os::fd::OwnedFd; 2]>> = targets
            .par_iter()
            .enumerate()
            .map(|(id, t)| {
                let result = (|| {
                    let insns = templates[t.skb.pos as usize].context("no template loaded")?;
                    let insns = clone::patch_probe_id(insns, id as u32)?;
                    let btf_obj_fd = match &t.btf_obj {
                        Some(m) => Some(
                            btf_fds
                                .get(m)
                                .with_context(|| format!("no BTF object for module {m}"))?
                                .as_fd(),
                        ),
                        None => None,
                    };
                    let spec = CloneTarget {
                        prog_name: &template_name(t.skb.pos),
                        prog_type: libbpf_sys::BPF_PROG_TYPE_TRACING,
                        attach_type: libbpf_sys::BPF_TRACE_RAW_TP,
                        attach_btf_id: t.btf_id,
                        attach_btf_obj_fd: btf_obj_fd,
                    };
                    let prog = clone::load(&spec, &insns, want_log)?;
                    let link = clone::attach_tracing(prog.as_fd())?;
                    Ok([prog, link])
                })();
                progress.record(result.is_ok());
                result
            })
            .collect();
        let mut attachment = Attachment::default();
        for (t, r) in targets.iter().zip(results) {
            match r {
                Ok(fds) => attachment.fds.extend(fds),
                Err(e) => attachment.failures.push((t.name.clone(), format!("{e:#}"))),
            }
        }
        attachment
    }
}
