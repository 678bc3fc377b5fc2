//! # Target discovery
//!
//! Which kernel functions and BTF tracepoints take a `struct sk_buff *`, and
//! at which argument. Types come from kernel BTF: `/sys/kernel/btf/vmlinux`
//! plus every module object beside it (that directory only ever holds kernel
//! BTF; modules are split BTF on top of vmlinux). Functions are intersected
//! with ftrace's traceable list, addresses and modules come from kallsyms.
//! Backends then keep the targets they can read (see [`Target::usable_by`]).

pub mod btf;
pub mod cache;
pub mod ksyms;
pub mod tracefs;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Instant;

use anyhow::{Context, Result};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::btf::{Btf, Kind};
use ksyms::TraceableSource;

/// Kernel BTF: vmlinux and every module's.
pub const BTF_DIR: &str = "/sys/kernel/btf";
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetKind {
    Function,
    Tracepoint,
}

/// One hook point that sees an skb.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    pub name: String,
    /// Functions: kallsyms module (`vmlinux` for the core kernel).
    /// Tracepoints: the tracefs category (`net`, `skb`, …).
    pub module: String,
    /// Function address from kallsyms; for tracepoints, the address of their
    /// `__traceiter_<name>` when kallsyms has it, else 0.
    pub addr: u64,
    /// BTF id of the FUNC, or of the `btf_trace_<name>` typedef.
    pub btf_id: u32,
    /// Name of the BTF object defining `btf_id`; `None` for vmlinux.
    pub btf_obj: Option<String>,
    pub skb: btf::SkbArg,
    /// Functions: the return type is a `struct sk_buff *` (clone candidates).
    pub returns_skb: bool,
}

/// The backends' view of argument limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgAccess {
    /// kprobe, kprobe-multi: the first five registers.
    Registers,
    /// fentry/fexit: the trampoline's argument slots.
    Trampoline,
    /// tp_btf: the tracepoint's argument array.
    TracepointCtx,
}

impl Target {
    /// A vmlinux function taking the skb in register/slot `pos`, for tests.
    #[cfg(test)]
    pub fn test_function(name: &str, module: &str, addr: u64, pos: u32) -> Target {
        Target {
            kind: TargetKind::Function,
            name: name.into(),
            module: module.into(),
            addr,
            btf_id: 1,
            btf_obj: None,
            skb: btf::SkbArg {
                pos,
                in_register: true,
                trampoline_ok: true,
            },
            returns_skb: false,
        }
    }

    /// Can a backend reading arguments this way see the skb correctly?
    pub fn usable_by(&self, access: ArgAccess) -> bool {
        match access {
            ArgAccess::Registers => {
                self.kind == TargetKind::Function
                    && self.skb.in_register
                    && self.skb.pos < btf::MAX_REG_ARGS
            }
            ArgAccess::Trampoline => self.kind == TargetKind::Function && self.skb.trampoline_ok,
            ArgAccess::TracepointCtx => {
                self.kind == TargetKind::Tracepoint && self.skb.pos < btf::MAX_CTX_ARGS
            }
        }
    }
}

/// Everything discovery found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    pub functions: Vec<Target>,
    pub tracepoints: Vec<Target>,
    pub traceable_source: TraceableSource,
    /// The kfree_skb tracepoint and the drop reasons, from vmlinux BTF.
    pub drops: crate::drops::DropKernel,
    pub kernel_functions: KernelFunctions,
}

/// Kernel functions whose presence in vmlinux BTF decides how ipft loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelFunctions {
    /// fprobe, which kprobe-multi links stand on (CONFIG_FPROBE).
    pub fprobe: bool,
    /// The `bpf_rdonly_cast` kfunc (Linux 6.2+). A kfunc is in BTF, where
    /// libbpf resolves it.
    pub rdonly_cast: bool,
}

/// The kfunc that casts a plain address to a BTF pointer (Linux 6.2+).
pub const RDONLY_CAST: &str = "bpf_rdonly_cast";
/// A function of fprobe's API, present when the kernel has fprobe.
pub const FPROBE_FUNCTION: &str = "register_fprobe_ips";

impl KernelFunctions {
    pub fn from_btf(vmlinux: &Btf) -> KernelFunctions {
        let [fprobe, rdonly_cast] = vmlinux.has_functions([FPROBE_FUNCTION, RDONLY_CAST]);
        KernelFunctions {
            fprobe,
            rdonly_cast,
        }
    }
}

/// Loads vmlinux BTF and every module BTF next to it.
pub fn load_kernel_btf(btf_dir: &Path) -> Result<Vec<(Option<String>, Arc<Btf>)>> {
    let vmlinux_path = btf_dir.join("vmlinux");
    let started = Instant::now();
    let data = std::fs::read(&vmlinux_path).with_context(|| {
        format!(
            "kernel BTF not found at {}: ipft needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
            vmlinux_path.display()
        )
    })?;
    let read = started.elapsed();
    let vmlinux = Arc::new(
        Btf::parse(&data).with_context(|| format!("failed to parse {}", vmlinux_path.display()))?,
    );
    log::debug!(
        "vmlinux BTF: {} bytes read in {:.3}s, parsed in {:.3}s",
        data.len(),
        read.as_secs_f64(),
        (started.elapsed() - read).as_secs_f64()
    );
    let mut objs = vec![(None, vmlinux.clone())];
    let mut modules: Vec<_> = std::fs::read_dir(btf_dir)
        .with_context(|| format!("failed to list {}", btf_dir.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "vmlinux")
        .collect();
    modules.sort();
    for module in modules {
        let path = btf_dir.join(&module);
        match std::fs::read(&path)
            .map_err(anyhow::Error::from)
            .and_then(|d| Btf::parse_split(&d, vmlinux.clone()))
        {
            Ok(btf) => objs.push((Some(module), Arc::new(btf))),
            Err(e) => log::warn!("skipping module BTF {}: {e:#}", path.display()),
        }
    }
    Ok(objs)
}

/// An skb function or tracepoint as BTF shows it, before kallsyms and
/// ftrace say whether it can be hooked.
struct Candidate<'a> {
    kind: TargetKind,
    name: &'a str,
    obj: usize,
    btf_id: u32,
    skb: btf::SkbArg,
    returns_skb: bool,
}

/// Every skb function and tracepoint of `objs`, in BTF order.
fn skb_candidates(objs: &[(Option<String>, Arc<Btf>)]) -> Vec<Candidate<'_>> {
    let mut found = Vec::new();
    for (obj, (_, btf)) in objs.iter().enumerate() {
        for id in btf.own_ids() {
            let ty = btf.get(id).unwrap();
            match &ty.kind {
                Kind::Func { proto, .. } => {
                    let Some(Kind::FuncProto { params, ret }) = btf.kind(*proto) else {
                        continue;
                    };
                    let Some(mut skb) = btf::find_skb_arg(btf, params) else {
                        continue;
                    };
                    // The verifier refuses trampolines on functions that
                    // return a struct or union by value.
                    skb.trampoline_ok &= !btf::is_aggregate(btf, *ret);
                    found.push(Candidate {
                        kind: TargetKind::Function,
                        name: btf.str_at(ty.name_off),
                        obj,
                        btf_id: id,
                        skb,
                        returns_skb: btf::is_skb_ptr(btf, *ret),
                    });
                }
                Kind::Typedef { target } => {
                    if !btf.str_starts_with(ty.name_off, "btf_trace_") {
                        continue;
                    }
                    let Some(tp) = btf.str_at(ty.name_off).strip_prefix("btf_trace_") else {
                        continue;
                    };
                    let Some(Kind::Ptr { target: proto }) = btf.kind(*target) else {
                        continue;
                    };
                    let Some(Kind::FuncProto { params, .. }) = btf.kind(*proto) else {
                        continue;
                    };
                    // The leading parameter is the tracepoint's private data.
                    let Some(skb) = params.get(1..).and_then(|p| btf::find_skb_arg(btf, p)) else {
                        continue;
                    };
                    found.push(Candidate {
                        kind: TargetKind::Tracepoint,
                        name: tp,
                        obj,
                        btf_id: id,
                        skb,
                        returns_skb: false,
                    });
                }
                _ => {}
            }
        }
    }
    found
}

/// A read running on a thread of its own, or already done where no thread
/// could start (a pids limit): discovery works either way.
enum Pending<'scope, T> {
    Thread(ScopedJoinHandle<'scope, T>, fn() -> T),
    Done(T),
}

impl<'scope, T: Send + 'scope> Pending<'scope, T> {
    fn start<'env>(scope: &'scope Scope<'scope, 'env>, job: fn() -> T) -> Self {
        match std::thread::Builder::new().spawn_scoped(scope, job) {
            Ok(handle) => Pending::Thread(handle, job),
            Err(e) => {
                log::debug!("discovery reads in turn: no thread could start ({e})");
                Pending::Done(job())
            }
        }
    }

    /// The result; a thread that died is done again here.
    fn finish(self) -> T {
        match self {
            Pending::Thread(handle, job) => handle.join().unwrap_or_else(|_| job()),
            Pending::Done(result) => result,
        }
    }
}

/// What discovery reads from tracefs: the traceable functions (path and
/// text) and the tracepoint categories.
struct Tracefs {
    filter_functions: Result<(String, String)>,
    categories: HashMap<String, String>,
}

fn read_tracefs() -> Tracefs {
    let tracing_dir = tracefs::tracing_dir();
    Tracefs {
        filter_functions: ksyms::read_filter_functions(tracing_dir.as_deref()),
        categories: tracing_dir
            .as_deref()
            .map(tracefs::tracepoint_categories)
            .unwrap_or_default(),
    }
}

/// Scans kernel BTF for skb functions and tracepoints. kallsyms and tracefs
/// are read on threads of their own meanwhile (the kernel formatting
/// kallsyms is the longest part of start-up), and only the symbols BTF
/// asked about are kept. `on_vmlinux` learns what vmlinux BTF says of the
/// kernel's functions as soon as it is parsed (loading ahead starts there).
pub fn discover(btf_dir: &Path, on_vmlinux: impl FnOnce(KernelFunctions)) -> Result<Discovery> {
    std::thread::scope(|scope| {
        let started = Instant::now();
        // kallsyms comes in pieces over a channel, parsed here as they come
        // once BTF has said which names matter.
        let (chunks_tx, chunks) = std::sync::mpsc::channel();
        let reader_tx = chunks_tx.clone();
        let reader = std::thread::Builder::new()
            .spawn_scoped(scope, move || {
                ksyms::read_chunks(&mut |chunk| reader_tx.send(chunk).is_ok())
            })
            .map_err(|e| log::debug!("kallsyms is read in turn: no thread could start ({e})"))
            .ok();
        let tracefs = Pending::start(scope, read_tracefs);
        let objs = load_kernel_btf(btf_dir)?;
        let kernel_functions = KernelFunctions::from_btf(&objs[0].1);
        on_vmlinux(kernel_functions);
        let btf_read = started.elapsed();
        let candidates = skb_candidates(&objs);
        let scanned = started.elapsed();
        let traceiters: Vec<String> = candidates
            .iter()
            .filter(|c| c.kind == TargetKind::Tracepoint)
            .map(|c| format!("__traceiter_{}", c.name))
            .collect();
        let wanted: FxHashSet<&str> = candidates
            .iter()
            .filter(|c| c.kind == TargetKind::Function)
            .map(|c| c.name)
            .chain(traceiters.iter().map(String::as_str))
            .collect();
        let mut parser = ksyms::Parser::new(Some(&wanted));
        let read = match reader {
            Some(reader) => {
                drop(chunks_tx);
                for chunk in &chunks {
                    parser.feed(&chunk);
                }
                reader.join().unwrap_or_else(|_| {
                    // Read it again here, from the start.
                    parser = ksyms::Parser::new(Some(&wanted));
                    parser.read_kallsyms()
                })
            }
            None => parser.read_kallsyms(),
        };
        read?;
        let kallsyms = parser.finish();
        let kallsyms_parsed = started.elapsed();
        if !kallsyms.has_addresses() {
            log::warn!(
                "/proc/kallsyms shows no addresses (kernel.kptr_restrict?): -l addresses will read 0"
            );
        }
        let tracefs = tracefs.finish();
        log::debug!(
            "discovery phases (s from start): BTF read and parsed {:.3}, skb functions found {:.3}, \
             kallsyms read and parsed {:.3}, tracefs read {:.3}",
            btf_read.as_secs_f64(),
            scanned.as_secs_f64(),
            kallsyms_parsed.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        // None: every kallsyms text symbol counts as traceable (checked below).
        let (traceable, traceable_source) = match &tracefs.filter_functions {
            Ok((path, text)) => (
                Some(
                    ksyms::filter_function_names(text)
                        .filter(|n| wanted.contains(n))
                        .collect::<FxHashSet<&str>>(),
                ),
                TraceableSource::FilterFunctions(path.clone()),
            ),
            Err(e) => (None, TraceableSource::Kallsyms(format!("{e:#}"))),
        };

        let mut functions = Vec::new();
        let mut tracepoints = Vec::new();
        let mut seen_funcs = FxHashSet::default();
        let mut seen_tps = FxHashSet::default();
        for c in &candidates {
            let btf_obj = &objs[c.obj].0;
            match c.kind {
                TargetKind::Function => {
                    if seen_funcs.contains(c.name)
                        || traceable.as_ref().is_some_and(|t| !t.contains(c.name))
                    {
                        continue;
                    }
                    let Some(sym) = kallsyms.get(c.name) else {
                        continue;
                    };
                    seen_funcs.insert(c.name);
                    functions.push(Target {
                        kind: TargetKind::Function,
                        name: c.name.to_string(),
                        module: sym.module.to_string(),
                        addr: sym.addr,
                        btf_id: c.btf_id,
                        btf_obj: btf_obj.clone(),
                        skb: c.skb,
                        returns_skb: c.returns_skb,
                    });
                }
                TargetKind::Tracepoint => {
                    if !seen_tps.insert(c.name) {
                        continue;
                    }
                    let category = tracefs.categories.get(c.name).cloned().unwrap_or_else(|| {
                        btf_obj.clone().unwrap_or_else(|| "tracepoint".to_string())
                    });
                    let addr = kallsyms
                        .get(&format!("__traceiter_{}", c.name))
                        .map_or(0, |s| s.addr);
                    tracepoints.push(Target {
                        kind: TargetKind::Tracepoint,
                        name: c.name.to_string(),
                        module: category,
                        addr,
                        btf_id: c.btf_id,
                        btf_obj: btf_obj.clone(),
                        skb: c.skb,
                        returns_skb: false,
                    });
                }
            }
        }
        let drops = objs
            .first()
            .map(|(_, vmlinux)| crate::drops::DropKernel::from_btf(vmlinux))
            .unwrap_or_default();
        Ok(Discovery {
            functions,
            tracepoints,
            traceable_source,
            drops,
            kernel_functions,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running_kernel() -> Option<Discovery> {
        if !Path::new(VMLINUX_BTF).exists() {
            eprintln!("SKIP: {VMLINUX_BTF} missing");
            return None;
        }
        Some(discover(Path::new("/sys/kernel/btf"), |_| {}).unwrap())
    }

    #[test]
    fn finds_ip_rcv_at_position_zero() {
        let Some(d) = running_kernel() else { return };
        let ip_rcv = d
            .functions
            .iter()
            .find(|t| t.name == "ip_rcv")
            .expect("ip_rcv found");
        assert_eq!(ip_rcv.skb.pos, 0);
        assert_eq!(ip_rcv.module, "vmlinux");
        assert!(ip_rcv.usable_by(ArgAccess::Registers));
        assert!(ip_rcv.usable_by(ArgAccess::Trampoline));
    }

    #[test]
    fn missing_btf_names_the_fix() {
        let Err(err) = load_kernel_btf(Path::new("/nonexistent/btf")) else {
            panic!("loaded BTF from nowhere")
        };
        let msg = format!("{err:#}");
        assert!(msg.contains("CONFIG_DEBUG_INFO_BTF=y"), "{msg}");
        assert!(msg.contains("/nonexistent/btf/vmlinux"), "{msg}");
    }

    #[test]
    fn module_less_kernel_is_fine_and_functions_are_deduplicated() {
        let Some(d) = running_kernel() else { return };
        let mut names: Vec<&str> = d.functions.iter().map(|t| t.name.as_str()).collect();
        let total = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total, "a function is listed once");
        for t in &d.functions {
            match &t.btf_obj {
                None => assert_eq!(t.module, "vmlinux", "{t:?}"),
                Some(obj) => {
                    assert_eq!(&t.module, obj, "module functions carry their module: {t:?}")
                }
            }
        }
    }

    #[test]
    fn finds_skb_tracepoints() {
        let Some(d) = running_kernel() else { return };
        let kfree = d
            .tracepoints
            .iter()
            .find(|t| t.name == "kfree_skb")
            .expect("kfree_skb");
        assert_eq!(kfree.skb.pos, 0);
        let queue = d
            .tracepoints
            .iter()
            .find(|t| t.name == "net_dev_queue")
            .expect("net_dev_queue");
        assert!(queue.usable_by(ArgAccess::TracepointCtx));
        assert!(!queue.usable_by(ArgAccess::Registers));
    }
}
