//! # The output's writer
//!
//! What every output renders goes to stdout from a thread of its own, in
//! chunks, so that a slow disk or a pipe whose reader pauses never keeps ipft
//! from emptying the kernel's buffer: chunks not yet written wait in memory,
//! up to a bound, and only past it does rendering wait for the writes. A
//! write error ends the thread; the next write or flush, or
//! [`WriterThread::finish`], returns it (a reader gone away stays a broken
//! pipe, which ends ipft quietly).

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::Output;
use crate::event::model::Record;

/// An output whose bytes are written by a [`WriterThread`]: its finish
/// returns once every byte is written.
pub struct Threaded {
    output: Option<Box<dyn Output>>,
    writer: Option<WriterThread>,
}

impl Threaded {
    /// `output` writes to the [`Writer`] that `writer` came with.
    pub fn new(output: Box<dyn Output>, writer: WriterThread) -> Threaded {
        Threaded {
            output: Some(output),
            writer: Some(writer),
        }
    }
}

impl Output for Threaded {
    fn record(&mut self, record: Record) -> io::Result<()> {
        match &mut self.output {
            Some(output) => output.record(record),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.output {
            Some(output) => output.flush(),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        let finished = match self.output.take() {
            Some(mut output) => output.finish(),
            None => Ok(()),
        };
        // The output (and its Writer) is gone: the thread ends once it has written everything.
        let written = match self.writer.take() {
            Some(writer) => writer.finish(),
            None => Ok(()),
        };
        finished.and(written)
    }
}

/// Bytes handed to the thread at once.
const CHUNK: usize = 1 << 16;

/// Written chunks the thread hands back for reuse (more are freed): a new
/// buffer per chunk would cost page faults on every one.
const SPARES: usize = 4;

/// The first write error, kept for the rendering side.
type Failure = Arc<Mutex<Option<(io::ErrorKind, String)>>>;

fn failure_error(failed: &Failure) -> Option<io::Error> {
    let failed = failed.lock().unwrap_or_else(|p| p.into_inner());
    failed
        .as_ref()
        .map(|(kind, text)| io::Error::new(*kind, text.clone()))
}

/// The rendering side: a [`Write`] that hands full chunks (and, at each
/// flush, what it holds) to the writing thread.
pub struct Writer {
    buf: Vec<u8>,
    chunks: Option<SyncSender<Vec<u8>>>,
    spares: Receiver<Vec<u8>>,
    failed: Failure,
}

/// The writing side; [`WriterThread::finish`] waits for every byte to be
/// written once the [`Writer`] is dropped.
pub struct WriterThread {
    thread: Option<JoinHandle<()>>,
    failed: Failure,
}

/// Starts a thread writing to `out`; at most `queued` bytes wait for it
/// (0: every chunk waits until the thread takes it).
pub fn spawn(mut out: Box<dyn Write + Send>, queued: usize) -> io::Result<(Writer, WriterThread)> {
    let (tx, rx) = sync_channel::<Vec<u8>>(queued / CHUNK);
    let (spare_tx, spares) = sync_channel::<Vec<u8>>(SPARES);
    let failed = Failure::default();
    let thread_failed = failed.clone();
    let thread = std::thread::Builder::new()
        .name("ipft-writer".into())
        .spawn(move || {
            let written = rx
                .iter()
                .try_for_each(|mut chunk| {
                    out.write_all(&chunk)?;
                    chunk.clear();
                    let _ = spare_tx.try_send(chunk);
                    Ok(())
                })
                .and_then(|()| out.flush());
            if let Err(e) = written {
                let mut failed = thread_failed.lock().unwrap_or_else(|p| p.into_inner());
                *failed = Some((e.kind(), e.to_string()));
            }
        })?;
    Ok((
        Writer {
            buf: Vec::with_capacity(CHUNK),
            chunks: Some(tx),
            spares,
            failed: failed.clone(),
        },
        WriterThread {
            thread: Some(thread),
            failed,
        },
    ))
}

/// Standard output, as the writing thread's file: written to directly,
/// not line by line through Rust's `Stdout`.
pub fn stdout_file() -> Box<dyn Write + Send> {
    match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(io::stdout()),
    }
}

impl Writer {
    fn hand_over(&mut self) -> io::Result<()> {
        if let Some(e) = failure_error(&self.failed) {
            return Err(e);
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self
            .spares
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.buf, next);
        let sent = self.chunks.as_ref().map(|tx| tx.send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            // The thread ended: it failed (its error says why) or never ran.
            _ => Err(failure_error(&self.failed).unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::BrokenPipe, "the output's writer stopped")
            })),
        }
    }
}

impl Write for Writer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.hand_over()?;
        }
        Ok(data.len())
    }

    /// Hands over what is held, without waiting for it to be written.
    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.hand_over();
        self.chunks = None;
    }
}

impl WriterThread {
    /// Waits until everything handed over is written; the first write error.
    /// The [`Writer`] must be gone (the thread ends when it is dropped).
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                return Err(io::Error::other("the output's writer failed"));
            }
        }
        failure_error(&self.failed).map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::Shared;

    #[test]
    fn everything_is_written_in_order_by_the_end() {
        let out = Shared::default();
        let (mut w, thread) = spawn(Box::new(out.clone()), 4 * CHUNK).unwrap();
        let mut expected = Vec::new();
        for i in 0..50_000u32 {
            let line = format!("{i}\n");
            w.write_all(line.as_bytes()).unwrap();
            expected.extend_from_slice(line.as_bytes());
        }
        w.flush().unwrap();
        drop(w);
        thread.finish().unwrap();
        assert_eq!(out.bytes(), expected);
    }

    struct Failing(io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(self.0, "no"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_comes_back_with_its_kind() {
        let (mut w, thread) = spawn(Box::new(Failing(io::ErrorKind::BrokenPipe)), 0).unwrap();
        let mut err = None;
        for _ in 0..1000 {
            if let Err(e) = w.write_all(&[b'x'; 4096]).and_then(|()| w.flush()) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::BrokenPipe));
        drop(w);
        let end = thread.finish().unwrap_err();
        assert_eq!(end.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn an_error_on_the_last_chunk_is_reported_at_the_end() {
        let (mut w, thread) = spawn(Box::new(Failing(io::ErrorKind::StorageFull)), CHUNK).unwrap();
        w.write_all(b"last words").unwrap();
        drop(w);
        assert_eq!(
            thread.finish().unwrap_err().kind(),
            io::ErrorKind::StorageFull
        );
    }
}
