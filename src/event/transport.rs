//! # Transport
//!
//! Moves events from the kernel to userspace: the BPF ring buffer (one
//! buffer shared by all CPUs, Linux 5.8+), or a perf event array (one buffer
//! per CPU) where the ring buffer is missing. Both fill a [`Sink`]: the
//! backlog of records taken out of the kernel's buffer that the run loop has
//! not streamed yet. Losses are counted, never dropped silently: perf reports
//! them as `PERF_RECORD_LOST`, the ring buffer's failed reservations are
//! counted in the `ipft_lost` map by the programs.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use libbpf_rs::{MapCore, RingBuffer, RingBufferBuilder};

use super::raw::{RawEvent, RawRecord};
use crate::cli::PerfOptions;

/// Events taken from the kernel's buffer, oldest first, until the stream
/// takes them.
#[derive(Default)]
pub struct Sink {
    pub events: VecDeque<RawRecord>,
    /// The memory `events` hold, snapshots included (see [`held_bytes`]).
    pub bytes: usize,
    /// Events taken from the kernel's buffer since the start.
    pub received: u64,
    /// Events the perf buffer reported lost.
    pub perf_lost: u64,
    /// Records too short to be events (never expected).
    pub malformed: u64,
}

impl Sink {
    /// Takes one record as the kernel's buffer holds it.
    pub fn push(&mut self, data: &[u8]) {
        match RawEvent::parse(data) {
            Some(ev) => {
                let record = RawRecord::Event(ev);
                self.bytes += held_bytes(&record);
                self.events.push_back(record);
                self.received += 1;
            }
            None => self.malformed += 1,
        }
    }
}

/// The memory one record holds while it waits: itself and its tail.
pub fn held_bytes(record: &RawRecord) -> usize {
    std::mem::size_of::<RawRecord>()
        + match record {
            RawRecord::Event(ev) => ev.tail.len(),
            _ => 0,
        }
}

pub enum Receiver<'a> {
    Ring(RingBuffer<'a>),
    Perf(PerfReceiver),
}

impl<'a> Receiver<'a> {
    pub fn ring(map: &'a dyn MapCore, sink: Rc<RefCell<Sink>>) -> Result<Receiver<'a>> {
        let mut builder = RingBufferBuilder::new();
        builder.add(map, move |data: &[u8]| {
            sink.borrow_mut().push(data);
            0
        })?;
        Ok(Receiver::Ring(
            builder
                .build()
                .context("failed to set up the ring buffer")?,
        ))
    }

    pub fn perf(
        map: &dyn MapCore,
        opts: &PerfOptions,
        sink: Rc<RefCell<Sink>>,
    ) -> Result<Receiver<'a>> {
        Ok(Receiver::Perf(PerfReceiver::new(map, opts, sink)?))
    }

    /// The epoll descriptor that is readable when events wait.
    fn epoll_fd(&self) -> RawFd {
        match self {
            Receiver::Ring(rb) => rb.epoll_fd(),
            // SAFETY: the perf buffer is valid while self lives.
            Receiver::Perf(p) => unsafe { libbpf_sys::perf_buffer__epoll_fd(p.pb) },
        }
    }

    /// Moves whatever waits in the kernel's buffer into the sink, without
    /// waiting (the [`Waiter`] waits). The programs wake us only once enough
    /// data waits (or, for perf, per --perf-wakeup-events), so this also
    /// takes what came without a wakeup.
    pub fn consume(&self) -> Result<()> {
        let rc = match self {
            Receiver::Ring(rb) => rb.consume_raw(),
            // SAFETY: the perf buffer is valid while self lives.
            Receiver::Perf(p) => unsafe { libbpf_sys::perf_buffer__consume(p.pb) },
        };
        if rc < 0 && rc != -libc::EINTR {
            bail!(
                "reading events failed: {}",
                std::io::Error::from_raw_os_error(-rc)
            );
        }
        Ok(())
    }
}

/// Sleeps until events wait, a stopping signal came ([`crate::signals::wake_fd`])
/// or a timeout passed: with no timeout, an idle trace costs no CPU at all.
pub struct Waiter {
    epoll: OwnedFd,
}

impl Waiter {
    pub fn new(receiver: &Receiver, wake: Option<BorrowedFd>) -> Result<Waiter> {
        // SAFETY: epoll_create1 takes no pointers; the fd is checked, then owned.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            bail!(
                "cannot wait for events: epoll_create1: {}",
                std::io::Error::last_os_error()
            );
        }
        // SAFETY: a new descriptor that nothing else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        let fds = std::iter::once(receiver.epoll_fd()).chain(wake.map(|w| w.as_raw_fd()));
        for watched in fds {
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: 0,
            };
            // SAFETY: both descriptors are open; ev outlives the call.
            if unsafe { libc::epoll_ctl(fd, libc::EPOLL_CTL_ADD, watched, &mut ev) } < 0 {
                bail!(
                    "cannot wait for events: epoll_ctl: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
        Ok(Waiter { epoll })
    }

    /// Returns once something is ready or `timeout` (None: no limit) passed;
    /// a signal interrupting the wait is not an error.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<()> {
        let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: one event slot, ours, for the duration of the call.
        let rc = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &mut ev, 1, ms) };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                bail!("waiting for events failed: {err}");
            }
        }
        Ok(())
    }
}

/// A libbpf raw perf buffer, built by hand so that sample_period and
/// wakeup_events can be set (libbpf-rs fixes both to 1).
pub struct PerfReceiver {
    pb: *mut libbpf_sys::perf_buffer,
    _sink: Rc<RefCell<Sink>>,
}

unsafe extern "C" fn perf_event_cb(
    ctx: *mut libc::c_void,
    _cpu: libc::c_int,
    header: *mut libbpf_sys::perf_event_header,
) -> libbpf_sys::bpf_perf_event_ret {
    // SAFETY: ctx is the RefCell<Sink> kept alive by PerfReceiver::_sink, and
    // only the polling thread (ours) runs this callback.
    let sink = unsafe { &*(ctx as *const RefCell<Sink>) };
    // SAFETY: libbpf hands us a complete record of header.size bytes.
    let (kind, size) = unsafe { ((*header).type_, (*header).size as usize) };
    // SAFETY: as above, the record is `size` bytes long.
    let record = unsafe { std::slice::from_raw_parts(header as *const u8, size) };
    match kind {
        libbpf_sys::PERF_RECORD_SAMPLE if size >= 12 => {
            let len = u32::from_ne_bytes(record[8..12].try_into().unwrap()) as usize;
            let data = &record[12..(12 + len).min(size)];
            sink.borrow_mut().push(data);
        }
        libbpf_sys::PERF_RECORD_LOST if size >= 24 => {
            let lost = u64::from_ne_bytes(record[16..24].try_into().unwrap());
            sink.borrow_mut().perf_lost += lost;
        }
        _ => sink.borrow_mut().malformed += 1,
    }
    libbpf_sys::LIBBPF_PERF_EVENT_CONT
}

impl PerfReceiver {
    fn new(map: &dyn MapCore, opts: &PerfOptions, sink: Rc<RefCell<Sink>>) -> Result<PerfReceiver> {
        let mut attr = libbpf_sys::perf_event_attr {
            type_: libbpf_sys::PERF_TYPE_SOFTWARE,
            size: std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32,
            config: libbpf_sys::PERF_COUNT_SW_BPF_OUTPUT as u64,
            sample_type: libbpf_sys::PERF_SAMPLE_RAW as u64,
            ..Default::default()
        };
        attr.__bindgen_anon_1.sample_period = opts.sample_period;
        attr.__bindgen_anon_2.wakeup_events = opts.wakeup_events;
        // SAFETY: attr and the sink outlive the call; the sink pointer stays
        // valid for the buffer's whole life because we keep the Rc.
        let pb = unsafe {
            libbpf_sys::perf_buffer__new_raw(
                map.as_fd().as_raw_fd(),
                opts.page_count as _,
                &mut attr,
                Some(perf_event_cb),
                Rc::as_ptr(&sink) as *mut libc::c_void,
                std::ptr::null(),
            )
        };
        if pb.is_null() {
            return Err(std::io::Error::last_os_error())
                .context("failed to set up the perf buffer");
        }
        Ok(PerfReceiver { pb, _sink: sink })
    }
}

impl Drop for PerfReceiver {
    fn drop(&mut self) {
        // SAFETY: pb came from perf_buffer__new_raw and is freed once.
        unsafe { libbpf_sys::perf_buffer__free(self.pb) }
    }
}
