//! # pcapng output
//!
//! Packet snapshots (`--snaplen`) as a pcapng stream that stock
//! Wireshark/tshark reads: one Section Header Block, one Interface
//! Description Block per (network namespace, ifindex, link type) met, named
//! after the device, with nanosecond timestamps (`if_tsresol` 9), and one
//! Enhanced Packet Block per snapshot, at the wall-clock time of its event,
//! commented with the packet id, the hook and the path so far. Events without
//! a snapshot add to the path and print nothing. Written by hand (about a
//! hundred lines of the pcapng spec, RFC draft-ietf-opsawg-pcapng) so that
//! timestamp resolution and options are exactly these.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use super::text::Clock;
use super::{Destination, Output};
use crate::event::model::{Event, LinkType, Record};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_OS: u16 = 3;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const IF_TSRESOL: u16 = 9;
const LINKTYPE_ETHERNET: u16 = 1;
const LINKTYPE_RAW: u16 = 101;

/// Hooks named in a comment's path; earlier ones are counted.
const PATH_SHOWN: usize = 32;
/// Packets whose path is remembered at once (the oldest go first).
const PATHS_KEPT: usize = 65536;

type InterfaceKey = (u32, u32, LinkType);

pub struct Pcapng {
    out: Box<dyn Destination>,
    clock: Clock,
    started: bool,
    interfaces: HashMap<InterfaceKey, u32>,
    /// Packet id → the hooks it passed, for the comments.
    paths: HashMap<u64, Vec<Arc<str>>>,
    events: u64,
    packets: u64,
}

fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    buf.extend(code.to_le_bytes());
    buf.extend((value.len() as u16).to_le_bytes());
    buf.extend(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// A block: type, total length, body (padded to 4), options, total length.
fn block(kind: u32, body: &[u8], options: &[(u16, &[u8])]) -> Vec<u8> {
    let mut inner = body.to_vec();
    inner.resize(inner.len().next_multiple_of(4), 0);
    if !options.is_empty() {
        for (code, value) in options {
            option(&mut inner, *code, value);
        }
        option(&mut inner, OPT_END, &[]);
    }
    let total = (inner.len() + 12) as u32;
    let mut out = Vec::with_capacity(total as usize);
    out.extend(kind.to_le_bytes());
    out.extend(total.to_le_bytes());
    out.extend(inner);
    out.extend(total.to_le_bytes());
    out
}

impl Pcapng {
    pub fn new(out: Box<dyn Destination>, clock: Clock) -> Pcapng {
        Pcapng {
            out,
            clock,
            started: false,
            interfaces: HashMap::new(),
            paths: HashMap::new(),
            events: 0,
            packets: 0,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let mut body = Vec::new();
        body.extend(0x1A2B_3C4Du32.to_le_bytes());
        body.extend(1u16.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend((-1i64).to_le_bytes());
        let appl = format!("ipft {}", env!("CARGO_PKG_VERSION"));
        let os = rustix::system::uname();
        let os = format!(
            "{} {}",
            os.sysname().to_string_lossy(),
            os.release().to_string_lossy()
        );
        self.out.write_all(&block(
            SHB,
            &body,
            &[(SHB_USERAPPL, appl.as_bytes()), (SHB_OS, os.as_bytes())],
        ))
    }

    fn interface(&mut self, ev: &Event, link: LinkType, ifname: &str) -> io::Result<u32> {
        let key = (ev.netns, ev.ifindex, link);
        if let Some(id) = self.interfaces.get(&key) {
            return Ok(*id);
        }
        let id = self.interfaces.len() as u32;
        let mut body = Vec::new();
        let linktype = match link {
            LinkType::Ethernet => LINKTYPE_ETHERNET,
            LinkType::Raw => LINKTYPE_RAW,
        };
        body.extend(linktype.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend(0u32.to_le_bytes());
        let name = match (ifname.is_empty(), ev.ifindex) {
            (false, _) => ifname.to_string(),
            (true, 0) => "(no device)".to_string(),
            (true, n) => format!("ifindex {n}"),
        };
        let description = format!(
            "{name}: ifindex {} in network namespace {}{}",
            ev.ifindex,
            ev.netns,
            match link {
                LinkType::Ethernet => "",
                LinkType::Raw => ", from the network header",
            }
        );
        self.out.write_all(&block(
            IDB,
            &body,
            &[
                (IF_NAME, name.as_bytes()),
                (IF_DESCRIPTION, description.as_bytes()),
                (IF_TSRESOL, &[9]),
            ],
        ))?;
        self.interfaces.insert(key, id);
        Ok(id)
    }

    fn path_comment(&self, ev: &Event) -> String {
        let path = self.paths.get(&ev.packet_id).map_or(&[][..], |p| &p[..]);
        let shown = &path[path.len().saturating_sub(PATH_SHOWN)..];
        let earlier = path.len() - shown.len();
        let mut comment = format!(
            "ipft packet {:#x} at {}:{}{}",
            ev.packet_id,
            ev.module,
            ev.function,
            if ev.is_return { " (return)" } else { "" }
        );
        if ev.parent != 0 {
            comment.push_str(&format!(", clone of {:#x}", ev.parent));
        }
        comment.push_str(&format!(", mark {:#x}; path:", ev.mark));
        if earlier > 0 {
            comment.push_str(&format!(" ({earlier} earlier)"));
        }
        for (i, f) in shown.iter().enumerate() {
            comment.push_str(if i == 0 { " " } else { " > " });
            comment.push_str(f);
        }
        comment
    }

    fn on_event(&mut self, ev: Event) -> io::Result<()> {
        self.clock.observe(ev.timestamp);
        self.events += 1;
        if !self.paths.contains_key(&ev.packet_id) && self.paths.len() >= PATHS_KEPT {
            if let Some(old) = self.paths.keys().next().copied() {
                self.paths.remove(&old);
            }
        }
        self.paths
            .entry(ev.packet_id)
            .or_default()
            .push(ev.function.clone());
        if let Some(snap) = &ev.snapshot {
            let interface = self.interface(&ev, snap.link, &snap.ifname)?;
            let ns = self.clock.wall_ns(ev.timestamp).max(0) as u64;
            let mut body = Vec::with_capacity(20 + snap.data.len());
            body.extend(interface.to_le_bytes());
            body.extend(((ns >> 32) as u32).to_le_bytes());
            body.extend((ns as u32).to_le_bytes());
            body.extend((snap.data.len() as u32).to_le_bytes());
            body.extend(snap.wire_len.max(snap.data.len() as u32).to_le_bytes());
            body.extend(&snap.data);
            self.packets += 1;
            let comment = self.path_comment(&ev);
            self.out
                .write_all(&block(EPB, &body, &[(OPT_COMMENT, comment.as_bytes())]))?;
        }
        if ev.end {
            self.paths.remove(&ev.packet_id);
        }
        Ok(())
    }
}

impl Output for Pcapng {
    fn record(&mut self, record: Record) -> io::Result<()> {
        self.start()?;
        match record {
            Record::Event(ev) => self.on_event(*ev),
            // Packets only on stdout: the table goes to stderr.
            Record::DropSummary(rows) => {
                crate::say_part!("{}", super::text::drop_table(&rows));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.start()?;
        if self.events > 0 && self.packets == 0 {
            crate::say!(
                "note: {} events but no packet snapshot, so no packets in the pcapng: trace (or record) with --snaplen",
                self.events
            );
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::TimeFormat;
    use crate::event::model::Snapshot;
    use crate::output::tests::Shared;
    use crate::output::text::tests::event;

    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }

    /// Splits a pcapng stream into (type, body) blocks, checking both lengths.
    fn blocks(mut b: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let (kind, len) = (u32_at(b, 0), u32_at(b, 4) as usize);
            assert_eq!(len % 4, 0);
            assert_eq!(u32_at(b, len - 4) as usize, len, "trailing length");
            out.push((kind, b[8..len - 4].to_vec()));
            b = &b[len..];
        }
        out
    }

    #[test]
    fn snapshots_become_packets_on_named_interfaces() {
        let out = Shared::default();
        let mut p = Pcapng::new(
            Box::new(out.clone()),
            Clock::new(TimeFormat::Monotonic, 1_000_000_000),
        );
        let mut first = event(5, 0, "vmlinux", "ip_output");
        first.ifindex = 3;
        first.netns = 77;
        p.record(Record::Event(Box::new(first.clone()))).unwrap();
        let mut snap = event(6, 0, "vmlinux", "dev_queue_xmit");
        snap.ifindex = 3;
        snap.netns = 77;
        snap.snapshot = Some(Box::new(Snapshot {
            link: LinkType::Ethernet,
            wire_len: 98,
            ifname: "vA".into(),
            data: vec![0xaa; 14],
        }));
        p.record(Record::Event(Box::new(snap.clone()))).unwrap();
        snap.timestamp = 7;
        p.record(Record::Event(Box::new(snap))).unwrap();
        p.finish().unwrap();

        let bytes = out.bytes();
        let blocks = blocks(&bytes);
        let kinds: Vec<u32> = blocks.iter().map(|b| b.0).collect();
        assert_eq!(
            kinds,
            [SHB, IDB, EPB, EPB],
            "one interface for both snapshots"
        );
        assert_eq!(u32_at(&blocks[0].1, 0), 0x1A2B3C4D);
        let idb = &blocks[1].1;
        assert_eq!(u16::from_le_bytes([idb[0], idb[1]]), LINKTYPE_ETHERNET);
        assert!(idb.windows(2).any(|w| w == b"vA"));
        let epb = &blocks[2].1;
        let ts = ((u32_at(epb, 4) as u64) << 32) | u32_at(epb, 8) as u64;
        assert_eq!(ts, 1_000_000_006, "wall-clock nanoseconds");
        assert_eq!((u32_at(epb, 12), u32_at(epb, 16)), (14, 98));
        let text = String::from_utf8_lossy(epb);
        assert!(
            text.contains("ipft packet 0xffff8dee8aea9700 at vmlinux:dev_queue_xmit, mark 0x0; path: ip_output > dev_queue_xmit"),
            "{text}"
        );
    }
}
