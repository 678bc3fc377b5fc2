//! # Text rendering
//!
//! ipftrace2's fixed-width columns for one event, shared by the aggregate
//! printer's function and function_graph views.

use std::fmt::Write;

use crate::event::model::{Event, Field};

/// The header line of the aggregate view.
pub fn header() -> String {
    format!(
        "{:<20} {:>3.3} {:>24.24} {:>32.32}",
        "Timestamp", "CPU", "Module", "Function"
    )
}

/// ` ( key: value key: value )`, or nothing without extension fields.
pub fn ext_suffix(fields: &[Field]) -> String {
    if fields.is_empty() {
        return String::new();
    }
    let mut s = String::from(" ( ");
    for f in fields {
        let _ = write!(s, "{}: {} ", f.name, f.value);
    }
    s.push(')');
    s
}

/// A function-tracer line.
pub fn function_line(ev: &Event) -> String {
    format!(
        "{:<20} {:03} {:>24.24} {:>32.32}{}",
        ev.timestamp,
        ev.cpu,
        ev.module,
        ev.function,
        ext_suffix(&ev.ext)
    )
}

/// Longest graph text; ipftrace2 wrote into a 64-byte buffer and overflowed.
pub const GRAPH_WIDTH: usize = 64;

/// A function_graph line; `depth` is the nesting level of this line.
pub fn graph_line(ev: &Event, depth: usize) -> String {
    let indent = "  ".repeat(depth.min(GRAPH_WIDTH / 2));
    let text = if ev.is_return {
        format!("{indent}}}")
    } else {
        format!("{indent}{}() {{", ev.function)
    };
    format!(
        "{:<20} {:03} {:>24.24} {:<64.64}{}",
        ev.timestamp,
        ev.cpu,
        ev.module,
        text,
        ext_suffix(&ev.ext)
    )
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
            module: module.into(),
            function: function.into(),
            is_return: false,
            ext: vec![],
        }
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
            function_line(&ev),
            "464048546191357      005             nf_conntrack                ipv4_conntrack_in ( len: 2688 )"
        );
        let plain = event(89277477628, 1, "(unknown)", "(unknown)");
        assert_eq!(
            function_line(&plain),
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
        let line = function_line(&ev);
        assert_eq!(line.len(), 20 + 1 + 3 + 1 + 24 + 1 + 32);
    }

    #[test]
    fn graph_lines_nest_and_stay_bounded() {
        let ev = event(480959550911894, 0, "vmlinux", "ip_protocol_deliver_rcu");
        assert_eq!(
            graph_line(&ev, 0),
            format!(
                "480959550911894      000                  vmlinux {:<64}",
                "ip_protocol_deliver_rcu() {"
            )
        );
        let mut ret = event(480959550914188, 0, "vmlinux", "raw_local_deliver");
        ret.is_return = true;
        assert!(graph_line(&ret, 1).ends_with(&format!("{:<64}", "  }")));
        assert_eq!(graph_line(&ev, 10_000).len(), 20 + 1 + 3 + 1 + 24 + 1 + 64);
    }
}
