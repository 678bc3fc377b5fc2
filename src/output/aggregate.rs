//! # Aggregate output
//!
//! Groups events by packet and prints the groups when tracing stops: packets
//! in the order of their first event, events by timestamp (ipftrace2 printed
//! packets in hash order). The function_graph view nests entry/exit pairs.
//! While tracing, a `Got N traces` counter runs on stderr if it is a terminal.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::{text, Output};
use crate::cli::Tracer;
use crate::event::model::Event;

pub struct Aggregate {
    out: Box<dyn Write>,
    tracer: Tracer,
    packets: HashMap<u64, Vec<Event>>,
    count: u64,
    tty_counter: bool,
    last_counter: Option<Instant>,
}

impl Aggregate {
    pub fn new(out: Box<dyn Write>, tracer: Tracer, tty_counter: bool) -> Aggregate {
        Aggregate {
            out,
            tracer,
            packets: HashMap::new(),
            count: 0,
            tty_counter,
            last_counter: None,
        }
    }

    fn show_counter(&mut self, force: bool) {
        if !self.tty_counter {
            return;
        }
        let due = self
            .last_counter
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if force || due {
            eprint!("\rGot {} traces", self.count);
            self.last_counter = Some(Instant::now());
        }
    }

    /// Renders every packet group; separate from `finish` for tests.
    pub fn render(&mut self) -> Vec<String> {
        let mut groups: Vec<Vec<Event>> = self.packets.drain().map(|(_, v)| v).collect();
        for g in &mut groups {
            g.sort_by_key(|e| e.timestamp);
        }
        groups.sort_by_key(|g| (g[0].timestamp, g[0].packet_id));
        let mut lines = vec![text::header()];
        for g in groups {
            lines.push("===".to_string());
            let mut depth = 0usize;
            for ev in &g {
                match self.tracer {
                    Tracer::Function => lines.push(text::function_line(ev)),
                    Tracer::FunctionGraph => {
                        if ev.is_return {
                            depth = depth.saturating_sub(1);
                            lines.push(text::graph_line(ev, depth));
                        } else {
                            lines.push(text::graph_line(ev, depth));
                            depth += 1;
                        }
                    }
                }
            }
        }
        lines
    }
}

impl Output for Aggregate {
    fn on_event(&mut self, ev: Event) -> io::Result<()> {
        self.count += 1;
        self.packets.entry(ev.packet_id).or_default().push(ev);
        self.show_counter(false);
        Ok(())
    }

    fn on_lost(&mut self, _new: u64, _total: u64) -> io::Result<()> {
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.show_counter(true);
        if self.tty_counter {
            eprintln!();
        }
        let mut text = String::from("\n");
        for line in self.render() {
            text.push_str(&line);
            text.push('\n');
        }
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::text::tests::event;

    fn ev(packet: u64, ts: u64, function: &str) -> Event {
        let mut e = event(ts, 0, "vmlinux", function);
        e.packet_id = packet;
        e
    }

    #[test]
    fn packets_ordered_by_first_event_and_events_by_time() {
        let mut agg = Aggregate::new(Box::new(io::sink()), Tracer::Function, false);
        for e in [
            ev(2, 30, "c"),
            ev(1, 20, "b"),
            ev(2, 10, "a"),
            ev(1, 40, "d"),
        ] {
            agg.on_event(e).unwrap();
        }
        let lines = agg.render();
        let names: Vec<&str> = lines
            .iter()
            .map(|l| l.split_whitespace().last().unwrap())
            .collect();
        assert_eq!(names, ["Function", "===", "a", "c", "===", "b", "d"]);
    }

    #[test]
    fn graph_view_nests_and_never_underflows() {
        let mut agg = Aggregate::new(Box::new(io::sink()), Tracer::FunctionGraph, false);
        let mut exit_first = ev(1, 1, "x");
        exit_first.is_return = true;
        let mut inner_exit = ev(1, 4, "inner");
        inner_exit.is_return = true;
        for e in [exit_first, ev(1, 2, "outer"), ev(1, 3, "inner"), inner_exit] {
            agg.on_event(e).unwrap();
        }
        let lines = agg.render();
        let texts: Vec<String> = lines[2..]
            .iter()
            .map(|l| l[50..].trim_end().to_string())
            .collect();
        assert_eq!(texts, ["}", "outer() {", "  inner() {", "  }"]);
    }
}
