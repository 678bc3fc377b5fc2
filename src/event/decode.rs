//! # Decoding the raw stream
//!
//! [`Resolver`]: the probe table (probe id → module and function) and the
//! extension's [`Decoder`] turn each [`RawRecord`] into a [`Record`], once,
//! before any consumer sees it, with the [`Builtins`] (`--fields`, drops).
//! Live tracing and reading an events file use the same resolver, built from
//! the same table, so their records are equal.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::fields::Builtins;
use super::model::{Event, LinkType, Record, Snapshot, NO_HOOK};
use super::raw::{self, RawEvent, RawRecord, EVENT_END, EVENT_SILENT};
use crate::ext::lua::Script;
use crate::ext::Decoder;

/// One traced hook as the events file and the resolver know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub module: String,
    pub function: String,
}

pub struct Resolver {
    names: Vec<(Arc<str>, Arc<str>)>,
    unknown: Arc<str>,
    decoder: Decoder,
    builtins: Builtins,
    /// A Lua extension's `decode()`, in place of `decoder`.
    script: Option<Rc<RefCell<Script>>>,
}

impl Resolver {
    pub fn new(hooks: &[Hook], decoder: Decoder, builtins: Builtins) -> Resolver {
        Resolver {
            decoder,
            builtins,
            names: hooks
                .iter()
                .map(|h| (Arc::from(h.module.as_str()), Arc::from(h.function.as_str())))
                .collect(),
            unknown: Arc::from("(unknown)"),
            script: None,
        }
    }

    /// Decodes extension data with a Lua script instead.
    pub fn with_script(mut self, script: Option<Rc<RefCell<Script>>>) -> Resolver {
        self.script = script;
        self
    }

    /// The first error the Lua script's `decode()` raised, once.
    pub fn script_error(&self) -> Option<String> {
        self.script.as_ref()?.borrow_mut().take_error()
    }

    /// The record to pass on; `None` for what only informs the resolver.
    pub fn record(&mut self, raw: &RawRecord) -> Option<Record> {
        Some(match raw {
            RawRecord::Event(ev) if ev.flags & EVENT_SILENT != 0 => Record::SkbFreed {
                skb: ev.skb,
                timestamp: ev.tstamp,
            },
            RawRecord::Event(ev) => Record::Event(Box::new(self.event(ev))),
            RawRecord::Lost { new, total } => Record::Lost {
                new: *new,
                total: *total,
            },
            RawRecord::TrackingFull { new, total } => Record::TrackingFull {
                new: *new,
                total: *total,
            },
            RawRecord::Tick { now } => Record::Tick { now: *now },
            RawRecord::Symbol { addr, name } => {
                self.builtins.learn_symbol(*addr, name);
                return None;
            }
        })
    }

    fn event(&self, raw: &RawEvent) -> Event {
        let (hook, (module, function)) = match self.names.get(raw.probe_id as usize) {
            Some(names) => (raw.probe_id as u32, names.clone()),
            None => (NO_HOOK, (self.unknown.clone(), self.unknown.clone())),
        };
        let meta = raw.meta();
        let drop = self.builtins.drop_of(raw, meta.as_ref());
        let builtin = if self.builtins.set.is_empty() {
            Vec::new()
        } else {
            self.builtins.fields(raw, meta.as_ref(), drop.as_ref())
        };
        let snapshot = raw::parse_snapshot(raw.snapshot_bytes()).map(|snap| {
            Box::new(Snapshot {
                link: if snap.link == raw::LINK_ETHERNET {
                    LinkType::Ethernet
                } else {
                    LinkType::Raw
                },
                wire_len: snap.wire_len,
                ifname: String::from_utf8_lossy(snap.ifname).into_owned(),
                data: snap.data.to_vec(),
            })
        });
        Event {
            packet_id: raw.packet_id,
            skb: raw.skb,
            parent: raw.parent,
            end: raw.flags & EVENT_END != 0,
            timestamp: raw.tstamp,
            cpu: raw.processor_id,
            hook,
            module,
            function,
            is_return: raw.is_return != 0,
            mark: raw.mark,
            len: raw.len,
            ifindex: raw.ifindex,
            netns: raw.netns,
            builtin,
            drop,
            ext: match &self.script {
                Some(script) => script.borrow_mut().decode(&raw.data),
                None => self.decoder.decode(&raw.data),
            },
            snapshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(probe_id: u64, flags: u8) -> RawEvent {
        RawEvent {
            packet_id: 7,
            tstamp: 100,
            probe_id,
            processor_id: 1,
            is_return: 0,
            flags,
            _pad1: [0; 2],
            skb: 0xff00,
            parent: 0,
            mark: 3,
            len: 60,
            ifindex: 2,
            netns: 4026531840,
            data: [0; raw::DATA_SIZE],
            tail: Vec::new(),
        }
    }

    #[test]
    fn probe_ids_resolve_and_silent_frees_become_skb_freed() {
        let hooks = [Hook {
            module: "vmlinux".into(),
            function: "ip_rcv".into(),
        }];
        let mut r = Resolver::new(
            &hooks,
            Decoder::default(),
            Builtins::new(Default::default(), &[]),
        );
        let Some(Record::Event(ev)) = r.record(&RawRecord::Event(raw(0, EVENT_END))) else {
            panic!("not an event")
        };
        assert_eq!(
            (&*ev.module, &*ev.function, ev.end),
            ("vmlinux", "ip_rcv", true)
        );
        assert_eq!((ev.mark, ev.len, ev.ifindex), (3, 60, 2));
        let Some(Record::Event(ev)) = r.record(&RawRecord::Event(raw(9, 0))) else {
            panic!("not an event")
        };
        assert_eq!(&*ev.function, "(unknown)");
        assert_eq!(
            r.record(&RawRecord::Event(raw(0, EVENT_END | EVENT_SILENT))),
            Some(Record::SkbFreed {
                skb: 0xff00,
                timestamp: 100
            })
        );
        assert_eq!(
            r.record(&RawRecord::Symbol {
                addr: 1,
                name: "f".into()
            }),
            None,
            "symbols only inform the resolver"
        );
    }
}
