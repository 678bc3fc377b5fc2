//! # Drops
//!
//! `--drops` and `--drops-only`: what the running kernel says about drops
//! (the `kfree_skb` tracepoint and `enum skb_drop_reason`, both from BTF),
//! naming drop locations from kallsyms into the stream ([`Symbolizer`]), and
//! the stream stage ([`DropStage`]) that counts drops by reason and location
//! for the summary at the end and, with `--drops-only`, passes on only the
//! packets the kernel dropped.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io;

use crate::btf::{Btf, Kind};
use crate::discover::ksyms::Kallsyms;
use crate::event::model::{DropCount, Event, Record};
use crate::event::raw::{RawRecord, EVENT_DROP};
use crate::output::Output;

/// What this kernel offers for drops.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DropKernel {
    /// The `kfree_skb` tracepoint exists (every kernel ipft runs on).
    pub tracepoint: bool,
    /// Its arguments include the reason (Linux 5.17+).
    pub has_reason: bool,
    /// `enum skb_drop_reason`: value → enumerator name.
    pub reasons: Vec<(u32, String)>,
}

impl DropKernel {
    /// Reads the tracepoint's prototype (`btf_trace_kfree_skb`: the private
    /// data, skb, location[, reason, ...]) and the reason enum from vmlinux BTF.
    pub fn from_btf(btf: &Btf) -> DropKernel {
        let mut kernel = DropKernel::default();
        let typedef = btf.find_own("btf_trace_kfree_skb", |k| matches!(k, Kind::Typedef { .. }));
        if let Some(Kind::Typedef { target }) = typedef.and_then(|id| btf.kind(id)) {
            if let Some(Kind::Ptr { target: proto }) = btf.kind(*target) {
                if let Some(Kind::FuncProto { params, .. }) = btf.kind(*proto) {
                    kernel.tracepoint = params.len() >= 3;
                    kernel.has_reason = params.len() >= 4
                        && matches!(
                            btf.kind(btf.skip_mods(params[3].type_id)),
                            Some(Kind::Enum { .. } | Kind::Int { .. })
                        );
                }
            }
        }
        let reasons = btf.find_own("skb_drop_reason", |k| matches!(k, Kind::Enum { .. }));
        if let Some(Kind::Enum { values, .. }) = reasons.and_then(|id| btf.kind(id)) {
            kernel.reasons = values
                .iter()
                .filter(|(_, v)| *v >= 0 && *v <= u32::MAX as i64)
                .map(|(name_off, v)| (*v as u32, btf.str_at(*name_off).to_string()))
                .filter(|(_, name)| !name.ends_with("_MAX"))
                .collect();
        }
        if !kernel.has_reason {
            kernel.reasons.clear();
        }
        kernel
    }
}

/// Names drop locations: a `Symbol` record for each new address, put into
/// the stream before the event that needs it.
pub struct Symbolizer {
    table: SymbolTable,
    named: HashSet<u64>,
}

/// Text symbols by address, or the thread still reading them.
enum SymbolTable {
    Reading(std::thread::JoinHandle<anyhow::Result<Vec<(u64, String)>>>),
    Ready(Vec<(u64, String)>),
}

fn sorted_text_symbols(kallsyms: &Kallsyms) -> Vec<(u64, String)> {
    let mut sorted: Vec<(u64, String)> = kallsyms
        .addresses()
        .filter(|(addr, _)| *addr != 0)
        .map(|(addr, name)| (addr, name.to_string()))
        .collect();
    sorted.sort_unstable();
    sorted
}

impl Symbolizer {
    pub fn new(kallsyms: &Kallsyms) -> Symbolizer {
        Symbolizer {
            table: SymbolTable::Ready(sorted_text_symbols(kallsyms)),
            named: HashSet::new(),
        }
    }

    /// Reads kallsyms on a thread of its own (the kernel takes a while to
    /// format it): the trace starts meanwhile, and the first drop waits for
    /// it if it must.
    pub fn read_in_background() -> Symbolizer {
        let read = || Kallsyms::read().map(|k| sorted_text_symbols(&k));
        let table = match std::thread::Builder::new()
            .name("ipft-symbols".into())
            .spawn(read)
        {
            Ok(thread) => SymbolTable::Reading(thread),
            Err(_) => SymbolTable::Ready(Self::or_addresses(read())),
        };
        Symbolizer {
            table,
            named: HashSet::new(),
        }
    }

    fn or_addresses(read: anyhow::Result<Vec<(u64, String)>>) -> Vec<(u64, String)> {
        read.unwrap_or_else(|e| {
            log::warn!("drop locations are shown as addresses: {e:#}");
            Vec::new()
        })
    }

    fn sorted(&mut self) -> &[(u64, String)] {
        if let SymbolTable::Reading(_) = self.table {
            let SymbolTable::Reading(thread) =
                std::mem::replace(&mut self.table, SymbolTable::Ready(Vec::new()))
            else {
                unreachable!()
            };
            let read = thread
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the thread reading kallsyms failed")));
            self.table = SymbolTable::Ready(Self::or_addresses(read));
        }
        match &self.table {
            SymbolTable::Ready(sorted) => sorted,
            SymbolTable::Reading(_) => &[],
        }
    }

    /// `function+0xoffset` for a kernel text address.
    pub fn name(&mut self, addr: u64) -> String {
        let sorted = self.sorted();
        let at = sorted.partition_point(|(a, _)| *a <= addr);
        match at.checked_sub(1).map(|i| &sorted[i]) {
            Some((start, name)) if addr - start < 1 << 20 => {
                format!("{name}+{:#x}", addr - start)
            }
            _ => format!("{addr:#x}"),
        }
    }

    /// The symbol record `raw` needs first, if it is a drop at a new location.
    pub fn missing(&mut self, raw: &RawRecord) -> Option<RawRecord> {
        let RawRecord::Event(ev) = raw else {
            return None;
        };
        if ev.flags & EVENT_DROP == 0 {
            return None;
        }
        let addr = ev.meta()?.location;
        self.named.insert(addr).then(|| RawRecord::Symbol {
            addr,
            name: self.name(addr),
        })
    }
}

/// Packets remembered as dropped (their later events pass too).
const DROPPED_KEPT: usize = 65536;

/// The `--drops` / `--drops-only` stage between selection and output.
#[derive(Default)]
pub struct DropStage {
    /// Drops by (reason, function), when the summary is wanted.
    summary: Option<BTreeMap<(String, String), u64>>,
    only: Option<OnlyDrops>,
}

/// `--drops-only`: a packet's events wait until it is dropped (then they
/// pass, and so do its later ones) or finished without a drop (then they go).
struct OnlyDrops {
    idle_ns: u64,
    pending: HashMap<u64, Vec<Event>>,
    skbs: HashMap<u64, u64>,
    dropped: HashSet<u64>,
    dropped_order: VecDeque<u64>,
    last_sweep: u64,
}

impl DropStage {
    /// `summary`: count drops for the table at the end; `only_drops`: pass
    /// only dropped packets, forgetting others `idle_ns` after their last event.
    pub fn new(summary: bool, only_drops: bool, idle_ns: u64) -> DropStage {
        DropStage {
            summary: summary.then(BTreeMap::new),
            only: only_drops.then(|| OnlyDrops {
                idle_ns,
                pending: HashMap::new(),
                skbs: HashMap::new(),
                dropped: HashSet::new(),
                dropped_order: VecDeque::new(),
                last_sweep: 0,
            }),
        }
    }

    /// Passes `record` (and whatever it releases) to `out`.
    pub fn pass(&mut self, record: Record, out: &mut dyn Output) -> io::Result<()> {
        if let (Some(summary), Record::Event(ev)) = (&mut self.summary, &record) {
            if let Some(drop) = &ev.drop {
                *summary
                    .entry((drop.reason.to_string(), drop.function().to_string()))
                    .or_default() += 1;
            }
        }
        let Some(only) = &mut self.only else {
            return out.record(record);
        };
        match record {
            Record::Event(ev) => only.event(ev, out),
            Record::SkbFreed { skb, timestamp } => {
                if let Some(id) = only.skbs.remove(&skb) {
                    only.pending.remove(&id);
                }
                out.record(Record::SkbFreed { skb, timestamp })
            }
            Record::Tick { now } => {
                only.sweep(now);
                out.record(Record::Tick { now })
            }
            other => out.record(other),
        }
    }

    /// At the end of the stream: the summary, if one was asked for.
    pub fn finish(&mut self, out: &mut dyn Output) -> io::Result<()> {
        let Some(summary) = self.summary.take() else {
            return Ok(());
        };
        let mut rows: Vec<DropCount> = summary
            .into_iter()
            .map(|((reason, location), count)| DropCount {
                reason,
                location,
                count,
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.count));
        out.record(Record::DropSummary(rows))
    }
}

impl OnlyDrops {
    fn event(&mut self, ev: Box<Event>, out: &mut dyn Output) -> io::Result<()> {
        let id = ev.packet_id;
        if self.dropped.contains(&id) {
            return out.record(Record::Event(ev));
        }
        if ev.drop.is_some() {
            self.skbs.remove(&ev.skb);
            for earlier in self.pending.remove(&id).unwrap_or_default() {
                out.record(Record::Event(Box::new(earlier)))?;
            }
            if self.dropped_order.len() >= DROPPED_KEPT {
                if let Some(old) = self.dropped_order.pop_front() {
                    self.dropped.remove(&old);
                }
            }
            self.dropped.insert(id);
            self.dropped_order.push_back(id);
            return out.record(Record::Event(ev));
        }
        if ev.end {
            // Finished without a drop.
            self.pending.remove(&id);
            self.skbs.remove(&ev.skb);
            return Ok(());
        }
        self.skbs.insert(ev.skb, id);
        self.pending.entry(id).or_default().push(*ev);
        Ok(())
    }

    /// Forgets packets idle for the idle timeout (at most twice per timeout).
    fn sweep(&mut self, now: u64) {
        if now.saturating_sub(self.last_sweep) < self.idle_ns / 2 {
            return;
        }
        self.last_sweep = now;
        let idle_ns = self.idle_ns;
        self.pending.retain(|_, events| {
            events
                .last()
                .is_some_and(|e| now.saturating_sub(e.timestamp) <= idle_ns)
        });
        let pending = &self.pending;
        self.skbs.retain(|_, id| pending.contains_key(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::model::Drop;
    use crate::output::text::tests::event;

    /// Collects what an output is given.
    #[derive(Default)]
    struct Collect(Vec<Record>);

    impl Output for Collect {
        fn record(&mut self, record: Record) -> io::Result<()> {
            self.0.push(record);
            Ok(())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn finish(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn ev(id: u64, ts: u64, function: &str, drop: Option<&str>) -> Event {
        let mut e = event(ts, 0, "vmlinux", function);
        e.packet_id = id;
        e.skb = 0x1000 + id;
        e.drop = drop.map(|reason| Drop {
            reason: reason.into(),
            location: "__udp4_lib_rcv+0x1f4".into(),
        });
        e
    }

    fn functions(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::Event(e) => Some(format!("{}:{}", e.packet_id, e.function)),
                Record::DropSummary(rows) => Some(format!("summary:{rows:?}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn only_dropped_packets_pass_with_their_whole_path() {
        let mut stage = DropStage::new(true, true, 1_000);
        let mut out = Collect::default();
        let mut kept_end = ev(2, 3, "kfree_skbmem", None);
        kept_end.end = true;
        for r in [
            ev(1, 1, "ip_rcv", None),
            ev(2, 2, "ip_rcv", None),
            kept_end,
            ev(1, 4, "kfree_skb", Some("NO_SOCKET")),
            ev(1, 5, "kfree_skbmem", None),
            ev(3, 6, "ip_rcv", None),
        ] {
            stage.pass(Record::Event(Box::new(r)), &mut out).unwrap();
        }
        // Packet 3 goes idle and is forgotten.
        stage.pass(Record::Tick { now: 2_000 }, &mut out).unwrap();
        assert!(stage.only.as_ref().unwrap().pending.is_empty());
        stage.finish(&mut out).unwrap();
        assert_eq!(
            functions(&out.0),
            [
                "1:ip_rcv",
                "1:kfree_skb",
                "1:kfree_skbmem",
                r#"summary:[DropCount { reason: "NO_SOCKET", location: "__udp4_lib_rcv", count: 1 }]"#
            ]
        );
    }

    #[test]
    fn the_summary_counts_by_reason_and_function_most_first() {
        let mut stage = DropStage::new(true, false, 1_000);
        let mut out = Collect::default();
        for (id, reason) in [(1, "A"), (2, "B"), (3, "B")] {
            stage
                .pass(
                    Record::Event(Box::new(ev(id, id, "kfree_skb", Some(reason)))),
                    &mut out,
                )
                .unwrap();
        }
        stage.finish(&mut out).unwrap();
        let Some(Record::DropSummary(rows)) = out.0.last() else {
            panic!("no summary")
        };
        assert_eq!(
            rows.iter()
                .map(|r| (r.reason.as_str(), r.count))
                .collect::<Vec<_>>(),
            [("B", 2), ("A", 1)]
        );
        assert_eq!(out.0.len(), 4, "every event passes without --drops-only");
    }

    #[test]
    fn symbols_read_in_the_background_name_locations_the_same() {
        let Ok(kallsyms) = Kallsyms::read() else {
            eprintln!("SKIP: /proc/kallsyms unreadable");
            return;
        };
        let Some((addr, _)) = kallsyms.addresses().find(|(a, _)| *a != 0) else {
            eprintln!("SKIP: kallsyms shows no addresses (not root, or kptr_restrict)");
            return;
        };
        let mut now = Symbolizer::new(&kallsyms);
        let mut later = Symbolizer::read_in_background();
        assert_eq!(later.name(addr), now.name(addr));
        assert!(later.name(addr).ends_with("+0x0"), "{}", later.name(addr));
    }

    #[test]
    fn locations_are_named_by_the_nearest_symbol_below() {
        let k = Kallsyms::parse(
            "ffffffff81000000 T start\nffffffff81000100 t __udp4_lib_rcv\nffffffff81000400 T next\n",
        );
        let mut s = Symbolizer::new(&k);
        assert_eq!(s.name(0xffffffff81000134), "__udp4_lib_rcv+0x34");
        assert_eq!(s.name(0x10), "0x10");
        let mut b = vec![0u8; 128];
        b[29] = crate::event::raw::EVENT_META | EVENT_DROP;
        b.extend([0u8; crate::event::raw::META_SIZE]);
        b[128 + 64..128 + 72].copy_from_slice(&0xffffffff81000401u64.to_ne_bytes());
        let raw = RawRecord::Event(crate::event::raw::RawEvent::parse(&b).unwrap());
        assert_eq!(
            s.missing(&raw),
            Some(RawRecord::Symbol {
                addr: 0xffffffff81000401,
                name: "next+0x1".into()
            })
        );
        assert_eq!(s.missing(&raw), None, "named once");
    }
}
