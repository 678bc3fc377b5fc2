//! # Loading BPF objects
//!
//! Links the backend object with the extension, opens the result with
//! libbpf, writes the load-time configuration (mark, mask, transport) into
//! `.rodata` by looking the variables up in the object's BTF, sizes the
//! maps, prepares templates, and loads. [`ahead`] does the first half on a
//! thread while the kernel is still being discovered.

pub mod ahead;
pub mod embedded;
pub mod link;

use anyhow::{bail, Context, Result};
use libbpf_rs::{MapCore, Object, ObjectBuilder, OpenObject};

use crate::attach::ProgramFeatures;
use crate::btf::{Btf, Kind};
use crate::cli::{BackendKind, Config, Tracer, TransportKind};
use crate::event::fields::FieldSet;

/// Values written into the programs' `.rodata` before load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadConfig {
    pub mark: u32,
    pub mask: u32,
    pub use_ringbuf: bool,
    /// Ring buffer size in bytes (a power of two, multiple of the page size).
    pub ring_size: u32,
    /// Bytes waiting in the ring buffer before the reader is woken.
    pub ring_wakeup: u64,
    /// Exit events follow their entry events' packet (-t function_graph).
    pub pair_exits: bool,
    /// Follow packets once matched (see `bpf/ipft_body.bpf.h`).
    pub track: bool,
    pub track_map_size: u32,
    /// Also follow the data buffers of tracked packets (`ipft_heads`): the
    /// tracepoint backend, which cannot see every skb free.
    pub watch_heads: bool,
    /// A tracked skb idle this long is treated as a new packet.
    pub idle_ns: u64,
    /// Packet bytes copied into events (`--snaplen`); 0 copies none.
    pub snaplen: u16,
    /// Packet ids by one atomic fetch-and-add (the kernel has BPF_FETCH).
    pub atomic_ids: bool,
    /// Packets are selected by their mark (`mark`/`mask`).
    pub use_mark: bool,
    /// ... by the linked pcap-filter expression.
    pub use_pcap: bool,
    /// Packet bytes the expression's window holds.
    pub pcap_window: u32,
    /// ... by the network namespace (inode) of their device; 0: any.
    pub netns: u32,
    /// ... by their device's ifindex; 0: any.
    pub ifindex: u32,
    /// A `struct ipft_meta` after every event, with the device name and
    /// the 5-tuple as asked.
    pub meta: bool,
    pub meta_dev: bool,
    pub meta_tuple: bool,
    /// The drop program's probe word (0: no drop program).
    pub drop_word: u32,
    /// The kfree_skb tracepoint passes the drop reason.
    pub drop_has_reason: bool,
}

/// Ring buffer bytes: 256 KiB per CPU for each --perf-page-count page
/// (default 8: 2 MiB per CPU), a power of two. One ring serves all CPUs.
pub fn ring_size(page_count: u64) -> u32 {
    let cpus = libbpf_rs::num_possible_cpus().unwrap_or(1) as u64;
    (page_count * (256 << 10) * cpus)
        .next_power_of_two()
        .min(1 << 30) as u32
}

impl LoadConfig {
    /// The configuration a trace with `config` loads with: `fields` are the
    /// built-in fields shown, `kind` is the backend, `programs` what the
    /// kernel offers the programs, `drop` the drop program's probe
    /// word and whether the kernel passes it the drop reason.
    pub fn for_trace(
        config: &Config,
        fields: FieldSet,
        kind: BackendKind,
        programs: ProgramFeatures,
        drop: Option<(u32, bool)>,
    ) -> LoadConfig {
        let ring_size = ring_size(config.perf.page_count);
        LoadConfig {
            mark: config.mark,
            mask: config.mask,
            use_ringbuf: match config.transport {
                Some(TransportKind::Ringbuf) => true,
                Some(TransportKind::Perf) => false,
                None => programs.ringbuf,
            },
            ring_size,
            ring_wakeup: ring_size as u64 / 8,
            pair_exits: config.tracer == Tracer::FunctionGraph,
            track: config.track,
            track_map_size: config.track_map_size,
            watch_heads: config.track && kind == BackendKind::Tracepoint,
            idle_ns: config.idle_timeout.as_nanos() as u64,
            snaplen: config.snaplen,
            atomic_ids: programs.atomic_fetch,
            use_mark: config.mark_given,
            use_pcap: config.filter.is_some(),
            pcap_window: config
                .filter
                .as_ref()
                .map_or(crate::filter::WINDOW_MAX, |f| f.window),
            netns: config.netns,
            ifindex: config.ifindex,
            meta: fields.needs_meta(),
            meta_dev: fields.dev,
            meta_tuple: fields.tuple,
            drop_word: drop.map_or(0, |(word, _)| word),
            drop_has_reason: drop.is_some_and(|(_, reason)| reason),
        }
    }
}

/// Links a backend's object with the extension (the null one if `None`)
/// and the filter expression's object (the null filter if `None`).
pub fn link_trace(
    kind: BackendKind,
    backend: &[u8],
    extension: Option<(&str, &[u8])>,
    filter: Option<&[u8]>,
) -> Result<Vec<u8>> {
    link::link(&[
        (&format!("ipft's {kind} programs"), backend),
        extension.unwrap_or(("the null extension", embedded::NULL_MODULE)),
        (
            "the filter expression",
            filter.unwrap_or(embedded::NULL_FILTER),
        ),
    ])
}

/// The `.BTF` of an ELF object, parsed.
pub fn object_btf(elf: &[u8]) -> Result<Btf> {
    use object::{Object as _, ObjectSection as _};
    let file = object::File::parse(elf).context("not an ELF object")?;
    let sec = file
        .section_by_name(".BTF")
        .context("object has no .BTF section (compile with -g)")?;
    Btf::parse(sec.data().context("unreadable .BTF section")?)
}

/// Offset and size of each variable in a data section, by name.
fn datasec_vars(btf: &Btf, section: &str) -> Vec<(String, u32, u32)> {
    let Some(id) = btf.find_own(section, |k| matches!(k, Kind::Datasec { .. })) else {
        return Vec::new();
    };
    let Some(Kind::Datasec { vars, .. }) = btf.kind(id) else {
        return Vec::new();
    };
    vars.iter()
        .map(|&(var, off, size)| (btf.name(var).to_string(), off, size))
        .collect()
}

fn set_rodata(open: &mut OpenObject, btf: &Btf, values: &[(&str, u64)]) -> Result<()> {
    let vars = datasec_vars(btf, ".rodata");
    let mut map = open
        .maps_mut()
        .find(|m| m.name().to_string_lossy().ends_with(".rodata"))
        .context("BPF object has no .rodata map")?;
    let data = map
        .initial_value_mut()
        .context(".rodata has no initial value")?;
    for (name, value) in values {
        let (_, off, size) = vars
            .iter()
            .find(|(n, ..)| n == name)
            .with_context(|| format!("BPF object has no variable {name} in .rodata"))?;
        let (off, size) = (*off as usize, *size as usize);
        if size > 8 {
            bail!("BPF variable {name} is {size} bytes, not an integer");
        }
        // ipft runs on little-endian x86_64: the value's low bytes come first.
        let bytes = value.to_ne_bytes();
        let slot = data
            .get_mut(off..off + size)
            .context(".rodata is shorter than its BTF says")?;
        slot.copy_from_slice(&bytes[..size]);
    }
    Ok(())
}

/// Opens `linked` and applies `config`: `.rodata` and the map sizes.
pub fn open(linked: &[u8], config: &LoadConfig) -> Result<OpenObject> {
    let btf = object_btf(linked)?;
    // Not ObjectBuilder::debug(): that replaces our libbpf print callback.
    let mut open = ObjectBuilder::default()
        .open_memory(linked)
        .context("libbpf failed to open the linked BPF object")?;
    set_rodata(
        &mut open,
        &btf,
        &[
            ("ipft_mark", config.mark as u64),
            ("ipft_mask", config.mask as u64),
            ("ipft_use_ringbuf", config.use_ringbuf as u64),
            ("ipft_track", config.track as u64),
            ("ipft_watch_heads", config.watch_heads as u64),
            ("ipft_idle_ns", config.idle_ns),
            ("ipft_ring_wakeup", config.ring_wakeup),
            ("ipft_pair_exits", config.pair_exits as u64),
            ("ipft_snaplen", config.snaplen as u64),
            ("ipft_atomic_ids", config.atomic_ids as u64),
            ("ipft_use_mark", config.use_mark as u64),
            ("ipft_use_pcap", config.use_pcap as u64),
            ("ipft_pcap_window", config.pcap_window as u64),
            ("ipft_netns", config.netns as u64),
            ("ipft_ifindex", config.ifindex as u64),
            ("ipft_meta_on", config.meta as u64),
            ("ipft_meta_dev", config.meta_dev as u64),
            ("ipft_meta_tuple", config.meta_tuple as u64),
            ("ipft_drop_word", config.drop_word as u64),
            ("ipft_drop_has_reason", config.drop_has_reason as u64),
        ],
    )?;
    for mut map in open.maps_mut() {
        match map.name().to_str() {
            Some("ipft_ring") if config.use_ringbuf => map.set_max_entries(config.ring_size)?,
            Some("ipft_ring") => map.set_autocreate(false)?,
            Some("ipft_events") if config.use_ringbuf => map.set_autocreate(false)?,
            Some("ipft_tracked") => map.set_max_entries(if config.track {
                config.track_map_size
            } else {
                1
            })?,
            // An LRU map spreads its free entries over the CPUs: never 1.
            Some("ipft_heads") => map.set_max_entries(if config.watch_heads {
                config.track_map_size.max(256)
            } else {
                256
            })?,
            // Preallocated: a map nothing uses costs its creation time.
            Some("ipft_calls") if !config.pair_exits => map.set_max_entries(1)?,
            Some("ipft_clone_stacks") if !config.track => map.set_max_entries(1)?,
            _ => {}
        }
    }
    Ok(open)
}

/// Lets `prepare` adjust programs, then loads.
pub fn finish(
    mut open: OpenObject,
    prepare: impl FnOnce(&mut OpenObject) -> Result<()>,
) -> Result<Object> {
    prepare(&mut open)?;
    match open.load() {
        Ok(obj) => Ok(obj),
        Err(e) => bail!("failed to load the BPF programs: {e} (run with -v for libbpf's and the verifier's log)"),
    }
}

/// Opens `linked`, applies `config`, lets `prepare` adjust programs, loads.
pub fn load(
    linked: &[u8],
    config: &LoadConfig,
    prepare: impl FnOnce(&mut OpenObject) -> Result<()>,
) -> Result<Object> {
    finish(open(linked, config)?, prepare)
}

/// Sets the `ipft_stopping` flag in the loaded object's `.bss`: from then on
/// the programs return at once (see `bpf/ipft_body.bpf.h`).
pub fn stop_programs(obj: &Object, linked: &[u8]) -> Result<()> {
    let btf = object_btf(linked)?;
    let (_, off, size) = datasec_vars(&btf, ".bss")
        .into_iter()
        .find(|(n, ..)| n == "ipft_stopping")
        .context("BPF object has no ipft_stopping in .bss")?;
    let map = obj
        .maps()
        .find(|m| m.name().to_string_lossy().ends_with(".bss"))
        .context("BPF object has no .bss map")?;
    let key = 0u32.to_ne_bytes();
    let mut value = map
        .lookup(&key, libbpf_rs::MapFlags::ANY)?
        .context(".bss has no value")?;
    let slot = value
        .get_mut(off as usize..(off + size) as usize)
        .context(".bss is shorter than its BTF says")?;
    slot.fill(0);
    slot[0] = 1;
    map.update(&key, &value, libbpf_rs::MapFlags::ANY)?;
    Ok(())
}

/// Counters of the `ipft_lost` map (`IPFT_COUNT_*` in `bpf/ipft_body.bpf.h`).
pub const COUNT_LOST: u32 = 0;
pub const COUNT_TRACK_FULL: u32 = 1;
pub const COUNT_IDS: u32 = 2;
pub const COUNT_EVENTS: u32 = 3;

/// Sum over CPUs of a per-CPU u64 counter map at `key`.
pub fn read_percpu_counter(map: &dyn MapCore, key: u32) -> Result<u64> {
    let vals = map
        .lookup_percpu(&key.to_ne_bytes(), libbpf_rs::MapFlags::ANY)?
        .unwrap_or_default();
    Ok(vals
        .iter()
        .filter_map(|v| {
            v.get(..8)
                .map(|b| u64::from_ne_bytes(b.try_into().unwrap()))
        })
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_size_is_a_power_of_two() {
        let s = ring_size(8);
        assert!(s.is_power_of_two() && s >= 8 * 4096);
    }

    #[test]
    fn rodata_variables_are_found_in_btf() {
        let linked = link::link(&[
            ("tp", embedded::TRACEPOINT),
            ("null", embedded::NULL_MODULE),
            ("no filter", embedded::NULL_FILTER),
        ])
        .unwrap();
        let btf = object_btf(&linked).unwrap();
        let names: Vec<String> = datasec_vars(&btf, ".rodata")
            .into_iter()
            .map(|v| v.0)
            .collect();
        for want in ["ipft_mark", "ipft_mask", "ipft_use_ringbuf"] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
    }
}
