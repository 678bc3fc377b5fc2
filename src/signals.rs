//! # Signals
//!
//! SIGINT and SIGTERM end tracing cleanly (the stream loop sees [`stopped`]
//! and drains what is left); a second one exits at once without printing.
//! The handler also writes to an eventfd ([`wake_fd`]) so that a run loop
//! sleeping without a timeout wakes whichever thread took the signal.

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static WAKE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
    let fd = WAKE.load(Ordering::SeqCst);
    if fd >= 0 {
        let one = 1u64;
        // SAFETY: write is async-signal-safe; 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(fd, &one as *const u64 as *const libc::c_void, 8) };
    }
}

pub fn install() {
    if WAKE.load(Ordering::SeqCst) < 0 {
        // SAFETY: eventfd takes no pointers; the fd lives until the process exits.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            log::debug!(
                "no eventfd ({}): the run loop polls instead of sleeping",
                std::io::Error::last_os_error()
            );
        }
        WAKE.store(fd, Ordering::SeqCst);
    }
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only touches atomics, writes to an eventfd and calls _exit.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

pub fn stopped() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Readable once a stopping signal came (after [`install`]; None if the
/// eventfd could not be made).
pub fn wake_fd() -> Option<BorrowedFd<'static>> {
    let fd = WAKE.load(Ordering::SeqCst);
    // SAFETY: the eventfd is never closed once made.
    (fd >= 0).then(|| unsafe { BorrowedFd::borrow_raw(fd) })
}
