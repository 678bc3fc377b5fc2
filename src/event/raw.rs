//! # Raw events
//!
//! The 128-byte record the BPF programs emit, mirrored from
//! `bpf/ipft_common.h` (keep in sync; the size is asserted below and in C).

/// Size of the extension area at the end of every event.
pub const DATA_SIZE: usize = 64;

/// `struct ipft_event` as it arrives from the kernel (native endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
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
    pub _pad2: [u8; 16],
    pub data: [u8; DATA_SIZE],
}

/// `flags`: the packet's skb was freed after this event.
pub const EVENT_END: u8 = 1 << 0;
/// `flags`: only marks a packet's end; not a traced hit.
pub const EVENT_SILENT: u8 = 1 << 1;

pub const RAW_EVENT_SIZE: usize = 128;
const _: () = assert!(std::mem::size_of::<RawEvent>() == RAW_EVENT_SIZE);

impl RawEvent {
    /// Decodes a record; `None` if `bytes` is shorter than one event.
    pub fn parse(bytes: &[u8]) -> Option<RawEvent> {
        let bytes = bytes.get(..RAW_EVENT_SIZE)?;
        let u64_at = |o: usize| u64::from_ne_bytes(bytes[o..o + 8].try_into().unwrap());
        Some(RawEvent {
            packet_id: u64_at(0),
            tstamp: u64_at(8),
            probe_id: u64_at(16),
            processor_id: u32::from_ne_bytes(bytes[24..28].try_into().unwrap()),
            is_return: bytes[28],
            flags: bytes[29],
            _pad1: [0; 2],
            skb: u64_at(32),
            parent: u64_at(40),
            _pad2: [0; 16],
            data: bytes[64..128].try_into().unwrap(),
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
        assert_eq!((ev.data[0], ev.data[63]), (0xaa, 0xbb));
        assert!(RawEvent::parse(&b[..127]).is_none());
    }
}
