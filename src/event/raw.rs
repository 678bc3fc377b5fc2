//! # Raw events
//!
//! The 128-byte record the BPF programs emit, mirrored from
//! `bpf/ipft_common.h` (keep in sync; the size is asserted below and in C),
//! with the optional packet snapshot after it, and [`RawRecord`]: the
//! undecoded stream that the events file stores and [`super::decode`] turns
//! into [`super::model::Record`]s.

/// Size of the extension area at the end of every event.
pub const DATA_SIZE: usize = 64;

/// `struct ipft_event` as it arrives from the kernel (native endian), and
/// what followed it in the same record (`struct ipft_snapshot` and bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub packet_id: u64,
    pub tstamp: u64,
    pub probe_id: u64,
    pub processor_id: u32,
    pub is_return: u8,
    pub flags: u8,
    pub _pad1: [u8; 2],
    pub skb: u64,
    pub parent: u64,
    pub mark: u32,
    pub len: u32,
    pub ifindex: u32,
    pub netns: u32,
    pub data: [u8; DATA_SIZE],
    /// Bytes after the 128-byte head: empty, or a snapshot.
    pub tail: Vec<u8>,
}

/// The undecoded stream: kernel records and the counters and clock that the
/// stream loop adds. What the events file stores, record for record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawRecord {
    Event(RawEvent),
    Lost {
        new: u64,
        total: u64,
    },
    TrackingFull {
        new: u64,
        total: u64,
    },
    Tick {
        now: u64,
    },
    /// The kernel symbol at `addr` (a drop location), written into the
    /// stream before the first event that needs it, so that an events file
    /// names locations without the recording machine's kallsyms.
    Symbol {
        addr: u64,
        name: String,
    },
}

/// `flags`: the packet's skb was freed after this event.
pub const EVENT_END: u8 = 1 << 0;
/// `flags`: only marks a packet's end; not a traced hit.
pub const EVENT_SILENT: u8 = 1 << 1;
/// `flags`: a [`RawMeta`] follows the event (before any snapshot).
pub const EVENT_META: u8 = 1 << 2;
/// `flags`: the kernel dropped the skb here (the kfree_skb tracepoint).
pub const EVENT_DROP: u8 = 1 << 3;

/// `struct ipft_meta`: the built-in fields after the event.
pub const META_SIZE: usize = 72;

/// The built-in fields of one event (`struct ipft_meta`), zero where unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawMeta {
    pub ifname: [u8; 16],
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    pub sport: u16,
    pub dport: u16,
    /// 4, 6, or 0 (no IP header found).
    pub l3: u8,
    pub l4: u8,
    pub tcp_flags: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub drop_reason: u32,
    pub location: u64,
}

impl RawMeta {
    pub fn parse(b: &[u8]) -> Option<RawMeta> {
        let b = b.get(..META_SIZE)?;
        let u16_at = |o: usize| u16::from_ne_bytes([b[o], b[o + 1]]);
        Some(RawMeta {
            ifname: b[0..16].try_into().unwrap(),
            saddr: b[16..32].try_into().unwrap(),
            daddr: b[32..48].try_into().unwrap(),
            sport: u16_at(48),
            dport: u16_at(50),
            l3: b[52],
            l4: b[53],
            tcp_flags: b[54],
            icmp_type: b[55],
            icmp_code: b[56],
            drop_reason: u32::from_ne_bytes(b[60..64].try_into().unwrap()),
            location: u64::from_ne_bytes(b[64..72].try_into().unwrap()),
        })
    }

    /// The device name, without its NUL padding.
    pub fn ifname(&self) -> &[u8] {
        let end = self.ifname.iter().position(|&b| b == 0).unwrap_or(16);
        &self.ifname[..end]
    }
}

pub const RAW_EVENT_SIZE: usize = 128;

/// `struct ipft_snapshot`: the header of the bytes after the event
/// (`cap_len` u16, `link` u8, pad, `wire_len` u32, `ifname` char[16]).
pub const SNAPSHOT_HEADER: usize = 24;
/// `ipft_snapshot.link`: bytes start at the MAC header / network header.
pub const LINK_ETHERNET: u8 = 0;
pub const LINK_RAW: u8 = 1;

/// A snapshot in a record's tail.
#[derive(Debug, PartialEq, Eq)]
pub struct RawSnapshot<'a> {
    pub link: u8,
    pub wire_len: u32,
    /// The device name, NUL-padded.
    pub ifname: &'a [u8],
    pub data: &'a [u8],
}

pub fn parse_snapshot(tail: &[u8]) -> Option<RawSnapshot<'_>> {
    let head = tail.get(..SNAPSHOT_HEADER)?;
    let cap_len = u16::from_ne_bytes([head[0], head[1]]) as usize;
    let ifname = &head[8..24];
    let end = ifname.iter().position(|&b| b == 0).unwrap_or(ifname.len());
    Some(RawSnapshot {
        link: head[2],
        wire_len: u32::from_ne_bytes(head[4..8].try_into().unwrap()),
        ifname: &ifname[..end],
        data: tail.get(SNAPSHOT_HEADER..SNAPSHOT_HEADER + cap_len)?,
    })
}

impl RawEvent {
    /// The built-in fields, on events of a run that asked for them.
    pub fn meta(&self) -> Option<RawMeta> {
        if self.flags & EVENT_META == 0 {
            return None;
        }
        RawMeta::parse(&self.tail)
    }

    /// The snapshot part of the tail (after the built-in fields).
    pub fn snapshot_bytes(&self) -> &[u8] {
        if self.flags & EVENT_META == 0 {
            &self.tail
        } else {
            self.tail.get(META_SIZE..).unwrap_or_default()
        }
    }

    /// Decodes a record; `None` if `bytes` is shorter than one event.
    pub fn parse(record: &[u8]) -> Option<RawEvent> {
        let mut ev = Self::parse_head(record)?;
        if record.len() > RAW_EVENT_SIZE {
            ev.tail = record[RAW_EVENT_SIZE..].to_vec();
        }
        Some(ev)
    }

    fn parse_head(record: &[u8]) -> Option<RawEvent> {
        let bytes = record.get(..RAW_EVENT_SIZE)?;
        let u64_at = |o: usize| u64::from_ne_bytes(bytes[o..o + 8].try_into().unwrap());
        let u32_at = |o: usize| u32::from_ne_bytes(bytes[o..o + 4].try_into().unwrap());
        Some(RawEvent {
            packet_id: u64_at(0),
            tstamp: u64_at(8),
            probe_id: u64_at(16),
            processor_id: u32_at(24),
            is_return: bytes[28],
            flags: bytes[29],
            _pad1: [0; 2],
            skb: u64_at(32),
            parent: u64_at(40),
            mark: u32_at(48),
            len: u32_at(52),
            ifindex: u32_at(56),
            netns: u32_at(60),
            data: bytes[64..128].try_into().unwrap(),
            tail: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_hand_built_record() {
        let mut b = vec![0u8; 128];
        b[0..8].copy_from_slice(&0xffff8dee8aea9700u64.to_ne_bytes());
        b[8..16].copy_from_slice(&25340022558860u64.to_ne_bytes());
        b[16..24].copy_from_slice(&7u64.to_ne_bytes());
        b[24..28].copy_from_slice(&3u32.to_ne_bytes());
        b[28] = 1;
        b[29] = EVENT_END;
        b[32..40].copy_from_slice(&0xffff8dee8aea9700u64.to_ne_bytes());
        b[40..48].copy_from_slice(&9u64.to_ne_bytes());
        b[48..52].copy_from_slice(&0xdeadbeefu32.to_ne_bytes());
        b[52..56].copy_from_slice(&84u32.to_ne_bytes());
        b[56..60].copy_from_slice(&2u32.to_ne_bytes());
        b[60..64].copy_from_slice(&4026531840u32.to_ne_bytes());
        b[64] = 0xaa;
        b[127] = 0xbb;
        let ev = RawEvent::parse(&b).unwrap();
        assert_eq!(ev.packet_id, 0xffff8dee8aea9700);
        assert_eq!(ev.tstamp, 25340022558860);
        assert_eq!(ev.probe_id, 7);
        assert_eq!(ev.processor_id, 3);
        assert_eq!(ev.is_return, 1);
        assert_eq!(ev.flags, EVENT_END);
        assert_eq!(ev.skb, 0xffff8dee8aea9700);
        assert_eq!(ev.parent, 9);
        assert_eq!(
            (ev.mark, ev.len, ev.ifindex, ev.netns),
            (0xdeadbeef, 84, 2, 4026531840)
        );
        assert_eq!((ev.data[0], ev.data[63]), (0xaa, 0xbb));
        assert!(ev.tail.is_empty());
        assert!(RawEvent::parse(&b[..127]).is_none());

        // A snapshot after the head: 24-byte header, then the bytes.
        b.extend(3u16.to_ne_bytes());
        b.extend([LINK_RAW, 0]);
        b.extend(60u32.to_ne_bytes());
        b.extend(b"vB\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        b.extend([0x45, 0, 0x3c, 0xff]);
        let ev = RawEvent::parse(&b).unwrap();
        assert_eq!(
            parse_snapshot(&ev.tail),
            Some(RawSnapshot {
                link: LINK_RAW,
                wire_len: 60,
                ifname: b"vB",
                data: &[0x45, 0, 0x3c]
            })
        );
        assert_eq!(parse_snapshot(&ev.tail[..26]), None, "cut short");
    }

    #[test]
    fn built_in_fields_come_before_the_snapshot() {
        let mut b = vec![0u8; 128];
        b[29] = EVENT_META | EVENT_DROP;
        let mut meta = [0u8; META_SIZE];
        meta[..3].copy_from_slice(b"vB\0");
        meta[16..20].copy_from_slice(&[10, 0, 0, 1]);
        meta[32..36].copy_from_slice(&[10, 0, 0, 2]);
        meta[48..50].copy_from_slice(&1234u16.to_ne_bytes());
        meta[50..52].copy_from_slice(&9u16.to_ne_bytes());
        meta[52] = 4;
        meta[53] = 17;
        meta[60..64].copy_from_slice(&2u32.to_ne_bytes());
        meta[64..72].copy_from_slice(&0xffffffff81000010u64.to_ne_bytes());
        b.extend(meta);
        b.extend(3u16.to_ne_bytes());
        b.extend([LINK_RAW, 0]);
        b.extend(60u32.to_ne_bytes());
        b.extend([0u8; 16]);
        b.extend([0x45, 0, 0x3c]);
        let ev = RawEvent::parse(&b).unwrap();
        let m = ev.meta().unwrap();
        assert_eq!(m.ifname(), b"vB");
        assert_eq!((m.l3, m.l4, m.sport, m.dport), (4, 17, 1234, 9));
        assert_eq!((m.drop_reason, m.location), (2, 0xffffffff81000010));
        assert_eq!(
            parse_snapshot(ev.snapshot_bytes()).unwrap().data,
            &[0x45, 0, 0x3c]
        );
        let mut plain = ev.clone();
        plain.flags = 0;
        assert_eq!(plain.meta(), None, "no flag, no fields");
    }
}
