//! # Aggregate output
//!
//! Groups events by packet and prints each group as a block: events by
//! timestamp, blocks in the order of their first event (ipftrace2 printed
//! everything at exit in hash order). While tracking, a packet's block is
//! printed as soon as the packet is finished (its skb freed, or no event for
//! the idle timeout) and dropped from memory, so memory follows the packets
//! in flight, not the length of the run; what is left prints at exit. With
//! `--no-track` everything prints at exit, as in ipftrace2. The
//! function_graph view nests entry/exit pairs. A clone or copy of a
//! traced packet is its own block, whose separator names the packet it came
//! from by that packet's first timestamp: `=== clone of <timestamp>`. While
//! tracing, a `Got N traces` counter runs on stderr if it is a terminal.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rustc_hash::FxHashMap as HashMap;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::text::{self, Clock};
use super::{Destination, Output};
use crate::cli::Tracer;
use crate::event::model::{Event, Record};

struct Group {
    events: Vec<Event>,
    last_ts: u64,
    /// When its skb was freed: printed a moment later, so that exit events
    /// of the functions that freed it (fexit) still join it.
    ended: Option<u64>,
}

impl Group {
    /// The event time after which the packet is finished: idle for `idle`
    /// ns, or freed `END_GRACE_NS` ago.
    fn due(&self, idle: u64) -> u64 {
        let idle_due = self.last_ts.saturating_add(idle);
        self.ended
            .map_or(idle_due, |t| idle_due.min(t.saturating_add(END_GRACE_NS)))
    }
}

/// How long after its skb is freed a packet is printed (event time).
const END_GRACE_NS: u64 = 100_000_000;

/// Printed packets whose first timestamp is remembered for their clones.
const REMEMBERED_FIRSTS: usize = 65536;

pub struct Aggregate {
    out: Box<dyn Destination>,
    tracer: Tracer,
    packets: HashMap<u64, Group>,
    /// skb address → the packet it carries now (to end packets by skb).
    skbs: HashMap<u64, u64>,
    live_idle: Option<Duration>,
    /// (due, packet) for every packet in memory, earliest first: a due time
    /// never later than the packet's own (its events only push it later; a
    /// free, which brings it earlier, adds an entry), so a tick looks only
    /// at the packets that may be finished, not at every packet.
    due: BinaryHeap<Reverse<(u64, u64)>>,
    /// First timestamps of printed packets, for their clones' separators
    /// (bounded: oldest forgotten first).
    printed_firsts: HashMap<u64, u64>,
    printed_order: VecDeque<u64>,
    header_done: bool,
    count: u64,
    tty_counter: bool,
    last_counter: Option<Instant>,
    clock: Clock,
    /// `--drops`: printed after the last packet.
    drop_summary: Option<Vec<crate::event::model::DropCount>>,
}

impl Aggregate {
    pub fn new(
        out: Box<dyn Destination>,
        tracer: Tracer,
        tty_counter: bool,
        live_idle: Option<Duration>,
        clock: Clock,
    ) -> Aggregate {
        Aggregate {
            clock,
            out,
            tracer,
            packets: HashMap::default(),
            skbs: HashMap::default(),
            live_idle,
            due: BinaryHeap::new(),
            printed_firsts: HashMap::default(),
            printed_order: VecDeque::new(),
            header_done: false,
            count: 0,
            tty_counter,
            last_counter: None,
            drop_summary: None,
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
            crate::say_part!("\rGot {} traces", self.count);
            self.last_counter = Some(Instant::now());
        }
    }

    /// The first timestamp of packet `id`, printed or still in memory.
    fn first_timestamp(&self, id: u64) -> Option<u64> {
        self.printed_firsts.get(&id).copied().or_else(|| {
            let group = self.packets.get(&id)?;
            group.events.iter().map(|e| e.timestamp).min()
        })
    }

    fn remember_first(&mut self, id: u64, first: u64) {
        if self.printed_order.len() >= REMEMBERED_FIRSTS {
            if let Some(old) = self.printed_order.pop_front() {
                self.printed_firsts.remove(&old);
            }
        }
        self.printed_firsts.insert(id, first);
        self.printed_order.push_back(id);
    }

    /// The separator of a block: `===`, or for a clone the packet it came
    /// from (by first timestamp, or by id if that packet was not seen).
    fn separator(&self, parent: u64) -> String {
        match (parent, self.first_timestamp(parent)) {
            (0, _) => "===".to_string(),
            (_, Some(ts)) => format!("=== clone of {ts}"),
            (_, None) => format!("=== clone of packet {parent:#x}"),
        }
    }

    /// Appends one packet's block (without the header), a line each.
    fn block(&self, mut events: Vec<Event>, out: &mut String) {
        events.sort_by_key(|e| e.timestamp);
        let parent = events.iter().map(|e| e.parent).find(|&p| p != 0);
        out.push_str(&self.separator(parent.unwrap_or(0)));
        out.push('\n');
        let mut depth = 0usize;
        for ev in &events {
            match self.tracer {
                Tracer::Function => text::write_function_line(out, ev, &self.clock),
                Tracer::FunctionGraph => {
                    if ev.is_return {
                        depth = depth.saturating_sub(1);
                        text::write_graph_line(out, ev, depth, &self.clock);
                    } else {
                        text::write_graph_line(out, ev, depth, &self.clock);
                        depth += 1;
                    }
                }
            }
            out.push('\n');
        }
    }

    /// Takes the given packets out of memory and renders them, in the order
    /// of their first event (the header first if not printed yet).
    fn take(&mut self, ids: Vec<u64>) -> String {
        let mut groups: Vec<Vec<Event>> = ids
            .iter()
            .filter_map(|id| self.packets.remove(id))
            .map(|g| g.events)
            .collect();
        groups.retain(|g| !g.is_empty());
        for g in &groups {
            for e in g {
                if self.skbs.get(&e.skb) == Some(&e.packet_id) {
                    self.skbs.remove(&e.skb);
                }
            }
        }
        groups.sort_by_key(|g| (g.iter().map(|e| e.timestamp).min(), g[0].packet_id));
        let mut out = String::new();
        if !groups.is_empty() && !self.header_done {
            // As ipftrace2: an empty line (past the counter), then the header.
            out.push('\n');
            out.push_str(&text::header());
            out.push('\n');
            self.header_done = true;
        }
        for g in groups {
            let first = g.iter().map(|e| e.timestamp).min().unwrap_or(0);
            let id = g[0].packet_id;
            self.block(g, &mut out);
            self.remember_first(id, first);
        }
        out
    }

    /// Renders and forgets every packet; separate from `finish` for tests.
    pub fn render(&mut self) -> Vec<String> {
        let ids: Vec<u64> = self.packets.keys().copied().collect();
        self.take(ids).lines().map(str::to_string).collect()
    }

    fn print(&mut self, text: String) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        if self.tty_counter {
            // Clear the counter line before the block, redraw it after.
            crate::say_part!("\r\x1b[K");
        }
        self.out.write_all(text.as_bytes())?;
        if self.tty_counter {
            // On the terminal before the counter is drawn again; otherwise
            // the stream's flush after each batch hands blocks over together.
            self.out.flush()?;
        }
        self.show_counter(true);
        Ok(())
    }
}

impl Aggregate {
    fn on_event(&mut self, ev: Event) {
        self.count += 1;
        self.clock.observe(ev.timestamp);
        let (id, end) = (ev.packet_id, ev.end);
        self.skbs.insert(ev.skb, id);
        let idle = self.idle_ns();
        let mut new = false;
        let group = self.packets.entry(id).or_insert_with(|| {
            new = true;
            Group {
                events: Vec::new(),
                last_ts: 0,
                ended: None,
            }
        });
        let due_before = group.due(idle);
        group.last_ts = group.last_ts.max(ev.timestamp);
        if end {
            group.ended = Some(ev.timestamp);
        }
        group.events.push(ev);
        let due = group.due(idle);
        if self.live_idle.is_some() && (new || due < due_before) {
            self.due.push(Reverse((due, id)));
        }
        self.show_counter(false);
    }

    /// `--idle-timeout` in ns (live printing only).
    fn idle_ns(&self) -> u64 {
        self.live_idle.map_or(u64::MAX, |d| d.as_nanos() as u64)
    }

    fn on_skb_freed(&mut self, skb: u64) {
        if self.live_idle.is_none() {
            return;
        }
        let idle = self.idle_ns();
        if let Some((&id, group)) = self
            .skbs
            .get(&skb)
            .and_then(|id| Some((id, self.packets.get_mut(id)?)))
        {
            group.ended = Some(group.last_ts);
            self.due.push(Reverse((group.due(idle), id)));
        }
    }

    fn on_tick(&mut self, now_ns: u64) -> io::Result<()> {
        if self.live_idle.is_none() {
            return Ok(());
        }
        let idle = self.idle_ns();
        let mut done = Vec::new();
        while let Some(&Reverse((due, id))) = self.due.peek() {
            if due >= now_ns {
                break;
            }
            self.due.pop();
            // An entry of a packet printed already, or one whose due time moved on.
            let Some(group) = self.packets.get(&id) else {
                continue;
            };
            let due = group.due(idle);
            if due < now_ns {
                done.push(id);
            } else {
                self.due.push(Reverse((due, id)));
            }
        }
        // A packet may have had two entries due (a free brought its time earlier).
        done.sort_unstable();
        done.dedup();
        if done.is_empty() {
            return Ok(());
        }
        let lines = self.take(done);
        self.print(lines)
    }
}

impl Output for Aggregate {
    fn record(&mut self, record: Record) -> io::Result<()> {
        match record {
            Record::Event(ev) => self.on_event(*ev),
            Record::SkbFreed { skb, .. } => self.on_skb_freed(skb),
            Record::Tick { now } => return self.on_tick(now),
            Record::DropSummary(rows) => self.drop_summary = Some(rows),
            Record::Lost { .. } | Record::TrackingFull { .. } => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.show_counter(true);
        if self.tty_counter {
            crate::say!();
        }
        let ids: Vec<u64> = self.packets.keys().copied().collect();
        let mut text = self.take(ids);
        if !self.header_done {
            text = format!("\n{}\n", text::header());
        }
        if let Some(rows) = self.drop_summary.take() {
            text.push('\n');
            text.push_str(&text::drop_table(&rows));
        }
        let tty = std::mem::replace(&mut self.tty_counter, false);
        let result = self.print(text).and_then(|()| self.out.flush());
        self.tty_counter = tty;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::Shared;
    use crate::output::text::tests::event;

    fn ev(packet: u64, ts: u64, function: &str) -> Event {
        let mut e = event(ts, 0, "vmlinux", function);
        e.packet_id = packet;
        e.skb = 0xff00 + packet;
        e
    }

    fn names(lines: &[String]) -> Vec<&str> {
        lines
            .iter()
            .map(|l| l.split_whitespace().last().unwrap_or(""))
            .collect()
    }

    #[test]
    fn packets_ordered_by_first_event_and_events_by_time() {
        let mut agg = Aggregate::new(
            Box::new(io::sink()),
            Tracer::Function,
            false,
            None,
            Clock::monotonic(),
        );
        for e in [
            ev(2, 30, "c"),
            ev(1, 20, "b"),
            ev(2, 10, "a"),
            ev(1, 40, "d"),
        ] {
            agg.on_event(e);
        }
        let lines = agg.render();
        assert_eq!(
            names(&lines),
            ["", "Function", "===", "a", "c", "===", "b", "d"]
        );
    }

    #[test]
    fn exit_output_matches_ipftrace2_layout() {
        let out = Shared::default();
        let mut agg = Aggregate::new(
            Box::new(out.clone()),
            Tracer::Function,
            false,
            None,
            Clock::monotonic(),
        );
        agg.on_event(ev(1, 5, "ip_rcv"));
        agg.finish().unwrap();
        let text = out.text();
        assert!(
            text.starts_with(&format!("\n{}\n===\n", text::header())),
            "{text:?}"
        );
    }

    /// A live-mode aggregate (1 s idle timeout) writing into a shared buffer.
    fn live() -> (Shared, Aggregate) {
        let out = Shared::default();
        let agg = Aggregate::new(
            Box::new(out.clone()),
            Tracer::Function,
            false,
            Some(Duration::from_secs(1)),
            Clock::monotonic(),
        );
        (out, agg)
    }

    #[test]
    fn live_mode_prints_finished_packets_and_forgets_them() {
        let (out, mut agg) = live();
        agg.on_event(ev(1, 10, "a"));
        let mut last = ev(1, 20, "freed_here");
        last.end = true;
        agg.on_event(last);
        let mut exit_after_free = ev(1, 25, "exit_after_free");
        exit_after_free.is_return = true;
        agg.on_event(exit_after_free);
        agg.on_tick(20 + END_GRACE_NS / 2).unwrap();
        assert!(
            !out.text().contains("freed_here"),
            "held for the grace period"
        );
        agg.on_tick(20 + END_GRACE_NS + 1).unwrap();
        assert!(
            out.text().contains("freed_here"),
            "printed after the free: {}",
            out.text()
        );
        assert!(
            out.text().contains("exit_after_free"),
            "exits after the free join the packet"
        );
        assert!(
            agg.packets.is_empty() && agg.skbs.is_empty(),
            "and forgotten"
        );

        agg.on_event(ev(2, 1_000, "idle"));
        agg.on_tick(1_000 + 500_000_000).unwrap();
        assert!(!out.text().contains("idle"), "not idle yet");
        agg.on_tick(1_000 + 1_500_000_000).unwrap();
        assert!(out.text().contains("idle"), "printed once idle");

        agg.on_event(ev(3, 5_000_000_000, "freed_elsewhere"));
        agg.on_skb_freed(0xff00 + 3);
        agg.on_tick(5_000_000_000 + END_GRACE_NS + 1).unwrap();
        assert!(out.text().contains("freed_elsewhere"));
        assert_eq!(out.text().matches("Timestamp").count(), 1, "one header");
        agg.finish().unwrap();
        assert_eq!(out.text().matches("Timestamp").count(), 1);
    }

    #[test]
    fn a_packet_still_seen_is_not_finished_at_its_first_due_time() {
        let (out, mut agg) = live();
        agg.on_event(ev(1, 0, "first"));
        agg.on_event(ev(1, 600_000_000, "second"));
        agg.on_event(ev(1, 1_200_000_000, "third"));
        agg.on_tick(1_500_000_000).unwrap();
        assert!(!out.text().contains("first"), "seen 0.3 s ago");
        assert_eq!(agg.due.len(), 1, "rescheduled once, not once per event");
        agg.on_tick(2_200_000_001).unwrap();
        assert!(out.text().contains("third"), "printed once idle");
        assert!(agg.due.is_empty() && agg.packets.is_empty());
    }

    #[test]
    fn clones_name_their_parent_by_first_timestamp() {
        let (out, mut agg) = live();
        agg.on_event(ev(1, 100, "skb_clone"));
        let mut clone = ev(2, 150, "dev_queue_xmit_nit");
        clone.parent = 1;
        agg.on_event(clone.clone());
        let mut orphan = ev(3, 160, "packet_rcv");
        orphan.parent = 0x42;
        agg.on_event(orphan);
        agg.finish().unwrap();
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"=== clone of 100"), "{text}");
        assert!(lines.contains(&"=== clone of packet 0x42"), "{text}");
        assert_eq!(lines.iter().filter(|l| **l == "===").count(), 1, "{text}");

        // The parent printed earlier (live mode) is still named.
        let (out, mut agg) = live();
        let mut parent = ev(1, 100, "kfree_skbmem");
        parent.end = true;
        agg.on_event(parent);
        agg.on_tick(100 + END_GRACE_NS + 1).unwrap();
        agg.on_event(clone);
        agg.finish().unwrap();
        assert!(
            out.text().contains("\n=== clone of 100\n"),
            "{}",
            out.text()
        );
    }

    #[test]
    fn graph_view_nests_and_never_underflows() {
        let mut agg = Aggregate::new(
            Box::new(io::sink()),
            Tracer::FunctionGraph,
            false,
            None,
            Clock::monotonic(),
        );
        let mut exit_first = ev(1, 1, "x");
        exit_first.is_return = true;
        let mut inner_exit = ev(1, 4, "inner");
        inner_exit.is_return = true;
        for e in [exit_first, ev(1, 2, "outer"), ev(1, 3, "inner"), inner_exit] {
            agg.on_event(e);
        }
        let lines = agg.render();
        let texts: Vec<String> = lines[3..]
            .iter()
            .map(|l| l[50..].trim_end().to_string())
            .collect();
        assert_eq!(texts, ["}", "outer() {", "  inner() {", "  }"]);
    }
}
