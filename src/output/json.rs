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
//! * `packet_id`: the skb address as a `0x` lowercase hex string.
//! * `timestamp`: CLOCK_MONOTONIC nanoseconds; `processor_id`: the CPU.
//! * `module`/`function`: for tracepoint events, the category and tracepoint.
//! * Extension fields follow, typed: integers as numbers, booleans as
//!   `true`/`false`, everything else (hex, enum and flag names, characters,
//!   pointers, strings) as strings. ipftrace2 made every value a string.
//!
//! Strings are escaped (ipftrace2 did not escape). When events are lost a
//! record `{"lost_events":N,"total_lost_events":T}` is written in the stream
//! at the point the loss was noticed.

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
            r#"{"packet_id":"0xffff8dee8aea9700","timestamp":25340022558860,"processor_id":0,"module":"vmlinux","function":"validate_xmit_xfrm","is_return":true}"#
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
