//! # Event model
//!
//! The one stream every consumer reads: [`Record`]s, made from kernel bytes
//! by [`super::decode`] (live) or read back from an events file
//! ([`super::file`]). An [`Event`] has its hook resolved to a module and
//! function name and its extension data decoded into typed [`Field`]s. No
//! I/O here.

use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A decoded extension value (produced by extension decoding).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Unsigned(u64),
    Signed(i64),
    Bool(bool),
    Char(char),
    Hex(u64),
    Pointer(u64),
    Enum(String),
    Flags(Vec<String>),
    Str(String),
    Bytes(Vec<u8>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Unsigned(v) => write!(f, "{v}"),
            Value::Signed(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Char(c) => write!(f, "{c}"),
            Value::Hex(v) | Value::Pointer(v) => write!(f, "{v:#x}"),
            Value::Enum(s) | Value::Str(s) => f.write_str(s),
            Value::Flags(names) if names.is_empty() => f.write_str("<none>"),
            Value::Flags(names) => f.write_str(&names.join("|")),
            Value::Bytes(bytes) => bytes.iter().try_for_each(|b| write!(f, "{b:02x}")),
        }
    }
}

/// Numbers stay numbers and booleans booleans; everything else is its text.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Unsigned(v) => s.serialize_u64(*v),
            Value::Signed(v) => s.serialize_i64(*v),
            Value::Bool(v) => s.serialize_bool(*v),
            other => s.collect_str(other),
        }
    }
}

/// One extension member of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: Arc<str>,
    pub value: Value,
}

/// How a packet's bytes start in a [`Snapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// From the MAC (Ethernet) header.
    Ethernet,
    /// From the network header (no MAC header yet, or none at all).
    Raw,
}

/// The first bytes of a packet as one hook saw it (`--snaplen`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub link: LinkType,
    /// The packet's length from the first captured byte on.
    pub wire_len: u32,
    /// The name of the device the skb had (empty: none).
    pub ifname: String,
    pub data: Vec<u8>,
}

/// [`Event::hook`] of an event whose hook the table does not have.
pub const NO_HOOK: u32 = u32::MAX;

/// One hit of one hook by one packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The packet's id: unique per packet for the whole run while tracking,
    /// the skb address with --no-track.
    pub packet_id: u64,
    /// The `struct sk_buff` address.
    pub skb: u64,
    /// The id of the packet this one was cloned from, or 0.
    pub parent: u64,
    /// The packet's skb was freed after this event.
    pub end: bool,
    /// CLOCK_MONOTONIC nanoseconds.
    pub timestamp: u64,
    pub cpu: u32,
    /// The hook's index in the run's hook table (which the events file
    /// stores): equal indexes, equal `module` and `function`. [`NO_HOOK`]
    /// where the hook is unknown.
    pub hook: u32,
    pub module: Arc<str>,
    pub function: Arc<str>,
    pub is_return: bool,
    /// `skb->mark`, `skb->len`, the device's ifindex (0: none) and its
    /// network namespace inode (0: unknown) at this hook.
    pub mark: u32,
    pub len: u32,
    pub ifindex: u32,
    pub netns: u32,
    /// Built-in fields (`--fields`, `--drops`), printed before `ext`.
    pub builtin: Vec<Field>,
    /// Where the kernel dropped the packet, on the event that saw it.
    pub drop: Option<Drop>,
    pub ext: Vec<Field>,
    /// The packet's first bytes, where `--snaplen` asked for them and the
    /// packet was new or had changed since its last snapshot. Boxed: most
    /// events have none, and every event is moved along the stream.
    pub snapshot: Option<Box<Snapshot>>,
}

/// A drop: the kernel's reason (its `enum skb_drop_reason` name without
/// the `SKB_DROP_REASON_` prefix, `unknown` on kernels without reasons) and
/// the dropping code (`function+0xoffset`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drop {
    pub reason: Arc<str>,
    pub location: Arc<str>,
}

impl Drop {
    /// The function of the location, without its offset.
    pub fn function(&self) -> &str {
        self.location
            .split_once('+')
            .map_or(&*self.location, |(f, _)| f)
    }
}

/// One row of the drop summary: packets dropped for `reason` in `function`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DropCount {
    pub reason: String,
    pub location: String,
    pub count: u64,
}

/// Everything the kernel side tells userspace, in stream order.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A traced hit. Boxed: a record is handed along the stream by value,
    /// and a pointer moves where the whole event would be copied each time.
    Event(Box<Event>),
    /// `new` events were lost since the last such record (`total` since start).
    Lost { new: u64, total: u64 },
    /// `new` hits of matching packets found the tracking map full.
    TrackingFull { new: u64, total: u64 },
    /// The skb at `skb` was freed outside the traced hooks.
    SkbFreed { skb: u64, timestamp: u64 },
    /// The clock advanced to `now` (CLOCK_MONOTONIC ns) with nothing else
    /// to say: what lets packets finish by idleness, live or read back.
    Tick { now: u64 },
    /// At the end of a `--drops` stream: drops by reason and location, most
    /// first.
    DropSummary(Vec<DropCount>),
}

/// ipft's own keys in a JSON event, in order; extension members may not
/// reuse them (checked when the extension is opened).
pub const RESERVED_KEYS: &[&str] = &[
    "packet_id",
    "timestamp",
    "processor_id",
    "module",
    "function",
    "is_return",
    "skb",
    "parent",
    "packet",
];
