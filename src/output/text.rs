//! # Text rendering
//!
//! ipftrace2's fixed-width columns for one event, shared by the aggregate
//! printer's function and function_graph views, and the [`Clock`] that
//! renders timestamps for text and JSON alike (chosen once, by
//! `--timestamp`).

use std::fmt::{self, Write};

use serde::{Serialize, Serializer};

use crate::cli::TimeFormat;
use crate::event::model::{Event, Field};

/// Renders event timestamps (CLOCK_MONOTONIC ns) in the chosen format.
#[derive(Debug, Clone)]
pub struct Clock {
    format: TimeFormat,
    /// CLOCK_REALTIME − CLOCK_MONOTONIC, in ns, when the trace was taken.
    realtime_offset_ns: i128,
    /// The first event's timestamp in stream order (`relative`).
    first: Option<u64>,
}

/// A rendered timestamp: a number, or RFC 3339 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    Monotonic(u64),
    Relative(i64),
    Wall(String),
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stamp::Monotonic(ns) => ns.fmt(f),
            Stamp::Relative(ns) => ns.fmt(f),
            Stamp::Wall(s) => s.fmt(f),
        }
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Stamp::Monotonic(ns) => s.serialize_u64(*ns),
            Stamp::Relative(ns) => s.serialize_i64(*ns),
            Stamp::Wall(text) => s.serialize_str(text),
        }
    }
}

/// `2026-12-04T18:36:30.123456789Z` for `ns` nanoseconds since the epoch.
pub fn rfc3339(ns: i128) -> String {
    const FORMAT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(ns)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| format!("{ns}ns"))
}

impl Clock {
    pub fn new(format: TimeFormat, realtime_offset_ns: i128) -> Clock {
        Clock {
            format,
            realtime_offset_ns,
            first: None,
        }
    }

    /// Monotonic timestamps, as ipftrace2 printed them.
    pub fn monotonic() -> Clock {
        Clock::new(TimeFormat::Monotonic, 0)
    }

    /// Called for every event in stream order: the first one is `relative`'s zero.
    pub fn observe(&mut self, ts: u64) {
        self.first.get_or_insert(ts);
    }

    pub fn stamp(&self, ts: u64) -> Stamp {
        match self.format {
            TimeFormat::Monotonic => Stamp::Monotonic(ts),
            TimeFormat::Relative => {
                Stamp::Relative((ts as i128 - self.first.unwrap_or(ts) as i128) as i64)
            }
            TimeFormat::Wall => Stamp::Wall(rfc3339(ts as i128 + self.realtime_offset_ns)),
        }
    }

    /// Nanoseconds since the epoch at monotonic `ts` (for pcapng, whatever
    /// the format).
    pub fn wall_ns(&self, ts: u64) -> i128 {
        ts as i128 + self.realtime_offset_ns
    }

    pub fn format(&self) -> TimeFormat {
        self.format
    }
}

/// The header line of the aggregate view.
pub fn header() -> String {
    format!(
        "{:<20} {:>3.3} {:>24.24} {:>32.32}",
        "Timestamp", "CPU", "Module", "Function"
    )
}

/// ` ( key: value key: value )`, or nothing without extension fields.
pub fn ext_suffix(fields: &[Field]) -> String {
    let mut s = String::new();
    write_fields(&mut s, &[], fields);
    s
}

/// The built-in fields, then the extension's, as one ` ( key: value … )`.
fn write_fields(out: &mut String, builtin: &[Field], ext: &[Field]) {
    if builtin.is_empty() && ext.is_empty() {
        return;
    }
    out.push_str(" ( ");
    for f in builtin.iter().chain(ext) {
        let _ = write!(out, "{}: {} ", f.name, f.value);
    }
    out.push(')');
}

/// The drop summary of `--drops`, as a table.
pub fn drop_table(rows: &[crate::event::model::DropCount]) -> String {
    let total: u64 = rows.iter().map(|r| r.count).sum();
    let mut out = format!(
        "Drops: {total} packet{}\n",
        if total == 1 { "" } else { "s" }
    );
    if rows.is_empty() {
        return out;
    }
    let reason_w = rows
        .iter()
        .map(|r| r.reason.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let _ = writeln!(out, "{:>8}  {:<reason_w$}  LOCATION", "COUNT", "REASON");
    for r in rows {
        let _ = writeln!(
            out,
            "{:>8}  {:<reason_w$}  {}",
            r.count, r.reason, r.location
        );
    }
    out
}

/// A function-tracer line.
pub fn function_line(ev: &Event, clock: &Clock) -> String {
    let mut s = String::new();
    write_function_line(&mut s, ev, clock);
    s
}

/// Appends a function-tracer line (without the newline) to `out`.
pub fn write_function_line(out: &mut String, ev: &Event, clock: &Clock) {
    let _ = write!(
        out,
        "{:<20} {:03} {:>24.24} {:>32.32}",
        clock.stamp(ev.timestamp),
        ev.cpu,
        ev.module,
        ev.function,
    );
    write_fields(out, &ev.builtin, &ev.ext);
}

/// Longest graph text; ipftrace2 wrote into a 64-byte buffer and overflowed.
pub const GRAPH_WIDTH: usize = 64;

/// A function_graph line; `depth` is the nesting level of this line.
pub fn graph_line(ev: &Event, depth: usize, clock: &Clock) -> String {
    let mut s = String::new();
    write_graph_line(&mut s, ev, depth, clock);
    s
}

/// Appends a function_graph line (without the newline) to `out`.
pub fn write_graph_line(out: &mut String, ev: &Event, depth: usize, clock: &Clock) {
    let indent = "  ".repeat(depth.min(GRAPH_WIDTH / 2));
    let text = if ev.is_return {
        format!("{indent}}}")
    } else {
        format!("{indent}{}() {{", ev.function)
    };
    let _ = write!(
        out,
        "{:<20} {:03} {:>24.24} {:<64.64}",
        clock.stamp(ev.timestamp),
        ev.cpu,
        ev.module,
        text,
    );
    write_fields(out, &ev.builtin, &ev.ext);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::model::Value;

    pub fn event(ts: u64, cpu: u32, module: &str, function: &str) -> Event {
        Event {
            packet_id: 0xffff8dee8aea9700,
            skb: 0xffff8dee8aea9700,
            parent: 0,
            end: false,
            timestamp: ts,
            cpu,
            hook: crate::event::model::NO_HOOK,
            module: module.into(),
            function: function.into(),
            is_return: false,
            mark: 0,
            len: 0,
            ifindex: 0,
            netns: 0,
            builtin: vec![],
            drop: None,
            ext: vec![],
            snapshot: None,
        }
    }

    #[test]
    fn clock_formats() {
        let mut c = Clock::new(TimeFormat::Wall, 1_764_873_390_000_000_000 - 1_000);
        assert_eq!(
            c.stamp(1_000 + 5).to_string(),
            "2025-12-04T18:36:30.000000005Z"
        );
        c = Clock::new(TimeFormat::Relative, 0);
        c.observe(500);
        c.observe(100);
        assert_eq!(c.stamp(700), Stamp::Relative(200));
        assert_eq!(
            c.stamp(400),
            Stamp::Relative(-100),
            "earlier than the first seen"
        );
        assert_eq!(Clock::monotonic().stamp(7).to_string(), "7");
        assert_eq!(
            serde_json::to_string(&Clock::monotonic().stamp(7)).unwrap(),
            "7"
        );
    }

    #[test]
    fn header_matches_ipftrace2() {
        assert_eq!(
            header(),
            "Timestamp            CPU                   Module                         Function"
        );
    }

    #[test]
    fn function_line_matches_ipftrace2() {
        let mut ev = event(464048546191357, 5, "nf_conntrack", "ipv4_conntrack_in");
        ev.ext.push(Field {
            name: "len".into(),
            value: Value::Unsigned(2688),
        });
        assert_eq!(
            function_line(&ev, &Clock::monotonic()),
            "464048546191357      005             nf_conntrack                ipv4_conntrack_in ( len: 2688 )"
        );
        let plain = event(89277477628, 1, "(unknown)", "(unknown)");
        assert_eq!(
            function_line(&plain, &Clock::monotonic()),
            "89277477628          001                (unknown)                        (unknown)"
        );
    }

    #[test]
    fn long_names_are_truncated_to_the_column() {
        let ev = event(
            1,
            0,
            "a_very_long_module_name_that_overflows",
            &"f".repeat(40),
        );
        let line = function_line(&ev, &Clock::monotonic());
        assert_eq!(line.len(), 20 + 1 + 3 + 1 + 24 + 1 + 32);
    }

    #[test]
    fn graph_lines_nest_and_stay_bounded() {
        let ev = event(480959550911894, 0, "vmlinux", "ip_protocol_deliver_rcu");
        assert_eq!(
            graph_line(&ev, 0, &Clock::monotonic()),
            format!(
                "480959550911894      000                  vmlinux {:<64}",
                "ip_protocol_deliver_rcu() {"
            )
        );
        let mut ret = event(480959550914188, 0, "vmlinux", "raw_local_deliver");
        ret.is_return = true;
        assert!(graph_line(&ret, 1, &Clock::monotonic()).ends_with(&format!("{:<64}", "  }")));
        assert_eq!(
            graph_line(&ev, 10_000, &Clock::monotonic()).len(),
            20 + 1 + 3 + 1 + 24 + 1 + 64
        );
    }
}
