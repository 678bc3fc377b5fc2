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

use serde::Serialize;

use super::text::{Clock, Stamp};
use super::{Destination, Output};
use crate::event::model::{Event, Record, NO_HOOK};

/// The format version in the first line.
pub const FORMAT_VERSION: u32 = 1;

pub struct Json {
    out: Box<dyn Destination>,
    clock: Clock,
    started: bool,
    /// Lines not yet handed to `out`, which takes them in pieces of about
    /// [`PENDING_MAX`] (and at each flush), whole: one call per piece rather
    /// than per line (serde_json writes a line in dozens of small pieces), and
    /// no copy on the way to the writer thread.
    pending: Vec<u8>,
    hook_keys: HookKeys,
}

impl Json {
    pub fn new(out: Box<dyn Destination>, clock: Clock) -> Json {
        Json {
            out,
            clock,
            started: false,
            pending: Vec::with_capacity(PENDING_MAX + 4096),
            hook_keys: HookKeys::default(),
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
        serde_json::to_writer(&mut self.pending, value).map_err(io::Error::from)?;
        self.pending.push(b'\n');
        self.hand_over_if_full()
    }

    fn hand_over_if_full(&mut self) -> io::Result<()> {
        if self.pending.len() >= PENDING_MAX {
            self.hand_over()?;
        }
        Ok(())
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let result = self.out.hand_over(&mut self.pending);
        self.pending.clear();
        result
    }
}

/// Pending output handed to the writer at once.
const PENDING_MAX: usize = 60 << 10;

#[derive(Serialize)]
struct Head {
    format_version: u32,
    ipft_version: &'static str,
    clock: String,
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Each byte's two lowercase hex digits.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut pairs = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        pairs[i] = [HEX_DIGITS[i >> 4], HEX_DIGITS[i & 0xf]];
        i += 1;
    }
    pairs
};

/// `"0x…"`: lowercase hex without leading zeros, added in one piece.
fn push_hex(buf: &mut Vec<u8>, v: u64) {
    let digits = (64 - (v | 1).leading_zeros() as usize).div_ceil(4);
    let mut text = [0u8; 20];
    text[..3].copy_from_slice(b"\"0x");
    let mut at = 3 + digits;
    text[at] = b'"';
    // Two digits a step from the last one; an odd count leaves the first.
    let mut rest = v;
    while at > 4 {
        at -= 2;
        text[at..at + 2].copy_from_slice(&HEX_PAIRS[(rest & 0xff) as usize]);
        rest >>= 8;
    }
    if at == 4 {
        text[3] = HEX_DIGITS[(rest & 0xf) as usize];
    }
    // The whole array, then cut: a copy of known size is a few moves, where
    // one of the digits' size would be a call.
    let start = buf.len();
    buf.extend_from_slice(&text);
    buf.truncate(start + 4 + digits);
}

/// A JSON string: copied as it is unless it holds a character JSON
/// escapes (a quote, a backslash, a control character), then escaped by serde.
fn push_str(buf: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    // Every byte is looked at (no early exit), which the compiler turns into
    // vector compares: names are short and nearly never need escaping.
    let needs_escape = s.bytes().fold(false, |bad, b| {
        bad | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *buf, s)
    }
}

fn push_int(buf: &mut Vec<u8>, v: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// `,"module":M,"function":F,"is_return":B,"skb":` for each hook and
/// direction, built at its first event: the same bytes for all the others.
#[derive(Default)]
pub struct HookKeys(Vec<Option<Box<[u8]>>>);

impl HookKeys {
    fn push(&mut self, buf: &mut Vec<u8>, ev: &Event) -> serde_json::Result<()> {
        if ev.hook == NO_HOOK {
            return push_hook_keys(buf, ev);
        }
        let slot = ev.hook as usize * 2 + usize::from(ev.is_return);
        if slot >= self.0.len() {
            self.0.resize(slot + 1, None);
        }
        match &self.0[slot] {
            Some(keys) => buf.extend_from_slice(keys),
            None => {
                let mut keys = Vec::new();
                push_hook_keys(&mut keys, ev)?;
                buf.extend_from_slice(&keys);
                self.0[slot] = Some(keys.into());
            }
        }
        Ok(())
    }
}

fn push_hook_keys(buf: &mut Vec<u8>, ev: &Event) -> serde_json::Result<()> {
    buf.extend_from_slice(b",\"module\":");
    push_str(buf, &ev.module)?;
    buf.extend_from_slice(b",\"function\":");
    push_str(buf, &ev.function)?;
    buf.extend_from_slice(if ev.is_return {
        b",\"is_return\":true,\"skb\":"
    } else {
        b",\"is_return\":false,\"skb\":"
    });
    Ok(())
}

/// One event as a JSON object, ipftrace2's keys in its order, then ipft's.
/// Written by hand rather than through serde's map serializer, which
/// escapes every constant key of every event: this runs for each of
/// hundreds of thousands of events a second.
pub fn write_event(
    buf: &mut Vec<u8>,
    ev: &Event,
    clock: &Clock,
    hook_keys: &mut HookKeys,
) -> serde_json::Result<()> {
    buf.extend_from_slice(b"{\"packet_id\":");
    push_hex(buf, ev.packet_id);
    buf.extend_from_slice(b",\"timestamp\":");
    match clock.stamp(ev.timestamp) {
        Stamp::Monotonic(ns) => push_int(buf, ns),
        Stamp::Relative(ns) => push_int(buf, ns),
        Stamp::Wall(text) => push_str(buf, &text)?,
    }
    buf.extend_from_slice(b",\"processor_id\":");
    push_int(buf, ev.cpu);
    hook_keys.push(buf, ev)?;
    push_hex(buf, ev.skb);
    if ev.parent != 0 {
        buf.extend_from_slice(b",\"parent\":");
        push_hex(buf, ev.parent);
    }
    if let Some(snap) = &ev.snapshot {
        buf.extend_from_slice(b",\"packet\":\"");
        for b in &snap.data {
            buf.push(HEX_DIGITS[(b >> 4) as usize]);
            buf.push(HEX_DIGITS[(b & 0xf) as usize]);
        }
        buf.push(b'"');
    }
    for f in ev.builtin.iter().chain(&ev.ext) {
        buf.push(b',');
        push_str(buf, &f.name)?;
        buf.push(b':');
        serde_json::to_writer(&mut *buf, &f.value)?;
    }
    buf.push(b'}');
    Ok(())
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
                let line_start = self.pending.len();
                if let Err(e) =
                    write_event(&mut self.pending, &ev, &self.clock, &mut self.hook_keys)
                {
                    self.pending.truncate(line_start);
                    return Err(e.into());
                }
                self.pending.push(b'\n');
                self.hand_over_if_full()
            }
            Record::Lost { new, total } => {
                self.line(&LostLine {
                    lost_events: new,
                    total_lost_events: total,
                })?;
                self.flush()
            }
            Record::TrackingFull { new, total } => {
                self.line(&TrackingFullLine {
                    tracking_map_full: new,
                    total_tracking_map_full: total,
                })?;
                self.flush()
            }
            Record::DropSummary(rows) => {
                self.line(&DropSummaryLine {
                    drop_summary: &rows,
                    total_drops: rows.iter().map(|r| r.count).sum(),
                })?;
                self.flush()
            }
            Record::SkbFreed { .. } | Record::Tick { .. } => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()?;
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.start()?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::TimeFormat;
    use crate::event::model::{Field, Value};
    use crate::output::text::tests::event;

    fn event_json(ev: &Event) -> String {
        let mut buf = Vec::new();
        write_event(&mut buf, ev, &Clock::monotonic(), &mut HookKeys::default()).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn hook_keys_built_once_equal_those_built_each_time() {
        let mut keys = HookKeys::default();
        for round in 0..2 {
            for (hook, function) in [(3, "ip_rcv"), (0, "we\"ird")] {
                for is_return in [false, true] {
                    let mut ev = event(round, 0, "vmlinux", function);
                    ev.is_return = is_return;
                    let plain = event_json(&ev);
                    ev.hook = hook;
                    let mut buf = Vec::new();
                    write_event(&mut buf, &ev, &Clock::monotonic(), &mut keys).unwrap();
                    assert_eq!(String::from_utf8(buf).unwrap(), plain);
                }
            }
        }
        assert_eq!(keys.0.iter().filter(|k| k.is_some()).count(), 4);
    }

    #[test]
    fn hex_has_no_leading_zeros() {
        for (v, text) in [
            (0, r#""0x0""#),
            (0x10, r#""0x10""#),
            (0xabc, r#""0xabc""#),
            (0x1_0000_0000, r#""0x100000000""#),
            (0xffff8dee8aea9700, r#""0xffff8dee8aea9700""#),
            (u64::MAX, r#""0xffffffffffffffff""#),
        ] {
            assert_eq!(text, format!("\"{v:#x}\""), "the table agrees with format!");
            let mut buf = b"x".to_vec();
            push_hex(&mut buf, v);
            assert_eq!(&buf[1..], text.as_bytes());
        }
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
        ev.snapshot = Some(Box::new(crate::event::model::Snapshot {
            link: crate::event::model::LinkType::Raw,
            wire_len: 20,
            ifname: String::new(),
            data: vec![0x45, 0, 0x0a],
        }));
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
    fn hand_written_strings_and_numbers_match_serde() {
        for text in [
            "ip_rcv",
            "ü+€",
            "a\u{1f}b",
            "q\"",
            "back\\slash",
            "\u{7f}",
            "",
        ] {
            let mut buf = Vec::new();
            push_str(&mut buf, text).unwrap();
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
        for v in [0, 1, 0xabc, u64::MAX] {
            let mut buf = Vec::new();
            push_hex(&mut buf, v);
            assert_eq!(String::from_utf8(buf).unwrap(), format!("\"{v:#x}\""));
        }
        let mut ev = event(7, 1, "vmlinux", "ip_rcv");
        ev.packet_id = 0;
        let line = event_json(&ev);
        assert!(
            line.starts_with(r#"{"packet_id":"0x0","timestamp":7,"processor_id":1,"#),
            "{line}"
        );
        let mut buf = Vec::new();
        let wall = Clock::new(TimeFormat::Wall, 1_000_000_000);
        write_event(&mut buf, &ev, &wall, &mut HookKeys::default()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).expect("valid JSON");
        assert_eq!(v["timestamp"], "1970-01-01T00:00:01.000000007Z");
    }

    #[test]
    fn stream_starts_with_its_format_and_carries_counters() {
        let out = crate::output::tests::Shared::default();
        let mut json = Json::new(
            Box::new(out.clone()),
            Clock::new(TimeFormat::Wall, 1_000_000_000),
        );
        json.record(Record::Event(Box::new(event(5, 0, "vmlinux", "ip_rcv"))))
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
