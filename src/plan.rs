//! # The plan
//!
//! Everything decided before any BPF object is loaded: the extension is
//! opened, privileges and kernel BTF checked, the kernel's skb functions and
//! tracepoints discovered (or read from the discovery cache), the backend
//! chosen, and the hook list built (the targets after `-r`/`--module-regex`,
//! the free points that end tracked packets, the clone points). `-l` prints
//! the plan's targets and stops here.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::attach::{self, Backend, Features, Probe, ProgramFeatures};
use crate::cli::{BackendKind, Config, Mode};
use crate::discover::{self, cache, ksyms::TraceableSource, ArgAccess, Discovery, Target};
use crate::event::decode::Hook;
use crate::event::fields::FieldSet;
use crate::ext::Extension;
use crate::filter::PacketFilter;
use crate::load::ahead::Ahead;
use crate::preflight;

pub struct Plan {
    pub extension: Option<Extension>,
    pub discovery: Discovery,
    pub features: Features,
    pub kind: BackendKind,
    /// A note on why this backend was chosen, if it was a fallback.
    pub note: Option<String>,
    /// The backend was given with `-b`, not chosen.
    explicit_backend: bool,
    pub access: ArgAccess,
    /// The traced targets, and how many candidates the filters left out.
    pub targets: Vec<Target>,
    pub filtered: usize,
    /// How packets are selected besides the expression.
    pub selection: Selection,
    /// The pcap-filter expression, if one was given.
    pub filter: Option<PacketFilter>,
    /// The kfree_skb tracepoint, hooked by the drop program (`--drops`).
    pub drop_hook: Option<Target>,
    /// The built-in fields asked for (see [`Plan::fields`]).
    fields: FieldSet,
    /// The BPF object, prepared during discovery (taken by the session).
    pub ahead: Option<Ahead>,
}

/// The tracepoint where the kernel drops skbs (see `IPFT_DROP_PROGRAM`).
pub const DROP_TRACEPOINT: &str = "kfree_skb";

/// Which criteria select a packet in the programs (all given must hold).
#[derive(Debug, Clone, Copy)]
pub struct Selection {
    /// The mark (`-m`/`--mask`).
    pub mark: bool,
    /// The network namespace inode of the packet's device; 0: any.
    pub netns: u32,
    /// The packet's device; 0: any.
    pub ifindex: u32,
}

impl Plan {
    pub fn new(config: &Config) -> Result<Plan> {
        // Extension mistakes are reported first: they need no privileges.
        let extension = config
            .extension
            .as_deref()
            .map(|path| Extension::open(path, config.lua))
            .transpose()?;
        if config.set_rlimit {
            preflight::raise_rlimits();
        }
        preflight::check_btf()?;
        preflight::check_privileges()?;

        let programs = ProgramFeatures::probe();
        let started = Instant::now();
        let mut ahead = None;
        let start_ahead = |functions| {
            let extension = extension
                .as_ref()
                .map(|e| (e.name.clone(), e.object.clone()));
            ahead = Ahead::start(config, extension, functions, programs);
        };
        let (discovery, cached) = discover_or_reuse(config.cache, start_ahead)?;
        match &discovery.traceable_source {
            TraceableSource::FilterFunctions(path) => {
                log::debug!("traceable functions from {path}")
            }
            TraceableSource::Kallsyms(why) => log::debug!(
                "available_filter_functions unreadable ({why}): taking every kallsyms text symbol as traceable"
            ),
        }
        log::debug!(
            "{} {} skb functions and {} skb tracepoints in {:.3}s",
            if cached { "read" } else { "discovered" },
            discovery.functions.len(),
            discovery.tracepoints.len(),
            started.elapsed().as_secs_f64()
        );
        let probing = Instant::now();
        let features = Features::probe(&discovery, programs);
        let listing = config.mode == Mode::List && config.backend.is_none();
        let (kind, note) = attach::select(config.backend, config.tracer, &features, listing)?;
        if !listing {
            // Probes the chosen backend if the choice did not (-b).
            features.unavailable(kind);
        }
        log::debug!(
            "kernel features (probed in {:.3}s): {features:?}",
            probing.elapsed().as_secs_f64()
        );
        let access = attach::access(kind);
        let (mut targets, filtered) = attach::filter_targets(
            &discovery,
            access,
            config.regex.as_ref(),
            config.module_regex.as_ref(),
        );
        let fields = config.fields(FieldSet::default());
        let drop_hook = if fields.drop {
            drop_hook(&discovery)
        } else {
            None
        };
        if drop_hook.is_some() {
            // The drop program takes the tracepoint backend's kfree_skb hook over.
            targets.retain(|t| !is_drop_hook(t));
        }
        Ok(Plan {
            extension,
            discovery,
            features,
            kind,
            note,
            explicit_backend: config.backend.is_some(),
            access,
            targets,
            filtered,
            selection: Selection {
                mark: config.mark_given,
                netns: config.netns,
                ifindex: config.ifindex,
            },
            filter: config.filter.clone(),
            drop_hook,
            fields,
            ahead,
        })
    }

    /// `-l`: header on stderr, rows on stdout; a reader going away is not an error.
    pub fn list(&self) -> Result<()> {
        // A backend ipft chose can trace, or lists what the one that can would.
        if let Some(why) = self
            .explicit_backend
            .then(|| self.features.unavailable(self.kind))
            .flatten()
        {
            crate::say!("note: -b {} cannot trace on this kernel: {why}", self.kind);
        }
        let (header, rows) = list_lines(&self.targets);
        crate::say!("{header}");
        let mut out = BufWriter::new(io::stdout().lock());
        let written = rows
            .iter()
            .try_for_each(|row| writeln!(out, "{row}"))
            .and_then(|_| out.flush());
        match written {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Refuses a plan that cannot trace: backend unavailable, nothing matched.
    pub fn check_traceable(&self, config: &Config) -> Result<()> {
        let kind = self.kind;
        if let Some(why) = self.features.unavailable(kind) {
            bail!("cannot trace with -b {kind}: {why}");
        }
        if self.targets.is_empty() {
            let filters = if config.regex.is_some() || config.module_regex.is_some() {
                " -r/--module-regex"
            } else {
                ""
            };
            bail!(
                "nothing to trace: no {kind} hook matched{filters} ({} candidates before filtering)",
                self.filtered
            );
        }
        Ok(())
    }

    /// The hooks to attach: the targets (probe id = index), the free points
    /// of the backend flagged to end tracked packets, and, while tracking,
    /// free points the filters left out, attached silently.
    pub fn probes(&self, backend: &dyn Backend, track: bool) -> Vec<Probe> {
        let frees = backend.free_points();
        let mut probes: Vec<Probe> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let forget = if frees.contains(&t.name.as_str()) {
                    attach::PROBE_FORGET
                } else {
                    0
                };
                Probe {
                    target: t.clone(),
                    word: i as u32 | forget,
                }
            })
            .collect();
        if track {
            let pool = self
                .discovery
                .functions
                .iter()
                .chain(&self.discovery.tracepoints);
            let pool = pool.filter(|t| !(self.drop_hook.is_some() && is_drop_hook(t)));
            for t in pool.filter(|t| frees.contains(&t.name.as_str()) && t.usable_by(self.access)) {
                if !self.targets.iter().any(|x| x.name == t.name) {
                    let word = probes.len() as u32 | attach::PROBE_FORGET | attach::PROBE_SILENT;
                    probes.push(Probe {
                        target: t.clone(),
                        word,
                    });
                }
            }
        }
        if backend.shares_clone_entry() {
            // A clone point's entry rides on its traced hook, or on a silent one.
            for clone in self.clones(backend, track) {
                match probes
                    .iter_mut()
                    .find(|p| p.target.name == clone.target.name)
                {
                    Some(probe) => probe.word |= attach::PROBE_CLONE,
                    None => {
                        let word = probes.len() as u32 | attach::PROBE_SILENT | attach::PROBE_CLONE;
                        probes.push(Probe {
                            target: clone.target,
                            word,
                        });
                    }
                }
            }
        }
        probes
    }

    /// The built-in fields the programs fill and the outputs show: as
    /// asked, without drops where the kernel cannot show them.
    pub fn fields(&self) -> crate::event::fields::FieldSet {
        let mut fields = self.fields;
        fields.drop &= self.drop_hook.is_some();
        fields
    }

    /// The drop program's hook, numbered after `probes`; it ends the packet
    /// where the backend's free points include the tracepoint.
    pub fn drop_probe(&self, backend: &dyn Backend, probes: &[Probe]) -> Option<Probe> {
        let target = self.drop_hook.clone()?;
        let forget = if backend.free_points().contains(&DROP_TRACEPOINT) {
            attach::PROBE_FORGET
        } else {
            0
        };
        Some(Probe {
            target,
            word: probes.len() as u32 | forget,
        })
    }

    /// Where tracking follows clones: the clone points, hooked at entry and return.
    pub fn clones(&self, backend: &dyn Backend, track: bool) -> Vec<Probe> {
        if !track || !backend.follows_clones() {
            return Vec::new();
        }
        attach::clone_points(&self.discovery, self.access)
            .into_iter()
            .map(|target| Probe { target, word: 0 })
            .collect()
    }
}

fn is_drop_hook(t: &Target) -> bool {
    t.kind == discover::TargetKind::Tracepoint && t.name == DROP_TRACEPOINT
}

/// The kfree_skb tracepoint, if this kernel has one ipft can hook; says why
/// not (once) otherwise, and that reasons are missing where they are.
fn drop_hook(discovery: &Discovery) -> Option<Target> {
    let hook = discovery
        .tracepoints
        .iter()
        .find(|t| is_drop_hook(t))
        .filter(|_| discovery.drops.tracepoint);
    match &hook {
        None => log::warn!(
            "this kernel has no kfree_skb tracepoint in its BTF: --drops cannot see drops (tracing goes on without them)"
        ),
        Some(_) if !discovery.drops.has_reason => log::warn!(
            "this kernel passes no drop reason to kfree_skb (Linux 5.17+): drops are shown with their location and reason \"unknown\""
        ),
        Some(_) => {}
    }
    hook.cloned()
}

/// Probe id → hook, the table events are resolved with (and the events file keeps).
pub fn hook_table(probes: &[Probe]) -> Vec<Hook> {
    probes
        .iter()
        .map(|p| Hook {
            module: p.target.module.clone(),
            function: p.target.name.clone(),
        })
        .collect()
}

/// The discovery kept for this boot, modules and binary if there is one
/// (and `cache`), else a fresh one, kept for the next run; true if reused.
fn discover_or_reuse(
    cache: bool,
    on_vmlinux: impl FnOnce(discover::KernelFunctions),
) -> Result<(Discovery, bool)> {
    let btf_dir = Path::new(discover::BTF_DIR);
    let cache_dir = Path::new(cache::DIR);
    let key = if cache {
        cache::key(btf_dir)
            .map_err(|e| log::debug!("discovery cache not used: {e:#}"))
            .ok()
    } else {
        log::debug!("discovery cache not used: --no-cache");
        None
    };
    if let Some(key) = &key {
        match cache::load(cache_dir, key) {
            Ok(discovery) => {
                log::debug!(
                    "discovery read from {} (same boot, modules and ipft)",
                    cache::path(cache_dir).display()
                );
                on_vmlinux(discovery.kernel_functions);
                return Ok((discovery, true));
            }
            Err(why) => log::debug!("discovery cache not used: {why}"),
        }
    }
    let discovery = discover::discover(btf_dir, on_vmlinux)?;
    if let Some(key) = &key {
        let kept = Instant::now();
        match cache::store(cache_dir, key, &discovery) {
            Ok(Ok(())) => log::debug!(
                "discovery kept in {} for later runs ({:.3}s)",
                cache::path(cache_dir).display(),
                kept.elapsed().as_secs_f64()
            ),
            Ok(Err(why)) => log::debug!("discovery not kept for later runs: {why}"),
            Err(e) => log::debug!("discovery not kept for later runs: {e:#}"),
        }
    }
    Ok((discovery, false))
}

/// `-l`: header on stderr, rows on stdout, by skb position then discovery order.
pub fn list_lines(targets: &[Target]) -> (String, Vec<String>) {
    let header = format!(
        "{:>64.64}\t{:>16.16}\t{:>18}\t{}",
        "NAME", "MOD", "ADDR", "SKB_POSITION"
    );
    let mut sorted: Vec<&Target> = targets.iter().collect();
    sorted.sort_by_key(|t| t.skb.pos);
    let rows = sorted
        .iter()
        .map(|t| {
            format!(
                "{:>64.64}\t{:>16.16}\t0x{:016x}\t{}",
                t.name, t.module, t.addr, t.skb.pos
            )
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, module: &str, addr: u64, pos: u32) -> Target {
        Target::test_function(name, module, addr, pos)
    }

    #[test]
    fn list_layout_matches_ipftrace2() {
        let (header, rows) = list_lines(&[
            target("tcp_v4_rcv", "vmlinux", 0xffffffff81b00000, 1),
            target("ip_rcv", "vmlinux", 0xffffffff81a2b3c0, 0),
        ]);
        assert_eq!(
            header,
            format!(
                "{:>64}\t{:>16}\t{:>18}\tSKB_POSITION",
                "NAME", "MOD", "ADDR"
            )
        );
        assert_eq!(
            rows[0],
            format!(
                "{}ip_rcv\t         vmlinux\t0xffffffff81a2b3c0\t0",
                " ".repeat(58)
            )
        );
        assert!(rows[1].trim_start().starts_with("tcp_v4_rcv"));
    }
}
