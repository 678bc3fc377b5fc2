//! # JSON output
//!
//! One JSON object per line, written as records arrive, rendered by serde
//! from the record model. This rustdoc is the format's specification
//! (format version 1; README and man page repeat it).
//!
//! The first line describes the stream:
//!
//! ```text
//! {"format_version":1,"ipft_version":"0.1.0","clock":"monotonic"}
//! ```
//!
//! `format_version` grows when a key changes meaning or type; new keys may
//! appear without it. `clock` is `monotonic`, `wall` or `relative` (see
//! `--timestamp`). Then one object per event, with ipftrace2's keys and order:
//!
//! ```text
//! {"packet_id":"0xffff8dee8aea9700","timestamp":25340022558860,"processor_id":0,
//!  "module":"vmlinux","function":"ip_rcv","is_return":false,"skb":"0x…"[,"parent":"0x…"]
//!  [,"<field>":<value>...]}
//! ```
//!
//! * `packet_id`: the packet's id as a `0x` lowercase hex string: unique per
//!   packet for the whole run while tracking (ipftrace2 used the skb address,
//!   which the kernel reuses; `--no-track` brings that back).
//! * `timestamp`: CLOCK_MONOTONIC nanoseconds (a number); with
//!   `--timestamp relative` nanoseconds since the stream's first event (a
//!   number, negative for an event that arrived later but happened earlier);
//!   with `--timestamp wall` an RFC 3339 UTC string with nanoseconds.
//! * `processor_id`: the CPU. `module`/`function`: for tracepoint events, the
//!   category and tracepoint.
//! * `skb`: the `struct sk_buff` address (ipft only), then `parent` (the id of
//!   the packet this one was cloned from) when there is one, then `packet`:
//!   the packet's first bytes as a hex string, on the events that carry a
//!   snapshot (`--snaplen`: a packet's first event and wherever its length or
//!   headers changed).
//! * Built-in fields follow where `--fields`/`--drops` asked for them, typed:
//!   `l3` (`"ipv4"`/`"ipv6"`), `saddr`, `daddr`, `proto` (`"tcp"`, `"udp"`,
//!   `"icmp"`, `"icmpv6"`, … or the number as a string) as strings;
//!   `sport`, `dport` (TCP and UDP) numbers; `tcp_flags` a string
//!   (`"SYN|ACK"`); `icmp_type`, `icmp_code` numbers; `ifindex` a number,
//!   `ifname` a string; `netns`, `len`, `mark` numbers; on the event where
//!   the kernel drops the packet, `drop_reason` (the kernel's `enum
//!   skb_drop_reason` name without `SKB_DROP_REASON_`) and `drop_location`
//!   (`function+0xoffset`) as strings. Tuple keys are absent where no IP
//!   header was found.
//! * Extension fields follow, typed: integers as numbers, booleans as
//!   `true`/`false`, everything else (hex, enum and flag names, characters,
//!   pointers, strings) as strings. ipftrace2 made every value a string. An
//!   extension member may not be named like one of the keys above: such an
//!   extension is refused when it is opened.
//!
//! Strings are escaped (ipftrace2 did not escape). When events are lost a
//! record `{"lost_events":N,"total_lost_events":T}` is written in the stream
//! at the point the loss was noticed; when matching packets find the tracking
//! map full, `{"tracking_map_full":N,"total_tracking_map_full":T}` (hits of
//! matching packets that could not be followed).
//! With `--drops`, the last record is
//! `{"drop_summary":[{"reason":R,"location":F,"count":N},...],"total_drops":T}`:
//! drops by reason and dropping function, most first.

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::text::Clock;
use super::Output;
use crate::event::model::{Event, Record};

/// The format version in the first line.
pub const FORMAT_VERSION: u32 = 1;

pub struct Json {
    out: Box<dyn Write>,
    clock: Clock,
    started: bool,
    /// Lines are built here and written in one call each: serde_json writes
    /// a line in dozens of small pieces, too many for a `dyn Write`.
    line_buf: Vec<u8>,
}

impl Json {
    pub fn new(out: Box<dyn Write>, clock: Clock) -> Json {
        Json {
            out,
            clock,
            started: false,
            line_buf: Vec::with_capacity(1024),
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            let head = Head {
                format_version: FORMAT_VERSION,
                ipft_version: env!("CARGO_PKG_VERSION"),
                clock: self.clock.format().to_string(),
            };
            self.line(&head)?;
        }
        Ok(())
    }

    fn line(&mut self, value: &impl Serialize) -> io::Result<()> {
        write_line(&mut self.line_buf, &mut self.out, value)
    }
}

/// Builds one line in `buf`, then writes it to `out` in one call.
fn write_line(buf: &mut Vec<u8>, out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    buf.clear();
    serde_json::to_writer(&mut *buf, value).map_err(io::Error::from)?;
    buf.push(b'\n');
    out.write_all(buf)
}

#[derive(Serialize)]
struct Head {
    format_version: u32,
    ipft_version: &'static str,
    clock: String,
}

struct Hex(u64);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 18];
        let mut at = buf.len();
        let mut v = self.0;
        loop {
            at -= 1;
            buf[at] = DIGITS[(v & 0xf) as usize];
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        buf[at - 2..at].copy_from_slice(b"0x");
        // Only ASCII digits and "0x" were written.
        s.serialize_str(std::str::from_utf8(&buf[at - 2..]).unwrap_or_default())
    }
}

struct HexBytes<'a>(&'a [u8]);

impl Serialize for HexBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(self.0.len() * 2);
        for b in self.0 {
            use std::fmt::Write as _;
            let _ = write!(text, "{b:02x}");
        }
        s.serialize_str(&text)
    }
}

/// The wire view of one event: ipftrace2's keys in its order, then ipft's.
pub struct JsonEvent<'a> {
    pub ev: &'a Event,
    pub clock: &'a Clock,
}

impl Serialize for JsonEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ev = self.ev;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("packet_id", &Hex(ev.packet_id))?;
        map.serialize_entry("timestamp", &self.clock.stamp(ev.timestamp))?;
        map.serialize_entry("processor_id", &ev.cpu)?;
        map.serialize_entry("module", &*ev.module)?;
        map.serialize_entry("function", &*ev.function)?;
        map.serialize_entry("is_return", &ev.is_return)?;
        map.serialize_entry("skb", &Hex(ev.skb))?;
        if ev.parent != 0 {
            map.serialize_entry("parent", &Hex(ev.parent))?;
        }
        if let Some(snap) = &ev.snapshot {
            map.serialize_entry("packet", &HexBytes(&snap.data))?;
        }
        for f in ev.builtin.iter().chain(&ev.ext) {
            map.serialize_entry(&*f.name, &f.value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct LostLine {
    lost_events: u64,
    total_lost_events: u64,
}

#[derive(Serialize)]
struct DropSummaryLine<'a> {
    drop_summary: &'a [crate::event::model::DropCount],
    total_drops: u64,
}

#[derive(Serialize)]
struct TrackingFullLine {
    tracking_map_full: u64,
    total_tracking_map_full: u64,
}

impl Output for Json {
    fn record(&mut self, record: Record) -> io::Result<()> {
        self.start()?;
        match record {
            Record::Event(ev) => {
                self.clock.observe(ev.timestamp);
                let line = JsonEvent {
                    ev: &ev,
                    clock: &self.clock,
                };
                write_line(&mut self.line_buf, &mut self.out, &line)
            }
            Record::Lost { new, total } => {
                self.line(&LostLine {
                    lost_events: new,
                    total_lost_events: total,
                })?;
                self.out.flush()
            }
            Record::TrackingFull { new, total } => {
                self.line(&TrackingFullLine {
                    tracking_map_full: new,
                    total_tracking_map_full: total,
                })?;
                self.out.flush()
            }
            Record::DropSummary(rows) => {
                self.line(&DropSummaryLine {
                    drop_summary: &rows,
                    total_drops: rows.iter().map(|r| r.count).sum(),
                })?;
                self.out.flush()
            }
            Record::SkbFreed { .. } | Record::Tick { .. } => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.start()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::TimeFormat;
    use crate::event::model::{Field, Value};
    use crate::output::text::tests::event;

    fn event_json(ev: &Event) -> String {
        serde_json::to_string(&JsonEvent {
            ev,
            clock: &Clock::monotonic(),
        })
        .unwrap()
    }

    #[test]
    fn event_matches_ipftrace2_keys_and_order() {
        let mut ev = event(25340022558860, 0, "vmlinux", "validate_xmit_xfrm");
        ev.is_return = true;
        assert_eq!(
            event_json(&ev),
            r#"{"packet_id":"0xffff8dee8aea9700","timestamp":25340022558860,"processor_id":0,"module":"vmlinux","function":"validate_xmit_xfrm","is_return":true,"skb":"0xffff8dee8aea9700"}"#
        );
        ev.parent = 0x10;
        assert!(event_json(&ev).ends_with(r#""skb":"0xffff8dee8aea9700","parent":"0x10"}"#));
        ev.snapshot = Some(crate::event::model::Snapshot {
            link: crate::event::model::LinkType::Raw,
            wire_len: 20,
            ifname: String::new(),
            data: vec![0x45, 0, 0x0a],
        });
        assert!(event_json(&ev).ends_with(r#""parent":"0x10","packet":"45000a"}"#));
    }

    #[test]
    fn strings_are_escaped_and_values_typed() {
        let mut ev = event(1, 2, "mod\"x", "f\\n");
        let field = |name: &str, value| Field {
            name: name.into(),
            value,
        };
        ev.ext = vec![
            field("len", Value::Unsigned(40)),
            field("neg", Value::Signed(-3)),
            field("ok", Value::Bool(true)),
            field("c", Value::Char('"')),
            field("h", Value::Hex(255)),
            field("fl", Value::Flags(vec!["a".into(), "b".into()])),
        ];
        let line = event_json(&ev);
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(v["module"], "mod\"x");
        assert_eq!(v["function"], "f\\n");
        assert_eq!(v["len"], 40);
        assert_eq!(v["neg"], -3);
        assert_eq!(v["ok"], true);
        assert_eq!(v["c"], "\"");
        assert_eq!(v["h"], "0xff");
        assert_eq!(v["fl"], "a|b");
    }

    #[test]
    fn stream_starts_with_its_format_and_carries_counters() {
        let out = crate::output::tests::Shared::default();
        let mut json = Json::new(
            Box::new(out.clone()),
            Clock::new(TimeFormat::Wall, 1_000_000_000),
        );
        json.record(Record::Event(event(5, 0, "vmlinux", "ip_rcv")))
            .unwrap();
        json.record(Record::Lost { new: 2, total: 3 }).unwrap();
        json.record(Record::Tick { now: 9 }).unwrap();
        json.finish().unwrap();
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                r#"{{"format_version":1,"ipft_version":"{}","clock":"wall"}}"#,
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(
            lines[1].contains(r#""timestamp":"1970-01-01T00:00:01.000000005Z""#),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], r#"{"lost_events":2,"total_lost_events":3}"#);
        assert_eq!(lines.len(), 3, "ticks print nothing");
    }
}
