//! # Event model
//!
//! What the printers see: events with their hook resolved to a module and
//! function name, and extension data decoded into typed fields. No I/O here.

use std::sync::Arc;

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

/// One extension member of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: Arc<str>,
    pub value: Value,
}

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
    pub timestamp: u64,
    pub cpu: u32,
    pub module: Arc<str>,
    pub function: Arc<str>,
    pub is_return: bool,
    pub ext: Vec<Field>,
}
