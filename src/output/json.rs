//! # JSON output
//!
//! One JSON object per line, written as events arrive. The wire format keeps
//! ipftrace2's keys and order:
//!
//! ```text
//! {"packet_id":"0xffff8dee8aea9700","timestamp":25340022558860,"processor_id":0,
//!  "module":"vmlinux","function":"ip_rcv","is_return":false[,"<field>":<value>...]}
//! ```
//!
//! * `packet_id`: the packet's id as a `0x` lowercase hex string: unique per
//!   packet for the whole run while tracking (ipftrace2 used the skb address,
//!   which the kernel reuses; `--no-track` brings that back).
//! * `timestamp`: CLOCK_MONOTONIC nanoseconds; `processor_id`: the CPU.
//! * `module`/`function`: for tracepoint events, the category and tracepoint.
//! * `skb`: the `struct sk_buff` address (ipft only), then `parent` (the id of
//!   the packet this one was cloned from) when there is one.
//! * Extension fields follow, typed: integers as numbers, booleans as
//!   `true`/`false`, everything else (hex, enum and flag names, characters,
//!   pointers, strings) as strings. ipftrace2 made every value a string.
//!
//! Strings are escaped (ipftrace2 did not escape). When events are lost a
//! record `{"lost_events":N,"total_lost_events":T}` is written in the stream
//! at the point the loss was noticed; when matching packets find the tracking
//! map full, `{"tracking_map_full":N,"total_tracking_map_full":T}` (hits of
//! matching packets that could not be followed).

use std::io::{self, Write};

use super::Output;
use crate::event::model::{Event, Value};

pub struct Json {
    out: Box<dyn Write>,
}

impl Json {
    pub fn new(out: Box<dyn Write>) -> Json {
        Json { out }
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialize")
}

pub fn value_json(v: &Value) -> String {
    match v {
        Value::Unsigned(n) => n.to_string(),
        Value::Signed(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => quoted(&other.to_string()),
    }
}

/// One event as a JSON line (without the newline).
pub fn event_json(ev: &Event) -> String {
    let mut s = format!(
        "{{\"packet_id\":\"{:#x}\",\"timestamp\":{},\"processor_id\":{},\"module\":{},\"function\":{},\"is_return\":{}",
        ev.packet_id,
        ev.timestamp,
        ev.cpu,
        quoted(&ev.module),
        quoted(&ev.function),
        ev.is_return
    );
    s.push_str(&format!(",\"skb\":\"{:#x}\"", ev.skb));
    if ev.parent != 0 {
        s.push_str(&format!(",\"parent\":\"{:#x}\"", ev.parent));
    }
    for f in &ev.ext {
        s.push(',');
        s.push_str(&quoted(&f.name));
        s.push(':');
        s.push_str(&value_json(&f.value));
    }
    s.push('}');
    s
}

impl Output for Json {
    fn on_event(&mut self, ev: Event) -> io::Result<()> {
        let mut line = event_json(&ev);
        line.push('\n');
        self.out.write_all(line.as_bytes())
    }

    fn on_lost(&mut self, new: u64, total: u64) -> io::Result<()> {
        writeln!(
            self.out,
            "{{\"lost_events\":{new},\"total_lost_events\":{total}}}"
        )?;
        self.out.flush()
    }

    fn on_untracked(&mut self, new: u64, total: u64) -> io::Result<()> {
        writeln!(
            self.out,
            "{{\"tracking_map_full\":{new},\"total_tracking_map_full\":{total}}}"
        )?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::model::Field;
    use crate::output::text::tests::event;

    #[test]
    fn event_matches_ipftrace2_keys_and_order() {
        let mut ev = event(25340022558860, 0, "vmlinux", "validate_xmit_xfrm");
        ev.is_return = true;
        assert_eq!(
            event_json(&ev),
            r#"{"packet_id":"0xffff8dee8aea9700","timestamp":25340022558860,"processor_id":0,"module":"vmlinux","function":"validate_xmit_xfrm","is_return":true,"skb":"0xffff8dee8aea9700"}"#
        );
    }

    #[test]
    fn strings_are_escaped_and_values_typed() {
        let mut ev = event(1, 2, "mod\"x", "f\\n");
        ev.ext = vec![
            Field {
                name: "len".into(),
                value: Value::Unsigned(40),
            },
            Field {
                name: "neg".into(),
                value: Value::Signed(-3),
            },
            Field {
                name: "ok".into(),
                value: Value::Bool(true),
            },
            Field {
                name: "c".into(),
                value: Value::Char('"'),
            },
            Field {
                name: "h".into(),
                value: Value::Hex(255),
            },
            Field {
                name: "fl".into(),
                value: Value::Flags(vec!["a".into(), "b".into()]),
            },
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
}
