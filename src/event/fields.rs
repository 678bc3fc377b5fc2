//! # Built-in fields
//!
//! What `--fields` and `--drops` add to every event without an extension:
//! the 5-tuple, the device, the network namespace, the length, the mark and,
//! where the kernel dropped the packet, the drop reason (by its name in the
//! running kernel's `enum skb_drop_reason`) and the dropping code. The
//! [`FieldSet`] says which; [`Builtins`] turns a raw event into typed
//! [`Field`]s, printed before the extension's in every output.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::model::{Drop, Field, Value};
use super::raw::{RawEvent, RawMeta, EVENT_DROP};

/// Which built-in fields a run shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSet {
    /// l3, saddr, daddr, proto, sport/dport, tcp_flags, icmp_type/icmp_code.
    pub tuple: bool,
    /// ifindex and ifname.
    pub dev: bool,
    pub netns: bool,
    pub len: bool,
    pub mark: bool,
    /// drop_reason and drop_location, on the events where the kernel drops.
    pub drop: bool,
}

/// The JSON keys of each group, in the order they print.
const TUPLE_KEYS: &[&str] = &[
    "l3",
    "saddr",
    "daddr",
    "proto",
    "sport",
    "dport",
    "tcp_flags",
    "icmp_type",
    "icmp_code",
];
const DEV_KEYS: &[&str] = &["ifindex", "ifname"];
const DROP_KEYS: &[&str] = &["drop_reason", "drop_location"];

impl FieldSet {
    pub fn all() -> FieldSet {
        FieldSet {
            tuple: true,
            dev: true,
            netns: true,
            len: true,
            mark: true,
            drop: true,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == FieldSet::default()
    }

    /// The programs send a `struct ipft_meta` after each event.
    pub fn needs_meta(&self) -> bool {
        self.tuple || self.dev || self.drop
    }

    /// What `self` asks for that only a recording with it holds (netns, len
    /// and mark are in every event), as the options that record it.
    pub fn not_recorded(&self, recorded: &FieldSet) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.tuple && !recorded.tuple {
            missing.push("--fields tuple");
        }
        if self.dev && !recorded.dev {
            missing.push("--fields dev");
        }
        if self.drop && !recorded.drop {
            missing.push("--drops");
        }
        missing
    }

    /// Every key these fields may use (an extension may not reuse them).
    pub fn keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.tuple {
            keys.extend(TUPLE_KEYS);
        }
        if self.dev {
            keys.extend(DEV_KEYS);
        }
        if self.netns {
            keys.push("netns");
        }
        if self.len {
            keys.push("len");
        }
        if self.mark {
            keys.push("mark");
        }
        if self.drop {
            keys.extend(DROP_KEYS);
        }
        keys
    }
}

/// Refuses an extension member named like one of the fields shown.
pub fn check_clash(set: &FieldSet, decoder: &crate::ext::Decoder) -> anyhow::Result<()> {
    let keys = set.keys();
    if let Some(name) = decoder.names().find(|n| keys.contains(n)) {
        anyhow::bail!(
            "the extension's member '{name}' has the name of a built-in field: rename it, or leave that field out of --fields"
        );
    }
    Ok(())
}

/// IP protocol numbers by their usual names.
fn proto_name(proto: u8) -> Option<&'static str> {
    Some(match proto {
        1 => "icmp",
        2 => "igmp",
        4 => "ipip",
        6 => "tcp",
        17 => "udp",
        41 => "ipv6",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        132 => "sctp",
        _ => return None,
    })
}

const TCP_FLAGS: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

/// Drop reason names: `SKB_DROP_REASON_NO_SOCKET` is `NO_SOCKET`.
pub fn short_reason(name: &str) -> &str {
    name.strip_prefix("SKB_DROP_REASON_")
        .or_else(|| name.strip_prefix("SKB_"))
        .unwrap_or(name)
}

/// Turns raw events into built-in fields.
pub struct Builtins {
    pub set: FieldSet,
    reasons: HashMap<u32, Arc<str>>,
    /// Drop locations named by the stream's `Symbol` records.
    symbols: HashMap<u64, Arc<str>>,
}

impl Builtins {
    /// `reasons`: the kernel's `enum skb_drop_reason`, value → enumerator.
    pub fn new(set: FieldSet, reasons: &[(u32, String)]) -> Builtins {
        Builtins {
            set,
            reasons: reasons
                .iter()
                .map(|(v, name)| (*v, Arc::from(short_reason(name))))
                .collect(),
            symbols: HashMap::new(),
        }
    }

    pub fn learn_symbol(&mut self, addr: u64, name: &str) {
        self.symbols.insert(addr, Arc::from(name));
    }

    /// The drop an event records, if it is one.
    pub fn drop_of(&self, raw: &RawEvent, meta: Option<&RawMeta>) -> Option<Drop> {
        if raw.flags & EVENT_DROP == 0 {
            return None;
        }
        let meta = meta?;
        let reason = if self.reasons.is_empty() {
            Arc::from("unknown")
        } else {
            self.reasons
                .get(&meta.drop_reason)
                .cloned()
                .unwrap_or_else(|| Arc::from(format!("reason {}", meta.drop_reason)))
        };
        let location = self
            .symbols
            .get(&meta.location)
            .cloned()
            .unwrap_or_else(|| Arc::from(format!("{:#x}", meta.location)));
        Some(Drop { reason, location })
    }

    /// The fields of one event, in print order.
    pub fn fields(
        &self,
        raw: &RawEvent,
        meta: Option<&RawMeta>,
        drop: Option<&Drop>,
    ) -> Vec<Field> {
        let set = self.set;
        let mut out = Vec::new();
        let mut push = |name: &str, value: Value| {
            out.push(Field {
                name: Arc::from(name),
                value,
            })
        };
        if set.tuple {
            if let Some(m) = meta.filter(|m| m.l3 == 4 || m.l3 == 6) {
                let (saddr, daddr) = if m.l3 == 4 {
                    let v4 = |a: &[u8; 16]| Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string();
                    (v4(&m.saddr), v4(&m.daddr))
                } else {
                    (
                        Ipv6Addr::from(m.saddr).to_string(),
                        Ipv6Addr::from(m.daddr).to_string(),
                    )
                };
                push("l3", Value::Str(format!("ipv{}", m.l3)));
                push("saddr", Value::Str(saddr));
                push("daddr", Value::Str(daddr));
                push(
                    "proto",
                    Value::Str(proto_name(m.l4).map_or_else(|| m.l4.to_string(), str::to_string)),
                );
                match m.l4 {
                    6 | 17 => {
                        push("sport", Value::Unsigned(m.sport.into()));
                        push("dport", Value::Unsigned(m.dport.into()));
                        if m.l4 == 6 {
                            let names = (0..8)
                                .filter(|bit| m.tcp_flags & (1 << bit) != 0)
                                .map(|bit| TCP_FLAGS[bit].to_string())
                                .collect();
                            push("tcp_flags", Value::Flags(names));
                        }
                    }
                    1 | 58 => {
                        push("icmp_type", Value::Unsigned(m.icmp_type.into()));
                        push("icmp_code", Value::Unsigned(m.icmp_code.into()));
                    }
                    _ => {}
                }
            }
        }
        if set.dev {
            push("ifindex", Value::Unsigned(raw.ifindex.into()));
            if let Some(m) = meta {
                push(
                    "ifname",
                    Value::Str(String::from_utf8_lossy(m.ifname()).into_owned()),
                );
            }
        }
        if set.netns {
            push("netns", Value::Unsigned(raw.netns.into()));
        }
        if set.len {
            push("len", Value::Unsigned(raw.len.into()));
        }
        if set.mark {
            push("mark", Value::Unsigned(raw.mark.into()));
        }
        if set.drop {
            if let Some(d) = drop {
                push("drop_reason", Value::Enum(d.reason.to_string()));
                push("drop_location", Value::Str(d.location.to_string()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::raw::{EVENT_META, META_SIZE};

    fn raw_with(meta: &RawMeta, flags: u8) -> RawEvent {
        let mut b = vec![0u8; 128];
        b[29] = flags | EVENT_META;
        b[48..52].copy_from_slice(&7u32.to_ne_bytes());
        b[52..56].copy_from_slice(&60u32.to_ne_bytes());
        b[56..60].copy_from_slice(&3u32.to_ne_bytes());
        b[60..64].copy_from_slice(&4026531840u32.to_ne_bytes());
        let mut m = [0u8; META_SIZE];
        m[..16].copy_from_slice(&meta.ifname);
        m[16..32].copy_from_slice(&meta.saddr);
        m[32..48].copy_from_slice(&meta.daddr);
        m[48..50].copy_from_slice(&meta.sport.to_ne_bytes());
        m[50..52].copy_from_slice(&meta.dport.to_ne_bytes());
        m[52] = meta.l3;
        m[53] = meta.l4;
        m[54] = meta.tcp_flags;
        m[55] = meta.icmp_type;
        m[56] = meta.icmp_code;
        m[60..64].copy_from_slice(&meta.drop_reason.to_ne_bytes());
        m[64..72].copy_from_slice(&meta.location.to_ne_bytes());
        b.extend(m);
        RawEvent::parse(&b).unwrap()
    }

    fn render(fields: &[Field]) -> String {
        fields
            .iter()
            .map(|f| format!("{}={}", f.name, f.value))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn tuples_devices_and_drops_render_typed() {
        let mut meta = RawMeta {
            l3: 4,
            l4: 6,
            sport: 40000,
            dport: 80,
            tcp_flags: 0x12,
            drop_reason: 2,
            location: 0xffffffff81001234,
            ..RawMeta::default()
        };
        meta.ifname[..2].copy_from_slice(b"vB");
        meta.saddr[..4].copy_from_slice(&[10, 0, 0, 1]);
        meta.daddr[..4].copy_from_slice(&[10, 0, 0, 2]);
        let raw = raw_with(&meta, EVENT_DROP);
        let mut b = Builtins::new(
            FieldSet::all(),
            &[
                (2, "SKB_DROP_REASON_NO_SOCKET".into()),
                (1, "SKB_CONSUMED".into()),
            ],
        );
        b.learn_symbol(0xffffffff81001234, "__udp4_lib_rcv+0x1f4");
        let m = raw.meta().unwrap();
        let drop = b.drop_of(&raw, Some(&m)).unwrap();
        assert_eq!(&*drop.reason, "NO_SOCKET");
        assert_eq!(
            render(&b.fields(&raw, Some(&m), Some(&drop))),
            "l3=ipv4 saddr=10.0.0.1 daddr=10.0.0.2 proto=tcp sport=40000 dport=80 tcp_flags=SYN|ACK ifindex=3 ifname=vB netns=4026531840 len=60 mark=7 drop_reason=NO_SOCKET drop_location=__udp4_lib_rcv+0x1f4"
        );

        meta.l3 = 6;
        meta.l4 = 58;
        meta.icmp_type = 128;
        meta.saddr = "fd00::1".parse::<Ipv6Addr>().unwrap().octets();
        meta.daddr = "fd00::2".parse::<Ipv6Addr>().unwrap().octets();
        let raw = raw_with(&meta, 0);
        let m = raw.meta().unwrap();
        assert!(b.drop_of(&raw, Some(&m)).is_none(), "not a drop event");
        let only_tuple = Builtins::new(
            FieldSet {
                tuple: true,
                ..FieldSet::default()
            },
            &[],
        );
        assert_eq!(
            render(&only_tuple.fields(&raw, Some(&m), None)),
            "l3=ipv6 saddr=fd00::1 daddr=fd00::2 proto=icmpv6 icmp_type=128 icmp_code=0"
        );
    }

    #[test]
    fn unknown_reasons_and_locations_still_say_something() {
        let meta = RawMeta {
            drop_reason: 77,
            location: 0x10,
            ..RawMeta::default()
        };
        let raw = raw_with(&meta, EVENT_DROP);
        let m = raw.meta().unwrap();
        let with_names = Builtins::new(FieldSet::all(), &[(2, "SKB_DROP_REASON_NO_SOCKET".into())]);
        let d = with_names.drop_of(&raw, Some(&m)).unwrap();
        assert_eq!((&*d.reason, &*d.location), ("reason 77", "0x10"));
        let without = Builtins::new(FieldSet::all(), &[]);
        assert_eq!(&*without.drop_of(&raw, Some(&m)).unwrap().reason, "unknown");
        assert!(
            render(&without.fields(&raw, Some(&m), None)).starts_with("ifindex=3 ifname= netns="),
            "no IP header: no tuple"
        );
    }
}
